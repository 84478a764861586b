/*
 * test_lama.c - the lama engine end to end: the reduced generator's
 * composited 8-bit output against the PyTorch reference's (bytes identical
 * after the pipeline's round(v * 255)), raw output within 1e-4 with trunc8=0,
 * gray tiles, bad model files (missing tensor, wrong shape, wrong dtype,
 * unknown tensor, a .ckpt) rejected with TP_EMODEL naming the tensor, and a
 * random model with the full big-lama key set and shapes, generated here,
 * loading and running one 64x64 tile.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "src/engines/engine.h"
#include "src/nn/lama.h"
#include "src/nn/weights.h"
#include "fixture.h"

static char *tiny_path(void)
{
	static char p[512];
	snprintf(p, sizeof p, "%s/tests/data/lama/tiny.safetensors", fx_top_dir());
	return p;
}

/* ---- the golden cases through the engine ---- */

static void run_case(const struct fx_golden *g, void *state, int trunc8)
{
	const uint8_t *img = g->img, *mask = g->mask, *want = g->out;
	const float *raw = g->raw;
	float *pix;
	uint8_t *m01;
	void *worker = NULL;
	struct engine_tile t;
	uint32_t w = g->w, h = g->h;
	size_t n = (size_t)w * h, off = 0, max_off = 0;
	double maxerr = 0;
	pix = malloc(n * 3 * sizeof *pix);
	m01 = malloc(n);
	for (size_t i = 0; i < n; i++) {
		m01[i] = mask[i] > 0;
		for (int c = 0; c < 3; c++)
			/* masked samples hold garbage the engine must not read */
			pix[i * 3 + (size_t)c] = m01[i] ? NAN : img[i * 3 + (size_t)c] / 255.0f;
	}
	t = (struct engine_tile){ .w = w, .h = h, .channels = 3, .bits = 8, .pix = pix,
				  .mask = m01, .seed = 1 };
	assert_int_equal(engine_lama.worker_new(state, &worker), TP_OK);
	assert_int_equal(engine_lama.inpaint(state, worker, &t), TP_OK);
	engine_lama.worker_free(worker);
	for (size_t i = 0; i < n; i++)
		for (int c = 0; c < 3; c++) {
			size_t k = i * 3 + (size_t)c;
			/* the pipeline: unmasked from the source, masked round(v * 255) */
			long v = m01[i] ? lround(pix[k] * 255.0) : img[k];
			long d = labs(v - want[k]);
			if (m01[i]) {
				double e = fabs(pix[k] - raw[(size_t)c * n + i]);
				if (e > maxerr)
					maxerr = e;
			}
			if (d) {
				off++;
				if ((size_t)d > max_off)
					max_off = (size_t)d;
			}
		}
	if (trunc8) {
		print_message("%s %ux%u: %zu of %zu samples differ from PyTorch's 8-bit output "
			      "(max %zu)\n", g->name, w, h, off, n * 3, max_off);
		assert_true(max_off <= 1 && off * 1000 < n * 3);
	} else {
		print_message("%s %ux%u: raw max abs error %.3g\n", g->name, w, h, maxerr);
		assert_true(maxerr <= 1e-4);
	}
	free(pix);
	free(m01);
}

static void golden(int trunc8)
{
	struct engine_options opt = { .model = tiny_path(), .threads = 1,
				      .params = trunc8 ? NULL : "trunc8=0" };
	void *state = NULL;
	struct fx_golden g;
	int cases = 0;
	assert_int_equal(engine_lama.open(&opt, &state), TP_OK);
	while (fx_golden_load(cases, &g)) {
		run_case(&g, state, trunc8);
		fx_golden_free(&g);
		cases++;
	}
	assert_true(cases >= 3);
	engine_lama.close(state);
}

static void test_lama_golden_8bit(void **state)
{
	(void)state;
	golden(1);
}

static void test_lama_golden_raw(void **state)
{
	(void)state;
	golden(0);
}

static void test_lama_gray(void **state)
{
	struct engine_options opt = { .model = tiny_path(), .threads = 1 };
	void *st = NULL, *wk = NULL;
	float pix[20 * 12], copy[20 * 12];
	uint8_t mask[20 * 12] = { 0 };
	struct engine_tile t = { .w = 20, .h = 12, .channels = 1, .bits = 8, .pix = pix, .mask = mask };
	(void)state;
	for (int i = 0; i < 240; i++)
		pix[i] = (float)(i % 17) / 16.0f;
	fx_mask_rect(mask, 20, 12, 5, 3, 11, 8);
	memcpy(copy, pix, sizeof pix);
	assert_int_equal(engine_lama.open(&opt, &st), TP_OK);
	assert_int_equal(engine_lama.worker_new(st, &wk), TP_OK);
	assert_int_equal(engine_lama.inpaint(st, wk, &t), TP_OK);
	for (int i = 0; i < 240; i++) {
		if (!mask[i]) {
			assert_true(pix[i] == copy[i]);
		} else {
			float q = pix[i] * 255.0f;
			assert_true(pix[i] >= 0 && pix[i] <= 1);
			assert_true(fabsf(q - roundf(q)) < 1e-3f);  /* an 8-bit level */
		}
	}
	/* the same tile again gives the same bytes, and allocates nothing */
	memcpy(copy, pix, sizeof pix);
	{
		long before = tp_alloc_count();
		assert_int_equal(engine_lama.inpaint(st, wk, &t), TP_OK);
		assert_int_equal(tp_alloc_count(), before);
	}
	assert_memory_equal(copy, pix, sizeof pix);
	engine_lama.worker_free(wk);
	engine_lama.close(st);
}

/* Odd and tiny tiles (padded to at least 16, symmetric) fill every hole with
 * a value in [0, 1] and leave known pixels alone. */
static void test_lama_odd_sizes(void **state)
{
	static const uint32_t sz[][2] = { { 1, 1 }, { 1, 37 }, { 9, 9 }, { 17, 3 }, { 15, 16 }, { 33, 8 } };
	struct engine_options opt = { .model = tiny_path(), .threads = 2 };
	void *st = NULL, *wk = NULL;
	(void)state;
	assert_int_equal(engine_lama.open(&opt, &st), TP_OK);
	assert_int_equal(engine_lama.worker_new(st, &wk), TP_OK);
	for (size_t k = 0; k < sizeof sz / sizeof sz[0]; k++) {
		uint32_t w = sz[k][0], h = sz[k][1];
		float *pix = malloc((size_t)w * h * 3 * sizeof *pix);
		uint8_t *mask = malloc((size_t)w * h);
		struct engine_tile t = { .w = w, .h = h, .channels = 3, .bits = 8, .pix = pix, .mask = mask };
		for (uint32_t i = 0; i < w * h; i++) {
			mask[i] = i % 3 == 0;
			for (int c = 0; c < 3; c++)
				pix[i * 3 + (uint32_t)c] = mask[i] ? NAN : 0.25f * (float)c;
		}
		assert_int_equal(engine_lama.inpaint(st, wk, &t), TP_OK);
		for (uint32_t i = 0; i < w * h; i++)
			for (int c = 0; c < 3; c++) {
				float v = pix[i * 3 + (uint32_t)c];
				if (mask[i])
					assert_true(v >= 0.0f && v <= 1.0f);
				else
					assert_true(v == 0.25f * (float)c);
			}
		free(pix);
		free(mask);
	}
	{
		/* too large a tile is a usage error, not an abort */
		float px[3] = { 0 };
		uint8_t m[1] = { 1 };
		struct engine_tile t = { .w = 9000, .h = 1, .channels = 3, .bits = 8, .pix = px, .mask = m };
		assert_int_equal(engine_lama.inpaint(st, wk, &t), TP_EUSAGE);
		assert_non_null(strstr(tp_errmsg(), "--tile"));
	}
	engine_lama.worker_free(wk);
	engine_lama.close(st);
}

/* ---- workers in parallel, threads inside a call, allocation failures ---- */

struct par_arg {
	void *state;
	float *pix;
	const uint8_t *mask;
	uint32_t w, h;
	tp_status st;
};

static void *par_run(void *p)
{
	struct par_arg *a = p;
	void *wk = NULL;
	struct engine_tile t = { .w = a->w, .h = a->h, .channels = 3, .bits = 16, .pix = a->pix,
				 .mask = a->mask };
	a->st = engine_lama.worker_new(a->state, &wk);
	if (!a->st)
		for (int i = 0; i < 3 && !a->st; i++)
			a->st = engine_lama.inpaint(a->state, wk, &t);
	engine_lama.worker_free(wk);
	return NULL;
}

static void fill_tile(float *pix, uint8_t *mask, uint32_t w, uint32_t h)
{
	for (uint32_t i = 0; i < w * h; i++) {
		for (int c = 0; c < 3; c++)
			pix[i * 3 + (uint32_t)c] = (float)((i * (3 + (uint32_t)c)) % 97) / 96.0f;
		mask[i] = (i % w) > w / 3 && (i % w) < w / 2 && i / w > h / 4;
	}
}

/* Two workers on two threads, each with 2 compute threads, give the bytes one
 * worker with 1 thread gives (masked pixels are rewritten from the same input
 * each call, so repeating a call is idempotent). */
static void test_lama_parallel_workers(void **state)
{
	enum { W = 72, H = 40 };
	struct engine_options o1 = { .model = tiny_path(), .threads = 1 };
	struct engine_options o2 = { .model = tiny_path(), .threads = 2 };
	void *s1 = NULL, *s2 = NULL;
	static float ref[W * H * 3], p0[W * H * 3], p1[W * H * 3];
	static uint8_t mask[W * H];
	struct par_arg a[2];
	pthread_t th[2];
	(void)state;
	fill_tile(ref, mask, W, H);
	memcpy(p0, ref, sizeof ref);
	memcpy(p1, ref, sizeof ref);
	assert_int_equal(engine_lama.open(&o1, &s1), TP_OK);
	a[0] = (struct par_arg){ s1, ref, mask, W, H, TP_OK };
	par_run(&a[0]);
	assert_int_equal(a[0].st, TP_OK);
	assert_int_equal(engine_lama.open(&o2, &s2), TP_OK);
	a[0] = (struct par_arg){ s2, p0, mask, W, H, TP_OK };
	a[1] = (struct par_arg){ s2, p1, mask, W, H, TP_OK };
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, par_run, &a[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(a[0].st, TP_OK);
	assert_int_equal(a[1].st, TP_OK);
	assert_memory_equal(ref, p0, sizeof ref);
	assert_memory_equal(ref, p1, sizeof ref);
	engine_lama.close(s1);
	engine_lama.close(s2);
}

/* Every allocation failure in open / worker_new / a first larger tile gives
 * TP_ENOMEM and leaks nothing (ASan). */
static void test_lama_oom(void **state)
{
	struct engine_options opt = { .model = tiny_path(), .threads = 2 };
	static float pix[600 * 24 * 3];
	static uint8_t mask[600 * 24];
	struct engine_tile t = { .w = 600, .h = 24, .channels = 3, .bits = 8, .pix = pix, .mask = mask };
	long n;
	(void)state;
	fill_tile(pix, mask, 600, 24);
	for (n = 0;; n++) {
		void *st = NULL, *wk = NULL;
		tp_status s;
		tp_alloc_fail_at(n);
		s = engine_lama.open(&opt, &st);
		if (!s)
			s = engine_lama.worker_new(st, &wk);
		if (!s)
			s = engine_lama.inpaint(st, wk, &t);  /* 600 wide: the arena grows */
		tp_alloc_fail_at(-1);
		engine_lama.worker_free(wk);
		engine_lama.close(st);
		if (s == TP_OK)
			break;
		assert_int_equal(s, TP_ENOMEM);
	}
	assert_true(n > 10);
}

/* ---- writing safetensors files (bad variants, and big-lama at test time) ---- */

struct wentry {
	char name[256];
	char dtype[16];
	uint32_t ndim;
	uint64_t shape[4];
	const void *data;  /* NULL: random/constant data generated by fill() */
	uint64_t nbytes;
};

/* The LCG (fixture.c) behind fill()'s random weights. */
static uint32_t rng = 99;

/* Synthesised values: conv weights uniform +-sqrt(3 / fan_in), BN identity. */
static void fill(const struct wentry *e, uint8_t *dst)
{
	uint64_t count = e->nbytes / 4;
	const char *base = strrchr(e->name, '.');
	if (strcmp(e->dtype, "I64") == 0) {
		memset(dst, 0, e->nbytes);
		return;
	}
	for (uint64_t i = 0; i < count; i++) {
		float v;
		if (e->ndim == 4) {
			uint64_t fan = e->shape[1] * e->shape[2] * e->shape[3];
			v = fx_lcg_signed(&rng) * sqrtf(3.0f / (float)fan);
		} else if (strcmp(base, ".running_var") == 0 || strcmp(base, ".weight") == 0) {
			v = 1.0f;
		} else {
			v = 0.0f;
		}
		memcpy(dst + 4 * i, &v, 4);
	}
}

static void write_model(const char *path, const struct wentry *e, size_t n)
{
	FILE *f = fopen(path, "wb");
	size_t cap = 256 + n * 256, hl = 0;
	char *hdr = malloc(cap);
	uint64_t off = 0;
	uint8_t le[8];
	assert_non_null(f);
	hl += (size_t)snprintf(hdr + hl, cap - hl, "{\"__metadata__\":{\"format\":\"pt\"}");
	for (size_t i = 0; i < n; i++) {
		hl += (size_t)snprintf(hdr + hl, cap - hl, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[",
				       e[i].name, e[i].dtype);
		for (uint32_t d = 0; d < e[i].ndim; d++)
			hl += (size_t)snprintf(hdr + hl, cap - hl, "%s%llu", d ? "," : "",
					       (unsigned long long)e[i].shape[d]);
		hl += (size_t)snprintf(hdr + hl, cap - hl, "],\"data_offsets\":[%llu,%llu]}",
				       (unsigned long long)off, (unsigned long long)(off + e[i].nbytes));
		off += e[i].nbytes;
	}
	hl += (size_t)snprintf(hdr + hl, cap - hl, "}");
	for (int i = 0; i < 8; i++)
		le[i] = (uint8_t)((uint64_t)hl >> (8 * i));
	fwrite(le, 1, 8, f);
	fwrite(hdr, 1, hl, f);
	for (size_t i = 0; i < n; i++) {
		if (e[i].data) {
			fwrite(e[i].data, 1, e[i].nbytes, f);
		} else {
			uint8_t *buf = malloc(e[i].nbytes ? e[i].nbytes : 1);
			fill(&e[i], buf);
			fwrite(buf, 1, e[i].nbytes, f);
			free(buf);
		}
	}
	free(hdr);
	assert_int_equal(fclose(f), 0);
}

/* Copy the tiny model's table into entries (data borrowed from w). */
static struct wentry *entries_of(const struct nn_weights *w)
{
	struct wentry *e = calloc(w->n, sizeof *e);
	for (size_t i = 0; i < w->n; i++) {
		snprintf(e[i].name, sizeof e[i].name, "%s", w->t[i].name);
		snprintf(e[i].dtype, sizeof e[i].dtype, "%s", w->t[i].dtype_name);
		e[i].ndim = w->t[i].ndim;
		memcpy(e[i].shape, w->t[i].shape, sizeof e[i].shape);
		e[i].data = w->t[i].data;
		e[i].nbytes = w->t[i].nbytes;
	}
	return e;
}

static void expect_open_fails(const char *path, const char *needle)
{
	struct engine_options opt = { .model = path, .threads = 1 };
	void *st = (void *)1;
	assert_int_equal(engine_lama.open(&opt, &st), TP_EMODEL);
	assert_null(st);
	fx_assert_errmsg(needle);
	fx_assert_errmsg(path);
}

static void test_lama_bad_models(void **state)
{
	struct nn_weights *w = NULL;
	struct wentry *e;
	const char *path;
	const char *victim = "generator.model.5.conv2.ffc.convg2g.fu.conv_layer.weight";
	size_t vi = 0;
	(void)state;
	assert_int_equal(nn_weights_open(tiny_path(), &w), TP_OK);
	e = entries_of(w);
	for (size_t i = 0; i < w->n; i++)
		if (strcmp(e[i].name, victim) == 0)
			vi = i;
	assert_string_equal(e[vi].name, victim);

	/* missing tensor: drop the victim */
	path = fx_path("missing.safetensors");
	{
		struct wentry keep = e[vi];
		memmove(e + vi, e + vi + 1, (w->n - vi - 1) * sizeof *e);
		write_model(path, e, w->n - 1);
		memmove(e + vi + 1, e + vi, (w->n - vi - 1) * sizeof *e);
		e[vi] = keep;
	}
	expect_open_fails(path, "missing tensor 'generator.model.5.conv2.ffc.convg2g.fu.conv_layer.weight'");

	/* wrong shape: same bytes, transposed-looking shape */
	path = fx_path("shape.safetensors");
	e[vi].shape[2] = 2;
	e[vi].shape[0] /= 2;
	write_model(path, e, w->n);
	expect_open_fails(path, "has shape (24,48,2,1), expected (48,48,1,1)");
	e[vi].shape[2] = 1;
	e[vi].shape[0] *= 2;

	/* wrong dtype: I32 with the same byte count */
	path = fx_path("dtype.safetensors");
	snprintf(e[vi].dtype, sizeof e[vi].dtype, "I32");
	write_model(path, e, w->n);
	expect_open_fails(path, "dtype I32");
	snprintf(e[vi].dtype, sizeof e[vi].dtype, "F32");

	/* an unknown extra tensor */
	path = fx_path("extra.safetensors");
	{
		struct wentry *e2 = calloc(w->n + 1, sizeof *e2);
		memcpy(e2, e, w->n * sizeof *e);
		e2[w->n] = e[vi];
		snprintf(e2[w->n].name, sizeof e2[w->n].name, "generator.model.99.weight");
		write_model(path, e2, w->n + 1);
		free(e2);
	}
	expect_open_fails(path, "unexpected tensor 'generator.model.99.weight'");

	/* truncated copy of the good file */
	path = fx_path("trunc.safetensors");
	write_model(path, e, w->n);
	assert_int_equal(truncate(path, 100000), 0);
	expect_open_fails(path, "truncated");

	/* a PyTorch zip (magic only) */
	path = fx_path("best.ckpt");
	fx_write_file(path, "PK\003\004garbage-garbage", 20);
	expect_open_fails(path, "zip");

	/* a .ckpt with foreign classes: refused, or read with ckpt_lenient=1 (this
	 * one then fails on its missing generator tensors) */
	{
		char fp[512];
		struct engine_options o = { .model = fp, .threads = 1, .params = "ckpt_lenient=1" };
		void *st = NULL;
		snprintf(fp, sizeof fp, "%s/tests/data/lama/foreign.ckpt", fx_top_dir());
		expect_open_fails(fp, "omegaconf.DictConfig");
		assert_int_equal(engine_lama.open(&o, &st), TP_EMODEL);
		assert_non_null(strstr(tp_errmsg(), "missing tensor"));
		o.params = "ckpt_lenient=2";
		assert_int_equal(engine_lama.open(&o, &st), TP_EUSAGE);
	}

	/* no model at all is a usage error */
	{
		struct engine_options opt = { .model = NULL, .threads = 1 };
		void *st = NULL;
		assert_int_equal(engine_lama.open(&opt, &st), TP_EUSAGE);
		assert_non_null(strstr(tp_errmsg(), "--model"));
	}
	free(e);
	nn_weights_close(w);
}

/* big-lama: the 989 official keys and shapes, random weights, one 64x64 tile. */
static void test_lama_big_shapes(void **state)
{
	char path[512], line[512];
	const char *model = fx_path("big-lama.safetensors");
	FILE *f;
	struct wentry *e = calloc(1200, sizeof *e);
	size_t n = 0;
	struct engine_options opt = { .threads = 2 };
	void *st = NULL, *wk = NULL;
	float *pix = malloc(64 * 64 * 3 * sizeof *pix);
	uint8_t mask[64 * 64] = { 0 };
	struct engine_tile t = { .w = 64, .h = 64, .channels = 3, .bits = 16, .pix = pix, .mask = mask };
	(void)state;
	snprintf(path, sizeof path, "%s/tests/data/lama/big-lama.keys.tsv", fx_top_dir());
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof line, f));  /* header */
	while (fgets(line, sizeof line, f)) {
		char key[200], shape[64], dtype[16];
		struct wentry *x = &e[n];
		uint64_t count = 1;
		assert_int_equal(sscanf(line, "%199s %63s %15s", key, shape, dtype), 3);
		snprintf(x->name, sizeof x->name, "%s", key);
		snprintf(x->dtype, sizeof x->dtype, "%s", strcmp(dtype, "int64") == 0 ? "I64" : "F32");
		if (strcmp(shape, "scalar") != 0) {
			char *p = shape;
			while (*p) {
				x->shape[x->ndim] = strtoull(p, &p, 10);
				count *= x->shape[x->ndim++];
				if (*p == ',')
					p++;
			}
		}
		x->nbytes = count * (x->dtype[0] == 'I' ? 8 : 4);
		n++;
	}
	fclose(f);
	assert_int_equal(n, 989);
	write_model(model, e, n);
	opt.model = model;
	assert_int_equal(engine_lama.open(&opt, &st), TP_OK);
	print_message("OpenBLAS core: %s (OPENBLAS_CORETYPE=%s)\n", nn_blas_corename(),
		      getenv("OPENBLAS_CORETYPE") ? getenv("OPENBLAS_CORETYPE") : "unset");
	{
		/* the sizes the architecture derived from the shapes */
		struct lama_net *net = NULL;
		assert_int_equal(lama_net_open(model, &net), TP_OK);
		assert_int_equal(lama_net_config(net)->ngf, 64);
		assert_int_equal(lama_net_config(net)->n_blocks, 18);
		assert_int_equal(lama_net_config(net)->nl, 128);
		assert_int_equal(lama_net_config(net)->ng, 384);
		assert_int_equal(lama_net_config(net)->cs, 192);
		/* SPEC §1: 50,975,875 parameters + 81,304 buffer elements, of which
		 * 152 int64 counters are not float32 */
		assert_int_equal(lama_net_config(net)->params, 50975875 + 81304 - 152);
		lama_net_free(net);
	}
	for (int i = 0; i < 64 * 64 * 3; i++)
		pix[i] = (float)((i * 7) % 251) / 250.0f;
	fx_mask_rect(mask, 64, 64, 10, 20, 50, 40);
	assert_int_equal(engine_lama.worker_new(st, &wk), TP_OK);
	assert_int_equal(engine_lama.inpaint(st, wk, &t), TP_OK);
	for (int i = 0; i < 64 * 64; i++)
		if (mask[i])
			for (int c = 0; c < 3; c++)
				assert_true(pix[i * 3 + c] >= 0.0f && pix[i * 3 + c] <= 1.0f);
	engine_lama.worker_free(wk);
	engine_lama.close(st);
	{
		/* full widths: the same bytes with 1 thread as with 2 */
		float *pix1 = malloc(64 * 64 * 3 * sizeof *pix1);
		struct engine_tile t1 = t;
		for (int i = 0; i < 64 * 64 * 3; i++)
			pix1[i] = (float)((i * 7) % 251) / 250.0f;
		t1.pix = pix1;
		opt.threads = 1;
		st = wk = NULL;
		assert_int_equal(engine_lama.open(&opt, &st), TP_OK);
		assert_int_equal(engine_lama.worker_new(st, &wk), TP_OK);
		assert_int_equal(engine_lama.inpaint(st, wk, &t1), TP_OK);
		assert_memory_equal(pix, pix1, 64 * 64 * 3 * sizeof *pix1);
		engine_lama.worker_free(wk);
		engine_lama.close(st);
		free(pix1);
	}
	unlink(model);
	free(e);
	free(pix);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lama_golden_8bit),
		cmocka_unit_test(test_lama_golden_raw),
		cmocka_unit_test(test_lama_gray),
		cmocka_unit_test(test_lama_odd_sizes),
		cmocka_unit_test(test_lama_parallel_workers),
		cmocka_unit_test(test_lama_oom),
		cmocka_unit_test_setup_teardown(test_lama_bad_models, fx_tmpdir_setup, fx_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_lama_big_shapes, fx_tmpdir_setup, fx_tmpdir_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
