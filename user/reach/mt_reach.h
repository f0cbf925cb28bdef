/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Reachability: which live heap blocks can the program still reach? A
 * conservative mark phase in the manner of LeakSanitizer and valgrind's
 * leak check, run from outside the process on an unmodified binary:
 * every aligned 8-byte word of the roots (writable module data and bss,
 * other writable non-heap mappings, thread stacks from their stack
 * pointer up, registers) that points into a live block (start or interior)
 * marks it reachable, and the contents of reachable blocks are scanned in
 * turn (a worklist, each block read once). Blocks never marked are
 * "definitely lost"; the others "still reachable" (valgrind's terms).
 *
 * Limitations: conservative, so any word that happens to look like a
 * pointer keeps a block alive (never the other way round: a block reported
 * lost has no pointer to it in any scanned word). Pointers hidden by
 * encoding (XOR lists, tagged or compressed pointers) or only held in
 * memory not scanned (a mapping holding live blocks, e.g. a custom arena
 * carved out of a malloc'd block is scanned, but a pool in a mapping that
 * also holds malloc'd blocks is not) are not seen. See docs/reachability.md.
 *
 * The core (this file's first half) works on any memory through a read
 * callback, so it is unit-tested without a target; mt_reach_pid() is the
 * /proc and ptrace front end (mt_reach_proc.c).
 */
#ifndef MT_REACH_H
#define MT_REACH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "collect/mt_agg.h"

struct mt_reach;
struct mt_report;

struct mt_reach_counts {
	uint64_t lost_objects, lost_bytes;
	uint64_t reachable_objects, reachable_bytes;
};

struct mt_reach_stats {
	double pause_ms;            /* target stopped for the scan */
	double scan_ms;             /* roots + flood */
	uint64_t threads;           /* threads whose registers were read */
	uint64_t root_regions;      /* mappings (or parts) scanned as roots */
	uint64_t roots_bytes;       /* bytes of roots read */
	uint64_t heap_regions;      /* mappings excluded as holding live blocks */
	uint64_t blocks;            /* live blocks classified */
	uint64_t blocks_scanned;    /* reachable blocks whose contents were read */
	uint64_t heap_bytes_scanned;
	uint64_t unreadable_bytes;  /* roots or blocks that could not be read */
	struct mt_reach_counts all; /* over every live block */
};

/* Reads len bytes at addr in the target into buf; returns the bytes read
 * (short at an unreadable page) or -errno. */
typedef ssize_t (*mt_reach_read_fn)(void *arg, uint64_t addr, void *buf, size_t len);

/* Reads n ranges (addr[i], len[i]) in one go into buf, back to back;
 * returns the bytes read, which stop short at the first unreadable byte
 * (as process_vm_readv does), or -errno. The lengths add up to at most
 * MT_REACH_BATCH_BYTES and n is at most MT_REACH_BATCH. */
typedef ssize_t (*mt_reach_readv_fn)(void *arg, const uint64_t *addr, const size_t *len,
				     unsigned n, void *buf);
#define MT_REACH_BATCH 1024            /* IOV_MAX */
#define MT_REACH_BATCH_BYTES (1u << 20)

/* Snapshot the live blocks of a (sorted by address). NULL on ENOMEM. */
struct mt_reach *mt_reach_new(const struct mt_agg *a);
void mt_reach_free(struct mt_reach *r);      /* accepts NULL */

/* Scan len bytes at buf (a copy of target memory at addr; only its 8-byte
 * aligned words count) as a root: every block a word points into is
 * marked. Cost: O(words * log blocks). */
void mt_reach_root(struct mt_reach *r, uint64_t addr, const void *buf, size_t len);

/* Scan the contents of every marked block, marking what they point to,
 * until nothing new is marked; each block is read once. Small blocks are
 * read up to MT_REACH_BATCH at a time through rdv when it is not NULL (one
 * system call instead of one per block: the target is paused meanwhile),
 * others, and the rest of a batch cut short, through rd. 0 or -ENOMEM.
 * Unreadable blocks are counted in stats, not an error. */
int mt_reach_flood(struct mt_reach *r, mt_reach_read_fn rd, mt_reach_readv_fn rdv, void *arg);

/* The block (index into the sorted snapshot) that p points into, or -1.
 * Interior pointers count, except one that lands exactly where glibc puts
 * the next chunk's header inside a block's last 8 bytes (a size of 16k+1
 * ..16k+8 shares its tail with the next chunk's prev_size field, and
 * glibc's bins and top pointer aim there): those would make the block
 * before every free chunk reachable. */
long mt_reach_find(const struct mt_reach *r, uint64_t p);
bool mt_reach_marked(const struct mt_reach *r, uint64_t addr);  /* addr: block start */
/* Some live block starts in [start, end): the range is heap, not a root. */
bool mt_reach_holds_block(const struct mt_reach *r, uint64_t start, uint64_t end);

/* Tally per site, counting only blocks allocated at or before cut_ns (the
 * leak candidates: UINT64_MAX for all) in the per-site counts; stats.all
 * counts every block. 0 or -ENOMEM. */
int mt_reach_tally(struct mt_reach *r, uint64_t cut_ns);
/* Counts of site (MT_SITE_NONE allowed) after mt_reach_tally; zeros for an
 * unknown site. */
struct mt_reach_counts mt_reach_site(const struct mt_reach *r, uint32_t site);
struct mt_reach_stats *mt_reach_stats(struct mt_reach *r);

/*
 * Front end: classify the live blocks of a in process pid. tid > 0 names a
 * thread already ptrace-stopped by memtrace (launch mode's exit stop): it
 * is used as is and the other threads are not stopped. tid == 0 (attach
 * mode) seizes and interrupts every thread, calls drain(drain_arg) once
 * all are stopped (so the live table matches memory), scans, and detaches
 * every thread on every path, re-injecting a signal a stop swallowed. A
 * thread that exits meanwhile is dropped. cut_ns as in mt_reach_tally.
 * Prints one line and returns -errno on failure; *out is set on success.
 */
int mt_reach_pid(pid_t pid, pid_t tid, const struct mt_agg *a, uint64_t cut_ns,
		 int (*drain)(void *), void *drain_arg, struct mt_reach **out);

/* Fill the leak entries' lost/reachable fields of a built report and add
 * its "reachability" section (JSON object and text lines). 0 or -errno. */
int mt_reach_report(struct mt_reach *r, struct mt_report *rep);

#endif /* MT_REACH_H */
