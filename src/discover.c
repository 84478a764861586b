/*
 * discover.c - input discovery and mask lookup for `run`.
 *
 * The mask of <rel dir>/<stem>.<ext> is, with --masks MDIR, the first of
 * MDIR/<rel dir>/<stem>.{png,tif,tiff,jpg,jpeg} and MDIR/<rel dir>/<stem>_mask.{...};
 * with --mask FILE, FILE; with --mask-suffix SUF (default "_mask"),
 * <stem>SUF.{png,tif,tiff,jpg,jpeg} beside the image. An image with no mask is
 * reported as such, never guessed. Files named <stem>SUF.<ext> are masks and
 * never inputs, in every mode.
 */
#include "discover.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const mask_exts[] = { "png", "tif", "tiff", "jpg", "jpeg", NULL };

int discover_is_image_name(const char *name)
{
	const char *dot = strrchr(name, '.');
	if (!dot)
		return 0;
	dot++;
	return !strcasecmp(dot, "png") || !strcasecmp(dot, "jpg") || !strcasecmp(dot, "jpeg") ||
	       !strcasecmp(dot, "tif") || !strcasecmp(dot, "tiff");
}

static char *join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s = tp_malloc(la + lb + 2);
	if (!s)
		return NULL;
	memcpy(s, a, la);
	if (la && a[la - 1] != '/')
		s[la++] = '/';
	memcpy(s + la, b, lb + 1);
	return s;
}

static int is_file(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* Canonical path for "is X inside Y" checks; NULL when it does not exist. */
static char *canon(const char *p)
{
	char buf[PATH_MAX];
	return realpath(p, buf) ? tp_strdup(buf) : NULL;
}

static int is_inside(const char *path_canon, const char *dir_canon)
{
	size_t n;
	if (!path_canon || !dir_canon)
		return 0;
	n = strlen(dir_canon);
	return strncmp(path_canon, dir_canon, n) == 0 && (path_canon[n] == '/' || path_canon[n] == '\0');
}

/* stem + suffix + one of the mask extensions, inside dir; first that exists. */
static char *find_with_exts(const char *dir, const char *stem, const char *suffix)
{
	for (size_t i = 0; mask_exts[i]; i++) {
		char name[PATH_MAX];
		char *p;
		snprintf(name, sizeof name, "%s%s.%s", stem, suffix, mask_exts[i]);
		p = join(dir, name);
		if (p && is_file(p))
			return p;
		tp_free(p);
	}
	return NULL;
}

static int ends_with_mask_suffix(const char *name, const char *suffix)
{
	const char *dot = strrchr(name, '.');
	size_t sl = strlen(suffix);
	if (!dot || (size_t)(dot - name) < sl || !sl)
		return 0;
	return strncmp(dot - sl, suffix, sl) == 0;
}

TP_MUST_USE static tp_status add_item(struct tp_items *it, const struct tp_opts *o, const char *input,
			  const char *rel)
{
	struct tp_item x;
	char dir[PATH_MAX], stem[PATH_MAX];
	const char *slash, *dot, *base;
	memset(&x, 0, sizeof x);
	if (it->n == it->cap) {
		size_t cap = it->cap ? it->cap * 2 : 64;
		struct tp_item *v = tp_realloc(it->v, cap * sizeof *v);
		if (!v)
			return tp_err(TP_ENOMEM, "out of memory listing inputs");
		it->v = v;
		it->cap = cap;
	}
	x.input = tp_strdup(input);
	x.rel = tp_strdup(rel);
	x.output = join(o->out_dir ? o->out_dir : ".", rel);
	if (!x.input || !x.rel || !x.output)
		goto oom;
	/* <rel dir> and <stem> */
	slash = strrchr(rel, '/');
	base = slash ? slash + 1 : rel;
	snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - rel) : 0, rel);
	dot = strrchr(base, '.');
	snprintf(stem, sizeof stem, "%.*s", dot ? (int)(dot - base) : (int)strlen(base), base);
	if (o->mask_file) {
		x.mask = tp_strdup(o->mask_file);
		if (!x.mask)
			goto oom;
	} else if (o->masks_dir) {
		char *mdir = join(o->masks_dir, dir);
		if (!mdir)
			goto oom;
		x.mask = find_with_exts(mdir, stem, "");
		if (!x.mask)
			x.mask = find_with_exts(mdir, stem, "_mask");
		if (!x.mask) {
			char msg[3 * PATH_MAX + 256];
			snprintf(msg, sizeof msg, "no mask found (looked for %s/%s.png and %s_mask.png, also .tif .tiff .jpg .jpeg)",
				 mdir, stem, stem);
			x.problem = tp_strdup(msg);
		}
		tp_free(mdir);
	} else {
		const char *suffix = o->mask_suffix ? o->mask_suffix : "_mask";
		char idir[PATH_MAX];
		const char *islash = strrchr(input, '/');
		snprintf(idir, sizeof idir, "%.*s", islash ? (int)(islash - input) : 1,
			 islash ? input : ".");
		x.mask = find_with_exts(idir, stem, suffix);
		if (!x.mask) {
			char msg[3 * PATH_MAX + 256];
			snprintf(msg, sizeof msg, "no mask found (looked for %s/%s%s.png, also .tif .tiff .jpg .jpeg; see --masks, --mask, --mask-suffix)",
				 idir, stem, suffix);
			x.problem = tp_strdup(msg);
		}
	}
	it->v[it->n++] = x;
	return TP_OK;
oom:
	tp_free(x.input);
	tp_free(x.rel);
	tp_free(x.output);
	tp_free(x.mask);
	return tp_err(TP_ENOMEM, "out of memory listing inputs");
}

struct walk {
	const struct tp_opts *o;
	struct tp_items *items;
	char *out_canon, *masks_canon;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

TP_MUST_USE static tp_status walk_dir(struct walk *w, const char *root, const char *sub)
{
	char *dir = sub[0] ? join(root, sub) : tp_strdup(root);
	DIR *d;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;
	tp_status rc = TP_OK;
	const char *suffix = w->o->mask_suffix ? w->o->mask_suffix : "_mask";
	if (!dir)
		return tp_err(TP_ENOMEM, "out of memory listing inputs");
	d = opendir(dir);
	if (!d) {
		rc = tp_err(TP_EIO, "%s: cannot list: %s", dir, strerror(errno));
		tp_free(dir);
		return rc;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			char **v = tp_realloc(names, (cap = cap ? cap * 2 : 64) * sizeof *v);
			if (!v) {
				rc = tp_err(TP_ENOMEM, "out of memory listing inputs");
				goto out;
			}
			names = v;
		}
		if (!(names[n] = tp_strdup(de->d_name))) {
			rc = tp_err(TP_ENOMEM, "out of memory listing inputs");
			goto out;
		}
		n++;
	}
	if (n > 1)
		qsort(names, n, sizeof *names, cmp_str);
	for (size_t i = 0; i < n && rc == TP_OK; i++) {
		char *path = join(dir, names[i]);
		char *rel = sub[0] ? join(sub, names[i]) : tp_strdup(names[i]);
		struct stat st;
		char *pc;
		if (!path || !rel) {
			tp_free(path);
			tp_free(rel);
			rc = tp_err(TP_ENOMEM, "out of memory listing inputs");
			break;
		}
		pc = canon(path);
		if (stat(path, &st) != 0 || is_inside(pc, w->out_canon) || is_inside(pc, w->masks_canon)) {
			/* vanished, or our own output / the masks: not an input */
		} else if (S_ISDIR(st.st_mode)) {
			if (w->o->recurse)
				rc = walk_dir(w, root, rel);
		} else if (S_ISREG(st.st_mode) && discover_is_image_name(names[i]) &&
			   !ends_with_mask_suffix(names[i], suffix)) {
			/* a file named like a mask is one, whichever way masks are found */
			rc = add_item(w->items, w->o, path, rel);
		}
		tp_free(pc);
		tp_free(path);
		tp_free(rel);
	}
out:
	for (size_t i = 0; i < n; i++)
		tp_free(names[i]);
	tp_free(names);
	closedir(d);
	tp_free(dir);
	return rc;
}

static int cmp_item(const void *a, const void *b)
{
	const struct tp_item *x = a, *y = b;
	int c = strcmp(x->output, y->output);
	return c ? c : strcmp(x->input, y->input);
}

tp_status discover(const struct tp_opts *o, char **args, int nargs, struct tp_items *out)
{
	struct walk w = { o, out, NULL, NULL };
	tp_status rc = TP_OK;
	memset(out, 0, sizeof *out);
	w.out_canon = o->out_dir ? canon(o->out_dir) : NULL;
	w.masks_canon = o->masks_dir ? canon(o->masks_dir) : NULL;
	for (int i = 0; i < nargs && rc == TP_OK; i++) {
		struct stat st;
		if (stat(args[i], &st) != 0) {
			rc = tp_err(errno == ENOENT ? TP_ENOENT : TP_EIO, "%s: %s", args[i], strerror(errno));
		} else if (S_ISDIR(st.st_mode)) {
			rc = walk_dir(&w, args[i], "");
		} else {
			const char *slash = strrchr(args[i], '/');
			rc = add_item(out, o, args[i], slash ? slash + 1 : args[i]);
		}
	}
	tp_free(w.out_canon);
	tp_free(w.masks_canon);
	if (rc != TP_OK)
		return rc;
	if (out->n > 1)
		qsort(out->v, out->n, sizeof *out->v, cmp_item);
	/* two inputs that would write one output: the later ones are refused */
	for (size_t i = 1; i < out->n; i++) {
		if (strcmp(out->v[i].output, out->v[i - 1].output) == 0 && !out->v[i].problem) {
			char msg[PATH_MAX * 2 + 64];
			snprintf(msg, sizeof msg, "output %s is also the output of %s", out->v[i].output,
				 out->v[i - 1].input);
			out->v[i].problem = tp_strdup(msg);
		}
	}
	return TP_OK;
}

void discover_free(struct tp_items *items)
{
	for (size_t i = 0; i < items->n; i++) {
		tp_free(items->v[i].input);
		tp_free(items->v[i].rel);
		tp_free(items->v[i].output);
		tp_free(items->v[i].mask);
		tp_free(items->v[i].problem);
	}
	tp_free(items->v);
	memset(items, 0, sizeof *items);
}

tp_status make_parent_dirs(const char *path)
{
	char buf[PATH_MAX];
	snprintf(buf, sizeof buf, "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0777) != 0) {
			struct stat st;
			int e = errno;
			if (e != EEXIST || stat(buf, &st) != 0 || !S_ISDIR(st.st_mode)) {
				tp_status rc = tp_err(TP_ECREATE, "%s: cannot create directory: %s", buf,
						      strerror(e == EEXIST ? ENOTDIR : e));
				*p = '/';
				return rc;
			}
		}
		*p = '/';
	}
	return TP_OK;
}
