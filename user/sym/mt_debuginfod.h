/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * debuginfod lookups off the tracing path: a worker thread asks the servers
 * in $DEBUGINFOD_URLS (libdebuginfod, elfutils' own client, which caches
 * what it downloads and the misses) for the debug files of modules that
 * have none on disk. The symbolizer collects finished lookups when it next
 * resolves an address, so a slow or absent server delays names, never the
 * session loop; mt_debuginfod_wait bounds how long the final report waits.
 */
#ifndef MT_DEBUGINFOD_H
#define MT_DEBUGINFOD_H

#include <stdbool.h>
#include <stddef.h>

struct mt_debuginfod;

/* NULL when $DEBUGINFOD_URLS is unset or empty (errno 0), or on failure
 * (errno set). */
struct mt_debuginfod *mt_debuginfod_new(void);
/* Cancels the lookup in flight and joins the worker; accepts NULL. */
void mt_debuginfod_free(struct mt_debuginfod *d);

/* Queue a lookup for build-id id; tag comes back with its result.
 * 0 or -ENOMEM. */
int mt_debuginfod_ask(struct mt_debuginfod *d, const unsigned char *id, size_t len, void *tag);

/* Some lookup finished since the last mt_debuginfod_take (one atomic load). */
bool mt_debuginfod_ready(struct mt_debuginfod *d);

/* Hand over every finished lookup: cb(arg, tag, fd, path, err) with fd >= 0
 * and the cached file's path on success (the callee owns fd), else fd < 0
 * and err (-ENOENT: no server has it). */
typedef void (*mt_debuginfod_cb)(void *arg, void *tag, int fd, const char *path, int err);
void mt_debuginfod_take(struct mt_debuginfod *d, mt_debuginfod_cb cb, void *arg);

/* Wait until every queued lookup has finished, at most timeout_ms.
 * Returns how many are still unfinished. */
size_t mt_debuginfod_wait(struct mt_debuginfod *d, unsigned timeout_ms);

#endif /* MT_DEBUGINFOD_H */
