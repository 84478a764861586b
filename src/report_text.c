/*
 * report_text.c - the report as a table, CSV or JSON (see report_text.h).
 * JSON is one object: "stores", "runs" (each with its "stages"), "stages"
 * and "total_ms" over everything selected, the job and tile counts, and
 * "jobs" (each with wall_ms, worker_ms and its "stages"). Worker time is
 * the sum of a job's stage times (inference summed over the workers); wall
 * time runs from its claim to the end of each attempt.
 */
#include "report_text.h"

#include <string.h>
#include <time.h>

void rep_json_str(FILE *f, const char *s)
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

void rep_csv_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

void rep_time_str(char *buf, size_t n, double wall_s)
{
	time_t t = (time_t)wall_s;
	struct tm tm;
	if (wall_s <= 0 || !localtime_r(&t, &tm) || !strftime(buf, n, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, n, "-");
}

/* A number, or null when it is not known (0). */
static void json_opt(FILE *f, const char *key, double v)
{
	if (v > 0)
		fprintf(f, ", \"%s\": %.3f", key, v);
	else
		fprintf(f, ", \"%s\": null", key);
}

static void json_stages(FILE *f, const struct rep_stages *a)
{
	fputc('[', f);
	for (int i = 0; i < a->n; i++) {
		fprintf(f, "%s{\"stage\": ", i ? ", " : "");
		rep_json_str(f, a->name[i]);
		fprintf(f, ", \"count\": %lld, \"total_ms\": %.3f, \"mean_ms\": %.3f, \"share_pct\": %.2f}",
			(long long)a->count[i], a->ms[i], a->count[i] ? a->ms[i] / (double)a->count[i] : 0,
			a->total > 0 ? 100.0 * a->ms[i] / a->total : 0);
	}
	fputc(']', f);
}

static void json_run(FILE *f, const struct tp_report *rep, const struct rep_run *u)
{
	const struct store_run_row *w = &u->row;
	fputs("{\"store\": ", f);
	rep_json_str(f, rep->paths[u->store]);
	fprintf(f, ", \"id\": %lld", (long long)w->id);
	json_opt(f, "started", w->started);
	json_opt(f, "finished", w->finished);
	fprintf(f, ", \"state\": \"%s\", \"wall_s\": %.3f, \"host\": ", rep_run_state_name(u->state),
		u->wall_s);
	rep_json_str(f, w->host);
	fprintf(f, ", \"pid\": %lld, \"engine\": ", (long long)w->pid);
	rep_json_str(f, w->engine);
	fputs(", \"options\": ", f);
	rep_json_str(f, w->options);
	fputs(", \"options_hash\": ", f);
	rep_json_str(f, w->options_hash);
	fputs(", \"shard\": ", f);
	rep_json_str(f, w->shard);
	fputs(", \"argv\": ", f);
	rep_json_str(f, w->argv);
	if (w->exit_status >= 0)
		fprintf(f, ", \"exit_status\": %lld", (long long)w->exit_status);
	else
		fputs(", \"exit_status\": null", f);
	fprintf(f, ", \"threads\": %lld, \"discovered\": %lld, \"images\": %lld, \"done\": %lld, "
		"\"failed\": %lld, \"skipped\": %lld, \"busy\": %lld, \"tiles\": %lld, "
		"\"inpainted\": %lld, \"reused\": %lld, \"megapixels\": %.6f, \"mp_per_s\": %.6f, "
		"\"total_ms\": %.3f, \"stages\": ", (long long)w->threads, (long long)w->discovered,
		(long long)w->n.images, (long long)w->n.done, (long long)w->n.failed,
		(long long)w->n.skipped, (long long)w->n.busy, (long long)w->n.tiles,
		(long long)w->n.inpainted, (long long)w->n.reused, w->n.megapixels, u->mp_per_s,
		u->st.total);
	json_stages(f, &u->st);
	fputc('}', f);
}

TP_MUST_USE static tp_status json_job(FILE *f, const struct tp_report *rep, const struct rep_job *j)
{
	const struct store_job_row *r = &j->row;
	struct rep_stages a;
	tp_status rc = rep_job_stages(rep, j, &a);
	if (rc != TP_OK)
		return rc;
	fputs("{\"store\": ", f);
	rep_json_str(f, rep->paths[j->store]);
	fprintf(f, ", \"id\": %lld, \"input\": ", (long long)r->id);
	rep_json_str(f, r->input);
	fputs(", \"output\": ", f);
	rep_json_str(f, r->output);
	fprintf(f, ", \"state\": \"%s\", \"attempts\": %lld, \"tiles\": %lld, \"skipped\": %lld, "
		"\"tiles_done\": %lld, \"tiles_failed\": %lld, \"tiles_pending\": %lld, "
		"\"width\": %lld, \"height\": %lld, \"wall_ms\": %.3f, \"worker_ms\": %.3f",
		rep_job_state_name(j), (long long)r->attempts, (long long)r->tiles_total,
		(long long)r->tiles_skipped, (long long)r->tiles_done, (long long)r->tiles_failed,
		(long long)j->tiles_pending, (long long)r->width, (long long)r->height, r->wall_ms,
		a.total);
	json_opt(f, "started", r->started);
	json_opt(f, "finished", r->finished);
	fputs(", \"error\": ", f);
	rep_json_str(f, r->error);
	fputs(", \"stages\": ", f);
	json_stages(f, &a);
	fputc('}', f);
	return TP_OK;
}

tp_status rep_print_json(FILE *f, const struct tp_report *rep)
{
	double wall = 0;
	tp_status rc = TP_OK;
	fputs("{\"stores\": [", f);
	for (size_t k = 0; k < rep->nstores; k++) {
		fputs(k ? ", " : "", f);
		rep_json_str(f, rep->paths[k]);
	}
	fprintf(f, "], \"run\": ");
	if (rep->run)
		fprintf(f, "%lld", (long long)rep->run);
	else
		fputs("null", f);
	fputs(", \"runs\": [", f);
	for (size_t i = 0; i < rep->nruns; i++) {
		fputs(i ? ", " : "", f);
		json_run(f, rep, &rep->runs[i]);
	}
	fputs("], \"stages\": ", f);
	json_stages(f, &rep->all);
	for (size_t i = 0; i < rep->njobs; i++)
		wall += rep->jobs[i].row.wall_ms;
	fprintf(f, ", \"total_ms\": %.3f, \"worker_ms\": %.3f, \"wall_ms\": %.3f, \"images\": "
		"{\"jobs\": %zu, \"queued\": %lld, \"running\": %lld, \"interrupted\": %lld, "
		"\"done\": %lld, \"failed\": %lld}, \"tiles\": {", rep->all.total, rep->all.total,
		wall, rep->njobs, (long long)rep->by_state[STORE_JOB_QUEUED],
		(long long)(rep->by_state[STORE_JOB_RUNNING] - rep->interrupted),
		(long long)rep->interrupted, (long long)rep->by_state[STORE_JOB_DONE],
		(long long)rep->by_state[STORE_JOB_FAILED]);
	for (int i = 0; i < STORE_TILE_NSTATES; i++)
		fprintf(f, "%s\"%s\": %lld", i ? ", " : "", store_tile_state_name(i),
			(long long)rep->tiles[i]);
	fputs("}, \"jobs\": [", f);
	for (size_t i = 0; i < rep->njobs && rc == TP_OK; i++) {
		fputs(i ? ", " : "", f);
		rc = json_job(f, rep, &rep->jobs[i]);
	}
	fputs("]}\n", f);
	return rc;
}

/* ---- CSV ---- */

static void csv_stage_rows(FILE *f, const char *lead, int quote, const struct rep_stages *a)
{
	for (int i = 0; i < a->n; i++) {
		if (quote)
			rep_csv_str(f, lead);
		else
			fputs(lead, f);
		fprintf(f, ",%s,%lld,%.3f,%.3f,%.2f\n", a->name[i], (long long)a->count[i], a->ms[i],
			a->count[i] ? a->ms[i] / (double)a->count[i] : 0,
			a->total > 0 ? 100.0 * a->ms[i] / a->total : 0);
	}
}

TP_MUST_USE static tp_status csv_stages(FILE *f, const struct tp_report *rep)
{
	tp_status rc = TP_OK;
	fputs("input,stage,count,total_ms,mean_ms,share_pct\n", f);
	csv_stage_rows(f, "\"*\"", 0, &rep->all);
	for (size_t i = 0; i < rep->njobs && rc == TP_OK; i++) {
		struct rep_stages a;
		if ((rc = rep_job_stages(rep, &rep->jobs[i], &a)) == TP_OK)
			csv_stage_rows(f, rep->jobs[i].row.input, 1, &a);
	}
	return rc;
}

static void csv_runs(FILE *f, const struct tp_report *rep)
{
	fputs("store,run,started,finished,state,wall_s,host,pid,engine,options,threads,discovered,"
	      "images,done,failed,skipped,busy,tiles,inpainted,reused,megapixels,mp_per_s,exit_status\n", f);
	for (size_t i = 0; i < rep->nruns; i++) {
		const struct rep_run *u = &rep->runs[i];
		const struct store_run_row *w = &u->row;
		rep_csv_str(f, rep->paths[u->store]);
		fprintf(f, ",%lld,%.3f,%.3f,%s,%.3f,", (long long)w->id, w->started, w->finished,
			rep_run_state_name(u->state), u->wall_s);
		rep_csv_str(f, w->host);
		fprintf(f, ",%lld,%s,", (long long)w->pid, w->engine);
		rep_csv_str(f, w->options);
		fprintf(f, ",%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%.6f,%.6f,%lld\n",
			(long long)w->threads, (long long)w->discovered, (long long)w->n.images,
			(long long)w->n.done, (long long)w->n.failed, (long long)w->n.skipped,
			(long long)w->n.busy, (long long)w->n.tiles, (long long)w->n.inpainted,
			(long long)w->n.reused, w->n.megapixels, u->mp_per_s, (long long)w->exit_status);
	}
}

static void csv_run_stages(FILE *f, const struct tp_report *rep)
{
	fputs("store,run,stage,count,total_ms,mean_ms,share_pct\n", f);
	for (size_t i = 0; i < rep->nruns; i++) {
		char lead[4200];
		size_t n = 0;
		const char *p = rep->paths[rep->runs[i].store];
		/* the store path quoted, then the run id */
		lead[n++] = '"';
		for (; *p && n < sizeof lead - 32; p++) {
			if (*p == '"')
				lead[n++] = '"';
			lead[n++] = *p;
		}
		snprintf(lead + n, sizeof lead - n, "\",%lld", (long long)rep->runs[i].row.id);
		csv_stage_rows(f, lead, 0, &rep->runs[i].st);
	}
}

static void csv_jobs(FILE *f, const struct tp_report *rep)
{
	fputs("store,input,output,state,tiles,skipped,tiles_done,tiles_failed,tiles_pending,"
	      "wall_ms,worker_ms,started,finished,error\n", f);
	for (size_t i = 0; i < rep->njobs; i++) {
		const struct rep_job *j = &rep->jobs[i];
		const struct store_job_row *r = &j->row;
		rep_csv_str(f, rep->paths[j->store]);
		fputc(',', f);
		rep_csv_str(f, r->input);
		fputc(',', f);
		rep_csv_str(f, r->output);
		fprintf(f, ",%s,%lld,%lld,%lld,%lld,%lld,%.3f,%.3f,%.3f,%.3f,", rep_job_state_name(j),
			(long long)r->tiles_total, (long long)r->tiles_skipped, (long long)r->tiles_done,
			(long long)r->tiles_failed, (long long)j->tiles_pending, r->wall_ms, r->worker_ms,
			r->started, r->finished);
		rep_csv_str(f, r->error);
		fputc('\n', f);
	}
}

tp_status rep_print_csv(FILE *f, const struct tp_report *rep, enum rep_csv_table t)
{
	tp_status rc = TP_OK;
	if (t == REP_CSV_ALL || t == REP_CSV_STAGES)
		rc = csv_stages(f, rep);
	if (t == REP_CSV_ALL)
		fputc('\n', f);
	if (t == REP_CSV_ALL || t == REP_CSV_RUNS)
		csv_runs(f, rep);
	if (t == REP_CSV_ALL)
		fputc('\n', f);
	if (t == REP_CSV_ALL || t == REP_CSV_RUN_STAGES)
		csv_run_stages(f, rep);
	if (t == REP_CSV_ALL)
		fputc('\n', f);
	if (t == REP_CSV_ALL || t == REP_CSV_JOBS)
		csv_jobs(f, rep);
	return rc;
}

/* ---- table ---- */

static void table_stages(FILE *f, const struct rep_stages *a, const char *indent)
{
	if (a->n)
		fprintf(f, "%s%-12s %8s %12s %10s %8s\n", indent, "stage", "calls", "total ms",
			"mean ms", "share");
	for (int i = 0; i < a->n; i++)
		fprintf(f, "%s%-12s %8lld %12.1f %10.2f %7.1f%%\n", indent, a->name[i],
			(long long)a->count[i], a->ms[i],
			a->count[i] ? a->ms[i] / (double)a->count[i] : 0,
			a->total > 0 ? 100.0 * a->ms[i] / a->total : 0);
}

static void table_runs(FILE *f, const struct tp_report *rep)
{
	for (size_t i = 0; i < rep->nruns; i++) {
		const struct rep_run *u = &rep->runs[i];
		const struct store_run_row *w = &u->row;
		char t0[32], t1[32];
		rep_time_str(t0, sizeof t0, w->started);
		rep_time_str(t1, sizeof t1, w->finished);
		if (!i)
			fprintf(f, "runs\n");
		fprintf(f, "  run %lld%s%s: %s .. %s, %.1f s, %s, %s:%lld, -j %lld, %s\n",
			(long long)w->id, rep->nstores > 1 ? " of " : "",
			rep->nstores > 1 ? rep->paths[u->store] : "", t0, t1, u->wall_s,
			rep_run_state_name(u->state), w->host, (long long)w->pid, (long long)w->threads,
			w->options[0] ? w->options : "(options not recorded)");
		fprintf(f, "    images %lld (of %lld found): %lld done, %lld failed, %lld up to date; "
			"tiles %lld, %lld inpainted; %.2f MP, %.3f MP/s\n", (long long)w->n.images,
			(long long)w->discovered, (long long)w->n.done, (long long)w->n.failed,
			(long long)w->n.skipped, (long long)w->n.tiles, (long long)w->n.inpainted,
			w->n.megapixels, u->mp_per_s);
	}
}

tp_status rep_print_table(FILE *f, const struct tp_report *rep)
{
	tp_status rc = TP_OK;
	table_runs(f, rep);
	fprintf(f, "%sall jobs (worker time: stage times summed, inference over the workers)\n",
		rep->nruns ? "\n" : "");
	table_stages(f, &rep->all, "  ");
	fprintf(f, "  %-12s %8s %12.1f\n", "total", "", rep->all.total);
	for (size_t i = 0; i < rep->njobs && rc == TP_OK; i++) {
		const struct rep_job *j = &rep->jobs[i];
		struct rep_stages a;
		if ((rc = rep_job_stages(rep, j, &a)) != TP_OK)
			break;
		fprintf(f, "\n%s  [%s, %lld tiles, %lld skipped, wall %.1f ms, worker %.1f ms]\n",
			j->row.input, rep_job_state_name(j), (long long)j->row.tiles_total,
			(long long)j->row.tiles_skipped, j->row.wall_ms, a.total);
		table_stages(f, &a, "  ");
	}
	return rc;
}
