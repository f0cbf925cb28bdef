/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The metrics endpoint: an HTTP server (libmicrohttpd, one internal thread)
 * that answers GET /metrics with the last snapshot published.
 *
 * Threading: the session loop renders the exposition text itself, in its
 * own thread, and publishes it by swapping buffers under a mutex (a pointer
 * swap: the loop never waits for a scrape beyond that). The server thread
 * copies the current snapshot into each response under the same mutex and
 * reads nothing else of memtrace, so the aggregator stays single-threaded.
 *
 * Memory is bounded for runs of days: two snapshot buffers (each as large
 * as the largest exposition so far), at most MT_SERVE_MAX_CONN connections
 * of MT_SERVE_CONN_MEM bytes each, idle connections closed after
 * MT_SERVE_TIMEOUT_S.
 */
#ifndef MT_SERVE_H
#define MT_SERVE_H

#include <stddef.h>
#include "util/mt_prom.h"

#define MT_SERVE_MAX_CONN 16
#define MT_SERVE_CONN_MEM (32u << 10)
#define MT_SERVE_TIMEOUT_S 10

struct mt_serve;

/* Parse "ADDR:PORT" (IPv4, or [IPv6]:PORT; PORT 0 picks a free one).
 * 0, or -EINVAL after one line naming the bad part. */
int mt_serve_parse(const char *listen, void *sockaddr_storage, size_t *len);

/* Bind and start serving (503 until the first publish). 0, or -errno after
 * one "memtrace: cannot listen on ..." line. Start it after signals are
 * blocked: its thread inherits the mask, so SIGINT reaches the signalfd. */
int mt_serve_start(const char *listen, struct mt_serve **out);

/* "http://ADDR:PORT/metrics" with the port actually bound. */
const char *mt_serve_url(const struct mt_serve *s);

/* Publish p's text: swapped with the served buffer, so p comes back holding
 * the previous snapshot's buffer (reset, ready for the next render). A p
 * with an error is not published. */
void mt_serve_publish(struct mt_serve *s, struct mt_prom *p);

/* Stops the thread, closes the socket, frees s; accepts NULL. */
void mt_serve_stop(struct mt_serve *s);

#endif /* MT_SERVE_H */
