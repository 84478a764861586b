/*
 * progress.h - the batch line a run (or `inpaint`) shows on a terminal's
 * stderr while it works (see progress.c); nothing when stderr is not one.
 */
#ifndef TP_PROGRESS_H
#define TP_PROGRESS_H

#include "util/tp.h"

/* --progress / --no-progress / neither (a bar when stderr is a terminal and not -q). */
enum tp_progress_mode { TP_PROGRESS_AUTO = 0, TP_PROGRESS_ON = 1, TP_PROGRESS_OFF = -1 };

struct tp_progress;
/*
 * `images`: images in the batch (0: `inpaint`, one image and no count
 * shown); `tile_ms_estimate`: the mean engine time per tile the store has
 * measured before (0: none), the ETA's basis until this run has measured its
 * own; `threads`: the workers. NULL when there is nothing to show (not a
 * terminal, -q, --no-progress) or no memory: every function below accepts
 * NULL and does nothing. Main thread only (log lines from any thread erase
 * and redraw the bar through tp_log).
 */
struct tp_progress *tp_progress_new(enum tp_progress_mode mode, int quiet, uint64_t images,
				    double tile_ms_estimate, uint32_t threads);
/* An image of the batch is reached (`name` is copied). */
void tp_progress_begin(struct tp_progress *p, const char *name);
/* The current image enters `stage` ("mask", "guide", "rows", ...), which goes
 * over `rows` rows (0: none to count); drawn at once. */
void tp_progress_stage(struct tp_progress *p, const char *stage, uint64_t rows);
/* Rows of the stage done so far. */
void tp_progress_row(struct tp_progress *p, uint64_t row);
/* The workers the engine really runs (--mem-limit may start fewer than -j):
 * the ETA's basis until a few tiles are measured. */
void tp_progress_workers(struct tp_progress *p, uint32_t threads);
/* The current image's plan: its width and its masked (active) tiles. */
void tp_progress_plan(struct tp_progress *p, uint32_t width, uint64_t active);
/* `done_delta` tiles blended; `tile_ms` the engine time of a computed one
 * (0: loaded from the store). */
void tp_progress_tiles(struct tp_progress *p, uint64_t done_delta, double tile_ms);
/* The current image ended; `pixels` of it were written (0: not finished). */
void tp_progress_end(struct tp_progress *p, uint64_t pixels);
void tp_progress_clear(struct tp_progress *p);   /* erase the bar (tp_log does it itself) */
void tp_progress_free(struct tp_progress *p);    /* erases the bar */

/*
 * The ETA arithmetic `status` and the bar share: masked tiles left of the
 * planned images, plus, for `unplanned` images, the planned images' mean
 * (`planned_active` tiles over `planned` images), at `tiles_per_s` (measured
 * wall throughput at the real worker count). tp_progress_guess is the second
 * term (0 with nothing planned); tp_progress_eta_s returns seconds, or -1
 * when unknown (no throughput, or images to guess at and none planned).
 */
double tp_progress_guess(double unplanned, double planned_active, double planned);
double tp_progress_eta_s(double tiles_left, double unplanned, double planned_active,
			 double planned, double tiles_per_s);

#endif
