/*
 * io_int.h - private to src/io: the reader and writer objects shared by the
 * format back ends (png.c, jpeg.c, tiff.c) and the dispatch in raster.c, and
 * the helpers below both. A back end fills `info`, the owned metadata and
 * either `read_row` (streaming) or `image` (whole-image decode); raster.c
 * does the row copying, and reaches the back ends through their struct
 * io_format_ops. The files call each other one way only:
 *   raster.c -> png.c, jpeg.c, tiff.c -> io_common.c -> exif.c
 * (raster.c also calls io_common.c; the back ends also call exif.c), and
 *   png.c -> png_zpar.c -> io_par.c,  png.c -> inflate.c,  tiff.c -> io_par.c
 * for the encoding done on threads (and the TIFF reader's read-ahead and
 * writer's flushing, on a thread of their own).
 */
#ifndef IO_INT_H
#define IO_INT_H

#include "raster.h"
#include "../util/pool.h"

struct io_reader {
	char *path;                 /* owned copy of the file name */
	uint64_t file_size;         /* bytes in the file when opened: what it
				     * declares (byte counts, metadata) must fit */
	FILE *f;                    /* the file, opened once (never blocking on a
				     * FIFO or device); the back end's open takes it
				     * (sets this to NULL) */
	struct io_info info;
	struct io_meta meta;        /* points into the owned fields below */
	uint8_t *icc, *exif, *xmp;  /* owned metadata blobs (tp_malloc) */
	char **keys, **values;      /* owned text pairs, ntext of each */
	size_t ntext;
	size_t text_bytes;          /* their values, for IO_MAX_TEXT_BYTES */
	int compression;            /* io_reader_compression() */
	const char *nodata;         /* io_reader_nodata(): the back end's, or NULL */
	uint32_t row;               /* next row to hand out */
	int failed;                 /* a read failed: every later read fails too */
	/* whole-image decode (buffered): height rows of image_stride bytes */
	uint8_t *image;
	size_t image_stride;
	/* streaming back end: decode the next row (index io_reader_decoding(r))
	 * into `dst` */
	TP_MUST_USE tp_status (*read_row)(struct io_reader *r, uint8_t *dst);
	int ahead_ok;               /* the back end's read_row may run on another thread,
				     * one row after another: raster.c then decodes
				     * blocks of rows ahead on a thread of its own */
	struct io_ahead *ahead;     /* that read-ahead, once rows are read (raster.c) */
	uint32_t decoding;          /* the row its thread is decoding (with ahead) */
	void (*free_state)(void *state);
	void *state;                /* back-end state, freed with free_state */
};

/* The row read_row is decoding now (for its messages): r->row, or the
 * read-ahead's row when one is decoding ahead of the caller. */
static inline uint32_t io_reader_decoding(const struct io_reader *r)
{
	return r->ahead ? r->decoding : r->row;
}

struct io_writer {
	char *path;                 /* owned copy; unlinked on close unless finished */
	char *name;                 /* what error messages call the file (opts->name, or path) */
	int sys_errno;              /* set by a back end when a write failed for a system
				     * reason (ENOSPC, EIO...): the message then says so */
	struct io_info info;
	uint32_t row;               /* rows written so far */
	int created;                /* the back end created the file (so may unlink it) */
	int finished;               /* io_writer_finish succeeded */
	int failed;                 /* a write failed: the file is garbage */
	const uint8_t *changed;     /* the row being written: 1 per pixel that may differ
				     * from the source (NULL: any may) */
	TP_MUST_USE tp_status (*write_row)(struct io_writer *w, const uint8_t *src);
	TP_MUST_USE tp_status (*finish)(struct io_writer *w);
	void (*free_state)(void *state); /* also closes the file if still open */
	void *state;
};

/*
 * Limits on what a file may declare, checked before anything is allocated
 * for it (with io_info_check and io_check_bytes). A file breaking one is
 * TP_EFORMAT naming it and the limit.
 */
#define IO_MAX_DIM 1048576u                  /* width and height */
#define IO_MAX_META ((size_t)16 << 20)       /* one ICC, EXIF or XMP blob */
#define IO_MAX_TEXT 1024u                    /* text pairs (PNG text, JPEG COM) */
#define IO_MAX_TEXT_BYTES ((size_t)16 << 20) /* all their values together */
/* deflate never expands by more than 1032:1 (258 bytes per 2-bit code):
 * PNG pixel data and compressed metadata cannot exceed this times the file */
#define IO_DEFLATE_MAX_RATIO 1032u

/* ---- io_common.c: limits, metadata, whole-image buffer, fsync ---- */

/* Bytes of one packed row of `info`. The limits check makes it fit. */
size_t io_row_bytes(const struct io_info *info);
/* Check dimensions and layout (width x height x channels x bytes per sample
 * must be addressable); TP_EFORMAT naming `path` when out of range. */
TP_MUST_USE tp_status io_info_check(const char *path, const struct io_info *info);
/* `what` declares `need` bytes that must lie in the file (a byte count, a
 * metadata length): TP_EFORMAT naming the file when it has fewer. */
TP_MUST_USE tp_status io_check_bytes(const struct io_reader *r, const char *what, uint64_t need);
/* The process-wide cap set with io_reader_set_max_memory (0: none). Back
 * ends check every buffer sized by the file against it before allocating:
 * TP_EFORMAT naming the file, what, and both numbers. */
TP_MUST_USE tp_status io_check_memory(const struct io_reader *r, const char *what, uint64_t need);
size_t io_max_memory(void);
/* io_info_check for a file being read, plus the io_reader_set_max_pixels
 * limit: every back end calls it as soon as the header gives the size. */
TP_MUST_USE tp_status io_reader_check(const struct io_reader *r);

/* Copy a blob into the reader's metadata (replaces an earlier one). */
TP_MUST_USE tp_status io_meta_set_icc(struct io_reader *r, const uint8_t *p, size_t n);
TP_MUST_USE tp_status io_meta_set_exif(struct io_reader *r, const uint8_t *p, size_t n);
TP_MUST_USE tp_status io_meta_set_xmp(struct io_reader *r, const uint8_t *p, size_t n);
/* Append a text pair (copied; value may hold n bytes without a NUL). */
TP_MUST_USE tp_status io_meta_add_text(struct io_reader *r, const char *key, const char *value, size_t n);
/* Allocate r->image for info.height rows; sets info.buffered. */
TP_MUST_USE tp_status io_reader_alloc_image(struct io_reader *r);

/* fsync a file that is already closed, by name (for libtiff). TP_EIO. */
TP_MUST_USE tp_status io_fsync_path(const char *path);
/* A writer's file done: flush, fsync, close (*f set to NULL). TP_EIO with the
 * system's reason in w->sys_errno. */
TP_MUST_USE tp_status io_close_output(struct io_writer *w, FILE **f);


/* EXIF (exif.c): orientation 1..8 from a TIFF-structured EXIF block, or 0
 * when it has none (or is malformed). */
int io_exif_orientation(const uint8_t *p, size_t n);

/* ---- io_par.c: encoding items on threads, taken back in order ---- */

/* An item of encoding work; embed it first in your own struct. `work` runs on
 * some thread (worker: which one, for scratch only) and must not depend on
 * which; `busy` is the caller's to read (1 from submit until waited for). */
struct io_par_item {
	struct tp_pool_item pi;
	void (*work)(struct io_par_item *self, uint32_t worker);
	int busy;
};
struct io_par;
/* Encoding never takes more threads than this (what they hold in flight is
 * a few items each), whatever -j. */
#define IO_PAR_MAX_THREADS 8u
/* `threads` threads of the program's pool (util/pool.h); 0 or 1: none, every
 * item runs at once in io_par_submit, on the caller. TP_ENOMEM. */
TP_MUST_USE tp_status io_par_new(uint32_t threads, struct io_par **out);
/* Start an item (it must stay valid until waited for). */
void io_par_submit(struct io_par *p, struct io_par_item *it);
/* Block until this item is done (others finishing meanwhile are noted). */
void io_par_wait(struct io_par *p, struct io_par_item *it);
/* Worker numbers in use are below this. */
uint32_t io_par_workers(const struct io_par *p);
/* Every submitted item must have been waited for. Accepts NULL. */
void io_par_free(struct io_par *p);

/* ---- io_par.c: one background thread, one job at a time ---- */

/* A reader's read-ahead or a writer's flush: fn(ctx) runs on a thread of its
 * own while the caller goes on; io_bg_wait joins the job and returns its
 * status, with its tp_err message raised again on the caller's thread (the
 * message buffer is per thread). The thread has a small stack (IO_BG_STACK)
 * and never runs two jobs at once, so what fn touches is the caller's only
 * when no job is running. */
struct io_bg;
#define IO_BG_STACK ((size_t)4 << 20)
/* TP_ENOMEM when the thread cannot be made. */
TP_MUST_USE tp_status io_bg_new(struct io_bg **out);
/* Start fn(ctx) (the previous job must have been waited for). */
void io_bg_start(struct io_bg *b, tp_status (*fn)(void *ctx), void *ctx);
/* 1 from io_bg_start until io_bg_wait. */
int io_bg_busy(const struct io_bg *b);
/* Block until the job is done; its status (TP_OK when none was started). */
TP_MUST_USE tp_status io_bg_wait(struct io_bg *b);
/* Wait for any job, stop and join the thread. Accepts NULL. */
void io_bg_free(struct io_bg *b);

/* ---- png_zpar.c: a PNG's IDAT zlib stream deflated in parallel ---- */

struct io_zpar_spec {
	const char *name;         /* the file, for messages */
	size_t row_bytes;         /* one packed row */
	uint32_t bpp;             /* bytes per pixel, for the filters (>= 1) */
	uint32_t height;          /* rows in the image */
	int level, strategy;      /* zlib's */
	int swap16;               /* rows come as native 16-bit samples on a
				   * little-endian machine: swap them */
	uint32_t threads;         /* see io_par_new; the bytes do not depend on it */
	/* the next piece of the zlib stream, in order (the caller's thread) */
	TP_MUST_USE tp_status (*emit)(void *ctx, const uint8_t *p, size_t n);
	void *ctx;
};
struct io_zpar;
TP_MUST_USE tp_status io_zpar_new(const struct io_zpar_spec *sp, struct io_zpar **out);
/* The next row (copied). Pieces of the stream may be emitted. */
TP_MUST_USE tp_status io_zpar_row(struct io_zpar *z, const uint8_t *row);
/* After the last row: the rest of the stream (Adler-32 included) emitted. */
TP_MUST_USE tp_status io_zpar_finish(struct io_zpar *z);
/* Waits for work in flight. Accepts NULL. */
void io_zpar_free(struct io_zpar *z);

/* ---- the back ends, used by raster.c only ---- */

/* One format: what raster.c's dispatch needs of its back end. */
struct io_format_ops {
	enum io_format format;
	const char *name;                /* io_format_name() */
	const char *const *extensions;   /* file name extensions (io_format_from_name),
					  * lower case, matched ignoring case; NULL-terminated */
	/* 1 when a file's first n bytes (n may be short) carry the format's signature */
	int (*probe)(const uint8_t *head, size_t n);
	/* Fill r (info, meta, compression, read_row/state or image). */
	TP_MUST_USE tp_status (*open)(struct io_reader *r);
	/* Create w->path (set created), write what comes before the rows, set
	 * write_row, finish and state/free_state. */
	TP_MUST_USE tp_status (*create)(struct io_writer *w, const struct io_meta *meta,
			    const struct io_write_opts *opts);
	/* The most a writer made by create() with these arguments holds (its
	 * buffers and the library's), for io_writer_mem_need. */
	size_t (*mem_need)(const struct io_info *info, const struct io_meta *meta,
			   const struct io_write_opts *opts);
};

/* png.c, jpeg.c, tiff.c */
extern const struct io_format_ops io_png_format, io_jpeg_format, io_tiff_format;

#endif
