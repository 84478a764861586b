/*
 * lama.c - the LaMa engine: big-lama (or any LaMa generator with the official
 * key names) run natively on src/nn. Pre/post-processing follows the official
 * bin/predict.py (SPEC §2-3): mask > 0 is a hole; the input is
 * [R(1-m), G(1-m), B(1-m), m]; the tile is padded on the bottom/right to a
 * multiple of 8 in numpy 'symmetric' mode (and to at least 16, which the
 * official script would reject) and the output cropped back.
 *
 * Gray tiles are replicated to RGB and the prediction averaged back, (R+G+B)/3.
 * With 8-bit sources (and params trunc8=1, the default) each filled sample is
 * quantised the official way, trunc(clip(v * 255, 0, 255)), and handed back as
 * that level / 255, so the pipeline's round(v * 255) reproduces the official
 * script's bytes exactly; trunc8=0 hands back the raw network output.
 *
 * --model takes safetensors or the official .ckpt. A .ckpt whose pickle names
 * classes beyond the few that rebuild tensors is refused unless params has
 * ckpt_lenient=1, which lets them stand as inert placeholders (never run).
 */
#include "engine.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../nn/lama.h"

/*
 * OpenBLAS decides two things once, when the library loads, before main():
 *
 * - its kernels, from the CPU or OPENBLAS_CORETYPE. Debian's OpenBLAS 0.3.21
 *   does not know recent AVX-512 CPUs (AMD Zen 4/5) and falls back to much
 *   older kernels (measured on the project's machines: Prescott, 2.5x slower
 *   than its SkylakeX kernels for this network);
 * - its thread pool, one thread per CPU, which then busy-waits with
 *   sched_yield for about 2^28 cycles (~0.1 s). In a process that runs a
 *   classical engine, or a short job, those spinning threads take the CPUs
 *   from tilepaint's own workers (measured: harmonic's time on a 512 px
 *   photo 3.4 ms with one BLAS thread, 10-12 ms with the default).
 *
 * A function in the executable's .preinit_array runs before any shared
 * library's constructor; libc resets the environment after it, so setenv()
 * there is lost, and the only reliable way to choose is to re-execute the
 * program once with the variables added: OPENBLAS_CORETYPE=SkylakeX when the
 * CPU has AVX-512 F/BW/DQ/VL, and OPENBLAS_NUM_THREADS=1 (nothing is lost:
 * the lama engine splits its work over its own threads and runs OpenBLAS
 * single-threaded anyway). That exec costs about a millisecond, before
 * anything else has run.
 * A user's own setting always wins (OPENBLAS_CORETYPE set to anything keeps
 * the library's choice of kernels; OPENBLAS_NUM_THREADS, GOTO_NUM_THREADS or
 * OMP_NUM_THREADS keeps the user's pool); if the exec fails the program
 * simply carries on.
 */
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(__clang__)
static void lama_blas_core_preinit(int argc, char **argv, char **envp)
{
	size_t n, k = 0;
	char **env;
	int have_core = 0, have_threads = 0, want_core;
	(void)argc;
	if (!argv || !argv[0] || !envp)
		return;
	for (n = 0; envp[n]; n++) {
		if (strncmp(envp[n], "OPENBLAS_CORETYPE=", 18) == 0)
			have_core = 1;
		if (strncmp(envp[n], "OPENBLAS_NUM_THREADS=", 21) == 0 ||
		    strncmp(envp[n], "GOTO_NUM_THREADS=", 17) == 0 ||
		    strncmp(envp[n], "OMP_NUM_THREADS=", 16) == 0)
			have_threads = 1;
	}
	__builtin_cpu_init();
	want_core = !have_core && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
		    __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
	if (!want_core && have_threads)
		return;
	env = tp_malloc((n + 3) * sizeof *env);
	if (!env)
		return;
	memcpy(env, envp, n * sizeof *env);
	k = n;
	if (want_core)
		env[k++] = (char *)"OPENBLAS_CORETYPE=SkylakeX";
	if (!have_threads)
		env[k++] = (char *)"OPENBLAS_NUM_THREADS=1";
	env[k] = NULL;
	execve("/proc/self/exe", argv, env);
	tp_free(env);
}
__attribute__((section(".preinit_array"), used))
static void (*const lama_blas_core_hook)(int, char **, char **) = lama_blas_core_preinit;
#endif

struct lama_state {
	struct lama_net *net;  /* folded weights, read-only, shared by workers */
	uint32_t threads;      /* threads per inpaint() call */
	int trunc8;            /* quantise 8-bit output like predict.py */
};

struct lama_worker {
	struct tp_pool *pool;  /* state->threads threads (the caller + helpers) */
	struct nn_arena arena; /* forward scratch + input + output tensors */
	uint32_t cap_h, cap_w; /* padded size the arena was sized for */
};

/* The --engine-opt keys: trunc8 (default 1), ckpt_lenient (default 0). */
static const struct engine_param lama_params[] = {
	{ "trunc8", 0, 1, ENGINE_PARAM_REAL },
	{ "ckpt_lenient", 0, 1, ENGINE_PARAM_REAL },
	{ NULL, 0, 0, 0 }
};

TP_MUST_USE static tp_status lama_open(const struct engine_options *opt, void **state)
{
	struct lama_state *s;
	double v = 1;
	tp_status st;
	*state = NULL;
	if (!opt->model)
		return tp_err(TP_EUSAGE, "engine 'lama' needs --model FILE (a LaMa generator: "
			      "big-lama's best.ckpt, or safetensors from scripts/lama-convert.py)");
	double lenient = 0;
	if (engine_param_get(opt->params, &lama_params[0], &v) < 0 ||
	    engine_param_get(opt->params, &lama_params[1], &lenient) < 0)
		return TP_EUSAGE;
	s = tp_calloc(1, sizeof *s);
	if (!s)
		return tp_err(TP_ENOMEM, "out of memory opening engine 'lama'");
	s->threads = opt->threads ? opt->threads : 1;
	if (s->threads > 64)
		s->threads = 64;
	s->trunc8 = v != 0;
	if ((st = lama_net_open_flags(opt->model, lenient != 0 ? NN_WEIGHTS_PICKLE_LENIENT : 0,
				      &s->net)))
		goto fail;
	/* FFT plans for the default tile, made once here (other sizes on first use). */
	if ((st = lama_net_prepare(s->net, engine_lama.default_tile, engine_lama.default_tile)))
		goto fail;
	/* Threads inside one inpaint() are ours (the pool, fixed work split), so
	 * OpenBLAS runs single-threaded: its own threading would change low bits
	 * with the thread count. */
	nn_blas_set_threads(1);
	{
		const struct lama_config *c = lama_net_config(s->net);
		tp_debug("lama: %s: ngf %u, %u blocks, %u/%u local/global, %.1f MB folded weights, "
			 "OpenBLAS core %s", opt->model, c->ngf, c->n_blocks, c->nl, c->ng,
			 lama_net_bytes(s->net) / 1048576.0, nn_blas_corename());
	}
	*state = s;
	return TP_OK;
fail:
	lama_net_free(s->net);
	tp_free(s);
	return st;
}

static void lama_close(void *state)
{
	struct lama_state *s = state;
	if (!s)
		return;
	lama_net_free(s->net);
	tp_free(s);
}

static uint32_t padded_side(uint32_t n)
{
	n = (n + 7) / 8 * 8;
	return n < LAMA_MIN_SIDE ? LAMA_MIN_SIDE : n;
}

static size_t worker_floats(const struct lama_net *net, uint32_t h, uint32_t w, uint32_t threads)
{
	size_t p = (size_t)h * w;
	return lama_net_scratch(net, h, w, threads) + nn_align(4 * p) + nn_align(3 * p);
}

/* Make sure the arena fits a padded h x w pass; grows only for larger tiles. */
TP_MUST_USE static tp_status worker_fit(struct lama_state *s, struct lama_worker *wk, uint32_t h, uint32_t w)
{
	size_t need = worker_floats(s->net, h, w, s->threads);
	if (need <= wk->arena.cap)
		return TP_OK;
	nn_arena_free(&wk->arena);
	wk->cap_h = wk->cap_w = 0;
	if (nn_arena_init(&wk->arena, need))
		return tp_err(TP_ENOMEM, "out of memory for LaMa activations of a %ux%u tile "
			      "(%zu MB)", w, h, need * sizeof(float) >> 20);
	wk->cap_h = h;
	wk->cap_w = w;
	return TP_OK;
}

TP_MUST_USE static tp_status lama_worker_new(void *state, void **worker)
{
	struct lama_state *s = state;
	struct lama_worker *wk = tp_calloc(1, sizeof *wk);
	uint32_t t = engine_lama.default_tile;
	tp_status st;
	*worker = NULL;
	if (!wk)
		return tp_err(TP_ENOMEM, "out of memory for a LaMa worker");
	if ((st = nn_pool_new(s->threads, &wk->pool)) || (st = worker_fit(s, wk, t, t))) {
		tp_pool_free(wk->pool);
		tp_free(wk);
		return st;
	}
	*worker = wk;
	return TP_OK;
}

static void lama_worker_free(void *worker)
{
	struct lama_worker *wk = worker;
	if (!wk)
		return;
	tp_pool_free(wk->pool);
	nn_arena_free(&wk->arena);
	tp_free(wk);
}

TP_MUST_USE static tp_status lama_inpaint(void *state, void *worker, struct engine_tile *tile)
{
	struct lama_state *s = state;
	struct lama_worker *wk = worker;
	uint32_t h = tile->h, w = tile->w, ch = tile->channels;
	uint32_t H = padded_side(h), W = padded_side(w);
	size_t P = (size_t)H * W;
	struct nn_tensor in, out;
	tp_status st;
	if (ch != 1 && ch != 3)
		return tp_err(TP_EUSAGE, "engine 'lama' takes gray or RGB tiles, not %u channels", ch);
	if (!w || !h)
		return TP_OK;
	if (H > LAMA_MAX_SIDE || W > LAMA_MAX_SIDE)
		return tp_err(TP_EUSAGE, "engine 'lama' takes tiles up to %ux%u, not %ux%u (use a "
			      "smaller --tile)", LAMA_MAX_SIDE, LAMA_MAX_SIDE, w, h);
	if ((st = lama_net_prepare(s->net, H, W)) || (st = worker_fit(s, wk, H, W)))
		return st;
	/* Input and output live at the arena's end; the forward pass uses its start. */
	in = (struct nn_tensor){ wk->arena.base + lama_net_scratch(s->net, H, W, s->threads), 4, H, W };
	out = (struct nn_tensor){ in.data + nn_align(4 * P), 3, H, W };
	for (uint32_t y = 0; y < H; y++) {
		uint32_t sy = (uint32_t)nn_pad_index(y, h, NN_PAD_SYMMETRIC);
		for (uint32_t x = 0; x < W; x++) {
			uint32_t sx = (uint32_t)nn_pad_index(x, w, NN_PAD_SYMMETRIC);
			size_t si = (size_t)sy * w + sx, di = (size_t)y * W + x;
			int hole = tile->mask[si] != 0;
			for (uint32_t c = 0; c < 3; c++) {
				/* Holes are exactly 0 and their stale samples are never read. */
				float v = hole ? 0.0f : tile->pix[si * ch + (ch == 3 ? c : 0)];
				in.data[c * P + di] = v;
			}
			in.data[3 * P + di] = hole ? 1.0f : 0.0f;
		}
	}
	{
		/* lama_net_forward resets the arena and carves its buffers from the start;
		 * in/out sit beyond lama_net_scratch(H, W), so they are not touched. */
		struct nn_arena fw = wk->arena;
		fw.cap = lama_net_scratch(s->net, H, W, s->threads);
		if ((st = lama_net_forward(s->net, &in, &out, &fw, wk->pool, NULL)))
			return st;
	}
	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++) {
			size_t i = (size_t)y * w + x, o = (size_t)y * W + x;
			float v[3];
			if (!tile->mask[i])
				continue;
			for (uint32_t c = 0; c < 3; c++) {
				v[c] = out.data[c * P + o];
				if (s->trunc8 && tile->bits == 8 && ch == 3) {
					float q = v[c] * 255.0f;  /* float32, like numpy */
					q = q < 0.0f ? 0.0f : q > 255.0f ? 255.0f : q;
					v[c] = floorf(q) / 255.0f;
				}
			}
			if (ch == 3) {
				memcpy(tile->pix + i * 3, v, sizeof v);
			} else {
				float g = (v[0] + v[1] + v[2]) / 3.0f;
				if (s->trunc8 && tile->bits == 8) {
					float q = g * 255.0f;
					q = q < 0.0f ? 0.0f : q > 255.0f ? 255.0f : q;
					g = floorf(q) / 255.0f;
				}
				tile->pix[i] = g;
			}
		}
	return TP_OK;
}

/* The activation arena, sized for the default tile when the worker is made
 * and grown for larger padded tiles, and the worker's inner thread pool
 * (stacks counted as 8 MiB, glibc's default). 0 before open(). */
static size_t lama_worker_bytes(const void *state, uint32_t w, uint32_t h, uint32_t color)
{
	const struct lama_state *s = state;
	uint32_t t = engine_lama.default_tile, H = padded_side(h), W = padded_side(w);
	size_t a, b;
	(void)color;
	if (!s)
		return 0;
	a = worker_floats(s->net, t, t, s->threads);
	b = worker_floats(s->net, H > LAMA_MAX_SIDE ? LAMA_MAX_SIDE : H,
			  W > LAMA_MAX_SIDE ? LAMA_MAX_SIDE : W, s->threads);
	return (a > b ? a : b) * sizeof(float) + (size_t)s->threads * ((size_t)8 << 20);
}

/*
 * context 128: LaMa's receptive field is global inside a tile (the Fourier
 * units), but its output is driven mostly by nearby structure; 128 pixels of
 * known context on each side (a quarter of the default 512 tile) is what the
 * pipeline's default overlap should give it.
 */
const struct engine_ops engine_lama = {
	.name = "lama",
	.summary = "LaMa neural inpainting (big-lama, FFC network; needs --model FILE.safetensors)",
	.needs_model = 1,
	.multiple = 8,
	.context = 128,
	.default_tile = 512,
	.inner_threads = 1,
	.params = lama_params,
	.unsigned_only = 1,
	.open = lama_open,
	.worker_new = lama_worker_new,
	.inpaint = lama_inpaint,
	.worker_free = lama_worker_free,
	.close = lama_close,
	.worker_bytes = lama_worker_bytes,
};
