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

#include <string.h>

uint32_t nn_wino_chunk_rows(uint32_t c, uint32_t tw, uint32_t th)
{
	size_t per = (size_t)16 * c * tw, r = per ? ((size_t)1 << 21) / per : th;
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

void nn_wino_input(const float *xp, uint32_t c, uint32_t th, uint32_t tw, uint32_t ty0,
		   uint32_t ty1, float *v)
{
	uint32_t ph = 2 * th + 2, pw = 2 * tw + 2;
	size_t nt = (size_t)(ty1 - ty0) * tw, kstride = (size_t)c * nt;
	for (uint32_t ci = 0; ci < c; ci++) {
		const float *plane = xp + (size_t)ci * ph * pw;
		float *vc = v + ci * nt;
		for (uint32_t ty = ty0; ty < ty1; ty++) {
			const float *r0 = plane + (size_t)(2 * ty) * pw, *r1 = r0 + pw, *r2 = r1 + pw,
				    *r3 = r2 + pw;
			float *vt = vc + (size_t)(ty - ty0) * tw;
			for (uint32_t tx = 0; tx < tw; tx++) {
				const uint32_t x = 2 * tx;
				float t[4][4];
				/* rows: B^T d */
				for (int j = 0; j < 4; j++) {
					float d0 = r0[x + j], d1 = r1[x + j], d2 = r2[x + j], d3 = r3[x + j];
					t[0][j] = d0 - d2;
					t[1][j] = d1 + d2;
					t[2][j] = d2 - d1;
					t[3][j] = d1 - d3;
				}
				/* columns: (B^T d) B */
				for (int i = 0; i < 4; i++) {
					float *o = vt + tx + (size_t)(4 * i) * kstride;
					o[0] = t[i][0] - t[i][2];
					o[kstride] = t[i][1] + t[i][2];
					o[2 * kstride] = t[i][2] - t[i][1];
					o[3 * kstride] = t[i][1] - t[i][3];
				}
			}
		}
	}
}

void nn_wino_output(const float *m, uint32_t rows, size_t kstride, size_t nt, uint32_t tw,
		    uint32_t ty0, uint32_t ty1, float *y, uint32_t h, uint32_t w,
		    const float *shift, int relu)
{
	for (uint32_t co = 0; co < rows; co++) {
		const float *mc = m + co * nt;
		float *yc = y + (size_t)co * h * w;
		float s = shift ? shift[co] : 0.0f;
		for (uint32_t ty = ty0; ty < ty1; ty++) {
			for (uint32_t tx = 0; tx < tw; tx++) {
				const float *p = mc + (size_t)(ty - ty0) * tw + tx;
				float t[2][4], o[4];
				/* A^T M over rows */
				for (int j = 0; j < 4; j++) {
					float m0 = p[(size_t)j * kstride], m1 = p[(size_t)(4 + j) * kstride];
					float m2 = p[(size_t)(8 + j) * kstride], m3 = p[(size_t)(12 + j) * kstride];
					t[0][j] = m0 + m1 + m2;
					t[1][j] = m1 - m2 - m3;
				}
				for (int i = 0; i < 2; i++) {
					o[2 * i] = t[i][0] + t[i][1] + t[i][2];
					o[2 * i + 1] = t[i][1] - t[i][2] - t[i][3];
				}
				for (int i = 0; i < 2; i++) {
					uint32_t oy = 2 * ty + (uint32_t)i;
					if (oy >= h)
						continue;
					for (int j = 0; j < 2; j++) {
						uint32_t ox = 2 * tx + (uint32_t)j;
						float v;
						if (ox >= w)
							continue;
						v = o[2 * i + j];
						if (shift || relu) {
							v += s;
							if (relu && v < 0.0f)
								v = 0.0f;
						}
						yc[(size_t)oy * w + ox] = v;
					}
				}
			}
		}
	}
}
