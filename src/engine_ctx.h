/*
 * engine_ctx.h - the engine as a command uses it: chosen from the options,
 * opened on first use (so a batch with nothing to do loads no model), with
 * its tile workers, its tiling defaults and the hash of everything that
 * changes its output bytes.
 */
#ifndef TP_ENGINE_CTX_H
#define TP_ENGINE_CTX_H

#include "engines/engine.h"
#include "options.h"
#include "workers.h"

struct tp_engine_ctx {
	const struct engine_ops *ops;
	struct engine_options eopt;
	void *state;
	struct tp_workers *workers;
	uint32_t threads;          /* tile workers */
	int opened;
	double load_ms;            /* what opening took (the model_load stage) */
};

/* Choose the engine and its options from *o (TP_EUSAGE naming an unknown
 * engine or a missing / unwanted --model). Opens nothing. */
TP_MUST_USE tp_status tp_engine_select(const struct tp_opts *o, struct tp_engine_ctx *e);
/* Open the engine and start its workers, once (load_ms set). */
TP_MUST_USE tp_status tp_engine_ensure(struct tp_engine_ctx *e);
void tp_engine_close(struct tp_engine_ctx *e);

/* The tile side and overlap the options give for this engine. */
uint32_t tp_engine_tile(const struct engine_ops *e, const struct tp_opts *o);
uint32_t tp_engine_overlap(const struct engine_ops *e, const struct tp_opts *o);

/* The options hash: everything that changes the output bytes. */
uint64_t tp_options_hash(const struct tp_engine_ctx *eng, const struct tp_opts *o,
			 const char *model_sig);

#endif
