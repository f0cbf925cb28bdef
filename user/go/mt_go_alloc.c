// SPDX-License-Identifier: BSD-2-Clause
/*
 * The Go allocation tracer's loader and reader (see mt_go_alloc.h): the
 * twin of probe/mt_heap.c for bpf/go_alloc.bpf.c, much smaller because
 * the counting is done in the kernel and nothing streams.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "go/mt_go_alloc.h"
#include "probe/mt_bpf_util.h"
#include "util/mt_log.h"
#include "go_alloc.skel.h"

struct mt_go_alloc {
	struct go_alloc_bpf *skel;
	struct bpf_link *link;          /* the entry probe; NULL while disarmed */
	struct bpf_link *rets[MT_GO_MAX_RETS];
	uint64_t ret_offs[MT_GO_MAX_RETS];
	uint64_t off;                   /* the entry probe's file offset */
	size_t nrets;                   /* RET places */
	bool rets_on, stopped;
	/* the survival schedule wants the RET probes: they are attached
	 * while the entry probe is (a RET hit without it is a trap for
	 * nothing) */
	bool rets_wanted;
	/* closing a window (or disarming): its links are destroyed by this
	 * thread (each uprobe unregister waits for a grace period: ~0.5 s in
	 * all, which held memtrace's loop past the GC pause ring's 256
	 * cycles) */
	pthread_t closer;
	bool closing;
	int closed;                     /* the thread is done (atomic) */
	struct bpf_link *closing_links[MT_GO_MAX_RETS + 1];
	size_t nclosing;
	uint32_t window;
	int pid;
	char *path;
	struct ring_buffer *rb;
	int (*fn)(void *arg, void *data, size_t len);
	void *arg;
};

static int attach_entry(struct mt_go_alloc *a)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uo, .retprobe = false);
	int err;

	a->link = bpf_program__attach_uprobe_opts(a->skel->progs.mt_go_mallocgc, a->pid, a->path,
						  (size_t)a->off, &uo);
	if (a->link)
		return 0;
	err = -errno;
	mt_err("cannot attach to runtime.mallocgc in '%s' (offset 0x%llx): %s", a->path,
	       (unsigned long long)a->off, strerror(-err));
	return err;
}

static int on_sample(void *arg, void *data, size_t len)
{
	struct mt_go_alloc *a = arg;

	return a->fn ? a->fn(a->arg, data, len) : 0;
}

int mt_go_alloc_open(int pid, const char *path, uint64_t off, const uint64_t *rets,
		     size_t nrets, struct mt_go_alloc **out)
{
	struct mt_go_alloc *a = calloc(1, sizeof(*a));
	int err;

	if (!a)
		return -ENOMEM;
	a->skel = go_alloc_bpf__open();
	if (!a->skel) {
		err = -errno;
		mt_err("cannot open the Go allocation probe: %s", strerror(-err));
		goto fail;
	}
	a->skel->rodata->target_tgid = (uint32_t)pid;
	if (!nrets)
		a->skel->rodata->sample_mask = 0;
	err = go_alloc_bpf__load(a->skel);
	if (err) {
		mt_err("cannot load the Go allocation probe: %s", strerror(-err));
		goto fail;
	}
	a->pid = pid;
	a->off = off;
	a->nrets = nrets;
	memcpy(a->ret_offs, rets, nrets * sizeof(*rets));
	if (!(a->path = strdup(path))) {
		err = -ENOMEM;
		goto fail;
	}
	err = attach_entry(a);
	if (err)
		goto fail;
	if (nrets) {
		a->rb = ring_buffer__new(bpf_map__fd(a->skel->maps.mt_go_samples), on_sample, a, NULL);
		if (!a->rb) {
			err = -errno;
			mt_err("cannot read the Go survival samples: %s", strerror(-err));
			goto fail;
		}
	}
	*out = a;
	return 0;
fail:
	mt_go_alloc_free(a);
	return err;
}

void mt_go_alloc_enable(struct mt_go_alloc *a)
{
	a->skel->bss->enabled = 1;
}

static void *close_links(void *arg)
{
	struct mt_go_alloc *a = arg;

	for (size_t i = 0; i < a->nclosing; i++) {
		bpf_link__destroy(a->closing_links[i]);
		a->closing_links[i] = NULL;
	}
	a->nclosing = 0;
	__atomic_store_n(&a->closed, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void join_closer(struct mt_go_alloc *a)
{
	if (a->closing)
		pthread_join(a->closer, NULL);
	a->closing = false;
}

/* The RET probes (and with entry, the entry probe) go: destroyed by the
 * closer thread, or here at the end. Call after join_closer. */
static void close_probes(struct mt_go_alloc *a, bool entry)
{
	a->skel->bss->sampling_window = 0;   /* no new sample first, then the probes go */
	a->nclosing = 0;
	if (entry && a->link)
		a->closing_links[a->nclosing++] = a->link;
	if (entry)
		a->link = NULL;
	for (size_t i = 0; i < a->nrets; i++)
		if (a->rets[i])
			a->closing_links[a->nclosing++] = a->rets[i];
	memset(a->rets, 0, sizeof(a->rets));
	a->rets_on = false;
	__atomic_store_n(&a->closed, 0, __ATOMIC_RELEASE);
	if (!a->stopped && !pthread_create(&a->closer, NULL, close_links, a))
		a->closing = true;
	else
		close_links(a);   /* at the end, or no thread: here */
}

void mt_go_alloc_detach(struct mt_go_alloc *a)
{
	if (!a)
		return;
	a->skel->bss->enabled = 0;
	join_closer(a);
	a->stopped = true;   /* every probe goes now, in this thread */
	close_probes(a, true);
}

static int attach_rets(struct mt_go_alloc *a);

int mt_go_alloc_sample_window(struct mt_go_alloc *a, bool on)
{
	if (!a || !a->rb)
		return 0;
	a->rets_wanted = on;
	/* while the entry probe is disarmed (the overhead budget), the RET
	 * probes wait for it */
	if (on == a->rets_on || (on && (a->stopped || !a->link)))
		return 0;
	join_closer(a);
	if (!on) {
		close_probes(a, false);
		return 0;
	}
	return attach_rets(a);
}

int mt_go_alloc_arm(struct mt_go_alloc *a, bool on)
{
	int err;

	if (!a || a->stopped || on == (a->link != NULL))
		return 0;
	join_closer(a);
	if (!on) {
		close_probes(a, true);
		return 0;
	}
	err = attach_entry(a);
	/* the survival window goes on without its RET probes if they fail
	 * (said once): the allocation counts do not need them */
	if (!err && a->rets_wanted && a->rb && attach_rets(a))
		a->rets_wanted = false;
	return err;
}

bool mt_go_alloc_disarming(const struct mt_go_alloc *a)
{
	return a && a->closing && !__atomic_load_n(&a->closed, __ATOMIC_ACQUIRE);
}

uint64_t mt_go_alloc_hits(const struct mt_go_alloc *a)
{
	uint64_t calls = 0, rets = 0;
	int fd;

	if (!a)
		return 0;
	fd = bpf_map__fd(a->skel->maps.mt_go_counters);
	if (mt_bpf_percpu_sum(fd, MT_GO_C_CALLS, &calls) ||
	    mt_bpf_percpu_sum(fd, MT_GO_C_RET_HITS, &rets))
		return 0;
	return calls + rets;
}

int mt_go_alloc_prog_stats(const struct mt_go_alloc *a, uint64_t *run_ns, uint64_t *runs)
{
	return mt_bpf_obj_prog_stats(a->skel->obj, run_ns, runs);
}

static int attach_rets(struct mt_go_alloc *a)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uo, .retprobe = false);
	size_t i;
	int err;

	for (i = 0; i < a->nrets; i++) {
		a->rets[i] = bpf_program__attach_uprobe_opts(a->skel->progs.mt_go_mallocgc_ret, a->pid,
							     a->path, (size_t)a->ret_offs[i], &uo);
		if (!a->rets[i]) {
			err = -errno;
			mt_err("cannot attach to a return of runtime.mallocgc in '%s' (offset "
			       "0x%llx): %s", a->path, (unsigned long long)a->ret_offs[i],
			       strerror(-err));
			while (i-- > 0) {
				bpf_link__destroy(a->rets[i]);
				a->rets[i] = NULL;
			}
			return err;
		}
	}
	a->rets_on = true;
	if (++a->window == 0)
		a->window = 1;
	a->skel->bss->sampling_window = a->window;   /* every RET probed: sample */
	return 0;
}

bool mt_go_alloc_sampling(const struct mt_go_alloc *a)
{
	return a && a->rb;
}

int mt_go_alloc_samples(struct mt_go_alloc *a, int (*fn)(void *arg, void *data, size_t len),
			void *arg)
{
	int n;

	if (!a || !a->rb)
		return 0;
	a->fn = fn;
	a->arg = arg;
	n = ring_buffer__consume(a->rb);
	a->fn = NULL;
	return n < 0 ? n : 0;
}

void mt_go_alloc_free(struct mt_go_alloc *a)
{
	if (!a)
		return;
	join_closer(a);
	bpf_link__destroy(a->link);
	for (size_t i = 0; i < a->nrets; i++)
		bpf_link__destroy(a->rets[i]);
	ring_buffer__free(a->rb);
	free(a->path);
	go_alloc_bpf__destroy(a->skel);
	free(a);
}

int mt_go_alloc_read(struct mt_go_alloc *a,
		     void (*fn)(const struct mt_go_key *k, const struct mt_go_val *v, void *arg),
		     void *arg, uint64_t counters[MT_GO_NCOUNTERS])
{
	int fd = bpf_map__fd(a->skel->maps.mt_go_sites), cfd = bpf_map__fd(a->skel->maps.mt_go_counters);
	struct mt_go_key k, next;
	struct mt_go_val v;
	const void *prev = NULL;
	uint32_t i;
	int err;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		if (!bpf_map_lookup_elem(fd, &next, &v))
			fn(&next, &v, arg);
		k = next;
		prev = &k;
	}
	for (i = 0; i < MT_GO_NCOUNTERS; i++) {
		err = mt_bpf_percpu_sum(cfd, i, &counters[i]);
		if (err)
			return err;
	}
	return 0;
}

uint64_t mt_go_alloc_map_bytes(const struct mt_go_alloc *a, uint64_t *ring_bytes)
{
	return mt_bpf_obj_map_bytes(a && a->skel ? a->skel->obj : NULL, ring_bytes);
}
