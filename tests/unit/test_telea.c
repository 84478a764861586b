/*
 * test_telea.c - the fast-marching engine: exact fills of constants, linear
 * ramps within 1/255, untouched known pixels, borders, degenerate tiles,
 * determinism across runs and threads, tiling invariance, option checks and
 * out-of-memory paths.
 */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "src/engines/engine.h"
#include "fixture.h"

/* Test images are the fixture's (struct fx_img); masked pixels hold NaN
 * (fx_img_poison) so an engine that reads them poisons its result. */

/* Run telea with `radius` on the sub-rectangle (x, y, w, h) of im, in place. */
static tp_status run_sub(struct fx_img *im, uint32_t radius, uint32_t x0, uint32_t y0,
			 uint32_t w, uint32_t h, void *worker_in)
{
	struct engine_options opt = { .radius = radius, .threads = 1 };
	void *state = NULL, *worker = worker_in;
	float *pix = malloc((size_t)w * h * im->c * sizeof *pix);
	uint8_t *mask = malloc((size_t)w * h);
	tp_status s;
	assert_non_null(pix);
	assert_non_null(mask);
	for (uint32_t y = 0; y < h; y++) {
		memcpy(pix + (size_t)y * w * im->c, im->pix + ((size_t)(y0 + y) * im->w + x0) * im->c,
		       (size_t)w * im->c * sizeof *pix);
		memcpy(mask + (size_t)y * w, im->mask + (size_t)(y0 + y) * im->w + x0, w);
	}
	s = engine_telea.open(&opt, &state);
	if (s == TP_OK && !worker)
		s = engine_telea.worker_new(state, &worker);
	if (s == TP_OK) {
		struct engine_tile tile = {
			.w = w, .h = h, .channels = im->c, .bits = 8, .pix = pix, .mask = mask,
			.x = (int32_t)x0, .y = (int32_t)y0, .seed = 1,
		};
		s = engine_telea.inpaint(state, worker, &tile);
	}
	if (s == TP_OK)
		for (uint32_t y = 0; y < h; y++)
			memcpy(im->pix + ((size_t)(y0 + y) * im->w + x0) * im->c,
			       pix + (size_t)y * w * im->c, (size_t)w * im->c * sizeof *pix);
	if (!worker_in)
		engine_telea.worker_free(worker);
	engine_telea.close(state);
	free(pix);
	free(mask);
	return s;
}

static tp_status run(struct fx_img *im, uint32_t radius)
{
	return run_sub(im, radius, 0, 0, im->w, im->h, NULL);
}

/* Masked pixels finite and in [0, 1]; unmasked ones bit-identical to `orig`. */
static void check_written(const struct fx_img *im, const float *orig)
{
	for (size_t i = 0; i < (size_t)im->w * im->h; i++)
		for (uint32_t c = 0; c < im->c; c++) {
			float v = im->pix[i * im->c + c];
			if (im->mask[i]) {
				assert_true(isfinite(v));
				assert_true(v >= 0.0f && v <= 1.0f);
			} else {
				assert_memory_equal(&v, &orig[i * im->c + c], sizeof v);
			}
		}
}

/* ------------------------------------------------------------------ tests */

static void test_telea_constant_exact(void **st)
{
	static const float values[] = { 0.3f, 0.7f, 1.0f / 3.0f, 0.0f, 1.0f };
	(void)st;
	for (uint32_t c = 1; c <= 3; c += 2)
		for (size_t k = 0; k < sizeof values / sizeof values[0]; k++) {
			struct fx_img im = fx_img_new(64, 48, c);
			for (size_t i = 0; i < (size_t)64 * 48 * c; i++)
				im.pix[i] = values[k];
			fx_img_disk(&im, 30, 24, 9);
			fx_img_rect(&im, 5, 3, 7, 40);   /* a thin scratch */
			fx_img_rect(&im, 50, 10, 51, 11); /* a dust speck */
			fx_img_poison(&im, NAN);
			assert_int_equal(run(&im, 0), TP_OK);
			for (size_t i = 0; i < (size_t)64 * 48 * c; i++)
				assert_true(im.pix[i] == values[k]);
			fx_img_free(&im);
		}
}

static void test_telea_ramp_scratch(void **st)
{
	(void)st;
	for (uint32_t c = 1; c <= 3; c += 2) {
		struct fx_img im = fx_img_new(80, 40, c);
		float *orig;
		for (uint32_t y = 0; y < 40; y++)
			for (uint32_t x = 0; x < 80; x++)
				for (uint32_t k = 0; k < c; k++)
					im.pix[((size_t)y * 80 + x) * c + k] =
						k == 1 ? 1.0f - (float)x / 79.0f : (float)x / 79.0f * (0.5f + 0.25f * (float)k);
		orig = fx_img_copy_pix(&im);
		fx_img_rect(&im, 37, 0, 40, 40);  /* a 3-pixel vertical scratch, top to bottom */
		fx_img_poison(&im, NAN);
		assert_int_equal(run(&im, 5), TP_OK);
		for (size_t i = 0; i < (size_t)80 * 40 * c; i++)
			assert_true(fabsf(im.pix[i] - orig[i]) <= 1.0f / 255.0f);
		free(orig);
		fx_img_free(&im);
	}
}

static void test_telea_written_untouched(void **st)
{
	(void)st;
	for (uint32_t c = 1; c <= 3; c += 2) {
		struct fx_img im = fx_img_new(97, 61, c);
		uint32_t s = 12345;
		float *orig;
		fx_img_texture(&im, 7);
		for (size_t i = 0; i < (size_t)97 * 61; i++) {
			s = s * 1103515245u + 12345u;
			im.mask[i] = ((s >> 16) % 100) < 30; /* 30% scattered */
		}
		fx_img_rect(&im, 10, 10, 40, 30);
		orig = fx_img_copy_pix(&im);
		fx_img_poison(&im, NAN);
		assert_int_equal(run(&im, 3), TP_OK);
		check_written(&im, orig);
		free(orig);
		fx_img_free(&im);
	}
}

static void test_telea_border_holes(void **st)
{
	/* Holes at each edge and corner, on a constant (exact) and a textured image. */
	static const int rects[][4] = {
		{ 0, 10, 6, 20 },   /* left */
		{ 34, 5, 40, 25 },  /* right */
		{ 10, 0, 30, 4 },   /* top */
		{ 12, 27, 20, 30 }, /* bottom */
		{ 0, 0, 5, 5 },     /* top-left corner */
		{ 36, 26, 40, 30 }, /* bottom-right corner */
		{ 0, 0, 40, 2 },    /* a whole row */
	};
	(void)st;
	for (size_t r = 0; r < sizeof rects / sizeof rects[0]; r++) {
		struct fx_img im = fx_img_new(40, 30, 3), tex = fx_img_new(40, 30, 3);
		float *orig;
		for (size_t i = 0; i < (size_t)40 * 30 * 3; i++)
			im.pix[i] = 0.625f;
		fx_img_texture(&tex, 3);
		fx_img_rect(&im, rects[r][0], rects[r][1], rects[r][2], rects[r][3]);
		memcpy(tex.mask, im.mask, (size_t)40 * 30);
		orig = fx_img_copy_pix(&tex);
		fx_img_poison(&im, NAN);
		fx_img_poison(&tex, NAN);
		assert_int_equal(run(&im, 0), TP_OK);
		for (size_t i = 0; i < (size_t)40 * 30 * 3; i++)
			assert_true(im.pix[i] == 0.625f);
		assert_int_equal(run(&tex, 0), TP_OK);
		check_written(&tex, orig);
		free(orig);
		fx_img_free(&im);
		fx_img_free(&tex);
	}
}

/* A large hole in a noisy texture: the gradient term, extrapolated from pixels
 * filled earlier, must not drift outside the range of the known values (it
 * used to grow into saturated streaks across big holes). */
static void test_telea_large_hole_bounded(void **st)
{
	(void)st;
	for (uint32_t c = 1; c <= 3; c += 2) {
		struct fx_img im = fx_img_new(160, 140, c);
		float *known;
		fx_img_texture(&im, 11);
		fx_img_rect(&im, 20, 15, 140, 125);
		known = fx_img_copy_pix(&im);
		fx_img_poison(&im, NAN);
		assert_int_equal(run(&im, 5), TP_OK);
		fx_assert_in_known_range(known, im.pix, im.mask, (size_t)160 * 140, c, 0.0f);
		free(known);
		fx_img_free(&im);
	}
}

static void test_telea_all_masked(void **st)
{
	(void)st;
	for (uint32_t c = 1; c <= 3; c += 2) {
		struct fx_img im = fx_img_new(17, 9, c);
		fx_img_rect(&im, 0, 0, 17, 9);
		fx_img_poison(&im, NAN);
		assert_int_equal(run(&im, 0), TP_OK);
		for (size_t i = 0; i < (size_t)17 * 9 * c; i++)
			assert_true(im.pix[i] == 0.5f);
		fx_img_free(&im);
	}
}

/* All masked with a guide (a tile inside a hole bigger than a tile): the
 * guide, not grey; a partly known tile ignores the guide. */
static void test_telea_all_masked_guide(void **st)
{
	struct engine_options opt = { .threads = 1 };
	void *state = NULL, *worker = NULL;
	float pix[12 * 8 * 3], guide[12 * 8 * 3], plain[12 * 8 * 3];
	uint8_t mask[12 * 8];
	struct engine_tile tile = { .w = 12, .h = 8, .channels = 3, .bits = 8, .pix = pix,
				    .mask = mask, .guide = guide, .guide_scale = 2 };
	(void)st;
	for (size_t i = 0; i < sizeof guide / sizeof guide[0]; i++) {
		guide[i] = (float)(i % 29) / 29.0f;
		pix[i] = 7.0f;
	}
	memset(mask, 1, sizeof mask);
	assert_int_equal(engine_telea.open(&opt, &state), TP_OK);
	assert_int_equal(engine_telea.worker_new(state, &worker), TP_OK);
	assert_int_equal(engine_telea.inpaint(state, worker, &tile), TP_OK);
	assert_memory_equal(pix, guide, sizeof pix);
	/* One known pixel: the march from it, the same bytes as without a guide. */
	for (size_t i = 0; i < sizeof pix / sizeof pix[0]; i++)
		pix[i] = 0.25f;
	mask[5] = 0;
	assert_int_equal(engine_telea.inpaint(state, worker, &tile), TP_OK);
	memcpy(plain, pix, sizeof pix);
	for (size_t i = 0; i < sizeof pix / sizeof pix[0]; i++)
		pix[i] = 0.25f;
	tile.guide = NULL;
	assert_int_equal(engine_telea.inpaint(state, worker, &tile), TP_OK);
	assert_memory_equal(pix, plain, sizeof pix);
	engine_telea.worker_free(worker);
	engine_telea.close(state);
}

static void test_telea_one_pixel(void **st)
{
	struct fx_img im = fx_img_new(1, 1, 3);
	(void)st;
	im.pix[0] = 0.1f;
	im.pix[1] = 0.2f;
	im.pix[2] = 0.3f;
	assert_int_equal(run(&im, 0), TP_OK); /* nothing masked: untouched */
	assert_true(im.pix[0] == 0.1f && im.pix[1] == 0.2f && im.pix[2] == 0.3f);
	im.mask[0] = 1;
	assert_int_equal(run(&im, 64), TP_OK);
	assert_true(im.pix[0] == 0.5f && im.pix[1] == 0.5f && im.pix[2] == 0.5f);
	fx_img_free(&im);

	/* A 1-pixel-wide column with a hole in it. */
	im = fx_img_new(1, 20, 1);
	for (int i = 0; i < 20; i++)
		im.pix[i] = (float)i / 19.0f;
	fx_img_rect(&im, 0, 8, 1, 12);
	fx_img_poison(&im, NAN);
	assert_int_equal(run(&im, 5), TP_OK);
	for (int i = 8; i < 12; i++)
		assert_true(fabsf(im.pix[i] - (float)i / 19.0f) <= 1.0f / 255.0f);
	fx_img_free(&im);
}

/* A hole across a sharp step edge: the fill stays within 5/255 of the data's
 * range (central differences would extrapolate the jump into streaks). */
static void test_telea_edge_no_overshoot(void **st)
{
	(void)st;
	for (int vertical = 0; vertical < 2; vertical++) {
		struct fx_img im = fx_img_new(60, 50, 1);
		float lo = 1.0f, hi = 0.0f;
		for (uint32_t y = 0; y < 50; y++)
			for (uint32_t x = 0; x < 60; x++)
				im.pix[y * 60 + x] = (vertical ? x < 31 : y < 23) ? 0.25f : 0.75f;
		fx_img_disk(&im, 30, 24, 8);
		fx_img_rect(&im, 10, 20, 50, 23);
		fx_img_poison(&im, NAN);
		assert_int_equal(run(&im, 5), TP_OK);
		for (size_t i = 0; i < (size_t)60 * 50; i++) {
			lo = im.pix[i] < lo ? im.pix[i] : lo;
			hi = im.pix[i] > hi ? im.pix[i] : hi;
		}
		/* Filled pixels next to earlier fills see a soft ramp across
		 * the edge, so a little overshoot remains (about 3.6/255 here;
		 * plain central differences fail this bound). */
		assert_true(lo >= 0.25f - 5.0f / 255.0f);
		assert_true(hi <= 0.75f + 5.0f / 255.0f);
		fx_img_free(&im);
	}
}

/* ------------------------------------------------------------ determinism */

struct thread_job {
	const struct fx_img *src;
	float *out;
	void *state;
	tp_status status;
};

static void *thread_main(void *arg)
{
	struct thread_job *j = arg;
	void *worker = NULL;
	size_t n = (size_t)j->src->w * j->src->h * j->src->c;
	j->status = engine_telea.worker_new(j->state, &worker);
	/* Several rounds, so both threads are inside inpaint() at the same time. */
	for (int round = 0; round < 4 && j->status == TP_OK; round++) {
		struct engine_tile tile = {
			.w = j->src->w, .h = j->src->h, .channels = j->src->c, .bits = 16,
			.pix = j->out, .mask = j->src->mask, .x = 512, .y = 1024, .seed = 9,
		};
		memcpy(j->out, j->src->pix, n * sizeof *j->out);
		j->status = engine_telea.inpaint(j->state, worker, &tile);
	}
	engine_telea.worker_free(worker);
	return NULL;
}

static void test_telea_deterministic(void **st)
{
	struct fx_img a = fx_img_new(120, 90, 3), b;
	struct engine_options opt = { .radius = 6, .threads = 1 };
	struct thread_job jobs[2];
	pthread_t th[2];
	void *state = NULL;
	size_t n = (size_t)120 * 90 * 3;
	(void)st;

	fx_img_texture(&a, 11);
	fx_img_disk(&a, 40, 40, 15);
	fx_img_rect(&a, 70, 0, 74, 90);
	fx_img_rect(&a, 90, 60, 110, 70);
	fx_img_poison(&a, NAN);
	b = fx_img_clone(&a);
	assert_int_equal(run(&a, 6), TP_OK);
	assert_int_equal(run(&b, 6), TP_OK);
	assert_memory_equal(a.pix, b.pix, n * sizeof *a.pix);

	/* Two workers on two threads, sharing one state. */
	fx_img_texture(&b, 11);
	fx_img_poison(&b, NAN);
	assert_int_equal(engine_telea.open(&opt, &state), TP_OK);
	for (int i = 0; i < 2; i++) {
		jobs[i].src = &b;
		jobs[i].out = malloc(n * sizeof *jobs[i].out);
		assert_non_null(jobs[i].out);
		jobs[i].state = state;
		jobs[i].status = TP_EINTERNAL;
		assert_int_equal(pthread_create(&th[i], NULL, thread_main, &jobs[i]), 0);
	}
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(jobs[i].status, TP_OK);
		assert_memory_equal(jobs[i].out, a.pix, n * sizeof *a.pix);
		free(jobs[i].out);
	}
	engine_telea.close(state);
	fx_img_free(&a);
	fx_img_free(&b);
}

/* A worker that grew for a big tile gives a small tile the same bytes as a fresh one. */
static void test_telea_worker_reuse(void **st)
{
	struct engine_options opt = { .radius = 0, .threads = 1 };
	struct fx_img big = fx_img_new(700, 600, 1), a = fx_img_new(50, 40, 3), b;
	void *state = NULL, *worker = NULL;
	(void)st;
	fx_img_texture(&big, 5);
	fx_img_disk(&big, 600, 500, 20);
	fx_img_texture(&a, 6);
	fx_img_disk(&a, 25, 20, 8);
	fx_img_poison(&a, NAN);
	b = fx_img_clone(&a);
	assert_int_equal(engine_telea.open(&opt, &state), TP_OK);
	assert_int_equal(engine_telea.worker_new(state, &worker), TP_OK);
	assert_int_equal(run_sub(&big, 0, 0, 0, 700, 600, worker), TP_OK);
	assert_int_equal(run_sub(&a, 0, 0, 0, 50, 40, worker), TP_OK);
	assert_int_equal(run(&b, 0), TP_OK);
	assert_memory_equal(a.pix, b.pix, (size_t)50 * 40 * 3 * sizeof *a.pix);
	engine_telea.worker_free(worker);
	engine_telea.close(state);
	fx_img_free(&big);
	fx_img_free(&a);
	fx_img_free(&b);
}

/* ------------------------------------------------------------ tiling */

static void tiling_case(uint32_t radius, uint32_t c)
{
	/* Hole 1: an irregular blob (a disk, a rectangle with many equal T, a
	 * scratch) around (45, 40); hole 2 far away. The sub-tile keeps
	 * radius + 2 pixels of margin around hole 1. */
	struct fx_img full = fx_img_new(220, 140, c), sub;
	uint32_t m = radius + 2;
	int x0 = 30, y0 = 28, x1 = 64, y1 = 56; /* bounding box of hole 1 */
	fx_img_texture(&full, 21 + radius);
	fx_img_disk(&full, 42, 40, 9);
	fx_img_rect(&full, 45, 30, 64, 44);
	fx_img_rect(&full, 30, 50, 60, 52);
	fx_img_rect(&full, 40, 52, 41, 56);
	fx_img_rect(&full, 150, 90, 200, 120);   /* hole 2 */
	fx_img_disk(&full, 180, 60, 12);
	fx_img_poison(&full, NAN);
	sub = fx_img_clone(&full);
	assert_int_equal(run(&full, radius), TP_OK);
	assert_int_equal(run_sub(&sub, radius, (uint32_t)x0 - m, (uint32_t)y0 - m,
				 (uint32_t)(x1 - x0) + 2 * m, (uint32_t)(y1 - y0) + 2 * m, NULL), TP_OK);
	for (int y = y0; y < y1; y++)
		for (int x = x0; x < x1; x++) {
			size_t i = ((size_t)y * 220 + (size_t)x) * c;
			assert_memory_equal(&full.pix[i], &sub.pix[i], c * sizeof(float));
		}
	fx_img_free(&full);
	fx_img_free(&sub);
}

static void test_telea_tiling_invariant(void **st)
{
	(void)st;
	tiling_case(5, 3);
	tiling_case(1, 1);
	tiling_case(9, 3);
}

/* ------------------------------------------------------------ options, errors */

static void test_telea_radius_range(void **st)
{
	struct engine_options opt = { .radius = 65, .threads = 1 };
	void *state = (void *)&opt;
	(void)st;
	assert_int_equal(engine_telea.open(&opt, &state), TP_EUSAGE);
	assert_null(state);
	assert_non_null(strstr(tp_errmsg(), "radius 65"));
	assert_non_null(strstr(tp_errmsg(), "1 to 64"));
	opt.radius = 1000000;
	assert_int_equal(engine_telea.open(&opt, &state), TP_EUSAGE);
	for (uint32_t r = 0; r <= 64; r += 64) {
		opt.radius = r;
		assert_int_equal(engine_telea.open(&opt, &state), TP_OK);
		engine_telea.close(state);
	}
	opt.radius = 1;
	assert_int_equal(engine_telea.open(&opt, &state), TP_OK);
	engine_telea.close(state);
	engine_telea.close(NULL);
	engine_telea.worker_free(NULL);

	assert_string_equal(engine_telea.name, "telea");
	assert_int_equal(engine_telea.multiple, 1);
	assert_int_equal(engine_telea.context, 7);
	assert_int_equal(engine_telea.default_tile, 512);
	assert_int_equal(engine_telea.needs_model, 0);
	assert_true(engine_find("telea") == &engine_telea);
}

static void test_telea_bad_tile(void **st)
{
	struct engine_options opt = { .radius = 0, .threads = 1 };
	void *state = NULL, *worker = NULL;
	float pix[8] = { 0 };
	uint8_t mask[4] = { 1, 0, 0, 0 };
	struct engine_tile tile = { .w = 2, .h = 2, .channels = 2, .bits = 8, .pix = pix, .mask = mask };
	(void)st;
	assert_int_equal(engine_telea.open(&opt, &state), TP_OK);
	assert_int_equal(engine_telea.worker_new(state, &worker), TP_OK);
	assert_int_equal(engine_telea.inpaint(state, worker, &tile), TP_EUSAGE);
	assert_non_null(strstr(tp_errmsg(), "2 channels"));
	tile.channels = 1;
	tile.w = 0;
	assert_int_equal(engine_telea.inpaint(state, worker, &tile), TP_OK);
	tile.w = 70000;
	tile.h = 70000;
	assert_int_equal(engine_telea.inpaint(state, worker, &tile), TP_EUSAGE);
	assert_non_null(strstr(tp_errmsg(), "too large"));
	engine_telea.worker_free(worker);
	engine_telea.close(state);
}

/* Fail each allocation in turn: ENOMEM with a message, no leak (ASan), then success. */
static void test_telea_oom(void **st)
{
	struct engine_options opt = { .radius = 4, .threads = 1 };
	struct fx_img im = fx_img_new(600, 520, 1); /* larger than the pre-sized scratch */
	int ok = 0;
	(void)st;
	fx_img_texture(&im, 2);
	fx_img_disk(&im, 300, 260, 5);
	for (long n = 0; n < 32 && !ok; n++) {
		void *state = NULL, *worker = NULL;
		tp_status s;
		tp_alloc_fail_at(n);
		s = engine_telea.open(&opt, &state);
		if (s == TP_OK)
			s = engine_telea.worker_new(state, &worker);
		if (s == TP_OK) {
			struct engine_tile tile = { .w = 600, .h = 520, .channels = 1, .bits = 8,
						    .pix = im.pix, .mask = im.mask };
			s = engine_telea.inpaint(state, worker, &tile);
		}
		tp_alloc_fail_at(-1);
		if (s == TP_OK) {
			ok = 1;
			assert_true(n > 5);
		} else {
			assert_int_equal(s, TP_ENOMEM);
			assert_non_null(strstr(tp_errmsg(), "telea: out of memory"));
		}
		engine_telea.worker_free(worker);
		engine_telea.close(state);
	}
	assert_true(ok);
	fx_img_free(&im);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_telea_constant_exact),
		cmocka_unit_test(test_telea_ramp_scratch),
		cmocka_unit_test(test_telea_written_untouched),
		cmocka_unit_test(test_telea_border_holes),
		cmocka_unit_test(test_telea_large_hole_bounded),
		cmocka_unit_test(test_telea_all_masked_guide),
		cmocka_unit_test(test_telea_all_masked),
		cmocka_unit_test(test_telea_one_pixel),
		cmocka_unit_test(test_telea_edge_no_overshoot),
		cmocka_unit_test(test_telea_deterministic),
		cmocka_unit_test(test_telea_worker_reuse),
		cmocka_unit_test(test_telea_tiling_invariant),
		cmocka_unit_test(test_telea_radius_range),
		cmocka_unit_test(test_telea_bad_tile),
		cmocka_unit_test(test_telea_oom),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
