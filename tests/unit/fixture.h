/*
 * fixture.h - what the unit tests share (tests/unit/fixture.c): temporary
 * directories and paths in them, whole files, the lama golden cases of
 * tests/data, seeded generators, float images with masks (the engines'
 * tiles) and an engine worker run on a thread, buffer comparisons, and the
 * reference sampler and blender the band tests hold tiler/ to. It needs
 * only libc, cmocka and src/util (engines are called through the ops a test
 * passes, never by name), so every
 * unit test links it; what needs the io layer is in fixture_io.h, what needs
 * the store in fixture_store.h (each its own object, linked only by the tests
 * that link that module).
 *
 * Helpers that check something fail the running cmocka test (assert_*);
 * allocations are plain malloc, never tp_malloc, so tp_alloc_fail_at loops
 * fail only the code under test.
 */
#ifndef TP_TEST_FIXTURE_H
#define TP_TEST_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "src/util/tp.h"

struct engine_ops;
struct engine_tile;

/* ---- temporary directories ---- */

/* A new empty directory "$TMPDIR/<program>.XXXXXX" ($TMPDIR unset: /tmp);
 * the path is malloc'd. NULL if it cannot be made. */
char *fx_tmpdir_new(void);
/* Remove dir and everything under it (no symlink followed), then free the
 * string. 0 when all is gone. */
int fx_tmpdir_remove(char *dir);

/* The test's directory, as a cmocka setup and teardown (for a group, or for
 * one test): setup makes a fresh one, teardown removes it with all in it. */
int fx_tmpdir_setup(void **state);
int fx_tmpdir_teardown(void **state);
/* That directory, and "<it>/<name>" (valid until teardown; never freed by
 * the caller). */
const char *fx_tmpdir(void);
char *fx_path(const char *name);

/* ---- files ---- */

/* The whole file, malloc'd with one spare byte; *len its size. NULL when it
 * cannot be opened or read. */
void *fx_read_file(const char *path, size_t *len);
/* Create or replace path with len bytes; must succeed. */
void fx_write_file(const char *path, const void *data, size_t len);
/* 1 when both files can be read and hold the same bytes. */
int fx_files_equal(const char *a, const char *b);
/* The source tree: $TP_TOP (set by scripts/run-tests.sh) or ".". */
const char *fx_top_dir(void);

/* One case of tests/data/lama (listed in cases.txt: name, width, height):
 * the RGB image, its mask (nonzero = hole), PyTorch's composited 8-bit RGB
 * output and its raw float output (planar: c, y, x). */
struct fx_golden {
	char name[32];
	uint32_t w, h;
	uint8_t *img, *mask, *out;
	float *raw;
};
/* Load case i (0, 1, ...): 0 when there is no such case. Each file must be
 * there with its expected size. */
int fx_golden_load(int i, struct fx_golden *g);
void fx_golden_free(struct fx_golden *g);

/* ---- seeded generators ---- */

/* The 32-bit LCG s = s * 1664525 + 1013904223 (Numerical Recipes): the new s. */
uint32_t fx_lcg_next(uint32_t *s);
/* Its next value as a float in [-1, 1): ((s >> 8) & 0xffff) / 32768 - 1. */
float fx_lcg_signed(uint32_t *s);

/* xorshift64* with one process-wide state: seed, then draw. */
void fx_rng_seed(uint64_t seed);
uint32_t fx_rng_u32(void);
uint32_t fx_rng_below(uint32_t n);   /* fx_rng_u32() % n */

/* ---- float images with a mask (what an engine's tile holds) ---- */

/* (h, w, c) floats, row-major, and an (h, w) mask: 1 = hole. */
struct fx_img {
	uint32_t w, h, c;
	float *pix;
	uint8_t *mask;
};

struct fx_img fx_img_new(uint32_t w, uint32_t h, uint32_t c);   /* all zero */
void fx_img_free(struct fx_img *im);                             /* and NULLs the buffers */
struct fx_img fx_img_clone(const struct fx_img *im);             /* pixels and mask */
float *fx_img_copy_pix(const struct fx_img *im);                 /* malloc'd copy of pix */
/* Every channel of every hole pixel := v (7.0f, NAN, ...): a fill that reads
 * the stale hole values shows. */
void fx_img_poison(struct fx_img *im, float v);
/* Add [x0, x1) x [y0, y1), clipped to the image, to the mask. */
void fx_img_rect(struct fx_img *im, int x0, int y0, int x1, int y1);
/* Add the disk (x - cx)^2 + (y - cy)^2 <= r^2, clipped, to the mask. */
void fx_img_disk(struct fx_img *im, int cx, int cy, int r);
/* A texture in [0, 1]: smooth waves plus noise from fx_lcg_next(seed). */
void fx_img_texture(struct fx_img *im, uint32_t seed);

/* The same on bare buffers: a (h, w) mask; npx pixels of c channels. */
void fx_mask_rect(uint8_t *mask, uint32_t w, uint32_t h, int x0, int y0, int x1, int y1);
void fx_mask_disk(uint8_t *mask, uint32_t w, uint32_t h, int cx, int cy, int r);
void fx_poison(float *pix, const uint8_t *mask, size_t npx, uint32_t c, float v);

/* Every hole value of pix is a number inside [lo - tol, hi + tol], where lo
 * and hi are the least and greatest known (unmasked) value of its channel in
 * `known` (the pixels before the fill, or pix itself). */
void fx_assert_in_known_range(const float *known, const float *pix, const uint8_t *mask,
			      size_t npx, uint32_t c, float tol);

/* One worker's pass over one tile, e.g. on a thread: e->worker_new(st),
 * e->inpaint(st, worker, t), e->worker_free; s is the first failure or TP_OK. */
struct fx_job {
	const struct engine_ops *e;
	void *st;                   /* from e->open, shared by the jobs */
	struct engine_tile *t;      /* filled in place */
	tp_status s;
};
void *fx_job_run(void *job);    /* a pthread start routine; returns NULL */

/* ---- comparisons ---- */

/* max |a[i] - b[i]| (the difference taken in float, as a double). */
double fx_max_abs_diff(const float *a, const float *b, size_t n);
int fx_max_abs_diff_u8(const uint8_t *a, const uint8_t *b, size_t n);
/* tp_errmsg() contains needle; otherwise print both and fail the test. */
void fx_assert_errmsg(const char *needle);

/* ---- the reference sampler and blender (an oracle for tiler/) ---- */

/* Sample i of an interleaved 8- or 16-bit buffer. */
uint32_t fx_sample_get(const void *buf, uint32_t bits, size_t i);
void fx_sample_set(void *buf, uint32_t bits, size_t i, uint32_t v);
/* The documented blend weight, in double: along an axis a tile has a
 * smoothstep ramp t^2 (3 - 2t), t = (d + 0.5) / overlap, over the `overlap`
 * pixels next to each inner edge (lo: its low edge, hi: its high edge is
 * inner), 1 elsewhere; a pixel's weight is the product of its two axes'. */
double fx_ref_ramp(uint32_t overlap, uint32_t d);
double fx_ref_axis(uint32_t overlap, uint32_t pos, uint32_t len, int lo, int hi);
/* The documented composite of a hole sample: round(acc / wsum * maxval),
 * clamped to [0, maxval], where acc sums weight x engine value over the
 * tiles covering it and wsum their weights. */
uint32_t fx_ref_sample(float acc, float wsum, float maxval);

#endif
