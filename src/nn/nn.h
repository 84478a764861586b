/*
 * nn.h - the small float32 tensor runtime behind the LaMa engine: CHW tensors
 * (batch 1), convolution via im2col + OpenBLAS sgemm (and a tap-GEMM path for
 * few output channels), Winograd F(4x4,3x3), transposed convolution via
 * sgemm + col2im, padding modes, elementwise ops, the FFTW-based Fourier unit
 * with a process-wide plan cache, and a fork-join thread pool.
 *
 * Invariants: only the set-up functions allocate (nn_arena_init,
 * nn_pool_new, nn_fft_plan_get for a new shape, the weight readers); kernels
 * write only into buffers the caller sized with the *_scratch helpers. Results do not depend on the thread count: work is
 * cut into pieces fixed by the shapes alone, each piece is computed by one
 * single-threaded OpenBLAS call (OpenBLAS must run with 1 thread: its own
 * threading changes low bits with the thread count), whatever thread runs it.
 */
#ifndef NN_H
#define NN_H

#include "../util/tp.h"
#include "../util/pool.h"

/* ---- tensors ------------------------------------------------------------ */

/* A dense float32 tensor of shape (c, h, w), row-major and contiguous:
 * element (k, y, x) is data[(k * h + y) * w + x]. Batch size is always 1. */
struct nn_tensor {
	float *data;      /* c * h * w floats; borrowed (arena or caller) */
	uint32_t c, h, w; /* channels, rows, columns */
};

/* Number of elements c * h * w. */
static inline size_t nn_tensor_len(const struct nn_tensor *t)
{
	return (size_t)t->c * t->h * t->w;
}

/* Floats are handed out in multiples of this (64 bytes, FFTW/SIMD aligned). */
#define NN_ALIGN_FLOATS 16

/* A bump allocator over one block: one per worker, sized at worker creation.
 * nn_arena_take never fails (TP_ASSERT on overflow: sizes are computed up
 * front by the network's scratch planner, so overflow is a bug). */
struct nn_arena {
	float *base;   /* 64-byte aligned start of the block */
	void *raw;     /* what tp_malloc returned (freed by nn_arena_free) */
	size_t cap;    /* capacity, floats */
	size_t used;   /* floats handed out since the last reset */
};
/* Allocate an arena of `floats` floats. TP_ENOMEM on failure. */
TP_MUST_USE tp_status nn_arena_init(struct nn_arena *a, size_t floats);
/* Free the block (accepts a zeroed arena). */
void nn_arena_free(struct nn_arena *a);
/* Round n up to NN_ALIGN_FLOATS (for sizing arenas). */
static inline size_t nn_align(size_t n)
{
	return (n + NN_ALIGN_FLOATS - 1) / NN_ALIGN_FLOATS * NN_ALIGN_FLOATS;
}
/* Hand out n floats (uninitialised, 64-byte aligned). */
float *nn_arena_take(struct nn_arena *a, size_t n);

/* ---- padding ------------------------------------------------------------ */

enum nn_pad {
	NN_PAD_ZERO,      /* out-of-range samples are 0 */
	NN_PAD_REFLECT,   /* PyTorch/numpy 'reflect': index -k -> k, n-1+k -> n-1-k (edge not repeated) */
	NN_PAD_SYMMETRIC  /* numpy 'symmetric': index n+k -> n-1-k (edge repeated), periodic beyond */
};

/* Map a possibly out-of-range index i into [0, n) by `mode`; -1 for zero
 * padding out of range. Reflect needs n >= 2 when i is out of range. */
static inline long nn_pad_index(long i, long n, enum nn_pad mode)
{
	if (i >= 0 && i < n)
		return i;
	if (mode == NN_PAD_ZERO)
		return -1;
	if (mode == NN_PAD_REFLECT) {
		long p = 2 * (n - 1);
		if (n == 1)
			return 0;  /* undefined in PyTorch; the only sample */
		i %= p;
		if (i < 0)
			i += p;
		return i < n ? i : p - i;
	}
	{
		long p = 2 * n;
		i %= p;
		if (i < 0)
			i += p;
		return i < n ? i : p - 1 - i;
	}
}

/* Pad `in` into `out` (out->c == in->c, out->h == in->h + top + bottom,
 * out->w == in->w + left + right; out->data preallocated). */
void nn_pad2d(const struct nn_tensor *in, struct nn_tensor *out, uint32_t top, uint32_t left,
	      enum nn_pad mode);

/* ---- threads ------------------------------------------------------------ */

/*
 * Kernels run fork-join on the program's one pool (util/pool.h): task t of
 * tp_pool_run gets a worker number < tp_pool_size(pool) to pick its scratch.
 */
/* A pool of `threads` workers: the caller and threads - 1 more (none for 1).
 * Free with tp_pool_free. TP_ENOMEM. */
TP_MUST_USE static inline tp_status nn_pool_new(uint32_t threads, struct tp_pool **out)
{
	struct tp_pool_spec spec = { .threads = threads > 1 ? threads - 1 : 0 };
	return tp_pool_new(&spec, out);
}

/* What every parallel kernel gets: the pool and per-thread scratch. */
struct nn_exec {
	struct tp_pool *pool;  /* may be NULL: single-threaded */
	float *scratch;        /* tp_pool_size(pool) slices of `slice` floats, 64-byte aligned */
	size_t slice;          /* floats per thread (a multiple of NN_ALIGN_FLOATS) */
};
/* Thread tid's scratch slice. */
static inline float *nn_exec_slice(const struct nn_exec *ex, uint32_t tid)
{
	return ex->scratch + (size_t)tid * ex->slice;
}

/* ---- GEMM and convolution ----------------------------------------------- */

/* C (m x n, ldc) = A (m x k, lda) * B (k x n, ldb) + beta * C; row-major,
 * one OpenBLAS call on the calling thread. */
void nn_gemm(uint32_t m, uint32_t n, uint32_t k, const float *a, uint32_t lda, const float *b,
	     uint32_t ldb, float beta, float *c, uint32_t ldc);
/* The same split into fixed blocks of columns run on ex's pool, each block
 * followed by C = act(C + shift[row]) (shift may be NULL; relu 0/1). */
void nn_gemm_par(const struct nn_exec *ex, uint32_t m, uint32_t n, uint32_t k, const float *a,
		 uint32_t lda, const float *b, uint32_t ldb, float beta, float *c, uint32_t ldc,
		 const float *shift, int relu);

/* A 2-D convolution (square kernel) with its folded batch-norm and activation:
 * out[co] = act(sum_{ci,ky,kx} w[co][ci][ky][kx] * in_pad[ci][oy*s+ky][ox*s+kx] + shift[co]). */
struct nn_conv {
	uint32_t cout, cin;  /* output / input channels */
	uint32_t k;          /* kernel side */
	uint32_t stride;     /* >= 1 */
	uint32_t pad;        /* padding on every side, pixels */
	enum nn_pad mode;    /* how the padding is filled */
	const float *w;      /* (cout, cin * k * k) row-major, BN scale already folded in; borrowed */
	const float *shift;  /* (cout) bias + folded BN shift, or NULL for none; borrowed */
	int relu;            /* 1: ReLU after the shift */
	const float *wtap;   /* NULL, or (cout * k * k, cin) row-major: the same weights
			      * tap-major, selecting the "tap GEMM" path for stride 1 and
			      * few output channels (GEMM to all taps, then shift-add) */
};
/* Rearrange w (cout, cin, k, k) into the wtap layout (cout, k, k, cin). */
void nn_conv_make_wtap(const float *w, uint32_t cout, uint32_t cin, uint32_t k, float *wtap);

/* Output size of a conv on an input side n. */
static inline uint32_t nn_conv_out(uint32_t n, uint32_t k, uint32_t stride, uint32_t pad)
{
	return (n + 2 * pad - k) / stride + 1;
}

/* Number of output rows per im2col chunk for a K-row column matrix of
 * output width ow: a fixed rule of the shape only (never of the threads). */
uint32_t nn_conv_chunk_rows(size_t k, uint32_t ow, uint32_t oh);

/* Per-thread scratch floats (ex->slice) nn_conv2d needs on an h x w input. */
size_t nn_conv_scratch(const struct nn_conv *cv, uint32_t h, uint32_t w);

/*
 * Fill col ((cin*k*k) x ((oy1 - oy0) * ow), row-major, row index
 * (ci * k + ky) * k + kx) with the padded input samples of output rows
 * [oy0, oy1). ow = output width.
 */
void nn_im2col(const struct nn_tensor *in, uint32_t k, uint32_t stride, uint32_t pad,
	       enum nn_pad mode, uint32_t oy0, uint32_t oy1, uint32_t ow, float *col);

/* Run cv: in (cin, h, w) -> out (cout, oh, ow), out->data preallocated and
 * not aliasing in. Chunks of output rows run in parallel on ex. */
void nn_conv2d(const struct nn_conv *cv, const struct nn_tensor *in, struct nn_tensor *out,
	       const struct nn_exec *ex);

/* Transposed convolution (PyTorch ConvTranspose2d, groups 1, dilation 1):
 * out[co][i*s + ky - p][j*s + kx - p] += in[ci][i][j] * w[ci][co][ky][kx],
 * then act(out + shift[co]). Output is (cout, (h-1)*s - 2p + k + op, ...). */
struct nn_convt {
	uint32_t cout, cin, k, stride, pad, out_pad;
	const float *w;      /* (cin, cout * k * k) row-major (PyTorch layout), BN scale folded; borrowed */
	const float *shift;  /* (cout) or NULL; borrowed */
	int relu;
};
/* Per-thread scratch floats nn_convt2d needs on an h x w input. */
size_t nn_convt_scratch(const struct nn_convt *ct, uint32_t h, uint32_t w);
/* Needs k <= 2 * stride (then chunks c and c + 2 never touch the same output
 * row, so even and odd chunks run in two parallel passes). */
void nn_convt2d(const struct nn_convt *ct, const struct nn_tensor *in, struct nn_tensor *out,
		const struct nn_exec *ex);

/* ---- Winograd F(4x4, 3x3) for stride-1 3x3 convs with reflect padding 1 ----
 * Output tiles of NN_WINO_M x NN_WINO_M: th = ceil(h / 4) by tw = ceil(w / 4)
 * tiles, each reading a 6 x 6 input patch; NN_WINO_P = 36 transform points
 * k = 6 i + j. */
#define NN_WINO_M 4
#define NN_WINO_P 36
/* Padded rows/columns for t tiles: 4 t + 2. */
static inline uint32_t nn_wino_padded(uint32_t t)
{
	return NN_WINO_M * t + 2;
}

/* u[k * stride] = (G g G^T)[k] * scale for one 3x3 kernel g (row-major). */
void nn_wino_kernel(const float *g, double scale, float *u, size_t stride);
/* Reflect-pad in (c, h, w) by 1 into xp (c, 4 th + 2, 4 tw + 2); rows and
 * columns beyond h + 2 / w + 2 are zero. */
void nn_wino_pad(const struct nn_tensor *in, float *xp, uint32_t th, uint32_t tw);
/* Input transform of channels [c0, c1) and tile rows [ty0, ty1) into v
 * (NN_WINO_P, c, nt) with nt = (ty1 - ty0) * tw. */
void nn_wino_input(const float *xp, uint32_t c, uint32_t c0, uint32_t c1, uint32_t th,
		   uint32_t tw, uint32_t ty0, uint32_t ty1, float *v);
/* Output transform: m (NN_WINO_P points kstride apart, each rows x nt) -> y
 * (rows, h, w) for tile rows [ty0, ty1), then act(y + shift[row]) (shift may be NULL). */
void nn_wino_output(const float *m, uint32_t rows, size_t kstride, size_t nt, uint32_t tw,
		    uint32_t ty0, uint32_t ty1, float *y, uint32_t h, uint32_t w,
		    const float *shift, int relu);
/* Tile rows per chunk for c channels and tw tiles per row (a rule of the shape only). */
uint32_t nn_wino_chunk_rows(uint32_t c, uint32_t tw, uint32_t th);

/* ---- elementwise -------------------------------------------------------- */

/* y[c][i] = act(y[c][i] + shift[c]) over n elements per channel at stride ld. */
void nn_shift_act(float *y, uint32_t c, size_t n, size_t ld, const float *shift, int relu);
/* y[i] += x[i] for n elements. */
void nn_add(float *y, const float *x, size_t n);
/* y[i] = 1 / (1 + exp(-y[i])). */
void nn_sigmoid(float *y, size_t n);

/* ---- Fourier unit (FFTW single precision) ------------------------------- */

/* FFTW plans for one h x w channel: r2c over (h, w) and c2r back, made
 * once and shared by every thread (execution is thread-safe). */
struct nn_fft_plan;

/* Find or make the plans for h x w in the process-wide cache (planning
 * under one mutex, FFTW_ESTIMATE so plans are deterministic and fast).
 * The cache owns the plan; it lives until nn_fft_cleanup. TP_ENOMEM. */
TP_MUST_USE tp_status nn_fft_plan_get(uint32_t h, uint32_t w, const struct nn_fft_plan **out);
/* Free every cached plan (call when no worker runs). */
void nn_fft_cleanup(void);

/* The FourierUnit's 1x1 spectral conv + folded BN + ReLU, in the frequency domain. */
struct nn_fu {
	uint32_t c;          /* real channels (spectral channels = 2c) */
	const float *w;      /* (2c, 2c) row-major, BN scale folded; channels interleaved re/im */
	const float *shift;  /* (2c) */
};
/* Shared scratch floats (spectrum in and out) for c x h x w. */
size_t nn_fu_scratch(uint32_t c, uint32_t h, uint32_t w);
/* Per-thread scratch floats (one channel's real and complex buffers). */
size_t nn_fu_slice(uint32_t h, uint32_t w);
/*
 * f = a + irfft2(relu(W * stack(rfft2(a)) + shift)) with 'ortho' scaling,
 * where the spectrum of channel k is stacked as spectral channels 2k (re),
 * 2k+1 (im) (SPEC §5; the "+ a" is the SpectralTransform's skip, fused).
 * a, f: (c, h, w); a is not modified. plan from nn_fft_plan_get(h, w).
 * shared has nn_fu_scratch() floats; ex slices >= nn_fu_slice().
 */
void nn_fourier_unit(const struct nn_fft_plan *plan, const struct nn_fu *fu, const float *a,
		     float *f, uint32_t h, uint32_t w, float *shared, const struct nn_exec *ex);

/* ---- BLAS threads ------------------------------------------------------- */

/* Set OpenBLAS's thread count (process-wide). */
void nn_blas_set_threads(uint32_t n);
/* OpenBLAS core name (e.g. "Haswell", "SkylakeX") and config string; static. */
const char *nn_blas_corename(void);
const char *nn_blas_config(void);

#endif
