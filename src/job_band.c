/*
 * job_band.c - the band loop proper: fill the band with the rows a row of
 * tiles needs, cut each active tile out of it and either load its stored
 * result or hand it to the workers (at most `window` in flight), commit each
 * result to the store as it comes back, blend the results in tile order
 * whatever order they finished in, and emit the rows no later tile touches.
 */
#include "job_int.h"
#include "blob.h"

#include <string.h>

tp_status job_band_fill(struct job *j, uint32_t y_end)
{
	while (tiler_band_y0(j->band) + tiler_band_nrows(j->band) < y_end) {
		void *row = tiler_band_next_src(j->band);   /* decoded in place */
		tp_status rc;
		if ((rc = job_next_rows(j, row ? row : j->row_buf)) != TP_OK)
			return rc;
		if ((rc = tiler_band_push(j->band, row ? row : j->row_buf, j->mask_eff)) != TP_OK)
			return rc;
		if (((tiler_band_y0(j->band) + tiler_band_nrows(j->band)) & 63) == 0 &&
		    (rc = job_checkpoint(j)) != TP_OK)
			return rc;
	}
	return job_checkpoint(j);
}

tp_status job_band_emit(struct job *j, uint32_t y_end)
{
	tp_status rc = TP_OK;
	if (tiler_band_y0(j->band) >= y_end)
		return TP_OK;
	job_test_freeze("encode", 0);
	while (rc == TP_OK && tiler_band_y0(j->band) < y_end) {
		/* the pixels that may differ from the input: the effective mask
		 * (valid until the next push, like the row) */
		const uint8_t *changed = tiler_band_mask_row(j->band, tiler_band_y0(j->band));
		const void *row;
		TP_TIMED(j->t, TP_STAGE_BLEND)
			row = tiler_band_emit_row(j->band);
		TP_TIMED(j->t, TP_STAGE_ENCODE)
			rc = io_writer_write_rows_changed(j->out, row, j->row_bytes, 1, changed, 0);
		if (rc == TP_OK && (tiler_band_y0(j->band) & 63) == 0) {
			tp_progress_row(j->io->progress, tiler_band_y0(j->band));
			rc = job_checkpoint(j);
		}
	}
	return rc;
}

/* A tile row in progress: its active tiles and how far each is. */
struct row_run {
	size_t *act, nact;
	size_t next_sub;     /* next active tile to start */
	size_t next_blend;   /* next to blend (tile order) */
	size_t inflight;     /* with the workers */
	tp_status stop;      /* why no more tiles are started (a failure or losing the
			      * lease outranks a stop request) */
};

/* Only new engine work is held to the deadline: replaying stored tiles is
 * what makes the stop cheap to resume. A signal stops at once; the deadline
 * only once this run computed something, so a series of short cron runs
 * always moves forward. */
static int must_stop(const struct job *j)
{
	return tp_cancelled() || (j->io->deadline_ms > 0 && tp_now_ms() >= j->io->deadline_ms &&
				  *j->io->computed_total > 0);
}

/* A stored result into the slot. */
TP_MUST_USE static tp_status load_stored(struct job *j, struct slot *s, const struct tiler_tile *t)
{
	void *blob = NULL;
	size_t len = 0;
	tp_status rc;
	TP_TIMED(j->t, TP_STAGE_STORE)
		rc = store_tile_get(j->io->store, j->io->lease->job, (uint32_t)s->tile, &blob, &len);
	if (rc == TP_OK)
		rc = tp_blob_unpack(blob, len, s->pix, s->mask, (uint32_t)t->r.w, (uint32_t)t->r.h,
				    j->color, j->fmt.sample != TP_SAMPLE_UINT);
	tp_free(blob);
	if (rc == TP_OK) {
		s->ready = 1;
		j->res->reused++;
	}
	return rc;
}

/* On the worker, before the engine: the tile's pixels and mask out of the
 * band, and its guide. The band's samples and mask do not change while tiles
 * of its row are in flight (the main thread only adds to its accumulators),
 * nor does the guide's coarse image. */
static void cut_tile(struct tp_task *task)
{
	struct slot *s = task->ctx;
	const struct job *j = s->job;
	tiler_band_tile_get(j->band, s->r, s->pix, s->mask);
	if (task->tile.guide)
		tiler_coarse_resample(j->coarse, s->r, s->guide);
}

/* What of tile t the engine gets: with a reach (engine_ops), the box of its
 * masked pixels grown by it, clipped to the tile; else the whole tile. */
static struct tp_rect tile_cut(const struct job *j, const struct tiler_tile *t)
{
	uint32_t reach;
	int32_t x0, y0, x1, y1;
	if (!j->eng->ops->reach || t->box.w == 0 || job_test_no_cut())
		return t->r;
	reach = j->eng->ops->reach(j->eng->state);
	if (reach >= (uint32_t)t->r.w && reach >= (uint32_t)t->r.h)
		return t->r;
	x0 = t->box.x - (int32_t)reach > t->r.x ? t->box.x - (int32_t)reach : t->r.x;
	y0 = t->box.y - (int32_t)reach > t->r.y ? t->box.y - (int32_t)reach : t->r.y;
	x1 = tp_rect_right(t->box) + (int32_t)reach < tp_rect_right(t->r)
		? tp_rect_right(t->box) + (int32_t)reach : tp_rect_right(t->r);
	y1 = tp_rect_bottom(t->box) + (int32_t)reach < tp_rect_bottom(t->r)
		? tp_rect_bottom(t->box) + (int32_t)reach : tp_rect_bottom(t->r);
	return (struct tp_rect){ x0, y0, x1 - x0, y1 - y0 };
}

/* The tile in the slot to the workers, with its guide when it gets one. */
TP_MUST_USE static tp_status submit(struct job *j, struct slot *s, const struct tiler_tile *t,
				    size_t slot)
{
	tp_status rc = tp_engine_ensure(j->eng);
	if (rc != TP_OK)
		return rc;
	s->r = tile_cut(j, t);   /* (the engine is open: its reach is known) */
	memset(&s->task, 0, sizeof s->task);
	s->task.tile = (struct engine_tile){
		.w = (uint32_t)s->r.w, .h = (uint32_t)s->r.h,
		.channels = j->color, .bits = j->fmt.bits,
		.pix = s->pix, .mask = s->mask, .x = s->r.x, .y = s->r.y,
		.seed = tp_hash_u64(tp_hash_u64(j->io->content_hash, (uint64_t)t->r.x),
				    (uint64_t)t->r.y),
	};
	if (j->guide_ready && j->guided[s->tile]) {
		s->task.tile.guide = s->guide;
		s->task.tile.guide_scale = j->coarse->f;
	}
	s->task.prepare = cut_tile;
	s->task.ctx = s;
	s->task.slot = slot;
	tp_workers_submit(j->eng->workers, &s->task);
	return TP_OK;
}

/* Start active tiles while the window has room. */
static void start_tiles(struct job *j, struct row_run *rr)
{
	while (rr->stop == TP_OK && rr->next_sub < rr->nact &&
	       rr->next_sub - rr->next_blend < j->window) {
		size_t idx = rr->act[rr->next_sub], slot = rr->next_sub % j->window;
		struct slot *s = &j->slots[slot];
		const struct tiler_tile *t = &j->plan->tiles[idx];
		tp_status rc;
		if (!j->done[idx] && must_stop(j)) {
			rr->stop = tp_err(TP_ECANCELED, "%s: stopped with tiles left", j->io->input);
			break;
		}
		s->tile = idx;
		s->ready = 0;
		if (j->done[idx]) {
			/* its mask only: the blend reads no unmasked pixel of a result */
			s->r = t->r;
			TP_TIMED(j->t, TP_STAGE_BLEND)
				tiler_band_tile_get(j->band, t->r, NULL, s->mask);
			rc = load_stored(j, s, t);
		} else {
			rc = submit(j, s, t, slot);
		}
		if (rc != TP_OK) {
			rr->stop = rc;
			break;
		}
		if (!j->done[idx])
			rr->inflight++;
		rr->next_sub++;
	}
}

/* Commit a finished engine result: quantise, store, keep the lease. */
TP_MUST_USE static tp_status commit_result(struct job *j, struct slot *s)
{
	void *blob = NULL;
	size_t len = 0;
	tp_status rc;
	TP_TIMED(j->t, TP_STAGE_BLEND)
		rc = tp_blob_pack(s->pix, s->mask, (uint32_t)s->r.w, (uint32_t)s->r.h, j->color,
				  j->fmt.sample != TP_SAMPLE_UINT, j->io->store ? &blob : NULL, &len);
	if (rc == TP_OK && j->io->store) {
		TP_TIMED(j->t, TP_STAGE_STORE)
			rc = store_tile_put(j->io->store, j->io->lease, (uint32_t)s->tile, blob, len,
					    s->task.ms);
		if (rc == TP_OK)
			job_test_freeze(NULL, *j->io->computed_total);
		if (rc == TP_OK)
			rc = job_checkpoint(j);
	}
	tp_free(blob);
	return rc;
}

/* Wait for one tile from the workers and commit it at once. */
static void collect_one(struct job *j, struct row_run *rr)
{
	struct tp_task *task = tp_workers_wait(j->eng->workers);
	struct slot *s = &j->slots[task->slot];
	tp_status rc;
	rr->inflight--;
	if (task->status == TP_ECANCELED) {
		/* the engine saw the stop signal mid-tile: nothing to keep */
		if (rr->stop == TP_OK)
			rr->stop = tp_err(TP_ECANCELED, "%s: stopped with tiles left", j->io->input);
		return;
	}
	if (task->status != TP_OK) {
		if (j->io->store &&
		    store_tile_fail(j->io->store, j->io->lease, (uint32_t)s->tile) == TP_ELEASE) {
			rr->stop = TP_ELEASE;
			return;
		}
		if (rr->stop == TP_OK || rr->stop == TP_ECANCELED)
			rr->stop = tp_err(task->status, "%s: engine %s failed on tile %zu: %s",
					  j->io->input, j->eng->ops->name, s->tile, task->error);
		return;
	}
	tp_timings_add(j->t, TP_STAGE_INFERENCE, task->ms);
	tp_timings_add(j->t, TP_STAGE_BLEND, task->prepare_ms);
	j->res->computed++;
	(*j->io->computed_total)++;
	rc = commit_result(j, s);
	if (rc != TP_OK && (rr->stop == TP_OK || rr->stop == TP_ECANCELED || rc == TP_ELEASE))
		rr->stop = rc;
	s->ready = 1;
}

/* Blend the next tile in order if its result is ready; 1 when one was. */
static int blend_next(struct job *j, struct row_run *rr)
{
	struct slot *s;
	if (rr->next_blend >= rr->next_sub)
		return 0;
	s = &j->slots[rr->next_blend % j->window];
	if (!s->ready)
		return 0;
	TP_TIMED(j->t, TP_STAGE_BLEND)
		tiler_band_rect_add(j->band, j->plan, &j->plan->tiles[s->tile], s->r, s->pix);
	tp_progress_tiles(j->io->progress, 1, j->done[s->tile] ? 0 : s->task.ms);
	rr->next_blend++;
	return 1;
}

tp_status job_band_row(struct job *j, uint32_t r)
{
	struct tiler_plan *p = j->plan;
	size_t first = (size_t)r * p->ncols, act[4096];
	struct row_run rr = { .act = act };
	if (p->ncols > sizeof act / sizeof act[0]) {
		rr.act = tp_malloc(p->ncols * sizeof *rr.act);
		if (!rr.act)
			return tp_err(TP_ENOMEM, "%s: out of memory", j->io->input);
	}
	for (size_t c = 0; c < p->ncols; c++)
		if (p->tiles[first + c].masked)
			rr.act[rr.nact++] = first + c;
	while (rr.next_blend < rr.nact) {
		start_tiles(j, &rr);
		if (blend_next(j, &rr))
			continue;
		if (rr.inflight == 0)
			break;   /* stopping, and nothing left to collect */
		collect_one(j, &rr);
	}
	if (rr.act != act)
		tp_free(rr.act);
	return rr.stop;
}
