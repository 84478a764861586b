/*
 * workers.c - the engine on tiles, on the program's one thread pool
 * (util/pool.h) used as a queue. Only the main thread submits, waits, and
 * talks to the store; a worker touches nothing but its task and its own
 * engine scratch, made once on the worker's thread by the pool's start hook.
 * With one worker (-j 1) there is no thread: a submitted task runs at once on
 * the caller's, whose caches already hold the tile it just cut (a second
 * thread on the other core would fetch it across).
 */
#include "workers.h"
#include "util/pool.h"

struct tp_workers {
	const struct engine_ops *eng;
	void *state;
	struct tp_pool *pool;
	void **scratch;            /* per worker number */
	uint32_t size;
};

static tp_status scratch_start(void *ctx, uint32_t worker)
{
	struct tp_workers *w = ctx;
	return w->eng->worker_new ? w->eng->worker_new(w->state, &w->scratch[worker]) : TP_OK;
}

static void scratch_stop(void *ctx, uint32_t worker)
{
	struct tp_workers *w = ctx;
	if (w->eng->worker_free)
		w->eng->worker_free(w->scratch[worker]);
	w->scratch[worker] = NULL;
}

/* Run one task on this worker's scratch, timing it. */
static void run_task(struct tp_pool_item *self, uint32_t worker)
{
	struct tp_task *t = (struct tp_task *)((char *)self - offsetof(struct tp_task, item));
	struct tp_workers *w = t->owner;
	double t0;
	tp_err_clear();
	t0 = tp_now_ms();
	if (t->prepare) {
		t->prepare(t);
		t->prepare_ms = tp_now_ms() - t0;
		t0 += t->prepare_ms;
	}
	t->status = w->eng->inpaint(w->state, w->scratch[worker], &t->tile);
	t->ms = tp_now_ms() - t0;
	if (t->status != TP_OK)
		snprintf(t->error, sizeof t->error, "%s", tp_errmsg());
}

tp_status tp_workers_new(const struct engine_ops *eng, void *state, uint32_t n,
			 struct tp_workers **out)
{
	struct tp_workers *w = tp_calloc(1, sizeof *w);
	struct tp_pool_spec spec;
	tp_status rc;
	*out = NULL;
	if (!w)
		return tp_err(TP_ENOMEM, "out of memory starting workers");
	w->eng = eng;
	w->state = state;
	w->size = n > 1 ? n + 1 : 1;
	w->scratch = tp_calloc(w->size, sizeof *w->scratch);
	if (!w->scratch) {
		tp_free(w);
		return tp_err(TP_ENOMEM, "out of memory starting workers");
	}
	spec = (struct tp_pool_spec){ .threads = n > 1 ? n : 0, .start = scratch_start,
				      .stop = scratch_stop, .ctx = w };
	if ((rc = tp_pool_new(&spec, &w->pool)) != TP_OK) {
		tp_free(w->scratch);
		tp_free(w);
		return rc;
	}
	*out = w;
	return TP_OK;
}

void tp_workers_free(struct tp_workers *w)
{
	if (!w)
		return;
	tp_pool_free(w->pool);
	tp_free(w->scratch);
	tp_free(w);
}

void tp_workers_submit(struct tp_workers *w, struct tp_task *t)
{
	t->owner = w;
	t->item.run = run_task;
	tp_pool_submit(w->pool, &t->item);
}

struct tp_task *tp_workers_wait(struct tp_workers *w)
{
	struct tp_pool_item *it = tp_pool_wait(w->pool);
	return (struct tp_task *)((char *)it - offsetof(struct tp_task, item));
}
