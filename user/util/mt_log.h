/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Messages to the user. Errors follow git's style: lowercase, no final
 * period, what failed first, the subject quoted, the cause after:
 *   memtrace: cannot attach uprobe to 'free' in '/usr/lib/.../libc.so.6': Permission denied
 * A failing function prints exactly one such line where it knows the most
 * context and returns -errno; its callers only propagate.
 */
#ifndef MT_LOG_H
#define MT_LOG_H

#include <stdbool.h>

extern bool mt_verbose;

void mt_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void mt_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Only with -v. */
void mt_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Hold mt_err lines instead of printing them, until mt_log_release():
 * for a caller that may learn afterwards the one real cause of a failure
 * deep inside (the target exited during attach: then each step's own
 * error would be noise). print false drops them. Up to 4 KiB are held
 * (the lines past it are counted, and the count printed);
 * mt_info lines are held only by mt_log_hold_all, mt_debug never. */
void mt_log_hold(void);
/* The same for mt_info lines too: while a full-screen view owns the
 * terminal (they would flash for one frame and be gone). */
void mt_log_hold_all(void);
void mt_log_release(bool print);

#endif /* MT_LOG_H */
