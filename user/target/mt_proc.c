// SPDX-License-Identifier: BSD-2-Clause
/*
 * /proc readers (status, maps, smaps); see mt_proc.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <elf.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "target/mt_proc.h"

/* A PROT_NONE neighbour this small is a guard page, not an arena reserve
 * (glibc's arena reserves are the rest of a 64 MiB heap). */
#define MT_VM_GUARD_MAX (1ULL << 20)

static FILE *open_proc(pid_t pid, const char *what, int *err)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	f = fopen(path, "re");
	*err = f ? 0 : -errno;
	return f;
}

/* AT_EXECFN's address, from /proc/PID/auxv. */
static int execfn_addr(pid_t pid, uint64_t *addr)
{
	Elf64_auxv_t av;
	FILE *f;
	int err;

	f = open_proc(pid, "auxv", &err);
	if (!f)
		return err;
	err = -ENOENT;
	while (fread(&av, sizeof(av), 1, f) == 1 && av.a_type != AT_NULL) {
		if (av.a_type == AT_EXECFN) {
			*addr = av.a_un.a_val;
			err = 0;
			break;
		}
	}
	fclose(f);
	return err;
}

int mt_proc_execfn(pid_t pid, char *buf, size_t size)
{
	char path[64 + PATH_MAX];
	struct stat a, b;
	uint64_t addr = 0;
	ssize_t n;
	int fd, err;

	err = execfn_addr(pid, &addr);
	if (err)
		return err;
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = pread(fd, buf, size - 1, (off_t)addr);
	err = n < 0 ? -errno : 0;
	close(fd);
	if (err)
		return err;
	buf[n] = '\0';
	if (buf[0] != '/' || strlen(buf) >= size - 1)
		return -ENOENT;
	/* The same file as the running executable, seen from its root. */
	snprintf(path, sizeof(path), "/proc/%d/root%s", (int)pid, buf);
	if (stat(path, &a))
		return -ENOENT;
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	if (stat(path, &b) || a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		return -ENOENT;
	return 0;
}

pid_t mt_proc_status_pid(pid_t pid, const char *field)
{
	size_t n = strlen(field);
	char line[128];
	int err, v = 0;
	FILE *f = open_proc(pid, "status", &err);

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, n) && line[n] == ':' && sscanf(line + n + 1, "%d", &v) == 1)
			break;
	fclose(f);
	return v;
}

int mt_proc_status(pid_t pid, struct mt_proc_status *out)
{
	static const struct { const char *key; size_t off; } keys[] = {
		{ "VmRSS:", offsetof(struct mt_proc_status, vm_rss) },
		{ "RssAnon:", offsetof(struct mt_proc_status, rss_anon) },
		{ "RssFile:", offsetof(struct mt_proc_status, rss_file) },
		{ "RssShmem:", offsetof(struct mt_proc_status, rss_shmem) },
		{ "VmSwap:", offsetof(struct mt_proc_status, vm_swap) },
		{ "VmSize:", offsetof(struct mt_proc_status, vm_size) },
		{ "VmHWM:", offsetof(struct mt_proc_status, vm_hwm) },
	};
	char line[256];
	int err, found = 0;
	FILE *f = open_proc(pid, "status", &err);
	size_t k;

	memset(out, 0, sizeof(*out));
	if (!f)
		return err;
	while (fgets(line, sizeof(line), f)) {
		for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
			size_t n = strlen(keys[k].key);
			unsigned long long kb;

			if (strncmp(line, keys[k].key, n) || sscanf(line + n, "%llu", &kb) != 1)
				continue;
			*(uint64_t *)((char *)out + keys[k].off) = kb * 1024;
			found++;
		}
	}
	fclose(f);
	/* A zombie has a status without Vm lines: its memory is gone. */
	return found ? 0 : -ESRCH;
}

int mt_proc_maps(pid_t pid, mt_maps_fn fn, void *arg)
{
	int err;
	FILE *f = open_proc(pid, "maps", &err);

	if (!f)
		return err;
	err = mt_maps_read(f, fn, arg);
	fclose(f);
	return err;
}

/* smaps header lines start with a hex address; field lines with a name. */
static bool is_header(const char *line)
{
	const char *p = line;

	while ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))
		p++;
	return p > line && *p == '-';
}

struct smaps_ent {
	uint64_t start, end, rss;
	uint32_t prot;
	bool shared, anon, valid;
	char name[32];       /* only short names matter: [heap], [stack] */
};

static void classify(const struct smaps_ent *e, const struct smaps_ent *prev,
		     mt_proc_other_fn is_other, void *arg, struct mt_proc_heap_res *out)
{
	if (!e->valid)
		return;
	if (!strcmp(e->name, "[heap]")) {
		out->brk_heap += e->rss;
		out->mappings_heap++;
		return;
	}
	if (!strcmp(e->name, "[stack]")) {
		out->stacks += e->rss;
		return;
	}
	if (!e->anon || e->shared || !(e->prot & PROT_WRITE))
		return;
	if (prev->valid && prev->anon && prev->prot == 0 && prev->end == e->start &&
	    prev->end - prev->start <= MT_VM_GUARD_MAX) {
		out->stacks += e->rss;
		return;
	}
	if (is_other && is_other(arg, e->start, e->end)) {
		out->anon_other += e->rss;
		return;
	}
	out->anon_heap += e->rss;
	out->mappings_heap++;
}

int mt_proc_heap_parse(FILE *f, mt_proc_other_fn is_other, void *arg,
			  struct mt_proc_heap_res *out)
{
	struct smaps_ent cur = { 0 }, prev = { 0 };
	char line[4096 + 128];

	memset(out, 0, sizeof(*out));
	while (fgets(line, sizeof(line), f)) {
		unsigned long long kb;

		if (is_header(line)) {
			struct mt_maps_ent e;

			classify(&cur, &prev, is_other, arg, out);
			prev = cur;
			memset(&cur, 0, sizeof(cur));
			if (mt_maps_parse_line(line, &e))
				continue;
			cur.start = e.start;
			cur.end = e.end;
			cur.prot = e.prot;
			cur.shared = e.shared;
			cur.anon = e.name[0] == '\0';
			snprintf(cur.name, sizeof(cur.name), "%s", e.name);
			cur.valid = true;
		} else if (sscanf(line, "Rss: %llu kB", &kb) == 1) {
			cur.rss = kb * 1024;
		}
	}
	classify(&cur, &prev, is_other, arg, out);
	return ferror(f) ? -EIO : 0;
}

int mt_proc_heap(pid_t pid, mt_proc_other_fn is_other, void *arg, struct mt_proc_heap_res *out)
{
	int err;
	FILE *f = open_proc(pid, "smaps", &err);

	memset(out, 0, sizeof(*out));
	if (!f)
		return err;
	err = mt_proc_heap_parse(f, is_other, arg, out);
	fclose(f);
	return err;
}
