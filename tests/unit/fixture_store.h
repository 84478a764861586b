/*
 * fixture_store.h - test helpers for the job store (store/): a fresh
 * directory per test with the path of a store file in it (cmocka setup and
 * teardown), and opening a store that must open. Its object
 * (fixture_store.o) is linked only into the unit tests that link store/.
 */
#ifndef TP_TEST_FIXTURE_STORE_H
#define TP_TEST_FIXTURE_STORE_H

#include "store/store.h"

/* What fx_store_setup leaves in *state: a new empty directory and
 * "<dir>/t.db" (no file there yet). */
struct fx_store_dir {
	char *dir;
	char *db;
};
int fx_store_setup(void **state);
int fx_store_teardown(void **state);   /* removes the directory and all in it */

/* store_open(path) read-write; it must succeed (the message is printed if not). */
struct store *fx_store_open(const char *path);

#endif
