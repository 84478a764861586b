/*
 * weights_common.c - what both model readers (the safetensors one in
 * weights.c, the .ckpt one in ckpt.c) do with the tensor table they filled:
 * sort it by name, refuse a name given twice and byte ranges that overlap.
 * Below both readers; it calls only src/util.
 */
#include "weights.h"

#include <string.h>

static int cmp_name(const void *a, const void *b)
{
	return strcmp(((const struct nn_wtensor *)a)->name, ((const struct nn_wtensor *)b)->name);
}

static int cmp_range(const void *a, const void *b)
{
	const struct nn_wtensor *x = *(const struct nn_wtensor *const *)a;
	const struct nn_wtensor *y = *(const struct nn_wtensor *const *)b;
	if (x->data != y->data)
		return x->data < y->data ? -1 : 1;
	return x->nbytes < y->nbytes ? -1 : x->nbytes > y->nbytes;
}

tp_status nn_weights_finish(struct nn_weights *w)
{
	struct nn_wtensor **by_off;
	tp_status st = TP_OK;
	if (w->n)
		qsort(w->t, w->n, sizeof *w->t, cmp_name);
	for (size_t i = 1; i < w->n; i++)
		if (strcmp(w->t[i - 1].name, w->t[i].name) == 0)
			return tp_err(TP_EMODEL, "%s: tensor '%s' appears twice", w->path, w->t[i].name);
	by_off = tp_malloc((w->n ? w->n : 1) * sizeof *by_off);
	if (!by_off)
		return tp_err(TP_ENOMEM, "%s: out of memory checking byte ranges", w->path);
	for (size_t i = 0; i < w->n; i++)
		by_off[i] = &w->t[i];
	if (w->n)
		qsort(by_off, w->n, sizeof *by_off, cmp_range);
	for (size_t i = 1; i < w->n; i++) {
		const struct nn_wtensor *a = by_off[i - 1], *b = by_off[i];
		if (a->nbytes && b->nbytes && a->data + a->nbytes > b->data) {
			st = tp_err(TP_EMODEL, "%s: the byte ranges of tensors '%s' and '%s' overlap",
				    w->path, a->name, b->name);
			break;
		}
	}
	tp_free(by_off);
	return st;
}
