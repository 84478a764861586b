/*
 * stdio_stage.c - `-` for `tilepaint inpaint` (see stdio_stage.h).
 */
#include "stdio_stage.h"
#include "io/raster.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The private directory, made on first use (mode 0700). */
TP_MUST_USE static tp_status stage_dir(struct tp_stdio_stage *s)
{
	const char *tmp = getenv("TMPDIR");
	if (s->dir[0])
		return TP_OK;
	if ((size_t)snprintf(s->dir, sizeof s->dir, "%s/tilepaint-XXXXXX",
			     tmp && *tmp ? tmp : "/tmp") >= sizeof s->dir) {
		s->dir[0] = '\0';
		return tp_err(TP_ECREATE, "TMPDIR is too long");
	}
	if (!mkdtemp(s->dir)) {
		tp_status rc = tp_err(TP_ECREATE, "%s: cannot make a temporary directory: %s",
				      s->dir, strerror(errno));
		s->dir[0] = '\0';
		return rc;
	}
	return TP_OK;
}

/* Copy everything from fd `from` to fd `to`, at most `cap` bytes. */
TP_MUST_USE static tp_status copy_fd(int from, const char *fname, int to, const char *tname,
				     uint64_t cap)
{
	char buf[1 << 16];
	uint64_t total = 0;
	for (;;) {
		ssize_t r = read(from, buf, sizeof buf), off = 0;
		if (r < 0 && errno == EINTR) {
			if (tp_cancelled())
				return tp_err(TP_ECANCELED, "%s: interrupted", fname);
			continue;
		}
		if (r < 0)
			return tp_err(TP_EIO, "%s: cannot read: %s", fname, strerror(errno));
		if (r == 0)
			return TP_OK;
		if ((total += (uint64_t)r) > cap)
			return tp_err(TP_EFORMAT, "%s: more than %llu GiB; give the image as a file",
				      fname, (unsigned long long)(cap >> 30));
		while (off < r) {
			ssize_t w = write(to, buf + off, (size_t)(r - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return tp_err(TP_EIO, "writing %s: %s", tname, strerror(errno));
			off += w;
		}
	}
}

tp_status tp_stdio_stage_in(struct tp_stdio_stage *s)
{
	tp_status rc;
	int fd;
	if (isatty(STDIN_FILENO))
		return tp_err(TP_EUSAGE, "stdin is a terminal: pipe an image into '-' or name a file");
	if ((rc = stage_dir(s)) != TP_OK)
		return rc;
	snprintf(s->in, sizeof s->in, "%s/stdin", s->dir);
	if ((fd = open(s->in, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
		return tp_err(TP_ECREATE, "%s: %s", s->in, strerror(errno));
	rc = copy_fd(STDIN_FILENO, "stdin", fd, s->in, TP_STDIN_MAX);
	if (close(fd) != 0 && rc == TP_OK)
		rc = tp_err(TP_EIO, "writing %s: %s", s->in, strerror(errno));
	return rc;
}

tp_status tp_stdio_stage_out(struct tp_stdio_stage *s, const char *input)
{
	uint8_t head[16] = { 0 };
	enum io_format f = IO_FORMAT_UNKNOWN;
	ssize_t n = 0;
	tp_status rc;
	int fd;
	if (isatty(STDOUT_FILENO))
		return tp_err(TP_EUSAGE, "stdout is a terminal: not writing an image to it "
			      "(redirect it, or name an OUTPUT file)");
	if ((rc = stage_dir(s)) != TP_OK)
		return rc;
	if ((fd = open(input, O_RDONLY | O_CLOEXEC)) >= 0) {
		n = read(fd, head, sizeof head);
		close(fd);
	}
	if (n > 0)
		f = io_sniff(head, (size_t)n);
	snprintf(s->out, sizeof s->out, "%s/stdout.%s", s->dir,
		 f == IO_FORMAT_UNKNOWN ? "png" : io_format_name(f));
	return TP_OK;
}

tp_status tp_stdio_stage_emit(const struct tp_stdio_stage *s)
{
	int fd = open(s->out, O_RDONLY | O_CLOEXEC);
	tp_status rc;
	if (fd < 0)
		return tp_err(TP_EIO, "%s: %s", s->out, strerror(errno));
	rc = copy_fd(fd, s->out, STDOUT_FILENO, "stdout", UINT64_MAX);
	close(fd);
	return rc;
}

void tp_stdio_stage_names(const struct tp_stdio_stage *s, const char *msg, char *buf, size_t n)
{
	size_t dl = strlen(s->dir), k = 0;
	const char *p = msg;
	while (*p && k + 1 < n) {
		const char *word = NULL;
		size_t skip = 0;
		if (dl && strncmp(p, s->dir, dl) == 0 && p[dl] == '/') {
			if (s->in[0] && strncmp(p, s->in, strlen(s->in)) == 0)
				word = "stdin", skip = strlen(s->in);
			else if (s->out[0] && strncmp(p, s->out, strlen(s->out)) == 0)
				word = "stdout", skip = strlen(s->out);
			else
				word = "", skip = dl + 1;   /* a temporary beside stdout's */
		}
		if (word) {
			k += (size_t)snprintf(buf + k, n - k, "%s", word);
			if (k >= n)
				k = n - 1;
			p += skip;
		} else {
			buf[k++] = *p++;
		}
	}
	buf[k < n ? k : n - 1] = '\0';
}

void tp_stdio_stage_free(struct tp_stdio_stage *s)
{
	if (!s->dir[0])
		return;
	if (s->in[0])
		unlink(s->in);
	if (s->out[0])
		unlink(s->out);
	rmdir(s->dir);
	s->dir[0] = '\0';
}
