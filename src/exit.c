/*
 * exit.c - the one table from statuses to exit codes (see exit.h).
 */
#include "exit.h"

/* The codes, from least to most serious: when several outcomes apply to a
 * run, the latest in this list is returned. */
static const struct code_row {
	int code;
	const char *name, *meaning;
} codes[] = {
	{ TP_EXIT_OK,        "OK",        "all done (also: nothing to do)" },
	{ TP_EXIT_USAGE,     "USAGE",     "bad options or arguments; nothing was done" },
	{ TP_EXIT_DATAERR,   "DATAERR",   "some inputs failed (each printed, and failed in the store)" },
	{ TP_EXIT_NOINPUT,   "NOINPUT",   "an input, mask or store does not exist" },
	{ TP_EXIT_TEMPFAIL,  "TEMPFAIL",  "stopped with work left, store busy or lease lost: run again" },
	{ TP_EXIT_CANTCREAT, "CANTCREAT", "an output directory or file cannot be created" },
	{ TP_EXIT_IOERR,     "IOERR",     "an I/O error while writing (a full disk)" },
	{ TP_EXIT_CONFIG,    "CONFIG",    "the model, engine or store is unusable" },
	{ TP_EXIT_SOFTWARE,  "SOFTWARE",  "internal error (or out of memory)" },
};
#define NCODES (sizeof codes / sizeof codes[0])

/* `whole`: the command as a whole failed with this status; `image`: one
 * image of a batch did (its input is what was wrong, so usage and missing
 * files there are data errors); `store`: opening the job store did (a file
 * that is no tilepaint store is a configuration error). */
static const struct status_row {
	tp_status status;
	int whole, image, store;
} statuses[] = {
	{ TP_OK,        TP_EXIT_OK,        TP_EXIT_OK,        TP_EXIT_OK },
	{ TP_EUSAGE,    TP_EXIT_USAGE,     TP_EXIT_DATAERR,   TP_EXIT_USAGE },
	{ TP_EFORMAT,   TP_EXIT_DATAERR,   TP_EXIT_DATAERR,   TP_EXIT_CONFIG },
	{ TP_ENOENT,    TP_EXIT_NOINPUT,   TP_EXIT_DATAERR,   TP_EXIT_NOINPUT },
	{ TP_ECREATE,   TP_EXIT_CANTCREAT, TP_EXIT_CANTCREAT, TP_EXIT_CANTCREAT },
	{ TP_EIO,       TP_EXIT_IOERR,     TP_EXIT_IOERR,     TP_EXIT_IOERR },
	{ TP_EBUSY,     TP_EXIT_TEMPFAIL,  TP_EXIT_TEMPFAIL,  TP_EXIT_TEMPFAIL },
	{ TP_ECANCELED, TP_EXIT_TEMPFAIL,  TP_EXIT_TEMPFAIL,  TP_EXIT_TEMPFAIL },
	{ TP_ELEASE,    TP_EXIT_TEMPFAIL,  TP_EXIT_TEMPFAIL,  TP_EXIT_TEMPFAIL },
	{ TP_EMODEL,    TP_EXIT_CONFIG,    TP_EXIT_CONFIG,    TP_EXIT_CONFIG },
	{ TP_ENOMEM,    TP_EXIT_SOFTWARE,  TP_EXIT_SOFTWARE,  TP_EXIT_SOFTWARE },
	{ TP_EINTERNAL, TP_EXIT_SOFTWARE,  TP_EXIT_SOFTWARE,  TP_EXIT_SOFTWARE },
};
#define NSTATUSES (sizeof statuses / sizeof statuses[0])

static const struct status_row *status_row(tp_status s)
{
	for (size_t i = 0; i < NSTATUSES; i++)
		if (statuses[i].status == s)
			return &statuses[i];
	return &statuses[NSTATUSES - 1];   /* unknown: internal */
}

int tp_exit_code(tp_status s) { return status_row(s)->whole; }
int tp_job_exit_code(tp_status s) { return status_row(s)->image; }
int tp_store_exit_code(tp_status s) { return status_row(s)->store; }

static size_t rank(int code)
{
	for (size_t i = 0; i < NCODES; i++)
		if (codes[i].code == code)
			return i;
	return NCODES;   /* unknown codes win: they are never expected */
}

int tp_exit_worse(int a, int b)
{
	return rank(b) > rank(a) ? b : a;
}

static const char *code_name(int code)
{
	size_t i = rank(code);
	return i < NCODES ? codes[i].name : "?";
}

void tp_exit_print(FILE *f)
{
	fprintf(f, "exit codes, from least to most serious (the most serious outcome wins):\n");
	for (size_t i = 0; i < NCODES; i++)
		fprintf(f, "  %2d  %-9s  %s\n", codes[i].code, codes[i].name, codes[i].meaning);
	fprintf(f, "\nstatus      a command      an image       opening the store\n");
	for (size_t i = 0; i < NSTATUSES; i++)
		fprintf(f, "%-10s  %2d %-9s   %2d %-9s   %2d %s\n", tp_status_name(statuses[i].status),
			statuses[i].whole, code_name(statuses[i].whole), statuses[i].image,
			code_name(statuses[i].image), statuses[i].store, code_name(statuses[i].store));
}
