/*
 * alloc.c - the allocator every module uses. A countdown lets tests fail the
 * n-th allocation (SQLite's faultsim idea) to prove that every error path
 * frees what it took and reports TP_ENOMEM.
 */
#include "tp.h"

#include <stdatomic.h>
#include <string.h>

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
