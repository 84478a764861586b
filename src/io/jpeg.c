/*
 * jpeg.c - JPEG reader and writer on libjpeg-turbo (8-bit gray and RGB).
 * The writer hands over to jpeg_keep.c when asked to keep a source JPEG's
 * coefficients and the source fits.
 * Reader: streams scanlines in the order stored (an EXIF orientation is
 * reported by io_reader_orientation, not applied).
 * Any libjpeg warning once decoding has started (truncated or corrupt data)
 * is an error. libjpeg's error_exit longjmps; the only setjmp is jpeg_guard().
 */
#include "jpeg_int.h"

#include <errno.h>
#include <string.h>

/* ---- reader ---- */

static void step_read_header(struct jpeg_ctx *c)
{
	c->d.err = &c->em;
	c->d.client_data = c;
	jpeg_create_decompress(&c->d);
	c->have_d = 1;
	/* progressive files keep every coefficient in memory: cap it, so a small
	 * hostile file cannot claim gigabytes (libjpeg fails cleanly above it) */
	c->d.mem->max_memory_to_use = IO_JPEG_MAX_MEMORY;
	jpeg_stdio_src(&c->d, c->f);
	/* every APPn, not just EXIF, XMP and ICC: a JPEG writer keeping this
	 * file's coefficients copies them all (jpeg_reader_lend) */
	for (int m = 0; m < 16; m++)
		jpeg_save_markers(&c->d, JPEG_APP0 + m, 0xffff);
	jpeg_save_markers(&c->d, JPEG_COM, 0xffff);
	jpeg_read_header(&c->d, TRUE);
}

static void step_start(struct jpeg_ctx *c)
{
	jpeg_start_decompress(&c->d);
	if (c->lent)
		jpeg_start_output(&c->d, c->d.input_scan_number);
	c->started = 1;
}

static void step_dimensions(struct jpeg_ctx *c)
{
	jpeg_calc_output_dimensions(&c->d);
}

/* Start decoding (at open for a file of several scans, which the decoder
 * reads whole then; at the first row for the others). */
TP_MUST_USE static tp_status jpeg_start(struct io_reader *r, struct jpeg_ctx *c)
{
	c->warnings = 0; /* header quirks are tolerated; damage in the data is not */
	if (jpeg_guard(c, step_start)) {
		if (c->em.msg_code == JERR_NO_BACKING_STORE)
			return tp_err(TP_EFORMAT, "%s: %ux%u progressive JPEG needs more than the "
				      "%ld MiB decoder limit", r->path, r->info.width,
				      r->info.height, IO_JPEG_MAX_MEMORY >> 20);
		return tp_err(TP_EFORMAT, "%s: corrupt JPEG at row 0 (%s)", r->path, c->msg);
	}
	if (c->warnings)
		return tp_err(TP_EFORMAT, "%s: corrupt or truncated JPEG at row 0 (%s)", r->path,
			      c->msg);
	return TP_OK;
}

static void step_read_row(struct jpeg_ctx *c)
{
	/* stdio source: no suspension, so anything but one row is an error */
	if (jpeg_read_scanlines(&c->d, &c->row, 1) != 1) {
		snprintf(c->msg, sizeof c->msg, "decoder returned no scanline");
		longjmp(c->jb, 1);
	}
}

TP_MUST_USE static tp_status jpeg_row(struct io_reader *r, struct jpeg_ctx *c, uint8_t *dst, uint32_t y)
{
	tp_status s;
	if (!c->started && (s = jpeg_start(r, c)) != TP_OK)
		return s;
	c->row = dst;
	if (c->d.output_scanline >= c->d.output_height)
		return tp_err(TP_EFORMAT, "%s: row %u: no more scanlines", r->path, y);
	if (jpeg_guard(c, step_read_row))
		return tp_err(TP_EFORMAT, "%s: corrupt JPEG at row %u (%s)", r->path, y, c->msg);
	if (c->warnings)
		return tp_err(TP_EFORMAT, "%s: corrupt or truncated JPEG at row %u (%s)", r->path,
			      y, c->msg);
	return TP_OK;
}

TP_MUST_USE static tp_status jpeg_read_row_cb(struct io_reader *r, uint8_t *dst)
{
	return jpeg_row(r, r->state, dst, r->row);
}

/* Collect EXIF, XMP, ICC (possibly in several APP2 markers), comments, density. */
TP_MUST_USE static tp_status jpeg_read_meta(struct io_reader *r, struct jpeg_ctx *c)
{
	jpeg_saved_marker_ptr m;
	unsigned icc_count = 0;
	size_t icc_len = 0;
	uint8_t *icc = NULL;
	tp_status s = TP_OK;

	for (m = c->d.marker_list; m; m = m->next) {
		if (m->marker == JPEG_APP0 + 1 && m->data_length > EXIF_HDR_LEN &&
		    !memcmp(m->data, EXIF_HDR, EXIF_HDR_LEN) && !r->exif) {
			if ((s = io_meta_set_exif(r, m->data + EXIF_HDR_LEN,
						  m->data_length - EXIF_HDR_LEN)))
				return s;
		} else if (m->marker == JPEG_APP0 + 1 && m->data_length > XMP_HDR_LEN &&
			   !memcmp(m->data, XMP_HDR, XMP_HDR_LEN) && !r->xmp) {
			if ((s = io_meta_set_xmp(r, m->data + XMP_HDR_LEN,
						 m->data_length - XMP_HDR_LEN)))
				return s;
		} else if (m->marker == JPEG_APP0 + 2 && m->data_length > ICC_HDR_LEN &&
			   !memcmp(m->data, ICC_HDR, 12)) {
			unsigned cnt = m->data[13];
			if (!icc_count)
				icc_count = cnt;
			if (cnt != icc_count || m->data[12] == 0 || m->data[12] > cnt)
				icc_count = 256; /* inconsistent: drop the profile */
			else
				icc_len += m->data_length - ICC_HDR_LEN;
		} else if (m->marker == JPEG_COM) {
			if ((s = io_meta_add_text(r, COMMENT_KEY, (const char *)m->data,
						  strnlen((const char *)m->data, m->data_length))))
				return s;
		}
	}
	if (icc_count && icc_count < 256 && icc_len) {
		size_t off = 0;
		icc = tp_malloc(icc_len);
		if (!icc)
			return tp_err(TP_ENOMEM, "%s: out of memory for the ICC profile", r->path);
		for (unsigned seq = 1; seq <= icc_count; seq++) {
			int found = 0;
			for (m = c->d.marker_list; m; m = m->next) {
				size_t n;
				if (m->marker != JPEG_APP0 + 2 || m->data_length <= ICC_HDR_LEN ||
				    memcmp(m->data, ICC_HDR, 12) || m->data[12] != seq)
					continue;
				n = m->data_length - ICC_HDR_LEN;
				if (found || off + n > icc_len)
					break;
				memcpy(icc + off, m->data + ICC_HDR_LEN, n);
				off += n;
				found = 1;
			}
			if (!found)
				break;
		}
		if (off == icc_len)
			s = io_meta_set_icc(r, icc, icc_len);
		tp_free(icc);
		if (s)
			return s;
	}
	if (c->d.saw_JFIF_marker && c->d.X_density && c->d.Y_density) {
		r->meta.xres = c->d.X_density;
		r->meta.yres = c->d.Y_density;
		r->meta.res_unit = c->d.density_unit <= 2 ? c->d.density_unit : 0;
	}
	return TP_OK;
}

TP_MUST_USE static tp_status jpeg_open(struct io_reader *r)
{
	struct jpeg_ctx *c = jpeg_ctx_new();
	tp_status s;

	if (!c)
		return tp_err(TP_ENOMEM, "%s: out of memory", r->path);
	r->state = c;
	r->free_state = jpeg_ctx_free;
	c->f = r->f;   /* ours now */
	r->f = NULL;
	if (jpeg_guard(c, step_read_header))
		return tp_err(TP_EFORMAT, "%s: header: corrupt JPEG (%s)", r->path, c->msg);
	if (c->d.jpeg_color_space == JCS_GRAYSCALE && c->d.num_components == 1) {
		c->d.out_color_space = JCS_GRAYSCALE;
		r->info.channels = 1;
	} else if ((c->d.jpeg_color_space == JCS_YCbCr || c->d.jpeg_color_space == JCS_RGB) &&
		   c->d.num_components == 3) {
		c->d.out_color_space = JCS_RGB;
		r->info.channels = 3;
	} else {
		return tp_err(TP_EFORMAT, "%s: JPEG colour space %s not supported (gray or RGB only)",
			      r->path, c->d.jpeg_color_space == JCS_CMYK ? "CMYK" :
			      c->d.jpeg_color_space == JCS_YCCK ? "YCCK" : "other");
	}
	if (c->d.data_precision != 8)
		return tp_err(TP_EFORMAT, "%s: %d-bit JPEG not supported", r->path,
			      c->d.data_precision);
	r->info.width = c->d.image_width;
	r->info.height = c->d.image_height;
	r->info.bits = 8;
	r->info.alpha = 0;
	if ((s = io_reader_check(r)))
		return s;
	if ((s = jpeg_read_meta(r, c)))
		return s;
	/* a file of one scan starts at its first row, so that a writer can
	 * still borrow its coefficients (jpeg_reader_lend); the others are read
	 * whole by the decoder's start, here */
	if (jpeg_single_scan(&c->d)) {
		if (jpeg_guard(c, step_dimensions))
			return tp_err(TP_EFORMAT, "%s: header: corrupt JPEG (%s)", r->path, c->msg);
	} else if ((s = jpeg_start(r, c)) != TP_OK) {
		return s;
	}
	if ((uint32_t)c->d.output_components != r->info.channels ||
	    c->d.output_width != r->info.width || c->d.output_height != r->info.height)
		return tp_err(TP_EFORMAT, "%s: unexpected JPEG decoder layout", r->path);
	/* a multi-scan (progressive) file is decoded from a whole-image buffer of
	 * coefficients: what a job plans with under --mem-limit */
	r->compression = jpeg_has_multiple_scans(&c->d) ? 1 : 0;
	r->read_row = jpeg_read_row_cb;
	return TP_OK;
}

/* ---- writer ---- */

static void step_write_header(struct jpeg_ctx *c)
{
	const struct io_info *in = c->winfo;
	const struct io_meta *m = c->meta;
	int q = c->opts->jpeg_quality;

	if (q <= 0 || q > 100)
		q = IO_JPEG_QUALITY_DEFAULT;
	c->cc.err = &c->em;
	c->cc.client_data = c;
	jpeg_create_compress(&c->cc);
	c->have_c = 1;
	jpeg_stdio_dest(&c->cc, c->f);
	c->cc.image_width = in->width;
	c->cc.image_height = in->height;
	c->cc.input_components = (int)in->channels;
	c->cc.in_color_space = in->channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
	jpeg_set_defaults(&c->cc);
	jpeg_set_quality(&c->cc, q, TRUE);
	if (q >= 90 && in->channels == 3) {
		c->cc.comp_info[0].h_samp_factor = 1; /* 4:4:4: no chroma blur at high quality */
		c->cc.comp_info[0].v_samp_factor = 1;
	}
	if (m && m->xres >= 1 && m->yres >= 1 && m->xres < 65535.5 && m->yres < 65535.5) {
		c->cc.density_unit = (UINT8)(m->res_unit == 1 ? 1 : m->res_unit == 2 ? 2 : 0);
		c->cc.X_density = (UINT16)(m->xres + 0.5);
		c->cc.Y_density = (UINT16)(m->yres + 0.5);
	}
	jpeg_start_compress(&c->cc, TRUE);
	if (c->exif && c->exif_len + EXIF_HDR_LEN <= 65533) {
		jpeg_write_m_header(&c->cc, JPEG_APP0 + 1, (unsigned)(c->exif_len + EXIF_HDR_LEN));
		for (size_t i = 0; i < EXIF_HDR_LEN; i++)
			jpeg_write_m_byte(&c->cc, EXIF_HDR[i]);
		for (size_t i = 0; i < c->exif_len; i++)
			jpeg_write_m_byte(&c->cc, c->exif[i]);
	}
	if (m && m->xmp && m->xmp_len && m->xmp_len + XMP_HDR_LEN <= 65533) {
		jpeg_write_m_header(&c->cc, JPEG_APP0 + 1, (unsigned)(m->xmp_len + XMP_HDR_LEN));
		for (size_t i = 0; i < XMP_HDR_LEN; i++)
			jpeg_write_m_byte(&c->cc, XMP_HDR[i]);
		for (size_t i = 0; i < m->xmp_len; i++)
			jpeg_write_m_byte(&c->cc, m->xmp[i]);
	}
	if (m && m->icc && m->icc_len) {
		size_t nchunks = (m->icc_len + ICC_CHUNK - 1) / ICC_CHUNK;
		if (nchunks <= 255) {
			for (size_t k = 0; k < nchunks; k++) {
				size_t off = k * ICC_CHUNK;
				size_t n = m->icc_len - off < ICC_CHUNK ? m->icc_len - off : ICC_CHUNK;
				jpeg_write_m_header(&c->cc, JPEG_APP0 + 2, (unsigned)(n + ICC_HDR_LEN));
				for (size_t i = 0; i < 12; i++)
					jpeg_write_m_byte(&c->cc, ICC_HDR "\0"[i]);
				jpeg_write_m_byte(&c->cc, (int)(k + 1));
				jpeg_write_m_byte(&c->cc, (int)nchunks);
				for (size_t i = 0; i < n; i++)
					jpeg_write_m_byte(&c->cc, m->icc[off + i]);
			}
		}
	}
	for (size_t i = 0; m && i < m->ntext; i++) {
		size_t n;
		if (!m->text_keys[i] || !m->text_values[i] || strcmp(m->text_keys[i], COMMENT_KEY))
			continue;
		n = strlen(m->text_values[i]);
		if (n <= 65533)
			jpeg_write_marker(&c->cc, JPEG_COM, (const JOCTET *)m->text_values[i],
					  (unsigned)n);
	}
}

static void step_write_row(struct jpeg_ctx *c)
{
	jpeg_write_scanlines(&c->cc, &c->row, 1);
}

static void step_write_end(struct jpeg_ctx *c)
{
	jpeg_finish_compress(&c->cc);
}

TP_MUST_USE static tp_status jpeg_write_row_cb(struct io_writer *w, const uint8_t *src)
{
	struct jpeg_ctx *c = w->state;
	c->row = (JSAMPROW)src; /* libjpeg only reads it */
	if (jpeg_guard(c, step_write_row)) {
		w->sys_errno = c->err_errno;
		return tp_err(TP_EIO, "%s: writing row %u: %s", w->path, w->row, c->msg);
	}
	return TP_OK;
}

TP_MUST_USE static tp_status jpeg_finish_cb(struct io_writer *w)
{
	struct jpeg_ctx *c = w->state;
	if (jpeg_guard(c, step_write_end)) {
		w->sys_errno = c->err_errno;
		return tp_err(TP_EIO, "%s: finishing: %s", w->path, c->msg);
	}
	return io_close_output(w, &c->f);
}

TP_MUST_USE static tp_status jpeg_create(struct io_writer *w, const struct io_meta *meta,
					 const struct io_write_opts *opts)
{
	struct jpeg_ctx *c = jpeg_ctx_new();
	tp_status s = TP_OK;

	if (!c)
		return tp_err(TP_ENOMEM, "%s: out of memory", w->path);
	w->state = c;
	w->free_state = jpeg_ctx_free;
	c->meta = meta;
	c->opts = opts;
	c->winfo = &w->info;
	c->f = fopen(w->path, "wb");
	if (!c->f)
		return tp_err(TP_ECREATE, "%s: cannot create: %s", w->path, strerror(errno));
	w->created = 1;
	if (opts && opts->jpeg_keep) {
		int kept;
		if ((s = io_jpeg_keep_create(w, opts->jpeg_keep, &kept)) != TP_OK || kept)
			return s;
	}
	if (meta && meta->exif && meta->exif_len) {
		/* as it came: the pixels are in the order stored, orientation and all */
		c->exif = tp_malloc(meta->exif_len);
		if (!c->exif)
			return tp_err(TP_ENOMEM, "%s: out of memory", w->path);
		memcpy(c->exif, meta->exif, meta->exif_len);
		c->exif_len = meta->exif_len;
	}
	if (jpeg_guard(c, step_write_header))
		s = tp_err(TP_EIO, "%s: writing header: %s", w->path, c->msg);
	w->write_row = jpeg_write_row_cb;
	w->finish = jpeg_finish_cb;
	return s;
}

static int jpeg_probe(const uint8_t *head, size_t n)
{
	return n >= 3 && head[0] == 0xff && head[1] == 0xd8 && head[2] == 0xff;
}

static const char *const jpeg_extensions[] = { "jpg", "jpeg", "jpe", NULL };

/* A whole encode keeps a band of 16 rows of samples and its MCU row; the
 * keep writer holds its source's coefficients (two bytes a sample at 4:4:4,
 * the most) and a band of re-encoded MCUs read back as coefficients. */
static size_t jpeg_mem_need(const struct io_info *info, const struct io_meta *meta,
			    const struct io_write_opts *opts)
{
	size_t band = (size_t)info->width * 3 * 16 * 8 + ((size_t)2 << 20);
	(void)meta;
	if (opts->jpeg_keep && !opts->jpeg_quality)
		return (size_t)info->width * info->height * 3 * 2 + 2 * band;
	return band;
}

const struct io_format_ops io_jpeg_format = {
	IO_FORMAT_JPEG, "jpeg", jpeg_extensions, jpeg_probe, jpeg_open, jpeg_create, jpeg_mem_need
};
