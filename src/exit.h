/*
 * exit.h - the one table from a status to what the program exits with
 * (sysexits.h values). Every command maps through it; `tilepaint
 * --exit-codes` prints it, and `make lint` checks the man page's EXIT
 * STATUS section lists the same codes in the same order of severity.
 */
#ifndef TP_EXIT_H
#define TP_EXIT_H

#include <stdio.h>

#include "util/tp.h"

enum {
	TP_EXIT_OK = 0, TP_EXIT_USAGE = 64, TP_EXIT_DATAERR = 65, TP_EXIT_NOINPUT = 66,
	TP_EXIT_SOFTWARE = 70, TP_EXIT_CANTCREAT = 73, TP_EXIT_IOERR = 74,
	TP_EXIT_TEMPFAIL = 75, TP_EXIT_CONFIG = 78
};

/* The command as a whole failed with s. */
int tp_exit_code(tp_status s);
/* One image of a batch failed with s (its input is what was wrong; the batch goes on). */
int tp_job_exit_code(tp_status s);
/* Opening the job store failed with s. */
int tp_store_exit_code(tp_status s);
/* The more serious of two exit codes (the order the man page gives). */
int tp_exit_worse(int a, int b);
/* The table for people: each code with its meaning, then each status with
 * its three codes (tilepaint --exit-codes). */
void tp_exit_print(FILE *f);

#endif
