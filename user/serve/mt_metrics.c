// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include "target/mt_proc.h"
#include "util/mt_time.h"
#include "serve/mt_metrics.h"

#define MAX_EXTRAS 4
#define UNSET UINT32_MAX

struct label {
	char *name;
	uint64_t bytes, objects;     /* this tick's sums */
};

struct mt_metrics {
	const struct mt_agg *agg;
	struct mt_sym *sym;
	struct mt_metrics_opts o;
	char comm[64], allocator[256], pid[16];
	struct mt_metrics_extra extras[MAX_EXTRAS];
	unsigned nextras;
	/* site id -> label index, UNSET until resolved */
	uint32_t *site_label;
	uint32_t site_cap;
	struct label *labels;
	uint32_t nlabels, labels_cap;
	uint32_t *slots;             /* open addressing over labels, UNSET empty */
	uint32_t nslots;             /* power of two, kept over 2x nlabels */
	uint32_t *order;             /* scratch for the ranking, labels_cap long */
	/* rates over the last tick */
	uint64_t prev_ns, prev_allocs, prev_frees, prev_bytes;
	double allocs_per_s, frees_per_s, bytes_per_s;
};

struct mt_metrics *mt_metrics_new(const struct mt_agg *agg, struct mt_sym *sym,
				  const struct mt_metrics_opts *o)
{
	struct mt_metrics *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->agg = agg;
	m->sym = sym;
	m->o = *o;
	if (!m->o.top)
		m->o.top = MT_METRICS_TOP_DEFAULT;
	snprintf(m->comm, sizeof(m->comm), "%s", o->comm ? o->comm : "");
	snprintf(m->allocator, sizeof(m->allocator), "%s", o->allocator ? o->allocator : "");
	snprintf(m->pid, sizeof(m->pid), "%d", (int)o->pid);
	m->prev_ns = agg ? mt_agg_start_ns(agg) : mt_now_ns();
	return m;
}

int mt_metrics_add_extra(struct mt_metrics *m, const struct mt_metrics_extra *x)
{
	if (m->nextras == MAX_EXTRAS)
		return -ENOSPC;
	m->extras[m->nextras++] = *x;
	return 0;
}

static void drop_labels(struct mt_metrics *m)
{
	for (uint32_t i = 0; i < m->nlabels; i++)
		free(m->labels[i].name);
	free(m->labels);
	free(m->slots);
	free(m->order);
	free(m->site_label);
	m->labels = NULL;
	m->slots = m->order = m->site_label = NULL;
	m->nlabels = m->labels_cap = m->nslots = m->site_cap = 0;
}

void mt_metrics_retarget(struct mt_metrics *m, const struct mt_agg *agg, struct mt_sym *sym,
			 const char *comm, const char *allocator)
{
	if (!m)
		return;
	drop_labels(m);
	if (m->agg)            /* --no-heap stays without heap metrics */
		m->agg = agg;
	m->sym = sym;
	snprintf(m->comm, sizeof(m->comm), "%s", comm ? comm : "");
	snprintf(m->allocator, sizeof(m->allocator), "%s", allocator ? allocator : "");
	m->prev_ns = agg ? mt_agg_start_ns(agg) : mt_now_ns();
	m->prev_allocs = m->prev_frees = m->prev_bytes = 0;
}

void mt_metrics_free(struct mt_metrics *m)
{
	if (!m)
		return;
	drop_labels(m);
	free(m);
}

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;   /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static int grow_slots(struct mt_metrics *m)
{
	uint32_t n = m->nslots ? m->nslots * 2 : 256, i;
	uint32_t *slots = malloc(n * sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	memset(slots, 0xff, n * sizeof(*slots));
	for (i = 0; i < m->nlabels; i++) {
		uint32_t j = (uint32_t)hash_str(m->labels[i].name) & (n - 1);

		while (slots[j] != UNSET)
			j = (j + 1) & (n - 1);
		slots[j] = i;
	}
	free(m->slots);
	m->slots = slots;
	m->nslots = n;
	return 0;
}

/* The index of label name, added when new; UNSET on out of memory. */
static uint32_t intern(struct mt_metrics *m, const char *name)
{
	uint32_t j;

	if ((m->nlabels + 1) * 2 > m->nslots && grow_slots(m))
		return UNSET;
	for (j = (uint32_t)hash_str(name) & (m->nslots - 1); m->slots[j] != UNSET;
	     j = (j + 1) & (m->nslots - 1))
		if (strcmp(m->labels[m->slots[j]].name, name) == 0)
			return m->slots[j];
	if (m->nlabels == m->labels_cap) {
		uint32_t cap = m->labels_cap ? m->labels_cap * 2 : 64;
		struct label *l = realloc(m->labels, cap * sizeof(*l));
		uint32_t *o;

		if (!l)
			return UNSET;
		m->labels = l;
		o = realloc(m->order, cap * sizeof(*o));
		if (!o)
			return UNSET;
		m->order = o;
		m->labels_cap = cap;
	}
	m->labels[m->nlabels] = (struct label){ .name = strdup(name) };
	if (!m->labels[m->nlabels].name)
		return UNSET;
	m->slots[j] = m->nlabels;
	return m->nlabels++;
}

static int is_operator_new(const char *f)
{
	return f && (!strncmp(f, "_Znw", 4) || !strncmp(f, "_Zna", 4));
}

/* "func@module" of the allocation's call site (see mt_metrics.h). */
static void site_name(struct mt_metrics *m, const struct mt_site *s, char *out, size_t n)
{
	struct mt_frame f = { 0 };
	const char *mod;
	uint32_t i;

	if (!s->nframes) {
		snprintf(out, n, "[no stack]");
		return;
	}
	for (i = 0; i < s->nframes; i++) {
		if (m->sym)
			mt_sym_resolve(m->sym, s->frames[i], true, &f);
		f.addr = s->frames[i];
		if (!(is_operator_new(f.func) && i + 1 < s->nframes))
			break;
	}
	mod = f.module ? strrchr(f.module, '/') : NULL;
	mod = mod ? mod + 1 : f.module;
	if (f.func && mod)
		snprintf(out, n, "%s@%s", f.func, mod);
	else if (f.func)
		snprintf(out, n, "%s", f.func);
	else if (mod)
		snprintf(out, n, "0x%" PRIx64 "@%s", f.module_off, mod);
	else
		snprintf(out, n, "0x%" PRIx64, f.addr);
}

/* Sums live bytes and objects per label; returns the live bytes of sites
 * not yet labelled. */
static uint64_t sum_labels(struct mt_metrics *m)
{
	uint32_t nsites = mt_agg_nsites(m->agg), id, resolved = 0;
	uint64_t unlabelled = 0;

	for (uint32_t i = 0; i < m->nlabels; i++)
		m->labels[i].bytes = m->labels[i].objects = 0;
	if (nsites > m->site_cap) {
		uint32_t cap = m->site_cap ? m->site_cap : 1024;
		uint32_t *sl;

		while (cap < nsites)
			cap *= 2;
		sl = realloc(m->site_label, cap * sizeof(*sl));
		if (sl) {
			memset(sl + m->site_cap, 0xff, (cap - m->site_cap) * sizeof(*sl));
			m->site_label = sl;
			m->site_cap = cap;
		}
	}
	for (id = 0; id < nsites; id++) {
		const struct mt_site *s = mt_agg_site_get(m->agg, id);
		char name[MT_METRICS_LABEL_MAX + 1];

		if (!s->c.live_bytes && !s->c.live_objects)
			continue;
		if (id >= m->site_cap) {
			unlabelled += s->c.live_bytes;
			continue;
		}
		if (m->site_label[id] == UNSET && resolved < MT_METRICS_RESOLVE_PER_TICK) {
			site_name(m, s, name, sizeof(name));
			m->site_label[id] = intern(m, name);
			resolved++;
		}
		if (m->site_label[id] == UNSET) {
			unlabelled += s->c.live_bytes;
			continue;
		}
		m->labels[m->site_label[id]].bytes += s->c.live_bytes;
		m->labels[m->site_label[id]].objects += s->c.live_objects;
	}
	return unlabelled;
}

static int label_cmp_m(const struct mt_metrics *m, const void *a, const void *b)
{
	const struct label *x = &m->labels[*(const uint32_t *)a];
	const struct label *y = &m->labels[*(const uint32_t *)b];

	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	return strcmp(x->name, y->name);
}

static const struct mt_metrics *cmp_m;   /* qsort's context: one thread renders */

static int label_cmp(const void *a, const void *b)
{
	return label_cmp_m(cmp_m, a, b);
}

/* Is label x ranked below label y (fewer bytes, or equal and later name)? */
static int below(const struct mt_metrics *m, uint32_t x, uint32_t y)
{
	return label_cmp_m(m, &x, &y) > 0;
}

/* order[0..n) as a min-heap on the ranking: the weakest of the top at 0. */
static void sift_down(struct mt_metrics *m, uint32_t n, uint32_t i)
{
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, w = i, t;

		if (l < n && below(m, m->order[l], m->order[w]))
			w = l;
		if (r < n && below(m, m->order[r], m->order[w]))
			w = r;
		if (w == i)
			return;
		t = m->order[i];
		m->order[i] = m->order[w];
		m->order[w] = t;
		i = w;
	}
}

/* The top labels by live bytes: a heap of --metrics-top entries over one
 * pass, O(labels x log top), then a sort of those few for the output. */
static void write_sites(struct mt_metrics *m, struct mt_prom *p)
{
	uint64_t other = sum_labels(m);
	uint32_t n = 0, i;

	for (i = 0; i < m->nlabels; i++) {
		if (!m->labels[i].bytes && !m->labels[i].objects)
			continue;
		if (n < m->o.top) {
			m->order[n++] = i;
			if (n == m->o.top)
				for (uint32_t k = n / 2; k-- > 0;)
					sift_down(m, n, k);
		} else if (below(m, m->order[0], i)) {
			other += m->labels[m->order[0]].bytes;
			m->order[0] = i;
			sift_down(m, n, 0);
		} else {
			other += m->labels[i].bytes;
		}
	}
	cmp_m = m;
	if (n)   /* order is NULL before the first label */
		qsort(m->order, n, sizeof(*m->order), label_cmp);
	mt_prom_header(p, "memtrace_site_live_bytes", "gauge",
		       "Live bytes allocated at a call site (func@module), top sites by live bytes");
	for (i = 0; i < n; i++) {
		const char *l[] = { "site", m->labels[m->order[i]].name, NULL };

		mt_prom_u64(p, "memtrace_site_live_bytes", l, m->labels[m->order[i]].bytes);
	}
	mt_prom_header(p, "memtrace_site_live_objects", "gauge",
		       "Live objects allocated at a call site, same sites as memtrace_site_live_bytes");
	for (i = 0; i < n; i++) {
		const char *l[] = { "site", m->labels[m->order[i]].name, NULL };

		mt_prom_u64(p, "memtrace_site_live_objects", l, m->labels[m->order[i]].objects);
	}
	mt_prom_gauge(p, "memtrace_other_sites_live_bytes",
		      "Live bytes of the sites not exported as memtrace_site_live_bytes",
		      (double)other);
}

static void rates(struct mt_metrics *m, uint64_t now_ns, const struct mt_totals *t)
{
	double dt;

	if (now_ns <= m->prev_ns || now_ns - m->prev_ns < MT_NS_PER_S / 5)
		return;   /* too short an interval to say anything: keep the last */
	dt = (double)(now_ns - m->prev_ns) / 1e9;
	/* sampled totals are rounded estimates: never a negative rate */
	m->allocs_per_s = t->c.allocs > m->prev_allocs ? (double)(t->c.allocs - m->prev_allocs) / dt : 0;
	m->frees_per_s = t->c.frees > m->prev_frees ? (double)(t->c.frees - m->prev_frees) / dt : 0;
	m->bytes_per_s = t->c.alloc_bytes > m->prev_bytes ?
		(double)(t->c.alloc_bytes - m->prev_bytes) / dt : 0;
	m->prev_ns = now_ns;
	m->prev_allocs = t->c.allocs;
	m->prev_frees = t->c.frees;
	m->prev_bytes = t->c.alloc_bytes;
}

static void write_heap(struct mt_metrics *m, uint64_t now_ns, struct mt_prom *p)
{
	const struct mt_totals *t = mt_agg_totals(m->agg);

	rates(m, now_ns, t);
	mt_prom_counter(p, "memtrace_allocs_total", "Allocations of the target since attach",
			t->c.allocs);
	mt_prom_counter(p, "memtrace_frees_total", "Frees of tracked blocks since attach",
			t->c.frees);
	mt_prom_counter(p, "memtrace_alloc_bytes_total", "Bytes requested by allocations",
			t->c.alloc_bytes);
	mt_prom_counter(p, "memtrace_free_bytes_total", "Bytes released by frees of tracked blocks",
			t->c.free_bytes);
	mt_prom_counter(p, "memtrace_failed_allocs_total", "Allocation calls that returned no memory",
			t->failed_allocs);
	mt_prom_counter(p, "memtrace_untracked_frees_total",
			"Frees of blocks allocated before attach (or never seen)", t->untracked_frees);
	mt_prom_gauge(p, "memtrace_live_bytes", "Bytes allocated and not yet freed (requested sizes)",
		      (double)t->c.live_bytes);
	mt_prom_gauge(p, "memtrace_live_objects", "Blocks allocated and not yet freed",
		      (double)t->c.live_objects);
	mt_prom_gauge(p, "memtrace_peak_live_bytes", "Highest memtrace_live_bytes since attach",
		      (double)t->c.peak_live_bytes);
	mt_prom_gauge(p, "memtrace_allocs_per_second", "Allocation rate over the last second",
		      m->allocs_per_s);
	mt_prom_gauge(p, "memtrace_frees_per_second", "Free rate over the last second",
		      m->frees_per_s);
	mt_prom_gauge(p, "memtrace_alloc_bytes_per_second", "Bytes allocated per second over the last second",
		      m->bytes_per_s);
	mt_prom_gauge(p, "memtrace_sites", "Distinct allocation stacks seen",
		      (double)mt_agg_nsites(m->agg));
	mt_prom_gauge(p, "memtrace_sampling_mean_bytes",
		      "Sampling mean (--sample-bytes); 0: every call is counted, else figures are estimates",
		      (double)mt_agg_sampling(m->agg));
	write_sites(m, p);
}

static void write_lost(struct mt_metrics *m, struct mt_prom *p)
{
	mt_prom_header(p, "memtrace_lost_events_total", "counter",
		       "Events the kernel side could not deliver (ring buffer full), by tracer");
	if (m->agg) {
		const char *l[] = { "source", "heap", NULL };

		mt_prom_u64(p, "memtrace_lost_events_total", l, mt_agg_totals(m->agg)->lost_events);
	}
	for (unsigned i = 0; i < m->nextras; i++) {
		const char *l[] = { "source", m->extras[i].name, NULL };

		if (m->extras[i].lost)
			mt_prom_u64(p, "memtrace_lost_events_total", l, m->extras[i].lost(m->extras[i].arg));
	}
}

static void write_target(struct mt_metrics *m, struct mt_prom *p)
{
	struct mt_proc_status st;
	const char *kinds[] = { "anon", "file", "shmem" };

	if (mt_proc_status(m->o.pid, &st))
		return;   /* exiting: the session loop ends it */
	mt_prom_gauge(p, "memtrace_rss_bytes", "Resident memory of the target (VmRSS)",
		      (double)st.vm_rss);
	mt_prom_header(p, "memtrace_rss_kind_bytes", "gauge",
		       "Resident memory of the target by kind (RssAnon, RssFile, RssShmem)");
	for (int i = 0; i < 3; i++) {
		const char *l[] = { "kind", kinds[i], NULL };
		uint64_t v = i == 0 ? st.rss_anon : i == 1 ? st.rss_file : st.rss_shmem;

		mt_prom_u64(p, "memtrace_rss_kind_bytes", l, v);
	}
	mt_prom_gauge(p, "memtrace_swap_bytes", "Swapped-out memory of the target (VmSwap)",
		      (double)st.vm_swap);
	mt_prom_gauge(p, "memtrace_virtual_bytes", "Virtual memory size of the target (VmSize)",
		      (double)st.vm_size);
}

/* memtrace's own cost, for a monitor that runs for days. */
static void write_self(struct mt_metrics *m, struct mt_prom *p)
{
	struct rusage ru;
	unsigned long long size, resident;
	FILE *f;

	if (getrusage(RUSAGE_SELF, &ru) == 0) {
		mt_prom_header(p, "memtrace_self_cpu_seconds_total", "counter",
			       "CPU time memtrace used, user and system");
		mt_prom_double(p, "memtrace_self_cpu_seconds_total", NULL,
			       (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
			       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);
	}
	f = fopen("/proc/self/statm", "re");
	if (f && fscanf(f, "%llu %llu", &size, &resident) == 2)
		mt_prom_gauge(p, "memtrace_self_resident_bytes", "Resident memory of memtrace itself",
			      (double)resident * (double)sysconf(_SC_PAGESIZE));
	if (f)
		fclose(f);
	if (m->agg)
		mt_prom_gauge(p, "memtrace_self_aggregator_bytes",
			      "Heap bytes memtrace's aggregator holds (live table, sites)",
			      (double)mt_agg_mem_bytes(m->agg));
	mt_prom_header(p, "memtrace_info", "gauge", "The traced process and memtrace's version (always 1)");
	{
		const char *l[] = { "version", MT_VERSION, "pid", m->pid, "comm", m->comm,
				    "allocator", m->allocator, NULL };

		mt_prom_u64(p, "memtrace_info", l, 1);
	}
}

int mt_metrics_render(struct mt_metrics *m, uint64_t now_ns, struct mt_prom *p)
{
	mt_prom_reset(p);
	if (m->agg)
		write_heap(m, now_ns, p);
	write_lost(m, p);
	write_target(m, p);
	for (unsigned i = 0; i < m->nextras; i++)
		if (m->extras[i].write && m->extras[i].write(p, m->extras[i].arg) && !p->err)
			p->err = -EIO;
	write_self(m, p);
	return p->err;
}
