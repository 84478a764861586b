/*
 * thumb.h - small pictures of images for the HTML report (thumb.c): an
 * image box-averaged down to a thumbnail band by band (one input row in
 * memory at a time, so memory is the thumbnail's, never the image's), a
 * mask's outline drawn on it, and the result as a base64 PNG for a data URI.
 */
#ifndef TP_THUMB_H
#define TP_THUMB_H

#include "util/tp.h"

struct tp_thumb {
	uint32_t w, h;            /* thumbnail size */
	uint32_t src_w, src_h;    /* the image's */
	uint8_t *rgb;             /* w * h * 3, owned */
};

/* Read `path` and make a thumbnail of at most max_side pixels a side.
 * Errors as the image readers give them (naming the file). */
TP_MUST_USE tp_status tp_thumb_make(const char *path, uint32_t max_side, struct tp_thumb *t);
/* Draw the outline of the mask `path` on t in `rgb`, its holes taken as a
 * run takes them (--mask-threshold, --mask-invert); the mask must have the
 * image's size (TP_EFORMAT otherwise). */
TP_MUST_USE tp_status tp_thumb_outline(struct tp_thumb *t, const char *path, uint32_t threshold,
				       int invert, const uint8_t rgb[3]);
/* The thumbnail as a PNG, base64-encoded (caller frees *b64 with tp_free). */
TP_MUST_USE tp_status tp_thumb_png_base64(const struct tp_thumb *t, char **b64);
void tp_thumb_free(struct tp_thumb *t);   /* accepts a zeroed struct */

#endif
