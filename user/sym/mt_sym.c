// SPDX-License-Identifier: BSD-2-Clause
/*
 * Symbolizer on elfutils libdwfl. See mt_sym.h for the contract.
 *
 * Layout:
 *   regions  executable file mappings of the target, sorted by start, no
 *            overlaps; each points to the module of its file. Address ->
 *            region is a binary search.
 *   modules  one per (file, load bias): the file we opened, its Dwfl_Module
 *            (NULL for files that are not ELF or could not be opened) and a
 *            sorted function table built on first use.
 *   cache    open addressing on (addr, is_return) -> mt_frame.
 *
 * All files are opened while the target lives and libdwfl keeps them (and
 * the separate debuginfo it found) open until mt_sym_free, so resolving after
 * the target exited needs nothing from /proc.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <elfutils/libdwfl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "sym/mt_sym.h"
#include "util/mt_grow.h"
#include "util/mt_maps.h"

#define MT_SYM_DELETED " (deleted)"
#define MT_SYM_CACHE_MIN 1024 /* entries; a power of two */

struct mt_sym_fn {
	uint64_t addr;   /* absolute, in the target's address space */
	uint64_t size;   /* 0: extends to the next function */
	const char *name; /* in the module's string table, owned by libdwfl */
};

struct mt_sym_mod {
	char *path;         /* as the target's maps show it, without " (deleted)" */
	dev_t dev;          /* from maps, compared only with maps values */
	uint64_t ino;
	uint64_t low, high; /* address range libdwfl placed the module at */
	Dwfl_Module *dwmod; /* NULL: no symbols for this file */
	struct mt_sym_fn *fns;
	size_t nfns;
	bool fns_built;
};

struct mt_sym_region {
	uint64_t start, end, off;
	uint64_t ino;
	struct mt_sym_mod *mod;
};

struct mt_sym_cache_ent {
	bool used;
	int err;
	bool is_return;
	struct mt_frame f;
};

struct mt_sym {
	pid_t pid;
	int procfd;  /* /proc/PID: bound to this task, so a reused pid can't fool us */
	Dwfl *dwfl;
	struct mt_sym_mod **mods;
	size_t nmods, cap_mods;
	struct mt_sym_region *regions;
	size_t nregions, cap_regions;
	struct mt_sym_cache_ent *cache;
	size_t cache_cap, cache_used;
};

static char *mt_sym_debuginfo_path;

/* Offline-style callbacks: every module is reported with an fd we opened,
 * so find_elf only runs for separate debuginfo lookups. */
static const Dwfl_Callbacks mt_sym_callbacks = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
	.debuginfo_path = &mt_sym_debuginfo_path,
};

static void mt_sym_mod_free(struct mt_sym_mod *m)
{
	if (!m)
		return;
	free(m->fns);
	free(m->path);
	free(m);
}

void mt_sym_free(struct mt_sym *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nmods; i++)
		mt_sym_mod_free(s->mods[i]);
	free(s->mods);
	free(s->regions);
	free(s->cache);
	if (s->dwfl)
		dwfl_end(s->dwfl);  /* closes the module fds */
	if (s->procfd >= 0)
		close(s->procfd);
	free(s);
}

static int mt_sym_cache_init(struct mt_sym *s, size_t cap)
{
	s->cache = calloc(cap, sizeof(*s->cache));
	if (!s->cache)
		return -ENOMEM;
	s->cache_cap = cap;
	s->cache_used = 0;
	return 0;
}

struct mt_sym *mt_sym_new(pid_t pid)
{
	struct mt_sym *s = NULL;
	char dir[32];
	int err;

	if (pid <= 0) {
		err = -EINVAL;
		goto cleanup;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		err = -ENOMEM;
		goto cleanup;
	}
	s->pid = pid;
	snprintf(dir, sizeof(dir), "/proc/%d", (int)pid);
	s->procfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->procfd < 0) {
		err = errno == ENOENT ? -ESRCH : -errno;
		goto cleanup;
	}
	elf_version(EV_CURRENT);
	s->dwfl = dwfl_begin(&mt_sym_callbacks);
	if (!s->dwfl) {
		err = -ENOMEM;
		goto cleanup;
	}
	err = mt_sym_cache_init(s, MT_SYM_CACHE_MIN);
	if (err)
		goto cleanup;
	err = mt_sym_refresh(s);
cleanup:
	if (err) {
		mt_sym_free(s);
		errno = -err;
		return NULL;
	}
	return s;
}

/* Open the file behind a mapping as the target sees it. /proc/PID/root
 * makes paths inside containers work; map_files (needs CAP_SYS_ADMIN) is the
 * only way to a deleted file and the better one when the path now names
 * another inode. The inode, not the device, is compared: overlayfs and btrfs
 * report different devices in maps and in stat. */
static int mt_sym_file_open(struct mt_sym *s, const char *path, bool deleted,
			    const struct mt_sym_region *r)
{
	char *rel = NULL;
	char mf[64];
	struct stat st;
	int fd = -1, mfd;

	if (!deleted && asprintf(&rel, "root%s", path) < 0)
		rel = NULL;  /* asprintf leaves it undefined */
	if (rel) {
		fd = openat(s->procfd, rel, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && fstat(fd, &st) == 0 && (uint64_t)st.st_ino == r->ino)
			goto out;
	}
	snprintf(mf, sizeof(mf), "map_files/%" PRIx64 "-%" PRIx64, r->start, r->end);
	mfd = openat(s->procfd, mf, O_RDONLY | O_CLOEXEC);
	if (mfd >= 0) {
		if (fd >= 0)
			close(fd);
		fd = mfd;
	}
	/* else: keep the path's file, if any; likely the same file on a
	 * stacked filesystem, and better than nothing without privileges */
out:
	free(rel);
	return fd;
}

/* Load bias: what was added to the ELF's p_vaddr to place it. The mapping
 * at file offset off and address start belongs to the PT_LOAD containing
 * off; mmap keeps offset and address congruent, so
 *   start - off == bias + p_vaddr - p_offset.
 * Using the executable mapping itself, not the offset-0 one, works also
 * when the loader did not map the headers. 0 on success or -ENOEXEC. */
static int mt_sym_elf_bias(int fd, const struct mt_sym_region *r, uint64_t *bias)
{
	uint64_t pagesz = (uint64_t)sysconf(_SC_PAGESIZE);
	GElf_Ehdr eh;
	size_t phnum;
	Elf *elf;
	int err = -ENOEXEC;

	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh) ||
	    (eh.e_type != ET_DYN && eh.e_type != ET_EXEC) ||
	    elf_getphdrnum(elf, &phnum) != 0)
		goto cleanup;
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (r->off >= (ph.p_offset & ~(pagesz - 1)) &&
		    r->off < ph.p_offset + ph.p_filesz) {
			*bias = r->start - r->off + ph.p_offset - ph.p_vaddr;
			err = 0;
			break;
		}
	}
cleanup:
	if (elf)
		elf_end(elf);
	return err;
}

static int mt_sym_mods_add(struct mt_sym *s, struct mt_sym_mod *m)
{
	if (MT_GROW(s->mods, s->nmods + 1, s->cap_mods))
		return -ENOMEM;
	s->mods[s->nmods++] = m;
	return 0;
}

/* A file mapped in several segments is one module: later segments find the
 * module whose range holds them. */
static struct mt_sym_mod *mt_sym_mod_find(struct mt_sym *s, dev_t dev,
					  const struct mt_sym_region *r,
					  const char *path)
{
	for (size_t i = s->nmods; i-- > 0;) {
		struct mt_sym_mod *m = s->mods[i];

		if (m->dev != dev || m->ino != r->ino || strcmp(m->path, path))
			continue;
		if (!m->dwmod || (r->start >= m->low && r->start < m->high))
			return m;
	}
	return NULL;
}

/* Create the module for region r of path. Files that can't be opened or
 * aren't ELF still get a module, so frames in them name the file. */
static int mt_sym_mod_create(struct mt_sym *s, const char *path, bool deleted,
			     dev_t dev, const struct mt_sym_region *r,
			     struct mt_sym_mod **out)
{
	struct mt_sym_mod *m;
	uint64_t bias = 0;
	Dwarf_Addr dwbias;
	char *file_name = NULL;
	int fd, err;

	m = calloc(1, sizeof(*m));
	if (!m || !(m->path = strdup(path))) {
		err = -ENOMEM;
		goto cleanup;
	}
	m->dev = dev;
	m->ino = r->ino;
	fd = mt_sym_file_open(s, path, deleted, r);
	if (fd >= 0 && mt_sym_elf_bias(fd, r, &bias) == 0 &&
	    asprintf(&file_name, "/proc/%d/root%s", (int)s->pid, path) < 0)
		file_name = NULL;  /* asprintf leaves it undefined */
	if (file_name) {
		/* add_p_vaddr: base is the bias, libdwfl adds the first
		 * PT_LOAD's p_vaddr itself. On success it owns fd. */
		m->dwmod = dwfl_report_elf(s->dwfl, path, file_name, fd, bias, true);
		if (m->dwmod) {
			fd = -1;
			dwfl_module_info(m->dwmod, NULL, &m->low, &m->high,
					 NULL, NULL, NULL, NULL);
			/* Find symbols and debuginfo now, while the paths
			 * libdwfl searches (next to file_name) still exist;
			 * both are cached in the module. */
			dwfl_module_getsymtab(m->dwmod);
			dwfl_module_getdwarf(m->dwmod, &dwbias);
		}
	}
	if (fd >= 0)
		close(fd);
	err = mt_sym_mods_add(s, m);
cleanup:
	free(file_name);
	if (err) {
		mt_sym_mod_free(m);
		return err;
	}
	*out = m;
	return 0;
}

/* Index of the first region with end > addr. */
static size_t mt_sym_region_lower(const struct mt_sym *s, uint64_t addr)
{
	size_t lo = 0, hi = s->nregions;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->regions[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static const struct mt_sym_region *mt_sym_region_find(const struct mt_sym *s,
						      uint64_t addr)
{
	size_t i = mt_sym_region_lower(s, addr);

	if (i < s->nregions && s->regions[i].start <= addr)
		return &s->regions[i];
	return NULL;
}

/* Insert r, dropping regions it overlaps: those were unmapped since (a
 * dlclose and a new mapping in its place); the newest mapping wins. */
static int mt_sym_region_insert(struct mt_sym *s, const struct mt_sym_region *r)
{
	size_t i = mt_sym_region_lower(s, r->start), j = i;

	while (j < s->nregions && s->regions[j].start < r->end)
		j++;
	if (j == i && MT_GROW(s->regions, s->nregions + 1, s->cap_regions))
		return -ENOMEM;
	/* replace [i, j) by r */
	memmove(&s->regions[i + 1], &s->regions[j],
		(s->nregions - j) * sizeof(*s->regions));
	s->regions[i] = *r;
	s->nregions = s->nregions - (j - i) + 1;
	return 0;
}

/* Handle one maps line; *added is set when a new region was recorded.
 * Lines other than executable file mappings ([vdso], [heap], anonymous,
 * unparsable) are skipped. */
struct mt_sym_refresh_ctx {
	struct mt_sym *s;
	bool added, any;
};

static int mt_sym_maps_ent(void *arg, const struct mt_maps_ent *e)
{
	struct mt_sym_refresh_ctx *c = arg;
	struct mt_sym *s = c->s;
	struct mt_sym_region r = { .start = e->start, .end = e->end, .off = e->off, .ino = e->ino };
	const struct mt_sym_region *old;
	struct mt_sym_mod *m;
	char path[PATH_MAX];
	size_t len = strlen(e->name);
	bool deleted = false;
	dev_t dev;
	int err;

	c->any = true;
	if (!(e->prot & PROT_EXEC) || e->name[0] != '/' || r.start >= r.end || len >= sizeof(path))
		return 0;
	memcpy(path, e->name, len + 1);
	if (len > strlen(MT_SYM_DELETED) &&
	    !strcmp(path + len - strlen(MT_SYM_DELETED), MT_SYM_DELETED)) {
		path[len - strlen(MT_SYM_DELETED)] = '\0';
		deleted = true;
	}
	old = mt_sym_region_find(s, r.start);
	if (old && old->start == r.start && old->end == r.end &&
	    old->off == r.off && old->ino == r.ino && !strcmp(old->mod->path, path))
		return 0;  /* known; refresh is this check for most lines */

	dev = makedev(e->dev_major, e->dev_minor);
	m = mt_sym_mod_find(s, dev, &r, path);
	if (!m) {
		err = mt_sym_mod_create(s, path, deleted, dev, &r, &m);
		if (err)
			return err;
	}
	r.mod = m;
	err = mt_sym_region_insert(s, &r);
	if (!err)
		c->added = true;
	return err;
}

int mt_sym_refresh(struct mt_sym *s)
{
	struct mt_sym_refresh_ctx c = { .s = s };
	FILE *f = NULL;
	bool reporting = false;
	int fd, err = 0;

	if (!s)
		return -EINVAL;
	fd = openat(s->procfd, "maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = errno == ENOENT ? -ESRCH : -errno;
		goto cleanup;
	}
	f = fdopen(fd, "r");
	if (!f) {
		err = -errno;
		close(fd);
		goto cleanup;
	}
	/* begin_add keeps the modules already reported */
	dwfl_report_begin_add(s->dwfl);
	reporting = true;
	err = mt_maps_read(f, mt_sym_maps_ent, &c);
	/* A process that exits while we read fails the read with ENOENT (or
	 * no cause); every live process has mappings, a zombie's read empty. */
	if (err == -ENOENT || err == -EIO || (!err && !c.any))
		err = -ESRCH;
cleanup:
	if (reporting)
		dwfl_report_end(s->dwfl, NULL, NULL);
	/* A new mapping can give a name to an address cached as unknown, or
	 * replace one that was unmapped: start over. */
	if (c.added) {
		memset(s->cache, 0, s->cache_cap * sizeof(*s->cache));
		s->cache_used = 0;
	}
	if (f)
		fclose(f);
	return err;
}

/* Of symbols at one address, the name a user calls: fewer leading
 * underscores first (malloc, not __libc_malloc; gettimeofday, a weak alias
 * of the global __gettimeofday; malloc, not ASan's __interceptor_malloc),
 * then global before weak before local, then the shorter (crypt, not
 * xcrypt; open, not open64), then by name for a stable order. */
static int mt_sym_fn_rank(const GElf_Sym *sym, const char *name)
{
	int bind = GELF_ST_BIND(sym->st_info);
	int r = bind == STB_GLOBAL || bind == STB_GNU_UNIQUE ? 0 : bind == STB_WEAK ? 1 : 2;
	int us = 0;

	while (name[us] == '_' && us < 64)
		us++;
	return us * 4 + r;
}

struct mt_sym_fn_sort {
	struct mt_sym_fn fn;
	int rank;
};

static int mt_sym_fn_cmp(const void *a, const void *b)
{
	const struct mt_sym_fn_sort *x = a, *y = b;
	size_t lx, ly;

	if (x->fn.addr != y->fn.addr)
		return x->fn.addr < y->fn.addr ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank - y->rank;
	lx = strlen(x->fn.name);
	ly = strlen(y->fn.name);
	if (lx != ly)
		return lx < ly ? -1 : 1;
	return strcmp(x->fn.name, y->fn.name);
}

/* libdwfl's address lookup scans the whole symbol table per call; a sorted
 * table makes each lookup O(log n), which matters for large binaries
 * (libLLVM has ~100k symbols). Built on the first lookup in the module. */
static int mt_sym_fns_build(struct mt_sym_mod *m)
{
	struct mt_sym_fn_sort *tmp = NULL;
	size_t n = 0, k = 0;
	int cnt, err = 0;

	m->fns_built = true;
	cnt = dwfl_module_getsymtab(m->dwmod);
	if (cnt <= 0)
		goto cleanup;
	tmp = malloc((size_t)cnt * sizeof(*tmp));
	if (!tmp) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (int i = 1; i < cnt; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		GElf_Word shndx;
		const char *name;
		int type;

		name = dwfl_module_getsym_info(m->dwmod, i, &sym, &addr, &shndx, NULL, NULL);
		if (!name || !name[0] || shndx == SHN_UNDEF || !addr)
			continue;
		type = GELF_ST_TYPE(sym.st_info);
		/* assembler entry points are often untyped but sized */
		if (type != STT_FUNC && type != STT_GNU_IFUNC &&
		    !(type == STT_NOTYPE && sym.st_size > 0 && shndx != SHN_ABS))
			continue;
		tmp[n].fn = (struct mt_sym_fn){ addr, sym.st_size, name };
		tmp[n].rank = mt_sym_fn_rank(&sym, name);
		n++;
	}
	if (!n)
		goto cleanup;
	qsort(tmp, n, sizeof(*tmp), mt_sym_fn_cmp);
	m->fns = malloc(n * sizeof(*m->fns));
	if (!m->fns) {
		err = -ENOMEM;
		goto cleanup;
	}
	/* one entry per address, the best-ranked name; keep the largest size
	 * so an unsized alias does not shorten the function */
	for (size_t i = 0; i < n; i++) {
		if (k && m->fns[k - 1].addr == tmp[i].fn.addr) {
			if (tmp[i].fn.size > m->fns[k - 1].size)
				m->fns[k - 1].size = tmp[i].fn.size;
			continue;
		}
		m->fns[k++] = tmp[i].fn;
	}
	m->nfns = k;
cleanup:
	free(tmp);
	return err;
}

/* The function containing addr: the last one starting at or below it, or,
 * when addr is past its size, one of a few before it that encloses it
 * (nested symbols). Unsized symbols extend to the next one. */
static const struct mt_sym_fn *mt_sym_fn_find(const struct mt_sym_mod *m, uint64_t addr)
{
	size_t lo = 0, hi = m->nfns;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->fns[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo, tries = 0; i-- > 0 && tries < 8; tries++) {
		const struct mt_sym_fn *fn = &m->fns[i];

		if (fn->size == 0 ? i + 1 == lo : addr - fn->addr < fn->size)
			return fn;
	}
	return NULL;
}

static int mt_sym_lookup(struct mt_sym *s, uint64_t addr, bool is_return,
			 struct mt_frame *f)
{
	uint64_t look = is_return && addr ? addr - 1 : addr;
	const struct mt_sym_region *r;
	const struct mt_sym_fn *fn;
	struct mt_sym_mod *m;
	Dwfl_Line *dl;
	int err;

	memset(f, 0, sizeof(*f));
	f->addr = addr;
	r = mt_sym_region_find(s, look);
	if (!r)
		return -ENOENT;
	m = r->mod;
	f->module = m->path;
	f->module_off = addr - r->start + r->off;
	if (!m->dwmod)
		return -ENOENT;
	if (!m->fns_built) {
		err = mt_sym_fns_build(m);
		if (err)
			return err;
	}
	dl = dwfl_module_getsrc(m->dwmod, look);
	if (dl) {
		int line = 0;
		const char *file = dwfl_lineinfo(dl, NULL, &line, NULL, NULL, NULL);

		if (file && line > 0) {
			f->file = file;
			f->line = line;
		}
	}
	fn = mt_sym_fn_find(m, look);
	if (!fn)
		return -ENOENT;
	f->func = fn->name;
	f->func_off = addr - fn->addr;
	return 0;
}

static size_t mt_sym_cache_slot(const struct mt_sym *s, uint64_t addr, bool is_return)
{
	/* Fibonacci hashing: return addresses share low-bit patterns */
	uint64_t h = (addr ^ (uint64_t)is_return) * 0x9e3779b97f4a7c15ull;

	return (size_t)(h >> 32) & (s->cache_cap - 1);
}

static struct mt_sym_cache_ent *mt_sym_cache_find(struct mt_sym *s, uint64_t addr,
						  bool is_return)
{
	size_t i = mt_sym_cache_slot(s, addr, is_return);

	for (;; i = (i + 1) & (s->cache_cap - 1)) {
		struct mt_sym_cache_ent *e = &s->cache[i];

		if (!e->used || (e->f.addr == addr && e->is_return == is_return))
			return e;
	}
}

/* Keeps the load at or below 1/2 so probes stay short. */
static int mt_sym_cache_grow(struct mt_sym *s)
{
	struct mt_sym_cache_ent *old = s->cache;
	size_t old_cap = s->cache_cap;
	int err;

	err = mt_sym_cache_init(s, old_cap * 2);
	if (err) {
		s->cache = old;
		s->cache_cap = old_cap;
		return err;
	}
	for (size_t i = 0; i < old_cap; i++) {
		if (!old[i].used)
			continue;
		*mt_sym_cache_find(s, old[i].f.addr, old[i].is_return) = old[i];
		s->cache_used++;
	}
	free(old);
	return 0;
}

int mt_sym_resolve(struct mt_sym *s, uint64_t addr, bool is_return, struct mt_frame *out)
{
	struct mt_sym_cache_ent *e;
	int err;

	if (!s || !out)
		return -EINVAL;
	e = mt_sym_cache_find(s, addr, is_return);
	if (e->used) {
		*out = e->f;
		return e->err;
	}
	err = mt_sym_lookup(s, addr, is_return, out);
	if (err && err != -ENOENT)
		return err;  /* out of memory: not cached, may succeed later */
	if ((s->cache_used + 1) * 2 > s->cache_cap) {
		if (mt_sym_cache_grow(s))
			return err;  /* still a valid answer, just not cached */
		e = mt_sym_cache_find(s, addr, is_return);
	}
	e->used = true;
	e->is_return = is_return;
	e->err = err;
	e->f = *out;
	s->cache_used++;
	return err;
}
