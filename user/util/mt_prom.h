/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A writer of the Prometheus text exposition format (version 0.0.4, which
 * Prometheus and OpenMetrics scrapers both accept) into a growable memory
 * buffer. Each metric is a HELP and a TYPE line, then its samples; label
 * values and help text are escaped as the format requires. Like mt_json it
 * remembers the first error (-ENOMEM) so callers check once at the end.
 * The buffer is kept across mt_prom_reset(), so a writer rendering the same
 * metrics every second allocates only while the text grows.
 */
#ifndef MT_PROM_H
#define MT_PROM_H

#include <stddef.h>
#include <stdint.h>

struct mt_prom {
	char *buf;
	size_t len, cap;
	int err;              /* first error as -errno, 0 if none */
};

void mt_prom_init(struct mt_prom *p);
void mt_prom_reset(struct mt_prom *p);    /* empty, buffer kept */
void mt_prom_release(struct mt_prom *p);  /* frees the buffer */

/* "# HELP name help" and "# TYPE name type" (type: counter, gauge, untyped). */
void mt_prom_header(struct mt_prom *p, const char *name, const char *type, const char *help);

/* One sample: labels is NULL or {"key", "value", ..., NULL}. Label values
 * are escaped (\\, \", \n) and bytes outside printable ASCII become '?'
 * (the format wants UTF-8; file names need not be). */
void mt_prom_u64(struct mt_prom *p, const char *name, const char *const *labels, uint64_t v);
void mt_prom_double(struct mt_prom *p, const char *name, const char *const *labels, double v);

/* Header and one unlabelled sample. */
void mt_prom_counter(struct mt_prom *p, const char *name, const char *help, uint64_t v);
void mt_prom_gauge(struct mt_prom *p, const char *name, const char *help, double v);

#endif /* MT_PROM_H */
