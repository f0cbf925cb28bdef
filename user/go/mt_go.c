// SPDX-License-Identifier: BSD-2-Clause
/* The session's Go support (see mt_go.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "go/mt_go.h"
#include "go/mt_go_alloc.h"
#include "go/mt_go_detect.h"
#include "go/mt_go_elf.h"
#include "go/mt_go_gc.h"
#include "go/mt_go_heap.h"
#include "go/mt_go_pclntab.h"
#include "go/mt_go_prologue.h"
#include "go/mt_go_report.h"
#include "go/mt_go_types.h"
#include "report/mt_report.h"
#include "util/mt_log.h"
#include "util/mt_maps.h"
#include "util/mt_time.h"

struct mt_go {
	struct mt_go_info info;
	struct mt_go_pcln *pcln;
	struct mt_go_types *types;
	struct mt_go_alloc *alloc;
	const char *off;            /* why the heap is not traced */
	uint64_t bias;              /* run-time minus link-time address (PIE) */
	uint64_t start_ns, stop_ns;
	double traced_fraction;     /* the overhead budget's, 0: exact */
	bool built;
	struct mt_go_heap heap;
	struct mt_go_report rep;
};

/* runtime.mallocgc's body, after its stack check (mt_go_prologue.h): the
 * probe's place, as a file offset. */
static int probe_place(const char *exe, uint64_t entry, uint64_t end, uint64_t *off)
{
	struct mt_go_elf e;
	uint8_t code[32];
	uint64_t body;
	int err;

	err = mt_go_elf_open(exe, &e);
	if (err)
		return err;
	err = end - entry < sizeof(code) ? -ENOENT : mt_go_elf_read(&e, entry, code, sizeof(code));
	if (!err)
		err = mt_go_after_stack_check(code, sizeof(code), entry, &body);
	if (err)
		mt_err("'%s': runtime.mallocgc does not start with Go's stack check: "
		       "not probed (its calls would be counted twice on stack growth)", exe);
	else if ((err = mt_go_elf_file_off(&e, body, off)))
		mt_err("'%s': runtime.mallocgc at 0x%llx is not in the file", exe,
		       (unsigned long long)body);
	else
		mt_debug("go: runtime.mallocgc at 0x%llx, probed at 0x%llx (file offset 0x%llx)",
			 (unsigned long long)entry, (unsigned long long)body, (unsigned long long)*off);
	mt_go_elf_close(&e);
	return err;
}

struct bias_arg {
	const char *exe;
	uint64_t link_base, bias;
	bool found;
};

static int bias_line(void *arg, const struct mt_maps_ent *e)
{
	struct bias_arg *b = arg;

	if (e->off != 0 || strcmp(e->name, b->exe))
		return 0;
	b->bias = e->start - b->link_base;
	b->found = true;
	return 1;
}

/* A PIE runs where the kernel put it: the bias from its first mapping
 * (file offset 0) in /proc/PID/maps. 0 or -errno (printed). */
static int load_bias(struct mt_go *g, const struct mt_go_opts *o)
{
	struct bias_arg b = { .exe = o->exe };
	struct mt_go_elf e;
	char path[64];
	FILE *f;
	int err;

	if (!g->info.pie)
		return 0;
	err = mt_go_elf_open(o->exe, &e);
	if (err)
		return err;
	b.link_base = e.min_load;
	mt_go_elf_close(&e);
	snprintf(path, sizeof(path), "/proc/%d/maps", o->pid);
	f = fopen(path, "re");
	if (!f) {
		err = -errno;
		mt_err("cannot read '%s': %s", path, strerror(errno));
		return err;
	}
	mt_maps_read(f, bias_line, &b);
	fclose(f);
	if (!b.found) {
		mt_err("'%s' is not mapped by PID %d: cannot place the Go heap's addresses", o->exe,
		       o->pid);
		return -ENOENT;
	}
	g->bias = b.bias;
	mt_debug("go: position-independent, loaded at +0x%llx", (unsigned long long)b.bias);
	return 0;
}

/* mallocgc's RET instructions (mt_go_pcln_rets), as file offsets.
 * Returns how many (0 when none is recognised: no survival samples),
 * never an error. */
static size_t ret_places(const struct mt_go *g, const char *exe, uint64_t entry, uint64_t *offs)
{
	uint64_t at[MT_GO_MAX_RETS];
	struct mt_go_elf e;
	int i, n;

	if (mt_go_elf_open(exe, &e))
		return 0;
	n = mt_go_pcln_rets(g->pcln, &e, entry, at, MT_GO_MAX_RETS);
	for (i = 0; i < n; i++)
		if (mt_go_elf_file_off(&e, at[i], &offs[i]))
			n = 0;
	mt_go_elf_close(&e);
	n = n < 0 ? 0 : n;
	mt_debug("go: %d RET instructions of runtime.mallocgc probed for survival samples", n);
	return (size_t)n;
}

static int attach(struct mt_go *g, const struct mt_go_opts *o)
{
	uint64_t entry, end, off, rets[MT_GO_MAX_RETS];
	size_t nrets;
	int err;

	err = mt_go_pcln_open(o->exe, &g->pcln);
	if (err)
		return err;
	if (mt_go_pcln_func(g->pcln, "runtime.mallocgc", &entry, &end)) {
		mt_err("'%s': no runtime.mallocgc in the Go function table", o->exe);
		return -ENOENT;
	}
	err = load_bias(g, o);
	if (!err)
		err = mt_go_types_open(o->exe, &g->types);
	if (!err)
		err = probe_place(o->exe, entry, end, &off);
	if (err)
		return err;
	nrets = ret_places(g, o->exe, entry, rets);
	if (!nrets)
		mt_info("Go GC survival not estimated: the returns of runtime.mallocgc in '%s' "
			"were not recognised", o->exe);
	return mt_go_alloc_open(o->pid, o->exe, off, rets, nrets, &g->alloc);
}

int mt_go_open(const struct mt_go_opts *o, struct mt_go **out)
{
	struct mt_go *g;
	int err;

	*out = NULL;
	if (o->mode == MT_GO_OFF)
		return 0;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	err = mt_go_detect(o->exe, &g->info);
	if (err)
		goto fail;
	if (!g->info.is_go) {
		if (o->mode == MT_GO_ON) {
			mt_err("--go: '%s' is not a Go program", o->exe);
			err = -ENOEXEC;
			goto fail;
		}
		free(g);
		return 0;
	}
	g->rep.info = &g->info;
	g->rep.top = o->top;
	if (!g->info.known) {
		mt_err("warning: Go heap not traced: %s", g->info.why);
		g->off = g->info.why;
	} else {
		err = attach(g, o);
		if (err)
			goto fail;
		mt_debug("go: %s, %s, heap traced through runtime.mallocgc", g->info.version,
			 g->info.cgo ? "cgo (C allocator probed too)" : "pure Go");
	}
	*out = g;
	return 0;
fail:
	mt_go_free(g);
	return err;
}

bool mt_go_pure(const struct mt_go *g)
{
	return g && !g->info.cgo;
}

void mt_go_enable(struct mt_go *g, uint64_t now_ns)
{
	if (!g)
		return;
	g->start_ns = now_ns;
	if (g->alloc)
		mt_go_alloc_enable(g->alloc);
}

void mt_go_stop(struct mt_go *g, uint64_t now_ns)
{
	if (!g || g->stop_ns)
		return;
	g->stop_ns = now_ns;
	mt_go_alloc_detach(g->alloc);
}

void mt_go_link_gc(struct mt_go *g, struct mt_go_gc *gc)
{
	if (g && g->alloc)
		mt_go_gc_survival(gc, g->alloc);
}

void mt_go_set_gc(struct mt_go *g, const struct mt_go_gc *gc)
{
	if (g)
		g->rep.gc = gc;
}

int mt_go_report(struct mt_go *g, struct mt_report *r, uint64_t now_ns)
{
	uint64_t end = g->stop_ns ? g->stop_ns : now_ns;
	int err;

	if (g->built)
		mt_go_heap_release(&g->heap);
	g->built = false;
	g->rep.heap = NULL;
	g->rep.heap_off = g->off;
	if (g->alloc) {
		const char *why;

		err = mt_go_heap_build(&g->heap, g->alloc, g->pcln, g->types,
				       mt_go_gc_surv(g->rep.gc, &why), g->bias,
				       end > g->start_ns ? (double)(end - g->start_ns) / 1e9 : 0,
				       g->traced_fraction);
		if (err) {
			mt_err("cannot read the Go allocation counters: %s", strerror(-err));
			g->rep.heap_off = "the counters could not be read";
		} else {
			g->built = true;
			g->rep.heap = &g->heap;
		}
	}
	return mt_report_add_extra(r, "go", mt_go_report_json, mt_go_report_text, &g->rep);
}

struct mt_go_alloc *mt_go_allocator(const struct mt_go *g)
{
	return g ? g->alloc : NULL;
}

void mt_go_set_estimate(struct mt_go *g, double traced_fraction)
{
	if (g)
		g->traced_fraction = traced_fraction;
}

void mt_go_free(struct mt_go *g)
{
	if (!g)
		return;
	mt_go_alloc_free(g->alloc);
	if (g->built)
		mt_go_heap_release(&g->heap);
	mt_go_types_free(g->types);
	mt_go_pcln_free(g->pcln);
	free(g);
}

uint64_t mt_go_map_bytes(const struct mt_go *g, uint64_t *ring_bytes)
{
	return mt_go_alloc_map_bytes(g ? g->alloc : NULL, ring_bytes);
}
