// SPDX-License-Identifier: BSD-2-Clause
/*
 * `memtrace compare [OPTIONS] -- CMD ARGS`: CMD run under trace in two
 * configurations, A (default: unpooled, MTPOOL_DISABLE=1) and B (default:
 * pooled), alternating A B, B A, A B, ... for --repeat rounds, each round a
 * whole launch-mode session in this process with the same trace options;
 * then one comparison (compare/). Each round's report is a file in a
 * directory (a temporary one, removed at the end, or --keep DIR), so any
 * pair can be given to `memtrace diff` afterwards.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/mt_compare_cmd.h"
#include "cli/mt_opts.h"
#include "cli/mt_session.h"
#include "compare/mt_compare.h"
#include "util/mt_exit.h"
#include "util/mt_log.h"
#include "util/mt_outfile.h"
#include "util/mt_time.h"

#define MAX_ENV 32
#define MAX_REPEAT 100
#define DEFAULT_TOP 10

static const char usage[] =
	"usage: memtrace compare [OPTIONS] [TRACE OPTIONS] -- CMD [ARGS]\n"
	"Run CMD traced as A (default: unpooled, MTPOOL_DISABLE=1) and as B (default:\n"
	"pooled), alternating, and compare: allocator calls and rate, bytes, peak live\n"
	"bytes, peak RSS, page faults, CPU and wall time (medians and ranges), sites by\n"
	"stack, the pools, and A's pool advice against what B achieved.\n"
	"  --repeat N          rounds per side (default 3)\n"
	"  --env-a VAR=VAL     A's environment (repeatable; VAR alone unsets it)\n"
	"  --env-b VAR=VAL     B's environment (repeatable); either replaces the default pair\n"
	"  --label-a L, --label-b L  names in the output (default unpooled/pooled, or A/B)\n"
	"  --json FILE         write the comparison as JSON ('-' = stdout)\n"
	"  -o, --output FILE   write the text comparison to FILE (default stderr)\n"
	"  --top N             sites listed (default 10)\n"
	"  --keep DIR          keep each round's report (DIR/a1.json, b1.json, ...) and text\n"	"  --untraced          also run each side once per round without probes: CPU, wall\n"
	"                      time and peak RSS the tracer does not inflate\n"
	"TRACE OPTIONS are memtrace's own (--sample-bytes, --unwind, --max-depth, --lib,\n"
	"--wrapper, -f, --no-vm, ...), the same for every round; -p, -d, -i, --listen,\n"
	"--pprof, --folded, --fail-on-leak are not for compare.\n";

struct cmp_opts {
	unsigned repeat;
	const char *env[2][MAX_ENV];
	size_t nenv[2];
	const char *label[2];
	const char *json_path, *text_path, *keep;
	unsigned top;
	bool untraced;
};

static int bad(const char *what, const char *arg)
{
	fprintf(stderr, "memtrace: compare: %s%s%s\n"
		"Try 'memtrace compare --help' for more information.\n", what, arg ? " " : "", arg ? arg : "");
	return MT_EXIT_USAGE;
}

/* "--name VALUE" or "--name=VALUE": the value, and i moved past it. */
static const char *opt_value(int argc, char **argv, int *i, const char *name, bool *match)
{
	size_t n = strlen(name);
	const char *s = argv[*i];

	*match = false;
	if (strncmp(s, name, n) != 0)
		return NULL;
	if (s[n] == '=') {
		*match = true;
		return s + n + 1;
	}
	if (s[n])
		return NULL;
	*match = true;
	if (*i + 1 >= argc)
		return NULL;
	return argv[++*i];
}

static int parse_count(const char *s, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v;

	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v == 0 || v > max)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

/* Split argv: compare's options into co, the rest (trace options, "--",
 * CMD) into targv for mt_opts_parse. Returns 0, 1 (help shown) or an exit
 * status. */
static int parse(int argc, char **argv, struct cmp_opts *co, char **targv, int *targc)
{
	static const char *const names[] = { "--repeat", "--env-a", "--env-b", "--label-a", "--label-b",
					     "--json", "--output", "--top", "--keep", "-o" };
	int i, k;

	co->repeat = 3;
	co->top = DEFAULT_TOP;
	*targc = 0;
	targv[(*targc)++] = "memtrace compare";
	for (i = 1; i < argc; i++) {
		const char *v = NULL;
		bool m = false;

		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			fputs(usage, stdout);
			return 1;
		}
		if (strcmp(argv[i], "--untraced") == 0) {
			co->untraced = true;
			continue;
		}
		for (k = 0; k < (int)(sizeof(names) / sizeof(names[0])) && !m; k++)
			v = opt_value(argc, argv, &i, names[k], &m);
		if (!m) {
			targv[(*targc)++] = argv[i];
			continue;
		}
		k--;
		if (!v)
			return bad("option needs an argument:", names[k]);
		switch (k) {
		case 0:
			if (parse_count(v, MAX_REPEAT, &co->repeat))
				return bad("invalid --repeat: rounds from 1 to 100 expected, not", v);
			break;
		case 1: case 2: {
			int s = k - 1;

			if (!*v || *v == '=')
				return bad("invalid environment entry: VAR=VAL or VAR expected, not", v);
			if (co->nenv[s] == MAX_ENV)
				return bad("too many environment entries:", v);
			co->env[s][co->nenv[s]++] = v;
			break;
		}
		case 3: co->label[0] = v; break;
		case 4: co->label[1] = v; break;
		case 5: co->json_path = v; break;
		case 6: case 9: co->text_path = v; break;
		case 7:
			if (parse_count(v, 100000, &co->top))
				return bad("invalid --top: sites from 1 to 100000 expected, not", v);
			break;
		case 8: co->keep = v; break;
		}
	}
	for (; i < argc; i++)
		targv[(*targc)++] = argv[i];
	targv[*targc] = NULL;
	if (!co->nenv[0] && !co->nenv[1]) {
		co->env[0][co->nenv[0]++] = "MTPOOL_DISABLE=1";
		co->env[1][co->nenv[1]++] = "MTPOOL_DISABLE";
		if (!co->label[0])
			co->label[0] = "unpooled";
		if (!co->label[1])
			co->label[1] = "pooled";
	}
	if (!co->label[0])
		co->label[0] = "A";
	if (!co->label[1])
		co->label[1] = "B";
	if (co->json_path && co->text_path && !strcmp(co->json_path, "-") && !strcmp(co->text_path, "-"))
		return bad("only one of --json and -o can write to stdout ('-')", NULL);
	return 0;
}

static int check_trace_opts(const struct mt_opts *o)
{
	if (o->pid)
		return bad("compare launches CMD: -p is not for compare", NULL);
	if (o->duration_s > 0 || o->interval_s > 0)
		return bad("-d and -i are not for compare: each round runs CMD to its end", NULL);
	if (o->listen || o->pprof_path || o->folded_path || o->json_path || o->text_path)
		return bad("--listen, --pprof, --folded are not for compare (use --keep DIR for the reports)",
			   NULL);
	if (o->fail_on_leak)
		return bad("--fail-on-leak is not for compare", NULL);
	if (o->no_heap)
		return bad("--no-heap: compare needs the allocator probes", NULL);
	return 0;
}

/* The environment of one side, applied; saved holds what to restore. */
struct env_save {
	char *name;
	char *old;   /* NULL: was unset */
};

static int env_apply(const char *const *env, size_t n, struct env_save *saved)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const char *eq = strchr(env[i], '=');
		const char *cur;
		int rc;

		saved[i].name = eq ? strndup(env[i], (size_t)(eq - env[i])) : strdup(env[i]);
		if (!saved[i].name)
			return -ENOMEM;
		cur = getenv(saved[i].name);
		saved[i].old = cur ? strdup(cur) : NULL;
		rc = eq ? setenv(saved[i].name, eq + 1, 1) : unsetenv(saved[i].name);
		if (rc)
			return -errno;
	}
	return 0;
}

static void env_restore(struct env_save *saved, size_t n)
{
	while (n--) {
		if (!saved[n].name)
			continue;
		if (saved[n].old)
			setenv(saved[n].name, saved[n].old, 1);
		else
			unsetenv(saved[n].name);
		free(saved[n].name);
		free(saved[n].old);
		saved[n].name = saved[n].old = NULL;
	}
}

static char *path_in(const char *dir, const char *side, unsigned round, const char *ext)
{
	char *p;

	if (asprintf(&p, "%s/%s%u.%s", dir, side, round, ext) < 0)
		return NULL;
	return p;
}

static double tv_s(const struct timeval *tv)
{
	return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

/* One traced run of the command in one configuration. Returns 0 or an
 * exit status; the error is printed. */
static int run_round(const struct mt_opts *base, const struct cmp_opts *co, int side, unsigned round,
		     const char *dir, struct mt_cmp_round *r)
{
	struct mt_session s = { .sigfd = -1, .target.pidfd = -1, .stop = MT_STOP_ERROR };
	struct env_save saved[MAX_ENV] = { { 0 } };
	const char *name = side ? "b" : "a";
	char *text = path_in(dir, name, round, "txt");
	int rc, err;

	r->json_path = path_in(dir, name, round, "json");
	if (!text || !r->json_path) {
		free(text);
		mt_err("cannot run round %u: %s", round, strerror(ENOMEM));
		return MT_EXIT_ERROR;
	}
	mt_info("compare: round %u of %u, %s (%s)", round, co->repeat, side ? "B" : "A", co->label[side]);
	s.opts = *base;
	s.opts.json_path = r->json_path;
	s.opts.text_path = text;
	err = env_apply(co->env[side], co->nenv[side], saved);
	if (err) {
		env_restore(saved, co->nenv[side]);
		free(text);
		mt_err("cannot set the environment of %s: %s", co->label[side], strerror(-err));
		return MT_EXIT_ERROR;
	}
	/* The program is started (and has its environment) inside start. */
	rc = mt_session_start(&s);
	env_restore(saved, co->nenv[side]);
	if (!rc) {
		s.stop = mt_session_run(&s);
		rc = mt_session_finish(&s);
		r->wall_s = (double)(s.end_ns - s.start_ns) / MT_NS_PER_S;
		if (s.launch.has_rusage) {
			const struct rusage *ru = &s.launch.rusage;

			r->has_rusage = true;
			r->user_s = tv_s(&ru->ru_utime);
			r->sys_s = tv_s(&ru->ru_stime);
			/* ru_maxrss counts memtrace's own RSS, inherited at fork */
			r->maxrss_bytes = s.launch.hwm_bytes ? s.launch.hwm_bytes :
					  (uint64_t)ru->ru_maxrss * 1024;
			r->minflt = (uint64_t)ru->ru_minflt;
			r->majflt = (uint64_t)ru->ru_majflt;
		}
		if (s.stop == MT_STOP_SIGNAL) {
			mt_err("compare: interrupted in round %u (%s)", round, co->label[side]);
			rc = MT_EXIT_ERROR;
		} else if (s.stop != MT_STOP_EXITED) {
			rc = MT_EXIT_ERROR;
		} else if (rc && s.launch.exit_code == rc) {
			mt_err("compare: round %u (%s): '%s' exited with status %d; a failed run is no "
			       "comparison", round, co->label[side], base->cmd[0], rc);
			rc = MT_EXIT_ERROR;
		}
	}
	mt_session_close(&s);
	free(text);
	return rc;
}

/* A SIGINT or SIGTERM arrived while no session read its signalfd (the
 * sessions leave them blocked). */
static bool interrupted(void)
{
	sigset_t set;

	return sigpending(&set) == 0 && (sigismember(&set, SIGINT) == 1 || sigismember(&set, SIGTERM) == 1);
}

/* --untraced: the same command and environment, no probes. It still runs
 * under ptrace (mt_launch: stops at exec and at exit only, nothing per
 * call), so its VmHWM is read at the exit stop: ru_maxrss would count
 * memtrace's own RSS, inherited at fork. Returns 0 or an exit status. */
static int run_untraced(char **cmd, const struct cmp_opts *co, int side, unsigned round,
			struct mt_cmp_untraced *u)
{
	struct env_save saved[MAX_ENV] = { { 0 } };
	struct mt_launch l;
	enum mt_launch_state st;
	uint64_t t0, t1 = 0;
	int err;

	mt_info("compare: round %u of %u, %s (%s), untraced", round, co->repeat, side ? "B" : "A",
		co->label[side]);
	err = env_apply(co->env[side], co->nenv[side], saved);
	if (!err)
		err = mt_launch_start(cmd, &l);
	env_restore(saved, co->nenv[side]);
	if (err)
		return MT_EXIT_ERROR;
	t0 = mt_now_ns();
	if (mt_launch_resume(&l)) {
		mt_launch_kill(&l);
		return MT_EXIT_ERROR;
	}
	while ((st = mt_launch_poll(&l, true)) != MT_LAUNCH_EXITED) {
		if (st != MT_LAUNCH_EXITING)
			continue;
		t1 = mt_now_ns();
		if (mt_launch_resume(&l)) {
			mt_launch_kill(&l);
			return MT_EXIT_ERROR;
		}
	}
	if (l.exit_code) {
		mt_err("compare: round %u (%s, untraced): '%s' exited with status %d; a failed run is no "
		       "comparison", round, co->label[side], cmd[0], l.exit_code);
		return MT_EXIT_ERROR;
	}
	if (interrupted()) {
		mt_err("compare: interrupted in round %u (%s, untraced)", round, co->label[side]);
		return MT_EXIT_ERROR;
	}
	u->ran = l.has_rusage;
	u->wall_s = (double)((t1 ? t1 : mt_now_ns()) - t0) / MT_NS_PER_S;
	u->user_s = tv_s(&l.rusage.ru_utime);
	u->sys_s = tv_s(&l.rusage.ru_stime);
	u->maxrss_bytes = l.hwm_bytes ? l.hwm_bytes : (uint64_t)l.rusage.ru_maxrss * 1024;
	u->minflt = (uint64_t)l.rusage.ru_minflt;
	u->majflt = (uint64_t)l.rusage.ru_majflt;
	return 0;
}

/* Remove what the rounds wrote into a temporary directory, then it. */
static void remove_dir(const char *dir, const struct mt_cmp_side *sides, unsigned repeat)
{
	unsigned r;
	int s;

	for (s = 0; s < 2; s++)
		for (r = 0; r < repeat; r++) {
			char *t = path_in(dir, s ? "b" : "a", r + 1, "txt");

			if (r < sides[s].nrounds && sides[s].rounds[r].json_path)
				unlink(sides[s].rounds[r].json_path);
			if (t)
				unlink(t);
			free(t);
		}
	rmdir(dir);
}

static int write_outputs(const struct cmp_opts *co, const struct mt_cmp *c)
{
	struct mt_outfile json = { 0 }, text = { 0 };
	FILE *tf = stderr;
	int rc = MT_EXIT_WRITE, err;

	if (co->json_path && mt_outfile_open(&json, co->json_path))
		goto out;
	if (co->text_path && mt_outfile_open(&text, co->text_path))
		goto out;
	if (text.f)
		tf = text.f;
	err = mt_cmp_text(tf, c, co->top);
	if (err) {
		mt_err("cannot write the text comparison: %s", strerror(-err));
		goto out;
	}
	if (text.f && mt_outfile_commit(&text))
		goto out;
	if (json.f) {
		err = mt_cmp_json(json.f, c);
		if (err) {
			mt_err("cannot write '%s': %s", co->json_path, strerror(-err));
			goto out;
		}
		if (mt_outfile_commit(&json))
			goto out;
	}
	rc = 0;
out:
	mt_outfile_abort(&json);
	mt_outfile_abort(&text);
	return rc;
}

int mt_compare_main(int argc, char **argv)
{
	struct cmp_opts co = { 0 };
	struct mt_opts base;
	struct mt_cmp_side sides[2] = { { 0 } };
	struct mt_cmp c = { 0 };
	char tmpl[PATH_MAX], **targv;
	const char *dir;
	bool tmpdir = false, built = false;
	int targc, rc, s;
	unsigned r;

	targv = calloc((size_t)argc + 2, sizeof(*targv));
	if (!targv)
		return MT_EXIT_ERROR;
	rc = parse(argc, argv, &co, targv, &targc);
	if (rc) {
		free(targv);
		return rc == 1 ? 0 : rc;
	}
	rc = mt_opts_parse(targc, targv, &base);
	if (rc) {
		free(targv);
		return rc == 1 ? 0 : MT_EXIT_USAGE;
	}
	rc = check_trace_opts(&base);
	if (rc) {
		free(targv);
		return rc;
	}
	mt_verbose = base.verbose;
	if (co.keep) {
		dir = co.keep;
		if (mkdir(dir, 0755) && errno != EEXIST) {
			mt_err("cannot create '%s': %s", dir, strerror(errno));
			free(targv);
			return MT_EXIT_WRITE;
		}
	} else {
		const char *t = getenv("TMPDIR");

		snprintf(tmpl, sizeof(tmpl), "%s/memtrace-compare-XXXXXX", t && *t ? t : "/tmp");
		if (!mkdtemp(tmpl)) {
			mt_err("cannot create a directory '%s': %s", tmpl, strerror(errno));
			free(targv);
			return MT_EXIT_WRITE;
		}
		dir = tmpl;
		tmpdir = true;
	}
	for (s = 0; s < 2; s++) {
		sides[s].label = co.label[s];
		sides[s].env = co.env[s];
		sides[s].nenv = co.nenv[s];
		sides[s].rounds = calloc(co.repeat, sizeof(*sides[s].rounds));
		if (!sides[s].rounds) {
			rc = MT_EXIT_ERROR;
			goto out;
		}
	}
	/* A B, B A, A B, ...: drift over the run (a warming page cache, other
	 * load) falls on both sides alike. */
	for (r = 0; r < co.repeat && !rc; r++)
		for (s = 0; s < 2 && !rc; s++) {
			int side = r % 2 ? 1 - s : s;

			rc = run_round(&base, &co, side, r + 1, dir, &sides[side].rounds[r]);
			sides[side].nrounds = r + 1;
			if (!rc && co.untraced)
				rc = run_untraced(base.cmd, &co, side, r + 1, &sides[side].rounds[r].untraced);
		}
	if (rc)
		goto out;
	if (mt_cmp_build(&c, &sides[0], &sides[1], base.cmd)) {
		rc = MT_EXIT_ERROR;
		goto out;
	}
	built = true;
	c.reports_kept = !tmpdir;
	rc = write_outputs(&co, &c);
out:
	if (built)
		mt_cmp_release(&c);
	if (tmpdir)
		remove_dir(dir, sides, co.repeat);
	for (s = 0; s < 2; s++) {
		for (r = 0; r < co.repeat && sides[s].rounds; r++)
			free(sides[s].rounds[r].json_path);
		free(sides[s].rounds);
	}
	free(targv);
	return rc;
}
