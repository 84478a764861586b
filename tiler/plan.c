/*
 * plan.c - the tile grid, masked-pixel counts per tile and blend weights.
 * Invariants: tiles cover the image, lie inside it, are tile_w x tile_h
 * (T, a multiple of the engine's, unless the image side is smaller); the
 * blend weight is > 0 everywhere inside a tile and 1 along image borders.
 */
#include "tiler_int.h"

#include <string.h>


/*
 * Starts of the tiles along one axis of `size` pixels with tile side `t`
 * (<= size) and stride `s` (1 <= s <= t): 0, s, 2s, ..., and a last start at
 * size - t. Returns the count; writes the starts when `starts` is not NULL.
 */
static uint32_t axis_starts(uint32_t size, uint32_t t, uint32_t s, int32_t *starts)
{
	uint32_t n;

	if (size <= t) {
		if (starts)
			starts[0] = 0;
		return 1;
	}
	/* Starts k * s with k * s < size - t, then size - t. */
	n = (uint32_t)(((uint64_t)(size - t) + s - 1) / s) + 1;
	if (starts) {
		for (uint32_t k = 0; k + 1 < n; k++)
			starts[k] = (int32_t)((uint64_t)k * s);
		starts[n - 1] = (int32_t)(size - t);
	}
	return n;
}

tp_status tiler_plan_new(const struct tiler_plan_params *p, struct tiler_plan **out)
{
	struct tiler_plan *plan = NULL;
	tp_status st = TP_OK;
	uint64_t t;
	uint32_t ov, s;
	size_t n;

	*out = NULL;
	if (p->width == 0 || p->height == 0 || p->width > INT32_MAX || p->height > INT32_MAX) {
		st = tp_err(TP_EUSAGE, "tile plan: unsupported image size %ux%u",
			    p->width, p->height);
		goto out;
	}
	if (p->tile == 0 || p->multiple == 0) {
		st = tp_err(TP_EUSAGE, "tile plan: tile size (%u) and multiple (%u) must be > 0",
			    p->tile, p->multiple);
		goto out;
	}
	t = ((uint64_t)p->tile + p->multiple - 1) / p->multiple * p->multiple;
	if (t > INT32_MAX) {
		st = tp_err(TP_EUSAGE, "tile plan: tile size %u rounded to a multiple of %u "
			    "is too large", p->tile, p->multiple);
		goto out;
	}
	ov = p->overlap < t / 2 ? p->overlap : (uint32_t)(t / 2);
	s = (uint32_t)t - ov;

	plan = tp_calloc(1, sizeof(*plan));
	if (!plan) {
		st = tp_err(TP_ENOMEM, "tile plan: out of memory");
		goto out;
	}
	plan->width = p->width;
	plan->height = p->height;
	plan->tile_w = p->width < t ? p->width : (uint32_t)t;
	plan->tile_h = p->height < t ? p->height : (uint32_t)t;
	plan->overlap = ov;
	plan->ncols = axis_starts(p->width, plan->tile_w, s, NULL);
	plan->nrows = axis_starts(p->height, plan->tile_h, s, NULL);
	if (tp_mul_overflow(plan->ncols, plan->nrows, &plan->ntiles) ||
	    tp_mul_overflow(plan->ntiles, sizeof(*plan->tiles), &n) ||
	    !(plan->tiles = tp_malloc(n)) ||
	    !(plan->col_x = tp_malloc(plan->ncols * sizeof(*plan->col_x))) ||
	    !(plan->row_y = tp_malloc(plan->nrows * sizeof(*plan->row_y)))) {
		st = tp_err(TP_ENOMEM, "tile plan: out of memory for %u x %u tiles",
			    plan->ncols, plan->nrows);
		goto out;
	}
	axis_starts(p->width, plan->tile_w, s, plan->col_x);
	axis_starts(p->height, plan->tile_h, s, plan->row_y);
	for (uint32_t r = 0; r < plan->nrows; r++) {
		for (uint32_t c = 0; c < plan->ncols; c++) {
			struct tiler_tile *tt = &plan->tiles[(size_t)r * plan->ncols + c];
			tt->r.x = plan->col_x[c];
			tt->r.y = plan->row_y[r];
			tt->r.w = (int32_t)plan->tile_w;
			tt->r.h = (int32_t)plan->tile_h;
			tt->row = r;
			tt->col = c;
			tt->masked = 0;
			tt->box = (struct tp_rect){ 0, 0, 0, 0 };
		}
	}
	*out = plan;
	plan = NULL;
out:
	tiler_plan_free(plan);
	return st;
}

void tiler_plan_free(struct tiler_plan *plan)
{
	if (!plan)
		return;
	tp_free(plan->tiles);
	tp_free(plan->col_x);
	tp_free(plan->row_y);
	tp_free(plan);
}

/* Index of the last nonzero byte of p[0, n) (one is known to be there). */
static size_t last_set(const uint8_t *p, size_t n)
{
	while (n >= 8) {
		uint64_t v;
		memcpy(&v, p + n - 8, sizeof v);
		if (v)
			break;
		n -= 8;
	}
	while (n > 0 && !p[n - 1])
		n--;
	return n - 1;
}

/* Grow box (w == 0: empty) to hold columns [x0, x1) of row y. */
static void box_add(struct tp_rect *b, int32_t x0, int32_t x1, int32_t y)
{
	if (b->w == 0) {
		*b = (struct tp_rect){ x0, y, x1 - x0, 1 };
		return;
	}
	if (x0 < b->x) {
		b->w += b->x - x0;
		b->x = x0;
	}
	if (x1 > b->x + b->w)
		b->w = x1 - b->x;
	if (y < b->y) {
		b->h += b->y - y;
		b->y = y;
	}
	if (y >= b->y + b->h)
		b->h = y + 1 - b->y;
}

void tiler_plan_count_row(struct tiler_plan *plan, uint32_t y, const uint8_t *mask_row)
{
	uint32_t r_first, r_last, lo, hi;

	if (y >= plan->height || tp_next_set(mask_row, 0, plan->width) == plan->width)
		return;
	/* Last tile row starting at or before y (row_y is increasing, row_y[0] = 0). */
	lo = 0;
	hi = plan->nrows - 1;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo + 1) / 2;
		if ((uint32_t)plan->row_y[mid] <= y)
			lo = mid;
		else
			hi = mid - 1;
	}
	r_last = lo;
	r_first = r_last;
	while (r_first > 0 && (uint32_t)plan->row_y[r_first - 1] + plan->tile_h > y)
		r_first--;
	size_t row_sum = 0;
	for (uint32_t c = 0; c < plan->ncols; c++) {
		const uint8_t *m = mask_row + plan->col_x[c];
		size_t cnt = tp_count_nonzero(m, plan->tile_w);
		int32_t x0, x1;
		if (!cnt)
			continue;
		row_sum += cnt;
		x0 = plan->col_x[c] + (int32_t)tp_next_set(m, 0, plan->tile_w);
		x1 = plan->col_x[c] + (int32_t)last_set(m, plan->tile_w) + 1;
		for (uint32_t r = r_first; r <= r_last; r++) {
			struct tiler_tile *t = &plan->tiles[(size_t)r * plan->ncols + c];
			t->masked += cnt;
			box_add(&t->box, x0, x1, (int32_t)y);
		}
	}
	if (row_sum > plan->width)   /* columns overlap: the sum only bounds the row */
		row_sum = plan->width;
	if (row_sum > plan->row_masked_max)
		plan->row_masked_max = (uint32_t)row_sum;
}

size_t tiler_plan_active(const struct tiler_plan *plan)
{
	size_t n = 0;
	for (size_t i = 0; i < plan->ntiles; i++)
		n += plan->tiles[i].masked > 0;
	return n;
}

uint32_t tiler_plan_rows_done(const struct tiler_plan *plan, uint32_t r)
{
	if (r >= plan->nrows - 1)
		return plan->height;
	return (uint32_t)plan->row_y[r + 1];
}

float tiler_weight(const struct tiler_plan *plan, const struct tiler_tile *t,
		   uint32_t lx, uint32_t ly)
{
	float wx = tiler_axis_weight(plan->overlap, lx, (uint32_t)t->r.w,
				     tiler_inner_left(plan, t), tiler_inner_right(plan, t));
	float wy = tiler_axis_weight(plan->overlap, ly, (uint32_t)t->r.h,
				     tiler_inner_top(plan, t), tiler_inner_bottom(plan, t));
	return wx * wy;
}
