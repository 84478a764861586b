/*
 * job_guide.c - the guide, for engines with wants_guide.
 *
 * A hole much thicker than a tile's context cannot be filled tile by tile.
 * A tile inside it sees nothing known, and the tiles around it each extend
 * their own edge of the hole, so their fills disagree at large scale. So when
 * the mask pass finds such a hole, the whole image is first shrunk (box
 * means of the known pixels, longer side at most guideside= pixels, a factor
 * of at least 2) and inpainted by the same engine as a single tile, which
 * solves the large-scale structure once; each tile touching a thick hole then
 * gets that fill, resampled over it, as its guide (setup, plan, build
 * below). The guide is a function of the input, mask and options only,
 * recomputed whenever a tile that needs it is not yet stored, so resumed and
 * -j N runs stay byte-identical.
 *
 * Why a coarse solve rather than, say, growing tiles over big holes: memory
 * stays bounded by guideside (not by the hole), one extra streaming pass
 * costs little next to the engine, and the large scale is decided once for
 * the whole image, so tiles cannot disagree about it whatever their order.
 */
#include "job_int.h"

#define GUIDE_MIN_FACTOR 2   /* the coarse image is at least this much smaller */
#define GUIDE_THICK_DIV 8    /* a hole needs the guide when thicker than tile side / this */

/*
 * Before the mask pass: make the coarse image when the engine wants a guide,
 * the params allow it (guide=0 turns it off) and there is more than one tile.
 * Its mask half is then counted by the mask pass.
 */
tp_status job_guide_setup(struct job *j)
{
	const struct io_info *ii = io_reader_info(j->in);
	uint32_t side;
	int on;
	if (!j->eng->ops->wants_guide || j->plan->ntiles < 2)
		return TP_OK;
	if (engine_guide_params(j->o->engine_params, &on, &side) != TP_OK)
		return TP_EUSAGE;
	if (!on)
		return TP_OK;
	if (j->guide_side && j->guide_side < side)   /* job_mem_fit's, under --mem-limit */
		side = j->guide_side;
	return tiler_coarse_new(ii->width, ii->height, j->fmt, side, GUIDE_MIN_FACTOR, &j->coarse);
}

/* The largest coarse hole distance under tile t, in pixels. */
static uint64_t tile_depth(const struct tiler_coarse *c, const uint16_t *d, const struct tiler_tile *t)
{
	uint32_t cx0 = (uint32_t)t->r.x / c->f, cx1 = (uint32_t)(tp_rect_right(t->r) - 1) / c->f;
	uint32_t cy0 = (uint32_t)t->r.y / c->f, cy1 = (uint32_t)(tp_rect_bottom(t->r) - 1) / c->f;
	uint64_t most = 0;
	for (uint32_t cy = cy0; cy <= cy1; cy++)
		for (uint32_t cx = cx0; cx <= cx1; cx++)
			if (d[(size_t)cy * c->w + cx] > most)
				most = d[(size_t)cy * c->w + cx];
	return most * c->f;
}

/*
 * After the mask pass: which tiles need the guide. The rule: a tile does
 * when a hole pixel in it lies farther from every known pixel than an eighth
 * of the tile side (64 px at the default 512), measured on the coarse mask
 * (city-block distance in cells, times the factor: a small overestimate at
 * worst, which only costs time). Thinner holes are filled well from the
 * tile's own context and keep exactly the fill they had without a guide.
 * *needed: some such tile is not stored yet (else no guide is built at all).
 */
TP_MUST_USE static tp_status guide_plan(struct job *j, int *needed)
{
	struct tiler_coarse *c = j->coarse;
	struct tiler_plan *p = j->plan;
	uint32_t side = p->tile_w < p->tile_h ? p->tile_w : p->tile_h;
	uint64_t thick = side / GUIDE_THICK_DIV, widest = 0;
	uint16_t *d = tp_malloc((size_t)c->w * c->h * sizeof *d);
	*needed = 0;
	j->guided = tp_calloc(p->ntiles, 1);
	if (!d || !j->guided) {
		tp_free(d);
		return tp_err(TP_ENOMEM, "%s: out of memory for the guide", j->io->input);
	}
	engine_hole_distance(d, c->hole, c->w, c->h);
	for (size_t i = 0; i < p->ntiles; i++) {
		const struct tiler_tile *t = &p->tiles[i];
		uint64_t most;
		if (!t->masked)
			continue;
		most = tile_depth(c, d, t);
		if (most > widest)
			widest = most;
		if (j->eng->ops->wants_guide == 2 && t->masked < (uint64_t)t->r.w * (uint64_t)t->r.h)
			continue;   /* this engine only wants it where nothing is known */
		if (most > thick) {
			j->guided[i] = 1;
			j->res->guide_tiles++;
			if (!j->done[i])
				*needed = 1;
		}
	}
	tp_free(d);
	/* (a hole with nothing known reads as the distance cap times f) */
	j->res->guide_thick = widest < (uint64_t)c->width + c->height ? widest
			      : (uint64_t)c->width + c->height;
	return TP_OK;
}

/* Stream the image and mask once more into the coarse image, then reopen
 * the input for the band loop. */
TP_MUST_USE static tp_status guide_stream(struct job *j)
{
	uint32_t height = io_reader_info(j->in)->height;
	tp_status rc;
	if ((rc = tiler_coarse_image_begin(j->coarse)) != TP_OK || (rc = job_mask_open(j)) != TP_OK)
		return rc;
	for (uint32_t y = 0; y < height; y++) {
		if ((rc = job_next_rows(j, j->row_buf)) != TP_OK)
			return rc;
		tiler_coarse_image_row(j->coarse, y, j->row_buf, j->mask_eff);
		if ((rc = job_checkpoint_row(j, y)) != TP_OK)
			return rc;
	}
	/* the band loop reads the image from the top again */
	TP_TIMED(j->t, TP_STAGE_DECODE) {
		io_reader_close(j->in);
		j->in = NULL;
		rc = io_reader_open(j->io->input, &j->in);
	}
	return rc;
}

/* Inpaint the coarse image with the engine as one tile, on this thread,
 * with its own scratch (freed at once). */
TP_MUST_USE static tp_status guide_solve(struct job *j)
{
	struct tiler_coarse *c = j->coarse;
	const struct engine_ops *e = j->eng->ops;
	struct engine_tile t = {
		.w = c->w, .h = c->h, .channels = c->color, .bits = j->fmt.bits,
		.pix = c->img, .mask = c->hole, .x = 0, .y = 0,
		.seed = tp_hash_str(j->io->content_hash, "guide"),
	};
	void *wk = NULL;
	tp_status rc;
	if ((rc = tp_engine_ensure(j->eng)) != TP_OK)
		return rc;
	TP_TIMED(j->t, TP_STAGE_INFERENCE) {
		rc = e->worker_new ? e->worker_new(j->eng->state, &wk) : TP_OK;
		if (rc == TP_OK)
			rc = e->inpaint(j->eng->state, wk, &t);
		if (e->worker_free)
			e->worker_free(wk);
	}
	if (rc != TP_OK) {
		char why[512];
		snprintf(why, sizeof why, "%s", tp_errmsg());
		return tp_err(rc, "%s: engine %s failed on the %ux%u guide: %s", j->io->input, e->name,
			      c->w, c->h, why);
	}
	return TP_OK;
}

/* Build the guide and give each slot a buffer for it resampled over its tile. */
TP_MUST_USE static tp_status guide_build(struct job *j)
{
	size_t tpx = (size_t)j->plan->tile_w * j->plan->tile_h;
	double t_start = tp_now_ms();
	tp_status rc;
	j->guide_buf = tp_malloc(j->window * tpx * j->color * sizeof(float));
	if (!j->guide_buf)
		return tp_err(TP_ENOMEM, "%s: out of memory for the guide", j->io->input);
	for (size_t i = 0; i < j->window; i++)
		j->slots[i].guide = j->guide_buf + i * tpx * j->color;
	tp_progress_stage(j->io->progress, "guide", j->res->height);
	job_test_freeze("guide", 0);
	if ((rc = guide_stream(j)) == TP_OK)
		tp_progress_stage(j->io->progress, "guide fill", 0);
	if (rc != TP_OK || (rc = guide_solve(j)) != TP_OK)
		return rc;
	j->guide_ready = 1;
	j->res->guide_w = j->coarse->w;
	j->res->guide_h = j->coarse->h;
	j->res->guide_f = j->coarse->f;
	j->res->guide_ms = tp_now_ms() - t_start;
	return job_checkpoint(j);
}

tp_status job_guide_prepare(struct job *j)
{
	int needed = 0;
	tp_status rc;
	TP_TIMED(j->t, TP_STAGE_MASK)
		rc = guide_plan(j, &needed);
	if (rc == TP_OK && needed)
		rc = guide_build(j);
	return rc;
}
