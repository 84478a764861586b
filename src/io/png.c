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
	color = png_get_color_type(c->png, c->info);
	depth = png_get_bit_depth(c->png, c->info);
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
		r->ahead_ok = 1;   /* libpng's state is touched by one thread at a time */
		return TP_OK;
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
