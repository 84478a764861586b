/*
 * test_harmonic.c - the harmonic engine on synthetic tiles with known
 * answers: discrete harmonic (and biharmonic) functions are reproduced to
 * well under one 16-bit level by the direct solver and by conjugate
 * gradients (direct=0: SSOR/Jacobi on thin masks, DCT on thick holes), and
 * the two agree on arbitrary data; a hole too big for the direct solver
 * next to small ones; masks on the tile border; determinism across workers
 * and threads; degenerate tiles; bad parameters; allocation failures.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <string.h>

#include "src/engines/engine.h"
#include "src/engines/harmonic_int.h"
#include "fixture.h"

/* A tile over its own storage (a fixture image, zeroed). Masked pixels are
 * poisoned with 7.0 (fx_img_poison) so a fill that reads them shows. */
struct tt {
	struct engine_tile t;
	struct fx_img im;
};

static void tt_init(struct tt *a, uint32_t w, uint32_t h, uint32_t c)
{
	memset(a, 0, sizeof *a);
	a->im = fx_img_new(w, h, c);
	a->t.w = w; a->t.h = h; a->t.channels = c; a->t.bits = 16;
	a->t.pix = a->im.pix; a->t.mask = a->im.mask; a->t.seed = 42;
}

static void tt_free(struct tt *a)
{
	fx_img_free(&a->im);
}

static long g_direct;   /* groups the last run() solved directly */

/* Open, make a worker, fill, close. Returns the status of inpaint. */
static tp_status run(const char *params, struct engine_tile *t, long *iters, int *dct)
{
	struct engine_options o = { .threads = 1, .params = params };
	void *st = NULL, *wk = NULL;
	tp_status s = engine_harmonic.open(&o, &st);
	assert_int_equal(s, TP_OK);
	assert_int_equal(engine_harmonic.worker_new(st, &wk), TP_OK);
	s = engine_harmonic.inpaint(st, wk, t);
	if (iters)
		*iters = harmonic_worker_last_iters(wk, dct);
	g_direct = harmonic_worker_last_direct(wk);
	engine_harmonic.worker_free(wk);
	engine_harmonic.close(st);
	return s;
}

/* A 1-3 px scratch along a diagonal-ish line plus a horizontal one. */
static void mask_scratch(uint8_t *m, uint32_t w, uint32_t h)
{
	for (uint32_t x = 4; x + 4 < w; x++) {
		uint32_t y = 5 + x * (h - 12) / w;
		m[(size_t)y * w + x] = 1;
		m[(size_t)(y + 1) * w + x] = 1;
		m[(size_t)(h / 2) * w + x] = 1;
	}
}

typedef double (*fn2)(double x, double y, int c);

static double f_lin(double x, double y, int c) { return 0.1 + 0.004 * x + 0.003 * y + 0.1 * c; }
/* x^2 - y^2 is discretely harmonic for the 5-point stencil. */
static double f_saddle(double x, double y, int c) { (void)c; return 0.5 + ((x - 40) * (x - 40) - (y - 32) * (y - 32)) / 4000.0; }
/* x^3 has a discrete Laplacian 6x, whose Laplacian is 0: biharmonic. */
static double f_cubic(double x, double y, int c) { (void)c; double u = (x - 40) / 50.0; return 0.5 + 0.4 * u * u * u + 0.001 * y; }

/* Fill `f` sampled on the tile, mask, run; return the max error on masked pixels. */
static double fill_err(const char *params, uint32_t w, uint32_t h, uint32_t C, fn2 f,
		       void (*mk)(struct tt *), long *iters, int *dct)
{
	struct tt a;
	double err = 0;
	tt_init(&a, w, h, C);
	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++)
			for (uint32_t c = 0; c < C; c++)
				a.im.pix[((size_t)y * w + x) * C + c] = (float)f(x, y, (int)c);
	mk(&a);
	fx_img_poison(&a.im, 7.0f);
	assert_int_equal(run(params, &a.t, iters, dct), TP_OK);
	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++)
			if (a.im.mask[(size_t)y * w + x])
				for (uint32_t c = 0; c < C; c++) {
					double e = fabs(a.im.pix[((size_t)y * w + x) * C + c] - f(x, y, (int)c));
					if (e > err)
						err = e;
				}
	tt_free(&a);
	return err;
}

static void mk_scratch(struct tt *a) { mask_scratch(a->im.mask, a->t.w, a->t.h); }
static void mk_disc(struct tt *a) { fx_img_disk(&a->im, 40, 32, 20); }
static void mk_small_disc(struct tt *a) { fx_img_disk(&a->im, 40, 32, 8); }
static void mk_both(struct tt *a) { mk_scratch(a); mk_disc(a); }
/* Most of the tile: thick enough (D x masked > 20 x tile) for the DCT path. */
static void mk_big(struct tt *a)
{
	for (uint32_t y = 2; y + 2 < a->t.h; y++)
		for (uint32_t x = 2; x + 2 < a->t.w; x++)
			a->im.mask[(size_t)y * a->t.w + x] = 1;
}

#define LEVEL16 (1.0 / 65535.0)

static void test_harmonic_linear_thin(void **state)
{
	static const char *const params[] = { NULL, "order=1", "direct=0", "order=1,direct=0" };
	long it; int dct;
	(void)state;
	for (int i = 0; i < 4; i++) {
		double e = fill_err(params[i], 80, 64, 3, f_lin, mk_scratch, &it, &dct);
		assert_int_equal(dct, 0);
		assert_true(e < 0.5 * LEVEL16);
		if (i < 2) {
			/* The two crossing scratches are one group, solved directly. */
			assert_int_equal(g_direct, 1);
			assert_int_equal(it, 0);
		} else {
			assert_int_equal(g_direct, 0);
			assert_true(it > 0);
		}
	}
}

/* The iterative solver honours a stop signal between its steps. */
static void test_harmonic_cancel(void **state)
{
	struct tt a;
	(void)state;
	tt_init(&a, 80, 64, 1);
	mk_both(&a);
	tp_stop_signal = SIGINT;
	assert_int_equal(run("direct=0", &a.t, NULL, NULL), TP_ECANCELED);
	tp_stop_signal = 0;
	assert_int_equal(run("direct=0", &a.t, NULL, NULL), TP_OK);
	tt_free(&a);
}

static void test_harmonic_linear_thick(void **state)
{
	long it; int dct;
	(void)state;
	double e = fill_err("order=1", 80, 64, 3, f_lin, mk_both, &it, &dct);
	assert_int_equal(g_direct, 1);
	assert_true(e < 0.5 * LEVEL16);
	e = fill_err("order=1,direct=0", 80, 64, 3, f_lin, mk_both, &it, &dct);
	assert_int_equal(dct, 0);
	assert_true(e < 0.5 * LEVEL16);
	e = fill_err("direct=0", 80, 64, 3, f_lin, mk_big, &it, &dct);
	assert_int_equal(dct, 1);
	assert_true(e < 0.5 * LEVEL16);
	assert_true(fill_err("direct=0", 80, 64, 1, f_saddle, mk_big, &it, &dct) < 0.5 * LEVEL16);
	assert_int_equal(dct, 1);
	assert_true(fill_err(NULL, 80, 64, 1, f_saddle, mk_big, &it, &dct) < 0.5 * LEVEL16);
	assert_int_equal(g_direct, 1);
}

/* A hole far too big for the direct solver (its factor would cost ~6e9)
 * beside dust and a scratch: CG with the DCT for the big one, the direct
 * solver for the rest, all exact on a linear field. */
static void mk_huge(struct tt *a)
{
	uint32_t w = a->t.w, h = a->t.h;
	for (uint32_t y = 10; y < h - 10; y++)
		for (uint32_t x = 30; x < w - 4; x++)
			a->im.mask[(size_t)y * w + x] = 1;
	for (uint32_t y = 3; y < h - 3; y++)
		a->im.mask[(size_t)y * w + 5] = 1;
	a->im.mask[(size_t)5 * w + 20] = 1;
	a->im.mask[(size_t)(h - 4) * w + 20] = 1;
}

/* A linear field that stays inside [0, 1] on a 330 x 300 tile. */
static double f_lin_wide(double x, double y, int c) { return 0.05 + 0.001 * x + 0.0012 * y + 0.1 * c; }
static double f_saddle_wide(double x, double y, int c) { (void)c; return 0.5 + ((x - 165) * (x - 165) - (y - 150) * (y - 150)) / 200000.0; }

static void test_harmonic_mixed_solvers(void **state)
{
	long it; int dct;
	(void)state;
	double e = fill_err("order=1", 330, 300, 3, f_lin_wide, mk_huge, &it, &dct);
	assert_true(e < 0.5 * LEVEL16);
	assert_int_equal(dct, 1);
	assert_true(it > 0);
	assert_int_equal(g_direct, 3);
	e = fill_err(NULL, 330, 300, 1, f_saddle_wide, mk_huge, &it, &dct);
	assert_true(e < 0.5 * LEVEL16);
	assert_int_equal(g_direct, 3);
}

static void test_harmonic_saddle(void **state)
{
	int dct;
	(void)state;
	assert_true(fill_err("order=1", 80, 64, 1, f_saddle, mk_disc, NULL, &dct) < 0.5 * LEVEL16);
	assert_true(fill_err("order=1", 80, 64, 1, f_saddle, mk_scratch, NULL, &dct) < 0.5 * LEVEL16);
	assert_true(fill_err("order=1,direct=0", 80, 64, 1, f_saddle, mk_disc, NULL, &dct) < 0.5 * LEVEL16);
}

/* On arbitrary data (no closed-form answer) the direct solver and CG,
 * written independently, give the same fill to a fraction of a 16-bit level. */
static double f_wavy(double x, double y, int c)
{
	return 0.5 + 0.3 * sin(x * 0.37 + c) * cos(y * 0.23 - c) + 0.1 * sin(x * y * 0.01);
}

static void test_harmonic_direct_matches_cg(void **state)
{
	static const char *const pairs[][2] = { { "order=1", "order=1,direct=0" },
						{ "order=2", "order=2,direct=0" } };
	(void)state;
	for (int o = 0; o < 2; o++) {
		struct tt a, b;
		double err = 0;
		tt_init(&a, 96, 80, 3);
		tt_init(&b, 96, 80, 3);
		for (uint32_t y = 0; y < 80; y++)
			for (uint32_t x = 0; x < 96; x++)
				for (int c = 0; c < 3; c++)
					a.im.pix[((size_t)y * 96 + x) * 3 + c] = b.im.pix[((size_t)y * 96 + x) * 3 + c] =
						(float)f_wavy(x, y, c);
		mask_scratch(a.im.mask, 96, 80);
		fx_img_disk(&a.im, 30, 50, 7);
		fx_img_disk(&a.im, 70, 30, 18);
		memcpy(b.im.mask, a.im.mask, 96 * 80);
		fx_img_poison(&a.im, 7.0f);
		fx_img_poison(&b.im, 7.0f);
		assert_int_equal(run(pairs[o][0], &a.t, NULL, NULL), TP_OK);
		assert_true(g_direct > 0);
		assert_int_equal(run(pairs[o][1], &b.t, NULL, NULL), TP_OK);
		assert_int_equal(g_direct, 0);
		err = fx_max_abs_diff(a.im.pix, b.im.pix, (size_t)96 * 80 * 3);
		assert_true(err < 0.5 * LEVEL16);
		tt_free(&a);
		tt_free(&b);
	}
}

static void test_harmonic_biharmonic(void **state)
{
	long it; int dct;
	(void)state;
	double e = fill_err("order=2", 80, 64, 1, f_cubic, mk_small_disc, &it, &dct);
	assert_int_equal(dct, 0);
	assert_true(e < 0.5 * LEVEL16);
	/* Thicker than HARMONIC_BIHARMONIC_MAX_D: the Laplace fill, same bytes. */
	assert_true(fill_err("order=2", 80, 64, 1, f_cubic, mk_disc, NULL, &dct) ==
		    fill_err("order=1", 80, 64, 1, f_cubic, mk_disc, NULL, NULL));
	/* order=2 is the default. */
	assert_true(fill_err("order=2", 80, 64, 1, f_cubic, mk_small_disc, NULL, NULL) ==
		    fill_err(NULL, 80, 64, 1, f_cubic, mk_small_disc, NULL, NULL));
	assert_true(fill_err("order=2,direct=0", 80, 64, 1, f_cubic, mk_small_disc, NULL, NULL) < 0.5 * LEVEL16);
	e = fill_err("order=2", 80, 64, 3, f_lin, mk_scratch, &it, &dct);
	assert_int_equal(dct, 0);
	assert_true(e < 0.5 * LEVEL16);
	/* A Laplace fill of the cubic is visibly wrong: order=2 is really in use. */
	assert_true(fill_err("order=1", 80, 64, 1, f_cubic, mk_small_disc, NULL, NULL) > 10 * LEVEL16);
}

/* Masks on every tile edge and corner: a constant image is filled exactly
 * with the constant, and the Laplace fill respects the maximum principle. */
static void test_harmonic_border(void **state)
{
	(void)state;
	for (int order = 1; order <= 2; order++) {
		struct tt a;
		uint32_t w = 50, h = 40;
		tt_init(&a, w, h, 3);
		for (size_t i = 0; i < (size_t)w * h; i++) {
			a.im.pix[i * 3 + 0] = 0.25f; a.im.pix[i * 3 + 1] = 0.5f; a.im.pix[i * 3 + 2] = 1.0f;
		}
		for (uint32_t y = 0; y < h; y++)
			for (uint32_t x = 0; x < w; x++)
				if (x < 3 || y < 2 || x >= w - 15 || (y >= h - 20 && x < 20))
					a.im.mask[(size_t)y * w + x] = 1;
		fx_img_poison(&a.im, 7.0f);
		assert_int_equal(run(order == 2 ? "order=2" : "order=1", &a.t, NULL, NULL), TP_OK);
		for (size_t i = 0; i < (size_t)w * h; i++) {
			assert_true(fabsf(a.im.pix[i * 3 + 0] - 0.25f) < 1e-6f);
			assert_true(fabsf(a.im.pix[i * 3 + 1] - 0.5f) < 1e-6f);
			assert_true(fabsf(a.im.pix[i * 3 + 2] - 1.0f) < 1e-6f);
		}
		tt_free(&a);
	}
	/* Maximum principle: a random-ish known field; fills stay inside [min, max]. */
	struct tt a;
	uint32_t w = 64, h = 64;
	float *known;
	tt_init(&a, w, h, 1);
	for (size_t i = 0; i < (size_t)w * h; i++) {
		a.im.pix[i] = (float)(0.2 + 0.5 * ((i * 2654435761u) % 1000) / 1000.0);
		a.im.mask[i] = (i % w) > 40 || (i / w) < 10;
	}
	known = fx_img_copy_pix(&a.im);
	fx_img_poison(&a.im, 7.0f);
	assert_int_equal(run("order=1", &a.t, NULL, NULL), TP_OK);
	fx_assert_in_known_range(known, a.im.pix, a.im.mask, (size_t)w * h, 1, 1e-6f);
	free(known);
	tt_free(&a);
}

/* Every pixel masked: mid grey. One known pixel: that pixel's value everywhere. */
static void test_harmonic_degenerate(void **state)
{
	struct tt a;
	(void)state;
	tt_init(&a, 33, 17, 3);
	memset(a.im.mask, 1, 33 * 17);
	fx_img_poison(&a.im, 7.0f);
	assert_int_equal(run(NULL, &a.t, NULL, NULL), TP_OK);
	for (size_t i = 0; i < 33 * 17 * 3; i++)
		assert_true(a.im.pix[i] == 0.5f);
	a.im.mask[5 * 33 + 7] = 0;
	for (int c = 0; c < 3; c++)
		a.im.pix[(5 * 33 + 7) * 3 + c] = 0.1f * (float)(c + 1);
	for (int order = 1; order <= 2; order++) {
		assert_int_equal(run(order == 2 ? "order=2" : NULL, &a.t, NULL, NULL), TP_OK);
		for (size_t i = 0; i < 33 * 17; i++)
			for (int c = 0; c < 3; c++)
				assert_true(fabsf(a.im.pix[i * 3 + c] - 0.1f * (float)(c + 1)) < 2e-6f);
	}
	/* No masked pixel: nothing changes. 1x1 tiles work. */
	memset(a.im.mask, 0, 33 * 17);
	a.im.pix[0] = 0.75f;
	assert_int_equal(run(NULL, &a.t, NULL, NULL), TP_OK);
	assert_true(a.im.pix[0] == 0.75f);
	tt_free(&a);
	tt_init(&a, 1, 1, 1);
	a.im.mask[0] = 1;
	assert_int_equal(run(NULL, &a.t, NULL, NULL), TP_OK);
	assert_true(a.im.pix[0] == 0.5f);
	tt_free(&a);
}

/* ---- determinism: two workers, and two threads at once, give the same bytes ---- */

struct job {
	struct tt a;
	struct fx_job run;          /* run.t is &a.t */
};

static void job_fill(struct job *j)
{
	tt_init(&j->a, 96, 80, 3);
	for (uint32_t y = 0; y < 80; y++)
		for (uint32_t x = 0; x < 96; x++)
			for (int c = 0; c < 3; c++)
				j->a.im.pix[((size_t)y * 96 + x) * 3 + c] =
					(float)(0.5 + 0.3 * sin(x * 0.3 + c) * cos(y * 0.21));
	mask_scratch(j->a.im.mask, 96, 80);
	fx_img_disk(&j->a.im, 50, 40, 25);
	fx_img_poison(&j->a.im, 7.0f);
}

static void test_harmonic_deterministic(void **state)
{
	struct engine_options o = { .threads = 1 };
	struct job j[3];
	pthread_t th[2];
	void *st;
	(void)state;
	for (int order = 1; order <= 4; order++) {
		static const char *const params[] = { "order=1", "order=2", "order=1,direct=0", "order=2,direct=0" };
		o.params = params[order - 1];
		assert_int_equal(engine_harmonic.open(&o, &st), TP_OK);
		for (int i = 0; i < 3; i++) {
			job_fill(&j[i]);
			j[i].run = (struct fx_job){ &engine_harmonic, st, &j[i].a.t, TP_EINTERNAL };
		}
		fx_job_run(&j[0].run);
		for (int i = 0; i < 2; i++)
			assert_int_equal(pthread_create(&th[i], NULL, fx_job_run, &j[i + 1].run), 0);
		for (int i = 0; i < 2; i++)
			pthread_join(th[i], NULL);
		for (int i = 0; i < 3; i++)
			assert_int_equal(j[i].run.s, TP_OK);
		assert_memory_equal(j[0].a.im.pix, j[1].a.im.pix, 96 * 80 * 3 * sizeof(float));
		assert_memory_equal(j[0].a.im.pix, j[2].a.im.pix, 96 * 80 * 3 * sizeof(float));
		for (int i = 0; i < 3; i++)
			tt_free(&j[i].a);
		engine_harmonic.close(st);
	}
}

/* A worker reused for a larger tile grows its scratch and stays correct. */
static void test_harmonic_worker_grows(void **state)
{
	struct engine_options o = { .threads = 1 };
	void *st, *wk;
	(void)state;
	assert_int_equal(engine_harmonic.open(&o, &st), TP_OK);
	assert_int_equal(engine_harmonic.worker_new(st, &wk), TP_OK);
	for (uint32_t s = 20; s <= 80; s += 30) {
		struct tt a;
		tt_init(&a, s, s, 1);
		for (uint32_t y = 0; y < s; y++)
			for (uint32_t x = 0; x < s; x++)
				a.im.pix[(size_t)y * s + x] = (float)f_lin(x, y, 0);
		fx_img_disk(&a.im, (int)s / 2, (int)s / 2, (int)s / 3);
		fx_img_poison(&a.im, 7.0f);
		assert_int_equal(engine_harmonic.inpaint(st, wk, &a.t), TP_OK);
		for (uint32_t y = 0; y < s; y++)
			for (uint32_t x = 0; x < s; x++)
				assert_true(fabs(a.im.pix[(size_t)y * s + x] - f_lin(x, y, 0)) < 0.5 * LEVEL16);
		tt_free(&a);
	}
	engine_harmonic.worker_free(wk);
	engine_harmonic.close(st);
}

static void test_harmonic_bad_params(void **state)
{
	void *st = (void *)1;
	struct engine_options o = { .threads = 1, .params = "order=3" };
	(void)state;
	assert_int_equal(engine_harmonic.open(&o, &st), TP_EUSAGE);
	assert_null(st);
	assert_non_null(strstr(tp_errmsg(), "order"));
	o.params = "order=1.5";
	assert_int_equal(engine_harmonic.open(&o, &st), TP_EUSAGE);
	assert_non_null(strstr(tp_errmsg(), "'order' must be a whole number from 1 to 2"));
	o.params = "direct=0.5";
	assert_int_equal(engine_harmonic.open(&o, &st), TP_EUSAGE);
	assert_non_null(strstr(tp_errmsg(), "'direct' must be a whole number from 0 to 1"));
	assert_non_null(engine_find("harmonic"));
	assert_int_equal(engine_find("harmonic")->needs_model, 0);
}

/* With a guide (a tile inside a hole bigger than a tile): a tile with
 * nothing known fills from the guide on its edge ring, so a linear guide
 * gives the linear field (not grey); a partly known tile keeps its known
 * pixels, takes the guide on the ring, and repeats its bytes. */
static void test_harmonic_guide(void **state)
{
	struct tt a;
	float *guide = malloc(64 * 48 * 3 * sizeof(float));
	float *first = malloc(64 * 48 * 3 * sizeof(float));
	(void)state;
	assert_non_null(guide);
	assert_non_null(first);
	for (uint32_t y = 0; y < 48; y++)
		for (uint32_t x = 0; x < 64; x++)
			for (int c = 0; c < 3; c++)
				guide[((size_t)y * 64 + x) * 3 + c] = (float)f_lin(x, y, c);
	for (int pass = 0; pass < 3; pass++) {
		tt_init(&a, 64, 48, 3);
		if (pass == 0) {
			memset(a.im.mask, 1, 64 * 48);
		} else {
			for (uint32_t y = 0; y < 48; y++)
				for (uint32_t x = 0; x < 64; x++) {
					a.im.pix[((size_t)y * 64 + x) * 3] = 0.9f;   /* known: not the guide */
					a.im.mask[(size_t)y * 64 + x] = x >= 20;
				}
		}
		fx_img_poison(&a.im, 7.0f);
		a.t.guide = guide;
		a.t.guide_scale = 4;
		assert_int_equal(run(NULL, &a.t, NULL, NULL), TP_OK);
		if (pass == 0) {
			for (size_t i = 0; i < (size_t)64 * 48 * 3; i++)
				assert_true(fabs(a.im.pix[i] - guide[i]) < 0.5 * LEVEL16);
		} else {
			assert_true(a.im.pix[0] == 0.9f);
			assert_true(a.im.pix[(47 * 64 + 63) * 3 + 1] == guide[(47 * 64 + 63) * 3 + 1]);
			for (size_t i = 0; i < (size_t)64 * 48 * 3; i++)
				assert_true(a.im.pix[i] >= 0.0f && a.im.pix[i] <= 1.0f);
			if (pass == 1)
				memcpy(first, a.im.pix, 64 * 48 * 3 * sizeof(float));
			else
				assert_memory_equal(first, a.im.pix, 64 * 48 * 3 * sizeof(float));
		}
		tt_free(&a);
	}
	free(guide);
	free(first);
}

/* Fail the n-th allocation for n = 0, 1, ... until a whole run succeeds:
 * every failure is TP_ENOMEM with a message (leaks show under ASan). */
static void test_harmonic_oom(void **state)
{
	(void)state;
	for (long n = 0;; n++) {
		struct engine_options o = { .threads = 1 };
		void *st = NULL, *wk = NULL;
		struct tt a;
		tp_status s;
		tt_init(&a, 40, 40, 3);
		fx_img_disk(&a.im, 20, 20, 15);
		tp_alloc_fail_at(n);
		s = engine_harmonic.open(&o, &st);
		if (s == TP_OK)
			s = engine_harmonic.worker_new(st, &wk);
		if (s == TP_OK)
			s = engine_harmonic.inpaint(st, wk, &a.t);
		tp_alloc_fail_at(-1);
		engine_harmonic.worker_free(wk);
		engine_harmonic.close(st);
		tt_free(&a);
		if (s == TP_OK) {
			assert_true(n > 3);
			break;
		}
		assert_int_equal(s, TP_ENOMEM);
		assert_non_null(strstr(tp_errmsg(), "harmonic"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_harmonic_linear_thin),
		cmocka_unit_test(test_harmonic_linear_thick),
		cmocka_unit_test(test_harmonic_mixed_solvers),
		cmocka_unit_test(test_harmonic_saddle),
		cmocka_unit_test(test_harmonic_direct_matches_cg),
		cmocka_unit_test(test_harmonic_cancel),
		cmocka_unit_test(test_harmonic_guide),
		cmocka_unit_test(test_harmonic_biharmonic),
		cmocka_unit_test(test_harmonic_border),
		cmocka_unit_test(test_harmonic_degenerate),
		cmocka_unit_test(test_harmonic_deterministic),
		cmocka_unit_test(test_harmonic_worker_grows),
		cmocka_unit_test(test_harmonic_bad_params),
		cmocka_unit_test(test_harmonic_oom),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
