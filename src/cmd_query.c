/*
 * cmd_query.c - `tilepaint status` and `tilepaint report`: read-only views
 * of one or more job stores (shards of one batch), as a table for people,
 * CSV / JSON for scripts, or (report) one self-contained HTML page. They
 * open the stores read-only, so they are safe while a run is writing.
 */
#include "commands.h"
#include "exit.h"
#include "options.h"
#include "report_html.h"
#include "report_text.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char status_synopsis[] =
"usage: tilepaint status (-o DIR | --db FILE...) [--format table|csv|json]\n"
"Images by state (queued, running, interrupted, done, failed, not started),\n"
"tiles by state, an ETA from measured throughput, and the failed inputs.\n";

static const char report_synopsis[] =
"usage: tilepaint report (-o DIR | --db FILE...) [--run N] [--format table|csv|json|html]\n"
"                        [--table stages|runs|run-stages|jobs] [--out FILE]\n"
"The runs (start, end, wall time, host, engine and options, images, MP/s),\n"
"per-stage timings over all, per run and per image (wall and worker time);\n"
"several --db merge the stores of a sharded batch. --format html writes one\n"
"self-contained page (tile maps, stage bars, tile time histogram).\n";

enum fmt { FMT_TABLE, FMT_CSV, FMT_JSON, FMT_HTML };

#define MAX_DBS 256

struct query_args {
	enum fmt fmt;
	const char *dbs[MAX_DBS];
	size_t ndb;
	char dbbuf[4096];          /* DIR/.tilepaint.db for -o DIR */
	int64_t run;               /* --run N; 0: all */
	const char *out;           /* --out FILE; NULL: stdout */
	enum rep_csv_table table;
};

static int parse_format(const char *cmd, const char *v, int is_report, enum fmt *fmt)
{
	char msg[256];
	if (!strcmp(v, "table")) *fmt = FMT_TABLE;
	else if (!strcmp(v, "json")) *fmt = FMT_JSON;
	else if (!strcmp(v, "csv")) *fmt = FMT_CSV;
	else if (!strcmp(v, "html") && is_report) *fmt = FMT_HTML;
	else {
		snprintf(msg, sizeof msg, "--format must be %s, not '%s'",
			 is_report ? "table, csv, json or html" : "table, csv or json", v);
		return opts_usage_error(cmd, msg);
	}
	return 0;
}

static int parse_table(const char *cmd, const char *v, enum rep_csv_table *t)
{
	static const char *const names[] = { "stages", "runs", "run-stages", "jobs" };
	for (int i = 0; i < 4; i++)
		if (!strcmp(v, names[i])) {
			*t = (enum rep_csv_table)(REP_CSV_STAGES + i);
			return 0;
		}
	return opts_usage_error(cmd, "--table must be stages, runs, run-stages or jobs");
}

/* One option of status/report into *q; 0, -1 (--help printed) or an exit code. */
static int apply_query_opt(int c, const char *cmd, const char *synopsis, int is_report,
			   struct query_args *q, const char **out_dir, char **argv)
{
	char msg[256], *end;
	switch (c) {
	case 'o': *out_dir = optarg; return 0;
	case 'd':
		if (q->ndb == MAX_DBS)
			return opts_usage_error(cmd, "too many --db (at most 256)");
		q->dbs[q->ndb++] = optarg;
		return 0;
	case 'f': return parse_format(cmd, optarg, is_report, &q->fmt);
	case 'r':
		errno = 0;
		q->run = strtoll(optarg, &end, 10);
		if (errno || *end || end == optarg || q->run <= 0)
			return opts_usage_error(cmd, "--run takes a run id (a positive number)");
		return 0;
	case 'O': q->out = optarg; return 0;
	case 't': return parse_table(cmd, optarg, &q->table);
	case 'h': fputs(synopsis, stdout); return -1;
	case ':':
		snprintf(msg, sizeof msg, "option '%s' needs a value", argv[optind - 1]);
		return opts_usage_error(cmd, msg);
	default:
		snprintf(msg, sizeof msg, "unknown option '%s'", argv[optind - 1]);
		return opts_usage_error(cmd, msg);
	}
}

/* A shard's store name: .tilepaint-K-of-N.db exactly. */
static int is_shard_store(const struct dirent *d)
{
	unsigned k, of;
	int end = -1;
	return sscanf(d->d_name, ".tilepaint-%u-of-%u.db%n", &k, &of, &end) == 2 && end > 0 &&
	       d->d_name[end] == '\0';
}

/* -o DIR where no run left DIR/.tilepaint.db but sharded runs left their
 * own stores (DIR/.tilepaint-K-of-N.db): all of those, in name order, as
 * if each were given with --db. 0 when there are none. The paths live as
 * long as the process (one block, still reachable at exit). */
static size_t shard_stores(const char *dir, struct query_args *q)
{
	static char *block;
	struct dirent **names = NULL;
	size_t n = 0, total = 0;
	int got = scandir(dir, &names, is_shard_store, alphasort);
	char *w;
	for (int i = 0; i < got; i++)
		total += strlen(dir) + strlen(names[i]->d_name) + 2;
	tp_free(block);
	block = w = got > 0 ? tp_malloc(total) : NULL;
	for (int i = 0; i < got; i++) {
		if (w && n < MAX_DBS) {
			q->dbs[n++] = w;
			w += sprintf(w, "%s/%s", dir, names[i]->d_name) + 1;
		}
		free(names[i]);
	}
	free(names);
	return n;
}

static int parse_query_args(int argc, char **argv, const char *cmd, const char *synopsis,
			    int is_report, struct query_args *q)
{
	static const struct option lo_report[] = {
		{ "output", required_argument, NULL, 'o' }, { "db", required_argument, NULL, 'd' },
		{ "format", required_argument, NULL, 'f' }, { "help", no_argument, NULL, 'h' },
		{ "run", required_argument, NULL, 'r' }, { "out", required_argument, NULL, 'O' },
		{ "table", required_argument, NULL, 't' }, { NULL, 0, NULL, 0 }
	};
	static const struct option lo_status[] = {
		{ "output", required_argument, NULL, 'o' }, { "db", required_argument, NULL, 'd' },
		{ "format", required_argument, NULL, 'f' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *out_dir = NULL;
	char msg[256];
	int c, r;
	memset(q, 0, sizeof *q);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:h", is_report ? lo_report : lo_status, NULL)) != -1)
		if ((r = apply_query_opt(c, cmd, synopsis, is_report, q, &out_dir, argv)) != 0)
			return r;
	if (optind < argc) {
		snprintf(msg, sizeof msg, "unexpected argument '%s'", argv[optind]);
		return opts_usage_error(cmd, msg);
	}
	if (q->out && q->fmt != FMT_HTML && is_report)
		return opts_usage_error(cmd, "--out is for --format html (other formats go to "
					"standard output)");
	if (q->ndb > 1 && !out_dir)
		return 0;
	if ((r = opts_store_choice(cmd, out_dir, q->ndb ? q->dbs[0] : NULL, q->dbbuf,
				   sizeof q->dbbuf)) != 0)
		return r;
	if (!q->ndb && out_dir && access(q->dbbuf, F_OK) != 0 && errno == ENOENT &&
	    (q->ndb = shard_stores(out_dir, q)) > 0) {
		/* a sharded batch: its stores, merged */
		tp_info("%s: no %s; reading its %zu shard store%s (%s%s)", out_dir, OPTS_STORE_NAME,
			q->ndb, q->ndb == 1 ? "" : "s", strrchr(q->dbs[0], '/') + 1,
			q->ndb > 1 ? ", ..." : "");
		return 0;
	}
	q->dbs[0] = q->dbbuf;
	q->ndb = 1;
	return 0;
}

/* Everything printed reached stdout? A full disk or a closed pipe must not
 * pass for a complete report. */
static int stdout_done(const char *what)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		tp_error("writing the %s to standard output: %s", what, strerror(errno));
		return TP_EXIT_IOERR;
	}
	return TP_EXIT_OK;
}

static int load(const struct query_args *q, struct tp_report *rep)
{
	tp_status rc = tp_report_load(rep, q->dbs, q->ndb, q->run);
	if (rc == TP_OK)
		return 0;
	tp_error("%s", tp_errmsg());
	return tp_store_exit_code(rc);
}

/* ---- status ---- */

static void print_failed(const struct tp_report *rep, enum fmt fmt)
{
	int n = 0;
	for (size_t i = 0; i < rep->njobs; i++) {
		const struct store_job_row *r = &rep->jobs[i].row;
		size_t len = strlen(r->input);
		if (r->state != STORE_JOB_FAILED)
			continue;
		if (fmt == FMT_JSON) {
			fputs(n ? ", {\"input\": " : "{\"input\": ", stdout);
			rep_json_str(stdout, r->input);
			fputs(", \"error\": ", stdout);
			rep_json_str(stdout, r->error);
			fputs("}", stdout);
		} else if (fmt == FMT_CSV) {
			fputs("failed,", stdout);
			rep_csv_str(stdout, r->input);
			fputc(',', stdout);
			rep_csv_str(stdout, r->error);
			fputc('\n', stdout);
		} else {
			if (!n)
				printf("\nfailed:\n");
			/* errors name their file already; say which input when one does not */
			if (strncmp(r->error, r->input, len) == 0)
				printf("  %s\n", r->error);
			else
				printf("  %s: %s\n", r->input, r->error);
		}
		n++;
	}
}

static void status_json(const struct tp_report *rep, const struct rep_status *s)
{
	printf("{\"jobs\": {\"queued\": %lld, \"running\": %lld, \"done\": %lld, \"failed\": %lld, "
	       "\"interrupted\": %lld, \"not_started\": %lld}, \"images\": %lld, \"tiles\": {",
	       (long long)s->queued, (long long)s->running, (long long)s->done,
	       (long long)s->failed, (long long)s->interrupted, (long long)s->not_started,
	       (long long)s->images);
	for (int i = 0; i < STORE_TILE_NSTATES; i++)
		printf("%s\"%s\": %lld", i ? ", " : "", store_tile_state_name(i), (long long)rep->tiles[i]);
	printf("}, \"tile_ms_mean\": %.3f, \"tiles_left\": %.0f, \"tiles_left_estimated\": %.0f, "
	       "\"tiles_per_s\": %.3f, \"workers\": %lld, \"eta_basis\": ", s->tile_ms_mean,
	       s->tiles_left, s->tiles_guess, s->tiles_per_s, (long long)s->workers);
	rep_json_str(stdout, s->basis);
	if (s->tiles_per_s > 0)
		printf(", \"eta_s\": %.1f, \"failed\": [", s->eta_s);
	else
		printf(", \"eta_s\": null, \"failed\": [");
	print_failed(rep, FMT_JSON);
	printf("]}\n");
}

static void status_csv(const struct tp_report *rep, const struct rep_status *s)
{
	printf("kind,name,value\n");
	printf("jobs,queued,%lld\njobs,running,%lld\njobs,interrupted,%lld\njobs,done,%lld\n"
	       "jobs,failed,%lld\njobs,not_started,%lld\nimages,total,%lld\n", (long long)s->queued,
	       (long long)s->running, (long long)s->interrupted, (long long)s->done,
	       (long long)s->failed, (long long)s->not_started, (long long)s->images);
	for (int i = 0; i < STORE_TILE_NSTATES; i++)
		printf("tiles,%s,%lld\n", store_tile_state_name(i), (long long)rep->tiles[i]);
	printf("eta,tiles_left,%.0f\neta,tiles_left_estimated,%.0f\neta,tiles_per_s,%.3f\n"
	       "eta,workers,%lld\neta,eta_s,", s->tiles_left, s->tiles_guess, s->tiles_per_s,
	       (long long)s->workers);
	if (s->tiles_per_s > 0)
		printf("%.1f\n", s->eta_s);
	else
		printf("\n");
	print_failed(rep, FMT_CSV);
}

static void status_table(const struct tp_report *rep, const struct rep_status *s)
{
	char eta[32];
	printf("images: %lld: %lld queued, %lld running, %lld interrupted, %lld done, %lld failed, "
	       "%lld not started\n", (long long)s->images, (long long)s->queued,
	       (long long)s->running, (long long)s->interrupted, (long long)s->done,
	       (long long)s->failed, (long long)s->not_started);
	printf("tiles:  ");
	for (int i = 0; i < STORE_TILE_NSTATES; i++)
		printf("%s%lld %s", i ? ", " : "", (long long)rep->tiles[i], store_tile_state_name(i));
	tp_format_duration(eta, sizeof eta, s->eta_s * 1e3);
	if (s->tiles_left + s->tiles_guess <= 0)
		printf("\nETA:    nothing left to inpaint\n");
	else if (s->tiles_per_s > 0)
		printf("\nETA:    %s for %.0f masked tiles left%s at %.2f tiles/s (%s)\n", eta,
		       s->tiles_left + s->tiles_guess, s->tiles_guess > 0 ? " (some estimated)" : "",
		       s->tiles_per_s, s->basis);
	else
		printf("\nETA:    unknown (no tile timed yet)\n");
	if (s->interrupted)
		printf("%lld interrupted: their process is gone; the next run resumes them\n",
		       (long long)s->interrupted);
	print_failed(rep, FMT_TABLE);
}

int cmd_status(int argc, char **argv)
{
	struct query_args q;
	struct tp_report rep;
	struct rep_status s;
	tp_status rc;
	int r = parse_query_args(argc, argv, "status", status_synopsis, 0, &q);
	if (r)
		return r < 0 ? TP_EXIT_OK : r;
	if ((r = load(&q, &rep)) != 0)
		return r;
	if ((rc = rep_status_get(&rep, &s)) != TP_OK) {
		tp_error("%s", tp_errmsg());
		tp_report_free(&rep);
		return tp_exit_code(rc);
	}
	if (q.fmt == FMT_JSON)
		status_json(&rep, &s);
	else if (q.fmt == FMT_CSV)
		status_csv(&rep, &s);
	else
		status_table(&rep, &s);
	tp_report_free(&rep);
	return stdout_done("status");
}

/* ---- report ---- */

/* --out FILE: the page into a temporary beside FILE, fsynced and renamed. */
static int report_to_file(const struct tp_report *rep, const char *path)
{
	size_t n = strlen(path);
	char *tmp = tp_malloc(n + 16);
	FILE *f = NULL;
	int fd = -1, ex = TP_EXIT_OK;
	tp_status rc;
	if (!tmp)
		return tp_exit_code(tp_err(TP_ENOMEM, "out of memory"));
	snprintf(tmp, n + 16, "%s.tmp-XXXXXX", path);
	if ((fd = mkstemp(tmp)) >= 0) {
		mode_t um = umask(0);   /* a report is as readable as any file made here */
		umask(um);
		if (fchmod(fd, 0666 & ~um) != 0)
			tp_debug("%s: %s", tmp, strerror(errno));
	}
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		tp_error("%s: cannot create: %s", path, strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		tp_free(tmp);
		return TP_EXIT_CANTCREAT;
	}
	rc = rep_print_html(f, rep);
	if (rc != TP_OK) {
		tp_error("%s", tp_errmsg());
		ex = tp_exit_code(rc);
	} else if (fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0) {
		tp_error("writing %s: %s", path, strerror(errno));
		ex = TP_EXIT_IOERR;
	}
	if (fclose(f) != 0 && ex == TP_EXIT_OK) {
		tp_error("writing %s: %s", path, strerror(errno));
		ex = TP_EXIT_IOERR;
	}
	if (ex == TP_EXIT_OK && rename(tmp, path) != 0) {
		tp_error("%s: cannot rename into place: %s", path, strerror(errno));
		ex = TP_EXIT_CANTCREAT;
	}
	if (ex != TP_EXIT_OK)
		unlink(tmp);
	tp_free(tmp);
	return ex;
}

int cmd_report(int argc, char **argv)
{
	struct query_args q;
	struct tp_report rep;
	tp_status rc;
	int r = parse_query_args(argc, argv, "report", report_synopsis, 1, &q);
	if (r)
		return r < 0 ? TP_EXIT_OK : r;
	if ((r = load(&q, &rep)) != 0)
		return r;
	if (q.run && rep.nruns == 0) {
		tp_error("%s: no run %lld in the store%s", q.dbs[0], (long long)q.run,
			 q.ndb > 1 ? "s given" : "");
		tp_report_free(&rep);
		return TP_EXIT_NOINPUT;
	}
	if (q.fmt == FMT_HTML && q.out) {
		r = report_to_file(&rep, q.out);
		tp_report_free(&rep);
		return r;
	}
	if (q.fmt == FMT_JSON)
		rc = rep_print_json(stdout, &rep);
	else if (q.fmt == FMT_CSV)
		rc = rep_print_csv(stdout, &rep, q.table);
	else if (q.fmt == FMT_HTML)
		rc = rep_print_html(stdout, &rep);
	else
		rc = rep_print_table(stdout, &rep);
	tp_report_free(&rep);
	if (rc != TP_OK) {
		tp_error("%s", tp_errmsg());
		return tp_exit_code(rc);
	}
	return stdout_done("report");
}
