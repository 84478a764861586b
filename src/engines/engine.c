/*
 * engine.c - what the engines share: parsing their --engine-opt parameters,
 * the guide's parameters, and the distance of hole pixels from known ones.
 * (The list of engines is registry.c, above the engines.)
 */
#include "engine.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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

uint32_t engine_hole_distance(uint16_t *d, const uint8_t *mask, uint32_t w, uint32_t h)
{
	const uint32_t cap = 60000;
	uint32_t mx = 0;
	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++) {
			size_t k = (size_t)y * w + x;
			uint32_t v = cap;
			if (!mask[k]) {
				d[k] = 0;
				continue;
			}
			if (x > 0 && d[k - 1] + 1u < v) v = d[k - 1] + 1u;
			if (y > 0 && d[k - w] + 1u < v) v = d[k - w] + 1u;
			d[k] = (uint16_t)v;
		}
	for (uint32_t y = h; y-- > 0;)
		for (uint32_t x = w; x-- > 0;) {
			size_t k = (size_t)y * w + x;
			uint32_t v = d[k];
			if (x + 1 < w && d[k + 1] + 1u < v) v = d[k + 1] + 1u;
			if (y + 1 < h && d[k + w] + 1u < v) v = d[k + w] + 1u;
			d[k] = (uint16_t)v;
			if (v > mx) mx = v;
		}
	return mx;
}

/* The guide's keys, read for every engine with wants_guide. */
static const struct engine_param guide_params[] = {
	{ "guide", 0, 1, ENGINE_PARAM_REAL },
	{ "guideside", 64, 2048, ENGINE_PARAM_REAL },
	{ NULL, 0, 0, 0 }
};

int engine_param_get(const char *params, const struct engine_param *p, double *val)
{
	double v;
	int got = engine_param_double(params, p->key, p->min, p->max, &v);
	if (got <= 0)
		return got;
	if (p->kind != ENGINE_PARAM_REAL && v != (double)(int64_t)v) {
		tp_err(TP_EUSAGE, "engine parameter '%s' must be a whole number from %g to %g",
		       p->key, p->min, p->max);
		return -1;
	}
	if (p->kind == ENGINE_PARAM_ODD && ((int64_t)v & 1) == 0) {
		tp_err(TP_EUSAGE, "engine parameter '%s' must be an odd whole number from %g to %g",
		       p->key, p->min, p->max);
		return -1;
	}
	*val = v;
	return 1;
}

/* The declared key `key` (len bytes) of e, or NULL. */
static const struct engine_param *find_param(const struct engine_ops *e, const char *key, size_t len)
{
	const struct engine_param *lists[2] = { e->params, e->wants_guide ? guide_params : NULL };
	for (int l = 0; l < 2; l++)
		for (const struct engine_param *p = lists[l]; p && p->key; p++)
			if (strlen(p->key) == len && strncmp(p->key, key, len) == 0)
				return p;
	return NULL;
}

tp_status engine_params_check(const struct engine_ops *e, const char *params)
{
	const char *p = params;
	while (p && *p) {
		const char *end = strchr(p, ','), *eq;
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const struct engine_param *d;
		double v;
		eq = memchr(p, '=', len);
		if (!eq || eq == p)
			return tp_err(TP_EUSAGE, "--engine-opt: '%.*s' is not KEY=VALUE", (int)len, p);
		if (!(d = find_param(e, p, (size_t)(eq - p)))) {
			char keys[256] = "";
			const struct engine_param *lists[2] = { e->params,
								e->wants_guide ? guide_params : NULL };
			for (int l = 0; l < 2; l++)
				for (const struct engine_param *q = lists[l]; q && q->key; q++) {
					strncat(keys, keys[0] ? ", " : "", sizeof keys - strlen(keys) - 1);
					strncat(keys, q->key, sizeof keys - strlen(keys) - 1);
				}
			return tp_err(TP_EUSAGE, "--engine-opt: engine '%s' has no parameter '%.*s' (%s%s)",
				      e->name, (int)(eq - p), p, keys[0] ? "its parameters: " : "it takes none",
				      keys);
		}
		/* the value as the engine will read it: the first item with this key */
		if (engine_param_get(p, d, &v) < 0) {
			char why[256];
			snprintf(why, sizeof why, "%s", tp_errmsg());
			return tp_err(TP_EUSAGE, "--engine-opt: %s, not '%.*s'", why,
				      (int)(len - (size_t)(eq - p) - 1), eq + 1);
		}
		p = end ? end + 1 : NULL;
	}
	return TP_OK;
}

tp_status engine_guide_params(const char *params, int *on, uint32_t *side)
{
	double g = 1, sd = ENGINE_GUIDE_SIDE;
	if (params && (engine_param_get(params, &guide_params[0], &g) < 0 ||
		       engine_param_get(params, &guide_params[1], &sd) < 0))
		return TP_EUSAGE;
	if (on)
		*on = g >= 0.5;
	if (side)
		*side = (uint32_t)sd;
	return TP_OK;
}
