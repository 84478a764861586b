/*
 * cmd_inpaint.c - `tilepaint inpaint IMAGE MASK OUTPUT`: one image, tiled
 * like a batch but without a job store; -v prints every stage's time.
 */
#include "commands.h"
#include "engine_ctx.h"
#include "exit.h"
#include "guard.h"
#include "job.h"
#include "sig.h"

static const char inpaint_synopsis[] =
"usage: tilepaint inpaint [OPTIONS] IMAGE MASK OUTPUT\n"
"Inpaint one image, tiled, without a job store. OUTPUT's extension chooses its\n"
"format (.png .tif .tiff .jpg .jpeg); the layout (bit depth, channels) is IMAGE's.\n"
"\n"
"  --engine NAME, --model FILE, --engine-opt K=V,.., --tile N, --overlap N,\n"
"  --dilate N, --radius N, -j N, --jpeg-quality N, --png-level N,\n"
"  --max-pixels N, --mem-limit SIZE, -q, -v\n"
"                       as for 'tilepaint run' (see tilepaint run --help)\n"
"  -h, --help           print this help\n";

/* What Python users timed by hand: every stage, in milliseconds (-v). */
static void debug_stages(const char *output, double load_ms, const struct tp_timings *t)
{
	char line[512];
	int n = snprintf(line, sizeof line, "%s: stages (ms): model_load %.1f", output, load_ms);
	for (int s = 0; s < TP_STAGE_COUNT && n > 0 && (size_t)n < sizeof line; s++)
		if (s != TP_STAGE_MODEL_LOAD && s != TP_STAGE_SIGN)
			n += snprintf(line + n, sizeof line - (size_t)n, ", %s %.1f",
				      tp_stage_name((enum tp_stage)s), t->ms[s]);
	tp_debug("%s", line);
}

/* The output must not be (or link to) the image or the mask. */
TP_MUST_USE static tp_status guard_one(char **paths)
{
	struct tp_item one = { .input = paths[0], .mask = paths[1], .output = paths[2] };
	struct tp_items items = { &one, 1, 1, 0 };
	struct tp_opts none = { 0 };
	return guard_inputs(&none, NULL, 0, &items);
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
	if (rc == TP_OK && argc - first != 3)
		rc = tp_err(TP_EUSAGE, "expected IMAGE MASK OUTPUT");
	if (rc == TP_OK && (rc = tp_engine_select(&o, &eng)) == TP_OK)
		rc = guard_one(argv + first);
	if (rc != TP_OK)
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
	tp_job_debug_guide(io.output, &res);
	debug_stages(io.output, load_ms, &res.t);
	return TP_EXIT_OK;
}
