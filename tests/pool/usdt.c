// SPDX-License-Identifier: BSD-2-Clause
/*
 * USDT probes: the notes memtrace will attach to exist, with semaphores,
 * and the probe paths work when a tracer switches them on. Reads this
 * binary's own .note.stapsdt (libmtpool is linked in statically) and turns
 * the semaphores on the way a tracer does, by incrementing them.
 *
 * To count hits without root, the x86-64 test then does what uprobes do:
 * it replaces each probe site's nop with int3 and counts the SIGTRAPs
 * (after the trap the pc is past the 1-byte site, so execution resumes).
 */
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <ucontext.h>
#include <unistd.h>

#include "mt_test.h"
#include "mtpool.h"

struct probe {
	char name[32];
	uint64_t pc;
	uint64_t sem;
};

#define MAX_PROBES 256
static struct probe probes[MAX_PROBES];
static int nprobes;

static int load_probes(void)
{
	int fd = open("/proc/self/exe", O_RDONLY);
	const Elf64_Ehdr *eh;
	const Elf64_Shdr *sh;
	const char *strtab;
	struct stat st;
	char *img;
	int i;

	if (fd < 0 || fstat(fd, &st) < 0)
		return -1;
	img = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (img == MAP_FAILED)
		return -1;
	eh = (const Elf64_Ehdr *)img;
	sh = (const Elf64_Shdr *)(img + eh->e_shoff);
	strtab = img + sh[eh->e_shstrndx].sh_offset;
	for (i = 0; i < eh->e_shnum; i++) {
		const char *p, *end;

		if (strcmp(strtab + sh[i].sh_name, ".note.stapsdt") != 0)
			continue;
		p = img + sh[i].sh_offset;
		end = p + sh[i].sh_size;
		while (p < end && nprobes < MAX_PROBES) {
			const Elf64_Nhdr *nh = (const Elf64_Nhdr *)p;
			const char *desc = p + sizeof(*nh) + ((nh->n_namesz + 3) & ~3u);
			uint64_t addr[3];
			const char *provider = desc + 24, *name = provider + strlen(provider) + 1;

			memcpy(addr, desc, sizeof(addr));   /* notes are 4-aligned */
			if (nh->n_type == 3 && strcmp(provider, "mtpool") == 0) {
				snprintf(probes[nprobes].name, sizeof(probes[0].name), "%s", name);
				probes[nprobes].pc = addr[0];
				probes[nprobes].sem = addr[2];
				nprobes++;
			}
			p = desc + ((nh->n_descsz + 3) & ~3u);
		}
	}
	return 0;
}

static const struct probe *find(const char *name)
{
	int i;

	for (i = 0; i < nprobes; i++)
		if (strcmp(probes[i].name, name) == 0)
			return &probes[i];
	return NULL;
}

static void test_probes_exist_with_semaphores(void)
{
	static const char *const want[] = { "get", "put", "miss", "refill", "flush",
					    "sc_alloc", "sc_free", "buf_ref", "buf_unref",
					    "debug_error" };
	size_t i;

	MT_CHECK_EQ_U64(load_probes(), 0);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct probe *p = find(want[i]);

		if (!p)
			fprintf(stderr, "  missing probe mtpool:%s\n", want[i]);
		MT_CHECK(p != NULL);
		MT_CHECK(p->sem != 0);
	}
}

static int bias_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	*(uintptr_t *)data = info->dlpi_addr;   /* the first object is the exe */
	return 1;
}

static void test_enabled_probes_keep_pools_working(void)
{
	uintptr_t bias = 0;
	mtpool *p;
	mtpool_sc *sc;
	mtpool_refbuf *rb;
	void *v[100];
	int i;

	MT_CHECK(nprobes > 0);
	dl_iterate_phdr(bias_cb, &bias);
	/* One semaphore per probe name, shared by all its sites. */
	for (i = 0; i < nprobes; i++)
		MT_CHECK_EQ_U64(*(volatile unsigned short *)(bias + probes[i].sem), 0);
	for (i = 0; i < nprobes; i++)
		(*(volatile unsigned short *)(bias + probes[i].sem))++;
	p = mtpool_create(64, NULL);
	sc = mtpool_sc_create(NULL);
	MT_CHECK(p && sc);
	for (i = 0; i < 100; i++)
		v[i] = mtpool_get(p);
	for (i = 0; i < 100; i++)
		mtpool_put(p, v[i]);
	for (i = 0; i < 100; i++)
		v[i] = mtpool_sc_malloc(sc, (size_t)i * 30);
	for (i = 0; i < 100; i++)
		mtpool_sc_free(sc, v[i]);
	rb = mtpool_refbuf_new(NULL, 10);
	mtpool_refbuf_unref(mtpool_refbuf_slice(rb, 1, 2));
	mtpool_refbuf_unref(rb);
	mtpool_destroy(p);
	mtpool_sc_destroy(sc);
	for (i = 0; i < nprobes; i++)
		(*(volatile unsigned short *)(bias + probes[i].sem))--;
}

#if defined(__x86_64__)
/* Hits per probe site; a site is one probes[] entry. */
static volatile unsigned long hits[MAX_PROBES];
static uintptr_t trap_bias;

static void on_trap(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	uintptr_t site = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP] - 1;
	int i;

	(void)sig;
	(void)si;
	for (i = 0; i < nprobes; i++)
		if (trap_bias + probes[i].pc == site)
			hits[i]++;
}

/* Arm (or disarm) every site of @name; 0 or -1 when the text cannot be
 * made writable (W^X policy). */
static int arm(const char *name, int on)
{
	long pg = sysconf(_SC_PAGESIZE);
	int i;

	for (i = 0; i < nprobes; i++) {
		unsigned char *site = (unsigned char *)(trap_bias + probes[i].pc);
		void *page = (void *)((uintptr_t)site & ~(uintptr_t)(pg - 1));

		if (strcmp(probes[i].name, name) != 0)
			continue;
		if (mprotect(page, (size_t)pg * 2, PROT_READ | PROT_WRITE | PROT_EXEC))
			return -1;
		if (*site != (on ? 0x90 : 0xcc))
			return -1;
		*site = on ? 0xcc : 0x90;
		__builtin___clear_cache((char *)site, (char *)site + 1);
		mprotect(page, (size_t)pg * 2, PROT_READ | PROT_EXEC);
		(*(volatile unsigned short *)(trap_bias + probes[i].sem)) += on ? 1 : -1;
	}
	return 0;
}

static unsigned long count_hits(const char *name)
{
	unsigned long n = 0;
	int i;

	for (i = 0; i < nprobes; i++) {
		if (strcmp(probes[i].name, name) == 0) {
			n += hits[i];
			hits[i] = 0;
		}
	}
	return n;
}

/* Every mtpool_sc allocation fires sc_alloc once and every free sc_free
 * once, small or large, cached or debug (they used to diverge: large
 * allocations fired no sc_alloc, debug frees no sc_free). */
static void run_sc_balance(unsigned flags, size_t size, unsigned long *na, unsigned long *nf)
{
	struct mtpool_sc_opts o = { .flags = flags };
	mtpool_sc *sc = mtpool_sc_create(&o);
	void *v[23];
	int i;

	for (i = 0; i < 23; i++)
		v[i] = mtpool_sc_malloc(sc, size);
	for (i = 0; i < 23; i++)
		mtpool_sc_free(sc, v[i]);
	mtpool_sc_destroy(sc);
	*na = count_hits("sc_alloc");
	*nf = count_hits("sc_free");
}

static void test_sc_alloc_and_free_probes_balance(void)
{
	static const size_t sizes[] = { 24, 3000, MTPOOL_SC_MAX, MTPOOL_SC_MAX + 1, 1 << 20 };
	struct sigaction sa, old;
	unsigned long na, nf;
	size_t i;
	int mode;

	MT_CHECK(nprobes > 0);
	dl_iterate_phdr(bias_cb, &trap_bias);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_trap;
	sa.sa_flags = SA_SIGINFO;
	MT_CHECK(sigaction(SIGTRAP, &sa, &old) == 0);
	if (arm("sc_alloc", 1) || arm("sc_free", 1)) {
		printf("# skipped: cannot write probe sites (W^X)\n");
		return;
	}
	for (mode = 0; mode < 2; mode++) {
		for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			run_sc_balance(mode ? MTPOOL_F_DEBUG : 0, sizes[i], &na, &nf);
			if (na != 23 || nf != 23)
				fprintf(stderr, "  %s size %zu: %lu sc_alloc, %lu sc_free\n",
					mode ? "debug" : "cached", sizes[i], na, nf);
			MT_CHECK_EQ_U64(na, 23);
			MT_CHECK_EQ_U64(nf, 23);
		}
	}
	MT_CHECK(arm("sc_alloc", 0) == 0 && arm("sc_free", 0) == 0);
	sigaction(SIGTRAP, &old, NULL);
}
#endif

int main(void)
{
	MT_RUN(test_probes_exist_with_semaphores);
	MT_RUN(test_enabled_probes_keep_pools_working);
#if defined(__x86_64__)
	MT_RUN(test_sc_alloc_and_free_probes_balance);
#endif
	return mt_test_done();
}
