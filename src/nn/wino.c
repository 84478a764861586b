/*
 * wino.c - Winograd F(2x2, 3x3) for the stride-1 3x3 convolutions of the FFC
 * blocks: 16 multiplies per 2x2 output tile and input channel instead of 36
 * (2.25x fewer MACs). Y = A^T [ (G g G^T) .* (B^T d B) ] A, with
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],
 *   G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1],
 *   A^T = [1 1 1 0; 0 1 -1 -1].
 * The elementwise products over channels become 16 GEMMs per chunk of tiles.
 * Weights are transformed once at load (in double precision).
 */
#include "nn.h"

/* The elementwise loops here are hot; GCC's -O2 cost model leaves most of
 * them scalar. Vectorising elementwise float ops does not change results. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif

#include <string.h>

uint32_t nn_wino_chunk_rows(uint32_t c, uint32_t tw, uint32_t th)
{
	size_t per = (size_t)16 * c * tw, r = per ? ((size_t)1 << 24) / per : th;
	if (r < 1)
		r = 1;
	return (uint32_t)(r < th ? r : th);
}

void nn_wino_kernel(const float *g, double scale, float *u, size_t stride)
{
	double t[4][3], r[4][4];
	for (int j = 0; j < 3; j++) {
		double a = g[j], b = g[3 + j], c = g[6 + j];
		t[0][j] = a;
		t[1][j] = 0.5 * (a + b + c);
		t[2][j] = 0.5 * (a - b + c);
		t[3][j] = c;
	}
	for (int i = 0; i < 4; i++) {
		double a = t[i][0], b = t[i][1], c = t[i][2];
		r[i][0] = a;
		r[i][1] = 0.5 * (a + b + c);
		r[i][2] = 0.5 * (a - b + c);
		r[i][3] = c;
	}
	for (int k = 0; k < 16; k++)
		u[k * stride] = (float)(r[k / 4][k % 4] * scale);
}

void nn_wino_pad(const struct nn_tensor *in, float *xp, uint32_t th, uint32_t tw)
{
	uint32_t ph = 2 * th + 2, pw = 2 * tw + 2;
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
	uint32_t ph = 2 * th + 2, pw = 2 * tw + 2;
	size_t nt = (size_t)(ty1 - ty0) * tw, kstride = (size_t)c * nt;
	float u[4][2 * 1024 + 2];
	TP_ASSERT(pw <= 2 * 1024 + 2);
	(void)ph;
	for (uint32_t ci = c0; ci < c1; ci++) {
		const float *plane = xp + (size_t)ci * ph * pw;
		for (uint32_t ty = ty0; ty < ty1; ty++) {
			const float *r0 = plane + (size_t)(2 * ty) * pw, *r1 = r0 + pw, *r2 = r1 + pw,
				    *r3 = r2 + pw;
			size_t o = ci * nt + (size_t)(ty - ty0) * tw;
			/* rows of B^T d, for the whole tile row at once (vectorisable) */
			for (uint32_t x = 0; x < pw; x++) {
				u[0][x] = r0[x] - r2[x];
				u[1][x] = r1[x] + r2[x];
				u[2][x] = r2[x] - r1[x];
				u[3][x] = r1[x] - r3[x];
			}
			/* columns: (B^T d) B, tile tx reads columns 2 tx .. 2 tx + 3 */
			for (int i = 0; i < 4; i++) {
				const float *a = u[i];
				float *v0 = v + (size_t)(4 * i) * kstride + o, *v1 = v0 + kstride;
				float *v2 = v1 + kstride, *v3 = v2 + kstride;
				for (uint32_t tx = 0; tx < tw; tx++) {
					float a0 = a[2 * tx], a1 = a[2 * tx + 1], a2 = a[2 * tx + 2],
					      a3 = a[2 * tx + 3];
					v0[tx] = a0 - a2;
					v1[tx] = a1 + a2;
					v2[tx] = a2 - a1;
					v3[tx] = a1 - a3;
				}
			}
		}
	}
}

void nn_wino_output(const float *m, uint32_t rows, size_t kstride, size_t nt, uint32_t tw,
		    uint32_t ty0, uint32_t ty1, float *y, uint32_t h, uint32_t w,
		    const float *shift, int relu)
{
	float t[2][4][1024], o[4][1024];
	TP_ASSERT(tw <= 1024);
	for (uint32_t co = 0; co < rows; co++) {
		const float *mc = m + co * nt;
		float *yc = y + (size_t)co * h * w;
		float s = shift ? shift[co] : 0.0f;
		for (uint32_t ty = ty0; ty < ty1; ty++) {
			const float *p = mc + (size_t)(ty - ty0) * tw;
			/* A^T M over the rows of every tile of this tile row (vectorisable) */
			for (int j = 0; j < 4; j++) {
				const float *m0 = p + (size_t)j * kstride, *m1 = p + (size_t)(4 + j) * kstride;
				const float *m2 = p + (size_t)(8 + j) * kstride, *m3 = p + (size_t)(12 + j) * kstride;
				for (uint32_t tx = 0; tx < tw; tx++) {
					t[0][j][tx] = m0[tx] + m1[tx] + m2[tx];
					t[1][j][tx] = m1[tx] - m2[tx] - m3[tx];
				}
			}
			for (int i = 0; i < 2; i++)
				for (uint32_t tx = 0; tx < tw; tx++) {
					float a = t[i][0][tx] + t[i][1][tx] + t[i][2][tx] + s;
					float b = t[i][1][tx] - t[i][2][tx] - t[i][3][tx] + s;
					if (relu) {
						a = a > 0.0f ? a : 0.0f;
						b = b > 0.0f ? b : 0.0f;
					}
					o[2 * i][tx] = a;
					o[2 * i + 1][tx] = b;
				}
			for (int i = 0; i < 2; i++) {
				uint32_t oy = 2 * ty + (uint32_t)i;
				float *d = yc + (size_t)oy * w;
				if (oy >= h)
					continue;
				for (uint32_t x = 0; x < w; x++)
					d[x] = o[2 * i + (x & 1)][x >> 1];
			}
		}
	}
}
