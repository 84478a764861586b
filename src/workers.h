/*
 * workers.h - the tile workers of a job: an engine's inpaint() run on tiles
 * by a few threads (the program's one pool), results collected as they finish.
 */
#ifndef TP_WORKERS_H
#define TP_WORKERS_H

#include "engines/engine.h"
#include "util/pool.h"

struct tp_workers;
struct tp_task {
	struct engine_tile tile;   /* in/out; buffers owned by the submitter */
	tp_status status;          /* out */
	char error[256];           /* out: message when status != TP_OK */
	double ms;                 /* out: engine time */
	/* optional: run on the worker just before the engine (filling the
	 * tile's buffers off the submitter's thread), timed apart */
	void (*prepare)(struct tp_task *t);
	void *ctx;                 /* the submitter's, for prepare */
	double prepare_ms;         /* out: prepare's time */
	size_t slot;               /* submitter's bookkeeping */
	struct tp_pool_item item;  /* (the pool's) */
	struct tp_workers *owner;  /* (the pool's) */
};
/* Start `n` workers, each with its own engine worker scratch (one: no thread,
 * tasks run in tp_workers_submit). A scratch that cannot be made is the error. */
TP_MUST_USE tp_status tp_workers_new(const struct engine_ops *eng, void *state, uint32_t n,
				     struct tp_workers **out);
void tp_workers_free(struct tp_workers *w);
/* Queue a task (not copied: it must stay valid until it comes back from wait). */
void tp_workers_submit(struct tp_workers *w, struct tp_task *t);
/* Block until some submitted task is finished and return it. */
struct tp_task *tp_workers_wait(struct tp_workers *w);

#endif
