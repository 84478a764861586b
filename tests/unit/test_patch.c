/*
 * test_patch.c - the patch engine on synthetic tiles: a periodic texture with
 * a hole is continued with its period (error far below a smooth fill's);
 * the same tile and seed give the same bytes on any worker and thread;
 * holes on tile edges and corners; 16-bit data; gray and colour; a tile with
 * too little known surround falls back to a smooth fill; fills never read
 * the stale hole pixels; bad parameters; allocation failures. With a guide:
 * a tile with nothing known is the guide, a partly known tile keeps the
 * guide's large scale with the texture of its sources, deterministically.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <string.h>

#include "src/engines/engine.h"
#include "src/engines/patch_int.h"
#include "fixture.h"

/* A tile over its own storage (a fixture image): the texture, a copy of it
 * for error measures, a mask. Stale hole pixels hold 7.0 (fx_img_poison):
 * a fill that copies from the hole shows. */
struct tt {
	struct engine_tile t;
	struct fx_img im;
	float *ref;                 /* the full texture, for error measures */
};

/* A periodic texture: a pseudo-random 8 x 6 motif repeated, per channel. */
static float motif(uint32_t x, uint32_t y, uint32_t c)
{
	uint32_t h = (x % 8) * 73856093u ^ (y % 6) * 19349663u ^ (c + 1) * 83492791u;
	h ^= h >> 13;
	h *= 0x5bd1e995u;
	h ^= h >> 15;
	return (float)(h % 1000) / 999.0f;
}

static void tt_init(struct tt *a, uint32_t w, uint32_t h, uint32_t C, uint64_t seed)
{
	memset(a, 0, sizeof *a);
	a->im = fx_img_new(w, h, C);
	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++)
			for (uint32_t c = 0; c < C; c++)
				a->im.pix[((size_t)y * w + x) * C + c] = motif(x, y, c);
	a->ref = fx_img_copy_pix(&a->im);
	a->t.w = w; a->t.h = h; a->t.channels = C; a->t.bits = 8;
	a->t.pix = a->im.pix; a->t.mask = a->im.mask; a->t.seed = seed;
}

static void tt_free(struct tt *a)
{
	fx_img_free(&a->im);
	free(a->ref);
}

/* Mean absolute error over hole pixels. */
static double tt_mae(const struct tt *a)
{
	double s = 0;
	size_t n = 0;
	for (size_t i = 0; i < (size_t)a->t.w * a->t.h; i++)
		if (a->im.mask[i])
			for (uint32_t c = 0; c < a->t.channels; c++, n++)
				s += fabs(a->im.pix[i * a->t.channels + c] - a->ref[i * a->t.channels + c]);
	return n ? s / (double)n : 0;
}

/* Every filled value lies within the known values' range (per channel). */
static void tt_assert_in_known_range(const struct tt *a)
{
	fx_assert_in_known_range(a->im.pix, a->im.pix, a->im.mask, (size_t)a->t.w * a->t.h,
				 a->t.channels, 1e-6f);
}

static tp_status run_eng(const struct engine_ops *e, const char *params, struct engine_tile *t,
			 int *levels, int *fallback)
{
	struct engine_options o = { .threads = 1, .params = params };
	void *st = NULL, *wk = NULL;
	tp_status s = e->open(&o, &st);
	assert_int_equal(s, TP_OK);
	assert_int_equal(e->worker_new(st, &wk), TP_OK);
	s = e->inpaint(st, wk, t);
	if (levels)
		*levels = patch_worker_last_levels(wk, fallback);
	e->worker_free(wk);
	e->close(st);
	return s;
}

/* ---- cases ---- */

/* A 24 x 20 hole in a periodic texture: the patch fill continues the period
 * almost exactly; a smooth fill (harmonic) cannot. */
static void test_patch_periodic(void **state)
{
	(void)state;
	for (uint32_t C = 1; C <= 3; C += 2) {
		struct tt a, b;
		int levels, fb;
		tt_init(&a, 96, 96, C, 7);
		tt_init(&b, 96, 96, C, 7);
		fx_img_rect(&a.im, 36, 40, 60, 60);
		fx_img_rect(&b.im, 36, 40, 60, 60);
		fx_img_poison(&a.im, 7.0f);
		fx_img_poison(&b.im, 7.0f);
		assert_int_equal(run_eng(&engine_patch, NULL, &a.t, &levels, &fb), TP_OK);
		assert_int_equal(fb, 0);
		assert_true(levels >= 2);
		assert_int_equal(run_eng(&engine_harmonic, NULL, &b.t, NULL, NULL), TP_OK);
		double ep = tt_mae(&a), eh = tt_mae(&b);
		print_message("periodic C=%u: patch MAE %.5f, harmonic MAE %.5f, %d levels\n", C, ep, eh, levels);
		assert_true(eh > 0.1);
		assert_true(ep < 0.01);
		assert_true(ep < eh / 20);
		tt_assert_in_known_range(&a);
		tt_free(&a);
		tt_free(&b);
	}
}

/* A stop signal is honoured inside a tile: TP_ECANCELED, and the next
 * call (signal cleared) fills as usual. */
static void test_patch_cancel(void **state)
{
	struct tt a;
	(void)state;
	tt_init(&a, 96, 96, 3, 7);
	fx_img_rect(&a.im, 36, 40, 60, 60);
	tp_stop_signal = SIGTERM;
	assert_int_equal(run_eng(&engine_patch, NULL, &a.t, NULL, NULL), TP_ECANCELED);
	tp_stop_signal = 0;
	assert_int_equal(run_eng(&engine_patch, NULL, &a.t, NULL, NULL), TP_OK);
	tt_free(&a);
}

/* The tuning options keep the fill exact on the periodic texture. */
static void test_patch_options(void **state)
{
	static const char *const opts[] = {
		"init=1", "sharp=1", "sigma=3", "patch=5,em=2,emc=3,minside=20,thick=2", "patch=11",
	};
	(void)state;
	for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
		struct tt a;
		tt_init(&a, 96, 96, 3, 7);
		fx_img_rect(&a.im, 36, 40, 60, 60);
		fx_img_poison(&a.im, 7.0f);
		assert_int_equal(run_eng(&engine_patch, opts[i], &a.t, NULL, NULL), TP_OK);
		print_message("%s: MAE %.5f\n", opts[i], tt_mae(&a));
		assert_true(tt_mae(&a) < 0.01);
		tt_assert_in_known_range(&a);
		tt_free(&a);
	}
}

/* Holes on the left edge, the top-right corner and the bottom edge. */
static void test_patch_border(void **state)
{
	struct tt a;
	int fb, levels;
	(void)state;
	tt_init(&a, 100, 80, 3, 11);
	fx_img_rect(&a.im, 0, 20, 14, 44);
	fx_img_rect(&a.im, 80, 0, 100, 18);
	fx_img_rect(&a.im, 40, 70, 64, 80);
	fx_img_poison(&a.im, 7.0f);
	assert_int_equal(run_eng(&engine_patch, NULL, &a.t, &levels, &fb), TP_OK);
	assert_int_equal(fb, 0);
	print_message("border: patch MAE %.5f\n", tt_mae(&a));
	assert_true(tt_mae(&a) < 0.02);
	tt_assert_in_known_range(&a);
	tt_free(&a);
}

/* 16-bit data: a texture whose steps are a few 16-bit levels; the fill
 * reproduces it to within a level on average. */
static void test_patch_16bit(void **state)
{
	struct tt a;
	double s = 0;
	size_t n = 0;
	(void)state;
	tt_init(&a, 90, 90, 1, 3);
	a.t.bits = 16;
	for (size_t i = 0; i < 90 * 90; i++) {
		uint32_t x = (uint32_t)(i % 90), y = (uint32_t)(i / 90);
		a.ref[i] = a.im.pix[i] = (float)((30000.0 + floor(motif(x, y, 0) * 8.0)) / 65535.0);
	}
	fx_img_rect(&a.im, 30, 30, 56, 52);
	fx_img_poison(&a.im, 7.0f);
	assert_int_equal(run_eng(&engine_patch, "patch=9", &a.t, NULL, NULL), TP_OK);
	for (size_t i = 0; i < 90 * 90; i++)
		if (a.im.mask[i]) {
			s += fabs(a.im.pix[i] - a.ref[i]) * 65535.0;
			n++;
		}
	print_message("16-bit: mean error %.3f levels\n", s / (double)n);
	assert_true(s / (double)n < 1.0);
	tt_assert_in_known_range(&a);
	tt_free(&a);
}

/* Only a 6 x 6 corner is known: smooth fallback, the known colour everywhere.
 * Everything masked: mid grey. No masked pixel: untouched. */
static void test_patch_tiny_known(void **state)
{
	struct tt a;
	int levels, fb;
	(void)state;
	tt_init(&a, 40, 30, 3, 5);
	fx_img_rect(&a.im, 0, 0, 40, 30);
	for (uint32_t y = 0; y < 6; y++)
		for (uint32_t x = 0; x < 6; x++) {
			a.im.mask[y * 40 + x] = 0;
			for (int c = 0; c < 3; c++)
				a.im.pix[(y * 40 + x) * 3 + c] = 0.2f + 0.3f * (float)c;
		}
	fx_img_poison(&a.im, 7.0f);
	assert_int_equal(run_eng(&engine_patch, NULL, &a.t, &levels, &fb), TP_OK);
	assert_int_equal(fb, 1);
	assert_int_equal(levels, 1);
	for (size_t i = 0; i < 40 * 30; i++)
		for (int c = 0; c < 3; c++)
			assert_true(fabsf(a.im.pix[i * 3 + c] - (0.2f + 0.3f * (float)c)) < 1e-6f);
	memset(a.im.mask, 1, 40 * 30);
	fx_img_poison(&a.im, 7.0f);
	assert_int_equal(run_eng(&engine_patch, NULL, &a.t, &levels, &fb), TP_OK);
	assert_int_equal(fb, 1);
	for (size_t i = 0; i < 40 * 30 * 3; i++)
		assert_true(a.im.pix[i] == 0.5f);
	memset(a.im.mask, 0, 40 * 30);
	a.im.pix[0] = 0.25f;
	assert_int_equal(run_eng(&engine_patch, NULL, &a.t, NULL, NULL), TP_OK);
	assert_true(a.im.pix[0] == 0.25f);
	tt_free(&a);
	/* Tiles smaller than a patch. */
	tt_init(&a, 3, 2, 1, 1);
	a.im.mask[4] = 1;
	fx_img_poison(&a.im, 7.0f);
	assert_int_equal(run_eng(&engine_patch, NULL, &a.t, &levels, &fb), TP_OK);
	assert_int_equal(fb, 1);
	tt_assert_in_known_range(&a);
	tt_free(&a);
}

/* ---- the guide ---- */

/* A smooth guide unlike the texture: a colour ramp. */
static float *guide_ramp(uint32_t w, uint32_t h, uint32_t C)
{
	float *g = malloc((size_t)w * h * C * sizeof(float));
	assert_non_null(g);
	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++)
			for (uint32_t c = 0; c < C; c++)
				g[((size_t)y * w + x) * C + c] = 0.15f + 0.6f * (float)(x + c * y) / (float)(w + c * h);
	return g;
}

/* Everything masked (no source at all): the fill is the guide, exactly, not grey. */
static void test_patch_guide_all_masked(void **state)
{
	(void)state;
	for (uint32_t C = 1; C <= 3; C += 2) {
		struct tt a;
		int levels, fb;
		float *g = guide_ramp(70, 50, C);
		tt_init(&a, 70, 50, C, 3);
		memset(a.im.mask, 1, 70 * 50);
		fx_img_poison(&a.im, 7.0f);
		a.t.guide = g;
		a.t.guide_scale = 4;
		assert_int_equal(run_eng(&engine_patch, NULL, &a.t, &levels, &fb), TP_OK);
		assert_int_equal(fb, 1);
		assert_memory_equal(a.im.pix, g, (size_t)70 * 50 * C * sizeof(float));
		tt_free(&a);
		free(g);
	}
}

/* A large hole in a periodic texture, guided by a ramp: the fill's large
 * scale is the guide's (local means within a few percent), its texture is
 * the source's (far from flat), every value valid; the same bytes on every
 * call; guide NULL gives exactly the unguided fill. */
static void test_patch_guide_partial(void **state)
{
	struct engine_options o = { .threads = 1 };
	void *st, *wk;
	float *g = guide_ramp(128, 112, 3), *first = NULL, *plain = NULL;
	size_t bytes = (size_t)128 * 112 * 3 * sizeof(float);
	(void)state;
	assert_int_equal(engine_patch.open(&o, &st), TP_OK);
	assert_int_equal(engine_patch.worker_new(st, &wk), TP_OK);
	for (int round = 0; round < 4; round++) {
		struct tt a;
		tt_init(&a, 128, 112, 3, 21);
		fx_img_rect(&a.im, 20, 16, 108, 100);
		fx_img_poison(&a.im, 7.0f);
		if (round < 3) {
			a.t.guide = g;
			a.t.guide_scale = 4;
		}
		assert_int_equal(engine_patch.inpaint(st, wk, &a.t), TP_OK);
		if (round == 0) {
			double dev = 0, spread = 0;
			int nb = 0;
			/* 8 x 8 block means deep in the hole against the guide's */
			for (uint32_t by = 24; by + 8 <= 92; by += 8)
				for (uint32_t bx = 28; bx + 8 <= 100; bx += 8)
					for (uint32_t c = 0; c < 3; c++) {
						double m = 0, mg = 0, v = 0;
						for (uint32_t y = by; y < by + 8; y++)
							for (uint32_t x = bx; x < bx + 8; x++) {
								size_t k = ((size_t)y * 128 + x) * 3 + c;
								m += a.im.pix[k];
								mg += g[k];
							}
						m /= 64;
						mg /= 64;
						for (uint32_t y = by; y < by + 8; y++)
							for (uint32_t x = bx; x < bx + 8; x++) {
								double d = a.im.pix[((size_t)y * 128 + x) * 3 + c] - m;
								v += d * d;
							}
						dev += fabs(m - mg);
						spread += sqrt(v / 64);
						nb++;
					}
			print_message("guided: mean |block mean - guide| %.4f, mean block stddev %.4f\n",
				      dev / nb, spread / nb);
			assert_true(dev / nb < 0.05);
			assert_true(spread / nb > 0.05);   /* texture, not the smooth guide */
			for (size_t i = 0; i < (size_t)128 * 112 * 3; i++)
				assert_true(a.im.pix[i] >= 0.0f && a.im.pix[i] <= 1.0f);
			first = malloc(bytes);
			memcpy(first, a.im.pix, bytes);
		} else if (round < 3) {
			assert_memory_equal(first, a.im.pix, bytes);
		} else {
			plain = malloc(bytes);
			memcpy(plain, a.im.pix, bytes);
			assert_true(memcmp(first, plain, bytes) != 0);
		}
		tt_free(&a);
	}
	engine_patch.worker_free(wk);
	/* the unguided fill is what a fresh worker gives without a guide */
	{
		struct tt a;
		tt_init(&a, 128, 112, 3, 21);
		fx_img_rect(&a.im, 20, 16, 108, 100);
		fx_img_poison(&a.im, 7.0f);
		assert_int_equal(run_eng(&engine_patch, NULL, &a.t, NULL, NULL), TP_OK);
		assert_memory_equal(plain, a.im.pix, bytes);
		tt_free(&a);
	}
	engine_patch.close(st);
	free(first);
	free(plain);
	free(g);
}

/* ---- determinism ---- */

struct job {
	struct tt a;
	struct fx_job run;          /* run.t is &a.t */
};

static void job_init(struct job *j, void *st, uint64_t seed)
{
	tt_init(&j->a, 120, 100, 3, seed);
	j->run = (struct fx_job){ &engine_patch, st, &j->a.t, TP_EINTERNAL };
	/* Break the periodicity so matches are ambiguous and the PRNG matters. */
	for (size_t i = 0; i < 120 * 100 * 3; i++)
		j->a.ref[i] = j->a.im.pix[i] = 0.7f * j->a.im.pix[i] + 0.3f * (float)((i * 2654435761u) % 997) / 996.0f;
	fx_img_rect(&j->a.im, 30, 30, 70, 64);
	fx_img_rect(&j->a.im, 0, 80, 20, 100);
	fx_img_poison(&j->a.im, 7.0f);
}

static void test_patch_deterministic(void **state)
{
	struct engine_options o = { .threads = 1 };
	struct job j[4];
	pthread_t th[2];
	void *st;
	(void)state;
	assert_int_equal(engine_patch.open(&o, &st), TP_OK);
	for (int i = 0; i < 3; i++)
		job_init(&j[i], st, 99);
	job_init(&j[3], st, 100);
	fx_job_run(&j[0].run);
	fx_job_run(&j[3].run);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, fx_job_run, &j[i + 1].run), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < 4; i++)
		assert_int_equal(j[i].run.s, TP_OK);
	assert_memory_equal(j[0].a.im.pix, j[1].a.im.pix, 120 * 100 * 3 * sizeof(float));
	assert_memory_equal(j[0].a.im.pix, j[2].a.im.pix, 120 * 100 * 3 * sizeof(float));
	/* The seed is really used: another seed gives another (valid) fill. */
	assert_true(memcmp(j[0].a.im.pix, j[3].a.im.pix, 120 * 100 * 3 * sizeof(float)) != 0);
	for (int i = 0; i < 4; i++)
		tt_free(&j[i].a);
	engine_patch.close(st);
}

/* One worker reused for tiles of growing and shrinking size. */
static void test_patch_worker_reuse(void **state)
{
	struct engine_options o = { .threads = 1 };
	void *st, *wk;
	static const uint32_t sz[][2] = { {40, 40}, {130, 70}, {50, 120}, {40, 40} };
	float *first = NULL;
	(void)state;
	assert_int_equal(engine_patch.open(&o, &st), TP_OK);
	assert_int_equal(engine_patch.worker_new(st, &wk), TP_OK);
	for (int i = 0; i < 4; i++) {
		struct tt a;
		tt_init(&a, sz[i][0], sz[i][1], 3, 1);
		fx_img_rect(&a.im, 12, 14, 26, 28);
		fx_img_poison(&a.im, 7.0f);
		assert_int_equal(engine_patch.inpaint(st, wk, &a.t), TP_OK);
		assert_true(tt_mae(&a) < 0.02);
		if (i == 0) {
			first = malloc(40 * 40 * 3 * sizeof(float));
			memcpy(first, a.im.pix, 40 * 40 * 3 * sizeof(float));
		} else if (i == 3) {
			assert_memory_equal(first, a.im.pix, 40 * 40 * 3 * sizeof(float));
		}
		tt_free(&a);
	}
	free(first);
	engine_patch.worker_free(wk);
	engine_patch.close(st);
}

static void test_patch_params(void **state)
{
	struct engine_options o = { .threads = 1, .params = "patch=4" };
	void *st = (void *)1;
	(void)state;
	assert_int_equal(engine_patch.open(&o, &st), TP_EUSAGE);
	assert_null(st);
	assert_non_null(strstr(tp_errmsg(), "odd"));
	o.params = "patch=21";
	assert_int_equal(engine_patch.open(&o, &st), TP_EUSAGE);
	assert_non_null(strstr(tp_errmsg(), "'patch'"));
	o.params = "em=0";
	assert_int_equal(engine_patch.open(&o, &st), TP_EUSAGE);
	o.params = "sigma=0";
	assert_int_equal(engine_patch.open(&o, &st), TP_EUSAGE);
	assert_non_null(strstr(tp_errmsg(), "sigma"));
	o.params = "init=2";
	assert_int_equal(engine_patch.open(&o, &st), TP_EUSAGE);
	o.params = "pull=1.5";
	assert_int_equal(engine_patch.open(&o, &st), TP_EUSAGE);
	assert_non_null(strstr(tp_errmsg(), "pull"));
	o.params = "guide=2";
	assert_int_equal(engine_patch.open(&o, &st), TP_EUSAGE);
	o.params = "guideside=10";
	assert_int_equal(engine_patch.open(&o, &st), TP_EUSAGE);
	o.params = "guide=0,guideside=512,pull=0.5";
	assert_int_equal(engine_patch.open(&o, &st), TP_OK);
	engine_patch.close(st);
	o.params = "patch=5,em=2";
	assert_int_equal(engine_patch.open(&o, &st), TP_OK);
	engine_patch.close(st);
	/* patch is the default: first in the registry, needs no model. */
	assert_ptr_equal(engine_list[0], &engine_patch);
	assert_ptr_equal(engine_find("patch"), &engine_patch);
	assert_int_equal(engine_patch.needs_model, 0);
	assert_true(engine_patch.context >= 32);
	assert_int_equal(engine_patch.wants_guide, 1);
}

static void test_patch_oom(void **state)
{
	(void)state;
	for (long n = 0;; n++) {
		struct engine_options o = { .threads = 1 };
		void *st = NULL, *wk = NULL;
		struct tt a;
		tp_status s;
		float g[48 * 48 * 3];
		tt_init(&a, 48, 48, 3, 1);
		fx_img_rect(&a.im, 16, 16, 30, 30);
		for (size_t i = 0; i < 48 * 48 * 3; i++)
			g[i] = 0.5f;
		if (n & 1) {   /* odd rounds: a guided tile (a larger arena) */
			a.t.guide = g;
			a.t.guide_scale = 2;
		}
		tp_alloc_fail_at(n);
		s = engine_patch.open(&o, &st);
		if (s == TP_OK)
			s = engine_patch.worker_new(st, &wk);
		if (s == TP_OK)
			s = engine_patch.inpaint(st, wk, &a.t);
		tp_alloc_fail_at(-1);
		engine_patch.worker_free(wk);
		engine_patch.close(st);
		tt_free(&a);
		if (s == TP_OK) {
			assert_true(n >= 3);
			break;
		}
		assert_int_equal(s, TP_ENOMEM);
		assert_non_null(strstr(tp_errmsg(), "patch"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_patch_periodic),
		cmocka_unit_test(test_patch_options),
		cmocka_unit_test(test_patch_border),
		cmocka_unit_test(test_patch_16bit),
		cmocka_unit_test(test_patch_tiny_known),
		cmocka_unit_test(test_patch_guide_all_masked),
		cmocka_unit_test(test_patch_guide_partial),
		cmocka_unit_test(test_patch_deterministic),
		cmocka_unit_test(test_patch_worker_reuse),
		cmocka_unit_test(test_patch_params),
		cmocka_unit_test(test_patch_cancel),
		cmocka_unit_test(test_patch_oom),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
