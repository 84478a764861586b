/*
 * telea.c - fast-marching inpainting (A. Telea, J. Graphics Tools 9(1), 2004):
 * T is marched into the hole with a min-heap keyed by (T, image row, column);
 * each pixel is filled as it leaves the band, from known pixels within eps.
 * Invariant: a hole at least eps + 2 pixels inside its tile gets the same
 * floats whatever tile, thread or far-away holes it comes with.
 */
#include "engine.h"

#include <math.h>
#include <string.h>

#define TELEA_RADIUS_DEFAULT 5u
#define TELEA_RADIUS_MAX     64u
#define TELEA_TILE           512u    /* default tile side; scratch is pre-sized for it */
#define TELEA_INF            1.0e30f /* T of pixels not reached yet (finite: no inf - inf) */
/*
 * The paper's direction factor N . (p - q) / |p - q| is negative for known
 * pixels "ahead" of the front and zero across it. We use its absolute value
 * plus this floor, so every weight is positive and the weight sum of a pixel
 * with at least one known neighbour is never zero.
 */
#define TELEA_DIR_FLOOR      1.0e-3f

/* Pixel states in the padded grid. OUTSIDE is the frame around the tile. */
enum { F_OUTSIDE = 0, F_KNOWN = 1, F_BAND = 2, F_INSIDE = 3 };

/* Shared state from open(): only the options. */
struct telea_state {
	uint32_t radius;      /* eps, pixels, 1..64 */
};

/* One q = p + (dy, dx) of the disk |q - p| <= eps, q != p. */
struct telea_offset {
	int32_t fo;           /* offset in the padded grids (flag, t): dy * pw + dx */
	int32_t po;           /* offset in tile->pix, floats: (dy * w + dx) * channels */
	float rx, ry;         /* p - q = (-dx, -dy), pixels */
	float inv_len;        /* 1 / |p - q|, 1/pixels */
	float dst;            /* geometric weight d0^2 / |p - q|^2, d0 = 1 pixel */
	int16_t dx, dy;       /* the offset itself, pixels */
};

struct heap_node {
	float t;              /* T when inserted or last decreased */
	int32_t i;            /* padded grid index; row-major, so it orders ties by (y, x) */
};

/*
 * Per-thread scratch. The grids cover the tile plus a frame of `border`
 * OUTSIDE pixels, so neither the disk nor a gradient at its rim ever needs a
 * bounds check. Sized for the largest tile seen; grown, never shrunk.
 */
struct telea_worker {
	uint32_t radius;          /* eps */
	uint32_t border;          /* frame width = eps + 1 (disk, then the gradient's neighbour) */
	struct telea_offset *disk;/* (ndisk), in scan order (row by row), fixed per radius */
	size_t ndisk;
	uint32_t layout_w;        /* tile width the fo/po offsets were made for (0 = none) */
	uint32_t layout_c;        /* channels the po offsets were made for */
	size_t cap_grid;          /* padded pixels the grids hold */
	size_t cap_heap;          /* nodes the heap holds (>= masked pixels of a tile) */
	uint8_t *flag;            /* (cap_grid) F_* */
	float *t;                 /* (cap_grid) T, pixels; read only where flag != OUTSIDE */
	int32_t *pos;             /* (cap_grid) heap slot of each BAND pixel */
	struct heap_node *heap;   /* (cap_heap) binary min-heap */
	size_t nheap;
};

/* ------------------------------------------------------------------ heap */

static inline int node_less(struct heap_node a, struct heap_node b)
{
	return a.t < b.t || (a.t == b.t && a.i < b.i);
}

static void heap_up(struct telea_worker *wk, size_t k)
{
	struct heap_node *h = wk->heap;
	struct heap_node n = h[k];
	while (k > 0) {
		size_t parent = (k - 1) / 2;
		if (!node_less(n, h[parent]))
			break;
		h[k] = h[parent];
		wk->pos[h[k].i] = (int32_t)k;
		k = parent;
	}
	h[k] = n;
	wk->pos[n.i] = (int32_t)k;
}

static void heap_down(struct telea_worker *wk, size_t k)
{
	struct heap_node *h = wk->heap;
	size_t n = wk->nheap;
	struct heap_node x = h[k];
	for (;;) {
		size_t c = 2 * k + 1;
		if (c >= n)
			break;
		if (c + 1 < n && node_less(h[c + 1], h[c]))
			c++;
		if (!node_less(h[c], x))
			break;
		h[k] = h[c];
		wk->pos[h[k].i] = (int32_t)k;
		k = c;
	}
	h[k] = x;
	wk->pos[x.i] = (int32_t)k;
}

static void heap_push(struct telea_worker *wk, int32_t i, float t)
{
	wk->heap[wk->nheap].t = t;
	wk->heap[wk->nheap].i = i;
	wk->nheap++;
	heap_up(wk, wk->nheap - 1);
}

static int32_t heap_pop(struct telea_worker *wk)
{
	int32_t top = wk->heap[0].i;
	wk->nheap--;
	if (wk->nheap > 0) {
		wk->heap[0] = wk->heap[wk->nheap];
		heap_down(wk, 0);
	}
	return top;
}

/* ------------------------------------------------------------ marching */

/*
 * T at grid index i from its KNOWN 4-neighbours: the upwind solution of
 * |grad T| = 1 (the paper's solve(), taken over the four quadrants at once:
 * solve is increasing in both arguments, so the best quadrant uses the
 * smaller vertical and the smaller horizontal neighbour).
 */
static inline float telea_solve(const uint8_t *flag, const float *t, size_t i, size_t pw)
{
	float a = flag[i - pw] == F_KNOWN ? t[i - pw] : TELEA_INF;
	float b = flag[i + pw] == F_KNOWN ? t[i + pw] : TELEA_INF;
	float c = flag[i - 1] == F_KNOWN ? t[i - 1] : TELEA_INF;
	float d = flag[i + 1] == F_KNOWN ? t[i + 1] : TELEA_INF;
	float tv = a < b ? a : b, th = c < d ? c : d;
	float diff = tv - th;
	if (fabsf(diff) >= 1.0f)
		return (tv < th ? tv : th) + 1.0f;
	return (tv + th + sqrtf(2.0f - diff * diff)) * 0.5f;
}

/* One component of grad T at i along `step`: central where both neighbours
 * have a T (KNOWN or BAND), one-sided where one has, 0 where none. */
static inline float telea_grad_t(const uint8_t *flag, const float *t, size_t i, size_t step)
{
	int hi = flag[i + step] == F_KNOWN || flag[i + step] == F_BAND;
	int lo = flag[i - step] == F_KNOWN || flag[i - step] == F_BAND;
	if (hi && lo)
		return (t[i + step] - t[i - step]) * 0.5f;
	if (hi)
		return t[i + step] - t[i];
	if (lo)
		return t[i] - t[i - step];
	return 0.0f;
}

/*
 * One component of grad I at q from the forward difference `fwd` and the
 * backward one `bwd` (a missing neighbour's difference is 0). With both
 * neighbours known: minmod, the smaller slope when both agree in sign, else
 * 0. Plain central differences straddle edges, and the first-order estimate
 * then extrapolates half an edge's jump per pixel of |p - q| (up to eps),
 * which shows as bright star-shaped streaks at dark/light edges; minmod is
 * exact on linear ramps and never steeper than the data. One known
 * neighbour: that one-sided difference. None: 0.
 */
static inline float telea_slope(float fwd, float bwd, int both)
{
	/* Branch-free: (sign(fwd) + sign(bwd)) / 2 is -1, 0 or 1; times the smaller magnitude. */
	float af = fabsf(fwd), ab = fabsf(bwd);
	float lim = (copysignf(0.5f, fwd) + copysignf(0.5f, bwd)) * (af < ab ? af : ab);
	return both ? lim : fwd + bwd;
}

/*
 * Fill pixel p (grid index g, pixel index pi) from the KNOWN pixels q of its
 * disk: the weighted mean of I(q) + grad I(q) . (p - q) (gradient as in
 * telea_slope), with the paper's weights dir * dst * lev. The sum is taken
 * relative to a known 4-neighbour's value, so a constant region is
 * reproduced exactly.
 * C is a compile-time channel count (1 or 3) after inlining.
 */
static inline __attribute__((always_inline))
void telea_fill(const struct telea_worker *wk, float *pix, size_t w, size_t pw, size_t g,
		size_t pi, const size_t C)
{
	const uint8_t *flag = wk->flag;
	const float *t = wk->t;
	const float tp = t[g];
	const size_t wc = w * C;
	float *ip = pix + pi * C;
	float nx = telea_grad_t(flag, t, g, 1), ny = telea_grad_t(flag, t, g, pw);
	float len = sqrtf(nx * nx + ny * ny);
	const float *ref;
	float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, wsum = 0.0f, acc[3];
	float lo[3] = { 1.0f, 1.0f, 1.0f }, hi[3] = { 0.0f, 0.0f, 0.0f };

	if (len > 0.0f) {
		nx /= len;
		ny /= len;
	}
	/* p left the band, so one of its 4-neighbours is KNOWN. */
	if (flag[g - pw] == F_KNOWN)
		ref = ip - wc;
	else if (flag[g - 1] == F_KNOWN)
		ref = ip - C;
	else if (flag[g + 1] == F_KNOWN)
		ref = ip + C;
	else
		ref = ip + wc;

	for (size_t k = 0; k < wk->ndisk; k++) {
		const struct telea_offset *o = &wk->disk[k];
		size_t q = g + (size_t)(ptrdiff_t)o->fo;
		if (flag[q] != F_KNOWN)
			continue;
		const float *iq = ip + o->po;
		float dir = fabsf(nx * o->rx + ny * o->ry) * o->inv_len + TELEA_DIR_FLOOR;
		float lev = 1.0f / (1.0f + fabsf(tp - t[q]));
		float wt = dir * o->dst * lev;
		/* grad I at q from its KNOWN neighbours (stale masked values are never read) */
		int kr = flag[q + 1] == F_KNOWN, kl = flag[q - 1] == F_KNOWN;
		int kd = flag[q + pw] == F_KNOWN, ku = flag[q - pw] == F_KNOWN;
		int bx = kr & kl, by = kd & ku;
		const float *ir = iq + (kr ? C : 0), *il = iq - (kl ? C : 0);
		const float *id = iq + (kd ? wc : 0), *iu = iq - (ku ? wc : 0);
		const float rx = o->rx, ry = o->ry;
		for (size_t c = 0; c < C; c++) {
			lo[c] = iq[c] < lo[c] ? iq[c] : lo[c];
			hi[c] = iq[c] > hi[c] ? iq[c] : hi[c];
		}
		/* Spelled out per channel so the sums stay in registers. */
		a0 += wt * ((iq[0] - ref[0]) +
			    telea_slope(ir[0] - iq[0], iq[0] - il[0], bx) * rx +
			    telea_slope(id[0] - iq[0], iq[0] - iu[0], by) * ry);
		if (C == 3) {
			a1 += wt * ((iq[1] - ref[1]) +
				    telea_slope(ir[1] - iq[1], iq[1] - il[1], bx) * rx +
				    telea_slope(id[1] - iq[1], iq[1] - iu[1], by) * ry);
			a2 += wt * ((iq[2] - ref[2]) +
				    telea_slope(ir[2] - iq[2], iq[2] - il[2], bx) * rx +
				    telea_slope(id[2] - iq[2], iq[2] - iu[2], by) * ry);
		}
		wsum += wt;
	}
	acc[0] = a0;
	acc[1] = a1;
	acc[2] = a2;
	/* The estimate stays within the range of the known values around p.
	 * Without this limit the gradient term, extrapolated layer after layer
	 * from pixels filled earlier, grows across a large hole into saturated
	 * streaks; with it a linear ramp across a scratch is still exact (its
	 * value lies between the two sides), and nothing can leave [0, 1]. */
	for (size_t c = 0; c < C; c++) {
		float v = ref[c] + acc[c] / wsum;
		ip[c] = v < lo[c] ? lo[c] : (v > hi[c] ? hi[c] : v);
	}
}

/* ------------------------------------------------------------- scratch */

/* Disk offsets and their geometric weights for radius eps, in scan order. */
TP_MUST_USE static tp_status telea_disk_make(struct telea_worker *wk)
{
	int r = (int)wk->radius;
	size_t n = 0;
	wk->disk = tp_malloc((size_t)(2 * r + 1) * (size_t)(2 * r + 1) * sizeof *wk->disk);
	if (!wk->disk)
		return tp_err(TP_ENOMEM, "telea: out of memory for the radius-%d disk", r);
	for (int dy = -r; dy <= r; dy++) {
		for (int dx = -r; dx <= r; dx++) {
			int d2 = dx * dx + dy * dy;
			if (d2 == 0 || d2 > r * r)
				continue;
			struct telea_offset *o = &wk->disk[n++];
			memset(o, 0, sizeof *o);
			o->dx = (int16_t)dx;
			o->dy = (int16_t)dy;
			o->rx = (float)-dx;
			o->ry = (float)-dy;
			o->inv_len = 1.0f / sqrtf((float)d2);
			o->dst = 1.0f / (float)d2;
		}
	}
	wk->ndisk = n;
	return TP_OK;
}

/* Grids for a tile of w x h pixels (pw x ph padded); grows, never shrinks. */
TP_MUST_USE static tp_status telea_reserve(struct telea_worker *wk, size_t grid, size_t nodes)
{
	if (grid > wk->cap_grid) {
		uint8_t *flag = tp_malloc(grid);
		float *t = tp_malloc(grid * sizeof *t);
		int32_t *pos = tp_malloc(grid * sizeof *pos);
		if (!flag || !t || !pos) {
			tp_free(flag);
			tp_free(t);
			tp_free(pos);
			return tp_err(TP_ENOMEM, "telea: out of memory for the scratch of a %zu-pixel tile",
				      grid);
		}
		tp_free(wk->flag);
		tp_free(wk->t);
		tp_free(wk->pos);
		wk->flag = flag;
		wk->t = t;
		wk->pos = pos;
		wk->cap_grid = grid;
	}
	if (nodes > wk->cap_heap) {
		struct heap_node *heap = tp_malloc(nodes * sizeof *heap);
		if (!heap)
			return tp_err(TP_ENOMEM, "telea: out of memory for the heap of a %zu-pixel tile",
				      nodes);
		tp_free(wk->heap);
		wk->heap = heap;
		wk->cap_heap = nodes;
	}
	return TP_OK;
}

/* Padded sizes of a w x h tile; TP_EUSAGE when its indices would not fit int32. */
TP_MUST_USE static tp_status telea_sizes(const struct telea_worker *wk, uint32_t w, uint32_t h,
			     size_t *pw, size_t *grid)
{
	size_t b2 = 2 * (size_t)wk->border;
	size_t a = (size_t)w + b2, b = (size_t)h + b2, g;
	if (tp_mul_overflow(a, b, &g) || g > (size_t)INT32_MAX / 4)
		return tp_err(TP_EUSAGE, "telea: tile of %ux%u pixels is too large", w, h);
	*pw = a;
	*grid = g;
	return TP_OK;
}

/* ------------------------------------------------------------- engine */

/* *state: a struct telea_state owned by the caller, freed by telea_close(). */
TP_MUST_USE static tp_status telea_open(const struct engine_options *opt, void **state)
{
	uint32_t radius = opt && opt->radius ? opt->radius : TELEA_RADIUS_DEFAULT;
	struct telea_state *st;

	*state = NULL;
	if (engine_guide_params(opt ? opt->params : NULL, NULL, NULL) != TP_OK)
		return TP_EUSAGE;
	if (radius > TELEA_RADIUS_MAX)
		return tp_err(TP_EUSAGE, "telea: radius %u is out of range (1 to %u pixels)",
			      radius, TELEA_RADIUS_MAX);
	st = tp_malloc(sizeof *st);
	if (!st)
		return tp_err(TP_ENOMEM, "telea: out of memory for the engine state");
	st->radius = radius;
	*state = st;
	return TP_OK;
}

static void telea_close(void *state)
{
	tp_free(state);
}

static void telea_worker_free(void *worker)
{
	struct telea_worker *wk = worker;
	if (!wk)
		return;
	tp_free(wk->disk);
	tp_free(wk->flag);
	tp_free(wk->t);
	tp_free(wk->pos);
	tp_free(wk->heap);
	tp_free(wk);
}

/* *worker: scratch owned by the caller's thread, freed by telea_worker_free().
 * `state` is only read here (for the radius), never kept. */
TP_MUST_USE static tp_status telea_worker_new(void *state, void **worker)
{
	const struct telea_state *st = state;
	struct telea_worker *wk;
	size_t pw = 0, grid = 0;
	tp_status s;

	*worker = NULL;
	wk = tp_calloc(1, sizeof *wk);
	if (!wk)
		return tp_err(TP_ENOMEM, "telea: out of memory for a worker");
	wk->radius = st ? st->radius : TELEA_RADIUS_DEFAULT;
	wk->border = wk->radius + 1;
	s = telea_disk_make(wk);
	if (s)
		goto out;
	/* Sized for the default tile now, so a run on default tiles never allocates again. */
	s = telea_sizes(wk, TELEA_TILE, TELEA_TILE, &pw, &grid);
	if (s)
		goto out;
	s = telea_reserve(wk, grid, (size_t)TELEA_TILE * TELEA_TILE);
out:
	if (s) {
		telea_worker_free(wk);
		return s;
	}
	*worker = wk;
	return TP_OK;
}

/* The tile-dependent part of the disk offsets. */
static void telea_layout(struct telea_worker *wk, uint32_t w, uint32_t c, size_t pw)
{
	if (wk->layout_w == w && wk->layout_c == c)
		return;
	for (size_t k = 0; k < wk->ndisk; k++) {
		struct telea_offset *o = &wk->disk[k];
		o->fo = (int32_t)((int64_t)o->dy * (int64_t)pw + o->dx);
		o->po = (int32_t)(((int64_t)o->dy * (int64_t)w + o->dx) * (int64_t)c);
	}
	wk->layout_w = w;
	wk->layout_c = c;
}

/* Fills the masked pixels of tile->pix in place; tile->mask is only read.
 * The worker's grids are reused (and grown if the tile is larger). */
TP_MUST_USE static tp_status telea_inpaint(void *state, void *worker, struct engine_tile *tile)
{
	struct telea_worker *wk = worker;
	size_t w, h, C, pw = 0, grid = 0, b, masked = 0;
	uint8_t *flag;
	float *t;
	tp_status s;

	(void)state;
	if (!wk || !tile)
		return tp_err(TP_EINTERNAL, "telea: inpaint called without a worker or a tile");
	if (tile->channels != 1 && tile->channels != 3)
		return tp_err(TP_EUSAGE, "telea: tile has %u channels (1 or 3 supported)",
			      tile->channels);
	if (tile->w == 0 || tile->h == 0)
		return TP_OK;
	if (!tile->pix || !tile->mask)
		return tp_err(TP_EINTERNAL, "telea: tile at (%d, %d) has no pixels or mask",
			      (int)tile->x, (int)tile->y);
	w = tile->w;
	h = tile->h;
	C = tile->channels;
	s = telea_sizes(wk, tile->w, tile->h, &pw, &grid);
	if (s)
		return s;
	s = telea_reserve(wk, grid, w * h);
	if (s)
		return s;
	telea_layout(wk, tile->w, tile->channels, pw);
	flag = wk->flag;
	t = wk->t;
	b = wk->border;

	/* Flags: frame OUTSIDE, masked INSIDE (T unknown), the rest KNOWN at T = 0. */
	memset(flag, F_OUTSIDE, grid);
	for (size_t y = 0; y < h; y++) {
		const uint8_t *m = tile->mask + y * w;
		size_t g = (y + b) * pw + b;
		memset(flag + g, F_KNOWN, w);
		memset(t + g, 0, w * sizeof *t);   /* 0.0f */
		/* a tile's holes are a small part of it: from one to the next */
		for (size_t x = tp_next_set(m, 0, w); x < w; x = tp_next_set(m, x + 1, w)) {
			flag[g + x] = F_INSIDE;
			t[g + x] = TELEA_INF;
			masked++;
		}
	}
	if (masked == 0)
		return TP_OK;
	if (masked == w * h) {
		/* Nothing to march from: the pipeline's coarse fill of the whole
		 * image when it gave one (a tile inside a hole bigger than a tile;
		 * marching in from a guide ring instead was tried and left each
		 * tile's own fronts visible), else a flat mid-grey. */
		for (size_t i = 0; i < w * h * C; i++)
			tile->pix[i] = tile->guide ? tile->guide[i] : 0.5f;
		return TP_OK;
	}

	/* The first band: masked pixels next to a known one. */
	wk->nheap = 0;
	for (size_t y = 0; y < h; y++) {
		const uint8_t *m = tile->mask + y * w;
		for (size_t x = tp_next_set(m, 0, w); x < w; x = tp_next_set(m, x + 1, w)) {
			size_t g = (y + b) * pw + b + x;
			if (flag[g - pw] != F_KNOWN && flag[g + pw] != F_KNOWN &&
			    flag[g - 1] != F_KNOWN && flag[g + 1] != F_KNOWN)
				continue;
			t[g] = telea_solve(flag, t, g, pw);
			flag[g] = F_BAND;
			heap_push(wk, (int32_t)g, t[g]);
		}
	}

	/* March: the nearest band pixel is filled, becomes KNOWN, and updates its neighbours. */
	while (wk->nheap > 0) {
		size_t g = (size_t)heap_pop(wk);
		size_t pi = (g / pw - b) * w + (g % pw - b);
		const size_t nb[4] = { g - pw, g - 1, g + 1, g + pw };
		if (C == 1)
			telea_fill(wk, tile->pix, w, pw, g, pi, 1);
		else
			telea_fill(wk, tile->pix, w, pw, g, pi, 3);
		flag[g] = F_KNOWN;
		for (int k = 0; k < 4; k++) {
			size_t n = nb[k];
			if (flag[n] == F_INSIDE) {
				t[n] = telea_solve(flag, t, n, pw);
				flag[n] = F_BAND;
				heap_push(wk, (int32_t)n, t[n]);
			} else if (flag[n] == F_BAND) {
				float tn = telea_solve(flag, t, n, pw);
				if (tn < t[n]) {
					size_t at = (size_t)wk->pos[n];
					t[n] = tn;
					wk->heap[at].t = tn;
					heap_up(wk, at);
				}
			}
		}
	}
	return TP_OK;
}

/* Measured: about 19 bytes a pixel (flags, times, positions, heap) in three
 * buffers that may each be rounded up to a 2 MiB page. */
static size_t telea_worker_bytes(const void *state, uint32_t w, uint32_t h, uint32_t color)
{
	(void)state;
	(void)color;
	return ((size_t)w + 64) * ((size_t)h + 64) * 24 + ((size_t)8 << 20);
}

/* A fill reads known pixels up to the radius away and their 4-neighbours
 * (the gradient), and the band of the distance field starts next to the
 * hole: nothing further than radius + 2 from a masked pixel is read, so a
 * tile cut to its holes' box grown by that fills them to the same bits. */
static uint32_t telea_reach(const void *state)
{
	const struct telea_state *st = state;
	return (st ? st->radius : TELEA_RADIUS_DEFAULT) + 2;
}

/*
 * context = radius + 2 with the default radius 5: a filled pixel reads known
 * pixels up to eps away and their gradients one pixel further, plus one pixel
 * of margin for the boundary of the distance field.
 */
const struct engine_ops engine_telea = {
	.name = "telea",
	.summary = "fast marching (Telea 2004): quick, smooth; for scratches and dust",
	.needs_model = 0,
	.multiple = 1,
	.context = TELEA_RADIUS_DEFAULT + 2,
	.default_tile = TELEA_TILE,
	.wants_guide = 2,
	.open = telea_open,
	.worker_new = telea_worker_new,
	.inpaint = telea_inpaint,
	.worker_free = telea_worker_free,
	.close = telea_close,
	.worker_bytes = telea_worker_bytes,
	.reach = telea_reach,
};
