/*
 * fft.c - the FourierUnit on FFTW single precision, and the process-wide plan
 * cache. FFTW's planner is not thread-safe (only the execute functions are),
 * so every plan is made under plan_lock; plans are FFTW_ESTIMATE, which never
 * times anything, so the same shape always gets the same algorithm and the
 * same bytes. Plans are made for 64-byte aligned arrays, and all arena
 * buffers are 64-byte aligned, so the new-array execute functions are valid.
 */
#include "nn.h"

#include <fftw3.h>
#include <math.h>
#include <pthread.h>
#include <string.h>

struct nn_fft_plan {
	uint32_t c, h, w;           /* channels, rows, columns of the real input */
	fftwf_plan r2c, c2r;        /* (c, h, w) real <-> (c, h, w/2+1) complex */
	struct nn_fft_plan *next;   /* cache list */
};

static pthread_mutex_t plan_lock = PTHREAD_MUTEX_INITIALIZER;
static struct nn_fft_plan *plan_cache;

tp_status nn_fft_plan_get(uint32_t c, uint32_t h, uint32_t w, const struct nn_fft_plan **out)
{
	tp_status st = TP_OK;
	struct nn_fft_plan *p;
	void *real_raw = NULL, *cplx_raw = NULL;
	size_t w2 = w / 2 + 1;
	pthread_mutex_lock(&plan_lock);
	for (p = plan_cache; p; p = p->next)
		if (p->c == c && p->h == h && p->w == w)
			goto out;
	p = tp_calloc(1, sizeof *p);
	real_raw = tp_malloc((size_t)c * h * w * sizeof(float) + 64);
	cplx_raw = tp_malloc((size_t)c * h * w2 * sizeof(fftwf_complex) + 64);
	if (!p || !real_raw || !cplx_raw) {
		tp_free(p);
		p = NULL;
		st = tp_err(TP_ENOMEM, "out of memory planning the FFT for %ux%ux%u", c, h, w);
		goto out;
	}
	{
		float *real = (float *)(((uintptr_t)real_raw + 63) & ~(uintptr_t)63);
		fftwf_complex *cplx = (fftwf_complex *)(((uintptr_t)cplx_raw + 63) & ~(uintptr_t)63);
		int n[2] = { (int)h, (int)w };
		p->c = c;
		p->h = h;
		p->w = w;
		p->r2c = fftwf_plan_many_dft_r2c(2, n, (int)c, real, NULL, 1, (int)(h * w), cplx,
						 NULL, 1, (int)(h * w2), FFTW_ESTIMATE);
		p->c2r = fftwf_plan_many_dft_c2r(2, n, (int)c, cplx, NULL, 1, (int)(h * w2), real,
						 NULL, 1, (int)(h * w), FFTW_ESTIMATE);
	}
	if (!p->r2c || !p->c2r) {
		if (p->r2c)
			fftwf_destroy_plan(p->r2c);
		if (p->c2r)
			fftwf_destroy_plan(p->c2r);
		tp_free(p);
		p = NULL;
		st = tp_err(TP_EINTERNAL, "FFTW could not plan a %ux%u transform of %u channels",
			    h, w, c);
		goto out;
	}
	p->next = plan_cache;
	plan_cache = p;
out:
	pthread_mutex_unlock(&plan_lock);
	tp_free(real_raw);
	tp_free(cplx_raw);
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
	size_t spec = (size_t)2 * c * h * (w / 2 + 1);
	return 3 * nn_align(spec);
}

void nn_fourier_unit(const struct nn_fft_plan *plan, const struct nn_fu *fu, const float *a,
		     float *f, uint32_t h, uint32_t w, float *scratch)
{
	uint32_t c = fu->c;
	size_t hw2 = (size_t)h * (w / 2 + 1);
	size_t spec = 2 * c * hw2;
	float *cbuf = scratch;                   /* (c, h, w/2+1) complex, interleaved re,im */
	float *s = scratch + nn_align(spec);     /* (2c, h*(w/2+1)): channel 2k = re, 2k+1 = im */
	float *t = s + nn_align(spec);           /* spectral conv output, same layout */
	/* 'ortho': both directions scaled by 1/sqrt(h*w); FFTW is unnormalised. */
	float sc = (float)(1.0 / sqrt((double)h * w));
	TP_ASSERT(plan->c == c && plan->h == h && plan->w == w);

	fftwf_execute_dft_r2c(plan->r2c, (float *)a, (fftwf_complex *)cbuf);
	for (uint32_t k = 0; k < c; k++) {
		const float *src = cbuf + 2 * k * hw2;
		float *re = s + 2 * k * hw2, *im = re + hw2;
		for (size_t i = 0; i < hw2; i++) {
			re[i] = src[2 * i] * sc;
			im[i] = src[2 * i + 1] * sc;
		}
	}
	nn_gemm(2 * c, (uint32_t)hw2, 2 * c, fu->w, 2 * c, s, (uint32_t)hw2, 0.0f, t,
		(uint32_t)hw2);
	nn_shift_act(t, 2 * c, hw2, hw2, fu->shift, 1);
	for (uint32_t k = 0; k < c; k++) {
		float *dst = cbuf + 2 * k * hw2;
		const float *re = t + 2 * k * hw2, *im = re + hw2;
		for (size_t i = 0; i < hw2; i++) {
			dst[2 * i] = re[i] * sc;
			dst[2 * i + 1] = im[i] * sc;
		}
	}
	/* c2r overwrites cbuf, which is scratch. */
	fftwf_execute_dft_c2r(plan->c2r, (fftwf_complex *)cbuf, f);
}
