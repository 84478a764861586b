/*
 * harmonic.c - placeholder until the harmonic engine lands: open() reports that the
 * engine is not in this build.
 */
#include "engine.h"

static tp_status harmonic_open(const struct engine_options *opt, void **state)
{
	(void)opt;
	*state = NULL;
	return tp_err(TP_EUSAGE, "engine 'harmonic' is not available in this build yet");
}

static tp_status harmonic_inpaint(void *state, void *worker, struct engine_tile *tile)
{
	(void)state; (void)worker; (void)tile;
	return tp_err(TP_EINTERNAL, "engine 'harmonic' is not available");
}

const struct engine_ops engine_harmonic = {
	.name = "harmonic", .summary = "(not built yet)", .multiple = 1, .context = 8,
	.default_tile = 512, .open = harmonic_open, .inpaint = harmonic_inpaint,
};
