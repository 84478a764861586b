/*
 * jpeg_int.h - private to the JPEG back end (jpeg.c, jpeg_keep.c, and
 * jpeg_glue.c below both): the libjpeg state of one reader or writer, and
 * running libjpeg calls under its error longjmp.
 */
#ifndef IO_JPEG_INT_H
#define IO_JPEG_INT_H

#include "io_int.h"

#include <jpeglib.h>
#include <jerror.h>
#include <setjmp.h>

#define EXIF_HDR "Exif\0\0"
#define EXIF_HDR_LEN 6
#define XMP_HDR "http://ns.adobe.com/xap/1.0/"
#define XMP_HDR_LEN 29 /* with its NUL */
#define ICC_HDR "ICC_PROFILE"
#define ICC_HDR_LEN 14 /* "ICC_PROFILE\0", sequence number, count */
#define ICC_CHUNK 65519 /* 65533 marker bytes minus the ICC header */
#define COMMENT_KEY "Comment"
#define IO_JPEG_MAX_MEMORY ((long)1 << 31) /* bytes libjpeg may hold while decoding */

struct jpeg_ctx {
	struct jpeg_decompress_struct d;
	struct jpeg_compress_struct cc;
	struct jpeg_error_mgr em;
	int have_d, have_c;
	int err_errno;           /* errno of a failed write (JERR_FILE_WRITE), else 0 */
	FILE *f;
	int warnings;             /* libjpeg warnings since decoding started */
	char msg[JMSG_LENGTH_MAX];
	jmp_buf jb;
	/* step arguments */
	JSAMPROW row;
	const struct io_meta *meta;
	const struct io_write_opts *opts;
	const struct io_info *winfo;
	uint8_t *exif;            /* writer: owned copy of the EXIF block, orientation 1 */
	size_t exif_len;
	void *keep;               /* writer keeping a source's coefficients (jpeg_keep.c) */
	void (*keep_free)(void *keep);
};

struct jpeg_ctx *jpeg_ctx_new(void);
void jpeg_ctx_free(void *state);
/* Run one step under libjpeg's error longjmp; 0 on success, -1 on error
 * (c->msg says what, c->err_errno the system's reason for a failed write). */
int jpeg_guard(struct jpeg_ctx *c, void (*step)(struct jpeg_ctx *));

/* jpeg_keep.c: the writer that keeps a source JPEG's DCT coefficients where
 * no pixel changed. TP_OK with *kept = 0 when the source cannot be kept
 * (another layout, rotated by EXIF, too large): write it the usual way. */
TP_MUST_USE tp_status io_jpeg_keep_create(struct io_writer *w, const char *source, int *kept);

#endif
