/*
 * bytes.c - the byte-mask scans every stage runs over whole rows and tiles
 * (masked-pixel counts, finding the next masked pixel, binarising): eight
 * bytes per step, as masks are mostly zero and a per-byte loop over a
 * 100k-pixel row costs more than the holes in it.
 */
#include "tp.h"

#include <string.h>

#define ONES 0x0101010101010101ull

static inline uint64_t load8(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof v);
	return v;
}

/* 1 in bit 0 of each byte that is nonzero, 0 elsewhere: bit 0 becomes the
 * OR of its byte's bits; the shifts only spill into the bits masked off. */
static inline uint64_t nz01(uint64_t v)
{
	v |= v >> 4;
	v |= v >> 2;
	v |= v >> 1;
	return v & ONES;
}

size_t tp_count_nonzero(const uint8_t *p, size_t n)
{
	size_t i = 0, c = 0;
	/* Byte-lane sums of 0/1 words: 255 words at most before a lane overflows. */
	while (i + 8 <= n) {
		uint64_t acc = 0;
		size_t end = n - (n - i) % 8;
		if (end > i + 8 * 255)
			end = i + 8 * 255;
		for (; i < end; i += 8)
			acc += nz01(load8(p + i));
		/* fold the eight lanes: pairs, quads, then the halves */
		acc = (acc & 0x00ff00ff00ff00ffull) + ((acc >> 8) & 0x00ff00ff00ff00ffull);
		acc = (acc & 0x0000ffff0000ffffull) + ((acc >> 16) & 0x0000ffff0000ffffull);
		c += (size_t)((acc & 0xffffffffull) + (acc >> 32));
	}
	for (; i < n; i++)
		c += p[i] != 0;
	return c;
}

void tp_to01(const uint8_t *in, uint8_t *out, size_t n)
{
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t v = nz01(load8(in + i));
		memcpy(out + i, &v, sizeof v);
	}
	for (; i < n; i++)
		out[i] = in[i] != 0;
}
