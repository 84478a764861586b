/*
 * lama_bench.c - times the native LaMa forward pass (src/nn) on one square
 * tile, and OpenBLAS sgemm in the same process, for scripts/bench/lama.sh.
 *
 *   lama_bench MODEL SIZE THREADS RUNS     one line of key=value results
 *
 * Built by lama.sh from the objects of `make`; not part of the tool.
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "src/nn/lama.h"

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Multiply-accumulates of one forward pass at s x s (SPEC §6 rules). */
static double forward_macs(const struct lama_config *c, double s, double *blocks)
{
	double p = s * s, hw = p / 64, bw = s / 8, m = 0, f;
	m += (double)c->ngf * 4 * 49 * p;
	m += 2.0 * c->ngf * c->ngf * 9 * p / 4;
	m += 4.0 * c->ngf * 2 * c->ngf * 9 * p / 16;
	m += (double)(c->nl + c->ng) * 4 * c->ngf * 9 * hw;
	f = (double)c->nl * (c->nl + c->ng) * 9 * hw + (double)c->ng * c->nl * 9 * hw +
	    (double)c->cs * c->ng * hw + 4.0 * c->cs * c->cs * bw * (bw / 2 + 1) +
	    (double)c->ng * c->cs * hw;
	*blocks = f * 2 * c->n_blocks;
	m += *blocks;
	m += (double)c->up[0] * (c->nl + c->ng) * 9 * hw;
	m += (double)c->up[1] * c->up[0] * 9 * p / 16;
	m += (double)c->up[2] * c->up[1] * 9 * p / 4;
	m += 3.0 * c->up[2] * 49 * p;
	return m;
}

/* Median GFLOP/s of m x n x k sgemm with OpenBLAS at `threads` threads. */
static double sgemm_rate(int m, int n, int k, int threads, int runs)
{
	float *a = malloc(sizeof(float) * (size_t)m * k), *b = malloc(sizeof(float) * (size_t)k * n);
	float *c = malloc(sizeof(float) * (size_t)m * n);
	double t[16];
	for (size_t i = 0; i < (size_t)m * k; i++)
		a[i] = (float)(i % 7) * 0.1f;
	for (size_t i = 0; i < (size_t)k * n; i++)
		b[i] = (float)(i % 5) * 0.1f;
	openblas_set_num_threads(threads);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1, a, k, b, n, 0, c, n);
	for (int r = 0; r < runs; r++) {
		double t0 = tp_now_ms();
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1, a, k, b, n, 0, c, n);
		t[r] = tp_now_ms() - t0;
	}
	qsort(t, (size_t)runs, sizeof *t, cmp_d);
	openblas_set_num_threads(1);
	free(a);
	free(b);
	free(c);
	return 2.0 * m * n * k / (t[runs / 2] * 1e6);
}

int main(int argc, char **argv)
{
	struct lama_net *net = NULL;
	struct tp_pool *pool = NULL;
	struct nn_arena ar;
	struct rusage ru;
	double t0, load_ms, times[64], stages[LAMA_ST_COUNT] = { 0 }, blocks_macs, macs;
	uint32_t s, th;
	int runs;
	if (argc != 5) {
		fprintf(stderr, "usage: lama_bench MODEL SIZE THREADS RUNS\n");
		return 64;
	}
	s = (uint32_t)atoi(argv[2]);
	th = (uint32_t)atoi(argv[3]);
	runs = atoi(argv[4]);
	if (runs < 1 || runs > 64)
		runs = 5;
	nn_blas_set_threads(1);
	t0 = tp_now_ms();
	if (lama_net_open(argv[1], &net) || lama_net_prepare(net, s, s)) {
		fprintf(stderr, "lama_bench: %s\n", tp_errmsg());
		return 78;
	}
	load_ms = tp_now_ms() - t0;
	if (nn_pool_new(th, &pool) || nn_arena_init(&ar, lama_net_scratch(net, s, s, th))) {
		fprintf(stderr, "lama_bench: %s\n", tp_errmsg());
		return 70;
	}
	{
		float *in = malloc(sizeof(float) * 4 * s * s), *out = malloc(sizeof(float) * 3 * s * s);
		struct nn_tensor ti = { in, 4, s, s }, to = { out, 3, s, s };
		uint32_t r = 1;
		for (size_t i = 0; i < (size_t)4 * s * s; i++) {
			r = r * 1664525u + 1013904223u;
			in[i] = (float)(r >> 8) / 16777216.0f;
		}
		for (size_t i = 3 * (size_t)s * s; i < (size_t)4 * s * s; i++)
			in[i] = in[i] > 0.7f ? 1.0f : 0.0f;
		if (lama_net_forward(net, &ti, &to, &ar, pool, NULL) != TP_OK) { /* warm-up */
			fprintf(stderr, "lama_bench: %s\n", tp_errmsg());
			return 1;
		}
		for (int i = 0; i < runs; i++) {
			t0 = tp_now_ms();
			if (lama_net_forward(net, &ti, &to, &ar, pool, stages) != TP_OK) {
				fprintf(stderr, "lama_bench: %s\n", tp_errmsg());
				return 1;
			}
			times[i] = tp_now_ms() - t0;
		}
		free(in);
		free(out);
	}
	getrusage(RUSAGE_SELF, &ru);
	macs = forward_macs(lama_net_config(net), s, &blocks_macs);
	{
		double sorted[64], med;
		memcpy(sorted, times, sizeof(double) * (size_t)runs);
		qsort(sorted, (size_t)runs, sizeof *sorted, cmp_d);
		med = sorted[runs / 2];
		printf("c threads=%u size=%u core=%s load_ms=%.0f median_s=%.4f min_s=%.4f runs=%d "
		       "gflop=%.2f gflops=%.1f encode_s=%.3f blocks_s=%.3f decode_s=%.3f final_s=%.3f "
		       "blocks_gflops=%.1f weights_mb=%.1f peak_rss_mb=%.0f",
		       th, s, nn_blas_corename(), load_ms, med / 1000, sorted[0] / 1000, runs,
		       2 * macs / 1e9, 2 * macs / (med * 1e6), stages[0] / runs / 1000,
		       stages[1] / runs / 1000, stages[2] / runs / 1000, stages[3] / runs / 1000,
		       2 * blocks_macs / (stages[1] / runs * 1e6), lama_net_bytes(net) / 1048576.0,
		       ru.ru_maxrss / 1024.0);
	}
	if (getenv("LAMA_BENCH_SGEMM")) {
		double big = sgemm_rate(2048, 2048, 2048, (int)th, 5);
		double l2g = sgemm_rate(384, 4096, 1152, (int)th, 5);
		printf(" sgemm2048_gflops=%.1f sgemm_l2g_gflops=%.1f", big, l2g);
	}
	printf("\n");
	nn_arena_free(&ar);
	tp_pool_free(pool);
	lama_net_free(net);
	nn_fft_cleanup();
	return 0;
}
