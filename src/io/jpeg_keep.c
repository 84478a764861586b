/*
 * jpeg_keep.c - a JPEG output that keeps its JPEG source's DCT coefficients
 * wherever no pixel changed, as jpegtran keeps a whole file's.
 *
 * At open, the source's coefficients are read (jpeg_read_coefficients: the
 * whole image's, in memory). Rows then arrive with the pixels that may have
 * changed marked; they are held one MCU row at a time. In each MCU row, each
 * run of MCUs with a changed pixel (runs a few MCUs apart taken as one) is
 * encoded on its own, into memory, with the source's own quantisation
 * tables, sampling factors and colour transform
 * (jpeg_copy_critical_parameters), read back as coefficients, and the blocks
 * of just the touched MCUs are copied over the source's. At the end the
 * coefficients are written (Huffman tables optimised; progressive when the
 * source was, with its restart interval) with every marker of the source
 * copied byte for byte.
 *
 * Why encode runs of MCUs with libjpeg: the colour conversion, chroma
 * downsampling and DCT of an MCU depend on its pixels alone, so a run cut at
 * MCU boundaries gives each MCU the coefficients a whole encode would give
 * it, including the edge padding of the last column and row; and libjpeg's
 * own FDCT is used, not a copy of it.
 *
 * An untouched MCU keeps its coefficients bit for bit. Decoded, its pixels
 * are the source's, except that libjpeg's smooth chroma upsampling (4:2:x)
 * blends across the boundary with a touched neighbour: pixels within a few of
 * a touched MCU may then differ by a little.
 */
#include "jpeg_int.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

struct keep {
	FILE *src;                       /* the source file, when read here */
	struct jpeg_decompress_struct *sd; /* its decompressor: the ctx's own, or the
					  * lender's (the reader of the rows) */
	struct jpeg_ctx *lender;         /* that reader's state, or NULL */
	jvirt_barray_ptr *coefs;         /* the coefficients (sd owns them) */
	struct jpeg_compress_struct e;   /* one MCU row encoded to memory */
	struct jpeg_decompress_struct ed;/* and read back as coefficients */
	int have_e, have_ed;
	unsigned char *mem;              /* e's output (malloc'd by libjpeg) */
	unsigned long mem_len;
	uint32_t mcu_w, mcu_h, mcus_x;   /* MCU size in pixels; MCUs per row */
	uint32_t channels, width;
	uint8_t *strip;                  /* mcu_h rows of width * channels */
	uint32_t y0, nrows;              /* first row of the strip, rows held */
	uint8_t *touched;                /* mcus_x: MCU has a changed pixel */
	int any;
	uint32_t run0, run1;             /* the MCUs being re-encoded (step arguments) */
	uint64_t mcus, mcus_new;         /* MCUs in all; re-encoded */
	uint8_t *redone;                 /* one bit per MCU of the image: re-encoded */
	uint32_t mcus_y;                 /* MCU rows */
	const char *source;              /* the source's name (borrowed from the options) */
	int one_scan;                    /* baseline Huffman, one scan of every component */
	int own_tables;                  /* write with the source's Huffman tables */
	unsigned restart, restart_rows;  /* the first scan's restart interval: in MCUs,
					  * or (when a whole number of rows) in rows */
};

static void keep_free(void *p)
{
	struct keep *k = p;
	if (!k)
		return;
	if (k->have_e)
		jpeg_destroy_compress(&k->e);
	if (k->have_ed)
		jpeg_destroy_decompress(&k->ed);
	free(k->mem);   /* libjpeg's jpeg_mem_dest allocates with malloc */
	if (k->src)
		fclose(k->src);
	tp_free(k->strip);
	tp_free(k->touched);
	tp_free(k->redone);
	tp_free(k);
}

/* jpeg_guard for a step of the writer, which may call libjpeg on the
 * lender's decompressor too: its errors come to the writer meanwhile. */
static int keep_guard(struct jpeg_ctx *c, void (*step)(struct jpeg_ctx *))
{
	struct keep *k = c->keep;
	int rc;
	if (!k->lender)
		return jpeg_guard(c, step);
	k->sd->err = &c->em;
	k->sd->client_data = c;
	rc = jpeg_guard(c, step);
	k->sd->err = &k->lender->em;
	k->sd->client_data = k->lender;
	return rc;
}

static void step_src_header(struct jpeg_ctx *c)
{
	struct keep *k = c->keep;
	c->d.err = &c->em;
	c->d.client_data = c;
	jpeg_create_decompress(&c->d);
	c->have_d = 1;
	c->d.mem->max_memory_to_use = IO_JPEG_MAX_MEMORY;
	jpeg_stdio_src(&c->d, k->src);
	for (int m = 0; m < 16; m++)
		jpeg_save_markers(&c->d, JPEG_APP0 + m, 0xffff);
	jpeg_save_markers(&c->d, JPEG_COM, 0xffff);
	jpeg_read_header(&c->d, TRUE);
}

static void step_src_coefs(struct jpeg_ctx *c)
{
	struct keep *k = c->keep;
	k->coefs = jpeg_read_coefficients(&c->d);
}

/* Can the rows of w be the source's pixels, coefficient for coefficient? */
static int source_fits(struct jpeg_ctx *c, const struct io_writer *w)
{
	const struct jpeg_decompress_struct *d = ((const struct keep *)c->keep)->sd;
	int gray = d->jpeg_color_space == JCS_GRAYSCALE && d->num_components == 1;
	int color = (d->jpeg_color_space == JCS_YCbCr || d->jpeg_color_space == JCS_RGB) &&
		    d->num_components == 3;
	return d->image_width == w->info.width && d->image_height == w->info.height &&
	       d->data_precision == 8 && w->info.bits == 8 && !w->info.alpha &&
	       ((gray && w->info.channels == 1) || (color && w->info.channels == 3));
}

/* Encode MCUs [run0, run1] of the strip on their own, into memory, as the
 * source was encoded (the run's right edge is the image's when it reaches
 * it, so the edge padding is the same). The compressor is made once. */
static void step_encode_run(struct jpeg_ctx *c)
{
	struct keep *k = c->keep;
	uint32_t x0 = k->run0 * k->mcu_w, x1 = (k->run1 + 1) * k->mcu_w;
	if (x1 > k->width)
		x1 = k->width;
	if (!k->have_e) {
		k->e.err = &c->em;
		k->e.client_data = c;
		jpeg_create_compress(&k->e);
		k->have_e = 1;
	}
	free(k->mem);
	k->mem = NULL;
	k->mem_len = 0;
	jpeg_mem_dest(&k->e, &k->mem, &k->mem_len);
	jpeg_copy_critical_parameters(k->sd, &k->e);
	k->e.image_width = x1 - x0;
	k->e.image_height = k->nrows;
	k->e.input_components = (int)k->channels;
	k->e.in_color_space = k->channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
	jpeg_start_compress(&k->e, TRUE);
	for (uint32_t y = 0; y < k->nrows; y++) {
		JSAMPROW row = k->strip + ((size_t)y * k->width + x0) * k->channels;
		jpeg_write_scanlines(&k->e, &row, 1);
	}
	jpeg_finish_compress(&k->e);
}

/* Read the run back and put its MCUs' blocks over the source's. */
static void step_copy_run(struct jpeg_ctx *c)
{
	struct keep *k = c->keep;
	jvirt_barray_ptr *run;
	uint32_t mcu_row = k->y0 / k->mcu_h;
	if (!k->have_ed) {
		k->ed.err = &c->em;
		k->ed.client_data = c;
		jpeg_create_decompress(&k->ed);
		k->have_ed = 1;
	}
	jpeg_mem_src(&k->ed, k->mem, k->mem_len);
	jpeg_read_header(&k->ed, TRUE);
	run = jpeg_read_coefficients(&k->ed);
	for (int ci = 0; ci < k->sd->num_components; ci++) {
		const jpeg_component_info *comp = &k->sd->comp_info[ci];
		JDIMENSION h = (JDIMENSION)comp->h_samp_factor, v = (JDIMENSION)comp->v_samp_factor;
		JDIMENSION wb = (comp->width_in_blocks + h - 1) / h * h;
		JBLOCKARRAY dst = (*k->sd->mem->access_virt_barray)((j_common_ptr)k->sd, k->coefs[ci],
								  mcu_row * v, v, TRUE);
		JBLOCKARRAY src = (*k->ed.mem->access_virt_barray)((j_common_ptr)&k->ed, run[ci],
								   0, v, FALSE);
		/* only the touched MCUs: the untouched between them keep the source's */
		for (uint32_t mx = k->run0; mx <= k->run1; mx++) {
			JDIMENSION bx0 = mx * h, n = bx0 + h <= wb ? h : wb - bx0;
			if (!k->touched[mx] || bx0 >= wb)
				continue;
			for (JDIMENSION by = 0; by < v; by++)
				memcpy(dst[by][bx0], src[by][bx0 - k->run0 * h], (size_t)n * sizeof(JBLOCK));
		}
	}
	jpeg_finish_decompress(&k->ed);
}

/* The strip is complete: re-encode its runs of touched MCUs (runs less than
 * RUN_GAP MCUs apart are done as one), start the next strip. */
#define RUN_GAP 3
TP_MUST_USE static tp_status flush_strip(struct io_writer *w, struct jpeg_ctx *c, struct keep *k)
{
	k->mcus += k->mcus_x;
	for (uint32_t mx = 0; k->any && mx < k->mcus_x; mx++) {
		uint32_t end = mx, gap = 0;
		if (!k->touched[mx])
			continue;
		for (uint32_t x = mx + 1; x < k->mcus_x && gap < RUN_GAP; x++) {
			gap = k->touched[x] ? 0 : gap + 1;
			if (k->touched[x])
				end = x;
		}
		k->run0 = mx;
		k->run1 = end;
		for (uint32_t x = mx; x <= end; x++) {
			uint64_t bit = (uint64_t)(k->y0 / k->mcu_h) * k->mcus_x + x;
			k->mcus_new += k->touched[x];
			if (k->touched[x])
				k->redone[bit >> 3] |= (uint8_t)(1u << (bit & 7));
		}
		if (keep_guard(c, step_encode_run) || keep_guard(c, step_copy_run))
			return tp_err(TP_EIO, "%s: re-encoding rows %u-%u: %s", w->path, k->y0,
				      k->y0 + k->nrows - 1, c->msg);
		mx = end;
	}
	memset(k->touched, 0, k->mcus_x);
	k->any = 0;
	k->y0 += k->nrows;
	k->nrows = 0;
	return TP_OK;
}

TP_MUST_USE static tp_status keep_write_row(struct io_writer *w, const uint8_t *src)
{
	struct jpeg_ctx *c = w->state;
	struct keep *k = c->keep;
	size_t rb = (size_t)k->width * k->channels;
	memcpy(k->strip + (size_t)k->nrows * rb, src, rb);
	k->nrows++;
	if (!w->changed) {
		memset(k->touched, 1, k->mcus_x);
		k->any = 1;
	} else {
		for (size_t x = tp_next_set(w->changed, 0, k->width); x < k->width;
		     x = tp_next_set(w->changed, (x / k->mcu_w + 1) * k->mcu_w, k->width)) {
			k->touched[x / k->mcu_w] = 1;
			k->any = 1;
		}
	}
	if (k->nrows == k->mcu_h || w->row + 1 == w->info.height)
		return flush_strip(w, c, k);
	return TP_OK;
}

/*
 * The source's own Huffman tables, when they can code the output: then the
 * coefficients are written in one pass instead of two (optimising the tables
 * means counting every symbol of the image first, which costs more than
 * writing it). A baseline source with one scan of all its components is
 * written in the same order, with the same restart interval, so an MCU that
 * keeps its coefficients codes the symbols it coded in the source, but where
 * its DC predictor comes from elsewhere: the MCU after a re-encoded one, and
 * MCUs at an edge the scan pads with dummy blocks (libjpeg gives those the DC
 * of the block before; another encoder may not have). Their DC differences,
 * the dummy blocks' symbols, and every symbol of the re-encoded MCUs must be
 * in the source's tables, or the tables are optimised: libjpeg-turbo would
 * write a symbol missing from a table as no bits at all.
 */
static const uint8_t zigzag[64] = { /* natural index of the k-th coefficient in zigzag order */
	0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48,
	41, 34, 27, 20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23,
	30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63
};

struct codes {
	uint8_t dc[NUM_HUFF_TBLS][16], ac[NUM_HUFF_TBLS][256]; /* symbols each table codes */
	int ok;                                                /* none missing so far */
};

static unsigned bit_count(int v)
{
	unsigned a = (unsigned)(v < 0 ? -v : v), n = 0;
	for (; a; a >>= 1)
		n++;
	return n;
}

/* The symbols table t codes, into has[0..maxsym]; 0 when libjpeg's encoder
 * would refuse the table (a symbol twice or out of range, an over-full code). */
static int table_codes(const JHUFF_TBL *t, uint8_t *has, unsigned maxsym)
{
	unsigned n = 0;
	long code = 0;
	if (!t)
		return 0;
	for (int l = 1; l <= 16; l++) {
		n += t->bits[l];
		code += t->bits[l];
		if (code >= (1L << l))
			return 0;
		code <<= 1;
	}
	if (n > 256)
		return 0;
	memset(has, 0, maxsym + 1);
	for (unsigned i = 0; i < n; i++) {
		if (t->huffval[i] > maxsym || has[t->huffval[i]])
			return 0;
		has[t->huffval[i]] = 1;
	}
	return 1;
}

static void need_ac(struct codes *s, int tbl, unsigned sym)
{
	if (!s->ac[tbl][sym])
		s->ok = 0;
}

static void need_dc(struct codes *s, int tbl, int diff)
{
	unsigned n = bit_count(diff);
	if (n > 11 || !s->dc[tbl][n])
		s->ok = 0;
}

/* The AC symbols of block b, as the baseline Huffman coder emits them. */
static void block_ac(struct codes *s, int tbl, const JCOEF *b)
{
	unsigned run = 0;
	for (int i = 1; i < DCTSIZE2; i++) {
		int v = b[zigzag[i]];
		unsigned n;
		if (!v) {
			run++;
			continue;
		}
		for (; run > 15; run -= 16)
			need_ac(s, tbl, 0xf0);
		if ((n = bit_count(v)) > 10)
			s->ok = 0;
		else
			need_ac(s, tbl, run << 4 | n);
		run = 0;
	}
	if (run)
		need_ac(s, tbl, 0);
}

static JBLOCKROW block_row(struct jpeg_ctx *c, int ci, JDIMENSION by)
{
	struct keep *k = c->keep;
	return (*k->sd->mem->access_virt_barray)((j_common_ptr)k->sd, k->coefs[ci], by, 1, FALSE)[0];
}

/* The DC predictor of component ci at the start of MCU m: the DC of its
 * last real block in MCU m - 1, or 0 at the start of a restart interval. */
static int mcu_pred(struct jpeg_ctx *c, int ci, uint64_t m, uint64_t restart)
{
	struct keep *k = c->keep;
	const jpeg_component_info *comp = &k->sd->comp_info[ci];
	uint32_t h = (uint32_t)comp->h_samp_factor, v = (uint32_t)comp->v_samp_factor, mx, my;
	if (!m || (restart && m % restart == 0))
		return 0;
	m--;
	mx = (uint32_t)(m % k->mcus_x);
	my = (uint32_t)(m / k->mcus_x);
	uint32_t bx = mx * h + h - 1, by = my * v + v - 1;
	if (bx >= comp->width_in_blocks)
		bx = comp->width_in_blocks - 1;
	if (by >= comp->height_in_blocks)
		by = comp->height_in_blocks - 1;
	return block_row(c, ci, by)[bx][0];
}

/* The symbols of MCU m's DC differences and dummy blocks, and with ac its
 * real blocks' AC symbols. */
static void mcu_codes(struct jpeg_ctx *c, struct codes *s, uint64_t m, uint64_t restart, int ac)
{
	struct keep *k = c->keep;
	uint32_t mx = (uint32_t)(m % k->mcus_x), my = (uint32_t)(m / k->mcus_x);
	for (int ci = 0; ci < k->sd->num_components; ci++) {
		const jpeg_component_info *comp = &k->sd->comp_info[ci];
		uint32_t h = (uint32_t)comp->h_samp_factor, v = (uint32_t)comp->v_samp_factor;
		int pred = mcu_pred(c, ci, m, restart);
		for (uint32_t by = my * v; by < my * v + v; by++) {
			JBLOCKROW row = by < comp->height_in_blocks ? block_row(c, ci, by) : NULL;
			for (uint32_t bx = mx * h; bx < mx * h + h; bx++) {
				if (!row || bx >= comp->width_in_blocks) {
					need_dc(s, comp->dc_tbl_no, 0);   /* a dummy block */
					need_ac(s, comp->ac_tbl_no, 0);
					continue;
				}
				need_dc(s, comp->dc_tbl_no, row[bx][0] - pred);
				pred = row[bx][0];
				if (ac)
					block_ac(s, comp->ac_tbl_no, row[bx]);
			}
		}
	}
}

static int redone(const struct keep *k, uint64_t m)
{
	return k->redone[m >> 3] >> (m & 7) & 1;
}

/* Can the source's tables code the output? (k->own_tables) */
static void step_pick_tables(struct jpeg_ctx *c)
{
	struct keep *k = c->keep;
	const struct jpeg_decompress_struct *d = k->sd;
	struct codes s = { .ok = 1 };
	uint64_t restart = k->restart_rows ? (uint64_t)k->restart_rows * k->mcus_x : k->restart;
	int right = 0, bottom = 0;
	k->own_tables = 0;
	if (!k->one_scan || d->input_scan_number != 1 ||
	    (d->num_components == 1 && (d->comp_info[0].h_samp_factor != 1 ||
					d->comp_info[0].v_samp_factor != 1)))
		return;
	if (restart > 65535)
		restart = 65535;   /* as libjpeg caps restart_in_rows */
	for (int ci = 0; ci < d->num_components; ci++) {
		const jpeg_component_info *comp = &d->comp_info[ci];
		if (!table_codes(d->dc_huff_tbl_ptrs[comp->dc_tbl_no], s.dc[comp->dc_tbl_no], 15) ||
		    !table_codes(d->ac_huff_tbl_ptrs[comp->ac_tbl_no], s.ac[comp->ac_tbl_no], 255))
			return;
		right |= comp->width_in_blocks % (JDIMENSION)comp->h_samp_factor != 0;
		bottom |= comp->height_in_blocks % (JDIMENSION)comp->v_samp_factor != 0;
	}
	for (uint64_t m = 0; s.ok && m < (uint64_t)k->mcus_x * k->mcus_y; m++) {
		uint32_t mx = (uint32_t)(m % k->mcus_x), my = (uint32_t)(m / k->mcus_x);
		int mine = redone(k, m);
		if (mine || (m && redone(k, m - 1)) || (right && (mx == 0 || mx == k->mcus_x - 1)) ||
		    (bottom && my == k->mcus_y - 1))
			mcu_codes(c, &s, m, restart, mine);
	}
	k->own_tables = s.ok;
}

/* The source's Huffman tables into the output, each component on its own. */
static void use_source_tables(struct jpeg_ctx *c)
{
	struct keep *k = c->keep;
	for (int ci = 0; ci < k->sd->num_components; ci++) {
		const jpeg_component_info *from = &k->sd->comp_info[ci];
		jpeg_component_info *to = &c->cc.comp_info[ci];
		JHUFF_TBL **dst[2] = { &c->cc.dc_huff_tbl_ptrs[from->dc_tbl_no],
				       &c->cc.ac_huff_tbl_ptrs[from->ac_tbl_no] };
		const JHUFF_TBL *src[2] = { k->sd->dc_huff_tbl_ptrs[from->dc_tbl_no],
					    k->sd->ac_huff_tbl_ptrs[from->ac_tbl_no] };
		to->dc_tbl_no = from->dc_tbl_no;
		to->ac_tbl_no = from->ac_tbl_no;
		for (int i = 0; i < 2; i++) {
			if (!*dst[i])
				*dst[i] = jpeg_alloc_huff_table((j_common_ptr)&c->cc);
			memcpy((*dst[i])->bits, src[i]->bits, sizeof src[i]->bits);
			memcpy((*dst[i])->huffval, src[i]->huffval, sizeof src[i]->huffval);
			(*dst[i])->sent_table = FALSE;
		}
	}
}

/* Is marker m one the output writes itself (JFIF APP0, Adobe APP14)? */
static int written_by_library(const struct jpeg_compress_struct *cc, jpeg_saved_marker_ptr m)
{
	if (cc->write_JFIF_header && m->marker == JPEG_APP0 && m->data_length >= 5 &&
	    !memcmp(m->data, "JFIF", 5))
		return 1;
	return cc->write_Adobe_marker && m->marker == JPEG_APP0 + 14 && m->data_length >= 5 &&
	       !memcmp(m->data, "Adobe", 5);
}

static void step_write_out(struct jpeg_ctx *c)
{
	struct keep *k = c->keep;
	c->cc.err = &c->em;
	c->cc.client_data = c;
	jpeg_create_compress(&c->cc);
	c->have_c = 1;
	jpeg_stdio_dest(&c->cc, c->f);
	jpeg_copy_critical_parameters(k->sd, &c->cc);
	c->cc.arith_code = k->sd->arith_code;
	/* (arithmetic coding adapts by itself) */
	c->cc.optimize_coding = !k->sd->arith_code && !k->own_tables;
	if (k->own_tables)
		use_source_tables(c);
	/* in rows when the source's was a whole number of them, so each
	 * scan of a progressive file gets it in its own MCUs, as cjpeg does */
	c->cc.restart_in_rows = (int)k->restart_rows;
	c->cc.restart_interval = k->restart_rows ? 0 : k->restart;
	if (k->sd->progressive_mode)
		jpeg_simple_progression(&c->cc);
	jpeg_write_coefficients(&c->cc, k->coefs);
	for (jpeg_saved_marker_ptr m = k->sd->marker_list; m; m = m->next)
		if (!written_by_library(&c->cc, m))
			jpeg_write_marker(&c->cc, m->marker, m->data, m->data_length);
	jpeg_finish_compress(&c->cc);
}

/* The lender's file after its last row, to its end: its data must be
 * whole (as when read here), and markers after the scan are kept too. */
static void step_src_rest(struct jpeg_ctx *c)
{
	struct keep *k = c->keep;
	int r;
	do
		r = jpeg_consume_input(k->sd);
	while (r != JPEG_REACHED_EOI && r != JPEG_SUSPENDED);
}

TP_MUST_USE static tp_status keep_finish(struct io_writer *w)
{
	struct jpeg_ctx *c = w->state;
	struct keep *k = c->keep;
	if (k->lender) {
		c->warnings = 0;
		if (keep_guard(c, step_src_rest) || c->warnings)
			return tp_err(TP_EFORMAT, "%s: corrupt or truncated JPEG (%s)", k->source, c->msg);
	}
	if (keep_guard(c, step_pick_tables))
		k->own_tables = 0;
	if (keep_guard(c, step_write_out)) {
		w->sys_errno = c->err_errno;
		return tp_err(TP_EIO, "%s: writing: %s", w->path, c->msg);
	}
	tp_debug("%s: JPEG: %llu of %llu MCUs re-encoded, the rest kept as they were (%s); "
		 "Huffman tables %s", w->name, (unsigned long long)k->mcus_new, (unsigned long long)k->mcus,
		 k->lender ? "the reader's coefficients" : "coefficients read again", k->own_tables ? "the input's" : k->sd->arith_code ? "none (arithmetic)" : "optimised");
	return io_close_output(w, &c->f);
}

/* The first scan's restart interval (what jpeg_read_header saw), and in
 * rows when it is a whole number of that scan's MCU rows. */
static void note_restart(struct keep *k)
{
	const struct jpeg_decompress_struct *d = k->sd;
	unsigned per_row;
	k->restart = d->restart_interval;
	if (d->comps_in_scan > 1) {
		unsigned mw = (unsigned)d->max_h_samp_factor * DCTSIZE;
		per_row = (d->image_width + mw - 1) / mw;
	} else {
		const jpeg_component_info *ci = d->cur_comp_info[0];
		unsigned cw = (unsigned)((d->image_width * (unsigned long)ci->h_samp_factor +
					  (unsigned)d->max_h_samp_factor - 1) /
					 (unsigned)d->max_h_samp_factor);
		per_row = (cw + DCTSIZE - 1) / DCTSIZE;
	}
	k->restart_rows = per_row && k->restart && k->restart % per_row == 0 ?
			  k->restart / per_row : 0;
}

/* Open the source and read its coefficients; *kept = 0 when it does not fit. */
TP_MUST_USE static tp_status open_source(struct io_writer *w, struct jpeg_ctx *c, struct keep *k,
					 const char *source, int *kept)
{
	int fd;
	tp_status s = tp_open_regular(source, &fd, NULL);
	if (s)
		return s;
	if (!(k->src = fdopen(fd, "rb"))) {
		close(fd);
		return tp_err(TP_EIO, "%s: %s", source, strerror(errno));
	}
	k->sd = &c->d;
	if (jpeg_guard(c, step_src_header))
		return tp_err(TP_EFORMAT, "%s: header: corrupt JPEG (%s)", source, c->msg);
	if (!source_fits(c, w))
		return TP_OK;
	note_restart(k);
	c->warnings = 0;
	if (jpeg_guard(c, step_src_coefs)) {
		if (c->em.msg_code == JERR_NO_BACKING_STORE) {
			tp_warn("%s: too large to keep its JPEG coefficients (over %ld MiB); "
				"re-encoding it whole", source, IO_JPEG_MAX_MEMORY >> 20);
			return TP_OK;
		}
		return tp_err(TP_EFORMAT, "%s: corrupt JPEG (%s)", source, c->msg);
	}
	if (c->warnings)
		return tp_err(TP_EFORMAT, "%s: corrupt or truncated JPEG (%s)", source, c->msg);
	*kept = 1;
	return TP_OK;
}

/* Borrow the coefficients of the reader the rows come from, which decodes
 * through them from now on (so the file is not decoded twice); *kept = 0
 * when it cannot lend them or they do not fit. */
TP_MUST_USE static tp_status borrow_source(struct io_writer *w, struct jpeg_ctx *c, struct keep *k,
					   struct io_reader *from, int *kept)
{
	tp_status s = jpeg_reader_lend(from, &k->lender, &k->coefs);
	if (s != TP_OK || !k->lender)
		return s;
	k->sd = &k->lender->d;
	if (!source_fits(c, w)) {
		k->lender = NULL;   /* (it decodes through its buffer all the same) */
		k->coefs = NULL;
		return TP_OK;
	}
	note_restart(k);
	*kept = 1;
	return TP_OK;
}

tp_status io_jpeg_keep_create(struct io_writer *w, const char *source, int *kept)
{
	struct jpeg_ctx *c = w->state;
	struct keep *k = tp_calloc(1, sizeof *k);
	tp_status s;
	*kept = 0;
	if (!k)
		return tp_err(TP_ENOMEM, "%s: out of memory", w->path);
	c->keep = k;
	c->keep_free = keep_free;
	k->source = source;
	if (c->opts->jpeg_keep_reader &&
	    (s = borrow_source(w, c, k, c->opts->jpeg_keep_reader, kept)) != TP_OK)
		return s;
	if (!*kept && (s = open_source(w, c, k, source, kept)) != TP_OK)
		return s;
	if (!*kept) {
		/* the usual writer starts afresh: forget the source */
		if (c->have_d)
			jpeg_destroy_decompress(&c->d);
		c->have_d = 0;
		return s;
	}
	k->one_scan = !k->sd->progressive_mode && !k->sd->arith_code &&
		      k->sd->comps_in_scan == k->sd->num_components;
	k->channels = w->info.channels;
	k->width = w->info.width;
	k->mcu_w = (uint32_t)k->sd->max_h_samp_factor * DCTSIZE;
	k->mcu_h = (uint32_t)k->sd->max_v_samp_factor * DCTSIZE;
	k->mcus_x = (k->width + k->mcu_w - 1) / k->mcu_w;
	k->strip = tp_malloc((size_t)k->mcu_h * k->width * k->channels);
	k->mcus_y = (w->info.height + k->mcu_h - 1) / k->mcu_h;
	k->touched = tp_calloc(k->mcus_x, 1);
	k->redone = tp_calloc(((uint64_t)k->mcus_x * k->mcus_y + 7) / 8, 1);
	if (!k->strip || !k->touched || !k->redone)
		return tp_err(TP_ENOMEM, "%s: out of memory", w->path);
	w->write_row = keep_write_row;
	w->finish = keep_finish;
	return TP_OK;
}
