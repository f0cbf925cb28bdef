/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * memtrace diff: compare two JSON reports (docs/diff.md). Totals, rates
 * and per-site counters are paired; sites are matched by their symbolized
 * stack, never by address (addresses differ between runs):
 * per frame "func@module-basename:file:line" when the source line is
 * known, "func+func_off@module" without DWARF, "module+module_off" without
 * a symbol, the address as a last resort. Sites of one report whose keys
 * are equal (e.g. two return addresses on one source line) are summed.
 *
 * A report lists every site with leaked objects ("leaks") but only the top
 * --top sites ("sites"): a site missing from one report counts as zero
 * there, so run both with a large enough --top to compare churn sites.
 */
#ifndef MT_DIFF_H
#define MT_DIFF_H

#include <stdint.h>
#include <stdio.h>
#include "util/mt_json_read.h"

/* Per-site counters compared: indexes of mt_diff_site.a/b and of
 * mt_diff_site_fields (their JSON names). Those before
 * MT_DIFF_S_LEAK_OBJECTS are read from the site's own entry, the leak
 * counts from its "leaks" entry. */
enum mt_diff_site_field {
	MT_DIFF_S_ALLOCS, MT_DIFF_S_FREES, MT_DIFF_S_ALLOC_BYTES, MT_DIFF_S_FREE_BYTES,
	MT_DIFF_S_LIVE_OBJECTS, MT_DIFF_S_LIVE_BYTES, MT_DIFF_S_PEAK_LIVE_BYTES,
	MT_DIFF_S_LEAK_OBJECTS, MT_DIFF_S_LEAK_BYTES,
	MT_DIFF_SITE_FIELDS
};
extern const char *const mt_diff_site_fields[MT_DIFF_SITE_FIELDS];

struct mt_diff_site {
	char *key;                  /* the matching key, frames joined by '\n' */
	const char *entry;          /* its JSON entry as written in A (else B) */
	size_t entry_len;
	bool in_a, in_b;
	uint64_t a[MT_DIFF_SITE_FIELDS], b[MT_DIFF_SITE_FIELDS];
};

/* Totals compared (indexes of mt_diff.ta/tb and mt_diff_total_fields):
 * those before MT_DIFF_T_LOST_EVENTS are read from "totals". */
enum mt_diff_total_field {
	MT_DIFF_T_ALLOCS, MT_DIFF_T_FREES, MT_DIFF_T_ALLOC_BYTES, MT_DIFF_T_FREE_BYTES,
	MT_DIFF_T_LIVE_OBJECTS, MT_DIFF_T_LIVE_BYTES, MT_DIFF_T_PEAK_LIVE_BYTES,
	MT_DIFF_T_UNTRACKED_FREES, MT_DIFF_T_FAILED_ALLOCS, MT_DIFF_T_STALE_REPLACED,
	MT_DIFF_T_LOST_EVENTS, MT_DIFF_T_LEAK_OBJECTS, MT_DIFF_T_LEAK_BYTES,
	MT_DIFF_TOTALS
};
extern const char *const mt_diff_total_fields[MT_DIFF_TOTALS];
/* Rates compared (mt_diff.ra/rb): the run's duration, then "rates"."run". */
enum mt_diff_rate_field {
	MT_DIFF_R_DURATION_S, MT_DIFF_R_ALLOCS_PER_S, MT_DIFF_R_BYTES_PER_S, MT_DIFF_R_FREES_PER_S,
	MT_DIFF_RATES
};
extern const char *const mt_diff_rate_fields[MT_DIFF_RATES];

/*
 * One report as diff holds it: the document without its lists' entries,
 * each entry of "leaks" and "sites" reduced to its key and counters as it
 * streamed by, and the text (mapped, or read for a pipe) that shown
 * stacks are parsed again from. Memory: the keys and counters, not the
 * report's size (a 470 MB report of 65,536 leaked stacks once took 5.4 GB).
 */
struct mt_diff_input;

struct mt_diff {
	const char *path_a, *path_b;
	struct mt_diff_input *a, *b;  /* owned */
	uint64_t ta[MT_DIFF_TOTALS], tb[MT_DIFF_TOTALS];
	double ra[MT_DIFF_RATES], rb[MT_DIFF_RATES];
	size_t nsites;
	struct mt_diff_site *sites; /* by |delta live_bytes|, |delta alloc_bytes|, key */
};

/* The matching key of one JSON stack (an array of frames). 0 or -ENOMEM;
 * *out is malloc'd. An empty or non-array stack gives "(no stack)". */
int mt_diff_stack_key(const struct mt_jv *stack, char **out);

/* Read and check a report: a JSON object with "version" 1 and the keys
 * diff uses. Prints one line naming path on error and returns -errno
 * (-EINVAL: corrupt or not a report, -EPROTO: another version). */
int mt_diff_load(const char *path, struct mt_diff_input **out);
/* The same for a report already in memory; name is used in messages, and
 * name and text must outlive *out. */
int mt_diff_load_buf(const char *name, const char *text, size_t len, struct mt_diff_input **out);
void mt_diff_input_free(struct mt_diff_input *in);        /* accepts NULL */
/* The document: everything but the lists' entries. */
const struct mt_jv *mt_diff_input_doc(const struct mt_diff_input *in);

/* Pair two loaded reports (taking ownership of a and b). 0 or -errno;
 * d is released on error. */
int mt_diff_build(struct mt_diff *d, struct mt_diff_input *a, struct mt_diff_input *b,
		  const char *path_a, const char *path_b);

/* A site's stack, parsed again from its entry: *out is a document whose
 * "stack" member is the array (free with mt_jv_free). 0 or -errno. */
int mt_diff_site_stack(const struct mt_diff_site *s, struct mt_jv **out);
void mt_diff_release(struct mt_diff *d);

/* Writers: 0 or -errno. Text: totals table and the top sites changed. */
int mt_diff_text(FILE *f, const struct mt_diff *d, unsigned top);
int mt_diff_json(FILE *f, const struct mt_diff *d);

/* The "go" sections of Go reports (mt_diff_go.c): mallocgc totals, types
 * and (function, type) sites paired by name. Nothing when neither report
 * has one. 0 or -ENOMEM. The JSON writer adds a "go" member to the open
 * diff object. */
struct mt_json;
int mt_diff_go_text(FILE *f, const struct mt_diff *d, unsigned top);
int mt_diff_go_json(struct mt_json *j, const struct mt_diff *d);

/* `memtrace diff [--json FILE] A.json B.json`: argv[0] is "diff".
 * Returns the exit status: 0, 1 on a bad or unreadable input, 2 on a
 * usage error. */
int mt_diff_main(int argc, char **argv);

#endif /* MT_DIFF_H */
