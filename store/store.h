/*
 * store.h - the SQLite job store: jobs, tiles, runs and stage timings.
 *
 * The only module that includes sqlite3.h. The database is in WAL mode with a
 * busy timeout; every change is one transaction, and read-then-write
 * transactions use BEGIN IMMEDIATE, so a kill -9 at any instant leaves a
 * consistent store and two processes never claim the same job.
 * A `struct store` is used by one thread at a time (the band loop's main
 * thread); workers never touch it.
 */
#ifndef STORE_H
#define STORE_H

#include "../src/util/tp.h"

#define STORE_SCHEMA_VERSION 4

enum store_job_state {
	STORE_JOB_QUEUED = 0,   /* known, not finished */
	STORE_JOB_RUNNING = 1,  /* claimed by a live lease */
	STORE_JOB_DONE = 2,     /* output written and renamed into place */
	STORE_JOB_FAILED = 3    /* gave an error; error text recorded */
};
#define STORE_JOB_NSTATES 4

enum store_tile_state {
	STORE_TILE_PENDING = 0, /* has masked pixels, no result yet */
	STORE_TILE_DONE = 1,    /* result stored */
	STORE_TILE_SKIPPED = 2, /* no masked pixel: never sent to an engine */
	STORE_TILE_FAILED = 3   /* the engine failed on it */
};
#define STORE_TILE_NSTATES 4

/* "queued", "running", ... */
const char *store_job_state_name(enum store_job_state s);
const char *store_tile_state_name(enum store_tile_state s);

struct store;

/*
 * Open (creating if needed, unless `readonly`) the store at `path`, apply the
 * schema or migrate it, set WAL mode and a busy timeout of 30 s.
 * *out receives the store (caller frees with store_close), NULL on error.
 * A readonly store never creates or writes the file and reads while another
 * process writes; its write calls fail with TP_EIO.
 * Errors: TP_ENOENT (readonly and missing), TP_EIO / TP_ECREATE (cannot open),
 * TP_EFORMAT (not an SQLite file, an SQLite database with other tables but
 * no tilepaint meta table, a newer schema, or readonly on an empty store),
 * TP_EBUSY (locked by another process for longer than the busy timeout).
 *
 * Every call below returns TP_EBUSY when the store stays locked longer than
 * the busy timeout, and TP_EIO (or TP_EFORMAT for a corrupt file) with the
 * store path and SQLite's message on other database errors.
 */
TP_MUST_USE tp_status store_open(const char *path, int readonly, struct store **out);
void store_close(struct store *s);   /* accepts NULL */
/* PRAGMA integrity_check: TP_OK when "ok", else TP_EFORMAT with the first complaint. */
TP_MUST_USE tp_status store_integrity_check(struct store *s);

/* ---- runs: one row per `tilepaint run` process ---- */
TP_MUST_USE tp_status store_run_begin(struct store *s, const char *argv_line, const char *host,
			  int64_t pid, int64_t *run_id);
TP_MUST_USE tp_status store_run_end(struct store *s, int64_t run_id, int exit_status);

/* What a run is (recorded once, after store_run_begin); strings borrowed. */
struct store_run_info {
	const char *engine;        /* engine name */
	const char *options;       /* every option that changes the output, as "k=v ..." */
	const char *options_hash;  /* the jobs' options hash */
	const char *shard;         /* "K/N", or "" */
	int64_t threads;           /* -j: tile workers */
	int64_t discovered;        /* images of its shard it found */
	int64_t unknown;           /* of those, how many had no job in the store at its start */
};
TP_MUST_USE tp_status store_run_describe(struct store *s, int64_t run_id,
					 const struct store_run_info *info);

/* How far a run has got; written after every image (so a run killed with
 * kill -9 still says what it did) with the time of the write ("seen"). */
struct store_run_counts {
	int64_t images;            /* images it reached */
	int64_t done, failed, skipped, busy;   /* done now, failed now, up to date, left to another run */
	int64_t reached_unknown;   /* reached images that had no job at its start */
	int64_t tiles, inpainted, reused;      /* tiles of the images it worked on */
	double megapixels;         /* pixels of the images it finished, / 1e6 */
};
TP_MUST_USE tp_status store_run_progress(struct store *s, int64_t run_id,
					 const struct store_run_counts *c);

/* One image's attempt in one run: begun when it was claimed (outcome
 * running until it ends), ended with its wall time from claim to record.
 * Bookkeeping, unfenced (only the run that claimed the job writes its row). */
TP_MUST_USE tp_status store_run_job_begin(struct store *s, int64_t run_id, int64_t job_id);
TP_MUST_USE tp_status store_run_job_end(struct store *s, int64_t run_id, int64_t job_id,
					enum store_job_state outcome, double wall_ms);

/* ---- jobs ---- */

/* What discovery knows of one image; strings borrowed. The output path is the key. */
struct store_job_spec {
	const char *input;        /* input image path */
	const char *mask;         /* mask path, or NULL when none was found */
	const char *output;       /* final output path (unique per job) */
	const char *input_sig;    /* signature of the input file's content (every byte) */
	const char *mask_sig;     /* signature of the mask file's content, or "" */
	const char *options_hash; /* hash of every option that changes the output */
	const char *input_stat;   /* identity of the input file (device, inode, size, times), or "" */
	const char *mask_stat;    /* the same for the mask, or "" */
};

struct store_job {
	int64_t id;
	enum store_job_state state;
	int64_t attempts;
	char output_sig[128];     /* content signature of the last output put in place (kept
				   * when the inputs change: the file is ours), or "" */
	char output_stat[128];    /* its identity when written (the cheap re-run check), or "" */
	char error[512];          /* last error text, or "" */
	/* as recorded, for the cheap "unchanged" check before hashing (store_job_find) */
	char input_sig[128], input_stat[128], mask_sig[128], mask_stat[128];
	int failed_input;         /* failed, and its input was what was wrong (so trying it
				   * again is pointless until something changes) */
	int changed;              /* STORE_CHANGED_* bits: how the recorded job differed from
				   * the spec (store_job_sync, store_job_preview); 0 otherwise */
};
enum { STORE_CHANGED_INPUT = 1, STORE_CHANGED_MASK = 2, STORE_CHANGED_OPTIONS = 4 };

/*
 * The job recorded for `output`, if any: *found = 1 and *out filled, else
 * *found = 0. Read-only; lets the caller reuse recorded content signatures
 * when a file's identity has not changed, instead of hashing it again.
 */
TP_MUST_USE tp_status store_job_find(struct store *s, const char *output, int *found, struct store_job *out);

/*
 * Make the store agree with `spec` (one BEGIN IMMEDIATE transaction). A job
 * whose input_sig, mask_sig, options_hash and input path all match is left as
 * it is (a finished job stays done, a failed one failed); only a changed mask
 * path or file identity is recorded. Otherwise it is (re)set to queued with
 * its tiles, error, output signature, attempts and lease cleared (a process
 * still working on the old version then finds its lease gone: TP_ELEASE).
 * A new output path adds a queued job.
 * *out receives the job's current row (state as stored: a running job with an
 * expired lease still reads running here).
 */
TP_MUST_USE tp_status store_job_sync(struct store *s, const struct store_job_spec *spec, struct store_job *out);

/*
 * What store_job_sync would leave in *out, without writing (--dry-run; a
 * read-only store will do): the recorded row when it matches the spec, a
 * queued job when it does not (out->changed saying what differs) or there
 * is none (out->id = 0). The same comparison as store_job_sync.
 */
TP_MUST_USE tp_status store_job_preview(struct store *s, const struct store_job_spec *spec,
					struct store_job *out);

/*
 * A lease: the right to write job `job`'s tiles, timings and outcome. Every
 * claim bumps the job's lease generation, so a holder that was frozen past
 * its expiry and taken over can never write again, even if it is the same
 * owner string: every write below checks owner and generation in the same
 * transaction and fails with TP_ELEASE ("lost the lease on IMAGE to
 * HOST:PID") once either differs.
 */
struct store_lease {
	int64_t job;
	int64_t gen;              /* 0: no lease held */
	char owner[160];
};

/*
 * Try to claim job `id` for `owner` until now + lease_s (seconds, wall clock).
 * *got = 1 on success (state becomes running, attempts + 1, the lease
 * generation + 1; *lease describes the new lease). *got = 0 when the job is
 * done, or its lease is held by another owner and has not expired
 * (expires > now), in which case that owner is copied to `holder` (may be
 * NULL; "" otherwise, truncated to holder_len). A lease held by exactly
 * `steal_from` (non-NULL) is taken over even before it expires (the caller
 * has proved that holder dead). Queued and failed jobs are claimable: the
 * caller decides whether to retry a failed one (see attempts).
 * One BEGIN IMMEDIATE transaction, so two processes never both get *got = 1.
 * TP_EUSAGE when there is no job `id`.
 */
TP_MUST_USE tp_status store_job_claim(struct store *s, int64_t id, const char *owner, int64_t now,
			  int64_t lease_s, const char *steal_from, struct store_lease *lease,
			  int *got, char *holder, size_t holder_len);
/* Extend the lease to now + lease_s. TP_ELEASE if it is no longer ours
 * (holding an expired lease nobody took over still renews). */
TP_MUST_USE tp_status store_job_renew(struct store *s, const struct store_lease *l, int64_t now,
			  int64_t lease_s);
/*
 * Before putting an output in place: note its content signature, fenced, so
 * that the store knows the file at the output path is its own even if the
 * run dies between the rename and store_job_done. A job keeps the signature
 * of the last output it put in place (also when its inputs change), which is
 * how a run tells its own outputs from files it must not replace.
 */
TP_MUST_USE tp_status store_job_expect_output(struct store *s, const struct store_lease *l,
					      const char *output_sig);
/* Give the job back unfinished (stopped early): state queued, lease cleared.
 * TP_ELEASE if the lease is no longer ours. */
TP_MUST_USE tp_status store_job_release(struct store *s, const struct store_lease *l);
/*
 * Publish the output and mark the job done, fenced: in one BEGIN IMMEDIATE
 * transaction, check the lease (TP_ELEASE, nothing published), call
 * publish(ctx, stat_key, n) (which renames the finished temporary into place
 * and writes the output's identity into stat_key; NULL: nothing to do), then
 * set state done, record output_sig and the identity, clear the lease's
 * expiry (its owner and generation stay, so the holder can still record the
 * job's timings: store_job_timings) and the error,
 * and drop the tile result blobs (tile rows, states and engine times kept).
 * Holding the store's write lock across the rename is what makes the fence
 * hold: nobody can take the lease over between the check and the rename.
 * An error from publish rolls back and is returned as it is.
 */
TP_MUST_USE tp_status store_job_done(struct store *s, const struct store_lease *l, const char *output_sig,
			 tp_status (*publish)(void *ctx, char *stat_key, size_t n), void *ctx);
/* Queue job `id` again (a done job whose output went missing or changed is
 * to be redone), noting why; a job under a live lease is left as it is. */
TP_MUST_USE tp_status store_job_requeue(struct store *s, int64_t id, const char *note);
/* Remove jobs and their tiles: those whose input or output path is `path`,
 * or with path NULL every failed job; jobs under a live lease are kept.
 * *removed: how many went. */
TP_MUST_USE tp_status store_forget(struct store *s, const char *path, int64_t *removed);
/* Mark failed with `error` (lease cleared), fenced by `l`; with l NULL,
 * job `id` is marked failed unfenced, whatever its state (it failed before
 * it could be claimed, e.g. no mask found, or a done job's output is gone
 * and it is to be redone); a job running under a live lease is left alone:
 * TP_ELEASE. TP_EUSAGE for an unknown job. */
TP_MUST_USE tp_status store_job_fail(struct store *s, const struct store_lease *l, int64_t id,
				     const char *error, int failed_input);
/* (failed_input: the failure is the input's: a data error, a clash with a
 * file the store does not own; 0 for the machine's: a full disk, no memory,
 * which a later run should try again) */
/* A finished job's output was found unchanged by content after its identity
 * changed (copied, touched): record the new identity. */
TP_MUST_USE tp_status store_job_output_stat(struct store *s, int64_t id, const char *output_stat);

/* ---- tiles ---- */

struct store_tile_rec {
	int32_t x, y, w, h;       /* rectangle in image coordinates */
	int skipped;              /* 1 = no masked pixel */
};

/*
 * Record the plan of job `id`: when the job has no tiles, insert them all
 * (pending or skipped) in one transaction; when it has exactly these
 * rectangles (same count, same x/y/w/h and skipped flag at every index), keep
 * them and their results; otherwise replace them (results dropped).
 * Tile i of the array is stored as index i. Fenced by the lease (TP_ELEASE).
 */
TP_MUST_USE tp_status store_tiles_plan(struct store *s, const struct store_lease *l,
			   const struct store_tile_rec *tiles, size_t n);
/* done[i] = 1 for tiles of job `id` whose result is stored, else 0 (n = tile
 * count; all n bytes are written). TP_EUSAGE if the job has a stored result
 * at an index >= n (the plan was not recorded first). */
TP_MUST_USE tp_status store_tiles_done_map(struct store *s, int64_t id, uint8_t *done, size_t n);
/* Fetch a stored result: *blob (caller frees with tp_free; a 0-byte result
 * still gets a non-NULL allocation), *len. TP_ENOENT if none (*blob = NULL). */
TP_MUST_USE tp_status store_tile_get(struct store *s, int64_t id, uint32_t idx, void **blob, size_t *len);
/* Store a result (len bytes copied; len = 0 is a valid empty result) and mark
 * the tile done, with its engine time, in one transaction that also checks
 * the lease (TP_ELEASE). Overwrites an earlier result. TP_EUSAGE if the tile
 * is not in the job's plan. */
TP_MUST_USE tp_status store_tile_put(struct store *s, const struct store_lease *l, uint32_t idx,
			 const void *blob, size_t len, double engine_ms);
/* Mark a tile failed (its result, if any, dropped), fenced. TP_EUSAGE if no such tile. */
TP_MUST_USE tp_status store_tile_fail(struct store *s, const struct store_lease *l, uint32_t idx);

/* ---- timings ---- */

/* Add `count` calls totalling `ms` milliseconds to (run, job, stage), creating
 * the row or accumulating into it. job may be 0 (process-wide stages such as
 * model_load). Unfenced: for a job's own stages use store_job_timings. */
TP_MUST_USE tp_status store_timing_add(struct store *s, int64_t run_id, int64_t job_id,
			   const char *stage, int64_t count, double ms);
/* Add n stages' timings of the leased job in one transaction, fenced
 * (TP_ELEASE). Entries with count 0 and ms 0 are skipped. */
TP_MUST_USE tp_status store_job_timings(struct store *s, const struct store_lease *l, int64_t run_id,
			    size_t n, const char *const *stages, const int64_t *counts,
			    const double *ms);

/* ---- queries behind `status` and `report` ---- */

struct store_status {
	int64_t jobs[STORE_JOB_NSTATES];    /* jobs by state (running = lease not expired) */
	int64_t tiles[STORE_TILE_NSTATES];  /* tiles by state, over all jobs */
	int64_t tiles_timed;                /* done tiles with an engine time */
	double tile_ms_mean;                /* their mean engine time, 0 when none */
	int64_t last_run_start, last_run_end; /* wall seconds; 0 when none / still running */
	int64_t last_run_exit;              /* -1 when unknown */
};
/* Fill *out from one snapshot; `now` (wall seconds) decides which leases are
 * live: a running job whose lease expired (expires <= now) counts as queued. */
TP_MUST_USE tp_status store_status_get(struct store *s, int64_t now, struct store_status *out);

/* One row per job, for `report` and `status` listings. Strings borrowed for the callback. */
struct store_job_row {
	int64_t id;
	const char *input, *output, *error;
	enum store_job_state state;
	int64_t attempts;
	int64_t tiles_total, tiles_skipped, tiles_done, tiles_failed;
	double total_ms;                    /* = worker_ms (the name older callers use) */
	double worker_ms;                   /* sum of its stage timings: time the workers and
					     * the main thread spent on it (inference summed
					     * over workers) */
	double wall_ms;                     /* sum over its attempts of claim-to-end wall time */
	double started, finished;           /* wall seconds: first claim, end of the last
					     * attempt that ended; 0 when none */
	const char *lease_owner;            /* "host:pid:start" while running, else "" */
	int64_t lease_expires;              /* wall seconds; 0 when none */
	int64_t width, height;              /* the image's size from its tile plan; 0 unplanned */
	const char *mask;                   /* its mask path as recorded, or "" */
};
/* Call cb for every job in id (discovery) order, state as stored. A nonzero
 * return from cb stops the walk (TP_OK). cb must not call into the same
 * `struct store` (the walk holds its cached statement). */
TP_MUST_USE tp_status store_jobs_each(struct store *s, int (*cb)(void *ctx, const struct store_job_row *row),
			  void *ctx);
/* The same for the jobs run `run_id` worked on (an attempt or a timing in
 * it), with worker_ms and wall_ms of that run only; run_id 0: every job,
 * as store_jobs_each. */
TP_MUST_USE tp_status store_jobs_each_run(struct store *s, int64_t run_id,
					  int (*cb)(void *ctx, const struct store_job_row *row),
					  void *ctx);

/* One row per run, oldest first. Strings borrowed for the callback. */
struct store_run_row {
	int64_t id;
	double started, finished;           /* wall seconds; finished 0 while running or killed */
	double seen;                        /* last progress write; 0 when none */
	int64_t exit_status;                /* -1 when it did not end */
	const char *argv, *host, *engine, *options, *options_hash, *shard;
	int64_t pid, threads, discovered, unknown;
	struct store_run_counts n;
};
/* Call cb for run `run_id`, or every run (run_id 0), by id. */
TP_MUST_USE tp_status store_runs_each(struct store *s, int64_t run_id,
				      int (*cb)(void *ctx, const struct store_run_row *row),
				      void *ctx);

/* One tile of a job, for the report's tile map and time histogram. */
struct store_tile_row {
	uint32_t idx;
	int32_t x, y, w, h;
	enum store_tile_state state;
	double engine_ms;                   /* -1 when not timed */
};
/* Call cb for every tile of job `job_id` in index order. */
TP_MUST_USE tp_status store_tiles_each(struct store *s, int64_t job_id,
				       int (*cb)(void *ctx, const struct store_tile_row *t),
				       void *ctx);

/* Per-stage sums over all jobs (job_id < 0) or one job; process-wide stages
 * (job 0) are included in the all-jobs view. Stages come in pipeline order:
 * decode, mask, plan, model_load, inference, blend, encode, write, then others
 * by bytewise name order. Counts and times are summed over runs. A nonzero
 * return from cb stops the walk; cb must not call into the same store. */
TP_MUST_USE tp_status store_stages_each(struct store *s, int64_t job_id,
			    int (*cb)(void *ctx, const char *stage, int64_t count, double total_ms),
			    void *ctx);
/* The same restricted to run `run_id` (0: every run, as store_stages_each). */
TP_MUST_USE tp_status store_stages_each_run(struct store *s, int64_t run_id, int64_t job_id,
			    int (*cb)(void *ctx, const char *stage, int64_t count, double total_ms),
			    void *ctx);

#endif
