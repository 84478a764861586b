/*
 * engine.c - the registry of built-in engines and shared option parsing.
 */
#include "engine.h"

#include <errno.h>
#include <stdlib.h>
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

int engine_param_double(const char *params, const char *key, double min, double max, double *val)
{
	size_t klen = strlen(key);
	const char *p = params;
	while (p && *p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len > klen && strncmp(p, key, klen) == 0 && p[klen] == '=') {
			char buf[64];
			size_t vlen = len - klen - 1;
			char *e;
			if (vlen == 0 || vlen >= sizeof buf)
				goto bad;
			memcpy(buf, p + klen + 1, vlen);
			buf[vlen] = '\0';
			errno = 0;
			*val = strtod(buf, &e);
			if (errno || *e || !(*val >= min && *val <= max))
				goto bad;
			return 1;
		}
		p = end ? end + 1 : NULL;
	}
	return 0;
bad:
	tp_err(TP_EUSAGE, "engine parameter '%s' must be a number from %g to %g", key, min, max);
	return -1;
}
