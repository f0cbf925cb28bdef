// SPDX-License-Identifier: BSD-2-Clause
/*
 * The GC view of a Go target (see mt_go_gc.h): the loader of
 * bpf/go_gc.bpf.c, the reader of its records, and the cycle they make.
 *
 * The probes sit on function entries only (a uretprobe in Go code makes
 * the runtime throw when it moves the goroutine's stack). A pause is the
 * time from stopTheWorldWithSema's entry to startTheWorldWithSema's: the
 * runtime's own PauseNs also starts just before the stop is asked and
 * ends inside the start, so the two differ by the probes' own cost and a
 * few instructions. Which pause a stop was is read from the runtime's
 * state at both ends, not guessed from order: a stop taken while gcphase
 * is off that resumes in mark is sweep termination; one that resumes with
 * NumGC advanced (gcMarkTermination ran inside it) is mark termination;
 * anything else (ReadMemStats, GOMAXPROCS, a goroutine profile) is "other".
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "util/mt_fmt.h"
#include "util/mt_json.h"
#include "util/mt_log.h"
#include "util/mt_time.h"
#include "sym/mt_elf.h"
#include "probe/mt_bpf_util.h"
#include "go/mt_go_cycles.h"
#include "go/mt_go_elf.h"
#include "go/mt_go_gc.h"
#include "go/mt_go_pclntab.h"
#include "go/mt_go_surv.h"
#include "go_gc.h"
#include "go_gc.skel.h"

#define NPROBES 5

struct mt_go_gc {
	pid_t pid;
	struct mt_go_rt *rt;            /* NULL: no MemStats */
	struct go_gc_bpf *skel;         /* NULL: no probes */
	struct ring_buffer *rb;
	struct bpf_link *links[NPROBES];
	bool finished;
	bool from_pcln;                 /* probes placed from .gopclntab (no symtab) */
	struct mt_go_surv *surv;        /* NULL: survival not estimated ... */
	const char *surv_why;           /* ... for this reason */
	/* the pause in progress */
	bool in_stw;
	struct mt_go_gc_ev stop;
	/* Without the runtime's state (no DWARF), by the order of entries:
	 * the first pause after a gcStart while no cycle runs is sweep
	 * termination, one gcMarkTermination runs inside is mark
	 * termination. (Not by thread: gcStart's goroutine can block on a
	 * semaphore and stop the world from another thread.) A gcStart that
	 * returns early followed by another stop of the world before the
	 * next cycle would be miscounted; with DWARF the runtime's state
	 * decides instead. */
	bool state;                     /* numgc and gcphase are read */
	bool gcstart_seen;              /* gcStart since the last pause */
	bool stop_after_gcstart;        /* the open pause is sweep termination */
	bool mark_term_in_stw;          /* gcMarkTermination ran in the open pause */
	/* the cycle in progress (sweep termination seen, not yet ended) */
	bool in_cycle;
	struct mt_go_gc_cycle cur;
	struct mt_go_cycles cycles;     /* bounded, exact totals */
	uint64_t sampled_at;            /* cycles.count at the last MemStats reading */
	uint64_t surv_polled_ns;        /* the last GC-survival poll */
	struct mt_go_gc_stats st;
	bool have_ms;
	struct mt_go_memstats ms;
	uint32_t first_numgc;           /* NumGC at the first reading */
	uint64_t first_total_alloc, first_read_ns;
	bool have_first;
};

static const char *const probe_syms[NPROBES] = {
	"runtime.gcStart", "runtime.stopTheWorldWithSema", "runtime.startTheWorldWithSema",
	"runtime.gcMarkDone", "runtime.gcMarkTermination",
};

static void end_cycle(struct mt_go_gc *gc, const struct mt_go_gc_ev *e)
{
	struct mt_go_gc_cycle c = gc->in_cycle ? gc->cur : (struct mt_go_gc_cycle){ 0 };

	/* without DWARF, numbered from 1 at attach */
	c.n = gc->state ? e->numgc : (uint32_t)gc->st.cycles + 1;
	c.stw2_ns = e->ts_ns - gc->stop.ts_ns;
	if (c.whole)
		c.mark_ns = gc->stop.ts_ns - (c.start_ns + c.stw1_ns);
	c.end_ns = e->ts_ns;
	c.heap_start = e->watch[0];
	c.heap_end = e->watch[1];
	c.heap_marked = e->watch[2];
	c.goal = e->watch[3];
	gc->in_cycle = false;
	gc->st.cycles++;
	gc->st.pause_ns += c.stw2_ns + c.stw1_ns;
	mt_go_cycles_add(&gc->cycles, &c);
}

static void on_start_world(struct mt_go_gc *gc, const struct mt_go_gc_ev *e)
{
	uint64_t dur;

	if (!gc->in_stw)
		return;   /* the stop was before we attached */
	gc->in_stw = false;
	dur = e->ts_ns - gc->stop.ts_ns;
	if (gc->state ? gc->stop.gcphase == 0 && e->gcphase == 1 : gc->stop_after_gcstart) {
		/* sweep termination: the cycle began, mark runs from now */
		memset(&gc->cur, 0, sizeof(gc->cur));
		gc->cur.whole = true;
		gc->cur.start_ns = gc->stop.ts_ns;
		gc->cur.stw1_ns = dur;
		gc->in_cycle = true;
		if (gc->state)   /* NumGC counts the cycle once it ends */
			mt_go_surv_mark_start(gc->surv, e->ts_ns, e->numgc + 1);
	} else if (gc->state ? e->numgc != gc->stop.numgc : gc->mark_term_in_stw) {
		end_cycle(gc, e);
	} else {
		gc->st.other_stw++;
		gc->st.other_stw_ns += dur;
	}
}

static int on_event(void *arg, void *data, size_t len)
{
	struct mt_go_gc *gc = arg;
	const struct mt_go_gc_ev *e = data;

	if (len < sizeof(*e))
		return 0;
	switch (e->kind) {
	case MT_GO_GC_START:
		gc->gcstart_seen = true;
		break;
	case MT_GO_GC_STW_STOP:
		gc->in_stw = true;
		gc->stop = *e;
		gc->stop_after_gcstart = gc->gcstart_seen && !gc->in_cycle;
		gc->mark_term_in_stw = false;
		gc->gcstart_seen = false;
		break;
	case MT_GO_GC_STW_START:
		on_start_world(gc, e);
		break;
	case MT_GO_GC_MARK_TERM:
		gc->mark_term_in_stw = gc->in_stw;
		break;
	default:   /* gcMarkDone: counted only */
		break;
	}
	return 0;
}

/* ---- loading ---- */

/* The probes' places from Go's own function table when the symbol table
 * lacks them (-ldflags=-s): .gopclntab survives every strip, since the
 * runtime needs it for its tracebacks. 0 with every f[i] found, -errno. */
static int pcln_funcs(const char *exe, struct mt_elf_func *f, size_t n)
{
	struct mt_go_pcln *p = NULL;
	struct mt_go_elf e;
	uint64_t end;
	size_t i;
	int err;

	err = mt_go_pcln_open(exe, &p);
	if (err)
		return err;
	err = mt_go_elf_open(exe, &e);
	if (err)
		goto out;
	for (i = 0; i < n && !err; i++) {
		if (f[i].found)
			continue;
		err = mt_go_pcln_func(p, f[i].name, &f[i].vaddr, &end);
		if (!err)
			err = mt_go_elf_file_off(&e, f[i].vaddr, &f[i].file_off);
		if (err)
			mt_info("Go GC cycles not traced: '%s' has no %s in its symbol table "
				"nor in its Go function table", exe, f[i].name);
		f[i].found = !err;
	}
	mt_go_elf_close(&e);
out:
	mt_go_pcln_free(p);
	return err;
}

static int attach_probes(struct mt_go_gc *gc, const char *exe)
{
	struct mt_elf_func f[NPROBES];
	struct go_gc_bpf *s;
	struct bpf_program *progs[NPROBES];
	int i, n, err;

	memset(f, 0, sizeof(f));
	for (i = 0; i < NPROBES; i++)
		f[i].name = probe_syms[i];
	n = mt_elf_find_funcs(exe, f, NPROBES);
	if (n < 0) {
		mt_info("Go GC cycles not traced: cannot read '%s': %s", exe, strerror(-n));
		return n;
	}
	if (n < NPROBES) {
		err = pcln_funcs(exe, f, NPROBES);
		if (err)
			return err == -ENOENT ? err : -ENOENT;
		gc->from_pcln = true;
	}
	s = go_gc_bpf__open();
	if (!s) {
		err = -errno;
		mt_err("cannot open the Go GC BPF object: %s", strerror(-err));
		return err;
	}
	s->rodata->target_tgid = (__u32)gc->pid;
	/* 4 KiB: a wakeup every ~13 cycles (5 events of 64 bytes each). The
	 * pause ring is read after every 128 cycles consumed; at 64 KiB a
	 * wakeup came every ~200 cycles, and a program collecting a thousand
	 * times a second wrapped the runtime's 256-entry ring before it. */
	s->rodata->wakeup_bytes = 4 * 1024;
	gc->state = gc->rt != NULL;
	if (gc->rt) {
		s->rodata->numgc_addr = mt_go_rt_addr(gc->rt, MT_GO_W_NUMGC);
		s->rodata->gcphase_addr = mt_go_rt_addr(gc->rt, MT_GO_W_GCPHASE);
		for (i = 0; i < MT_GO_GC_WATCH; i++)
			s->rodata->watch_addr[i] = mt_go_rt_addr(gc->rt, MT_GO_W_HEAP0 + i);
	}
	gc->skel = s;
	err = go_gc_bpf__load(s);
	if (err) {
		mt_err("cannot load the Go GC BPF programs: %s", strerror(-err));
		return err;
	}
	progs[0] = s->progs.mt_go_gc_start;
	progs[1] = s->progs.mt_go_stw_stop;
	progs[2] = s->progs.mt_go_stw_start;
	progs[3] = s->progs.mt_go_gc_mark_done;
	progs[4] = s->progs.mt_go_gc_mark_term;
	for (i = 0; i < NPROBES; i++) {
		gc->links[i] = bpf_program__attach_uprobe(progs[i], false, gc->pid, exe,
							  f[i].file_off);
		if (!gc->links[i]) {
			err = -errno;
			mt_err("cannot attach a uprobe to %s in '%s': %s", probe_syms[i], exe,
			       strerror(-err));
			return err;
		}
	}
	gc->rb = ring_buffer__new(bpf_map__fd(s->maps.mt_go_gc_events), on_event, gc, NULL);
	if (!gc->rb) {
		err = -errno;
		mt_err("cannot read the Go GC ring buffer: %s", strerror(-err));
		return err;
	}
	return 0;
}

static void detach(struct mt_go_gc *gc)
{
	int i;

	for (i = 0; i < NPROBES; i++) {
		bpf_link__destroy(gc->links[i]);
		gc->links[i] = NULL;
	}
}

int mt_go_gc_open(pid_t pid, const char *exe, struct mt_go_gc **out)
{
	struct mt_go_gc *gc = calloc(1, sizeof(*gc));
	int err;

	*out = NULL;
	if (!gc)
		return -ENOMEM;
	gc->pid = pid;
	mt_go_rt_open(pid, exe, &gc->rt);     /* says why when it cannot */
	err = attach_probes(gc, exe);
	if (err) {
		detach(gc);
		ring_buffer__free(gc->rb);
		gc->rb = NULL;
		go_gc_bpf__destroy(gc->skel);
		gc->skel = NULL;
		if (!gc->rt || err != -ENOENT) {
			mt_go_gc_free(gc);
			return err;
		}
	}
	if (gc->skel && gc->from_pcln)
		mt_info("Go GC: '%s' has no symbol table: GC probes placed from .gopclntab; "
			"%s", exe, gc->rt ? "cycles, pauses and MemStats traced" :
			"no DWARF either: cycles and pauses traced (told apart by probe order, "
			"numbered from 1 at attach), no per-cycle heap sizes, no runtime "
			"pause times, no MemStats");
	mt_go_gc_sample(gc);
	*out = gc;
	return 0;
}

void mt_go_gc_survival(struct mt_go_gc *gc, struct mt_go_alloc *a)
{
	int err;

	if (!gc || !a)
		return;
	if (!gc->rt)
		gc->surv_why = "no runtime layout (no DWARF, or an unknown Go runtime)";
	else if (!gc->skel)
		gc->surv_why = "the GC probes are not attached";
	else if ((err = mt_go_surv_open(gc->rt, a, &gc->surv, &gc->surv_why)) == -ENOMEM)
		gc->surv_why = "out of memory";
	if (gc->surv_why)
		mt_info("Go GC survival not estimated: %s", gc->surv_why);
}

const struct mt_go_surv *mt_go_gc_surv(const struct mt_go_gc *gc, const char **why)
{
	*why = gc ? gc->surv_why : "the Go garbage collector is not traced";
	return gc ? gc->surv : NULL;
}

void mt_go_gc_enable(struct mt_go_gc *gc)
{
	if (gc && gc->skel)
		gc->skel->bss->mt_go_gc_enabled = 1;
}

int mt_go_gc_poll_fd(const struct mt_go_gc *gc)
{
	return gc && gc->rb ? ring_buffer__epoll_fd(gc->rb) : -1;
}

int mt_go_gc_consume(struct mt_go_gc *gc)
{
	int n;

	if (!gc || !gc->rb)
		return 0;
	n = ring_buffer__consume(gc->rb);
	if (n < 0) {
		mt_err("cannot read the Go GC events: %s", strerror(-n));
		return n;
	}
	/* The runtime keeps the pauses of its last 256 cycles only: a program
	 * that collects faster than the once-a-second reading (a tight
	 * GOMEMLIMIT) would wrap that ring between readings, so read again
	 * after every 128 cycles seen. */
	if (gc->rt && gc->cycles.count - gc->sampled_at >= MT_GO_PAUSE_RING / 2) {
		gc->sampled_at = gc->cycles.count;   /* a failed read is not retried at once */
		mt_go_gc_sample(gc);
	}
	/* Survival reads the target's spans for every pending sample: at most
	 * every 20 ms, not at every wakeup of a program collecting a thousand
	 * times a second. */
	uint64_t now = mt_now_ns();

	if (now - gc->surv_polled_ns >= 20 * 1000000ull) {
		gc->surv_polled_ns = now;
		mt_go_surv_poll(gc->surv);
	}
	return 0;
}

void mt_go_gc_sample(struct mt_go_gc *gc)
{
	struct mt_go_memstats ms;

	if (!gc || !gc->rt || mt_go_memstats_read(gc->rt, &ms))
		return;
	gc->ms = ms;
	gc->have_ms = true;
	gc->sampled_at = gc->cycles.count;
	if (!gc->have_first) {
		gc->first_numgc = ms.num_gc;
		gc->first_total_alloc = ms.total_alloc;
		gc->first_read_ns = ms.read_ns;
		gc->have_first = true;
	}
	mt_go_cycles_runtime_pauses(&gc->cycles, &ms);
}

void mt_go_gc_finish(struct mt_go_gc *gc, bool target_alive)
{
	uint64_t v;

	if (!gc || gc->finished)
		return;
	gc->finished = true;
	detach(gc);
	mt_go_gc_consume(gc);
	if (gc->skel) {
		int fd = bpf_map__fd(gc->skel->maps.mt_go_gc_counters);

		if (!mt_bpf_percpu_sum(fd, MT_GO_GC_C_EVENTS, &v))
			gc->st.events = v;
		if (!mt_bpf_percpu_sum(fd, MT_GO_GC_C_DROPS, &v))
			gc->st.drops = v;
		if (!mt_bpf_percpu_sum(fd, MT_GO_GC_C_FAULTS, &v))
			gc->st.faults = v;
	}
	if (target_alive)
		mt_go_gc_sample(gc);
}

void mt_go_gc_free(struct mt_go_gc *gc)
{
	if (!gc)
		return;
	detach(gc);
	ring_buffer__free(gc->rb);
	go_gc_bpf__destroy(gc->skel);
	mt_go_surv_free(gc->surv);
	mt_go_rt_close(gc->rt);
	free(gc);
}

void mt_go_gc_stats(const struct mt_go_gc *gc, struct mt_go_gc_stats *st)
{
	*st = gc->st;
}

const struct mt_go_memstats *mt_go_gc_memstats(const struct mt_go_gc *gc)
{
	return gc->have_ms ? &gc->ms : NULL;
}

/* ---- reports ---- */

static void json_memstats(struct mt_json *j, const struct mt_go_memstats *ms)
{
	mt_json_obj_begin(j);
	mt_json_key_u64(j, "heap_alloc", ms->heap_alloc);
	mt_json_key_u64(j, "heap_sys", ms->heap_sys);
	mt_json_key_u64(j, "heap_idle", ms->heap_idle);
	mt_json_key_u64(j, "heap_inuse", ms->heap_inuse);
	mt_json_key_u64(j, "heap_released", ms->heap_released);
	mt_json_key_u64(j, "heap_objects", ms->heap_objects);
	mt_json_key_u64(j, "total_alloc", ms->total_alloc);
	mt_json_key_u64(j, "mallocs", ms->mallocs);
	mt_json_key_u64(j, "frees", ms->frees);
	mt_json_key_u64(j, "next_gc", ms->next_gc);
	mt_json_key_u64(j, "last_gc_unix_ns", ms->last_gc_unix_ns);
	mt_json_key_u64(j, "num_gc", ms->num_gc);
	mt_json_key_u64(j, "num_forced_gc", ms->num_forced_gc);
	mt_json_key_u64(j, "pause_total_ns", ms->pause_total_ns);
	mt_json_key_double(j, "gc_cpu_fraction", ms->gc_cpu_fraction);
	mt_json_key(j, "gogc");
	if (ms->gogc < 0)
		mt_json_null(j);
	else
		mt_json_i64(j, ms->gogc);
	mt_json_key(j, "memory_limit");
	if (ms->memory_limit == INT64_MAX)
		mt_json_null(j);
	else
		mt_json_i64(j, ms->memory_limit);
	mt_json_key_u64(j, "heap_live", ms->heap_live);
	mt_json_key_u64(j, "heap_marked", ms->heap_marked);
	mt_json_obj_end(j);
}

int mt_go_gc_json_members(struct mt_json *j, const struct mt_go_gc *gc)
{
	const struct mt_go_memstats *ms = mt_go_gc_memstats(gc);

	mt_json_key(j, "gc");
	if (!gc->skel && !ms) {
		mt_json_null(j);
	} else {
		mt_json_obj_begin(j);
		mt_json_key(j, "traced");
		mt_json_bool(j, gc->skel != NULL);
		mt_json_key_u64(j, "cycles", gc->st.cycles);
		mt_json_key_u64(j, "pause_total_ns", gc->st.pause_ns);
		mt_json_key_u64(j, "other_stw", gc->st.other_stw);
		mt_json_key_u64(j, "other_stw_ns", gc->st.other_stw_ns);
		mt_json_key_u64_or_null(j, "num_gc_delta", ms && gc->have_first,
					ms && gc->have_first ? ms->num_gc - gc->first_numgc : 0);
		mt_json_key_double_or_null(j, "cpu_fraction", ms != NULL, ms ? ms->gc_cpu_fraction : 0);
		mt_json_key_u64(j, "lost_events", gc->st.drops);
		mt_go_cycles_json(j, &gc->cycles);
		mt_json_obj_end(j);
	}
	mt_json_key(j, "memstats");
	if (ms)
		json_memstats(j, ms);
	else
		mt_json_null(j);
	return 0;
}

int mt_go_gc_json(struct mt_json *j, void *gc)
{
	int err;

	mt_json_obj_begin(j);
	err = mt_go_gc_json_members(j, gc);
	mt_json_obj_end(j);
	return err;
}

static const char *ns_str(char *buf, size_t n, uint64_t ns)
{
	if (ns >= 1000000000ull)
		snprintf(buf, n, "%.2f s", (double)ns / 1e9);
	else if (ns >= 1000000ull)
		snprintf(buf, n, "%.2f ms", (double)ns / 1e6);
	else
		snprintf(buf, n, "%.1f us", (double)ns / 1e3);
	return buf;
}

/* What GOGC would change, at the allocation rate measured while traced:
 * in the steady state a cycle starts each time the heap has grown by
 * GOGC% of the live heap (what the last cycle marked), or up to the
 * runtime's minimum goal of 4 MiB * GOGC/100, so cycles/s = rate / (goal -
 * marked). An estimate: it ignores the memory limit (said when one is
 * set) and a live heap that changes. */
static void what_if(FILE *f, const struct mt_go_gc *gc, const struct mt_go_memstats *ms)
{
	static const int gogcs[] = { 50, 100, 200, 400 };
	double secs = (double)(ms->read_ns - gc->first_read_ns) / 1e9, rate;
	char r[32], m[32];
	size_t i;

	if (secs < 0.1 || ms->total_alloc <= gc->first_total_alloc || !ms->heap_marked)
		return;
	rate = (double)(ms->total_alloc - gc->first_total_alloc) / secs;
	fprintf(f, "  what if (estimate at %s/s allocated, %s marked live): GC cycles/s at GOGC",
		mt_fmt_bytes(r, sizeof(r), (uint64_t)rate), mt_fmt_bytes(m, sizeof(m), ms->heap_marked));
	for (i = 0; i < sizeof(gogcs) / sizeof(gogcs[0]); i++) {
		/* the goal: marked * (1 + GOGC/100), at least the runtime's
		 * minimum heap, 4 MiB * GOGC/100 */
		double goal = (double)ms->heap_marked * (1 + gogcs[i] / 100.0);
		double room, min = (double)(4 << 20) * gogcs[i] / 100;

		if (goal < min)
			goal = min;
		room = goal - (double)ms->heap_marked;
		if (room < 1)
			room = 1;
		fprintf(f, " %d: %.2f%s", gogcs[i], rate / room,
			i + 1 < sizeof(gogcs) / sizeof(gogcs[0]) ? "," : "\n");
	}
	if (ms->memory_limit != INT64_MAX)
		fprintf(f, "    (the memory limit may run more cycles than these)\n");
}

int mt_go_gc_text(FILE *f, const struct mt_go_gc *gc)
{
	const struct mt_go_memstats *ms = mt_go_gc_memstats(gc);
	char a[32], b[32], c[32], d[32], e[32];
	size_t i, first, kept = mt_go_cycles_kept(&gc->cycles);

	fprintf(f, "\nGo garbage collector:\n");
	if (gc->skel) {
		fprintf(f, "  %llu GC cycles traced, pauses %s in total", (unsigned long long)gc->st.cycles,
			ns_str(a, sizeof(a), gc->st.pause_ns));
		if (gc->st.cycles)
			fprintf(f, ", longest cycle %s",
				ns_str(c, sizeof(c), gc->cycles.pause_max_ns));
		if (gc->st.other_stw)
			fprintf(f, "; %llu other stops of the world (%s)",
				(unsigned long long)gc->st.other_stw,
				ns_str(b, sizeof(b), gc->st.other_stw_ns));
		fprintf(f, "\n");
		if (gc->st.drops)
			fprintf(f, "  warning: %llu GC events lost (ring buffer full)\n",
				(unsigned long long)gc->st.drops);
	} else {
		fprintf(f, "  GC cycles not traced (see the message at attach)\n");
	}
	if (kept) {
		fprintf(f, "  %6s %10s %10s %10s %10s  %s\n", "cycle", "sweepterm", "mark",
			"markterm", "pause(rt)", "heap start -> end -> marked, goal");
		first = kept > 20 ? kept - 20 : 0;
		if (first)
			fprintf(f, "  ... %llu earlier cycles (the last %zu in the JSON report)\n",
				(unsigned long long)(gc->cycles.count - kept + first), kept);
		for (i = first; i < kept; i++) {
			const struct mt_go_gc_cycle *y = mt_go_cycles_at(&gc->cycles, i);
			char h0[16], h1[16], h2[16], g[16];

			fprintf(f, "  %6u %10s %10s %10s %10s  %s -> %s -> %s, %s goal\n", y->n,
				y->whole ? ns_str(a, sizeof(a), y->stw1_ns) : "-",
				y->whole ? ns_str(b, sizeof(b), y->mark_ns) : "-",
				ns_str(c, sizeof(c), y->stw2_ns),
				y->pause_ns ? ns_str(d, sizeof(d), y->pause_ns) : "-",
				mt_fmt_bytes(h0, sizeof(h0), y->heap_start),
				mt_fmt_bytes(h1, sizeof(h1), y->heap_end),
				mt_fmt_bytes(h2, sizeof(h2), y->heap_marked),
				mt_fmt_bytes(g, sizeof(g), y->goal));
		}
	}
	if (!ms) {
		fprintf(f, "  MemStats unavailable (see the message at attach)\n");
		return 0;
	}
	fprintf(f, "  MemStats: HeapAlloc %s, HeapInuse %s, HeapIdle %s, HeapReleased %s,\n",
		mt_fmt_bytes(a, sizeof(a), ms->heap_alloc), mt_fmt_bytes(b, sizeof(b), ms->heap_inuse),
		mt_fmt_bytes(c, sizeof(c), ms->heap_idle), mt_fmt_bytes(d, sizeof(d), ms->heap_released));
	fprintf(f, "    HeapObjects %llu, NextGC %s, NumGC %u, PauseTotalNs %s, GCCPUFraction %.4f\n",
		(unsigned long long)ms->heap_objects, mt_fmt_bytes(a, sizeof(a), ms->next_gc),
		ms->num_gc, ns_str(b, sizeof(b), ms->pause_total_ns), ms->gc_cpu_fraction);
	if (ms->gogc < 0)
		snprintf(c, sizeof(c), "off");
	else
		snprintf(c, sizeof(c), "%d", ms->gogc);
	if (ms->memory_limit == INT64_MAX)
		snprintf(e, sizeof(e), "none");
	else
		mt_fmt_bytes(e, sizeof(e), (uint64_t)ms->memory_limit);
	fprintf(f, "    GOGC %s, memory limit %s\n", c, e);
	what_if(f, gc, ms);
	return 0;
}

uint64_t mt_go_gc_map_bytes(const struct mt_go_gc *gc, uint64_t *ring_bytes)
{
	return mt_bpf_obj_map_bytes(gc && gc->skel ? gc->skel->obj : NULL, ring_bytes);
}
