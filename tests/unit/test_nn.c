/*
 * test_nn.c - the nn runtime: each op against a naive double-precision
 * reference on small cases (padding modes, conv of several kernels, strides
 * and paddings, transposed conv, the Fourier unit against a direct DFT),
 * the safetensors loader's rejections, and the reduced LaMa generator
 * against the golden output of scripts/lama-reference.py (PyTorch).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "src/nn/lama.h"
#include "src/nn/nn.h"
#include "src/nn/weights.h"
#include "fixture.h"

/* ---- helpers ---- */

/* The LCG (fixture.c) behind rand_buf's values in [-1, 1). */
static uint32_t rng_state = 12345;

static float *rand_buf(size_t n)
{
	float *p = malloc(n * sizeof *p);
	assert_non_null(p);
	for (size_t i = 0; i < n; i++)
		p[i] = fx_lcg_signed(&rng_state);
	return p;
}

/* ---- padding ---- */

static void test_nn_pad_index(void **state)
{
	(void)state;
	/* n = 4: reflect -1 -> 1, -3 -> 3, 4 -> 2, 5 -> 1; symmetric 4 -> 3, 5 -> 2, 8 -> 0 */
	assert_int_equal(nn_pad_index(-1, 4, NN_PAD_REFLECT), 1);
	assert_int_equal(nn_pad_index(-3, 4, NN_PAD_REFLECT), 3);
	assert_int_equal(nn_pad_index(4, 4, NN_PAD_REFLECT), 2);
	assert_int_equal(nn_pad_index(5, 4, NN_PAD_REFLECT), 1);
	assert_int_equal(nn_pad_index(4, 4, NN_PAD_SYMMETRIC), 3);
	assert_int_equal(nn_pad_index(5, 4, NN_PAD_SYMMETRIC), 2);
	assert_int_equal(nn_pad_index(7, 4, NN_PAD_SYMMETRIC), 0);
	assert_int_equal(nn_pad_index(8, 4, NN_PAD_SYMMETRIC), 0);
	assert_int_equal(nn_pad_index(9, 4, NN_PAD_SYMMETRIC), 1);
	assert_int_equal(nn_pad_index(-1, 4, NN_PAD_ZERO), -1);
	assert_int_equal(nn_pad_index(2, 4, NN_PAD_ZERO), 2);
}

static void test_nn_pad2d(void **state)
{
	float in[6] = { 1, 2, 3, 4, 5, 6 };  /* 2 x 3 */
	float out[4 * 5];
	struct nn_tensor ti = { in, 1, 2, 3 }, to = { out, 1, 4, 5 };
	/* symmetric, bottom 2 / right 2 (the LaMa input padding) */
	const float sym[20] = { 1, 2, 3, 3, 2, 4, 5, 6, 6, 5, 4, 5, 6, 6, 5, 1, 2, 3, 3, 2 };
	/* reflect, 1 on every side */
	const float ref[20] = { 5, 4, 5, 6, 5, 2, 1, 2, 3, 2, 5, 4, 5, 6, 5, 2, 1, 2, 3, 2 };
	(void)state;
	nn_pad2d(&ti, &to, 0, 0, NN_PAD_SYMMETRIC);
	assert_memory_equal(out, sym, sizeof sym);
	nn_pad2d(&ti, &to, 1, 1, NN_PAD_REFLECT);
	assert_memory_equal(out, ref, sizeof ref);
	nn_pad2d(&ti, &to, 1, 1, NN_PAD_ZERO);
	assert_true(out[0] == 0 && out[6] == 1 && out[8] == 3 && out[9] == 0 && out[19] == 0);
}

/* ---- conv ---- */

static void naive_conv(const struct nn_conv *cv, const float *in, uint32_t h, uint32_t w,
		       double *out)
{
	uint32_t oh = nn_conv_out(h, cv->k, cv->stride, cv->pad);
	uint32_t ow = nn_conv_out(w, cv->k, cv->stride, cv->pad);
	for (uint32_t co = 0; co < cv->cout; co++)
		for (uint32_t oy = 0; oy < oh; oy++)
			for (uint32_t ox = 0; ox < ow; ox++) {
				double s = cv->shift ? cv->shift[co] : 0;
				for (uint32_t ci = 0; ci < cv->cin; ci++)
					for (uint32_t ky = 0; ky < cv->k; ky++)
						for (uint32_t kx = 0; kx < cv->k; kx++) {
							long y = nn_pad_index((long)(oy * cv->stride + ky) - cv->pad, h, cv->mode);
							long x = nn_pad_index((long)(ox * cv->stride + kx) - cv->pad, w, cv->mode);
							if (y < 0 || x < 0)
								continue;
							s += (double)cv->w[((co * cv->cin + ci) * cv->k + ky) * cv->k + kx] *
							     in[(ci * h + (uint32_t)y) * w + (uint32_t)x];
						}
				if (cv->relu && s < 0)
					s = 0;
				out[(co * oh + oy) * ow + ox] = s;
			}
}

static void check_conv_tap(uint32_t cin, uint32_t cout, uint32_t k, uint32_t stride, uint32_t pad,
			   enum nn_pad mode, uint32_t h, uint32_t w, int relu, int tap)
{
	uint32_t oh = nn_conv_out(h, k, stride, pad), ow = nn_conv_out(w, k, stride, pad);
	float *wt = rand_buf((size_t)cout * cin * k * k), *shift = rand_buf(cout);
	float *in = rand_buf((size_t)cin * h * w);
	float *out = malloc((size_t)cout * oh * ow * sizeof *out);
	double *ref = malloc((size_t)cout * oh * ow * sizeof *ref);
	float *wtap = malloc((size_t)cout * cin * k * k * sizeof *wtap);
	struct nn_conv cv = { cout, cin, k, stride, pad, mode, wt, shift, relu, tap ? wtap : NULL };
	float *col;
	nn_conv_make_wtap(wt, cout, cin, k, wtap);
	col = malloc(nn_conv_scratch(&cv, h, w) * sizeof *col);
	struct nn_tensor ti = { in, cin, h, w }, to = { out, cout, oh, ow };
	struct nn_exec ex = { NULL, col, nn_conv_scratch(&cv, h, w) };
	nn_conv2d(&cv, &ti, &to, &ex);
	naive_conv(&cv, in, h, w, ref);
	for (size_t i = 0; i < (size_t)cout * oh * ow; i++)
		if (fabs(out[i] - ref[i]) > 1e-4) {
			print_error("conv k%u s%u p%u mode %d: element %zu is %g, expected %g\n", k,
				    stride, pad, mode, i, out[i], ref[i]);
			fail();
		}
	free(wt);
	free(shift);
	free(in);
	free(out);
	free(ref);
	free(col);
	free(wtap);
}

static void check_conv(uint32_t cin, uint32_t cout, uint32_t k, uint32_t stride, uint32_t pad,
		       enum nn_pad mode, uint32_t h, uint32_t w, int relu)
{
	check_conv_tap(cin, cout, k, stride, pad, mode, h, w, relu, 0);
}

static void test_nn_conv_known(void **state)
{
	/* all-ones 3x3 kernel, zero padding, on a 3x3 ramp: neighbourhood sums */
	float in[9] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 }, wt[9], out[9], col[96];
	const float want[9] = { 12, 21, 16, 27, 45, 33, 24, 39, 28 };
	struct nn_conv cv = { 1, 1, 3, 1, 1, NN_PAD_ZERO, wt, NULL, 0, NULL };
	struct nn_tensor ti = { in, 1, 3, 3 }, to = { out, 1, 3, 3 };
	struct nn_exec ex = { NULL, col, 96 };
	(void)state;
	for (int i = 0; i < 9; i++)
		wt[i] = 1;
	nn_conv2d(&cv, &ti, &to, &ex);
	assert_memory_equal(out, want, sizeof want);
	/* reflect padding: the corner sees rows/cols -1 -> 1 */
	cv.mode = NN_PAD_REFLECT;
	nn_conv2d(&cv, &ti, &to, &ex);
	assert_true(out[0] == 5 + 4 + 5 + 2 + 1 + 2 + 5 + 4 + 5);
}

static void test_nn_conv_random(void **state)
{
	(void)state;
	check_conv(2, 3, 3, 1, 1, NN_PAD_REFLECT, 5, 7, 1);
	check_conv(3, 4, 3, 2, 1, NN_PAD_REFLECT, 8, 6, 1);
	check_conv(3, 4, 3, 2, 1, NN_PAD_ZERO, 7, 9, 0);
	check_conv(4, 5, 7, 1, 3, NN_PAD_REFLECT, 9, 8, 0);
	check_conv(6, 5, 1, 1, 0, NN_PAD_ZERO, 4, 5, 1);
	/* big enough that im2col runs in several row chunks */
	check_conv(64, 2, 3, 1, 1, NN_PAD_REFLECT, 150, 180, 1);
	/* the tap-GEMM path (few output channels), one and several chunks */
	check_conv_tap(5, 3, 7, 1, 3, NN_PAD_REFLECT, 9, 8, 0, 1);
	check_conv_tap(4, 2, 3, 1, 1, NN_PAD_ZERO, 6, 5, 1, 1);
	check_conv_tap(8, 3, 7, 1, 3, NN_PAD_REFLECT, 300, 260, 0, 1);
}

static void test_nn_convt(void **state)
{
	const uint32_t cin = 3, cout = 2, h = 4, w = 5, oh = 8, ow = 10;
	float *wt = rand_buf((size_t)cin * cout * 9), *in = rand_buf((size_t)cin * h * w);
	float shift[2] = { 0.25f, -0.5f }, out[2 * 8 * 10];
	double ref[2 * 8 * 10];
	struct nn_convt ct = { cout, cin, 3, 2, 1, 1, wt, shift, 0 };
	float *col = malloc(nn_convt_scratch(&ct, h, w) * sizeof *col);
	struct nn_tensor ti = { in, cin, h, w }, to = { out, cout, oh, ow };
	struct nn_exec ex = { NULL, col, nn_convt_scratch(&ct, h, w) };
	(void)state;
	for (uint32_t co = 0; co < cout; co++)
		for (uint32_t i = 0; i < oh * ow; i++)
			ref[co * oh * ow + i] = shift[co];
	/* SPEC §4: y[co, 2i+ki-1, 2j+kj-1] += x[ci,i,j] * w[ci,co,ki,kj] */
	for (uint32_t ci = 0; ci < cin; ci++)
		for (uint32_t co = 0; co < cout; co++)
			for (uint32_t i = 0; i < h; i++)
				for (uint32_t j = 0; j < w; j++)
					for (int ki = 0; ki < 3; ki++)
						for (int kj = 0; kj < 3; kj++) {
							int y = 2 * (int)i + ki - 1, x = 2 * (int)j + kj - 1;
							if (y < 0 || x < 0 || y >= (int)oh || x >= (int)ow)
								continue;
							ref[(co * oh + (uint32_t)y) * ow + (uint32_t)x] +=
								(double)in[(ci * h + i) * w + j] *
								wt[((ci * cout + co) * 3 + (uint32_t)ki) * 3 + (uint32_t)kj];
						}
	nn_convt2d(&ct, &ti, &to, &ex);
	for (uint32_t i = 0; i < cout * oh * ow; i++)
		assert_true(fabs(out[i] - ref[i]) < 1e-5);
	free(wt);
	free(in);
	free(col);
}

static void test_nn_elementwise(void **state)
{
	float y[4] = { -1, 0.5f, 2, -3 }, x[4] = { 1, 1, 1, 1 }, shift[2] = { 0.5f, 1 };
	float s[3] = { 0, 1000, -1000 };
	(void)state;
	nn_shift_act(y, 2, 2, 2, shift, 1);
	assert_true(y[0] == 0 && y[1] == 1.0f && y[2] == 3.0f && y[3] == 0);
	nn_add(y, x, 4);
	assert_true(y[0] == 1 && y[3] == 1);
	nn_sigmoid(s, 3);
	assert_true(s[0] == 0.5f && s[1] == 1.0f && s[2] == 0.0f);
}

/* ---- Fourier unit vs a direct DFT (torch.fft semantics, SPEC §5) ---- */

static void naive_fu(const struct nn_fu *fu, const float *a, uint32_t h, uint32_t w, double *f)
{
	uint32_t c = fu->c, w2 = w / 2 + 1;
	double sc = 1.0 / sqrt((double)h * w);
	size_t n = (size_t)h * w2;
	double *re = calloc(2 * c * n, sizeof *re), *t = calloc(2 * c * n, sizeof *t);
	for (uint32_t k = 0; k < c; k++)
		for (uint32_t u = 0; u < h; u++)
			for (uint32_t v = 0; v < w2; v++) {
				double sr = 0, si = 0;
				for (uint32_t y = 0; y < h; y++)
					for (uint32_t x = 0; x < w; x++) {
						double ph = -2 * M_PI * ((double)u * y / h + (double)v * x / w);
						sr += a[(k * h + y) * w + x] * cos(ph);
						si += a[(k * h + y) * w + x] * sin(ph);
					}
				re[(2 * k) * n + u * w2 + v] = sr * sc;
				re[(2 * k + 1) * n + u * w2 + v] = si * sc;
			}
	for (uint32_t o = 0; o < 2 * c; o++)
		for (size_t i = 0; i < n; i++) {
			double s = fu->shift[o];
			for (uint32_t q = 0; q < 2 * c; q++)
				s += fu->w[o * 2 * c + q] * re[q * n + i];
			t[o * n + i] = s > 0 ? s : 0;
		}
	/* inverse: complex IDFT along H, then C2R along W (imag of bin 0 and w/2 ignored) */
	for (uint32_t k = 0; k < c; k++)
		for (uint32_t y = 0; y < h; y++)
			for (uint32_t x = 0; x < w; x++) {
				double s = 0;
				for (uint32_t v = 0; v < w2; v++) {
					double zr = 0, zi = 0;
					for (uint32_t u = 0; u < h; u++) {
						double ph = 2 * M_PI * (double)u * y / h;
						double xr = t[(2 * k) * n + u * w2 + v], xi = t[(2 * k + 1) * n + u * w2 + v];
						zr += xr * cos(ph) - xi * sin(ph);
						zi += xr * sin(ph) + xi * cos(ph);
					}
					double ph = 2 * M_PI * (double)v * x / w;
					int edge = v == 0 || (w % 2 == 0 && v == w / 2);
					double term = zr * cos(ph) - zi * sin(ph);
					if (edge)
						s += zr * cos(ph);   /* imaginary part dropped */
					else
						s += 2 * term;
				}
				/* the SpectralTransform skip (a + fu(a)) is fused into nn_fourier_unit */
				f[(k * h + y) * w + x] = a[(k * h + y) * w + x] + s * sc;
			}
	free(re);
	free(t);
}

static void check_fu(uint32_t c, uint32_t h, uint32_t w)
{
	const struct nn_fft_plan *plan;
	struct nn_arena ar;
	float *a = rand_buf((size_t)c * h * w), *wt = rand_buf(4 * c * c), *shift = rand_buf(2 * c);
	float *f = malloc((size_t)c * h * w * sizeof *f);
	double *ref = malloc((size_t)c * h * w * sizeof *ref);
	struct nn_fu fu = { c, wt, shift };
	struct nn_exec ex;
	struct tp_pool *pool = NULL;
	assert_int_equal(nn_fft_plan_get(h, w, &plan), TP_OK);
	assert_int_equal(nn_pool_new(2, &pool), TP_OK);
	assert_int_equal(nn_arena_init(&ar, nn_fu_scratch(c, h, w) + 2 * nn_fu_slice(h, w)), TP_OK);
	ex = (struct nn_exec){ pool, nn_arena_take(&ar, 2 * nn_fu_slice(h, w)), nn_fu_slice(h, w) };
	nn_fourier_unit(plan, &fu, a, f, h, w, nn_arena_take(&ar, nn_fu_scratch(c, h, w)), &ex);
	tp_pool_free(pool);
	naive_fu(&fu, a, h, w, ref);
	for (size_t i = 0; i < (size_t)c * h * w; i++)
		if (fabs(f[i] - ref[i]) > 1e-4) {
			print_error("FU %ux%ux%u: element %zu is %g, expected %g\n", c, h, w, i, f[i], ref[i]);
			fail();
		}
	nn_arena_free(&ar);
	free(a);
	free(wt);
	free(shift);
	free(f);
	free(ref);
}

static void test_nn_fourier_unit(void **state)
{
	(void)state;
	check_fu(2, 4, 4);
	check_fu(3, 5, 7);   /* odd width round-trips through the explicit output size */
	check_fu(2, 6, 9);
	check_fu(1, 7, 6);
	nn_fft_cleanup();
}

/* ---- safetensors rejections ---- */

/* Write "len(header) header data" with the given header length field. */
static const char *write_st(const char *name, uint64_t hlen_field, const char *header,
			    const void *data, size_t dlen)
{
	char *path = fx_path(name);
	FILE *f;
	uint8_t le[8];
	f = fopen(path, "wb");
	assert_non_null(f);
	for (int i = 0; i < 8; i++)
		le[i] = (uint8_t)(hlen_field >> (8 * i));
	fwrite(le, 1, 8, f);
	fwrite(header, 1, strlen(header), f);
	if (dlen)
		fwrite(data, 1, dlen, f);
	fclose(f);
	return path;
}

static void expect_model_error(const char *path, const char *needle)
{
	struct nn_weights *w = NULL;
	assert_int_equal(nn_weights_open(path, &w), TP_EMODEL);
	assert_null(w);
	fx_assert_errmsg(needle);
	assert_non_null(strstr(tp_errmsg(), path));
}

static void test_nn_safetensors_errors(void **state)
{
	float d[4] = { 1, 2, 3, 4 };
	const char *ok = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}";
	struct nn_weights *w = NULL;
	const struct nn_wtensor *t;
	(void)state;
	/* a good file first */
	assert_int_equal(nn_weights_open(write_st("ok", strlen(ok), ok, d, 16), &w), TP_OK);
	t = nn_weights_find(w, "a");
	assert_non_null(t);
	assert_int_equal(t->ndim, 2);
	assert_int_equal(t->nbytes, 16);
	assert_memory_equal(t->data, d, 16);
	assert_null(nn_weights_find(w, "b"));
	nn_weights_close(w);
	expect_model_error(write_st("trunc", strlen(ok), ok, d, 12), "outside");
	expect_model_error(write_st("absurd", (uint64_t)1 << 40, ok, d, 16),
			   "absurd safetensors header length");
	expect_model_error(write_st("short", strlen(ok) + 100, ok, d, 16), "does not fit");
	{
		const char *h = "{\"a\":{\"dtype\":\"F16\",\"shape\":[2,2],\"data_offsets\":[0,8]}}";
		expect_model_error(write_st("f16", strlen(h), h, d, 16), "dtype F16");
	}
	{
		const char *h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,16]}}";
		expect_model_error(write_st("shape", strlen(h), h, d, 16), "'a' has 16 bytes but");
	}
	{
		const char *h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
				"\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}";
		expect_model_error(write_st("overlap", strlen(h), h, d, 16), "overlap");
	}
	{
		const char *h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
				"\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}";
		expect_model_error(write_st("dup", strlen(h), h, d, 16), "appears twice");
	}
	{
		const char *h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]";
		expect_model_error(write_st("json", strlen(h), h, d, 16), "malformed");
	}
	expect_model_error(write_st("tiny", 0, "", NULL, 0), "header length 0");
	expect_model_error(fx_path("none"), "cannot open");
}

/* ---- the reduced generator vs PyTorch ---- */

/* SPEC §2: x = [rgb * (1 - m), m], symmetric-padded to a multiple of 8. */
static void make_input(const struct fx_golden *g, struct nn_tensor *in)
{
	uint32_t H = in->h, W = in->w;
	for (uint32_t y = 0; y < H; y++)
		for (uint32_t x = 0; x < W; x++) {
			long sy = nn_pad_index(y, g->h, NN_PAD_SYMMETRIC);
			long sx = nn_pad_index(x, g->w, NN_PAD_SYMMETRIC);
			size_t s = (size_t)sy * g->w + (size_t)sx;
			float m = g->mask[s] > 0 ? 1.0f : 0.0f;
			for (int c = 0; c < 3; c++)
				in->data[((size_t)c * H + y) * W + x] = (float)g->img[s * 3 + (size_t)c] / 255.0f * (1 - m);
			in->data[((size_t)3 * H + y) * W + x] = m;
		}
}

static void test_nn_lama_golden(void **state)
{
	char path[512];
	struct lama_net *net = NULL;
	struct fx_golden g;
	(void)state;
	snprintf(path, sizeof path, "%s/tests/data/lama/tiny.safetensors", fx_top_dir());
	assert_int_equal(lama_net_open(path, &net), TP_OK);
	assert_int_equal(lama_net_config(net)->ngf, 8);
	assert_int_equal(lama_net_config(net)->n_blocks, 2);
	assert_int_equal(lama_net_config(net)->nl, 16);
	assert_int_equal(lama_net_config(net)->ng, 48);
	assert_int_equal(lama_net_config(net)->cs, 24);
	for (int i = 0; fx_golden_load(i, &g); i++) {
		uint32_t H = (g.h + 7) / 8 * 8, W = (g.w + 7) / 8 * 8;
		struct nn_arena ar;
		float *ind = malloc((size_t)4 * H * W * sizeof(float));
		float *outd = malloc((size_t)3 * H * W * sizeof(float));
		float *out2 = malloc((size_t)3 * H * W * sizeof(float));
		struct nn_tensor in = { ind, 4, H, W }, out = { outd, 3, H, W };
		double maxerr = 0;
		make_input(&g, &in);
		assert_int_equal(nn_arena_init(&ar, lama_net_scratch(net, H, W, 3)), TP_OK);
		nn_blas_set_threads(1);
		assert_int_equal(lama_net_forward(net, &in, &out, &ar, NULL, NULL), TP_OK);
		for (uint32_t c = 0; c < 3; c++)
			for (uint32_t y = 0; y < g.h; y++)
				for (uint32_t x = 0; x < g.w; x++) {
					double e = fabs(outd[((size_t)c * H + y) * W + x] -
							g.raw[((size_t)c * g.h + y) * g.w + x]);
					if (e > maxerr)
						maxerr = e;
				}
		print_message("%s %ux%u: max abs error %.3g\n", g.name, g.w, g.h, maxerr);
		assert_true(maxerr <= 1e-4);
		/* the same bytes with 2 and 3 threads */
		out.data = out2;
		for (uint32_t th = 2; th <= 3; th++) {
			struct tp_pool *pool = NULL;
			assert_int_equal(nn_pool_new(th, &pool), TP_OK);
			memset(out2, 0, (size_t)3 * H * W * sizeof(float));
			assert_int_equal(lama_net_forward(net, &in, &out, &ar, pool, NULL), TP_OK);
			assert_memory_equal(outd, out2, (size_t)3 * H * W * sizeof(float));
			tp_pool_free(pool);
		}
		nn_arena_free(&ar);
		free(ind);
		free(outd);
		free(out2);
		fx_golden_free(&g);
	}
	lama_net_free(net);
	nn_fft_cleanup();
}

/* Every allocation failure while loading returns TP_ENOMEM and leaks nothing (ASan). */
static void test_nn_lama_load_oom(void **state)
{
	char path[512];
	struct lama_net *net = NULL;
	long n;
	(void)state;
	snprintf(path, sizeof path, "%s/tests/data/lama/tiny.safetensors", fx_top_dir());
	for (n = 0;; n++) {
		tp_status st;
		tp_alloc_fail_at(n);
		st = lama_net_open(path, &net);
		tp_alloc_fail_at(-1);
		if (st == TP_OK)
			break;
		assert_int_equal(st, TP_ENOMEM);
		assert_null(net);
	}
	assert_true(n > 10);
	lama_net_free(net);
}

/* The official .ckpt route: a Lightning-style torch.save zip of the same weights. */
static void test_nn_ckpt(void **state)
{
	char p1[512], p2[512], p3[512];
	struct nn_weights *st = NULL, *ck = NULL;
	struct lama_net *net = NULL;
	size_t len;
	uint8_t *bytes;
	(void)state;
	snprintf(p1, sizeof p1, "%s/tests/data/lama/tiny.safetensors", fx_top_dir());
	snprintf(p2, sizeof p2, "%s/tests/data/lama/tiny.ckpt", fx_top_dir());
	assert_int_equal(nn_weights_open(p1, &st), TP_OK);
	assert_int_equal(nn_weights_open(p2, &ck), TP_OK);
	/* every generator tensor, and nothing else (discriminator.* is dropped) */
	assert_int_equal(ck->n, st->n);
	for (size_t i = 0; i < st->n; i++) {
		const struct nn_wtensor *a = &st->t[i], *b = nn_weights_find(ck, a->name);
		assert_non_null(b);
		assert_int_equal(a->dtype, b->dtype);
		assert_int_equal(a->ndim, b->ndim);
		assert_memory_equal(a->shape, b->shape, a->ndim * sizeof a->shape[0]);
		assert_int_equal(a->nbytes, b->nbytes);
		assert_memory_equal(a->data, b->data, a->nbytes);
	}
	nn_weights_close(st);
	nn_weights_close(ck);
	assert_int_equal(lama_net_open(p2, &net), TP_OK);
	assert_int_equal(lama_net_config(net)->n_blocks, 2);
	lama_net_free(net);

	/* a pickle naming any other global is refused, by name */
	snprintf(p3, sizeof p3, "%s/tests/data/lama/evil.ckpt", fx_top_dir());
	assert_int_equal(nn_weights_open(p3, &ck), TP_EMODEL);
	assert_non_null(strstr(tp_errmsg(), "builtin__.print'"));
	assert_non_null(strstr(tp_errmsg(), "evil.ckpt"));

	/* foreign classes in the metadata (Lightning callbacks keyed by class,
	 * OmegaConf hyper-parameters): refused by default, inert placeholders on
	 * request, and the tensors are the same */
	snprintf(p3, sizeof p3, "%s/tests/data/lama/foreign.ckpt", fx_top_dir());
	assert_int_equal(nn_weights_open(p3, &ck), TP_EMODEL);
	assert_non_null(strstr(tp_errmsg(), "'omegaconf.DictConfig'"));
	assert_non_null(strstr(tp_errmsg(), "ckpt_lenient=1"));
	assert_int_equal(nn_weights_open_flags(p3, NN_WEIGHTS_PICKLE_LENIENT, &ck), TP_OK);
	assert_int_equal(ck->n, 2);
	{
		const struct nn_wtensor *b = nn_weights_find(ck, "generator.model.1.bn_l.bias");
		const float want[4] = { 0, 1, 2, 3 };
		assert_non_null(b);
		assert_int_equal(b->nbytes, 16);
		assert_memory_equal(b->data, want, 16);
		b = nn_weights_find(ck, "generator.model.1.bn_l.num_batches_tracked");
		assert_non_null(b);
		assert_int_equal(b->dtype, NN_DTYPE_I64);
		assert_int_equal(b->ndim, 0);
	}
	nn_weights_close(ck);

	/* truncated: the zip directory is gone */
	bytes = fx_read_file(p2, &len);
	assert_non_null(bytes);
	{
		const char *cut = fx_path("cut.ckpt");
		fx_write_file(cut, bytes, len / 2);
		assert_int_equal(nn_weights_open(cut, &ck), TP_EMODEL);
		assert_non_null(strstr(tp_errmsg(), "truncated"));
		/* another global than the allow-list, in an otherwise good file */
		{
			uint8_t *g = memmem(bytes, len, "OrderedDict", 11);
			assert_non_null(g);
			g[10] = 'X';
		}
		fx_write_file(cut, bytes, len);
		assert_int_equal(nn_weights_open(cut, &ck), TP_EMODEL);
		assert_non_null(strstr(tp_errmsg(), "'collections.OrderedDicX'"));
	}
	free(bytes);
}

/* Corrupted model files never crash the readers: every byte of the safetensors
 * header and of the checkpoint's pickle, overwritten in turn with a few
 * values, gives TP_OK or TP_EMODEL (run under ASan in `make check SAN=1`). */
static void corrupt_sweep_flags(const char *src, size_t from, size_t to, size_t step,
				unsigned flags)
{
	size_t len;
	uint8_t *bytes = fx_read_file(src, &len);
	const char *path = fx_path("corrupt");
	const uint8_t vals[2] = { 0x00, 0xff };
	int bad = 0, good = 0;
	assert_non_null(bytes);
	if (to > len)
		to = len;
	for (size_t pos = from; pos < to; pos += step)
		for (int v = 0; v < 2; v++) {
			uint8_t keep = bytes[pos];
			struct nn_weights *w = NULL;
			tp_status st;
			bytes[pos] = vals[v];
			fx_write_file(path, bytes, len);
			bytes[pos] = keep;
			st = nn_weights_open_flags(path, flags, &w);
			if (st == TP_OK) {
				struct lama_net *net = NULL;
				good++;
				st = lama_net_load(w, &net);
				assert_true(st == TP_OK || st == TP_EMODEL);
				lama_net_free(net);
				nn_weights_close(w);
			} else {
				assert_int_equal(st, TP_EMODEL);
				assert_null(w);
				bad++;
			}
		}
	print_message("%s: %d corruptions rejected, %d still well-formed\n", src, bad, good);
	free(bytes);
}

static void corrupt_sweep(const char *src, size_t from, size_t to, size_t step)
{
	corrupt_sweep_flags(src, from, to, step, 0);
}

static void test_nn_corrupt_models(void **state)
{
	char p[512];
	(void)state;
	snprintf(p, sizeof p, "%s/tests/data/lama/tiny.safetensors", fx_top_dir());
	corrupt_sweep(p, 0, 8 + 3000, 23);
	snprintf(p, sizeof p, "%s/tests/data/lama/tiny.ckpt", fx_top_dir());
	/* data.pkl is the first entry: local header (30 + 13 bytes) then the pickle */
	corrupt_sweep(p, 0, 64 + 19158, 61);
	snprintf(p, sizeof p, "%s/tests/data/lama/foreign.ckpt", fx_top_dir());
	corrupt_sweep_flags(p, 0, 1635, 3, NN_WEIGHTS_PICKLE_LENIENT);
	snprintf(p, sizeof p, "%s/tests/data/lama/tiny.ckpt", fx_top_dir());
	/* the zip directory at the end */
	{
		size_t len;
		uint8_t *b = fx_read_file(p, &len);
		free(b);
		corrupt_sweep(p, len - 8000, len, 37);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nn_pad_index),
		cmocka_unit_test(test_nn_pad2d),
		cmocka_unit_test(test_nn_conv_known),
		cmocka_unit_test(test_nn_conv_random),
		cmocka_unit_test(test_nn_convt),
		cmocka_unit_test(test_nn_elementwise),
		cmocka_unit_test(test_nn_fourier_unit),
		cmocka_unit_test_setup_teardown(test_nn_safetensors_errors, fx_tmpdir_setup, fx_tmpdir_teardown),
		cmocka_unit_test(test_nn_lama_golden),
		cmocka_unit_test(test_nn_lama_load_oom),
		cmocka_unit_test_setup_teardown(test_nn_ckpt, fx_tmpdir_setup, fx_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_nn_corrupt_models, fx_tmpdir_setup, fx_tmpdir_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
