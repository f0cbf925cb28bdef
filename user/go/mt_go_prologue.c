// SPDX-License-Identifier: BSD-2-Clause
/* The end of a Go function's stack check (see mt_go_prologue.h), by Capstone. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <capstone/capstone.h>

#include "go/mt_go_prologue.h"

/* The check is at most three instructions: lea, cmp, jbe. */
#define MAX_INSNS 4

int mt_go_after_stack_check(const uint8_t *code, size_t n, uint64_t addr, uint64_t *body)
{
	const uint8_t *p = code;
	size_t left = n;
	csh cs;
	cs_insn *in;
	int i, err = -ENOENT;
	bool cmp_r14 = false;

	if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK)
		return -ENOMEM;
	in = cs_malloc(cs);
	for (i = 0; in && i < MAX_INSNS && cs_disasm_iter(cs, &p, &left, &addr, in); i++) {
		if (in->id == X86_INS_CMP && strstr(in->op_str, "[r14 + 0x10]"))
			cmp_r14 = true;
		else if (in->id == X86_INS_JBE && cmp_r14) {
			*body = addr;   /* cs_disasm_iter moved it past the jbe */
			err = 0;
			break;
		}
	}
	if (in)
		cs_free(in, 1);
	cs_close(&cs);
	return err;
}
