// SPDX-License-Identifier: BSD-2-Clause
/*
 * The traced process tree; see mt_ptree.h. Costs: an image is an
 * aggregator, a symbolizer and (for events) a stack cache of 4 bytes per
 * stack-map id (256 KiB); a fork or exec costs a stop of the process while
 * its probes are attached (~1-3 ms here, dominated by reading the ELF).
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/types.h>

#include "heap.h"
#include "ptree/mt_ptree.h"
#include "target/mt_proc.h"
#include "util/mt_log.h"
#include "util/mt_time.h"

enum mt_image_end { MT_IMG_RUNNING, MT_IMG_EXEC, MT_IMG_EXIT };

struct mt_image {
	pid_t pid, ppid;
	char comm[32];
	char exe[PATH_MAX];
	struct mt_alloc_lib lib;     /* neps 0: no allocator found, not traced */
	dev_t lib_dev;               /* the allocator's file, to know it again */
	ino_t lib_ino;
	struct mt_agg *agg;
	struct mt_sym *sym;
	bool own_sym;                /* else its parent's (a fork child: the same
	                              * mappings until it execs) */
	enum mt_image_end end;
	int exit_code;
	uint64_t end_ns;
	uint64_t released_objects, released_bytes;
	bool current;                /* the image its pid runs now */
};

struct mt_ptree {
	struct mt_ptree_opts o;
	struct mt_heap *heap;
	struct mt_events *events;
	pid_t pid;                   /* the launched process */
	unsigned n, cap;
	struct mt_image **img;
	/* the final report's per-image parts */
	struct mt_report_proc *procs;
	struct mt_report *reps;
	size_t nreps;
};

static void read_ident(struct mt_image *im)
{
	char path[64];
	ssize_t len;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)im->pid);
	f = fopen(path, "re");
	if (!f || !fgets(im->comm, sizeof(im->comm), f))
		snprintf(im->comm, sizeof(im->comm), "?");
	if (f)
		fclose(f);
	im->comm[strcspn(im->comm, "\n")] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)im->pid);
	len = readlink(path, im->exe, sizeof(im->exe) - 1);
	im->exe[len > 0 ? len : 0] = '\0';
}

static struct mt_image *image_add(struct mt_ptree *t, pid_t pid, pid_t ppid)
{
	struct mt_image *im;

	if (t->n == t->cap) {
		unsigned cap = t->cap ? t->cap * 2 : 8;
		struct mt_image **grown = realloc(t->img, cap * sizeof(*grown));

		if (!grown)
			return NULL;
		t->img = grown;
		t->cap = cap;
	}
	im = calloc(1, sizeof(*im));
	if (!im)
		return NULL;
	im->pid = pid;
	im->ppid = ppid;
	im->exit_code = -1;
	im->current = true;
	t->img[t->n++] = im;
	return im;
}

/* The current image of tgid, and its index as the stack-cache slot. */
static struct mt_agg *route(void *arg, uint32_t tgid, unsigned *slot)
{
	struct mt_ptree *t = arg;
	unsigned i;

	for (i = t->n; i-- > 0;) {
		if (t->img[i]->pid == (pid_t)tgid && t->img[i]->current) {
			*slot = i;
			return t->img[i]->agg;
		}
	}
	return NULL;
}

static void lib_identity(struct mt_image *im)
{
	struct stat st;

	if (im->lib.neps && stat(im->lib.open_path, &st) == 0) {
		im->lib_dev = st.st_dev;
		im->lib_ino = st.st_ino;
	}
}

/* The same allocator file probed at the same places: a process's probes
 * can stay across its exec (uprobes follow the file and the process, not
 * the address space), which spares detaching them (~0.1 s). */
static bool same_allocator(const struct mt_image *a, const struct mt_image *b)
{
	unsigned i;

	/* one object (the allocator's identity is that file's) */
	if (!a->lib.neps || a->lib.neps != b->lib.neps || a->lib.nobjs != 1 || b->lib.nobjs != 1 ||
	    !a->lib_ino || a->lib_dev != b->lib_dev || a->lib_ino != b->lib_ino)
		return false;
	for (i = 0; i < a->lib.neps; i++)
		if (a->lib.eps[i].file_off != b->lib.eps[i].file_off ||
		    a->lib.eps[i].kind != b->lib.eps[i].kind)
			return false;
	return true;
}

int mt_ptree_new(const struct mt_ptree_opts *o, struct mt_heap *heap, struct mt_events *events,
		 pid_t pid, struct mt_agg *agg, struct mt_sym *sym, const struct mt_alloc_lib *lib,
		 struct mt_ptree **out)
{
	struct mt_ptree *t = calloc(1, sizeof(*t));
	struct mt_image *im;

	if (!t)
		return -ENOMEM;
	t->o = *o;
	t->heap = heap;
	t->events = events;
	t->pid = pid;
	im = image_add(t, pid, mt_proc_status_pid(pid, "PPid"));
	if (!im) {
		free(t);
		return -ENOMEM;
	}
	im->agg = agg;
	im->sym = sym;
	im->own_sym = true;
	if (lib)
		im->lib = *lib;
	lib_identity(im);
	read_ident(im);
	if (events)
		mt_events_set_route(events, route, t);
	*out = t;
	return 0;
}

struct live_list {
	uint64_t *addr;
	size_t n, cap;
	uint64_t bytes;
};

static int collect_live(void *arg, uint64_t addr, uint64_t size, uint32_t site, uint64_t ts)
{
	struct live_list *l = arg;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		uint64_t *grown = realloc(l->addr, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		l->addr = grown;
		l->cap = cap;
	}
	l->addr[l->n++] = addr;
	l->bytes += size;
	return 0;
}

/* exec took the whole address space: every block still live is released
 * (counted apart, never a leak). */
static void release_all(struct mt_image *im, uint64_t now)
{
	struct live_list l = { 0 };
	size_t i;

	if (!im->agg)
		return;
	if (mt_agg_live_foreach(im->agg, collect_live, &l))
		mt_err("warning: out of memory releasing the blocks of PID %d at exec: they stay live",
		       (int)im->pid);
	else
		for (i = 0; i < l.n; i++)
			mt_agg_release(im->agg, now, l.addr[i]);
	im->released_objects = l.n;
	im->released_bytes = l.bytes;
	free(l.addr);
}

/* Find the allocator of a process stopped right after execve (only the
 * executable and its loader are mapped: the load order says where malloc
 * will come from). */
static int find_allocator(struct mt_ptree *t, struct mt_image *im)
{
	char **order = NULL;
	size_t n = 0;
	int err;

	if (!t->o.lib) {
		err = mt_launch_image_order(im->pid, &order, &n);
		if (err)
			return err;
	}
	err = mt_alloc_lib_find(im->pid, t->o.lib, (const char *const *)order, n, &im->lib);
	mt_launch_free_order(order, n);
	if (err) {
		memset(&im->lib, 0, sizeof(im->lib));
		return err;
	}
	lib_identity(im);
	mt_debug("PID %d: allocator '%s' (%u entry points)", (int)im->pid, im->lib.path, im->lib.neps);
	return 0;
}

static struct mt_image *current(struct mt_ptree *t, pid_t pid)
{
	unsigned i;

	for (i = t->n; i-- > 0;)
		if (t->img[i]->pid == pid && t->img[i]->current)
			return t->img[i];
	return NULL;
}

/* parent_sym: a fork child shares its parent's symbolizer (the same
 * mappings; a new one reads every library's symbols, ~50 ms for libc). */
static int new_image(struct mt_ptree *t, pid_t pid, pid_t ppid, struct mt_sym *parent_sym,
		     struct mt_image **out)
{
	struct mt_image *im = image_add(t, pid, ppid);

	if (!im)
		return -ENOMEM;
	read_ident(im);
	im->agg = mt_agg_new(mt_now_ns());
	im->own_sym = !parent_sym;
	im->sym = parent_sym ? parent_sym : mt_sym_new(pid);
	if (!im->agg || !im->sym ||
	    (t->o.sample_bytes && mt_agg_set_sampling(im->agg, t->o.sample_bytes))) {
		/* not an image: it never had a consistent state */
		mt_agg_free(im->agg);
		if (im->own_sym)
			mt_sym_free(im->sym);
		free(im);
		t->n--;
		return -ENOMEM;
	}
	*out = im;
	return 0;
}

/* former: the thread that exec'd. Not the leader: the leader's task,
 * which the probes were attached to, is gone, so they must be made anew. */
static int on_exec(struct mt_ptree *t, pid_t pid, pid_t former)
{
	struct mt_image *old = current(t, pid), *im = NULL;
	uint64_t now = mt_now_ns();
	int err;

	/* Every event of the old image was emitted before the exec stop
	 * (attach mode: the record comes after them in the ring). */
	if (!t->o.attach && t->o.drain && t->o.drain(t->o.arg))
		mt_err("warning: cannot drain the events of PID %d before its exec", (int)pid);
	if (old) {
		release_all(old, now);
		old->end = MT_IMG_EXEC;
		old->end_ns = now;
		old->current = false;
	}
	err = new_image(t, pid, old ? old->ppid : mt_proc_status_pid(pid, "PPid"), NULL, &im);
	if (!err)
		err = find_allocator(t, im);
	if (err) {
		mt_heap_detach_pid(t->heap, pid, false);
		mt_err("PID %d exec'd '%s': its allocator calls are not traced (%s)", (int)pid, im ? im->exe : "?",
		       strerror(-err));
	} else if (old && former == pid && same_allocator(old, im) && mt_heap_attached(t->heap, pid)) {
		mt_debug("PID %d exec'd '%s': the same allocator, its probes stay", (int)pid, im->exe);
	} else {
		/* the old probes must not fire for the new image (it may map
		 * the old allocator too): gone before it runs */
		mt_heap_detach_pid(t->heap, pid, false);
		err = mt_heap_attach_pid(t->heap, pid, &im->lib);
		if (err)
			mt_err("PID %d exec'd '%s': its allocator calls are not traced (%s)", (int)pid,
			       im->exe, strerror(-err));
		else
			mt_debug("PID %d exec'd '%s': probes attached before it runs", (int)pid, im->exe);
	}
	if (im && pid == t->pid) {
		if (t->events)
			mt_events_set_agg(t->events, im->agg);
		if (t->o.main_exec)
			t->o.main_exec(t->o.arg, im->agg, im->sym, &im->lib);
	}
	return 0;
}

static int on_fork(struct mt_ptree *t, pid_t parent, pid_t child)
{
	struct mt_image *p = current(t, parent), *im;
	int err;

	err = new_image(t, child, parent, p ? p->sym : NULL, &im);
	if (err) {
		mt_err("cannot trace child PID %d of PID %d: %s", (int)child, (int)parent, strerror(-err));
		return err;
	}
	/* The child is a copy of its parent: the same allocator at the same
	 * place. Blocks it inherited and frees are untracked frees. */
	if (!p || !p->lib.neps) {
		mt_err("child PID %d of PID %d: no allocator to probe; its calls are not traced",
		       (int)child, (int)parent);
		return 0;
	}
	im->lib = p->lib;
	im->lib_dev = p->lib_dev;
	im->lib_ino = p->lib_ino;
	err = mt_heap_attach_pid(t->heap, child, &im->lib);
	if (err) {
		mt_err("cannot trace child PID %d of PID %d: %s", (int)child, (int)parent, strerror(-err));
		im->current = false;
		im->lib.neps = 0;
		return err;
	}
	mt_debug("PID %d forked PID %d: probes attached before it runs", (int)parent, (int)child);
	return 0;
}

static void on_exit_status(struct mt_ptree *t, pid_t pid, int code)
{
	struct mt_image *im = current(t, pid);

	mt_heap_detach_pid(t->heap, pid, true);
	if (!im)
		return;
	im->end = MT_IMG_EXIT;
	im->exit_code = code;
	if (!im->end_ns)
		im->end_ns = mt_now_ns();
	im->current = false;
}

void mt_ptree_proc(void *arg, unsigned kind, uint32_t tgid, uint64_t arg0)
{
	struct mt_ptree *t = arg;
	pid_t pid = (pid_t)tgid;

	switch (kind) {
	case MT_P_EXEC:
		on_exec(t, pid, (pid_t)arg0);
		break;
	case MT_P_FORK:
		if (on_fork(t, (pid_t)arg0, pid))
			mt_err("child PID %d of PID %d runs untraced", (int)pid, (int)arg0);
		break;
	case MT_P_EXIT:
		on_exit_status(t, pid, (int)arg0);
		return;
	default:
		return;
	}
	/* held by the SIGSTOP the BPF side queued at the exec or fork */
	if (kill(pid, SIGCONT))
		mt_err("cannot continue PID %d: %s", (int)pid, strerror(errno));
}

static int hook(struct mt_ptree *t, const struct mt_launch_ev *ev);

/* -v: what each stop cost the process held in it (and its parent) */
int mt_ptree_hook(void *arg, const struct mt_launch_ev *ev)
{
	static const char *const names[] = { "?", "exec", "fork", "exit stop", "end" };
	uint64_t t0 = mt_now_ns();
	int err = hook(arg, ev);

	mt_debug("PID %d %s: handled in %.3f ms", (int)ev->pid, names[ev->kind <= 4 ? ev->kind : 0],
		 (double)(mt_now_ns() - t0) / 1e6);
	return err;
}

static int hook(struct mt_ptree *t, const struct mt_launch_ev *ev)
{
	struct mt_image *im;

	switch (ev->kind) {
	case MT_LEV_EXEC:
		return on_exec(t, ev->pid, ev->child);
	case MT_LEV_FORK:
		return on_fork(t, ev->pid, ev->child);
	case MT_LEV_EXITING:
		/* last look while its mappings exist */
		if (t->o.drain)
			t->o.drain(t->o.arg);
		im = current(t, ev->pid);
		if (im) {
			if (im->own_sym)
				mt_sym_refresh(im->sym);
			im->end_ns = mt_now_ns();
		}
		return 0;
	case MT_LEV_EXITED:
		if (t->o.drain)
			t->o.drain(t->o.arg);
		on_exit_status(t, ev->pid, ev->code);
		return 0;
	}
	return 0;
}

void mt_ptree_tick(struct mt_ptree *t)
{
	unsigned i;

	for (i = 0; t && i < t->n; i++)
		if (t->img[i]->current && t->img[i]->own_sym && t->img[i]->pid != t->pid)
			mt_sym_refresh(t->img[i]->sym);
}

unsigned mt_ptree_images(const struct mt_ptree *t)
{
	return t ? t->n : 0;
}

static const char *end_name(const struct mt_image *im)
{
	switch (im->end) {
	case MT_IMG_EXEC:
		return "exec";
	case MT_IMG_EXIT:
		return "exit";
	default:
		return "running";
	}
}

int mt_ptree_report(struct mt_ptree *t, struct mt_report *r, uint64_t now_ns,
		    const struct mt_report_opts *ro, int main_exit)
{
	size_t self = 0, i;
	int err = 0;

	if (!t || (t->n < 2 && !t->o.follow))
		return 0;
	mt_ptree_report_release(t);
	t->procs = calloc(t->n, sizeof(*t->procs));
	t->reps = calloc(t->n, sizeof(*t->reps));
	if (!t->procs || !t->reps)
		return -ENOMEM;
	for (i = 0; i < t->n && !err; i++) {
		struct mt_image *im = t->img[i];
		struct mt_report_target rt = { .pid = im->pid };
		const char *names[MT_AGG_MAX_EPS];
		unsigned e;

		for (e = 0; e < im->lib.neps; e++)
			names[e] = im->lib.eps[e].name;
		snprintf(rt.comm, sizeof(rt.comm), "%s", im->comm);
		snprintf(rt.exe, sizeof(rt.exe), "%s", im->exe);
		snprintf(rt.allocator, sizeof(rt.allocator), "%s", im->lib.path);
		if (im->current && im->pid == t->pid) {
			self = i;
			if (main_exit >= 0 || main_exit == MT_PTREE_EXITED) {
				im->end = MT_IMG_EXIT;
				im->exit_code = main_exit >= 0 ? main_exit : -1;
			}
		}
		if (im->current && im->own_sym && im->pid != t->pid)
			mt_sym_refresh(im->sym);
		err = mt_report_build(&t->reps[i], im->agg, im->sym, names, im->lib.neps, &rt, NULL,
				      im->end_ns ? im->end_ns : now_ns, false, ro);
		t->nreps = i + 1;
		t->procs[i] = (struct mt_report_proc){
			.pid = im->pid, .ppid = im->ppid, .end = end_name(im),
			.exit_code = im->exit_code, .released_objects = im->released_objects,
			.released_bytes = im->released_bytes, .r = &t->reps[i],
		};
	}
	/* The first process's last image also has its end in r (the caller's
	 * report with its sections); its own entry stays for "processes". */
	if (!err)
		err = mt_report_merge(r, t->procs, t->n, self);
	return err;
}

void mt_ptree_report_release(struct mt_ptree *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->nreps; i++)
		mt_report_release(&t->reps[i]);
	free(t->reps);
	free(t->procs);
	t->reps = NULL;
	t->procs = NULL;
	t->nreps = 0;
}

void mt_ptree_free(struct mt_ptree *t)
{
	unsigned i;

	if (!t)
		return;
	mt_ptree_report_release(t);
	for (i = 0; i < t->n; i++) {
		mt_agg_free(t->img[i]->agg);
		if (t->img[i]->own_sym)
			mt_sym_free(t->img[i]->sym);
		free(t->img[i]);
	}
	free(t->img);
	free(t);
}
