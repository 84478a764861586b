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
	int started;              /* reader: jpeg_start_decompress done (a single-scan
				   * file starts at its first row, so that it can
				   * still be lent, below) */
	int lent;                 /* reader: decoding through the coefficients it lends */
	jvirt_barray_ptr *lent_coefs;
	void *keep;               /* writer keeping a source's coefficients (jpeg_keep.c) */
	void (*keep_free)(void *keep);
};

struct jpeg_ctx *jpeg_ctx_new(void);
void jpeg_ctx_free(void *state);
/* Run one step under libjpeg's error longjmp; 0 on success, -1 on error
 * (c->msg says what, c->err_errno the system's reason for a failed write). */
int jpeg_guard(struct jpeg_ctx *c, void (*step)(struct jpeg_ctx *));

/* A baseline (sequential) file whose first scan has every component: its only scan. */
int jpeg_single_scan(const struct jpeg_decompress_struct *d);

/*
 * jpeg_glue.c: make reader r (a JPEG reader of a baseline, single-scan file, no
 * row read yet) decode through a whole-image buffer of DCT coefficients, and
 * lend them: *coefs, owned by the returned context's decompressor, valid
 * while r is open; rows already read may be changed (r never reads them
 * again). TP_OK with NULL when r cannot (another format or kind of file, a
 * row read, the coefficients too large); TP_EFORMAT when the file's data
 * cannot be read. Errors of libjpeg calls on the lent decompressor go to the
 * returned context: call them under jpeg_guard on it.
 */
TP_MUST_USE tp_status jpeg_reader_lend(struct io_reader *r, struct jpeg_ctx **lender,
				       jvirt_barray_ptr **coefs);

/* jpeg_keep.c: the writer that keeps a source JPEG's DCT coefficients where
 * no pixel changed. TP_OK with *kept = 0 when the source cannot be kept
 * (another layout, rotated by EXIF, too large): write it the usual way. */
TP_MUST_USE tp_status io_jpeg_keep_create(struct io_writer *w, const char *source, int *kept);

#endif
