/*
 * wino.c - Winograd F(4x4, 3x3) for the stride-1 3x3 convolutions of the FFC
 * blocks: 36 multiplies per 4x4 output tile and input channel instead of 144
 * (4x fewer MACs). Y = A^T [ (G g G^T) .* (B^T d B) ] A with the usual
 * interpolation points 0, 1, -1, 2, -2 and infinity (Lavin & Gray 2015):
 *   B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0;
 *          0 2 -1 -2 1 0; 0 4 0 -5 0 1],
 *   G   = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1],
 *   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1].
 * The elementwise products over channels become 36 GEMMs per chunk of tiles.
 * Weights are transformed once at load (in double precision). Transforms
 * work on whole tile rows so the compiler can vectorise them.
 */
#include "nn.h"

/* The elementwise loops here are hot; GCC's -O2 cost model leaves most of
 * them scalar. Vectorising elementwise float ops does not change results. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif

#include <string.h>

/* Largest tiles per row the stack buffers below hold (bottleneck width 1024,
 * i.e. LAMA_MAX_SIDE 8192). */
#define WINO_MAX_TW 256

uint32_t nn_wino_chunk_rows(uint32_t c, uint32_t tw, uint32_t th)
{
	size_t per = (size_t)NN_WINO_P * c * tw, r = per ? ((size_t)1 << 24) / per : th;
	if (r < 1)
		r = 1;
	return (uint32_t)(r < th ? r : th);
}

void nn_wino_kernel(const float *g, double scale, float *u, size_t stride)
{
	static const double G[6][3] = {
		{ 1.0 / 4, 0, 0 },
		{ -1.0 / 6, -1.0 / 6, -1.0 / 6 },
		{ -1.0 / 6, 1.0 / 6, -1.0 / 6 },
		{ 1.0 / 24, 1.0 / 12, 1.0 / 6 },
		{ 1.0 / 24, -1.0 / 12, 1.0 / 6 },
		{ 0, 0, 1 },
	};
	double t[6][3];
	for (int i = 0; i < 6; i++)
		for (int j = 0; j < 3; j++)
			t[i][j] = G[i][0] * g[j] + G[i][1] * g[3 + j] + G[i][2] * g[6 + j];
	for (int i = 0; i < 6; i++)
		for (int j = 0; j < 6; j++)
			u[(size_t)(6 * i + j) * stride] =
				(float)((t[i][0] * G[j][0] + t[i][1] * G[j][1] + t[i][2] * G[j][2]) * scale);
}

void nn_wino_pad(const struct nn_tensor *in, float *xp, uint32_t th, uint32_t tw)
{
	uint32_t ph = nn_wino_padded(th), pw = nn_wino_padded(tw);
	for (uint32_t c = 0; c < in->c; c++) {
		const float *src = in->data + (size_t)c * in->h * in->w;
		float *dst = xp + (size_t)c * ph * pw;
		for (uint32_t y = 0; y < ph; y++) {
			float *d = dst + (size_t)y * pw;
			long sy = y <= in->h + 1 ? nn_pad_index((long)y - 1, in->h, NN_PAD_REFLECT) : -1;
			if (sy < 0) {
				memset(d, 0, pw * sizeof *d);
				continue;
			}
			const float *s = src + (size_t)sy * in->w;
			d[0] = s[in->w > 1 ? 1 : 0];
			memcpy(d + 1, s, in->w * sizeof *d);
			d[in->w + 1] = s[in->w > 1 ? in->w - 2 : 0];
			for (uint32_t x = in->w + 2; x < pw; x++)
				d[x] = 0.0f;
		}
	}
}

void nn_wino_input(const float *xp, uint32_t c, uint32_t c0, uint32_t c1, uint32_t th,
		   uint32_t tw, uint32_t ty0, uint32_t ty1, float *v)
{
	uint32_t ph = nn_wino_padded(th), pw = nn_wino_padded(tw);
	size_t nt = (size_t)(ty1 - ty0) * tw, kstride = (size_t)c * nt;
	float u[6][NN_WINO_M * WINO_MAX_TW + 2];
	TP_ASSERT(tw <= WINO_MAX_TW);
	for (uint32_t ci = c0; ci < c1; ci++) {
		const float *plane = xp + (size_t)ci * ph * pw;
		for (uint32_t ty = ty0; ty < ty1; ty++) {
			const float *r0 = plane + (size_t)(NN_WINO_M * ty) * pw, *r1 = r0 + pw,
				    *r2 = r1 + pw, *r3 = r2 + pw, *r4 = r3 + pw, *r5 = r4 + pw;
			size_t o = ci * nt + (size_t)(ty - ty0) * tw;
			/* rows: B^T d over the whole tile row */
			for (uint32_t x = 0; x < pw; x++) {
				float d0 = r0[x], d1 = r1[x], d2 = r2[x], d3 = r3[x], d4 = r4[x], d5 = r5[x];
				u[0][x] = 4.0f * d0 - 5.0f * d2 + d4;
				u[1][x] = -4.0f * d1 - 4.0f * d2 + d3 + d4;
				u[2][x] = 4.0f * d1 - 4.0f * d2 - d3 + d4;
				u[3][x] = -2.0f * d1 - d2 + 2.0f * d3 + d4;
				u[4][x] = 2.0f * d1 - d2 - 2.0f * d3 + d4;
				u[5][x] = 4.0f * d1 - 5.0f * d3 + d5;
			}
			/* columns: (B^T d) B; tile tx reads columns 4 tx .. 4 tx + 5 */
			for (int i = 0; i < 6; i++) {
				const float *a = u[i];
				float *v0 = v + (size_t)(6 * i) * kstride + o;
				for (uint32_t tx = 0; tx < tw; tx++) {
					const float *q = a + NN_WINO_M * tx;
					float d0 = q[0], d1 = q[1], d2 = q[2], d3 = q[3], d4 = q[4], d5 = q[5];
					v0[tx] = 4.0f * d0 - 5.0f * d2 + d4;
					v0[kstride + tx] = -4.0f * d1 - 4.0f * d2 + d3 + d4;
					v0[2 * kstride + tx] = 4.0f * d1 - 4.0f * d2 - d3 + d4;
					v0[3 * kstride + tx] = -2.0f * d1 - d2 + 2.0f * d3 + d4;
					v0[4 * kstride + tx] = 2.0f * d1 - d2 - 2.0f * d3 + d4;
					v0[5 * kstride + tx] = 4.0f * d1 - 5.0f * d3 + d5;
				}
			}
		}
	}
}

void nn_wino_output(const float *m, uint32_t rows, size_t kstride, size_t nt, uint32_t tw,
		    uint32_t ty0, uint32_t ty1, float *y, uint32_t h, uint32_t w,
		    const float *shift, int relu)
{
	float t[4][6][WINO_MAX_TW], o[4][4][WINO_MAX_TW];
	TP_ASSERT(tw <= WINO_MAX_TW);
	for (uint32_t co = 0; co < rows; co++) {
		const float *mc = m + co * nt;
		float *yc = y + (size_t)co * h * w;
		float s = shift ? shift[co] : 0.0f;
		for (uint32_t ty = ty0; ty < ty1; ty++) {
			const float *p = mc + (size_t)(ty - ty0) * tw;
			/* A^T M over the rows of every tile of this tile row */
			for (int j = 0; j < 6; j++) {
				const float *m0 = p + (size_t)j * kstride, *m1 = m0 + 6 * kstride,
					    *m2 = m1 + 6 * kstride, *m3 = m2 + 6 * kstride,
					    *m4 = m3 + 6 * kstride, *m5 = m4 + 6 * kstride;
				for (uint32_t tx = 0; tx < tw; tx++) {
					float a1 = m1[tx] + m2[tx], b1 = m1[tx] - m2[tx];
					float a3 = m3[tx] + m4[tx], b3 = m3[tx] - m4[tx];
					t[0][j][tx] = m0[tx] + a1 + a3;
					t[1][j][tx] = b1 + 2.0f * b3;
					t[2][j][tx] = a1 + 4.0f * a3;
					t[3][j][tx] = b1 + 8.0f * b3 + m5[tx];
				}
			}
			/* ... then over the columns, + shift, ReLU */
			for (int i = 0; i < 4; i++)
				for (uint32_t tx = 0; tx < tw; tx++) {
					float a1 = t[i][1][tx] + t[i][2][tx], b1 = t[i][1][tx] - t[i][2][tx];
					float a3 = t[i][3][tx] + t[i][4][tx], b3 = t[i][3][tx] - t[i][4][tx];
					float r[4];
					r[0] = t[i][0][tx] + a1 + a3 + s;
					r[1] = b1 + 2.0f * b3 + s;
					r[2] = a1 + 4.0f * a3 + s;
					r[3] = b1 + 8.0f * b3 + t[i][5][tx] + s;
					for (int q = 0; q < 4; q++) {
						if (relu && r[q] < 0.0f)
							r[q] = 0.0f;
						o[i][q][tx] = r[q];
					}
				}
			for (int i = 0; i < 4; i++) {
				uint32_t oy = NN_WINO_M * ty + (uint32_t)i;
				float *d = yc + (size_t)oy * w;
				if (oy >= h)
					continue;
				for (uint32_t x = 0; x < w; x++)
					d[x] = o[i][x & 3][x >> 2];
			}
		}
	}
}
