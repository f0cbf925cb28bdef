// SPDX-License-Identifier: BSD-2-Clause
/*
 * A workload for memtrace --reachability: live blocks of every class, each
 * class from its own function so tests check the split per function.
 *
 *   wl_reach [--attach] GLOBAL STACK CHAIN ORPHAN
 *
 *   wl_from_global  GLOBAL x malloc(40), kept in a global array (every
 *                   other one through an interior pointer, +16)  reachable
 *   wl_from_stack   STACK x malloc(56), kept in an array in main's frame,
 *                   which stays live: main ends in exit() (launch mode)
 *                   or blocks in sigsuspend (attach mode)        reachable
 *   wl_chain_root   1 x malloc(24) when CHAIN > 0, kept in a global, the
 *                   head of                                      reachable
 *   wl_chain_node   CHAIN x malloc(72), a list reachable only through
 *                   heap blocks                                  reachable
 *   wl_orphan       ORPHAN x malloc(88) linked in a ring, then every
 *                   pointer to them overwritten                   lost
 * 88 = 16k + 8: glibc's next chunk header (and, for the last block, its
 * top pointer) lands inside the block's last 8 bytes; it must not count.
 *
 * With --attach it prints "ready", waits for SIGUSR1, allocates, prints
 * "done" and blocks until SIGTERM. Output uses write(2): stdio would
 * allocate a buffer that is itself reachable.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))
#define MAXN 4096

/* volatile: stores the compiler would otherwise drop, never being read */
static void *volatile global_keep[MAXN];
static void *volatile chain_root;

struct node {
	struct node *next;
	long payload[8];
};

static void say(const char *s)
{
	if (write(STDOUT_FILENO, s, strlen(s)) < 0)
		_exit(3);
}

NOINLINE static void wl_from_global(long n)
{
	for (long i = 0; i < n; i++) {
		char *p = malloc(40);

		memset(p, 0, 40);
		global_keep[i] = i % 2 ? p + 16 : p;
	}
}

NOINLINE static void wl_from_stack(void *volatile *keep, long n)
{
	for (long i = 0; i < n; i++) {
		keep[i] = malloc(56);
		memset(keep[i], 0, 56);
	}
}

NOINLINE static struct node *wl_chain_node(struct node *next)
{
	struct node *p = malloc(72);

	memset(p, 0, 72);
	p->next = next;
	return p;
}

NOINLINE static void **wl_chain_root(void)
{
	void **p = malloc(24);

	memset(p, 0, 24);
	return p;
}

NOINLINE static void wl_chain(long n)
{
	struct node *head = NULL;
	void **root;

	if (!n)
		return;
	root = wl_chain_root();
	for (long i = 0; i < n; i++)
		head = wl_chain_node(head);
	root[0] = head;
	chain_root = root;
}

/* A ring of blocks pointing at each other: heap pointers alone must not
 * make them reachable. */
NOINLINE static void wl_orphan(long n)
{
	struct node *first = NULL, *prev = NULL;

	for (long i = 0; i < n; i++) {
		struct node *p = malloc(88);

		memset(p, 0x5a, 88);
		p->next = NULL;
		if (prev)
			prev->next = p;
		else
			first = p;
		prev = p;
	}
	if (prev)
		prev->next = first;
	/* Leaving this frame drops the last pointers (first, prev, p). */
}

/* Overwrite the stack below main's frame, where wl_orphan's locals were:
 * a conservative scan reads only from the stack pointer up, but a later
 * call's unwritten slots could still hold them. */
NOINLINE static void wl_scrub(void)
{
	volatile char pad[4096];

	memset((char *)pad, 0, sizeof(pad));
}

static volatile sig_atomic_t go, stop;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		go = 1;
	else
		stop = 1;
}

static long arg(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*end || !*s || v < 0 || v > MAXN)
		_exit(2);
	return v;
}

int main(int argc, char **argv)
{
	void *volatile stack_keep[MAXN];
	int attach = argc > 1 && strcmp(argv[1], "--attach") == 0;
	long g, s, c, o;
	sigset_t none;

	if (argc - attach != 5) {
		say("usage: wl_reach [--attach] GLOBAL STACK CHAIN ORPHAN\n");
		return 2;
	}
	g = arg(argv[1 + attach]);
	s = arg(argv[2 + attach]);
	c = arg(argv[3 + attach]);
	o = arg(argv[4 + attach]);
	sigemptyset(&none);
	if (attach) {
		signal(SIGUSR1, on_signal);
		signal(SIGTERM, on_signal);
		say("ready\n");
		while (!go)
			sigsuspend(&none);
	}
	wl_orphan(o);
	wl_from_global(g);
	wl_from_stack(stack_keep, s);
	wl_chain(c);
	wl_scrub();
	if (attach) {
		say("done\n");
		while (!stop)
			sigsuspend(&none);
	}
	/* exit(), not return: main's frame (stack_keep) stays live until the
	 * process is torn down, where memtrace looks. */
	exit(0);
}
