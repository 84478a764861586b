/*
 * pool.c - the one thread pool (see pool.h): threads taking items from a
 * FIFO ring and putting them, finished, on another. Fork-join is a client of
 * the same queue: tp_pool_run queues one runner per thread that is useful,
 * each pulling task numbers from a shared counter, works on the caller too,
 * and waits for the runners to come back.
 */
#include "pool.h"

#include <pthread.h>
#include <stdatomic.h>

/* The fork-join job in progress, and the items that carry it to threads. */
struct runner {
	struct tp_pool_item item;
	struct tp_pool *p;
};

struct tp_pool {
	struct tp_pool_spec spec;
	pthread_mutex_t mu;
	pthread_cond_t has_work, has_done, started;
	struct tp_pool_item **todo;   /* FIFO ring, capacity cap */
	struct tp_pool_item **done;   /* FIFO ring, capacity cap */
	size_t cap, todo_head, todo_n, done_head, done_n;
	uint32_t nthreads, nstarted;
	tp_status start_rc;
	char start_err[256];
	int quit;
	pthread_t *tids;
	/* fork-join */
	void (*fn)(void *ctx, uint32_t task, uint32_t worker);
	void *ctx;
	uint32_t ntasks;
	atomic_uint next;
	struct runner *runners;       /* nthreads of them */
};

struct thread_arg {
	struct tp_pool *p;
	uint32_t worker;
};

static void push_locked(struct tp_pool_item **ring, size_t cap, size_t head, size_t *n,
			struct tp_pool_item *it)
{
	TP_ASSERT(*n < cap);
	ring[(head + *n) % cap] = it;
	(*n)++;
}

static struct tp_pool_item *pop_locked(struct tp_pool_item **ring, size_t cap, size_t *head,
				       size_t *n)
{
	struct tp_pool_item *it = ring[*head];
	*head = (*head + 1) % cap;
	(*n)--;
	return it;
}

static void *thread_main(void *arg)
{
	struct thread_arg a = *(struct thread_arg *)arg;
	struct tp_pool *p = a.p;
	tp_status rc = TP_OK;
	tp_free(arg);
	if (p->spec.start)
		rc = p->spec.start(p->spec.ctx, a.worker);
	pthread_mutex_lock(&p->mu);
	if (rc != TP_OK && p->start_rc == TP_OK) {
		p->start_rc = rc;
		snprintf(p->start_err, sizeof p->start_err, "%s", tp_errmsg());
	}
	p->nstarted++;
	pthread_cond_broadcast(&p->started);
	for (;;) {
		struct tp_pool_item *it;
		while (!p->quit && p->todo_n == 0)
			pthread_cond_wait(&p->has_work, &p->mu);
		if (p->quit)
			break;
		it = pop_locked(p->todo, p->cap, &p->todo_head, &p->todo_n);
		pthread_mutex_unlock(&p->mu);
		it->run(it, a.worker);
		pthread_mutex_lock(&p->mu);
		push_locked(p->done, p->cap, p->done_head, &p->done_n, it);
		pthread_cond_signal(&p->has_done);
	}
	pthread_mutex_unlock(&p->mu);
	if (p->spec.stop && rc == TP_OK)
		p->spec.stop(p->spec.ctx, a.worker);
	return NULL;
}

/* Start the threads; TP_ENOMEM when one cannot be made. */
TP_MUST_USE static tp_status start_threads(struct tp_pool *p)
{
	for (uint32_t i = 0; i < p->spec.threads; i++) {
		struct thread_arg *a = tp_malloc(sizeof *a);
		if (!a)
			return tp_err(TP_ENOMEM, "out of memory starting threads");
		*a = (struct thread_arg){ p, i + 1 };
		if (pthread_create(&p->tids[i], NULL, thread_main, a) != 0) {
			tp_free(a);
			return tp_err(TP_ENOMEM, "cannot start thread %u of %u", i + 1, p->spec.threads);
		}
		p->nthreads++;
	}
	return TP_OK;
}

tp_status tp_pool_new(const struct tp_pool_spec *spec, struct tp_pool **out)
{
	struct tp_pool *p = tp_calloc(1, sizeof *p);
	tp_status rc;
	*out = NULL;
	if (!p)
		return tp_err(TP_ENOMEM, "out of memory starting threads");
	p->spec = *spec;
	p->cap = 1024 + spec->threads;   /* more than any submitter keeps in flight */
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->has_work, NULL);
	pthread_cond_init(&p->has_done, NULL);
	pthread_cond_init(&p->started, NULL);
	p->todo = tp_calloc(p->cap, sizeof *p->todo);
	p->done = tp_calloc(p->cap, sizeof *p->done);
	p->tids = tp_calloc(spec->threads + 1, sizeof *p->tids);
	p->runners = tp_calloc(spec->threads + 1, sizeof *p->runners);
	if (!p->todo || !p->done || !p->tids || !p->runners) {
		tp_pool_free(p);
		return tp_err(TP_ENOMEM, "out of memory starting threads");
	}
	if (spec->threads == 0) {
		/* the caller is the only worker: its start hook runs here */
		rc = spec->start ? spec->start(spec->ctx, 0) : TP_OK;
		if (rc != TP_OK) {
			p->spec.stop = NULL;
			tp_pool_free(p);
			return rc;
		}
		*out = p;
		return TP_OK;
	}
	rc = start_threads(p);
	pthread_mutex_lock(&p->mu);
	while (p->nstarted < p->nthreads)
		pthread_cond_wait(&p->started, &p->mu);
	if (rc == TP_OK)
		rc = p->start_rc;
	pthread_mutex_unlock(&p->mu);
	if (rc != TP_OK) {
		char msg[256];
		snprintf(msg, sizeof msg, "%s", p->start_rc != TP_OK ? p->start_err : tp_errmsg());
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
		pthread_join(p->tids[i], NULL);
	if (p->spec.threads == 0 && p->spec.stop)
		p->spec.stop(p->spec.ctx, 0);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->has_work);
	pthread_cond_destroy(&p->has_done);
	pthread_cond_destroy(&p->started);
	tp_free(p->todo);
	tp_free(p->done);
	tp_free(p->tids);
	tp_free(p->runners);
	tp_free(p);
}

uint32_t tp_pool_size(const struct tp_pool *p)
{
	return p ? p->nthreads + 1 : 1;
}

void tp_pool_submit(struct tp_pool *p, struct tp_pool_item *it)
{
	if (p->nthreads == 0) {
		it->run(it, 0);
		push_locked(p->done, p->cap, p->done_head, &p->done_n, it);
		return;
	}
	pthread_mutex_lock(&p->mu);
	push_locked(p->todo, p->cap, p->todo_head, &p->todo_n, it);
	pthread_cond_signal(&p->has_work);
	pthread_mutex_unlock(&p->mu);
}

struct tp_pool_item *tp_pool_wait(struct tp_pool *p)
{
	struct tp_pool_item *it;
	pthread_mutex_lock(&p->mu);
	while (p->done_n == 0)
		pthread_cond_wait(&p->has_done, &p->mu);
	it = pop_locked(p->done, p->cap, &p->done_head, &p->done_n);
	pthread_mutex_unlock(&p->mu);
	return it;
}

/* Take task numbers from the shared counter until there are none left. */
static void run_tasks(struct tp_pool *p, uint32_t worker)
{
	for (;;) {
		uint32_t t = atomic_fetch_add(&p->next, 1);
		if (t >= p->ntasks)
			break;
		p->fn(p->ctx, t, worker);
	}
}

static void runner_run(struct tp_pool_item *self, uint32_t worker)
{
	struct runner *r = (struct runner *)self;
	run_tasks(r->p, worker);
}

void tp_pool_run(struct tp_pool *p, uint32_t ntasks,
		 void (*fn)(void *ctx, uint32_t task, uint32_t worker), void *ctx)
{
	uint32_t k;
	if (!ntasks)
		return;
	if (!p || p->nthreads == 0 || ntasks == 1) {
		for (uint32_t t = 0; t < ntasks; t++)
			fn(ctx, t, 0);
		return;
	}
	/* one runner per thread that can get a task (the caller takes one too) */
	k = ntasks - 1 < p->nthreads ? ntasks - 1 : p->nthreads;
	pthread_mutex_lock(&p->mu);
	p->fn = fn;
	p->ctx = ctx;
	p->ntasks = ntasks;
	atomic_store(&p->next, 0);
	for (uint32_t i = 0; i < k; i++) {
		p->runners[i] = (struct runner){ { runner_run }, p };
		push_locked(p->todo, p->cap, p->todo_head, &p->todo_n, &p->runners[i].item);
	}
	pthread_cond_broadcast(&p->has_work);
	pthread_mutex_unlock(&p->mu);
	run_tasks(p, 0);
	pthread_mutex_lock(&p->mu);
	while (p->done_n < k)
		pthread_cond_wait(&p->has_done, &p->mu);
	p->done_head = (p->done_head + k) % p->cap;
	p->done_n -= k;
	pthread_mutex_unlock(&p->mu);
}
