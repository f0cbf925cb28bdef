// SPDX-License-Identifier: BSD-2-Clause
/*
 * The pools of the target: created and destroyed as the probes say, their
 * counters read from the target's memory by their provider's reader, a
 * timeline point per read, and at the end the idle objects handed back to
 * the pools out of the heap's live table. See pools/mt_pools.h.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pools/mt_pools_int.h"
#include "util/mt_grow.h"
#include "util/mt_log.h"
#include "util/mt_maps.h"
#include "util/mt_time.h"
#include <sys/mman.h>

/*
 * The stack of a record as a site: the frame-pointer walk, plus the word
 * at the stack pointer when it is a return address the walk skipped (a
 * probe in a function that has not pushed its frame yet): an address in an
 * executable mapping of the target that is not the walk's next frame.
 */
static uint32_t record_site(struct mt_pools *p, const struct mt_pool_event *ev)
{
	uint64_t f[MT_POOL_STACK + 1];
	uint32_t n = ev->nframes < MT_POOL_STACK ? ev->nframes : MT_POOL_STACK, k = 0;
	struct mt_frame fr;

	while (n && !ev->frames[n - 1])
		n--;
	for (uint32_t i = 0; i < n; i++) {
		f[k++] = ev->frames[i];
		if (i == 0 && ev->sp0 && (n < 2 || ev->frames[1] != ev->sp0) && p->sym &&
		    (mt_sym_resolve(p->sym, ev->sp0, true, &fr) == 0 || fr.module))
			f[k++] = ev->sp0;
	}
	return mt_agg_site(p->stacks, f, k);
}

/* The live pool at addr (the newest: an address is reused after destroy). */
static struct mt_pool *find(struct mt_pools *p, uint64_t addr)
{
	for (size_t i = p->npools; i-- > 0;)
		if (p->pools[i].addr == addr && !p->pools[i].destroyed)
			return &p->pools[i];
	return NULL;
}

/* A timeline of at most MT_POOL_POINTS points: when full, every other
 * point goes (the older half's resolution halves, as a long run needs). */
#define MT_POOL_POINTS 1024

static void point(struct mt_pools *p, struct mt_pool *pl, uint64_t now_ns)
{
	struct mt_pool_point *pt;
	uint64_t co = pl->st.live;

	if (co > pl->peak_checked_out)
		pl->peak_checked_out = co;
	if (pl->ntl == MT_POOL_POINTS) {
		for (size_t i = 1; i < MT_POOL_POINTS / 2; i++)
			pl->tl[i] = pl->tl[2 * i];
		pl->ntl = MT_POOL_POINTS / 2;
	}
	if (MT_GROW(pl->tl, pl->ntl + 1, pl->tl_cap))
		return;   /* a missing point, not a wrong one */
	pt = &pl->tl[pl->ntl++];
	pt->t_ms = now_ns > p->start_ns ? (now_ns - p->start_ns) / 1000000 : 0;
	pt->checked_out = co;
	pt->idle = pl->st.cached;
	pt->bytes_reserved = pl->st.bytes_reserved;
}

static void on_create(struct mt_pools *p, const struct mt_pool_event *ev)
{
	struct mt_pool *pl;

	if (MT_GROW(p->pools, p->npools + 1, p->pools_cap))
		return;
	pl = &p->pools[p->npools++];
	memset(pl, 0, sizeof(*pl));
	pl->addr = ev->pool;
	pl->layout = ev->layout;
	pl->prov = &mt_pool_providers[ev->provider < mt_pool_nproviders ? ev->provider : 0];
	pl->obj_size = ev->obj;
	memcpy(pl->name, ev->name, sizeof(pl->name));
	pl->name[sizeof(pl->name) - 1] = 0;
	memcpy(pl->kind, ev->what, sizeof(pl->kind));
	pl->kind[sizeof(pl->kind) - 1] = 0;
}

static void on_destroy(struct mt_pools *p, const struct mt_pool_event *ev)
{
	struct mt_pool *pl = find(p, ev->pool);

	if (!pl)
		return;   /* created before attach */
	if (!ev->layout) {   /* the library's own last counters */
		pl->st = ev->st;
		pl->have_stats = true;
		pl->read_err = 0;
	}
	mt_pools_slow_read(p, pl->addr, &pl->slow, true);
	point(p, pl, ev->ts_ns);
	pl->destroyed = true;
}

static void on_error(struct mt_pools *p, const struct mt_pool_event *ev)
{
	uint32_t site = record_site(p, ev);
	struct mt_pool_err *e;

	for (size_t i = 0; i < p->nerrs; i++) {
		e = &p->errs[i];
		if (e->site == site && !strncmp(e->what, ev->what, MT_POOL_STR) &&
		    !strncmp(e->name, ev->name, MT_POOL_STR)) {
			e->count++;
			return;
		}
	}
	if (MT_GROW(p->errs, p->nerrs + 1, p->errs_cap))
		return;
	e = &p->errs[p->nerrs++];
	memcpy(e->what, ev->what, MT_POOL_STR);
	e->what[MT_POOL_STR - 1] = 0;
	memcpy(e->name, ev->name, MT_POOL_STR);
	e->name[MT_POOL_STR - 1] = 0;
	e->addr = ev->obj;
	e->ts_ns = ev->ts_ns;
	e->site = site;
	e->count = 1;
}

/* --pool-events: the checked-out objects are the stacks aggregator's live
 * table (size: the pool's object size), so what is left at the end are
 * pool leaks by get stack. */
static void on_get(struct mt_pools *p, const struct mt_pool_event *ev)
{
	struct mt_pool *pl = find(p, ev->pool);
	uint32_t site = record_site(p, ev);

	if (!pl)
		return;
	mt_agg_alloc(p->stacks, ev->ts_ns, ev->obj, pl->obj_size, site);
	pl->ev_out++;
	if (pl->ev_out > 0 && (uint64_t)pl->ev_out > pl->peak_checked_out)
		pl->peak_checked_out = (uint64_t)pl->ev_out;
}

static void on_put(struct mt_pools *p, const struct mt_pool_event *ev)
{
	struct mt_pool *pl = find(p, ev->pool);

	if (pl && mt_agg_release(p->stacks, ev->ts_ns, ev->obj) == 1)
		pl->ev_out--;
}

int mt_pools_on_event(void *ctx, void *data, size_t size)
{
	struct mt_pools *p = ctx;
	const struct mt_pool_event *ev = data;

	if (size < sizeof(*ev))
		return 0;
	switch (ev->role) {
	case MT_POOL_CREATE: on_create(p, ev); break;
	case MT_POOL_DESTROY: on_destroy(p, ev); break;
	case MT_POOL_DEBUG_ERROR: on_error(p, ev); break;
	case MT_POOL_GET: on_get(p, ev); break;
	case MT_POOL_PUT: on_put(p, ev); break;
	default: break;
	}
	return 0;
}

struct discover_ctx {
	struct mt_pools *p;
	unsigned provider;
};

static void add_existing(void *arg, uint64_t pool, uint64_t layout, const char *name,
			 const char *kind, uint64_t obj_size)
{
	struct discover_ctx *c = arg;
	struct mt_pools *p = c->p;
	struct mt_pool_event ev = { .role = MT_POOL_CREATE, .pool = pool, .obj = obj_size,
				    .layout = layout, .provider = c->provider };

	if (find(p, pool))
		return;   /* its create probe was seen already */
	snprintf(ev.name, sizeof(ev.name), "%s", name);
	snprintf(ev.what, sizeof(ev.what), "%s", kind);
	on_create(p, &ev);
}

/* Attach mode: the pools created before memtrace came, from each library
 * whose provider can list them. The probes are on first, so a pool
 * created meanwhile is seen by one or the other (twice: kept once). */
void mt_pools_discover(struct mt_pools *p)
{
	mt_pools_consume(p);
	for (unsigned i = 0; i < p->nfiles; i++) {
		struct discover_ctx c = { p, (unsigned)(p->found[i] - mt_pool_providers) };
		int err;

		if (!p->found[i]->discover)
			continue;
		err = p->found[i]->discover(p->pid, p->files[i], add_existing, &c);
		if (err && err != -ENOENT)
			mt_err("warning: cannot list the existing %s pools in '%s': %s",
			       p->found[i]->provider, p->files[i], strerror(-err));
	}
}

int mt_pools_open(const struct mt_pools_opts *o, struct mt_pools **out)
{
	struct mt_pools *p;
	bool any = false;
	int err;

	*out = NULL;
	/* Most programs have no pool library: no BPF load, no ring buffer. */
	for (size_t i = 0; i < o->nfiles && !any; i++) {
		char path[PATH_MAX];

		mt_pools_target_path(o->pid, o->files[i], path);
		for (unsigned k = 0; k < mt_pool_nproviders && !any; k++)
			any = mt_pools_file_has(path, mt_pool_providers[k].provider);
	}
	if (!any)
		return -ENOENT;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->pid = o->pid;
	p->events = o->events;
	p->start_ns = mt_now_ns();
	p->stacks = mt_agg_new(p->start_ns);
	if (!p->stacks) {
		free(p);
		return -ENOMEM;
	}
	err = mt_pools_load(p, o);
	if (err) {
		mt_pools_free(p);
		return err;
	}
	if (o->existing)
		mt_pools_discover(p);
	*out = p;
	return 0;
}

void mt_pools_set_sym(struct mt_pools *p, struct mt_sym *sym)
{
	if (p)
		p->sym = sym;
}

/* Read one live pool; idle: also its idle objects. */
static void read_pool(struct mt_pools *p, struct mt_pool *pl, bool idle)
{
	struct mt_pool_read r;
	int err = pl->prov->read(p->pid, pl->addr, pl->layout, idle, &r);

	pl->read_err = err;
	mt_pools_slow_read(p, pl->addr, &pl->slow, false);
	if (err)
		return;
	pl->st = r.st;
	pl->have_stats = true;
	free(pl->idle);
	pl->idle = r.idle;
	pl->nidle = r.nidle;
}

void mt_pools_sample(struct mt_pools *p, uint64_t now_ns)
{
	if (!p || p->finished)
		return;
	mt_pools_consume(p);
	for (size_t i = 0; i < p->npools; i++) {
		struct mt_pool *pl = &p->pools[i];

		if (pl->destroyed)
			continue;
		read_pool(p, pl, false);
		if (!pl->read_err)
			point(p, pl, now_ns);
	}
}

void mt_pools_finish(struct mt_pools *p, uint64_t now_ns)
{
	if (!p || p->finished)
		return;
	mt_pools_consume(p);
	for (size_t i = 0; i < p->npools; i++) {
		struct mt_pool *pl = &p->pools[i];

		if (pl->destroyed)
			continue;
		read_pool(p, pl, true);
		if (pl->read_err)
			mt_err("warning: cannot read pool '%s' at 0x%llx: %s", pl->name,
			       (unsigned long long)pl->addr, strerror(-pl->read_err));
		else
			point(p, pl, now_ns);
	}
	p->finished = true;
}

void mt_pools_detach(struct mt_pools *p)
{
	if (!p || p->detached)
		return;
	mt_pools_unload(p);   /* waits for probes in flight */
	mt_pools_consume(p);
	p->detached = true;
}

void mt_pools_claim(struct mt_pools *p, struct mt_agg *heap)
{
	if (!p || !heap)
		return;
	for (size_t i = 0; i < p->npools; i++) {
		struct mt_pool *pl = &p->pools[i];

		for (size_t k = 0; k < pl->nidle; k++) {
			uint64_t size = 0;

			if (mt_agg_claim(heap, pl->idle[k], &size) == 1) {
				pl->claimed_objects++;
				pl->claimed_bytes += size;
			}
		}
		free(pl->idle);   /* claimed once */
		pl->idle = NULL;
		pl->nidle = 0;
	}
}

uint64_t mt_pools_lost(const struct mt_pools *p)
{
	return p ? mt_pools_bpf_lost(p) : 0;
}

uint64_t mt_pools_lost_arg(const void *p)
{
	return mt_pools_lost(p);
}

struct files_ctx {
	char **files;
	size_t n, cap;
	int err;
};

static int add_file(void *arg, const struct mt_maps_ent *e)
{
	struct files_ctx *c = arg;

	if (!(e->prot & PROT_EXEC) || e->name[0] != '/')
		return 0;
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->files[i], e->name))
			return 0;
	if (MT_GROW(c->files, c->n + 1, c->cap) || !(c->files[c->n] = strdup(e->name)))
		return c->err = -ENOMEM;
	c->n++;
	return 0;
}

int mt_pools_maps_files(pid_t pid, char ***files, size_t *n)
{
	struct files_ctx c = { 0 };
	char path[64];
	FILE *f;
	int err;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	err = mt_maps_read(f, add_file, &c);
	fclose(f);
	if (err) {
		mt_pools_free_files(c.files, c.n);
		return err;
	}
	*files = c.files;
	*n = c.n;
	return 0;
}

void mt_pools_free_files(char **files, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(files[i]);
	free(files);
}

void mt_pools_free(struct mt_pools *p)
{
	if (!p)
		return;
	mt_pools_free_bpf(p);
	for (size_t i = 0; i < p->npools; i++) {
		free(p->pools[i].idle);
		free(p->pools[i].tl);
	}
	free(p->pools);
	free(p->errs);
	mt_agg_free(p->stacks);
	free(p);
}
