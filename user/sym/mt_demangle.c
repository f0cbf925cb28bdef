// SPDX-License-Identifier: BSD-2-Clause
/*
 * libiberty's cplus_demangle with DMGL_AUTO detects the scheme itself:
 * Itanium C++ ("_Z..."), Rust legacy (C++-shaped, with a "17h<hash>E"
 * tail it drops) and Rust v0 ("_R..."). Its demanglers carry a linking
 * exception to the LGPL, so the static libiberty.a is fine here.
 */
#include <stdlib.h>
#include <string.h>
#include <libiberty/demangle.h>

#include "sym/mt_demangle.h"

bool mt_demangle_is_mangled(const char *sym)
{
	return sym && sym[0] == '_' && (sym[1] == 'Z' || sym[1] == 'R');
}

char *mt_demangle(const char *sym)
{
	if (!mt_demangle_is_mangled(sym))
		return NULL;
	return cplus_demangle(sym, DMGL_PARAMS | DMGL_ANSI | DMGL_AUTO);
}

const char *mt_demangle_base(const char *sym, char *buf, size_t size)
{
	const char *src = sym ? sym : "";
	char *d = NULL;
	size_t n;

	if (!size)
		return buf;
	/* without DMGL_PARAMS: no parameter list, and clone suffixes go */
	if (mt_demangle_is_mangled(src))
		d = cplus_demangle(src, DMGL_ANSI | DMGL_AUTO);
	if (d) {
		src = d;
		n = strlen(src);
	} else {
		/* a C name: cut GCC's clone suffixes at the first '.' after
		 * the first character */
		const char *dot = src[0] ? strchr(src + 1, '.') : NULL;

		n = dot ? (size_t)(dot - src) : strlen(src);
	}
	if (n >= size)
		n = size - 1;
	memcpy(buf, src, n);
	buf[n] = '\0';
	free(d);
	return buf;
}
