/*
 * report.c - read one or more job stores into a struct tp_report (see
 * report.h): runs with their stage totals, whether a run or a job's holder is
 * still alive, jobs with wall and worker time, and the sums. The stores stay
 * open (read-only) so the printers can walk a job's tiles.
 */
#include "report.h"
#include "lease.h"
#include "progress.h"

#include <string.h>
#include <time.h>

const char *rep_run_state_name(enum rep_run_state s)
{
	return s == REP_RUN_FINISHED ? "finished" : s == REP_RUN_RUNNING ? "running" : "interrupted";
}

const char *rep_job_state_name(const struct rep_job *j)
{
	return j->interrupted ? "interrupted" : store_job_state_name(j->row.state);
}

static int collect_stage(void *ctx, const char *stage, int64_t count, double ms)
{
	struct rep_stages *a = ctx;
	if (a->n < REP_MAX_STAGES) {
		snprintf(a->name[a->n], sizeof a->name[0], "%s", stage);
		a->count[a->n] = count;
		a->ms[a->n] = ms;
		a->n++;
	}
	a->total += ms;
	return 0;
}

void rep_stages_merge(struct rep_stages *a, const struct rep_stages *b)
{
	for (int i = 0; i < b->n; i++) {
		int k = 0;
		while (k < a->n && strcmp(a->name[k], b->name[i]) != 0)
			k++;
		if (k == a->n) {
			if (a->n == REP_MAX_STAGES)
				continue;
			snprintf(a->name[k], sizeof a->name[0], "%s", b->name[i]);
			a->count[k] = 0;
			a->ms[k] = 0;
			a->n++;
		}
		a->count[k] += b->count[i];
		a->ms[k] += b->ms[i];
	}
	a->total += b->total;
}

static double wall_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* strdup into *dst; 0 on no memory. */
static int own(const char **dst, const char *src)
{
	char *c = tp_strdup(src ? src : "");
	*dst = c;
	return c != NULL;
}

/* Is run `w` (not finished) still going? Its process on this host is asked;
 * on another host it counts as running while its last progress write is
 * younger than the default lease. */
static enum rep_run_state run_state(const struct store_run_row *w, double now)
{
	char holder[512], host[256], owner[512];
	if (w->finished > 0)
		return REP_RUN_FINISHED;
	tp_lease_owner(owner, sizeof owner, host, sizeof host);
	if (strcmp(w->host, host) == 0) {
		snprintf(holder, sizeof holder, "%s:%lld:%lld", w->host, (long long)w->pid,
			 (long long)w->started);
		return tp_holder_is_dead(holder, host) ? REP_RUN_INTERRUPTED : REP_RUN_RUNNING;
	}
	return now - (w->seen > 0 ? w->seen : w->started) < TP_LEASE_DEFAULT_S
		? REP_RUN_RUNNING : REP_RUN_INTERRUPTED;
}

struct load_ctx { struct tp_report *rep; size_t store; tp_status err; };

static int add_run(void *ctx, const struct store_run_row *w)
{
	struct load_ctx *lc = ctx;
	struct tp_report *rep = lc->rep;
	struct rep_run *v = tp_grow_array(rep->runs, &rep->runs_cap, rep->nruns, sizeof *v, 16), *u;
	if (!v) {
		lc->err = tp_err(TP_ENOMEM, "out of memory reading the runs");
		return 1;
	}
	rep->runs = v;
	u = &v[rep->nruns];
	memset(u, 0, sizeof *u);
	u->store = lc->store;
	u->row = *w;
	u->row.argv = u->row.host = u->row.engine = u->row.options = NULL;
	u->row.options_hash = u->row.shard = NULL;
	rep->nruns++;
	if (!own(&u->row.argv, w->argv) || !own(&u->row.host, w->host) ||
	    !own(&u->row.engine, w->engine) || !own(&u->row.options, w->options) ||
	    !own(&u->row.options_hash, w->options_hash) || !own(&u->row.shard, w->shard)) {
		lc->err = tp_err(TP_ENOMEM, "out of memory reading the runs");
		return 1;
	}
	u->state = run_state(w, rep->now);
	u->wall_s = u->state == REP_RUN_FINISHED ? w->finished - w->started
		: u->state == REP_RUN_RUNNING ? rep->now - w->started
		: (w->seen > 0 ? w->seen : w->started) - w->started;
	if (u->wall_s < 0)
		u->wall_s = 0;
	u->mp_per_s = u->wall_s > 0 ? w->n.megapixels / u->wall_s : 0;
	return 0;
}

/* A job stored as running whose lease expired or whose holder on this host is gone. */
static int holder_gone(const struct store_job_row *r, double now)
{
	char owner[512], host[256];
	if (r->state != STORE_JOB_RUNNING)
		return 0;
	if (!r->lease_owner[0] || r->lease_expires <= (int64_t)now)
		return 1;
	tp_lease_owner(owner, sizeof owner, host, sizeof host);
	return tp_holder_is_dead(r->lease_owner, host);
}

static int add_job(void *ctx, const struct store_job_row *r)
{
	struct load_ctx *lc = ctx;
	struct tp_report *rep = lc->rep;
	struct rep_job *v = tp_grow_array(rep->jobs, &rep->jobs_cap, rep->njobs, sizeof *v, 64), *j;
	if (!v) {
		lc->err = tp_err(TP_ENOMEM, "out of memory reading the jobs");
		return 1;
	}
	rep->jobs = v;
	j = &v[rep->njobs];
	memset(j, 0, sizeof *j);
	j->store = lc->store;
	j->row = *r;
	j->row.input = j->row.output = j->row.error = j->row.lease_owner = j->row.mask = NULL;
	rep->njobs++;
	if (!own(&j->row.input, r->input) || !own(&j->row.output, r->output) ||
	    !own(&j->row.error, r->error) || !own(&j->row.lease_owner, r->lease_owner) ||
	    !own(&j->row.mask, r->mask)) {
		lc->err = tp_err(TP_ENOMEM, "out of memory reading the jobs");
		return 1;
	}
	j->interrupted = holder_gone(r, rep->now);
	j->tiles_pending = r->state == STORE_JOB_DONE ? 0
		: r->tiles_total - r->tiles_skipped - r->tiles_done - r->tiles_failed;
	rep->by_state[(unsigned)r->state < STORE_JOB_NSTATES ? r->state : 0]++;
	rep->interrupted += j->interrupted;
	return 0;
}

/* Runs, their stages, jobs and the stage sums of store k. */
TP_MUST_USE static tp_status load_store(struct tp_report *rep, size_t k)
{
	struct load_ctx lc = { rep, k, TP_OK };
	struct store *s = rep->st[k];
	struct rep_stages all;
	size_t r0 = rep->nruns, j0 = rep->njobs;
	tp_status rc = store_runs_each(s, rep->run, add_run, &lc);
	if (rc == TP_OK && (rc = lc.err) == TP_OK)
		rc = store_jobs_each_run(s, rep->run, add_job, &lc);
	if (rc == TP_OK)
		rc = lc.err;
	for (size_t i = r0; rc == TP_OK && i < rep->nruns; i++)
		rc = store_stages_each_run(s, rep->runs[i].row.id, -1, collect_stage, &rep->runs[i].st);
	for (size_t i = j0; rc == TP_OK && i < rep->njobs; i++) {
		const struct rep_job *j = &rep->jobs[i];
		/* (a job's own stages are read when printed: rep_job_stages) */
		rep->tiles[STORE_TILE_SKIPPED] += j->row.tiles_skipped;
		rep->tiles[STORE_TILE_DONE] += j->row.tiles_done;
		rep->tiles[STORE_TILE_FAILED] += j->row.tiles_failed;
		rep->tiles[STORE_TILE_PENDING] += j->tiles_pending;
	}
	memset(&all, 0, sizeof all);
	if (rc == TP_OK)
		rc = store_stages_each_run(s, rep->run, -1, collect_stage, &all);
	if (rc == TP_OK)
		rep_stages_merge(&rep->all, &all);
	return rc;
}

tp_status rep_job_stages(const struct tp_report *rep, const struct rep_job *j,
			 struct rep_stages *out)
{
	memset(out, 0, sizeof *out);
	return store_stages_each_run(rep->st[j->store], rep->run, j->row.id, collect_stage, out);
}

tp_status tp_report_load(struct tp_report *rep, const char *const *paths, size_t n, int64_t run)
{
	tp_status rc = TP_OK;
	memset(rep, 0, sizeof *rep);
	rep->paths = paths;
	rep->run = run;
	rep->now = wall_now();
	if (!(rep->st = tp_calloc(n ? n : 1, sizeof *rep->st)))
		return tp_err(TP_ENOMEM, "out of memory opening the stores");
	rep->nstores = n;
	for (size_t k = 0; k < n && rc == TP_OK; k++)
		rc = store_open(paths[k], 1, &rep->st[k]);
	for (size_t k = 0; k < n && rc == TP_OK; k++)
		rc = load_store(rep, k);
	if (rc != TP_OK)
		tp_report_free(rep);
	return rc;
}

void tp_report_free(struct tp_report *rep)
{
	for (size_t i = 0; i < rep->nruns; i++) {
		struct store_run_row *w = &rep->runs[i].row;
		tp_free((char *)w->argv);
		tp_free((char *)w->host);
		tp_free((char *)w->engine);
		tp_free((char *)w->options);
		tp_free((char *)w->options_hash);
		tp_free((char *)w->shard);
	}
	for (size_t i = 0; i < rep->njobs; i++) {
		struct store_job_row *r = &rep->jobs[i].row;
		tp_free((char *)r->input);
		tp_free((char *)r->output);
		tp_free((char *)r->error);
		tp_free((char *)r->lease_owner);
		tp_free((char *)r->mask);
	}
	for (size_t k = 0; rep->st && k < rep->nstores; k++)
		store_close(rep->st[k]);
	tp_free(rep->st);
	tp_free(rep->runs);
	tp_free(rep->jobs);
	memset(rep, 0, sizeof *rep);
}

/* The last run of store k (highest id), or NULL. */
static const struct rep_run *last_run(const struct tp_report *rep, size_t k, int with_tiles)
{
	const struct rep_run *best = NULL;
	for (size_t i = 0; i < rep->nruns; i++) {
		const struct rep_run *u = &rep->runs[i];
		if (u->store == k && (!with_tiles || (u->row.n.inpainted > 0 && u->wall_s > 0)) &&
		    (!best || u->row.id > best->row.id))
			best = u;
	}
	return best;
}

/* Tiles left and the estimate for images without a plan. */
static void count_left(const struct tp_report *rep, struct rep_status *o)
{
	int64_t planned = 0, active = 0, unplanned = o->not_started;
	for (size_t i = 0; i < rep->njobs; i++) {
		const struct store_job_row *r = &rep->jobs[i].row;
		if (r->tiles_total > 0) {
			planned++;
			active += r->tiles_total - r->tiles_skipped;
		}
		if (r->state == STORE_JOB_DONE || r->state == STORE_JOB_FAILED)
			continue;
		if (r->tiles_total > 0)
			o->tiles_left += (double)rep->jobs[i].tiles_pending;
		else
			unplanned++;
	}
	/* the bar's guess too (progress.c) */
	o->tiles_guess = tp_progress_guess((double)unplanned, (double)active, (double)planned);
}

/* Throughput of store k: the wall throughput of its last run that inpainted,
 * else the measured engine time per tile over the last run's workers. */
TP_MUST_USE static tp_status store_rate(const struct tp_report *rep, size_t k,
					struct rep_status *o, double *tps, char *why, size_t n)
{
	const struct rep_run *u = last_run(rep, k, 1), *l = last_run(rep, k, 0);
	struct store_status ss;
	int64_t workers = l && l->row.threads > 0 ? l->row.threads : 1;
	tp_status rc = store_status_get(rep->st[k], (int64_t)rep->now, &ss);
	*tps = 0;
	if (rc != TP_OK)
		return rc;
	o->workers += workers;
	if (ss.tiles_timed)
		o->tile_ms_mean += ss.tile_ms_mean / (double)rep->nstores;
	if (u) {
		*tps = (double)u->row.n.inpainted / u->wall_s;
		snprintf(why, n, "wall throughput of run %lld, -j %lld", (long long)u->row.id,
			 (long long)u->row.threads);
	} else if (ss.tiles_timed && ss.tile_ms_mean > 0) {
		*tps = (double)workers * 1e3 / ss.tile_ms_mean;
		snprintf(why, n, "%.1f ms of engine time per tile, -j %lld", ss.tile_ms_mean,
			 (long long)workers);
	}
	return TP_OK;
}

tp_status rep_status_get(const struct tp_report *rep, struct rep_status *o)
{
	tp_status rc = TP_OK;
	memset(o, 0, sizeof *o);
	o->queued = rep->by_state[STORE_JOB_QUEUED];
	o->running = rep->by_state[STORE_JOB_RUNNING] - rep->interrupted;
	o->interrupted = rep->interrupted;
	o->done = rep->by_state[STORE_JOB_DONE];
	o->failed = rep->by_state[STORE_JOB_FAILED];
	for (size_t k = 0; k < rep->nstores; k++) {
		const struct rep_run *l = last_run(rep, k, 0);
		if (l && l->row.unknown > l->row.n.reached_unknown)
			o->not_started += l->row.unknown - l->row.n.reached_unknown;
	}
	o->images = (int64_t)rep->njobs + o->not_started;
	count_left(rep, o);
	for (size_t k = 0; k < rep->nstores && rc == TP_OK; k++) {
		double tps = 0;
		char why[200] = "";
		rc = store_rate(rep, k, o, &tps, why, sizeof why);
		o->tiles_per_s += tps;
		if (tps > 0 && o->basis[0])
			snprintf(o->basis, sizeof o->basis, "summed over the stores' last runs");
		else if (tps > 0)
			snprintf(o->basis, sizeof o->basis, "%s", why);
	}
	if (o->tiles_per_s > 0)
		o->eta_s = (o->tiles_left + o->tiles_guess) / o->tiles_per_s;
	return rc;
}
