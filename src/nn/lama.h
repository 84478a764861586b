/*
 * lama.h - the LaMa generator (FFCResNetGenerator, big-lama layout) on the
 * nn runtime. Sizes (widths, number of residual blocks, local/global split)
 * come from the model file's tensor shapes, so reduced test models and
 * big-lama load through one path. Batch-norm is folded into the preceding
 * convolution at load; the net is then read-only and shared by all workers.
 */
#ifndef NN_LAMA_H
#define NN_LAMA_H

#include "nn.h"
#include "weights.h"

/* Architecture sizes derived from the file (big-lama: 4, 64, 18, 128, 384, 192). */
struct lama_config {
	uint32_t in_ch;     /* input channels (4: masked RGB + mask) */
	uint32_t ngf;       /* width of the first conv; down-convs double it twice */
	uint32_t n_blocks;  /* FFC residual blocks */
	uint32_t nl, ng;    /* bottleneck local / global channels */
	uint32_t cs;        /* SpectralTransform hidden channels (FourierUnit real channels) */
	uint32_t up[3];     /* output channels of the three transposed convs */
	uint64_t params;    /* float32 elements in the file (weights and BN statistics) */
};

struct lama_net;

/*
 * Build the net from an opened weight table (keys "generator.model.N...").
 * Checks every tensor the architecture needs (presence, dtype, shape) and
 * rejects unknown keys; TP_EMODEL naming the file and tensor. The result
 * holds folded copies: w may be closed afterwards. Caller frees with
 * lama_net_free.
 */
TP_MUST_USE tp_status lama_net_load(const struct nn_weights *w, struct lama_net **out);
/* nn_weights_open + lama_net_load + close (the file is unmapped on return). */
TP_MUST_USE tp_status lama_net_open(const char *path, struct lama_net **out);
/* The same with nn_weights_open_flags flags. */
TP_MUST_USE tp_status lama_net_open_flags(const char *path, unsigned flags, struct lama_net **out);
void lama_net_free(struct lama_net *net);
const struct lama_config *lama_net_config(const struct lama_net *net);
/* Bytes held by the folded weights. */
size_t lama_net_bytes(const struct lama_net *net);

/* Smallest padded side the net accepts (the bottleneck needs >= 2 for reflect). */
#define LAMA_MIN_SIDE 16
/* Largest side accepted (activations grow with area: about 1 KB per pixel). */
#define LAMA_MAX_SIDE 8192

/* Arena floats one forward pass on an h x w input needs with `threads`
 * threads (h, w multiples of 8, >= 16). */
size_t lama_net_scratch(const struct lama_net *net, uint32_t h, uint32_t w, uint32_t threads);
/* Make the FFT plans for h x w (under the plan mutex). Call before forward on a new shape. */
TP_MUST_USE tp_status lama_net_prepare(const struct lama_net *net, uint32_t h, uint32_t w);

/* Stages timed by lama_net_forward when asked (milliseconds, accumulated). */
enum { LAMA_ST_ENCODE, LAMA_ST_BLOCKS, LAMA_ST_DECODE, LAMA_ST_FINAL, LAMA_ST_COUNT };

/*
 * One forward pass: in (in_ch, h, w) -> out (3, h, w), the sigmoid output.
 * out->data preallocated (not in the arena). Uses the arena from its start
 * (arena->used is reset; it needs lama_net_scratch(net, h, w, threads of
 * pool) floats). pool may be NULL. stage_ms, if not NULL, gets
 * LAMA_ST_COUNT timings added. TP_EUSAGE on a bad size; TP_ENOMEM if a new
 * FFT plan cannot be made. Same bytes for any pool size.
 */
TP_MUST_USE tp_status lama_net_forward(const struct lama_net *net, const struct nn_tensor *in,
			   struct nn_tensor *out, struct nn_arena *arena, struct tp_pool *pool,
			   double *stage_ms);

#endif
