/*
 * test_store.c - unit tests of the SQLite job store (store/), each in a fresh
 * mkdtemp directory: schema, job sync, claims and leases across two
 * connections, tile plan/results, timings, queries, bad files, and an OOM
 * loop over our own allocations.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"
#include "store/store_int.h"

#include <sqlite3.h>
#include <sys/wait.h>

struct fx {
	char dir[64];
	char db[128];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	if (!f)
		return -1;
	snprintf(f->dir, sizeof f->dir, "/tmp/tp-store.XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->db, sizeof f->db, "%s/t.db", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	DIR *d = opendir(f->dir);
	struct dirent *e;
	char p[512];
	while (d && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof p, "%s/%s", f->dir, e->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(f->dir);
	free(f);
	return 0;
}

static struct store *open_ok(const char *path)
{
	struct store *s = NULL;
	tp_status r = store_open(path, 0, &s);
	if (r != TP_OK)
		fprintf(stderr, "store_open: %s\n", tp_errmsg());
	assert_int_equal(r, TP_OK);
	assert_non_null(s);
	return s;
}

static const struct store_job_spec spec_a = {
	"in/a.tif", "masks/a.png", "out/a.tif", "isig-a", "msig-a", "opt-1"
};

static int64_t add_job(struct store *s, const struct store_job_spec *sp)
{
	struct store_job j;
	assert_int_equal(store_job_sync(s, sp, &j), TP_OK);
	return j.id;
}

/* ---- schema ---- */

static void test_store_schema_create_reopen(void **state)
{
	struct fx *f = *state;
	struct store *s = open_ok(f->db);
	int64_t id = add_job(s, &spec_a);
	assert_int_equal(store_integrity_check(s), TP_OK);
	store_close(s);

	s = open_ok(f->db);
	assert_int_equal(add_job(s, &spec_a), id);
	store_close(s);

	/* readonly open of an existing store works and sees the job */
	assert_int_equal(store_open(f->db, 1, &s), TP_OK);
	struct store_status st;
	assert_int_equal(store_status_get(s, 0, &st), TP_OK);
	assert_int_equal(st.jobs[STORE_JOB_QUEUED], 1);
	/* and cannot write */
	struct store_job j;
	struct store_job_spec sp = spec_a;
	sp.input_sig = "changed";
	assert_int_equal(store_job_sync(s, &sp, &j), TP_EIO);
	assert_non_null(strstr(tp_errmsg(), "readonly"));
	store_close(s);
}

static void test_store_readonly_missing(void **state)
{
	struct fx *f = *state;
	struct store *s = (struct store *)1;
	assert_int_equal(store_open(f->db, 1, &s), TP_ENOENT);
	assert_null(s);
	assert_non_null(strstr(tp_errmsg(), f->db));
	assert_int_equal(access(f->db, F_OK), -1);      /* not created */
}

static void test_store_garbage_file(void **state)
{
	struct fx *f = *state;
	struct store *s = NULL;
	FILE *fp = fopen(f->db, "wb");
	assert_non_null(fp);
	for (int i = 0; i < 4096; i++)
		fputc("not a database "[i % 15], fp);
	fclose(fp);
	assert_int_equal(store_open(f->db, 0, &s), TP_EFORMAT);
	assert_null(s);
	assert_non_null(strstr(tp_errmsg(), "not an SQLite database"));
	assert_int_equal(store_open(f->db, 1, &s), TP_EFORMAT);
	assert_null(s);
}

/* Raw SQL on the file, to craft what the store API cannot (foreign tables,
 * a newer schema). */
static void raw_sql(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void test_store_foreign_db(void **state)
{
	struct fx *f = *state;
	struct store *s = NULL;
	raw_sql(f->db, "CREATE TABLE photos(id INTEGER PRIMARY KEY, name TEXT)");
	assert_int_equal(store_open(f->db, 0, &s), TP_EFORMAT);
	assert_null(s);
	assert_non_null(strstr(tp_errmsg(), "other tables"));
}

static void test_store_newer_schema(void **state)
{
	struct fx *f = *state;
	struct store *s = open_ok(f->db);
	store_close(s);
	raw_sql(f->db, "UPDATE meta SET value = '99' WHERE key = 'schema_version'");
	assert_int_equal(store_open(f->db, 0, &s), TP_EFORMAT);
	assert_null(s);
	assert_non_null(strstr(tp_errmsg(), "newer"));
}

/* ---- jobs ---- */

static void test_store_sync_semantics(void **state)
{
	struct fx *f = *state;
	struct store *s = open_ok(f->db);
	struct store_job j;
	struct store_tile_rec t[2] = { { 0, 0, 64, 64, 0 }, { 64, 0, 64, 64, 1 } };
	uint8_t done[2];
	int got = 0;
	int64_t id = add_job(s, &spec_a);

	assert_int_equal(store_tiles_plan(s, id, t, 2), TP_OK);
	assert_int_equal(store_tile_put(s, id, 0, "abc", 3, 1.5), TP_OK);
	assert_int_equal(store_job_claim(s, id, "p1", 100, 60, NULL, &got, NULL, 0), TP_OK);
	assert_int_equal(got, 1);
	assert_int_equal(store_job_done(s, id, "p1", "osig"), TP_OK);

	/* same spec: stays done */
	assert_int_equal(store_job_sync(s, &spec_a, &j), TP_OK);
	assert_int_equal(j.id, id);
	assert_int_equal(j.state, STORE_JOB_DONE);
	assert_string_equal(j.output_sig, "osig");
	assert_int_equal(j.attempts, 1);

	/* each changed field resets it to queued and drops the tiles */
	const char *which[3] = { "input_sig", "mask_sig", "options_hash" };
	for (int k = 0; k < 3; k++) {
		struct store_job_spec sp = spec_a;
		struct store_status st;
		if (k == 0) sp.input_sig = "isig-b";
		if (k == 1) sp.mask_sig = "msig-b";
		if (k == 2) sp.options_hash = "opt-2";
		/* make it done again with tiles */
		assert_int_equal(store_tiles_plan(s, id, t, 2), TP_OK);
		assert_int_equal(store_status_get(s, 0, &st), TP_OK);
		assert_int_equal(st.tiles[STORE_TILE_PENDING] + st.tiles[STORE_TILE_DONE], 1);
		assert_int_equal(store_job_sync(s, &sp, &j), TP_OK);
		assert_int_equal(j.id, id);
		assert_int_equal(j.state, STORE_JOB_QUEUED);
		assert_string_equal(j.output_sig, "");
		assert_int_equal(store_status_get(s, 0, &st), TP_OK);
		assert_int_equal(st.tiles[STORE_TILE_PENDING] + st.tiles[STORE_TILE_DONE] +
				 st.tiles[STORE_TILE_SKIPPED], 0);
		(void)which;
		assert_int_equal(store_tiles_done_map(s, id, done, 2), TP_OK);
		assert_int_equal(done[0] + done[1], 0);
		/* back to spec_a (a change again), then finish it */
		assert_int_equal(store_job_sync(s, &spec_a, &j), TP_OK);
		assert_int_equal(j.state, STORE_JOB_QUEUED);
		assert_int_equal(store_job_claim(s, id, "p1", 100, 60, NULL, &got, NULL, 0), TP_OK);
		assert_int_equal(store_job_done(s, id, "p1", "osig"), TP_OK);
	}

	/* a failed job keeps its error when the spec is unchanged */
	assert_int_equal(store_job_sync(s, &(struct store_job_spec){ "in/b.tif", NULL,
			 "out/b.tif", "x", NULL, "opt-1" }, &j), TP_OK);
	assert_int_equal(store_job_fail(s, j.id, NULL, "no mask for in/b.tif"), TP_OK);
	assert_int_equal(store_job_sync(s, &(struct store_job_spec){ "in/b.tif", NULL,
			 "out/b.tif", "x", "", "opt-1" }, &j), TP_OK);
	assert_int_equal(j.state, STORE_JOB_FAILED);
	assert_string_equal(j.error, "no mask for in/b.tif");
	store_close(s);
}

static void test_store_claims(void **state)
{
	struct fx *f = *state;
	struct store *a = open_ok(f->db), *b = open_ok(f->db);
	char holder[64];
	int got = -1;
	int64_t id = add_job(a, &spec_a);

	assert_int_equal(store_job_claim(a, id, "host:1", 1000, 60, NULL, &got, holder,
					 sizeof holder), TP_OK);
	assert_int_equal(got, 1);
	/* b cannot take it while the lease lives */
	assert_int_equal(store_job_claim(b, id, "host:2", 1030, 60, NULL, &got, holder,
					 sizeof holder), TP_OK);
	assert_int_equal(got, 0);
	assert_string_equal(holder, "host:1");
	/* renew by a non-holder */
	assert_int_equal(store_job_renew(b, id, "host:2", 1030, 60), TP_EBUSY);
	assert_non_null(strstr(tp_errmsg(), "held by host:1"));
	/* renew by the holder pushes the expiry to 1090 */
	assert_int_equal(store_job_renew(a, id, "host:1", 1030, 60), TP_OK);
	assert_int_equal(store_job_claim(b, id, "host:2", 1070, 60, NULL, &got, NULL, 0), TP_OK);
	assert_int_equal(got, 0);
	/* status at 1070: running; at 1090 (expired): queued */
	struct store_status st;
	assert_int_equal(store_status_get(b, 1070, &st), TP_OK);
	assert_int_equal(st.jobs[STORE_JOB_RUNNING], 1);
	assert_int_equal(st.jobs[STORE_JOB_QUEUED], 0);
	assert_int_equal(store_status_get(b, 1090, &st), TP_OK);
	assert_int_equal(st.jobs[STORE_JOB_RUNNING], 0);
	assert_int_equal(st.jobs[STORE_JOB_QUEUED], 1);
	/* after expiry b takes it; a's renew and done now fail */
	assert_int_equal(store_job_claim(b, id, "host:2", 1090, 60, NULL, &got, NULL, 0), TP_OK);
	assert_int_equal(got, 1);
	assert_int_equal(store_job_renew(a, id, "host:1", 1091, 60), TP_EBUSY);
	assert_int_equal(store_job_done(a, id, "host:1", "x"), TP_EBUSY);
	/* steal_from: a proves host:2 dead and takes over before expiry */
	assert_int_equal(store_job_claim(a, id, "host:3", 1100, 60, "host:9", &got, holder,
					 sizeof holder), TP_OK);
	assert_int_equal(got, 0);
	assert_int_equal(store_job_claim(a, id, "host:3", 1100, 60, "host:2", &got, NULL, 0), TP_OK);
	assert_int_equal(got, 1);
	struct store_job j;
	assert_int_equal(store_job_sync(b, &spec_a, &j), TP_OK);
	assert_int_equal(j.state, STORE_JOB_RUNNING);
	assert_int_equal(j.attempts, 3);
	/* release gives it back; release by a non-holder is TP_EBUSY */
	assert_int_equal(store_job_release(b, id, "host:2"), TP_EBUSY);
	assert_int_equal(store_job_release(a, id, "host:3"), TP_OK);
	assert_int_equal(store_job_sync(b, &spec_a, &j), TP_OK);
	assert_int_equal(j.state, STORE_JOB_QUEUED);
	/* done: nobody can claim it any more, even much later */
	assert_int_equal(store_job_claim(b, id, "host:2", 2000, 60, NULL, &got, NULL, 0), TP_OK);
	assert_int_equal(got, 1);
	assert_int_equal(store_job_done(b, id, "host:2", "osig"), TP_OK);
	assert_int_equal(store_job_claim(a, id, "host:1", 9999, 60, NULL, &got, holder,
					 sizeof holder), TP_OK);
	assert_int_equal(got, 0);
	assert_string_equal(holder, "");
	/* unknown job */
	assert_int_equal(store_job_claim(a, 12345, "host:1", 1, 60, NULL, &got, NULL, 0),
			 TP_EUSAGE);
	/* failing with an owner that does not hold it */
	assert_int_equal(store_job_fail(a, id, "host:1", "boom"), TP_EBUSY);
	store_close(a);
	store_close(b);
}

/* ---- tiles ---- */

static void test_store_tiles_plan_rules(void **state)
{
	struct fx *f = *state;
	struct store *s = open_ok(f->db);
	struct store_tile_rec t[3] = {
		{ 0, 0, 64, 64, 0 }, { 48, 0, 64, 64, 1 }, { 96, 0, 32, 64, 0 }
	};
	uint8_t done[3];
	void *blob = NULL;
	size_t len = 0;
	int64_t id = add_job(s, &spec_a);

	assert_int_equal(store_tiles_plan(s, id, t, 3), TP_OK);
	assert_int_equal(store_tile_put(s, id, 2, "zz", 2, 3.0), TP_OK);
	/* same rectangles: kept with their results */
	assert_int_equal(store_tiles_plan(s, id, t, 3), TP_OK);
	assert_int_equal(store_tiles_done_map(s, id, done, 3), TP_OK);
	assert_memory_equal(done, ((uint8_t[]){ 0, 0, 1 }), 3);
	/* a different rectangle: replaced, results gone */
	t[1].w = 63;
	assert_int_equal(store_tiles_plan(s, id, t, 3), TP_OK);
	assert_int_equal(store_tiles_done_map(s, id, done, 3), TP_OK);
	assert_memory_equal(done, ((uint8_t[]){ 0, 0, 0 }), 3);
	assert_int_equal(store_tile_get(s, id, 2, &blob, &len), TP_ENOENT);
	/* fewer tiles: replaced */
	assert_int_equal(store_tile_put(s, id, 0, "q", 1, 1.0), TP_OK);
	assert_int_equal(store_tiles_plan(s, id, t, 2), TP_OK);
	assert_int_equal(store_tiles_done_map(s, id, done, 2), TP_OK);
	assert_memory_equal(done, ((uint8_t[]){ 0, 0 }), 2);
	/* skipped-ness changed: replaced */
	assert_int_equal(store_tile_put(s, id, 0, "q", 1, 1.0), TP_OK);
	t[1].skipped = 0;
	assert_int_equal(store_tiles_plan(s, id, t, 2), TP_OK);
	assert_int_equal(store_tiles_done_map(s, id, done, 2), TP_OK);
	assert_int_equal(done[0], 0);
	/* status: 2 pending, 0 skipped */
	struct store_status st;
	assert_int_equal(store_status_get(s, 0, &st), TP_OK);
	assert_int_equal(st.tiles[STORE_TILE_PENDING], 2);
	assert_int_equal(st.tiles[STORE_TILE_SKIPPED], 0);
	/* put on a tile that does not exist */
	assert_int_equal(store_tile_put(s, id, 7, "q", 1, 1.0), TP_EUSAGE);
	/* fail a tile */
	assert_int_equal(store_tile_fail(s, id, 1), TP_OK);
	assert_int_equal(store_status_get(s, 0, &st), TP_OK);
	assert_int_equal(st.tiles[STORE_TILE_FAILED], 1);
	/* a plan for an unknown job violates the foreign key */
	assert_int_not_equal(store_tiles_plan(s, 999, t, 2), TP_OK);
	store_close(s);
}

static void test_store_tile_blob_roundtrip(void **state)
{
	struct fx *f = *state;
	struct store *s = open_ok(f->db);
	struct store_tile_rec t[2] = { { 0, 0, 256, 256, 0 }, { 256, 0, 256, 256, 0 } };
	size_t n = 256 * 256 * 3 * 2 + 7, len = 0;
	uint8_t *in = malloc(n);
	void *out = NULL;
	uint32_t x = 12345;
	int64_t id = add_job(s, &spec_a);

	assert_non_null(in);
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		in[i] = (uint8_t)(x >> 16);
	}
	in[0] = 0;      /* embedded NULs must survive */
	assert_int_equal(store_tiles_plan(s, id, t, 2), TP_OK);
	assert_int_equal(store_tile_put(s, id, 1, in, n, 12.25), TP_OK);
	assert_int_equal(store_tile_get(s, id, 1, &out, &len), TP_OK);
	assert_int_equal(len, n);
	assert_memory_equal(out, in, n);
	tp_free(out);
	/* an empty result is a result, not "none" */
	assert_int_equal(store_tile_put(s, id, 0, NULL, 0, 0.5), TP_OK);
	assert_int_equal(store_tile_get(s, id, 0, &out, &len), TP_OK);
	assert_int_equal(len, 0);
	tp_free(out);
	/* overwrite */
	assert_int_equal(store_tile_put(s, id, 1, "xyz", 3, 1.0), TP_OK);
	assert_int_equal(store_tile_get(s, id, 1, &out, &len), TP_OK);
	assert_int_equal(len, 3);
	assert_memory_equal(out, "xyz", 3);
	tp_free(out);
	free(in);
	store_close(s);
}

static void test_store_job_done_drops_blobs(void **state)
{
	struct fx *f = *state;
	struct store *s = open_ok(f->db);
	struct store_tile_rec t[3] = {
		{ 0, 0, 8, 8, 0 }, { 8, 0, 8, 8, 1 }, { 16, 0, 8, 8, 0 }
	};
	uint8_t done[3];
	void *blob = NULL;
	size_t len;
	int got;
	int64_t id = add_job(s, &spec_a);
	struct store_status st;

	assert_int_equal(store_tiles_plan(s, id, t, 3), TP_OK);
	assert_int_equal(store_tile_put(s, id, 0, "aa", 2, 2.0), TP_OK);
	assert_int_equal(store_tile_put(s, id, 2, "bb", 2, 4.0), TP_OK);
	assert_int_equal(store_tiles_done_map(s, id, done, 3), TP_OK);
	assert_memory_equal(done, ((uint8_t[]){ 1, 0, 1 }), 3);
	assert_int_equal(store_job_claim(s, id, "me", 10, 60, NULL, &got, NULL, 0), TP_OK);
	assert_int_equal(store_job_done(s, id, "me", "osig"), TP_OK);
	assert_int_equal(store_tile_get(s, id, 0, &blob, &len), TP_ENOENT);
	assert_int_equal(store_tile_get(s, id, 2, &blob, &len), TP_ENOENT);
	assert_null(blob);
	/* rows and states stay for the report */
	assert_int_equal(store_status_get(s, 0, &st), TP_OK);
	assert_int_equal(st.tiles[STORE_TILE_DONE], 2);
	assert_int_equal(st.tiles[STORE_TILE_SKIPPED], 1);
	assert_int_equal(st.tiles_timed, 2);
	assert_true(st.tile_ms_mean == 3.0);
	assert_int_equal(st.jobs[STORE_JOB_DONE], 1);
	store_close(s);
}

/* ---- timings and queries ---- */

struct stage_seen {
	int n;
	char name[16][32];
	int64_t count[16];
	double ms[16];
};

static int stage_cb(void *ctx, const char *stage, int64_t count, double ms)
{
	struct stage_seen *v = ctx;
	if (v->n < 16) {
		snprintf(v->name[v->n], sizeof v->name[0], "%s", stage);
		v->count[v->n] = count;
		v->ms[v->n] = ms;
		v->n++;
	}
	return 0;
}

static void test_store_timings_and_stages(void **state)
{
	struct fx *f = *state;
	struct store *s = open_ok(f->db);
	int64_t run = 0, id = add_job(s, &spec_a);
	struct stage_seen v;
	static const char *const want[] = {
		"decode", "mask", "plan", "model_load", "inference", "blend", "encode",
		"write", "aaa_other", "zzz"
	};

	assert_int_equal(store_run_begin(s, "tilepaint run x", "host", 42, &run), TP_OK);
	assert_true(run > 0);
	/* added in scrambled order, some twice */
	assert_int_equal(store_timing_add(s, run, id, "zzz", 1, 1.0), TP_OK);
	assert_int_equal(store_timing_add(s, run, id, "write", 1, 2.0), TP_OK);
	assert_int_equal(store_timing_add(s, run, id, "inference", 3, 30.0), TP_OK);
	assert_int_equal(store_timing_add(s, run, id, "inference", 2, 20.5), TP_OK);
	assert_int_equal(store_timing_add(s, run, id, "aaa_other", 1, 1.0), TP_OK);
	assert_int_equal(store_timing_add(s, run, 0, "model_load", 1, 100.0), TP_OK);
	assert_int_equal(store_timing_add(s, run, id, "blend", 1, 1.0), TP_OK);
	assert_int_equal(store_timing_add(s, run, id, "encode", 1, 1.0), TP_OK);
	assert_int_equal(store_timing_add(s, run, id, "plan", 1, 1.0), TP_OK);
	assert_int_equal(store_timing_add(s, run, id, "mask", 1, 1.0), TP_OK);
	assert_int_equal(store_timing_add(s, run, id, "decode", 1, 1.0), TP_OK);
	assert_int_equal(store_timing_add(s, run + 1, id, "decode", 1, 0.5), TP_OK);

	memset(&v, 0, sizeof v);
	assert_int_equal(store_stages_each(s, -1, stage_cb, &v), TP_OK);
	assert_int_equal(v.n, 10);
	for (int i = 0; i < 10; i++)
		assert_string_equal(v.name[i], want[i]);
	assert_int_equal(v.count[4], 5);          /* inference accumulated */
	assert_true(v.ms[4] == 50.5);
	assert_int_equal(v.count[0], 2);          /* decode over two runs */
	assert_true(v.ms[0] == 1.5);
	assert_true(v.ms[3] == 100.0);            /* job-0 stage included */

	/* one job: no model_load */
	memset(&v, 0, sizeof v);
	assert_int_equal(store_stages_each(s, id, stage_cb, &v), TP_OK);
	assert_int_equal(v.n, 9);
	assert_string_equal(v.name[3], "inference");

	struct store_status st;
	assert_int_equal(store_status_get(s, 0, &st), TP_OK);
	assert_int_equal(st.last_run_end, 0);
	assert_int_equal(st.last_run_exit, -1);
	assert_true(st.last_run_start > 0);
	assert_int_equal(store_run_end(s, run, 75), TP_OK);
	assert_int_equal(store_status_get(s, 0, &st), TP_OK);
	assert_int_equal(st.last_run_exit, 75);
	assert_true(st.last_run_end >= st.last_run_start);
	store_close(s);
}

struct job_seen {
	int n, stop_after;
	int64_t id[8];
	char output[8][32];
	int state[8];
	int64_t total[8], skipped[8], done[8];
	double ms[8];
};

static int job_cb(void *ctx, const struct store_job_row *r)
{
	struct job_seen *v = ctx;
	if (v->n < 8) {
		v->id[v->n] = r->id;
		snprintf(v->output[v->n], sizeof v->output[0], "%s", r->output);
		v->state[v->n] = r->state;
		v->total[v->n] = r->tiles_total;
		v->skipped[v->n] = r->tiles_skipped;
		v->done[v->n] = r->tiles_done;
		v->ms[v->n] = r->total_ms;
		v->n++;
	}
	return v->stop_after && v->n >= v->stop_after;
}

static void test_store_status_and_jobs_each(void **state)
{
	struct fx *f = *state;
	struct store *s = open_ok(f->db);
	const char *outs[4] = { "out/z.tif", "out/m.tif", "out/a.tif", "out/q.tif" };
	int64_t ids[4];
	struct store_tile_rec t[3] = {
		{ 0, 0, 8, 8, 0 }, { 8, 0, 8, 8, 1 }, { 16, 0, 8, 8, 0 }
	};
	struct job_seen v;
	struct store_status st;
	int got;

	for (int i = 0; i < 4; i++) {
		struct store_job_spec sp = { "in", NULL, outs[i], "s", "", "o" };
		ids[i] = add_job(s, &sp);
	}
	assert_int_equal(store_tiles_plan(s, ids[1], t, 3), TP_OK);
	assert_int_equal(store_tile_put(s, ids[1], 0, "r", 1, 5.0), TP_OK);
	assert_int_equal(store_timing_add(s, 1, ids[1], "decode", 1, 2.5), TP_OK);
	assert_int_equal(store_timing_add(s, 1, ids[1], "blend", 1, 0.5), TP_OK);
	assert_int_equal(store_job_claim(s, ids[0], "p", 100, 10, NULL, &got, NULL, 0), TP_OK);
	assert_int_equal(store_job_claim(s, ids[2], "p", 100, 10, NULL, &got, NULL, 0), TP_OK);
	assert_int_equal(store_job_done(s, ids[2], "p", "sig"), TP_OK);
	assert_int_equal(store_job_fail(s, ids[3], NULL, "bad"), TP_OK);

	assert_int_equal(store_status_get(s, 105, &st), TP_OK);
	assert_int_equal(st.jobs[STORE_JOB_QUEUED], 1);
	assert_int_equal(st.jobs[STORE_JOB_RUNNING], 1);
	assert_int_equal(st.jobs[STORE_JOB_DONE], 1);
	assert_int_equal(st.jobs[STORE_JOB_FAILED], 1);
	assert_int_equal(st.tiles[STORE_TILE_PENDING], 1);
	assert_int_equal(st.tiles[STORE_TILE_DONE], 1);
	assert_int_equal(st.tiles[STORE_TILE_SKIPPED], 1);
	assert_int_equal(st.tiles_timed, 1);
	assert_true(st.tile_ms_mean == 5.0);
	assert_int_equal(st.last_run_exit, -1);
	assert_int_equal(st.last_run_start, 0);

	memset(&v, 0, sizeof v);
	assert_int_equal(store_jobs_each(s, job_cb, &v), TP_OK);
	assert_int_equal(v.n, 4);
	for (int i = 0; i < 4; i++) {       /* discovery (id) order */
		assert_int_equal(v.id[i], ids[i]);
		assert_string_equal(v.output[i], outs[i]);
	}
	assert_int_equal(v.state[0], STORE_JOB_RUNNING);
	assert_int_equal(v.state[3], STORE_JOB_FAILED);
	assert_int_equal(v.total[1], 3);
	assert_int_equal(v.skipped[1], 1);
	assert_int_equal(v.done[1], 1);
	assert_true(v.ms[1] == 3.0);
	assert_int_equal(v.total[0], 0);
	assert_true(v.ms[0] == 0.0);

	memset(&v, 0, sizeof v);
	v.stop_after = 2;
	assert_int_equal(store_jobs_each(s, job_cb, &v), TP_OK);
	assert_int_equal(v.n, 2);
	/* the cached statement was reset: a write works right after */
	assert_int_equal(store_job_release(s, ids[0], "p"), TP_OK);
	store_close(s);
}

/* ---- locking and concurrency ---- */

static void test_store_busy_is_ebusy(void **state)
{
	struct fx *f = *state;
	struct store *s = open_ok(f->db);
	struct store_tile_rec t[1] = { { 0, 0, 8, 8, 0 } };
	sqlite3 *other = NULL;
	int got = -1;
	int64_t id = add_job(s, &spec_a);

	assert_int_equal(store_tiles_plan(s, id, t, 1), TP_OK);
	/* another process holds the write lock and does not let go */
	assert_int_equal(sqlite3_open(f->db, &other), SQLITE_OK);
	assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	store_busy_timeout_set(s, 50);
	assert_int_equal(store_job_claim(s, id, "me", 10, 60, NULL, &got, NULL, 0), TP_EBUSY);
	assert_int_equal(got, 0);
	assert_non_null(strstr(tp_errmsg(), "locked by another process"));
	assert_non_null(strstr(tp_errmsg(), f->db));
	assert_int_equal(store_tile_put(s, id, 0, "x", 1, 1.0), TP_EBUSY);
	/* reads still work in WAL mode */
	struct store_status st;
	assert_int_equal(store_status_get(s, 0, &st), TP_OK);
	assert_int_equal(st.jobs[STORE_JOB_QUEUED], 1);
	assert_int_equal(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(other);
	/* the failed calls left no transaction open */
	assert_int_equal(store_job_claim(s, id, "me", 10, 60, NULL, &got, NULL, 0), TP_OK);
	assert_int_equal(got, 1);
	assert_int_equal(store_tile_put(s, id, 0, "x", 1, 1.0), TP_OK);
	store_close(s);
}

static void test_store_readonly_while_writing(void **state)
{
	struct fx *f = *state;
	struct store *w = open_ok(f->db), *r = NULL;
	struct store_status st;
	sqlite3 *other = NULL;

	add_job(w, &spec_a);
	/* a writer is in the middle of a transaction */
	assert_int_equal(sqlite3_open(f->db, &other), SQLITE_OK);
	assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE; INSERT INTO jobs(input, output, "
			 "input_sig, options_hash, created, updated) VALUES('i', 'o2', 's', 'h', 0, 0)",
			 NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(store_open(f->db, 1, &r), TP_OK);
	assert_int_equal(store_status_get(r, 0, &st), TP_OK);
	assert_int_equal(st.jobs[STORE_JOB_QUEUED], 1);   /* committed state only */
	assert_int_equal(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(other);
	assert_int_equal(store_status_get(r, 0, &st), TP_OK);
	assert_int_equal(st.jobs[STORE_JOB_QUEUED], 2);
	assert_int_equal(store_integrity_check(r), TP_OK);
	store_close(r);
	store_close(w);
}

/* Several processes race for one job: exactly one wins. */
static void test_store_claim_race(void **state)
{
	struct fx *f = *state;
	struct store *s = open_ok(f->db);
	enum { NPROC = 4 };
	pid_t pid[NPROC];
	int wins = 0, got = 0;
	char holder[32];
	int64_t id = add_job(s, &spec_a);
	store_close(s);

	for (int i = 0; i < NPROC; i++) {
		pid[i] = fork();
		assert_true(pid[i] >= 0);
		if (pid[i] == 0) {
			struct store *c = NULL;
			char owner[16];
			int g = 0;
			snprintf(owner, sizeof owner, "p%d", i);
			if (store_open(f->db, 0, &c) != TP_OK ||
			    store_job_claim(c, id, owner, 1000, 60, NULL, &g, NULL, 0) != TP_OK)
				_exit(2);
			store_close(c);
			_exit(g ? 1 : 0);
		}
	}
	for (int i = 0; i < NPROC; i++) {
		int ws = 0;
		assert_int_equal(waitpid(pid[i], &ws, 0), pid[i]);
		assert_true(WIFEXITED(ws));
		assert_true(WEXITSTATUS(ws) <= 1);
		wins += WEXITSTATUS(ws);
	}
	assert_int_equal(wins, 1);
	s = open_ok(f->db);
	assert_int_equal(store_job_claim(s, id, "late", 1001, 60, NULL, &got, holder,
					 sizeof holder), TP_OK);
	assert_int_equal(got, 0);
	assert_int_equal(holder[0], 'p');
	store_close(s);
}

/* Several processes create the same new store at once (cron runs that start
 * together): all open it, and they agree on one job. */
static void test_store_open_race(void **state)
{
	struct fx *f = *state;
	enum { NPROC = 4 };
	pid_t pid[NPROC];
	struct store_job j;

	for (int i = 0; i < NPROC; i++) {
		pid[i] = fork();
		assert_true(pid[i] >= 0);
		if (pid[i] == 0) {
			struct store *c = NULL;
			struct store_job cj;
			if (store_open(f->db, 0, &c) != TP_OK) {
				fprintf(stderr, "child open: %s\n", tp_errmsg());
				_exit(2);
			}
			if (store_job_sync(c, &spec_a, &cj) != TP_OK) {
				fprintf(stderr, "child sync: %s\n", tp_errmsg());
				_exit(3);
			}
			store_close(c);
			_exit(0);
		}
	}
	for (int i = 0; i < NPROC; i++) {
		int ws = 0;
		assert_int_equal(waitpid(pid[i], &ws, 0), pid[i]);
		assert_true(WIFEXITED(ws));
		assert_int_equal(WEXITSTATUS(ws), 0);
	}
	struct store *s = open_ok(f->db);
	struct store_status st;
	assert_int_equal(store_status_get(s, 0, &st), TP_OK);
	assert_int_equal(st.jobs[STORE_JOB_QUEUED], 1);
	assert_int_equal(store_job_sync(s, &spec_a, &j), TP_OK);
	assert_int_equal(j.id, 1);
	store_close(s);
}

/* ---- OOM ---- */

static void test_store_oom_loop(void **state)
{
	struct fx *f = *state;
	struct store_tile_rec t[1] = { { 0, 0, 4, 4, 0 } };
	int ok = 0;

	for (long n = 0; n < 1000 && !ok; n++) {
		struct store *s = NULL;
		struct store_job j;
		void *blob = NULL;
		size_t len = 0;
		tp_status r;

		unlink(f->db);
		tp_alloc_fail_at(n);
		r = store_open(f->db, 0, &s);
		if (r == TP_OK)
			r = store_job_sync(s, &spec_a, &j);
		if (r == TP_OK)
			r = store_tiles_plan(s, j.id, t, 1);
		if (r == TP_OK)
			r = store_tile_put(s, j.id, 0, "abcd", 4, 1.0);
		if (r == TP_OK)
			r = store_tile_get(s, j.id, 0, &blob, &len);
		tp_alloc_fail_at(-1);
		if (r == TP_OK) {
			assert_int_equal(len, 4);
			assert_memory_equal(blob, "abcd", 4);
			ok = 1;
		} else {
			assert_int_equal(r, TP_ENOMEM);
			assert_non_null(strstr(tp_errmsg(), "out of memory"));
			assert_null(blob);
		}
		tp_free(blob);
		store_close(s);
	}
	assert_true(ok);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_store_schema_create_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_readonly_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_garbage_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_foreign_db, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_newer_schema, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_sync_semantics, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_claims, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_tiles_plan_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_tile_blob_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_job_done_drops_blobs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_timings_and_stages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_status_and_jobs_each, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_busy_is_ebusy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_readonly_while_writing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_claim_race, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_open_race, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_oom_loop, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
