// SPDX-License-Identifier: BSD-2-Clause
/*
 * mt_server: a small request/response server, the example of the pooled vs
 * unpooled loop (`make demo-compare`, docs/compare.md). One process, one
 * thread: a client loop writes HTTP-like requests into a socketpair, the
 * server side reads them on a connection, parses each into a request
 * object, formats a header block and a growable response body, writes
 * the response back, and the client reads and checks it. Bounded and
 * deterministic: REQUESTS requests (default 20000), a new connection
 * every 64.
 *
 * Unpooled (MTPOOL_DISABLE=1): every per-request object is a malloc and a
 * free, the body grows by realloc — the code as it was before pooling.
 * Pooled (the default): the three sites memtrace's advice names for the
 * unpooled run get libmtpool pools: requests and header blocks object
 * pools, response bodies a buffer pool. Connections (one per 64 requests,
 * too rare to matter) stay on malloc in both.
 *
 * At exit it prints each pool's mtpool_*_stats() (pool NAME gets G puts P
 * hits H misses M live L cached C reserved R) and destroys the pools, unless
 * --keep-pools (a program that exits with its pools' idle memory held).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mtpool.h"

#define REQ_PER_CONN 64
#define HDR_BLOCK 256
#define BODY_INITIAL 1024

struct conn {
	int fd;
	unsigned id, served;
	char in[512];            /* the request being read */
	size_t in_len;
};

struct request {
	unsigned conn, seq, item;
	char method[8];
	char path[96];
	char host[64];
	char agent[96];
	int keep_alive;
};

static bool pooled;
static mtpool *req_pool, *hdr_pool;
static mtpool_bufpool *body_pool;

static void die(const char *what)
{
	fprintf(stderr, "mt_server: %s: %s\n", what, strerror(errno));
	exit(1);
}

static struct conn *open_conn(int fd, unsigned id)
{
	struct conn *c = malloc(sizeof(*c));

	if (!c)
		die("malloc");
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->id = id;
	return c;
}

static void close_conn(struct conn *c)
{
	free(c);
}

/* Read one request (ends with an empty line) into c->in. */
static void read_request(struct conn *c)
{
	c->in_len = 0;
	while (c->in_len < 4 || memcmp(c->in + c->in_len - 4, "\r\n\r\n", 4) != 0) {
		ssize_t n = read(c->fd, c->in + c->in_len, sizeof(c->in) - 1 - c->in_len);

		if (n <= 0)
			die("read request");
		c->in_len += (size_t)n;
	}
	c->in[c->in_len] = 0;
}

static struct request *parse_request(const struct conn *c)
{
	struct request *r = pooled ? mtpool_get(req_pool) : malloc(sizeof(*r));
	const char *line;

	if (!r)
		die("request");
	memset(r, 0, sizeof(*r));
	r->conn = c->id;
	if (sscanf(c->in, "%7s %95s", r->method, r->path) != 2)
		die("parse");
	line = strstr(c->in, "Host: ");
	if (line)
		sscanf(line + 6, "%63s", r->host);
	line = strstr(c->in, "User-Agent: ");
	if (line)
		sscanf(line + 12, "%95s", r->agent);
	sscanf(r->path, "/item/%u", &r->item);
	r->keep_alive = strstr(c->in, "Connection: close") == NULL;
	return r;
}

static void free_request(struct request *r)
{
	if (pooled)
		mtpool_put(req_pool, r);
	else
		free(r);
}

static char *format_headers(const struct request *r, size_t body_len)
{
	char *h = pooled ? mtpool_get(hdr_pool) : malloc(HDR_BLOCK);

	if (!h)
		die("headers");
	snprintf(h, HDR_BLOCK,
		 "HTTP/1.1 200 OK\r\nServer: mt_server\r\nContent-Type: text/plain\r\n"
		 "Content-Length: %zu\r\nX-Item: %u\r\nConnection: %s\r\n\r\n",
		 body_len, r->item, r->keep_alive ? "keep-alive" : "close");
	return h;
}

static void free_headers(char *h)
{
	if (pooled)
		mtpool_put(hdr_pool, h);
	else
		free(h);
}

/* The response body: a growable buffer (realloc doubling unpooled; a pooled
 * buffer keeps its capacity across requests). */
struct body {
	mtpool_buf *buf;          /* pooled */
	char *data;               /* unpooled */
	size_t len, cap;
};

static void body_append(struct body *b, const char *s, size_t n)
{
	if (pooled) {
		if (mtpool_buf_append(b->buf, s, n))
			die("append");
		b->len += n;
		return;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : BODY_INITIAL;
		char *d;

		while (cap < b->len + n + 1)
			cap *= 2;
		d = realloc(b->data, cap);
		if (!d)
			die("realloc");
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = 0;
}

static void build_body(const struct request *r, struct body *b)
{
	unsigned rows = 8 + r->item % 40, i;
	char line[96];

	memset(b, 0, sizeof(*b));
	if (pooled) {
		b->buf = mtpool_buf_acquire(body_pool);
		if (!b->buf)
			die("body");
	}
	for (i = 0; i < rows; i++) {
		int n = snprintf(line, sizeof(line), "item %u row %u: %s %s from %s\n", r->item, i,
				 r->method, r->path, r->agent);

		body_append(b, line, (size_t)n);
	}
}

static const char *body_data(const struct body *b)
{
	return pooled ? mtpool_buf_data(b->buf) : b->data;
}

static void free_body(struct body *b)
{
	if (pooled)
		mtpool_buf_release(b->buf);
	else
		free(b->data);
}

static void write_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = write(fd, s, n);

		if (w <= 0)
			die("write");
		s += w;
		n -= (size_t)w;
	}
}

/* The server's side of one request. */
static void handle_request(struct conn *c)
{
	struct request *r;
	struct body body;
	char *hdr;

	read_request(c);
	r = parse_request(c);
	build_body(r, &body);
	hdr = format_headers(r, body.len);
	write_all(c->fd, hdr, strlen(hdr));
	write_all(c->fd, body_data(&body), body.len);
	c->served++;
	free_headers(hdr);
	free_body(&body);
	free_request(r);
}

/* The client's side: send request i, then read and check its response. */
static void send_request(int fd, unsigned i)
{
	char req[256];
	int n = snprintf(req, sizeof(req),
			 "GET /item/%u HTTP/1.1\r\nHost: example.test\r\nUser-Agent: mt-client/1.0\r\n"
			 "Accept: */*\r\n%s\r\n", i, (i + 1) % REQ_PER_CONN ? "" : "Connection: close\r\n");

	write_all(fd, req, (size_t)n);
}

static size_t recv_response(int fd)
{
	char buf[4096];
	size_t got = 0, want = 0, hdr_end = 0;

	for (;;) {
		ssize_t n = read(fd, buf + got, sizeof(buf) - 1 - got);
		char *e, *cl;

		if (n <= 0)
			die("read response");
		got += (size_t)n;
		buf[got] = 0;
		if (!hdr_end && (e = strstr(buf, "\r\n\r\n")) != NULL) {
			hdr_end = (size_t)(e - buf) + 4;
			cl = strstr(buf, "Content-Length: ");
			if (!cl)
				die("response");
			want = hdr_end + strtoul(cl + 16, NULL, 10);
		}
		if (hdr_end && got >= want)
			return got;
	}
}

static void pool_line(const char *name, const struct mtpool_stats *st)
{
	fprintf(stderr, "mt_server: pool %s gets %llu puts %llu hits %llu misses %llu live %llu "
		"cached %llu reserved %llu\n", name, (unsigned long long)st->gets,
		(unsigned long long)st->puts, (unsigned long long)st->hits,
		(unsigned long long)st->misses, (unsigned long long)st->live,
		(unsigned long long)st->cached, (unsigned long long)st->bytes_reserved);
}

int main(int argc, char **argv)
{
	unsigned long requests = 20000, i;
	bool keep_pools = false;
	unsigned long long bytes = 0;
	int sv[2] = { -1, -1 }, a;
	struct conn *c = NULL;

	for (a = 1; a < argc; a++) {
		if (strcmp(argv[a], "--keep-pools") == 0)
			keep_pools = true;
		else if ((requests = strtoul(argv[a], NULL, 10)) == 0) {
			fprintf(stderr, "usage: mt_server [REQUESTS] [--keep-pools]\n");
			return 2;
		}
	}
	pooled = !mtpool_disabled();
	if (pooled) {
		struct mtpool_opts ro = { .name = "requests" }, ho = { .name = "headers" };
		struct mtpool_bufpool_opts bo = { .name = "bodies", .initial_cap = BODY_INITIAL };

		req_pool = mtpool_create(sizeof(struct request), &ro);
		hdr_pool = mtpool_create(HDR_BLOCK, &ho);
		body_pool = mtpool_bufpool_create(&bo);
		if (!req_pool || !hdr_pool || !body_pool)
			die("pools");
	}
	for (i = 0; i < requests; i++) {
		if (!c) {
			if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
				die("socketpair");
			c = open_conn(sv[0], (unsigned)(i / REQ_PER_CONN));
		}
		send_request(sv[1], (unsigned)i);
		handle_request(c);
		bytes += recv_response(sv[1]);
		if (c->served == REQ_PER_CONN) {
			close_conn(c);
			c = NULL;
			close(sv[0]);
			close(sv[1]);
		}
	}
	if (c) {
		close_conn(c);
		close(sv[0]);
		close(sv[1]);
	}
	fprintf(stderr, "mt_server: %s, %lu requests, %llu response bytes\n",
		pooled ? "pooled" : "unpooled (MTPOOL_DISABLE=1)", requests, bytes);
	if (pooled) {
		struct mtpool_stats st;

		mtpool_stats(req_pool, &st);
		pool_line("requests", &st);
		mtpool_stats(hdr_pool, &st);
		pool_line("headers", &st);
		mtpool_bufpool_stats(body_pool, &st);
		pool_line("bodies", &st);
		if (!keep_pools) {
			mtpool_destroy(req_pool);
			mtpool_destroy(hdr_pool);
			mtpool_bufpool_destroy(body_pool);
		}
	}
	return 0;
}
