// SPDX-License-Identifier: BSD-2-Clause
/*
 * Symbolizer on elfutils libdwfl. See mt_sym.h for the contract; this file
 * holds the mappings, the cache and the API, mt_sym_mod.c the modules,
 * mt_sym_frame.c the lookup of one address (mt_sym_int.h).
 *
 * Layout:
 *   regions  executable file mappings of the target, sorted by start, no
 *            overlaps; each points to the module of its file. Address ->
 *            region is a binary search.
 *   modules  one per (file, load bias): the file we opened, its Dwfl_Module
 *            (NULL for files that are not ELF or could not be opened) and a
 *            sorted function table built on first use.
 *   cache    open addressing on (addr, is_return) -> the real frame and
 *            the frames inlined at the address.
 *   strs     strings we made (demangled names), freed with the mt_sym.
 *
 * All files are opened while the target lives and libdwfl keeps them (and
 * the separate debuginfo we found for it: mt_sym_find_debuginfo) open until
 * mt_sym_free, so resolving after the target exited needs nothing from
 * /proc. A module whose debug file arrives later from debuginfod is
 * reported again in a Dwfl of its own; the first one stays, so strings
 * handed out before remain valid.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "sym/mt_debuginfod.h"
#include "sym/mt_sym_int.h"
#include "util/mt_grow.h"
#include "util/mt_log.h"
#include "util/mt_maps.h"

void mt_sym_cache_clear(struct mt_sym *s)
{
	for (size_t i = 0; i < s->cache_cap; i++)
		free(s->cache[i].inl);
	memset(s->cache, 0, s->cache_cap * sizeof(*s->cache));
	s->cache_used = 0;
}

void mt_sym_free(struct mt_sym *s)
{
	if (!s)
		return;
	/* first: the worker may still be downloading */
	mt_debuginfod_free(s->dinfod);
	if (s->cache)
		mt_sym_cache_clear(s);
	free(s->spare.inl);
	for (size_t i = 0; i < s->nmods; i++)
		mt_sym_mod_free(s->mods[i]);
	free(s->mods);
	free(s->regions);
	free(s->cache);
	for (size_t i = 0; i < s->nxdwfl; i++)
		dwfl_end(s->xdwfl[i]);
	free(s->xdwfl);
	for (size_t i = 0; i < s->nstrs; i++)
		free(s->strs[i]);
	free(s->strs);
	if (s->dwfl)
		dwfl_end(s->dwfl);  /* closes the module fds */
	if (s->procfd >= 0)
		close(s->procfd);
	free(s);
}

static int mt_sym_cache_init(struct mt_sym *s, size_t cap)
{
	s->cache = calloc(cap, sizeof(*s->cache));
	if (!s->cache)
		return -ENOMEM;
	s->cache_cap = cap;
	s->cache_used = 0;
	return 0;
}

/* The target sees another root than ours (a container): debug files are
 * searched in both. */
static bool mt_sym_own_root(const char *root)
{
	struct stat a, b;

	return stat(root, &a) == 0 && stat("/", &b) == 0 &&
	       (a.st_dev != b.st_dev || a.st_ino != b.st_ino);
}

struct mt_sym *mt_sym_new(pid_t pid)
{
	struct mt_sym *s = NULL;
	char dir[32];
	int err;

	if (pid <= 0) {
		err = -EINVAL;
		goto cleanup;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		err = -ENOMEM;
		goto cleanup;
	}
	s->pid = pid;
	snprintf(dir, sizeof(dir), "/proc/%d", (int)pid);
	s->procfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->procfd < 0) {
		err = errno == ENOENT ? -ESRCH : -errno;
		goto cleanup;
	}
	snprintf(s->root, sizeof(s->root), "/proc/%d/root", (int)pid);
	s->host_too = mt_sym_own_root(s->root);
	/* NULL without $DEBUGINFOD_URLS; a failure to start it costs names only */
	s->dinfod = mt_debuginfod_new();
	if (!s->dinfod && errno)
		mt_info("debuginfod lookups disabled: %s", strerror(errno));
	elf_version(EV_CURRENT);
	s->dwfl = dwfl_begin(&mt_sym_callbacks);
	if (!s->dwfl) {
		err = -ENOMEM;
		goto cleanup;
	}
	err = mt_sym_cache_init(s, MT_SYM_CACHE_MIN);
	if (err)
		goto cleanup;
	err = mt_sym_refresh(s);
cleanup:
	if (err) {
		mt_sym_free(s);
		errno = -err;
		return NULL;
	}
	return s;
}

/* Index of the first region with end > addr. */
static size_t mt_sym_region_lower(const struct mt_sym *s, uint64_t addr)
{
	size_t lo = 0, hi = s->nregions;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->regions[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct mt_sym_region *mt_sym_region_find(const struct mt_sym *s,
						      uint64_t addr)
{
	size_t i = mt_sym_region_lower(s, addr);

	if (i < s->nregions && s->regions[i].start <= addr)
		return &s->regions[i];
	return NULL;
}

/* Insert r, dropping regions it overlaps: those were unmapped since (a
 * dlclose and a new mapping in its place); the newest mapping wins. */
static int mt_sym_region_insert(struct mt_sym *s, const struct mt_sym_region *r)
{
	size_t i = mt_sym_region_lower(s, r->start), j = i;

	while (j < s->nregions && s->regions[j].start < r->end)
		j++;
	if (j == i && MT_GROW(s->regions, s->nregions + 1, s->cap_regions))
		return -ENOMEM;
	/* replace [i, j) by r */
	memmove(&s->regions[i + 1], &s->regions[j],
		(s->nregions - j) * sizeof(*s->regions));
	s->regions[i] = *r;
	s->nregions = s->nregions - (j - i) + 1;
	return 0;
}

/* Handle one maps line; *added is set when a new region was recorded.
 * Lines other than executable file mappings ([vdso], [heap], anonymous,
 * unparsable) are skipped. */
struct mt_sym_refresh_ctx {
	struct mt_sym *s;
	bool added, any;
};

static int mt_sym_maps_ent(void *arg, const struct mt_maps_ent *e)
{
	struct mt_sym_refresh_ctx *c = arg;
	struct mt_sym *s = c->s;
	struct mt_sym_region r = { .start = e->start, .end = e->end, .off = e->off, .ino = e->ino };
	const struct mt_sym_region *old;
	struct mt_sym_mod *m;
	char path[PATH_MAX];
	size_t len = strlen(e->name);
	bool deleted = false;
	dev_t dev;
	int err;

	c->any = true;
	if (!(e->prot & PROT_EXEC) || e->name[0] != '/' || r.start >= r.end || len >= sizeof(path))
		return 0;
	memcpy(path, e->name, len + 1);
	if (len > strlen(MT_SYM_DELETED) &&
	    !strcmp(path + len - strlen(MT_SYM_DELETED), MT_SYM_DELETED)) {
		path[len - strlen(MT_SYM_DELETED)] = '\0';
		deleted = true;
	}
	old = mt_sym_region_find(s, r.start);
	if (old && old->start == r.start && old->end == r.end &&
	    old->off == r.off && old->ino == r.ino && !strcmp(old->mod->path, path))
		return 0;  /* known; refresh is this check for most lines */

	dev = makedev(e->dev_major, e->dev_minor);
	m = mt_sym_mod_find(s, dev, &r, path);
	if (!m) {
		err = mt_sym_mod_create(s, path, deleted, dev, &r, &m);
		if (err)
			return err;
	}
	r.mod = m;
	err = mt_sym_region_insert(s, &r);
	if (!err)
		c->added = true;
	return err;
}

int mt_sym_refresh(struct mt_sym *s)
{
	struct mt_sym_refresh_ctx c = { .s = s };
	FILE *f = NULL;
	bool reporting = false;
	int fd, err = 0;

	if (!s)
		return -EINVAL;
	fd = openat(s->procfd, "maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = errno == ENOENT ? -ESRCH : -errno;
		goto cleanup;
	}
	f = fdopen(fd, "r");
	if (!f) {
		err = -errno;
		close(fd);
		goto cleanup;
	}
	/* begin_add keeps the modules already reported */
	dwfl_report_begin_add(s->dwfl);
	reporting = true;
	err = mt_maps_read(f, mt_sym_maps_ent, &c);
	/* A process that exits while we read fails the read with ENOENT (or
	 * no cause); every live process has mappings, a zombie's read empty. */
	if (err == -ENOENT || err == -EIO || (!err && !c.any))
		err = -ESRCH;
cleanup:
	if (reporting)
		dwfl_report_end(s->dwfl, NULL, NULL);
	/* A new mapping can give a name to an address cached as unknown, or
	 * replace one that was unmapped: start over. */
	if (c.added)
		mt_sym_cache_clear(s);
	if (f)
		fclose(f);
	return err;
}

static size_t mt_sym_cache_slot(const struct mt_sym *s, uint64_t addr, bool is_return)
{
	/* Fibonacci hashing: return addresses share low-bit patterns */
	uint64_t h = (addr ^ (uint64_t)is_return) * 0x9e3779b97f4a7c15ull;

	return (size_t)(h >> 32) & (s->cache_cap - 1);
}

static struct mt_sym_cache_ent *mt_sym_cache_find(struct mt_sym *s, uint64_t addr,
						  bool is_return)
{
	size_t i = mt_sym_cache_slot(s, addr, is_return);

	for (;; i = (i + 1) & (s->cache_cap - 1)) {
		struct mt_sym_cache_ent *e = &s->cache[i];

		if (!e->used || (e->f.addr == addr && e->is_return == is_return))
			return e;
	}
}

/* Keeps the load at or below 1/2 so probes stay short. */
static int mt_sym_cache_grow(struct mt_sym *s)
{
	struct mt_sym_cache_ent *old = s->cache;
	size_t old_cap = s->cache_cap;
	int err;

	err = mt_sym_cache_init(s, old_cap * 2);
	if (err) {
		s->cache = old;
		s->cache_cap = old_cap;
		return err;
	}
	for (size_t i = 0; i < old_cap; i++) {
		if (!old[i].used)
			continue;
		*mt_sym_cache_find(s, old[i].f.addr, old[i].is_return) = old[i];
		s->cache_used++;
	}
	free(old);
	return 0;
}

static struct mt_sym_cache_ent *mt_sym_get(struct mt_sym *s, uint64_t addr, bool is_return,
					   int *errp)
{
	struct mt_sym_cache_ent *e, tmp = { 0 };
	int err;

	mt_sym_dinfod_take(s);
	e = mt_sym_cache_find(s, addr, is_return);
	if (e->used) {
		*errp = e->err;
		return e;
	}
	err = mt_sym_lookup(s, addr, is_return, &tmp);
	if (err && err != -ENOENT) {
		free(tmp.inl);
		*errp = err;  /* out of memory: not cached, may succeed later */
		return NULL;
	}
	if ((s->cache_used + 1) * 2 > s->cache_cap) {
		if (mt_sym_cache_grow(s)) {
			/* still a valid answer, just not cached: park it in
			 * s->spare, freed at the next miss of this kind */
			free(s->spare.inl);
			s->spare = tmp;
			*errp = err;
			return &s->spare;
		}
		e = mt_sym_cache_find(s, addr, is_return);
	}
	tmp.used = true;
	tmp.is_return = is_return;
	tmp.err = err;
	*e = tmp;
	s->cache_used++;
	*errp = err;
	return e;
}

int mt_sym_resolve(struct mt_sym *s, uint64_t addr, bool is_return, struct mt_frame *out)
{
	struct mt_sym_cache_ent *e;
	int err;

	if (!s || !out)
		return -EINVAL;
	e = mt_sym_get(s, addr, is_return, &err);
	if (!e) {
		memset(out, 0, sizeof(*out));
		out->addr = addr;
		return err;
	}
	*out = e->f;
	return err;
}

int mt_sym_resolve_chain(struct mt_sym *s, uint64_t addr, bool is_return,
			 struct mt_frame *out, unsigned max)
{
	struct mt_sym_cache_ent *e;
	unsigned n, skip;
	int err;

	if (!s || !out || !max)
		return -EINVAL;
	e = mt_sym_get(s, addr, is_return, &err);
	if (!e) {
		memset(out, 0, sizeof(*out));
		out->addr = addr;
		return err == -ENOMEM ? err : 1;
	}
	n = e->ninl + 1 <= max ? e->ninl + 1 : max;
	skip = e->ninl + 1 - n;   /* innermost inlined frames dropped */
	for (unsigned i = 0; i + 1 < n; i++)
		out[i] = e->inl[skip + i];
	out[n - 1] = e->f;
	return (int)n;
}
