/*
 * options.h - the options `run` and `inpaint` share, and their parser.
 */
#ifndef TP_OPTIONS_H
#define TP_OPTIONS_H

#include "util/tp.h"

struct tp_opts {
	const char *engine_name;   /* NULL: patch, or lama when --model is given */
	const char *model;         /* --model FILE */
	const char *engine_params; /* --engine-opt k=v,... */
	uint32_t tile;             /* 0: engine default */
	uint32_t overlap;          /* UINT32_MAX: engine default */
	uint32_t dilate;           /* mask dilation radius, pixels */
	uint32_t mask_threshold;   /* a mask pixel above this (0..254, on 8 bits) is a hole */
	int mask_invert;           /* --mask-invert: holes are at or below the threshold */
	uint32_t radius;           /* telea radius; 0: engine default */
	uint32_t threads;          /* -j: worker threads */
	int jpeg_quality;          /* 0: IO_JPEG_QUALITY_DEFAULT */
	int png_level;             /* -1: default */
	double max_time_s;         /* 0: none */
	double lease_s;            /* --lease: how long a claim lasts unrenewed (seconds) */
	uint64_t max_pixels;       /* --max-pixels: refuse larger images; 0: no limit */
	uint64_t mem_limit;        /* --mem-limit bytes; 0: not given (the default is
				    * tp_mem_available(), which only narrows the window) */
	int quiet;
	int progress;              /* enum tp_progress_mode: --progress 1, --no-progress -1,
				    * neither 0 (a bar on a terminal unless -q) */
	int dry_run;
	/* run only */
	const char *out_dir;
	const char *db;
	const char *masks_dir;
	const char *mask_file;
	int mask_nodata;           /* --mask nodata: each image's GDAL_NODATA value is its mask */
	const char *mask_suffix;
	int recurse;
	uint32_t shard_k, shard_n; /* 1-based shard K of N; N = 0: none */
	int force;                 /* --force: redo done jobs (and failed ones) */
	int retry_failed;          /* --retry-failed: try failed jobs again though unchanged */
	int overwrite;             /* --overwrite: replace outputs this store did not write */
};

enum { OPT_FOR_RUN = 1, OPT_FOR_INPAINT = 2 };

/* --mask-threshold's default: on 8 bits, 128..255 is a hole, 0..127 is kept. */
#define OPTS_MASK_THRESHOLD 127

/*
 * Parse argv (getopt_long) into *o; positional arguments are left in
 * argv[*first .. argc). Returns TP_OK, TP_EUSAGE (message set), or
 * TP_ECANCELED after printing --help (exit 0).
 */
TP_MUST_USE tp_status opts_parse(int argc, char **argv, int which, const char *synopsis,
				 struct tp_opts *o, int *first);
/* The job store: --db FILE when given, else DIR/.tilepaint-K-of-N.db for
 * --shard K/N (shard_n > 0), so shards sharing one output directory never
 * share one SQLite file, else DIR/.tilepaint.db. */
#define OPTS_STORE_NAME ".tilepaint.db"
#define OPTS_SHARD_STORE_FMT ".tilepaint-%u-of-%u.db"
void opts_store_path(char *buf, size_t n, const char *out_dir, const char *db, uint32_t shard_k,
		     uint32_t shard_n);
/* For the commands that only read or edit a store (status, report, forget):
 * exactly one of -o DIR and --db FILE, then opts_store_path; 0, or the usage
 * error's exit code (printed). */
int opts_store_choice(const char *cmd, const char *out_dir, const char *db, char *buf, size_t n);
/* Print "tilepaint: error: MSG" and the try-help hint; returns 64. */
int opts_usage_error(const char *cmd, const char *msg);

#endif
