// SPDX-License-Identifier: BSD-2-Clause
/* Unit tests of the local debug-file search (sym/mt_debuginfo.c), on a
 * fake root in a temporary folder: gdb's order (build-id, then debuglink
 * next to the file, in .debug/, under /usr/lib/debug/DIR), and that a
 * file is taken only when it belongs to the module (build-id, else CRC).
 * The "debug files" are copies of ELF files: this test's own executable
 * (whose build-id is the module's) and /bin/true (another build-id). */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <elfutils/libdwelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "sym/mt_debuginfo.h"
#include "mt_test.h"

static char root[64];
static char self[4096];  /* this executable: /proc/self/exe in system() is the shell */
static unsigned char self_id[64];
static size_t self_len;

static void sh(const char *fmt, const char *a, const char *b)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), fmt, a, b);
	MT_CHECK(system(cmd) == 0);
}

static uint32_t file_crc(const char *path)
{
	unsigned char buf[65536];
	uLong crc = crc32(0, Z_NULL, 0);
	int fd = open(path, O_RDONLY);
	ssize_t n;

	while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0)
		crc = crc32(crc, buf, (uInt)n);
	if (fd >= 0)
		close(fd);
	return (uint32_t)crc;
}

static int find(const struct mt_debuginfo_req *q, enum mt_sym_src *src, char **path)
{
	*path = NULL;
	*src = MT_SYM_SRC_NONE;
	return mt_debuginfo_find(q, path, src);
}

static void test_order_and_checks(void)
{
	char hex[129], rel[512], p[1024];
	struct mt_debuginfo_req q = {
		.root = root, .path = "/opt/app/bin/app", .debuglink = "app.debug",
	};
	enum mt_sym_src src;
	char *found;
	int fd;

	q.build_id = self_id;
	q.build_id_len = self_len;
	mt_debuginfo_hex(self_id, self_len, hex);
	sh("mkdir -p %s/opt/app/bin/.debug %s/usr/lib/debug/opt/app/bin", root, root);
	/* nothing there */
	MT_CHECK(find(&q, &src, &found) == -ENOENT);
	/* a debuglink candidate with another build-id: refused */
	snprintf(p, sizeof(p), "%s/opt/app/bin/.debug/app.debug", root);
	sh("cp /bin/true %s%s", p, "");
	MT_CHECK(find(&q, &src, &found) == -ENOENT);
	/* the right one under /usr/lib/debug/DIR */
	snprintf(p, sizeof(p), "%s/usr/lib/debug/opt/app/bin/app.debug", root);
	sh("cp %s %s", self, p);
	fd = find(&q, &src, &found);
	MT_CHECK(fd >= 0);
	MT_CHECK_EQ_U64(src, MT_SYM_SRC_DEBUGLINK);
	MT_CHECK_STR(found, p);
	close(fd);
	free(found);
	/* build-id wins over debuglink */
	snprintf(rel, sizeof(rel), "%s/usr/lib/debug/.build-id/%.2s", root, hex);
	sh("mkdir -p %s%s", rel, "");
	snprintf(p, sizeof(p), "%s/%s.debug", rel, hex + 2);
	sh("cp %s %s", self, p);
	fd = find(&q, &src, &found);
	MT_CHECK(fd >= 0);
	MT_CHECK_EQ_U64(src, MT_SYM_SRC_BUILD_ID);
	MT_CHECK_STR(found, p);
	close(fd);
	free(found);
	MT_CHECK_STR(mt_sym_src_name(src), "build-id");
}

/* Without a build-id, the debuglink CRC decides. */
static void test_crc(void)
{
	struct mt_debuginfo_req q = { .root = root, .path = "/srv/x", .debuglink = "x.dbg" };
	enum mt_sym_src src;
	char p[512], *found;
	int fd;

	sh("mkdir -p %s/srv%s", root, "");
	snprintf(p, sizeof(p), "%s/srv/x.dbg", root);
	sh("cp /bin/true %s%s", p, "");
	q.crc = file_crc(p) ^ 1;
	MT_CHECK(find(&q, &src, &found) == -ENOENT);
	q.crc = file_crc(p);
	fd = find(&q, &src, &found);
	MT_CHECK(fd >= 0);
	MT_CHECK_EQ_U64(src, MT_SYM_SRC_DEBUGLINK);
	close(fd);
	free(found);
	/* a debuglink naming a path is not followed */
	q.debuglink = "../srv/x.dbg";
	MT_CHECK(find(&q, &src, &found) == -ENOENT);
}

int main(void)
{
	int fd = open("/proc/self/exe", O_RDONLY);
	const void *id = NULL;
	Elf *elf;
	ssize_t n;
	int ret;

	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	n = elf ? dwelf_elf_gnu_build_id(elf, &id) : -1;
	if (n <= 0 || n > 64) {
		printf("skip: this test binary has no build-id\n");
		return 77;
	}
	memcpy(self_id, id, (size_t)n);
	self_len = (size_t)n;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return 1;
	self[n] = '\0';
	elf_end(elf);
	close(fd);
	snprintf(root, sizeof(root), "/tmp/mt_debuginfo.XXXXXX");
	if (!mkdtemp(root))
		return 1;
	MT_RUN(test_order_and_checks);
	MT_RUN(test_crc);
	sh("rm -rf %s%s", root, "");
	ret = mt_test_done();
	return ret;
}
