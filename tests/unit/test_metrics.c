// SPDX-License-Identifier: BSD-2-Clause
/* The metrics path without BPF: the exposition writer's escaping, --listen
 * parsing, site labels summed and bounded by --metrics-top, and the server
 * answering with the last published snapshot (over a real socket). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "collect/mt_agg.h"
#include "serve/mt_metrics.h"
#include "serve/mt_serve.h"
#include "util/mt_prom.h"
#include "mt_test.h"

static void test_prom_escaping(void)
{
	struct mt_prom p;
	const char *l[] = { "site", "a\"b\\c\nd\x01\xff", "k", "v", NULL };

	mt_prom_init(&p);
	mt_prom_header(&p, "x_bytes", "gauge", "help with \\ and\nnewline \"quoted\"");
	mt_prom_u64(&p, "x_bytes", l, 18446744073709551615ull);
	mt_prom_double(&p, "x_bytes", NULL, 0.1);
	MT_CHECK_STR(p.buf, "# HELP x_bytes help with \\\\ and\\nnewline \"quoted\"\n"
			    "# TYPE x_bytes gauge\n"
			    "x_bytes{site=\"a\\\"b\\\\c\\nd??\",k=\"v\"} 18446744073709551615\n"
			    "x_bytes 0.1\n");
	mt_prom_reset(&p);
	MT_CHECK_EQ_U64(p.len, 0);
	mt_prom_release(&p);
}

static void test_listen_parse(void)
{
	struct sockaddr_storage ss;
	size_t len;
	static const char *const bad[] = { "x", "1.2.3.4", "1.2.3.4:70000", ":80", "1.2.3.4:-1",
					   "1.2.3.4:", "[::1:80", "::1:80", "localhost:80" };

	MT_CHECK(mt_serve_parse("127.0.0.1:9464", &ss, &len) == 0);
	MT_CHECK(ss.ss_family == AF_INET && ntohs(((struct sockaddr_in *)&ss)->sin_port) == 9464);
	MT_CHECK(mt_serve_parse("[::1]:0", &ss, &len) == 0);
	MT_CHECK(ss.ss_family == AF_INET6 && len == sizeof(struct sockaddr_in6));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		MT_CHECK(mt_serve_parse(bad[i], &ss, &len) == -EINVAL);
}

static uint64_t value_of(const char *text, const char *series)
{
	const char *s = strstr(text, series);

	return s && s[strlen(series)] == ' ' ? strtoull(s + strlen(series) + 1, NULL, 10) : UINT64_MAX;
}

/* Without a symbolizer a site's label is its call-site address: stacks
 * through one call site are one series, and only the top N are exported. */
static void test_site_labels(void)
{
	struct mt_agg *a = mt_agg_new(0);
	struct mt_metrics_opts o = { .pid = getpid(), .comm = "t", .allocator = "", .top = 2 };
	struct mt_metrics *m;
	struct mt_prom p;
	uint64_t f1[] = { 0x1000, 0xa }, f2[] = { 0x1000, 0xb }, f3[] = { 0x2000 }, f4[] = { 0x3000 };
	uint32_t s1, s2, s3, s4;

	MT_CHECK(a);
	s1 = mt_agg_site(a, f1, 2);
	s2 = mt_agg_site(a, f2, 2);
	s3 = mt_agg_site(a, f3, 1);
	s4 = mt_agg_site(a, f4, 1);
	MT_CHECK(s1 != s2);
	MT_CHECK(mt_agg_alloc(a, 1, 0x100, 100, s1) == 0);
	MT_CHECK(mt_agg_alloc(a, 1, 0x200, 150, s2) == 0);  /* 0x1000: 250 */
	MT_CHECK(mt_agg_alloc(a, 1, 0x300, 200, s3) == 0);  /* 0x2000: 200 */
	MT_CHECK(mt_agg_alloc(a, 1, 0x400, 7, s4) == 0);    /* 0x3000: 7, not in the top 2 */
	MT_CHECK(mt_agg_alloc(a, 1, 0x500, 9, s4) == 0);
	MT_CHECK(mt_agg_release(a, 2, 0x500) == 1);
	m = mt_metrics_new(a, NULL, &o);
	MT_CHECK(m);
	mt_prom_init(&p);
	MT_CHECK(mt_metrics_render(m, 2000000000ull, &p) == 0);
	MT_CHECK_EQ_U64(value_of(p.buf, "memtrace_site_live_bytes{site=\"0x1000\"}"), 250);
	MT_CHECK_EQ_U64(value_of(p.buf, "memtrace_site_live_objects{site=\"0x1000\"}"), 2);
	MT_CHECK_EQ_U64(value_of(p.buf, "memtrace_site_live_bytes{site=\"0x2000\"}"), 200);
	MT_CHECK(!strstr(p.buf, "site=\"0x3000\""));
	MT_CHECK_EQ_U64(value_of(p.buf, "\nmemtrace_other_sites_live_bytes"), 7);
	MT_CHECK_EQ_U64(value_of(p.buf, "\nmemtrace_live_bytes"), 457);
	MT_CHECK_EQ_U64(value_of(p.buf, "\nmemtrace_allocs_total"), 5);
	MT_CHECK_EQ_U64(value_of(p.buf, "\nmemtrace_frees_total"), 1);
	MT_CHECK(strstr(p.buf, "# TYPE memtrace_allocs_total counter\n"));
	MT_CHECK(strstr(p.buf, "# TYPE memtrace_live_bytes gauge\n"));
	mt_prom_release(&p);
	mt_metrics_free(m);
	mt_agg_free(a);
}

/* GET path from port; returns the response (malloc'd) or NULL. */
static char *http_get(unsigned port, const char *path)
{
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	char req[128], *buf = calloc(1, 65536);
	size_t len = 0;
	ssize_t n;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	inet_pton(AF_INET, "127.0.0.1", &in.sin_addr);
	if (fd < 0 || !buf || connect(fd, (struct sockaddr *)&in, sizeof(in))) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: x\r\n\r\n", path);
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req))
		len = 0;
	while (len < 65535 && (n = read(fd, buf + len, 65535 - len)) > 0)
		len += (size_t)n;
	close(fd);
	return buf;
}

static void test_serve_snapshots(void)
{
	struct mt_serve *s = NULL;
	struct mt_prom p;
	unsigned port;
	char *r;

	MT_CHECK(mt_serve_start("127.0.0.1:0", &s) == 0);
	MT_CHECK(sscanf(mt_serve_url(s), "http://127.0.0.1:%u/metrics", &port) == 1 && port);
	r = http_get(port, "/metrics");
	MT_CHECK(r && strstr(r, " 503 "));   /* nothing published yet */
	free(r);
	mt_prom_init(&p);
	mt_prom_counter(&p, "a_total", "first", 1);
	mt_serve_publish(s, &p);
	MT_CHECK(p.len == 0);                /* p now holds the old buffer, empty */
	mt_prom_counter(&p, "a_total", "second", 2);
	r = http_get(port, "/metrics");
	MT_CHECK(r && strstr(r, " 200 ") && strstr(r, "text/plain; version=0.0.4"));
	MT_CHECK(r && strstr(r, "\r\n\r\n# HELP a_total first\n# TYPE a_total counter\na_total 1\n"));
	free(r);
	mt_serve_publish(s, &p);
	r = http_get(port, "/metrics");
	MT_CHECK(r && strstr(r, "a_total 2\n") && !strstr(r, "a_total 1\n"));
	free(r);
	r = http_get(port, "/other");
	MT_CHECK(r && strstr(r, " 404 "));
	free(r);
	mt_prom_release(&p);
	mt_serve_stop(s);
}

int main(void)
{
	MT_RUN(test_prom_escaping);
	MT_RUN(test_listen_parse);
	MT_RUN(test_site_labels);
	MT_RUN(test_serve_snapshots);
	return mt_test_done();
}
