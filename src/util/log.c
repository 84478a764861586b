/*
 * log.c - one-line messages on stderr, and the clock and hash helpers.
 * Lines are written under stdio's lock on stderr (flockfile) so lines from
 * worker threads never interleave. log.c also owns the status line (the
 * progress bar on a terminal): a message first erases it, so every line
 * starts at column 0, and then draws it again below the message.
 */
#define _POSIX_C_SOURCE 200809L
#include "tp.h"

#include <stdarg.h>
#include <time.h>

static enum tp_log_level log_level = TP_LOG_INFO;
/* The status line as last drawn ("" when none is on screen); guarded by
 * stderr's lock. */
static char status_line[1024];

void tp_log_set_level(enum tp_log_level level)
{
	log_level = level;
}

enum tp_log_level tp_log_get_level(void)
{
	return log_level;
}

void tp_log(enum tp_log_level level, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	if (level > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	flockfile(stderr);
	if (status_line[0])
		fputs("\r\033[K", stderr);
	fprintf(stderr, "tilepaint: %s%s\n",
		level == TP_LOG_ERROR ? "error: " : level == TP_LOG_WARN ? "warning: " : "",
		line);
	if (status_line[0])
		fputs(status_line, stderr);
	fflush(stderr);
	funlockfile(stderr);
}

void tp_log_status(const char *line)
{
	flockfile(stderr);
	if (line && line[0]) {
		snprintf(status_line, sizeof status_line, "%s", line);
		fprintf(stderr, "\r\033[K%s", status_line);
	} else if (status_line[0]) {
		status_line[0] = '\0';
		fputs("\r\033[K", stderr);
	}
	fflush(stderr);
	funlockfile(stderr);
}

double tp_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int64_t tp_wall_s(void)
{
	return (int64_t)time(NULL);
}

uint64_t tp_hash(uint64_t h, const void *data, size_t n)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

uint64_t tp_hash_str(uint64_t h, const char *s)
{
	/* include the terminator so ("ab","c") and ("a","bc") differ */
	for (;; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
		if (!*s)
			return h;
	}
}

uint64_t tp_hash_u64(uint64_t h, uint64_t v)
{
	unsigned char b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	return tp_hash(h, b, 8);
}
