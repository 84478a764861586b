/*
 * test_io.c - unit tests of src/io: exact round trips per format, bit depth
 * and layout; foreign-written files (tiled, planar, palette, interlaced,
 * EXIF-rotated); metadata carry-over; corrupt input; writer abort; OOM loop.
 * Every file lives in the fixture's temporary directory, removed at the end.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <jpeglib.h>
#include <png.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <tiffio.h>
#include <unistd.h>
#include <zlib.h>

#include "src/io/raster.h"
#include "src/io/inflate.h"
#include "fixture.h"
#include "fixture_io.h"

static int file_exists(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0;
}

/* Deterministic test pattern covering the whole sample range. */
static uint32_t pattern(uint32_t x, uint32_t y, uint32_t k, uint32_t bits)
{
	uint32_t v = x * 7 + y * 13 + k * 61 + x * y * 3;
	return bits == 16 ? (v * 2053 + k * 40961) & 0xffff : v & 0xff;
}

/* Smooth pattern that survives JPEG with a small error. */
static uint32_t smooth(uint32_t x, uint32_t y, uint32_t k)
{
	return x * 2 + y + k * 40 + 10;
}

static void *make_image(const struct io_info *in, int smooth_pat)
{
	size_t rb = (size_t)in->width * in->channels * in->bits / 8;
	uint8_t *img = malloc(rb * in->height);
	for (uint32_t y = 0; y < in->height; y++)
		for (uint32_t x = 0; x < in->width; x++)
			for (uint32_t k = 0; k < in->channels; k++) {
				size_t i = ((size_t)y * in->width + x) * in->channels + k;
				uint32_t v = smooth_pat ? smooth(x, y, k) : pattern(x, y, k, in->bits);
				fx_sample_set(img, in->bits, i, v);
			}
	return img;
}

static void roundtrip(enum io_format fmt, uint32_t bits, uint32_t ch, int comp, int level)
{
	struct io_info in = { 37, 23, ch, bits, ch == 2 || ch == 4, fmt, 0, IO_SAMPLE_UINT }, out;
	struct io_write_opts o = { .tiff_compression = comp, .png_level = level };
	const char *p = fx_path(fmt == IO_FORMAT_PNG ? "rt.png" : "rt.tif");
	void *img = make_image(&in, 0), *back;
	tp_status s = fx_write_image(p, &in, img, NULL, &o);
	assert_int_equal(s, TP_OK);
	back = fx_read_image(p, &out, &s);
	assert_int_equal(s, TP_OK);
	assert_int_equal(out.width, in.width);
	assert_int_equal(out.height, in.height);
	assert_int_equal(out.channels, ch);
	assert_int_equal(out.bits, bits);
	assert_int_equal(out.alpha, in.alpha);
	assert_int_equal(out.format, fmt);
	assert_int_equal(out.buffered, 0);
	assert_memory_equal(back, img, (size_t)in.width * in.height * ch * bits / 8);
	free(img);
	free(back);
	unlink(p);
}

static void test_io_png_roundtrip(void **state)
{
	(void)state;
	for (uint32_t bits = 8; bits <= 16; bits += 8)
		for (uint32_t ch = 1; ch <= 4; ch++)
			roundtrip(IO_FORMAT_PNG, bits, ch, 0, -1);
	roundtrip(IO_FORMAT_PNG, 8, 3, 0, 0);
	roundtrip(IO_FORMAT_PNG, 16, 4, 0, 9);
}

static void test_io_tiff_roundtrip(void **state)
{
	static const int comps[] = { COMPRESSION_NONE, COMPRESSION_LZW, COMPRESSION_ADOBE_DEFLATE,
				     COMPRESSION_PACKBITS, 0 };
	(void)state;
	for (size_t c = 0; c < sizeof comps / sizeof comps[0]; c++)
		for (uint32_t bits = 8; bits <= 16; bits += 8)
			for (uint32_t ch = 1; ch <= 4; ch++)
				roundtrip(IO_FORMAT_TIFF, bits, ch, comps[c], -1);
}

/* Decode a JPEG with libjpeg directly (reference for exactness). */
static uint8_t *jpeg_decode_direct(const char *path, uint32_t *w, uint32_t *h, uint32_t *ch)
{
	struct jpeg_decompress_struct d;
	struct jpeg_error_mgr em;
	FILE *f = fopen(path, "rb");
	uint8_t *img;
	d.err = jpeg_std_error(&em);
	jpeg_create_decompress(&d);
	jpeg_stdio_src(&d, f);
	jpeg_read_header(&d, TRUE);
	d.out_color_space = d.num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
	jpeg_start_decompress(&d);
	*w = d.output_width;
	*h = d.output_height;
	*ch = (uint32_t)d.output_components;
	img = malloc((size_t)*w * *h * *ch);
	while (d.output_scanline < d.output_height) {
		JSAMPROW row = img + (size_t)d.output_scanline * *w * *ch;
		jpeg_read_scanlines(&d, &row, 1);
	}
	jpeg_finish_decompress(&d);
	jpeg_destroy_decompress(&d);
	fclose(f);
	return img;
}

static void test_io_jpeg_roundtrip(void **state)
{
	(void)state;
	for (uint32_t ch = 1; ch <= 3; ch += 2) {
		struct io_info in = { 40, 24, ch, 8, 0, IO_FORMAT_JPEG, 0, IO_SAMPLE_UINT }, out;
		const char *p = fx_path("rt.jpg");
		uint8_t *img = make_image(&in, 1), *back, *ref;
		uint32_t w, h, c;
		tp_status s = fx_write_image(p, &in, img, NULL, NULL);
		assert_int_equal(s, TP_OK);
		back = fx_read_image(p, &out, &s);
		assert_int_equal(s, TP_OK);
		assert_int_equal(out.width, 40);
		assert_int_equal(out.height, 24);
		assert_int_equal(out.channels, ch);
		assert_true(fx_max_abs_diff_u8(back, img, (size_t)40 * 24 * ch) <= 6);
		ref = jpeg_decode_direct(p, &w, &h, &c);
		assert_int_equal(w * h * c, 40 * 24 * ch);
		assert_memory_equal(ref, back, (size_t)40 * 24 * ch);
		free(img);
		free(back);
		free(ref);
	}
}

static void test_io_jpeg_rejects_alpha_and_16(void **state)
{
	struct io_info a = { 8, 8, 4, 8, 1, IO_FORMAT_JPEG, 0, IO_SAMPLE_UINT };
	struct io_info b = { 8, 8, 3, 16, 0, IO_FORMAT_JPEG, 0, IO_SAMPLE_UINT };
	struct io_writer *w = NULL;
	(void)state;
	assert_int_equal(io_writer_open(fx_path("a.jpg"), &a, NULL, NULL, &w), TP_EUSAGE);
	assert_null(w);
	assert_int_equal(io_writer_open(fx_path("b.jpg"), &b, NULL, NULL, &w), TP_EUSAGE);
	assert_non_null(strstr(tp_errmsg(), "b.jpg"));
	assert_false(file_exists(fx_path("a.jpg")));
}

static void test_io_tiff_jpeg(void **state)
{
	(void)state;
	for (uint32_t ch = 1; ch <= 3; ch += 2) {
		struct io_info in = { 40, 40, ch, 8, 0, IO_FORMAT_TIFF, 0, IO_SAMPLE_UINT }, out;
		struct io_write_opts o = { .jpeg_quality = 95, .tiff_compression = COMPRESSION_JPEG, .png_level = -1 };
		const char *p = fx_path("j.tif");
		uint8_t *img = make_image(&in, 1), *back;
		struct io_reader *r;
		tp_status s = fx_write_image(p, &in, img, NULL, &o);
		assert_int_equal(s, TP_OK);
		assert_int_equal(io_reader_open(p, &r), TP_OK);
		assert_int_equal(io_reader_compression(r), COMPRESSION_JPEG);
		io_reader_close(r);
		back = fx_read_image(p, &out, &s);
		assert_int_equal(s, TP_OK);
		assert_int_equal(out.channels, ch);
		assert_true(fx_max_abs_diff_u8(back, img, (size_t)40 * 40 * ch) <= 12);
		free(img);
		free(back);
	}
	{
		/* JPEG cannot hold 16 bits: the writer falls back to deflate, losslessly */
		struct io_info in = { 9, 7, 3, 16, 0, IO_FORMAT_TIFF, 0, IO_SAMPLE_UINT }, out;
		struct io_write_opts o = { .tiff_compression = COMPRESSION_JPEG, .png_level = -1 };
		uint8_t *img = make_image(&in, 0), *back;
		struct io_reader *r;
		tp_status s = fx_write_image(fx_path("j16.tif"), &in, img, NULL, &o);
		assert_int_equal(s, TP_OK);
		assert_int_equal(io_reader_open(fx_path("j16.tif"), &r), TP_OK);
		assert_int_equal(io_reader_compression(r), COMPRESSION_ADOBE_DEFLATE);
		io_reader_close(r);
		back = fx_read_image(fx_path("j16.tif"), &out, &s);
		assert_int_equal(s, TP_OK);
		assert_memory_equal(back, img, (size_t)9 * 7 * 3 * 2);
		free(img);
		free(back);
	}
}

/* Byte order of TIFFs written by write_tiff_direct (1: big-endian "MM"). */
static int tiff_big_endian;

/* Write a TIFF with libtiff directly: tiled or stripped, contig or separate. */
static void write_tiff_direct(const char *p, uint32_t w, uint32_t h, uint16_t spp, uint16_t bps,
			      int tiled, int separate, uint16_t comp, uint16_t photometric)
{
	TIFF *t = TIFFOpen(p, tiff_big_endian ? "wb" : "wl");
	struct io_info in = { w, h, spp, bps, 0, IO_FORMAT_TIFF, 0, IO_SAMPLE_UINT };
	uint8_t *img = make_image(&in, 0);
	size_t bytes = bps / 8;
	assert_non_null(t);
	TIFFSetField(t, TIFFTAG_IMAGEWIDTH, w);
	TIFFSetField(t, TIFFTAG_IMAGELENGTH, h);
	TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, spp);
	TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, bps);
	TIFFSetField(t, TIFFTAG_PHOTOMETRIC, photometric);
	TIFFSetField(t, TIFFTAG_COMPRESSION, comp);
	TIFFSetField(t, TIFFTAG_PLANARCONFIG, separate ? PLANARCONFIG_SEPARATE : PLANARCONFIG_CONTIG);
	if (spp == 2 || spp == 4) {
		uint16_t es = EXTRASAMPLE_ASSOCALPHA;
		TIFFSetField(t, TIFFTAG_EXTRASAMPLES, 1, &es);
	}
	if (tiled) {
		uint32_t tw = 16, th = 16;
		uint32_t np = separate ? spp : 1, cs = separate ? 1 : spp;
		size_t tsz = (size_t)tw * th * cs * bytes;
		uint8_t *tile = malloc(tsz);
		TIFFSetField(t, TIFFTAG_TILEWIDTH, tw);
		TIFFSetField(t, TIFFTAG_TILELENGTH, th);
		for (uint32_t p0 = 0; p0 < np; p0++)
			for (uint32_t ty = 0; ty < h; ty += th)
				for (uint32_t tx = 0; tx < w; tx += tw) {
					memset(tile, 0, tsz);
					for (uint32_t y = ty; y < ty + th && y < h; y++)
						for (uint32_t x = tx; x < tx + tw && x < w; x++)
							for (uint32_t k = 0; k < cs; k++) {
								size_t si = (((size_t)y * w + x) * spp + (separate ? p0 : k)) * bytes;
								size_t di = (((size_t)(y - ty) * tw + (x - tx)) * cs + k) * bytes;
								memcpy(tile + di, img + si, bytes);
							}
					assert_true(TIFFWriteTile(t, tile, tx, ty, 0, (uint16_t)p0) > 0);
				}
		free(tile);
	} else {
		uint8_t *row = malloc((size_t)w * spp * bytes);
		TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 5);
		if (separate) {
			for (uint16_t p0 = 0; p0 < spp; p0++)
				for (uint32_t y = 0; y < h; y++) {
					for (uint32_t x = 0; x < w; x++)
						memcpy(row + x * bytes, img + (((size_t)y * w + x) * spp + p0) * bytes, bytes);
					assert_true(TIFFWriteScanline(t, row, y, p0) >= 0);
				}
		} else {
			for (uint32_t y = 0; y < h; y++) {
				memcpy(row, img + (size_t)y * w * spp * bytes, (size_t)w * spp * bytes);
				assert_true(TIFFWriteScanline(t, row, y, 0) >= 0);
			}
		}
		free(row);
	}
	TIFFClose(t);
	free(img);
}

static void check_direct_tiff(uint32_t w, uint32_t h, uint16_t spp, uint16_t bps, int tiled,
			      int separate, uint16_t comp)
{
	const char *p = fx_path("direct.tif");
	struct io_info in = { w, h, spp, bps, 0, IO_FORMAT_TIFF, 0, IO_SAMPLE_UINT }, out;
	uint8_t *img, *back;
	tp_status s;
	write_tiff_direct(p, w, h, spp, bps, tiled, separate, comp,
			  spp >= 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK);
	img = make_image(&in, 0);
	back = fx_read_image(p, &out, &s);
	assert_int_equal(s, TP_OK);
	assert_int_equal(out.channels, spp);
	assert_int_equal(out.bits, bps);
	assert_int_equal(out.alpha, spp == 2 || spp == 4);
	assert_int_equal(out.buffered, 0);
	assert_memory_equal(back, img, (size_t)w * h * spp * bps / 8);
	free(img);
	free(back);
	unlink(p);
}

static void test_io_tiff_tiled(void **state)
{
	(void)state;
	check_direct_tiff(50, 37, 3, 8, 1, 0, COMPRESSION_ADOBE_DEFLATE);
	check_direct_tiff(50, 37, 1, 16, 1, 0, COMPRESSION_LZW);
	check_direct_tiff(33, 17, 4, 16, 1, 0, COMPRESSION_NONE);
	check_direct_tiff(50, 37, 2, 8, 1, 0, COMPRESSION_PACKBITS);
}

static void test_io_tiff_separate(void **state)
{
	(void)state;
	check_direct_tiff(41, 23, 3, 8, 0, 1, COMPRESSION_NONE);
	check_direct_tiff(41, 23, 4, 16, 0, 1, COMPRESSION_ADOBE_DEFLATE);
	check_direct_tiff(41, 23, 3, 8, 1, 1, COMPRESSION_LZW);
	check_direct_tiff(41, 23, 2, 16, 1, 1, COMPRESSION_PACKBITS);
	/* big-endian files: 16-bit samples still arrive in native order */
	tiff_big_endian = 1;
	check_direct_tiff(41, 23, 4, 16, 0, 1, COMPRESSION_LZW);
	check_direct_tiff(41, 23, 1, 16, 1, 0, COMPRESSION_NONE);
	check_direct_tiff(41, 23, 3, 16, 0, 0, COMPRESSION_ADOBE_DEFLATE);
	tiff_big_endian = 0;
}

static void test_io_tiff_miniswhite_palette_bilevel(void **state)
{
	const char *p = fx_path("mw.tif");
	struct io_info out;
	uint8_t *back;
	tp_status s;
	TIFF *t;
	uint16_t r[16], g[16], b[16];
	uint8_t row[4];
	(void)state;

	/* min-is-white 8-bit: delivered inverted */
	write_tiff_direct(p, 9, 4, 1, 8, 0, 0, COMPRESSION_NONE, PHOTOMETRIC_MINISWHITE);
	back = fx_read_image(p, &out, &s);
	assert_int_equal(s, TP_OK);
	assert_int_equal(back[9 * 2 + 5], 255 - pattern(5, 2, 0, 8));
	free(back);

	/* 4-bit palette, 8 pixels wide */
	t = TIFFOpen(p, "w");
	TIFFSetField(t, TIFFTAG_IMAGEWIDTH, 8);
	TIFFSetField(t, TIFFTAG_IMAGELENGTH, 1);
	TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
	TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 4);
	TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_PALETTE);
	for (int i = 0; i < 16; i++) {
		r[i] = (uint16_t)(i * 4096);
		g[i] = (uint16_t)(65535 - i * 4096);
		b[i] = 0x1234;
	}
	TIFFSetField(t, TIFFTAG_COLORMAP, r, g, b);
	row[0] = 0x01; row[1] = 0x23; row[2] = 0x45; row[3] = 0xef;
	TIFFWriteScanline(t, row, 0, 0);
	TIFFClose(t);
	back = fx_read_image(p, &out, &s);
	assert_int_equal(s, TP_OK);
	assert_int_equal(out.channels, 3);
	assert_int_equal(out.bits, 8);
	assert_int_equal(back[0], 0);                 /* index 0 */
	assert_int_equal(back[3 * 3 + 0], 3 * 16);    /* index 3: 12288 >> 8 */
	assert_int_equal(back[7 * 3 + 0], 15 * 16);   /* index 15 */
	assert_int_equal(back[7 * 3 + 1], (65535 - 15 * 4096) >> 8);
	assert_int_equal(back[7 * 3 + 2], 0x12);
	free(back);

	/* 1-bit min-is-black expands to 0/255 */
	t = TIFFOpen(p, "w");
	TIFFSetField(t, TIFFTAG_IMAGEWIDTH, 10);
	TIFFSetField(t, TIFFTAG_IMAGELENGTH, 1);
	TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
	TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 1);
	TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
	row[0] = 0xa5; row[1] = 0x80;
	TIFFWriteScanline(t, row, 0, 0);
	TIFFClose(t);
	back = fx_read_image(p, &out, &s);
	assert_int_equal(s, TP_OK);
	{
		static const uint8_t want[10] = { 255, 0, 255, 0, 0, 255, 0, 255, 255, 0 };
		assert_memory_equal(back, want, 10);
	}
	free(back);
	unlink(p);
}

/* The filter write_png_direct asks libpng for (PNG_FILTER_*), or its default. */
static int png_direct_filter = -1;

/* Write a PNG with libpng directly. */
static void write_png_direct(const char *p, uint32_t w, uint32_t h, int color, int depth,
			     int interlace, const uint8_t *data, const png_color *pal, int npal,
			     const uint8_t *trns, int ntrns)
{
	FILE *f = fopen(p, "wb");
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info = png_create_info_struct(png);
	size_t rb;
	png_bytep *rows = malloc(h * sizeof *rows);
	png_init_io(png, f);
	png_set_IHDR(png, info, w, h, depth, color, interlace, PNG_COMPRESSION_TYPE_DEFAULT,
		     PNG_FILTER_TYPE_DEFAULT);
	if (png_direct_filter >= 0)
		png_set_filter(png, 0, png_direct_filter);
	if (pal)
		png_set_PLTE(png, info, pal, npal);
	if (trns)
		png_set_tRNS(png, info, trns, ntrns, NULL);
	png_write_info(png, info);
	if (depth == 16)
		png_set_swap(png);
	rb = png_get_rowbytes(png, info);
	for (uint32_t y = 0; y < h; y++)
		rows[y] = (png_bytep)data + rb * y;
	png_write_image(png, rows);
	png_write_end(png, NULL);
	png_destroy_write_struct(&png, &info);
	fclose(f);
	free(rows);
}

static void test_io_png_interlaced(void **state)
{
	struct io_info in = { 29, 19, 3, 16, 0, IO_FORMAT_PNG, 0, IO_SAMPLE_UINT }, out;
	const char *p = fx_path("il.png");
	uint8_t *img = make_image(&in, 0), *back;
	tp_status s;
	(void)state;
	write_png_direct(p, 29, 19, PNG_COLOR_TYPE_RGB, 16, PNG_INTERLACE_ADAM7, img, NULL, 0,
			 NULL, 0);
	back = fx_read_image(p, &out, &s);
	assert_int_equal(s, TP_OK);
	assert_int_equal(out.buffered, 1);
	assert_int_equal(out.bits, 16);
	assert_memory_equal(back, img, (size_t)29 * 19 * 3 * 2);
	free(img);
	free(back);
}

static void test_io_png_palette_and_low_gray(void **state)
{
	const char *p = fx_path("pal.png");
	png_color pal[4] = { { 10, 20, 30 }, { 40, 50, 60 }, { 70, 80, 90 }, { 255, 0, 1 } };
	uint8_t trns[2] = { 0, 128 };
	uint8_t data[2] = { 0x1b, 0xe4 }; /* 2-bit indices: 0 1 2 3 | 3 2 1 0 */
	struct io_info out;
	uint8_t *back;
	tp_status s;
	(void)state;

	write_png_direct(p, 4, 2, PNG_COLOR_TYPE_PALETTE, 2, PNG_INTERLACE_NONE, data, pal, 4,
			 NULL, 0);
	back = fx_read_image(p, &out, &s);
	assert_int_equal(s, TP_OK);
	assert_int_equal(out.channels, 3);
	assert_int_equal(out.alpha, 0);
	{
		static const uint8_t want[24] = { 10, 20, 30, 40, 50, 60, 70, 80, 90, 255, 0, 1,
						  255, 0, 1, 70, 80, 90, 40, 50, 60, 10, 20, 30 };
		assert_memory_equal(back, want, 24);
	}
	free(back);

	write_png_direct(p, 4, 2, PNG_COLOR_TYPE_PALETTE, 2, PNG_INTERLACE_NONE, data, pal, 4,
			 trns, 2);
	back = fx_read_image(p, &out, &s);
	assert_int_equal(s, TP_OK);
	assert_int_equal(out.channels, 4);
	assert_int_equal(out.alpha, 1);
	{
		static const uint8_t want[16] = { 10, 20, 30, 0, 40, 50, 60, 128, 70, 80, 90, 255,
						  255, 0, 1, 255 };
		assert_memory_equal(back, want, 16);
	}
	free(back);

	/* 4-bit gray is scaled to 8 bits (x17) */
	data[0] = 0x0f;
	data[1] = 0x5a;
	write_png_direct(p, 2, 2, PNG_COLOR_TYPE_GRAY, 4, PNG_INTERLACE_NONE, data, NULL, 0,
			 NULL, 0);
	back = fx_read_image(p, &out, &s);
	assert_int_equal(s, TP_OK);
	assert_int_equal(out.channels, 1);
	{
		static const uint8_t want[4] = { 0, 255, 85, 170 };
		assert_memory_equal(back, want, 4);
	}
	free(back);
}

/* A TIFF-structured EXIF block with Orientation = o, in either byte order. */
static size_t make_exif(uint8_t *b, int le, int o)
{
	static const uint8_t mm[] = { 'M', 'M', 0, 42, 0, 0, 0, 8, 0, 2,
				      0x01, 0x0f, 0, 2, 0, 0, 0, 4, 'A', 'c', 'm', 0,
				      0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0,
				      0, 0, 0, 0 };
	memcpy(b, mm, sizeof mm);
	b[31] = (uint8_t)o; /* SHORT value, big-endian, left-justified */
	if (le) {
		/* swap every multi-byte field */
		static const uint8_t ii[] = { 'I', 'I', 42, 0, 8, 0, 0, 0, 2, 0,
					      0x0f, 0x01, 2, 0, 4, 0, 0, 0, 'A', 'c', 'm', 0,
					      0x12, 0x01, 3, 0, 1, 0, 0, 0, 0, 0, 0, 0,
					      0, 0, 0, 0 };
		memcpy(b, ii, sizeof ii);
		b[30] = (uint8_t)o;
	}
	return sizeof mm;
}

/* Stored 24x16 gray JPEG with distinct quadrant values and an EXIF orientation. */
static void write_jpeg_exif(const char *p, int le, int o)
{
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr em;
	FILE *f = fopen(p, "wb");
	uint8_t row[24], exif[64 + 6] = "Exif";
	size_t n = make_exif(exif + 6, le, o);
	c.err = jpeg_std_error(&em);
	jpeg_create_compress(&c);
	jpeg_stdio_dest(&c, f);
	c.image_width = 24;
	c.image_height = 16;
	c.input_components = 1;
	c.in_color_space = JCS_GRAYSCALE;
	jpeg_set_defaults(&c);
	jpeg_set_quality(&c, 100, TRUE);
	jpeg_start_compress(&c, TRUE);
	jpeg_write_marker(&c, JPEG_APP0 + 1, exif, (unsigned)(n + 6));
	for (uint32_t y = 0; y < 16; y++) {
		for (uint32_t x = 0; x < 24; x++)
			row[x] = (uint8_t)((y < 8 ? 0 : 160) + (x < 16 ? 0 : 80));
		JSAMPROW rp = row;
		jpeg_write_scanlines(&c, &rp, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	fclose(f);
}

/* Orientation in IFD0 of a TIFF-structured EXIF block, or -1. */
static int exif_block_orientation(const uint8_t *t)
{
	int le = t[0] == 'I', o = -1;
	uint32_t ifd = le ? t[4] : t[7];
	uint32_t cnt = le ? t[ifd] : t[ifd + 1];
	for (uint32_t i = 0; i < cnt; i++) {
		const uint8_t *e = t + ifd + 2 + i * 12;
		uint32_t tag = le ? (uint32_t)(e[0] | e[1] << 8) : (uint32_t)(e[0] << 8 | e[1]);
		if (tag == 0x0112)
			o = le ? e[8] : e[9];
	}
	return o;
}

/* Orientation found in the first APP1 Exif of a JPEG, via libjpeg directly. */
static int jpeg_file_orientation(const char *p)
{
	struct jpeg_decompress_struct d;
	struct jpeg_error_mgr em;
	FILE *f = fopen(p, "rb");
	int o = -1;
	d.err = jpeg_std_error(&em);
	jpeg_create_decompress(&d);
	jpeg_stdio_src(&d, f);
	jpeg_save_markers(&d, JPEG_APP0 + 1, 0xffff);
	jpeg_read_header(&d, TRUE);
	for (jpeg_saved_marker_ptr m = d.marker_list; m; m = m->next)
		if (o < 0 && m->marker == JPEG_APP0 + 1 && !memcmp(m->data, "Exif\0\0", 6))
			o = exif_block_orientation(m->data + 6);
	jpeg_destroy_decompress(&d);
	fclose(f);
	return o;
}

/* A JPEG with an EXIF orientation is read as stored (streamed, not turned),
 * reports its orientation, and is written with the orientation kept. */
static void check_orientation(int le, int o)
{
	const char *p = fx_path("exif.jpg"), *q = fx_path("exif-out.jpg");
	struct io_reader *r = NULL;
	struct io_writer *w = NULL;
	const struct io_info *inf;
	uint8_t *stored, *img;
	uint32_t sw, sh, sc;
	write_jpeg_exif(p, le, o);
	stored = jpeg_decode_direct(p, &sw, &sh, &sc);
	assert_int_equal(io_reader_open(p, &r), TP_OK);
	inf = io_reader_info(r);
	assert_int_equal(inf->buffered, 0);
	assert_int_equal(inf->width, 24);
	assert_int_equal(inf->height, 16);
	assert_int_equal(io_reader_orientation(r), o);
	img = malloc(24 * 16);
	assert_int_equal(io_reader_read_rows(r, img, inf->width, inf->height), TP_OK);
	assert_memory_equal(img, stored, 24 * 16);
	assert_int_equal(exif_block_orientation(io_reader_meta(r)->exif), o);
	assert_int_equal(io_writer_open(q, inf, io_reader_meta(r), NULL, &w), TP_OK);
	assert_int_equal(io_writer_write_rows(w, img, inf->width, inf->height), TP_OK);
	assert_int_equal(io_writer_finish(w), TP_OK);
	io_writer_close(w);
	io_reader_close(r);
	assert_int_equal(jpeg_file_orientation(p), o);
	assert_int_equal(jpeg_file_orientation(q), o);
	free(img);
	free(stored);
}

static void test_io_jpeg_exif_orientation(void **state)
{
	(void)state;
	check_orientation(0, 6);
	check_orientation(1, 6);
	check_orientation(0, 3);
	check_orientation(1, 3);
}

/* A PNG whose eXIf says "rotate 90 clockwise" (6) or "mirror" (2) is read as
 * stored and reports the orientation; written again, the eXIf keeps it. */
static void test_io_png_exif_orientation(void **state)
{
	(void)state;
	for (int le = 0; le <= 1; le++)
		for (int o = 2; o <= 6; o += 4) {
			struct io_info in = { 7, 5, 2, 16, 1, IO_FORMAT_PNG, 0, IO_SAMPLE_UINT }, out;
			uint8_t exif[64];
			struct io_meta m = { NULL, 0, exif, make_exif(exif, le, o), NULL, 0, 0, 0, 0,
					     0, NULL, NULL, NULL };
			uint16_t *img = make_image(&in, 0), *back;
			struct io_reader *r;
			tp_status s;
			assert_int_equal(fx_write_image(fx_path("ex.png"), &in, img, &m, NULL), TP_OK);
			back = fx_read_image(fx_path("ex.png"), &out, &s);
			assert_int_equal(s, TP_OK);
			assert_int_equal(out.buffered, 0);
			assert_int_equal(out.width, 7);
			assert_int_equal(out.height, 5);
			assert_memory_equal(back, img, 7 * 5 * 2 * sizeof *img);
			assert_int_equal(io_reader_open(fx_path("ex.png"), &r), TP_OK);
			assert_int_equal(io_reader_orientation(r), o);
			assert_int_equal(exif_block_orientation(io_reader_meta(r)->exif), o);
			io_reader_close(r);
			free(img);
			free(back);
		}
}

/* io_orient_plane: a 3x2 plane with distinct values, displayed under each
 * orientation by the EXIF definitions (spelled out here), and back. */
static void test_io_orient_plane(void **state)
{
	/* stored:  0 1 2
	 *          3 4 5 */
	static const uint8_t stored[6] = { 0, 1, 2, 3, 4, 5 };
	static const uint8_t shown[9][6] = {
		{ 0 }, { 0, 1, 2, 3, 4, 5 },
		{ 2, 1, 0, 5, 4, 3 },   /* 2 mirror */
		{ 5, 4, 3, 2, 1, 0 },   /* 3 rotate 180 */
		{ 3, 4, 5, 0, 1, 2 },   /* 4 flip */
		{ 0, 3, 1, 4, 2, 5 },   /* 5 transpose (2 wide, 3 high) */
		{ 3, 0, 4, 1, 5, 2 },   /* 6 rotate 90 clockwise */
		{ 5, 2, 4, 1, 3, 0 },   /* 7 transverse */
		{ 2, 5, 1, 4, 0, 3 },   /* 8 rotate 270 clockwise */
	};
	(void)state;
	for (int o = 1; o <= 8; o++) {
		uint8_t d[6], back[6];
		io_orient_plane(o, 0, stored, d, 3, 2);
		assert_memory_equal(d, shown[o], 6);
		io_orient_plane(o, 1, d, back, 3, 2);
		assert_memory_equal(back, stored, 6);
	}
}

/* A minimal ICC profile (header + empty tag table) of `n` >= 132 bytes. */
static uint8_t *make_icc(size_t n, const char *space)
{
	uint8_t *p = calloc(1, n);
	p[0] = (uint8_t)(n >> 24); p[1] = (uint8_t)(n >> 16); p[2] = (uint8_t)(n >> 8); p[3] = (uint8_t)n;
	p[8] = 2; p[9] = 0x10;
	memcpy(p + 12, "mntr", 4);
	memcpy(p + 16, space, 4);
	memcpy(p + 20, "XYZ ", 4);
	memcpy(p + 36, "acsp", 4);
	/* D50 illuminant */
	p[68] = 0; p[69] = 0; p[70] = 0xf6; p[71] = 0xd6;
	p[72] = 0; p[73] = 1; p[74] = 0; p[75] = 0;
	p[76] = 0; p[77] = 0; p[78] = 0xd3; p[79] = 0x2d;
	for (size_t i = 132; i < n; i++)
		p[i] = (uint8_t)(i * 31);
	return p;
}

static void check_icc_chain(enum io_format fmt, const char *a, const char *b, size_t icc_len)
{
	struct io_info in = { 16, 8, 3, 8, 0, fmt, 0, IO_SAMPLE_UINT };
	uint8_t *icc = make_icc(icc_len, "RGB ");
	static const char *const keys[] = { "Software", "Description" };
	static const char *const vals[] = { "tilepaint-test", "a test image" };
	const char *xmp = "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"/>";
	struct io_meta m = { icc, icc_len, NULL, 0, (const uint8_t *)xmp, strlen(xmp),
			     300, 300, 1, 2, keys, vals, NULL };
	uint8_t *img = make_image(&in, 1);
	struct io_reader *r = NULL;
	const struct io_meta *rm;
	int found = 0;
	assert_int_equal(fx_write_image(a, &in, img, &m, NULL), TP_OK);
	assert_int_equal(io_reader_open(a, &r), TP_OK);
	assert_int_equal(fx_write_image(b, &in, img, io_reader_meta(r), NULL), TP_OK);
	io_reader_close(r);
	assert_int_equal(io_reader_open(b, &r), TP_OK);
	rm = io_reader_meta(r);
	assert_int_equal(rm->icc_len, icc_len);
	assert_memory_equal(rm->icc, icc, icc_len);
	assert_int_equal(rm->xmp_len, strlen(xmp));
	assert_memory_equal(rm->xmp, xmp, strlen(xmp));
	if (fmt != IO_FORMAT_JPEG) {
		for (size_t i = 0; i < rm->ntext; i++)
			if (!strcmp(rm->text_keys[i], "Software") &&
			    !strcmp(rm->text_values[i], "tilepaint-test"))
				found = 1;
		assert_true(found);
	}
	/* 300 dpi: PNG stores 11811 per metre, i.e. 118.11 per cm */
	if (fmt == IO_FORMAT_PNG) {
		assert_int_equal(rm->res_unit, 2);
		assert_true(rm->xres > 118.10 && rm->xres < 118.12);
	} else {
		assert_int_equal(rm->res_unit, 1);
		assert_true(rm->xres > 299.99 && rm->xres < 300.01);
	}
	io_reader_close(r);
	free(icc);
	free(img);
}

/* ---- PNG deflated on threads (png_zpar.c) ---- */

static uint8_t *slurp(const char *p, size_t *n)
{
	FILE *f = fopen(p, "rb");
	uint8_t *b;
	long len;
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	b = malloc((size_t)len + 1);
	assert_non_null(b);
	assert_int_equal(fread(b, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	*n = (size_t)len;
	return b;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Walk a PNG's chunks (CRCs checked with zlib), join the IDATs and inflate
 * them with zlib as one stream: it must end exactly (Adler-32 checked) with
 * height x (row bytes + 1) bytes. Returns how many IDAT chunks there were;
 * *meta_before_idat: every chunk but IHDR/IDAT/IEND came before the first IDAT. */
static int check_zlib_stream(const char *p, size_t expect, int *meta_before_idat)
{
	size_t n, off = 8, zlen = 0;
	uint8_t *b = slurp(p, &n), *z = malloc(n), *out = malloc(expect + 16);
	int nidat = 0, seen_idat = 0;
	z_stream zs;
	assert_non_null(z);
	assert_non_null(out);
	*meta_before_idat = 1;
	while (off + 12 <= n) {
		uint32_t len = be32(b + off);
		const uint8_t *type = b + off + 4;
		assert_true(off + 12 + len <= n);
		assert_int_equal(crc32(crc32(0, type, 4), type + 4, len), be32(b + off + 8 + len));
		if (!memcmp(type, "IDAT", 4)) {
			memcpy(z + zlen, type + 4, len);
			zlen += len;
			nidat++;
			seen_idat = 1;
		} else if (memcmp(type, "IHDR", 4) && memcmp(type, "IEND", 4) && seen_idat) {
			*meta_before_idat = 0;
		}
		off += 12 + len;
	}
	assert_int_equal(off, n);
	memset(&zs, 0, sizeof zs);
	assert_int_equal(inflateInit(&zs), Z_OK);
	zs.next_in = z;
	zs.avail_in = (uInt)zlen;
	zs.next_out = out;
	zs.avail_out = (uInt)(expect + 16);
	assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
	assert_int_equal(zs.total_out, expect);
	assert_int_equal(zs.avail_in, 0);
	inflateEnd(&zs);
	free(b);
	free(z);
	free(out);
	return nidat;
}

static void png_parallel_case(uint32_t w, uint32_t h, uint32_t ch, uint32_t bits, int level)
{
	struct io_info in = { w, h, ch, bits, ch == 2 || ch == 4, IO_FORMAT_PNG, 0, IO_SAMPLE_UINT }, out;
	size_t rb = (size_t)w * ch * (bits / 8), n1, nk;
	uint8_t *img = malloc(rb * h), *pix, *b1, *bk;
	static const uint32_t threads[] = { 1, 2, 4 };
	static const char *keys[] = { "Software", "Comment" };
	static const char *vals[] = { "tilepaint-test", "parallel deflate" };
	uint8_t *icc = make_icc(400, ch >= 3 ? "RGB " : "GRAY");
	static const char xmp[] = "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"/>";
	static const uint8_t exif[] = { 'M', 'M', 0, 42, 0, 0, 0, 8, 0, 0 };
	struct io_meta m = { .icc = icc, .icc_len = 400, .exif = exif,
			     .exif_len = sizeof exif, .xmp = (const uint8_t *)xmp,
			     .xmp_len = strlen(xmp), .xres = 300, .yres = 300, .res_unit = 1,
			     .ntext = 2, .text_keys = keys, .text_values = vals };
	const struct io_meta *rm;
	struct io_reader *r;
	tp_status st;
	int before;
	uint64_t seed = w * 31 + h;
	assert_non_null(img);
	for (size_t i = 0; i < rb * h; i++) {
		/* smooth with noise and flat runs: every filter gets chosen somewhere */
		size_t y = i / rb, x = i % rb;
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		img[i] = (uint8_t)(y % 97 < 20 ? 128 : x / 3 + y / 2 + ((seed >> 60) & (y % 5 ? 3 : 63)));
	}
	b1 = NULL;
	for (size_t t = 0; t < 3; t++) {
		struct io_write_opts o = { .png_level = level, .threads = threads[t] };
		char name[64];
		snprintf(name, sizeof name, "par-%u.png", threads[t]);
		assert_int_equal(fx_write_image(fx_path(name), &in, img, &m, &o), TP_OK);
		if (!b1) {
			b1 = slurp(fx_path(name), &n1);
			continue;
		}
		/* the same bytes whatever the threads */
		bk = slurp(fx_path(name), &nk);
		assert_int_equal(nk, n1);
		assert_memory_equal(bk, b1, n1);
		free(bk);
	}
	assert_true(check_zlib_stream(fx_path("par-4.png"), (rb + 1) * h, &before) >= 1);
	assert_true(before);
	/* libpng decodes it to the very samples written */
	pix = fx_read_image(fx_path("par-4.png"), &out, &st);
	assert_int_equal(st, TP_OK);
	assert_int_equal(out.width, w);
	assert_int_equal(out.height, h);
	assert_memory_equal(pix, img, rb * h);   /* 16-bit: native order on both sides */
	free(pix);
	/* metadata kept as the one-thread writer kept it */
	assert_int_equal(io_reader_open(fx_path("par-4.png"), &r), TP_OK);
	rm = io_reader_meta(r);
	assert_int_equal(rm->icc_len, 400);
	assert_memory_equal(rm->icc, icc, 400);
	assert_int_equal(rm->exif_len, sizeof exif);
	assert_memory_equal(rm->exif, exif, sizeof exif);
	assert_int_equal(rm->xmp_len, strlen(xmp));
	assert_int_equal(rm->ntext, 2);
	assert_string_equal(rm->text_values[1], "parallel deflate");
	assert_int_equal(rm->res_unit, 2);
	io_reader_close(r);
	free(icc);
	free(b1);
	free(img);
}

static void test_io_png_parallel(void **state)
{
	(void)state;
	png_parallel_case(700, 900, 3, 8, -1);    /* several chunks, the default RLE */
	png_parallel_case(700, 900, 3, 8, 9);     /* a level given: filtered strategy */
	png_parallel_case(300, 2000, 4, 16, -1);  /* 16-bit, swapped to big-endian */
	png_parallel_case(1, 600000, 1, 8, 6);    /* 1-byte rows: a dictionary of many rows */
	png_parallel_case(37, 5, 2, 8, 0);        /* one chunk, stored blocks */
}

static void test_io_icc_survives(void **state)
{
	(void)state;
	check_icc_chain(IO_FORMAT_PNG, fx_path("icc1.png"), fx_path("icc2.png"), 400);
	check_icc_chain(IO_FORMAT_TIFF, fx_path("icc1.tif"), fx_path("icc2.tif"), 400);
	/* larger than one APP2 marker: split and joined again */
	check_icc_chain(IO_FORMAT_JPEG, fx_path("icc1.jpg"), fx_path("icc2.jpg"), 150000);
}

static void truncate_file(const char *p, double frac)
{
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(truncate(p, (off_t)(st.st_size * frac)), 0);
}

/* Open and read everything; returns the first failure. */
static tp_status read_all(const char *p)
{
	struct io_info out;
	tp_status s;
	free(fx_read_image(p, &out, &s));
	return s;
}

static void test_io_truncated(void **state)
{
	struct io_info in = { 64, 64, 3, 8, 0, IO_FORMAT_PNG, 0, IO_SAMPLE_UINT };
	uint8_t *img;
	(void)state;
	/* noise so the compressed data is large */
	img = make_image(&in, 0);
	for (size_t i = 0; i < 64 * 64 * 3; i++)
		img[i] = (uint8_t)((i * 2654435761u) >> 13);
	assert_int_equal(fx_write_image(fx_path("t.png"), &in, img, NULL, NULL), TP_OK);
	truncate_file(fx_path("t.png"), 0.5);
	assert_int_equal(read_all(fx_path("t.png")), TP_EFORMAT);
	assert_non_null(strstr(tp_errmsg(), fx_path("t.png")));
	assert_non_null(strstr(tp_errmsg(), "row"));

	in.format = IO_FORMAT_JPEG;
	assert_int_equal(fx_write_image(fx_path("t.jpg"), &in, img, NULL, NULL), TP_OK);
	truncate_file(fx_path("t.jpg"), 0.5);
	assert_int_equal(read_all(fx_path("t.jpg")), TP_EFORMAT);
	assert_non_null(strstr(tp_errmsg(), fx_path("t.jpg")));
	assert_non_null(strstr(tp_errmsg(), "row"));

	in.format = IO_FORMAT_TIFF;
	assert_int_equal(fx_write_image(fx_path("t.tif"), &in, img, NULL, NULL), TP_OK);
	truncate_file(fx_path("t.tif"), 0.5);
	assert_int_equal(read_all(fx_path("t.tif")), TP_EFORMAT);
	assert_non_null(strstr(tp_errmsg(), fx_path("t.tif")));

	/* strip data cut while the directory stays intact (written first by libtiff
	 * when the image data is written after it): damage data bytes instead */
	write_tiff_direct(fx_path("d.tif"), 64, 64, 3, 8, 0, 0, COMPRESSION_ADOBE_DEFLATE,
			  PHOTOMETRIC_RGB);
	{
		FILE *f = fopen(fx_path("d.tif"), "r+b");
		uint8_t junk[200];
		memset(junk, 0x5a, sizeof junk);
		fseek(f, 16, SEEK_SET);
		fwrite(junk, 1, sizeof junk, f);
		fclose(f);
	}
	assert_int_equal(read_all(fx_path("d.tif")), TP_EFORMAT);
	assert_non_null(strstr(tp_errmsg(), fx_path("d.tif")));
	assert_non_null(strstr(tp_errmsg(), "row"));
	free(img);
}

/* A tiled TIFF read a row at a time, its next row of tiles read ahead on a
 * thread: a tile broken in the third row of tiles fails the first row of
 * that band (not earlier, though it was decoded ahead), with the row and the
 * reason; every earlier row comes out right; closing joins the thread. */
static void test_io_tiff_read_ahead_error(void **state)
{
	const char *p = fx_path("ra.tif");
	struct io_info in = { 64, 64, 3, 8, 0, IO_FORMAT_TIFF, 0, IO_SAMPLE_UINT };
	uint8_t *img = make_image(&in, 0), row[64 * 3], junk[64];
	struct io_reader *r = NULL;
	uint64_t off;
	TIFF *t;
	(void)state;
	write_tiff_direct(p, 64, 64, 3, 8, 1, 0, COMPRESSION_ADOBE_DEFLATE, PHOTOMETRIC_RGB);
	t = TIFFOpen(p, "r");
	assert_non_null(t);
	off = TIFFGetStrileOffset(t, TIFFComputeTile(t, 16, 32, 0, 0));
	TIFFClose(t);
	{
		FILE *f = fopen(p, "r+b");
		memset(junk, 0x5a, sizeof junk);
		fseek(f, (long)off, SEEK_SET);
		fwrite(junk, 1, sizeof junk, f);
		fclose(f);
	}
	assert_int_equal(io_reader_open(p, &r), TP_OK);
	for (uint32_t y = 0; y < 32; y++) {
		assert_int_equal(io_reader_read_rows(r, row, sizeof row, 1), TP_OK);
		assert_memory_equal(row, img + (size_t)y * sizeof row, sizeof row);
	}
	assert_int_equal(io_reader_read_rows(r, row, sizeof row, 1), TP_EFORMAT);
	assert_non_null(strstr(tp_errmsg(), p));
	assert_non_null(strstr(tp_errmsg(), ": row 32: corrupt or truncated TIFF tile ("));
	io_reader_close(r);
	/* closed while a read-ahead may still run: nothing leaks or hangs */
	assert_int_equal(io_reader_open(p, &r), TP_OK);
	assert_int_equal(io_reader_read_rows(r, row, sizeof row, 1), TP_OK);
	io_reader_close(r);
	free(img);
}

/* A PNG decoded ahead in blocks (raster.c's read-ahead, 1 MiB a block: 85
 * rows of this 4096-pixel RGB image) hands out every row exact, in one call
 * or row by row across blocks, and a file cut short fails at the first row
 * it lost, with that row's number, after the rows before it; closing in the
 * middle of a read-ahead neither hangs nor leaks. */
static void test_io_png_read_ahead(void **state)
{
	const char *p = fx_path("ra.png"), *cut = fx_path("ra-cut.png");
	struct io_info in = { 4096, 600, 3, 8, 0, IO_FORMAT_PNG, 0, IO_SAMPLE_UINT };
	size_t rb = 4096 * 3;
	uint8_t *img = make_image(&in, 0), *all = malloc(rb * 600), *row = malloc(rb);
	struct io_reader *r = NULL;
	uint32_t good = 0;
	long size;
	FILE *f;
	(void)state;
	assert_non_null(all);
	assert_non_null(row);
	assert_int_equal(fx_write_image(p, &in, img, NULL, NULL), TP_OK);
	assert_int_equal(io_reader_open(p, &r), TP_OK);
	assert_int_equal(io_reader_read_rows(r, all, rb, 600), TP_OK);
	assert_memory_equal(all, img, rb * 600);
	io_reader_close(r);
	assert_int_equal(io_reader_open(p, &r), TP_OK);
	for (uint32_t y = 0; y < 600; y++) {
		assert_int_equal(io_reader_read_rows(r, row, rb, 1), TP_OK);
		assert_memory_equal(row, img + (size_t)y * rb, rb);
	}
	io_reader_close(r);
	/* cut at 70 %: some rows of the third or fourth block are lost */
	f = fopen(p, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fclose(f);
	{
		FILE *a = fopen(p, "rb"), *b = fopen(cut, "wb");
		uint8_t *data = malloc((size_t)size);
		assert_true(a && b && data);
		assert_int_equal(fread(data, 1, (size_t)size, a), (size_t)size);
		assert_int_equal(fwrite(data, 1, (size_t)(size * 7 / 10), b), (size_t)(size * 7 / 10));
		fclose(a);
		fclose(b);
		free(data);
	}
	assert_int_equal(io_reader_open(cut, &r), TP_OK);
	tp_status st;
	while ((st = io_reader_read_rows(r, row, rb, 1)) == TP_OK) {
		assert_memory_equal(row, img + (size_t)good * rb, rb);
		good++;
	}
	assert_int_equal(st, TP_EFORMAT);
	assert_true(good > 340 && good < 600);
	{
		char want[64];
		snprintf(want, sizeof want, ": row %u: ", good);
		assert_non_null(strstr(tp_errmsg(), cut));
		if (!strstr(tp_errmsg(), want))
			fail_msg("'%s' does not name row %u", tp_errmsg(), good);
	}
	assert_int_equal(io_reader_read_rows(r, row, rb, 1), TP_EFORMAT);   /* and stays failed */
	io_reader_close(r);
	/* closed while the second block is being decoded */
	assert_int_equal(io_reader_open(p, &r), TP_OK);
	assert_int_equal(io_reader_read_rows(r, row, rb, 1), TP_OK);
	io_reader_close(r);
	free(img);
	free(all);
	free(row);
}

/* ---- inflate.c against zlib ---- */

static uint32_t rnd(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

/* Input for io_inflate in pieces of 1 to `piece` bytes. */
struct feed {
	const uint8_t *p;
	size_t n, pos, piece;
	uint32_t seed;
};

static size_t feed_fill(void *ctx, uint8_t *dst, size_t room)
{
	struct feed *f = ctx;
	size_t k = f->n - f->pos, piece = 1 + rnd(&f->seed) % f->piece;
	if (k > room)
		k = room;
	if (k > piece)
		k = piece;
	memcpy(dst, f->p + f->pos, k);
	f->pos += k;
	return k;
}

/* Test data of kind 0-5: random bytes, mask-like runs of 0 and 255, words,
 * short periods (distances 2-15), far repeats (distances near 32 KiB),
 * and all of them in turn. */
static void inflate_data(uint8_t *d, size_t n, int kind, uint32_t seed)
{
	static const char *words[] = { "tile ", "mask ", "band ", "inpaint ", "a ", "of ",
					"resume\n", "0123456789" };
	size_t i = 0;
	while (i < n) {
		int k = kind == 5 ? (int)(i / 4096 % 5) : kind;
		size_t run = 1 + rnd(&seed) % 300, end = i + run < n ? i + run : n;
		switch (k) {
		case 0:
			for (; i < end; i++)
				d[i] = (uint8_t)rnd(&seed);
			break;
		case 1:
			memset(d + i, rnd(&seed) % 8 ? 0 : 255, end - i);
			i = end;
			break;
		case 2: {
			const char *w = words[rnd(&seed) % 8];
			for (; *w && i < n; w++)
				d[i++] = (uint8_t)*w;
			break;
		}
		case 3: {
			size_t period = 2 + rnd(&seed) % 14;
			for (; i < end; i++)
				d[i] = i >= period && rnd(&seed) % 64 ? d[i - period] : (uint8_t)rnd(&seed);
			break;
		}
		default:
			for (; i < end; i++)
				d[i] = i >= 32000 && rnd(&seed) % 16 ? d[i - 32000 + rnd(&seed) % 700]
								  : (uint8_t)rnd(&seed);
			break;
		}
	}
}

/* Deflate d with zlib's level, strategy and window, a full flush every
 * `flush` bytes (0: none) and a sync flush halfway. */
static uint8_t *deflate_with(const uint8_t *d, size_t n, int level, int strategy, int wbits,
			     size_t flush, size_t *zn)
{
	z_stream z;
	size_t cap = 2 * compressBound(n) + 4096;
	uint8_t *out = malloc(cap);
	size_t pos = 0;
	memset(&z, 0, sizeof z);
	assert_int_equal(deflateInit2(&z, level, Z_DEFLATED, wbits, 8, strategy), Z_OK);
	z.next_out = out;
	z.avail_out = (uInt)cap;
	while (pos < n) {
		size_t k = flush ? flush : n;
		if (k > n - pos)
			k = n - pos;
		z.next_in = (Bytef *)d + pos;
		z.avail_in = (uInt)k;
		pos += k;
		assert_int_equal(deflate(&z, pos == n ? Z_FINISH : pos >= n / 2 && pos - k < n / 2
						       ? Z_SYNC_FLUSH : Z_FULL_FLUSH), pos == n
				 ? Z_STREAM_END : Z_OK);
	}
	*zn = z.total_out;
	deflateEnd(&z);
	return out;
}

/* Every kind of data and of deflate stream comes back exact, in pieces of
 * random sizes from input of random pieces; one byte past the end fails. */
static void test_io_inflate_matches_zlib(void **state)
{
	static const int levels[] = { 0, 1, 6, 9 };
	static const int strategies[] = { Z_DEFAULT_STRATEGY, Z_FILTERED, Z_HUFFMAN_ONLY, Z_RLE,
					  Z_FIXED };
	size_t n = 300000;
	uint8_t *d = malloc(n);
	uint32_t seed = 7;
	int cases = 0;
	(void)state;
	for (int kind = 0; kind < 6; kind++) {
		inflate_data(d, n, kind, 100 + (uint32_t)kind);
		for (unsigned li = 0; li < 4; li++)
			for (unsigned si = 0; si < 5; si++) {
				int wbits = (li + si + (unsigned)kind) % 3 == 0 ? 9 : 15;
				size_t flush = (li + si) % 4 == 1 ? 10000 + li * 777 : 0, zn;
				uint8_t *zd = deflate_with(d, n, levels[li], strategies[si], wbits,
							   flush, &zn);
				struct feed f = { zd, zn, 0, 1 + rnd(&seed) % 5000, seed };
				size_t unit = 1 + rnd(&seed) % 70000, got = 0;
				struct io_inflate *z = io_inflate_new(unit, feed_fill, &f);
				const uint8_t *p;
				assert_non_null(z);
				while (got < n) {
					size_t k = 1 + rnd(&seed) % unit;
					if (k > n - got)
						k = n - got;
					if (io_inflate_get(z, k, &p) != 0)
						fail_msg("kind %d level %d strategy %d: failed at %zu: %s",
							 kind, levels[li], strategies[si], got,
							 io_inflate_error(z));
					if (memcmp(p, d + got, k) != 0)
						fail_msg("kind %d level %d strategy %d: wrong bytes at %zu",
							 kind, levels[li], strategies[si], got);
					got += k;
				}
				assert_int_equal(io_inflate_get(z, 1, &p), -1);
				assert_string_equal(io_inflate_error(z), "not enough image data");
				io_inflate_free(z);
				free(zd);
				cases++;
			}
	}
	assert_int_equal(cases, 120);
	free(d);
}

/* What zlib inflates from zd before it stops (the Adler-32 ignored). */
static size_t zlib_prefix(const uint8_t *zd, size_t zn, uint8_t *out, size_t cap, int *ended)
{
	z_stream z;
	int rc;
	memset(&z, 0, sizeof z);
	assert_int_equal(inflateInit(&z), Z_OK);
	inflateValidate(&z, 0);
	z.next_in = (Bytef *)zd;
	z.avail_in = (uInt)zn;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	rc = inflate(&z, Z_FINISH);
	*ended = rc == Z_STREAM_END;
	inflateEnd(&z);
	return cap - z.avail_out;
}

/* What io_inflate hands out from zd, a byte at a time, before it fails. */
static size_t ours_prefix(const uint8_t *zd, size_t zn, uint8_t *out, size_t cap)
{
	struct feed f = { zd, zn, 0, 700, 3 };
	struct io_inflate *z = io_inflate_new(1, feed_fill, &f);
	const uint8_t *p;
	size_t got = 0;
	assert_non_null(z);
	while (got < cap && io_inflate_get(z, 1, &p) == 0)
		out[got++] = *p;
	assert_true(got == cap || io_inflate_error(z)[0]);
	io_inflate_free(z);
	return got;
}

/* Streams cut short and streams with flipped bits: the decoder hands out
 * exactly the bytes zlib inflates from them, no more, and then fails. */
static void test_io_inflate_corrupt(void **state)
{
	size_t n = 40000, zn, cap = 3 * n;
	uint8_t *d = malloc(n), *a = malloc(cap), *b = malloc(cap), *zd, *bad;
	uint32_t seed = 11;
	(void)state;
	inflate_data(d, n, 5, 9);
	zd = deflate_with(d, n, 6, Z_DEFAULT_STRATEGY, 15, 9000, &zn);
	bad = malloc(zn);
	for (size_t cut = 0; cut < zn; cut += 1 + cut / 9) {
		int ended;
		size_t za = zlib_prefix(zd, cut, a, cap, &ended), ob = ours_prefix(zd, cut, b, cap);
		assert_false(ended);
		if (ob != za || memcmp(a, b, za) != 0)
			fail_msg("cut at %zu of %zu: zlib %zu bytes, ours %zu", cut, zn, za, ob);
	}
	for (int t = 0; t < 400; t++) {
		int ended;
		size_t za, ob;
		memcpy(bad, zd, zn);
		for (int k = 0; k < 1 + t % 3; k++) {
			size_t at = t < 40 ? rnd(&seed) % 64 : rnd(&seed) % zn;   /* headers often */
			bad[at] ^= (uint8_t)(1u << rnd(&seed) % 8);
		}
		za = zlib_prefix(bad, zn, a, cap, &ended);
		ob = ours_prefix(bad, zn, b, ended ? za + 1 : cap);
		if (ob != za || memcmp(a, b, za) != 0)
			fail_msg("flip %d: zlib %zu bytes (%s), ours %zu", t, za,
				 ended ? "ended" : "failed", ob);
	}
	free(d);
	free(a);
	free(b);
	free(zd);
	free(bad);
}

/* Rows read back exact through every PNG filter, for the layouts the
 * reader inflates itself (8 and 16 bits, 1 to 4 channels) and widths
 * around the 16-byte runs of the Sub and Paeth fast paths, from random
 * pixels and from mask-like runs. */
static void test_io_png_filters(void **state)
{
	static const int filters[] = { PNG_FILTER_NONE, PNG_FILTER_SUB, PNG_FILTER_UP,
				       PNG_FILTER_AVG, PNG_FILTER_PAETH, PNG_ALL_FILTERS };
	static const int colors[] = { PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA,
				      PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA };
	static const uint32_t widths[] = { 1, 15, 16, 17, 18, 33, 100 };
	const char *p = fx_path("filt.png");
	uint32_t seed = 5, h = 9;
	(void)state;
	for (unsigned fi = 0; fi < 6; fi++)
		for (unsigned ci = 0; ci < 4; ci++)
			for (int depth = 8; depth <= 16; depth += 8)
				for (unsigned wi = 0; wi < 7; wi++)
					for (int masky = 0; masky < 2; masky++) {
		uint32_t w = widths[wi], ch = ci + 1;
		size_t rb = (size_t)w * ch * (unsigned)depth / 8, nb = rb * h;
		uint8_t *img = malloc(nb), *file = malloc(nb), *back;
		struct io_info out;
		tp_status s;
		for (size_t i = 0; i < nb; i++)
			img[i] = masky ? (i / 7 % 5 == 0 ? 255 : 0) : (uint8_t)rnd(&seed);
		if (masky)   /* a run that starts on a row above: Paeth and Up from it */
			memset(img + rb * 3, 255, rb * 2);
		memcpy(file, img, nb);   /* write_png_direct swaps 16-bit samples in place */
		png_direct_filter = filters[fi];
		write_png_direct(p, w, h, colors[ci], depth, PNG_INTERLACE_NONE, file, NULL, 0,
				 NULL, 0);
		png_direct_filter = -1;
		back = fx_read_image(p, &out, &s);
		assert_int_equal(s, TP_OK);
		assert_int_equal(out.buffered, 0);
		if (memcmp(back, img, nb) != 0)
			fail_msg("filter %d color %d depth %d width %u %s: rows differ", filters[fi],
				 colors[ci], depth, w, masky ? "runs" : "random");
		free(img);
		free(file);
		free(back);
	}
	unlink(p);
}

/* A progressive JPEG claiming 60000x60000 pixels would need ~20 GB of
 * coefficients: the decoder's memory cap turns that into TP_EFORMAT. */
static void test_io_jpeg_memory_cap(void **state)
{
	const char *p = fx_path("huge.jpg");
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr em;
	struct io_reader *r = NULL;
	uint8_t row[8 * 3] = { 0 }, *data;
	FILE *f = fopen(p, "wb");
	long n;
	(void)state;
	c.err = jpeg_std_error(&em);
	jpeg_create_compress(&c);
	jpeg_stdio_dest(&c, f);
	c.image_width = 8;
	c.image_height = 8;
	c.input_components = 3;
	c.in_color_space = JCS_RGB;
	jpeg_set_defaults(&c);
	jpeg_simple_progression(&c);
	jpeg_start_compress(&c, TRUE);
	for (int y = 0; y < 8; y++) {
		JSAMPROW rp = row;
		jpeg_write_scanlines(&c, &rp, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	fclose(f);
	/* patch the SOF2 frame size: FF C2 len(2) precision(1) height(2) width(2) */
	f = fopen(p, "r+b");
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	data = malloc((size_t)n);
	fseek(f, 0, SEEK_SET);
	assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
	for (long i = 0; i + 9 < n; i++)
		if (data[i] == 0xff && data[i + 1] == 0xc2) {
			data[i + 5] = 0xea; data[i + 6] = 0x60; /* 60000 */
			data[i + 7] = 0xea; data[i + 8] = 0x60;
			break;
		}
	fseek(f, 0, SEEK_SET);
	fwrite(data, 1, (size_t)n, f);
	fclose(f);
	free(data);
	assert_int_equal(io_reader_open(p, &r), TP_EFORMAT);
	assert_null(r);
	assert_non_null(strstr(tp_errmsg(), p));
	assert_non_null(strstr(tp_errmsg(), "decoder limit"));
}

static void test_io_not_an_image_and_missing(void **state)
{
	const char *p = fx_path("text.png");
	struct io_reader *r = (struct io_reader *)1;
	FILE *f = fopen(p, "w");
	(void)state;
	fputs("this is not a picture, just some text\n", f);
	fclose(f);
	assert_int_equal(io_reader_open(p, &r), TP_EFORMAT);
	assert_null(r);
	assert_non_null(strstr(tp_errmsg(), p));
	assert_int_equal(io_reader_open(fx_path("nope.tif"), &r), TP_ENOENT);
	assert_non_null(strstr(tp_errmsg(), "nope.tif"));
	/* PNG signature followed by garbage */
	f = fopen(p, "wb");
	fwrite("\x89PNG\r\n\x1a\n\0\0\0\rIHDRgarbage-garbage", 1, 32, f);
	fclose(f);
	assert_int_equal(io_reader_open(p, &r), TP_EFORMAT);
	assert_non_null(strstr(tp_errmsg(), p));
}

static void test_io_limits(void **state)
{
	const char *p = fx_path("wide.tif");
	struct io_reader *r = NULL;
	struct io_writer *w = NULL;
	struct io_info big = { 1048577, 1, 1, 8, 0, IO_FORMAT_PNG, 0, IO_SAMPLE_UINT };
	TIFF *t = TIFFOpen(p, "w");
	uint8_t row[16] = { 0 };
	(void)state;
	TIFFSetField(t, TIFFTAG_IMAGEWIDTH, 2000000);
	TIFFSetField(t, TIFFTAG_IMAGELENGTH, 1);
	TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
	TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 1);
	TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
	TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 1);
	TIFFWriteRawStrip(t, 0, row, sizeof row);
	TIFFClose(t);
	assert_int_equal(io_reader_open(p, &r), TP_EFORMAT);
	assert_non_null(strstr(tp_errmsg(), "out of range"));
	assert_int_equal(io_writer_open(fx_path("big.png"), &big, NULL, NULL, &w), TP_EUSAGE);
	big.width = 0;
	assert_int_equal(io_writer_open(fx_path("big.png"), &big, NULL, NULL, &w), TP_EUSAGE);
}

static void test_io_read_past_end(void **state)
{
	struct io_info in = { 4, 3, 1, 8, 0, IO_FORMAT_PNG, 0, IO_SAMPLE_UINT };
	uint8_t *img = make_image(&in, 0), buf[16];
	struct io_reader *r;
	(void)state;
	assert_int_equal(fx_write_image(fx_path("s.png"), &in, img, NULL, NULL), TP_OK);
	assert_int_equal(io_reader_open(fx_path("s.png"), &r), TP_OK);
	assert_int_equal(io_reader_read_rows(r, buf, 4, 2), TP_OK);
	assert_int_equal(io_reader_row(r), 2);
	assert_int_equal(io_reader_read_rows(r, buf, 4, 2), TP_EUSAGE);
	assert_int_equal(io_reader_read_rows(r, buf, 3, 1), TP_EUSAGE);
	assert_int_equal(io_reader_read_rows(r, buf, 4, 1), TP_OK);
	io_reader_close(r);
	free(img);
}

static void test_io_row_to_binary(void **state)
{
	struct io_info g8 = { 4, 1, 1, 8, 0, IO_FORMAT_PNG, 0, IO_SAMPLE_UINT };
	struct io_info ga8 = { 3, 1, 2, 8, 1, IO_FORMAT_PNG, 0, IO_SAMPLE_UINT };
	struct io_info rgb8 = { 5, 1, 3, 8, 0, IO_FORMAT_PNG, 0, IO_SAMPLE_UINT };
	struct io_info rgba16 = { 3, 1, 4, 16, 1, IO_FORMAT_PNG, 0, IO_SAMPLE_UINT };
	uint8_t g[4] = { 0, 1, 255, 0 }, ga[6] = { 0, 255, 7, 0, 0, 0 };
	/* (R*19595 + G*38470 + B*7471 + 32768) >> 16: (1,0,0) -> 0, (2,0,0) -> 1,
	 * (0,1,0) -> 1, (0,0,4) -> 0, (0,0,5) -> 1 */
	uint8_t rgb[15] = { 1, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 5 };
	uint16_t rgba[12] = { 1, 0, 0, 65535, 0, 0, 5, 0, 0, 0, 0, 65535 };
	uint8_t out[8];
	(void)state;
	io_row_to_binary(&g8, g, out);
	assert_memory_equal(out, ((uint8_t[]){ 0, 1, 1, 0 }), 4);
	io_row_to_binary(&ga8, ga, out);
	assert_memory_equal(out, ((uint8_t[]){ 0, 1, 0 }), 3);
	io_row_to_binary(&rgb8, rgb, out);
	assert_memory_equal(out, ((uint8_t[]){ 0, 1, 1, 0, 1 }), 5);
	io_row_to_binary(&rgba16, rgba, out);
	assert_memory_equal(out, ((uint8_t[]){ 0, 1, 0 }), 3);
}

/* Holes above the threshold on the 8-bit scale; alpha multiplies the gray
 * value; 16-bit values compared as v / 257 rounded; --mask-invert swaps. */
static void test_io_row_to_mask(void **state)
{
	struct io_info g8 = { 6, 1, 1, 8, 0, IO_FORMAT_PNG, 0, IO_SAMPLE_UINT };
	struct io_info ga8 = { 4, 1, 2, 8, 1, IO_FORMAT_PNG, 0, IO_SAMPLE_UINT };
	struct io_info rgb8 = { 2, 1, 3, 8, 0, IO_FORMAT_JPEG, 0, IO_SAMPLE_UINT };
	struct io_info g16 = { 4, 1, 1, 16, 0, IO_FORMAT_PNG, 0, IO_SAMPLE_UINT };
	struct io_info rgba16 = { 2, 1, 4, 16, 1, IO_FORMAT_PNG, 0, IO_SAMPLE_UINT };
	uint8_t g[6] = { 0, 1, 127, 128, 200, 255 };
	/* gray 255 at alpha 0, 255 at 128 (-> 128), 200 at 160 (-> 125), 255 at 255 */
	uint8_t ga[8] = { 255, 0, 255, 128, 200, 160, 255, 255 };
	uint8_t rgb[6] = { 128, 128, 128, 255, 0, 0 };   /* gray 128, gray 76 */
	/* 257 * 127 + 128 = 32767 is still 127 on 8 bits; 32768 rounds to 128 */
	uint16_t g16v[4] = { 0, 32767, 32768, 65535 };
	uint16_t rgba[8] = { 65535, 65535, 65535, 0, 65535, 65535, 65535, 65535 };
	uint8_t out[8];
	(void)state;
	io_row_to_mask(&g8, g, out, 127, 0);
	assert_memory_equal(out, ((uint8_t[]){ 0, 0, 0, 1, 1, 1 }), 6);
	io_row_to_mask(&g8, g, out, 127, 1);
	assert_memory_equal(out, ((uint8_t[]){ 1, 1, 1, 0, 0, 0 }), 6);
	io_row_to_mask(&g8, g, out, 0, 0);
	assert_memory_equal(out, ((uint8_t[]){ 0, 1, 1, 1, 1, 1 }), 6);
	io_row_to_mask(&g8, g, out, 254, 0);
	assert_memory_equal(out, ((uint8_t[]){ 0, 0, 0, 0, 0, 1 }), 6);
	io_row_to_mask(&ga8, ga, out, 127, 0);
	assert_memory_equal(out, ((uint8_t[]){ 0, 1, 0, 1 }), 4);
	io_row_to_mask(&rgb8, rgb, out, 127, 0);
	assert_memory_equal(out, ((uint8_t[]){ 1, 0 }), 2);
	io_row_to_mask(&g16, g16v, out, 127, 0);
	assert_memory_equal(out, ((uint8_t[]){ 0, 0, 1, 1 }), 4);
	io_row_to_mask(&rgba16, rgba, out, 127, 0);
	assert_memory_equal(out, ((uint8_t[]){ 0, 1 }), 2);
	io_row_to_mask(&rgba16, rgba, out, 127, 1);
	assert_memory_equal(out, ((uint8_t[]){ 1, 0 }), 2);
}

static void test_io_writer_unlink_on_abort(void **state)
{
	static const enum io_format fmts[] = { IO_FORMAT_PNG, IO_FORMAT_JPEG, IO_FORMAT_TIFF };
	(void)state;
	for (size_t i = 0; i < 3; i++) {
		struct io_info in = { 8, 8, 3, 8, 0, fmts[i], 0, IO_SAMPLE_UINT };
		uint8_t *img = make_image(&in, 0);
		struct io_writer *w;
		const char *p = fx_path("abort.img");
		assert_int_equal(io_writer_open(p, &in, NULL, NULL, &w), TP_OK);
		assert_true(file_exists(p));
		assert_int_equal(io_writer_write_rows(w, img, 24, 3), TP_OK);
		assert_int_equal(io_writer_finish(w), TP_EUSAGE);
		io_writer_close(w);
		assert_false(file_exists(p));
		/* a finished writer keeps its file */
		assert_int_equal(fx_write_image(p, &in, img, NULL, NULL), TP_OK);
		assert_true(file_exists(p));
		unlink(p);
		free(img);
	}
	{
		struct io_info in = { 8, 8, 3, 8, 0, IO_FORMAT_PNG, 0, IO_SAMPLE_UINT };
		struct io_writer *w = (struct io_writer *)1;
		assert_int_equal(io_writer_open(fx_path("no/such/dir.png"), &in, NULL, NULL, &w),
				 TP_ECREATE);
		assert_null(w);
		assert_non_null(strstr(tp_errmsg(), "no/such/dir.png"));
	}
	io_writer_close(NULL);
	io_reader_close(NULL);
}

static void test_io_sniff_and_names(void **state)
{
	(void)state;
	assert_int_equal(io_sniff((const uint8_t *)"II*\0", 4), IO_FORMAT_TIFF);
	assert_int_equal(io_sniff((const uint8_t *)"MM\0+", 4), IO_FORMAT_TIFF);
	assert_int_equal(io_sniff((const uint8_t *)"\xff\xd8\xff\xe0", 4), IO_FORMAT_JPEG);
	assert_int_equal(io_sniff((const uint8_t *)"GIF89a", 6), IO_FORMAT_UNKNOWN);
	assert_int_equal(io_format_from_name("a/b.TIFF"), IO_FORMAT_TIFF);
	assert_int_equal(io_format_from_name("x.jpeg"), IO_FORMAT_JPEG);
	assert_int_equal(io_format_from_name("x.png"), IO_FORMAT_PNG);
	assert_int_equal(io_format_from_name("x.d/noext"), IO_FORMAT_UNKNOWN);
	assert_string_equal(io_format_name(IO_FORMAT_JPEG), "jpeg");
}

static void test_io_oom_loop(void **state)
{
	static const enum io_format fmts[] = { IO_FORMAT_PNG, IO_FORMAT_JPEG, IO_FORMAT_TIFF };
	(void)state;
	for (size_t f = 0; f < 3; f++) {
		struct io_info in = { 12, 9, 4 - (fmts[f] == IO_FORMAT_JPEG), 8, fmts[f] != IO_FORMAT_JPEG,
				      fmts[f], 0, IO_SAMPLE_UINT };
		uint8_t *img = make_image(&in, 0);
		const char *p = fx_path(f == 0 ? "oom.png" : f == 1 ? "oom.jpg" : "oom.tif");
		uint8_t icc[200];
		struct io_meta m = { icc, 0, NULL, 0, (const uint8_t *)"<xmp/>", 6, 72, 72, 1, 0,
				     NULL, NULL, NULL };
		long n;
		memset(icc, 0, sizeof icc);
		assert_int_equal(fx_write_image(p, &in, img, &m, NULL), TP_OK);
		for (n = 0; n < 10000; n++) {
			tp_status s;
			tp_alloc_fail_at(n);
			free(fx_read_image(p, &in, &s));
			tp_alloc_fail_at(-1);
			if (s == TP_OK)
				break;
			assert_int_equal(s, TP_ENOMEM);
		}
		assert_true(n > 0 && n < 10000);
		/* the writers too: fail, never crash or leak */
		for (n = 0; n < 10000; n++) {
			tp_status s;
			tp_alloc_fail_at(n);
			s = fx_write_image(p, &in, img, &m, NULL);
			tp_alloc_fail_at(-1);
			if (s == TP_OK)
				break;
			assert_true(s == TP_ENOMEM || s == TP_EIO || s == TP_ECREATE);
		}
		assert_true(n < 10000);
		free(img);
	}
}

/* ---- TIFF out mirrors TIFF in: layout and every tag ---- */

/* The GeoTIFF and GDAL tags, registered as libgeotiff and GDAL do. */
static const TIFFFieldInfo test_geo_fields[] = {
	{ 33550, -1, -1, TIFF_DOUBLE, FIELD_CUSTOM, 1, 1, "ModelPixelScale" },
	{ 33922, -1, -1, TIFF_DOUBLE, FIELD_CUSTOM, 1, 1, "ModelTiepoint" },
	{ 34264, -1, -1, TIFF_DOUBLE, FIELD_CUSTOM, 1, 1, "ModelTransformation" },
	{ 34735, -1, -1, TIFF_SHORT, FIELD_CUSTOM, 1, 1, "GeoKeyDirectory" },
	{ 34736, -1, -1, TIFF_DOUBLE, FIELD_CUSTOM, 1, 1, "GeoDoubleParams" },
	{ 34737, -1, -1, TIFF_ASCII, FIELD_CUSTOM, 1, 0, "GeoAsciiParams" },
	{ 42112, -1, -1, TIFF_ASCII, FIELD_CUSTOM, 1, 0, "GDAL_METADATA" },
	{ 42113, -1, -1, TIFF_ASCII, FIELD_CUSTOM, 1, 0, "GDAL_NODATA" },
};
static TIFFExtendProc test_parent_extender;

static void test_geo_extender(TIFF *t)
{
	TIFFMergeFieldInfo(t, test_geo_fields, sizeof test_geo_fields / sizeof test_geo_fields[0]);
	if (test_parent_extender)
		test_parent_extender(t);
}

static void test_geo_register(void)
{
	static int done;
	if (!done)
		test_parent_extender = TIFFSetTagExtender(test_geo_extender);
	done = 1;
}

/* Private tags libtiff does not know: registered on the writing handle only,
 * so a reader sees them as anonymous fields. */
static const TIFFFieldInfo private_fields[] = {
	{ 65000, TIFF_VARIABLE2, TIFF_VARIABLE2, TIFF_LONG, FIELD_CUSTOM, 1, 1, "Priv65000" },
	{ 65001, TIFF_VARIABLE2, TIFF_VARIABLE2, TIFF_ASCII, FIELD_CUSTOM, 1, 1, "Priv65001" },
	{ 65002, TIFF_VARIABLE2, TIFF_VARIABLE2, TIFF_DOUBLE, FIELD_CUSTOM, 1, 1, "Priv65002" },
	{ 65003, TIFF_VARIABLE2, TIFF_VARIABLE2, TIFF_UNDEFINED, FIELD_CUSTOM, 1, 1, "Priv65003" },
	{ 65004, TIFF_VARIABLE2, TIFF_VARIABLE2, TIFF_SSHORT, FIELD_CUSTOM, 1, 1, "Priv65004" },
	{ 65005, TIFF_VARIABLE2, TIFF_VARIABLE2, TIFF_SHORT, FIELD_CUSTOM, 1, 1, "Priv65005" },
};

/* What a test TIFF looks like. */
struct tspec {
	uint32_t w, h;
	uint16_t spp, bps, photometric, comp, predictor;
	int tiled;
	uint32_t tw, th, rps;
	int separate, msb, bigtiff;
	int tags;     /* every metadata tag, EXIF and GPS IFDs */
	int pages;    /* extra reduced-resolution pages */
};

static uint8_t *stored_image(const struct tspec *sp, size_t *rowb)
{
	struct io_info in = { sp->w, sp->h, sp->spp, sp->bps >= 8 ? sp->bps : 8, 0, IO_FORMAT_TIFF, 0, IO_SAMPLE_UINT };
	uint8_t *img = make_image(&in, sp->comp == COMPRESSION_JPEG);
	*rowb = ((size_t)sp->w * sp->spp * sp->bps + 7) / 8;
	if (sp->bps < 8) { /* pack: sample v -> v >> (8 - bps) */
		uint8_t *packed = calloc(*rowb, sp->h);
		for (uint32_t y = 0; y < sp->h; y++)
			for (uint32_t x = 0; x < sp->w; x++) {
				size_t bit = (size_t)x * sp->bps;
				uint8_t v = img[(size_t)y * sp->w + x] >> (8 - sp->bps);
				packed[(size_t)y * *rowb + (bit >> 3)] |= (uint8_t)(v << (8 - sp->bps - (bit & 7)));
			}
		free(img);
		img = packed;
	}
	return img;
}

static void set_all_tags(TIFF *t, uint64_t exif_off, uint64_t gps_off)
{
	static const double scale[3] = { 10, 10, 0 };
	static const double tie[6] = { 0, 0, 0, 500000, 5600000, 0 };
	static const double trans[16] = { 10, 0, 0, 500000, 0, -10, 0, 5600000, 0, 0, 0, 0, 0, 0, 0, 1 };
	static const uint16_t keys[16] = { 1, 1, 0, 3, 1024, 0, 1, 1, 1025, 0, 1, 1, 3072, 0, 1, 32633 };
	static const double dparams[2] = { 6378137.0, 298.257223563 };
	static const uint32_t priv0[3] = { 7, 0xdeadbeef, 42 };
	static const double priv2[2] = { 3.141592653589793, -1e-300 };
	static const uint8_t priv3[5] = { 0, 1, 2, 0xfe, 0xff };
	static const int16_t priv4[2] = { -32768, 1234 };
	static const uint16_t priv5 = 77;
	uint8_t icc[300], iptc[40], ps[24];
	const char *xmp = "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF/></x:xmpmeta>";
	for (size_t i = 0; i < sizeof icc; i++)
		icc[i] = (uint8_t)(i * 7);
	for (size_t i = 0; i < sizeof iptc; i++)
		iptc[i] = (uint8_t)(i + 0x1c);
	for (size_t i = 0; i < sizeof ps; i++)
		ps[i] = (uint8_t)(255 - i);
	assert_int_equal(TIFFMergeFieldInfo(t, private_fields, sizeof private_fields / sizeof private_fields[0]), 0);
	TIFFSetField(t, TIFFTAG_IMAGEDESCRIPTION, "an orthophoto");
	TIFFSetField(t, TIFFTAG_MAKE, "Canon");
	TIFFSetField(t, TIFFTAG_MODEL, "EOS 5D");
	TIFFSetField(t, TIFFTAG_SOFTWARE, "test_io");
	TIFFSetField(t, TIFFTAG_DATETIME, "2024:01:02 03:04:05");
	TIFFSetField(t, TIFFTAG_ARTIST, "someone");
	TIFFSetField(t, TIFFTAG_HOSTCOMPUTER, "box");
	TIFFSetField(t, TIFFTAG_COPYRIGHT, "(c) nobody");
	TIFFSetField(t, TIFFTAG_DOCUMENTNAME, "doc");
	TIFFSetField(t, TIFFTAG_XRESOLUTION, 300.0);
	TIFFSetField(t, TIFFTAG_YRESOLUTION, 150.5);
	TIFFSetField(t, TIFFTAG_RESOLUTIONUNIT, RESUNIT_CENTIMETER);
	TIFFSetField(t, TIFFTAG_ORIENTATION, ORIENTATION_TOPLEFT);
	TIFFSetField(t, TIFFTAG_XMLPACKET, (uint32_t)strlen(xmp), xmp);
	TIFFSetField(t, TIFFTAG_RICHTIFFIPTC, (uint32_t)sizeof iptc, iptc);
	TIFFSetField(t, TIFFTAG_ICCPROFILE, (uint32_t)sizeof icc, icc);
	TIFFSetField(t, TIFFTAG_PHOTOSHOP, (uint32_t)sizeof ps, ps);
	TIFFSetField(t, 33550, 3, scale);
	TIFFSetField(t, 33922, 6, tie);
	TIFFSetField(t, 34264, 16, trans);
	TIFFSetField(t, 34735, 16, keys);
	TIFFSetField(t, 34736, 2, dparams);
	TIFFSetField(t, 34737, "WGS 84 / UTM zone 33N|WGS 84|");
	TIFFSetField(t, 42112, "<GDALMetadata>\n  <Item name=\"AREA\">test</Item>\n</GDALMetadata>\n");
	TIFFSetField(t, 42113, "-9999");
	TIFFSetField(t, 65000, (uint32_t)3, priv0);
	TIFFSetField(t, 65001, (uint32_t)6, "hello");
	TIFFSetField(t, 65002, (uint32_t)2, priv2);
	TIFFSetField(t, 65003, (uint32_t)5, priv3);
	TIFFSetField(t, 65004, (uint32_t)2, priv4);
	TIFFSetField(t, 65005, (uint32_t)1, &priv5);
	if (exif_off)
		TIFFSetField(t, TIFFTAG_EXIFIFD, exif_off);
	if (gps_off)
		TIFFSetField(t, TIFFTAG_GPSIFD, gps_off);
}

/* EXIF and GPS IFDs written first, as custom directories; their offsets. */
static void write_exif_gps(TIFF *t, uint64_t *exif_off, uint64_t *gps_off)
{
	static const uint16_t iso[2] = { 200, 400 };
	static const uint8_t gpsver[4] = { 2, 3, 0, 0 };
	static const double lat[3] = { 48, 6, 30.5 };
	assert_int_equal(TIFFCreateEXIFDirectory(t), 0);
	TIFFSetField(t, EXIFTAG_EXPOSURETIME, 1.0 / 250);
	TIFFSetField(t, EXIFTAG_FNUMBER, 5.6);
	TIFFSetField(t, EXIFTAG_ISOSPEEDRATINGS, 2, iso);
	TIFFSetField(t, EXIFTAG_EXIFVERSION, "0231");
	TIFFSetField(t, EXIFTAG_DATETIMEORIGINAL, "2024:05:06 07:08:09");
	TIFFSetField(t, EXIFTAG_USERCOMMENT, 12, "ASCII\0\0\0hi!!");
	assert_true(TIFFWriteCustomDirectory(t, exif_off));
	TIFFFreeDirectory(t);
	assert_int_equal(TIFFCreateGPSDirectory(t), 0);
	TIFFSetField(t, GPSTAG_VERSIONID, gpsver);
	TIFFSetField(t, GPSTAG_LATITUDEREF, "N");
	TIFFSetField(t, GPSTAG_LATITUDE, lat);
	TIFFSetField(t, GPSTAG_ALTITUDE, 520.25);
	assert_true(TIFFWriteCustomDirectory(t, gps_off));
	TIFFFreeDirectory(t);
	TIFFCreateDirectory(t);
}

static void write_pixels(TIFF *t, const struct tspec *sp, const uint8_t *img, size_t rowb)
{
	uint32_t np = sp->separate ? sp->spp : 1, cs = sp->separate ? 1 : sp->spp;
	size_t bytes = sp->bps / 8 ? sp->bps / 8 : 1;
	if (sp->tiled) {
		tmsize_t tsz = TIFFTileSize(t);
		uint8_t *tile = malloc((size_t)tsz);
		size_t trow = (size_t)tsz / sp->th;
		for (uint32_t p = 0; p < np; p++)
			for (uint32_t ty = 0; ty < sp->h; ty += sp->th)
				for (uint32_t tx = 0; tx < sp->w; tx += sp->tw) {
					memset(tile, 0, (size_t)tsz);
					for (uint32_t y = ty; sp->bps < 8 && y < ty + sp->th && y < sp->h; y++) {
						size_t off = (size_t)tx * sp->bps / 8; /* one sample, tiles of 16k */
						memcpy(tile + (size_t)(y - ty) * trow, img + (size_t)y * rowb + off,
						       rowb - off < trow ? rowb - off : trow);
					}
					for (uint32_t y = ty; sp->bps >= 8 && y < ty + sp->th && y < sp->h; y++)
						for (uint32_t x = tx; x < tx + sp->tw && x < sp->w; x++)
							for (uint32_t k = 0; k < cs; k++)
								memcpy(tile + (size_t)(y - ty) * trow + ((size_t)(x - tx) * cs + k) * bytes,
								       img + (size_t)y * rowb + ((size_t)x * sp->spp + (sp->separate ? p : k)) * bytes,
								       bytes);
					assert_true(TIFFWriteTile(t, tile, tx, ty, 0, (uint16_t)p) > 0);
				}
		free(tile);
	} else if (sp->separate) {
		uint8_t *row = malloc(rowb);
		for (uint16_t p = 0; p < sp->spp; p++)
			for (uint32_t y = 0; y < sp->h; y++) {
				for (uint32_t x = 0; x < sp->w; x++)
					memcpy(row + x * bytes, img + (size_t)y * rowb + ((size_t)x * sp->spp + p) * bytes, bytes);
				assert_true(TIFFWriteScanline(t, row, y, p) >= 0);
			}
		free(row);
	} else {
		uint8_t *row = malloc(rowb);
		for (uint32_t y = 0; y < sp->h; y++) {
			memcpy(row, img + (size_t)y * rowb, rowb);
			assert_true(TIFFWriteScanline(t, row, y, 0) >= 0);
		}
		free(row);
	}
}

static void write_spec(const char *p, const struct tspec *sp)
{
	char mode[8];
	size_t rowb;
	uint8_t *img = stored_image(sp, &rowb);
	uint64_t exif_off = 0, gps_off = 0;
	TIFF *t;
	test_geo_register();
	snprintf(mode, sizeof mode, "w%s%s", sp->bigtiff ? "8" : "", sp->msb ? "b" : "l");
	t = TIFFOpen(p, mode);
	assert_non_null(t);
	if (sp->tags)
		write_exif_gps(t, &exif_off, &gps_off);
	TIFFSetField(t, TIFFTAG_IMAGEWIDTH, sp->w);
	TIFFSetField(t, TIFFTAG_IMAGELENGTH, sp->h);
	TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, sp->spp);
	TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, sp->bps);
	TIFFSetField(t, TIFFTAG_SAMPLEFORMAT, SAMPLEFORMAT_UINT);
	TIFFSetField(t, TIFFTAG_PLANARCONFIG, sp->separate ? PLANARCONFIG_SEPARATE : PLANARCONFIG_CONTIG);
	TIFFSetField(t, TIFFTAG_COMPRESSION, sp->comp);
	TIFFSetField(t, TIFFTAG_PHOTOMETRIC, sp->photometric);
	if (sp->photometric == PHOTOMETRIC_PALETTE) {
		uint16_t map[3][256];
		for (int i = 0; i < 256; i++) {
			map[0][i] = (uint16_t)(i * 4099);
			map[1][i] = (uint16_t)(65535 - i * 97);
			map[2][i] = (uint16_t)((i * 31 % 256) << 8);
		}
		TIFFSetField(t, TIFFTAG_COLORMAP, map[0], map[1], map[2]);
	}
	if (sp->spp == 2 || sp->spp == 4) {
		uint16_t es = EXTRASAMPLE_ASSOCALPHA;
		TIFFSetField(t, TIFFTAG_EXTRASAMPLES, 1, &es);
	}
	if (sp->comp == COMPRESSION_JPEG && sp->photometric == PHOTOMETRIC_YCBCR) {
		TIFFSetField(t, TIFFTAG_JPEGQUALITY, 80);
		TIFFSetField(t, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);
	}
	if (sp->predictor)
		TIFFSetField(t, TIFFTAG_PREDICTOR, sp->predictor);
	if (sp->tiled) {
		TIFFSetField(t, TIFFTAG_TILEWIDTH, sp->tw);
		TIFFSetField(t, TIFFTAG_TILELENGTH, sp->th);
	} else {
		TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, sp->rps);
	}
	if (sp->tags)
		set_all_tags(t, exif_off, gps_off);
	write_pixels(t, sp, img, rowb);
	for (int pg = 0; pg < sp->pages; pg++) {
		uint8_t row[8] = { 0 };
		assert_true(TIFFWriteDirectory(t));
		TIFFSetField(t, TIFFTAG_SUBFILETYPE, FILETYPE_REDUCEDIMAGE);
		TIFFSetField(t, TIFFTAG_IMAGEWIDTH, 2);
		TIFFSetField(t, TIFFTAG_IMAGELENGTH, 1);
		TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
		TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
		TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
		TIFFWriteScanline(t, row, 0, 0);
	}
	TIFFClose(t);
	free(img);
}

/* Through the io layer, as a job does: reader -> writer with the reader's
 * metadata and compression, every row unchanged. */
static void io_copy(const char *in, const char *out)
{
	struct io_reader *r = NULL;
	struct io_writer *w = NULL;
	struct io_write_opts o = { .png_level = -1 };
	const struct io_info *ii;
	uint8_t *row;
	size_t rb;
	assert_int_equal(io_reader_open(in, &r), TP_OK);
	ii = io_reader_info(r);
	o.tiff_compression = io_reader_compression(r);
	rb = (size_t)ii->width * ii->channels * ii->bits / 8;
	row = malloc(rb);
	assert_int_equal(io_writer_open(out, ii, io_reader_meta(r), &o, &w), TP_OK);
	for (uint32_t y = 0; y < ii->height; y++) {
		assert_int_equal(io_reader_read_rows(r, row, rb, 1), TP_OK);
		assert_int_equal(io_writer_write_rows(w, row, rb, 1), TP_OK);
	}
	assert_int_equal(io_writer_finish(w), TP_OK);
	io_writer_close(w);
	io_reader_close(r);
	free(row);
}

/* A tag's value as bytes, by libtiff's calling convention for its field;
 * 0 when the directory lacks it. */
static int tag_bytes(TIFF *t, uint32_t tag, uint8_t *buf, size_t cap, size_t *len)
{
	const TIFFField *f = TIFFFindField(t, tag, TIFF_ANY);
	int rc, esz, ok;
	const void *p = NULL;
	uint64_t scalar = 0;
	size_t n = 1;
	if (!f)
		return 0;
	rc = TIFFFieldReadCount(f);
	esz = TIFFFieldSetGetSize(f);
	if (TIFFFieldPassCount(f)) {
		uint32_t n32 = 0;
		uint16_t n16 = 0;
		ok = rc == TIFF_VARIABLE2 ? TIFFGetField(t, tag, &n32, &p) : TIFFGetField(t, tag, &n16, &p);
		n = rc == TIFF_VARIABLE2 ? n32 : n16;
		if (TIFFFieldDataType(f) == TIFF_ASCII)
			esz = 1;
	} else if (TIFFFieldDataType(f) == TIFF_ASCII) {
		char *s = NULL;
		ok = TIFFGetField(t, tag, &s);
		p = s;
		n = s ? strlen(s) + 1 : 0;
		esz = 1;
	} else if (rc == 1) {
		ok = TIFFGetField(t, tag, &scalar);
		p = &scalar;
	} else {
		ok = TIFFGetField(t, tag, &p);
		n = rc > 1 ? (size_t)rc : 1;
	}
	if (!ok || !p)
		return 0;
	*len = n * (size_t)esz;
	assert_true(*len <= cap);
	memcpy(buf, p, *len);
	return 1;
}

/* Every custom tag of a's current directory is in b with the same bytes,
 * and b has no other; plus the listed libtiff fields. */
static void same_tags(TIFF *a, TIFF *b, const uint32_t *also, size_t nalso)
{
	static uint8_t va[4096], vb[4096];
	int na = TIFFGetTagListCount(a), nb = TIFFGetTagListCount(b);
	assert_true(na > 0);
	assert_int_equal(na, nb);
	for (int i = 0; i < na + (int)nalso; i++) {
		uint32_t tag = i < na ? TIFFGetTagListEntry(a, i) : also[i - na];
		size_t la = 0, lb = 0;
		int ha = tag_bytes(a, tag, va, sizeof va, &la), hb = tag_bytes(b, tag, vb, sizeof vb, &lb);
		if (tag == TIFFTAG_EXIFIFD || tag == TIFFTAG_GPSIFD) {
			assert_true(ha && hb); /* offsets: rewritten */
			continue;
		}
		if (!ha || !hb || la != lb || memcmp(va, vb, la))
			print_message("tag %u: %d/%d, %zu/%zu bytes\n", tag, ha, hb, la, lb);
		assert_true(ha);
		assert_true(hb);
		assert_int_equal(la, lb);
		assert_memory_equal(va, vb, la);
	}
}

struct tlayout {
	int tiled, big, msb;
	uint32_t tw, th, rps;
	uint16_t comp, pred, sfmt, planar, bps, spp, photometric, sub0, sub1, nextra, extra0;
};

static void get_layout(TIFF *t, struct tlayout *l)
{
	uint16_t *extra = NULL;
	memset(l, 0, sizeof *l);
	l->tiled = TIFFIsTiled(t);
	l->big = TIFFIsBigTIFF(t);
	l->msb = TIFFIsBigEndian(t);
	TIFFGetField(t, TIFFTAG_TILEWIDTH, &l->tw);
	TIFFGetField(t, TIFFTAG_TILELENGTH, &l->th);
	TIFFGetField(t, TIFFTAG_ROWSPERSTRIP, &l->rps);
	TIFFGetField(t, TIFFTAG_COMPRESSION, &l->comp);
	if (l->comp == COMPRESSION_LZW || l->comp == COMPRESSION_ADOBE_DEFLATE || l->comp == COMPRESSION_ZSTD)
		TIFFGetField(t, TIFFTAG_PREDICTOR, &l->pred);
	TIFFGetField(t, TIFFTAG_SAMPLEFORMAT, &l->sfmt);
	TIFFGetField(t, TIFFTAG_PLANARCONFIG, &l->planar);
	TIFFGetField(t, TIFFTAG_BITSPERSAMPLE, &l->bps);
	TIFFGetField(t, TIFFTAG_SAMPLESPERPIXEL, &l->spp);
	TIFFGetField(t, TIFFTAG_PHOTOMETRIC, &l->photometric);
	TIFFGetFieldDefaulted(t, TIFFTAG_YCBCRSUBSAMPLING, &l->sub0, &l->sub1);
	if (TIFFGetField(t, TIFFTAG_EXTRASAMPLES, &l->nextra, &extra) && l->nextra)
		l->extra0 = extra[0];
}

/* a copied through the io layer to b; both opened with libtiff, and their layouts */
static void copy_and_open(const char *a, const char *b, TIFF **ta, TIFF **tb, struct tlayout *la,
			  struct tlayout *lb)
{
	io_copy(a, b);
	*ta = TIFFOpen(a, "r");
	*tb = TIFFOpen(b, "r");
	assert_non_null(*ta);
	assert_non_null(*tb);
	get_layout(*ta, la);
	get_layout(*tb, lb);
}

/* Every strip or tile of a and b decodes to the same bytes. */
static void same_stored_pixels(TIFF *a, TIFF *b)
{
	uint32_t n = TIFFNumberOfStrips(a);
	tmsize_t sz = TIFFIsTiled(a) ? TIFFTileSize(a) : TIFFStripSize(a);
	uint8_t *ba = calloc(1, (size_t)sz), *bb = calloc(1, (size_t)sz);
	assert_int_equal(TIFFNumberOfStrips(b), n);
	for (uint32_t i = 0; i < n; i++) {
		tmsize_t ga = TIFFIsTiled(a) ? TIFFReadEncodedTile(a, i, ba, sz) : TIFFReadEncodedStrip(a, i, ba, sz);
		tmsize_t gb = TIFFIsTiled(b) ? TIFFReadEncodedTile(b, i, bb, sz) : TIFFReadEncodedStrip(b, i, bb, sz);
		assert_true(ga > 0);
		assert_int_equal(ga, gb);
		if (TIFFIsTiled(a)) { /* the padding of edge tiles is anybody's */
			uint32_t tw = 0, th = 0, w = 0, h = 0, tx, ty, across;
			uint16_t bps = 0, spp = 1, planar = 1;
			TIFFGetField(a, TIFFTAG_TILEWIDTH, &tw);
			TIFFGetField(a, TIFFTAG_TILELENGTH, &th);
			TIFFGetField(a, TIFFTAG_IMAGEWIDTH, &w);
			TIFFGetField(a, TIFFTAG_IMAGELENGTH, &h);
			TIFFGetField(a, TIFFTAG_BITSPERSAMPLE, &bps);
			TIFFGetFieldDefaulted(a, TIFFTAG_SAMPLESPERPIXEL, &spp);
			TIFFGetFieldDefaulted(a, TIFFTAG_PLANARCONFIG, &planar);
			across = (w + tw - 1) / tw;
			tx = i % across;
			ty = (i / across) % ((h + th - 1) / th);
			for (uint32_t y = 0; y < th && ty * th + y < h; y++) {
				uint32_t cols = w - tx * tw < tw ? w - tx * tw : tw;
				size_t rowbits = (size_t)cols * bps * (planar == PLANARCONFIG_SEPARATE ? 1 : spp);
				size_t trow = (size_t)sz / th;
				assert_memory_equal(ba + y * trow, bb + y * trow, rowbits / 8);
			}
		} else {
			assert_memory_equal(ba, bb, (size_t)ga);
		}
	}
	free(ba);
	free(bb);
}

/* Write sp, copy it through the io layer, and compare layout, tags and
 * (unless JPEG) the stored samples, with libtiff. */
static void check_mirror(const struct tspec *sp)
{
	const char *a = fx_path("mirror-in.tif"), *b = fx_path("mirror-out.tif");
	static const uint32_t core[] = { TIFFTAG_XRESOLUTION, TIFFTAG_YRESOLUTION,
					 TIFFTAG_RESOLUTIONUNIT, TIFFTAG_ORIENTATION };
	struct tlayout la, lb;
	TIFF *ta, *tb;
	TIFFSetWarningHandler(NULL); /* unknown tags, read here by libtiff directly */
	write_spec(a, sp);
	copy_and_open(a, b, &ta, &tb, &la, &lb);
	assert_int_equal(la.tiled, lb.tiled);
	assert_int_equal(la.tw, lb.tw);
	assert_int_equal(la.th, lb.th);
	if (!la.tiled)
		assert_int_equal(la.rps, lb.rps);
	assert_int_equal(la.comp, lb.comp);
	assert_int_equal(la.pred, lb.pred);
	assert_int_equal(la.sfmt, lb.sfmt);
	assert_int_equal(la.planar, lb.planar);
	assert_int_equal(la.bps, lb.bps);
	assert_int_equal(la.spp, lb.spp);
	assert_int_equal(la.photometric, lb.photometric);
	assert_int_equal(la.big, lb.big);
	assert_int_equal(la.msb, lb.msb);
	assert_int_equal(la.nextra, lb.nextra);
	assert_int_equal(la.extra0, lb.extra0);
	if (la.photometric == PHOTOMETRIC_YCBCR) {
		assert_int_equal(la.sub0, lb.sub0);
		assert_int_equal(la.sub1, lb.sub1);
	}
	if (la.photometric == PHOTOMETRIC_PALETTE) {
		uint16_t *ma[3], *mb[3];
		assert_true(TIFFGetField(ta, TIFFTAG_COLORMAP, &ma[0], &ma[1], &ma[2]));
		assert_true(TIFFGetField(tb, TIFFTAG_COLORMAP, &mb[0], &mb[1], &mb[2]));
		for (int k = 0; k < 3; k++)
			assert_memory_equal(ma[k], mb[k], ((size_t)1 << la.bps) * 2);
	}
	if (sp->comp != COMPRESSION_JPEG)
		same_stored_pixels(ta, tb);
	assert_int_equal(TIFFNumberOfDirectories(tb), 1);
	if (sp->tags) {
		uint64_t ea = 0, eb = 0, ga = 0, gb = 0;
		same_tags(ta, tb, core, sizeof core / sizeof core[0]);
		assert_true(TIFFGetField(ta, TIFFTAG_EXIFIFD, &ea) && TIFFGetField(tb, TIFFTAG_EXIFIFD, &eb));
		assert_true(TIFFGetField(ta, TIFFTAG_GPSIFD, &ga) && TIFFGetField(tb, TIFFTAG_GPSIFD, &gb));
		assert_true(TIFFReadEXIFDirectory(ta, ea) && TIFFReadEXIFDirectory(tb, eb));
		same_tags(ta, tb, NULL, 0);
		assert_true(TIFFReadGPSDirectory(ta, ga) && TIFFReadGPSDirectory(tb, gb));
		same_tags(ta, tb, NULL, 0);
	}
	TIFFClose(ta);
	TIFFClose(tb);
	unlink(a);
	unlink(b);
}

static void test_io_tiff_tags_kept(void **state)
{
	/* a tiled, deflate + predictor GeoTIFF with every kind of tag */
	struct tspec sp = { 70, 45, 3, 8, PHOTOMETRIC_RGB, COMPRESSION_ADOBE_DEFLATE,
			    PREDICTOR_HORIZONTAL, 1, 32, 32, 0, 0, 0, 0, 1, 0 };
	(void)state;
	check_mirror(&sp);
	/* the same tags on strips, big-endian BigTIFF, 16-bit separate planes */
	sp = (struct tspec){ 41, 23, 4, 16, PHOTOMETRIC_RGB, COMPRESSION_LZW, PREDICTOR_HORIZONTAL,
			     0, 0, 0, 5, 1, 1, 1, 1, 0 };
	check_mirror(&sp);
}

static void test_io_tiff_layout_kept(void **state)
{
	static const struct tspec specs[] = {
		/* w, h, spp, bps, photometric, comp, predictor, tiled, tw, th, rps, separate, msb, big */
		{ 50, 37, 3, 8, PHOTOMETRIC_RGB, COMPRESSION_PACKBITS, 0, 1, 16, 48, 0, 1, 0, 0, 0, 0 },
		{ 50, 37, 1, 16, PHOTOMETRIC_MINISBLACK, COMPRESSION_ZSTD, PREDICTOR_HORIZONTAL, 0, 0, 0, 3, 0, 0, 0, 0, 0 },
		{ 33, 17, 2, 8, PHOTOMETRIC_MINISBLACK, COMPRESSION_NONE, 0, 1, 64, 16, 0, 0, 1, 0, 0, 0 },
		{ 33, 17, 4, 8, PHOTOMETRIC_RGB, COMPRESSION_LZW, 0, 0, 0, 0, 33, 0, 0, 1, 0, 0 },
		{ 64, 40, 3, 8, PHOTOMETRIC_YCBCR, COMPRESSION_JPEG, 0, 1, 32, 32, 0, 0, 0, 0, 0, 0 },
		{ 64, 40, 3, 8, PHOTOMETRIC_YCBCR, COMPRESSION_JPEG, 0, 0, 0, 0, 16, 0, 0, 0, 0, 0 },
		{ 37, 21, 1, 8, PHOTOMETRIC_PALETTE, COMPRESSION_LZW, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0 },
		{ 37, 21, 1, 4, PHOTOMETRIC_PALETTE, COMPRESSION_PACKBITS, 0, 1, 16, 16, 0, 0, 0, 0, 0, 0 },
		{ 37, 21, 1, 8, PHOTOMETRIC_MINISWHITE, COMPRESSION_ADOBE_DEFLATE, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0 },
		{ 37, 21, 1, 2, PHOTOMETRIC_MINISBLACK, COMPRESSION_LZW, 0, 0, 0, 0, 21, 0, 0, 0, 0, 0 },
		{ 70, 21, 1, 1, PHOTOMETRIC_MINISWHITE, COMPRESSION_CCITTFAX4, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0 },
		{ 70, 21, 1, 1, PHOTOMETRIC_MINISBLACK, COMPRESSION_NONE, 0, 1, 32, 16, 0, 0, 1, 0, 0, 0 },
	};
	(void)state;
	for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
		check_mirror(&specs[i]);
}

/* ---- one-band int16 / float32 (elevation models) ---- */

/* A DEM-like sample at (x, y): a slope with the awkward values sprinkled in
 * (NaN with a payload, -0.0, infinities, the extremes, 8848.5). */
static void dem_sample(int fl, uint32_t x, uint32_t y, uint8_t *dst)
{
	uint32_t k = (x * 7 + y * 13) % 23;
	if (!fl) {
		int16_t v = (int16_t)((int32_t)x * 37 - (int32_t)y * 11 - 400);
		if (k == 0)
			v = -32768;
		else if (k == 1)
			v = 32767;
		memcpy(dst, &v, 2);
		return;
	}
	{
		float v = 1000.25f + (float)x * 0.5f - (float)y * 1.75f;
		uint32_t u;
		switch (k) {
		case 0: u = 0x7fc01234u; memcpy(&v, &u, 4); break;   /* NaN, payload 0x1234 */
		case 1: u = 0xffa00001u; memcpy(&v, &u, 4); break;   /* negative signalling-ish NaN */
		case 2: v = -0.0f; break;
		case 3: v = 8848.5f; break;
		case 4: v = -3.4028235e38f; break;
		case 5: u = 0x7f800000u; memcpy(&v, &u, 4); break;   /* +inf */
		case 6: v = 1e-42f; break;                            /* subnormal */
		default: break;
		}
		memcpy(dst, &v, 4);
	}
}

/* Write a one-band DEM TIFF with libtiff: int16 (fl 0) or float32 (fl 1),
 * tiled 16x16 or strips of 5 rows, comp and predictor as given, the byte
 * order msb, and a GDAL_NODATA tag when nodata is not NULL. */
static void write_dem(const char *p, int fl, uint32_t w, uint32_t h, int tiled, uint16_t comp,
		      uint16_t pred, int msb, const char *nodata)
{
	size_t bytes = fl ? 4 : 2;
	TIFF *t;
	test_geo_register();
	t = TIFFOpen(p, msb ? "wb" : "wl");
	assert_non_null(t);
	TIFFSetField(t, TIFFTAG_IMAGEWIDTH, w);
	TIFFSetField(t, TIFFTAG_IMAGELENGTH, h);
	TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
	TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, fl ? 32 : 16);
	TIFFSetField(t, TIFFTAG_SAMPLEFORMAT, fl ? SAMPLEFORMAT_IEEEFP : SAMPLEFORMAT_INT);
	TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
	TIFFSetField(t, TIFFTAG_COMPRESSION, comp);
	if (pred)
		TIFFSetField(t, TIFFTAG_PREDICTOR, pred);
	if (nodata)
		TIFFSetField(t, 42113, nodata);
	if (tiled) {
		uint8_t tile[16 * 16 * 4];
		TIFFSetField(t, TIFFTAG_TILEWIDTH, 16);
		TIFFSetField(t, TIFFTAG_TILELENGTH, 16);
		for (uint32_t ty = 0; ty < h; ty += 16)
			for (uint32_t tx = 0; tx < w; tx += 16) {
				memset(tile, 0, sizeof tile);
				for (uint32_t y = ty; y < ty + 16 && y < h; y++)
					for (uint32_t x = tx; x < tx + 16 && x < w; x++)
						dem_sample(fl, x, y, tile + ((y - ty) * 16 + (x - tx)) * bytes);
				assert_true(TIFFWriteTile(t, tile, tx, ty, 0, 0) > 0);
			}
	} else {
		uint8_t *row = malloc(w * bytes);
		TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 5);
		for (uint32_t y = 0; y < h; y++) {
			for (uint32_t x = 0; x < w; x++)
				dem_sample(fl, x, y, row + x * bytes);
			assert_true(TIFFWriteScanline(t, row, y, 0) >= 0);
		}
		free(row);
	}
	TIFFClose(t);
}

/* Read a DEM through the io layer: sample format, bits and every sample's
 * bits as written; then copy it and compare layout and stored samples with
 * libtiff (predictor 2 / 3 and the byte order kept). */
static void check_dem(int fl, int tiled, uint16_t comp, uint16_t pred, int msb)
{
	const char *a = fx_path("dem-in.tif"), *b = fx_path("dem-out.tif");
	uint32_t w = 37, h = 29;
	size_t bytes = fl ? 4 : 2;
	struct io_reader *r = NULL;
	const struct io_info *ii;
	uint8_t *row = malloc(w * bytes), want[4];
	struct tlayout la, lb;
	TIFF *ta, *tb;
	write_dem(a, fl, w, h, tiled, comp, pred, msb, fl ? "nan" : "-32768");
	assert_int_equal(io_reader_open(a, &r), TP_OK);
	ii = io_reader_info(r);
	assert_int_equal(ii->sample, fl ? IO_SAMPLE_FLOAT : IO_SAMPLE_INT);
	assert_int_equal(ii->bits, fl ? 32 : 16);
	assert_int_equal(ii->channels, 1);
	assert_string_equal(io_reader_nodata(r), fl ? "nan" : "-32768");
	for (uint32_t y = 0; y < h; y++) {
		assert_int_equal(io_reader_read_rows(r, row, w * bytes, 1), TP_OK);
		for (uint32_t x = 0; x < w; x++) {
			dem_sample(fl, x, y, want);
			if (memcmp(row + x * bytes, want, bytes))
				fail_msg("%s, %s, compression %u, predictor %u, %s: sample (%u, %u) "
					 "differs", fl ? "float" : "int16", tiled ? "tiled" : "strips",
					 comp, pred, msb ? "MM" : "II", x, y);
		}
	}
	io_reader_close(r);
	free(row);
	copy_and_open(a, b, &ta, &tb, &la, &lb);
	assert_int_equal(la.tiled, lb.tiled);
	assert_int_equal(la.comp, lb.comp);
	assert_int_equal(la.pred, lb.pred);
	assert_int_equal(lb.pred, pred ? pred : 0);
	assert_int_equal(la.sfmt, lb.sfmt);
	assert_int_equal(la.bps, lb.bps);
	assert_int_equal(la.msb, lb.msb);
	same_stored_pixels(ta, tb);
	TIFFClose(ta);
	TIFFClose(tb);
	unlink(a);
	unlink(b);
}

static void test_io_dem_roundtrip(void **state)
{
	(void)state;
	for (int fl = 0; fl <= 1; fl++) {
		uint16_t pred = fl ? PREDICTOR_FLOATINGPOINT : PREDICTOR_HORIZONTAL;
		check_dem(fl, 1, COMPRESSION_ADOBE_DEFLATE, pred, 0);
		check_dem(fl, 0, COMPRESSION_ADOBE_DEFLATE, pred, 0);
		check_dem(fl, 1, COMPRESSION_LZW, fl ? 0 : pred, 1);
		check_dem(fl, 0, COMPRESSION_ZSTD, fl ? 0 : pred, 1);   /* MM: see dem_refused */
		check_dem(fl, 0, COMPRESSION_NONE, 0, 0);
		check_dem(fl, 1, COMPRESSION_PACKBITS, 0, 1);
	}
}

/* Sample formats and layouts not taken are refused naming the format; PNG
 * and JPEG writers refuse signed and float samples rather than truncate. */
static void test_io_dem_refused(void **state)
{
	const char *p = fx_path("bad-dem.tif");
	struct io_reader *r = NULL;
	struct io_writer *w = NULL;
	struct io_info fi = { 8, 8, 1, 32, 0, IO_FORMAT_PNG, 0, IO_SAMPLE_FLOAT };
	static const struct { uint16_t sfmt, bps, spp; const char *says; } bad[] = {
		{ SAMPLEFORMAT_INT, 32, 1, "signed integer sample of 32 bits" },
		{ SAMPLEFORMAT_IEEEFP, 64, 1, "floating-point sample of 64 bits" },
		{ SAMPLEFORMAT_IEEEFP, 32, 3, "3 floating-point samples of 32 bits" },
		{ SAMPLEFORMAT_UINT, 32, 1, "unsigned 32-bit integers not supported" },
		{ SAMPLEFORMAT_COMPLEXIEEEFP, 32, 1, "complex float" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		TIFF *t = TIFFOpen(p, "w");
		uint8_t row[8 * 3 * 8] = { 0 };
		TIFFSetField(t, TIFFTAG_IMAGEWIDTH, 8);
		TIFFSetField(t, TIFFTAG_IMAGELENGTH, 1);
		TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, bad[i].spp);
		TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, bad[i].bps);
		TIFFSetField(t, TIFFTAG_SAMPLEFORMAT, bad[i].sfmt);
		TIFFSetField(t, TIFFTAG_PHOTOMETRIC, bad[i].spp == 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK);
		TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 1);
		TIFFWriteScanline(t, row, 0, 0);
		TIFFClose(t);
		assert_int_equal(io_reader_open(p, &r), TP_EFORMAT);
		assert_non_null(strstr(tp_errmsg(), p));
		if (!strstr(tp_errmsg(), bad[i].says))
			fail_msg("'%s' lacks '%s'", tp_errmsg(), bad[i].says);
	}
	/* big-endian floats with predictor 3: libtiff 4.5 reads them byte-swapped */
	write_dem(p, 1, 16, 16, 0, COMPRESSION_ADOBE_DEFLATE, PREDICTOR_FLOATINGPOINT, 1, NULL);
	assert_int_equal(io_reader_open(p, &r), TP_EFORMAT);
	assert_non_null(strstr(tp_errmsg(), "big-endian floats with the floating-point predictor"));
	assert_int_equal(io_writer_open(fx_path("f.png"), &fi, NULL, NULL, &w), TP_EUSAGE);
	assert_non_null(strstr(tp_errmsg(), "png cannot hold 32-bit float samples"));
	fi.format = IO_FORMAT_JPEG;
	fi.sample = IO_SAMPLE_INT;
	fi.bits = 16;
	assert_int_equal(io_writer_open(fx_path("f.jpg"), &fi, NULL, NULL, &w), TP_EUSAGE);
	assert_non_null(strstr(tp_errmsg(), "signed 16-bit"));
	unlink(p);
}

/* GDAL_NODATA as GDAL reads it, and the rows of holes it makes. */
static void test_io_nodata(void **state)
{
	struct io_info f = { 6, 1, 1, 32, 0, IO_FORMAT_TIFF, 0, IO_SAMPLE_FLOAT };
	struct io_info i16 = { 4, 1, 1, 16, 0, IO_FORMAT_TIFF, 0, IO_SAMPLE_INT };
	struct io_info u8 = { 4, 1, 1, 8, 0, IO_FORMAT_TIFF, 0, IO_SAMPLE_UINT };
	float fr[6] = { -9999.0f, 0.0f, -0.0f, 1.5f, 0, -9999.0f };
	int16_t ir[4] = { -32768, 0, 32767, -32768 };
	uint8_t ur[4] = { 0, 255, 0, 7 }, m[6];
	double v;
	uint32_t nan_bits = 0x7fc00042u;
	(void)state;
	memcpy(&fr[4], &nan_bits, 4);
	assert_int_equal(io_nodata_parse(&f, "-9999", &v), 0);
	assert_true(v == -9999.0);
	assert_int_equal(io_nodata_parse(&f, " -9999.0 \n", &v), 0);
	assert_int_equal(io_nodata_parse(&f, "nan", &v), 0);
	assert_true(v != v);
	assert_int_equal(io_nodata_parse(&f, "-3.4028234663852886e+38", &v), 0);
	assert_true(v == (double)-3.4028235e38f);
	assert_int_equal(io_nodata_parse(&f, "", &v), -1);
	assert_int_equal(io_nodata_parse(&f, "none", &v), -1);
	assert_int_equal(io_nodata_parse(&i16, "-32768", &v), 0);
	assert_int_equal(io_nodata_parse(&i16, "-32769", &v), -1);
	assert_int_equal(io_nodata_parse(&i16, "1.5", &v), -1);
	assert_int_equal(io_nodata_parse(&i16, "nan", &v), -1);
	assert_int_equal(io_nodata_parse(&u8, "256", &v), -1);
	assert_int_equal(io_nodata_parse(&u8, "0", &v), 0);
	io_row_nodata(&f, fr, -9999.0, m);
	assert_memory_equal(m, ((uint8_t[]){ 1, 0, 0, 0, 1, 1 }), 6);   /* NaN is always a hole */
	io_row_nodata(&f, fr, 0.0, m);
	assert_memory_equal(m, ((uint8_t[]){ 0, 1, 1, 0, 1, 0 }), 6);   /* -0.0 == 0.0 */
	io_row_nodata(&i16, ir, -32768.0, m);
	assert_memory_equal(m, ((uint8_t[]){ 1, 0, 0, 1 }), 4);
	io_row_nodata(&u8, ur, 0.0, m);
	assert_memory_equal(m, ((uint8_t[]){ 1, 0, 1, 0 }), 4);
	/* a float mask: nonzero (NaN too) is masked */
	io_row_to_binary(&f, fr, m);
	assert_memory_equal(m, ((uint8_t[]){ 1, 0, 0, 1, 1, 1 }), 6);
}

/* stderr of f() into buf (NUL-terminated). */
static void capture_stderr(void (*f)(void *), void *arg, char *buf, size_t n)
{
	const char *p = fx_path("stderr.txt");
	int saved = dup(2), fd;
	FILE *in;
	size_t got;
	fflush(stderr);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0 && saved >= 0);
	dup2(fd, 2);
	close(fd);
	f(arg);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	in = fopen(p, "r");
	got = fread(buf, 1, n - 1, in);
	buf[got] = 0;
	fclose(in);
	unlink(p);
}

static void copy_cb(void *arg)
{
	const char *const *ab = arg;
	io_copy(ab[0], ab[1]);
}

/* In a classic little-endian TIFF, the IFD entry of `tag` in the first
 * directory: its file offset, or 0. */
static long ifd_entry(const char *p, uint16_t tag)
{
	FILE *f = fopen(p, "rb");
	uint8_t h[8], e[12];
	uint16_t n;
	long at = 0;
	assert_non_null(f);
	assert_int_equal(fread(h, 1, 8, f), 8);
	fseek(f, (long)(h[4] | h[5] << 8 | h[6] << 16 | (uint32_t)h[7] << 24), SEEK_SET);
	assert_int_equal(fread(h, 1, 2, f), 2);
	n = (uint16_t)(h[0] | h[1] << 8);
	for (uint16_t i = 0; i < n && !at; i++) {
		long pos = ftell(f);
		assert_int_equal(fread(e, 1, 12, f), 12);
		if ((e[0] | e[1] << 8) == tag)
			at = pos;
	}
	fclose(f);
	return at;
}

static void patch(const char *p, long at, const void *bytes, size_t n)
{
	FILE *f = fopen(p, "r+b");
	assert_non_null(f);
	fseek(f, at, SEEK_SET);
	assert_int_equal(fwrite(bytes, 1, n, f), n);
	fclose(f);
}

static void test_io_tiff_tags_bad(void **state)
{
	struct tspec sp = { 40, 30, 3, 8, PHOTOMETRIC_RGB, COMPRESSION_LZW, 0, 0, 0, 0, 8, 0, 0, 0, 1, 2 };
	const char *a = fx_path("bad.tif"), *b = fx_path("bad-out.tif");
	const char *ab[2] = { a, b };
	static char err[8192];
	struct io_reader *r = NULL;
	long at;
	(void)state;

	/* pages after the first are dropped with one warning; an unknown type is corrupt */
	write_spec(a, &sp);
	capture_stderr(copy_cb, ab, err, sizeof err);
	assert_non_null(strstr(err, "bad.tif: 2 more TIFF pages not copied (2 of them reduced-resolution"));
	assert_null(strstr(err, "TIFF tag 65")); /* every private tag was copied */
	/* a tag libtiff does not carry (GrayResponseUnit, 290): a warning naming it */
	at = ifd_entry(a, 65005);
	assert_true(at > 0);
	patch(a, at, "\x22\x01", 2);
	capture_stderr(copy_cb, ab, err, sizeof err);
	assert_non_null(strstr(err, "bad.tif: TIFF tag 290 (GrayResponseUnit) not copied: libtiff does not carry this tag"));

	/* a tag's value past the end of the file */
	write_spec(a, &sp);
	at = ifd_entry(a, TIFFTAG_IMAGEDESCRIPTION);
	patch(a, at + 8, "\x00\x00\x00\x7f", 4);
	assert_int_equal(io_reader_open(a, &r), TP_EFORMAT);
	assert_non_null(strstr(tp_errmsg(), "bad.tif: corrupt TIFF tag 270 in the first page IFD"));
	/* a type that is no TIFF type */
	write_spec(a, &sp);
	patch(a, ifd_entry(a, TIFFTAG_MAKE) + 2, "\x63\x00", 2);
	assert_int_equal(io_reader_open(a, &r), TP_EFORMAT);
	assert_non_null(strstr(tp_errmsg(), "corrupt TIFF tag 271 in the first page IFD: type 99"));
	/* the EXIF IFD outside the file */
	write_spec(a, &sp);
	at = ifd_entry(a, TIFFTAG_EXIFIFD);
	assert_true(at > 0);
	patch(a, at + 8, "\xf0\xff\xff\x0f", 4);
	assert_int_equal(io_reader_open(a, &r), TP_EFORMAT);
	assert_non_null(strstr(tp_errmsg(), "bad.tif: corrupt TIFF: the EXIF IFD at offset"));
	/* a later page's IFD outside the file */
	sp.tags = 0;
	sp.pages = 0;
	write_spec(a, &sp);
	{
		FILE *f = fopen(a, "rb");
		uint8_t h[8];
		uint32_t off;
		uint16_t n;
		assert_int_equal(fread(h, 1, 8, f), 8);
		off = h[4] | h[5] << 8 | h[6] << 16 | (uint32_t)h[7] << 24;
		fseek(f, off, SEEK_SET);
		assert_int_equal(fread(h, 1, 2, f), 2);
		n = (uint16_t)(h[0] | h[1] << 8);
		fclose(f);
		patch(a, (long)off + 2 + 12L * n, "\x00\x00\x00\x70", 4);
	}
	assert_int_equal(io_reader_open(a, &r), TP_EFORMAT);
	assert_non_null(strstr(tp_errmsg(), "corrupt TIFF: the page 2 IFD"));
	assert_null(r);
	unlink(a);
	unlink(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_io_png_roundtrip),
		cmocka_unit_test(test_io_tiff_roundtrip),
		cmocka_unit_test(test_io_jpeg_roundtrip),
		cmocka_unit_test(test_io_jpeg_rejects_alpha_and_16),
		cmocka_unit_test(test_io_tiff_jpeg),
		cmocka_unit_test(test_io_tiff_tiled),
		cmocka_unit_test(test_io_tiff_separate),
		cmocka_unit_test(test_io_tiff_miniswhite_palette_bilevel),
		cmocka_unit_test(test_io_png_interlaced),
		cmocka_unit_test(test_io_png_palette_and_low_gray),
		cmocka_unit_test(test_io_jpeg_exif_orientation),
		cmocka_unit_test(test_io_png_exif_orientation),
		cmocka_unit_test(test_io_orient_plane),
		cmocka_unit_test(test_io_icc_survives),
		cmocka_unit_test(test_io_png_parallel),
		cmocka_unit_test(test_io_truncated),
		cmocka_unit_test(test_io_tiff_read_ahead_error),
		cmocka_unit_test(test_io_png_read_ahead),
		cmocka_unit_test(test_io_inflate_matches_zlib),
		cmocka_unit_test(test_io_inflate_corrupt),
		cmocka_unit_test(test_io_png_filters),
		cmocka_unit_test(test_io_jpeg_memory_cap),
		cmocka_unit_test(test_io_not_an_image_and_missing),
		cmocka_unit_test(test_io_limits),
		cmocka_unit_test(test_io_read_past_end),
		cmocka_unit_test(test_io_row_to_binary),
		cmocka_unit_test(test_io_row_to_mask),
		cmocka_unit_test(test_io_writer_unlink_on_abort),
		cmocka_unit_test(test_io_sniff_and_names),
		cmocka_unit_test(test_io_oom_loop),
		cmocka_unit_test(test_io_tiff_tags_kept),
		cmocka_unit_test(test_io_tiff_layout_kept),
		cmocka_unit_test(test_io_tiff_tags_bad),
		cmocka_unit_test(test_io_dem_roundtrip),
		cmocka_unit_test(test_io_dem_refused),
		cmocka_unit_test(test_io_nodata),
	};
	return cmocka_run_group_tests(tests, fx_tmpdir_setup, fx_tmpdir_teardown);
}
