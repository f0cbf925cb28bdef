// SPDX-License-Identifier: BSD-2-Clause
/*
 * memtrace diff, the model: load and check two reports, pair totals and
 * rates, and match sites by symbolized stack; see mt_diff.h. Cost: O(n log
 * n) in the sites of both reports (a sort by key, then a merge).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include "diff/mt_diff.h"
#include "util/mt_fmt.h"
#include "util/mt_grow.h"
#include "util/mt_log.h"

#define MAX_REPORT_BYTES (1ull << 30)

const char *const mt_diff_site_fields[MT_DIFF_SITE_FIELDS] = {
	[MT_DIFF_S_ALLOCS] = "allocs", [MT_DIFF_S_FREES] = "frees",
	[MT_DIFF_S_ALLOC_BYTES] = "alloc_bytes", [MT_DIFF_S_FREE_BYTES] = "free_bytes",
	[MT_DIFF_S_LIVE_OBJECTS] = "live_objects", [MT_DIFF_S_LIVE_BYTES] = "live_bytes",
	[MT_DIFF_S_PEAK_LIVE_BYTES] = "peak_live_bytes",
	[MT_DIFF_S_LEAK_OBJECTS] = "leak_objects", [MT_DIFF_S_LEAK_BYTES] = "leak_bytes",
};
#define SITE_OWN MT_DIFF_S_LEAK_OBJECTS   /* fields read from the entry itself */

const char *const mt_diff_total_fields[MT_DIFF_TOTALS] = {
	[MT_DIFF_T_ALLOCS] = "allocs", [MT_DIFF_T_FREES] = "frees",
	[MT_DIFF_T_ALLOC_BYTES] = "alloc_bytes", [MT_DIFF_T_FREE_BYTES] = "free_bytes",
	[MT_DIFF_T_LIVE_OBJECTS] = "live_objects", [MT_DIFF_T_LIVE_BYTES] = "live_bytes",
	[MT_DIFF_T_PEAK_LIVE_BYTES] = "peak_live_bytes",
	[MT_DIFF_T_UNTRACKED_FREES] = "untracked_frees", [MT_DIFF_T_FAILED_ALLOCS] = "failed_allocs",
	[MT_DIFF_T_STALE_REPLACED] = "stale_replaced", [MT_DIFF_T_LOST_EVENTS] = "lost_events",
	[MT_DIFF_T_LEAK_OBJECTS] = "leak_objects", [MT_DIFF_T_LEAK_BYTES] = "leak_bytes",
};
#define TOTALS_OWN MT_DIFF_T_LOST_EVENTS  /* fields of "totals" */

const char *const mt_diff_rate_fields[MT_DIFF_RATES] = {
	[MT_DIFF_R_DURATION_S] = "duration_s", [MT_DIFF_R_ALLOCS_PER_S] = "allocs_per_s",
	[MT_DIFF_R_BYTES_PER_S] = "bytes_per_s", [MT_DIFF_R_FREES_PER_S] = "frees_per_s",
};

/* Growable string. */
struct buf {
	char *s;
	size_t n, cap;
	int err;
};

static void put(struct buf *b, const char *s)
{
	size_t n = strlen(s);

	if (b->err)
		return;
	if ((b->err = MT_GROW(b->s, b->n + n + 1, b->cap)))
		return;
	memcpy(b->s + b->n, s, n + 1);
	b->n += n;
}

int mt_diff_stack_key(const struct mt_jv *stack, char **out)
{
	struct buf b = { 0 };
	size_t i;

	*out = NULL;
	if (!stack || stack->type != MT_JV_ARR || !stack->n) {
		*out = strdup("(no stack)");
		return *out ? 0 : -ENOMEM;
	}
	for (i = 0; i < stack->n; i++) {
		const struct mt_jv *f = &stack->items[i];
		const char *func = mt_jv_str(f, "func"), *mod = mt_jv_str(f, "module");
		const char *file = mt_jv_str(f, "file"), *moff = mt_jv_str(f, "module_off");
		const char *addr = mt_jv_str(f, "addr");
		uint64_t line = 0, off = 0;
		char num[48];

		if (i)
			put(&b, "\n");
		if (func) {
			put(&b, func);
			if (file && mt_jv_u64(f, "line", &line)) {
				put(&b, "@");
				put(&b, mod ? mt_basename(mod) : "?");
				put(&b, ":");
				put(&b, mt_basename(file));
				snprintf(num, sizeof(num), ":%" PRIu64, line);
				put(&b, num);
			} else {
				mt_jv_u64(f, "func_off", &off);
				snprintf(num, sizeof(num), "+0x%" PRIx64 "@", off);
				put(&b, num);
				put(&b, mod ? mt_basename(mod) : "?");
			}
		} else if (mod && moff) {
			put(&b, mt_basename(mod));
			put(&b, "+");
			put(&b, moff);
		} else {
			put(&b, addr ? addr : "?");
		}
	}
	if (b.err) {
		free(b.s);
		return b.err;
	}
	*out = b.s;
	return 0;
}

static char *slurp(const char *path, size_t *len, int *err)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "re") : stdin;
	char *s = NULL;
	size_t cap = 0, n = 0;

	*err = 0;
	if (!f) {
		*err = -errno;
		mt_err("cannot read '%s': %s", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		size_t got;

		/* room for 64 KiB more and the final NUL */
		if (n + 1 >= cap && (*err = MT_GROW(s, n + 1 + (1 << 16), cap))) {
			mt_err("cannot read '%s': %s", path, strerror(-*err));
			break;
		}
		errno = 0;
		got = fread(s + n, 1, cap - n - 1, f);
		n += got;
		if (n > MAX_REPORT_BYTES) {
			*err = -EFBIG;
			mt_err("cannot read '%s': %s", path, strerror(-*err));
			break;
		}
		if (got == 0) {
			if (ferror(f)) {
				/* the read's own cause (EISDIR for a directory), EIO if none */
				*err = errno ? -errno : -EIO;
				mt_err("cannot read '%s': %s", path, strerror(-*err));
			}
			break;
		}
	}
	if (f != stdin)
		fclose(f);
	if (*err) {
		free(s);
		return NULL;
	}
	s[n] = '\0';
	*len = n;
	return s;
}

/* The keys diff relies on, with their types. */
static int check_report(const char *path, const struct mt_jv *v)
{
	const struct mt_jv *t = mt_jv_get(v, "totals"), *ls = mt_jv_get(v, "leak_summary");
	const struct mt_jv *run = mt_jv_get(mt_jv_get(v, "rates"), "run");
	const char *lists[] = { "leaks", "sites" };
	uint64_t ver, x;
	double d;
	size_t i, k;

	/* the entries of "leaks" and "sites" were checked as they streamed by
	 * (take_entry); here the rest */
	if (v->type != MT_JV_OBJ || !mt_jv_get(v, "version")) {
		mt_err("'%s' is not a memtrace report: no \"version\" key", path);
		return -EINVAL;
	}
	if (!mt_jv_u64(v, "version", &ver) || ver != 1) {
		const struct mt_jv *vv = mt_jv_get(v, "version");

		if (vv->type == MT_JV_NUM)
			mt_err("'%s' is a version %g report; this memtrace reads version 1", path, vv->d);
		else
			mt_err("'%s' is not a memtrace report: \"version\" is not a number", path);
		return -EPROTO;
	}
	for (i = 0; i < TOTALS_OWN; i++) {
		if (!mt_jv_u64(t, mt_diff_total_fields[i], &x)) {
			mt_err("'%s' is not a valid memtrace report: \"totals.%s\" is missing or not a count",
			       path, mt_diff_total_fields[i]);
			return -EINVAL;
		}
	}
	if (!mt_jv_u64(v, "lost_events", &x) || !mt_jv_u64(ls, "objects", &x) ||
	    !mt_jv_u64(ls, "bytes", &x) || !mt_jv_num(v, "duration_s", &d)) {
		mt_err("'%s' is not a valid memtrace report: \"lost_events\", \"leak_summary\" or "
		       "\"duration_s\" is missing", path);
		return -EINVAL;
	}
	for (i = MT_DIFF_R_ALLOCS_PER_S; i < MT_DIFF_RATES; i++) {
		if (!mt_jv_num(run, mt_diff_rate_fields[i], &d)) {
			mt_err("'%s' is not a valid memtrace report: \"rates.run.%s\" is missing",
			       path, mt_diff_rate_fields[i]);
			return -EINVAL;
		}
	}
	for (k = 0; k < 2; k++) {
		const struct mt_jv *l = mt_jv_get(v, lists[k]);

		if (!l || l->type != MT_JV_ARR) {
			mt_err("'%s' is not a valid memtrace report: \"%s\" is not an array", path, lists[k]);
			return -EINVAL;
		}
	}
	return 0;
}

/* One entry of a report's "leaks" or "sites", keyed; side 0 fills a[],
 * side 1 fills b[]. */
struct keyed {
	char *key;
	const char *entry;  /* its JSON text, in the input's buffer */
	size_t entry_len;
	int side;
	uint64_t v[MT_DIFF_SITE_FIELDS];
	uint64_t id;       /* site id, UINT64_MAX for null */
	bool leak;         /* from "leaks" */
};

struct mt_diff_input {
	struct mt_jv *doc;        /* the report without its lists' entries */
	struct keyed *v;          /* the entries, streamed out of the lists */
	size_t n, cap;
	const char *name;         /* for messages */
	bool reported;            /* an entry's error was printed */
	char *buf;                /* the text, when read into memory */
	void *map;                /* the text, when mapped */
	size_t map_len;
};

/* What diff reads of a report (mt_diff.c and mt_diff_report.c): the rest
 * (analyses, memory view, per-site extras) is parsed and dropped, so a
 * report's memory here is its sites' stacks and counters. */
/* One entry of "leaks" or "sites" as it streams by: checked, keyed and
 * dropped; only its key, counters and place in the text stay. */
static int take_entry(struct mt_diff_input *in, const struct mt_jv *e, size_t index,
		      const char *text, size_t len, bool leak)
{
	const struct mt_jv *st = mt_jv_get(e, "stack");
	struct keyed *x;
	uint64_t u;
	size_t f;
	int err;

	for (f = 0; f < SITE_OWN; f++)
		if (!mt_jv_u64(e, mt_diff_site_fields[f], &u))
			break;
	if (f < SITE_OWN || !st || st->type != MT_JV_ARR ||
	    !mt_jv_u64(e, "objects", &u) || !mt_jv_u64(e, "bytes", &u)) {
		mt_err("'%s' is not a valid memtrace report: entry %zu of \"%s\" is incomplete",
		       in->name, index, leak ? "leaks" : "sites");
		in->reported = true;
		return -EINVAL;
	}
	if (MT_GROW(in->v, in->n + 1, in->cap))
		return -ENOMEM;
	x = &in->v[in->n];
	memset(x, 0, sizeof(*x));
	err = mt_diff_stack_key(st, &x->key);
	if (err)
		return err;
	in->n++;
	x->entry = text;
	x->entry_len = len;
	x->leak = leak;
	if (!mt_jv_u64(e, "site", &x->id))
		x->id = UINT64_MAX;
	for (f = 0; f < SITE_OWN; f++)
		mt_jv_u64(e, mt_diff_site_fields[f], &x->v[f]);
	if (leak) {
		mt_jv_u64(e, "objects", &x->v[MT_DIFF_S_LEAK_OBJECTS]);
		mt_jv_u64(e, "bytes", &x->v[MT_DIFF_S_LEAK_BYTES]);
	}
	return 0;
}

static int take_leak(void *arg, const struct mt_jv *e, size_t index, const char *text, size_t len)
{
	return take_entry(arg, e, index, text, len, true);
}

static int take_site(void *arg, const struct mt_jv *e, size_t index, const char *text, size_t len)
{
	return take_entry(arg, e, index, text, len, false);
}

/* What diff reads of a report (mt_diff.c and mt_diff_report.c): the rest
 * (analyses, memory view, per-site extras) is parsed and dropped, and the
 * lists' entries stream through take_entry, so a report's memory here is
 * its sites' keys and counters, not its text. */
static const struct mt_jv_keep keep_entry[] = {
	{ .key = "stack" }, { .key = "site" }, { .key = "objects" }, { .key = "bytes" },
	{ .key = "allocs" }, { .key = "frees" }, { .key = "alloc_bytes" }, { .key = "free_bytes" },
	{ .key = "live_objects" }, { .key = "live_bytes" }, { .key = "peak_live_bytes" },
	{ 0 },
};
static const struct mt_jv_keep keep_rates[] = { { .key = "run" }, { 0 } };
/* A Go report's "go" section: what mt_diff_go.c pairs. */
static const struct mt_jv_keep keep_go_entry[] = {
	{ .key = "function" }, { .key = "type" }, { .key = "allocs" }, { .key = "bytes" }, { 0 },
};
static const struct mt_jv_keep keep_go[] = {
	{ .key = "version" }, { .key = "allocs" }, { .key = "bytes" },
	{ .key = "types", .sub = keep_go_entry }, { .key = "sites", .sub = keep_go_entry }, { 0 },
};
static const struct mt_jv_keep keep_report[] = {
	{ .key = "version" }, { .key = "target" }, { .key = "mode" }, { .key = "duration_s" },
	{ .key = "lost_events" }, { .key = "totals" }, { .key = "leak_summary" },
	{ .key = "rates", .sub = keep_rates },
	{ .key = "sites", .sub = keep_entry, .each = take_site },
	{ .key = "leaks", .sub = keep_entry, .each = take_leak },
	{ .key = "go", .sub = keep_go },
	{ 0 },
};
static const struct mt_jv_keep keep_stack[] = { { .key = "stack" }, { 0 } };

void mt_diff_input_free(struct mt_diff_input *in)
{
	size_t i;

	if (!in)
		return;
	for (i = 0; i < in->n; i++)
		free(in->v[i].key);
	free(in->v);
	mt_jv_free(in->doc);
	if (in->map)
		munmap(in->map, in->map_len);
	free(in->buf);
	free(in);
}

const struct mt_jv *mt_diff_input_doc(const struct mt_diff_input *in)
{
	return in->doc;
}

/* Parse in's text (in->map or in->buf, len bytes). 0 or -errno after one
 * line naming the report. */
static int parse_input(struct mt_diff_input *in, const char *text, size_t len)
{
	const struct mt_jv *ls;
	uint64_t listed, stacks;
	char msg[160];
	int err;

	err = mt_jv_parse_keep(text, len, keep_report, in, &in->doc, msg, sizeof(msg));
	if (err && in->reported)
		return err;
	if (err == -ENOMEM) {
		mt_err("cannot read '%s': %s", in->name, strerror(ENOMEM));
		return err;
	}
	if (err) {
		mt_err("cannot read '%s': %s", in->name, len ? msg : "the file is empty");
		return -EINVAL;
	}
	err = check_report(in->name, in->doc);
	if (err)
		return err;
	ls = mt_jv_get(in->doc, "leak_summary");
	if (mt_jv_u64(ls, "listed", &listed) && mt_jv_u64(ls, "stacks", &stacks) && listed < stacks)
		mt_info("note: '%s' lists %" PRIu64 " of %" PRIu64 " leak stacks (--json-leaks): "
			"a leak it leaves out compares as zero", in->name, listed, stacks);
	return 0;
}

int mt_diff_load_buf(const char *name, const char *text, size_t len, struct mt_diff_input **out)
{
	struct mt_diff_input *in = calloc(1, sizeof(*in));
	int err;

	*out = NULL;
	if (!in) {
		mt_err("cannot read '%s': %s", name, strerror(ENOMEM));
		return -ENOMEM;
	}
	in->name = name;
	err = parse_input(in, text, len);
	if (err) {
		mt_diff_input_free(in);
		return err;
	}
	*out = in;
	return 0;
}

/* A regular file is mapped, not read: its pages are the page cache's, and
 * memtrace's own memory is what the entries keep. Pipes and "-" are read
 * into memory. The text stays for the diff's life: shown stacks are parsed
 * again from it (mt_diff_site_stack). */
int mt_diff_load(const char *path, struct mt_diff_input **out)
{
	struct mt_diff_input *in = calloc(1, sizeof(*in));
	struct stat st;
	size_t len = 0;
	int fd = -1, err;

	*out = NULL;
	if (!in) {
		mt_err("cannot read '%s': %s", path, strerror(ENOMEM));
		return -ENOMEM;
	}
	in->name = path;
	if (strcmp(path, "-") != 0) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			err = -errno;
			mt_err("cannot read '%s': %s", path, strerror(-err));
			goto out;
		}
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
			if ((uint64_t)st.st_size > MAX_REPORT_BYTES) {
				err = -EFBIG;
				mt_err("cannot read '%s': %s", path, strerror(-err));
				goto out;
			}
			len = (size_t)st.st_size;
			in->map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
			if (in->map == MAP_FAILED)
				in->map = NULL;
			else
				in->map_len = len;
		}
		close(fd);
		fd = -1;
	}
	if (!in->map && !(in->buf = slurp(path, &len, &err)))
		goto out;
	if (in->map)
		madvise(in->map, len, MADV_SEQUENTIAL);
	err = parse_input(in, in->map ? in->map : in->buf, len);
out:
	if (fd >= 0)
		close(fd);
	if (err)
		mt_diff_input_free(in);
	else
		*out = in;
	return err;
}

int mt_diff_site_stack(const struct mt_diff_site *s, struct mt_jv **out)
{
	char msg[8];

	return mt_jv_parse_keep(s->entry, s->entry_len, keep_stack, NULL, out, msg, sizeof(msg));
}

static int keyed_cmp(const void *pa, const void *pb)
{
	const struct keyed *x = pa, *y = pb;
	int c = strcmp(x->key, y->key);

	if (c)
		return c;
	if (x->side != y->side)
		return x->side - y->side;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return (int)y->leak - (int)x->leak;   /* the leaks entry first */
}

/* Move one input's keyed entries into v, marked with their side. */
static int collect(struct mt_diff_input *in, int side, struct keyed **v, size_t *n)
{
	struct keyed *g;
	size_t i;

	if (!in->n)
		return 0;
	g = realloc(*v, (*n + in->n) * sizeof(*g));
	if (!g)
		return -ENOMEM;
	*v = g;
	for (i = 0; i < in->n; i++) {
		g[*n + i] = in->v[i];
		g[*n + i].side = side;
	}
	*n += in->n;
	in->n = 0;   /* the keys are v's now */
	return 0;
}

static uint64_t absdiff(uint64_t a, uint64_t b)
{
	return a > b ? a - b : b - a;
}

static int site_cmp(const void *pa, const void *pb)
{
	const struct mt_diff_site *x = pa, *y = pb;
	static const int order[] = { MT_DIFF_S_LIVE_BYTES, MT_DIFF_S_ALLOC_BYTES, MT_DIFF_S_LEAK_BYTES, MT_DIFF_S_ALLOCS };
	size_t i;

	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		uint64_t dx = absdiff(x->a[order[i]], x->b[order[i]]);
		uint64_t dy = absdiff(y->a[order[i]], y->b[order[i]]);

		if (dx != dy)
			return dx > dy ? -1 : 1;
	}
	return strcmp(x->key, y->key);
}

/* Merge the sorted keyed entries into sites: one per key, each report's
 * distinct site ids summed (the same id in "leaks" and "sites" once). */
static int merge(struct mt_diff *d, struct keyed *v, size_t n)
{
	size_t i = 0, f;

	d->sites = calloc(n ? n : 1, sizeof(*d->sites));
	if (!d->sites)
		return -ENOMEM;
	while (i < n) {
		struct mt_diff_site *s = &d->sites[d->nsites++];
		size_t j = i;

		s->key = v[i].key;
		v[i].key = NULL;
		s->entry = v[i].entry;   /* A's when A has the site: sorted by side */
		s->entry_len = v[i].entry_len;
		for (; j < n && (j == i || strcmp(v[j].key, s->key) == 0); j++) {
			struct keyed *x = &v[j];
			uint64_t *dst = x->side ? s->b : s->a;
			bool dup = j > i && v[j - 1].side == x->side && v[j - 1].id == x->id &&
				   x->id != UINT64_MAX;

			if (x->side)
				s->in_b = true;
			else
				s->in_a = true;
			if (!dup) {
				for (f = 0; f < SITE_OWN; f++)
					dst[f] += x->v[f];
			}
			dst[MT_DIFF_S_LEAK_OBJECTS] += x->v[MT_DIFF_S_LEAK_OBJECTS];
			dst[MT_DIFF_S_LEAK_BYTES] += x->v[MT_DIFF_S_LEAK_BYTES];
			free(x->key);
			x->key = NULL;
		}
		i = j;
	}
	qsort(d->sites, d->nsites, sizeof(*d->sites), site_cmp);
	return 0;
}

static void totals(const struct mt_jv *doc, uint64_t *t, double *r)
{
	const struct mt_jv *tot = mt_jv_get(doc, "totals"), *ls = mt_jv_get(doc, "leak_summary");
	const struct mt_jv *run = mt_jv_get(mt_jv_get(doc, "rates"), "run");
	size_t i;

	for (i = 0; i < TOTALS_OWN; i++)
		mt_jv_u64(tot, mt_diff_total_fields[i], &t[i]);
	mt_jv_u64(doc, "lost_events", &t[MT_DIFF_T_LOST_EVENTS]);
	mt_jv_u64(ls, "objects", &t[MT_DIFF_T_LEAK_OBJECTS]);
	mt_jv_u64(ls, "bytes", &t[MT_DIFF_T_LEAK_BYTES]);
	mt_jv_num(doc, "duration_s", &r[MT_DIFF_R_DURATION_S]);
	for (i = MT_DIFF_R_ALLOCS_PER_S; i < MT_DIFF_RATES; i++)
		mt_jv_num(run, mt_diff_rate_fields[i], &r[i]);
}

int mt_diff_build(struct mt_diff *d, struct mt_diff_input *a, struct mt_diff_input *b,
		  const char *path_a, const char *path_b)
{
	struct keyed *v = NULL;
	size_t n = 0, i;
	int err;

	memset(d, 0, sizeof(*d));
	d->a = a;
	d->b = b;
	d->path_a = path_a;
	d->path_b = path_b;
	totals(a->doc, d->ta, d->ra);
	totals(b->doc, d->tb, d->rb);
	err = collect(a, 0, &v, &n);
	if (!err)
		err = collect(b, 1, &v, &n);
	if (!err) {
		if (n)   /* qsort's base may not be NULL, even for no items */
			qsort(v, n, sizeof(*v), keyed_cmp);
		err = merge(d, v, n);
	}
	for (i = 0; i < n; i++)
		free(v[i].key);
	free(v);
	if (err)
		mt_diff_release(d);
	return err;
}

void mt_diff_release(struct mt_diff *d)
{
	size_t i;

	for (i = 0; i < d->nsites; i++)
		free(d->sites[i].key);
	free(d->sites);
	mt_diff_input_free(d->a);
	mt_diff_input_free(d->b);
	memset(d, 0, sizeof(*d));
}
