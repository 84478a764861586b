/*
 * jpeg_bench.c - the time to write a JPEG output from decoded pixels: the
 * writer that keeps the input's coefficients outside the mask (io_write_opts
 * jpeg_keep) against whole re-encodes of the same pixels, in one process,
 * best of RUNS each.
 *
 *   jpeg_bench IN.jpg MASK OUTDIR RUNS QUALITY
 *
 * The input is decoded once (io_reader, as the pipeline does) and its masked
 * pixels changed (inverted), so the kept writer re-encodes exactly the MCUs
 * the mask touches. Timed, each from the decoded rows to a closed, fsynced
 * file in OUTDIR:
 *   keep       io_writer_open with jpeg_keep = IN, every row with its changed
 *              map, io_writer_finish (what `tilepaint run` does by default)
 *   full_tp    io_writer_open with jpeg_quality = QUALITY, every row, finish
 *              (what --jpeg-quality QUALITY does: 4:4:4 at 90 and above)
 *   full_same  libjpeg directly with the input's own quantisation tables and
 *              subsampling (jpeg_copy_critical_parameters), standard Huffman
 *              tables: the cheapest whole re-encode at the input's quality
 *   decode     io_reader_open and every row (the pipeline's read of the input)
 *   lent       as the pipeline runs: a reader of IN and the keep writer given
 *              it (jpeg_keep_reader), each row read then written; the reader's
 *              calls (lent_decode, decoding through the coefficients it lends)
 *              and the writer's (lent_write) timed apart
 * Prints one key=value line per measure (milliseconds, bytes written).
 */
#include "src/io/raster.h"

#include <jpeglib.h>
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	return bench_ms(CLOCK_MONOTONIC);
}

static void die(const char *what)
{
	fprintf(stderr, "jpeg_bench: %s: %s\n", what, tp_errmsg());
	exit(2);
}

/* Every row of path into a new buffer (width x height x channels). */
static uint8_t *decode(const char *path, struct io_info *info)
{
	struct io_reader *r;
	uint8_t *pix;
	if (io_reader_open(path, &r) != TP_OK)
		die(path);
	*info = *io_reader_info(r);
	pix = malloc((size_t)info->width * info->height * info->channels);
	if (!pix || io_reader_read_rows(r, pix, (size_t)info->width * info->channels,
					info->height) != TP_OK)
		die(path);
	io_reader_close(r);
	return pix;
}

static double time_writer(const char *out, const struct io_info *info, const uint8_t *pix,
			  const uint8_t *changed, const struct io_write_opts *wo)
{
	struct io_writer *w;
	size_t stride = (size_t)info->width * info->channels;
	double t0 = now_ms();
	if (io_writer_open(out, info, NULL, wo, &w) != TP_OK)
		die(out);
	if (changed) {
		if (io_writer_write_rows_changed(w, pix, stride, info->height, changed,
						 info->width) != TP_OK)
			die(out);
	} else if (io_writer_write_rows(w, pix, stride, info->height) != TP_OK) {
		die(out);
	}
	if (io_writer_finish(w) != TP_OK)
		die(out);
	t0 = now_ms() - t0;
	io_writer_close(w);
	return t0;
}

/* A whole encode with the input's own tables and sampling, to out. */
static double time_same(const char *in, const char *out, const struct io_info *info,
			const uint8_t *pix)
{
	struct jpeg_decompress_struct d;
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr e1, e2;
	FILE *fi = fopen(in, "rb"), *fo;
	double t0;
	d.err = jpeg_std_error(&e1);
	jpeg_create_decompress(&d);
	jpeg_stdio_src(&d, fi);
	jpeg_read_header(&d, TRUE);
	t0 = now_ms();
	if (!(fo = fopen(out, "wb")))
		exit(2);
	c.err = jpeg_std_error(&e2);
	jpeg_create_compress(&c);
	jpeg_stdio_dest(&c, fo);
	c.image_width = info->width;
	c.image_height = info->height;
	c.input_components = (int)info->channels;
	c.in_color_space = info->channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
	jpeg_copy_critical_parameters(&d, &c);
	c.in_color_space = info->channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
	c.input_components = (int)info->channels;
	jpeg_start_compress(&c, TRUE);
	while (c.next_scanline < c.image_height) {
		JSAMPROW row = (JSAMPROW)pix + (size_t)c.next_scanline * info->width * info->channels;
		jpeg_write_scanlines(&c, &row, 1);
	}
	jpeg_finish_compress(&c);
	if (fflush(fo) || fsync(fileno(fo)) || fclose(fo))
		exit(2);
	t0 = now_ms() - t0;
	jpeg_destroy_compress(&c);
	jpeg_destroy_decompress(&d);
	fclose(fi);
	return t0;
}

/* The pipeline's way: read a row, write it, the writer borrowing the reader's coefficients. */
static void time_lent(const char *in, const char *out, const struct io_info *info,
		      const uint8_t *pix, const uint8_t *changed, double *dec, double *wr)
{
	struct io_reader *r;
	struct io_writer *w;
	size_t stride = (size_t)info->width * info->channels;
	uint8_t *row = malloc(stride);
	double t0 = now_ms();
	if (!row || io_reader_open(in, &r) != TP_OK)
		die(in);
	*dec = now_ms() - t0;
	t0 = now_ms();
	struct io_write_opts wo = { .jpeg_keep = in, .jpeg_keep_reader = r };
	if (io_writer_open(out, info, NULL, &wo, &w) != TP_OK)
		die(out);
	*wr = now_ms() - t0;
	for (uint32_t y = 0; y < info->height; y++) {
		t0 = now_ms();
		if (io_reader_read_rows(r, row, stride, 1) != TP_OK)
			die(in);
		*dec += now_ms() - t0;
		t0 = now_ms();
		if (io_writer_write_rows_changed(w, pix + y * stride, stride, 1,
						 changed + (size_t)y * info->width, info->width) != TP_OK)
			die(out);
		*wr += now_ms() - t0;
	}
	t0 = now_ms();
	if (io_writer_finish(w) != TP_OK)
		die(out);
	*wr += now_ms() - t0;
	io_writer_close(w);
	io_reader_close(r);
	free(row);
}

int main(int argc, char **argv)
{
	struct io_info info, mi;
	uint8_t *pix, *mask, *changed;
	char out_keep[4096], out_tp[4096], out_same[4096];
	double best[6] = { 1e30, 1e30, 1e30, 1e30, 1e30, 1e30 };
	char out_lent[4096];
	int runs;
	if (argc != 6) {
		fprintf(stderr, "usage: jpeg_bench IN.jpg MASK OUTDIR RUNS QUALITY\n");
		return 2;
	}
	runs = atoi(argv[4]);
	snprintf(out_keep, sizeof out_keep, "%s/keep.jpg", argv[3]);
	snprintf(out_tp, sizeof out_tp, "%s/full_tp.jpg", argv[3]);
	snprintf(out_same, sizeof out_same, "%s/full_same.jpg", argv[3]);
	snprintf(out_lent, sizeof out_lent, "%s/lent.jpg", argv[3]);
	pix = decode(argv[1], &info);
	mask = decode(argv[2], &mi);
	if (mi.width != info.width || mi.height != info.height || info.format != IO_FORMAT_JPEG) {
		fprintf(stderr, "jpeg_bench: %s is not a JPEG of the mask's size\n", argv[1]);
		return 2;
	}
	changed = calloc((size_t)info.width * info.height, 1);
	if (!changed)
		return 2;
	for (size_t i = 0; i < (size_t)info.width * info.height; i++) {
		int on = 0;
		for (uint32_t ch = 0; ch < mi.channels; ch++)
			on |= mask[i * mi.channels + ch] != 0;
		changed[i] = (uint8_t)on;
		for (uint32_t ch = 0; on && ch < info.channels; ch++)
			pix[i * info.channels + ch] = (uint8_t)(255 - pix[i * info.channels + ch]);
	}
	for (int i = 0; i < runs; i++) {
		struct io_write_opts keep = { .jpeg_keep = argv[1] };
		struct io_write_opts full = { .jpeg_quality = atoi(argv[5]) };
		double t[6];
		struct io_info di;
		t[0] = time_writer(out_keep, &info, pix, changed, &keep);
		t[1] = time_writer(out_tp, &info, pix, NULL, &full);
		t[2] = time_same(argv[1], out_same, &info, pix);
		t[3] = now_ms();
		free(decode(argv[1], &di));
		t[3] = now_ms() - t[3];
		time_lent(argv[1], out_lent, &info, pix, changed, &t[4], &t[5]);
		for (int k = 0; k < 6; k++)
			if (t[k] < best[k])
				best[k] = t[k];
	}
	printf("keep_ms=%.1f keep_bytes=%ld\n", best[0], bench_file_size(out_keep));
	printf("full_tp_ms=%.1f full_tp_bytes=%ld\n", best[1], bench_file_size(out_tp));
	printf("full_same_ms=%.1f full_same_bytes=%ld\n", best[2], bench_file_size(out_same));
	printf("decode_ms=%.1f\n", best[3]);
	printf("lent_decode_ms=%.1f lent_write_ms=%.1f lent_bytes=%ld\n", best[4], best[5],
	       bench_file_size(out_lent));
	free(pix);
	free(mask);
	free(changed);
	return 0;
}
