/*
 * lama.c - placeholder until the lama engine lands: open() reports that the
 * engine is not in this build.
 */
#include "engine.h"

static tp_status lama_open(const struct engine_options *opt, void **state)
{
	(void)opt;
	*state = NULL;
	return tp_err(TP_EUSAGE, "engine 'lama' is not available in this build yet");
}

static tp_status lama_inpaint(void *state, void *worker, struct engine_tile *tile)
{
	(void)state; (void)worker; (void)tile;
	return tp_err(TP_EINTERNAL, "engine 'lama' is not available");
}

const struct engine_ops engine_lama = {
	.name = "lama", .summary = "(not built yet)", .multiple = 1, .context = 8,
	.default_tile = 512, .open = lama_open, .inpaint = lama_inpaint,
};
