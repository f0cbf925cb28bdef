// SPDX-License-Identifier: BSD-2-Clause
/*
 * `memtrace layout [OPTIONS] FILE|-p PID [TYPE...]` (docs/layout.md).
 * With -p, the live objects come from tracing the process for -d seconds
 * with memtrace itself (this executable, run as a child writing a JSON
 * report), the same report --report reads: one attribution path.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "util/mt_log.h"
#include "layout/mt_layout.h"

static const char usage[] =
"usage: memtrace layout [OPTIONS] FILE [TYPE...]\n"
"       memtrace layout [OPTIONS] -p PID [TYPE...]\n"
"Struct layouts from FILE's DWARF (or PID's executable): members, holes,\n"
"padding, cache lines, and a member order that saves bytes.\n"
"  --json FILE            write JSON to FILE (\"-\": stdout) instead of text\n"
"  --report REPORT.json   weight types by the live objects of a saved report\n"
"  -p, --pid PID          trace PID for -d seconds and weight by its live heap\n"
"  -d, --duration SEC     how long -p traces (default 5)\n"
"  --keep-first A,B,...   these members first, in this order\n"
"  --keep-together A,B,.. these members adjacent, in this order (repeatable)\n"
"  --abi-stable           report only: propose no order for types declared in\n"
"                         headers (their layout is an ABI)\n"
"  -h, --help             this help\n";

/* Split "a,b,c" into a NULL-terminated malloc'd vector (strings in s). */
static char **split(char *s, size_t *n)
{
	char **v = NULL, **nv, *tok, *save = NULL;

	*n = 0;
	for (tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		nv = realloc(v, (*n + 2) * sizeof(*v));
		if (!nv) {
			free(v);
			return NULL;
		}
		v = nv;
		v[(*n)++] = tok;
		v[*n] = NULL;
	}
	return v;
}

/* Trace pid with this executable for secs into json_path. 0 or -errno. */
static int trace_pid(pid_t pid, const char *secs, const char *json_path)
{
	char pids[24], self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	pid_t child;
	int status;

	if (n < 0) {
		mt_err("cannot find the memtrace executable: %s", strerror(errno));
		return -errno;
	}
	self[n] = '\0';
	snprintf(pids, sizeof(pids), "%d", (int)pid);
	child = fork();
	if (child < 0) {
		mt_err("cannot start tracing %d: %s", (int)pid, strerror(errno));
		return -errno;
	}
	if (child == 0) {
		if (!freopen("/dev/null", "w", stdout))
			_exit(127);
		execl(self, self, "--no-vm", "-d", secs, "--top", "100000", "--json", json_path,
		      "-p", pids, (char *)NULL);
		_exit(127);
	}
	while (waitpid(child, &status, 0) < 0) {
		if (errno != EINTR) {
			mt_err("cannot wait for the tracer: %s", strerror(errno));
			return -errno;
		}
	}
	if (!WIFEXITED(status) || (WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 3)) {
		mt_err("tracing %d failed (memtrace exited with %d)", (int)pid,
		       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
		return -EIO;
	}
	return 0;
}

enum { OPT_JSON = 256, OPT_REPORT, OPT_FIRST, OPT_TOGETHER, OPT_ABI };

int mt_layout_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", required_argument, NULL, OPT_JSON },
		{ "report", required_argument, NULL, OPT_REPORT },
		{ "pid", required_argument, NULL, 'p' },
		{ "duration", required_argument, NULL, 'd' },
		{ "keep-first", required_argument, NULL, OPT_FIRST },
		{ "keep-together", required_argument, NULL, OPT_TOGETHER },
		{ "abi-stable", no_argument, NULL, OPT_ABI },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct mt_lay_pins pins = { 0 };
	struct mt_layout l = { 0 };
	struct mt_lay_weights w = { 0 }, *wp = NULL;
	const char *json = NULL, *report = NULL, *secs = "5", *file;
	char exe[64], tmp[] = "/tmp/memtrace-layout-XXXXXX";
	bool tmp_made = false;
	pid_t pid = 0;
	char *end;
	FILE *out = stdout;
	int c, rc = 1, err;
	size_t i;

	optind = 1;
	opterr = 0;   /* one line of our own per usage error */
	while ((c = getopt_long(argc, argv, ":p:d:h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_JSON:
			json = optarg;
			break;
		case OPT_REPORT:
			report = optarg;
			break;
		case 'p':
			errno = 0;
			pid = (pid_t)strtol(optarg, &end, 10);
			if (errno || *end || pid <= 0) {
				fprintf(stderr, "memtrace layout: invalid pid '%s'\n", optarg);
				rc = 2;
				goto out;
			}
			break;
		case 'd':
			if (strtod(optarg, &end) <= 0 || *end) {
				fprintf(stderr, "memtrace layout: invalid duration '%s'\n", optarg);
				rc = 2;
				goto out;
			}
			secs = optarg;
			break;
		case OPT_FIRST:
			pins.keep_first = split(optarg, &pins.nkeep_first);
			break;
		case OPT_TOGETHER: {
			char ***g = realloc(pins.together, (pins.ngroups + 1) * sizeof(*g));
			size_t *gn = realloc(pins.ntogether, (pins.ngroups + 1) * sizeof(*gn));

			if (g)
				pins.together = g;
			if (gn)
				pins.ntogether = gn;
			if (!g || !gn || !(g[pins.ngroups] = split(optarg, &gn[pins.ngroups]))) {
				mt_err("cannot parse --keep-together: %s", strerror(ENOMEM));
				goto out;
			}
			pins.ngroups++;
			break;
		}
		case OPT_ABI:
			pins.abi_stable = true;
			break;
		case 'h':
			fputs(usage, stdout);
			rc = 0;
			goto out;
		case ':':
			fprintf(stderr, "memtrace layout: option '%s' needs a value (see --help)\n",
				argv[optind - 1]);
			rc = 2;
			goto out;
		default:
			fprintf(stderr, "memtrace layout: unknown option '%s' (see --help)\n",
				argv[optind - 1]);
			rc = 2;
			goto out;
		}
	}
	if (pid && report) {
		fprintf(stderr, "memtrace layout: -p and --report exclude each other\n");
		rc = 2;
		goto out;
	}
	if (pid) {
		snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)pid);
		file = exe;
	} else if (optind < argc) {
		file = argv[optind++];
	} else {
		fputs("memtrace layout: FILE or -p PID expected (see --help)\n", stderr);
		rc = 2;
		goto out;
	}
	err = mt_layout_load(&l, file, argv + optind, (size_t)(argc - optind));
	if (err)
		goto out;
	for (i = 0; i < (size_t)(argc - optind); i++) {
		size_t k;

		for (k = 0; k < l.n && strcmp(l.s[k].name, argv[optind + i]) &&
			    (!l.s[k].alias || strcmp(l.s[k].alias, argv[optind + i])); k++)
			;
		if (k == l.n) {
			mt_err("no type '%s' in the debug info of '%s'", argv[optind + i], file);
			goto out;
		}
	}
	for (i = 0; i < l.n; i++)
		mt_lay_analyze(&l.s[i], &pins);
	if (pid) {
		int fd = mkstemp(tmp);

		if (fd < 0) {
			mt_err("cannot create a temporary report: %s", strerror(errno));
			goto out;
		}
		close(fd);
		tmp_made = true;
		if (trace_pid(pid, secs, tmp))
			goto out;
		report = tmp;
	}
	if (report) {
		if (mt_lay_weigh(&l, report, &w))
			goto out;
		if (pid)
			w.path = "(traced)";
		wp = &w;
	}
	if (json && strcmp(json, "-") != 0) {
		out = fopen(json, "w");
		if (!out) {
			mt_err("cannot create '%s': %s", json, strerror(errno));
			out = stdout;
			goto out;
		}
	}
	err = json ? mt_lay_json(out, &l, wp) : mt_lay_text(out, &l, wp);
	if (err) {
		mt_err("cannot write the layout: %s", strerror(-err));
		goto out;
	}
	rc = 0;
out:
	if (out != stdout && fclose(out) && rc == 0) {
		mt_err("cannot write '%s': %s", json, strerror(errno));
		rc = 1;
	}
	if (tmp_made)
		unlink(tmp);
	mt_lay_weights_free(&w);
	mt_layout_free(&l);
	free(pins.keep_first);
	for (i = 0; i < pins.ngroups; i++)
		free(pins.together[i]);
	free(pins.together);
	free(pins.ntogether);
	return rc;
}
