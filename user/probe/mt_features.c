// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "probe/mt_features.h"

/* As in probe/mt_heap.c: not in libbpf 1.4.6's headers. */
#define MT_TRACE_UPROBE_SESSION 57
#define VMLINUX_BTF "/sys/kernel/btf/vmlinux"

/* Load "r0 = 0; exit" as a kprobe program of the given attach type, then
 * ask for a link on "/" (not a file): a kernel with the link type fails
 * with EBADF on the path; one without refuses the load or the attach type.
 * The way libbpf probes uprobe_multi, done by hand for sessions too. */
static int probe_link(unsigned attach_type)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, lo, .expected_attach_type = attach_type);
	union bpf_attr attr;
	unsigned long offset = 0;
	int prog, link, err;

	prog = bpf_prog_load(BPF_PROG_TYPE_KPROBE, NULL, "GPL", insns, 2, &lo);
	if (prog < 0)
		return errno == EPERM || errno == EACCES ? -errno : 0;
	memset(&attr, 0, sizeof(attr));
	attr.link_create.prog_fd = (uint32_t)prog;
	attr.link_create.attach_type = attach_type;
	attr.link_create.uprobe_multi.path = (uint64_t)(uintptr_t)"/";
	attr.link_create.uprobe_multi.offsets = (uint64_t)(uintptr_t)&offset;
	attr.link_create.uprobe_multi.cnt = 1;
	link = (int)syscall(__NR_bpf, BPF_LINK_CREATE, &attr, sizeof(attr));
	err = errno;
	if (link >= 0)
		close(link);
	close(prog);
	return link < 0 && err == EBADF;
}

int mt_feature_uprobe_multi(void)
{
	return probe_link(BPF_TRACE_UPROBE_MULTI);
}

int mt_feature_uprobe_session(void)
{
	return probe_link(MT_TRACE_UPROBE_SESSION);
}

static const char *yesno(int v, char *buf, size_t n)
{
	if (v > 0)
		return "yes";
	if (v == 0)
		return "no";
	snprintf(buf, n, "unknown (%s: run as root)", strerror(-v));
	return buf;
}

void mt_features_print(FILE *f, const char *version)
{
	struct utsname u;
	char b1[96], b2[96];
	int btf = access(VMLINUX_BTF, R_OK) == 0;

	libbpf_set_print(NULL);   /* probe failures are answers, not errors */
	fprintf(f, "memtrace %s\n", version);
	fprintf(f, "libbpf %s\n", libbpf_version_string() + (libbpf_version_string()[0] == 'v'));
	fprintf(f, "kernel %s\n", uname(&u) == 0 ? u.release : "unknown");
	fprintf(f, "  BTF: %s\n", btf ? "yes (" VMLINUX_BTF ")" : "no (" VMLINUX_BTF " not readable: give --btf)");
	fprintf(f, "  uprobe_multi: %s\n", yesno(mt_feature_uprobe_multi(), b1, sizeof(b1)));
	fprintf(f, "  uprobe sessions: %s\n", yesno(mt_feature_uprobe_session(), b2, sizeof(b2)));
}
