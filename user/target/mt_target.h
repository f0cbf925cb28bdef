/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The traced process: validated once, then watched through a pidfd so its
 * exit is seen at once and a recycled PID is never mistaken for it.
 */
#ifndef MT_TARGET_H
#define MT_TARGET_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct mt_target {
	pid_t pid;
	int pidfd;                 /* readable once the process has exited */
	uint64_t start_time;       /* /proc/PID/stat field 22, in clock ticks */
	char comm[32];
	char exe[PATH_MAX];        /* the file it runs (/proc/PID/exe: symlinks resolved) */
	char path[PATH_MAX];       /* the path it was started as; exe when unknown */
};

/* Validate pid as a traceable user process and fill t. Prints one line
 * and returns -errno (-ESRCH: no such process or a zombie, -EINVAL: a
 * kernel thread or memtrace itself). */
int mt_target_open(pid_t pid, struct mt_target *t);

/* Refresh comm, exe and path (after execve in launch mode). */
int mt_target_reload(struct mt_target *t);

/* The same process is still running (not exited, PID not reused). */
bool mt_target_alive(const struct mt_target *t);

/* After a step failed: the process is not exiting. A process in exit has
 * dropped its memory (its maps and exe unreadable) before it becomes a
 * zombie, and looks alive in between: wait up to wait_ms for its pidfd to
 * say so before blaming the step. */
bool mt_target_alive_after_error(const struct mt_target *t, int wait_ms);

void mt_target_close(struct mt_target *t);

#endif /* MT_TARGET_H */
