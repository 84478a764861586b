/*
 * file.c - opening a file to read without ever blocking on what it is.
 */
#include "tp.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *tp_file_kind(mode_t m)
{
	if (S_ISREG(m)) return "a regular file";
	if (S_ISDIR(m)) return "a directory";
	if (S_ISFIFO(m)) return "a FIFO";
	if (S_ISSOCK(m)) return "a socket";
	if (S_ISCHR(m)) return "a character device";
	if (S_ISBLK(m)) return "a block device";
	return "not a plain file";
}

tp_status tp_open_regular(const char *path, int *fd_out, struct stat *st_out)
{
	struct stat st;
	int fd, fl;
	/* O_NONBLOCK: opening a FIFO with no writer (or a tape, a tty) would
	 * otherwise wait forever; O_NOCTTY: a terminal never becomes ours */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	*fd_out = -1;
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return tp_err(TP_ENOENT, "%s: no such file", path);
		if (errno == ENXIO)   /* a socket */
			return tp_err(TP_EFORMAT, "%s: not a regular file (a socket)", path);
		return tp_err(TP_EIO, "%s: %s", path, strerror(errno));
	}
	if (fstat(fd, &st) != 0) {
		tp_status s = tp_err(TP_EIO, "%s: %s", path, strerror(errno));
		close(fd);
		return s;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return tp_err(TP_EFORMAT, "%s: not a regular file (%s)", path,
			      tp_file_kind(st.st_mode));
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
		tp_status s = tp_err(TP_EIO, "%s: %s", path, strerror(errno));
		close(fd);
		return s;
	}
	*fd_out = fd;
	if (st_out)
		*st_out = st;
	return TP_OK;
}
