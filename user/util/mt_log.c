// SPDX-License-Identifier: BSD-2-Clause
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/mt_log.h"
#include "util/mt_progress.h"

bool mt_verbose;

static bool held, held_info;
static char held_buf[4096];
static size_t held_len;
static unsigned long held_dropped;   /* lines that did not fit */

static void vsay(const char *fmt, va_list ap)
{
	mt_progress_clear();   /* never mid-way through a progress line */
	fputs("memtrace: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

static void hold_or_say(bool hold, const char *fmt, va_list ap)
{
	int n;

	if (!hold) {
		vsay(fmt, ap);
	} else {
		/* whole lines only, each with its '\0'; one that does not fit
		 * is counted */
		n = vsnprintf(held_buf + held_len, sizeof(held_buf) - held_len, fmt, ap);
		if (n >= 0 && (size_t)n < sizeof(held_buf) - held_len)
			held_len += (size_t)n + 1;
		else
			held_dropped++;
	}
}

void mt_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	hold_or_say(held, fmt, ap);
	va_end(ap);
}

void mt_log_hold(void)
{
	held = true;
	held_len = 0;
	held_dropped = 0;
}

void mt_log_hold_all(void)
{
	mt_log_hold();
	held_info = true;
}

void mt_log_release(bool print)
{
	size_t off = 0;

	held = held_info = false;
	if (print && held_len)
		mt_progress_clear();
	while (print && off < held_len) {
		fprintf(stderr, "memtrace: %s\n", held_buf + off);
		off += strnlen(held_buf + off, held_len - off) + 1;
	}
	if (print && held_dropped)
		fprintf(stderr, "memtrace: ... and %lu more messages (not kept)\n", held_dropped);
	held_len = 0;
	held_dropped = 0;
}

void mt_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	hold_or_say(held_info, fmt, ap);
	va_end(ap);
}

void mt_debug(const char *fmt, ...)
{
	va_list ap;

	if (!mt_verbose)
		return;
	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
}
