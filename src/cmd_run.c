/*
 * cmd_run.c - `tilepaint run`: the resumable batch, and `tilepaint inpaint`,
 * one image without a store.
 *
 * For each discovered image: sign the input and mask, make the store agree
 * (an unchanged, finished job whose output is still in place is skipped
 * without loading anything), claim the job's lease, process it, and record
 * done / failed / released. One bad file gives one error line and a failed
 * job; the batch goes on. A signal or --max-time stops at a tile boundary,
 * keeping every finished tile, and exits 75 so cron's next run resumes.
 */
#include "discover.h"
#include "lease.h"
#include "options.h"
#include "sig.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char run_synopsis[] =
"usage: tilepaint run [OPTIONS] INPUT... -o DIR\n"
"Inpaint every image named or found in INPUT (files or directories) into DIR,\n"
"resumably; the job store is DIR/.tilepaint.db unless --db is given.\n"
"\n"
"Masks (default: <stem>_mask.<ext> beside each image):\n"
"  --masks MDIR         mask of <rel>/<stem>.<ext> is MDIR/<rel>/<stem>.<png|tif|tiff|jpg|jpeg>\n"
"                       or MDIR/<rel>/<stem>_mask.<ext>\n"
"  --mask FILE          one mask for every input\n"
"  --mask-suffix SUF    mask beside the image: <stem>SUF.png (or .tif .tiff .jpg .jpeg)\n"
"Inputs and outputs:\n"
"  -o, --output DIR     output directory (required); same relative names as the inputs\n"
"  -r, --recursive      descend into subdirectories of INPUT directories\n"
"  --db FILE            job store (default DIR/.tilepaint.db)\n"
"  --shard K/N          process only the K-th of N disjoint shares of the images\n"
"  --jpeg-quality N     JPEG output quality 1-100 (default 95)\n"
"  --png-level N        PNG zlib level 0-9 (default 6)\n"
"  --max-pixels N       refuse images of more than N pixels, from the header (250M, 4G)\n"
"Engine and tiling:\n"
"  --engine NAME        patch (default), telea, harmonic, lama (default with --model)\n"
"  --model FILE         model weights for lama (.safetensors or big-lama .ckpt)\n"
"  --engine-opt K=V,..  engine-specific parameters (see tilepaint(1))\n"
"  --tile N             tile side in pixels (default: the engine's, 512)\n"
"  --overlap N          overlap between tiles (default: the engine's context, at least 32)\n"
"  --dilate N           grow the mask by a disk of N pixels first (default 0)\n"
"  --radius N           telea neighbourhood radius (default 5)\n"
"  -j, --jobs N         worker threads (default: number of CPUs)\n"
"Running:\n"
"  --max-time DURATION  stop cleanly at a tile boundary after DURATION (90s, 9m, 1h)\n"
"  --lease DURATION     how long a claim on an image lasts unrenewed (default 10m)\n"
"  --dry-run            plan and print tile counts; change nothing\n"
"  -q, --quiet          print only errors\n"
"  -v, --verbose        print debugging detail\n"
"  -h, --help           print this help\n";

static const char inpaint_synopsis[] =
"usage: tilepaint inpaint [OPTIONS] IMAGE MASK OUTPUT\n"
"Inpaint one image, tiled, without a job store. OUTPUT's extension chooses its\n"
"format (.png .tif .tiff .jpg .jpeg); the layout (bit depth, channels) is IMAGE's.\n"
"\n"
"  --engine NAME, --model FILE, --engine-opt K=V,.., --tile N, --overlap N,\n"
"  --dilate N, --radius N, -j N, --jpeg-quality N, --png-level N,\n"
"  --max-pixels N, -q, -v\n"
"                       as for 'tilepaint run' (see tilepaint run --help)\n"
"  -h, --help           print this help\n";

TP_MUST_USE static tp_status flush_timings(struct store *s, const struct store_lease *l, int64_t run,
				const struct tp_timings *t, double sign_ms)
{
	const char *names[TP_STAGE_COUNT + 1];
	int64_t counts[TP_STAGE_COUNT + 1];
	double ms[TP_STAGE_COUNT + 1];
	for (int i = 0; i < TP_STAGE_COUNT; i++) {
		names[i] = tp_stage_name((enum tp_stage)i);
		counts[i] = t->count[i] ? t->count[i] : (t->ms[i] != 0);
		ms[i] = t->ms[i];
	}
	names[TP_STAGE_COUNT] = TP_STAGE_SIGN_NAME;
	counts[TP_STAGE_COUNT] = sign_ms > 0;
	ms[TP_STAGE_COUNT] = sign_ms;
	return store_job_timings(s, l, run, TP_STAGE_COUNT + 1, names, counts, ms);
}

/* Severity order for the final exit code: the worst outcome wins. */
static int worse(int a, int b)
{
	static const int order[] = { TP_EXIT_OK, TP_EXIT_DATAERR, TP_EXIT_NOINPUT, TP_EXIT_TEMPFAIL,
				     TP_EXIT_CANTCREAT, TP_EXIT_IOERR, TP_EXIT_CONFIG,
				     TP_EXIT_SOFTWARE };
	int ia = 0, ib = 0;
	for (int i = 0; i < (int)(sizeof order / sizeof order[0]); i++) {
		if (order[i] == a) ia = i;
		if (order[i] == b) ib = i;
	}
	return ib > ia ? b : a;
}

/* -v: what the guide cost, when one was built (its time is also in the
 * decode, mask and inference stages). */
static void debug_guide(const char *output, const struct tp_job_result *res)
{
	if (res->guide_f)
		tp_debug("%s: guide %ux%u (1/%u scale) for %llu tiles, thickest hole ~%llu px, %.1f ms",
			 output, res->guide_w, res->guide_h, res->guide_f,
			 (unsigned long long)res->guide_tiles, (unsigned long long)res->guide_thick,
			 res->guide_ms);
}

static int in_shard(const struct tp_opts *o, const char *rel)
{
	if (!o->shard_n)
		return 1;
	return tp_hash_str(TP_HASH_INIT, rel) % o->shard_n == o->shard_k - 1;
}

/* ---- inputs are never outputs ------------------------------------------- */

struct file_id { dev_t dev; ino_t ino; const char *path; };

static int cmp_file_id(const void *a, const void *b)
{
	const struct file_id *x = a, *y = b;
	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return 0;
}

/* Would `output` (followed through links) replace one of ids[0..n)? */
static const char *clobbers(const char *output, const struct file_id *ids, size_t n)
{
	struct stat st;
	struct file_id key, *hit;
	if (stat(output, &st) != 0)
		return NULL;   /* nothing there yet: nothing to replace */
	key = (struct file_id){ st.st_dev, st.st_ino, NULL };
	hit = bsearch(&key, ids, n, sizeof *ids, cmp_file_id);
	return hit ? hit->path : NULL;
}

/*
 * Refuse, before any work, a plan in which an output path is (or links to)
 * an input or mask of the batch, or the output directory is an input
 * directory itself. One line naming both paths; TP_EUSAGE.
 */
TP_MUST_USE static tp_status guard_inputs(const struct tp_opts *o, char **args, int nargs,
			      const struct tp_items *items)
{
	struct file_id *ids;
	size_t n = 0;
	struct stat od;
	tp_status rc = TP_OK;

	if (o->out_dir && stat(o->out_dir, &od) == 0)
		for (int i = 0; i < nargs; i++) {
			struct stat st;
			if (stat(args[i], &st) == 0 && S_ISDIR(st.st_mode) &&
			    st.st_dev == od.st_dev && st.st_ino == od.st_ino)
				return tp_err(TP_EUSAGE, "refusing to write into %s: it is the input "
					      "directory %s, so outputs would replace the inputs "
					      "(choose another -o DIR)", o->out_dir, args[i]);
		}
	ids = tp_calloc(items->n * 2 + 1, sizeof *ids);
	if (!ids)
		return tp_err(TP_ENOMEM, "out of memory checking the output paths");
	for (size_t i = 0; i < items->n; i++) {
		const char *p[2] = { items->v[i].input, items->v[i].mask };
		for (int k = 0; k < 2; k++) {
			struct stat st;
			if (p[k] && stat(p[k], &st) == 0)
				ids[n++] = (struct file_id){ st.st_dev, st.st_ino, p[k] };
		}
	}
	qsort(ids, n, sizeof *ids, cmp_file_id);
	for (size_t i = 0; i < items->n && rc == TP_OK; i++) {
		const char *victim = clobbers(items->v[i].output, ids, n);
		if (victim)
			rc = tp_err(TP_EUSAGE, "refusing to write %s: it is the input %s "
				    "(outputs never replace inputs or masks; choose another -o DIR)",
				    items->v[i].output, victim);
	}
	tp_free(ids);
	return rc;
}

/* ---- the run -------------------------------------------------------------- */

struct run_counts {
	size_t images, done_now, up_to_date, failed, busy, left;
	uint64_t tiles, active, computed, reused;
};

/* What one `tilepaint run` process carries from image to image. */
struct run {
	struct tp_opts o;
	struct tp_engine_ctx eng;
	struct tp_items items;
	struct store *st;
	struct tp_progress *prog;
	struct run_counts n;
	char owner[512], host[256], dbpath[4096], opt_hex[32];
	int64_t run_id;
	double deadline;
	int ex;          /* exit code so far (the worst outcome wins) */
	int stopped;     /* no further image is started */
};

/* The outcome of one image, for the counts and the exit code. */
enum item_outcome { ITEM_DONE, ITEM_UP_TO_DATE, ITEM_FAILED, ITEM_BUSY, ITEM_STOPPED };

/* Record a failure of `it` that happened before or without a claim. */
static enum item_outcome fail_unclaimed(struct run *r, int64_t job_id, const char *msg, int exit_code)
{
	tp_progress_clear(r->prog);
	tp_error("%s", msg);
	if (job_id && store_job_fail(r->st, NULL, job_id, msg) != TP_OK)
		tp_error("%s", tp_errmsg());
	r->ex = worse(r->ex, exit_code);
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
			   char *stat_key, char *sig, size_t n, double *ms)
{
	tp_status rc = tp_stat_key(path, stat_key, n);
	double t0;
	if (rc != TP_OK)
		return rc;
	if (rec_sig[0] && tp_sig_is_content(rec_sig) && strcmp(stat_key, rec_stat) == 0) {
		snprintf(sig, n, "%s", rec_sig);
		return TP_OK;
	}
	t0 = tp_now_ms();
	if (rec_sig[0] && !tp_sig_is_content(rec_sig) && !rec_stat[0]) {
		char old[160];
		if (tp_file_sig(path, old, sizeof old, NULL) == TP_OK && strcmp(old, rec_sig) == 0) {
			snprintf(sig, n, "%s", rec_sig);
			stat_key[0] = '\0';   /* keep the old kind until the file changes */
			*ms += tp_now_ms() - t0;
			return TP_OK;
		}
	}
	rc = tp_content_sig(path, sig, n);
	*ms += tp_now_ms() - t0;
	return rc;
}

/* A finished job: is its output still the one we wrote? */
static int output_unchanged(struct run *r, const struct tp_item *it, const struct store_job *job)
{
	char key[TP_SIG_LEN], sig[TP_SIG_LEN];
	if (tp_stat_key(it->output, key, sizeof key) != TP_OK)
		return 0;
	if (job->output_stat[0] && strcmp(key, job->output_stat) == 0)
		return 1;
	if (!tp_sig_is_content(job->output_sig)) {
		/* recorded by an older tilepaint: size and mtime only */
		char old[128];
		if (tp_output_sig(it->output, old, sizeof old) != TP_OK || strcmp(old, job->output_sig) != 0)
			return 0;
		return 1;
	}
	if (tp_content_sig(it->output, sig, sizeof sig) != TP_OK || strcmp(sig, job->output_sig) != 0)
		return 0;
	/* same bytes under a new identity (copied, touched): remember it */
	if (store_job_output_stat(r->st, job->id, key) != TP_OK)
		tp_warn("%s", tp_errmsg());
	return 1;
}

/* Claim the job, taking over at once from a holder on this host that is gone. */
TP_MUST_USE static tp_status claim(struct run *r, const struct tp_item *it, int64_t job_id,
		       struct store_lease *lease, int *got)
{
	char holder[512] = "";
	int64_t lease_s = (int64_t)(r->o.lease_s + 0.5);
	tp_status rc = store_job_claim(r->st, job_id, r->owner, tp_wall_s(), lease_s, NULL, lease,
				       got, holder, sizeof holder);
	if (rc == TP_OK && !*got && holder[0] && tp_holder_is_dead(holder, r->host)) {
		char dead[512];
		snprintf(dead, sizeof dead, "%s", holder);
		tp_info("%s: taking over from %s, which is no longer running", it->input, dead);
		rc = store_job_claim(r->st, job_id, r->owner, tp_wall_s(), lease_s, dead, lease,
				     got, holder, sizeof holder);
	}
	if (rc == TP_OK && !*got && holder[0])
		tp_info("%s: being processed by %s; leaving it", it->input, holder);
	return rc;
}

/* Run the claimed job and record how it ended (fenced by the lease). */
static enum item_outcome work(struct run *r, const struct tp_item *it,
			      const struct store_lease *lease, double sign_ms)
{
	struct tp_job_result res;
	struct tp_job_io io;
	uint64_t seed = 0;
	char sig[160];
	int was_open = r->eng.opened;
	tp_status rc, trc;

	/* the engines' seed: the input's size, head and tail, as it always was */
	rc = tp_file_sig(it->input, sig, sizeof sig, &seed);
	if (rc == TP_OK)
		rc = make_parent_dirs(it->output);
	memset(&res, 0, sizeof res);
	if (rc == TP_OK) {
		io = (struct tp_job_io){
			.input = it->input, .mask = it->mask, .output = it->output,
			.content_hash = seed, .store = r->st, .lease = lease,
			.lease_s = r->o.lease_s, .run_id = r->run_id,
			.deadline_ms = r->deadline, .progress = r->prog,
			.computed_total = &r->n.computed,
		};
		rc = tp_job_process(&r->eng, &r->o, &io, 0, &res);
	}
	if (!was_open && r->eng.opened && rc != TP_ELEASE &&
	    store_timing_add(r->st, r->run_id, 0, tp_stage_name(TP_STAGE_MODEL_LOAD), 1,
			     r->eng.load_ms) != TP_OK)
		tp_warn("%s", tp_errmsg());
	r->n.tiles += res.tiles;
	r->n.active += res.active;
	r->n.reused += res.reused;
	tp_progress_clear(r->prog);
	tp_debug("%s: job ended with %s", it->input, tp_status_name(rc));
	if (rc == TP_ELEASE) {
		tp_error("%s", tp_errmsg());
		r->ex = worse(r->ex, TP_EXIT_TEMPFAIL);
		r->stopped = 1;
		return ITEM_STOPPED;
	}
	/* our timings go in whatever happened, as long as the job is ours */
	trc = flush_timings(r->st, lease, r->run_id, &res.t, sign_ms);
	if (trc != TP_OK && rc == TP_OK)
		tp_warn("%s", tp_errmsg());
	if (rc == TP_OK) {
		tp_debug("%s: done (%llu tiles, %llu inpainted, %llu reused)", it->output,
			 (unsigned long long)res.tiles, (unsigned long long)res.computed,
			 (unsigned long long)res.reused);
		debug_guide(it->output, &res);
		return ITEM_DONE;
	}
	if (rc == TP_ECANCELED) {
		if (store_job_release(r->st, lease) != TP_OK)
			tp_error("%s", tp_errmsg());
		r->n.left++;
		r->stopped = 1;
		return ITEM_STOPPED;
	}
	tp_error("%s", tp_errmsg());
	if (rc == TP_EMODEL || (rc == TP_EUSAGE && !r->eng.opened)) {
		/* the engine cannot start: every job would fail the same way */
		if (store_job_release(r->st, lease) != TP_OK)
			tp_error("%s", tp_errmsg());
		r->ex = worse(r->ex, TP_EXIT_CONFIG);
		r->stopped = 1;
		return ITEM_STOPPED;
	}
	{
		char msg[1200];
		snprintf(msg, sizeof msg, "%s", tp_errmsg());
		if (store_job_fail(r->st, lease, 0, msg) != TP_OK)
			tp_error("%s", tp_errmsg());
	}
	r->ex = worse(r->ex, tp_job_exit_code(rc));
	return ITEM_FAILED;
}

/* One image: sign, agree with the store, skip if up to date, claim, work. */
static enum item_outcome run_item(struct run *r, const struct tp_item *it)
{
	struct store_job rec, job;
	struct store_job_spec spec;
	struct store_lease lease;
	char in_stat[TP_SIG_LEN] = "", in_sig[TP_SIG_LEN] = "";
	char mk_stat[TP_SIG_LEN] = "", mk_sig[TP_SIG_LEN] = "";
	double sign_ms = 0;
	int found = 0, got = 0;
	tp_status rc, src;

	if ((rc = store_job_find(r->st, it->output, &found, &rec)) != TP_OK) {
		tp_error("%s", tp_errmsg());
		r->ex = worse(r->ex, TP_EXIT_TEMPFAIL);
		r->stopped = 1;
		return ITEM_STOPPED;
	}
	src = it->problem ? TP_OK : sign_file(it->input, rec.input_stat, rec.input_sig, in_stat,
					       in_sig, sizeof in_sig, &sign_ms);
	if (src == TP_OK && it->mask && !it->problem)
		src = sign_file(it->mask, rec.mask_stat, rec.mask_sig, mk_stat, mk_sig,
				sizeof mk_sig, &sign_ms);
	if (src == TP_ECANCELED) {
		r->stopped = 1;
		return ITEM_STOPPED;
	}
	spec = (struct store_job_spec){ it->input, it->mask, it->output, in_sig, mk_sig,
					r->opt_hex, in_stat, mk_stat };
	if ((rc = store_job_sync(r->st, &spec, &job)) != TP_OK) {
		tp_error("%s", tp_errmsg());
		r->ex = worse(r->ex, TP_EXIT_TEMPFAIL);
		r->stopped = 1;
		return ITEM_STOPPED;
	}
	if (it->problem || src != TP_OK) {
		/* the stored error is the line as printed: it names the file */
		char msg[1200];
		if (it->problem)
			snprintf(msg, sizeof msg, "%s: %s", it->input, it->problem);
		else
			snprintf(msg, sizeof msg, "%s", tp_errmsg());
		return fail_unclaimed(r, job.id, msg, it->problem ? tp_exit_code(it->why)
							      : tp_job_exit_code(src));
	}
	if (job.state == STORE_JOB_DONE) {
		if (output_unchanged(r, it, &job))
			return ITEM_UP_TO_DATE;
		/* finished before, but the output is gone or was changed: redo */
		tp_info("%s: the output is missing or changed since it was written; redoing it",
			it->output);
		if (store_job_fail(r->st, NULL, job.id, "output missing or changed since it was written; redoing") != TP_OK)
			tp_warn("%s", tp_errmsg());
	}
	if ((rc = claim(r, it, job.id, &lease, &got)) != TP_OK) {
		tp_error("%s", tp_errmsg());
		r->ex = worse(r->ex, TP_EXIT_TEMPFAIL);
		r->stopped = 1;
		return ITEM_STOPPED;
	}
	if (!got)
		return ITEM_BUSY;
	return work(r, it, &lease, sign_ms);
}

/* --dry-run: plan every image, change nothing. */
static int dry_run(struct run *r)
{
	uint64_t tiles = 0, active = 0;
	if (r->items.errors)
		r->ex = worse(r->ex, TP_EXIT_DATAERR);
	for (size_t i = 0; i < r->items.n; i++) {
		struct tp_item *it = &r->items.v[i];
		struct tp_job_io io = { .input = it->input, .mask = it->mask, .output = it->output };
		struct tp_job_result res;
		tp_status rc;
		if (!in_shard(&r->o, it->rel))
			continue;
		r->n.images++;
		if (it->problem) {
			tp_error("%s: %s", it->input, it->problem);
			r->ex = worse(r->ex, tp_exit_code(it->why));
			continue;
		}
		rc = tp_job_process(&r->eng, &r->o, &io, 1, &res);
		if (rc != TP_OK) {
			tp_error("%s", tp_errmsg());
			r->ex = worse(r->ex, tp_job_exit_code(rc));
			continue;
		}
		printf("%s: %ux%u, %llu tiles, %llu to inpaint, %llu skipped -> %s\n", it->input,
		       res.width, res.height, (unsigned long long)res.tiles,
		       (unsigned long long)res.active,
		       (unsigned long long)(res.tiles - res.active), it->output);
		tiles += res.tiles;
		active += res.active;
	}
	printf("dry run: %zu images, %llu tiles, %llu to inpaint, %llu skipped (engine %s)\n",
	       r->n.images, (unsigned long long)tiles, (unsigned long long)active,
	       (unsigned long long)(tiles - active), r->eng.ops->name);
	return r->ex;
}

/* The command line as one string, for the runs table. NULL on no memory. */
static char *argv_line(int argc, char **argv)
{
	size_t len = sizeof "tilepaint";
	char *s;
	for (int i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	if (!(s = tp_calloc(1, len)))
		return NULL;
	strcpy(s, "tilepaint");
	for (int i = 0; i < argc; i++) {
		strcat(s, " ");
		strcat(s, argv[i]);
	}
	return s;
}

/* Make the output directory and the store's, open the store, record the run. */
static int open_store(struct run *r, int argc, char **argv)
{
	char probe[4200], *line;
	tp_status rc;
	snprintf(r->dbpath, sizeof r->dbpath, "%s", r->o.db ? r->o.db : "");
	if (!r->o.db)
		snprintf(r->dbpath, sizeof r->dbpath, "%s/.tilepaint.db", r->o.out_dir);
	/* make_parent_dirs("DIR/.") makes DIR */
	snprintf(probe, sizeof probe, "%s/.", r->o.out_dir);
	if ((rc = make_parent_dirs(probe)) != TP_OK || (rc = make_parent_dirs(r->dbpath)) != TP_OK ||
	    (rc = store_open(r->dbpath, 0, &r->st)) != TP_OK) {
		tp_error("%s", tp_errmsg());
		return tp_store_exit_code(rc);
	}
	line = argv_line(argc, argv);
	rc = store_run_begin(r->st, line ? line : "run", r->host, (int64_t)getpid(), &r->run_id);
	tp_free(line);
	if (rc != TP_OK) {
		tp_error("%s", tp_errmsg());
		return tp_store_exit_code(rc);
	}
	return TP_EXIT_OK;
}

static void summarise(struct run *r)
{
	if (r->stopped && (tp_cancelled() || (r->deadline > 0 && tp_now_ms() >= r->deadline))) {
		r->ex = worse(r->ex, TP_EXIT_TEMPFAIL);
		tp_info("stopped (%s); run the same command again to resume",
			tp_cancelled() ? "signal" : "--max-time reached");
	}
	tp_progress_free(r->prog);
	r->prog = NULL;
	tp_info("%zu images: %zu done now, %zu already done, %zu failed%s%s; tiles: %llu inpainted, %llu reused, %llu skipped",
		r->n.images, r->n.done_now, r->n.up_to_date, r->n.failed,
		r->n.busy ? ", some left to another running tilepaint" : "",
		r->stopped ? ", stopped early" : "",
		(unsigned long long)r->n.computed, (unsigned long long)r->n.reused,
		(unsigned long long)(r->n.tiles - r->n.active));
}

/* Parse, check the engine and options; TP_EXIT_OK or the code to exit with
 * (-1: --help printed, exit 0). */
static int parse(struct run *r, int argc, char **argv, int *first)
{
	char model_sig[160] = "";
	tp_status rc = opts_parse(argc, argv, OPT_FOR_RUN, run_synopsis, &r->o, first);
	if (rc == TP_ECANCELED)
		return -1;
	if (rc != TP_OK)
		return opts_usage_error("run", tp_errmsg());
	if (*first >= argc)
		return opts_usage_error("run", "no INPUT given");
	if (!r->o.out_dir)
		return opts_usage_error("run", "no output directory given (-o DIR)");
	if ((rc = opts_engine(&r->o, &r->eng)) != TP_OK)
		return opts_usage_error("run", tp_errmsg());
	if (r->o.max_time_s > 0)
		r->deadline = tp_now_ms() + r->o.max_time_s * 1e3;
	if (r->o.model && (rc = tp_file_sig(r->o.model, model_sig, sizeof model_sig, NULL)) != TP_OK) {
		tp_error("%s", tp_errmsg());
		return TP_EXIT_CONFIG;
	}
	snprintf(r->opt_hex, sizeof r->opt_hex, "%016llx",
		 (unsigned long long)tp_options_hash(&r->eng, &r->o, model_sig));
	return TP_EXIT_OK;
}

/* Every item is an input that does not exist (and there is one at least). */
static int all_missing(const struct tp_items *items)
{
	for (size_t i = 0; i < items->n; i++)
		if (!items->v[i].problem || items->v[i].why != TP_ENOENT)
			return 0;
	return items->n > 0;
}

int cmd_run(int argc, char **argv)
{
	struct run r;
	int first, code;
	tp_status rc;

	memset(&r, 0, sizeof r);
	if ((code = parse(&r, argc, argv, &first)) != TP_EXIT_OK)
		return code < 0 ? TP_EXIT_OK : code;
	if ((rc = discover(&r.o, argv + first, argc - first, &r.items)) != TP_OK ||
	    (rc = guard_inputs(&r.o, argv + first, argc - first, &r.items)) != TP_OK) {
		tp_error("%s", tp_errmsg());
		discover_free(&r.items);
		return tp_exit_code(rc);
	}
	if (all_missing(&r.items)) {
		/* nothing there at all (a mistyped path): say so, create nothing */
		for (size_t i = 0; i < r.items.n; i++)
			tp_error("%s: %s", r.items.v[i].input, r.items.v[i].problem);
		discover_free(&r.items);
		return TP_EXIT_NOINPUT;
	}
	tp_signals_install();
	tp_lease_owner(r.owner, sizeof r.owner, r.host, sizeof r.host);
	if (r.o.dry_run) {
		code = dry_run(&r);
		discover_free(&r.items);
		return code;
	}
	if ((r.ex = open_store(&r, argc, argv)) != TP_EXIT_OK)
		goto out;
	if (r.items.errors)   /* directories that could not be listed, each printed */
		r.ex = worse(r.ex, TP_EXIT_DATAERR);
	{
		struct store_status ss;
		double est = 0;
		if (store_status_get(r.st, tp_wall_s(), &ss) == TP_OK)
			est = ss.tile_ms_mean;
		r.prog = tp_progress_new(r.o.quiet, r.items.n, est, r.o.threads);
	}
	for (size_t i = 0; i < r.items.n && !r.stopped; i++) {
		const struct tp_item *it = &r.items.v[i];
		if (!in_shard(&r.o, it->rel))
			continue;
		if (tp_cancelled() || (r.deadline > 0 && tp_now_ms() >= r.deadline && r.n.computed > 0)) {
			r.stopped = 1;
			break;
		}
		r.n.images++;
		switch (run_item(&r, it)) {
		case ITEM_DONE: r.n.done_now++; break;
		case ITEM_UP_TO_DATE: r.n.up_to_date++; break;
		case ITEM_FAILED: r.n.failed++; break;
		case ITEM_BUSY: r.n.busy++; break;
		case ITEM_STOPPED: break;
		}
	}
	summarise(&r);
	if (store_run_end(r.st, r.run_id, r.ex) != TP_OK)
		tp_warn("%s", tp_errmsg());
out:
	tp_progress_free(r.prog);
	tp_engine_close(&r.eng);
	store_close(r.st);
	discover_free(&r.items);
	return r.ex;
}

int cmd_inpaint(int argc, char **argv)
{
	struct tp_opts o;
	struct tp_engine_ctx eng;
	struct tp_job_result res;
	struct tp_job_io io;
	uint64_t content = 0, computed = 0;
	double load_ms;
	char sig[160];
	int first;
	tp_status rc;

	rc = opts_parse(argc, argv, OPT_FOR_INPAINT, inpaint_synopsis, &o, &first);
	if (rc == TP_ECANCELED)
		return TP_EXIT_OK;
	if (rc != TP_OK)
		return opts_usage_error("inpaint", tp_errmsg());
	if (argc - first != 3)
		return opts_usage_error("inpaint", "expected IMAGE MASK OUTPUT");
	if ((rc = opts_engine(&o, &eng)) != TP_OK)
		return opts_usage_error("inpaint", tp_errmsg());
	{
		/* the output must not be (or link to) the image or the mask */
		struct tp_item one = { .input = argv[first], .mask = argv[first + 1],
				       .output = argv[first + 2] };
		struct tp_items items = { &one, 1, 1, 0 };
		struct tp_opts none = { 0 };
		if ((rc = guard_inputs(&none, NULL, 0, &items)) != TP_OK)
			return opts_usage_error("inpaint", tp_errmsg());
	}
	if ((rc = tp_file_sig(argv[first], sig, sizeof sig, &content)) != TP_OK) {
		tp_error("%s", tp_errmsg());
		return tp_exit_code(rc);
	}
	tp_signals_install();
	io = (struct tp_job_io){ .input = argv[first], .mask = argv[first + 1],
				 .output = argv[first + 2], .content_hash = content,
				 .computed_total = &computed };
	rc = tp_job_process(&eng, &o, &io, 0, &res);
	load_ms = eng.load_ms;
	tp_engine_close(&eng);
	if (rc != TP_OK) {
		tp_error("%s", tp_errmsg());
		return tp_exit_code(rc);
	}
	tp_debug("%s: %llu tiles, %llu inpainted", io.output, (unsigned long long)res.tiles,
		 (unsigned long long)res.computed);
	debug_guide(io.output, &res);
	{
		/* What Python users timed by hand: every stage, in milliseconds. */
		char line[512];
		int n = snprintf(line, sizeof line, "%s: stages (ms): model_load %.1f", io.output, load_ms);
		for (int s = 0; s < TP_STAGE_COUNT && n > 0 && (size_t)n < sizeof line; s++)
			if (s != TP_STAGE_MODEL_LOAD)
				n += snprintf(line + n, sizeof line - (size_t)n, ", %s %.1f",
					      tp_stage_name((enum tp_stage)s), res.t.ms[s]);
		tp_debug("%s", line);
	}
	return TP_EXIT_OK;
}
