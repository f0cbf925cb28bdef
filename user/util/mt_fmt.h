/* SPDX-License-Identifier: BSD-2-Clause */
/* Formatting for people: byte counts and file names in text reports. */
#ifndef MT_FMT_H
#define MT_FMT_H

#include <stddef.h>
#include <stdint.h>

/* bytes in binary units, one decimal: "1023 B", "1.5 KiB", "12.0 MiB",
 * up to PiB. Writes buf (n bytes; 16 hold any value) and returns it. */
const char *mt_fmt_bytes(char *buf, size_t n, uint64_t bytes);

/* The last component of path ("libc.so.6" of "/usr/lib/.../libc.so.6"),
 * a pointer into path; path itself when it has no '/'. */
const char *mt_basename(const char *path);

#endif /* MT_FMT_H */
