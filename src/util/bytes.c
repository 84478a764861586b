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

/* Nonzero bytes of an 8-byte word: each byte's top bit set when the byte
 * is nonzero (its low 7 bits plus 0x7f carry into the top bit, or the
 * top bit was set), moved to the bottom and summed by a multiply. */
static inline unsigned word_nonzero(uint64_t v)
{
	const uint64_t lo7 = 0x7f7f7f7f7f7f7f7full;
	uint64_t t = ((((v & lo7) + lo7) | v) & ~lo7) >> 7;
	return (unsigned)((t * 0x0101010101010101ull) >> 56);
}

size_t tp_count_nonzero(const uint8_t *p, size_t n)
{
	size_t i = 0, c = 0;
	/* masks are mostly zero: 64 bytes are skipped on one test */
	for (; i + 64 <= n; i += 64) {
		uint64_t w[8], any;
		memcpy(w, p + i, sizeof w);
		any = w[0] | w[1] | w[2] | w[3] | w[4] | w[5] | w[6] | w[7];
		if (!any)
			continue;
		for (int k = 0; k < 8; k++)
			c += word_nonzero(w[k]);
	}
	for (; i + 8 <= n; i += 8) {
		uint64_t v;
		memcpy(&v, p + i, sizeof v);
		c += word_nonzero(v);
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
