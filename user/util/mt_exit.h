/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * memtrace's exit statuses, one table for every command (README.md, "Exit
 * status"). In launch mode memtrace exits with the program's own status
 * unless one of these applies; a report write error outranks everything,
 * since a zero or the program's status would claim a report exists.
 */
#ifndef MT_EXIT_H
#define MT_EXIT_H

enum {
	MT_EXIT_ERROR = 1,   /* not traced (bad PID, attach failed), unreadable input */
	MT_EXIT_USAGE = 2,   /* bad options */
	MT_EXIT_LEAK = 3,    /* --fail-on-leak: over the limit */
	MT_EXIT_WRITE = 4,   /* traced, but a report could not be written */
};

#endif /* MT_EXIT_H */
