/*
 * cmd_run.c - `tilepaint run`: the resumable batch, as a list of steps:
 * parse the options, discover the images, check the plan (no output may
 * replace an input; a run where nothing exists creates nothing), open the
 * store and record the run, take each image in turn (run_item.c: sign,
 * claim, process, record), and summarise. A signal or --max-time stops at a
 * tile boundary, keeping every finished tile, and exits 75 so cron's next
 * run resumes.
 */
#include "run.h"
#include "commands.h"
#include "exit.h"
#include "guard.h"
#include "lease.h"
#include "record.h"
#include "sig.h"

#include <string.h>
#include <unistd.h>

static const char run_synopsis[] =
"usage: tilepaint run [OPTIONS] INPUT... -o DIR\n"
"Inpaint every image named or found in INPUT (files or directories) into DIR,\n"
"resumably; the job store is DIR/.tilepaint.db (DIR/.tilepaint-K-of-N.db with\n"
"--shard K/N) unless --db is given.\n"
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
"  --shard K/N          process only the K-th of N disjoint shares of the images;\n"
"                       its own store DIR/.tilepaint-K-of-N.db unless --db is given\n"
"  --jpeg-quality N     re-encode JPEG outputs whole at quality N (default: keep the\n"
"                       input JPEG outside the mask; 95 for other inputs)\n"
"  --png-level N        PNG zlib level 0-9 (default: run-length, see FORMATS)\n"
"  --max-pixels N       refuse images of more than N pixels, from the header (250M, 4G)\n"
"  --mem-limit SIZE     keep each job under SIZE of memory (512M, 4G): fewer workers,\n"
"                       then smaller tiles (default: fewer workers only, under what is free)\n"
"  --force              redo images already done (and failed ones)\n"
"  --retry-failed       try again images that failed, though nothing changed\n"
"  --overwrite          replace existing outputs this job store did not write\n"
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
"  --progress           show the batch line even when stderr is not a terminal\n"
"  --no-progress        never show it (default: on a terminal, unless -q)\n"
"  -v, --verbose        print debugging detail\n"
"  -h, --help           print this help\n";

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
	if ((rc = tp_engine_select(&r->o, &r->eng)) != TP_OK)
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

/* Discover the images and check the plan before anything is created. */
static int discover_and_check(struct run *r, char **args, int nargs)
{
	tp_status rc;
	if ((rc = discover(&r->o, args, nargs, &r->items)) != TP_OK ||
	    (rc = guard_inputs(&r->o, args, nargs, &r->items)) != TP_OK) {
		tp_error("%s", tp_errmsg());
		return tp_exit_code(rc);
	}
	if (all_missing(&r->items)) {
		/* nothing there at all (a mistyped path): say so, create nothing */
		for (size_t i = 0; i < r->items.n; i++)
			tp_error("%s: %s", r->items.v[i].input, r->items.v[i].problem);
		return TP_EXIT_NOINPUT;
	}
	if (r->items.errors)   /* directories that could not be listed, each printed */
		r->ex = tp_exit_worse(r->ex, TP_EXIT_DATAERR);
	return TP_EXIT_OK;
}

static int in_shard(const struct tp_opts *o, const char *rel)
{
	if (!o->shard_n)
		return 1;
	return tp_hash_str(TP_HASH_INIT, rel) % o->shard_n == o->shard_k - 1;
}

/* --dry-run: the store as it is, read-only; none when there is none yet. */
static int dry_open_store(struct run *r)
{
	tp_status rc;
	opts_store_path(r->dbpath, sizeof r->dbpath, r->o.out_dir, r->o.db, r->o.shard_k,
			r->o.shard_n);
	if (access(r->dbpath, F_OK) != 0)
		return TP_EXIT_OK;   /* every image is new */
	if ((rc = store_open(r->dbpath, 1, &r->st)) != TP_OK) {
		tp_error("%s", tp_errmsg());
		return tp_store_exit_code(rc);
	}
	return TP_EXIT_OK;
}

/* --dry-run, one image: what the run would do with it (item_decide, as the
 * run decides), and its tile counts when it would be worked on. Returns 1
 * when it would be (and adds its tiles), else 0. */
static int dry_item(struct run *r, const struct tp_item *it, uint64_t *tiles, uint64_t *active)
{
	struct tp_job_io io = { .input = it->input, .mask = it->mask, .output = it->output };
	struct tp_job_result res;
	struct store_job job = { 0 };
	struct item_look l;
	const char *why;
	char verdict[64];
	tp_status rc = item_sign_and_find(r, it, &l);
	if (rc == TP_OK && r->st && !it->problem && l.sign_rc == TP_OK)
		rc = store_job_preview(r->st, &l.spec, &job);
	if (rc != TP_OK) {
		tp_error("%s", tp_errmsg());
		r->ex = tp_exit_worse(r->ex, tp_store_exit_code(rc));
		return 0;
	}
	switch (item_decide(r, it, l.sign_rc, l.found, &l.rec, &job, &why)) {
	case VERDICT_UP_TO_DATE:
		printf("%s: up to date -> %s\n", it->input, it->output);
		return 0;
	case VERDICT_FAILED_BEFORE:
		printf("%s: failed before, not retried without --retry-failed: %s\n", it->input,
		       l.rec.error);
		return 0;
	case VERDICT_FAIL:
		tp_error("%s: %s", it->input, it->problem ? it->problem : tp_errmsg());
		r->ex = tp_exit_worse(r->ex, it->problem ? tp_exit_code(it->why)
						       : tp_job_exit_code(l.sign_rc));
		return 0;
	case VERDICT_REFUSE:
		printf("%s: would not replace %s: it exists, and this job store did not write it "
		       "(--overwrite to allow)\n", it->input, it->output);
		r->ex = tp_exit_worse(r->ex, TP_EXIT_CANTCREAT);
		return 0;
	case VERDICT_REDO:
		snprintf(verdict, sizeof verdict, "would redo (%s)", why);
		break;
	case VERDICT_PROCESS:
		snprintf(verdict, sizeof verdict, "would process");
		break;
	}
	if ((rc = tp_job_process(&r->eng, &r->o, &io, 1, &res)) != TP_OK) {
		tp_error("%s", tp_errmsg());
		r->ex = tp_exit_worse(r->ex, tp_job_exit_code(rc));
		return 0;
	}
	printf("%s: %s: %ux%u, %llu tiles, %llu to inpaint, %llu skipped -> %s\n", it->input,
	       verdict, res.width, res.height, (unsigned long long)res.tiles,
	       (unsigned long long)res.active, (unsigned long long)(res.tiles - res.active),
	       it->output);
	*tiles += res.tiles;
	*active += res.active;
	return 1;
}

/* --dry-run: say per image what a run would do, change nothing. */
static int dry_run(struct run *r)
{
	uint64_t tiles = 0, active = 0;
	size_t work = 0;
	int code = dry_open_store(r);
	if (code != TP_EXIT_OK)
		return code;
	for (size_t i = 0; i < r->items.n; i++) {
		if (!in_shard(&r->o, r->items.v[i].rel))
			continue;
		r->n.images++;
		work += (size_t)dry_item(r, &r->items.v[i], &tiles, &active);
	}
	printf("dry run: %zu images, %zu to work on, %llu tiles, %llu to inpaint, %llu skipped "
	       "(engine %s)\n", r->n.images, work, (unsigned long long)tiles,
	       (unsigned long long)active, (unsigned long long)(tiles - active), r->eng.ops->name);
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
	opts_store_path(r->dbpath, sizeof r->dbpath, r->o.out_dir, r->o.db, r->o.shard_k,
			r->o.shard_n);
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
	tp_run_describe(r, in_shard);
	return TP_EXIT_OK;
}

/* Each image of this shard in turn, until done or stopped. */
static void run_batch(struct run *r)
{
	struct store_status ss;
	double est = 0;
	size_t mine = 0;
	if (store_status_get(r->st, tp_wall_s(), &ss) == TP_OK)
		est = ss.tile_ms_mean;
	for (size_t i = 0; i < r->items.n; i++)   /* progress counts this shard's images */
		mine += (size_t)in_shard(&r->o, r->items.v[i].rel);
	r->prog = tp_progress_new(r->o.progress, r->o.quiet, mine, est, r->o.threads);
	for (size_t i = 0; i < r->items.n && !r->stopped; i++) {
		const struct tp_item *it = &r->items.v[i];
		uint64_t px = r->n.pixels;
		if (!in_shard(&r->o, it->rel))
			continue;
		if (tp_cancelled() || (r->deadline > 0 && tp_now_ms() >= r->deadline && r->n.computed > 0)) {
			r->stopped = 1;
			break;
		}
		r->n.images++;
		tp_progress_begin(r->prog, it->input);
		enum item_outcome how = run_item(r, it);
		tp_progress_end(r->prog, r->n.pixels - px);
		switch (how) {
		case ITEM_DONE: r->n.done_now++; break;
		case ITEM_UP_TO_DATE: r->n.up_to_date++; break;
		case ITEM_FAILED: r->n.failed++; break;
		case ITEM_FAILED_BEFORE: r->n.failed_before++; break;
		case ITEM_BUSY: r->n.busy++; break;
		case ITEM_STOPPED: break;
		}
		tp_run_progress(r, 0);
	}
}

/* "; 12.3 MP in 4.5 s, 2.73 MP/s": what this run wrote, its wall time and rate. */
static void fmt_rate(const struct run *r, char *buf, size_t n)
{
	double ms = tp_now_ms() - r->t_start, mp = (double)r->n.pixels / 1e6;
	char wall[32];
	if (ms < 60e3)
		snprintf(wall, sizeof wall, "%.1f s", ms / 1e3);
	else
		tp_format_duration(wall, sizeof wall, ms);
	snprintf(buf, n, "; %.1f MP in %s, %.2f MP/s", mp, wall, ms > 0 ? mp * 1e3 / ms : 0.0);
}

/* The summary line (one per run: all cron sees of a good run), and the end
 * of the run in the store. */
static void summarise(struct run *r)
{
	char rate[96], retry[64] = "";
	if (r->stopped && (tp_cancelled() || (r->deadline > 0 && tp_now_ms() >= r->deadline))) {
		r->ex = tp_exit_worse(r->ex, TP_EXIT_TEMPFAIL);
		tp_info("stopped (%s); run the same command again to resume",
			tp_cancelled() ? "signal" : "--max-time reached");
	}
	tp_progress_free(r->prog);
	r->prog = NULL;
	if (r->n.failed_before)
		tp_info("%zu image%s failed before and %s not tried again (inputs and options "
			"unchanged): 'tilepaint status' lists them, --retry-failed tries them",
			r->n.failed_before, r->n.failed_before == 1 ? "" : "s",
			r->n.failed_before == 1 ? "was" : "were");
	fmt_rate(r, rate, sizeof rate);
	if (r->n.failed_before)
		snprintf(retry, sizeof retry, ", %zu failed before (not retried)", r->n.failed_before);
	tp_info("%zu images: %zu done now, %zu already done, %zu failed%s%s%s; tiles: %llu "
		"inpainted, %llu reused, %llu skipped%s",
		r->n.images, r->n.done_now, r->n.up_to_date, r->n.failed, retry,
		r->n.busy ? ", some left to another running tilepaint" : "",
		r->stopped ? ", stopped early" : "",
		(unsigned long long)r->n.computed, (unsigned long long)r->n.reused,
		(unsigned long long)(r->n.tiles - r->n.active), rate);
	tp_run_progress(r, 1);
	if (store_run_end(r->st, r->run_id, r->ex) != TP_OK)
		tp_warn("%s", tp_errmsg());
}

int cmd_run(int argc, char **argv)
{
	struct run r;
	int first, code;

	memset(&r, 0, sizeof r);
	r.t_start = tp_now_ms();
	if ((code = parse(&r, argc, argv, &first)) != TP_EXIT_OK)
		return code < 0 ? TP_EXIT_OK : code;
	if ((code = discover_and_check(&r, argv + first, argc - first)) == TP_EXIT_OK) {
		tp_signals_install();
		tp_lease_owner(r.owner, sizeof r.owner, r.host, sizeof r.host);
		if (r.o.dry_run) {
			code = dry_run(&r);
		} else if ((code = open_store(&r, argc, argv)) == TP_EXIT_OK) {
			run_batch(&r);
			summarise(&r);
			code = r.ex;
		}
	}
	tp_progress_free(r.prog);
	tp_engine_close(&r.eng);
	store_close(r.st);
	discover_free(&r.items);
	return code;
}
