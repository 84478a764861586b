/*
 * fixture_io.h - test helpers that go through the project's io layer
 * (src/io): write a whole image buffer to PNG, TIFF or JPEG and read a whole
 * file back. Its object (fixture_io.o) is linked only into the unit tests
 * that link src/io.
 */
#ifndef TP_TEST_FIXTURE_IO_H
#define TP_TEST_FIXTURE_IO_H

#include "src/io/raster.h"

/* Write img ((height, width, channels) samples of in->bits, rows packed) to
 * path in in->format: the first half of the rows in one call, the rest in a
 * second (multi-row and single-row writes both exercised). Returns the
 * first failure; the writer is closed either way. */
tp_status fx_write_image(const char *path, const struct io_info *in, const void *img,
			 const struct io_meta *meta, const struct io_write_opts *opts);
/* Read a whole file: the pixels (malloc'd, rows packed) with *info filled
 * and *st = TP_OK, or NULL with *st the first failure. */
void *fx_read_image(const char *path, struct io_info *info, tp_status *st);

#endif
