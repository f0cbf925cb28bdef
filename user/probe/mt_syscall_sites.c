// SPDX-License-Identifier: BSD-2-Clause
/*
 * Memory-syscall sites of an object; see mt_syscall_sites.h.
 * Cost at attach: one byte pass over the executable sections (~2 ms for
 * glibc's 1.5 MB) and a Capstone decode of each function holding a
 * syscall instruction, once, in address order (~550 in glibc).
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "probe/mt_obj_code.h"
#include "probe/mt_syscall_sites.h"

/* The number a constant mov to eax/rax of len bytes at p sets, or -1. */
static int64_t const_nr(const uint8_t *p, size_t len)
{
	int32_t imm;

	if (len == 5 && p[0] == 0xb8)
		memcpy(&imm, p + 1, 4);                               /* mov $imm32, %eax */
	else if (len == 7 && p[0] == 0x48 && p[1] == 0xc7 && p[2] == 0xc0)
		memcpy(&imm, p + 3, 4);                               /* mov $imm32, %rax */
	else
		return -1;
	return imm < 0 ? -1 : imm;
}

static bool wanted(uint32_t nr, const uint32_t *nrs, unsigned nnrs)
{
	for (unsigned i = 0; i < nnrs; i++)
		if (nrs[i] == nr)
			return true;
	return false;
}

/* Decoding state: where a linear sweep of the current function stands. */
struct sweep {
	uint64_t func, addr;          /* function decoded from; next address */
	uint64_t prev_addr;           /* the last instruction writing rax before addr */
	size_t prev_len;
	bool dead;                    /* undecodable byte: the function is lost */
};

/* Whether the instruction writes rax, eax, ax, al or ah. */
static bool writes_rax(csh cs, const cs_insn *in)
{
	cs_regs rd, wr;
	uint8_t nrd = 0, nwr = 0;

	if (cs_regs_access(cs, in, rd, &nrd, wr, &nwr) != CS_ERR_OK)
		return true;   /* unknown: assume it does */
	for (uint8_t i = 0; i < nwr; i++)
		if (wr[i] == X86_REG_RAX || wr[i] == X86_REG_EAX || wr[i] == X86_REG_AX ||
		    wr[i] == X86_REG_AL || wr[i] == X86_REG_AH)
			return true;
	return false;
}

/* Remember an instruction that may set the number a later syscall uses. */
static int note_rax(csh cs, const cs_insn *in, uint64_t at, void *arg)
{
	struct sweep *w = arg;

	if (writes_rax(cs, in) || in->id == X86_INS_SYSCALL || in->id == X86_INS_CALL) {
		w->prev_addr = at;
		w->prev_len = in->size;
	}
	return 0;
}

/* Advance the sweep to a; true when a is an instruction boundary. */
static bool sweep_to(csh cs, cs_insn *in, struct sweep *w, const struct mt_code_sec *sec, uint64_t a)
{
	if (w->dead)
		return false;
	if (mt_code_sweep(cs, in, sec, &w->addr, a, note_rax, w)) {
		w->dead = true;
		return false;
	}
	return w->addr == a;
}

/*
 * Where the "post" probe goes for the syscall at a: the instruction right
 * after it (a + 2), which the kernel single-steps out of line: a second
 * trap. glibc's wrappers follow the syscall with `cmp $imm32, %rax` and a
 * conditional jump, which the kernel emulates, and neither touches the
 * argument registers or rax: the probe on the jump costs one trap and
 * sees the same registers. Used only when the decoded function has no
 * other way to that jump: no direct branch to it, no indirect jump.
 */
static int branch_to(csh cs, const cs_insn *in, uint64_t at, void *arg)
{
	const uint64_t *j = arg;

	if (!cs_insn_group(cs, in, CS_GRP_JUMP) && !cs_insn_group(cs, in, CS_GRP_CALL))
		return 0;
	if (in->detail->x86.op_count != 1 || in->detail->x86.operands[0].type != X86_OP_IMM)
		return 1;                               /* indirect: could go anywhere */
	return (uint64_t)in->detail->x86.operands[0].imm == *j;
}

static uint64_t post_addr(csh cs, cs_insn *in, const struct mt_code_sec *sec,
			  const struct mt_obj_code *oc, uint64_t start, uint64_t a)
{
	const uint8_t *p = sec->b + (a + 2 - sec->addr);
	uint64_t j = a + 8, addr = start, end = mt_code_func_end(oc, start, sec->addr + sec->len);
	struct mt_code_sec func = *sec;

	if (a + 10 > end || p[0] != 0x48 || p[1] != 0x3d)
		return a + 2;                                   /* not cmp $imm32, %rax */
	if (!((p[6] >= 0x70 && p[6] <= 0x7f) || (p[6] == 0x0f && p[7] >= 0x80 && p[7] <= 0x8f)))
		return a + 2;                                   /* not jcc */
	func.len = (size_t)(end - sec->addr);   /* an instruction must end in the function */
	return mt_code_sweep(cs, in, &func, &addr, end, branch_to, &j) ? a + 2 : j;
}

static int scan_section(csh cs, cs_insn *in, const struct mt_code_sec *sec,
			const struct mt_obj_code *oc, const uint32_t *nrs, unsigned nnrs,
			struct mt_syscall_site *out, unsigned max, unsigned *n, unsigned *ndyn,
			cs_insn *in2)
{
	const uint8_t *b = sec->b;
	size_t len = sec->len, i;
	struct sweep w = { 0 };

	for (i = 0; i + 2 < len; i++) {
		uint64_t a = sec->addr + i, start;
		int64_t nr;

		if (b[i] != 0x0f || b[i + 1] != 0x05)
			continue;
		start = mt_code_func_start(oc, a);
		if (!start || start < sec->addr)
			continue;   /* nothing to decode from: not provably code */
		if (start != w.func) {
			w = (struct sweep){ .func = start, .addr = start };
		}
		if (!sweep_to(cs, in, &w, sec, a) || w.prev_addr < start || w.prev_addr == a)
			continue;
		nr = const_nr(b + (w.prev_addr - sec->addr), w.prev_len);
		if (nr < 0) {
			(*ndyn)++;
			continue;
		}
		if (!wanted((uint32_t)nr, nrs, nnrs))
			continue;
		if (*n >= max)
			return -E2BIG;
		out[*n] = (struct mt_syscall_site){
			.vaddr = a,
			.pre_vaddr = w.prev_addr,
			.pre_off = sec->off + (w.prev_addr - sec->addr),
			.post_off = sec->off + i + (post_addr(cs, in2, sec, oc, start, a) - a),
			.nr = (uint32_t)nr,
		};
		(*n)++;
	}
	return 0;
}

int mt_syscall_sites_file(const char *path, const uint32_t *nrs, unsigned nnrs,
			  struct mt_syscall_site *out, unsigned max, unsigned *n_dynamic)
{
	cs_insn *in = NULL, *in2 = NULL;
	unsigned n = 0, ndyn = 0;
	struct mt_obj_code oc;
	struct mt_code_sec sec;
	Elf_Scn *scn = NULL;
	csh cs = 0;
	int err;

	err = mt_obj_code_open(&oc, path);
	if (err)
		goto out;
	err = mt_obj_code_read_starts(&oc, MT_STARTS_EH_FRAME | MT_STARTS_SYMBOLS);
	if (err || oc.nstarts == 0)
		goto cleanup;
	if (mt_code_cs_open(&cs, true) || !(in = cs_malloc(cs)) || !(in2 = cs_malloc(cs))) {
		err = -ENOMEM;
		goto cleanup;
	}
	while (!err && mt_obj_code_next_sec(&oc, &scn, &sec))
		err = scan_section(cs, in, &sec, &oc, nrs, nnrs, out, max, &n, &ndyn, in2);
cleanup:
	if (in)
		cs_free(in, 1);
	if (in2)
		cs_free(in2, 1);
	if (cs)
		cs_close(&cs);
	mt_obj_code_close(&oc);
out:
	if (n_dynamic)
		*n_dynamic = ndyn;
	return err ? err : (int)n;
}
