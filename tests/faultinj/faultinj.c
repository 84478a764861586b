/*
 * faultinj.c - an LD_PRELOAD shim that fails the n-th call of one kind of
 * system call (or allocation) with a chosen errno, and counts every call, so
 * an end-to-end test can loop n over a whole run (tests/e2e/17-fault-injection.sh).
 *
 *   FAULT_OP=write|fsync|rename|open|malloc   the kind of call to fail
 *   FAULT_N=7                 fail the 7th call of that kind (1-based, from process start)
 *   FAULT_ERRNO=ENOSPC        with this errno (EIO ENOSPC ENOMEM EACCES EROFS EDQUOT EMFILE,
 *                             or a number); default EIO
 *   FAULT_PATH=SUBSTR         count (and fail) only calls whose path contains SUBSTR
 *                             (for write and fsync: the path the descriptor is open on)
 *   FAULT_STICKY=1            fail every call from the n-th on (a disk that stays full)
 *   FAULT_COUNT=FILE          at exit, write "OP CALLS" per kind and "fired OP N" when
 *                             a call was failed, to FILE
 *   FAULT_TRACE=FILE          append "OP N PATH" for every counted call (not malloc) to
 *                             FILE, to learn which call a number is
 *
 * The kinds: write = write, pwrite, pwrite64, and fwrite on streams open for
 * writing; fsync = fsync, fdatasync; rename = rename, renameat; open = open,
 * open64, openat, openat64 (and their _FORTIFY_SOURCE __*_2 forms), fopen,
 * fopen64; malloc = malloc, calloc, realloc. Descriptors 0-2 are neither
 * counted nor failed (the diagnostics must get out).
 *
 * Why fwrite is rerouted: glibc's stdio writes with its internal __write,
 * which no preloaded library can interpose, so libpng's and libjpeg's output
 * would never see a fault. fwrite on a writable stream therefore flushes the
 * stream and writes the caller's bytes with write(2) through this shim; the
 * bytes on disk are the same, only the syscall pattern changes. A failed one
 * sets the stream's error flag, as a failed stdio write would.
 *
 * Allocations go to glibc's __libc_malloc family (no dlsym, which itself
 * allocates). Built with -DFAULTINJ_NO_MALLOC for sanitizer builds: ASan
 * owns malloc there and must keep it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

enum op { OP_WRITE, OP_FSYNC, OP_RENAME, OP_OPEN, OP_MALLOC, OP_COUNT };
static const char *const op_names[OP_COUNT] = { "write", "fsync", "rename", "open", "malloc" };

/* 0: not yet read from the environment, 1: being read, 2: ready */
static int cfg_state;
static int cfg_op = -1;
static long cfg_n;
static int cfg_errno = EIO;
static int cfg_sticky;
static const char *cfg_path;
static const char *cfg_count;
static int cfg_trace = -1;   /* FAULT_TRACE descriptor */

static long calls[OP_COUNT];
static long fired_at;   /* the call number that was failed first, 0: none yet */

static int parse_errno(const char *s)
{
	static const struct { const char *name; int value; } names[] = {
		{ "EIO", EIO }, { "ENOSPC", ENOSPC }, { "ENOMEM", ENOMEM },
		{ "EACCES", EACCES }, { "EROFS", EROFS }, { "EDQUOT", EDQUOT },
		{ "EMFILE", EMFILE }, { "EPERM", EPERM }, { "EINTR", EINTR },
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(s, names[i].name) == 0)
			return names[i].value;
	return atoi(s) > 0 ? atoi(s) : EIO;
}

/* Read the settings once. getenv, strcmp and atoi do not allocate. */
static void config(void)
{
	const char *v;
	if (__atomic_load_n(&cfg_state, __ATOMIC_ACQUIRE) == 2)
		return;
	{
		int expect = 0;
		if (!__atomic_compare_exchange_n(&cfg_state, &expect, 1, 0, __ATOMIC_ACQ_REL,
						 __ATOMIC_ACQUIRE)) {
			while (__atomic_load_n(&cfg_state, __ATOMIC_ACQUIRE) != 2)
				;
			return;
		}
	}
	if ((v = getenv("FAULT_OP")) != NULL)
		for (int i = 0; i < OP_COUNT; i++)
			if (strcmp(v, op_names[i]) == 0)
				cfg_op = i;
	if ((v = getenv("FAULT_N")) != NULL)
		cfg_n = atol(v);
	if ((v = getenv("FAULT_ERRNO")) != NULL)
		cfg_errno = parse_errno(v);
	if ((v = getenv("FAULT_STICKY")) != NULL)
		cfg_sticky = atoi(v) != 0;
	if ((v = getenv("FAULT_PATH")) != NULL && *v)
		cfg_path = v;
	if ((v = getenv("FAULT_COUNT")) != NULL && *v)
		cfg_count = v;
	if ((v = getenv("FAULT_TRACE")) != NULL && *v)
		cfg_trace = (int)syscall(SYS_openat, AT_FDCWD, v,
					 O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	__atomic_store_n(&cfg_state, 2, __ATOMIC_RELEASE);
}

static int path_matches(const char *path)
{
	return !cfg_path || (path && strstr(path, cfg_path));
}

static __thread char fd_target[4096];

/* The path descriptor fd is open on, in fd_target (only when needed). */
static const char *fd_path(int fd)
{
	char link[64];
	ssize_t n;
	config();
	if (!cfg_path && cfg_trace < 0)
		return "";
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	n = readlink(link, fd_target, sizeof fd_target - 1);
	fd_target[n < 0 ? 0 : n] = '\0';
	return fd_target;
}

static void trace(enum op op, long n, const char *path, const char *path2)
{
	char line[8400];
	int len = snprintf(line, sizeof line, "%s %ld %s%s%s\n", op_names[op], n, path ? path : "?",
			   path2 ? " " : "", path2 ? path2 : "");
	if (len > 0 && (size_t)len < sizeof line)
		(void)!syscall(SYS_write, cfg_trace, line, (size_t)len);
}

/*
 * Count a call of kind `op` on `path` (and `path2`, a rename's target; both
 * may be NULL) when it matches FAULT_PATH, and say whether it is to fail.
 * On 1 errno is already set to FAULT_ERRNO.
 */
static int hit2(enum op op, const char *path, const char *path2)
{
	long n;
	config();
	if (cfg_path && op != OP_MALLOC && !path_matches(path) && !path_matches(path2))
		return 0;
	n = __atomic_add_fetch(&calls[op], 1, __ATOMIC_RELAXED);
	if (cfg_trace >= 0 && op != OP_MALLOC)
		trace(op, n, path, path2);
	if ((int)op != cfg_op || cfg_n <= 0)
		return 0;
	if (n == cfg_n || (cfg_sticky && n > cfg_n)) {
		long zero = 0;
		__atomic_compare_exchange_n(&fired_at, &zero, n, 0, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED);
		errno = cfg_errno;
		return 1;
	}
	return 0;
}

static int hit(enum op op, const char *path)
{
	return hit2(op, path, NULL);
}

#define REAL(type, name, args)                                                  \
	static type(*real_##name) args;                                         \
	static type(*get_##name(void)) args                                     \
	{                                                                       \
		if (!real_##name)                                               \
			*(void **)&real_##name = dlsym(RTLD_NEXT, #name);       \
		return real_##name;                                             \
	}

REAL(ssize_t, write, (int, const void *, size_t))
REAL(ssize_t, pwrite, (int, const void *, size_t, off_t))
REAL(ssize_t, pwrite64, (int, const void *, size_t, off_t))
REAL(int, fsync, (int))
REAL(int, fdatasync, (int))
REAL(int, rename, (const char *, const char *))
REAL(int, renameat, (int, const char *, int, const char *))
REAL(int, open, (const char *, int, ...))
REAL(int, open64, (const char *, int, ...))
REAL(int, openat, (int, const char *, int, ...))
REAL(int, openat64, (int, const char *, int, ...))
REAL(int, __open_2, (const char *, int))
REAL(int, __open64_2, (const char *, int))
REAL(int, __openat_2, (int, const char *, int))
REAL(int, __openat64_2, (int, const char *, int))
REAL(FILE *, fopen, (const char *, const char *))
REAL(FILE *, fopen64, (const char *, const char *))
REAL(size_t, fwrite, (const void *, size_t, size_t, FILE *))

/* ---- write -------------------------------------------------------------- */

ssize_t write(int fd, const void *buf, size_t n)
{
	if (fd > 2 && hit(OP_WRITE, fd_path(fd)))
		return -1;
	return get_write()(fd, buf, n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	if (fd > 2 && hit(OP_WRITE, fd_path(fd)))
		return -1;
	return get_pwrite()(fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
	if (fd > 2 && hit(OP_WRITE, fd_path(fd)))
		return -1;
	return get_pwrite64()(fd, buf, n, off);
}

/* glibc's libio flag bits (stable ABI; _IO_ERR_SEEN is in <bits/types/struct_FILE.h>) */
#ifndef _IO_NO_WRITES
#define _IO_NO_WRITES 0x0008
#endif
#ifndef _IO_ERR_SEEN
#define _IO_ERR_SEEN 0x0020
#endif

size_t fwrite(const void *ptr, size_t size, size_t nmemb, FILE *f)
{
	const char *p = ptr;
	size_t total, done = 0;
	int fd = fileno(f);
	if (fd <= 2 || (f->_flags & _IO_NO_WRITES) || size == 0 || nmemb == 0 ||
	    __builtin_mul_overflow(size, nmemb, &total))
		return get_fwrite()(ptr, size, nmemb, f);
	if (fflush(f) != 0)
		return 0;
	while (done < total) {
		ssize_t k = write(fd, p + done, total - done);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			f->_flags |= _IO_ERR_SEEN;
			break;
		}
		done += (size_t)k;
	}
	f->_offset = -1;   /* the stream's idea of its position is stale now */
	return done / size;
}

/* ---- fsync -------------------------------------------------------------- */

int fsync(int fd)
{
	if (fd > 2 && hit(OP_FSYNC, fd_path(fd)))
		return -1;
	return get_fsync()(fd);
}

int fdatasync(int fd)
{
	if (fd > 2 && hit(OP_FSYNC, fd_path(fd)))
		return -1;
	return get_fdatasync()(fd);
}

/* ---- rename ------------------------------------------------------------- */

int rename(const char *from, const char *to)
{
	if (hit2(OP_RENAME, from, to))
		return -1;
	return get_rename()(from, to);
}

int renameat(int dfrom, const char *from, int dto, const char *to)
{
	if (hit2(OP_RENAME, from, to))
		return -1;
	return get_renameat()(dfrom, from, dto, to);
}

/* ---- open --------------------------------------------------------------- */

static mode_t mode_arg(int flags, va_list ap)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? va_arg(ap, mode_t) : 0;
}

int open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;
	va_start(ap, flags);
	mode = mode_arg(flags, ap);
	va_end(ap);
	if (hit(OP_OPEN, path))
		return -1;
	return get_open()(path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;
	va_start(ap, flags);
	mode = mode_arg(flags, ap);
	va_end(ap);
	if (hit(OP_OPEN, path))
		return -1;
	return get_open64()(path, flags, mode);
}

int openat(int dir, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;
	va_start(ap, flags);
	mode = mode_arg(flags, ap);
	va_end(ap);
	if (hit(OP_OPEN, path))
		return -1;
	return get_openat()(dir, path, flags, mode);
}

int openat64(int dir, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;
	va_start(ap, flags);
	mode = mode_arg(flags, ap);
	va_end(ap);
	if (hit(OP_OPEN, path))
		return -1;
	return get_openat64()(dir, path, flags, mode);
}

int __open_2(const char *path, int flags)
{
	if (hit(OP_OPEN, path))
		return -1;
	return get___open_2()(path, flags);
}

int __open64_2(const char *path, int flags)
{
	if (hit(OP_OPEN, path))
		return -1;
	return get___open64_2()(path, flags);
}

int __openat_2(int dir, const char *path, int flags)
{
	if (hit(OP_OPEN, path))
		return -1;
	return get___openat_2()(dir, path, flags);
}

int __openat64_2(int dir, const char *path, int flags)
{
	if (hit(OP_OPEN, path))
		return -1;
	return get___openat64_2()(dir, path, flags);
}

FILE *fopen(const char *path, const char *mode)
{
	if (hit(OP_OPEN, path))
		return NULL;
	return get_fopen()(path, mode);
}

FILE *fopen64(const char *path, const char *mode)
{
	if (hit(OP_OPEN, path))
		return NULL;
	return get_fopen64()(path, mode);
}

/* ---- malloc ------------------------------------------------------------- */

#ifndef FAULTINJ_NO_MALLOC
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);

void *malloc(size_t n)
{
	if (hit(OP_MALLOC, NULL))
		return NULL;
	return __libc_malloc(n);
}

void *calloc(size_t count, size_t size)
{
	if (hit(OP_MALLOC, NULL))
		return NULL;
	return __libc_calloc(count, size);
}

void *realloc(void *p, size_t n)
{
	/* realloc(p, 0) frees: not an allocation that can fail */
	if ((n || !p) && hit(OP_MALLOC, NULL))
		return NULL;
	return __libc_realloc(p, n);
}
#endif

/* ---- the counts, at exit ------------------------------------------------ */

__attribute__((destructor)) static void write_counts(void)
{
	char buf[512];
	int len = 0, fd;
	config();
	if (!cfg_count)
		return;
	for (int i = 0; i < OP_COUNT; i++)
		len += snprintf(buf + len, sizeof buf - (size_t)len, "%s %ld\n", op_names[i],
				__atomic_load_n(&calls[i], __ATOMIC_RELAXED));
	if (fired_at)
		len += snprintf(buf + len, sizeof buf - (size_t)len, "fired %s %ld\n",
				op_names[cfg_op], fired_at);
	fd = get_open()(cfg_count, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (get_write()(fd, buf, (size_t)len) != len)
		(void)0;   /* the test then finds a short file and says so */
	close(fd);
}
