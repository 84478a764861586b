/*
 * test_store.c - unit tests of the SQLite job store (store/), each in a fresh
 * directory (fx_store_setup): schema, job sync, claims and leases across two
 * connections, lease fencing (takeover, same-owner reclaim, reset by sync),
 * fenced publish, tile plan/results, timings, queries, runs in the record, bad
 * files, the v1 and v3 migrations, and an OOM loop over our own allocations.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"
#include "store/store_int.h"
#include "fixture_store.h"

#include <sqlite3.h>
#include <sys/wait.h>

static const struct store_job_spec spec_a = {
	"in/a.tif", "masks/a.png", "out/a.tif", "isig-a", "msig-a", "opt-1", "", ""
};

static int64_t add_job(struct store *s, const struct store_job_spec *sp)
{
	struct store_job j;
	assert_int_equal(store_job_sync(s, sp, &j), TP_OK);
	return j.id;
}

/* Claim job `id` for `owner` at `now`; it must succeed. Returns the lease. */
static struct store_lease claim_ok(struct store *s, int64_t id, const char *owner,
				   int64_t now, int64_t lease_s)
{
	struct store_lease l;
	int got = -1;
	tp_status r = store_job_claim(s, id, owner, now, lease_s, NULL, &l, &got, NULL, 0);
	if (r != TP_OK)
		fprintf(stderr, "store_job_claim: %s\n", tp_errmsg());
	assert_int_equal(r, TP_OK);
	assert_int_equal(got, 1);
	assert_int_equal(l.job, id);
	assert_true(l.gen > 0);
	assert_string_equal(l.owner, owner);
	return l;
}

/* r is TP_ELEASE and the message names the image and, when `who` is
 * non-NULL, the new holder's host:pid. */
static void assert_lost(tp_status r, const char *input, const char *who)
{
	if (r != TP_ELEASE)
		fprintf(stderr, "expected TP_ELEASE, got %d: %s\n", (int)r, tp_errmsg());
	assert_int_equal(r, TP_ELEASE);
	assert_non_null(strstr(tp_errmsg(), "lost the lease on"));
	assert_non_null(strstr(tp_errmsg(), input));
	if (who)
		assert_non_null(strstr(tp_errmsg(), who));
}

/* The job's row as store_job_find reads it; it must exist. */
static struct store_job find_ok(struct store *s, const char *output)
{
	struct store_job j;
	int found = -1;
	assert_int_equal(store_job_find(s, output, &found, &j), TP_OK);
	assert_int_equal(found, 1);
	return j;
}

/* ---- schema ---- */

static void test_store_schema_create_reopen(void **state)
{
	struct fx_store_dir *f = *state;
	struct store *s = fx_store_open(f->db);
	int64_t id = add_job(s, &spec_a);
	assert_int_equal(store_integrity_check(s), TP_OK);
	store_close(s);

	s = fx_store_open(f->db);
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
	struct fx_store_dir *f = *state;
	struct store *s = (struct store *)1;
	assert_int_equal(store_open(f->db, 1, &s), TP_ENOENT);
	assert_null(s);
	assert_non_null(strstr(tp_errmsg(), f->db));
	assert_int_equal(access(f->db, F_OK), -1);      /* not created */
}

static void test_store_garbage_file(void **state)
{
	struct fx_store_dir *f = *state;
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
	struct fx_store_dir *f = *state;
	struct store *s = NULL;
	raw_sql(f->db, "CREATE TABLE photos(id INTEGER PRIMARY KEY, name TEXT)");
	assert_int_equal(store_open(f->db, 0, &s), TP_EFORMAT);
	assert_null(s);
	assert_non_null(strstr(tp_errmsg(), "other tables"));
}

static void test_store_newer_schema(void **state)
{
	struct fx_store_dir *f = *state;
	struct store *s = fx_store_open(f->db);
	store_close(s);
	raw_sql(f->db, "UPDATE meta SET value = '99' WHERE key = 'schema_version'");
	assert_int_equal(store_open(f->db, 0, &s), TP_EFORMAT);
	assert_null(s);
	assert_non_null(strstr(tp_errmsg(), "newer"));
}

/* ---- jobs ---- */

static void test_store_sync_semantics(void **state)
{
	struct fx_store_dir *f = *state;
	struct store *s = fx_store_open(f->db);
	struct store_job j;
	struct store_tile_rec t[2] = { { 0, 0, 64, 64, 0 }, { 64, 0, 64, 64, 1 } };
	uint8_t done[2];
	struct store_lease l;
	int64_t id = add_job(s, &spec_a);

	l = claim_ok(s, id, "p1", 100, 60);
	assert_int_equal(store_tiles_plan(s, &l, t, 2), TP_OK);
	assert_int_equal(store_tile_put(s, &l, 0, "abc", 3, 1.5), TP_OK);
	assert_int_equal(store_job_done(s, &l, "osig", NULL, NULL), TP_OK);

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
		/* it is done with its tiles (kept by done, without their blobs) */
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
		/* back to spec_a (a change again), then make it done again with tiles */
		assert_int_equal(store_job_sync(s, &spec_a, &j), TP_OK);
		assert_int_equal(j.state, STORE_JOB_QUEUED);
		l = claim_ok(s, id, "p1", 100, 60);
		assert_int_equal(store_tiles_plan(s, &l, t, 2), TP_OK);
		assert_int_equal(store_tile_put(s, &l, 0, "abc", 3, 1.5), TP_OK);
		assert_int_equal(store_job_done(s, &l, "osig", NULL, NULL), TP_OK);
	}

	/* a failed job keeps its error when the spec is unchanged */
	assert_int_equal(store_job_sync(s, &(struct store_job_spec){ "in/b.tif", NULL,
			 "out/b.tif", "x", NULL, "opt-1", NULL, NULL }, &j), TP_OK);
	assert_int_equal(store_job_fail(s, NULL, j.id, "no mask for in/b.tif", 0), TP_OK);
	assert_int_equal(store_job_sync(s, &(struct store_job_spec){ "in/b.tif", NULL,
			 "out/b.tif", "x", "", "opt-1", "", "" }, &j), TP_OK);
	assert_int_equal(j.state, STORE_JOB_FAILED);
	assert_string_equal(j.error, "no mask for in/b.tif");
	store_close(s);
}

static void test_store_claims(void **state)
{
	struct fx_store_dir *f = *state;
	struct store *a = fx_store_open(f->db), *b = fx_store_open(f->db);
	struct store_lease la, lb, nb;
	char holder[64];
	int got = -1;
	int64_t id = add_job(a, &spec_a);

	la = claim_ok(a, id, "host:1", 1000, 60);
	/* b cannot take it while the lease lives */
	assert_int_equal(store_job_claim(b, id, "host:2", 1030, 60, NULL, &nb, &got, holder,
					 sizeof holder), TP_OK);
	assert_int_equal(got, 0);
	assert_int_equal(nb.gen, 0);              /* no lease held */
	assert_string_equal(holder, "host:1");
	/* renew by a non-holder (the holder's generation, another owner) */
	nb = la;
	snprintf(nb.owner, sizeof nb.owner, "host:2");
	assert_lost(store_job_renew(b, &nb, 1030, 60), "in/a.tif", "to host:1");
	/* renew by the holder pushes the expiry to 1090 */
	assert_int_equal(store_job_renew(a, &la, 1030, 60), TP_OK);
	assert_int_equal(store_job_claim(b, id, "host:2", 1070, 60, NULL, &nb, &got, NULL, 0), TP_OK);
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
	lb = claim_ok(b, id, "host:2", 1090, 60);
	assert_true(lb.gen > la.gen);
	assert_lost(store_job_renew(a, &la, 1091, 60), "in/a.tif", "host:2");
	assert_lost(store_job_done(a, &la, "x", NULL, NULL), "in/a.tif", "host:2");
	/* steal_from: a proves host:2 dead and takes over before expiry */
	assert_int_equal(store_job_claim(a, id, "host:3", 1100, 60, "host:9", &la, &got, holder,
					 sizeof holder), TP_OK);
	assert_int_equal(got, 0);
	assert_string_equal(holder, "host:2");
	assert_int_equal(store_job_claim(a, id, "host:3", 1100, 60, "host:2", &la, &got, NULL, 0),
			 TP_OK);
	assert_int_equal(got, 1);
	assert_true(la.gen > lb.gen);
	struct store_job j;
	assert_int_equal(store_job_sync(b, &spec_a, &j), TP_OK);
	assert_int_equal(j.state, STORE_JOB_RUNNING);
	assert_int_equal(j.attempts, 3);
	/* release gives it back; release by a non-holder is TP_ELEASE */
	assert_lost(store_job_release(b, &lb), "in/a.tif", "host:3");
	assert_int_equal(store_job_release(a, &la), TP_OK);
	assert_int_equal(store_job_sync(b, &spec_a, &j), TP_OK);
	assert_int_equal(j.state, STORE_JOB_QUEUED);
	/* released: the old lease is fenced out too */
	assert_int_equal(store_job_renew(a, &la, 1101, 60), TP_ELEASE);
	/* done: nobody can claim it any more, even much later */
	lb = claim_ok(b, id, "host:2", 2000, 60);
	assert_int_equal(store_job_done(b, &lb, "osig", NULL, NULL), TP_OK);
	assert_int_equal(store_job_claim(a, id, "host:1", 9999, 60, NULL, &la, &got, holder,
					 sizeof holder), TP_OK);
	assert_int_equal(got, 0);
	assert_int_equal(la.gen, 0);
	assert_string_equal(holder, "");
	/* unknown job */
	assert_int_equal(store_job_claim(a, 12345, "host:1", 1, 60, NULL, &la, &got, NULL, 0),
			 TP_EUSAGE);
	assert_int_equal(got, 0);
	/* failing with a lease that is not (any more) the job's */
	assert_int_equal(store_job_fail(a, &lb, id, "boom", 0), TP_ELEASE);
	assert_int_equal(find_ok(a, "out/a.tif").state, STORE_JOB_DONE);
	store_close(a);
	store_close(b);
}

/* ---- tiles ---- */

static void test_store_tiles_plan_rules(void **state)
{
	struct fx_store_dir *f = *state;
	struct store *s = fx_store_open(f->db);
	struct store_tile_rec t[3] = {
		{ 0, 0, 64, 64, 0 }, { 48, 0, 64, 64, 1 }, { 96, 0, 32, 64, 0 }
	};
	uint8_t done[3];
	void *blob = NULL;
	size_t len = 0;
	int64_t id = add_job(s, &spec_a);
	struct store_lease l = claim_ok(s, id, "me", 10, 60), bad;

	assert_int_equal(store_tiles_plan(s, &l, t, 3), TP_OK);
	assert_int_equal(store_tile_put(s, &l, 2, "zz", 2, 3.0), TP_OK);
	/* same rectangles: kept with their results */
	assert_int_equal(store_tiles_plan(s, &l, t, 3), TP_OK);
	assert_int_equal(store_tiles_done_map(s, id, done, 3), TP_OK);
	assert_memory_equal(done, ((uint8_t[]){ 0, 0, 1 }), 3);
	/* a different rectangle: replaced, results gone */
	t[1].w = 63;
	assert_int_equal(store_tiles_plan(s, &l, t, 3), TP_OK);
	assert_int_equal(store_tiles_done_map(s, id, done, 3), TP_OK);
	assert_memory_equal(done, ((uint8_t[]){ 0, 0, 0 }), 3);
	assert_int_equal(store_tile_get(s, id, 2, &blob, &len), TP_ENOENT);
	/* fewer tiles: replaced */
	assert_int_equal(store_tile_put(s, &l, 0, "q", 1, 1.0), TP_OK);
	assert_int_equal(store_tiles_plan(s, &l, t, 2), TP_OK);
	assert_int_equal(store_tiles_done_map(s, id, done, 2), TP_OK);
	assert_memory_equal(done, ((uint8_t[]){ 0, 0 }), 2);
	/* skipped-ness changed: replaced */
	assert_int_equal(store_tile_put(s, &l, 0, "q", 1, 1.0), TP_OK);
	t[1].skipped = 0;
	assert_int_equal(store_tiles_plan(s, &l, t, 2), TP_OK);
	assert_int_equal(store_tiles_done_map(s, id, done, 2), TP_OK);
	assert_int_equal(done[0], 0);
	/* status: 2 pending, 0 skipped */
	struct store_status st;
	assert_int_equal(store_status_get(s, 0, &st), TP_OK);
	assert_int_equal(st.tiles[STORE_TILE_PENDING], 2);
	assert_int_equal(st.tiles[STORE_TILE_SKIPPED], 0);
	/* put on a tile that does not exist */
	assert_int_equal(store_tile_put(s, &l, 7, "q", 1, 1.0), TP_EUSAGE);
	/* fail a tile */
	assert_int_equal(store_tile_fail(s, &l, 1), TP_OK);
	assert_int_equal(store_status_get(s, 0, &st), TP_OK);
	assert_int_equal(st.tiles[STORE_TILE_FAILED], 1);
	/* fail a tile that does not exist */
	assert_int_equal(store_tile_fail(s, &l, 7), TP_EUSAGE);
	/* a plan for an unknown job is refused (no lease on it) */
	bad = l;
	bad.job = 999;
	assert_int_not_equal(store_tiles_plan(s, &bad, t, 2), TP_OK);
	/* and a write without a lease at all */
	bad = l;
	bad.gen = 0;
	assert_int_equal(store_tiles_plan(s, &bad, t, 2), TP_EUSAGE);
	store_close(s);
}

static void test_store_tile_blob_roundtrip(void **state)
{
	struct fx_store_dir *f = *state;
	struct store *s = fx_store_open(f->db);
	struct store_tile_rec t[2] = { { 0, 0, 256, 256, 0 }, { 256, 0, 256, 256, 0 } };
	size_t n = 256 * 256 * 3 * 2 + 7, len = 0;
	uint8_t *in = malloc(n);
	void *out = NULL;
	uint32_t x = 12345;
	int64_t id = add_job(s, &spec_a);
	struct store_lease l = claim_ok(s, id, "me", 10, 60);

	assert_non_null(in);
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		in[i] = (uint8_t)(x >> 16);
	}
	in[0] = 0;      /* embedded NULs must survive */
	assert_int_equal(store_tiles_plan(s, &l, t, 2), TP_OK);
	assert_int_equal(store_tile_put(s, &l, 1, in, n, 12.25), TP_OK);
	assert_int_equal(store_tile_get(s, id, 1, &out, &len), TP_OK);
	assert_int_equal(len, n);
	assert_memory_equal(out, in, n);
	tp_free(out);
	/* an empty result is a result, not "none" */
	assert_int_equal(store_tile_put(s, &l, 0, NULL, 0, 0.5), TP_OK);
	assert_int_equal(store_tile_get(s, id, 0, &out, &len), TP_OK);
	assert_int_equal(len, 0);
	tp_free(out);
	/* overwrite */
	assert_int_equal(store_tile_put(s, &l, 1, "xyz", 3, 1.0), TP_OK);
	assert_int_equal(store_tile_get(s, id, 1, &out, &len), TP_OK);
	assert_int_equal(len, 3);
	assert_memory_equal(out, "xyz", 3);
	tp_free(out);
	free(in);
	store_close(s);
}

static void test_store_job_done_drops_blobs(void **state)
{
	struct fx_store_dir *f = *state;
	struct store *s = fx_store_open(f->db);
	struct store_tile_rec t[3] = {
		{ 0, 0, 8, 8, 0 }, { 8, 0, 8, 8, 1 }, { 16, 0, 8, 8, 0 }
	};
	uint8_t done[3];
	void *blob = NULL;
	size_t len;
	int64_t id = add_job(s, &spec_a);
	struct store_lease l = claim_ok(s, id, "me", 10, 60);
	struct store_status st;

	assert_int_equal(store_tiles_plan(s, &l, t, 3), TP_OK);
	assert_int_equal(store_tile_put(s, &l, 0, "aa", 2, 2.0), TP_OK);
	assert_int_equal(store_tile_put(s, &l, 2, "bb", 2, 4.0), TP_OK);
	assert_int_equal(store_tiles_done_map(s, id, done, 3), TP_OK);
	assert_memory_equal(done, ((uint8_t[]){ 1, 0, 1 }), 3);
	assert_int_equal(store_job_done(s, &l, "osig", NULL, NULL), TP_OK);
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
	struct fx_store_dir *f = *state;
	struct store *s = fx_store_open(f->db);
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
	struct fx_store_dir *f = *state;
	struct store *s = fx_store_open(f->db);
	const char *outs[4] = { "out/z.tif", "out/m.tif", "out/a.tif", "out/q.tif" };
	int64_t ids[4];
	struct store_tile_rec t[3] = {
		{ 0, 0, 8, 8, 0 }, { 8, 0, 8, 8, 1 }, { 16, 0, 8, 8, 0 }
	};
	struct job_seen v;
	struct store_status st;
	struct store_lease l0, l1, l2;

	for (int i = 0; i < 4; i++) {
		struct store_job_spec sp = { "in", NULL, outs[i], "s", "", "o", "", "" };
		ids[i] = add_job(s, &sp);
	}
	/* ids[1]: some tiles stored, then given back (queued) */
	l1 = claim_ok(s, ids[1], "p", 100, 10);
	assert_int_equal(store_tiles_plan(s, &l1, t, 3), TP_OK);
	assert_int_equal(store_tile_put(s, &l1, 0, "r", 1, 5.0), TP_OK);
	assert_int_equal(store_job_release(s, &l1), TP_OK);
	assert_int_equal(store_timing_add(s, 1, ids[1], "decode", 1, 2.5), TP_OK);
	assert_int_equal(store_timing_add(s, 1, ids[1], "blend", 1, 0.5), TP_OK);
	l0 = claim_ok(s, ids[0], "p", 100, 10);
	l2 = claim_ok(s, ids[2], "p", 100, 10);
	assert_int_equal(store_job_done(s, &l2, "sig", NULL, NULL), TP_OK);
	assert_int_equal(store_job_fail(s, NULL, ids[3], "bad", 0), TP_OK);

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
	assert_int_equal(store_job_release(s, &l0), TP_OK);
	store_close(s);
}

/* ---- lease fencing ---- */

/* A publish callback for store_job_done: counts its calls, writes `stat`
 * into the identity key and returns `ret` (with a message when not TP_OK). */
struct publish_ctx {
	int calls;
	const char *stat;
	tp_status ret;
};

static tp_status publish_cb(void *ctx, char *stat_key, size_t n)
{
	struct publish_ctx *p = ctx;
	p->calls++;
	if (p->stat)
		snprintf(stat_key, n, "%s", p->stat);
	if (p->ret != TP_OK)
		return tp_err(p->ret, "renaming the output: simulated failure");
	return TP_OK;
}

static int64_t job_stage_count(struct store *s, int64_t id, const char *stage)
{
	struct stage_seen v;
	memset(&v, 0, sizeof v);
	assert_int_equal(store_stages_each(s, id, stage_cb, &v), TP_OK);
	for (int i = 0; i < v.n; i++)
		if (!strcmp(v.name[i], stage))
			return v.count[i];
	return 0;
}

/* A holder frozen past its expiry and taken over by B can write nothing. */
static void test_store_fence_takeover(void **state)
{
	struct fx_store_dir *f = *state;
	struct store *a = fx_store_open(f->db), *b = fx_store_open(f->db);
	const struct store_job_spec sp = { "in/fence.tif", "masks/fence.png", "out/fence.tif",
					   "isig-f", "msig-f", "opt-1", "", "" };
	struct store_tile_rec t[2] = { { 0, 0, 8, 8, 0 }, { 8, 0, 8, 8, 0 } };
	struct store_tile_rec t2[1] = { { 0, 0, 16, 8, 0 } };
	struct publish_ctx pa = { 0, "stat-a", TP_OK }, pb = { 0, "stat-b", TP_OK };
	static const char *const stages[2] = { "decode", "blend" };
	const int64_t counts[2] = { 1, 1 };
	const double ms[2] = { 2.0, 3.0 };
	struct store_lease la, lb, none;
	struct store_job j;
	char holder[64];
	uint8_t done[2];
	void *blob = NULL;
	size_t len = 0;
	int got = -1;
	int64_t run = 7, id = add_job(a, &sp);

	la = claim_ok(a, id, "hosta:11:500", 1000, 60);
	assert_int_equal(store_tiles_plan(a, &la, t, 2), TP_OK);
	assert_int_equal(store_tile_put(a, &la, 0, "a0", 2, 1.0), TP_OK);
	assert_int_equal(store_job_timings(a, &la, run, 2, stages, counts, ms), TP_OK);
	/* still live at 1059: B cannot take it */
	assert_int_equal(store_job_claim(b, id, "hostb:22:1000", 1059, 60, NULL, &none, &got,
					 holder, sizeof holder), TP_OK);
	assert_int_equal(got, 0);
	assert_string_equal(holder, "hosta:11:500");
	/* A freezes; its lease expires at 1060 and B takes over */
	lb = claim_ok(b, id, "hostb:22:1000", 1061, 60);
	assert_int_equal(lb.gen, la.gen + 1);

	/* every write of A's is fenced out, naming the image and B's host:pid */
	assert_lost(store_tile_put(a, &la, 1, "a1", 2, 1.0), "in/fence.tif", "to hostb:22");
	assert_null(strstr(tp_errmsg(), "hostb:22:1000"));   /* the start time is not shown */
	assert_lost(store_tile_fail(a, &la, 0), "in/fence.tif", "hostb:22");
	assert_lost(store_tiles_plan(a, &la, t2, 1), "in/fence.tif", "hostb:22");
	assert_lost(store_job_renew(a, &la, 1062, 60), "in/fence.tif", "hostb:22");
	assert_lost(store_job_release(a, &la), "in/fence.tif", "hostb:22");
	assert_lost(store_job_done(a, &la, "osig-a", publish_cb, &pa), "in/fence.tif", "hostb:22");
	assert_int_equal(pa.calls, 0);                        /* nothing published */
	assert_lost(store_job_fail(a, &la, id, "a gave up", 0), "in/fence.tif", "hostb:22");
	assert_lost(store_job_timings(a, &la, run, 2, stages, counts, ms), "in/fence.tif",
		    "hostb:22");

	/* and none of them changed anything */
	j = find_ok(b, "out/fence.tif");
	assert_int_equal(j.state, STORE_JOB_RUNNING);
	assert_string_equal(j.error, "");
	assert_string_equal(j.output_sig, "");
	assert_int_equal(j.attempts, 2);
	assert_int_equal(store_tiles_done_map(b, id, done, 2), TP_OK);
	assert_memory_equal(done, ((uint8_t[]){ 1, 0 }), 2);
	assert_int_equal(store_tile_get(b, id, 0, &blob, &len), TP_OK);
	assert_int_equal(len, 2);
	assert_memory_equal(blob, "a0", 2);
	tp_free(blob);
	assert_int_equal(job_stage_count(b, id, "decode"), 1);
	/* B, still holding it, can renew (so A's renew did not extend anything) */
	assert_int_equal(store_job_claim(a, id, "hosta:11:500", 1100, 60, NULL, &none, &got,
					 holder, sizeof holder), TP_OK);
	assert_int_equal(got, 0);
	assert_string_equal(holder, "hostb:22:1000");

	/* B's writes succeed */
	assert_int_equal(store_tiles_plan(b, &lb, t, 2), TP_OK);      /* same plan: kept */
	assert_int_equal(store_tile_put(b, &lb, 1, "b1", 2, 1.0), TP_OK);
	assert_int_equal(store_tile_fail(b, &lb, 0), TP_OK);
	assert_int_equal(store_tile_put(b, &lb, 0, "b0", 2, 1.0), TP_OK);
	assert_int_equal(store_job_timings(b, &lb, run, 2, stages, counts, ms), TP_OK);
	assert_int_equal(job_stage_count(b, id, "decode"), 2);
	assert_int_equal(store_job_renew(b, &lb, 1100, 60), TP_OK);
	assert_int_equal(store_job_done(b, &lb, "osig-b", publish_cb, &pb), TP_OK);
	assert_int_equal(pb.calls, 1);
	j = find_ok(a, "out/fence.tif");
	assert_int_equal(j.state, STORE_JOB_DONE);
	assert_string_equal(j.output_sig, "osig-b");
	assert_string_equal(j.output_stat, "stat-b");

	/* after B finished, A is still fenced out */
	assert_lost(store_job_done(a, &la, "osig-a", publish_cb, &pa), "in/fence.tif", "hostb:22");
	assert_int_equal(pa.calls, 0);
	assert_lost(store_job_fail(a, &la, id, "late", 0), "in/fence.tif", "hostb:22");
	assert_lost(store_job_timings(a, &la, run, 2, stages, counts, ms), "in/fence.tif",
		    "hostb:22");
	/* B may still record the job's timings after done, but not renew,
	 * release, fail or finish it again */
	assert_int_equal(store_job_timings(b, &lb, run, 2, stages, counts, ms), TP_OK);
	assert_int_equal(job_stage_count(b, id, "decode"), 3);
	assert_lost(store_job_renew(b, &lb, 1101, 60), "in/fence.tif", "done");
	assert_int_equal(store_job_release(b, &lb), TP_ELEASE);
	assert_int_equal(store_job_fail(b, &lb, id, "late", 0), TP_ELEASE);
	assert_int_equal(store_job_done(b, &lb, "osig-b2", publish_cb, &pb), TP_ELEASE);
	assert_int_equal(pb.calls, 1);
	assert_int_equal(store_tile_put(b, &lb, 0, "b0", 2, 1.0), TP_ELEASE);
	j = find_ok(a, "out/fence.tif");
	assert_int_equal(j.state, STORE_JOB_DONE);
	assert_string_equal(j.output_sig, "osig-b");
	assert_string_equal(j.error, "");
	store_close(a);
	store_close(b);
}

/* The same owner string reclaiming after expiry gets a new generation; the
 * old lease is fenced out although its owner text is equal. */
static void test_store_fence_same_owner(void **state)
{
	struct fx_store_dir *f = *state;
	struct store *s = fx_store_open(f->db);
	struct store_tile_rec t[1] = { { 0, 0, 8, 8, 0 } };
	struct publish_ctx p = { 0, NULL, TP_OK };
	static const char *const stages[1] = { "inference" };
	const int64_t counts[1] = { 1 };
	const double ms[1] = { 1.0 };
	struct store_lease l1, l2;
	int64_t id = add_job(s, &spec_a);

	l1 = claim_ok(s, id, "host:1:99", 1000, 60);
	assert_int_equal(store_tiles_plan(s, &l1, t, 1), TP_OK);
	l2 = claim_ok(s, id, "host:1:99", 1061, 60);
	assert_string_equal(l1.owner, l2.owner);
	assert_int_equal(l2.gen, l1.gen + 1);

	assert_lost(store_tile_put(s, &l1, 0, "x", 1, 1.0), "in/a.tif", "claimed again");
	assert_lost(store_tile_fail(s, &l1, 0), "in/a.tif", NULL);
	assert_lost(store_tiles_plan(s, &l1, t, 1), "in/a.tif", NULL);
	assert_lost(store_job_renew(s, &l1, 1062, 60), "in/a.tif", NULL);
	assert_lost(store_job_timings(s, &l1, 1, 1, stages, counts, ms), "in/a.tif", NULL);
	assert_lost(store_job_release(s, &l1), "in/a.tif", NULL);
	assert_lost(store_job_done(s, &l1, "old", publish_cb, &p), "in/a.tif", NULL);
	assert_int_equal(p.calls, 0);
	assert_lost(store_job_fail(s, &l1, id, "old", 0), "in/a.tif", NULL);
	assert_int_equal(find_ok(s, "out/a.tif").state, STORE_JOB_RUNNING);

	/* the new lease works */
	assert_int_equal(store_tile_put(s, &l2, 0, "x", 1, 1.0), TP_OK);
	assert_int_equal(store_job_timings(s, &l2, 1, 1, stages, counts, ms), TP_OK);
	assert_int_equal(store_job_renew(s, &l2, 1062, 60), TP_OK);
	assert_int_equal(store_job_done(s, &l2, "new", publish_cb, &p), TP_OK);
	assert_int_equal(p.calls, 1);
	assert_string_equal(find_ok(s, "out/a.tif").output_sig, "new");
	store_close(s);
}

/* A changed input resets the job and fences out whoever holds it; an
 * unchanged sync (even with a new file identity) does not. */
static void test_store_sync_fences_holder(void **state)
{
	struct fx_store_dir *f = *state;
	struct store *a = fx_store_open(f->db), *b = fx_store_open(f->db);
	struct store_tile_rec t[2] = { { 0, 0, 8, 8, 0 }, { 8, 0, 8, 8, 0 } };
	struct publish_ctx p = { 0, NULL, TP_OK };
	struct store_job_spec sp = spec_a;
	struct store_lease l, l2;
	struct store_job j;
	uint8_t done[2];
	int64_t id = add_job(a, &spec_a);

	l = claim_ok(a, id, "host:1:5", 1000, 600);
	assert_int_equal(store_tiles_plan(a, &l, t, 2), TP_OK);
	assert_int_equal(store_tile_put(a, &l, 0, "r", 1, 1.0), TP_OK);

	/* same content, other identity (touched): the holder keeps its lease */
	sp.input_stat = "dev:ino:touched";
	assert_int_equal(store_job_sync(b, &sp, &j), TP_OK);
	assert_int_equal(j.state, STORE_JOB_RUNNING);
	assert_int_equal(store_tile_put(a, &l, 1, "r", 1, 1.0), TP_OK);
	assert_int_equal(store_job_renew(a, &l, 1001, 600), TP_OK);

	/* the input changed: reset to queued, the holder is fenced out */
	sp.input_sig = "isig-new";
	assert_int_equal(store_job_sync(b, &sp, &j), TP_OK);
	assert_int_equal(j.state, STORE_JOB_QUEUED);
	assert_int_equal(j.attempts, 0);
	assert_lost(store_tile_put(a, &l, 0, "r", 1, 1.0), "in/a.tif", NULL);
	assert_lost(store_tiles_plan(a, &l, t, 2), "in/a.tif", NULL);
	assert_lost(store_job_renew(a, &l, 1002, 600), "in/a.tif", NULL);
	assert_lost(store_job_done(a, &l, "osig", publish_cb, &p), "in/a.tif", NULL);
	assert_int_equal(p.calls, 0);
	assert_lost(store_job_release(a, &l), "in/a.tif", NULL);
	assert_lost(store_job_fail(a, &l, id, "x", 0), "in/a.tif", NULL);
	j = find_ok(b, "out/a.tif");
	assert_int_equal(j.state, STORE_JOB_QUEUED);
	assert_string_equal(j.error, "");
	assert_string_equal(j.input_sig, "isig-new");
	/* the tiles of the old version are gone */
	assert_int_equal(store_tiles_done_map(b, id, done, 2), TP_OK);
	assert_int_equal(done[0] + done[1], 0);

	/* the same owner claiming the new version gets a later generation; its
	 * old lease stays fenced out */
	l2 = claim_ok(a, id, "host:1:5", 1003, 600);
	assert_true(l2.gen > l.gen);
	assert_int_equal(store_tiles_plan(a, &l2, t, 2), TP_OK);
	assert_lost(store_tile_put(a, &l, 0, "r", 1, 1.0), "in/a.tif", NULL);
	assert_int_equal(store_tile_put(a, &l2, 0, "r", 1, 1.0), TP_OK);
	store_close(a);
	store_close(b);
}

/* An error from the publish callback rolls back: the job stays running
 * under the lease, with its tiles, and the callback's status is returned. */
static void test_store_done_publish_error(void **state)
{
	struct fx_store_dir *f = *state;
	struct store *s = fx_store_open(f->db);
	struct store_tile_rec t[1] = { { 0, 0, 8, 8, 0 } };
	struct publish_ctx bad = { 0, "stat-bad", TP_ECREATE }, ok = { 0, "stat-ok", TP_OK };
	struct store_lease l;
	struct store_job j;
	void *blob = NULL;
	size_t len = 0;
	int64_t id = add_job(s, &spec_a);

	l = claim_ok(s, id, "me", 1000, 60);
	assert_int_equal(store_tiles_plan(s, &l, t, 1), TP_OK);
	assert_int_equal(store_tile_put(s, &l, 0, "abc", 3, 1.0), TP_OK);

	assert_int_equal(store_job_done(s, &l, "osig", publish_cb, &bad), TP_ECREATE);
	assert_int_equal(bad.calls, 1);
	assert_non_null(strstr(tp_errmsg(), "simulated failure"));
	j = find_ok(s, "out/a.tif");
	assert_int_equal(j.state, STORE_JOB_RUNNING);
	assert_string_equal(j.output_sig, "");
	assert_string_equal(j.output_stat, "");
	assert_int_equal(j.attempts, 1);
	assert_int_equal(store_tile_get(s, id, 0, &blob, &len), TP_OK);     /* blob kept */
	assert_int_equal(len, 3);
	tp_free(blob);
	blob = NULL;
	/* no transaction left open, and the lease is still ours */
	assert_int_equal(store_job_renew(s, &l, 1010, 60), TP_OK);
	assert_int_equal(store_tile_put(s, &l, 0, "abd", 3, 1.0), TP_OK);

	/* a second try publishes */
	assert_int_equal(store_job_done(s, &l, "osig", publish_cb, &ok), TP_OK);
	assert_int_equal(ok.calls, 1);
	j = find_ok(s, "out/a.tif");
	assert_int_equal(j.state, STORE_JOB_DONE);
	assert_string_equal(j.output_sig, "osig");
	assert_string_equal(j.output_stat, "stat-ok");
	assert_int_equal(store_tile_get(s, id, 0, &blob, &len), TP_ENOENT);
	store_close(s);
}

/* store_job_fail without a lease never overrides a live lease. */
static void test_store_fail_unfenced(void **state)
{
	struct fx_store_dir *f = *state;
	struct store *s = fx_store_open(f->db);
	const struct store_job_spec sb = { "in/b.tif", NULL, "out/b.tif", "x", "", "opt-1", "", "" };
	const struct store_job_spec sc = { "in/c.tif", NULL, "out/c.tif", "x", "", "opt-1", "", "" };
	struct store_lease l, lc;
	struct store_job j;
	int64_t now = tp_wall_s();
	int64_t ia = add_job(s, &spec_a), ib = add_job(s, &sb), ic = add_job(s, &sc);

	/* a: running under a live lease (wall clock): left alone */
	l = claim_ok(s, ia, "host:1:7", now, 600);
	assert_int_equal(store_job_fail(s, NULL, ia, "no mask", 0), TP_ELEASE);
	assert_non_null(strstr(tp_errmsg(), "host:1:7"));
	j = find_ok(s, "out/a.tif");
	assert_int_equal(j.state, STORE_JOB_RUNNING);
	assert_string_equal(j.error, "");
	assert_int_equal(store_job_renew(s, &l, now, 600), TP_OK);   /* lease intact */

	/* b: queued: marked failed */
	assert_int_equal(store_job_fail(s, NULL, ib, "no mask for in/b.tif", 0), TP_OK);
	j = find_ok(s, "out/b.tif");
	assert_int_equal(j.state, STORE_JOB_FAILED);
	assert_string_equal(j.error, "no mask for in/b.tif");

	/* c: running under a long-expired lease: not live, so marked failed,
	 * and the stale holder is fenced out */
	lc = claim_ok(s, ic, "host:2:8", 1000, 60);
	assert_int_equal(store_job_fail(s, NULL, ic, "gave up", 0), TP_OK);
	j = find_ok(s, "out/c.tif");
	assert_int_equal(j.state, STORE_JOB_FAILED);
	assert_string_equal(j.error, "gave up");
	assert_lost(store_tile_put(s, &lc, 0, "x", 1, 1.0), "in/c.tif", NULL);

	/* unknown job */
	assert_int_equal(store_job_fail(s, NULL, 999, "x", 0), TP_EUSAGE);
	/* the fenced form with our own live lease works */
	assert_int_equal(store_job_fail(s, &l, ia, "engine error", 0), TP_OK);
	j = find_ok(s, "out/a.tif");
	assert_int_equal(j.state, STORE_JOB_FAILED);
	assert_string_equal(j.error, "engine error");
	store_close(s);
}

/* store_job_find returns what sync recorded; output_stat updates a done job. */
static void test_store_find_and_output_stat(void **state)
{
	struct fx_store_dir *f = *state;
	struct store *s = fx_store_open(f->db);
	struct store_job_spec sp = { "in/a.tif", "masks/a.png", "out/a.tif", "isig-a",
				     "msig-a", "opt-1", "1:2:300:400", "1:3:50:60" };
	const struct store_job_spec sq = { "in/q.tif", NULL, "out/q.tif", "isig-q", NULL,
					   "opt-1", NULL, NULL };
	struct publish_ctx p = { 0, "ostat-1", TP_OK };
	struct store_lease l;
	struct store_job j, js;
	int found = -1;
	int64_t id, iq;

	assert_int_equal(store_job_find(s, "out/a.tif", &found, &j), TP_OK);
	assert_int_equal(found, 0);
	assert_int_equal(store_job_sync(s, &sp, &js), TP_OK);
	id = js.id;
	iq = add_job(s, &sq);

	j = find_ok(s, "out/a.tif");
	assert_int_equal(j.id, id);
	assert_int_equal(j.state, STORE_JOB_QUEUED);
	assert_int_equal(j.attempts, 0);
	assert_string_equal(j.input_sig, "isig-a");
	assert_string_equal(j.input_stat, "1:2:300:400");
	assert_string_equal(j.mask_sig, "msig-a");
	assert_string_equal(j.mask_stat, "1:3:50:60");
	assert_string_equal(j.output_sig, "");
	assert_string_equal(j.output_stat, "");
	assert_string_equal(j.error, "");
	/* NULL mask signature and identities read back as "" */
	j = find_ok(s, "out/q.tif");
	assert_int_equal(j.id, iq);
	assert_string_equal(j.mask_sig, "");
	assert_string_equal(j.input_stat, "");
	assert_string_equal(j.mask_stat, "");

	/* finish it: the output's identity comes from the publish callback */
	l = claim_ok(s, id, "me", 1000, 60);
	assert_int_equal(store_job_done(s, &l, "osig-a", publish_cb, &p), TP_OK);
	j = find_ok(s, "out/a.tif");
	assert_int_equal(j.state, STORE_JOB_DONE);
	assert_int_equal(j.attempts, 1);
	assert_string_equal(j.output_sig, "osig-a");
	assert_string_equal(j.output_stat, "ostat-1");

	/* the input was touched (same content): the new identity is recorded,
	 * the job stays done */
	sp.input_stat = "1:2:300:401";
	sp.mask_stat = "1:3:50:61";
	assert_int_equal(store_job_sync(s, &sp, &js), TP_OK);
	assert_int_equal(js.state, STORE_JOB_DONE);
	j = find_ok(s, "out/a.tif");
	assert_int_equal(j.state, STORE_JOB_DONE);
	assert_string_equal(j.input_stat, "1:2:300:401");
	assert_string_equal(j.mask_stat, "1:3:50:61");
	assert_string_equal(j.output_stat, "ostat-1");

	/* the output was copied back unchanged: record its new identity */
	assert_int_equal(store_job_output_stat(s, id, "ostat-2"), TP_OK);
	j = find_ok(s, "out/a.tif");
	assert_string_equal(j.output_stat, "ostat-2");
	assert_string_equal(j.output_sig, "osig-a");
	assert_int_equal(j.state, STORE_JOB_DONE);
	/* an unfinished job has no output to record */
	assert_int_equal(store_job_output_stat(s, iq, "ostat-q"), TP_OK);
	assert_string_equal(find_ok(s, "out/q.tif").output_stat, "");

	/* a content change queues the job again but keeps what it knows of
	 * the output in place (the file there is still its own to replace) */
	sp.input_sig = "isig-a2";
	assert_int_equal(store_job_sync(s, &sp, &js), TP_OK);
	j = find_ok(s, "out/a.tif");
	assert_int_equal(j.state, STORE_JOB_QUEUED);
	assert_string_equal(j.output_sig, "osig-a");
	assert_string_equal(j.output_stat, "ostat-2");
	assert_string_equal(j.input_sig, "isig-a2");
	store_close(s);
}

/* The schema of version 1, exactly as migrations[0] in store.c creates it. */
static const char schema_v1[] =
	"CREATE TABLE meta("
	"  key TEXT PRIMARY KEY,"
	"  value TEXT NOT NULL);"
	"CREATE TABLE runs("
	"  id INTEGER PRIMARY KEY,"
	"  started INTEGER NOT NULL,"
	"  ended INTEGER,"
	"  argv TEXT NOT NULL,"
	"  host TEXT NOT NULL,"
	"  pid INTEGER NOT NULL,"
	"  exit_status INTEGER);"
	"CREATE TABLE jobs("
	"  id INTEGER PRIMARY KEY,"
	"  input TEXT NOT NULL,"
	"  mask TEXT,"
	"  output TEXT NOT NULL UNIQUE,"
	"  input_sig TEXT NOT NULL,"
	"  mask_sig TEXT NOT NULL DEFAULT '',"
	"  options_hash TEXT NOT NULL,"
	"  state INTEGER NOT NULL DEFAULT 0,"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  error TEXT NOT NULL DEFAULT '',"
	"  lease_owner TEXT,"
	"  lease_expires INTEGER,"
	"  output_sig TEXT NOT NULL DEFAULT '',"
	"  created INTEGER NOT NULL,"
	"  updated INTEGER NOT NULL);"
	"CREATE INDEX jobs_by_state ON jobs(state, lease_expires);"
	"CREATE TABLE tiles("
	"  job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
	"  idx INTEGER NOT NULL,"
	"  x INTEGER NOT NULL, y INTEGER NOT NULL,"
	"  w INTEGER NOT NULL, h INTEGER NOT NULL,"
	"  state INTEGER NOT NULL,"
	"  result BLOB,"
	"  engine_ms REAL,"
	"  PRIMARY KEY(job_id, idx));"
	"CREATE INDEX tiles_by_state ON tiles(state, engine_ms);"
	"CREATE TABLE timings("
	"  run_id INTEGER NOT NULL,"
	"  job_id INTEGER NOT NULL,"
	"  stage TEXT NOT NULL,"
	"  count INTEGER NOT NULL,"
	"  ms REAL NOT NULL,"
	"  UNIQUE(run_id, job_id, stage));"
	"CREATE INDEX timings_by_job ON timings(job_id, stage);";

/* Names of table jobs' columns, comma-separated, via a raw connection. */
static int raw_col_cb(void *ctx, int n, char **vals, char **names)
{
	char *buf = ctx;
	for (int i = 0; i < n; i++)
		if (!strcmp(names[i], "name") && vals[i]) {
			strcat(buf, vals[i]);
			strcat(buf, ",");
		}
	return 0;
}

static int raw_val_cb(void *ctx, int n, char **vals, char **names)
{
	(void)names;
	if (n > 0 && vals[0])
		snprintf(ctx, 64, "%s", vals[0]);
	return 0;
}

static void raw_query(const char *path, const char *sql,
		      int (*cb)(void *, int, char **, char **), void *ctx)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, cb, ctx, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* A store made by a version-1 tilepaint opens, is migrated in place and
 * keeps its jobs, tiles and timings. */
static void test_store_migrate_v1(void **state)
{
	struct fx_store_dir *f = *state;
	struct store *s = NULL;
	char cols[1024] = "", ver[64] = "";
	uint8_t done[2];
	void *blob = NULL;
	size_t len = 0;
	struct store_job j;
	struct store_lease l;
	const struct store_job_spec sb = { "in/b.tif", NULL, "out/b.tif", "isig-b", "",
					   "opt-1", "", "" };
	struct store_tile_rec t[2] = { { 0, 0, 8, 8, 0 }, { 8, 0, 8, 8, 0 } };

	raw_sql(f->db, schema_v1);
	raw_sql(f->db,
		"INSERT INTO meta(key, value) VALUES('schema_version', '1');"
		"INSERT INTO jobs(id, input, mask, output, input_sig, mask_sig, options_hash,"
		" state, attempts, output_sig, created, updated) VALUES(1, 'in/a.tif',"
		" 'masks/a.png', 'out/a.tif', 'isig-a', 'msig-a', 'opt-1', 2, 1, 'osig-a', 5, 6);"
		"INSERT INTO jobs(id, input, mask, output, input_sig, mask_sig, options_hash,"
		" state, attempts, lease_owner, lease_expires, created, updated) VALUES(2,"
		" 'in/b.tif', NULL, 'out/b.tif', 'isig-b', '', 'opt-1', 1, 1, 'old:1:2', 1060,"
		" 5, 6);"
		"INSERT INTO tiles(job_id, idx, x, y, w, h, state, result, engine_ms)"
		" VALUES(2, 0, 0, 0, 8, 8, 1, x'616263', 1.5), (2, 1, 8, 0, 8, 8, 0, NULL, NULL);"
		"INSERT INTO timings(run_id, job_id, stage, count, ms) VALUES(1, 1, 'decode', 1, 4.0);");

	/* a readonly open does not upgrade it */
	assert_int_equal(store_open(f->db, 1, &s), TP_EFORMAT);
	assert_null(s);
	assert_non_null(strstr(tp_errmsg(), "old store schema"));

	s = fx_store_open(f->db);
	assert_int_equal(store_integrity_check(s), TP_OK);
	raw_query(f->db, "SELECT value FROM meta WHERE key = 'schema_version'", raw_val_cb, ver);
	assert_string_equal(ver, "4");
	raw_query(f->db, "PRAGMA table_info(jobs)", raw_col_cb, cols);
	assert_non_null(strstr(cols, "failed_input,"));
	assert_non_null(strstr(cols, "lease_gen,"));
	assert_non_null(strstr(cols, "input_stat,"));
	assert_non_null(strstr(cols, "mask_stat,"));
	assert_non_null(strstr(cols, "output_stat,"));

	/* the done job is still there, still done */
	j = find_ok(s, "out/a.tif");
	assert_int_equal(j.id, 1);
	assert_int_equal(j.state, STORE_JOB_DONE);
	assert_int_equal(j.attempts, 1);
	assert_string_equal(j.output_sig, "osig-a");
	assert_string_equal(j.output_stat, "");
	assert_string_equal(j.input_sig, "isig-a");
	assert_string_equal(j.input_stat, "");
	assert_string_equal(j.mask_sig, "msig-a");
	assert_int_equal(store_job_sync(s, &spec_a, &j), TP_OK);
	assert_int_equal(j.state, STORE_JOB_DONE);
	assert_int_equal(job_stage_count(s, 1, "decode"), 1);

	/* the job an old process was running (lease generation 0) can be taken
	 * over once expired, with its stored tiles kept */
	j = find_ok(s, "out/b.tif");
	assert_int_equal(j.state, STORE_JOB_RUNNING);
	assert_int_equal(store_job_sync(s, &sb, &j), TP_OK);
	assert_int_equal(j.state, STORE_JOB_RUNNING);
	l = claim_ok(s, 2, "new:3:4", 1061, 60);
	assert_int_equal(l.gen, 1);
	assert_int_equal(store_tiles_plan(s, &l, t, 2), TP_OK);
	assert_int_equal(store_tiles_done_map(s, 2, done, 2), TP_OK);
	assert_memory_equal(done, ((uint8_t[]){ 1, 0 }), 2);
	assert_int_equal(store_tile_get(s, 2, 0, &blob, &len), TP_OK);
	assert_int_equal(len, 3);
	assert_memory_equal(blob, "abc", 3);
	tp_free(blob);
	assert_int_equal(store_tile_put(s, &l, 1, "d", 1, 1.0), TP_OK);
	assert_int_equal(store_job_done(s, &l, "osig-b", NULL, NULL), TP_OK);
	assert_int_equal(find_ok(s, "out/b.tif").state, STORE_JOB_DONE);
	store_close(s);

	/* reopening (now version 2) and a readonly open both work */
	s = fx_store_open(f->db);
	store_close(s);
	assert_int_equal(store_open(f->db, 1, &s), TP_OK);
	j = find_ok(s, "out/a.tif");
	assert_int_equal(j.state, STORE_JOB_DONE);
	store_close(s);
}


/* What store_runs_each gave (the first run) and how many. */
struct run_seen { int n; int64_t id, threads, discovered, unknown, images, done, inpainted;
		  double started, finished, mp; char engine[32], options[128], host[32]; };

static int run_cb(void *ctx, const struct store_run_row *w)
{
	struct run_seen *v = ctx;
	if (v->n++ == 0) {
		v->id = w->id;
		v->threads = w->threads;
		v->discovered = w->discovered;
		v->unknown = w->unknown;
		v->images = w->n.images;
		v->done = w->n.done;
		v->inpainted = w->n.inpainted;
		v->started = w->started;
		v->finished = w->finished;
		v->mp = w->n.megapixels;
		snprintf(v->engine, sizeof v->engine, "%s", w->engine);
		snprintf(v->options, sizeof v->options, "%s", w->options);
		snprintf(v->host, sizeof v->host, "%s", w->host);
	}
	return 0;
}

struct jobrun_seen { int n; int64_t id[4]; double wall[4], worker[4], started[4], finished[4];
		     int64_t width[4], height[4]; char mask[4][32]; };

static int jobrun_cb(void *ctx, const struct store_job_row *r)
{
	struct jobrun_seen *v = ctx;
	if (v->n < 4) {
		v->id[v->n] = r->id;
		v->wall[v->n] = r->wall_ms;
		v->worker[v->n] = r->worker_ms;
		v->started[v->n] = r->started;
		v->finished[v->n] = r->finished;
		v->width[v->n] = r->width;
		v->height[v->n] = r->height;
		snprintf(v->mask[v->n], sizeof v->mask[0], "%s", r->mask);
	}
	v->n++;
	return 0;
}

struct tile_seen { int n; int state[4]; double ms[4]; };

static int tile_cb(void *ctx, const struct store_tile_row *t)
{
	struct tile_seen *v = ctx;
	if (v->n < 4) {
		v->state[v->n] = t->state;
		v->ms[v->n] = t->engine_ms;
	}
	v->n++;
	return 0;
}

/* A run records what it is and how far it got; each image's attempt has
 * its wall time; jobs, stages and tiles can be read per run. */
static void test_store_runs_recorded(void **state)
{
	struct fx_store_dir *f = *state;
	struct store *s = fx_store_open(f->db);
	int64_t r1 = 0, r2 = 0, a = add_job(s, &spec_a), b;
	const struct store_job_spec sb = { "in/b.tif", NULL, "out/b.tif", "isig-b", "", "opt-1", "", "" };
	struct store_run_info info = { "telea", "engine=telea tile=64", "abc", "", 2, 5, 4 };
	struct store_run_counts c = { .images = 2, .done = 1, .inpainted = 3, .megapixels = 0.5 };
	struct store_tile_rec t[2] = { { 0, 0, 8, 8, 0 }, { 8, 0, 8, 6, 1 } };
	struct run_seen v;
	struct jobrun_seen jv;
	struct tile_seen tv;
	struct stage_seen sv;
	struct store_lease l;

	b = add_job(s, &sb);
	assert_int_equal(store_run_begin(s, "tilepaint run x", "hostA", 42, &r1), TP_OK);
	assert_int_equal(store_run_describe(s, r1, &info), TP_OK);
	l = claim_ok(s, a, "hostA:42:1", 100, 60);
	assert_int_equal(store_run_job_begin(s, r1, a), TP_OK);
	assert_int_equal(store_tiles_plan(s, &l, t, 2), TP_OK);
	assert_int_equal(store_tile_put(s, &l, 0, "r", 1, 7.5), TP_OK);
	assert_int_equal(store_timing_add(s, r1, a, "inference", 1, 7.5), TP_OK);
	assert_int_equal(store_job_done(s, &l, "sig", NULL, NULL), TP_OK);
	assert_int_equal(store_run_job_end(s, r1, a, STORE_JOB_DONE, 12.25), TP_OK);
	assert_int_equal(store_run_progress(s, r1, &c), TP_OK);
	assert_int_equal(store_run_end(s, r1, 0), TP_OK);
	/* a second run works on b only */
	assert_int_equal(store_run_begin(s, "tilepaint run y", "hostA", 43, &r2), TP_OK);
	assert_int_equal(store_run_job_begin(s, r2, b), TP_OK);
	assert_int_equal(store_timing_add(s, r2, b, "decode", 1, 2.0), TP_OK);

	memset(&v, 0, sizeof v);
	assert_int_equal(store_runs_each(s, 0, run_cb, &v), TP_OK);
	assert_int_equal(v.n, 2);
	assert_int_equal(v.id, r1);
	assert_string_equal(v.engine, "telea");
	assert_string_equal(v.options, "engine=telea tile=64");
	assert_string_equal(v.host, "hostA");
	assert_int_equal(v.threads, 2);
	assert_int_equal(v.discovered, 5);
	assert_int_equal(v.unknown, 4);
	assert_int_equal(v.images, 2);
	assert_int_equal(v.done, 1);
	assert_int_equal(v.inpainted, 3);
	assert_true(v.mp == 0.5);
	assert_true(v.started > 1e9 && v.finished >= v.started);
	memset(&v, 0, sizeof v);
	assert_int_equal(store_runs_each(s, r2, run_cb, &v), TP_OK);
	assert_int_equal(v.n, 1);
	assert_int_equal(v.id, r2);
	assert_true(v.finished == 0);

	/* every job; then run 1's and run 2's */
	memset(&jv, 0, sizeof jv);
	assert_int_equal(store_jobs_each_run(s, 0, jobrun_cb, &jv), TP_OK);
	assert_int_equal(jv.n, 2);
	assert_true(jv.wall[0] == 12.25);
	assert_true(jv.worker[0] == 7.5);
	assert_int_equal(jv.width[0], 16);
	assert_int_equal(jv.height[0], 8);
	assert_string_equal(jv.mask[0], "masks/a.png");
	assert_true(jv.finished[0] >= jv.started[0] && jv.started[0] > 1e9);
	assert_true(jv.finished[1] == 0);      /* b's attempt has not ended */
	memset(&jv, 0, sizeof jv);
	assert_int_equal(store_jobs_each_run(s, r2, jobrun_cb, &jv), TP_OK);
	assert_int_equal(jv.n, 1);
	assert_int_equal(jv.id[0], b);
	assert_true(jv.worker[0] == 2.0);

	memset(&sv, 0, sizeof sv);
	assert_int_equal(store_stages_each_run(s, r1, -1, stage_cb, &sv), TP_OK);
	assert_int_equal(sv.n, 1);
	assert_string_equal(sv.name[0], "inference");
	memset(&sv, 0, sizeof sv);
	assert_int_equal(store_stages_each_run(s, 0, -1, stage_cb, &sv), TP_OK);
	assert_int_equal(sv.n, 2);

	memset(&tv, 0, sizeof tv);
	assert_int_equal(store_tiles_each(s, a, tile_cb, &tv), TP_OK);
	assert_int_equal(tv.n, 2);
	assert_int_equal(tv.state[0], STORE_TILE_DONE);
	assert_true(tv.ms[0] == 7.5);
	assert_int_equal(tv.state[1], STORE_TILE_SKIPPED);
	assert_true(tv.ms[1] == -1);

	/* forgetting a job drops its attempts too */
	{
		int64_t removed = 0;
		assert_int_equal(store_forget(s, "in/a.tif", &removed), TP_OK);
		assert_int_equal(removed, 1);
		memset(&jv, 0, sizeof jv);
		assert_int_equal(store_jobs_each_run(s, r1, jobrun_cb, &jv), TP_OK);
		assert_int_equal(jv.n, 0);
	}
	store_close(s);
}

/* A store made by a schema-3 tilepaint (runs without the new columns, no
 * run_jobs) is migrated in place: its runs read with empty engine/options
 * and zero counts, its jobs and timings are kept, and new runs record all. */
static void test_store_migrate_v3(void **state)
{
	struct fx_store_dir *f = *state;
	struct store *s = NULL;
	char ver[64] = "";
	struct run_seen v;
	struct jobrun_seen jv;
	int64_t run = 0;
	struct store_run_info info = { "patch", "engine=patch", "h", "1/2", 4, 3, 3 };

	raw_sql(f->db, schema_v1);
	raw_sql(f->db,
		"ALTER TABLE jobs ADD COLUMN lease_gen INTEGER NOT NULL DEFAULT 0;"
		"ALTER TABLE jobs ADD COLUMN input_stat TEXT NOT NULL DEFAULT '';"
		"ALTER TABLE jobs ADD COLUMN mask_stat TEXT NOT NULL DEFAULT '';"
		"ALTER TABLE jobs ADD COLUMN output_stat TEXT NOT NULL DEFAULT '';"
		"ALTER TABLE jobs ADD COLUMN failed_input INTEGER NOT NULL DEFAULT 0;"
		"INSERT INTO meta(key, value) VALUES('schema_version', '3');"
		"INSERT INTO runs(id, started, ended, argv, host, pid, exit_status)"
		" VALUES(1, 1000, 1010, 'tilepaint run in -o out', 'old', 7, 0);"
		"INSERT INTO jobs(id, input, mask, output, input_sig, mask_sig, options_hash,"
		" state, attempts, output_sig, created, updated) VALUES(1, 'in/a.tif',"
		" 'masks/a.png', 'out/a.tif', 'isig-a', 'msig-a', 'opt-1', 2, 1, 'osig-a', 5, 6);"
		"INSERT INTO timings(run_id, job_id, stage, count, ms) VALUES(1, 1, 'decode', 1, 4.0);");

	assert_int_equal(store_open(f->db, 1, &s), TP_EFORMAT);   /* readonly: not upgraded */
	s = fx_store_open(f->db);
	assert_int_equal(store_integrity_check(s), TP_OK);
	raw_query(f->db, "SELECT value FROM meta WHERE key = 'schema_version'", raw_val_cb, ver);
	assert_string_equal(ver, "4");
	memset(&v, 0, sizeof v);
	assert_int_equal(store_runs_each(s, 0, run_cb, &v), TP_OK);
	assert_int_equal(v.n, 1);
	assert_string_equal(v.host, "old");
	assert_string_equal(v.engine, "");
	assert_int_equal(v.images, 0);
	assert_true(v.started == 1000 && v.finished == 1010);
	memset(&jv, 0, sizeof jv);
	assert_int_equal(store_jobs_each_run(s, 1, jobrun_cb, &jv), TP_OK);
	assert_int_equal(jv.n, 1);                 /* through its timing */
	assert_true(jv.worker[0] == 4.0);
	assert_true(jv.wall[0] == 0);              /* not recorded before schema 4 */
	assert_int_equal(find_ok(s, "out/a.tif").state, STORE_JOB_DONE);

	assert_int_equal(store_run_begin(s, "tilepaint run in -o out", "new", 8, &run), TP_OK);
	assert_int_equal(run, 2);
	assert_int_equal(store_run_describe(s, run, &info), TP_OK);
	assert_int_equal(store_run_job_begin(s, run, 1), TP_OK);
	assert_int_equal(store_run_job_end(s, run, 1, STORE_JOB_DONE, 5.0), TP_OK);
	memset(&v, 0, sizeof v);
	assert_int_equal(store_runs_each(s, run, run_cb, &v), TP_OK);
	assert_string_equal(v.engine, "patch");
	assert_int_equal(v.threads, 4);
	store_close(s);
	assert_int_equal(store_open(f->db, 1, &s), TP_OK);
	store_close(s);
}

/* ---- locking and concurrency ---- */

static void test_store_busy_is_ebusy(void **state)
{
	struct fx_store_dir *f = *state;
	struct store *s = fx_store_open(f->db);
	struct store_tile_rec t[1] = { { 0, 0, 8, 8, 0 } };
	sqlite3 *other = NULL;
	struct store_lease l, l2;
	int got = -1;
	int64_t id = add_job(s, &spec_a);

	l = claim_ok(s, id, "me", 10, 60);
	assert_int_equal(store_tiles_plan(s, &l, t, 1), TP_OK);
	/* another process holds the write lock and does not let go */
	assert_int_equal(sqlite3_open(f->db, &other), SQLITE_OK);
	assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	store_busy_timeout_set(s, 50);
	assert_int_equal(store_job_claim(s, id, "me", 20, 60, NULL, &l2, &got, NULL, 0), TP_EBUSY);
	assert_int_equal(got, 0);
	assert_int_equal(l2.gen, 0);
	assert_non_null(strstr(tp_errmsg(), "locked by another process"));
	assert_non_null(strstr(tp_errmsg(), f->db));
	assert_int_equal(store_tile_put(s, &l, 0, "x", 1, 1.0), TP_EBUSY);
	assert_int_equal(store_job_renew(s, &l, 20, 60), TP_EBUSY);
	/* reads still work in WAL mode */
	struct store_status st;
	assert_int_equal(store_status_get(s, 0, &st), TP_OK);
	assert_int_equal(st.jobs[STORE_JOB_RUNNING], 1);
	assert_int_equal(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(other);
	/* the failed calls left no transaction open (and the lease intact) */
	assert_int_equal(store_tile_put(s, &l, 0, "x", 1, 1.0), TP_OK);
	/* reclaiming (same owner) makes a new lease; the old one is fenced out */
	l2 = claim_ok(s, id, "me", 20, 60);
	assert_int_equal(l2.gen, l.gen + 1);
	assert_int_equal(store_tile_put(s, &l2, 0, "x", 1, 1.0), TP_OK);
	assert_int_equal(store_tile_put(s, &l, 0, "x", 1, 1.0), TP_ELEASE);
	store_close(s);
}

static void test_store_readonly_while_writing(void **state)
{
	struct fx_store_dir *f = *state;
	struct store *w = fx_store_open(f->db), *r = NULL;
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
	struct fx_store_dir *f = *state;
	struct store *s = fx_store_open(f->db);
	enum { NPROC = 4 };
	pid_t pid[NPROC];
	int wins = 0, got = 0;
	char holder[32];
	struct store_lease l;
	int64_t id = add_job(s, &spec_a);
	store_close(s);

	for (int i = 0; i < NPROC; i++) {
		pid[i] = fork();
		assert_true(pid[i] >= 0);
		if (pid[i] == 0) {
			struct store *c = NULL;
			char owner[16];
			struct store_lease cl;
			int g = 0;
			snprintf(owner, sizeof owner, "p%d", i);
			if (store_open(f->db, 0, &c) != TP_OK ||
			    store_job_claim(c, id, owner, 1000, 60, NULL, &cl, &g, NULL, 0) != TP_OK)
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
	s = fx_store_open(f->db);
	assert_int_equal(store_job_claim(s, id, "late", 1001, 60, NULL, &l, &got, holder,
					 sizeof holder), TP_OK);
	assert_int_equal(got, 0);
	assert_int_equal(holder[0], 'p');
	store_close(s);
}

/* Several processes create the same new store at once (cron runs that start
 * together): all open it, and they agree on one job. */
static void test_store_open_race(void **state)
{
	struct fx_store_dir *f = *state;
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
	struct store *s = fx_store_open(f->db);
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
	struct fx_store_dir *f = *state;
	struct store_tile_rec t[1] = { { 0, 0, 4, 4, 0 } };
	int ok = 0;

	for (long n = 0; n < 1000 && !ok; n++) {
		struct store *s = NULL;
		struct store_job j;
		struct store_lease l;
		int got = 0;
		void *blob = NULL;
		size_t len = 0;
		tp_status r;

		unlink(f->db);
		tp_alloc_fail_at(n);
		r = store_open(f->db, 0, &s);
		if (r == TP_OK)
			r = store_job_sync(s, &spec_a, &j);
		if (r == TP_OK)
			r = store_job_claim(s, j.id, "me", 10, 60, NULL, &l, &got, NULL, 0);
		if (r == TP_OK)
			assert_int_equal(got, 1);
		if (r == TP_OK)
			r = store_tiles_plan(s, &l, t, 1);
		if (r == TP_OK)
			r = store_tile_put(s, &l, 0, "abcd", 4, 1.0);
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
		cmocka_unit_test_setup_teardown(test_store_schema_create_reopen, fx_store_setup, fx_store_teardown),
		cmocka_unit_test_setup_teardown(test_store_readonly_missing, fx_store_setup, fx_store_teardown),
		cmocka_unit_test_setup_teardown(test_store_garbage_file, fx_store_setup, fx_store_teardown),
		cmocka_unit_test_setup_teardown(test_store_foreign_db, fx_store_setup, fx_store_teardown),
		cmocka_unit_test_setup_teardown(test_store_newer_schema, fx_store_setup, fx_store_teardown),
		cmocka_unit_test_setup_teardown(test_store_sync_semantics, fx_store_setup, fx_store_teardown),
		cmocka_unit_test_setup_teardown(test_store_claims, fx_store_setup, fx_store_teardown),
		cmocka_unit_test_setup_teardown(test_store_tiles_plan_rules, fx_store_setup, fx_store_teardown),
		cmocka_unit_test_setup_teardown(test_store_tile_blob_roundtrip, fx_store_setup, fx_store_teardown),
		cmocka_unit_test_setup_teardown(test_store_job_done_drops_blobs, fx_store_setup, fx_store_teardown),
		cmocka_unit_test_setup_teardown(test_store_timings_and_stages, fx_store_setup, fx_store_teardown),
		cmocka_unit_test_setup_teardown(test_store_status_and_jobs_each, fx_store_setup, fx_store_teardown),
		cmocka_unit_test_setup_teardown(test_store_fence_takeover, fx_store_setup, fx_store_teardown),
		cmocka_unit_test_setup_teardown(test_store_fence_same_owner, fx_store_setup, fx_store_teardown),
		cmocka_unit_test_setup_teardown(test_store_sync_fences_holder, fx_store_setup, fx_store_teardown),
		cmocka_unit_test_setup_teardown(test_store_done_publish_error, fx_store_setup, fx_store_teardown),
		cmocka_unit_test_setup_teardown(test_store_fail_unfenced, fx_store_setup, fx_store_teardown),
		cmocka_unit_test_setup_teardown(test_store_find_and_output_stat, fx_store_setup, fx_store_teardown),
		cmocka_unit_test_setup_teardown(test_store_migrate_v1, fx_store_setup, fx_store_teardown),
		cmocka_unit_test_setup_teardown(test_store_migrate_v3, fx_store_setup, fx_store_teardown),
		cmocka_unit_test_setup_teardown(test_store_runs_recorded, fx_store_setup, fx_store_teardown),
		cmocka_unit_test_setup_teardown(test_store_busy_is_ebusy, fx_store_setup, fx_store_teardown),
		cmocka_unit_test_setup_teardown(test_store_readonly_while_writing, fx_store_setup, fx_store_teardown),
		cmocka_unit_test_setup_teardown(test_store_claim_race, fx_store_setup, fx_store_teardown),
		cmocka_unit_test_setup_teardown(test_store_open_race, fx_store_setup, fx_store_teardown),
		cmocka_unit_test_setup_teardown(test_store_oom_loop, fx_store_setup, fx_store_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
