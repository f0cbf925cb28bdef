// SPDX-License-Identifier: BSD-2-Clause
/*
 * A workload whose allocator calls are known exactly, for memtrace's
 * end-to-end tests. Every number derives from the arguments, so the tests
 * compute expectations from the same arguments instead of copying output.
 *
 *   wl_exact [--attach] [--threads T [--main-exits]] [--reallocarray N]
 *            CHURN WINDOW LEAK_A LEAK_B REPEAT PRE
 *
 * Phases (each in its own function, so stacks tell them apart):
 *   pre:        PRE blocks of 32 B allocated before tracing, freed during it
 *   churn:      CHURN x (malloc(48); free)
 *   window:     WINDOW blocks of 64 B live at once, then all freed
 *   leak_a:     LEAK_A x malloc(100), never freed          (wl_leak_small)
 *   leak_b:     LEAK_B x calloc(4, 1024), never freed      (wl_leak_calloc)
 *   entry:      REPEAT x a round through every entry point (wl_entry_points)
 *   reallocarray: N x (reallocarray(NULL, 10, 30); reallocarray to 20 x 30;
 *               free): 2N reallocarray calls, nothing else  (wl_reallocarray)
 *               -- safe under every replacement allocator, unlike the
 *               entry round (jemalloc has no pvalloc: libc's would serve it)
 *   threads:    T threads, each CHURN x (malloc(24); free) and one leaked
 *               malloc(72)                                  (wl_thread_leak);
 *               with --main-exits the main thread then calls pthread_exit
 * With --attach it prints "ready" after the pre phase, waits for SIGUSR1,
 * runs the phases, prints "done" and waits for SIGTERM, so a tracer
 * attached in between sees exactly the phases. Output uses write(2): stdio
 * would allocate a buffer inside the traced window.
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

/* Keep the compiler from proving a block unused and dropping the call. */
static void *volatile sink;
/* Sizes no allocator can satisfy; volatile so the compiler doesn't warn. */
static volatile size_t huge = SIZE_MAX / 2;
/* NULL the compiler cannot see: it folds realloc(NULL, n) into malloc(n)
 * and drops free(NULL), and those calls must reach the allocator. */
static void *volatile null_ptr;

static void say(const char *s)
{
	if (write(STDOUT_FILENO, s, strlen(s)) < 0)
		_exit(3);
}

/* Pointer arrays come from mmap: the heap probes must not see them. */
static void **ptr_array(long n)
{
	void *p = mmap(NULL, (size_t)(n > 0 ? n : 1) * sizeof(void *), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		_exit(4);
	return p;
}

NOINLINE static void wl_pre_alloc(void **v, long n)
{
	for (long i = 0; i < n; i++)
		v[i] = malloc(32);
}

NOINLINE static void wl_pre_free(void **v, long n)
{
	for (long i = 0; i < n; i++)
		free(v[i]);
}

NOINLINE static void wl_churn(long n)
{
	for (long i = 0; i < n; i++) {
		void *p = malloc(48);

		sink = p;
		free(p);
	}
}

NOINLINE static void wl_window(long n)
{
	void **v = ptr_array(n);

	for (long i = 0; i < n; i++)
		v[i] = malloc(64);
	for (long i = 0; i < n; i++)
		free(v[i]);
	munmap(v, (size_t)(n > 0 ? n : 1) * sizeof(void *));
}

NOINLINE static void wl_leak_small(long n)
{
	for (long i = 0; i < n; i++)
		sink = malloc(100);
}

NOINLINE static void wl_leak_calloc(long n)
{
	for (long i = 0; i < n; i++)
		sink = calloc(4, 1024);
}

/* One round through every entry point, including the nesting cases glibc
 * resolves internally: realloc(NULL, n) jumps into malloc, realloc(p, 0)
 * calls free, reallocarray calls realloc, memalign == aligned_alloc.
 * Per round: calls malloc 1, calloc 1, realloc 4, reallocarray 2, free 7,
 * posix_memalign 2, memalign|aligned_alloc 2, valloc 1, pvalloc 1;
 * 11 successful allocations, 11 frees (tests/e2e/exact.py has the
 * sums); 4 failed calls (realloc, posix_memalign, malloc, calloc); no leak. */
NOINLINE static void wl_entry_points(void)
{
	void *p, *q, *r = NULL, *big;

	p = realloc(null_ptr, 200);            /* alloc 200 */
	p = realloc(p, 400);               /* free 200, alloc 400 */
	big = realloc(p, huge);            /* fails: p stays live */
	if (big)
		p = big;
	sink = realloc(p, 0);              /* frees p (glibc returns NULL) */

	q = reallocarray(null_ptr, 10, 30);    /* alloc 300 */
	q = reallocarray(q, 20, 30);       /* free 300, alloc 600 */
	free(q);

	if (posix_memalign(&r, 64, 512) == 0)  /* alloc 512 */
		free(r);
	r = NULL;
	if (posix_memalign(&r, 3, 512) == 0)   /* EINVAL: a failed call, not an allocation */
		free(r);

	p = memalign(64, 256);             /* alloc 256 */
	free(p);
	p = aligned_alloc(128, 384);       /* alloc 384 */
	free(p);
	p = valloc(1000);                  /* alloc 1000 */
	free(p);
	p = pvalloc(1000);                 /* alloc 1000 (requested bytes) */
	free(p);

	p = calloc(3, 50);                 /* alloc 150 */
	free(p);
	free(null_ptr);                    /* a call, nothing else */

	sink = malloc(huge);       /* fails */
	sink = calloc(huge, 4);    /* overflows: fails */
}

NOINLINE static void wl_reallocarray(long n)
{
	for (long i = 0; i < n; i++) {
		void *q = reallocarray(null_ptr, 10, 30);

		q = reallocarray(q, 20, 30);
		free(q);
	}
}

static long thread_churn;

NOINLINE static void wl_thread_leak(void)
{
	sink = malloc(72);
}

NOINLINE static void *wl_thread_body(void *arg)
{
	for (long i = 0; i < thread_churn; i++) {
		void *p = malloc(24);

		sink = p;
		free(p);
	}
	wl_thread_leak();
	return arg;
}

/* With main_exits the main thread leaves by pthread_exit while the others
 * still run: the process ends with the last of them. */
NOINLINE static void wl_threads(int n, int main_exits)
{
	pthread_t t[64];
	int i;

	for (i = 0; i < n && i < 64; i++)
		if (pthread_create(&t[i], NULL, wl_thread_body, NULL))
			_exit(5);
	if (main_exits)
		pthread_exit(NULL);
	for (i = 0; i < n && i < 64; i++)
		pthread_join(t[i], NULL);
}

static volatile sig_atomic_t go, stop;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		go = 1;
	else
		stop = 1;
}

static long arg(char **argv, int i)
{
	char *end;
	long v = strtol(argv[i], &end, 10);

	if (*end || v < 0)
		_exit(2);
	return v;
}

int main(int argc, char **argv)
{
	long churn, window, leak_a, leak_b, repeat, pre, nreallocarray = 0;
	int attach = 0, threads = 0, main_exits = 0, a = 1;
	void **pre_v;
	sigset_t none;

	for (; a < argc && argv[a][0] == '-'; a++) {
		if (strcmp(argv[a], "--attach") == 0)
			attach = 1;
		else if (strcmp(argv[a], "--threads") == 0 && a + 1 < argc)
			threads = (int)strtol(argv[++a], NULL, 10);
		else if (strcmp(argv[a], "--main-exits") == 0)
			main_exits = 1;
		else if (strcmp(argv[a], "--reallocarray") == 0 && a + 1 < argc)
			nreallocarray = arg(argv, ++a);
		else
			_exit(2);
	}
	if (argc - a != 6) {
		say("usage: wl_exact [--attach] [--threads T [--main-exits]] [--reallocarray N] "
		    "CHURN WINDOW LEAK_A LEAK_B REPEAT PRE\n");
		return 2;
	}
	churn = arg(argv, a);
	window = arg(argv, a + 1);
	leak_a = arg(argv, a + 2);
	leak_b = arg(argv, a + 3);
	repeat = arg(argv, a + 4);
	pre = arg(argv, a + 5);
	thread_churn = churn;

	pre_v = ptr_array(pre);
	wl_pre_alloc(pre_v, pre);
	if (attach) {
		signal(SIGUSR1, on_signal);
		signal(SIGTERM, on_signal);
		sigemptyset(&none);
		say("ready\n");
		while (!go)
			sigsuspend(&none);
	}
	wl_pre_free(pre_v, pre);
	wl_churn(churn);
	wl_window(window);
	wl_leak_small(leak_a);
	wl_leak_calloc(leak_b);
	for (long i = 0; i < repeat; i++)
		wl_entry_points();
	wl_reallocarray(nreallocarray);
	if (threads)
		wl_threads(threads, main_exits && !attach);
	if (attach) {
		say("done\n");
		while (!stop)
			sigsuspend(&none);
	}
	return 0;
}
