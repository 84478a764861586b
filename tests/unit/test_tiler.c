/*
 * test_tiler.c - exhaustive checks of tiler/ on small geometries: plan
 * coverage and sizes, blend weights against an independent formula, masked
 * counts and disk dilation against brute force, band round trips (bit-exact
 * unmasked pixels, exact blends) and a simulated band loop over a plan; the
 * coarse image (cells, holes, means) against brute force and its resampling.
 * The formula and the composite are the reference blender and sampler of
 * fixture.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "tiler/tiler.h"
#include "fixture.h"

/* ------------------------------------------------------------------ plan */

static uint32_t min_u32(uint32_t a, uint32_t b) { return a < b ? a : b; }

static struct tiler_plan *plan_make(uint32_t w, uint32_t h, uint32_t tile, uint32_t ov,
				    uint32_t mult)
{
	struct tiler_plan_params p = { w, h, tile, ov, mult };
	struct tiler_plan *plan = NULL;
	assert_int_equal(tiler_plan_new(&p, &plan), TP_OK);
	assert_non_null(plan);
	return plan;
}

/* Checks one axis of a plan: starts, sizes, coverage. */
static void check_axis(uint32_t size, uint32_t t_req, uint32_t n, uint32_t side,
		       const int32_t *starts, uint32_t stride)
{
	assert_int_equal(side, min_u32(size, t_req));
	assert_true(n >= 1);
	assert_int_equal(starts[0], 0);
	assert_int_equal((uint32_t)starts[n - 1] + side, size);
	for (uint32_t k = 1; k < n; k++) {
		assert_true(starts[k] > starts[k - 1]);
		/* Neighbours overlap by at least `overlap`, so ramps are covered. */
		assert_true((uint32_t)(starts[k] - starts[k - 1]) <= stride);
		if (k + 1 < n)
			assert_int_equal((uint32_t)starts[k], k * stride);
	}
}

static void test_plan_geometry(void **state)
{
	static const uint32_t mults[] = { 1, 2, 3, 8 };
	static const uint32_t heights[] = { 1, 7, 33 };
	(void)state;
	for (uint32_t w = 1; w <= 40; w++)
	for (size_t hi = 0; hi < 3; hi++)
	for (uint32_t tile = 1; tile <= 20; tile++)
	for (uint32_t ov = 0; ov <= 11; ov++)
	for (size_t mi = 0; mi < 4; mi++) {
		uint32_t h = heights[hi], m = mults[mi];
		uint32_t t = (tile + m - 1) / m * m;
		struct tiler_plan *plan = plan_make(w, h, tile, ov, m);
		uint32_t prev = 0;

		assert_int_equal(plan->overlap, min_u32(ov, t / 2));
		assert_int_equal(plan->ntiles, (size_t)plan->ncols * plan->nrows);
		check_axis(w, t, plan->ncols, plan->tile_w, plan->col_x, t - plan->overlap);
		check_axis(h, t, plan->nrows, plan->tile_h, plan->row_y, t - plan->overlap);
		if (w >= t)
			assert_int_equal(plan->tile_w % m, 0);
		if (h >= t)
			assert_int_equal(plan->tile_h % m, 0);
		for (size_t i = 0; i < plan->ntiles; i++) {
			const struct tiler_tile *tt = &plan->tiles[i];
			assert_int_equal(tt->row * plan->ncols + tt->col, i);
			assert_int_equal(tt->r.x, plan->col_x[tt->col]);
			assert_int_equal(tt->r.y, plan->row_y[tt->row]);
			assert_int_equal(tt->r.w, plan->tile_w);
			assert_int_equal(tt->r.h, plan->tile_h);
			assert_true(tt->r.x >= 0 && tt->r.y >= 0);
			assert_true((uint32_t)tp_rect_right(tt->r) <= w);
			assert_true((uint32_t)tp_rect_bottom(tt->r) <= h);
			assert_int_equal(tt->masked, 0);
		}
		/* rows_done: monotone, ends at height, and rows below it are in no
		 * later tile row while rows from it on are in a later one. */
		for (uint32_t r = 0; r < plan->nrows; r++) {
			uint32_t d = tiler_plan_rows_done(plan, r);
			assert_true(d >= prev && d <= h);
			assert_true(d > 0);
			for (uint32_t r2 = r + 1; r2 < plan->nrows; r2++)
				assert_true((uint32_t)plan->row_y[r2] >= d);
			assert_true(d <= (uint32_t)plan->row_y[r] + plan->tile_h);
			prev = d;
		}
		assert_int_equal(prev, h);
		tiler_plan_free(plan);
	}
}

static void test_plan_edges(void **state)
{
	struct tiler_plan *plan;
	struct tiler_plan_params p = { 0 };
	(void)state;

	/* Just above T: two columns, the second moved to the edge. */
	plan = plan_make(513, 512, 512, 64, 8);
	assert_int_equal(plan->ncols, 2);
	assert_int_equal(plan->nrows, 1);
	assert_int_equal(plan->col_x[1], 1);
	assert_int_equal(plan->tile_w, 512);
	tiler_plan_free(plan);

	/* 1x1 image. */
	plan = plan_make(1, 1, 512, 64, 8);
	assert_int_equal(plan->ntiles, 1);
	assert_int_equal(plan->tile_w, 1);
	assert_int_equal(plan->tile_h, 1);
	assert_true(tiler_weight(plan, &plan->tiles[0], 0, 0) == 1.0f);
	tiler_plan_free(plan);

	/* Tile rounded up to the multiple; overlap clamped to T/2. */
	plan = plan_make(1000, 100, 250, 500, 8);
	assert_int_equal(plan->tile_w, 256);
	assert_int_equal(plan->overlap, 128);
	assert_int_equal(plan->ncols, 7);  /* 0,128,...,640, then 744 */
	assert_int_equal(plan->col_x[6], 744);
	tiler_plan_free(plan);

	/* 100k x 100k. */
	plan = plan_make(100000, 100000, 512, 64, 8);
	assert_int_equal(plan->ncols, (100000 - 512 + 447) / 448 + 1);
	assert_int_equal(plan->ntiles, (size_t)plan->ncols * plan->ncols);
	assert_int_equal(plan->col_x[plan->ncols - 1], 100000 - 512);
	assert_int_equal(plan->row_y[plan->nrows - 2], (plan->nrows - 2) * 448);
	assert_int_equal(tiler_plan_rows_done(plan, plan->nrows - 1), 100000);
	assert_int_equal(tiler_plan_rows_done(plan, UINT32_MAX), 100000);
	tiler_plan_free(plan);

	/* Bad parameters: a status and a message, no plan. */
	p = (struct tiler_plan_params){ 0, 10, 8, 0, 1 };
	plan = (void *)&p;
	assert_int_equal(tiler_plan_new(&p, &plan), TP_EUSAGE);
	assert_null(plan);
	assert_non_null(strstr(tp_errmsg(), "unsupported image size 0x10"));
	p = (struct tiler_plan_params){ 10, 10, 0, 0, 1 };
	assert_int_equal(tiler_plan_new(&p, &plan), TP_EUSAGE);
	assert_non_null(strstr(tp_errmsg(), "tile size (0)"));
	p = (struct tiler_plan_params){ 10, 10, 8, 0, 0 };
	assert_int_equal(tiler_plan_new(&p, &plan), TP_EUSAGE);
	p = (struct tiler_plan_params){ 10, 10, UINT32_MAX, 0, 8 };
	assert_int_equal(tiler_plan_new(&p, &plan), TP_EUSAGE);
	assert_non_null(strstr(tp_errmsg(), "too large"));
	p = (struct tiler_plan_params){ 3000000000u, 10, 8, 0, 1 };
	assert_int_equal(tiler_plan_new(&p, &plan), TP_EUSAGE);
}

static void test_plan_weights(void **state)
{
	static const uint32_t mults[] = { 1, 4 };
	(void)state;
	for (uint32_t w = 1; w <= 30; w += 1)
	for (uint32_t h = 1; h <= 30; h += 7)
	for (uint32_t tile = 2; tile <= 14; tile += 3)
	for (uint32_t ov = 0; ov <= 7; ov++)
	for (size_t mi = 0; mi < 2; mi++) {
		struct tiler_plan *plan = plan_make(w, h, tile, ov, mults[mi]);
		double *sum = calloc((size_t)w * h, sizeof(double));
		assert_non_null(sum);
		for (size_t i = 0; i < plan->ntiles; i++) {
			const struct tiler_tile *t = &plan->tiles[i];
			int il = t->r.x > 0, ir = (uint32_t)tp_rect_right(t->r) < w;
			int it = t->r.y > 0, ib = (uint32_t)tp_rect_bottom(t->r) < h;
			for (uint32_t ly = 0; ly < (uint32_t)t->r.h; ly++)
			for (uint32_t lx = 0; lx < (uint32_t)t->r.w; lx++) {
				float wt = tiler_weight(plan, t, lx, ly);
				double ref = fx_ref_axis(plan->overlap, lx, t->r.w, il, ir) *
					     fx_ref_axis(plan->overlap, ly, t->r.h, it, ib);
				uint32_t x = t->r.x + lx, y = t->r.y + ly;
				assert_true(wt > 0.0f && wt <= 1.0f);
				assert_true(fabs(wt - ref) < 1e-6);
				/* Image borders: the factor of that axis is exactly 1. */
				if ((x == 0 || x == w - 1) && (y == 0 || y == h - 1))
					assert_true(wt == 1.0f);
				sum[(size_t)y * w + x] += wt;
			}
			/* Towards 0 at an inner edge: increasing along the ramp. */
			if (il && plan->overlap >= 2) {
				uint32_t ly = t->r.h / 2;
				assert_true(tiler_weight(plan, t, 0, ly) < tiler_weight(plan, t, 1, ly));
				assert_true(tiler_weight(plan, t, 0, ly) <= 0.5f / plan->overlap * 1.5f);
			}
			if (ib && plan->overlap >= 2) {
				uint32_t lx = t->r.w / 2, last = t->r.h - 1;
				assert_true(tiler_weight(plan, t, lx, last) <
					    tiler_weight(plan, t, lx, last - 1));
			}
		}
		/* Every pixel covered; normalised weights sum to 1. */
		for (size_t k = 0; k < (size_t)w * h; k++) {
			double s = 0;
			assert_true(sum[k] > 0);
			for (size_t i = 0; i < plan->ntiles; i++) {
				const struct tiler_tile *t = &plan->tiles[i];
				uint32_t x = k % w, y = k / w;
				if (x >= (uint32_t)t->r.x && x < (uint32_t)tp_rect_right(t->r) &&
				    y >= (uint32_t)t->r.y && y < (uint32_t)tp_rect_bottom(t->r))
					s += tiler_weight(plan, t, x - t->r.x, y - t->r.y) / sum[k];
			}
			assert_true(fabs(s - 1.0) < 1e-6);
		}
		free(sum);
		tiler_plan_free(plan);
	}
}

static void test_plan_count_row(void **state)
{
	(void)state;
	fx_rng_seed(1);
	for (int iter = 0; iter < 400; iter++) {
		uint32_t w = 1 + fx_rng_below(45), h = 1 + fx_rng_below(45);
		uint32_t tile = 1 + fx_rng_below(16), ov = fx_rng_below(9), m = 1 + fx_rng_below(4);
		uint32_t density = fx_rng_below(5);
		struct tiler_plan *plan = plan_make(w, h, tile, ov, m);
		uint8_t *mask = malloc((size_t)w * h);
		size_t active = 0;
		assert_non_null(mask);
		for (size_t k = 0; k < (size_t)w * h; k++)
			mask[k] = density && fx_rng_below(40) < density * density;
		for (uint32_t y = 0; y < h; y++)
			tiler_plan_count_row(plan, y, mask + (size_t)y * w);
		for (size_t i = 0; i < plan->ntiles; i++) {
			const struct tiler_tile *t = &plan->tiles[i];
			uint64_t n = 0;
			for (int32_t y = t->r.y; y < tp_rect_bottom(t->r); y++)
				for (int32_t x = t->r.x; x < tp_rect_right(t->r); x++)
					n += mask[(size_t)y * w + x];
			assert_int_equal(t->masked, n);
			active += n > 0;
		}
		assert_int_equal(tiler_plan_active(plan), active);
		free(mask);
		tiler_plan_free(plan);
	}
}

/* ------------------------------------------------------------------ mask */

static void dilate_brute(const uint8_t *in, uint8_t *out, uint32_t w, uint32_t h, uint32_t r)
{
	for (uint32_t y = 0; y < h; y++)
	for (uint32_t x = 0; x < w; x++) {
		uint8_t v = 0;
		for (int64_t yy = (int64_t)y - r; yy <= (int64_t)y + r && !v; yy++)
		for (int64_t xx = (int64_t)x - r; xx <= (int64_t)x + r && !v; xx++) {
			int64_t dx = xx - x, dy = yy - y;
			if (yy < 0 || xx < 0 || yy >= h || xx >= w)
				continue;
			if (dx * dx + dy * dy <= (int64_t)r * r && in[yy * w + xx])
				v = 1;
		}
		out[(size_t)y * w + x] = v;
	}
}

/* Streams `in` through a dilation: push one row, pop all available. */
static void dilate_stream(const uint8_t *in, uint8_t *out, uint32_t w, uint32_t h, uint32_t r)
{
	struct tiler_dilate *d = NULL;
	uint32_t popped = 0;
	assert_int_equal(tiler_dilate_new(w, h, r, &d), TP_OK);
	for (uint32_t y = 0; y < h; y++) {
		assert_int_equal(tiler_dilate_push(d, in + (size_t)y * w), TP_OK);
		while (tiler_dilate_pop(d, out + (size_t)popped * w)) {
			/* Available exactly once row min(popped + r, h - 1) was pushed. */
			assert_int_equal(y, min_u32(popped + r, h - 1));
			popped++;
		}
	}
	assert_int_equal(popped, h);
	assert_int_equal(tiler_dilate_pop(d, out), 0);
	assert_int_equal(tiler_dilate_push(d, in), TP_EUSAGE);
	assert_non_null(strstr(tp_errmsg(), "past the last row"));
	tiler_dilate_free(d);
}

static void test_dilate_random(void **state)
{
	(void)state;
	fx_rng_seed(2);
	for (uint32_t r = 0; r <= 6; r++)
	for (uint32_t w = 1; w <= 23; w += 2)
	for (uint32_t h = 1; h <= 19; h += 3)
	for (int rep = 0; rep < 3; rep++) {
		size_t n = (size_t)w * h;
		uint8_t *in = malloc(n), *a = malloc(n), *b = malloc(n);
		uint32_t dens = rep == 0 ? 2 : rep == 1 ? 10 : 50;
		assert_true(in && a && b);
		for (size_t k = 0; k < n; k++)
			in[k] = fx_rng_below(100) < dens;
		dilate_brute(in, a, w, h, r);
		memset(b, 7, n);
		dilate_stream(in, b, w, h, r);
		assert_memory_equal(a, b, n);
		free(in);
		free(a);
		free(b);
	}
}

static void test_dilate_sparse_wide(void **state)
{
	/* Few scattered pixels in wide rows: the per-row (narrow span) path. */
	static const uint32_t radii[] = { 1, 3, 6, 9, 17 };
	uint32_t w = 301, h = 45;
	uint8_t *in = malloc(w * h), *a = malloc(w * h), *b = malloc(w * h);
	(void)state;
	assert_true(in && a && b);
	fx_rng_seed(5);
	for (size_t ri = 0; ri < 5; ri++)
		for (int rep = 0; rep < 4; rep++) {
			for (size_t k = 0; k < (size_t)w * h; k++)
				in[k] = fx_rng_below(1000) < (uint32_t)(1 + rep);
			dilate_brute(in, a, w, h, radii[ri]);
			dilate_stream(in, b, w, h, radii[ri]);
			assert_memory_equal(a, b, (size_t)w * h);
		}
	free(in);
	free(a);
	free(b);
}

static void test_dilate_single_pixel(void **state)
{
	/* One set pixel gives exactly the disk: count lattice points. */
	uint32_t w = 41, h = 41, r = 12, cnt = 0, ref = 0;
	uint8_t in[41 * 41] = { 0 }, out[41 * 41];
	(void)state;
	in[20 * w + 20] = 1;
	dilate_stream(in, out, w, h, r);
	for (int y = -20; y <= 20; y++)
		for (int x = -20; x <= 20; x++) {
			ref += x * x + y * y <= (int)(r * r);
			cnt += out[(y + 20) * w + (x + 20)];
		}
	assert_int_equal(cnt, ref);
	assert_int_equal(cnt, 441); /* lattice points in a disk of radius 12 */
}

static void test_dilate_errors(void **state)
{
	struct tiler_dilate *d = (void *)state;
	uint8_t row[8] = { 1, 0, 0, 0, 0, 0, 0, 0 }, out[8];
	(void)state;
	assert_int_equal(tiler_dilate_new(0, 5, 1, &d), TP_EUSAGE);
	assert_null(d);
	assert_int_equal(tiler_dilate_new(8, 5, 255, &d), TP_EUSAGE);
	assert_non_null(strstr(tp_errmsg(), "radius 255 too large"));
	assert_int_equal(tiler_dilate_new(8, 5, 254, &d), TP_OK);
	tiler_dilate_free(d);
	/* Pushing past an available, unpopped output row is refused. */
	assert_int_equal(tiler_dilate_new(8, 10, 1, &d), TP_OK);
	assert_int_equal(tiler_dilate_push(d, row), TP_OK);
	assert_int_equal(tiler_dilate_pop(d, out), 0);
	assert_int_equal(tiler_dilate_push(d, row), TP_OK);
	assert_int_equal(tiler_dilate_push(d, row), TP_EUSAGE);
	assert_non_null(strstr(tp_errmsg(), "output row 0 must be popped"));
	assert_int_equal(tiler_dilate_pop(d, out), 1);
	assert_int_equal(out[0], 1);
	assert_int_equal(out[1], 1);
	assert_int_equal(out[2], 0);
	assert_int_equal(tiler_dilate_push(d, row), TP_OK);
	tiler_dilate_free(d);
	tiler_dilate_free(NULL);
}

/* ------------------------------------------------------------------ band */

/*
 * Whole-image round trip through one band holding all rows: each active
 * tile's "engine result" is random (mode 0) or the same per-pixel value for
 * every tile (mode 1). Checks tile_get, the blend and the composite exactly.
 */
static void band_round_trip(uint32_t w, uint32_t h, struct tp_pixfmt fmt, uint32_t tile,
			    uint32_t ov, int mode)
{
	uint32_t ch = fmt.channels, color = tp_pixfmt_color(fmt);
	float maxval = fmt.bits == 8 ? 255.0f : 65535.0f;
	size_t rb = tp_pixfmt_row_bytes(fmt, w), npx = (size_t)w * h;
	uint8_t *src = malloc(rb * h), *dst = malloc(rb * h), *mask = malloc(npx);
	uint32_t *same = malloc(npx * color * sizeof(uint32_t));
	float *acc = calloc(npx * color, sizeof(float)), *ws = calloc(npx, sizeof(float));
	float *pix = malloc((size_t)w * h * color * sizeof(float));
	uint8_t *tm = malloc(npx);
	struct tiler_plan *plan = plan_make(w, h, tile, ov, 1);
	struct tiler_band *b = NULL;

	assert_true(src && dst && mask && same && acc && ws && pix && tm);
	for (size_t i = 0; i < npx * ch; i++)
		fx_sample_set(src, fmt.bits, i, fx_rng_u32() & (fmt.bits == 8 ? 0xff : 0xffff));
	for (size_t i = 0; i < npx * color; i++)
		same[i] = fx_rng_u32() & (fmt.bits == 8 ? 0xff : 0xffff);
	for (size_t k = 0; k < npx; k++)
		mask[k] = fx_rng_below(3) == 0;
	for (uint32_t y = 0; y < h; y++)
		tiler_plan_count_row(plan, y, mask + (size_t)y * w);

	assert_int_equal(tiler_band_new(w, fmt, h, &b), TP_OK);
	for (uint32_t y = 0; y < h; y++) {
		/* odd rows decoded in place (next_src), even ones copied in */
		void *slot = tiler_band_next_src(b);
		assert_non_null(slot);
		if (y & 1)
			memcpy(slot, src + y * rb, rb);
		assert_int_equal(tiler_band_push(b, y & 1 ? slot : src + y * rb,
						 mask + (size_t)y * w), TP_OK);
	}
	assert_null(tiler_band_next_src(b));
	assert_int_equal(tiler_band_push(b, src, mask), TP_EUSAGE);
	assert_non_null(strstr(tp_errmsg(), "band: full"));
	assert_int_equal(tiler_band_y0(b), 0);
	assert_int_equal(tiler_band_nrows(b), h);
	assert_memory_equal(tiler_band_src_row(b, h - 1), src + (h - 1) * rb, rb);
	assert_memory_equal(tiler_band_mask_row(b, 0), mask, w);
	assert_null(tiler_band_src_row(b, h));
	assert_null(tiler_band_mask_row(b, h));

	for (size_t i = 0; i < plan->ntiles; i++) {
		const struct tiler_tile *t = &plan->tiles[i];
		if (!t->masked)
			continue;
		tiler_band_tile_get(b, t->r, pix, tm);
		for (int32_t ly = 0; ly < t->r.h; ly++)
		for (int32_t lx = 0; lx < t->r.w; lx++) {
			size_t k = (size_t)(t->r.y + ly) * w + t->r.x + lx;
			size_t l = (size_t)ly * t->r.w + lx;
			float wt = tiler_weight(plan, t, lx, ly);
			assert_int_equal(tm[l], mask[k]);
			for (uint32_t c = 0; c < color; c++) {
				float v = (float)fx_sample_get(src, fmt.bits, k * ch + c) / maxval;
				assert_true(pix[l * color + c] == v);
				pix[l * color + c] = mode ? (float)same[k * color + c] / maxval
							  : (float)fx_rng_u32() / 4294967296.0f;
				if (mask[k])
					acc[k * color + c] += wt * pix[l * color + c];
			}
			if (mask[k])
				ws[k] += wt;
		}
		tiler_band_tile_add(b, plan, t, pix);
	}
	/* Emit in two pieces to exercise the ring. */
	tiler_band_emit(b, h / 2, dst, rb);
	assert_int_equal(tiler_band_y0(b), h / 2);
	tiler_band_emit(b, h - h / 2, dst + (h / 2) * rb, rb);
	assert_int_equal(tiler_band_nrows(b), 0);

	for (size_t k = 0; k < npx; k++)
		for (uint32_t c = 0; c < ch; c++) {
			uint32_t got = fx_sample_get(dst, fmt.bits, k * ch + c);
			uint32_t in = fx_sample_get(src, fmt.bits, k * ch + c);
			if (!mask[k] || c >= color) {
				assert_int_equal(got, in);
				continue;
			}
			assert_true(ws[k] > 0);
			assert_int_equal(got, fx_ref_sample(acc[k * color + c], ws[k], maxval));
			if (mode)
				assert_int_equal(got, same[k * color + c]);
		}
	tiler_band_free(b);
	tiler_plan_free(plan);
	free(src); free(dst); free(mask); free(same); free(acc); free(ws); free(pix); free(tm);
}

static void test_band_round_trip(void **state)
{
	(void)state;
	fx_rng_seed(3);
	for (uint32_t bits = 8; bits <= 16; bits += 8)
	for (uint32_t ch = 1; ch <= 4; ch++)
	for (int alpha = 0; alpha <= (ch > 1); alpha++)
	for (int mode = 0; mode <= 1; mode++) {
		struct tp_pixfmt fmt = { ch, bits, alpha, TP_SAMPLE_UINT, 0, 0 };
		band_round_trip(23, 17, fmt, 8, 3, mode);
		band_round_trip(9, 30, fmt, 4, 2, mode);
		band_round_trip(5, 3, fmt, 16, 4, mode);
		/* Wider than the 64-column blocks of the packed accumulators. */
		band_round_trip(203, 9, fmt, 40, 7, mode);
	}
}

/*
 * The band loop over a plan with a band of tile_h rows: push the rows of
 * tile row r, add only tiles with masked > 0, emit up to rows_done(r). Each
 * engine returns maxval - source, so a masked pixel no tile covered (which
 * would keep its source) is caught; unmasked pixels must be untouched.
 */
static void band_loop(uint32_t w, uint32_t h, uint32_t tile, uint32_t ov, uint32_t mult,
		      struct tp_pixfmt fmt)
{
	uint32_t ch = fmt.channels, color = tp_pixfmt_color(fmt);
	uint32_t maxv = fmt.bits == 8 ? 255 : 65535;
	size_t rb = tp_pixfmt_row_bytes(fmt, w), npx = (size_t)w * h;
	uint8_t *src = malloc(rb * h), *dst = malloc(rb * h), *mask = calloc(npx, 1);
	struct tiler_plan *plan = plan_make(w, h, tile, ov, mult);
	float *pix = malloc((size_t)plan->tile_w * plan->tile_h * color * sizeof(float));
	uint8_t *tm = malloc((size_t)plan->tile_w * plan->tile_h);
	struct tiler_band *b = NULL;
	uint32_t pushed = 0, emitted = 0;

	assert_true(src && dst && mask && pix && tm);
	for (size_t i = 0; i < npx * ch; i++)
		fx_sample_set(src, fmt.bits, i, fx_rng_u32() & maxv);
	/* A few blobs, so many tiles are skipped. */
	for (int blob = 0; blob < 3; blob++) {
		uint32_t cx = fx_rng_below(w), cy = fx_rng_below(h), rad = fx_rng_below(4);
		for (uint32_t y = 0; y < h; y++)
			for (uint32_t x = 0; x < w; x++)
				if ((x - cx) * (x - cx) + (y - cy) * (y - cy) <= rad * rad)
					mask[(size_t)y * w + x] = 1;
	}
	for (uint32_t y = 0; y < h; y++)
		tiler_plan_count_row(plan, y, mask + (size_t)y * w);
	assert_int_equal(tiler_band_new(w, fmt, plan->tile_h, &b), TP_OK);
	for (uint32_t r = 0; r < plan->nrows; r++) {
		uint32_t need = (uint32_t)plan->row_y[r] + plan->tile_h, done;
		for (; pushed < need; pushed++)
			assert_int_equal(tiler_band_push(b, src + pushed * rb,
							 mask + (size_t)pushed * w), TP_OK);
		for (uint32_t c = 0; c < plan->ncols; c++) {
			const struct tiler_tile *t = &plan->tiles[(size_t)r * plan->ncols + c];
			if (!t->masked)
				continue;
			tiler_band_tile_get(b, t->r, pix, tm);
			for (size_t l = 0; l < (size_t)t->r.w * t->r.h * color; l++)
				pix[l] = 1.0f - pix[l];
			tiler_band_tile_add(b, plan, t, pix);
		}
		done = tiler_plan_rows_done(plan, r);
		assert_int_equal(tiler_band_y0(b), emitted);
		tiler_band_emit(b, done - emitted, dst + emitted * rb, rb);
		emitted = done;
	}
	assert_int_equal(emitted, h);
	for (size_t k = 0; k < npx; k++)
		for (uint32_t c = 0; c < ch; c++) {
			uint32_t in = fx_sample_get(src, fmt.bits, k * ch + c);
			uint32_t want = mask[k] && c < color ? maxv - in : in;
			assert_int_equal(fx_sample_get(dst, fmt.bits, k * ch + c), want);
		}
	tiler_band_free(b);
	tiler_plan_free(plan);
	free(src); free(dst); free(mask); free(pix); free(tm);
}

static void test_band_loop(void **state)
{
	(void)state;
	fx_rng_seed(4);
	for (uint32_t w = 1; w <= 37; w += 4)
	for (uint32_t h = 1; h <= 37; h += 6)
	for (uint32_t tile = 3; tile <= 12; tile += 3)
	for (uint32_t ov = 0; ov <= 4; ov += 2) {
		struct tp_pixfmt f8 = { 4, 8, 1, TP_SAMPLE_UINT, 0, 0 }, f16 = { 3, 16, 0, TP_SAMPLE_UINT, 0, 0 };
		band_loop(w, h, tile, ov, 1 + (tile % 2), (w + h) % 2 ? f8 : f16);
	}
	for (uint32_t w = 60; w <= 300; w += 61)
		band_loop(w, 50, 24, 5, 8, (struct tp_pixfmt){ 2, 16, 1, TP_SAMPLE_UINT, 0, 0 });
}

/*
 * Signed and float bands: engines see (v - lo) / (hi - lo), non-finite known
 * samples as 0; masked samples come back as lo + f * (hi - lo) (rounded and
 * clamped to int16 for INT), unmasked ones bit for bit (NaN payloads, -0.0,
 * infinities, values outside the range).
 */
static void test_band_measured(void **state)
{
	enum { W = 7, H = 2 };
	uint32_t nan_bits = 0x7fc0abcdu, u;
	float fsrc[H][W] = { { -500.0f, 8848.5f, 0.0f, -0.0f, 100.0f, 0.0f, 2000.0f },
			     { 1e30f, 4.25f, -32768.0f, 9000.0f, 1.0f, 2.0f, 3.0f } };
	int16_t isrc[H][W] = { { -32768, 32767, 0, -1, 100, 0, 2000 },
			       { -500, 4, 9000, 1, 2, 3, 4 } };
	uint8_t mask[H][W] = { { 0, 0, 1, 0, 0, 1, 0 }, { 0, 1, 0, 0, 0, 0, 1 } };
	struct tiler_plan *plan = plan_make(W, H, 16, 0, 1);
	float pix[W * H], fill[W * H];
	uint8_t tm[W * H];
	(void)state;
	memcpy(&fsrc[0][4], &nan_bits, 4);   /* a known NaN with a payload */
	for (int fl = 0; fl <= 1; fl++) {
		struct tp_pixfmt fmt = { 1, fl ? 32 : 16, 0, fl ? TP_SAMPLE_FLOAT : TP_SAMPLE_INT,
					 -500.0, 9000.0 };
		const uint8_t *src = fl ? (const uint8_t *)fsrc : (const uint8_t *)isrc;
		size_t rb = (size_t)W * (fl ? 4 : 2);
		struct tiler_band *b = NULL;
		assert_true(tp_pixfmt_ok(fmt));
		assert_int_equal(tiler_band_new(W, fmt, H, &b), TP_OK);
		for (int y = 0; y < H; y++)
			assert_int_equal(tiler_band_push(b, src + y * rb, mask[y]), TP_OK);
		tiler_band_tile_get(b, plan->tiles[0].r, pix, tm);
		assert_memory_equal(tm, mask, sizeof tm);
		for (int i = 0; i < W * H; i++) {
			double v = fl ? (double)fsrc[i / W][i % W] : (double)isrc[i / W][i % W];
			if (mask[i / W][i % W])
				continue;
			assert_true(pix[i] == (v != v ? 0.0f : (float)((v + 500.0) / 9500.0)));
		}
		if (fl)
			assert_true(pix[0] == 0.0f && pix[W + 3] == 1.0f && pix[4] == 0.0f);   /* NaN: lo */
		/* fills: 0.25, 0.5 and 1.0 of the range */
		fill[2] = 0.25f;
		fill[5] = 0.5f;
		fill[W + 1] = 1.0f;
		fill[W + 6] = 0.123f;
		plan->tiles[0].masked = 4;
		tiler_band_tile_add(b, plan, &plan->tiles[0], fill);
		for (int y = 0; y < H; y++) {
			const uint8_t *row = tiler_band_emit_row(b);
			for (int x = 0; x < W; x++) {
				double want = -500.0 + (double)fill[y * W + x] * 9500.0;
				if (!mask[y][x]) {
					assert_memory_equal(row + x * (fl ? 4 : 2), src + y * rb + x * (fl ? 4 : 2),
							    fl ? 4 : 2);
				} else if (fl) {
					float got;
					memcpy(&got, row + x * 4, 4);
					assert_true(got == (float)want);
				} else {
					int16_t got;
					memcpy(&got, row + x * 2, 2);
					assert_int_equal(got, (int16_t)floor(want + 0.5 > 32767 ? 32767 : want + 0.5));
				}
			}
		}
		tiler_band_free(b);
	}
	memcpy(&u, &fsrc[0][4], 4);
	assert_true(u == nan_bits);
	/* layouts refused: a range of nothing, several channels, wrong bits */
	assert_false(tp_pixfmt_ok((struct tp_pixfmt){ 1, 32, 0, TP_SAMPLE_FLOAT, 5.0, 5.0 }));
	assert_false(tp_pixfmt_ok((struct tp_pixfmt){ 3, 32, 0, TP_SAMPLE_FLOAT, 0.0, 1.0 }));
	assert_false(tp_pixfmt_ok((struct tp_pixfmt){ 1, 16, 0, TP_SAMPLE_FLOAT, 0.0, 1.0 }));
	assert_false(tp_pixfmt_ok((struct tp_pixfmt){ 1, 32, 0, TP_SAMPLE_INT, 0.0, 1.0 }));
	assert_false(tp_pixfmt_ok((struct tp_pixfmt){ 1, 32, 0, TP_SAMPLE_FLOAT, -HUGE_VAL, 1.0 }));
	tiler_plan_free(plan);
}

/* The coarse image of a float layout: cell means in range units. */
static void test_coarse_measured(void **state)
{
	float src[2][4] = { { 100.0f, 300.0f, -50.0f, -50.0f }, { 200.0f, 0.0f, -50.0f, 1e9f } };
	uint8_t m[2][4] = { { 0, 0, 0, 0 }, { 0, 0, 0, 1 } };
	struct tiler_coarse *c = NULL;
	(void)state;
	assert_int_equal(tiler_coarse_new(4, 2, (struct tp_pixfmt){ 1, 32, 0, TP_SAMPLE_FLOAT, 0, 1 },
					  2, 2, &c), TP_OK);
	tiler_coarse_set_range(c, -100.0, 300.0);
	for (uint32_t y = 0; y < 2; y++)
		tiler_coarse_mask_row(c, y, m[y]);
	assert_int_equal(tiler_coarse_image_begin(c), TP_OK);
	for (uint32_t y = 0; y < 2; y++)
		tiler_coarse_image_row(c, y, src[y], m[y]);
	assert_true(fabsf(c->img[0] - (float)((150.0 + 100.0) / 400.0)) < 1e-6f);
	assert_true(fabsf(c->img[1] - (float)((-50.0 + 100.0) / 400.0)) < 1e-6f);   /* 1e9 masked */
	tiler_coarse_free(c);
}

static void test_band_errors(void **state)
{
	struct tiler_band *b = (void *)state;
	(void)state;
	assert_int_equal(tiler_band_new(10, (struct tp_pixfmt){ 1, 8, 1, TP_SAMPLE_UINT, 0, 0 }, 4, &b), TP_EUSAGE);
	assert_null(b);
	assert_non_null(strstr(tp_errmsg(), "band: unsupported layout"));
	assert_int_equal(tiler_band_new(10, (struct tp_pixfmt){ 5, 8, 0, TP_SAMPLE_UINT, 0, 0 }, 4, &b), TP_EUSAGE);
	assert_int_equal(tiler_band_new(10, (struct tp_pixfmt){ 3, 12, 0, TP_SAMPLE_UINT, 0, 0 }, 4, &b), TP_EUSAGE);
	assert_int_equal(tiler_band_new(0, (struct tp_pixfmt){ 3, 8, 0, TP_SAMPLE_UINT, 0, 0 }, 4, &b), TP_EUSAGE);
	assert_int_equal(tiler_band_new(10, (struct tp_pixfmt){ 3, 8, 0, TP_SAMPLE_UINT, 0, 0 }, 0, &b), TP_EUSAGE);
	/* A failed accumulator allocation leaves the band as it was. */
	{
		uint8_t src[10] = { 0 }, m[10] = { 1, 1, 0, 0, 0, 0, 0, 0, 0, 1 };
		assert_int_equal(tiler_band_new(10, (struct tp_pixfmt){ 1, 8, 0, TP_SAMPLE_UINT, 0, 0 }, 2, &b), TP_OK);
		tp_alloc_fail_at(0);
		assert_int_equal(tiler_band_push(b, src, m), TP_ENOMEM);
		tp_alloc_fail_at(-1);
		assert_non_null(strstr(tp_errmsg(), "row 0 (3 masked pixels)"));
		assert_int_equal(tiler_band_nrows(b), 0);
		assert_int_equal(tiler_band_push(b, src, m), TP_OK);
		assert_int_equal(tiler_band_nrows(b), 1);
		tiler_band_free(b);
	}
	tiler_band_free(NULL);
	tiler_plan_free(NULL);
}

/* ------------------------------------------------------------------ coarse */

/* Random sizes, factors, formats and masks against a brute-force coarse image. */
static void test_coarse_random(void **state)
{
	(void)state;
	fx_rng_seed(41);
	for (int iter = 0; iter < 300; iter++) {
		uint32_t W = 1 + fx_rng_below(70), H = 1 + fx_rng_below(70);
		uint32_t max_side = 1 + fx_rng_below(40), minf = 1 + fx_rng_below(3);
		uint32_t ch = 1 + fx_rng_below(4), bits = fx_rng_below(2) ? 16 : 8;
		struct tp_pixfmt fmt = { ch, bits, ch >= 2 && fx_rng_below(2), TP_SAMPLE_UINT, 0, 0 };
		uint32_t color = tp_pixfmt_color(fmt), side = W > H ? W : H, f;
		size_t rb = tp_pixfmt_row_bytes(fmt, W);
		uint8_t *img = malloc(rb * H), *mask = malloc((size_t)W * H);
		struct tiler_coarse *c = NULL;
		double maxv = bits == 8 ? 255.0 : 65535.0;
		uint32_t density = fx_rng_below(101);
		assert_non_null(img);
		assert_non_null(mask);
		for (size_t i = 0; i < rb * H; i++)
			img[i] = (uint8_t)fx_rng_u32();
		for (size_t i = 0; i < (size_t)W * H; i++)
			mask[i] = fx_rng_below(100) < density ? (uint8_t)(1 + fx_rng_below(255)) : 0;
		assert_int_equal(tiler_coarse_new(W, H, fmt, max_side, minf, &c), TP_OK);
		f = (side + max_side - 1) / max_side;
		if (f < minf)
			f = minf;
		assert_int_equal(c->f, f);
		assert_int_equal(c->w, (W + f - 1) / f);
		assert_int_equal(c->h, (H + f - 1) / f);
		assert_int_equal(c->color, color);
		for (uint32_t y = 0; y < H; y++)
			tiler_coarse_mask_row(c, y, mask + (size_t)y * W);
		assert_int_equal(tiler_coarse_image_begin(c), TP_OK);
		for (uint32_t y = 0; y < H; y++)
			tiler_coarse_image_row(c, y, img + rb * y, mask + (size_t)y * W);
		for (uint32_t cy = 0; cy < c->h; cy++)
			for (uint32_t cx = 0; cx < c->w; cx++) {
				uint32_t area = 0, masked = 0;
				double sum[4] = {0, 0, 0, 0};
				size_t k = (size_t)cy * c->w + cx;
				for (uint32_t y = cy * f; y < cy * f + f && y < H; y++)
					for (uint32_t x = cx * f; x < cx * f + f && x < W; x++) {
						area++;
						if (mask[(size_t)y * W + x]) {
							masked++;
							continue;
						}
						for (uint32_t q = 0; q < color; q++)
							sum[q] += fx_sample_get(img + rb * y, bits, (size_t)x * ch + q);
					}
				assert_int_equal(c->hole[k], masked * 2 > area);
				for (uint32_t q = 0; q < color; q++) {
					float want = c->hole[k] ? 0.0f
						: (float)(sum[q] / maxv / (double)(area - masked));
					assert_true(fabsf(c->img[k * color + q] - want) <= 1e-6f);
				}
			}
		tiler_coarse_free(c);
		free(img);
		free(mask);
	}
}

/* Resampling: constants stay constant, a ramp across cells is reproduced
 * between cell centres and clamped beyond them, and values stay in range. */
static void test_coarse_resample(void **state)
{
	struct tiler_coarse *c = NULL;
	struct tp_pixfmt fmt = { 3, 8, 0, TP_SAMPLE_UINT, 0, 0 };
	float out[40 * 30 * 3];
	(void)state;
	/* 40 x 30 image, factor 4: 10 x 8 cells (the last row of cells 2 px high) */
	assert_int_equal(tiler_coarse_new(40, 30, fmt, 10, 1, &c), TP_OK);
	assert_int_equal(c->f, 4);
	assert_int_equal(c->w, 10);
	assert_int_equal(c->h, 8);
	assert_int_equal(tiler_coarse_image_begin(c), TP_OK);
	for (uint32_t i = 0; i < 10 * 8; i++) {
		c->img[i * 3 + 0] = 0.5f;
		c->img[i * 3 + 1] = (float)(i % 10) / 10.0f;   /* ramp in x */
		c->img[i * 3 + 2] = (float)(i / 10) / 10.0f;   /* ramp in y */
	}
	tiler_coarse_resample(c, (struct tp_rect){ 0, 0, 40, 30 }, out);
	for (uint32_t y = 0; y < 30; y++)
		for (uint32_t x = 0; x < 40; x++) {
			const float *o = out + ((size_t)y * 40 + x) * 3;
			/* centre of cell i is at image coordinate 4 i + 1.5 */
			double gx = (x + 0.5) / 4 - 0.5, gy = (y + 0.5) / 4 - 0.5;
			gx = gx < 0 ? 0 : gx > 9 ? 9 : gx;
			gy = gy < 0 ? 0 : gy > 7 ? 7 : gy;
			assert_true(o[0] == 0.5f);
			assert_true(fabs(o[1] - gx / 10.0) < 1e-6);
			assert_true(fabs(o[2] - gy / 10.0) < 1e-6);
		}
	/* a sub-rectangle gives the same floats as the whole */
	{
		float sub[7 * 5 * 3];
		tiler_coarse_resample(c, (struct tp_rect){ 13, 21, 7, 5 }, sub);
		for (uint32_t y = 0; y < 5; y++)
			assert_memory_equal(sub + (size_t)y * 7 * 3, out + ((size_t)(21 + y) * 40 + 13) * 3,
					    7 * 3 * sizeof(float));
	}
	tiler_coarse_free(c);
	/* one cell: everything is that cell */
	assert_int_equal(tiler_coarse_new(3, 2, (struct tp_pixfmt){ 1, 16, 0, TP_SAMPLE_UINT, 0, 0 }, 100, 4, &c), TP_OK);
	assert_int_equal(c->w, 1);
	assert_int_equal(c->h, 1);
	assert_int_equal(tiler_coarse_image_begin(c), TP_OK);
	c->img[0] = 0.25f;
	tiler_coarse_resample(c, (struct tp_rect){ 0, 0, 3, 2 }, out);
	for (int i = 0; i < 6; i++)
		assert_true(out[i] == 0.25f);
	tiler_coarse_free(c);
	/* bad arguments */
	assert_int_equal(tiler_coarse_new(0, 5, fmt, 10, 1, &c), TP_EUSAGE);
	assert_null(c);
	assert_int_equal(tiler_coarse_new(5, 5, fmt, 0, 1, &c), TP_EUSAGE);
	assert_int_equal(tiler_coarse_new(5, 5, (struct tp_pixfmt){ 1, 8, 1, TP_SAMPLE_UINT, 0, 0 }, 10, 1, &c), TP_EUSAGE);
	assert_int_equal(tiler_coarse_new(5, 5, (struct tp_pixfmt){ 3, 12, 0, TP_SAMPLE_UINT, 0, 0 }, 10, 1, &c), TP_EUSAGE);
	tiler_coarse_free(NULL);
}

/* ------------------------------------------------------------------ runs */

/* Rows read back from the runs are the rows added, whatever their shape;
 * past the budget nothing is kept and the caller is told. */
static void test_runs(void **state)
{
	enum { W = 203, H = 41 };
	uint8_t rows[H][W], back[W];
	struct tiler_runs *r;
	uint64_t set;
	(void)state;
	for (uint32_t y = 0; y < H; y++)
		for (uint32_t x = 0; x < W; x++)   /* empty, full, runs at both edges, lone pixels */
			rows[y][x] = y == 3 ? 0 : y == 4 ? 7 : (uint8_t)(((x * (y + 1)) / 5 + y) % 3 == 0);
	assert_int_equal(tiler_runs_new(W, H, 1 << 20, &r), TP_OK);
	assert_int_equal(tiler_runs_complete(r), 0);
	for (uint32_t y = 0; y < H; y++)
		assert_int_equal(tiler_runs_add(r, rows[y]), 1);
	assert_int_equal(tiler_runs_complete(r), 1);
	assert_true(tiler_runs_bytes(r) > 0);
	for (uint32_t y = H; y-- > 0;) {   /* any order */
		uint64_t want = 0;
		memset(back, 0x55, sizeof back);
		set = tiler_runs_row(r, y, back);
		for (uint32_t x = 0; x < W; x++) {
			assert_int_equal(back[x], rows[y][x] != 0);
			want += rows[y][x] != 0;
		}
		assert_int_equal(set, want);
	}
	assert_int_equal(tiler_runs_add(r, rows[0]), 0);   /* past the last row */
	tiler_runs_free(r);

	/* a budget the rows' offsets fit in but not the runs: dropped midway */
	assert_int_equal(tiler_runs_new(W, H, (H + 1) * sizeof(size_t) + 64, &r), TP_OK);
	int kept = 1;
	for (uint32_t y = 0; y < H; y++)
		kept = tiler_runs_add(r, rows[y]);
	assert_int_equal(kept, 0);
	assert_int_equal(tiler_runs_complete(r), 0);
	assert_int_equal(tiler_runs_bytes(r), 0);
	tiler_runs_free(r);
	/* not even the offsets: nothing kept from the start; drop on request */
	assert_int_equal(tiler_runs_new(W, H, 16, &r), TP_OK);
	assert_int_equal(tiler_runs_add(r, rows[0]), 0);
	tiler_runs_free(r);
	assert_int_equal(tiler_runs_new(W, 1, 1 << 20, &r), TP_OK);
	assert_int_equal(tiler_runs_add(r, rows[1]), 1);
	tiler_runs_drop(r);
	assert_int_equal(tiler_runs_complete(r), 0);
	tiler_runs_free(r);
	tiler_runs_free(NULL);
	assert_int_equal(tiler_runs_complete(NULL), 0);
	assert_int_equal(tiler_runs_new(0, 5, 1 << 20, &r), TP_EUSAGE);
	assert_null(r);
}

/* ------------------------------------------------------------------ OOM */

static void test_oom(void **state)
{
	(void)state;
	for (int which = 0; which < 4; which++) {
		for (long n = 0;; n++) {
			tp_status st;
			void *obj = NULL;
			struct tiler_plan_params p = { 100, 60, 16, 4, 8 };
			tp_err_clear();
			tp_alloc_fail_at(n);
			if (which == 0)
				st = tiler_dilate_new(50, 40, 3, (struct tiler_dilate **)&obj);
			else if (which == 1)
				st = tiler_plan_new(&p, (struct tiler_plan **)&obj);
			else if (which == 2)
				st = tiler_band_new(50, (struct tp_pixfmt){ 4, 16, 1, TP_SAMPLE_UINT, 0, 0 }, 20,
						    (struct tiler_band **)&obj);
			else {
				st = tiler_coarse_new(50, 40, (struct tp_pixfmt){ 3, 8, 0, TP_SAMPLE_UINT, 0, 0 }, 20, 2,
						      (struct tiler_coarse **)&obj);
				if (st == TP_OK) {
					st = tiler_coarse_image_begin(obj);
					if (st != TP_OK) {
						tiler_coarse_free(obj);
						obj = NULL;
					}
				}
			}
			tp_alloc_fail_at(-1);
			if (st == TP_OK) {
				assert_true(n > 0);
				if (which == 0)
					tiler_dilate_free(obj);
				else if (which == 1)
					tiler_plan_free(obj);
				else if (which == 2)
					tiler_band_free(obj);
				else
					tiler_coarse_free(obj);
				break;
			}
			assert_int_equal(st, TP_ENOMEM);
			assert_null(obj);
			assert_non_null(strstr(tp_errmsg(), "out of memory"));
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan_geometry),
		cmocka_unit_test(test_plan_edges),
		cmocka_unit_test(test_plan_weights),
		cmocka_unit_test(test_plan_count_row),
		cmocka_unit_test(test_dilate_random),
		cmocka_unit_test(test_dilate_sparse_wide),
		cmocka_unit_test(test_dilate_single_pixel),
		cmocka_unit_test(test_dilate_errors),
		cmocka_unit_test(test_band_round_trip),
		cmocka_unit_test(test_band_loop),
		cmocka_unit_test(test_band_errors),
		cmocka_unit_test(test_band_measured),
		cmocka_unit_test(test_coarse_measured),
		cmocka_unit_test(test_coarse_random),
		cmocka_unit_test(test_coarse_resample),
		cmocka_unit_test(test_runs),
		cmocka_unit_test(test_oom),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
