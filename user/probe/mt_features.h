/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What this machine offers memtrace, for `memtrace --version`: the libbpf
 * linked at run time and the kernel's BPF features the heap tracer chooses
 * between (uprobe sessions, uprobe_multi links, else one perf link per
 * probe) and BTF. Each probe is a two-instruction program load and one
 * failing link create (no probe is placed), so it costs well under a
 * millisecond; without the privileges to load BPF a feature is "unknown".
 */
#ifndef MT_FEATURES_H
#define MT_FEATURES_H

#include <stdio.h>

/* 1 supported, 0 not, -errno unknown (-EPERM without privileges). */
int mt_feature_uprobe_multi(void);
int mt_feature_uprobe_session(void);

/* The version lines: memtrace, libbpf, kernel and its features. */
void mt_features_print(FILE *f, const char *version);

#endif /* MT_FEATURES_H */
