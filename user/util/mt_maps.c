// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "util/mt_maps.h"

int mt_maps_parse_line(char *line, struct mt_maps_ent *e)
{
	char perms[5];
	int off = 0;
	size_t n;

	/* start-end perms offset major:minor inode [name] */
	if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %4s %" SCNx64 " %x:%x %" SCNu64 "%n",
		   &e->start, &e->end, perms, &e->off, &e->dev_major, &e->dev_minor,
		   &e->ino, &off) != 7 || off == 0 || strlen(perms) < 4)
		return -EINVAL;
	e->prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
		  (perms[2] == 'x' ? PROT_EXEC : 0);
	e->shared = perms[3] == 's';
	line += off;
	while (*line == ' ' || *line == '\t')
		line++;
	n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == ' '))
		line[--n] = '\0';
	e->name = line;
	return 0;
}

int mt_maps_read(FILE *f, mt_maps_fn fn, void *arg)
{
	struct mt_maps_ent e;
	char *line = NULL;
	size_t cap = 0;
	int ret = 0;

	errno = 0;
	while (!ret && getline(&line, &cap, f) > 0) {
		if (mt_maps_parse_line(line, &e) == 0)
			ret = fn(arg, &e);
	}
	if (!ret && ferror(f))
		ret = errno ? -errno : -EIO;
	free(line);
	return ret;
}
