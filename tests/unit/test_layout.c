// SPDX-License-Identifier: BSD-2-Clause
/* Unit tests for memtrace layout's arithmetic: allocator size classes
 * against the real glibc and jemalloc (malloc_usable_size, nallocx) and
 * memtrace's own libmtpool classes; the better order against every
 * permutation of random structs, and its pins. */
#include <dlfcn.h>
#include <malloc.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include "analyze/mt_sizeclass.h"
#include "layout/mt_layout.h"
#include "mt_test.h"

/* Under ASan (make test's sanitized stage) malloc is ASan's and LD_PRELOAD
 * of another allocator is refused: the allocator comparisons run in the
 * plain build only. */
#ifdef __SANITIZE_ADDRESS__
#define REAL_MALLOC 0
#else
#define REAL_MALLOC 1
#endif

static void test_glibc_classes(void)
{
	uint64_t n;

	if (!REAL_MALLOC) {
		printf("# glibc classes: skipped under ASan (malloc is ASan's)\n");
		return;
	}
	for (n = 1; n <= 4096; n++) {
		void *p = malloc(n);

		MT_CHECK(p);
		MT_CHECK_EQ_U64(mt_lay_class(MT_LAY_GLIBC, n), malloc_usable_size(p));
		free(p);
	}
}

/* jemalloc cannot be dlopen'ed (its TLS is initial-exec): this binary runs
 * itself again with it preloaded and compares with its nallocx there. */
static int jemalloc_child(void)
{
	size_t (*nallocx)(size_t, int);
	uint64_t n;

	*(void **)&nallocx = dlsym(RTLD_DEFAULT, "nallocx");
	if (!nallocx) {
		fprintf(stderr, "  jemalloc not preloaded: install libjemalloc2\n");
		return 1;
	}
	for (n = 1; n <= 65536; n++) {
		if (mt_lay_class(MT_LAY_JEMALLOC, n) != nallocx(n, 0)) {
			fprintf(stderr, "  jemalloc: class of %" PRIu64 ": %" PRIu64 ", nallocx %zu\n",
				n, mt_lay_class(MT_LAY_JEMALLOC, n), nallocx(n, 0));
			return 1;
		}
	}
	return 0;
}

static void test_jemalloc_classes(void)
{
	int status = -1;
	pid_t pid;

	if (!REAL_MALLOC) {
		printf("# jemalloc classes: skipped under ASan (no preloaded allocator)\n");
		return;
	}
	pid = fork();
	MT_CHECK(pid >= 0);
	if (pid == 0) {
		setenv("LD_PRELOAD", "libjemalloc.so.2", 1);
		execl("/proc/self/exe", "test_layout", "--jemalloc-child", (char *)NULL);
		_exit(127);
	}
	MT_CHECK(waitpid(pid, &status, 0) == pid);
	MT_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_mtpool_classes(void)
{
	uint64_t n;

	for (n = 1; n <= MT_SC_MAX; n++)
		MT_CHECK_EQ_U64(mt_lay_class(MT_LAY_MTPOOL, n), mt_sc_class_size(mt_sc_class(n)));
	MT_CHECK_EQ_U64(mt_lay_class(MT_LAY_MTPOOL, MT_SC_MAX + 1), 0);
}

/* The class below is the largest class smaller than the one serving n. */
static void test_class_below(void)
{
	unsigned a;
	uint64_t n, m;

	for (a = 0; a < MT_LAY_NALLOC; a++) {
		for (n = 1; n <= 2048; n++) {
			uint64_t c = mt_lay_class(a, n), want = 0;

			for (m = 1; m < n; m++) {
				uint64_t x = mt_lay_class(a, m);

				if (x < c && x > want)
					want = x;
			}
			MT_CHECK_EQ_U64(mt_lay_class_below(a, n), want);
		}
	}
}

/* A struct of plain members laid out in order by the C rules. */
static void layout_c(struct mt_lay_struct *s)
{
	uint64_t off = 0, align = 1;
	size_t i;

	for (i = 0; i < s->n; i++) {
		struct mt_lay_member *m = &s->m[i];

		off = (off + m->align - 1) / m->align * m->align;
		m->offset = off;
		m->bit_off = off * 8;
		off += m->size;
		if (m->align > align)
			align = m->align;
	}
	s->align = align;
	s->size = (off + align - 1) / align * align;
}

static uint64_t size_of_order(struct mt_lay_struct *s, const size_t *order)
{
	struct mt_lay_member tmp[8];
	struct mt_lay_struct t = *s;
	size_t i;

	for (i = 0; i < s->n; i++)
		tmp[i] = s->m[order[i]];
	t.m = tmp;
	layout_c(&t);
	return t.size;
}

static bool next_perm(size_t *p, size_t n)
{
	size_t i = n - 1, j = n - 1, t;

	while (i > 0 && p[i - 1] >= p[i])
		i--;
	if (i == 0)
		return false;
	while (p[j] <= p[i - 1])
		j--;
	t = p[i - 1], p[i - 1] = p[j], p[j] = t;
	for (j = n - 1; i < j; i++, j--)
		t = p[i], p[i] = p[j], p[j] = t;
	return true;
}

/* Random structs of up to 7 members (sizes multiples of their alignment,
 * like C types, and aligned(N) members smaller than N): the better order
 * is as small as the best of all permutations, and its size is right. */
static void test_best_is_optimal(void)
{
	static const uint64_t aligns[] = { 1, 2, 4, 8, 16 };
	struct mt_lay_member m[8];
	struct mt_lay_struct s;
	size_t order[8], perm[8], i, round;

	srandom(42);
	for (round = 0; round < 3000; round++) {
		uint64_t min, got;

		memset(&s, 0, sizeof(s));
		memset(m, 0, sizeof(m));
		s.m = m;
		s.n = 2 + (size_t)random() % 6;
		for (i = 0; i < s.n; i++) {
			m[i].align = aligns[random() % 5];
			m[i].size = m[i].align * (1 + (uint64_t)(random() % 3));
			if (random() % 8 == 0 && m[i].align >= 8)
				m[i].size = 4;   /* int x __attribute__((aligned(8 or 16))) */
			m[i].name = NULL;
		}
		layout_c(&s);
		for (i = 0; i < s.n; i++)
			perm[i] = i;
		min = s.size;
		do {
			uint64_t x = size_of_order(&s, perm);

			if (x < min)
				min = x;
		} while (next_perm(perm, s.n));
		got = mt_lay_best(&s, NULL, order);
		MT_CHECK_EQ_U64(got, min);
		MT_CHECK_EQ_U64(size_of_order(&s, order), got);
	}
}

static struct mt_lay_member mem(const char *name, uint64_t size)
{
	struct mt_lay_member x = { .name = (char *)name, .size = size, .align = size };

	return x;
}

/* struct wl_padded of tools/workloads/wl_layout.c with pins. */
static void test_pins(void)
{
	struct mt_lay_member m[6] = { mem("tag", 1), mem("weight", 8), mem("id", 4),
				      mem("flag", 1), mem("next", 8), mem("kind", 2) };
	struct mt_lay_struct s = { .name = "wl_padded", .m = m, .n = 6 };
	char *first[] = { "tag" }, *grp[] = { "flag", "tag" }, **groups[] = { grp };
	size_t ngrp[] = { 2 }, order[6];
	struct mt_lay_pins kf = { .keep_first = first, .nkeep_first = 1 };
	struct mt_lay_pins kt = { .together = groups, .ntogether = ngrp, .ngroups = 1 };

	layout_c(&s);
	MT_CHECK_EQ_U64(s.size, 40);
	MT_CHECK_EQ_U64(mt_lay_best(&s, NULL, order), 24);
	MT_CHECK_STR(m[order[0]].name, "weight");
	MT_CHECK_STR(m[order[1]].name, "next");
	/* tag first, then flag, kind, id fill up to 8: 24 still. */
	MT_CHECK_EQ_U64(mt_lay_best(&s, &kf, order), 24);
	MT_CHECK_STR(m[order[0]].name, "tag");
	/* flag and tag adjacent, in that order. */
	MT_CHECK_EQ_U64(mt_lay_best(&s, &kt, order), 24);
	for (size_t i = 0; i + 1 < 6; i++)
		if (strcmp(m[order[i]].name, "flag") == 0)
			MT_CHECK_STR(m[order[i + 1]].name, "tag");
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--jemalloc-child") == 0)
		return jemalloc_child();
	MT_RUN(test_glibc_classes);
	MT_RUN(test_jemalloc_classes);
	MT_RUN(test_mtpool_classes);
	MT_RUN(test_class_below);
	MT_RUN(test_best_is_optimal);
	MT_RUN(test_pins);
	return mt_test_done();
}
