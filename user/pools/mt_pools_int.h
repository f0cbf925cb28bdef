/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Private to user/pools/: the provider table, the per-pool state and the
 * loader's interface to the rest of the folder.
 */
#ifndef MT_POOLS_INT_H
#define MT_POOLS_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/types.h>
#include "pools.h"
#include "pools/mt_pools.h"

/* Probe roles a provider fills (the BPF programs of bpf/pools.bpf.c). */
enum mt_pp_role {
	MT_PP_CREATE, MT_PP_DESTROY, MT_PP_MISS, MT_PP_REFILL, MT_PP_FLUSH,
	MT_PP_DEBUG_ERROR, MT_PP_GET, MT_PP_PUT, MT_PP_N
};

/* What reading a pool's memory gives. */
struct mt_pool_read {
	struct mt_pool_stats st;
	uint64_t *idle;          /* idle objects' block addresses (malloc'd) */
	size_t nidle;
};

/*
 * One USDT provider: its probe names by role (NULL: the provider has no
 * such probe) and how to read one pool's counters from the target's
 * memory, given the address the create probe passed (pool) and its layout
 * argument. A second library with USDT probes of these roles is one more
 * entry of mt_pool_providers[].
 */
struct mt_pool_provider {
	const char *provider;
	const char *probe[MT_PP_N];
	/* 0 or -errno; idle: also collect the idle objects' addresses. */
	int (*read)(pid_t pid, uint64_t pool, uint64_t layout, bool idle,
		    struct mt_pool_read *out);
	/* Attach mode: the pools that exist already, from the library
	 * (file) mapped in pid; add() each. 0 or -errno; NULL: no way. */
	/* Its pools count refills and flushes in memory (the reader fills
	 * st.refills, st.flushes): the miss/refill/flush probes stay off. */
	bool slow_in_memory;
	int (*discover)(pid_t pid, const char *file,
			void (*add)(void *arg, uint64_t pool, uint64_t layout, const char *name,
				    const char *kind, uint64_t obj_size),
			void *arg);
};
extern const struct mt_pool_provider mt_pool_providers[];
extern const unsigned mt_pool_nproviders;

/* The target's path as memtrace opens it: through /proc/PID/root, so a
 * target in another mount namespace (a container) is read from its own
 * files; the path as given when that does not exist (a chroot in ours).
 * buf has PATH_MAX bytes; returns buf. */
const char *mt_pools_target_path(pid_t pid, const char *path, char *buf);

/* path has USDT notes (.note.stapsdt) of provider: a cheap look before
 * the BPF side is loaded at all. */
bool mt_pools_file_has(const char *path, const char *provider);

/* process_vm_readv of n bytes at addr: 0 or -errno (-EFAULT: short). */
int mt_pools_peek(pid_t pid, uint64_t addr, void *buf, size_t n);

#endif /* MT_POOLS_INT_H */

/* ---- state shared by the folder's files ---- */

struct pools_bpf;
struct bpf_link;
struct ring_buffer;

struct mt_pool_point {        /* one timeline point */
	uint64_t t_ms;            /* since start */
	uint64_t checked_out, idle, bytes_reserved;
};

struct mt_pool {
	uint64_t addr, layout;
	const struct mt_pool_provider *prov;
	char name[MT_POOL_STR], kind[MT_POOL_STR];
	uint64_t obj_size;
	bool destroyed, have_stats;
	int read_err;                 /* the last read's, 0 when it worked */
	struct mt_pool_stats st;      /* the last counters read (or destroy's) */
	struct mt_pool_slow slow;     /* slow paths counted in BPF */
	uint64_t peak_checked_out;
	int64_t ev_out;               /* --pool-events: gets - puts seen */
	uint64_t *idle;               /* mt_pools_finish: idle blocks */
	size_t nidle;
	uint64_t claimed_objects, claimed_bytes;
	struct mt_pool_point *tl;
	size_t ntl, tl_cap;
};

struct mt_pool_err {
	char what[MT_POOL_STR], name[MT_POOL_STR];
	uint64_t addr, ts_ns;
	uint32_t site;                /* in mt_pools.stacks */
	uint64_t count;               /* same error, same stack */
};

struct mt_pools {
	pid_t pid;
	bool events, finished, detached;
#define MT_POOLS_MAX_FILES 8
	const struct mt_pool_provider *found[MT_POOLS_MAX_FILES];  /* per file found */
	struct pools_bpf *skel;
	struct bpf_link **links;
	size_t nlinks, links_cap;
	struct ring_buffer *rb;
	struct mt_pool *pools;
	size_t npools, pools_cap;
	/* Stacks (errors, gets) interned as sites; with --pool-events its
	 * live table holds the checked-out objects by get stack. */
	struct mt_agg *stacks;
	struct mt_pool_err *errs;
	size_t nerrs, errs_cap;
	struct mt_sym *sym;
	uint64_t start_ns, lost;
	char files[MT_POOLS_MAX_FILES][4096];   /* where providers were found */
	unsigned nfiles;
};

/* mt_pools_load.c */
int mt_pools_load(struct mt_pools *p, const struct mt_pools_opts *o);
void mt_pools_unload(struct mt_pools *p);
void mt_pools_free_bpf(struct mt_pools *p);   /* unload, and free the BPF side */
/* Slow-path counters of pool addr from the BPF map (zero when none);
 * del: remove the entry (the pool was destroyed). */
void mt_pools_slow_read(struct mt_pools *p, uint64_t addr, struct mt_pool_slow *out, bool del);
uint64_t mt_pools_bpf_lost(const struct mt_pools *p);
/* mt_pools.c: the pools existing at attach (discover), and one record. */
void mt_pools_discover(struct mt_pools *p);
int mt_pools_on_event(void *ctx, void *data, size_t size);
