/*
 * run_record.c - what `tilepaint run` writes about itself into the runs
 * table: once, what the run is (engine, options, -j, shard, how many images
 * it found and how many of those the store did not know yet), then after
 * every image how far it has got, so a run killed at any instant still says
 * what it did. `report` and `status` read these rows. Bookkeeping only: a
 * failure to write it is a warning, never a reason to stop the batch.
 */
#include "record.h"

#include <string.h>

void tp_run_options_line(const struct run *r, char *buf, size_t n)
{
	const struct tp_opts *o = &r->o;
	const struct engine_ops *e = r->eng.ops;
	char jq[16];
	if (o->jpeg_quality > 0)
		snprintf(jq, sizeof jq, "%d", o->jpeg_quality);
	else
		snprintf(jq, sizeof jq, "keep");
	char ml[48] = "";
	if (o->mem_limit)
		snprintf(ml, sizeof ml, " mem_limit=%lluM", (unsigned long long)(o->mem_limit >> 20));
	snprintf(buf, n, "engine=%s tile=%u overlap=%u dilate=%u radius=%u png_level=%d "
		 "jpeg_quality=%s mask_threshold=%u%s%s%s%s%s%s", e->name,
		 (unsigned)tp_engine_tile(e, o), (unsigned)tp_engine_overlap(e, o),
		 (unsigned)o->dilate, (unsigned)o->radius, o->png_level < 0 ? 6 : o->png_level, jq,
		 (unsigned)o->mask_threshold, o->mask_invert ? " mask_invert" : "", ml,
		 o->engine_params && *o->engine_params ? " engine_opt=" : "",
		 o->engine_params ? o->engine_params : "", o->model ? " model=" : "",
		 o->model ? o->model : "");
}

void tp_run_describe(struct run *r, int (*in_shard)(const struct tp_opts *, const char *))
{
	struct store_run_info info;
	struct store_job job;
	char opts[2048], shard[32] = "";
	int64_t discovered = 0, unknown = 0;
	int found;
	for (size_t i = 0; i < r->items.n; i++) {
		if (!in_shard(&r->o, r->items.v[i].rel))
			continue;
		discovered++;
		if (store_job_find(r->st, r->items.v[i].output, &found, &job) == TP_OK && !found)
			unknown++;
	}
	if (r->o.shard_n)
		snprintf(shard, sizeof shard, "%u/%u", (unsigned)r->o.shard_k, (unsigned)r->o.shard_n);
	tp_run_options_line(r, opts, sizeof opts);
	info = (struct store_run_info){ r->eng.ops->name, opts, r->opt_hex, shard,
					(int64_t)r->o.threads, discovered, unknown };
	if (store_run_describe(r->st, r->run_id, &info) != TP_OK)
		tp_warn("%s", tp_errmsg());
}

void tp_run_progress(struct run *r, int force)
{
	const struct run_counts *n = &r->n;
	/* a batch of 100,000 images up to date writes once a second, not 100,000 times */
	size_t work = n->images - n->up_to_date;
	if (!force && work == r->progress_work && tp_now_ms() - r->progress_ms < 1000)
		return;
	r->progress_work = work;
	r->progress_ms = tp_now_ms();
	struct store_run_counts c = {
		.images = (int64_t)n->images, .done = (int64_t)n->done_now,
		.failed = (int64_t)n->failed, .skipped = (int64_t)n->up_to_date,
		.busy = (int64_t)n->busy, .reached_unknown = (int64_t)n->reached_unknown,
		.tiles = (int64_t)n->tiles, .inpainted = (int64_t)n->computed,
		.reused = (int64_t)n->reused, .megapixels = (double)n->pixels / 1e6,
	};
	if (store_run_progress(r->st, r->run_id, &c) != TP_OK)
		tp_warn("%s", tp_errmsg());
}

void tp_run_job_begin(struct run *r, int64_t job_id)
{
	if (store_run_job_begin(r->st, r->run_id, job_id) != TP_OK)
		tp_warn("%s", tp_errmsg());
}

void tp_run_job_end(struct run *r, int64_t job_id, enum item_outcome how, double wall_ms)
{
	enum store_job_state st = how == ITEM_DONE ? STORE_JOB_DONE
		: how == ITEM_FAILED ? STORE_JOB_FAILED : STORE_JOB_QUEUED;
	if (store_run_job_end(r->st, r->run_id, job_id, st, wall_ms) != TP_OK)
		tp_warn("%s", tp_errmsg());
}
