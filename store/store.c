/*
 * store.c - the SQLite job store behind store.h: schema and migrations, jobs
 * and their leases, tile results, timings, and the status/report queries.
 *
 * Invariants: every change is one transaction (read-then-write ones BEGIN
 * IMMEDIATE, so two processes never both see a job as free); statements are
 * prepared once per connection and always reset before a function returns.
 */
#include "store.h"
#include "store_int.h"

#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* The states as SQL literals, tied to the enums of store.h at compile time,
 * so the SQL below names states instead of spelling their numbers. */
#define J_QUEUED "0"
#define J_RUNNING "1"
#define J_DONE "2"
#define J_FAILED "3"
#define T_PENDING "0"
#define T_DONE "1"
#define T_SKIPPED "2"
#define T_FAILED "3"
_Static_assert(STORE_JOB_QUEUED == 0 && STORE_JOB_RUNNING == 1 && STORE_JOB_DONE == 2 &&
	       STORE_JOB_FAILED == 3, "J_* literals must match enum store_job_state");
_Static_assert(STORE_TILE_PENDING == 0 && STORE_TILE_DONE == 1 && STORE_TILE_SKIPPED == 2 &&
	       STORE_TILE_FAILED == 3, "T_* literals must match enum store_tile_state");

/* ---- connection and statement cache -------------------------------------- */

/* Cached statements, one slot each; the SQL lives beside the function using it. */
enum stmt_id {
	ST_BEGIN_IMM, ST_COMMIT,
	ST_RUN_BEGIN, ST_RUN_END,
	ST_JOB_FIND, ST_JOB_INSERT, ST_JOB_RESET, ST_JOB_SET_MASK, ST_TILES_DELETE,
	ST_JOB_READ, ST_JOB_CLAIM, ST_JOB_RENEW, ST_JOB_RELEASE, ST_JOB_DONE,
	ST_TILES_DROP_BLOBS, ST_JOB_FAIL, ST_JOB_FAIL_ANY,
	ST_TILES_LIST, ST_TILE_INSERT, ST_TILES_DONE, ST_TILE_GET, ST_TILE_PUT,
	ST_TILE_FAIL, ST_TIMING_ADD, ST_FENCE, ST_JOB_STATS, ST_JOB_OUT_STAT,
	ST_STATUS_JOBS, ST_STATUS_TILES, ST_STATUS_TIMED, ST_STATUS_RUN,
	ST_JOBS_EACH, ST_STAGES_EACH, ST_JOB_REQUEUE, ST_FORGET_TILES, ST_FORGET_JOBS, ST_JOB_EXPECT,
	ST_RUN_DESCRIBE, ST_RUN_PROGRESS, ST_RUN_JOB_BEGIN, ST_RUN_JOB_END, ST_RUNS_EACH,
	ST_TILES_EACH,
	ST_COUNT
};

struct store {
	sqlite3 *db;                       /* owned; closed by store_close */
	char *path;                        /* owned copy, for error messages */
	int readonly;                      /* opened with readonly = 1 */
	int busy_ms;                       /* busy timeout, milliseconds */
	sqlite3_stmt *stmt[ST_COUNT];      /* lazily prepared, owned */
};

const char *store_job_state_name(enum store_job_state st)
{
	static const char *const names[STORE_JOB_NSTATES] = {
		"queued", "running", "done", "failed"
	};
	if ((unsigned)st < STORE_JOB_NSTATES)
		return names[st];
	return "unknown";
}

const char *store_tile_state_name(enum store_tile_state st)
{
	static const char *const names[STORE_TILE_NSTATES] = {
		"pending", "done", "skipped", "failed"
	};
	if ((unsigned)st < STORE_TILE_NSTATES)
		return names[st];
	return "unknown";
}

/* Map an SQLite result code to our status. */
TP_MUST_USE static tp_status status_of(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return TP_EBUSY;
	case SQLITE_NOMEM:
		return TP_ENOMEM;
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
	case SQLITE_FORMAT:
		return TP_EFORMAT;
	case SQLITE_CONSTRAINT:
	case SQLITE_MISUSE:
	case SQLITE_RANGE:
		return TP_EINTERNAL;
	case SQLITE_TOOBIG:
		return TP_EUSAGE;
	default:                /* IOERR, FULL, CANTOPEN, READONLY, PERM, ... */
		return TP_EIO;
	}
}

/*
 * Report an SQLite failure: "<path>: <what>: <sqlite message>". Must run
 * before anything else touches the connection (a ROLLBACK resets errmsg).
 */
TP_MUST_USE static tp_status db_fail(struct store *s, int rc, const char *what)
{
	const char *msg = s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);
	if ((rc & 0xff) == SQLITE_BUSY)
		return tp_err(TP_EBUSY, "%s: %s: store is locked by another process "
			      "(waited %.1f s: %s)", s->path, what, s->busy_ms / 1000.0, msg);
	return tp_err(status_of(rc), "%s: %s: %s", s->path, what, msg);
}

/* The cached statement `id`, prepared from `sql` on first use. */
TP_MUST_USE static tp_status stmt_get(struct store *s, enum stmt_id id, const char *sql,
			  sqlite3_stmt **out)
{
	if (!s->stmt[id]) {
		int rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
					    &s->stmt[id], NULL);
		if (rc != SQLITE_OK) {
			s->stmt[id] = NULL;
			*out = NULL;
			return db_fail(s, rc, "preparing a statement");
		}
	}
	*out = s->stmt[id];
	return TP_OK;
}

/* Make a statement reusable and drop its borrowed bindings. Accepts NULL. */
static void stmt_reset(sqlite3_stmt *st)
{
	if (st) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
}

/* A bind call failed: report it (binding only fails on NOMEM/TOOBIG/RANGE). */
TP_MUST_USE static tp_status bind_fail(struct store *s, sqlite3_stmt *st, const char *what)
{
	tp_status r = db_fail(s, sqlite3_errcode(s->db), what);
	stmt_reset(st);
	return r;
}

/*
 * Bind ?1.. from `fmt`, one letter per parameter: 'i' int64_t, 't' text
 * (const char *, NULL binds NULL; borrowed until the statement is reset),
 * 'd' double, 'b' blob (const void *, size_t; a 0-byte blob is bound as
 * such, never as NULL). On failure the statement is reset and the error
 * reported as `what`.
 */
TP_MUST_USE static tp_status bindf(struct store *s, sqlite3_stmt *st, const char *what, const char *fmt, ...)
{
	static const char zero = 0;
	va_list ap;
	int rc = SQLITE_OK, i = 1;
	va_start(ap, fmt);
	for (const char *f = fmt; *f && rc == SQLITE_OK; f++, i++) {
		switch (*f) {
		case 'i': rc = sqlite3_bind_int64(st, i, va_arg(ap, int64_t)); break;
		case 't': rc = sqlite3_bind_text(st, i, va_arg(ap, const char *), -1, SQLITE_STATIC); break;
		case 'd': rc = sqlite3_bind_double(st, i, va_arg(ap, double)); break;
		case 'b': {
			const void *p = va_arg(ap, const void *);
			size_t n = va_arg(ap, size_t);
			rc = sqlite3_bind_blob64(st, i, n ? p : (const void *)&zero, n, SQLITE_STATIC);
			break;
		}
		default: rc = SQLITE_MISUSE; break;
		}
	}
	va_end(ap);
	return rc == SQLITE_OK ? TP_OK : bind_fail(s, st, what);
}

/* Step a statement that returns no rows, then reset it. */
TP_MUST_USE static tp_status stmt_run(struct store *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);
	tp_status r = TP_OK;
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		r = db_fail(s, rc, what);
	stmt_reset(st);
	return r;
}

/* Run one fixed SQL statement with no parameters through the cache. */
TP_MUST_USE static tp_status exec_cached(struct store *s, enum stmt_id id, const char *sql,
			     const char *what)
{
	sqlite3_stmt *st;
	tp_status r = stmt_get(s, id, sql, &st);
	if (r == TP_OK)
		r = stmt_run(s, st, what);
	return r;
}

/* BEGIN IMMEDIATE: take the write lock now (waiting up to the busy timeout),
 * so the reads that follow cannot be invalidated before our write. */
TP_MUST_USE static tp_status tx_begin(struct store *s, const char *what)
{
	return exec_cached(s, ST_BEGIN_IMM, "BEGIN IMMEDIATE", what);
}

TP_MUST_USE static tp_status tx_commit(struct store *s, const char *what)
{
	return exec_cached(s, ST_COMMIT, "COMMIT", what);
}

/* Roll back if a transaction is still open (SQLite may have rolled back on
 * its own after an I/O error). Keeps the caller's error message. */
static void tx_rollback(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Copy a possibly-NULL column text into a fixed buffer, truncating. */
static void copy_col(char *dst, size_t cap, sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

/* Wall clock, seconds with a fractional part (runs and attempts are timed
 * to the millisecond; tp_wall_s is whole seconds). */
static double wall_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- schema -------------------------------------------------------------- */

/*
 * Migrations: step i brings the schema from version i to i + 1. All pending
 * steps run in one transaction with the version bump, so a kill mid-way
 * leaves the old schema intact. Append new steps; never edit old ones.
 */
static const char *const migrations[STORE_SCHEMA_VERSION] = {
	/* 0 -> 1: the initial schema */
	"CREATE TABLE meta("
	"  key TEXT PRIMARY KEY,"
	"  value TEXT NOT NULL);"
	"CREATE TABLE runs("
	"  id INTEGER PRIMARY KEY,"
	"  started INTEGER NOT NULL,"          /* wall seconds */
	"  ended INTEGER,"                     /* NULL while running or killed */
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
	"  state INTEGER NOT NULL DEFAULT 0,"  /* enum store_job_state */
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  error TEXT NOT NULL DEFAULT '',"
	"  lease_owner TEXT,"                  /* NULL unless running */
	"  lease_expires INTEGER,"             /* wall seconds */
	"  output_sig TEXT NOT NULL DEFAULT '',"
	"  created INTEGER NOT NULL,"
	"  updated INTEGER NOT NULL);"
	"CREATE INDEX jobs_by_state ON jobs(state, lease_expires);"
	"CREATE TABLE tiles("
	"  job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
	"  idx INTEGER NOT NULL,"
	"  x INTEGER NOT NULL, y INTEGER NOT NULL,"
	"  w INTEGER NOT NULL, h INTEGER NOT NULL,"
	"  state INTEGER NOT NULL,"            /* enum store_tile_state */
	"  result BLOB,"                       /* engine output; NULL once the job is done */
	"  engine_ms REAL,"
	"  PRIMARY KEY(job_id, idx));"
	"CREATE INDEX tiles_by_state ON tiles(state, engine_ms);"
	"CREATE TABLE timings("
	"  run_id INTEGER NOT NULL,"
	"  job_id INTEGER NOT NULL,"           /* 0 = process-wide stage */
	"  stage TEXT NOT NULL,"
	"  count INTEGER NOT NULL,"
	"  ms REAL NOT NULL,"
	"  UNIQUE(run_id, job_id, stage));"
	"CREATE INDEX timings_by_job ON timings(job_id, stage);",
	/* 1 -> 2: fenced leases (a generation bumped by every claim), file
	 * identities beside the content signatures (the cheap unchanged check) */
	"ALTER TABLE jobs ADD COLUMN lease_gen INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE jobs ADD COLUMN input_stat TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE jobs ADD COLUMN mask_stat TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE jobs ADD COLUMN output_stat TEXT NOT NULL DEFAULT '';",
	/* 2 -> 3: how a failed job failed: 1 when its input is what was wrong
	 * (not worth trying again until something changes), 0 otherwise */
	"ALTER TABLE jobs ADD COLUMN failed_input INTEGER NOT NULL DEFAULT 0;",
	/* 3 -> 4: runs in the record: what each run was (engine, options, -j,
	 * how many images it found) and how far it got, written as it goes;
	 * each image's attempt per run with its wall time; timings by run.
	 * started/ended take fractional seconds from now on. */
	"ALTER TABLE runs ADD COLUMN engine TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE runs ADD COLUMN options TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE runs ADD COLUMN options_hash TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE runs ADD COLUMN shard TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE runs ADD COLUMN threads INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE runs ADD COLUMN discovered INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE runs ADD COLUMN unknown INTEGER NOT NULL DEFAULT 0;"   /* no job at its start */
	"ALTER TABLE runs ADD COLUMN reached_unknown INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE runs ADD COLUMN images INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE runs ADD COLUMN done INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE runs ADD COLUMN failed INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE runs ADD COLUMN skipped INTEGER NOT NULL DEFAULT 0;"   /* up to date */
	"ALTER TABLE runs ADD COLUMN busy INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE runs ADD COLUMN tiles INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE runs ADD COLUMN inpainted INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE runs ADD COLUMN reused INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE runs ADD COLUMN megapixels REAL NOT NULL DEFAULT 0;"
	"ALTER TABLE runs ADD COLUMN seen REAL;"                          /* last progress write */
	"CREATE TABLE run_jobs("
	"  run_id INTEGER NOT NULL,"
	"  job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
	"  started REAL NOT NULL,"             /* wall seconds, at the claim */
	"  wall_ms REAL NOT NULL DEFAULT 0,"   /* claim to end of the attempt */
	"  outcome INTEGER NOT NULL,"          /* enum store_job_state; running: not ended */
	"  PRIMARY KEY(run_id, job_id));"
	"CREATE INDEX run_jobs_by_job ON run_jobs(job_id);"
	"CREATE INDEX timings_by_run ON timings(run_id, job_id);",
};

/*
 * Count table meta and the other tables (not SQLite's own) in one statement,
 * so both numbers come from one snapshot: another process may be creating
 * the schema right now.
 */
TP_MUST_USE static tp_status count_tables(struct store *s, int64_t *meta, int64_t *others)
{
	sqlite3_stmt *st = NULL;
	int rc;
	tp_status r = TP_OK;

	rc = sqlite3_prepare_v2(s->db,
		"SELECT (SELECT count(*) FROM sqlite_schema WHERE type = 'table' "
		"AND name = 'meta'), (SELECT count(*) FROM sqlite_schema WHERE type = "
		"'table' AND name <> 'meta' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\')",
		-1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		/* The first read of the file: this is where garbage shows up. */
		if ((rc & 0xff) == SQLITE_NOTADB)
			r = tp_err(TP_EFORMAT, "%s: not a tilepaint store (not an "
				   "SQLite database)", s->path);
		else
			r = db_fail(s, rc, "reading the schema");
		goto out;
	}
	*meta = sqlite3_column_int64(st, 0);
	*others = sqlite3_column_int64(st, 1);
out:
	sqlite3_finalize(st);
	return r;
}

/* The schema version recorded in meta (0 for an empty database). Table meta
 * and its version row are created in one transaction, so seeing one
 * implies the other. */
TP_MUST_USE static tp_status schema_version(struct store *s, int64_t *version)
{
	sqlite3_stmt *st = NULL;
	int64_t meta = 0, others = 0;
	int rc;
	tp_status r = count_tables(s, &meta, &others);

	if (r != TP_OK)
		return r;
	if (meta == 0) {
		if (others > 0)
			return tp_err(TP_EFORMAT, "%s: not a tilepaint store (an SQLite "
				      "database with other tables)", s->path);
		*version = 0;
		return TP_OK;
	}
	rc = sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key = 'schema_version'",
				-1, &st, NULL);
	if (rc != SQLITE_OK) {
		r = db_fail(s, rc, "reading the schema version");
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		r = tp_err(TP_EFORMAT, "%s: not a tilepaint store (no schema version "
			   "in table meta)", s->path);
		goto out;
	}
	if (rc != SQLITE_ROW) {
		r = db_fail(s, rc, "reading the schema version");
		goto out;
	}
	*version = sqlite3_column_int64(st, 0);
	if (*version < 1) {
		r = tp_err(TP_EFORMAT, "%s: bad schema version '%s' in table meta",
			   s->path, (const char *)sqlite3_column_text(st, 0));
		goto out;
	}
out:
	sqlite3_finalize(st);
	return r;
}

/* Check the schema version and, for a writable store, migrate it. */
TP_MUST_USE static tp_status schema_apply(struct store *s)
{
	int64_t v = 0;
	char sql[96];
	int rc;
	tp_status r = schema_version(s, &v);

	if (r != TP_OK)
		return r;
	if (v > STORE_SCHEMA_VERSION)
		return tp_err(TP_EFORMAT, "%s: store schema version %lld is newer than "
			      "this tilepaint knows (%d); use a newer tilepaint",
			      s->path, (long long)v, STORE_SCHEMA_VERSION);
	if (v == STORE_SCHEMA_VERSION)
		return TP_OK;
	if (s->readonly)
		return tp_err(TP_EFORMAT, "%s: %s (schema version %lld, expected %d); "
			      "a 'tilepaint run' upgrades it", s->path,
			      v == 0 ? "empty store" : "old store schema",
			      (long long)v, STORE_SCHEMA_VERSION);

	r = tx_begin(s, "starting the schema migration");
	if (r != TP_OK)
		return r;
	/* Another process may have migrated while we waited for the lock. */
	r = schema_version(s, &v);
	if (r != TP_OK)
		goto fail;
	if (v > STORE_SCHEMA_VERSION) {
		r = tp_err(TP_EFORMAT, "%s: store schema version %lld is newer than "
			   "this tilepaint knows (%d)", s->path, (long long)v,
			   STORE_SCHEMA_VERSION);
		goto fail;
	}
	for (; v < STORE_SCHEMA_VERSION; v++) {
		rc = sqlite3_exec(s->db, migrations[v], NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			r = db_fail(s, rc, "migrating the schema");
			goto fail;
		}
	}
	snprintf(sql, sizeof sql, "INSERT OR REPLACE INTO meta(key, value) "
		 "VALUES('schema_version', '%d')", STORE_SCHEMA_VERSION);
	rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		r = db_fail(s, rc, "recording the schema version");
		goto fail;
	}
	r = tx_commit(s, "committing the schema migration");
	if (r == TP_OK)
		return TP_OK;
fail:
	tx_rollback(s);
	return r;
}

/* ---- open / close -------------------------------------------------------- */

/* Run a pragma (or any SQL without results we need) at open time. */
TP_MUST_USE static tp_status exec_plain(struct store *s, const char *sql, const char *what)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return db_fail(s, rc, what);
	return TP_OK;
}

/*
 * Switch the database to WAL. The one place we retry by hand: when several
 * processes open a new store at once, the switch from the rollback journal
 * needs an exclusive lock and SQLite returns SQLITE_BUSY at once, without
 * calling the busy handler (it would deadlock against a reader's lock).
 * We retry for as long as the busy timeout would have waited, no longer.
 */
TP_MUST_USE static tp_status wal_enable(struct store *s)
{
	double t0 = tp_now_ms();
	const struct timespec pause = { 0, 10 * 1000 * 1000 };   /* 10 ms */
	sqlite3_stmt *st = NULL;
	tp_status r = TP_OK;
	int rc;

	for (;;) {
		rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			const char *m = (const char *)sqlite3_column_text(st, 0);
			if (!m || strcmp(m, "wal") != 0)
				r = tp_err(TP_EIO, "%s: cannot switch the store to WAL mode "
					   "(journal mode stays '%s')", s->path, m ? m : "?");
			break;
		}
		if ((rc & 0xff) != SQLITE_BUSY || tp_now_ms() - t0 >= s->busy_ms) {
			r = db_fail(s, rc, "setting WAL mode");
			break;
		}
		sqlite3_finalize(st);
		st = NULL;
		nanosleep(&pause, NULL);
	}
	sqlite3_finalize(st);
	return r;
}

/* Reopen s->path read-only as an immutable database (URI immutable=1). */
TP_MUST_USE static tp_status reopen_immutable(struct store *s)
{
	size_t n = strlen(s->path);
	char *uri = tp_malloc(n * 3 + 32), *o;
	int rc;
	if (!uri)
		return tp_err(TP_ENOMEM, "%s: out of memory opening the store", s->path);
	o = uri + sprintf(uri, "file:");
	for (const char *p = s->path; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '%' || c == '?' || c == '#' || c < 0x20 || c >= 0x7f)
			o += sprintf(o, "%%%02X", c);
		else
			*o++ = (char)c;
	}
	strcpy(o, "?immutable=1");
	sqlite3_close_v2(s->db);
	s->db = NULL;
	rc = sqlite3_open_v2(uri, &s->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI |
			     SQLITE_OPEN_NOMUTEX, NULL);
	tp_free(uri);
	if (rc != SQLITE_OK)
		return tp_err(TP_EIO, "%s: cannot open the job store: %s", s->path,
			      s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, s->busy_ms);
	return TP_OK;
}

tp_status store_open(const char *path, int readonly, struct store **out)
{
	struct store *s = NULL;
	struct stat sb;
	int rc, flags;
	tp_status r = TP_OK;

	*out = NULL;
	if (!path || !*path)
		return tp_err(TP_EUSAGE, "store: empty path");
	if (readonly && stat(path, &sb) != 0) {
		if (errno == ENOENT)
			return tp_err(TP_ENOENT, "%s: no job store here", path);
		return tp_err(TP_EIO, "%s: %s", path, strerror(errno));
	}
	s = tp_calloc(1, sizeof *s);
	if (!s)
		return tp_err(TP_ENOMEM, "%s: out of memory opening the store", path);
	s->path = tp_strdup(path);
	if (!s->path) {
		r = tp_err(TP_ENOMEM, "%s: out of memory opening the store", path);
		goto fail;
	}
	s->readonly = readonly != 0;

	flags = readonly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
	/* NOMUTEX: one thread uses a connection at a time (see store.h). */
	rc = sqlite3_open_v2(path, &s->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		if (!s->db)
			r = tp_err(TP_ENOMEM, "%s: out of memory opening the store", path);
		else
			r = tp_err(readonly ? TP_EIO : TP_ECREATE, "%s: cannot open the "
				   "job store: %s", path, sqlite3_errmsg(s->db));
		goto fail;
	}
	sqlite3_extended_result_codes(s->db, 1);
	/* Waits for other processes' write transactions; all of ours are short,
	 * so 30 s of waiting means something is wrong (TP_EBUSY). */
	s->busy_ms = 30000;
	sqlite3_busy_timeout(s->db, s->busy_ms);

	/* Read the schema first, before any pragma writes to the file, so a
	 * foreign file is reported as such and left untouched. */
	{
		int64_t v = 0;
		r = schema_version(s, &v);
		if (r != TP_OK && readonly && (sqlite3_errcode(s->db) & 0xff) == SQLITE_CANTOPEN) {
			/* A WAL store on a read-only file system (or in a directory we
			 * cannot write): its -shm cannot be made. Nobody can be writing
			 * it there, so read it as immutable. */
			r = reopen_immutable(s);
			if (r == TP_OK)
				r = schema_version(s, &v);
		}
		if (r != TP_OK)
			goto fail;
	}
	if (!readonly) {
		/*
		 * WAL: readers (tilepaint status) never block the writer, and a
		 * commit is one append to the log.
		 * synchronous=NORMAL: commits are not fsynced, only checkpoints.
		 * That is still safe against kill -9: a committed transaction is
		 * in the OS page cache and survives the process; the database is
		 * never corrupt. A power loss or OS crash can roll back the last
		 * few commits: tile results (recomputed on the next run), a claim
		 * (the lease is simply gone) or a "done" mark (the job runs again
		 * and, being deterministic, rewrites the same bytes).
		 */
		r = wal_enable(s);
		if (r != TP_OK)
			goto fail;
	}
	r = exec_plain(s, "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON",
		       "setting pragmas");
	if (r != TP_OK)
		goto fail;
	r = schema_apply(s);
	if (r != TP_OK)
		goto fail;
	*out = s;
	return TP_OK;
fail:
	store_close(s);
	return r;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(s->stmt[i]);
	/* close_v2: never leaves a zombie because a statement was left over. */
	sqlite3_close_v2(s->db);
	tp_free(s->path);
	tp_free(s);
}

void store_busy_timeout_set(struct store *s, int ms)
{
	s->busy_ms = ms;
	sqlite3_busy_timeout(s->db, ms);
}

tp_status store_integrity_check(struct store *s)
{
	sqlite3_stmt *st = NULL;
	tp_status r = TP_OK;
	int rc = sqlite3_prepare_v2(s->db, "PRAGMA integrity_check", -1, &st, NULL);

	if (rc != SQLITE_OK) {
		r = db_fail(s, rc, "integrity check");
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		r = db_fail(s, rc, "integrity check");
		goto out;
	}
	{
		const char *t = (const char *)sqlite3_column_text(st, 0);
		if (!t || strcmp(t, "ok") != 0)
			r = tp_err(TP_EFORMAT, "%s: integrity check failed: %s",
				   s->path, t ? t : "(no answer)");
	}
out:
	sqlite3_finalize(st);
	return r;
}

/* ---- runs ---------------------------------------------------------------- */

tp_status store_run_begin(struct store *s, const char *argv_line, const char *host,
			  int64_t pid, int64_t *run_id)
{
	sqlite3_stmt *st;
	tp_status r = stmt_get(s, ST_RUN_BEGIN,
		"INSERT INTO runs(started, argv, host, pid) VALUES(?1, ?2, ?3, ?4)", &st);
	if (r != TP_OK)
		return r;
	if ((r = bindf(s, st, "recording the run", "dtti", wall_now(), argv_line ? argv_line : "",
		       host ? host : "", pid)) != TP_OK)
		return r;
	r = stmt_run(s, st, "recording the run");
	if (r == TP_OK)
		*run_id = sqlite3_last_insert_rowid(s->db);
	return r;
}

tp_status store_run_end(struct store *s, int64_t run_id, int exit_status)
{
	sqlite3_stmt *st;
	tp_status r = stmt_get(s, ST_RUN_END,
		"UPDATE runs SET ended = ?1, exit_status = ?2 WHERE id = ?3", &st);
	if (r != TP_OK)
		return r;
	if ((r = bindf(s, st, "recording the end of the run", "dii", wall_now(),
		       (int64_t)exit_status, run_id)) != TP_OK)
		return r;
	return stmt_run(s, st, "recording the end of the run");
}

tp_status store_run_describe(struct store *s, int64_t run_id, const struct store_run_info *in)
{
	sqlite3_stmt *st;
	tp_status r = stmt_get(s, ST_RUN_DESCRIBE,
		"UPDATE runs SET engine = ?2, options = ?3, options_hash = ?4, shard = ?5, "
		"threads = ?6, discovered = ?7, unknown = ?8, seen = ?9 WHERE id = ?1", &st);
	if (r != TP_OK)
		return r;
	if ((r = bindf(s, st, "describing the run", "ittttiiid", run_id,
		       in->engine ? in->engine : "", in->options ? in->options : "",
		       in->options_hash ? in->options_hash : "", in->shard ? in->shard : "",
		       in->threads, in->discovered, in->unknown, wall_now())) != TP_OK)
		return r;
	return stmt_run(s, st, "describing the run");
}

tp_status store_run_progress(struct store *s, int64_t run_id, const struct store_run_counts *c)
{
	sqlite3_stmt *st;
	tp_status r = stmt_get(s, ST_RUN_PROGRESS,
		"UPDATE runs SET images = ?2, done = ?3, failed = ?4, skipped = ?5, busy = ?6, "
		"reached_unknown = ?7, tiles = ?8, inpainted = ?9, reused = ?10, megapixels = ?11, "
		"seen = ?12 WHERE id = ?1", &st);
	if (r != TP_OK)
		return r;
	if ((r = bindf(s, st, "recording the run's progress", "iiiiiiiiiidd", run_id, c->images,
		       c->done, c->failed, c->skipped, c->busy, c->reached_unknown, c->tiles,
		       c->inpainted, c->reused, c->megapixels, wall_now())) != TP_OK)
		return r;
	return stmt_run(s, st, "recording the run's progress");
}

tp_status store_run_job_begin(struct store *s, int64_t run_id, int64_t job_id)
{
	sqlite3_stmt *st;
	tp_status r = stmt_get(s, ST_RUN_JOB_BEGIN,
		"INSERT INTO run_jobs(run_id, job_id, started, outcome) VALUES(?1, ?2, ?3, "
		J_RUNNING ") ON CONFLICT(run_id, job_id) DO UPDATE SET outcome = " J_RUNNING, &st);
	if (r != TP_OK)
		return r;
	if ((r = bindf(s, st, "recording an image's start", "iid", run_id, job_id,
		       wall_now())) != TP_OK)
		return r;
	return stmt_run(s, st, "recording an image's start");
}

tp_status store_run_job_end(struct store *s, int64_t run_id, int64_t job_id,
			    enum store_job_state outcome, double wall_ms)
{
	sqlite3_stmt *st;
	tp_status r = stmt_get(s, ST_RUN_JOB_END,
		"UPDATE run_jobs SET outcome = ?3, wall_ms = wall_ms + ?4 "
		"WHERE run_id = ?1 AND job_id = ?2", &st);
	if (r != TP_OK)
		return r;
	if ((r = bindf(s, st, "recording an image's end", "iiid", run_id, job_id,
		       (int64_t)outcome, wall_ms)) != TP_OK)
		return r;
	return stmt_run(s, st, "recording an image's end");
}

/* ---- jobs ---------------------------------------------------------------- */

/* The columns job_from_row reads, in its order. */
#define JOB_COLS "id, state, attempts, output_sig, error, output_stat, input_sig, " \
		 "input_stat, mask_sig, mask_stat, failed_input"

static void job_from_row(sqlite3_stmt *st, int col, struct store_job *out)
{
	memset(out, 0, sizeof *out);
	out->id = sqlite3_column_int64(st, col);
	out->state = (enum store_job_state)sqlite3_column_int(st, col + 1);
	out->attempts = sqlite3_column_int64(st, col + 2);
	copy_col(out->output_sig, sizeof out->output_sig, st, col + 3);
	copy_col(out->error, sizeof out->error, st, col + 4);
	copy_col(out->output_stat, sizeof out->output_stat, st, col + 5);
	copy_col(out->input_sig, sizeof out->input_sig, st, col + 6);
	copy_col(out->input_stat, sizeof out->input_stat, st, col + 7);
	copy_col(out->mask_sig, sizeof out->mask_sig, st, col + 8);
	copy_col(out->mask_stat, sizeof out->mask_stat, st, col + 9);
	out->failed_input = out->state == STORE_JOB_FAILED && sqlite3_column_int(st, col + 10);
}

static int text_eq(sqlite3_stmt *st, int col, const char *want)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	if (!t)
		return want == NULL;
	return want && strcmp((const char *)t, want) == 0;
}

tp_status store_job_find(struct store *s, const char *output, int *found, struct store_job *out)
{
	sqlite3_stmt *st;
	int rc;
	tp_status r = stmt_get(s, ST_JOB_STATS,
		"SELECT " JOB_COLS " FROM jobs WHERE output = ?1", &st);
	*found = 0;
	memset(out, 0, sizeof *out);
	if (r != TP_OK)
		return r;
	if ((r = bindf(s, st, "looking up a job", "t", output)) != TP_OK)
		return r;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		job_from_row(st, 0, out);
		*found = 1;
	} else if (rc != SQLITE_DONE) {
		r = db_fail(s, rc, "looking up a job");
	}
	stmt_reset(st);
	return r;
}

/*
 * The job recorded for spec->output (its id, 0 when none) into *out, with
 * out->changed saying how it differs from the spec and *same_extra whether
 * the mask path and file identities match too. Inside or outside a
 * transaction.
 */
TP_MUST_USE static tp_status job_compare(struct store *s, const struct store_job_spec *spec,
					 struct store_job *out, int *same_extra)
{
	sqlite3_stmt *st = NULL;
	const char *mask_sig = spec->mask_sig ? spec->mask_sig : "";
	const char *in_stat = spec->input_stat ? spec->input_stat : "";
	const char *mk_stat = spec->mask_stat ? spec->mask_stat : "";
	int rc;
	tp_status r = stmt_get(s, ST_JOB_FIND,
		"SELECT " JOB_COLS ", input, options_hash, mask FROM jobs WHERE output = ?1", &st);
	memset(out, 0, sizeof *out);
	*same_extra = 0;
	if (r != TP_OK)
		return r;
	if ((r = bindf(s, st, "looking up a job", "t", spec->output)) != TP_OK)
		return r;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		job_from_row(st, 0, out);
		out->changed = (text_eq(st, 11, spec->input) && text_eq(st, 6, spec->input_sig)
				? 0 : STORE_CHANGED_INPUT) |
			       (text_eq(st, 8, mask_sig) ? 0 : STORE_CHANGED_MASK) |
			       (text_eq(st, 12, spec->options_hash) ? 0 : STORE_CHANGED_OPTIONS);
		*same_extra = text_eq(st, 13, spec->mask) && text_eq(st, 7, in_stat) &&
			      text_eq(st, 9, mk_stat);
	} else if (rc != SQLITE_DONE) {
		r = db_fail(s, rc, "looking up a job");
	}
	stmt_reset(st);
	return r;
}

tp_status store_job_preview(struct store *s, const struct store_job_spec *spec,
			    struct store_job *out)
{
	int same_extra, changed;
	int64_t id;
	tp_status r;
	if (!spec || !spec->input || !spec->output || !spec->input_sig || !spec->options_hash)
		return tp_err(TP_EUSAGE, "%s: job spec without input, output, input "
			      "signature or options hash", s->path);
	if ((r = job_compare(s, spec, out, &same_extra)) != TP_OK)
		return r;
	if (out->id && !out->changed)
		return TP_OK;
	/* as store_job_sync resets or adds it */
	id = out->id;
	changed = out->changed;
	memset(out, 0, sizeof *out);
	out->id = id;
	out->changed = changed;
	out->state = STORE_JOB_QUEUED;
	return TP_OK;
}

tp_status store_job_sync(struct store *s, const struct store_job_spec *spec,
			 struct store_job *out)
{
	sqlite3_stmt *st = NULL;
	const char *mask_sig, *in_stat, *mk_stat;
	int64_t now = tp_wall_s(), id = 0;
	int same = 0, same_extra = 0, changed = 0;
	tp_status r;

	if (!spec || !spec->input || !spec->output || !spec->input_sig || !spec->options_hash)
		return tp_err(TP_EUSAGE, "%s: job spec without input, output, input "
			      "signature or options hash", s->path);
	mask_sig = spec->mask_sig ? spec->mask_sig : "";
	in_stat = spec->input_stat ? spec->input_stat : "";
	mk_stat = spec->mask_stat ? spec->mask_stat : "";
	r = tx_begin(s, "syncing a job");
	if (r != TP_OK)
		return r;

	if ((r = job_compare(s, spec, out, &same_extra)) != TP_OK)
		goto fail;
	id = out->id;
	same = !out->changed;
	changed = out->changed;

	if (id == 0) {
		r = stmt_get(s, ST_JOB_INSERT,
			"INSERT INTO jobs(input, mask, output, input_sig, mask_sig, "
			"options_hash, input_stat, mask_stat, created, updated) "
			"VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)", &st);
		if (r != TP_OK)
			goto fail;
		if ((r = bindf(s, st, "adding a job", "tttttttti", spec->input, spec->mask,
			       spec->output, spec->input_sig, mask_sig, spec->options_hash,
			       in_stat, mk_stat, now)) != TP_OK)
			goto fail;
		r = stmt_run(s, st, "adding a job");
		if (r != TP_OK)
			goto fail;
		memset(out, 0, sizeof *out);
		out->id = sqlite3_last_insert_rowid(s->db);
		out->state = STORE_JOB_QUEUED;
	} else if (!same) {
		/* Input, mask or options changed: the old tiles and any claim are
		 * stale. Clearing the lease (and bumping its generation) makes a
		 * stale holder's every later write fail. */
		r = stmt_get(s, ST_JOB_RESET,
			"UPDATE jobs SET input = ?2, mask = ?3, input_sig = ?4, mask_sig = ?5, "
			"options_hash = ?6, input_stat = ?7, mask_stat = ?8, state = " J_QUEUED ", "
			"attempts = 0, error = '', lease_owner = NULL, lease_expires = NULL, "
			"lease_gen = lease_gen + 1, "
			"updated = ?9 WHERE id = ?1", &st);
		if (r != TP_OK)
			goto fail;
		if ((r = bindf(s, st, "resetting a job", "ittttttti", id, spec->input, spec->mask,
			       spec->input_sig, mask_sig, spec->options_hash, in_stat, mk_stat,
			       now)) != TP_OK)
			goto fail;
		r = stmt_run(s, st, "resetting a job");
		if (r != TP_OK)
			goto fail;
		r = stmt_get(s, ST_TILES_DELETE, "DELETE FROM tiles WHERE job_id = ?1", &st);
		if (r != TP_OK)
			goto fail;
		if ((r = bindf(s, st, "dropping a job's tiles", "i", id)) != TP_OK)
			goto fail;
		r = stmt_run(s, st, "dropping a job's tiles");
		if (r != TP_OK)
			goto fail;
		memset(out, 0, sizeof *out);
		out->id = id;
		out->changed = changed;
		out->state = STORE_JOB_QUEUED;
	} else if (!same_extra) {
		/* Same content under another name or identity (renamed, copied,
		 * touched): just note where and what the files are now. */
		r = stmt_get(s, ST_JOB_SET_MASK,
			"UPDATE jobs SET mask = ?2, input_stat = ?3, mask_stat = ?4, updated = ?5 "
			"WHERE id = ?1", &st);
		if (r != TP_OK)
			goto fail;
		if ((r = bindf(s, st, "updating a job's file identities", "ittti", id, spec->mask,
			       in_stat, mk_stat, now)) != TP_OK)
			goto fail;
		r = stmt_run(s, st, "updating a job's file identities");
		if (r != TP_OK)
			goto fail;
		snprintf(out->input_stat, sizeof out->input_stat, "%s", in_stat);
		snprintf(out->mask_stat, sizeof out->mask_stat, "%s", mk_stat);
	}
	r = tx_commit(s, "syncing a job");
	if (r == TP_OK)
		return TP_OK;
fail:
	tx_rollback(s);
	return r;
}

/* Read job `id`'s state and lease inside the current transaction.
 * TP_EUSAGE when there is no such job. *owner is borrowed until *stp is reset. */
TP_MUST_USE static tp_status job_read(struct store *s, int64_t id, sqlite3_stmt **stp, int *state,
			  const char **owner, int64_t *expires)
{
	sqlite3_stmt *st;
	int rc;
	tp_status r = stmt_get(s, ST_JOB_READ,
		"SELECT state, lease_owner, lease_expires, lease_gen FROM jobs WHERE id = ?1", &st);
	*stp = NULL;
	if (r != TP_OK)
		return r;
	if ((r = bindf(s, st, "reading a job", "i", id)) != TP_OK)
		return r;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		stmt_reset(st);
		return tp_err(TP_EUSAGE, "%s: no job with id %lld", s->path, (long long)id);
	}
	if (rc != SQLITE_ROW) {
		r = db_fail(s, rc, "reading a job");
		stmt_reset(st);
		return r;
	}
	*stp = st;
	*state = sqlite3_column_int(st, 0);
	*owner = (const char *)sqlite3_column_text(st, 1);
	*expires = sqlite3_column_int64(st, 2);
	return TP_OK;
}

tp_status store_job_claim(struct store *s, int64_t id, const char *owner, int64_t now,
			  int64_t lease_s, const char *steal_from, struct store_lease *lease,
			  int *got, char *holder, size_t holder_len)
{
	sqlite3_stmt *st = NULL;
	const char *cur = NULL;
	int64_t expires = 0, gen = 0;
	int state = 0;
	tp_status r;

	*got = 0;
	memset(lease, 0, sizeof *lease);
	if (holder && holder_len)
		holder[0] = '\0';
	if (!owner || !*owner || strlen(owner) >= sizeof lease->owner)
		return tp_err(TP_EUSAGE, "%s: claim without an owner name (or one too long)", s->path);
	r = tx_begin(s, "claiming a job");
	if (r != TP_OK)
		return r;
	r = job_read(s, id, &st, &state, &cur, &expires);
	if (r != TP_OK)
		goto fail;
	gen = sqlite3_column_int64(st, 3);
	if (state == STORE_JOB_DONE) {
		stmt_reset(st);
		goto commit;
	}
	if (state == STORE_JOB_RUNNING && cur && strcmp(cur, owner) != 0 && expires > now &&
	    !(steal_from && strcmp(cur, steal_from) == 0)) {
		if (holder && holder_len)
			snprintf(holder, holder_len, "%s", cur);
		stmt_reset(st);
		goto commit;
	}
	stmt_reset(st);

	r = stmt_get(s, ST_JOB_CLAIM,
		"UPDATE jobs SET state = " J_RUNNING ", lease_owner = ?2, lease_expires = ?3, "
		"lease_gen = ?4, attempts = attempts + 1, updated = ?5 WHERE id = ?1", &st);
	if (r != TP_OK)
		goto fail;
	if ((r = bindf(s, st, "claiming a job", "itiii", id, owner, now + lease_s, gen + 1,
		       tp_wall_s())) != TP_OK)
		goto fail;
	r = stmt_run(s, st, "claiming a job");
	if (r != TP_OK)
		goto fail;
	*got = 1;
commit:
	r = tx_commit(s, "claiming a job");
	if (r == TP_OK) {
		if (*got) {
			lease->job = id;
			lease->gen = gen + 1;
			snprintf(lease->owner, sizeof lease->owner, "%s", owner);
		}
		return TP_OK;
	}
	*got = 0;
fail:
	tx_rollback(s);
	return r;
}

/*
 * Inside a write transaction: is `l` still job l->job's lease? TP_OK when
 * it is (with allow_done, also when the job is done under this very lease:
 * its holder may still record the timings of the job it finished); else TP_ELEASE naming the image and who holds the job now (the
 * owner's host:pid, without its start time), or how it stands.
 */
TP_MUST_USE static tp_status fence(struct store *s, const struct store_lease *l, int allow_done)
{
	sqlite3_stmt *st;
	int rc;
	tp_status r;
	if (!l || l->gen <= 0)
		return tp_err(TP_EUSAGE, "%s: a job write without a lease", s->path);
	r = stmt_get(s, ST_FENCE,
		"SELECT state, lease_owner, lease_gen, input FROM jobs WHERE id = ?1", &st);
	if (r != TP_OK)
		return r;
	if ((r = bindf(s, st, "checking a lease", "i", l->job)) != TP_OK)
		return r;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *cur = (const char *)sqlite3_column_text(st, 1);
		const char *input = (const char *)sqlite3_column_text(st, 3);
		int state = sqlite3_column_int(st, 0);
		int live = state == STORE_JOB_RUNNING || (allow_done && state == STORE_JOB_DONE);
		if (!live || !cur || strcmp(cur, l->owner) != 0 ||
		    sqlite3_column_int64(st, 2) != l->gen) {
			char who[160];
			const char *c2 = cur ? strrchr(cur, ':') : NULL;
			if (cur && c2 && c2 != cur && strchr(cur, ':') != c2)
				snprintf(who, sizeof who, "%.*s", (int)(c2 - cur), cur);
			else
				snprintf(who, sizeof who, "%s", cur ? cur : "");
			if (cur && strcmp(cur, l->owner) != 0)
				r = tp_err(TP_ELEASE, "lost the lease on %s to %s", input ? input : "?", who);
			else
				r = tp_err(TP_ELEASE, "lost the lease on %s (the job was reset or "
					   "claimed again since; it is %s now)", input ? input : "?",
					   store_job_state_name((enum store_job_state)state));
		}
	} else if (rc == SQLITE_DONE) {
		r = tp_err(TP_ELEASE, "lost the lease on job %lld (no longer in the store)",
			   (long long)l->job);
	} else {
		r = db_fail(s, rc, "checking a lease");
	}
	stmt_reset(st);
	return r;
}

/* Run one fenced UPDATE/INSERT of job l->job: BEGIN IMMEDIATE, fence, the
 * statement (already bound), COMMIT. */
TP_MUST_USE static tp_status fenced_run(struct store *s, const struct store_lease *l, sqlite3_stmt *st,
			    const char *what)
{
	tp_status r = tx_begin(s, what);
	if (r != TP_OK) {
		stmt_reset(st);
		return r;
	}
	if ((r = fence(s, l, 0)) != TP_OK) {
		stmt_reset(st);
		goto fail;
	}
	if ((r = stmt_run(s, st, what)) != TP_OK)
		goto fail;
	if ((r = tx_commit(s, what)) == TP_OK)
		return TP_OK;
fail:
	tx_rollback(s);
	return r;
}

tp_status store_job_renew(struct store *s, const struct store_lease *l, int64_t now,
			  int64_t lease_s)
{
	sqlite3_stmt *st;
	tp_status r = stmt_get(s, ST_JOB_RENEW,
		"UPDATE jobs SET lease_expires = ?2, updated = ?3 WHERE id = ?1", &st);
	if (r != TP_OK)
		return r;
	if ((r = bindf(s, st, "renewing a lease", "iii", l->job, now + lease_s, tp_wall_s())) != TP_OK)
		return r;
	return fenced_run(s, l, st, "renewing a lease");
}

tp_status store_job_expect_output(struct store *s, const struct store_lease *l,
				  const char *output_sig)
{
	sqlite3_stmt *st;
	tp_status r = stmt_get(s, ST_JOB_EXPECT,
		"UPDATE jobs SET output_sig = ?2, output_stat = '', updated = ?3 WHERE id = ?1", &st);
	if (r != TP_OK)
		return r;
	if ((r = bindf(s, st, "noting the output to come", "iti", l->job, output_sig,
		       tp_wall_s())) != TP_OK)
		return r;
	return fenced_run(s, l, st, "noting the output to come");
}

tp_status store_job_release(struct store *s, const struct store_lease *l)
{
	sqlite3_stmt *st;
	tp_status r = stmt_get(s, ST_JOB_RELEASE,
		"UPDATE jobs SET state = " J_QUEUED ", lease_owner = NULL, lease_expires = NULL, "
		"updated = ?2 WHERE id = ?1", &st);
	if (r != TP_OK)
		return r;
	if ((r = bindf(s, st, "releasing a job", "ii", l->job, tp_wall_s())) != TP_OK)
		return r;
	return fenced_run(s, l, st, "releasing a job");
}

tp_status store_job_done(struct store *s, const struct store_lease *l, const char *output_sig,
			 tp_status (*publish)(void *ctx, char *stat_key, size_t n), void *ctx)
{
	sqlite3_stmt *st;
	char stat_key[128] = "";
	tp_status r = tx_begin(s, "marking a job done");

	if (r != TP_OK)
		return r;
	if ((r = fence(s, l, 0)) != TP_OK)
		goto fail;
	/* under the write lock: nobody can take the lease between here and COMMIT */
	if (publish && (r = publish(ctx, stat_key, sizeof stat_key)) != TP_OK)
		goto fail;
	r = stmt_get(s, ST_JOB_DONE,
		"UPDATE jobs SET state = " J_DONE ", lease_expires = NULL, "
		"error = '', output_sig = ?2, output_stat = ?3, updated = ?4 WHERE id = ?1", &st);
	if (r != TP_OK)
		goto fail;
	if ((r = bindf(s, st, "marking a job done", "itti", l->job, output_sig ? output_sig : "",
		       stat_key, tp_wall_s())) != TP_OK)
		goto fail;
	if ((r = stmt_run(s, st, "marking a job done")) != TP_OK)
		goto fail;
	/* The output is in place: the blobs were only needed to resume. */
	r = stmt_get(s, ST_TILES_DROP_BLOBS,
		"UPDATE tiles SET result = NULL WHERE job_id = ?1 AND result IS NOT NULL", &st);
	if (r != TP_OK)
		goto fail;
	if ((r = bindf(s, st, "dropping tile results", "i", l->job)) != TP_OK)
		goto fail;
	if ((r = stmt_run(s, st, "dropping tile results")) != TP_OK)
		goto fail;
	r = tx_commit(s, "marking a job done");
	if (r == TP_OK)
		return TP_OK;
fail:
	tx_rollback(s);
	return r;
}

tp_status store_job_fail(struct store *s, const struct store_lease *l, int64_t id,
			 const char *error, int failed_input)
{
	sqlite3_stmt *st;
	tp_status r;

	if (l) {
		r = stmt_get(s, ST_JOB_FAIL,
			"UPDATE jobs SET state = " J_FAILED ", error = ?2, lease_owner = NULL, "
			"lease_expires = NULL, updated = ?3, failed_input = ?4 WHERE id = ?1", &st);
		if (r != TP_OK)
			return r;
		if ((r = bindf(s, st, "marking a job failed", "itii", l->job, error ? error : "",
			       tp_wall_s(), (int64_t)!!failed_input)) != TP_OK)
			return r;
		return fenced_run(s, l, st, "marking a job failed");
	}
	/* Unfenced: the job failed before a claim. Never over a live lease. */
	r = stmt_get(s, ST_JOB_FAIL_ANY,
		"UPDATE jobs SET state = " J_FAILED ", error = ?2, lease_owner = NULL, "
		"lease_expires = NULL, updated = ?3, failed_input = ?4 WHERE id = ?1 AND "
		"NOT (state = " J_RUNNING " AND lease_expires > ?3)", &st);
	if (r != TP_OK)
		return r;
	if ((r = bindf(s, st, "marking a job failed", "itii", id, error ? error : "",
		       tp_wall_s(), (int64_t)!!failed_input)) != TP_OK)
		return r;
	r = stmt_run(s, st, "marking a job failed");
	if (r == TP_OK && sqlite3_changes(s->db) == 0) {
		sqlite3_stmt *rd = NULL;
		const char *cur = NULL;
		int64_t expires = 0;
		int state = 0;
		r = job_read(s, id, &rd, &state, &cur, &expires);
		if (r == TP_OK)
			r = tp_err(TP_ELEASE, "%s: job %lld is being processed by %s; not marking it failed",
				   s->path, (long long)id, cur ? cur : "another run");
		stmt_reset(rd);
	}
	return r;
}

tp_status store_job_requeue(struct store *s, int64_t id, const char *note)
{
	sqlite3_stmt *st;
	tp_status r = stmt_get(s, ST_JOB_REQUEUE,
		"UPDATE jobs SET state = " J_QUEUED ", error = ?2, updated = ?3 WHERE id = ?1 AND "
		"NOT (state = " J_RUNNING " AND lease_expires > ?3)", &st);
	if (r != TP_OK)
		return r;
	if ((r = bindf(s, st, "queueing a job again", "iti", id, note ? note : "",
		       tp_wall_s())) != TP_OK)
		return r;
	return stmt_run(s, st, "queueing a job again");
}

/* The jobs store_forget removes: named by input or output path (?1), or
 * (?1 NULL) every failed one; never one held by a live lease (?2: now). */
#define FORGET_WHERE "(CASE WHEN ?1 IS NULL THEN state = " J_FAILED " ELSE (input = ?1 OR " \
		     "output = ?1) END) AND NOT (state = " J_RUNNING " AND lease_expires > ?2)"

tp_status store_forget(struct store *s, const char *path, int64_t *removed)
{
	sqlite3_stmt *st;
	int64_t now = tp_wall_s();
	tp_status r = tx_begin(s, "forgetting jobs");
	*removed = 0;
	if (r != TP_OK)
		return r;
	r = stmt_get(s, ST_FORGET_TILES, "DELETE FROM tiles WHERE job_id IN "
		     "(SELECT id FROM jobs WHERE " FORGET_WHERE ")", &st);
	if (r == TP_OK && (r = bindf(s, st, "forgetting tiles", "ti", path, now)) == TP_OK)
		r = stmt_run(s, st, "forgetting tiles");
	if (r == TP_OK)
		r = stmt_get(s, ST_FORGET_JOBS, "DELETE FROM jobs WHERE " FORGET_WHERE, &st);
	if (r == TP_OK && (r = bindf(s, st, "forgetting jobs", "ti", path, now)) == TP_OK) {
		r = stmt_run(s, st, "forgetting jobs");
		*removed = sqlite3_changes(s->db);
	}
	if (r == TP_OK && (r = tx_commit(s, "forgetting jobs")) == TP_OK)
		return TP_OK;
	tx_rollback(s);
	return r;
}

tp_status store_job_output_stat(struct store *s, int64_t id, const char *output_stat)
{
	sqlite3_stmt *st;
	tp_status r = stmt_get(s, ST_JOB_OUT_STAT,
		"UPDATE jobs SET output_stat = ?2 WHERE id = ?1 AND state = " J_DONE, &st);
	if (r != TP_OK)
		return r;
	if ((r = bindf(s, st, "recording an output's identity", "it", id, output_stat)) != TP_OK)
		return r;
	return stmt_run(s, st, "recording an output's identity");
}

/* ---- tiles --------------------------------------------------------------- */

/* 1 when job `id` already has exactly the tiles `t[0..n)` (rectangles and
 * skipped-ness, by index), in *same. */
TP_MUST_USE static tp_status tiles_same(struct store *s, int64_t id, const struct store_tile_rec *t,
			    size_t n, int *same)
{
	sqlite3_stmt *st;
	size_t i = 0;
	int rc;
	tp_status r = stmt_get(s, ST_TILES_LIST,
		"SELECT idx, x, y, w, h, state FROM tiles WHERE job_id = ?1 ORDER BY idx", &st);

	*same = 0;
	if (r != TP_OK)
		return r;
	if ((r = bindf(s, st, "reading a job's tiles", "i", id)) != TP_OK)
		return r;
	*same = 1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (i >= n || sqlite3_column_int64(st, 0) != (int64_t)i ||
		    sqlite3_column_int(st, 1) != t[i].x || sqlite3_column_int(st, 2) != t[i].y ||
		    sqlite3_column_int(st, 3) != t[i].w || sqlite3_column_int(st, 4) != t[i].h ||
		    (sqlite3_column_int(st, 5) == STORE_TILE_SKIPPED) != (t[i].skipped != 0)) {
			*same = 0;
			break;
		}
		i++;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		r = db_fail(s, rc, "reading a job's tiles");
		*same = 0;
	} else if (*same && i != n) {
		*same = 0;
	}
	stmt_reset(st);
	return r;
}

tp_status store_tiles_plan(struct store *s, const struct store_lease *l,
			   const struct store_tile_rec *tiles, size_t n)
{
	sqlite3_stmt *st;
	int64_t id = l ? l->job : 0;
	int same = 0;
	tp_status r;

	if (n > UINT32_MAX || (n && !tiles))
		return tp_err(TP_EUSAGE, "%s: bad tile plan for job %lld (%zu tiles)",
			      s->path, (long long)id, n);
	r = tx_begin(s, "recording the tile plan");
	if (r != TP_OK)
		return r;
	if ((r = fence(s, l, 0)) != TP_OK)
		goto fail;
	r = tiles_same(s, id, tiles, n, &same);
	if (r != TP_OK)
		goto fail;
	if (same)
		goto commit;

	r = stmt_get(s, ST_TILES_DELETE, "DELETE FROM tiles WHERE job_id = ?1", &st);
	if (r != TP_OK)
		goto fail;
	if ((r = bindf(s, st, "dropping a job's tiles", "i", id)) != TP_OK)
		goto fail;
	r = stmt_run(s, st, "dropping a job's tiles");
	if (r != TP_OK)
		goto fail;
	r = stmt_get(s, ST_TILE_INSERT,
		"INSERT INTO tiles(job_id, idx, x, y, w, h, state) "
		"VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)", &st);
	if (r != TP_OK)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		if ((r = bindf(s, st, "recording the tile plan", "iiiiiii", id, (int64_t)i,
			       (int64_t)tiles[i].x, (int64_t)tiles[i].y, (int64_t)tiles[i].w,
			       (int64_t)tiles[i].h,
			       (int64_t)(tiles[i].skipped ? STORE_TILE_SKIPPED : STORE_TILE_PENDING)))
		    != TP_OK)
			goto fail;
		r = stmt_run(s, st, "recording the tile plan");
		if (r != TP_OK)
			goto fail;
	}
commit:
	r = tx_commit(s, "recording the tile plan");
	if (r == TP_OK)
		return TP_OK;
fail:
	tx_rollback(s);
	return r;
}

tp_status store_tiles_done_map(struct store *s, int64_t id, uint8_t *done, size_t n)
{
	sqlite3_stmt *st;
	int rc;
	tp_status r = stmt_get(s, ST_TILES_DONE,
		"SELECT idx FROM tiles WHERE job_id = ?1 AND +state = " T_DONE " AND result IS NOT NULL",
		&st);

	/* "+state": without it the planner may pick tiles_by_state and scan every
	 * done tile of every job instead of this job's primary-key range. */
	if (r != TP_OK)
		return r;
	if (n)
		memset(done, 0, n);
	if ((r = bindf(s, st, "reading finished tiles", "i", id)) != TP_OK)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t idx = sqlite3_column_int64(st, 0);
		if (idx < 0 || (uint64_t)idx >= n) {
			r = tp_err(TP_EUSAGE, "%s: job %lld has a finished tile %lld "
				   "beyond the %zu planned", s->path, (long long)id,
				   (long long)idx, n);
			break;
		}
		done[idx] = 1;
	}
	if (r == TP_OK && rc != SQLITE_DONE)
		r = db_fail(s, rc, "reading finished tiles");
	stmt_reset(st);
	return r;
}

tp_status store_tile_get(struct store *s, int64_t id, uint32_t idx, void **blob, size_t *len)
{
	sqlite3_stmt *st;
	int rc;
	tp_status r = stmt_get(s, ST_TILE_GET,
		"SELECT result FROM tiles WHERE job_id = ?1 AND idx = ?2 AND result IS NOT NULL",
		&st);

	*blob = NULL;
	*len = 0;
	if (r != TP_OK)
		return r;
	if ((r = bindf(s, st, "reading a tile result", "ii", id, (int64_t)idx)) != TP_OK)
		return r;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const void *p = sqlite3_column_blob(st, 0);
		int nb = sqlite3_column_bytes(st, 0);
		if (!p && nb > 0) {     /* column_blob returned NULL: out of memory */
			r = db_fail(s, sqlite3_errcode(s->db), "reading a tile result");
		} else if (!(*blob = tp_malloc(nb > 0 ? (size_t)nb : 1))) {
			r = tp_err(TP_ENOMEM, "%s: out of memory reading tile %u of job "
				   "%lld (%d bytes)", s->path, idx, (long long)id, nb);
		} else {
			if (nb > 0)
				memcpy(*blob, p, (size_t)nb);
			*len = (size_t)nb;
		}
	} else if (rc == SQLITE_DONE) {
		r = tp_err(TP_ENOENT, "%s: no stored result for tile %u of job %lld",
			   s->path, idx, (long long)id);
	} else {
		r = db_fail(s, rc, "reading a tile result");
	}
	stmt_reset(st);
	return r;
}

tp_status store_tile_put(struct store *s, const struct store_lease *l, uint32_t idx,
			 const void *blob, size_t len, double engine_ms)
{
	sqlite3_stmt *st;
	tp_status r;

	/* An empty result is bound as a 0-byte blob, not NULL, which would
	 * read back as "no result". */
	r = stmt_get(s, ST_TILE_PUT,
		"UPDATE tiles SET state = " T_DONE ", result = ?3, engine_ms = ?4 "
		"WHERE job_id = ?1 AND idx = ?2", &st);
	if (r != TP_OK)
		return r;
	if ((r = bindf(s, st, "storing a tile result", "iibd", l->job, (int64_t)idx, blob, len,
		       engine_ms)) != TP_OK)
		return r;
	r = tx_begin(s, "storing a tile result");
	if (r != TP_OK) {
		stmt_reset(st);
		return r;
	}
	if ((r = fence(s, l, 0)) != TP_OK) {
		stmt_reset(st);
		goto fail;
	}
	if ((r = stmt_run(s, st, "storing a tile result")) != TP_OK)
		goto fail;
	if (sqlite3_changes(s->db) == 0) {
		r = tp_err(TP_EUSAGE, "%s: storing a tile result: job %lld has no tile %u "
			   "(was the job reset?)", s->path, (long long)l->job, idx);
		goto fail;
	}
	if ((r = tx_commit(s, "storing a tile result")) == TP_OK)
		return TP_OK;
fail:
	tx_rollback(s);
	return r;
}

tp_status store_tile_fail(struct store *s, const struct store_lease *l, uint32_t idx)
{
	sqlite3_stmt *st;
	tp_status r = stmt_get(s, ST_TILE_FAIL,
		"UPDATE tiles SET state = " T_FAILED ", result = NULL WHERE job_id = ?1 AND idx = ?2", &st);

	if (r != TP_OK)
		return r;
	if ((r = bindf(s, st, "marking a tile failed", "ii", l->job, (int64_t)idx)) != TP_OK)
		return r;
	r = tx_begin(s, "marking a tile failed");
	if (r != TP_OK) {
		stmt_reset(st);
		return r;
	}
	if ((r = fence(s, l, 0)) != TP_OK) {
		stmt_reset(st);
		goto fail;
	}
	if ((r = stmt_run(s, st, "marking a tile failed")) != TP_OK)
		goto fail;
	if (sqlite3_changes(s->db) == 0) {
		r = tp_err(TP_EUSAGE, "%s: marking a tile failed: job %lld has no tile %u",
			   s->path, (long long)l->job, idx);
		goto fail;
	}
	if ((r = tx_commit(s, "marking a tile failed")) == TP_OK)
		return TP_OK;
fail:
	tx_rollback(s);
	return r;
}

/* ---- timings ------------------------------------------------------------- */

static const char timing_sql[] =
	"INSERT INTO timings(run_id, job_id, stage, count, ms) VALUES(?1, ?2, ?3, ?4, ?5) "
	"ON CONFLICT(run_id, job_id, stage) DO UPDATE SET "
	"count = count + excluded.count, ms = ms + excluded.ms";

tp_status store_timing_add(struct store *s, int64_t run_id, int64_t job_id,
			   const char *stage, int64_t count, double ms)
{
	sqlite3_stmt *st;
	tp_status r;

	if (!stage || !*stage)
		return tp_err(TP_EUSAGE, "%s: timing without a stage name", s->path);
	r = stmt_get(s, ST_TIMING_ADD, timing_sql, &st);
	if (r != TP_OK)
		return r;
	if ((r = bindf(s, st, "recording a timing", "iitid", run_id, job_id, stage, count, ms)) != TP_OK)
		return r;
	return stmt_run(s, st, "recording a timing");
}

tp_status store_job_timings(struct store *s, const struct store_lease *l, int64_t run_id,
			    size_t n, const char *const *stages, const int64_t *counts,
			    const double *ms)
{
	sqlite3_stmt *st;
	tp_status r = stmt_get(s, ST_TIMING_ADD, timing_sql, &st);
	if (r != TP_OK)
		return r;
	if ((r = tx_begin(s, "recording timings")) != TP_OK)
		return r;
	if ((r = fence(s, l, 1)) != TP_OK)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		if (counts[i] == 0 && ms[i] == 0)
			continue;
		if ((r = bindf(s, st, "recording a timing", "iitid", run_id, l->job, stages[i],
			       counts[i], ms[i])) != TP_OK)
			goto fail;
		if ((r = stmt_run(s, st, "recording a timing")) != TP_OK)
			goto fail;
	}
	if ((r = tx_commit(s, "recording timings")) == TP_OK)
		return TP_OK;
fail:
	tx_rollback(s);
	return r;
}

/* ---- queries ------------------------------------------------------------- */

/* Step through (key, count) rows adding count into arr[key] for 0 <= key < n. */
TP_MUST_USE static tp_status count_rows(struct store *s, sqlite3_stmt *st, int64_t *arr, int n,
			    const char *what)
{
	int rc;
	tp_status r = TP_OK;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int k = sqlite3_column_int(st, 0);
		if (k >= 0 && k < n)
			arr[k] += sqlite3_column_int64(st, 1);
	}
	if (rc != SQLITE_DONE)
		r = db_fail(s, rc, what);
	stmt_reset(st);
	return r;
}

tp_status store_status_get(struct store *s, int64_t now, struct store_status *out)
{
	sqlite3_stmt *st;
	int rc;
	tp_status r;

	memset(out, 0, sizeof *out);
	out->last_run_exit = -1;
	/* One read transaction: the four queries see the same snapshot. */
	r = exec_plain(s, "BEGIN", "reading the status");
	if (r != TP_OK)
		return r;

	r = stmt_get(s, ST_STATUS_JOBS,
		"SELECT CASE WHEN state = " J_RUNNING " AND (lease_expires IS NULL OR lease_expires <= ?1) "
		"THEN " J_QUEUED " ELSE state END AS st, count(*) FROM jobs GROUP BY st", &st);
	if (r != TP_OK)
		goto out;
	if ((r = bindf(s, st, "counting jobs", "i", now)) != TP_OK) {
		goto out;
	}
	r = count_rows(s, st, out->jobs, STORE_JOB_NSTATES, "counting jobs");
	if (r != TP_OK)
		goto out;

	r = stmt_get(s, ST_STATUS_TILES,
		"SELECT state, count(*) FROM tiles GROUP BY state", &st);
	if (r != TP_OK)
		goto out;
	r = count_rows(s, st, out->tiles, STORE_TILE_NSTATES, "counting tiles");
	if (r != TP_OK)
		goto out;

	r = stmt_get(s, ST_STATUS_TIMED,
		"SELECT count(engine_ms), coalesce(avg(engine_ms), 0) FROM tiles "
		"WHERE state = " T_DONE " AND engine_ms IS NOT NULL", &st);
	if (r != TP_OK)
		goto out;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->tiles_timed = sqlite3_column_int64(st, 0);
		out->tile_ms_mean = sqlite3_column_double(st, 1);
	} else {
		r = db_fail(s, rc, "averaging tile times");
	}
	stmt_reset(st);
	if (r != TP_OK)
		goto out;

	r = stmt_get(s, ST_STATUS_RUN,
		"SELECT started, coalesce(ended, 0), coalesce(exit_status, -1) "
		"FROM runs ORDER BY id DESC LIMIT 1", &st);
	if (r != TP_OK)
		goto out;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->last_run_start = sqlite3_column_int64(st, 0);
		out->last_run_end = sqlite3_column_int64(st, 1);
		out->last_run_exit = sqlite3_column_int64(st, 2);
	} else if (rc != SQLITE_DONE) {
		r = db_fail(s, rc, "reading the last run");
	}
	stmt_reset(st);
out:
	tx_rollback(s);         /* ends the read transaction; nothing to keep */
	return r;
}

static const char *col_str(sqlite3_stmt *st, int col)
{
	const char *t = (const char *)sqlite3_column_text(st, col);
	return t ? t : "";
}

/* Read one row of ST_JOBS_EACH into *row (strings borrowed from st). */
static void job_row_from(sqlite3_stmt *st, struct store_job_row *row)
{
	const char *e = (const char *)sqlite3_column_text(st, 3);
	const char *o = (const char *)sqlite3_column_text(st, 14);
	row->id = sqlite3_column_int64(st, 0);
	row->input = (const char *)sqlite3_column_text(st, 1);
	row->output = (const char *)sqlite3_column_text(st, 2);
	row->error = e ? e : "";
	row->state = (enum store_job_state)sqlite3_column_int(st, 4);
	row->attempts = sqlite3_column_int64(st, 5);
	row->tiles_total = sqlite3_column_int64(st, 6);
	row->tiles_skipped = sqlite3_column_int64(st, 7);
	row->tiles_done = sqlite3_column_int64(st, 8);
	row->tiles_failed = sqlite3_column_int64(st, 9);
	row->worker_ms = sqlite3_column_double(st, 10);
	row->total_ms = row->worker_ms;
	row->wall_ms = sqlite3_column_double(st, 11);
	row->started = sqlite3_column_double(st, 12);
	row->finished = sqlite3_column_double(st, 13);
	row->lease_owner = o ? o : "";
	row->lease_expires = sqlite3_column_int64(st, 15);
	row->width = sqlite3_column_int64(st, 16);
	row->height = sqlite3_column_int64(st, 17);
	row->mask = col_str(st, 18);
	if (!row->input)
		row->input = "";
	if (!row->output)
		row->output = "";
}

tp_status store_jobs_each_run(struct store *s, int64_t run_id,
			      int (*cb)(void *ctx, const struct store_job_row *row), void *ctx)
{
	sqlite3_stmt *st;
	int rc;
	/* ?1 = 0: every job and all its runs; else the jobs run ?1 worked on
	 * (an attempt or a timing of it) with that run's times only. */
	tp_status r = stmt_get(s, ST_JOBS_EACH,
		"SELECT j.id, j.input, j.output, j.error, j.state, j.attempts,"
		" coalesce(t.total, 0), coalesce(t.skipped, 0), coalesce(t.done, 0),"
		" coalesce(t.failed, 0), coalesce(m.ms, 0), coalesce(w.wall, 0),"
		" coalesce(w.started, 0), coalesce(w.finished, 0), coalesce(j.lease_owner, ''),"
		" coalesce(j.lease_expires, 0), coalesce(t.width, 0), coalesce(t.height, 0),"
		" coalesce(j.mask, '') "
		"FROM jobs j "
		"LEFT JOIN (SELECT job_id, count(*) AS total,"
		"  sum(state = " T_SKIPPED ") AS skipped, sum(state = " T_DONE ") AS done,"
		"  sum(state = " T_FAILED ") AS failed, max(x + w) AS width, max(y + h) AS height"
		"  FROM tiles GROUP BY job_id) t ON t.job_id = j.id "
		"LEFT JOIN (SELECT job_id, sum(ms) AS ms FROM timings WHERE ?1 = 0 OR run_id = ?1"
		"  GROUP BY job_id) m ON m.job_id = j.id "
		"LEFT JOIN (SELECT job_id, sum(wall_ms) AS wall, min(started) AS started,"
		"  max(CASE WHEN outcome <> " J_RUNNING " THEN started + wall_ms / 1000.0 END)"
		"  AS finished FROM run_jobs WHERE ?1 = 0 OR run_id = ?1 GROUP BY job_id) w"
		"  ON w.job_id = j.id "
		"WHERE ?1 = 0 OR m.job_id IS NOT NULL OR w.job_id IS NOT NULL "
		"ORDER BY j.id", &st);

	if (r != TP_OK)
		return r;
	if ((r = bindf(s, st, "listing jobs", "i", run_id)) != TP_OK)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_job_row row;
		job_row_from(st, &row);
		if (cb(ctx, &row) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rc != SQLITE_DONE)
		r = db_fail(s, rc, "listing jobs");
	stmt_reset(st);
	return r;
}

tp_status store_jobs_each(struct store *s, int (*cb)(void *ctx, const struct store_job_row *row),
			  void *ctx)
{
	return store_jobs_each_run(s, 0, cb, ctx);
}

tp_status store_runs_each(struct store *s, int64_t run_id,
			  int (*cb)(void *ctx, const struct store_run_row *row), void *ctx)
{
	sqlite3_stmt *st;
	int rc;
	tp_status r = stmt_get(s, ST_RUNS_EACH,
		"SELECT id, started, coalesce(ended, 0), coalesce(seen, 0), coalesce(exit_status, -1),"
		" argv, host, engine, options, options_hash, shard, pid, threads, discovered, unknown,"
		" images, done, failed, skipped, busy, reached_unknown, tiles, inpainted, reused,"
		" megapixels FROM runs WHERE ?1 = 0 OR id = ?1 ORDER BY id", &st);
	if (r != TP_OK)
		return r;
	if ((r = bindf(s, st, "listing runs", "i", run_id)) != TP_OK)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_run_row w;
		w.id = sqlite3_column_int64(st, 0);
		w.started = sqlite3_column_double(st, 1);
		w.finished = sqlite3_column_double(st, 2);
		w.seen = sqlite3_column_double(st, 3);
		w.exit_status = sqlite3_column_int64(st, 4);
		w.argv = col_str(st, 5);
		w.host = col_str(st, 6);
		w.engine = col_str(st, 7);
		w.options = col_str(st, 8);
		w.options_hash = col_str(st, 9);
		w.shard = col_str(st, 10);
		w.pid = sqlite3_column_int64(st, 11);
		w.threads = sqlite3_column_int64(st, 12);
		w.discovered = sqlite3_column_int64(st, 13);
		w.unknown = sqlite3_column_int64(st, 14);
		w.n.images = sqlite3_column_int64(st, 15);
		w.n.done = sqlite3_column_int64(st, 16);
		w.n.failed = sqlite3_column_int64(st, 17);
		w.n.skipped = sqlite3_column_int64(st, 18);
		w.n.busy = sqlite3_column_int64(st, 19);
		w.n.reached_unknown = sqlite3_column_int64(st, 20);
		w.n.tiles = sqlite3_column_int64(st, 21);
		w.n.inpainted = sqlite3_column_int64(st, 22);
		w.n.reused = sqlite3_column_int64(st, 23);
		w.n.megapixels = sqlite3_column_double(st, 24);
		if (cb(ctx, &w) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rc != SQLITE_DONE)
		r = db_fail(s, rc, "listing runs");
	stmt_reset(st);
	return r;
}

tp_status store_tiles_each(struct store *s, int64_t job_id,
			   int (*cb)(void *ctx, const struct store_tile_row *t), void *ctx)
{
	sqlite3_stmt *st;
	int rc;
	tp_status r = stmt_get(s, ST_TILES_EACH,
		"SELECT idx, x, y, w, h, state, coalesce(engine_ms, -1) FROM tiles "
		"WHERE job_id = ?1 ORDER BY idx", &st);
	if (r != TP_OK)
		return r;
	if ((r = bindf(s, st, "listing tiles", "i", job_id)) != TP_OK)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_tile_row t;
		t.idx = (uint32_t)sqlite3_column_int64(st, 0);
		t.x = sqlite3_column_int(st, 1);
		t.y = sqlite3_column_int(st, 2);
		t.w = sqlite3_column_int(st, 3);
		t.h = sqlite3_column_int(st, 4);
		t.state = (enum store_tile_state)sqlite3_column_int(st, 5);
		t.engine_ms = sqlite3_column_double(st, 6);
		if (cb(ctx, &t) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rc != SQLITE_DONE)
		r = db_fail(s, rc, "listing tiles");
	stmt_reset(st);
	return r;
}

tp_status store_stages_each(struct store *s, int64_t job_id,
			    int (*cb)(void *ctx, const char *stage, int64_t count, double total_ms),
			    void *ctx)
{
	return store_stages_each_run(s, 0, job_id, cb, ctx);
}

tp_status store_stages_each_run(struct store *s, int64_t run_id, int64_t job_id,
			    int (*cb)(void *ctx, const char *stage, int64_t count, double total_ms),
			    void *ctx)
{
	sqlite3_stmt *st;
	int rc;
	/* Pipeline order first; other stages after them, bytewise by name. */
	tp_status r = stmt_get(s, ST_STAGES_EACH,
		"SELECT stage, sum(count), sum(ms) FROM timings "
		"WHERE (?1 < 0 OR job_id = ?1) AND (?2 = 0 OR run_id = ?2) GROUP BY stage "
		"ORDER BY CASE stage WHEN 'decode' THEN 0 WHEN 'mask' THEN 1 "
		"WHEN 'plan' THEN 2 WHEN 'model_load' THEN 3 WHEN 'inference' THEN 4 "
		"WHEN 'blend' THEN 5 WHEN 'encode' THEN 6 WHEN 'write' THEN 7 ELSE 8 END, "
		"stage COLLATE BINARY", &st);

	if (r != TP_OK)
		return r;
	if ((r = bindf(s, st, "summing stage timings", "ii", job_id, run_id)) != TP_OK)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *stage = (const char *)sqlite3_column_text(st, 0);
		if (cb(ctx, stage ? stage : "", sqlite3_column_int64(st, 1),
		       sqlite3_column_double(st, 2)) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rc != SQLITE_DONE)
		r = db_fail(s, rc, "summing stage timings");
	stmt_reset(st);
	return r;
}
