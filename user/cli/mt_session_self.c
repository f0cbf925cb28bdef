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
#include "budget/mt_budget_cal.h"
#include "cli/mt_session.h"
#include "collect/mt_agg.h"
#include "probe/mt_heap.h"
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

static void self_read(const struct mt_session *s, struct mt_self *o)
{
	o->rss = status_kb("VmRSS:") << 10;
	o->hwm = status_kb("VmHWM:") << 10;
	o->heap_maps = mt_heap_map_bytes(s->heap, &o->heap_rings);
	o->vm_maps = mt_vm_map_bytes(s->vm, &o->vm_rings);
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
	mt_json_key_u64(j, "bpf_map_bytes", o.heap_maps + o.vm_maps);
	mt_json_key_u64(j, "bpf_ring_bytes", o.heap_rings + o.vm_rings);
	mt_json_key_u64(j, "heap_bpf_map_bytes", o.heap_maps);
	mt_json_key_u64(j, "vm_bpf_map_bytes", o.vm_maps);
	mt_json_obj_end(j);
	return 0;
}

static void self_line(FILE *f, const struct mt_self *so, const char *prefix)
{
	char a[32], b[32], c[32], d[32], e[32], g[32];
	struct mt_self o = *so;

	fprintf(f, "%sRSS %s (peak %s); BPF maps %s, ring buffers %s of it "
		"(allocator probes %s, memory view %s)\n", prefix, mt_fmt_bytes(a, 32, o.rss),
		mt_fmt_bytes(b, 32, o.hwm), mt_fmt_bytes(c, 32, o.heap_maps + o.vm_maps),
		mt_fmt_bytes(d, 32, o.heap_rings + o.vm_rings), mt_fmt_bytes(e, 32, o.heap_maps),
		mt_fmt_bytes(g, 32, o.vm_maps));
}

int mt_session_self_text(FILE *f, const struct mt_report *r, bool final, void *arg)
{
	(void)r;
	if (final)
		self_line(f, &((const struct mt_session *)arg)->self, "memtrace itself: ");
	return 0;
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
