// SPDX-License-Identifier: BSD-2-Clause
/*
 * The symbolizer's modules (see mt_sym_int.h): a file mapped executable,
 * opened as the target sees it, reported to libdwfl with its load bias,
 * and named from the best source found: separate debug info on disk
 * (mt_debuginfo: build-id, .gnu_debuglink), from debuginfod later
 * (mt_debuginfod: the module is then reported again in a Dwfl of its own),
 * MiniDebugInfo, or its own symbol table.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <elfutils/libdwelf.h>

#include "sym/mt_debuginfo.h"
#include "sym/mt_debuginfod.h"
#include "sym/mt_inline.h"
#include "sym/mt_sym_int.h"
#include "util/mt_grow.h"

static int mt_sym_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
				 Dwarf_Addr base, const char *file_name,
				 const char *debuglink_file, GElf_Word debuglink_crc,
				 char **debuginfo_file_name);

static int mt_sym_find_elf(Dwfl_Module *mod, void **userdata, const char *modname,
			   Dwarf_Addr base, char **file_name, Elf **elfp)
{
	return -1;  /* every module is reported with its fd */
}

/* Our own find_debuginfo, not dwfl_standard_find_debuginfo: it searches
 * the target's root as well, says which way it found the file, and never
 * calls debuginfod (libdwfl's would, synchronously, from inside a lookup). */
const Dwfl_Callbacks mt_sym_callbacks = {
	.find_elf = mt_sym_find_elf,
	.find_debuginfo = mt_sym_find_debuginfo,
	.section_address = dwfl_offline_section_address,
};

void mt_sym_mod_free(struct mt_sym_mod *m)
{
	if (!m)
		return;
	if (m->keep_fd >= 0)
		close(m->keep_fd);
	if (m->dinfod_fd >= 0)
		close(m->dinfod_fd);
	if (m->debug_fd >= 0)
		close(m->debug_fd);
	if (m->alt_fd >= 0)
		close(m->alt_fd);
	free(m->alt_name);
	free(m->alt_path);
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
		else if (name && sh.sh_type != SHT_NOBITS &&
			 (!strcmp(name, ".debug_info") || !strcmp(name, ".zdebug_info")))
			m->has_dwarf = true;
		else if (name && !strcmp(name, ".gnu_debugdata"))
			m->has_debugdata = true;
	}
	link = dwelf_elf_gnu_debuglink(elf, &crc);
	m->debuglink_crc = crc;
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
	if (MT_GROW(s->mods, s->nmods + 1, s->cap_mods))
		return -ENOMEM;
	s->mods[s->nmods++] = m;
	return 0;
}

/* A file mapped in several segments is one module: later segments find the
 * module whose range holds them. */
struct mt_sym_mod *mt_sym_mod_find(struct mt_sym *s, dev_t dev,
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

/* The search mt_sym_find_debuginfo runs for m (libdwfl's module mod). */
static int mt_sym_debug_search(struct mt_sym_mod *m, Dwfl_Module *mod, const char *debuglink,
			       GElf_Word crc, char **path, enum mt_sym_src *src)
{
	struct mt_debuginfo_req q = { 0 };
	const unsigned char *id = NULL;
	GElf_Addr idaddr;
	int len = dwfl_module_build_id(mod, &id, &idaddr);

	q.root = m->s->root;
	q.host_too = m->s->host_too;
	q.path = m->path;
	q.build_id = id;
	q.build_id_len = len > 0 ? (size_t)len : 0;
	q.debuglink = debuglink;
	q.crc = crc;
	q.dev = m->file_dev;
	q.ino = m->file_ino;
	return mt_debuginfo_find(&q, path, src);
}

/* Whether the debug file holds DWARF (its section headers only), and its
 * dwz supplement, opened now for the same reason as the debug file
 * (mt_sym_mod_load); none is fine. */
static bool mt_sym_debug_peek(struct mt_sym_mod *m)
{
	bool dwarf = false;
	Elf_Scn *scn = NULL;
	Elf_Data *d;
	size_t shstrndx;
	Elf *elf = NULL;
	int fd;

	fd = open(m->debug_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	/* .gnu_debugaltlink: the file name, NUL, the supplement's build-id */
	while (elf && elf_getshdrstrndx(elf, &shstrndx) == 0 && (scn = elf_nextscn(elf, scn))) {
		const char *name;
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh) || !(name = elf_strptr(elf, shstrndx, sh.sh_name)))
			continue;
		if (sh.sh_type != SHT_NOBITS &&
		    (!strcmp(name, ".debug_info") || !strcmp(name, ".zdebug_info")))
			dwarf = true;
		if (strcmp(name, ".gnu_debugaltlink") || m->alt_name)
			continue;
		d = elf_getdata(scn, NULL);
		if (d && d->d_buf && memchr(d->d_buf, '\0', d->d_size) &&
		    (m->alt_name = strdup(d->d_buf)))
			m->alt_fd = mt_debuginfo_find_alt(m->s->root, m->s->host_too, m->debug_path,
							  m->alt_name, &m->alt_path);
	}
	if (elf)
		elf_end(elf);
	close(fd);
	return dwarf;
}

/* Load symbols now, and find DWARF without loading it: the separate debug
 * file (and its dwz supplement) is opened now, while the paths searched
 * still exist, and kept; its sections are read and decompressed only when
 * a frame asks for a line or an inlined function (mt_sym_dwarf, at report
 * time). A libc's DWARF costs ~12 MiB of memtrace's RSS once loaded, which
 * an idle target never needs. Says where the names came from. */
static void mt_sym_mod_load(struct mt_sym_mod *m)
{
	const unsigned char *id;
	enum mt_sym_src src;
	GElf_Addr idaddr;
	int nsym, idlen;
	char *path = NULL;

	idlen = dwfl_module_build_id(m->dwmod, &id, &idaddr);
	if (idlen > 0 && idlen <= 64)
		mt_debuginfo_hex(id, (size_t)idlen, m->build_id);
	/* a file without .symtab has libdwfl find its debug file here */
	nsym = dwfl_module_getsymtab(m->dwmod);
	if (!m->has_dwarf && !m->debug_path) {
		m->debug_fd = mt_sym_debug_search(m, m->dwmod, m->debuglink, m->debuglink_crc,
						  &path, &src);
		if (m->debug_fd >= 0 && !(m->debug_path = path)) {
			close(m->debug_fd);
			m->debug_fd = -1;
		}
		if (m->debug_fd >= 0)
			m->debug_src = src;
	}
	m->lines = m->has_dwarf;
	if (m->debug_path && mt_sym_debug_peek(m))
		m->lines = true;
	if (m->debug_src)
		m->src = m->debug_src;
	else if (nsym > 1 && !m->has_symtab && m->has_debugdata)
		m->src = MT_SYM_SRC_MINIDEBUGINFO;  /* libdwfl merged it in */
	else if (nsym > 1)
		m->src = MT_SYM_SRC_SYMTAB;
	else
		m->src = MT_SYM_SRC_NONE;
}

bool mt_sym_dwarf(struct mt_sym_mod *m)
{
	Dwarf_Addr bias;

	if (m->dw_loaded || !m->lines || !m->dwmod)
		return m->dw_loaded;
	if (!dwfl_module_getdwarf(m->dwmod, &bias)) {
		m->lines = false;
		return false;
	}
	m->dw_loaded = true;
	m->s->ndwarf++;
	return true;
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
	enum mt_sym_src src = MT_SYM_SRC_NONE;
	char *path = NULL;
	int fd;

	if (!m)
		goto none;
	if (m->debug_fd >= 0) {   /* found at attach (mt_sym_mod_load) */
		if (!(path = strdup(m->debug_path)))
			goto none;
		fd = m->debug_fd;
		m->debug_fd = -1;
		*debuginfo_file_name = path;
		return fd;
	}
	if (m->debug_path) {
		/* asked again once the debug file is open: for its dwz
		 * supplement (.gnu_debugaltlink), found at attach if any */
		if (!debuglink_file || (m->debuglink && !strcmp(debuglink_file, m->debuglink)))
			goto none;
		if (m->alt_fd >= 0 && !strcmp(debuglink_file, m->alt_name) &&
		    (path = strdup(m->alt_path))) {
			fd = m->alt_fd;
			m->alt_fd = -1;
			*debuginfo_file_name = path;
			return fd;
		}
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
		fd = mt_sym_debug_search(m, mod, debuglink_file, debuglink_crc, &path, &src);
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
int mt_sym_mod_create(struct mt_sym *s, const char *path, bool deleted,
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
	m->keep_fd = m->dinfod_fd = m->debug_fd = m->alt_fd = -1;
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
	if (!m->dw_loaded)
		s->ndwarf++;
	m->dw_loaded = true;
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

void mt_sym_dinfod_take(struct mt_sym *s)
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

size_t mt_sym_dwarf_loaded(const struct mt_sym *s)
{
	return s ? s->ndwarf : 0;
}
