/*
 * timing.c - stage names and timed sections (see timing.h).
 */
#include "timing.h"

const char *tp_stage_name(enum tp_stage s)
{
	static const char *const names[TP_STAGE_COUNT] = {
		"decode", "mask", "plan", "model_load", "inference",
		"blend", "encode", "write", "store", "sign",
	};
	return (unsigned)s < TP_STAGE_COUNT ? names[s] : "unknown";
}

void tp_timer_end(struct tp_timer *tm)
{
	struct tp_timings *t = tm->t;
	double dt = tp_now_ms() - tm->t0;
	TP_ASSERT(t->depth > 0);
	t->ms[tm->stage] += dt - t->inner[t->depth];
	t->count[tm->stage]++;
	t->depth--;
	t->inner[t->depth] += dt;   /* the enclosing section does not count it again */
	tm->running = 0;
}

void tp_timings_add(struct tp_timings *t, enum tp_stage s, double ms)
{
	t->ms[s] += ms;
	t->count[s]++;
}
