// SPDX-License-Identifier: BSD-2-Clause
/*
 * The pools in a report: the "pools" JSON array (docs/report-format.md),
 * "pool_events" (debug-mode errors and, with --pool-events, pool leaks by
 * get stack), the text section and the --listen metrics.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "pools/mt_pools_int.h"
#include "report/mt_report.h"
#include "util/mt_fmt.h"
#include "util/mt_time.h"

static void json_counters(struct mt_json *j, const struct mt_pool *pl)
{
	const struct mt_pool_stats *st = &pl->st;

	mt_json_key_u64(j, "gets", st->gets);
	mt_json_key_u64(j, "puts", st->puts);
	mt_json_key_u64(j, "hits", st->hits);
	mt_json_key_u64(j, "misses", st->misses);
	mt_json_key_u64(j, "checked_out", st->live);
	mt_json_key_u64(j, "idle", st->cached);
	mt_json_key_u64(j, "bytes_reserved", st->bytes_reserved);
	mt_json_key_u64(j, "peak_checked_out", pl->peak_checked_out);
	mt_json_key_double_or_null(j, "hit_rate", st->gets,
				   st->gets ? (double)st->hits / (double)st->gets : 0);
}

int mt_pools_write_json(struct mt_json *j, void *arg)
{
	struct mt_pools *p = arg;

	mt_json_arr_begin(j);
	for (size_t i = 0; i < p->npools; i++) {
		const struct mt_pool *pl = &p->pools[i];

		mt_json_obj_begin(j);
		mt_json_key_str(j, "name", pl->name);
		mt_json_key_str(j, "kind", pl->kind);
		mt_json_key_u64(j, "object_size", pl->obj_size);
		json_counters(j, pl);
		mt_json_key_u64(j, "refills", pl->prov->slow_in_memory ? pl->st.refills :
							      pl->slow.refills);
		mt_json_key_u64(j, "flushes", pl->prov->slow_in_memory ? pl->st.flushes :
							      pl->slow.flushes);
		mt_json_key_u64(j, "budget_denied", pl->st.budget_denied);
		mt_json_key_str(j, "provider", pl->prov->provider);
		mt_json_key(j, "address");
		mt_json_hex(j, pl->addr);
		mt_json_key(j, "destroyed");
		mt_json_bool(j, pl->destroyed);
		mt_json_key_str(j, "read_error", pl->read_err ? strerror(-pl->read_err) : NULL);
		mt_json_key_u64(j, "idle_heap_objects", pl->claimed_objects);
		mt_json_key_u64(j, "idle_heap_bytes", pl->claimed_bytes);
		mt_json_key(j, "timeline");
		mt_json_arr_begin(j);
		for (size_t k = 0; k < pl->ntl; k++) {
			const struct mt_pool_point *pt = &pl->tl[k];

			mt_json_obj_begin(j);
			mt_json_key_double(j, "t", (double)pt->t_ms / 1000.0);
			mt_json_key_u64(j, "checked_out", pt->checked_out);
			mt_json_key_u64(j, "idle", pt->idle);
			mt_json_key_u64(j, "bytes_reserved", pt->bytes_reserved);
			mt_json_obj_end(j);
		}
		mt_json_arr_end(j);
		mt_json_obj_end(j);
	}
	mt_json_arr_end(j);
	return j->err;
}

static void json_stack(struct mt_json *j, struct mt_pools *p, uint32_t site)
{
	struct mt_report_stack st;

	mt_json_key(j, "stack");
	if (mt_report_stack_get(&st, p->stacks, p->sym, site)) {
		mt_json_null(j);
		return;
	}
	mt_report_json_stack(j, &st);
	mt_report_stack_release(&st);
}

int mt_pools_write_errors_json(struct mt_json *j, void *arg)
{
	struct mt_pools *p = arg;
	struct mt_leak *lk = NULL;
	int n = 0;

	mt_json_obj_begin(j);
	mt_json_key_u64(j, "lost", mt_pools_lost(p));
	mt_json_key(j, "errors");
	mt_json_arr_begin(j);
	for (size_t i = 0; i < p->nerrs; i++) {
		const struct mt_pool_err *e = &p->errs[i];

		mt_json_obj_begin(j);
		mt_json_key_str(j, "error", e->what);
		mt_json_key_str(j, "pool", e->name);
		mt_json_key(j, "address");
		mt_json_hex(j, e->addr);
		mt_json_key_u64(j, "count", e->count);
		json_stack(j, p, e->site);
		mt_json_obj_end(j);
	}
	mt_json_arr_end(j);
	mt_json_key(j, "leaks");
	if (!p->events) {
		mt_json_null(j);   /* needs --pool-events */
	} else {
		n = mt_agg_leaks(p->stacks, mt_now_ns(), 0, &lk);
		mt_json_arr_begin(j);
		for (int i = 0; i < n; i++) {
			mt_json_obj_begin(j);
			mt_json_key_u64(j, "objects", lk[i].objects);
			mt_json_key_u64(j, "bytes", lk[i].bytes);
			json_stack(j, p, lk[i].site);
			mt_json_obj_end(j);
		}
		mt_json_arr_end(j);
		free(lk);
	}
	mt_json_obj_end(j);
	return n < 0 ? n : j->err;
}

int mt_pools_write_text(FILE *f, void *arg)
{
	struct mt_pools *p = arg;
	struct mt_leak *lk = NULL;
	char b1[32], b2[32];
	int n;

	uint64_t lost = mt_pools_lost(p);

	fprintf(f, "\nPools (%zu, read from the pools' own counters):\n", p->npools);
	if (lost)
		fprintf(f, "  %llu pool records or slow-path counts lost: errors, pool leaks and "
			"refills/flushes are short\n", (unsigned long long)lost);
	fprintf(f, "  %-20s %-6s %6s %10s %9s %8s %8s %9s %10s\n", "name", "kind", "size", "gets",
		"hit rate", "out", "idle", "peak out", "reserved");
	for (size_t i = 0; i < p->npools; i++) {
		const struct mt_pool *pl = &p->pools[i];
		char rate[16] = "-";

		if (pl->st.gets)
			snprintf(rate, sizeof(rate), "%.1f%%", 100.0 * (double)pl->st.hits / (double)pl->st.gets);
		fprintf(f, "  %-20.20s %-6.6s %6" PRIu64 " %10" PRIu64 " %9s %8" PRIu64 " %8" PRIu64
			" %9" PRIu64 " %10s%s\n", pl->name, pl->kind, pl->obj_size, (uint64_t)pl->st.gets, rate,
			(uint64_t)pl->st.live, (uint64_t)pl->st.cached, pl->peak_checked_out,
			mt_fmt_bytes(b1, sizeof(b1), pl->st.bytes_reserved),
			pl->destroyed ? " (destroyed)" : pl->read_err ? " (unreadable)" : "");
		if (pl->claimed_objects)
			fprintf(f, "    %" PRIu64 " idle objects (%s) held by the pool: not live, not leaks\n",
				pl->claimed_objects, mt_fmt_bytes(b2, sizeof(b2), pl->claimed_bytes));
	}
	for (size_t i = 0; i < p->nerrs; i++) {
		const struct mt_pool_err *e = &p->errs[i];
		struct mt_report_stack st;

		fprintf(f, "  pool error: %s in pool '%s' at 0x%" PRIx64 " (%" PRIu64 "x)\n", e->what,
			e->name, e->addr, e->count);
		if (!mt_report_stack_get(&st, p->stacks, p->sym, e->site)) {
			mt_report_text_stack(f, &st, 8);
			mt_report_stack_release(&st);
		}
	}
	if (!p->events)
		return ferror(f) ? -EIO : 0;
	n = mt_agg_leaks(p->stacks, mt_now_ns(), 0, &lk);
	for (int i = 0; i < n; i++) {
		struct mt_report_stack st;

		fprintf(f, "  pool leak: %" PRIu64 " objects (%s) got here, never put back\n",
			lk[i].objects, mt_fmt_bytes(b1, sizeof(b1), lk[i].bytes));
		if (!mt_report_stack_get(&st, p->stacks, p->sym, lk[i].site)) {
			mt_report_text_stack(f, &st, 8);
			mt_report_stack_release(&st);
		}
	}
	free(lk);
	return n < 0 ? n : ferror(f) ? -EIO : 0;
}

int mt_pools_write_metrics(struct mt_prom *pr, void *arg)
{
	struct mt_pools *p = arg;
	static const struct { const char *name, *type, *help; } m[] = {
		{ "memtrace_pool_gets_total", "counter", "Objects handed out by the pool." },
		{ "memtrace_pool_puts_total", "counter", "Objects returned to the pool." },
		{ "memtrace_pool_hits_total", "counter", "Gets served from the pool's caches." },
		{ "memtrace_pool_misses_total", "counter", "Gets that created an object." },
		{ "memtrace_pool_checked_out", "gauge", "Objects handed out and not returned." },
		{ "memtrace_pool_idle", "gauge", "Objects the pool holds ready for reuse." },
		{ "memtrace_pool_bytes_reserved", "gauge", "Bytes the pool took from the system." },
	};

	/* The counters of the session tick's mt_pools_sample, just before. */
	for (size_t k = 0; k < sizeof(m) / sizeof(m[0]); k++) {
		mt_prom_header(pr, m[k].name, m[k].type, m[k].help);
		for (size_t i = 0; i < p->npools; i++) {
			const struct mt_pool *pl = &p->pools[i];
			const uint64_t v[] = { pl->st.gets, pl->st.puts, pl->st.hits, pl->st.misses,
					       pl->st.live, pl->st.cached, pl->st.bytes_reserved };
			char addr[24];
			const char *labels[] = { "pool", pl->name, "kind", pl->kind, "address", addr, NULL };

			if (pl->destroyed)
				continue;
			snprintf(addr, sizeof(addr), "0x%" PRIx64, pl->addr);
			mt_prom_u64(pr, m[k].name, labels, v[k]);
		}
	}
	return pr->err;
}
