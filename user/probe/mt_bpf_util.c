// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
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
