/*
 * fixture.c - the helpers every unit test shares (see fixture.h): temporary
 * directories, files, the lama golden cases, seeded generators, float images
 * and masks, an engine job, buffer comparisons, and the reference sampler
 * and blender. Only libc, cmocka and src/util (engine.h for the ops' type):
 * linked into every unit test program.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "src/engines/engine.h"
#include "src/util/tp.h"
#include "fixture.h"

/* ---- temporary directories ---- */

char *fx_tmpdir_new(void)
{
	const char *base = getenv("TMPDIR");
	size_t n;
	char *d;
	if (!base || !*base)
		base = "/tmp";
	n = strlen(base) + strlen(program_invocation_short_name) + 16;
	d = malloc(n);
	if (!d)
		return NULL;
	snprintf(d, n, "%s/%s.XXXXXX", base, program_invocation_short_name);
	if (!mkdtemp(d)) {
		free(d);
		return NULL;
	}
	return d;
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	return remove(p);
}

int fx_tmpdir_remove(char *dir)
{
	int r = 0;
	if (dir)
		r = nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
	return r;
}

static char *cur_dir;     /* the directory of fx_tmpdir_setup */
static char **paths;      /* every fx_path string, freed by the teardown */
static size_t npaths, cap_paths;

int fx_tmpdir_setup(void **state)
{
	(void)state;
	if (cur_dir)
		return -1;   /* one at a time: a group's, or a test's */
	cur_dir = fx_tmpdir_new();
	return cur_dir ? 0 : -1;
}

int fx_tmpdir_teardown(void **state)
{
	int r;
	(void)state;
	r = fx_tmpdir_remove(cur_dir);
	cur_dir = NULL;
	for (size_t i = 0; i < npaths; i++)
		free(paths[i]);
	free(paths);
	paths = NULL;
	npaths = cap_paths = 0;
	return r;
}

const char *fx_tmpdir(void)
{
	assert_non_null(cur_dir);
	return cur_dir;
}

char *fx_path(const char *name)
{
	size_t n;
	char *p;
	assert_non_null(cur_dir);
	if (npaths == cap_paths) {
		size_t c = cap_paths ? 2 * cap_paths : 32;
		char **v = realloc(paths, c * sizeof *v);
		assert_non_null(v);
		paths = v;
		cap_paths = c;
	}
	n = strlen(cur_dir) + strlen(name) + 2;
	p = malloc(n);
	assert_non_null(p);
	snprintf(p, n, "%s/%s", cur_dir, name);
	paths[npaths++] = p;
	return p;
}

/* ---- files ---- */

void *fx_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	void *p;
	long n;
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	p = malloc((size_t)n + 1);
	if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
		free(p);
		p = NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return p;
}

void fx_write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		print_error("%s: %s\n", path, strerror(errno));
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

int fx_files_equal(const char *a, const char *b)
{
	size_t na, nb;
	void *pa = fx_read_file(a, &na), *pb = fx_read_file(b, &nb);
	int same = pa && pb && na == nb && memcmp(pa, pb, na) == 0;
	free(pa);
	free(pb);
	return same;
}

const char *fx_top_dir(void)
{
	const char *t = getenv("TP_TOP");
	return t ? t : ".";
}

/* tests/data/lama/<name><ext> of exactly `want` bytes. */
static void *golden_file(const char *name, const char *ext, size_t want)
{
	char path[512];
	size_t len = 0;
	void *p;
	snprintf(path, sizeof path, "%s/tests/data/lama/%s%s", fx_top_dir(), name, ext);
	p = fx_read_file(path, &len);
	if (!p)
		print_error("cannot read %s\n", path);
	assert_non_null(p);
	assert_int_equal(len, want);
	return p;
}

int fx_golden_load(int i, struct fx_golden *g)
{
	char path[512], line[128];
	FILE *f;
	int found = 0;
	size_t n;
	memset(g, 0, sizeof *g);
	snprintf(path, sizeof path, "%s/tests/data/lama/cases.txt", fx_top_dir());
	f = fopen(path, "r");
	if (!f)
		return 0;
	for (int k = 0; k <= i; k++)
		found = fgets(line, sizeof line, f) != NULL;
	fclose(f);
	if (!found || sscanf(line, "%31s %u %u", g->name, &g->w, &g->h) != 3)
		return 0;
	n = (size_t)g->w * g->h;
	g->img = golden_file(g->name, ".img.rgb", n * 3);
	g->mask = golden_file(g->name, ".mask.u8", n);
	g->out = golden_file(g->name, ".out.rgb", n * 3);
	g->raw = golden_file(g->name, ".raw.f32", n * 3 * sizeof(float));
	return 1;
}

void fx_golden_free(struct fx_golden *g)
{
	free(g->img);
	free(g->mask);
	free(g->out);
	free(g->raw);
	memset(g, 0, sizeof *g);
}

/* ---- seeded generators ---- */

uint32_t fx_lcg_next(uint32_t *s)
{
	*s = *s * 1664525u + 1013904223u;
	return *s;
}

float fx_lcg_signed(uint32_t *s)
{
	return (float)((fx_lcg_next(s) >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static uint64_t rng_state;

void fx_rng_seed(uint64_t seed)
{
	rng_state = seed * 2654435761u + 88172645463325252ull;
}

uint32_t fx_rng_u32(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 2685821657736338717ull) >> 32);
}

uint32_t fx_rng_below(uint32_t n)
{
	return fx_rng_u32() % n;
}

/* ---- float images with a mask ---- */

struct fx_img fx_img_new(uint32_t w, uint32_t h, uint32_t c)
{
	struct fx_img im = { w, h, c, NULL, NULL };
	im.pix = calloc((size_t)w * h * c, sizeof *im.pix);
	im.mask = calloc((size_t)w * h, 1);
	assert_non_null(im.pix);
	assert_non_null(im.mask);
	return im;
}

void fx_img_free(struct fx_img *im)
{
	free(im->pix);
	free(im->mask);
	im->pix = NULL;
	im->mask = NULL;
}

struct fx_img fx_img_clone(const struct fx_img *im)
{
	struct fx_img b = fx_img_new(im->w, im->h, im->c);
	memcpy(b.pix, im->pix, (size_t)im->w * im->h * im->c * sizeof *b.pix);
	memcpy(b.mask, im->mask, (size_t)im->w * im->h);
	return b;
}

float *fx_img_copy_pix(const struct fx_img *im)
{
	size_t n = (size_t)im->w * im->h * im->c;
	float *p = malloc(n * sizeof *p);
	assert_non_null(p);
	memcpy(p, im->pix, n * sizeof *p);
	return p;
}

void fx_poison(float *pix, const uint8_t *mask, size_t npx, uint32_t c, float v)
{
	for (size_t i = 0; i < npx; i++)
		if (mask[i])
			for (uint32_t k = 0; k < c; k++)
				pix[i * c + k] = v;
}

void fx_img_poison(struct fx_img *im, float v)
{
	fx_poison(im->pix, im->mask, (size_t)im->w * im->h, im->c, v);
}

void fx_mask_rect(uint8_t *mask, uint32_t w, uint32_t h, int x0, int y0, int x1, int y1)
{
	for (int y = y0 < 0 ? 0 : y0; y < y1 && y < (int64_t)h; y++)
		for (int x = x0 < 0 ? 0 : x0; x < x1 && x < (int64_t)w; x++)
			mask[(size_t)y * w + (size_t)x] = 1;
}

void fx_mask_disk(uint8_t *mask, uint32_t w, uint32_t h, int cx, int cy, int r)
{
	for (int y = cy - r; y <= cy + r; y++)
		for (int x = cx - r; x <= cx + r; x++)
			if (y >= 0 && x >= 0 && y < (int64_t)h && x < (int64_t)w &&
			    (x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r)
				mask[(size_t)y * w + (size_t)x] = 1;
}

void fx_img_rect(struct fx_img *im, int x0, int y0, int x1, int y1)
{
	fx_mask_rect(im->mask, im->w, im->h, x0, y0, x1, y1);
}

void fx_img_disk(struct fx_img *im, int cx, int cy, int r)
{
	fx_mask_disk(im->mask, im->w, im->h, cx, cy, r);
}

void fx_img_texture(struct fx_img *im, uint32_t seed)
{
	uint32_t s = seed;
	for (uint32_t y = 0; y < im->h; y++)
		for (uint32_t x = 0; x < im->w; x++)
			for (uint32_t c = 0; c < im->c; c++) {
				float n = (float)(fx_lcg_next(&s) >> 8) / 16777216.0f;
				float v = 0.5f + 0.3f * sinf(0.11f * (float)x + 0.7f * (float)c) *
					  cosf(0.07f * (float)y) + 0.15f * (n - 0.5f);
				im->pix[((size_t)y * im->w + x) * im->c + c] = v;
			}
}

void fx_assert_in_known_range(const float *known, const float *pix, const uint8_t *mask,
			      size_t npx, uint32_t c, float tol)
{
	for (uint32_t k = 0; k < c; k++) {
		float lo = INFINITY, hi = -INFINITY;
		for (size_t i = 0; i < npx; i++)
			if (!mask[i]) {
				lo = fminf(lo, known[i * c + k]);
				hi = fmaxf(hi, known[i * c + k]);
			}
		for (size_t i = 0; i < npx; i++)
			if (mask[i]) {
				float v = pix[i * c + k];
				assert_false(isnan(v));
				assert_true(v >= lo - tol && v <= hi + tol);
			}
	}
}

void *fx_job_run(void *job)
{
	struct fx_job *j = job;
	void *wk = NULL;
	j->s = j->e->worker_new(j->st, &wk);
	if (j->s == TP_OK)
		j->s = j->e->inpaint(j->st, wk, j->t);
	j->e->worker_free(wk);
	return NULL;
}

/* ---- comparisons ---- */

double fx_max_abs_diff(const float *a, const float *b, size_t n)
{
	double m = 0;
	for (size_t i = 0; i < n; i++)
		m = fmax(m, fabs(a[i] - b[i]));
	return m;
}

int fx_max_abs_diff_u8(const uint8_t *a, const uint8_t *b, size_t n)
{
	int m = 0;
	for (size_t i = 0; i < n; i++) {
		int d = abs((int)a[i] - (int)b[i]);
		m = d > m ? d : m;
	}
	return m;
}

void fx_assert_errmsg(const char *needle)
{
	if (!strstr(tp_errmsg(), needle)) {
		print_error("message '%s' lacks '%s'\n", tp_errmsg(), needle);
		fail();
	}
}

/* ---- the reference sampler and blender ---- */

uint32_t fx_sample_get(const void *buf, uint32_t bits, size_t i)
{
	return bits == 8 ? ((const uint8_t *)buf)[i] : ((const uint16_t *)buf)[i];
}

void fx_sample_set(void *buf, uint32_t bits, size_t i, uint32_t v)
{
	if (bits == 8)
		((uint8_t *)buf)[i] = (uint8_t)v;
	else
		((uint16_t *)buf)[i] = (uint16_t)v;
}

double fx_ref_ramp(uint32_t overlap, uint32_t d)
{
	double t = (d + 0.5) / overlap;
	return t * t * (3 - 2 * t);
}

double fx_ref_axis(uint32_t overlap, uint32_t pos, uint32_t len, int lo, int hi)
{
	double w = 1;
	if (lo && pos < overlap)
		w *= fx_ref_ramp(overlap, pos);
	if (hi && len - 1 - pos < overlap)
		w *= fx_ref_ramp(overlap, len - 1 - pos);
	return w;
}

uint32_t fx_ref_sample(float acc, float wsum, float maxval)
{
	float f = acc / wsum * maxval + 0.5f;
	if (!(f > 0.0f))
		return 0;
	if (f >= maxval)
		return (uint32_t)maxval;
	return (uint32_t)f;
}
