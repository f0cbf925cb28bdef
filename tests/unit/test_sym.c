// SPDX-License-Identifier: BSD-2-Clause
/* Unit tests for the symbolizer, run against this process and a forked
 * child of it; no root needed except for deleted files (not tested here). */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sym/mt_sym.h"
#include "mt_test.h"

/* Written by mt_sym_test_target so the compiler keeps the call a call
 * (no tail call), and the lines it spans for the line check. */
static volatile uint64_t mt_sym_test_sink;
int mt_sym_test_line_lo, mt_sym_test_line_hi;

/* noipa: no inlining, cloning or renaming (.constprop), so the symbol is
 * exactly this name */
__attribute__((noipa)) uint64_t mt_sym_test_ret(void)
{
	return (uint64_t)(uintptr_t)__builtin_return_address(0);
}

__attribute__((noipa)) uint64_t mt_sym_test_target(void)
{
	mt_sym_test_line_lo = __LINE__;
	uint64_t ra = mt_sym_test_ret();

	mt_sym_test_sink = ra;
	mt_sym_test_line_hi = __LINE__;
	return ra;
}

static const char *mt_sym_test_base(const char *p)
{
	const char *b = p ? strrchr(p, '/') : NULL;

	return b ? b + 1 : p;
}

static inline bool mt_sym_test_ends(const char *s, const char *suffix)
{
	size_t ls = s ? strlen(s) : 0, lx = strlen(suffix);

	return s && ls >= lx && !strcmp(s + ls - lx, suffix);
}

/* The file malloc and free come from: libc, or ASan's runtime when the
 * test is built with -fsanitize=address */
static bool mt_sym_test_is_malloc_lib(const char *path)
{
#ifdef __SANITIZE_ADDRESS__
	return path && strstr(path, "/libasan.so");
#else
	return mt_sym_test_ends(path, "/libc.so.6");
#endif
}

static void test_self_function_line(void)
{
	struct mt_sym *s = mt_sym_new(getpid());
	uint64_t ra = mt_sym_test_target();
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	struct mt_frame f;

	MT_CHECK(s);
	MT_CHECK(n > 0);
	exe[n] = '\0';
	MT_CHECK_EQ_U64(mt_sym_resolve(s, ra, true, &f), 0);
	MT_CHECK_EQ_U64(f.addr, ra);
	MT_CHECK_STR(f.func, "mt_sym_test_target");
	MT_CHECK_EQ_U64(f.func_off, ra - (uint64_t)(uintptr_t)&mt_sym_test_target);
	MT_CHECK_STR(f.module, exe);
	MT_CHECK_STR(mt_sym_test_base(f.file), "test_sym.c");
	MT_CHECK(f.line >= mt_sym_test_line_lo && f.line <= mt_sym_test_line_hi);

	/* the entry itself, not a return address: offset 0, and the line is
	 * the function's opening, just before the first marker */
	MT_CHECK_EQ_U64(mt_sym_resolve(s, (uintptr_t)&mt_sym_test_target, false, &f), 0);
	MT_CHECK_STR(f.func, "mt_sym_test_target");
	MT_CHECK_EQ_U64(f.func_off, 0);
	MT_CHECK(f.line >= mt_sym_test_line_lo - 3 && f.line <= mt_sym_test_line_lo);
	mt_sym_free(s);
}

/* The linker keeps p_offset == p_vaddr for the text of libc and of this
 * binary, so the file offset is the distance from the load base that
 * dladdr reports (the start of the offset-0 mapping). */
static void test_libc_malloc(void)
{
	struct mt_sym *s = mt_sym_new(getpid());
	void *(*volatile fn)(size_t) = malloc;
	uint64_t addr = (uint64_t)(uintptr_t)fn;
	struct mt_frame f;
	Dl_info info;

	MT_CHECK(s);
	MT_CHECK(dladdr((void *)(uintptr_t)addr, &info) && info.dli_fbase);
	MT_CHECK_EQ_U64(mt_sym_resolve(s, addr, false, &f), 0);
	/* libc has malloc and __libc_malloc at one address; the exported
	 * name wins */
	MT_CHECK_STR(f.func, "malloc");
	MT_CHECK_EQ_U64(f.func_off, 0);
	MT_CHECK(mt_sym_test_is_malloc_lib(f.module));
	MT_CHECK_EQ_U64(f.module_off, addr - (uint64_t)(uintptr_t)info.dli_fbase);

	/* a return address 5 bytes in: still malloc, offset from addr */
	MT_CHECK_EQ_U64(mt_sym_resolve(s, addr + 5, true, &f), 0);
	MT_CHECK_STR(f.func, "malloc");
	MT_CHECK_EQ_U64(f.func_off, 5);
	mt_sym_free(s);
}

static void test_unmapped(void)
{
	struct mt_sym *s = mt_sym_new(getpid());
	void *anon = mmap(NULL, 4096, PROT_READ | PROT_EXEC,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void *heap = malloc(64);
	uint64_t vdso = getauxval(AT_SYSINFO_EHDR);
	struct mt_frame f;

	MT_CHECK(s);
	MT_CHECK(anon != MAP_FAILED && heap);
	/* below mmap_min_addr: never mapped */
	MT_CHECK_EQ_U64(mt_sym_resolve(s, 0x1000, true, &f), -ENOENT);
	MT_CHECK(!f.module && !f.func && !f.file && f.line == 0);
	MT_CHECK_EQ_U64(f.addr, 0x1000);
	/* mapped, executable, but no file (JIT code) */
	MT_CHECK_EQ_U64(mt_sym_resolve(s, (uintptr_t)anon + 16, false, &f), -ENOENT);
	MT_CHECK(!f.module && !f.func);
	MT_CHECK_EQ_U64(mt_sym_resolve(s, (uintptr_t)heap, false, &f), -ENOENT);
	MT_CHECK(!f.module && !f.func);
	/* [vdso] is not a file: no module (a known limitation), no crash */
	if (vdso) {
		MT_CHECK_EQ_U64(mt_sym_resolve(s, vdso + 0x100, false, &f), -ENOENT);
		MT_CHECK(!f.module && !f.func);
	}
	munmap(anon, 4096);
	free(heap);
	mt_sym_free(s);
}

/* An executable mapping of a file that is not ELF: named, not symbolized. */
static void test_non_elf_mapping(void)
{
	char tmpl[] = "/tmp/mt_sym_test_XXXXXX";
	char junk[8192];
	struct mt_sym *s = NULL;
	struct mt_frame f;
	void *p = MAP_FAILED;
	int fd;

	memset(junk, 0x90, sizeof(junk));
	fd = mkstemp(tmpl);
	MT_CHECK(fd >= 0);
	if (write(fd, junk, sizeof(junk)) == (ssize_t)sizeof(junk))
		p = mmap(NULL, sizeof(junk), PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
	close(fd);
	unlink(tmpl);
	if (p == MAP_FAILED) {
		printf("  skip: cannot map %s executable\n", tmpl);
		return;
	}
	s = mt_sym_new(getpid());
	MT_CHECK(s);
	MT_CHECK_EQ_U64(mt_sym_resolve(s, (uintptr_t)p + 4097, true, &f), -ENOENT);
	MT_CHECK(!f.func && !f.file);
	MT_CHECK_STR(f.module, tmpl);
	MT_CHECK_EQ_U64(f.module_off, 4097);
	munmap(p, sizeof(junk));
	mt_sym_free(s);
}

/* A library this binary does not already link, loaded after mt_sym_new. */
static void test_refresh_dlopen(void)
{
	static const char *const libs[][2] = {
		{ "libcrypt.so.1", "crypt" },
		{ "libresolv.so.2", "ns_name_ntop" },
		{ "libz.so.1", "zlibVersion" },
	};
	struct mt_sym *s = mt_sym_new(getpid());
	struct mt_frame f;
	void *h = NULL, *fn = NULL;
	char *real = NULL;
	Dl_info info;
	size_t i;

	MT_CHECK(s);
	for (i = 0; i < sizeof(libs) / sizeof(libs[0]); i++) {
		if (dlopen(libs[i][0], RTLD_NOW | RTLD_NOLOAD))
			continue;  /* already loaded (and now referenced twice; harmless) */
		h = dlopen(libs[i][0], RTLD_NOW);
		if (h && (fn = dlsym(h, libs[i][1])))
			break;
	}
	MT_CHECK(fn);
	/* maps names the file, not the soname symlink */
	MT_CHECK(dladdr(fn, &info) && (real = realpath(info.dli_fname, NULL)));
	/* not known before the refresh ... */
	MT_CHECK_EQ_U64(mt_sym_resolve(s, (uintptr_t)fn, false, &f), -ENOENT);
	MT_CHECK(!f.module);
	MT_CHECK_EQ_U64(mt_sym_refresh(s), 0);
	/* ... known after, despite the cached miss */
	MT_CHECK_EQ_U64(mt_sym_resolve(s, (uintptr_t)fn, false, &f), 0);
	MT_CHECK_STR(f.func, libs[i][1]);
	MT_CHECK_EQ_U64(f.func_off, 0);
	MT_CHECK_STR(f.module, real);
	free(real);
	/* a second refresh adds nothing and changes nothing */
	MT_CHECK_EQ_U64(mt_sym_refresh(s), 0);
	MT_CHECK_EQ_U64(mt_sym_resolve(s, (uintptr_t)fn, false, &f), 0);
	MT_CHECK_STR(f.func, libs[i][1]);
	mt_sym_free(s);
}

/* A library whose file was deleted after loading: only
 * /proc/PID/map_files reaches it, and that needs CAP_SYS_ADMIN. */
static void test_deleted_file(void)
{
	char tmpl[] = "/tmp/mt_sym_test_XXXXXX";
	char cmd[128], *real = NULL;
	struct mt_sym *s = NULL;
	struct mt_frame f;
	void *h, *fn;
	Dl_info info;
	int fd;

	if (geteuid() != 0) {
		printf("  skip: map_files needs root\n");
		return;
	}
	/* a private copy, so it is loaded again at a new address */
	fd = mkstemp(tmpl);
	MT_CHECK(fd >= 0);
	close(fd);
	/* libz: linked through libdw, and harmless to load twice */
	fn = dlsym(RTLD_DEFAULT, "zlibVersion");
	MT_CHECK(dladdr(fn, &info) && (real = realpath(info.dli_fname, NULL)));
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", real, tmpl);
	free(real);
	MT_CHECK(system(cmd) == 0);
	h = dlopen(tmpl, RTLD_NOW | RTLD_LOCAL);
	unlink(tmpl);
	MT_CHECK(h);
	fn = dlsym(h, "zlibVersion");
	MT_CHECK(fn && fn != dlsym(RTLD_DEFAULT, "zlibVersion"));
	s = mt_sym_new(getpid());
	MT_CHECK(s);
	MT_CHECK_EQ_U64(mt_sym_resolve(s, (uintptr_t)fn + 3, true, &f), 0);
	MT_CHECK_STR(f.func, "zlibVersion");
	MT_CHECK_EQ_U64(f.func_off, 3);
	MT_CHECK_STR(f.module, tmpl);  /* without " (deleted)" */
	mt_sym_free(s);
}

/* The child is a fork: same image at the same addresses. After it is
 * reaped, /proc/PID is gone and only what mt_sym kept open can answer. */
static void test_exited_child(void)
{
	uint64_t ra = mt_sym_test_target();
	struct mt_sym *s;
	struct mt_frame f, g;
	pid_t pid;
	int status;

	pid = fork();
	MT_CHECK(pid >= 0);
	if (pid == 0) {
		pause();
		_exit(0);
	}
	s = mt_sym_new(pid);
	kill(pid, SIGKILL);
	MT_CHECK(waitpid(pid, &status, 0) == pid);
	MT_CHECK(s);
	MT_CHECK_EQ_U64(mt_sym_refresh(s), -ESRCH);
	MT_CHECK_EQ_U64(mt_sym_resolve(s, ra, true, &f), 0);
	MT_CHECK_STR(f.func, "mt_sym_test_target");
	MT_CHECK_STR(mt_sym_test_base(f.file), "test_sym.c");
	MT_CHECK(f.line >= mt_sym_test_line_lo && f.line <= mt_sym_test_line_hi);
	/* libc symbols (no DWARF) too */
	MT_CHECK_EQ_U64(mt_sym_resolve(s, (uintptr_t)&free, false, &g), 0);
	MT_CHECK_STR(g.func, "free");
	MT_CHECK(mt_sym_test_is_malloc_lib(g.module));
	mt_sym_free(s);
}

static void test_no_such_pid(void)
{
	pid_t pid = fork();
	struct mt_sym *s;

	MT_CHECK(pid >= 0);
	if (pid == 0)
		_exit(0);
	MT_CHECK(waitpid(pid, NULL, 0) == pid);
	/* a reaped child's pid, then one above any pid_max */
	errno = 0;
	s = mt_sym_new(pid);
	MT_CHECK(!s);
	MT_CHECK_EQ_U64(errno, ESRCH);
	errno = 0;
	s = mt_sym_new(INT_MAX);
	MT_CHECK(!s);
	MT_CHECK_EQ_U64(errno, ESRCH);
	errno = 0;
	s = mt_sym_new(0);
	MT_CHECK(!s);
	MT_CHECK_EQ_U64(errno, EINVAL);
	mt_sym_free(NULL);
}

static void test_zombie(void)
{
	pid_t pid = fork();
	struct mt_sym *s;
	siginfo_t si;

	MT_CHECK(pid >= 0);
	if (pid == 0)
		_exit(0);
	/* wait for the exit without reaping: a zombie's maps read empty */
	MT_CHECK(waitid(P_PID, pid, &si, WEXITED | WNOWAIT) == 0);
	errno = 0;
	s = mt_sym_new(pid);
	waitpid(pid, NULL, 0);
	MT_CHECK(!s);
	MT_CHECK_EQ_U64(errno, ESRCH);
}

static void test_cache_identical(void)
{
	struct mt_sym *s = mt_sym_new(getpid());
	uint64_t ra = mt_sym_test_target();
	struct mt_frame a, b, c;

	MT_CHECK(s);
	MT_CHECK_EQ_U64(mt_sym_resolve(s, ra, true, &a), 0);
	MT_CHECK_EQ_U64(mt_sym_resolve(s, ra, true, &b), 0);
	MT_CHECK(a.func && a.func == b.func && a.module == b.module && a.file == b.file);
	MT_CHECK(a.addr == b.addr && a.func_off == b.func_off &&
		 a.module_off == b.module_off && a.line == b.line);
	/* is_return is part of the key: the entry of a function looked up
	 * as a return address belongs to whatever precedes it */
	MT_CHECK_EQ_U64(mt_sym_resolve(s, (uintptr_t)&mt_sym_test_target, false, &c), 0);
	MT_CHECK_STR(c.func, "mt_sym_test_target");
	mt_sym_resolve(s, (uintptr_t)&mt_sym_test_target, true, &c);
	MT_CHECK(!c.func || strcmp(c.func, "mt_sym_test_target"));
	mt_sym_free(s);
}

/* 10000 distinct addresses across libc and this binary, as 1000 stacks of
 * 10 frames would give, twice (the second pass is cache hits). The bound is
 * loose for slow CI machines; a per-lookup maps read or file open would
 * still blow it. */
static void test_speed(void)
{
	struct mt_sym *s = mt_sym_new(getpid());
	uint64_t base[2] = { (uintptr_t)&malloc, (uintptr_t)&mt_sym_test_target };
	struct timespec t0, t1;
	struct mt_frame f;
	int named = 0;
	double ms;

	MT_CHECK(s);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int pass = 0; pass < 2; pass++)
		for (uint64_t i = 0; i < 10000; i++)
			named += mt_sym_resolve(s, base[i & 1] + 1 + (i >> 1) * 7, true, &f) == 0;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
	printf("  20000 resolves (10000 distinct) in %.1f ms\n", ms);
	MT_CHECK(named > 10000);
	MT_CHECK(ms < 500);
	mt_sym_free(s);
}

int main(void)
{
	MT_RUN(test_self_function_line);
	MT_RUN(test_libc_malloc);
	MT_RUN(test_unmapped);
	MT_RUN(test_non_elf_mapping);
	MT_RUN(test_refresh_dlopen);
	MT_RUN(test_deleted_file);
	MT_RUN(test_exited_child);
	MT_RUN(test_no_such_pid);
	MT_RUN(test_zombie);
	MT_RUN(test_cache_identical);
	MT_RUN(test_speed);
	return mt_test_done();
}
