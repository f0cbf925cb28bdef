/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Which object provides the target's allocator, and its entry points.
 * Candidates are tried in symbol-resolution order (the executable first:
 * a statically linked or self-allocating program; then a replacement
 * allocator, then libc); the first defining malloc and free wins. Files are
 * read through /proc/PID/root so a process in a container is seen as it
 * sees itself. Functions sharing one address are one entry point.
 *
 * A replacement allocator may leave entry points to libc (tcmalloc and
 * jemalloc define no reallocarray): the program's call then lands in libc's
 * function, which calls the replacement's realloc. So each kind is probed
 * where the program's call lands first: in the chosen object when it
 * defines it, else in the first later candidate that does (objs[1..]).
 */
#ifndef MT_ALLOC_LIB_H
#define MT_ALLOC_LIB_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define MT_EP_NAME_MAX 96

struct mt_entry_point {
	char name[MT_EP_NAME_MAX];  /* "malloc", "memalign|aligned_alloc", ... */
	unsigned kind;              /* enum mt_kind of the first name */
	uint64_t file_off;          /* where the function starts in the file */
	uint64_t vaddr;
	uint64_t size;              /* symbol size, 0 when unknown */
	unsigned obj;               /* index in mt_alloc_lib.objs */
};

#define MT_ALLOC_MAX_OBJS 4

struct mt_alloc_obj {
	char path[PATH_MAX];        /* as the target sees it */
	char open_path[PATH_MAX];   /* through /proc/PID/root, for us */
};

struct mt_alloc_lib {
	char path[PATH_MAX];        /* as the target sees it */
	char open_path[PATH_MAX];   /* through /proc/PID/root, for us */
	unsigned nobjs;             /* objs[0] is path: the object providing malloc and free */
	struct mt_alloc_obj objs[MT_ALLOC_MAX_OBJS];
	uint32_t kinds;             /* 1 << enum mt_kind of every name probed */
	unsigned neps;
	struct mt_entry_point eps[16];   /* MT_MAX_EPS, asserted in mt_alloc_lib.c */
};

/* Pick the allocator object of pid. forced (--lib) overrides the search.
 * order, when not NULL, lists candidate paths in the target's load order
 * (launch mode, before the libraries are mapped); otherwise candidates come
 * from /proc/PID/maps and /proc/PID/exe. Prints one line and returns
 * -errno on failure. */
int mt_alloc_lib_find(pid_t pid, const char *forced, const char *const *order, size_t norder,
		      struct mt_alloc_lib *out);

/* Name of kind k as libc spells it. */
const char *mt_kind_name(unsigned k);

#endif /* MT_ALLOC_LIB_H */
