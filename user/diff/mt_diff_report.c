// SPDX-License-Identifier: BSD-2-Clause
/*
 * memtrace diff, the writers and the command: a text table of totals and
 * rates with the sites that changed most, and a JSON document with every
 * pair (shape in docs/diff.md).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "diff/mt_diff.h"
#include "util/mt_fmt.h"
#include "util/mt_json.h"
#include "util/mt_exit.h"
#include "util/mt_log.h"
#include "util/mt_outfile.h"

#define DEFAULT_TOP 10
#define MAX_TOP 100000   /* as memtrace --top */
#define TEXT_FRAMES 4

static const char usage[] =
"Usage: memtrace diff [--json FILE] [--top N] A.json B.json\n"
"Compare two memtrace JSON reports (A before, B after): totals, rates, and\n"
"per-site deltas matched by symbolized stack. Deltas are B - A.\n"
"\n"
"      --json FILE        write the comparison as JSON to FILE ('-' = stdout;\n"
"                         the text then goes to stderr)\n"
"      --top N            sites listed in the text (default 10)\n"
"  -h, --help             this help\n";

static int64_t delta(uint64_t a, uint64_t b)
{
	return (int64_t)(b - a);
}

/* Echo a parsed value. Stacks are arrays of frame objects of scalars;
 * anything nested deeper (only a hand-made input has it) is written as
 * null, so no input can exceed the writer's nesting limit. */
#define ECHO_MAX_DEPTH 2

static void write_jv(struct mt_json *j, const struct mt_jv *v, int depth)
{
	size_t i;

	if (depth > ECHO_MAX_DEPTH && (v->type == MT_JV_ARR || v->type == MT_JV_OBJ)) {
		mt_json_null(j);
		return;
	}
	switch (v->type) {
	case MT_JV_NULL:
		mt_json_null(j);
		break;
	case MT_JV_BOOL:
		mt_json_bool(j, v->b);
		break;
	case MT_JV_NUM:
		if (v->is_u64)
			mt_json_u64(j, v->u);
		else
			mt_json_double(j, v->d);
		break;
	case MT_JV_STR:
		mt_json_str(j, v->s);
		break;
	case MT_JV_ARR:
		mt_json_arr_begin(j);
		for (i = 0; i < v->n; i++)
			write_jv(j, &v->items[i], depth + 1);
		mt_json_arr_end(j);
		break;
	case MT_JV_OBJ:
		mt_json_obj_begin(j);
		for (i = 0; i < v->n; i++) {
			mt_json_key(j, v->keys[i]);
			write_jv(j, &v->items[i], depth + 1);
		}
		mt_json_obj_end(j);
		break;
	}
}

static void write_side(struct mt_json *j, const char *path, const struct mt_jv *doc)
{
	const struct mt_jv *t = mt_jv_get(doc, "target");
	uint64_t pid = 0;
	bool have_pid = mt_jv_u64(t, "pid", &pid);   /* before pid is read */

	mt_json_obj_begin(j);
	mt_json_key(j, "path");
	mt_json_str(j, path);
	mt_json_key_u64_or_null(j, "pid", have_pid, pid);
	mt_json_key(j, "comm");
	mt_json_str(j, mt_jv_str(t, "comm"));
	mt_json_key(j, "mode");
	mt_json_str(j, mt_jv_str(doc, "mode"));
	mt_json_obj_end(j);
}

static void write_counts(struct mt_json *j, const uint64_t *v)
{
	size_t f;

	mt_json_obj_begin(j);
	for (f = 0; f < MT_DIFF_SITE_FIELDS; f++) {
		mt_json_key(j, mt_diff_site_fields[f]);
		mt_json_u64(j, v[f]);
	}
	mt_json_obj_end(j);
}

int mt_diff_json(FILE *f, const struct mt_diff *d)
{
	struct mt_json j;
	size_t i, k;
	int err = 0, ferr;

	mt_json_init(&j, f);
	mt_json_obj_begin(&j);
	mt_json_key(&j, "version");
	mt_json_u64(&j, 1);
	mt_json_key(&j, "a");
	write_side(&j, d->path_a, mt_diff_input_doc(d->a));
	mt_json_key(&j, "b");
	write_side(&j, d->path_b, mt_diff_input_doc(d->b));
	mt_json_key(&j, "totals");
	mt_json_obj_begin(&j);
	for (k = 0; k < MT_DIFF_TOTALS; k++) {
		mt_json_key(&j, mt_diff_total_fields[k]);
		mt_json_obj_begin(&j);
		mt_json_key(&j, "a");
		mt_json_u64(&j, d->ta[k]);
		mt_json_key(&j, "b");
		mt_json_u64(&j, d->tb[k]);
		mt_json_key(&j, "delta");
		mt_json_i64(&j, delta(d->ta[k], d->tb[k]));
		mt_json_obj_end(&j);
	}
	mt_json_obj_end(&j);
	mt_json_key(&j, "rates");
	mt_json_obj_begin(&j);
	for (k = 0; k < MT_DIFF_RATES; k++) {
		mt_json_key(&j, mt_diff_rate_fields[k]);
		mt_json_obj_begin(&j);
		mt_json_key(&j, "a");
		mt_json_double(&j, d->ra[k]);
		mt_json_key(&j, "b");
		mt_json_double(&j, d->rb[k]);
		mt_json_key(&j, "delta");
		mt_json_double(&j, d->rb[k] - d->ra[k]);
		mt_json_obj_end(&j);
	}
	mt_json_obj_end(&j);
	mt_json_key(&j, "sites");
	mt_json_arr_begin(&j);
	for (i = 0; i < d->nsites; i++) {
		const struct mt_diff_site *s = &d->sites[i];

		struct mt_jv *entry = NULL;
		const struct mt_jv *stack;

		if (mt_diff_site_stack(s, &entry) && !err)
			err = -ENOMEM;   /* the entry parsed once already: only memory can fail */
		stack = mt_jv_get(entry, "stack");
		mt_json_obj_begin(&j);
		mt_json_key(&j, "stack");
		if (stack)
			write_jv(&j, stack, 0);
		else
			mt_json_null(&j);
		mt_jv_free(entry);
		mt_json_key(&j, "a");
		if (s->in_a)
			write_counts(&j, s->a);
		else
			mt_json_null(&j);
		mt_json_key(&j, "b");
		if (s->in_b)
			write_counts(&j, s->b);
		else
			mt_json_null(&j);
		mt_json_key(&j, "delta");
		mt_json_obj_begin(&j);
		for (k = 0; k < MT_DIFF_SITE_FIELDS; k++) {
			mt_json_key(&j, mt_diff_site_fields[k]);
			mt_json_i64(&j, delta(s->a[k], s->b[k]));
		}
		mt_json_obj_end(&j);
		mt_json_obj_end(&j);
	}
	mt_json_arr_end(&j);
	if (mt_diff_go_json(&j, d) && !err)
		err = -ENOMEM;
	mt_json_obj_end(&j);
	ferr = mt_json_finish(&j);
	return err ? err : ferr;
}

static void print_frame(FILE *f, const struct mt_jv *fr)
{
	const char *func = mt_jv_str(fr, "func"), *mod = mt_jv_str(fr, "module");
	const char *file = mt_jv_str(fr, "file");
	uint64_t line = 0;

	fprintf(f, "      %s", func ? func : (mt_jv_str(fr, "addr") ? mt_jv_str(fr, "addr") : "?"));
	if (mod)
		fprintf(f, " (%s)", mt_basename(mod));
	if (file && mt_jv_u64(fr, "line", &line))
		fprintf(f, " %s:%" PRIu64, mt_basename(file), line);
	fputc('\n', f);
}

int mt_diff_text(FILE *f, const struct mt_diff *d, unsigned top)
{
	size_t i, k, changed = 0, only_a = 0, only_b = 0, shown;

	fprintf(f, "memtrace diff: A = %s, B = %s (delta = B - A)\n", d->path_a, d->path_b);
	fprintf(f, "  %-16s %14s %14s %15s\n", "totals", "A", "B", "delta");
	for (k = 0; k < MT_DIFF_TOTALS; k++)
		fprintf(f, "  %-16s %14" PRIu64 " %14" PRIu64 " %+15" PRId64 "\n",
			mt_diff_total_fields[k], d->ta[k], d->tb[k], delta(d->ta[k], d->tb[k]));
	for (k = 0; k < MT_DIFF_RATES; k++)
		fprintf(f, "  %-16s %14.3f %14.3f %+15.3f\n", mt_diff_rate_fields[k],
			d->ra[k], d->rb[k], d->rb[k] - d->ra[k]);
	for (i = 0; i < d->nsites; i++) {
		const struct mt_diff_site *s = &d->sites[i];

		only_a += s->in_a && !s->in_b;
		only_b += s->in_b && !s->in_a;
		for (k = 0; k < MT_DIFF_SITE_FIELDS; k++)
			if (s->a[k] != s->b[k])
				break;
		changed += k < MT_DIFF_SITE_FIELDS;
	}
	fprintf(f, "%zu sites: %zu changed, %zu only in A, %zu only in B\n",
		d->nsites, changed, only_a, only_b);
	for (i = 0, shown = 0; i < d->nsites && shown < top; i++) {
		const struct mt_diff_site *s = &d->sites[i];
		struct mt_jv *entry = NULL;
		const struct mt_jv *stack;
		size_t n;

		/* The order ranks the big changes first, but a site that changed
		 * only in a field the order ignores may stand anywhere. */
		for (k = 0; k < MT_DIFF_SITE_FIELDS; k++)
			if (s->a[k] != s->b[k])
				break;
		if (k == MT_DIFF_SITE_FIELDS)
			continue;
		shown++;
		fprintf(f, "  #%zu live bytes %+" PRId64 ", allocs %+" PRId64 ", alloc bytes %+" PRId64
			", leaked %+" PRId64 " objects %+" PRId64 " bytes%s\n", i + 1,
			delta(s->a[MT_DIFF_S_LIVE_BYTES], s->b[MT_DIFF_S_LIVE_BYTES]),
			delta(s->a[MT_DIFF_S_ALLOCS], s->b[MT_DIFF_S_ALLOCS]),
			delta(s->a[MT_DIFF_S_ALLOC_BYTES], s->b[MT_DIFF_S_ALLOC_BYTES]),
			delta(s->a[MT_DIFF_S_LEAK_OBJECTS], s->b[MT_DIFF_S_LEAK_OBJECTS]),
			delta(s->a[MT_DIFF_S_LEAK_BYTES], s->b[MT_DIFF_S_LEAK_BYTES]),
			!s->in_a ? " (new in B)" : !s->in_b ? " (gone in B)" : "");
		if (mt_diff_site_stack(s, &entry))
			return -ENOMEM;   /* the entry parsed once already: only memory can fail */
		stack = mt_jv_get(entry, "stack");
		n = stack && stack->type == MT_JV_ARR ? stack->n : 0;
		if (!n)
			fputs("      (no stack)\n", f);
		for (k = 0; k < n && k < TEXT_FRAMES; k++)
			print_frame(f, &stack->items[k]);
		if (n > TEXT_FRAMES)
			fprintf(f, "      ... %zu more frames\n", n - TEXT_FRAMES);
		mt_jv_free(entry);
	}
	if (mt_diff_go_text(f, d, top))
		return -ENOMEM;
	return fflush(f) || ferror(f) ? -EIO : 0;
}

static int bad(const char *what, const char *arg)
{
	fprintf(stderr, "memtrace: diff: %s '%s' (see memtrace diff --help)\n", what, arg);
	return MT_EXIT_USAGE;
}

int mt_diff_main(int argc, char **argv)
{
	const char *json_path = NULL, *files[2];
	unsigned long top = DEFAULT_TOP;
	struct mt_diff_input *a = NULL, *b = NULL;
	struct mt_diff d;
	int nfiles = 0, i, err, rc = MT_EXIT_ERROR;
	struct mt_outfile json = { 0 };
	FILE *text = stdout;

	for (i = 1; i < argc; i++) {
		const char *s = argv[i];
		char *end;

		if (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0) {
			fputs(usage, stdout);
			return 0;
		} else if (strcmp(s, "--json") == 0 || strcmp(s, "--top") == 0) {
			if (i + 1 >= argc)
				return bad("option needs an argument:", s);
			if (s[2] == 'j') {
				json_path = argv[++i];
				continue;
			}
			top = strtoul(argv[++i], &end, 10);
			if (*end || !*argv[i] || argv[i][0] == '-' || top == 0 || top > MAX_TOP) {
				fprintf(stderr, "memtrace: diff: invalid --top '%s': sites from 1 to %d expected\n",
					argv[i], MAX_TOP);
				return MT_EXIT_USAGE;
			}
		} else if (strncmp(s, "--json=", 7) == 0) {
			json_path = s + 7;
		} else if (s[0] == '-' && s[1]) {
			return bad("unknown option", s);
		} else if (nfiles == 2) {
			return bad("too many reports: unexpected", s);
		} else {
			files[nfiles++] = s;
		}
	}
	if (nfiles != 2) {
		fputs("memtrace: diff: two reports expected: memtrace diff [--json FILE] A.json B.json\n",
		      stderr);
		return MT_EXIT_USAGE;
	}
	if (mt_diff_load(files[0], &a) || mt_diff_load(files[1], &b)) {
		mt_diff_input_free(a);
		return MT_EXIT_ERROR;
	}
	err = mt_diff_build(&d, a, b, files[0], files[1]);
	if (err) {
		mt_err("cannot compare '%s' and '%s': %s", files[0], files[1], strerror(-err));
		return MT_EXIT_ERROR;
	}
	/* A temporary beside the file, renamed over it when complete: an
	 * error leaves an existing file (or device node) as it was. */
	rc = MT_EXIT_WRITE;
	if (json_path && mt_outfile_open(&json, json_path))
		goto out;
	if (json.to_stdout)
		text = stderr;
	err = mt_diff_text(text, &d, (unsigned)top);
	if (err) {
		mt_err("cannot write the text comparison: %s", strerror(-err));
		goto out;
	}
	if (json.f) {
		err = mt_diff_json(json.f, &d);
		if (err) {
			mt_err("cannot write '%s': %s", json_path, strerror(-err));
			goto out;
		}
		if (mt_outfile_commit(&json))
			goto out;
	}
	rc = 0;
out:
	mt_outfile_abort(&json);
	mt_diff_release(&d);
	return rc;
}
