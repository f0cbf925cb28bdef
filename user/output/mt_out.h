/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * File outputs of a report, for the tools people already use: pprof's
 * profile.proto (mt_out_pprof.c), folded stacks for flame graphs
 * (mt_out_folded.c), a self-contained HTML page (mt_out_html.c). Each reads the report model as it is (struct
 * mt_report: sites ranked by --sort) and never aggregates again, so every
 * output shows the numbers the text and JSON show. Every site in r->sites
 * is written: the caller builds the report with opts.all_sites.
 *
 * mt_out_load.c reads a saved JSON report back into the model, so
 * `memtrace report A.json --pprof F` renders a trace taken elsewhere.
 */
#ifndef MT_OUT_H
#define MT_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include "report/mt_report.h"

/* The value of a folded stack (--weight). */
enum mt_out_weight { MT_W_LIVE_BYTES, MT_W_LIVE_OBJECTS, MT_W_ALLOC_BYTES, MT_W_ALLOCS };

/* "live_bytes", "live_objects", "alloc_bytes", "allocs": 0, or -EINVAL. */
int mt_out_weight_parse(const char *name, enum mt_out_weight *out);

/* A gzipped profile.proto with Go's heap-profile sample types. path "-"
 * is stdout. live: r is of a traced process, so its modules' build-ids are
 * read from their files (a saved report's files are not on this machine).
 * 0 or -errno, the error already reported. */
int mt_out_pprof(const char *path, const struct mt_report *r, const char *version, bool live);

/* Folded stacks, one line per site: "root;...;leaf value", sites with a
 * zero value left out. path "-" is stdout. 0 or -errno, reported. */
int mt_out_folded(const char *path, const struct mt_report *r, enum mt_out_weight w);

/* The HTML report: the page with r's JSON document (every site, leaks as
 * --json-leaks bounds them) embedded. 0 or -errno, reported. */
int mt_out_html(const char *path, const struct mt_report *r);
/* The same page around a JSON report already written (a saved report
 * read back whole: its extension sections included). json must be a
 * valid JSON document. 0 or -errno, reported. */
int mt_out_html_doc(const char *path, const char *json, size_t len);

/* Write len bytes to path ("-": stdout) as a whole. 0 or -errno, the error
 * reported with the path. */
int mt_out_write_file(const char *path, const void *buf, size_t len);

struct mt_jv;

/*
 * A report read back from JSON (versions 1 to MT_REPORT_VERSION). r holds sites, leaks,
 * totals, calls, rates, target and sampling as the writer had them; the
 * strings are owned by the loaded report. Extension sections (memory,
 * pools, go, the analyses, ...) are not in the model: with
 * MT_OUT_KEEP_EXT the document is kept (doc) and the text shows them
 * through mt_out_text_ext.
 */
struct mt_out_loaded {
	struct mt_report r;
	unsigned version;
	char **strs;              /* every string the frames point to */
	size_t nstrs, cap;
	char *ep_names[MT_AGG_MAX_EPS];
	double *growth;           /* site id -> trend slope (bytes/s), for --sort growth */
	size_t ngrowth;
	char *text;               /* the document as read, with MT_OUT_KEEP_TEXT (--html) */
	size_t text_len;
	/* With MT_OUT_KEEP_EXT: the document's top level as parsed, every
	 * member but the entries of "sites" and "leaks" (streamed into r). */
	struct mt_jv *doc;
};
enum {
	MT_OUT_KEEP_TEXT = 1,     /* the document's text in l->text (the HTML page embeds it) */
	MT_OUT_KEEP_EXT = 2,      /* its sections in l->doc (the text's outline of them) */
};
/* keep: MT_OUT_KEEP_* flags. 0, or -errno with one line on stderr naming
 * path. */
int mt_out_load(const char *path, struct mt_out_loaded *l, unsigned keep);
void mt_out_loaded_free(struct mt_out_loaded *l);

/*
 * The text of a saved report's sections that the text writer does not
 * print from the model (every top-level member but the core ones it reads
 * back: target, totals, calls, rates, sites, leaks, ...), so
 * `memtrace report A.json --text` shows memory, pools, go, budget, the
 * analyses, reachability, processes and modules, and sections newer than
 * this reader. A generic outline, not each section's own live text: a
 * heading per section; scalars as "key: value" (bytes, ns, s humanized
 * by the key's name, the exact number after); nested objects indented;
 * arrays of objects as aligned rows of their scalar members (records
 * when too wide), at most top of them then "... N more"; "stack" arrays
 * as frame lines of at most max_frames. Any shape is rendered, none
 * trusted. 0 or -EIO on a write error.
 */
int mt_out_text_ext(FILE *f, const struct mt_jv *doc, unsigned top, unsigned max_frames);

/* memtrace report A.json [--pprof F] [--folded F [--weight W]] [--html F] [--text]
 * [--sort S] [--top N] [-o F]: exit status. */
int mt_out_main(int argc, char **argv);

#endif /* MT_OUT_H */
