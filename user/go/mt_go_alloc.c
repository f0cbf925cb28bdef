// SPDX-License-Identifier: BSD-2-Clause
/*
 * The Go allocation tracer's loader and reader (see mt_go_alloc.h): the
 * twin of probe/mt_heap.c for bpf/go_alloc.bpf.c, much smaller because
 * the counting is done in the kernel and nothing streams.
 */
#include <errno.h>
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
};

int mt_go_alloc_open(int pid, const char *path, uint64_t off, struct mt_go_alloc **out)
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

void mt_go_alloc_detach(struct mt_go_alloc *a)
{
	if (!a)
		return;
	a->skel->bss->enabled = 0;
	bpf_link__destroy(a->link);
	a->link = NULL;
}

void mt_go_alloc_free(struct mt_go_alloc *a)
{
	if (!a)
		return;
	bpf_link__destroy(a->link);
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
