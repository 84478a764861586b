/*
 * fixture_io.c - whole images written and read through src/io for the unit
 * tests (see fixture_io.h). Linked only by tests that link src/io.
 */
#include <stdlib.h>

#include "fixture_io.h"

tp_status fx_write_image(const char *path, const struct io_info *in, const void *img,
			 const struct io_meta *meta, const struct io_write_opts *opts)
{
	struct io_writer *w = NULL;
	size_t rb = (size_t)in->width * in->channels * in->bits / 8;
	tp_status s = io_writer_open(path, in, meta, opts, &w);
	if (s)
		return s;
	s = io_writer_write_rows(w, img, rb, in->height / 2);
	if (!s)
		s = io_writer_write_rows(w, (const uint8_t *)img + rb * (in->height / 2), rb,
					 in->height - in->height / 2);
	if (!s)
		s = io_writer_finish(w);
	io_writer_close(w);
	return s;
}

void *fx_read_image(const char *path, struct io_info *info, tp_status *st)
{
	struct io_reader *r = NULL;
	uint8_t *img = NULL;
	size_t rb;
	*st = io_reader_open(path, &r);
	if (*st)
		return NULL;
	*info = *io_reader_info(r);
	rb = (size_t)info->width * info->channels * info->bits / 8;
	img = malloc(rb * info->height);
	for (uint32_t y = 0; y < info->height && !*st; y++)
		*st = io_reader_read_rows(r, img + rb * y, rb, 1);
	io_reader_close(r);
	if (*st) {
		free(img);
		return NULL;
	}
	return img;
}
