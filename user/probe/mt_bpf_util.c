// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "probe/mt_bpf_util.h"

int mt_bpf_percpu_sum(int fd, uint32_t key, uint64_t *sum)
{
	int ncpu = libbpf_num_possible_cpus(), c, err = 0;
	uint64_t *vals;

	*sum = 0;
	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &key, vals))
		err = -errno;
	for (c = 0; !err && c < ncpu; c++)
		*sum += vals[c];
	free(vals);
	return err;
}

/* memlock of one map fd from /proc/self/fdinfo, 0 when unreadable. */
static uint64_t fd_memlock(int fd)
{
	char path[64], line[128];
	uint64_t v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %" SCNu64, &v) == 1)
			break;
	fclose(f);
	return v;
}

uint64_t mt_bpf_map_memlock(const struct bpf_map *m)
{
	return m && bpf_map__fd(m) >= 0 ? fd_memlock(bpf_map__fd(m)) : 0;
}

uint64_t mt_bpf_obj_map_bytes(const struct bpf_object *obj, uint64_t *ring_bytes)
{
	const struct bpf_map *m;
	uint64_t sum = 0;

	if (ring_bytes)
		*ring_bytes = 0;
	if (!obj)
		return 0;
	bpf_object__for_each_map(m, obj) {
		uint64_t b;

		if (bpf_map__fd(m) < 0)
			continue;
		b = fd_memlock(bpf_map__fd(m));
		sum += b;
		if (ring_bytes && bpf_map__type(m) == BPF_MAP_TYPE_RINGBUF)
			*ring_bytes += b;
	}
	return sum;
}

int mt_bpf_obj_prog_stats(const struct bpf_object *obj, uint64_t *run_ns, uint64_t *runs)
{
	struct bpf_program *p;

	*run_ns = *runs = 0;
	bpf_object__for_each_program(p, obj) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(p);

		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		if (bpf_prog_get_info_by_fd(fd, &info, &len))
			return -errno;
		*run_ns += info.run_time_ns;
		*runs += info.run_cnt;
	}
	return 0;
}
