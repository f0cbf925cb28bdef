// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/mt_log.h"
#include "util/mt_outfile.h"

/* The directory and the base name of a path, as new strings. */
static int split(const char *path, char **dir, char **base)
{
	char *a = strdup(path), *b = strdup(path);

	if (!a || !b) {
		free(a);
		free(b);
		return -ENOMEM;
	}
	*dir = strdup(dirname(a));
	*base = strdup(basename(b));
	free(a);
	free(b);
	if (!*dir || !*base) {
		free(*dir);
		free(*base);
		return -ENOMEM;
	}
	return 0;
}

/* A replaced file keeps its mode and owner (root replacing a user's
 * report must not take it from them); a new one gets 0666 less umask.
 * Best effort: the report matters more than its mode. */
static void set_mode(int fd, const struct stat *old, bool umasked)
{
	mode_t m;

	if (old) {
		if (fchown(fd, old->st_uid, old->st_gid)) {
			/* not root: the file is ours, as any file we create */
		}
		fchmod(fd, old->st_mode & 07777);
	} else if (!umasked) {
		m = umask(0);
		umask(m);
		fchmod(fd, 0666 & ~m);
	}
}

/* A temporary in dest's directory: unnamed if the file system can, else
 * a dot file created exclusively (so the one we remove is ours). */
static int open_tmp(struct mt_outfile *o, const struct stat *old)
{
	char *dir = NULL, *base = NULL;
	int fd, err;

	err = split(o->dest, &dir, &base);
	if (err)
		return err;
	fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
	if (fd >= 0) {
		o->anon = true;
		set_mode(fd, old, true);
		goto out;
	}
	err = -errno;
	/* EOPNOTSUPP: no O_TMPFILE in this file system; EISDIR, EINVAL: a
	 * kernel without it. Anything else (EACCES, EROFS, ENOENT) holds for a
	 * named file too. */
	if (err != -EOPNOTSUPP && err != -EISDIR && err != -EINVAL)
		goto out;
	if (asprintf(&o->tmp, "%s/.%s.XXXXXX", dir, base) < 0) {
		o->tmp = NULL;
		err = -ENOMEM;
		goto out;
	}
	fd = mkostemp(o->tmp, O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		free(o->tmp);
		o->tmp = NULL;
		goto out;
	}
	set_mode(fd, old, false);
out:
	free(dir);
	free(base);
	return fd >= 0 ? fd : err;
}

/* Paths that name standard output itself. */
static bool names_stdout(const char *path)
{
	return strcmp(path, "-") == 0 || strcmp(path, "/dev/stdout") == 0 ||
	       strcmp(path, "/dev/fd/1") == 0 || strcmp(path, "/proc/self/fd/1") == 0;
}

int mt_outfile_open(struct mt_outfile *o, const char *path)
{
	bool exists = false;
	struct stat st;
	int fd, err;

	memset(o, 0, sizeof(*o));
	o->path = path;
	if (names_stdout(path)) {
		o->f = stdout;
		o->in_place = o->to_stdout = true;
		return 0;
	}
	/* /dev and /proc name devices and open descriptors (/dev/fd/3,
	 * /proc/self/fd/N): renaming over what such a link points to would
	 * take the file from under whoever holds it open. Written in place. */
	if (strncmp(path, "/dev/", 5) == 0 || strncmp(path, "/proc/", 6) == 0) {
		o->in_place = true;
		fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0) {
			err = -errno;
			goto fail;
		}
		goto opened;
	}
	if (stat(path, &st) == 0) {      /* follows symlinks */
		if (S_ISDIR(st.st_mode)) {
			err = -EISDIR;
			goto fail;
		}
		if (!S_ISREG(st.st_mode)) {
			/* A pipe, a device, a socket: written in place, never replaced. */
			o->in_place = true;
			fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
			if (fd < 0) {
				err = -errno;
				goto fail;
			}
			goto opened;
		}
		/* The file a symlink names is what is replaced. */
		exists = true;
		o->dest = realpath(path, NULL);
	} else if (errno == ENOENT && lstat(path, &st)) {
		o->dest = strdup(path);   /* a new file */
	} else {
		err = -errno;             /* e.g. a dangling symlink: ENOENT */
		goto fail;
	}
	if (!o->dest) {
		err = -errno;
		goto fail;
	}
	fd = open_tmp(o, exists ? &st : NULL);
	if (fd < 0) {
		err = fd;
		goto fail;
	}
opened:
	o->f = fdopen(fd, "w");
	if (!o->f) {
		err = -errno;
		close(fd);
		goto fail;
	}
	return 0;
fail:
	mt_err("cannot write '%s': %s", path, strerror(-err));
	mt_outfile_abort(o);
	return err;
}

/* Give the unnamed temporary a name beside dest, for the rename. linkat
 * never replaces an existing file, so the name we get is ours. */
static int link_anon(struct mt_outfile *o)
{
	char proc[64], *dir = NULL, *base = NULL;
	struct timespec ts;
	int err, i;

	err = split(o->dest, &dir, &base);
	if (err)
		return err;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fileno(o->f));
	clock_gettime(CLOCK_MONOTONIC, &ts);
	err = -EEXIST;
	for (i = 0; i < 100 && err == -EEXIST; i++) {
		if (asprintf(&o->tmp, "%s/.%s.%d.%lx", dir, base, (int)getpid(),
			     (unsigned long)ts.tv_nsec + (unsigned long)i) < 0) {
			o->tmp = NULL;
			err = -ENOMEM;
			break;
		}
		err = linkat(AT_FDCWD, proc, AT_FDCWD, o->tmp, AT_SYMLINK_FOLLOW) ? -errno : 0;
		if (err) {
			free(o->tmp);
			o->tmp = NULL;
		}
	}
	free(dir);
	free(base);
	return err;
}

int mt_outfile_commit(struct mt_outfile *o)
{
	int err = 0;

	if (!o->f)
		return 0;
	errno = 0;
	if (fflush(o->f) || ferror(o->f))
		err = errno ? -errno : -EIO;
	if (o->f == stdout) {
		o->f = NULL;
		goto out;
	}
	if (!err && !o->in_place && fsync(fileno(o->f)))
		err = -errno;
	if (!err && o->anon)
		err = link_anon(o);
	if (fclose(o->f) && !err)
		err = -errno;
	o->f = NULL;
	if (!err && o->tmp && rename(o->tmp, o->dest))
		err = -errno;
	if (!err) {
		free(o->tmp);   /* renamed: the name is the report's now */
		o->tmp = NULL;
	}
out:
	if (err)
		mt_err("cannot write '%s': %s", o->path, strerror(-err));
	mt_outfile_abort(o);
	return err;
}

void mt_outfile_abort(struct mt_outfile *o)
{
	if (o->f && o->f != stdout)
		fclose(o->f);
	o->f = NULL;
	if (o->tmp)
		unlink(o->tmp);   /* created by us, exclusively */
	free(o->tmp);
	o->tmp = NULL;
	free(o->dest);
	o->dest = NULL;
}
