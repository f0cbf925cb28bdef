// SPDX-License-Identifier: BSD-2-Clause
/*
 * Memory-syscall sites of an object; see mt_syscall_sites.h.
 * Cost at attach: one byte pass over the executable sections (~2 ms for
 * glibc's 1.5 MB) and a Capstone decode of each function holding a
 * syscall instruction, once, in address order (~550 in glibc).
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <capstone/capstone.h>

#include "probe/mt_syscall_sites.h"
#include "util/mt_grow.h"
#include "util/mt_log.h"

struct starts {
	uint64_t *v;
	size_t n, cap;
};

static int add_start(struct starts *s, uint64_t a)
{
	int err = MT_GROW(s->v, s->n + 1, s->cap);

	if (!err)
		s->v[s->n++] = a;
	return err;
}

/* Function starts from the binary-search table of .eh_frame_hdr (the
 * encodings every x86-64 toolchain emits; others give none). */
static int read_eh_starts(Elf_Data *d, uint64_t hdr_addr, struct starts *s)
{
	const uint8_t *p = d->d_buf;
	uint32_t count, i;
	int err = 0;

	if (d->d_size < 12 || p[0] != 1 || (p[1] & 0x0f) != 0x0b || p[2] != 0x03 || p[3] != 0x3b)
		return 0;
	memcpy(&count, p + 8, sizeof(count));
	if ((uint64_t)count * 8 > d->d_size - 12)
		return 0;
	for (i = 0; i < count && !err; i++) {
		int32_t rel;

		memcpy(&rel, p + 12 + 8 * (size_t)i, sizeof(rel));
		err = add_start(s, hdr_addr + (uint64_t)(int64_t)rel);
	}
	return err;
}

/* Function symbols: hand-written code without unwind info has them. */
static int read_sym_starts(Elf_Scn *scn, const GElf_Shdr *sh, struct starts *s)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	size_t i, n;
	int err = 0;

	if (!d || sh->sh_entsize == 0)
		return 0;
	n = sh->sh_size / sh->sh_entsize;
	for (i = 0; i < n && !err; i++) {
		GElf_Sym sym;

		if (!gelf_getsym(d, (int)i, &sym) || sym.st_shndx == SHN_UNDEF || sym.st_value == 0)
			continue;
		if (GELF_ST_TYPE(sym.st_info) == STT_FUNC || GELF_ST_TYPE(sym.st_info) == STT_GNU_IFUNC)
			err = add_start(s, sym.st_value);
	}
	return err;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The last start <= a, 0 if none. */
static uint64_t func_start(const struct starts *s, uint64_t a)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->v[mid] <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? s->v[lo - 1] : 0;
}

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

/* Advance the sweep to a; true when a is an instruction boundary. */
static bool sweep_to(csh cs, cs_insn *in, struct sweep *w, const uint8_t *sec, uint64_t sec_addr,
		     size_t sec_len, uint64_t a)
{
	const uint8_t *p;
	size_t left;
	uint64_t addr;

	if (w->dead || w->addr > a)
		return false;
	p = sec + (w->addr - sec_addr);
	left = sec_len - (size_t)(w->addr - sec_addr);
	addr = w->addr;
	while (addr < a) {
		uint64_t at = addr;

		if (!cs_disasm_iter(cs, &p, &left, &addr, in)) {
			w->dead = true;
			return false;
		}
		if (writes_rax(cs, in) || in->id == X86_INS_SYSCALL || in->id == X86_INS_CALL) {
			w->prev_addr = at;
			w->prev_len = in->size;
		}
	}
	w->addr = addr;
	return addr == a;
}

/* The end of the function starting at start: the next start, or the
 * section's end. */
static uint64_t func_end(const struct starts *s, uint64_t start, uint64_t sec_end)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i] > start)
			return s->v[i] < sec_end ? s->v[i] : sec_end;
	return sec_end;
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
static uint64_t post_addr(csh cs, cs_insn *in, const uint8_t *sec, uint64_t sec_addr, size_t sec_len,
			  const struct starts *s, uint64_t start, uint64_t a)
{
	const uint8_t *p = sec + (a + 2 - sec_addr), *q;
	uint64_t j = a + 8, addr = start, end = func_end(s, start, sec_addr + sec_len);
	size_t left;

	if (a + 10 > end || p[0] != 0x48 || p[1] != 0x3d)
		return a + 2;                                   /* not cmp $imm32, %rax */
	if (!((p[6] >= 0x70 && p[6] <= 0x7f) || (p[6] == 0x0f && p[7] >= 0x80 && p[7] <= 0x8f)))
		return a + 2;                                   /* not jcc */
	q = sec + (start - sec_addr);
	left = (size_t)(end - start);
	while (addr < end) {
		if (!cs_disasm_iter(cs, &q, &left, &addr, in))
			return a + 2;
		if (!cs_insn_group(cs, in, CS_GRP_JUMP) && !cs_insn_group(cs, in, CS_GRP_CALL))
			continue;
		if (in->detail->x86.op_count != 1 || in->detail->x86.operands[0].type != X86_OP_IMM)
			return a + 2;                           /* indirect: could go anywhere */
		if ((uint64_t)in->detail->x86.operands[0].imm == j)
			return a + 2;
	}
	return j;
}

static int scan_section(csh cs, cs_insn *in, const GElf_Shdr *sh, Elf_Data *d,
			const struct starts *s, const uint32_t *nrs, unsigned nnrs,
			struct mt_syscall_site *out, unsigned max, unsigned *n, unsigned *ndyn,
			cs_insn *in2)
{
	const uint8_t *b = d->d_buf;
	size_t len = d->d_size, i;
	struct sweep w = { 0 };

	for (i = 0; i + 2 < len; i++) {
		uint64_t a = sh->sh_addr + i, start;
		int64_t nr;

		if (b[i] != 0x0f || b[i + 1] != 0x05)
			continue;
		start = func_start(s, a);
		if (!start || start < sh->sh_addr)
			continue;   /* nothing to decode from: not provably code */
		if (start != w.func) {
			w = (struct sweep){ .func = start, .addr = start };
		}
		if (!sweep_to(cs, in, &w, b, sh->sh_addr, len, a) || w.prev_addr < start ||
		    w.prev_addr == a)
			continue;
		nr = const_nr(b + (w.prev_addr - sh->sh_addr), w.prev_len);
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
			.pre_off = sh->sh_offset + (w.prev_addr - sh->sh_addr),
			.post_off = sh->sh_offset + i +
				    (post_addr(cs, in2, b, sh->sh_addr, len, s, start, a) - a),
			.nr = (uint32_t)nr,
		};
		(*n)++;
	}
	return 0;
}

int mt_syscall_sites_file(const char *path, const uint32_t *nrs, unsigned nnrs,
			  struct mt_syscall_site *out, unsigned max, unsigned *n_dynamic)
{
	struct starts s = { 0 };
	Elf_Scn *scn = NULL;
	cs_insn *in = NULL, *in2 = NULL;
	unsigned n = 0, ndyn = 0;
	size_t shstrndx;
	Elf *e = NULL;
	int fd, err = 0;
	csh cs = 0;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return -ENOSYS;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF || elf_getshdrstrndx(e, &shstrndx)) {
		err = -ENOEXEC;
		goto cleanup;
	}
	while (!err && (scn = elf_nextscn(e, scn)) != NULL) {
		const char *name;
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || !(name = elf_strptr(e, shstrndx, sh.sh_name)))
			continue;
		if (sh.sh_type == SHT_DYNSYM || sh.sh_type == SHT_SYMTAB)
			err = read_sym_starts(scn, &sh, &s);
		else if (strcmp(name, ".eh_frame_hdr") == 0 && (d = elf_getdata(scn, NULL)))
			err = read_eh_starts(d, sh.sh_addr, &s);
	}
	if (err || s.n == 0)
		goto cleanup;
	qsort(s.v, s.n, sizeof(*s.v), cmp_u64);
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK ||
	    cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON) != CS_ERR_OK || !(in = cs_malloc(cs)) ||
	    !(in2 = cs_malloc(cs))) {
		err = -ENOMEM;
		goto cleanup;
	}
	while (!err && (scn = elf_nextscn(e, scn)) != NULL) {
		const char *name;
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS || !(sh.sh_flags & SHF_EXECINSTR))
			continue;
		name = elf_strptr(e, shstrndx, sh.sh_name);
		if (name && strncmp(name, ".plt", 4) == 0)
			continue;
		d = elf_getdata(scn, NULL);
		if (d && d->d_buf)
			err = scan_section(cs, in, &sh, d, &s, nrs, nnrs, out, max, &n, &ndyn, in2);
	}
cleanup:
	if (in)
		cs_free(in, 1);
	if (in2)
		cs_free(in2, 1);
	if (cs)
		cs_close(&cs);
	if (e)
		elf_end(e);
	close(fd);
	free(s.v);
	if (n_dynamic)
		*n_dynamic = ndyn;
	return err ? err : (int)n;
}
