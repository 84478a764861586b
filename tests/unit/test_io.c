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
#include <sys/stat.h>
#include <tiffio.h>
#include <unistd.h>

#include "src/io/raster.h"
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
	struct io_info in = { 37, 23, ch, bits, ch == 2 || ch == 4, fmt, 0 }, out;
	struct io_write_opts o = { 0, comp, level, NULL, NULL };
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
		struct io_info in = { 40, 24, ch, 8, 0, IO_FORMAT_JPEG, 0 }, out;
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
	struct io_info a = { 8, 8, 4, 8, 1, IO_FORMAT_JPEG, 0 };
	struct io_info b = { 8, 8, 3, 16, 0, IO_FORMAT_JPEG, 0 };
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
		struct io_info in = { 40, 40, ch, 8, 0, IO_FORMAT_TIFF, 0 }, out;
		struct io_write_opts o = { 95, COMPRESSION_JPEG, -1, NULL, NULL };
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
		struct io_info in = { 9, 7, 3, 16, 0, IO_FORMAT_TIFF, 0 }, out;
		struct io_write_opts o = { 0, COMPRESSION_JPEG, -1, NULL, NULL };
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
	struct io_info in = { w, h, spp, bps, 0, IO_FORMAT_TIFF, 0 };
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
	struct io_info in = { w, h, spp, bps, 0, IO_FORMAT_TIFF, 0 }, out;
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
	struct io_info in = { 29, 19, 3, 16, 0, IO_FORMAT_PNG, 0 }, out;
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
			struct io_info in = { 7, 5, 2, 16, 1, IO_FORMAT_PNG, 0 }, out;
			uint8_t exif[64];
			struct io_meta m = { NULL, 0, exif, make_exif(exif, le, o), NULL, 0, 0, 0, 0,
					     0, NULL, NULL };
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
	struct io_info in = { 16, 8, 3, 8, 0, fmt, 0 };
	uint8_t *icc = make_icc(icc_len, "RGB ");
	static const char *const keys[] = { "Software", "Description" };
	static const char *const vals[] = { "tilepaint-test", "a test image" };
	const char *xmp = "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"/>";
	struct io_meta m = { icc, icc_len, NULL, 0, (const uint8_t *)xmp, strlen(xmp),
			     300, 300, 1, 2, keys, vals };
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
	struct io_info in = { 64, 64, 3, 8, 0, IO_FORMAT_PNG, 0 };
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
	struct io_info big = { 1048577, 1, 1, 8, 0, IO_FORMAT_PNG, 0 };
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
	struct io_info in = { 4, 3, 1, 8, 0, IO_FORMAT_PNG, 0 };
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
	struct io_info g8 = { 4, 1, 1, 8, 0, IO_FORMAT_PNG, 0 };
	struct io_info ga8 = { 3, 1, 2, 8, 1, IO_FORMAT_PNG, 0 };
	struct io_info rgb8 = { 5, 1, 3, 8, 0, IO_FORMAT_PNG, 0 };
	struct io_info rgba16 = { 3, 1, 4, 16, 1, IO_FORMAT_PNG, 0 };
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

static void test_io_writer_unlink_on_abort(void **state)
{
	static const enum io_format fmts[] = { IO_FORMAT_PNG, IO_FORMAT_JPEG, IO_FORMAT_TIFF };
	(void)state;
	for (size_t i = 0; i < 3; i++) {
		struct io_info in = { 8, 8, 3, 8, 0, fmts[i], 0 };
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
		struct io_info in = { 8, 8, 3, 8, 0, IO_FORMAT_PNG, 0 };
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
				      fmts[f], 0 };
		uint8_t *img = make_image(&in, 0);
		const char *p = fx_path(f == 0 ? "oom.png" : f == 1 ? "oom.jpg" : "oom.tif");
		uint8_t icc[200];
		struct io_meta m = { icc, 0, NULL, 0, (const uint8_t *)"<xmp/>", 6, 72, 72, 1, 0,
				     NULL, NULL };
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
		cmocka_unit_test(test_io_truncated),
		cmocka_unit_test(test_io_jpeg_memory_cap),
		cmocka_unit_test(test_io_not_an_image_and_missing),
		cmocka_unit_test(test_io_limits),
		cmocka_unit_test(test_io_read_past_end),
		cmocka_unit_test(test_io_row_to_binary),
		cmocka_unit_test(test_io_writer_unlink_on_abort),
		cmocka_unit_test(test_io_sniff_and_names),
		cmocka_unit_test(test_io_oom_loop),
	};
	return cmocka_run_group_tests(tests, fx_tmpdir_setup, fx_tmpdir_teardown);
}
