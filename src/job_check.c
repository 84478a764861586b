/*
 * job_check.c - what every step of a job calls between units of work: the
 * checkpoint (a stop signal honoured, the lease kept alive) and the test
 * hooks (freezing the process at a chosen point, the mask runs' budget). Below all the job's
 * other files.
 */
#include "job_int.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

/*
 * Test hook: TILEPAINT_TEST_FREEZE=stage:NAME makes the process stop itself
 * (SIGSTOP) the first time it reaches stage NAME (decode, mask, guide, band,
 * encode, publish), and tile:N after committing its N-th tile, so that the
 * end-to-end tests can signal or out-wait a process at a chosen point
 * without depending on timing. Unset, it costs one getenv per call.
 */
void job_test_freeze(const char *stage, uint64_t tiles)
{
	static int fired;
	const char *v = getenv("TILEPAINT_TEST_FREEZE");
	char want[64];
	if (!v || fired)
		return;
	if (stage)
		snprintf(want, sizeof want, "stage:%s", stage);
	else
		snprintf(want, sizeof want, "tile:%llu", (unsigned long long)tiles);
	if (strcmp(v, want) == 0) {
		fired = 1;
		raise(SIGSTOP);
	}
}

/* Test hook: TILEPAINT_TEST_RUNS_BUDGET=BYTES in place of the mask runs'
 * budget (0: the mask file is read on every pass, as with a mask too dense
 * to keep), so tests can compare both paths' outputs. */
size_t job_test_runs_budget(size_t budget)
{
	const char *v = getenv("TILEPAINT_TEST_RUNS_BUDGET");
	return v ? (size_t)strtoull(v, NULL, 10) : budget;
}

int job_test_no_cut(void)
{
	return getenv("TILEPAINT_TEST_NO_CUT") != NULL;
}

tp_status job_checkpoint(struct job *j)
{
	if (tp_cancelled())
		return tp_err(TP_ECANCELED, "%s: stopped with tiles left", j->io->input);
	return tp_lease_keep(&j->keeper);
}

tp_status job_checkpoint_row(struct job *j, uint32_t y)
{
	if ((y & 63) != 63)
		return TP_OK;
	tp_progress_row(j->io->progress, (uint64_t)y + 1);   /* mask and guide passes */
	return job_checkpoint(j);
}
