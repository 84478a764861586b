/*
 * fixture_store.c - a fresh store directory per test and a store open that
 * must succeed (see fixture_store.h). Linked only by tests that link store/.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "fixture_store.h"

int fx_store_setup(void **state)
{
	struct fx_store_dir *f = calloc(1, sizeof *f);
	size_t n;
	if (!f || !(f->dir = fx_tmpdir_new())) {
		free(f);
		return -1;
	}
	n = strlen(f->dir) + sizeof "/t.db";
	f->db = malloc(n);
	if (!f->db) {
		fx_tmpdir_remove(f->dir);
		free(f);
		return -1;
	}
	snprintf(f->db, n, "%s/t.db", f->dir);
	*state = f;
	return 0;
}

int fx_store_teardown(void **state)
{
	struct fx_store_dir *f = *state;
	int r = fx_tmpdir_remove(f->dir);
	free(f->db);
	free(f);
	return r;
}

struct store *fx_store_open(const char *path)
{
	struct store *s = NULL;
	tp_status r = store_open(path, 0, &s);
	if (r != TP_OK)
		fprintf(stderr, "store_open: %s\n", tp_errmsg());
	assert_int_equal(r, TP_OK);
	assert_non_null(s);
	return s;
}
