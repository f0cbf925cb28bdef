// SPDX-License-Identifier: BSD-2-Clause
/*
 * The memory-view aggregator; see mt_vm_stat.h and docs/memory-stats.md.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "vm/mt_vm_stat.h"
#include "util/mt_grow.h"

#define MT_VM_BUCKETS 4096u   /* origins are few (hundreds): chains stay short */
#define NONE UINT32_MAX

#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

static uint64_t page_up(uint64_t x)
{
	return (x + MT_VM_PAGE - 1) & ~(MT_VM_PAGE - 1);
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n--)
		h = (h ^ *b++) * 0x100000001b3ULL;
	return h;
}

int mt_vm_stat_init(struct mt_vm_stat *s, uint64_t start_ns)
{
	int64_t u;

	memset(s, 0, sizeof(*s));
	s->start_ns = start_ns;
	s->free_rec = NONE;
	mt_vm_map_init(&s->map);
	s->buckets = malloc(MT_VM_BUCKETS * sizeof(*s->buckets));
	if (!s->buckets)
		return -ENOMEM;
	memset(s->buckets, 0xff, MT_VM_BUCKETS * sizeof(*s->buckets));
	u = mt_vm_stat_origin(s, MT_VM_O_UNKNOWN, NULL, 0, 0);
	if (u < 0) {
		mt_vm_stat_release(s);
		return (int)u;
	}
	s->unknown = (uint32_t)u;
	return 0;
}

void mt_vm_stat_release(struct mt_vm_stat *s)
{
	uint32_t i;

	for (i = 0; i < s->norigins; i++)
		free(s->origins[i].name);
	free(s->origins);
	free(s->buckets);
	free(s->recs);
	free(s->timeline);
	mt_vm_map_release(&s->map);
	memset(s, 0, sizeof(*s));
}

static int64_t intern(struct mt_vm_stat *s, enum mt_vm_origin_kind kind, const char *name,
		      const uint64_t *frames, uint32_t nframes, uint32_t end)
{
	struct mt_vm_origin *o;
	uint64_t h = 0xcbf29ce484222325ULL;
	uint32_t b, i;

	if (nframes > MT_VM_MAX_FRAMES)
		nframes = MT_VM_MAX_FRAMES;
	h = fnv(h, &kind, sizeof(kind));
	if (name)
		h = fnv(h, name, strlen(name));
	h = fnv(h, frames, nframes * sizeof(*frames));
	h = fnv(h, &end, sizeof(end));
	b = (uint32_t)(h % MT_VM_BUCKETS);
	for (i = s->buckets[b]; i != NONE; i = s->origins[i].next) {
		o = &s->origins[i];
		if (o->hash == h && o->kind == kind && o->nframes == nframes && o->end == end &&
		    (!nframes || !memcmp(o->frames, frames, nframes * sizeof(*frames))) &&
		    (!name || (o->name && !strcmp(o->name, name))))
			return i;
	}
	if (MT_GROW(s->origins, s->norigins + 1, s->origins_cap))
		return -ENOMEM;
	o = &s->origins[s->norigins];
	memset(o, 0, sizeof(*o));
	if (name && !(o->name = strdup(name)))
		return -ENOMEM;
	o->kind = kind;
	o->nframes = nframes;
	o->end = end;
	if (nframes)
		memcpy(o->frames, frames, nframes * sizeof(*frames));
	o->hash = h;
	o->last_call = UINT64_MAX;
	o->next = s->buckets[b];
	s->buckets[b] = s->norigins;
	return s->norigins++;
}

int64_t mt_vm_stat_origin(struct mt_vm_stat *s, enum mt_vm_origin_kind kind,
			  const uint64_t *frames, uint32_t nframes, uint32_t end)
{
	return intern(s, kind, NULL, frames, nframes, end);
}

int64_t mt_vm_stat_pre_origin(struct mt_vm_stat *s, const char *name)
{
	return intern(s, MT_VM_O_PRE, name && *name ? name : "[anon]", NULL, 0, 0);
}

static int64_t new_rec(struct mt_vm_stat *s, uint64_t start, uint64_t end, uint32_t origin,
		       uint32_t prot, uint64_t ts_ns)
{
	struct mt_vm_rec *r;
	uint32_t i;

	if (s->free_rec != NONE) {
		i = s->free_rec;
		s->free_rec = s->recs[i].next_free;
	} else {
		if (MT_GROW(s->recs, s->nrecs + 1, s->recs_cap))
			return -ENOMEM;
		i = s->nrecs++;
	}
	r = &s->recs[i];
	memset(r, 0, sizeof(*r));
	r->start = start;
	r->end = end;
	r->ts_ns = ts_ns;
	r->live_bytes = end - start;
	r->origin = origin;
	r->prot = prot;
	r->next_free = NONE;
	r->alive = true;
	return i;
}

/* A record whose last byte went: keep it if it is among the top faulters,
 * then recycle its slot (programs that map and unmap in a loop would grow
 * the array without bound otherwise). */
static void rec_kill(struct mt_vm_stat *s, uint32_t i)
{
	struct mt_vm_rec r = s->recs[i];
	uint32_t k;

	r.alive = false;
	if (r.bytes_faulted && (s->ndead < MT_VM_TOP_DEAD ||
				r.bytes_faulted > s->dead[s->ndead - 1].bytes_faulted)) {
		if (s->ndead < MT_VM_TOP_DEAD)
			s->ndead++;
		for (k = s->ndead - 1; k > 0 && s->dead[k - 1].bytes_faulted < r.bytes_faulted; k--)
			s->dead[k] = s->dead[k - 1];
		s->dead[k] = r;
	}
	s->recs[i].alive = false;
	s->recs[i].next_free = s->free_rec;
	s->free_rec = i;
}

struct removal {
	struct mt_vm_stat *s;
	bool count;          /* an explicit unmap: count bytes and calls */
	uint32_t keep;       /* record being moved (mremap): never killed */
	uint64_t bytes;
};

static void piece_removed(void *arg, const struct mt_vm_area *p)
{
	struct removal *rm = arg;
	struct mt_vm_stat *s = rm->s;
	struct mt_vm_rec *r = &s->recs[p->rec];
	uint64_t bytes = p->end - p->start;

	r->live_bytes -= bytes < r->live_bytes ? bytes : r->live_bytes;
	if (rm->count) {
		struct mt_vm_origin *o = &s->origins[r->origin];

		o->c.bytes_unmapped += bytes;
		if (o->last_call != s->call_serial) {
			o->last_call = s->call_serial;
			o->c.munmaps++;
		}
	}
	rm->bytes += bytes;
	if (r->live_bytes == 0 && p->rec != rm->keep)
		rec_kill(s, p->rec);
}

static int remove_range(struct mt_vm_stat *s, uint64_t start, uint64_t end, bool count,
			uint32_t keep, uint64_t *bytes)
{
	struct removal rm = { .s = s, .count = count, .keep = keep };
	int err = mt_vm_map_remove(&s->map, start, end, piece_removed, &rm);

	if (bytes)
		*bytes = rm.bytes;
	return err;
}

/* Map [start, end) as a new record of origin. */
static int map_new(struct mt_vm_stat *s, uint64_t start, uint64_t end, uint32_t origin,
		   uint32_t prot, uint64_t ts_ns)
{
	int64_t r;
	int err;

	err = remove_range(s, start, end, false, NONE, NULL);
	if (err)
		return err;
	r = new_rec(s, start, end, origin, prot, ts_ns);
	if (r < 0)
		return (int)r;
	return mt_vm_map_insert(&s->map, start, end, (uint32_t)r, prot);
}

int mt_vm_stat_add_pre(struct mt_vm_stat *s, uint64_t start, uint64_t end,
		       uint32_t prot, const char *name)
{
	int64_t o = -1;
	uint64_t at = start;

	while (at < end) {
		const struct mt_vm_area *a = mt_vm_map_find(&s->map, at);
		uint64_t gap_end = end;
		size_t k;
		int err;

		if (a) {
			at = a->end;
			continue;
		}
		/* the gap ends at the next known area */
		for (k = 0; k < s->map.n; k++)
			if (s->map.a[k].start > at) {
				if (s->map.a[k].start < gap_end)
					gap_end = s->map.a[k].start;
				break;
			}
		if (o < 0 && (o = mt_vm_stat_pre_origin(s, name)) < 0)
			return (int)o;
		err = map_new(s, at, gap_end, (uint32_t)o, prot, 0);
		if (err)
			return err;
		at = gap_end;
	}
	return 0;
}

struct release {
	struct mt_vm_stat *s;
	uint64_t bytes;
};

static void piece_released(void *arg, const struct mt_vm_area *p)
{
	struct release *rl = arg;
	struct mt_vm_rec *r = &rl->s->recs[p->rec];
	uint64_t bytes = p->end - p->start;

	r->bytes_released += bytes;
	rl->s->origins[r->origin].c.bytes_released += bytes;
	rl->bytes += bytes;
}

static int do_mremap(struct mt_vm_stat *s, const struct mt_vm_call *ev, uint32_t origin)
{
	uint64_t old = ev->addr, old_len = page_up(ev->len), new_len = page_up(ev->len2);
	const struct mt_vm_area *a = mt_vm_map_find(&s->map, old);
	struct mt_vm_origin *o;
	struct mt_vm_rec *r;
	int64_t ri;
	int err;

	s->t.mremaps++;
	if (!a || old_len == 0 || (ev->flags & MREMAP_DONTUNMAP)) {
		/* A new range: unknown source, a shared mapping duplicated
		 * (old_len 0), or the old range kept (DONTUNMAP). */
		err = map_new(s, ev->ret, ev->ret + new_len, origin,
			      a ? a->prot : PROT_READ | PROT_WRITE, ev->ts_ns);
		if (err)
			return err;
		o = &s->origins[origin];
		o->c.mremaps++;
		o->c.bytes_mapped += new_len;
		s->t.mapped_bytes += new_len;
		return 0;
	}
	ri = a->rec;
	r = &s->recs[ri];
	o = &s->origins[r->origin];
	err = remove_range(s, old, old + old_len, false, (uint32_t)ri, NULL);
	if (err)
		return err;
	err = remove_range(s, ev->ret, ev->ret + new_len, false, (uint32_t)ri, NULL);
	if (err)
		return err;
	err = mt_vm_map_insert(&s->map, ev->ret, ev->ret + new_len, (uint32_t)ri, r->prot);
	if (err)
		return err;
	r->live_bytes += new_len;
	r->start = ev->ret;
	r->end = ev->ret + new_len;
	o->c.mremaps++;
	if (new_len > old_len) {
		o->c.bytes_mapped += new_len - old_len;
		s->t.mapped_bytes += new_len - old_len;
	} else if (new_len < old_len) {
		o->c.bytes_unmapped += old_len - new_len;
		s->t.unmapped_bytes += old_len - new_len;
	}
	if (r->live_bytes == 0)
		rec_kill(s, (uint32_t)ri);
	return 0;
}

static int do_brk(struct mt_vm_stat *s, const struct mt_vm_call *ev, uint32_t origin)
{
	uint64_t old = ev->addr, brk = ev->ret, bytes;
	int err;

	s->t.brks++;
	if (brk > old) {
		err = map_new(s, page_up(old), page_up(brk), origin,
			      PROT_READ | PROT_WRITE, ev->ts_ns);
		if (err)
			return err;
		s->origins[origin].c.mmaps++;
		s->origins[origin].c.bytes_mapped += brk - old;
		s->t.brk_growth_bytes += brk - old;
		return 0;
	}
	err = remove_range(s, page_up(brk), page_up(old), true, NONE, &bytes);
	s->t.brk_shrink_bytes += old - brk;
	return err;
}

int mt_vm_stat_call(struct mt_vm_stat *s, const struct mt_vm_call *ev, uint32_t origin)
{
	uint64_t bytes;
	int err = 0;

	s->call_serial++;
	switch (ev->kind) {
	case MT_VM_MMAP:
		s->t.mmaps++;
		err = map_new(s, ev->ret, ev->ret + page_up(ev->len), origin, ev->prot, ev->ts_ns);
		if (err)
			return err;
		s->origins[origin].c.mmaps++;
		s->origins[origin].c.bytes_mapped += page_up(ev->len);
		s->t.mapped_bytes += page_up(ev->len);
		return 0;
	case MT_VM_MUNMAP:
		s->t.munmaps++;
		err = remove_range(s, ev->addr, ev->addr + page_up(ev->len), true, NONE, &bytes);
		s->t.unmapped_bytes += bytes;
		return err;
	case MT_VM_MREMAP:
		return do_mremap(s, ev, origin);
	case MT_VM_BRK:
		return do_brk(s, ev, origin);
	case MT_VM_MADVISE: {
		struct release rl = { .s = s };
		uint64_t len = page_up(ev->len);

		s->t.madvises++;
		mt_vm_map_visit(&s->map, ev->addr, ev->addr + len, piece_released, &rl);
		if (rl.bytes < len)
			s->origins[s->unknown].c.bytes_released += len - rl.bytes;
		s->t.released_bytes += len;
		return 0;
	}
	default:
		return -EINVAL;
	}
}

int mt_vm_stat_fault(struct mt_vm_stat *s, uint64_t addr, uint32_t error_code, bool force)
{
	const struct mt_vm_area *a = mt_vm_map_find(&s->map, addr);
	bool fills = !(error_code & MT_VM_PF_PROT);
	struct mt_vm_origin *o;

	if (!a && !force)
		return 0;
	s->t.page_faults++;
	if (fills)
		s->t.faults_not_present++;
	if (error_code & MT_VM_PF_KERNEL)
		s->t.faults_kernel++;
	if (!a) {
		s->t.faults_unknown++;
		o = &s->origins[s->unknown];
	} else {
		struct mt_vm_rec *r = &s->recs[a->rec];

		r->page_faults++;
		if (fills)
			r->bytes_faulted += MT_VM_PAGE;
		o = &s->origins[r->origin];
	}
	o->c.page_faults++;
	if (fills)
		o->c.bytes_faulted += MT_VM_PAGE;
	return a != NULL;
}

int mt_vm_stat_sample(struct mt_vm_stat *s, uint64_t now_ns, const uint64_t rss[MT_VM_RSS_N],
		      uint64_t live_bytes)
{
	struct mt_vm_point *p;

	if (MT_GROW(s->timeline, s->npoints + 1, s->points_cap))
		return -ENOMEM;
	p = &s->timeline[s->npoints++];
	p->t_ns = now_ns > s->start_ns ? now_ns - s->start_ns : 0;
	memcpy(p->rss, rss, sizeof(p->rss));
	p->live_bytes = live_bytes;
	p->page_faults = s->t.page_faults - s->faults_at_last_point;
	s->faults_at_last_point = s->t.page_faults;
	p->brk_bytes = s->t.brk_growth_bytes - s->t.brk_shrink_bytes;
	p->mapped_bytes = mt_vm_stat_mapped_now(s);
	return 0;
}

uint64_t mt_vm_stat_mapped_now(const struct mt_vm_stat *s)
{
	uint64_t bytes = 0;
	size_t i;

	for (i = 0; i < s->map.n; i++) {
		const struct mt_vm_area *a = &s->map.a[i];

		if (s->origins[s->recs[a->rec].origin].kind == MT_VM_O_MMAP)
			bytes += a->end - a->start;
	}
	return bytes;
}

static int cmp_rec(const void *x, const void *y)
{
	const struct mt_vm_rec *a = x, *b = y;

	if (a->bytes_faulted != b->bytes_faulted)
		return a->bytes_faulted < b->bytes_faulted ? 1 : -1;
	if (a->page_faults != b->page_faults)
		return a->page_faults < b->page_faults ? 1 : -1;
	return (a->start > b->start) - (a->start < b->start);
}

int mt_vm_stat_top_recs(const struct mt_vm_stat *s, size_t max, struct mt_vm_rec **out)
{
	struct mt_vm_rec *v = malloc((s->nrecs + s->ndead + 1) * sizeof(*v));
	size_t n = 0;
	uint32_t i;

	if (!v)
		return -ENOMEM;
	for (i = 0; i < s->nrecs; i++)
		if (s->recs[i].alive && s->recs[i].page_faults)
			v[n++] = s->recs[i];
	for (i = 0; i < s->ndead; i++)
		v[n++] = s->dead[i];
	qsort(v, n, sizeof(*v), cmp_rec);
	*out = v;
	return (int)(n < max ? n : max);
}

static const struct mt_vm_stat *sort_stat;   /* qsort has no context argument */

static int cmp_origin(const void *x, const void *y)
{
	const struct mt_vm_counts *a = &sort_stat->origins[*(const uint32_t *)x].c;
	const struct mt_vm_counts *b = &sort_stat->origins[*(const uint32_t *)y].c;

	if (a->bytes_faulted != b->bytes_faulted)
		return a->bytes_faulted < b->bytes_faulted ? 1 : -1;
	if (a->bytes_mapped != b->bytes_mapped)
		return a->bytes_mapped < b->bytes_mapped ? 1 : -1;
	return (*(const uint32_t *)x > *(const uint32_t *)y) -
	       (*(const uint32_t *)x < *(const uint32_t *)y);
}

int mt_vm_stat_sorted_origins(const struct mt_vm_stat *s, uint32_t **out)
{
	uint32_t *v = malloc((s->norigins + 1) * sizeof(*v)), i, n = 0;

	if (!v)
		return -ENOMEM;
	for (i = 0; i < s->norigins; i++) {
		const struct mt_vm_counts *c = &s->origins[i].c;

		if (c->mmaps || c->mremaps || c->munmaps || c->bytes_released || c->page_faults)
			v[n++] = i;
	}
	sort_stat = s;
	qsort(v, n, sizeof(*v), cmp_origin);
	*out = v;
	return (int)n;
}
