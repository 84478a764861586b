/*
 * fft.c - the FourierUnit on FFTW single precision, and the process-wide plan
 * cache. FFTW's planner is not thread-safe (only the execute functions are),
 * so every plan is made under plan_lock; plans are FFTW_ESTIMATE, which never
 * times anything, so the same shape always gets the same algorithm and the
 * same bytes. Plans transform one channel between 64-byte aligned per-thread
 * buffers, so channels run in parallel and results do not depend on threads.
 */
#include "nn.h"

/* The elementwise loops here are hot; GCC's -O2 cost model leaves most of
 * them scalar. Vectorising elementwise float ops does not change results. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif

#include <fftw3.h>
#include <math.h>
#include <pthread.h>
#include <string.h>

struct nn_fft_plan {
	uint32_t h, w;              /* rows, columns of the real input */
	fftwf_plan r2c, c2r;        /* (h, w) real <-> (h, w/2+1) complex */
	struct nn_fft_plan *next;   /* cache list */
};

static pthread_mutex_t plan_lock = PTHREAD_MUTEX_INITIALIZER;
static struct nn_fft_plan *plan_cache;

size_t nn_fu_slice(uint32_t h, uint32_t w)
{
	return nn_align((size_t)h * w) + nn_align((size_t)2 * h * (w / 2 + 1));
}

tp_status nn_fft_plan_get(uint32_t h, uint32_t w, const struct nn_fft_plan **out)
{
	tp_status st = TP_OK;
	struct nn_fft_plan *p;
	void *raw = NULL;
	pthread_mutex_lock(&plan_lock);
	for (p = plan_cache; p; p = p->next)
		if (p->h == h && p->w == w)
			goto out;
	p = tp_calloc(1, sizeof *p);
	raw = tp_malloc(nn_fu_slice(h, w) * sizeof(float) + 64);
	if (!p || !raw) {
		tp_free(p);
		p = NULL;
		st = tp_err(TP_ENOMEM, "out of memory planning the FFT for %ux%u", h, w);
		goto out;
	}
	{
		float *real = (float *)(((uintptr_t)raw + 63) & ~(uintptr_t)63);
		fftwf_complex *cplx = (fftwf_complex *)(real + nn_align((size_t)h * w));
		p->h = h;
		p->w = w;
		p->r2c = fftwf_plan_dft_r2c_2d((int)h, (int)w, real, cplx, FFTW_ESTIMATE);
		p->c2r = fftwf_plan_dft_c2r_2d((int)h, (int)w, cplx, real, FFTW_ESTIMATE);
	}
	if (!p->r2c || !p->c2r) {
		if (p->r2c)
			fftwf_destroy_plan(p->r2c);
		if (p->c2r)
			fftwf_destroy_plan(p->c2r);
		tp_free(p);
		p = NULL;
		st = tp_err(TP_EINTERNAL, "FFTW could not plan a %ux%u transform", h, w);
		goto out;
	}
	p->next = plan_cache;
	plan_cache = p;
out:
	pthread_mutex_unlock(&plan_lock);
	tp_free(raw);
	*out = p;
	return st;
}

void nn_fft_cleanup(void)
{
	pthread_mutex_lock(&plan_lock);
	while (plan_cache) {
		struct nn_fft_plan *p = plan_cache;
		plan_cache = p->next;
		fftwf_destroy_plan(p->r2c);
		fftwf_destroy_plan(p->c2r);
		tp_free(p);
	}
	pthread_mutex_unlock(&plan_lock);
}

size_t nn_fu_scratch(uint32_t c, uint32_t h, uint32_t w)
{
	return 2 * nn_align((size_t)2 * c * h * (w / 2 + 1));
}

struct fu_job {
	const struct nn_fft_plan *plan;
	const struct nn_exec *ex;
	const float *a;
	float *f, *s, *t;
	uint32_t h, w;
	float sc;
};

/* Channel k: S[2k] = Re rfft2(a[k]) * sc, S[2k+1] = Im ... */
static void fu_forward(void *ctx, uint32_t k, uint32_t tid)
{
	const struct fu_job *j = ctx;
	size_t hw = (size_t)j->h * j->w, hw2 = (size_t)j->h * (j->w / 2 + 1);
	float *real = nn_exec_slice(j->ex, tid), *cplx = real + nn_align(hw);
	float *re = j->s + 2 * k * hw2, *im = re + hw2;
	memcpy(real, j->a + k * hw, hw * sizeof *real);
	fftwf_execute_dft_r2c(j->plan->r2c, real, (fftwf_complex *)cplx);
	for (size_t i = 0; i < hw2; i++) {
		re[i] = cplx[2 * i] * j->sc;
		im[i] = cplx[2 * i + 1] * j->sc;
	}
}

/* Channel k: f[k] = a[k] + irfft2(T[2k] + i T[2k+1]) * sc. */
static void fu_inverse(void *ctx, uint32_t k, uint32_t tid)
{
	const struct fu_job *j = ctx;
	size_t hw = (size_t)j->h * j->w, hw2 = (size_t)j->h * (j->w / 2 + 1);
	float *real = nn_exec_slice(j->ex, tid), *cplx = real + nn_align(hw);
	const float *re = j->t + 2 * k * hw2, *im = re + hw2, *a = j->a + k * hw;
	float *f = j->f + k * hw;
	for (size_t i = 0; i < hw2; i++) {
		cplx[2 * i] = re[i] * j->sc;
		cplx[2 * i + 1] = im[i] * j->sc;
	}
	/* c2r overwrites cplx, which is scratch. */
	fftwf_execute_dft_c2r(j->plan->c2r, (fftwf_complex *)cplx, real);
	for (size_t i = 0; i < hw; i++)
		f[i] = a[i] + real[i];
}

void nn_fourier_unit(const struct nn_fft_plan *plan, const struct nn_fu *fu, const float *a,
		     float *f, uint32_t h, uint32_t w, float *shared, const struct nn_exec *ex)
{
	uint32_t c = fu->c;
	size_t hw2 = (size_t)h * (w / 2 + 1);
	/* 'ortho': both directions scaled by 1/sqrt(h*w); FFTW is unnormalised. */
	struct fu_job j = { plan, ex, a, f, shared, shared + nn_align(2 * c * hw2), h, w,
			    (float)(1.0 / sqrt((double)h * w)) };
	TP_ASSERT(plan->h == h && plan->w == w && ex->slice >= nn_fu_slice(h, w));
	tp_pool_run(ex->pool, c, fu_forward, &j);
	nn_gemm_par(ex, 2 * c, (uint32_t)hw2, 2 * c, fu->w, 2 * c, j.s, (uint32_t)hw2, 0.0f, j.t,
		    (uint32_t)hw2, fu->shift, 1);
	tp_pool_run(ex->pool, c, fu_inverse, &j);
}
