/*
 * blob.h - tile results as the store keeps them: the masked pixels only,
 * quantised to uint16 and deflated.
 */
#ifndef TP_BLOB_H
#define TP_BLOB_H

#include "util/tp.h"

/*
 * Pack the masked pixels of a tile result: for each masked pixel in raster
 * order, `channels` values q = round(v * 65535) (v clamped to [0,1]) as
 * little-endian uint16, deflated; with f32 (signed and float images, whose
 * samples 16 bits of [0, 1] would not hold) v itself, clamped to [0, 1], as
 * a little-endian IEEE float. *blob is tp_malloc'd (caller frees).
 * The same function also writes q / 65535 back into pix, so that the blend of
 * a fresh run uses exactly the values a resumed run will load. With blob
 * NULL it only quantises pix (a run without a store has nothing to keep).
 */
TP_MUST_USE tp_status tp_blob_pack(float *pix, const uint8_t *mask, uint32_t w, uint32_t h,
				   uint32_t channels, int f32, void **blob, size_t *len);
/* Inverse (f32 as packed): fill the masked pixels of pix from a blob.
 * TP_EFORMAT if it does not fit. */
TP_MUST_USE tp_status tp_blob_unpack(const void *blob, size_t len, float *pix, const uint8_t *mask,
				     uint32_t w, uint32_t h, uint32_t channels, int f32);

#endif
