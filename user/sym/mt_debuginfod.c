// SPDX-License-Identifier: BSD-2-Clause
/*
 * One worker thread, one debuginfod client, a FIFO of build-ids. Lookups
 * run one at a time: servers answer a miss in milliseconds and a download
 * is bound by bandwidth, not latency. The progress callback is how a
 * lookup in flight is cancelled at the end (libdebuginfod aborts the
 * transfer when it returns non-zero).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <elfutils/debuginfod.h>

#include "sym/mt_debuginfod.h"

struct mt_debuginfod_req {
	unsigned char id[64];
	size_t len;
	void *tag;
	bool done, taken;
	int fd, err;
	char *path;
};

struct mt_debuginfod {
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t cond;        /* work queued, or a lookup finished */
	struct mt_debuginfod_req *reqs;
	size_t nreqs, cap, next;    /* next: first not started */
	size_t ndone;
	atomic_bool stop;
	atomic_size_t finished;     /* lookups done, for mt_debuginfod_ready */
	size_t seen;                /* finished count at the last take */
	debuginfod_client *client;
};

static int mt_debuginfod_progress(debuginfod_client *c, long a, long b)
{
	struct mt_debuginfod *d = debuginfod_get_user_data(c);

	return d && atomic_load(&d->stop) ? 1 : 0;
}

static void *mt_debuginfod_main(void *arg)
{
	struct mt_debuginfod *d = arg;

	pthread_mutex_lock(&d->lock);
	for (;;) {
		unsigned char id[64];
		size_t len, i;
		char *path = NULL;
		int fd;

		while (!atomic_load(&d->stop) && d->next == d->nreqs)
			pthread_cond_wait(&d->cond, &d->lock);
		if (atomic_load(&d->stop))
			break;
		i = d->next++;
		len = d->reqs[i].len;
		memcpy(id, d->reqs[i].id, len);
		pthread_mutex_unlock(&d->lock);
		fd = debuginfod_find_debuginfo(d->client, id, (int)len, &path);
		pthread_mutex_lock(&d->lock);
		d->reqs[i].done = true;
		d->reqs[i].fd = fd >= 0 ? fd : -1;
		d->reqs[i].err = fd >= 0 ? 0 : fd;
		d->reqs[i].path = path;
		d->ndone++;
		atomic_fetch_add(&d->finished, 1);
		pthread_cond_broadcast(&d->cond);
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

struct mt_debuginfod *mt_debuginfod_new(void)
{
	const char *urls = getenv("DEBUGINFOD_URLS");
	struct mt_debuginfod *d;
	int err;

	if (!urls || !urls[strspn(urls, " \t")]) {
		errno = 0;
		return NULL;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->cond, NULL);
	d->client = debuginfod_begin();
	if (!d->client) {
		err = ENOMEM;
		goto fail;
	}
	debuginfod_set_user_data(d->client, d);
	debuginfod_set_progressfn(d->client, mt_debuginfod_progress);
	err = pthread_create(&d->thread, NULL, mt_debuginfod_main, d);
	if (err)
		goto fail;
	d->started = true;
	return d;
fail:
	mt_debuginfod_free(d);
	errno = err;
	return NULL;
}

void mt_debuginfod_free(struct mt_debuginfod *d)
{
	if (!d)
		return;
	if (d->started) {
		pthread_mutex_lock(&d->lock);
		atomic_store(&d->stop, true);
		pthread_cond_broadcast(&d->cond);
		pthread_mutex_unlock(&d->lock);
		pthread_join(d->thread, NULL);
	}
	for (size_t i = 0; i < d->nreqs; i++) {
		if (!d->reqs[i].taken && d->reqs[i].fd >= 0)
			close(d->reqs[i].fd);
		free(d->reqs[i].path);
	}
	free(d->reqs);
	if (d->client)
		debuginfod_end(d->client);
	pthread_cond_destroy(&d->cond);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

int mt_debuginfod_ask(struct mt_debuginfod *d, const unsigned char *id, size_t len, void *tag)
{
	int err = 0;

	if (!len || len > sizeof(d->reqs[0].id))
		return -EINVAL;
	pthread_mutex_lock(&d->lock);
	if (d->nreqs == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		struct mt_debuginfod_req *p = realloc(d->reqs, cap * sizeof(*p));

		if (!p) {
			err = -ENOMEM;
			goto out;
		}
		d->reqs = p;
		d->cap = cap;
	}
	d->reqs[d->nreqs] = (struct mt_debuginfod_req){ .len = len, .tag = tag, .fd = -1 };
	memcpy(d->reqs[d->nreqs].id, id, len);
	d->nreqs++;
	pthread_cond_broadcast(&d->cond);
out:
	pthread_mutex_unlock(&d->lock);
	return err;
}

bool mt_debuginfod_ready(struct mt_debuginfod *d)
{
	return d && atomic_load(&d->finished) != d->seen;
}

void mt_debuginfod_take(struct mt_debuginfod *d, mt_debuginfod_cb cb, void *arg)
{
	struct mt_debuginfod_req done[16];
	size_t n;

	if (!d)
		return;
	/* the callback runs unlocked (it reads the file), in batches */
	do {
		n = 0;
		pthread_mutex_lock(&d->lock);
		d->seen = atomic_load(&d->finished);
		for (size_t i = 0; i < d->nreqs && n < 16; i++) {
			if (d->reqs[i].done && !d->reqs[i].taken) {
				d->reqs[i].taken = true;
				done[n++] = d->reqs[i];
			}
		}
		pthread_mutex_unlock(&d->lock);
		for (size_t i = 0; i < n; i++)
			cb(arg, done[i].tag, done[i].fd, done[i].path, done[i].err);
	} while (n == 16);
}

size_t mt_debuginfod_wait(struct mt_debuginfod *d, unsigned timeout_ms)
{
	struct timespec until;
	size_t left;

	if (!d)
		return 0;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&d->lock);
	while (d->ndone < d->nreqs &&
	       pthread_cond_timedwait(&d->cond, &d->lock, &until) != ETIMEDOUT)
		;
	left = d->nreqs - d->ndone;
	pthread_mutex_unlock(&d->lock);
	return left;
}
