/*
 * quality_run.c - stand-in driver for the quality benchmark until the
 * tilepaint pipeline lands: runs one engine over an image in overlapping
 * tiles (the engine's default_tile and context), blends the overlaps with
 * ramp weights and composites, so the engines can be measured alone.
 * Reads and writes binary PNM (P5/P6, 8 or 16 bit); mask: P5, non-zero = fill.
 *
 *   quality_run ENGINE PARAMS|- IN.pnm MASK.pgm OUT.pnm [TILE]
 * Prints "engine_ms=<ms> tiles=<n>" on stdout.
 */
#include "src/engines/engine.h"
#include "src/engines/harmonic_int.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

struct pnm {
	uint32_t w, h, c, maxv;
	float *pix;        /* (h, w, c), [0,1] */
};

static int pnm_tok(FILE *f, uint32_t *v)
{
	int ch;
	do {
		ch = fgetc(f);
		if (ch == '#')
			while (ch != '\n' && ch != EOF)
				ch = fgetc(f);
	} while (ch != EOF && isspace(ch));
	if (ch == EOF || !isdigit(ch))
		return -1;
	*v = 0;
	while (ch != EOF && isdigit(ch)) {
		*v = *v * 10 + (uint32_t)(ch - '0');
		ch = fgetc(f);
	}
	return 0;
}

static int pnm_read(const char *path, struct pnm *p)
{
	FILE *f = fopen(path, "rb");
	char m[2];
	size_t n;
	if (!f || fread(m, 1, 2, f) != 2 || m[0] != 'P' || (m[1] != '5' && m[1] != '6')) {
		fprintf(stderr, "quality_run: %s: not a binary PNM\n", path);
		if (f) fclose(f);
		return -1;
	}
	p->c = m[1] == '6' ? 3 : 1;
	if (pnm_tok(f, &p->w) || pnm_tok(f, &p->h) || pnm_tok(f, &p->maxv) || !p->w || !p->h ||
	    (p->maxv != 255 && p->maxv != 65535)) {
		fprintf(stderr, "quality_run: %s: bad PNM header\n", path);
		fclose(f);
		return -1;
	}
	n = (size_t)p->w * p->h * p->c;
	p->pix = malloc(n * sizeof(float));
	unsigned char *raw = malloc(n * (p->maxv > 255 ? 2 : 1));
	if (!p->pix || !raw || fread(raw, p->maxv > 255 ? 2 : 1, n, f) != n) {
		fprintf(stderr, "quality_run: %s: short read\n", path);
		fclose(f);
		free(raw);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		p->pix[i] = p->maxv > 255 ? (float)((raw[2 * i] << 8) | raw[2 * i + 1]) / 65535.0f
					  : (float)raw[i] / 255.0f;
	free(raw);
	fclose(f);
	return 0;
}

static int pnm_write(const char *path, const struct pnm *p)
{
	FILE *f = fopen(path, "wb");
	size_t n = (size_t)p->w * p->h * p->c;
	if (!f)
		return -1;
	fprintf(f, "P%c\n%u %u\n%u\n", p->c == 3 ? '6' : '5', p->w, p->h, p->maxv);
	for (size_t i = 0; i < n; i++) {
		float v = p->pix[i];
		uint32_t q = (uint32_t)((v < 0 ? 0 : v > 1 ? 1 : v) * (float)p->maxv + 0.5f);
		if (p->maxv > 255) {
			fputc((int)(q >> 8), f);
			fputc((int)(q & 255), f);
		} else {
			fputc((int)q, f);
		}
	}
	return fclose(f);
}

/* Ramp weight of tile pixel i (0..n-1) in one axis: full inside, rising over
 * `ov` pixels at a tile side that is not the image edge. */
static float ramp(uint32_t i, uint32_t n, uint32_t ov, int lo_edge, int hi_edge)
{
	float w = 1;
	if (!lo_edge && i < ov)
		w = (float)(i + 1) / (float)(ov + 1);
	if (!hi_edge && n - 1 - i < ov) {
		float v = (float)(n - i) / (float)(ov + 1);
		if (v < w)
			w = v;
	}
	return w;
}

int main(int argc, char **argv)
{
	struct pnm img = {0}, msk = {0};
	const struct engine_ops *e;
	struct engine_options opt = { .threads = 1 };
	void *st = NULL, *wk = NULL;
	uint32_t T, ov, step, C;
	double ms = 0;
	long ntiles = 0;
	float *acc, *wsum, *tpix;
	uint8_t *mask, *tmask;

	if (argc < 6) {
		fprintf(stderr, "usage: quality_run ENGINE PARAMS|- IN.pnm MASK.pgm OUT.pnm [TILE]\n");
		return 64;
	}
	if (!(e = engine_find(argv[1]))) {
		fprintf(stderr, "quality_run: unknown engine %s\n", argv[1]);
		return 64;
	}
	if (strcmp(argv[2], "-") != 0)
		opt.params = argv[2];
	if (pnm_read(argv[3], &img) || pnm_read(argv[4], &msk))
		return 66;
	if (msk.c != 1 || msk.w != img.w || msk.h != img.h) {
		fprintf(stderr, "quality_run: mask must be a gray image of the same size\n");
		return 65;
	}
	T = argc > 6 ? (uint32_t)atoi(argv[6]) : e->default_tile;
	ov = e->context;
	if (T < 3 * ov)
		T = 3 * ov;
	step = T - ov;
	C = img.c;
	mask = malloc((size_t)img.w * img.h);
	acc = calloc((size_t)img.w * img.h * C, sizeof(float));
	wsum = calloc((size_t)img.w * img.h, sizeof(float));
	tpix = malloc((size_t)T * T * C * sizeof(float));
	tmask = malloc((size_t)T * T);
	for (size_t i = 0; i < (size_t)img.w * img.h; i++)
		mask[i] = msk.pix[i] > 0.5f;
	if (e->open(&opt, &st) != TP_OK || (e->worker_new && e->worker_new(st, &wk) != TP_OK)) {
		fprintf(stderr, "quality_run: %s\n", tp_errmsg());
		return 78;
	}
	for (uint32_t ty = 0; ty < img.h; ty += step) {
		uint32_t th = img.h - ty < T ? img.h - ty : T;
		for (uint32_t tx = 0; tx < img.w; tx += step) {
			uint32_t tw = img.w - tx < T ? img.w - tx : T;
			int any = 0;
			struct engine_tile t;
			for (uint32_t y = 0; y < th; y++)
				for (uint32_t x = 0; x < tw; x++) {
					size_t k = (size_t)(ty + y) * img.w + tx + x;
					tmask[(size_t)y * tw + x] = mask[k];
					any |= mask[k];
					for (uint32_t c = 0; c < C; c++)
						tpix[((size_t)y * tw + x) * C + c] = mask[k] ? 0.0f : img.pix[k * C + c];
				}
			if (any) {
				memset(&t, 0, sizeof t);
				t.w = tw; t.h = th; t.channels = C; t.bits = img.maxv > 255 ? 16 : 8;
				t.pix = tpix; t.mask = tmask; t.x = (int32_t)tx; t.y = (int32_t)ty;
				t.seed = tp_hash_u64(tp_hash_u64(TP_HASH_INIT, tx), ty);
				double t0 = tp_now_ms();
				if (e->inpaint(st, wk, &t) != TP_OK) {
					fprintf(stderr, "quality_run: %s\n", tp_errmsg());
					return 70;
				}
				ms += tp_now_ms() - t0;
				if (getenv("QUALITY_DEBUG") && strcmp(e->name, "harmonic") == 0) {
					int dct;
					long it = harmonic_worker_last_iters(wk, &dct);
					fprintf(stderr, "tile %u,%u: %ld iterations, %s\n", tx, ty, it, dct ? "dct" : "jacobi");
				}
				ntiles++;
				for (uint32_t y = 0; y < th; y++)
					for (uint32_t x = 0; x < tw; x++) {
						size_t k = (size_t)(ty + y) * img.w + tx + x;
						if (!mask[k])
							continue;
						float wgt = ramp(x, tw, ov, tx == 0, tx + tw == img.w) *
							    ramp(y, th, ov, ty == 0, ty + th == img.h);
						for (uint32_t c = 0; c < C; c++)
							acc[k * C + c] += wgt * tpix[((size_t)y * tw + x) * C + c];
						wsum[k] += wgt;
					}
			}
			if (tx + tw == img.w)
				break;
		}
		if (ty + th == img.h)
			break;
	}
	for (size_t k = 0; k < (size_t)img.w * img.h; k++)
		if (mask[k] && wsum[k] > 0)
			for (uint32_t c = 0; c < C; c++)
				img.pix[k * C + c] = acc[k * C + c] / wsum[k];
	if (e->worker_free)
		e->worker_free(wk);
	if (e->close)
		e->close(st);
	if (pnm_write(argv[5], &img)) {
		fprintf(stderr, "quality_run: %s: %s\n", argv[5], strerror(errno));
		return 73;
	}
	printf("engine_ms=%.1f tiles=%ld\n", ms, ntiles);
	free(img.pix); free(msk.pix); free(mask); free(acc); free(wsum); free(tpix); free(tmask);
	return 0;
}
