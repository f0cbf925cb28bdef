// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/mt_log.h"
#include "cli/mt_opts.h"
#include "go/mt_go.h"
#include "probe/mt_features.h"
#include "report/mt_report.h"
#include "unwind/mt_unwind.h"
#include "vm/mt_vm.h"

#define MT_STR_(x) #x
#define MT_STR(x) MT_STR_(x)

static const char usage[] =
"Usage: memtrace [OPTIONS] -p PID\n"
"       memtrace [OPTIONS] -- CMD [ARGS...]\n"
"       memtrace compare [OPTIONS] -- CMD [ARGS]   (CMD unpooled vs pooled, or any two envs)\n"
"       memtrace diff [--json FILE] A.json B.json   (compare two reports)\n"
"       memtrace layout [OPTIONS] FILE|-p PID [TYPE...]   (struct layouts)\n"
"       memtrace report A.json [--pprof F] [--folded F] [--html F] [--text]\n"
"Trace where a process's heap memory goes: allocation rates, live objects\n"
"and bytes per call stack, and leak candidates, with BPF uprobes.\n"
"\n"
"  -p, --pid PID          attach to a running process\n"
"  -d, --duration SEC     stop after SEC seconds (default: Ctrl-C or exit)\n"
"  -i, --interval SEC     print a report every SEC seconds; on a terminal a\n"
"                         live view redrawn in place ('s' sorts, 'q' ends)\n"
"      --no-tty           plain text even on a terminal: no live view, no\n"
"                         progress lines\n"
"      --json FILE        write the final report as JSON to FILE ('-' = stdout;\n"
"                         the text report then goes to stderr)\n"
"      --json-leaks N     leak stacks listed in the JSON report, largest first\n"
"                         (default 1000; 'all' lists every one)\n"
"      --json-sites N     sites listed in the JSON report, first by --sort\n"
"                         (default 'all': what --pprof and memtrace report need)\n"
"      --min-age SEC      attach mode: live objects older than SEC at the end\n"
"                         are leak candidates (default 1), unless their site's\n"
"                         live bytes plateau (docs/analysis.md)\n"
"      --top N            sites listed in the text report (default 10); file\n"
"                         outputs carry every site\n"
"      --sort KEY         rank sites by live_bytes (default), alloc_bytes,\n"
"                         allocs, rate or growth, in every output\n"
"  -o, --output FILE      write the text report to FILE (default: stderr)\n"
"      --pprof FILE       write the final report as a gzipped pprof profile\n"
"                         (go tool pprof FILE)\n"
"      --folded FILE      write folded stacks for flame graphs\n"
"      --weight W         folded stacks' value: live_bytes (default),\n"
"                         live_objects, alloc_bytes or allocs\n"
"      --html FILE        write a self-contained HTML report (open in a browser)\n"
"      --lib PATH         allocator object to probe (default: found in the target)\n"
"      --no-heap          no allocator probes: kernel-side memory view only\n"
"                         (mmap, brk, page faults, RSS), far cheaper\n"
"      --no-vm            no kernel-side memory view: allocator probes only\n"
"      --vm-source SRC    where memory syscalls are seen: auto (default: uprobe,\n"
"                         else the fallbacks), uprobe (the target's own syscall\n"
"                         sites), tracepoint or raw_tp (both tax every process\n"
"                         on the machine)\n"
"      --fault-source SRC where page faults are seen: auto (default: perf, else\n"
"                         tracepoint), perf (per-thread events on the target)\n"
"                         or tracepoint (taxes every process on the machine)\n"
"      --no-pools         do not look inside pool libraries (libmtpool's USDT)\n"
"      --pool-events      trace every pool get/put with its stack (pool leaks by\n"
"                         get site; costs a probe per get/put, docs/pools.md)\n"
"      --go, --no-go      Go heap mode (runtime.mallocgc, types, Go names): on, off\n"
"                         (default: on when the target is a Go program)\n"
"      --reachability     at the end, pause the target and scan its memory:\n"
"                         leaks split into definitely lost and still reachable\n"
"                         (docs/reachability.md); launch mode does it at exit\n"
"                         by default (~1-2 ms of the program's exit)\n"
"      --no-reachability  launch mode: no scan at exit; everything live is a leak\n"
"      --fail-on-leak[=BYTES]  exit 3 when leaked bytes (with --reachability:\n"
"                         definitely lost bytes) exceed BYTES (default 0)\n"
"      --listen ADDR:PORT serve Prometheus metrics at http://ADDR:PORT/metrics\n"
"                         while tracing (PORT 0: any free port; docs/metrics.md)\n"
"      --metrics-top N    call sites exported with their live bytes (default 20)\n"
"      --btf PATH         kernel BTF (default /sys/kernel/btf/vmlinux)\n"
"      --ringbuf-mb N     event ring buffer size in MiB, a power of 2 (default 2)\n"
"      --sample-bytes N   sample allocations, one per N bytes on average\n"
"                         (524288 for production); figures become estimates,\n"
"                         calls stay exact (docs/sampling.md); 0 = every call\n"
"      --max-overhead PCT attach mode: keep the allocator probes' cost under PCT%\n"
"                         of the target's CPU, at least of one core (default\n"
"                         " MT_STR(MT_MAX_OVERHEAD_DEFAULT) "): when its call rate does not fit, the probes\n"
"                         are armed in short windows and counts become\n"
"                         labelled estimates; 'off' traces every call, as do\n"
"                         launch mode, -f and --sample-bytes\n"
"      --callsite-only    sites are the immediate caller only: no stack walk,\n"
"                         which is ~75% of an allocation's probe cost\n"
"      --wrapper NAME     a function of the program's own that only wraps the\n"
"                         allocator: sites are attributed to its caller\n"
"                         (repeatable; fnmatch patterns, e.g. 'my_alloc*')\n"
"      --debuginfod-timeout SEC  with $DEBUGINFOD_URLS set, how long the final\n"
"                         report waits for debug files still downloading\n"
"                         (default 10)\n"
"  -f, --follow           trace the children too (fork, vfork, clone and\n"
"                         their execs), one report entry each\n"
"      --unwind MODE      how stacks are walked: auto (default: frame pointers\n"
"                         in modules built with them, CFI from .eh_frame in\n"
"                         the others), fp, or cfi (docs/unwinding.md)\n"
"      --max-depth N      frames per stack, 1..127 (default 64)\n"
"  -v, --verbose          libbpf debug output and probe placement\n"
"  -h, --help             this help\n"
"  -V, --version          print the version, libbpf's and the kernel features found\n";

static int bad(const char *fmt, const char *arg)
{
	fprintf(stderr, "memtrace: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (see memtrace --help)\n");
	return 2;
}

/* Up to ~31 years: beyond that seconds would not fit the nanosecond
 * clock arithmetic. */
#define MAX_SECONDS 1e9

/* Long options past the list in mt_opts_parse (kept apart: others add there). */
enum { OPT_NO_TTY = 512 };

static int parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < 0 || v > MAX_SECONDS)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int mt_opts_parse(int argc, char **argv, struct mt_opts *o)
{
	enum {
		OPT_JSON = 256, OPT_MIN_AGE, OPT_LIB, OPT_BTF, OPT_TOP, OPT_RINGBUF, OPT_NO_HEAP,
		OPT_NO_VM, OPT_GO, OPT_NO_GO, OPT_REACH, OPT_NO_REACH, OPT_FAIL_LEAK, OPT_SAMPLE, OPT_RINGBUF_KB, OPT_CALLSITE_ONLY,
		OPT_WRAPPER, OPT_DEBUGINFOD_TIMEOUT, OPT_JSON_LEAKS, OPT_LISTEN, OPT_METRICS_TOP, OPT_UNWIND,
		OPT_MAX_DEPTH, OPT_PPROF, OPT_FOLDED, OPT_HTML, OPT_WEIGHT, OPT_SORT, OPT_JSON_SITES, OPT_MAX_OVERHEAD,
		OPT_VM_SOURCE,
		OPT_FAULT_SOURCE,
		OPT_NO_POOLS, OPT_POOL_EVENTS,
	};
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "duration", required_argument, NULL, 'd' },
		{ "interval", required_argument, NULL, 'i' },
		{ "json", required_argument, NULL, OPT_JSON },
		{ "json-leaks", required_argument, NULL, OPT_JSON_LEAKS },
		{ "json-sites", required_argument, NULL, OPT_JSON_SITES },
		{ "min-age", required_argument, NULL, OPT_MIN_AGE },
		{ "lib", required_argument, NULL, OPT_LIB },
		{ "btf", required_argument, NULL, OPT_BTF },
		{ "top", required_argument, NULL, OPT_TOP },
		{ "ringbuf-mb", required_argument, NULL, OPT_RINGBUF },
		{ "ringbuf-kb", required_argument, NULL, OPT_RINGBUF_KB },  /* tests */
		{ "sample-bytes", required_argument, NULL, OPT_SAMPLE },
		{ "callsite-only", no_argument, NULL, OPT_CALLSITE_ONLY },
		{ "wrapper", required_argument, NULL, OPT_WRAPPER },
		{ "debuginfod-timeout", required_argument, NULL, OPT_DEBUGINFOD_TIMEOUT },
		{ "unwind", required_argument, NULL, OPT_UNWIND },
		{ "max-depth", required_argument, NULL, OPT_MAX_DEPTH },
		{ "max-overhead", required_argument, NULL, OPT_MAX_OVERHEAD },
		{ "no-heap", no_argument, NULL, OPT_NO_HEAP },
		{ "no-vm", no_argument, NULL, OPT_NO_VM },
		{ "vm-source", required_argument, NULL, OPT_VM_SOURCE },
		{ "fault-source", required_argument, NULL, OPT_FAULT_SOURCE },
		{ "no-pools", no_argument, NULL, OPT_NO_POOLS },
		{ "pool-events", no_argument, NULL, OPT_POOL_EVENTS },
		{ "go", no_argument, NULL, OPT_GO },
		{ "no-go", no_argument, NULL, OPT_NO_GO },
		{ "reachability", no_argument, NULL, OPT_REACH },
		{ "no-reachability", no_argument, NULL, OPT_NO_REACH },
		{ "fail-on-leak", optional_argument, NULL, OPT_FAIL_LEAK },
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "metrics-top", required_argument, NULL, OPT_METRICS_TOP },
		{ "output", required_argument, NULL, 'o' },
		{ "pprof", required_argument, NULL, OPT_PPROF },
		{ "folded", required_argument, NULL, OPT_FOLDED },
		{ "html", required_argument, NULL, OPT_HTML },
		{ "weight", required_argument, NULL, OPT_WEIGHT },
		{ "sort", required_argument, NULL, OPT_SORT },
		{ "no-tty", no_argument, NULL, OPT_NO_TTY },
		{ "verbose", no_argument, NULL, 'v' },
		{ "follow", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	bool weight_given = false;
	unsigned long v;
	bool no_reach = false;
	int c;

	memset(o, 0, sizeof(*o));
	o->min_age_s = 1.0;
	o->top = MT_REPORT_TOP_SITES;
	o->json_leaks = MT_JSON_LEAKS_DEFAULT;
	o->metrics_top = 20;
	o->ringbuf_bytes = 2u << 20;
	o->debuginfod_timeout_s = 10;
	o->max_depth = 64;
	opterr = 0;
	/* '+': stop at the first non-option, so CMD's own options stay its. */
	while ((c = getopt_long(argc, argv, "+:p:d:i:o:fvhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (parse_uint(optarg, INT_MAX, &v) || v == 0)
				return bad("invalid PID '%s'", optarg);
			o->pid = (pid_t)v;
			break;
		case 'd':
			if (parse_seconds(optarg, &o->duration_s) || o->duration_s == 0)
				return bad("invalid duration '%s': seconds > 0 and up to 1e9 expected", optarg);
			break;
		case 'i':
			if (parse_seconds(optarg, &o->interval_s) || o->interval_s < 0.01)
				return bad("invalid interval '%s': seconds from 0.01 to 1e9 expected", optarg);
			break;
		case OPT_JSON:
			o->json_path = optarg;
			break;
		case OPT_JSON_LEAKS:
			if (strcmp(optarg, "all") == 0)
				o->json_leaks = 0;
			else if (parse_uint(optarg, SIZE_MAX, &v) || v == 0)
				return bad("invalid --json-leaks '%s': a count > 0 or 'all' expected", optarg);
			else
				o->json_leaks = (size_t)v;
			break;
		case OPT_JSON_SITES:
			if (strcmp(optarg, "all") == 0)
				o->json_sites = 0;
			else if (parse_uint(optarg, SIZE_MAX, &v) || v == 0)
				return bad("invalid --json-sites '%s': a count > 0 or 'all' expected", optarg);
			else
				o->json_sites = (size_t)v;
			break;
		case OPT_MIN_AGE:
			if (parse_seconds(optarg, &o->min_age_s))
				return bad("invalid --min-age '%s': seconds from 0 to 1e9 expected", optarg);
			break;
		case OPT_LIB:
			o->lib = optarg;
			break;
		case OPT_BTF:
			o->btf_path = optarg;
			break;
		case OPT_TOP:
			if (parse_uint(optarg, MT_OPTS_MAX_TOP, &v) || v == 0)
				return bad("invalid --top '%s': sites from 1 to " MT_STR(MT_OPTS_MAX_TOP) " expected", optarg);
			o->top = (unsigned)v;
			break;
		case OPT_RINGBUF:
			if (parse_uint(optarg, 1024, &v) || v == 0 || (v & (v - 1)))
				return bad("invalid --ringbuf-mb '%s': a power of 2 up to 1024 expected", optarg);
			o->ringbuf_bytes = (size_t)v << 20;
			break;
		case OPT_RINGBUF_KB:
			if (parse_uint(optarg, 1u << 20, &v) || v < 4 || (v & (v - 1)))
				return bad("invalid --ringbuf-kb '%s': a power of 2 from 4 expected", optarg);
			o->ringbuf_bytes = (size_t)v << 10;
			break;
		case OPT_SAMPLE:
			/* 2^40: the BPF draw's fixed point stays in 64 bits */
			if (parse_uint(optarg, 1ul << 40, &v))
				return bad("invalid --sample-bytes '%s': bytes from 0 to 2^40 expected", optarg);
			o->sample_bytes = v;
			break;
		case OPT_MAX_OVERHEAD:
			o->max_overhead_asked = true;
			if (strcmp(optarg, "off") == 0)
				o->max_overhead_pct = 0;
			else if (parse_seconds(optarg, &o->max_overhead_pct) ||
				 o->max_overhead_pct <= 0 || o->max_overhead_pct > 100)
				return bad("invalid --max-overhead '%s': a percentage in (0, 100] or 'off' expected",
					   optarg);
			break;
		case OPT_NO_HEAP:
			o->no_heap = true;
			break;
		case OPT_NO_VM:
			o->no_vm = true;
			break;
		case OPT_VM_SOURCE: {
			enum mt_vm_source src;

			if (mt_vm_source_parse(optarg, &src))
				return bad("invalid --vm-source '%s': auto, uprobe, tracepoint or raw_tp expected",
					   optarg);
			o->vm_source = (int)src;
			break;
		}
		case OPT_FAULT_SOURCE: {
			enum mt_vm_fault_source src;

			if (mt_vm_fault_source_parse(optarg, &src))
				return bad("invalid --fault-source '%s': auto, perf or tracepoint expected",
					   optarg);
			o->fault_source = (int)src;
			break;
		}
		case OPT_NO_POOLS:
			o->no_pools = true;
			break;
		case OPT_POOL_EVENTS:
			o->pool_events = true;
			break;
		case OPT_GO:
			o->go = MT_GO_ON;
			break;
		case OPT_NO_GO:
			o->go = MT_GO_OFF;
			break;
		case OPT_REACH:
			o->reachability_asked = true;
			break;
		case OPT_NO_REACH:
			no_reach = true;
			break;
		case OPT_FAIL_LEAK:
			o->fail_on_leak = true;
			if (optarg && parse_uint(optarg, ULONG_MAX, &v))
				return bad("invalid --fail-on-leak '%s': bytes >= 0 expected", optarg);
			o->fail_leak_bytes = optarg ? v : 0;
			break;
		case OPT_LISTEN:
			o->listen = optarg;
			break;
		case OPT_METRICS_TOP:
			if (parse_uint(optarg, 10000, &v) || v == 0)
				return bad("invalid --metrics-top '%s': a count from 1 to 10000 expected", optarg);
			o->metrics_top = (unsigned)v;
			break;
		case OPT_UNWIND: {
			enum mt_unwind_mode m;

			if (mt_unwind_mode_parse(optarg, &m))
				return bad("--unwind: '%s' is not auto, fp or cfi", optarg);
			o->unwind = (int)m;
			break;
		}
		case OPT_MAX_DEPTH:
			if (parse_uint(optarg, 127, &v) || v < 1)
				return bad("--max-depth: '%s' is not a number from 1 to 127", optarg);
			o->max_depth = (unsigned)v;
			break;
		case OPT_CALLSITE_ONLY:
			o->callsite_only = true;
			break;
		case OPT_WRAPPER:
			if (!optarg[0])
				return bad("%s", "empty --wrapper name");
			if (o->nwrappers == MT_OPTS_MAX_WRAPPERS)
				return bad("more than %s --wrapper options", "64");
			o->wrappers[o->nwrappers++] = optarg;
			break;
		case OPT_DEBUGINFOD_TIMEOUT:
			if (parse_seconds(optarg, &o->debuginfod_timeout_s))
				return bad("invalid --debuginfod-timeout '%s': seconds >= 0 expected", optarg);
			break;
		case 'o':
			o->text_path = optarg;
			break;
		case OPT_HTML:
			o->html_path = optarg;
			break;
		case OPT_PPROF:
			o->pprof_path = optarg;
			break;
		case OPT_FOLDED:
			o->folded_path = optarg;
			break;
		case OPT_WEIGHT:
			weight_given = true;
			if (mt_out_weight_parse(optarg, &o->weight))
				return bad("invalid --weight '%s': live_bytes, live_objects, "
					   "alloc_bytes or allocs expected", optarg);
			break;
		case OPT_SORT:
			if (mt_report_sort_parse(optarg, &o->sort))
				return bad("invalid --sort '%s': live_bytes, alloc_bytes, allocs, "
					   "rate or growth expected", optarg);
			break;
		case OPT_NO_TTY:
			o->no_tty = true;
			break;
		case 'f':
			o->follow = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 1;
		case 'V':
			mt_features_print(stdout, MT_VERSION);
			return 1;
		case ':':
			return bad("option '%s' needs an argument", argv[optind - 1]);
		default:
			return bad("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		o->cmd = &argv[optind];
	if (o->pid && o->cmd)
		return bad("%s", "give either -p PID or -- CMD, not both");
	if (o->no_heap && o->no_vm)
		return bad("%s", "--no-heap and --no-vm leave nothing to trace");
	if (o->no_vm && o->vm_source)
		return bad("%s", "--vm-source chooses how the memory view sees syscalls, but --no-vm turns it off");
	if (o->no_vm && o->fault_source)
		return bad("%s", "--fault-source chooses how the memory view sees page faults, but --no-vm turns it off");
	if (o->no_pools && o->pool_events)
		return bad("%s", "--pool-events traces the pools that --no-pools leaves out");
	if (o->no_heap && o->lib)
		return bad("%s", "--lib names the allocator to probe, but --no-heap probes none");
	if (!o->pid && !o->cmd)
		return bad("%s", "nothing to trace: give -p PID or -- CMD");
	if (weight_given && !o->folded_path)
		return bad("%s", "--weight is the value of --folded stacks, but no --folded FILE is given");
	if (((o->json_path && !strcmp(o->json_path, "-")) + (o->pprof_path && !strcmp(o->pprof_path, "-")) +
	     (o->folded_path && !strcmp(o->folded_path, "-")) + (o->text_path && !strcmp(o->text_path, "-")) +
	     (o->html_path && !strcmp(o->html_path, "-"))) > 1)
		return bad("%s", "only one of --json, --pprof, --folded, --html and -o can write to stdout ('-')");
	if (o->follow && o->no_heap)
		return bad("%s", "-f follows the allocator calls of children, but --no-heap probes none");
	if (o->max_overhead_asked && o->max_overhead_pct > 0 && o->sample_bytes)
		return bad("%s", "--max-overhead and --sample-bytes both bound the cost: give one");
	if (o->max_overhead_asked && o->max_overhead_pct > 0 && o->follow)
		return bad("%s", "--max-overhead budgets one process: not with -f (use --max-overhead off)");
	/* The default budget: attach mode, one process, no other cost bound. */
	if (!o->max_overhead_asked)
		o->max_overhead_pct = o->pid && !o->follow && !o->sample_bytes ?
				      MT_MAX_OVERHEAD_DEFAULT : 0;
	if (o->no_heap && (o->reachability_asked || o->fail_on_leak))
		return bad("%s", "--reachability and --fail-on-leak need the allocator probes, "
			   "but --no-heap probes none");
	if (no_reach && o->reachability_asked)
		return bad("%s", "give either --reachability or --no-reachability, not both");
	if (no_reach && o->pid)
		return bad("%s", "--no-reachability is for launch mode: attach mode scans only with "
			   "--reachability");
	/* Launch mode scans at exit by default: stdout's buffer and static
	 * caches are then still reachable, not leaks. */
	o->reachability = o->reachability_asked || (o->cmd && !o->no_heap && !no_reach);
	return 0;
}
