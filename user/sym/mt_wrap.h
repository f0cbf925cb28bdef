/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Allocator wrappers: functions that only pass an allocation on (redis's
 * zmalloc, xmalloc, g_malloc, sqlite3Malloc, PyMem_RawMalloc, operator new,
 * strdup, ...). A site is attributed to the first frame of its stack that
 * is not one of them (report/mt_report.c); the wrappers stay in the stack.
 *
 * Names are matched on their base form (mt_demangle_base: no parameters,
 * no clone suffixes) with fnmatch(3) patterns, so "operator new" matches
 * every overload and "zmalloc*" every redis variant.
 */
#ifndef MT_WRAP_H
#define MT_WRAP_H

#include <stdbool.h>
#include <stddef.h>

/* sym (a raw or demangled symbol name) is a wrapper: in the built-in list,
 * or matching one of the n user patterns (--wrapper). NULL is not. */
bool mt_wrap_match(const char *sym, const char *const *user, size_t n);

#endif /* MT_WRAP_H */
