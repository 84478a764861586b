/*
 * fuzz_raster.c - replay driver: open each file given, read every row, and
 * exit 0 whatever happens. A crash, hang, sanitizer report or leak is the
 * only failure. Memory per file is capped by refusing images above 64 Mpixel
 * (the readers themselves allow more).
 */
#include "src/io/raster.h"

#include <stdio.h>

static void fuzz_one(const char *path)
{
	struct io_reader *r = NULL;
	const struct io_info *in;
	uint8_t *row = NULL;
	size_t rb;

	if (io_reader_open(path, &r) != TP_OK)
		return;
	in = io_reader_info(r);
	if ((uint64_t)in->width * in->height > ((uint64_t)64 << 20))
		goto out;
	rb = (size_t)in->width * in->channels * (in->bits / 8);
	row = tp_malloc(rb);
	if (!row)
		goto out;
	for (uint32_t y = 0; y < in->height; y++) {
		if (io_reader_read_rows(r, row, rb, 1) != TP_OK)
			break;
		uint8_t *bin = tp_malloc(in->width);
		if (bin)
			io_row_to_binary(in, row, bin);
		tp_free(bin);
	}
out:
	tp_free(row);
	io_reader_close(r);
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		fuzz_one(argv[i]);
	return 0;
}
