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

/* Sixteen bytes as one vector (the compiler's generic vectors: SSE2 on any
 * x86-64, NEON on arm64, plain words elsewhere). */
typedef uint8_t tp_v16u8 __attribute__((vector_size(16)));

size_t tp_count_nonzero(const uint8_t *p, size_t n)
{
	size_t i = 0, c = 0;
	/* Lanes count down by one per nonzero byte (a true compare is all
	 * ones): 255 steps at most before a lane wraps, then fold them. */
	while (i + 16 <= n) {
		tp_v16u8 acc = { 0 }, zero = { 0 };
		size_t end = n - (n - i) % 16;
		if (end > i + 16 * 255)
			end = i + 16 * 255;
		for (; i < end; i += 16) {
			tp_v16u8 v;
			memcpy(&v, p + i, sizeof v);
			acc += (tp_v16u8)(v != zero);
		}
		for (int k = 0; k < 16; k++)
			c += (uint8_t)-acc[k];
	}
	for (; i < n; i++)
		c += p[i] != 0;
	return c;
}

void tp_threshold(const uint8_t *in, uint8_t *out, size_t n, uint8_t t, uint8_t flip)
{
	size_t i = 0;
	tp_v16u8 vt, one, vf;
	for (int k = 0; k < 16; k++) {
		vt[k] = t;
		one[k] = 1;
		vf[k] = flip;
	}
	for (; i + 16 <= n; i += 16) {
		tp_v16u8 v;
		memcpy(&v, in + i, sizeof v);
		v = ((tp_v16u8)(v > vt) & one) ^ vf;
		memcpy(out + i, &v, sizeof v);
	}
	for (; i < n; i++)
		out[i] = (uint8_t)((in[i] > t) ^ flip);
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
