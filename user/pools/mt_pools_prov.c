// SPDX-License-Identifier: BSD-2-Clause
/*
 * The pool libraries memtrace reads, one table entry each, and libmtpool's
 * reader: the create probe passes the address of a layout record (version
 * 1, pool/src/objpool.c, docs/libmtpool.md) naming where each counter
 * mtpool_stats() sums lives; this walks the pool and its thread caches
 * with process_vm_readv and sums them the same way. No trap on the pool's
 * fast path: the hit path's counters are read where the library keeps them.
 *
 * While the target runs, the walk races with it exactly as
 * mtpool_stats() from another thread does (approximate); at the exit stop
 * or after the destroy probe's own copy, it is exact.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <gelf.h>
#include <libelf.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>
#include <sys/uio.h>
#include "pools/mt_pools_int.h"
#include "util/mt_grow.h"
#include "util/mt_maps.h"

#define MTPL_MAGIC 0x4c50544du
#define MTPL_MAX_CACHES 65536     /* a list longer than this is garbage */

/* pool/src/objpool.c: struct mt_trace_layout, version 1. */
struct mtpl_layout {
	uint32_t magic;
	uint16_t version, size;
	uint16_t caches, orphans, exited_gets, exited_puts, gets_slow, puts_slow;
	uint16_t created, depot, depot_n, quar_n_u32, mode_u32, budget_used;
	uint16_t hdr_size, obj_size;
	uint16_t c_next, c_count_u32, c_gets, c_moved_in, c_moved_out, c_items;
	uint32_t mode_pass;
	uint16_t quar, quar_head_u32;
	uint32_t quar_cap;
	uint16_t all_next, name, kind_u32, pad;
	uint16_t refills, flushes, pad2[2];
	/* Buffer pools; absent (zero) in a record whose size ends before. */
	uint16_t buf_pool, buf_budget_used, buf_data, buf_cap;
};
#define MTPL_SIZE_V1 offsetof(struct mtpl_layout, buf_pool)

/* pool/src/objpool.c: struct mt_trace_root, in section .mtpool_trace. */
struct mtpl_root {
	uint32_t magic;
	uint16_t version, size;
	uint64_t layout, pools, sc_layout, scs;
};

/* pool/src/sizeclass.c: struct mt_sc_trace_layout, version 1. */
struct mtsc_layout {
	uint32_t magic;
	uint16_t version, size;
	uint16_t tcaches, exited_allocs, exited_frees, slow_allocs, slow_frees, carved;
	uint16_t mode_u32, budget_used, name, all_next;
	uint16_t central, central_stride, central_cached, ncls;
	uint16_t tc_next, tc_allocs, tc_frees, tc_lists, tlist_stride, tlist_count_u32;
	uint32_t mode_pass;
	uint16_t refills, flushes, pad[2];
};
#define MTSC_MAGIC 0x4353544du
#define MTSC_MAX_CLASSES 256
#define MTPL_ROOT_MAGIC 0x52505444u
#define MTPL_MAX_POOLS 100000

int mt_pools_peek(pid_t pid, uint64_t addr, void *buf, size_t n)
{
	struct iovec local = { .iov_base = buf, .iov_len = n };
	struct iovec remote = { .iov_base = (void *)(uintptr_t)addr, .iov_len = n };
	ssize_t r = process_vm_readv(pid, &local, 1, &remote, 1, 0);

	if (r < 0)
		return -errno;
	return (size_t)r == n ? 0 : -EFAULT;
}

static int peek64(pid_t pid, uint64_t addr, uint64_t *v)
{
	return mt_pools_peek(pid, addr, v, sizeof(*v));
}

static int peek32(pid_t pid, uint64_t addr, uint64_t *v)
{
	uint32_t x;
	int err = mt_pools_peek(pid, addr, &x, sizeof(x));

	*v = x;
	return err;
}

/* Append n object pointers read from items, as block addresses. */
static int add_idle(pid_t pid, uint64_t items, uint64_t n, uint64_t hdr, struct mt_pool_read *out,
		    size_t *cap)
{
	uint64_t buf[256];

	while (n) {
		size_t k = n < 256 ? (size_t)n : 256, i;
		int err = mt_pools_peek(pid, items, buf, k * 8);

		if (err)
			return err;
		if (MT_GROW(out->idle, out->nidle + k, *cap))
			return -ENOMEM;
		for (i = 0; i < k; i++)
			out->idle[out->nidle++] = buf[i] - hdr;
		items += k * 8;
		n -= k;
	}
	return 0;
}

/* Sum one cache list (caches or orphans) as mtpool_stats() does. */
static int walk(pid_t pid, const struct mtpl_layout *l, uint64_t c, bool live_list, uint64_t hdr,
		bool idle, struct mt_pool_read *out, size_t *cap, uint64_t *gets, uint64_t *puts)
{
	unsigned n = 0;
	int err = 0;

	for (; c && !err; n++) {
		uint64_t g = 0, cnt = 0, in = 0, outn = 0, next = 0;

		if (n == MTPL_MAX_CACHES)
			return -ELOOP;
		err = peek32(pid, c + l->c_count_u32, &cnt) ?: peek64(pid, c + l->c_next, &next);
		if (!err && live_list)
			err = peek64(pid, c + l->c_gets, &g) ?: peek64(pid, c + l->c_moved_in, &in) ?:
			      peek64(pid, c + l->c_moved_out, &outn);
		if (err)
			break;
		if (live_list) {
			*gets += g;
			*puts += cnt + outn + g - in;
		}
		out->st.cached += cnt;
		if (idle)
			err = add_idle(pid, c + l->c_items, cnt, hdr, out, cap);
		c = next;
	}
	return err;
}

/*
 * A buffer pool's header pool: add the buffer pool's budget (the data
 * capacity, as mtpool_bufpool_stats() does) and, with idle, each idle
 * header's data block: the buffers keep it while released, so it is the
 * pool's memory, not a leak. Runs before the quarantine is added: a debug
 * pool's quarantined headers were destructed and poisoned (no data).
 */
static int add_bufs(pid_t pid, uint64_t p, const struct mtpl_layout *l, uint64_t hdr, bool idle,
		    struct mt_pool_read *out, size_t *cap, uint64_t *used)
{
	uint64_t bp, bused, n = out->nidle;
	int err = peek64(pid, p + l->buf_pool, &bp);

	if (err || !bp)
		return err;
	err = peek64(pid, bp + l->buf_budget_used, &bused);
	if (err)
		return err;
	*used += bused;
	for (uint64_t i = 0; idle && i < n && !err; i++) {
		uint64_t b = out->idle[i] + hdr, data, bcap;

		err = peek64(pid, b + l->buf_cap, &bcap) ?: peek64(pid, b + l->buf_data, &data);
		if (!err && bcap && data) {
			if (MT_GROW(out->idle, out->nidle + 1, *cap))
				return -ENOMEM;
			out->idle[out->nidle++] = data;
		}
	}
	return err;
}

static int add_quarantine(pid_t pid, uint64_t p, const struct mtpl_layout *l, uint64_t n,
			  uint64_t hdr, struct mt_pool_read *out, size_t *cap)
{
	uint64_t ring, head;
	int err;

	if (!l->quar_cap || n > l->quar_cap)
		return -EPROTO;
	err = peek64(pid, p + l->quar, &ring) ?: peek32(pid, p + l->quar_head_u32, &head);
	for (uint64_t i = 0; i < n && !err; i++)
		err = add_idle(pid, ring + 8 * ((head + i) % l->quar_cap), 1, hdr, out, cap);
	return err;
}

/* A size-class allocator, as mtpool_sc_stats() sums it. Its blocks come
 * from its own mappings, not malloc: no idle heap objects to list. */
static int mtsc_read(pid_t pid, uint64_t sc, uint64_t layout, struct mt_pool_read *out)
{
	struct mtsc_layout l;
	uint64_t gets, puts, ea, ef, sa, sf, carved, mode, used, tc, v;
	unsigned n = 0;
	int err;

	err = mt_pools_peek(pid, layout, &l, sizeof(l));
	if (err)
		return err;
	if (l.magic != MTSC_MAGIC || l.version != 1 || l.size < sizeof(l) || l.ncls > MTSC_MAX_CLASSES)
		return -EPROTO;
	err = peek64(pid, sc + l.exited_allocs, &ea) ?: peek64(pid, sc + l.exited_frees, &ef) ?:
	      peek64(pid, sc + l.slow_allocs, &sa) ?: peek64(pid, sc + l.slow_frees, &sf) ?:
	      peek64(pid, sc + l.carved, &carved) ?: peek32(pid, sc + l.mode_u32, &mode) ?:
	      peek64(pid, sc + l.budget_used, &used) ?: peek64(pid, sc + l.tcaches, &tc) ?:
	      peek64(pid, sc + l.refills, (uint64_t *)&out->st.refills) ?:
	      peek64(pid, sc + l.flushes, (uint64_t *)&out->st.flushes);
	for (unsigned c = 0; !err && c < l.ncls; c++) {
		err = peek64(pid, sc + l.central + (uint64_t)c * l.central_stride + l.central_cached, &v);
		out->st.cached += v;
	}
	gets = ea + sa;
	puts = ef + sf;
	for (; !err && tc; n++) {
		uint64_t a = 0, f = 0, next = 0;

		if (n == MTPL_MAX_CACHES)
			return -ELOOP;
		err = peek64(pid, tc + l.tc_allocs, &a) ?: peek64(pid, tc + l.tc_frees, &f) ?:
		      peek64(pid, tc + l.tc_next, &next);
		for (unsigned c = 0; !err && c < l.ncls; c++) {
			err = peek32(pid, tc + l.tc_lists + (uint64_t)c * l.tlist_stride +
				     l.tlist_count_u32, &v);
			out->st.cached += v;
		}
		gets += a;
		puts += f;
		tc = next;
	}
	if (err)
		return err;
	out->st.gets = gets;
	out->st.puts = puts;
	out->st.misses = mode == l.mode_pass ? gets : carved;
	out->st.hits = gets > out->st.misses ? gets - out->st.misses : 0;
	out->st.live = gets > puts ? gets - puts : 0;
	out->st.bytes_reserved = used;
	return 0;
}

static int mtpl_read(pid_t pid, uint64_t p, uint64_t layout, bool idle, struct mt_pool_read *out)
{
	struct mtpl_layout l;
	uint64_t gets = 0, puts = 0, eg, ep, gs, ps, created, depot, depot_n, quar_n, mode, used;
	uint64_t hdr, caches, orphans;
	size_t cap = 0;
	int err;

	memset(out, 0, sizeof(*out));
	err = mt_pools_peek(pid, layout, &l, sizeof(l.magic));
	if (!err && l.magic == MTSC_MAGIC)
		return mtsc_read(pid, p, layout, out);
	err = err ?: mt_pools_peek(pid, layout, &l, sizeof(l));
	if (err)
		return err;
	if (l.magic != MTPL_MAGIC || l.version != 1 || l.size < MTPL_SIZE_V1)
		return -EPROTO;
	if (l.size < sizeof(l))
		memset((char *)&l + MTPL_SIZE_V1, 0, sizeof(l) - MTPL_SIZE_V1);
	err = peek64(pid, p + l.exited_gets, &eg) ?: peek64(pid, p + l.exited_puts, &ep) ?:
	      peek64(pid, p + l.gets_slow, &gs) ?: peek64(pid, p + l.puts_slow, &ps) ?:
	      peek64(pid, p + l.created, &created) ?: peek64(pid, p + l.depot, &depot) ?:
	      peek64(pid, p + l.depot_n, &depot_n) ?: peek32(pid, p + l.quar_n_u32, &quar_n) ?:
	      peek32(pid, p + l.mode_u32, &mode) ?: peek64(pid, p + l.budget_used, &used) ?:
	      peek64(pid, p + l.hdr_size, &hdr) ?: peek64(pid, p + l.caches, &caches) ?:
	      peek64(pid, p + l.orphans, &orphans) ?: peek64(pid, p + l.refills, (uint64_t *)&out->st.refills) ?:
	      peek64(pid, p + l.flushes, (uint64_t *)&out->st.flushes);
	if (err)
		return err;
	gets = eg + gs;
	puts = ep + ps;
	out->st.cached = depot_n + quar_n;
	err = walk(pid, &l, orphans, false, hdr, idle, out, &cap, &gets, &puts) ?:
	      walk(pid, &l, caches, true, hdr, idle, out, &cap, &gets, &puts);
	if (!err && idle)
		err = add_idle(pid, depot, depot_n, hdr, out, &cap);
	if (!err && l.buf_pool)
		err = add_bufs(pid, p, &l, hdr, idle, out, &cap, &used);
	/* Debug pools: the quarantine ring's objects are idle too. */
	if (!err && idle && quar_n)
		err = add_quarantine(pid, p, &l, quar_n, hdr, out, &cap);
	if (err) {
		free(out->idle);
		out->idle = NULL;
		out->nidle = 0;
		return err;
	}
	out->st.gets = gets;
	out->st.puts = puts;
	out->st.misses = mode == l.mode_pass ? gets : created;
	out->st.hits = gets > out->st.misses ? gets - out->st.misses : 0;
	out->st.live = gets > puts ? gets - puts : 0;
	out->st.bytes_reserved = used;
	return 0;
}

const char *mt_pools_target_path(pid_t pid, const char *path, char *buf)
{
	/* A chroot in our mount namespace shows our own view of the path in
	 * its maps: then only the path as it is exists. */
	if (path[0] != '/' ||
	    snprintf(buf, PATH_MAX, "/proc/%d/root%s", (int)pid, path) >= PATH_MAX ||
	    access(buf, R_OK))
		snprintf(buf, PATH_MAX, "%s", path);
	return buf;
}

bool mt_pools_file_has(const char *path, const char *provider)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t plen = strlen(provider);
	Elf_Scn *scn = NULL;
	bool found = false;
	size_t shstrndx;
	Elf *e;

	if (fd < 0)
		return false;
	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e || elf_getshdrstrndx(e, &shstrndx))
		goto out;
	while (!found && (scn = elf_nextscn(e, scn))) {
		Elf_Data *d = NULL;
		const char *n;
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE ||
		    !(n = elf_strptr(e, shstrndx, sh.sh_name)) || strcmp(n, ".note.stapsdt"))
			continue;
		/* Each note's description is three addresses, then
		 * "provider\0name\0args\0": the name with its NUL is enough
		 * to tell (a false match only costs a load; libbpf parses the
		 * notes for real). */
		while (!found && (d = elf_getdata(scn, d))) {
			const char *b = d->d_buf;

			for (size_t i = 0; b && i + plen < d->d_size && !found; i++)
				found = !memcmp(b + i, provider, plen + 1);
		}
	}
out:
	if (e)
		elf_end(e);
	close(fd);
	return found;
}

/* File offset of section name in path, or -errno. */
static int64_t section_offset(const char *path, const char *name)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int64_t off = -ENOENT;
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	Elf *e;

	if (fd < 0)
		return -errno;
	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e || elf_getshdrstrndx(e, &shstrndx)) {
		off = -ENOEXEC;
		goto out;
	}
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		const char *n;

		if (!gelf_getshdr(scn, &sh) || !(n = elf_strptr(e, shstrndx, sh.sh_name)))
			continue;
		if (!strcmp(n, name) && sh.sh_type == SHT_PROGBITS) {
			off = (int64_t)sh.sh_offset;
			break;
		}
	}
out:
	if (e)
		elf_end(e);
	close(fd);
	return off;
}

struct where {
	const char *path;
	uint64_t off, addr;
};

static int find_addr(void *arg, const struct mt_maps_ent *e)
{
	struct where *w = arg;

	if (strcmp(e->name, w->path) || w->off < e->off || w->off >= e->off + (e->end - e->start))
		return 0;
	w->addr = e->start + (w->off - e->off);
	return 1;
}

static int sc_discover(pid_t pid, const struct mtpl_root *root,
		       void (*add)(void *arg, uint64_t pool, uint64_t layout, const char *name,
				   const char *kind, uint64_t obj_size),
		       void *arg)
{
	struct mtsc_layout l;
	unsigned n = 0;
	int err = mt_pools_peek(pid, root->sc_layout, &l, sizeof(l)) ?:
		  (l.magic != MTSC_MAGIC || l.version != 1 ? -EPROTO : 0);

	for (uint64_t sc = root->scs; !err && sc; n++) {
		char name[48];
		uint64_t next = 0;

		if (n == MTPL_MAX_POOLS)
			return -ELOOP;
		err = mt_pools_peek(pid, sc + l.name, name, sizeof(name)) ?:
		      peek64(pid, sc + l.all_next, &next);
		if (err)
			break;
		name[sizeof(name) - 1] = 0;
		add(arg, sc, root->sc_layout, name, "size_class", 0);
		sc = next;
	}
	return err;
}

/* The pools that exist: the root in the library's .mtpool_trace section
 * (found by file offset in the process's mappings), then its list. */
static int mtpl_discover(pid_t pid, const char *file,
			 void (*add)(void *arg, uint64_t pool, uint64_t layout, const char *name,
				     const char *kind, uint64_t obj_size),
			 void *arg)
{
	char tpath[PATH_MAX];
	int64_t off = section_offset(mt_pools_target_path(pid, file, tpath), ".mtpool_trace");
	struct where w = { .path = file };
	struct mtpl_root root;
	struct mtpl_layout l;
	char path[64];
	uint64_t pool;
	unsigned n = 0;
	FILE *f;
	int err;

	if (off < 0)
		return (int)off;
	w.off = (uint64_t)off;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	err = mt_maps_read(f, find_addr, &w);
	fclose(f);
	if (err < 0)
		return err;
	if (!w.addr)
		return -ENOENT;   /* not mapped (yet) */
	err = mt_pools_peek(pid, w.addr, &root, sizeof(root)) ?:
	      (root.magic != MTPL_ROOT_MAGIC || root.version != 1 ? -EPROTO : 0) ?:
	      mt_pools_peek(pid, root.layout, &l, sizeof(l)) ?:
	      (l.magic != MTPL_MAGIC || l.version != 1 ? -EPROTO : 0);
	for (pool = root.pools; !err && pool; n++) {
		char name[48];
		uint64_t size = 0, kind = 0, next = 0;

		if (n == MTPL_MAX_POOLS)
			return -ELOOP;
		err = mt_pools_peek(pid, pool + l.name, name, sizeof(name)) ?:
		      peek64(pid, pool + l.obj_size, &size) ?: peek32(pid, pool + l.kind_u32, &kind) ?:
		      peek64(pid, pool + l.all_next, &next);
		if (err)
			break;
		name[sizeof(name) - 1] = 0;
		add(arg, pool, root.layout, name, kind ? "block" : "object", size);
		pool = next;
	}
	if (!err && root.size >= sizeof(root) && root.scs)
		err = sc_discover(pid, &root, add, arg);
	return err;
}

const struct mt_pool_provider mt_pool_providers[] = {
	{
		.provider = "mtpool",
		.probe = {
			[MT_PP_CREATE] = "create", [MT_PP_DESTROY] = "destroy",
			[MT_PP_MISS] = "miss", [MT_PP_REFILL] = "refill", [MT_PP_FLUSH] = "flush",
			[MT_PP_DEBUG_ERROR] = "debug_error", [MT_PP_GET] = "get", [MT_PP_PUT] = "put",
		},
		.read = mtpl_read,
		.slow_in_memory = true,
		.discover = mtpl_discover,
	},
};
const unsigned mt_pool_nproviders = sizeof(mt_pool_providers) / sizeof(mt_pool_providers[0]);
