/*
 * io_par.c - encoding work on the program's thread pool, taken back in the
 * order it was given: the PNG writer's deflate chunks and the TIFF writer's
 * strips and tiles are compressed by a few threads while the caller goes on
 * producing rows, and written in file order. What each item computes never
 * depends on which thread ran it or when, so the bytes do not depend on the
 * thread count.
 */
#include "io_int.h"

#include <stddef.h>

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
