// SPDX-License-Identifier: BSD-2-Clause
/* Unit tests: memory-mapped files. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mt_test.h"
#include "mtpool.h"

static char dir[64];

static const char *tmp_path(const char *name)
{
	static char path[128];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

static void write_file(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(s, f);
		fclose(f);
	}
}

static void test_open_errors(void)
{
	mtpool_mmap *m = (mtpool_mmap *)1;

	MT_CHECK_EQ_U64(mtpool_mmap_open(tmp_path("missing"), MTPOOL_MMAP_RDONLY, 0, &m),
			(uint64_t)-ENOENT);
	MT_CHECK(m == NULL);
	MT_CHECK_EQ_U64(mtpool_mmap_open(tmp_path("x"), MTPOOL_MMAP_CREATE, 0, &m),
			(uint64_t)-EINVAL);
	MT_CHECK_EQ_U64(mtpool_mmap_open(tmp_path("x"), MTPOOL_MMAP_RDONLY, 10, &m),
			(uint64_t)-EINVAL);
	MT_CHECK_EQ_U64(mtpool_mmap_open(dir, MTPOOL_MMAP_RDONLY, 0, &m), (uint64_t)-EINVAL);
	mtpool_mmap_close(NULL);
}

static void test_read_only_views_and_errors(void)
{
	const char *path = tmp_path("ro");
	mtpool_mmap *m;
	const void *v;

	write_file(path, "0123456789");
	MT_CHECK_EQ_U64(mtpool_mmap_open(path, MTPOOL_MMAP_RDONLY, 0, &m), 0);
	MT_CHECK_EQ_U64(mtpool_mmap_size(m), 10);
	MT_CHECK_EQ_U64(mtpool_mmap_read_at(m, 3, 4, &v), 0);
	MT_CHECK(memcmp(v, "3456", 4) == 0);
	MT_CHECK_EQ_U64(mtpool_mmap_read_at(m, 0, 10, &v), 0);
	MT_CHECK_EQ_U64(mtpool_mmap_read_at(m, 10, 0, &v), 0);
	MT_CHECK_EQ_U64(mtpool_mmap_read_at(m, 7, 4, &v), (uint64_t)-ERANGE);
	MT_CHECK_EQ_U64(mtpool_mmap_read_at(m, 11, 0, &v), (uint64_t)-ERANGE);
	MT_CHECK_EQ_U64(mtpool_mmap_read_at(m, 2, SIZE_MAX, &v), (uint64_t)-ERANGE);
	MT_CHECK_EQ_U64(mtpool_mmap_read_at(m, SIZE_MAX, 2, &v), (uint64_t)-ERANGE);
	MT_CHECK_EQ_U64(mtpool_mmap_write_at(m, 0, "x", 1), (uint64_t)-EROFS);
	MT_CHECK_EQ_U64(mtpool_mmap_grow(m, 100), (uint64_t)-EROFS);
	MT_CHECK_EQ_U64(mtpool_mmap_sync(m), (uint64_t)-EROFS);
	mtpool_mmap_close(m);
}

static void test_read_write_grow_sync(void)
{
	const char *path = tmp_path("rw");
	char buf[16] = { 0 };
	mtpool_mmap *m;
	const void *v;
	int fd;

	MT_CHECK_EQ_U64(mtpool_mmap_open(path, MTPOOL_MMAP_RDWR | MTPOOL_MMAP_CREATE, 8, &m), 0);
	MT_CHECK_EQ_U64(mtpool_mmap_size(m), 8);
	MT_CHECK_EQ_U64(mtpool_mmap_write_at(m, 0, "abcdefgh", 8), 0);
	MT_CHECK_EQ_U64(mtpool_mmap_write_at(m, 4, "xyzzy", 5), (uint64_t)-ERANGE);
	MT_CHECK_EQ_U64(mtpool_mmap_grow(m, 1 << 20), 0);
	MT_CHECK_EQ_U64(mtpool_mmap_size(m), 1 << 20);
	MT_CHECK_EQ_U64(mtpool_mmap_grow(m, 16), 0);    /* smaller: no-op */
	MT_CHECK_EQ_U64(mtpool_mmap_size(m), 1 << 20);
	MT_CHECK_EQ_U64(mtpool_mmap_write_at(m, (1 << 20) - 5, "tail!", 5), 0);
	MT_CHECK_EQ_U64(mtpool_mmap_read_at(m, 0, 8, &v), 0);
	MT_CHECK(memcmp(v, "abcdefgh", 8) == 0);        /* survived the mremap */
	MT_CHECK_EQ_U64(mtpool_mmap_sync(m), 0);
	mtpool_mmap_close(m);
	/* The writes reached the file. */
	fd = open(path, O_RDONLY);
	MT_CHECK(fd >= 0);
	MT_CHECK_EQ_U64(pread(fd, buf, 5, (1 << 20) - 5), 5);
	close(fd);
	MT_CHECK_STR(buf, "tail!");
}

static void test_empty_file(void)
{
	const char *path = tmp_path("empty");
	mtpool_mmap *m;
	const void *v;

	write_file(path, "");
	MT_CHECK_EQ_U64(mtpool_mmap_open(path, MTPOOL_MMAP_RDWR, 0, &m), 0);
	MT_CHECK_EQ_U64(mtpool_mmap_size(m), 0);
	MT_CHECK_EQ_U64(mtpool_mmap_read_at(m, 0, 1, &v), (uint64_t)-ERANGE);
	MT_CHECK_EQ_U64(mtpool_mmap_read_at(m, 0, 0, &v), 0);
	MT_CHECK_EQ_U64(mtpool_mmap_grow(m, 4096), 0);
	MT_CHECK_EQ_U64(mtpool_mmap_write_at(m, 4000, "ok", 2), 0);
	MT_CHECK_EQ_U64(mtpool_mmap_read_at(m, 4000, 2, &v), 0);
	MT_CHECK(memcmp(v, "ok", 2) == 0);
	mtpool_mmap_close(m);
}

int main(void)
{
	char cmd[96];
	int rc;

	snprintf(dir, sizeof(dir), "/tmp/mtpool-test-XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	MT_RUN(test_open_errors);
	MT_RUN(test_read_only_views_and_errors);
	MT_RUN(test_read_write_grow_sync);
	MT_RUN(test_empty_file);
	rc = mt_test_done();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove '%s'\n", dir);
	return rc;
}
