// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/types.h>

#include "heap.h"
#include "heap.skel.h"
#include "mt_heap.h"
#include "mt_log.h"
#include "mt_probe_place.h"

#define MT_MAX_LINKS (2 * MT_MAX_EPS)

/* BPF_TRACE_UPROBE_SESSION (kernel 6.12+): neither libbpf 1.4.6 nor this
 * uapi header knows it, so the link is created with the raw syscall. */
#define MT_TRACE_UPROBE_SESSION 57

struct mt_heap {
	struct heap_bpf *skel;
	pid_t pid;
	bool session;              /* allocations probed by uprobe sessions */
	int nlinks, nfds;
	struct bpf_link *links[MT_MAX_LINKS];
	int link_fds[MT_MAX_EPS];  /* session links */
};

static const char *load_hint(int err)
{
	if (err == -EPERM || err == -EACCES)
		return ": run as root (or with CAP_BPF and CAP_PERFMON)";
	return "";
}

static int open_load(struct mt_heap *h, const struct mt_heap_opts *o, bool session)
{
	LIBBPF_OPTS(bpf_object_open_opts, open_opts, .btf_custom_path = o->btf_path);
	struct bpf_program *sp;
	int err;

	heap_bpf__destroy(h->skel);
	h->skel = heap_bpf__open_opts(&open_opts);
	if (!h->skel) {
		err = -errno;
		mt_err("cannot open the heap BPF object: %s", strerror(errno));
		return err;
	}
	h->skel->rodata->target_tgid = (__u32)o->pid;
	h->skel->rodata->wakeup_bytes = o->ringbuf_bytes / 4;
	h->skel->rodata->sample_mean = o->sample_bytes;
	h->skel->rodata->use_session = session;
	sp = h->skel->progs.mt_alloc_session;
	err = bpf_program__set_autoload(sp, session);
	if (!err && session)
		err = bpf_program__set_expected_attach_type(sp, MT_TRACE_UPROBE_SESSION);
	/* Sampled live blocks: 2^18 covers 128 GiB of small live objects at a
	 * 512 KiB mean. Not preallocated; the buckets cost 4 MiB of kernel
	 * memory. An overflow is counted (MT_C_SAMPLED_FULL). */
	if (!err)
		err = bpf_map__set_max_entries(h->skel->maps.mt_sampled, o->sample_bytes ? 1u << 18 : 1);
	if (!err)
		err = bpf_map__set_max_entries(h->skel->maps.mt_events, o->ringbuf_bytes);
	if (err) {
		mt_err("invalid ring buffer size %zu: %s", o->ringbuf_bytes, strerror(-err));
		return err;
	}
	err = heap_bpf__load(h->skel);
	if (err && !session)
		mt_err("cannot load the heap BPF programs: %s%s", strerror(-err), load_hint(err));
	h->session = session && !err;
	return err;
}

int mt_heap_open(const struct mt_heap_opts *o, struct mt_heap **out)
{
	const char *btf = o->btf_path ? o->btf_path : "/sys/kernel/btf/vmlinux";
	struct mt_heap *h;
	int err;

	/* Task storage and bpf_get_current_task_btf() need the kernel's BTF;
	 * say so plainly instead of letting the verifier speak. */
	if (access(btf, R_OK)) {
		err = -errno;
		mt_err("cannot read kernel BTF '%s': %s (a kernel with CONFIG_DEBUG_INFO_BTF is needed)",
		       btf, strerror(errno));
		return err;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->pid = o->pid;
	/* Sampling skips the return probe of unsampled calls where the kernel
	 * has uprobe sessions; elsewhere the load fails and the plain
	 * entry/return pair is used. */
	err = -EOPNOTSUPP;
	if (o->sample_bytes)
		err = open_load(h, o, true);
	if (err)
		err = open_load(h, o, false);
	if (err)
		goto fail;
	mt_debug("allocation probes: %s", h->session ? "uprobe sessions" : "uprobe + uretprobe");
	*out = h;
	return 0;
fail:
	mt_heap_free(h);
	return err;
}

/* One uprobe session on ep: entry and return in one program and one trap
 * at entry for calls whose entry returns 1. */
static int attach_session(struct mt_heap *h, const struct mt_alloc_lib *lib,
			  const struct mt_entry_point *ep, uint64_t off, __u64 cookie)
{
	union bpf_attr attr;
	int fd, err;

	if (h->nfds >= MT_MAX_EPS)
		return -E2BIG;
	memset(&attr, 0, sizeof(attr));
	attr.link_create.prog_fd = bpf_program__fd(h->skel->progs.mt_alloc_session);
	attr.link_create.attach_type = MT_TRACE_UPROBE_SESSION;
	attr.link_create.uprobe_multi.path = (__u64)(unsigned long)lib->open_path;
	attr.link_create.uprobe_multi.offsets = (__u64)(unsigned long)&off;
	attr.link_create.uprobe_multi.cookies = (__u64)(unsigned long)&cookie;
	attr.link_create.uprobe_multi.cnt = 1;
	attr.link_create.uprobe_multi.pid = (__u32)h->pid;
	fd = (int)syscall(__NR_bpf, BPF_LINK_CREATE, &attr, sizeof(attr));
	if (fd < 0) {
		err = -errno;
		mt_err("cannot attach uprobe session to '%s' in '%s': %s%s", ep->name, lib->path,
		       strerror(errno), load_hint(err));
		return err;
	}
	h->link_fds[h->nfds++] = fd;
	return 0;
}

static void detach_all(struct mt_heap *h)
{
	while (h->nlinks > 0)
		bpf_link__destroy(h->links[--h->nlinks]);
	while (h->nfds > 0)
		close(h->link_fds[--h->nfds]);
}

static int attach_one(struct mt_heap *h, struct bpf_program *prog, const struct mt_alloc_lib *lib,
		      const struct mt_entry_point *ep, uint64_t off, __u64 cookie, bool ret)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uo, .retprobe = ret, .bpf_cookie = cookie);
	struct bpf_link *link;
	int err;

	if (h->nlinks >= MT_MAX_LINKS)
		return -E2BIG;
	link = bpf_program__attach_uprobe_opts(prog, h->pid, lib->open_path, off, &uo);
	if (!link) {
		err = -errno;
		mt_err("cannot attach %s to '%s' in '%s': %s%s", ret ? "uretprobe" : "uprobe",
		       ep->name, lib->path, strerror(errno), load_hint(err));
		return err;
	}
	h->links[h->nlinks++] = link;
	return 0;
}

/* free has no return probe, so its probe can move off the entry to the
 * first instruction the kernel emulates (no single-step: ~15x cheaper).
 * Allocation functions keep theirs at the entry, where the return probe
 * must sit anyway and where one trap serves both. */
static void place(const struct mt_alloc_lib *lib, const struct mt_entry_point *ep, bool keep_entry,
		  uint64_t *off, unsigned *sp_off)
{
	struct mt_placement pl;
	int err;

	*off = ep->file_off;
	*sp_off = 0;
	err = mt_probe_place_file(lib->open_path, ep->file_off, ep->size, ep->vaddr, keep_entry, &pl);
	if (err) {
		mt_debug("probe '%s': at entry (cannot decode: %s)", ep->name, strerror(-err));
		return;
	}
	*off = ep->file_off + pl.offset;
	*sp_off = pl.sp_off;
	mt_debug("probe '%s': +%llu '%s' %s%s%s", ep->name, (unsigned long long)pl.offset, pl.insn,
		 pl.emulated ? "emulated" : "single-stepped", pl.reason[0] ? ", " : "", pl.reason);
}

int mt_heap_attach(struct mt_heap *h, const struct mt_alloc_lib *lib)
{
	unsigned i;
	int err = 0;

	for (i = 0; i < lib->neps && !err; i++) {
		const struct mt_entry_point *ep = &lib->eps[i];
		bool is_free = ep->kind == MT_K_FREE;
		unsigned sp_off;
		uint64_t off;
		__u64 cookie;

		place(lib, ep, !is_free, &off, &sp_off);
		cookie = MT_COOKIE(i, ep->kind, sp_off);
		if (is_free) {
			err = attach_one(h, h->skel->progs.mt_free_enter, lib, ep, off, cookie, false);
			continue;
		}
		if (h->session) {
			err = attach_session(h, lib, ep, ep->file_off, MT_COOKIE(i, ep->kind, 0));
			continue;
		}
		err = attach_one(h, h->skel->progs.mt_alloc_enter, lib, ep, off, cookie, false);
		if (!err)
			err = attach_one(h, h->skel->progs.mt_alloc_exit, lib, ep, ep->file_off, cookie, true);
	}
	if (err)
		detach_all(h);
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

void mt_heap_free(struct mt_heap *h)
{
	if (!h)
		return;
	detach_all(h);
	heap_bpf__destroy(h->skel);
	free(h);
}
