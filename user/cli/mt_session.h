/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * One tracing session: the target (attached to or launched), its probes,
 * the event loop, and the end — the cut, the final look at the target, the
 * final report, the detach.
 *
 * Life cycle: mt_session_start (validate the target -> find its allocator
 * -> load and attach, all or nothing -> "attached" line) -> mt_session_run
 * (poll, drain, periodic reports, until a signal, -d or the program's exit)
 * -> mt_session_finish (cut, drain, detach, final report) ->
 * mt_session_close. Every path through close detaches: the target runs on
 * unharmed.
 */
#ifndef MT_SESSION_H
#define MT_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "budget/mt_budget_meter.h"
#include "cli/mt_opts.h"
#include "probe/mt_alloc_lib.h"
#include "target/mt_launch.h"
#include "target/mt_target.h"
#include "output/mt_out_rate.h"
#include "util/mt_outfile.h"
#include "util/mt_prom.h"

struct mt_pools;

enum mt_stop { MT_STOP_NONE, MT_STOP_SIGNAL, MT_STOP_DURATION, MT_STOP_EXITED, MT_STOP_ERROR };

struct mt_go_gc;

/* memtrace's own footprint, read once per report so that every output of
 * one report (JSON, HTML, text) says the same (mt_session_self.c). */
struct mt_self {
	uint64_t rss, hwm;              /* bytes */
	/* BPF map memory (memlock) and its rings' share, per object:
	 * MT_SELF_HEAP, _VM, _POOLS, _GO_ALLOC, _GO_GC */
	uint64_t maps[5], rings[5];
	size_t dwarf;                   /* modules whose DWARF was loaded */
};

struct mt_session {
	struct mt_opts opts;
	struct mt_target target;
	struct mt_launch launch;
	bool launched;
	struct mt_alloc_lib lib;
	struct mt_heap *heap;
	struct mt_events *events;
	struct mt_agg *agg;
	struct mt_sym *sym;
	struct mt_pools *pools;    /* NULL: no pool library found, or --no-pools */
	struct mt_vm *vm;          /* kernel-side memory view, NULL with --no-vm */
	bool is_go;                /* the target is a Go program */
	struct mt_go_gc *go_gc;    /* its GC and MemStats, NULL when not Go */
	struct mt_analysis *analysis; /* lifetimes, size classes, trends, advice */
	struct mt_budget *budget;  /* --max-overhead, NULL when off */
	struct mt_meter before;    /* the target's throughput before the probes */
	struct mt_go *go;          /* Go heap mode, NULL when not Go or --no-go */
	struct mt_outfile json;    /* --json: f is NULL without it, and once written */
	struct mt_outfile text;    /* -o FILE: the text report; f NULL without -o */
	struct mt_out_rate rate;   /* --sort rate */
	bool write_failed;         /* a report could not be written: MT_EXIT_WRITE */
	int sigfd;
	uint64_t start_ns;
	uint64_t end_ns;           /* when the target's last event could occur */
	unsigned stop_signals;     /* SIGINT/SIGTERM received (launch mode) */
	bool vm_finished;
	struct mt_reach *reach;    /* --reachability result, NULL until scanned */
	struct mt_ptree *tree;     /* images of the process tree (exec, -f) */
	bool bpf_children;         /* the BPF side counts untraced children */
	bool leak_known;           /* the final report ran: leak_check is set */
	struct mt_self self;       /* the footprint as the final report states it */
	bool guided;               /* the cost line of a full trace was considered */
	uint64_t leak_check;       /* bytes --fail-on-leak compares */
	struct mt_serve *serve;    /* --listen: the /metrics server */
	struct mt_metrics *metrics;
	struct mt_prom prom;       /* the next snapshot, rendered here */
	enum mt_stop stop;         /* why tracing ended */
	struct mt_session_live *live; /* the live view, NULL when not shown */
};

/* Open the report file, start or open the target and attach everything.
 * s->opts is set. Returns 0 or an exit status (util/mt_exit.h); the error
 * is printed. */
int mt_session_start(struct mt_session *s);

/* The event loop, until a signal, -d, or the program's exit. */
enum mt_stop mt_session_run(struct mt_session *s);

/* The cut, the final look at the target, the detach and the final report;
 * the exit status (the launched program's, or util/mt_exit.h's). */
int mt_session_finish(struct mt_session *s);

/* Release everything; a launched program is detached, or killed if the
 * session failed. */
void mt_session_close(struct mt_session *s);

/* Drain every event source; 0 or -errno. */
int mt_session_consume(struct mt_session *s);

/* The final kernel-side snapshot, taken once while the target lives. */
void mt_session_finish_vm(struct mt_session *s, uint64_t now);

/* The text report every -i seconds and at the end (final), with the JSON
 * report at the end. A write error is printed once and sets
 * s->write_failed. mt_session_report.c. */
void mt_session_report(struct mt_session *s, FILE *text, uint64_t now, bool final);

/* memtrace's own RSS and BPF map memory: the report's "memtrace" section
 * (JSON and final text line) and a -v line after attach.
 * mt_session_self.c. */
struct mt_json;
struct mt_report;
/* Read the footprint into s->self: once, before the final report. */
void mt_session_self_take(struct mt_session *s);
int mt_session_self_json(struct mt_json *j, void *s);
int mt_session_self_text(FILE *f, const struct mt_report *r, bool final, void *s);
void mt_session_self_debug(const struct mt_session *s);
/* Once attached: drop memtrace's clean read-only file pages (its
 * libraries' relocations and tables, read at start or at attach) from its
 * RSS; returns the bytes of mappings trimmed. */
uint64_t mt_session_self_trim(void);

/* --max-overhead (attach mode): s->budget over the allocator's probes
 * and a Go target's mallocgc probe, when there is one to keep; 0 or
 * -errno (an explicit budget that cannot be kept). mt_session_budget.c. */
int mt_session_open_budget(struct mt_session *s);

/* Attach mode, full trace: once, 2 s in, when the target's allocator
 * calls cost it more than 5% of a core, one line saying so and what to
 * do (--max-overhead, --no-heap). mt_session_self.c. */
void mt_session_guide(struct mt_session *s, uint64_t now);

/* Where the text report goes: -o FILE; else never a launched program's
 * stdout: stderr in launch mode (and when the JSON owns stdout), stdout in
 * attach mode. */
FILE *mt_session_text_out(const struct mt_session *s);

/* The terminal (mt_session_live.c). tty_setup: progress lines on when
 * stderr is a terminal and --no-tty was not given. live_start: with -i
 * there, the live view takes the screen and draws its first frame;
 * live_frame redraws it (tick: a new period for the rates); live_key reads
 * what was typed, without blocking (MT_STOP_SIGNAL: 'q' ends tracing); live_owns: the text output is
 * the view's terminal, so the periodic text is left out; live_end gives
 * the terminal back (before the final report; any path may call it). */
void mt_session_tty_setup(struct mt_session *s);
void mt_session_live_start(struct mt_session *s);
void mt_session_live_frame(struct mt_session *s, uint64_t now, bool tick);
enum mt_stop mt_session_live_key(struct mt_session *s);
bool mt_session_live_owns(const struct mt_session *s, FILE *text);
void mt_session_live_end(struct mt_session *s);

#endif /* MT_SESSION_H */
