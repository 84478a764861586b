/*
 * engine.h - the interface every inpainting engine implements, and the
 * registry of built-in engines.
 *
 * Life cycle: open() once per process (the expensive set-up: model load, FFT
 * plans; timed as the model_load stage), then worker_new() once per worker
 * thread (per-thread scratch, sized once: nothing is allocated per tile in the
 * hot path), then inpaint() for each tile from that worker's thread, then
 * worker_free() and close(). The state made by open() is shared read-only by
 * all workers, so inpaint() calls on different workers may run concurrently.
 *
 * Engines are pure: the same tile (pixels, mask, seed) gives the same bytes,
 * whatever thread or order it runs in.
 */
#ifndef ENGINE_H
#define ENGINE_H

#include "../util/tp.h"

/* Options given to open(). Strings are borrowed for the duration of open(). */
struct engine_options {
	const char *model;    /* model file, or NULL */
	uint32_t radius;      /* neighbourhood radius for classical engines (telea); 0 = engine default */
	uint32_t threads;     /* threads an engine may use inside one inpaint() call (BLAS, FFT); >= 1 */
	const char *params;   /* engine-specific "key=value,key=value" string, or NULL */
};

/* One tile handed to inpaint(). */
struct engine_tile {
	uint32_t w, h;        /* tile size, pixels */
	uint32_t channels;    /* colour channels in pix: 1 (gray) or 3 (RGB) */
	uint32_t bits;        /* bit depth of the source samples, 8 or 16 (for engines that quantise) */
	float *pix;           /* (h, w, channels) row-major, values in [0, 1]. In: the known
			       * pixels (masked ones hold stale values an engine must not read).
			       * Out: masked pixels filled; unmasked ones may be left as they are
			       * (they are not used). */
	const uint8_t *mask;  /* (h, w): 1 = fill this pixel, 0 = known */
	int32_t x, y;         /* tile origin in the image (for engines that care, e.g. tie-breaks) */
	uint64_t seed;        /* deterministic per-tile seed (input signature x tile index) */
	const float *guide;   /* (h, w, channels) like pix, or NULL: a coarse fill of the whole
			       * image (its holes inpainted once, globally) resampled over this
			       * tile, for engines with wants_guide, on tiles that touch a hole
			       * too thick for the tile alone. Borrowed for the call. */
	uint32_t guide_scale; /* image pixels per guide pixel along each axis (how much detail
			       * the guide holds), >= 2 when guide is set; 0 otherwise */
};

/* One --engine-opt key an engine reads: its value must be a number in
 * [min, max], and a whole one (an odd one) for ENGINE_PARAM_INT (_ODD). */
enum { ENGINE_PARAM_REAL, ENGINE_PARAM_INT, ENGINE_PARAM_ODD };
struct engine_param {
	const char *key;
	double min, max;
	int kind;
};

struct engine_ops {
	const char *name;     /* "telea", "harmonic", "patch", "lama" */
	const char *summary;  /* one line for --help */
	int needs_model;      /* 1 when --model is required */
	uint32_t multiple;    /* tile sides must be a multiple of this (1 = any) */
	uint32_t context;     /* pixels of known context the engine wants around a hole;
			       * the default overlap is at least this */
	uint32_t default_tile;/* preferred tile side */
	int unsigned_only;    /* 1: takes only 8/16-bit unsigned samples (lama): images of
			       * signed or float samples are refused before any work */
	int inner_threads;    /* 1: inpaint() runs its own threads deterministically (lama); the
			       * pipeline then runs one worker and gives it -j threads, which
			       * costs one activation arena instead of -j of them */
	int wants_guide;      /* 1: when a hole is too thick for one tile, the pipeline first
			       * inpaints a downsampled copy of the whole image with this engine
			       * and hands each tile touching the thick hole that fill as
			       * engine_tile.guide (engine params guide=0 / guideside=N);
			       * 2: the same, but only for tiles with no known pixel at all
			       * (engines that use the guide for nothing else) */
	const struct engine_param *params; /* the keys open() reads, ended by { NULL }; the
			       * guide's (guide, guideside) are added for wants_guide */
	/* Set up shared state (*state may be set to NULL if none). TP_EMODEL / TP_EUSAGE on bad options. */
	TP_MUST_USE tp_status (*open)(const struct engine_options *opt, void **state);
	/* Make per-thread scratch (*worker may be NULL). */
	TP_MUST_USE tp_status (*worker_new)(void *state, void **worker);
	/* Fill the masked pixels of one tile. */
	TP_MUST_USE tp_status (*inpaint)(void *state, void *worker, struct engine_tile *tile);
	void (*worker_free)(void *worker);  /* accepts NULL */
	void (*close)(void *state);         /* accepts NULL */
	/* The most one worker holds, scratch kept between tiles included, once it
	 * has run tiles of up to w x h pixels of `color` channels, however they
	 * are masked (guided or not): what --mem-limit plans with. `state` is
	 * open()'s (engines whose scratch depends on it, lama, need it). Checked
	 * against the allocator's high-water mark by test_core. */
	size_t (*worker_bytes)(const void *state, uint32_t w, uint32_t h, uint32_t color);
	/* Optional: how far known pixels can be from a masked one and still
	 * change a fill, with open()'s options (`state`). Declaring it promises
	 * that inpaint() fills a tile's masked pixels exactly as it fills them
	 * on the tile cut to their bounding box grown by `reach` pixels (and
	 * clipped to the tile): the pipeline then cuts tiles so, and the
	 * engine works on (and the band converts) only the cut. Checked by
	 * test_core and e2e/47-tile-cut. */
	uint32_t (*reach)(const void *state);
};

/* The built-in engines, NULL-terminated, in the order --help lists them. */
extern const struct engine_ops *const engine_list[];
/* Look up by name; NULL if unknown. */
const struct engine_ops *engine_find(const char *name);

/* Individual engines (one file each in src/engines/). */
extern const struct engine_ops engine_telea;
extern const struct engine_ops engine_harmonic;
extern const struct engine_ops engine_patch;
extern const struct engine_ops engine_lama;

/*
 * Helper for engines: find `key` in a "k=v,k=v" params string and parse its
 * value. Returns 1 and sets *val when found, 0 when absent, and -1 (with
 * tp_err TP_EUSAGE) when present but not a number in [min, max].
 */
int engine_param_double(const char *params, const char *key, double min, double max, double *val);

/* engine_param_double for one declared key, with its kind checked too. */
int engine_param_get(const char *params, const struct engine_param *p, double *val);

/*
 * Check a whole "k=v,k=v" string against engine e's declared keys (and the
 * guide's when e wants the guide) before any work: TP_OK, or TP_EUSAGE with
 * a message naming the key (unknown, or its value bad) or the item that is
 * not KEY=VALUE. NULL or "" is fine.
 */
TP_MUST_USE tp_status engine_params_check(const struct engine_ops *e, const char *params);

/*
 * The guide's parameters (engines with wants_guide): guide=0|1 (default 1)
 * and guideside=64..2048 (default ENGINE_GUIDE_SIDE), from a "k=v,..."
 * params string (NULL: the defaults). The pipeline reads them to build the
 * guide; the engines' open() calls this too, so a bad value is reported
 * even when an image is a single tile. Either output may be NULL.
 * TP_EUSAGE (with tp_err) when present but out of range.
 */
#define ENGINE_GUIDE_SIDE 1024
TP_MUST_USE tp_status engine_guide_params(const char *params, int *on, uint32_t *side);

/*
 * City-block distance of every pixel of a (h, w) 0/1 mask to the nearest
 * known (0) pixel, in two passes, written to d (h * w); known pixels get 0,
 * and distances are capped at 60000 (a tile with nothing known gets 60000
 * everywhere). Returns the largest distance: how thick the holes are.
 */
uint32_t engine_hole_distance(uint16_t *d, const uint8_t *mask, uint32_t w, uint32_t h);

#endif
