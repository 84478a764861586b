/*
 * conv.c - convolution as im2col + sgemm in fixed-size chunks of output rows
 * (so the column buffer stays cache-sized whatever the tile), transposed
 * convolution as sgemm + col2im over chunks of input rows, and a column-split
 * parallel sgemm. Chunk sizes depend only on the layer shape, never on the
 * thread count; each chunk is one task of the pool.
 */
#include "nn.h"

/* The elementwise loops here are hot; GCC's -O2 cost model leaves most of
 * them scalar. Vectorising elementwise float ops does not change results. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif

#include <cblas.h>
#include <string.h>

/* Column-buffer budget per chunk, floats (8 MB). */
#define NN_COL_BUDGET ((size_t)1 << 21)
/* Chunks a tall layer is cut into at least. */
#define NN_MIN_CHUNKS 8
/* Columns per task of nn_gemm_par. */
#define NN_GEMM_NB 512u

uint32_t nn_conv_chunk_rows(size_t k, uint32_t ow, uint32_t oh)
{
	size_t per_row = k * ow;
	size_t rows = per_row ? NN_COL_BUDGET / per_row : oh;
	/* At least NN_MIN_CHUNKS chunks when the layer is tall enough, so a few
	 * threads stay balanced (still a rule of the shape alone). */
	if (rows > (oh + NN_MIN_CHUNKS - 1) / NN_MIN_CHUNKS)
		rows = (oh + NN_MIN_CHUNKS - 1) / NN_MIN_CHUNKS;
	if (rows < 1)
		rows = 1;
	if (rows > oh)
		rows = oh;
	return (uint32_t)rows;
}

/* Tap-GEMM chunk: output rows per chunk (the input rows add 2 * pad). */
static uint32_t tap_rows(const struct nn_conv *cv, uint32_t w, uint32_t oh)
{
	return nn_conv_chunk_rows((size_t)cv->cout * cv->k * cv->k, w, oh);
}

size_t nn_conv_scratch(const struct nn_conv *cv, uint32_t h, uint32_t w)
{
	uint32_t oh = nn_conv_out(h, cv->k, cv->stride, cv->pad);
	uint32_t ow = nn_conv_out(w, cv->k, cv->stride, cv->pad);
	size_t kk = (size_t)cv->cin * cv->k * cv->k;
	if (cv->wtap) {
		size_t m = (size_t)cv->cout * cv->k * cv->k;
		return nn_align(m * w * (tap_rows(cv, w, oh) + 2 * cv->pad));
	}
	return nn_align(kk * ow * nn_conv_chunk_rows(kk, ow, oh));
}

void nn_conv_make_wtap(const float *w, uint32_t cout, uint32_t cin, uint32_t k, float *wtap)
{
	for (uint32_t co = 0; co < cout; co++)
		for (uint32_t ci = 0; ci < cin; ci++)
			for (uint32_t t = 0; t < k * k; t++)
				wtap[((size_t)co * k * k + t) * cin + ci] = w[((size_t)co * cin + ci) * k * k + t];
}

void nn_im2col(const struct nn_tensor *in, uint32_t k, uint32_t stride, uint32_t pad,
	       enum nn_pad mode, uint32_t oy0, uint32_t oy1, uint32_t ow, float *col)
{
	size_t n = (size_t)(oy1 - oy0) * ow;
	long w = in->w;
	for (uint32_t ci = 0; ci < in->c; ci++) {
		const float *plane = in->data + (size_t)ci * in->h * in->w;
		for (uint32_t ky = 0; ky < k; ky++) {
			for (uint32_t kx = 0; kx < k; kx++) {
				float *row = col + ((size_t)(ci * k + ky) * k + kx) * n;
				/* Output columns whose input column lies inside [0, w). */
				long off = (long)kx - (long)pad;
				long lo = off >= 0 ? 0 : (-off + stride - 1) / stride;
				long hi = (w - 1 - off) >= 0 ? (w - 1 - off) / stride + 1 : 0;
				if (hi > (long)ow)
					hi = ow;
				if (lo > hi)
					lo = hi;
				for (uint32_t oy = oy0; oy < oy1; oy++) {
					float *d = row + (size_t)(oy - oy0) * ow;
					long sy = nn_pad_index((long)oy * stride + ky - (long)pad,
							       in->h, mode);
					if (sy < 0) {
						memset(d, 0, ow * sizeof *d);
						continue;
					}
					const float *s = plane + (size_t)sy * in->w;
					for (long ox = 0; ox < lo; ox++) {
						long sx = nn_pad_index(ox * stride + off, w, mode);
						d[ox] = sx < 0 ? 0.0f : s[sx];
					}
					if (stride == 1) {
						if (hi > lo)
							memcpy(d + lo, s + lo + off,
							       (size_t)(hi - lo) * sizeof *d);
					} else {
						for (long ox = lo; ox < hi; ox++)
							d[ox] = s[ox * stride + off];
					}
					for (long ox = hi; ox < (long)ow; ox++) {
						long sx = nn_pad_index(ox * stride + off, w, mode);
						d[ox] = sx < 0 ? 0.0f : s[sx];
					}
				}
			}
		}
	}
}

/* ---- parallel sgemm ---- */

struct gemm_job {
	uint32_t m, n, k, lda, ldb, ldc;
	const float *a, *b;
	float *c;
	float beta;
	const float *shift;
	int relu;
};

static void gemm_task(void *ctx, uint32_t task, uint32_t tid)
{
	const struct gemm_job *j = ctx;
	uint32_t n0 = task * NN_GEMM_NB, n = j->n - n0 < NN_GEMM_NB ? j->n - n0 : NN_GEMM_NB;
	(void)tid;
	nn_gemm(j->m, n, j->k, j->a, j->lda, j->b + n0, j->ldb, j->beta, j->c + n0, j->ldc);
	nn_shift_act(j->c + n0, j->m, n, j->ldc, j->shift, j->relu);
}

void nn_gemm_par(const struct nn_exec *ex, uint32_t m, uint32_t n, uint32_t k, const float *a,
		 uint32_t lda, const float *b, uint32_t ldb, float beta, float *c, uint32_t ldc,
		 const float *shift, int relu)
{
	struct gemm_job j = { m, n, k, lda, ldb, ldc, a, b, c, beta, shift, relu };
	tp_pool_run(ex->pool, (n + NN_GEMM_NB - 1) / NN_GEMM_NB, gemm_task, &j);
}

/* ---- convolution ---- */

struct conv_job {
	const struct nn_conv *cv;
	const struct nn_tensor *in;
	struct nn_tensor *out;
	const struct nn_exec *ex;
	uint32_t rows, oh, ow;
};

static void conv_task(void *ctx, uint32_t task, uint32_t tid)
{
	const struct conv_job *j = ctx;
	const struct nn_conv *cv = j->cv;
	size_t kk = (size_t)cv->cin * cv->k * cv->k, plane = (size_t)j->oh * j->ow;
	uint32_t oy0 = task * j->rows, oy1 = oy0 + j->rows < j->oh ? oy0 + j->rows : j->oh;
	uint32_t n = (oy1 - oy0) * j->ow;
	float *dst = j->out->data + (size_t)oy0 * j->ow;
	if (cv->k == 1 && cv->stride == 1 && cv->pad == 0) {
		/* A 1x1 conv reads the input directly. */
		nn_gemm(cv->cout, n, cv->cin, cv->w, cv->cin, j->in->data + (size_t)oy0 * j->ow,
			(uint32_t)plane, 0.0f, dst, (uint32_t)plane);
	} else {
		float *col = nn_exec_slice(j->ex, tid);
		nn_im2col(j->in, cv->k, cv->stride, cv->pad, cv->mode, oy0, oy1, j->ow, col);
		nn_gemm(cv->cout, n, (uint32_t)kk, cv->w, (uint32_t)kk, col, n, 0.0f, dst,
			(uint32_t)plane);
	}
	nn_shift_act(dst, cv->cout, n, plane, cv->shift, cv->relu);
}

/*
 * The tap-GEMM path, for convs with few output channels (the final 7x7 conv,
 * 64 -> 3, where an im2col GEMM would have M = 3): Y = Wtap (cout*k*k x cin)
 * * in (cin x pixels) for the input rows a chunk of output rows reads, then
 * out[co][y][x] = shift + sum over taps of Y[co, tap][pad(y + ky)][pad(x + kx)].
 */
static void conv_tap_task(void *ctx, uint32_t task, uint32_t tid)
{
	const struct conv_job *j = ctx;
	const struct nn_conv *cv = j->cv;
	const struct nn_tensor *in = j->in;
	uint32_t k = cv->k, kk = k * k, w = in->w, h = in->h, m = cv->cout * kk;
	uint32_t oy0 = task * j->rows, oy1 = oy0 + j->rows < j->oh ? oy0 + j->rows : j->oh;
	long ylo = (long)oy0 - cv->pad, yhi = (long)oy1 + cv->pad;
	size_t n;
	float *y = nn_exec_slice(j->ex, tid);
	if (ylo < 0)
		ylo = 0;
	if (yhi > (long)h)
		yhi = h;
	n = (size_t)(yhi - ylo) * w;
	nn_gemm(m, (uint32_t)n, cv->cin, cv->wtap, cv->cin, in->data + (size_t)ylo * w,
		(uint32_t)((size_t)h * w), 0.0f, y, (uint32_t)n);
	for (uint32_t co = 0; co < cv->cout; co++) {
		for (uint32_t oy = oy0; oy < oy1; oy++) {
			float *d = j->out->data + ((size_t)co * j->oh + oy) * j->ow;
			float s = cv->shift ? cv->shift[co] : 0.0f;
			for (uint32_t ox = 0; ox < j->ow; ox++)
				d[ox] = s;
			for (uint32_t ky = 0; ky < k; ky++) {
				long sy = nn_pad_index((long)oy + ky - (long)cv->pad, h, cv->mode);
				if (sy < 0)
					continue;
				TP_ASSERT(sy >= ylo && sy < yhi);
				for (uint32_t kx = 0; kx < k; kx++) {
					const float *src = y + (size_t)(co * kk + ky * k + kx) * n +
							   (size_t)(sy - ylo) * w;
					long off = (long)kx - (long)cv->pad;
					long lo = off < 0 ? -off : 0, hi = (long)j->ow;
					if (hi + off > (long)w)
						hi = (long)w - off;
					for (long ox = 0; ox < lo && ox < (long)j->ow; ox++) {
						long sx = nn_pad_index(ox + off, w, cv->mode);
						if (sx >= 0)
							d[ox] += src[sx];
					}
					for (long ox = lo; ox < hi; ox++)
						d[ox] += src[ox + off];
					for (long ox = hi > lo ? hi : lo; ox < (long)j->ow; ox++) {
						long sx = nn_pad_index(ox + off, w, cv->mode);
						if (sx >= 0)
							d[ox] += src[sx];
					}
				}
			}
			if (cv->relu)
				for (uint32_t ox = 0; ox < j->ow; ox++)
					d[ox] = d[ox] > 0.0f ? d[ox] : 0.0f;
		}
	}
}

void nn_conv2d(const struct nn_conv *cv, const struct nn_tensor *in, struct nn_tensor *out,
	       const struct nn_exec *ex)
{
	struct conv_job j = { cv, in, out, ex, 0, nn_conv_out(in->h, cv->k, cv->stride, cv->pad),
			      nn_conv_out(in->w, cv->k, cv->stride, cv->pad) };
	TP_ASSERT(in->c == cv->cin && out->c == cv->cout && out->h == j.oh && out->w == j.ow);
	TP_ASSERT(ex->slice >= nn_conv_scratch(cv, in->h, in->w));
	if (cv->wtap) {
		/* stride 1 and pad <= k - 1 keep every read inside the chunk's input rows */
		TP_ASSERT(cv->stride == 1 && 2 * cv->pad + 1 == cv->k && in->h > cv->pad);
		j.rows = tap_rows(cv, in->w, j.oh);
		tp_pool_run(ex->pool, (j.oh + j.rows - 1) / j.rows, conv_tap_task, &j);
		return;
	}
	j.rows = nn_conv_chunk_rows((size_t)cv->cin * cv->k * cv->k, j.ow, j.oh);
	tp_pool_run(ex->pool, (j.oh + j.rows - 1) / j.rows, conv_task, &j);
}

/* ---- transposed convolution ---- */

static uint32_t convt_out(uint32_t n, const struct nn_convt *ct)
{
	return (n - 1) * ct->stride - 2 * ct->pad + ct->k + ct->out_pad;
}

size_t nn_convt_scratch(const struct nn_convt *ct, uint32_t h, uint32_t w)
{
	size_t kk = (size_t)ct->cout * ct->k * ct->k;
	return nn_align(kk * w * nn_conv_chunk_rows(kk, w, h));
}

struct convt_job {
	const struct nn_convt *ct;
	const struct nn_tensor *in;
	struct nn_tensor *out;
	const struct nn_exec *ex;
	uint32_t rows, parity;
};

static void convt_task(void *ctx, uint32_t task, uint32_t tid)
{
	const struct convt_job *j = ctx;
	const struct nn_convt *ct = j->ct;
	const struct nn_tensor *in = j->in;
	uint32_t chunk = 2 * task + j->parity;
	uint32_t iy0 = chunk * j->rows, iy1 = iy0 + j->rows < in->h ? iy0 + j->rows : in->h;
	uint32_t oh = j->out->h, ow = j->out->w;
	size_t kk = (size_t)ct->cout * ct->k * ct->k, n = (size_t)(iy1 - iy0) * in->w;
	size_t oplane = (size_t)oh * ow;
	float *col = nn_exec_slice(j->ex, tid);
	/* col (cout*k*k x n) = W^T (cout*k*k x cin) * in[:, rows] (cin x n) */
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)kk, (int)n, (int)ct->cin, 1.0f,
		    ct->w, (int)kk, in->data + (size_t)iy0 * in->w, (int)((size_t)in->h * in->w),
		    0.0f, col, (int)n);
	/* col2im: scatter-add every tap into its output pixel. */
	for (uint32_t co = 0; co < ct->cout; co++) {
		float *op = j->out->data + co * oplane;
		for (uint32_t ky = 0; ky < ct->k; ky++) {
			for (uint32_t kx = 0; kx < ct->k; kx++) {
				const float *src = col + ((size_t)(co * ct->k + ky) * ct->k + kx) * n;
				long off = (long)kx - (long)ct->pad;
				for (uint32_t iy = iy0; iy < iy1; iy++) {
					long oy = (long)iy * ct->stride + ky - (long)ct->pad;
					const float *s = src + (size_t)(iy - iy0) * in->w;
					if (oy < 0 || oy >= (long)oh)
						continue;
					float *d = op + (size_t)oy * ow;
					if (ct->stride == 2 && off >= 0 && (long)(in->w - 1) * 2 + off < (long)ow) {
						for (uint32_t ix = 0; ix < in->w; ix++)
							d[2 * ix + off] += s[ix];
						continue;
					}
					for (uint32_t ix = 0; ix < in->w; ix++) {
						long ox = (long)ix * ct->stride + off;
						if (ox >= 0 && ox < (long)ow)
							d[ox] += s[ix];
					}
				}
			}
		}
	}
}

struct act_job {
	float *y;
	size_t n;
	const float *shift;
	int relu;
};

static void act_task(void *ctx, uint32_t task, uint32_t tid)
{
	const struct act_job *j = ctx;
	(void)tid;
	nn_shift_act(j->y + task * j->n, 1, j->n, j->n, j->shift ? j->shift + task : NULL, j->relu);
}

void nn_convt2d(const struct nn_convt *ct, const struct nn_tensor *in, struct nn_tensor *out,
		const struct nn_exec *ex)
{
	uint32_t oh = convt_out(in->h, ct), ow = convt_out(in->w, ct);
	struct convt_job j = { ct, in, out, ex, 0, 0 };
	uint32_t chunks;
	TP_ASSERT(in->c == ct->cin && out->c == ct->cout && out->h == oh && out->w == ow);
	TP_ASSERT(ct->k <= 2 * ct->stride);
	TP_ASSERT(ex->slice >= nn_convt_scratch(ct, in->h, in->w));
	j.rows = nn_conv_chunk_rows((size_t)ct->cout * ct->k * ct->k, in->w, in->h);
	/* Neighbouring chunks share output rows, so run even chunks, then odd ones:
	 * the order of additions into a shared row is fixed by the chunk parity. */
	chunks = (in->h + j.rows - 1) / j.rows;
	memset(out->data, 0, (size_t)oh * ow * ct->cout * sizeof(float));
	j.parity = 0;
	tp_pool_run(ex->pool, (chunks + 1) / 2, convt_task, &j);
	j.parity = 1;
	tp_pool_run(ex->pool, chunks / 2, convt_task, &j);
	{
		struct act_job a = { out->data, (size_t)oh * ow, ct->shift, ct->relu };
		tp_pool_run(ex->pool, ct->cout, act_task, &a);
	}
}
