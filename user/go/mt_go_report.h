/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The report's "go" section: one object, one writer function per part, so
 * a part added by another module (the GC's "gc", "memstats") is one field
 * here and one call in mt_go_report_json / mt_go_report_text.
 * docs/report-format.md describes the fields.
 */
#ifndef MT_GO_REPORT_H
#define MT_GO_REPORT_H

#include <stdbool.h>
#include <stdio.h>

struct mt_json;
struct mt_report;
struct mt_go_info;
struct mt_go_heap;
struct mt_go_gc;

struct mt_go_report {
	const struct mt_go_info *info;   /* always */
	const struct mt_go_heap *heap;   /* mallocgc figures; NULL when not traced */
	const char *heap_off;            /* why not traced, for the report; NULL */
	const struct mt_go_gc *gc;       /* GC cycles, MemStats (mt_go_gc); NULL when not traced */
	unsigned top;                    /* sites in the text, 0: 10 */
	unsigned max_frames;             /* frames per site in the text, 0: 8 */
};

/* The whole "go" object (an mt_report_json_fn): the parts below in order. */
int mt_go_report_json(struct mt_json *j, void *arg);
/* Its parts: "version", "version_known", "note" / the mallocgc figures:
 * "heap_traced", "allocs", "bytes", rates, "types", "sites". */
void mt_go_report_json_version(struct mt_json *j, const struct mt_go_info *gi);
void mt_go_report_json_heap(struct mt_json *j, const struct mt_go_heap *h, const char *off);

/* The text section (an mt_report_text_fn), final report only. */
int mt_go_report_text(FILE *f, const struct mt_report *r, bool final, void *arg);
void mt_go_report_text_heap(FILE *f, const struct mt_go_report *gr);

#endif /* MT_GO_REPORT_H */
