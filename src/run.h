/*
 * run.h - what the files of `tilepaint run` share: the state one run
 * carries from image to image.
 *
 *   cmd_run.c   the command: parse, discover, plan, then each image, summarise
 *   run_item.c  one image: sign, agree with the store, skip, claim, work, record
 */
#ifndef TP_RUN_H
#define TP_RUN_H

#include "discover.h"
#include "engine_ctx.h"
#include "job.h"
#include "progress.h"
#include "sig.h"
#include "../store/store.h"

struct run_counts {
	size_t images, done_now, up_to_date, failed, failed_before, busy, left;
	uint64_t tiles, active, computed, reused;
	size_t reached_unknown;  /* images reached that had no job in the store before */
	uint64_t pixels;         /* of the images finished by this run */
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
	double t_start;  /* tp_now_ms() when the command started: the summary's wall time */
	int ex;          /* exit code so far (the worst outcome wins) */
	int stopped;     /* no further image is started */
	size_t progress_work;  /* images not up to date at the last progress write */
	double progress_ms;    /* tp_now_ms() of that write */
};

/* How one image ended, for the counts and the exit code. */
enum item_outcome { ITEM_DONE, ITEM_UP_TO_DATE, ITEM_FAILED, ITEM_FAILED_BEFORE, ITEM_BUSY,
		    ITEM_STOPPED };

/* The signatures of the image and its mask (the recorded ones when the
 * files' identities are unchanged). */
struct item_sigs {
	char in_stat[TP_SIG_LEN], in_sig[TP_SIG_LEN];
	char mk_stat[TP_SIG_LEN], mk_sig[TP_SIG_LEN];
	struct tp_timings t;   /* the sign stage */
};

/* What is known of one image before deciding: its job as recorded (found,
 * rec; nothing without a store), its files' signatures, the job it maps to. */
struct item_look {
	int found;
	struct store_job rec;
	struct item_sigs g;
	tp_status sign_rc;
	struct store_job_spec spec;   /* points into g, r->opt_hex and the item */
};
TP_MUST_USE tp_status item_sign_and_find(struct run *r, const struct tp_item *it,
					 struct item_look *l);

/*
 * What to do with one image, decided the one way for a run and a dry run:
 * `job` is the store's job after store_job_sync (a run) or as
 * store_job_preview says it would be (a dry run). *why: for VERDICT_REDO,
 * "input changed", "mask changed", "options changed", "output missing",
 * "output changed" or "--force".
 */
enum item_verdict { VERDICT_PROCESS, VERDICT_UP_TO_DATE, VERDICT_REDO, VERDICT_FAILED_BEFORE,
		    VERDICT_FAIL, VERDICT_REFUSE };
enum item_verdict item_decide(struct run *r, const struct tp_item *it, tp_status sign_rc,
			      int found, const struct store_job *rec, const struct store_job *job,
			      const char **why);

/* One image of the batch, start to end; its outcome is also in r->ex. */
enum item_outcome run_item(struct run *r, const struct tp_item *it);

#endif
