// SPDX-License-Identifier: BSD-2-Clause
/*
 * One file's DWARF through libdwfl's offline reporting. Separate debug
 * info is found by the symbolizer's own search (mt_debuginfo: build-id,
 * then .gnu_debuglink in gdb's order, the file matched by build-id or
 * CRC), so memtrace layout reads the file the report's names came from;
 * libdwfl's standard lookup runs only when that finds nothing, for
 * debuginfod (synchronous here: layout is an offline command).
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "util/mt_log.h"
#include "sym/mt_debuginfo.h"
#include "sym/mt_dwarf.h"

static char *debuginfo_path;  /* NULL: libdwfl's default search path */

static int find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
			  const char *file_name, const char *debuglink, GElf_Word crc, char **found)
{
	struct mt_debuginfo_req q = { .root = "", .path = file_name ? file_name : modname,
				      .debuglink = debuglink, .crc = crc };
	struct mt_dwarf *d = *userdata;   /* set by mt_dwarf_open */
	const unsigned char *id;
	enum mt_sym_src src;
	GElf_Addr vaddr;
	struct stat sb;
	char *path = NULL;
	int n, fd;

	n = dwfl_module_build_id(mod, &id, &vaddr);
	if (n > 0) {
		q.build_id = id;
		q.build_id_len = (size_t)n;
	}
	if (q.path && stat(q.path, &sb) == 0) {
		q.dev = sb.st_dev;
		q.ino = sb.st_ino;
	}
	fd = q.path ? mt_debuginfo_find(&q, &path, &src) : -ENOENT;
	if (fd >= 0) {
		d->debug_how = mt_sym_src_name(src);
		*found = path;   /* libdwfl frees it */
		return fd;
	}
	fd = dwfl_standard_find_debuginfo(mod, userdata, modname, base, file_name, debuglink, crc,
					  found);
	if (fd >= 0)
		d->debug_how = "libdwfl";
	return fd;
}

static const Dwfl_Callbacks mt_dwarf_callbacks = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = find_debuginfo,
	.section_address = dwfl_offline_section_address,
	.debuginfo_path = &debuginfo_path,
};

int mt_dwarf_open(const char *path, struct mt_dwarf *d)
{
	void **udata;
	int fd, err = 0;

	memset(d, 0, sizeof(*d));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		mt_err("cannot open '%s': %s", path, strerror(errno));
		return err;
	}
	d->dwfl = dwfl_begin(&mt_dwarf_callbacks);
	if (!d->dwfl) {
		close(fd);
		mt_err("cannot read '%s': %s", path, dwfl_errmsg(-1));
		return -ENOMEM;
	}
	dwfl_report_begin(d->dwfl);
	/* libdwfl owns fd from here, closed by dwfl_end. */
	d->mod = dwfl_report_offline(d->dwfl, path, path, fd);
	dwfl_report_end(d->dwfl, NULL, NULL);
	if (!d->mod) {
		mt_err("cannot read '%s': %s", path, dwfl_errmsg(-1));
		err = -EINVAL;
		goto out;
	}
	/* the module's userdata: find_debuginfo records how it found it */
	dwfl_module_info(d->mod, &udata, NULL, NULL, NULL, NULL, NULL, NULL);
	*udata = d;
	d->dw = dwfl_module_getdwarf(d->mod, &d->bias);
	if (!d->dw) {
		mt_err("no debug info for '%s' (in the file, by build-id or debuglink): %s",
		       path, dwfl_errmsg(-1));
		err = -ENOENT;
		goto out;
	}
	dwfl_module_info(d->mod, NULL, NULL, NULL, NULL, NULL, NULL, &d->debug_file);
	if (!d->debug_file)
		d->debug_how = NULL;
out:
	if (err)
		mt_dwarf_close(d);
	return err;
}

void mt_dwarf_close(struct mt_dwarf *d)
{
	if (d->dwfl)
		dwfl_end(d->dwfl);
	memset(d, 0, sizeof(*d));
}

int mt_dwarf_off_to_addr(const struct mt_dwarf *d, uint64_t off, uint64_t *addr)
{
	GElf_Addr bias;
	Elf *elf = dwfl_module_getelf(d->mod, &bias);
	size_t i, n;

	if (!elf || elf_getphdrnum(elf, &n))
		return -ENOENT;
	for (i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (off >= ph.p_offset && off < ph.p_offset + ph.p_filesz) {
			*addr = off - ph.p_offset + ph.p_vaddr;
			return 0;
		}
	}
	return -ENOENT;
}
