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

tp_status engine_guide_params(const char *params, int *on, uint32_t *side)
{
	double g = 1, sd = ENGINE_GUIDE_SIDE;
	if (params && (engine_param_double(params, "guide", 0, 1, &g) < 0 ||
		       engine_param_double(params, "guideside", 64, 2048, &sd) < 0))
		return TP_EUSAGE;
	if (on)
		*on = g >= 0.5;
	if (side)
		*side = (uint32_t)sd;
	return TP_OK;
}
