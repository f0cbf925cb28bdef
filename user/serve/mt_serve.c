// SPDX-License-Identifier: BSD-2-Clause
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <microhttpd.h>
#include "util/mt_log.h"
#include "serve/mt_serve.h"

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct mt_serve {
	struct MHD_Daemon *d;
	pthread_mutex_t lock;
	struct mt_prom snap;      /* what a scrape gets; under lock */
	int published;            /* under lock */
	char url[96];
};

int mt_serve_parse(const char *listen, void *ss, size_t *len)
{
	char host[64];
	const char *colon, *h = listen;
	size_t hl;
	char *end;
	unsigned long port;

	memset(ss, 0, sizeof(struct sockaddr_storage));
	colon = strrchr(listen, ':');
	if (!colon)
		goto bad;
	hl = (size_t)(colon - listen);
	if (hl >= 2 && listen[0] == '[' && listen[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof(host))
		goto bad;
	memcpy(host, h, hl);
	host[hl] = '\0';
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || colon[1] == '-' || port > 65535)
		goto bad;
	if (h == listen) {
		struct sockaddr_in *in = ss;

		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &in->sin_addr) != 1)
			goto bad;
		*len = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
			goto bad;
		*len = sizeof(*in6);
	}
	return 0;
bad:
	mt_err("invalid --listen '%s': ADDR:PORT expected, e.g. 127.0.0.1:9464 or [::1]:9464",
	       listen);
	return -EINVAL;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
			     const char *body, size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* The server thread. Requests carry no body we read: any is refused. */
static enum MHD_Result handle(void *arg, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_len, void **state)
{
	static const char index_page[] = "memtrace: metrics at /metrics\n";
	static const char not_found[] = "not found: metrics are at /metrics\n";
	struct mt_serve *s = arg;
	enum MHD_Result ret;

	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", "GET only\n", 9);
	if (strcmp(url, "/") == 0)
		return reply(c, MHD_HTTP_OK, "text/plain", index_page, sizeof(index_page) - 1);
	if (strcmp(url, "/metrics"))
		return reply(c, MHD_HTTP_NOT_FOUND, "text/plain", not_found, sizeof(not_found) - 1);
	pthread_mutex_lock(&s->lock);
	if (s->published)
		ret = reply(c, MHD_HTTP_OK, CONTENT_TYPE, s->snap.buf, s->snap.len);
	else
		ret = reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain", "starting\n", 9);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int mt_serve_start(const char *listen, struct mt_serve **out)
{
	struct sockaddr_storage ss;
	char host[INET6_ADDRSTRLEN];
	const union MHD_DaemonInfo *info;
	struct mt_serve *s;
	size_t len;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO;
	int err;

	*out = NULL;
	err = mt_serve_parse(listen, &ss, &len);
	if (err)
		return err;
	s = calloc(1, sizeof(*s));
	if (!s) {
		mt_err("cannot listen on '%s': %s", listen, strerror(ENOMEM));
		return -ENOMEM;
	}
	pthread_mutex_init(&s->lock, NULL);
	mt_prom_init(&s->snap);
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	errno = 0;
	s->d = MHD_start_daemon(flags, 0, NULL, NULL, handle, s,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)MT_SERVE_MAX_CONN,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)MT_SERVE_CONN_MEM,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)MT_SERVE_TIMEOUT_S,
				MHD_OPTION_END);
	if (!s->d) {
		/* libmicrohttpd leaves the bind's errno (EADDRINUSE, EACCES) */
		err = errno ? -errno : -EADDRNOTAVAIL;
		mt_err("cannot listen on '%s': %s", listen, strerror(-err));
		mt_serve_stop(s);
		return err;
	}
	info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	if (ss.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host, sizeof(host));
	else
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, host, sizeof(host));
	snprintf(s->url, sizeof(s->url), ss.ss_family == AF_INET ? "http://%s:%u/metrics" :
		 "http://[%s]:%u/metrics", host, info ? (unsigned)info->port : 0u);
	*out = s;
	return 0;
}

const char *mt_serve_url(const struct mt_serve *s)
{
	return s->url;
}

void mt_serve_publish(struct mt_serve *s, struct mt_prom *p)
{
	struct mt_prom old;

	if (p->err || !p->buf)
		return;
	pthread_mutex_lock(&s->lock);
	old = s->snap;
	s->snap = *p;
	s->published = 1;
	pthread_mutex_unlock(&s->lock);
	*p = old;
	mt_prom_reset(p);
}

void mt_serve_stop(struct mt_serve *s)
{
	if (!s)
		return;
	if (s->d)
		MHD_stop_daemon(s->d);
	mt_prom_release(&s->snap);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
