/*
 * test_core.c - the program's own pieces: tile-result blobs, durations,
 * signatures, discovery rules, the options hash, the worker pool, and the
 * band loop (tp_job_process) driven by a fake engine, including an
 * out-of-memory loop over a whole job, and the guide built for an engine
 * that wants one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "src/blob.h"
#include "src/engine_ctx.h"
#include "src/job.h"
#include "src/sig.h"
#include "src/timing.h"
#include "src/io/raster.h"
#include "src/discover.h"
#include "fixture.h"
#include "fixture_io.h"

/* An image whose samples are a function of (i, y) (i: sample in the row),
 * written through src/io in the format its name says. */
static void write_image(const char *p, uint32_t w, uint32_t h, uint32_t ch, uint32_t bits)
{
	struct io_info info = { w, h, ch, bits, ch == 2 || ch == 4, io_format_from_name(p), 0, IO_SAMPLE_UINT };
	uint8_t *img = malloc((size_t)w * h * ch * (bits / 8));
	assert_non_null(img);
	for (uint32_t y = 0; y < h; y++)
		for (uint32_t i = 0; i < w * ch; i++) {
			uint32_t v = (i * 7 + y * 13) % 251;
			fx_sample_set(img, bits, (size_t)y * w * ch + i, bits == 8 ? v : v * 257 + 3);
		}
	assert_int_equal(fx_write_image(p, &info, img, NULL, NULL), TP_OK);
	free(img);
}

/* A mask (an 8-bit gray PNG, whatever the name) holding [x0, x1) x [y0, y1). */
static void write_mask(const char *p, uint32_t w, uint32_t h, uint32_t x0, uint32_t y0, uint32_t x1, uint32_t y1)
{
	struct io_info info = { w, h, 1, 8, 0, IO_FORMAT_PNG, 0, IO_SAMPLE_UINT };
	uint8_t *m = calloc((size_t)w * h, 1);
	assert_non_null(m);
	fx_mask_rect(m, w, h, (int)x0, (int)y0, (int)x1, (int)y1);
	for (size_t i = 0; i < (size_t)w * h; i++)
		m[i] *= 255;
	assert_int_equal(fx_write_image(p, &info, m, NULL, NULL), TP_OK);
	free(m);
}

/* ---- a fake engine: masked pixels = 0.25 + tile origin parity, counts calls ---- */
static int fake_calls;
static tp_status fake_open(const struct engine_options *o, void **st) { (void)o; *st = NULL; return TP_OK; }
static tp_status fake_inpaint(void *st, void *w, struct engine_tile *t)
{
	(void)st; (void)w;
	__atomic_add_fetch(&fake_calls, 1, __ATOMIC_RELAXED);
	for (uint32_t i = 0; i < t->w * t->h; i++)
		if (t->mask[i])
			for (uint32_t c = 0; c < t->channels; c++)
				t->pix[i * t->channels + c] = 0.25f + 0.5f * (float)((t->x / 16 + t->y / 16) & 1);
	return TP_OK;
}
static const struct engine_ops fake_engine = {
	.name = "fake", .summary = "test", .multiple = 1, .context = 4, .default_tile = 64,
	.open = fake_open, .inpaint = fake_inpaint,
};

/* ---- a fake engine that wants a guide: the whole-image call (the only one
 * not 32 x 32 in these tests) fills its holes with 0.6, tiles given a guide
 * copy it, other tiles fill with 0.25 ---- */
static int guide_calls, guided_calls;
static tp_status fakeg_inpaint(void *st, void *w, struct engine_tile *t)
{
	int whole = t->w != 32 || t->h != 32;
	(void)st; (void)w;
	if (whole)
		__atomic_add_fetch(&guide_calls, 1, __ATOMIC_RELAXED);
	if (t->guide) {
		__atomic_add_fetch(&guided_calls, 1, __ATOMIC_RELAXED);
		if (t->guide_scale < 2)
			return tp_err(TP_EINTERNAL, "guide scale %u", t->guide_scale);
	}
	for (uint32_t i = 0; i < t->w * t->h; i++)
		if (t->mask[i])
			for (uint32_t c = 0; c < t->channels; c++)
				t->pix[i * t->channels + c] = t->guide ? t->guide[i * t->channels + c]
							      : whole ? 0.6f : 0.25f;
	return TP_OK;
}
static const struct engine_ops fakeg_engine = {
	.name = "fakeg", .summary = "test", .multiple = 1, .context = 4, .default_tile = 64,
	.wants_guide = 1, .open = fake_open, .inpaint = fakeg_inpaint,
};

static void test_core_blob_roundtrip(void **state)
{
	float pix[4 * 3] = { 0.0f, 0.5f, 1.0f, 2.0f, -1.0f, 0.123456f, 0.7f, 0.8f, 0.9f, 0.3f, 0.2f, 0.1f };
	float back[4 * 3];
	uint8_t mask[4] = { 1, 0, 1, 1 };
	void *blob = NULL;
	size_t len = 0;
	(void)state;
	assert_int_equal(tp_blob_pack(pix, mask, 2, 2, 3, 0, &blob, &len), TP_OK);
	/* packing quantises in place to exactly what unpacking gives back */
	memset(back, 0, sizeof back);
	assert_int_equal(tp_blob_unpack(blob, len, back, mask, 2, 2, 3, 0), TP_OK);
	for (int i = 0; i < 4; i++)
		for (int c = 0; c < 3; c++)
			if (mask[i])
				assert_true(back[i * 3 + c] == pix[i * 3 + c]);
	assert_true(pix[2] == 1.0f && pix[0] == 0.0f);
	assert_true(pix[6 + 1] == (float)(uint16_t)(0.8f * 65535.0f + 0.5f) / 65535.0f);
	/* unmasked pixels are left alone; a mask that does not match is an error */
	assert_true(pix[3] == 2.0f);
	mask[1] = 1;
	assert_int_equal(tp_blob_unpack(blob, len, back, mask, 2, 2, 3, 0), TP_EFORMAT);
	tp_free(blob);
}

/* Signed and float images keep their tile results as floats: exact, only
 * clamped to [0, 1], and the same after unpacking. */
static void test_core_blob_float(void **state)
{
	float pix[4] = { 0.1234567f, 2.0f, -0.5f, 0.999999f }, back[4];
	uint8_t mask[4] = { 1, 0, 1, 1 };
	void *blob = NULL;
	size_t len = 0;
	(void)state;
	assert_int_equal(tp_blob_pack(pix, mask, 2, 2, 1, 1, &blob, &len), TP_OK);
	assert_true(pix[0] == 0.1234567f && pix[1] == 2.0f && pix[2] == 0.0f && pix[3] == 0.999999f);
	memset(back, 0, sizeof back);
	assert_int_equal(tp_blob_unpack(blob, len, back, mask, 2, 2, 1, 1), TP_OK);
	assert_true(back[0] == pix[0] && back[2] == pix[2] && back[3] == pix[3]);
	/* a 16-bit reading of a float blob does not fit */
	assert_int_equal(tp_blob_unpack(blob, len, back, mask, 2, 2, 1, 0), TP_EFORMAT);
	tp_free(blob);
}

static void test_core_duration(void **state)
{
	(void)state;
	assert_true(tp_parse_duration("90") == 90);
	assert_true(tp_parse_duration("90s") == 90);
	assert_true(tp_parse_duration("9m") == 540);
	assert_true(tp_parse_duration("1h30m") == 5400);
	assert_true(tp_parse_duration("2d") == 172800);
	assert_true(tp_parse_duration("0.5s") == 0.5);
	assert_true(tp_parse_duration("") < 0);
	assert_true(tp_parse_duration("soon") < 0);
	assert_true(tp_parse_duration("5x") < 0);
	assert_true(tp_parse_duration("-5") < 0);
}

static void test_core_file_sig(void **state)
{
	const char *p = fx_path("sig.bin");
	char s1[160], s2[160];
	uint64_t h1, h2;
	FILE *f;
	(void)state;
	f = fopen(p, "wb");
	for (int i = 0; i < 200000; i++)
		fputc(i & 0xff, f);
	fclose(f);
	assert_int_equal(tp_file_sig(p, s1, sizeof s1, &h1), TP_OK);
	sleep(0);
	{	/* touching changes the signature, not the content hash (engine seeds) */
		struct timespec ts[2] = { { 1000, 0 }, { 1000, 0 } };
		utimensat(AT_FDCWD, p, ts, 0);
	}
	assert_int_equal(tp_file_sig(p, s2, sizeof s2, &h2), TP_OK);
	assert_string_not_equal(s1, s2);
	assert_true(h1 == h2);
	/* a changed byte in the tail changes the hash */
	f = fopen(p, "r+b");
	fseek(f, -10, SEEK_END);
	fputc(0x5a, f);
	fclose(f);
	assert_int_equal(tp_file_sig(p, s2, sizeof s2, &h2), TP_OK);
	assert_true(h1 != h2);
	p = fx_path("missing");
	assert_int_equal(tp_file_sig(p, s2, sizeof s2, &h2), TP_ENOENT);
	assert_non_null(strstr(tp_errmsg(), "missing"));
}

static void test_core_discover_masks(void **state)
{
	char *in = fx_path("disc"), *masks = fx_path("discmasks"), p[600];
	struct tp_opts o;
	struct tp_items it;
	char *args[1];
	(void)state;
	mkdir(in, 0777);
	mkdir(masks, 0777);
	snprintf(p, sizeof p, "%s/sub", in);
	mkdir(p, 0777);
	snprintf(p, sizeof p, "%s/sub", masks);
	mkdir(p, 0777);
	snprintf(p, sizeof p, "%s/b.png", in); write_image(p, 8, 8, 3, 8);
	snprintf(p, sizeof p, "%s/a.tif", in); write_image(p, 8, 8, 3, 8);
	snprintf(p, sizeof p, "%s/a_mask.png", in); write_mask(p, 8, 8, 0, 0, 2, 2);
	snprintf(p, sizeof p, "%s/.hidden.png", in); write_image(p, 8, 8, 3, 8);
	snprintf(p, sizeof p, "%s/notes.txt", in); fclose(fopen(p, "w"));
	snprintf(p, sizeof p, "%s/sub/c.jpg", in); write_image(p, 8, 8, 3, 8);
	snprintf(p, sizeof p, "%s/sub/c_mask.tif", masks); write_mask(p, 8, 8, 0, 0, 2, 2);
	snprintf(p, sizeof p, "%s/b.png", masks); write_mask(p, 8, 8, 0, 0, 2, 2);

	/* default: <stem>_mask beside the image; masks are not inputs; no recursion */
	memset(&o, 0, sizeof o);
	o.out_dir = "OUT";
	args[0] = in;
	assert_int_equal(discover(&o, args, 1, &it), TP_OK);
	assert_int_equal(it.n, 2);
	assert_string_equal(it.v[0].rel, "a.tif");
	assert_string_equal(it.v[0].output, "OUT/a.tif");
	assert_non_null(it.v[0].mask);
	assert_null(it.v[0].problem);
	assert_string_equal(it.v[1].rel, "b.png");
	assert_null(it.v[1].mask);
	assert_non_null(strstr(it.v[1].problem, "no mask found"));
	discover_free(&it);

	/* --masks tree, recursive: MDIR/<rel>/<stem>.<ext> or <stem>_mask.<ext> */
	o.masks_dir = masks;
	o.recurse = 1;
	assert_int_equal(discover(&o, args, 1, &it), TP_OK);
	assert_int_equal(it.n, 3);   /* a.tif, b.png, sub/c.jpg: a_mask.png is a mask still */
	assert_string_equal(it.v[2].rel, "sub/c.jpg");
	assert_string_equal(it.v[2].output, "OUT/sub/c.jpg");
	assert_non_null(strstr(it.v[2].mask, "sub/c_mask.tif"));
	assert_non_null(strstr(it.v[1].mask, "discmasks/b.png"));
	assert_non_null(it.v[0].problem);   /* no mask for a.tif in the tree */
	discover_free(&it);

	/* a missing INPUT is an item that fails alone, as missing */
	args[0] = "/nonexistent/input.png";
	assert_int_equal(discover(&o, args, 1, &it), TP_OK);
	assert_int_equal(it.n, 1);
	assert_string_equal(it.v[0].input, "/nonexistent/input.png");
	assert_string_equal(it.v[0].problem, "no such file");
	assert_int_equal(it.v[0].why, TP_ENOENT);
	discover_free(&it);
}

static void test_core_options_hash(void **state)
{
	struct tp_engine_ctx e = { .ops = &fake_engine };
	struct tp_opts a, b;
	(void)state;
	memset(&a, 0, sizeof a);
	a.overlap = UINT32_MAX;
	a.png_level = -1;
	a.threads = 1;
	b = a;
	b.threads = 8;
	b.quiet = 1;
	b.max_time_s = 5;
	/* what does not change the bytes does not change the hash */
	assert_true(tp_options_hash(&e, &a, "") == tp_options_hash(&e, &b, ""));
	b.dilate = 2;
	assert_true(tp_options_hash(&e, &a, "") != tp_options_hash(&e, &b, ""));
	b = a;
	b.tile = 128;
	assert_true(tp_options_hash(&e, &a, "") != tp_options_hash(&e, &b, ""));
	assert_true(tp_options_hash(&e, &a, "m1") != tp_options_hash(&e, &a, "m2"));
	/* the guide's parameters are engine params; an engine with a guide
	 * hashes apart from one without (its bytes changed with the guide) */
	b = a;
	b.engine_params = "guide=0";
	assert_true(tp_options_hash(&e, &a, "") != tp_options_hash(&e, &b, ""));
	{
		struct engine_ops g = fake_engine;
		struct tp_engine_ctx eg = { .ops = &g };
		uint64_t h0 = tp_options_hash(&eg, &a, "");
		g.wants_guide = 1;
		assert_true(tp_options_hash(&eg, &a, "") != h0);
	}
}

/* One job through the band loop with engine ops and params (tile 32, overlap 8). */
static tp_status job_with(const struct engine_ops *ops, const char *params, const char *img,
			  const char *mask, const char *out, uint32_t threads, struct tp_job_result *res)
{
	struct tp_engine_ctx e;
	struct tp_opts o;
	struct tp_job_io io = { .input = img, .mask = mask, .output = out, .content_hash = 1 };
	tp_status rc;
	memset(&e, 0, sizeof e);
	memset(&o, 0, sizeof o);
	e.ops = ops;
	e.threads = threads;
	e.eopt.threads = 1;
	e.eopt.params = params;
	o.engine_params = params;
	o.overlap = 8;
	o.tile = 32;
	o.png_level = -1;
	rc = tp_job_process(&e, &o, &io, 0, res);
	tp_engine_close(&e);
	return rc;
}

/* The fake engine (no guide). */
static tp_status job_once(const char *img, const char *mask, const char *out, uint32_t threads,
			  struct tp_job_result *res)
{
	return job_with(&fake_engine, NULL, img, mask, out, threads, res);
}

static void run_job(const char *img, const char *mask, const char *out, uint32_t threads,
		    struct tp_job_result *res, tp_status want)
{
	assert_int_equal(job_once(img, mask, out, threads, res), want);
}

static void run_job_with(const struct engine_ops *ops, const char *params, const char *img,
			 const char *mask, const char *out, uint32_t threads, struct tp_job_result *res)
{
	assert_int_equal(job_with(ops, params, img, mask, out, threads, res), TP_OK);
}

static void test_core_job_skips_and_composites(void **state)
{
	const char *img = fx_path("job.png"), *mask = fx_path("job_mask.png"), *out = fx_path("job_out.png");
	struct tp_job_result res;
	struct io_info ia, ib;
	uint8_t *a, *b;
	tp_status st;
	(void)state;
	write_image(img, 100, 70, 4, 8);
	write_mask(mask, 100, 70, 40, 30, 50, 36);
	fake_calls = 0;
	run_job(img, mask, out, 2, &res, TP_OK);
	/* stride 24, tiles 32: columns at 0, 24, 48, 68; rows at 0, 24, 38 */
	assert_int_equal(res.tiles, 12);
	assert_int_equal(res.active, (uint64_t)fake_calls);
	assert_int_equal(res.computed, res.active);
	assert_true(res.active < res.tiles);
	a = fx_read_image(img, &ia, &st);
	assert_int_equal(st, TP_OK);
	b = fx_read_image(out, &ib, &st);
	assert_int_equal(st, TP_OK);
	assert_true(ia.width == 100 && ia.height == 70 && ia.channels == 4 && ia.bits == 8);
	assert_true(ib.width == 100 && ib.height == 70 && ib.channels == 4 && ib.bits == 8);
	for (uint32_t y = 0; y < 70; y++) {
		const uint8_t *ra = a + (size_t)y * 100 * 4, *rb = b + (size_t)y * 100 * 4;
		for (uint32_t x = 0; x < 100; x++) {
			int m = x >= 40 && x < 50 && y >= 30 && y < 36;
			if (!m) {
				assert_memory_equal(ra + x * 4, rb + x * 4, 4);
			} else {
				assert_int_equal(rb[x * 4 + 3], ra[x * 4 + 3]);   /* alpha untouched */
				assert_true(rb[x * 4] == 64 || rb[x * 4] == 191 || (rb[x * 4] > 64 && rb[x * 4] < 191));
			}
		}
	}
	free(a);
	free(b);
}

static void test_core_job_threads_identical(void **state)
{
	const char *img = fx_path("thr.tif"), *mask = fx_path("thr_mask.png");
	const char *o1 = fx_path("thr1.tif"), *o2 = fx_path("thr2.tif");
	struct tp_job_result res;
	(void)state;
	write_image(img, 90, 90, 3, 16);
	write_mask(mask, 90, 90, 10, 10, 80, 80);
	run_job(img, mask, o1, 1, &res, TP_OK);
	run_job(img, mask, o2, 3, &res, TP_OK);
	assert_true(fx_files_equal(o1, o2));
}

static void test_core_job_errors(void **state)
{
	const char *img = fx_path("err.png"), *mask = fx_path("err_mask.png"), *out = fx_path("err_out.png");
	struct tp_job_result res;
	struct stat st;
	(void)state;
	write_image(img, 40, 30, 3, 8);
	write_mask(mask, 30, 40, 0, 0, 5, 5);
	run_job(img, mask, out, 1, &res, TP_EFORMAT);
	assert_non_null(strstr(tp_errmsg(), "err.png: the mask"));
	assert_int_not_equal(stat(out, &st), 0);   /* nothing at the output path */
}

/* Sample (x, y, channel 0) of a 16-bit image file. */
static uint16_t sample16(const char *p, uint32_t x, uint32_t y)
{
	struct io_info info;
	tp_status st;
	uint16_t *img = fx_read_image(p, &info, &st), v;
	assert_int_equal(st, TP_OK);
	assert_true(info.bits == 16 && info.channels == 3 && x < info.width && y < info.height);
	v = img[((size_t)y * info.width + x) * 3];
	free(img);
	return v;
}

/* A hole far thicker than a tile's eighth: one whole-image call, and every
 * active tile gets the guide (the holes deep inside become its 0.6); -j 1
 * and -j 3 give the same bytes; guide=0 turns it off; thin holes get none. */
static void test_core_job_guide(void **state)
{
	const char *img = fx_path("gd.tif"), *mask = fx_path("gd_mask.png"), *thin = fx_path("gd_thin.png");
	const char *o1 = fx_path("gd1.tif"), *o2 = fx_path("gd2.tif"), *o3 = fx_path("gd3.tif");
	struct tp_job_result res;
	(void)state;
	write_image(img, 90, 90, 3, 16);
	write_mask(mask, 90, 90, 10, 10, 80, 80);
	guide_calls = guided_calls = 0;
	run_job_with(&fakeg_engine, NULL, img, mask, o1, 1, &res);
	assert_int_equal(guide_calls, 1);
	assert_int_equal(guided_calls, (int)res.active);
	assert_int_equal(res.guide_f, 2);
	assert_int_equal(res.guide_w, 45);
	assert_int_equal(res.guide_h, 45);
	assert_int_equal(res.guide_tiles, res.active);
	assert_true(res.guide_thick >= 30 && res.guide_thick <= 40);   /* 35 */
	assert_true(abs((int)sample16(o1, 45, 45) - 39321) <= 1);   /* 0.6 */
	run_job_with(&fakeg_engine, NULL, img, mask, o2, 3, &res);
	assert_true(fx_files_equal(o1, o2));
	guide_calls = guided_calls = 0;
	run_job_with(&fakeg_engine, "guide=0", img, mask, o3, 2, &res);
	assert_int_equal(guide_calls, 0);
	assert_int_equal(guided_calls, 0);
	assert_int_equal(res.guide_f, 0);
	assert_true(abs((int)sample16(o3, 45, 45) - 16384) <= 1);   /* 0.25 */
	/* a 3-pixel stripe is thin: no guide built */
	write_mask(thin, 90, 90, 0, 40, 90, 43);
	run_job_with(&fakeg_engine, NULL, img, thin, o3, 2, &res);
	assert_int_equal(guide_calls, 0);
	assert_int_equal(res.guide_f, 0);
	assert_int_equal(res.guide_tiles, 0);
	/* a bad guide parameter is a usage error */
	assert_int_equal(job_with(&fakeg_engine, "guide=3", img, mask, o3, 1, &res), TP_EUSAGE);
	assert_non_null(strstr(tp_errmsg(), "guide"));
}

static void test_core_job_oom_loop(void **state)
{
	const char *img = fx_path("oom.png"), *mask = fx_path("oom_mask.png"), *out = fx_path("oom_out.png");
	struct tp_job_result res;
	int ok = 0;
	(void)state;
	write_image(img, 50, 40, 3, 8);
	write_mask(mask, 50, 40, 5, 5, 30, 20);
	for (int g = 0; g < 2; g++) {
		ok = 0;
		for (long n = 0; n < 5000 && !ok; n++) {
			tp_status rc;
			guide_calls = 0;
			tp_alloc_fail_at(n);
			rc = job_with(g ? &fakeg_engine : &fake_engine, NULL, img, mask, out, 2, &res);
			tp_alloc_fail_at(-1);
			if (rc == TP_OK)
				ok = 1;
			else
				assert_int_equal(rc, TP_ENOMEM);
		}
		assert_true(ok);
		if (g)
			assert_int_equal(guide_calls, 1);   /* the guide's allocations were failed too */
	}
}

/* Timed sections nest and each millisecond counts once, in the innermost:
 * the stages of a nested pair add up to no more than the time around them
 * (the old hand-written pairs counted the inner time in both), also when a
 * stage is nested in itself. */
static void spin(double ms)
{
	double t0 = tp_now_ms();
	while (tp_now_ms() - t0 < ms)
		;
}

static void test_core_timed_sections(void **state)
{
	struct tp_timings t;
	double t0, total;
	int x = 0;
	(void)state;
	memset(&t, 0, sizeof t);
	t0 = tp_now_ms();
	TP_TIMED(&t, TP_STAGE_MASK) {
		spin(1);
		TP_TIMED(&t, TP_STAGE_DECODE)
			spin(3);
		TP_TIMED(&t, TP_STAGE_DECODE)
			x++;
	}
	total = tp_now_ms() - t0;
	assert_int_equal(x, 1);
	assert_int_equal(t.count[TP_STAGE_MASK], 1);
	assert_int_equal(t.count[TP_STAGE_DECODE], 2);
	assert_true(t.ms[TP_STAGE_DECODE] >= 3);
	assert_true(t.ms[TP_STAGE_MASK] >= 1);
	assert_true(t.ms[TP_STAGE_MASK] + t.ms[TP_STAGE_DECODE] <= total);
	assert_int_equal(t.depth, 0);

	memset(&t, 0, sizeof t);
	t0 = tp_now_ms();
	TP_TIMED(&t, TP_STAGE_BLEND)
		TP_TIMED(&t, TP_STAGE_BLEND)
			spin(3);
	total = tp_now_ms() - t0;
	assert_int_equal(t.count[TP_STAGE_BLEND], 2);
	assert_true(t.ms[TP_STAGE_BLEND] >= 3 && t.ms[TP_STAGE_BLEND] <= total);
	tp_timings_add(&t, TP_STAGE_INFERENCE, 2.5);
	assert_true(t.ms[TP_STAGE_INFERENCE] == 2.5);
	assert_int_equal(t.count[TP_STAGE_INFERENCE], 1);
	assert_string_equal(tp_stage_name(TP_STAGE_SIGN), "sign");
	assert_string_equal(tp_stage_name(TP_STAGE_COUNT), "unknown");
}

/* Each engine's declared worker_bytes (what --mem-limit plans with) bounds
 * what a worker really allocates, at its high-water mark, for tiles of
 * several sizes, channel counts, masks and with or without a guide. */
static void test_core_engine_worker_bytes(void **state)
{
	static const uint32_t sizes[][2] = { { 64, 64 }, { 300, 140 }, { 512, 512 }, { 333, 517 } };
	(void)state;
	for (size_t e = 0; engine_list[e]; e++) {
		const struct engine_ops *ops = engine_list[e];
		if (ops->needs_model)
			continue;   /* lama: the arena is lama_net_scratch's own figure */
		assert_non_null(ops->worker_bytes);
		for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++)
			for (uint32_t C = 1; C <= 3; C += 2)
				for (int pat = 0; pat < 4; pat++) {
					uint32_t w = sizes[k][0], h = sizes[k][1];
					size_t n = (size_t)w * h, before, peak;
					struct engine_options o = { .threads = 1 };
					float *pix = malloc(n * C * sizeof *pix), *guide = NULL;
					uint8_t *m = malloc(n);
					void *st = NULL, *wk = NULL;
					struct engine_tile t = { .w = w, .h = h, .channels = C, .bits = 8,
								 .pix = pix, .mask = m, .seed = 7 };
					assert_non_null(pix);
					assert_non_null(m);
					for (size_t i = 0; i < n * C; i++)
						pix[i] = (float)((i * 7919) % 1000) / 1000.0f;
					for (size_t i = 0; i < n; i++) {
						uint32_t x = (uint32_t)(i % w), y = (uint32_t)(i / w);
						m[i] = pat == 0 ? i > 0 : pat == 1 ?
						       (x > w / 4 && x < 3 * w / 4 && y > h / 4 && y < 3 * h / 4) :
						       pat == 2 ? (x / 5 + y / 5) % 2 : i % 97 == 0;
					}
					if (pat == 1 && ops->wants_guide) {
						guide = malloc(n * C * sizeof *guide);
						assert_non_null(guide);
						memcpy(guide, pix, n * C * sizeof *guide);
						t.guide = guide;
						t.guide_scale = 4;
					}
					before = tp_alloc_live();
					tp_alloc_peak_reset();
					assert_int_equal(ops->open(&o, &st), TP_OK);
					if (ops->worker_new)
						assert_int_equal(ops->worker_new(st, &wk), TP_OK);
					assert_int_equal(ops->inpaint(st, wk, &t), TP_OK);
					peak = tp_alloc_peak() - before;
					if (peak > ops->worker_bytes(st, w, h, C))
						fail_msg("%s %ux%u C%u mask %d: %zu bytes at peak, %zu declared",
							 ops->name, w, h, C, pat, peak,
							 ops->worker_bytes(st, w, h, C));
					if (ops->worker_free)
						ops->worker_free(wk);
					if (ops->close)
						ops->close(st);
					free(pix);
					free(m);
					free(guide);
				}
	}
}

/* An engine that declares a reach fills a tile's holes to the same bits on
 * the tile cut to their box grown by the reach (what job_band.c hands it). */
static void test_core_engine_reach(void **state)
{
	enum { W = 200, H = 150 };
	static const uint32_t radii[] = { 0, 1, 12 };
	(void)state;
	for (size_t e = 0; engine_list[e]; e++) {
		const struct engine_ops *ops = engine_list[e];
		if (!ops->reach)
			continue;
		for (size_t ri = 0; ri < sizeof radii / sizeof radii[0]; ri++)
			for (uint32_t C = 1; C <= 3; C += 2)
				for (int pat = 0; pat < 3; pat++) {
					struct engine_options o = { .threads = 1, .radius = radii[ri] };
					static float pix[W * H * 3], whole[W * H * 3], cut[W * H * 3];
					static uint8_t m[W * H], cm[W * H];
					int32_t x0 = W, y0 = H, x1 = 0, y1 = 0, r;
					void *st = NULL, *wk = NULL;
					for (size_t i = 0; i < (size_t)W * H * C; i++)
						pix[i] = (float)((i * 7919 + i / 7) % 1000) / 1000.0f;
					for (int32_t y = 0; y < H; y++)
						for (int32_t x = 0; x < W; x++) {
							int in = pat == 0 ? (x - 90) * (x - 90) + (y - 70) * (y - 70) < 81 ||
								 (x >= 120 && x < 124 && y >= 40 && y < 100)
								 : pat == 1 ? (x < 6 && y > 30 && y < 60) || (x == 150 && y == 149)
								 : (x * 13 + y * 7) % 211 == 0 && x > 40 && x < 170;
							m[y * W + x] = (uint8_t)in;
							if (in) {
								x0 = x < x0 ? x : x0;
								y0 = y < y0 ? y : y0;
								x1 = x + 1 > x1 ? x + 1 : x1;
								y1 = y + 1 > y1 ? y + 1 : y1;
							}
						}
					assert_int_equal(ops->open(&o, &st), TP_OK);
					if (ops->worker_new)
						assert_int_equal(ops->worker_new(st, &wk), TP_OK);
					r = (int32_t)ops->reach(st);
					x0 = x0 - r > 0 ? x0 - r : 0;
					y0 = y0 - r > 0 ? y0 - r : 0;
					x1 = x1 + r < W ? x1 + r : W;
					y1 = y1 + r < H ? y1 + r : H;
					memcpy(whole, pix, sizeof(float) * W * H * C);
					struct engine_tile t = { .w = W, .h = H, .channels = C, .bits = 8,
								 .pix = whole, .mask = m, .seed = 7 };
					assert_int_equal(ops->inpaint(st, wk, &t), TP_OK);
					uint32_t cw = (uint32_t)(x1 - x0), ch = (uint32_t)(y1 - y0);
					for (uint32_t y = 0; y < ch; y++) {
						memcpy(cut + (size_t)y * cw * C, pix + ((size_t)(y0 + y) * W + x0) * C,
						       sizeof(float) * cw * C);
						memcpy(cm + (size_t)y * cw, m + (size_t)(y0 + y) * W + x0, cw);
					}
					struct engine_tile tc = { .w = cw, .h = ch, .channels = C, .bits = 8,
								  .pix = cut, .mask = cm, .seed = 7,
								  .x = x0, .y = y0 };
					assert_int_equal(ops->inpaint(st, wk, &tc), TP_OK);
					for (uint32_t y = 0; y < ch; y++)
						for (uint32_t x = 0; x < cw; x++) {
							if (!cm[y * cw + x])
								continue;
							if (memcmp(cut + ((size_t)y * cw + x) * C,
								   whole + ((size_t)(y0 + y) * W + x0 + x) * C,
								   sizeof(float) * C) != 0)
								fail_msg("%s radius %u C%u mask %d: (%u, %u) differs on the cut",
									 ops->name, radii[ri], C, pat, x0 + x, y0 + y);
						}
					if (ops->worker_free)
						ops->worker_free(wk);
					if (ops->close)
						ops->close(st);
				}
	}
}

/* --engine-opt against each engine's declared keys (and the guide's). */
static void test_core_engine_params_check(void **state)
{
	const struct engine_ops *patch = engine_find("patch"), *telea = engine_find("telea");
	const struct engine_ops *lama = engine_find("lama"), *harm = engine_find("harmonic");
	(void)state;
	assert_int_equal(engine_params_check(patch, NULL), TP_OK);
	assert_int_equal(engine_params_check(patch, ""), TP_OK);
	assert_int_equal(engine_params_check(patch, "patch=9,em=2,guide=0,guideside=64"), TP_OK);
	assert_int_equal(engine_params_check(harm, "order=1,direct=0"), TP_OK);
	assert_int_equal(engine_params_check(lama, "trunc8=0,ckpt_lenient=1"), TP_OK);
	assert_int_equal(engine_params_check(telea, "guide=1"), TP_OK);
	assert_int_equal(engine_params_check(telea, "patch=7"), TP_EUSAGE);
	assert_string_equal(tp_errmsg(), "--engine-opt: engine 'telea' has no parameter 'patch' "
			    "(its parameters: guide, guideside)");
	assert_int_equal(engine_params_check(lama, "guide=0"), TP_EUSAGE);
	assert_int_equal(engine_params_check(patch, "patch=8"), TP_EUSAGE);
	assert_non_null(strstr(tp_errmsg(), "'patch' must be an odd whole number from 3 to 15, not '8'"));
	assert_int_equal(engine_params_check(harm, "order=1.5"), TP_EUSAGE);
	assert_non_null(strstr(tp_errmsg(), "'order' must be a whole number"));
	assert_int_equal(engine_params_check(patch, "em=3,,"), TP_EUSAGE);
	assert_string_equal(tp_errmsg(), "--engine-opt: '' is not KEY=VALUE");
	assert_int_equal(engine_params_check(patch, "=3"), TP_EUSAGE);
	assert_int_equal(engine_params_check(patch, "em="), TP_EUSAGE);
	assert_int_equal(engine_params_check(patch, "emc=2,em=99"), TP_EUSAGE);
	assert_non_null(strstr(tp_errmsg(), "'em' must be a number from 1 to 20, not '99'"));
	/* a key that is the start of another is not that other */
	assert_int_equal(engine_params_check(patch, "e=1"), TP_EUSAGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_core_timed_sections),
		cmocka_unit_test(test_core_blob_roundtrip),
		cmocka_unit_test(test_core_blob_float),
		cmocka_unit_test(test_core_duration),
		cmocka_unit_test(test_core_file_sig),
		cmocka_unit_test(test_core_discover_masks),
		cmocka_unit_test(test_core_options_hash),
		cmocka_unit_test(test_core_job_skips_and_composites),
		cmocka_unit_test(test_core_job_threads_identical),
		cmocka_unit_test(test_core_job_errors),
		cmocka_unit_test(test_core_job_guide),
		cmocka_unit_test(test_core_job_oom_loop),
		cmocka_unit_test(test_core_engine_worker_bytes),
		cmocka_unit_test(test_core_engine_params_check),
		cmocka_unit_test(test_core_engine_reach),
	};
	return cmocka_run_group_tests(tests, fx_tmpdir_setup, fx_tmpdir_teardown);
}
