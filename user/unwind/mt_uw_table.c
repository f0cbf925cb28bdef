// SPDX-License-Identifier: BSD-2-Clause
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unwind/mt_uw_table.h"
#include "util/mt_log.h"

/* x86-64 DWARF register numbers */
#define REG_RBP 6
#define REG_RSP 7
#define REG_RA 16

struct builder {
	struct mt_uw_table *t;
	uint32_t cap;
	uint64_t *starts;          /* FDE (function) start addresses, sorted */
	size_t nstarts, cap_starts;
	uint64_t plt_lo[4], plt_hi[4];
	unsigned nplt;
};

static int push_row(struct builder *b, uint64_t pc, const struct mt_uw_row *r)
{
	struct mt_uw_table *t = b->t;
	struct mt_uw_row *last = t->nrows ? &t->rows[t->nrows - 1] : NULL;

	if (pc > UINT32_MAX)
		return 0;   /* modules above 4 GiB of address space: not tabled */
	/* Equal neighbours merge: the table keeps only rule changes. */
	if (last && last->kind == r->kind && last->cfa_off == r->cfa_off && last->rbp_off == r->rbp_off)
		return 0;
	if (last && last->pc == pc) {
		*last = *r;
		last->pc = (uint32_t)pc;
		return 0;
	}
	if (t->nrows == b->cap) {
		uint32_t cap = b->cap ? b->cap * 2 : 4096;
		struct mt_uw_row *n = realloc(t->rows, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		t->rows = n;
		b->cap = cap;
	}
	t->rows[t->nrows] = *r;
	t->rows[t->nrows].pc = (uint32_t)pc;
	t->nrows++;
	if (r->kind == MT_UW_NONE)
		t->nrows_none++;
	return 0;
}

/* ops computes CFA + k (a register saved at an offset from the CFA):
 * libdw writes it as DW_OP_call_frame_cfa followed by an addition. */
static bool cfa_rel(const Dwarf_Op *ops, size_t nops, int64_t *k)
{
	if (nops < 1 || ops[0].atom != DW_OP_call_frame_cfa)
		return false;
	if (nops == 1) {
		*k = 0;
		return true;
	}
	if (nops == 2 && ops[1].atom == DW_OP_plus_uconst) {
		*k = (int64_t)ops[1].number;
		return true;
	}
	if (nops == 3 && (ops[1].atom == DW_OP_consts || ops[1].atom == DW_OP_constu) &&
	    ops[2].atom == DW_OP_plus) {
		*k = (int64_t)ops[1].number;
		return true;
	}
	return false;
}

static bool breg(const Dwarf_Op *op, int *reg, int64_t *off)
{
	if (op->atom == DW_OP_bregx) {
		*reg = (int)op->number;
		*off = (int64_t)op->number2;
		return true;
	}
	if (op->atom >= DW_OP_breg0 && op->atom <= DW_OP_breg31) {
		*reg = op->atom - DW_OP_breg0;
		*off = (int64_t)op->number;
		return true;
	}
	return false;
}

static bool in_plt(const struct builder *b, uint64_t pc)
{
	for (unsigned i = 0; i < b->nplt; i++)
		if (pc >= b->plt_lo[i] && pc < b->plt_hi[i])
			return true;
	return false;
}

/* The rule of one CFI frame state as a row; kind MT_UW_NONE when the
 * walker cannot follow it. */
static void classify(const struct builder *b, Dwarf_Frame *f, uint64_t pc, struct mt_uw_row *r)
{
	Dwarf_Op mem[3], *ops;
	size_t nops;
	int64_t off, k;
	bool sig = false;
	Dwarf_Addr s, e;
	int reg;

	memset(r, 0, sizeof(*r));
	if (dwarf_frame_info(f, &s, &e, &sig) < 0)
		return;
	if (sig) {
		/* The kernel's rt_sigreturn trampoline: the ucontext is at rsp. */
		r->kind = MT_UW_SIGNAL;
		return;
	}
	/* Return address: undefined marks the outermost frame. */
	if (dwarf_frame_register(f, REG_RA, mem, &ops, &nops) < 0)
		return;
	if (nops == 0 && ops == mem) {
		r->kind = MT_UW_ROOT;
		return;
	}
	if (!cfa_rel(ops, nops, &k) || k != -8)
		return;
	/* CFA */
	if (dwarf_frame_cfa(f, &ops, &nops) < 0 || nops == 0)
		return;
	if (nops == 1 && breg(&ops[0], &reg, &off) && (reg == REG_RSP || reg == REG_RBP)) {
		if (off < 0 || (off > UINT16_MAX && (off % 8 || off / 8 > UINT16_MAX)))
			return;
		r->kind = reg == REG_RSP ? MT_UW_CFA_RSP : MT_UW_CFA_RBP;
		r->cfa_off = (uint16_t)off;
		if (off > UINT16_MAX) {
			r->kind |= MT_UW_SCALED;
			r->cfa_off = (uint16_t)(off / 8);
		}
	} else if (nops == 2 && breg(&ops[0], &reg, &off) && reg == REG_RBP &&
		   ops[1].atom == DW_OP_deref && off >= INT16_MIN && off <= INT16_MAX) {
		r->kind = MT_UW_CFA_DEREF_RBP;
		r->cfa_off = (uint16_t)(int16_t)off;
	} else if (in_plt(b, pc) && breg(&ops[0], &reg, &off) && reg == REG_RSP && off == 8) {
		/* A PLT stub's expression (rsp + 8, + 8 after PLT0's push):
		 * a stub only jumps, so it is never a return address, and at
		 * a stub's first instruction the rule is rsp + 8. */
		r->kind = MT_UW_CFA_RSP;
		r->cfa_off = 8;
	} else {
		return;
	}
	/* Caller's rbp: unchanged, or saved at CFA + k. */
	if (dwarf_frame_register(f, REG_RBP, mem, &ops, &nops) < 0) {
		r->kind = MT_UW_NONE;
		return;
	}
	if (nops == 0)
		return;   /* same value (or undefined: keep what we have) */
	/* DW_CFA_expression: libdw puts the CFA first (DWARF pushes it before
	 * the expression runs); the result is the expression's. */
	if (nops == 2 && ops[0].atom == DW_OP_call_frame_cfa && breg(&ops[1], &reg, &off) &&
	    reg == REG_RBP && off % 8 == 0 && off / 8 >= INT8_MIN && off / 8 <= INT8_MAX) {
		/* saved at [rbp + off]: the DRAP prologue's push %rbp */
		r->kind |= MT_UW_RBP_REL;
		r->rbp_off = (int8_t)(off / 8);
		return;
	}
	if (!cfa_rel(ops, nops, &k) || k % 8 || k / 8 < INT8_MIN || k / 8 > INT8_MAX || k == 0) {
		r->kind = MT_UW_NONE;
		return;
	}
	r->rbp_off = (int8_t)(k / 8);
}

/* Rows of one function: from its FDE start to the next function's. */
static int walk_fde(struct builder *b, Dwarf_CFI *cfi, uint64_t start, uint64_t limit)
{
	static const struct mt_uw_row none;
	uint64_t pc = start;
	bool fp = false, any = false;
	int err = 0;

	while (pc < limit && !err) {
		Dwarf_Frame *f = NULL;
		Dwarf_Addr s, e;
		struct mt_uw_row r;

		if (dwarf_cfi_addrframe(cfi, pc, &f) < 0)
			break;
		if (dwarf_frame_info(f, &s, &e, NULL) < 0 || e <= pc) {
			free(f);
			break;
		}
		classify(b, f, pc, &r);
		free(f);
		any = true;
		if (r.kind == MT_UW_CFA_RBP && r.cfa_off == 16 && r.rbp_off == -2)
			fp = true;
		err = push_row(b, pc, &r);
		pc = e;
	}
	if (any) {
		b->t->nfde++;
		b->t->nfde_fp += fp;
	}
	/* The gap up to the next function has no rule. */
	if (!err && pc < limit)
		err = push_row(b, pc, &none);
	return err;
}

static int add_start(struct builder *b, uint64_t a)
{
	if (b->nstarts == b->cap_starts) {
		size_t cap = b->cap_starts ? b->cap_starts * 2 : 1024;
		uint64_t *n = realloc(b->starts, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		b->starts = n;
		b->cap_starts = cap;
	}
	b->starts[b->nstarts++] = a;
	return 0;
}

/* .eh_frame_hdr's binary-search table lists every FDE's start. Only the
 * encodings every x86-64 linker writes are read (sdata4 relative to the
 * header); another one returns -ENOTSUP and the symbols are used. */
static int starts_from_hdr(struct builder *b, Elf_Data *d, uint64_t hdr_addr)
{
	const unsigned char *p = d->d_buf;
	uint32_t n, i;
	int err;

	if (d->d_size < 12 || p[0] != 1 || p[1] != 0x1b || p[2] != 0x03 || p[3] != 0x3b)
		return -ENOTSUP;
	memcpy(&n, p + 8, 4);
	if (12 + (uint64_t)n * 8 > d->d_size)
		return -ENOTSUP;
	for (i = 0; i < n; i++) {
		int32_t loc;

		memcpy(&loc, p + 12 + (uint64_t)i * 8, 4);
		err = add_start(b, hdr_addr + (int64_t)loc);
		if (err)
			return err;
	}
	return 0;
}

/* Function symbols as starts, for CFI without a search table. */
static int starts_from_syms(struct builder *b, Elf *e)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	int err;

	while ((scn = elf_nextscn(e, scn))) {
		Elf_Data *d;
		size_t i, n;

		if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM))
			continue;
		d = elf_getdata(scn, NULL);
		if (!d || !sh.sh_entsize)
			continue;
		n = sh.sh_size / sh.sh_entsize;
		for (i = 0; i < n; i++) {
			GElf_Sym s;

			if (!gelf_getsym(d, (int)i, &s) || GELF_ST_TYPE(s.st_info) != STT_FUNC ||
			    s.st_shndx == SHN_UNDEF || !s.st_value)
				continue;
			err = add_start(b, s.st_value);
			if (err)
				return err;
		}
	}
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void read_layout(struct builder *b, Elf *e, Elf_Data **hdr, uint64_t *hdr_addr,
			bool *has_eh, bool *has_debug)
{
	struct mt_uw_table *t = b->t;
	size_t shstrndx, i, n;
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	GElf_Phdr ph;

	if (!elf_getphdrnum(e, &n))
		for (i = 0; i < n; i++) {
			if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_LOAD)
				continue;
			if (ph.p_flags & PF_X)
				t->text_bytes += ph.p_filesz;
			if (t->nloads < MT_UW_MAX_LOADS) {
				t->loads[t->nloads].off = ph.p_offset;
				t->loads[t->nloads].vaddr = ph.p_vaddr;
				t->loads[t->nloads].filesz = ph.p_filesz;
				t->nloads++;
			}
		}
	if (elf_getshdrstrndx(e, &shstrndx))
		return;
	while ((scn = elf_nextscn(e, scn))) {
		const char *name;

		if (!gelf_getshdr(scn, &sh) || !(name = elf_strptr(e, shstrndx, sh.sh_name)))
			continue;
		if (!strcmp(name, ".eh_frame_hdr") && sh.sh_type == SHT_PROGBITS) {
			*hdr = elf_getdata(scn, NULL);
			*hdr_addr = sh.sh_addr;
		} else if (!strcmp(name, ".eh_frame") && sh.sh_type == SHT_PROGBITS) {
			*has_eh = true;
		} else if (!strcmp(name, ".debug_frame") && sh.sh_type == SHT_PROGBITS) {
			*has_debug = true;
		} else if ((!strcmp(name, ".plt") || !strcmp(name, ".plt.sec") ||
			    !strcmp(name, ".plt.got")) && b->nplt < 4) {
			b->plt_lo[b->nplt] = sh.sh_addr;
			b->plt_hi[b->nplt++] = sh.sh_addr + sh.sh_size;
		}
	}
}

static uint64_t text_end(const struct mt_uw_table *t, uint64_t pc)
{
	for (unsigned i = 0; i < t->nloads; i++)
		if (pc >= t->loads[i].vaddr && pc < t->loads[i].vaddr + t->loads[i].filesz)
			return t->loads[i].vaddr + t->loads[i].filesz;
	return pc + 1;
}

int mt_uw_table_build(const char *path, struct mt_uw_table *t)
{
	struct builder b = { .t = t };
	bool has_eh = false, has_debug = false;
	Elf_Data *hdr = NULL;
	uint64_t hdr_addr = 0;
	Dwarf_CFI *cfi = NULL;
	Dwarf *dw = NULL;
	Elf *e = NULL;
	size_t i;
	int fd, err = 0;

	memset(t, 0, sizeof(*t));
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF) {
		err = -ENOEXEC;
		goto out;
	}
	read_layout(&b, e, &hdr, &hdr_addr, &has_eh, &has_debug);
	if (has_eh) {
		cfi = dwarf_getcfi_elf(e);
		t->src = MT_UW_SRC_EH_FRAME;
	} else if (has_debug) {
		dw = dwarf_begin_elf(e, DWARF_C_READ, NULL);
		cfi = dw ? dwarf_getcfi(dw) : NULL;
		t->src = MT_UW_SRC_DEBUG_FRAME;
	}
	if (!cfi) {
		t->src = MT_UW_SRC_NONE;
		goto out;
	}
	if (!hdr || starts_from_hdr(&b, hdr, hdr_addr) == -ENOTSUP)
		err = starts_from_syms(&b, e);
	if (err)
		goto out;
	qsort(b.starts, b.nstarts, sizeof(*b.starts), cmp_u64);
	for (i = 0; i < b.nstarts && !err; i++) {
		uint64_t limit;

		if (i + 1 < b.nstarts && b.starts[i + 1] == b.starts[i])
			continue;
		limit = i + 1 < b.nstarts ? b.starts[i + 1] : text_end(t, b.starts[i]);
		err = walk_fde(&b, cfi, b.starts[i], limit);
	}
	/* Half the functions or more keep a frame pointer (a -fno-omit-frame-pointer build; crt and asm functions never do): the module was built with them. */
	t->fp = t->nfde > 0 && t->nfde_fp * 2 >= t->nfde;
out:
	if (dw)
		dwarf_end(dw);
	else if (cfi)
		dwarf_cfi_end(cfi);
	if (e)
		elf_end(e);
	close(fd);
	free(b.starts);
	if (err)
		mt_uw_table_free(t);
	return err;
}

void mt_uw_table_free(struct mt_uw_table *t)
{
	free(t->rows);
	t->rows = NULL;
	t->nrows = 0;
}

int mt_uw_table_bias(const struct mt_uw_table *t, uint64_t start, uint64_t off, uint64_t *bias)
{
	for (unsigned i = 0; i < t->nloads; i++)
		if (off >= t->loads[i].off && off < t->loads[i].off + t->loads[i].filesz + 4096) {
			*bias = start - off + t->loads[i].off - t->loads[i].vaddr;
			return 0;
		}
	return -ENOENT;
}

const struct mt_uw_row *mt_uw_table_find(const struct mt_uw_table *t, uint64_t pc)
{
	uint32_t lo = 0, hi = t->nrows;

	/* the last row with row.pc <= pc */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (t->rows[mid].pc <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? &t->rows[lo - 1] : NULL;
}
