/*
 * png_bench.c - the PNG writer's deflate, level by level: size and time of
 * writing one image (decoded once, held in memory) through the io layer at
 * zlib levels 1..9 with the default, filtered and RLE strategies, on 1 and
 * N threads; against a reference in the same run, libpng's own writer at
 * level 6 (what tilepaint wrote before) and OpenCV's settings (level 1, RLE,
 * Sub filter on every row).
 *
 *   png_bench IMAGE TMPFILE THREADS RUNS [MAXLEVEL]
 *
 * Prints "name level strategy threads bytes ms" lines, best of RUNS.
 */
#include "src/io/raster.h"

#include "bench.h"

#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

/* CPU time of the process (all threads) when PNG_BENCH_CPU is set: what a
 * loaded machine disturbs least; else wall time. */
static double now_ms(void)
{
	return bench_ms(getenv("PNG_BENCH_CPU") ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC);
}

static uint8_t *img;
static struct io_info info;
static size_t rb;

static double ours(const char *tmp, int level, int strategy, uint32_t threads)
{
	struct io_write_opts o = { .png_level = level, .png_strategy = strategy + 1,
				   .threads = threads };
	struct io_info oi = info;
	struct io_writer *w;
	double t0 = now_ms();
	oi.format = IO_FORMAT_PNG;
	if (io_writer_open(tmp, &oi, NULL, &o, &w) ||
	    io_writer_write_rows(w, img, rb, info.height) || io_writer_finish(w)) {
		fprintf(stderr, "png_bench: %s\n", tp_errmsg());
		exit(1);
	}
	io_writer_close(w);
	return now_ms() - t0;
}

/* libpng's writer on one thread: filters, level, strategy as given */
static double libpng(const char *tmp, int level, int strategy, int filters)
{
	static const int types[] = { 0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA,
				     PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA };
	double t0 = now_ms();
	FILE *f = fopen(tmp, "wb");
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop pi = png_create_info_struct(png);
	if (!f || !png || !pi || setjmp(png_jmpbuf(png))) {
		fprintf(stderr, "png_bench: libpng failed\n");
		exit(1);
	}
	png_init_io(png, f);
	png_set_IHDR(png, pi, info.width, info.height, (int)info.bits, types[info.channels],
		     PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_set_compression_level(png, level);
	png_set_compression_strategy(png, strategy);
	if (filters)
		png_set_filter(png, PNG_FILTER_TYPE_BASE, filters);
	png_write_info(png, pi);
	if (info.bits == 16)
		png_set_swap(png);
	for (uint32_t y = 0; y < info.height; y++)
		png_write_row(png, img + (size_t)y * rb);
	png_write_end(png, NULL);
	png_destroy_write_struct(&png, &pi);
	fclose(f);
	return now_ms() - t0;
}

int main(int argc, char **argv)
{
	struct io_reader *r;
	const char *tmp;
	uint32_t threads;
	int runs;
	static const int strat[] = { Z_DEFAULT_STRATEGY, Z_FILTERED, Z_RLE };
	static const char *sname[] = { "default", "filtered", "rle" };
	int maxlevel = argc > 5 ? atoi(argv[5]) : 9;
	if (argc != 5 && argc != 6) {
		fprintf(stderr, "usage: png_bench IMAGE TMPFILE THREADS RUNS [MAXLEVEL]\n");
		return 2;
	}
	tmp = argv[2];
	threads = (uint32_t)atoi(argv[3]);
	runs = atoi(argv[4]);
	if (io_reader_open(argv[1], &r)) {
		fprintf(stderr, "png_bench: %s\n", tp_errmsg());
		return 1;
	}
	info = *io_reader_info(r);
	rb = (size_t)info.width * info.channels * (info.bits / 8);
	img = malloc(rb * info.height);
	if (!img || io_reader_read_rows(r, img, rb, info.height)) {
		fprintf(stderr, "png_bench: cannot read %s\n", argv[1]);
		return 1;
	}
	io_reader_close(r);
	printf("image %ux%u, %u channels, %u bits\n", info.width, info.height, info.channels,
	       info.bits);
	printf("%-8s %5s %9s %7s %12s %9s\n", "writer", "level", "strategy", "threads", "bytes", "ms");
#define BEST(expr, out) do { out = 1e30; for (int i_ = 0; i_ < runs; i_++) { \
		double t_ = (expr); if (t_ < out) out = t_; } } while (0)
	{
		double t;
		BEST(libpng(tmp, 6, Z_FILTERED, 0), t);
		printf("%-8s %5d %9s %7d %12ld %9.1f\n", "libpng", 6, "filtered", 1, bench_file_size(tmp), t);
		BEST(libpng(tmp, 1, Z_RLE, PNG_FILTER_SUB), t);
		printf("%-8s %5d %9s %7d %12ld %9.1f\n", "opencv", 1, "rle+sub", 1, bench_file_size(tmp), t);
	}
	for (int s = 0; s < 3; s++)
		for (int level = 1; level <= maxlevel; level++) {
			double t1, tn;
			long n1;
			BEST(ours(tmp, level, strat[s], 1), t1);
			n1 = bench_file_size(tmp);
			BEST(ours(tmp, level, strat[s], threads), tn);
			if (bench_file_size(tmp) != n1) {
				fprintf(stderr, "png_bench: size differs with threads\n");
				return 1;
			}
			printf("%-8s %5d %9s %7d %12ld %9.1f\n", "tilepaint", level, sname[s], 1, n1, t1);
			printf("%-8s %5d %9s %7u %12ld %9.1f\n", "tilepaint", level, sname[s], threads, n1, tn);
		}
	free(img);
	return 0;
}
