/*
 * report.h - what `report` and `status` show, read from one or more job
 * stores (shards of one batch) into memory: runs, jobs, stage totals
 * (report.c). The printers (report_text.c, report_html.c) only format it.
 * A job or run is tagged with the index of the store it came from.
 */
#ifndef TP_REPORT_H
#define TP_REPORT_H

#include "../store/store.h"

#define REP_MAX_STAGES 24

/* Per-stage sums, in pipeline order (as store_stages_each gives them). */
struct rep_stages {
	int n;
	char name[REP_MAX_STAGES][32];
	int64_t count[REP_MAX_STAGES];
	double ms[REP_MAX_STAGES];
	double total;                /* sum of ms */
};

enum rep_run_state { REP_RUN_FINISHED, REP_RUN_RUNNING, REP_RUN_INTERRUPTED };

struct rep_run {
	size_t store;                /* index into tp_report.paths */
	struct store_run_row row;    /* strings owned (copied), freed by tp_report_free */
	enum rep_run_state state;    /* interrupted: not finished and its process is gone */
	double wall_s;               /* start to finish (or to its last progress write when
				      * interrupted, or to now when running) */
	double mp_per_s;             /* megapixels it finished / wall_s; 0 when none */
	struct rep_stages st;        /* its stage totals */
};

struct rep_job {
	size_t store;
	struct store_job_row row;    /* strings owned */
	int interrupted;             /* stored as running, but its holder is gone or its
				      * lease expired */
	int64_t tiles_pending;       /* tiles with masked pixels and no result */
};

struct tp_report {
	size_t nstores;
	const char *const *paths;          /* borrowed: the --db arguments */
	struct store **st;           /* open (read-only) until tp_report_free */
	int64_t run;                 /* --run N, 0: all */
	double now;                  /* wall seconds when loaded */
	struct rep_run *runs;
	size_t nruns, runs_cap;
	struct rep_job *jobs;
	size_t njobs, jobs_cap;
	struct rep_stages all;       /* every selected timing, summed over the stores */
	int64_t by_state[STORE_JOB_NSTATES];
	int64_t interrupted;         /* jobs counted as running in the store whose holder is gone */
	int64_t tiles[STORE_TILE_NSTATES];
};

/* What `status` shows, worked out from a loaded report. */
struct rep_status {
	int64_t images;              /* every image known: jobs + not started */
	int64_t queued, running, interrupted, done, failed;
	int64_t not_started;         /* found by the last run of each store, not reached yet */
	double tiles_left;           /* masked tiles without a result, of images not done */
	double tiles_guess;          /* estimated for images not planned yet (mean per image) */
	double tile_ms_mean;         /* engine time per tile, measured */
	double tiles_per_s;          /* the throughput the ETA assumes; 0: unknown */
	int64_t workers;             /* -j of the last run (summed over stores) */
	double eta_s;
	char basis[256];             /* where tiles_per_s comes from, for people */
};
TP_MUST_USE tp_status rep_status_get(const struct tp_report *rep, struct rep_status *out);

/*
 * Open the stores `paths[0..n)` read-only and read their runs (run `run`
 * only, when nonzero), jobs and stage totals. On error the message names the
 * store (the report is freed). Caller frees with tp_report_free.
 */
TP_MUST_USE tp_status tp_report_load(struct tp_report *rep, const char *const *paths, size_t n,
				     int64_t run);
void tp_report_free(struct tp_report *rep);

/* Job j's own stage totals (of the selected run, or all). */
TP_MUST_USE tp_status rep_job_stages(const struct tp_report *rep, const struct rep_job *j,
				     struct rep_stages *out);
/* Add stage sums into *a (by name; new names at the end). */
void rep_stages_merge(struct rep_stages *a, const struct rep_stages *b);
/* The name a run's state prints as: "finished", "running", "interrupted". */
const char *rep_run_state_name(enum rep_run_state s);
/* The job's state as shown: its store state, or "interrupted". */
const char *rep_job_state_name(const struct rep_job *j);

#endif
