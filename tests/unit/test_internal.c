// SPDX-License-Identifier: BSD-2-Clause
/*
 * Unit tests for mt_internal: the internal call sites found in this
 * process's own libc must be exactly the direct calls of an entry point
 * that binutils' objdump shows outside the exported functions (a real
 * consumer's disassembly, not ours; the exported functions and their sizes
 * as the dynamic linker's dladdr1 sees them), and there must be one at
 * least: glibc's thread teardown (2.26+, tcache) calls free directly.
 */
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe/mt_internal.h"
#include "mt_test.h"

static const char *const names[] = {
	"malloc", "calloc", "realloc", "reallocarray", "free", "posix_memalign",
	"memalign", "aligned_alloc", "valloc", "pvalloc",
};

static uint64_t bias;

/* Inside an exported function, by the dynamic linker's symbol table. */
static bool in_exported(uint64_t vaddr)
{
	const ElfW(Sym) *sym = NULL;
	Dl_info info;

	if (!dladdr1((void *)(uintptr_t)(vaddr + bias), &info, (void **)&sym, RTLD_DL_SYMENT) || !sym)
		return false;
	return vaddr >= sym->st_value && vaddr < sym->st_value + sym->st_size;
}

/* libc's path, load bias and the file vaddrs of its entry points. */
static int libc_eps(char *path, size_t len, uint64_t *eps, unsigned *neps)
{
	struct link_map *lm = NULL;
	void *h = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
	unsigned i;

	if (!h || dlinfo(h, RTLD_DI_LINKMAP, &lm) || !lm)
		return -ENOENT;
	snprintf(path, len, "%s", lm->l_name);
	bias = lm->l_addr;
	*neps = 0;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		void *f = dlsym(h, names[i]);

		if (f)
			eps[(*neps)++] = (uint64_t)(uintptr_t)f - lm->l_addr;
	}
	dlclose(h);
	return 0;
}

/* Direct calls objdump shows to one of eps: "  9904d:\tcall   98ef0 <...>". */
static unsigned objdump_calls(const char *path, const uint64_t *eps, unsigned neps,
			      uint64_t *out, unsigned max)
{
	char cmd[4200], line[512];
	unsigned n = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "objdump -d --no-show-raw-insn '%s' 2>/dev/null", path);
	p = popen(cmd, "r");
	if (!p)
		return 0;
	while (fgets(line, sizeof(line), p)) {
		unsigned long long at, to;

		if (sscanf(line, " %llx:\tcall %llx <", &at, &to) != 2)
			continue;
		for (unsigned i = 0; i < neps; i++)
			if (to == eps[i] && n < max)
				out[n++] = at;
	}
	pclose(p);
	return n;
}

static void test_libc_sites(void)
{
	char path[4096];
	uint64_t eps[16], calls[256];
	struct mt_internal_site s[64];
	unsigned neps = 0, ncalls, i, j;
	int n;

	if (libc_eps(path, sizeof(path), eps, &neps)) {
		printf("  skip: no libc.so.6 in this process\n");
		return;
	}
	n = mt_internal_sites_file(path, eps, neps, s, 64);
	MT_CHECK(n >= 0);
	ncalls = objdump_calls(path, eps, neps, calls, 256);
	if (ncalls == 0) {
		const char *ci = getenv("CI");

		printf("  skip: objdump missing or no direct calls in '%s'\n", path);
		MT_CHECK(!ci || strcmp(ci, "true") != 0);   /* CI installs binutils */
		return;
	}
	/* the sites are exactly objdump's direct calls outside exported
	 * functions (realloc's own calls of malloc and free are left out) */
	for (i = 0, j = 0; i < ncalls; i++)
		if (!in_exported(calls[i]))
			calls[j++] = calls[i];
	ncalls = j;
	MT_CHECK_EQ_U64((unsigned)n, ncalls);
	for (i = 0; i < (unsigned)n; i++) {
		bool seen = false;

		for (j = 0; j < ncalls; j++)
			seen = seen || calls[j] == s[i].vaddr;
		MT_CHECK(seen);
		MT_CHECK(s[i].file_off != 0);
	}
	MT_CHECK(n >= 1);
}

/* No entry point: no site; an unreadable file: an error. */
static void test_edges(void)
{
	struct mt_internal_site s[4];
	uint64_t ep = 1;

	MT_CHECK_EQ_U64(mt_internal_sites_file("/proc/self/exe", &ep, 1, s, 4), 0);
	MT_CHECK_EQ_U64(mt_internal_sites_file("/nonexistent/lib.so", &ep, 1, s, 4), (uint64_t)-ENOENT);
}

int main(void)
{
	MT_RUN(test_libc_sites);
	MT_RUN(test_edges);
	return mt_test_done();
}
