// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sym/mt_elf.h"
#include "target/mt_launch.h"
#include "target/mt_proc.h"
#include "util/mt_log.h"
#include "util/mt_grow.h"

static void child_exec(char *const argv[], int err_fd)
{
	sigset_t none;
	int e;

	/* memtrace blocks signals for its signalfd; the program must not
	 * inherit that mask. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) == 0)
		execvp(argv[0], argv);
	e = errno;
	if (write(err_fd, &e, sizeof(e)) < 0)
		_exit(126);
	_exit(127);
}

int mt_launch_start(char *const argv[], struct mt_launch *l)
{
	int fds[2], child_errno = 0, status, err;
	ssize_t n;
	pid_t pid;

	memset(l, 0, sizeof(*l));
	if (pipe2(fds, O_CLOEXEC)) {
		err = -errno;
		mt_err("cannot create a pipe: %s", strerror(errno));
		return err;
	}
	pid = fork();
	if (pid < 0) {
		err = -errno;
		mt_err("cannot fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return err;
	}
	if (pid == 0)
		child_exec(argv, fds[1]);
	close(fds[1]);
	/* A successful execve closes the pipe (O_CLOEXEC) with nothing written. */
	do
		n = read(fds[0], &child_errno, sizeof(child_errno));
	while (n < 0 && errno == EINTR);
	close(fds[0]);
	if (n == sizeof(child_errno)) {
		waitpid(pid, &status, 0);
		mt_err("cannot execute '%s': %s", argv[0], strerror(child_errno));
		return -child_errno;
	}
	if (waitpid(pid, &status, 0) != pid || !WIFSTOPPED(status)) {
		mt_err("'%s' did not stop after execve", argv[0]);
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		return -ECHILD;
	}
	l->pid = pid;
	if (ptrace(PTRACE_SETOPTIONS, pid, NULL,
		   PTRACE_O_TRACEEXIT | PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL)) {
		err = -errno;
		mt_err("cannot set ptrace options on PID %d: %s", (int)pid, strerror(errno));
		mt_launch_kill(l);
		return err;
	}
	return 0;
}

/* Ask the program's own dynamic loader which objects it will load, in
 * order (what ldd prints): it maps them without running any of their code.
 * Paths are as the target sees them (inside its root). */
static int loader_list(pid_t target, const char *interp, const char *exe, char ***paths, size_t *n,
		       size_t *cap)
{
	char root[64];

	char line[PATH_MAX + 64];
	int fds[2], status, err = 0;
	FILE *f;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		err = -errno;
		close(fds[0]);
		close(fds[1]);
		return err;
	}
	snprintf(root, sizeof(root), "/proc/%d/root", (int)target);
	if (pid == 0) {
		/* In the target's root when it is not ours (a chroot, a
		 * container): its loader, its library paths, its view of every
		 * file. chroot needs root; an unprivileged memtrace fails later,
		 * with its own message. */
		struct stat ours, theirs;

		dup2(fds[1], STDOUT_FILENO);
		if (stat("/", &ours) == 0 && stat(root, &theirs) == 0 &&
		    (ours.st_dev != theirs.st_dev || ours.st_ino != theirs.st_ino) &&
		    (chroot(root) || chdir("/")))
			_exit(127);
		execl(interp, interp, "--list", exe, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	f = fdopen(fds[0], "r");
	if (!f) {
		err = -errno;
		close(fds[0]);
	}
	while (f && fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "=> "), *end;

		p = p ? p + 3 : line + strspn(line, " \t");
		if (*p != '/')
			continue;
		end = p + strcspn(p, " \t\n");
		*end = '\0';
		if ((err = MT_GROW(*paths, *n + 1, *cap)))
			break;
		(*paths)[*n] = strdup(p);
		if (!(*paths)[*n]) {
			err = -ENOMEM;
			break;
		}
		(*n)++;
	}
	if (f)
		fclose(f);
	if (waitpid(pid, &status, 0) == pid && !err && (!WIFEXITED(status) || WEXITSTATUS(status)))
		err = -ENOEXEC;
	return err;
}

int mt_launch_load_order(const struct mt_launch *l, char ***paths, size_t *n)
{
	return mt_launch_image_order(l->pid, paths, n);
}

int mt_launch_image_order(pid_t pid, char ***paths, size_t *n)
{
	char link[64], exe[PATH_MAX], root[PATH_MAX], interp[PATH_MAX];
	const char *inner;
	size_t cap = 8, rlen;
	ssize_t len;
	int err;

	*n = 0;
	*paths = calloc(cap, sizeof(char *));
	if (!*paths)
		return -ENOMEM;
	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	len = readlink(link, exe, sizeof(exe) - 1);
	if (len < 0) {
		err = -errno;
		goto fail;
	}
	exe[len] = '\0';
	/* /proc/PID/exe reads as our path to it: inside a chroot, the
	 * target's own path is what follows its root. */
	inner = exe;
	snprintf(link, sizeof(link), "/proc/%d/root", (int)pid);
	len = readlink(link, root, sizeof(root) - 1);
	if (len > 1) {
		root[len] = '\0';
		rlen = (size_t)len;
		if (strncmp(exe, root, rlen) == 0 && exe[rlen] == '/')
			inner = exe + rlen;
	}
	(*paths)[(*n)++] = strdup(inner);
	if (!(*paths)[0]) {
		err = -ENOMEM;
		goto fail;
	}
	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	err = mt_elf_interp(link, interp, sizeof(interp));
	if (err == -ENOENT)
		return 0;  /* static: the executable is the allocator */
	if (!err)
		err = loader_list(pid, interp, inner, paths, n, &cap);
	if (err) {
		mt_err("cannot list the libraries of '%s': %s", exe, strerror(-err));
		goto fail;
	}
	return 0;
fail:
	mt_launch_free_order(*paths, *n);
	*paths = NULL;
	*n = 0;
	return err;
}

void mt_launch_free_order(char **paths, size_t n)
{
	size_t i;

	for (i = 0; paths && i < n; i++)
		free(paths[i]);
	free(paths);
}

int mt_launch_resume(struct mt_launch *l)
{
	if (ptrace(PTRACE_CONT, l->pid, NULL, NULL)) {
		mt_err("cannot resume PID %d: %s", (int)l->pid, strerror(errno));
		return -errno;
	}
	l->state = MT_LAUNCH_RUNNING;
	return 0;
}

int mt_launch_follow(struct mt_launch *l, bool follow, mt_launch_hook_fn hook, void *arg)
{
	long opts = PTRACE_O_TRACEEXIT | PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL;

	l->follow = follow;
	l->hook = hook;
	l->hook_arg = arg;
	/* Threads are traced only with -f: a fork made by a thread is reported
	 * only when that thread is a tracee; each thread then costs two stops
	 * (creation, exit). */
	if (follow || l->count_forks)
		opts |= PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK;
	if (follow)
		opts |= PTRACE_O_TRACECLONE;
	if (ptrace(PTRACE_SETOPTIONS, l->pid, NULL, (void *)opts)) {
		int err = -errno;

		mt_err("cannot set ptrace options on PID %d: %s", (int)l->pid, strerror(errno));
		return err;
	}
	return 0;
}

static struct mt_tracee *tracee(struct mt_launch *l, pid_t pid, bool create)
{
	unsigned i;

	for (i = 0; i < l->ntracees; i++)
		if (l->tracees[i].pid == pid)
			return &l->tracees[i];
	if (!create)
		return NULL;
	if (l->ntracees == l->cap) {
		unsigned cap = l->cap ? l->cap * 2 : 8;
		struct mt_tracee *t = realloc(l->tracees, cap * sizeof(*t));

		if (!t)
			return NULL;
		l->tracees = t;
		l->cap = cap;
	}
	l->tracees[l->ntracees] = (struct mt_tracee){ .pid = pid };
	return &l->tracees[l->ntracees++];
}

static void tracee_drop(struct mt_launch *l, pid_t pid)
{
	struct mt_tracee *t = tracee(l, pid, false);

	if (t)
		*t = l->tracees[--l->ntracees];
}

static int hook(struct mt_launch *l, enum mt_launch_ev_kind kind, pid_t pid, pid_t child, int code)
{
	struct mt_launch_ev ev = { .kind = kind, .pid = pid, .child = child, .code = code };

	return l->hook ? l->hook(l->hook_arg, &ev) : 0;
}

/* A fork, vfork or clone event of parent: the child is auto-attached and
 * stops before its first instruction. Wait for that stop, then trace it
 * (-f, the hook agrees) or let it go, counted. */
static void on_new_child(struct mt_launch *l, pid_t parent)
{
	unsigned long msg = 0;
	struct mt_tracee *t;
	pid_t child;
	int status;

	if (ptrace(PTRACE_GETEVENTMSG, parent, NULL, &msg) || !msg)
		return;
	child = (pid_t)msg;
	t = tracee(l, child, true);
	if (!t) {
		ptrace(PTRACE_DETACH, child, NULL, NULL);
		l->untraced_children++;
		return;
	}
	t->known = true;
	while (!t->seen_stop) {
		pid_t r = waitpid(child, &status, __WALL);

		if (r < 0 && errno == EINTR)
			continue;
		if (r != child || !WIFSTOPPED(status)) {
			tracee_drop(l, child);   /* gone before it ran */
			return;
		}
		t->seen_stop = true;
	}
	t->proc = mt_proc_status_pid(child, "Tgid") == child;
	if (!t->proc) {
		ptrace(PTRACE_CONT, child, NULL, NULL);   /* a thread of a traced process */
		return;
	}
	if (!l->follow || hook(l, MT_LEV_FORK, parent, child, 0)) {
		ptrace(PTRACE_DETACH, child, NULL, NULL);
		tracee_drop(l, child);
		l->untraced_children++;
		return;
	}
	ptrace(PTRACE_CONT, child, NULL, NULL);
}

/* One wait status of pid, other than the first process's exit. */
static void on_status(struct mt_launch *l, pid_t pid, int status)
{
	struct mt_tracee *t = pid == l->pid ? NULL : tracee(l, pid, true);
	int event = status >> 16, sig = 0;
	siginfo_t si;

	if (WIFEXITED(status) || WIFSIGNALED(status)) {
		if (t && t->proc)
			hook(l, MT_LEV_EXITED, pid, 0,
			     WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
		tracee_drop(l, pid);
		return;
	}
	if (!WIFSTOPPED(status))
		return;
	if (t && !t->known && !t->seen_stop) {
		/* A new child's first stop, reaped before its parent's event:
		 * it stays stopped until that event is handled. */
		t->seen_stop = true;
		return;
	}
	switch (event) {
	case PTRACE_EVENT_FORK:
	case PTRACE_EVENT_VFORK:
	case PTRACE_EVENT_CLONE:
		on_new_child(l, pid);
		break;
	case PTRACE_EVENT_EXEC: {
		/* after an exec by another thread, pid is already the tgid;
		 * the event message is the thread that exec'd */
		unsigned long former = (unsigned long)pid;

		ptrace(PTRACE_GETEVENTMSG, pid, NULL, &former);
		if (pid == l->pid || (t && t->proc))
			hook(l, MT_LEV_EXEC, pid, (pid_t)former, 0);
		break;
	}
	case PTRACE_EVENT_EXIT:
		if (t && t->proc)
			hook(l, MT_LEV_EXITING, pid, 0, 0);
		break;
	case 0:
		/* A signal-delivery stop forwards its signal; a group-stop
		 * carries none. */
		if (ptrace(PTRACE_GETSIGINFO, pid, NULL, &si) == 0)
			sig = WSTOPSIG(status);
		break;
	default:
		break;
	}
	ptrace(PTRACE_CONT, pid, NULL, (void *)(long)sig);
}

enum mt_launch_state mt_launch_poll(struct mt_launch *l, bool block)
{
	while (l->state != MT_LAUNCH_EXITED) {
		struct rusage ru;
		int status;
		pid_t r;

		/* Blocking waits are for the first process only (its exit); the
		 * others' events are taken as they come. */
		r = wait4(block ? l->pid : -1, &status, __WALL | (block ? 0 : WNOHANG), &ru);
		if (r == 0 || (r < 0 && errno == EINTR))
			break;
		if (r < 0) {
			/* Someone else reaped it: nothing more can be known. */
			l->state = MT_LAUNCH_EXITED;
			l->exit_code = 1;
			break;
		}
		if (r != l->pid) {
			on_status(l, r, status);
			continue;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			l->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
			l->state = MT_LAUNCH_EXITED;
			l->rusage = ru;
			l->has_rusage = true;
			break;
		}
		if (WIFSTOPPED(status) && status >> 8 == (SIGTRAP | (PTRACE_EVENT_EXIT << 8))) {
			struct mt_proc_status st;

			if (mt_proc_status(l->pid, &st) == 0 && st.vm_hwm)
				l->hwm_bytes = st.vm_hwm;
			l->state = MT_LAUNCH_EXITING;
			break;
		}
		on_status(l, r, status);
	}
	return l->state;
}

unsigned mt_launch_threads(const struct mt_launch *l)
{
	pid_t pid = l->pid;
	char path[64], line[128];
	unsigned n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Threads: %u", &n) == 1)
			break;
	fclose(f);
	return n;
}


/* Stop tid (a tracee), then let it go untraced. */
static void detach_one(pid_t tid)
{
	int status;

	syscall(SYS_tkill, tid, SIGSTOP);
	while (waitpid(tid, &status, __WALL) == tid) {
		if (!WIFSTOPPED(status))
			return;
		if (WSTOPSIG(status) == SIGSTOP)
			break;
		ptrace(PTRACE_CONT, tid, NULL, (void *)(long)WSTOPSIG(status));
	}
	ptrace(PTRACE_DETACH, tid, NULL, NULL);
}

void mt_launch_detach(struct mt_launch *l)
{
	unsigned i;

	/* -f: traced children still running run on untraced */
	for (i = 0; i < l->ntracees; i++)
		detach_one(l->tracees[i].pid);
	for (i = 0; i < l->ntracees; i++)
		if (l->tracees[i].proc)
			kill(l->tracees[i].pid, SIGCONT);
	l->ntracees = 0;
	free(l->tracees);
	l->tracees = NULL;
	l->cap = 0;
	if (l->state == MT_LAUNCH_EXITED)
		return;
	/* PTRACE_DETACH needs a stopped tracee: stop it, then let it go. */
	if (l->state != MT_LAUNCH_EXITING) {
		int status;

		kill(l->pid, SIGSTOP);
		while (waitpid(l->pid, &status, __WALL) == l->pid) {
			if (!WIFSTOPPED(status)) {
				l->state = MT_LAUNCH_EXITED;
				l->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
				return;
			}
			if (WSTOPSIG(status) == SIGSTOP)
				break;
			ptrace(PTRACE_CONT, l->pid, NULL, (void *)(long)WSTOPSIG(status));
		}
		ptrace(PTRACE_DETACH, l->pid, NULL, NULL);
		kill(l->pid, SIGCONT);
		return;
	}
	ptrace(PTRACE_DETACH, l->pid, NULL, NULL);
}

void mt_launch_kill(struct mt_launch *l)
{
	int status;

	for (unsigned i = 0; i < l->ntracees; i++)
		if (l->tracees[i].proc)
			kill(l->tracees[i].pid, SIGKILL);
	free(l->tracees);
	l->tracees = NULL;
	l->ntracees = l->cap = 0;
	if (l->pid <= 0 || l->state == MT_LAUNCH_EXITED)
		return;
	kill(l->pid, SIGKILL);
	/* A killed tracee still stops in PTRACE_EVENT_EXIT: let it finish. */
	while (waitpid(l->pid, &status, __WALL) == l->pid && !WIFEXITED(status) && !WIFSIGNALED(status))
		ptrace(PTRACE_CONT, l->pid, NULL, NULL);
	l->state = MT_LAUNCH_EXITED;
}
