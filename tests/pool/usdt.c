// SPDX-License-Identifier: BSD-2-Clause
/*
 * USDT probes: the notes memtrace will attach to exist, with semaphores,
 * and the probe paths work when a tracer switches them on. Reads this
 * binary's own .note.stapsdt (libmtpool is linked in statically) and turns
 * the semaphores on the way a tracer does, by incrementing them.
 */
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mt_test.h"
#include "mtpool.h"

struct probe {
	char name[32];
	uint64_t sem;
};

static struct probe probes[64];
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
		while (p < end && nprobes < 64) {
			const Elf64_Nhdr *nh = (const Elf64_Nhdr *)p;
			const char *desc = p + sizeof(*nh) + ((nh->n_namesz + 3) & ~3u);
			uint64_t addr[3];
			const char *provider = desc + 24, *name = provider + strlen(provider) + 1;

			memcpy(addr, desc, sizeof(addr));   /* notes are 4-aligned */
			if (nh->n_type == 3 && strcmp(provider, "mtpool") == 0) {
				snprintf(probes[nprobes].name, sizeof(probes[0].name), "%s", name);
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

int main(void)
{
	MT_RUN(test_probes_exist_with_semaphores);
	MT_RUN(test_enabled_probes_keep_pools_working);
	return mt_test_done();
}
