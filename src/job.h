/*
 * job.h - inpaint one image: the band loop that ties io, engines, tiler and
 * store together (job.c and the files job_int.h lists).
 */
#ifndef TP_JOB_H
#define TP_JOB_H

#include "engine_ctx.h"
#include "options.h"
#include "progress.h"
#include "timing.h"
#include "../store/store.h"

struct tp_job_io {
	const char *input, *mask, *output;  /* paths */
	uint64_t content_hash;              /* seeds engine tiles */
	struct store *store;                /* NULL: no store (`inpaint`, dry run) */
	const struct store_lease *lease;    /* ours on the job (with a store); every store
					     * write is fenced by it */
	double lease_s;                     /* lease length; renewed every third of it */
	int64_t run_id;
	double deadline_ms;                 /* tp_now_ms() deadline; 0 none */
	uint64_t *computed_total;           /* tiles computed by this process so far (in/out) */
	struct tp_progress *progress;
};

struct tp_job_result {
	struct tp_timings t;
	uint64_t tiles, active, computed, reused;
	uint32_t width, height;
	uint64_t masked;                    /* holes of the effective mask, pixels */
	char output_sig[128];               /* content signature of the output written
					     * (with a store; "" without) */
	/* the guide (engines with wants_guide): size and factor 0 when none was built */
	uint32_t guide_w, guide_h, guide_f;
	uint64_t guide_tiles;               /* tiles that touch a hole thick enough to need it */
	uint64_t guide_thick;               /* thickest hole, pixels (from the coarse mask) */
	double guide_ms;                    /* building it: its passes and its engine call */
};

/*
 * Inpaint one image: mask pass and plan, then the band loop writing a
 * temporary file beside the output, fsync and rename. With a store, tile
 * results are committed as they finish and reused when present, and the
 * rename happens inside store_job_done's fenced transaction (the job is done
 * when this returns TP_OK). `dry_run` stops after planning. TP_ECANCELED when
 * stopped by a signal or the deadline (stored tiles are kept, no output is
 * left); TP_ELEASE when another process took the job over (nothing more was
 * written). Errors name the file.
 */
TP_MUST_USE tp_status tp_job_process(struct tp_engine_ctx *eng, const struct tp_opts *o,
				     const struct tp_job_io *io, int dry_run,
				     struct tp_job_result *res);

/* -v: what the guide cost, when one was built (its time is also in the
 * decode, mask and inference stages). */
void tp_job_debug_guide(const char *output, const struct tp_job_result *res);

#endif
