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
#include <sys/resource.h>
#include <sys/types.h>

enum mt_launch_state {
	MT_LAUNCH_RUNNING = 0,
	MT_LAUNCH_EXITING,   /* stopped in exit: look, then mt_launch_resume() */
	MT_LAUNCH_EXITED,    /* reaped; exit_code is set */
};

/* Process life the session must act on while the process is stopped
 * (it runs on when the hook returns): an exec (probe the new image before
 * it runs), a new child with -f (attach before it runs), a traced child's
 * exit stop (last look) and its end. */
enum mt_launch_ev_kind {
	MT_LEV_EXEC = 1,     /* pid stopped after execve: a new image */
	MT_LEV_FORK,         /* pid created child (fork, vfork, clone); both stopped */
	MT_LEV_EXITING,      /* child pid stopped in its exit: mappings still there */
	MT_LEV_EXITED,       /* child pid reaped */
};

struct mt_launch_ev {
	enum mt_launch_ev_kind kind;
	pid_t pid;
	pid_t child;         /* MT_LEV_FORK: the child; MT_LEV_EXEC: the thread that exec'd */
	int code;            /* MT_LEV_EXITED: status, 128 + signal */
};

/* Returns 0, or -errno to detach what the event names (a child that
 * cannot be traced runs on untraced). */
typedef int (*mt_launch_hook_fn)(void *arg, const struct mt_launch_ev *ev);

struct mt_launch {
	pid_t pid;
	int exit_code;       /* the child's status, 128 + signal when killed */
	/* Its resource use (CPU, peak RSS, faults), from the wait4 that reaped
	 * it; has_rusage false when it was not reaped here. Costs nothing: the
	 * kernel fills it at the reap anyway (memtrace compare reads it). */
	struct rusage rusage;
	bool has_rusage;
	/* Peak RSS of its last image (VmHWM at its exit stop; 0 unknown):
	 * ru_maxrss would also count memtrace's own RSS, inherited at fork. */
	uint64_t hwm_bytes;
	enum mt_launch_state state;
	/* Set by the caller after mt_launch_start. */
	bool follow;         /* -f: children are traced (else only counted) */
	bool count_forks;    /* without -f: count children at fork stops (when
	                      * nothing cheaper counts them) */
	mt_launch_hook_fn hook;
	void *hook_arg;
	/* Children created by a traced process and not traced (without -f:
	 * every one; with -f: those the hook refused). */
	unsigned untraced_children;
	/* Traced processes other than pid (-f), and stops of processes seen
	 * before the fork event that names them. */
	unsigned ntracees, cap;
	struct mt_tracee {
		pid_t pid;
		bool seen_stop;  /* its first stop was reaped */
		bool known;      /* named by a fork/clone event */
		bool proc;       /* a process (else a thread of one) */
	} *tracees;
};

/* Start argv[0] (searched in PATH) stopped after execve. Prints one line
 * and returns -errno when it cannot be executed. */
int mt_launch_start(char *const argv[], struct mt_launch *l);

/* The objects the child will load, in symbol-resolution order: the
 * executable, then (for a dynamic one) what its loader lists. */
int mt_launch_load_order(const struct mt_launch *l, char ***paths, size_t *n);
/* The same for any process stopped right after execve. */
int mt_launch_image_order(pid_t pid, char ***paths, size_t *n);
void mt_launch_free_order(char **paths, size_t n);

/* Follow process life: hook gets every event (may be NULL); with follow,
 * children are traced (threads too, so their forks are seen); else, with
 * l->count_forks, each child of the main thread is let go at its first stop
 * and counted. Call before the first resume. */
int mt_launch_follow(struct mt_launch *l, bool follow, mt_launch_hook_fn hook, void *arg);

/* Let the stopped child run. */
int mt_launch_resume(struct mt_launch *l);

/* Reap pending wait statuses, forwarding signals and calling the hook for
 * process-life events; returns the state of pid (the first process: its
 * exit ends tracing; traced children still running are detached then). */
enum mt_launch_state mt_launch_poll(struct mt_launch *l, bool block);

/* Threads of the child (/proc/PID/status), 0 when unreadable. */
unsigned mt_launch_threads(const struct mt_launch *l);

/* End tracing without ending the child (and traced descendants): they run
 * on, untraced. */
void mt_launch_detach(struct mt_launch *l);

/* Kill and reap a child that must not run (setup failed). */
void mt_launch_kill(struct mt_launch *l);

#endif /* MT_LAUNCH_H */
