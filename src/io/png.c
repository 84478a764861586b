/*
 * png.c - PNG reader and writer on libpng 1.6.
 * Reader: palette, low-bit gray and tRNS are expanded, 16-bit samples are
 * swapped to native order; interlaced images, and images whose eXIf chunk
 * (before IDAT) says they are stored rotated, are decoded whole (buffered).
 * Writer: libpng writes the signature, IHDR and the metadata chunks; the
 * IDAT stream is deflated on threads (png_zpar.c) and its chunks, and IEND,
 * are written here, with zlib's CRC-32; 16-bit written big-endian.
 * libpng reports errors by longjmp: the only setjmp is in png_guard(), and
 * every libpng call that may fail runs inside a step function called by it.
 * libpng allocates through tp_malloc, so OOM tests reach it too.
 */
#include "io_int.h"
#include "inflate.h"

#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <string.h>
#include <zlib.h>

#define XMP_KEY "XML:com.adobe.xmp"

struct png_ctx {
	FILE *f;
	png_structp png;
	png_infop info;
	int writing;
	int oom;                 /* an allocation failed inside libpng */
	char msg[200];           /* libpng's last error text */
	jmp_buf jb;
	/* step arguments */
	struct io_writer *w;
	const struct io_meta *meta;
	const struct io_write_opts *opts;
	uint8_t *row;            /* row for png_read_row / png_write_row */
	png_bytep *rows;         /* row pointers for a whole-image decode */
	png_textp text;          /* text chunks being written */
	int ntext;
	char *xmp;               /* NUL-terminated copy of the XMP packet */
	struct io_zpar *zp;      /* the IDAT stream being made */
	/* rows inflated (inflate.c) and unfiltered here, not by libpng */
	struct io_inflate *zin;
	uint32_t idat_left;      /* bytes left in the IDAT chunk being read */
	uint32_t crc;            /* its CRC-32 so far */
	int idat_started;        /* a chunk was begun (its CRC comes at its end) */
	int idat_done;           /* the IDAT chunks have ended (or failed) */
	int idat_eof;            /* the file ended right after an IDAT's CRC */
	uint8_t *cur, *prev;     /* this row and the one above, unfiltered, as stored */
	size_t rb;               /* bytes of a stored row */
	unsigned bpp;            /* bytes of a pixel (the filters' distance) */
	int swap16;              /* 16-bit samples to native order */
	int file_color, file_depth, file_trns;   /* as stored, before libpng's transformations */
	char in_err[80];         /* why the IDAT chunks failed, when they did */
};

/* libpng's output through stdio, keeping the system's reason for a failure
 * (its own png_init_io path only says "Write Error"). */
static void png_on_write(png_structp png, png_bytep data, size_t n)
{
	struct png_ctx *c = png_get_io_ptr(png);
	if (fwrite(data, 1, n, c->f) != n) {
		c->w->sys_errno = errno ? errno : EIO;
		png_error(png, "write failed");
	}
}

static void png_on_flush(png_structp png)
{
	struct png_ctx *c = png_get_io_ptr(png);
	if (fflush(c->f) != 0) {
		c->w->sys_errno = errno ? errno : EIO;
		png_error(png, "flush failed");
	}
}

static void png_on_error(png_structp png, png_const_charp msg)
{
	struct png_ctx *c = png_get_error_ptr(png);
	snprintf(c->msg, sizeof c->msg, "%s", msg);
	longjmp(c->jb, 1);
}

/* Fail a step without a png struct to report through. */
static _Noreturn void png_fail(struct png_ctx *c, const char *msg)
{
	snprintf(c->msg, sizeof c->msg, "%s", msg);
	c->oom = 1; /* libpng returns NULL only when its allocation failed */
	longjmp(c->jb, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg)
{
	(void)png;
	(void)msg; /* warnings (bad ancillary chunks) are not failures */
}

static png_voidp png_on_malloc(png_structp png, png_alloc_size_t n)
{
	void *p = tp_malloc(n);
	if (!p) {
		struct png_ctx *c = png_get_mem_ptr(png);
		c->oom = 1;
	}
	return p;
}

static void png_on_free(png_structp png, png_voidp p)
{
	(void)png;
	tp_free(p);
}

/* Run one step under libpng's error longjmp; 0 on success, -1 on error. */
static int png_guard(struct png_ctx *c, void (*step)(struct png_ctx *))
{
	c->oom = 0; /* libpng survives some failed allocations (dropped chunks) */
	if (setjmp(c->jb))
		return -1;
	step(c);
	return 0;
}

TP_MUST_USE static tp_status png_status(struct png_ctx *c, const char *path, const char *what)
{
	if (c->oom)
		return tp_err(TP_ENOMEM, "%s: out of memory %s", path, what);
	if (c->writing)
		return tp_err(TP_EIO, "%s: %s: %s", path, what, c->msg);
	return tp_err(TP_EFORMAT, "%s: %s: corrupt or truncated PNG (%s)", path, what, c->msg);
}

static void png_ctx_free(void *state)
{
	struct png_ctx *c = state;
	if (!c)
		return;
	io_zpar_free(c->zp);
	io_inflate_free(c->zin);
	tp_free(c->cur);
	tp_free(c->prev);
	if (c->png) {
		if (c->writing)
			png_destroy_write_struct(&c->png, &c->info);
		else
			png_destroy_read_struct(&c->png, &c->info, NULL);
	}
	if (c->f)
		fclose(c->f);
	tp_free(c->rows);
	tp_free(c->text);
	tp_free(c->xmp);
	tp_free(c);
}

/* ---- reader ---- */

static void step_read_header(struct png_ctx *c)
{
	int color, depth;
	c->png = png_create_read_struct_2(PNG_LIBPNG_VER_STRING, c, png_on_error,
					  png_on_warning, c, png_on_malloc, png_on_free);
	if (!c->png)
		png_fail(c, "cannot create reader");
	c->info = png_create_info_struct(c->png);
	if (!c->info)
		png_error(c->png, "cannot create info");
	png_set_user_limits(c->png, 1048576, 1048576);
#ifdef PNG_IGNORE_ADLER32
	/* every chunk's CRC-32 is checked (a corrupt IDAT still fails): zlib's
	 * Adler-32 over the same bytes, inflated, adds nothing but time */
	png_set_option(c->png, PNG_IGNORE_ADLER32, PNG_OPTION_ON);
#endif
	png_init_io(c->png, c->f);
	png_read_info(c->png, c->info);
	color = c->file_color = png_get_color_type(c->png, c->info);
	depth = c->file_depth = png_get_bit_depth(c->png, c->info);
	c->file_trns = png_get_valid(c->png, c->info, PNG_INFO_tRNS) != 0;
	if (color == PNG_COLOR_TYPE_PALETTE)
		png_set_palette_to_rgb(c->png);
	if (color == PNG_COLOR_TYPE_GRAY && depth < 8)
		png_set_expand_gray_1_2_4_to_8(c->png);
	if (png_get_valid(c->png, c->info, PNG_INFO_tRNS))
		png_set_tRNS_to_alpha(c->png);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (depth == 16)
		png_set_swap(c->png);
#endif
	if (png_get_interlace_type(c->png, c->info) != PNG_INTERLACE_NONE)
		png_set_interlace_handling(c->png);
	png_read_update_info(c->png, c->info);
}

static void step_read_row(struct png_ctx *c)
{
	png_read_row(c->png, c->row, NULL);
}

static void step_read_image(struct png_ctx *c)
{
	png_read_image(c->png, c->rows);
}

TP_MUST_USE static tp_status png_read_row_cb(struct io_reader *r, uint8_t *dst)
{
	struct png_ctx *c = r->state;
	char what[48];
	c->row = dst;
	if (png_guard(c, step_read_row)) {
		snprintf(what, sizeof what, "row %u", io_reader_decoding(r));
		return png_status(c, r->path, what);
	}
	return TP_OK;
}

/*
 * Rows without libpng. Once libpng has read the header and the chunks before
 * the image data (png_read_info stops just past the first IDAT's length and
 * type), the IDAT chunks are read here, their CRC-32 checked, their zlib
 * stream inflated by inflate.c and each row unfiltered. Used for what needs
 * no transformation but 16-bit byte order: gray, gray+alpha, RGB and RGBA of
 * 8 or 16 bits, not interlaced, without tRNS; libpng reads the rest. Two to
 * five times as fast as libpng on zlib 1.2: a mask PNG, nearly all long
 * runs, is decoded in a fifth of the time.
 */
static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static size_t idat_fail(struct png_ctx *c, const char *why)
{
	if (!c->in_err[0])
		snprintf(c->in_err, sizeof c->in_err, "%s", why);
	c->idat_done = 1;
	return 0;
}

/* io_inflate_fill: the next bytes of the IDAT chunks' data. */
static size_t idat_fill(void *ctx, uint8_t *dst, size_t room)
{
	struct png_ctx *c = ctx;
	size_t got = 0;
	while (got < room && !c->idat_done) {
		if (c->idat_left == 0) {
			uint8_t b[4], h[8];
			if (c->idat_started && fread(b, 1, 4, c->f) != 4)
				return got + idat_fail(c, ferror(c->f) ? "read error" : "file truncated");
			if (c->idat_started && be32(b) != c->crc)
				return got + idat_fail(c, "IDAT: CRC error");
			if (fread(h, 1, 8, c->f) != 8) {
				/* no chunk after this IDAT: an error only if rows are
				 * missing (idat_finish: libpng never looked for IEND) */
				c->idat_eof = !ferror(c->f);
				return got + idat_fail(c, ferror(c->f) ? "read error" : "file truncated");
			}
			c->idat_started = 1;
			if (memcmp(h + 4, "IDAT", 4) != 0) {
				c->idat_done = 1;   /* the image data has ended */
				break;
			}
			if (be32(h) > 0x7fffffffu)
				return got + idat_fail(c, "IDAT: invalid chunk length");
			c->idat_left = be32(h);
			c->crc = (uint32_t)crc32(0, h + 4, 4);
			continue;
		}
		size_t n = room - got < c->idat_left ? room - got : c->idat_left;
		size_t k = fread(dst + got, 1, n, c->f);
		c->crc = (uint32_t)crc32(c->crc, dst + got, (uInt)k);
		got += k;
		c->idat_left -= (uint32_t)k;
		if (k < n)
			return got + idat_fail(c, ferror(c->f) ? "read error" : "file truncated");
	}
	return got;
}

static int all_zero16(const uint8_t *p)
{
	uint64_t a, b;
	memcpy(&a, p, 8);
	memcpy(&b, p + 8, 8);
	return (a | b) == 0;
}

static int all_equal16(const uint8_t *p, uint8_t v)
{
	uint64_t a, b, w = 0x0101010101010101ull * v;
	memcpy(&a, p, 8);
	memcpy(&b, p + 8, 8);
	return a == w && b == w;
}

static uint8_t paeth(uint8_t a, uint8_t b, uint8_t c)
{
	int pa = abs((int)b - c), pb = abs((int)a - c), pc = abs((int)a + b - 2 * c);
	return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* Undo a row's filter: cur from the filtered bytes f and the row above.
 * Runs of zero filter bytes (most of a mask) are filled, not added up. */
TP_MUST_USE static int unfilter(uint8_t *restrict cur, const uint8_t *restrict prev,
				const uint8_t *restrict f, size_t rb, unsigned bpp, unsigned type)
{
	size_t i = 0;
	switch (type) {
	case 0:
		memcpy(cur, f, rb);
		return 0;
	case 1:
		for (; i < bpp; i++)
			cur[i] = f[i];
		if (bpp == 1) {
			for (; i < rb; i++) {
				if ((i & 15) == 1 && i + 16 <= rb && all_zero16(f + i)) {
					/* nothing added: the last byte, for all 16 */
					memset(cur + i, cur[i - 1], 16);
					i += 15;
					continue;
				}
				cur[i] = (uint8_t)(f[i] + cur[i - 1]);
			}
			return 0;
		}
		for (; i < rb; i++)
			cur[i] = (uint8_t)(f[i] + cur[i - bpp]);
		return 0;
	case 2:
		for (; i < rb; i++)
			cur[i] = (uint8_t)(f[i] + prev[i]);
		return 0;
	case 3:
		for (; i < bpp; i++)
			cur[i] = (uint8_t)(f[i] + (prev[i] >> 1));
		for (; i < rb; i++)
			cur[i] = (uint8_t)(f[i] + ((cur[i - bpp] + prev[i]) >> 1));
		return 0;
	case 4:
		for (; i < bpp; i++)
			cur[i] = (uint8_t)(f[i] + prev[i]);   /* a = c = 0: the prediction is b */
		if (bpp == 1) {
			for (; i < rb; i++) {
				if ((i & 15) == 1 && i + 16 <= rb && prev[i - 1] == cur[i - 1] &&
				    all_zero16(f + i) && all_equal16(prev + i, cur[i - 1])) {
					/* a = b = c: the prediction is a, for all 16 */
					memset(cur + i, cur[i - 1], 16);
					i += 15;
					continue;
				}
				cur[i] = (uint8_t)(f[i] + paeth(cur[i - 1], prev[i], prev[i - 1]));
			}
			return 0;
		}
		for (; i < rb; i++)
			cur[i] = (uint8_t)(f[i] + paeth(cur[i - bpp], prev[i], prev[i - bpp]));
		return 0;
	default:
		return -1;
	}
}

/* After the last row: the rest of the IDAT chunks read, for their CRC-32
 * (as libpng checks them): 0, or -1 with in_err set (a file that ends just
 * after the last IDAT, without IEND, is not a failure: libpng's reader
 * accepts it). */
static int idat_finish(struct png_ctx *c)
{
	uint8_t *scratch = c->cur;   /* free once the last row is out */
	while (idat_fill(c, scratch, c->rb) > 0)
		;
	return c->in_err[0] && !c->idat_eof ? -1 : 0;
}

TP_MUST_USE static tp_status png_fast_row_cb(struct io_reader *r, uint8_t *dst)
{
	struct png_ctx *c = r->state;
	const uint8_t *f;
	uint8_t *t;
	const char *why;
	char what[48];
	if (io_inflate_get(c->zin, c->rb + 1, &f) == 0 &&
	    unfilter(c->cur, c->prev, f + 1, c->rb, c->bpp, f[0]) == 0) {
		if (c->swap16)
			for (size_t i = 0; i < c->rb; i += 2) {
				dst[i] = c->cur[i + 1];
				dst[i + 1] = c->cur[i];
			}
		else
			memcpy(dst, c->cur, c->rb);
		t = c->cur;
		c->cur = c->prev;
		c->prev = t;
		if (io_reader_decoding(r) + 1 < r->info.height || idat_finish(c) == 0)
			return TP_OK;
	}
	if (c->in_err[0])
		why = c->in_err;
	else if (io_inflate_error(c->zin)[0])
		why = io_inflate_error(c->zin);
	else
		why = "bad adaptive filter value";
	snprintf(what, sizeof what, "row %u", io_reader_decoding(r));
	snprintf(c->msg, sizeof c->msg, "%s", why);
	return png_status(c, r->path, what);
}

/* Take the rows over from libpng when the image needs no transformation
 * (above): TP_OK either way, TP_ENOMEM when the buffers cannot be had. */
TP_MUST_USE static tp_status png_fast_open(struct io_reader *r, struct png_ctx *c)
{
	int depth = c->file_depth;
	uint8_t h[8];
	/* (called for images that are not interlaced) */
	if ((depth != 8 && depth != 16) || c->file_color == PNG_COLOR_TYPE_PALETTE || c->file_trns)
		return TP_OK;
	/* libpng has read the first IDAT's length and type: read them again */
	if (fseek(c->f, -8, SEEK_CUR) != 0 || fread(h, 1, 8, c->f) != 8 ||
	    memcmp(h + 4, "IDAT", 4) != 0 || fseek(c->f, -8, SEEK_CUR) != 0)
		return tp_err(TP_EFORMAT, "%s: header: corrupt or truncated PNG (no image data "
			      "where libpng left off)", r->path);
	c->rb = io_row_bytes(&r->info);
	c->bpp = (unsigned)(r->info.channels * (unsigned)depth / 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	c->swap16 = depth == 16;
#endif
	c->cur = tp_malloc(c->rb);
	c->prev = tp_calloc(1, c->rb);   /* the row above the first is zeros */
	c->zin = io_inflate_new(c->rb + 1, idat_fill, c);
	if (!c->cur || !c->prev || !c->zin)
		return tp_err(TP_ENOMEM, "%s: out of memory", r->path);
	r->read_row = png_fast_row_cb;
	return TP_OK;
}

TP_MUST_USE static tp_status png_read_meta(struct io_reader *r, struct png_ctx *c)
{
	png_charp name;
	int ctype, ntext = 0;
	png_bytep prof;
	png_uint_32 plen, rx, ry;
	png_textp text;
	png_bytep exif;
	png_uint_32 exif_len;
	tp_status s;

	if (png_get_iCCP(c->png, c->info, &name, &ctype, &prof, &plen) && prof && plen) {
		if ((s = io_meta_set_icc(r, prof, plen)))
			return s;
	}
	if (png_get_eXIf_1(c->png, c->info, &exif_len, &exif) && exif && exif_len) {
		if ((s = io_meta_set_exif(r, exif, exif_len)))
			return s;
	}
	if (png_get_text(c->png, c->info, &text, &ntext) > 0) {
		for (int i = 0; i < ntext; i++) {
			const char *t = text[i].text ? text[i].text : "";
			if (!strcmp(text[i].key, XMP_KEY))
				s = io_meta_set_xmp(r, (const uint8_t *)t, strlen(t));
			else
				s = io_meta_add_text(r, text[i].key, t, strlen(t));
			if (s)
				return s;
		}
	}
	if (png_get_pHYs(c->png, c->info, &rx, &ry, &ctype)) {
		if (ctype == PNG_RESOLUTION_METER) {
			r->meta.xres = rx / 100.0;
			r->meta.yres = ry / 100.0;
			r->meta.res_unit = 2;
		} else {
			r->meta.xres = rx;
			r->meta.yres = ry;
			r->meta.res_unit = 0;
		}
	}
	return TP_OK;
}

TP_MUST_USE static tp_status png_open(struct io_reader *r)
{
	struct png_ctx *c = tp_calloc(1, sizeof *c);
	tp_status s;

	if (!c)
		return tp_err(TP_ENOMEM, "%s: out of memory", r->path);
	r->state = c;
	r->free_state = png_ctx_free;
	c->f = r->f;   /* ours now */
	r->f = NULL;
	if (png_guard(c, step_read_header))
		return png_status(c, r->path, "header");
	r->info.width = png_get_image_width(c->png, c->info);
	r->info.height = png_get_image_height(c->png, c->info);
	r->info.channels = png_get_channels(c->png, c->info);
	r->info.bits = png_get_bit_depth(c->png, c->info);
	r->info.alpha = r->info.channels == 2 || r->info.channels == 4;
	if ((s = io_reader_check(r)))
		return s;
	if (png_get_rowbytes(c->png, c->info) != io_row_bytes(&r->info))
		return tp_err(TP_EFORMAT, "%s: unexpected PNG row layout", r->path);
	if ((s = png_read_meta(r, c)))
		return s;
	r->read_row = png_read_row_cb;
	if (png_get_interlace_type(c->png, c->info) == PNG_INTERLACE_NONE) {
		r->ahead_ok = 1;   /* the decoder's state is touched by one thread at a time */
		return png_fast_open(r, c);
	}
	/* interlaced: decode the whole image */
	if ((s = io_reader_alloc_image(r)))
		return s;
	c->rows = tp_malloc(r->info.height * sizeof *c->rows);
	if (!c->rows)
		return tp_err(TP_ENOMEM, "%s: out of memory", r->path);
	for (uint32_t y = 0; y < r->info.height; y++)
		c->rows[y] = r->image + (size_t)y * r->image_stride;
	if (png_guard(c, step_read_image)) {
		char what[64];
		snprintf(what, sizeof what, "row %u (pass %d)",
			 (unsigned)png_get_current_row_number(c->png),
			 png_get_current_pass_number(c->png));
		return png_status(c, r->path, what);
	}
	TP_FREE(c->rows);
	return s;
}

/* ---- writer ---- */

/* PNG keywords: 1-79 printable Latin-1, no leading, trailing or double spaces. */
static int png_key_ok(const char *k)
{
	size_t n = strlen(k);
	if (n < 1 || n > 79 || k[0] == ' ' || k[n - 1] == ' ')
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)k[i];
		if (ch < 32 || (ch > 126 && ch < 161) || (ch == ' ' && k[i + 1] == ' '))
			return 0;
	}
	return 1;
}

static int is_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return 0;
	return 1;
}

static void step_write_header(struct png_ctx *c)
{
	const struct io_info *in = &c->w->info;
	const struct io_meta *m = c->meta;
	static const int types[] = { 0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA,
				     PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA };
	c->png = png_create_write_struct_2(PNG_LIBPNG_VER_STRING, c, png_on_error,
					   png_on_warning, c, png_on_malloc, png_on_free);
	if (!c->png)
		png_fail(c, "cannot create writer");
	c->info = png_create_info_struct(c->png);
	if (!c->info)
		png_error(c->png, "cannot create info");
	png_set_benign_errors(c->png, 1); /* a bad ICC profile is dropped, not fatal */
	png_set_write_fn(c->png, c, png_on_write, png_on_flush);
	png_set_IHDR(c->png, c->info, in->width, in->height, (int)in->bits,
		     types[in->channels], PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
		     PNG_FILTER_TYPE_DEFAULT);
	if (m && m->icc && m->icc_len)
		png_set_iCCP(c->png, c->info, "ICC profile", PNG_COMPRESSION_TYPE_BASE,
			     m->icc, (png_uint_32)m->icc_len);
	if (m && m->exif && m->exif_len && m->exif_len < 0x7fffffff)
		png_set_eXIf_1(c->png, c->info, (png_uint_32)m->exif_len, (png_bytep)m->exif);
	if (c->ntext)
		png_set_text(c->png, c->info, c->text, c->ntext);
	if (m && m->xres > 0 && m->yres > 0) {
		double f = m->res_unit == 1 ? 1 / 0.0254 : m->res_unit == 2 ? 100.0 : 1.0;
		double x = m->xres * f + 0.5, y = m->yres * f + 0.5;
		if (x < 2147483647.0 && y < 2147483647.0)
			png_set_pHYs(c->png, c->info, (png_uint_32)x, (png_uint_32)y,
				     m->res_unit ? PNG_RESOLUTION_METER : PNG_RESOLUTION_UNKNOWN);
	}
	png_write_info(c->png, c->info);
}

/* One chunk (IDAT, IEND) straight to the file: length, type, data, CRC-32. */
TP_MUST_USE static tp_status png_put_chunk(struct io_writer *w, FILE *f, const char *type,
					   const uint8_t *p, size_t n)
{
	uint8_t head[8], tail[4];
	uLong crc = crc32(0L, (const Bytef *)type, 4);
	for (size_t off = 0; off < n; off += 1u << 30)
		crc = crc32(crc, p + off, (uInt)(n - off < (1u << 30) ? n - off : 1u << 30));
	for (int i = 0; i < 4; i++) {
		head[i] = (uint8_t)(n >> (24 - 8 * i));
		head[4 + i] = (uint8_t)type[i];
		tail[i] = (uint8_t)(crc >> (24 - 8 * i));
	}
	if (fwrite(head, 1, 8, f) != 8 || (n && fwrite(p, 1, n, f) != n) ||
	    fwrite(tail, 1, 4, f) != 4) {
		w->sys_errno = errno ? errno : EIO;
		return tp_err(TP_EIO, "writing %s: %s", w->name, strerror(w->sys_errno));
	}
	return TP_OK;
}

/* A piece of the IDAT stream as IDAT chunks (each under 2^31 bytes). */
TP_MUST_USE static tp_status png_emit_idat(void *ctx, const uint8_t *p, size_t n)
{
	struct png_ctx *c = ctx;
	const size_t max = (size_t)1 << 30;
	tp_status s = TP_OK;
	for (size_t off = 0; s == TP_OK && off < n; off += max)
		s = png_put_chunk(c->w, c->f, "IDAT", p + off, n - off < max ? n - off : max);
	return s;
}

TP_MUST_USE static tp_status png_write_row_cb(struct io_writer *w, const uint8_t *src)
{
	struct png_ctx *c = w->state;
	return io_zpar_row(c->zp, src);
}

TP_MUST_USE static tp_status png_finish_cb(struct io_writer *w)
{
	struct png_ctx *c = w->state;
	tp_status s = io_zpar_finish(c->zp);
	if (s == TP_OK)
		s = png_put_chunk(w, c->f, "IEND", NULL, 0);
	if (s != TP_OK)
		return s;
	return io_close_output(w, &c->f);
}

/* The deflate settings. By default RLE on the filtered rows (measured on
 * photos: smaller than libpng's level 9 and as fast as level 1, README,
 * Performance); a level given explicitly is zlib's level with libpng's
 * strategy (filtered), for pictures where longer matches pay. */
TP_MUST_USE static tp_status png_start_idat(struct io_writer *w, struct png_ctx *c)
{
	const struct io_write_opts *o = c->opts;
	int given = o && o->png_level >= 0 && o->png_level <= 9;
	int level = given ? o->png_level : IO_PNG_LEVEL_DEFAULT;
	int strategy = o && o->png_strategy ? o->png_strategy - 1
			: given ? IO_PNG_STRATEGY_LEVEL : IO_PNG_STRATEGY_DEFAULT;
	struct io_zpar_spec sp = {
		.name = w->name,
		.row_bytes = io_row_bytes(&w->info),
		.bpp = w->info.channels * (w->info.bits / 8),
		.height = w->info.height,
		.level = level,
		.strategy = strategy,
		.swap16 = w->info.bits == 16 && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
		.threads = o ? o->threads : 0,
		.emit = png_emit_idat,
		.ctx = c,
	};
	return io_zpar_new(&sp, &c->zp);
}

/* Build the text chunk list (keys validated, XMP as iTXt) before the header step. */
TP_MUST_USE static tp_status png_prepare_text(struct io_writer *w, struct png_ctx *c, const struct io_meta *m)
{
	size_t n = (m ? m->ntext : 0) + 1;
	c->text = tp_calloc(n, sizeof *c->text);
	if (!c->text)
		return tp_err(TP_ENOMEM, "%s: out of memory", w->path);
	for (size_t i = 0; m && i < m->ntext; i++) {
		png_textp t = &c->text[c->ntext];
		if (!m->text_keys[i] || !m->text_values[i] || !png_key_ok(m->text_keys[i]) ||
		    !strcmp(m->text_keys[i], XMP_KEY))
			continue;
		t->key = (png_charp)m->text_keys[i];
		t->text = (png_charp)m->text_values[i];
		t->compression = is_ascii(t->text) ? PNG_TEXT_COMPRESSION_NONE
						   : PNG_ITXT_COMPRESSION_NONE;
		c->ntext++;
	}
	if (m && m->xmp && m->xmp_len) {
		png_textp t = &c->text[c->ntext];
		c->xmp = tp_malloc(m->xmp_len + 1);
		if (!c->xmp)
			return tp_err(TP_ENOMEM, "%s: out of memory", w->path);
		memcpy(c->xmp, m->xmp, m->xmp_len);
		c->xmp[m->xmp_len] = 0;
		t->key = (png_charp)XMP_KEY;
		t->text = c->xmp;
		t->compression = PNG_ITXT_COMPRESSION_NONE;
		c->ntext++;
	}
	return TP_OK;
}

TP_MUST_USE static tp_status png_create(struct io_writer *w, const struct io_meta *meta,
					const struct io_write_opts *opts)
{
	struct png_ctx *c = tp_calloc(1, sizeof *c);
	tp_status s;

	if (!c)
		return tp_err(TP_ENOMEM, "%s: out of memory", w->path);
	w->state = c;
	w->free_state = png_ctx_free;
	c->writing = 1;
	c->w = w;
	c->meta = meta;
	c->opts = opts;
	c->f = fopen(w->path, "wb");
	if (!c->f)
		return tp_err(TP_ECREATE, "%s: cannot create: %s", w->path, strerror(errno));
	w->created = 1;
	if ((s = png_prepare_text(w, c, meta)))
		return s;
	if (png_guard(c, step_write_header))
		return png_status(c, w->path, "writing header");
	if ((s = png_start_idat(w, c)) != TP_OK)
		return s;
	w->write_row = png_write_row_cb;
	w->finish = png_finish_cb;
	return TP_OK;
}

static int png_probe(const uint8_t *head, size_t n)
{
	static const uint8_t png_sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
	return n >= 8 && !memcmp(head, png_sig, 8);
}

static const char *const png_extensions[] = { "png", NULL };

/* A row and its filtered copies, and zlib's deflate state (about 256 KiB at
 * level 9 with the default window and memLevel). */
static size_t png_mem_need(const struct io_info *info, const struct io_meta *meta,
			   const struct io_write_opts *opts)
{
	/* the parallel deflate (png_zpar.c): 2 threads + 2 chunks in flight (2
	 * alone), each about 512 KiB of filtered rows with its dictionary's rows,
	 * as much compressed, five filtered row candidates and zlib's state */
	uint32_t t = opts->threads < IO_PAR_MAX_THREADS ? opts->threads : IO_PAR_MAX_THREADS;
	size_t chunks = t > 1 ? 2 * (size_t)t + 2 : 2, rb = io_row_bytes(info) + 1;
	(void)meta;
	return chunks * (((size_t)1 << 20) + ((size_t)64 << 10) + 9 * rb + ((size_t)512 << 10)) +
	       4 * rb + ((size_t)1 << 20);
}

const struct io_format_ops io_png_format = {
	IO_FORMAT_PNG, "png", png_extensions, png_probe, png_open, png_create, png_mem_need
};
