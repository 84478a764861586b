/*
 * discover.h - turn `run`'s INPUT arguments into a sorted list of jobs:
 * input path, output path (same relative name under -o DIR) and mask path.
 */
#ifndef DISCOVER_H
#define DISCOVER_H

#include "options.h"

struct tp_item {
	char *input;      /* path as found */
	char *rel;        /* relative name under the input directory (or the file's name) */
	char *output;     /* out_dir/rel */
	char *mask;       /* mask path, or NULL when none was found */
	char *problem;    /* why this item cannot be processed (no mask, clash,
			   * not a regular file, missing), or NULL */
	tp_status why;    /* the kind of problem, for the exit code */
};

struct tp_items {
	struct tp_item *v;
	size_t n, cap;
	int errors;       /* directories that could not be listed (each printed) */
};

/*
 * Find the images named by args[0..nargs). Directories are listed (recursively
 * with o->recurse), hidden files and files under the output or masks
 * directory are ignored, as are mask files beside images. Links are
 * followed; a directory is entered once (loops end) and an image reached by
 * several paths is listed once, by the first. A missing or unopenable INPUT,
 * and anything named like an image that is no regular file (a FIFO, socket,
 * device; a directory without -r), becomes an item with a problem, so the
 * rest of the batch goes on. Items come sorted by output path. Fails only
 * when out of memory.
 */
TP_MUST_USE tp_status discover(const struct tp_opts *o, char **args, int nargs, struct tp_items *out);
void discover_free(struct tp_items *items);
/* Is this file name one tilepaint reads (.png .jpg .jpeg .tif .tiff, any case)? */
int discover_is_image_name(const char *name);
/* Create every missing directory of `path`'s parent (mkdir -p). TP_ECREATE on failure. */
TP_MUST_USE tp_status make_parent_dirs(const char *path);

#endif
