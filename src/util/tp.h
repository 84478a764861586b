/*
 * tp.h - the few things every tilepaint module shares: status codes, the
 * per-thread error message, allocation (with fault injection for tests),
 * logging, a monotonic clock and a small hash.
 *
 * Invariant: a failing function sets the message once, at the point of
 * failure, with tp_err(); callers pass the status up without touching it.
 */
#ifndef TP_H
#define TP_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/types.h>

#define TP_VERSION "1.0.0"

/* Status of every fallible call. 0 is success. Mapped to sysexits in main.c. */
enum tp_status {
	TP_OK = 0,     /* success */
	TP_ENOMEM,     /* an allocation failed */
	TP_EIO,        /* a read, write, fsync or rename failed */
	TP_EFORMAT,    /* input data is malformed or of an unsupported kind */
	TP_EUSAGE,     /* the caller (user or code) asked for something invalid */
	TP_EMODEL,     /* a model file is missing, malformed or does not fit */
	TP_EBUSY,      /* the job store is locked or a lease is held elsewhere */
	TP_ECANCELED,  /* stopped on purpose (signal or --max-time) */
	TP_ENOENT,     /* an input file does not exist */
	TP_ECREATE,    /* an output file or directory cannot be created */
	TP_ELEASE,     /* another process took over the job this one was working on */
	TP_EINTERNAL   /* a bug: an invariant did not hold */
};
typedef enum tp_status tp_status;
/* On every function returning tp_status: a status dropped on the floor is a
 * compile error (-Werror), so each one is handled or visibly discarded. */
#define TP_MUST_USE __attribute__((warn_unused_result))

/* Short constant name of a status ("ENOMEM", ...). Never NULL. */
const char *tp_status_name(tp_status s);

/*
 * Set this thread's error message (printf format) and return `code`, so a
 * failure point reads `return tp_err(TP_EIO, "%s: %s", path, strerror(errno));`.
 * The message is truncated to 1023 bytes. Thread-safe (thread-local buffer).
 */
tp_status tp_err(tp_status code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Prefix the current message with "prefix: " (for context added by callers). */
void tp_err_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* This thread's last message; "" when none. Borrowed until the next tp_err. */
const char *tp_errmsg(void);
void tp_err_clear(void);

/*
 * Allocation. Every allocation in tilepaint goes through these so tests can
 * make the n-th call fail (tp_alloc_fail_at). They return NULL on failure
 * without setting a message; callers say what they were allocating.
 * tp_free(NULL) is a no-op. Thread-safe.
 */
void *tp_malloc(size_t n);
void *tp_calloc(size_t count, size_t size);
void *tp_realloc(void *p, size_t n);
/* Room for element n of the array v (n in use, *cap allocated, `elem` bytes
 * each), doubling from `first`: v itself while n < *cap, else the array
 * moved and *cap updated; NULL when out of memory, and then v and *cap are
 * as they were. */
void *tp_grow_array(void *v, size_t *cap, size_t n, size_t elem, size_t first);
char *tp_strdup(const char *s);
void tp_free(void *p);
/* A buffer of n bytes (contents unspecified) for big arrays a tile fills
 * once: mapped in huge pages where the kernel offers them. Free with
 * tp_free_large and the same n. */
void *tp_malloc_large(size_t n);
void tp_free_large(void *p, size_t n);
#define TP_FREE(p) do { tp_free(p); (p) = NULL; } while (0)
/* Make the n-th allocation from now on fail (n >= 0; -1 disables). Tests only. */
void tp_alloc_fail_at(long n);
/* Number of allocations since process start (for OOM-loop tests). */
long tp_alloc_count(void);
/* Bytes allocated through these functions and not freed; their high-water
 * mark since the last tp_alloc_peak_reset (which returns the old mark). */
size_t tp_alloc_live(void);
size_t tp_alloc_peak(void);
size_t tp_alloc_peak_reset(void);

/* "512M", "2G", "1.5" is not: a byte count with an optional K, M, G or T
 * (powers of 1024, optionally followed by "B" or "iB"); 0 on success, -1 when
 * malformed or zero. */
int tp_parse_size(const char *s, uint64_t *out);
/* The same for any count: digits with an optional K, M, G or T, powers of
 * `base` (1000 for pixels, 1024 for bytes); `bytes` also takes the "B" and
 * "iB" endings. */
int tp_parse_scaled(const char *s, uint64_t base, int bytes, uint64_t *out);
/* Memory the machine can give this process now (MemAvailable, or less under a
 * cgroup v2 memory.max), in bytes; 0 when unknown. */
uint64_t tp_mem_available(void);
/* Address space this process has mapped now (VmSize), in bytes; 0 when
 * unknown. What `ulimit -v` limits. */
uint64_t tp_mem_mapped(void);

/* size_t multiplication with overflow check: returns 0 and sets *out on success. */
int tp_mul_overflow(size_t a, size_t b, size_t *out);

/* Data-protecting invariant: always on, also in release builds. */
#define TP_ASSERT(c) do { if (!(c)) tp_assert_fail(#c, __FILE__, __LINE__); } while (0)
_Noreturn void tp_assert_fail(const char *expr, const char *file, int line);

/* ---- logging (stderr) ---- */
enum tp_log_level { TP_LOG_ERROR = 0, TP_LOG_WARN = 1, TP_LOG_INFO = 2, TP_LOG_DEBUG = 3 };
/* Messages above `level` are dropped. Default TP_LOG_INFO. */
void tp_log_set_level(enum tp_log_level level);
enum tp_log_level tp_log_get_level(void);
/* One line to stderr, prefixed "tilepaint: " (and "error: "/"warning: "). Thread-safe. */
void tp_log(enum tp_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The status line (a progress bar; the caller fits it to the terminal and
 * calls this only when stderr is one): drawn at the start of the current
 * line, erasing what was there, and drawn again after every tp_log line
 * (which erases it first, so messages start at column 0). NULL or "" erases
 * it. Thread-safe. */
void tp_log_status(const char *line);
#define tp_error(...) tp_log(TP_LOG_ERROR, __VA_ARGS__)
#define tp_warn(...)  tp_log(TP_LOG_WARN, __VA_ARGS__)
#define tp_info(...)  tp_log(TP_LOG_INFO, __VA_ARGS__)
#define tp_debug(...) tp_log(TP_LOG_DEBUG, __VA_ARGS__)

/* ---- byte masks, 8 bytes at a time (masks are mostly zero) ---- */
/* How many of p[0, n) are nonzero. */
size_t tp_count_nonzero(const uint8_t *p, size_t n);
/* First index >= i with p[index] != 0, or n when none (inline: it runs
 * once per masked pixel in the blend loops). */
static inline size_t tp_next_set(const uint8_t *p, size_t i, size_t n)
{
	if (i < n && p[i])
		return i;
	while (i < n && (i & 7)) {
		if (p[i])
			return i;
		i++;
	}
	for (; i + 8 <= n; i += 8) {
		uint64_t v;
		memcpy(&v, p + i, sizeof v);
		if (v)
			break;
	}
	for (; i < n; i++)
		if (p[i])
			return i;
	return n;
}
/* out[x] = (in[x] > t) ^ flip for x < n (flip 0 or 1). */
void tp_threshold(const uint8_t *in, uint8_t *out, size_t n, uint8_t t, uint8_t flip);
/* out[x] = (in[x] != 0) for x < n. */
void tp_to01(const uint8_t *in, uint8_t *out, size_t n);

/* ---- cancellation ---- */
/*
 * The signal that asked the process to stop (SIGINT, SIGTERM, SIGHUP), or 0.
 * Set by the handler the commands install; long loops everywhere (readers,
 * the band loop, engines inside one tile) poll it through tp_cancelled() and
 * return TP_ECANCELED, so a stop is honoured within a second at any stage.
 */
extern volatile sig_atomic_t tp_stop_signal;
static inline int tp_cancelled(void)
{
	return tp_stop_signal != 0;
}
/* Catch SIGINT, SIGTERM and SIGHUP into tp_stop_signal (a second one ends the
 * process at once) and ignore SIGPIPE. */
void tp_signals_install(void);
/* "45s", "3m07s", "2h05m": a duration in ms, rounded to the second, for people. */
void tp_format_duration(char *buf, size_t n, double ms);
/* Parse a duration ("90", "90s", "9m", "1h30m", "2d") into seconds; -1 on error. */
double tp_parse_duration(const char *s);

/* ---- files ---- */
struct stat;
/*
 * Open `path` to read, refusing anything but a regular file without
 * blocking on it (a FIFO with no writer, a device, a socket, a directory):
 * TP_EFORMAT "PATH: not a regular file (a FIFO)"; TP_ENOENT when missing,
 * TP_EIO otherwise. On success *fd is a blocking descriptor and *st (when
 * not NULL) its fstat.
 */
TP_MUST_USE tp_status tp_open_regular(const char *path, int *fd, struct stat *st);
/* "a FIFO", "a directory", ... for messages. */
const char *tp_file_kind(mode_t mode);

/* ---- clock ---- */
/* Monotonic milliseconds (fractional). */
double tp_now_ms(void);
/* Wall-clock seconds since the epoch. */
int64_t tp_wall_s(void);

/* ---- hashing (FNV-1a 64; stable across platforms, not cryptographic) ---- */
#define TP_HASH_INIT 0xcbf29ce484222325ULL
uint64_t tp_hash(uint64_t h, const void *data, size_t n);
uint64_t tp_hash_str(uint64_t h, const char *s);
uint64_t tp_hash_u64(uint64_t h, uint64_t v);

#endif
