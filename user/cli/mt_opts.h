/* SPDX-License-Identifier: BSD-2-Clause */
/* Command-line options of memtrace. */
#ifndef MT_OPTS_H
#define MT_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "output/mt_out.h"
#include "report/mt_report.h"

/* --top: more sites than this is no longer a report a person reads. */
#define MT_OPTS_MAX_TOP 100000

#define MT_OPTS_MAX_WRAPPERS 64

/* Leak stacks the JSON report lists by default: 131,072 leaked stacks
 * once made a 555 MB report; the largest thousand say what to fix, and
 * leak_summary still counts every one. */
#define MT_JSON_LEAKS_DEFAULT 1000

/* --max-overhead's default in attach mode: a busy target is meant to keep
 * ~95% of its throughput (measured: docs/BENCHMARKS.md, redis-server), a
 * quiet one fits and is traced exactly. Not the default with -f (the budget is
 * per process), --sample-bytes (a cost bound of its own) or launch mode. */
#define MT_MAX_OVERHEAD_DEFAULT 5

struct mt_opts {
	pid_t pid;              /* -p: attach mode */
	char **cmd;             /* after --: launch mode */
	double duration_s;      /* -d, 0 = until Ctrl-C or exit */
	double interval_s;      /* -i, 0 = final report only */
	double min_age_s;       /* --min-age, attach mode leak threshold */
	const char *json_path;  /* --json, "-" = stdout */
	const char *lib;        /* --lib */
	const char *btf_path;   /* --btf */
	unsigned top;           /* --top */
	size_t json_leaks;      /* --json-leaks: leak stacks listed in JSON, 0 = all */
	size_t json_sites;      /* --json-sites: sites listed in JSON, 0 = all */
	size_t ringbuf_bytes;   /* --ringbuf-mb (or the hidden --ringbuf-kb) */
	unsigned long long sample_bytes; /* --sample-bytes, 0 = every call */
	bool callsite_only;     /* --callsite-only: no stack walk */
	int unwind;             /* --unwind: enum mt_unwind_mode */
	unsigned max_depth;     /* --max-depth: frames per stack */
	bool verbose;           /* -v */
	bool follow;            /* -f: trace the launched program's children */
	bool no_heap;           /* --no-heap: kernel-side memory view only */
	bool no_vm;             /* --no-vm: heap view only */
	int vm_source;          /* --vm-source: enum mt_vm_source */
	int fault_source;       /* --fault-source: enum mt_vm_fault_source */
	bool no_pools;          /* --no-pools: no pool library probes */
	bool pool_events;       /* --pool-events: every pool get/put */
	int go;                 /* enum mt_go_mode: 0 auto (detected), --go, --no-go */
	bool reachability;      /* scan for lost/reachable blocks at the end: launch
				 * mode's default, --reachability in attach mode */
	bool reachability_asked; /* --reachability given: a missing scan is worth a warning */
	bool fail_on_leak;      /* --fail-on-leak[=BYTES]: exit 3 above the limit */
	unsigned long long fail_leak_bytes;
	/* --max-overhead: percent of the target's CPU (at least of one core)
	 * its allocator probes may take; 0 = off (exact). When not given:
	 * MT_MAX_OVERHEAD_DEFAULT in attach mode, off with -f, --sample-bytes
	 * or in launch mode. */
	double max_overhead_pct;
	bool max_overhead_asked; /* --max-overhead given, not the default */
	const char *wrappers[MT_OPTS_MAX_WRAPPERS];  /* --wrapper, repeatable */
	size_t nwrappers;
	double debuginfod_timeout_s; /* --debuginfod-timeout: final report's wait */
	const char *listen;     /* --listen ADDR:PORT: serve /metrics */
	unsigned metrics_top;   /* --metrics-top: site labels exported */
	/* Outputs (user/output/): where the text goes, files, ranking. */
	const char *text_path;  /* -o: the text report (default stderr) */
	const char *pprof_path; /* --pprof */
	const char *folded_path; /* --folded */
	const char *html_path;  /* --html */
	enum mt_out_weight weight; /* --weight of the folded stacks */
	enum mt_report_sort sort;  /* --sort */
	bool no_tty;            /* --no-tty: stderr is never treated as a terminal */
};

/* Parse argv. Returns 0 to run, 1 when -h/-V printed and memtrace should
 * exit 0, 2 on a usage error (message and usage hint already printed). */
int mt_opts_parse(int argc, char **argv, struct mt_opts *o);

#endif /* MT_OPTS_H */
