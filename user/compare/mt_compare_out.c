// SPDX-License-Identifier: BSD-2-Clause
/* memtrace compare's text and JSON (docs/compare.md, docs/report-format.md). */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compare/mt_compare.h"
#include "util/mt_fmt.h"
#include "util/mt_json.h"
#include "util/mt_json_read.h"

/* How each metric is shown: decimals, and whether it is bytes. */
static const struct {
	const char *title;
	int decimals;
	bool bytes;
} shown[MT_CMP_METRICS] = {
	[MT_CMP_CALLS] = { "allocator calls", 0, false },
	[MT_CMP_CALLS_PER_S] = { "calls/s", 0, false },
	[MT_CMP_ALLOCS_FREES] = { "allocs + frees", 0, false },
	[MT_CMP_ALLOC_BYTES] = { "bytes allocated", 0, true },
	[MT_CMP_PEAK_LIVE] = { "peak live bytes", 0, true },
	[MT_CMP_LEAK_BYTES] = { "leaked bytes", 0, true },
	[MT_CMP_PEAK_RSS] = { "peak RSS", 0, true },
	[MT_CMP_FAULTS] = { "page faults", 0, false },
	[MT_CMP_CPU_S] = { "CPU s (user+sys)", 3, false },
	[MT_CMP_WALL_S] = { "wall s", 3, false },
	[MT_CMP_CPU_UNTRACED_S] = { "CPU s, untraced", 3, false },
	[MT_CMP_WALL_UNTRACED_S] = { "wall s, untraced", 3, false },
	[MT_CMP_PEAK_RSS_UNTRACED] = { "peak RSS, untraced", 0, true },
};

/* 1234567 -> "1,234,567"; decimals > 0 keep a fraction. */
static const char *num(char *buf, size_t n, double v, int decimals)
{
	char raw[64], *p = raw, *dot;
	size_t len, digits, i, o = 0;

	snprintf(raw, sizeof(raw), "%.*f", decimals, v);
	if (*p == '-')
		buf[o++] = *p++;
	dot = strchr(p, '.');
	digits = dot ? (size_t)(dot - p) : strlen(p);
	for (i = 0; i < digits && o + 2 < n; i++) {
		buf[o++] = p[i];
		if ((digits - i - 1) % 3 == 0 && i + 1 < digits)
			buf[o++] = ',';
	}
	len = strlen(p + digits);
	if (o + len < n) {
		memcpy(buf + o, p + digits, len);
		o += len;
	}
	buf[o] = 0;
	return buf;
}

static const char *val(char *buf, size_t n, enum mt_cmp_metric k, double v)
{
	if (shown[k].bytes && v >= 0)
		return mt_fmt_bytes(buf, n, (uint64_t)v);
	if (shown[k].bytes) {   /* a negative delta */
		buf[0] = '-';
		mt_fmt_bytes(buf + 1, n - 1, (uint64_t)-v);
		return buf;
	}
	return num(buf, n, v, shown[k].decimals);
}

static void env_line(FILE *f, const char *name, const struct mt_cmp_side *s)
{
	size_t i;

	fprintf(f, "  %s = %s:", name, s->label);
	if (!s->nenv)
		fputs(" (environment as is)", f);
	for (i = 0; i < s->nenv; i++)
		fprintf(f, strchr(s->env[i], '=') ? " %s" : " -u %s", s->env[i]);
	fputc('\n', f);
}

/* Up to 4 functions of a key, innermost first: "f < g < h < i". */
static void site_name(FILE *f, const char *key)
{
	int i;

	for (i = 0; i < 4 && key; i++) {
		size_t n;
		const char *fn = mt_cmp_key_func(key, &n);

		fprintf(f, "%s%.*s", i ? " < " : "", (int)n, fn);
		key = strchr(key, '\n');
		if (key)
			key++;
	}
}

static void pools_text(FILE *f, const char *label, const struct mt_jv *pools)
{
	size_t i;

	if (!pools || pools->type != MT_JV_ARR || !pools->n)
		return;
	fprintf(f, "\npools in %s:\n  %-20s %-12s %8s %12s %9s %10s %12s %12s\n", label, "name", "kind",
		"obj size", "gets", "hit rate", "idle", "idle bytes", "reserved");
	for (i = 0; i < pools->n; i++) {
		const struct mt_jv *p = &pools->items[i];
		uint64_t size = 0, gets = 0, idle = 0, res = 0, idle_bytes;
		double hit = 0;
		char b1[32], b2[32], b3[32], b4[32];

		mt_jv_u64(p, "object_size", &size);
		mt_jv_u64(p, "gets", &gets);
		mt_jv_u64(p, "idle", &idle);
		mt_jv_u64(p, "bytes_reserved", &res);
		mt_jv_num(p, "hit_rate", &hit);
		/* the idle objects' bytes: what the report measured, else
		 * their count times the object size */
		if (!mt_jv_u64(p, "idle_heap_bytes", &idle_bytes))
			idle_bytes = idle * size;
		fprintf(f, "  %-20s %-12s %8" PRIu64 " %12s %8.1f%% %10s %12s %12s\n",
			mt_jv_str(p, "name") ? mt_jv_str(p, "name") : "?",
			mt_jv_str(p, "kind") ? mt_jv_str(p, "kind") : "?", size,
			num(b1, sizeof(b1), (double)gets, 0), hit * 100, num(b2, sizeof(b2), (double)idle, 0),
			mt_fmt_bytes(b4, sizeof(b4), idle_bytes), mt_fmt_bytes(b3, sizeof(b3), res));
	}
}

int mt_cmp_text(FILE *f, const struct mt_cmp *c, unsigned top)
{
	const char *la = c->a->label, *lb = c->b->label;
	char b1[40], b2[40], b3[40], b4[40], b5[40], b6[40], b7[40];
	size_t i;
	char **arg;

	fputs("memtrace compare:", f);
	for (arg = c->cmd; *arg; arg++)
		fprintf(f, " %s", *arg);
	fprintf(f, "\n  %zu round(s) each, alternating; medians [min .. max]; B - A of the medians\n",
		c->a->nrounds);
	env_line(f, "A", c->a);
	env_line(f, "B", c->b);
	fprintf(f, "\n%-18s %-36s %-36s %14s %8s\n", "", la, lb, "B - A", "B / A");
	for (i = 0; i < MT_CMP_METRICS; i++) {
		const struct mt_cmp_stat *sa = &c->stat[0][i], *sb = &c->stat[1][i];
		char ra[80], rb[80];

		if (!sa->known || !sb->known)
			continue;
		snprintf(ra, sizeof(ra), "%s [%s .. %s]", val(b1, sizeof(b1), i, sa->median),
			 val(b2, sizeof(b2), i, sa->min), val(b3, sizeof(b3), i, sa->max));
		snprintf(rb, sizeof(rb), "%s [%s .. %s]", val(b4, sizeof(b4), i, sb->median),
			 val(b5, sizeof(b5), i, sb->min), val(b6, sizeof(b6), i, sb->max));
		fprintf(f, "%-18s %-36s %-36s %14s", shown[i].title, ra, rb,
			val(b7, sizeof(b7), i, sb->median - sa->median));
		if (sa->median != 0)
			fprintf(f, " %8.3f\n", sb->median / sa->median);
		else
			fputs("        -\n", f);
	}
	if (!c->stat[0][MT_CMP_CPU_UNTRACED_S].known)
		fputs("  (CPU and wall time are under trace: every allocator call pays a probe, so they\n"
		      "   overstate what fewer calls save; --untraced also times runs without probes)\n", f);

	if (c->nadvice) {
		fprintf(f, "\npool advice for %s (round %zu), achieved by %s (round %zu), allocs + frees:\n",
			la, c->med[0] + 1, lb, c->med[1] + 1);
		for (i = 0; i < c->nadvice; i++) {
			const struct mt_cmp_advice *x = &c->advice[i];

			fprintf(f, "  %s at %s: predicted %s calls/s saved, achieved %s", x->pool, x->where,
				num(b1, sizeof(b1), x->predicted_per_s, 0),
				num(b2, sizeof(b2), x->achieved_per_s, 0));
			if (c->a->nrounds > 1 && c->b->nrounds > 1)
				fprintf(f, " [%s .. %s]", num(b5, sizeof(b5), x->achieved_min, 0),
					num(b6, sizeof(b6), x->achieved_max, 0));
			fprintf(f, " (%s of %s calls in the run",
				num(b3, sizeof(b3), (double)x->achieved_calls, 0),
				num(b4, sizeof(b4), x->predicted_calls, 0));
			if (x->predicted_calls > 0)
				fprintf(f, ", %.1f%%", 100.0 * (double)x->achieved_calls / x->predicted_calls);
			fputs(")\n", f);
		}
	} else {
		fprintf(f, "\nno pool advice for %s\n", la);
	}

	if (c->nsites && top) {
		fprintf(f, "\nsites changed most, %s round %zu vs %s round %zu, matched by stack (allocs + frees):\n",
			la, c->med[0] + 1, lb, c->med[1] + 1);
		for (i = 0; i < c->nsites && i < top; i++) {
			const struct mt_cmp_site *s = &c->sites[i];
			int64_t d = (int64_t)(s->b[0] + s->b[1]) - (int64_t)(s->a[0] + s->a[1]);

			if (!d)
				break;
			fprintf(f, "  %14s  %12s -> %-12s  ", num(b1, sizeof(b1), (double)d, 0),
				s->in_a ? num(b2, sizeof(b2), (double)(s->a[0] + s->a[1]), 0) : "-",
				s->in_b ? num(b3, sizeof(b3), (double)(s->b[0] + s->b[1]), 0) : "-");
			site_name(f, s->key);
			fputc('\n', f);
		}
	}
	pools_text(f, la, mt_jv_get(c->docs[0], "pools"));
	pools_text(f, lb, mt_jv_get(c->docs[1], "pools"));
	fflush(f);
	return ferror(f) ? -EIO : 0;
}

/* A kept JSON value written back. */
static void jv_write(struct mt_json *j, const struct mt_jv *v)
{
	size_t i;

	switch (v->type) {
	case MT_JV_NULL: mt_json_null(j); break;
	case MT_JV_BOOL: mt_json_bool(j, v->b); break;
	case MT_JV_NUM:
		if (v->is_u64)
			mt_json_u64(j, v->u);
		else
			mt_json_double(j, v->d);
		break;
	case MT_JV_STR: mt_json_str(j, v->s); break;
	case MT_JV_ARR:
		mt_json_arr_begin(j);
		for (i = 0; i < v->n; i++)
			jv_write(j, &v->items[i]);
		mt_json_arr_end(j);
		break;
	case MT_JV_OBJ:
		mt_json_obj_begin(j);
		for (i = 0; i < v->n; i++) {
			mt_json_key(j, v->keys[i]);
			jv_write(j, &v->items[i]);
		}
		mt_json_obj_end(j);
		break;
	}
}

static void side_json(struct mt_json *j, const struct mt_cmp *c, int side)
{
	const struct mt_cmp_side *s = side ? c->b : c->a;
	const struct mt_jv *pools = mt_jv_get(c->docs[side], "pools");
	size_t i;

	mt_json_obj_begin(j);
	mt_json_key_str(j, "label", s->label);
	mt_json_key(j, "env");
	mt_json_arr_begin(j);
	for (i = 0; i < s->nenv; i++)
		mt_json_str(j, s->env[i]);
	mt_json_arr_end(j);
	mt_json_key_u64(j, "median_round", c->med[side] + 1);
	mt_json_key(j, "rounds");
	mt_json_arr_begin(j);
	for (i = 0; i < s->nrounds; i++) {
		const struct mt_cmp_round *r = &s->rounds[i];

		mt_json_obj_begin(j);
		mt_json_key_str(j, "report", c->reports_kept ? r->json_path : NULL);
		mt_json_key_double(j, "wall_s", r->wall_s);
		mt_json_key(j, "rusage");
		if (r->has_rusage) {
			mt_json_obj_begin(j);
			mt_json_key_double(j, "user_s", r->user_s);
			mt_json_key_double(j, "sys_s", r->sys_s);
			mt_json_key_u64(j, "peak_rss_bytes", r->maxrss_bytes);
			mt_json_key_u64(j, "minflt", r->minflt);
			mt_json_key_u64(j, "majflt", r->majflt);
			mt_json_obj_end(j);
		} else {
			mt_json_null(j);
		}
		mt_json_key(j, "untraced");
		if (r->untraced.ran) {
			mt_json_obj_begin(j);
			mt_json_key_double(j, "wall_s", r->untraced.wall_s);
			mt_json_key_double(j, "user_s", r->untraced.user_s);
			mt_json_key_double(j, "sys_s", r->untraced.sys_s);
			mt_json_key_u64(j, "peak_rss_bytes", r->untraced.maxrss_bytes);
			mt_json_key_u64(j, "minflt", r->untraced.minflt);
			mt_json_key_u64(j, "majflt", r->untraced.majflt);
			mt_json_obj_end(j);
		} else {
			mt_json_null(j);
		}
		mt_json_obj_end(j);
	}
	mt_json_arr_end(j);
	mt_json_key(j, "pools");
	if (pools)
		jv_write(j, pools);
	else
		mt_json_null(j);
	mt_json_obj_end(j);
}

int mt_cmp_json(FILE *f, const struct mt_cmp *c)
{
	struct mt_json j;
	size_t i;
	char **arg;

	mt_json_init(&j, f);
	mt_json_obj_begin(&j);
	mt_json_key_u64(&j, "version", 1);
	mt_json_key(&j, "command");
	mt_json_arr_begin(&j);
	for (arg = c->cmd; *arg; arg++)
		mt_json_str(&j, *arg);
	mt_json_arr_end(&j);
	mt_json_key_u64(&j, "repeat", c->a->nrounds);
	mt_json_key(&j, "a");
	side_json(&j, c, 0);
	mt_json_key(&j, "b");
	side_json(&j, c, 1);
	mt_json_key(&j, "metrics");
	mt_json_obj_begin(&j);
	for (i = 0; i < MT_CMP_METRICS; i++) {
		int s;

		mt_json_key(&j, mt_cmp_metric_names[i]);
		if (!c->stat[0][i].known || !c->stat[1][i].known) {
			mt_json_null(&j);
			continue;
		}
		mt_json_obj_begin(&j);
		for (s = 0; s < 2; s++) {
			const struct mt_cmp_stat *st = &c->stat[s][i];

			mt_json_key(&j, s ? "b" : "a");
			mt_json_obj_begin(&j);
			mt_json_key_double(&j, "median", st->median);
			mt_json_key_double(&j, "min", st->min);
			mt_json_key_double(&j, "max", st->max);
			mt_json_obj_end(&j);
		}
		mt_json_key_double(&j, "delta", c->stat[1][i].median - c->stat[0][i].median);
		mt_json_obj_end(&j);
	}
	mt_json_obj_end(&j);
	mt_json_key(&j, "advice");
	mt_json_arr_begin(&j);
	for (i = 0; i < c->nadvice; i++) {
		const struct mt_cmp_advice *x = &c->advice[i];

		mt_json_obj_begin(&j);
		mt_json_key_str(&j, "pool", x->pool);
		mt_json_key_str(&j, "function", x->where);
		mt_json_key_str(&j, "stack_key", x->key);
		mt_json_key_double(&j, "predicted_calls_saved_per_s", x->predicted_per_s);
		mt_json_key_double(&j, "predicted_calls_saved", x->predicted_calls);
		mt_json_key_u64(&j, "calls_a", x->calls_a);
		mt_json_key_u64(&j, "calls_b", x->calls_b);
		mt_json_key_double(&j, "achieved_calls_saved_per_s", x->achieved_per_s);
		mt_json_key_double(&j, "achieved_calls_saved_per_s_min", x->achieved_min);
		mt_json_key_double(&j, "achieved_calls_saved_per_s_max", x->achieved_max);
		mt_json_key(&j, "achieved_calls_saved");
		mt_json_i64(&j, x->achieved_calls);
		mt_json_obj_end(&j);
	}
	mt_json_arr_end(&j);
	mt_json_key(&j, "sites");
	mt_json_arr_begin(&j);
	for (i = 0; i < c->nsites; i++) {
		static const char *const names[4] = { "allocs", "frees", "alloc_bytes", "peak_live_bytes" };
		const struct mt_cmp_site *s = &c->sites[i];
		int k, side;

		mt_json_obj_begin(&j);
		mt_json_key_str(&j, "stack_key", s->key);
		for (side = 0; side < 2; side++) {
			mt_json_key(&j, side ? "b" : "a");
			if (!(side ? s->in_b : s->in_a)) {
				mt_json_null(&j);
				continue;
			}
			mt_json_obj_begin(&j);
			for (k = 0; k < 4; k++)
				mt_json_key_u64(&j, names[k], side ? s->b[k] : s->a[k]);
			mt_json_obj_end(&j);
		}
		mt_json_obj_end(&j);
	}
	mt_json_arr_end(&j);
	mt_json_obj_end(&j);
	return mt_json_finish(&j);
}
