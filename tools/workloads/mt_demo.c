// SPDX-License-Identifier: BSD-2-Clause
/*
 * The bundled demo: a toy request handler with a planted leak, for
 * `make demo` and the README. Each request parses a line into a heap
 * request, looks up a session in a bounded cache, and builds a response
 * buffer. One in LEAK_EVERY responses forgets to free its header block in
 * format_headers(): that is the leak memtrace should find, with its stack.
 *
 *   mt_demo [SECONDS] [REQUESTS_PER_SECOND]     (default 5 s, 20000/s)
 * With SECONDS = 0 it runs until SIGINT/SIGTERM.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))
#define CACHE_SLOTS 512
#define LEAK_EVERY 10

struct request {
	char method[8];
	char path[120];
	unsigned session;
};

struct session {
	unsigned id;
	char user[56];
};

static struct session *cache[CACHE_SLOTS];
static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

NOINLINE static struct request *parse_request(unsigned n)
{
	struct request *r = malloc(sizeof(*r));

	if (!r)
		return NULL;
	snprintf(r->method, sizeof(r->method), "GET");
	snprintf(r->path, sizeof(r->path), "/items/%u", n % 977);
	r->session = n % 4093;
	return r;
}

/* A bounded cache: it fills, then replaces; not a leak. */
NOINLINE static struct session *lookup_session(unsigned id)
{
	unsigned slot = id % CACHE_SLOTS;
	struct session *s = cache[slot];

	if (s && s->id == id)
		return s;
	free(s);
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->id = id;
	snprintf(s->user, sizeof(s->user), "user-%u", id);
	cache[slot] = s;
	return s;
}

/* The planted bug: the header block is not freed on the keep-alive path. */
NOINLINE static size_t format_headers(const struct request *r, char *out, size_t len, unsigned n)
{
	char *hdr = malloc(256);
	size_t used;

	if (!hdr)
		return 0;
	used = (size_t)snprintf(hdr, 256, "HTTP/1.1 200 OK\r\nX-Path: %s\r\n", r->path);
	if (used >= len)
		used = len - 1;
	memcpy(out, hdr, used);
	if (n % LEAK_EVERY != 0)
		free(hdr);
	return used;
}

NOINLINE static char *build_response(const struct request *r, const struct session *s, unsigned n)
{
	size_t cap = 512, used;
	char *buf = malloc(cap);

	if (!buf)
		return NULL;
	used = format_headers(r, buf, cap, n);
	buf = realloc(buf, cap * 2);
	if (!buf)
		return NULL;
	snprintf(buf + used, cap * 2 - used, "\r\nhello %s\n", s->user);
	return buf;
}

NOINLINE static void handle_request(unsigned n)
{
	struct request *r = parse_request(n);
	struct session *s;
	char *resp;

	if (!r)
		return;
	s = lookup_session(r->session);
	if (s) {
		resp = build_response(r, s, n);
		free(resp);
	}
	free(r);
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 5.0;
	long rate = argc > 2 ? atol(argv[2]) : 20000;
	struct timespec start, now, tick = { 0, 1000000 };
	unsigned n = 0;

	if (rate <= 0)
		rate = 1;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (!stopping) {
		double t;

		/* about rate/1000 requests per millisecond */
		for (long i = 0; i < rate / 1000 + 1; i++)
			handle_request(n++);
		nanosleep(&tick, NULL);
		clock_gettime(CLOCK_MONOTONIC, &now);
		t = (double)(now.tv_sec - start.tv_sec) + (now.tv_nsec - start.tv_nsec) / 1e9;
		if (seconds > 0 && t >= seconds)
			break;
	}
	printf("mt_demo: handled %u requests, leaked %u header blocks of 256 B\n", n,
	       (n + LEAK_EVERY - 1) / LEAK_EVERY);
	return 0;
}
