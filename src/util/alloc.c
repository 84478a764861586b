/*
 * alloc.c - the allocator every module uses. A countdown lets tests fail the
 * n-th allocation (SQLite's faultsim idea) to prove that every error path
 * frees what it took and reports TP_ENOMEM. It also keeps the bytes live and
 * their high-water mark, which is how tests check the engines' declared
 * scratch sizes (engine_ops.worker_bytes) that --mem-limit plans with.
 */
#include "tp.h"

#include <malloc.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>

static atomic_long alloc_count;
static atomic_long fail_at = -1;
/* signed: a buffer a library allocated and tp_free released must not wrap */
static atomic_llong live_bytes, peak_bytes;

static void *counted(void *p, size_t extra)
{
	if (p) {
		long long n = (long long)(extra ? extra : malloc_usable_size(p));
		long long now = atomic_fetch_add_explicit(&live_bytes, n, memory_order_relaxed) + n;
		long long peak = atomic_load_explicit(&peak_bytes, memory_order_relaxed);
		while (now > peak && !atomic_compare_exchange_weak_explicit(&peak_bytes, &peak, now,
				memory_order_relaxed, memory_order_relaxed))
			;
	}
	return p;
}

static void uncounted(size_t n)
{
	atomic_fetch_sub_explicit(&live_bytes, (long long)n, memory_order_relaxed);
}

static size_t nonneg(long long v)
{
	return v > 0 ? (size_t)v : 0;
}

size_t tp_alloc_live(void)
{
	return nonneg(atomic_load(&live_bytes));
}

size_t tp_alloc_peak_reset(void)
{
	long long was = atomic_load(&peak_bytes);
	atomic_store(&peak_bytes, atomic_load(&live_bytes));
	return nonneg(was);
}

size_t tp_alloc_peak(void)
{
	return nonneg(atomic_load(&peak_bytes));
}

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
	return counted(malloc(n ? n : 1), 0);
}

void *tp_calloc(size_t count, size_t size)
{
	if (should_fail())
		return NULL;
	if (!count || !size)
		count = size = 1;
	return counted(calloc(count, size), 0);
}

void *tp_realloc(void *p, size_t n)
{
	size_t was = p ? malloc_usable_size(p) : 0;
	void *q;
	if (should_fail())
		return NULL;
	q = realloc(p, n ? n : 1);
	if (q) {
		uncounted(was);
		counted(q, 0);
	}
	return q;
}

void *tp_grow_array(void *v, size_t *cap, size_t n, size_t elem, size_t first)
{
	size_t want, bytes;
	void *q;
	if (n < *cap)
		return v;
	want = *cap ? *cap * 2 : first;
	if (want <= n)
		want = n + 1;
	if (tp_mul_overflow(want, elem, &bytes) || !(q = tp_realloc(v, bytes)))
		return NULL;
	*cap = want;
	return q;
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
	return counted(a, len);
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
	uncounted((n + TP_HUGE - 1) / TP_HUGE * TP_HUGE);
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
	if (p)
		uncounted(malloc_usable_size(p));
	free(p);
}

int tp_mul_overflow(size_t a, size_t b, size_t *out)
{
	return __builtin_mul_overflow(a, b, out);
}
