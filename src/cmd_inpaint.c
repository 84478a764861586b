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
#include "stdio_stage.h"
#include "io/raster.h"

#include <string.h>

static const char inpaint_synopsis[] =
"usage: tilepaint inpaint [OPTIONS] IMAGE MASK OUTPUT\n"
"Inpaint one image, tiled, without a job store. OUTPUT's extension chooses its\n"
"format (.png .tif .tiff .jpg .jpeg); the layout (bit depth, channels) is IMAGE's.\n"
"IMAGE or MASK '-' reads stdin; OUTPUT '-' writes stdout, in IMAGE's format.\n"
"MASK 'nodata' (the word; a file of that name is ./nodata): the holes are the\n"
"image's no-data samples (its GDAL_NODATA value, and NaN for float), as\n"
"'tilepaint run --mask nodata'.\n"
"\n"
"  --engine NAME, --model FILE, --engine-opt K=V,.., --tile N, --overlap N,\n"
"  --dilate N, --mask-threshold N, --mask-invert, --radius N, -j N,\n"
"  --jpeg-quality N, --png-level N, --max-pixels N, --mem-limit SIZE, -q, -v,\n"
"  --progress, --no-progress\n"
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
TP_MUST_USE static tp_status guard_one(const char *const *paths)
{
	struct tp_item one = { .input = (char *)paths[0], .mask = (char *)paths[1],
			       .output = (char *)paths[2] };
	struct tp_items items = { &one, 1, 1, 0 };
	struct tp_opts none = { 0 };
	return guard_inputs(&none, NULL, 0, &items);
}

/* What can be said wrong with IMAGE MASK OUTPUT before reading anything. */
TP_MUST_USE static tp_status check_args(char **args)
{
	const char *out = args[2], *slash = strrchr(out, '/'), *dot;
	if (!strcmp(args[0], "-") && !strcmp(args[1], "-"))
		return tp_err(TP_EUSAGE, "IMAGE and MASK cannot both be '-' (stdin)");
	if (!strcmp(out, "-") || io_format_from_name(out) != IO_FORMAT_UNKNOWN)
		return TP_OK;
	dot = strrchr(slash ? slash + 1 : out, '.');
	return tp_err(TP_EUSAGE, "%s: cannot write %s%s%s: OUTPUT must end in .png, .jpg, .jpeg, "
		      ".tif or .tiff (or be '-' for stdout)", out, dot ? "'" : "",
		      dot ? dot + 1 : "a file without an extension", dot ? "' files" : "");
}

/* The files to work on: args, with '-' staged through s (stdin read into a
 * file; stdout's output written to one first). */
TP_MUST_USE static tp_status stage_args(char **args, struct tp_stdio_stage *s, const char *paths[3])
{
	tp_status rc = TP_OK;
	for (int i = 0; i < 3; i++)
		paths[i] = args[i];
	for (int i = 0; i < 2 && rc == TP_OK; i++)
		if (!strcmp(args[i], "-") && (rc = tp_stdio_stage_in(s)) == TP_OK)
			paths[i] = s->in;
	if (!strcmp(args[1], "nodata"))
		paths[1] = paths[0];   /* the image is its own mask */
	if (rc == TP_OK && !strcmp(args[2], "-") && (rc = tp_stdio_stage_out(s, paths[0])) == TP_OK)
		paths[2] = s->out;
	return rc;
}

/* Print the current error with staged paths named as given; its exit code. */
static int fail_named(const struct tp_stdio_stage *s, tp_status rc)
{
	char msg[2048];
	tp_stdio_stage_names(s, tp_errmsg(), msg, sizeof msg);
	tp_error("%s", msg);
	return tp_exit_code(rc);
}

/* Inpaint paths[0] with mask paths[1] into paths[2]; the bar (on a terminal)
 * names the image `shown`. */
TP_MUST_USE static tp_status inpaint_one(const struct tp_opts *o, struct tp_engine_ctx *eng,
					 const char *const *paths, const char *shown)
{
	struct tp_job_result res;
	struct tp_job_io io;
	uint64_t content = 0, computed = 0;
	double load_ms;
	char sig[160];
	tp_status rc;
	if ((rc = tp_file_sig(paths[0], sig, sizeof sig, &content)) != TP_OK)
		return rc;
	io = (struct tp_job_io){ .input = paths[0], .mask = paths[1], .output = paths[2],
				 .content_hash = content, .computed_total = &computed,
				 .progress = tp_progress_new(o->progress, o->quiet, 0, 0, o->threads) };
	tp_progress_begin(io.progress, shown);
	rc = tp_job_process(eng, o, &io, 0, &res);
	tp_progress_end(io.progress, rc == TP_OK ? (uint64_t)res.width * res.height : 0);
	tp_progress_free(io.progress);
	load_ms = eng->load_ms;
	tp_engine_close(eng);
	if (rc != TP_OK)
		return rc;
	tp_debug("%s: %llu tiles, %llu inpainted", io.output, (unsigned long long)res.tiles,
		 (unsigned long long)res.computed);
	tp_job_debug_guide(io.output, &res);
	debug_stages(io.output, load_ms, &res.t);
	return TP_OK;
}

int cmd_inpaint(int argc, char **argv)
{
	struct tp_opts o;
	struct tp_engine_ctx eng;
	struct tp_stdio_stage stage = { { 0 }, { 0 }, { 0 } };
	const char *paths[3];
	int first, code = TP_EXIT_OK;
	tp_status rc;

	rc = opts_parse(argc, argv, OPT_FOR_INPAINT, inpaint_synopsis, &o, &first);
	if (rc == TP_ECANCELED)
		return TP_EXIT_OK;
	if (rc == TP_OK && argc - first != 3)
		rc = tp_err(TP_EUSAGE, "expected IMAGE MASK OUTPUT");
	if (rc == TP_OK && !strcmp(argv[first + 1], "nodata"))
		o.mask_nodata = 1;
	if (rc == TP_OK && (rc = check_args(argv + first)) == TP_OK &&
	    (rc = tp_engine_select(&o, &eng)) == TP_OK && strcmp(argv[first + 2], "-"))
		rc = guard_one((const char *const *)argv + first);
	if (rc != TP_OK)
		return opts_usage_error("inpaint", tp_errmsg());
	tp_signals_install();
	if ((rc = stage_args(argv + first, &stage, paths)) == TP_OK &&
	    (rc = inpaint_one(&o, &eng, paths, strcmp(argv[first], "-") ? argv[first]
							      : "(stdin)")) == TP_OK && stage.out[0])
		rc = tp_stdio_stage_emit(&stage);
	if (rc != TP_OK)
		code = fail_named(&stage, rc);
	tp_engine_close(&eng);
	tp_stdio_stage_free(&stage);
	return code;
}
