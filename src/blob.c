/*
 * blob.c - tile results as the store keeps them: the masked pixels only,
 * quantised to 16 bits (or kept as 32-bit floats, for signed and float
 * images) and deflated (zlib). A fresh run blends the same
 * quantised values a resumed run loads, so the two give identical bytes.
 */
#include "blob.h"

#include <math.h>
#include <string.h>
#include <zlib.h>

/* [0, 1] clamped (NaN gives 0): what a float blob keeps. */
static float clamp01(float v)
{
	return !(v > 0.0f) ? 0.0f : v >= 1.0f ? 1.0f : v;
}

static uint16_t quantise(float v)
{
	if (!(v > 0.0f))
		return 0;   /* also NaN */
	if (v >= 1.0f)
		return 65535;
	return (uint16_t)(v * 65535.0f + 0.5f);
}

tp_status tp_blob_pack(float *pix, const uint8_t *mask, uint32_t w, uint32_t h,
		       uint32_t channels, int f32, void **blob, size_t *len)
{
	size_t npx = 0, n = (size_t)w * h, raw_len;
	unsigned char *raw = NULL, *z = NULL;
	uLongf zlen;
	tp_status rc = TP_OK;
	if (!blob) {
		/* No store: quantise in place, nothing to pack. */
		for (size_t i = tp_next_set(mask, 0, n); i < n; i = tp_next_set(mask, i + 1, n))
			for (uint32_t c = 0; c < channels; c++)
				pix[i * channels + c] = f32 ? clamp01(pix[i * channels + c])
					: (float)quantise(pix[i * channels + c]) / 65535.0f;
		return TP_OK;
	}
	npx = tp_count_nonzero(mask, n);
	raw_len = npx * channels * (f32 ? 4 : 2);
	raw = tp_malloc(raw_len);
	zlen = compressBound((uLong)raw_len);
	z = tp_malloc(zlen);
	if (!raw || !z) {
		rc = tp_err(TP_ENOMEM, "out of memory packing a tile result");
		goto out;
	}
	{
		unsigned char *q = raw;
		for (size_t i = 0; i < n; i++) {
			if (!mask[i])
				continue;
			for (uint32_t c = 0; c < channels; c++) {
				uint16_t v;
				if (f32) {
					float f = clamp01(pix[i * channels + c]);
					uint32_t u;
					memcpy(&u, &f, 4);
					pix[i * channels + c] = f;
					for (int k = 0; k < 4; k++)
						*q++ = (unsigned char)(u >> (8 * k));
					continue;
				}
				v = quantise(pix[i * channels + c]);
				pix[i * channels + c] = (float)v / 65535.0f;
				*q++ = (unsigned char)(v & 0xff);
				*q++ = (unsigned char)(v >> 8);
			}
		}
	}
	if (compress2(z, &zlen, raw, (uLong)raw_len, 1) != Z_OK) {
		rc = tp_err(TP_EINTERNAL, "deflate failed packing a tile result");
		goto out;
	}
	*blob = z;
	*len = zlen;
	z = NULL;
out:
	tp_free(raw);
	tp_free(z);
	return rc;
}

tp_status tp_blob_unpack(const void *blob, size_t len, float *pix, const uint8_t *mask,
			 uint32_t w, uint32_t h, uint32_t channels, int f32)
{
	size_t npx = 0, n = (size_t)w * h;
	unsigned char *raw;
	uLongf raw_len;
	tp_status rc = TP_OK;
	npx = tp_count_nonzero(mask, n);
	raw_len = (uLongf)(npx * channels * (f32 ? 4 : 2));
	raw = tp_malloc(raw_len ? raw_len : 1);
	if (!raw)
		return tp_err(TP_ENOMEM, "out of memory unpacking a tile result");
	{
		uLongf got = raw_len;
		if (uncompress(raw, &got, blob, (uLong)len) != Z_OK || got != raw_len) {
			rc = tp_err(TP_EFORMAT, "stored tile result does not match the tile's mask");
			goto out;
		}
	}
	{
		const unsigned char *q = raw;
		for (size_t i = 0; i < n; i++) {
			if (!mask[i])
				continue;
			for (uint32_t c = 0; c < channels; c++) {
				if (f32) {
					uint32_t u = (uint32_t)q[0] | (uint32_t)q[1] << 8 |
						     (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24;
					memcpy(&pix[i * channels + c], &u, 4);
					q += 4;
					continue;
				}
				pix[i * channels + c] = (float)(uint16_t)(q[0] | q[1] << 8) / 65535.0f;
				q += 2;
			}
		}
	}
out:
	tp_free(raw);
	return rc;
}
