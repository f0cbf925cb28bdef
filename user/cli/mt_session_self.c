// SPDX-License-Identifier: BSD-2-Clause
/*
 * memtrace's own footprint, in the final report ("memtrace" in JSON, one
 * line in the text) and at attach with -v: its RSS and peak RSS from
 * /proc/self/status, and the kernel memory of its BPF maps (ring buffers
 * apart: each is mapped twice into memtrace, so its RSS holds twice their
 * size). The user's question "what does the tracer cost my machine".
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include "budget/mt_budget_cal.h"
#include "cli/mt_session.h"
#include "collect/mt_agg.h"
#include "go/mt_go.h"
#include "go/mt_go_gc.h"
#include "pools/mt_pools.h"
#include "probe/mt_heap.h"
#include "sym/mt_sym.h"
#include "util/mt_fmt.h"
#include "util/mt_json.h"
#include "util/mt_log.h"
#include "util/mt_time.h"
#include "vm/mt_vm.h"

static uint64_t status_kb(const char *key)
{
	char line[256];
	uint64_t v = 0;
	size_t n = strlen(key);
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, n) == 0 && sscanf(line + n, " %" SCNu64, &v) == 1)
			break;
	fclose(f);
	return v;
}

enum { MT_SELF_HEAP, MT_SELF_VM, MT_SELF_POOLS, MT_SELF_GO_ALLOC, MT_SELF_GO_GC, MT_SELF_N };
static const char *const self_obj[MT_SELF_N] = { "heap", "vm", "pools", "go_alloc", "go_gc" };

_Static_assert(MT_SELF_N == sizeof(((struct mt_self *)0)->maps) / sizeof(uint64_t),
	       "one map figure per BPF object");

static void self_read(const struct mt_session *s, struct mt_self *o)
{
	o->rss = status_kb("VmRSS:") << 10;
	o->hwm = status_kb("VmHWM:") << 10;
	o->maps[MT_SELF_HEAP] = mt_heap_map_bytes(s->heap, &o->rings[MT_SELF_HEAP]);
	o->maps[MT_SELF_VM] = mt_vm_map_bytes(s->vm, &o->rings[MT_SELF_VM]);
	o->maps[MT_SELF_POOLS] = mt_pools_map_bytes(s->pools, &o->rings[MT_SELF_POOLS]);
	o->maps[MT_SELF_GO_ALLOC] = mt_go_map_bytes(s->go, &o->rings[MT_SELF_GO_ALLOC]);
	o->maps[MT_SELF_GO_GC] = mt_go_gc_map_bytes(s->go_gc, &o->rings[MT_SELF_GO_GC]);
	o->dwarf = mt_sym_dwarf_loaded(s->sym);
}

static uint64_t self_sum(const uint64_t *v)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < MT_SELF_N; i++)
		sum += v[i];
	return sum;
}

void mt_session_self_take(struct mt_session *s)
{
	self_read(s, &s->self);
}

int mt_session_self_json(struct mt_json *j, void *arg)
{
	const struct mt_session *s = arg;
	struct mt_self o = s->self;

	mt_json_obj_begin(j);
	mt_json_key_u64(j, "rss_bytes", o.rss);
	mt_json_key_u64(j, "rss_peak_bytes", o.hwm);
	mt_json_key_u64(j, "bpf_map_bytes", self_sum(o.maps));
	mt_json_key_u64(j, "bpf_ring_bytes", self_sum(o.rings));
	mt_json_key_u64(j, "heap_bpf_map_bytes", o.maps[MT_SELF_HEAP]);
	mt_json_key_u64(j, "vm_bpf_map_bytes", o.maps[MT_SELF_VM]);
	/* every BPF object loaded, by name: what it holds, rings apart */
	mt_json_key(j, "bpf_objects");
	mt_json_obj_begin(j);
	for (unsigned i = 0; i < MT_SELF_N; i++) {
		if (!o.maps[i])
			continue;
		mt_json_key(j, self_obj[i]);
		mt_json_obj_begin(j);
		mt_json_key_u64(j, "map_bytes", o.maps[i]);
		mt_json_key_u64(j, "ring_bytes", o.rings[i]);
		mt_json_obj_end(j);
	}
	mt_json_obj_end(j);
	mt_json_key_u64(j, "dwarf_modules_loaded", o.dwarf);
	mt_json_obj_end(j);
	return 0;
}

static void self_line(FILE *f, const struct mt_self *so, const char *prefix)
{
	char a[32], b[32], c[32], d[32], e[32];
	const struct mt_self *o = so;
	const char *sep = " (";

	fprintf(f, "%sRSS %s (peak %s); BPF maps %s, ring buffers %s of it", prefix,
		mt_fmt_bytes(a, 32, o->rss), mt_fmt_bytes(b, 32, o->hwm),
		mt_fmt_bytes(c, 32, self_sum(o->maps)), mt_fmt_bytes(d, 32, self_sum(o->rings)));
	for (unsigned i = 0; i < MT_SELF_N; i++) {
		if (!o->maps[i])
			continue;
		fprintf(f, "%s%s %s", sep, self_obj[i], mt_fmt_bytes(e, 32, o->maps[i]));
		sep = ", ";
	}
	fprintf(f, "%s\n", *sep == ',' ? ")" : "");
}

int mt_session_self_text(FILE *f, const struct mt_report *r, bool final, void *arg)
{
	(void)r;
	if (final)
		self_line(f, &((const struct mt_session *)arg)->self, "memtrace itself: ");
	return 0;
}

/* One mapping of /proc/self/smaps, as far as trimming needs it. */
struct self_vma {
	uintptr_t start, end;
	bool file, ro, dirty;
};

static void vma_trim(const struct self_vma *v, uint64_t *dropped)
{
	/* clean, read-only file pages: MADV_DONTNEED only unmaps them from
	 * memtrace (the page cache keeps them), and a later access faults the
	 * same bytes back in; a mapping with any dirty page (RELRO) is left */
	if (v->file && v->ro && !v->dirty && v->end > v->start &&
	    madvise((void *)v->start, v->end - v->start, MADV_DONTNEED) == 0)
		*dropped += v->end - v->start;
}

uint64_t mt_session_self_trim(void)
{
	struct self_vma v = { 0 };
	uint64_t dropped = 0, kb;
	char line[512], perm[8];
	FILE *f = fopen("/proc/self/smaps", "re");
	unsigned long a, b, ino;
	int n;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx %7s %*s %*s %lu %n", &a, &b, perm, &ino, &n) == 4) {
			vma_trim(&v, &dropped);
			v.start = a;
			v.end = b;
			/* a library's headers, relocations and read-only data:
			 * the dynamic linker read them all at start (libcapstone's
			 * relocations alone are 1.8 MiB), few are read again */
			v.file = ino != 0 && line[n] == '/';
			v.ro = perm[1] == '-' && perm[2] == '-' && perm[3] == 'p';
			v.dirty = false;
		} else if ((sscanf(line, "Private_Dirty: %" SCNu64, &kb) == 1 ||
			    sscanf(line, "Shared_Dirty: %" SCNu64, &kb) == 1 ||
			    sscanf(line, "Anonymous: %" SCNu64, &kb) == 1) && kb) {
			v.dirty = true;
		}
	}
	fclose(f);
	vma_trim(&v, &dropped);
	return dropped;
}

void mt_session_self_debug(const struct mt_session *s)
{
	struct mt_self o;
	char buf[256];
	FILE *f;

	if (!mt_verbose)
		return;
	f = fmemopen(buf, sizeof(buf), "w");
	if (!f)
		return;
	self_read(s, &o);
	self_line(f, &o, "");
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	mt_debug("after attach: %s", buf);
}

/* The cost a full trace puts on the target, from the calls seen and one
 * probe hit as measured on this machine (the budget's self-test, tens of
 * ms, taken only when the rate makes it worth asking). */
void mt_session_guide(struct mt_session *s, uint64_t now)
{
	const struct mt_totals *t;
	struct mt_budget_cal cal;
	double secs, calls = 0, pct;
	unsigned i;

	if (s->guided || !s->heap || s->budget || s->launched || now < s->start_ns + 2 * MT_NS_PER_S)
		return;
	s->guided = true;
	t = mt_agg_totals(s->agg);
	for (i = 0; i < MT_AGG_MAX_EPS; i++)
		calls += (double)t->calls[i];
	secs = (double)(now - s->start_ns) / MT_NS_PER_S;
	/* below ~1,000 calls/s no machine pays 5% for a trap: no self-test */
	if (calls / secs < 1000 || mt_budget_calibrate(&cal))
		return;
	/* an allocation takes an entry and a return hit, a free an entry hit:
	 * both counted as the dearer, an upper bound */
	pct = calls / secs * (cal.entry_ns + cal.ret_ns) / 1e9 * 100;
	if (pct < 5)
		return;
	mt_info("PID %d makes %.0f allocator calls/s under trace; at %.1f us a call measured here "
		"that is ~%.0f%% of a core in memtrace's probes: --max-overhead 5 keeps it under 5%% "
		"(figures become estimates), --no-heap traces the kernel side only",
		(int)s->target.pid, calls / secs, (cal.entry_ns + cal.ret_ns) / 1e3, pct);
}
