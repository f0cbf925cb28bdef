/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The live view: with -i and stderr a terminal, the periodic report is
 * redrawn in place like top(1) — totals, rates, RSS, lost events and the
 * top sites of a report, growing sites marked — on the terminal's
 * alternate screen, with plain ANSI escapes and termios (no curses).
 * Keys, read from stdin when it is the same terminal and memtrace runs in
 * the foreground: 's' cycles the ranking, 'q' asks to end as Ctrl-C does.
 *
 * The terminal is restored on every way out: mt_live_close, exit()
 * (atexit), and fatal or stopping signals (SIGHUP, SIGQUIT, SIGSEGV,
 * SIGBUS, SIGFPE, SIGILL, SIGABRT restore and re-raise; SIGTSTP restores,
 * stops, and takes the screen back on SIGCONT). SIGINT and SIGTERM are the
 * session's (a signalfd), which closes the view before its final report.
 * One view per process.
 */
#ifndef MT_LIVE_H
#define MT_LIVE_H

#include <stdbool.h>
#include <stdint.h>
#include "report/mt_report.h"

struct mt_live;

enum mt_live_key { MT_LIVE_KEY_NONE, MT_LIVE_KEY_SORT, MT_LIVE_KEY_QUIT };

/* Take over the terminal on fd (stderr). keys: read keys from stdin when
 * it is a terminal in the foreground. sort: the first ranking. 0 or
 * -errno (nothing changed then). */
int mt_live_open(int fd, bool keys, enum mt_report_sort sort, struct mt_live **out);

/* The fd to poll for keys, -1 when keys are not read. */
int mt_live_key_fd(const struct mt_live *lv);
/* Read what was typed: the last key that means something. 's' cycles the
 * ranking (mt_live_sort says which). */
enum mt_live_key mt_live_read_key(struct mt_live *lv);
enum mt_report_sort mt_live_sort(const struct mt_live *lv);

/* Site rows the screen has room for (at least 1). */
unsigned mt_live_rows(const struct mt_live *lv);

struct mt_live_frame {
	const struct mt_report *r;   /* sites ranked by mt_live_sort */
	struct mt_rates interval;    /* over the last frame's period */
	uint64_t rss_bytes;          /* 0: unknown */
	uint64_t vm_lost;            /* kernel-side events lost */
	/* Per site: allocation calls per second lately; whether its live
	 * bytes grow (the trend). Either may be NULL. */
	double (*rate)(void *arg, uint32_t site);
	bool (*growing)(void *arg, uint32_t site);
	void *arg;
	const char *note;            /* a line under the header, NULL for none */
};

/* Redraw the screen. 0 or -errno (a failed write: the view is then
 * useless, the caller closes it). */
int mt_live_draw(struct mt_live *lv, const struct mt_live_frame *f);

/* Give the terminal back as it was; accepts NULL. */
void mt_live_close(struct mt_live *lv);

#endif /* MT_LIVE_H */
