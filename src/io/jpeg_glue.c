/*
 * jpeg_glue.c - libjpeg's error handling for the JPEG back end: errors
 * longjmp to the one setjmp in jpeg_guard, warnings are counted (damage in
 * the data is an error to the reader), nothing is ever printed.
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
