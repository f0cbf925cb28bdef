/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Output files that are never lost or faked: every report file memtrace
 * writes (--json, memtrace diff --json, and outputs to come) goes through
 * here.
 *
 * - A regular file, or a path that does not exist yet, is written to a
 *   temporary file in the same directory and renamed over the path only
 *   once everything is written and synced: a failed or interrupted run
 *   leaves an existing file as it was, and a reader never sees half a
 *   report. The temporary is unnamed where the file system allows
 *   (O_TMPFILE), so even kill -9 leaves nothing behind; else a dot file
 *   ".NAME.XXXXXX" beside it. A replaced file keeps its mode and owner.
 *   A symlink is followed: the file it names is replaced, the link stays.
 * - "-" (or /dev/stdout) is stdout; a pipe, a device, any other
 *   non-regular file, and any path under /dev or /proc (/dev/fd/3 names an
 *   open file someone else holds) is written in place: a rename would
 *   replace the node itself, or the file under its holder.
 * - Nothing memtrace did not create is ever unlinked.
 *
 * Cost: one fsync per report file, so a crash right after memtrace exits
 * cannot leave an empty file where the old report was.
 */
#ifndef MT_OUTFILE_H
#define MT_OUTFILE_H

#include <stdbool.h>
#include <stdio.h>

struct mt_outfile {
	FILE *f;          /* write the report here */
	const char *path; /* as the user gave it (messages name it) */
	char *dest;       /* the file replaced: path, or what its symlink names */
	char *tmp;        /* named temporary (created by us), NULL otherwise */
	bool in_place;    /* stdout, /dev, /proc or a non-regular file: no rename */
	bool to_stdout;   /* "-" or /dev/stdout: the text report goes elsewhere */
	bool anon;        /* unnamed temporary (O_TMPFILE): linked at commit */
};

/* Prepare to write path ("-" = stdout). Done before any work, so an
 * unwritable path fails early and leaves no trace. Prints one line and
 * returns -errno on failure. */
int mt_outfile_open(struct mt_outfile *o, const char *path);

/* Flush and sync, then put the file in place. Prints one line and returns
 * -errno on any write error; the destination is then untouched (or, in
 * place, holds what was written before the error). Closes o->f either way. */
int mt_outfile_commit(struct mt_outfile *o);

/* Give up: the destination is left as it was and the temporary removed.
 * Safe after a commit and on a zeroed or never-opened struct. */
void mt_outfile_abort(struct mt_outfile *o);

#endif /* MT_OUTFILE_H */
