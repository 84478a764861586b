/*
 * guard.c - inputs are never outputs: before any work, refuse a plan in
 * which an output path is (or links to) an input or a mask of the batch,
 * comparing files by device and inode, so no spelling of a path slips by.
 */
#include "guard.h"

#include <sys/stat.h>

struct file_id { dev_t dev; ino_t ino; const char *path; };

static int cmp_file_id(const void *a, const void *b)
{
	const struct file_id *x = a, *y = b;
	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return 0;
}

/* Would `output` (followed through links) replace one of ids[0..n)? */
static const char *clobbers(const char *output, const struct file_id *ids, size_t n)
{
	struct stat st;
	struct file_id key, *hit;
	if (stat(output, &st) != 0)
		return NULL;   /* nothing there yet: nothing to replace */
	key = (struct file_id){ st.st_dev, st.st_ino, NULL };
	hit = bsearch(&key, ids, n, sizeof *ids, cmp_file_id);
	return hit ? hit->path : NULL;
}

/*
 * Refuse, before any work, a plan in which an output path is (or links to)
 * an input or mask of the batch, or the output directory is an input
 * directory itself. One line naming both paths; TP_EUSAGE.
 */
tp_status guard_inputs(const struct tp_opts *o, char **args, int nargs,
			      const struct tp_items *items)
{
	struct file_id *ids;
	size_t n = 0;
	struct stat od;
	tp_status rc = TP_OK;

	if (o->out_dir && stat(o->out_dir, &od) == 0)
		for (int i = 0; i < nargs; i++) {
			struct stat st;
			if (stat(args[i], &st) == 0 && S_ISDIR(st.st_mode) &&
			    st.st_dev == od.st_dev && st.st_ino == od.st_ino)
				return tp_err(TP_EUSAGE, "refusing to write into %s: it is the input "
					      "directory %s, so outputs would replace the inputs "
					      "(choose another -o DIR)", o->out_dir, args[i]);
		}
	ids = tp_calloc(items->n * 2 + 1, sizeof *ids);
	if (!ids)
		return tp_err(TP_ENOMEM, "out of memory checking the output paths");
	for (size_t i = 0; i < items->n; i++) {
		const char *p[2] = { items->v[i].input, items->v[i].mask };
		for (int k = 0; k < 2; k++) {
			struct stat st;
			if (p[k] && stat(p[k], &st) == 0)
				ids[n++] = (struct file_id){ st.st_dev, st.st_ino, p[k] };
		}
	}
	qsort(ids, n, sizeof *ids, cmp_file_id);
	for (size_t i = 0; i < items->n && rc == TP_OK; i++) {
		const char *victim = clobbers(items->v[i].output, ids, n);
		if (victim)
			rc = tp_err(TP_EUSAGE, "refusing to write %s: it is the input %s "
				    "(outputs never replace inputs or masks; choose another -o DIR)",
				    items->v[i].output, victim);
	}
	tp_free(ids);
	return rc;
}
