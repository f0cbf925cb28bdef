// SPDX-License-Identifier: BSD-2-Clause
/*
 * The per-target source of the memory syscalls: uprobes on the syscall
 * sites (probe/mt_syscall_sites.h) of every object the target runs code
 * from: its executable mappings, and in launch mode the libraries its
 * loader will map (the target is stopped before they are). Uprobes are
 * per inode and filtered by PID: no other process takes a trap or runs
 * BPF, unlike raw_tp sys_enter/sys_exit.
 *
 * Not seen: syscalls whose number is not a constant at the site (glibc's
 * generic syscall(); counted as dynamic sites and reported), objects
 * mapped after attach (dlopen), and code generated at run time.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "probe/mt_syscall_sites.h"
#include "target/mt_launch.h"
#include "util/mt_log.h"
#include "util/mt_maps.h"
#include "vm/mt_vm_int.h"
#include "vm.skel.h"

/* x86-64 numbers, as in bpf/vm.bpf.c. */
static const uint32_t vm_nrs[] = { 9 /* mmap */, 11 /* munmap */, 12 /* brk */,
				   25 /* mremap */, 28 /* madvise */ };
#define NR_BRK 12
#define MAX_SITES 256
#define MAX_OBJS 64

struct objs {
	pid_t pid;
	char *name[MAX_OBJS];     /* the target's path */
	char *open[MAX_OBJS];     /* ours, to read and attach */
	dev_t dev[MAX_OBJS];      /* a file is one object under all its names */
	ino_t ino[MAX_OBJS];
	unsigned n;
};

/* Probing one file twice (ld.so is mapped as /usr/lib/... and listed as
 * /lib64/...) would count each of its calls twice. */
static bool have(const struct objs *o, const struct stat *st)
{
	for (unsigned i = 0; i < o->n; i++)
		if (o->dev[i] == st->st_dev && o->ino[i] == st->st_ino)
			return true;
	return false;
}

static int add_obj(struct objs *o, const char *name, const char *open_path)
{
	struct stat st;

	if (stat(open_path, &st)) {
		mt_info("cannot read '%s' (%s): its memory syscalls are not seen", name,
			strerror(errno));
		return 0;
	}
	if (have(o, &st))
		return 0;
	if (o->n == MAX_OBJS)
		return -E2BIG;
	o->name[o->n] = strdup(name);
	o->open[o->n] = strdup(open_path);
	if (!o->name[o->n] || !o->open[o->n]) {
		free(o->name[o->n]);
		free(o->open[o->n]);
		return -ENOMEM;
	}
	o->dev[o->n] = st.st_dev;
	o->ino[o->n] = st.st_ino;
	o->n++;
	return 0;
}

/* Every file mapped executable, read through map_files: the very file. */
static int on_mapping(void *arg, const struct mt_maps_ent *e)
{
	struct objs *o = arg;
	char path[96];

	if (!(e->prot & PROT_EXEC) || e->name[0] != '/' || strstr(e->name, " (deleted)"))
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, (int)o->pid,
		 e->start, e->end);
	return add_obj(o, e->name, path);
}

static int list_objs(struct mt_vm *vm, struct objs *o)
{
	char **order = NULL, path[PATH_MAX + 32];
	size_t n = 0, i;
	int err;

	o->pid = vm->o.pid;
	err = mt_proc_maps(vm->o.pid, on_mapping, o);
	if (err)
		return err;
	if (!vm->o.launched)
		return 0;
	err = mt_launch_image_order(vm->o.pid, &order, &n);
	for (i = 0; !err && i < n; i++) {
		snprintf(path, sizeof(path), "/proc/%d/root%s", (int)vm->o.pid, order[i]);
		err = add_obj(o, order[i], path);
	}
	mt_launch_free_order(order, n);
	return err;
}

static void free_objs(struct objs *o)
{
	for (unsigned i = 0; i < o->n; i++) {
		free(o->name[i]);
		free(o->open[i]);
	}
}

static int attach_one(struct mt_vm *vm, struct bpf_program *prog, const char *path,
		      const unsigned long *offs, const __u64 *cookies, unsigned n)
{
	LIBBPF_OPTS(bpf_uprobe_multi_opts, mo, .offsets = offs, .cookies = cookies, .cnt = n);
	struct bpf_link *l;

	if (n == 0)
		return 0;
	if (vm->nlinks == MT_VM_MAX_LINKS)
		return -E2BIG;
	l = bpf_program__attach_uprobe_multi(prog, vm->o.pid, path, NULL, &mo);
	if (!l)
		return -errno;
	vm->links[vm->nlinks++] = l;
	return 0;
}

/* The sites of one object, attached: pre on brk's, post on all. */
static int attach_obj(struct mt_vm *vm, const char *name, const char *path, unsigned seen[5])
{
	static struct mt_syscall_site s[MAX_SITES];
	unsigned long pre[MAX_SITES], post[MAX_SITES];
	__u64 pre_c[MAX_SITES], post_c[MAX_SITES];
	unsigned ndyn = 0, npre = 0, i, k;
	int n, err;

	n = mt_syscall_sites_file(path, vm_nrs, 5, s, MAX_SITES, &ndyn);
	if (n < 0) {
		mt_debug("'%s': no syscall sites read: %s", name, strerror(-n));
		return n == -E2BIG ? n : 0;
	}
	vm->sites.dynamic += ndyn;
	for (i = 0; i < (unsigned)n; i++) {
		post[i] = s[i].post_off;
		post_c[i] = s[i].nr;
		if (s[i].nr == NR_BRK) {
			pre[npre] = s[i].pre_off;
			pre_c[npre++] = s[i].nr;
		}
		for (k = 0; k < 5; k++)
			seen[k] += s[i].nr == vm_nrs[k];
	}
	if (n == 0)
		return 0;
	err = attach_one(vm, vm->skel->progs.mt_vm_site_pre, path, pre, pre_c, npre);
	if (!err)
		err = attach_one(vm, vm->skel->progs.mt_vm_site_post, path, post, post_c, (unsigned)n);
	if (err) {
		mt_debug("'%s': cannot attach %d syscall-site uprobes: %s", name, n, strerror(-err));
		return err;
	}
	mt_debug("'%s': %d memory syscall sites, %u with a dynamic number", name, n, ndyn);
	vm->sites.sites += (unsigned)n;
	vm->sites.objects++;
	return 0;
}

int mt_vm_attach_sites(struct mt_vm *vm)
{
	struct objs o = { 0 };
	unsigned seen[5] = { 0 }, i;
	int first = vm->nlinks, err;

	err = list_objs(vm, &o);
	/* No executable mapping at all: an exiting process (a zombie's maps
	 * are empty) or one gone. */
	if (!err && o.n == 0)
		err = -ESRCH;
	if (err == -ENOENT)
		err = -ESRCH;
	for (i = 0; !err && i < o.n; i++)
		err = attach_obj(vm, o.name[i], o.open[i], seen);
	/* mmap and munmap are what a memory view cannot do without. */
	if (!err && (!seen[0] || !seen[1]))
		err = -ENOENT;
	if (err) {
		while (vm->nlinks > first)
			bpf_link__destroy(vm->links[--vm->nlinks]);
		vm->sites.sites = vm->sites.objects = vm->sites.dynamic = 0;
	}
	free_objs(&o);
	return err;
}
