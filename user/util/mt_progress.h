/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * One progress line on stderr for the long steps (building unwind tables,
 * symbolizing thousands of stacks, the reachability scan): redrawn in
 * place ("\r" and erase-line), at most every MT_PROGRESS_MS, and erased
 * when the step ends, so the text that follows starts on a clean line.
 * Off unless the caller enabled it (stderr is a terminal and --no-tty was
 * not given): a log or a pipe then gets nothing extra. mt_log erases a
 * shown line before it prints, so messages never land mid-line.
 * Cost when off: one branch per step; when on, a clock read per step and a
 * write(2) at most every MT_PROGRESS_MS.
 */
#ifndef MT_PROGRESS_H
#define MT_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

#define MT_PROGRESS_MS 100

struct mt_progress {
	const char *what;         /* "building unwind tables" */
	const char *unit;         /* "modules" */
	uint64_t done, total;     /* total 0: unknown, shown as a count */
	uint64_t next_ns;         /* next redraw no earlier than this */
	bool active;
};

/* Turn the line on or off for the whole process (off by default). A
 * full-screen view (the live view) turns it off while it owns the screen. */
void mt_progress_enable(bool on);
bool mt_progress_enabled(void);

/* Start a step of total units; the line is drawn at once. */
void mt_progress_begin(struct mt_progress *p, const char *what, const char *unit, uint64_t total);
/* done more units; total may grow (work found on the way). */
void mt_progress_step(struct mt_progress *p, uint64_t done);
void mt_progress_add_total(struct mt_progress *p, uint64_t more);
/* Erase the line: the step is over. Accepts a step never begun. */
void mt_progress_end(struct mt_progress *p);

/* Erase a shown line before other output to stderr (mt_log calls it). */
void mt_progress_clear(void);

#endif /* MT_PROGRESS_H */
