/*
 * record.h - a run's own record in the job store (run_record.c): what it is,
 * how far it got, and each image's attempt with its wall time. Used by
 * cmd_run.c and run_item.c; failures to write are warnings.
 */
#ifndef TP_RECORD_H
#define TP_RECORD_H

#include "run.h"

/* Every option that changes the output, as "engine=NAME tile=N ...". */
void tp_run_options_line(const struct run *r, char *buf, size_t n);
/* Once, after store_run_begin: engine, options, -j, shard, the images of
 * this shard found (in_shard tells them) and how many had no job yet. */
void tp_run_describe(struct run *r, int (*in_shard)(const struct tp_opts *, const char *));
/* After each image: r->n into the run's row when it changed by more than
 * images up to date (or a second passed), or `force`. */
void tp_run_progress(struct run *r, int force);
/* An image's attempt in this run: claimed, then ended (how, wall time). */
void tp_run_job_begin(struct run *r, int64_t job_id);
void tp_run_job_end(struct run *r, int64_t job_id, enum item_outcome how, double wall_ms);

#endif
