// SPDX-License-Identifier: BSD-2-Clause
/* Unit tests for the util/ helpers every layer shares: MT_GROW, the byte
 * formatter and basename, and the /proc/PID/maps parser (run on this
 * process's own maps, checked against what the kernel and libc say). */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include "util/mt_fmt.h"
#include "util/mt_grow.h"
#include "util/mt_maps.h"
#include "mt_test.h"

struct item {
	uint64_t a, b;
};

static void test_grow_appends(void)
{
	struct item *v = NULL;
	size_t n, cap = 0, caps = 0, last = 0;

	for (n = 0; n < 1000; n++) {
		MT_CHECK_EQ_U64(MT_GROW(v, n + 1, cap), 0);
		MT_CHECK(cap >= n + 1);
		if (cap != last)
			caps++;
		last = cap;
		/* grown slots are zero, kept ones intact */
		MT_CHECK_EQ_U64(v[n].a, 0);
		MT_CHECK_EQ_U64(v[n].b, 0);
		if (n)
			MT_CHECK_EQ_U64(v[n - 1].a, n - 1);
		v[n].a = n;
		v[n].b = ~n;
	}
	for (n = 0; n < 1000; n++)
		MT_CHECK(v[n].a == n && v[n].b == ~n);
	/* doubling: 16, 32, ..., 1024 */
	MT_CHECK_EQ_U64(caps, 7);
	MT_CHECK_EQ_U64(cap, 1024);
	/* no growth when there is room */
	MT_CHECK_EQ_U64(MT_GROW(v, 10, cap), 0);
	MT_CHECK_EQ_U64(cap, 1024);
	/* a jump past double goes straight to what is asked */
	MT_CHECK_EQ_U64(MT_GROW(v, 5000, cap), 0);
	MT_CHECK_EQ_U64(cap, 5000);
	MT_CHECK_EQ_U64(v[4999].a, 0);
	MT_CHECK_EQ_U64(v[999].a, 999);
	free(v);
}

/* A capacity type too small for the request fails, leaving all as it was. */
static void test_grow_limits(void)
{
	char *s = NULL;
	uint8_t cap8 = 0;
	uint16_t *w = NULL;
	size_t cap = 0, past = 256;

	MT_CHECK_EQ_U64(MT_GROW(s, 200, cap8), 0);
	MT_CHECK_EQ_U64(cap8, 200);
	MT_CHECK_EQ_U64(MT_GROW(s, 255, cap8), 0);   /* 400 does not fit: 255 */
	MT_CHECK_EQ_U64(cap8, 255);
	s[254] = 'x';
	MT_CHECK_EQ_U64(MT_GROW(s, past, cap8), -ENOMEM);
	MT_CHECK_EQ_U64(cap8, 255);
	MT_CHECK(s && s[254] == 'x');
	free(s);
	/* bytes overflow size_t: refused before realloc */
	MT_CHECK_EQ_U64(MT_GROW(w, SIZE_MAX / 2 + 1, cap), -ENOMEM);
	MT_CHECK(w == NULL && cap == 0);
}

static void test_fmt_bytes(void)
{
	char b[16];

	MT_CHECK_STR(mt_fmt_bytes(b, sizeof(b), 0), "0 B");
	MT_CHECK_STR(mt_fmt_bytes(b, sizeof(b), 1023), "1023 B");
	MT_CHECK_STR(mt_fmt_bytes(b, sizeof(b), 1024), "1.0 KiB");
	MT_CHECK_STR(mt_fmt_bytes(b, sizeof(b), 1536), "1.5 KiB");
	MT_CHECK_STR(mt_fmt_bytes(b, sizeof(b), 12ull << 20), "12.0 MiB");
	MT_CHECK_STR(mt_fmt_bytes(b, sizeof(b), 3ull << 40), "3.0 TiB");
	MT_CHECK_STR(mt_fmt_bytes(b, sizeof(b), UINT64_MAX), "16384.0 PiB");
}

static void test_basename(void)
{
	MT_CHECK_STR(mt_basename("/usr/lib/x86_64-linux-gnu/libc.so.6"), "libc.so.6");
	MT_CHECK_STR(mt_basename("libc.so.6"), "libc.so.6");
	MT_CHECK_STR(mt_basename("dir/"), "");
	MT_CHECK_STR(mt_basename(""), "");
}

static void test_maps_line(void)
{
	char l1[] = "7f1c2a400000-7f1c2a428000 r-xp 00028000 fd:01 1049 "
		    "  /usr/lib/x86_64-linux-gnu/libc.so.6 (deleted)\n";
	char l2[] = "7ffd5c1e0000-7ffd5c201000 rw-s 00000000 00:00 0 \n";
	char bad[] = "7ffd5c1e0000 rw-p 00000000 00:00 0\n";
	struct mt_maps_ent e;

	MT_CHECK_EQ_U64(mt_maps_parse_line(l1, &e), 0);
	MT_CHECK_EQ_U64(e.start, 0x7f1c2a400000);
	MT_CHECK_EQ_U64(e.end, 0x7f1c2a428000);
	MT_CHECK_EQ_U64(e.off, 0x28000);
	MT_CHECK_EQ_U64(e.dev_major, 0xfd);
	MT_CHECK_EQ_U64(e.dev_minor, 1);
	MT_CHECK_EQ_U64(e.ino, 1049);
	MT_CHECK_EQ_U64(e.prot, PROT_READ | PROT_EXEC);
	MT_CHECK(!e.shared);
	MT_CHECK_STR(e.name, "/usr/lib/x86_64-linux-gnu/libc.so.6 (deleted)");
	MT_CHECK_EQ_U64(mt_maps_parse_line(l2, &e), 0);
	MT_CHECK_EQ_U64(e.prot, PROT_READ | PROT_WRITE);
	MT_CHECK(e.shared);
	MT_CHECK_STR(e.name, "");
	MT_CHECK_EQ_U64(mt_maps_parse_line(bad, &e), -EINVAL);
}

struct find {
	uint64_t code, stack, anon;
	const char *code_name, *stack_name;
	char exe[PATH_MAX], code_seen[PATH_MAX], stack_seen[64];
	uint32_t code_prot, anon_prot;
	int lines;
};

static int on_ent(void *arg, const struct mt_maps_ent *e)
{
	struct find *f = arg;

	f->lines++;
	if (f->code >= e->start && f->code < e->end) {
		snprintf(f->code_seen, sizeof(f->code_seen), "%s", e->name);
		f->code_prot = e->prot;
	}
	if (f->stack >= e->start && f->stack < e->end)
		snprintf(f->stack_seen, sizeof(f->stack_seen), "%s", e->name);
	if (f->anon >= e->start && f->anon < e->end)
		f->anon_prot = e->prot | (e->name[0] ? 0x100 : 0);
	return 0;
}

/* This process's own maps: the code of this function is in the executable
 * (as /proc/self/exe names it), read-execute; a local is on [stack]; a
 * fresh anonymous mapping is read-only and nameless. */
static void test_maps_self(void)
{
	struct find f = { .code = (uintptr_t)&test_maps_self };
	volatile int local = 0;
	void *anon = mmap(NULL, 8192, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ssize_t len = readlink("/proc/self/exe", f.exe, sizeof(f.exe) - 1);
	FILE *maps = fopen("/proc/self/maps", "re");

	MT_CHECK(anon != MAP_FAILED && len > 0 && maps);
	f.exe[len] = '\0';
	f.stack = (uintptr_t)&local;
	f.anon = (uintptr_t)anon;
	MT_CHECK_EQ_U64(mt_maps_read(maps, on_ent, &f), 0);
	fclose(maps);
	munmap(anon, 8192);
	MT_CHECK(f.lines > 5);
	MT_CHECK_STR(f.code_seen, f.exe);
	MT_CHECK_EQ_U64(f.code_prot, PROT_READ | PROT_EXEC);
	MT_CHECK_STR(f.stack_seen, "[stack]");
	MT_CHECK_EQ_U64(f.anon_prot, PROT_READ);
}

/* A non-zero return stops the walk and is handed back. */
static int stop_at_3(void *arg, const struct mt_maps_ent *e)
{
	return ++*(int *)arg == 3 ? 42 : 0;
}

static void test_maps_stop(void)
{
	FILE *maps = fopen("/proc/self/maps", "re");
	int n = 0;

	MT_CHECK(maps);
	MT_CHECK_EQ_U64(mt_maps_read(maps, stop_at_3, &n), 42);
	fclose(maps);
	MT_CHECK_EQ_U64(n, 3);
}

int main(void)
{
	MT_RUN(test_grow_appends);
	MT_RUN(test_grow_limits);
	MT_RUN(test_fmt_bytes);
	MT_RUN(test_basename);
	MT_RUN(test_maps_line);
	MT_RUN(test_maps_self);
	MT_RUN(test_maps_stop);
	return mt_test_done();
}
