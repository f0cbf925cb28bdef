// SPDX-License-Identifier: BSD-2-Clause
/*
 * Stacks to unwind, built -O2 -fomit-frame-pointer (and once with frame
 * pointers, wl_unwind_fp, against the same frame-pointer-less library):
 * each path ends in one malloc of its own size, kept live, so a test can
 * break on that size in gdb and find the same site in memtrace's report.
 *   12345  main -> c1 .. c5 -> malloc                 (rsp-based CFA)
 *   12346  main -> v1 -> v2 (variable-length array) -> v3 -> v4 -> malloc
 *   12347  main -> x1 -> wl_lib_walk (library) -> .. -> cb1 -> cb2 -> malloc
 *   12348  thread: start_thread -> t_main -> t1 -> t2 -> malloc
 *   12349  main -> rec x 40 -> malloc                  (depth limits)
 *   12354  main -> s1 -> raise -> (signal) -> on_signal -> malloc: through
 *          the kernel's signal frame (__restore_rt)
 *   12355  main -> d1 (realigns its stack: CFA = *(rbp - 16), rbp saved
 *          at [rbp]: gcc's DRAP)
 *          -> d2 -> malloc
 *   mmap of WL_MMAP_LEN bytes: main -> m1 .. m5 -> mmap, for the memory
 *          view's stacks (walked from the syscall's saved registers)
 *   12350  main -> g1 (rbp -> a fake frame) -> g2 -> malloc: rbp holds
 *          data, as in code without frame pointers; a frame-pointer walk
 *          would read 0x44b585683044b58 as the next return address
 * Usage: wl_unwind [loops]   (loops: repeat the paths)
 *        wl_unwind --bench [--wait] N   (N malloc+free pairs through the
 *        c1..c5 chain, for make bench; --wait: tools/bench/bench_wl.h)
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../../bench/bench_wl.h"
#include "wl_unwind_lib.h"

#define NI __attribute__((noinline))
#define KEEP() __asm__ volatile("" ::: "memory")

static void *keep[64];
static unsigned nkeep;
static int do_free;

NI static void hold(void *p)
{
	if (do_free) {
		free(p);
		return;
	}
	if (nkeep < 64)
		keep[nkeep++] = p;
	KEEP();
}

NI void c5(size_t n) { hold(malloc(n)); KEEP(); }
NI void c4(size_t n) { c5(n); KEEP(); }
NI void c3(size_t n) { c4(n); KEEP(); }
NI void c2(size_t n) { c3(n); KEEP(); }
NI void c1(size_t n) { c2(n); KEEP(); }

/* 12356 pages: a length no other mapping of the program has */
#define WL_MMAP_LEN (12356ul * 4096)
NI void m5(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p != MAP_FAILED)
		*(volatile char *)p = 1;   /* one page faulted in */
	KEEP();
}
NI void m4(size_t n) { m5(n); KEEP(); }
NI void m3(size_t n) { m4(n); KEEP(); }
NI void m2(size_t n) { m3(n); KEEP(); }
NI void m1(size_t n) { m2(n); KEEP(); }

NI void v4(size_t n) { hold(malloc(n)); KEEP(); }
NI void v3(size_t n) { v4(n); KEEP(); }
/* A variable-length array makes gcc address the frame from rbp: the
 * CFA is rbp-based here even without frame pointers. */
NI void v2(size_t n, int k)
{
	char buf[k];

	memset(buf, (int)n, (size_t)k);
	v3(n);
	__asm__ volatile("" : : "r"(buf) : "memory");
}
NI void v1(size_t n) { v2(n, (int)(n & 63) + 8); KEEP(); }

NI void cb2(size_t n) { hold(malloc(n)); KEEP(); }
NI void cb1(size_t n) { cb2(n); KEEP(); }
NI void x1(size_t n) { wl_lib_walk(cb1, n); KEEP(); }

NI void t2(size_t n) { hold(malloc(n)); KEEP(); }
NI void t1(size_t n) { t2(n); KEEP(); }
NI static void *t_main(void *arg) { t1((size_t)arg); KEEP(); return NULL; }

NI void g2(size_t n) { hold(malloc(n)); KEEP(); }
#ifdef WL_NO_FP   /* gcc keeps rbp to itself in a frame-pointer build */
NI void g1(size_t n)
{
	unsigned long long fake[2] = { 0, 0x44b585683044b58ull };
	register unsigned long long *bp __asm__("rbp") = fake;

	__asm__ volatile("" : "+r"(bp) : : "memory");
	g2(n);
	__asm__ volatile("" : : "r"(bp) : "memory");
}
#else
NI void g1(size_t n) { g2(n); KEEP(); }
#endif

NI void d2(size_t n) { hold(malloc(n)); KEEP(); }
__attribute__((force_align_arg_pointer)) NI void d1(size_t n, int k)
{
	char big[64] __attribute__((aligned(64)));
	char vla[k];

	memset(big, (int)n, sizeof(big));
	memset(vla, (int)n, (size_t)k);
	d2(n);
	__asm__ volatile("" : : "r"(big), "r"(vla) : "memory");
}

NI static void on_signal(int sig)
{
	hold(malloc(12354));
	KEEP();
	(void)sig;
}
NI void s1(void) { raise(SIGUSR2); KEEP(); }

NI void rec(size_t n, int d)
{
	if (d > 0)
		rec(n, d - 1);
	else
		hold(malloc(n));
	KEEP();
}

int main(int argc, char **argv)
{
	long loops = 1, i;
	pthread_t th;

	if (argc > 2 && !strcmp(argv[1], "--bench")) {
		int wait = argc > 3 && !strcmp(argv[2], "--wait");
		long n = atol(argv[argc - 1]);
		double t0, t1;

		do_free = 1;
		bench_block_signals();
		if (wait) {
			bench_say("ready pid=%d\n", (int)getpid());
			bench_wait_signal(SIGUSR1, 0);
		}
		t0 = bench_now();
		for (i = n; i > 0; i--)
			c1(64);
		t1 = bench_now();
		bench_say("pairs=%ld ns_per_pair=%.2f\n", n, (t1 - t0) * 1e9 / (double)(n ? n : 1));
		if (wait)
			bench_wait_signal(SIGTERM, SIGINT, 0);
		return 0;
	}
	if (argc > 1)
		loops = atol(argv[1]);
	for (i = 0; i < loops; i++) {
		c1(12345);
		m1(WL_MMAP_LEN);
		v1(12346);
		x1(12347);
		if (pthread_create(&th, NULL, t_main, (void *)12348ul) || pthread_join(th, NULL))
			return 1;
		rec(12349, 40);
		g1(12350);
		d1(12355, 24);
		signal(SIGUSR2, on_signal);
		s1();
	}
	printf("done %u\n", nkeep);
	return 0;
}
