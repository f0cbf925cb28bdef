// SPDX-License-Identifier: BSD-2-Clause
/*
 * Workload of t42-vm-pertarget.sh: page faults taken by a thread created
 * after the tracer attached, and by a forked child.
 *
 *   wl_vm_threads GO_FILE THREAD_PAGES CHILD_PAGES
 *
 * Waits until GO_FILE exists (the tracer is attached), then a new thread
 * maps THREAD_PAGES pages in wl_vmt_thread_map and writes each once
 * (THREAD_PAGES not-present faults), then a forked child maps
 * CHILD_PAGES pages in wl_vmt_child_map and writes each. Prints
 * "wl_vm_threads: done" to stderr, then sleeps until killed.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static long page;

/* mmap and write each page once: one fault a page. */
static int touch_pages(long n)
{
	char *p = mmap(NULL, n * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return -1;
	for (long i = 0; i < n; i++)
		p[i * page] = 1;
	return 0;
}

__attribute__((noinline)) int wl_vmt_thread_map(long n) { return touch_pages(n); }
__attribute__((noinline)) int wl_vmt_child_map(long n) { return touch_pages(n); }

static void *thread_main(void *arg)
{
	return (void *)(long)wl_vmt_thread_map((long)arg);
}

int main(int argc, char **argv)
{
	long tpages, cpages;
	pthread_t th;
	void *ret;
	pid_t child;
	int status;

	if (argc != 4 || (tpages = atol(argv[2])) <= 0 || (cpages = atol(argv[3])) <= 0) {
		fprintf(stderr, "usage: wl_vm_threads GO_FILE THREAD_PAGES CHILD_PAGES\n");
		return 2;
	}
	page = sysconf(_SC_PAGESIZE);
	while (access(argv[1], F_OK) != 0)
		usleep(10000);
	if (pthread_create(&th, NULL, thread_main, (void *)tpages) || pthread_join(th, &ret) || ret) {
		fprintf(stderr, "wl_vm_threads: thread failed\n");
		return 1;
	}
	child = fork();
	if (child == 0)
		_exit(wl_vmt_child_map(cpages) ? 1 : 0);
	if (child < 0 || waitpid(child, &status, 0) != child || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		fprintf(stderr, "wl_vm_threads: child failed\n");
		return 1;
	}
	fprintf(stderr, "wl_vm_threads: done\n");
	for (;;)
		pause();
}
