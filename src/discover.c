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

/* The strings an item owns. */
static void item_free(struct tp_item *x)
{
	tp_free(x->input);
	tp_free(x->rel);
	tp_free(x->output);
	tp_free(x->mask);
	tp_free(x->problem);
}

/*
 * Append the image `input` (named `rel` under -o). With `problem` set it is
 * refused for that reason (exit code from the table for `why`), and no mask
 * is looked for.
 */
TP_MUST_USE static tp_status add_item(struct tp_items *it, const struct tp_opts *o, const char *input,
			  const char *rel, tp_status why, const char *problem)
{
	struct tp_item x;
	char dir[PATH_MAX], stem[PATH_MAX];
	const char *slash, *dot, *base;
	memset(&x, 0, sizeof x);
	struct tp_item *v = tp_grow_array(it->v, &it->cap, it->n, sizeof *v, 64);
	if (!v)
		return tp_err(TP_ENOMEM, "out of memory listing inputs");
	it->v = v;
	x.input = tp_strdup(input);
	x.rel = tp_strdup(rel);
	x.output = join(o->out_dir ? o->out_dir : ".", rel);
	if (!x.input || !x.rel || !x.output)
		goto oom;
	x.why = TP_EFORMAT;
	if (problem) {
		x.why = why;
		if (!(x.problem = tp_strdup(problem)))
			goto oom;
		it->v[it->n++] = x;
		return TP_OK;
	}
	/* <rel dir> and <stem> */
	slash = strrchr(rel, '/');
	base = slash ? slash + 1 : rel;
	snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - rel) : 0, rel);
	dot = strrchr(base, '.');
	snprintf(stem, sizeof stem, "%.*s", dot ? (int)(dot - base) : (int)strlen(base), base);
	if (o->mask_file) {
		/* --mask nodata: the image is its own mask (job_mask.c reads it so) */
		x.mask = tp_strdup(o->mask_nodata ? input : o->mask_file);
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
	item_free(&x);
	return tp_err(TP_ENOMEM, "out of memory listing inputs");
}

/*
 * A set of file identities: directories entered, by (device, inode), and
 * images taken, by the (device, inode) of the image and of its mask, so that a
 * directory loop ends and a job reached by several paths (links, loops, the
 * same file named twice) is done once. Open addressing; never shrinks.
 */
struct id_set {
	struct file_key { dev_t dev, mdev; ino_t ino, mino; } *v;
	unsigned char *used;
	size_t n, cap;
};

static size_t id_hash(struct file_key k)
{
	uint64_t h = tp_hash_u64(tp_hash_u64(TP_HASH_INIT, (uint64_t)k.dev), (uint64_t)k.ino);
	h = tp_hash_u64(tp_hash_u64(h, (uint64_t)k.mdev), (uint64_t)k.mino);
	return (size_t)h;
}

/* Add the file of `st` (with its mask's `mst`, or NULL): 1 when new, 0 when
 * already there, -1 out of memory. */
static int id_set_add(struct id_set *s, const struct stat *st, const struct stat *mst)
{
	struct file_key k = { st->st_dev, mst ? mst->st_dev : 0, st->st_ino, mst ? mst->st_ino : 0 };
	size_t i;
	if (2 * (s->n + 1) > s->cap) {
		struct id_set t = { 0 };
		t.cap = s->cap ? s->cap * 2 : 256;
		t.v = tp_calloc(t.cap, sizeof *t.v);
		t.used = tp_calloc(t.cap, 1);
		if (!t.v || !t.used) {
			tp_free(t.v);
			tp_free(t.used);
			return -1;
		}
		for (size_t j = 0; j < s->cap; j++) {
			if (!s->used[j])
				continue;
			for (i = id_hash(s->v[j]) & (t.cap - 1); t.used[i]; i = (i + 1) & (t.cap - 1))
				;
			t.v[i] = s->v[j];
			t.used[i] = 1;
		}
		t.n = s->n;
		tp_free(s->v);
		tp_free(s->used);
		*s = t;
	}
	for (i = id_hash(k) & (s->cap - 1); s->used[i]; i = (i + 1) & (s->cap - 1))
		if (s->v[i].dev == k.dev && s->v[i].ino == k.ino && s->v[i].mdev == k.mdev &&
		    s->v[i].mino == k.mino)
			return 0;
	s->v[i] = k;
	s->used[i] = 1;
	s->n++;
	return 1;
}

static void id_set_free(struct id_set *s)
{
	tp_free(s->v);
	tp_free(s->used);
}

/* An entry found through a symbolic link, visited after every real path. */
struct deferred {
	const char *root;   /* the INPUT argument it was found under (borrowed) */
	char *rel;          /* its name relative to root */
};

struct walk {
	const struct tp_opts *o;
	struct tp_items *items;
	char *out_canon, *masks_canon;
	struct id_set dirs, images;
	struct deferred *links;   /* a queue: grows while it is worked through */
	size_t nlinks, caplinks;
};

/*
 * Take the image at `path` (stat `st`, following links), with its mask, once:
 * added, or dropped when the same image with the same mask was already taken
 * by another path (a hard link with a mask of its own is a job of its own).
 */
TP_MUST_USE static tp_status take_image(struct walk *w, const char *path, const char *rel,
					const struct stat *st)
{
	struct tp_item *x;
	struct stat mst;
	int fresh;
	tp_status rc = add_item(w->items, w->o, path, rel, TP_OK, NULL);
	if (rc != TP_OK)
		return rc;
	x = &w->items->v[w->items->n - 1];
	if (x->problem)   /* no mask: reported once per path, nothing to dedupe */
		return TP_OK;
	fresh = id_set_add(&w->images, st, x->mask && stat(x->mask, &mst) == 0 ? &mst : NULL);
	if (fresh < 0)
		return tp_err(TP_ENOMEM, "out of memory listing inputs");
	if (!fresh) {
		tp_log(TP_LOG_DEBUG, "%s: the same image and mask as an input already listed; "
		       "done once", path);
		item_free(x);
		w->items->n--;
	}
	return TP_OK;
}

/* Refuse `path`, an entry named like an image that is no regular file. */
TP_MUST_USE static tp_status refuse_special(struct walk *w, const char *path, const char *rel,
					    const struct stat *st)
{
	char msg[64];
	snprintf(msg, sizeof msg, "not a regular file (%s)", tp_file_kind(st->st_mode));
	return add_item(w->items, w->o, path, rel, TP_EFORMAT, msg);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

TP_MUST_USE static tp_status walk_dir(struct walk *w, const char *root, const char *sub,
				      const struct stat *dst);

/*
 * One directory entry, `root`/`rel` (`name` its last part). An entry that is a
 * symbolic link is, when `may_defer`, queued to be visited after everything
 * reached by real paths, so that an image (or directory) reachable both ways
 * is taken by its real path whatever the names sort to.
 */
TP_MUST_USE static tp_status visit_entry(struct walk *w, const char *root, const char *rel,
					 const char *name, int may_defer)
{
	const char *suffix = w->o->mask_suffix ? w->o->mask_suffix : "_mask";
	int image = discover_is_image_name(name) && !ends_with_mask_suffix(name, suffix);
	char *path = join(root, rel);
	char *pc = NULL;
	struct stat st;
	tp_status rc = TP_OK;
	if (!path)
		return tp_err(TP_ENOMEM, "out of memory listing inputs");
	if (may_defer && lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
		struct deferred *v = tp_grow_array(w->links, &w->caplinks, w->nlinks, sizeof *v, 16);
		if (!v) {
			tp_free(path);
			return tp_err(TP_ENOMEM, "out of memory listing inputs");
		}
		w->links = v;
		w->links[w->nlinks].root = root;
		if (!(w->links[w->nlinks].rel = tp_strdup(rel)))
			rc = tp_err(TP_ENOMEM, "out of memory listing inputs");
		else
			w->nlinks++;
		tp_free(path);
		return rc;
	}
	pc = canon(path);
	if (is_inside(pc, w->out_canon) || is_inside(pc, w->masks_canon)) {
		/* our own output / the masks: not an input */
	} else if (stat(path, &st) != 0) {
		/* vanished since listed: nothing to do; a dangling or looping link
		 * named like an image: say so */
		int e = errno;
		if (image && (e != ENOENT || lstat(path, &st) == 0)) {
			char msg[128];
			snprintf(msg, sizeof msg, "cannot open: %s", strerror(e));
			rc = add_item(w->items, w->o, path, rel, e == ENOENT ? TP_ENOENT : TP_EFORMAT,
				      msg);
		}
	} else if (S_ISDIR(st.st_mode) && w->o->recurse) {
		rc = walk_dir(w, root, rel, &st);
	} else if (!image) {
		/* not ours: other files, and masks beside their images (a file named
		 * like a mask is one, whichever way masks are found) */
	} else if (S_ISREG(st.st_mode)) {
		rc = take_image(w, path, rel, &st);
	} else {
		rc = refuse_special(w, path, rel, &st);
	}
	tp_free(pc);
	tp_free(path);
	return rc;
}

/*
 * List `root`/`sub` (its stat `dst`) into the plan, in name order. A
 * directory already entered (a loop, or a second path to it) is not entered
 * again; one that cannot be listed is reported and counted, and the walk goes
 * on.
 */
TP_MUST_USE static tp_status walk_dir(struct walk *w, const char *root, const char *sub,
				      const struct stat *dst)
{
	char *dir = sub[0] ? join(root, sub) : tp_strdup(root);
	DIR *d;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;
	tp_status rc = TP_OK;
	int fresh;
	if (!dir)
		return tp_err(TP_ENOMEM, "out of memory listing inputs");
	if ((fresh = id_set_add(&w->dirs, dst, NULL)) <= 0) {
		if (fresh < 0)
			rc = tp_err(TP_ENOMEM, "out of memory listing inputs");
		else
			tp_log(TP_LOG_DEBUG, "%s: directory already listed (a loop or a second "
			       "path to it); not entered again", dir);
		tp_free(dir);
		return rc;
	}
	d = opendir(dir);
	if (!d) {
		tp_error("%s: cannot list: %s", dir, strerror(errno));
		w->items->errors++;
		tp_free(dir);
		return TP_OK;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		char **v = tp_grow_array(names, &cap, n, sizeof *v, 64);
		if (!v) {
			rc = tp_err(TP_ENOMEM, "out of memory listing inputs");
			goto out;
		}
		names = v;
		if (!(names[n] = tp_strdup(de->d_name))) {
			rc = tp_err(TP_ENOMEM, "out of memory listing inputs");
			goto out;
		}
		n++;
	}
	if (n > 1)
		qsort(names, n, sizeof *names, cmp_str);
	for (size_t i = 0; i < n && rc == TP_OK; i++) {
		char *rel = sub[0] ? join(sub, names[i]) : tp_strdup(names[i]);
		rc = rel ? visit_entry(w, root, rel, names[i], 1)
			 : tp_err(TP_ENOMEM, "out of memory listing inputs");
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

/* --masks DIR must be a directory and --mask FILE a file, checked once
 * before any image: TP_ENOENT (one line), not a failure per image. */
TP_MUST_USE static tp_status check_mask_source(const struct tp_opts *o)
{
	const char *path = o->masks_dir ? o->masks_dir : o->mask_file;
	int want_dir = o->masks_dir != NULL;
	struct stat st;
	if (!path || o->mask_nodata)   /* --mask nodata: each image is its own mask */
		return TP_OK;
	if (stat(path, &st) != 0)
		return tp_err(TP_ENOENT, "%s: %s (%s)", path, errno == ENOENT || errno == ENOTDIR
			      ? want_dir ? "no such directory" : "no such file" : strerror(errno),
			      want_dir ? "--masks" : "--mask");
	if (want_dir && !S_ISDIR(st.st_mode))
		return tp_err(TP_ENOENT, "%s: not a directory (--masks)", path);
	if (!want_dir && S_ISDIR(st.st_mode))
		return tp_err(TP_ENOENT, "%s: is a directory, not a mask file (--mask; --masks "
			      "takes a directory)", path);
	return TP_OK;
}

tp_status discover(const struct tp_opts *o, char **args, int nargs, struct tp_items *out)
{
	struct walk w = { o, out, NULL, NULL, { 0 }, { 0 }, NULL, 0, 0 };
	tp_status rc = TP_OK;
	memset(out, 0, sizeof *out);
	if ((rc = check_mask_source(o)) != TP_OK)
		return rc;
	w.out_canon = o->out_dir ? canon(o->out_dir) : NULL;
	w.masks_canon = o->masks_dir ? canon(o->masks_dir) : NULL;
	for (int i = 0; i < nargs && rc == TP_OK; i++) {
		const char *slash = strrchr(args[i], '/');
		const char *base = slash && slash[1] ? slash + 1 : args[i];
		struct stat st;
		if (stat(args[i], &st) != 0) {
			/* missing, a dangling link, a link loop: that input fails, the
			 * others go on */
			char msg[128];
			int e = errno;
			snprintf(msg, sizeof msg, "%s", e == ENOENT || e == ENOTDIR ? "no such file"
							: strerror(e));
			rc = add_item(out, o, args[i], base, e == ENOENT || e == ENOTDIR ? TP_ENOENT
										  : TP_EFORMAT, msg);
		} else if (S_ISDIR(st.st_mode)) {
			rc = walk_dir(&w, args[i], "", &st);
		} else if (S_ISREG(st.st_mode)) {
			rc = take_image(&w, args[i], base, &st);
		} else {
			rc = refuse_special(&w, args[i], base, &st);
		}
	}
	/* then what was found through links, in the order found (the queue grows
	 * as linked directories are listed) */
	for (size_t i = 0; i < w.nlinks && rc == TP_OK; i++) {
		const char *slash = strrchr(w.links[i].rel, '/');
		rc = visit_entry(&w, w.links[i].root, w.links[i].rel,
				 slash ? slash + 1 : w.links[i].rel, 0);
	}
	for (size_t i = 0; i < w.nlinks; i++)
		tp_free(w.links[i].rel);
	tp_free(w.links);
	id_set_free(&w.dirs);
	id_set_free(&w.images);
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
	for (size_t i = 0; i < items->n; i++)
		item_free(&items->v[i]);
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
