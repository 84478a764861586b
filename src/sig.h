/*
 * sig.h - what tilepaint knows of a file between runs: its identity (the
 * cheap check) and its content signature (every byte hashed).
 *
 * The re-run rule: when a file's identity (device, inode, size, mtime,
 * ctime) is what the store recorded, its recorded content signature is
 * trusted without reading the file; when any of them differs, the whole file
 * is hashed (XXH3, about 10 GB/s from the page cache) and only a different
 * hash counts as a change. So a change anywhere in a file is noticed, even
 * with its size and mtime put back (ctime and the inode cannot be), and a
 * tree copied to another disk is not redone.
 */
#ifndef SIG_H
#define SIG_H

#include "util/tp.h"

#define TP_SIG_LEN 96

/* "dev:ino:size:mtime:ctime" of `path` (symlinks followed). TP_ENOENT / TP_EIO
 * naming the file. */
TP_MUST_USE tp_status tp_stat_key(const char *path, char *key, size_t n);
/*
 * "x3-<size>-<xxh3 64 hex>" of every byte of `path`. Opened without
 * blocking (a FIFO or device named like an image is TP_EFORMAT "not a
 * regular file"), read sequentially, TP_ECANCELED between reads once
 * tp_cancelled(). Errors name the file.
 */
TP_MUST_USE tp_status tp_content_sig(const char *path, char *sig, size_t n);
/* 1 when `sig` is a content signature of this kind (not an older form). */
int tp_sig_is_content(const char *sig);

/*
 * The sampled signature of a file: "<size>-<hash of size, first and last
 * 64 KiB>-<mtime ns>". *content_hash gets the hash part alone, which seeds
 * the engines (so touching a file does not change its output); it also names
 * a model file in the options hash, and is what stores of tilepaint before
 * content signatures recorded. TP_ENOENT / TP_EIO naming the file.
 */
TP_MUST_USE tp_status tp_file_sig(const char *path, char *sig, size_t n, uint64_t *content_hash);
/* "<size>-<mtime ns>" of a file we wrote (what older stores recorded of outputs). */
TP_MUST_USE tp_status tp_output_sig(const char *path, char *sig, size_t n);

#endif
