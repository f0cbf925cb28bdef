/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The allocator's internal calls: places where the allocator object's own
 * code calls one of its entry points directly (call rel32), bypassing the
 * PLT. Such a call is invisible to an
 * interposer (LD_PRELOAD) and is not the program's: glibc's thread
 * teardown (tcache_thread_shutdown, inlined in __malloc_arena_thread_freeres)
 * frees up to ~450 cached chunks per exiting thread that way. Functions
 * that serve the program (strdup, fopen, getline, qsort ...) call malloc
 * through the PLT, so they stay the program's calls.
 *
 * Found by symbol-free analysis, so it works on stripped objects without
 * debug info: a byte scan for rel32 calls landing on an entry point,
 * each candidate confirmed by decoding (Capstone) from the start of its
 * function as .eh_frame_hdr lists it, so a probe never lands inside an
 * instruction. Sites inside an exported function (the entry points' own
 * bodies, or a wrapper such as `operator delete` jumping to free) are the
 * program's calls and are left out. In an executable (a static program,
 * or one with its own allocator) the program's code calls the allocator
 * directly too: there only calls from glibc's thread teardown functions,
 * found by name in .symtab, are internal (none when stripped).
 * The loader puts a uprobe on each site
 * (the kernel emulates the call: no single-step); only internal calls pay it.
 */
#ifndef MT_INTERNAL_H
#define MT_INTERNAL_H

#include <stdint.h>

/* A direct call of an entry point from the object's own code. */
struct mt_internal_site {
	uint64_t vaddr;      /* of the call instruction */
	uint64_t file_off;   /* where the uprobe goes */
	uint64_t target;     /* the entry point's vaddr */
};

/*
 * mt_internal_sites_file - the internal call sites of an object
 * @path:   the object (as opened by us)
 * @eps:    vaddrs of its probed entry points
 * @neps:   how many
 * @out:    filled with at most @max sites
 *
 * Return: the number of sites (those past @max are dropped and reported
 * with mt_err), 0 when the object has no .eh_frame_hdr to confirm
 * candidates with, or -errno when it cannot be read.
 */
int mt_internal_sites_file(const char *path, const uint64_t *eps, unsigned neps,
			   struct mt_internal_site *out, unsigned max);

#endif /* MT_INTERNAL_H */
