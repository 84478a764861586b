/*
 * job_output.c - a job's output: written to a temporary name beside the
 * final one (so the rename is atomic and on the same file system), fsynced,
 * signed, and renamed into place together with the store's "done" in one
 * fenced transaction. Nothing else is ever left at the output path.
 */
#include "job_int.h"
#include "sig.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <string.h>
#include <unistd.h>

/* Remove temporaries a killed run left for this output (we hold its lease). */
static void remove_stale_temps(const char *output)
{
	char dir[4096], base[1024], prefix[1100];
	DIR *d;
	struct dirent *de;
	snprintf(dir, sizeof dir, "%s", output);
	snprintf(base, sizeof base, "%s", output);
	snprintf(prefix, sizeof prefix, ".%s.tmp-", basename(base));
	d = opendir(dirname(dir));
	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0) {
			char path[8192];
			snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
			unlink(path);
		}
	}
	closedir(d);
}

/* A temporary name beside the output. */
static void make_tmp_path(struct job *j)
{
	char dir[4096], base[1024];
	snprintf(dir, sizeof dir, "%s", j->io->output);
	snprintf(base, sizeof base, "%s", j->io->output);
	snprintf(j->tmp_path, sizeof j->tmp_path, "%s/.%s.tmp-%ld-%04lx", dirname(dir),
		 basename(base), (long)getpid(), (unsigned long)(tp_now_ms() * 1000) & 0xffff);
}

void job_output_opts(const struct job *j, uint32_t threads, struct io_info *oi,
		     struct io_write_opts *wo)
{
	const struct io_info *ii = io_reader_info(j->in);
	enum io_format of = io_format_from_name(j->io->output);
	*oi = *ii;
	*wo = (struct io_write_opts){
		.jpeg_quality = j->o->jpeg_quality,
		.png_level = j->o->png_level,
		.threads = threads,
		.tiff_compression = 0,
		.name = j->io->output,
	};
	oi->format = of != IO_FORMAT_UNKNOWN ? of : ii->format;
	oi->buffered = 0;
	if (oi->format == ii->format)
		wo->tiff_compression = io_reader_compression(j->in);
	/* a JPEG from a JPEG keeps the input's coefficients outside the mask,
	 * unless --jpeg-quality asks for a whole re-encode */
	if (oi->format == IO_FORMAT_JPEG && ii->format == IO_FORMAT_JPEG && !j->o->jpeg_quality) {
		wo->jpeg_keep = j->io->input;
		wo->jpeg_keep_reader = j->in;   /* rows come from it, and it stays open */
	}
}

tp_status job_output_open(struct job *j)
{
	struct io_info oi;
	struct io_write_opts wo;
	tp_status rc;
	job_output_opts(j, j->enc_threads ? j->enc_threads : j->o->threads, &oi, &wo);
	if (j->io->store)
		remove_stale_temps(j->io->output);
	make_tmp_path(j);
	/* the writer's set-up is encoding (a JPEG writer keeping its input
	 * reads that input's coefficients here) */
	TP_TIMED(j->t, TP_STAGE_ENCODE)
		rc = io_writer_open(j->tmp_path, &oi, io_reader_meta(j->in), &wo, &j->out);
	return rc;
}

/*
 * Put the finished temporary in place: rename over the output path, fsync
 * the directory so the rename itself is durable, and give the output's
 * identity (stat_key may be NULL). With a store this runs inside
 * store_job_done, under the store's write lock, after the lease check.
 */
TP_MUST_USE static tp_status rename_into_place(void *ctx, char *stat_key, size_t n)
{
	struct job *j = ctx;
	char dir[4096];
	int fd;
	if (rename(j->tmp_path, j->io->output) != 0)
		return tp_err(TP_EIO, "%s: cannot rename the finished output into place: %s",
			      j->io->output, strerror(errno));
	j->published = 1;
	snprintf(dir, sizeof dir, "%s", j->io->output);
	fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		int e = fsync(fd) != 0 ? errno : 0;
		close(fd);
		if (e && e != EINVAL && e != EROFS)
			return tp_err(TP_EIO, "%s: syncing its directory: %s", j->io->output,
				      strerror(e));
	}
	return stat_key ? tp_stat_key(j->io->output, stat_key, n) : TP_OK;
}

/* The finished temporary: signed, then renamed into place (fenced). */
TP_MUST_USE static tp_status put_in_place(struct job *j)
{
	const struct tp_job_io *io = j->io;
	tp_status rc;
	job_test_freeze("publish", 0);
	if (tp_cancelled())
		return tp_err(TP_ECANCELED, "%s: stopped before the output was put in place",
			      io->input);
	TP_TIMED(j->t, TP_STAGE_WRITE) {
		/* what the store keeps to tell later whether the output is still ours
		 * (without a store, nothing would: the output is not read back) */
		rc = io->store ? tp_content_sig(j->tmp_path, j->res->output_sig,
						sizeof j->res->output_sig) : TP_OK;
		if (rc == TP_OK && io->store)
			rc = store_job_expect_output(io->store, io->lease, j->res->output_sig);
		if (rc == TP_OK && io->store)
			rc = store_job_done(io->store, io->lease, j->res->output_sig,
					    rename_into_place, j);
		else if (rc == TP_OK)
			rc = rename_into_place(j, NULL, 0);
	}
	return rc;
}

tp_status job_output_publish(struct job *j)
{
	tp_status rc;
	TP_TIMED(j->t, TP_STAGE_WRITE)
		rc = io_writer_finish(j->out);
	return rc == TP_OK ? put_in_place(j) : rc;
}

int job_output_can_copy(const struct job *j)
{
	const struct io_info *ii = io_reader_info(j->in);
	enum io_format of = io_format_from_name(j->io->output);
	if (j->res->active != 0 || (of != IO_FORMAT_UNKNOWN && of != ii->format))
		return 0;
	/* an encoding asked for on the command line is a reason to rewrite */
	if ((ii->format == IO_FORMAT_JPEG && j->o->jpeg_quality) ||
	    (ii->format == IO_FORMAT_PNG && j->o->png_level >= 0))
		return 0;
	return 1;
}

/* Every row of the input decoded (and dropped): a corrupt file fails here
 * as it would have while being rewritten, before anything is copied. */
TP_MUST_USE static tp_status check_rows(struct job *j)
{
	const struct io_info *ii = io_reader_info(j->in);
	uint32_t n = (uint32_t)(((size_t)4 << 20) / j->row_bytes), y;
	uint8_t *buf;
	tp_status rc = TP_OK;
	if (n < 1)
		n = 1;
	if (n > ii->height)
		n = ii->height;
	if (!(buf = tp_malloc(j->row_bytes * n)))
		return tp_err(TP_ENOMEM, "%s: out of memory", j->io->input);
	for (y = 0; rc == TP_OK && y < ii->height; y += n) {
		uint32_t k = ii->height - y < n ? ii->height - y : n;
		TP_TIMED(j->t, TP_STAGE_DECODE)
			rc = io_reader_read_rows(j->in, buf, j->row_bytes, k);
		if (rc == TP_OK)
			rc = job_checkpoint(j);
	}
	tp_free(buf);
	return rc;
}

/* The input's bytes to the temporary, flushed to the disk. */
TP_MUST_USE static tp_status copy_bytes(struct job *j)
{
	const char *out = j->io->output;
	char buf[1 << 16];
	int in = -1, fd;
	tp_status rc;
	if ((rc = tp_open_regular(j->io->input, &in, NULL)) != TP_OK)
		return rc;
	fd = open(j->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	if (fd < 0) {
		close(in);
		return tp_err(TP_ECREATE, "%s: cannot create: %s", out, strerror(errno));
	}
	j->tmp_made = 1;
	for (;;) {
		ssize_t n = read(in, buf, sizeof buf), off = 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = tp_err(TP_EIO, "%s: cannot read: %s", j->io->input, strerror(errno));
			break;
		}
		if (n == 0)
			break;
		while (off < n) {
			ssize_t w = write(fd, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				rc = tp_err(TP_EIO, "writing %s: %s", out,
					    strerror(w < 0 ? errno : ENOSPC));
				break;
			}
			off += w;
		}
		if (rc != TP_OK)
			break;
	}
	close(in);
	if (rc == TP_OK && fsync(fd) != 0)
		rc = tp_err(TP_EIO, "writing %s: %s", out, strerror(errno));
	if (close(fd) != 0 && rc == TP_OK)
		rc = tp_err(TP_EIO, "writing %s: %s", out, strerror(errno));
	return rc;
}

tp_status job_output_copy(struct job *j)
{
	tp_status rc;
	if ((rc = check_rows(j)) != TP_OK)
		return rc;
	if (j->io->store)
		remove_stale_temps(j->io->output);
	make_tmp_path(j);
	TP_TIMED(j->t, TP_STAGE_WRITE)
		rc = copy_bytes(j);
	return rc == TP_OK ? put_in_place(j) : rc;
}
