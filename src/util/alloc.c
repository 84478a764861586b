/*
 * alloc.c - the allocator every module uses. A countdown lets tests fail the
 * n-th allocation (SQLite's faultsim idea) to prove that every error path
 * frees what it took and reports TP_ENOMEM.
 */
#include "tp.h"

#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>

static atomic_long alloc_count;
static atomic_long fail_at = -1;

static int should_fail(void)
{
	long n = atomic_fetch_add(&alloc_count, 1);
	long f = atomic_load(&fail_at);
	(void)n;
	if (f < 0)
		return 0;
	if (f == 0) {
		atomic_store(&fail_at, -1);
		return 1;
	}
	atomic_fetch_sub(&fail_at, 1);
	return 0;
}

void tp_alloc_fail_at(long n)
{
	atomic_store(&fail_at, n);
}

long tp_alloc_count(void)
{
	return atomic_load(&alloc_count);
}

void *tp_malloc(size_t n)
{
	if (should_fail())
		return NULL;
	return malloc(n ? n : 1);
}

void *tp_calloc(size_t count, size_t size)
{
	if (should_fail())
		return NULL;
	if (!count || !size)
		count = size = 1;
	return calloc(count, size);
}

void *tp_realloc(void *p, size_t n)
{
	if (should_fail())
		return NULL;
	return realloc(p, n ? n : 1);
}

/*
 * Buffers of a megabyte or more that a tile fills once (its float pixels,
 * the harmonic engine's neighbour table) are mapped on their own, in whole
 * 2 MiB pages, and offered to the kernel's transparent huge pages: where it
 * takes them (THP "madvise" mode, Debian's default) first touching 2 MiB
 * costs one fault instead of 512, which on a one-tile image was a fifth of
 * the work. Elsewhere they are plain pages. Sanitizer builds keep malloc,
 * whose redzones catch overruns.
 */
#define TP_HUGE ((size_t)2 << 20)
#if defined(__SANITIZE_ADDRESS__)
#define TP_LARGE_MMAP 0
#else
#define TP_LARGE_MMAP 1
#endif

static int large_mapped(size_t n)
{
	return TP_LARGE_MMAP && n >= TP_HUGE / 2;
}

void *tp_malloc_large(size_t n)
{
	size_t len, span;
	uint8_t *p, *a;
	if (!large_mapped(n))
		return tp_malloc(n);
	if (should_fail())
		return NULL;
	len = (n + TP_HUGE - 1) / TP_HUGE * TP_HUGE;
	span = len + TP_HUGE;   /* room to align the start to a huge page */
	if (len < n || span < len)
		return NULL;
	p = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	a = (uint8_t *)(((uintptr_t)p + TP_HUGE - 1) & ~(uintptr_t)(TP_HUGE - 1));
	if (a > p)
		munmap(p, (size_t)(a - p));
	if (p + span > a + len)
		munmap(a + len, (size_t)(p + span - (a + len)));
#ifdef MADV_HUGEPAGE
	madvise(a, len, MADV_HUGEPAGE);   /* advice only: refused, plain pages serve */
#endif
	return a;
}

void tp_free_large(void *p, size_t n)
{
	if (!p)
		return;
	if (!large_mapped(n)) {
		tp_free(p);
		return;
	}
	munmap(p, (n + TP_HUGE - 1) / TP_HUGE * TP_HUGE);
}

char *tp_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = tp_malloc(n);
	if (d)
		memcpy(d, s, n);
	return d;
}

void tp_free(void *p)
{
	free(p);
}

int tp_mul_overflow(size_t a, size_t b, size_t *out)
{
	return __builtin_mul_overflow(a, b, out);
}
