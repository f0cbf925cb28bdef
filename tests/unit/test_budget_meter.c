// SPDX-License-Identifier: BSD-2-Clause
/* The budget's throughput meter: rates and the slowdown while armed from
 * credited calls and time (synthetic), the noise rule, the minute's
 * halving, and marks on this process's own read calls (/proc/self/io). */
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <unistd.h>
#include "budget/mt_budget_meter.h"
#include "mt_test.h"

#define S 1e9

static void set(struct mt_meter *m, enum mt_meter_state st, double ops, double ns)
{
	m->ops[st] = ops;
	m->ns[st] = ns;
}

static void test_rates(void)
{
	struct mt_meter m;

	memset(&m, 0, sizeof(m));
	set(&m, MT_METER_OFF, 10000, 1 * S);
	MT_CHECK(fabs(mt_meter_rate(&m, MT_METER_OFF) - 10000) < 1e-6);
	set(&m, MT_METER_ARMED, 100, 1 * S);           /* too few calls */
	MT_CHECK(mt_meter_rate(&m, MT_METER_ARMED) == -1);
	set(&m, MT_METER_ARMED, 5000, 0.01 * S);       /* too short */
	MT_CHECK(mt_meter_rate(&m, MT_METER_ARMED) == -1);
	MT_CHECK(mt_meter_slowdown(&m, MT_METER_OFF) == -1);
	/* a tenth of the pace while armed: 90% lost */
	set(&m, MT_METER_ARMED, 1000, 1 * S);
	MT_CHECK(fabs(mt_meter_slowdown(&m, MT_METER_OFF) - 0.9) < 1e-9);
	/* armed long enough, hardly a call: as slow as can be seen */
	set(&m, MT_METER_ARMED, 10, 1 * S);
	MT_CHECK(fabs(mt_meter_slowdown(&m, MT_METER_OFF) - 0.999) < 1e-9);
	/* 1% apart on 10,000 calls: within the counts' noise */
	set(&m, MT_METER_ARMED, 9900, 1 * S);
	MT_CHECK(mt_meter_slowdown(&m, MT_METER_OFF) == 0);
	/* faster while armed (the load changed): no slowdown */
	set(&m, MT_METER_ARMED, 20000, 1 * S);
	MT_CHECK(mt_meter_slowdown(&m, MT_METER_OFF) == 0);
	/* 20% lost on a million calls: measured */
	set(&m, MT_METER_OFF, 1e6, 1 * S);
	set(&m, MT_METER_ARMED, 8e5, 1 * S);
	MT_CHECK(fabs(mt_meter_slowdown(&m, MT_METER_OFF) - 0.2) < 1e-9);
	/* no reference */
	MT_CHECK(mt_meter_slowdown(&m, MT_METER_BEFORE) == -1);
	mt_meter_reset(&m, MT_METER_OFF);
	MT_CHECK(mt_meter_rate(&m, MT_METER_OFF) == -1);
}

static void reads(int n)
{
	char c;
	int fd = open("/dev/zero", O_RDONLY);

	MT_CHECK(fd >= 0);
	for (int i = 0; i < n; i++)
		MT_CHECK(read(fd, &c, 1) == 1);
	close(fd);
}

static void test_marks(void)
{
	struct mt_meter m;

	memset(&m, 0, sizeof(m));
	mt_meter_start(&m, getpid(), 1 * (uint64_t)S);
	MT_CHECK(m.ok);
	reads(500);
	mt_meter_mark(&m, 2 * (uint64_t)S, MT_METER_OFF);
	MT_CHECK(m.ops[MT_METER_OFF] >= 500 && m.ops[MT_METER_OFF] < 600);
	MT_CHECK(m.ns[MT_METER_OFF] == 1 * S);
	reads(50);
	mt_meter_mark(&m, 3 * (uint64_t)S, MT_METER_IGNORE);   /* time only */
	MT_CHECK(m.ops[MT_METER_IGNORE] == 0 && m.total_ns[MT_METER_IGNORE] == 1 * S);
	reads(250);
	mt_meter_mark(&m, 4 * (uint64_t)S, MT_METER_ARMED);
	MT_CHECK(m.ops[MT_METER_ARMED] >= 250 && m.ops[MT_METER_ARMED] < 300);
	/* about half the pace while armed */
	MT_CHECK(fabs(mt_meter_slowdown(&m, MT_METER_OFF) - 0.5) < 0.1);
	/* past a minute of armed and off, both count half */
	m.ns[MT_METER_OFF] = 61 * S;
	mt_meter_mark(&m, 5 * (uint64_t)S, MT_METER_OFF);
	MT_CHECK(m.ns[MT_METER_OFF] == 31 * S && m.ns[MT_METER_ARMED] == 0.5 * S);
	MT_CHECK(m.total_ns[MT_METER_ARMED] == 1 * S);
	/* a process that is gone: no figure, no crash */
	mt_meter_start(&m, 0x7ffffff0, 1);
	MT_CHECK(!m.ok);
	mt_meter_mark(&m, 2, MT_METER_ARMED);
}

int main(void)
{
	MT_RUN(test_rates);
	MT_RUN(test_marks);
	return mt_test_done();
}
