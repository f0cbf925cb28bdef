// SPDX-License-Identifier: BSD-2-Clause
/*
 * Go support: version strings, and refusal of what is not a Go binary.
 * With arguments it is the end-to-end tests' probe of the Go readers:
 *   test_go detect BINARY        the detection, one "key value" a line
 *   test_go addr2line BINARY     PCs (hex) on stdin -> "function\nfile:line"
 *                                on stdout, the format of `go tool addr2line`
 *   test_go func BINARY NAME     the entry of a function, by name
 *   test_go rets BINARY NAME     its RET instructions (hex), one a line
 * so tests/e2e/t30-go-pclntab.sh can hold them against Go's own tools.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include "go/mt_go_detect.h"
#include "go/mt_go_elf.h"
#include "go/mt_go_pclntab.h"
#include "go/mt_go_prologue.h"
#include "mt_test.h"

static void test_versions(void)
{
	int ma, mi, pa;

	MT_CHECK_EQ_U64(mt_go_parse_version("go1.19.8", &ma, &mi, &pa), 0);
	MT_CHECK(ma == 1 && mi == 19 && pa == 8);
	MT_CHECK_EQ_U64(mt_go_parse_version("go1.22rc1", &ma, &mi, &pa), 0);
	MT_CHECK(mi == 22 && pa == 0);
	MT_CHECK_EQ_U64(mt_go_parse_version("devel go1.23-abcdef Mon", &ma, &mi, &pa), 0);
	MT_CHECK(mi == 23);
	MT_CHECK_EQ_U64(mt_go_parse_version("go2", &ma, &mi, &pa), (uint64_t)-EINVAL);
	MT_CHECK_EQ_U64(mt_go_parse_version("", &ma, &mi, &pa), (uint64_t)-EINVAL);
}

/* This test program is C: not Go, and says so without an error. */
static void test_not_go(void)
{
	struct mt_go_info gi;

	MT_CHECK_EQ_U64(mt_go_detect("/proc/self/exe", &gi), 0);
	MT_CHECK(!gi.is_go && !gi.known);
	MT_CHECK(mt_go_detect("/nonexistent", &gi) < 0);
}

/* runtime.mallocgc of Go 1.23.5 (objdump): lea, cmp, jbe, push rbp; the
 * probe goes to the push. Small frames compare rsp itself. A C function
 * (push rbp first) has no such check. */
static void test_stack_check(void)
{
	static const uint8_t go123[] = { 0x4c, 0x8d, 0x64, 0x24, 0xe8, 0x4d, 0x3b, 0x66, 0x10,
					 0x0f, 0x86, 0xbc, 0x09, 0x00, 0x00, 0x55, 0x48, 0x89, 0xe5 };
	static const uint8_t small[] = { 0x49, 0x3b, 0x66, 0x10, 0x76, 0x2a, 0x55, 0x48, 0x89, 0xe5 };
	static const uint8_t c[] = { 0x55, 0x48, 0x89, 0xe5, 0x48, 0x83, 0xec, 0x10, 0x76, 0x02 };
	uint64_t body = 0;

	MT_CHECK_EQ_U64(mt_go_after_stack_check(go123, sizeof(go123), 0x4618a0, &body), 0);
	MT_CHECK_EQ_U64(body, 0x4618af);
	MT_CHECK_EQ_U64(mt_go_after_stack_check(small, sizeof(small), 0x1000, &body), 0);
	MT_CHECK_EQ_U64(body, 0x1006);
	MT_CHECK_EQ_U64(mt_go_after_stack_check(c, sizeof(c), 0x1000, &body), (uint64_t)-ENOENT);
}

static int cmd(int argc, char **argv)
{
	struct mt_go_pcln *p;
	char line[128];

	if (!strcmp(argv[1], "detect")) {
		struct mt_go_info gi;

		if (mt_go_detect(argv[2], &gi))
			return 1;
		printf("is_go %d\nversion %s\nminor %d\nregabi %d\nknown %d\nwhy %s\ncgo %d\n"
		       "symtab %d\n", gi.is_go, gi.version, gi.minor, gi.regabi, gi.known, gi.why,
		       gi.cgo, gi.has_symtab);
		return 0;
	}
	if (mt_go_pcln_open(argv[2], &p))
		return 1;
	if (!strcmp(argv[1], "func") && argc > 3) {
		uint64_t entry, end;

		if (mt_go_pcln_func(p, argv[3], &entry, &end))
			return 1;
		printf("%" PRIx64 " %" PRIx64 "\n", entry, end);
	} else if (!strcmp(argv[1], "rets") && argc > 3) {
		uint64_t entry, end, at[16];
		struct mt_go_elf e;
		int i, n;

		if (mt_go_pcln_func(p, argv[3], &entry, &end) || mt_go_elf_open(argv[2], &e))
			return 1;
		n = mt_go_pcln_rets(p, &e, entry, at, 16);
		mt_go_elf_close(&e);
		for (i = 0; i < n; i++)
			printf("%" PRIx64 "\n", at[i]);
		if (n <= 0)
			return 1;
	} else {
		while (fgets(line, sizeof(line), stdin)) {
			uint64_t pc = strtoull(line, NULL, 16);
			const char *file;
			int ln;
			const char *fn = mt_go_pcln_lookup(p, pc, NULL, &file, &ln);

			/* go tool addr2line's words for "no line table": ":-1" */
			if (!fn)
				printf("?\n?:0\n");
			else if (!file && !ln)
				printf("%s\n:-1\n", fn ? fn : "?");
			else
				printf("%s\n%s:%d\n", fn ? fn : "?", file ? file : "?", ln);
		}
	}
	mt_go_pcln_free(p);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 2)
		return cmd(argc, argv);
	MT_RUN(test_versions);
	MT_RUN(test_not_go);
	MT_RUN(test_stack_check);
	return mt_test_done();
}
