// SPDX-License-Identifier: BSD-2-Clause
/*
 * wl_proc: process life for the exec, fork and chroot tests, with counts
 * known in advance. Words are done in order:
 *   alloc N      N malloc calls (sizes 100 + i), kept live
 *   free         free every block kept so far (one free call each)
 *   fork ...     fork; the child does the remaining words, the parent
 *                waits for it and stops (exits 0)
 *   vfork PROG ARGS...  vfork and exec PROG in the child; the parent
 *                waits and stops
 *   exec PROG ARGS...   execv PROG with ARGS (the rest of the line)
 *   wait         wait for SIGUSR1 (a test attaches meanwhile)
 *   tfork        a second thread forks a child that exits at once; joined
 *   texec PROG ARGS...  a second thread execs PROG (the main thread waits)
 * No stdio and no other library call that allocates: every allocator call
 * the program makes is one of the words'.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_KEPT 4096

static void *kept[MAX_KEPT];
static int nkept;

static void wl_alloc(int n)
{
	for (int i = 0; i < n && nkept < MAX_KEPT; i++) {
		kept[nkept] = malloc(100 + (size_t)i);
		if (!kept[nkept])
			_exit(2);
		nkept++;
	}
}

static void wl_free_all(void)
{
	while (nkept > 0)
		free(kept[--nkept]);
}

static int wait_child(pid_t pid)
{
	int status;

	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return 3;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 4;
}

static void on_usr1(int sig)
{
	(void)sig;
}

static void wl_wait(void)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	sigset_t block, old;

	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &old);
	sigaction(SIGUSR1, &sa, NULL);
	sigdelset(&old, SIGUSR1);
	sigsuspend(&old);
	sigprocmask(SIG_UNBLOCK, &block, NULL);
}

static void *thread_fork(void *arg)
{
	pid_t pid = fork();

	(void)arg;
	if (pid == 0)
		_exit(0);
	wait_child(pid);
	return NULL;
}

/* Not allocation-free: pthread_create may allocate (glibc callocs the
 * thread's TLS vector); tests count only what the fork does. */
static void wl_tfork(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, thread_fork, NULL) == 0)
		pthread_join(t, NULL);
}

static void *thread_exec(void *arg)
{
	char **argv = arg;

	execv(argv[0], argv);
	_exit(127);
}

static int wl_texec(char **argv)
{
	pthread_t t;

	if (pthread_create(&t, NULL, thread_exec, argv))
		return 3;
	pthread_join(t, NULL);   /* never returns: the exec ends this thread */
	return 4;
}

/* vfork in a function of its own: nothing of main's lives across it. */
static int wl_vfork_exec(char **argv)
{
	pid_t pid = vfork();

	if (pid == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	return wait_child(pid);
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "alloc") == 0 && i + 1 < argc) {
			wl_alloc(atoi(argv[++i]));
		} else if (strcmp(argv[i], "texec") == 0 && i + 1 < argc) {
			return wl_texec(&argv[i + 1]);
		} else if (strcmp(argv[i], "tfork") == 0) {
			wl_tfork();
		} else if (strcmp(argv[i], "wait") == 0) {
			wl_wait();
		} else if (strcmp(argv[i], "free") == 0) {
			wl_free_all();
		} else if (strcmp(argv[i], "fork") == 0) {
			pid_t pid = fork();

			if (pid > 0)
				return wait_child(pid);
			if (pid < 0)
				return 3;
		} else if (strcmp(argv[i], "vfork") == 0 && i + 1 < argc) {
			return wl_vfork_exec(&argv[i + 1]);
		} else if (strcmp(argv[i], "exec") == 0 && i + 1 < argc) {
			execv(argv[i + 1], &argv[i + 1]);
			return 127;
		} else {
			return 2;
		}
	}
	return 0;
}
