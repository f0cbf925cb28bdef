// SPDX-License-Identifier: BSD-2-Clause
/*
 * Unit tests for mt_obj_code, against binutils (real consumers, not our
 * parser) on this test's own executable and this process's libc: the
 * executable sections are readelf's (PROGBITS, X, not .plt*) with the
 * file's bytes; the .eh_frame_hdr starts are readelf's FDEs; the function
 * symbols are readelf's; a sweep over each function of this executable
 * stops on exactly objdump's instruction boundaries. The lookups are
 * checked against a linear scan, and the sweep's edges on known bytes.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "probe/mt_obj_code.h"
#include "mt_test.h"

#define MAXV 400000

static char self[4096], libc[4096];
static uint64_t want[MAXV], got[MAXV];

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static FILE *run(const char *fmt, const char *path)
{
	char cmd[4300];

	snprintf(cmd, sizeof(cmd), fmt, path);
	return popen(cmd, "r");
}

/* binutils is a CI dependency: missing elsewhere, the test skips. */
static int no_binutils(const char *what)
{
	const char *ci = getenv("CI");

	printf("  skip: %s gave nothing (binutils missing?)\n", what);
	return ci && strcmp(ci, "true") == 0;
}

static int paths(void)
{
	struct link_map *lm = NULL;
	void *h = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0 || !h || dlinfo(h, RTLD_DI_LINKMAP, &lm) || !lm)
		return -ENOENT;
	self[n] = '\0';
	snprintf(libc, sizeof(libc), "%s", lm->l_name);
	dlclose(h);
	return 0;
}

/* The executable sections are readelf's, their bytes the file's. */
static void test_sections(void)
{
	struct mt_obj_code oc;
	struct mt_code_sec sec;
	Elf_Scn *scn = NULL;
	unsigned nwant = 0, ngot = 0;
	char line[512];
	FILE *p = run("readelf -SW '%s' 2>/dev/null", self);
	int fd;

	MT_CHECK(p);
	while (fgets(line, sizeof(line), p)) {
		unsigned long long addr, off, size;
		char name[64], type[32], flags[16];

		if (sscanf(line, " [%*u] %63s %31s %llx %llx %llx %*s %15s", name, type, &addr, &off, &size,
			   flags) != 6 || strcmp(type, "PROGBITS") || !strchr(flags, 'X') ||
		    !strncmp(name, ".plt", 4) || nwant + 3 > MAXV)
			continue;
		want[nwant++] = addr, want[nwant++] = off, want[nwant++] = size;
	}
	pclose(p);
	if (nwant == 0) {
		MT_CHECK(!no_binutils("readelf -S"));
		return;
	}
	MT_CHECK_EQ_U64(mt_obj_code_open(&oc, self), 0);
	fd = open(self, O_RDONLY);
	MT_CHECK(fd >= 0);
	while (mt_obj_code_next_sec(&oc, &scn, &sec) && ngot + 3 <= nwant) {
		static uint8_t file[1 << 22];
		size_t len = sec.len < sizeof(file) ? sec.len : sizeof(file);

		got[ngot++] = sec.addr, got[ngot++] = sec.off, got[ngot++] = sec.len;
		if (pread(fd, file, len, (off_t)sec.off) != (ssize_t)len || memcmp(file, sec.b, len))
			got[ngot - 1] = 0;   /* not the file's bytes */
	}
	close(fd);
	mt_obj_code_close(&oc);
	MT_CHECK_EQ_U64(ngot, nwant);
	for (unsigned i = 0; i < nwant; i++)
		MT_CHECK_EQ_U64(got[i], want[i]);
}

/* Every start of the table, sorted, against want[0..nwant) sorted. */
static int same_starts(const char *path, unsigned from, unsigned nwant)
{
	struct mt_obj_code oc;
	int ret = 0;

	if (mt_obj_code_open(&oc, path) || mt_obj_code_read_starts(&oc, from))
		return -1;
	qsort(want, nwant, sizeof(*want), cmp_u64);
	if (oc.nstarts != nwant) {
		fprintf(stderr, "  '%s': %zu starts, binutils %u\n", path, oc.nstarts, nwant);
		ret = -2;
	}
	for (size_t i = 0; !ret && i < nwant; i++)
		if (oc.starts[i] != want[i])
			ret = -3;
	mt_obj_code_close(&oc);
	return ret;
}

/* .eh_frame_hdr's starts are the initial locations of readelf's FDEs. */
static void test_eh_starts(void)
{
	const char *objs[] = { self, libc };

	for (unsigned k = 0; k < 2; k++) {
		FILE *p = run("readelf -wf '%s' 2>/dev/null", objs[k]);
		unsigned nwant = 0;
		char line[512];

		MT_CHECK(p);
		while (fgets(line, sizeof(line), p)) {
			const char *pc = strstr(line, " FDE cie=");
			unsigned long long lo;

			if (pc && (pc = strstr(pc, "pc=")) && sscanf(pc, "pc=%llx", &lo) == 1 && nwant < MAXV)
				want[nwant++] = lo;
		}
		pclose(p);
		if (nwant == 0) {
			MT_CHECK(!no_binutils("readelf -wf"));
			return;
		}
		MT_CHECK_EQ_U64(same_starts(objs[k], MT_STARTS_EH_FRAME, nwant), 0);
	}
}

struct named {
	uint64_t v;
	char name[128];
};

static struct named wsyms[MAXV / 8], gsyms[MAXV / 8];
static unsigned ngsyms;

static int cmp_named(const void *a, const void *b)
{
	const struct named *x = a, *y = b;

	return x->v != y->v ? (x->v < y->v ? -1 : 1) : strcmp(x->name, y->name);
}

static int collect(const GElf_Sym *sym, const char *name, void *arg)
{
	if (ngsyms >= MAXV / 8)
		return -E2BIG;
	gsyms[ngsyms].v = sym->st_value;
	snprintf(gsyms[ngsyms].name, sizeof(gsyms[0].name), "%s", name ? name : "");
	ngsyms++;
	return 0;
}

/* readelf's defined function symbols of one table ('.dynsym', '.symtab'):
 * names without a version; also their values into want (non-zero ones). */
static unsigned readelf_funcs(const char *path, const char *table, unsigned *nwant)
{
	FILE *p = run("readelf -sW '%s' 2>/dev/null", path);
	unsigned n = 0;
	char line[1024];
	int in = 0;

	if (!p)
		return 0;
	while (fgets(line, sizeof(line), p)) {
		unsigned long long v;
		char type[16], ndx[16], name[128] = "";

		if (strstr(line, "Symbol table '")) {
			in = strstr(line, table) != NULL;
			continue;
		}
		if (sscanf(line, " %*u: %llx %*s %15s %*s %*s %15s %127s", &v, type, ndx, name) < 3 ||
		    (strcmp(type, "FUNC") && strcmp(type, "IFUNC")) || !strcmp(ndx, "UND"))
			continue;
		name[strcspn(name, "@")] = '\0';
		if (!in)
			continue;
		if (v && *nwant < MAXV)
			want[(*nwant)++] = v;
		if (n < MAXV / 8) {
			wsyms[n].v = v;
			snprintf(wsyms[n].name, sizeof(wsyms[0].name), "%s", name);
			n++;
		}
	}
	pclose(p);
	return n;
}

/* The function symbols, by table and with their names, are readelf's;
 * so are the starts they give. */
static void test_func_syms(void)
{
	const char *objs[] = { self, libc };
	const struct { uint32_t type; const char *name; } tabs[] = {
		{ SHT_DYNSYM, "'.dynsym'" }, { SHT_SYMTAB, "'.symtab'" },
	};

	for (unsigned k = 0; k < 2; k++) {
		unsigned nwant = 0, total = 0;

		for (unsigned t = 0; t < 2; t++) {
			struct mt_obj_code oc;
			unsigned nw = readelf_funcs(objs[k], tabs[t].name, &nwant);

			total += nw;
			ngsyms = 0;
			MT_CHECK_EQ_U64(mt_obj_code_open(&oc, objs[k]), 0);
			MT_CHECK_EQ_U64(mt_obj_code_func_syms(&oc, tabs[t].type, collect, NULL), 0);
			mt_obj_code_close(&oc);
			MT_CHECK_EQ_U64(ngsyms, nw);
			qsort(wsyms, nw, sizeof(*wsyms), cmp_named);
			qsort(gsyms, nw, sizeof(*gsyms), cmp_named);
			for (unsigned i = 0; i < nw; i++) {
				MT_CHECK_EQ_U64(gsyms[i].v, wsyms[i].v);
				MT_CHECK_STR(gsyms[i].name, wsyms[i].name);
			}
		}
		if (total == 0) {
			MT_CHECK(!no_binutils("readelf -s"));
			return;
		}
		MT_CHECK_EQ_U64(same_starts(objs[k], MT_STARTS_SYMBOLS, nwant), 0);
	}
}

/* mt_code_func_start and _end against a linear scan of the table, on
 * each start and its neighbours. */
static void test_lookup(void)
{
	struct mt_obj_code oc;

	MT_CHECK_EQ_U64(mt_obj_code_open(&oc, libc), 0);
	MT_CHECK_EQ_U64(mt_obj_code_read_starts(&oc, MT_STARTS_EH_FRAME | MT_STARTS_SYMBOLS), 0);
	MT_CHECK(oc.nstarts > 100);
	for (size_t i = 0; i < oc.nstarts; i += 7) {
		for (int d = -1; d <= 1; d++) {
			uint64_t a = oc.starts[i] + (uint64_t)d, start = 0, end = a + 64;
			size_t j;

			for (j = 0; j < oc.nstarts && oc.starts[j] <= a; j++)
				start = oc.starts[j];
			MT_CHECK_EQ_U64(mt_code_func_start(&oc, a), start);
			for (j = 0; j < oc.nstarts && oc.starts[j] <= a; j++)
				;
			if (j < oc.nstarts && oc.starts[j] < end)
				end = oc.starts[j];
			MT_CHECK_EQ_U64(mt_code_func_end(&oc, a, a + 64), end);
		}
		MT_CHECK_EQ_U64(mt_code_func_start(&oc, oc.starts[i]), oc.starts[i]);
	}
	MT_CHECK_EQ_U64(mt_code_func_start(&oc, oc.starts[0] - 1), 0);
	mt_obj_code_close(&oc);
}

struct ats {
	uint64_t *v;
	unsigned n, max;
};

static int note_at(csh cs, const cs_insn *in, uint64_t at, void *arg)
{
	struct ats *a = arg;

	if (a->n < a->max)
		a->v[a->n++] = at;
	return 0;
}

/* A sweep over each function (symbol with a size) of this executable
 * stops on objdump's instructions, no more, no less. */
static void test_sweep_objdump(void)
{
	FILE *p = run("objdump -d --no-show-raw-insn '%s' 2>/dev/null", self);
	struct mt_obj_code oc;
	struct mt_code_sec sec;
	Elf_Scn *scn = NULL;
	unsigned nwant = 0, nfunc = 0;
	cs_insn *in = NULL;
	char line[512];
	csh cs = 0;

	MT_CHECK(p);
	while (fgets(line, sizeof(line), p) && nwant < MAXV) {
		unsigned long long at;
		int off = 0;

		if (sscanf(line, " %llx:\t%n", &at, &off) == 1 && off)
			want[nwant++] = at;
	}
	pclose(p);
	if (nwant == 0) {
		MT_CHECK(!no_binutils("objdump -d"));
		return;
	}
	MT_CHECK_EQ_U64(mt_obj_code_open(&oc, self), 0);
	MT_CHECK_EQ_U64(mt_code_cs_open(&cs, false), 0);
	MT_CHECK((in = cs_malloc(cs)) != NULL);
	while (mt_obj_code_next_sec(&oc, &scn, &sec)) {
		ngsyms = 0;
		MT_CHECK_EQ_U64(mt_obj_code_func_syms(&oc, SHT_SYMTAB, collect, NULL), 0);
		for (unsigned f = 0; f < ngsyms; f++) {
			uint64_t start = gsyms[f].v, addr = start, end;
			struct ats a = { got, 0, MAXV };
			unsigned lo = 0, hi = nwant;
			if (start < sec.addr || start >= sec.addr + sec.len)
				continue;
			/* the function's end: its next symbol, or the section's */
			end = sec.addr + sec.len;
			for (unsigned g = 0; g < ngsyms; g++)
				if (gsyms[g].v > start && gsyms[g].v < end)
					end = gsyms[g].v;
			MT_CHECK_EQ_U64(mt_code_sweep(cs, in, &sec, &addr, end, note_at, &a), 0);
			while (lo < hi) {
				unsigned mid = lo + (hi - lo) / 2;

				if (want[mid] < start)
					lo = mid + 1;
				else
					hi = mid;
			}
			for (unsigned i = 0; i < a.n; i++)
				MT_CHECK_EQ_U64(a.v[i], lo + i < nwant ? want[lo + i] : 0);
			MT_CHECK(lo + a.n >= nwant || want[lo + a.n] >= end);
			nfunc++;
		}
	}
	cs_free(in, 1);
	cs_close(&cs);
	mt_obj_code_close(&oc);
	MT_CHECK(nfunc > 20);
}

static int stop_at_9(csh cs, const cs_insn *in, uint64_t at, void *arg)
{
	return at == 0x1009 ? 9 : 0;
}

/* mov $9,%rax; syscall; ret; then a byte x86-64 has no instruction for. */
static void test_sweep_edges(void)
{
	static const uint8_t b[] = { 0x48, 0xc7, 0xc0, 0x09, 0, 0, 0, 0x0f, 0x05, 0xc3, 0x06 };
	struct mt_code_sec sec = { .b = b, .len = sizeof(b), .addr = 0x1000, .off = 0 };
	uint64_t v[8], addr;
	struct ats a = { v, 0, 8 };
	cs_insn *in = NULL;
	csh cs = 0;

	MT_CHECK_EQ_U64(mt_code_cs_open(&cs, true), 0);
	MT_CHECK((in = cs_malloc(cs)) != NULL);
	addr = 0x1000;
	MT_CHECK_EQ_U64(mt_code_sweep(cs, in, &sec, &addr, 0x1007, NULL, NULL), 0);
	MT_CHECK_EQ_U64(addr, 0x1007);   /* a boundary */
	addr = 0x1000;
	MT_CHECK_EQ_U64(mt_code_sweep(cs, in, &sec, &addr, 0x1003, NULL, NULL), 0);
	MT_CHECK_EQ_U64(addr, 0x1007);   /* inside the mov: passed */
	addr = 0x1000;
	MT_CHECK_EQ_U64(mt_code_sweep(cs, in, &sec, &addr, 0x100b, note_at, &a), (uint64_t)-EILSEQ);
	MT_CHECK_EQ_U64(addr, 0x100a);
	MT_CHECK_EQ_U64(a.n, 3);
	MT_CHECK_EQ_U64(v[0], 0x1000);
	MT_CHECK_EQ_U64(v[1], 0x1007);
	MT_CHECK_EQ_U64(v[2], 0x1009);
	addr = 0x1000;
	MT_CHECK_EQ_U64(mt_code_sweep(cs, in, &sec, &addr, 0x100a, stop_at_9, NULL), 9);
	addr = 0x0fff;
	MT_CHECK_EQ_U64(mt_code_sweep(cs, in, &sec, &addr, 0x1007, NULL, NULL), (uint64_t)-ERANGE);
	addr = 0x100c;
	MT_CHECK_EQ_U64(mt_code_sweep(cs, in, &sec, &addr, 0x100d, NULL, NULL), (uint64_t)-ERANGE);
	/* an instruction must end within the bytes given */
	sec.len = 5;
	addr = 0x1000;
	MT_CHECK_EQ_U64(mt_code_sweep(cs, in, &sec, &addr, 0x1005, NULL, NULL), (uint64_t)-EILSEQ);
	cs_free(in, 1);
	cs_close(&cs);
}

static void test_open_errors(void)
{
	char tmp[] = "/tmp/mt_obj_code_XXXXXX";
	struct mt_obj_code oc;
	int fd = mkstemp(tmp);

	MT_CHECK(fd >= 0);
	MT_CHECK(write(fd, "not an object\n", 14) == 14);
	close(fd);
	MT_CHECK_EQ_U64(mt_obj_code_open(&oc, tmp), (uint64_t)-ENOEXEC);
	unlink(tmp);
	MT_CHECK_EQ_U64(mt_obj_code_open(&oc, "/nonexistent/lib.so"), (uint64_t)-ENOENT);
}

int main(void)
{
	if (paths()) {
		printf("  skip: no libc.so.6 or /proc/self/exe\n");
		return 77;
	}
	MT_RUN(test_sections);
	MT_RUN(test_eh_starts);
	MT_RUN(test_func_syms);
	MT_RUN(test_lookup);
	MT_RUN(test_sweep_objdump);
	MT_RUN(test_sweep_edges);
	MT_RUN(test_open_errors);
	return mt_test_done();
}
