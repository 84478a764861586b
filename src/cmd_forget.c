/*
 * cmd_forget.c - `tilepaint forget`: remove jobs (and their stored tiles)
 * from a job store, by input or output path or every failed one, so that
 * the next run treats those images as new. Outputs are not touched.
 */
#include "commands.h"
#include "exit.h"
#include "options.h"
#include "../store/store.h"

#include <getopt.h>
#include <string.h>
#include <unistd.h>

static const char forget_synopsis[] =
"usage: tilepaint forget (-o DIR | --db FILE) (PATH... | --failed)\n"
"Remove the jobs of the images whose input or output path is PATH (as given\n"
"to and printed by run), or every failed job, with their stored tiles. Outputs\n"
"are left as they are; the next run treats these images as new.\n";

/* Parse; 0 to go on, -1 after --help, else the exit code. */
static int parse(int argc, char **argv, char *db, size_t dbn, int *failed, int *first)
{
	static const struct option lo[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "db", required_argument, NULL, 'd' },
		{ "failed", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *out = NULL, *dbf = NULL;
	char msg[256];
	int c;
	optind = 1;
	opterr = 0;
	*failed = 0;
	while ((c = getopt_long(argc, argv, ":o:h", lo, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'd': dbf = optarg; break;
		case 'f': *failed = 1; break;
		case 'h': fputs(forget_synopsis, stdout); return -1;
		case ':':
			snprintf(msg, sizeof msg, "option '%s' needs a value", argv[optind - 1]);
			return opts_usage_error("forget", msg);
		default:
			snprintf(msg, sizeof msg, "unknown option '%s'", argv[optind - 1]);
			return opts_usage_error("forget", msg);
		}
	}
	if ((c = opts_store_choice("forget", out, dbf, db, dbn)) != 0)
		return c;
	if (*failed == (optind < argc))
		return opts_usage_error("forget", "give either PATH... or --failed");
	*first = optind;
	return 0;
}

int cmd_forget(int argc, char **argv)
{
	char db[4096];
	struct store *st = NULL;
	int failed = 0, first = 0, code = TP_EXIT_OK;
	int64_t total = 0;
	tp_status rc;
	int r = parse(argc, argv, db, sizeof db, &failed, &first);
	if (r)
		return r < 0 ? TP_EXIT_OK : r;
	if (access(db, F_OK) != 0) {
		tp_error("%s: no job store there", db);
		return TP_EXIT_NOINPUT;
	}
	if ((rc = store_open(db, 0, &st)) != TP_OK) {
		tp_error("%s", tp_errmsg());
		return tp_store_exit_code(rc);
	}
	for (int i = first; i < argc || (failed && i == first); i++) {
		/* --failed: one pass with no path; else one per PATH */
		const char *path = failed ? NULL : argv[i];
		int64_t n = 0;
		if ((rc = store_forget(st, path, &n)) != TP_OK) {
			tp_error("%s", tp_errmsg());
			code = tp_exit_worse(code, tp_exit_code(rc));
			break;
		}
		if (path && n == 0) {
			tp_error("%s: no job with this input or output path in %s", path, db);
			code = tp_exit_worse(code, TP_EXIT_NOINPUT);
		}
		total += n;
	}
	tp_info("%lld job%s forgotten", (long long)total, total == 1 ? "" : "s");
	store_close(st);
	return code;
}
