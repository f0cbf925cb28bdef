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

/*
 * A report read back from JSON (versions 1 to MT_REPORT_VERSION). r holds sites, leaks,
 * totals, calls, rates, target and sampling as the writer had them; the
 * strings are owned by the loaded report. Extension sections are not read
 * back (the text of a loaded report lacks them).
 */
struct mt_out_loaded {
	struct mt_report r;
	unsigned version;
	char **strs;              /* every string the frames point to */
	size_t nstrs, cap;
	char *ep_names[MT_AGG_MAX_EPS];
	double *growth;           /* site id -> trend slope (bytes/s), for --sort growth */
	size_t ngrowth;
	char *text;               /* the document as read, with keep_text (--html) */
	size_t text_len;
};
/* 0, or -errno with one line on stderr naming path. keep_text: keep the
 * document's text in l->text (the HTML page embeds it whole). */
int mt_out_load(const char *path, struct mt_out_loaded *l, bool keep_text);
void mt_out_loaded_free(struct mt_out_loaded *l);

/* memtrace report A.json [--pprof F] [--folded F [--weight W]] [--html F] [--text]
 * [--sort S] [--top N] [-o F]: exit status. */
int mt_out_main(int argc, char **argv);

#endif /* MT_OUT_H */
