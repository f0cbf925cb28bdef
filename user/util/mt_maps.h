/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The one parser of /proc/PID/maps lines (smaps headers have the same
 * form). The readers of a process's mappings build on it: target/mt_proc
 * opens /proc/PID/maps by pid, sym/mt_sym reads it through its /proc/PID
 * directory fd (bound to the task, so a reused pid cannot fool it).
 * Lines are read with getline: a path of any length is read whole.
 */
#ifndef MT_MAPS_H
#define MT_MAPS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct mt_maps_ent {
	uint64_t start, end;   /* [start, end) */
	uint64_t off;          /* file offset of start */
	uint64_t ino;
	unsigned dev_major, dev_minor;
	uint32_t prot;         /* PROT_READ | PROT_WRITE | PROT_EXEC */
	bool shared;           /* 's' rather than 'p' */
	const char *name;      /* path, "[heap]", ..., "" when anonymous; points
	                        * into the line, trailing blanks removed (a
	                        * deleted file keeps its " (deleted)") */
};

/* Parse one line (modified in place). 0 or -EINVAL. */
int mt_maps_parse_line(char *line, struct mt_maps_ent *e);

/* fn sees each well-formed line of f in order; a non-zero return stops the
 * walk and is returned. Otherwise 0, or -errno when reading failed (-EIO
 * when the stream gives no cause). */
typedef int (*mt_maps_fn)(void *arg, const struct mt_maps_ent *e);
int mt_maps_read(FILE *f, mt_maps_fn fn, void *arg);

#endif /* MT_MAPS_H */
