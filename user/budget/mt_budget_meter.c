// SPDX-License-Identifier: BSD-2-Clause
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "budget/mt_budget_meter.h"
#include "util/mt_time.h"

/* A rate needs this many calls and this much time: below, it is noise. */
#define MIN_OPS 200.0
#define MIN_NS 50e6
/* ARMED and OFF are compared over about the last minute: older time
 * counts half as each minute passes (load changes over hours). */
#define HALF_AFTER_NS 60e9

/* syscr + syscw of pid; false when unreadable (gone, or no permission). */
static bool read_ops(pid_t pid, uint64_t *ops)
{
	char path[64], line[128];
	unsigned long long v, sum = 0;
	int seen = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/io", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "syscr: %llu", &v) == 1 || sscanf(line, "syscw: %llu", &v) == 1) {
			sum += v;
			seen++;
		}
	}
	fclose(f);
	*ops = sum;
	return seen == 2;
}

void mt_meter_start(struct mt_meter *m, pid_t pid, uint64_t now_ns)
{
	m->pid = pid;
	m->ok = read_ops(pid, &m->at_ops);
	m->at_ns = now_ns;
}

void mt_meter_mark(struct mt_meter *m, uint64_t now_ns, enum mt_meter_state st)
{
	uint64_t ops;

	if (!m->ok || !read_ops(m->pid, &ops) || ops < m->at_ops || now_ns < m->at_ns) {
		if (now_ns > m->at_ns)
			m->total_ns[st] += (double)(now_ns - m->at_ns);
		m->ok = m->ok && read_ops(m->pid, &m->at_ops);
		m->at_ns = now_ns;
		return;
	}
	if (st != MT_METER_IGNORE) {
		m->ops[st] += (double)(ops - m->at_ops);
		m->ns[st] += (double)(now_ns - m->at_ns);
	}
	m->total_ns[st] += (double)(now_ns - m->at_ns);
	if (m->ns[MT_METER_ARMED] + m->ns[MT_METER_OFF] > HALF_AFTER_NS &&
	    m->ns[MT_METER_ARMED] > MIN_NS * 4 && m->ns[MT_METER_OFF] > MIN_NS * 4) {
		for (int s = MT_METER_ARMED; s <= MT_METER_OFF; s++) {
			m->ops[s] /= 2;
			m->ns[s] /= 2;
		}
	}
	m->at_ops = ops;
	m->at_ns = now_ns;
}

void mt_meter_reset(struct mt_meter *m, enum mt_meter_state st)
{
	m->ops[st] = m->ns[st] = 0;
}

double mt_meter_rate(const struct mt_meter *m, enum mt_meter_state st)
{
	if (m->ops[st] < MIN_OPS || m->ns[st] < MIN_NS)
		return -1;
	return m->ops[st] / (m->ns[st] / 1e9);
}

double mt_meter_slowdown(const struct mt_meter *m, enum mt_meter_state ref)
{
	double on = m->ops[MT_METER_ARMED], off = m->ops[ref], r_on, r_off, f, noise;

	r_on = mt_meter_rate(m, MT_METER_ARMED);
	r_off = mt_meter_rate(m, ref);
	if (r_off <= 0 || (r_on < 0 && m->ns[MT_METER_ARMED] < MIN_NS))
		return -1;
	/* armed long enough but hardly a call: as slow as it can be seen */
	if (r_on < 0)
		r_on = on / (m->ns[MT_METER_ARMED] / 1e9);
	f = 1 - r_on / r_off;
	/* the counts' own noise (as Poisson counts, 3 sigma): a difference
	 * within it is no slowdown anyone measured */
	noise = 3 * sqrt(1 / fmax(on, 1) + 1 / fmax(off, 1));
	if (f <= noise)
		return 0;
	return f > 1 ? 1 : f;
}

void mt_meter_before(struct mt_meter *m, pid_t pid, unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	memset(m, 0, sizeof(*m));
	mt_meter_start(m, pid, mt_now_ns());
	if (!m->ok)
		return;
	while (nanosleep(&ts, &ts))
		;
	mt_meter_mark(m, mt_now_ns(), MT_METER_BEFORE);
}
