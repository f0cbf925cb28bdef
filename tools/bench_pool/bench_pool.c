// SPDX-License-Identifier: BSD-2-Clause
/*
 * libmtpool benchmark: one scenario per process, so peak RSS is per
 * scenario. Built once per allocator (bench_pool_glibc, _jemalloc, ...):
 * the allocator library is linked first and interposes malloc.
 *
 *   bench_pool SCENARIO IMPL
 *     SCENARIO: a1 a2 b c d e   (see docs/BENCHMARKS.md)
 *     IMPL:     malloc | mtpool | mtpool_ool | mtsc | bufpool | floor | memcpy
 *               (mtpool: the header's inline fast path; mtpool_ool: the
 *               out-of-line library calls, as an MTPOOL_NO_INLINE caller;
 *               naive: a thread-local free list, the reference)
 * Prints: "ns=<ns per op> rss_kb=<peak RSS> malloc=<library of malloc>".
 * tools/bench_pool/bench_pool.sh runs the rounds and computes medians.
 */
#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "mtpool.h"

#define barrier(p) __asm__ volatile("" : : "r"(p) : "memory")

enum impl { I_MALLOC, I_MTPOOL, I_MTPOOL_OOL, I_MTSC, I_BUFPOOL, I_FLOOR, I_MEMCPY, I_NAIVE };

/* The reference: a naive thread-local intrusive free list over
 * malloc, no stats, no probes, no bound (not in make bench-pool's table;
 * run by hand: bench_pool_glibc a1|b naive). */
static __thread void *naive_head;
static enum impl impl;
static mtpool *pool;
static mtpool_sc *sc;
static mtpool_bufpool *bufpool;

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static inline uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* Fixed-size get/put for a, b, d. */
static inline void *get64(size_t size)
{
	switch (impl) {
	case I_MTPOOL: return mtpool_get(pool);
	case I_MTPOOL_OOL: return (mtpool_get)(pool);
	case I_NAIVE: {
		void *p = naive_head;

		if (p) {
			naive_head = *(void **)p;
			return p;
		}
		return malloc(size);
	}
	case I_MTSC:   return mtpool_sc_malloc(sc, size);
	default:       return malloc(size);
	}
}

static inline void put64(void *p)
{
	switch (impl) {
	case I_MTPOOL: mtpool_put(pool, p); break;
	case I_MTPOOL_OOL: (mtpool_put)(pool, p); break;
	case I_NAIVE: *(void **)p = naive_head; naive_head = p; break;
	case I_MTSC:   mtpool_sc_free(sc, p); break;
	default:       free(p); break;
	}
}

/* (a) churn: get, touch, put. */
#define A_OPS 20000000L
static void *churn(void *arg)
{
	long i;

	(void)arg;
	for (i = 0; i < A_OPS; i++) {
		char *p = get64(64);

		p[0] = (char)i;
		barrier(p);
		put64(p);
	}
	return NULL;
}

static double run_a(int threads)
{
	pthread_t t[2];
	double t0 = now_ns();
	int i;

	for (i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, churn, NULL);
	for (i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	return (now_ns() - t0) / A_OPS;   /* per op, per thread */
}

/* (b) 100,000 live 64 B objects, random replacement. */
#define B_LIVE 100000
#define B_OPS 10000000L
static double run_b(void)
{
	static void *win[B_LIVE];
	uint64_t rs = 88172645463325252ull;
	double t0;
	long i;

	for (i = 0; i < B_LIVE; i++) {
		win[i] = get64(64);
		memset(win[i], 1, 64);
	}
	t0 = now_ns();
	for (i = 0; i < B_OPS; i++) {
		uint32_t k = (uint32_t)(xorshift(&rs) % B_LIVE);
		char *p;

		put64(win[k]);
		p = get64(64);
		p[0] = (char)i;
		win[k] = p;
	}
	t0 = now_ns() - t0;
	for (i = 0; i < B_LIVE; i++)
		put64(win[i]);
	return t0 / B_OPS;
}

/* (c) log-uniform sizes 8..4096 (half the requests under 181 B), 50,000 live. */
#define C_LIVE 50000
#define C_OPS 10000000L
#define C_NSIZES (1 << 20)
static double run_c(void)
{
	static void *win[C_LIVE];
	static uint32_t sizes[C_NSIZES];
	uint64_t rs = 0x9e3779b97f4a7c15ull;
	double t0;
	long i;

	for (i = 0; i < C_NSIZES; i++) {
		double u = (double)(xorshift(&rs) >> 11) / (double)(1ull << 53);

		sizes[i] = (uint32_t)(8.0 * pow(512.0, u));
	}
	for (i = 0; i < C_LIVE; i++) {
		uint32_t s = sizes[i];
		char *p = get64(s);

		p[0] = 1;
		p[s - 1] = 1;
		win[i] = p;
	}
	t0 = now_ns();
	for (i = 0; i < C_OPS; i++) {
		uint32_t k = (uint32_t)(xorshift(&rs) % C_LIVE);
		uint32_t s = sizes[i & (C_NSIZES - 1)];
		char *p;

		put64(win[k]);
		p = get64(s);
		p[0] = 1;
		p[s - 1] = 1;
		win[k] = p;
	}
	t0 = now_ns() - t0;
	for (i = 0; i < C_LIVE; i++)
		put64(win[i]);
	return t0 / C_OPS;
}

/* (d) producer -> consumer, 256 B, through a single-producer ring. */
#define D_OPS 5000000L
#define D_RING 4096
static void *ring[D_RING];
static unsigned long d_head, d_tail;   /* atomics */

static void *consumer(void *arg)
{
	unsigned long tail = 0, head = 0;

	(void)arg;
	while (tail < (unsigned long)D_OPS) {
		while (tail == head)
			head = __atomic_load_n(&d_head, __ATOMIC_ACQUIRE);
		while (tail != head) {
			char *p = ring[tail % D_RING];

			barrier(p[0]);
			put64(p);
			tail++;
		}
		__atomic_store_n(&d_tail, tail, __ATOMIC_RELEASE);
	}
	return NULL;
}

static double run_d(void)
{
	unsigned long head = 0, tail = 0;
	pthread_t t;
	double t0 = now_ns();

	pthread_create(&t, NULL, consumer, NULL);
	while (head < (unsigned long)D_OPS) {
		char *p = get64(256);

		p[0] = 1;
		while (head - tail == D_RING)
			tail = __atomic_load_n(&d_tail, __ATOMIC_ACQUIRE);
		ring[head % D_RING] = p;
		head++;
		if ((head & 15) == 0 || head == (unsigned long)D_OPS)
			__atomic_store_n(&d_head, head, __ATOMIC_RELEASE);
	}
	pthread_join(t, NULL);
	return (now_ns() - t0) / D_OPS;
}

/* (e) a message: a 32 B header and a 1-16 KiB body appended, then dropped.
 * malloc: a naive string builder (malloc 256, realloc doubling, free);
 * floor: the same builder on one malloc()ed buffer that is reset and never
 * released (the reuse floor a buffer pool is held to); memcpy: bare
 * memcpy into a static buffer, for information; bufpool:
 * acquire/append/release. */
#define E_OPS 1000000L
static char e_src[16384 + 32];

struct sb {
	char *d;
	size_t len, cap;
};

static void sb_append(struct sb *b, const void *src, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		while (b->len + n + 1 > b->cap)
			b->cap *= 2;
		b->d = realloc(b->d, b->cap);
	}
	memcpy(b->d + b->len, src, n);
	b->len += n;
	b->d[b->len] = 0;
}

static double run_e(void)
{
	static char floor_buf[16384 + 64];
	struct sb fb = { malloc(256), 0, 256 };
	uint64_t rs = 0x2545f4914f6cdd1dull;
	double t0 = now_ns();
	long i;

	for (i = 0; i < E_OPS; i++) {
		size_t body = 1024 + (size_t)(xorshift(&rs) % (15 * 1024));

		if (impl == I_BUFPOOL) {
			mtpool_buf *b = mtpool_buf_acquire(bufpool);

			mtpool_buf_append(b, e_src, 32);
			mtpool_buf_append(b, e_src + 32, body);
			barrier(mtpool_buf_data(b));
			mtpool_buf_release(b);
		} else if (impl == I_FLOOR) {
			fb.len = 0;
			sb_append(&fb, e_src, 32);
			sb_append(&fb, e_src + 32, body);
			barrier(fb.d);
		} else if (impl == I_MEMCPY) {
			size_t len = 0;

			memcpy(floor_buf, e_src, 32);
			len = 32;
			memcpy(floor_buf + len, e_src + 32, body);
			len += body;
			floor_buf[len] = 0;
			barrier(floor_buf);
		} else {
			struct sb b = { malloc(256), 0, 256 };

			sb_append(&b, e_src, 32);
			sb_append(&b, e_src + 32, body);
			barrier(b.d);
			free(b.d);
		}
	}
	t0 = (now_ns() - t0) / E_OPS;
	free(fb.d);
	return t0;
}

static const char *malloc_lib(void)
{
	Dl_info info;
	void *fn = dlsym(RTLD_DEFAULT, "malloc");

	if (fn && dladdr(fn, &info) && info.dli_fname) {
		const char *s = strrchr(info.dli_fname, '/');

		return s ? s + 1 : info.dli_fname;
	}
	return "?";
}

int main(int argc, char **argv)
{
	struct mtpool_bufpool_opts bo = { .max_keep_cap = 32768 };
	struct mtpool_opts po = { .name = "bench" };
	struct rusage ru;
	const char *sc_name, *im;
	double ns;

	if (argc != 3) {
		fprintf(stderr, "usage: %s a1|a2|b|c|d|e malloc|mtpool|mtpool_ool|mtsc|bufpool|floor|memcpy|naive\n", argv[0]);
		return 2;
	}
	sc_name = argv[1];
	im = argv[2];
	if (!strcmp(im, "malloc"))
		impl = I_MALLOC;
	else if (!strcmp(im, "mtpool"))
		impl = I_MTPOOL;
	else if (!strcmp(im, "mtpool_ool"))
		impl = I_MTPOOL_OOL;
	else if (!strcmp(im, "mtsc"))
		impl = I_MTSC;
	else if (!strcmp(im, "bufpool"))
		impl = I_BUFPOOL;
	else if (!strcmp(im, "floor"))
		impl = I_FLOOR;
	else if (!strcmp(im, "memcpy"))
		impl = I_MEMCPY;
	else if (!strcmp(im, "naive"))
		impl = I_NAIVE;
	else
		return 2;
	if (impl == I_MTPOOL || impl == I_MTPOOL_OOL)
		pool = mtpool_create(!strcmp(sc_name, "d") ? 256 : 64, &po);
	if (impl == I_MTSC)
		sc = mtpool_sc_create(NULL);
	if (impl == I_BUFPOOL)
		bufpool = mtpool_bufpool_create(&bo);
	if (((impl == I_MTPOOL || impl == I_MTPOOL_OOL) && !pool) || (impl == I_MTSC && !sc) ||
	    (impl == I_BUFPOOL && !bufpool)) {
		fprintf(stderr, "bench_pool: cannot create the pool\n");
		return 1;
	}
	memset(e_src, 'x', sizeof(e_src));

	if (!strcmp(sc_name, "a1"))
		ns = run_a(1);
	else if (!strcmp(sc_name, "a2"))
		ns = run_a(2);
	else if (!strcmp(sc_name, "b"))
		ns = run_b();
	else if (!strcmp(sc_name, "c"))
		ns = run_c();
	else if (!strcmp(sc_name, "d"))
		ns = run_d();
	else if (!strcmp(sc_name, "e"))
		ns = run_e();
	else
		return 2;
	getrusage(RUSAGE_SELF, &ru);
	printf("ns=%.2f rss_kb=%ld malloc=%s\n", ns, ru.ru_maxrss, malloc_lib());
	return 0;
}
