/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The unwind tables of one process: every executable mapping of the
 * target, how the BPF walker crosses it (frame pointers, CFI rows, or not
 * at all), and the rows of each module, built once per module (user/unwind/
 * mt_uw_table.c) and written into the heap tracer's maps (bpf/unwind.h).
 *
 * --unwind auto decides per module: frame pointers where most functions
 * keep one (cheaper: no table search), CFI where they do not, frame
 * pointers where there is no CFI at all. Mappings that appear later
 * (dlopen) are added by mt_unwind_refresh, which the loader calls when the
 * walker reports a return address in no known mapping.
 */
#ifndef MT_UNWIND_LIB_H
#define MT_UNWIND_LIB_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

enum mt_unwind_mode { MT_UNWIND_AUTO = 0, MT_UNWIND_FP, MT_UNWIND_CFI };

/* "auto", "fp", "cfi" -> mode; -EINVAL otherwise. */
int mt_unwind_mode_parse(const char *s, enum mt_unwind_mode *mode);

struct mt_unwind;

struct mt_unwind_stats {
	uint32_t modules, modules_cfi, modules_fp, maps;
	uint64_t rows;            /* rows written (or waiting to be) */
	uint64_t text_bytes;      /* executable bytes of the CFI modules */
	uint64_t build_ns;        /* time spent building tables */
	uint32_t refreshes;
};

/* Scan the process's executable mappings and build the tables they need
 * (none in fp mode). Returns 0 or -errno. */
int mt_unwind_new(pid_t pid, enum mt_unwind_mode mode, struct mt_unwind **out);

/* Build the table of a file the process will map (launch mode: the
 * libraries the dynamic loader is about to load), so the walker knows it
 * from its first mapping on. 0 or -errno. */
int mt_unwind_add_file(struct mt_unwind *u, const char *path);

/* The first tables are built (mt_unwind_new and the mt_unwind_add_file
 * calls after it): erase their progress line. Later tables show none. */
void mt_unwind_progress_end(struct mt_unwind *u);

/* Rows built so far: what the row map must hold at least. */
uint64_t mt_unwind_nrows(const struct mt_unwind *u);

/* Where the tables go: the row array (mmapped, capacity rows_cap), the
 * double-buffered mapping table and its current slot. */
struct mt_unwind_sink {
	void *rows;               /* struct mt_uw_row[rows_cap] */
	uint32_t rows_cap;
	int maps_fd;              /* array of 2 struct mt_uw_maps */
	int mods_fd;              /* hash of struct mt_uw_mod by inode */
	uint32_t *cur;            /* slot the walker reads */
};

/* Write every table not yet written and publish the mapping table. */
int mt_unwind_publish(struct mt_unwind *u, const struct mt_unwind_sink *s);

/* Re-read the mappings; new modules get tables, then publish. */
int mt_unwind_refresh(struct mt_unwind *u, const struct mt_unwind_sink *s);

void mt_unwind_get_stats(const struct mt_unwind *u, struct mt_unwind_stats *st);

/* How the module at path is walked: "fp", "cfi", or NULL when unknown. */
const char *mt_unwind_module_kind(const struct mt_unwind *u, const char *path);

void mt_unwind_free(struct mt_unwind *u);   /* accepts NULL */

#endif /* MT_UNWIND_LIB_H */
