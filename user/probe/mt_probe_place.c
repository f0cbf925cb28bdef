// SPDX-License-Identifier: BSD-2-Clause
/*
 * Probe placement; see mt_probe_place.h and docs/probe-placement.md.
 *
 * Capstone decodes (length, registers written, memory operands, branch
 * targets); the kernel's emulation rules are then applied to the raw bytes,
 * because the kernel itself looks at bytes and prefixes, not at mnemonics.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <capstone/capstone.h>

#include "probe/mt_probe_place.h"

/* What arch/x86/kernel/uprobes.c does with an instruction. */
enum mt_emu {
	MT_EMU_NONE,    /* single-stepped out of line (the slow path) */
	MT_EMU_NOP,
	MT_EMU_JMP,
	MT_EMU_JCC,
	MT_EMU_CALL,
	MT_EMU_PUSH,
	MT_EMU_REFUSED, /* uprobe registration fails (-ENOTSUPP) */
};

/*
 * x86_nops[] of an x86-64 kernel (arch/x86/include/asm/nops.h, BYTES_NOP1..8).
 * v6.16-v6.18 emulate an instruction as a nop only if its bytes equal
 * x86_nops[length] (or its opcode is 0x90); v6.19's insn_is_nop() accepts
 * any 0f 1f /0, so these exact forms are emulated by both.
 */
static const uint8_t mt_x86_nops[9][8] = {
	[1] = { 0x90 },
	[2] = { 0x66, 0x90 },
	[3] = { 0x0f, 0x1f, 0x00 },
	[4] = { 0x0f, 0x1f, 0x40, 0x00 },
	[5] = { 0x0f, 0x1f, 0x44, 0x00, 0x00 },
	[6] = { 0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00 },
	[7] = { 0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00 },
	[8] = { 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00 },
};

/*
 * Classify one decoded instruction of @len bytes the way the kernel's
 * arch_uprobe_analyze_insn() would: uprobe_init_insn() (is_prefix_bad),
 * then branch_setup_xol_ops(), then push_setup_xol_ops(); everything else
 * is single-stepped. Where kernel versions differ, claim emulation only if
 * v6.18 and later both emulate correctly.
 */
static enum mt_emu mt_kernel_emu(const uint8_t *b, size_t len)
{
	bool p66 = false, pf3 = false, other_pfx = false;
	uint8_t rex = 0, op;
	size_t i = 0;

	for (; i < len; i++) {
		switch (b[i]) {
		case 0x26: case 0x2e: case 0x36: case 0x3e: case 0xf0:
			/* is_prefix_bad(): ES/CS/SS/DS segment and LOCK;
			 * this includes the 3e "notrack" prefix. */
			return MT_EMU_REFUSED;
		case 0x66:
			p66 = true;
			continue;
		case 0xf3:
			pf3 = true;
			other_pfx = true;
			continue;
		case 0xf2: case 0x64: case 0x65: case 0x67:
			other_pfx = true;
			continue;
		}
		break;
	}
	/* In 64-bit mode REX only counts right before the opcode. */
	if (i < len && (b[i] & 0xf0) == 0x40)
		rex = b[i++];
	if (i >= len)
		return MT_EMU_NONE;
	op = b[i];

	if (len < sizeof(mt_x86_nops) / sizeof(mt_x86_nops[0]) &&
	    memcmp(b, mt_x86_nops[len], len) == 0)
		return MT_EMU_NOP;
	if (op == 0x90 && i + 1 == len) {
		/* v6.18 takes "prefix* + 0x90" as a nop, but REX.B 90 is
		 * xchg %r8,%rax (emulating it as a nop is a v6.18 bug that
		 * v6.19 fixed) and F3 90 is pause (single-stepped by v6.19). */
		if ((rex & 0x01) || pf3)
			return MT_EMU_NONE;
		return MT_EMU_NOP;
	}

	if (op == 0xeb || op == 0xe9 || op == 0xe8 || (op >= 0x70 && op <= 0x7f) ||
	    (op == 0x0f && i + 1 < len && b[i + 1] >= 0x80 && b[i + 1] <= 0x8f)) {
		/* "16-bit overrides such as CALLW (66 e8 nn nn) are not
		 * supported": any 66 on a branch makes registration fail. */
		if (p66)
			return MT_EMU_REFUSED;
		if (op == 0xe8)
			return MT_EMU_CALL;
		if (op == 0xeb || op == 0xe9)
			return MT_EMU_JMP;
		return MT_EMU_JCC;
	}

	/* push_setup_xol_ops(): 50+r alone, or exactly 41 50+r. */
	if (op >= 0x50 && op <= 0x57) {
		if (len == 1)
			return MT_EMU_PUSH;
		if (len == 2 && rex == 0x41 && !p66 && !other_pfx)
			return MT_EMU_PUSH;
	}
	return MT_EMU_NONE;
}

/* Registers whose change before the probe would make it read wrong
 * arguments (SysV: rdi rsi rdx rcx r8 r9) or a wrong stack, or that mean a
 * control transfer (rip). Any width counts: a write to %edi clears the
 * upper half of %rdi. */
static const char *mt_guarded_reg(unsigned int reg)
{
	switch (reg) {
	case X86_REG_RDI: case X86_REG_EDI: case X86_REG_DI: case X86_REG_DIL:
		return "rdi";
	case X86_REG_RSI: case X86_REG_ESI: case X86_REG_SI: case X86_REG_SIL:
		return "rsi";
	case X86_REG_RDX: case X86_REG_EDX: case X86_REG_DX: case X86_REG_DL: case X86_REG_DH:
		return "rdx";
	case X86_REG_RCX: case X86_REG_ECX: case X86_REG_CX: case X86_REG_CL: case X86_REG_CH:
		return "rcx";
	case X86_REG_R8: case X86_REG_R8D: case X86_REG_R8W: case X86_REG_R8B:
		return "r8";
	case X86_REG_R9: case X86_REG_R9D: case X86_REG_R9W: case X86_REG_R9B:
		return "r9";
	case X86_REG_RSP: case X86_REG_ESP: case X86_REG_SP: case X86_REG_SPL:
		return "rsp";
	case X86_REG_RIP: case X86_REG_EIP: case X86_REG_IP:
		return "rip";
	}
	return NULL;
}

/*
 * Only plain data instructions are skipped: their only effects are their
 * explicit destination and the flags, so Capstone's register lists are
 * complete for them (it misses implicit writes of some rarer instructions).
 */
static bool mt_plain_insn(unsigned int id)
{
	switch (id) {
	case X86_INS_MOV: case X86_INS_MOVABS: case X86_INS_MOVZX: case X86_INS_MOVSX:
	case X86_INS_MOVSXD: case X86_INS_LEA: case X86_INS_TEST: case X86_INS_CMP:
	case X86_INS_ADD: case X86_INS_SUB: case X86_INS_AND: case X86_INS_OR:
	case X86_INS_XOR: case X86_INS_NOT: case X86_INS_NEG: case X86_INS_INC:
	case X86_INS_DEC: case X86_INS_SHL: case X86_INS_SHR: case X86_INS_SAR:
	case X86_INS_NOP: case X86_INS_ENDBR64: case X86_INS_ENDBR32:
		return true;
	}
	return false;
}

/* Whether the probe may move past @in; if not, say why in @why. */
static bool mt_skippable(csh cs, const cs_insn *in, char *why, size_t whylen)
{
	const cs_x86 *x = &in->detail->x86;
	cs_regs rd, wr;
	uint8_t nrd = 0, nwr = 0;

	if (!mt_plain_insn(in->id) || cs_insn_group(cs, in, CS_GRP_JUMP) ||
	    cs_insn_group(cs, in, CS_GRP_CALL) || cs_insn_group(cs, in, CS_GRP_RET) ||
	    cs_insn_group(cs, in, CS_GRP_INT) || cs_insn_group(cs, in, CS_GRP_IRET)) {
		snprintf(why, whylen, "'%s' is not a plain data instruction", in->mnemonic);
		return false;
	}
	if (x->prefix[0] == X86_PREFIX_LOCK) {
		snprintf(why, whylen, "'%s' is locked", in->mnemonic);
		return false;
	}
	if (cs_regs_access(cs, in, rd, &nrd, wr, &nwr) != CS_ERR_OK) {
		snprintf(why, whylen, "no register info for '%s'", in->mnemonic);
		return false;
	}
	for (unsigned int i = 0; i < nwr; i++) {
		const char *r = mt_guarded_reg(wr[i]);

		if (r) {
			snprintf(why, whylen, "'%.15s %.40s' writes %s", in->mnemonic, in->op_str, r);
			return false;
		}
	}
	/* Any memory write might hit the argument area or [rsp]; lea and nop
	 * name memory without touching it. An access Capstone leaves unknown
	 * (0) counts as a write. */
	for (unsigned int i = 0; i < x->op_count; i++) {
		const cs_x86_op *o = &x->operands[i];

		if (o->type != X86_OP_MEM || in->id == X86_INS_LEA || in->id == X86_INS_NOP ||
		    in->id == X86_INS_ENDBR64 || in->id == X86_INS_ENDBR32)
			continue;
		if ((o->access & CS_AC_WRITE) || o->access == 0) {
			snprintf(why, whylen, "'%.15s %.40s' writes memory", in->mnemonic,
				 in->op_str);
			return false;
		}
	}
	return true;
}

static void mt_insn_text(const cs_insn *in, char *buf, size_t buflen)
{
	if (in->op_str[0])
		snprintf(buf, buflen, "%.15s %.47s", in->mnemonic, in->op_str);
	else
		snprintf(buf, buflen, "%.15s", in->mnemonic);
}

/*
 * Sweep the whole function; 0 if nothing can enter (func_addr, probe_addr]
 * except falling through from the entry, else -EAGAIN with the reason.
 * Direct branches and calls are checked by target. Register- or
 * memory-indirect jumps (switch tables, computed gotos) have unknown
 * targets and reject the move; a jump through a rip-relative slot is a tail
 * call through the GOT and is allowed. Calls return right after themselves,
 * so indirect calls are harmless.
 */
static int mt_check_branches(csh cs, cs_insn *in, const uint8_t *code, size_t len,
			     uint64_t func_addr, uint64_t probe_addr, char *why, size_t whylen)
{
	const uint8_t *p = code;
	uint64_t addr = func_addr;
	size_t left = len;

	while (left > 0) {
		const cs_x86 *x;
		bool jump, call;

		if (!cs_disasm_iter(cs, &p, &left, &addr, in)) {
			snprintf(why, whylen, "undecodable bytes at +0x%" PRIx64, addr - func_addr);
			return -EAGAIN;
		}
		jump = cs_insn_group(cs, in, CS_GRP_JUMP);
		call = cs_insn_group(cs, in, CS_GRP_CALL);
		if (!jump && !call)
			continue;
		x = &in->detail->x86;
		if (x->op_count >= 1 && x->operands[0].type == X86_OP_IMM) {
			uint64_t t = (uint64_t)x->operands[0].imm;

			if (t > func_addr && t <= probe_addr) {
				snprintf(why, whylen, "branch at +0x%" PRIx64 " targets +0x%" PRIx64,
					 in->address - func_addr, t - func_addr);
				return -EAGAIN;
			}
			continue;
		}
		if (call)
			continue;
		if (x->op_count == 1 && x->operands[0].type == X86_OP_MEM &&
		    x->operands[0].mem.base == X86_REG_RIP && x->operands[0].mem.index == X86_REG_INVALID)
			continue;
		snprintf(why, whylen, "indirect jump at +0x%" PRIx64 " ('%.15s %.30s')",
			 in->address - func_addr, in->mnemonic, in->op_str);
		return -EAGAIN;
	}
	return 0;
}

/* @complete: @len covers the whole function, so the branch sweep sees all. */
static int mt_place(const uint8_t *code, size_t len, uint64_t func_addr, bool keep_entry,
		    bool complete, struct mt_placement *out)
{
	char why[sizeof(out->reason)] = "";
	cs_insn *in = NULL;
	const uint8_t *p = code;
	uint64_t addr = func_addr, off = 0;
	size_t left = len;
	enum mt_emu emu;
	unsigned int n;
	csh cs = 0;
	int err = 0;

	if (!code || !out || len == 0)
		return -EINVAL;
	memset(out, 0, sizeof(*out));

	if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK)
		return -ENOMEM;
	/* AT&T, as objdump and the kernel docs print it. */
	cs_option(cs, CS_OPT_SYNTAX, CS_OPT_SYNTAX_ATT);
	if (cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON) != CS_ERR_OK) {
		err = -ENOMEM;
		goto cleanup;
	}
	in = cs_malloc(cs);
	if (!in) {
		err = -ENOMEM;
		goto cleanup;
	}

	if (!cs_disasm_iter(cs, &p, &left, &addr, in)) {
		snprintf(out->reason, sizeof(out->reason), "cannot decode the first instruction");
		goto cleanup;
	}
	mt_insn_text(in, out->insn, sizeof(out->insn));
	emu = mt_kernel_emu(in->bytes, in->size);
	out->emulated = emu != MT_EMU_NONE && emu != MT_EMU_REFUSED;
	if (out->emulated)
		goto cleanup;
	if (keep_entry) {
		snprintf(out->reason, sizeof(out->reason), "%s",
			 emu == MT_EMU_REFUSED ? "the kernel refuses to probe the entry" :
						 "return probe needs the entry");
		goto cleanup;
	}

	/* @in is the instruction at +off and is not emulated: move past it
	 * if allowed, until an emulated one comes up. */
	for (n = 0;; n++) {
		char text[sizeof(out->insn)];

		if (n == MT_PROBE_PLACE_MAX_SKIP_INSNS) {
			snprintf(why, sizeof(why), "no emulated instruction within %u instructions",
				 MT_PROBE_PLACE_MAX_SKIP_INSNS);
			break;
		}
		if (!mt_skippable(cs, in, why, sizeof(why)))
			break;
		off += in->size;
		if (off > MT_PROBE_PLACE_MAX_SKIP_BYTES) {
			snprintf(why, sizeof(why), "no emulated instruction within %u bytes",
				 MT_PROBE_PLACE_MAX_SKIP_BYTES);
			break;
		}
		if (!cs_disasm_iter(cs, &p, &left, &addr, in)) {
			snprintf(why, sizeof(why), "cannot decode at +0x%" PRIx64, off);
			break;
		}
		emu = mt_kernel_emu(in->bytes, in->size);
		if (emu == MT_EMU_NONE || emu == MT_EMU_REFUSED)
			continue;
		if (!complete) {
			snprintf(why, sizeof(why), "function too large to check its branches");
			break;
		}
		mt_insn_text(in, text, sizeof(text));
		/* The sweep reuses @in, so the text is saved first. */
		if (mt_check_branches(cs, in, code, len, func_addr, func_addr + off,
				      why, sizeof(why)) < 0)
			break;
		out->offset = off;
		out->skipped = n + 1;
		out->emulated = true;
		snprintf(out->insn, sizeof(out->insn), "%s", text);
		goto cleanup;
	}
	snprintf(out->reason, sizeof(out->reason), "%s", why);

cleanup:
	if (in)
		cs_free(in, 1);
	if (cs)
		cs_close(&cs);
	return err;
}

int mt_probe_place(const uint8_t *code, size_t len, uint64_t func_addr, bool keep_entry,
		   struct mt_placement *out)
{
	return mt_place(code, len, func_addr, keep_entry, true, out);
}

/* The first min(size, MT_PROBE_PLACE_MAX_FUNC) bytes of a function from
 * its file; *out is malloc'd. 0 or -errno. */
static int read_func(const char *path, uint64_t file_off, uint64_t size, uint8_t **out,
		     size_t *outlen)
{
	size_t want, got = 0;
	uint8_t *buf = NULL;
	int fd = -1, err = 0;

	if (!path || size == 0 || file_off > (uint64_t)INT64_MAX - size)
		return -EINVAL;
	want = size > MT_PROBE_PLACE_MAX_FUNC ? MT_PROBE_PLACE_MAX_FUNC : (size_t)size;
	buf = malloc(want);
	if (!buf)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		goto cleanup;
	}
	while (got < want) {
		ssize_t r = pread(fd, buf + got, want - got, (off_t)(file_off + got));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = -errno;
			goto cleanup;
		}
		if (r == 0) {
			err = -EIO;
			goto cleanup;
		}
		got += (size_t)r;
	}
	*out = buf;
	*outlen = want;
	buf = NULL;
cleanup:
	if (fd >= 0)
		close(fd);
	free(buf);
	return err;
}

int mt_probe_place_file(const char *path, uint64_t file_off, uint64_t size, uint64_t vaddr,
			bool keep_entry, struct mt_placement *out)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int err;

	if (!out)
		return -EINVAL;
	err = read_func(path, file_off, size, &buf, &len);
	if (!err)
		err = mt_place(buf, len, vaddr, keep_entry, len == size, out);
	free(buf);
	return err;
}

static bool in_ranges(uint64_t t, const uint64_t (*r)[2], unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (t >= r[i][0] && t < r[i][1])
			return true;
	return false;
}

bool mt_probe_may_nest(const uint8_t *code, size_t len, uint64_t func_addr, bool complete,
		       const uint64_t *eps, unsigned neps, const uint64_t (*plt)[2], unsigned nplt)
{
	const uint8_t *p = code;
	uint64_t addr = func_addr;
	size_t left = len;
	bool nest = !complete;
	cs_insn *in = NULL;
	csh cs = 0;

	if (!code || len == 0 || cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK)
		return true;
	if (cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON) != CS_ERR_OK || !(in = cs_malloc(cs)))
		nest = true;
	while (!nest && left > 0) {
		const cs_x86 *x;
		uint64_t t;

		if (!cs_disasm_iter(cs, &p, &left, &addr, in)) {
			nest = true;
			break;
		}
		if (!cs_insn_group(cs, in, CS_GRP_JUMP) && !cs_insn_group(cs, in, CS_GRP_CALL))
			continue;
		x = &in->detail->x86;
		if (x->op_count < 1 || x->operands[0].type != X86_OP_IMM) {
			nest = true;   /* indirect: could be anything */
			break;
		}
		t = (uint64_t)x->operands[0].imm;
		if (t >= func_addr && t < func_addr + len)
			continue;  /* within the function */
		for (unsigned i = 0; i < neps && !nest; i++)
			nest = t == eps[i];
		nest = nest || in_ranges(t, plt, nplt);
	}
	if (in)
		cs_free(in, 1);
	cs_close(&cs);
	return nest;
}

bool mt_probe_may_nest_file(const char *path, uint64_t file_off, uint64_t size, uint64_t vaddr,
			    const uint64_t *eps, unsigned neps, const uint64_t (*plt)[2],
			    unsigned nplt)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	bool nest = true;

	if (read_func(path, file_off, size, &buf, &len) == 0)
		nest = mt_probe_may_nest(buf, len, vaddr, len == size, eps, neps, plt, nplt);
	free(buf);
	return nest;
}
