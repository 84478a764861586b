/*
 * options.c - the options `run` and `inpaint` share, parsed one way, so the
 * two commands (and the man page) cannot drift apart.
 */
#include "options.h"
#include "exit.h"
#include "lease.h"
#include "progress.h"
#include "io/raster.h"

#include <errno.h>
#include <getopt.h>
#include <string.h>
#include <unistd.h>

enum {
	O_DB = 256, O_MASKS, O_MASK, O_MASK_SUFFIX, O_ENGINE, O_MODEL, O_ENGINE_OPT,
	O_TILE, O_OVERLAP, O_DILATE, O_RADIUS, O_MAX_TIME, O_DRY_RUN, O_JPEG_Q,
	O_PNG_LEVEL, O_SHARD, O_LEASE, O_MAX_PIXELS, O_FORCE, O_RETRY_FAILED, O_OVERWRITE,
	O_MEM_LIMIT, O_MASK_THRESHOLD, O_MASK_INVERT, O_PROGRESS, O_NO_PROGRESS
};

static const struct option long_opts[] = {
	{ "output", required_argument, NULL, 'o' },
	{ "db", required_argument, NULL, O_DB },
	{ "masks", required_argument, NULL, O_MASKS },
	{ "mask", required_argument, NULL, O_MASK },
	{ "mask-suffix", required_argument, NULL, O_MASK_SUFFIX },
	{ "mask-threshold", required_argument, NULL, O_MASK_THRESHOLD },
	{ "mask-invert", no_argument, NULL, O_MASK_INVERT },
	{ "recursive", no_argument, NULL, 'r' },
	{ "engine", required_argument, NULL, O_ENGINE },
	{ "model", required_argument, NULL, O_MODEL },
	{ "engine-opt", required_argument, NULL, O_ENGINE_OPT },
	{ "tile", required_argument, NULL, O_TILE },
	{ "overlap", required_argument, NULL, O_OVERLAP },
	{ "dilate", required_argument, NULL, O_DILATE },
	{ "radius", required_argument, NULL, O_RADIUS },
	{ "jobs", required_argument, NULL, 'j' },
	{ "max-time", required_argument, NULL, O_MAX_TIME },
	{ "dry-run", no_argument, NULL, O_DRY_RUN },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "progress", no_argument, NULL, O_PROGRESS },
	{ "no-progress", no_argument, NULL, O_NO_PROGRESS },
	{ "jpeg-quality", required_argument, NULL, O_JPEG_Q },
	{ "png-level", required_argument, NULL, O_PNG_LEVEL },
	{ "shard", required_argument, NULL, O_SHARD },
	{ "lease", required_argument, NULL, O_LEASE },
	{ "max-pixels", required_argument, NULL, O_MAX_PIXELS },
	{ "mem-limit", required_argument, NULL, O_MEM_LIMIT },
	{ "force", no_argument, NULL, O_FORCE },
	{ "retry-failed", no_argument, NULL, O_RETRY_FAILED },
	{ "overwrite", no_argument, NULL, O_OVERWRITE },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

/* Options only `run` accepts. */
static int run_only(int c)
{
	return c == 'o' || c == O_DB || c == O_MASKS || c == O_MASK || c == O_MASK_SUFFIX ||
	       c == 'r' || c == O_MAX_TIME || c == O_DRY_RUN || c == O_SHARD || c == O_LEASE ||
	       c == O_FORCE || c == O_RETRY_FAILED || c == O_OVERWRITE;
}

TP_MUST_USE static tp_status parse_u32(const char *name, const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	char *e;
	unsigned long v;
	errno = 0;
	v = strtoul(s, &e, 10);
	if (errno || e == s || *e || *s == '-' || v < min || v > max)
		return tp_err(TP_EUSAGE, "--%s must be a whole number from %u to %u, not '%s'",
			      name, min, max, s);
	*out = (uint32_t)v;
	return TP_OK;
}

/* "250000000", "250M", "4G": a pixel count (K, M, G are powers of 1000). */
TP_MUST_USE static tp_status parse_pixels(const char *s, uint64_t *out)
{
	if (tp_parse_scaled(s, 1000, 0, out) != 0)
		return tp_err(TP_EUSAGE, "--max-pixels takes a pixel count such as 250000000, 250M "
			      "or 4G, not '%s'", s);
	return TP_OK;
}

void opts_store_path(char *buf, size_t n, const char *out_dir, const char *db, uint32_t shard_k,
		     uint32_t shard_n)
{
	if (db)
		snprintf(buf, n, "%s", db);
	else if (shard_n)
		snprintf(buf, n, "%s/" OPTS_SHARD_STORE_FMT, out_dir, (unsigned)shard_k, (unsigned)shard_n);
	else
		snprintf(buf, n, "%s/" OPTS_STORE_NAME, out_dir);
}

int opts_store_choice(const char *cmd, const char *out_dir, const char *db, char *buf, size_t n)
{
	if (!out_dir == !db)
		return opts_usage_error(cmd, "give exactly one of -o DIR and --db FILE");
	opts_store_path(buf, n, out_dir, db, 0, 0);
	return 0;
}

int opts_usage_error(const char *cmd, const char *msg)
{
	fprintf(stderr, "tilepaint: error: %s\n", msg);
	fprintf(stderr, "try 'tilepaint %s --help'\n", cmd);
	return TP_EXIT_USAGE;
}

/* Apply one parsed option to *o. */
TP_MUST_USE static tp_status apply_opt(int c, const char *arg, struct tp_opts *o)
{
	uint32_t v = 0;
	tp_status rc = TP_OK;
	switch (c) {
	case 'o': o->out_dir = arg; break;
	case O_DB: o->db = arg; break;
	case O_MASKS: o->masks_dir = arg; break;
	case O_MASK: o->mask_file = arg; break;
	case O_MASK_SUFFIX: o->mask_suffix = arg; break;
	case 'r': o->recurse = 1; break;
	case O_ENGINE: o->engine_name = arg; break;
	case O_MODEL: o->model = arg; break;
	case O_ENGINE_OPT: o->engine_params = arg; break;
	case O_TILE: return parse_u32("tile", arg, 16, 65536, &o->tile);
	case O_OVERLAP: return parse_u32("overlap", arg, 0, 32768, &o->overlap);
	case O_DILATE: return parse_u32("dilate", arg, 0, 256, &o->dilate);
	case O_MASK_THRESHOLD: return parse_u32("mask-threshold", arg, 0, 254, &o->mask_threshold);
	case O_MASK_INVERT: o->mask_invert = 1; break;
	case O_RADIUS: return parse_u32("radius", arg, 1, 64, &o->radius);
	case 'j': return parse_u32("jobs", arg, 1, 256, &o->threads);
	case O_MAX_TIME:
		o->max_time_s = tp_parse_duration(arg);
		if (o->max_time_s <= 0)
			return tp_err(TP_EUSAGE, "--max-time takes a duration such as 90s, 9m or 1h30m, not '%s'", arg);
		break;
	case O_LEASE:
		o->lease_s = tp_parse_duration(arg);
		if (o->lease_s < 3 || o->lease_s > 7 * 86400.0)
			return tp_err(TP_EUSAGE, "--lease takes a duration from 3s to 7d, such as 10m, not '%s'", arg);
		break;
	case O_MAX_PIXELS: return parse_pixels(arg, &o->max_pixels);
	case O_MEM_LIMIT:
		if (tp_parse_size(arg, &o->mem_limit) || o->mem_limit < ((uint64_t)64 << 20))
			return tp_err(TP_EUSAGE, "--mem-limit takes a size of at least 64M, such as 512M "
				      "or 4G, not '%s'", arg);
		break;
	case O_DRY_RUN: o->dry_run = 1; break;
	case O_FORCE: o->force = 1; break;
	case O_RETRY_FAILED: o->retry_failed = 1; break;
	case O_OVERWRITE: o->overwrite = 1; break;
	case 'q': o->quiet = 1; break;
	case O_PROGRESS: o->progress = TP_PROGRESS_ON; break;
	case O_NO_PROGRESS: o->progress = TP_PROGRESS_OFF; break;
	case 'v': tp_log_set_level(TP_LOG_DEBUG); break;
	case O_JPEG_Q:
		rc = parse_u32("jpeg-quality", arg, 1, 100, &v);
		o->jpeg_quality = (int)v;
		break;
	case O_PNG_LEVEL:
		rc = parse_u32("png-level", arg, 0, 9, &v);
		o->png_level = (int)v;
		break;
	case O_SHARD: {
		unsigned k, n;
		char extra;
		if (sscanf(arg, "%u/%u%c", &k, &n, &extra) != 2 || n < 1 || k < 1 || k > n)
			return tp_err(TP_EUSAGE, "--shard takes K/N with 1 <= K <= N, not '%s'", arg);
		o->shard_k = k;
		o->shard_n = n;
		break;
	}
	default:
		return tp_err(TP_EINTERNAL, "option %d not handled", c);
	}
	return rc;
}

/* The defaults every command starts from. */
static void opts_defaults(struct tp_opts *o)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	memset(o, 0, sizeof *o);
	o->overlap = UINT32_MAX;
	o->png_level = -1;
	o->mask_threshold = OPTS_MASK_THRESHOLD;
	o->threads = ncpu > 0 ? (uint32_t)ncpu : 1;
	o->lease_s = TP_LEASE_DEFAULT_S;
}

tp_status opts_parse(int argc, char **argv, int which, const char *synopsis,
		     struct tp_opts *o, int *first)
{
	int c;
	opts_defaults(o);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:rj:qvh", long_opts, NULL)) != -1) {
		tp_status rc;
		if (which == OPT_FOR_INPAINT && run_only(c))
			return tp_err(TP_EUSAGE, "option '%s' is for 'tilepaint run'", argv[optind - 1]);
		if (c == 'h') {
			fputs(synopsis, stdout);
			return TP_ECANCELED;
		}
		if (c == ':')
			return tp_err(TP_EUSAGE, "option '%s' needs a value", argv[optind - 1]);
		if (c == '?')
			return tp_err(TP_EUSAGE, "unknown option '%s'", argv[optind - 1]);
		if ((rc = apply_opt(c, optarg, o)) != TP_OK)
			return rc;
	}
	if (o->quiet)
		tp_log_set_level(TP_LOG_ERROR);
	/* readers refuse larger images from their header, before any work */
	io_reader_set_max_pixels(o->max_pixels);
	if (!!o->masks_dir + !!o->mask_file + !!o->mask_suffix > 1)
		return tp_err(TP_EUSAGE, "--masks, --mask and --mask-suffix exclude each other");
	/* the word, not a file: a file of that name is ./nodata */
	o->mask_nodata = o->mask_file && strcmp(o->mask_file, "nodata") == 0;
	*first = optind;
	return TP_OK;
}
