/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The exactness rules, in one place: how one outermost allocator call, as
 * recorded by bpf/heap.bpf.c, changes the aggregator. The BPF side already
 * keeps only the outermost call of a nest (realloc(NULL, n) jumping into
 * malloc is one realloc call); everything else is decided here:
 *   - every call counts once under its entry point, failed or not;
 *   - realloc/reallocarray returning non-NULL: free of the old block (when
 *     not NULL) + allocation of the new one, in that order;
 *   - realloc(p, 0) returning NULL (glibc frees p): a free of p;
 *   - any other NULL result: a failed allocation, nothing else changes;
 *     malloc(0)-style calls returning NULL are not failures;
 *   - calloc(n, s) is n * s bytes; bytes are always the requested sizes;
 *   - free(NULL) is a call and nothing more; a free of an address never
 *     seen allocated is an untracked free;
 *   - a call the allocator made of itself (MT_EV_F_INTERNAL: glibc's thread
 *     teardown freeing its cache) counts in internal_calls, not calls; its
 *     free releases a tracked block and is never an untracked free; an
 *     internal allocation is tracked like any other.
 * Sampling mode (MT_EV_F_SAMPLING, docs/sampling.md): only sampled blocks
 * and failed calls make events, calls are counted in BPF (not here), a
 * realloc's arg0 is 0 unless its old block was sampled, and
 * MT_EV_F_UNSAMPLED (a realloc whose new block was not sampled) applies
 * the release of the old block and nothing else. The aggregator weights
 * each sampled block (mt_agg_set_sampling).
 */
#ifndef MT_RULES_H
#define MT_RULES_H

#include <linux/types.h>
#include "heap.h"
#include "collect/mt_agg.h"

/* Apply ev to a. site is the interned stack of ev (ignored for frees;
 * MT_SITE_NONE is accepted). Returns 0 or -ENOMEM; -EINVAL for an unknown
 * kind (the call is still counted) or a site id a never returned.
 * A realloc whose old block is unknown counts that as an untracked free. */
int mt_rules_apply(struct mt_agg *a, const struct mt_heap_event *ev, uint32_t site);

/* Requested bytes of an allocating call; 0 for free. Saturates on overflow. */
uint64_t mt_rules_size(const struct mt_heap_event *ev);

#endif /* MT_RULES_H */
