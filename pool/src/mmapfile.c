// SPDX-License-Identifier: BSD-2-Clause
/*
 * Memory-mapped files with bounds-checked zero-copy views.
 *
 * read_at returns a pointer into the mapping after checking the range
 * without overflow (off + len is never computed unchecked); write_at is a
 * memcpy into a MAP_SHARED mapping, so the page cache sees it at once and
 * msync makes it durable. Errors: -ERANGE outside the file, -EROFS for any
 * write to a read-only mapping (rather than a SIGSEGV on the page).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

struct mtpool_mmap {
	int fd;
	bool writable;
	char *base;      /* NULL while size is 0 */
	size_t size;
};

static int range_ok(const mtpool_mmap *m, size_t off, size_t len)
{
	return off <= m->size && len <= m->size - off;
}

int mtpool_mmap_open(const char *path, unsigned flags, size_t size, mtpool_mmap **out)
{
	bool rw = flags & MTPOOL_MMAP_RDWR;
	int oflags = rw ? O_RDWR : O_RDONLY;
	mtpool_mmap *m = NULL;
	struct stat st;
	int err;

	if (!path || !out || (flags & ~(MTPOOL_MMAP_RDWR | MTPOOL_MMAP_CREATE)) ||
	    ((flags & MTPOOL_MMAP_CREATE) && !rw) || (size && !rw))
		return -EINVAL;
	*out = NULL;
	if (flags & MTPOOL_MMAP_CREATE)
		oflags |= O_CREAT;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->writable = rw;
	m->fd = open(path, oflags | O_CLOEXEC, 0644);
	if (m->fd < 0) {
		err = -errno;
		goto fail;
	}
	if (fstat(m->fd, &st) < 0) {
		err = -errno;
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -EINVAL;
		goto fail;
	}
	m->size = (size_t)st.st_size;
	if (size > m->size) {
		if (ftruncate(m->fd, (off_t)size) < 0) {
			err = -errno;
			goto fail;
		}
		m->size = size;
	}
	if (m->size) {
		m->base = mmap(NULL, m->size, PROT_READ | (rw ? PROT_WRITE : 0),
			       MAP_SHARED, m->fd, 0);
		if (m->base == MAP_FAILED) {
			m->base = NULL;
			err = -errno;
			goto fail;
		}
	}
	*out = m;
	return 0;
fail:
	if (m->fd >= 0)
		close(m->fd);
	free(m);
	return err;
}

int mtpool_mmap_read_at(const mtpool_mmap *m, size_t off, size_t len, const void **view)
{
	if (!range_ok(m, off, len) || (len && !m->base))
		return -ERANGE;
	*view = m->base ? m->base + off : NULL;
	return 0;
}

int mtpool_mmap_write_at(mtpool_mmap *m, size_t off, const void *data, size_t len)
{
	if (!m->writable)
		return -EROFS;
	if (!range_ok(m, off, len))
		return -ERANGE;
	if (len)
		memcpy(m->base + off, data, len);
	return 0;
}

int mtpool_mmap_sync(mtpool_mmap *m)
{
	if (!m->writable)
		return -EROFS;
	if (m->base && msync(m->base, m->size, MS_SYNC) < 0)
		return -errno;
	return 0;
}

int mtpool_mmap_grow(mtpool_mmap *m, size_t new_size)
{
	char *nb;

	if (!m->writable)
		return -EROFS;
	if (new_size <= m->size)
		return 0;
	if (new_size > (size_t)INT64_MAX)
		return -EINVAL;
	if (ftruncate(m->fd, (off_t)new_size) < 0)
		return -errno;
	if (m->base)
		nb = mremap(m->base, m->size, new_size, MREMAP_MAYMOVE);
	else
		nb = mmap(NULL, new_size, PROT_READ | PROT_WRITE, MAP_SHARED, m->fd, 0);
	if (nb == MAP_FAILED)
		return -errno;  /* the file is longer; the old mapping still works */
	m->base = nb;
	m->size = new_size;
	return 0;
}

size_t mtpool_mmap_size(const mtpool_mmap *m)
{
	return m->size;
}

void mtpool_mmap_close(mtpool_mmap *m)
{
	if (!m)
		return;
	if (m->base)
		munmap(m->base, m->size);
	close(m->fd);
	free(m);
}
