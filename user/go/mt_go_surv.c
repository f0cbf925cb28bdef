// SPDX-License-Identifier: BSD-2-Clause
/*
 * GC survival per site (see mt_go_surv.h). Cost: for memtrace, per poll
 * two words of the runtime and, per sample decided, a few small reads of
 * the target (arena, span, one byte of bits); for the target, nothing
 * beyond the probes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "go/mt_go_alloc.h"
#include "go/mt_go_memstats.h"
#include "go/mt_go_surv.h"
#include "util/mt_grow.h"
#include "util/mt_log.h"

#define MAX_PENDING 65536
#define MSPAN_MAX 512          /* bytes of mspan read (its size from DWARF) */
#define SPAN_IN_USE 1          /* mSpanInUse */
/* The RET probes' duty cycle: on for WINDOW_MS of every PERIOD_MS, from
 * attach. While on, every mallocgc call pays a second uprobe hit (about
 * doubling the probe's cost, measured); switching them costs the target
 * too (more than short windows save, measured), hence few long windows:
 * a site's survival is a property of its code, a sample of seconds
 * tells it. */
#define WINDOW_MS 2000
#define PERIOD_MS 30000

struct pend {
	uint64_t addr, ts;
	uint32_t site;
	uint32_t target;           /* NumGC of its cycle; 0: not known yet */
};

struct tally {
	uint32_t id;
	uint64_t sampled, survived;
};

struct mark {
	uint64_t ns;
	uint32_t n;
};

struct mt_go_surv {
	struct mt_go_rt *rt;
	const struct mt_go_spans *sp;
	struct mt_go_alloc *a;
	uint64_t numgc_addr;
	struct mark *marks;
	size_t nmarks, mcap;
	struct pend *pend;
	size_t npend, pcap;
	struct tally *tab;         /* open addressing by id, tcap a power of two */
	size_t tcap, tn;
	struct mt_go_surv_stats st;
	uint64_t t0_ns;            /* the first window's start */
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The RET probes on in the window's part of each period. */
static void duty(struct mt_go_surv *s)
{
	uint64_t in = (mono_ns() - s->t0_ns) / 1000000 % PERIOD_MS;

	mt_go_alloc_sample_window(s->a, in < WINDOW_MS);
}

enum verdict { KEEP, EXPIRE, NOT_HEAP, DEAD, LIVE };

int mt_go_surv_open(struct mt_go_rt *rt, struct mt_go_alloc *a, struct mt_go_surv **out,
		    const char **why)
{
	const struct mt_go_spans *sp;
	struct mt_go_surv *s;

	*out = NULL;
	if (!mt_go_alloc_sampling(a)) {
		*why = "no samples (the returns of runtime.mallocgc are not probed)";
		return -ENOTSUP;
	}
	sp = mt_go_rt_spans(rt, why);
	if (!sp)
		return -ENOTSUP;
	if (sp->mspan_size > MSPAN_MAX) {
		*why = "runtime.mspan is larger than memtrace reads";
		return -ENOTSUP;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->rt = rt;
	s->sp = sp;
	s->a = a;
	s->numgc_addr = mt_go_rt_addr(rt, MT_GO_W_NUMGC);
	s->t0_ns = mono_ns();
	if (mt_go_alloc_sample_window(a, true)) {
		mt_go_surv_free(s);
		*why = "the returns of runtime.mallocgc cannot be probed";
		return -ENOTSUP;
	}
	*out = s;
	return 0;
}

void mt_go_surv_free(struct mt_go_surv *s)
{
	if (!s)
		return;
	free(s->marks);
	free(s->pend);
	free(s->tab);
	free(s);
}

void mt_go_surv_mark_start(struct mt_go_surv *s, uint64_t ns, uint32_t n)
{
	if (!s || (s->nmarks && s->marks[s->nmarks - 1].ns >= ns))
		return;
	if (MT_GROW(s->marks, s->nmarks + 1, s->mcap))
		return;
	s->marks[s->nmarks++] = (struct mark){ ns, n };
}

static struct tally *tally(struct mt_go_surv *s, uint32_t id)
{
	size_t i;

	if (s->tn * 2 >= s->tcap) {   /* grow: rehash */
		size_t ncap = s->tcap ? s->tcap * 2 : 1024, j;
		struct tally *nt = calloc(ncap, sizeof(*nt));

		if (!nt)
			return NULL;
		for (j = 0; j < s->tcap; j++) {
			if (!s->tab[j].id)
				continue;
			for (i = s->tab[j].id * 2654435761u & (ncap - 1); nt[i].id; i = (i + 1) & (ncap - 1))
				;
			nt[i] = s->tab[j];
		}
		free(s->tab);
		s->tab = nt;
		s->tcap = ncap;
	}
	for (i = id * 2654435761u & (s->tcap - 1); s->tab[i].id; i = (i + 1) & (s->tcap - 1))
		if (s->tab[i].id == id)
			return &s->tab[i];
	s->tab[i].id = id;
	s->tn++;
	return &s->tab[i];
}

static int on_sample(void *arg, void *data, size_t len)
{
	struct mt_go_surv *s = arg;
	const struct mt_go_sample *r = data;

	if (len < sizeof(*r))
		return 0;
	s->st.samples++;
	if (s->npend >= MAX_PENDING || MT_GROW(s->pend, s->npend + 1, s->pcap)) {
		s->st.dropped++;
		return 0;
	}
	s->pend[s->npend++] = (struct pend){ .addr = r->addr, .ts = r->ts_ns, .site = r->site };
	return 0;
}

/* The first cycle whose mark starts after ts: 0 while none is known. */
static uint32_t target_of(const struct mt_go_surv *s, uint64_t ts)
{
	size_t lo = 0, hi = s->nmarks;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->marks[mid].ns > ts)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo < s->nmarks ? s->marks[lo].n : 0;
}

static int peek_u64(const struct mt_go_surv *s, uint64_t addr, uint64_t *v)
{
	return mt_go_rt_peek(s->rt, addr, v, sizeof(*v));
}

/* Was p's object marked by its cycle? numgc and sweepgen: the runtime's
 * now, l2: the arena map's second level. */
static enum verdict decide(const struct mt_go_surv *s, const struct pend *p, uint32_t numgc,
			   uint32_t sg, uint64_t l2)
{
	const struct mt_go_spans *sp = s->sp;
	uint8_t m[MSPAN_MAX], byte;
	uint64_t ai, ha, span, start, npages, elemsize, idx, bits, mark, alloc;
	uint32_t ssg, ssg2;
	bool same = numgc == p->target;

	if (!p->target || numgc < p->target)
		return KEEP;
	if (numgc > p->target + 1)
		return EXPIRE;
	ai = (p->addr - sp->arena_base) >> sp->arena_shift;
	if (ai >= sp->n_l2 || peek_u64(s, l2 + 8 * ai, &ha) || !ha)
		return NOT_HEAP;
	if (peek_u64(s, ha + sp->spans_off + 8 * ((p->addr >> sp->page_shift) &
			((1ull << (sp->arena_shift - sp->page_shift)) - 1)), &span))
		return NOT_HEAP;
	if (!span)   /* the page is in no span: freed by its cycle's sweep */
		return same ? DEAD : EXPIRE;
	if (mt_go_rt_peek(s->rt, span, m, sp->mspan_size))
		return KEEP;
	memcpy(&start, m + sp->off_start, 8);
	memcpy(&npages, m + sp->off_npages, 8);
	memcpy(&elemsize, m + sp->off_elemsize, 8);
	memcpy(&alloc, m + sp->off_alloc, 8);
	memcpy(&mark, m + sp->off_mark, 8);
	memcpy(&ssg, m + sp->off_sweepgen, 4);
	if (m[sp->off_state] != SPAN_IN_USE || p->addr < start ||
	    p->addr - start >= npages << sp->page_shift || !elemsize)
		return same ? DEAD : EXPIRE;   /* its span was freed (and maybe reused) */
	idx = (p->addr - start) / elemsize;
	if (ssg == sg || ssg == sg + 3)          /* swept in this cycle: alloc = its marks */
		bits = same ? alloc : 0;
	else if (ssg == sg - 2 || ssg == sg + 1) /* not swept yet */
		bits = same ? mark : alloc;
	else                                     /* being swept now */
		return KEEP;
	if (!bits)
		return EXPIRE;
	if (mt_go_rt_peek(s->rt, bits + idx / 8, &byte, 1) ||
	    mt_go_rt_peek(s->rt, span + sp->off_sweepgen, &ssg2, 4) || ssg2 != ssg)
		return KEEP;
	return byte >> (idx % 8) & 1 ? LIVE : DEAD;
}

/* The runtime's cycle and sweep generation: 0 or -errno. */
static int now(const struct mt_go_surv *s, uint32_t *numgc, uint32_t *sg)
{
	int err = mt_go_rt_peek(s->rt, s->numgc_addr, numgc, 4);

	return err ? err : mt_go_rt_peek(s->rt, s->sp->sweepgen_addr, sg, 4);
}

void mt_go_surv_poll(struct mt_go_surv *s)
{
	uint32_t n1, sg1, n2, sg2;
	enum verdict *v = NULL;
	uint64_t l2;
	size_t i, j;

	if (!s)
		return;
	duty(s);
	if (mt_go_alloc_samples(s->a, on_sample, s) || !s->npend)
		return;
	for (i = 0; i < s->npend; i++)
		if (!s->pend[i].target)
			s->pend[i].target = target_of(s, s->pend[i].ts);
	if (now(s, &n1, &sg1) || peek_u64(s, s->sp->arenas_addr, &l2) || !l2)
		return;
	v = malloc(s->npend * sizeof(*v));
	if (!v)
		return;
	for (i = 0; i < s->npend; i++)
		v[i] = decide(s, &s->pend[i], n1, sg1, l2);
	/* a cycle ended (or a sweep generation began) while reading: the
	 * verdicts may mix two cycles, read them again at the next poll */
	if (now(s, &n2, &sg2) || n2 != n1 || sg2 != sg1)
		goto out;
	for (i = j = 0; i < s->npend; i++) {
		struct tally *t;

		switch (v[i]) {
		case KEEP:
			s->pend[j++] = s->pend[i];
			continue;
		case EXPIRE:
			s->st.expired++;
			continue;
		case NOT_HEAP:
			s->st.not_heap++;
			continue;
		default:
			break;
		}
		t = tally(s, s->pend[i].site);
		if (!t) {
			s->st.dropped++;
			continue;
		}
		t->sampled++;
		s->st.decided++;
		if (v[i] == LIVE) {
			t->survived++;
			s->st.survived++;
		}
	}
	s->npend = j;
out:
	free(v);
}

bool mt_go_surv_site(const struct mt_go_surv *s, uint32_t id, uint64_t *sampled,
		     uint64_t *survived)
{
	size_t i;

	if (!s || !s->tcap || !id)
		return false;
	for (i = id * 2654435761u & (s->tcap - 1); s->tab[i].id; i = (i + 1) & (s->tcap - 1))
		if (s->tab[i].id == id) {
			*sampled = s->tab[i].sampled;
			*survived = s->tab[i].survived;
			return s->tab[i].sampled > 0;
		}
	return false;
}

void mt_go_surv_stats(const struct mt_go_surv *s, struct mt_go_surv_stats *st)
{
	*st = s->st;
	st->pending = s->npend;
}
