/*
 * mask.c - streaming Euclidean disk dilation of a binary mask.
 * Each pushed row is reduced to the horizontal distance to its nearest set
 * pixel (saturated at radius + 1, one byte each); output row y is the OR over
 * dy in [-r, r] of (hdist[y + dy][x] <= floor(sqrt(r^2 - dy^2))). A ring of
 * min(2r + 1, height) distance rows is the only per-row state, and each row
 * remembers the span of its set pixels so empty and sparse rows cost little.
 */
#include "tiler.h"

#include <string.h>

/* Largest radius whose saturated distance (radius + 1) fits a byte. */
#define DILATE_MAX_RADIUS 254u

struct tiler_dilate {
	uint32_t width, height, radius;
	uint32_t ring;          /* rows in the ring: min(2r + 1, height) */
	uint32_t pushed;        /* input rows pushed so far */
	uint32_t popped;        /* output rows popped so far */
	uint8_t *hdist;         /* (ring, width) distance to nearest set pixel, <= r + 1 */
	int32_t *lo, *hi;       /* (ring) first / last set column; lo > hi when none */
	uint8_t *thr;           /* (radius + 1) floor(sqrt(r^2 - dy^2)) */
	/* Scratch of one pop, (ring) entries: the rows with a set pixel. */
	const uint8_t **act_h;  /* distance row */
	uint8_t *act_t;         /* (ring, 16) its threshold, repeated for a vector load */
	int32_t *act_x0, *act_x1; /* columns it can reach, inclusive */
};

/* Largest t with t * t <= v. */
static uint32_t isqrt_u64(uint64_t v)
{
	uint64_t t = 0, bit = 1;
	while (bit * bit <= v && bit < (1ull << 32))
		bit <<= 1;
	for (; bit; bit >>= 1)
		if ((t + bit) * (t + bit) <= v)
			t += bit;
	return (uint32_t)t;
}

tp_status tiler_dilate_new(uint32_t width, uint32_t height, uint32_t radius,
			   struct tiler_dilate **out)
{
	struct tiler_dilate *d = NULL;
	tp_status st = TP_OK;
	size_t n;

	*out = NULL;
	if (width == 0 || height == 0) {
		st = tp_err(TP_EUSAGE, "mask dilation: empty mask (%ux%u)", width, height);
		goto out;
	}
	if (radius > DILATE_MAX_RADIUS) {
		st = tp_err(TP_EUSAGE, "mask dilation: radius %u too large (at most %u)",
			    radius, DILATE_MAX_RADIUS);
		goto out;
	}
	d = tp_calloc(1, sizeof(*d));
	if (!d) {
		st = tp_err(TP_ENOMEM, "mask dilation: out of memory");
		goto out;
	}
	d->width = width;
	d->height = height;
	d->radius = radius;
	d->ring = 2 * radius + 1 < height ? 2 * radius + 1 : height;
	if (tp_mul_overflow(d->ring, width, &n) ||
	    !(d->hdist = tp_malloc(n)) ||
	    !(d->lo = tp_malloc(d->ring * sizeof(*d->lo))) ||
	    !(d->hi = tp_malloc(d->ring * sizeof(*d->hi))) ||
	    !(d->thr = tp_malloc(radius + 1)) ||
	    !(d->act_h = tp_malloc(d->ring * sizeof(*d->act_h))) ||
	    !(d->act_t = tp_malloc(d->ring * (size_t)16)) ||
	    !(d->act_x0 = tp_malloc(d->ring * sizeof(*d->act_x0))) ||
	    !(d->act_x1 = tp_malloc(d->ring * sizeof(*d->act_x1)))) {
		st = tp_err(TP_ENOMEM, "mask dilation: out of memory for %u rows of %u pixels",
			    d->ring, width);
		goto out;
	}
	for (uint32_t dy = 0; dy <= radius; dy++)
		d->thr[dy] = (uint8_t)isqrt_u64((uint64_t)radius * radius - (uint64_t)dy * dy);
	*out = d;
	d = NULL;
out:
	tiler_dilate_free(d);
	return st;
}

void tiler_dilate_free(struct tiler_dilate *d)
{
	if (!d)
		return;
	tp_free(d->hdist);
	tp_free(d->lo);
	tp_free(d->hi);
	tp_free(d->thr);
	tp_free(d->act_h);
	tp_free(d->act_t);
	tp_free(d->act_x0);
	tp_free(d->act_x1);
	tp_free(d);
}

/* Last column with a nonzero byte, or -1; 8 bytes at a time (the first is
 * tp_next_set's). */
static int32_t last_set(const uint8_t *row, uint32_t w)
{
	uint32_t x = w;
	for (; x >= 8; x -= 8) {
		uint64_t v;
		memcpy(&v, row + x - 8, 8);
		if (v)
			break;
	}
	while (x-- > 0)
		if (row[x])
			return (int32_t)x;
	return -1;
}

/* Whether output row y can be made: its last input row was pushed. */
static int row_available(const struct tiler_dilate *d, uint32_t y)
{
	uint32_t need = y + d->radius < d->height - 1 ? y + d->radius : d->height - 1;
	return d->pushed > need;
}

tp_status tiler_dilate_push(struct tiler_dilate *d, const uint8_t *row)
{
	uint32_t w = d->width, cap = d->radius + 1;
	uint8_t *h;
	int32_t lo, hi;
	uint32_t dist;

	if (d->pushed >= d->height)
		return tp_err(TP_EUSAGE, "mask dilation: row %u pushed past the last row (%u)",
			      d->pushed, d->height);
	/* The ring drops row pushed - ring; output row `popped` still needs
	 * rows from popped - r, so every available output must be popped first. */
	if (d->popped < d->pushed && row_available(d, d->popped))
		return tp_err(TP_EUSAGE, "mask dilation: output row %u must be popped before "
			      "pushing row %u", d->popped, d->pushed);
	h = d->hdist + (size_t)(d->pushed % d->ring) * w;
	lo = (int32_t)tp_next_set(row, 0, w);
	if ((uint32_t)lo == w) {
		memset(h, (int)cap, w);
		lo = 1;
		hi = 0;
		goto done;
	}
	hi = last_set(row, w);
	/* Branch-free passes (masks are often noisy): left of lo the distance
	 * is to lo; from lo on, left-to-right then right-to-left down to lo. */
	for (uint32_t x = 0; x < (uint32_t)lo; x++)
		h[x] = (uint8_t)((uint32_t)lo - x < cap ? (uint32_t)lo - x : cap);
	dist = 0;
	for (uint32_t x = (uint32_t)lo; x < w; x++) {
		uint32_t nd = dist < cap ? dist + 1 : cap;
		dist = row[x] ? 0 : nd;
		h[x] = (uint8_t)dist;
	}
	dist = 0;
	for (uint32_t x = (uint32_t)hi; x > (uint32_t)lo; x--) {
		uint32_t nd = dist < cap ? dist + 1 : cap;
		dist = row[x] ? 0 : nd;
		h[x] = (uint8_t)(dist < h[x] ? dist : h[x]);
	}
done:
	d->lo[d->pushed % d->ring] = lo;
	d->hi[d->pushed % d->ring] = hi;
	d->pushed++;
	return TP_OK;
}

/*
 * out[i] |= (h[i] <= t) for i < n: the inner loop of every output row, so it
 * runs 16 bytes at a time (GCC vector extensions: SSE2 on x86-64, NEON on
 * arm64, plain code elsewhere) and is exact like the scalar tail.
 */
typedef uint8_t v16u8 __attribute__((vector_size(16)));
static void or_within(uint8_t *out, const uint8_t *h, size_t n, uint8_t t)
{
	const v16u8 tv = (v16u8){ 0 } + t, one = (v16u8){ 0 } + 1;
	size_t i = 0;

	for (; i + 16 <= n; i += 16) {
		v16u8 hv, ov;
		memcpy(&hv, h + i, 16);
		memcpy(&ov, out + i, 16);
		ov |= (v16u8)(hv <= tv) & one;
		memcpy(out + i, &ov, 16);
	}
	for (; i < n; i++)
		out[i] |= (uint8_t)(h[i] <= t);
}

/*
 * Output row from the active distance rows all at once, 16 columns at a
 * time over [x0, x1]: the accumulator stays in a register and the output is
 * written once (instead of once per row). Columns outside a row's own span
 * are safe to test: their distances exceed that row's threshold.
 */
static void or_blocked(const struct tiler_dilate *d, uint32_t nact, uint8_t *row,
		       uint32_t x0, uint32_t x1)
{
	const v16u8 one = (v16u8){ 0 } + 1;
	uint32_t x = x0;

	for (; x + 16 <= x1 + 1; x += 16) {
		v16u8 acc = { 0 };
		for (uint32_t k = 0; k < nact; k++) {
			v16u8 hv, tv;
			memcpy(&hv, d->act_h[k] + x, 16);
			memcpy(&tv, d->act_t + 16 * (size_t)k, 16);
			acc |= (v16u8)(hv <= tv);
		}
		acc &= one;
		memcpy(row + x, &acc, 16);
	}
	for (; x <= x1; x++) {
		uint8_t v = 0;
		for (uint32_t k = 0; k < nact; k++)
			v |= (uint8_t)(d->act_h[k][x] <= d->act_t[16 * (size_t)k]);
		row[x] = v;
	}
}

int tiler_dilate_pop(struct tiler_dilate *d, uint8_t *row)
{
	uint32_t y = d->popped, r = d->radius, w = d->width;
	uint32_t y_lo, y_hi, nact = 0;
	int32_t ux0 = INT32_MAX, ux1 = -1;
	uint64_t span_sum = 0;

	if (y >= d->height || !row_available(d, y))
		return 0;
	memset(row, 0, w);
	y_lo = y >= r ? y - r : 0;
	y_hi = y + r < d->height - 1 ? y + r : d->height - 1;
	/* Rows with a set pixel, each with the span [x0, x1] it can reach. */
	for (uint32_t yy = y_lo; yy <= y_hi; yy++) {
		uint32_t slot = yy % d->ring;
		int32_t lo = d->lo[slot], hi = d->hi[slot];
		uint8_t t = d->thr[yy > y ? yy - y : y - yy];
		int32_t x0, x1;

		if (lo > hi)
			continue;
		x0 = lo - (int32_t)t > 0 ? lo - (int32_t)t : 0;
		x1 = hi + (int32_t)t < (int32_t)w - 1 ? hi + (int32_t)t : (int32_t)w - 1;
		d->act_h[nact] = d->hdist + (size_t)slot * w;
		memset(d->act_t + 16 * (size_t)nact, t, 16);
		d->act_x0[nact] = x0;
		d->act_x1[nact] = x1;
		span_sum += (uint64_t)(x1 - x0 + 1);
		ux0 = x0 < ux0 ? x0 : ux0;
		ux1 = x1 > ux1 ? x1 : ux1;
		nact++;
	}
	if (nact == 0)
		goto out;
	/* Wide spans: one blocked pass over their union. Narrow scattered
	 * spans (sparse masks): each row over its own span only. */
	if (span_sum * 2 >= (uint64_t)(ux1 - ux0 + 1) * nact) {
		or_blocked(d, nact, row, (uint32_t)ux0, (uint32_t)ux1);
	} else {
		for (uint32_t k = 0; k < nact; k++)
			or_within(row + d->act_x0[k], d->act_h[k] + d->act_x0[k],
				  (size_t)(d->act_x1[k] - d->act_x0[k] + 1), d->act_t[16 * (size_t)k]);
	}
out:
	d->popped++;
	return 1;
}
