// SPDX-License-Identifier: BSD-2-Clause
/*
 * Structs with known layouts, and live objects of them, for the tests of
 * memtrace layout (tests/e2e/t70-layout*.sh). The expected numbers below
 * are what the C rules give on x86-64; the tests check them and compare
 * every struct with pahole.
 *
 *   wl_layout [--attach] N
 *
 * Keeps N struct wl_padded live (40 bytes, 24 in the better order, so N x
 * 16 bytes saved), N / 2 struct wl_known (32 -> 16) allocated where only
 * the size tells the type, N / 4 struct wl_twin_a (same size as
 * wl_twin_b, told apart by the variable's type), and one array of 6
 * struct wl_elem (only DWARF tells an array), beside an array of
 * pointers a multiple of 8 bytes long (keep); then exits (the objects are leaks at exit). With
 * --attach it prints "ready", allocates on SIGUSR1, prints "done" and
 * waits for SIGTERM. Output uses write(2): stdio would allocate.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Holes 7 (after tag) and 3 (after flag), padding 6: 40 bytes; better
 * weight, next, id, kind, tag, flag: 24. */
struct wl_padded {
	char tag;
	double weight;
	int id;
	char flag;
	void *next;
	short kind;
};

/* Holes 7 and 3, padding 6: 32 bytes; best 16. */
struct wl_known {
	char a;
	long b;
	char c;
	int d;
	short e;
};

/* Two types of one size (24): only DWARF tells which one is allocated. */
struct wl_twin_a {
	char x;
	long y;
	char z;
};
struct wl_twin_b {
	long p, q, r;
};

/* 8 bytes (3 of padding), allocated as an array of 6. */
struct wl_elem {
	int k;
	char tag;
};

/* Packed: 7 bytes, no holes, alignment 1. */
struct __attribute__((packed)) wl_packed {
	char a;
	int b;
	short c;
};

/* Packed with every member aligned: only the size (9, not a multiple of
 * 8) tells. */
struct __attribute__((packed)) wl_packed_tail {
	long a;
	char b;
};

/* aligned(N): a 15-byte hole before b, 44 of padding, 64 bytes. */
struct wl_aligned {
	char a;
	int b __attribute__((aligned(16)));
} __attribute__((aligned(64)));

/* Bit-fields: a 24-bit hole after b, 7 bits after c, 8 bits of padding. */
struct wl_bits {
	unsigned a:3;
	unsigned b:5;
	int x;
	unsigned c:1;
	char d;
	unsigned long e:40;
};

/* Nested and anonymous members, an array of structs; 88 bytes. */
struct wl_nest {
	char a;
	struct {
		int x;
		char y;
	};
	union {
		long l;
		char cc[3];
	} u;
	struct wl_known h[2];
};

/* A flexible array member stays last: 24 bytes, holes 7 and 4; the
 * better order x, n, c, data takes 16. */
struct wl_flex {
	char c;
	long x;
	int n;
	long data[];
};

union wl_union {
	char c;
	long l;
	int arr[3];
};

/* b starts the second cache line after a 4-byte hole: 80 bytes, 2 lines,
 * and no order does better (76 bytes of members, alignment 8). */
struct wl_wide {
	char a[60];
	long b;
	int c;
	char d;
};

/* Referenced so the compiler keeps their DWARF. */
struct wl_packed wl_g_packed;
struct wl_packed_tail wl_g_packed_tail;
struct wl_aligned wl_g_aligned;
struct wl_bits wl_g_bits;
struct wl_nest wl_g_nest;
struct wl_flex wl_g_flex;
union wl_union wl_g_union;
struct wl_wide wl_g_wide;
struct wl_twin_b wl_g_twin_b;

static void **keep;
static size_t nkeep;

static void say(const char *s)
{
	ssize_t r = write(1, s, strlen(s));

	(void)r;
}

static struct wl_padded *wl_padded_new(int id)
{
	struct wl_padded *p = malloc(sizeof(*p));

	if (p) {
		memset(p, 0, sizeof(*p));
		p->id = id;
	}
	return p;
}

/* Only the size tells: the result goes into a void * slot. */
static void wl_known_alloc(void **slot)
{
	*slot = malloc(sizeof(struct wl_known));
}

static void wl_twin_alloc(void **slot)
{
	struct wl_twin_a *t = malloc(sizeof(*t));

	*slot = t;
}

static void wl_elems_alloc(void **slot)
{
	struct wl_elem *e = calloc(6, sizeof(*e));

	*slot = e;
}

static void run(long n)
{
	long i;

	keep = calloc((size_t)(n + n / 2 + n / 4 + 1), sizeof(*keep));
	if (!keep)
		exit(1);
	for (i = 0; i < n; i++)
		keep[nkeep++] = wl_padded_new((int)i);
	for (i = 0; i < n / 2; i++)
		wl_known_alloc(&keep[nkeep++]);
	for (i = 0; i < n / 4; i++)
		wl_twin_alloc(&keep[nkeep++]);
	wl_elems_alloc(&keep[nkeep++]);
}

static volatile sig_atomic_t go, stop;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		go = 1;
	else
		stop = 1;
}

int main(int argc, char **argv)
{
	int attach = argc > 1 && strcmp(argv[1], "--attach") == 0;
	long n;

	if (argc != 2 + attach) {
		say("usage: wl_layout [--attach] N\n");
		return 2;
	}
	n = strtol(argv[1 + attach], NULL, 10);
	if (attach) {
		signal(SIGUSR1, on_signal);
		signal(SIGTERM, on_signal);
		say("ready\n");
		while (!go)
			pause();
	}
	run(n);
	if (attach) {
		say("done\n");
		while (!stop)
			pause();
	}
	return 0;
}
