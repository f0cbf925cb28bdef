// SPDX-License-Identifier: BSD-2-Clause
/*
 * Writing an output file whole, through the safe writer (util/mt_outfile):
 * a regular file is replaced only once all of it is written; "-", pipes
 * and devices are written in place, never removed.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "util/mt_log.h"
#include "util/mt_outfile.h"
#include "output/mt_out.h"

int mt_out_write_file(const char *path, const void *buf, size_t len)
{
	struct mt_outfile o = { 0 };
	int err = mt_outfile_open(&o, path);

	if (err)
		return err;   /* printed */
	if (len && fwrite(buf, 1, len, o.f) != len) {
		err = errno ? -errno : -EIO;
		mt_err("cannot write '%s': %s", path, strerror(-err));
		mt_outfile_abort(&o);
		return err;
	}
	return mt_outfile_commit(&o);   /* prints its error */
}
