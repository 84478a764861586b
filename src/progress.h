/*
 * progress.h - what a run shows on stderr while it works (see progress.c).
 */
#ifndef TP_PROGRESS_H
#define TP_PROGRESS_H

#include "util/tp.h"

struct tp_progress;
/* `images`: images in the run; `tile_ms_estimate`: mean tile time known so far (0: none).
 * NULL when out of memory: every function below accepts NULL and does nothing. */
struct tp_progress *tp_progress_new(int quiet, uint64_t images, double tile_ms_estimate,
				    uint32_t threads);
void tp_progress_image(struct tp_progress *p, const char *name, uint64_t image_tiles);
void tp_progress_tiles(struct tp_progress *p, uint64_t done_delta, double tile_ms);
void tp_progress_clear(struct tp_progress *p);   /* erase the bar before printing a line */
void tp_progress_free(struct tp_progress *p);

#endif
