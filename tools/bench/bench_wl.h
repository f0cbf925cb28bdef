/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Helpers shared by the benchmark workloads (tools/workloads/bench_*.c):
 * a start/stop handshake with the harness and allocation-free output.
 *
 * With --wait a workload prints "ready", blocks until SIGUSR1, runs, prints
 * its result line and blocks until SIGTERM or SIGINT, so a tracer attached
 * by PID sees exactly the measured phase. The signals are blocked in every
 * thread and taken with sigwait(): no handler races, and threads created
 * later inherit the mask. Output uses write(2): stdio would allocate a
 * buffer inside the traced window.
 */
#ifndef BENCH_WL_H
#define BENCH_WL_H

#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static inline void bench_say(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0 && write(STDOUT_FILENO, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1) < 0)
		_exit(3);
}

static inline void bench_block_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/* Blocks until one of the signals in the list (0-terminated) arrives. */
static inline int bench_wait_signal(int first, ...)
{
	sigset_t set;
	va_list ap;
	int sig = first, got = 0;

	sigemptyset(&set);
	va_start(ap, first);
	for (; sig; sig = va_arg(ap, int))
		sigaddset(&set, sig);
	va_end(ap);
	if (sigwait(&set, &got))
		_exit(3);
	return got;
}

static inline double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A non-negative integer argument, or exit 2 with one line. */
static inline long bench_arg(const char *prog, const char *what, const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (end == s || *end || v < 0) {
		fprintf(stderr, "%s: invalid %s '%s'\n", prog, what, s);
		exit(2);
	}
	return v;
}

#endif /* BENCH_WL_H */
