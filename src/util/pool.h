/*
 * pool.h - the one thread pool of the program: a fixed set of threads fed
 * from a FIFO of items. It is used in one of two ways (one at a time per
 * pool):
 *
 *   - as a queue: tp_pool_submit hands an item to the next free thread and
 *     tp_pool_wait returns items in the order they finished (the tile
 *     workers of a job, src/workers.c);
 *   - fork-join: tp_pool_run calls fn(ctx, task, worker) for every task in
 *     [0, ntasks) on the caller and the threads, and returns when all are
 *     done (the kernels inside one LaMa tile, src/nn).
 *
 * Workers are numbered: 0 is the caller's thread, 1..threads the pool's.
 * A start hook runs on each worker's own thread before it takes any item, so
 * per-worker scratch is made (and first touched) where it is used. Results
 * never depend on which worker ran what: callers give each item or task its
 * own output and use the worker number only to pick scratch.
 */
#ifndef TP_POOL_H
#define TP_POOL_H

#include "tp.h"

/* An item of work; embed it in your own struct and recover that in run(). */
struct tp_pool_item {
	void (*run)(struct tp_pool_item *self, uint32_t worker);
};

struct tp_pool_spec {
	uint32_t threads;   /* threads to start; 0: none, everything runs on the caller */
	/* optional, per worker, on that worker's thread (worker 0 only when
	 * threads is 0): a failure of any start fails tp_pool_new with its error */
	TP_MUST_USE tp_status (*start)(void *ctx, uint32_t worker);
	void (*stop)(void *ctx, uint32_t worker);
	void *ctx;
};

struct tp_pool;
/* Start the pool's threads and wait until each has run its start hook.
 * TP_ENOMEM when a thread cannot be made; a start hook's own error. */
TP_MUST_USE tp_status tp_pool_new(const struct tp_pool_spec *spec, struct tp_pool **out);
/* Stop and join the threads (after their stop hooks). Accepts NULL. Items
 * still queued are not run: wait for what you submitted first. */
void tp_pool_free(struct tp_pool *p);
/* Worker numbers in use are < tp_pool_size(p): threads + 1 (1 for NULL). */
uint32_t tp_pool_size(const struct tp_pool *p);

/* Queue an item (not copied: it must stay valid until tp_pool_wait returns
 * it). With no threads it runs at once, here, as worker 0. */
void tp_pool_submit(struct tp_pool *p, struct tp_pool_item *it);
/* Block until a submitted item has finished and return it (finishing order). */
struct tp_pool_item *tp_pool_wait(struct tp_pool *p);

/* Fork-join: fn(ctx, task, worker) for task in [0, ntasks), spread over the
 * caller (worker 0) and the threads; returns when every task is done. p may
 * be NULL (all on the caller). */
void tp_pool_run(struct tp_pool *p, uint32_t ntasks,
		 void (*fn)(void *ctx, uint32_t task, uint32_t worker), void *ctx);

#endif
