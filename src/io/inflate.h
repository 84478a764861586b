/*
 * inflate.h - private to src/io: a streaming zlib (RFC 1950/1951) decoder
 * for PNG's image data, handing out the inflated bytes in pieces of at most
 * `unit` bytes (a PNG row and its filter byte), read from a caller's input
 * callback. It exists for speed: zlib 1.2's inflate copies a match a byte
 * at a time, and a mask PNG is almost all long matches (a 40000^2 mask of
 * 2 MB inflates to 1.6 GB); this decoder fills runs with memset and copies
 * the rest 16 bytes at a time, with a 64-bit bit buffer and two-level
 * Huffman tables, as libdeflate does (whose API only decodes a whole
 * stream into one buffer, which a 1.6 GB mask must not need).
 * The Adler-32 check is not computed (PNG's chunk CRC-32 covers the same
 * bytes: the reader checks that), and nothing after the last byte asked for
 * is decoded.
 */
#ifndef IO_INFLATE_H
#define IO_INFLATE_H

#include <stddef.h>
#include <stdint.h>

struct io_inflate;

/* More input: up to `room` bytes into dst, returning how many; 0 means the
 * input has ended (or failed: the callback keeps its own reason). */
typedef size_t (*io_inflate_fill)(void *ctx, uint8_t *dst, size_t room);

/* A decoder for pieces of up to `unit` bytes; NULL when out of memory. */
struct io_inflate *io_inflate_new(size_t unit, io_inflate_fill fill, void *ctx);
void io_inflate_free(struct io_inflate *z);

/* The next n (<= unit) inflated bytes, at *out until the next call: 0, or
 * -1 when the stream is corrupt or ends first (io_inflate_error says why).
 * Bytes decoded before a failure are still handed out; every call that
 * needs a byte past it fails. */
int io_inflate_get(struct io_inflate *z, size_t n, const uint8_t **out);
const char *io_inflate_error(const struct io_inflate *z);

/* The bytes a decoder for pieces of `unit` bytes allocates. */
size_t io_inflate_mem(size_t unit);

#endif
