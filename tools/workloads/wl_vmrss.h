/* SPDX-License-Identifier: BSD-2-Clause */
/* The workloads' own VmRSS, for tests that compare it with memtrace's. */
#ifndef WL_VMRSS_H
#define WL_VMRSS_H

#include <stdio.h>

/* VmRSS of this process in KiB, -1 when /proc cannot tell. */
static long vmrss_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

#endif /* WL_VMRSS_H */
