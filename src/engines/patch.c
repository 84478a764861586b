/*
 * patch.c - placeholder until the patch engine lands: open() reports that the
 * engine is not in this build.
 */
#include "engine.h"

static tp_status patch_open(const struct engine_options *opt, void **state)
{
	(void)opt;
	*state = NULL;
	return tp_err(TP_EUSAGE, "engine 'patch' is not available in this build yet");
}

static tp_status patch_inpaint(void *state, void *worker, struct engine_tile *tile)
{
	(void)state; (void)worker; (void)tile;
	return tp_err(TP_EINTERNAL, "engine 'patch' is not available");
}

const struct engine_ops engine_patch = {
	.name = "patch", .summary = "(not built yet)", .multiple = 1, .context = 8,
	.default_tile = 512, .open = patch_open, .inpaint = patch_inpaint,
};
