// SPDX-License-Identifier: BSD-2-Clause
/*
 * libFuzzer target for everything that reads a saved report: the JSON
 * reader (whole, and with memtrace diff's keep spec), the report checks of
 * memtrace diff, and the diff of the input with itself through both
 * writers. Built with -fsanitize=fuzzer,address,undefined; run by
 * tests/fuzz/fuzz.sh for a bounded time on every `make test`.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "diff/mt_diff.h"
#include "util/mt_json_read.h"

static FILE *sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mt_diff_input *a = NULL, *b = NULL;
	struct mt_jv *whole = NULL;
	struct mt_diff d = { 0 };
	char err[160];

	if (!sink && !(sink = fopen("/dev/null", "w")))
		abort();
	if (mt_jv_parse((const char *)data, size, &whole, err, sizeof(err)) == 0)
		mt_jv_free(whole);
	if (mt_diff_load_buf("fuzz", (const char *)data, size, &a) != 0)
		return 0;
	if (mt_diff_load_buf("fuzz", (const char *)data, size, &b) != 0) {
		mt_diff_input_free(a);   /* only -ENOMEM can fail the second time */
		return 0;
	}
	if (mt_diff_build(&d, a, b, "A", "B") == 0) {
		mt_diff_text(sink, &d, 10);
		mt_diff_json(sink, &d);
		mt_diff_release(&d);
	}
	return 0;
}
