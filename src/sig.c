/*
 * sig.c - file identities and content signatures (see sig.h).
 */
#include "sig.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

tp_status tp_stat_key(const char *path, char *key, size_t n)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return tp_err(errno == ENOENT ? TP_ENOENT : TP_EIO, "%s: %s", path, strerror(errno));
	snprintf(key, n, "%llx:%llx:%lld:%lld.%09ld:%lld.%09ld", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino, (long long)st.st_size,
		 (long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec,
		 (long long)st.st_ctim.tv_sec, (long)st.st_ctim.tv_nsec);
	return TP_OK;
}

tp_status tp_content_sig(const char *path, char *sig, size_t n)
{
	enum { CHUNK = 1 << 20 };
	struct stat st;
	XXH3_state_t *h = NULL;
	unsigned char *buf = NULL;
	tp_status rc = TP_OK;
	uint64_t total = 0;
	int fd;

	if ((rc = tp_open_regular(path, &fd, &st)) != TP_OK)
		return rc;
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	buf = tp_malloc(CHUNK);
	h = XXH3_createState();
	if (!buf || !h || XXH3_64bits_reset(h) != XXH_OK) {
		rc = tp_err(TP_ENOMEM, "%s: out of memory hashing it", path);
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, buf, CHUNK);
		if (r < 0 && errno == EINTR && !tp_cancelled())
			continue;
		if (tp_cancelled()) {
			rc = tp_err(TP_ECANCELED, "%s: stopped while hashing it", path);
			goto out;
		}
		if (r < 0) {
			rc = tp_err(TP_EIO, "%s: cannot read: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		XXH3_64bits_update(h, buf, (size_t)r);
		total += (uint64_t)r;
	}
	snprintf(sig, n, "x3-%llu-%016llx", (unsigned long long)total,
		 (unsigned long long)XXH3_64bits_digest(h));
out:
	XXH3_freeState(h);
	tp_free(buf);
	close(fd);
	return rc;
}

int tp_sig_is_content(const char *sig)
{
	return sig && strncmp(sig, "x3-", 3) == 0;
}

/* ---- the sampled signature: the engines' seed, the model's identity, and
 * what older stores recorded ---- */

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
