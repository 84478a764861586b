/*
 * jpegcheck.c - test helper: compares two JPEG files the way the lossless
 * JPEG output must be checked, with libjpeg-turbo directly (not through
 * tilepaint's io layer).
 *
 *   jpegcheck coefs IN OUT MASK    exit 0 when IN and OUT have the same size, components,
 *                                  sampling factors and quantisation tables, and every MCU
 *                                  that no nonzero MASK pixel touches has the same DCT
 *                                  coefficients in both; prints "untouched U same S
 *                                  touched T"; exit 1 (saying where) otherwise
 *   jpegcheck pixels IN OUT MASK   the same for decoded pixels, decoded without smooth
 *                                  upsampling (so each MCU decodes on its own)
 *   jpegcheck layout FILE          "progressive P restart R arith A samp HxV,HxV.. components N"
 *   jpegcheck markers FILE         one line per APPn / COM marker but JFIF APP0:
 *                                  "marker length fnv64"
 *   jpegcheck ppm IMAGE OUT.ppm    any image tilepaint reads, as binary PPM (PGM for gray)
 *   jpegcheck orient O IMAGE OUT   IMAGE (8-bit gray or RGB, as stored) as displayed under
 *                                  EXIF orientation O, written as OUT (.ppm, or any format
 *                                  tilepaint writes); the EXIF definitions, written out here
 *                                  on their own (the e2e test checks them against jpegtran)
 *   jpegcheck ppmnear A B MAXDIFF  exit 0 when binary PPM/PGM files A and B have the same size
 *                                  and no sample differs by more than MAXDIFF
 */
#include "src/io/raster.h"

#include <jpeglib.h>
#include <stdio.h>
#include <string.h>

struct err { struct jpeg_error_mgr pub; };

/* Any libjpeg error ends the check (exit 2: not a verdict). */
static void on_error(j_common_ptr c)
{
	char msg[JMSG_LENGTH_MAX];
	c->err->format_message(c, msg);
	fprintf(stderr, "jpegcheck: libjpeg: %s\n", msg);
	exit(2);
}

struct jf {
	struct jpeg_decompress_struct d;
	struct err e;
	FILE *f;
	jvirt_barray_ptr *coefs;
};

/* Open and read the header (markers saved); exits on error. */
static void jf_open(struct jf *j, const char *path)
{
	memset(j, 0, sizeof *j);
	j->f = fopen(path, "rb");
	if (!j->f) {
		perror(path);
		exit(2);
	}
	j->d.err = jpeg_std_error(&j->e.pub);
	j->e.pub.error_exit = on_error;
	jpeg_create_decompress(&j->d);
	jpeg_stdio_src(&j->d, j->f);
	for (int m = 0; m < 16; m++)
		jpeg_save_markers(&j->d, JPEG_APP0 + m, 0xffff);
	jpeg_save_markers(&j->d, JPEG_COM, 0xffff);
	jpeg_read_header(&j->d, TRUE);
}

static void jf_close(struct jf *j)
{
	jpeg_destroy_decompress(&j->d);
	fclose(j->f);
}

/* The mask as one byte per pixel (0/1), w x h, or exit. */
static uint8_t *read_mask(const char *path, uint32_t w, uint32_t h)
{
	struct io_reader *r;
	const struct io_info *mi;
	uint8_t *m, *row;
	if (io_reader_open(path, &r) != TP_OK) {
		fprintf(stderr, "jpegcheck: %s\n", tp_errmsg());
		exit(2);
	}
	mi = io_reader_info(r);
	if (mi->width != w || mi->height != h) {
		fprintf(stderr, "jpegcheck: mask %ux%u, image %ux%u\n", mi->width, mi->height, w, h);
		exit(2);
	}
	m = malloc((size_t)w * h);
	row = malloc((size_t)w * mi->channels * (mi->bits / 8));
	for (uint32_t y = 0; y < h; y++) {
		if (io_reader_read_rows(r, row, (size_t)w * mi->channels * (mi->bits / 8), 1) != TP_OK)
			exit(2);
		io_row_to_binary(mi, row, m + (size_t)y * w);
	}
	free(row);
	io_reader_close(r);
	return m;
}

/* Does some mask pixel fall in MCU (mx, my) of size mw x mh? */
static int touched(const uint8_t *m, uint32_t w, uint32_t h, uint32_t mx, uint32_t my,
		   uint32_t mw, uint32_t mh)
{
	for (uint32_t y = my * mh; y < (my + 1) * mh && y < h; y++)
		for (uint32_t x = mx * mw; x < (mx + 1) * mw && x < w; x++)
			if (m[(size_t)y * w + x])
				return 1;
	return 0;
}

static int same_layout(const struct jf *a, const struct jf *b)
{
	if (a->d.image_width != b->d.image_width || a->d.image_height != b->d.image_height ||
	    a->d.num_components != b->d.num_components) {
		fprintf(stderr, "jpegcheck: size or components differ\n");
		return 0;
	}
	for (int c = 0; c < a->d.num_components; c++) {
		const jpeg_component_info *x = &a->d.comp_info[c], *y = &b->d.comp_info[c];
		const JQUANT_TBL *qx = a->d.quant_tbl_ptrs[x->quant_tbl_no];
		const JQUANT_TBL *qy = b->d.quant_tbl_ptrs[y->quant_tbl_no];
		if (x->h_samp_factor != y->h_samp_factor || x->v_samp_factor != y->v_samp_factor) {
			fprintf(stderr, "jpegcheck: component %d sampling differs\n", c);
			return 0;
		}
		if (!qx || !qy || memcmp(qx->quantval, qy->quantval, sizeof qx->quantval)) {
			fprintf(stderr, "jpegcheck: component %d quantisation table differs\n", c);
			return 0;
		}
	}
	return 1;
}

static int coefs(const char *in, const char *out, const char *maskp)
{
	struct jf a, b;
	uint8_t *m;
	uint32_t mw, mh, nx, ny, w, h;
	long untouched = 0, same = 0, nt = 0;
	jf_open(&a, in);
	jf_open(&b, out);
	if (!same_layout(&a, &b))
		return 1;
	a.coefs = jpeg_read_coefficients(&a.d);
	b.coefs = jpeg_read_coefficients(&b.d);
	w = a.d.image_width;
	h = a.d.image_height;
	m = read_mask(maskp, w, h);
	mw = (uint32_t)a.d.max_h_samp_factor * DCTSIZE;
	mh = (uint32_t)a.d.max_v_samp_factor * DCTSIZE;
	nx = (w + mw - 1) / mw;
	ny = (h + mh - 1) / mh;
	for (uint32_t my = 0; my < ny; my++)
		for (uint32_t mx = 0; mx < nx; mx++) {
			int t = touched(m, w, h, mx, my, mw, mh), eq = 1;
			for (int c = 0; c < a.d.num_components && eq; c++) {
				const jpeg_component_info *ci = &a.d.comp_info[c];
				JDIMENSION hs = (JDIMENSION)ci->h_samp_factor, vs = (JDIMENSION)ci->v_samp_factor;
				JBLOCKARRAY ra = (*a.d.mem->access_virt_barray)((j_common_ptr)&a.d,
						a.coefs[c], my * vs, vs, FALSE);
				JBLOCKARRAY rb = (*b.d.mem->access_virt_barray)((j_common_ptr)&b.d,
						b.coefs[c], my * vs, vs, FALSE);
				for (JDIMENSION by = 0; by < vs && eq; by++)
					for (JDIMENSION bx = mx * hs; bx < (mx + 1) * hs &&
					     bx < ci->width_in_blocks && eq; bx++)
						if (my * vs + by < ci->height_in_blocks &&
						    memcmp(ra[by][bx], rb[by][bx], sizeof(JBLOCK)))
							eq = 0;
			}
			if (t) {
				nt++;
				continue;
			}
			untouched++;
			same += eq;
			if (!eq && untouched - same <= 3)
				fprintf(stderr, "jpegcheck: untouched MCU (%u, %u) differs\n", mx, my);
		}
	printf("untouched %ld same %ld touched %ld\n", untouched, same, nt);
	free(m);
	jf_close(&a);
	jf_close(&b);
	return same == untouched ? 0 : 1;
}

/* Decode without smooth upsampling; w * h * components bytes. */
static uint8_t *decode(struct jf *j)
{
	size_t stride;
	uint8_t *px;
	j->d.do_fancy_upsampling = FALSE;
	j->d.do_block_smoothing = FALSE;
	jpeg_start_decompress(&j->d);
	stride = (size_t)j->d.output_width * (size_t)j->d.output_components;
	px = malloc(stride * j->d.output_height);
	while (j->d.output_scanline < j->d.output_height) {
		JSAMPROW row = px + stride * j->d.output_scanline;
		jpeg_read_scanlines(&j->d, &row, 1);
	}
	jpeg_finish_decompress(&j->d);
	return px;
}

static int pixels(const char *in, const char *out, const char *maskp)
{
	struct jf a, b;
	uint8_t *pa, *pb, *m;
	uint32_t w, h, mw, mh, nc;
	long untouched = 0, same = 0, nt = 0;
	jf_open(&a, in);
	jf_open(&b, out);
	if (!same_layout(&a, &b))
		return 1;
	pa = decode(&a);
	pb = decode(&b);
	w = a.d.output_width;
	h = a.d.output_height;
	nc = (uint32_t)a.d.output_components;
	m = read_mask(maskp, w, h);
	mw = (uint32_t)a.d.max_h_samp_factor * DCTSIZE;
	mh = (uint32_t)a.d.max_v_samp_factor * DCTSIZE;
	for (uint32_t my = 0; my * mh < h; my++)
		for (uint32_t mx = 0; mx * mw < w; mx++) {
			int eq = 1;
			if (touched(m, w, h, mx, my, mw, mh)) {
				nt++;
				continue;
			}
			for (uint32_t y = my * mh; y < (my + 1) * mh && y < h && eq; y++) {
				uint32_t x0 = mx * mw, x1 = (mx + 1) * mw < w ? (mx + 1) * mw : w;
				size_t off = ((size_t)y * w + x0) * nc;
				eq = !memcmp(pa + off, pb + off, (size_t)(x1 - x0) * nc);
			}
			untouched++;
			same += eq;
		}
	printf("untouched %ld same %ld touched %ld\n", untouched, same, nt);
	free(pa);
	free(pb);
	free(m);
	jf_close(&a);
	jf_close(&b);
	return same == untouched ? 0 : 1;
}

static int layout(const char *path)
{
	struct jf j;
	jf_open(&j, path);
	printf("progressive %d restart %u arith %d samp", j.d.progressive_mode,
	       j.d.restart_interval, j.d.arith_code);
	for (int c = 0; c < j.d.num_components; c++)
		printf("%s%dx%d", c ? "," : " ", j.d.comp_info[c].h_samp_factor,
		       j.d.comp_info[c].v_samp_factor);
	printf(" components %d\n", j.d.num_components);
	jf_close(&j);
	return 0;
}

static int markers(const char *path)
{
	struct jf j;
	jf_open(&j, path);
	for (jpeg_saved_marker_ptr m = j.d.marker_list; m; m = m->next) {
		uint64_t hh = 0xcbf29ce484222325ULL;
		if (m->marker == JPEG_APP0 && m->data_length >= 5 && !memcmp(m->data, "JFIF", 5))
			continue;
		for (unsigned i = 0; i < m->data_length; i++)
			hh = (hh ^ m->data[i]) * 0x100000001b3ULL;
		printf("%02x %u %016llx\n", m->marker, m->data_length, (unsigned long long)hh);
	}
	jf_close(&j);
	return 0;
}

static int ppm(const char *in, const char *out)
{
	struct io_reader *r;
	const struct io_info *ii;
	FILE *f;
	uint8_t *row;
	if (io_reader_open(in, &r) != TP_OK) {
		fprintf(stderr, "jpegcheck: %s\n", tp_errmsg());
		return 2;
	}
	ii = io_reader_info(r);
	if (ii->bits != 8 || (ii->channels != 1 && ii->channels != 3)) {
		fprintf(stderr, "jpegcheck: ppm needs 8-bit gray or RGB\n");
		return 2;
	}
	f = fopen(out, "wb");
	fprintf(f, "P%c\n%u %u\n255\n", ii->channels == 1 ? '5' : '6', ii->width, ii->height);
	row = malloc((size_t)ii->width * ii->channels);
	for (uint32_t y = 0; y < ii->height; y++) {
		if (io_reader_read_rows(r, row, (size_t)ii->width * ii->channels, 1) != TP_OK)
			return 2;
		fwrite(row, 1, (size_t)ii->width * ii->channels, f);
	}
	free(row);
	io_reader_close(r);
	return fclose(f) == 0 ? 0 : 2;
}

/* The stored pixel shown at (x, y) of the displayed picture (EXIF 2.3,
 * Orientation): 2 mirror, 3 rotate 180, 4 flip, 5 transpose, 6 rotate 90
 * clockwise, 7 transverse, 8 rotate 270 clockwise. */
static void shown(int o, uint32_t x, uint32_t y, uint32_t w, uint32_t h, uint32_t *sx, uint32_t *sy)
{
	static const int table[9][6] = {
		/* sx = a*x + b*y + c*(w-1), sy = d*x + e*y + f*(h-1) */
		{ 1, 0, 0, 0, 1, 0 },  { 1, 0, 0, 0, 1, 0 },  { -1, 0, 1, 0, 1, 0 },
		{ -1, 0, 1, 0, -1, 1 }, { 1, 0, 0, 0, -1, 1 }, { 0, 1, 0, 1, 0, 0 },
		{ 0, 1, 0, -1, 0, 1 },  { 0, -1, 1, -1, 0, 1 }, { 0, -1, 1, 1, 0, 0 },
	};
	const int *t = table[o];
	*sx = (uint32_t)(t[0] * (long)x + t[1] * (long)y + t[2] * (long)(w - 1));
	*sy = (uint32_t)(t[3] * (long)x + t[4] * (long)y + t[5] * (long)(h - 1));
}

static int orient(int o, const char *in, const char *out)
{
	struct io_reader *r;
	struct io_writer *wr;
	struct io_info ii, oi;
	uint8_t *img, *disp;
	uint32_t dw, dh;
	size_t px;
	if (o < 1 || o > 8 || io_reader_open(in, &r) != TP_OK)
		return 2;
	ii = *io_reader_info(r);
	px = ii.channels;
	if (ii.bits != 8)
		return 2;
	img = malloc((size_t)ii.width * ii.height * px);
	for (uint32_t y = 0; y < ii.height; y++)
		if (io_reader_read_rows(r, img + (size_t)y * ii.width * px, ii.width * px, 1) != TP_OK)
			return 2;
	io_reader_close(r);
	dw = o >= 5 ? ii.height : ii.width;
	dh = o >= 5 ? ii.width : ii.height;
	disp = malloc((size_t)dw * dh * px);
	for (uint32_t y = 0; y < dh; y++)
		for (uint32_t x = 0; x < dw; x++) {
			uint32_t sx, sy;
			shown(o, x, y, ii.width, ii.height, &sx, &sy);
			memcpy(disp + ((size_t)y * dw + x) * px, img + ((size_t)sy * ii.width + sx) * px, px);
		}
	if (strlen(out) > 4 && !strcmp(out + strlen(out) - 4, ".ppm")) {
		FILE *f = fopen(out, "wb");
		fprintf(f, "P%c\n%u %u\n255\n", px == 1 ? '5' : '6', dw, dh);
		fwrite(disp, 1, (size_t)dw * dh * px, f);
		free(img);
		free(disp);
		return fclose(f) == 0 ? 0 : 2;
	}
	oi = (struct io_info){ dw, dh, ii.channels, 8, 0, io_format_from_name(out), 0, IO_SAMPLE_UINT };
	if (io_writer_open(out, &oi, NULL, NULL, &wr) != TP_OK ||
	    io_writer_write_rows(wr, disp, (size_t)dw * px, dh) != TP_OK ||
	    io_writer_finish(wr) != TP_OK) {
		fprintf(stderr, "jpegcheck: %s\n", tp_errmsg());
		return 2;
	}
	io_writer_close(wr);
	free(img);
	free(disp);
	return 0;
}

/* A binary PPM/PGM as written by djpeg and this tool: header fields, then samples. */
static uint8_t *read_pnm(const char *path, unsigned *w, unsigned *h, unsigned *c)
{
	FILE *f = fopen(path, "rb");
	char kind;
	unsigned max;
	uint8_t *px;
	size_t n;
	if (!f || fscanf(f, "P%c %u %u %u", &kind, w, h, &max) != 4 || max != 255 ||
	    (kind != '5' && kind != '6') || fgetc(f) == EOF)
		return NULL;
	*c = kind == '5' ? 1 : 3;
	n = (size_t)*w * *h * *c;
	px = malloc(n);
	if (fread(px, 1, n, f) != n)
		return NULL;
	fclose(f);
	return px;
}

static int ppmnear(const char *a, const char *b, int maxdiff)
{
	unsigned wa, ha, ca, wb, hb, cb;
	uint8_t *pa = read_pnm(a, &wa, &ha, &ca), *pb = read_pnm(b, &wb, &hb, &cb);
	int worst = 0;
	if (!pa || !pb || wa != wb || ha != hb || ca != cb) {
		fprintf(stderr, "jpegcheck: %s and %s: unreadable or of different sizes\n", a, b);
		return 1;
	}
	for (size_t i = 0; i < (size_t)wa * ha * ca; i++) {
		int d = pa[i] > pb[i] ? pa[i] - pb[i] : pb[i] - pa[i];
		worst = d > worst ? d : worst;
	}
	printf("max difference %d\n", worst);
	free(pa);
	free(pb);
	return worst <= maxdiff ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "coefs"))
		return coefs(argv[2], argv[3], argv[4]);
	if (argc == 5 && !strcmp(argv[1], "pixels"))
		return pixels(argv[2], argv[3], argv[4]);
	if (argc == 3 && !strcmp(argv[1], "layout"))
		return layout(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "markers"))
		return markers(argv[2]);
	if (argc == 5 && !strcmp(argv[1], "orient"))
		return orient(atoi(argv[2]), argv[3], argv[4]);
	if (argc == 5 && !strcmp(argv[1], "ppmnear"))
		return ppmnear(argv[2], argv[3], atoi(argv[4]));
	if (argc == 4 && !strcmp(argv[1], "ppm"))
		return ppm(argv[2], argv[3]);
	fprintf(stderr, "usage: see the comment at the top of tests/tools/jpegcheck.c\n");
	return 2;
}
