/*
 * common.c - the shared part of the fuzz targets (see fuzz.h).
 */
#include "fuzz.h"
#include "src/io/raster.h"

#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

enum fuzz_outcome fuzz_outcome;
tp_status fuzz_status;

int fuzz_memfile(const uint8_t *data, size_t size, char *path, size_t n)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC);
	size_t off = 0;
	if (fd < 0)
		return -1;
	while (off < size) {
		ssize_t w = write(fd, data + off, size - off);
		if (w <= 0) {
			close(fd);
			return -1;
		}
		off += (size_t)w;
	}
	snprintf(path, n, "/proc/self/fd/%d", fd);
	return fd;
}

int fuzz_open_image(const uint8_t *data, size_t size, uint64_t max_pixels,
		    struct io_reader **r, tp_status *s)
{
	char path[64];
	int fd = fuzz_memfile(data, size, path, sizeof path);
	*r = NULL;
	if (fd < 0)
		return -1;
	io_reader_set_max_pixels(max_pixels);
	io_reader_set_max_memory((size_t)256 << 20);
	*s = io_reader_open(path, r);
	return fd;
}

int fuzz_done(tp_status s)
{
	fuzz_status = s;
	fuzz_outcome = s == TP_OK ? FUZZ_ACCEPTED : FUZZ_REFUSED;
	return 0;
}
