/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * memtrace layout: struct layout from DWARF (docs/layout.md). The model
 * of one module's structs, classes and unions, their holes and padding as
 * pahole counts them, a better member order, and the live objects a saved
 * report attributes to them.
 *
 * Offsets and sizes are bytes; a bit-field's offset is that of its storage
 * unit (the naturally aligned unit of its declared type holding its first
 * bit, as pahole prints it) and bit_off its first bit from the struct's
 * start.
 */
#ifndef MT_LAYOUT_H
#define MT_LAYOUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "sym/mt_dwarf.h"

#define MT_LAY_CACHELINE 64u

enum mt_lay_kind { MT_LAY_STRUCT, MT_LAY_CLASS, MT_LAY_UNION };

enum {
	MT_LAYM_BASE = 1,      /* a base class subobject (C++) */
	MT_LAYM_VPTR = 2,      /* the vtable pointer (artificial _vptr.X) */
	MT_LAYM_FLEX = 4,      /* flexible (or zero-length) array member */
	MT_LAYM_ANON = 8,      /* anonymous struct/union member */
	MT_LAYM_VIRTUAL = 16,  /* virtual base: no fixed offset, skipped like pahole */
};

struct mt_lay_member {
	char *name;            /* NULL: anonymous member */
	char *type;            /* C spelling of its type, dimensions included */
	uint64_t offset;       /* bytes from the struct's start */
	uint64_t bit_off;      /* first bit (offset * 8 unless a bit-field) */
	uint32_t bit_size;     /* bit-fields only, else 0 */
	uint64_t size;         /* bytes (a bit-field: its storage unit) */
	uint64_t align;        /* its alignment inside this struct */
	uint64_t hole;         /* bytes of hole after it */
	uint32_t bit_hole;     /* bits of hole after it */
	uint64_t inner_padding;/* a struct-typed member's own tail padding */
	unsigned flags;        /* MT_LAYM_* */
	struct mt_lay_struct *inner; /* a type defined in place: its members (offsets within it) */
};

struct mt_lay_struct {
	char *name;
	char *alias;           /* the typedef name a TYPE argument chose it by */
	enum mt_lay_kind kind;
	uint64_t size, align;
	bool packed;           /* inferred: a member off its natural alignment */
	bool explicit_align;   /* DW_AT_alignment (aligned(N)) on the type */
	char *decl_file;       /* NULL when DWARF does not say */
	unsigned decl_line;
	size_t n;
	struct mt_lay_member *m;
	/* Computed by mt_lay_analyze. */
	uint64_t sum_members, nr_holes, sum_holes, nr_bit_holes, sum_bit_holes;
	uint64_t padding, bit_padding, cachelines, straddles;
	uint64_t best_size;
	size_t *best_order;    /* indices into m, n of them */
	bool abi_locked;       /* --abi-stable and declared in a header */
	/* Weighting (mt_lay_weigh); has_live false: nothing attributed. */
	bool has_live;
	uint64_t live_objects;
	const char *confidence;/* "dwarf" or "size" */
	unsigned live_sites;
};

struct mt_layout {
	char *module;          /* the file read */
	struct mt_dwarf dw;
	size_t n, cap;
	struct mt_lay_struct *s;
};

/* Options of the better order. */
struct mt_lay_pins {
	char **keep_first;     /* member names placed first, in this order */
	size_t nkeep_first;
	char ***together;      /* groups of member names kept adjacent */
	size_t *ntogether;
	size_t ngroups;
	bool abi_stable;
};

/* Read every struct/class/union with a name (or a typedef naming it) of
 * path's DWARF, each name once (the first definition, like pahole), or only
 * those named in types (ntypes > 0; a typedef's name selects its record).
 * 0 or -errno (one line printed). */
int mt_layout_load(struct mt_layout *l, const char *path, char **types, size_t ntypes);
void mt_layout_free(struct mt_layout *l);

/* Holes, padding, cache lines (pahole's counting) and the better order. */
void mt_lay_analyze(struct mt_lay_struct *s, const struct mt_lay_pins *pins);
/* The better order alone: fills s->best_order and returns its size. */
uint64_t mt_lay_best(const struct mt_lay_struct *s, const struct mt_lay_pins *pins, size_t *order);
/* Bytes saved per object by the better order (0 when none is better or
 * --abi-stable keeps the struct as it is). */
static inline uint64_t mt_lay_saved(const struct mt_lay_struct *s)
{
	if (s->abi_locked)
		return 0;
	return s->best_size < s->size ? s->size - s->best_size : 0;
}
static inline uint64_t mt_lay_lines(uint64_t size)
{
	return (size + MT_LAY_CACHELINE - 1) / MT_LAY_CACHELINE;
}
const char *mt_lay_kind_name(enum mt_lay_kind k);
/* A display name of member i ("(anonymous#i)" when unnamed), into buf. */
const char *mt_lay_member_name(const struct mt_lay_struct *s, size_t i, char *buf, size_t len);

/* Size classes of allocators: the block an allocation of size bytes gets. */
enum mt_lay_alloc { MT_LAY_GLIBC, MT_LAY_JEMALLOC, MT_LAY_MTPOOL, MT_LAY_NALLOC };
const char *mt_lay_alloc_name(enum mt_lay_alloc a);
/* Usable bytes of the class serving size; 0 when size is beyond the
 * allocator's classes (libmtpool: > 32 KiB). */
uint64_t mt_lay_class(enum mt_lay_alloc a, uint64_t size);
/* The largest class below the one serving size (0 when none). */
uint64_t mt_lay_class_below(enum mt_lay_alloc a, uint64_t size);

/* Weighting by a saved report (docs/layout.md: attribution rules). */
struct mt_lay_site {
	uint64_t site, live_objects, object_size;
	const char *func, *file;   /* of the frame in the module; owned by the report */
	unsigned line;
	const char *type;          /* attributed type, NULL when none */
	const char *confidence;
	unsigned ncandidates;      /* types whose size divides object_size */
	const char *why;           /* when type is NULL */
};
struct mt_jv;
struct mt_lay_weights {
	struct mt_jv *report;      /* owned */
	const char *path;
	size_t nsites;
	struct mt_lay_site *sites;
};
/* Load a report (a memtrace JSON report) and attribute its sites' live
 * objects to l's structs. 0 or -errno (one line printed). */
int mt_lay_weigh(struct mt_layout *l, const char *report_path, struct mt_lay_weights *w);
void mt_lay_weights_free(struct mt_lay_weights *w);
/* The type whose pointer the value allocated at (module address) pc, line
 * is stored in, from the scopes at pc: a variable declared on that line,
 * else the function's return type. NULL when DWARF does not say. */
const struct mt_lay_struct *mt_lay_confirm(const struct mt_layout *l, uint64_t pc, unsigned line);

/* Writers. ranked: structs with live objects first, by bytes saved. */
int mt_lay_text(FILE *f, const struct mt_layout *l, const struct mt_lay_weights *w);
int mt_lay_json(FILE *f, const struct mt_layout *l, const struct mt_lay_weights *w);

/* `memtrace layout ...`: argv[0] is "layout". Exit status: 0, 1 on a bad
 * or unreadable input, 2 on a usage error. */
int mt_layout_main(int argc, char **argv);

#endif /* MT_LAYOUT_H */
