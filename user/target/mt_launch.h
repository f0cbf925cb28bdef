/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Launch mode: fork, PTRACE_TRACEME, exec. The child stops right after
 * execve, before its first instruction, so every probe is attached before
 * CMD runs; it stops again at exit, while its memory and mappings still
 * exist, so memtrace takes its last look before the process is torn down.
 * Between the two the child runs freely: memtrace only forwards signals.
 */
#ifndef MT_LAUNCH_H
#define MT_LAUNCH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum mt_launch_state {
	MT_LAUNCH_RUNNING = 0,
	MT_LAUNCH_EXITING,   /* stopped in exit: look, then mt_launch_resume() */
	MT_LAUNCH_EXITED,    /* reaped; exit_code is set */
};

struct mt_launch {
	pid_t pid;
	int exit_code;       /* the child's status, 128 + signal when killed */
	enum mt_launch_state state;
};

/* Start argv[0] (searched in PATH) stopped after execve. Prints one line
 * and returns -errno when it cannot be executed. */
int mt_launch_start(char *const argv[], struct mt_launch *l);

/* The objects the child will load, in symbol-resolution order: the
 * executable, then (for a dynamic one) what its loader lists. */
int mt_launch_load_order(const struct mt_launch *l, char ***paths, size_t *n);
void mt_launch_free_order(char **paths, size_t n);

/* Let the stopped child run. */
int mt_launch_resume(struct mt_launch *l);

/* Reap pending wait statuses, forwarding signals; returns the new state. */
enum mt_launch_state mt_launch_poll(struct mt_launch *l, bool block);

/* Threads of the child (/proc/PID/status), 0 when unreadable. */
unsigned mt_launch_threads(const struct mt_launch *l);

/* End tracing without ending the child: it runs on, untraced. */
void mt_launch_detach(struct mt_launch *l);

/* Kill and reap a child that must not run (setup failed). */
void mt_launch_kill(struct mt_launch *l);

#endif /* MT_LAUNCH_H */
