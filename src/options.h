/*
 * options.h - command-line parsing shared by `run` and `inpaint`, and the
 * engine context both build from it.
 */
#ifndef OPTIONS_H
#define OPTIONS_H

#include "core.h"

enum { OPT_FOR_RUN = 1, OPT_FOR_INPAINT = 2 };

/*
 * Parse argv (getopt_long) into *o; positional arguments are left in
 * argv[*first .. argc). Returns TP_OK, TP_EUSAGE (message set), or
 * TP_ECANCELED after printing --help (exit 0).
 */
TP_MUST_USE tp_status opts_parse(int argc, char **argv, int which, const char *synopsis,
		     struct tp_opts *o, int *first);
/* Resolve the engine and its options from *o (TP_EUSAGE on unknown names). */
TP_MUST_USE tp_status opts_engine(const struct tp_opts *o, struct tp_engine_ctx *e);
/* Print "tilepaint: error: MSG" and the try-help hint; returns 64. */
int opts_usage_error(const char *cmd, const char *msg);

#endif
