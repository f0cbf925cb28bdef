// SPDX-License-Identifier: BSD-2-Clause
/*
 * The unwind rows memtrace builds from real Debian binaries against an
 * independent reader of the same CFI: binutils' `readelf -wF` (its decoded
 * frame table). Every row readelf prints with a simple rule (CFA = rsp/rbp
 * + n, return address at CFA - 8 or undefined, rbp saved at CFA + k or not)
 * must give the same rule from mt_uw_table_find; rules readelf writes as
 * expressions ("exp") are skipped; CFA in another register must be "none".
 */
#include <linux/types.h>
#include <stdlib.h>
#include <unistd.h>

#include "mt_test.h"
#include "unwind/mt_uw_table.h"

struct cmp {
	unsigned rows, skipped, bad;
};

static int col_of(char cols[][32], int ncols, const char *name)
{
	for (int i = 0; i < ncols; i++)
		if (!strcmp(cols[i], name))
			return i;
	return -1;
}

/* Compare every FDE row readelf prints for path. */
static void compare(const char *path, const struct mt_uw_table *t, struct cmp *c)
{
	char cmd[512], line[1024], cols[32][32], sig_cies[64][32];
	int ncols = 0, nsig = 0;
	bool in_fde = false, sig = false;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "readelf -wF '%s' 2>/dev/null", path);
	p = popen(cmd, "r");
	if (!p)
		return;
	while (fgets(line, sizeof(line), p)) {
		char w[32][32];
		int n = 0, i;
		char *s = line, *tok;

		while ((tok = strtok(s, " \t\n")) && n < 32) {
			snprintf(w[n++], sizeof(w[0]), "%s", tok);
			s = NULL;
		}
		if (n == 0) {
			in_fde = false;
			continue;
		}
		if (n >= 4 && !strcmp(w[3], "CIE")) {
			in_fde = false;
			if (strchr(w[4], 'S') && nsig < 64)
				snprintf(sig_cies[nsig++], sizeof(sig_cies[0]), "%s", w[0]);
			continue;
		}
		if (n >= 5 && !strcmp(w[3], "FDE")) {
			in_fde = true;
			sig = false;
			for (i = 0; i < nsig; i++)
				if (!strcmp(w[4] + 4, sig_cies[i]))
					sig = true;
			continue;
		}
		if (!strcmp(w[0], "LOC")) {
			for (ncols = 0; ncols + 1 < n && ncols < 32; ncols++)
				snprintf(cols[ncols], sizeof(cols[0]), "%s", w[ncols + 1]);
			continue;
		}
		if (!in_fde || n != ncols + 1 || sig)
			continue;
		{
			uint64_t loc = strtoull(w[0], NULL, 16);
			const struct mt_uw_row *r = mt_uw_table_find(t, loc);
			int ra = col_of(cols, ncols, "ra"), bp = col_of(cols, ncols, "rbp");
			const char *cfa = w[1], *rav = ra >= 0 ? w[ra + 1] : "";
			const char *bpv = bp >= 0 ? w[bp + 1] : "u";
			struct mt_uw_row want = { 0 };
			bool ok;

			if (!strcmp(cfa, "exp") || !r || strchr(bpv, 'e') || (ra >= 0 && strchr(rav, 'e'))) {
				c->skipped++;
				continue;
			}
			if (!strcmp(rav, "u")) {
				want.kind = MT_UW_ROOT;
			} else if (!strcmp(rav, "c-8")) {
				if (!strncmp(cfa, "rsp+", 4))
					want.kind = MT_UW_CFA_RSP;
				else if (!strncmp(cfa, "rbp+", 4))
					want.kind = MT_UW_CFA_RBP;
				if (want.kind) {
					long off = atol(cfa + 4);

					want.cfa_off = (uint16_t)off;
					if (off > UINT16_MAX && off % 8 == 0 && off / 8 <= UINT16_MAX) {
						want.kind |= MT_UW_SCALED;
						want.cfa_off = (uint16_t)(off / 8);
					} else if (off > UINT16_MAX) {
						want.kind = MT_UW_NONE;
					}
				}
				if (want.kind && bpv[0] == 'c')
					want.rbp_off = (int8_t)(atoi(bpv + 1) / 8);
			}
			ok = r->kind == want.kind;
			if (ok && MT_UW_KIND(want.kind) != MT_UW_ROOT && want.kind != MT_UW_NONE)
				ok = r->cfa_off == want.cfa_off && r->rbp_off == want.rbp_off;
			c->rows++;
			if (!ok && c->bad++ < 5)
				fprintf(stderr, "  %s %#llx: readelf CFA %s ra %s rbp %s; memtrace kind %u cfa %u rbp %d\n",
					path, (unsigned long long)loc, cfa, rav, bpv, r->kind, r->cfa_off,
					r->rbp_off);
		}
	}
	pclose(p);
}

static void check_file(const char *path, unsigned min_rows, bool fp)
{
	struct mt_uw_table t;
	struct cmp c = { 0 };

	if (access(path, R_OK)) {
		fprintf(stderr, "  (no %s)\n", path);
		return;
	}
	MT_CHECK_EQ_U64(mt_uw_table_build(path, &t), 0);
	MT_CHECK_EQ_U64(t.src, MT_UW_SRC_EH_FRAME);
	compare(path, &t, &c);
	fprintf(stderr, "  %s: %u rows compared with readelf, %u skipped (expressions)\n", path, c.rows,
		c.skipped);
	MT_CHECK_EQ_U64(t.fp, fp);
	mt_uw_table_free(&t);
	MT_CHECK(c.rows >= min_rows);
	MT_CHECK_EQ_U64(c.bad, 0);
}

static void test_libc_rows_match_readelf(void)
{
	check_file("/lib/x86_64-linux-gnu/libc.so.6", 10000, false);
}

static void test_python_rows_match_readelf(void)
{
	check_file("/usr/bin/python3.11", 10000, false);
}

static void test_no_cfi_file(void)
{
	struct mt_uw_table t;
	char path[] = "/tmp/mt_uw_XXXXXX";
	int fd = mkstemp(path);

	MT_CHECK(fd >= 0);
	MT_CHECK(write(fd, "not an ELF file", 15) == 15);
	close(fd);
	MT_CHECK(mt_uw_table_build(path, &t) < 0);
	unlink(path);
	MT_CHECK(mt_uw_table_build("/nonexistent/file", &t) < 0);
}

int main(void)
{
	if (system("readelf --version >/dev/null 2>&1")) {
		printf("skip: readelf (binutils) is not installed\n");
		return 77;
	}
	MT_RUN(test_libc_rows_match_readelf);
	MT_RUN(test_python_rows_match_readelf);
	MT_RUN(test_no_cfi_file);
	return mt_test_done();
}
