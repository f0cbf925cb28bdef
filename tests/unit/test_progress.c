// SPDX-License-Identifier: BSD-2-Clause
/* util/mt_progress: nothing at all when off; on, a line drawn in place,
 * throttled, erased at the end and before a log message. util/mt_log's
 * hold of every message while the live view owns the screen. */
#include <stdlib.h>
#include <unistd.h>
#include "mt_test.h"
#include "util/mt_log.h"
#include "util/mt_progress.h"

static char got[8192];

/* Run fn with stderr in a temporary file; its bytes land in got. */
static void capture(void (*fn)(void))
{
	FILE *t = tmpfile();
	int saved = dup(2);
	size_t n;

	fflush(stderr);
	dup2(fileno(t), 2);
	fn();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(t);
	n = fread(got, 1, sizeof(got) - 1, t);
	got[n] = '\0';
	fclose(t);
}

static void steps(void)
{
	struct mt_progress p;

	mt_progress_begin(&p, "building", "modules", 3);
	mt_progress_step(&p, 1);     /* within MT_PROGRESS_MS: not drawn */
	mt_progress_step(&p, 2);     /* the last one: drawn */
	mt_progress_end(&p);
}

static void off(void)
{
	mt_progress_enable(false);
	steps();
	mt_err("a message");
}

static void on(void)
{
	mt_progress_enable(true);
	steps();
	mt_progress_enable(false);
}

static void interrupted(void)
{
	struct mt_progress p;

	mt_progress_enable(true);
	mt_progress_begin(&p, "scan", "blocks", 0);
	mt_err("warning: %s", "something");
	mt_progress_end(&p);       /* the line is gone already: nothing more */
	mt_progress_enable(false);
}

/* A full-screen view holds every message until it ends. */
static void held(void)
{
	mt_log_hold_all();
	mt_info("attached to %d", 7);
	mt_err("warning: %s", "late");
	fputs("--\n", stderr);
	mt_log_release(true);
	mt_info("after");
}

/* More than the 4 KiB held: the rest are counted, not silently lost. */
static void overflow(void)
{
	mt_log_hold_all();
	for (int i = 0; i < 300; i++)
		mt_info("line %03d of the flood", i);   /* 22 bytes each, '\0' included */
	mt_log_release(true);
}

static void test_off(void)
{
	capture(off);
	MT_CHECK_STR(got, "memtrace: a message\n");
}

static void test_on(void)
{
	capture(on);
	MT_CHECK_STR(got, "\r\033[Kmemtrace: building: 0/3 modules"
		     "\r\033[Kmemtrace: building: 3/3 modules\r\033[K");
}

static void test_log_erases(void)
{
	capture(interrupted);
	MT_CHECK_STR(got, "\r\033[Kmemtrace: scan: 0 blocks\r\033[Kmemtrace: warning: something\n");
}

static void test_hold_all(void)
{
	capture(held);
	MT_CHECK_STR(got, "--\nmemtrace: attached to 7\nmemtrace: warning: late\nmemtrace: after\n");
}

static void test_hold_overflow(void)
{
	unsigned kept = 4096 / 22, n = 0;
	char want[64];

	capture(overflow);
	for (const char *p = got; (p = strstr(p, "of the flood")); p++)
		n++;
	MT_CHECK_EQ_U64(n, kept);
	snprintf(want, sizeof(want), "memtrace: ... and %u more messages (not kept)\n", 300 - kept);
	MT_CHECK(strstr(got, want) != NULL);
}

int main(void)
{
	MT_RUN(test_off);
	MT_RUN(test_on);
	MT_RUN(test_log_erases);
	MT_RUN(test_hold_all);
	MT_RUN(test_hold_overflow);
	return mt_test_done();
}
