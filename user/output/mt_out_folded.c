// SPDX-License-Identifier: BSD-2-Clause
/*
 * Folded stacks, the input of flamegraph.pl, inferno and speedscope: one
 * line per site, its frames root first joined by ';', a space, the value
 * (--weight). A frame is its function name, "module+0xoff" without one,
 * "0xaddr" outside any mapping. Characters the format gives meaning to
 * (';' separates frames, a newline ends the line, and the value is after
 * the last space, which the readers find by rsplit) are replaced in names:
 * ';' by ':', control characters by '?'. Spaces inside C++ names stay:
 * the readers split the value off at the last space. Sites whose value is
 * zero are left out (a flame graph has nothing to draw for them); the
 * values left sum to the report's total of that weight.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util/mt_log.h"
#include "output/mt_out.h"

static const char *const weight_names[] = {
	[MT_W_LIVE_BYTES] = "live_bytes", [MT_W_LIVE_OBJECTS] = "live_objects",
	[MT_W_ALLOC_BYTES] = "alloc_bytes", [MT_W_ALLOCS] = "allocs",
};

int mt_out_weight_parse(const char *name, enum mt_out_weight *out)
{
	size_t i;

	for (i = 0; i < sizeof(weight_names) / sizeof(weight_names[0]); i++) {
		if (name && !strcmp(name, weight_names[i])) {
			*out = (enum mt_out_weight)i;
			return 0;
		}
	}
	return -EINVAL;
}

static uint64_t weight_of(const struct mt_report_site *s, enum mt_out_weight w)
{
	switch (w) {
	case MT_W_LIVE_OBJECTS: return s->live_objects;
	case MT_W_ALLOC_BYTES:  return s->alloc_bytes;
	case MT_W_ALLOCS:       return s->allocs;
	default:                return s->live_bytes;
	}
}

static void put_name(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		fputc(c == ';' ? ':' : c < 0x20 || c == 0x7f ? '?' : c, f);
	}
}

static void put_frame(FILE *f, const struct mt_frame *fr)
{
	const char *base;

	if (fr->func) {
		put_name(f, fr->func);
		return;
	}
	if (!fr->module) {
		fprintf(f, "0x%" PRIx64, fr->addr);
		return;
	}
	base = strrchr(fr->module, '/');
	put_name(f, base ? base + 1 : fr->module);
	fprintf(f, "+0x%" PRIx64, fr->module_off);
}

int mt_out_folded(const char *path, const struct mt_report *r, enum mt_out_weight w)
{
	char *buf = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&buf, &len);
	int err;

	if (!f) {
		err = -errno;
		mt_err("cannot write '%s': %s", path, strerror(-err));
		return err;
	}
	for (i = 0; i < r->nsites; i++) {
		const struct mt_report_site *s = &r->sites[i];
		uint64_t v = weight_of(s, w);
		uint32_t k;

		if (!v)
			continue;
		if (!s->stack.nframes)
			fputs("[no stack]", f);
		for (k = s->stack.nframes; k-- > 0;) {
			put_frame(f, &s->stack.frames[k]);
			if (k)
				fputc(';', f);
		}
		fprintf(f, " %" PRIu64 "\n", v);
	}
	if (fclose(f)) {
		err = -errno;
		mt_err("cannot write '%s': %s", path, strerror(-err));
		free(buf);
		return err;
	}
	err = mt_out_write_file(path, buf, len);
	free(buf);
	return err;
}
