/*
 * engine_ctx.c - the engine as a command uses it (see engine_ctx.h).
 */
#include "engine_ctx.h"
#include "timing.h"

#include <string.h>

tp_status tp_engine_select(const struct tp_opts *o, struct tp_engine_ctx *e)
{
	const char *name = o->engine_name ? o->engine_name : o->model ? "lama" : "patch";
	memset(e, 0, sizeof *e);
	e->ops = engine_find(name);
	if (!e->ops) {
		char list[256] = "";
		for (size_t i = 0; engine_list[i]; i++) {
			strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
			strncat(list, engine_list[i]->name, sizeof list - strlen(list) - 1);
		}
		return tp_err(TP_EUSAGE, "unknown engine '%s' (engines: %s)", name, list);
	}
	if (e->ops->needs_model && !o->model)
		return tp_err(TP_EUSAGE, "engine '%s' needs --model FILE", name);
	if (!e->ops->needs_model && o->model)
		return tp_err(TP_EUSAGE, "engine '%s' takes no --model", name);
	if (engine_params_check(e->ops, o->engine_params) != TP_OK)
		return TP_EUSAGE;   /* before any work, --dry-run included */
	e->threads = o->threads;
	e->eopt.model = o->model;
	e->eopt.radius = o->radius;
	e->eopt.params = o->engine_params;
	/* tiles run in parallel across workers with one thread each, unless the
	 * engine parallelises inside a tile itself (same bytes either way) */
	e->eopt.threads = 1;
	if (e->ops->inner_threads) {
		e->eopt.threads = o->threads;
		e->threads = 1;
	}
	return TP_OK;
}

tp_status tp_engine_ensure(struct tp_engine_ctx *e)
{
	struct tp_timings t = { 0 };
	tp_status rc;
	if (e->opened)
		return TP_OK;
	TP_TIMED(&t, TP_STAGE_MODEL_LOAD) {
		rc = e->ops->open(&e->eopt, &e->state);
		if (rc == TP_OK && (rc = tp_workers_new(e->ops, e->state, e->threads,
							&e->workers)) != TP_OK) {
			if (e->ops->close)
				e->ops->close(e->state);
			e->state = NULL;
		}
	}
	if (rc != TP_OK)
		return rc;
	e->load_ms = t.ms[TP_STAGE_MODEL_LOAD];
	e->opened = 1;
	return TP_OK;
}

void tp_engine_close(struct tp_engine_ctx *e)
{
	if (!e->opened)
		return;
	tp_workers_free(e->workers);
	if (e->ops->close)
		e->ops->close(e->state);
	e->workers = NULL;
	e->state = NULL;
	e->opened = 0;
}

uint32_t tp_engine_tile(const struct engine_ops *e, const struct tp_opts *o)
{
	return o->tile ? o->tile : e->default_tile;
}

/* Default: at least the engine's context, telea's radius + 2 when one is
 * given, and 32. */
uint32_t tp_engine_overlap(const struct engine_ops *e, const struct tp_opts *o)
{
	uint32_t v = e->context > 32 ? e->context : 32;
	if (o->overlap != UINT32_MAX)
		return o->overlap;
	if (o->radius + 2 > v)
		v = o->radius + 2;
	return v;
}

uint64_t tp_options_hash(const struct tp_engine_ctx *eng, const struct tp_opts *o,
			 const char *model_sig)
{
	uint64_t h = TP_HASH_INIT;
	const struct engine_ops *e = eng->ops;
	h = tp_hash_str(h, "tilepaint-output-v1");
	h = tp_hash_str(h, e->name);
	if (e->wants_guide)   /* the guide changed these engines' bytes */
		h = tp_hash_str(h, "guide-v1");
	h = tp_hash_str(h, model_sig ? model_sig : "");
	h = tp_hash_str(h, o->engine_params ? o->engine_params : "");
	h = tp_hash_u64(h, tp_engine_tile(e, o));
	h = tp_hash_u64(h, tp_engine_overlap(e, o));
	h = tp_hash_u64(h, o->dilate);
	h = tp_hash_u64(h, o->radius);
	h = tp_hash_u64(h, (uint64_t)(int64_t)o->jpeg_quality);
	h = tp_hash_u64(h, (uint64_t)(int64_t)o->png_level);
	if (o->mem_limit && !o->tile)   /* the limit may choose the tile size */
		h = tp_hash_u64(h, o->mem_limit);
	/* Hashed only when not the default, so a store made before masks had a
	 * threshold is not redone as a whole (0/255 masks give the same bytes). */
	if (o->mask_threshold != OPTS_MASK_THRESHOLD || o->mask_invert) {
		h = tp_hash_str(h, "mask-threshold");
		h = tp_hash_u64(h, o->mask_threshold);
		h = tp_hash_u64(h, (uint64_t)o->mask_invert);
	}
	return h;
}
