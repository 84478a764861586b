/*
 * raster.c - the public reader and writer of raster.h on top of the format
 * back ends: sniffing and format names, opening a file through the back end
 * of its format, handing out rows (decoded one at a time by read_row or
 * copied from the whole image in r->image; callers never see the difference
 * except through io_info.buffered), and the writer's checks, rows and error
 * messages. The top of src/io: it reaches the back ends (png.c, jpeg.c,
 * tiff.c) through the table of their struct io_format_ops, calls
 * io_common.c, and nothing in src/io calls it.
 */
#include "io_int.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* The formats, in the order their signatures are tried. */
static const struct io_format_ops *const formats[] = {
	&io_png_format, &io_jpeg_format, &io_tiff_format
};
#define NFORMATS (sizeof formats / sizeof formats[0])

/* The back end of format f, or NULL. */
static const struct io_format_ops *format_ops(enum io_format f)
{
	for (size_t i = 0; i < NFORMATS; i++)
		if (formats[i]->format == f)
			return formats[i];
	return NULL;
}

enum io_format io_sniff(const uint8_t *head, size_t n)
{
	for (size_t i = 0; i < NFORMATS; i++)
		if (formats[i]->probe(head, n))
			return formats[i]->format;
	return IO_FORMAT_UNKNOWN;
}

enum io_format io_format_from_name(const char *path)
{
	const char *dot = path ? strrchr(path, '.') : NULL;
	if (!dot || strchr(dot, '/'))
		return IO_FORMAT_UNKNOWN;
	dot++;
	for (size_t i = 0; i < NFORMATS; i++)
		for (const char *const *e = formats[i]->extensions; *e; e++)
			if (!strcasecmp(dot, *e))
				return formats[i]->format;
	return IO_FORMAT_UNKNOWN;
}

const char *io_format_name(enum io_format f)
{
	const struct io_format_ops *ops = format_ops(f);
	return ops ? ops->name : "unknown";
}

tp_status io_reader_open(const char *path, struct io_reader **out)
{
	struct io_reader *r = NULL;
	const struct io_format_ops *ops;
	uint8_t head[16];
	size_t n;
	struct stat st;
	FILE *f;
	int fd;
	tp_status s;

	*out = NULL;
	if ((s = tp_open_regular(path, &fd, &st)) != TP_OK)
		return s;
	if (!(f = fdopen(fd, "rb"))) {
		s = tp_err(TP_EIO, "%s: %s", path, strerror(errno));
		close(fd);
		return s;
	}
	n = fread(head, 1, sizeof head, f);
	if ((n < sizeof head && ferror(f)) || fseek(f, 0, SEEK_SET) != 0) {
		s = tp_err(TP_EIO, "%s: cannot read: %s", path, strerror(errno));
		fclose(f);
		return s;
	}
	r = tp_calloc(1, sizeof *r);
	if (!r) {
		fclose(f);
		return tp_err(TP_ENOMEM, "%s: out of memory", path);
	}
	r->f = f;
	r->path = tp_strdup(path);
	if (!r->path) {
		s = tp_err(TP_ENOMEM, "%s: out of memory", path);
		goto out;
	}
	r->file_size = st.st_size > 0 ? (uint64_t)st.st_size : 0;
	r->info.format = io_sniff(head, n);
	ops = format_ops(r->info.format);
	if (ops)
		s = ops->open(r);
	else
		s = tp_err(TP_EFORMAT, "%s: not a PNG, JPEG or TIFF file", path);
	if (!s)
		s = io_reader_check(r);
out:
	if (s) {
		io_reader_close(r);
		return s;
	}
	*out = r;
	return TP_OK;
}

const struct io_info *io_reader_info(const struct io_reader *r)
{
	return &r->info;
}

const struct io_meta *io_reader_meta(const struct io_reader *r)
{
	return &r->meta;
}

const char *io_reader_nodata(const struct io_reader *r)
{
	return r->nodata;
}

int io_reader_compression(const struct io_reader *r)
{
	return r->compression;
}

uint32_t io_reader_row(const struct io_reader *r)
{
	return r->row;
}

/*
 * Read-ahead for back ends that allow it (ahead_ok): two blocks of rows; a
 * thread of its own (io_bg) decodes the next block while the caller is
 * handed rows from the current one, so decoding (inflate, unfiltering)
 * runs beside the caller's work. The back end is called from that thread
 * only, one row after another, as it would be from the caller's. A failed
 * row is reported when the caller reaches it, with the back end's message.
 */
#define IO_AHEAD_BYTES ((size_t)1 << 20)   /* about this much a block (more gains
						    * nothing measurable, and costs under
						    * a tight --mem-limit) */

struct io_ahead {
	struct io_bg *bg;
	struct io_reader *r;
	size_t rb;                 /* bytes a row */
	uint32_t k;                /* rows a block */
	uint8_t *buf[2];
	uint32_t first[2], got[2]; /* first row of each block, rows decoded into it */
	tp_status st[2];           /* after got rows: TP_OK, or why the next failed */
	char msg[2][512];
	int cur;                   /* the block rows are handed from */
	int fill;                  /* the block the thread decodes (its job's) */
	uint32_t next;             /* first row of the next block to start */
};

/* Rows a block holds for rows of rb bytes in an image of `height` rows. */
static uint32_t ahead_rows(size_t rb, uint32_t height)
{
	uint32_t k = (uint32_t)(IO_AHEAD_BYTES / rb);
	return k < 1 ? 1 : k > height ? height : k;
}

size_t io_reader_ahead_bytes(const struct io_reader *r)
{
	size_t rb = io_row_bytes(&r->info);
	if (r->image || !r->ahead_ok || r->ahead)
		return 0;
	return 2 * rb * ahead_rows(rb, r->info.height) + sizeof(struct io_ahead) + IO_BG_STACK;
}

/* The thread's job: decode block a->fill from row a->first[fill]. */
static tp_status ahead_job(void *ctx)
{
	struct io_ahead *a = ctx;
	int b = a->fill;
	uint32_t n = a->r->info.height - a->first[b] < a->k ? a->r->info.height - a->first[b] : a->k;
	a->got[b] = 0;
	for (uint32_t i = 0; i < n; i++) {
		tp_status s;
		a->r->decoding = a->first[b] + i;
		if ((s = a->r->read_row(a->r, a->buf[b] + (size_t)i * a->rb)) != TP_OK)
			return s;
		a->got[b]++;
	}
	return TP_OK;
}

/* Start decoding block b at row `first` (none past the last row). */
static void ahead_start(struct io_ahead *a, int b, uint32_t first)
{
	a->first[b] = first;
	a->got[b] = 0;
	a->st[b] = TP_OK;
	a->fill = b;
	if (first < a->r->info.height) {
		io_bg_start(a->bg, ahead_job, a);
		a->next = first + a->k;
	}
}

/* Wait for block b's decode; its status and message kept for the row. */
static void ahead_wait(struct io_ahead *a, int b)
{
	tp_status s = io_bg_wait(a->bg);
	a->st[b] = s;
	if (s != TP_OK)
		snprintf(a->msg[b], sizeof a->msg[b], "%s", tp_errmsg());
}

static void ahead_free(struct io_ahead *a)
{
	if (!a)
		return;
	io_bg_free(a->bg);   /* joins a decode still running */
	tp_free(a->buf[0]);
	tp_free(a->buf[1]);
	tp_free(a);
}

/* The read-ahead, started at the caller's row (r->row): TP_ENOMEM only. */
TP_MUST_USE static tp_status ahead_new(struct io_reader *r)
{
	struct io_ahead *a = tp_calloc(1, sizeof *a);
	size_t rb = io_row_bytes(&r->info);
	uint32_t k = ahead_rows(rb, r->info.height);
	if (!a || !(a->buf[0] = tp_malloc(rb * k)) || !(a->buf[1] = tp_malloc(rb * k)) ||
	    io_bg_new(&a->bg) != TP_OK) {
		ahead_free(a);
		return tp_err(TP_ENOMEM, "%s: out of memory for reading ahead", r->path);
	}
	a->r = r;
	a->rb = rb;
	a->k = k;
	r->decoding = r->row;
	r->ahead = a;
	/* the first block on the caller's thread: the back end's lazy set-up
	 * (libpng's inflater) allocates there, and the thread never does */
	a->first[0] = r->row;
	a->fill = 0;
	a->next = r->row + k;
	if ((a->st[0] = ahead_job(a)) != TP_OK)
		snprintf(a->msg[0], sizeof a->msg[0], "%s", tp_errmsg());
	a->cur = 0;
	if (a->st[0] == TP_OK)
		ahead_start(a, 1, a->next);
	return TP_OK;
}

/* Row r->row from the read-ahead into dst. */
TP_MUST_USE static tp_status ahead_row(struct io_reader *r, uint8_t *dst)
{
	struct io_ahead *a = r->ahead;
	int b = a->cur;
	if (r->row >= a->first[b] + a->k) {
		/* block b is used up: take the other, start b on the one after */
		b = a->cur = 1 - b;
		ahead_wait(a, b);
		if (a->st[b] == TP_OK)   /* never past a failed row: the back end is done */
			ahead_start(a, 1 - b, a->next);
	}
	if (r->row - a->first[b] < a->got[b]) {
		memcpy(dst, a->buf[b] + (size_t)(r->row - a->first[b]) * a->rb, a->rb);
		return TP_OK;
	}
	return tp_err(a->st[b] != TP_OK ? a->st[b] : TP_EINTERNAL, "%s",
		      a->st[b] != TP_OK ? a->msg[b] : "read-ahead lost a row");
}

tp_status io_reader_read_rows(struct io_reader *r, void *buf, size_t stride, uint32_t nrows)
{
	size_t rb = io_row_bytes(&r->info);
	uint8_t *dst = buf;
	tp_status s;

	if (stride < rb)
		return tp_err(TP_EUSAGE, "%s: row stride %zu below row size %zu", r->path, stride, rb);
	if (nrows > r->info.height - r->row)
		return tp_err(TP_EUSAGE, "%s: reading rows %u..%u past the last row %u", r->path,
			      r->row, r->row + nrows - 1, r->info.height - 1);
	if (r->failed)
		return tp_err(TP_EFORMAT, "%s: row %u: unreadable after an earlier error",
			      r->path, r->row);
	if (!r->image && r->ahead_ok && !r->ahead && nrows > 0 && (s = ahead_new(r)) != TP_OK)
		return s;
	for (uint32_t i = 0; i < nrows; i++, dst += stride) {
		if (r->image) {
			memcpy(dst, r->image + (size_t)r->row * r->image_stride, rb);
		} else {
			s = r->ahead ? ahead_row(r, dst) : r->read_row(r, dst);
			if (s) {
				r->failed = 1;
				return s;
			}
		}
		r->row++;
	}
	return TP_OK;
}

void io_reader_close(struct io_reader *r)
{
	if (!r)
		return;
	ahead_free(r->ahead);   /* before the back end's state it may be using */
	r->ahead = NULL;
	if (r->f)
		fclose(r->f);
	if (r->free_state)
		r->free_state(r->state);
	for (size_t i = 0; i < r->ntext; i++) {
		tp_free(r->keys[i]);
		tp_free(r->values[i]);
	}
	tp_free(r->keys);
	tp_free(r->values);
	tp_free(r->icc);
	tp_free(r->exif);
	tp_free(r->xmp);
	tp_free(r->image);
	tp_free(r->path);
	tp_free(r);
}

TP_MUST_USE static tp_status write_failure(struct io_writer *w, tp_status s);

tp_status io_writer_open(const char *path, const struct io_info *info,
			 const struct io_meta *meta, const struct io_write_opts *opts,
			 struct io_writer **out)
{
	static const struct io_write_opts defaults = { .png_level = -1 };
	const struct io_format_ops *ops;
	struct io_writer *w;
	tp_status s;

	*out = NULL;
	if (!opts)
		opts = &defaults;
	s = io_info_check(path, info);
	if (s) {
		char msg[1024];
		snprintf(msg, sizeof msg, "%s", tp_errmsg());
		return tp_err(TP_EUSAGE, "%s", msg);
	}
	if (info->alpha && info->channels != 2 && info->channels != 4)
		return tp_err(TP_EUSAGE, "%s: alpha needs 2 or 4 channels, not %u", path,
			      info->channels);
	if (info->sample != IO_SAMPLE_UINT && info->format != IO_FORMAT_TIFF)
		return tp_err(TP_EUSAGE, "%s: %s cannot hold %s samples (write a .tif)", path,
			      io_format_name(info->format),
			      info->sample == IO_SAMPLE_FLOAT ? "32-bit float" : "signed 16-bit");
	if (info->format == IO_FORMAT_JPEG && (info->bits != 8 || info->alpha ||
					       info->channels == 2 || info->channels == 4))
		return tp_err(TP_EUSAGE, "%s: JPEG cannot hold %s", path,
			      info->bits != 8 ? "16-bit samples" : "an alpha channel");
	if (!(ops = format_ops(info->format)))
		return tp_err(TP_EUSAGE, "%s: unknown output format", path);
	w = tp_calloc(1, sizeof *w);
	if (!w)
		return tp_err(TP_ENOMEM, "%s: out of memory", path);
	w->info = *info;
	w->info.buffered = 0;
	w->path = tp_strdup(path);
	w->name = tp_strdup(opts->name ? opts->name : path);
	if (!w->path || !w->name) {
		tp_free(w->path);
		tp_free(w->name);
		tp_free(w);
		return tp_err(TP_ENOMEM, "%s: out of memory", path);
	}
	errno = 0;
	s = ops->create(w, meta, opts);
	if (s) {
		s = write_failure(w, s);
		io_writer_close(w);
		return s;
	}
	*out = w;
	return TP_OK;
}

/*
 * A back end failed with status s: say it as the user sees it. With a
 * system reason, "writing NAME: REASON" (the temporary's name means nothing
 * to them); otherwise the back end's message with the temporary's path
 * replaced by NAME. TP_EFORMAT is a source the writer reads being corrupt
 * (the JPEG whose coefficients it keeps): its message names that file.
 */
TP_MUST_USE static tp_status write_failure(struct io_writer *w, tp_status s)
{
	char msg[1024];
	size_t n = strlen(w->path);
	if (s == TP_ENOMEM || s == TP_EFORMAT)
		return s;
	if (w->sys_errno)
		return tp_err(TP_EIO, "writing %s: %s", w->name, strerror(w->sys_errno));
	snprintf(msg, sizeof msg, "%s", tp_errmsg());
	if (strncmp(msg, w->path, n) == 0)
		return tp_err(s, "writing %s%s", w->name, msg + n);
	return tp_err(s, "writing %s: %s", w->name, msg);
}

/* Rows to the back end; changed (may be NULL: every pixel may differ) is
 * one byte per pixel per row, cstride apart. */
TP_MUST_USE static tp_status write_rows(struct io_writer *w, const void *buf, size_t stride,
					uint32_t nrows, const uint8_t *changed, size_t cstride)
{
	size_t rb = io_row_bytes(&w->info);
	const uint8_t *src = buf;
	tp_status s;

	if (stride < rb)
		return tp_err(TP_EUSAGE, "%s: row stride %zu below row size %zu", w->path, stride, rb);
	if (nrows > w->info.height - w->row)
		return tp_err(TP_EUSAGE, "%s: writing past the last row %u", w->path,
			      w->info.height - 1);
	if (w->failed || w->finished)
		return tp_err(w->failed ? TP_EIO : TP_EUSAGE, "%s: writer already %s", w->path,
			      w->failed ? "failed" : "finished");
	for (uint32_t i = 0; i < nrows; i++, src += stride) {
		w->changed = changed ? changed + (size_t)i * cstride : NULL;
		errno = 0;
		s = w->write_row(w, src);
		if (s) {
			w->failed = 1;
			return write_failure(w, s);
		}
		w->row++;
	}
	return TP_OK;
}

tp_status io_writer_write_rows(struct io_writer *w, const void *buf, size_t stride, uint32_t nrows)
{
	return write_rows(w, buf, stride, nrows, NULL, 0);
}

tp_status io_writer_write_rows_changed(struct io_writer *w, const void *buf, size_t stride,
				       uint32_t nrows, const uint8_t *changed, size_t cstride)
{
	return write_rows(w, buf, stride, nrows, changed, cstride);
}

tp_status io_writer_finish(struct io_writer *w)
{
	tp_status s;
	if (w->finished)
		return TP_OK;
	if (w->failed)
		return tp_err(TP_EIO, "%s: writer failed earlier", w->path);
	if (w->row != w->info.height)
		return tp_err(TP_EUSAGE, "%s: finish after %u of %u rows", w->path, w->row,
			      w->info.height);
	errno = 0;
	s = w->finish(w);
	if (s) {
		w->failed = 1;
		return write_failure(w, s);
	}
	w->finished = 1;
	return TP_OK;
}

void io_writer_discard(struct io_writer *w)
{
	if (w && w->created)
		w->finished = 0;   /* so close unlinks it */
	io_writer_close(w);
}

void io_writer_close(struct io_writer *w)
{
	if (!w)
		return;
	if (w->free_state)
		w->free_state(w->state);
	if (!w->finished && w->created)
		unlink(w->path);
	tp_free(w->path);
	tp_free(w->name);
	tp_free(w);
}

void io_row_to_binary(const struct io_info *info, const void *row, uint8_t *out)
{
	uint32_t c = info->channels;
	if (info->sample == IO_SAMPLE_FLOAT) {
		const float *p = row;
		for (uint32_t x = 0; x < info->width; x++)
			out[x] = p[(size_t)x * c] != 0.0f;   /* NaN != 0 */
	} else if (info->bits == 16) {
		const uint16_t *p = row;
		for (uint32_t x = 0; x < info->width; x++, p += c) {
			uint64_t g = c >= 3 ? ((uint64_t)p[0] * 19595 + (uint64_t)p[1] * 38470 +
					       (uint64_t)p[2] * 7471 + 32768) >> 16 : p[0];
			out[x] = g != 0;
		}
	} else if (c == 1) {
		tp_to01(row, out, info->width);
	} else {
		const uint8_t *p = row;
		for (uint32_t x = 0; x < info->width; x++, p += c) {
			uint32_t g = c >= 3 ? ((uint32_t)p[0] * 19595 + (uint32_t)p[1] * 38470 +
					       (uint32_t)p[2] * 7471 + 32768) >> 16 : p[0];
			out[x] = g != 0;
		}
	}
}

size_t io_writer_mem_need(const struct io_info *info, const struct io_meta *meta,
			  const struct io_write_opts *opts)
{
	static const struct io_write_opts defaults = { .png_level = -1 };
	const struct io_format_ops *ops = format_ops(info->format);
	return ops && ops->mem_need ? ops->mem_need(info, meta, opts ? opts : &defaults) : 0;
}

/* One pixel's mask value: gray (luma of RGB), times alpha when there is one,
 * on the sample's own scale (maxval). */
static inline uint32_t mask_value(const uint32_t *p, uint32_t c, int alpha, uint32_t maxval)
{
	uint64_t g = c >= 3 ? ((uint64_t)p[0] * 19595 + (uint64_t)p[1] * 38470 +
			       (uint64_t)p[2] * 7471 + 32768) >> 16 : p[0];
	if (alpha)
		g = (g * p[c - 1] + maxval / 2) / maxval;
	return (uint32_t)g;
}

void io_row_to_mask(const struct io_info *info, const void *row, uint8_t *out,
		    uint32_t threshold, int invert)
{
	uint32_t c = info->channels, px[4] = { 0 };
	uint8_t inv = invert ? 1 : 0;
	int alpha = info->alpha && (c == 2 || c == 4);
	if (info->bits == 16) {
		const uint16_t *p = row;
		uint32_t t16 = threshold * 257 + 128;
		for (uint32_t x = 0; x < info->width; x++, p += c) {
			for (uint32_t k = 0; k < c && k < 4; k++)
				px[k] = p[k];
			out[x] = (uint8_t)((mask_value(px, c, alpha, 65535) > t16) ^ inv);
		}
	} else if (c == 1) {
		if (threshold > 255)
			memset(out, inv, info->width);   /* no 8-bit value is above it */
		else
			tp_threshold(row, out, info->width, (uint8_t)threshold, inv);
	} else {
		const uint8_t *p = row;
		for (uint32_t x = 0; x < info->width; x++, p += c) {
			for (uint32_t k = 0; k < c && k < 4; k++)
				px[k] = p[k];
			out[x] = (uint8_t)((mask_value(px, c, alpha, 255) > threshold) ^ inv);
		}
	}
}

int io_nodata_parse(const struct io_info *info, const char *text, double *v)
{
	char *end;
	double d;
	if (!text)
		return -1;
	errno = 0;
	d = strtod(text, &end);
	if (end == text)
		return -1;
	while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
		end++;
	if (*end)
		return -1;
	if (info->sample == IO_SAMPLE_FLOAT) {
		/* as a float sample: out-of-range values (GDAL's -1e+308 on a
		 * float32 band) become the infinities they would be stored as */
		*v = isnan(d) ? d : (double)(float)d;
		return 0;
	}
	if (isnan(d) || d != floor(d))
		return -1;
	if (info->sample == IO_SAMPLE_INT ? d < -32768.0 || d > 32767.0
	    : d < 0.0 || d > (info->bits == 16 ? 65535.0 : 255.0))
		return -1;
	*v = d;
	return 0;
}

void io_row_nodata(const struct io_info *info, const void *row, double v, uint8_t *out)
{
	uint32_t c = info->channels;
	if (info->sample == IO_SAMPLE_FLOAT) {
		const float *p = row;
		float f = (float)v;
		for (uint32_t x = 0; x < info->width; x++) {
			float s = p[(size_t)x * c];
			out[x] = s == f || isnan(s);
		}
	} else if (info->sample == IO_SAMPLE_INT) {
		const int16_t *p = row;
		int16_t k = (int16_t)v;
		for (uint32_t x = 0; x < info->width; x++)
			out[x] = p[(size_t)x * c] == k;
	} else if (info->bits == 16) {
		const uint16_t *p = row;
		uint16_t k = (uint16_t)v;
		for (uint32_t x = 0; x < info->width; x++)
			out[x] = p[(size_t)x * c] == k;
	} else {
		const uint8_t *p = row;
		uint8_t k = (uint8_t)v;
		for (uint32_t x = 0; x < info->width; x++)
			out[x] = p[(size_t)x * c] == k;
	}
}
