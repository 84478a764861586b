/*
 * fuzz_inflate.c - libFuzzer target: src/io/inflate.c against zlib.
 *
 * Input: byte 0 chooses the piece size (the decoder's unit) and how the
 * pieces are asked for, byte 1 the size of the chunks the fill callback
 * hands out; the rest is a zlib stream. zlib (inflateValidate(&z, 0): the
 * Adler-32 is not checked, as ours does not check it) decodes it first, all
 * input at once, to Z_STREAM_END (N bytes) or until it fails or stops for
 * want of input (K bytes). Then ours decodes it, and the target aborts
 * unless:
 *  - every byte ours hands out equals zlib's at that offset;
 *  - exact pieces (byte 0 bit 4 clear): asked for pieces of the unit, the
 *    last one cut to what zlib produced, ours hands out exactly N (or K)
 *    bytes and then fails asking for one more, with "not enough image data"
 *    after Z_STREAM_END. The rule for a failed stream is the same as for a
 *    good one: ours stops at exactly K, the bytes zlib could decode (a
 *    stream cut anywhere, a corrupt code, a distance too far back: both
 *    decoders emit every symbol that is wholly in the input and valid, and
 *    nothing after it). One divergence: a stream whose deflate data is
 *    complete but whose 4-byte trailer is missing or cut is a failure for
 *    zlib (no Z_STREAM_END) and the end for ours (it never reads the
 *    trailer); both stop at the same byte, only the message differs;
 *  - fixed pieces (bit 4 set), as png.c asks for rows: ours hands out
 *    floor(N / unit) (or floor(K / unit)) whole pieces, then fails.
 * Outcome: accepted when zlib reached Z_STREAM_END, refused otherwise.
 */
#include "fuzz.h"
#include "src/io/inflate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* zlib's output is capped (a 4 KiB input can inflate to 4 MiB): past the
 * cap only the bytes up to it are compared. */
#define ZCAP ((size_t)64 << 20)

static const size_t units[16] = { 1, 2, 3, 5, 8, 13, 31, 64, 255, 258, 1000, 4097,
				  32768, 65535, 65536, 70001 };
static const size_t chunks[16] = { 1, 2, 3, 7, 8, 9, 15, 16, 31, 64, 100, 257,
				   1000, 4096, 65536, (size_t)-1 };

struct feed {
	const uint8_t *p;
	size_t left, chunk;
	int alt, turn;   /* alternate chunk and 1-byte handouts */
};

static size_t feed_fill(void *ctx, uint8_t *dst, size_t room)
{
	struct feed *f = ctx;
	size_t n = f->alt && (f->turn++ & 1) ? 1 : f->chunk;
	if (n > room)
		n = room;
	if (n > f->left)
		n = f->left;
	memcpy(dst, f->p, n);
	f->p += n;
	f->left -= n;
	return n;
}

static void die(const char *what, size_t at, size_t want, size_t got)
{
	fprintf(stderr, "fuzz_inflate: %s (at %zu: expected %zu, got %zu)\n", what, at, want,
		got);
	abort();
}

/* zlib's output: *end 1 for Z_STREAM_END, 0 when it failed or starved, -1
 * when the output reached the cap. NULL when out of memory. */
static uint8_t *zlib_inflate(const uint8_t *p, size_t n, size_t *len, int *end)
{
	z_stream z;
	size_t cap = 65536;
	uint8_t *out = malloc(cap);
	int ret;
	*len = 0;
	*end = 0;
	memset(&z, 0, sizeof z);
	if (!out || inflateInit(&z) != Z_OK) {
		free(out);
		return NULL;
	}
	(void)inflateValidate(&z, 0);
	z.next_in = (Bytef *)(uintptr_t)p;
	z.avail_in = (uInt)n;
	for (;;) {
		if (*len == cap) {
			uint8_t *o;
			if (cap >= ZCAP) {
				*end = -1;
				break;
			}
			if (!(o = realloc(out, cap * 2))) {
				free(out);
				inflateEnd(&z);
				return NULL;
			}
			out = o;
			cap *= 2;
		}
		z.next_out = out + *len;
		z.avail_out = (uInt)(cap - *len);
		ret = inflate(&z, Z_NO_FLUSH);
		*len = cap - z.avail_out;
		if (ret == Z_STREAM_END) {
			*end = 1;
			break;
		}
		if (ret != Z_OK)   /* Z_DATA_ERROR, Z_NEED_DICT, Z_BUF_ERROR (starved) */
			break;
	}
	inflateEnd(&z);
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct feed feed;
	struct io_inflate *z;
	const uint8_t *piece;
	uint8_t *ref;
	size_t unit, want, got = 0, reflen;
	int end, fixed, rc = 0;

	fuzz_outcome = FUZZ_SKIPPED;
	if (size < 2)
		return 0;
	unit = units[data[0] & 15];
	fixed = (data[0] >> 4) & 1;
	feed.chunk = chunks[data[1] & 15];
	feed.alt = (data[1] >> 4) & 1;
	feed.turn = 0;
	feed.p = data + 2;
	feed.left = size - 2;
	if (!(ref = zlib_inflate(data + 2, size - 2, &reflen, &end)))
		return 0;
	if (!(z = io_inflate_new(unit, feed_fill, &feed))) {
		free(ref);
		return 0;
	}
	for (;;) {
		want = unit;
		if (!fixed && end >= 0 && reflen - got < want)
			want = reflen - got ? reflen - got : 1;   /* then one more */
		if (end < 0 && got + want > reflen)
			break;   /* zlib stopped at its cap: compared so far */
		if ((rc = io_inflate_get(z, want, &piece)) != 0)
			break;
		if (got + want > reflen)
			die("ours hands out more than zlib", got, reflen, got + want);
		for (size_t i = 0; i < want; i++)
			if (piece[i] != ref[got + i])
				die("a byte differs from zlib's", got + i, ref[got + i], piece[i]);
		got += want;
	}
	if (rc != 0) {
		size_t expect = fixed ? reflen / unit * unit : reflen;
		if (got != expect)
			die("ours stops at a different byte", got, expect, got);
		if (!io_inflate_error(z)[0])
			die("a failure without a message", got, 0, 0);
		if (end == 1 && strcmp(io_inflate_error(z), "not enough image data") != 0) {
			fprintf(stderr, "fuzz_inflate: after Z_STREAM_END: %s\n",
				io_inflate_error(z));
			die("the end of the stream not reported as such", got, reflen, got);
		}
		if (io_inflate_get(z, want, &piece) == 0)
			die("a call after the failure succeeds", got, 0, want);
	}
	io_inflate_free(z);
	free(ref);
	return fuzz_done(end == 1 ? TP_OK : tp_err(TP_EFORMAT, "zlib: not a complete stream"));
}
