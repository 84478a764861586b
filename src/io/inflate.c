/*
 * inflate.c - a streaming zlib decoder (see inflate.h).
 *
 * Output goes to one buffer: the last 32 KiB decoded (the window matches may
 * reach back into), the bytes decoded but not yet handed out, and room to
 * decode into; when the room runs short, the window and the pending bytes
 * are moved to the front. Decoding stops only between symbols, and only
 * when the room left is less than one match (258 bytes) and the copy
 * overrun (32 bytes), so no match is ever split.
 *
 * Input: a buffer of IN_CAP bytes, topped up from the callback when fewer
 * than 8 bytes are left, so the bit buffer is refilled with one unaligned
 * 64-bit load (the branchless refill: whole bytes are counted, the bits above
 * the count are the next input bits, which the next load ORs in again).
 * Once the input has ended, refills add zero bytes past its end and count
 * them: a symbol that used one of their bits means the stream is truncated,
 * and is not handed out.
 *
 * Huffman tables: a primary table indexed by the next LIT_BITS (DIST_BITS)
 * bits, whose entries for longer codes point to a subtable indexed by the
 * code's remaining bits (all subtables of one table have the width of its
 * longest code). Code sets are checked as zlib checks them: over-subscribed
 * is an error, incomplete only allowed for a single code of one bit.
 */
#include "inflate.h"

#include <string.h>

#include "../util/tp.h"

#define WINDOW     32768u
#define MAX_MATCH  258u
#define OVERRUN    32u                 /* a match copy may write this far past its end */
#define IN_CAP     65536u
#define LIT_BITS   11
#define DIST_BITS  8
#define LIT_SYMS   288
#define DIST_SYMS  32
#define LIT_TABLE  ((1u << LIT_BITS) + (1u << LIT_BITS) * (1u << (15 - LIT_BITS)))
#define DIST_TABLE ((1u << DIST_BITS) + DIST_SYMS * (1u << (15 - DIST_BITS)))

/* Table entries: bits 0-3 the bits a code takes (in a subtable: past the
 * primary bits), 4-6 the kind, 8-15 extra bits (a subtable's index width),
 * 16-31 the value (literal, base length or distance, subtable offset). */
enum { K_LIT, K_BASE, K_EOB, K_SUB, K_BAD };
#define ENTRY(len, kind, extra, value) \
	((uint32_t)(len) | (uint32_t)(kind) << 4 | (uint32_t)(extra) << 8 | (uint32_t)(value) << 16)
#define E_LEN(e)   ((e) & 15u)
#define E_KIND(e)  (((e) >> 4) & 7u)
#define E_EXTRA(e) (((e) >> 8) & 255u)
#define E_VALUE(e) ((e) >> 16)
#define BAD_ENTRY  ENTRY(0, K_BAD, 0, 0)

enum { S_HEADER, S_BLOCK, S_STORED, S_HUFF, S_END, S_FAILED };

struct io_inflate {
	io_inflate_fill fill;
	void *ctx;
	int state;
	int final;                   /* the block being decoded is the last */
	int ended;                   /* the input has ended */
	int fixed;                   /* the tables hold the fixed codes */
	uint32_t stored_left;        /* bytes left in a stored block */
	uint64_t bits;
	unsigned nbits;
	unsigned phantom;            /* zero bytes refilled past the input's end */
	const uint8_t *in, *in_end;
	uint8_t *in_buf;
	uint8_t *buf, *op, *cp;      /* output: buffer, decode point, hand-out point */
	size_t cap;
	char msg[80];
	uint32_t lit[LIT_TABLE];
	uint32_t dist[DIST_TABLE];
};

static const uint16_t len_base[29] = { 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31,
				       35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258 };
static const uint8_t len_extra[29] = { 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2,
				       3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0 };
static const uint16_t dist_base[30] = { 1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129,
					193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097,
					6145, 8193, 12289, 16385, 24577 };
static const uint8_t dist_extra[30] = { 0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6,
					7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13 };

size_t io_inflate_mem(size_t unit)
{
	size_t u = unit < 65536 ? 65536 : unit;
	return sizeof(struct io_inflate) + IN_CAP + 8 + WINDOW + 2 * u + MAX_MATCH + OVERRUN;
}

struct io_inflate *io_inflate_new(size_t unit, io_inflate_fill fill, void *ctx)
{
	struct io_inflate *z = tp_calloc(1, sizeof *z);
	size_t u = unit < 65536 ? 65536 : unit;
	if (!z)
		return NULL;
	z->fill = fill;
	z->ctx = ctx;
	z->cap = WINDOW + 2 * u + MAX_MATCH + OVERRUN;
	z->in_buf = tp_malloc(IN_CAP + 8);
	z->buf = tp_malloc(z->cap);
	if (!z->in_buf || !z->buf) {
		io_inflate_free(z);
		return NULL;
	}
	z->in = z->in_end = z->in_buf;
	z->op = z->cp = z->buf;
	z->state = S_HEADER;
	return z;
}

void io_inflate_free(struct io_inflate *z)
{
	if (!z)
		return;
	tp_free(z->in_buf);
	tp_free(z->buf);
	tp_free(z);
}

const char *io_inflate_error(const struct io_inflate *z)
{
	return z->msg;
}

static int fail(struct io_inflate *z, const char *msg)
{
	if (z->state != S_FAILED)
		snprintf(z->msg, sizeof z->msg, "%s", msg);
	z->state = S_FAILED;
	return -1;
}

/* ---- bits ---- */

static inline uint64_t load64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

/* Move the unread input to the front and fill the rest from the callback. */
static void top_up(struct io_inflate *z)
{
	size_t left = (size_t)(z->in_end - z->in), got;
	memmove(z->in_buf, z->in, left);
	z->in = z->in_buf;
	z->in_end = z->in_buf + left;
	while (!z->ended && left < IN_CAP) {
		got = z->fill(z->ctx, z->in_buf + left, IN_CAP - left);
		if (got == 0)
			z->ended = 1;
		left += got;
		z->in_end = z->in_buf + left;
		if (left >= 8)
			break;
	}
}

static void refill_slow(struct io_inflate *z)
{
	if (!z->ended)
		top_up(z);
	if (z->in_end - z->in >= 8) {
		z->bits |= load64(z->in) << z->nbits;
		z->in += (63 - z->nbits) >> 3;
		z->nbits |= 56;
		return;
	}
	while (z->nbits <= 56) {
		if (z->in < z->in_end)
			z->bits |= (uint64_t)*z->in++ << z->nbits;
		else
			z->phantom++;   /* a zero byte past the end */
		z->nbits += 8;
	}
}

/* At least 56 bits in the buffer. */
static inline void refill(struct io_inflate *z)
{
	if (z->in_end - z->in >= 8) {
		z->bits |= load64(z->in) << z->nbits;
		z->in += (63 - z->nbits) >> 3;
		z->nbits |= 56;
	} else {
		refill_slow(z);
	}
}

/* n <= 32 bits, after a refill that covers them. */
static inline uint32_t take(struct io_inflate *z, unsigned n)
{
	uint32_t v = (uint32_t)(z->bits & ((1ull << n) - 1));
	z->bits >>= n;
	z->nbits -= n;
	return v;
}

/* Bits past the input's end were used. */
static inline int overran(const struct io_inflate *z)
{
	return z->phantom && z->phantom * 8u > z->nbits;
}

/* ---- tables ---- */

static uint32_t reverse(uint32_t code, unsigned len)
{
	uint32_t r = 0;
	for (unsigned i = 0; i < len; i++, code >>= 1)
		r = r << 1 | (code & 1);
	return r;
}

/*
 * Fill a table from code lengths: sym_entry(s) gives symbol s's entry
 * without its length. 0, or -1 for a code set that is over-subscribed, or
 * incomplete beyond a single 1-bit code (or any incomplete set, with
 * `complete`).
 */
static int build(uint32_t *tab, unsigned tb, const uint8_t *lens, unsigned n,
		 uint32_t (*sym_entry)(unsigned), int complete)
{
	unsigned count[16] = { 0 }, maxlen = 0, sub_bits, next_sub;
	uint32_t next[16];
	int left = 1;
	for (unsigned s = 0; s < n; s++)
		count[lens[s]]++;
	for (unsigned l = 1; l <= 15; l++)
		if (count[l])
			maxlen = l;
	for (unsigned i = 0; i < (1u << tb); i++)
		tab[i] = BAD_ENTRY;
	if (maxlen == 0)
		return complete ? -1 : 0;   /* no codes: any use fails */
	for (unsigned l = 1; l <= 15; l++) {
		left = left * 2 - (int)count[l];
		if (left < 0)
			return -1;
	}
	if (left > 0 && (complete || maxlen != 1))
		return -1;
	next[1] = 0;
	for (unsigned l = 1; l < 15; l++)
		next[l + 1] = (next[l] + count[l]) << 1;
	sub_bits = maxlen > tb ? maxlen - tb : 0;
	next_sub = 1u << tb;
	for (unsigned s = 0; s < n; s++) {
		unsigned l = lens[s];
		uint32_t rev, e;
		if (!l)
			continue;
		rev = reverse(next[l]++, l);
		e = sym_entry(s);
		if (l <= tb) {
			for (uint32_t i = rev; i < (1u << tb); i += 1u << l)
				tab[i] = e | l;
			continue;
		}
		uint32_t p = rev & ((1u << tb) - 1), off;
		if (E_KIND(tab[p]) != K_SUB) {
			off = next_sub;
			next_sub += 1u << sub_bits;
			for (uint32_t i = 0; i < (1u << sub_bits); i++)
				tab[off + i] = BAD_ENTRY;
			tab[p] = ENTRY(tb, K_SUB, sub_bits, off);
		}
		off = E_VALUE(tab[p]);
		for (uint32_t i = rev >> tb; i < (1u << sub_bits); i += 1u << (l - tb))
			tab[off + i] = e | (l - tb);
	}
	return 0;
}

static uint32_t lit_entry(unsigned s)
{
	if (s < 256)
		return ENTRY(0, K_LIT, 0, s);
	if (s == 256)
		return ENTRY(0, K_EOB, 0, 0);
	if (s < 286)
		return ENTRY(0, K_BASE, len_extra[s - 257], len_base[s - 257]);
	return BAD_ENTRY;
}

static uint32_t dist_entry(unsigned s)
{
	return s < 30 ? ENTRY(0, K_BASE, dist_extra[s], dist_base[s]) : BAD_ENTRY;
}

static uint32_t clen_entry(unsigned s)
{
	return ENTRY(0, K_LIT, 0, s);
}

/* The symbol the next bits code, from a table with primary width tb. */
static inline uint32_t decode(struct io_inflate *z, const uint32_t *tab, unsigned tb)
{
	uint32_t e = tab[z->bits & ((1u << tb) - 1)];
	if (E_KIND(e) == K_SUB) {
		z->bits >>= tb;
		z->nbits -= tb;
		e = tab[E_VALUE(e) + (z->bits & ((1u << E_EXTRA(e)) - 1))];
	}
	z->bits >>= E_LEN(e);
	z->nbits -= E_LEN(e);
	return e;
}

static void fixed_tables(struct io_inflate *z)
{
	uint8_t lens[LIT_SYMS];
	if (z->fixed)
		return;
	memset(lens, 8, 144);
	memset(lens + 144, 9, 112);
	memset(lens + 256, 7, 24);
	memset(lens + 280, 8, 8);
	(void)build(z->lit, LIT_BITS, lens, LIT_SYMS, lit_entry, 0);
	memset(lens, 5, DIST_SYMS);
	(void)build(z->dist, DIST_BITS, lens, DIST_SYMS, dist_entry, 0);
	z->fixed = 1;
}

static int dynamic_tables(struct io_inflate *z)
{
	static const uint8_t order[19] = { 16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2,
					   14, 1, 15 };
	uint8_t clens[19] = { 0 }, lens[LIT_SYMS + DIST_SYMS];
	uint32_t ctab[128];
	unsigned nlit, ndist, nclen, n = 0;
	z->fixed = 0;
	refill(z);
	nlit = take(z, 5) + 257;
	ndist = take(z, 5) + 1;
	nclen = take(z, 4) + 4;
	if (nlit > 286 || ndist > 30)
		return fail(z, "too many length or distance symbols");
	for (unsigned i = 0; i < nclen; i++) {
		if (z->nbits < 3)
			refill(z);
		clens[order[i]] = (uint8_t)take(z, 3);
	}
	if (build(ctab, 7, clens, 19, clen_entry, 1) != 0)
		return fail(z, "invalid code lengths set");
	while (n < nlit + ndist) {
		uint32_t e, sym, rep, fill = 0;
		refill(z);
		e = decode(z, ctab, 7);
		if (E_KIND(e) == K_BAD)
			return fail(z, "invalid code lengths set");
		sym = E_VALUE(e);
		if (sym < 16) {
			lens[n++] = (uint8_t)sym;
			continue;
		}
		if (sym == 16) {
			if (n == 0)
				return fail(z, "invalid bit length repeat");
			fill = lens[n - 1];
			rep = 3 + take(z, 2);
		} else if (sym == 17) {
			rep = 3 + take(z, 3);
		} else {
			rep = 11 + take(z, 7);
		}
		if (n + rep > nlit + ndist)
			return fail(z, "invalid bit length repeat");
		memset(lens + n, (int)fill, rep);
		n += rep;
	}
	if (overran(z))
		return fail(z, "truncated");
	if (lens[256] == 0)
		return fail(z, "invalid code -- missing end-of-block");
	if (build(z->lit, LIT_BITS, lens, nlit, lit_entry, 0) != 0)
		return fail(z, "invalid literal/lengths set");
	if (build(z->dist, DIST_BITS, lens + nlit, ndist, dist_entry, 0) != 0)
		return fail(z, "invalid distances set");
	return 0;
}

/* ---- decoding ---- */

static int block_header(struct io_inflate *z)
{
	uint32_t type;
	if (z->final) {
		z->state = S_END;
		return 0;
	}
	refill(z);
	z->final = (int)take(z, 1);
	type = take(z, 2);
	if (type == 0) {
		uint32_t len, nlen;
		take(z, z->nbits & 7);   /* to a byte boundary */
		refill(z);
		len = take(z, 16);
		nlen = take(z, 16);
		if (overran(z))
			return fail(z, "truncated");
		if ((len ^ 0xffffu) != nlen)
			return fail(z, "invalid stored block lengths");
		z->stored_left = len;
		z->state = S_STORED;
	} else if (type == 1) {
		fixed_tables(z);
		z->state = S_HUFF;
	} else if (type == 2) {
		if (dynamic_tables(z) != 0)
			return -1;
		z->state = S_HUFF;
	} else {
		return fail(z, "invalid block type");
	}
	return overran(z) ? fail(z, "truncated") : 0;
}

/* Copy a stored block's bytes, up to `lim`. */
static int stored(struct io_inflate *z, const uint8_t *lim)
{
	while (z->stored_left && z->op < lim) {
		if (z->nbits >= 8) {   /* whole bytes still in the bit buffer */
			if (z->phantom * 8u >= z->nbits)
				return fail(z, "truncated");
			*z->op++ = (uint8_t)take(z, 8);
			z->stored_left--;
			continue;
		}
		z->bits = 0;   /* nbits == 0: what is above it is at z->in */
		if (z->in == z->in_end) {
			if (!z->ended)
				top_up(z);
			if (z->in == z->in_end)
				return fail(z, "truncated");
		}
		size_t n = (size_t)(z->in_end - z->in), room = (size_t)(lim - z->op);
		if (n > z->stored_left)
			n = z->stored_left;
		if (n > room)
			n = room;
		memcpy(z->op, z->in, n);
		z->op += n;
		z->in += n;
		z->stored_left -= (uint32_t)n;
	}
	if (!z->stored_left)
		z->state = S_BLOCK;
	return 0;
}

/* A match: len bytes from dist back. The buffer has OVERRUN bytes to spare. */
static inline void copy_match(uint8_t *op, uint32_t dist, uint32_t len)
{
	const uint8_t *src = op - dist;
	uint8_t *end = op + len;
	if (dist >= 16) {
		do {
			memcpy(op, src, 16);
			op += 16;
			src += 16;
		} while (op < end);
	} else if (dist == 1) {
		memset(op, src[0], len);
	} else if (dist >= 8) {
		do {
			memcpy(op, src, 8);
			op += 8;
			src += 8;
		} while (op < end);
	} else {
		while (op < end)
			*op++ = *src++;
	}
}

/* Huffman-coded symbols until the block ends or the output reaches lim;
 * the decoder's state in locals (the byte stores could alias it). */
static int huffman(struct io_inflate *z, const uint8_t *lim)
{
	const uint32_t *lit = z->lit, *dtab = z->dist;
	const uint8_t *base = z->buf, *in = z->in, *in_end = z->in_end;
	uint8_t *op = z->op;
	uint64_t bits = z->bits;
	unsigned nbits = z->nbits, phantom = z->phantom;
	int rc = 0;
#define SAVE() (z->bits = bits, z->nbits = nbits, z->in = in, z->op = op)
#define LOAD() (bits = z->bits, nbits = z->nbits, in = z->in, in_end = z->in_end, \
		phantom = z->phantom)
#define TAKE(n) (bits >>= (n), nbits -= (n))
#define OVERRAN() (phantom && phantom * 8u > nbits)
	while (op < lim) {
		uint32_t e, d, len, dist;
		if (in_end - in >= 8) {
			bits |= load64(in) << nbits;
			in += (63 - nbits) >> 3;
			nbits |= 56;
		} else {
			SAVE();
			refill_slow(z);
			LOAD();
		}
		e = lit[bits & ((1u << LIT_BITS) - 1)];
		if (E_KIND(e) == K_SUB) {
			TAKE(LIT_BITS);
			e = lit[E_VALUE(e) + (bits & ((1u << E_EXTRA(e)) - 1))];
		}
		TAKE(E_LEN(e));
		if (E_KIND(e) == K_LIT) {
			if (OVERRAN())
				break;
			*op++ = (uint8_t)E_VALUE(e);
			continue;
		}
		if (E_KIND(e) != K_BASE) {
			if (E_KIND(e) == K_EOB && !OVERRAN()) {
				z->state = S_BLOCK;
				SAVE();
				return 0;
			}
			SAVE();
			return fail(z, OVERRAN() ? "truncated" : "invalid literal/length code");
		}
		/* 15 + 5 + 15 + 13 bits at most: the refill's 56 cover them */
		len = E_VALUE(e) + (uint32_t)(bits & ((1u << E_EXTRA(e)) - 1));
		TAKE(E_EXTRA(e));
		d = dtab[bits & ((1u << DIST_BITS) - 1)];
		if (E_KIND(d) == K_SUB) {
			TAKE(DIST_BITS);
			d = dtab[E_VALUE(d) + (bits & ((1u << E_EXTRA(d)) - 1))];
		}
		TAKE(E_LEN(d));
		if (E_KIND(d) != K_BASE) {
			SAVE();
			return fail(z, OVERRAN() ? "truncated" : "invalid distance code");
		}
		dist = E_VALUE(d) + (uint32_t)(bits & ((1u << E_EXTRA(d)) - 1));
		TAKE(E_EXTRA(d));
		if (OVERRAN())
			break;
		if (dist > (size_t)(op - base)) {
			rc = fail(z, "invalid distance too far back");
			break;
		}
		copy_match(op, dist, len);
		op += len;
	}
	SAVE();
	if (rc == 0 && OVERRAN())
		rc = fail(z, "truncated");
	return rc;
#undef SAVE
#undef LOAD
#undef TAKE
#undef OVERRAN
}

/* Decode until the output reaches lim or the stream ends. */
static int run(struct io_inflate *z, const uint8_t *lim)
{
	while (z->op < lim) {
		switch (z->state) {
		case S_HEADER: {
			uint32_t cmf, flg;
			refill(z);
			cmf = take(z, 8);
			flg = take(z, 8);
			if (overran(z))
				return fail(z, "truncated");
			if ((cmf & 15) != 8 || (cmf >> 4) > 7 || (cmf * 256 + flg) % 31 != 0)
				return fail(z, "incorrect header check");
			if (flg & 32)
				return fail(z, "a preset dictionary is not allowed");
			z->state = S_BLOCK;
			break;
		}
		case S_BLOCK:
			if (block_header(z) != 0)
				return -1;
			break;
		case S_STORED:
			if (stored(z, lim) != 0)
				return -1;
			break;
		case S_HUFF:
			if (huffman(z, lim) != 0)
				return -1;
			break;
		case S_END:
			return 0;
		default:
			return -1;
		}
	}
	return 0;
}

int io_inflate_get(struct io_inflate *z, size_t n, const uint8_t **out)
{
	while ((size_t)(z->op - z->cp) < n) {
		const uint8_t *lim = z->buf + z->cap - MAX_MATCH - OVERRUN;
		if (z->state == S_FAILED)
			return -1;
		if (z->state == S_END)
			return fail(z, "not enough image data");
		if (z->op > lim || (size_t)(lim - z->op) < n) {
			/* move the window and the pending bytes to the front */
			size_t hist = (size_t)(z->op - z->buf);
			uint8_t *from = z->op - (hist < WINDOW ? hist : WINDOW);
			if (from > z->cp)
				from = z->cp;
			memmove(z->buf, from, (size_t)(z->op - from));
			z->cp -= from - z->buf;
			z->op -= from - z->buf;
		}
		/* a failure after the bytes asked for is reported when it is reached */
		if (run(z, lim) != 0 && (size_t)(z->op - z->cp) < n)
			return -1;
	}
	*out = z->cp;
	z->cp += n;
	return 0;
}
