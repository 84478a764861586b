/*
 * jpeg_glue.c - libjpeg's error handling for the JPEG back end: errors
 * longjmp to the one setjmp in jpeg_guard, warnings are counted (damage in
 * the data is an error to the reader), nothing is ever printed. And a
 * reader lending its coefficients to a writer (jpeg_reader_lend), which both
 * jpeg.c and jpeg_keep.c use.
 */
#include "jpeg_int.h"

#include <errno.h>

static void on_error(j_common_ptr cinfo)
{
	struct jpeg_ctx *c = cinfo->client_data;
	/* libjpeg's stdio destination says "out of disk space?" for any
	 * failed write; keep the system's own reason */
	c->err_errno = cinfo->err->msg_code == JERR_FILE_WRITE ? (errno ? errno : EIO) : 0;
	cinfo->err->format_message(cinfo, c->msg);
	longjmp(c->jb, 1);
}

static void on_message(j_common_ptr cinfo, int level)
{
	struct jpeg_ctx *c = cinfo->client_data;
	if (level < 0) {
		if (!c->warnings)
			cinfo->err->format_message(cinfo, c->msg);
		c->warnings++;
	}
}

static void on_output(j_common_ptr cinfo)
{
	(void)cinfo; /* never print */
}

/* Run one step under libjpeg's error longjmp; 0 on success, -1 on error. */
int jpeg_guard(struct jpeg_ctx *c, void (*step)(struct jpeg_ctx *))
{
	if (setjmp(c->jb))
		return -1;
	step(c);
	return 0;
}

void jpeg_ctx_free(void *state)
{
	struct jpeg_ctx *c = state;
	if (!c)
		return;
	if (c->have_d)
		jpeg_destroy_decompress(&c->d);
	if (c->have_c)
		jpeg_destroy_compress(&c->cc);
	if (c->f)
		fclose(c->f);
	tp_free(c->exif);
	if (c->keep_free)
		c->keep_free(c->keep);
	tp_free(c);
}

struct jpeg_ctx *jpeg_ctx_new(void)
{
	struct jpeg_ctx *c = tp_calloc(1, sizeof *c);
	if (!c)
		return NULL;
	jpeg_std_error(&c->em);
	c->em.error_exit = on_error;
	c->em.emit_message = on_message;
	c->em.output_message = on_output;
	return c;
}

int jpeg_single_scan(const struct jpeg_decompress_struct *d)
{
	return !d->progressive_mode && d->comps_in_scan == d->num_components;
}

static void step_lent_coefs(struct jpeg_ctx *c)
{
	c->d.buffered_image = TRUE;
	c->lent = 1;
	jpeg_start_decompress(&c->d);
	c->lent_coefs = jpeg_read_coefficients(&c->d); /* (the buffer, in buffered-image mode) */
	jpeg_start_output(&c->d, c->d.input_scan_number);
	c->started = 1;
}

tp_status jpeg_reader_lend(struct io_reader *r, struct jpeg_ctx **lender, jvirt_barray_ptr **coefs)
{
	struct jpeg_ctx *c = r->state;
	uint64_t bytes = 0;
	*lender = NULL;
	*coefs = NULL;
	if (r->info.format != IO_FORMAT_JPEG || r->free_state != jpeg_ctx_free || !c ||
	    c->started || r->row || r->failed || !jpeg_single_scan(&c->d) || c->d.arith_code)
		return TP_OK;
	for (int ci = 0; ci < c->d.num_components; ci++) {
		const jpeg_component_info *comp = &c->d.comp_info[ci];
		uint64_t h = (uint64_t)comp->h_samp_factor, v = (uint64_t)comp->v_samp_factor;
		bytes += (comp->width_in_blocks + h - 1) / h * h *
			 ((comp->height_in_blocks + v - 1) / v * v) * sizeof(JBLOCK);
	}
	if (bytes > (uint64_t)IO_JPEG_MAX_MEMORY / 2)
		return TP_OK;   /* the writer reads them itself, or re-encodes the whole */
	c->warnings = 0;
	if (jpeg_guard(c, step_lent_coefs) || !c->lent_coefs)
		return tp_err(TP_EFORMAT, "%s: corrupt JPEG (%s)", r->path, c->msg);
	*lender = c;
	*coefs = c->lent_coefs;
	return TP_OK;
}
