// SPDX-License-Identifier: BSD-2-Clause
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/mt_progress.h"

static bool enabled;
static bool shown;          /* a line is on the screen */

void mt_progress_enable(bool on)
{
	if (!on)
		mt_progress_clear();
	enabled = on;
}

bool mt_progress_enabled(void)
{
	return enabled;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* One write(2): a line is never torn by stdio buffering. A failed write
 * only loses the line. */
static void put(const char *buf, size_t n)
{
	while (n) {
		ssize_t w = write(STDERR_FILENO, buf, n);

		if (w <= 0)
			return;
		buf += w;
		n -= (size_t)w;
	}
}

static void draw(struct mt_progress *p)
{
	char line[160];
	int n;

	if (p->total)
		n = snprintf(line, sizeof(line), "\r\033[Kmemtrace: %s: %llu/%llu %s", p->what,
			     (unsigned long long)p->done, (unsigned long long)p->total, p->unit);
	else
		n = snprintf(line, sizeof(line), "\r\033[Kmemtrace: %s: %llu %s", p->what,
			     (unsigned long long)p->done, p->unit);
	if (n < 0)
		return;
	put(line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
	shown = true;
	p->next_ns = now_ns() + MT_PROGRESS_MS * 1000000ull;
}

void mt_progress_begin(struct mt_progress *p, const char *what, const char *unit, uint64_t total)
{
	memset(p, 0, sizeof(*p));
	p->what = what;
	p->unit = unit;
	p->total = total;
	p->active = enabled;
	if (p->active)
		draw(p);
}

void mt_progress_step(struct mt_progress *p, uint64_t done)
{
	p->done += done;
	if (p->active && enabled && (p->done == p->total || now_ns() >= p->next_ns))
		draw(p);
}

void mt_progress_add_total(struct mt_progress *p, uint64_t more)
{
	p->total += more;
}

void mt_progress_end(struct mt_progress *p)
{
	if (p->active)
		mt_progress_clear();
	p->active = false;
}

void mt_progress_clear(void)
{
	static const char erase[] = "\r\033[K";

	if (!shown)
		return;
	put(erase, sizeof(erase) - 1);
	shown = false;
}
