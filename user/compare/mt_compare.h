/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * memtrace compare: two configurations of one program (A: unpooled,
 * MTPOOL_DISABLE=1; B: pooled — or any two environments), each traced for
 * N rounds; this folder turns the rounds' saved JSON reports and the
 * target's own resource use into one comparison (docs/compare.md):
 *
 *   - per metric (allocator calls and rate, bytes allocated, peak live
 *     bytes, peak RSS, page faults, CPU, wall time, leaked bytes): median,
 *     min and max over each side's rounds, and B - A of the medians;
 *   - per site, matched by stack (diff/: the same keys as memtrace diff),
 *     the changes between A's and B's median rounds;
 *   - each piece of pool advice A's median round gave, against what B
 *     achieved at that site (B's calls there counted through the pool:
 *     a stack that reaches the advised function by the same callers);
 *   - the "pools" section of each side's median report, when present.
 *
 * The runs themselves are driven by cli/ (sessions); nothing here traces.
 */
#ifndef MT_COMPARE_H
#define MT_COMPARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct mt_jv;

/* One traced run: its report file and what wait4 said of the target. */
struct mt_cmp_round {
	char *json_path;          /* the round's saved report (owned) */
	double wall_s;            /* from the program's first instruction to its exit stop */
	double user_s, sys_s;     /* the target's CPU, from wait4's rusage */
	uint64_t maxrss_bytes;    /* its peak RSS (ru_maxrss) */
	uint64_t minflt, majflt;  /* its page faults */
	bool has_rusage;
	/* --untraced: the same configuration run once more without probes
	 * (only ptrace's exec and exit stops, which cost nothing per call). */
	struct mt_cmp_untraced {
		bool ran;
		double wall_s, user_s, sys_s;
		uint64_t maxrss_bytes, minflt, majflt;
	} untraced;
};

/* One configuration: a label, the environment changes, its rounds. */
struct mt_cmp_side {
	const char *label;
	const char *const *env;   /* "VAR=VAL" sets, "VAR" unsets */
	size_t nenv;
	struct mt_cmp_round *rounds;
	size_t nrounds;
};

/* Metrics compared, per round (indexes of mt_cmp_metric_names). */
enum mt_cmp_metric {
	MT_CMP_CALLS,          /* allocator calls, every entry point ("calls") */
	MT_CMP_CALLS_PER_S,    /* calls / duration_s */
	MT_CMP_ALLOCS_FREES,   /* totals.allocs + totals.frees: the advice's unit */
	MT_CMP_ALLOC_BYTES,
	MT_CMP_PEAK_LIVE,
	MT_CMP_LEAK_BYTES,     /* leak_summary.bytes */
	MT_CMP_PEAK_RSS,
	MT_CMP_FAULTS,         /* minor + major */
	MT_CMP_CPU_S,          /* user + sys */
	MT_CMP_WALL_S,
	MT_CMP_CPU_UNTRACED_S,    /* --untraced rounds */
	MT_CMP_WALL_UNTRACED_S,
	MT_CMP_PEAK_RSS_UNTRACED,
	MT_CMP_METRICS
};
extern const char *const mt_cmp_metric_names[MT_CMP_METRICS];

struct mt_cmp_stat {
	double median, min, max;
	bool known;               /* every round had it */
};

/* One piece of pool advice from A, and what B achieved. */
struct mt_cmp_advice {
	char *pool;               /* "object_pool", "size_class", "buffer_pool" */
	char *where;              /* the advised site's function */
	char *key;                /* its stack key (diff/) */
	double predicted_per_s;   /* A's calls_saved_per_s */
	double predicted_calls;   /* that over A's duration */
	uint64_t calls_a, calls_b; /* allocs + frees at the site in A; in B through the pool */
	double achieved_per_s;    /* calls_a / A's seconds - calls_b / B's seconds */
	double achieved_min, achieved_max; /* the same per round pair (A round i, B round i) */
	int64_t achieved_calls;   /* calls_a - calls_b */
};

/* One site changed, by stack. */
struct mt_cmp_site {
	char *key;
	uint64_t a[4], b[4];      /* allocs, frees, alloc_bytes, peak_live_bytes */
	bool in_a, in_b;
};

struct mt_cmp {
	const struct mt_cmp_side *a, *b;
	char **cmd;
	struct mt_cmp_stat stat[2][MT_CMP_METRICS];
	size_t med[2];            /* the median round of each side (by allocator calls) */
	double dur[2];            /* duration_s of the median rounds */
	struct mt_cmp_advice *advice;
	size_t nadvice;
	struct mt_cmp_site *sites; /* by |delta allocs + frees| */
	size_t nsites;
	bool reports_kept;        /* the rounds' report files stay (--keep) */
	struct mt_jv *docs[2];    /* the median reports (kept members only; "pools" when present) */
};

/* Read every round's report and compare. 0 or -errno (the error printed). */
int mt_cmp_build(struct mt_cmp *c, const struct mt_cmp_side *a, const struct mt_cmp_side *b,
		 char **cmd);
void mt_cmp_release(struct mt_cmp *c);

/* Writers: 0 or -errno. text: top sites listed. */
int mt_cmp_text(FILE *f, const struct mt_cmp *c, unsigned top);
int mt_cmp_json(FILE *f, const struct mt_cmp *c);

/* The part of a site key naming its function: "f" of "f@mod:file:line"
 * or "f+0x10@mod"; len set. Exposed for the unit test. */
const char *mt_cmp_key_func(const char *frame, size_t *len);
/* Does B's stack key reach A's site: b is a itself, or some frame k > 0
 * of b is in the same function as a's first frame and b's frames after k
 * are a's after its first? (The pool's own frames sit before k; a's
 * malloc line and b's pool-get line may differ. So two advised sites in
 * one function share the calls B makes through the pool there.) */
bool mt_cmp_key_through(const char *b, const char *a);

#endif /* MT_COMPARE_H */
