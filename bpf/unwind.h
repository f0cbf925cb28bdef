/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Unwind tables shared by bpf/unwind.bpf.h (the walker, at the probe) and
 * user/unwind/ (the builder, from each module's CFI). Includes nothing: the
 * includer provides __u64 and friends.
 *
 * Layout (learned from Parca's and the OpenTelemetry profiler's agents, not
 * copied): one big array of rows (mt_uw_rows), each module's rows a sorted
 * run in it; one small sorted array of the target's executable mappings
 * (mt_uw_maps), each naming its run of rows and how to turn an address into
 * the module's own addresses. A frame costs one binary search over the
 * mappings and, in a CFI module, one over that module's rows.
 *
 * A row holds the rule from its pc up to the next row's pc:
 *   CFA = rsp + cfa_off | rbp + cfa_off | *(rbp + (__s16)cfa_off)
 *   return address at CFA - 8 (x86-64 CFI always puts it there; a module
 *   whose CFI says otherwise gets MT_UW_NONE rows)
 *   caller's rbp at CFA + 8 * rbp_off, or unchanged when rbp_off is 0
 *   (or at rbp + 8 * rbp_off with MT_UW_RBP_REL).
 * 8 bytes a row: libc (~40k rows) is ~0.3 MiB.
 */
#ifndef MT_UNWIND_H
#define MT_UNWIND_H

enum mt_uw_kind {
	MT_UW_NONE = 0,      /* no rule here: the stack ends, "no_cfi" */
	MT_UW_CFA_RSP,       /* CFA = rsp + cfa_off */
	MT_UW_CFA_RBP,       /* CFA = rbp + cfa_off */
	MT_UW_CFA_DEREF_RBP, /* CFA = *(rbp + (s16)cfa_off): gcc's stack realignment (DRAP) */
	MT_UW_ROOT,          /* return address undefined: the outermost frame */
	MT_UW_SIGNAL,        /* signal trampoline (__restore_rt): registers from the ucontext at rsp */
};

struct mt_uw_row {
	__u32 pc;        /* module address (ELF vaddr) where the rule starts */
	__u16 cfa_off;   /* bytes, or 8-byte units with MT_UW_SCALED */
	__s8 rbp_off;    /* caller's rbp at CFA + 8 * rbp_off; 0: unchanged */
	__u8 kind;       /* enum mt_uw_kind, | MT_UW_SCALED */
};

/* cfa_off counts 8-byte units: frames of 64 KiB .. 512 KiB (python3 has
 * a few functions with 64 KiB of locals). */
#define MT_UW_SCALED 0x80
/* The caller's rbp is at rbp + 8 * rbp_off (this frame's rbp, not the
 * CFA; 0 included): gcc's stack realignment saves it at [rbp]. */
#define MT_UW_RBP_REL 0x40
#define MT_UW_KIND(k) ((k) & 0x3f)

/* How a mapping is walked. */
enum mt_uw_map_kind {
	MT_UW_MAP_FP = 0,    /* frame pointers: CFA = rbp + 16, caller's rbp at rbp */
	MT_UW_MAP_CFI,       /* rows[row_first .. row_first + row_count) */
	MT_UW_MAP_UNKNOWN,   /* anonymous (JIT) or unreadable code: the stack ends, "unknown_code" */
};

struct mt_uw_map {
	__u64 start;        /* [start, end): the executable mapping */
	__u64 end;
	__u64 bias;         /* module address = address - bias */
	__u32 row_first;
	__u32 row_count;
	__u32 kind;         /* enum mt_uw_map_kind */
	__u32 pad;
};

#define MT_UW_MAX_MAPS 512   /* executable mappings of one process */
#define MT_UW_MAP_SHIFT 9    /* log2(MT_UW_MAX_MAPS): binary-search steps */
#define MT_UW_ROW_SHIFT 22   /* rows of one module <= 4M: binary-search steps */

/* The whole mapping table, one array element. User space fills the slot
 * the walker is not reading and then flips mt_uw_cur (double buffer), so
 * the walker never sees a half-written table. */
struct mt_uw_maps {
	__u32 n;            /* sorted by start, no overlaps */
	__u32 tgid;         /* the process these are the mappings of */
	struct mt_uw_map m[MT_UW_MAX_MAPS];
};

/* A module by file, for mappings the table does not know yet (a library
 * mapped after the last scan, e.g. at launch or by dlopen): the walker
 * finds the mapping with bpf_find_vma and its module here by the file's
 * inode, and computes the bias from the mapping's file offset. */
struct mt_uw_mod_key {
	__u64 ino;
	__u64 dev;          /* kernel encoding: major << 20 | minor */
};

#define MT_UW_MOD_LOADS 4

struct mt_uw_mod {
	__u32 row_first;
	__u32 row_count;
	__u32 kind;         /* enum mt_uw_map_kind */
	__u32 nloads;
	struct {
		__u64 off, vaddr, filesz;   /* PT_LOAD: file offset, module address, size */
	} loads[MT_UW_MOD_LOADS];
};

#define MT_UW_MAX_MODS 1024

/* What every walker of one process's tables shares with user space, one
 * element of an mmapable array (mt_uw_state): the heap and the memory-view
 * programs walk the same tables, so they read the same slot and count
 * into the same counter. */
struct mt_uw_state {
	__u32 cur;          /* slot of mt_uw_maps the walkers read (user space flips it) */
	__u32 pad;
	__u64 unknown;      /* return addresses in no known mapping: user space
			     * then re-reads the mappings (dlopen) */
};

/* Why a stack ended (struct mt_stack.end). */
enum mt_stack_end {
	MT_END_NONE = 0,     /* not walked by the unwinder (--callsite-only, failures) */
	MT_END_ROOT,         /* the process root: CFI's undefined return address, rbp 0 */
	MT_END_DEPTH,        /* --max-depth */
	MT_END_NO_CFI,       /* no unwind rule for the last frame's address */
	MT_END_FAULT,        /* the stack could not be read, or went the wrong way */
	MT_END_UNKNOWN_CODE, /* a return address outside known executable file mappings (JIT, garbage) */
	MT_END_COUNT,
};

#define MT_STACK_MAX 127     /* --max-depth upper bound */

/* One stack: frames innermost first, frame 0 the call site. The stack map's
 * values are the first 16 + 8 * max_depth bytes of this, under the key
 * (__u32)hash & 0x7fffffff; the full 64-bit hash tells a collision (another
 * stack in the same bucket) from the same stack without comparing frames. */
struct mt_stack {
	__u64 hash;         /* of nr, end and the frames */
	__u32 nr;
	__u32 end;          /* enum mt_stack_end */
	__u64 ip[MT_STACK_MAX];
};
#define MT_STACK_BYTES(depth) (16 + 8 * (depth))

#ifndef __bpf__
_Static_assert(sizeof(struct mt_uw_row) == 8, "mt_uw_row layout");
_Static_assert(sizeof(struct mt_uw_map) == 40, "mt_uw_map layout");
_Static_assert(sizeof(struct mt_uw_mod) == 16 + 24 * MT_UW_MOD_LOADS, "mt_uw_mod layout");
_Static_assert(sizeof(struct mt_uw_state) == 16, "mt_uw_state layout");
_Static_assert(sizeof(struct mt_stack) == MT_STACK_BYTES(MT_STACK_MAX), "mt_stack layout");
_Static_assert((1 << MT_UW_MAP_SHIFT) == MT_UW_MAX_MAPS, "map search steps");
#endif

#endif /* MT_UNWIND_H */
