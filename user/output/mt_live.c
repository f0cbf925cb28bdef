// SPDX-License-Identifier: BSD-2-Clause
/*
 * The live view (see output/mt_live.h). The screen is one buffer written
 * with one write(2) per frame: cursor home, each line followed by
 * erase-to-end-of-line, then erase-below, so a frame never flickers
 * through a cleared screen. What it costs: one report build per frame
 * (the session's), a few KiB of text.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "output/mt_live.h"
#include "util/mt_fmt.h"

/* alternate screen + hidden cursor, and back */
#define ENTER "\033[?1049h\033[?25l\033[H\033[2J"
#define LEAVE "\033[?25h\033[?1049l"

struct mt_live {
	int fd;
	int key_fd;                 /* -1: no keys */
	enum mt_report_sort sort;
	char *buf;                  /* the frame being built */
	size_t len, cap;
};

/* What the handlers need to give the terminal back: set before any is
 * installed, read only by async-signal-safe calls. */
static struct {
	volatile sig_atomic_t active;   /* the screen and modes are ours */
	int fd, key_fd;
	struct termios saved;           /* key_fd's modes before */
	struct termios raw;
	bool atexit_set;
} term;

static const int fatal_sigs[] = { SIGHUP, SIGQUIT, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };
static struct sigaction old_fatal[sizeof(fatal_sigs) / sizeof(fatal_sigs[0])];
static struct sigaction old_tstp, old_cont;

static void put_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = write(fd, s, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

/* Async-signal-safe: tcsetattr and write only. */
static void term_restore(void)
{
	if (!term.active)
		return;
	term.active = 0;
	if (term.key_fd >= 0)
		tcsetattr(term.key_fd, TCSADRAIN, &term.saved);
	put_all(term.fd, LEAVE, sizeof(LEAVE) - 1);
}

static void term_take(void)
{
	if (term.key_fd >= 0)
		tcsetattr(term.key_fd, TCSADRAIN, &term.raw);
	put_all(term.fd, ENTER, sizeof(ENTER) - 1);
	term.active = 1;
}

static void on_fatal(int sig)
{
	int saved = errno;

	term_restore();
	/* SA_RESETHAND made the action the default again: die of sig */
	errno = saved;
	raise(sig);
}

/* Ctrl-Z: the shell gets its terminal back as it was; SIGCONT takes it
 * again (the next frame redraws it whole). */
static void on_tstp(int sig)
{
	sigset_t set;
	int saved = errno;

	(void)sig;
	term_restore();
	signal(SIGTSTP, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, SIGTSTP);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(SIGTSTP);
	/* continued */
	sigprocmask(SIG_BLOCK, &set, NULL);
	{
		struct sigaction sa = { .sa_handler = on_tstp };

		sigemptyset(&sa.sa_mask);
		sa.sa_flags = SA_RESTART;
		sigaction(SIGTSTP, &sa, NULL);
	}
	term_take();
	errno = saved;
}

static void at_exit(void)
{
	term_restore();
}

static void install_handlers(void)
{
	struct sigaction sa = { .sa_handler = on_fatal };
	size_t i;

	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESETHAND | SA_NODEFER;
	for (i = 0; i < sizeof(fatal_sigs) / sizeof(fatal_sigs[0]); i++)
		sigaction(fatal_sigs[i], &sa, &old_fatal[i]);
	sa.sa_handler = on_tstp;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGTSTP, &sa, &old_tstp);
	if (!term.atexit_set)
		term.atexit_set = atexit(at_exit) == 0;
}

static void remove_handlers(void)
{
	size_t i;

	for (i = 0; i < sizeof(fatal_sigs) / sizeof(fatal_sigs[0]); i++)
		sigaction(fatal_sigs[i], &old_fatal[i], NULL);
	sigaction(SIGTSTP, &old_tstp, NULL);
	(void)old_cont;
}

/* Keys come from stdin only when it is a terminal memtrace may set:
 * in the foreground (a background process changing modes would be
 * stopped by SIGTTOU). */
static int key_fd(bool keys)
{
	if (!keys || !isatty(STDIN_FILENO) || tcgetpgrp(STDIN_FILENO) != getpgrp())
		return -1;
	return STDIN_FILENO;
}

int mt_live_open(int fd, bool keys, enum mt_report_sort sort, struct mt_live **out)
{
	struct mt_live *lv;

	if (term.active)
		return -EBUSY;
	lv = calloc(1, sizeof(*lv));
	if (!lv)
		return -ENOMEM;
	lv->fd = fd;
	lv->sort = sort;
	lv->key_fd = key_fd(keys);
	if (lv->key_fd >= 0 && tcgetattr(lv->key_fd, &term.saved))
		lv->key_fd = -1;
	if (lv->key_fd >= 0) {
		term.raw = term.saved;
		/* Keys one at a time, not echoed; ISIG stays, so Ctrl-C and
		 * Ctrl-Z are signals as always. VMIN 1: a read after poll gets
		 * what is there (mt_live_read_key asks FIONREAD first). */
		term.raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		term.raw.c_cc[VMIN] = 1;
		term.raw.c_cc[VTIME] = 0;
	}
	term.fd = fd;
	term.key_fd = lv->key_fd;
	install_handlers();
	term_take();
	*out = lv;
	return 0;
}

int mt_live_key_fd(const struct mt_live *lv)
{
	return lv ? lv->key_fd : -1;
}

enum mt_report_sort mt_live_sort(const struct mt_live *lv)
{
	return lv->sort;
}

/* The ranking 's' steps through, from whichever --sort began with. */
static enum mt_report_sort next_sort(enum mt_report_sort s)
{
	switch (s) {
	case MT_SORT_LIVE_BYTES:  return MT_SORT_RATE;
	case MT_SORT_RATE:        return MT_SORT_GROWTH;
	case MT_SORT_GROWTH:      return MT_SORT_ALLOC_BYTES;
	case MT_SORT_ALLOC_BYTES: return MT_SORT_ALLOCS;
	default:                  return MT_SORT_LIVE_BYTES;
	}
}

enum mt_live_key mt_live_read_key(struct mt_live *lv)
{
	enum mt_live_key k = MT_LIVE_KEY_NONE;
	char buf[64];
	int avail = 0;
	ssize_t n, i;

	/* A launched program shares the terminal and may have read the key
	 * first: read only what is there, never block. */
	if (lv->key_fd < 0 || ioctl(lv->key_fd, FIONREAD, &avail) || avail <= 0)
		return k;
	n = read(lv->key_fd, buf, (size_t)avail < sizeof(buf) ? (size_t)avail : sizeof(buf));
	for (i = 0; i < n; i++) {
		if (buf[i] == 'q' || buf[i] == 'Q')
			return MT_LIVE_KEY_QUIT;
		if (buf[i] == 's' || buf[i] == 'S') {
			lv->sort = next_sort(lv->sort);
			k = MT_LIVE_KEY_SORT;
		}
	}
	return k;
}

static void screen_size(const struct mt_live *lv, unsigned *rows, unsigned *cols)
{
	struct winsize ws;

	*rows = 24;
	*cols = 80;
	if (ioctl(lv->fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col) {
		*rows = ws.ws_row;
		*cols = ws.ws_col;
	}
}

/* Lines above the site rows: see mt_live_draw. */
#define HEAD_LINES 9

unsigned mt_live_rows(const struct mt_live *lv)
{
	unsigned rows, cols;

	screen_size(lv, &rows, &cols);
	return rows > HEAD_LINES + 1 ? rows - HEAD_LINES - 1 : 1;
}

/* Grow the frame buffer by n bytes of s; on ENOMEM the frame is short
 * (the next one tries again). */
static void append(struct mt_live *lv, const char *s, size_t n)
{
	if (lv->len + n > lv->cap) {
		size_t cap = (lv->cap ? lv->cap * 2 : 8192) + n;
		char *b = realloc(lv->buf, cap);

		if (!b)
			return;
		lv->buf = b;
		lv->cap = cap;
	}
	memcpy(lv->buf + lv->len, s, n);
	lv->len += n;
}

/* One screen line, cut at the terminal's width (names are mostly ASCII;
 * a cut UTF-8 name only loses its tail), then erase to its end. */
static void line(struct mt_live *lv, unsigned cols, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void line(struct mt_live *lv, unsigned cols, const char *fmt, ...)
{
	char l[1024];
	va_list ap;
	size_t n;
	int w;

	va_start(ap, fmt);
	w = vsnprintf(l, sizeof(l), fmt, ap);
	va_end(ap);
	n = w < 0 ? 0 : (size_t)w < sizeof(l) ? (size_t)w : sizeof(l) - 1;
	if (n > cols)
		n = cols;
	append(lv, l, n);
	append(lv, "\033[K\n", 4);
}

static const char *sort_title(enum mt_report_sort s)
{
	switch (s) {
	case MT_SORT_ALLOC_BYTES: return "bytes allocated";
	case MT_SORT_ALLOCS:      return "allocations";
	case MT_SORT_RATE:        return "allocation rate";
	case MT_SORT_GROWTH:      return "growth";
	default:                  return "live bytes";
	}
}

/* The frame a site is attributed to, as "func (module) file:line". */
static void site_name(char *b, size_t n, const struct mt_report_site *s)
{
	const struct mt_report_stack *st = &s->stack;
	const struct mt_frame *fr;
	int w;

	if (!st->nframes) {
		snprintf(b, n, "(no stack)");
		return;
	}
	fr = &st->frames[st->attr < st->nframes ? st->attr : 0];
	if (fr->func)
		w = snprintf(b, n, "%s", fr->func);
	else
		w = snprintf(b, n, "0x%" PRIx64, fr->addr);
	if (w < 0 || (size_t)w >= n)
		return;
	if (fr->module)
		w += snprintf(b + w, n - (size_t)w, " (%s)", mt_basename(fr->module));
	if (fr->file && w > 0 && (size_t)w < n)
		snprintf(b + w, n - (size_t)w, " %s:%d", mt_basename(fr->file), fr->line);
}

int mt_live_draw(struct mt_live *lv, const struct mt_live_frame *f)
{
	const struct mt_report *r = f->r;
	const struct mt_counts *c = &r->totals.c;
	char b1[16], b2[16], b3[16], name[512];
	unsigned rows, cols, nsites, i;

	screen_size(lv, &rows, &cols);
	lv->len = 0;
	append(lv, "\033[H", 3);
	/* 1 */
	line(lv, cols, "memtrace: pid %d (%s) %.1f s   %s%s   %s", r->target.pid,
	     r->target.comm[0] ? r->target.comm : "?", r->duration_s, lv->key_fd >= 0 ? "[s] sort: " : "sort: ",
	     sort_title(lv->sort), lv->key_fd >= 0 ? "[q] quit" : "Ctrl-C ends");
	/* 2 */
	line(lv, cols, "%s", f->note ? f->note : "");
	if (r->opts.no_heap) {
		line(lv, cols, "RSS %s   lost events %" PRIu64, mt_fmt_bytes(b1, sizeof(b1), f->rss_bytes),
		     f->vm_lost);
		goto done;
	}
	/* 3..7 */
	line(lv, cols, "allocs %" PRIu64 " (%s)   frees %" PRIu64 " (%s)", c->allocs,
	     mt_fmt_bytes(b1, sizeof(b1), c->alloc_bytes), c->frees,
	     mt_fmt_bytes(b2, sizeof(b2), c->free_bytes));
	line(lv, cols, "live %" PRIu64 " objects, %s   peak %s   RSS %s", c->live_objects,
	     mt_fmt_bytes(b1, sizeof(b1), c->live_bytes), mt_fmt_bytes(b2, sizeof(b2), c->peak_live_bytes),
	     f->rss_bytes ? mt_fmt_bytes(b3, sizeof(b3), f->rss_bytes) : "?");
	line(lv, cols, "rates (last %.1f s): %.1f allocs/s   %.1f frees/s   %s/s", f->interval.seconds,
	     f->interval.allocs_per_s, f->interval.frees_per_s,
	     mt_fmt_bytes(b1, sizeof(b1), (uint64_t)(f->interval.bytes_per_s + 0.5)));
	if (r->traced_fraction > 0)
		line(lv, cols, "lost events %" PRIu64 "   ESTIMATES: overhead budget, traced %.2f%% of the time",
		     r->totals.lost_events + f->vm_lost, r->traced_fraction * 100);
	else
		line(lv, cols, "lost events %" PRIu64 "%s", r->totals.lost_events + f->vm_lost,
		     r->totals.lost_events + f->vm_lost ? "   (counts are not exact)" : "");
	line(lv, cols, "%s", "");
	/* 8, 9 */
	nsites = r->nsites < mt_live_rows(lv) ? (unsigned)r->nsites : mt_live_rows(lv);
	line(lv, cols, "top %u sites by %s:", nsites, sort_title(lv->sort));
	line(lv, cols, "%10s %9s %11s %10s %-7s %s", "LIVE", "OBJECTS", "ALLOCS", "ALLOCS/S", "TREND", "SITE");
	for (i = 0; i < nsites; i++) {
		const struct mt_report_site *s = &r->sites[i];
		bool grow = f->growing && s->site != MT_SITE_NONE && f->growing(f->arg, s->site);
		double rate = f->rate && s->site != MT_SITE_NONE ? f->rate(f->arg, s->site) : 0;

		site_name(name, sizeof(name), s);
		line(lv, cols, "%10s %9" PRIu64 " %11" PRIu64 " %10.1f %-7s %s",
		     mt_fmt_bytes(b1, sizeof(b1), s->live_bytes), s->live_objects, s->allocs, rate,
		     grow ? "growing" : "", name);
	}
done:
	append(lv, "\033[J", 3);
	if (!term.active)
		return 0;   /* stopped (Ctrl-Z): nothing to draw on */
	put_all(lv->fd, lv->buf, lv->len);
	return 0;
}

void mt_live_close(struct mt_live *lv)
{
	if (!lv)
		return;
	term_restore();
	remove_handlers();
	free(lv->buf);
	free(lv);
}
