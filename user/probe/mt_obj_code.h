/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * An object's executable code, as the symbol-free site finders read it
 * (probe/mt_internal.h: the allocator's own calls; probe/mt_syscall_sites.h:
 * its memory syscalls): the bytes of its executable sections, a sorted
 * table of function starts (.eh_frame_hdr and/or the symbol tables), and a
 * Capstone sweep that decodes from a function start, so a probe placed
 * by a finder never lands inside an instruction.
 *
 *   struct mt_obj_code oc;
 *   struct mt_code_sec sec;
 *   Elf_Scn *scn = NULL;
 *
 *   if ((err = mt_obj_code_open(&oc, path)))
 *           return err;
 *   err = mt_obj_code_read_starts(&oc, MT_STARTS_EH_FRAME);
 *   while (!err && mt_obj_code_next_sec(&oc, &scn, &sec))
 *           ... mt_code_func_start(&oc, a), mt_code_sweep(cs, in, &sec, ...)
 *   mt_obj_code_close(&oc);
 */
#ifndef MT_OBJ_CODE_H
#define MT_OBJ_CODE_H

#include <gelf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <capstone/capstone.h>

struct mt_obj_code {
	int fd;
	Elf *elf;
	size_t shstrndx;
	uint64_t *starts;        /* function starts, ascending */
	size_t nstarts, cap;
};

/* One executable section (PROGBITS with SHF_EXECINSTR, not .plt*). */
struct mt_code_sec {
	const uint8_t *b;        /* its bytes */
	size_t len;
	uint64_t addr;           /* vaddr of b[0] */
	uint64_t off;            /* file offset of b[0]: where a uprobe goes */
};

/* Open path as ELF. Return: 0, or -errno (-ENOEXEC: not ELF). On error
 * nothing is left to close. */
int mt_obj_code_open(struct mt_obj_code *oc, const char *path);
void mt_obj_code_close(struct mt_obj_code *oc);

/* Where function starts come from. .eh_frame_hdr's binary-search table
 * covers compiled code (only the encodings every x86-64 toolchain emits
 * are read; others give none); function symbols (STT_FUNC, STT_GNU_IFUNC)
 * of .dynsym and .symtab add hand-written code without unwind info. */
enum {
	MT_STARTS_EH_FRAME = 1 << 0,
	MT_STARTS_SYMBOLS  = 1 << 1,
};

/* Fill oc's start table from the sources in @from (MT_STARTS_*), sorted.
 * Return: 0 (an object without them has none), or -ENOMEM. */
int mt_obj_code_read_starts(struct mt_obj_code *oc, unsigned from);

/* The start of the function holding a: the last start <= a, 0 if none. */
uint64_t mt_code_func_start(const struct mt_obj_code *oc, uint64_t a);
/* The end of the function starting at start: the next start above it,
 * capped at limit (the end of its section), or limit. */
uint64_t mt_code_func_end(const struct mt_obj_code *oc, uint64_t start, uint64_t limit);

/* Call each on every defined function symbol (STT_FUNC or STT_GNU_IFUNC,
 * not SHN_UNDEF) of the symbol table sh_type (SHT_DYNSYM or SHT_SYMTAB),
 * with its name (NULL when unreadable); a non-zero return stops the walk.
 * Return: 0, or what each returned. */
int mt_obj_code_func_syms(const struct mt_obj_code *oc, uint32_t sh_type,
			  int (*each)(const GElf_Sym *sym, const char *name, void *arg), void *arg);

/* The next executable section after *scn (start with *scn = NULL), in
 * section order; false when there is none left. */
bool mt_obj_code_next_sec(const struct mt_obj_code *oc, Elf_Scn **scn, struct mt_code_sec *sec);

/* A Capstone handle for x86-64 (with instruction details when detail).
 * Return: 0, or -ENOMEM with *cs zero. */
int mt_code_cs_open(csh *cs, bool detail);

/*
 * mt_code_sweep - decode a linear run of instructions
 * @cs, @in: the handle and its instruction buffer (cs_malloc)
 * @sec:     the bytes decoded from (an instruction must end within them)
 * @addr:    where decoding starts; set to where it stopped
 * @to:      decode while *addr < @to
 * @each:    called on each instruction decoded (at: its vaddr; may be
 *           NULL); a non-zero return stops the sweep and is returned
 *
 * *addr == @to afterwards when @to is an instruction boundary of the run
 * (a start above @to decodes nothing and leaves *addr above it).
 * Return: 0, -EILSEQ at an undecodable byte (*addr: that byte), -ERANGE
 * when *addr is not in @sec, or what @each returned.
 */
int mt_code_sweep(csh cs, cs_insn *in, const struct mt_code_sec *sec, uint64_t *addr, uint64_t to,
		  int (*each)(csh cs, const cs_insn *in, uint64_t at, void *arg), void *arg);

#endif /* MT_OBJ_CODE_H */
