/*
 * store_int.h - declarations private to store/ and its unit test; nothing
 * outside store/ and tests/unit/test_store.c includes this.
 */
#ifndef STORE_INT_H
#define STORE_INT_H

#include "store.h"

/* Change the busy timeout (ms) of one connection; store_open sets 30000.
 * Tests use a short one to see a persistent lock become TP_EBUSY quickly. */
void store_busy_timeout_set(struct store *s, int ms);

#endif
