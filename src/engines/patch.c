/*
 * patch.c - exemplar-based fill: PatchMatch nearest-neighbour fields (random
 * search + propagation, Barnes et al. 2009) inside a coarse-to-fine EM /
 * voting scheme (Wexler et al. 2007), the method behind content-aware fill.
 *
 * Defaults (chosen on the benchmark photos at tile 512; params in brackets):
 * 7x7 patches [patch=3..15, odd]; a pyramid halved while the hole is thicker
 * than 3 px [thick=], the next level keeps a side of at least 4r+2 px
 * [minside=] and 64 source patches (at most 7 levels); the coarsest hole
 * starts from a diffusion (onion-peel) fill [init=1: patch onion peel, which
 * scored lower]; 6 EM iterations per coarse level [emc=] and 3 at full size
 * [em=], each two PatchMatch passes and a vote weighted exp(-d / 2 sigma^2),
 * sigma^2 the mean patch distance [sigma= scales it; sharp=1 ends with
 * each hole pixel copying its best match's centre]. Sources are only
 * patches whose every pixel is known at that level, so nothing is copied
 * from the hole. Under PATCH_MIN_SOURCES source patches: smooth fallback.
 *
 * With a guide (tile->guide: the pipeline's coarse fill of the whole image,
 * for tiles touching a hole too thick for one tile [guide=0 turns it off,
 * guideside= caps the coarse image's longer side, 1024]): the guide is
 * downsampled along the pyramid; it starts the coarsest level's hole instead
 * of the onion peel and replaces the smooth fallback (a tile with nothing
 * known is the guide); and after every vote the hole's low-pass is moved to
 * the guide's [pull=, share of the way, 1], keeping the texture the vote
 * copied (patch_guide_lock). So the sources a tile can see supply texture,
 * the guide, solved once for the whole image, holds the large scale, and
 * neighbouring tiles agree even where their sources differ.
 *
 * Deterministic: one thread per tile, a splitmix64 stream seeded from
 * tile->seed, fixed scan orders.
 */
#include "engine.h"
#include "patch_int.h"

#include <math.h>
#include <string.h>

#define PATCH_DEFAULT_SIZE 7
#define PATCH_MAX_LEVELS 7
#define PATCH_COARSE_THICK 3     /* stop halving when the hole is this thin */
#define PATCH_MIN_SOURCES 16     /* fewer source patches: smooth fallback */
#define PATCH_EM_COARSE 6
#define PATCH_EM_FINE 3
#define PATCH_PM_PASSES 2        /* PatchMatch passes per EM iteration */
#define PATCH_GUIDE_PULL 1.0     /* default pull= */

struct patch_state {
	int radius;                 /* patch half size, pixels (patch = 2r+1 square) */
	int em_fine;                /* EM iterations at full resolution */
	int em_coarse;              /* EM iterations at each coarser level */
	int min_side;               /* coarsest level's smaller side is at least this, pixels */
	int coarse_thick;           /* stop halving once the hole is this thin, pixels */
	int patch_init;             /* 1: patch onion peel at the coarsest level; 0: diffusion */
	double sigma_scale;         /* vote weight width, relative to the mean patch distance */
	int sharp;                  /* 1: final full-size pass copies each pixel's best match centre */
	double pull;                /* with a guide: share of the way the hole's low-pass moves
				     * to the guide after each vote (patch_guide_lock) */
};

/* One pyramid level; arrays point into the worker arena. */
struct patch_level {
	uint32_t w, h;
	float *img;                 /* (h, w, C): known pixels + current hole estimate */
	uint8_t *mask;              /* (h, w): 1 = hole at this level */
	uint8_t *valid;             /* (h, w): 1 = a source patch may be centred here */
	int32_t *nnf;               /* (h, w): source centre index for target centres, else -1 */
	float *nnd;                 /* (h, w): mean squared patch distance per pixel sample */
	const float *guide;         /* (h, w, C): the tile's guide at this level, or NULL
				     * (level 0: borrowed from the tile; others: gbuf) */
	float *gbuf;                /* (h, w, C): guide storage, levels >= 1, carved only for
				     * guided tiles */
};

/* Per-thread scratch, grown only when a larger tile arrives. */
struct patch_worker {
	size_t cap;                 /* bytes in arena */
	unsigned char *arena;       /* owned; carved into the arrays below */
	struct patch_level lv[PATCH_MAX_LEVELS];
	float *acc;                 /* (h0, w0, C) voting sums */
	float *wacc;                /* (h0, w0) voting weights */
	int32_t *tlist;             /* target centres of a level, raster order */
	int32_t *slist;             /* valid source centres of a level */
	int32_t *queue;             /* onion-peel queue */
	uint16_t *dist;             /* (h0, w0) scratch: distance / state */
	double *vsum;               /* (w0, C) guided tiles: running column sums */
	uint8_t *tmp;               /* (h0, w0) scratch for separable window tests */
	int levels;                 /* levels used by the last tile */
	int fallback;               /* 1 when the last tile used the smooth fallback */
	uint64_t rng;               /* splitmix64 state */
};

/* ------------------------------------------------------------------ */
/* small helpers                                                        */

static uint64_t patch_rand(struct patch_worker *wk)
{
	uint64_t z = (wk->rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform integer in [0, n), n >= 1. */
static uint32_t patch_rand_below(struct patch_worker *wk, uint32_t n)
{
	return (uint32_t)(((patch_rand(wk) >> 32) * (uint64_t)n) >> 32);
}

/* out[i] = 1 when any in[j] != 0 for |j - i| <= r, along one axis of n
 * elements with stride st (a running count over the clipped window). */
static void patch_window_1d(const uint8_t *in, uint8_t *out, uint32_t n, size_t st, int r)
{
	int cnt = 0;
	for (int i = 0; i < r && i < (int)n; i++)
		cnt += in[(size_t)i * st] != 0;
	for (int i = 0; i < (int)n; i++) {
		int add = i + r, del = i - r - 1;
		if (add < (int)n)
			cnt += in[(size_t)add * st] != 0;
		if (del >= 0)
			cnt -= in[(size_t)del * st] != 0;
		out[(size_t)i * st] = cnt > 0;
	}
}

/* Square dilation by r (separable, via tmp): out = 1 where `in` is set within r. */
static void patch_dilate(const uint8_t *in, uint8_t *out, uint8_t *tmp, uint32_t w, uint32_t h, int r)
{
	for (uint32_t y = 0; y < h; y++)
		patch_window_1d(in + (size_t)y * w, tmp + (size_t)y * w, w, 1, r);
	for (uint32_t x = 0; x < w; x++)
		patch_window_1d(tmp + x, out + x, h, w, r);
}

/* ------------------------------------------------------------------ */
/* open / close / workers                                               */

/* The --engine-opt keys, in the order patch_open reads them. */
static const struct engine_param patch_params[] = {
	{ "patch", 3, 15, ENGINE_PARAM_ODD },
	{ "em", 1, 20, ENGINE_PARAM_REAL },
	{ "emc", 1, 50, ENGINE_PARAM_REAL },
	{ "minside", 0, 4096, ENGINE_PARAM_REAL },
	{ "thick", 1, 4096, ENGINE_PARAM_REAL },
	{ "init", 0, 1, ENGINE_PARAM_REAL },
	{ "sigma", 0.01, 100, ENGINE_PARAM_REAL },
	{ "sharp", 0, 1, ENGINE_PARAM_REAL },
	{ "pull", 0, 1, ENGINE_PARAM_REAL },
	{ NULL, 0, 0, 0 }
};

TP_MUST_USE static tp_status patch_open(const struct engine_options *opt, void **state)
{
	struct patch_state *s;
	double size = PATCH_DEFAULT_SIZE, em = PATCH_EM_FINE, emc = PATCH_EM_COARSE;
	double minside = 0, thick = PATCH_COARSE_THICK, init = 0, sig = 1, sharp = 0;
	double pull = PATCH_GUIDE_PULL;
	*state = NULL;
	if (opt && opt->params) {
		const struct engine_param *k = patch_params;
		if (engine_param_get(opt->params, &k[0], &size) < 0 ||
		    engine_param_get(opt->params, &k[1], &em) < 0 ||
		    engine_param_get(opt->params, &k[2], &emc) < 0 ||
		    engine_param_get(opt->params, &k[3], &minside) < 0 ||
		    engine_param_get(opt->params, &k[4], &thick) < 0 ||
		    engine_param_get(opt->params, &k[5], &init) < 0 ||
		    engine_param_get(opt->params, &k[6], &sig) < 0 ||
		    engine_param_get(opt->params, &k[7], &sharp) < 0 ||
		    engine_param_get(opt->params, &k[8], &pull) < 0 ||
		    engine_guide_params(opt->params, NULL, NULL) != TP_OK)
			return TP_EUSAGE;
	}
	s = tp_calloc(1, sizeof *s);
	if (!s)
		return tp_err(TP_ENOMEM, "engine 'patch': out of memory for its state");
	s->radius = (int)size / 2;
	s->em_fine = (int)em;
	s->em_coarse = (int)emc;
	s->min_side = minside > 0 ? (int)minside : 4 * s->radius + 2;
	s->coarse_thick = (int)thick;
	s->patch_init = init >= 0.5;
	s->sigma_scale = sig;
	s->sharp = sharp >= 0.5;
	s->pull = pull;
	*state = s;
	return TP_OK;
}

static void patch_close(void *state)
{
	tp_free(state);
}

TP_MUST_USE static tp_status patch_worker_new(void *state, void **worker)
{
	(void)state;
	*worker = tp_calloc(1, sizeof(struct patch_worker));
	if (!*worker)
		return tp_err(TP_ENOMEM, "engine 'patch': out of memory for worker scratch");
	return TP_OK;
}

static void patch_worker_free(void *worker)
{
	struct patch_worker *wk = worker;
	if (!wk)
		return;
	tp_free(wk->arena);
	tp_free(wk);
}

/* Lay the arrays for a w x h tile (all PATCH_MAX_LEVELS, ceil halving) out
 * in `base` (NULL: only measure); returns the bytes used. */
static size_t patch_worker_layout(struct patch_worker *wk, unsigned char *base,
				  uint32_t w, uint32_t h, uint32_t C, int guided)
{
	size_t n0 = (size_t)w * h, off = 0;
	uint32_t lw = w, lh = h;
#define PATCH_CARVE(ptr, bytes) do { \
		if (base) (ptr) = (void *)(base + off); \
		off += ((bytes) + 15) & ~(size_t)15; \
	} while (0)
	for (int l = 0; l < PATCH_MAX_LEVELS; l++) {
		size_t n = (size_t)lw * lh;
		struct patch_level *lv = &wk->lv[l];
		if (base) {
			lv->w = lw;
			lv->h = lh;
		}
		PATCH_CARVE(lv->img, n * C * sizeof(float));
		PATCH_CARVE(lv->nnf, n * sizeof(int32_t));
		PATCH_CARVE(lv->nnd, n * sizeof(float));
		PATCH_CARVE(lv->mask, n);
		PATCH_CARVE(lv->valid, n);
		if (base)
			lv->gbuf = NULL;
		if (guided && l > 0)
			PATCH_CARVE(lv->gbuf, n * C * sizeof(float));
		lw = (lw + 1) / 2;
		lh = (lh + 1) / 2;
	}
	PATCH_CARVE(wk->acc, n0 * C * sizeof(float));
	PATCH_CARVE(wk->wacc, n0 * sizeof(float));
	PATCH_CARVE(wk->tlist, n0 * sizeof(int32_t));
	PATCH_CARVE(wk->slist, n0 * sizeof(int32_t));
	PATCH_CARVE(wk->queue, n0 * sizeof(int32_t));
	PATCH_CARVE(wk->dist, n0 * sizeof(uint16_t));
	PATCH_CARVE(wk->tmp, n0);
	if (base)
		wk->vsum = NULL;
	if (guided)
		PATCH_CARVE(wk->vsum, (size_t)w * C * sizeof(double));
#undef PATCH_CARVE
	return off;
}

/* Make the arena fit a w x h x C tile (with guide levels when `guided`):
 * grown only when a larger one arrives. */
TP_MUST_USE static tp_status patch_worker_reserve(struct patch_worker *wk, uint32_t w, uint32_t h, uint32_t C,
				      int guided)
{
	size_t need;
	if ((size_t)w * h > ((size_t)1 << 28))
		return tp_err(TP_EUSAGE, "engine 'patch': tile of %ux%u pixels is too large", w, h);
	need = patch_worker_layout(wk, NULL, w, h, C, guided);
	if (need > wk->cap) {
		tp_free(wk->arena);
		wk->cap = 0;
		wk->arena = tp_malloc(need);
		if (!wk->arena)
			return tp_err(TP_ENOMEM, "engine 'patch': out of memory for a %ux%u tile", w, h);
		wk->cap = need;
	}
	patch_worker_layout(wk, wk->arena, w, h, C, guided);
	return TP_OK;
}

/* ------------------------------------------------------------------ */
/* smooth fill (coarsest initialisation and the fallback)               */

/*
 * Start an onion peel: queue, in scan order, every hole pixel (state 1) with a
 * known 4-neighbour (state 0), marking it queued (2). Returns the queue length.
 */
static size_t patch_onion_seed(uint16_t *state, int32_t *queue, uint32_t w, uint32_t h)
{
	size_t tail = 0;
	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++) {
			size_t k = (size_t)y * w + x;
			if (state[k] != 1)
				continue;
			if ((x > 0 && !state[k - 1]) || (x + 1 < w && !state[k + 1]) ||
			    (y > 0 && !state[k - w]) || (y + 1 < h && !state[k + w])) {
				state[k] = 2;
				queue[tail++] = (int32_t)k;
			}
		}
	return tail;
}

/*
 * Onion peel: hole pixels are filled layer by layer from the known edge,
 * each with the mean of its already-known 8-neighbours. Deterministic FIFO
 * seeded in raster order. With no known pixel at all: mid grey.
 */
static void patch_onion(struct patch_worker *wk, float *img, const uint8_t *mask,
			uint32_t w, uint32_t h, uint32_t C)
{
	size_t n = (size_t)w * h, head = 0, tail = 0;
	uint16_t *state = wk->dist;   /* 0 known/filled, 1 hole, 2 queued */
	for (size_t i = 0; i < n; i++)
		state[i] = mask[i] ? 1 : 0;
	tail = patch_onion_seed(state, wk->queue, w, h);
	while (head < tail) {
		size_t k = (size_t)wk->queue[head++];
		uint32_t x = (uint32_t)(k % w), y = (uint32_t)(k / w);
		float sum[3] = {0, 0, 0};
		int cnt = 0;
		for (int dy = -1; dy <= 1; dy++)
			for (int dx = -1; dx <= 1; dx++) {
				int xx = (int)x + dx, yy = (int)y + dy;
				size_t q;
				if ((dx | dy) == 0 || xx < 0 || yy < 0 || xx >= (int)w || yy >= (int)h)
					continue;
				q = (size_t)yy * w + (size_t)xx;
				if (state[q] != 0)
					continue;
				for (uint32_t c = 0; c < C; c++)
					sum[c] += img[q * C + c];
				cnt++;
			}
		for (uint32_t c = 0; c < C; c++)
			img[k * C + c] = cnt ? sum[c] / (float)cnt : 0.5f;
		state[k] = 0;
		for (int d = 0; d < 4; d++) {
			int xx = (int)x + (d == 0) - (d == 1), yy = (int)y + (d == 2) - (d == 3);
			size_t q;
			if (xx < 0 || yy < 0 || xx >= (int)w || yy >= (int)h)
				continue;
			q = (size_t)yy * w + (size_t)xx;
			if (state[q] == 1) {
				state[q] = 2;
				wk->queue[tail++] = (int32_t)q;
			}
		}
	}
	/* Holes with no known pixel anywhere were never reached. */
	for (size_t i = 0; i < n; i++)
		if (state[i])
			for (uint32_t c = 0; c < C; c++)
				img[i * C + c] = 0.5f;
}

/*
 * Coarsest-level initialisation by patch-based onion peel: hole pixels are
 * taken layer by layer from the known edge, and each copies the centre of
 * the source patch that best matches its already-known neighbourhood (only
 * known or already-filled pixels are compared). This carries structure into
 * the hole where a diffusion start would leave a blur of the surrounding
 * colours for the EM iterations to lock onto. The search is exhaustive over
 * every k-th source, k chosen to keep the work under PATCH_INIT_BUDGET sample
 * comparisons (k = 1 at the small coarsest levels met in practice).
 */
#define PATCH_INIT_BUDGET 60000000.0
static void patch_onion_patches(struct patch_worker *wk, struct patch_level *lv, uint32_t C, int r,
				size_t ns)
{
	int w = (int)lv->w, h = (int)lv->h;
	size_t n = (size_t)w * h, head = 0, tail = 0, nh = 0, stride;
	uint16_t *state = wk->dist;   /* 0 known/filled, 1 hole, 2 queued */
	double work;
	for (size_t i = 0; i < n; i++) {
		state[i] = lv->mask[i] ? 1 : 0;
		nh += lv->mask[i];
	}
	work = (double)nh * (double)ns * (double)((2 * r + 1) * (2 * r + 1) * (int)C);
	stride = work > PATCH_INIT_BUDGET ? (size_t)ceil(work / PATCH_INIT_BUDGET) : 1;
	tail = patch_onion_seed(state, wk->queue, (uint32_t)w, (uint32_t)h);
	while (head < tail) {
		size_t k = (size_t)wk->queue[head++];
		int x = (int)(k % (size_t)w), y = (int)(k / (size_t)w);
		float best = INFINITY;
		int32_t bs = -1;
		size_t start = stride > 1 ? patch_rand_below(wk, (uint32_t)stride) : 0;
		for (size_t j = start; j < ns; j += stride) {
			int32_t sidx = wk->slist[j];
			int sx = sidx % w, sy = sidx / w;
			float sum = 0;
			int cnt = 0;
			for (int dy = -r; dy <= r && sum < best * (float)((2 * r + 1) * (2 * r + 1)); dy++) {
				int yy = y + dy;
				if (yy < 0 || yy >= h)
					continue;
				for (int dx = -r; dx <= r; dx++) {
					int xx = x + dx;
					size_t q, o;
					if (xx < 0 || xx >= w)
						continue;
					q = (size_t)yy * w + xx;
					if (state[q] != 0)
						continue;
					o = (size_t)(sy + dy) * w + (sx + dx);
					for (uint32_t c = 0; c < C; c++) {
						float d = lv->img[q * C + c] - lv->img[o * C + c];
						sum += d * d;
					}
					cnt++;
				}
			}
			if (cnt > 0 && sum / (float)cnt < best) {
				best = sum / (float)cnt;
				bs = sidx;
			}
		}
		for (uint32_t c = 0; c < C; c++)
			lv->img[k * C + c] = bs >= 0 ? lv->img[(size_t)bs * C + c] : 0.5f;
		state[k] = 0;
		for (int d = 0; d < 4; d++) {
			int xx = x + (d == 0) - (d == 1), yy = y + (d == 2) - (d == 3);
			size_t q;
			if (xx < 0 || yy < 0 || xx >= w || yy >= h)
				continue;
			q = (size_t)yy * w + xx;
			if (state[q] == 1) {
				state[q] = 2;
				wk->queue[tail++] = (int32_t)q;
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		if (state[i])
			for (uint32_t c = 0; c < C; c++)
				lv->img[i * C + c] = 0.5f;
}

/* Largest city-block distance from a hole pixel to a known one (capped). */
static uint32_t patch_hole_thickness(uint16_t *d, const uint8_t *mask, uint32_t w, uint32_t h)
{
	return (uint32_t)engine_hole_distance(d, mask, w, h);
}

/* ------------------------------------------------------------------ */
/* the guide (a coarse fill of the whole image, from the pipeline)      */

/* Hole pixels of img (n pixels, C channels) take the guide's values. */
static void patch_guide_fill(float *img, const uint8_t *mask, const float *guide, size_t n, uint32_t C)
{
	for (size_t k = 0; k < n; k++)
		if (mask[k])
			for (uint32_t c = 0; c < C; c++)
				img[k * C + c] = guide[k * C + c];
}

/*
 * Lock the hole's large scale to the guide: every hole pixel moves the share
 * a of the way from its low-pass to the guide, img += a * (guide - B(img)).
 * B is a box blur about as wide as a guide pixel once the bilinear
 * resampling has spread it (1.73 k level pixels, k = level pixels per guide
 * pixel; the same standard deviation); for k <= 1 (the guide is as sharp as
 * the level) B is the identity and this is a plain pull. Detail finer than
 * the guide, the texture the vote copied, is kept; the large scale becomes
 * the guide's, which every tile shares, so neighbouring tiles agree even
 * where their sources differ. The blur reads known pixels too (the guide
 * matches their blur), and uses wk->acc and wk->vsum as scratch.
 */
static void patch_guide_lock(struct patch_worker *wk, struct patch_level *lv, uint32_t C, double k,
			     float a)
{
	int w = (int)lv->w, h = (int)lv->h, hw = k > 1 ? (int)((1.7320508 * k - 1) / 2 + 0.5) : 0;
	const float *g = lv->guide;
	float *img = lv->img, *hb = wk->acc;
	double *vs = wk->vsum;
	if (hw == 0) {
		for (size_t p = 0; p < (size_t)w * h; p++)
			if (lv->mask[p])
				for (uint32_t c = 0; c < C; c++)
					img[p * C + c] += a * (g[p * C + c] - img[p * C + c]);
		return;
	}
	/* horizontal running means into hb (the window clipped at the edges) */
	for (int y = 0; y < h; y++) {
		const float *row = img + (size_t)y * w * C;
		float *out = hb + (size_t)y * w * C;
		double sum[3] = {0, 0, 0};
		for (int x = 0; x < hw && x < w; x++)
			for (uint32_t c = 0; c < C; c++)
				sum[c] += row[(size_t)x * C + c];
		for (int x = 0; x < w; x++) {
			int add = x + hw, del = x - hw - 1;
			int n = (add < w ? add : w - 1) - (x - hw > 0 ? x - hw : 0) + 1;
			for (uint32_t c = 0; c < C; c++) {
				if (add < w)
					sum[c] += row[(size_t)add * C + c];
				if (del >= 0)
					sum[c] -= row[(size_t)del * C + c];
				out[(size_t)x * C + c] = (float)(sum[c] / n);
			}
		}
	}
	/* vertical running sums of hb, one row vector; update the hole in place
	 * (hb holds the blur of the image as it was) */
	memset(vs, 0, (size_t)w * C * sizeof *vs);
	for (int y = 0; y < hw && y < h; y++)
		for (size_t i = 0; i < (size_t)w * C; i++)
			vs[i] += hb[(size_t)y * w * C + i];
	for (int y = 0; y < h; y++) {
		int add = y + hw, del = y - hw - 1;
		int n = (add < h ? add : h - 1) - (y - hw > 0 ? y - hw : 0) + 1;
		if (add < h)
			for (size_t i = 0; i < (size_t)w * C; i++)
				vs[i] += hb[(size_t)add * w * C + i];
		if (del >= 0)
			for (size_t i = 0; i < (size_t)w * C; i++)
				vs[i] -= hb[(size_t)del * w * C + i];
		for (int x = 0; x < w; x++) {
			size_t p = (size_t)y * w + x;
			if (!lv->mask[p])
				continue;
			for (uint32_t c = 0; c < C; c++)
				img[p * C + c] += a * (g[p * C + c] - (float)(vs[(size_t)x * C + c] / n));
		}
	}
}

/* ------------------------------------------------------------------ */
/* PatchMatch                                                            */

/* Sum of squared differences between the patch at target t and source s,
 * over target pixels inside the level; stops early above `cut`. */
static float patch_ssd(const struct patch_level *lv, uint32_t C, int r, int32_t t, int32_t s, float cut)
{
	int w = (int)lv->w, h = (int)lv->h;
	int tx = t % w, ty = t / w, sx = s % w, sy = s / w;
	float sum = 0;
	for (int dy = -r; dy <= r; dy++) {
		int yy = ty + dy;
		const float *tr, *sr;
		int x0 = -r, x1 = r;
		if (yy < 0 || yy >= h)
			continue;
		if (tx + x0 < 0) x0 = -tx;
		if (tx + x1 >= w) x1 = w - 1 - tx;
		tr = lv->img + ((size_t)yy * w + tx) * C;
		sr = lv->img + ((size_t)(sy + dy) * w + sx) * C;
		for (int k = x0 * (int)C; k < (x1 + 1) * (int)C; k++) {
			float d = tr[k] - sr[k];
			sum += d * d;
		}
		if (sum > cut)
			return sum;
	}
	return sum;
}

/* Samples (pixels x channels) of target t's patch inside the level. */
static float patch_count(const struct patch_level *lv, uint32_t C, int r, int32_t t)
{
	int w = (int)lv->w, h = (int)lv->h, tx = t % w, ty = t / w;
	int nx = (tx + r < w ? tx + r : w - 1) - (tx - r > 0 ? tx - r : 0) + 1;
	int ny = (ty + r < h ? ty + r : h - 1) - (ty - r > 0 ? ty - r : 0) + 1;
	return (float)(nx * ny * (int)C);
}

static void patch_try(const struct patch_level *lv, uint32_t C, int r, int32_t t, int32_t s,
		      int32_t *best, float *bestd)
{
	float d;
	if (s == *best || !lv->valid[s])
		return;
	d = patch_ssd(lv, C, r, t, s, *bestd);
	if (d < *bestd) {
		*bestd = d;
		*best = s;
	}
}

/* One PatchMatch pass over the target list, forward or backward. nnd holds raw SSD here. */
static void patch_pm_pass(struct patch_worker *wk, const struct patch_level *lv, uint32_t C, int r,
			  size_t nt, int backward)
{
	int w = (int)lv->w, h = (int)lv->h, step = backward ? -1 : 1;
	int rmax = w > h ? w : h;
	for (size_t i = 0; i < nt; i++) {
		int32_t t = wk->tlist[backward ? nt - 1 - i : i];
		int tx = t % w, ty = t / w;
		int32_t best = lv->nnf[t];
		float bestd = lv->nnd[t];
		/* Propagation: the neighbour's source, shifted by one. */
		int nx = tx - step, ny = ty - step;
		if (nx >= 0 && nx < w && lv->nnf[(size_t)ty * w + nx] >= 0) {
			int32_t s = lv->nnf[(size_t)ty * w + nx];
			int sx = s % w + step;
			if (sx >= 0 && sx < w)
				patch_try(lv, C, r, t, s + step, &best, &bestd);
		}
		if (ny >= 0 && ny < h && lv->nnf[(size_t)ny * w + tx] >= 0) {
			int32_t s = lv->nnf[(size_t)ny * w + tx];
			int sy = s / w + step;
			if (sy >= 0 && sy < h)
				patch_try(lv, C, r, t, s + step * w, &best, &bestd);
		}
		/* Random search around the best, radius halving. */
		for (int rad = rmax; rad >= 1; rad /= 2) {
			int bx = best % w, by = best / w;
			int x0 = bx - rad > 0 ? bx - rad : 0, x1 = bx + rad < w - 1 ? bx + rad : w - 1;
			int y0 = by - rad > 0 ? by - rad : 0, y1 = by + rad < h - 1 ? by + rad : h - 1;
			int sx = x0 + (int)patch_rand_below(wk, (uint32_t)(x1 - x0 + 1));
			int sy = y0 + (int)patch_rand_below(wk, (uint32_t)(y1 - y0 + 1));
			patch_try(lv, C, r, t, sy * w + sx, &best, &bestd);
		}
		lv->nnf[t] = best;
		lv->nnd[t] = bestd;
	}
}

/* Recompute raw SSD for every target (after the image changed). */
static void patch_nnd_refresh(struct patch_worker *wk, const struct patch_level *lv, uint32_t C,
			      int r, size_t nt)
{
	for (size_t i = 0; i < nt; i++) {
		int32_t t = wk->tlist[i];
		lv->nnd[t] = patch_ssd(lv, C, r, t, lv->nnf[t], INFINITY);
	}
}

/*
 * Vote: every hole pixel becomes the weighted mean of the source pixels that
 * the patches covering it propose. Weights exp(-d / (2 sigma^2)), d the
 * patch's mean squared difference, sigma^2 the mean d over targets, so the
 * best-matching patches dominate without a fixed threshold.
 */
static void patch_vote(struct patch_worker *wk, struct patch_level *lv, uint32_t C, int r, size_t nt,
		       double sigma_scale)
{
	int w = (int)lv->w, h = (int)lv->h;
	size_t n = (size_t)w * h;
	double mean = 0;
	float inv2s;
	for (size_t i = 0; i < nt; i++) {
		int32_t t = wk->tlist[i];
		mean += lv->nnd[t] / patch_count(lv, C, r, t);
	}
	mean = nt ? mean / (double)nt : 0;
	mean *= sigma_scale;
	inv2s = (float)(1.0 / (2.0 * (mean > 1e-8 ? mean : 1e-8)));
	memset(wk->acc, 0, n * C * sizeof(float));
	memset(wk->wacc, 0, n * sizeof(float));
	for (size_t i = 0; i < nt; i++) {
		int32_t t = wk->tlist[i], s = lv->nnf[t];
		int tx = t % w, ty = t / w, sx = s % w, sy = s / w;
		float wt = expf(-lv->nnd[t] / patch_count(lv, C, r, t) * inv2s);
		for (int dy = -r; dy <= r; dy++) {
			int yy = ty + dy;
			if (yy < 0 || yy >= h)
				continue;
			for (int dx = -r; dx <= r; dx++) {
				int xx = tx + dx;
				size_t p, q;
				if (xx < 0 || xx >= w)
					continue;
				p = (size_t)yy * w + xx;
				if (!lv->mask[p])
					continue;
				q = (size_t)(sy + dy) * w + (sx + dx);
				for (uint32_t c = 0; c < C; c++)
					wk->acc[p * C + c] += wt * lv->img[q * C + c];
				wk->wacc[p] += wt;
			}
		}
	}
	for (size_t p = 0; p < n; p++)
		if (lv->mask[p] && wk->wacc[p] > 0)
			for (uint32_t c = 0; c < C; c++)
				lv->img[p * C + c] = wk->acc[p * C + c] / wk->wacc[p];
}

/* ------------------------------------------------------------------ */
/* the pyramid                                                          */

/* dst (bw x bh x C): means of the 2 x 2 children in src (aw x ah x C), fewer
 * at the edges. With masks, a coarse pixel is a hole (value 0) if any child
 * is. */
static void patch_mean2(const float *src, const uint8_t *smask, uint32_t aw, uint32_t ah, float *dst,
			uint8_t *dmask, uint32_t bw, uint32_t bh, uint32_t C)
{
	for (uint32_t y = 0; y < bh; y++)
		for (uint32_t x = 0; x < bw; x++) {
			size_t k = (size_t)y * bw + x;
			float sum[3] = {0, 0, 0};
			int cnt = 0, hole = 0;
			for (uint32_t dy = 0; dy < 2; dy++)
				for (uint32_t dx = 0; dx < 2; dx++) {
					uint32_t xx = 2 * x + dx, yy = 2 * y + dy;
					size_t q;
					if (xx >= aw || yy >= ah)
						continue;
					q = (size_t)yy * aw + xx;
					if (smask)
						hole |= smask[q];
					for (uint32_t c = 0; c < C; c++)
						sum[c] += src[q * C + c];
					cnt++;
				}
			if (dmask)
				dmask[k] = (uint8_t)hole;
			for (uint32_t c = 0; c < C; c++)
				dst[k * C + c] = hole ? 0.0f : sum[c] / (float)cnt;
		}
}

/* Level l+1 from level l: a coarse pixel is a hole if any child is; known
 * coarse pixels are the mean of their (all known) children. The guide, which
 * has no holes, is plain 2 x 2 means. */
static void patch_downsample(const struct patch_level *a, struct patch_level *b, uint32_t C)
{
	patch_mean2(a->img, a->mask, a->w, a->h, b->img, b->mask, b->w, b->h, C);
	b->guide = NULL;
	if (!a->guide || !b->gbuf)
		return;
	patch_mean2(a->guide, NULL, a->w, a->h, b->gbuf, NULL, b->w, b->h, C);
	b->guide = b->gbuf;
}

/*
 * Targets and sources of a level. Targets: centres whose patch touches the
 * hole (wk->tlist, raster order). Sources: centres whose patch lies inside
 * the level and holds no hole pixel (lv->valid, wk->slist).
 */
static void patch_level_sets(struct patch_worker *wk, struct patch_level *lv, int r,
			     size_t *nt, size_t *ns)
{
	uint32_t w = lv->w, h = lv->h;
	size_t n = (size_t)w * h;
	*nt = *ns = 0;
	patch_dilate(lv->mask, lv->valid, wk->tmp, w, h, r);
	for (size_t k = 0; k < n; k++)
		if (lv->valid[k])
			wk->tlist[(*nt)++] = (int32_t)k;
	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++) {
			size_t k = (size_t)y * w + x;
			int ok = !lv->valid[k] && (int)x >= r && (int)y >= r &&
				 (int)x + r < (int)w && (int)y + r < (int)h;
			lv->valid[k] = (uint8_t)ok;
			if (ok)
				wk->slist[(*ns)++] = (int32_t)k;
		}
}

/* Does the level have enough sources? (Counts without touching the lists.) */
static size_t patch_count_sources(struct patch_worker *wk, struct patch_level *lv, int r)
{
	size_t nt, ns;
	patch_level_sets(wk, lv, r, &nt, &ns);
	return ns;
}

/* Random valid sources for every target (the coarsest level). */
static void patch_nnf_random(struct patch_worker *wk, struct patch_level *lv, size_t nt, size_t ns)
{
	size_t n = (size_t)lv->w * lv->h;
	for (size_t k = 0; k < n; k++)
		lv->nnf[k] = -1;
	for (size_t i = 0; i < nt; i++)
		lv->nnf[wk->tlist[i]] = wk->slist[patch_rand_below(wk, (uint32_t)ns)];
}

/* Level l from level l+1: sources doubled (plus the child offset) where
 * still valid, else random; hole pixels start from the coarse estimate. */
static void patch_upsample(struct patch_worker *wk, const struct patch_level *b, struct patch_level *a,
			   uint32_t C, size_t nt, size_t ns)
{
	size_t n = (size_t)a->w * a->h;
	for (size_t k = 0; k < n; k++)
		a->nnf[k] = -1;
	for (size_t i = 0; i < nt; i++) {
		int32_t t = wk->tlist[i];
		uint32_t tx = (uint32_t)t % a->w, ty = (uint32_t)t / a->w;
		int32_t cs = b->nnf[(size_t)(ty / 2) * b->w + tx / 2];
		int32_t s = -1;
		if (cs >= 0) {
			uint32_t sx = 2 * ((uint32_t)cs % b->w) + (tx & 1);
			uint32_t sy = 2 * ((uint32_t)cs / b->w) + (ty & 1);
			if (sx < a->w && sy < a->h && a->valid[(size_t)sy * a->w + sx])
				s = (int32_t)((size_t)sy * a->w + sx);
		}
		a->nnf[t] = s >= 0 ? s : wk->slist[patch_rand_below(wk, (uint32_t)ns)];
	}
	for (uint32_t y = 0; y < a->h; y++)
		for (uint32_t x = 0; x < a->w; x++) {
			size_t k = (size_t)y * a->w + x;
			if (a->mask[k])
				for (uint32_t c = 0; c < C; c++)
					a->img[k * C + c] = b->img[((size_t)(y / 2) * b->w + x / 2) * C + c];
		}
}

TP_MUST_USE static tp_status patch_inpaint(void *state, void *worker, struct engine_tile *tile)
{
	struct patch_state *s = state;
	struct patch_worker *wk = worker;
	uint32_t w = tile->w, h = tile->h, C = tile->channels;
	size_t n = (size_t)w * h, nm = 0, nt, ns;
	int r, L;
	tp_status st;

	if (!s || !wk || !tile->pix || !tile->mask || (C != 1 && C != 3) || !w || !h)
		return tp_err(TP_EINTERNAL, "engine 'patch': bad tile arguments");
	if ((st = patch_worker_reserve(wk, w, h, C, tile->guide != NULL)) != TP_OK)
		return st;
	r = s->radius;
	wk->rng = tile->seed ^ 0x5851f42d4c957f2dULL;
	wk->levels = 0;
	wk->fallback = 0;

	/* Level 0: the tile, hole pixels zeroed (their input values are stale). */
	struct patch_level *l0 = &wk->lv[0];
	l0->guide = tile->guide;
	for (size_t k = 0; k < n; k++) {
		l0->mask[k] = tile->mask[k] != 0;
		nm += l0->mask[k];
		for (uint32_t c = 0; c < C; c++)
			l0->img[k * C + c] = l0->mask[k] ? 0.0f : tile->pix[k * C + c];
	}
	if (nm == 0)
		return TP_OK;
	if (patch_count_sources(wk, l0, r) < PATCH_MIN_SOURCES) {
		/* Too little known surround for exemplars: the guide, else a smooth fill. */
		if (l0->guide)
			patch_guide_fill(l0->img, l0->mask, l0->guide, n, C);
		else
			patch_onion(wk, l0->img, l0->mask, w, h, C);
		wk->fallback = 1;
		wk->levels = 1;
		goto out;
	}

	/* Build the pyramid while halving still helps and leaves sources. */
	L = 1;
	while (L < PATCH_MAX_LEVELS) {
		struct patch_level *a = &wk->lv[L - 1], *b = &wk->lv[L];
		if (patch_hole_thickness(wk->dist, a->mask, a->w, a->h) <= (uint32_t)s->coarse_thick)
			break;
		if (b->w < (uint32_t)s->min_side || b->h < (uint32_t)s->min_side)
			break;
		patch_downsample(a, b, C);
		if (patch_count_sources(wk, b, r) < 4 * PATCH_MIN_SOURCES)
			break;
		L++;
	}
	wk->levels = L;

	for (int l = L - 1; l >= 0; l--) {
		struct patch_level *lv = &wk->lv[l];
		int iters = l == 0 ? s->em_fine : s->em_coarse;
		patch_level_sets(wk, lv, r, &nt, &ns);
		if (l == L - 1) {
			if (lv->guide)
				patch_guide_fill(lv->img, lv->mask, lv->guide, (size_t)lv->w * lv->h, C);
			else if (s->patch_init)
				patch_onion_patches(wk, lv, C, r, ns);
			else
				patch_onion(wk, lv->img, lv->mask, lv->w, lv->h, C);
			patch_nnf_random(wk, lv, nt, ns);
		} else {
			patch_upsample(wk, &wk->lv[l + 1], lv, C, nt, ns);
		}
		patch_nnd_refresh(wk, lv, C, r, nt);
		for (int e = 0; e < iters; e++) {
			if (tp_cancelled())
				return tp_err(TP_ECANCELED, "patch: stopped inside a tile");
			for (int p = 0; p < PATCH_PM_PASSES; p++)
				patch_pm_pass(wk, lv, C, r, nt, p & 1);
			patch_vote(wk, lv, C, r, nt, s->sigma_scale);
			/* The large scale is the guide's (solved once for the whole image). */
			if (lv->guide && s->pull > 0)
				patch_guide_lock(wk, lv, C,
						 (double)(tile->guide_scale > 1 ? tile->guide_scale : 1) /
						 (double)(1u << l), (float)s->pull);
			patch_nnd_refresh(wk, lv, C, r, nt);
		}
		if (l == 0 && s->sharp) {
			/* One more search, then each hole pixel takes the centre of
			 * its own best match: no averaging across disagreeing votes. */
			for (int p = 0; p < PATCH_PM_PASSES; p++)
				patch_pm_pass(wk, lv, C, r, nt, p & 1);
			for (size_t i = 0; i < nt; i++) {
				int32_t t = wk->tlist[i], src = lv->nnf[t];
				if (lv->mask[t])
					for (uint32_t c = 0; c < C; c++)
						wk->acc[(size_t)t * C + c] = lv->img[(size_t)src * C + c];
			}
			for (size_t i = 0; i < nt; i++) {
				int32_t t = wk->tlist[i];
				if (lv->mask[t])
					for (uint32_t c = 0; c < C; c++)
						lv->img[(size_t)t * C + c] = wk->acc[(size_t)t * C + c];
			}
		}
	}
out:
	for (size_t k = 0; k < n; k++)
		if (l0->mask[k])
			for (uint32_t c = 0; c < C; c++) {
				float v = l0->img[k * C + c];
				tile->pix[k * C + c] = v < 0 ? 0 : v > 1 ? 1 : v;
			}
	return TP_OK;
}

int patch_worker_last_levels(const void *worker, int *fallback)
{
	const struct patch_worker *wk = worker;
	if (fallback)
		*fallback = wk->fallback;
	return wk->levels;
}

/* Measured: 32 + 9.3 bytes a pixel per channel for the pyramid arena; the
 * guided layout adds a row of sums. */
static size_t patch_worker_bytes(const void *state, uint32_t w, uint32_t h, uint32_t color)
{
	(void)state;
	return (size_t)w * h * (48 + 16 * (size_t)color) + (size_t)w * color * 8 + ((size_t)1 << 20);
}

const struct engine_ops engine_patch = {
	.name = "patch",
	.summary = "exemplar fill (multi-scale PatchMatch + voting): object removal, texture; the default",
	.needs_model = 0,
	.multiple = 1,
	.context = 64,
	.default_tile = 512,
	.wants_guide = 1,
	.params = patch_params,
	.open = patch_open,
	.worker_new = patch_worker_new,
	.inpaint = patch_inpaint,
	.worker_free = patch_worker_free,
	.close = patch_close,
	.worker_bytes = patch_worker_bytes,
};
