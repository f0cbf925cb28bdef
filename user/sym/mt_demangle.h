/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Demangling of C++ (Itanium ABI) and Rust (legacy and v0) symbol names
 * with libiberty's demangler, the one binutils and gdb use. A name that is
 * not mangled is not touched: only "_Z" and "_R" names are tried, so C
 * symbols cost one comparison.
 */
#ifndef MT_DEMANGLE_H
#define MT_DEMANGLE_H

#include <stdbool.h>
#include <stddef.h>

/* The readable name of sym, with parameter types ("ns::f(int)"), malloc'd;
 * NULL when sym is not a mangled name (or on ENOMEM). */
char *mt_demangle(const char *sym);

/* The name without parameters or compiler clone suffixes (".constprop.0",
 * ".isra.0", ".part.1", ".cold"): "operator new" for _Znwm,
 * "std::__new_allocator<int>::allocate" for its mangled name, "xmalloc"
 * for "xmalloc.part.0". Written to buf (truncated to size); returns buf. */
const char *mt_demangle_base(const char *sym, char *buf, size_t size);

/* sym looks mangled (C++ or Rust). */
bool mt_demangle_is_mangled(const char *sym);

#endif /* MT_DEMANGLE_H */
