// SPDX-License-Identifier: BSD-2-Clause
/*
 * MemStats from a Go program's memory (see mt_go_memstats.h): the runtime's
 * variables and field offsets located once in the binary's DWARF, then
 * each reading a handful of process_vm_readv calls (memstats, gcController,
 * the class sizes, allp, one mcache per P, two words per cached span).
 * A reading costs the target nothing: no stop, no probe.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <gelf.h>
#include "util/mt_log.h"
#include "util/mt_maps.h"
#include "go/mt_go_memstats.h"

#define NVARS 8
enum { V_MEMSTATS, V_GCCTL, V_ALLP, V_EMPTYSPAN, V_CLASSSIZE, V_GCPHASE, V_WORK, V_MLIMIT };
static const char *const var_names[NVARS] = {
	"runtime.memstats", "runtime.gcController", "runtime.allp",
	"runtime.emptymspan", "runtime.class_to_size", "runtime.gcphase",
	"runtime.work", NULL,
};

/* A field: offset in its struct and size, both from DWARF. */
struct fld {
	uint64_t off, size;
};

struct mt_go_rt {
	pid_t pid;
	uint64_t bias;                 /* runtime address - link address */
	uint64_t addr[NVARS];          /* runtime addresses */
	uint64_t memstats_size, gcctl_size;
	/* memstats */
	struct fld stats;              /* heapStats.stats: [n]heapStatsDelta */
	uint64_t nstats, delta_size;
	struct fld d_large_alloc, d_large_alloc_n, d_large_free, d_large_free_n;
	struct fld d_small_alloc, d_small_free, d_tiny;
	uint64_t nclasses;
	struct fld pause_total, pause_ns, pause_end, numgc, numforced, cpu_frac, last_gc;
	/* gcController */
	struct fld inuse, hfree, released, talloc, tfree, mapped, mlimit, gcpercent;
	struct fld pct_goal, sweep_trigger, triggered, marked, last_goal, live;
	/* runtime.work */
	struct fld heap0, heap1, heap2;
	/* p, mcache, mspan */
	struct fld p_mcache, mc_alloc, sp_count, sp_count_before;
	uint64_t nspanclasses;
	/* the span lookup (survival), optional */
	struct mt_go_spans spans;
	const char *spans_why;
};

/* ---- DWARF ---- */

static bool die_type(Dwarf_Die *d, Dwarf_Die *out)
{
	Dwarf_Attribute a;

	return dwarf_attr_integrate(d, DW_AT_type, &a) && dwarf_formref_die(&a, out);
}

/* Through typedefs (Go names its types; some are typedef DIEs). */
static void strip(Dwarf_Die *t)
{
	Dwarf_Die in;
	int guard = 16;

	while (guard-- > 0 && dwarf_tag(t) == DW_TAG_typedef && die_type(t, &in))
		*t = in;
}

static uint64_t die_size(Dwarf_Die *t)
{
	Dwarf_Word sz;
	Dwarf_Die s = *t;

	strip(&s);
	return dwarf_aggregate_size(&s, &sz) == 0 ? sz : 0;
}

/* The element count of an array type, 0 when unknown. */
static uint64_t array_count(Dwarf_Die *t)
{
	Dwarf_Die c;
	Dwarf_Attribute a;
	Dwarf_Word w;

	if (dwarf_tag(t) != DW_TAG_array_type || dwarf_child(t, &c) != 0)
		return 0;
	if (dwarf_attr(&c, DW_AT_count, &a) && dwarf_formudata(&a, &w) == 0)
		return w;
	if (dwarf_attr(&c, DW_AT_upper_bound, &a) && dwarf_formudata(&a, &w) == 0)
		return w + 1;
	return 0;
}

/* Resolve a dotted member path in struct type t. An atomic wrapper
 * (runtime/internal/atomic.Uint64 and friends: a struct whose payload is a
 * member named "value") is looked through at the end, so the path names
 * the field as the runtime's source does. *type gets the leaf's type. */
static int member(Dwarf_Die *t, const char *path, struct fld *f, Dwarf_Die *type)
{
	char buf[128], *save = NULL, *part;
	Dwarf_Die cur = *t, c;
	uint64_t off = 0;
	bool found;

	snprintf(buf, sizeof(buf), "%s.value?", path);
	for (part = strtok_r(buf, ".", &save); part; part = strtok_r(NULL, ".", &save)) {
		bool optional = part[strlen(part) - 1] == '?';

		if (optional)
			part[strlen(part) - 1] = '\0';
		strip(&cur);
		found = false;
		if (dwarf_tag(&cur) == DW_TAG_structure_type && dwarf_child(&cur, &c) == 0) {
			do {
				const char *n = dwarf_diename(&c);
				Dwarf_Attribute a;
				Dwarf_Word w;

				if (dwarf_tag(&c) != DW_TAG_member || !n || strcmp(n, part))
					continue;
				if (!dwarf_attr(&c, DW_AT_data_member_location, &a) ||
				    dwarf_formudata(&a, &w) || !die_type(&c, &cur))
					return -ENOTSUP;
				off += w;
				found = true;
				break;
			} while (dwarf_siblingof(&c, &c) == 0);
		}
		if (!found) {
			if (optional)
				break;
			return -ENOTSUP;
		}
	}
	f->off = off;
	f->size = die_size(&cur);
	if (type)
		*type = cur;
	return 0;
}

struct locate {
	Dwarf_Die var_type[NVARS];
	bool have[NVARS];
	Dwarf_Die p, mcache, mspan, arena, mheap;
	bool have_p, have_mcache, have_mspan, have_arena, have_mheap;
	uint64_t mheap_addr;
};

/* A global's address: DW_OP_addr. Go's linker writes it as a block1
 * form, which libdw's dwarf_getlocation refuses in DWARF 4 ("not a
 * location list value"), so the one operation is decoded here. */
static bool var_addr(Dwarf_Die *d, uint64_t *addr)
{
	Dwarf_Attribute a;
	Dwarf_Block b;

	if (!dwarf_attr(d, DW_AT_location, &a) || dwarf_formblock(&a, &b) ||
	    b.length != 9 || b.data[0] != DW_OP_addr)
		return false;
	memcpy(addr, b.data + 1, 8);   /* x86-64: little-endian, as the file */
	return true;
}

/* One pass over the top-level DIEs of every compile unit. */
static void find_dies(Dwarf *dw, struct mt_go_rt *rt, struct locate *l)
{
	Dwarf_Off off = 0, next;
	size_t hsize;

	while (dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu, c;

		if (dwarf_offdie(dw, off + hsize, &cu) && dwarf_child(&cu, &c) == 0) {
			do {
				const char *n = dwarf_diename(&c);
				int tag = dwarf_tag(&c), i;

				if (!n || strncmp(n, "runtime.", 8))
					continue;
				if (tag == DW_TAG_variable && !l->have_mheap &&
				    !strcmp(n, "runtime.mheap_") && var_addr(&c, &l->mheap_addr) &&
				    die_type(&c, &l->mheap))
					l->have_mheap = true;
				if (tag == DW_TAG_variable) {
					for (i = 0; i < NVARS && var_names[i]; i++)
						if (!l->have[i] && !strcmp(n, var_names[i]) &&
						    var_addr(&c, &rt->addr[i]) &&
						    die_type(&c, &l->var_type[i]))
							l->have[i] = true;
				} else if (tag == DW_TAG_structure_type) {
					if (!l->have_p && !strcmp(n, "runtime.p"))
						l->p = c, l->have_p = true;
					else if (!l->have_mcache && !strcmp(n, "runtime.mcache"))
						l->mcache = c, l->have_mcache = true;
					else if (!l->have_mspan && !strcmp(n, "runtime.mspan"))
						l->mspan = c, l->have_mspan = true;
					else if (!l->have_arena && !strcmp(n, "runtime.heapArena"))
						l->arena = c, l->have_arena = true;
				}
			} while (dwarf_siblingof(&c, &c) == 0);
		}
		off = next;
	}
}

/* Resolve every field; the first missing one is named. */
static int resolve(struct mt_go_rt *rt, struct locate *l, const char **missing)
{
	struct req {
		Dwarf_Die *in;
		const char *path;
		struct fld *f;
		uint64_t size;      /* expected, 0: any */
	};
	Dwarf_Die stats_t, delta_t, arr_t, alloc_t;
	Dwarf_Die *ms = &l->var_type[V_MEMSTATS], *gc = &l->var_type[V_GCCTL];
	Dwarf_Die *wk = &l->var_type[V_WORK];
	struct req reqs[] = {
		{ ms, "pause_total_ns", &rt->pause_total, 8 },
		{ ms, "pause_ns", &rt->pause_ns, 8 * MT_GO_PAUSE_RING },
		{ ms, "pause_end", &rt->pause_end, 8 * MT_GO_PAUSE_RING },
		{ ms, "numgc", &rt->numgc, 4 },
		{ ms, "numforcedgc", &rt->numforced, 4 },
		{ ms, "gc_cpu_fraction", &rt->cpu_frac, 8 },
		{ ms, "last_gc_unix", &rt->last_gc, 8 },
		{ gc, "heapInUse", &rt->inuse, 8 },
		{ gc, "heapFree", &rt->hfree, 8 },
		{ gc, "heapReleased", &rt->released, 8 },
		{ gc, "totalAlloc", &rt->talloc, 8 },
		{ gc, "totalFree", &rt->tfree, 8 },
		{ gc, "mappedReady", &rt->mapped, 8 },
		{ gc, "memoryLimit", &rt->mlimit, 8 },
		{ gc, "gcPercent", &rt->gcpercent, 4 },
		{ gc, "gcPercentHeapGoal", &rt->pct_goal, 8 },
		{ gc, "sweepDistMinTrigger", &rt->sweep_trigger, 8 },
		{ gc, "triggered", &rt->triggered, 8 },
		{ gc, "heapMarked", &rt->marked, 8 },
		{ gc, "lastHeapGoal", &rt->last_goal, 8 },
		{ gc, "heapLive", &rt->live, 8 },
		{ wk, "heap0", &rt->heap0, 8 },
		{ wk, "heap1", &rt->heap1, 8 },
		{ wk, "heap2", &rt->heap2, 8 },
		{ &l->p, "mcache", &rt->p_mcache, 8 },
		{ &l->mspan, "allocCount", &rt->sp_count, 2 },
		{ &l->mspan, "allocCountBeforeCache", &rt->sp_count_before, 2 },
	};
	struct req dreqs[] = {
		{ &delta_t, "tinyAllocCount", &rt->d_tiny, 8 },
		{ &delta_t, "largeAlloc", &rt->d_large_alloc, 8 },
		{ &delta_t, "largeAllocCount", &rt->d_large_alloc_n, 8 },
		{ &delta_t, "largeFree", &rt->d_large_free, 8 },
		{ &delta_t, "largeFreeCount", &rt->d_large_free_n, 8 },
		{ &delta_t, "smallAllocCount", &rt->d_small_alloc, 0 },
		{ &delta_t, "smallFreeCount", &rt->d_small_free, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++)
		if (member(reqs[i].in, reqs[i].path, reqs[i].f, NULL) ||
		    (reqs[i].size && reqs[i].f->size != reqs[i].size)) {
			*missing = reqs[i].path;
			return -ENOTSUP;
		}
	*missing = "memstats.heapStats.stats";
	if (member(ms, "heapStats.stats", &rt->stats, &stats_t))
		return -ENOTSUP;
	strip(&stats_t);
	rt->nstats = array_count(&stats_t);
	if (!rt->nstats || !die_type(&stats_t, &delta_t))
		return -ENOTSUP;
	strip(&delta_t);
	rt->delta_size = die_size(&delta_t);
	if (!rt->delta_size || rt->delta_size * rt->nstats != rt->stats.size)
		return -ENOTSUP;
	for (i = 0; i < sizeof(dreqs) / sizeof(dreqs[0]); i++)
		if (member(dreqs[i].in, dreqs[i].path, dreqs[i].f, NULL) ||
		    (dreqs[i].size && dreqs[i].f->size != dreqs[i].size)) {
			*missing = dreqs[i].path;
			return -ENOTSUP;
		}
	rt->nclasses = rt->d_small_alloc.size / 8;
	*missing = "heapStatsDelta.smallFreeCount";
	if (!rt->nclasses || rt->d_small_free.size != rt->d_small_alloc.size)
		return -ENOTSUP;
	*missing = "runtime.class_to_size";
	arr_t = l->var_type[V_CLASSSIZE];
	strip(&arr_t);
	if (array_count(&arr_t) != rt->nclasses || die_size(&arr_t) != 2 * rt->nclasses)
		return -ENOTSUP;
	*missing = "mcache.alloc";
	if (member(&l->mcache, "alloc", &rt->mc_alloc, &alloc_t))
		return -ENOTSUP;
	strip(&alloc_t);
	rt->nspanclasses = array_count(&alloc_t);
	if (rt->nspanclasses != 2 * rt->nclasses || rt->mc_alloc.size != 8 * rt->nspanclasses)
		return -ENOTSUP;
	*missing = "runtime.gcphase";
	if (die_size(&l->var_type[V_GCPHASE]) != 4)
		return -ENOTSUP;
	rt->memstats_size = die_size(ms);
	rt->gcctl_size = die_size(gc);
	*missing = "runtime.memstats";
	return rt->memstats_size && rt->gcctl_size ? 0 : -ENOTSUP;
}

/* The span lookup of linux/amd64 (src/runtime/malloc.go): one arena map
 * level (mheap_.arenas [1]*[1 << 22]*heapArena, arenaL1Bits 0), 64 MiB
 * arenas from arenaBaseOffset 0xffff800000000000, 8 KiB pages, each
 * arena's spans [8192]*mspan; checked against the DWARF's array sizes,
 * so another geometry is refused, not misread. NULL or why not. */
static const char *resolve_spans(struct mt_go_rt *rt, struct locate *l)
{
	struct mt_go_spans *sp = &rt->spans;
	struct fld arenas, sg, spans, f;
	Dwarf_Die at, pt, l2t;
	struct {
		const char *path;
		struct fld *f;
		uint64_t size;
	} ms[] = {
		{ "startAddr", &f, 8 }, { "npages", &f, 8 }, { "elemsize", &f, 8 },
		{ "allocBits", &f, 8 }, { "gcmarkBits", &f, 8 }, { "sweepgen", &f, 4 },
		{ "state.s", &f, 1 },
	};
	uint64_t *dst[] = { &sp->off_start, &sp->off_npages, &sp->off_elemsize, &sp->off_alloc,
			    &sp->off_mark, &sp->off_sweepgen, &sp->off_state };
	size_t i;

	if (!l->have_mheap || !l->have_arena)
		return "no runtime.mheap_ or runtime.heapArena in its DWARF";
	if (member(&l->mheap, "arenas", &arenas, &at) || member(&l->mheap, "sweepgen", &sg, NULL) ||
	    sg.size != 4)
		return "no mheap_.arenas or mheap_.sweepgen";
	strip(&at);
	if (array_count(&at) != 1 || !die_type(&at, &pt) || (strip(&pt), dwarf_tag(&pt)) !=
	    DW_TAG_pointer_type || !die_type(&pt, &l2t))
		return "mheap_.arenas is not [1]*[N]*heapArena (arenaL1Bits 0)";
	strip(&l2t);
	sp->n_l2 = array_count(&l2t);
	if (sp->n_l2 != 1u << 22)
		return "mheap_.arenas has not 1<<22 entries (64 MiB arenas of linux/amd64)";
	if (member(&l->arena, "spans", &spans, NULL) || spans.size != 8 * 8192)
		return "heapArena.spans is not [8192]*mspan";
	for (i = 0; i < sizeof(ms) / sizeof(ms[0]); i++) {
		if (member(&l->mspan, ms[i].path, &f, NULL) || f.size != ms[i].size)
			return "an mspan field (startAddr, npages, elemsize, allocBits, gcmarkBits, "
			       "sweepgen, state) is missing or resized";
		*dst[i] = f.off;
	}
	sp->arenas_addr = l->mheap_addr + arenas.off;   /* link-time: biased at open */
	sp->sweepgen_addr = l->mheap_addr + sg.off;
	sp->spans_off = spans.off;
	sp->mspan_size = die_size(&l->mspan);
	sp->arena_shift = 26;
	sp->page_shift = 13;
	sp->arena_base = 0xffff800000000000ull;
	return sp->mspan_size ? NULL : "runtime.mspan has no size";
}

/* ---- the load bias (PIE) ---- */

struct bias_arg {
	uint64_t ino, start;
	bool found;
};

static int bias_line(void *arg, const struct mt_maps_ent *e)
{
	struct bias_arg *b = arg;

	if (e->ino == b->ino && e->off == 0) {
		b->start = e->start;
		b->found = true;
		return 1;
	}
	return 0;
}

/* ET_EXEC (Go's default on linux/amd64) runs at its link addresses; a
 * position-independent one where its first mapping says. */
static int load_bias(pid_t pid, int fd, Elf *elf, uint64_t *bias)
{
	GElf_Ehdr eh;
	GElf_Phdr ph;
	struct stat st;
	struct bias_arg b = { 0 };
	uint64_t low = UINT64_MAX;
	size_t i, n;
	char path[64];
	FILE *f;
	int err;

	*bias = 0;
	if (!gelf_getehdr(elf, &eh))
		return -EINVAL;
	if (eh.e_type == ET_EXEC)
		return 0;
	if (elf_getphdrnum(elf, &n))
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD && ph.p_vaddr < low)
			low = ph.p_vaddr;
	if (low == UINT64_MAX || fstat(fd, &st))
		return -EINVAL;
	b.ino = st.st_ino;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	err = mt_maps_read(f, bias_line, &b);
	fclose(f);
	if (err < 0)
		return err;
	if (!b.found)
		return -ENOENT;
	*bias = b.start - (low & ~0xfffull);
	return 0;
}

int mt_go_rt_open(pid_t pid, const char *exe, struct mt_go_rt **out)
{
	struct mt_go_rt *rt = calloc(1, sizeof(*rt));
	struct locate *l = calloc(1, sizeof(*l));
	const char *missing = NULL;
	Dwarf *dw = NULL;
	Elf *elf = NULL;
	int fd = -1, err = 0, i;

	*out = NULL;
	if (!rt || !l) {
		err = -ENOMEM;
		goto out;
	}
	rt->pid = pid;
	elf_version(EV_CURRENT);
	fd = open(exe, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		mt_info("Go MemStats unavailable: cannot open '%s': %s", exe, strerror(errno));
		goto out;
	}
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	dw = elf ? dwarf_begin_elf(elf, DWARF_C_READ, NULL) : NULL;
	if (!dw) {
		err = -ENOENT;
		mt_info("Go MemStats unavailable: '%s' has no DWARF (built with "
			"-ldflags=-w or -s, or stripped)", exe);
		goto out;
	}
	find_dies(dw, rt, l);
	for (i = 0; i < NVARS && var_names[i]; i++)
		if (!l->have[i]) {
			missing = var_names[i];
			break;
		}
	if (!missing && !(l->have_p && l->have_mcache && l->have_mspan))
		missing = "runtime.p/mcache/mspan types";
	if (missing || resolve(rt, l, &missing)) {
		err = -ENOTSUP;
		mt_info("Go MemStats unavailable: unknown runtime layout in '%s' "
			"(no %s in its DWARF; Go 1.19 or later is read)", exe, missing);
		goto out;
	}
	err = load_bias(pid, fd, elf, &rt->bias);
	if (err) {
		mt_info("Go MemStats unavailable: cannot find where '%s' is loaded in "
			"PID %d: %s", exe, (int)pid, strerror(-err));
		goto out;
	}
	for (i = 0; i < NVARS; i++)
		if (rt->addr[i])
			rt->addr[i] += rt->bias;
	rt->spans_why = resolve_spans(rt, l);
	if (!rt->spans_why) {
		rt->spans.arenas_addr += rt->bias;
		rt->spans.sweepgen_addr += rt->bias;
	}
	*out = rt;
	rt = NULL;
out:
	if (dw)
		dwarf_end(dw);
	if (elf)
		elf_end(elf);
	if (fd >= 0)
		close(fd);
	free(l);
	free(rt);
	return err;
}

void mt_go_rt_close(struct mt_go_rt *rt)
{
	free(rt);
}

uint64_t mt_go_rt_addr(const struct mt_go_rt *rt, enum mt_go_rt_word w)
{
	switch (w) {
	case MT_GO_W_NUMGC:   return rt->addr[V_MEMSTATS] + rt->numgc.off;
	case MT_GO_W_GCPHASE: return rt->addr[V_GCPHASE];
	case MT_GO_W_HEAP0:   return rt->addr[V_WORK] + rt->heap0.off;
	case MT_GO_W_HEAP1:   return rt->addr[V_WORK] + rt->heap1.off;
	case MT_GO_W_HEAP2:   return rt->addr[V_WORK] + rt->heap2.off;
	case MT_GO_W_GOAL:    return rt->addr[V_GCCTL] + rt->last_goal.off;
	default:              return 0;
	}
}

const struct mt_go_spans *mt_go_rt_spans(const struct mt_go_rt *rt, const char **why)
{
	*why = rt->spans_why;
	return rt->spans_why ? NULL : &rt->spans;
}

/* ---- reading ---- */

static int peek(pid_t pid, uint64_t addr, void *buf, size_t len);

int mt_go_rt_peek(const struct mt_go_rt *rt, uint64_t addr, void *buf, size_t len)
{
	return peek(rt->pid, addr, buf, len);
}

static int peek(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)addr, len };
	ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EFAULT;
}

static uint64_t u64_at(const uint8_t *b, struct fld f)
{
	uint64_t v = 0;

	memcpy(&v, b + f.off, f.size < 8 ? f.size : 8);
	return v;
}

/* The objects every P's mcache has handed out from its cached spans since
 * caching them: what ReadMemStats's flush (mcache.releaseAll) adds to
 * smallAllocCount, per size class. */
static int mcache_unflushed(struct mt_go_rt *rt, uint64_t *add)
{
	uint64_t slice[2], *spans = NULL;
	size_t np, i, j;
	int err;

	err = peek(rt->pid, rt->addr[V_ALLP], slice, sizeof(slice));
	if (err)
		return err;
	np = slice[1];
	if (np > 1u << 16)
		return -EINVAL;
	spans = malloc(rt->mc_alloc.size);
	if (!spans)
		return -ENOMEM;
	for (i = 0; i < np && !err; i++) {
		uint64_t p, mc;

		err = peek(rt->pid, slice[0] + 8 * i, &p, 8);
		if (!err && p)
			err = peek(rt->pid, p + rt->p_mcache.off, &mc, 8);
		if (err || !p || !mc)
			continue;
		err = peek(rt->pid, mc + rt->mc_alloc.off, spans, rt->mc_alloc.size);
		for (j = 0; j < rt->nspanclasses && !err; j++) {
			uint16_t cnt = 0, before = 0;

			if (!spans[j] || spans[j] == rt->addr[V_EMPTYSPAN])
				continue;
			err = peek(rt->pid, spans[j] + rt->sp_count.off, &cnt, 2);
			if (!err)
				err = peek(rt->pid, spans[j] + rt->sp_count_before.off, &before, 2);
			if (!err && cnt >= before)
				add[j >> 1] += cnt - before;   /* spanClass: sizeclass<<1 | noscan */
		}
	}
	free(spans);
	return err;
}

/* gcControllerState.heapGoal of Go 1.19+: the GOGC goal, lowered by the
 * memory limit's goal, else raised to the sweep distance and a minimum
 * runway past the trigger. heap_alloc is totalAlloc - totalFree after the
 * flush, the value the runtime would use under ReadMemStats. */
static uint64_t heap_goal(const uint8_t *gc, const struct mt_go_rt *rt, uint64_t heap_alloc)
{
	uint64_t goal = u64_at(gc, rt->pct_goal), lim_goal;
	uint64_t hfree = u64_at(gc, rt->hfree), mapped = u64_at(gc, rt->mapped);
	uint64_t limit = u64_at(gc, rt->mlimit), marked = u64_at(gc, rt->marked);
	uint64_t trig, nonheap, over = 0;
	const uint64_t headroom = 1 << 20, runway = 64 << 10;

	/* memoryLimitHeapGoal */
	nonheap = mapped - hfree - heap_alloc;
	if (mapped > limit)
		over = mapped - limit;
	if (nonheap + over >= limit) {
		lim_goal = marked;
	} else {
		lim_goal = limit - (nonheap + over);
		if (lim_goal < headroom || lim_goal - headroom < headroom)
			lim_goal = headroom;
		else
			lim_goal -= headroom;
		if (lim_goal < marked)
			lim_goal = marked;
	}
	if (lim_goal < goal)
		return lim_goal;
	trig = u64_at(gc, rt->sweep_trigger);
	if (trig > goal)
		goal = trig;
	trig = u64_at(gc, rt->triggered);
	if (trig != UINT64_MAX && goal < trig + runway)
		goal = trig + runway;
	return goal;
}

int mt_go_memstats_read(struct mt_go_rt *rt, struct mt_go_memstats *ms)
{
	uint8_t *mb = malloc(rt->memstats_size), *gb = malloc(rt->gcctl_size);
	uint64_t *small_a = calloc(rt->nclasses, 8), *small_f = calloc(rt->nclasses, 8);
	uint16_t *sizes = calloc(rt->nclasses, 2);
	uint64_t la = 0, lan = 0, lf = 0, lfn = 0, ta = 0, tf = 0, na, nf;
	struct timespec ts;
	size_t g, c;
	int err;

	memset(ms, 0, sizeof(*ms));
	if (!mb || !gb || !small_a || !small_f || !sizes) {
		err = -ENOMEM;
		goto out;
	}
	/* The mcaches first: what they hold unflushed has not reached the
	 * consistent stats yet, so reading them after those can only miss an
	 * object handed out in between, never count one twice... unless a
	 * span is released in between, which the runtime does only when it
	 * fills (a refill) or at a GC. */
	err = mcache_unflushed(rt, small_a);
	if (!err)
		err = peek(rt->pid, rt->addr[V_MEMSTATS], mb, rt->memstats_size);
	if (!err)
		err = peek(rt->pid, rt->addr[V_GCCTL], gb, rt->gcctl_size);
	if (!err)
		err = peek(rt->pid, rt->addr[V_CLASSSIZE], sizes, 2 * rt->nclasses);
	if (err)
		goto out;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ms->read_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;

	/* heapStats.unsafeRead: the sum of the generations. */
	for (g = 0; g < rt->nstats; g++) {
		const uint8_t *d = mb + rt->stats.off + g * rt->delta_size;

		la += u64_at(d, rt->d_large_alloc);
		lan += u64_at(d, rt->d_large_alloc_n);
		lf += u64_at(d, rt->d_large_free);
		lfn += u64_at(d, rt->d_large_free_n);
		for (c = 0; c < rt->nclasses; c++) {
			uint64_t a, f;

			memcpy(&a, d + rt->d_small_alloc.off + 8 * c, 8);
			memcpy(&f, d + rt->d_small_free.off + 8 * c, 8);
			small_a[c] += a;
			small_f[c] += f;
		}
	}
	ta = la;
	tf = lf;
	na = lan;
	nf = lfn;
	for (c = 0; c < rt->nclasses; c++) {
		ta += small_a[c] * sizes[c];
		tf += small_f[c] * sizes[c];
		na += small_a[c];
		nf += small_f[c];
	}
	/* Tiny allocations count as both a malloc and a free in MemStats. */
	{
		uint64_t tiny = 0;

		for (g = 0; g < rt->nstats; g++)
			tiny += u64_at(mb + rt->stats.off + g * rt->delta_size, rt->d_tiny);
		ms->mallocs = na + tiny;
		ms->frees = nf + tiny;
	}
	ms->total_alloc = ta;
	ms->heap_alloc = ta - tf;
	ms->heap_objects = na - nf;
	ms->heap_inuse = u64_at(gb, rt->inuse);
	ms->heap_released = u64_at(gb, rt->released);
	ms->heap_idle = u64_at(gb, rt->hfree) + ms->heap_released;
	ms->heap_sys = ms->heap_inuse + ms->heap_idle;
	ms->next_gc = heap_goal(gb, rt, ms->heap_alloc);
	ms->heap_live = u64_at(gb, rt->live);
	ms->heap_marked = u64_at(gb, rt->marked);
	ms->gogc = (int32_t)u64_at(gb, rt->gcpercent);
	ms->memory_limit = (int64_t)u64_at(gb, rt->mlimit);
	ms->pause_total_ns = u64_at(mb, rt->pause_total);
	ms->num_gc = (uint32_t)u64_at(mb, rt->numgc);
	ms->num_forced_gc = (uint32_t)u64_at(mb, rt->numforced);
	ms->last_gc_unix_ns = u64_at(mb, rt->last_gc);
	memcpy(&ms->gc_cpu_fraction, mb + rt->cpu_frac.off, 8);
	memcpy(ms->pause_ns, mb + rt->pause_ns.off, sizeof(ms->pause_ns));
	memcpy(ms->pause_end, mb + rt->pause_end.off, sizeof(ms->pause_end));
out:
	free(mb);
	free(gb);
	free(small_a);
	free(small_f);
	free(sizes);
	return err;
}
