// SPDX-License-Identifier: BSD-2-Clause
/* Unit tests for the safe report writer (util/mt_outfile): no root needed;
 * device nodes and full file systems are in tests/e2e/t21-report-files.sh. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "util/mt_outfile.h"
#include "mt_test.h"

static char dir[64];
static char path[128];

static void put(const char *p, const char *text)
{
	FILE *f = fopen(p, "w");

	fputs(text, f);
	fclose(f);
}

static const char *get(const char *p)
{
	static char buf[256];
	FILE *f = fopen(p, "r");
	size_t n;

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Entries of dir besides the given names, so a leftover temporary shows. */
static int others(const char *a, const char *b)
{
	struct dirent *e;
	DIR *d = opendir(dir);
	int n = 0;

	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
		    strcmp(e->d_name, a) && (!b || strcmp(e->d_name, b)))
			n++;
	closedir(d);
	return n;
}

static void test_new_file(void)
{
	struct mt_outfile o;

	snprintf(path, sizeof(path), "%s/new.json", dir);
	unlink(path);
	MT_CHECK(mt_outfile_open(&o, path) == 0);
	fputs("{}\n", o.f);
	/* Until the commit the path does not exist: no half report is seen. */
	MT_CHECK(access(path, F_OK) != 0);
	MT_CHECK(mt_outfile_commit(&o) == 0);
	MT_CHECK_STR(get(path), "{}\n");
	MT_CHECK(others("new.json", NULL) == 0);
	unlink(path);
}

static void test_replace_keeps_mode(void)
{
	struct mt_outfile o;
	struct stat st;

	snprintf(path, sizeof(path), "%s/old.json", dir);
	put(path, "old");
	chmod(path, 0604);
	MT_CHECK(mt_outfile_open(&o, path) == 0);
	fputs("new", o.f);
	MT_CHECK_STR(get(path), "old");
	MT_CHECK(mt_outfile_commit(&o) == 0);
	MT_CHECK_STR(get(path), "new");
	MT_CHECK(stat(path, &st) == 0);
	MT_CHECK_EQ_U64(st.st_mode & 07777, 0604);
	MT_CHECK(others("old.json", NULL) == 0);
	unlink(path);
}

static void test_abort_keeps_old(void)
{
	struct mt_outfile o;

	snprintf(path, sizeof(path), "%s/keep.json", dir);
	put(path, "keep");
	MT_CHECK(mt_outfile_open(&o, path) == 0);
	fputs("half a rep", o.f);
	mt_outfile_abort(&o);
	MT_CHECK_STR(get(path), "keep");
	MT_CHECK(others("keep.json", NULL) == 0);
	mt_outfile_abort(&o);   /* twice is harmless */
	unlink(path);
}

static void test_symlink_stays(void)
{
	char link[160];
	struct mt_outfile o;
	struct stat st;

	snprintf(path, sizeof(path), "%s/target.json", dir);
	snprintf(link, sizeof(link), "%s/link.json", dir);
	put(path, "old");
	MT_CHECK(symlink("target.json", link) == 0);
	MT_CHECK(mt_outfile_open(&o, link) == 0);
	fputs("new", o.f);
	MT_CHECK(mt_outfile_commit(&o) == 0);
	MT_CHECK(lstat(link, &st) == 0 && S_ISLNK(st.st_mode));
	MT_CHECK_STR(get(path), "new");
	MT_CHECK(others("target.json", "link.json") == 0);
	unlink(link);
	unlink(path);
}

static void test_unwritable(void)
{
	struct mt_outfile o;

	snprintf(path, sizeof(path), "%s/no/such/dir.json", dir);
	MT_CHECK(mt_outfile_open(&o, path) == -ENOENT);
	MT_CHECK(o.f == NULL);
	MT_CHECK(mt_outfile_open(&o, dir) == -EISDIR);
	MT_CHECK(others("", NULL) == 0);
}

/* A fifo is written in place and stays a fifo; a reader that goes away
 * makes the commit fail, and the fifo is not removed. */
static void test_fifo(void)
{
	struct mt_outfile o;
	struct stat st;
	char buf[16] = "";
	pid_t child;
	int fd, status;

	snprintf(path, sizeof(path), "%s/fifo", dir);
	MT_CHECK(mkfifo(path, 0600) == 0);
	child = fork();
	if (child == 0) {
		fd = open(path, O_RDONLY);
		_exit(read(fd, buf, sizeof(buf)) == 4 && memcmp(buf, "data", 4) == 0 ? 0 : 1);
	}
	MT_CHECK(mt_outfile_open(&o, path) == 0);
	fputs("data", o.f);
	MT_CHECK(mt_outfile_commit(&o) == 0);
	MT_CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0);

	signal(SIGPIPE, SIG_IGN);
	child = fork();
	if (child == 0) {
		close(open(path, O_RDONLY));   /* opens, then goes away */
		_exit(0);
	}
	MT_CHECK(mt_outfile_open(&o, path) == 0);
	waitpid(child, &status, 0);
	fputs("data", o.f);
	MT_CHECK(mt_outfile_commit(&o) == -EPIPE);
	MT_CHECK(lstat(path, &st) == 0 && S_ISFIFO(st.st_mode));
	unlink(path);
}

/* Standard output by name, and /dev nodes in place (never a temporary
 * in /dev: /dev/null stays a device). */
static void test_dev(void)
{
	struct mt_outfile o;
	struct stat st;

	MT_CHECK(mt_outfile_open(&o, "/dev/stdout") == 0);
	MT_CHECK(o.f == stdout && o.to_stdout);
	mt_outfile_abort(&o);
	MT_CHECK(mt_outfile_open(&o, "-") == 0);
	MT_CHECK(o.f == stdout && o.to_stdout);
	MT_CHECK(mt_outfile_commit(&o) == 0);
	MT_CHECK(mt_outfile_open(&o, "/dev/null") == 0);
	MT_CHECK(o.in_place && !o.to_stdout && o.tmp == NULL && !o.anon);
	fputs("x", o.f);
	MT_CHECK(mt_outfile_commit(&o) == 0);
	MT_CHECK(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode));
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/mt_outfile.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	MT_RUN(test_new_file);
	MT_RUN(test_replace_keeps_mode);
	MT_RUN(test_abort_keeps_old);
	MT_RUN(test_symlink_stays);
	MT_RUN(test_unwritable);
	MT_RUN(test_fifo);
	MT_RUN(test_dev);
	rmdir(dir);
	return mt_test_done();
}
