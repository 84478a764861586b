/*
 * tiler_int.h - declarations private to tiler/ (not for other modules).
 * The 1-D blend ramp lives here so tiler_weight() and the band's per-tile
 * weight tables compute bit-identical floats.
 */
#ifndef TILER_INT_H
#define TILER_INT_H

#include "tiler.h"

/*
 * Weight along one axis of a tile of `len` pixels at tile-local position
 * `pos` (0 <= pos < len): the product of the ramps from the low edge (when
 * `inner_lo`) and the high edge (when `inner_hi`); a ramp at distance d from
 * its edge is smoothstep((d + 0.5) / overlap) for d < overlap, else 1.
 * Always in (0, 1].
 */
static inline float tiler_axis_weight(uint32_t overlap, uint32_t pos, uint32_t len,
				      int inner_lo, int inner_hi)
{
	float w = 1.0f;
	if (overlap == 0)
		return w;
	if (inner_lo && pos < overlap) {
		float t = ((float)pos + 0.5f) / (float)overlap;
		w *= t * t * (3.0f - 2.0f * t);
	}
	if (inner_hi && len - 1 - pos < overlap) {
		float t = ((float)(len - 1 - pos) + 0.5f) / (float)overlap;
		w *= t * t * (3.0f - 2.0f * t);
	}
	return w;
}

/* Whether tile `t` of `plan` has an inner (non-border) edge on each side. */
static inline int tiler_inner_left(const struct tiler_plan *p, const struct tiler_tile *t)
{
	(void)p;
	return t->r.x > 0;
}
static inline int tiler_inner_right(const struct tiler_plan *p, const struct tiler_tile *t)
{
	return (uint32_t)tp_rect_right(t->r) < p->width;
}
static inline int tiler_inner_top(const struct tiler_plan *p, const struct tiler_tile *t)
{
	(void)p;
	return t->r.y > 0;
}
static inline int tiler_inner_bottom(const struct tiler_plan *p, const struct tiler_tile *t)
{
	return (uint32_t)tp_rect_bottom(t->r) < p->height;
}

#endif
