/*
 * pool.c - a tiny fork-join thread pool: nn_pool_run hands task indices
 * 0..n-1 to the caller and the helper threads. Kernels give every task a
 * fixed, disjoint piece of the output and per-thread scratch only for
 * temporaries, so results never depend on which thread ran which task, nor
 * on the thread count (determinism by construction, not by luck).
 */
#include "nn.h"

#include <pthread.h>
#include <stdatomic.h>

struct nn_pool {
	uint32_t n;                 /* threads including the caller */
	pthread_t *tids;            /* n - 1 helpers */
	pthread_mutex_t mu;
	pthread_cond_t start, done;
	uint64_t gen;               /* bumped for every run */
	int quit;
	/* the current job */
	nn_task_fn fn;
	void *ctx;
	uint32_t ntasks;
	atomic_uint next;           /* next task index to hand out */
	uint32_t busy;              /* helpers still working on this generation */
};

struct helper_arg {
	struct nn_pool *p;
	uint32_t tid;
};

static void work(struct nn_pool *p, uint32_t tid)
{
	for (;;) {
		uint32_t t = atomic_fetch_add(&p->next, 1);
		if (t >= p->ntasks)
			break;
		p->fn(p->ctx, t, tid);
	}
}

static void *helper(void *arg)
{
	struct helper_arg a = *(struct helper_arg *)arg;
	struct nn_pool *p = a.p;
	uint64_t seen = 0;
	tp_free(arg);
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->quit && p->gen == seen)
			pthread_cond_wait(&p->start, &p->mu);
		if (p->quit)
			break;
		seen = p->gen;
		pthread_mutex_unlock(&p->mu);
		work(p, a.tid);
		pthread_mutex_lock(&p->mu);
		if (--p->busy == 0)
			pthread_cond_signal(&p->done);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

tp_status nn_pool_new(uint32_t threads, struct nn_pool **out)
{
	struct nn_pool *p = tp_calloc(1, sizeof *p);
	*out = NULL;
	if (!threads)
		threads = 1;
	if (!p || !(p->tids = tp_calloc(threads, sizeof *p->tids))) {
		tp_free(p);
		return tp_err(TP_ENOMEM, "out of memory for a thread pool");
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->start, NULL);
	pthread_cond_init(&p->done, NULL);
	p->n = 1;
	for (uint32_t i = 1; i < threads; i++) {
		struct helper_arg *a = tp_malloc(sizeof *a);
		if (!a) {
			nn_pool_free(p);
			return tp_err(TP_ENOMEM, "out of memory for a thread pool");
		}
		a->p = p;
		a->tid = i;
		if (pthread_create(&p->tids[i - 1], NULL, helper, a) != 0) {
			tp_free(a);
			nn_pool_free(p);
			return tp_err(TP_ENOMEM, "cannot start a compute thread");
		}
		p->n++;
	}
	*out = p;
	return TP_OK;
}

void nn_pool_free(struct nn_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->quit = 1;
	pthread_cond_broadcast(&p->start);
	pthread_mutex_unlock(&p->mu);
	for (uint32_t i = 1; i < p->n; i++)
		pthread_join(p->tids[i - 1], NULL);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->start);
	pthread_cond_destroy(&p->done);
	tp_free(p->tids);
	tp_free(p);
}

uint32_t nn_pool_threads(const struct nn_pool *p)
{
	return p ? p->n : 1;
}

void nn_pool_run(struct nn_pool *p, uint32_t ntasks, nn_task_fn fn, void *ctx)
{
	if (!ntasks)
		return;
	if (!p || p->n == 1 || ntasks == 1) {
		for (uint32_t t = 0; t < ntasks; t++)
			fn(ctx, t, 0);
		return;
	}
	pthread_mutex_lock(&p->mu);
	p->fn = fn;
	p->ctx = ctx;
	p->ntasks = ntasks;
	atomic_store(&p->next, 0);
	p->busy = p->n - 1;
	p->gen++;
	pthread_cond_broadcast(&p->start);
	pthread_mutex_unlock(&p->mu);
	work(p, 0);
	pthread_mutex_lock(&p->mu);
	while (p->busy)
		pthread_cond_wait(&p->done, &p->mu);
	pthread_mutex_unlock(&p->mu);
}
