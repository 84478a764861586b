/*
 * tensor.c - arenas, padding, elementwise ops and the OpenBLAS wrappers.
 * Everything here works on caller-provided memory except nn_arena_init.
 */
#include "nn.h"

/* The elementwise loops here are hot; GCC's -O2 cost model leaves most of
 * them scalar. Vectorising elementwise float ops does not change results. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif

#include <cblas.h>
#include <math.h>
#include <string.h>

tp_status nn_arena_init(struct nn_arena *a, size_t floats)
{
	size_t bytes;
	memset(a, 0, sizeof *a);
	if (tp_mul_overflow(floats + NN_ALIGN_FLOATS, sizeof(float), &bytes))
		return tp_err(TP_ENOMEM, "activation arena of %zu floats is too large", floats);
	a->raw = tp_malloc(bytes);
	if (!a->raw)
		return tp_err(TP_ENOMEM, "out of memory for a %zu MB activation arena",
			      bytes >> 20);
	a->base = (float *)(((uintptr_t)a->raw + 63) & ~(uintptr_t)63);
	a->cap = floats;
	return TP_OK;
}

void nn_arena_free(struct nn_arena *a)
{
	if (!a)
		return;
	tp_free(a->raw);
	memset(a, 0, sizeof *a);
}

float *nn_arena_take(struct nn_arena *a, size_t n)
{
	float *p;
	n = nn_align(n);
	TP_ASSERT(n <= a->cap - a->used);
	p = a->base + a->used;
	a->used += n;
	return p;
}

void nn_pad2d(const struct nn_tensor *in, struct nn_tensor *out, uint32_t top, uint32_t left,
	      enum nn_pad mode)
{
	TP_ASSERT(out->c == in->c && out->h >= in->h + top && out->w >= in->w + left);
	for (uint32_t c = 0; c < in->c; c++) {
		const float *src = in->data + (size_t)c * in->h * in->w;
		float *dst = out->data + (size_t)c * out->h * out->w;
		for (uint32_t y = 0; y < out->h; y++) {
			long sy = nn_pad_index((long)y - top, in->h, mode);
			float *d = dst + (size_t)y * out->w;
			if (sy < 0) {
				memset(d, 0, out->w * sizeof *d);
				continue;
			}
			const float *s = src + (size_t)sy * in->w;
			for (uint32_t x = 0; x < left; x++) {
				long sx = nn_pad_index((long)x - left, in->w, mode);
				d[x] = sx < 0 ? 0.0f : s[sx];
			}
			memcpy(d + left, s, in->w * sizeof *d);
			for (uint32_t x = left + in->w; x < out->w; x++) {
				long sx = nn_pad_index((long)x - left, in->w, mode);
				d[x] = sx < 0 ? 0.0f : s[sx];
			}
		}
	}
}

void nn_gemm(uint32_t m, uint32_t n, uint32_t k, const float *a, uint32_t lda, const float *b,
	     uint32_t ldb, float beta, float *c, uint32_t ldc)
{
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)k, 1.0f, a,
		    (int)lda, b, (int)ldb, beta, c, (int)ldc);
}

void nn_shift_act(float *y, uint32_t c, size_t n, size_t ld, const float *shift, int relu)
{
	for (uint32_t k = 0; k < c; k++) {
		float *p = y + k * ld;
		float s = shift ? shift[k] : 0.0f;
		if (relu) {
			for (size_t i = 0; i < n; i++) {
				float v = p[i] + s;
				p[i] = v > 0.0f ? v : 0.0f;
			}
		} else if (shift) {
			for (size_t i = 0; i < n; i++)
				p[i] += s;
		}
	}
}

void nn_add(float *y, const float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		y[i] += x[i];
}

void nn_sigmoid(float *y, size_t n)
{
	for (size_t i = 0; i < n; i++)
		y[i] = 1.0f / (1.0f + expf(-y[i]));
}

void nn_blas_set_threads(uint32_t n)
{
	openblas_set_num_threads(n ? (int)n : 1);
}

const char *nn_blas_corename(void)
{
	const char *s = openblas_get_corename();
	return s ? s : "unknown";
}

const char *nn_blas_config(void)
{
	const char *s = openblas_get_config();
	return s ? s : "unknown";
}
