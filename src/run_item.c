/*
 * run_item.c - one image of `tilepaint run`, start to end, and all the
 * bookkeeping of it in the store: sign the input and mask, make the store's
 * job agree with them (an unchanged, finished job whose output is still in
 * place is skipped without loading anything), claim the job's lease, process
 * it, and record done / failed / released with its timings. One bad file
 * gives one error line and a failed job; the batch goes on.
 */
#include "run.h"
#include "exit.h"
#include "record.h"
#include "lease.h"
#include "sig.h"

#include <string.h>
#include <unistd.h>

/* The job's stage times and the signing's, into the store. */
TP_MUST_USE static tp_status flush_timings(struct store *s, const struct store_lease *l, int64_t run,
					   const struct tp_timings *job, const struct tp_timings *sign)
{
	const char *names[TP_STAGE_COUNT];
	int64_t counts[TP_STAGE_COUNT];
	double ms[TP_STAGE_COUNT];
	for (int i = 0; i < TP_STAGE_COUNT; i++) {
		names[i] = tp_stage_name((enum tp_stage)i);
		counts[i] = job->count[i] + sign->count[i];
		ms[i] = job->ms[i] + sign->ms[i];
	}
	return store_job_timings(s, l, run, TP_STAGE_COUNT, names, counts, ms);
}

/* The store failed us (locked past its timeout, a full disk): print it and
 * stop the batch; the next run resumes. */
static enum item_outcome store_trouble(struct run *r)
{
	tp_error("%s", tp_errmsg());
	r->ex = tp_exit_worse(r->ex, TP_EXIT_TEMPFAIL);
	r->stopped = 1;
	return ITEM_STOPPED;
}

/* Record a failure of `it` that happened before or without a claim (the
 * input's own fault when the exit code says data error, or a refusal to
 * replace a file). */
static enum item_outcome fail_unclaimed(struct run *r, int64_t job_id, const char *msg, int exit_code,
					int failed_input)
{
	tp_error("%s", msg);
	if (job_id && store_job_fail(r->st, NULL, job_id, msg, failed_input) != TP_OK)
		tp_error("%s", tp_errmsg());
	r->ex = tp_exit_worse(r->ex, exit_code);
	return ITEM_FAILED;
}

/*
 * The content signature of `path`: the recorded one when the file's
 * identity is what was recorded (no read at all), else every byte hashed.
 * A recorded signature of the older kind (size, head and tail, mtime) is
 * honoured once when it still matches, so an upgraded store does not redo
 * finished work; the new identity and signature are recorded from then on.
 */
TP_MUST_USE static tp_status sign_file(const char *path, const char *rec_stat, const char *rec_sig,
				       char *stat_key, char *sig, size_t n, struct tp_timings *t)
{
	tp_status rc = tp_stat_key(path, stat_key, n);
	int old_same = 0;
	if (rc != TP_OK)
		return rc;
	if (rec_sig[0] && tp_sig_is_content(rec_sig) && strcmp(stat_key, rec_stat) == 0) {
		snprintf(sig, n, "%s", rec_sig);
		return TP_OK;
	}
	TP_TIMED(t, TP_STAGE_SIGN) {
		if (rec_sig[0] && !tp_sig_is_content(rec_sig) && !rec_stat[0]) {
			char old[160];
			old_same = tp_file_sig(path, old, sizeof old, NULL) == TP_OK &&
				   strcmp(old, rec_sig) == 0;
		}
		rc = old_same ? TP_OK : tp_content_sig(path, sig, n);
	}
	if (old_same) {
		snprintf(sig, n, "%s", rec_sig);
		stat_key[0] = '\0';   /* keep the old kind until the file changes */
	}
	return rc;
}

/* A finished job: is its output still the one we wrote? When not, *why
 * says how. A dry run records nothing. */
static int output_unchanged(struct run *r, const struct tp_item *it, const struct store_job *job,
			    const char **why)
{
	char key[TP_SIG_LEN], sig[TP_SIG_LEN];
	*why = "output changed";
	if (tp_stat_key(it->output, key, sizeof key) != TP_OK) {
		*why = "output missing";
		return 0;
	}
	if (job->output_stat[0] && strcmp(key, job->output_stat) == 0)
		return 1;
	if (!tp_sig_is_content(job->output_sig)) {
		/* recorded by an older tilepaint: size and mtime only */
		char old[128];
		return tp_output_sig(it->output, old, sizeof old) == TP_OK &&
		       strcmp(old, job->output_sig) == 0;
	}
	if (tp_content_sig(it->output, sig, sizeof sig) != TP_OK || strcmp(sig, job->output_sig) != 0)
		return 0;
	/* same bytes under a new identity (copied, touched): remember it */
	if (!r->o.dry_run && store_job_output_stat(r->st, job->id, key) != TP_OK)
		tp_warn("%s", tp_errmsg());
	return 1;
}

/* Process the claimed job (the engines' seed: the input's size, head and
 * tail, as it always was). */
TP_MUST_USE static tp_status process(struct run *r, const struct tp_item *it,
				     const struct store_lease *lease, struct tp_job_result *res)
{
	uint64_t seed = 0;
	char sig[160];
	struct tp_job_io io;
	tp_status rc = tp_file_sig(it->input, sig, sizeof sig, &seed);
	memset(res, 0, sizeof *res);
	if (rc == TP_OK)
		rc = make_parent_dirs(it->output);
	if (rc != TP_OK)
		return rc;
	io = (struct tp_job_io){
		.input = it->input, .mask = it->mask, .output = it->output,
		.content_hash = seed, .store = r->st, .lease = lease,
		.lease_s = r->o.lease_s, .run_id = r->run_id,
		.deadline_ms = r->deadline, .progress = r->prog,
		.computed_total = &r->n.computed,
	};
	return tp_job_process(&r->eng, &r->o, &io, 0, res);
}

/* Give the job back unfinished and stop the batch. */
static enum item_outcome release_and_stop(struct run *r, const struct store_lease *lease, int code)
{
	if (store_job_release(r->st, lease) != TP_OK)
		tp_error("%s", tp_errmsg());
	r->ex = tp_exit_worse(r->ex, code);
	r->stopped = 1;
	return ITEM_STOPPED;
}

/* Record how the claimed job ended (every store write fenced by the lease). */
static enum item_outcome record(struct run *r, const struct tp_item *it,
				const struct store_lease *lease, tp_status rc,
				const struct tp_job_result *res, const struct tp_timings *sign)
{
	char msg[1200];
	if (rc == TP_ELEASE) {
		tp_error("%s", tp_errmsg());
		r->ex = tp_exit_worse(r->ex, TP_EXIT_TEMPFAIL);
		r->stopped = 1;
		return ITEM_STOPPED;
	}
	/* our timings go in whatever happened, as long as the job is ours */
	if (flush_timings(r->st, lease, r->run_id, &res->t, sign) != TP_OK && rc == TP_OK)
		tp_warn("%s", tp_errmsg());
	if (rc == TP_OK) {
		tp_debug("%s: done (%llu tiles, %llu inpainted, %llu reused)", it->output,
			 (unsigned long long)res->tiles, (unsigned long long)res->computed,
			 (unsigned long long)res->reused);
		tp_job_debug_guide(it->output, res);
		return ITEM_DONE;
	}
	if (rc == TP_ECANCELED) {
		r->n.left++;
		return release_and_stop(r, lease, TP_EXIT_OK);
	}
	tp_error("%s", tp_errmsg());
	if (rc == TP_EMODEL || (rc == TP_EUSAGE && !r->eng.opened))
		/* the engine cannot start: every job would fail the same way */
		return release_and_stop(r, lease, TP_EXIT_CONFIG);
	snprintf(msg, sizeof msg, "%s", tp_errmsg());
	if (store_job_fail(r->st, lease, 0, msg, tp_job_exit_code(rc) == TP_EXIT_DATAERR) != TP_OK)
		tp_error("%s", tp_errmsg());
	r->ex = tp_exit_worse(r->ex, tp_job_exit_code(rc));
	return ITEM_FAILED;
}

/* Run the claimed job and record how it ended. */
static enum item_outcome work(struct run *r, const struct tp_item *it,
			      const struct store_lease *lease, const struct tp_timings *sign)
{
	struct tp_job_result res;
	int was_open = r->eng.opened;
	double t0 = tp_now_ms();
	enum item_outcome how;
	tp_status rc;
	tp_run_job_begin(r, lease->job);
	rc = process(r, it, lease, &res);
	if (!was_open && r->eng.opened && rc != TP_ELEASE &&
	    store_timing_add(r->st, r->run_id, 0, tp_stage_name(TP_STAGE_MODEL_LOAD), 1,
			     r->eng.load_ms) != TP_OK)
		tp_warn("%s", tp_errmsg());
	r->n.tiles += res.tiles;
	r->n.active += res.active;
	r->n.reused += res.reused;
	tp_debug("%s: job ended with %s", it->input, tp_status_name(rc));
	how = record(r, it, lease, rc, &res, sign);
	if (how == ITEM_DONE)
		r->n.pixels += (uint64_t)res.width * res.height;
	if (rc != TP_ELEASE)
		tp_run_job_end(r, lease->job, how, tp_now_ms() - t0);
	return how;
}

/* A done job to do again: its output went missing or changed, or --force. */
static void redo_done(struct run *r, const struct tp_item *it, const struct store_job *job)
{
	const char *why = r->o.force ? "redoing it (--force)"
		: "the output is missing or changed since it was written; redoing it";
	tp_info("%s: %s", it->output, why);
	if (store_job_requeue(r->st, job->id, why) != TP_OK)
		tp_warn("%s", tp_errmsg());
}


TP_MUST_USE static tp_status sign_item(const struct tp_item *it, const struct store_job *rec,
				       struct item_sigs *g)
{
	tp_status rc;
	memset(g, 0, sizeof *g);
	if (it->problem)
		return TP_OK;
	rc = sign_file(it->input, rec->input_stat, rec->input_sig, g->in_stat, g->in_sig,
		       sizeof g->in_sig, &g->t);
	if (rc == TP_OK && it->mask)
		rc = sign_file(it->mask, rec->mask_stat, rec->mask_sig, g->mk_stat, g->mk_sig,
			       sizeof g->mk_sig, &g->t);
	return rc;
}

/* A job known to be unusable before any claim: record it failed. */
static enum item_outcome fail_item(struct run *r, const struct tp_item *it, int64_t job_id,
				   tp_status sign_rc)
{
	/* the stored error is the line as printed: it names the file */
	char msg[1200];
	int code = it->problem ? tp_exit_code(it->why) : tp_job_exit_code(sign_rc);
	if (it->problem)
		snprintf(msg, sizeof msg, "%s: %s", it->input, it->problem);
	else
		snprintf(msg, sizeof msg, "%s", tp_errmsg());
	return fail_unclaimed(r, job_id, msg, code, code == TP_EXIT_DATAERR);
}

/* Why a job that is not done is (re)done: what changed since it was recorded. */
static const char *changed_why(int changed)
{
	if (changed & STORE_CHANGED_INPUT)
		return "input changed";
	if (changed & STORE_CHANGED_MASK)
		return "mask changed";
	return "options changed";
}

enum item_verdict item_decide(struct run *r, const struct tp_item *it, tp_status sign_rc,
			      int found, const struct store_job *rec, const struct store_job *job,
			      const char **why)
{
	*why = "";
	if (job->failed_input && !r->o.retry_failed && !r->o.force && !r->o.overwrite)
		return VERDICT_FAILED_BEFORE;   /* its input was wrong and is unchanged: not again */
	if (it->problem || sign_rc != TP_OK)
		return VERDICT_FAIL;
	if (job->state == STORE_JOB_DONE) {
		if (r->o.force) {
			*why = "--force";
			return VERDICT_REDO;
		}
		return output_unchanged(r, it, job, why) ? VERDICT_UP_TO_DATE : VERDICT_REDO;
	}
	if (!r->o.overwrite && !(found && rec->output_sig[0]) && !access(it->output, F_OK))
		return VERDICT_REFUSE;
	if (found && job->changed) {
		*why = changed_why(job->changed);
		return VERDICT_REDO;
	}
	return VERDICT_PROCESS;
}

tp_status item_sign_and_find(struct run *r, const struct tp_item *it, struct item_look *l)
{
	tp_status rc;
	memset(l, 0, sizeof *l);
	if (r->st && (rc = store_job_find(r->st, it->output, &l->found, &l->rec)) != TP_OK)
		return rc;
	l->sign_rc = sign_item(it, &l->rec, &l->g);
	l->spec = (struct store_job_spec){ it->input, it->mask, it->output, l->g.in_sig,
					   l->g.mk_sig, r->opt_hex, l->g.in_stat, l->g.mk_stat };
	return TP_OK;
}

enum item_outcome run_item(struct run *r, const struct tp_item *it)
{
	struct store_job job;
	struct store_lease lease;
	struct item_look l;
	const char *why;
	int got = 0;

	if (item_sign_and_find(r, it, &l) != TP_OK)
		return store_trouble(r);
	if (!l.found) {   /* recorded at once, so a kill leaves "not started" right */
		r->n.reached_unknown++;
		tp_run_progress(r, 1);
	}
	if (l.sign_rc == TP_ECANCELED) {
		r->stopped = 1;
		return ITEM_STOPPED;
	}
	if (store_job_sync(r->st, &l.spec, &job) != TP_OK)
		return store_trouble(r);
	switch (item_decide(r, it, l.sign_rc, l.found, &l.rec, &job, &why)) {
	case VERDICT_FAILED_BEFORE:
		return ITEM_FAILED_BEFORE;
	case VERDICT_FAIL:
		return fail_item(r, it, job.id, l.sign_rc);
	case VERDICT_UP_TO_DATE:
		return ITEM_UP_TO_DATE;
	case VERDICT_REFUSE: {
		char msg[1200];
		snprintf(msg, sizeof msg, "%s: exists, and this job store did not write it: not "
			 "replacing it (--overwrite to allow)", it->output);
		return fail_unclaimed(r, job.id, msg, TP_EXIT_CANTCREAT, 1);
	}
	case VERDICT_REDO:
		if (job.state == STORE_JOB_DONE)
			redo_done(r, it, &job);
		else
			tp_debug("%s: redoing it (%s)", it->input, why);
		break;
	case VERDICT_PROCESS:
		break;
	}
	if (tp_lease_claim(r->st, job.id, r->owner, r->host, r->o.lease_s, it->input, &lease,
			   &got) != TP_OK)
		return store_trouble(r);
	if (!got)
		return ITEM_BUSY;
	return work(r, it, &lease, &l.g.t);
}
