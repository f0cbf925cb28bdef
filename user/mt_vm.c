// SPDX-License-Identifier: BSD-2-Clause
/*
 * The memory view's loader and reader: opens bpf/vm.bpf.c, attaches each
 * source with its fallbacks, turns ring-buffer records into calls on the
 * aggregator (mt_vm_stat), and takes the samples and final snapshot.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "mt_vm_int.h"   /* before the skeleton: it names struct mt_vm_rss */
#include "vm.skel.h"

#define MT_VM_RING_BYTES (8u << 20)

static uint64_t now_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* libbpf explains each failed attach at length; a fallback we handle is not
 * an error worth that, so its messages are muted while we try. */
static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return 0;
}

/* Tracepoints need tracefs; a fresh machine may not have it mounted. The
 * raw_tp/tp_btf fallbacks do not, so a failure here is not an error. */
static void ensure_tracefs(bool verbose)
{
	if (access("/sys/kernel/tracing/events", F_OK) == 0 ||
	    access("/sys/kernel/debug/tracing/events", F_OK) == 0)
		return;
	if (mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL) && verbose)
		fprintf(stderr, "memtrace: cannot mount tracefs on '/sys/kernel/tracing': %s\n",
			strerror(errno));
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
		*err = attach_all(vm, c[i].progs, c[i].n, !vm->o.verbose);
		if (!*err) {
			if (vm->o.verbose)
				fprintf(stderr, "memtrace: %s: %s\n", what, c[i].name);
			return c[i].name;
		}
		if (vm->o.verbose)
			fprintf(stderr, "memtrace: %s: %s failed: %s\n", what, c[i].name,
				strerror(-*err));
	}
	return NULL;
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
	int err;

	vm->att_sys = attach_first(vm, "memory syscalls", sys, 2, &err);
	if (!vm->att_sys) {
		fprintf(stderr, "memtrace: cannot attach memory syscall probes "
			"(tracepoint syscalls:sys_enter_mmap, raw_tp sys_enter): %s\n",
			strerror(-err));
		return err;
	}
	if (strcmp(vm->att_sys, "tracepoint") != 0)
		fprintf(stderr, "memtrace: syscall tracepoints refused, using raw_tp "
			"sys_enter/exit (all syscalls filtered)\n");

	vm->att_fault = attach_first(vm, "page faults", fault, 2, &err);
	if (!vm->att_fault)
		fprintf(stderr, "memtrace: cannot attach exceptions:page_fault_user: %s; "
			"page faults not counted\n", strerror(-err));
	else if (strcmp(vm->att_fault, "tp_btf") != 0)
		fprintf(stderr, "memtrace: tp_btf unavailable, page faults through raw_tp\n");
	/* Optional: only adds faults the kernel takes on the target's behalf. */
	if (vm->att_fault)
		vm->att_kfault = attach_first(vm, "kernel-mode page faults", kfault, 2, &err);

	vm->att_rss = attach_first(vm, "rss counters", rss, 3, &err);
	if (!vm->att_rss)
		fprintf(stderr, "memtrace: cannot attach kmem:rss_stat: %s; RSS read from "
			"/proc at each sample\n", strerror(-err));
	else if (strcmp(vm->att_rss, "tracepoint") != 0)
		fprintf(stderr, "memtrace: kmem:rss_stat tracepoint unavailable, using %s "
			"(RSS off by up to 32 pages per CPU)\n", vm->att_rss);
	return 0;
}

/* Load with every program; a kernel refusing one kind (tp_btf needs BTF)
 * fails the whole load, so retry without that kind. */
static int open_load(struct mt_vm *vm)
{
	bool with_btf = true;
	int err, attempt;

	for (attempt = 0; attempt < 2; attempt++) {
		struct vm_bpf *s = vm_bpf__open();

		if (!s) {
			err = -errno;
			fprintf(stderr, "memtrace: cannot open the memory-view BPF object: %s\n",
				strerror(-err));
			return err;
		}
		s->rodata->target_tgid = (__u32)vm->o.pid;
		s->rodata->wakeup_bytes = MT_VM_RING_BYTES / 4;
		err = bpf_map__set_max_entries(s->maps.mt_vm_events, MT_VM_RING_BYTES);
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
				fprintf(stderr, "memtrace: tp_btf programs refused, using "
					"raw_tp for page faults and RSS\n");
			return 0;
		}
		vm_bpf__destroy(s);
		with_btf = false;
	}
	fprintf(stderr, "memtrace: cannot load the memory-view BPF programs: %s\n",
		strerror(-err));
	return err;
}

static int seed_map(void *arg, uint64_t start, uint64_t end, uint32_t prot, bool shared,
		    const char *name)
{
	return mt_vm_stat_add_pre(arg, start, end, prot, name);
}

static void on_call(struct mt_vm *vm, const struct mt_vm_call *ev)
{
	uint64_t stack[MT_VM_STACK_DEPTH] = { 0 }, frames[MT_VM_MAX_FRAMES];
	enum mt_vm_origin_kind kind = ev->kind == MT_VM_BRK ? MT_VM_O_BRK : MT_VM_O_MMAP;
	uint32_t n = 0, nf;
	int64_t origin = 0;
	int err;

	if (ev->kind == MT_VM_MMAP || ev->kind == MT_VM_MREMAP || ev->kind == MT_VM_BRK) {
		if (ev->stack_id >= 0 &&
		    bpf_map_lookup_elem(bpf_map__fd(vm->skel->maps.mt_vm_stacks),
					&ev->stack_id, stack) == 0)
			while (n < MT_VM_STACK_DEPTH && stack[n])
				n++;
		nf = mt_vm_stat_unwind(&vm->st, stack, n, ev, frames, MT_VM_MAX_FRAMES);
		origin = mt_vm_stat_origin(&vm->st, kind, frames, nf);
	}
	err = origin < 0 ? (int)origin : mt_vm_stat_call(&vm->st, ev, (uint32_t)origin);
	if (err && !vm->err)
		vm->err = err;
}

/* A fault nothing explains: the stack grew, or the kernel mapped something
 * (vdso, exec) we did not see. Re-read the maps once per drain. */
static void on_fault(struct mt_vm *vm, const struct mt_vm_fault *ev)
{
	if (mt_vm_stat_fault(&vm->st, ev->addr, ev->error_code, false))
		return;
	if (!vm->refreshed) {
		vm->refreshed = true;
		mt_vm_proc_maps(vm->o.pid, seed_map, &vm->st);
	}
	mt_vm_stat_fault(&vm->st, ev->addr, ev->error_code, true);
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct mt_vm *vm = ctx;
	__u32 kind;

	if (size < sizeof(kind))
		return 0;
	memcpy(&kind, data, sizeof(kind));
	if (kind == MT_VM_FAULT && size >= sizeof(struct mt_vm_fault))
		on_fault(vm, data);
	else if (kind != MT_VM_FAULT && size >= sizeof(struct mt_vm_call))
		on_call(vm, data);
	return 0;
}

int mt_vm_open(const struct mt_vm_opts *o, struct mt_vm **out)
{
	struct mt_vm *vm;
	int err;

	*out = NULL;
	if (!o || o->pid <= 0) {
		fprintf(stderr, "memtrace: memory view needs a target pid\n");
		return -EINVAL;
	}
	vm = calloc(1, sizeof(*vm));
	if (!vm) {
		fprintf(stderr, "memtrace: memory view: out of memory\n");
		return -ENOMEM;
	}
	vm->o = *o;
	err = mt_vm_stat_init(&vm->st, now_mono_ns());
	if (err) {
		fprintf(stderr, "memtrace: memory view: out of memory\n");
		goto fail;
	}
	ensure_tracefs(o->verbose);
	err = open_load(vm);
	if (err)
		goto fail;
	err = attach_sources(vm);
	if (err)
		goto fail;
	vm->rb = ring_buffer__new(bpf_map__fd(vm->skel->maps.mt_vm_events), on_record, vm, NULL);
	if (!vm->rb) {
		err = -errno;
		fprintf(stderr, "memtrace: cannot create the memory-view ring buffer: %s\n",
			strerror(-err));
		goto fail;
	}
	/* Enable before reading the maps: a mapping made in between is seen
	 * both ways, and the traced record replaces the pre-existing one. */
	vm->skel->bss->mt_vm_enabled = 1;
	err = mt_vm_proc_status(o->pid, &vm->status_open);
	if (!err)
		err = mt_vm_proc_maps(o->pid, seed_map, &vm->st);
	if (err) {
		fprintf(stderr, "memtrace: cannot read '/proc/%d/maps': %s\n", (int)o->pid,
			strerror(-err));
		goto fail;
	}
	*out = vm;
	return 0;
fail:
	mt_vm_free(vm);
	return err;
}

int mt_vm_poll_fd(struct mt_vm *vm)
{
	return ring_buffer__epoll_fd(vm->rb);
}

int mt_vm_consume(struct mt_vm *vm)
{
	int n, err;

	vm->refreshed = false;
	n = ring_buffer__consume(vm->rb);
	if (n < 0 && n != -EINTR)
		return n;
	err = vm->err;
	vm->err = 0;
	return err;
}

void mt_vm_set_sym(struct mt_vm *vm, struct mt_sym *sym)
{
	vm->sym = sym;
}

void mt_vm_rss_now(struct mt_vm *vm, uint64_t rss[MT_VM_RSS_N])
{
	const struct mt_vm_rss *r = &vm->skel->bss->mt_vm_rss;
	struct mt_vm_status st = vm->status_open;
	int m;

	if (!vm->att_rss && mt_vm_proc_status(vm->o.pid, &st) != 0)
		st = vm->status_open;
	rss[MT_VM_RSS_FILE] = st.rss_file;
	rss[MT_VM_RSS_ANON] = st.rss_anon;
	rss[MT_VM_RSS_SWAP] = st.vm_swap;
	rss[MT_VM_RSS_SHMEM] = st.rss_shmem;
	for (m = 0; m < MT_VM_RSS_N; m++)
		if (vm->att_rss && r->ts_ns[m])
			rss[m] = r->bytes[m];
}

void mt_vm_counters(const struct mt_vm *vm, uint64_t out[MT_VM_C_COUNT])
{
	int ncpu = libbpf_num_possible_cpus(), fd, cpu;
	__u32 k;

	memset(out, 0, MT_VM_C_COUNT * sizeof(out[0]));
	if (!vm || !vm->skel || ncpu <= 0)
		return;
	fd = bpf_map__fd(vm->skel->maps.mt_vm_counters);
	for (k = 0; k < MT_VM_C_COUNT; k++) {
		uint64_t v[ncpu];

		if (bpf_map_lookup_elem(fd, &k, v))
			continue;
		for (cpu = 0; cpu < ncpu; cpu++)
			out[k] += v[cpu];
	}
}

uint64_t mt_vm_lost(const struct mt_vm *vm)
{
	uint64_t c[MT_VM_C_COUNT];

	mt_vm_counters(vm, c);
	return c[MT_VM_C_RB_FULL_CALL] + c[MT_VM_C_RB_FULL_FAULT];
}

void mt_vm_sample(struct mt_vm *vm, uint64_t now_ns, uint64_t heap_live_bytes)
{
	uint64_t rss[MT_VM_RSS_N];
	int err;

	/* consume hands back and clears a reader error: keep it for the
	 * caller's next mt_vm_consume rather than lose it here */
	err = mt_vm_consume(vm);
	if (err && !vm->err)
		vm->err = err;
	mt_vm_rss_now(vm, rss);
	if (mt_vm_stat_sample(&vm->st, now_ns, rss, heap_live_bytes) && !vm->err)
		vm->err = -ENOMEM;
}

bool mt_vm_alloc_func(const char *name)
{
	static const char *const exact[] = {
		"malloc", "calloc", "realloc", "reallocarray", "free", "posix_memalign",
		"memalign", "aligned_alloc", "valloc", "pvalloc", "malloc_trim",
		"sysmalloc", "sysmalloc_mmap", "_int_malloc", "_int_realloc", "_int_free",
		"_mid_memalign", "new_heap", "alloc_new_heap", "arena_get2", "tcache_init",
		"_Znwm", "_Znam", "_ZnwmRKSt9nothrow_t", "_ZnamRKSt9nothrow_t",
		"_ZnwmSt11align_val_t", "_ZnamSt11align_val_t",
	};
	static const char *const prefix[] = {
		"__libc_malloc", "__libc_calloc", "__libc_realloc", "__libc_memalign",
		"__libc_valloc", "__libc_pvalloc", "__libc_free", "__malloc_",
		"je_", "mi_", "_mi_", "tc_", "tcmalloc", "_ZN8tcmalloc", "mtpool_",
	};
	size_t i;

	if (!name)
		return false;
	for (i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
		if (!strcmp(name, exact[i]))
			return true;
	for (i = 0; i < sizeof(prefix) / sizeof(prefix[0]); i++)
		if (!strncmp(name, prefix[i], strlen(prefix[i])))
			return true;
	return false;
}

/* With a symbolizer, tell allocator mappings from the program's own. */
static void classify_origins(struct mt_vm *vm)
{
	uint32_t i, k;

	if (!vm->sym)
		return;
	for (i = 0; i < vm->st.norigins; i++) {
		struct mt_vm_origin *o = &vm->st.origins[i];
		bool named = false;

		if (o->kind != MT_VM_O_MMAP || o->alloc != MT_VM_A_UNKNOWN)
			continue;
		for (k = 0; k < o->nframes; k++) {
			struct mt_frame fr;

			if (mt_sym_resolve(vm->sym, o->frames[k], true, &fr) == 0)
				named = true;
			if (mt_vm_alloc_func(fr.func)) {
				o->alloc = MT_VM_A_ALLOCATOR;
				break;
			}
		}
		if (o->alloc == MT_VM_A_UNKNOWN && named)
			o->alloc = MT_VM_A_OTHER;
	}
}

/* smaps callback: an anonymous mapping traced to non-allocator code. */
static bool is_other(void *arg, uint64_t start, uint64_t end)
{
	struct mt_vm *vm = arg;
	const struct mt_vm_area *a = mt_vm_map_find(&vm->st.map, start);

	return a && vm->st.origins[vm->st.recs[a->rec].origin].alloc == MT_VM_A_OTHER;
}

int mt_vm_finish(struct mt_vm *vm, uint64_t now_ns, const struct mt_totals *heap)
{
	int err, ret = 0;

	err = mt_vm_consume(vm);
	if (err)
		ret = err;
	vm->final_ns = now_ns;
	vm->heap_known = heap != NULL;
	if (heap) {
		vm->heap_live_bytes = heap->c.live_bytes;
		vm->heap_objects = heap->c.live_objects;
	}
	/* RSS first, /proc right after: the closest two readings can be. */
	mt_vm_rss_now(vm, vm->rss_final);
	err = mt_vm_proc_status(vm->o.pid, &vm->status_final);
	vm->have_status = err == 0;
	if (err && !ret)
		ret = err;
	vm->rss_peak = vm->skel->bss->mt_vm_rss.peak_bytes;
	classify_origins(vm);
	err = mt_vm_proc_heap(vm->o.pid, is_other, vm, &vm->heap_res);
	vm->have_heap_res = err == 0;
	if (err && !ret)
		ret = err;
	if (mt_vm_stat_sample(&vm->st, now_ns, vm->rss_final, vm->heap_live_bytes) && !ret)
		ret = -ENOMEM;
	vm->finished = true;
	return ret;
}

void mt_vm_free(struct mt_vm *vm)
{
	if (!vm)
		return;
	while (vm->nlinks > 0)
		bpf_link__destroy(vm->links[--vm->nlinks]);
	ring_buffer__free(vm->rb);
	vm_bpf__destroy(vm->skel);
	mt_vm_stat_release(&vm->st);
	free(vm);
}
