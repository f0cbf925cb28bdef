// SPDX-License-Identifier: BSD-2-Clause
/*
 * Reachability in the report: the lost/reachable split of each leak entry
 * (fields of the report model, so text and JSON agree) and the
 * "reachability" section: how long the target was paused and what was
 * scanned. Fields documented in docs/report-format.md.
 */
#include <errno.h>
#include <inttypes.h>
#include "util/mt_json.h"
#include "reach/mt_reach.h"
#include "report/mt_report.h"

static int reach_json(struct mt_json *j, void *arg)
{
	const struct mt_reach_stats *st = mt_reach_stats(arg);

	mt_json_obj_begin(j);
	mt_json_key(j, "pause_ms");
	mt_json_double(j, st->pause_ms);
	mt_json_key(j, "scan_ms");
	mt_json_double(j, st->scan_ms);
	mt_json_key_u64(j, "threads", st->threads);
	mt_json_key_u64(j, "root_regions", st->root_regions);
	mt_json_key_u64(j, "roots_bytes", st->roots_bytes);
	mt_json_key_u64(j, "heap_regions", st->heap_regions);
	mt_json_key_u64(j, "blocks", st->blocks);
	mt_json_key_u64(j, "blocks_scanned", st->blocks_scanned);
	mt_json_key_u64(j, "heap_bytes_scanned", st->heap_bytes_scanned);
	mt_json_key_u64(j, "unreadable_bytes", st->unreadable_bytes);
	mt_json_key_u64(j, "lost_objects", st->all.lost_objects);
	mt_json_key_u64(j, "lost_bytes", st->all.lost_bytes);
	mt_json_key_u64(j, "reachable_objects", st->all.reachable_objects);
	mt_json_key_u64(j, "reachable_bytes", st->all.reachable_bytes);
	mt_json_obj_end(j);
	return 0;
}

static int reach_text(FILE *f, const struct mt_report *r, bool final, void *arg)
{
	const struct mt_reach_stats *st = mt_reach_stats(arg);

	if (!final)
		return 0;
	fprintf(f, "reachability: target paused %.1f ms; %" PRIu64 " threads, %" PRIu64
		" root bytes in %" PRIu64 " regions, %" PRIu64 " of %" PRIu64 " live blocks scanned\n",
		st->pause_ms, st->threads, st->roots_bytes, st->root_regions,
		st->blocks_scanned, st->blocks);
	fprintf(f, "  all live blocks: definitely lost %" PRIu64 " (%" PRIu64 " bytes), "
		"still reachable %" PRIu64 " (%" PRIu64 " bytes)\n",
		st->all.lost_objects, st->all.lost_bytes, st->all.reachable_objects,
		st->all.reachable_bytes);
	if (st->unreadable_bytes)
		fprintf(f, "  %" PRIu64 " bytes could not be read (pointers there were not seen)\n",
			st->unreadable_bytes);
	return 0;
}

int mt_reach_report(struct mt_reach *r, struct mt_report *rep)
{
	size_t i;

	for (i = 0; i < rep->nleaks; i++) {
		struct mt_report_site *l = &rep->leaks[i];
		struct mt_reach_counts c = mt_reach_site(r, l->site);

		l->lost_objects = c.lost_objects;
		l->lost_bytes = c.lost_bytes;
		l->reachable_objects = c.reachable_objects;
		l->reachable_bytes = c.reachable_bytes;
		rep->lost_objects += c.lost_objects;
		rep->lost_bytes += c.lost_bytes;
		rep->reachable_objects += c.reachable_objects;
		rep->reachable_bytes += c.reachable_bytes;
	}
	rep->reach = true;
	return mt_report_add_extra(rep, "reachability", reach_json, reach_text, r);
}
