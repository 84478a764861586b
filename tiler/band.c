/*
 * band.c - a ring of image rows with source samples, effective mask and
 * blend accumulators. Accumulators exist only for masked pixels: each row
 * keeps them packed in mask order (color sums, then the weight sum), found
 * through a per-64-column count of masked pixels, so memory and the cost of
 * push and emit grow with width plus masked pixels, not width x channels.
 * Invariant: an unmasked pixel and every alpha sample leave exactly as they came.
 */
#include "tiler_int.h"

#include <math.h>
#include <string.h>

struct tiler_band {
	uint32_t width;
	struct tp_pixfmt fmt;
	uint32_t color;           /* colour channels (channels - alpha) */
	uint32_t cap;             /* ring rows */
	uint32_t head;            /* ring slot of row y0 */
	uint32_t y0, nrows;       /* rows held: [y0, y0 + nrows) */
	size_t row_bytes;         /* source bytes per row */
	uint8_t *src;             /* (cap, row_bytes) source samples */
	uint8_t *mask;            /* (cap, width) 0/1 */
	uint32_t nblk;            /* 64-column blocks per row: ceil(width / 64) */
	uint32_t *blk;            /* (cap, nblk) masked pixels of the row before each block */
	float **acc;              /* (cap) per row (masked, color + 1): sum w * value per
				   * colour channel, then sum w; in column order */
	size_t *acc_cap;          /* (cap) floats allocated in acc[slot] (kept for reuse) */
	float *wx;                /* (width) scratch: per-column weights of one tile */
	float *wy;                /* (cap) scratch: per-row weights of one tile */
	float lut8[256];          /* v / 255.0f: the same floats as dividing, without dividing */
};

size_t tiler_band_bytes(uint32_t width, struct tp_pixfmt fmt, uint32_t cap, size_t masked)
{
	size_t row = tp_pixfmt_row_bytes(fmt, width) + width + (width + 63) / 64 * sizeof(uint32_t);
	size_t stride = tp_pixfmt_color(fmt) + 1;
	return row * cap + (size_t)width * sizeof(float) + (size_t)cap * 64 +
	       masked * stride * sizeof(float) * 3 / 2 + (size_t)cap * stride * sizeof(float) * 2;
}

tp_status tiler_band_new(uint32_t width, struct tp_pixfmt fmt, uint32_t cap,
			 struct tiler_band **out)
{
	struct tiler_band *b = NULL;
	tp_status st = TP_OK;
	size_t px, n_src, n_blk;

	*out = NULL;
	if (width == 0 || cap == 0 || !tp_pixfmt_ok(fmt)) {
		st = tp_err(TP_EUSAGE, "band: unsupported layout (width %u, %u rows, %u channels "
			    "of %u bits%s)", width, cap, fmt.channels, fmt.bits,
			    fmt.alpha ? " with alpha" : "");
		goto out;
	}
	b = tp_calloc(1, sizeof(*b));
	if (!b) {
		st = tp_err(TP_ENOMEM, "band: out of memory");
		goto out;
	}
	b->width = width;
	b->fmt = fmt;
	for (int v = 0; v < 256; v++)
		b->lut8[v] = (float)v / 255.0f;
	b->color = tp_pixfmt_color(fmt);
	b->cap = cap;
	b->row_bytes = tp_pixfmt_row_bytes(fmt, width);
	b->nblk = (width + 63) / 64;
	if (tp_mul_overflow(width, cap, &px) ||
	    tp_mul_overflow(b->row_bytes, cap, &n_src) ||
	    tp_mul_overflow((size_t)b->nblk * sizeof(uint32_t), cap, &n_blk) ||
	    !(b->src = tp_malloc(n_src)) ||
	    !(b->mask = tp_malloc(px)) ||
	    !(b->blk = tp_malloc(n_blk)) ||
	    !(b->acc = tp_calloc(cap, sizeof(*b->acc))) ||
	    !(b->acc_cap = tp_calloc(cap, sizeof(*b->acc_cap))) ||
	    !(b->wx = tp_malloc(width * sizeof(float))) ||
	    !(b->wy = tp_malloc(cap * sizeof(float)))) {
		st = tp_err(TP_ENOMEM, "band: out of memory for %u rows of %u pixels", cap, width);
		goto out;
	}
	*out = b;
	b = NULL;
out:
	tiler_band_free(b);
	return st;
}

void tiler_band_free(struct tiler_band *b)
{
	if (!b)
		return;
	tp_free(b->src);
	tp_free(b->mask);
	if (b->acc)
		for (uint32_t i = 0; i < b->cap; i++)
			tp_free(b->acc[i]);
	tp_free(b->acc);
	tp_free(b->acc_cap);
	tp_free(b->blk);
	tp_free(b->wx);
	tp_free(b->wy);
	tp_free(b);
}

uint32_t tiler_band_y0(const struct tiler_band *b)
{
	return b->y0;
}

uint32_t tiler_band_nrows(const struct tiler_band *b)
{
	return b->nrows;
}

/* Ring slot of held row y (caller checked it is held). */
static size_t slot_of(const struct tiler_band *b, uint32_t y)
{
	return ((size_t)b->head + (y - b->y0)) % b->cap;
}

static int is_held(const struct tiler_band *b, uint32_t y)
{
	return y >= b->y0 && y - b->y0 < b->nrows;
}

tp_status tiler_band_push(struct tiler_band *b, const void *src_row, const uint8_t *mask_row)
{
	size_t s, need, stride = (size_t)b->color + 1;
	uint32_t *blk;
	uint8_t *m;
	uint32_t n = 0;

	if (b->nrows == b->cap)
		return tp_err(TP_EUSAGE, "band: full (%u rows from row %u); emit rows first",
			      b->cap, b->y0);
	s = ((size_t)b->head + b->nrows) % b->cap;
	m = b->mask + s * b->width;
	blk = b->blk + s * b->nblk;
	tp_to01(mask_row, m, b->width);
	if (tp_next_set(m, 0, b->width) == b->width) {
		memset(blk, 0, b->nblk * sizeof *blk);
	} else {
		for (uint32_t x = 0; x < b->width; x += 64) {
			blk[x >> 6] = n;
			n += (uint32_t)tp_count_nonzero(m + x, b->width - x < 64 ? b->width - x : 64);
		}
	}
	need = (size_t)n * stride;
	if (need > b->acc_cap[s]) {
		/* Grow to at least 1.5x so a slot settles after a few rows. */
		size_t grow = b->acc_cap[s] + b->acc_cap[s] / 2;
		size_t want = need > grow ? need : grow;
		float *p = tp_realloc(b->acc[s], want * sizeof(float));
		if (!p) {
			/* The slot stays consistent: the row is simply not pushed. */
			return tp_err(TP_ENOMEM, "band: out of memory for the accumulators of "
				      "row %u (%u masked pixels)", b->y0 + b->nrows, n);
		}
		b->acc[s] = p;
		b->acc_cap[s] = want;
	}
	if (need)
		memset(b->acc[s], 0, need * sizeof(float));
	if (src_row != b->src + s * b->row_bytes)   /* else read in place (next_src) */
		memcpy(b->src + s * b->row_bytes, src_row, b->row_bytes);
	b->nrows++;
	return TP_OK;
}

void *tiler_band_next_src(struct tiler_band *b)
{
	if (b->nrows == b->cap)
		return NULL;
	return b->src + ((size_t)b->head + b->nrows) % b->cap * b->row_bytes;
}

const void *tiler_band_src_row(const struct tiler_band *b, uint32_t y)
{
	if (!is_held(b, y))
		return NULL;
	return b->src + slot_of(b, y) * b->row_bytes;
}

const uint8_t *tiler_band_mask_row(const struct tiler_band *b, uint32_t y)
{
	if (!is_held(b, y))
		return NULL;
	return b->mask + slot_of(b, y) * b->width;
}

/* Misuse (a rectangle outside the band) would read rows not held: stop. */
static void check_rect(const struct tiler_band *b, struct tp_rect r)
{
	TP_ASSERT(r.x >= 0 && r.y >= 0 && r.w > 0 && r.h > 0);
	TP_ASSERT((uint64_t)r.x + (uint64_t)r.w <= b->width);
	TP_ASSERT(is_held(b, (uint32_t)r.y) && is_held(b, (uint32_t)(r.y + r.h - 1)));
}

/*
 * p[i] = src[i] / 255.0f, four at a time: a vector division is rounded as
 * the scalar one, so these are the same floats as lut8 (v / 255.0f).
 */
typedef float tiler_v4f __attribute__((vector_size(16)));
typedef int32_t tiler_v4i __attribute__((vector_size(16)));
static void to_float8(const uint8_t *src, float *p, size_t n)
{
	const tiler_v4f d = { 255.0f, 255.0f, 255.0f, 255.0f };
	size_t i = 0;
	for (; i + 4 <= n; i += 4) {
		tiler_v4i v = { src[i], src[i + 1], src[i + 2], src[i + 3] };
		tiler_v4f f = __builtin_convertvector(v, tiler_v4f) / d;
		memcpy(p + i, &f, sizeof f);
	}
	for (; i < n; i++)
		p[i] = (float)src[i] / 255.0f;
}

void tiler_band_tile_get(const struct tiler_band *b, struct tp_rect r, float *pix, uint8_t *mask)
{
	uint32_t ch = b->fmt.channels, color = b->color;

	check_rect(b, r);
	for (int32_t ly = 0; ly < r.h; ly++) {
		size_t s = slot_of(b, (uint32_t)(r.y + ly));
		const uint8_t *m = b->mask + s * b->width + r.x;
		float *p;

		memcpy(mask + (size_t)ly * r.w, m, (size_t)r.w);
		if (!pix)
			continue;
		p = pix + (size_t)ly * r.w * color;
		if (b->fmt.sample != TP_SAMPLE_UINT) {
			const uint8_t *src = b->src + s * b->row_bytes;
			for (int32_t lx = 0; lx < r.w; lx++)
				p[lx] = tp_pixfmt_unit(&b->fmt, src, (size_t)r.x + (size_t)lx);
		} else if (b->fmt.bits == 8) {
			const uint8_t *src = b->src + s * b->row_bytes + (size_t)r.x * ch;
			if (color == ch) {
				to_float8(src, p, (size_t)r.w * ch);
				continue;
			}
			for (int32_t lx = 0; lx < r.w; lx++)
				for (uint32_t c = 0; c < color; c++)
					p[(size_t)lx * color + c] = b->lut8[src[(size_t)lx * ch + c]];
		} else {
			const uint16_t *src = (const uint16_t *)(b->src + s * b->row_bytes) +
					      (size_t)r.x * ch;
			for (int32_t lx = 0; lx < r.w; lx++)
				for (uint32_t c = 0; c < color; c++)
					p[(size_t)lx * color + c] = (float)src[(size_t)lx * ch + c] / 65535.0f;
		}
	}
}

void tiler_band_tile_add(struct tiler_band *b, const struct tiler_plan *plan,
			 const struct tiler_tile *t, const float *pix)
{
	tiler_band_rect_add(b, plan, t, t->r, pix);
}

void tiler_band_rect_add(struct tiler_band *b, const struct tiler_plan *plan,
			 const struct tiler_tile *t, struct tp_rect r, const float *pix)
{
	uint32_t color = b->color, w = (uint32_t)r.w, h = (uint32_t)r.h;
	uint32_t ox = (uint32_t)(r.x - t->r.x), oy = (uint32_t)(r.y - t->r.y);
	int il = tiler_inner_left(plan, t), ir = tiler_inner_right(plan, t);
	int it = tiler_inner_top(plan, t), ib = tiler_inner_bottom(plan, t);

	check_rect(b, r);
	TP_ASSERT(plan->width == b->width);
	TP_ASSERT(r.x >= t->r.x && r.y >= t->r.y && tp_rect_right(r) <= tp_rect_right(t->r) &&
		  tp_rect_bottom(r) <= tp_rect_bottom(t->r));
	/* Same floats as tiler_weight(): w = wx * wy from tiler_axis_weight, at
	 * the pixel's place in the whole tile. */
	for (uint32_t lx = 0; lx < w; lx++)
		b->wx[lx] = tiler_axis_weight(plan->overlap, ox + lx, (uint32_t)t->r.w, il, ir);
	for (uint32_t ly = 0; ly < h; ly++)
		b->wy[ly] = tiler_axis_weight(plan->overlap, oy + ly, (uint32_t)t->r.h, it, ib);
	for (uint32_t ly = 0; ly < h; ly++) {
		size_t s = slot_of(b, (uint32_t)r.y + ly);
		const uint8_t *row_m = b->mask + s * b->width;
		const uint8_t *m = row_m + r.x;
		const float *p = pix + (size_t)ly * w * color;
		float wy = b->wy[ly];
		uint32_t x0 = (uint32_t)r.x, idx = b->blk[s * b->nblk + (x0 >> 6)];
		float *acc;

		if (!b->acc[s])
			continue;   /* no masked pixel has ever used this slot */
		/* Packed index of the first masked pixel at or after x0. */
		for (uint32_t x = x0 & ~63u; x < x0; x++)
			idx += row_m[x];
		acc = b->acc[s] + (size_t)idx * (color + 1);
		for (uint32_t lx = (uint32_t)tp_next_set(m, 0, w); lx < w;
		     lx = (uint32_t)tp_next_set(m, lx + 1, w)) {
			float wgt = b->wx[lx] * wy;
			for (uint32_t c = 0; c < color; c++)
				acc[c] += wgt * p[(size_t)lx * color + c];
			acc[color] += wgt;
			acc += color + 1;
		}
	}
}

int tp_pixfmt_ok(struct tp_pixfmt f)
{
	if (f.sample == TP_SAMPLE_UINT)
		return f.channels >= 1 && f.channels <= 4 && (f.bits == 8 || f.bits == 16) &&
		       (!f.alpha || f.channels >= 2);
	return f.channels == 1 && !f.alpha && f.lo < f.hi && f.hi - f.lo < HUGE_VAL &&
	       (f.sample == TP_SAMPLE_INT ? f.bits == 16 : f.sample == TP_SAMPLE_FLOAT && f.bits == 32);
}

/* A masked INT or FLOAT sample from its blend: lo + acc / wsum * (hi - lo),
 * rounded and clamped to int16 for INT. */
static void put_measured(const struct tp_pixfmt *f, uint8_t *row, uint32_t x, float acc, float ws)
{
	double v = f->lo + (double)(acc / ws) * (f->hi - f->lo);
	if (f->sample == TP_SAMPLE_FLOAT) {
		((float *)(void *)row)[x] = (float)v;
		return;
	}
	v = floor(v + 0.5);
	((int16_t *)(void *)row)[x] = (int16_t)(v < -32768.0 ? -32768.0 : v > 32767.0 ? 32767.0 : v);
}

/* round(acc / wsum * maxval), clamped to [0, maxval]; NaN gives 0. */
static uint32_t to_sample(float acc, float wsum, float maxval)
{
	float f = acc / wsum * maxval + 0.5f;
	if (!(f > 0.0f))
		return 0;
	if (f >= maxval)
		return (uint32_t)maxval;
	return (uint32_t)f;
}

const void *tiler_band_emit_row(struct tiler_band *b)
{
	uint32_t ch = b->fmt.channels, color = b->color;
	size_t s = b->head;
	const uint8_t *m = b->mask + s * b->width;
	const float *acc = b->acc[s];
	uint8_t *dst = b->src + s * b->row_bytes;

	TP_ASSERT(b->nrows > 0);
	for (uint32_t x = (uint32_t)tp_next_set(m, 0, b->width); x < b->width;
	     x = (uint32_t)tp_next_set(m, x + 1, b->width)) {
		float ws = acc[color];
		if (ws > 0.0f) {
			if (b->fmt.sample != TP_SAMPLE_UINT) {
				put_measured(&b->fmt, dst, x, acc[0], ws);
			} else if (b->fmt.bits == 8) {
				uint8_t *d8 = dst + (size_t)x * ch;
				for (uint32_t c = 0; c < color; c++)
					d8[c] = (uint8_t)to_sample(acc[c], ws, 255.0f);
			} else {
				uint16_t *d16 = (uint16_t *)dst + (size_t)x * ch;
				for (uint32_t c = 0; c < color; c++)
					d16[c] = (uint16_t)to_sample(acc[c], ws, 65535.0f);
			}
		}
		acc += color + 1;
	}
	b->head = (b->head + 1) % b->cap;
	b->y0++;
	b->nrows--;
	return dst;
}

void tiler_band_emit(struct tiler_band *b, uint32_t n, void *out, size_t stride)
{
	TP_ASSERT(n <= b->nrows);
	for (uint32_t i = 0; i < n; i++)
		memcpy((uint8_t *)out + i * stride, tiler_band_emit_row(b), b->row_bytes);
}
