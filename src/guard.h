/*
 * guard.h - inputs are never outputs (see guard.c).
 */
#ifndef TP_GUARD_H
#define TP_GUARD_H

#include "discover.h"

/*
 * Refuse, before any work, a plan in which an output path is (or links to)
 * an input or mask of the batch, or the output directory (o->out_dir, may be
 * NULL) is one of the input directories args[0..nargs). One line naming both
 * paths; TP_EUSAGE.
 */
TP_MUST_USE tp_status guard_inputs(const struct tp_opts *o, char **args, int nargs,
				   const struct tp_items *items);

#endif
