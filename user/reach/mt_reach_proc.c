// SPDX-License-Identifier: BSD-2-Clause
/*
 * Reachability front end: stops the target (attach mode), reads registers
 * with ptrace, classifies /proc/PID/maps into roots and heap, reads memory
 * with process_vm_readv in 1 MiB chunks, and lets every thread go. See
 * mt_reach.h and docs/reachability.md.
 *
 * Roots:
 *   - each stopped thread's registers, and its stack from SP - 128 (the
 *     x86-64 red zone) to the end of the mapping holding SP;
 *   - every other readable, writable mapping (module data and bss, the
 *     main thread's TLS, stacks of threads not stopped, the program's own
 *     mmaps), unless it holds a live block or is [heap]: those are heap,
 *     scanned only block by block through reachable pointers.
 * Kernel-provided mappings ([vvar], [vdso], [vsyscall]) are skipped.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include "util/mt_grow.h"
#include "util/mt_log.h"
#include "util/mt_time.h"
#include "reach/mt_reach.h"
#include "target/mt_proc.h"

#define CHUNK (1u << 20)
#define PAGE 4096u
#define RED_ZONE 128u

struct thr {
	pid_t tid;
	int sig;                 /* signal a stop swallowed, re-injected */
	bool stopped, seized, have_regs;
	struct user_regs_struct regs;
};

struct scan {
	pid_t pid;
	struct mt_reach *r;
	struct thr *t;
	size_t nt;
	unsigned char *buf;
	int err;
};

static double ms_since(uint64_t t0_ns)
{
	return (double)(mt_now_ns() - t0_ns) / 1e6;
}

static ssize_t read_mem(void *arg, uint64_t addr, void *buf, size_t len)
{
	pid_t pid = *(pid_t *)arg;
	struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)addr, len };
	ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);

	return n < 0 ? -errno : n;
}

static ssize_t read_mem_batch(void *arg, const uint64_t *addr, const size_t *len, unsigned n,
			      void *buf)
{
	pid_t pid = *(pid_t *)arg;
	struct iovec remote[MT_REACH_BATCH], local;
	size_t total = 0;
	ssize_t got;
	unsigned i;

	for (i = 0; i < n; i++) {
		remote[i] = (struct iovec){ (void *)(uintptr_t)addr[i], len[i] };
		total += len[i];
	}
	local = (struct iovec){ buf, total };
	got = process_vm_readv(pid, &local, 1, remote, n, 0);
	return got < 0 ? -errno : got;
}

/* Scan [start, end) as a root; unreadable pages are skipped and counted. */
static void scan_range(struct scan *s, uint64_t start, uint64_t end)
{
	struct mt_reach_stats *st = mt_reach_stats(s->r);

	st->root_regions++;
	while (start < end) {
		size_t len = end - start > CHUNK ? CHUNK : (size_t)(end - start);
		ssize_t got = read_mem(&s->pid, start, s->buf, len);

		if (got > 0) {
			mt_reach_root(s->r, start, s->buf, (size_t)got);
			st->roots_bytes += (uint64_t)got;
			start += (uint64_t)got;
			continue;
		}
		/* Skip to the next page (VM_IO mappings, a hole). */
		len = PAGE - (size_t)(start & (PAGE - 1));
		if (len > end - start)
			len = (size_t)(end - start);
		st->unreadable_bytes += len;
		start += len;
	}
}

static int on_mapping(void *arg, const struct mt_maps_ent *e)
{
	struct scan *s = arg;
	uint64_t start = e->start, end = e->end, from = start;
	uint32_t prot = e->prot;
	const char *name = e->name;
	size_t i;

	if ((prot & (PROT_READ | PROT_WRITE)) != (PROT_READ | PROT_WRITE))
		return 0;
	if (name[0] == '[' && strcmp(name, "[stack]") && strncmp(name, "[anon:", 6)) {
		if (strcmp(name, "[heap]") == 0)
			mt_reach_stats(s->r)->heap_regions++;
		return 0;  /* [heap], [vvar], [vdso], [vsyscall], [uprobes] */
	}
	if (mt_reach_holds_block(s->r, start, end)) {
		mt_reach_stats(s->r)->heap_regions++;
		return 0;
	}
	/* A stopped thread's stack: only the part in use. */
	for (i = 0; i < s->nt; i++) {
		uint64_t sp = s->t[i].regs.rsp;

		if (s->t[i].have_regs && sp >= start && sp < end) {
			sp = (sp - RED_ZONE) & ~7ull;
			if (sp > from)
				from = sp < start ? start : sp;
		}
	}
	scan_range(s, from, end);
	return 0;
}

static int find_thr(const struct thr *t, size_t n, pid_t tid)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (t[i].tid == tid)
			return 1;
	return 0;
}

/* Seize every thread, repeating until a pass finds none new (threads
 * created meanwhile), and interrupt each. */
static int seize_all(struct scan *s)
{
	char path[64];
	size_t cap = 0;
	bool added = true;
	int err = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)s->pid);
	while (added && !err) {
		DIR *d = opendir(path);
		struct dirent *de;

		if (!d) {
			err = -errno;
			mt_err("cannot list the threads of PID %d: %s", (int)s->pid, strerror(errno));
			break;
		}
		added = false;
		while ((de = readdir(d))) {
			pid_t tid = (pid_t)atoi(de->d_name);

			if (tid <= 0 || find_thr(s->t, s->nt, tid))
				continue;
			if ((err = MT_GROW(s->t, s->nt + 1, cap)))
				break;
			s->t[s->nt] = (struct thr){ .tid = tid };
			if (ptrace(PTRACE_SEIZE, tid, NULL, NULL)) {
				if (errno == ESRCH)
					continue;  /* exited: nothing to stop */
				err = -errno;
				mt_err("cannot stop thread %d of PID %d: %s", (int)tid, (int)s->pid,
				       strerror(errno));
				break;
			}
			s->t[s->nt].seized = true;
			s->nt++;
			added = true;
			ptrace(PTRACE_INTERRUPT, tid, NULL, NULL);
		}
		closedir(d);
	}
	return err;
}

/* Wait for each seized thread's first stop; one that exits is dropped. */
static void wait_stops(struct scan *s)
{
	size_t i;

	for (i = 0; i < s->nt; i++) {
		struct thr *t = &s->t[i];
		int status;

		if (!t->seized)
			continue;
		if (waitpid(t->tid, &status, __WALL) != t->tid || !WIFSTOPPED(status)) {
			t->seized = false;   /* gone: no detach needed */
			continue;
		}
		t->stopped = true;
		/* A signal-delivery stop (no event bits) swallowed a signal. */
		if ((status >> 16) == 0)
			t->sig = WSTOPSIG(status);
	}
}

static void read_regs(struct scan *s)
{
	struct mt_reach_stats *st = mt_reach_stats(s->r);
	size_t i;

	for (i = 0; i < s->nt; i++) {
		struct thr *t = &s->t[i];

		if (!t->stopped || ptrace(PTRACE_GETREGS, t->tid, NULL, &t->regs))
			continue;
		t->have_regs = true;
		st->threads++;
		mt_reach_root(s->r, 0, &t->regs, sizeof(t->regs));
	}
}

static void release_all(struct scan *s)
{
	size_t i;

	for (i = 0; i < s->nt; i++)
		if (s->t[i].seized)
			ptrace(PTRACE_DETACH, s->t[i].tid, NULL, (void *)(long)s->t[i].sig);
}

int mt_reach_pid(pid_t pid, pid_t tid, const struct mt_agg *a, uint64_t cut_ns,
		 int (*drain)(void *), void *drain_arg, struct mt_reach **out)
{
	struct scan s = { .pid = pid };
	uint64_t t0, t1;
	double pause_ms;
	int err = 0;

	*out = NULL;
	t0 = mt_now_ns();
	s.buf = malloc(CHUNK);
	if (!s.buf) {
		err = -ENOMEM;
		goto out;
	}
	if (tid > 0) {
		s.t = calloc(1, sizeof(*s.t));
		if (!s.t) {
			err = -ENOMEM;
			goto out;
		}
		s.t[0] = (struct thr){ .tid = tid, .stopped = true };
		s.nt = 1;
	} else {
		err = seize_all(&s);
		/* Even when a later seize failed, each thread seized so far must
		 * reach its stop: only a stopped thread can be detached. */
		wait_stops(&s);
		if (err)
			goto out;
	}
	/* Every allocator event before the stop is in the ring buffer now. */
	if (drain && (err = drain(drain_arg)))
		goto out;
	s.r = mt_reach_new(a);
	if (!s.r) {
		err = -ENOMEM;
		goto out;
	}
	t1 = mt_now_ns();
	read_regs(&s);
	err = mt_proc_maps(pid, on_mapping, &s);
	if (err) {
		mt_err("cannot read the mappings of PID %d: %s", (int)pid, strerror(-err));
		goto out;
	}
	err = mt_reach_flood(s.r, read_mem, read_mem_batch, &s.pid);
	if (!err)
		mt_reach_stats(s.r)->scan_ms = ms_since(t1);
out:
	release_all(&s);
	pause_ms = ms_since(t0);
	if (!err) {
		mt_reach_tally(s.r, cut_ns);
		mt_reach_stats(s.r)->pause_ms = pause_ms;
		*out = s.r;
		s.r = NULL;
	} else if (err == -ENOMEM) {
		mt_err("cannot scan PID %d for reachability: %s", (int)pid, strerror(ENOMEM));
	}
	mt_reach_free(s.r);
	free(s.t);
	free(s.buf);
	return err;
}
