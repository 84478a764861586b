/*
 * io_common.c - what the format back ends (png.c, jpeg.c, tiff.c) share,
 * below them and below raster.c's dispatch: the limits on what a file may
 * declare (dimensions, byte counts, the process-wide memory and pixel caps
 * and their setters), the metadata a reader owns, the whole-image buffer and
 * EXIF orientation (reported, and applied to masks), and fsync by name. It calls only exif.c
 * and src/util, so the arrows of src/io point one way:
 * raster.c -> back ends -> io_common.c -> exif.c.
 */
#include "io_int.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static size_t io_mem_cap; /* io_reader_set_max_memory; 0: none */

void io_reader_set_max_memory(size_t bytes)
{
	io_mem_cap = bytes;
}

static uint64_t io_pixel_cap; /* io_reader_set_max_pixels; 0: none */

void io_reader_set_max_pixels(uint64_t pixels)
{
	io_pixel_cap = pixels;
}

size_t io_max_memory(void)
{
	return io_mem_cap;
}

tp_status io_check_memory(const struct io_reader *r, const char *what, uint64_t need)
{
	if (io_mem_cap && need > io_mem_cap)
		return tp_err(TP_EFORMAT, "%s: %s needs %llu bytes, over the reader memory limit "
			      "of %zu", r->path, what, (unsigned long long)need, io_mem_cap);
	return TP_OK;
}

tp_status io_check_bytes(const struct io_reader *r, const char *what, uint64_t need)
{
	if (need > r->file_size)
		return tp_err(TP_EFORMAT, "%s: %s declares %llu bytes but the file has only %llu",
			      r->path, what, (unsigned long long)need,
			      (unsigned long long)r->file_size);
	return TP_OK;
}

size_t io_row_bytes(const struct io_info *info)
{
	return (size_t)info->width * info->channels * (info->bits / 8);
}

tp_status io_info_check(const char *path, const struct io_info *info)
{
	size_t n;
	if (info->width == 0 || info->height == 0 || info->width > IO_MAX_DIM ||
	    info->height > IO_MAX_DIM)
		return tp_err(TP_EFORMAT, "%s: image size %ux%u out of range (1..%u)",
			      path, info->width, info->height, IO_MAX_DIM);
	if (info->channels < 1 || info->channels > 4)
		return tp_err(TP_EFORMAT, "%s: %u channels not supported (1..4)", path,
			      info->channels);
	if (info->sample == IO_SAMPLE_UINT && info->bits != 8 && info->bits != 16)
		return tp_err(TP_EFORMAT, "%s: %u bits per sample not supported (8 or 16)",
			      path, info->bits);
	if ((info->sample == IO_SAMPLE_INT && info->bits != 16) ||
	    (info->sample == IO_SAMPLE_FLOAT && info->bits != 32) ||
	    (info->sample != IO_SAMPLE_UINT && (info->channels != 1 || info->alpha)) ||
	    info->sample > IO_SAMPLE_FLOAT)
		return tp_err(TP_EFORMAT, "%s: %u-channel %s samples of %u bits not supported "
			      "(signed: one channel of 16 bits; float: one channel of 32 bits)",
			      path, info->channels, info->sample == IO_SAMPLE_INT ? "signed integer"
			      : info->sample == IO_SAMPLE_FLOAT ? "float" : "unknown", info->bits);
	if (tp_mul_overflow(info->width, (size_t)info->channels * (info->bits / 8), &n))
		return tp_err(TP_EFORMAT, "%s: row of %u pixels too large", path, info->width);
	if (tp_mul_overflow(n, info->height, &n))
		return tp_err(TP_EFORMAT, "%s: %ux%u image of %u x %u-bit samples too large to "
			      "address", path, info->width, info->height, info->channels, info->bits);
	return TP_OK;
}

tp_status io_reader_check(const struct io_reader *r)
{
	tp_status s = io_info_check(r->path, &r->info);
	uint64_t px = (uint64_t)r->info.width * r->info.height;
	if (s == TP_OK && io_pixel_cap && px > io_pixel_cap)
		s = tp_err(TP_EFORMAT, "%s: %ux%u image (%llu pixels) is over the --max-pixels "
			   "limit of %llu", r->path, r->info.width, r->info.height,
			   (unsigned long long)px, (unsigned long long)io_pixel_cap);
	return s;
}

TP_MUST_USE static tp_status meta_blob(const char *path, const char *what, uint8_t **dst,
			   const uint8_t *p, size_t n)
{
	uint8_t *c;
	if (n > IO_MAX_META)
		return tp_err(TP_EFORMAT, "%s: %s of %zu bytes, over the %zu-byte metadata limit",
			      path, what, n, IO_MAX_META);
	c = tp_malloc(n);
	if (!c)
		return tp_err(TP_ENOMEM, "%s: out of memory for %zu bytes of metadata", path, n);
	memcpy(c, p, n);
	tp_free(*dst);
	*dst = c;
	return TP_OK;
}

tp_status io_meta_set_icc(struct io_reader *r, const uint8_t *p, size_t n)
{
	tp_status s = meta_blob(r->path, "ICC profile", &r->icc, p, n);
	if (!s) {
		r->meta.icc = r->icc;
		r->meta.icc_len = n;
	}
	return s;
}

tp_status io_meta_set_exif(struct io_reader *r, const uint8_t *p, size_t n)
{
	tp_status s = meta_blob(r->path, "EXIF block", &r->exif, p, n);
	if (!s) {
		r->meta.exif = r->exif;
		r->meta.exif_len = n;
	}
	return s;
}

tp_status io_meta_set_xmp(struct io_reader *r, const uint8_t *p, size_t n)
{
	tp_status s = meta_blob(r->path, "XMP packet", &r->xmp, p, n);
	if (!s) {
		r->meta.xmp = r->xmp;
		r->meta.xmp_len = n;
	}
	return s;
}

tp_status io_meta_add_text(struct io_reader *r, const char *key, const char *value, size_t n)
{
	char **k = NULL, **v = NULL, *kc = NULL, *vc = NULL;
	if (r->ntext >= IO_MAX_TEXT)
		return tp_err(TP_EFORMAT, "%s: more than %u text metadata entries", r->path,
			      IO_MAX_TEXT);
	if (n > IO_MAX_TEXT_BYTES - r->text_bytes)
		return tp_err(TP_EFORMAT, "%s: text metadata over %zu bytes in all", r->path,
			      IO_MAX_TEXT_BYTES);
	r->text_bytes += n;
	k = tp_realloc(r->keys, (r->ntext + 1) * sizeof *k);
	if (k)
		r->keys = k;
	v = tp_realloc(r->values, (r->ntext + 1) * sizeof *v);
	if (v)
		r->values = v;
	kc = tp_strdup(key);
	vc = tp_malloc(n + 1);
	if (!k || !v || !kc || !vc) {
		tp_free(kc);
		tp_free(vc);
		return tp_err(TP_ENOMEM, "%s: out of memory for text metadata", r->path);
	}
	memcpy(vc, value, n);
	vc[n] = 0;
	r->keys[r->ntext] = kc;
	r->values[r->ntext] = vc;
	r->ntext++;
	r->meta.ntext = r->ntext;
	r->meta.text_keys = (const char *const *)r->keys;
	r->meta.text_values = (const char *const *)r->values;
	return TP_OK;
}

tp_status io_reader_alloc_image(struct io_reader *r)
{
	size_t total;
	tp_status s;
	r->image_stride = io_row_bytes(&r->info);
	if (tp_mul_overflow(r->image_stride, r->info.height, &total))
		return tp_err(TP_EFORMAT, "%s: image too large to decode in memory", r->path);
	if ((s = io_check_memory(r, "decoding the whole image", total)))
		return s;
	r->image = tp_malloc(total);
	if (!r->image)
		return tp_err(TP_ENOMEM, "%s: out of memory decoding %ux%u image (%zu bytes)",
			      r->path, r->info.width, r->info.height, total);
	r->info.buffered = 1;
	return TP_OK;
}

/* Stored pixel shown at (x, y) under EXIF orientation o; sw, sh = stored size. */
static void orient_src(int o, uint32_t x, uint32_t y, uint32_t sw, uint32_t sh,
		       uint32_t *sx, uint32_t *sy)
{
	switch (o) {
	case 2: *sx = sw - 1 - x; *sy = y; break;
	case 3: *sx = sw - 1 - x; *sy = sh - 1 - y; break;
	case 4: *sx = x; *sy = sh - 1 - y; break;
	case 5: *sx = y; *sy = x; break;
	case 6: *sx = y; *sy = sh - 1 - x; break;
	case 7: *sx = sw - 1 - y; *sy = sh - 1 - x; break;
	case 8: *sx = sw - 1 - y; *sy = x; break;
	default: *sx = x; *sy = y; break;
	}
}

void io_orient_plane(int o, int to_stored, const uint8_t *src, uint8_t *dst, uint32_t sw,
		     uint32_t sh)
{
	uint32_t dw = o >= 5 && o <= 8 ? sh : sw, dh = o >= 5 && o <= 8 ? sw : sh;
	for (uint32_t y = 0; y < dh; y++)
		for (uint32_t x = 0; x < dw; x++) {
			uint32_t sx, sy;
			size_t s, d = (size_t)y * dw + x;
			orient_src(o, x, y, sw, sh, &sx, &sy);
			s = (size_t)sy * sw + sx;
			if (to_stored)
				dst[s] = src[d];
			else
				dst[d] = src[s];
		}
}

int io_reader_orientation(const struct io_reader *r)
{
	return io_exif_orientation(r->meta.exif, r->meta.exif_len);
}

tp_status io_close_output(struct io_writer *w, FILE **f)
{
	tp_status s = TP_OK;
	if (fflush(*f) != 0 || ferror(*f) || fsync(fileno(*f)) != 0) {
		w->sys_errno = errno ? errno : EIO;
		s = tp_err(TP_EIO, "%s: flush: %s", w->path, strerror(errno));
	}
	if (fclose(*f) != 0 && !s) {
		w->sys_errno = errno ? errno : EIO;
		s = tp_err(TP_EIO, "%s: close: %s", w->path, strerror(errno));
	}
	*f = NULL;
	return s;
}

tp_status io_fsync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	tp_status s = TP_OK;
	if (fd < 0)
		return tp_err(TP_EIO, "%s: reopen for fsync: %s", path, strerror(errno));
	if (fsync(fd) != 0)
		s = tp_err(TP_EIO, "%s: fsync: %s", path, strerror(errno));
	close(fd);
	return s;
}
