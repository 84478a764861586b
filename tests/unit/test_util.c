/* test_util.c - status names, thread-local errors, the fault-injecting allocator, hashes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <string.h>

#include "src/util/tp.h"

static void test_util_status_names(void **state)
{
	(void)state;
	assert_string_equal(tp_status_name(TP_OK), "OK");
	assert_string_equal(tp_status_name(TP_EMODEL), "EMODEL");
	assert_string_equal(tp_status_name(TP_EINTERNAL), "EINTERNAL");
	assert_string_equal(tp_status_name((tp_status)999), "EUNKNOWN");
}

static void test_util_err_message_and_prefix(void **state)
{
	(void)state;
	tp_err_clear();
	assert_string_equal(tp_errmsg(), "");
	assert_int_equal(tp_err(TP_EIO, "%s: %d", "file.png", 42), TP_EIO);
	assert_string_equal(tp_errmsg(), "file.png: 42");
	tp_err_prefix("job %d", 7);
	assert_string_equal(tp_errmsg(), "job 7: file.png: 42");
	/* long messages are truncated, never overflow */
	{
		char big[3000];
		memset(big, 'x', sizeof big - 1);
		big[sizeof big - 1] = '\0';
		tp_err(TP_EIO, "%s", big);
		assert_int_equal(strlen(tp_errmsg()), 1023);
		tp_err_prefix("%s", big);
		assert_int_equal(strlen(tp_errmsg()), 1023);
	}
}

static void *other_thread(void *arg)
{
	(void)arg;
	tp_err(TP_EFORMAT, "from the other thread");
	return NULL;
}

static void test_util_err_is_per_thread(void **state)
{
	pthread_t t;
	(void)state;
	tp_err(TP_EIO, "mine");
	pthread_create(&t, NULL, other_thread, NULL);
	pthread_join(t, NULL);
	assert_string_equal(tp_errmsg(), "mine");
}

static void test_util_alloc_fail_at(void **state)
{
	void *a, *b, *c;
	(void)state;
	tp_alloc_fail_at(1);
	a = tp_malloc(10);
	b = tp_malloc(10);
	c = tp_malloc(10);
	assert_non_null(a);
	assert_null(b);
	assert_non_null(c);   /* only the n-th fails */
	tp_free(a);
	tp_free(c);
	tp_alloc_fail_at(0);
	assert_null(tp_strdup("x"));
	a = tp_calloc(0, 0);   /* zero-size requests still give a pointer */
	assert_non_null(a);
	tp_free(a);
	tp_free(NULL);
}

static void test_util_mul_overflow(void **state)
{
	size_t r;
	(void)state;
	assert_int_equal(tp_mul_overflow(3, 4, &r), 0);
	assert_int_equal(r, 12);
	assert_int_not_equal(tp_mul_overflow(SIZE_MAX / 2, 3, &r), 0);
}

static void test_util_hash_stable(void **state)
{
	(void)state;
	/* FNV-1a 64 of "a" is a published constant: outputs depend on it (seeds) */
	assert_true(tp_hash(TP_HASH_INIT, "a", 1) == 0xaf63dc4c8601ec8cULL);
	assert_true(tp_hash_str(TP_HASH_INIT, "ab") != tp_hash_str(tp_hash_str(TP_HASH_INIT, "a"), "b"));
	assert_true(tp_hash_u64(TP_HASH_INIT, 1) != tp_hash_u64(TP_HASH_INIT, 256));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_util_status_names),
		cmocka_unit_test(test_util_err_message_and_prefix),
		cmocka_unit_test(test_util_err_is_per_thread),
		cmocka_unit_test(test_util_alloc_fail_at),
		cmocka_unit_test(test_util_mul_overflow),
		cmocka_unit_test(test_util_hash_stable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
