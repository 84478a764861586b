/* test_util.c - status names, thread-local errors, the fault-injecting allocator, large
 * buffers, byte-mask scans, hashes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <string.h>

#include "src/util/tp.h"
#include "src/util/pool.h"

#include <stdatomic.h>

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

/* a message may quote the previous one (tp_err reads it while writing) */
static void test_util_err_wraps_itself(void **state)
{
	(void)state;
	(void)tp_err(TP_ENOENT, "x.png: no such file");
	assert_int_equal(tp_err(TP_EMODEL, "cannot open model %s (%d)", tp_errmsg(), 7), TP_EMODEL);
	assert_string_equal(tp_errmsg(), "cannot open model x.png: no such file (7)");
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

static void test_util_alloc_large(void **state)
{
	/* sizes either side of the mapped path; every byte usable, counted
	 * like any allocation, freed with the same size */
	size_t sizes[] = { 1, 4096, (1u << 20) - 1, 1u << 20, (3u << 20) + 5 };
	(void)state;
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		uint8_t *p = tp_malloc_large(sizes[i]);
		assert_non_null(p);
		memset(p, 0xab, sizes[i]);
		assert_int_equal(p[sizes[i] - 1], 0xab);
		tp_free_large(p, sizes[i]);
	}
	tp_alloc_fail_at(0);
	assert_null(tp_malloc_large(4u << 20));
	tp_alloc_fail_at(0);
	assert_null(tp_malloc_large(100));
	tp_free_large(NULL, 4u << 20);
}

/* The scans against plain loops, over every start and length up to 40 in
 * a buffer of mixed 0, 1 and other byte values (the word paths and the tails). */
static void test_util_byte_scans(void **state)
{
	uint8_t buf[48], out[48], big[5000];
	(void)state;
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (i * 7) % 5 == 0 ? (uint8_t)(i % 3 == 0 ? 255 : 1) : 0;
	for (size_t a = 0; a < 8; a++)
		for (size_t n = 0; a + n <= 40; n++) {
			size_t want = 0;
			for (size_t k = a; k < a + n; k++)
				want += buf[k] != 0;
			assert_int_equal(tp_count_nonzero(buf + a, n), want);
			for (size_t i = 0; i <= n; i++) {
				size_t next = i;
				while (next < n && !buf[a + next])
					next++;
				assert_int_equal(tp_next_set(buf + a, i, n), next);
			}
			memset(out, 0x55, sizeof out);
			tp_to01(buf + a, out, n);
			for (size_t k = 0; k < n; k++)
				assert_int_equal(out[k], buf[a + k] != 0);
			assert_int_equal(out[n], 0x55);   /* nothing written past n */
		}
	/* thresholds, every byte value on either side, at every start */
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (uint8_t)(i * 37 + i / 256);
	for (uint32_t t = 0; t < 256; t += 51)
		for (uint8_t flip = 0; flip < 2; flip++)
			for (size_t a = 0; a < 17; a++) {
				uint8_t got[600];
				memset(got, 0x55, sizeof got);
				tp_threshold(big + a, got, 530, (uint8_t)t, flip);
				for (size_t k = 0; k < 530; k++)
					assert_int_equal(got[k], (big[a + k] > t) ^ flip);
				assert_int_equal(got[530], 0x55);
			}
	/* long runs: the byte-lane counters fold before they overflow */
	memset(big, 1, sizeof big);
	assert_int_equal(tp_count_nonzero(big, sizeof big), sizeof big);
	memset(big, 0, sizeof big);
	big[4999] = 9;
	assert_int_equal(tp_count_nonzero(big, sizeof big), 1);
	assert_int_equal(tp_next_set(big, 0, sizeof big), 4999);
	assert_int_equal(tp_next_set(big, 0, 4999), 4999);
}

static void test_util_grow_array(void **state)
{
	int *v = NULL, *w;
	size_t cap = 0;
	(void)state;
	for (size_t n = 0; n < 1000; n++) {
		w = tp_grow_array(v, &cap, n, sizeof *v, 8);
		assert_non_null(w);
		assert_true(cap > n && (cap == 8 || cap % 8 == 0));
		v = w;
		v[n] = (int)n;
	}
	assert_int_equal(cap, 1024);   /* doubled from 8, not grown by one */
	assert_ptr_equal(tp_grow_array(v, &cap, 1000, sizeof *v, 8), v);   /* room left */
	cap = 1000;   /* as if full: the next must allocate, and fails */
	tp_alloc_fail_at(0);   /* the next allocation fails (once) */
	assert_null(tp_grow_array(v, &cap, 1000, sizeof *v, 8));
	assert_int_equal(cap, 1000);
	for (size_t n = 0; n < 1000; n++)
		assert_int_equal(v[n], (int)n);   /* untouched by the failure */
	assert_null(tp_grow_array(v, &cap, 1000, SIZE_MAX / 4, 8));   /* overflow */
	tp_free(v);
}

static void test_util_parse_scaled(void **state)
{
	uint64_t v = 7;
	(void)state;
	assert_int_equal(tp_parse_size("512M", &v), 0);
	assert_true(v == (uint64_t)512 << 20);
	assert_int_equal(tp_parse_size("2GiB", &v), 0);
	assert_true(v == (uint64_t)2 << 30);
	assert_int_equal(tp_parse_size("3kB", &v), 0);
	assert_true(v == 3072);
	assert_int_equal(tp_parse_size("100B", &v), 0);
	assert_true(v == 100);
	assert_int_equal(tp_parse_size("1t", &v), 0);
	assert_true(v == (uint64_t)1 << 40);
	assert_int_equal(tp_parse_scaled("250M", 1000, 0, &v), 0);
	assert_true(v == 250000000);
	assert_int_equal(tp_parse_scaled("4g", 1000, 0, &v), 0);
	assert_true(v == 4000000000ull);
	v = 7;
	static const char *bad[] = { "", "0", "-5", " 5", "1.5", "12x", "5MB?", "M", "0K",
				     "99999999999999999999", "20000000T" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(tp_parse_size(bad[i], &v), -1);
		assert_int_equal(tp_parse_scaled(bad[i], 1000, 0, &v), -1);
	}
	assert_int_equal(tp_parse_scaled("5MB", 1000, 0, &v), -1);   /* no unit for counts */
	assert_int_equal(tp_parse_size(NULL, &v), -1);
	assert_true(v == 7);   /* untouched on failure */
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

/* ---- the thread pool ---- */

struct fj { atomic_uint hits[1000]; atomic_uint bad_worker; uint32_t size; };

static void fj_task(void *ctx, uint32_t task, uint32_t worker)
{
	struct fj *f = ctx;
	atomic_fetch_add(&f->hits[task], 1);
	if (worker >= f->size)
		atomic_fetch_add(&f->bad_worker, 1);
}

/* fork-join: every task exactly once, worker numbers below tp_pool_size,
 * for 0, 1 and 3 threads, and for fewer tasks than threads */
static void test_util_pool_run(void **state)
{
	(void)state;
	for (uint32_t th = 0; th <= 3; th += (th ? 2 : 1)) {
		struct tp_pool_spec spec = { .threads = th };
		struct tp_pool *p;
		assert_int_equal(tp_pool_new(&spec, &p), TP_OK);
		assert_int_equal(tp_pool_size(p), th + 1);
		for (uint32_t n = 0; n <= 1000; n += n < 4 ? 1 : 499) {
			struct fj *f = calloc(1, sizeof *f);
			f->size = tp_pool_size(p);
			for (int rep = 0; rep < 3; rep++)
				tp_pool_run(p, n, fj_task, f);
			for (uint32_t t = 0; t < 1000; t++)
				assert_int_equal(atomic_load(&f->hits[t]), t < n ? 3 : 0);
			assert_int_equal(atomic_load(&f->bad_worker), 0);
			free(f);
		}
		tp_pool_free(p);
	}
	assert_int_equal(tp_pool_size(NULL), 1);
}

struct qitem { struct tp_pool_item item; int value, out; uint32_t worker; };
struct qctx { atomic_uint started, stopped; int fail_worker; };

static void q_run(struct tp_pool_item *self, uint32_t worker)
{
	struct qitem *q = (struct qitem *)self;
	q->out = q->value * 2;
	q->worker = worker;
}

static tp_status q_start(void *ctx, uint32_t worker)
{
	struct qctx *c = ctx;
	atomic_fetch_add(&c->started, 1);
	if ((int)worker == c->fail_worker)
		return tp_err(TP_ENOMEM, "no scratch for worker %u", worker);
	return TP_OK;
}

static void q_stop(void *ctx, uint32_t worker)
{
	struct qctx *c = ctx;
	(void)worker;
	atomic_fetch_add(&c->stopped, 1);
}

/* queue: every item comes back once, run by a thread (1..threads) or, with
 * no threads, at once on the caller; start hooks run per worker, stop hooks
 * for those that started; a failing start fails tp_pool_new with its error */
static void test_util_pool_queue(void **state)
{
	(void)state;
	for (uint32_t th = 0; th <= 2; th++) {
		struct qctx c = { .fail_worker = -1 };
		struct tp_pool_spec spec = { .threads = th, .start = q_start, .stop = q_stop, .ctx = &c };
		struct qitem items[50];
		int seen[50] = { 0 };
		struct tp_pool *p;
		assert_int_equal(tp_pool_new(&spec, &p), TP_OK);
		assert_int_equal(atomic_load(&c.started), th ? th : 1);
		for (int i = 0; i < 50; i++) {
			items[i] = (struct qitem){ .item = { q_run }, .value = i, .out = -1 };
			tp_pool_submit(p, &items[i].item);
		}
		for (int i = 0; i < 50; i++) {
			struct qitem *q = (struct qitem *)tp_pool_wait(p);
			assert_int_equal(q->out, q->value * 2);
			assert_true(th ? (q->worker >= 1 && q->worker <= th) : q->worker == 0);
			seen[q->value]++;
		}
		for (int i = 0; i < 50; i++)
			assert_int_equal(seen[i], 1);
		tp_pool_free(p);
		assert_int_equal(atomic_load(&c.stopped), th ? th : 1);
	}
	for (int fail = 0; fail <= 2; fail++) {
		struct qctx c = { .fail_worker = fail };
		struct tp_pool_spec spec = { .threads = fail ? 2 : 0, .start = q_start, .stop = q_stop,
					     .ctx = &c };
		struct tp_pool *p = (struct tp_pool *)&c;
		char want[64];
		assert_int_equal(tp_pool_new(&spec, &p), TP_ENOMEM);
		assert_null(p);
		snprintf(want, sizeof want, "no scratch for worker %d", fail);
		assert_string_equal(tp_errmsg(), want);
		/* the workers that started are stopped; the failed one is not */
		assert_int_equal(atomic_load(&c.stopped), atomic_load(&c.started) - 1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_util_status_names),
		cmocka_unit_test(test_util_err_message_and_prefix),
		cmocka_unit_test(test_util_err_wraps_itself),
		cmocka_unit_test(test_util_err_is_per_thread),
		cmocka_unit_test(test_util_alloc_fail_at),
		cmocka_unit_test(test_util_alloc_large),
		cmocka_unit_test(test_util_byte_scans),
		cmocka_unit_test(test_util_grow_array),
		cmocka_unit_test(test_util_parse_scaled),
		cmocka_unit_test(test_util_mul_overflow),
		cmocka_unit_test(test_util_hash_stable),
		cmocka_unit_test(test_util_pool_run),
		cmocka_unit_test(test_util_pool_queue),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
