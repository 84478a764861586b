/*
 * timing.h - per-stage timings of a job, as `report` shows them.
 *
 * One mechanism: TP_TIMED(t, STAGE) statement times the statement into
 * stage STAGE of *t and counts one call. Timed sections nest, and each
 * millisecond goes to the innermost one only (a mask read inside the mask
 * stage is decode time, not both), so a stage can be neither forgotten by a
 * missing "stop" nor counted twice. The statement must not leave by return,
 * break or goto (lint checks TP_TIMED bodies are one statement or a block
 * without them). Durations measured elsewhere (engine time on a worker
 * thread, the model load) are added with tp_timings_add.
 */
#ifndef TP_TIMING_H
#define TP_TIMING_H

#include "util/tp.h"

/* Stages, in pipeline order (names are what `report` prints). */
enum tp_stage {
	TP_STAGE_DECODE,      /* reading and decoding input and mask rows */
	TP_STAGE_MASK,        /* binarising and dilating the mask; tile occupancy; guide planning */
	TP_STAGE_PLAN,        /* tile grid and its store records */
	TP_STAGE_MODEL_LOAD,  /* engine open: weights, plans (once per process) */
	TP_STAGE_INFERENCE,   /* engine time per tile, summed over workers */
	TP_STAGE_BLEND,       /* tiles out of / into the band, quantise, blend, composite */
	TP_STAGE_ENCODE,      /* encoding output rows */
	TP_STAGE_WRITE,       /* flush, fsync, rename */
	TP_STAGE_STORE,       /* job store transactions for tile results */
	TP_STAGE_SIGN,        /* hashing inputs and masks whose identity changed (before
			       * the claim: not a pipeline stage, recorded with the others) */
	TP_STAGE_COUNT
};
const char *tp_stage_name(enum tp_stage s);

#define TP_TIMING_DEPTH 8   /* timed sections open at once, at most */

struct tp_timings {
	double ms[TP_STAGE_COUNT];
	int64_t count[TP_STAGE_COUNT];
	/* open sections (main thread only): inner[d] is the time sections
	 * nested in the open section at depth d took, excluded from its own */
	int depth;
	double inner[TP_TIMING_DEPTH + 1];
};

/* A running timed section (on the stack of the TP_TIMED statement). */
struct tp_timer {
	struct tp_timings *t;
	enum tp_stage stage;
	int running;
	double t0;
};
static inline struct tp_timer tp_timer_begin(struct tp_timings *t, enum tp_stage stage)
{
	struct tp_timer tm = { t, stage, 1, 0 };
	TP_ASSERT(t->depth < TP_TIMING_DEPTH);
	t->inner[++t->depth] = 0;
	tm.t0 = tp_now_ms();
	return tm;
}
void tp_timer_end(struct tp_timer *tm);

#define TP_TIMED_CAT2(a, b) a##b
#define TP_TIMED_CAT(a, b) TP_TIMED_CAT2(a, b)
#define TP_TIMED_VAR TP_TIMED_CAT(tp_timer_, __LINE__)
#define TP_TIMED(timings, stage)                                                        \
	for (struct tp_timer TP_TIMED_VAR = tp_timer_begin((timings), (stage));         \
	     TP_TIMED_VAR.running; tp_timer_end(&TP_TIMED_VAR))

/* Add a duration measured elsewhere (another thread, a cached load): one call. */
void tp_timings_add(struct tp_timings *t, enum tp_stage s, double ms);

#endif
