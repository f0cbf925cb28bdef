/* SPDX-License-Identifier: BSD-2-Clause */
/* Helpers shared by the memory-view workloads (wl_vm, wl_vm_frag). */
#ifndef WL_VM_UTIL_H
#define WL_VM_UTIL_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/* A numeric argument (decimal, 0x hex or 0 octal); exits 2 on anything else. */
static unsigned long wl_arg(const char *prog, const char *s)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || *end || end == s) {
		fprintf(stderr, "%s: bad number '%s'\n", prog, s);
		exit(2);
	}
	return v;
}

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

#endif /* WL_VM_UTIL_H */
