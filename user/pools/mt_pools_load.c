// SPDX-License-Identifier: BSD-2-Clause
/*
 * The pools tracer's loader: opens bpf/pools.bpf.c with the target's tgid
 * in rodata and attaches, in each file given, the probes of every provider
 * of the table (mt_pools_prov.c) that the file has. libbpf reads the USDT
 * notes and makes the kernel raise each probe's semaphore in the target
 * while attached (uprobe reference counters), so an untraced library pays
 * nothing and the target's inline get/put stay inline unless
 * --pool-events attaches get and put.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "pools/mt_pools_int.h"
#include "probe/mt_bpf_util.h"
#include "util/mt_grow.h"
#include "util/mt_log.h"
#include "pools.skel.h"

static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return 0;
}

static struct bpf_program *role_prog(struct pools_bpf *s, enum mt_pp_role r)
{
	switch (r) {
	case MT_PP_CREATE: return s->progs.mt_pool_create;
	case MT_PP_DESTROY: return s->progs.mt_pool_destroy;
	case MT_PP_MISS: return s->progs.mt_pool_miss;
	case MT_PP_REFILL: return s->progs.mt_pool_refill;
	case MT_PP_FLUSH: return s->progs.mt_pool_flush;
	case MT_PP_DEBUG_ERROR: return s->progs.mt_pool_debug_error;
	case MT_PP_GET: return s->progs.mt_pool_get;
	case MT_PP_PUT: return s->progs.mt_pool_put;
	default: return NULL;
	}
}

/* Attach one USDT: 0, or -errno (-ENOENT: the file has no such probe). */
static int attach_one(struct mt_pools *p, struct bpf_program *prog, const char *path,
		      const char *prov, const char *name, unsigned index)
{
	/* The cookie tells the records which provider's probe fired. */
	LIBBPF_OPTS(bpf_usdt_opts, uo, .usdt_cookie = index);
	struct bpf_link *l;

	if (MT_GROW(p->links, p->nlinks + 1, p->links_cap))
		return -ENOMEM;
	l = bpf_program__attach_usdt(prog, p->pid, path, prov, name, &uo);
	if (!l)
		return -errno;
	p->links[p->nlinks++] = l;
	return 0;
}

/* Every probe of provider pv in path; -ENOENT when it has no create
 * probe (not this provider's file). */
static int attach_provider(struct mt_pools *p, const char *path, unsigned index, bool events)
{
	const struct mt_pool_provider *pv = &mt_pool_providers[index];
	libbpf_print_fn_t old = libbpf_set_print(quiet_print);
	size_t first = p->nlinks;
	int err = 0;

	for (int r = 0; r < MT_PP_N && !err; r++) {
		if (!pv->probe[r] || (!events && (r == MT_PP_GET || r == MT_PP_PUT)))
			continue;
		if (pv->slow_in_memory && (r == MT_PP_MISS || r == MT_PP_REFILL || r == MT_PP_FLUSH))
			continue;   /* read from memory: no trap on the slow paths either */
		err = attach_one(p, role_prog(p->skel, r), path, pv->provider, pv->probe[r], index);
		if (err == -ENOENT && r != MT_PP_CREATE)
			err = 0;   /* an optional role this build lacks */
	}
	libbpf_set_print(old);
	if (err) {
		while (p->nlinks > first)
			bpf_link__destroy(p->links[--p->nlinks]);
	}
	return err;
}

int mt_pools_load(struct mt_pools *p, const struct mt_pools_opts *o)
{
	libbpf_print_fn_t old;
	int err;

	p->skel = pools_bpf__open();
	if (!p->skel) {
		err = -errno;
		mt_err("cannot open the pools BPF program: %s", strerror(-err));
		return err;
	}
	p->skel->rodata->target_tgid = (__u32)o->pid;
	/* Without --pool-events the ring carries only creates, destroys and
	 * debug-mode errors: 256 KiB (512 KiB of memtrace's RSS, the ring is
	 * mapped twice) instead of the 4 MiB every get and put needs. */
	p->skel->rodata->wakeup_bytes = o->events ? 256 << 10 : 64 << 10;
	if (!o->events && (err = bpf_map__set_max_entries(p->skel->maps.mt_pool_events, 256 << 10))) {
		mt_err("cannot size the pools ring buffer: %s", strerror(-err));
		return err;
	}
	old = mt_verbose ? NULL : libbpf_set_print(quiet_print);
	err = pools_bpf__load(p->skel);
	if (!mt_verbose)
		libbpf_set_print(old);
	if (err) {
		mt_err("cannot load the pools BPF program: %s", strerror(-err));
		return err;
	}
	for (size_t i = 0; i < o->nfiles; i++) {
		for (unsigned k = 0; k < mt_pool_nproviders; k++) {
			const struct mt_pool_provider *pv = &mt_pool_providers[k];

			char path[PATH_MAX];

			/* the maps' name is kept for the discovery; libbpf opens
			 * the file through the target's root */
			err = attach_provider(p, mt_pools_target_path(o->pid, o->files[i], path), k,
					      o->events);
			if (err == -ENOENT || err == -EINVAL || err == -ENOEXEC)
				continue;   /* not this file's provider, or no ELF */
			if (err) {
				mt_err("cannot attach the %s probes in '%s': %s", pv->provider,
				       o->files[i], strerror(-err));
				return err;
			}
			mt_debug("pools: %s probes in '%s'", pv->provider, o->files[i]);
			if (p->nfiles < MT_POOLS_MAX_FILES) {
				snprintf(p->files[p->nfiles], sizeof(p->files[0]), "%s", o->files[i]);
				p->found[p->nfiles++] = pv;
			} else {
				mt_info("pools: more than %d files with pool probes; existing pools "
					"of '%s' are not listed in attach mode", MT_POOLS_MAX_FILES,
					o->files[i]);
			}
		}
	}
	if (!p->nfiles)
		return -ENOENT;
	p->rb = ring_buffer__new(bpf_map__fd(p->skel->maps.mt_pool_events), mt_pools_on_event, p,
				 NULL);
	if (!p->rb) {
		err = -errno;
		mt_err("cannot read the pools ring buffer: %s", strerror(-err));
		return err;
	}
	p->skel->bss->mt_pool_enabled = 1;
	return 0;
}

void mt_pools_slow_read(struct mt_pools *p, uint64_t addr, struct mt_pool_slow *out, bool del)
{
	int fd = bpf_map__fd(p->skel->maps.mt_pool_slow);

	if (bpf_map_lookup_elem(fd, &addr, out))
		memset(out, 0, sizeof(*out));
	else if (del)
		bpf_map_delete_elem(fd, &addr);
}

uint64_t mt_pools_bpf_lost(const struct mt_pools *p)
{
	uint64_t v[MT_POOL_C_N] = { 0 };

	if (!p->skel)
		return 0;
	for (unsigned i = 0; i < MT_POOL_C_N; i++)
		mt_bpf_percpu_sum(bpf_map__fd(p->skel->maps.mt_pool_counters), i, &v[i]);
	return v[MT_POOL_C_LOST] + v[MT_POOL_C_NOSLOW];
}

void mt_pools_unload(struct mt_pools *p)
{
	while (p->nlinks)
		bpf_link__destroy(p->links[--p->nlinks]);
	free(p->links);
	p->links = NULL;
	p->links_cap = 0;
}

void mt_pools_free_bpf(struct mt_pools *p)
{
	mt_pools_unload(p);
	ring_buffer__free(p->rb);
	pools_bpf__destroy(p->skel);
}

int mt_pools_poll_fd(struct mt_pools *p)
{
	return p && p->rb ? ring_buffer__epoll_fd(p->rb) : -1;
}

int mt_pools_consume(struct mt_pools *p)
{
	int n;

	if (!p || !p->rb)
		return 0;
	n = ring_buffer__consume(p->rb);
	return n < 0 ? n : 0;
}

uint64_t mt_pools_map_bytes(const struct mt_pools *p, uint64_t *ring_bytes)
{
	return mt_bpf_obj_map_bytes(p && p->skel ? p->skel->obj : NULL, ring_bytes);
}
