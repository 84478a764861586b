/*
 * pool.c - worker threads that run an engine on tiles. Only the main thread
 * submits, waits, and talks to the store; workers touch nothing but their
 * task and their own engine scratch (made once, in the worker's thread).
 * With one worker (-j 1) there is no thread: a submitted task runs at once
 * in the caller's, whose caches already hold the tile it just cut (a second
 * thread on the other core would fetch it across), and nothing is started.
 */
#include "core.h"

#include <pthread.h>
#include <string.h>

struct tp_pool {
	const struct engine_ops *eng;
	void *state;
	pthread_mutex_t mu;
	pthread_cond_t has_work, has_done, started;
	struct tp_task **todo;     /* FIFO ring, capacity cap */
	struct tp_task **done;     /* FIFO ring, capacity cap */
	size_t cap, todo_head, todo_n, done_head, done_n;
	uint32_t nthreads, nstarted;
	tp_status start_rc;
	char start_err[256];
	int quit;
	pthread_t *threads;
	int inline_run;            /* one worker: tasks run in tp_pool_submit */
	void *inline_scratch;      /* its engine scratch */
};

/* Run one task on `scratch` (rc: how the scratch was made), timing it. */
static void run_task(struct tp_pool *p, void *scratch, tp_status rc, struct tp_task *t)
{
	double t0;
	tp_err_clear();
	t0 = tp_now_ms();
	if (rc != TP_OK)
		t->status = tp_err(rc, "engine worker could not start");
	else
		t->status = p->eng->inpaint(p->state, scratch, &t->tile);
	t->ms = tp_now_ms() - t0;
	if (t->status != TP_OK)
		snprintf(t->error, sizeof t->error, "%s", tp_errmsg());
}

static void *worker_main(void *arg)
{
	struct tp_pool *p = arg;
	void *scratch = NULL;
	tp_status rc = TP_OK;
	if (p->eng->worker_new)
		rc = p->eng->worker_new(p->state, &scratch);
	pthread_mutex_lock(&p->mu);
	if (rc != TP_OK && p->start_rc == TP_OK) {
		p->start_rc = rc;
		snprintf(p->start_err, sizeof p->start_err, "%s", tp_errmsg());
	}
	p->nstarted++;
	pthread_cond_broadcast(&p->started);
	for (;;) {
		struct tp_task *t;
		while (!p->quit && p->todo_n == 0)
			pthread_cond_wait(&p->has_work, &p->mu);
		if (p->quit)
			break;
		t = p->todo[p->todo_head];
		p->todo_head = (p->todo_head + 1) % p->cap;
		p->todo_n--;
		pthread_mutex_unlock(&p->mu);

		run_task(p, scratch, rc, t);

		pthread_mutex_lock(&p->mu);
		p->done[(p->done_head + p->done_n) % p->cap] = t;
		p->done_n++;
		pthread_cond_signal(&p->has_done);
	}
	pthread_mutex_unlock(&p->mu);
	if (p->eng->worker_free)
		p->eng->worker_free(scratch);
	return NULL;
}

tp_status tp_pool_new(const struct engine_ops *eng, void *state, uint32_t n, struct tp_pool **out)
{
	struct tp_pool *p = tp_calloc(1, sizeof *p);
	tp_status rc;
	if (!p)
		return tp_err(TP_ENOMEM, "out of memory starting workers");
	p->eng = eng;
	p->state = state;
	p->cap = 1024;   /* more than the submitter ever keeps in flight */
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->has_work, NULL);
	pthread_cond_init(&p->has_done, NULL);
	pthread_cond_init(&p->started, NULL);
	p->todo = tp_calloc(p->cap, sizeof *p->todo);
	p->done = tp_calloc(p->cap, sizeof *p->done);
	p->threads = tp_calloc(n ? n : 1, sizeof *p->threads);
	if (!p->todo || !p->done || !p->threads) {
		tp_pool_free(p);
		return tp_err(TP_ENOMEM, "out of memory starting workers");
	}
	if (n <= 1) {
		p->inline_run = 1;
		rc = eng->worker_new ? eng->worker_new(state, &p->inline_scratch) : TP_OK;
		if (rc != TP_OK) {
			char msg[256];
			snprintf(msg, sizeof msg, "%s", tp_errmsg());
			tp_pool_free(p);
			return tp_err(rc, "%s", msg);
		}
		*out = p;
		return TP_OK;
	}
	for (uint32_t i = 0; i < n; i++) {
		if (pthread_create(&p->threads[i], NULL, worker_main, p) != 0) {
			tp_pool_free(p);
			return tp_err(TP_ENOMEM, "cannot start worker thread %u", i + 1);
		}
		p->nthreads++;
	}
	pthread_mutex_lock(&p->mu);
	while (p->nstarted < p->nthreads)
		pthread_cond_wait(&p->started, &p->mu);
	rc = p->start_rc;
	pthread_mutex_unlock(&p->mu);
	if (rc != TP_OK) {
		char msg[256];
		snprintf(msg, sizeof msg, "%s", p->start_err);
		tp_pool_free(p);
		return tp_err(rc, "%s", msg);
	}
	*out = p;
	return TP_OK;
}

void tp_pool_free(struct tp_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->quit = 1;
	pthread_cond_broadcast(&p->has_work);
	pthread_mutex_unlock(&p->mu);
	for (uint32_t i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	if (p->inline_scratch && p->eng->worker_free)
		p->eng->worker_free(p->inline_scratch);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->has_work);
	pthread_cond_destroy(&p->has_done);
	pthread_cond_destroy(&p->started);
	tp_free(p->todo);
	tp_free(p->done);
	tp_free(p->threads);
	tp_free(p);
}

void tp_pool_submit(struct tp_pool *p, struct tp_task *t)
{
	if (p->inline_run) {
		run_task(p, p->inline_scratch, TP_OK, t);
		TP_ASSERT(p->done_n < p->cap);
		p->done[(p->done_head + p->done_n) % p->cap] = t;
		p->done_n++;
		return;
	}
	pthread_mutex_lock(&p->mu);
	TP_ASSERT(p->todo_n < p->cap);
	p->todo[(p->todo_head + p->todo_n) % p->cap] = t;
	p->todo_n++;
	pthread_cond_signal(&p->has_work);
	pthread_mutex_unlock(&p->mu);
}

struct tp_task *tp_pool_wait(struct tp_pool *p)
{
	struct tp_task *t;
	pthread_mutex_lock(&p->mu);
	while (p->done_n == 0)
		pthread_cond_wait(&p->has_done, &p->mu);
	t = p->done[p->done_head];
	p->done_head = (p->done_head + 1) % p->cap;
	p->done_n--;
	pthread_mutex_unlock(&p->mu);
	return t;
}
