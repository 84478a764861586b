/*
 * harmonic.c - smooth fill: solve Laplace (order=1, default) or biharmonic
 * (order=2) on the masked pixels, the known pixels as Dirichlet data and the
 * tile edge as a mirror (Neumann) boundary.  For order 2 the fill minimises
 * the sum of squared discrete Laplacians, so the equations are R L L u = 0.
 *
 * Solver: conjugate gradients in double on the masked pixels only (a compact
 * neighbour graph).  Holes that are thin for their area are preconditioned
 * by SSOR (Laplace, relaxation from the hole's thickness) or Jacobi
 * (biharmonic) and start from a layered average; large holes use the
 * whole-tile Neumann Laplacian, inverted by a DCT (FFTW REDFT10/01), as the
 * preconditioner.  The iteration runs until the residual no longer moves a
 * 16-bit level.  Known limit: order=2 is solved only for holes up to
 * HARMONIC_JACOBI_MAX_D2 px from a known pixel (scratches, text); thicker
 * holes get the Laplace fill, as the biharmonic converges too slowly there.
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
	int order;                  /* 1 = Laplace, 2 = biharmonic */
	double tol;                 /* relative residual (preconditioned norm) to stop at */
	struct harmonic_plan *plans;/* cache, guarded by harmonic_fftw_lock; owned */
};

/* Per-thread scratch; grown only when a larger tile arrives. */
struct harmonic_worker {
	size_t cap;                 /* pixels the arrays below hold */
	double *u;                  /* (bh, bw) values over the working box */
	double *r, *z, *p;          /* (nm) CG vectors on the masked pixels (compact order) */
	double *q, *t;              /* (bh, bw) scratch for the first residual, then (nm) and
				     * (ns) CG scratch; all six arrays hold cap entries */
	float *f;                   /* (h, w) FFT buffer */
	uint32_t *idx;              /* box pixels of the masked set, then its halo (harmonic_graph) */
	int32_t *cidx;              /* (bh, bw): place of a box pixel in idx, or -1 */
	int32_t *nb;                /* (ns, 4): neighbours' places in idx, or -1 */
	uint8_t *deg;               /* (ns): in-box neighbour count */
	uint16_t *dist;             /* (h, w) city-block distance to a known pixel (capped) */
	long last_iters;            /* iterations of the last solve (tests, tuning) */
	int last_dct;               /* 1 when the last tile used the DCT preconditioner */
};

/*
 * Local or DCT preconditioner: SSOR/Jacobi-CG needs more steps the thicker
 * the hole (D, the largest distance to a known pixel) and each step costs
 * the masked pixels (nm); DCT-CG needs a few dozen steps of two whole-tile
 * transforms. So Laplace stays local while D * nm < HARMONIC_DCT_RATIO * tile pixels
 * (measured on 512 tiles: thick strokes stay Jacobi, big rectangles go
 * DCT), and the biharmonic, whose DCT preconditioner is weak, while D is at
 * most HARMONIC_JACOBI_MAX_D2.
 */
#define HARMONIC_DCT_RATIO 20
#define HARMONIC_JACOBI_MAX_D2 10
/* Iteration caps per channel (safety nets: both converge well before). */
#define HARMONIC_MAX_ITERS_1 4000
#define HARMONIC_MAX_ITERS_2 3000   /* Jacobi: cheap steps on the masked pixels */

/* ------------------------------------------------------------------ */
/* open / close / workers                                              */

static tp_status harmonic_open(const struct engine_options *opt, void **state)
{
	struct harmonic_state *s;
	double order = 1;
	*state = NULL;
	if (opt && opt->params && engine_param_double(opt->params, "order", 1, 2, &order) < 0)
		return TP_EUSAGE;
	if (order != 1 && order != 2)
		return tp_err(TP_EUSAGE, "engine 'harmonic': order must be 1 (Laplace) or 2 (biharmonic)");
	s = tp_calloc(1, sizeof *s);
	if (!s)
		return tp_err(TP_ENOMEM, "engine 'harmonic': out of memory for its state");
	s->order = (int)order;
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

static tp_status harmonic_worker_new(void *state, void **worker)
{
	(void)state;
	*worker = tp_calloc(1, sizeof(struct harmonic_worker));
	if (!*worker)
		return tp_err(TP_ENOMEM, "engine 'harmonic': out of memory for worker scratch");
	return TP_OK;
}

static void harmonic_worker_drop(struct harmonic_worker *wk)
{
	tp_free(wk->u); tp_free(wk->r); tp_free(wk->z); tp_free(wk->p);
	tp_free(wk->q); tp_free(wk->t); tp_free(wk->f); tp_free(wk->idx);
	tp_free(wk->dist);
	tp_free(wk->cidx);
	tp_free(wk->nb);
	tp_free(wk->deg);
	wk->cidx = NULL;
	wk->nb = NULL;
	wk->deg = NULL;
	wk->u = wk->r = wk->z = wk->p = wk->q = wk->t = NULL;
	wk->f = NULL;
	wk->idx = NULL;
	wk->dist = NULL;
	wk->cap = 0;
}

static void harmonic_worker_free(void *worker)
{
	if (!worker)
		return;
	harmonic_worker_drop(worker);
	tp_free(worker);
}

/* Make the scratch hold n pixels (grow only; contents are not kept). */
static tp_status harmonic_worker_reserve(struct harmonic_worker *wk, size_t n)
{
	size_t nd;
	if (n <= wk->cap)
		return TP_OK;
	harmonic_worker_drop(wk);
	if (tp_mul_overflow(n, sizeof(double), &nd))
		return tp_err(TP_EUSAGE, "engine 'harmonic': tile too large");
	wk->u = tp_malloc(nd); wk->r = tp_malloc(nd); wk->z = tp_malloc(nd);
	wk->p = tp_malloc(nd); wk->q = tp_malloc(nd); wk->t = tp_malloc(nd);
	wk->f = tp_malloc(n * sizeof(float));
	wk->idx = tp_malloc(n * sizeof(uint32_t));
	wk->dist = tp_malloc(n * sizeof(uint16_t));
	wk->cidx = tp_malloc(n * sizeof(int32_t));
	wk->nb = tp_malloc(n * 4 * sizeof(int32_t));
	wk->deg = tp_malloc(n);
	if (!wk->u || !wk->r || !wk->z || !wk->p || !wk->q || !wk->t || !wk->f || !wk->idx || !wk->dist ||
	    !wk->cidx || !wk->nb || !wk->deg) {
		harmonic_worker_drop(wk);
		return tp_err(TP_ENOMEM, "engine 'harmonic': out of memory for a %zu-pixel tile", n);
	}
	wk->cap = n;
	return TP_OK;
}

/* The cached DCT plan for (w, h), made on first use (under the FFTW lock). */
static tp_status harmonic_plan_get(struct harmonic_state *s, uint32_t w, uint32_t h,
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
 * order 2, the halo H of box pixels next to M. cidx maps a box pixel to its
 * place in that list (or -1); nb holds each listed pixel's 4 neighbours'
 * places (-1: outside the box or not listed) and deg its in-box neighbour
 * count. The iteration then touches only M and H, so a thin scratch across
 * a tile costs what its pixels cost, not what the tile costs.
 */
static size_t harmonic_graph(struct harmonic_worker *wk, size_t nm, int order, uint32_t bw, uint32_t bh)
{
	size_t n = (size_t)bw * bh, ns = nm;
	for (size_t k = 0; k < n; k++)
		wk->cidx[k] = -1;
	for (size_t i = 0; i < nm; i++)
		wk->cidx[wk->idx[i]] = (int32_t)i;
	for (size_t i = 0; i < ns; i++) {
		uint32_t k = wk->idx[i], x = k % bw, y = k / bw;
		uint32_t nbk[4];
		int have[4] = { x > 0, x + 1 < bw, y > 0, y + 1 < bh };
		nbk[0] = k - 1; nbk[1] = k + 1; nbk[2] = k - bw; nbk[3] = k + bw;
		wk->deg[i] = (uint8_t)(have[0] + have[1] + have[2] + have[3]);
		for (int d = 0; d < 4; d++) {
			if (have[d] && i < nm && order == 2 && wk->cidx[nbk[d]] < 0) {
				wk->cidx[nbk[d]] = (int32_t)ns;
				wk->idx[ns++] = nbk[d];
			}
			wk->nb[i * 4 + d] = have[d] ? wk->cidx[nbk[d]] : -1;
		}
	}
	/* Halo pixels listed after their own row was built: refresh them all. */
	for (size_t i = 0; i < ns; i++) {
		uint32_t k = wk->idx[i], x = k % bw, y = k / bw;
		wk->nb[i * 4 + 0] = x > 0 ? wk->cidx[k - 1] : -1;
		wk->nb[i * 4 + 1] = x + 1 < bw ? wk->cidx[k + 1] : -1;
		wk->nb[i * 4 + 2] = y > 0 ? wk->cidx[k - bw] : -1;
		wk->nb[i * 4 + 3] = y + 1 < bh ? wk->cidx[k + bw] : -1;
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
	for (it = 1; it <= max_it; it++) {
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

/* City-block distance of each pixel to the nearest known one (two passes), capped. */
static uint16_t harmonic_max_dist(uint16_t *d, const uint8_t *mask, uint32_t w, uint32_t h)
{
	return (uint16_t)engine_hole_distance(d, mask, w, h);
}

static tp_status harmonic_inpaint(void *state, void *worker, struct engine_tile *tile)
{
	struct harmonic_state *s = state;
	struct harmonic_worker *wk = worker;
	const struct harmonic_plan *pl = NULL;
	uint32_t w = tile->w, h = tile->h, C = tile->channels;
	uint32_t x0 = w, y0 = h, x1 = 0, y1 = 0, bw, bh;
	size_t n = (size_t)w * h, nm = 0, nk = 0, ns;
	int order;
	uint16_t maxd;
	tp_status st;

	if (!s || !wk || !tile->pix || !tile->mask || (C != 1 && C != 3) || !w || !h)
		return tp_err(TP_EINTERNAL, "engine 'harmonic': bad tile arguments");
	if ((st = harmonic_worker_reserve(wk, n)) != TP_OK)
		return st;
	wk->last_iters = 0;
	wk->last_dct = 0;

	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++)
			if (tile->mask[(size_t)y * w + x]) {
				nm++;
				if (x < x0) x0 = x;
				if (x > x1) x1 = x;
				if (y < y0) y0 = y;
				if (y > y1) y1 = y;
			}
	nk = n - nm;
	if (nm == 0)
		return TP_OK;
	if (nk == 0) {
		/* Nothing to anchor the fill: mid grey (the pipeline only sends
		 * such a tile when the whole tile and its context are masked). */
		for (size_t i = 0; i < n * C; i++)
			tile->pix[i] = 0.5f;
		return TP_OK;
	}

	maxd = harmonic_max_dist(wk->dist, tile->mask, w, h);
	/* The biharmonic only where it converges (thin holes); a thicker hole
	 * gets exactly the Laplace fill: its unconverged biharmonic iterates
	 * overshoot into false colours (seen on the benchmark). */
	order = s->order == 2 && maxd <= HARMONIC_JACOBI_MAX_D2 ? 2 : 1;
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
			if (tile->mask[(size_t)(y + y0) * w + x + x0])
				wk->idx[nm++] = y * bw + x;
	ns = harmonic_graph(wk, nm, order, bw, bh);

	for (uint32_t c = 0; c < C; c++) {
		double sum = 0, cnt = 0, guess;
		/* Initial guess: the mean of the known pixels next to the hole. */
		for (uint32_t y = 0; y < bh; y++)
			for (uint32_t x = 0; x < bw; x++) {
				size_t tk = (size_t)(y + y0) * w + x + x0;
				if (tile->mask[tk])
					continue;
				if ((x > 0 && tile->mask[tk - 1]) || (x + 1 < bw && tile->mask[tk + 1]) ||
				    (y > 0 && tile->mask[tk - w]) || (y + 1 < bh && tile->mask[tk + w])) {
					sum += tile->pix[tk * C + c];
					cnt += 1;
				}
			}
		guess = cnt > 0 ? sum / cnt : 0.5;
		for (uint32_t y = 0; y < bh; y++)
			for (uint32_t x = 0; x < bw; x++) {
				size_t tk = (size_t)(y + y0) * w + x + x0;
				wk->u[(size_t)y * bw + x] = tile->mask[tk] ? guess : tile->pix[tk * C + c];
			}
		if (maxd <= HARMONIC_PEEL_MAX_D)
			harmonic_peel(wk, maxd, nm, w, x0, y0, bw, bh);
		wk->last_iters += harmonic_solve(s, order, wk, pl, nm, ns, bw, bh, maxd);
		for (size_t i = 0; i < nm; i++) {
			uint32_t k = wk->idx[i];
			size_t tk = (size_t)(k / bw + y0) * w + k % bw + x0;
			double v = wk->u[k];
			tile->pix[tk * C + c] = (float)(v < 0 ? 0 : v > 1 ? 1 : v);
		}
	}
	return TP_OK;
}

long harmonic_worker_last_iters(const void *worker, int *used_dct)
{
	const struct harmonic_worker *wk = worker;
	if (used_dct)
		*used_dct = wk->last_dct;
	return wk->last_iters;
}

const struct engine_ops engine_harmonic = {
	.name = "harmonic",
	.summary = "smooth fill (Laplace, or biharmonic with params order=2): scratches, dust, thin text",
	.needs_model = 0,
	.multiple = 1,
	.context = 16,
	.default_tile = 512,
	.open = harmonic_open,
	.worker_new = harmonic_worker_new,
	.inpaint = harmonic_inpaint,
	.worker_free = harmonic_worker_free,
	.close = harmonic_close,
};
