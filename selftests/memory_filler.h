/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Filling the machine's memory with movable pages (shmem page cache, then anonymous
 * memory) until the kernel has lent CMA pages out, for the pressure test and the
 * make run demo. Needs cmabuf_util.h first.
 */
#ifndef CMABUF_MEMORY_FILLER_H
#define CMABUF_MEMORY_FILLER_H

#include <sys/mman.h>

#define FILL_CHUNK (8ULL << 20)
#define FILL_MAX_CHUNKS 256

/* Anonymous memory and a shmem file that fill the machine until CMA pages are used. */
struct filler {
	char *chunks[FILL_MAX_CHUNKS];
	int nr;
	int shmem;
};

/*
 * The physical address of each page of a chunk of ours (0 where not present), read
 * from /proc/self/pagemap (needs CAP_SYS_ADMIN) in one go.
 */
static inline int chunk_phys(int pagemap, const char *chunk, uint64_t *phys, size_t pages)
{
	off_t off = (uintptr_t)chunk / getpagesize() * sizeof(uint64_t);
	size_t i;

	if (pread(pagemap, phys, pages * sizeof(uint64_t), off) != (ssize_t)(pages * sizeof(uint64_t)))
		return -1;
	for (i = 0; i < pages; i++)
		phys[i] = (phys[i] & (1ULL << 63)) ?
			  (phys[i] & ((1ULL << 55) - 1)) * getpagesize() : 0;
	return 0;
}

/* Fills memory until the CMA pools hold at least want_kib of movable pages. */
static inline int fill_until_cma_used(struct filler *f, long long want_kib)
{
	long long cma_total = meminfo_kb("CmaTotal");
	char buf[65536];
	int i;

	memset(f, 0, sizeof(*f));
	/* Page cache first: 64 MiB of shmem. */
	f->shmem = open("/tmp/cmabuf-pressure", O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (f->shmem < 0)
		return -1;
	memset(buf, 0x77, sizeof(buf));
	for (i = 0; i < (int)((64ULL << 20) / sizeof(buf)); i++)
		if (write(f->shmem, buf, sizeof(buf)) != sizeof(buf))
			return -1;
	/* Then anonymous memory, until CMA is used or free memory runs low. */
	while (f->nr < FILL_MAX_CHUNKS && cma_total - meminfo_kb("CmaFree") < want_kib &&
	       meminfo_kb("MemAvailable") > 96 * 1024) {
		char *p = mmap(NULL, FILL_CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			       -1, 0);

		if (p == MAP_FAILED)
			break;
		memset(p, 0x5a, FILL_CHUNK);
		f->chunks[f->nr++] = p;
	}
	return cma_total - meminfo_kb("CmaFree") >= want_kib ? 0 : -1;
}

static inline void unfill(struct filler *f)
{
	int i;

	for (i = 0; i < f->nr; i++)
		munmap(f->chunks[i], FILL_CHUNK);
	f->nr = 0;
	if (f->shmem >= 0)
		close(f->shmem);
	unlink("/tmp/cmabuf-pressure");
}

/* How many of our anonymous pages (chunks from from_chunk on) lie in [base, base + size). */
static inline long count_pages_in(struct filler *f, int from_chunk, uint64_t base,
				  uint64_t size)
{
	static uint64_t phys[FILL_CHUNK / 4096];
	size_t pages = FILL_CHUNK / getpagesize(), k;
	int pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC), i;
	long n = 0;

	if (pagemap < 0)
		return -1;
	for (i = from_chunk; i < f->nr; i++) {
		if (chunk_phys(pagemap, f->chunks[i], phys, pages))
			break;
		for (k = 0; k < pages; k++)
			n += phys[k] >= base && phys[k] < base + size;
	}
	close(pagemap);
	return n;
}

/*
 * Fills memory until at least want of our anonymous pages lie in the pool at
 * [base, base + size), or memory runs low. Returns how many do.
 */
static inline long fill_until_pool_used(struct filler *f, uint64_t base, uint64_t size,
					long want)
{
	long in_pool = 0;

	if (fill_until_cma_used(f, 0) && f->shmem < 0)
		return -1;
	while (in_pool < want && f->nr < FILL_MAX_CHUNKS &&
	       meminfo_kb("MemAvailable") > 96 * 1024) {
		char *p = mmap(NULL, FILL_CHUNK, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			break;
		memset(p, 0x5a, FILL_CHUNK);
		f->chunks[f->nr++] = p;
		in_pool += count_pages_in(f, f->nr - 1, base, size);
	}
	return in_pool;
}

/* The first page of ours that lies in [base, base + size); its frame in *pfn. */
static inline char *page_in(struct filler *f, uint64_t base, uint64_t size, uint64_t *pfn)
{
	static uint64_t phys[FILL_CHUNK / 4096];
	size_t pages = FILL_CHUNK / getpagesize(), k;
	int pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC), i;
	char *found = NULL;

	if (pagemap < 0)
		return NULL;
	for (i = 0; i < f->nr && !found; i++) {
		if (chunk_phys(pagemap, f->chunks[i], phys, pages))
			break;
		for (k = 0; k < pages && !found; k++)
			if (phys[k] >= base && phys[k] < base + size) {
				*pfn = phys[k] / getpagesize();
				found = f->chunks[i] + k * getpagesize();
			}
	}
	close(pagemap);
	return found;
}

#endif /* CMABUF_MEMORY_FILLER_H */
