/*
 * fuzz_mask.c - libFuzzer target: a mask as the mask pass reads it. Any
 * format; rows binarised, grown by a disk (radius 0..4, from the last byte,
 * so the fuzzer reaches every path), and counted into a tile plan, whose
 * per-tile counts are then checked to add up to the masked pixels seen.
 */
#include "fuzz.h"
#include "src/io/raster.h"
#include "tiler/tiler.h"

#include <stdlib.h>
#include <unistd.h>

#define FUZZ_MAX_PIXELS ((uint64_t)4 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct io_reader *r = NULL;
	struct tiler_dilate *dil = NULL;
	struct tiler_plan *plan = NULL;
	const struct io_info *in;
	uint8_t *row = NULL, *bin = NULL, *eff = NULL;
	uint64_t seen = 0, counted = 0;
	uint32_t radius, popped = 0;
	tp_status s;
	int fd;

	fuzz_outcome = FUZZ_SKIPPED;
	if (size < 2 || io_sniff(data, size) == IO_FORMAT_UNKNOWN)
		return 0;
	radius = data[size - 1] % 5;
	if ((fd = fuzz_open_image(data, size, FUZZ_MAX_PIXELS, &r, &s)) < 0)
		return 0;
	if (s == TP_OK) {
		struct tiler_plan_params pp;
		size_t rb;
		in = io_reader_info(r);
		pp = (struct tiler_plan_params){ in->width, in->height, 64, 16, 8 };
		rb = (size_t)in->width * in->channels * (in->bits / 8);
		row = tp_malloc(rb);
		bin = tp_malloc(in->width);
		eff = tp_malloc(in->width);
		if (!row || !bin || !eff)
			s = tp_err(TP_ENOMEM, "out of memory");
		if (s == TP_OK)
			s = tiler_plan_new(&pp, &plan);
		if (s == TP_OK && radius)
			s = tiler_dilate_new(in->width, in->height, radius, &dil);
		for (uint32_t y = 0; s == TP_OK && y < in->height; y++) {
			if ((s = io_reader_read_rows(r, row, rb, 1)) != TP_OK)
				break;
			io_row_to_binary(in, row, bin);
			if (!dil) {
				seen += tp_count_nonzero(bin, in->width);
				tiler_plan_count_row(plan, y, bin);
				continue;
			}
			if ((s = tiler_dilate_push(dil, bin)) != TP_OK)
				break;
			while (tiler_dilate_pop(dil, eff)) {
				seen += tp_count_nonzero(eff, in->width);
				tiler_plan_count_row(plan, popped++, eff);
			}
		}
		if (s == TP_OK && dil && popped != in->height)
			abort();   /* the dilation lost or invented rows */
		/* every masked pixel lies in at least one tile */
		for (size_t i = 0; s == TP_OK && i < plan->ntiles; i++)
			counted += plan->tiles[i].masked;
		if (s == TP_OK && (counted < seen || (seen == 0) != (tiler_plan_active(plan) == 0)))
			abort();
	}
	tiler_dilate_free(dil);
	tiler_plan_free(plan);
	tp_free(row);
	tp_free(bin);
	tp_free(eff);
	io_reader_close(r);
	close(fd);
	return fuzz_done(s);
}
