// SPDX-License-Identifier: BSD-2-Clause
/* Unit tests of the name helpers: demangling (C++, Rust legacy and v0)
 * and the allocator wrapper matcher. The mangled names are what g++ and
 * rustc emit; the expected strings are what binutils' c++filt prints. */
#include <stdlib.h>
#include <string.h>

#include "sym/mt_demangle.h"
#include "sym/mt_wrap.h"
#include "mt_test.h"

static void check_dem(const char *sym, const char *want)
{
	char *d = mt_demangle(sym);

	MT_CHECK_STR(d, want);
	free(d);
}

static void test_demangle(void)
{
	check_dem("_Znwm", "operator new(unsigned long)");
	check_dem("_ZN4shop4fillERNS_8RegistryINS_4ItemEEEi",
		  "shop::fill(shop::Registry<shop::Item>&, int)");
	/* Rust legacy: the hash goes; v0 */
	check_dem("_ZN3std2rt10lang_start17h0123456789abcdefE", "std::rt::lang_start");
	check_dem("_RNvNtCs1234_7mycrate3foo3bar", "mycrate::foo::bar");
	/* C names and junk are left alone */
	MT_CHECK(mt_demangle("main") == NULL);
	MT_CHECK(mt_demangle("_Zjunk") == NULL);
	MT_CHECK(mt_demangle(NULL) == NULL);
}

static void test_base(void)
{
	char b[64];

	MT_CHECK_STR(mt_demangle_base("_Znwm", b, sizeof(b)), "operator new");
	MT_CHECK_STR(mt_demangle_base("_ZNSt15__new_allocatorIiE8allocateEmPKv", b, sizeof(b)),
		     "std::__new_allocator<int>::allocate");
	MT_CHECK_STR(mt_demangle_base("xmalloc.part.0", b, sizeof(b)), "xmalloc");
	MT_CHECK_STR(mt_demangle_base("arena_map_mark_used.lto_priv.0", b, sizeof(b)),
		     "arena_map_mark_used");
	MT_CHECK_STR(mt_demangle_base("abcdefgh", b, 4), "abc");   /* truncated */
}

static void test_wrap(void)
{
	static const char *const user[] = { "my_alloc*", "ns::Pool::get" };

	/* built-in: exact names, every overload, clones, globs */
	MT_CHECK(mt_wrap_match("zmalloc", NULL, 0));
	MT_CHECK(mt_wrap_match("ztrymalloc_usable_internal", NULL, 0));
	MT_CHECK(mt_wrap_match("xmalloc.part.0", NULL, 0));
	MT_CHECK(mt_wrap_match("_Znwm", NULL, 0));
	MT_CHECK(mt_wrap_match("_ZnamRKSt9nothrow_t", NULL, 0));
	MT_CHECK(mt_wrap_match("_ZNSt15__new_allocatorIiE8allocateEmPKv", NULL, 0));
	MT_CHECK(mt_wrap_match("PyObject_Malloc", NULL, 0));
	MT_CHECK(mt_wrap_match("sqlite3Malloc", NULL, 0));
	MT_CHECK(mt_wrap_match("g_malloc0", NULL, 0));
	MT_CHECK(mt_wrap_match("strdup", NULL, 0));
	/* the C++ library: also template functions, named with their
	 * return type first */
	MT_CHECK(mt_wrap_match("_ZNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEE9_M_mutateEmmPKcm",
			       NULL, 0));
	MT_CHECK(mt_wrap_match("_ZNSt6vectorIPiSaIS0_EE17_M_realloc_insertIJRKS0_EEEvN9__gnu_cxx"
			       "17__normal_iteratorIPS0_S2_EEDpOT_", NULL, 0));
	MT_CHECK(mt_wrap_match("__cxa_allocate_exception", NULL, 0));
	/* not wrappers: the program's own functions, the allocator itself,
	 * names that only start like one */
	MT_CHECK(!mt_wrap_match("main", NULL, 0));
	MT_CHECK(!mt_wrap_match("xmalloc_stats", NULL, 0));
	MT_CHECK(!mt_wrap_match("_ZN4shop4fillERNS_8RegistryINS_4ItemEEEi", NULL, 0));
	/* a template of the program's own with std:: in its arguments */
	MT_CHECK(!mt_wrap_match("_ZN4shop4makeISt6vectorIiSaIiEEEEvv", NULL, 0));
	MT_CHECK(!mt_wrap_match(NULL, NULL, 0));
	MT_CHECK(!mt_wrap_match("", NULL, 0));
	/* --wrapper patterns: on the base name */
	MT_CHECK(!mt_wrap_match("my_alloc_small", NULL, 0));
	MT_CHECK(mt_wrap_match("my_alloc_small", user, 2));
	MT_CHECK(mt_wrap_match("_ZN2ns4Pool3getEm", user, 2));
	MT_CHECK(!mt_wrap_match("_ZN2ns4Pool3putEPv", user, 2));
}

int main(void)
{
	MT_RUN(test_demangle);
	MT_RUN(test_base);
	MT_RUN(test_wrap);
	return mt_test_done();
}
