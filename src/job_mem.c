/*
 * job_mem.c - a job under --mem-limit: what it will hold, and the tile size
 * and window (tiles in flight) that keep it under the limit.
 *
 * The limit is on the process's address space, what `ulimit -v` limits: the
 * strictest measure (thread stacks and malloc arenas count though they are
 * mostly never touched), so a run under it also stays under the same RSS.
 *
 * Two choices, on two kinds of figures:
 *  - The tile size changes the output's bytes, so it is chosen only when the
 *    user gives --mem-limit (and no --tile), and only from figures that are
 *    the same on every run of the same image and options: the image's width,
 *    layout and mask (the mask pass's per-row count), the engine's declared
 *    scratch (engine_ops.worker_bytes), the writer's declared buffers, the
 *    reader's own allocations, and a fixed allowance for the program itself.
 *    One worker and one tile in flight: the thread count never changes bytes.
 *    The limit goes into the options hash, so a changed limit redoes images.
 *  - The window changes nothing but speed, so it is fitted to what the process
 *    really has mapped now (VmSize), with the default limit from the memory
 *    the machine has available when none is given. It never goes below one.
 * Both err on the side of counting too much.
 */
#include "job_int.h"

#include <string.h>
#include <sys/stat.h>

/* The program, its libraries, glibc's main arena and the stacks of the main
 * thread (measured: about 53 MiB mapped when the first image starts; LaMa's
 * weights are counted apart). */
#define JOB_MEM_PROGRAM ((uint64_t)96 << 20)
/* What each worker thread reserves: its stack (glibc's default 8 MiB) and its
 * malloc arena (64 MiB of address space on 64-bit glibc). */
#define JOB_MEM_THREAD ((uint64_t)72 << 20)
/* The smallest tile, and guide side, --mem-limit shrinks to. */
#define JOB_MEM_MIN_TILE 64u
#define JOB_MEM_MIN_GUIDE 128u

static char *mib(char *buf, size_t n, uint64_t bytes)
{
	snprintf(buf, n, "%.0f MiB", (double)bytes / 1048576.0);
	return buf;
}

/* The writer's buffers with `threads` encoding threads (their stacks and
 * arenas apart), for the options job_output_open will pass. */
static uint64_t writer_bytes(const struct job *j, uint32_t threads)
{
	struct io_info oi;
	struct io_write_opts wo;
	job_output_opts(j, threads, &oi, &wo);
	return io_writer_mem_need(&oi, io_reader_meta(j->in), &wo);
}

/* The band for the current plan, with as many masked pixels as its rows can
 * hold at once (the mask pass's per-row bound). */
static uint64_t band_bytes(const struct job *j)
{
	const struct tiler_plan *p = j->plan;
	return tiler_band_bytes(p->width, j->fmt, p->tile_h, (size_t)p->row_masked_max * p->tile_h);
}

/* What one tile in flight costs: its pixels, mask and guide. */
static uint64_t slot_bytes(const struct job *j)
{
	uint64_t tpx = (uint64_t)j->plan->tile_w * j->plan->tile_h;
	return tpx * j->color * sizeof(float) * (j->coarse ? 2 : 1) + tpx;
}

/* What one engine worker holds for tiles of up to w x h (its declaration). */
static uint64_t engine_bytes(const struct job *j, uint32_t w, uint32_t h)
{
	const struct engine_ops *e = j->eng->ops;
	return e->worker_bytes ? e->worker_bytes(j->eng->state, w, h, j->color) : 0;
}

/* The guide: its image and hole map, and the engine solving it as one tile. */
static uint64_t guide_bytes(const struct job *j)
{
	uint64_t cpx;
	if (!j->coarse)
		return 0;
	cpx = (uint64_t)j->coarse->w * j->coarse->h;
	return cpx * (j->color * sizeof(float) * 2 + 8) + engine_bytes(j, j->coarse->w, j->coarse->h);
}

/* The job's own buffers for the current plan, without the tiles in flight,
 * with the writer's on `threads` encoding threads (their reservations too). */
static uint64_t job_bytes(const struct job *j, uint32_t threads)
{
	const struct tiler_plan *p = j->plan;
	return band_bytes(j) + writer_bytes(j, threads) + (threads > 1 ? threads * JOB_MEM_THREAD : 0) +
	       (uint64_t)p->ntiles * 64 + 4 * (uint64_t)p->width + guide_bytes(j);
}

static uint64_t worker_bytes(const struct job *j)
{
	return engine_bytes(j, j->plan->tile_w, j->plan->tile_h);
}

/* The figure the tile is chosen by: the same on every run (see the top). */
static uint64_t fixed_need(const struct job *j, uint64_t reader_bytes, uint64_t model_bytes)
{
	return JOB_MEM_PROGRAM + model_bytes + reader_bytes + job_bytes(j, 1) + slot_bytes(j) +
	       worker_bytes(j);
}

/* The figure the window is chosen by, for `window` tiles in flight, with
 * `mapped` bytes of address space in use now. */
static uint64_t live_need(const struct job *j, uint64_t mapped, size_t window)
{
	uint64_t threads = j->eng->threads > 1 ? j->eng->threads : 0;
	return mapped + threads * JOB_MEM_THREAD + job_bytes(j, j->enc_threads) +
	       window * slot_bytes(j) +
	       (uint64_t)(j->eng->threads ? j->eng->threads : 1) * worker_bytes(j);
}

/* The writer encodes on as many threads as the engine has workers (-j for
 * an engine that runs its own threads). */
static uint32_t encode_threads(const struct job *j)
{
	return j->eng->ops->inner_threads ? j->o->threads : j->eng->threads;
}

/* Before the engine's workers start (the first job that runs tiles): as
 * many as fit, each with its thread's reservations and its scratch, next to
 * one tile in flight each. The count never changes an output's bytes. */
static void fit_threads(struct job *j, uint64_t mapped, uint64_t limit)
{
	struct tp_engine_ctx *e = j->eng;
	uint32_t want = e->threads;
	if (e->opened || e->threads < 2)
		return;
	while (e->threads > 1 && live_need(j, mapped, e->threads) > limit)
		e->threads--;
	if (e->threads < want) {
		char a[32];
		tp_info("%s: %u of the %u workers started, to stay under %s %s", j->io->input,
			e->threads, want, j->o->mem_limit ? "--mem-limit" : "the memory available,",
			mib(a, sizeof a, limit));
	}
}

/* Plan again (with a smaller tile or guide) and pass over the mask again. */
TP_MUST_USE static tp_status replan(struct job *j, uint32_t tile)
{
	const struct io_info *ii = io_reader_info(j->in);
	const struct engine_ops *e = j->eng->ops;
	struct tiler_plan_params pp = {
		.width = ii->width, .height = ii->height, .tile = tile,
		.overlap = tp_engine_overlap(e, j->o), .multiple = e->multiple ? e->multiple : 1,
	};
	tp_status rc;
	tiler_plan_free(j->plan);
	tiler_coarse_free(j->coarse);
	j->plan = NULL;
	j->coarse = NULL;
	TP_TIMED(j->t, TP_STAGE_PLAN)
		if ((rc = tiler_plan_new(&pp, &j->plan)) == TP_OK)
			rc = job_guide_setup(j);
	if (rc != TP_OK)
		return rc;
	TP_TIMED(j->t, TP_STAGE_MASK)
		rc = job_mask_pass(j);
	return rc;
}

/* The next smaller tile side to try, or 0 when there is none. */
static uint32_t smaller_tile(const struct job *j, uint32_t tile)
{
	uint32_t m = j->eng->ops->multiple ? j->eng->ops->multiple : 1;
	uint32_t lo = 2 * tp_engine_overlap(j->eng->ops, j->o) + 16;
	uint32_t t = tile * 3 / 4 / m * m;
	if (lo < JOB_MEM_MIN_TILE)
		lo = JOB_MEM_MIN_TILE;
	return t >= lo && t < tile ? t : 0;
}

/* The error for a job that does not fit even with its smallest tile. */
TP_MUST_USE static tp_status over_limit(const struct job *j, uint64_t reader_bytes, uint64_t model,
					uint64_t limit)
{
	char a[32], b[32], c[32], d[32], e[32], f[32];
	return tp_err(TP_EFORMAT, "%s: needs about %s with one %ux%u tile in flight, over "
		      "--mem-limit %s (band of %u-pixel rows %s, guide %s, engine %s, readers "
		      "and model %s)", j->io->input, mib(a, sizeof a, fixed_need(j, reader_bytes, model)),
		      j->plan->tile_w, j->plan->tile_h, mib(b, sizeof b, limit), j->plan->width,
		      mib(c, sizeof c, job_bytes(j, 1) - guide_bytes(j)), mib(d, sizeof d, guide_bytes(j)),
		      mib(e, sizeof e, worker_bytes(j)), mib(f, sizeof f, reader_bytes + model));
}

tp_status job_mem_fit(struct job *j, uint64_t reader_bytes)
{
	uint64_t model = 0, mapped, limit = j->o->mem_limit;
	uint32_t tile = j->plan->tile_w > j->plan->tile_h ? j->plan->tile_w : j->plan->tile_h;
	const struct io_info *ii = io_reader_info(j->in);
	char a[32], b[32], c[32], d[32], e[32];
	struct stat st;
	tp_status rc;
	/* the weights, as big in memory as on disk (counted before they load) */
	if (j->eng->ops->needs_model && j->eng->eopt.model && stat(j->eng->eopt.model, &st) == 0)
		model = (uint64_t)st.st_size;
	/* a multi-scan JPEG's decoder holds every coefficient (libjpeg's own
	 * allocation, not in reader_bytes): two bytes a sample at most */
	if (ii->format == IO_FORMAT_JPEG && io_reader_compression(j->in))
		reader_bytes += (uint64_t)ii->width * ii->height * ii->channels * 2;
	/* the input's read-ahead, made at its first row (a reopened mask's is
	 * the one the mask pass made and measured) */
	reader_bytes += io_reader_ahead_bytes(j->in);
	if (limit && fixed_need(j, reader_bytes, model) > limit && tiler_runs_bytes(j->mask_runs)) {
		/* the mask's runs only save reading it again: they go first */
		reader_bytes -= tiler_runs_bytes(j->mask_runs) < reader_bytes
				? tiler_runs_bytes(j->mask_runs) : reader_bytes;
		tiler_runs_drop(j->mask_runs);
	}
	if (limit && !j->o->tile) {
		while (fixed_need(j, reader_bytes, model) > limit) {
			/* the larger of the guide and the tile's share gives way first */
			uint32_t t = smaller_tile(j, tile);
			uint32_t g = j->coarse ? (j->coarse->w > j->coarse->h ? j->coarse->w
									: j->coarse->h) : 0;
			if (g > JOB_MEM_MIN_GUIDE && (!t || guide_bytes(j) > worker_bytes(j) +
							 tiler_band_bytes(j->plan->width, j->fmt,
									  j->plan->tile_h, 0))) {
				j->guide_side = g / 2;
				t = tile;
			} else if (!t) {
				break;
			}
			if ((rc = replan(j, t)) != TP_OK)
				return rc;
			tile = t;
		}
	}
	if (limit && fixed_need(j, reader_bytes, model) > limit)
		return over_limit(j, reader_bytes, model, limit);
	mapped = tp_mem_mapped();
	if (!limit)
		limit = tp_mem_available() + mapped;
	j->enc_threads = encode_threads(j);   /* as many as are asked for, while fitting */
	fit_threads(j, mapped, limit);
	j->enc_threads = encode_threads(j);
	j->window = (size_t)j->eng->threads * 2;
	if (j->window < 2)
		j->window = 2;
	if (j->window > j->plan->ncols)
		j->window = j->plan->ncols;
	while (j->window > 1 && live_need(j, mapped, j->window) > limit)
		j->window--;
	while (j->enc_threads > 1 && live_need(j, mapped, j->window) > limit)
		j->enc_threads--;   /* (the writer's threads, like the workers, change no byte) */
	tp_debug("%s: memory: band %s, writer %s, slot %s, worker %s, readers %s", j->io->input,
		 mib(a, sizeof a, band_bytes(j)),
		 mib(b, sizeof b, writer_bytes(j, j->enc_threads)), mib(c, sizeof c, slot_bytes(j)),
		 mib(d, sizeof d, worker_bytes(j)), mib(e, sizeof e, reader_bytes));
	tp_debug("%s: memory: tile %ux%u, %zu in flight, about %s planned of %s (%s mapped now)",
		 j->io->input, j->plan->tile_w, j->plan->tile_h, j->window,
		 mib(a, sizeof a, live_need(j, mapped, j->window)), mib(b, sizeof b, limit),
		 mib(c, sizeof c, mapped));
	return TP_OK;
}
