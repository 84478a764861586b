/*
 * common.c - stage names, durations, file signatures, exit codes, signals and
 * the lazily opened engine shared by the commands.
 */
#include "core.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *tp_stage_name(enum tp_stage s)
{
	static const char *const names[TP_STAGE_COUNT] = {
		"decode", "mask", "plan", "model_load", "inference",
		"blend", "encode", "write", "store",
	};
	return (unsigned)s < TP_STAGE_COUNT ? names[s] : "unknown";
}

void tp_format_duration(char *buf, size_t n, double ms)
{
	long s = (long)(ms / 1000 + 0.5);
	if (s >= 3600)
		snprintf(buf, n, "%ldh%02ldm", s / 3600, s / 60 % 60);
	else if (s >= 60)
		snprintf(buf, n, "%ldm%02lds", s / 60, s % 60);
	else
		snprintf(buf, n, "%lds", s);
}

double tp_parse_duration(const char *s)
{
	double total = 0;
	int any = 0;
	if (!s || !*s)
		return -1;
	while (*s) {
		char *e;
		double v;
		if (!isdigit((unsigned char)*s) && *s != '.')
			return -1;
		errno = 0;
		v = strtod(s, &e);
		if (errno || e == s || v < 0)
			return -1;
		switch (*e) {
		case '\0': total += v; s = e; break;
		case 's': total += v; s = e + 1; break;
		case 'm': total += v * 60; s = e + 1; break;
		case 'h': total += v * 3600; s = e + 1; break;
		case 'd': total += v * 86400; s = e + 1; break;
		default: return -1;
		}
		any = 1;
	}
	return any ? total : -1;
}

TP_MUST_USE static tp_status read_at(int fd, const char *path, void *buf, size_t n, off_t off)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = pread(fd, (char *)buf + got, n - got, off + (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return tp_err(TP_EIO, "%s: cannot read: %s", path, strerror(errno));
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return TP_OK;
}

tp_status tp_file_sig(const char *path, char *sig, size_t n, uint64_t *content_hash)
{
	enum { CHUNK = 64 * 1024 };
	struct stat st;
	unsigned char *buf = NULL;
	uint64_t h = TP_HASH_INIT;
	tp_status rc = TP_OK;
	int fd;
	if ((rc = tp_open_regular(path, &fd, &st)) != TP_OK)
		return rc;
	buf = tp_malloc(CHUNK);
	if (!buf) {
		rc = tp_err(TP_ENOMEM, "%s: out of memory", path);
		goto out;
	}
	h = tp_hash_u64(h, (uint64_t)st.st_size);
	{
		size_t head = st.st_size < CHUNK ? (size_t)st.st_size : CHUNK;
		memset(buf, 0, CHUNK);
		if ((rc = read_at(fd, path, buf, head, 0)) != TP_OK)
			goto out;
		h = tp_hash(h, buf, head);
		if (st.st_size > CHUNK) {
			off_t off = st.st_size - CHUNK > CHUNK ? st.st_size - CHUNK : CHUNK;
			size_t tail = (size_t)(st.st_size - off);
			if ((rc = read_at(fd, path, buf, tail, off)) != TP_OK)
				goto out;
			h = tp_hash(h, buf, tail);
		}
	}
	snprintf(sig, n, "%lld-%016llx-%lld%09ld", (long long)st.st_size, (unsigned long long)h,
		 (long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec);
	if (content_hash)
		*content_hash = h;
out:
	tp_free(buf);
	close(fd);
	return rc;
}

tp_status tp_output_sig(const char *path, char *sig, size_t n)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return tp_err(errno == ENOENT ? TP_ENOENT : TP_EIO, "%s: %s", path, strerror(errno));
	snprintf(sig, n, "%lld-%lld%09ld", (long long)st.st_size,
		 (long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec);
	return TP_OK;
}

/*
 * The one table from statuses to exit codes (sysexits.h values; the man
 * page's EXIT STATUS lists the same). `whole`: the command as a whole
 * failed with this status; `image`: one image of a batch did (the batch
 * goes on; its input is what was wrong); `store`: opening the job store did.
 */
static const struct exit_row {
	tp_status status;
	int whole, image, store;
} exit_table[] = {
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

static const struct exit_row *exit_row(tp_status s)
{
	for (size_t i = 0; i < sizeof exit_table / sizeof exit_table[0]; i++)
		if (exit_table[i].status == s)
			return &exit_table[i];
	return &exit_table[sizeof exit_table / sizeof exit_table[0] - 1];
}

int tp_exit_code(tp_status s) { return exit_row(s)->whole; }
int tp_job_exit_code(tp_status s) { return exit_row(s)->image; }
int tp_store_exit_code(tp_status s) { return exit_row(s)->store; }

static void on_signal(int sig)
{
	tp_stop_signal = sig;
	/* a second signal ends the process at once: the store and outputs are
	 * safe at any instant, this only skips waiting for tiles in flight */
	signal(sig, SIG_DFL);
}

void tp_signals_install(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

tp_status tp_engine_ensure(struct tp_engine_ctx *e)
{
	tp_status rc;
	double t0;
	if (e->opened)
		return TP_OK;
	t0 = tp_now_ms();
	rc = e->ops->open(&e->eopt, &e->state);
	if (rc != TP_OK)
		return rc;
	rc = tp_pool_new(e->ops, e->state, e->threads, &e->pool);
	if (rc != TP_OK) {
		if (e->ops->close)
			e->ops->close(e->state);
		e->state = NULL;
		return rc;
	}
	e->load_ms = tp_now_ms() - t0;
	e->opened = 1;
	return TP_OK;
}

void tp_engine_close(struct tp_engine_ctx *e)
{
	if (!e->opened)
		return;
	tp_pool_free(e->pool);
	if (e->ops->close)
		e->ops->close(e->state);
	e->pool = NULL;
	e->state = NULL;
	e->opened = 0;
}
