// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>

#include "budget/mt_budget_cal.h"
#include "util/mt_log.h"
#include "util/mt_time.h"

#define CAL_CALLS 1000
#define CAL_ROUNDS 5

/* The probed functions: a push the kernel emulates (as memtrace's free
 * probe placement prefers) then a plain return; three copies: one never
 * probed (the bare cost), one with an entry probe, one with an entry and
 * a return probe, so the links stay for the whole test. In asm, so no
 * compiler turns them into something else. */
#define CAL_FN(n) \
	".globl mt_budget_cal_" #n "\n" \
	".type mt_budget_cal_" #n ",@function\n" \
	"mt_budget_cal_" #n ":\n" \
	"\tpush %rbp\n\tmov %rsp, %rbp\n\tpop %rbp\n\tret\n" \
	".size mt_budget_cal_" #n ", .-mt_budget_cal_" #n "\n"
__asm__(".text\n" CAL_FN(bare) CAL_FN(entry) CAL_FN(both));
void mt_budget_cal_bare(void);
void mt_budget_cal_entry(void);
void mt_budget_cal_both(void);

static void (*volatile cal_fn[3])(void) = {
	mt_budget_cal_bare, mt_budget_cal_entry, mt_budget_cal_both,
};

/* The file and offset memtrace's own mapping gives an address. */
static int self_offset(uintptr_t addr, char *path, size_t len, unsigned long *off)
{
	unsigned long start, end, pgoff;
	char line[4600], perm[8];
	int err = -ENOENT;
	FILE *f = fopen("/proc/self/maps", "re");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		int pos = 0;

		if (sscanf(line, "%lx-%lx %7s %lx %*s %*s %n", &start, &end, perm, &pgoff, &pos) < 4 ||
		    addr < start || addr >= end || !pos)
			continue;
		line[strcspn(line, "\n")] = 0;
		snprintf(path, len, "%s", line + pos);
		*off = addr - start + pgoff;
		err = 0;
		break;
	}
	fclose(f);
	return err;
}

static int load_nop_prog(void)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, po, .expected_attach_type = BPF_TRACE_UPROBE_MULTI);

	return bpf_prog_load(BPF_PROG_TYPE_KPROBE, "mt_cal", "GPL", insns, 2, &po);
}

static int cal_link(int prog, const char *path, unsigned long *off, unsigned n, bool ret)
{
	LIBBPF_OPTS(bpf_link_create_opts, lo);

	lo.uprobe_multi.path = path;
	lo.uprobe_multi.offsets = off;
	lo.uprobe_multi.cnt = n;
	lo.uprobe_multi.pid = getpid();
	lo.uprobe_multi.flags = ret ? BPF_F_UPROBE_MULTI_RETURN : 0;
	return bpf_link_create(prog, 0, BPF_TRACE_UPROBE_MULTI, &lo);
}

static double loop_ns(void (*volatile *fn)(void))
{
	uint64_t t0 = mt_now_ns();

	for (int i = 0; i < CAL_CALLS; i++)
		(*fn)();
	return (double)(mt_now_ns() - t0) / CAL_CALLS;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void *close_fd(void *fd)
{
	close((int)(intptr_t)fd);
	return NULL;
}

int mt_budget_calibrate(struct mt_budget_cal *c)
{
	double bare[CAL_ROUNDS], ent[CAL_ROUNDS], both[CAL_ROUNDS];
	uint64_t t_start = mt_now_ns(), t;
	unsigned long off[2];
	char path[4096], path2[4096];
	int prog, le = -1, lr = -1, err, i;
	pthread_t th;

	memset(c, 0, sizeof(*c));
	err = self_offset((uintptr_t)mt_budget_cal_entry, path, sizeof(path), &off[0]);
	err = err ?: self_offset((uintptr_t)mt_budget_cal_both, path2, sizeof(path2), &off[1]);
	if (!err && strcmp(path, path2))
		err = -EXDEV;
	if (err) {
		mt_err("cannot find memtrace's own text for the probe self-test: %s", strerror(-err));
		return err;
	}
	prog = load_nop_prog();
	if (prog < 0) {
		mt_err("cannot load the probe self-test program: %s", strerror(-prog));
		return prog;
	}
	t = mt_now_ns();
	le = cal_link(prog, path, off, 2, false);
	c->arm_ms = (double)(mt_now_ns() - t) / 1e6;
	lr = le < 0 ? le : cal_link(prog, path, &off[1], 1, true);
	if (le < 0 || lr < 0) {
		err = le < 0 ? le : lr;
		mt_err("cannot attach the probe self-test uprobes: %s", strerror(-err));
		goto out;
	}
	for (i = 0; i < CAL_ROUNDS; i++) {
		bare[i] = loop_ns(&cal_fn[0]);
		ent[i] = loop_ns(&cal_fn[1]);
		both[i] = loop_ns(&cal_fn[2]);
	}
	/* The lowest round of each loop: on a shared machine interference
	 * only adds. The differences are the costs. */
	qsort(bare, CAL_ROUNDS, sizeof(double), cmp_double);
	qsort(ent, CAL_ROUNDS, sizeof(double), cmp_double);
	qsort(both, CAL_ROUNDS, sizeof(double), cmp_double);
	c->entry_ns = ent[0] > bare[0] ? ent[0] - bare[0] : 0;
	c->ret_ns = both[0] > ent[0] ? both[0] - ent[0] : 0;
out:
	/* Both links go in one grace period (see mt_heap's destroy_links). */
	t = mt_now_ns();
	if (lr >= 0 && le >= 0 && !pthread_create(&th, NULL, close_fd, (void *)(intptr_t)lr)) {
		close(le);
		pthread_join(th, NULL);
	} else {
		if (lr >= 0)
			close(lr);
		if (le >= 0)
			close(le);
	}
	c->disarm_ms = (double)(mt_now_ns() - t) / 1e6;
	close(prog);
	c->took_ms = (double)(mt_now_ns() - t_start) / 1e6;
	return err;
}
