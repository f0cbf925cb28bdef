// SPDX-License-Identifier: BSD-2-Clause
/*
 * memtrace: where a process's memory goes. Attaches BPF uprobes to the
 * allocator of one process (-p PID) or of a program it launches (-- CMD),
 * aggregates every allocation and free, and reports live memory per call
 * stack, rates and leak candidates.
 *
 * main: options, then one session (cli/mt_session.h: start, run, finish,
 * close) or `memtrace diff`; the exit status is the session's.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "cli/mt_compare_cmd.h"
#include "cli/mt_opts.h"
#include "cli/mt_session.h"
#include "diff/mt_diff.h"
#include "layout/mt_layout.h"
#include "output/mt_out.h"
#include "util/mt_exit.h"
#include "util/mt_log.h"

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && !mt_verbose)
		return 0;
	if (level == LIBBPF_INFO && !mt_verbose)
		return 0;
	/* Warnings are shown only with -v: memtrace prints its own one-line
	 * error for every failure, with the context libbpf lacks. */
	if (level == LIBBPF_WARN && !mt_verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

int main(int argc, char **argv)
{
	struct mt_session s = { .sigfd = -1, .target.pidfd = -1, .stop = MT_STOP_ERROR };
	int err, exit_code;

	setlinebuf(stdout);
	if (argc > 1 && strcmp(argv[1], "diff") == 0)
		return mt_diff_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "layout") == 0)
		return mt_layout_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "report") == 0)
		return mt_out_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "compare") == 0) {
		libbpf_set_print(libbpf_print);
		return mt_compare_main(argc - 1, argv + 1);
	}
	err = mt_opts_parse(argc, argv, &s.opts);
	if (err)
		return err == 1 ? 0 : MT_EXIT_USAGE;
	mt_verbose = s.opts.verbose;
	libbpf_set_print(libbpf_print);

	exit_code = mt_session_start(&s);
	if (!exit_code) {
		s.stop = mt_session_run(&s);
		exit_code = mt_session_finish(&s);
	}
	mt_session_close(&s);
	return exit_code;
}
