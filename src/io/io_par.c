/*
 * io_par.c - encoding work on the program's thread pool, taken back in the
 * order it was given: the PNG writer's deflate chunks and the TIFF writer's
 * strips and tiles are compressed by a few threads while the caller goes on
 * producing rows, and written in file order. What each item computes never
 * depends on which thread ran it or when, so the bytes do not depend on the
 * thread count. Below, one background thread running one job at a time: the
 * TIFF reader's read-ahead and the TIFF writer's flushing of a band.
 */
#include "io_int.h"

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

struct io_par {
	struct tp_pool *pool;       /* NULL: items run at once on the caller */
};

tp_status io_par_new(uint32_t threads, struct io_par **out)
{
	struct io_par *p = tp_calloc(1, sizeof *p);
	tp_status s;
	*out = NULL;
	if (!p)
		return tp_err(TP_ENOMEM, "out of memory for the encoding threads");
	if (threads > 1) {
		struct tp_pool_spec spec = { .threads = threads };
		if ((s = tp_pool_new(&spec, &p->pool)) != TP_OK) {
			tp_free(p);
			return s;
		}
	}
	*out = p;
	return TP_OK;
}

static void par_run(struct tp_pool_item *self, uint32_t worker)
{
	struct io_par_item *it = (struct io_par_item *)((char *)self -
							offsetof(struct io_par_item, pi));
	it->work(it, worker);
}

void io_par_submit(struct io_par *p, struct io_par_item *it)
{
	it->pi.run = par_run;
	it->busy = 1;
	if (!p->pool) {
		it->work(it, 0);
		it->busy = 0;
		return;
	}
	tp_pool_submit(p->pool, &it->pi);
}

void io_par_wait(struct io_par *p, struct io_par_item *it)
{
	while (it->busy) {
		struct tp_pool_item *d = tp_pool_wait(p->pool);
		((struct io_par_item *)((char *)d - offsetof(struct io_par_item, pi)))->busy = 0;
	}
}

uint32_t io_par_workers(const struct io_par *p)
{
	return p ? tp_pool_size(p->pool) : 1;
}

void io_par_free(struct io_par *p)
{
	if (!p)
		return;
	tp_pool_free(p->pool);
	tp_free(p);
}

/* ---- one background thread ---- */

struct io_bg {
	pthread_t tid;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	tp_status (*fn)(void *ctx);   /* the job to run, NULL when none is waiting */
	void *ctx;
	int busy;                     /* started and not yet waited for */
	int done;                     /* the job has returned */
	int quit;
	tp_status status;             /* the job's */
	char msg[512];                /* its tp_err message */
};

static void *bg_main(void *arg)
{
	struct io_bg *b = arg;
	pthread_mutex_lock(&b->mu);
	for (;;) {
		tp_status (*fn)(void *);
		void *ctx;
		tp_status s;
		while (!b->fn && !b->quit)
			pthread_cond_wait(&b->cv, &b->mu);
		if (!b->fn)
			break;
		fn = b->fn;
		ctx = b->ctx;
		b->fn = NULL;
		pthread_mutex_unlock(&b->mu);
		s = fn(ctx);
		pthread_mutex_lock(&b->mu);
		b->status = s;
		if (s != TP_OK)
			snprintf(b->msg, sizeof b->msg, "%s", tp_errmsg());
		b->done = 1;
		pthread_cond_broadcast(&b->cv);
	}
	pthread_mutex_unlock(&b->mu);
	return NULL;
}

tp_status io_bg_new(struct io_bg **out)
{
	struct io_bg *b = tp_calloc(1, sizeof *b);
	pthread_attr_t attr;
	int rc;
	*out = NULL;
	if (!b)
		return tp_err(TP_ENOMEM, "out of memory for a background thread");
	pthread_mutex_init(&b->mu, NULL);
	pthread_cond_init(&b->cv, NULL);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, IO_BG_STACK);
	rc = pthread_create(&b->tid, &attr, bg_main, b);
	pthread_attr_destroy(&attr);
	if (rc) {
		pthread_cond_destroy(&b->cv);
		pthread_mutex_destroy(&b->mu);
		tp_free(b);
		return tp_err(TP_ENOMEM, "cannot start a background thread: %s", strerror(rc));
	}
	*out = b;
	return TP_OK;
}

void io_bg_start(struct io_bg *b, tp_status (*fn)(void *ctx), void *ctx)
{
	pthread_mutex_lock(&b->mu);
	b->fn = fn;
	b->ctx = ctx;
	b->busy = 1;
	b->done = 0;
	b->status = TP_OK;
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);
}

int io_bg_busy(const struct io_bg *b)
{
	return b && b->busy;
}

tp_status io_bg_wait(struct io_bg *b)
{
	tp_status s;
	if (!b || !b->busy)
		return TP_OK;
	pthread_mutex_lock(&b->mu);
	while (!b->done)
		pthread_cond_wait(&b->cv, &b->mu);
	b->busy = 0;
	s = b->status;
	pthread_mutex_unlock(&b->mu);
	return s != TP_OK ? tp_err(s, "%s", b->msg) : TP_OK;
}

void io_bg_free(struct io_bg *b)
{
	if (!b)
		return;
	if (b->busy) {
		pthread_mutex_lock(&b->mu);
		while (!b->done)
			pthread_cond_wait(&b->cv, &b->mu);
		b->busy = 0;
		pthread_mutex_unlock(&b->mu);
	}
	pthread_mutex_lock(&b->mu);
	b->quit = 1;
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);
	pthread_join(b->tid, NULL);
	pthread_cond_destroy(&b->cv);
	pthread_mutex_destroy(&b->mu);
	tp_free(b);
}
