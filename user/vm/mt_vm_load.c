// SPDX-License-Identifier: BSD-2-Clause
/*
 * The memory view's loader: opens bpf/vm.bpf.c with the target's tgid in
 * rodata, loads it (without the tp_btf programs where the kernel refuses
 * them) and attaches each source with its fallbacks. The twin of
 * probe/mt_heap.c for the heap tracer.
 */
#include <stdarg.h>
#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "util/mt_log.h"
#include "vm/mt_vm_int.h"   /* before the skeleton: it names struct mt_vm_rss */
#include "vm.skel.h"

/* libbpf explains each failed attach at length; a fallback we handle is not
 * an error worth that, so its messages are muted while we try. */
static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return 0;
}

/* Tracepoints need tracefs; a fresh machine may not have it mounted. The
 * raw_tp/tp_btf fallbacks do not, so a failure here is not an error. */
static void ensure_tracefs(void)
{
	if (access("/sys/kernel/tracing/events", F_OK) == 0 ||
	    access("/sys/kernel/debug/tracing/events", F_OK) == 0)
		return;
	if (mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL))
		mt_debug("cannot mount tracefs on '/sys/kernel/tracing': %s", strerror(errno));
}

/* Attach progs[0..n) all or none. 0 or -errno. */
static int attach_all(struct mt_vm *vm, struct bpf_program **progs, int n, bool quiet)
{
	libbpf_print_fn_t old = quiet ? libbpf_set_print(quiet_print) : NULL;
	int i, first = vm->nlinks, err = 0;

	for (i = 0; i < n; i++) {
		struct bpf_link *l;

		if (vm->nlinks == MT_VM_MAX_LINKS) {
			err = -E2BIG;
			break;
		}
		l = bpf_program__attach(progs[i]);
		if (!l) {
			err = -errno;
			break;
		}
		vm->links[vm->nlinks++] = l;
	}
	if (quiet)
		libbpf_set_print(old);
	if (err) {
		while (vm->nlinks > first)
			bpf_link__destroy(vm->links[--vm->nlinks]);
	}
	return err;
}

struct attach_choice {
	const char *name;             /* reported attach type */
	struct bpf_program *progs[10];
	int n;
};

/* The first choice that attaches, or NULL with *err from the last try. */
static const char *attach_first(struct mt_vm *vm, const char *what,
				struct attach_choice *c, int nc, int *err)
{
	int i;

	for (i = 0; i < nc; i++) {
		*err = attach_all(vm, c[i].progs, c[i].n, !mt_verbose);
		if (!*err) {
			mt_debug("%s: %s", what, c[i].name);
			return c[i].name;
		}
		mt_debug("%s: %s failed: %s", what, c[i].name, strerror(-*err));
	}
	return NULL;
}

/* Page faults: per-thread perf events, else the machine-wide tracepoints
 * (labelled, with one line on what they cost). 0 or -errno after a line. */
static int attach_faults(struct mt_vm *vm, struct attach_choice *fault,
			 struct attach_choice *kfault)
{
	enum mt_vm_fault_source fs = vm->o.fault_source;
	int err = -ENOENT;

	if (fs != MT_VM_FSRC_TRACEPOINT) {
		err = mt_vm_attach_perf(vm);
		if (!err) {
			vm->att_fault = vm->att_kfault = "perf";  /* one event counts both */
			return 0;
		}
		if (err == -ESRCH || (kill(vm->o.pid, 0) && errno == ESRCH))
			return -ESRCH;
		if (fs == MT_VM_FSRC_PERF) {
			mt_err("cannot open page-fault perf events on the threads of PID %d: %s",
			       (int)vm->o.pid, strerror(-err));
			return err;
		}
		mt_debug("page faults: perf events failed: %s", strerror(-err));
	}
	vm->att_fault = attach_first(vm, "page faults", fault, 2, &err);
	if (!vm->att_fault) {
		mt_info("cannot attach exceptions:page_fault_user: %s; "
			"page faults not counted", strerror(-err));
		return 0;
	}
	if (fs == MT_VM_FSRC_AUTO)
		mt_info("page faults seen through exceptions:page_fault_user (%s): machine-wide, "
			"every process's page faults pay for it", vm->att_fault);
	/* Optional: only adds faults the kernel takes on the target's behalf. */
	vm->att_kfault = attach_first(vm, "kernel-mode page faults", kfault, 2, &err);
	return 0;
}

static int attach_sources(struct mt_vm *vm)
{
	struct vm_bpf *s = vm->skel;
	struct attach_choice sys[] = {
		{ "tracepoint", { s->progs.mt_vm_enter_mmap, s->progs.mt_vm_exit_mmap,
				  s->progs.mt_vm_enter_munmap, s->progs.mt_vm_exit_munmap,
				  s->progs.mt_vm_enter_mremap, s->progs.mt_vm_exit_mremap,
				  s->progs.mt_vm_enter_brk, s->progs.mt_vm_exit_brk,
				  s->progs.mt_vm_enter_madvise, s->progs.mt_vm_exit_madvise }, 10 },
		{ "raw_tp", { s->progs.mt_vm_raw_enter, s->progs.mt_vm_raw_exit }, 2 },
	};
	struct attach_choice fault[] = {
		{ "tp_btf", { s->progs.mt_vm_fault_user_btf }, 1 },
		{ "raw_tp", { s->progs.mt_vm_fault_user_raw }, 1 },
	};
	struct attach_choice kfault[] = {
		{ "tp_btf", { s->progs.mt_vm_fault_kernel_btf }, 1 },
		{ "raw_tp", { s->progs.mt_vm_fault_kernel_raw }, 1 },
	};
	struct attach_choice rss[] = {
		{ "tracepoint", { s->progs.mt_vm_rss_tp }, 1 },
		{ "tp_btf", { s->progs.mt_vm_rss_btf }, 1 },
		{ "raw_tp", { s->progs.mt_vm_rss_raw }, 1 },
	};
	enum mt_vm_source src = vm->o.source;
	int err = -ENOENT;

	if (src == MT_VM_SRC_AUTO || src == MT_VM_SRC_UPROBE) {
		err = mt_vm_attach_sites(vm);
		if (!err)
			vm->att_sys = "uprobe";
		else if (src == MT_VM_SRC_UPROBE) {
			mt_err("cannot attach uprobes on the memory syscall sites of PID %d: %s",
			       (int)vm->o.pid, err == -ENOENT ? "no mmap or munmap site found"
							    : strerror(-err));
			return err;
		} else if (err == -ESRCH || (kill(vm->o.pid, 0) && errno == ESRCH)) {
			return -ESRCH;   /* gone: the caller says so, no fallback */
		} else
			mt_debug("memory syscalls: uprobes on the target's sites failed: %s",
				 strerror(-err));
	}
	if (!vm->att_sys && src != MT_VM_SRC_RAW_TP)
		vm->att_sys = attach_first(vm, "memory syscalls", sys, 1, &err);
	if (!vm->att_sys && src != MT_VM_SRC_TRACEPOINT)
		vm->att_sys = attach_first(vm, "memory syscalls", sys + 1, 1, &err);
	if (!vm->att_sys) {
		mt_err("cannot attach memory syscall probes (%s): %s",
		       src == MT_VM_SRC_TRACEPOINT ? "tracepoint syscalls:sys_enter_mmap" :
		       src == MT_VM_SRC_RAW_TP ? "raw_tp sys_enter" :
		       "the target's syscall sites, tracepoint syscalls:sys_enter_mmap, raw_tp sys_enter",
		       strerror(-err));
		return err;
	}
	/* The fallbacks tax every process on the machine: say so once. */
	if (src == MT_VM_SRC_AUTO && strcmp(vm->att_sys, "uprobe") != 0)
		mt_info("memory syscalls seen through %s: every process's syscalls pay for it "
			"(no syscall sites found in PID %d's code)",
			strcmp(vm->att_sys, "raw_tp") == 0 ? "raw_tp sys_enter/sys_exit"
							   : "syscall tracepoints",
			(int)vm->o.pid);

	err = attach_faults(vm, fault, kfault);
	if (err)
		return err;

	/* kmem:rss_stat fires on every RSS change of every process and sums
	 * a per-CPU counter for each before our filter runs: measured here,
	 * another process's page faults cost 1.7x while it was attached.
	 * With per-target faults, the target's own mm counters are read at
	 * its faults and memory syscalls (the peak) and /proc at each sample
	 * (the timeline): free for everyone else. */
	if (vm->att_fault && strcmp(vm->att_fault, "perf") == 0) {
		vm->skel->bss->mt_vm_rss_mm = 1;
		vm->att_rss = "mm";
		mt_debug("rss counters: the target's mm at its own events, /proc at each sample");
		return 0;
	}
	/* Without a per-target fault source nothing reads the mm: with a
	 * per-target syscall source, /proc at each sample alone. */
	if (strcmp(vm->att_sys, "uprobe") == 0) {
		mt_debug("rss counters: read from /proc at each sample (no machine-wide hook)");
		return 0;
	}
	vm->att_rss = attach_first(vm, "rss counters", rss, 3, &err);
	if (!vm->att_rss)
		mt_info("cannot attach kmem:rss_stat: %s; RSS read from "
			"/proc at each sample", strerror(-err));
	else if (strcmp(vm->att_rss, "tracepoint") != 0)
		mt_debug("kmem:rss_stat tracepoint unavailable, using %s "
			"(RSS off by up to 32 pages per CPU)", vm->att_rss);
	return 0;
}

/* The walker's tables: the heap tracer's maps, or maps of our own sized
 * for tables built now. Before load. 0 or -errno after one line. */
static int setup_unwind(struct mt_vm *vm, struct vm_bpf *s)
{
	const struct mt_unwind_sink *k = vm->o.uw_sink;
	int err;

	s->rodata->uw_max_depth = vm->o.max_depth ? vm->o.max_depth : 64;
	if (k) {
		err = bpf_map__reuse_fd(s->maps.mt_uw_rows, k->rows_fd);
		err = err ?: bpf_map__reuse_fd(s->maps.mt_uw_maps, k->maps_fd);
		err = err ?: bpf_map__reuse_fd(s->maps.mt_uw_mods, k->mods_fd);
		err = err ?: bpf_map__reuse_fd(s->maps.mt_uw_state, k->state_fd);
		if (err)
			mt_err("cannot share the unwind tables with the memory view: %s", strerror(-err));
		return err;
	}
	err = bpf_map__set_max_entries(s->maps.mt_uw_rows, mt_unwind_rows_cap(vm->uw_own));
	if (err)
		mt_err("cannot size the memory view's unwind rows: %s", strerror(-err));
	return err;
}

/* After load: the tables the walker reads, published when they are ours. */
static int bind_unwind(struct mt_vm *vm)
{
	struct vm_bpf *s = vm->skel;
	int err;

	if (vm->o.uw_sink) {
		vm->uw = vm->o.uw;
		vm->sink = vm->o.uw_sink;
		return 0;
	}
	err = mt_unwind_sink_open(vm->uw_own, &vm->sink_own, bpf_map__fd(s->maps.mt_uw_rows),
				  bpf_map__max_entries(s->maps.mt_uw_rows),
				  bpf_map__fd(s->maps.mt_uw_maps), bpf_map__fd(s->maps.mt_uw_mods),
				  bpf_map__fd(s->maps.mt_uw_state));
	if (err)
		return err;
	vm->uw = vm->uw_own;
	vm->sink = &vm->sink_own;
	return 0;
}

/* Load with every program; a kernel refusing one kind (tp_btf needs BTF)
 * fails the whole load, so retry without that kind. */
static int open_load(struct mt_vm *vm)
{
	bool with_btf = true;
	int err = 0, attempt;

	if (!vm->o.uw_sink) {
		err = mt_unwind_new(vm->o.pid, vm->o.unwind, &vm->uw_own);
		if (err)
			return err;
		for (size_t i = 0; i < vm->o.npreload; i++)
			if (mt_unwind_add_file(vm->uw_own, vm->o.preload[i]))
				mt_debug("unwind: cannot read '%s' ahead of its mapping", vm->o.preload[i]);
	}

	for (attempt = 0; attempt < 2; attempt++) {
		struct vm_bpf *s = vm_bpf__open();

		if (!s) {
			err = -errno;
			mt_err("cannot open the memory-view BPF object: %s",
				strerror(-err));
			return err;
		}
		s->rodata->target_tgid = (__u32)vm->o.pid;
		s->rodata->wakeup_bytes = MT_VM_RING_BYTES / 4;
		err = bpf_map__set_max_entries(s->maps.mt_vm_events, MT_VM_RING_BYTES);
		err = err ?: setup_unwind(vm, s);
		if (!with_btf) {
			bpf_program__set_autoload(s->progs.mt_vm_fault_user_btf, false);
			bpf_program__set_autoload(s->progs.mt_vm_fault_kernel_btf, false);
			bpf_program__set_autoload(s->progs.mt_vm_rss_btf, false);
		}
		if (!err)
			err = vm_bpf__load(s);
		if (!err) {
			vm->skel = s;
			if (!with_btf)
				mt_debug("tp_btf programs refused, using "
					"raw_tp for page faults and RSS");
			return bind_unwind(vm);
		}
		vm_bpf__destroy(s);
		with_btf = false;
	}
	mt_err("cannot load the memory-view BPF programs: %s",
		strerror(-err));
	return err;
}

int mt_vm_source_parse(const char *s, enum mt_vm_source *out)
{
	static const char *const names[] = { "auto", "uprobe", "tracepoint", "raw_tp" };

	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (enum mt_vm_source)i;
			return 0;
		}
	}
	return -EINVAL;
}

int mt_vm_fault_source_parse(const char *s, enum mt_vm_fault_source *out)
{
	static const char *const names[] = { "auto", "perf", "tracepoint" };

	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (enum mt_vm_fault_source)i;
			return 0;
		}
	}
	return -EINVAL;
}

int mt_vm_load(struct mt_vm *vm)
{
	int err;

	ensure_tracefs();
	err = open_load(vm);
	return err ? err : attach_sources(vm);
}

void mt_vm_unload(struct mt_vm *vm)
{
	while (vm->nlinks > 0)
		bpf_link__destroy(vm->links[--vm->nlinks]);
	mt_vm_detach_perf(vm);
	mt_unwind_sink_close(&vm->sink_own);
	vm_bpf__destroy(vm->skel);
	vm->skel = NULL;
	mt_unwind_free(vm->uw_own);
	vm->uw_own = NULL;
	vm->uw = NULL;
	vm->sink = NULL;
}
