/*
 * job_int.h - what the files of one job share: the job's state and the
 * steps tp_job_process takes, each in the file named beside it.
 *
 *   job.c        the steps in order; the job's buffers
 *   job_check.c  checkpoints between units of work (below the others)
 *   job_mask.c   the mask stream: read, binarise, dilate; the mask pass
 *   job_guide.c  the guide for holes thicker than a tile's context
 *   job_band.c   the band loop: fill the band, run and blend a row of tiles
 *   job_mem.c    the tile size and window that fit under --mem-limit
 *   job_output.c the output: temporary beside the final name, publish
 */
#ifndef TP_JOB_INT_H
#define TP_JOB_INT_H

#include "job.h"
#include "lease.h"
#include "workers.h"
#include "io/raster.h"
#include "../tiler/tiler.h"

/* One tile on its way through the engine; `window` of these are reused. */
struct slot {
	float *pix;          /* (tile_h, tile_w, color) */
	uint8_t *mask;       /* (tile_h, tile_w) */
	float *guide;        /* (tile_h, tile_w, color) in job.guide_buf, or NULL: no guide */
	struct tp_task task;
	int ready;           /* result in pix, ready to blend */
	size_t tile;         /* plan index */
	struct tp_rect r;    /* the part of the tile in pix and mask: the whole tile, or
			      * its holes' box grown by the engine's reach (engine_ops) */
	const struct job *job; /* whose band the worker cuts the tile from */
};

struct job {
	struct tp_engine_ctx *eng;
	const struct tp_opts *o;
	const struct tp_job_io *io;
	struct tp_job_result *res;
	struct tp_timings *t;      /* = &res->t */
	struct tp_lease_keeper keeper;
	struct io_reader *in, *mk;
	struct io_writer *out;
	struct tiler_dilate *dil;
	struct tiler_plan *plan;
	struct tiler_band *band;
	struct tp_pixfmt fmt;
	uint32_t color;
	size_t row_bytes;    /* one input row */
	void *mask_src;      /* one mask row in the mask file's layout */
	uint8_t *mask_bin;   /* one binarised row */
	uint8_t *mask_eff;   /* one dilated row */
	void *row_buf;       /* one input row */
	struct slot *slots;
	size_t window;
	size_t pix_bytes;    /* each slot's pix */
	uint8_t *done;       /* (ntiles) result already in the store */
	uint32_t mask_rows_pushed;
	struct tiler_runs *mask_runs; /* the effective mask as the first mask pass saw it
				       * (complete: later passes read it, not the file),
				       * or NULL */
	uint8_t *mask_turned; /* (height, width) the whole binarised mask in the image's
			       * stored order, when it had to be turned to get there
			       * (EXIF orientation), else NULL: streamed */
	struct tiler_coarse *coarse; /* the guide's coarse image, or NULL: no guide */
	uint8_t *guided;     /* (ntiles) 1: the tile touches a thick hole and gets the guide */
	float *guide_buf;    /* (window, tile_h, tile_w, color) each slot's resampled guide */
	int guide_ready;     /* coarse->img holds the engine's fill */
	uint32_t guide_side; /* 0, or the guide's longest side as job_mem_fit lowered it */
	uint32_t enc_threads; /* the writer's encoding threads (job_mem_fit) */
	double nodata;       /* --mask nodata: the value of the image's holes */
	int ranging;         /* mask pass of a signed/float image with --mask nodata: the
			      * mask rows (the image's) give the known samples' range */
	double lo, hi;       /* that range so far */
	char tmp_path[4096];
	int published;       /* the temporary was renamed into place */
	int tmp_made;        /* job_output_copy created tmp_path (unlinked unless published) */
};

/* job_check.c */
/* Between units of work: TP_ECANCELED once a stop signal came, and the
 * lease kept alive (TP_ELEASE once another process took the job over). */
TP_MUST_USE tp_status job_checkpoint(struct job *j);
/* Every 64th row y of a long pass: job_checkpoint, else TP_OK. */
TP_MUST_USE tp_status job_checkpoint_row(struct job *j, uint32_t y);
/* Test hook: stop (SIGSTOP) on reaching a stage or the n-th committed tile. */
void job_test_freeze(const char *stage, uint64_t tiles);
/* Test hook: the mask runs' budget (TILEPAINT_TEST_RUNS_BUDGET), else `budget`. */
size_t job_test_runs_budget(size_t budget);
/* Test hook: 1 when TILEPAINT_TEST_NO_CUT is set: whole tiles go to an
 * engine that declares a reach, so tests can compare the two. */
int job_test_no_cut(void);

/* job_mask.c */
/* (Re)open the mask at its first row, checking its size against the image. */
TP_MUST_USE tp_status job_mask_open(struct job *j);
/* The next effective (binarised, dilated) mask row into j->mask_eff. */
TP_MUST_USE tp_status job_mask_next_row(struct job *j);
/* The next input row into `row` (j->row_bytes) and its effective mask row
 * into j->mask_eff. */
TP_MUST_USE tp_status job_next_rows(struct job *j, void *row);
/* Stream the whole mask once: masked pixels per tile, and the guide's coarse mask. */
TP_MUST_USE tp_status job_mask_pass(struct job *j);

/* job_guide.c */
/* Before the mask pass: make the coarse image when the engine wants a guide. */
TP_MUST_USE tp_status job_guide_setup(struct job *j);
/* After the mask pass: which tiles need it; build it when one of those is not stored. */
TP_MUST_USE tp_status job_guide_prepare(struct job *j);

/* job_band.c */
/* Read input and mask rows until the band holds rows [.., y_end). */
TP_MUST_USE tp_status job_band_fill(struct job *j, uint32_t y_end);
/* Run (or load from the store) and blend the active tiles of tile row r. */
TP_MUST_USE tp_status job_band_row(struct job *j, uint32_t r);
/* Finish rows [.., y_end) in the band and hand each to the writer. */
TP_MUST_USE tp_status job_band_emit(struct job *j, uint32_t y_end);

/* job_mem.c */
/* After the mask pass: the window (tiles in flight) and, under an explicit
 * --mem-limit without --tile, the tile size (planning and passing over the
 * mask again) that keep the job under the limit; TP_EFORMAT (as for an image
 * over --max-pixels) naming what it
 * would need when even one small tile does not fit. reader_bytes: what
 * opening the input and mask allocated. */
TP_MUST_USE tp_status job_mem_fit(struct job *j, uint64_t reader_bytes);
/* job_output.c */
/* The output's layout and the writer's options (with `threads` encoding
 * threads), as job_output_open passes them; job_mem_fit plans with them. */
void job_output_opts(const struct job *j, uint32_t threads, struct io_info *oi,
		     struct io_write_opts *wo);
/* Open the writer on a temporary name beside the output (stale ones removed). */
TP_MUST_USE tp_status job_output_open(struct job *j);
/* Finish the temporary, sign it and put it in place (fenced by the store's
 * transaction when there is one). */
TP_MUST_USE tp_status job_output_publish(struct job *j);
/* 1 when the output is to be the input's bytes as they are: no tile has a
 * masked pixel (after dilation), the output's format is the input's, and
 * no encoding was asked for (--jpeg-quality for a JPEG, --png-level for a
 * PNG). */
int job_output_can_copy(const struct job *j);
/* Decode every row (a corrupt input fails as it would when rewritten), copy
 * the input's bytes to a temporary beside the output and put it in place as
 * job_output_publish does. */
TP_MUST_USE tp_status job_output_copy(struct job *j);

#endif
