// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <bpf/bpf.h>
#include <linux/types.h>

#include "unwind.h"
#include "unwind/mt_unwind.h"
#include "unwind/mt_uw_table.h"
#include "util/mt_log.h"
#include "util/mt_maps.h"
#include "util/mt_progress.h"

struct module {
	char *path;               /* as /proc/PID/maps names it */
	char *alias;              /* another name of the file: launch mode builds the
				   * loader's /lib/..., the maps say /usr/lib/... */
	uint64_t dev, ino;
	struct mt_uw_table t;
	enum mt_uw_map_kind kind;
	bool built;               /* table built (or found to be absent) */
	bool written;             /* rows are in the row map at row_first */
	bool in_mods;             /* in the walker's module map (mt_uw_mods) */
	uint32_t row_first;
};

struct mt_unwind {
	pid_t pid;
	enum mt_unwind_mode mode;
	struct mt_progress prog;  /* the first tables: a terminal shows the count */
	struct module *mods;
	uint32_t nmods, cap_mods;
	struct mt_uw_maps maps;   /* what the walker reads */
	uint32_t rows_used;       /* rows written into the row map */
	struct mt_unwind_stats st;
	bool full_said;
	uint64_t unknown_seen;    /* mt_uw_state.unknown at the last refresh */
	uint64_t next_ns;         /* no polled refresh before this */
};

int mt_unwind_mode_parse(const char *s, enum mt_unwind_mode *mode)
{
	if (!strcmp(s, "auto"))
		*mode = MT_UNWIND_AUTO;
	else if (!strcmp(s, "fp"))
		*mode = MT_UNWIND_FP;
	else if (!strcmp(s, "cfi"))
		*mode = MT_UNWIND_CFI;
	else
		return -EINVAL;
	return 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static struct module *find_module(struct mt_unwind *u, const char *path, uint64_t dev, uint64_t ino)
{
	for (uint32_t i = 0; i < u->nmods; i++) {
		struct module *m = &u->mods[i];

		if (m->ino != ino || m->dev != dev)
			continue;
		if (!m->alias && strcmp(m->path, path))
			m->alias = strdup(path);   /* NULL: only the first name is known */
		return m;
	}
	return NULL;
}

/* The module's table, built on first sight. Read through /proc/PID/root so
 * a process in another mount namespace (a container) gets its own files. */
static struct module *module_of(struct mt_unwind *u, const char *path, uint64_t dev, uint64_t ino)
{
	struct module *m = find_module(u, path, dev, ino);
	char file[4096 + 64];
	uint64_t t0;
	int err;

	if (m)
		return m;
	if (u->nmods == u->cap_mods) {
		uint32_t cap = u->cap_mods ? u->cap_mods * 2 : 32;
		struct module *n = realloc(u->mods, cap * sizeof(*n));

		if (!n)
			return NULL;
		u->mods = n;
		u->cap_mods = cap;
	}
	m = &u->mods[u->nmods];
	memset(m, 0, sizeof(*m));
	m->path = strdup(path);
	if (!m->path)
		return NULL;
	m->dev = dev;
	m->ino = ino;
	u->nmods++;
	u->st.modules++;
	mt_progress_step(&u->prog, 1);   /* the count of modules begun */
	m->kind = MT_UW_MAP_FP;
	snprintf(file, sizeof(file), "/proc/%d/root%s", (int)u->pid, path);
	t0 = now_ns();
	err = mt_uw_table_build(file, &m->t);
	t0 = now_ns() - t0;
	u->st.build_ns += t0;
	m->built = true;
	if (err) {
		/* Unreadable: its own frames are only the ones the walker
		 * reaches by frame pointers (or none in cfi mode). */
		mt_debug("unwind: no table for '%s': %s", path, strerror(-err));
		m->kind = u->mode == MT_UNWIND_CFI ? MT_UW_MAP_CFI : MT_UW_MAP_FP;
		m->t.nloads = 0;
	} else if (u->mode == MT_UNWIND_CFI ||
		   (u->mode == MT_UNWIND_AUTO && m->t.src != MT_UW_SRC_NONE && !m->t.fp)) {
		m->kind = MT_UW_MAP_CFI;
	}
	if (m->kind == MT_UW_MAP_CFI) {
		u->st.modules_cfi++;
		u->st.text_bytes += m->t.text_bytes;
	} else {
		u->st.modules_fp++;
		mt_uw_table_free(&m->t);   /* the rows are not needed */
	}
	mt_debug("unwind: '%s': %s (%u functions, %u with a frame pointer, %u rows, %.2f ms)", path,
		 m->kind == MT_UW_MAP_CFI ? "cfi" : "fp", m->t.nfde, m->t.nfde_fp, m->t.nrows, t0 / 1e6);
	return m;
}

struct scan_ctx {
	struct mt_unwind *u;
	struct mt_uw_maps *out;
};

/* One mapping of /proc/PID/maps into an entry of the mapping table. */
static int add_mapping(void *arg, const struct mt_maps_ent *me)
{
	struct scan_ctx *c = arg;
	struct mt_uw_maps *out = c->out;
	struct mt_uw_map *e;
	struct module *m;

	if (!(me->prot & PROT_EXEC))
		return 0;
	if (out->n >= MT_UW_MAX_MAPS)
		return -E2BIG;
	e = &out->m[out->n++];
	memset(e, 0, sizeof(*e));
	e->start = me->start;
	e->end = me->end;
	e->kind = MT_UW_MAP_UNKNOWN;
	/* Anonymous code (JIT), [vdso], [uprobes], deleted files: the stack
	 * ends there, cleanly. */
	if (me->name[0] != '/' || strstr(me->name, " (deleted)"))
		return 0;
	m = module_of(c->u, me->name, ((uint64_t)me->dev_major << 20) | me->dev_minor, me->ino);
	if (!m)
		return -ENOMEM;
	e->kind = m->kind;
	if (m->kind == MT_UW_MAP_CFI) {
		uint64_t bias;

		if (mt_uw_table_bias(&m->t, me->start, me->off, &bias)) {
			e->kind = MT_UW_MAP_UNKNOWN;
			return 0;
		}
		e->bias = bias;
		/* row_first is set at publish, once the rows have a place */
		e->row_count = 0;
		e->pad = (uint32_t)(m - c->u->mods);
	}
	return 0;
}

static int scan(struct mt_unwind *u, struct mt_uw_maps *out)
{
	struct scan_ctx c = { .u = u, .out = out };
	char path[64];
	FILE *f;
	int err;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)u->pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	memset(out, 0, offsetof(struct mt_uw_maps, m));
	out->tgid = (uint32_t)u->pid;
	err = mt_maps_read(f, add_mapping, &c);
	fclose(f);
	if (err == -E2BIG) {
		mt_debug("unwind: more than %d executable mappings: the rest end stacks", MT_UW_MAX_MAPS);
		err = 0;
	}
	return err;
}

/* For the progress line: the executable file mappings, about one per
 * module (a module mapped twice only makes the count end short). */
static int count_exec(void *arg, const struct mt_maps_ent *me)
{
	if ((me->prot & PROT_EXEC) && me->name[0] == '/' && !strstr(me->name, " (deleted)"))
		++*(uint64_t *)arg;
	return 0;
}

static uint64_t exec_mappings(pid_t pid)
{
	char path[64];
	uint64_t n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (f) {
		mt_maps_read(f, count_exec, &n);
		fclose(f);
	}
	return n;
}

int mt_unwind_new(pid_t pid, enum mt_unwind_mode mode, struct mt_unwind **out)
{
	struct mt_unwind *u = calloc(1, sizeof(*u));
	int err;

	if (!u)
		return -ENOMEM;
	u->pid = pid;
	u->mode = mode;
	if (mt_progress_enabled())
		mt_progress_begin(&u->prog, "building unwind tables", "modules", exec_mappings(pid));
	err = scan(u, &u->maps);
	if (err) {
		mt_err("cannot read the mappings of PID %d: %s", (int)pid, strerror(-err));
		mt_unwind_free(u);
		return err;
	}
	*out = u;
	return 0;
}

int mt_unwind_add_file(struct mt_unwind *u, const char *path)
{
	char file[4096 + 64];
	struct stat sb;

	snprintf(file, sizeof(file), "/proc/%d/root%s", (int)u->pid, path);
	if (stat(file, &sb))
		return -errno;
	if (!find_module(u, path, ((uint64_t)major(sb.st_dev) << 20) | minor(sb.st_dev), sb.st_ino))
		mt_progress_add_total(&u->prog, 1);
	return module_of(u, path, ((uint64_t)major(sb.st_dev) << 20) | minor(sb.st_dev),
			 sb.st_ino) ? 0 : -ENOMEM;
}

void mt_unwind_progress_end(struct mt_unwind *u)
{
	mt_progress_end(&u->prog);
}

uint64_t mt_unwind_nrows(const struct mt_unwind *u)
{
	uint64_t n = 0;

	for (uint32_t i = 0; i < u->nmods; i++)
		if (u->mods[i].kind == MT_UW_MAP_CFI)
			n += u->mods[i].t.nrows;
	return n;
}

uint32_t mt_unwind_rows_cap(const struct mt_unwind *u)
{
	uint64_t rows = mt_unwind_nrows(u) * 2 + (1u << 17);

	return rows > (1u << 24) ? 1u << 24 : (uint32_t)rows;
}

int mt_unwind_sink_open(struct mt_unwind *u, struct mt_unwind_sink *s, int rows_fd,
			uint32_t rows_cap, int maps_fd, int mods_fd, int state_fd)
{
	long page = sysconf(_SC_PAGESIZE);
	void *p;
	int err;

	memset(s, 0, sizeof(*s));
	s->rows_cap = rows_cap;
	s->rows_fd = rows_fd;
	s->maps_fd = maps_fd;
	s->mods_fd = mods_fd;
	s->state_fd = state_fd;
	s->rows_bytes = ((size_t)rows_cap * sizeof(struct mt_uw_row) + page - 1) & ~(size_t)(page - 1);
	p = mmap(NULL, s->rows_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, rows_fd, 0);
	if (p == MAP_FAILED) {
		err = -errno;
		mt_err("cannot map the unwind row table: %s", strerror(errno));
		return err;
	}
	s->rows = p;
	p = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_SHARED, state_fd, 0);
	if (p == MAP_FAILED) {
		err = -errno;
		mt_err("cannot map the unwind state: %s", strerror(errno));
		mt_unwind_sink_close(s);
		return err;
	}
	s->state = p;
	err = mt_unwind_publish(u, s);
	if (err)
		mt_unwind_sink_close(s);
	return err;
}

void mt_unwind_sink_close(struct mt_unwind_sink *s)
{
	if (s->rows)
		munmap(s->rows, s->rows_bytes);
	if (s->state)
		munmap(s->state, (size_t)sysconf(_SC_PAGESIZE));
	s->rows = NULL;
	s->state = NULL;
}

int mt_unwind_publish(struct mt_unwind *u, const struct mt_unwind_sink *s)
{
	struct mt_uw_state *state = s->state;
	struct mt_uw_row *rows = s->rows;
	uint32_t next = __atomic_load_n(&state->cur, __ATOMIC_RELAXED) ^ 1, i;
	int err;

	/* Rows first: a module's rows are in place before any mapping
	 * names them. */
	for (i = 0; i < u->nmods; i++) {
		struct module *m = &u->mods[i];

		if (m->kind != MT_UW_MAP_CFI || m->written)
			continue;
		if ((uint64_t)u->rows_used + m->t.nrows > s->rows_cap) {
			if (!u->full_said)
				mt_info("unwind: the row map is full: stacks end at '%s' (no_cfi)", m->path);
			u->full_said = true;
			m->t.nrows = 0;
		}
		memcpy(rows + u->rows_used, m->t.rows, (size_t)m->t.nrows * sizeof(*rows));
		m->row_first = u->rows_used;
		u->rows_used += m->t.nrows;
		u->st.rows += m->t.nrows;
		m->written = true;
	}
	/* Then the modules by inode, for mappings the table below misses. */
	for (i = 0; i < u->nmods; i++) {
		struct module *m = &u->mods[i];
		struct mt_uw_mod_key key = { .ino = m->ino, .dev = m->dev };
		struct mt_uw_mod v = { .row_first = m->row_first, .row_count = m->t.nrows,
				       .kind = m->kind };

		if (m->in_mods || (m->kind == MT_UW_MAP_CFI && !m->written))
			continue;
		for (unsigned l = 0; l < m->t.nloads && l < MT_UW_MOD_LOADS; l++) {
			v.loads[l].off = m->t.loads[l].off;
			v.loads[l].vaddr = m->t.loads[l].vaddr;
			v.loads[l].filesz = m->t.loads[l].filesz;
			v.nloads++;
		}
		if (!v.nloads)
			continue;
		if (bpf_map_update_elem(s->mods_fd, &key, &v, BPF_ANY))
			mt_debug("unwind: cannot add '%s' to the module map: %s", m->path, strerror(errno));
		m->in_mods = true;
	}
	for (i = 0; i < u->maps.n; i++) {
		struct mt_uw_map *e = &u->maps.m[i];

		if (e->kind != MT_UW_MAP_CFI)
			continue;
		e->row_first = u->mods[e->pad].row_first;
		e->row_count = u->mods[e->pad].t.nrows;
	}
	u->st.maps = u->maps.n;
	err = bpf_map_update_elem(s->maps_fd, &next, &u->maps, BPF_ANY);
	if (err) {
		mt_err("cannot write the unwind mapping table: %s", strerror(errno));
		return -errno;
	}
	__atomic_store_n(&state->cur, next, __ATOMIC_RELEASE);
	return 0;
}

/* Same mappings, walked the same way (row places are set at publish). */
static bool same_maps(const struct mt_uw_maps *a, const struct mt_uw_maps *b)
{
	if (a->n != b->n)
		return false;
	for (uint32_t i = 0; i < a->n; i++)
		if (a->m[i].start != b->m[i].start || a->m[i].end != b->m[i].end ||
		    a->m[i].bias != b->m[i].bias || a->m[i].kind != b->m[i].kind)
			return false;
	return true;
}

int mt_unwind_refresh(struct mt_unwind *u, const struct mt_unwind_sink *s)
{
	struct mt_uw_maps *fresh = malloc(sizeof(*fresh));
	int err;

	if (!fresh)
		return -ENOMEM;
	err = scan(u, fresh);
	if (!err && !same_maps(fresh, &u->maps)) {
		memcpy(&u->maps, fresh, sizeof(*fresh));
		u->st.refreshes++;
		err = mt_unwind_publish(u, s);
		mt_debug("unwind: %u executable mappings after a refresh", u->maps.n);
	}
	free(fresh);
	return err == -ESRCH || err == -ENOENT ? 0 : err;
}

void mt_unwind_poll(struct mt_unwind *u, const struct mt_unwind_sink *s, bool now)
{
	const struct mt_uw_state *state;
	uint64_t unknown, t;

	if (!u || !s || !s->state)
		return;
	state = s->state;
	unknown = __atomic_load_n(&state->unknown, __ATOMIC_RELAXED);
	if (!now && unknown == u->unknown_seen)
		return;
	t = now_ns();
	if (!now && t < u->next_ns)
		return;
	u->next_ns = t + 250000000ull;
	u->unknown_seen = unknown;
	if (mt_unwind_refresh(u, s))
		mt_debug("unwind: cannot refresh the mapping table");
}

void mt_unwind_get_stats(const struct mt_unwind *u, struct mt_unwind_stats *st)
{
	*st = u->st;
	st->maps = u->maps.n;
	if (!st->rows)
		st->rows = mt_unwind_nrows(u);
}

const char *mt_unwind_module_kind(const struct mt_unwind *u, const char *path)
{
	for (uint32_t i = 0; u && i < u->nmods; i++) {
		const struct module *m = &u->mods[i];

		if (!strcmp(m->path, path) || (m->alias && !strcmp(m->alias, path)))
			return m->kind == MT_UW_MAP_CFI ? "cfi" : "fp";
	}
	return NULL;
}

void mt_unwind_free(struct mt_unwind *u)
{
	if (!u)
		return;
	mt_progress_end(&u->prog);
	for (uint32_t i = 0; i < u->nmods; i++) {
		mt_uw_table_free(&u->mods[i].t);
		free(u->mods[i].path);
		free(u->mods[i].alias);
	}
	free(u->mods);
	free(u);
}
