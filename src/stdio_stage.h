/*
 * stdio_stage.h - `-` for `tilepaint inpaint`: stdin staged into a private
 * temporary directory (the readers want a file they can seek), and an output
 * written there and copied to stdout only once it is complete, so a failure
 * leaves stdout empty.
 */
#ifndef TP_STDIO_STAGE_H
#define TP_STDIO_STAGE_H

#include "util/tp.h"

#include <limits.h>

/* The most bytes read from stdin (4 GiB): give a larger image as a file. */
#define TP_STDIN_MAX ((uint64_t)4 << 30)

struct tp_stdio_stage {
	char dir[PATH_MAX - 64]; /* "" until something is staged */
	char in[PATH_MAX];       /* DIR/stdin once read */
	char out[PATH_MAX];      /* DIR/stdout.EXT once chosen */
};

/* Copy stdin (not a terminal, at most TP_STDIN_MAX bytes) to s->in. */
TP_MUST_USE tp_status tp_stdio_stage_in(struct tp_stdio_stage *s);
/* Choose s->out: the format of the image `input` (by its content; PNG when
 * it is none), so stdout gets the input's format. TP_EUSAGE when stdout is
 * a terminal. */
TP_MUST_USE tp_status tp_stdio_stage_out(struct tp_stdio_stage *s, const char *input);
/* Copy the finished s->out to stdout. */
TP_MUST_USE tp_status tp_stdio_stage_emit(const struct tp_stdio_stage *s);
/* A message with the staged paths said as the user gave them ("stdin",
 * "stdout"), into buf. */
void tp_stdio_stage_names(const struct tp_stdio_stage *s, const char *msg, char *buf, size_t n);
/* Remove what was staged (accepts a stage with nothing in it). */
void tp_stdio_stage_free(struct tp_stdio_stage *s);

#endif
