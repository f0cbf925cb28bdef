/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Where an object makes memory syscalls itself: the `syscall` instructions
 * of its code whose number is a constant set by the instruction just before
 * (`mov $NR, %eax` or `mov $NR, %rax`: how glibc's wrappers, its internal
 * __mmap/__munmap/__brk aliases, ld.so's own copies and static programs
 * inline them). A uprobe after such a syscall (on the next instruction, or
 * on the emulated jump after glibc's cmp: see post_off) sees its arguments
 * (rdi, rsi, rdx, r10, r8 survive the syscall) and its result (rax), only
 * in the target: the per-target replacement for
 * the machine-wide raw_tp sys_enter/sys_exit hook.
 *
 * Found like probe/mt_internal.h's sites: a byte scan for 0f 05, each
 * candidate confirmed by decoding (Capstone) from the start of its function
 * (.eh_frame_hdr, else the symbol tables), so a probe never lands inside an
 * instruction. Syscalls whose number is not such a constant (glibc's
 * generic syscall(), a number computed elsewhere) are counted as dynamic:
 * a call made through them is not seen.
 */
#ifndef MT_SYSCALL_SITES_H
#define MT_SYSCALL_SITES_H

#include <stdint.h>

struct mt_syscall_site {
	uint64_t vaddr;       /* of the syscall instruction */
	uint64_t pre_vaddr;   /* of the mov setting the number */
	uint64_t pre_off;     /* its file offset */
	uint64_t post_off;    /* file offset of the probe after the syscall: the next
			       * instruction, or the conditional jump after glibc's
			       * `cmp $imm32, %rax` (emulated: one trap, not two) */
	uint32_t nr;          /* the syscall number */
};

/*
 * mt_syscall_sites_file - the memory-syscall sites of an object
 * @path:      the object, as we open it
 * @nrs:       syscall numbers wanted
 * @nnrs:      how many
 * @out:       filled with at most @max sites
 * @n_dynamic: set to the number of syscall instructions whose number is
 *             not a constant (may be NULL)
 *
 * Return: the number of sites found (more than @max: -E2BIG), or -errno
 * when the object cannot be read as ELF.
 */
int mt_syscall_sites_file(const char *path, const uint32_t *nrs, unsigned nnrs,
			  struct mt_syscall_site *out, unsigned max, unsigned *n_dynamic);

#endif /* MT_SYSCALL_SITES_H */
