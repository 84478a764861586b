/*
 * tiff.c - TIFF reader and writer on libtiff 4.5 (first directory only).
 * Reader: 1-4 samples of 1/2/4/8/16 bits (below 8 only for one sample), or
 * one band of signed 16-bit integers or 32-bit floats (delivered as stored),
 * gray (min-is-black or min-is-white, inverted), RGB, palette (expanded to
 * RGB), JPEG-compressed YCbCr (decoded as RGB); strips contiguous by scanline,
 * separate planes one strip per plane at a time, tiles one row of tiles at a
 * time, so memory stays O(width x strip or tile height).
 * libtiff's messages go to per-handle handlers into tp_err; it never prints.
 *
 * Writer: given the metadata of an open TIFF reader (of the same size and
 * samples), it mirrors that reader's file: tiles of the same size or strips
 * of the same rows, its compression (JPEG at the quality of its tables),
 * predictor, photometric (palette re-indexed to the nearest colour,
 * min-is-white inverted back, 1/2/4 bits packed back), planar layout, sample
 * format, extra samples, byte order, BigTIFF, and every tag tiff_tags.c
 * captured; a band of one tile height (or strip) is buffered, since rows
 * arrive in order. Otherwise (PNG or JPEG in): strips of about 256 KiB,
 * deflate unless told, the io_meta's ICC, XMP, resolution and text.
 */
#include "tiff_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>

/* Most bytes held for one band of strips (separate planes) or one row of tiles. */
#define IO_TIFF_MAX_BAND ((size_t)1 << 31)
/* Tile width and length (the spec has no maximum; 256-1024 is usual). */
#define IO_TIFF_MAX_TILE_SIDE 65536u
/* A band (and tile) may need at most this many bytes per byte of file: no
 * lossless codec libtiff has for our layouts expands more than about 4000:1
 * (deflate 1032:1, LZW and PackBits less), so a file that declares more is a
 * bomb or truncated; below IO_TIFF_BAND_FREE bytes nobody cares. */
#define IO_TIFF_MAX_RATIO 4096u
#define IO_TIFF_BAND_FREE ((size_t)64 << 20)

enum tiff_mode { MODE_SCANLINE, MODE_STRIPS_SEPARATE, MODE_TILES };

/* How a file stores its pixels: what a writer mirroring it repeats. */
struct tiff_layout {
	uint16_t compression, predictor, photometric, planar, bps, spp, fillorder;
	uint16_t sampleformat;      /* 0: the file has no SampleFormat tag */
	uint16_t nextra, extra[4];  /* ExtraSamples */
	uint16_t ycbcr_sub[2];      /* YCbCrSubsampling (JPEG YCbCr) */
	uint32_t fax_options;       /* Group3Options / Group4Options */
	int tiled;
	uint32_t tw, th, rps;       /* tile size, or rows per strip */
	int bigtiff, msb;           /* BigTIFF; big-endian ("MM") */
	int jpeg_quality;           /* JPEG: the quality its tables were made at, 0 unknown */
	int jpeg_tables_mode;       /* JPEG: what JPEGTables holds (JPEGTABLESMODE_*), 0 unknown */
};

/*
 * What an open TIFF reader keeps for a writer that mirrors its file: the
 * layout, the palette and every tag. The reader's io_meta points to it
 * (tiff_source), so a writer given that metadata, or a copy of it, finds it;
 * it lives as long as the reader.
 */
struct tiff_mirror {
	char *path;
	struct io_info info;        /* what the reader delivers */
	struct tiff_layout lay;
	uint16_t *cmap;             /* palette: 3 x (1 << bps) entries, or NULL */
	int cmap8;
	struct tiff_tags *tags;
};

struct tiff_ctx {
	TIFF *tif;
	TIFFOpenOptions *topts;
	struct tiff_msgs m;        /* libtiff's errors and warnings on this handle */
	/* reader layout */
	uint16_t spp, bps, photometric, planar;
	uint16_t *cmap[3];         /* palette (borrowed from libtiff), 1 << bps entries */
	int cmap8;                 /* palette holds 8-bit values (old writers) */
	enum tiff_mode mode;
	uint32_t nplanes;          /* 1 contiguous, spp separate */
	uint32_t band_y0, band_h;  /* rows held in `band` (strips or a tile row) */
	int band_valid;
	uint32_t block_h;          /* rows per strip or tile height */
	uint32_t tw, ntx;          /* tile width, tiles across */
	size_t block_size;         /* bytes per strip or tile of one plane */
	size_t plane_row;          /* bytes of one row of one plane inside band */
	uint8_t *band;             /* strips: nplanes x block_h rows of plane_row bytes;
				    * tiles: tile-major, nplanes x ntx tiles of block_size
				    * bytes (plane p's tile tx at (p * ntx + tx) * block_size) */
	uint8_t *band2;            /* tiles: the other band (read ahead, or being flushed) */
	uint8_t *tile;             /* one decoded tile (JPEG writer without threads) */
	uint8_t *line;             /* scanline / writer row copy; tiles: nplanes x plane_row,
				    * a row gathered from the tiles for converting */
	/* tiles, reader: the band after band_y0 decoded into band2 on `bg`
	 * (only that thread uses tif while it runs); ahead_ok 0: it failed, m
	 * says why. Writer: band2 (fl_rows rows from fl_y0, its touched2)
	 * written on `bg` while the caller fills band; only that thread uses
	 * tif, rawsrc, m and the tile jobs while it runs */
	struct io_bg *bg;
	uint32_t ahead_y0;
	int ahead_ok;
	struct io_writer *fl_w;
	uint32_t fl_y0, fl_rows;
	struct tiff_mirror *mirror; /* reader: what a writer mirroring its file needs */
	/* writer mirroring a file: its layout, and the palette lookup */
	struct tiff_layout wl;
	uint32_t maxv;             /* largest stored sample (bps < 8) */
	int invert;                /* min-is-white: gray stored inverted */
	uint16_t *wcmap;           /* palette (copied), 1 << wl.bps entries a channel */
	int wcmap8;
	uint64_t *pal_key;         /* open hash: delivered colour + 1 -> index */
	int32_t *pal_idx;
	size_t pal_mask;
	uint64_t miss_key[1024];   /* nearest colours found (key + 1, 0: empty) */
	int32_t miss_idx[1024];
	/* raw tile copy: the mirrored file opened again, when the output's tiles
	 * are its tiles (same layout and codec); tiles of the band no changed
	 * pixel touches get its compressed bytes as they are */
	TIFF *rawsrc;
	uint8_t *touched;          /* (ntx) the band's tile column has a changed pixel */
	uint8_t *touched2;         /* (ntx) the same for the band being flushed */
	uint8_t *touched_buf;      /* owns both (2 x ntx) */
	uint8_t *rawbuf;           /* one tile's compressed bytes */
	size_t rawcap;
	uint64_t raw_copied;       /* tiles copied raw (tests, debug) */
	/* tiles encoded on threads (every codec but JPEG): a ring of jobs
	 * written in tile order */
	struct io_par *par;
	struct tile_job *jobs;
	uint32_t njobs, jhead, jcount;
	struct tile_enc *enc;      /* one per worker (io_par_workers) */
	uint32_t nenc;
	int plain_tiles;           /* uncompressed, stored order = packed order: a tile's
				    * bytes are its packed buffer, no encoder needed */
	/* contiguous strips encoded on the threads too: rows packed into the
	 * current job's own strip, each strip written in order */
	int strip_jobs;
	uint64_t unsynced;          /* bytes the jobs wrote since their disk writes were started */
	struct tile_job *strip_cur; /* the strip being filled, or NULL */
	uint32_t img_w;            /* the image's width (a strip encoder's) */
};

/* One tile on its way: packed by the caller, predicted and compressed by a
 * worker, written (or, raw, copied from the source) in tile order. */
struct tile_job {
	struct io_par_item item;
	struct tiff_ctx *c;
	uint32_t tile;
	int raw;                   /* copy the source's bytes instead */
	uint8_t *buf;              /* block_size bytes: the packed tile, in the band
				    * being flushed (the predictor works on it in place),
				    * or the job's own strip (strip_jobs) */
	uint8_t *own;              /* strip_jobs: buf, owned */
	size_t len;                /* bytes of buf to encode (a last strip is shorter) */
	uint8_t *out;              /* its encoded bytes */
	size_t out_len, out_cap;
	int zerr;                  /* encoding failed: msg says why */
	char msg[256];
};
static void tiff_jobs_free(struct tiff_ctx *c);
TP_MUST_USE static tp_status tiff_jobs_drain(struct io_writer *w, struct tiff_ctx *c);

static int tiff_on_error(TIFF *tif, void *ud, const char *module, const char *fmt, va_list ap)
{
	struct tiff_ctx *c = ud;
	(void)tif;
	(void)module;
	if (!c->m.nerr++) {
		c->m.err_errno = errno;   /* a failed write(2) just before, or 0 */
		vsnprintf(c->m.msg, sizeof c->m.msg, fmt, ap);
	}
	return 1; /* handled: libtiff prints nothing */
}

/* Warnings are kept (they say why libtiff dropped a tag), never printed. */
static int tiff_on_warning(TIFF *tif, void *ud, const char *module, const char *fmt, va_list ap)
{
	struct tiff_ctx *c = ud;
	size_t room = sizeof c->m.warn - c->m.nwarn;
	(void)tif;
	(void)module;
	if (room > 2) {
		int n = vsnprintf(c->m.warn + c->m.nwarn, room - 1, fmt, ap);
		if (n > 0) {
			c->m.nwarn += (size_t)n < room - 2 ? (size_t)n : room - 2;
			c->m.warn[c->m.nwarn++] = '\n';
			c->m.warn[c->m.nwarn] = 0;
		}
	}
	return 1; /* unknown tags and the like are not failures */
}

static void mirror_free(struct tiff_mirror *mi)
{
	if (!mi)
		return;
	tiff_tags_free(mi->tags);
	tp_free(mi->cmap);
	tp_free(mi->path);
	tp_free(mi);
}

static void tiff_ctx_free(void *state)
{
	struct tiff_ctx *c = state;
	if (!c)
		return;
	io_bg_free(c->bg);   /* joins a read-ahead or flush still running */
	if (c->tif)
		TIFFClose(c->tif);
	tiff_jobs_free(c);
	if (c->rawsrc)
		TIFFClose(c->rawsrc);
	tp_free(c->touched_buf);
	tp_free(c->rawbuf);
	if (c->topts)
		TIFFOpenOptionsFree(c->topts);
	mirror_free(c->mirror);
	tp_free(c->wcmap);
	tp_free(c->pal_key);
	tp_free(c->pal_idx);
	tp_free(c->band);
	tp_free(c->band2);
	tp_free(c->tile);
	tp_free(c->line);
	tp_free(c);
}

static struct tiff_ctx *tiff_ctx_new(void)
{
	struct tiff_ctx *c = tp_calloc(1, sizeof *c);
	if (!c)
		return NULL;
	tiff_tags_init();
	c->topts = TIFFOpenOptionsAlloc();
	if (!c->topts) {
		tp_free(c);
		return NULL;
	}
	TIFFOpenOptionsSetErrorHandlerExtR(c->topts, tiff_on_error, c);
	if (io_max_memory())
		TIFFOpenOptionsSetMaxSingleMemAlloc(c->topts, (tmsize_t)io_max_memory());
	TIFFOpenOptionsSetWarningHandlerExtR(c->topts, tiff_on_warning, c);
	return c;
}

static const char *tiff_msg(struct tiff_ctx *c)
{
	return c->m.nerr ? c->m.msg : "unknown libtiff error";
}

/* TIFF string tags carried as text pairs (PNG-style keys). */
static const struct {
	uint32_t tag;
	const char *key;
} text_tags[] = {
	{ TIFFTAG_IMAGEDESCRIPTION, "Description" },
	{ TIFFTAG_SOFTWARE, "Software" },
	{ TIFFTAG_ARTIST, "Author" },
	{ TIFFTAG_COPYRIGHT, "Copyright" },
	{ TIFFTAG_DATETIME, "Creation Time" },
	{ TIFFTAG_DOCUMENTNAME, "Title" },
};

/* ---- reader ---- */

TP_MUST_USE static tp_status tiff_read_meta(struct io_reader *r, struct tiff_ctx *c)
{
	uint32_t n;
	void *p;
	char *str;
	float xr, yr;
	uint16_t unit;
	tp_status s;

	if (TIFFGetField(c->tif, TIFFTAG_ICCPROFILE, &n, &p) && p && n)
		if ((s = io_check_bytes(r, "TIFF ICC profile", n)) ||
		    (s = io_meta_set_icc(r, p, n)))
			return s;
	if (TIFFGetField(c->tif, TIFFTAG_XMLPACKET, &n, &p) && p && n)
		if ((s = io_check_bytes(r, "TIFF XMP packet", n)) ||
		    (s = io_meta_set_xmp(r, p, n)))
			return s;
	if (TIFFGetField(c->tif, TIFFTAG_XRESOLUTION, &xr) &&
	    TIFFGetField(c->tif, TIFFTAG_YRESOLUTION, &yr) && xr > 0 && yr > 0) {
		if (!TIFFGetFieldDefaulted(c->tif, TIFFTAG_RESOLUTIONUNIT, &unit))
			unit = RESUNIT_INCH;
		r->meta.xres = xr;
		r->meta.yres = yr;
		r->meta.res_unit = unit == RESUNIT_INCH ? 1 : unit == RESUNIT_CENTIMETER ? 2 : 0;
	}
	for (size_t i = 0; i < sizeof text_tags / sizeof text_tags[0]; i++)
		if (TIFFGetField(c->tif, text_tags[i].tag, &str) && str)
			if ((s = io_meta_add_text(r, text_tags[i].key, str, strlen(str))))
				return s;
	return TP_OK;
}

/* Sample i of a packed row of `bps`-bit samples (MSB first below 8 bits). */
static uint32_t sample_at(const uint8_t *row, size_t i, uint16_t bps)
{
	switch (bps) {
	case 16: return ((const uint16_t *)(const void *)row)[i];
	case 8: return row[i];
	default: {
		size_t bit = i * bps;
		return (row[bit >> 3] >> (8 - bps - (bit & 7))) & ((1u << bps) - 1);
	}
	}
}

static int tiff_stored_as_delivered(const struct io_reader *r, const struct tiff_ctx *c);

/* Convert the raw plane rows of one image row into delivered samples. */
static void tiff_convert(struct io_reader *r, struct tiff_ctx *c, uint8_t *const *planes,
			 uint8_t *dst)
{
	uint32_t w = r->info.width, och = r->info.channels;
	uint32_t maxv = c->bps < 32 ? (1u << c->bps) - 1 : UINT32_MAX;
	int gray = c->photometric == PHOTOMETRIC_MINISBLACK || c->photometric == PHOTOMETRIC_MINISWHITE;
	uint16_t *d16 = (uint16_t *)(void *)dst;

	if (tiff_stored_as_delivered(r, c)) {
		/* one band of int16 or float32 (native order: libtiff swapped it),
		 * or the common 8/16-bit gray or RGB: one copy */
		memcpy(dst, planes[0], io_row_bytes(&r->info));
		return;
	}
	for (uint32_t x = 0; x < w; x++) {
		if (c->photometric == PHOTOMETRIC_PALETTE) {
			uint32_t v = sample_at(planes[0], x, c->bps);
			for (int k = 0; k < 3; k++) {
				uint32_t e = c->cmap[k][v];
				if (r->info.bits == 16)
					d16[(size_t)x * 3 + k] = (uint16_t)e;
				else
					dst[(size_t)x * 3 + k] = (uint8_t)(c->cmap8 ? e : e >> 8);
			}
			continue;
		}
		for (uint32_t k = 0; k < och; k++) {
			uint32_t v = c->nplanes == 1 ? sample_at(planes[0], (size_t)x * c->spp + k, c->bps)
						     : sample_at(planes[k], x, c->bps);
			if (c->photometric == PHOTOMETRIC_MINISWHITE && gray && k == 0)
				v = maxv - v;
			if (r->info.bits == 16)
				d16[(size_t)x * och + k] = (uint16_t)v;
			else
				dst[(size_t)x * och + k] = (uint8_t)(c->bps == 8 ? v : v * 255 / maxv);
		}
	}
}

/* Stored samples are the delivered ones (the common 8/16-bit gray or RGB,
 * and int16/float32 bands): rows are copied as they are. */
static int tiff_stored_as_delivered(const struct io_reader *r, const struct tiff_ctx *c)
{
	return r->info.sample != IO_SAMPLE_UINT ||
	       (c->nplanes == 1 && c->spp == r->info.channels && c->bps == r->info.bits &&
		c->photometric != PHOTOMETRIC_PALETTE && c->photometric != PHOTOMETRIC_MINISWHITE);
}

/* Decode the separate-plane strips holding row y into c->band. */
TP_MUST_USE static tp_status tiff_load_strips(struct io_reader *r, struct tiff_ctx *c, uint32_t y)
{
	uint32_t y0 = y - y % c->block_h;
	c->band_valid = 0;
	c->band_y0 = y0;
	c->band_h = r->info.height - y0 < c->block_h ? r->info.height - y0 : c->block_h;
	for (uint32_t p = 0; p < c->nplanes; p++) {
		uint8_t *plane = c->band + (size_t)p * c->block_h * c->plane_row;
		tmsize_t got = TIFFReadEncodedStrip(c->tif, TIFFComputeStrip(c->tif, y0, (uint16_t)p),
						    plane, (tmsize_t)(c->plane_row * c->block_h));
		if (got < 0)
			return tp_err(TP_EFORMAT, "%s: row %u: corrupt or truncated TIFF strip (%s)",
				      r->path, y, tiff_msg(c));
	}
	c->band_valid = 1;
	return TP_OK;
}

/* Decode the row of tiles from y0 into dst, tile-major, straight from
 * libtiff (no copy: an uncompressed tile is read into place). 0 when a tile
 * fails (c->m says why). Runs on the read-ahead thread or the caller's,
 * never both at once. */
static int tiff_decode_tiles(struct tiff_ctx *c, uint32_t y0, uint8_t *dst)
{
	c->m.nerr = 0;
	for (uint32_t p = 0; p < c->nplanes; p++)
		for (uint32_t tx = 0; tx < c->ntx; tx++) {
			uint8_t *tile = dst + ((size_t)p * c->ntx + tx) * c->block_size;
			if (TIFFReadEncodedTile(c->tif, TIFFComputeTile(c->tif, tx * c->tw, y0, 0,
									(uint16_t)p),
						tile, (tmsize_t)c->block_size) < 0)
				return 0;
		}
	return 1;
}

static tp_status tiff_read_ahead(void *ctx)
{
	struct tiff_ctx *c = ctx;
	c->ahead_ok = tiff_decode_tiles(c, c->ahead_y0, c->band2);
	return TP_OK;
}

/* Make c->band hold the row of tiles with row y: the band read ahead when it
 * is that one, else decoded now; then start reading the next one ahead. */
TP_MUST_USE static tp_status tiff_load_tiles(struct io_reader *r, struct tiff_ctx *c, uint32_t y)
{
	uint32_t y0 = y - y % c->block_h;
	int ok;
	c->band_valid = 0;
	if (io_bg_busy(c->bg)) {
		if (io_bg_wait(c->bg) != TP_OK)
			return TP_EINTERNAL;   /* (the read-ahead itself never fails so) */
	}
	if (c->bg && c->ahead_y0 == y0 && c->ahead_ok >= 0) {
		uint8_t *t = c->band;
		c->band = c->band2;
		c->band2 = t;
		ok = c->ahead_ok;
	} else {
		ok = tiff_decode_tiles(c, y0, c->band);
	}
	c->ahead_ok = -1;
	if (!ok)
		return tp_err(TP_EFORMAT, "%s: row %u: corrupt or truncated TIFF tile (%s)",
			      r->path, y, tiff_msg(c));
	c->band_y0 = y0;
	c->band_h = r->info.height - y0 < c->block_h ? r->info.height - y0 : c->block_h;
	c->band_valid = 1;
	if (c->bg && y0 + c->block_h < r->info.height) {
		c->ahead_y0 = y0 + c->block_h;
		io_bg_start(c->bg, tiff_read_ahead, c);
	}
	return TP_OK;
}

/* Row y of plane p, gathered from the band's tiles into out (n bytes). */
static void tiff_gather_row(const struct tiff_ctx *c, uint32_t p, uint32_t y, uint8_t *out,
			    size_t n)
{
	size_t trow = c->block_size / c->block_h;
	const uint8_t *src = c->band + (size_t)p * c->ntx * c->block_size +
			     (size_t)(y - c->band_y0) * trow;
	for (size_t off = 0; off < n; off += trow, src += c->block_size)
		memcpy(out + off, src, n - off < trow ? n - off : trow);
}

TP_MUST_USE static tp_status tiff_read_row_cb(struct io_reader *r, uint8_t *dst)
{
	struct tiff_ctx *c = r->state;
	uint8_t *planes[4];
	uint32_t y = io_reader_decoding(r);
	tp_status s;

	if (c->mode == MODE_TILES) {
		if (!c->band_valid || y < c->band_y0 || y >= c->band_y0 + c->band_h)
			if ((s = tiff_load_tiles(r, c, y)))
				return s;
		if (tiff_stored_as_delivered(r, c)) {
			tiff_gather_row(c, 0, y, dst, io_row_bytes(&r->info));
			return TP_OK;
		}
		for (uint32_t p = 0; p < c->nplanes; p++) {
			planes[p] = c->line + (size_t)p * c->plane_row;
			tiff_gather_row(c, p, y, planes[p], c->plane_row);
		}
		tiff_convert(r, c, planes, dst);
		return TP_OK;
	}
	c->m.nerr = 0; /* report this read's libtiff message, not an older one */
	if (c->mode == MODE_SCANLINE) {
		if (TIFFReadScanline(c->tif, c->line, y, 0) < 0)
			return tp_err(TP_EFORMAT, "%s: row %u: corrupt or truncated TIFF (%s)",
				      r->path, y, tiff_msg(c));
		planes[0] = c->line;
	} else {
		if (!c->band_valid || y < c->band_y0 || y >= c->band_y0 + c->band_h)
			if ((s = tiff_load_strips(r, c, y)))
				return s;
		for (uint32_t p = 0; p < c->nplanes; p++)
			planes[p] = c->band + ((size_t)p * c->block_h + (y - c->band_y0)) * c->plane_row;
	}
	tiff_convert(r, c, planes, dst);
	return TP_OK;
}

TP_MUST_USE static tp_status tiff_alloc(struct io_reader *r, uint8_t **p, size_t n)
{
	*p = tp_malloc(n);
	if (!*p)
		return tp_err(TP_ENOMEM, "%s: out of memory for a %zu-byte TIFF buffer", r->path, n);
	return TP_OK;
}

/* Every strip or tile with data must lie inside the file (its byte count is
 * what libtiff reads, so a bogus one would only fail later, row by row). */
TP_MUST_USE static tp_status tiff_check_striles(struct io_reader *r, struct tiff_ctx *c)
{
	uint32_t n = TIFFNumberOfStrips(c->tif);
	const char *what = TIFFIsTiled(c->tif) ? "tile" : "strip";
	for (uint32_t i = 0; i < n; i++) {
		int err = 0;
		uint64_t off = TIFFGetStrileOffsetWithErr(c->tif, i, &err);
		uint64_t cnt = err ? 0 : TIFFGetStrileByteCountWithErr(c->tif, i, &err);
		if (err)
			return tp_err(TP_EFORMAT, "%s: TIFF %s %u: unreadable offset or byte count (%s)",
				      r->path, what, i, tiff_msg(c));
		if (cnt && (off > r->file_size || cnt > r->file_size - off))
			return tp_err(TP_EFORMAT, "%s: TIFF %s %u declares %llu bytes at offset %llu, "
				      "past the end of the file (%llu bytes)", r->path, what, i,
				      (unsigned long long)cnt, (unsigned long long)off,
				      (unsigned long long)r->file_size);
	}
	return TP_OK;
}

/* A strip or tile of `size` bytes (libtiff's 64-bit figure) fits the limits. */
TP_MUST_USE static tp_status tiff_check_block(struct io_reader *r, const char *what, uint64_t size)
{
	if (!size || size > IO_TIFF_MAX_BAND)
		return tp_err(TP_EFORMAT, "%s: TIFF %s of %llu bytes %s", r->path, what,
			      (unsigned long long)size,
			      size ? "over the 2 GiB limit" : "is empty");
	return TP_OK;
}

/* Work out the layout, check every size the file declares for it, and only
 * then allocate the buffers of the chosen read mode. */
TP_MUST_USE static tp_status tiff_setup_mode(struct io_reader *r, struct tiff_ctx *c)
{
	size_t band, need;
	uint64_t ratio_cap;
	tp_status s;
	c->nplanes = c->planar == PLANARCONFIG_SEPARATE ? c->spp : 1;
	if ((s = tiff_check_striles(r, c)))
		return s;
	if (TIFFIsTiled(c->tif)) {
		uint32_t tw = 0, th = 0;
		TIFFGetField(c->tif, TIFFTAG_TILEWIDTH, &tw);
		TIFFGetField(c->tif, TIFFTAG_TILELENGTH, &th);
		if (!tw || !th || tw > IO_TIFF_MAX_TILE_SIDE || th > IO_TIFF_MAX_TILE_SIDE)
			return tp_err(TP_EFORMAT, "%s: bad TIFF tile size %ux%u (1..%u a side)",
				      r->path, tw, th, IO_TIFF_MAX_TILE_SIDE);
		if ((s = tiff_check_block(r, "tile", TIFFTileSize64(c->tif))))
			return s;
		c->block_size = (size_t)TIFFTileSize64(c->tif);
		/* tile rows are concatenated, so each must end on a pixel boundary */
		if (c->block_size % th ||
		    ((uint64_t)tw * c->bps * (c->planar == PLANARCONFIG_SEPARATE ? 1 : c->spp)) % 8)
			return tp_err(TP_EFORMAT, "%s: bad TIFF tile size %ux%u", r->path, tw, th);
		c->mode = MODE_TILES;
		c->tw = tw;
		c->block_h = th;
		c->ntx = (r->info.width + tw - 1) / tw;
		if (tp_mul_overflow(c->block_size / th, c->ntx, &c->plane_row))
			return tp_err(TP_EFORMAT, "%s: TIFF tile row too large", r->path);
	} else if (c->nplanes > 1) {
		uint32_t rps = 0;
		TIFFGetFieldDefaulted(c->tif, TIFFTAG_ROWSPERSTRIP, &rps);
		c->mode = MODE_STRIPS_SEPARATE;
		c->block_h = rps == 0 || rps > r->info.height ? r->info.height : rps;
		if ((s = tiff_check_block(r, "strip", TIFFStripSize64(c->tif))) ||
		    (s = tiff_check_block(r, "scanline", TIFFScanlineSize64(c->tif))))
			return s;
		c->block_size = (size_t)TIFFStripSize64(c->tif);
		c->plane_row = (size_t)TIFFScanlineSize64(c->tif);
		if (c->block_size < c->plane_row * c->block_h)
			return tp_err(TP_EFORMAT, "%s: bad TIFF strip layout", r->path);
	} else {
		uint64_t n = TIFFScanlineSize64(c->tif);
		c->mode = MODE_SCANLINE;
		if (!n)
			return tp_err(TP_EFORMAT, "%s: bad TIFF scanline size", r->path);
		if ((s = tiff_check_block(r, "scanline", n)) ||
		    (s = io_check_memory(r, "a TIFF scanline", n)))
			return s;
		return tiff_alloc(r, &c->line, (size_t)n);
	}
	if (tp_mul_overflow(c->plane_row, (size_t)c->block_h * c->nplanes, &band) ||
	    band > IO_TIFF_MAX_BAND)
		return tp_err(TP_EFORMAT, "%s: TIFF %s too large to stream (%u rows of %zu bytes "
			      "x %u planes; limit %zu bytes)", r->path,
			      c->mode == MODE_TILES ? "tile rows" : "strips", c->block_h,
			      c->plane_row, c->nplanes, (size_t)IO_TIFF_MAX_BAND);
	if (band < c->block_size)
		band = c->block_size;
	need = band + (c->mode == MODE_TILES ? c->block_size : 0);
	ratio_cap = r->file_size * (uint64_t)IO_TIFF_MAX_RATIO;
	if (need > IO_TIFF_BAND_FREE && need > ratio_cap)
		return tp_err(TP_EFORMAT, "%s: TIFF %s need %zu bytes, more than %u times the "
			      "%llu-byte file (a bomb or truncated)", r->path,
			      c->mode == MODE_TILES ? "tile rows" : "strips", need, IO_TIFF_MAX_RATIO,
			      (unsigned long long)r->file_size);
	if (c->mode == MODE_TILES) {
		/* no tile buffer (tiles decode into the band), but a second band
		 * read ahead, when there is a next one, and a row to convert */
		int ahead = r->info.height > c->block_h;
		need = band * (ahead ? 2 : 1) + c->plane_row * c->nplanes;
		if ((s = io_check_memory(r, "a TIFF tile row", need)) ||
		    (s = tiff_alloc(r, &c->band, band)) ||
		    (s = tiff_alloc(r, &c->line, c->plane_row * c->nplanes)))
			return s;
		if (!ahead)
			return TP_OK;
		if ((s = tiff_alloc(r, &c->band2, band)))
			return s;
		if ((s = io_bg_new(&c->bg)))
			return tp_err(s, "%s: %s", r->path, tp_errmsg());
		c->ahead_ok = -1;
		return TP_OK;
	}
	if ((s = io_check_memory(r, "a TIFF strip", need)))
		return s;
	return tiff_alloc(r, &c->band, band);
}

/* Predictor-capable codecs (libtiff's horizontal differencing). */
static int tiff_has_predictor(int comp)
{
	return comp == COMPRESSION_LZW || comp == COMPRESSION_ADOBE_DEFLATE ||
	       comp == COMPRESSION_DEFLATE || comp == COMPRESSION_ZSTD || comp == COMPRESSION_LZMA;
}

/*
 * The IJG quality (1..100) whose luminance table is nearest the first
 * 8-bit quantisation table in JPEGTables (what libjpeg's jpeg_set_quality
 * makes, which libtiff uses), or 0 when there is none. Sums are compared,
 * so the order the table is stored in does not matter.
 */
static int tiff_jpeg_quality(TIFF *tif, int *tables_mode)
{
	static const uint8_t std_lum[64] = {
		16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
		14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
		18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
		49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99
	};
	uint32_t n = 0;
	const uint8_t *p = NULL;
	long sum = 0, bestd = -1;
	int best = 0;
	*tables_mode = 0;
	if (!TIFFGetField(tif, TIFFTAG_JPEGTABLES, &n, &p) || !p)
		return 0;
	/* Huffman tables shared there, or (without) optimised in each tile or strip */
	*tables_mode = JPEGTABLESMODE_QUANT;
	for (uint32_t i = 0; i + 1 < n; i++)
		if (p[i] == 0xff && p[i + 1] == 0xc4)
			*tables_mode |= JPEGTABLESMODE_HUFF;
	for (uint32_t i = 0; i + 4 + 65 <= n; i++) {
		if (p[i] != 0xff || p[i + 1] != 0xdb || (p[i + 4] >> 4) != 0)
			continue;
		for (int k = 0; k < 64; k++)
			sum += p[i + 5 + k];
		break;
	}
	if (!sum)
		return 0;
	for (int q = 1; q <= 100; q++) {
		long scale = q < 50 ? 5000 / q : 200 - 2 * q, s = 0, d;
		for (int k = 0; k < 64; k++) {
			long v = (std_lum[k] * scale + 50) / 100;
			s += v < 1 ? 1 : v > 255 ? 255 : v;
		}
		d = s > sum ? s - sum : sum - s;
		if (bestd < 0 || d < bestd) {
			bestd = d;
			best = q;
		}
	}
	return best;
}

/* Keep what a writer needs to mirror this file (layout, palette, tags) and
 * point the reader's metadata to it; photometric is the file's own (before YCbCr became RGB). */
TP_MUST_USE static tp_status tiff_make_mirror(struct io_reader *r, struct tiff_ctx *c,
					      uint16_t photometric, uint16_t nextra,
					      const uint16_t *extra)
{
	struct tiff_mirror *mi = tp_calloc(1, sizeof *mi);
	struct tiff_layout *l;
	uint16_t v16 = 0;
	uint32_t v32 = 0;
	tp_status s;
	if (!mi || !(mi->path = tp_strdup(r->path))) {
		tp_free(mi);
		return tp_err(TP_ENOMEM, "%s: out of memory", r->path);
	}
	c->mirror = mi;
	if ((s = tiff_tags_capture(r, c->tif, c->topts, &c->m, &mi->tags)))
		return s;
	l = &mi->lay;
	mi->info = r->info;
	l->compression = (uint16_t)r->compression;
	l->photometric = photometric;
	l->planar = c->planar;
	l->bps = c->bps;
	l->spp = c->spp;
	TIFFGetFieldDefaulted(c->tif, TIFFTAG_FILLORDER, &l->fillorder);
	if (TIFFGetField(c->tif, TIFFTAG_SAMPLEFORMAT, &v16))
		l->sampleformat = v16;
	l->nextra = nextra <= 4 ? nextra : 0;
	for (uint16_t i = 0; i < l->nextra; i++)
		l->extra[i] = extra[i];
	l->predictor = PREDICTOR_NONE;
	if (tiff_has_predictor(l->compression) && TIFFGetField(c->tif, TIFFTAG_PREDICTOR, &v16))
		l->predictor = v16;
	if (l->compression == COMPRESSION_CCITTFAX3 &&
	    TIFFGetField(c->tif, TIFFTAG_GROUP3OPTIONS, &v32))
		l->fax_options = v32;
	if (l->compression == COMPRESSION_CCITTFAX4 &&
	    TIFFGetField(c->tif, TIFFTAG_GROUP4OPTIONS, &v32))
		l->fax_options = v32;
	l->ycbcr_sub[0] = l->ycbcr_sub[1] = 2;
	if (photometric == PHOTOMETRIC_YCBCR)
		TIFFGetFieldDefaulted(c->tif, TIFFTAG_YCBCRSUBSAMPLING, &l->ycbcr_sub[0],
				      &l->ycbcr_sub[1]);
	l->tiled = c->mode == MODE_TILES;
	l->tw = c->tw;
	l->th = c->block_h;
	TIFFGetFieldDefaulted(c->tif, TIFFTAG_ROWSPERSTRIP, &v32);
	l->rps = v32 ? v32 : r->info.height; /* as the file says: more than the height is one strip */
	if (l->compression == COMPRESSION_JPEG)
		l->jpeg_quality = tiff_jpeg_quality(c->tif, &l->jpeg_tables_mode);
	l->bigtiff = TIFFIsBigTIFF(c->tif) != 0;
	l->msb = TIFFIsBigEndian(c->tif) != 0;
	if (photometric == PHOTOMETRIC_PALETTE) {
		size_t n = (size_t)1 << c->bps;
		mi->cmap = tp_malloc(3 * n * sizeof *mi->cmap);
		if (!mi->cmap)
			return tp_err(TP_ENOMEM, "%s: out of memory", r->path);
		for (int k = 0; k < 3; k++)
			memcpy(mi->cmap + k * n, c->cmap[k], n * sizeof *mi->cmap);
		mi->cmap8 = c->cmap8;
	}
	for (size_t i = 0; i < mi->tags->main.n; i++) {
		const struct tiff_tag *t = &mi->tags->main.tag[i];
		if (t->tag == 42113 && t->count > 0 && t->data && t->data[t->count - 1] == '\0')
			r->nodata = (const char *)t->data;   /* GDAL_NODATA */
	}
	c->m.nerr = 0;
	r->meta.tiff_source = mi;
	return TP_OK;
}

TP_MUST_USE static tp_status tiff_open(struct io_reader *r)
{
	struct tiff_ctx *c = tiff_ctx_new();
	uint32_t w = 0, h = 0;
	uint16_t compression = COMPRESSION_NONE, sfmt = SAMPLEFORMAT_UINT, nextra = 0;
	uint16_t *extra = NULL, photometric, pred = 0;
	uint32_t color;
	tp_status s;

	if (!c)
		return tp_err(TP_ENOMEM, "%s: out of memory", r->path);
	r->state = c;
	r->free_state = tiff_ctx_free;
	/* "m": read(), not mmap, so resident memory is what we hold, not the file */
	{
		/* libtiff gets its own descriptor on the file opened once (it closes
		 * it in TIFFClose) */
		int fd = dup(fileno(r->f));
		if (fd < 0)
			return tp_err(TP_EIO, "%s: %s", r->path, strerror(errno));
		fclose(r->f);
		r->f = NULL;
		if (lseek(fd, 0, SEEK_SET) != 0) {
			tp_status s2 = tp_err(TP_EIO, "%s: %s", r->path, strerror(errno));
			close(fd);
			return s2;
		}
		c->tif = TIFFFdOpenExt(fd, r->path, "rm", c->topts);
		if (!c->tif) {
			close(fd);
			return tp_err(TP_EFORMAT, "%s: not a readable TIFF (%s)", r->path,
				      tiff_msg(c));
		}
	}
	TIFFGetField(c->tif, TIFFTAG_IMAGEWIDTH, &w);
	TIFFGetField(c->tif, TIFFTAG_IMAGELENGTH, &h);
	TIFFGetFieldDefaulted(c->tif, TIFFTAG_SAMPLESPERPIXEL, &c->spp);
	TIFFGetFieldDefaulted(c->tif, TIFFTAG_BITSPERSAMPLE, &c->bps);
	TIFFGetFieldDefaulted(c->tif, TIFFTAG_PLANARCONFIG, &c->planar);
	TIFFGetFieldDefaulted(c->tif, TIFFTAG_SAMPLEFORMAT, &sfmt);
	TIFFGetFieldDefaulted(c->tif, TIFFTAG_COMPRESSION, &compression);
	TIFFGetFieldDefaulted(c->tif, TIFFTAG_EXTRASAMPLES, &nextra, &extra);
	if (!TIFFGetField(c->tif, TIFFTAG_PHOTOMETRIC, &c->photometric))
		c->photometric = c->spp >= 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK;
	photometric = c->photometric;
	r->compression = compression;
	r->info.width = w;
	r->info.height = h;

	if (sfmt == SAMPLEFORMAT_INT || sfmt == SAMPLEFORMAT_IEEEFP) {
		/* elevation models and other measurements: one band, kept exactly */
		int ok = sfmt == SAMPLEFORMAT_INT ? c->bps == 16 : c->bps == 32;
		if (!ok || c->spp != 1 || c->photometric != PHOTOMETRIC_MINISBLACK)
			return tp_err(TP_EFORMAT, "%s: TIFF of %u %s sample%s of %u bits (photometric "
				      "%u) not supported: signed integers must be 16-bit and floats "
				      "32-bit, one band, min-is-black", r->path, c->spp,
				      sfmt == SAMPLEFORMAT_INT ? "signed integer" : "floating-point",
				      c->spp == 1 ? "" : "s", c->bps, c->photometric);
		r->info.sample = sfmt == SAMPLEFORMAT_INT ? IO_SAMPLE_INT : IO_SAMPLE_FLOAT;
		/* libtiff 4.5 (and GDAL on it) cannot read back the big-endian
		 * floating-point-predictor files it writes: the samples come out
		 * byte-swapped, so neither side can be trusted */
		if (sfmt == SAMPLEFORMAT_IEEEFP && TIFFIsBigEndian(c->tif) &&
		    tiff_has_predictor(compression) && TIFFGetField(c->tif, TIFFTAG_PREDICTOR, &pred) &&
		    pred == PREDICTOR_FLOATINGPOINT)
			return tp_err(TP_EFORMAT, "%s: big-endian floats with the floating-point "
				      "predictor not supported (libtiff reads them byte-swapped); "
				      "rewrite the file little-endian or without predictor 3", r->path);
	} else if (sfmt != SAMPLEFORMAT_UINT && sfmt != SAMPLEFORMAT_VOID) {
		return tp_err(TP_EFORMAT, "%s: TIFF sample format %u (%s) not supported (unsigned "
			      "or signed integers, IEEE floats)", r->path, sfmt,
			      sfmt == SAMPLEFORMAT_COMPLEXINT ? "complex integer" :
			      sfmt == SAMPLEFORMAT_COMPLEXIEEEFP ? "complex float" : "unknown");
	} else if (c->bps == 32 || c->bps == 64) {
		return tp_err(TP_EFORMAT, "%s: TIFF of unsigned %u-bit integers not supported "
			      "(8 or 16 bits, or signed 16, or float 32)", r->path, c->bps);
	}
	if (r->info.sample == IO_SAMPLE_UINT && c->bps != 1 && c->bps != 2 && c->bps != 4 &&
	    c->bps != 8 && c->bps != 16)
		return tp_err(TP_EFORMAT, "%s: %u bits per sample not supported", r->path, c->bps);
	if (c->bps < 8 && c->spp != 1)
		return tp_err(TP_EFORMAT, "%s: %u-bit samples need one sample per pixel", r->path,
			      c->bps);
	switch (c->photometric) {
	case PHOTOMETRIC_MINISBLACK:
	case PHOTOMETRIC_MINISWHITE:
		color = 1;
		break;
	case PHOTOMETRIC_RGB:
		color = 3;
		break;
	case PHOTOMETRIC_YCBCR:
		if (compression != COMPRESSION_JPEG)
			return tp_err(TP_EFORMAT, "%s: YCbCr TIFF is supported only with JPEG compression",
				      r->path);
		if (!TIFFSetField(c->tif, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB))
			return tp_err(TP_EFORMAT, "%s: cannot decode YCbCr as RGB (%s)", r->path,
				      tiff_msg(c));
		c->photometric = PHOTOMETRIC_RGB;
		color = 3;
		break;
	case PHOTOMETRIC_PALETTE:
		if (c->spp != 1 || !TIFFGetField(c->tif, TIFFTAG_COLORMAP, &c->cmap[0], &c->cmap[1],
						 &c->cmap[2]))
			return tp_err(TP_EFORMAT, "%s: palette TIFF without a colour map", r->path);
		color = 3;
		c->cmap8 = c->bps <= 8;
		for (uint32_t i = 0; c->cmap8 && i < (1u << c->bps); i++)
			if (c->cmap[0][i] > 255 || c->cmap[1][i] > 255 || c->cmap[2][i] > 255)
				c->cmap8 = 0;
		break;
	default:
		return tp_err(TP_EFORMAT, "%s: TIFF photometric interpretation %u not supported "
			      "(gray, RGB, palette or JPEG YCbCr)", r->path, c->photometric);
	}
	if (c->photometric == PHOTOMETRIC_PALETTE) {
		r->info.channels = 3;
		r->info.alpha = 0;
	} else if (c->spp == color || c->spp == color + 1) {
		r->info.channels = c->spp;
		r->info.alpha = c->spp == color + 1;
	} else {
		return tp_err(TP_EFORMAT, "%s: %u samples per pixel not supported for this TIFF "
			      "(gray 1-2, RGB 3-4)", r->path, c->spp);
	}
	r->info.bits = c->bps == 16 || c->bps == 32 ? c->bps : 8;
	if ((s = io_reader_check(r)))
		return s;
	if ((s = tiff_read_meta(r, c)))
		return s;
	if ((s = tiff_setup_mode(r, c)))
		return s;
	if ((s = tiff_make_mirror(r, c, photometric, nextra, extra)))
		return s;
	r->read_row = tiff_read_row_cb;
	/* strips: raster.c decodes them ahead on a thread of its own (tiles
	 * read ahead here, a row of tiles at a time) */
	r->ahead_ok = c->mode != MODE_TILES;
	return TP_OK;
}

/* ---- writer ---- */

static int tiff_codec_ok(int comp, const struct io_info *info)
{
	switch (comp) {
	case COMPRESSION_NONE: case COMPRESSION_LZW: case COMPRESSION_ADOBE_DEFLATE:
	case COMPRESSION_DEFLATE: case COMPRESSION_PACKBITS: case COMPRESSION_ZSTD:
	case COMPRESSION_LZMA:
		break;
	case COMPRESSION_JPEG:
		if (info->bits != 8 || info->alpha)
			return 0; /* libtiff's JPEG codec: 8-bit gray or RGB only, here */
		break;
	default:
		return 0;
	}
	return TIFFIsCODECConfigured((uint16_t)comp);
}

/* "YYYY:MM:DD HH:MM:SS", the only form TIFF's DateTime allows. */
static int tiff_datetime_ok(const char *s)
{
	static const char pat[] = "dddd:dd:dd dd:dd:dd";
	if (strlen(s) != sizeof pat - 1)
		return 0;
	for (size_t i = 0; pat[i]; i++)
		if (pat[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != pat[i])
			return 0;
	return 1;
}

TP_MUST_USE static tp_status tiff_write_row_cb(struct io_writer *w, const uint8_t *src)
{
	struct tiff_ctx *c = w->state;
	/* the predictor works in place: give libtiff a copy, never the caller's row */
	memcpy(c->line, src, io_row_bytes(&w->info));
	if (TIFFWriteScanline(c->tif, c->line, w->row, 0) < 0) {
		w->sys_errno = c->m.err_errno;
		return tp_err(TP_EIO, "%s: writing row %u: %s", w->path, w->row, tiff_msg(c));
	}
	return TP_OK;
}

TP_MUST_USE static tp_status tiff_finish_cb(struct io_writer *w)
{
	struct tiff_ctx *c = w->state;
	int ok;
	if (c->bg) {
		tp_status s = io_bg_wait(c->bg);
		if (s)
			return s;
	}
	if (c->jobs) {
		tp_status s = tiff_jobs_drain(w, c);
		if (s)
			return s;
	}
	ok = TIFFFlush(c->tif);
	TIFFClose(c->tif);
	c->tif = NULL;
	if (!ok || c->m.nerr) {
		w->sys_errno = c->m.err_errno;
		return tp_err(TP_EIO, "%s: finishing: %s", w->path, tiff_msg(c));
	}
	if (io_fsync_path(w->path) != TP_OK) {
		w->sys_errno = errno ? errno : EIO;
		return TP_EIO;
	}
	return TP_OK;
}

/* ---- writer mirroring a TIFF reader's file ---- */

static uint64_t tiff_hash(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

/* Palette entry i as the reader delivers it, 16 bits a channel, packed. */
static uint64_t pal_colour(const struct tiff_ctx *c, size_t i, int bits16)
{
	size_t n = (size_t)1 << c->wl.bps;
	uint64_t v = 0;
	for (int k = 0; k < 3; k++) {
		uint32_t e = c->wcmap[(size_t)k * n + i];
		if (!bits16)
			e = c->wcmap8 ? e : e >> 8;
		v = v << 16 | (e & 0xffff);
	}
	return v;
}

static uint64_t px_colour(const uint8_t *px, int bits16)
{
	if (bits16) {
		const uint16_t *p = (const uint16_t *)(const void *)px;
		return (uint64_t)p[0] << 32 | (uint64_t)p[1] << 16 | p[2];
	}
	return (uint64_t)px[0] << 32 | (uint64_t)px[1] << 16 | px[2];
}

/* The colour -> index table of the palette (the first index of a colour). */
TP_MUST_USE static tp_status pal_build(struct io_writer *w, struct tiff_ctx *c,
				       const struct tiff_mirror *mi)
{
	size_t n = (size_t)1 << c->wl.bps, size = 64;
	while (size < 2 * n)
		size <<= 1;
	c->wcmap = tp_malloc(3 * n * sizeof *c->wcmap);
	c->pal_key = tp_calloc(size, sizeof *c->pal_key);
	c->pal_idx = tp_calloc(size, sizeof *c->pal_idx);
	if (!c->wcmap || !c->pal_key || !c->pal_idx)
		return tp_err(TP_ENOMEM, "%s: out of memory", w->path);
	memcpy(c->wcmap, mi->cmap, 3 * n * sizeof *c->wcmap);
	c->wcmap8 = mi->cmap8;
	c->pal_mask = size - 1;
	for (size_t i = 0; i < n; i++) {
		uint64_t key = pal_colour(c, i, w->info.bits == 16) + 1;
		size_t h = tiff_hash(key) & c->pal_mask;
		while (c->pal_key[h] && c->pal_key[h] != key)
			h = (h + 1) & c->pal_mask;
		if (!c->pal_key[h]) {
			c->pal_key[h] = key;
			c->pal_idx[h] = (int32_t)i;
		}
	}
	return TP_OK;
}

/* The palette index of a delivered colour: its own, or the nearest. */
static uint32_t pal_index(struct tiff_ctx *c, const uint8_t *px, int bits16)
{
	uint64_t key = px_colour(px, bits16) + 1, best = UINT64_MAX;
	size_t h = tiff_hash(key) & c->pal_mask, m, n = (size_t)1 << c->wl.bps;
	uint32_t bi = 0;
	while (c->pal_key[h]) {
		if (c->pal_key[h] == key)
			return (uint32_t)c->pal_idx[h];
		h = (h + 1) & c->pal_mask;
	}
	m = tiff_hash(key) & 1023;
	if (c->miss_key[m] == key)
		return (uint32_t)c->miss_idx[m];
	for (size_t i = 0; i < n && best; i++) {
		uint64_t e = pal_colour(c, i, bits16), d = 0;
		for (int k = 0; k < 3; k++) {
			int64_t a = (int64_t)((key - 1) >> (32 - 16 * k) & 0xffff);
			int64_t b = (int64_t)(e >> (32 - 16 * k) & 0xffff);
			d += (uint64_t)((a - b) * (a - b));
		}
		if (d < best) {
			best = d;
			bi = (uint32_t)i;
		}
	}
	c->miss_key[m] = key;
	c->miss_idx[m] = (int32_t)bi;
	return bi;
}

static void put_sample(uint8_t *row, size_t i, uint16_t bps, uint32_t v)
{
	switch (bps) {
	case 16: ((uint16_t *)(void *)row)[i] = (uint16_t)v; break;
	case 8: row[i] = (uint8_t)v; break;
	default: {
		size_t bit = i * bps;
		row[bit >> 3] |= (uint8_t)(v << (8 - bps - (bit & 7)));
	}
	}
}

/* One delivered row into the stored layout: planes[p] gets plane p's row
 * (palette index, min-is-white inverted, samples below 8 bits packed). */
static void tiff_pack_row(struct io_writer *w, struct tiff_ctx *c, const uint8_t *src,
			  uint8_t *const *planes)
{
	uint32_t width = w->info.width, ch = w->info.channels, spp = c->wl.spp;
	uint16_t bps = c->wl.bps;
	int bits16 = w->info.bits == 16;
	size_t bsz = bits16 ? 2 : 1;
	if (!c->pal_key && !c->invert && bps == w->info.bits) {
		if (c->nplanes == 1) {
			memcpy(planes[0], src, io_row_bytes(&w->info));
			return;
		}
		for (uint32_t x = 0; x < width; x++)
			for (uint32_t k = 0; k < spp; k++)
				memcpy(planes[k] + x * bsz, src + ((size_t)x * ch + k) * bsz, bsz);
		return;
	}
	for (uint32_t p = 0; p < c->nplanes; p++)
		memset(planes[p], 0, c->plane_row);
	for (uint32_t x = 0; x < width; x++) {
		if (c->pal_key) {
			put_sample(planes[0], x, bps, pal_index(c, src + (size_t)x * ch * bsz, bits16));
			continue;
		}
		for (uint32_t k = 0; k < spp; k++) {
			size_t i = (size_t)x * ch + k;
			uint32_t v = bits16 ? ((const uint16_t *)(const void *)src)[i] : src[i];
			if (bps < 8)
				v = (v * c->maxv + 127) / 255;
			if (c->invert && k == 0)
				v = c->maxv - v;
			if (c->nplanes == 1)
				put_sample(planes[0], (size_t)x * spp + k, bps, v);
			else
				put_sample(planes[k], x, bps, v);
		}
	}
}

/* Tile t of the mirrored file to the output as its compressed bytes are;
 * *copied 0 (and TP_OK) when it cannot be (empty or too large a tile: then
 * it is encoded). A source that cannot be read is its own error (65). */
TP_MUST_USE static tp_status tiff_copy_raw_tile(struct io_writer *w, struct tiff_ctx *c,
						uint32_t t, int *copied)
{
	uint64_t n = TIFFGetStrileByteCount(c->rawsrc, t);
	tmsize_t got;
	*copied = 0;
	if (n == 0 || n > IO_TIFF_MAX_BAND)
		return TP_OK;
	if (n > c->rawcap) {
		uint8_t *b = tp_realloc(c->rawbuf, (size_t)n);
		if (!b)
			return tp_err(TP_ENOMEM, "%s: out of memory", w->path);
		c->rawbuf = b;
		c->rawcap = (size_t)n;
	}
	c->m.nerr = 0;
	got = TIFFReadRawTile(c->rawsrc, t, c->rawbuf, (tmsize_t)n);
	if (got != (tmsize_t)n)
		return tp_err(TP_EFORMAT, "%s: reading tile %u: %s", TIFFFileName(c->rawsrc), t,
			      tiff_msg(c));
	if (TIFFWriteRawTile(c->tif, t, c->rawbuf, got) != got) {
		w->sys_errno = c->m.err_errno;
		return tp_err(TP_EIO, "%s: writing tile %u: %s", w->path, t, tiff_msg(c));
	}
	*copied = 1;
	return TP_OK;
}

/* ---- tiles encoded on threads, each worker with a TIFF of its own in memory ---- */

/* A worker's encoder: a one-tile TIFF written to memory with the output's
 * codec, predictor, samples and byte order, so its tile's bytes are the
 * bytes libtiff would write for that tile in the output. */
struct tile_enc {
	TIFF *h;
	TIFFOpenOptions *topts;
	uint8_t *mem;              /* the in-memory file */
	size_t len, cap, pos;
	size_t keep;               /* bytes before the tile data (header) */
	int nerr;
	char msg[200];
	int broken;                /* could not be made: its tiles fail */
};

static tmsize_t mem_read(thandle_t fd, void *buf, tmsize_t n)
{
	struct tile_enc *e = fd;
	size_t k = e->pos < e->len ? e->len - e->pos : 0;
	if ((size_t)n < k)
		k = (size_t)n;
	memcpy(buf, e->mem + e->pos, k);
	e->pos += k;
	return (tmsize_t)k;
}

static tmsize_t mem_write(thandle_t fd, void *buf, tmsize_t n)
{
	struct tile_enc *e = fd;
	if (e->pos + (size_t)n > e->cap) {
		size_t cap = (e->pos + (size_t)n) * 2 + 65536;
		uint8_t *m = tp_realloc(e->mem, cap);
		if (!m)
			return -1;
		e->mem = m;
		e->cap = cap;
	}
	memcpy(e->mem + e->pos, buf, (size_t)n);
	e->pos += (size_t)n;
	if (e->pos > e->len)
		e->len = e->pos;
	return n;
}

static toff_t mem_seek(thandle_t fd, toff_t off, int whence)
{
	struct tile_enc *e = fd;
	uint64_t base = whence == SEEK_CUR ? e->pos : whence == SEEK_END ? e->len : 0;
	e->pos = (size_t)(base + off);
	return e->pos;
}

static int mem_close(thandle_t fd)
{
	(void)fd;
	return 0;
}

static toff_t mem_size(thandle_t fd)
{
	return ((struct tile_enc *)fd)->len;
}

static int mem_map(thandle_t fd, void **base, toff_t *size)
{
	(void)fd;
	(void)base;
	(void)size;
	return 0;
}

static void mem_unmap(thandle_t fd, void *base, toff_t size)
{
	(void)fd;
	(void)base;
	(void)size;
}

static int enc_on_error(TIFF *tif, void *ud, const char *module, const char *fmt, va_list ap)
{
	struct tile_enc *e = ud;
	(void)tif;
	(void)module;
	if (!e->nerr++)
		vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	return 1;
}

static int enc_on_warning(TIFF *tif, void *ud, const char *module, const char *fmt, va_list ap)
{
	(void)tif;
	(void)ud;
	(void)module;
	(void)fmt;
	(void)ap;
	return 1;
}

/* The worker's one-tile TIFF, laid out as the output's tiles are. */
static int tile_enc_open(struct tile_enc *e, const struct tiff_ctx *c)
{
	const struct tiff_layout *l = &c->wl;
	int sep = c->nplanes > 1;
	uint16_t spp = sep ? 1 : l->spp;
	uint16_t ph = sep || l->photometric == PHOTOMETRIC_PALETTE ? PHOTOMETRIC_MINISBLACK
								     : l->photometric;
	e->topts = TIFFOpenOptionsAlloc();
	if (!e->topts)
		return 0;
	TIFFOpenOptionsSetErrorHandlerExtR(e->topts, enc_on_error, e);
	TIFFOpenOptionsSetWarningHandlerExtR(e->topts, enc_on_warning, e);
	e->h = TIFFClientOpenExt("tile", l->msb ? "wb" : "wl", e, mem_read, mem_write, mem_seek,
				 mem_close, mem_size, mem_map, mem_unmap, e->topts);
	if (!e->h)
		return 0;
	if (c->strip_jobs) {   /* one strip of the output's width */
		TIFFSetField(e->h, TIFFTAG_IMAGEWIDTH, c->img_w);
		TIFFSetField(e->h, TIFFTAG_IMAGELENGTH, c->block_h);
		TIFFSetField(e->h, TIFFTAG_ROWSPERSTRIP, c->block_h);
	} else {
		TIFFSetField(e->h, TIFFTAG_IMAGEWIDTH, c->tw);
		TIFFSetField(e->h, TIFFTAG_IMAGELENGTH, c->block_h);
		TIFFSetField(e->h, TIFFTAG_TILEWIDTH, c->tw);
		TIFFSetField(e->h, TIFFTAG_TILELENGTH, c->block_h);
	}
	TIFFSetField(e->h, TIFFTAG_SAMPLESPERPIXEL, spp);
	TIFFSetField(e->h, TIFFTAG_BITSPERSAMPLE, l->bps);
	if (l->sampleformat)
		TIFFSetField(e->h, TIFFTAG_SAMPLEFORMAT, l->sampleformat);
	TIFFSetField(e->h, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
	if (l->fillorder == FILLORDER_LSB2MSB)
		TIFFSetField(e->h, TIFFTAG_FILLORDER, l->fillorder);
	TIFFSetField(e->h, TIFFTAG_PHOTOMETRIC, ph);
	if (!sep && l->nextra)
		TIFFSetField(e->h, TIFFTAG_EXTRASAMPLES, l->nextra, l->extra);
	TIFFSetField(e->h, TIFFTAG_COMPRESSION, l->compression);
	if (l->predictor == PREDICTOR_HORIZONTAL || l->predictor == PREDICTOR_FLOATINGPOINT)
		TIFFSetField(e->h, TIFFTAG_PREDICTOR, l->predictor);
	if (l->compression == COMPRESSION_CCITTFAX3 && l->fax_options)
		TIFFSetField(e->h, TIFFTAG_GROUP3OPTIONS, l->fax_options);
	if (l->compression == COMPRESSION_CCITTFAX4 && l->fax_options)
		TIFFSetField(e->h, TIFFTAG_GROUP4OPTIONS, l->fax_options);
	if (e->nerr || (tmsize_t)c->block_size != (c->strip_jobs ? TIFFStripSize(e->h)
								   : TIFFTileSize(e->h)))
		return 0;
	e->keep = e->len;
	return 1;
}

static void tile_enc_close(struct tile_enc *e)
{
	if (e->h)
		TIFFClose(e->h);   /* writes its directory into the memory file */
	if (e->topts)
		TIFFOpenOptionsFree(e->topts);
	tp_free(e->mem);
	memset(e, 0, sizeof *e);
}

static void tile_work(struct io_par_item *it, uint32_t worker)
{
	struct tile_job *j = (struct tile_job *)it;
	struct tiff_ctx *c = j->c;
	struct tile_enc *e = &c->enc[worker];
	uint64_t off, n;
	j->zerr = 0;
	if (j->raw || c->plain_tiles)
		return;
	if (!e->h && !e->broken && !tile_enc_open(e, c))
		e->broken = 1;
	if (e->broken) {
		j->zerr = 1;
		snprintf(j->msg, sizeof j->msg, "cannot set up the tile encoder: %s",
			 e->nerr ? e->msg : "out of memory");
		return;
	}
	/* the previous tile's bytes are dropped: libtiff rewrites tile 0 in place
	 * or appends it after the header */
	e->len = e->keep;
	e->nerr = 0;
	if ((c->strip_jobs ? TIFFWriteEncodedStrip(e->h, 0, j->buf, (tmsize_t)j->len)
			   : TIFFWriteEncodedTile(e->h, 0, j->buf, (tmsize_t)c->block_size)) < 0 ||
	    !TIFFFlushData(e->h) || e->nerr) {
		j->zerr = 1;
		snprintf(j->msg, sizeof j->msg, "%s", e->nerr ? e->msg : "encoding failed");
		return;
	}
	off = TIFFGetStrileOffset(e->h, 0);
	n = TIFFGetStrileByteCount(e->h, 0);
	if (off + n > e->len || n == 0) {
		j->zerr = 1;
		snprintf(j->msg, sizeof j->msg, "the tile encoder lost its tile");
		return;
	}
	if (n > j->out_cap) {
		uint8_t *o = tp_realloc(j->out, (size_t)n);
		if (!o) {
			j->zerr = 1;
			snprintf(j->msg, sizeof j->msg, "out of memory");
			return;
		}
		j->out = o;
		j->out_cap = (size_t)n;
	}
	memcpy(j->out, e->mem + off, (size_t)n);
	j->out_len = (size_t)n;
}

/* Tiles go to the workers for every codec libtiff encodes tile by tile on
 * its own (not JPEG, whose tiles share the file's JPEGTables). */
static int tiles_on_threads(const struct tiff_ctx *c)
{
	const struct tiff_layout *l = &c->wl;
	return (c->mode == MODE_TILES || c->strip_jobs) && l->compression != COMPRESSION_JPEG &&
	       l->compression != COMPRESSION_OJPEG;
}

TP_MUST_USE static tp_status tiff_jobs_new(struct io_writer *w, struct tiff_ctx *c,
					   uint32_t threads)
{
	tp_status s;
	/* tiles in flight: two a thread, within 64 MiB of encoded tiles */
	size_t fit = ((size_t)64 << 20) / (c->block_size ? c->block_size : 1);
	if (threads > IO_PAR_MAX_THREADS)
		threads = IO_PAR_MAX_THREADS;
	if ((s = io_par_new(threads, &c->par)) != TP_OK)
		return tp_err(s, "%s: %s", w->path, tp_errmsg());
	c->njobs = threads > 1 ? 2 * threads + 2 : 1;
	if (c->njobs > fit)
		c->njobs = fit > 1 ? (uint32_t)fit : 1;
	c->jobs = tp_calloc(c->njobs, sizeof *c->jobs);
	c->nenc = io_par_workers(c->par);
	c->plain_tiles = c->wl.compression == COMPRESSION_NONE &&
			 c->wl.fillorder != FILLORDER_LSB2MSB &&
			 (c->wl.bps <= 8 || (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__) == !!c->wl.msb);
	c->enc = tp_calloc(c->nenc, sizeof *c->enc);
	if (!c->jobs || !c->enc)
		return tp_err(TP_ENOMEM, "%s: out of memory", w->path);
	for (uint32_t i = 0; i < c->njobs; i++) {
		c->jobs[i].c = c;
		c->jobs[i].item.work = tile_work;
		if (c->strip_jobs && !(c->jobs[i].buf = c->jobs[i].own = tp_malloc(c->block_size)))
			return tp_err(TP_ENOMEM, "%s: out of memory", w->path);
	}
	return TP_OK;
}

static void tiff_jobs_free(struct tiff_ctx *c)
{
	for (uint32_t i = 0; c->jobs && i < c->njobs; i++) {
		struct tile_job *j = &c->jobs[i];
		if (c->par)
			io_par_wait(c->par, &j->item);
		tp_free(j->out);
		tp_free(j->own);
	}
	TP_FREE(c->jobs);
	io_par_free(c->par);
	c->par = NULL;
	for (uint32_t i = 0; c->enc && i < c->nenc; i++)
		tile_enc_close(&c->enc[i]);
	TP_FREE(c->enc);
}

/* Start the disk writes of what is written so far, without waiting for
 * them: the fsync before the rename then finds most of a huge output on disk
 * already (4.9 GB: 0.8 s of fsync at the end, otherwise). */
static void tiff_start_writeback(struct tiff_ctx *c)
{
	(void)sync_file_range(TIFFFileno(c->tif), 0, 0, SYNC_FILE_RANGE_WRITE);
}

/* The oldest tile in flight to the file. */
TP_MUST_USE static tp_status tiff_jobs_retire(struct io_writer *w, struct tiff_ctx *c)
{
	struct tile_job *j = &c->jobs[c->jhead];
	const uint8_t *p;
	size_t n;
	int copied = 0;
	io_par_wait(c->par, &j->item);
	c->jhead = (c->jhead + 1) % c->njobs;
	c->jcount--;
	if (j->raw) {
		tp_status s = tiff_copy_raw_tile(w, c, j->tile, &copied);
		if (s || copied)
			return s;
		return tp_err(TP_EINTERNAL, "%s: tile %u could not be copied", w->path, j->tile);
	}
	if (j->zerr)
		return tp_err(TP_EIO, "%s: encoding %s %u: %s", w->path,
			      c->strip_jobs ? "strip" : "tile", j->tile, j->msg);
	p = c->plain_tiles ? j->buf : j->out;
	n = c->plain_tiles ? c->block_size : j->out_len;
	c->m.nerr = 0;
	if ((c->unsynced += n) >= (64u << 20)) {   /* every 64 MiB */
		tiff_start_writeback(c);
		c->unsynced = 0;
	}
	if (c->strip_jobs) {
		if (TIFFWriteRawStrip(c->tif, j->tile, (void *)p, (tmsize_t)n) != (tmsize_t)n) {
			w->sys_errno = c->m.err_errno;
			return tp_err(TP_EIO, "%s: writing strip %u: %s", w->path, j->tile,
				      tiff_msg(c));
		}
		return TP_OK;
	}
	if (TIFFWriteRawTile(c->tif, j->tile, (void *)p, (tmsize_t)n) != (tmsize_t)n) {
		w->sys_errno = c->m.err_errno;
		return tp_err(TP_EIO, "%s: writing tile %u: %s", w->path, j->tile, tiff_msg(c));
	}
	return TP_OK;
}

/* A free job for the next tile (the oldest retired when all are in flight). */
TP_MUST_USE static tp_status tiff_jobs_next(struct io_writer *w, struct tiff_ctx *c,
					    struct tile_job **out)
{
	tp_status s;
	if (c->jcount == c->njobs && (s = tiff_jobs_retire(w, c)) != TP_OK)
		return s;
	*out = &c->jobs[(c->jhead + c->jcount) % c->njobs];
	return TP_OK;
}

static void tiff_jobs_submit(struct tiff_ctx *c, struct tile_job *j)
{
	c->jcount++;
	io_par_submit(c->par, &j->item);
}

TP_MUST_USE static tp_status tiff_jobs_drain(struct io_writer *w, struct tiff_ctx *c)
{
	tp_status s;
	while (c->jcount)
		if ((s = tiff_jobs_retire(w, c)) != TP_OK)
			return s;
	return TP_OK;
}

/* Encode the band of `rows` rows from c->band_y0 of separate-plane strips
 * (one a plane). */
TP_MUST_USE static tp_status tiff_flush_strips(struct io_writer *w, struct tiff_ctx *c, uint32_t rows)
{
	for (uint32_t p = 0; p < c->nplanes; p++) {
		uint8_t *plane = c->band + (size_t)p * c->block_h * c->plane_row;
		if (TIFFWriteEncodedStrip(c->tif, TIFFComputeStrip(c->tif, c->band_y0, (uint16_t)p),
					  plane, (tmsize_t)(c->plane_row * rows)) < 0) {
			w->sys_errno = c->m.err_errno;
			return tp_err(TP_EIO, "%s: writing rows %u..%u: %s", w->path, c->band_y0,
				      c->band_y0 + rows - 1, tiff_msg(c));
		}
	}
	return TP_OK;
}

/* Write the row of tiles of `rows` rows from y0 held (tile-major, padded
 * with zeros) in `band`, in tile order: with a raw source, tiles no changed
 * pixel touches (touched) copied as they are; uncompressed tiles written
 * from the band as they are; the others encoded on the threads. Every job
 * is retired before it returns, so the band is free again. */
TP_MUST_USE static tp_status tiff_flush_tiles(struct io_writer *w, struct tiff_ctx *c,
					      uint8_t *band, const uint8_t *touched, uint32_t y0,
					      uint32_t rows)
{
	c->m.nerr = 0;
	for (uint32_t p = 0; p < c->nplanes; p++) {
		for (uint32_t tx = 0; tx < c->ntx; tx++) {
			uint8_t *tile = band + ((size_t)p * c->ntx + tx) * c->block_size;
			int copied = 0;
			uint32_t t = TIFFComputeTile(c->tif, tx * c->tw, y0, 0, (uint16_t)p);
			if (c->jobs) {
				struct tile_job *j;
				tp_status s = tiff_jobs_next(w, c, &j);
				if (s)
					return s;
				j->tile = t;
				/* an uncompressed tile inside the image is its band bytes
				 * already, the same as the source's when untouched: written
				 * from the band, it saves reading the source's copy (an edge
				 * tile keeps the source's padding: copied) */
				j->raw = c->rawsrc && !touched[tx] &&
					 !(c->plain_tiles && (tx + 1) * c->tw <= w->info.width &&
					   y0 + c->block_h <= w->info.height) &&
					 TIFFGetStrileByteCount(c->rawsrc, t) != 0 &&
					 TIFFGetStrileByteCount(c->rawsrc, t) <= IO_TIFF_MAX_BAND;
				j->buf = tile;
				tiff_jobs_submit(c, j);
				continue;
			}
			if (c->rawsrc && !touched[tx]) {
				tp_status s = tiff_copy_raw_tile(w, c, t, &copied);
				if (s)
					return s;
			}
			if (copied)
				continue;
			if (TIFFWriteEncodedTile(c->tif, t, tile, (tmsize_t)c->block_size) < 0) {
				w->sys_errno = c->m.err_errno;
				return tp_err(TP_EIO, "%s: writing rows %u..%u: %s", w->path, y0,
					      y0 + rows - 1, tiff_msg(c));
			}
		}
	}
	return c->jobs ? tiff_jobs_drain(w, c) : TP_OK;
}

static tp_status tiff_flush_job(void *ctx)
{
	struct tiff_ctx *c = ctx;
	tp_status s = tiff_flush_tiles(c->fl_w, c, c->band2, c->touched2, c->fl_y0, c->fl_rows);
	if (s == TP_OK)
		tiff_start_writeback(c);   /* after each band */
	return s;
}

/* The band just filled (rows rows from band_y0) to the file: handed to the
 * flushing thread, once it is done with the band before (whose error, if
 * any, is this one's), while the caller fills the other; or at once. */
TP_MUST_USE static tp_status tiff_band_done(struct io_writer *w, struct tiff_ctx *c, uint32_t rows)
{
	size_t trow = c->block_size / c->block_h;
	tp_status s;
	uint8_t *t;
	if (rows < c->block_h)   /* the last band: the rows below the image are zeros */
		for (size_t i = 0; i < (size_t)c->nplanes * c->ntx; i++)
			memset(c->band + i * c->block_size + rows * trow, 0,
			       c->block_size - rows * trow);
	if (!c->bg)
		return tiff_flush_tiles(w, c, c->band, c->touched, c->band_y0, rows);
	if ((s = io_bg_wait(c->bg)))
		return s;
	t = c->band;
	c->band = c->band2;
	c->band2 = t;
	t = c->touched;
	c->touched = c->touched2;
	c->touched2 = t;
	c->fl_w = w;
	c->fl_y0 = c->band_y0;
	c->fl_rows = rows;
	io_bg_start(c->bg, tiff_flush_job, c);
	return TP_OK;
}

/* Row y of plane p (n bytes at src) into the band's tiles, the part past
 * the image of the last tile zeroed. */
static void tiff_scatter_row(struct tiff_ctx *c, uint32_t p, uint32_t y, const uint8_t *src,
			     size_t n)
{
	size_t trow = c->block_size / c->block_h;
	uint8_t *dst = c->band + (size_t)p * c->ntx * c->block_size +
		       (size_t)(y - c->band_y0) * trow;
	for (size_t off = 0; off < n; off += trow, dst += c->block_size) {
		size_t k = n - off < trow ? n - off : trow;
		memcpy(dst, src + off, k);
		if (k < trow)
			memset(dst + k, 0, trow - k);
	}
}

/* The tile columns this row's changed pixels fall in (every one when the
 * caller did not say). */
static void tiff_mark_touched(struct io_writer *w, struct tiff_ctx *c)
{
	uint32_t width = w->info.width;
	if (!w->changed) {
		memset(c->touched, 1, c->ntx);
		return;
	}
	for (size_t x = tp_next_set(w->changed, 0, width); x < width;) {
		size_t tx = x / c->tw;
		c->touched[tx] = 1;
		x = tp_next_set(w->changed, (tx + 1) * c->tw, width);
	}
}

/* strip_jobs: row w->row packed into the current strip's job; a full strip
 * (or the last rows) goes to the threads, written in order as jobs retire. */
TP_MUST_USE static tp_status tiff_strip_row(struct io_writer *w, struct tiff_ctx *c,
					    const uint8_t *src)
{
	uint32_t y = w->row, rows;
	uint8_t *planes[1];
	tp_status s;
	if (!c->strip_cur) {
		if ((s = tiff_jobs_next(w, c, &c->strip_cur)) != TP_OK)
			return s;
		c->band_y0 = y;
	}
	planes[0] = c->strip_cur->buf + (size_t)(y - c->band_y0) * c->plane_row;
	tiff_pack_row(w, c, src, planes);
	rows = y - c->band_y0 + 1;
	if (rows == c->block_h || y + 1 == w->info.height) {
		struct tile_job *j = c->strip_cur;
		j->tile = TIFFComputeStrip(c->tif, c->band_y0, 0);
		j->raw = 0;
		j->len = (size_t)rows * c->plane_row;
		c->strip_cur = NULL;
		tiff_jobs_submit(c, j);
	}
	return TP_OK;
}

TP_MUST_USE static tp_status tiff_write_mirror_row_cb(struct io_writer *w, const uint8_t *src)
{
	struct tiff_ctx *c = w->state;
	uint8_t *planes[4];
	uint32_t y = w->row;
	if (c->mode == MODE_TILES) {
		if (y % c->block_h == 0) {
			c->band_y0 = y;
			if (c->touched)
				memset(c->touched, 0, c->ntx);
		}
		if (c->touched)
			tiff_mark_touched(w, c);
		if (!c->pal_key && !c->invert && c->wl.bps == w->info.bits && c->nplanes == 1) {
			tiff_scatter_row(c, 0, y, src, io_row_bytes(&w->info));
		} else {
			for (uint32_t p = 0; p < c->nplanes; p++)
				planes[p] = c->line + (size_t)p * c->plane_row;
			tiff_pack_row(w, c, src, planes);
			for (uint32_t p = 0; p < c->nplanes; p++)
				tiff_scatter_row(c, p, y, planes[p], c->plane_row);
		}
		if (y - c->band_y0 + 1 == c->block_h || y + 1 == w->info.height)
			return tiff_band_done(w, c, y - c->band_y0 + 1);
		return TP_OK;
	}
	c->m.nerr = 0;
	if (c->strip_jobs)
		return tiff_strip_row(w, c, src);
	if (c->mode == MODE_SCANLINE) {
		planes[0] = c->line;
		tiff_pack_row(w, c, src, planes);
		if (TIFFWriteScanline(c->tif, c->line, y, 0) < 0) {
			w->sys_errno = c->m.err_errno;
			return tp_err(TP_EIO, "%s: writing row %u: %s", w->path, y, tiff_msg(c));
		}
		return TP_OK;
	}
	if (y % c->block_h == 0)
		c->band_y0 = y;
	for (uint32_t p = 0; p < c->nplanes; p++)
		planes[p] = c->band + ((size_t)p * c->block_h + (y - c->band_y0)) * c->plane_row;
	tiff_pack_row(w, c, src, planes);
	if (y - c->band_y0 + 1 == c->block_h || y + 1 == w->info.height)
		return tiff_flush_strips(w, c, y - c->band_y0 + 1);
	return TP_OK;
}

/* A codec the writer can use for the mirrored layout. */
static int tiff_mirror_codec_ok(int comp, const struct tiff_layout *l, const struct io_info *info)
{
	switch (comp) {
	case COMPRESSION_CCITTRLE: case COMPRESSION_CCITTFAX3: case COMPRESSION_CCITTFAX4:
		return l->bps == 1 && l->spp == 1 && TIFFIsCODECConfigured((uint16_t)comp);
	case COMPRESSION_JPEG:
		if (l->bps != 8 || l->photometric == PHOTOMETRIC_PALETTE)
			return 0;
		break;
	default:
		break;
	}
	return tiff_codec_ok(comp, info);
}

/* The layout fields of the mirrored file, before its other tags. */
static void tiff_mirror_fields(struct io_writer *w, struct tiff_ctx *c,
			       const struct io_write_opts *opts)
{
	const struct tiff_layout *l = &c->wl;
	TIFF *t = c->tif;
	TIFFSetField(t, TIFFTAG_IMAGEWIDTH, w->info.width);
	TIFFSetField(t, TIFFTAG_IMAGELENGTH, w->info.height);
	TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, l->spp);
	TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, l->bps);
	if (l->sampleformat)
		TIFFSetField(t, TIFFTAG_SAMPLEFORMAT, l->sampleformat);
	TIFFSetField(t, TIFFTAG_PLANARCONFIG, l->planar);
	if (l->fillorder == FILLORDER_LSB2MSB)
		TIFFSetField(t, TIFFTAG_FILLORDER, l->fillorder);
	TIFFSetField(t, TIFFTAG_COMPRESSION, l->compression);
	TIFFSetField(t, TIFFTAG_PHOTOMETRIC, l->photometric);
	if (c->wcmap) {
		size_t n = (size_t)1 << l->bps;
		TIFFSetField(t, TIFFTAG_COLORMAP, c->wcmap, c->wcmap + n, c->wcmap + 2 * n);
	}
	if (l->nextra)
		TIFFSetField(t, TIFFTAG_EXTRASAMPLES, l->nextra, l->extra);
	if (l->compression == COMPRESSION_JPEG) {
		/* --jpeg-quality, else the quality the input was made at */
		int q = opts->jpeg_quality > 0 && opts->jpeg_quality <= 100 ? opts->jpeg_quality
			: l->jpeg_quality ? l->jpeg_quality : IO_JPEG_QUALITY_DEFAULT;
		if (l->photometric == PHOTOMETRIC_YCBCR)
			TIFFSetField(t, TIFFTAG_YCBCRSUBSAMPLING, l->ycbcr_sub[0], l->ycbcr_sub[1]);
		TIFFSetField(t, TIFFTAG_JPEGQUALITY, q);
		if (l->jpeg_tables_mode)
			TIFFSetField(t, TIFFTAG_JPEGTABLESMODE, l->jpeg_tables_mode);
		if (l->photometric == PHOTOMETRIC_YCBCR)
			TIFFSetField(t, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);
	}
	if (l->predictor == PREDICTOR_HORIZONTAL || l->predictor == PREDICTOR_FLOATINGPOINT)
		TIFFSetField(t, TIFFTAG_PREDICTOR, l->predictor);
	if (l->compression == COMPRESSION_CCITTFAX3 && l->fax_options)
		TIFFSetField(t, TIFFTAG_GROUP3OPTIONS, l->fax_options);
	if (l->compression == COMPRESSION_CCITTFAX4 && l->fax_options)
		TIFFSetField(t, TIFFTAG_GROUP4OPTIONS, l->fax_options);
	if (l->tiled) {
		TIFFSetField(t, TIFFTAG_TILEWIDTH, l->tw);
		TIFFSetField(t, TIFFTAG_TILELENGTH, l->th);
	} else {
		TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, l->rps);
	}
}

/* The buffers of the mirrored layout: a scanline, or one band of strips or
 * of tiles (the same bound the reader of that file holds). */
TP_MUST_USE static tp_status tiff_mirror_buffers(struct io_writer *w, struct tiff_ctx *c)
{
	const struct tiff_layout *l = &c->wl;
	uint64_t bits;
	size_t band;
	c->nplanes = l->planar == PLANARCONFIG_SEPARATE ? l->spp : 1;
	bits = (uint64_t)w->info.width * l->bps * (c->nplanes > 1 ? 1 : l->spp);
	c->plane_row = (size_t)((bits + 7) / 8);
	if (l->tiled) {
		c->mode = MODE_TILES;
		c->tw = l->tw;
		c->block_h = l->th;
		c->ntx = (w->info.width + l->tw - 1) / l->tw;
		c->block_size = (size_t)TIFFTileSize64(c->tif);
		if (!c->block_size || c->block_size > IO_TIFF_MAX_BAND || c->block_size % l->th ||
		    c->block_size / l->th * c->ntx < c->plane_row)
			return tp_err(TP_EIO, "%s: bad TIFF tile layout %ux%u", w->path, l->tw, l->th);
	} else if (c->nplanes > 1) {
		c->mode = MODE_STRIPS_SEPARATE;
		c->block_h = l->rps < w->info.height ? l->rps : w->info.height;
	} else {
		uint64_t n = TIFFScanlineSize64(c->tif);
		uint32_t rps = l->rps < w->info.height ? l->rps : w->info.height;
		c->mode = MODE_SCANLINE;
		if (n < c->plane_row || n > IO_TIFF_MAX_BAND)
			return tp_err(TP_EIO, "%s: bad TIFF scanline size", w->path);
		/* compressed strips of at most 16 MiB: encoded on the threads (one
		 * big strip, or plain rows, gain nothing there) */
		if (l->compression != COMPRESSION_NONE && l->compression != COMPRESSION_JPEG &&
		    l->compression != COMPRESSION_OJPEG && rps > 0 && n == c->plane_row &&
		    (uint64_t)rps * n <= ((uint64_t)16 << 20) &&
		    TIFFStripSize64(c->tif) == (uint64_t)rps * n) {
			c->strip_jobs = 1;
			c->block_h = rps;
			c->block_size = (size_t)rps * c->plane_row;
			c->img_w = w->info.width;
		}
		c->line = tp_malloc((size_t)n);
		return c->line ? TP_OK : tp_err(TP_ENOMEM, "%s: out of memory", w->path);
	}
	/* tiles: tile-major, whole tiles (the edge ones padded) */
	if (tp_mul_overflow(c->mode == MODE_TILES ? c->block_size / c->block_h * c->ntx
			    : c->plane_row, (size_t)c->block_h * c->nplanes, &band) ||
	    band > IO_TIFF_MAX_BAND)
		return tp_err(TP_EUSAGE, "%s: TIFF band of %u rows too large to write", w->path,
			      c->block_h);
	c->band = tp_malloc(band);
	if (!c->band)
		return tp_err(TP_ENOMEM, "%s: out of memory for a %zu-byte TIFF band", w->path, band);
	if (c->mode != MODE_TILES)
		return TP_OK;
	/* tiles: a row to pack, and a second band flushed on a thread while
	 * this one fills (when there is more than one band) */
	c->line = tp_malloc(c->plane_row * c->nplanes);
	if (!c->line)
		return tp_err(TP_ENOMEM, "%s: out of memory", w->path);
	if (w->info.height <= c->block_h)
		return TP_OK;
	c->band2 = tp_malloc(band);
	if (!c->band2)
		return tp_err(TP_ENOMEM, "%s: out of memory for a %zu-byte TIFF band", w->path, band);
	if (io_bg_new(&c->bg))
		return tp_err(TP_ENOMEM, "%s: %s", w->path, tp_errmsg());
	return TP_OK;
}

/*
 * Tiles whose pixels stay as they were can keep the mirrored file's
 * compressed bytes when the output's tiles are its tiles exactly: tiled, the
 * same tile size, planes, bits, samples, photometric, byte order, codec and
 * predictor, and a codec whose tiles stand alone (not JPEG, whose tiles may
 * lean on JPEGTables made anew here). Otherwise no raw source: every tile
 * is encoded.
 */
TP_MUST_USE static tp_status tiff_open_raw_source(struct io_writer *w, struct tiff_ctx *c,
						  const struct tiff_mirror *mi)
{
	const struct tiff_layout *a = &c->wl, *b = &mi->lay;
	uint16_t comp = 0, pred = PREDICTOR_NONE;
	if (c->mode != MODE_TILES || !a->tiled || !b->tiled || a->tw != b->tw || a->th != b->th ||
	    a->compression != b->compression || a->predictor != b->predictor ||
	    a->planar != b->planar || a->bps != b->bps || a->spp != b->spp ||
	    a->photometric != b->photometric || a->msb != b->msb || a->fillorder != b->fillorder ||
	    a->sampleformat != b->sampleformat || a->compression == COMPRESSION_JPEG ||
	    a->compression == COMPRESSION_OJPEG)
		return TP_OK;
	c->rawsrc = TIFFOpenExt(mi->path, "rm", c->topts);
	if (!c->rawsrc)
		return TP_OK;   /* gone or unreadable: encode every tile, as without */
	TIFFGetField(c->rawsrc, TIFFTAG_COMPRESSION, &comp);
	TIFFGetFieldDefaulted(c->rawsrc, TIFFTAG_PREDICTOR, &pred);
	if (pred == 0)   /* no predictor: libtiff says 0 for codecs without one */
		pred = PREDICTOR_NONE;
	if (!TIFFIsTiled(c->rawsrc) || comp != a->compression ||
	    (a->predictor > PREDICTOR_NONE ? a->predictor : PREDICTOR_NONE) != pred ||
	    TIFFTileSize64(c->rawsrc) != c->block_size ||
	    TIFFNumberOfTiles(c->rawsrc) != TIFFNumberOfTiles(c->tif)) {
		TIFFClose(c->rawsrc);
		c->rawsrc = NULL;
		return TP_OK;
	}
	c->touched_buf = tp_calloc(c->ntx, 2);
	if (!c->touched_buf)
		return tp_err(TP_ENOMEM, "%s: out of memory", w->path);
	c->touched = c->touched_buf;
	c->touched2 = c->touched_buf + c->ntx;
	return TP_OK;
}

/* The writer's reader-side twin fits: same size and samples delivered. */
static int tiff_mirror_fits(const struct tiff_mirror *mi, const struct io_info *in)
{
	return mi->info.width == in->width && mi->info.height == in->height &&
	       mi->info.channels == in->channels && mi->info.bits == in->bits &&
	       mi->info.alpha == in->alpha && mi->info.sample == in->sample;
}

/* Create a TIFF laid out like mi's file with all its tags. */
TP_MUST_USE static tp_status tiff_create_mirror(struct io_writer *w, struct tiff_ctx *c,
						const struct tiff_mirror *mi,
						const struct io_write_opts *opts)
{
	const struct io_info *in = &w->info;
	struct tiff_layout *l = &c->wl;
	uint64_t total = (uint64_t)io_row_bytes(in) * in->height + mi->tags->bytes;
	uint64_t exif_off = 0, gps_off = 0;
	char mode[8];
	int comp;
	tp_status s;

	*l = mi->lay;
	comp = opts->tiff_compression ? opts->tiff_compression : l->compression;
	if (!tiff_mirror_codec_ok(comp, l, in)) {
		const TIFFCodec *cd = TIFFFindCODEC((uint16_t)comp);
		tp_warn("%s: TIFF compression %d (%s) cannot be written for this layout: the output "
			"uses deflate", mi->path, comp, cd ? cd->name : "unknown");
		comp = COMPRESSION_ADOBE_DEFLATE;
	}
	if (comp != l->compression)
		l->predictor = PREDICTOR_HORIZONTAL;
	if (!tiff_has_predictor(comp) ||
	    !(l->predictor == PREDICTOR_HORIZONTAL ? l->bps == 8 || l->bps == 16 :
	      l->predictor == PREDICTOR_FLOATINGPOINT && in->sample == IO_SAMPLE_FLOAT))
		l->predictor = PREDICTOR_NONE;
	if (comp != l->compression)
		l->fax_options = 0;
	l->compression = (uint16_t)comp;
	if (l->photometric == PHOTOMETRIC_YCBCR && comp != COMPRESSION_JPEG)
		l->photometric = PHOTOMETRIC_RGB;
	c->invert = l->photometric == PHOTOMETRIC_MINISWHITE;
	c->maxv = l->bps < 32 ? (1u << l->bps) - 1 : UINT32_MAX;
	if (l->photometric == PHOTOMETRIC_PALETTE && (s = pal_build(w, c, mi)))
		return s;
	/* BigTIFF as the input was, or when the pixels pass 2 GiB: no codec
	 * expands them more than 1.5x (LZW), so classic TIFF's 4 GiB holds the rest */
	snprintf(mode, sizeof mode, "w%s%s", l->bigtiff || total > ((uint64_t)2 << 30) ? "8" : "",
		 l->msb ? "b" : "l");
	c->tif = TIFFOpenExt(w->path, mode, c->topts);
	if (!c->tif)
		return tp_err(TP_ECREATE, "%s: cannot create: %s", w->path, tiff_msg(c));
	w->created = 1;
	if ((s = tiff_tags_write_subifds(c->tif, mi->tags, &c->m, mi->path, w->path, &exif_off,
					 &gps_off))) {
		w->sys_errno = c->m.err_errno;
		return s;
	}
	c->m.nerr = 0;
	tiff_mirror_fields(w, c, opts);
	if (c->m.nerr)
		return tp_err(TP_EIO, "%s: setting TIFF tags: %s", w->path, tiff_msg(c));
	tiff_tags_set_main(c->tif, mi->tags, &c->m, mi->path, exif_off, gps_off);
	if ((s = tiff_mirror_buffers(w, c)))
		return s;
	if ((s = tiff_open_raw_source(w, c, mi)))
		return s;
	if (tiles_on_threads(c) && (s = tiff_jobs_new(w, c, opts->threads)))
		return s;
	w->write_row = tiff_write_mirror_row_cb;
	w->finish = tiff_finish_cb;
	return TP_OK;
}

TP_MUST_USE static tp_status tiff_create(struct io_writer *w, const struct io_meta *meta,
					 const struct io_write_opts *opts)
{
	const struct io_info *in = &w->info;
	struct tiff_ctx *c = tiff_ctx_new();
	size_t rowb = io_row_bytes(in);
	uint64_t total = (uint64_t)rowb * in->height;
	int comp = opts->tiff_compression ? opts->tiff_compression : COMPRESSION_ADOBE_DEFLATE;
	uint32_t rps;

	if (!c)
		return tp_err(TP_ENOMEM, "%s: out of memory", w->path);
	w->state = c;
	w->free_state = tiff_ctx_free;
	/* the metadata of an open TIFF reader: write its file's layout and tags */
	if (meta && meta->tiff_source && tiff_mirror_fits(meta->tiff_source, in))
		return tiff_create_mirror(w, c, meta->tiff_source, opts);
	if (!tiff_codec_ok(comp, in))
		comp = COMPRESSION_ADOBE_DEFLATE;
	c->line = tp_malloc(rowb);
	if (!c->line)
		return tp_err(TP_ENOMEM, "%s: out of memory", w->path);
	/* classic TIFF offsets are 32-bit: go BigTIFF well before 4 GiB */
	c->tif = TIFFOpenExt(w->path, total > ((uint64_t)2 << 30) ? "w8" : "w", c->topts);
	if (!c->tif)
		return tp_err(TP_ECREATE, "%s: cannot create: %s", w->path, tiff_msg(c));
	w->created = 1;
	rps = (uint32_t)(256 * 1024 / rowb);
	if (rps < 1)
		rps = 1;
	if (comp == COMPRESSION_JPEG)
		rps = (rps + 15) / 16 * 16;
	if (rps > in->height)
		rps = in->height;
	TIFFSetField(c->tif, TIFFTAG_IMAGEWIDTH, in->width);
	TIFFSetField(c->tif, TIFFTAG_IMAGELENGTH, in->height);
	TIFFSetField(c->tif, TIFFTAG_SAMPLESPERPIXEL, (uint16_t)in->channels);
	TIFFSetField(c->tif, TIFFTAG_BITSPERSAMPLE, (uint16_t)in->bits);
	TIFFSetField(c->tif, TIFFTAG_SAMPLEFORMAT, in->sample == IO_SAMPLE_FLOAT ? SAMPLEFORMAT_IEEEFP
		     : in->sample == IO_SAMPLE_INT ? SAMPLEFORMAT_INT : SAMPLEFORMAT_UINT);
	TIFFSetField(c->tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
	TIFFSetField(c->tif, TIFFTAG_ORIENTATION, ORIENTATION_TOPLEFT);
	TIFFSetField(c->tif, TIFFTAG_COMPRESSION, (uint16_t)comp);
	if (comp == COMPRESSION_JPEG && in->channels == 3) {
		TIFFSetField(c->tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_YCBCR);
		TIFFSetField(c->tif, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);
	} else {
		TIFFSetField(c->tif, TIFFTAG_PHOTOMETRIC,
			     in->channels >= 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK);
	}
	if (comp == COMPRESSION_JPEG) {
		int q = opts->jpeg_quality > 0 && opts->jpeg_quality <= 100 ? opts->jpeg_quality
									    : IO_JPEG_QUALITY_DEFAULT;
		TIFFSetField(c->tif, TIFFTAG_JPEGQUALITY, q);
	}
	if (in->channels == 2 || in->channels == 4) {
		uint16_t es = EXTRASAMPLE_UNASSALPHA;
		TIFFSetField(c->tif, TIFFTAG_EXTRASAMPLES, 1, &es);
	}
	if (comp == COMPRESSION_LZW || comp == COMPRESSION_ADOBE_DEFLATE ||
	    comp == COMPRESSION_DEFLATE || comp == COMPRESSION_ZSTD || comp == COMPRESSION_LZMA)
		TIFFSetField(c->tif, TIFFTAG_PREDICTOR, in->sample == IO_SAMPLE_FLOAT ?
			     PREDICTOR_FLOATINGPOINT : PREDICTOR_HORIZONTAL);
	TIFFSetField(c->tif, TIFFTAG_ROWSPERSTRIP, rps);
	if (meta) {
		if (meta->icc && meta->icc_len && meta->icc_len < UINT32_MAX)
			TIFFSetField(c->tif, TIFFTAG_ICCPROFILE, (uint32_t)meta->icc_len, meta->icc);
		if (meta->xmp && meta->xmp_len && meta->xmp_len < UINT32_MAX)
			TIFFSetField(c->tif, TIFFTAG_XMLPACKET, (uint32_t)meta->xmp_len, meta->xmp);
		if (meta->xres > 0 && meta->yres > 0) {
			TIFFSetField(c->tif, TIFFTAG_XRESOLUTION, (float)meta->xres);
			TIFFSetField(c->tif, TIFFTAG_YRESOLUTION, (float)meta->yres);
			TIFFSetField(c->tif, TIFFTAG_RESOLUTIONUNIT,
				     meta->res_unit == 1 ? RESUNIT_INCH :
				     meta->res_unit == 2 ? RESUNIT_CENTIMETER : RESUNIT_NONE);
		}
		for (size_t i = 0; i < meta->ntext; i++) {
			const char *k = meta->text_keys[i], *v = meta->text_values[i];
			if (!k || !v)
				continue;
			for (size_t t = 0; t < sizeof text_tags / sizeof text_tags[0]; t++) {
				if (strcmp(k, text_tags[t].key))
					continue;
				if (text_tags[t].tag == TIFFTAG_DATETIME && !tiff_datetime_ok(v))
					break;
				TIFFSetField(c->tif, text_tags[t].tag, v);
				break;
			}
		}
	}
	if (c->m.nerr)
		return tp_err(TP_EIO, "%s: setting TIFF tags: %s", w->path, tiff_msg(c));
	w->write_row = tiff_write_row_cb;
	w->finish = tiff_finish_cb;
	return TP_OK;
}

/* "II" or "MM", then 42 (classic) or 43 (BigTIFF) in that byte order */
static int tiff_probe(const uint8_t *head, size_t n)
{
	return n >= 4 && ((head[0] == 'I' && head[1] == 'I' && (head[2] == 42 || head[2] == 43) && head[3] == 0) ||
			  (head[0] == 'M' && head[1] == 'M' && head[2] == 0 && (head[3] == 42 || head[3] == 43)));
}

static const char *const tiff_extensions[] = { "tif", "tiff", NULL };

/* One band of strips or one row of tiles (the mirrored layout's, or strips
 * of about 256 KiB), a tile, and libtiff's buffer of as much compressed;
 * tiles: a second row of them and the flushing thread's stack. */
static size_t tiff_mem_need(const struct io_info *info, const struct io_meta *meta,
			    const struct io_write_opts *opts)
{
	size_t rowb = io_row_bytes(info);
	uint32_t rows = (uint32_t)(256 * 1024 / (rowb ? rowb : 1)) + 1;
	size_t block = 0;
	const struct tiff_mirror *mi = meta ? meta->tiff_source : NULL;
	uint32_t t = opts->threads < IO_PAR_MAX_THREADS ? opts->threads : IO_PAR_MAX_THREADS;
	size_t inflight = 0;
	if (mi && tiff_mirror_fits(mi, info)) {
		rows = mi->lay.tiled ? mi->lay.th : mi->lay.rps;
		if (rows > info->height)
			rows = info->height;
		if (!mi->lay.tiled && mi->lay.compression != COMPRESSION_NONE &&
		    (uint64_t)rows * rowb <= ((uint64_t)16 << 20)) {
			/* compressed strips on the encoding threads (strip_jobs):
			 * each job its strip, each thread its one-strip TIFF */
			block = (size_t)rows * rowb;
			inflight = (t > 1 ? 2 * (size_t)t + 2 : 1) * block;
			if (inflight > ((size_t)64 << 20))
				inflight = (size_t)64 << 20;
			inflight += (t ? t : 1) * 2 * block;
		}
		if (mi->lay.tiled) {
			block = (size_t)mi->lay.tw * mi->lay.th * (rowb / info->width + 1);
			/* tiles on the encoding threads: at most 64 MiB of them in
			 * flight, and each thread's one-tile TIFF in memory */
			inflight = (t > 1 ? 2 * (size_t)t + 2 : 1) * block;
			if (inflight > ((size_t)64 << 20))
				inflight = (size_t)64 << 20;
			inflight += (t ? t : 1) * 2 * block;
		}
	}
	/* tiles: the second band, flushed on a thread of its own (its stack) */
	if (mi && tiff_mirror_fits(mi, info) && mi->lay.tiled && info->height > rows)
		inflight += (size_t)rows * rowb + IO_BG_STACK;
	return (size_t)rows * rowb * 2 + 2 * block + inflight + ((size_t)1 << 20);
}

const struct io_format_ops io_tiff_format = {
	IO_FORMAT_TIFF, "tiff", tiff_extensions, tiff_probe, tiff_open, tiff_create, tiff_mem_need
};
