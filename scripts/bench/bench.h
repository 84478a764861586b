/*
 * bench.h - what the C benchmarks under scripts/bench/ share: a clock and a
 * file's size. Header only: each benchmark is built as one file by its script.
 */
#ifndef TP_BENCH_H
#define TP_BENCH_H

#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

/* Milliseconds on `clock` (CLOCK_MONOTONIC for wall time,
 * CLOCK_PROCESS_CPUTIME_ID for the CPU time of all the process's threads). */
static inline double bench_ms(clockid_t clock)
{
	struct timespec t;
	clock_gettime(clock, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* Bytes in the file at path, -1 when it cannot be read. */
static inline long bench_file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

#endif
