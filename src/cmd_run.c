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
#include "options.h"

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
"  --dilate N, --radius N, -j N, --jpeg-quality N, --png-level N, -q, -v\n"
"                       as for 'tilepaint run' (see tilepaint run --help)\n"
"  -h, --help           print this help\n";

/* Our lease owner: host:pid:start. */
static void make_owner(char *buf, size_t n, char *host, size_t hn)
{
	if (gethostname(host, hn) != 0)
		snprintf(host, hn, "localhost");
	host[hn - 1] = '\0';
	snprintf(buf, n, "%s:%ld:%lld", host, (long)getpid(), (long long)tp_wall_s());
}

/* A lease holder on this host whose process is gone can be taken over at once. */
static int holder_is_dead(const char *holder, const char *host)
{
	char h[256];
	long pid;
	const char *c1 = strchr(holder, ':');
	if (!c1 || (size_t)(c1 - holder) >= sizeof h)
		return 0;
	snprintf(h, sizeof h, "%.*s", (int)(c1 - holder), holder);
	if (strcmp(h, host) != 0)
		return 0;
	pid = strtol(c1 + 1, NULL, 10);
	if (pid <= 0 || pid == (long)getpid())
		return 0;
	return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

static tp_status flush_timings(struct store *s, int64_t run, int64_t job, const struct tp_timings *t)
{
	for (int i = 0; i < TP_STAGE_COUNT; i++) {
		if (t->count[i] == 0 && t->ms[i] == 0)
			continue;
		tp_status rc = store_timing_add(s, run, job, tp_stage_name((enum tp_stage)i),
						t->count[i] ? t->count[i] : 1, t->ms[i]);
		if (rc != TP_OK)
			return rc;
	}
	return TP_OK;
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

/* Failures of one input map to these exit codes (the batch goes on). */
static int job_exit(tp_status s)
{
	switch (s) {
	case TP_EFORMAT: case TP_ENOENT: case TP_EUSAGE: return TP_EXIT_DATAERR;
	default: return tp_exit_code(s);
	}
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

struct run_counts {
	size_t images, done_now, up_to_date, failed, busy, left;
	uint64_t tiles, active, computed, reused;
};

int cmd_run(int argc, char **argv)
{
	struct tp_opts o;
	struct tp_engine_ctx eng;
	struct tp_items items = { 0 };
	struct store *st = NULL;
	struct tp_progress *prog = NULL;
	struct run_counts n = { 0 };
	char owner[512], host[256], dbpath[4096], model_sig[160] = "", opt_hex[32];
	char *argv_line = NULL;
	int first, ex = TP_EXIT_OK, stopped = 0;
	int64_t run_id = 0;
	double deadline = 0;
	tp_status rc;

	rc = opts_parse(argc, argv, OPT_FOR_RUN, run_synopsis, &o, &first);
	if (rc == TP_ECANCELED)
		return TP_EXIT_OK;
	if (rc != TP_OK)
		return opts_usage_error("run", tp_errmsg());
	if (first >= argc)
		return opts_usage_error("run", "no INPUT given");
	if (!o.out_dir)
		return opts_usage_error("run", "no output directory given (-o DIR)");
	if ((rc = opts_engine(&o, &eng)) != TP_OK)
		return opts_usage_error("run", tp_errmsg());
	if (o.max_time_s > 0)
		deadline = tp_now_ms() + o.max_time_s * 1e3;
	if (o.model && (rc = tp_file_sig(o.model, model_sig, sizeof model_sig, NULL)) != TP_OK) {
		tp_error("%s", tp_errmsg());
		return TP_EXIT_CONFIG;
	}
	snprintf(opt_hex, sizeof opt_hex, "%016llx",
		 (unsigned long long)tp_options_hash(&eng, &o, model_sig));

	if ((rc = discover(&o, argv + first, argc - first, &items)) != TP_OK) {
		tp_error("%s", tp_errmsg());
		return tp_exit_code(rc);
	}
	tp_signals_install();
	make_owner(owner, sizeof owner, host, sizeof host);
	snprintf(dbpath, sizeof dbpath, "%s", o.db ? o.db : "");
	if (!o.db)
		snprintf(dbpath, sizeof dbpath, "%s/.tilepaint.db", o.out_dir);

	if (o.dry_run) {
		/* plan only: no store writes, no output directory, no engine */
		uint64_t tiles = 0, active = 0;
		for (size_t i = 0; i < items.n; i++) {
			struct tp_item *it = &items.v[i];
			struct tp_job_io io = { .input = it->input, .mask = it->mask, .output = it->output };
			struct tp_job_result res;
			if (!in_shard(&o, it->rel))
				continue;
			n.images++;
			if (it->problem) {
				tp_error("%s: %s", it->input, it->problem);
				ex = worse(ex, TP_EXIT_DATAERR);
				continue;
			}
			rc = tp_job_process(&eng, &o, &io, 1, &res);
			if (rc != TP_OK) {
				tp_error("%s", tp_errmsg());
				ex = worse(ex, job_exit(rc));
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
		       n.images, (unsigned long long)tiles, (unsigned long long)active,
		       (unsigned long long)(tiles - active), eng.ops->name);
		discover_free(&items);
		return ex;
	}

	{
		/* the output directory (make_parent_dirs("DIR/.") makes DIR) and the store's */
		char probe[4200];
		snprintf(probe, sizeof probe, "%s/.", o.out_dir);
		if ((rc = make_parent_dirs(probe)) != TP_OK || (rc = make_parent_dirs(dbpath)) != TP_OK) {
			tp_error("%s", tp_errmsg());
			discover_free(&items);
			return TP_EXIT_CANTCREAT;
		}
	}
	if ((rc = store_open(dbpath, 0, &st)) != TP_OK) {
		tp_error("%s", tp_errmsg());
		discover_free(&items);
		return rc == TP_EBUSY ? TP_EXIT_TEMPFAIL : rc == TP_EFORMAT ? TP_EXIT_CONFIG : TP_EXIT_CANTCREAT;
	}
	{
		size_t len = 1;
		for (int i = 0; i < argc; i++)
			len += strlen(argv[i]) + 1;
		argv_line = tp_calloc(1, len + 16);
		if (argv_line) {
			strcpy(argv_line, "tilepaint");
			for (int i = 0; i < argc; i++) {
				strcat(argv_line, " ");
				strcat(argv_line, argv[i]);
			}
		}
	}
	if ((rc = store_run_begin(st, argv_line ? argv_line : "run", host, (int64_t)getpid(), &run_id)) != TP_OK) {
		tp_error("%s", tp_errmsg());
		ex = tp_exit_code(rc);
		goto out;
	}
	{
		struct store_status ss;
		double est = 0;
		if (store_status_get(st, tp_wall_s(), &ss) == TP_OK)
			est = ss.tile_ms_mean;
		prog = tp_progress_new(o.quiet, items.n, est, o.threads);
	}

	for (size_t i = 0; i < items.n && !stopped; i++) {
		struct tp_item *it = &items.v[i];
		char in_sig[160] = "", mask_sig[160] = "";
		uint64_t content = 0;
		struct store_job_spec spec;
		struct store_job job;
		struct tp_job_result res;
		struct tp_job_io io;
		char holder[512] = "";
		int got = 0;

		if (!in_shard(&o, it->rel))
			continue;
		if (tp_stop_signal || (deadline > 0 && tp_now_ms() >= deadline && n.computed > 0)) {
			stopped = 1;
			break;
		}
		n.images++;
		rc = tp_file_sig(it->input, in_sig, sizeof in_sig, &content);
		if (rc == TP_OK && it->mask && !it->problem)
			rc = tp_file_sig(it->mask, mask_sig, sizeof mask_sig, NULL);
		spec = (struct store_job_spec){ it->input, it->mask, it->output, in_sig, mask_sig, opt_hex };
		if (store_job_sync(st, &spec, &job) != TP_OK) {
			tp_error("%s", tp_errmsg());
			ex = worse(ex, TP_EXIT_TEMPFAIL);
			stopped = 1;
			break;
		}
		if (rc != TP_OK || it->problem) {
			/* the stored error is the line as printed: it names the file */
			char msg[1200];
			if (it->problem)
				snprintf(msg, sizeof msg, "%s: %s", it->input, it->problem);
			else
				snprintf(msg, sizeof msg, "%s", tp_errmsg());
			tp_progress_clear(prog);
			tp_error("%s", msg);
			store_job_fail(st, job.id, NULL, msg);
			n.failed++;
			ex = worse(ex, it->problem ? TP_EXIT_DATAERR : job_exit(rc));
			continue;
		}
		if (job.state == STORE_JOB_DONE) {
			char osig[128];
			if (tp_output_sig(it->output, osig, sizeof osig) == TP_OK &&
			    strcmp(osig, job.output_sig) == 0) {
				n.up_to_date++;
				continue;
			}
			/* finished before, but the output is gone or was changed: redo */
			store_job_fail(st, job.id, NULL, "output missing or changed since it was written; redoing");
		}
		if (store_job_claim(st, job.id, owner, tp_wall_s(), 600, NULL, &got, holder, sizeof holder) != TP_OK) {
			tp_error("%s", tp_errmsg());
			ex = worse(ex, TP_EXIT_TEMPFAIL);
			break;
		}
		if (!got && holder[0] && holder_is_dead(holder, host)) {
			char dead[512];
			snprintf(dead, sizeof dead, "%s", holder);
			tp_info("%s: taking over from %s, which is no longer running", it->input, dead);
			if (store_job_claim(st, job.id, owner, tp_wall_s(), 600, dead, &got, holder, sizeof holder) != TP_OK) {
				tp_error("%s", tp_errmsg());
				ex = worse(ex, TP_EXIT_TEMPFAIL);
				break;
			}
		}
		if (!got) {
			if (holder[0])
				tp_info("%s: being processed by %s; leaving it", it->input, holder);
			n.busy++;
			continue;
		}
		if ((rc = make_parent_dirs(it->output)) != TP_OK) {
			tp_error("%s", tp_errmsg());
			store_job_fail(st, job.id, owner, tp_errmsg());
			n.failed++;
			ex = worse(ex, TP_EXIT_CANTCREAT);
			continue;
		}
		io = (struct tp_job_io){
			.input = it->input, .mask = it->mask, .output = it->output,
			.content_hash = content, .store = st, .job_id = job.id, .run_id = run_id,
			.owner = owner, .deadline_ms = deadline, .progress = prog,
			.computed_total = &n.computed,
		};
		{
			int was_open = eng.opened;
			rc = tp_job_process(&eng, &o, &io, 0, &res);
			if (!was_open && eng.opened)
				store_timing_add(st, run_id, 0, "model_load", 1, eng.load_ms);
		}
		flush_timings(st, run_id, job.id, &res.t);
		n.tiles += res.tiles;
		n.active += res.active;
		n.reused += res.reused;
		tp_progress_clear(prog);
		if (rc == TP_OK) {
			if ((rc = store_job_done(st, job.id, owner, res.output_sig)) != TP_OK) {
				tp_error("%s", tp_errmsg());
				ex = worse(ex, TP_EXIT_TEMPFAIL);
				break;
			}
			n.done_now++;
			tp_debug("%s: done (%llu tiles, %llu inpainted, %llu reused)", it->output,
				 (unsigned long long)res.tiles, (unsigned long long)res.computed,
				 (unsigned long long)res.reused);
			debug_guide(it->output, &res);
		} else if (rc == TP_ECANCELED) {
			store_job_release(st, job.id, owner);
			n.left++;
			stopped = 1;
		} else if (rc == TP_EMODEL || (rc == TP_EUSAGE && !eng.opened)) {
			/* the engine cannot start: every job would fail the same way */
			tp_error("%s", tp_errmsg());
			store_job_release(st, job.id, owner);
			ex = worse(ex, TP_EXIT_CONFIG);
			stopped = 1;
		} else {
			tp_error("%s", tp_errmsg());
			store_job_fail(st, job.id, owner, tp_errmsg());
			n.failed++;
			ex = worse(ex, job_exit(rc));
		}
	}
	if (stopped) {
		if (tp_stop_signal || (deadline > 0 && tp_now_ms() >= deadline)) {
			ex = worse(ex, TP_EXIT_TEMPFAIL);
			tp_info("stopped (%s); run the same command again to resume",
				tp_stop_signal ? "signal" : "--max-time reached");
		}
	}
	tp_progress_free(prog);
	prog = NULL;
	tp_info("%zu images: %zu done now, %zu already done, %zu failed%s%s; tiles: %llu inpainted, %llu reused, %llu skipped",
		n.images, n.done_now, n.up_to_date, n.failed,
		n.busy ? ", some left to another running tilepaint" : "",
		stopped ? ", stopped early" : "",
		(unsigned long long)n.computed, (unsigned long long)n.reused,
		(unsigned long long)(n.tiles - n.active));
	store_run_end(st, run_id, ex);
out:
	tp_progress_free(prog);
	tp_engine_close(&eng);
	store_close(st);
	discover_free(&items);
	tp_free(argv_line);
	return ex;
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
