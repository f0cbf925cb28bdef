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
 *   cache    open addressing on (addr, is_return) -> the real frame and
 *            the frames inlined at the address.
 *   strs     strings we made (demangled names), freed with the mt_sym.
 *
 * All files are opened while the target lives and libdwfl keeps them (and
 * the separate debuginfo we found for it: mt_sym_find_debuginfo) open until
 * mt_sym_free, so resolving after the target exited needs nothing from
 * /proc. A module whose debug file arrives later from debuginfod is
 * reported again in a Dwfl of its own; the first one stays, so strings
 * handed out before remain valid.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <elfutils/libdwfl.h>
#include <elfutils/libdwelf.h>
#include <dwarf.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "util/mt_log.h"
#include "sym/mt_demangle.h"
#include "sym/mt_debuginfod.h"
#include "sym/mt_inline.h"
#include "sym/mt_sym.h"

#define MT_SYM_DELETED " (deleted)"
#define MT_SYM_CACHE_MIN 1024 /* entries; a power of two */

struct mt_sym_fn {
	uint64_t addr;   /* absolute, in the target's address space */
	uint64_t size;   /* 0: extends to the next function */
	const char *name; /* in the module's string table, owned by libdwfl */
};

struct mt_sym_mod {
	struct mt_sym *s;
	char *path;         /* as the target's maps show it, without " (deleted)" */
	char *file_name;    /* what libdwfl was given: /proc/PID/root + path */
	dev_t dev;          /* from maps, compared only with maps values */
	uint64_t ino;
	uint64_t bias;
	uint64_t low, high; /* address range libdwfl placed the module at */
	Dwfl_Module *dwmod; /* NULL: no symbols for this file */
	struct mt_sym_fn *fns;
	const char **dem;   /* demangled name per fns[] entry, built lazily */
	struct mt_inline_idx *inl;  /* inline chains, built per CU on use */
	size_t nfns;
	bool fns_built;
	/* naming */
	char build_id[2 * 64 + 1];
	bool has_symtab, has_debugdata;  /* sections of the file itself */
	dev_t file_dev;     /* stat of the opened file: never its own debug file */
	ino_t file_ino;
	enum mt_sym_src src, debug_src;
	bool lines;
	char *debuglink;    /* the file's .gnu_debuglink name */
	char *debug_path;   /* separate debug file in use */
	/* debuginfod */
	int keep_fd;        /* the file again, to report it once more; -1 */
	int dinfod_fd;      /* the downloaded file, for the callback; -1 */
	char *dinfod_path;
	const char *dinfod_state;
	char dinfod_err[64];
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
	unsigned ninl;
	struct mt_frame *inl;  /* ninl inlined frames, innermost first */
	struct mt_frame f;     /* the real frame */
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
	char root[32];      /* /proc/PID/root */
	bool host_too;      /* the target has a root of its own: search both */
	struct mt_debuginfod *dinfod;
	Dwfl **xdwfl;       /* one per module re-reported with debuginfod's file */
	size_t nxdwfl;
	char **strs;
	size_t nstrs, cap_strs;
	struct mt_sym_cache_ent spare;  /* an answer the cache could not hold */
};

static int mt_sym_find_elf(Dwfl_Module *mod, void **userdata, const char *modname,
			   Dwarf_Addr base, char **file_name, Elf **elfp)
{
	return -1;  /* every module is reported with its fd */
}

static int mt_sym_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
				 Dwarf_Addr base, const char *file_name,
				 const char *debuglink_file, GElf_Word debuglink_crc,
				 char **debuginfo_file_name);

/* Our own find_debuginfo, not dwfl_standard_find_debuginfo: it searches
 * the target's root as well, says which way it found the file, and never
 * calls debuginfod (libdwfl's would, synchronously, from inside a lookup). */
static const Dwfl_Callbacks mt_sym_callbacks = {
	.find_elf = mt_sym_find_elf,
	.find_debuginfo = mt_sym_find_debuginfo,
	.section_address = dwfl_offline_section_address,
};

static void mt_sym_mod_free(struct mt_sym_mod *m)
{
	if (!m)
		return;
	if (m->keep_fd >= 0)
		close(m->keep_fd);
	if (m->dinfod_fd >= 0)
		close(m->dinfod_fd);
	free(m->dinfod_path);
	free(m->debug_path);
	free(m->debuglink);
	free(m->dem);
	mt_inline_free(m->inl);
	free(m->fns);
	free(m->file_name);
	free(m->path);
	free(m);
}

/* Keep str (malloc'd) until mt_sym_free; NULL stays NULL. */
static const char *mt_sym_keep(struct mt_sym *s, char *str)
{
	if (!str)
		return NULL;
	if (s->nstrs == s->cap_strs) {
		size_t cap = s->cap_strs ? s->cap_strs * 2 : 256;
		char **p = realloc(s->strs, cap * sizeof(*p));

		if (!p) {
			free(str);
			return NULL;
		}
		s->strs = p;
		s->cap_strs = cap;
	}
	s->strs[s->nstrs++] = str;
	return str;
}

/* The readable form of sym: demangled and kept, or sym itself. */
static const char *mt_sym_readable(struct mt_sym *s, const char *sym)
{
	const char *d = mt_sym_keep(s, mt_demangle(sym));

	return d ? d : sym;
}

static void mt_sym_cache_clear(struct mt_sym *s)
{
	for (size_t i = 0; i < s->cache_cap; i++)
		free(s->cache[i].inl);
	memset(s->cache, 0, s->cache_cap * sizeof(*s->cache));
	s->cache_used = 0;
}

void mt_sym_free(struct mt_sym *s)
{
	if (!s)
		return;
	/* first: the worker may still be downloading */
	mt_debuginfod_free(s->dinfod);
	if (s->cache)
		mt_sym_cache_clear(s);
	free(s->spare.inl);
	for (size_t i = 0; i < s->nmods; i++)
		mt_sym_mod_free(s->mods[i]);
	free(s->mods);
	free(s->regions);
	free(s->cache);
	for (size_t i = 0; i < s->nxdwfl; i++)
		dwfl_end(s->xdwfl[i]);
	free(s->xdwfl);
	for (size_t i = 0; i < s->nstrs; i++)
		free(s->strs[i]);
	free(s->strs);
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

/* The target sees another root than ours (a container): debug files are
 * searched in both. */
static bool mt_sym_own_root(const char *root)
{
	struct stat a, b;

	return stat(root, &a) == 0 && stat("/", &b) == 0 &&
	       (a.st_dev != b.st_dev || a.st_ino != b.st_ino);
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
	snprintf(s->root, sizeof(s->root), "/proc/%d/root", (int)pid);
	s->host_too = mt_sym_own_root(s->root);
	/* NULL without $DEBUGINFOD_URLS; a failure to start it costs names only */
	s->dinfod = mt_debuginfod_new();
	if (!s->dinfod && errno)
		mt_info("debuginfod lookups disabled: %s", strerror(errno));
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
static int mt_sym_elf_bias(int fd, const struct mt_sym_region *r, uint64_t *bias,
			   struct mt_sym_mod *m)
{
	uint64_t pagesz = (uint64_t)sysconf(_SC_PAGESIZE);
	Elf_Scn *scn = NULL;
	GElf_Word crc;
	GElf_Ehdr eh;
	size_t phnum, shstrndx;
	const char *link;
	Elf *elf;
	int err = -ENOEXEC;

	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh) ||
	    (eh.e_type != ET_DYN && eh.e_type != ET_EXEC) ||
	    elf_getphdrnum(elf, &phnum) != 0)
		goto cleanup;
	/* what the file itself holds, to tell later where names came from */
	while (elf_getshdrstrndx(elf, &shstrndx) == 0 && (scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh))
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (sh.sh_type == SHT_SYMTAB)
			m->has_symtab = true;
		else if (name && !strcmp(name, ".gnu_debugdata"))
			m->has_debugdata = true;
	}
	link = dwelf_elf_gnu_debuglink(elf, &crc);
	if (link && !(m->debuglink = strdup(link))) {
		err = -ENOMEM;
		goto cleanup;
	}
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
	if (s->nmods == s->cap_mods) {
		size_t cap = s->cap_mods ? s->cap_mods * 2 : 64;
		struct mt_sym_mod **p = realloc(s->mods, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		s->mods = p;
		s->cap_mods = cap;
	}
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

/* Report m's file (fd, owned by libdwfl on success) into dwfl, with m as
 * the module's userdata for mt_sym_find_debuginfo. */
static Dwfl_Module *mt_sym_report(Dwfl *dwfl, struct mt_sym_mod *m, int fd)
{
	Dwfl_Module *mod;
	void **ud;

	/* add_p_vaddr: base is the bias, libdwfl adds the first PT_LOAD's
	 * p_vaddr itself */
	mod = dwfl_report_elf(dwfl, m->path, m->file_name, fd, m->bias, true);
	if (mod && dwfl_module_info(mod, &ud, NULL, NULL, NULL, NULL, NULL, NULL))
		*ud = m;
	return mod;
}

/* Load symbols and DWARF now, while the paths searched still exist (both
 * are cached in the module), and say where the names came from. */
static void mt_sym_mod_load(struct mt_sym_mod *m)
{
	const unsigned char *id;
	GElf_Addr idaddr;
	Dwarf_Addr dwbias;
	int nsym, idlen;

	idlen = dwfl_module_build_id(m->dwmod, &id, &idaddr);
	if (idlen > 0 && idlen <= 64)
		mt_debuginfo_hex(id, (size_t)idlen, m->build_id);
	nsym = dwfl_module_getsymtab(m->dwmod);
	m->lines = dwfl_module_getdwarf(m->dwmod, &dwbias) != NULL;
	if (m->debug_src)
		m->src = m->debug_src;
	else if (nsym > 1 && !m->has_symtab && m->has_debugdata)
		m->src = MT_SYM_SRC_MINIDEBUGINFO;  /* libdwfl merged it in */
	else if (nsym > 1)
		m->src = MT_SYM_SRC_SYMTAB;
	else
		m->src = MT_SYM_SRC_NONE;
}

/* No DWARF on disk: ask debuginfod, if enabled, in the background. */
static void mt_sym_mod_ask(struct mt_sym *s, struct mt_sym_mod *m)
{
	const unsigned char *id;
	GElf_Addr idaddr;
	int len;

	if (!s->dinfod || !m->dwmod || m->lines || m->keep_fd < 0)
		return;
	len = dwfl_module_build_id(m->dwmod, &id, &idaddr);
	if (len <= 0 || mt_debuginfod_ask(s->dinfod, id, (size_t)len, m))
		return;
	m->dinfod_state = "pending";
}

static int mt_sym_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
				 Dwarf_Addr base, const char *file_name,
				 const char *debuglink_file, GElf_Word debuglink_crc,
				 char **debuginfo_file_name)
{
	struct mt_sym_mod *m = userdata ? *userdata : NULL;
	struct mt_debuginfo_req q = { 0 };
	const unsigned char *id = NULL;
	enum mt_sym_src src = MT_SYM_SRC_NONE;
	GElf_Addr idaddr;
	char *path = NULL;
	int fd, len;

	if (!m)
		goto none;
	if (m->debug_path) {
		/* asked again once the debug file is open: for its dwz
		 * supplement (.gnu_debugaltlink) */
		if (!debuglink_file || (m->debuglink && !strcmp(debuglink_file, m->debuglink)))
			goto none;
		fd = mt_debuginfo_find_alt(m->s->root, m->s->host_too, m->debug_path,
					   debuglink_file, &path);
		if (fd < 0)
			goto none;
		*debuginfo_file_name = path;
		return fd;
	}
	if (m->dinfod_fd >= 0) {
		fd = m->dinfod_fd;
		m->dinfod_fd = -1;
		path = strdup(m->dinfod_path);
		src = MT_SYM_SRC_DEBUGINFOD;
	} else {
		len = dwfl_module_build_id(mod, &id, &idaddr);
		q.root = m->s->root;
		q.host_too = m->s->host_too;
		q.path = m->path;
		q.build_id = id;
		q.build_id_len = len > 0 ? (size_t)len : 0;
		q.debuglink = debuglink_file;
		q.crc = debuglink_crc;
		q.dev = m->file_dev;
		q.ino = m->file_ino;
		fd = mt_debuginfo_find(&q, &path, &src);
	}
	if (fd < 0)
		goto none;
	m->debug_path = path ? strdup(path) : NULL;
	if (!path || !m->debug_path) {
		close(fd);
		free(path);
		goto none;
	}
	m->debug_src = src;
	*debuginfo_file_name = path;
	return fd;
none:
	errno = ENOENT;
	return -1;
}

/* Create the module for region r of path. Files that can't be opened or
 * aren't ELF still get a module, so frames in them name the file. */
static int mt_sym_mod_create(struct mt_sym *s, const char *path, bool deleted,
			     dev_t dev, const struct mt_sym_region *r,
			     struct mt_sym_mod **out)
{
	struct mt_sym_mod *m;
	uint64_t bias = 0;
	char *file_name = NULL;
	struct stat st;
	int fd, err;

	m = calloc(1, sizeof(*m));
	if (!m || !(m->path = strdup(path))) {
		free(m);
		m = NULL;
		err = -ENOMEM;
		goto cleanup;
	}
	m->s = s;
	m->keep_fd = m->dinfod_fd = -1;
	m->dev = dev;
	m->ino = r->ino;
	fd = mt_sym_file_open(s, path, deleted, r);
	if (fd >= 0 && fstat(fd, &st) == 0) {
		m->file_dev = st.st_dev;
		m->file_ino = st.st_ino;
	}
	if (fd >= 0 && mt_sym_elf_bias(fd, r, &bias, m) == 0 &&
	    asprintf(&file_name, "%s%s", s->root, path) < 0)
		file_name = NULL;  /* asprintf leaves it undefined */
	m->file_name = file_name;
	m->bias = bias;
	/* kept to report the file again when debuginfod's answer comes */
	if (file_name && s->dinfod)
		m->keep_fd = dup(fd);
	if (file_name) {
		m->dwmod = mt_sym_report(s->dwfl, m, fd);
		if (m->dwmod) {
			fd = -1;
			dwfl_module_info(m->dwmod, NULL, &m->low, &m->high,
					 NULL, NULL, NULL, NULL);
			mt_sym_mod_load(m);
		}
	}
	if (fd >= 0)
		close(fd);
	mt_sym_mod_ask(s, m);
	if (!m->dinfod_state && m->keep_fd >= 0) {  /* not asked: not needed */
		close(m->keep_fd);
		m->keep_fd = -1;
	}
	err = mt_sym_mods_add(s, m);
cleanup:
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
	if (j == i && s->nregions == s->cap_regions) {
		size_t cap = s->cap_regions ? s->cap_regions * 2 : 128;
		struct mt_sym_region *p = realloc(s->regions, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		s->regions = p;
		s->cap_regions = cap;
	}
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
static int mt_sym_maps_line(struct mt_sym *s, char *line, bool *added)
{
	struct mt_sym_region r = { 0 };
	const struct mt_sym_region *old;
	struct mt_sym_mod *m;
	unsigned int maj, min;
	char perms[5], *path;
	size_t len;
	bool deleted = false;
	dev_t dev;
	int n = 0, err;

	if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %4s %" SCNx64 " %x:%x %" SCNu64 " %n",
		   &r.start, &r.end, perms, &r.off, &maj, &min, &r.ino, &n) < 7 || !n)
		return 0;
	path = line + n;
	len = strcspn(path, "\n");
	path[len] = '\0';
	if (strlen(perms) < 3 || perms[2] != 'x' || path[0] != '/' || r.start >= r.end)
		return 0;
	if (len > strlen(MT_SYM_DELETED) &&
	    !strcmp(path + len - strlen(MT_SYM_DELETED), MT_SYM_DELETED)) {
		path[len - strlen(MT_SYM_DELETED)] = '\0';
		deleted = true;
	}
	old = mt_sym_region_find(s, r.start);
	if (old && old->start == r.start && old->end == r.end &&
	    old->off == r.off && old->ino == r.ino && !strcmp(old->mod->path, path))
		return 0;  /* known; refresh is this check for most lines */

	dev = makedev(maj, min);
	m = mt_sym_mod_find(s, dev, &r, path);
	if (!m) {
		err = mt_sym_mod_create(s, path, deleted, dev, &r, &m);
		if (err)
			return err;
	}
	r.mod = m;
	err = mt_sym_region_insert(s, &r);
	if (!err)
		*added = true;
	return err;
}

int mt_sym_refresh(struct mt_sym *s)
{
	FILE *f = NULL;
	char *line = NULL;
	size_t cap = 0;
	bool added = false, any = false, reporting = false;
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
	errno = 0;
	while (getline(&line, &cap, f) > 0) {
		any = true;
		err = mt_sym_maps_line(s, line, &added);
		if (err)
			goto cleanup;
	}
	if (ferror(f)) {
		err = errno == ENOENT || !errno ? -ESRCH : -errno;
		goto cleanup;
	}
	/* Every live process has mappings; a zombie's maps read empty. */
	if (!any)
		err = -ESRCH;
cleanup:
	if (reporting)
		dwfl_report_end(s->dwfl, NULL, NULL);
	/* A new mapping can give a name to an address cached as unknown, or
	 * replace one that was unmapped: start over. */
	if (added)
		mt_sym_cache_clear(s);
	free(line);
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
	m->dem = calloc(n, sizeof(*m->dem));
	if (!m->fns || !m->dem) {
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

/* The name of a DWARF function DIE (a concrete inlined instance points to
 * its abstract origin): the linkage name when there is one, so C++ names
 * come out qualified once demangled. */
static const char *mt_sym_die_name(Dwarf_Die *die)
{
	Dwarf_Attribute a;
	const char *n;

	n = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &a));
	if (!n)
		n = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &a));
	if (!n)
		n = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &a));
	return n;
}

/* Where inlined instance die was called from. */
static void mt_sym_call_site(Dwarf_Die *die, Dwarf_Files *files, size_t nfiles,
			     const char **file, int *line)
{
	Dwarf_Attribute a;
	Dwarf_Word v;

	*file = NULL;
	*line = 0;
	if (files && dwarf_formudata(dwarf_attr(die, DW_AT_call_file, &a), &v) == 0 && v < nfiles)
		*file = dwarf_filesrc(files, v, NULL, NULL);
	if (dwarf_formudata(dwarf_attr(die, DW_AT_call_line, &a), &v) == 0)
		*line = (int)v;
	if (!*file || *line <= 0) {
		*file = NULL;
		*line = 0;
	}
}

/* The functions inlined at look (innermost first) into e->inl; the real
 * frame's file:line becomes the call site of the outermost one. */
static int mt_sym_inline(struct mt_sym *s, struct mt_sym_mod *m, uint64_t look,
			 struct mt_sym_cache_ent *e)
{
	Dwarf_Die *cu, chain[MT_SYM_MAX_INLINE];
	Dwarf_Files *files = NULL;
	Dwarf_Addr bias;
	size_t nfiles = 0;
	unsigned k;
	int n, err = 0;

	cu = dwfl_module_addrdie(m->dwmod, look, &bias);
	if (!cu)
		return 0;
	if (!m->inl && !(m->inl = mt_inline_new()))
		return -ENOMEM;
	/* deeper than MT_SYM_MAX_INLINE is rare: the outer ones go */
	n = mt_inline_chain(m->inl, cu, look - bias, chain, MT_SYM_MAX_INLINE);
	if (n <= 0)
		return n;
	k = (unsigned)n;
	if (dwarf_getsrcfiles(cu, &files, &nfiles) != 0)
		files = NULL;
	e->inl = calloc(k, sizeof(*e->inl));
	if (!e->inl) {
		err = -ENOMEM;
		goto out;
	}
	e->ninl = k;
	for (unsigned j = 0; j < k; j++) {
		struct mt_frame *fr = &e->inl[j];
		Dwarf_Die origin, *d = &chain[j];
		Dwarf_Attribute a;

		if (dwarf_formref_die(dwarf_attr(d, DW_AT_abstract_origin, &a), &origin))
			d = &origin;
		fr->addr = e->f.addr;
		fr->module = e->f.module;
		fr->module_off = e->f.module_off;
		fr->inlined = true;
		fr->symbol = mt_sym_die_name(d);
		fr->func = fr->symbol ? mt_sym_readable(s, fr->symbol) : NULL;
		if (j == 0) {
			fr->file = e->f.file;   /* the address's own line */
			fr->line = e->f.line;
		} else {
			mt_sym_call_site(&chain[j - 1], files, nfiles, &fr->file, &fr->line);
		}
	}
	mt_sym_call_site(&chain[k - 1], files, nfiles, &e->f.file, &e->f.line);
out:
	return err;
}

static int mt_sym_lookup(struct mt_sym *s, uint64_t addr, bool is_return,
			 struct mt_sym_cache_ent *e)
{
	uint64_t look = is_return && addr ? addr - 1 : addr;
	struct mt_frame *f = &e->f;
	const struct mt_sym_region *r;
	const struct mt_sym_fn *fn;
	struct mt_sym_mod *m;
	Dwfl_Line *dl;
	size_t idx;
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
	if (fn) {
		idx = (size_t)(fn - m->fns);
		if (!m->dem[idx])
			m->dem[idx] = mt_sym_readable(s, fn->name);
		f->symbol = fn->name;
		f->func = m->dem[idx];
		f->func_off = addr - fn->addr;
	}
	if (m->lines) {
		err = mt_sym_inline(s, m, look, e);
		if (err)
			return err;
	}
	return fn ? 0 : -ENOENT;
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

/* Take in finished debuginfod lookups: a module whose debug file arrived
 * is reported again, in a Dwfl of its own, and named from that file. */
static void mt_sym_dinfod_result(void *arg, void *tag, int fd, const char *path, int err)
{
	struct mt_sym *s = arg;
	struct mt_sym_mod *m = tag;
	Dwfl_Module *mod = NULL;
	Dwarf_Addr dwbias;
	Dwfl *d = NULL, **p;
	int mfd = -1;

	if (fd < 0) {
		if (err == -ENOENT)
			m->dinfod_state = "not found";
		else {
			snprintf(m->dinfod_err, sizeof(m->dinfod_err), "error: %s", strerror(-err));
			m->dinfod_state = m->dinfod_err;
		}
		return;
	}
	m->dinfod_fd = fd;
	m->dinfod_state = "error: unusable file";
	if (!(m->dinfod_path = strdup(path)))
		goto out;
	p = realloc(s->xdwfl, (s->nxdwfl + 1) * sizeof(*p));
	if (!p || !(d = dwfl_begin(&mt_sym_callbacks)))
		goto out;
	s->xdwfl = p;
	s->xdwfl[s->nxdwfl++] = d;
	mfd = dup(m->keep_fd);
	if (mfd < 0)
		goto out;
	dwfl_report_begin(d);
	free(m->debug_path);   /* the callback now hands over dinfod_fd */
	m->debug_path = NULL;
	mod = mt_sym_report(d, m, mfd);
	dwfl_report_end(d, NULL, NULL);
	if (!mod) {
		close(mfd);
		goto out;
	}
	dwfl_module_getsymtab(mod);
	if (!dwfl_module_getdwarf(mod, &dwbias))
		goto out;
	m->dwmod = mod;
	m->lines = true;
	m->src = MT_SYM_SRC_DEBUGINFOD;
	m->dinfod_state = "found";
	free(m->fns);
	free(m->dem);
	mt_inline_free(m->inl);
	m->inl = NULL;
	m->fns = NULL;
	m->dem = NULL;
	m->nfns = 0;
	m->fns_built = false;
	mt_sym_cache_clear(s);
out:
	if (m->dinfod_fd >= 0) {   /* not taken by the callback */
		close(m->dinfod_fd);
		m->dinfod_fd = -1;
	}
	if (m->keep_fd >= 0) {
		close(m->keep_fd);
		m->keep_fd = -1;
	}
}

static void mt_sym_dinfod_take(struct mt_sym *s)
{
	if (mt_debuginfod_ready(s->dinfod))
		mt_debuginfod_take(s->dinfod, mt_sym_dinfod_result, s);
}

size_t mt_sym_debuginfod_wait(struct mt_sym *s, unsigned timeout_ms)
{
	size_t left;

	if (!s || !s->dinfod)
		return 0;
	left = mt_debuginfod_wait(s->dinfod, timeout_ms);
	mt_sym_dinfod_take(s);
	return left;
}

static struct mt_sym_cache_ent *mt_sym_get(struct mt_sym *s, uint64_t addr, bool is_return,
					   int *errp)
{
	struct mt_sym_cache_ent *e, tmp = { 0 };
	int err;

	mt_sym_dinfod_take(s);
	e = mt_sym_cache_find(s, addr, is_return);
	if (e->used) {
		*errp = e->err;
		return e;
	}
	err = mt_sym_lookup(s, addr, is_return, &tmp);
	if (err && err != -ENOENT) {
		free(tmp.inl);
		*errp = err;  /* out of memory: not cached, may succeed later */
		return NULL;
	}
	if ((s->cache_used + 1) * 2 > s->cache_cap) {
		if (mt_sym_cache_grow(s)) {
			/* still a valid answer, just not cached: park it in
			 * s->spare, freed at the next miss of this kind */
			free(s->spare.inl);
			s->spare = tmp;
			*errp = err;
			return &s->spare;
		}
		e = mt_sym_cache_find(s, addr, is_return);
	}
	tmp.used = true;
	tmp.is_return = is_return;
	tmp.err = err;
	*e = tmp;
	s->cache_used++;
	*errp = err;
	return e;
}

int mt_sym_resolve(struct mt_sym *s, uint64_t addr, bool is_return, struct mt_frame *out)
{
	struct mt_sym_cache_ent *e;
	int err;

	if (!s || !out)
		return -EINVAL;
	e = mt_sym_get(s, addr, is_return, &err);
	if (!e) {
		memset(out, 0, sizeof(*out));
		out->addr = addr;
		return err;
	}
	*out = e->f;
	return err;
}

int mt_sym_resolve_chain(struct mt_sym *s, uint64_t addr, bool is_return,
			 struct mt_frame *out, unsigned max)
{
	struct mt_sym_cache_ent *e;
	unsigned n, skip;
	int err;

	if (!s || !out || !max)
		return -EINVAL;
	e = mt_sym_get(s, addr, is_return, &err);
	if (!e) {
		memset(out, 0, sizeof(*out));
		out->addr = addr;
		return err == -ENOMEM ? err : 1;
	}
	n = e->ninl + 1 <= max ? e->ninl + 1 : max;
	skip = e->ninl + 1 - n;   /* innermost inlined frames dropped */
	for (unsigned i = 0; i + 1 < n; i++)
		out[i] = e->inl[skip + i];
	out[n - 1] = e->f;
	return (int)n;
}

size_t mt_sym_nmodules(const struct mt_sym *s)
{
	return s ? s->nmods : 0;
}

void mt_sym_module_get(const struct mt_sym *s, size_t i, struct mt_sym_module *out)
{
	const struct mt_sym_mod *m = s->mods[i];

	memset(out, 0, sizeof(*out));
	out->path = m->path;
	out->build_id = m->build_id[0] ? m->build_id : NULL;
	out->symbols = m->src;
	out->lines = m->lines;
	out->debug_file = m->src == MT_SYM_SRC_DEBUGINFOD ? m->dinfod_path : m->debug_path;
	out->debuginfod = m->dinfod_state;
}
