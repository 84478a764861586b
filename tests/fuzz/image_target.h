/*
 * image_target.h - the body of fuzz_png, fuzz_jpeg and fuzz_tiff: a file of
 * the target's format (by its magic; others are skipped, so each target's
 * corpus stays its own) is opened through the io layer, as tilepaint opens
 * an input, and every row read and binarised, as the mask pass does. Define
 * FUZZ_FORMAT before including it.
 */
#include "fuzz.h"
#include "src/io/raster.h"

#include <unistd.h>

/* A cap for the fuzzer's sake: the readers allow images up to 2^20 a side. */
#define FUZZ_MAX_PIXELS ((uint64_t)16 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct io_reader *r = NULL;
	const struct io_info *in;
	uint8_t *row = NULL, *bin = NULL;
	tp_status s;
	int fd;

	fuzz_outcome = FUZZ_SKIPPED;
	if (io_sniff(data, size) != FUZZ_FORMAT)
		return 0;
	if ((fd = fuzz_open_image(data, size, FUZZ_MAX_PIXELS, &r, &s)) < 0)
		return 0;
	if (s == TP_OK) {
		size_t rb;
		in = io_reader_info(r);
		rb = (size_t)in->width * in->channels * (in->bits / 8);
		row = tp_malloc(rb);
		bin = tp_malloc(in->width);
		if (!row || !bin)
			s = tp_err(TP_ENOMEM, "out of memory");
		for (uint32_t y = 0; s == TP_OK && y < in->height; y++)
			if ((s = io_reader_read_rows(r, row, rb, 1)) == TP_OK)
				io_row_to_binary(in, row, bin);
		(void)io_reader_meta(r);
	}
	tp_free(row);
	tp_free(bin);
	io_reader_close(r);
	close(fd);
	return fuzz_done(s);
}
