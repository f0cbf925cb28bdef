// SPDX-License-Identifier: BSD-2-Clause
/* Unit tests for memtrace's option parsing (cli/mt_opts.c): every option
 * lands in its field, and every usage error returns 2 with its one line on
 * stderr, as mt_opts.h documents (memtrace then exits 2). */
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "cli/mt_opts.h"
#include "mt_test.h"

static char out[16384], err[4096];   /* the usage text is ~6 KB */
static struct mt_opts o;

/* Read what fd 1 or 2 got into tmp since the call began. */
static void slurp(FILE *tmp, char *buf, size_t n)
{
	size_t got;

	fflush(tmp);
	rewind(tmp);
	got = fread(buf, 1, n - 1, tmp);
	buf[got] = '\0';
}

/* Parse the NULL-terminated argument list (argv[0] is "memtrace"),
 * capturing stdout and stderr. */
static int parse(const char *first, ...)
{
	char *argv[32] = { "memtrace" };
	int argc = 1, rc, saved_out = dup(1), saved_err = dup(2);
	FILE *to = tmpfile(), *te = tmpfile();
	const char *a;
	va_list ap;

	va_start(ap, first);
	for (a = first; a && argc < 31; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	fflush(stdout);
	fflush(stderr);
	dup2(fileno(to), 1);
	dup2(fileno(te), 2);
	optind = 0;   /* glibc: a full restart of getopt's scan */
	rc = mt_opts_parse(argc, argv, &o);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	close(saved_out);
	close(saved_err);
	slurp(to, out, sizeof(out));
	slurp(te, err, sizeof(err));
	fclose(to);
	fclose(te);
	return rc;
}

/* One line on stderr: "memtrace: <what> (see memtrace --help)". */
static int one_usage_line(const char *what)
{
	char want[512];

	snprintf(want, sizeof(want), "memtrace: %s (see memtrace --help)\n", what);
	if (strcmp(err, want)) {
		fprintf(stderr, "  stderr: \"%s\"\n  wanted: \"%s\"\n", err, want);
		return 0;
	}
	return out[0] == '\0';
}

#define USAGE_ERROR(what, ...) do { \
	MT_CHECK_EQ_U64(parse(__VA_ARGS__, NULL), 2); \
	MT_CHECK(one_usage_line(what)); \
	} while (0)

static void test_defaults(void)
{
	MT_CHECK_EQ_U64(parse("-p", "42", NULL), 0);
	MT_CHECK_EQ_U64(o.pid, 42);
	MT_CHECK(o.cmd == NULL);
	MT_CHECK(o.duration_s == 0 && o.interval_s == 0 && o.min_age_s == 1.0);
	MT_CHECK_EQ_U64(o.top, 10);
	MT_CHECK_EQ_U64(o.ringbuf_bytes, 2u << 20);
	MT_CHECK_EQ_U64(o.sample_bytes, 0);
	MT_CHECK(!o.json_path && !o.lib && !o.btf_path);
	MT_CHECK(!o.callsite_only && !o.verbose && !o.no_heap && !o.no_vm);
	MT_CHECK(!o.no_pools && !o.pool_events);
	MT_CHECK(!o.reachability && !o.fail_on_leak);
	MT_CHECK(!o.no_tty);
	MT_CHECK_STR(err, "");
	MT_CHECK_EQ_U64(parse("--no-tty", "-i", "1", "-p", "42", NULL), 0);
	MT_CHECK(o.no_tty && o.interval_s == 1);
}

static void test_every_option(void)
{
	MT_CHECK_EQ_U64(parse("--pid", "7", "-d", "2.5", "-i", "0.5", "--json", "out.json",
			      "--min-age", "0", "--lib", "/lib/x.so", "--btf", "/b", "--top", "3",
			      "--ringbuf-mb", "64", "--sample-bytes", "524288", "--callsite-only",
			      "--no-vm", "--reachability", "--fail-on-leak=100", "-v", "--pool-events",
			      NULL), 0);
	MT_CHECK(o.pool_events && !o.no_pools);
	MT_CHECK_EQ_U64(o.pid, 7);
	MT_CHECK(o.duration_s == 2.5 && o.interval_s == 0.5 && o.min_age_s == 0);
	MT_CHECK_STR(o.json_path, "out.json");
	MT_CHECK_STR(o.lib, "/lib/x.so");
	MT_CHECK_STR(o.btf_path, "/b");
	MT_CHECK_EQ_U64(o.top, 3);
	MT_CHECK_EQ_U64(o.ringbuf_bytes, 64u << 20);
	MT_CHECK_EQ_U64(o.sample_bytes, 524288);
	MT_CHECK(o.callsite_only && o.no_vm && !o.no_heap && o.reachability && o.verbose);
	MT_CHECK(o.fail_on_leak);
	MT_CHECK_EQ_U64(o.fail_leak_bytes, 100);

	MT_CHECK_EQ_U64(parse("--fail-on-leak", "--no-heap", "-p", "1", NULL), 2);
	MT_CHECK_EQ_U64(parse("--fail-on-leak", "-p", "1", NULL), 0);
	MT_CHECK(o.fail_on_leak);
	MT_CHECK_EQ_U64(o.fail_leak_bytes, 0);
	MT_CHECK_EQ_U64(parse("--ringbuf-kb", "4", "--no-heap", "-p", "1", NULL), 0);
	MT_CHECK_EQ_U64(o.ringbuf_bytes, 4096);
	MT_CHECK(o.no_heap);
	MT_CHECK_EQ_U64(parse("-p", "2147483647", NULL), 0);
	MT_CHECK_EQ_U64(o.pid, INT_MAX);
}

/* Launch mode: everything after the command is the command's. */
static void test_command(void)
{
	MT_CHECK_EQ_U64(parse("-i", "1", "--", "ls", "-l", "-p", "3", NULL), 0);
	MT_CHECK(o.cmd && o.pid == 0);
	MT_CHECK_STR(o.cmd[0], "ls");
	MT_CHECK_STR(o.cmd[1], "-l");
	MT_CHECK_STR(o.cmd[2], "-p");
	MT_CHECK(o.cmd[4] == NULL);
	/* without "--" the first non-option starts the command too */
	MT_CHECK_EQ_U64(parse("sleep", "-v", NULL), 0);
	MT_CHECK_STR(o.cmd[0], "sleep");
	MT_CHECK(!o.verbose);
}

static void test_help_version(void)
{
	MT_CHECK_EQ_U64(parse("-h", NULL), 1);
	MT_CHECK(strncmp(out, "Usage: memtrace", 15) == 0);
	MT_CHECK(strstr(out, "--sample-bytes N"));
	MT_CHECK_STR(err, "");
	MT_CHECK_EQ_U64(parse("--version", NULL), 1);
	/* the version line first; the features found follow (t90 checks them) */
	MT_CHECK(strncmp(out, "memtrace " MT_VERSION "\n", strlen("memtrace " MT_VERSION "\n")) == 0);
	MT_CHECK_STR(err, "");
}

static void test_bad_numbers(void)
{
	USAGE_ERROR("invalid PID '0'", "-p", "0");
	USAGE_ERROR("invalid PID 'abc'", "-p", "abc");
	USAGE_ERROR("invalid PID '-5'", "-p", "-5");
	USAGE_ERROR("invalid PID '2147483648'", "-p", "2147483648");
	USAGE_ERROR("invalid PID '12x'", "-p", "12x");
	USAGE_ERROR("invalid duration '0': seconds > 0 and up to 1e9 expected", "-d", "0", "-p", "1");
	USAGE_ERROR("invalid duration '-1': seconds > 0 and up to 1e9 expected", "-d", "-1", "-p", "1");
	USAGE_ERROR("invalid duration 'nan': seconds > 0 and up to 1e9 expected", "-d", "nan", "-p", "1");
	USAGE_ERROR("invalid duration '2e9': seconds > 0 and up to 1e9 expected", "-d", "2e9", "-p", "1");
	USAGE_ERROR("invalid interval '0.001': seconds from 0.01 to 1e9 expected", "-i", "0.001", "-p", "1");
	USAGE_ERROR("invalid interval '': seconds from 0.01 to 1e9 expected", "-i", "", "-p", "1");
	USAGE_ERROR("invalid --min-age '-1': seconds from 0 to 1e9 expected", "--min-age", "-1", "-p", "1");
	USAGE_ERROR("invalid --min-age 'inf': seconds from 0 to 1e9 expected", "--min-age", "inf", "-p", "1");
	USAGE_ERROR("invalid --top '0': sites from 1 to 100000 expected", "--top", "0", "-p", "1");
	USAGE_ERROR("invalid --top '100001': sites from 1 to 100000 expected", "--top", "100001", "-p", "1");
	USAGE_ERROR("invalid --ringbuf-mb '3': a power of 2 up to 1024 expected", "--ringbuf-mb", "3", "-p", "1");
	USAGE_ERROR("invalid --ringbuf-mb '0': a power of 2 up to 1024 expected", "--ringbuf-mb", "0", "-p", "1");
	USAGE_ERROR("invalid --ringbuf-mb '2048': a power of 2 up to 1024 expected", "--ringbuf-mb", "2048", "-p", "1");
	USAGE_ERROR("invalid --ringbuf-kb '2': a power of 2 from 4 expected", "--ringbuf-kb", "2", "-p", "1");
	USAGE_ERROR("invalid --ringbuf-kb '12': a power of 2 from 4 expected", "--ringbuf-kb", "12", "-p", "1");
	USAGE_ERROR("invalid --sample-bytes '1099511627777': bytes from 0 to 2^40 expected",
		    "--sample-bytes", "1099511627777", "-p", "1");
	USAGE_ERROR("invalid --sample-bytes '-1': bytes from 0 to 2^40 expected", "--sample-bytes", "-1", "-p", "1");
	USAGE_ERROR("invalid --fail-on-leak 'lots': bytes >= 0 expected", "--fail-on-leak=lots", "-p", "1");
}

static void test_bad_usage(void)
{
	USAGE_ERROR("option '-p' needs an argument", "-p");
	USAGE_ERROR("option '--json' needs an argument", "-p", "1", "--json");
	USAGE_ERROR("unknown option '--bogus'", "--bogus", "-p", "1");
	USAGE_ERROR("unknown option '-x'", "-x", "-p", "1");
	USAGE_ERROR("give either -p PID or -- CMD, not both", "-p", "1", "--", "ls");
	USAGE_ERROR("--no-heap and --no-vm leave nothing to trace", "--no-heap", "--no-vm", "-p", "1");
	USAGE_ERROR("--vm-source chooses how the memory view sees syscalls, but --no-vm turns it off",
		    "--vm-source", "raw_tp", "--no-vm", "-p", "1");
	USAGE_ERROR("invalid --vm-source 'kprobe': auto, uprobe, tracepoint or raw_tp expected",
		    "--vm-source", "kprobe", "-p", "1");
	USAGE_ERROR("--fault-source chooses how the memory view sees page faults, but --no-vm turns it off",
		    "--fault-source", "perf", "--no-vm", "-p", "1");
	USAGE_ERROR("invalid --fault-source 'kprobe': auto, perf or tracepoint expected",
		    "--fault-source", "kprobe", "-p", "1");
	USAGE_ERROR("--pool-events traces the pools that --no-pools leaves out", "--no-pools",
		    "--pool-events", "-p", "1");
	USAGE_ERROR("--lib names the allocator to probe, but --no-heap probes none",
		    "--no-heap", "--lib", "/x.so", "-p", "1");
	USAGE_ERROR("nothing to trace: give -p PID or -- CMD", "-v");
	USAGE_ERROR("--reachability and --fail-on-leak need the allocator probes, but --no-heap probes none",
		    "--no-heap", "--reachability", "-p", "1");
	USAGE_ERROR("--reachability and --fail-on-leak need the allocator probes, but --no-heap probes none",
		    "--no-heap", "--fail-on-leak", "-p", "1");
}

/* The overhead budget is attach mode's default, of one process with no
 * other cost bound; only an explicit budget conflicts with -f or
 * --sample-bytes. */
#define STR_(x) #x
#define STR(x) STR_(x)
static void test_max_overhead(void)
{
	MT_CHECK_EQ_U64(parse("-p", "42", NULL), 0);
	MT_CHECK(o.max_overhead_pct == MT_MAX_OVERHEAD_DEFAULT && !o.max_overhead_asked);
	MT_CHECK(o.max_overhead_pct > 0);   /* attach mode is budgeted by default */
	MT_CHECK_EQ_U64(parse("-p", "42", "--max-overhead", "off", NULL), 0);
	MT_CHECK(o.max_overhead_pct == 0 && o.max_overhead_asked);
	MT_CHECK_EQ_U64(parse("-p", "42", "--max-overhead", "2.5", NULL), 0);
	MT_CHECK(o.max_overhead_pct == 2.5 && o.max_overhead_asked);
	MT_CHECK_EQ_U64(parse("-f", "-p", "42", NULL), 0);
	MT_CHECK(o.max_overhead_pct == 0);
	MT_CHECK_EQ_U64(parse("-f", "-p", "42", "--max-overhead", "off", NULL), 0);
	MT_CHECK(o.max_overhead_pct == 0);
	MT_CHECK_EQ_U64(parse("--sample-bytes", "524288", "-p", "42", NULL), 0);
	MT_CHECK(o.max_overhead_pct == 0);
	MT_CHECK_EQ_U64(parse("--", "ls", NULL), 0);
	MT_CHECK(o.max_overhead_pct == 0);
	MT_CHECK_STR(err, "");
	USAGE_ERROR("--max-overhead budgets one process: not with -f (use --max-overhead off)",
		    "-f", "--max-overhead", "5", "-p", "1");
	USAGE_ERROR("--max-overhead and --sample-bytes both bound the cost: give one",
		    "--sample-bytes", "4096", "--max-overhead", "5", "-p", "1");
	USAGE_ERROR("invalid --max-overhead '0': a percentage in (0, 100] or 'off' expected",
		    "--max-overhead", "0", "-p", "1");
	MT_CHECK_EQ_U64(parse("-h", NULL), 1);
	MT_CHECK(strstr(out, "(default\n                         " STR(MT_MAX_OVERHEAD_DEFAULT) ")"));
}

int main(void)
{
	MT_RUN(test_defaults);
	MT_RUN(test_every_option);
	MT_RUN(test_command);
	MT_RUN(test_help_version);
	MT_RUN(test_bad_numbers);
	MT_RUN(test_bad_usage);
	MT_RUN(test_max_overhead);
	return mt_test_done();
}
