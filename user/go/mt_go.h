/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The session's view of a Go target: detection (automatic, --go forces,
 * --no-go refuses), the mallocgc tracer attached for the PID, and the
 * "go" section of the final report.
 */
#ifndef MT_GO_H
#define MT_GO_H

#include <stdbool.h>
#include <stdint.h>

struct mt_report;
struct mt_go;

enum mt_go_mode { MT_GO_AUTO, MT_GO_ON, MT_GO_OFF };

struct mt_go_opts {
	int pid;
	const char *exe;        /* the file the target runs */
	enum mt_go_mode mode;
	unsigned top;           /* --top, 0: default */
};

/* Detect and, for a Go target (or with MT_GO_ON), attach the mallocgc
 * tracer, counting from mt_go_enable. *out is NULL when the target is not
 * Go or mode is MT_GO_OFF. A Go target memtrace cannot trace (older Go,
 * unknown layout) is said so on stderr and still gets a "go" section with
 * the reason. 0 or -errno (printed): with MT_GO_ON, a target that is not
 * Go is an error. */
int mt_go_open(const struct mt_go_opts *o, struct mt_go **out);
/* A pure Go program (statically linked, no cgo): no C allocator to probe. */
bool mt_go_pure(const struct mt_go *g);
void mt_go_enable(struct mt_go *g, uint64_t now_ns);
/* The end of tracing: the probe is removed (counters stay readable). */
void mt_go_stop(struct mt_go *g, uint64_t now_ns);
/* Read the counters and add the "go" section to r; its data lives in g
 * until the next call or mt_go_free. 0 or -errno (printed). */
/* The GC view's parts ("gc", "memstats") of the section; gc may be NULL. */
struct mt_go_gc;
void mt_go_set_gc(struct mt_go *g, const struct mt_go_gc *gc);
/* Survival samples of g's allocations, decided by gc's view (at attach,
 * once both are open; either may be NULL). */
void mt_go_link_gc(struct mt_go *g, struct mt_go_gc *gc);
int mt_go_report(struct mt_go *g, struct mt_report *r, uint64_t now_ns);
/* The mallocgc tracer, for the session to wire into the overhead budget
 * (mt_go_alloc_arm...); NULL when the heap is not traced. */
struct mt_go_alloc;
struct mt_go_alloc *mt_go_allocator(const struct mt_go *g);
/* The budget armed the mallocgc probe traced_fraction of the time (0:
 * always, exact): the next mt_go_report's counts are estimates from it. */
void mt_go_set_estimate(struct mt_go *g, double traced_fraction);
void mt_go_free(struct mt_go *g);    /* accepts NULL; detaches */
/* Kernel memory of the Go allocation tracer's BPF maps (memlock), rings in
 * *ring_bytes; accepts NULL. */
uint64_t mt_go_map_bytes(const struct mt_go *g, uint64_t *ring_bytes);

#endif /* MT_GO_H */
