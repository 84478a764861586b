/*
 * runs.c - a binary mask as runs of set pixels, row by row, kept while it
 * stays under a byte budget. A sparse mask (dust, scratches, DEM holes) is a
 * few runs a row, so the passes after the first one (the band loop, the
 * guide, a replan under --mem-limit) rebuild each row from a few words
 * instead of decoding, binarising and dilating the mask file again.
 */
#include "tiler.h"

#include <string.h>

static int drop(struct tiler_runs *r);

struct tiler_runs {
	uint32_t width, height;
	uint32_t rows;            /* rows added so far */
	size_t budget;            /* the most bytes runs + row offsets may take */
	int dropped;              /* over budget: nothing kept, adds ignored */
	size_t *row_off;          /* (height + 1) first run of each row in `run` */
	uint32_t *run;            /* (nrun, 2) x0 and x1 (exclusive) of each run */
	size_t nrun, cap;         /* runs held and allocated */
};

tp_status tiler_runs_new(uint32_t width, uint32_t height, size_t budget, struct tiler_runs **out)
{
	struct tiler_runs *r;
	*out = NULL;
	if (width == 0 || height == 0)
		return tp_err(TP_EUSAGE, "runs: empty mask");
	r = tp_calloc(1, sizeof *r);
	if (!r)
		return tp_err(TP_ENOMEM, "runs: out of memory");
	r->width = width;
	r->height = height;
	r->budget = budget;
	if ((size_t)height + 1 > budget / sizeof *r->row_off ||
	    !(r->row_off = tp_malloc(((size_t)height + 1) * sizeof *r->row_off)))
		r->dropped = 1;   /* not even the row offsets fit: a mask streamed each time */
	else
		r->row_off[0] = 0;
	*out = r;
	return TP_OK;
}

void tiler_runs_free(struct tiler_runs *r)
{
	if (!r)
		return;
	tp_free(r->row_off);
	tp_free(r->run);
	tp_free(r);
}

void tiler_runs_drop(struct tiler_runs *r)
{
	(void)drop(r);
}

/* Give up keeping runs: free them; later adds are ignored. */
static int drop(struct tiler_runs *r)
{
	tp_free(r->run);
	tp_free(r->row_off);
	r->run = NULL;
	r->row_off = NULL;
	r->nrun = r->cap = 0;
	r->dropped = 1;
	return 0;
}

/* Room for one more run, doubling within the budget; 0 when there is none. */
static int reserve(struct tiler_runs *r)
{
	size_t fixed = ((size_t)r->height + 1) * sizeof *r->row_off, want;
	uint32_t *p;
	if (r->nrun < r->cap)
		return 1;
	want = r->cap ? r->cap * 2 : 1024;
	if (want * 2 * sizeof *r->run > r->budget - fixed)
		want = (r->budget - fixed) / (2 * sizeof *r->run);
	if (want <= r->nrun || !(p = tp_realloc(r->run, want * 2 * sizeof *r->run)))
		return 0;
	r->run = p;
	r->cap = want;
	return 1;
}

int tiler_runs_add(struct tiler_runs *r, const uint8_t *row)
{
	size_t w = r->width, x;
	if (r->dropped || r->rows >= r->height)
		return 0;
	for (x = tp_next_set(row, 0, w); x < w;) {
		size_t e = x + 1;
		while (e < w && row[e])
			e++;
		if (!reserve(r))
			return drop(r);
		r->run[2 * r->nrun] = (uint32_t)x;
		r->run[2 * r->nrun + 1] = (uint32_t)e;
		r->nrun++;
		x = tp_next_set(row, e, w);
	}
	r->row_off[++r->rows] = r->nrun;
	return 1;
}

int tiler_runs_complete(const struct tiler_runs *r)
{
	return r && !r->dropped && r->rows == r->height;
}

size_t tiler_runs_bytes(const struct tiler_runs *r)
{
	if (!r || r->dropped)
		return 0;
	return ((size_t)r->height + 1) * sizeof *r->row_off + r->cap * 2 * sizeof *r->run;
}

uint64_t tiler_runs_row(const struct tiler_runs *r, uint32_t y, uint8_t *dst)
{
	uint64_t n = 0;
	TP_ASSERT(tiler_runs_complete(r) && y < r->height);
	memset(dst, 0, r->width);
	for (size_t i = r->row_off[y]; i < r->row_off[y + 1]; i++) {
		uint32_t x0 = r->run[2 * i], x1 = r->run[2 * i + 1];
		memset(dst + x0, 1, x1 - x0);
		n += x1 - x0;
	}
	return n;
}
