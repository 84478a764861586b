/*
 * discover.h - turn `run`'s INPUT arguments into a sorted list of jobs:
 * input path, output path (same relative name under -o DIR) and mask path.
 */
#ifndef DISCOVER_H
#define DISCOVER_H

#include "core.h"

struct tp_item {
	char *input;      /* path as found */
	char *rel;        /* relative name under the input directory (or the file's name) */
	char *output;     /* out_dir/rel */
	char *mask;       /* mask path, or NULL when none was found */
	char *problem;    /* why this item cannot be processed (no mask, clash), or NULL */
};

struct tp_items {
	struct tp_item *v;
	size_t n, cap;
};

/*
 * Find the images named by args[0..nargs). Directories are listed (recursively
 * with o->recurse), hidden files and files under the output or masks
 * directory are ignored, as are mask files beside images. Items come sorted by
 * output path. A missing INPUT argument is TP_ENOENT naming it.
 */
TP_MUST_USE tp_status discover(const struct tp_opts *o, char **args, int nargs, struct tp_items *out);
void discover_free(struct tp_items *items);
/* Is this file name one tilepaint reads (.png .jpg .jpeg .tif .tiff, any case)? */
int discover_is_image_name(const char *name);
/* Create every missing directory of `path`'s parent (mkdir -p). TP_ECREATE on failure. */
TP_MUST_USE tp_status make_parent_dirs(const char *path);

#endif
