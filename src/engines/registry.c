/*
 * registry.c - the built-in engines, by name. Above every engine (it names
 * them all), so the engines' shared helpers in engine.c stay below them.
 */
#include "engine.h"

#include <string.h>

const struct engine_ops *const engine_list[] = {
	&engine_patch, &engine_telea, &engine_harmonic, &engine_lama, NULL
};

const struct engine_ops *engine_find(const char *name)
{
	for (size_t i = 0; engine_list[i]; i++)
		if (strcmp(engine_list[i]->name, name) == 0)
			return engine_list[i];
	return NULL;
}
