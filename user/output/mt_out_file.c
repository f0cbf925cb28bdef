// SPDX-License-Identifier: BSD-2-Clause
/*
 * Writing an output file whole. Plain fopen/fwrite/fclose for now: when the
 * project's safe writer (write to a temporary, then rename) lands, this is
 * the one place that switches to it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "util/mt_log.h"
#include "output/mt_out.h"

int mt_out_write_file(const char *path, const void *buf, size_t len)
{
	bool out = !strcmp(path, "-");
	FILE *f = out ? stdout : fopen(path, "we");
	int err = 0;

	if (!f) {
		err = -errno;
		goto fail;
	}
	if (len && fwrite(buf, 1, len, f) != len)
		err = errno ? -errno : -EIO;
	if (!err && fflush(f))
		err = -errno;
	if (!out && fclose(f) && !err)
		err = -errno;
	if (!err)
		return 0;
fail:
	mt_err("cannot write '%s': %s", path, strerror(-err));
	return err;
}
