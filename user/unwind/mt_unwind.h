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

/* Where the tables go: the maps of bpf/unwind.bpf.h in one loaded object.
 * Another object's walker (the memory view's) reuses the same maps by
 * their fds, so one process's tables are built and written once. */
struct mt_unwind_sink {
	void *rows;               /* struct mt_uw_row[rows_cap], mmapped */
	uint32_t rows_cap;
	size_t rows_bytes;        /* of the mapping */
	int rows_fd;              /* mt_uw_rows */
	int maps_fd;              /* mt_uw_maps: array of 2 struct mt_uw_maps */
	int mods_fd;              /* mt_uw_mods: hash of struct mt_uw_mod by inode */
	int state_fd;             /* mt_uw_state: struct mt_uw_state, mmapped */
	void *state;              /* struct mt_uw_state: the slot the walkers read */
};

/* Rows the row map is to be created with: today's, as many again for
 * modules mapped later (dlopen), plus 1 MiB; at most 128 MiB. */
uint32_t mt_unwind_rows_cap(const struct mt_unwind *u);

/* Map the walker's maps of a loaded object (mt_uw_rows created with
 * rows_cap rows) into s and publish today's tables. 0 or -errno after
 * one line; mt_unwind_sink_close undoes it (safe on a zeroed sink). */
int mt_unwind_sink_open(struct mt_unwind *u, struct mt_unwind_sink *s, int rows_fd,
			uint32_t rows_cap, int maps_fd, int mods_fd, int state_fd);
void mt_unwind_sink_close(struct mt_unwind_sink *s);

/* Write every table not yet written and publish the mapping table. */
int mt_unwind_publish(struct mt_unwind *u, const struct mt_unwind_sink *s);

/* Re-read the mappings; new modules get tables, then publish. */
int mt_unwind_refresh(struct mt_unwind *u, const struct mt_unwind_sink *s);

/* Refresh when a walker met a return address in no known mapping since
 * the last look, at most 4 times a second (a walk through garbage meets
 * one on every stack); with now, at once and whatever the walkers saw (a
 * new executable mapping was just seen: its first stacks are near). */
void mt_unwind_poll(struct mt_unwind *u, const struct mt_unwind_sink *s, bool now);

void mt_unwind_get_stats(const struct mt_unwind *u, struct mt_unwind_stats *st);

/* How the module at path is walked: "fp", "cfi", or NULL when unknown. */
const char *mt_unwind_module_kind(const struct mt_unwind *u, const char *path);

void mt_unwind_free(struct mt_unwind *u);   /* accepts NULL */

#endif /* MT_UNWIND_LIB_H */
