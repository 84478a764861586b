/*
 * tiler.h - geometry and pixels of tiled inpainting; no I/O, no SQL.
 *
 *  - mask preparation: streaming disk dilation of a binary mask;
 *  - tile planning: overlapping tiles sized to an engine's multiple, with
 *    the count of masked pixels per tile (0 = skipped, never sent to an engine);
 *  - blending: smooth weights that fall towards 0 at a tile's inner edges
 *    (edges that are not the image border) and are normalised to sum to 1;
 *  - band buffers: a window of image rows that holds the source samples,
 *    the effective mask and the blend accumulators, composites (unmasked
 *    pixels copied verbatim) and hands out finished rows in order.
 *
 * Pixel samples are interleaved, 8-bit as uint8_t or 16-bit as native uint16_t,
 * as in src/io/raster.h. Masks are one byte per pixel, 0 or 1.
 * Nothing here is thread-safe unless said; the band loop owns these objects.
 */
#ifndef TILER_H
#define TILER_H

#include "../src/util/tp.h"

/* A rectangle of pixels: columns [x, x + w), rows [y, y + h). */
struct tp_rect {
	int32_t x, y, w, h;
};
static inline int32_t tp_rect_right(struct tp_rect r) { return r.x + r.w; }
static inline int32_t tp_rect_bottom(struct tp_rect r) { return r.y + r.h; }

/* ------------------------------------------------------------------ mask */

/*
 * Streaming dilation by a disk of radius `radius` (Euclidean: output pixel is
 * 1 when some input pixel within distance <= radius is 1; radius 0 = copy).
 * Push the input rows 0..height-1 in order; pop output rows in order. Output
 * row y becomes available once row min(y + radius, height - 1) was pushed.
 * Memory: O(width * (2 * radius + 1)) bytes; time O(width * (2 * radius + 1))
 * per row at worst (16 columns per vector step), less for sparse masks.
 * new: TP_EUSAGE for an empty mask or radius > 254; TP_ENOMEM. On failure
 * *out is NULL. The caller frees the object with tiler_dilate_free.
 */
struct tiler_dilate;
TP_MUST_USE tp_status tiler_dilate_new(uint32_t width, uint32_t height, uint32_t radius,
			   struct tiler_dilate **out);
/* Push the next input row (width bytes, 0 or nonzero; copied). Every output
 * row that is available must be popped before the next push (so push one,
 * pop until 0 works): the ring keeps only the rows the oldest unpopped
 * output needs. TP_EUSAGE past the last row or with an unpopped output. */
TP_MUST_USE tp_status tiler_dilate_push(struct tiler_dilate *d, const uint8_t *row);
/* Write the next output row into `row` (width bytes) and return 1, or return 0
 * when it is not available yet (push more) or all rows were popped. */
int tiler_dilate_pop(struct tiler_dilate *d, uint8_t *row);
void tiler_dilate_free(struct tiler_dilate *d);

/* ------------------------------------------------------------------ runs */

/*
 * A binary mask kept as the runs of its set pixels, row by row, while they
 * fit in `budget` bytes: the effective mask as the first pass over it saw
 * it, so that later passes rebuild rows from it instead of decoding the mask
 * file again. Add rows 0..height-1 in order; once they are all in and the
 * budget held, rows can be read back in any order. Memory: 8 bytes a row
 * and 8 a run (allocations doubling, capped by the budget). new: TP_EUSAGE
 * for an empty mask, TP_ENOMEM; a budget too small for even the rows gives
 * an object that keeps nothing. Free with tiler_runs_free (accepts NULL).
 */
struct tiler_runs;
TP_MUST_USE tp_status tiler_runs_new(uint32_t width, uint32_t height, size_t budget,
				     struct tiler_runs **out);
void tiler_runs_free(struct tiler_runs *r);
/* Add the next row (width bytes, nonzero = set). 1 while the runs are kept;
 * 0 once they went over the budget (or an allocation failed): everything is
 * then freed and later rows are ignored, so the mask must be read again. */
int tiler_runs_add(struct tiler_runs *r, const uint8_t *row);
/* Keep nothing from now on (what going over the budget does). */
void tiler_runs_drop(struct tiler_runs *r);
/* 1 when every row was added and kept (NULL: 0). */
int tiler_runs_complete(const struct tiler_runs *r);
/* The bytes allocated now (0 once dropped). */
size_t tiler_runs_bytes(const struct tiler_runs *r);
/* Row y as 0/1 bytes into dst (width bytes); returns its set pixels. Only
 * on complete runs (TP_ASSERT). */
uint64_t tiler_runs_row(const struct tiler_runs *r, uint32_t y, uint8_t *dst);

/* ------------------------------------------------------------------ plan */

struct tiler_plan_params {
	uint32_t width, height;   /* image size */
	uint32_t tile;            /* requested tile side (pixels) */
	uint32_t overlap;         /* requested overlap between neighbours (pixels) */
	uint32_t multiple;        /* engine's size multiple (1 = any) */
};

struct tiler_tile {
	struct tp_rect r;         /* in image coordinates */
	uint32_t row, col;        /* position in the tile grid */
	uint64_t masked;          /* masked pixels inside r (from tiler_plan_count_row) */
	struct tp_rect box;       /* the smallest rectangle holding them (w = 0: none) */
};

/*
 * The tile grid. Tile side T = tile rounded up to `multiple`; stride
 * S = T - overlap (overlap is clamped to T/2). Columns start at 0, S, 2S, ...;
 * the last column is moved left to end exactly at the image edge, so every
 * tile is T wide unless the image itself is narrower than T (then one column
 * of the image's width). Rows likewise. Tiles are numbered row-major:
 * index = row * ncols + col.
 */
struct tiler_plan {
	uint32_t width, height;
	uint32_t tile_w, tile_h;  /* T, or the image side when smaller */
	uint32_t overlap;         /* effective overlap used for the blend ramps */
	uint32_t ncols, nrows;
	size_t ntiles;            /* ncols * nrows */
	struct tiler_tile *tiles; /* (ntiles) */
	int32_t *col_x;           /* (ncols) x of each tile column */
	int32_t *row_y;           /* (nrows) y of each tile row */
	uint32_t row_masked_max;  /* at least the most masked pixels in one row (mask pass) */
};
/* TP_EUSAGE for a zero or > INT32_MAX image side, zero tile or multiple, or a
 * rounded tile side > INT32_MAX; TP_ENOMEM. On failure *out is NULL. The
 * caller frees the plan with tiler_plan_free. All masked counts start at 0. */
TP_MUST_USE tp_status tiler_plan_new(const struct tiler_plan_params *p, struct tiler_plan **out);
void tiler_plan_free(struct tiler_plan *plan);
/* Add the masked pixels (nonzero bytes) of effective-mask row `y` (width
 * bytes) to every tile containing it (their counts and boxes). Call once
 * per row; y >= height is ignored. */
void tiler_plan_count_row(struct tiler_plan *plan, uint32_t y, const uint8_t *mask_row);
/* Tiles with masked > 0. */
size_t tiler_plan_active(const struct tiler_plan *plan);
/*
 * Rows that are final once tile rows 0..r are blended: [0, tiler_plan_rows_done(plan, r)).
 * That is row_y[r + 1] for r < nrows - 1, and height for r >= nrows - 1.
 */
uint32_t tiler_plan_rows_done(const struct tiler_plan *plan, uint32_t r);

/*
 * Blend weight of tile-local pixel (lx, ly) of `t`: a product of two 1-D ramps.
 * Along each axis, at distance d (0 = the outermost pixel) from an inner edge,
 * the ramp is smoothstep((d + 0.5) / overlap) for d < overlap, else 1; along an
 * edge on the image border it is 1. Always in (0, 1] inside the tile; lx < t->r.w,
 * ly < t->r.h. tiler_band_tile_add uses bit-identical weights.
 */
float tiler_weight(const struct tiler_plan *plan, const struct tiler_tile *t,
		   uint32_t lx, uint32_t ly);

/* ------------------------------------------------------------------ band */

/* How samples are stored (as src/io's io_sample). */
enum tp_sample {
	TP_SAMPLE_UINT = 0,       /* uint8_t or uint16_t */
	TP_SAMPLE_INT,            /* int16_t, one channel */
	TP_SAMPLE_FLOAT           /* float, one channel */
};

/*
 * Sample layout of the image being processed. Engines see samples as floats
 * in [0, 1]: unsigned ones as v / 255 or v / 65535; signed and float ones
 * through the image's range, (v - lo) / (hi - lo), which the job finds
 * before the band loop (the known samples' least and greatest), so the map
 * is the same for every tile and on every run. A non-finite float (NaN, an
 * infinity) reads as 0 (lo).
 */
struct tp_pixfmt {
	uint32_t channels;        /* 1..4, alpha included (1 for INT and FLOAT) */
	uint32_t bits;            /* 8 or 16 (UINT), 16 (INT), 32 (FLOAT) */
	int alpha;                /* last channel is alpha (never inpainted) */
	enum tp_sample sample;    /* 0 (UINT) unless set */
	double lo, hi;            /* INT, FLOAT: the values seen as 0 and 1 (lo < hi) */
};
/* Colour channels an engine fills: channels - alpha. */
static inline uint32_t tp_pixfmt_color(struct tp_pixfmt f) { return f.channels - (f.alpha ? 1 : 0); }
static inline size_t tp_pixfmt_row_bytes(struct tp_pixfmt f, uint32_t width)
{
	return (size_t)width * f.channels * (f.bits / 8);
}
/* A layout the band and the coarse image take: 1..4 channels of 8/16-bit
 * unsigned samples (alpha with 2 or 4), or one channel of int16 or float
 * with lo < hi (both finite). */
int tp_pixfmt_ok(struct tp_pixfmt f);
/* Sample i (counting samples, not pixels) of a row of an INT or FLOAT
 * layout in engine units: (v - lo) / (hi - lo); non-finite samples 0. */
static inline float tp_pixfmt_unit(const struct tp_pixfmt *f, const void *row, size_t i)
{
	double v = f->sample == TP_SAMPLE_FLOAT ? (double)((const float *)row)[i]
		   : (double)((const int16_t *)row)[i];
	if (!(v - v == 0.0))
		return 0.0f;   /* NaN or an infinity */
	return (float)((v - f->lo) / (f->hi - f->lo));
}

/*
 * A window of consecutive image rows [y0, y0 + nrows), at most `cap` rows,
 * holding for each row: source samples, effective mask, and blend
 * accumulators (sum of weight * value per colour channel, and sum of weights).
 * Rows enter at the bottom (push) and leave at the top (emit); the first row
 * pushed is image row 0. Memory: cap * width * (bytes per pixel + 1.07) for
 * samples and mask, plus 4 * (color + 1) bytes per masked pixel for the
 * accumulators, which exist only for masked pixels (each ring slot keeps its
 * largest allocation for reuse). push returns TP_ENOMEM when a row's
 * accumulators cannot be allocated (the row is then not pushed).
 * new: TP_EUSAGE for width or cap 0 or a layout tp_pixfmt_ok refuses;
 * TP_ENOMEM. Free with tiler_band_free.
 * Misuse of tile_get / tile_add / emit (rows not held, a rectangle outside
 * the band) stops the program with TP_ASSERT: it would corrupt an output.
 */
struct tiler_band;
TP_MUST_USE tp_status tiler_band_new(uint32_t width, struct tp_pixfmt fmt, uint32_t cap,
			 struct tiler_band **out);
void tiler_band_free(struct tiler_band *b);
/* The most a band of `cap` rows holds when at most `masked` masked pixels
 * are in it at once (accumulators grow by half again: counted). */
size_t tiler_band_bytes(uint32_t width, struct tp_pixfmt fmt, uint32_t cap, size_t masked);
/* First row held and the number held. */
uint32_t tiler_band_y0(const struct tiler_band *b);
uint32_t tiler_band_nrows(const struct tiler_band *b);
/* Append image row y0 + nrows: its samples and its effective-mask row
 * (copied). Accumulators of the new row start at 0. TP_EUSAGE when full. */
TP_MUST_USE tp_status tiler_band_push(struct tiler_band *b, const void *src_row, const uint8_t *mask_row);
/* Where the next pushed row's samples go (NULL when the band is full): a
 * reader may decode into it and push that pointer, which saves the copy. */
void *tiler_band_next_src(struct tiler_band *b);
/* Borrowed pointers to a held row (NULL when not held). */
const void *tiler_band_src_row(const struct tiler_band *b, uint32_t y);
const uint8_t *tiler_band_mask_row(const struct tiler_band *b, uint32_t y);
/*
 * Copy rectangle `r` (all rows held) out of the band for an engine:
 * `pix` (r.h, r.w, color) floats in [0, 1] (sample / 255 or / 65535, or
 * through the range of an INT or FLOAT layout; alpha dropped), `mask`
 * (r.h, r.w) 0/1. Masked pixels' values are the source's
 * (engines must not read them; most overwrite them first). pix NULL: the
 * mask only. Reads only the samples and mask, so threads may cut tiles
 * while another adds to the accumulators (tiler_band_tile_add).
 */
void tiler_band_tile_get(const struct tiler_band *b, struct tp_rect r, float *pix, uint8_t *mask);
/*
 * Blend an engine result for tile `t` of `plan`: `pix` is (t->r.h, t->r.w, color)
 * in [0, 1]; for every masked pixel, acc += w * value and wsum += w with
 * w = tiler_weight(). Unmasked pixels are ignored. All rows of t->r must be held.
 * Results must be added in a fixed order (tile index) for reproducible sums.
 */
void tiler_band_tile_add(struct tiler_band *b, const struct tiler_plan *plan,
			 const struct tiler_tile *t, const float *pix);
/* The same for a result over part of the tile: `r` (inside t->r, rows held)
 * with pix (r.h, r.w, color), weighted as those pixels are in the whole
 * tile. Every masked pixel of the tile must lie in r (its box, tiler_tile)
 * for the sums to be the whole tile's. */
void tiler_band_rect_add(struct tiler_band *b, const struct tiler_plan *plan,
			 const struct tiler_tile *t, struct tp_rect r, const float *pix);
/*
 * Finish the top `n` rows and drop them from the band: each row is written to
 * out + i * stride in the source layout. Unmasked pixels (and every alpha
 * sample) are copied from the source verbatim; masked colour samples are
 * round(acc / wsum * maxval), clamped (INT: round(lo + acc / wsum * (hi -
 * lo)), clamped to int16; FLOAT: that value as a float); a masked pixel with wsum == 0 (no tile
 * covered it, which a correct plan never allows) keeps its source value.
 */
void tiler_band_emit(struct tiler_band *b, uint32_t n, void *out, size_t stride);
/* The first held row, finished in place (as tiler_band_emit writes it), and
 * dropped from the band: the pointer stays valid until the next push. Saves
 * the writer's copy. At least one row must be held. */
const void *tiler_band_emit_row(struct tiler_band *b);

/* ------------------------------------------------------------------ coarse */

/*
 * A coarse copy of the whole image, for a guide (see engine_tile.guide): the
 * image shrunk by an integer factor f, the smallest >= min_factor that brings
 * the longer side to at most max_side. Each coarse pixel ("cell") stands for
 * an f x f block (partial blocks at the right and bottom edges); it is a hole
 * when more than half of the block is masked, else the mean of the block's
 * known pixels (masked pixels never contribute, so their stale values cannot
 * leak in). Built in two streaming passes over rows 0..height-1 in order:
 * the effective mask alone (tiler_coarse_mask_row), then, after
 * tiler_coarse_image_begin, the samples with the same mask rows
 * (tiler_coarse_image_row). Memory: w x h x (1 + 4 x color) bytes and one
 * coarse row of accumulators, whatever the image size.
 */
struct tiler_coarse {
	uint32_t width, height;   /* image size, pixels */
	uint32_t f;               /* image pixels per cell along each axis */
	uint32_t w, h;            /* cells: ceil(width / f) x ceil(height / f) */
	uint32_t color;           /* colour channels in img (alpha dropped) */
	uint8_t *hole;            /* (h, w) 1 = hole; complete after the mask pass */
	float *img;               /* (h, w, color) in [0, 1]: cell means, 0 in holes; complete
				   * after the image pass (NULL before tiler_coarse_image_begin) */
	/* private: accumulators for one row of cells */
	struct tp_pixfmt fmt;
	uint32_t *cnt;            /* (w) masked pixels (mask pass), known pixels (image pass) */
	double *sum;              /* (w, color) sums of known samples / maxval (image pass) */
};
/* TP_EUSAGE for a zero image side, max_side or min_factor, or a format the
 * band would refuse; TP_ENOMEM. On failure *out is NULL. Free with
 * tiler_coarse_free (accepts NULL). */
TP_MUST_USE tp_status tiler_coarse_new(uint32_t width, uint32_t height, struct tp_pixfmt fmt,
			   uint32_t max_side, uint32_t min_factor, struct tiler_coarse **out);
void tiler_coarse_free(struct tiler_coarse *c);
/* An INT or FLOAT layout's range (see tp_pixfmt), once the job knows it:
 * before tiler_coarse_image_begin. */
void tiler_coarse_set_range(struct tiler_coarse *c, double lo, double hi);
/* Mask pass: effective-mask row y (width bytes, nonzero = masked). */
void tiler_coarse_mask_row(struct tiler_coarse *c, uint32_t y, const uint8_t *mask_row);
/* Start the image pass (allocates img and the sums): TP_ENOMEM. */
TP_MUST_USE tp_status tiler_coarse_image_begin(struct tiler_coarse *c);
/* Image pass: row y's samples (the source layout) and its effective-mask row. */
void tiler_coarse_image_row(struct tiler_coarse *c, uint32_t y, const void *src_row,
			    const uint8_t *mask_row);
/*
 * Bilinear resampling of img over image rectangle r (inside the image) into
 * out (r.h, r.w, color): pixel (x, y) reads img at ((x + 0.5) / f - 0.5,
 * (y + 0.5) / f - 0.5), clamped to the cells' centres at the edges. The same
 * rectangle always gives the same floats.
 */
void tiler_coarse_resample(const struct tiler_coarse *c, struct tp_rect r, float *out);

#endif
