// SPDX-License-Identifier: BSD-2-Clause
/*
 * An LD_PRELOAD interposer that counts the allocator calls a program makes,
 * the truth memtrace's "calls" are checked against (tests/e2e). It sees
 * every call that goes through symbol resolution: the program's own, and
 * those libc, libstdc++ or ld.so make through their PLT on the program's
 * behalf (strdup, fopen, pthread_create's TLS block). It cannot see calls
 * an allocator makes of itself directly (glibc's thread teardown freeing
 * its cache): memtrace reports those apart, as internal_calls.
 *
 * Only the outermost call of a thread counts (libc's reallocarray calling
 * realloc through the PLT is one reallocarray), the rule memtrace applies.
 * At exit the counts go to $MT_COUNT_OUT.PID, one "name count" per line.
 * Calls made while the real functions are being looked up are served from
 * a static buffer and not counted (libc never sees them either).
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { K_MALLOC, K_CALLOC, K_REALLOC, K_REALLOCARRAY, K_FREE, K_POSIX_MEMALIGN, K_MEMALIGN,
       K_ALIGNED_ALLOC, K_VALLOC, K_PVALLOC, K_COUNT };
static const char *const names[K_COUNT] = {
	"malloc", "calloc", "realloc", "reallocarray", "free",
	"posix_memalign", "memalign", "aligned_alloc", "valloc", "pvalloc",
};
static _Atomic unsigned long counts[K_COUNT];
static void *real[K_COUNT];
static __thread int depth;
static __thread int resolving;

/* Bump allocator for dlsym's own needs while resolving. */
static char boot[8192] __attribute__((aligned(64)));
static size_t boot_used;

static int from_boot(const void *p)
{
	return (const char *)p >= boot && (const char *)p < boot + sizeof(boot);
}

static void *boot_alloc(size_t n)
{
	void *p;

	n = (n + 63) & ~(size_t)63;
	if (boot_used + n > sizeof(boot))
		return NULL;
	p = boot + boot_used;
	boot_used += n;
	return p;
}

static void *fn(int k)
{
	if (!real[k] && !resolving) {
		resolving = 1;
		real[k] = dlsym(RTLD_NEXT, names[k]);
		resolving = 0;
	}
	return real[k];
}

/* Counts the outermost call; returns whether this one is outermost. */
static int enter(int k)
{
	if (depth++ == 0) {
		atomic_fetch_add_explicit(&counts[k], 1, memory_order_relaxed);
		return 1;
	}
	return 0;
}

#define LEAVE() (depth--)

void *malloc(size_t n)
{
	void *(*f)(size_t) = fn(K_MALLOC);
	void *p;

	if (!f)
		return boot_alloc(n);
	enter(K_MALLOC);
	p = f(n);
	LEAVE();
	return p;
}

void *calloc(size_t a, size_t b)
{
	void *(*f)(size_t, size_t) = fn(K_CALLOC);
	void *p;

	if (!f)
		return boot_alloc(a * b);   /* static: already zero */
	enter(K_CALLOC);
	p = f(a, b);
	LEAVE();
	return p;
}

void free(void *p)
{
	void (*f)(void *) = fn(K_FREE);

	if (from_boot(p) || !f)
		return;
	enter(K_FREE);
	f(p);
	LEAVE();
}

void *realloc(void *p, size_t n)
{
	void *(*f)(void *, size_t) = fn(K_REALLOC);
	void *q;

	if (!f || from_boot(p))
		return NULL;   /* never happens after start-up */
	enter(K_REALLOC);
	q = f(p, n);
	LEAVE();
	return q;
}

void *reallocarray(void *p, size_t a, size_t b)
{
	void *(*f)(void *, size_t, size_t) = fn(K_REALLOCARRAY);
	void *q;

	if (!f || from_boot(p))
		return NULL;
	enter(K_REALLOCARRAY);
	q = f(p, a, b);
	LEAVE();
	return q;
}

int posix_memalign(void **out, size_t al, size_t n)
{
	int (*f)(void **, size_t, size_t) = fn(K_POSIX_MEMALIGN);
	int r;

	if (!f)
		return 12;   /* ENOMEM */
	enter(K_POSIX_MEMALIGN);
	r = f(out, al, n);
	LEAVE();
	return r;
}

#define ALIGNED(name, K)                                  \
	void *name(size_t al, size_t n)                   \
	{                                                 \
		void *(*f)(size_t, size_t) = fn(K);       \
		void *p;                                  \
		if (!f)                                   \
			return NULL;                      \
		enter(K);                                 \
		p = f(al, n);                             \
		LEAVE();                                  \
		return p;                                 \
	}
ALIGNED(memalign, K_MEMALIGN)
ALIGNED(aligned_alloc, K_ALIGNED_ALLOC)

#define PAGED(name, K)                                    \
	void *name(size_t n)                              \
	{                                                 \
		void *(*f)(size_t) = fn(K);               \
		void *p;                                  \
		if (!f)                                   \
			return NULL;                      \
		enter(K);                                 \
		p = f(n);                                 \
		LEAVE();                                  \
		return p;                                 \
	}
PAGED(valloc, K_VALLOC)
PAGED(pvalloc, K_PVALLOC)

/* Runs last among destructors of a normal exit (lowest priority runs
 * last); writes with write(2) only: no allocation of its own. */
__attribute__((destructor(101))) static void dump(void)
{
	const char *out = getenv("MT_COUNT_OUT");
	char path[4096], line[64];
	int fd, k, n;

	if (!out)
		return;
	snprintf(path, sizeof(path), "%s.%d", out, (int)getpid());
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	for (k = 0; k < K_COUNT; k++) {
		n = snprintf(line, sizeof(line), "%s %lu\n", names[k],
			     atomic_load_explicit(&counts[k], memory_order_relaxed));
		if (write(fd, line, (size_t)n) != n)
			break;
	}
	close(fd);
}
