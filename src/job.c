/*
 * job.c - inpaint one image: the steps in order (tp_job_process) and the
 * job's buffers. The one place that
 * knows io, engines, tiler and store at once, with the files job_int.h lists.
 *
 * For one image: a mask pass (stream the mask, binarise, dilate, count masked
 * pixels per tile), a plan (tiles with no masked pixel are skipped and never
 * reach an engine), then for each row of tiles: read just the rows that row
 * needs into the band, run the engine on its pending tiles (at most `window`
 * in flight, committed to the store as each finishes), blend the results in
 * tile order, and hand the rows no later tile touches to the writer. Peak
 * memory is the band (width x tile height) plus the tiles in flight,
 * whatever the image height. The output goes to a temporary name beside the
 * final one, is fsynced and renamed into place; nothing else is ever left at
 * the output path.
 */
#include "job_int.h"

#include <string.h>
#include <unistd.h>

_Static_assert((int)TP_SAMPLE_INT == (int)IO_SAMPLE_INT &&
	       (int)TP_SAMPLE_FLOAT == (int)IO_SAMPLE_FLOAT, "tiler and io name samples alike");

/* Signed or float samples (elevation models): refused, before any work, by
 * an engine that takes only unsigned ones and by an output format that
 * cannot hold them. TP_EFORMAT: the image's kind, not a usage error. */
TP_MUST_USE static tp_status check_measured(struct job *j, const struct io_info *ii)
{
	enum io_format of = io_format_from_name(j->io->output);
	const char *kind = ii->sample == IO_SAMPLE_FLOAT ? "32-bit float" : "signed 16-bit";
	if (ii->sample == IO_SAMPLE_UINT)
		return TP_OK;
	if (j->eng->ops->unsigned_only)
		return tp_err(TP_EFORMAT, "%s: the %s engine takes 8/16-bit unsigned images, not %s "
			      "samples (use telea, harmonic or patch)", j->io->input,
			      j->eng->ops->name, kind);
	if (of != IO_FORMAT_UNKNOWN && of != IO_FORMAT_TIFF)
		return tp_err(TP_EFORMAT, "%s: %s samples cannot be written to %s (%s holds only "
			      "unsigned ones; write a .tif)", j->io->input, kind, j->io->output,
			      io_format_name(of));
	return TP_OK;
}

/* Open the input; its size and pixel layout. */
TP_MUST_USE static tp_status open_input(struct job *j)
{
	const struct io_info *ii;
	tp_status rc;
	TP_TIMED(j->t, TP_STAGE_DECODE)
		rc = io_reader_open(j->io->input, &j->in);
	if (rc != TP_OK)
		return rc;
	ii = io_reader_info(j->in);
	j->res->width = ii->width;
	j->res->height = ii->height;
	if ((rc = check_measured(j, ii)) != TP_OK)
		return rc;
	/* signed and float samples: the range [0, 1) until the mask pass finds theirs */
	j->fmt = (struct tp_pixfmt){ ii->channels, ii->bits, ii->alpha,
				     (enum tp_sample)ii->sample, 0.0, 1.0 };
	j->color = tp_pixfmt_color(j->fmt);
	j->row_bytes = tp_pixfmt_row_bytes(j->fmt, ii->width);
	return TP_OK;
}

/* The tile grid, and the guide's coarse image when it may be needed. */
TP_MUST_USE static tp_status make_plan(struct job *j, int dry_run)
{
	const struct io_info *ii = io_reader_info(j->in);
	const struct engine_ops *e = j->eng->ops;
	struct tiler_plan_params pp = {
		.width = ii->width, .height = ii->height,
		.tile = tp_engine_tile(e, j->o),
		.overlap = tp_engine_overlap(e, j->o),
		.multiple = e->multiple ? e->multiple : 1,
	};
	tp_status rc = tiler_plan_new(&pp, &j->plan);
	if (rc == TP_OK && !dry_run)
		rc = job_guide_setup(j);
	return rc;
}

/* Record the plan in the store and learn which tiles are already done. */
TP_MUST_USE static tp_status store_plan(struct job *j)
{
	struct tiler_plan *p = j->plan;
	struct store_tile_rec *recs;
	tp_status rc;
	j->done = tp_calloc(p->ntiles, 1);
	if (!j->done)
		return tp_err(TP_ENOMEM, "%s: out of memory", j->io->input);
	if (!j->io->store)
		return TP_OK;
	recs = tp_malloc(p->ntiles * sizeof *recs);
	if (!recs)
		return tp_err(TP_ENOMEM, "%s: out of memory", j->io->input);
	for (size_t i = 0; i < p->ntiles; i++) {
		struct tiler_tile *t = &p->tiles[i];
		recs[i] = (struct store_tile_rec){ t->r.x, t->r.y, t->r.w, t->r.h, t->masked == 0 };
	}
	rc = store_tiles_plan(j->io->store, j->io->lease, recs, p->ntiles);
	tp_free(recs);
	if (rc == TP_OK)
		rc = store_tiles_done_map(j->io->store, j->io->lease->job, j->done, p->ntiles);
	return rc;
}

/* The band, the slots of tiles in flight (j->window, from job_mem_fit) and
 * their buffers. */
TP_MUST_USE static tp_status alloc_band(struct job *j)
{
	const struct io_info *ii = io_reader_info(j->in);
	struct tiler_plan *p = j->plan;
	size_t tpx = (size_t)p->tile_w * p->tile_h;
	tp_status rc = tiler_band_new(ii->width, j->fmt, p->tile_h, &j->band);
	if (rc != TP_OK)
		return rc;
	j->slots = tp_calloc(j->window, sizeof *j->slots);
	j->row_buf = tp_malloc(j->row_bytes);
	if (!j->slots || !j->row_buf)
		return tp_err(TP_ENOMEM, "%s: out of memory for the band", j->io->input);
	j->pix_bytes = tpx * j->color * sizeof(float);
	for (size_t i = 0; i < j->window; i++) {
		j->slots[i].pix = tp_malloc_large(j->pix_bytes);
		j->slots[i].mask = tp_malloc(tpx);
		j->slots[i].job = j;
		if (!j->slots[i].pix || !j->slots[i].mask)
			return tp_err(TP_ENOMEM, "%s: out of memory for tiles", j->io->input);
	}
	return TP_OK;
}

static void free_job(struct job *j)
{
	io_reader_close(j->in);
	io_reader_close(j->mk);
	if (j->published)
		io_writer_close(j->out);
	else
		io_writer_discard(j->out);   /* unlinks the temporary */
	if (j->tmp_made && !j->published)
		unlink(j->tmp_path);
	tiler_dilate_free(j->dil);
	tiler_runs_free(j->mask_runs);
	tiler_plan_free(j->plan);
	tiler_band_free(j->band);
	if (j->slots)
		for (size_t i = 0; i < j->window; i++) {
			tp_free_large(j->slots[i].pix, j->pix_bytes);
			tp_free(j->slots[i].mask);
		}
	tp_free(j->slots);
	tp_free(j->mask_src);
	tp_free(j->mask_bin);
	tp_free(j->mask_eff);
	tp_free(j->mask_turned);
	tp_free(j->row_buf);
	tp_free(j->done);
	tiler_coarse_free(j->coarse);
	tp_free(j->guided);
	tp_free(j->guide_buf);
}

/* One line when the mask leaves nothing to do, or nothing to fill from. */
static void note_mask_coverage(struct job *j)
{
	const struct io_info *ii = io_reader_info(j->in);
	const char *e = j->eng->ops->name;
	if (j->res->masked == (uint64_t)ii->width * ii->height) {
		tp_warn("%s: the mask %s covers the whole image: nothing to fill from; %s fills it %s",
			j->io->input, j->io->mask, e, j->eng->ops->needs_model
			? "from the network alone" : "with flat mid grey");
	} else if (j->res->masked == 0) {
		tp_info("%s: the mask %s is empty: nothing to inpaint, the output is the input's "
			"pixels", j->io->input, j->io->mask);
	}
}

/* Open the input, plan the tiles and pass over the mask (all a dry run does). */
TP_MUST_USE static tp_status plan_job(struct job *j, int dry_run)
{
	size_t live = tp_alloc_live();
	tp_status rc;
	if ((rc = open_input(j)) != TP_OK)
		return rc;
	TP_TIMED(j->t, TP_STAGE_PLAN)
		rc = make_plan(j, dry_run);
	if (rc != TP_OK)
		return rc;
	job_test_freeze("decode", 0);
	tp_progress_stage(j->io->progress, "mask", io_reader_info(j->in)->height);
	TP_TIMED(j->t, TP_STAGE_MASK)
		rc = job_mask_pass(j);
	if (rc != TP_OK)
		return rc;
	/* what the readers, the plan and the guide's coarse image took */
	live = tp_alloc_live() > live ? tp_alloc_live() - live : 0;
	if (!dry_run && (rc = job_mem_fit(j, live)) != TP_OK)
		return rc;
	if (!dry_run)
		tp_progress_workers(j->io->progress, j->eng->threads);
	j->res->tiles = j->plan->ntiles;
	j->res->active = tiler_plan_active(j->plan);
	tp_progress_plan(j->io->progress, j->res->width, j->res->active);
	note_mask_coverage(j);
	return TP_OK;
}

/* Everything the band loop needs: stored tiles, buffers, the guide, the
 * mask from its first row again, the writer. */
TP_MUST_USE static tp_status prepare_band(struct job *j)
{
	tp_status rc;
	TP_TIMED(j->t, TP_STAGE_PLAN)
		rc = store_plan(j);
	if (rc != TP_OK || (rc = alloc_band(j)) != TP_OK)
		return rc;
	if (j->coarse && (rc = job_guide_prepare(j)) != TP_OK)
		return rc;
	if ((rc = job_mask_open(j)) != TP_OK)   /* another pass over the mask, with the image */
		return rc;
	return job_output_open(j);
}

/* The band loop: for each row of tiles, fill, run and blend, emit. */
TP_MUST_USE static tp_status run_band(struct job *j)
{
	tp_status rc = TP_OK;
	tp_progress_stage(j->io->progress, "rows", j->res->height);
	job_test_freeze("band", 0);
	for (uint32_t r = 0; r < j->plan->nrows && rc == TP_OK; r++) {
		uint32_t y_need = j->plan->row_y[r] + j->plan->tile_h;
		if ((rc = job_band_fill(j, y_need)) == TP_OK &&
		    (rc = job_band_row(j, r)) == TP_OK)
			rc = job_band_emit(j, tiler_plan_rows_done(j->plan, r));
	}
	return rc;
}

tp_status tp_job_process(struct tp_engine_ctx *eng, const struct tp_opts *o,
			 const struct tp_job_io *io, int dry_run, struct tp_job_result *res)
{
	static _Thread_local uint64_t uncounted;   /* callers that do not count across jobs */
	struct tp_job_io local_io;
	struct job j;
	tp_status rc;

	memset(&j, 0, sizeof j);
	memset(res, 0, sizeof *res);
	if (!io->computed_total) {
		local_io = *io;
		local_io.computed_total = &uncounted;
		io = &local_io;
	}
	j = (struct job){ .eng = eng, .o = o, .io = io, .res = res, .t = &res->t };
	tp_lease_keeper_init(&j.keeper, io->store, io->lease, io->lease_s, &res->t);

	rc = plan_job(&j, dry_run);
	if (rc == TP_OK && !dry_run && job_output_can_copy(&j)) {
		/* nothing to fill: the input's bytes are the output */
		tp_progress_stage(io->progress, "copy", 0);
		TP_TIMED(j.t, TP_STAGE_PLAN)
			rc = store_plan(&j);
		if (rc == TP_OK)
			rc = job_output_copy(&j);
	} else if (rc == TP_OK && !dry_run && (rc = prepare_band(&j)) == TP_OK &&
		   (rc = run_band(&j)) == TP_OK) {
		tp_progress_stage(io->progress, "publish", 0);
		rc = job_output_publish(&j);
	}
	if (rc != TP_OK && rc != TP_ELEASE && rc != TP_ECANCELED) {
		/* A failure may come of losing the job: the run that took it over
		 * removes our temporaries. Then that is the error to report. */
		char why[1024];
		snprintf(why, sizeof why, "%s", tp_errmsg());
		if (tp_lease_lost(&j.keeper))
			rc = TP_ELEASE;
		else
			rc = tp_err(rc, "%s", why);
	}
	free_job(&j);
	return rc;
}

void tp_job_debug_guide(const char *output, const struct tp_job_result *res)
{
	if (res->guide_f)
		tp_debug("%s: guide %ux%u (1/%u scale) for %llu tiles, thickest hole ~%llu px, %.1f ms",
			 output, res->guide_w, res->guide_h, res->guide_f,
			 (unsigned long long)res->guide_tiles, (unsigned long long)res->guide_thick,
			 res->guide_ms);
}
