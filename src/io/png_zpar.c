/*
 * png_zpar.c - a PNG image's zlib stream (the IDAT data) made by several
 * threads, pigz style. The rows are cut into chunks of a fixed number of rows
 * (from the row size alone, never the thread count); each chunk's rows are
 * filtered (per row, the filter with the least sum of absolute signed bytes,
 * libpng's heuristic) and deflated as a raw stream of its own, primed with the
 * last 32 KiB of filtered bytes before it (deflateSetDictionary; the worker
 * filters those rows again itself, so no chunk waits for another), and ended
 * by Z_SYNC_FLUSH (an empty stored block, so the next chunk starts on a byte)
 * or, for the last, Z_FINISH. Joined behind one zlib header and followed by
 * the Adler-32 of all the filtered bytes (adler32_combine of the chunks'),
 * they are one valid zlib stream, the same bytes whatever the threads.
 * Memory: a few chunks of about CHUNK_BYTES each, never the image.
 */
#include "io_int.h"

#include <string.h>
#include <zlib.h>

/* The filter loops vectorise at -O3 (gcc's -O2 leaves them scalar); clang
 * has no such attribute and vectorises them at -O2 anyway. */
#if defined(__GNUC__) && !defined(__clang__)
#define ZPAR_O3 __attribute__((optimize("O3")))
#else
#define ZPAR_O3
#endif

#define CHUNK_BYTES ((size_t)512 << 10)   /* filtered bytes a chunk aims at */
#define DICT_BYTES 32768u                 /* deflate's window */

struct zchunk {
	struct io_par_item item;
	struct io_zpar *z;
	uint32_t y0, nrows;     /* the chunk's rows */
	uint32_t nctx;          /* rows before y0 held in front of them (the
				 * dictionary's rows, and the row above those) */
	uint8_t *raw;           /* (nctx + rows_per_chunk, row_bytes) big-endian samples */
	uint8_t *cand[5];       /* a row filtered each way (row_bytes + 1 each) */
	uint8_t *dict;          /* DICT_BYTES */
	z_stream zs;
	int zs_ready;
	uint8_t *out;           /* compressed bytes, out_len of out_cap */
	size_t out_len, out_cap;
	uLong adler;            /* of this chunk's filtered bytes */
	size_t in_len;          /* filtered bytes of this chunk */
	int zerr;               /* zlib's failure, or 0 */
};

struct io_zpar {
	struct io_zpar_spec sp;
	struct io_par *par;
	size_t rb;              /* bytes in a row */
	uint32_t rows_per_chunk, ctx_rows;
	uint8_t *zero;          /* a row of zeros: what is above the first */
	struct zchunk *ch;      /* nch slots, used as a ring */
	uint32_t nch, head, count;   /* oldest slot in flight, slots in flight */
	struct zchunk *fill;    /* the chunk taking rows, or NULL */
	uint32_t next_row;      /* rows given so far */
	uLong adler;
	int header_done;
	tp_status failed;
};

/* ---- filtering ---- */

/* Sum of the bytes of a filtered row read as signed: libpng's measure. */
/* (-O3 here: GCC vectorises these loops only then) */
ZPAR_O3 static unsigned sum_abs(const uint8_t *p, size_t n)
{
	unsigned s = 0;
	for (size_t i = 0; i < n; i++) {
		int v = (int8_t)p[i];
		s += (unsigned)(v < 0 ? -v : v);
	}
	return s;
}

/*
 * Filter `cur` (prev: the row above, zeros for the first) four ways into
 * cand[1..4] (None is cur itself) and return the one with the least sum,
 * its type byte in front: cand[k] is row_bytes + 1 bytes. Plain loops the
 * compiler vectorises.
 */
ZPAR_O3 static const uint8_t *filter_row(const uint8_t *cur, const uint8_t *prev, size_t rb,
				 uint32_t bpp, uint8_t *const cand[5])
{
	uint8_t *sub = cand[1] + 1, *up = cand[2] + 1, *avg = cand[3] + 1, *pae = cand[4] + 1;
	unsigned best_sum;
	size_t i, nb = bpp < rb ? bpp : rb;
	int best = 0;
	for (i = 0; i < nb; i++) {
		sub[i] = cur[i];
		up[i] = (uint8_t)(cur[i] - prev[i]);
		avg[i] = (uint8_t)(cur[i] - (prev[i] >> 1));
		pae[i] = (uint8_t)(cur[i] - prev[i]);
	}
	for (i = nb; i < rb; i++)
		sub[i] = (uint8_t)(cur[i] - cur[i - bpp]);
	for (i = nb; i < rb; i++)
		up[i] = (uint8_t)(cur[i] - prev[i]);
	for (i = nb; i < rb; i++)
		avg[i] = (uint8_t)(cur[i] - ((cur[i - bpp] + prev[i]) >> 1));
	for (i = nb; i < rb; i++) {
		int a = cur[i - bpp], b = prev[i], c = prev[i - bpp];
		int pa = b - c, pb = a - c, pc = a + b - 2 * c;
		pa = pa < 0 ? -pa : pa;
		pb = pb < 0 ? -pb : pb;
		pc = pc < 0 ? -pc : pc;
		pae[i] = (uint8_t)(cur[i] - (pa <= pb && pa <= pc ? a : pb <= pc ? b : c));
	}
	memcpy(cand[0] + 1, cur, rb);
	best_sum = sum_abs(cur, rb);
	for (int f = 1; f < 5; f++) {
		unsigned s = sum_abs(cand[f] + 1, rb);
		if (s < best_sum) {
			best_sum = s;
			best = f;
		}
	}
	cand[best][0] = (uint8_t)best;
	return cand[best];
}

/* ---- one chunk, on a worker ---- */

static int deflate_some(struct zchunk *c, const uint8_t *in, size_t n, int flush)
{
	c->zs.next_in = (Bytef *)in;
	c->zs.avail_in = (uInt)n;
	for (;;) {
		int rc;
		if (c->out_cap - c->out_len < 4096) {
			size_t cap = c->out_cap * 2 + 65536;
			uint8_t *o = tp_realloc(c->out, cap);
			if (!o)
				return Z_MEM_ERROR;
			c->out = o;
			c->out_cap = cap;
		}
		c->zs.next_out = c->out + c->out_len;
		c->zs.avail_out = (uInt)(c->out_cap - c->out_len);
		rc = deflate(&c->zs, flush);
		c->out_len = c->out_cap - c->zs.avail_out;
		if (rc == Z_STREAM_END)
			return Z_OK;
		if (rc != Z_OK && rc != Z_BUF_ERROR)
			return rc;
		if (c->zs.avail_in == 0 && c->zs.avail_out != 0)
			return Z_OK;
	}
}

static void chunk_work(struct io_par_item *it, uint32_t worker)
{
	struct zchunk *c = (struct zchunk *)it;
	struct io_zpar *z = c->z;
	size_t rb = z->rb, fb = rb + 1, dlen = 0;
	uint32_t bpp = z->sp.bpp, k;
	int last = c->y0 + c->nrows == z->sp.height, rc = Z_OK;
	(void)worker;
	c->zerr = 0;
	c->out_len = 0;
	if (c->y0 == 0) {
		/* the zlib header: 32 KiB window, the level's FLEVEL, no dictionary */
		int lv = z->sp.level, fl = lv < 2 || z->sp.strategy >= Z_HUFFMAN_ONLY ? 0
					   : lv < 6 ? 1 : lv == 6 ? 2 : 3;
		unsigned h = (0x78u << 8) | ((unsigned)fl << 6);
		if (!c->out && !(c->out = tp_malloc(c->out_cap = 65536))) {
			c->out_cap = 0;
			c->zerr = Z_MEM_ERROR;
			return;
		}
		h += 31 - h % 31;
		c->out[0] = (uint8_t)(h >> 8);
		c->out[1] = (uint8_t)h;
		c->out_len = 2;
	}
	c->in_len = 0;
	c->adler = adler32(0L, Z_NULL, 0);
	if (c->zs_ready)
		rc = deflateReset(&c->zs);
	else if ((rc = deflateInit2(&c->zs, z->sp.level, Z_DEFLATED, -15, 8, z->sp.strategy)) == Z_OK)
		c->zs_ready = 1;
	/* the dictionary: the filtered context rows (the first is only the row above) */
	for (k = c->y0 > c->nctx ? 1 : 0;
	     rc == Z_OK && k < c->nctx; k++) {
		const uint8_t *cur = c->raw + (size_t)k * rb, *prev = k ? cur - rb : z->zero;
		size_t keep;
		const uint8_t *f = filter_row(cur, prev, rb, bpp, c->cand);
		keep = fb < DICT_BYTES ? fb : DICT_BYTES;
		if (dlen + keep > DICT_BYTES) {
			size_t drop = dlen + keep - DICT_BYTES;
			memmove(c->dict, c->dict + drop, dlen - drop);
			dlen -= drop;
		}
		memcpy(c->dict + dlen, f + fb - keep, keep);
		dlen += keep;
	}
	if (rc == Z_OK && dlen)
		rc = deflateSetDictionary(&c->zs, c->dict, (uInt)dlen);
	for (uint32_t r = 0; rc == Z_OK && r < c->nrows; r++) {
		const uint8_t *cur = c->raw + (size_t)(c->nctx + r) * rb;
		const uint8_t *prev = c->y0 + r > 0 ? cur - rb : z->zero;
		const uint8_t *f = filter_row(cur, prev, rb, bpp, c->cand);
		c->adler = adler32(c->adler, f, (uInt)fb);
		c->in_len += fb;
		rc = deflate_some(c, f, fb, r + 1 < c->nrows ? Z_NO_FLUSH
				  : last ? Z_FINISH : Z_SYNC_FLUSH);
	}
	c->zerr = rc == Z_OK ? 0 : rc ? rc : Z_STREAM_ERROR;
}

/* ---- the caller's side ---- */

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

tp_status io_zpar_new(const struct io_zpar_spec *sp, struct io_zpar **out)
{
	struct io_zpar *z = tp_calloc(1, sizeof *z);
	size_t fb;
	uint32_t threads;
	tp_status s;
	*out = NULL;
	if (!z)
		return tp_err(TP_ENOMEM, "%s: out of memory", sp->name);
	z->sp = *sp;
	z->rb = sp->row_bytes;
	fb = z->rb + 1;
	z->rows_per_chunk = (uint32_t)(CHUNK_BYTES / fb ? CHUNK_BYTES / fb : 1);
	z->ctx_rows = (uint32_t)((DICT_BYTES + fb - 1) / fb) + 1;
	z->adler = adler32(0L, Z_NULL, 0);
	/* at most IO_PAR_MAX_THREADS threads, and two chunks each in flight:
	 * memory stays a few MiB whatever -j */
	threads = sp->threads < IO_PAR_MAX_THREADS ? sp->threads : IO_PAR_MAX_THREADS;
	if ((s = io_par_new(threads, &z->par)) != TP_OK) {
		tp_free(z);
		return tp_err(s, "%s: %s", sp->name, tp_errmsg());
	}
	z->nch = threads > 1 ? 2 * threads + 2 : 2;
	z->ch = tp_calloc(z->nch, sizeof *z->ch);
	z->zero = tp_calloc(1, z->rb);
	if (!z->ch || !z->zero)
		goto oom;
	for (uint32_t i = 0; i < z->nch; i++) {
		struct zchunk *c = &z->ch[i];
		c->z = z;
		c->item.work = chunk_work;
		c->raw = tp_malloc_large((size_t)(z->ctx_rows + z->rows_per_chunk) * z->rb);
		c->dict = tp_malloc(DICT_BYTES);
		if (!c->raw || !c->dict)
			goto oom;
		for (int k = 0; k < 5; k++)
			if (!(c->cand[k] = tp_malloc(fb)))
				goto oom;
	}
	*out = z;
	return TP_OK;
oom:
	io_zpar_free(z);
	return tp_err(TP_ENOMEM, "%s: out of memory for the PNG encoder", sp->name);
}

/* The oldest chunk in flight: wait for it and hand its bytes on. */
TP_MUST_USE static tp_status retire(struct io_zpar *z)
{
	struct zchunk *c = &z->ch[z->head];
	tp_status s;
	io_par_wait(z->par, &c->item);
	z->head = (z->head + 1) % z->nch;
	z->count--;
	if (c->zerr)
		return tp_err(c->zerr == Z_MEM_ERROR ? TP_ENOMEM : TP_EINTERNAL,
			      "%s: deflate failed (zlib error %d)", z->sp.name, c->zerr);
	z->adler = adler32_combine(z->adler, c->adler, (z_off_t)c->in_len);
	if (c->y0 + c->nrows == z->sp.height) {
		if (c->out_cap - c->out_len < 4) {
			uint8_t *o = tp_realloc(c->out, c->out_len + 4);
			if (!o)
				return tp_err(TP_ENOMEM, "%s: out of memory", z->sp.name);
			c->out = o;
			c->out_cap = c->out_len + 4;
		}
		put_be32(c->out + c->out_len, (uint32_t)z->adler);
		c->out_len += 4;
	}
	s = z->sp.emit(z->sp.ctx, c->out, c->out_len);
	return s;
}

tp_status io_zpar_row(struct io_zpar *z, const uint8_t *src)
{
	struct zchunk *c = z->fill, *prev;
	uint8_t *dst;
	tp_status s;
	if (z->failed)
		return z->failed;
	if (z->next_row >= z->sp.height)
		return tp_err(TP_EUSAGE, "%s: more rows than the image has", z->sp.name);
	if (!c) {
		c = z->fill = &z->ch[(z->head + z->count) % z->nch];
		c->y0 = 0;
		c->nctx = 0;
		c->nrows = 0;
	}
	dst = c->raw + (size_t)(c->nctx + c->nrows) * z->rb;
	if (z->sp.swap16) {
		for (size_t i = 0; i + 1 < z->rb; i += 2) {
			dst[i] = src[i + 1];
			dst[i + 1] = src[i];
		}
	} else {
		memcpy(dst, src, z->rb);
	}
	c->nrows++;
	z->next_row++;
	if (c->nrows < z->rows_per_chunk && z->next_row < z->sp.height)
		return TP_OK;
	/* the chunk is full: to the workers, and its last rows to the next one */
	z->count++;
	io_par_submit(z->par, &c->item);
	z->fill = NULL;
	if (z->next_row == z->sp.height)
		return TP_OK;
	if (z->count == z->nch && (s = retire(z)) != TP_OK)
		return z->failed = s;
	prev = c;
	c = z->fill = &z->ch[(z->head + z->count) % z->nch];
	c->y0 = z->next_row;
	c->nctx = z->next_row < z->ctx_rows ? z->next_row : z->ctx_rows;
	c->nrows = 0;
	/* prev's raw is read-only for its worker: reading it here is safe */
	memcpy(c->raw, prev->raw + (size_t)(prev->nctx + prev->nrows - c->nctx) * z->rb,
	       (size_t)c->nctx * z->rb);
	return TP_OK;
}

tp_status io_zpar_finish(struct io_zpar *z)
{
	tp_status s;
	if (z->failed)
		return z->failed;
	if (z->next_row != z->sp.height)
		return tp_err(TP_EUSAGE, "%s: %u of %u rows written", z->sp.name, z->next_row,
			      z->sp.height);
	while (z->count)
		if ((s = retire(z)) != TP_OK)
			return z->failed = s;
	return TP_OK;
}

void io_zpar_free(struct io_zpar *z)
{
	if (!z)
		return;
	for (uint32_t i = 0; z->ch && i < z->nch; i++) {
		struct zchunk *c = &z->ch[i];
		if (z->par)
			io_par_wait(z->par, &c->item);
		if (c->zs_ready)
			deflateEnd(&c->zs);
		tp_free_large(c->raw, (size_t)(z->ctx_rows + z->rows_per_chunk) * z->rb);
		for (int k = 0; k < 5; k++)
			tp_free(c->cand[k]);
		tp_free(c->dict);
		tp_free(c->out);
	}
	tp_free(z->ch);
	tp_free(z->zero);
	io_par_free(z->par);
	tp_free(z);
}
