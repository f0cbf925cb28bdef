// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sym/mt_elf.h"
#include "target/mt_launch.h"
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
 * order (what ldd prints): it maps them without running any of their code. */
static int loader_list(const char *interp, const char *exe, char ***paths, size_t *n, size_t *cap)
{
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
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
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
	char link[64], exe[PATH_MAX], interp[PATH_MAX];
	size_t cap = 8;
	ssize_t len;
	int err;

	*n = 0;
	*paths = calloc(cap, sizeof(char *));
	if (!*paths)
		return -ENOMEM;
	snprintf(link, sizeof(link), "/proc/%d/exe", (int)l->pid);
	len = readlink(link, exe, sizeof(exe) - 1);
	if (len < 0) {
		err = -errno;
		goto fail;
	}
	exe[len] = '\0';
	(*paths)[(*n)++] = strdup(exe);
	if (!(*paths)[0]) {
		err = -ENOMEM;
		goto fail;
	}
	err = mt_elf_interp(exe, interp, sizeof(interp));
	if (err == -ENOENT)
		return 0;  /* static: the executable is the allocator */
	if (!err)
		err = loader_list(interp, exe, paths, n, &cap);
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

enum mt_launch_state mt_launch_poll(struct mt_launch *l, bool block)
{
	while (l->state != MT_LAUNCH_EXITED) {
		int status, sig = 0;
		siginfo_t si;
		pid_t r;

		r = waitpid(l->pid, &status, __WALL | (block ? 0 : WNOHANG));
		if (r == 0 || (r < 0 && errno == EINTR))
			break;
		if (r < 0) {
			/* Someone else reaped it: nothing more can be known. */
			l->state = MT_LAUNCH_EXITED;
			l->exit_code = 1;
			break;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			l->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
			l->state = MT_LAUNCH_EXITED;
			break;
		}
		if (!WIFSTOPPED(status))
			continue;
		if (status >> 8 == (SIGTRAP | (PTRACE_EVENT_EXIT << 8))) {
			l->state = MT_LAUNCH_EXITING;
			break;
		}
		/* Other ptrace events (exec) and group-stops carry no signal to
		 * deliver; a signal-delivery stop forwards its signal. */
		if ((status >> 16) == 0 && ptrace(PTRACE_GETSIGINFO, l->pid, NULL, &si) == 0)
			sig = WSTOPSIG(status);
		ptrace(PTRACE_CONT, l->pid, NULL, (void *)(long)sig);
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


void mt_launch_detach(struct mt_launch *l)
{
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

	if (l->pid <= 0 || l->state == MT_LAUNCH_EXITED)
		return;
	kill(l->pid, SIGKILL);
	/* A killed tracee still stops in PTRACE_EVENT_EXIT: let it finish. */
	while (waitpid(l->pid, &status, __WALL) == l->pid && !WIFEXITED(status) && !WIFSIGNALED(status))
		ptrace(PTRACE_CONT, l->pid, NULL, NULL);
	l->state = MT_LAUNCH_EXITED;
}
