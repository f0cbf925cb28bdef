// SPDX-License-Identifier: BSD-2-Clause
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/types.h>

#include "heap.h"
#include "heap.skel.h"
#include "probe/mt_bpf_util.h"
#include "probe/mt_heap.h"
#include "sym/mt_elf.h"
#include "util/mt_log.h"
#include "probe/mt_internal.h"
#include "probe/mt_probe_place.h"
#include "unwind/mt_unwind.h"
#include "util/mt_time.h"

/* Internal call sites probed per object (glibc 2.36 has 2). */
#define MT_MAX_SITES 16
/* perf mode: one link per probe; multi: 3 per object plus the sites */
#define MT_MAX_LINKS (2 * MT_MAX_EPS + MT_ALLOC_MAX_OBJS * MT_MAX_SITES)

/* pidfd_open flag for a thread's pidfd (kernel 6.9+): O_EXCL */
#define MT_PIDFD_THREAD 0200

/* BPF_TRACE_UPROBE_SESSION (kernel 6.12+): neither libbpf 1.4.6 nor this
 * uapi header knows it, so the link is created with the raw syscall. */
#define MT_TRACE_UPROBE_SESSION 57

/* How the probes are linked, best first; a kernel that refuses one at
 * load time gets the next. */
enum mt_link_mode {
	MT_LINK_SESSION,   /* sampling: uprobe sessions (6.12+), multi links */
	MT_LINK_MULTI,     /* uprobe_multi links (6.6+): three links in all */
	MT_LINK_PERF,      /* one perf-event link per probe */
};

static const char *const link_mode_names[] = {
	"uprobe sessions", "uprobe_multi links", "one perf link per probe",
};

/* The links of one traced process: uprobes are attached per PID. */
struct mt_heap_group {
	pid_t pid;
	int nlinks, nfds;
	struct bpf_link *links[MT_MAX_LINKS];
	unsigned char side[MT_MAX_LINKS];  /* MT_ARM_ALLOC or MT_ARM_FREE */
	int link_fds[MT_ALLOC_MAX_OBJS]; /* session links, made by raw syscall */
};

struct mt_heap {
	struct heap_bpf *skel;
	pid_t pid;
	bool follow;
	enum mt_link_mode mode;
	unsigned ngroups, cap;
	struct mt_heap_group *groups;
	struct mt_heap_group *cur; /* the group being attached */
	struct bpf_link *watch[3]; /* attach mode: exec, fork, exit tracepoints */
	int reapers;               /* threads still destroying links (atomic) */
	bool watching;             /* they are loaded */
	/* Unwind tables of the first process (bpf/unwind.h); other processes
	 * of the tree are walked through the kernel's mappings. */
	struct mt_unwind *uw;      /* NULL with --callsite-only */
	struct mt_unwind_sink sink;
	/* Duty cycling of the first process (mt_heap_arm, uprobe_multi mode):
	 * its probe sets say how to remake the links of a side. */
	const struct mt_alloc_lib *lib;
	struct mt_probe_set *sets;       /* one per object of lib */
	unsigned armed;                  /* MT_ARM_* */
	struct mt_side_reaper *sreapers[2]; /* a side's links being destroyed */
};

/* Where and with which cookie each entry point is probed. */
struct mt_probe_set {
	unsigned nalloc;
	unsigned long alloc_off[MT_MAX_EPS];   /* the entry: where the return probe must be */
	__u64 alloc_cookie[MT_MAX_EPS];
	unsigned nfree;
	unsigned long free_off[MT_MAX_EPS];
	__u64 free_cookie[MT_MAX_EPS];
	const struct mt_entry_point *alloc_ep[MT_MAX_EPS], *free_ep[MT_MAX_EPS];
	unsigned nsites;
	unsigned long site_off[MT_MAX_SITES];   /* internal call sites (mt_internal.h) */
};

static const char *load_hint(int err)
{
	if (err == -EPERM || err == -EACCES)
		return ": run as root (or with CAP_BPF and CAP_PERFMON)";
	return "";
}

static int open_load(struct mt_heap *h, const struct mt_heap_opts *o, enum mt_link_mode mode,
		     enum mt_heap_watch watch, bool last)
{
	LIBBPF_OPTS(bpf_object_open_opts, open_opts, .btf_custom_path = o->btf_path);
	struct heap_bpf *sk;
	int err;

	heap_bpf__destroy(h->skel);
	h->skel = sk = heap_bpf__open_opts(&open_opts);
	if (!sk) {
		err = -errno;
		mt_err("cannot open the heap BPF object: %s", strerror(errno));
		return err;
	}
	sk->rodata->target_tgid = (__u32)o->pid;
	sk->rodata->follow = o->follow;
	sk->rodata->wakeup_bytes = o->ringbuf_bytes / 4;
	sk->rodata->sample_mean = o->sample_bytes;
	sk->rodata->use_session = mode == MT_LINK_SESSION;
	sk->rodata->capture_stack = !o->callsite_only;
	/* Only the programs of this mode are loaded. */
	err = bpf_program__set_autoload(sk->progs.mt_alloc_session, mode == MT_LINK_SESSION);
	err = err ?: bpf_program__set_autoload(sk->progs.mt_alloc_enter_multi, mode == MT_LINK_MULTI);
	err = err ?: bpf_program__set_autoload(sk->progs.mt_alloc_exit_multi, mode == MT_LINK_MULTI);
	err = err ?: bpf_program__set_autoload(sk->progs.mt_free_enter_multi, mode != MT_LINK_PERF);
	err = err ?: bpf_program__set_autoload(sk->progs.mt_alloc_enter, mode == MT_LINK_PERF);
	err = err ?: bpf_program__set_autoload(sk->progs.mt_alloc_exit, mode == MT_LINK_PERF);
	err = err ?: bpf_program__set_autoload(sk->progs.mt_free_enter, mode == MT_LINK_PERF);
	err = err ?: bpf_program__set_autoload(sk->progs.mt_internal_site_multi, mode != MT_LINK_PERF);
	err = err ?: bpf_program__set_autoload(sk->progs.mt_internal_site, mode == MT_LINK_PERF);
	/* process life: what ptrace does not give (launch mode has its stops) */
	err = err ?: bpf_program__set_autoload(sk->progs.mt_proc_exec, watch == MT_WATCH_LIFE);
	err = err ?: bpf_program__set_autoload(sk->progs.mt_proc_fork, watch != MT_WATCH_NONE);
	err = err ?: bpf_program__set_autoload(sk->progs.mt_proc_exit,
					       watch == MT_WATCH_LIFE && o->follow);
	if (!err && mode == MT_LINK_SESSION)
		err = bpf_program__set_expected_attach_type(sk->progs.mt_alloc_session,
							    MT_TRACE_UPROBE_SESSION);
	/* Sampled live blocks: 2^18 covers 128 GiB of small live objects at a
	 * 512 KiB mean. Not preallocated; the buckets cost 4 MiB of kernel
	 * memory. An overflow is counted (MT_C_SAMPLED_FULL). */
	if (!err)
		err = bpf_map__set_max_entries(sk->maps.mt_sampled, o->sample_bytes ? 1u << 18 : 1);
	if (!err)
		err = bpf_map__set_max_entries(sk->maps.mt_events, o->ringbuf_bytes);
	if (!err)
		err = bpf_map__set_max_entries(sk->maps.mt_uw_rows, h->sink.rows_cap);
	if (!err)
		err = bpf_map__set_value_size(sk->maps.mt_stacks, MT_STACK_BYTES(o->max_depth));
	sk->rodata->uw_max_depth = o->max_depth;
	if (!err)
		err = bpf_map__set_max_entries(sk->maps.mt_tgids, o->follow ? MT_HEAP_MAX_PROCS : 1);
	if (err) {
		if (last)
			mt_err("cannot configure the heap BPF object (ring buffer %zu bytes): %s",
			       o->ringbuf_bytes, strerror(-err));
		return err;
	}
	err = heap_bpf__load(sk);
	if (err && last)
		mt_err("cannot load the heap BPF programs: %s%s", strerror(-err), load_hint(err));
	h->mode = mode;
	return err;
}

/* The kernel's BTF is readable; a file given with --btf is also parsed
 * (~10 ms for a vmlinux's), so a file that is not BTF is named as such
 * instead of by libbpf's bare error number (4001). */
static int check_btf(const char *path, bool given)
{
	struct stat st;
	struct btf *btf;
	int err;

	if (access(path, R_OK) || stat(path, &st)) {
		err = -errno;
		mt_err("cannot read kernel BTF '%s': %s%s", path, strerror(-err),
		       given ? "" : " (a kernel with CONFIG_DEBUG_INFO_BTF is needed)");
		return err;
	}
	if (!given)
		return 0;
	if (S_ISDIR(st.st_mode)) {
		mt_err("cannot read kernel BTF '%s': %s", path, strerror(EISDIR));
		return -EISDIR;
	}
	btf = btf__parse(path, NULL);
	if (!btf) {
		mt_err("'%s' is not BTF: kernel type information is expected, as in "
		       "/sys/kernel/btf/vmlinux or an ELF file's .BTF section", path);
		return -EINVAL;
	}
	btf__free(btf);
	return 0;
}

/* The tables of today's modules, before load: they size the row map. */
static int build_unwind(struct mt_heap *h, const struct mt_heap_opts *o)
{
	uint64_t t0 = mt_now_ns();
	struct mt_unwind_stats st;
	int err;

	h->sink.rows_cap = 1;
	h->sink.maps_fd = -1;
	if (o->callsite_only)
		return 0;
	err = mt_unwind_new(o->pid, o->unwind, &h->uw);
	if (err)
		return err;
	for (size_t i = 0; i < o->npreload; i++)
		if (mt_unwind_add_file(h->uw, o->preload[i]))
			mt_debug("unwind: cannot read '%s' ahead of its mapping", o->preload[i]);
	mt_unwind_progress_end(h->uw);
	mt_unwind_get_stats(h->uw, &st);
	h->sink.rows_cap = mt_unwind_rows_cap(h->uw);
	/* bench.py reads this line */
	mt_debug("unwind: %u modules (%u cfi), %llu rows for %.2f MiB of text built in %.1f ms; "
		 "row map %.2f MiB", st.modules, st.modules_cfi, (unsigned long long)mt_unwind_nrows(h->uw),
		 st.text_bytes / 1048576.0, (mt_now_ns() - t0) / 1e6,
		 h->sink.rows_cap * (double)sizeof(struct mt_uw_row) / 1048576.0);
	return 0;
}

/* Map the row array into this process and publish today's tables. */
static int map_rows(struct mt_heap *h)
{
	struct heap_bpf *sk = h->skel;

	return mt_unwind_sink_open(h->uw, &h->sink, bpf_map__fd(sk->maps.mt_uw_rows),
				   h->sink.rows_cap, bpf_map__fd(sk->maps.mt_uw_maps),
				   bpf_map__fd(sk->maps.mt_uw_mods), bpf_map__fd(sk->maps.mt_uw_state));
}

void mt_heap_unwind_poll(struct mt_heap *h, bool now)
{
	if (h && h->uw)
		mt_unwind_poll(h->uw, &h->sink, now);
}

const struct mt_unwind_sink *mt_heap_unwind_sink(const struct mt_heap *h)
{
	return h && h->uw && h->sink.rows ? &h->sink : NULL;
}

struct mt_unwind *mt_heap_unwind(const struct mt_heap *h)
{
	return h ? h->uw : NULL;
}

int mt_heap_open(const struct mt_heap_opts *o, struct mt_heap **out)
{
	const char *btf = o->btf_path ? o->btf_path : "/sys/kernel/btf/vmlinux";
	struct mt_heap *h;
	int err;

	/* Task storage and bpf_get_current_task_btf() need the kernel's BTF;
	 * say so plainly instead of letting the verifier speak. */
	err = check_btf(btf, o->btf_path != NULL);
	if (err)
		return err;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->pid = o->pid;
	h->follow = o->follow;
	err = build_unwind(h, o);
	if (err)
		goto fail;
	/* Sampling skips the return probe of unsampled calls where the kernel
	 * has uprobe sessions; elsewhere the load fails and the plain
	 * entry/return pair is used. */
	err = -EOPNOTSUPP;
	if (o->sample_bytes)
		err = open_load(h, o, MT_LINK_SESSION, o->watch, false);
	if (err)
		err = open_load(h, o, MT_LINK_MULTI, o->watch, false);
	if (err && o->watch && !o->follow) {
		/* a kernel without tp_btf: the allocator is still traced */
		err = open_load(h, o, MT_LINK_MULTI, MT_WATCH_NONE, false);
		if (!err && o->watch == MT_WATCH_LIFE)
			mt_err("warning: the kernel refused the exec and fork tracepoints: an exec of PID %d "
			       "will not be followed, its children not counted", (int)o->pid);
	}
	if (err)
		err = open_load(h, o, MT_LINK_PERF, o->watch, true);
	if (err)
		goto fail;
	h->watching = bpf_program__autoload(h->skel->progs.mt_proc_fork);
	mt_debug("allocator probes: %s", link_mode_names[h->mode]);
	if (h->uw) {
		err = map_rows(h);
		if (err)
			goto fail;
	}
	*out = h;
	return 0;
fail:
	mt_heap_free(h);
	return err;
}

/* One uprobe session link for every allocation entry point: entry and
 * return in one program, and one trap at entry for calls whose entry
 * returns 1. */
static int attach_session(struct mt_heap *h, const struct mt_alloc_obj *lib,
			  const struct mt_probe_set *ps)
{
	union bpf_attr attr;
	int fd, err;

	if (ps->nalloc == 0)
		return 0;
	if (h->cur->nfds >= MT_ALLOC_MAX_OBJS)
		return -E2BIG;
	memset(&attr, 0, sizeof(attr));
	attr.link_create.prog_fd = bpf_program__fd(h->skel->progs.mt_alloc_session);
	attr.link_create.attach_type = MT_TRACE_UPROBE_SESSION;
	attr.link_create.uprobe_multi.path = (__u64)(unsigned long)lib->open_path;
	attr.link_create.uprobe_multi.offsets = (__u64)(unsigned long)ps->alloc_off;
	attr.link_create.uprobe_multi.cookies = (__u64)(unsigned long)ps->alloc_cookie;
	attr.link_create.uprobe_multi.cnt = ps->nalloc;
	attr.link_create.uprobe_multi.pid = (__u32)h->cur->pid;
	fd = (int)syscall(__NR_bpf, BPF_LINK_CREATE, &attr, sizeof(attr));
	if (fd < 0) {
		err = -errno;
		mt_err("cannot attach uprobe sessions to the allocator in '%s': %s%s", lib->path,
		       strerror(errno), load_hint(err));
		return err;
	}
	h->cur->link_fds[h->cur->nfds++] = fd;
	return 0;
}

/* One uprobe_multi link of prog on n offsets. */
static int attach_multi(struct mt_heap *h, struct bpf_program *prog, const struct mt_alloc_obj *lib,
			const unsigned long *offs, const __u64 *cookies, unsigned n, bool ret,
			const char *what)
{
	LIBBPF_OPTS(bpf_uprobe_multi_opts, mo, .offsets = offs, .cookies = cookies, .cnt = n,
		    .retprobe = ret);
	struct bpf_link *link;
	int err;

	if (n == 0)
		return 0;
	if (h->cur->nlinks >= MT_MAX_LINKS)
		return -E2BIG;
	link = bpf_program__attach_uprobe_multi(prog, h->cur->pid, lib->open_path, NULL, &mo);
	if (!link) {
		err = -errno;
		mt_err("cannot attach %s to %s in '%s': %s%s", ret ? "uretprobes" : "uprobes", what,
		       lib->path, strerror(errno), load_hint(err));
		return err;
	}
	h->cur->side[h->cur->nlinks] = prog == h->skel->progs.mt_free_enter_multi ? MT_ARM_FREE
										   : MT_ARM_ALLOC;
	h->cur->links[h->cur->nlinks++] = link;
	return 0;
}

static void detach_group(struct mt_heap_group *g)
{
	while (g->nlinks > 0)
		bpf_link__destroy(g->links[--g->nlinks]);
	while (g->nfds > 0)
		close(g->link_fds[--g->nfds]);
}

/* Links of a process that is gone, destroyed off the session's thread:
 * each uprobe unregistration waits for in-flight probes (~0.1 s here),
 * which would otherwise hold every other traced process at its stop. */
struct mt_reap {
	struct mt_heap_group g;
	int *reapers;
};

static void *reap(void *arg)
{
	struct mt_reap *r = arg;

	detach_group(&r->g);
	__atomic_sub_fetch(r->reapers, 1, __ATOMIC_SEQ_CST);
	free(r);
	return NULL;
}

static void detach_group_async(struct mt_heap *h, struct mt_heap_group *g)
{
	struct mt_reap *r = malloc(sizeof(*r));
	pthread_attr_t attr;
	pthread_t th;
	bool started = false;

	if (r && !pthread_attr_init(&attr)) {
		r->g = *g;
		r->reapers = &h->reapers;
		__atomic_add_fetch(&h->reapers, 1, __ATOMIC_SEQ_CST);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		started = pthread_create(&th, &attr, reap, r) == 0;
		pthread_attr_destroy(&attr);
		if (!started)
			__atomic_sub_fetch(&h->reapers, 1, __ATOMIC_SEQ_CST);
	}
	if (started) {
		g->nlinks = g->nfds = 0;
		return;
	}
	free(r);
	detach_group(g);
}

static void wait_reapers(struct mt_heap *h)
{
	while (__atomic_load_n(&h->reapers, __ATOMIC_SEQ_CST) > 0)
		usleep(1000);
}

static void side_reap_wait(struct mt_heap *h, int side);

static void detach_all(struct mt_heap *h)
{
	unsigned i;

	side_reap_wait(h, 0);
	side_reap_wait(h, 1);
	h->armed = 0;
	for (i = 0; i < 3; i++) {
		bpf_link__destroy(h->watch[i]);
		h->watch[i] = NULL;
	}
	for (i = 0; i < h->ngroups; i++)
		detach_group(&h->groups[i]);
}

static struct mt_heap_group *group_of(struct mt_heap *h, pid_t pid, bool create)
{
	struct mt_heap_group *g;
	unsigned i;

	for (i = 0; i < h->ngroups; i++)
		if (h->groups[i].pid == pid)
			return &h->groups[i];
	if (!create)
		return NULL;
	if (h->ngroups == h->cap) {
		unsigned cap = h->cap ? h->cap * 2 : 4;

		g = realloc(h->groups, cap * sizeof(*g));
		if (!g)
			return NULL;
		h->groups = g;
		h->cap = cap;
	}
	g = &h->groups[h->ngroups++];
	memset(g, 0, sizeof(*g));
	g->pid = pid;
	return g;
}

static int attach_one(struct mt_heap *h, struct bpf_program *prog, const struct mt_alloc_obj *lib,
		      const char *name, uint64_t off, __u64 cookie, bool ret)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uo, .retprobe = ret, .bpf_cookie = cookie);
	struct bpf_link *link;
	int err;

	if (h->cur->nlinks >= MT_MAX_LINKS)
		return -E2BIG;
	link = bpf_program__attach_uprobe_opts(prog, h->cur->pid, lib->open_path, off, &uo);
	if (!link) {
		err = -errno;
		mt_err("cannot attach %s to '%s' in '%s': %s%s", ret ? "uretprobe" : "uprobe",
		       name, lib->path, strerror(errno), load_hint(err));
		return err;
	}
	h->cur->links[h->cur->nlinks++] = link;
	return 0;
}

/* free has no return probe, so its probe can move off the entry to the
 * first instruction the kernel emulates (no single-step: ~15x cheaper).
 * Allocation functions keep theirs at the entry, where the return probe
 * must sit anyway and where one trap serves both. */
static uint64_t place(const struct mt_alloc_obj *lib, const struct mt_entry_point *ep,
		      bool keep_entry)
{
	struct mt_placement pl;
	int err;

	err = mt_probe_place_file(lib->open_path, ep->file_off, ep->size, ep->vaddr, keep_entry, &pl);
	if (err) {
		mt_debug("probe '%s': at entry (cannot decode: %s)", ep->name, strerror(-err));
		return ep->file_off;
	}
	if (pl.sp_off) {
		/* bpf/heap.bpf.c recognizes an internal call by the stack
		 * pointer its callee enters with */
		mt_debug("probe '%s': at entry (the move would change the stack pointer)", ep->name);
		return ep->file_off;
	}
	mt_debug("probe '%s': +%llu '%s' %s%s%s", ep->name, (unsigned long long)pl.offset, pl.insn,
		 pl.emulated ? "emulated" : "single-stepped", pl.reason[0] ? ", " : "", pl.reason);
	return ep->file_off + pl.offset;
}

/* Sampling with sessions skips the return of unsampled calls, which is
 * only exact where a function cannot enter another entry point. */
static __u64 nest_bit(const struct mt_alloc_lib *lib, const struct mt_entry_point *ep,
		      const uint64_t (*plt)[2], int nplt)
{
	uint64_t others[MT_MAX_EPS];
	unsigned i, n = 0;
	bool nest;

	for (i = 0; i < lib->neps; i++)
		if (&lib->eps[i] != ep && lib->eps[i].obj == ep->obj)
			others[n++] = lib->eps[i].vaddr;
	nest = nplt < 0 || mt_probe_may_nest_file(lib->objs[ep->obj].open_path, ep->file_off, ep->size, ep->vaddr,
						  others, n, plt, (unsigned)nplt);
	mt_debug("probe '%s': %s", ep->name, nest ? "may call another entry point: its return is always seen"
						 : "calls no other entry point");
	return nest ? MT_COOKIE_NEST : 0;
}

/* The probes of object obj: its entry points (cookies carry the index in
 * lib->eps, which is global across objects) and its internal call sites. */
static void probe_set(const struct mt_heap *h, const struct mt_alloc_lib *lib, unsigned obj,
		      struct mt_probe_set *ps)
{
	const struct mt_alloc_obj *o = &lib->objs[obj];
	uint64_t plt[8][2], vaddrs[MT_MAX_EPS];
	struct mt_internal_site sites[MT_MAX_SITES];
	unsigned i, nv = 0;
	int nplt = 0, n;

	memset(ps, 0, sizeof(*ps));
	if (h->mode == MT_LINK_SESSION)
		nplt = mt_elf_plt_ranges(o->open_path, plt, 8);
	for (i = 0; i < lib->neps; i++) {
		const struct mt_entry_point *ep = &lib->eps[i];

		if (ep->obj != obj)
			continue;
		vaddrs[nv++] = ep->vaddr;
		if (ep->kind == MT_K_FREE) {
			ps->free_ep[ps->nfree] = ep;
			ps->free_off[ps->nfree] = place(o, ep, false);
			ps->free_cookie[ps->nfree++] = MT_COOKIE(i, ep->kind);
			continue;
		}
		/* placed at the entry (keep_entry); asked only for the -v line */
		ps->alloc_ep[ps->nalloc] = ep;
		ps->alloc_off[ps->nalloc] = place(o, ep, true);
		ps->alloc_cookie[ps->nalloc] = MT_COOKIE(i, ep->kind);
		if (h->mode == MT_LINK_SESSION)
			ps->alloc_cookie[ps->nalloc] |= nest_bit(lib, ep, plt, nplt);
		ps->nalloc++;
	}
	n = mt_internal_sites_file(o->open_path, vaddrs, nv, sites, MT_MAX_SITES);
	if (n < 0)
		mt_debug("'%s': cannot look for internal calls: %s", o->path, strerror(-n));
	for (i = 0; n > 0 && i < (unsigned)n; i++) {
		ps->site_off[ps->nsites++] = sites[i].file_off;
		mt_debug("internal call site: %#llx in '%s' calls %#llx", (unsigned long long)sites[i].vaddr,
			 o->path, (unsigned long long)sites[i].target);
	}
}

static int attach_perf(struct mt_heap *h, const struct mt_alloc_obj *lib, const struct mt_probe_set *ps)
{
	unsigned i;
	int err = 0;

	for (i = 0; i < ps->nalloc && !err; i++) {
		err = attach_one(h, h->skel->progs.mt_alloc_enter, lib, ps->alloc_ep[i]->name,
				 ps->alloc_off[i], ps->alloc_cookie[i], false);
		if (!err)
			err = attach_one(h, h->skel->progs.mt_alloc_exit, lib, ps->alloc_ep[i]->name,
					 ps->alloc_off[i], ps->alloc_cookie[i], true);
	}
	for (i = 0; i < ps->nfree && !err; i++)
		err = attach_one(h, h->skel->progs.mt_free_enter, lib, ps->free_ep[i]->name,
				 ps->free_off[i], ps->free_cookie[i], false);
	for (i = 0; i < ps->nsites && !err; i++)
		err = attach_one(h, h->skel->progs.mt_internal_site, lib, "an internal call site",
				 ps->site_off[i], 0, false);
	return err;
}

static int attach_obj(struct mt_heap *h, const struct mt_alloc_lib *all, unsigned obj)
{
	const struct mt_alloc_obj *lib = &all->objs[obj];
	struct heap_bpf *sk = h->skel;
	struct mt_probe_set ps;
	int err;

	probe_set(h, all, obj, &ps);
	if (h->cur->pid == h->pid && h->sets)
		h->sets[obj] = ps;
	switch (h->mode) {
	case MT_LINK_SESSION:
		err = attach_session(h, lib, &ps);
		break;
	case MT_LINK_MULTI:
		err = attach_multi(h, sk->progs.mt_alloc_enter_multi, lib, ps.alloc_off,
				   ps.alloc_cookie, ps.nalloc, false, "the allocation functions");
		err = err ?: attach_multi(h, sk->progs.mt_alloc_exit_multi, lib, ps.alloc_off,
					  ps.alloc_cookie, ps.nalloc, true, "the allocation functions");
		break;
	default:
		err = attach_perf(h, lib, &ps);
		break;
	}
	if (!err && h->mode != MT_LINK_PERF)
		err = attach_multi(h, sk->progs.mt_free_enter_multi, lib, ps.free_off, ps.free_cookie,
				   ps.nfree, false, "'free'");
	if (!err && h->mode != MT_LINK_PERF)
		err = attach_multi(h, sk->progs.mt_internal_site_multi, lib, ps.site_off, NULL,
				   ps.nsites, false, "the internal call sites");
	return err;
}

int mt_heap_attach(struct mt_heap *h, const struct mt_alloc_lib *lib)
{
	return mt_heap_attach_pid(h, h->pid, lib);
}

/* Another process of the tree (-f): the walker finds its modules by inode
 * (bpf/unwind.bpf.h), so its executable and allocator objects get tables.
 * A failure leaves its stacks cut, marked, never wrong: not an error. */
static void unwind_add_proc(struct mt_heap *h, pid_t pid, const struct mt_alloc_lib *lib)
{
	char link[64], exe[4096];
	ssize_t n;
	unsigned i;

	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	n = readlink(link, exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		mt_unwind_add_file(h->uw, exe);
	}
	for (i = 0; i < lib->nobjs; i++)
		mt_unwind_add_file(h->uw, lib->objs[i].path);
	if (mt_unwind_publish(h->uw, &h->sink))
		mt_debug("unwind: cannot publish the tables of PID %d", (int)pid);
}

int mt_heap_attach_pid(struct mt_heap *h, pid_t pid, const struct mt_alloc_lib *lib)
{
	__u32 tgid = (__u32)pid;
	unsigned obj;
	__u8 one = 1;
	int err = 0;

	h->cur = group_of(h, pid, true);
	if (!h->cur)
		return -ENOMEM;
	if (h->cur->nlinks || h->cur->nfds)
		return -EBUSY;
	if (pid != h->pid) {
		if (!h->follow)
			return -EINVAL;
		if (bpf_map__update_elem(h->skel->maps.mt_tgids, &tgid, sizeof(tgid), &one, sizeof(one),
					 BPF_ANY)) {
			err = -errno;
			mt_err("cannot trace PID %d: %s (more than %d processes?)", (int)pid,
			       strerror(errno), MT_HEAP_MAX_PROCS);
			return err;
		}
	}
	if (pid == h->pid) {
		free(h->sets);
		h->sets = calloc(lib->nobjs ? lib->nobjs : 1, sizeof(*h->sets));
		if (!h->sets)
			return -ENOMEM;
		h->lib = lib;
	}
	for (obj = 0; obj < lib->nobjs && !err; obj++)
		err = attach_obj(h, lib, obj);
	if (err)
		detach_group(h->cur);
	else if (pid == h->pid)
		h->armed = MT_ARM_ALLOC | MT_ARM_FREE;
	else if (h->uw && h->sink.rows && pid != h->pid)
		unwind_add_proc(h, pid, lib);
	return err;
}

void mt_heap_detach_pid(struct mt_heap *h, pid_t pid, bool forget)
{
	struct mt_heap_group *g = h ? group_of(h, pid, false) : NULL;
	__u32 tgid = (__u32)pid;

	if (!h)
		return;
	/* gone: no event of it is accepted any more, its links can go at
	 * leisure; the group's slot is reused */
	if (forget && pid != h->pid && h->follow)
		bpf_map__delete_elem(h->skel->maps.mt_tgids, &tgid, sizeof(tgid), 0);
	if (!g)
		return;
	if (!forget) {
		detach_group(g);
		return;
	}
	detach_group_async(h, g);
	*g = h->groups[--h->ngroups];
}

bool mt_heap_attached(struct mt_heap *h, pid_t pid)
{
	struct mt_heap_group *g = h ? group_of(h, pid, false) : NULL;

	return g && (g->nlinks || g->nfds);
}

int mt_heap_watch(struct mt_heap *h)
{
	struct bpf_program *progs[3] = { h->skel->progs.mt_proc_exec, h->skel->progs.mt_proc_fork,
					 h->skel->progs.mt_proc_exit };
	static const char *const names[3] = {
		"sched_process_exec", "sched_process_fork", "sched_process_exit",
	};
	int i, err;

	if (!h->watching)
		return -EOPNOTSUPP;
	/* only those loaded: exit only with -f in attach mode (no hook on every
	 * thread exit of the machine otherwise), exec only in attach mode */
	for (i = 0; i < 3; i++) {
		if (!bpf_program__autoload(progs[i]))
			continue;
		h->watch[i] = bpf_program__attach(progs[i]);
		if (!h->watch[i]) {
			err = -errno;
			mt_err("cannot attach the %s tracepoint: %s%s", names[i], strerror(errno),
			       load_hint(err));
			return err;
		}
	}
	return 0;
}

/* The allocation side of object obj of the first process (uprobe_multi
 * mode): entry, return and internal call sites (which only matter while
 * allocations are seen). */
static int arm_alloc_obj(struct mt_heap *h, unsigned obj)
{
	const struct mt_alloc_obj *lib = &h->lib->objs[obj];
	const struct mt_probe_set *ps = &h->sets[obj];
	struct heap_bpf *sk = h->skel;
	int err;

	err = attach_multi(h, sk->progs.mt_alloc_enter_multi, lib, ps->alloc_off, ps->alloc_cookie,
			   ps->nalloc, false, "the allocation functions");
	err = err ?: attach_multi(h, sk->progs.mt_alloc_exit_multi, lib, ps->alloc_off,
				  ps->alloc_cookie, ps->nalloc, true, "the allocation functions");
	err = err ?: attach_multi(h, sk->progs.mt_internal_site_multi, lib, ps->site_off, NULL,
				  ps->nsites, false, "the internal call sites");
	return err;
}

static int arm_free_obj(struct mt_heap *h, unsigned obj)
{
	const struct mt_probe_set *ps = &h->sets[obj];

	return attach_multi(h, h->skel->progs.mt_free_enter_multi, &h->lib->objs[obj], ps->free_off,
			    ps->free_cookie, ps->nfree, false, "'free'");
}

/* Take the links of one side out of the first process's group. */
static void take_side(struct mt_heap_group *g, unsigned side, struct bpf_link **out, int *n)
{
	int i, k = 0;

	*n = 0;
	for (i = 0; i < g->nlinks; i++) {
		if (g->side[i] == side) {
			out[(*n)++] = g->links[i];
			continue;
		}
		g->side[k] = g->side[i];
		g->links[k++] = g->links[i];
	}
	g->nlinks = k;
}

int mt_heap_prog_stats(const struct mt_heap *h, uint64_t *run_ns, uint64_t *runs)
{
	return mt_bpf_obj_prog_stats(h->skel->obj, run_ns, runs);
}

bool mt_heap_can_arm(const struct mt_heap *h)
{
	return h && h->mode == MT_LINK_MULTI && h->lib && h->sets && !h->follow;
}

unsigned mt_heap_armed(const struct mt_heap *h)
{
	return h ? h->armed : 0;
}

/* A thread whose allocation entry was seen and whose return probe went
 * away in between would stay "inside the allocator" (depth > 0) and ignore
 * every later call: forget every thread's state. Task storage is keyed by
 * a pidfd of the thread (PIDFD_THREAD, kernel 6.9+). Cost: one pidfd_open
 * and one map delete per thread. */
static void reset_threads(struct mt_heap *h)
{
	char path[64];
	struct dirent *de;
	DIR *d;
	int mfd = bpf_map__fd(h->skel->maps.mt_threads);

	snprintf(path, sizeof(path), "/proc/%d/task", (int)h->pid);
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d))) {
		int tid = atoi(de->d_name), fd;

		if (tid <= 0)
			continue;
		fd = (int)syscall(SYS_pidfd_open, tid, MT_PIDFD_THREAD);
		if (fd < 0)
			continue;
		bpf_map_delete_elem(mfd, &fd);
		close(fd);
	}
	closedir(d);
}

/* Destroying a uprobe_multi link removes its breakpoints at once (the
 * target stops paying then) and then waits for a grace period, tens of ms
 * on this kind of machine. So a disarm hands its links to a reaper thread
 * and returns; the reaper destroys them in parallel (one grace period for
 * all), and the next arm or disarm waits for it. */
#define MT_MAX_WATCH (MT_ALLOC_MAX_OBJS * (MT_MAX_EPS + MT_MAX_SITES))

struct mt_side_reaper {
	pthread_t th;
	bool running;
	int nwatch;                   /* allocation side: where its breakpoints are */
	uint64_t watch[MT_MAX_WATCH];
	struct mt_heap *h;
	bool reset;                   /* the allocation side: forget in-flight calls */
	bool early;                   /* done so once its breakpoints were gone */
	int n;
	struct bpf_link *links[MT_MAX_LINKS];
};

static void reset_threads(struct mt_heap *h);

static void *destroy_link(void *l)
{
	bpf_link__destroy(l);
	return NULL;
}

/* Any breakpoint (int3) left at the watched addresses of the target? The
 * kernel writes it into the target's copy of the page, which
 * /proc/PID/mem shows. -1 when the memory cannot be read. */
static int breakpoints_left(const struct mt_side_reaper *r, int memfd)
{
	int i;

	for (i = 0; i < r->nwatch; i++) {
		unsigned char b;

		if (pread(memfd, &b, 1, (off_t)r->watch[i]) != 1)
			return -1;
		if (b == 0xcc)
			return 1;
	}
	return 0;
}

static void *side_reap(void *arg)
{
	struct mt_side_reaper *r = arg;
	pthread_t th[MT_MAX_LINKS];
	bool started[MT_MAX_LINKS];
	char path[64];
	int i, memfd = -1;

	if (r->reset && r->nwatch) {
		snprintf(path, sizeof(path), "/proc/%d/mem", (int)r->h->pid);
		memfd = open(path, O_RDONLY | O_CLOEXEC);
	}
	for (i = 0; i < r->n; i++) {
		started[i] = r->n > 1 && !pthread_create(&th[i], NULL, destroy_link, r->links[i]);
		if (!started[i])
			bpf_link__destroy(r->links[i]);
	}
	/* The breakpoints go at once, the grace period after: once they are
	 * gone from the target's text (and a handler in flight has had 1 ms to
	 * end), no return probe can fire, so the threads' in-flight calls can
	 * be forgotten without waiting for the grace period (tens of ms). */
	if (memfd >= 0) {
		for (i = 0; i < 2000 && breakpoints_left(r, memfd) == 1; i++)
			usleep(100);
		close(memfd);
		usleep(1000);
		if (r->reset)
			reset_threads(r->h);
		__atomic_store_n(&r->early, true, __ATOMIC_RELEASE);
	}
	for (i = 0; i < r->n; i++)
		if (started[i])
			pthread_join(th[i], NULL);
	/* No return probe can fire now: a thread whose entry was seen would
	 * stay "inside the allocator" and ignore its later calls. */
	if (r->reset)
		reset_threads(r->h);
	__atomic_store_n(&r->n, 0, __ATOMIC_RELEASE);
	return NULL;
}

/* The target's addresses of the allocation-side probes: where each
 * object's file is mapped executable (file offset within the mapping). */
static int watch_list(const struct mt_heap *h, uint64_t *out)
{
	unsigned long start, end, pgoff;
	char path[64], line[4600], perm[8];
	unsigned obj, i;
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)h->pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		int pos = 0;

		if (sscanf(line, "%lx-%lx %7s %lx %*s %*s %n", &start, &end, perm, &pgoff, &pos) < 4 ||
		    !pos || perm[2] != 'x')
			continue;
		line[strcspn(line, "\n")] = 0;
		for (obj = 0; obj < h->lib->nobjs; obj++) {
			const struct mt_probe_set *ps = &h->sets[obj];

			if (strcmp(line + pos, h->lib->objs[obj].path))
				continue;
			for (i = 0; i < ps->nalloc + ps->nsites && n < MT_MAX_WATCH; i++) {
				unsigned long off = i < ps->nalloc ? ps->alloc_off[i] : ps->site_off[i - ps->nalloc];

				if (off >= pgoff && off < pgoff + (end - start))
					out[n++] = start + (off - pgoff);
			}
		}
	}
	fclose(f);
	return n;
}

/* Wait for the reaper of one side (0 allocation, 1 free). */
static void side_reap_wait(struct mt_heap *h, int side)
{
	struct mt_side_reaper *r = h->sreapers[side];

	if (r && r->running) {
		pthread_join(r->th, NULL);
		r->running = false;
	}
}

static void side_reap_start(struct mt_heap *h, int side, struct bpf_link **links, int *n)
{
	struct mt_side_reaper *r;
	int i;

	side_reap_wait(h, side);
	if (!h->sreapers[side])
		h->sreapers[side] = calloc(1, sizeof(*r));
	r = h->sreapers[side];
	if (!r) {
		while (*n > 0)
			bpf_link__destroy(links[--*n]);
		if (side == 0)
			reset_threads(h);
		return;
	}
	for (i = 0; i < *n; i++)
		r->links[i] = links[i];
	r->n = *n;
	*n = 0;
	r->h = h;
	r->reset = side == 0;
	r->early = false;
	r->nwatch = side == 0 ? watch_list(h, r->watch) : 0;
	r->running = !pthread_create(&r->th, NULL, side_reap, r);
	if (!r->running)
		side_reap(r);
}

bool mt_heap_disarming(const struct mt_heap *h)
{
	struct mt_side_reaper *r = h ? h->sreapers[0] : NULL;

	/* n drops to 0 only after the links and the thread reset are done */
	return r && r->running && __atomic_load_n(&r->n, __ATOMIC_ACQUIRE) != 0 &&
	       !__atomic_load_n(&r->early, __ATOMIC_ACQUIRE);
}

int mt_heap_arm(struct mt_heap *h, unsigned want)
{
	struct bpf_link *links[MT_MAX_LINKS];
	struct mt_heap_group *g;
	unsigned obj;
	int err = 0, n;

	if (!mt_heap_can_arm(h))
		return -EOPNOTSUPP;
	g = h->cur = group_of(h, h->pid, true);
	if (!g)
		return -ENOMEM;
	/* the thread reset of a finished window must not hit the next one */
	if ((want & MT_ARM_ALLOC) && !(h->armed & MT_ARM_ALLOC))
		side_reap_wait(h, 0);
	if ((want & MT_ARM_FREE) && !(h->armed & MT_ARM_FREE)) {
		for (obj = 0; obj < h->lib->nobjs && !err; obj++)
			err = arm_free_obj(h, obj);
		if (!err)
			h->armed |= MT_ARM_FREE;
	}
	/* The free side first: an allocation seen before its free probe
	 * exists could die unseen and stay as a stale survivor. */
	if (!err && (want & MT_ARM_ALLOC) && !(h->armed & MT_ARM_ALLOC)) {
		for (obj = 0; obj < h->lib->nobjs && !err; obj++)
			err = arm_alloc_obj(h, obj);
		if (!err)
			h->armed |= MT_ARM_ALLOC;
	}
	if (!(want & MT_ARM_ALLOC) && (h->armed & MT_ARM_ALLOC)) {
		take_side(g, MT_ARM_ALLOC, links, &n);
		side_reap_start(h, 0, links, &n);
		/* Once now, so the free tail sees every thread's frees (a stuck
		 * thread ignores them); the reaper does it again after the grace
		 * period for a thread that entered while the probes went. A
		 * return probe that fires after a reset finds no call: harmless. */
		reset_threads(h);
		h->armed &= ~MT_ARM_ALLOC;
	}
	if (!(want & MT_ARM_FREE) && (h->armed & MT_ARM_FREE)) {
		take_side(g, MT_ARM_FREE, links, &n);
		side_reap_start(h, 1, links, &n);
		h->armed &= ~MT_ARM_FREE;
	}
	return err;
}

void mt_heap_enable(struct mt_heap *h)
{
	__atomic_store_n(&h->skel->bss->mt_enabled, 1, __ATOMIC_SEQ_CST);
}

int mt_heap_events_fd(const struct mt_heap *h)
{
	return bpf_map__fd(h->skel->maps.mt_events);
}

int mt_heap_stacks_fd(const struct mt_heap *h)
{
	return bpf_map__fd(h->skel->maps.mt_stacks);
}

int mt_heap_counters_fd(const struct mt_heap *h)
{
	return bpf_map__fd(h->skel->maps.mt_counters);
}

int mt_heap_calls_fd(const struct mt_heap *h)
{
	return bpf_map__fd(h->skel->maps.mt_calls);
}

void mt_heap_stop(struct mt_heap *h)
{
	if (h)
		__atomic_store_n(&h->skel->bss->mt_enabled, 0, __ATOMIC_SEQ_CST);
}

void mt_heap_detach(struct mt_heap *h)
{
	if (!h)
		return;
	/* Links go one at a time: without the cut first, frees would stop
	 * being counted while allocations still are. */
	mt_heap_stop(h);
	detach_all(h);
	wait_reapers(h);
}

void mt_heap_free(struct mt_heap *h)
{
	if (!h)
		return;
	detach_all(h);
	wait_reapers(h);
	mt_unwind_sink_close(&h->sink);
	heap_bpf__destroy(h->skel);
	mt_unwind_free(h->uw);
	free(h->groups);
	free(h->sets);
	free(h->sreapers[0]);
	free(h->sreapers[1]);
	free(h);
}

uint64_t mt_heap_map_bytes(const struct mt_heap *h, uint64_t *ring_bytes)
{
	return mt_bpf_obj_map_bytes(h && h->skel ? h->skel->obj : NULL, ring_bytes);
}
