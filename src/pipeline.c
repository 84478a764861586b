/*
 * pipeline.c - the band loop: the one place that knows io, engines, tiler
 * and store at once.
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
 *
 * The guide (engines with wants_guide): a hole much thicker than a tile's
 * context cannot be filled tile by tile. A tile inside it sees nothing known,
 * and the tiles around it each extend their own edge of the hole, so their
 * fills disagree at large scale. So when the mask pass finds such a hole, the
 * whole image is first shrunk (box means of the known pixels, longer side at
 * most guideside= pixels, a factor of at least 2) and inpainted by the same
 * engine as a single tile, which solves the large-scale structure once; each
 * tile touching a thick hole then gets that fill, resampled over it, as its
 * guide (guide_setup, guide_plan, guide_build). The guide is a function of
 * the input, mask and options only, recomputed whenever a tile that needs it
 * is not yet stored, so resumed and -j N runs stay byte-identical.
 *
 * Why a coarse solve rather than, say, growing tiles over big holes: memory
 * stays bounded by guideside (not by the hole), one extra streaming pass
 * costs little next to the engine, and the large scale is decided once for
 * the whole image, so tiles cannot disagree about it whatever their order.
 */
#include "core.h"
#include "sig.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* One tile on its way through the engine; `window` of these are reused. */
struct slot {
	float *pix;          /* (tile_h, tile_w, color) */
	uint8_t *mask;       /* (tile_h, tile_w) */
	float *guide;        /* (tile_h, tile_w, color) in job.guide_buf, or NULL: no guide */
	struct tp_task task;
	int ready;           /* result in pix, ready to blend */
	size_t tile;         /* plan index */
};

struct job {
	struct tp_engine_ctx *eng;
	const struct tp_opts *o;
	const struct tp_job_io *io;
	struct tp_job_result *res;
	struct io_reader *in, *mk;
	struct io_writer *out;
	struct tiler_dilate *dil;
	struct tiler_plan *plan;
	struct tiler_band *band;
	struct tp_pixfmt fmt;
	uint32_t color;
	void *mask_src;      /* one mask row in the mask file's layout */
	uint8_t *mask_bin;   /* one binarised row */
	uint8_t *mask_eff;   /* one dilated row */
	void *row_buf;       /* one input row */
	struct slot *slots;
	size_t window;
	size_t pix_bytes;    /* each slot's pix */
	uint8_t *done;       /* (ntiles) result already in the store */
	uint32_t mask_rows_pushed;
	double last_renew;
	struct tiler_coarse *coarse; /* the guide's coarse image, or NULL: no guide */
	uint8_t *guided;     /* (ntiles) 1: the tile touches a thick hole and gets the guide */
	float *guide_buf;    /* (window, tile_h, tile_w, color) each slot's resampled guide */
	int guide_ready;     /* coarse->img holds the engine's fill */
	char tmp_path[4096];
	int published;       /* the temporary was renamed into place */
};

/* At least the engine's context, telea's radius + 2 when one is given, and 32. */
TP_MUST_USE static tp_status keep_lease(struct job *j);

/*
 * Test hook: TILEPAINT_TEST_FREEZE=stage:NAME makes the process stop itself
 * (SIGSTOP) the first time it reaches stage NAME (decode, mask, guide, band,
 * encode, publish), and tile:N after committing its N-th tile, so that the
 * end-to-end tests can signal or out-wait a process at a chosen point
 * without depending on timing. Unset, it costs one getenv per job.
 */
static void test_freeze(const char *stage, uint64_t tiles)
{
	static int fired;
	const char *v = getenv("TILEPAINT_TEST_FREEZE");
	char want[64];
	if (!v || fired)
		return;
	if (stage)
		snprintf(want, sizeof want, "stage:%s", stage);
	else
		snprintf(want, sizeof want, "tile:%llu", (unsigned long long)tiles);
	if (strcmp(v, want) == 0) {
		fired = 1;
		raise(SIGSTOP);
	}
}

static uint32_t default_overlap(const struct engine_ops *e, const struct tp_opts *o)
{
	uint32_t v = e->context > 32 ? e->context : 32;
	if (o->radius + 2 > v)
		v = o->radius + 2;
	return v;
}

/* Next dilated mask row, reading more of the mask file as needed. */
TP_MUST_USE static tp_status next_mask_row(struct job *j, const struct io_info *mi)
{
	for (;;) {
		if (j->o->dilate && tiler_dilate_pop(j->dil, j->mask_eff))
			return TP_OK;
		if (j->mask_rows_pushed >= mi->height)
			return tp_err(TP_EINTERNAL, "%s: mask rows exhausted", j->io->mask);
		{
			/* Reading the mask file is decoding, like the image's; every
			 * caller counts its whole call as mask preparation, so move
			 * this part across. */
			double t0 = tp_now_ms(), dt;
			tp_status rc = io_reader_read_rows(j->mk, j->mask_src,
							 (size_t)mi->width * mi->channels * (mi->bits / 8), 1);
			dt = tp_now_ms() - t0;
			j->res->t.ms[TP_STAGE_DECODE] += dt;
			j->res->t.ms[TP_STAGE_MASK] -= dt;
			if (rc != TP_OK)
				return rc;
		}
		j->mask_rows_pushed++;
		if (!j->o->dilate) {
			/* no dilation: the binarised row is the effective one */
			io_row_to_binary(mi, j->mask_src, j->mask_eff);
			return TP_OK;
		}
		io_row_to_binary(mi, j->mask_src, j->mask_bin);
		{
			tp_status rc = tiler_dilate_push(j->dil, j->mask_bin);
			if (rc != TP_OK)
				return rc;
		}
	}
}

TP_MUST_USE static tp_status open_mask(struct job *j)
{
	const struct io_info *ii = io_reader_info(j->in), *mi;
	tp_status rc;
	io_reader_close(j->mk);
	j->mk = NULL;
	tiler_dilate_free(j->dil);
	j->dil = NULL;
	j->mask_rows_pushed = 0;
	if ((rc = io_reader_open(j->io->mask, &j->mk)) != TP_OK)
		return rc;
	mi = io_reader_info(j->mk);
	if (mi->width != ii->width || mi->height != ii->height)
		return tp_err(TP_EFORMAT, "%s: the mask %s is %ux%u but the image is %ux%u",
			      j->io->input, j->io->mask, mi->width, mi->height, ii->width, ii->height);
	if (!j->mask_src) {
		j->mask_src = tp_malloc((size_t)mi->width * mi->channels * (mi->bits / 8));
		j->mask_bin = tp_malloc(mi->width);
		j->mask_eff = tp_malloc(mi->width);
		if (!j->mask_src || !j->mask_bin || !j->mask_eff)
			return tp_err(TP_ENOMEM, "%s: out of memory", j->io->mask);
	}
	if (!j->o->dilate)
		return TP_OK;   /* next_mask_row uses the binarised rows as they are */
	return tiler_dilate_new(mi->width, mi->height, j->o->dilate, &j->dil);
}

/* Mask pass: stream the whole mask once and count masked pixels per tile. */
TP_MUST_USE static tp_status mask_pass(struct job *j)
{
	const struct io_info *mi;
	tp_status rc;
	test_freeze("mask", 0);
	if ((rc = open_mask(j)) != TP_OK)
		return rc;
	mi = io_reader_info(j->mk);
	for (uint32_t y = 0; y < mi->height; y++) {
		if ((rc = next_mask_row(j, mi)) != TP_OK)
			return rc;
		tiler_plan_count_row(j->plan, y, j->mask_eff);
		if (j->coarse)
			tiler_coarse_mask_row(j->coarse, y, j->mask_eff);
		if ((y & 63) == 63 && (rc = keep_lease(j)) != TP_OK)
			return rc;
	}
	return TP_OK;
}

TP_MUST_USE static tp_status make_plan(struct job *j)
{
	const struct io_info *ii = io_reader_info(j->in);
	const struct engine_ops *e = j->eng->ops;
	struct tiler_plan_params pp = {
		.width = ii->width, .height = ii->height,
		.tile = j->o->tile ? j->o->tile : e->default_tile,
		.overlap = j->o->overlap == UINT32_MAX ? default_overlap(e, j->o) : j->o->overlap,
		.multiple = e->multiple ? e->multiple : 1,
	};
	return tiler_plan_new(&pp, &j->plan);
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

/* Remove temporaries a killed run left for this output (we hold its lease). */
static void remove_stale_temps(const char *output)
{
	char dir[4096], base[1024], prefix[1100];
	DIR *d;
	struct dirent *de;
	snprintf(dir, sizeof dir, "%s", output);
	snprintf(base, sizeof base, "%s", output);
	snprintf(prefix, sizeof prefix, ".%s.tmp-", basename(base));
	d = opendir(dirname(dir));
	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0) {
			char path[8192];
			snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
			unlink(path);
		}
	}
	closedir(d);
}

TP_MUST_USE static tp_status open_writer(struct job *j)
{
	const struct io_info *ii = io_reader_info(j->in);
	struct io_info oi = *ii;
	struct io_write_opts wo = {
		.jpeg_quality = j->o->jpeg_quality,
		.png_level = j->o->png_level,
		.tiff_compression = 0,
		.name = j->io->output,
	};
	char dir[4096], base[1024];
	enum io_format of = io_format_from_name(j->io->output);
	oi.format = of != IO_FORMAT_UNKNOWN ? of : ii->format;
	oi.buffered = 0;
	if (oi.format == ii->format)
		wo.tiff_compression = io_reader_compression(j->in);
	snprintf(dir, sizeof dir, "%s", j->io->output);
	snprintf(base, sizeof base, "%s", j->io->output);
	snprintf(j->tmp_path, sizeof j->tmp_path, "%s/.%s.tmp-%ld-%04lx", dirname(dir),
		 basename(base), (long)getpid(), (unsigned long)(tp_now_ms() * 1000) & 0xffff);
	return io_writer_open(j->tmp_path, &oi, io_reader_meta(j->in), &wo, &j->out);
}

TP_MUST_USE static tp_status alloc_band(struct job *j)
{
	const struct io_info *ii = io_reader_info(j->in);
	struct tiler_plan *p = j->plan;
	size_t tpx = (size_t)p->tile_w * p->tile_h;
	size_t row_bytes = tp_pixfmt_row_bytes(j->fmt, ii->width);
	tp_status rc = tiler_band_new(ii->width, j->fmt, p->tile_h, &j->band);
	if (rc != TP_OK)
		return rc;
	j->window = (size_t)j->eng->threads * 2;
	if (j->window < 2)
		j->window = 2;
	if (j->window > p->ncols)
		j->window = p->ncols;
	j->slots = tp_calloc(j->window, sizeof *j->slots);
	j->row_buf = tp_malloc(row_bytes);
	if (!j->slots || !j->row_buf)
		return tp_err(TP_ENOMEM, "%s: out of memory for the band", j->io->input);
	j->pix_bytes = tpx * j->color * sizeof(float);
	for (size_t i = 0; i < j->window; i++) {
		j->slots[i].pix = tp_malloc_large(j->pix_bytes);
		j->slots[i].mask = tp_malloc(tpx);
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
	tiler_dilate_free(j->dil);
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
	tp_free(j->row_buf);
	tp_free(j->done);
	tiler_coarse_free(j->coarse);
	tp_free(j->guided);
	tp_free(j->guide_buf);
}

/*
 * Called between units of work everywhere in the job: honour a stop signal
 * (TP_ECANCELED) and keep our lease alive, renewing it every third of its
 * length (TP_ELEASE once another process has taken the job over).
 */
TP_MUST_USE static tp_status keep_lease(struct job *j)
{
	tp_status rc = TP_OK;
	if (tp_cancelled())
		return tp_err(TP_ECANCELED, "%s: stopped with tiles left", j->io->input);
	if (j->io->store && tp_now_ms() - j->last_renew > j->io->lease_s * 1e3 / 3) {
		double t0 = tp_now_ms();
		rc = store_job_renew(j->io->store, j->io->lease, tp_wall_s(),
				     (int64_t)(j->io->lease_s + 0.5));
		j->last_renew = tp_now_ms();
		tp_timing_add(&j->res->t, TP_STAGE_STORE, j->last_renew - t0);
	}
	return rc;
}

/* Read input and mask rows until the band holds rows [.., y_end). */
TP_MUST_USE static tp_status fill_band(struct job *j, uint32_t y_end)
{
	const struct io_info *mi = io_reader_info(j->mk);
	size_t row_bytes = tp_pixfmt_row_bytes(j->fmt, io_reader_info(j->in)->width);
	while (tiler_band_y0(j->band) + tiler_band_nrows(j->band) < y_end) {
		tp_status rc;
		double t0 = tp_now_ms();
		if ((rc = io_reader_read_rows(j->in, j->row_buf, row_bytes, 1)) != TP_OK)
			return rc;
		j->res->t.ms[TP_STAGE_DECODE] += tp_now_ms() - t0;
		t0 = tp_now_ms();
		if ((rc = next_mask_row(j, mi)) != TP_OK)
			return rc;
		j->res->t.ms[TP_STAGE_MASK] += tp_now_ms() - t0;
		if ((rc = tiler_band_push(j->band, j->row_buf, j->mask_eff)) != TP_OK)
			return rc;
		if (((tiler_band_y0(j->band) + tiler_band_nrows(j->band)) & 63) == 0 &&
		    (rc = keep_lease(j)) != TP_OK)
			return rc;
	}
	return keep_lease(j);
}

/* Finish rows [.., y_end) in the band, in place, and hand each to the writer. */
TP_MUST_USE static tp_status emit_rows(struct job *j, uint32_t y_end)
{
	size_t row_bytes = tp_pixfmt_row_bytes(j->fmt, io_reader_info(j->in)->width);
	double blend = 0, encode = 0;
	tp_status rc = TP_OK;
	if (tiler_band_y0(j->band) >= y_end)
		return TP_OK;
	test_freeze("encode", 0);
	while (rc == TP_OK && tiler_band_y0(j->band) < y_end) {
		double t0 = tp_now_ms(), t1;
		const void *row = tiler_band_emit_row(j->band);
		t1 = tp_now_ms();
		rc = io_writer_write_rows(j->out, row, row_bytes, 1);
		blend += t1 - t0;
		encode += tp_now_ms() - t1;
		if (rc == TP_OK && (tiler_band_y0(j->band) & 63) == 0)
			rc = keep_lease(j);
	}
	j->res->t.ms[TP_STAGE_BLEND] += blend;
	j->res->t.ms[TP_STAGE_ENCODE] += encode;
	j->res->t.count[TP_STAGE_ENCODE]++;
	return rc;
}

static int should_stop(const struct job *j)
{
	return j->io->deadline_ms > 0 && tp_now_ms() >= j->io->deadline_ms;
}

/* Commit a finished engine result: quantise, store, renew the lease. */
TP_MUST_USE static tp_status commit_result(struct job *j, struct slot *s)
{
	const struct tiler_tile *t = &j->plan->tiles[s->tile];
	void *blob = NULL;
	size_t len = 0;
	double t0 = tp_now_ms();
	tp_status rc = tp_blob_pack(s->pix, s->mask, (uint32_t)t->r.w, (uint32_t)t->r.h,
				    j->color, j->io->store ? &blob : NULL, &len);
	j->res->t.ms[TP_STAGE_BLEND] += tp_now_ms() - t0;
	if (rc != TP_OK)
		return rc;
	if (j->io->store) {
		t0 = tp_now_ms();
		rc = store_tile_put(j->io->store, j->io->lease, (uint32_t)s->tile, blob, len, s->task.ms);
		tp_timing_add(&j->res->t, TP_STAGE_STORE, tp_now_ms() - t0);
		if (rc == TP_OK)
			test_freeze(NULL, *j->io->computed_total);
		if (rc == TP_OK)
			rc = keep_lease(j);
	}
	tp_free(blob);
	return rc;
}

/* ------------------------------------------------------------------ */
/* the guide (see the file comment)                                     */

#define GUIDE_MIN_FACTOR 2   /* the coarse image is at least this much smaller */
#define GUIDE_THICK_DIV 8    /* a hole needs the guide when thicker than tile side / this */

/*
 * Before the mask pass: make the coarse image when the engine wants a guide,
 * the params allow it (guide=0 turns it off) and there is more than one tile.
 * Its mask half is then counted by the mask pass.
 */
TP_MUST_USE static tp_status guide_setup(struct job *j)
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
	return tiler_coarse_new(ii->width, ii->height, j->fmt, side, GUIDE_MIN_FACTOR, &j->coarse);
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
		uint32_t cx0 = (uint32_t)t->r.x / c->f, cx1 = (uint32_t)(tp_rect_right(t->r) - 1) / c->f;
		uint32_t cy0 = (uint32_t)t->r.y / c->f, cy1 = (uint32_t)(tp_rect_bottom(t->r) - 1) / c->f;
		uint64_t most = 0;
		if (!t->masked)
			continue;
		for (uint32_t cy = cy0; cy <= cy1; cy++)
			for (uint32_t cx = cx0; cx <= cx1; cx++)
				if (d[(size_t)cy * c->w + cx] > most)
					most = d[(size_t)cy * c->w + cx];
		most *= c->f;
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

/*
 * Build the guide: stream the image and mask once more into the coarse
 * image, inpaint it with the engine as one tile (on this thread, with its own
 * scratch, freed at once), and give each slot a buffer for the guide
 * resampled over its tile. Reopens the input for the band loop.
 */
TP_MUST_USE static tp_status guide_build(struct job *j)
{
	struct tiler_coarse *c = j->coarse;
	const struct engine_ops *e = j->eng->ops;
	uint32_t height = io_reader_info(j->in)->height;
	size_t row_bytes = tp_pixfmt_row_bytes(j->fmt, io_reader_info(j->in)->width);
	size_t tpx = (size_t)j->plan->tile_w * j->plan->tile_h;
	struct engine_tile t;
	void *wk = NULL;
	double t_start = tp_now_ms(), t0;
	tp_status rc;

	j->guide_buf = tp_malloc(j->window * tpx * j->color * sizeof(float));
	if (!j->guide_buf)
		return tp_err(TP_ENOMEM, "%s: out of memory for the guide", j->io->input);
	for (size_t i = 0; i < j->window; i++)
		j->slots[i].guide = j->guide_buf + i * tpx * j->color;
	test_freeze("guide", 0);
	if ((rc = tiler_coarse_image_begin(c)) != TP_OK)
		return rc;
	if ((rc = open_mask(j)) != TP_OK)
		return rc;
	for (uint32_t y = 0; y < height; y++) {
		t0 = tp_now_ms();
		rc = io_reader_read_rows(j->in, j->row_buf, row_bytes, 1);
		j->res->t.ms[TP_STAGE_DECODE] += tp_now_ms() - t0;
		if (rc != TP_OK)
			return rc;
		t0 = tp_now_ms();
		rc = next_mask_row(j, io_reader_info(j->mk));
		j->res->t.ms[TP_STAGE_MASK] += tp_now_ms() - t0;
		if (rc != TP_OK)
			return rc;
		tiler_coarse_image_row(c, y, j->row_buf, j->mask_eff);
		if ((y & 63) == 63 && (rc = keep_lease(j)) != TP_OK)
			return rc;
	}
	/* the band loop reads the image from the top again */
	t0 = tp_now_ms();
	io_reader_close(j->in);
	j->in = NULL;
	rc = io_reader_open(j->io->input, &j->in);
	j->res->t.ms[TP_STAGE_DECODE] += tp_now_ms() - t0;
	if (rc != TP_OK)
		return rc;

	if ((rc = tp_engine_ensure(j->eng)) != TP_OK)
		return rc;
	t = (struct engine_tile){
		.w = c->w, .h = c->h, .channels = c->color, .bits = j->fmt.bits,
		.pix = c->img, .mask = c->hole, .x = 0, .y = 0,
		.seed = tp_hash_str(j->io->content_hash, "guide"),
	};
	t0 = tp_now_ms();
	rc = e->worker_new ? e->worker_new(j->eng->state, &wk) : TP_OK;
	if (rc == TP_OK)
		rc = e->inpaint(j->eng->state, wk, &t);
	if (e->worker_free)
		e->worker_free(wk);
	tp_timing_add(&j->res->t, TP_STAGE_INFERENCE, tp_now_ms() - t0);
	if (rc != TP_OK) {
		char why[512];
		snprintf(why, sizeof why, "%s", tp_errmsg());
		return tp_err(rc, "%s: engine %s failed on the %ux%u guide: %s", j->io->input, e->name,
			      c->w, c->h, why);
	}
	j->guide_ready = 1;
	j->res->guide_w = c->w;
	j->res->guide_h = c->h;
	j->res->guide_f = c->f;
	j->res->guide_ms = tp_now_ms() - t_start;
	return keep_lease(j);
}

/* Run and blend the active tiles of tile row r. */
TP_MUST_USE static tp_status process_row(struct job *j, uint32_t r)
{
	struct tiler_plan *p = j->plan;
	size_t first = (size_t)r * p->ncols, act[4096], nact = 0;
	size_t *actv = act, next_sub = 0, next_blend = 0, inflight = 0;
	tp_status rc = TP_OK, stop = TP_OK;
	if (p->ncols > sizeof act / sizeof act[0]) {
		actv = tp_malloc(p->ncols * sizeof *actv);
		if (!actv)
			return tp_err(TP_ENOMEM, "%s: out of memory", j->io->input);
	}
	for (size_t c = 0; c < p->ncols; c++)
		if (p->tiles[first + c].masked)
			actv[nact++] = first + c;

	while (next_blend < nact) {
		/* submit (or load) while the window has room */
		while (stop == TP_OK && next_sub < nact && next_sub - next_blend < j->window) {
			struct slot *s = &j->slots[next_sub % j->window];
			const struct tiler_tile *t = &p->tiles[actv[next_sub]];
			double t0;
			/* Only new engine work is held to the deadline: replaying stored
			 * tiles is what makes the stop cheap to resume. A signal stops
			 * at once; the deadline only once this run computed something, so
			 * a series of short cron runs always moves forward. */
			if (!j->done[actv[next_sub]] &&
			    (tp_cancelled() || (should_stop(j) && *j->io->computed_total > 0))) {
				stop = tp_err(TP_ECANCELED, "%s: stopped with tiles left", j->io->input);
				break;
			}
			s->tile = actv[next_sub];
			s->ready = 0;
			t0 = tp_now_ms();
			tiler_band_tile_get(j->band, t->r, s->pix, s->mask);
			j->res->t.ms[TP_STAGE_BLEND] += tp_now_ms() - t0;
			if (j->done[s->tile]) {
				void *blob = NULL;
				size_t len = 0;
				t0 = tp_now_ms();
				rc = store_tile_get(j->io->store, j->io->lease->job, (uint32_t)s->tile, &blob, &len);
				tp_timing_add(&j->res->t, TP_STAGE_STORE, tp_now_ms() - t0);
				if (rc == TP_OK)
					rc = tp_blob_unpack(blob, len, s->pix, s->mask, (uint32_t)t->r.w,
							    (uint32_t)t->r.h, j->color);
				tp_free(blob);
				if (rc != TP_OK) {
					stop = rc;
					break;
				}
				s->ready = 1;
				j->res->reused++;
			} else {
				if ((rc = tp_engine_ensure(j->eng)) != TP_OK) {
					stop = rc;
					break;
				}
				memset(&s->task, 0, sizeof s->task);
				s->task.tile = (struct engine_tile){
					.w = (uint32_t)t->r.w, .h = (uint32_t)t->r.h,
					.channels = j->color, .bits = j->fmt.bits,
					.pix = s->pix, .mask = s->mask, .x = t->r.x, .y = t->r.y,
					.seed = tp_hash_u64(tp_hash_u64(j->io->content_hash,
									(uint64_t)t->r.x), (uint64_t)t->r.y),
				};
				if (j->guide_ready && j->guided[s->tile]) {
					t0 = tp_now_ms();
					tiler_coarse_resample(j->coarse, t->r, s->guide);
					j->res->t.ms[TP_STAGE_BLEND] += tp_now_ms() - t0;
					s->task.tile.guide = s->guide;
					s->task.tile.guide_scale = j->coarse->f;
				}
				s->task.slot = next_sub % j->window;
				tp_pool_submit(j->eng->pool, &s->task);
				inflight++;
			}
			next_sub++;
		}
		/* blend whatever is ready, in tile order */
		if (next_blend < next_sub && j->slots[next_blend % j->window].ready) {
			struct slot *s = &j->slots[next_blend % j->window];
			double t0 = tp_now_ms();
			tiler_band_tile_add(j->band, p, &p->tiles[s->tile], s->pix);
			j->res->t.ms[TP_STAGE_BLEND] += tp_now_ms() - t0;
			j->res->t.count[TP_STAGE_BLEND]++;
			tp_progress_tiles(j->io->progress, 1, j->done[s->tile] ? 0 : s->task.ms);
			next_blend++;
			continue;
		}
		if (inflight == 0)
			break;   /* stopping, and nothing left to collect */
		/* collect one finished tile and commit it at once */
		{
			struct tp_task *task = tp_pool_wait(j->eng->pool);
			struct slot *s = &j->slots[task->slot];
			inflight--;
			if (task->status == TP_ECANCELED) {
				/* the engine saw the stop signal mid-tile: nothing to keep */
				if (stop == TP_OK)
					stop = tp_err(TP_ECANCELED, "%s: stopped with tiles left",
						      j->io->input);
				continue;
			}
			if (task->status != TP_OK) {
				if (j->io->store) {
					tp_status frc = store_tile_fail(j->io->store, j->io->lease,
									(uint32_t)s->tile);
					if (frc == TP_ELEASE) {
						stop = frc;
						continue;
					}
				}
				if (stop == TP_OK || stop == TP_ECANCELED)
					stop = tp_err(task->status, "%s: engine %s failed on tile %zu: %s",
						      j->io->input, j->eng->ops->name, s->tile, task->error);
				continue;
			}
			tp_timing_add(&j->res->t, TP_STAGE_INFERENCE, task->ms);
			j->res->computed++;
			(*j->io->computed_total)++;
			rc = commit_result(j, s);
			if (rc != TP_OK && (stop == TP_OK || stop == TP_ECANCELED || rc == TP_ELEASE))
				stop = rc;
			s->ready = 1;
		}
	}
	if (actv != act)
		tp_free(actv);
	return stop;
}

/*
 * Put the finished temporary in place: rename over the output path, fsync
 * the directory so the rename itself is durable, and give the output's
 * identity (stat_key may be NULL). With a store this runs inside
 * store_job_done, under the store's write lock, after the lease check.
 */
TP_MUST_USE static tp_status publish_output(void *ctx, char *stat_key, size_t n)
{
	struct job *j = ctx;
	char dir[4096];
	int fd;
	if (rename(j->tmp_path, j->io->output) != 0)
		return tp_err(TP_EIO, "%s: cannot rename the finished output into place: %s",
			      j->io->output, strerror(errno));
	j->published = 1;
	snprintf(dir, sizeof dir, "%s", j->io->output);
	fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		int e = fsync(fd) != 0 ? errno : 0;
		close(fd);
		if (e && e != EINVAL && e != EROFS)
			return tp_err(TP_EIO, "%s: syncing its directory: %s", j->io->output,
				      strerror(e));
	}
	return stat_key ? tp_stat_key(j->io->output, stat_key, n) : TP_OK;
}

tp_status tp_job_process(struct tp_engine_ctx *eng, const struct tp_opts *o,
			 const struct tp_job_io *io, int dry_run, struct tp_job_result *res)
{
	struct job j;
	struct tp_job_io local_io;
	const struct io_info *ii;
	tp_status rc;
	double t0;

	memset(&j, 0, sizeof j);
	memset(res, 0, sizeof *res);
	if (!io->computed_total) {
		/* callers that do not count across jobs */
		static _Thread_local uint64_t scratch_count;
		local_io = *io;
		local_io.computed_total = &scratch_count;
		io = &local_io;
	}
	j.eng = eng;
	j.o = o;
	j.io = io;
	j.res = res;
	j.last_renew = tp_now_ms();

	t0 = tp_now_ms();
	rc = io_reader_open(io->input, &j.in);
	tp_timing_add(&res->t, TP_STAGE_DECODE, tp_now_ms() - t0);
	if (rc != TP_OK)
		goto out;
	ii = io_reader_info(j.in);
	res->width = ii->width;
	res->height = ii->height;
	j.fmt = (struct tp_pixfmt){ ii->channels, ii->bits, ii->alpha };
	j.color = tp_pixfmt_color(j.fmt);

	t0 = tp_now_ms();
	rc = make_plan(&j);
	if (rc == TP_OK && !dry_run)
		rc = guide_setup(&j);
	tp_timing_add(&res->t, TP_STAGE_PLAN, tp_now_ms() - t0);
	if (rc != TP_OK)
		goto out;
	test_freeze("decode", 0);
	t0 = tp_now_ms();
	rc = mask_pass(&j);
	tp_timing_add(&res->t, TP_STAGE_MASK, tp_now_ms() - t0);
	if (rc != TP_OK)
		goto out;
	res->tiles = j.plan->ntiles;
	res->active = tiler_plan_active(j.plan);
	if (dry_run)
		goto out;

	t0 = tp_now_ms();
	rc = store_plan(&j);
	res->t.ms[TP_STAGE_PLAN] += tp_now_ms() - t0;
	if (rc != TP_OK)
		goto out;
	if ((rc = alloc_band(&j)) != TP_OK)
		goto out;
	if (j.coarse) {
		int needed;
		t0 = tp_now_ms();
		rc = guide_plan(&j, &needed);
		res->t.ms[TP_STAGE_MASK] += tp_now_ms() - t0;
		if (rc == TP_OK && needed)
			rc = guide_build(&j);
		if (rc != TP_OK)
			goto out;
	}
	if ((rc = open_mask(&j)) != TP_OK)   /* another pass over the mask, with the image */
		goto out;
	if (io->store)
		remove_stale_temps(io->output);
	if ((rc = open_writer(&j)) != TP_OK)
		goto out;
	tp_progress_image(io->progress, io->input, res->active);

	test_freeze("band", 0);
	for (uint32_t r = 0; r < j.plan->nrows; r++) {
		uint32_t y_need = j.plan->row_y[r] + j.plan->tile_h;
		if ((rc = fill_band(&j, y_need)) != TP_OK)
			goto out;
		if ((rc = process_row(&j, r)) != TP_OK)
			goto out;
		if ((rc = emit_rows(&j, tiler_plan_rows_done(j.plan, r))) != TP_OK)
			goto out;
	}
	res->t.count[TP_STAGE_DECODE]++;
	res->t.count[TP_STAGE_MASK]++;

	t0 = tp_now_ms();
	rc = io_writer_finish(j.out);
	tp_timing_add(&res->t, TP_STAGE_WRITE, tp_now_ms() - t0);
	if (rc == TP_OK)
		test_freeze("publish", 0);
	if (rc == TP_OK && tp_cancelled())
		rc = tp_err(TP_ECANCELED, "%s: stopped before the output was put in place", io->input);
	if (rc != TP_OK)
		goto out;
	t0 = tp_now_ms();
	/* what the store keeps to tell later whether the output is still ours */
	rc = tp_content_sig(j.tmp_path, res->output_sig, sizeof res->output_sig);
	if (rc == TP_OK && io->store)
		rc = store_job_done(io->store, io->lease, res->output_sig, publish_output, &j);
	else if (rc == TP_OK)
		rc = publish_output(&j, NULL, 0);
	tp_timing_add(&res->t, TP_STAGE_WRITE, tp_now_ms() - t0);
out:
	if (rc != TP_OK && rc != TP_ELEASE && rc != TP_ECANCELED && io->store) {
		/* A failure may come of losing the job: the run that took it over
		 * removes our temporaries. Then that is the error to report. */
		char why[1024];
		snprintf(why, sizeof why, "%s", tp_errmsg());
		if (store_job_renew(io->store, io->lease, tp_wall_s(),
				    (int64_t)(io->lease_s + 0.5)) == TP_ELEASE)
			rc = TP_ELEASE;
		else
			tp_err(rc, "%s", why);
	}
	free_job(&j);
	return rc;
}

uint64_t tp_options_hash(const struct tp_engine_ctx *eng, const struct tp_opts *o,
			 const char *model_sig)
{
	uint64_t h = TP_HASH_INIT;
	const struct engine_ops *e = eng->ops;
	h = tp_hash_str(h, "tilepaint-output-v1");
	h = tp_hash_str(h, e->name);
	if (e->wants_guide)   /* the guide changed these engines' bytes */
		h = tp_hash_str(h, "guide-v1");
	h = tp_hash_str(h, model_sig ? model_sig : "");
	h = tp_hash_str(h, o->engine_params ? o->engine_params : "");
	h = tp_hash_u64(h, o->tile ? o->tile : e->default_tile);
	h = tp_hash_u64(h, o->overlap == UINT32_MAX ? default_overlap(e, o) : o->overlap);
	h = tp_hash_u64(h, o->dilate);
	h = tp_hash_u64(h, o->radius);
	h = tp_hash_u64(h, (uint64_t)(int64_t)o->jpeg_quality);
	h = tp_hash_u64(h, (uint64_t)(int64_t)o->png_level);
	return h;
}
