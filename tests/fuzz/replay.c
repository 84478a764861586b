/*
 * replay.c - main for the fuzz targets when built without libFuzzer (gcc, and
 * make check): feed each FILE, or every file in each DIRECTORY, to the target
 * once, then print "N inputs: A accepted, R refused, S skipped".
 *
 * Exit 1 when a file named ok-* was not accepted or one named bad-* was not
 * refused (the corpus says what each seed must come to); -v prints each
 * file's outcome and, for refusals, the message. A crash is a crash.
 */
#include "fuzz.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static int verbose, bad_expect;
static unsigned long n_in, n_ok, n_refused, n_skipped;

static void replay_file(const char *path)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0;
	if (!f) {
		fprintf(stderr, "replay: %s: cannot open\n", path);
		bad_expect = 1;
		return;
	}
	for (;;) {
		size_t got;
		if (len == cap) {
			uint8_t *b = realloc(buf, cap = cap ? cap * 2 : 65536);
			if (!b)
				break;
			buf = b;
		}
		got = fread(buf + len, 1, cap - len, f);
		if (!got)
			break;
		len += got;
	}
	fclose(f);
	(void)LLVMFuzzerTestOneInput(buf ? buf : (const uint8_t *)"", len);
	free(buf);
	n_in++;
	switch (fuzz_outcome) {
	case FUZZ_ACCEPTED: n_ok++; break;
	case FUZZ_REFUSED: n_refused++; break;
	case FUZZ_SKIPPED: n_skipped++; break;
	}
	if (verbose)
		printf("%s: %s%s%s\n", path,
		       fuzz_outcome == FUZZ_ACCEPTED ? "accepted" :
		       fuzz_outcome == FUZZ_REFUSED ? "refused: " : "skipped",
		       fuzz_outcome == FUZZ_REFUSED ? tp_errmsg() : "", "");
	if ((!strncmp(base, "ok-", 3) && fuzz_outcome != FUZZ_ACCEPTED) ||
	    (!strncmp(base, "bad-", 4) && fuzz_outcome != FUZZ_REFUSED)) {
		fprintf(stderr, "replay: %s: expected %s, got %s (%s)\n", path,
			base[0] == 'o' ? "accepted" : "refused",
			fuzz_outcome == FUZZ_ACCEPTED ? "accepted" :
			fuzz_outcome == FUZZ_REFUSED ? "refused" : "skipped",
			fuzz_outcome == FUZZ_REFUSED ? tp_errmsg() : "-");
		bad_expect = 1;
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void replay_path(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;
	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
		replay_file(path);
		return;
	}
	if (!(d = opendir(path)))
		return;
	while ((de = readdir(d)) != NULL) {
		char **v;
		if (de->d_name[0] == '.')
			continue;
		if (!(v = realloc(names, (n + 1) * sizeof *v)))
			break;
		names = v;
		if ((names[n] = malloc(strlen(path) + strlen(de->d_name) + 2)) == NULL)
			break;
		sprintf(names[n++], "%s/%s", path, de->d_name);
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof *names, cmp_str);
	for (size_t i = 0; i < n; i++) {
		replay_path(names[i]);
		free(names[i]);
	}
	free(names);
}

int main(int argc, char **argv)
{
	int i = 1;
	if (i < argc && !strcmp(argv[i], "-v"))
		verbose = 1, i++;
	for (; i < argc; i++)
		replay_path(argv[i]);
	printf("%lu inputs: %lu accepted, %lu refused, %lu skipped\n", n_in, n_ok, n_refused,
	       n_skipped);
	return bad_expect;
}
