// SPDX-License-Identifier: BSD-2-Clause
/* Unit tests for mt_probe_place: hand-made byte sequences, then this
 * process's own glibc allocator functions (read from the file, since a
 * tracer attached meanwhile would show its int3s in memory). */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <capstone/capstone.h>

#include "probe/mt_probe_place.h"
#include "mt_test.h"

#define FADDR 0x401000ull

static struct mt_placement pl;

static int place(const uint8_t *code, size_t len, bool keep_entry)
{
	return mt_probe_place(code, len, FADDR, keep_entry, &pl);
}

static void test_test_je(void)
{
	/* test %rdi,%rdi; je +5; push %rbx; ...; ret (glibc free's shape) */
	static const uint8_t c[] = { 0x48, 0x85, 0xff, 0x74, 0x05, 0x53, 0x31, 0xc0,
				     0x5b, 0xc3, 0xc3 };

	MT_CHECK_EQ_U64(place(c, sizeof(c), false), 0);
	MT_CHECK_EQ_U64(pl.offset, 3);
	MT_CHECK(pl.emulated);
	MT_CHECK_EQ_U64(pl.skipped, 1);
	MT_CHECK_EQ_U64(pl.sp_off, 0);
	MT_CHECK_STR(pl.insn, "je 0x40100a");
	MT_CHECK_STR(pl.reason, "");
}

static void test_jcc_rel32(void)
{
	/* test %rdi,%rdi; je rel32 (0f 84) */
	static const uint8_t c[] = { 0x48, 0x85, 0xff, 0x0f, 0x84, 0x01, 0x00, 0x00, 0x00,
				     0xc3, 0xc3 };

	MT_CHECK_EQ_U64(place(c, sizeof(c), false), 0);
	MT_CHECK_EQ_U64(pl.offset, 3);
	MT_CHECK(pl.emulated);
}

static void test_push_first(void)
{
	/* push %r12; mov %rdi,%rbx; pop %r12; ret */
	static const uint8_t c[] = { 0x41, 0x54, 0x48, 0x89, 0xfb, 0x41, 0x5c, 0xc3 };

	MT_CHECK_EQ_U64(place(c, sizeof(c), false), 0);
	MT_CHECK_EQ_U64(pl.offset, 0);
	MT_CHECK(pl.emulated);
	MT_CHECK_STR(pl.insn, "pushq %r12");
	MT_CHECK_STR(pl.reason, "");
}

static void test_push_rex_w_not_emulated(void)
{
	/* 48 53 (push with a redundant REX.W) is single-stepped: only 41 is
	 * accepted; 66 53 (pushw) too. Keep entry: push writes rsp. */
	static const uint8_t c1[] = { 0x48, 0x53, 0xc3 };
	static const uint8_t c2[] = { 0x66, 0x53, 0xc3 };

	MT_CHECK_EQ_U64(place(c1, sizeof(c1), false), 0);
	MT_CHECK_EQ_U64(pl.offset, 0);
	MT_CHECK(!pl.emulated);
	MT_CHECK_EQ_U64(place(c2, sizeof(c2), false), 0);
	MT_CHECK(!pl.emulated);
}

static void test_endbr64(void)
{
	/* endbr64; push %rbp; mov %rsp,%rbp; pop %rbp; ret */
	static const uint8_t c[] = { 0xf3, 0x0f, 0x1e, 0xfa, 0x55, 0x48, 0x89, 0xe5, 0x5d, 0xc3 };

	MT_CHECK_EQ_U64(place(c, sizeof(c), false), 0);
	MT_CHECK_EQ_U64(pl.offset, 4);
	MT_CHECK(pl.emulated);
	MT_CHECK_STR(pl.insn, "pushq %rbp");
}

static void test_nops(void)
{
	/* nopl 0(%rax,%rax) (x86_nops[5]) is emulated at the entry */
	static const uint8_t c1[] = { 0x0f, 0x1f, 0x44, 0x00, 0x00, 0xc3 };
	/* 9-byte nopw: emulated from v6.19 only, so not claimed; cs nopw
	 * (2e prefix) is refused by the kernel. Both are skipped. */
	static const uint8_t c2[] = { 0x66, 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0, 0x55, 0x5d, 0xc3 };
	static const uint8_t c3[] = { 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0, 0x55, 0x5d, 0xc3 };
	/* 41 90 is xchg %eax,%r8d, never a nop; f3 90 is pause */
	static const uint8_t c4[] = { 0x41, 0x90, 0x55, 0xc3 };
	static const uint8_t c5[] = { 0xf3, 0x90, 0x55, 0xc3 };
	static const uint8_t c6[] = { 0x66, 0x90, 0xc3 };

	MT_CHECK_EQ_U64(place(c1, sizeof(c1), false), 0);
	MT_CHECK_EQ_U64(pl.offset, 0);
	MT_CHECK(pl.emulated);
	MT_CHECK_EQ_U64(place(c2, sizeof(c2), false), 0);
	MT_CHECK_EQ_U64(pl.offset, 9);
	MT_CHECK(pl.emulated);
	MT_CHECK_EQ_U64(place(c3, sizeof(c3), false), 0);
	MT_CHECK_EQ_U64(pl.offset, 10);
	MT_CHECK_EQ_U64(place(c4, sizeof(c4), false), 0);
	MT_CHECK_EQ_U64(pl.offset, 0);
	MT_CHECK(!pl.emulated);
	MT_CHECK(pl.reason[0] != '\0');
	MT_CHECK_EQ_U64(place(c5, sizeof(c5), false), 0);
	MT_CHECK_EQ_U64(pl.offset, 0);
	MT_CHECK(!pl.emulated);
	MT_CHECK_EQ_U64(place(c6, sizeof(c6), false), 0);
	MT_CHECK_EQ_U64(pl.offset, 0);
	MT_CHECK(pl.emulated);
}

static void test_mov_to_rax_skipped(void)
{
	/* mov %rdi,%rax; push %rbx; ...: rax is no argument */
	static const uint8_t c[] = { 0x48, 0x89, 0xf8, 0x53, 0x5b, 0xc3 };

	MT_CHECK_EQ_U64(place(c, sizeof(c), false), 0);
	MT_CHECK_EQ_U64(pl.offset, 3);
	MT_CHECK(pl.emulated);
}

static void test_mov_to_arg_kept(void)
{
	/* mov %rsi,%rdi; push %rbx: overwrites the first argument */
	static const uint8_t c1[] = { 0x48, 0x89, 0xf7, 0x53, 0x5b, 0xc3 };
	/* mov %esi,%edx: a 32-bit write clobbers all of rdx */
	static const uint8_t c2[] = { 0x89, 0xf2, 0x53, 0x5b, 0xc3 };
	/* mul %rdx (glibc reallocarray): implicit write of rdx */
	static const uint8_t c3[] = { 0x48, 0xf7, 0xe2, 0x70, 0x00, 0xc3 };

	MT_CHECK_EQ_U64(place(c1, sizeof(c1), false), 0);
	MT_CHECK_EQ_U64(pl.offset, 0);
	MT_CHECK(!pl.emulated);
	MT_CHECK(strstr(pl.reason, "writes rdi") != NULL);
	MT_CHECK_EQ_U64(place(c2, sizeof(c2), false), 0);
	MT_CHECK_EQ_U64(pl.offset, 0);
	MT_CHECK(strstr(pl.reason, "writes rdx") != NULL);
	MT_CHECK_EQ_U64(place(c3, sizeof(c3), false), 0);
	MT_CHECK_EQ_U64(pl.offset, 0);
	MT_CHECK(pl.reason[0] != '\0');
}

static void test_rsp_write_kept(void)
{
	/* sub $8,%rsp; push %rbx */
	static const uint8_t c[] = { 0x48, 0x83, 0xec, 0x08, 0x53, 0x5b, 0x48, 0x83, 0xc4, 0x08,
				     0xc3 };

	MT_CHECK_EQ_U64(place(c, sizeof(c), false), 0);
	MT_CHECK_EQ_U64(pl.offset, 0);
	MT_CHECK(!pl.emulated);
	MT_CHECK(strstr(pl.reason, "rsp") != NULL);
}

static void test_mem_write_kept(void)
{
	/* mov %rax,(%rdi); push %rbx */
	static const uint8_t c[] = { 0x48, 0x89, 0x07, 0x53, 0x5b, 0xc3 };

	MT_CHECK_EQ_U64(place(c, sizeof(c), false), 0);
	MT_CHECK_EQ_U64(pl.offset, 0);
	MT_CHECK(strstr(pl.reason, "memory") != NULL);
}

static void test_branch_into_skipped_range(void)
{
	/* +0 xor %eax,%eax; +2 test %rdi,%rdi; +5 je +2; +7 inc %eax;
	 * +9 jmp +2 (back to the test, inside (entry, probe]); +b ret */
	static const uint8_t c[] = { 0x31, 0xc0, 0x48, 0x85, 0xff, 0x74, 0x04, 0xff, 0xc0,
				     0xeb, 0xf7, 0xc3 };
	/* same, but the loop goes back to the entry itself: fine */
	static const uint8_t c2[] = { 0x31, 0xc0, 0x48, 0x85, 0xff, 0x74, 0x04, 0xff, 0xc0,
				      0xeb, 0xf5, 0xc3 };
	/* a loop back onto the probed je itself also fires it twice */
	static const uint8_t c3[] = { 0x48, 0x85, 0xff, 0x74, 0x02, 0xeb, 0xfc, 0xc3 };

	MT_CHECK_EQ_U64(place(c, sizeof(c), false), 0);
	MT_CHECK_EQ_U64(pl.offset, 0);
	MT_CHECK(!pl.emulated);
	MT_CHECK(strstr(pl.reason, "targets +0x2") != NULL);
	MT_CHECK_EQ_U64(place(c2, sizeof(c2), false), 0);
	MT_CHECK_EQ_U64(pl.offset, 5);
	MT_CHECK(pl.emulated);
	MT_CHECK_EQ_U64(place(c3, sizeof(c3), false), 0);
	MT_CHECK_EQ_U64(pl.offset, 0);
	MT_CHECK(strstr(pl.reason, "targets +0x3") != NULL);
}

static void test_indirect_jump_kept(void)
{
	/* test %rdi,%rdi; je +2; jmp *%rax; ret: unknown jump targets */
	static const uint8_t c[] = { 0x48, 0x85, 0xff, 0x74, 0x02, 0xff, 0xe0, 0xc3 };
	/* ... but jmp *0x10(%rip) is a tail call through the GOT */
	static const uint8_t c2[] = { 0x48, 0x85, 0xff, 0x74, 0x06, 0xff, 0x25, 0x10, 0, 0, 0,
				      0xc3 };

	MT_CHECK_EQ_U64(place(c, sizeof(c), false), 0);
	MT_CHECK_EQ_U64(pl.offset, 0);
	MT_CHECK(strstr(pl.reason, "indirect jump") != NULL);
	MT_CHECK_EQ_U64(place(c2, sizeof(c2), false), 0);
	MT_CHECK_EQ_U64(pl.offset, 3);
}

static void test_keep_entry(void)
{
	static const uint8_t c[] = { 0x48, 0x85, 0xff, 0x74, 0x05, 0x53, 0x31, 0xc0,
				     0x5b, 0xc3, 0xc3 };
	static const uint8_t c2[] = { 0x55, 0xc3 };

	MT_CHECK_EQ_U64(place(c, sizeof(c), true), 0);
	MT_CHECK_EQ_U64(pl.offset, 0);
	MT_CHECK(!pl.emulated);
	MT_CHECK_STR(pl.insn, "testq %rdi, %rdi");
	MT_CHECK_STR(pl.reason, "return probe needs the entry");
	MT_CHECK_EQ_U64(place(c2, sizeof(c2), true), 0);
	MT_CHECK(pl.emulated);
	MT_CHECK_STR(pl.reason, "");
}

static void test_riprel_first(void)
{
	/* cmpb $0,0x100(%rip); je +1; ret; ret (glibc memalign's shape):
	 * a rip-relative read is single-stepped but harmless to skip */
	static const uint8_t c[] = { 0x80, 0x3d, 0x00, 0x01, 0x00, 0x00, 0x00, 0x74, 0x01,
				     0xc3, 0xc3 };
	/* mov 0x100(%rip),%rdi: rip-relative and writes an argument */
	static const uint8_t c2[] = { 0x48, 0x8b, 0x3d, 0x00, 0x01, 0x00, 0x00, 0x55, 0xc3 };

	MT_CHECK_EQ_U64(place(c, sizeof(c), false), 0);
	MT_CHECK_EQ_U64(pl.offset, 7);
	MT_CHECK(pl.emulated);
	MT_CHECK_EQ_U64(place(c2, sizeof(c2), false), 0);
	MT_CHECK_EQ_U64(pl.offset, 0);
	MT_CHECK(!pl.emulated);
}

static void test_branch_prefixes(void)
{
	/* 66-prefixed jcc: the kernel refuses it, so it is no target */
	static const uint8_t c1[] = { 0x48, 0x85, 0xff, 0x66, 0x74, 0x00, 0xc3 };
	/* bnd jmp (f2 eb) is emulated like jmp */
	static const uint8_t c2[] = { 0xf2, 0xeb, 0x00, 0xc3 };
	/* call rel32 at the entry is emulated */
	static const uint8_t c3[] = { 0xe8, 0x00, 0x00, 0x00, 0x00, 0xc3 };

	MT_CHECK_EQ_U64(place(c1, sizeof(c1), false), 0);
	MT_CHECK_EQ_U64(pl.offset, 0);
	MT_CHECK(!pl.emulated);
	MT_CHECK_EQ_U64(place(c2, sizeof(c2), false), 0);
	MT_CHECK(pl.emulated);
	MT_CHECK_EQ_U64(place(c3, sizeof(c3), false), 0);
	MT_CHECK(pl.emulated);
}

static void test_limits(void)
{
	/* five harmless instructions before a push: too far */
	static const uint8_t c[] = { 0x31, 0xc0, 0x31, 0xc0, 0x31, 0xc0, 0x31, 0xc0, 0x31, 0xc0,
				     0x55, 0xc3 };
	/* four: fine */
	static const uint8_t c2[] = { 0x31, 0xc0, 0x31, 0xc0, 0x31, 0xc0, 0x31, 0xc0, 0x55, 0xc3 };
	/* 17 bytes of movabs/mov before the push: too far */
	static const uint8_t c3[] = { 0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8, 0x48, 0xb8, 1, 2, 3, 4,
				      5, 6, 7, 8, 0x55, 0xc3 };

	MT_CHECK_EQ_U64(place(c, sizeof(c), false), 0);
	MT_CHECK_EQ_U64(pl.offset, 0);
	MT_CHECK(strstr(pl.reason, "within") != NULL);
	MT_CHECK_EQ_U64(place(c2, sizeof(c2), false), 0);
	MT_CHECK_EQ_U64(pl.offset, 8);
	MT_CHECK_EQ_U64(pl.skipped, 4);
	MT_CHECK_EQ_U64(place(c3, sizeof(c3), false), 0);
	MT_CHECK_EQ_U64(pl.offset, 0);
}

static void test_bad_args(void)
{
	static const uint8_t c[] = { 0xc3 };

	MT_CHECK_EQ_U64(mt_probe_place(NULL, 1, 0, false, &pl), (uint64_t)-EINVAL);
	MT_CHECK_EQ_U64(mt_probe_place(c, 0, 0, false, &pl), (uint64_t)-EINVAL);
	MT_CHECK_EQ_U64(mt_probe_place(c, 1, 0, false, NULL), (uint64_t)-EINVAL);
	MT_CHECK_EQ_U64(mt_probe_place_file("/nonexistent", 0, 1, 0, false, &pl),
			(uint64_t)-ENOENT);
	/* a truncated instruction is reported, not an error */
	MT_CHECK_EQ_U64(mt_probe_place((const uint8_t *)"\x48", 1, 0, false, &pl), 0);
	MT_CHECK_EQ_U64(pl.offset, 0);
	MT_CHECK(pl.reason[0] != '\0');
}

/* ---- this process's glibc ---- */

struct mt_libc_fn {
	const char *path;
	uint64_t file_off, vaddr, size;
};

struct mt_phdr_find {
	uintptr_t addr;
	uint64_t file_off;
	bool found;
};

static int mt_phdr_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	struct mt_phdr_find *f = data;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t start = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type != PT_LOAD || f->addr < start || f->addr >= start + ph->p_filesz)
			continue;
		f->file_off = f->addr - start + ph->p_offset;
		f->found = true;
		return 1;
	}
	return 0;
}

static int mt_find_libc_fn(const char *name, struct mt_libc_fn *fn)
{
	const ElfW(Sym) *sym = NULL;
	struct mt_phdr_find f = { 0 };
	Dl_info info;
	/* libc's own definition, not an interposer's (ASan defines malloc) */
	void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
	void *addr = libc ? dlsym(libc, name) : NULL;

	if (!addr || !dladdr1(addr, &info, (void **)&sym, RTLD_DL_SYMENT) || !sym ||
	    !info.dli_fname || !strstr(info.dli_fname, "libc.so"))
		return -ENOENT;
	f.addr = (uintptr_t)addr;
	dl_iterate_phdr(mt_phdr_cb, &f);
	if (!f.found)
		return -ENOENT;
	fn->path = info.dli_fname;
	fn->file_off = f.file_off;
	fn->vaddr = (uintptr_t)addr;
	fn->size = sym->st_size;
	return 0;
}

/* Independent check of the documented rule on real code: the skipped
 * instructions write no argument register, rsp or memory, and the probed
 * one is a kind the kernel emulates. Read from the file, like the module. */
static bool mt_rule_holds(const struct mt_libc_fn *fn, const struct mt_placement *p)
{
	static const unsigned int guarded[] = {
		X86_REG_RDI, X86_REG_EDI, X86_REG_RSI, X86_REG_ESI, X86_REG_RDX, X86_REG_EDX,
		X86_REG_RCX, X86_REG_ECX, X86_REG_R8, X86_REG_R8D, X86_REG_R9, X86_REG_R9D,
		X86_REG_RSP, X86_REG_ESP, X86_REG_RIP,
	};
	uint8_t buf[64];
	FILE *f = fopen(fn->path, "rb");
	cs_insn *in = NULL;
	size_t n = 0, bytes = 0;
	bool ok = false;
	csh cs;

	if (!f)
		return false;
	if (fseek(f, (long)fn->file_off, SEEK_SET) == 0)
		n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (n < p->offset + 1 || cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK)
		return false;
	cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);
	n = cs_disasm(cs, buf, n, fn->vaddr, 0, &in);
	for (size_t i = 0; i < n; i++) {
		cs_regs rd, wr;
		uint8_t nrd, nwr;
		const char *m = in[i].mnemonic;

		if (bytes == p->offset) {
			ok = m[0] == 'j' || !strncmp(m, "push", 4) || !strncmp(m, "nop", 3) ||
			     !strncmp(m, "call", 4);
			break;
		}
		if (cs_regs_access(cs, &in[i], rd, &nrd, wr, &nwr) != CS_ERR_OK)
			break;
		for (unsigned int k = 0; k < nwr; k++)
			for (size_t g = 0; g < sizeof(guarded) / sizeof(guarded[0]); g++)
				if (wr[k] == guarded[g])
					goto out;
		for (unsigned int k = 0; k < in[i].detail->x86.op_count; k++)
			if (in[i].detail->x86.operands[k].type == X86_OP_MEM &&
			    (in[i].detail->x86.operands[k].access & CS_AC_WRITE))
				goto out;
		bytes += in[i].size;
	}
out:
	cs_free(in, n);
	cs_close(&cs);
	return ok;
}

static void test_glibc_free(void)
{
	struct mt_libc_fn fn;

	MT_CHECK_EQ_U64(mt_find_libc_fn("free", &fn), 0);
	MT_CHECK_EQ_U64(mt_probe_place_file(fn.path, fn.file_off, fn.size, fn.vaddr, false, &pl), 0);
	printf("# free: +%" PRIu64 " %s%s %s\n", pl.offset, pl.insn,
	       pl.emulated ? " (emulated)" : "", pl.reason);
	/* glibc builds since 2.26 start free with test %rdi,%rdi; je. */
	MT_CHECK(pl.emulated);
	MT_CHECK(pl.offset > 0);
	MT_CHECK(pl.offset <= MT_PROBE_PLACE_MAX_SKIP_BYTES);
	MT_CHECK(mt_rule_holds(&fn, &pl));
	/* with a return probe the entry stays */
	MT_CHECK_EQ_U64(mt_probe_place_file(fn.path, fn.file_off, fn.size, fn.vaddr, true, &pl), 0);
	MT_CHECK_EQ_U64(pl.offset, 0);
}

static void test_glibc_malloc(void)
{
	struct mt_libc_fn fn;

	MT_CHECK_EQ_U64(mt_find_libc_fn("malloc", &fn), 0);
	MT_CHECK_EQ_U64(mt_probe_place_file(fn.path, fn.file_off, fn.size, fn.vaddr, false, &pl), 0);
	printf("# malloc: +%" PRIu64 " %s%s %s\n", pl.offset, pl.insn,
	       pl.emulated ? " (emulated)" : "", pl.reason);
	/* x86-64 glibc malloc opens with push of a callee-saved register,
	 * emulated at the entry; other builds may differ, so hold them to
	 * the rule rather than to an offset. */
	if (pl.offset == 0)
		MT_CHECK(pl.emulated || pl.reason[0] != '\0');
	else
		MT_CHECK(pl.emulated && mt_rule_holds(&fn, &pl));
}

static void test_glibc_all(void)
{
	static const char *const names[] = {
		"malloc", "calloc", "realloc", "free", "posix_memalign", "memalign",
		"aligned_alloc", "valloc", "pvalloc", "reallocarray",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct mt_libc_fn fn;

		if (mt_find_libc_fn(names[i], &fn) < 0) {
			printf("# %s: not in libc, skipped\n", names[i]);
			continue;
		}
		MT_CHECK_EQ_U64(mt_probe_place_file(fn.path, fn.file_off, fn.size, fn.vaddr,
						    false, &pl), 0);
		printf("# %-14s +%-2" PRIu64 " %-28s %s%s\n", names[i], pl.offset, pl.insn,
		       pl.emulated ? "emulated" : "single-step: ", pl.reason);
		if (pl.offset > 0)
			MT_CHECK(pl.emulated && mt_rule_holds(&fn, &pl));
		else
			MT_CHECK(pl.emulated || pl.reason[0] != '\0');
	}
}


/* May a function enter another entry point? Hand-made functions at 0x1000:
 * a call to an entry point, into a PLT, an indirect call, and calls that
 * stay inside or go to a plain function. */
static void test_may_nest(void)
{
	/* call rel32 to 0x2000: e8 + (0x2000 - 0x1005) */
	static const uint8_t call_ep[] = { 0xe8, 0xfb, 0x0f, 0x00, 0x00, 0xc3 };
	/* call *%rax */
	static const uint8_t call_ind[] = { 0xff, 0xd0, 0xc3 };
	/* jmp +0 (to the next insn, inside), ret */
	static const uint8_t inside[] = { 0xeb, 0x00, 0xc3 };
	const uint64_t eps[] = { 0x2000 };
	const uint64_t other[] = { 0x3000 };
	const uint64_t plt[][2] = { { 0x1ff0, 0x2010 } };

	MT_CHECK(mt_probe_may_nest(call_ep, sizeof(call_ep), 0x1000, true, eps, 1, NULL, 0));
	MT_CHECK(!mt_probe_may_nest(call_ep, sizeof(call_ep), 0x1000, true, other, 1, NULL, 0));
	MT_CHECK(mt_probe_may_nest(call_ep, sizeof(call_ep), 0x1000, true, other, 1, plt, 1));
	MT_CHECK(mt_probe_may_nest(call_ind, sizeof(call_ind), 0x1000, true, other, 1, NULL, 0));
	MT_CHECK(!mt_probe_may_nest(inside, sizeof(inside), 0x1000, true, eps, 1, plt, 1));
	/* a truncated function could do anything past what was read */
	MT_CHECK(mt_probe_may_nest(inside, sizeof(inside), 0x1000, false, eps, 1, NULL, 0));
}

int main(void)
{
	MT_RUN(test_test_je);
	MT_RUN(test_jcc_rel32);
	MT_RUN(test_push_first);
	MT_RUN(test_push_rex_w_not_emulated);
	MT_RUN(test_endbr64);
	MT_RUN(test_nops);
	MT_RUN(test_mov_to_rax_skipped);
	MT_RUN(test_mov_to_arg_kept);
	MT_RUN(test_rsp_write_kept);
	MT_RUN(test_mem_write_kept);
	MT_RUN(test_branch_into_skipped_range);
	MT_RUN(test_indirect_jump_kept);
	MT_RUN(test_keep_entry);
	MT_RUN(test_riprel_first);
	MT_RUN(test_branch_prefixes);
	MT_RUN(test_limits);
	MT_RUN(test_bad_args);
	MT_RUN(test_glibc_free);
	MT_RUN(test_glibc_malloc);
	MT_RUN(test_glibc_all);
	MT_RUN(test_may_nest);
	return mt_test_done();
}
