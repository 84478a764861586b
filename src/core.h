/*
 * core.h - the pieces of the program proper (src/ (top level)): options shared by the
 * commands, stage timings, file signatures, tile-result blobs, the worker
 * pool, discovery, progress and the band loop that ties io, engines, tiler
 * and store together (pipeline.c).
 */
#ifndef CORE_H
#define CORE_H

#include <signal.h>

#include "util/tp.h"
#include "io/raster.h"
#include "engines/engine.h"
#include "../tiler/tiler.h"
#include "../store/store.h"

/* ---- stages, in pipeline order (names are what `report` prints) ---- */
enum tp_stage {
	TP_STAGE_DECODE,      /* reading and decoding input and mask rows */
	TP_STAGE_MASK,        /* binarising and dilating the mask; tile occupancy; guide planning */
	TP_STAGE_PLAN,        /* tile grid and its store records */
	TP_STAGE_MODEL_LOAD,  /* engine open: weights, plans (once per process) */
	TP_STAGE_INFERENCE,   /* engine time per tile, summed over workers */
	TP_STAGE_BLEND,       /* tiles out of / into the band, quantise, blend, composite */
	TP_STAGE_ENCODE,      /* encoding output rows */
	TP_STAGE_WRITE,       /* flush, fsync, rename */
	TP_STAGE_STORE,       /* job store transactions for tile results */
	TP_STAGE_COUNT
};
const char *tp_stage_name(enum tp_stage s);
/* "sign": hashing inputs and masks whose identity changed (not a pipeline
 * stage: it happens before the claim, and is recorded with the job's others) */
#define TP_STAGE_SIGN_NAME "sign"

struct tp_timings {
	double ms[TP_STAGE_COUNT];
	int64_t count[TP_STAGE_COUNT];
};
static inline void tp_timing_add(struct tp_timings *t, enum tp_stage s, double ms)
{
	t->ms[s] += ms;
	t->count[s] += 1;
}

/* ---- options shared by `run` and `inpaint` ---- */
struct tp_opts {
	const char *engine_name;   /* NULL: patch, or lama when --model is given */
	const char *model;         /* --model FILE */
	const char *engine_params; /* --engine-opt k=v,... */
	uint32_t tile;             /* 0: engine default */
	uint32_t overlap;          /* UINT32_MAX: engine default */
	uint32_t dilate;           /* mask dilation radius, pixels */
	uint32_t radius;           /* telea radius; 0: engine default */
	uint32_t threads;          /* -j: worker threads */
	int jpeg_quality;          /* 0: IO_JPEG_QUALITY_DEFAULT */
	int png_level;             /* -1: default */
	double max_time_s;         /* 0: none */
	double lease_s;            /* --lease: how long a claim lasts unrenewed (seconds) */
	uint64_t max_pixels;       /* --max-pixels: refuse larger images; 0: no limit */
	int quiet;
	int dry_run;
	/* run only */
	const char *out_dir;
	const char *db;
	const char *masks_dir;
	const char *mask_file;
	const char *mask_suffix;
	int recurse;
	uint32_t shard_k, shard_n; /* 1-based shard K of N; N = 0: none */
	int keep_going;            /* (always on: each bad file is reported, the batch goes on) */
};

/* "45s", "3m07s", "2h05m": a duration in ms, rounded to the second, for people. */
void tp_format_duration(char *buf, size_t n, double ms);
/* Parse a duration ("90", "90s", "9m", "1h30m", "2d"); -1 on error. */
double tp_parse_duration(const char *s);

/* ---- signatures ---- */
/*
 * Signature of a file's content and identity: "<size>-<hash of size, first
 * and last 64 KiB>-<mtime ns>". *content_hash gets the hash part alone (which
 * seeds engines, so touching a file does not change its output).
 * TP_ENOENT / TP_EIO naming the file.
 */
TP_MUST_USE tp_status tp_file_sig(const char *path, char *sig, size_t n, uint64_t *content_hash);
/* "<size>-<mtime ns>" of a file we wrote (cheap: for the re-run check). */
TP_MUST_USE tp_status tp_output_sig(const char *path, char *sig, size_t n);

/* ---- tile results as stored: masked pixels only, uint16, deflated ---- */
/*
 * Pack the masked pixels of a tile result: for each masked pixel in raster
 * order, `channels` values q = round(v * 65535) (v clamped to [0,1]) as
 * little-endian uint16, deflated. *blob is tp_malloc'd (caller frees).
 * The same function also writes q / 65535 back into pix, so that the blend of
 * a fresh run uses exactly the values a resumed run will load. With blob
 * NULL it only quantises pix (a run without a store has nothing to keep).
 */
TP_MUST_USE tp_status tp_blob_pack(float *pix, const uint8_t *mask, uint32_t w, uint32_t h,
		       uint32_t channels, void **blob, size_t *len);
/* Inverse: fill the masked pixels of pix from a blob. TP_EFORMAT if it does not fit. */
TP_MUST_USE tp_status tp_blob_unpack(const void *blob, size_t len, float *pix, const uint8_t *mask,
			 uint32_t w, uint32_t h, uint32_t channels);

/* ---- worker pool ---- */
struct tp_pool;
struct tp_task {
	struct engine_tile tile;   /* in/out; buffers owned by the submitter */
	tp_status status;          /* out */
	char error[256];           /* out: message when status != TP_OK */
	double ms;                 /* out: engine time */
	size_t slot;               /* submitter's bookkeeping */
};
/* Start `n` workers, each with its own engine worker scratch. */
TP_MUST_USE tp_status tp_pool_new(const struct engine_ops *eng, void *state, uint32_t n, struct tp_pool **out);
void tp_pool_free(struct tp_pool *p);
/* Queue a task (not copied: it must stay valid until it comes back from wait). */
void tp_pool_submit(struct tp_pool *p, struct tp_task *t);
/* Block until some submitted task is finished and return it. */
struct tp_task *tp_pool_wait(struct tp_pool *p);

/* ---- progress ---- */
struct tp_progress;
/* `images`: images in the run; `tile_ms_estimate`: mean tile time known so far (0: none). */
struct tp_progress *tp_progress_new(int quiet, uint64_t images, double tile_ms_estimate,
				    uint32_t threads);
void tp_progress_image(struct tp_progress *p, const char *name, uint64_t image_tiles);
void tp_progress_tiles(struct tp_progress *p, uint64_t done_delta, double tile_ms);
void tp_progress_clear(struct tp_progress *p);   /* erase the bar before printing a line */
void tp_progress_free(struct tp_progress *p);

/* ---- process-wide state ---- */
void tp_signals_install(void);
/* Engine opened on first use (model_load timed into *t). */
struct tp_engine_ctx {
	const struct engine_ops *ops;
	struct engine_options eopt;
	void *state;
	struct tp_pool *pool;
	uint32_t threads;
	int opened;
	double load_ms;
};
TP_MUST_USE tp_status tp_engine_ensure(struct tp_engine_ctx *e);
void tp_engine_close(struct tp_engine_ctx *e);

/* ---- the band loop ---- */
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
	char output_sig[128];               /* content signature of the output written */
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
			 const struct tp_job_io *io, int dry_run, struct tp_job_result *res);

/* The options hash: everything that changes the output bytes. */
uint64_t tp_options_hash(const struct tp_engine_ctx *eng, const struct tp_opts *o,
			 const char *model_sig);

/* ---- commands ---- */
int cmd_run(int argc, char **argv);
int cmd_inpaint(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_report(int argc, char **argv);

/* sysexits */
enum {
	TP_EXIT_OK = 0, TP_EXIT_USAGE = 64, TP_EXIT_DATAERR = 65, TP_EXIT_NOINPUT = 66,
	TP_EXIT_SOFTWARE = 70, TP_EXIT_CANTCREAT = 73, TP_EXIT_IOERR = 74,
	TP_EXIT_TEMPFAIL = 75, TP_EXIT_CONFIG = 78
};
/* Exit codes from the one table in common.c: the command as a whole failed
 * with s; one image of a batch did; opening the job store did. */
int tp_exit_code(tp_status s);
int tp_job_exit_code(tp_status s);
int tp_store_exit_code(tp_status s);

#endif
