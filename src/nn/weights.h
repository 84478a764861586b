/*
 * weights.h - read-only model files: a table of named tensors whose bytes
 * live in one read-only mmap of the file. Two readers fill the same table:
 * safetensors (weights.c, the native format) and PyTorch .ckpt zip files
 * (ckpt.c). Every error is TP_EMODEL with a message naming the file and the
 * tensor or the reason.
 */
#ifndef NN_WEIGHTS_H
#define NN_WEIGHTS_H

#include "../util/tp.h"

enum nn_dtype { NN_DTYPE_F32, NN_DTYPE_I64, NN_DTYPE_OTHER };

#define NN_MAX_DIMS 8

/* One tensor of a model file. */
struct nn_wtensor {
	char *name;                    /* full key, e.g. "generator.model.1.bn_l.weight"; owned */
	enum nn_dtype dtype;           /* element type */
	char dtype_name[16];           /* the file's own dtype spelling, for messages */
	uint32_t ndim;                 /* 0 for a scalar */
	uint64_t shape[NN_MAX_DIMS];   /* dims, outermost first */
	const uint8_t *data;           /* little-endian, contiguous, row-major; into the map; may be unaligned */
	uint64_t nbytes;               /* = prod(shape) * element size (checked) */
};

/* An opened model file. */
struct nn_weights {
	char *path;                    /* owned copy of the file name */
	void *map;                     /* read-only mmap of the whole file */
	size_t map_len;                /* bytes mapped */
	struct nn_wtensor *t;          /* n tensors, sorted by name; owned */
	size_t n;
};

/*
 * Open a model file: safetensors, or a PyTorch zip checkpoint (.ckpt/.pt)
 * recognised by its "PK" magic. Validates the container (header length,
 * dtypes, byte ranges inside the file and not overlapping, shapes matching
 * sizes) but not the architecture. On success *out is owned by the caller
 * (nn_weights_close). TP_EMODEL / TP_ENOENT / TP_ENOMEM on failure.
 */
TP_MUST_USE tp_status nn_weights_open(const char *path, struct nn_weights **out);

/* Flags for nn_weights_open_flags. */
enum {
	/* In a .ckpt pickle, let globals outside the allow-list stand as inert
	 * placeholders instead of refusing the file. Nothing is imported or run
	 * either way; tensors can still only come from the allow-listed rebuild
	 * function. For checkpoints whose metadata pickles other classes
	 * (Lightning callbacks, OmegaConf hyper-parameters). */
	NN_WEIGHTS_PICKLE_LENIENT = 1
};
/* nn_weights_open with flags (0 = the strict default). */
TP_MUST_USE tp_status nn_weights_open_flags(const char *path, unsigned flags, struct nn_weights **out);
/* The tensor called name, or NULL. */
const struct nn_wtensor *nn_weights_find(const struct nn_weights *w, const char *name);
/* Unmap and free (accepts NULL). Tensor data pointers die with it. */
void nn_weights_close(struct nn_weights *w);

/* Internal to src/nn (weights_common.c, called by both readers): sort w->t
 * by name and reject duplicates, and check that no two byte ranges overlap. */
TP_MUST_USE tp_status nn_weights_finish(struct nn_weights *w);
/* Internal: the .ckpt reader (ckpt.c), on an already mapped file; called by
 * nn_weights_open_flags (weights.c) only. */
TP_MUST_USE tp_status nn_ckpt_parse(struct nn_weights *w, unsigned flags);

#endif
