// SPDX-License-Identifier: BSD-2-Clause
/*
 * The built-in wrapper list. Each entry is a function whose only job is to
 * call the allocator for its caller (possibly with a check or a header), so
 * the caller is where the memory is wanted. Functions that allocate for
 * their own purpose (fopen, a hash table's resize) are not listed: their
 * allocations belong to them.
 */
#include <fnmatch.h>
#include <string.h>

#include "sym/mt_demangle.h"
#include "sym/mt_wrap.h"

static const char *const mt_wrap_builtin[] = {
	/* C++: operator new, and the standard library's containers and
	 * strings, which allocate for whoever called them */
	"operator new", "operator new\\[\\]", "std::*", "__gnu_cxx::*",
	"__cxa_allocate_exception", "__cxa_allocate_dependent_exception",
	/* Rust */
	"__rust_alloc", "__rust_alloc_zeroed", "__rust_realloc",
	"__rdl_alloc", "__rdl_alloc_zeroed", "__rdl_realloc",
	"__rg_alloc", "__rg_alloc_zeroed", "__rg_realloc",
	"alloc::alloc::*", "alloc::raw_vec::*",
	/* the C library's copying functions */
	"strdup", "strndup", "__strdup", "__strndup", "wcsdup",
	"asprintf", "vasprintf", "__asprintf", "__vasprintf_internal", "__asprintf_chk",
	"__vasprintf_chk",
	/* gnulib, GNU programs, git, gawk */
	"xmalloc", "xcalloc", "xrealloc", "xzalloc", "xstrdup", "xstrndup", "xmemdup",
	"ximemdup", "ximemdup0", "xnmalloc", "xnrealloc", "x2realloc", "x2nrealloc",
	"xcharalloc", "ximalloc", "xicalloc", "xirealloc", "xireallocarray",
	"xreallocarray", "xizalloc", "xmallocz", "xmallocz_gently", "do_xmalloc",
	"emalloc_real", "erealloc_real", "ezalloc_real", "emalloc", "erealloc",
	/* redis */
	"zmalloc*", "zcalloc*", "zrealloc*", "ztrymalloc*", "ztrycalloc*",
	"ztryrealloc*", "zstrdup", "zmalloc_no_tcache", "extend_to_usable",
	/* GLib */
	"g_malloc", "g_malloc0", "g_realloc", "g_try_malloc", "g_try_malloc0",
	"g_try_realloc", "g_malloc_n", "g_malloc0_n", "g_realloc_n", "g_try_malloc_n",
	"g_try_malloc0_n", "g_try_realloc_n", "g_strdup", "g_strndup", "g_memdup",
	"g_memdup2", "g_slice_alloc", "g_slice_alloc0", "g_aligned_alloc",
	"g_aligned_alloc0",
	/* SQLite */
	"sqlite3Malloc", "sqlite3MallocZero", "sqlite3_malloc", "sqlite3_malloc64",
	"sqlite3_realloc", "sqlite3_realloc64", "sqlite3Realloc", "sqlite3MemMalloc",
	"sqlite3MemRealloc", "mallocWithAlarm", "sqlite3DbMallocRaw",
	"sqlite3DbMallocRawNN", "sqlite3DbMallocZero", "sqlite3DbRealloc",
	"sqlite3DbReallocOrFree", "dbMallocRawFinish", "dbReallocFinish",
	"sqlite3DbStrDup", "sqlite3DbStrNDup",
	/* CPython */
	"PyMem_RawMalloc", "PyMem_RawCalloc", "PyMem_RawRealloc", "PyMem_Malloc",
	"PyMem_Calloc", "PyMem_Realloc", "PyObject_Malloc", "PyObject_Calloc",
	"PyObject_Realloc", "_PyMem_RawMalloc", "_PyMem_RawCalloc", "_PyMem_RawRealloc",
	"_PyObject_Malloc", "_PyObject_Calloc", "_PyObject_Realloc", "_PyMem_Debug*",
	"pymalloc_alloc", "pymalloc_realloc", "allocate_from_new_pool", "new_arena",
	"_PyObject_ArenaMalloc", "_PyMem_RawStrdup", "_PyMem_Strdup",
	/* libmtpool (pool/): a pool's miss creates the object with malloc for
	 * whoever called get; the static names are its slow path's */
	"mtpool_get", "mtpool_get_inline", "mtpool_block_get", "mtpool_ml_get",
	"mtpool__*", "obj_create", "get_slow", "debug_get",
	/* OpenSSL, nginx, APR, talloc */
	"CRYPTO_malloc", "CRYPTO_zalloc", "CRYPTO_realloc", "CRYPTO_clear_realloc",
	"CRYPTO_strdup", "CRYPTO_strndup", "CRYPTO_memdup", "ngx_alloc", "ngx_calloc",
	"ngx_memalign", "ngx_palloc_large", "ngx_palloc_block",
};

static bool mt_wrap_any(const char *base, const char *const *pat, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (pat[i] && fnmatch(pat[i], base, 0) == 0)
			return true;
	return false;
}

/* A template function's demangled name starts with its return type
 * ("void std::vector<int>::_M_realloc_insert<int const&>"): the name is
 * what follows the last space outside <> and (), unless that space is
 * operator's own ("operator new"). */
static const char *mt_wrap_name(const char *base)
{
	const char *name = base;
	int depth = 0;

	for (const char *p = base; *p; p++) {
		if (*p == '<' || *p == '(')
			depth++;
		else if ((*p == '>' || *p == ')') && depth > 0)
			depth--;
		else if (*p == ' ' && !depth && !(p - base >= 8 && !strncmp(p - 8, "operator", 8)))
			name = p + 1;
	}
	return name;
}

bool mt_wrap_match(const char *sym, const char *const *user, size_t n)
{
	char buf[512];
	const char *base;

	if (!sym || !sym[0])
		return false;
	base = mt_wrap_name(mt_demangle_base(sym, buf, sizeof(buf)));
	/* the exact name as given too: a user may pass a full signature */
	return mt_wrap_any(base, mt_wrap_builtin,
			   sizeof(mt_wrap_builtin) / sizeof(mt_wrap_builtin[0])) ||
	       mt_wrap_any(base, user, n) || mt_wrap_any(sym, user, n);
}
