// SPDX-License-Identifier: BSD-2-Clause
/*
 * Unit tests for mt_syscall_sites: the memory syscall sites found in this
 * process's own libc and dynamic loader, checked against binutils'
 * objdump (a real consumer's disassembly, not ours): every site is a
 * `syscall` instruction whose number-setting instruction objdump shows as
 * `mov $NR,%eax` (or %rax), every such adjacent pair objdump shows is a
 * site, and glibc has at least one site for each of the five syscalls
 * (malloc's own __mmap, __munmap, __brk, __mremap, __madvise).
 */
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe/mt_syscall_sites.h"
#include "mt_test.h"

static const uint32_t nrs[] = { 9, 11, 12, 25, 28 };

struct insn {
	uint64_t at;
	char text[64];
};

/* objdump's instructions of path: "  1019b1:\tsyscall". */
static unsigned objdump_insns(const char *path, struct insn *out, unsigned max)
{
	char cmd[4200], line[512];
	unsigned n = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "objdump -d --no-show-raw-insn '%s' 2>/dev/null", path);
	p = popen(cmd, "r");
	if (!p)
		return 0;
	while (fgets(line, sizeof(line), p) && n < max) {
		unsigned long long at;
		int off = 0;

		if (sscanf(line, " %llx:\t%n", &at, &off) != 1 || off == 0)
			continue;
		out[n].at = at;
		snprintf(out[n].text, sizeof(out[n].text), "%s", line + off);
		out[n].text[strcspn(out[n].text, "\n")] = '\0';
		n++;
	}
	pclose(p);
	return n;
}

static const struct insn *find(const struct insn *in, unsigned n, uint64_t at)
{
	unsigned lo = 0, hi = n;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (in[mid].at < at)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && in[lo].at == at ? &in[lo] : NULL;
}

/* "mov    $0x9,%eax" -> 9, else -1. */
static long mov_nr(const char *t)
{
	unsigned long v;
	char reg[8];

	if (sscanf(t, "mov $0x%lx,%%%7[a-z]", &v, reg) != 2 && sscanf(t, "mov    $0x%lx,%%%7[a-z]", &v, reg) != 2)
		return -1;
	return strcmp(reg, "eax") == 0 || strcmp(reg, "rax") == 0 ? (long)v : -1;
}

static bool wanted(long nr)
{
	for (unsigned i = 0; i < 5; i++)
		if (nr == (long)nrs[i])
			return true;
	return false;
}

static int check_object(const char *path, unsigned seen[5])
{
	static struct insn in[600000];
	static struct mt_syscall_site s[256];
	unsigned ni, npairs = 0, i, k, dyn = 0, emulated = 0;
	int n;

	n = mt_syscall_sites_file(path, nrs, 5, s, 256, &dyn);
	if (n < 0)
		return -1;
	ni = objdump_insns(path, in, 600000);
	if (ni == 0)
		return -2;
	for (i = 0; i < (unsigned)n; i++) {
		const struct insn *sc = find(in, ni, s[i].vaddr), *mv = find(in, ni, s[i].pre_vaddr);

		if (!sc || strncmp(sc->text, "syscall", 7) != 0 || !mv || mov_nr(mv->text) != (long)s[i].nr) {
			fprintf(stderr, "  '%s': site %#llx (nr %u, pre %#llx) is not objdump's\n", path,
				(unsigned long long)s[i].vaddr, s[i].nr, (unsigned long long)s[i].pre_vaddr);
			return -3;
		}
		/* libraries map text at offset == vaddr: the probes land on
		 * the instructions objdump shows. post: the next instruction,
		 * or the conditional jump after `cmp $imm,%rax` that no other
		 * instruction of the object branches to */
		if (s[i].pre_off != s[i].pre_vaddr)
			return -4;
		if (s[i].post_off != s[i].vaddr + 2) {
			const struct insn *c = find(in, ni, s[i].vaddr + 2), *jc = find(in, ni, s[i].post_off);
			char target[32];

			if (s[i].post_off != s[i].vaddr + 8 || !c || strncmp(c->text, "cmp ", 4) ||
			    !strstr(c->text, ",%rax") || !jc || jc->text[0] != 'j' || !strncmp(jc->text, "jmp", 3))
				return -7;
			snprintf(target, sizeof(target), " %llx <", (unsigned long long)s[i].post_off);
			for (k = 0; k < ni; k++)
				if ((in[k].text[0] == 'j' || !strncmp(in[k].text, "call", 4)) &&
				    strstr(in[k].text, target))
					return -8;
			emulated++;
		}
		for (k = 0; k < 5; k++)
			seen[k] += s[i].nr == nrs[k];
	}
	for (i = 1; i < ni; i++) {
		bool found = false;

		if (strncmp(in[i].text, "syscall", 7) != 0 || !wanted(mov_nr(in[i - 1].text)))
			continue;
		npairs++;
		for (k = 0; k < (unsigned)n; k++)
			found = found || s[k].vaddr == in[i].at;
		if (!found) {
			fprintf(stderr, "  '%s': objdump's site %#llx missed\n", path,
				(unsigned long long)in[i].at);
			return -5;
		}
	}
	/* glibc's mmap, munmap, mremap and madvise wrappers all have the
	 * cmp + jcc tail: most sites get the one-trap probe */
	return npairs == 0 ? -6 : emulated * 2 < (unsigned)n ? -9 : 0;
}

static int lib_path(const char *name, char *path, size_t len)
{
	struct link_map *lm = NULL;
	void *h = dlopen(name, RTLD_NOW | RTLD_NOLOAD);

	if (!h || dlinfo(h, RTLD_DI_LINKMAP, &lm) || !lm)
		return -ENOENT;
	snprintf(path, len, "%s", lm->l_name);
	dlclose(h);
	return 0;
}

static void test_glibc(void)
{
	const char *libs[] = { "libc.so.6", "ld-linux-x86-64.so.2" };
	unsigned seen[5] = { 0 }, i;
	char path[4096];

	for (i = 0; i < 2; i++) {
		int r;

		if (lib_path(libs[i], path, sizeof(path))) {
			printf("  skip: no %s in this process\n", libs[i]);
			return;
		}
		r = check_object(path, seen);
		if (r == -2) {
			const char *ci = getenv("CI");

			printf("  skip: objdump missing\n");
			MT_CHECK(!ci || strcmp(ci, "true") != 0);   /* CI installs binutils */
			return;
		}
		MT_CHECK_EQ_U64(r, 0);
	}
	for (i = 0; i < 5; i++)
		MT_CHECK(seen[i] >= 1);
}

/* No code: no site; an unreadable file: an error; too small a table: E2BIG. */
static void test_edges(void)
{
	struct mt_syscall_site s[1];
	char path[4096];

	MT_CHECK_EQ_U64(mt_syscall_sites_file("/nonexistent/lib.so", nrs, 5, s, 1, NULL),
			(uint64_t)-ENOENT);
	MT_CHECK_EQ_U64(mt_syscall_sites_file("/proc/self/exe", nrs, 5, s, 1, NULL), 0);
	if (lib_path("libc.so.6", path, sizeof(path)) == 0)
		MT_CHECK_EQ_U64(mt_syscall_sites_file(path, nrs, 5, s, 1, NULL), (uint64_t)-E2BIG);
}

int main(void)
{
	MT_RUN(test_glibc);
	MT_RUN(test_edges);
	return mt_test_done();
}
