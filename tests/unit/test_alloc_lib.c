// SPDX-License-Identifier: BSD-2-Clause
/*
 * Unit tests for mt_alloc_lib on real Debian objects: a replacement
 * allocator that lacks a name (tcmalloc and jemalloc have no reallocarray)
 * leaves it to libc, where the program's call lands: it must be probed
 * there, once; libc alone provides everything itself.
 */
#include <dlfcn.h>
#include <link.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/types.h>
#include "heap.h"
#include "probe/mt_alloc_lib.h"
#include "mt_test.h"

static char libc_path[4096];

static const struct mt_entry_point *find(const struct mt_alloc_lib *l, const char *name)
{
	for (unsigned i = 0; i < l->neps; i++) {
		const char *n = l->eps[i].name;
		size_t len = strlen(name);

		/* a key may join aliases: "memalign|aligned_alloc" */
		for (const char *p = n; (p = strstr(p, name)); p += len)
			if ((p == n || p[-1] == '|') && (p[len] == '\0' || p[len] == '|'))
				return &l->eps[i];
	}
	return NULL;
}

static void test_libc_alone(void)
{
	const char *order[] = { libc_path };
	struct mt_alloc_lib l;

	MT_CHECK_EQ_U64(mt_alloc_lib_find(0, NULL, order, 1, &l), 0);
	MT_CHECK_EQ_U64(l.nobjs, 1);
	for (unsigned k = 0; k < MT_K_COUNT; k++) {
		const struct mt_entry_point *ep = find(&l, mt_kind_name(k));

		MT_CHECK(ep != NULL);
		MT_CHECK(ep && ep->obj == 0);
	}
}

static void test_replacement(const char *lib, const char *const *from_libc)
{
	char path[4096];
	const char *order[] = { path, libc_path };
	struct mt_alloc_lib l;
	unsigned k, n = 0;

	snprintf(path, sizeof(path), "/usr/lib/x86_64-linux-gnu/%s", lib);
	if (access(path, R_OK)) {
		const char *ci = getenv("CI");

		printf("  skip: %s not installed\n", path);
		MT_CHECK(!ci || strcmp(ci, "true") != 0);   /* tools/install-deps.sh installs it */
		return;
	}
	MT_CHECK_EQ_U64(mt_alloc_lib_find(0, NULL, order, 2, &l), 0);
	MT_CHECK_STR(l.path, path);
	MT_CHECK_EQ_U64(l.nobjs, from_libc[0] ? 2 : 1);   /* libc only for what is missing */
	if (from_libc[0])
		MT_CHECK_STR(l.objs[1].path, libc_path);
	for (k = 0; k < MT_K_COUNT; k++) {
		const char *name = mt_kind_name(k);
		const struct mt_entry_point *ep = find(&l, name);
		bool libc = false;

		for (const char *const *p = from_libc; *p; p++)
			libc = libc || strcmp(*p, name) == 0;
		MT_CHECK(ep != NULL);
		if (ep && ep->obj != (libc ? 1u : 0u))
			printf("  '%s' probed in object %u, expected %u\n", name, ep->obj, libc ? 1u : 0u);
		MT_CHECK(ep && ep->obj == (libc ? 1u : 0u));
	}
	for (k = 0; k < l.neps; k++)
		n += l.eps[k].obj == 1;
	for (const char *const *p = from_libc; *p; p++)
		n -= 1;
	MT_CHECK_EQ_U64(n, 0);   /* nothing else taken from libc */
}

static void test_tcmalloc(void)
{
	static const char *const libc[] = { "reallocarray", NULL };

	test_replacement("libtcmalloc_minimal.so.4", libc);
}

static void test_jemalloc(void)
{
	static const char *const libc[] = { "reallocarray", "pvalloc", NULL };

	test_replacement("libjemalloc.so.2", libc);
}

static void test_mimalloc(void)
{
	static const char *const libc[] = { NULL };

	test_replacement("libmimalloc.so.2", libc);
}

int main(void)
{
	struct link_map *lm = NULL;
	void *h = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);

	if (!h || dlinfo(h, RTLD_DI_LINKMAP, &lm) || !lm) {
		printf("skip: no libc.so.6\n");
		return 77;
	}
	snprintf(libc_path, sizeof(libc_path), "%s", lm->l_name);
	MT_RUN(test_libc_alone);
	MT_RUN(test_tcmalloc);
	MT_RUN(test_jemalloc);
	MT_RUN(test_mimalloc);
	return mt_test_done();
}
