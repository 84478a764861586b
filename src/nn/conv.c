/*
 * conv.c - convolution as im2col + sgemm, in fixed-size chunks of output rows
 * so the column buffer stays small (cache-resident) whatever the tile size,
 * and transposed convolution as sgemm + col2im over chunks of input rows.
 * Chunk sizes depend only on the layer shape, never on the thread count.
 */
#include "nn.h"

#include <cblas.h>
#include <string.h>

/* Column-buffer budget per chunk, floats (8 MB). */
#define NN_COL_BUDGET ((size_t)1 << 21)

uint32_t nn_conv_chunk_rows(size_t k, uint32_t ow, uint32_t oh)
{
	size_t per_row = k * ow;
	size_t rows = per_row ? NN_COL_BUDGET / per_row : oh;
	if (rows < 1)
		rows = 1;
	if (rows > oh)
		rows = oh;
	return (uint32_t)rows;
}

size_t nn_conv_scratch(const struct nn_conv *cv, uint32_t h, uint32_t w)
{
	uint32_t oh = nn_conv_out(h, cv->k, cv->stride, cv->pad);
	uint32_t ow = nn_conv_out(w, cv->k, cv->stride, cv->pad);
	size_t kk = (size_t)cv->cin * cv->k * cv->k;
	return nn_align(kk * ow * nn_conv_chunk_rows(kk, ow, oh));
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

void nn_conv2d(const struct nn_conv *cv, const struct nn_tensor *in, struct nn_tensor *out,
	       float *col)
{
	uint32_t oh = nn_conv_out(in->h, cv->k, cv->stride, cv->pad);
	uint32_t ow = nn_conv_out(in->w, cv->k, cv->stride, cv->pad);
	size_t kk = (size_t)cv->cin * cv->k * cv->k;
	size_t plane = (size_t)oh * ow;
	uint32_t rows = nn_conv_chunk_rows(kk, ow, oh);
	TP_ASSERT(in->c == cv->cin && out->c == cv->cout && out->h == oh && out->w == ow);
	for (uint32_t oy0 = 0; oy0 < oh; oy0 += rows) {
		uint32_t oy1 = oy0 + rows < oh ? oy0 + rows : oh;
		size_t n = (size_t)(oy1 - oy0) * ow;
		float *dst = out->data + (size_t)oy0 * ow;
		if (cv->k == 1 && cv->stride == 1 && cv->pad == 0) {
			/* A 1x1 conv reads the input directly. */
			nn_gemm(cv->cout, (uint32_t)n, cv->cin, cv->w, cv->cin,
				in->data + (size_t)oy0 * ow, (uint32_t)plane, 0.0f, dst,
				(uint32_t)plane);
		} else {
			nn_im2col(in, cv->k, cv->stride, cv->pad, cv->mode, oy0, oy1, ow, col);
			nn_gemm(cv->cout, (uint32_t)n, (uint32_t)kk, cv->w, (uint32_t)kk, col,
				(uint32_t)n, 0.0f, dst, (uint32_t)plane);
		}
		nn_shift_act(dst, cv->cout, n, plane, cv->shift, cv->relu);
	}
}

static uint32_t convt_out(uint32_t n, const struct nn_convt *ct)
{
	return (n - 1) * ct->stride - 2 * ct->pad + ct->k + ct->out_pad;
}

size_t nn_convt_scratch(const struct nn_convt *ct, uint32_t h, uint32_t w)
{
	size_t kk = (size_t)ct->cout * ct->k * ct->k;
	return nn_align(kk * w * nn_conv_chunk_rows(kk, w, h));
}

void nn_convt2d(const struct nn_convt *ct, const struct nn_tensor *in, struct nn_tensor *out,
		float *col)
{
	uint32_t oh = convt_out(in->h, ct), ow = convt_out(in->w, ct);
	size_t kk = (size_t)ct->cout * ct->k * ct->k;
	size_t iplane = (size_t)in->h * in->w, oplane = (size_t)oh * ow;
	uint32_t rows = nn_conv_chunk_rows(kk, in->w, in->h);
	TP_ASSERT(in->c == ct->cin && out->c == ct->cout && out->h == oh && out->w == ow);
	memset(out->data, 0, oplane * ct->cout * sizeof(float));
	for (uint32_t iy0 = 0; iy0 < in->h; iy0 += rows) {
		uint32_t iy1 = iy0 + rows < in->h ? iy0 + rows : in->h;
		size_t n = (size_t)(iy1 - iy0) * in->w;
		/* col (cout*k*k x n) = W^T (cout*k*k x cin) * in[:, rows] (cin x n) */
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)kk, (int)n,
			    (int)ct->cin, 1.0f, ct->w, (int)kk, in->data + (size_t)iy0 * in->w,
			    (int)iplane, 0.0f, col, (int)n);
		/* col2im: scatter-add every tap into its output pixel. */
		for (uint32_t co = 0; co < ct->cout; co++) {
			float *oplane_p = out->data + co * oplane;
			for (uint32_t ky = 0; ky < ct->k; ky++) {
				for (uint32_t kx = 0; kx < ct->k; kx++) {
					const float *src = col + ((size_t)(co * ct->k + ky) * ct->k + kx) * n;
					for (uint32_t iy = iy0; iy < iy1; iy++) {
						long oy = (long)iy * ct->stride + ky - (long)ct->pad;
						const float *s = src + (size_t)(iy - iy0) * in->w;
						if (oy < 0 || oy >= (long)oh)
							continue;
						float *d = oplane_p + (size_t)oy * ow;
						for (uint32_t ix = 0; ix < in->w; ix++) {
							long ox = (long)ix * ct->stride + kx - (long)ct->pad;
							if (ox >= 0 && ox < (long)ow)
								d[ox] += s[ix];
						}
					}
				}
			}
		}
	}
	nn_shift_act(out->data, ct->cout, oplane, oplane, ct->shift, ct->relu);
}
