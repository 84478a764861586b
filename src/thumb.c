/*
 * thumb.c - thumbnails for the HTML report (see thumb.h). An image is read
 * one row at a time through the io readers; each row's samples are added
 * into the running sums of the thumbnail row it falls in (box average), so
 * memory is one input row plus the thumbnail. The PNG is written by the io
 * PNG writer into a private temporary directory and read back.
 */
#include "thumb.h"
#include "io/raster.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Sample c of pixel x of a row: 8 and 16-bit unsigned on the 8-bit scale,
 * signed and float as they are (mapped to 8 bits once the thumbnail is
 * whole, by its own range); a float that is not finite counts as nothing. */
static double sample_at(const struct io_info *in, const void *row, uint32_t x, uint32_t c)
{
	size_t i = (size_t)x * in->channels + c;
	if (in->sample == IO_SAMPLE_FLOAT)
		return ((const float *)row)[i];
	if (in->sample == IO_SAMPLE_INT)
		return ((const int16_t *)row)[i];
	return in->bits == 16 ? ((const uint16_t *)row)[i] / 257.0 : ((const uint8_t *)row)[i];
}

/* Add row `row` into sums (w * 3), mapping source x to thumbnail x. */
static void add_row(const struct io_info *in, const void *row, uint32_t tw, double *sum,
		    uint32_t *cnt)
{
	uint32_t colour = in->channels - (uint32_t)in->alpha;
	for (uint32_t x = 0; x < in->width; x++) {
		uint32_t tx = (uint32_t)((uint64_t)x * tw / in->width);
		double v[3];
		for (uint32_t c = 0; c < 3; c++)
			v[c] = sample_at(in, row, x, colour >= 3 ? c : 0);
		if (!(v[0] - v[0] == 0.0 && v[1] - v[1] == 0.0 && v[2] - v[2] == 0.0))
			continue;
		for (uint32_t c = 0; c < 3; c++)
			sum[tx * 3 + c] += v[c];
		cnt[tx]++;
	}
}

/* One thumbnail row of means (NAN where nothing was known). */
static void flush_row(double *dst, uint32_t tw, double *sum, uint32_t *cnt)
{
	for (uint32_t x = 0; x < tw; x++) {
		for (int c = 0; c < 3; c++)
			dst[x * 3 + c] = cnt[x] ? sum[x * 3 + c] / cnt[x] : NAN;
		cnt[x] = 0;
	}
	memset(sum, 0, (size_t)tw * 3 * sizeof *sum);
}

/* The means as 8-bit RGB: unsigned samples as they are, signed and float
 * stretched over the thumbnail's own range; white where nothing was known. */
static void to_rgb(const struct io_info *in, const double *m, size_t n, uint8_t *rgb)
{
	double lo = 0.0, hi = 255.0;
	if (in->sample != IO_SAMPLE_UINT) {
		lo = HUGE_VAL;
		hi = -HUGE_VAL;
		for (size_t i = 0; i < n; i++)
			if (m[i] == m[i]) {
				lo = m[i] < lo ? m[i] : lo;
				hi = m[i] > hi ? m[i] : hi;
			}
		if (!(hi > lo))
			hi = lo + 1.0;
	}
	for (size_t i = 0; i < n; i++)
		rgb[i] = m[i] == m[i] ? (uint8_t)((m[i] - lo) / (hi - lo) * 255.0 + 0.5) : 255;
}

tp_status tp_thumb_make(const char *path, uint32_t max_side, struct tp_thumb *t)
{
	struct io_reader *r = NULL;
	const struct io_info *in;
	uint8_t *row = NULL;
	double *sum = NULL, *means = NULL;
	uint32_t *cnt = NULL, ty = 0;
	size_t rowb;
	tp_status rc = io_reader_open(path, &r);
	memset(t, 0, sizeof *t);
	if (rc != TP_OK)
		return rc;
	in = io_reader_info(r);
	rowb = (size_t)in->width * in->channels * (in->bits / 8);
	t->src_w = in->width;
	t->src_h = in->height;
	t->w = in->width >= in->height ? max_side : (uint32_t)((uint64_t)max_side * in->width / in->height);
	t->h = in->height > in->width ? max_side : (uint32_t)((uint64_t)max_side * in->height / in->width);
	t->w = t->w < 1 ? 1 : t->w > in->width ? in->width : t->w;
	t->h = t->h < 1 ? 1 : t->h > in->height ? in->height : t->h;
	row = tp_malloc(rowb);
	sum = tp_calloc((size_t)t->w * 3, sizeof *sum);
	cnt = tp_calloc(t->w, sizeof *cnt);
	means = tp_malloc((size_t)t->w * t->h * 3 * sizeof *means);
	t->rgb = tp_malloc((size_t)t->w * t->h * 3);
	if (!row || !sum || !cnt || !means || !t->rgb)
		rc = tp_err(TP_ENOMEM, "%s: out of memory making a thumbnail", path);
	for (uint32_t y = 0; rc == TP_OK && y < in->height; y++) {
		uint32_t yy = (uint32_t)((uint64_t)y * t->h / in->height);
		if (yy != ty) {
			flush_row(means + (size_t)ty * t->w * 3, t->w, sum, cnt);
			ty = yy;
		}
		if ((rc = io_reader_read_rows(r, row, rowb, 1)) == TP_OK)
			add_row(in, row, t->w, sum, cnt);
	}
	if (rc == TP_OK) {
		flush_row(means + (size_t)ty * t->w * 3, t->w, sum, cnt);
		to_rgb(in, means, (size_t)t->w * t->h * 3, t->rgb);
	}
	tp_free(row);
	tp_free(sum);
	tp_free(cnt);
	tp_free(means);
	io_reader_close(r);
	if (rc != TP_OK)
		tp_thumb_free(t);
	return rc;
}

/* m (w * h): 1 where any pixel of the box is masked. */
TP_MUST_USE static tp_status mask_boxes(const struct tp_thumb *t, const char *path,
				       uint32_t threshold, int invert, uint8_t *m)
{
	struct io_reader *r = NULL;
	const struct io_info *in;
	uint8_t *row = NULL, *bin = NULL;
	tp_status rc = io_reader_open(path, &r);
	if (rc != TP_OK)
		return rc;
	in = io_reader_info(r);
	if (in->width != t->src_w || in->height != t->src_h) {
		rc = tp_err(TP_EFORMAT, "%s: mask is %ux%u, the image %ux%u: no outline", path,
			    in->width, in->height, t->src_w, t->src_h);
		goto out;
	}
	row = tp_malloc((size_t)in->width * in->channels * (in->bits / 8));
	bin = tp_malloc(in->width);
	if (!row || !bin) {
		rc = tp_err(TP_ENOMEM, "%s: out of memory reading the mask", path);
		goto out;
	}
	for (uint32_t y = 0; rc == TP_OK && y < in->height; y++) {
		uint8_t *mrow = m + (size_t)((uint64_t)y * t->h / in->height) * t->w;
		if ((rc = io_reader_read_rows(r, row, (size_t)in->width * in->channels * (in->bits / 8),
					      1)) != TP_OK)
			break;
		io_row_to_mask(in, row, bin, threshold, invert);
		for (uint32_t x = 0; x < in->width; x++)
			if (bin[x])
				mrow[(uint64_t)x * t->w / in->width] = 1;
	}
out:
	tp_free(row);
	tp_free(bin);
	io_reader_close(r);
	return rc;
}

tp_status tp_thumb_outline(struct tp_thumb *t, const char *path, uint32_t threshold, int invert,
			   const uint8_t rgb[3])
{
	uint8_t *m = tp_calloc((size_t)t->w * t->h, 1);
	tp_status rc;
	if (!m)
		return tp_err(TP_ENOMEM, "%s: out of memory reading the mask", path);
	rc = mask_boxes(t, path, threshold, invert, m);
	/* the outline is two pixels wide: each box whose 4-neighbour (or the
	 * edge beyond it) is on the other side of the mask's border */
	for (uint32_t y = 0; rc == TP_OK && y < t->h; y++)
		for (uint32_t x = 0; x < t->w; x++) {
			size_t i = (size_t)y * t->w + x;
			int l = x > 0 ? m[i - 1] : 0, r = x + 1 < t->w ? m[i + 1] : 0;
			int u = y > 0 ? m[i - t->w] : 0, d = y + 1 < t->h ? m[i + t->w] : 0;
			if (m[i] ? (l && r && u && d) : !(l || r || u || d))
				continue;
			memcpy(t->rgb + i * 3, rgb, 3);
		}
	tp_free(m);
	return rc;
}

static char *base64(const uint8_t *p, size_t n)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *o = tp_malloc((n + 2) / 3 * 4 + 1), *q = o;
	if (!o)
		return NULL;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
			     (i + 2 < n ? p[i + 2] : 0);
		*q++ = a[v >> 18 & 63];
		*q++ = a[v >> 12 & 63];
		*q++ = i + 1 < n ? a[v >> 6 & 63] : '=';
		*q++ = i + 2 < n ? a[v & 63] : '=';
	}
	*q = '\0';
	return o;
}

/* The whole (small) file at `path`; *len its size. */
TP_MUST_USE static tp_status slurp(const char *path, uint8_t **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	long n;
	*out = NULL;
	if (!f || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
	    !(*out = tp_malloc((size_t)n + 1)) || fread(*out, 1, (size_t)n, f) != (size_t)n) {
		if (f)
			fclose(f);
		tp_free(*out);
		*out = NULL;
		return tp_err(TP_EIO, "reading the thumbnail back: %s", path);
	}
	fclose(f);
	*len = (size_t)n;
	return TP_OK;
}

tp_status tp_thumb_png_base64(const struct tp_thumb *t, char **b64)
{
	char dir[4096], path[4200];
	const char *tmp = getenv("TMPDIR");
	struct io_info info = { t->w, t->h, 3, 8, 0, IO_FORMAT_PNG, 0, IO_SAMPLE_UINT };
	struct io_write_opts wo;
	struct io_writer *w = NULL;
	uint8_t *png = NULL;
	size_t len = 0;
	tp_status rc;
	*b64 = NULL;
	snprintf(dir, sizeof dir, "%s/tilepaint-thumb-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		return tp_err(TP_EIO, "cannot make a temporary directory for a thumbnail");
	snprintf(path, sizeof path, "%s/t.png", dir);
	memset(&wo, 0, sizeof wo);
	wo.png_level = 9;
	rc = io_writer_open(path, &info, NULL, &wo, &w);
	if (rc == TP_OK)
		rc = io_writer_write_rows(w, t->rgb, (size_t)t->w * 3, t->h);
	if (rc == TP_OK)
		rc = io_writer_finish(w);
	if (rc == TP_OK)
		rc = slurp(path, &png, &len);
	io_writer_close(w);
	unlink(path);
	rmdir(dir);
	if (rc == TP_OK && !(*b64 = base64(png, len)))
		rc = tp_err(TP_ENOMEM, "out of memory encoding a thumbnail");
	tp_free(png);
	return rc;
}

void tp_thumb_free(struct tp_thumb *t)
{
	tp_free(t->rgb);
	memset(t, 0, sizeof *t);
}
