/*
 * fuzz.h - what every fuzz target shares. A target is one
 * LLVMFuzzerTestOneInput: built with clang -fsanitize=fuzzer it is a libFuzzer
 * binary (make fuzz); built with gcc it is linked with replay.c, whose main
 * feeds it files (the committed corpus, in make check).
 *
 * The readers take paths, so the input is handed over as an in-memory file
 * (memfd) named /proc/self/fd/N: nothing touches the disk.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include "src/util/tp.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * What the last input came to: FUZZ_SKIPPED (not this target's kind, e.g. a
 * JPEG given to the PNG target), FUZZ_REFUSED (a clean error: the status and
 * message are in fuzz_status and tp_errmsg()) or FUZZ_ACCEPTED (read to the
 * end). replay.c checks it against the file's name: corpus files named ok-*
 * must be accepted and bad-* refused.
 */
enum fuzz_outcome { FUZZ_SKIPPED, FUZZ_REFUSED, FUZZ_ACCEPTED };
extern enum fuzz_outcome fuzz_outcome;
extern tp_status fuzz_status;

/* The bytes as a sealed in-memory file: its descriptor (>= 0, path in
 * `path`) or -1. The caller closes it. */
int fuzz_memfile(const uint8_t *data, size_t size, char *path, size_t n);

struct io_reader;
/*
 * Open the bytes as tilepaint opens an input (io_reader_open, on a memfile),
 * refusing images over `max_pixels` and buffers over 256 MiB (libFuzzer's
 * rss limit is 2 GiB; the readers themselves allow far more). Returns the
 * memfile's descriptor, to close after io_reader_close, with the open's
 * status in *s and the reader in *r; or -1 when no memfile could be made.
 */
int fuzz_open_image(const uint8_t *data, size_t size, uint64_t max_pixels,
		    struct io_reader **r, tp_status *s);

/* Record a refusal (s != TP_OK) or acceptance; returns 0 for libFuzzer. */
int fuzz_done(tp_status s);

#endif
