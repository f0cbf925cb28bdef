// SPDX-License-Identifier: BSD-2-Clause
/*
 * memtrace report A.json [--pprof F] [--folded F [--weight W]] [--html F]
 *                        [--text] [--sort KEY] [--top N] [-o F]
 * Renders a saved JSON report: a trace taken in production is opened on a
 * laptop later. Without an output option it prints the text report.
 * Exit status: 0, 1 when the report cannot be read or an output cannot be
 * written, 2 on a usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util/mt_log.h"
#include "util/mt_outfile.h"
#include "output/mt_out.h"

static const char usage[] =
"Usage: memtrace report [OPTIONS] REPORT.json\n"
"Render a report memtrace saved with --json ('-' reads stdin).\n"
"\n"
"      --pprof FILE    gzipped pprof profile (go tool pprof FILE)\n"
"      --folded FILE   folded stacks for flame graphs\n"
"      --weight W      folded value: live_bytes (default), live_objects,\n"
"                      alloc_bytes, allocs\n"
"      --html FILE     a self-contained HTML report (open it in a browser)\n"
"      --text          the text report (the default without other outputs),\n"
"                      the saved sections (memory, pools, go, ...) after it\n"
"      --sort KEY      rank sites by live_bytes, alloc_bytes, allocs, rate\n"
"                      (calls per second over the run) or growth (the trend\n"
"                      saved in the report); default: the report's own order\n"
"      --top N         sites, and entries of each list, in the text (default 10)\n"
"  -o, --output FILE   write the text to FILE (default stdout)\n"
"  -h, --help          this help\n";

static int bad(const char *fmt, const char *arg)
{
	fprintf(stderr, "memtrace report: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (see memtrace report --help)\n");
	return 2;
}

static double growth_score(void *arg, uint32_t site)
{
	const struct mt_out_loaded *l = arg;

	return site < l->ngrowth ? l->growth[site] : 0;
}

/* The text writer's extension hook: the saved sections it does not print
 * from the model, where a live run prints its extensions (before the
 * lost-events line). */
static int text_ext(FILE *f, const struct mt_report *r, bool final, void *arg)
{
	const struct mt_out_loaded *l = arg;

	return mt_out_text_ext(f, l->doc, r->opts.top_sites, r->opts.max_frames);
}

/* Calls per second over the run: all a saved report can say of a rate. */
static double rate_score(void *arg, uint32_t site)
{
	return 0;
}

int mt_out_main(int argc, char **argv)
{
	enum { OPT_PPROF = 256, OPT_FOLDED, OPT_WEIGHT, OPT_TEXT, OPT_SORT, OPT_TOP, OPT_HTML };
	static const struct option longopts[] = {
		{ "pprof", required_argument, NULL, OPT_PPROF },
		{ "folded", required_argument, NULL, OPT_FOLDED },
		{ "weight", required_argument, NULL, OPT_WEIGHT },
		{ "html", required_argument, NULL, OPT_HTML },
		{ "text", no_argument, NULL, OPT_TEXT },
		{ "sort", required_argument, NULL, OPT_SORT },
		{ "top", required_argument, NULL, OPT_TOP },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *pprof = NULL, *folded = NULL, *html = NULL, *out = NULL;
	enum mt_out_weight weight = MT_W_LIVE_BYTES;
	enum mt_report_sort sort = MT_SORT_LIVE_BYTES;
	bool text = false, sorted = false;
	struct mt_out_loaded l;
	unsigned long top = 10;
	int c, rc = 0;
	char *end;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":o:h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_PPROF:
			pprof = optarg;
			break;
		case OPT_FOLDED:
			folded = optarg;
			break;
		case OPT_WEIGHT:
			if (mt_out_weight_parse(optarg, &weight))
				return bad("invalid --weight '%s': live_bytes, live_objects, "
					   "alloc_bytes or allocs expected", optarg);
			break;
		case OPT_HTML:
			html = optarg;
			break;
		case OPT_TEXT:
			text = true;
			break;
		case OPT_SORT:
			if (mt_report_sort_parse(optarg, &sort))
				return bad("invalid --sort '%s': live_bytes, alloc_bytes, allocs, "
					   "rate or growth expected", optarg);
			sorted = true;
			break;
		case OPT_TOP:
			errno = 0;
			top = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || optarg[0] == '-' || !top || top > 100000)
				return bad("invalid --top '%s'", optarg);
			break;
		case 'o':
			out = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		case ':':
			return bad("option '%s' needs an argument", argv[optind - 1]);
		default:
			return bad("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind != argc - 1)
		return bad("%s", optind >= argc ? "no report given" : "give one report");
	if (!pprof && !folded && !html)
		text = true;
	if (mt_out_load(argv[optind], &l, (html ? MT_OUT_KEEP_TEXT : 0) | (text ? MT_OUT_KEEP_EXT : 0)))
		return 1;
	if (sorted) {
		l.r.opts.sort = sort;
		mt_report_sort_sites(l.r.sites, l.r.nsites, sort,
				     sort == MT_SORT_GROWTH ? growth_score : rate_score, &l);
	}
	l.r.opts.top_sites = (unsigned)top;
	if (pprof && mt_out_pprof(pprof, &l.r, MT_VERSION, false))
		rc = 1;
	if (folded && mt_out_folded(folded, &l.r, weight))
		rc = 1;
	/* the document as saved: the page shows its every section */
	if (html && mt_out_html_doc(html, l.text, l.text_len))
		rc = 1;
	if (text) {
		struct mt_outfile o = { 0 };
		int err = mt_report_add_extra(&l.r, "saved sections", NULL, text_ext, &l);

		if (err) {   /* the loaded model has no extras: a bug */
			mt_err("cannot render '%s': %s", argv[optind], strerror(-err));
			rc = 1;
		} else if ((err = mt_outfile_open(&o, out ? out : "-"))) {
			rc = 1;   /* printed */
		} else if ((err = mt_report_text(o.f, &l.r, true))) {
			mt_err("cannot write '%s': %s", out ? out : "stdout", strerror(-err));
			mt_outfile_abort(&o);
			rc = 1;
		} else if (mt_outfile_commit(&o)) {
			rc = 1;
		}
	}
	mt_out_loaded_free(&l);
	return rc;
}
