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
	struct bpf_link *link;
	struct bpf_link *rets[MT_GO_MAX_RETS];
	uint64_t ret_offs[MT_GO_MAX_RETS];
	size_t nrets;                   /* RET places */
	bool rets_on, stopped;
	/* closing a window: its RET links are destroyed by this thread (each
	 * uprobe unregister waits for a grace period: ~0.5 s in all, which
	 * held memtrace's loop past the GC pause ring's 256 cycles) */
	pthread_t closer;
	bool closing;
	struct bpf_link *closing_links[MT_GO_MAX_RETS];
	uint32_t window;
	int pid;
	char *path;
	struct ring_buffer *rb;
	int (*fn)(void *arg, void *data, size_t len);
	void *arg;
};

static int on_sample(void *arg, void *data, size_t len)
{
	struct mt_go_alloc *a = arg;

	return a->fn ? a->fn(a->arg, data, len) : 0;
}

int mt_go_alloc_open(int pid, const char *path, uint64_t off, const uint64_t *rets,
		     size_t nrets, struct mt_go_alloc **out)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uo, .retprobe = false);
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
	a->link = bpf_program__attach_uprobe_opts(a->skel->progs.mt_go_mallocgc, pid, path,
						  (size_t)off, &uo);
	if (!a->link) {
		err = -errno;
		mt_err("cannot attach to runtime.mallocgc in '%s' (offset 0x%llx): %s", path,
		       (unsigned long long)off, strerror(-err));
		goto fail;
	}
	a->pid = pid;
	a->nrets = nrets;
	memcpy(a->ret_offs, rets, nrets * sizeof(*rets));
	if (nrets && !(a->path = strdup(path))) {
		err = -ENOMEM;
		goto fail;
	}
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

	for (size_t i = 0; i < a->nrets; i++) {
		bpf_link__destroy(a->closing_links[i]);
		a->closing_links[i] = NULL;
	}
	return NULL;
}

static void join_closer(struct mt_go_alloc *a)
{
	if (a->closing)
		pthread_join(a->closer, NULL);
	a->closing = false;
}

void mt_go_alloc_detach(struct mt_go_alloc *a)
{
	if (!a)
		return;
	a->skel->bss->enabled = 0;
	bpf_link__destroy(a->link);
	a->link = NULL;
	a->stopped = true;   /* the RET probes go now, in this thread */
	mt_go_alloc_sample_window(a, false);
	join_closer(a);
}

int mt_go_alloc_sample_window(struct mt_go_alloc *a, bool on)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uo, .retprobe = false);
	size_t i;
	int err = 0;

	if (!a || !a->rb || on == a->rets_on || (on && a->stopped))
		return 0;
	join_closer(a);
	if (!on) {   /* no new sample first, then the probes go */
		a->skel->bss->sampling_window = 0;
		memcpy(a->closing_links, a->rets, a->nrets * sizeof(*a->rets));
		memset(a->rets, 0, sizeof(a->rets));
		a->rets_on = false;
		if (!a->stopped && !pthread_create(&a->closer, NULL, close_links, a))
			a->closing = true;
		else
			close_links(a);   /* at the end, or no thread: here */
		return 0;
	}
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
