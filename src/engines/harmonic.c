/*
 * harmonic.c - smooth fill: solve Laplace (order=1) or biharmonic (order=2,
 * the default) on the masked pixels, the known pixels as Dirichlet data and
 * the tile edge as a mirror (Neumann) boundary. For order 2 the fill
 * minimises the sum of squared discrete Laplacians, so the equations are
 * R L L u = 0; it is used for holes at most HARMONIC_BIHARMONIC_MAX_D px
 * from a known pixel (scratches, dust, text), where it continues gradients
 * across the gap; thicker holes get the Laplace fill, which stays within
 * the range of its boundary instead of overshooting.
 *
 * Solvers. The masked pixels split into groups the equations do not
 * couple; each group is solved exactly by an envelope Cholesky factor
 * (one factor for all channels) when that is cheap, which it is for
 * scratches, letters and blobs up to a few thousand pixels. Bigger holes
 * use conjugate gradients in double on the masked pixels only, SSOR- or
 * Jacobi-preconditioned when the hole is thin for its area, or with the
 * whole-tile Neumann Laplacian inverted by a DCT (FFTW REDFT10/01) as the
 * preconditioner when it is thick; CG runs until the residual no longer
 * moves a 16-bit level. `direct=0` forces CG everywhere (tests).
 *
 * Holes bigger than a tile: the pipeline hands tiles inside them its coarse
 * fill of the whole image (tile->guide; guide=0 turns it off); its values
 * on the masked pixels of a HARMONIC_GUIDE_RING px ring along the tile edge
 * become Dirichlet data, so each tile solves its piece of the whole hole's
 * equation (measured: within 8 levels of the one-tile solve on 97% of
 * samples, where the mirror edge strays by up to 49 and leaves tiles with
 * nothing known grey).
 * Deterministic: no threads inside a tile, fixed-order sums.
 */
#include "engine.h"
#include "harmonic_int.h"

#include <fftw3.h>
#include <math.h>
#include <pthread.h>
#include <string.h>

/* FFTW's planner is not thread-safe; every plan create/destroy holds this. */
static pthread_mutex_t harmonic_fftw_lock = PTHREAD_MUTEX_INITIALIZER;

/* A DCT pair and the inverse eigenvalues for one tile size (w, h). */
struct harmonic_plan {
	uint32_t w, h;
	fftwf_plan fwd, inv;        /* REDFT10 (DCT-II) and REDFT01 (DCT-III), 2-D, h x w */
	float *inv_eig;             /* (h, w): 1 / (lambda * 4wh), the scaled inverse of the
				     * whole-tile Neumann Laplacian (Laplace fills only) */
	struct harmonic_plan *next;
};

struct harmonic_state {
	int order;                  /* 1 = Laplace, 2 = biharmonic (thin holes) */
	int direct;                 /* 1: direct solve for groups it suits (default) */
	double tol;                 /* relative residual (preconditioned norm) to stop at */
	struct harmonic_plan *plans;/* cache, guarded by harmonic_fftw_lock; owned */
};

/*
 * Per-thread scratch, in three parts grown only when needed. The direct
 * solver's arrays run over the masked pixels only (a masked pixel's place
 * in the tile, its stencil neighbours, distance, group, place in the order),
 * so a tile costs memory and page faults in proportion to its holes, not to
 * its area: first touching a fresh page costs more than solving a few
 * hundred pixels, and a one-tile image touches every page once. Per-pixel
 * arrays exist for the two rarer paths that need them, the guide's ring and
 * the iterative solver, and are made on first use, at rest values of zero
 * (calloc), and restored to them after each tile.
 */
struct harmonic_worker {
	size_t tcap;                /* pixels the per-pixel arrays hold */
	uint16_t *dist;             /* (h, w) distance to a known pixel, iterative solves only; 0 at rest */
	uint8_t *imask;             /* (2, h, w) the order of pixels left to the iterative
				     * solver (0 at rest), then the 0/1 mask of one order */
	uint8_t *gmask;             /* (h, w) the mask less the guide's ring (guided tiles) */
	size_t rcap;                /* rows rstart holds */
	uint32_t *rstart;           /* (h + 1) index of the first masked pixel of each row */
	size_t mcap;                /* masked pixels the arrays below hold */
	uint32_t *pos;              /* (nm) tile place of each masked pixel, raster order */
	uint32_t *nbr;              /* (nm, 12) masked index of the neighbour at harmonic_off[o],
				     * or `known` (a known pixel) or `known` + 1 (past the edge) */
	size_t nbr_bytes;           /* nbr's allocation (tp_malloc_large) */
	uint32_t known;             /* nm of the current tile: the two indices after the masked
				     * ones stand for "known" and "outside" in nbr, so that the
				     * arrays below answer for them without a test (lab: never
				     * 0 or a group, mdist: never 0, cidx: 0) */
	uint16_t *mdist;            /* (nm + 2) city-block distance to a known pixel (0: none) */
	int32_t *lab;               /* (nm + 2) 1 + group */
	int32_t *cidx;              /* (nm + 2) 1 + place in the current order; 0 outside it */
	uint32_t *queue;            /* (nm + 1) breadth-first queue (+ 1: appends are branch-free) */
	uint32_t *gpix;             /* (nm) masked indices, group by group, each in raster order */
	uint32_t *rcm;              /* (nm + 1) one group in reverse Cuthill-McKee order */
	uint32_t *gstart;           /* (groups + 1) offsets into gpix */
	uint32_t *gfar;             /* (groups) the last pixel the labelling sweep reached */
	uint32_t *first;            /* (nm) envelope: first column of each row of the factor */
	size_t *estart;             /* (nm + 1) envelope: offset of each row in env */
	double *inv;                /* (nm) inverse diagonal of the factor */
	double *env;                /* the factor's envelope, then the right-hand sides */
	size_t env_cap;
	size_t icap;                /* pixels the iterative solver's arrays hold */
	double *u;                  /* (bh, bw) values over the working box */
	double *r, *z, *p;          /* (nm) CG vectors on the masked pixels (compact order) */
	double *q, *t;              /* (bh, bw) scratch for the first residual, then (nm) and
				     * (ns) CG scratch; all six arrays hold icap entries */
	float *f;                   /* (h, w) FFT buffer */
	uint32_t *idx;              /* box pixels of the masked set, then its halo (harmonic_graph) */
	int32_t *bidx;              /* (bh, bw): place of a box pixel in idx, or -1 */
	int32_t *nb;                /* (ns, 4): neighbours' places in idx, or -1 */
	uint8_t *deg;               /* (ns): in-box neighbour count */
	long last_iters;            /* iterations of the last solve (tests, tuning) */
	int last_dct;               /* 1 when the last tile used the DCT preconditioner */
	long last_direct;           /* groups of the last tile solved by the direct solver */
};

/*
 * Local or DCT preconditioner: SSOR/Jacobi-CG needs more steps the thicker
 * the hole (D, the largest distance to a known pixel) and each step costs
 * the masked pixels (nm); DCT-CG needs a few dozen steps of two whole-tile
 * transforms. So Laplace stays local while D * nm < HARMONIC_DCT_RATIO * tile pixels
 * (measured on 512 tiles: thick strokes stay Jacobi, big rectangles go
 * DCT). The biharmonic, whose DCT preconditioner is weak, is only used
 * for holes with D at most HARMONIC_BIHARMONIC_MAX_D (Jacobi-CG when too
 * big for the direct solver).
 */
#define HARMONIC_DCT_RATIO 20
#define HARMONIC_GUIDE_RING 2   /* px of the guide along a guided tile's edge: order 2 reaches 2 */
#define HARMONIC_BIHARMONIC_MAX_D 10
/* Iteration caps per channel (safety nets: both converge well before). */
#define HARMONIC_MAX_ITERS_1 4000
#define HARMONIC_MAX_ITERS_2 3000   /* Jacobi: cheap steps on the masked pixels */

/* ------------------------------------------------------------------ */
/* open / close / workers                                              */

/* The --engine-opt keys: order 1 (Laplace) or 2 (biharmonic), direct 0 or 1. */
static const struct engine_param harmonic_params[] = {
	{ "order", 1, 2, ENGINE_PARAM_INT },
	{ "direct", 0, 1, ENGINE_PARAM_INT },
	{ NULL, 0, 0, 0 }
};

TP_MUST_USE static tp_status harmonic_open(const struct engine_options *opt, void **state)
{
	struct harmonic_state *s;
	double order = 2, direct = 1;
	*state = NULL;
	if (opt && opt->params && (engine_param_get(opt->params, &harmonic_params[0], &order) < 0 ||
				   engine_param_get(opt->params, &harmonic_params[1], &direct) < 0 ||
				   engine_guide_params(opt->params, NULL, NULL) != TP_OK))
		return TP_EUSAGE;
	s = tp_calloc(1, sizeof *s);
	if (!s)
		return tp_err(TP_ENOMEM, "engine 'harmonic': out of memory for its state");
	s->order = (int)order;
	s->direct = (int)direct;
	s->tol = 1e-6;
	*state = s;
	return TP_OK;
}

static void harmonic_close(void *state)
{
	struct harmonic_state *s = state;
	if (!s)
		return;
	pthread_mutex_lock(&harmonic_fftw_lock);
	while (s->plans) {
		struct harmonic_plan *pl = s->plans;
		s->plans = pl->next;
		fftwf_destroy_plan(pl->fwd);
		fftwf_destroy_plan(pl->inv);
		tp_free(pl->inv_eig);
		tp_free(pl);
	}
	pthread_mutex_unlock(&harmonic_fftw_lock);
	tp_free(s);
}

TP_MUST_USE static tp_status harmonic_worker_new(void *state, void **worker)
{
	(void)state;
	*worker = tp_calloc(1, sizeof(struct harmonic_worker));
	if (!*worker)
		return tp_err(TP_ENOMEM, "engine 'harmonic': out of memory for worker scratch");
	return TP_OK;
}

static void harmonic_drop_tile(struct harmonic_worker *wk)
{
	tp_free(wk->dist); tp_free(wk->imask); tp_free(wk->gmask);
	wk->dist = NULL; wk->imask = NULL; wk->gmask = NULL;
	wk->tcap = 0;
}

static void harmonic_drop_masked(struct harmonic_worker *wk)
{
	tp_free(wk->pos); tp_free_large(wk->nbr, wk->nbr_bytes); tp_free(wk->mdist); tp_free(wk->lab); tp_free(wk->cidx);
	tp_free(wk->queue); tp_free(wk->gpix); tp_free(wk->rcm); tp_free(wk->gstart);
	tp_free(wk->first); tp_free(wk->estart); tp_free(wk->inv); tp_free(wk->gfar);
	wk->gfar = NULL;
	wk->pos = wk->queue = wk->gpix = wk->rcm = wk->gstart = wk->first = NULL;
	wk->nbr = NULL;
	wk->lab = wk->cidx = NULL;
	wk->mdist = NULL;
	wk->estart = NULL; wk->inv = NULL;
	wk->mcap = 0;
}

static void harmonic_drop_iter(struct harmonic_worker *wk)
{
	tp_free(wk->u); tp_free(wk->r); tp_free(wk->z); tp_free(wk->p);
	tp_free(wk->q); tp_free(wk->t); tp_free(wk->f); tp_free(wk->idx);
	tp_free(wk->nb); tp_free(wk->deg); tp_free(wk->bidx);
	wk->bidx = NULL;
	wk->u = wk->r = wk->z = wk->p = wk->q = wk->t = NULL;
	wk->f = NULL; wk->idx = NULL; wk->nb = NULL; wk->deg = NULL;
	wk->icap = 0;
}

static void harmonic_worker_free(void *worker)
{
	struct harmonic_worker *wk = worker;
	if (!wk)
		return;
	harmonic_drop_tile(wk);
	harmonic_drop_masked(wk);
	harmonic_drop_iter(wk);
	tp_free(wk->rstart);
	tp_free(wk->env);
	tp_free(wk);
}

/* Per-pixel arrays for n pixels, at their rest values (grow only). */
TP_MUST_USE static tp_status harmonic_reserve_tile(struct harmonic_worker *wk, size_t n)
{
	if (n <= wk->tcap)
		return TP_OK;
	harmonic_drop_tile(wk);
	if (n > SIZE_MAX / 2 / sizeof(uint16_t))
		return tp_err(TP_EUSAGE, "engine 'harmonic': tile too large");
	/* Zero is every array's rest value, so calloc's fresh pages serve:
	 * a page no masked pixel comes near is never even touched. */
	wk->dist = tp_calloc(n, sizeof(uint16_t));
	wk->imask = tp_calloc(2, n);
	wk->gmask = tp_calloc(1, n);
	if (!wk->dist || !wk->imask || !wk->gmask) {
		harmonic_drop_tile(wk);
		return tp_err(TP_ENOMEM, "engine 'harmonic': out of memory for a %zu-pixel tile", n);
	}
	wk->tcap = n;
	return TP_OK;
}

/* Per-masked-pixel arrays for nm pixels and per-row starts for h rows
 * (grow only; contents not kept). */
TP_MUST_USE static tp_status harmonic_reserve_masked(struct harmonic_worker *wk, size_t nm, uint32_t h)
{
	if (h + (size_t)1 > wk->rcap) {
		tp_free(wk->rstart);
		wk->rcap = 0;
		if (!(wk->rstart = tp_malloc((h + (size_t)1) * sizeof(uint32_t))))
			return tp_err(TP_ENOMEM, "engine 'harmonic': out of memory for a %u-row tile", h);
		wk->rcap = h + (size_t)1;
	}
	if (nm <= wk->mcap)
		return TP_OK;
	harmonic_drop_masked(wk);
	if (nm > UINT32_MAX - 2 || nm > SIZE_MAX / 12 / sizeof(uint32_t))
		return tp_err(TP_EUSAGE, "engine 'harmonic': too many masked pixels");
	wk->pos = tp_malloc((nm + 1) * sizeof(uint32_t));
	wk->nbr_bytes = nm * 12 * sizeof(uint32_t);
	wk->nbr = tp_malloc_large(wk->nbr_bytes);
	wk->mdist = tp_malloc((nm + 2) * sizeof(uint16_t));
	wk->lab = tp_malloc((nm + 2) * sizeof(int32_t));
	wk->cidx = tp_malloc((nm + 2) * sizeof(int32_t));
	wk->queue = tp_malloc((nm + 1) * sizeof(uint32_t));   /* + 1: branch-free appends */
	wk->gpix = tp_malloc(nm * sizeof(uint32_t));
	wk->rcm = tp_malloc((nm + 1) * sizeof(uint32_t));
	wk->gstart = tp_malloc((nm + 1) * sizeof(uint32_t));
	wk->gfar = tp_malloc(nm * sizeof(uint32_t));
	wk->first = tp_malloc(nm * sizeof(uint32_t));
	wk->estart = tp_malloc((nm + 1) * sizeof(size_t));
	wk->inv = tp_malloc(nm * sizeof(double));
	if (!wk->pos || !wk->nbr || !wk->mdist || !wk->lab || !wk->cidx ||
	    !wk->queue || !wk->gpix || !wk->rcm || !wk->gstart || !wk->gfar || !wk->first || !wk->estart || !wk->inv) {
		harmonic_drop_masked(wk);
		return tp_err(TP_ENOMEM, "engine 'harmonic': out of memory for %zu masked pixels", nm);
	}
	wk->mcap = nm;
	return TP_OK;
}

/* The iterative solver's arrays for n pixels (grow only; contents not kept). */
TP_MUST_USE static tp_status harmonic_reserve_iter(struct harmonic_worker *wk, size_t n)
{
	size_t nd;
	if (n <= wk->icap)
		return TP_OK;
	harmonic_drop_iter(wk);
	if (tp_mul_overflow(n, 4 * sizeof(int32_t), &nd))
		return tp_err(TP_EUSAGE, "engine 'harmonic': tile too large");
	nd = n * sizeof(double);
	wk->u = tp_malloc(nd); wk->r = tp_malloc(nd); wk->z = tp_malloc(nd);
	wk->p = tp_malloc(nd); wk->q = tp_malloc(nd); wk->t = tp_malloc(nd);
	wk->f = tp_malloc(n * sizeof(float));
	wk->idx = tp_malloc(n * sizeof(uint32_t));
	wk->nb = tp_malloc(n * 4 * sizeof(int32_t));
	wk->deg = tp_malloc(n);
	wk->bidx = tp_malloc(n * sizeof(int32_t));
	if (!wk->bidx || !wk->u || !wk->r || !wk->z || !wk->p || !wk->q || !wk->t || !wk->f || !wk->idx ||
	    !wk->nb || !wk->deg) {
		harmonic_drop_iter(wk);
		return tp_err(TP_ENOMEM, "engine 'harmonic': out of memory for a %zu-pixel tile", n);
	}
	wk->icap = n;
	return TP_OK;
}

/* The cached DCT plan for (w, h), made on first use (under the FFTW lock). */
TP_MUST_USE static tp_status harmonic_plan_get(struct harmonic_state *s, uint32_t w, uint32_t h,
				   const struct harmonic_plan **out)
{
	struct harmonic_plan *pl;
	tp_status st = TP_OK;
	float *tmp = NULL;
	size_t n = (size_t)w * h;

	pthread_mutex_lock(&harmonic_fftw_lock);
	for (pl = s->plans; pl; pl = pl->next)
		if (pl->w == w && pl->h == h)
			goto out;
	pl = tp_calloc(1, sizeof *pl);
	tmp = tp_malloc(n * sizeof(float));
	if (!pl || !tmp || !(pl->inv_eig = tp_malloc(n * sizeof(float)))) {
		st = tp_err(TP_ENOMEM, "engine 'harmonic': out of memory for a %ux%u DCT plan", w, h);
		goto out;
	}
	pl->w = w;
	pl->h = h;
	/* FFTW_ESTIMATE does not touch the arrays; UNALIGNED lets workers
	 * execute on their own (tp_malloc'd) buffers with fftwf_execute_r2r. */
	pl->fwd = fftwf_plan_r2r_2d((int)h, (int)w, tmp, tmp, FFTW_REDFT10, FFTW_REDFT10,
				    FFTW_ESTIMATE | FFTW_UNALIGNED);
	pl->inv = fftwf_plan_r2r_2d((int)h, (int)w, tmp, tmp, FFTW_REDFT01, FFTW_REDFT01,
				    FFTW_ESTIMATE | FFTW_UNALIGNED);
	if (!pl->fwd || !pl->inv) {
		st = tp_err(TP_EINTERNAL, "engine 'harmonic': FFTW could not plan a %ux%u DCT", w, h);
		goto out;
	}
	{
		/* Neumann Laplacian eigenvalues: (2-2cos(pi k/w)) + (2-2cos(pi l/h)).
		 * The zero mode (constants) gets the smallest non-zero eigenvalue so
		 * the preconditioner stays positive definite. */
		double scale = 4.0 * (double)w * (double)h, lmin = 0;
		double ex = 2 - 2 * cos(M_PI / (w > 1 ? w : 2)), ey = 2 - 2 * cos(M_PI / (h > 1 ? h : 2));
		lmin = w > 1 && h > 1 ? (ex < ey ? ex : ey) : (w > 1 ? ex : ey);
		for (uint32_t l = 0; l < h; l++)
			for (uint32_t k = 0; k < w; k++) {
				double lam = (2 - 2 * cos(M_PI * k / w)) + (2 - 2 * cos(M_PI * l / h));
				if (k == 0 && l == 0)
					lam = lmin;
				pl->inv_eig[(size_t)l * w + k] = (float)(1.0 / (lam * scale));
			}
	}
	pl->next = s->plans;
	s->plans = pl;
out:
	if (st != TP_OK && pl) {
		if (pl->fwd)
			fftwf_destroy_plan(pl->fwd);
		if (pl->inv)
			fftwf_destroy_plan(pl->inv);
		tp_free(pl->inv_eig);
		tp_free(pl);
		pl = NULL;
	}
	pthread_mutex_unlock(&harmonic_fftw_lock);
	tp_free(tmp);
	*out = pl;
	return st;
}

/* ------------------------------------------------------------------ */
/* operators on a (bh, bw) box grid                                     */

/* out = L in, L the 5-point Laplacian with mirror edges (sum of u_p - u_q
 * over in-box neighbours q). Exact for the masked rows: the box keeps a
 * margin of `order` known pixels except where it meets the tile edge. */
static void harmonic_lap(const double *in, double *out, uint32_t bw, uint32_t bh)
{
	for (uint32_t y = 0; y < bh; y++) {
		const double *row = in + (size_t)y * bw;
		const double *up = y > 0 ? row - bw : NULL;
		const double *dn = y + 1 < bh ? row + bw : NULL;
		double *o = out + (size_t)y * bw;
		for (uint32_t x = 0; x < bw; x++) {
			double c = row[x], s = 0;
			if (x > 0) s += c - row[x - 1];
			if (x + 1 < bw) s += c - row[x + 1];
			if (up) s += c - up[x];
			if (dn) s += c - dn[x];
			o[x] = s;
		}
	}
}

/* out = L^order in; `tmp` is scratch of the same size. */
static void harmonic_apply(int order, const double *in, double *out, double *tmp,
			   uint32_t bw, uint32_t bh)
{
	if (order == 1) {
		harmonic_lap(in, out, bw, bh);
	} else {
		harmonic_lap(in, tmp, bw, bh);
		harmonic_lap(tmp, out, bw, bh);
	}
}

/* Neighbours of (x, y) inside the box: the diagonal of L at that pixel. */
/*
 * The masked pixels M come first in wk->idx (box raster order), then, for
 * order 2, the halo H of box pixels next to M. bidx maps a box pixel to its
 * place in that list (or -1); nb holds each listed pixel's 4 neighbours'
 * places (-1: outside the box or not listed) and deg its in-box neighbour
 * count. The iteration then touches only M and H, so a thin scratch across
 * a tile costs what its pixels cost, not what the tile costs.
 */
static size_t harmonic_graph(struct harmonic_worker *wk, size_t nm, int order, uint32_t bw, uint32_t bh)
{
	size_t n = (size_t)bw * bh, ns = nm;
	for (size_t k = 0; k < n; k++)
		wk->bidx[k] = -1;
	for (size_t i = 0; i < nm; i++)
		wk->bidx[wk->idx[i]] = (int32_t)i;
	for (size_t i = 0; i < ns; i++) {
		uint32_t k = wk->idx[i], x = k % bw, y = k / bw;
		uint32_t nbk[4];
		int have[4] = { x > 0, x + 1 < bw, y > 0, y + 1 < bh };
		nbk[0] = k - 1; nbk[1] = k + 1; nbk[2] = k - bw; nbk[3] = k + bw;
		wk->deg[i] = (uint8_t)(have[0] + have[1] + have[2] + have[3]);
		for (int d = 0; d < 4; d++) {
			if (have[d] && i < nm && order == 2 && wk->bidx[nbk[d]] < 0) {
				wk->bidx[nbk[d]] = (int32_t)ns;
				wk->idx[ns++] = nbk[d];
			}
			wk->nb[i * 4 + d] = have[d] ? wk->bidx[nbk[d]] : -1;
		}
	}
	/* Halo pixels listed after their own row was built: refresh them all. */
	for (size_t i = 0; i < ns; i++) {
		uint32_t k = wk->idx[i], x = k % bw, y = k / bw;
		wk->nb[i * 4 + 0] = x > 0 ? wk->bidx[k - 1] : -1;
		wk->nb[i * 4 + 1] = x + 1 < bw ? wk->bidx[k + 1] : -1;
		wk->nb[i * 4 + 2] = y > 0 ? wk->bidx[k - bw] : -1;
		wk->nb[i * 4 + 3] = y + 1 < bh ? wk->bidx[k + bw] : -1;
	}
	return ns;
}

/* q = R L^order E p on the compact list (p, q: nm entries; t: ns scratch). */
static void harmonic_apply_sparse(const struct harmonic_worker *wk, int order, size_t nm, size_t ns,
				  const double *p, double *q, double *t)
{
	const int32_t *nb = wk->nb;
	if (order == 1) {
		for (size_t i = 0; i < nm; i++) {
			double v = wk->deg[i] * p[i];
			for (int d = 0; d < 4; d++) {
				int32_t j = nb[i * 4 + d];
				if (j >= 0 && (size_t)j < nm)
					v -= p[j];
			}
			q[i] = v;
		}
		return;
	}
	for (size_t i = 0; i < ns; i++) {
		double v = i < nm ? wk->deg[i] * p[i] : 0.0;
		for (int d = 0; d < 4; d++) {
			int32_t j = nb[i * 4 + d];
			if (j >= 0 && (size_t)j < nm)
				v -= p[j];
		}
		t[i] = v;
	}
	for (size_t i = 0; i < nm; i++) {
		double v = wk->deg[i] * t[i];
		for (int d = 0; d < 4; d++) {
			int32_t j = nb[i * 4 + d];
			if (j >= 0)
				v -= t[j];
		}
		q[i] = v;
	}
}

/* z = M^-1 r on the compact list: Jacobi (pl NULL) or the whole-box DCT solve. */
static void harmonic_precond(int order, struct harmonic_worker *wk, const struct harmonic_plan *pl,
			     size_t nm, size_t n, double omega)
{
	if (!pl && order == 1 && omega > 0) {
		/* SSOR for the Laplacian (A = D - E - F, E/F the neighbour links
		 * before/after in list order, all -1): (D/w - E) y = r, then
		 * (D/w - F) z = (D/w) y. Symmetric, so plain CG theory holds. */
		const int32_t *nb = wk->nb;
		for (size_t i = 0; i < nm; i++) {
			double v = wk->r[i];
			for (int d = 0; d < 4; d++) {
				int32_t j = nb[i * 4 + d];
				if (j >= 0 && (size_t)j < i)
					v += wk->z[j];
			}
			wk->z[i] = v * omega / wk->deg[i];
		}
		for (size_t i = 0; i < nm; i++)
			wk->z[i] *= wk->deg[i] / omega;
		for (size_t i = nm; i-- > 0;) {
			double v = wk->z[i];
			for (int d = 0; d < 4; d++) {
				int32_t j = nb[i * 4 + d];
				if (j >= 0 && (size_t)j > i && (size_t)j < nm)
					v += wk->z[j];
			}
			wk->z[i] = v * omega / wk->deg[i];
		}
		return;
	}
	if (!pl) {
		for (size_t i = 0; i < nm; i++) {
			double d = wk->deg[i];
			wk->z[i] = wk->r[i] / (order == 1 ? d : d * d + d);
		}
		return;
	}
	memset(wk->f, 0, n * sizeof(float));
	for (size_t i = 0; i < nm; i++)
		wk->f[wk->idx[i]] = (float)wk->r[i];
	fftwf_execute_r2r(pl->fwd, wk->f, wk->f);
	for (size_t i = 0; i < n; i++)
		wk->f[i] *= pl->inv_eig[i];
	fftwf_execute_r2r(pl->inv, wk->f, wk->f);
	for (size_t i = 0; i < nm; i++)
		wk->z[i] = wk->f[wk->idx[i]];
}

/* ------------------------------------------------------------------ */
/* the solve                                                             */

/*
 * Solve one channel: wk->u, a (bh, bw) box grid, holds the known values and
 * an initial guess on the masked pixels, and receives the solution. Flexible
 * CG (Polak-Ribiere beta), so the float DCT preconditioner may be slightly
 * inexact without stalling the iteration. r, z, p, q are compact (nm).
 */
static long harmonic_solve(const struct harmonic_state *s, int order, struct harmonic_worker *wk,
			   const struct harmonic_plan *pl, size_t nm, size_t ns, uint32_t bw, uint32_t bh,
			   uint32_t maxd)
{
	/* The error is at most |r|_2 / lambda_min, and lambda_min of the
	 * masked operator is about (1 / (D+1)^2)^order for a hole at most D
	 * pixels thick: stop when that bound is below 1e-6 (a fifteenth of
	 * a 16-bit level), or when the relative test below holds. */
	double lam = pow(1.0 / (((double)maxd + 1) * ((double)maxd + 1)), order);
	double r2_stop = (1e-6 * lam) * (1e-6 * lam);
	/* SSOR relaxation for a hole D thick: near-optimal 2 / (1 + pi / (D+1)). */
	double omega = 2.0 / (1.0 + M_PI / ((double)maxd + 1));
	long max_it = order == 1 ? HARMONIC_MAX_ITERS_1 : HARMONIC_MAX_ITERS_2;
	size_t n = (size_t)bw * bh;
	double rz, rz0, rr = 0;
	long it;

	/* r = -R L^o u, once on the full box (u's known part is the data). */
	harmonic_apply(order, wk->u, wk->q, wk->t, bw, bh);
	for (size_t i = 0; i < nm; i++) {
		wk->r[i] = -wk->q[wk->idx[i]];
		rr = fmax(rr, fabs(wk->r[i]));
	}
	if (rr < 1e-12)
		return 0;
	harmonic_precond(order, wk, pl, nm, n, omega);
	rz = 0;
	for (size_t i = 0; i < nm; i++) {
		wk->p[i] = wk->z[i];
		rz += wk->r[i] * wk->z[i];
	}
	rz0 = rz;
	for (it = 1; it <= max_it && !tp_cancelled(); it++) {
		double pq = 0, alpha, rz_new = 0, rzo = 0, beta, upd = 0, r2 = 0;
		harmonic_apply_sparse(wk, order, nm, ns, wk->p, wk->q, wk->t);
		for (size_t i = 0; i < nm; i++)
			pq += wk->p[i] * wk->q[i];
		if (!(pq > 0))
			break;
		alpha = rz / pq;
		rr = 0;
		for (size_t i = 0; i < nm; i++) {
			double d = alpha * wk->p[i];
			wk->u[wk->idx[i]] += d;
			if (fabs(d) > upd)
				upd = fabs(d);
			wk->r[i] -= alpha * wk->q[i];
			if (fabs(wk->r[i]) > rr)
				rr = fabs(wk->r[i]);
			r2 += wk->r[i] * wk->r[i];
		}
		if (r2 < r2_stop)
			break;
		/* Keep the old z for the flexible beta: q is free now. */
		memcpy(wk->q, wk->z, nm * sizeof(double));
		harmonic_precond(order, wk, pl, nm, n, omega);
		for (size_t i = 0; i < nm; i++) {
			rz_new += wk->r[i] * wk->z[i];
			rzo += wk->r[i] * wk->q[i];
		}
		/* Converged when the preconditioned residual fell by 1/tol and
		 * the last step moved no value by a tenth of a 16-bit level. */
		if ((rz_new <= s->tol * s->tol * rz0 && upd < 1.5e-6) || rr < 1e-12)
			break;
		beta = (rz_new - rzo) / rz;
		if (beta < 0)
			beta = 0;
		rz = rz_new;
		for (size_t i = 0; i < nm; i++)
			wk->p[i] = wk->z[i] + beta * wk->p[i];
	}
	return it;
}

/*
 * A better start for thin holes: layer by layer outward from the known
 * pixels (layer = city-block distance d), each hole pixel takes the mean of
 * its 4-neighbours one layer closer. Close to the answer for scratches, so
 * CG has little left to do. O(maxd x nm), hence only for thin holes.
 */
#define HARMONIC_PEEL_MAX_D 32
static void harmonic_peel(struct harmonic_worker *wk, uint32_t maxd, size_t nm,
			  uint32_t w, uint32_t x0, uint32_t y0, uint32_t bw, uint32_t bh)
{
	for (uint32_t d = 1; d <= maxd; d++)
		for (size_t i = 0; i < nm; i++) {
			uint32_t k = wk->idx[i], x = k % bw, y = k / bw;
			size_t tk = (size_t)(y + y0) * w + x + x0;
			double sum = 0;
			int cnt = 0;
			if (wk->dist[tk] != d)
				continue;
			if (x > 0 && wk->dist[tk - 1] < d) { sum += wk->u[k - 1]; cnt++; }
			if (x + 1 < bw && wk->dist[tk + 1] < d) { sum += wk->u[k + 1]; cnt++; }
			if (y > 0 && wk->dist[tk - w] < d) { sum += wk->u[k - bw]; cnt++; }
			if (y + 1 < bh && wk->dist[tk + w] < d) { sum += wk->u[k + bw]; cnt++; }
			if (cnt)
				wk->u[k] = sum / cnt;
		}
}


/* ------------------------------------------------------------------ */
/* direct solve, group by group                                          */

/*
 * The masked pixels fall into groups the equations do not couple: for
 * Laplace, 4-connected components; for order 2, R L L couples pixels up to
 * two steps apart (through the Laplacian of the pixel between them), so a
 * group joins masked pixels at city-block distance <= 2. Each group is a
 * small symmetric positive definite system, solved exactly by a Cholesky
 * factor stored as an envelope (each row from its first non-zero column),
 * with the pixels in reverse Cuthill-McKee order (harmonic_rcm). A scratch
 * or a letter is a long thin group, so its envelope is a couple of
 * cross-sections wide, and one factor serves all channels. Groups whose factor would cost more than HARMONIC_DIRECT_WORK
 * (big holes) go to the iterative solver below.
 */
#define HARMONIC_DIRECT_WORK 2.0e8     /* sum over rows of (row width)^2 */
#define HARMONIC_DIRECT_ENV (8u << 20) /* envelope entries (64 MiB) */
#define HARMONIC_BLOCK 4   /* rows of the factor made together (they share their first column) */

static const int8_t harmonic_off[12][2] = {
	{ -1, 0 }, { 1, 0 }, { 0, -1 }, { 0, 1 },
	{ -2, 0 }, { 2, 0 }, { 0, -2 }, { 0, 2 },
	{ -1, -1 }, { 1, -1 }, { -1, 1 }, { 1, 1 },
};

/* The squared 5-point Laplacian away from edges: (dx, dy, coefficient);
 * entry o > 0 is the neighbour at harmonic_off[o - 1]. */
static const int8_t harmonic_bilap[13][3] = {
	{ 0, 0, 20 }, { -1, 0, -8 }, { 1, 0, -8 }, { 0, -1, -8 }, { 0, 1, -8 },
	{ -2, 0, 1 }, { 2, 0, 1 }, { 0, -2, 1 }, { 0, 2, 1 },
	{ -1, -1, 2 }, { 1, -1, 2 }, { -1, 1, 2 }, { 1, 1, 2 },
};

/* harmonic_off's index of offset (dx, dy), at [dy + 2][dx + 2]; -1: none. */
static const int8_t harmonic_slot[5][5] = {
	{ -1, -1, 6, -1, -1 },
	{ -1, 8, 2, 9, -1 },
	{ 4, 0, -1, 1, 5 },
	{ -1, 10, 3, 11, -1 },
	{ -1, -1, 7, -1, -1 },
};

/*
 * The stencil neighbours of the nm masked pixels listed (raster order) in
 * wk->pos, into wk->nbr: nothing per tile pixel is read but the mask bytes
 * next to the holes. A masked neighbour's index is found from a pointer
 * into its row's masked pixels that only moves forward as x does: away
 * from the tile edge one pointer per row (dy), which steps by the mask byte
 * it passes along a run and walks the list across a gap, and the index of
 * each of up to three neighbours in that row is that pointer plus the
 * masked bytes before it; near the edge one pointer per offset walks the
 * list. O(12 nm) in all.
 */
static void harmonic_neighbours(struct harmonic_worker *wk, const uint8_t *mask, uint32_t nm,
				uint32_t w, uint32_t h)
{
	uint32_t *pos = wk->pos, *rs = wk->rstart;
	const uint32_t K = nm, OUT = nm + 1;
	uint32_t i = 0;

	pos[nm] = UINT32_MAX;   /* stops the edge walk past the last row's pixels */
	for (uint32_t y = 0; y <= h; y++) {
		size_t lim = (size_t)y * w;
		while (i < nm && pos[i] < lim)
			i++;
		rs[y] = i;
	}
	for (uint32_t y = 0; y < h; y++) {
		uint32_t ptr[12], fp[5];   /* edge walk per offset; fast walk per row */
		size_t fq[5];              /* the fast walk's place: fp[d] = first masked >= fq[d] */
		if (rs[y] == rs[y + 1])
			continue;
		for (int o = 0; o < 12; o++) {
			int64_t ny = (int64_t)y + harmonic_off[o][1];
			ptr[o] = ny >= 0 && ny < (int64_t)h ? rs[ny] : 0;
		}
		for (int d = 0; d < 5; d++) {
			int64_t ny = (int64_t)y + d - 2;
			fp[d] = ny >= 0 && ny < (int64_t)h ? rs[ny] : 0;
			fq[d] = ny >= 0 && ny < (int64_t)h ? (size_t)ny * w : 0;
		}
		for (i = rs[y]; i < rs[y + 1]; i++) {
			uint32_t k = pos[i], x = k - y * w, *nb = wk->nbr + (size_t)i * 12;
			if (x >= 2 && y >= 2 && x + 2 < w && y + 2 < h) {
				const uint8_t *m = mask + k;
				uint32_t l1 = m[-1] != 0, r1 = m[1] != 0;
				/* the targets: (x-1) in rows y-1 and y+1, x in rows y-2 and y+2 */
				size_t tq[5] = { k - 2 * (size_t)w, k - (size_t)w - 1, 0, k + (size_t)w - 1, k + 2 * (size_t)w };
				for (int d = 0; d < 5; d++) {
					if (d == 2)
						continue;
					/* along a run, step by the byte passed; across a gap,
					 * walk the row's list (a scratch's rows hold few) */
					if (tq[d] - fq[d] == 1) {
						fp[d] += mask[fq[d]] != 0;
					} else {
						while (pos[fp[d]] < tq[d])
							fp[d]++;
					}
					fq[d] = tq[d];
				}
				nb[0] = l1 ? i - 1 : K;
				nb[1] = r1 ? i + 1 : K;
				nb[4] = m[-2] ? i - 1 - l1 : K;
				nb[5] = m[2] ? i + 1 + r1 : K;
				nb[6] = mask[tq[0]] ? fp[0] : K;
				nb[7] = mask[tq[4]] ? fp[4] : K;
				{
					const uint8_t *u = mask + tq[1];
					uint32_t a = u[0] != 0, b = u[1] != 0;
					nb[8] = a ? fp[1] : K;
					nb[2] = b ? fp[1] + a : K;
					nb[9] = u[2] ? fp[1] + a + b : K;
				}
				{
					const uint8_t *v = mask + tq[3];
					uint32_t a = v[0] != 0, b = v[1] != 0;
					nb[10] = a ? fp[3] : K;
					nb[3] = b ? fp[3] + a : K;
					nb[11] = v[2] ? fp[3] + a + b : K;
				}
				continue;
			}
			for (int o = 0; o < 12; o++) {
				int64_t nx = (int64_t)x + harmonic_off[o][0], ny = (int64_t)y + harmonic_off[o][1];
				size_t q;
				if (nx < 0 || ny < 0 || nx >= (int64_t)w || ny >= (int64_t)h) {
					nb[o] = OUT;
					continue;
				}
				q = (size_t)ny * w + (size_t)nx;
				if (!mask[q]) {
					nb[o] = K;
					continue;
				}
				/* q is listed, in row ny, at or after ptr[o] */
				while (pos[ptr[o]] < q)
					ptr[o]++;
				nb[o] = ptr[o];
			}
		}
	}
	/* the two stand-ins (see struct harmonic_worker) */
	wk->known = K;
	wk->lab[K] = wk->lab[OUT] = INT32_MIN;
	wk->mdist[K] = wk->mdist[OUT] = UINT16_MAX;
	wk->cidx[K] = wk->cidx[OUT] = 0;
}

/*
 * Label the groups of the nm masked pixels (order 1: 4 neighbours; order
 * 2: 12). Lists their masked indices in gpix, group by group, each in
 * raster order, from gstart; returns how many groups. The breadth-first
 * sweep from a group's first pixel is also the first sweep of its reverse
 * Cuthill-McKee order, so its last pixel is kept (gfar).
 */
static uint32_t harmonic_groups(struct harmonic_worker *wk, size_t nm, int order)
{
	int noff = order == 2 ? 12 : 4;
	uint32_t ng = 0, *queue = wk->queue, *cur = wk->first;

	memset(wk->lab, 0, nm * sizeof(int32_t));   /* lab[nm], lab[nm + 1]: stand-ins */
	for (size_t i0 = 0; i0 < nm; i0++) {
		size_t qh = 0, qt = 0;
		if (wk->lab[i0] != 0)
			continue;
		wk->lab[i0] = (int32_t)ng + 1;
		queue[qt++] = (uint32_t)i0;
		while (qh < qt) {
			const uint32_t *nb = wk->nbr + (size_t)queue[qh++] * 12;
			/* branch-free: the stand-ins' lab is never 0 */
			for (int o = 0; o < noff; o++) {
				uint32_t j = nb[o];
				int32_t l = wk->lab[j];
				int fresh = l == 0;
				wk->lab[j] = fresh ? (int32_t)ng + 1 : l;
				queue[qt] = j;
				qt += (size_t)fresh;
			}
		}
		wk->gfar[ng] = queue[qt - 1];
		ng++;
	}
	/* Counting sort by group, stable: raster order within each. */
	memset(wk->gstart, 0, ((size_t)ng + 1) * sizeof(uint32_t));
	for (size_t i = 0; i < nm; i++)
		wk->gstart[wk->lab[i]]++;
	for (uint32_t g = 0; g < ng; g++) {
		wk->gstart[g + 1] += wk->gstart[g];
		cur[g] = wk->gstart[g];
	}
	for (size_t i = 0; i < nm; i++)
		wk->gpix[cur[wk->lab[i] - 1]++] = (uint32_t)i;
	return ng;
}

/*
 * City-block distance of each masked pixel to the nearest known one, into
 * mdist (0: none in reach), by a breadth-first sweep from the hole's rim
 * through masked pixels (the shortest such path is as long as the
 * city-block distance: a known pixel on a shorter straight path would be
 * nearer).
 */
static void harmonic_hole_dist(struct harmonic_worker *wk, size_t nm)
{
	uint32_t *queue = wk->queue;
	size_t qh = 0, qt = 0;
	const uint32_t K = wk->known;
	for (size_t i = 0; i < nm; i++) {
		const uint32_t *nb = wk->nbr + i * 12;
		int rim = (nb[0] == K) | (nb[1] == K) | (nb[2] == K) | (nb[3] == K);
		wk->mdist[i] = (uint16_t)rim;
		queue[qt] = (uint32_t)i;
		qt += (size_t)rim;
	}
	while (qh < qt) {
		uint32_t i = queue[qh++];
		const uint32_t *nb = wk->nbr + (size_t)i * 12;
		uint16_t d = wk->mdist[i], nd = d < 60000 ? (uint16_t)(d + 1) : d;
		/* branch-free: the stand-ins' mdist is never 0 */
		for (int o = 0; o < 4; o++) {
			uint32_t j = nb[o];
			uint16_t old = wk->mdist[j];
			int fresh = old == 0;
			wk->mdist[j] = fresh ? nd : old;
			queue[qt] = j;
			qt += (size_t)fresh;
		}
	}
}

/*
 * Envelope of the factor for the masked pixels in `ord` (their places set
 * in cidx): each row's first column, into first[]. Rows in blocks of
 * HARMONIC_BLOCK then share the block's smallest first column: the factor
 * makes a block's rows together, and the few leading entries this adds stay
 * exactly zero. Returns sum (width^2), the factor's work; *size the entries.
 */
static double harmonic_envelope(struct harmonic_worker *wk, const uint32_t *ord, uint32_t m, int order,
				size_t *size)
{
	int noff = order == 2 ? 12 : 4;
	double cost = 0;
	size_t sz = 0;
	for (uint32_t i = 0; i < m; i++) {
		const uint32_t *nb = wk->nbr + (size_t)ord[i] * 12;
		uint32_t f = i;
		for (int o = 0; o < noff; o++) {
			/* outside the order (the stand-ins too): cidx 0, so UINT32_MAX */
			uint32_t j = (uint32_t)(wk->cidx[nb[o]] - 1);
			f = j < f ? j : f;
		}
		wk->first[i] = f;
	}
	for (uint32_t b = 0; b < m; b += HARMONIC_BLOCK) {
		uint32_t e = m - b < HARMONIC_BLOCK ? m : b + HARMONIC_BLOCK, f = wk->first[b];
		for (uint32_t i = b + 1; i < e; i++)
			f = wk->first[i] < f ? wk->first[i] : f;
		for (uint32_t i = b; i < e; i++) {
			wk->first[i] = f;
			sz += (size_t)(i - f) + 1;
			cost += (double)(i - f) * (double)(i - f);
		}
	}
	*size = sz;
	return cost;
}

/*
 * Pairs of doubles (GCC vector extensions: SSE2 on x86-64, NEON on arm64,
 * plain code elsewhere): lane l of an accumulator sums the products at
 * positions = l (mod 2), exactly what two scalar sums would, so the results
 * do not depend on the instruction set. Loads go through memcpy (any
 * alignment).
 */
typedef double harmonic_v2d __attribute__((vector_size(16)));

static inline harmonic_v2d harmonic_ld2(const double *p)
{
	harmonic_v2d v;
	memcpy(&v, p, sizeof v);
	return v;
}

/* Fixed-order dot product in four lanes (deterministic). */
static inline double harmonic_dot(const double *a, const double *b, size_t n)
{
	harmonic_v2d s01 = { 0, 0 }, s23 = { 0, 0 };
	double s0;
	size_t i = 0;
	for (; i + 4 <= n; i += 4) {
		s01 += harmonic_ld2(a + i) * harmonic_ld2(b + i);
		s23 += harmonic_ld2(a + i + 2) * harmonic_ld2(b + i + 2);
	}
	s0 = s01[0];
	for (; i < n; i++)
		s0 += a[i] * b[i];
	return (s0 + s01[1]) + (s23[0] + s23[1]);
}


/* s[t] += r[t].c over [k0, k1) for the HARMONIC_BLOCK rows r[t]: one loop
 * for all, sharing c's loads, two lanes each. Fixed order. */
static inline void harmonic_dotn(double *const r[HARMONIC_BLOCK], const double *c, uint32_t k0,
				 uint32_t k1, double s[HARMONIC_BLOCK])
{
	harmonic_v2d v0 = { 0, 0 }, v1 = { 0, 0 }, v2 = { 0, 0 }, v3 = { 0, 0 };
	uint32_t k = k0;
	for (; k + 2 <= k1; k += 2) {
		harmonic_v2d vc = harmonic_ld2(c + k);
		v0 += harmonic_ld2(r[0] + k) * vc;
		v1 += harmonic_ld2(r[1] + k) * vc;
		v2 += harmonic_ld2(r[2] + k) * vc;
		v3 += harmonic_ld2(r[3] + k) * vc;
	}
	if (k < k1) {
		v0[0] += r[0][k] * c[k];
		v1[0] += r[1][k] * c[k];
		v2[0] += r[2][k] * c[k];
		v3[0] += r[3][k] * c[k];
	}
	s[0] = v0[0] + v0[1];
	s[1] = v1[0] + v1[1];
	s[2] = v2[0] + v2[1];
	s[3] = v3[0] + v3[1];
}

/*
 * Envelope Cholesky of the m rows in wk->env, A = G G^T, G in place of A's
 * lower triangle: G_ij = (A_ij - sum_k G_ik G_jk) / G_jj from each row's
 * first column, then the diagonal. The sums are short (a stroke's envelope
 * is ~20 wide), so the bookkeeping around each costs as much as the
 * multiplying: the HARMONIC_BLOCK rows of a block, which share their first
 * column, are made together, their sums against each earlier row in one
 * loop, then the small triangle among themselves.
 * Returns 0 when A is not positive definite.
 */
static int harmonic_factor(struct harmonic_worker *wk, uint32_t m)
{
	const uint32_t *first = wk->first;
	double *inv = wk->inv, d;

	for (uint32_t i = 0; i < m; i += HARMONIC_BLOCK) {
		uint32_t nr = m - i < HARMONIC_BLOCK ? m - i : HARMONIC_BLOCK, f = first[i];
		double *r[HARMONIC_BLOCK];
		for (uint32_t t = 0; t < HARMONIC_BLOCK; t++)   /* a short last block repeats its first row */
			r[t] = wk->env + wk->estart[i + (t < nr ? t : 0)] - f;
		for (uint32_t j = f; j < i; j++) {
			uint32_t fj = first[j], k = f > fj ? f : fj;
			const double *rj = wk->env + wk->estart[j] - fj;
			double sum[HARMONIC_BLOCK];
			harmonic_dotn(r, rj, k, j, sum);
			for (uint32_t t = 0; t < nr; t++)
				r[t][j] = (r[t][j] - sum[t]) * inv[j];
		}
		/* the triangle: row t's columns i .. i+t-1 against rows 0 .. t-1, then its diagonal */
		for (uint32_t t = 0; t < nr; t++) {
			for (uint32_t u = 0; u < t; u++)
				r[t][i + u] = (r[t][i + u] - harmonic_dot(r[t] + f, r[u] + f, i + u - f)) * inv[i + u];
			d = r[t][i + t] - harmonic_dot(r[t] + f, r[t] + f, i + t - f);
			if (!(d > 0))   /* cannot happen for a group with a known pixel in reach */
				return 0;
			r[t][i + t] = sqrt(d);
			inv[i + t] = 1.0 / r[t][i + t];
		}
	}
	return 1;
}

static inline uint32_t harmonic_deg(uint32_t x, uint32_t y, uint32_t w, uint32_t h)
{
	return (uint32_t)(x > 0) + (x + 1 < w) + (y > 0) + (y + 1 < h);
}

/* (x, y) and its in-tile 4-neighbours, in stencil order, into sx, sy; how many. */
static inline uint32_t harmonic_star(uint32_t x, uint32_t y, uint32_t w, uint32_t h, uint32_t *sx,
				     uint32_t *sy)
{
	uint32_t n = 0;
	sx[n] = x; sy[n++] = y;
	if (x > 0) { sx[n] = x - 1; sy[n++] = y; }
	if (x + 1 < w) { sx[n] = x + 1; sy[n++] = y; }
	if (y > 0) { sx[n] = x; sy[n++] = y - 1; }
	if (y + 1 < h) { sx[n] = x; sy[n++] = y + 1; }
	return n;
}

/*
 * Reverse Cuthill-McKee-like order of group P (m masked indices) into out[]:
 * breadth-first from a far end of the group (`start`, the last pixel the
 * labelling sweep from its first pixel reached), neighbours in stencil
 * order, then reversed. Each BFS level is a cross-section of the stroke,
 * so the envelope is a few cross-sections wide however the stroke bends
 * (an "S", an "O", a diagonal scratch). Uses lab as visit marks (restored
 * to g) and out as the queue.
 */
static void harmonic_rcm(struct harmonic_worker *wk, const uint32_t *P, uint32_t m, int order,
			 int32_t g, uint32_t start, uint32_t *out)
{
	int noff = order == 2 ? 12 : 4;
	uint32_t qh = 0, qt = 0;
	out[qt++] = start;
	wk->lab[start] = -1;
	while (qh < qt) {
		const uint32_t *nb = wk->nbr + (size_t)out[qh++] * 12;
		for (int o = 0; o < noff; o++) {
			uint32_t j = nb[o];
			int32_t l = wk->lab[j];
			int fresh = l == g;
			wk->lab[j] = fresh ? -1 : l;
			out[qt] = j;
			qt += (uint32_t)fresh;
		}
	}
	for (uint32_t i = 0; i < m; i++)
		wk->lab[P[i]] = g;
	for (uint32_t i = 0, j = m - 1; i < j; i++, j--) {
		uint32_t t = out[i];
		out[i] = out[j];
		out[j] = t;
	}
}

/*
 * Solve group P (m masked indices, raster order) exactly. Returns 1 when
 * solved (tile->pix holds the fill), 0 when the group is too big for a
 * direct solve (nothing changed), -1 on allocation failure (tp_err set).
 */
static int harmonic_direct(struct harmonic_worker *wk, struct engine_tile *tile, const uint32_t *P,
			   uint32_t m, int order, int conn, int32_t g)
{
	uint32_t w = tile->w, h = tile->h, C = tile->channels;
	const uint32_t *ord = wk->rcm;
	double cost;
	size_t size;
	double *B, *inv = wk->inv;
	int ret = 1;

	/* Reverse Cuthill-McKee order. (Trying row order as well, and keeping
	 * the smaller envelope, won on a few compact letters but cost more in
	 * the trying than it saved: 13% more work on the benchmark's text.) */
	harmonic_rcm(wk, P, m, conn, g, wk->gfar[g - 1], wk->rcm);
	for (uint32_t i = 0; i < m; i++)
		wk->cidx[ord[i]] = (int32_t)i + 1;
	cost = harmonic_envelope(wk, ord, m, order, &size);
	if (cost > HARMONIC_DIRECT_WORK || size > HARMONIC_DIRECT_ENV) {
		ret = 0;
		goto out;
	}
	if (size + (size_t)m * C > wk->env_cap) {
		double *e = tp_realloc(wk->env, (size + (size_t)m * C) * sizeof(double));
		if (!e) {
			tp_err(TP_ENOMEM, "engine 'harmonic': out of memory for a %u-pixel hole's factor", m);
			ret = -1;
			goto out;
		}
		wk->env = e;
		wk->env_cap = size + (size_t)m * C;
	}
	wk->estart[0] = 0;
	for (uint32_t i = 0; i < m; i++)
		wk->estart[i + 1] = wk->estart[i] + (i - wk->first[i]) + 1;
	memset(wk->env, 0, size * sizeof(double));
	B = wk->env + size;   /* (m, C) right-hand sides, then the solution */

	/* Rows of A = R L^order E (lower triangle) and the right-hand sides
	 * b = -R L^order u0, u0 the known values with the group zeroed. */
	for (uint32_t i = 0; i < m; i++) {
		uint32_t k = wk->pos[ord[i]], x = k % w, y = k / w;
		const uint32_t *nb = wk->nbr + (size_t)ord[i] * 12, K = wk->known;
		double *row = wk->env + wk->estart[i] - wk->first[i];   /* row[j], j in [first, i] */
		for (uint32_t c = 0; c < C; c++)
			B[(size_t)i * C + c] = 0;
		if (order == 1) {
			uint32_t deg = 0;
			for (int o = 0; o < 4; o++) {
				if (nb[o] == K + 1)   /* past the tile edge */
					continue;
				deg++;
				if (nb[o] < K) {
					uint32_t j = (uint32_t)(wk->cidx[nb[o]] - 1);
					if (j < i)
						row[j] = -1;
				} else {
					const float *v = tile->pix + ((size_t)k + (ptrdiff_t)harmonic_off[o][1] * w +
								      harmonic_off[o][0]) * C;
					for (uint32_t c = 0; c < C; c++)
						B[(size_t)i * C + c] += v[c];
				}
			}
			row[i] = deg;
			continue;
		}
		if (x >= 2 && y >= 2 && x + 2 < w && y + 2 < h) {
			/* Away from the tile edge A is the 13-point stencil of
			 * the squared Laplacian, and b_i = -sum over known q of A_iq u_q. */
			double acc[3] = { 0, 0, 0 };
			row[i] += harmonic_bilap[0][2];
			for (int o = 1; o < 13; o++) {
				double a = harmonic_bilap[o][2];
				uint32_t q = nb[o - 1];
				if (q < K) {
					uint32_t j = (uint32_t)(wk->cidx[q] - 1);
					if (j <= i)
						row[j] += a;
				} else {
					const float *v = tile->pix + ((size_t)k + (ptrdiff_t)harmonic_bilap[o][1] * w +
								      harmonic_bilap[o][0]) * C;
					for (uint32_t c = 0; c < C; c++)
						acc[c] += a * v[c];
				}
			}
			for (uint32_t c = 0; c < C; c++)
				B[(size_t)i * C + c] = -acc[c];
			continue;
		}
		{
			/* order 2 at the tile edge: A_ij = sum_k L_ki L_kj over k in {p}
			 * and its neighbours; b_i = -sum_k L_ki (L u0)_k. */
			uint32_t nx[5], ny[5], nn = harmonic_star(x, y, w, h, nx, ny);
			for (uint32_t a = 0; a < nn; a++) {
				uint32_t kx = nx[a], ky = ny[a], dk = harmonic_deg(kx, ky, w, h);
				double lki = a == 0 ? (double)(nn - 1) : -1.0;
				double lu[3] = { 0, 0, 0 };
				uint32_t qx[5], qy[5], nq = harmonic_star(kx, ky, w, h, qx, qy);
				for (uint32_t b = 0; b < nq; b++) {
					int s = harmonic_slot[(int)qy[b] - (int)y + 2][(int)qx[b] - (int)x + 2];
					uint32_t mq = s < 0 ? ord[i] : nb[s];
					double lkq = b == 0 ? (double)dk : -1.0;
					if (mq < K) {
						uint32_t j = (uint32_t)(wk->cidx[mq] - 1);
						if (j <= i)
							row[j] += lki * lkq;
					} else {
						const float *v = tile->pix + ((size_t)qy[b] * w + qx[b]) * C;
						for (uint32_t c = 0; c < C; c++)
							lu[c] += lkq * v[c];
					}
				}
				for (uint32_t c = 0; c < C; c++)
					B[(size_t)i * C + c] -= lki * lu[c];
			}
		}
	}

	if (!harmonic_factor(wk, m)) {
		ret = 0;
		goto out;
	}
	/* G y = b, then G^T x = y, all channels in one sweep. */
	for (uint32_t i = 0; i < m; i++) {
		uint32_t fi = wk->first[i];
		const double *ri = wk->env + wk->estart[i] - fi;
		double *bi = B + (size_t)i * C;
		if (C == 3) {
			double v0 = 0, v1 = 0, v2 = 0;
			for (uint32_t j = fi; j < i; j++) {
				const double *bj = B + (size_t)j * 3;
				v0 += ri[j] * bj[0];
				v1 += ri[j] * bj[1];
				v2 += ri[j] * bj[2];
			}
			bi[0] = (bi[0] - v0) * inv[i];
			bi[1] = (bi[1] - v1) * inv[i];
			bi[2] = (bi[2] - v2) * inv[i];
		} else {
			bi[0] = (bi[0] - harmonic_dot(ri + fi, B + fi, i - fi)) * inv[i];
		}
	}
	for (uint32_t i = m; i-- > 0;) {
		uint32_t fi = wk->first[i];
		const double *ri = wk->env + wk->estart[i] - fi;
		double *bi = B + (size_t)i * C;
		float *out = tile->pix + (size_t)wk->pos[ord[i]] * C;
		for (uint32_t c = 0; c < C; c++) {
			double v = bi[c] * inv[i];
			bi[c] = v;
			out[c] = (float)(v < 0 ? 0 : v > 1 ? 1 : v);
		}
		if (C == 3) {
			double v0 = bi[0], v1 = bi[1], v2 = bi[2];
			for (uint32_t j = fi; j < i; j++) {
				double l = ri[j];
				double *bj = B + (size_t)j * 3;
				bj[0] -= l * v0;
				bj[1] -= l * v1;
				bj[2] -= l * v2;
			}
		} else {
			harmonic_v2d v = { bi[0], bi[0] };
			uint32_t j = fi;
			for (; j + 2 <= i; j += 2) {
				harmonic_v2d bj = harmonic_ld2(B + j) - harmonic_ld2(ri + j) * v;
				memcpy(B + j, &bj, sizeof bj);
			}
			for (; j < i; j++)
				B[j] -= ri[j] * bi[0];
		}
	}
out:
	for (uint32_t i = 0; i < m; i++)
		wk->cidx[P[i]] = 0;
	return ret;
}

/* ------------------------------------------------------------------ */
/* iterative solve of what the direct solver left                        */

/* Fill the pixels of `mask` (0/1, one order) by conjugate gradients. */
TP_MUST_USE static tp_status harmonic_iterative(struct harmonic_state *s, struct harmonic_worker *wk,
				    struct engine_tile *tile, const uint8_t *mask, int order, uint16_t maxd)
{
	const struct harmonic_plan *pl = NULL;
	uint32_t w = tile->w, h = tile->h, C = tile->channels;
	uint32_t x0 = w, y0 = h, x1 = 0, y1 = 0, bw, bh;
	size_t n = (size_t)w * h, nm = 0, ns;
	tp_status st;

	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++)
			if (mask[(size_t)y * w + x]) {
				nm++;
				if (x < x0) x0 = x;
				if (x > x1) x1 = x;
				if (y < y0) y0 = y;
				if (y > y1) y1 = y;
			}
	if (nm == 0)
		return TP_OK;
	if ((st = harmonic_reserve_iter(wk, n)) != TP_OK)
		return st;
	if (order == 1 && (double)maxd * (double)nm > HARMONIC_DCT_RATIO * (double)n) {
		/* Thick hole: whole tile, DCT preconditioner. */
		x0 = 0; y0 = 0; x1 = w - 1; y1 = h - 1;
		if ((st = harmonic_plan_get(s, w, h, &pl)) != TP_OK)
			return st;
		wk->last_dct = 1;
	} else {
		/* Thin mask: the mask's bounding box plus `order` pixels. */
		uint32_t m = (uint32_t)order;
		x0 = x0 >= m ? x0 - m : 0;
		y0 = y0 >= m ? y0 - m : 0;
		x1 = x1 + m < w ? x1 + m : w - 1;
		y1 = y1 + m < h ? y1 + m : h - 1;
	}
	bw = x1 - x0 + 1;
	bh = y1 - y0 + 1;

	/* Masked indices in the box, row-major. */
	nm = 0;
	for (uint32_t y = 0; y < bh; y++)
		for (uint32_t x = 0; x < bw; x++)
			if (mask[(size_t)(y + y0) * w + x + x0])
				wk->idx[nm++] = y * bw + x;
	ns = harmonic_graph(wk, nm, order, bw, bh);

	for (uint32_t c = 0; c < C; c++) {
		double sum = 0, cnt = 0, guess;
		/* Initial guess: the mean of the known pixels next to the hole. */
		for (uint32_t y = 0; y < bh; y++)
			for (uint32_t x = 0; x < bw; x++) {
				size_t tk = (size_t)(y + y0) * w + x + x0;
				if (mask[tk])
					continue;
				if ((x > 0 && mask[tk - 1]) || (x + 1 < bw && mask[tk + 1]) ||
				    (y > 0 && mask[tk - w]) || (y + 1 < bh && mask[tk + w])) {
					sum += tile->pix[tk * C + c];
					cnt += 1;
				}
			}
		guess = cnt > 0 ? sum / cnt : 0.5;
		for (uint32_t y = 0; y < bh; y++)
			for (uint32_t x = 0; x < bw; x++) {
				size_t tk = (size_t)(y + y0) * w + x + x0;
				wk->u[(size_t)y * bw + x] = mask[tk] ? guess : tile->pix[tk * C + c];
			}
		if (maxd <= HARMONIC_PEEL_MAX_D)
			harmonic_peel(wk, maxd, nm, w, x0, y0, bw, bh);
		wk->last_iters += harmonic_solve(s, order, wk, pl, nm, ns, bw, bh, maxd);
		if (tp_cancelled())
			return tp_err(TP_ECANCELED, "harmonic: stopped inside a tile");
		for (size_t i = 0; i < nm; i++) {
			uint32_t k = wk->idx[i];
			size_t tk = (size_t)(k / bw + y0) * w + k % bw + x0;
			double v = wk->u[k];
			tile->pix[tk * C + c] = (float)(v < 0 ? 0 : v > 1 ? 1 : v);
		}
	}
	return TP_OK;
}

/* Count the masked pixels of mask[0, n), and list them when `list` is not
 * NULL (masks are mostly zero: tp_bytes' word-at-a-time scans). */
static size_t harmonic_scan(const uint8_t *mask, size_t n, uint32_t *list)
{
	size_t nm = 0;
	if (!list)
		return tp_count_nonzero(mask, n);
	for (size_t k = tp_next_set(mask, 0, n); k < n; k = tp_next_set(mask, k + 1, n))
		list[nm++] = (uint32_t)k;
	return nm;
}

TP_MUST_USE static tp_status harmonic_inpaint(void *state, void *worker, struct engine_tile *tile)
{
	struct harmonic_state *s = state;
	struct harmonic_worker *wk = worker;
	uint32_t w = tile->w, h = tile->h, C = tile->channels, ng;
	size_t n = (size_t)w * h, nm = 0;
	uint16_t imaxd[3] = { 0, 0, 0 };
	int any[3] = { 0, 0, 0 };
	const uint8_t *mask;
	tp_status st;

	if (!s || !wk || !tile->pix || !tile->mask || (C != 1 && C != 3) || !w || !h)
		return tp_err(TP_EINTERNAL, "engine 'harmonic': bad tile arguments");
	wk->last_iters = 0;
	wk->last_dct = 0;
	wk->last_direct = 0;

	mask = tile->mask;
	if (tile->guide && harmonic_scan(mask, n, NULL) > 0) {
		/* A tile in a hole too thick for one tile: the pipeline's coarse
		 * fill of the whole image fixes the hole's values on a ring
		 * HARMONIC_GUIDE_RING px deep along the tile edge (Dirichlet data
		 * instead of the mirror edge), so the tile solves its part of the
		 * whole hole's equation and agrees with its neighbours; a tile
		 * with nothing known is no longer left grey. */
		uint8_t *gm;
		if ((st = harmonic_reserve_tile(wk, n)) != TP_OK)
			return st;
		gm = wk->gmask;
		memcpy(gm, mask, n);
		for (uint32_t y = 0; y < h; y++)
			for (uint32_t x = 0; x < w; x++) {
				size_t k = (size_t)y * w + x;
				if (!gm[k] || (x >= HARMONIC_GUIDE_RING && y >= HARMONIC_GUIDE_RING &&
					       x + HARMONIC_GUIDE_RING < w && y + HARMONIC_GUIDE_RING < h))
					continue;
				gm[k] = 0;
				for (uint32_t c = 0; c < C; c++)
					tile->pix[k * C + c] = tile->guide[k * C + c];
			}
		mask = gm;
	}
	nm = harmonic_scan(mask, n, NULL);
	if (nm == 0)
		return TP_OK;
	if (nm == n) {
		/* Nothing to anchor the fill: mid grey (the pipeline only sends
		 * such a tile when the whole tile and its context are masked). */
		for (size_t i = 0; i < n * C; i++)
			tile->pix[i] = 0.5f;
		return TP_OK;
	}

	if ((st = harmonic_reserve_masked(wk, nm, h)) != TP_OK)
		return st;
	/* From here on only the masked pixels and their neighbours are visited. */
	harmonic_scan(mask, n, wk->pos);
	harmonic_neighbours(wk, mask, (uint32_t)nm, w, h);
	harmonic_hole_dist(wk, nm);
	ng = harmonic_groups(wk, nm, s->order);
	memset(wk->cidx, 0, nm * sizeof(int32_t));
	for (uint32_t g = 0; g < ng && st == TP_OK; g++) {
		const uint32_t *P = wk->gpix + wk->gstart[g];
		uint32_t m = wk->gstart[g + 1] - wk->gstart[g];
		uint16_t gmax = 0;
		int order, done = 0;
		for (uint32_t i = 0; i < m; i++)
			if (wk->mdist[P[i]] > gmax)
				gmax = wk->mdist[P[i]];
		/* The biharmonic only where it is well posed in practice (thin
		 * holes); a thicker hole gets the Laplace fill, which does not
		 * overshoot into false colours across a wide gap. */
		order = s->order == 2 && gmax <= HARMONIC_BIHARMONIC_MAX_D ? 2 : 1;
		if (s->direct) {
			done = harmonic_direct(wk, tile, P, m, order, s->order, (int32_t)g + 1);
			if (done < 0)
				st = TP_ENOMEM;
		}
		if (done) {
			wk->last_direct += done > 0;
			continue;
		}
		/* Left to the iterative solver, which works on per-pixel arrays. */
		if (!any[1] && !any[2] && (st = harmonic_reserve_tile(wk, n)) != TP_OK)
			break;
		for (uint32_t i = 0; i < m; i++)
			wk->imask[wk->pos[P[i]]] = (uint8_t)order;
		any[order] = 1;
		if (gmax > imaxd[order])
			imaxd[order] = gmax;
	}
	if (!any[1] && !any[2])
		return st;
	for (size_t i = 0; i < nm; i++)
		wk->dist[wk->pos[i]] = wk->mdist[i];
	for (int order = 1; order <= 2 && st == TP_OK; order++) {
		uint8_t *sel = wk->imask + n;
		if (!any[order])
			continue;
		for (size_t k = 0; k < n; k++)
			sel[k] = wk->imask[k] == order;
		st = harmonic_iterative(s, wk, tile, sel, order, imaxd[order]);
	}
	memset(wk->imask + n, 0, n);
	for (size_t i = 0; i < nm; i++) {
		wk->dist[wk->pos[i]] = 0;
		wk->imask[wk->pos[i]] = 0;
	}
	return st;
}

long harmonic_worker_last_direct(const void *worker)
{
	return ((const struct harmonic_worker *)worker)->last_direct;
}

long harmonic_worker_last_iters(const void *worker, int *used_dct)
{
	const struct harmonic_worker *wk = worker;
	if (used_dct)
		*used_dct = wk->last_dct;
	return wk->last_iters;
}

/* Measured: at most about 192 bytes a pixel for a fully masked tile (the
 * per-pixel, per-masked-pixel and solver arrays), plus page rounding. */
static size_t harmonic_worker_bytes(const void *state, uint32_t w, uint32_t h, uint32_t color)
{
	(void)state;
	return (size_t)w * h * (208 + 8 * (size_t)color) + ((size_t)6 << 20);
}

const struct engine_ops engine_harmonic = {
	.name = "harmonic",
	.summary = "smooth fill (biharmonic on thin holes, Laplace on thick; order=1: Laplace only): scratches, dust, thin text",
	.needs_model = 0,
	.multiple = 1,
	.context = 16,
	.default_tile = 512,
	.wants_guide = 1,
	.params = harmonic_params,
	.open = harmonic_open,
	.worker_new = harmonic_worker_new,
	.inpaint = harmonic_inpaint,
	.worker_free = harmonic_worker_free,
	.close = harmonic_close,
	.worker_bytes = harmonic_worker_bytes,
};
