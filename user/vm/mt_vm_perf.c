// SPDX-License-Identifier: BSD-2-Clause
/*
 * The per-target source of the page faults: a perf software event
 * PERF_COUNT_SW_PAGE_FAULTS (sample_period 1) on each thread of the
 * target, running bpf/vm.bpf.c's mt_vm_fault_perf. Only the target's
 * faults run BPF; other processes pay nothing, unlike the machine-wide
 * exceptions:page_fault_* tracepoints.
 *
 * New threads: the events are opened with inherit and inherit_thread, so
 * a thread the target creates gets a copy carrying the BPF program
 * (perf_event_alloc() takes its parent event's prog). A forked child does
 * not (inherit_thread): the memory view does not follow children, and
 * they run nothing for it. A thread created between reading
 * /proc/PID/task and opening its creator's event (or attaching the
 * program to it) inherits nothing usable: the task list is read again
 * until a pass finds no thread without an event of ours.
 *
 * Cost: one fd and one BPF link per thread that existed at attach
 * (inherited copies cost no fd); at most MT_VM_MAX_PERF, above which the
 * caller falls back to the tracepoints.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/perf_event.h>
#include <bpf/libbpf.h>
#include "util/mt_log.h"
#include "vm/mt_vm_int.h"
#include "vm.skel.h"

#define MT_VM_MAX_PERF 4096
#define MT_VM_PERF_PASSES 16   /* a target creating threads faster gives up */

struct tids {
	int *v;
	int n, cap;
};

static bool tids_have(const struct tids *t, int tid)
{
	for (int i = 0; i < t->n; i++)
		if (t->v[i] == tid)
			return true;
	return false;
}

/* The event on one thread, with the program attached and enabled.
 * 0, -ESRCH (the thread is gone: not an error) or -errno. */
static int open_one(struct mt_vm *vm, int tid)
{
	struct perf_event_attr a = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(a),
		.config = PERF_COUNT_SW_PAGE_FAULTS,
		.sample_period = 1,
		.disabled = 1,      /* enabled by libbpf once the program is on */
		.inherit = 1,
		.inherit_thread = 1,
	};
	struct bpf_link *l;
	int fd, err;

	if (vm->nperf == vm->perf_cap) {
		int cap = vm->perf_cap ? vm->perf_cap * 2 : 16;
		struct bpf_link **p;

		if (vm->nperf >= MT_VM_MAX_PERF)
			return -E2BIG;
		p = realloc(vm->perf_links, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		vm->perf_links = p;
		vm->perf_cap = cap;
	}
	fd = (int)syscall(SYS_perf_event_open, &a, tid, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0)
		return -errno;
	l = bpf_program__attach_perf_event(vm->skel->progs.mt_vm_fault_perf, fd);
	if (!l) {
		err = -errno;
		close(fd);
		return err;
	}
	vm->perf_links[vm->nperf++] = l;   /* the link owns fd */
	return 0;
}

/* One pass over /proc/PID/task: an event for each thread not yet in t.
 * Returns the number opened, or -errno. */
static int pass(struct mt_vm *vm, struct tids *t)
{
	char path[64];
	struct dirent *de;
	int opened = 0, err = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)vm->o.pid);
	d = opendir(path);
	if (!d)
		return errno == ENOENT ? -ESRCH : -errno;
	while ((de = readdir(d))) {
		int tid = atoi(de->d_name);

		if (tid <= 0 || tids_have(t, tid))
			continue;
		if (t->n == t->cap) {
			int cap = t->cap ? t->cap * 2 : 16;
			int *p = realloc(t->v, cap * sizeof(*p));

			if (!p) {
				err = -ENOMEM;
				break;
			}
			t->v = p;
			t->cap = cap;
		}
		err = open_one(vm, tid);
		if (err == -ESRCH) {   /* exited since the listing */
			err = 0;
			continue;
		}
		if (err)
			break;
		t->v[t->n++] = tid;
		opened++;
	}
	closedir(d);
	return err ? err : opened;
}

int mt_vm_attach_perf(struct mt_vm *vm)
{
	struct tids t = { 0 };
	int i, n = 0, err = 0;

	for (i = 0; i < MT_VM_PERF_PASSES; i++) {
		n = pass(vm, &t);
		if (n <= 0)
			break;
	}
	if (n < 0)
		err = n;
	else if (n > 0)
		err = -EAGAIN;   /* still new threads after every pass */
	else if (t.n == 0)
		err = -ESRCH;
	free(t.v);
	if (err)
		mt_vm_detach_perf(vm);
	else
		mt_debug("page faults: perf events on %d threads", vm->nperf);
	return err;
}

void mt_vm_detach_perf(struct mt_vm *vm)
{
	while (vm->nperf > 0)
		bpf_link__destroy(vm->perf_links[--vm->nperf]);
	free(vm->perf_links);
	vm->perf_links = NULL;
	vm->perf_cap = 0;
}
