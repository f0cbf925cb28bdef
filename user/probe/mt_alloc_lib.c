// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/types.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "heap.h"
#include "probe/mt_alloc_lib.h"
#include "sym/mt_elf.h"
#include "target/mt_proc.h"
#include "util/mt_fmt.h"
#include "util/mt_grow.h"
#include "util/mt_log.h"

_Static_assert(sizeof(((struct mt_alloc_lib *)0)->eps) / sizeof(struct mt_entry_point) == MT_MAX_EPS,
	       "one entry point table size");

/* enum mt_kind order, which is also the order of names in a shared key. */
static const char *const kind_names[MT_K_COUNT] = {
	"malloc", "calloc", "realloc", "reallocarray", "free",
	"posix_memalign", "memalign", "aligned_alloc", "valloc", "pvalloc",
};

/* Replacement allocators win over libc when both are mapped: they are
 * loaded (preloaded or linked) precisely to interpose malloc. */
static const char *const replacement_allocators[] = {
	"libjemalloc", "libtcmalloc", "libmimalloc", NULL,
};

const char *mt_kind_name(unsigned k)
{
	return k < MT_K_COUNT ? kind_names[k] : "?";
}

/* How we open a file the target names path. A mapping of it, through
 * /proc/PID/map_files/START-END, is the very file the target has mapped:
 * right in a chroot (maps paths are ours, /proc/PID/root would add the
 * root twice), in a container, and for a file deleted or replaced on disk
 * since (needs CAP_SYS_ADMIN). A file not mapped yet (launch mode, before
 * the loader ran) is opened by its path in the target's root. */
struct mapped_file {
	pid_t pid;
	const char *path;
	char *buf;
	size_t len;
};

/* 1 (stop) once a mapping of the file is readable through map_files. */
static int find_mapped(void *arg, const struct mt_maps_ent *e)
{
	struct mapped_file *m = arg;

	if (strcmp(e->name, m->path))
		return 0;
	snprintf(m->buf, m->len, "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, (int)m->pid,
		 e->start, e->end);
	return access(m->buf, R_OK) == 0;
}

static void open_path_of(pid_t pid, const char *path, char *buf, size_t len)
{
	struct mapped_file m = { .pid = pid, .path = path, .buf = buf, .len = len };
	const char *how = "its path in the target's root";

	if (mt_proc_maps(pid, find_mapped, &m) == 1)
		how = "/proc/PID/map_files";
	else
		snprintf(buf, len, "/proc/%d/root%s", (int)pid, path);
	mt_debug("'%s': opened through %s ('%s')", path, how, buf);
}

/* Reads the allocator functions of one object into funcs (MT_K_COUNT of
 * them). Returns the number found or -errno when unreadable. */
static int read_funcs(pid_t pid, const char *path, struct mt_elf_func *funcs, char *open_path,
		      size_t len)
{
	int k;

	for (k = 0; k < MT_K_COUNT; k++)
		funcs[k] = (struct mt_elf_func){ .name = kind_names[k] };
	if (pid > 0)
		open_path_of(pid, path, open_path, len);
	else
		snprintf(open_path, len, "%s", path);
	return mt_elf_find_funcs(open_path, funcs, MT_K_COUNT);
}

static bool has_kind(const struct mt_alloc_lib *lib, unsigned k)
{
	return lib->kinds & (1u << k);
}

/* Add the functions of object obj as entry points; with missing_only, only
 * kinds no earlier object provides. Names sharing an address are one
 * entry point, one probe, and one key naming every alias
 * ("memalign|aligned_alloc"). Returns how many were added. */
static unsigned add_eps(struct mt_alloc_lib *out, const struct mt_elf_func *funcs, unsigned obj,
			bool missing_only)
{
	bool used[MT_K_COUNT] = { false };
	unsigned added = 0;
	int k, j;

	for (k = 0; k < MT_K_COUNT; k++)
		used[k] = !funcs[k].found || (missing_only && has_kind(out, (unsigned)k));
	for (k = 0; k < MT_K_COUNT; k++) {
		struct mt_entry_point *ep;

		if (used[k] || out->neps >= MT_MAX_EPS)
			continue;
		ep = &out->eps[out->neps++];
		ep->kind = k;
		ep->obj = obj;
		ep->file_off = funcs[k].file_off;
		ep->vaddr = funcs[k].vaddr;
		ep->size = funcs[k].size;
		snprintf(ep->name, sizeof(ep->name), "%s", kind_names[k]);
		out->kinds |= 1u << k;
		added++;
		for (j = k + 1; j < MT_K_COUNT; j++) {
			size_t len = strlen(ep->name);

			if (used[j] || funcs[j].file_off != funcs[k].file_off)
				continue;
			used[j] = true;
			out->kinds |= 1u << j;
			snprintf(ep->name + len, sizeof(ep->name) - len, "|%s", kind_names[j]);
			if ((j == MT_K_FREE) != (k == MT_K_FREE))
				mt_err("warning: '%s' and '%s' share an address in '%s'; tracing it as '%s'",
				       kind_names[k], kind_names[j], out->objs[obj].path, kind_names[k]);
		}
	}
	return added;
}

/* Reads the allocator functions of one candidate. 1 when it provides
 * malloc and free, 0 when not, -errno when unreadable. */
static int probe_candidate(pid_t pid, const char *path, struct mt_alloc_lib *out)
{
	struct mt_elf_func funcs[MT_K_COUNT];
	char open_path[PATH_MAX];
	int n;

	n = read_funcs(pid, path, funcs, open_path, sizeof(open_path));
	if (n < 0)
		return n;
	if (!funcs[MT_K_MALLOC].found || !funcs[MT_K_FREE].found)
		return 0;

	memset(out, 0, sizeof(*out));
	snprintf(out->path, sizeof(out->path), "%s", path);
	snprintf(out->open_path, sizeof(out->open_path), "%s", open_path);
	out->nobjs = 1;
	snprintf(out->objs[0].path, sizeof(out->objs[0].path), "%s", path);
	snprintf(out->objs[0].open_path, sizeof(out->objs[0].open_path), "%s", open_path);
	add_eps(out, funcs, 0, false);
	return 1;
}

struct candidates {
	char **list;
	size_t n, cap;
};

/* Add path unless listed already. 0 or -ENOMEM. */
static int candidate_add(struct candidates *c, const char *path)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (strcmp(c->list[i], path) == 0)
			return 0;
	if (MT_GROW(c->list, c->n + 1, c->cap) || !(c->list[c->n] = strdup(path)))
		return -ENOMEM;
	c->n++;
	return 0;
}

static int on_mapping(void *arg, const struct mt_maps_ent *e)
{
	if (e->name[0] != '/' || !(e->prot & PROT_EXEC))
		return 0;
	return candidate_add(arg, e->name);
}

/* The kinds the chosen object leaves undefined, from the candidates after
 * it: symbol resolution finds them there (libc's reallocarray under
 * tcmalloc). One ELF read per later candidate until every kind is found. */
static void add_missing(pid_t pid, const char *const *order, size_t norder, size_t from,
			struct mt_alloc_lib *out)
{
	struct mt_elf_func funcs[MT_K_COUNT];
	char open_path[PATH_MAX];
	size_t i;
	unsigned k;

	for (i = from; i < norder && out->nobjs < MT_ALLOC_MAX_OBJS; i++) {
		struct mt_alloc_obj *o = &out->objs[out->nobjs];
		bool missing = false;

		for (k = 0; k < MT_K_COUNT && !missing; k++)
			missing = !has_kind(out, k);
		if (!missing)
			return;
		if (read_funcs(pid, order[i], funcs, open_path, sizeof(open_path)) <= 0)
			continue;
		snprintf(o->path, sizeof(o->path), "%s", order[i]);
		snprintf(o->open_path, sizeof(o->open_path), "%s", open_path);
		if (add_eps(out, funcs, out->nobjs, true) == 0)
			continue;
		mt_debug("'%s' lacks some entry points: probing those of '%s'", out->path, o->path);
		out->nobjs++;
	}
}

/* Candidates from a live process: executable first, then the mapped
 * files, replacement allocators before the rest. */
static int maps_candidates(pid_t pid, char ***out, size_t *nout)
{
	char exe_link[64], exe[PATH_MAX];
	struct candidates c = { 0 };
	char **list;
	size_t n, i, front;
	ssize_t len;
	int err;

	snprintf(exe_link, sizeof(exe_link), "/proc/%d/exe", (int)pid);
	len = readlink(exe_link, exe, sizeof(exe) - 1);
	if (len < 0) {
		err = -errno;
		mt_err("cannot read '%s': %s", exe_link, strerror(errno));
		return err;
	}
	exe[len] = '\0';
	err = candidate_add(&c, exe);
	if (!err)
		err = mt_proc_maps(pid, on_mapping, &c);
	list = c.list;
	n = c.n;
	if (err) {
		for (i = 0; i < n; i++)
			free(list[i]);
		free(list);
		mt_err("cannot list the mappings of PID %d: %s", (int)pid, strerror(-err));
		return err;
	}
	/* Move replacement allocators right after the executable. */
	front = 1;
	for (i = 1; i < n; i++) {
		const char *base = mt_basename(list[i]);

		for (int r = 0; replacement_allocators[r]; r++) {
			if (strncmp(base, replacement_allocators[r], strlen(replacement_allocators[r])) == 0) {
				char *tmp = list[i];

				memmove(&list[front + 1], &list[front], (i - front) * sizeof(*list));
				list[front++] = tmp;
				break;
			}
		}
	}
	*out = list;
	*nout = n;
	return 0;
}

int mt_alloc_lib_find(pid_t pid, const char *forced, const char *const *order, size_t norder,
		      struct mt_alloc_lib *out)
{
	char **owned = NULL;
	size_t n = 0, i;
	int err = -ENOENT;

	if (forced) {
		err = probe_candidate(pid, forced, out);
		if (err == 0) {
			mt_err("no allocator entry points (malloc and free) in '%s'", forced);
			return -ENOENT;
		}
		if (err < 0)
			mt_err("cannot read '%s' as an ELF object: %s", forced, strerror(-err));
		return err < 0 ? err : 0;
	}
	if (!order) {
		err = maps_candidates(pid, &owned, &n);
		if (err)
			return err;
		order = (const char *const *)owned;
		norder = n;
	}
	err = -ENOENT;
	for (i = 0; i < norder; i++) {
		int r = probe_candidate(pid, order[i], out);

		if (r < 0)
			mt_debug("skipping '%s': %s", order[i], strerror(-r));
		if (r == 1) {
			add_missing(pid, order, norder, i + 1, out);
			err = 0;
			break;
		}
	}
	if (err)
		mt_err("no object of PID %d provides malloc and free (a binary without symbols?); name it with --lib",
		       (int)pid);
	for (i = 0; i < n; i++)
		free(owned[i]);
	free(owned);
	return err;
}
