/*
 * cmd_query.c - `tilepaint status` and `tilepaint report`: read-only views
 * of a job store, as a table for people or CSV / JSON for scripts. They open
 * the store read-only, so they are safe while a run is writing.
 */
#include "commands.h"
#include "exit.h"
#include "options.h"
#include "../store/store.h"

#include <getopt.h>
#include <errno.h>
#include <string.h>

static const char status_synopsis[] =
"usage: tilepaint status (-o DIR | --db FILE) [--format table|json]\n"
"Jobs by state (queued, running, done, failed), tiles by state (pending, done,\n"
"skipped, failed), an ETA from measured tile times, and the failed inputs.\n";

static const char report_synopsis[] =
"usage: tilepaint report (-o DIR | --db FILE) [--format table|csv|json]\n"
"Per-stage timings (stage, calls, total ms, mean ms, share %), over all jobs\n"
"and per image.\n";

enum fmt { FMT_TABLE, FMT_CSV, FMT_JSON };

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void csv_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static int parse_query_args(int argc, char **argv, const char *cmd, const char *synopsis,
			    int allow_csv, char *db, size_t dbn, enum fmt *fmt)
{
	static const struct option lo[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "db", required_argument, NULL, 'd' },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *out = NULL, *dbf = NULL;
	int c;
	char msg[256];
	*fmt = FMT_TABLE;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:h", lo, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'd': dbf = optarg; break;
		case 'f':
			if (!strcmp(optarg, "table")) *fmt = FMT_TABLE;
			else if (!strcmp(optarg, "json")) *fmt = FMT_JSON;
			else if (!strcmp(optarg, "csv") && allow_csv) *fmt = FMT_CSV;
			else {
				snprintf(msg, sizeof msg, "--format must be %s, not '%s'",
					 allow_csv ? "table, csv or json" : "table or json", optarg);
				return opts_usage_error(cmd, msg);
			}
			break;
		case 'h': fputs(synopsis, stdout); return -1;
		case ':':
			snprintf(msg, sizeof msg, "option '%s' needs a value", argv[optind - 1]);
			return opts_usage_error(cmd, msg);
		default:
			snprintf(msg, sizeof msg, "unknown option '%s'", argv[optind - 1]);
			return opts_usage_error(cmd, msg);
		}
	}
	if (optind < argc) {
		snprintf(msg, sizeof msg, "unexpected argument '%s'", argv[optind]);
		return opts_usage_error(cmd, msg);
	}
	return opts_store_choice(cmd, out, dbf, db, dbn);
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

static int open_ro(const char *db, struct store **st)
{
	tp_status rc = store_open(db, 1, st);
	if (rc == TP_OK)
		return 0;
	tp_error("%s", tp_errmsg());
	return tp_store_exit_code(rc);
}

struct failed_ctx { enum fmt fmt; int n; };

static int print_failed(void *ctx, const struct store_job_row *r)
{
	struct failed_ctx *fc = ctx;
	if (r->state != STORE_JOB_FAILED)
		return 0;
	if (fc->fmt == FMT_JSON) {
		fputs(fc->n ? ", " : "", stdout);
		fputs("{\"input\": ", stdout);
		json_str(stdout, r->input);
		fputs(", \"error\": ", stdout);
		json_str(stdout, r->error);
		fputs("}", stdout);
	} else {
		size_t n = strlen(r->input);
		const char *e = r->error ? r->error : "";
		if (!fc->n)
			printf("\nfailed:\n");
		/* errors name their file already; say which input when one does not */
		if (strncmp(e, r->input, n) == 0)
			printf("  %s\n", e);
		else
			printf("  %s: %s\n", r->input, e);
	}
	fc->n++;
	return 0;
}

int cmd_status(int argc, char **argv)
{
	char db[4096];
	enum fmt fmt;
	struct store *st = NULL;
	struct store_status ss;
	int r = parse_query_args(argc, argv, "status", status_synopsis, 0, db, sizeof db, &fmt);
	double eta_ms;
	tp_status walk;
	struct failed_ctx fc = { fmt, 0 };
	if (r)
		return r < 0 ? TP_EXIT_OK : r;
	if ((r = open_ro(db, &st)) != 0)
		return r;
	if ((walk = store_status_get(st, tp_wall_s(), &ss)) != TP_OK) {
		tp_error("%s", tp_errmsg());
		store_close(st);
		return tp_exit_code(walk);
	}
	eta_ms = ss.tile_ms_mean * (double)ss.tiles[STORE_TILE_PENDING];
	if (fmt == FMT_JSON) {
		printf("{\"jobs\": {");
		for (int i = 0; i < STORE_JOB_NSTATES; i++)
			printf("%s\"%s\": %lld", i ? ", " : "", store_job_state_name(i), (long long)ss.jobs[i]);
		printf("}, \"tiles\": {");
		for (int i = 0; i < STORE_TILE_NSTATES; i++)
			printf("%s\"%s\": %lld", i ? ", " : "", store_tile_state_name(i), (long long)ss.tiles[i]);
		printf("}, \"tile_ms_mean\": %.3f, \"eta_s\": %.1f, \"failed\": [", ss.tile_ms_mean, eta_ms / 1e3);
		walk = store_jobs_each(st, print_failed, &fc);
		printf("]}\n");
	} else {
		char eta[32];
		printf("jobs:  ");
		for (int i = 0; i < STORE_JOB_NSTATES; i++)
			printf("%s%lld %s", i ? ", " : "", (long long)ss.jobs[i], store_job_state_name(i));
		printf("\ntiles: ");
		for (int i = 0; i < STORE_TILE_NSTATES; i++)
			printf("%s%lld %s", i ? ", " : "", (long long)ss.tiles[i], store_tile_state_name(i));
		tp_format_duration(eta, sizeof eta, eta_ms);
		if (ss.tiles_timed)
			printf("\nETA:   %s for %lld pending tiles at %.1f ms each (one worker; divide by -j)\n",
			       eta, (long long)ss.tiles[STORE_TILE_PENDING], ss.tile_ms_mean);
		else
			printf("\nETA:   unknown (no tile timed yet)\n");
		walk = store_jobs_each(st, print_failed, &fc);
	}
	if (walk != TP_OK) {
		tp_error("%s", tp_errmsg());
		store_close(st);
		return tp_exit_code(walk);
	}
	store_close(st);
	return stdout_done("status");
}

struct stage_acc {
	char name[32][32];
	int64_t count[32];
	double ms[32];
	int n;
	double total;
};

static int collect_stage(void *ctx, const char *stage, int64_t count, double ms)
{
	struct stage_acc *a = ctx;
	if (a->n < 32) {
		snprintf(a->name[a->n], sizeof a->name[0], "%s", stage);
		a->count[a->n] = count;
		a->ms[a->n] = ms;
		a->n++;
		a->total += ms;
	}
	return 0;
}

static void print_stages(const struct stage_acc *a, enum fmt fmt, const char *indent)
{
	for (int i = 0; i < a->n; i++) {
		double mean = a->count[i] ? a->ms[i] / (double)a->count[i] : 0;
		double share = a->total > 0 ? 100.0 * a->ms[i] / a->total : 0;
		if (fmt == FMT_JSON)
			printf("%s{\"stage\": \"%s\", \"count\": %lld, \"total_ms\": %.3f, \"mean_ms\": %.3f, \"share_pct\": %.2f}",
			       i ? ", " : "", a->name[i], (long long)a->count[i], a->ms[i], mean, share);
		else
			printf("%s%-12s %8lld %12.1f %10.2f %7.1f%%\n", indent, a->name[i],
			       (long long)a->count[i], a->ms[i], mean, share);
	}
}

struct report_ctx { struct store *st; enum fmt fmt; int n; tp_status err; };

static int report_job(void *ctx, const struct store_job_row *r)
{
	struct report_ctx *rc = ctx;
	struct stage_acc a;
	memset(&a, 0, sizeof a);
	if ((rc->err = store_stages_each(rc->st, r->id, collect_stage, &a)) != TP_OK)
		return 1;   /* stop the walk: the report would be incomplete */
	if (rc->fmt == FMT_JSON) {
		printf("%s{\"input\": ", rc->n ? ", " : "");
		json_str(stdout, r->input);
		printf(", \"output\": ");
		json_str(stdout, r->output);
		printf(", \"state\": \"%s\", \"tiles\": %lld, \"skipped\": %lld, \"total_ms\": %.3f, \"stages\": [",
		       store_job_state_name(r->state), (long long)r->tiles_total,
		       (long long)r->tiles_skipped, a.total);
		print_stages(&a, FMT_JSON, "");
		printf("]}");
	} else if (rc->fmt == FMT_CSV) {
		for (int i = 0; i < a.n; i++) {
			csv_str(stdout, r->input);
			printf(",%s,%lld,%.3f,%.3f,%.2f\n", a.name[i], (long long)a.count[i], a.ms[i],
			       a.count[i] ? a.ms[i] / (double)a.count[i] : 0,
			       a.total > 0 ? 100.0 * a.ms[i] / a.total : 0);
		}
	} else {
		printf("\n%s  [%s, %lld tiles, %lld skipped, %.1f ms]\n", r->input,
		       store_job_state_name(r->state), (long long)r->tiles_total,
		       (long long)r->tiles_skipped, a.total);
		if (a.n)
			printf("  %-12s %8s %12s %10s %8s\n", "stage", "calls", "total ms", "mean ms", "share");
		print_stages(&a, FMT_TABLE, "  ");
	}
	rc->n++;
	return 0;
}

int cmd_report(int argc, char **argv)
{
	char db[4096];
	enum fmt fmt;
	struct store *st = NULL;
	struct stage_acc all;
	struct report_ctx rc;
	tp_status walk;
	int r = parse_query_args(argc, argv, "report", report_synopsis, 1, db, sizeof db, &fmt);
	if (r)
		return r < 0 ? TP_EXIT_OK : r;
	if ((r = open_ro(db, &st)) != 0)
		return r;
	memset(&all, 0, sizeof all);
	if ((walk = store_stages_each(st, -1, collect_stage, &all)) != TP_OK) {
		tp_error("%s", tp_errmsg());
		store_close(st);
		return tp_exit_code(walk);
	}
	rc = (struct report_ctx){ st, fmt, 0, TP_OK };
	if (fmt == FMT_JSON) {
		printf("{\"stages\": [");
		print_stages(&all, FMT_JSON, "");
		printf("], \"total_ms\": %.3f, \"jobs\": [", all.total);
		walk = store_jobs_each(st, report_job, &rc);
		printf("]}\n");
	} else if (fmt == FMT_CSV) {
		printf("input,stage,count,total_ms,mean_ms,share_pct\n");
		for (int i = 0; i < all.n; i++)
			printf("\"*\",%s,%lld,%.3f,%.3f,%.2f\n", all.name[i], (long long)all.count[i], all.ms[i],
			       all.count[i] ? all.ms[i] / (double)all.count[i] : 0,
			       all.total > 0 ? 100.0 * all.ms[i] / all.total : 0);
		walk = store_jobs_each(st, report_job, &rc);
	} else {
		printf("all jobs\n  %-12s %8s %12s %10s %8s\n", "stage", "calls", "total ms", "mean ms", "share");
		print_stages(&all, FMT_TABLE, "  ");
		printf("  %-12s %8s %12.1f\n", "total", "", all.total);
		walk = store_jobs_each(st, report_job, &rc);
	}
	if (walk == TP_OK)
		walk = rc.err;
	if (walk != TP_OK) {
		tp_error("%s", tp_errmsg());
		store_close(st);
		return tp_exit_code(walk);
	}
	store_close(st);
	return stdout_done("report");
}
