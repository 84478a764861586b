/*
 * coarse.c - a coarse copy of the whole image for the guide: box
 * downsampling of the known pixels in two streaming passes (mask, then
 * samples), and bilinear resampling of the result over a tile.
 * Sums are doubles added in raster order, so the cells are the same floats
 * on every run.
 */
#include "tiler.h"

#include <string.h>

tp_status tiler_coarse_new(uint32_t width, uint32_t height, struct tp_pixfmt fmt,
			   uint32_t max_side, uint32_t min_factor, struct tiler_coarse **out)
{
	struct tiler_coarse *c;
	uint32_t side = width > height ? width : height, f;
	*out = NULL;
	if (!width || !height || !max_side || !min_factor || !tp_pixfmt_ok(fmt))
		return tp_err(TP_EUSAGE, "coarse image: bad size or format");
	f = (uint32_t)(((uint64_t)side + max_side - 1) / max_side);
	if (f < min_factor)
		f = min_factor;
	c = tp_calloc(1, sizeof *c);
	if (!c)
		return tp_err(TP_ENOMEM, "out of memory for the coarse image");
	c->width = width;
	c->height = height;
	c->f = f;
	c->w = (uint32_t)(((uint64_t)width + f - 1) / f);
	c->h = (uint32_t)(((uint64_t)height + f - 1) / f);
	c->fmt = fmt;
	c->color = tp_pixfmt_color(fmt);
	c->hole = tp_calloc((size_t)c->w * c->h, 1);
	c->cnt = tp_calloc(c->w, sizeof *c->cnt);
	if (!c->hole || !c->cnt) {
		tiler_coarse_free(c);
		return tp_err(TP_ENOMEM, "out of memory for the coarse image");
	}
	*out = c;
	return TP_OK;
}

void tiler_coarse_set_range(struct tiler_coarse *c, double lo, double hi)
{
	c->fmt.lo = lo;
	c->fmt.hi = hi;
}

void tiler_coarse_free(struct tiler_coarse *c)
{
	if (!c)
		return;
	tp_free(c->hole);
	tp_free(c->img);
	tp_free(c->cnt);
	tp_free(c->sum);
	tp_free(c);
}

/* Pixels of the block behind cell (cx, cy). */
static uint32_t cell_area(const struct tiler_coarse *c, uint32_t cx, uint32_t cy)
{
	uint32_t bw = c->width - cx * c->f, bh = c->height - cy * c->f;
	return (bw < c->f ? bw : c->f) * (bh < c->f ? bh : c->f);
}

/* Is y the last image row of its row of cells? */
static int row_ends_cells(const struct tiler_coarse *c, uint32_t y)
{
	return (y + 1) % c->f == 0 || y + 1 == c->height;
}

void tiler_coarse_mask_row(struct tiler_coarse *c, uint32_t y, const uint8_t *mask_row)
{
	uint32_t cy = y / c->f;
	if (y >= c->height)
		return;
	/* from one masked pixel to the next: cells are small, masks sparse */
	for (size_t x = tp_next_set(mask_row, 0, c->width); x < c->width;) {
		size_t cx = x / c->f, end = (cx + 1) * c->f < c->width ? (cx + 1) * c->f : c->width;
		c->cnt[cx] += (uint32_t)tp_count_nonzero(mask_row + x, end - x);
		x = tp_next_set(mask_row, end, c->width);
	}
	if (!row_ends_cells(c, y))
		return;
	for (uint32_t cx = 0; cx < c->w; cx++) {
		c->hole[(size_t)cy * c->w + cx] = (uint64_t)c->cnt[cx] * 2 > cell_area(c, cx, cy);
		c->cnt[cx] = 0;
	}
}

tp_status tiler_coarse_image_begin(struct tiler_coarse *c)
{
	tp_free(c->img);
	tp_free(c->sum);
	c->img = tp_calloc((size_t)c->w * c->h * c->color, sizeof *c->img);
	c->sum = tp_calloc((size_t)c->w * c->color, sizeof *c->sum);
	if (!c->img || !c->sum)
		return tp_err(TP_ENOMEM, "out of memory for the coarse image");
	memset(c->cnt, 0, c->w * sizeof *c->cnt);
	return TP_OK;
}

void tiler_coarse_image_row(struct tiler_coarse *c, uint32_t y, const void *src_row,
			    const uint8_t *mask_row)
{
	uint32_t cy = y / c->f, ch = c->fmt.channels, color = c->color;
	double maxv = c->fmt.sample != TP_SAMPLE_UINT ? 1.0 : c->fmt.bits == 8 ? 255.0 : 65535.0;
	if (y >= c->height)
		return;
	for (uint32_t x = 0; x < c->width; x++) {
		uint32_t cx = x / c->f;
		double *s = c->sum + (size_t)cx * color;
		if (mask_row[x])
			continue;
		c->cnt[cx]++;
		if (c->fmt.sample != TP_SAMPLE_UINT) {
			s[0] += tp_pixfmt_unit(&c->fmt, src_row, x);   /* one channel */
		} else if (c->fmt.bits == 8) {
			const uint8_t *p = (const uint8_t *)src_row + (size_t)x * ch;
			for (uint32_t k = 0; k < color; k++)
				s[k] += p[k];
		} else {
			const uint16_t *p = (const uint16_t *)src_row + (size_t)x * ch;
			for (uint32_t k = 0; k < color; k++)
				s[k] += p[k];
		}
	}
	if (!row_ends_cells(c, y))
		return;
	for (uint32_t cx = 0; cx < c->w; cx++) {
		size_t k = (size_t)cy * c->w + cx;
		/* a cell the mask pass called known has a known pixel; the test
		 * only guards against a mask that changed between the passes */
		if (c->cnt[cx] == 0)
			c->hole[k] = 1;
		for (uint32_t q = 0; q < color; q++)
			c->img[k * color + q] = c->hole[k] ? 0.0f
				: (float)(c->sum[(size_t)cx * color + q] / maxv / (double)c->cnt[cx]);
		c->cnt[cx] = 0;
	}
	memset(c->sum, 0, (size_t)c->w * color * sizeof *c->sum);
}

/* Source cells and weight along one axis for image coordinate v. */
static void axis(uint32_t v, uint32_t f, uint32_t n, uint32_t *i0, uint32_t *i1, float *a)
{
	float g = ((float)v + 0.5f) / (float)f - 0.5f;
	if (g <= 0.0f) {
		*i0 = *i1 = 0;
		*a = 0.0f;
		return;
	}
	*i0 = (uint32_t)g;
	if (*i0 >= n - 1) {
		*i0 = *i1 = n - 1;
		*a = 0.0f;
		return;
	}
	*i1 = *i0 + 1;
	*a = g - (float)*i0;
}

void tiler_coarse_resample(const struct tiler_coarse *c, struct tp_rect r, float *out)
{
	uint32_t color = c->color;
	TP_ASSERT(c->img && r.x >= 0 && r.y >= 0 && r.w > 0 && r.h > 0 &&
		  (uint32_t)tp_rect_right(r) <= c->width && (uint32_t)tp_rect_bottom(r) <= c->height);
	for (int32_t ly = 0; ly < r.h; ly++) {
		uint32_t y0, y1;
		float ay;
		axis((uint32_t)(r.y + ly), c->f, c->h, &y0, &y1, &ay);
		for (int32_t lx = 0; lx < r.w; lx++) {
			uint32_t x0, x1;
			float ax;
			const float *p00, *p01, *p10, *p11;
			float *o = out + ((size_t)ly * r.w + lx) * color;
			axis((uint32_t)(r.x + lx), c->f, c->w, &x0, &x1, &ax);
			p00 = c->img + ((size_t)y0 * c->w + x0) * color;
			p01 = c->img + ((size_t)y0 * c->w + x1) * color;
			p10 = c->img + ((size_t)y1 * c->w + x0) * color;
			p11 = c->img + ((size_t)y1 * c->w + x1) * color;
			for (uint32_t q = 0; q < color; q++) {
				float top = p00[q] + ax * (p01[q] - p00[q]);
				float bot = p10[q] + ax * (p11[q] - p10[q]);
				o[q] = top + ay * (bot - top);
			}
		}
	}
}
