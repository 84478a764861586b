/*
 * tptool.c - test and benchmark helper: makes synthetic images and masks of
 * any size (streamed, so 12000 x 18000 costs no memory), and compares images
 * the way the end-to-end tests assert: exact samples, unmasked pixels,
 * per-rectangle mask counts.
 *
 *   tptool gen OUT W H CHANNELS BITS [SEED]        photo-like image (format from OUT's extension)
 *   tptool mask OUT W H SHAPE...                    8-bit gray mask, 255 inside the shapes
 *        SHAPE: rect:X,Y,W,H  disk:CX,CY,R  line:X0,Y0,X1,Y1,WIDTH  spots:PERCENT,SEED
 *   tptool cmp A B                                  exit 0 when every sample is equal
 *   tptool unmasked IN OUT MASK                     exit 0 when OUT equals IN wherever MASK is 0
 *                                                   and differs from IN somewhere inside it
 *   tptool region A B X Y W H                       exit 0 when A and B agree inside the rectangle
 *   tptool maskcheck MASK < "x y w h state" lines   exit 0 when state is skipped iff no masked pixel
 *   tptool info IMAGE                               "W H CHANNELS BITS FORMAT"
 *   tptool corrupt IN OUT KEEP_BYTES                copy the first KEEP_BYTES bytes (a truncated file)
 *   tptool mutate IN OUT SEED N                     copy with N bytes set to random values (fuzz seeds)
 *   tptool fromraw RAW W H CHANNELS OUT             8-bit interleaved samples to an image
 *   tptool near A B MAXDIFF MAXFRAC                 exit 0 when no sample differs by more than MAXDIFF
 *                                                   and at most MAXFRAC of the samples differ at all
 *   tptool stats IMAGE X Y W H                      "mean M... sd S..." per colour channel inside the
 *                                                   rectangle, samples scaled to [0, 1]
 *   tptool mksock PATH                              leave a Unix socket file at PATH
 *   tptool threshold MASK OUT T [invert]            MASK's holes as tilepaint takes them with
 *                                                   --mask-threshold T (--mask-invert): 0/255 gray
 *   tptool rawtiles A B                             TIFFs A and B tiled alike: "T tiles, S same raw"
 *                                                   (compressed bytes equal, TIFFReadRawTile), and
 *                                                   "same: i j ..." the indices of those tiles
 */
#include "src/io/raster.h"

#include <stdlib.h>
#include <tiffio.h>

#include <math.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <string.h>

static int fail(const char *what)
{
	fprintf(stderr, "tptool: %s: %s\n", what, tp_errmsg());
	return 2;
}

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static int gen(int argc, char **argv)
{
	struct io_info info = { 0 };
	struct io_writer *w = NULL;
	uint64_t seed = argc > 6 ? strtoull(argv[6], NULL, 10) : 1;
	uint32_t W, H, C, B;
	uint8_t *row;
	tp_status rc;
	if (argc < 6)
		return 2;
	W = (uint32_t)atoi(argv[2]); H = (uint32_t)atoi(argv[3]);
	C = (uint32_t)atoi(argv[4]); B = (uint32_t)atoi(argv[5]);
	info = (struct io_info){ W, H, C, B, C == 2 || C == 4, io_format_from_name(argv[1]), 0, IO_SAMPLE_UINT };
	if ((rc = io_writer_open(argv[1], &info, NULL, NULL, &w)) != TP_OK)
		return fail(argv[1]);
	row = malloc((size_t)W * C * (B / 8));
	for (uint32_t y = 0; y < H; y++) {
		for (uint32_t x = 0; x < W; x++) {
			for (uint32_t c = 0; c < C; c++) {
				double v;
				if (info.alpha && c == C - 1) {
					v = 0.75 + 0.25 * sin(x * 0.01 + y * 0.02);
				} else {
					/* smooth structure + edges + fine texture, per channel */
					double s = 0.5 + 0.22 * sin(x * (0.013 + 0.004 * c) + y * 0.007 + c)
						   + 0.15 * cos(y * (0.011 + 0.003 * c) - x * 0.005 * c);
					s += ((x / 97 + y / 61 + c) % 3 == 0) ? 0.08 : -0.04;
					s += ((double)(mix(seed ^ ((uint64_t)y << 32 | x) ^ ((uint64_t)c << 60)) & 0xffff) / 65535.0 - 0.5) * 0.06;
					v = s < 0 ? 0 : s > 1 ? 1 : s;
				}
				if (B == 8)
					row[(size_t)x * C + c] = (uint8_t)(v * 255 + 0.5);
				else
					((uint16_t *)row)[(size_t)x * C + c] = (uint16_t)(v * 65535 + 0.5);
			}
		}
		if ((rc = io_writer_write_rows(w, row, (size_t)W * C * (B / 8), 1)) != TP_OK)
			return fail(argv[1]);
	}
	free(row);
	if ((rc = io_writer_finish(w)) != TP_OK)
		return fail(argv[1]);
	io_writer_close(w);
	return 0;
}

struct shape { char kind; double a, b, c, d, e; };

static int mask(int argc, char **argv)
{
	struct io_info info;
	struct io_writer *w = NULL;
	uint32_t W, H;
	struct shape *sh = NULL;
	size_t ns = 0, cap = 0;
	uint8_t *row;
	if (argc < 5)
		return 2;
	W = (uint32_t)atoi(argv[2]); H = (uint32_t)atoi(argv[3]);
	for (int i = 4; i < argc; i++) {
		struct shape s = { 0 };
		if (ns + 4096 > cap) {
			cap = cap * 2 + 8192;
			sh = realloc(sh, cap * sizeof *sh);
		}
		if (sscanf(argv[i], "rect:%lf,%lf,%lf,%lf", &s.a, &s.b, &s.c, &s.d) == 4) {
			s.kind = 'r';
			sh[ns++] = s;
		} else if (sscanf(argv[i], "disk:%lf,%lf,%lf", &s.a, &s.b, &s.c) == 3) {
			s.kind = 'd';
			sh[ns++] = s;
		} else if (sscanf(argv[i], "line:%lf,%lf,%lf,%lf,%lf", &s.a, &s.b, &s.c, &s.d, &s.e) == 5) {
			s.kind = 'l';
			sh[ns++] = s;
		} else if (sscanf(argv[i], "spots:%lf,%lf", &s.a, &s.b) == 2) {
			/* random disks of radius 4..24 until about PERCENT of the area */
			double want = s.a / 100.0 * W * H, got = 0;
			uint64_t st = (uint64_t)s.b;
			while (got < want) {
				struct shape d = { 'd', 0, 0, 0, 0, 0 };
				st = mix(st); d.a = (double)(st % W);
				st = mix(st); d.b = (double)(st % H);
				st = mix(st); d.c = 4 + (double)(st % 21);
				got += M_PI * d.c * d.c;
				if (ns == cap) {
					cap = cap * 2 + 8192;
					sh = realloc(sh, cap * sizeof *sh);
				}
				sh[ns++] = d;
			}
		} else {
			fprintf(stderr, "tptool: bad shape '%s'\n", argv[i]);
			return 2;
		}
	}
	info = (struct io_info){ W, H, 1, 8, 0, io_format_from_name(argv[1]), 0, IO_SAMPLE_UINT };
	if (io_writer_open(argv[1], &info, NULL, NULL, &w) != TP_OK)
		return fail(argv[1]);
	row = malloc(W);
	for (uint32_t y = 0; y < H; y++) {
		memset(row, 0, W);
		for (size_t k = 0; k < ns; k++) {
			struct shape *s = &sh[k];
			if (s->kind == 'r') {
				if (y < s->b || y >= s->b + s->d)
					continue;
				for (uint32_t x = (uint32_t)s->a; x < s->a + s->c && x < W; x++)
					row[x] = 255;
			} else if (s->kind == 'd') {
				double dy = y - s->b, r2 = s->c * s->c - dy * dy;
				if (r2 < 0)
					continue;
				double hw = sqrt(r2);
				for (long x = (long)ceil(s->a - hw); x <= (long)floor(s->a + hw); x++)
					if (x >= 0 && x < (long)W)
						row[x] = 255;
			} else {
				/* points within width/2 of the segment */
				double vx = s->c - s->a, vy = s->d - s->b, L2 = vx * vx + vy * vy;
				for (uint32_t x = 0; x < W; x++) {
					double t = L2 > 0 ? ((x - s->a) * vx + (y - s->b) * vy) / L2 : 0;
					t = t < 0 ? 0 : t > 1 ? 1 : t;
					double px = s->a + t * vx - x, py = s->b + t * vy - y;
					if (px * px + py * py <= s->e * s->e / 4)
						row[x] = 255;
				}
			}
		}
		if (io_writer_write_rows(w, row, W, 1) != TP_OK)
			return fail(argv[1]);
	}
	free(row);
	free(sh);
	if (io_writer_finish(w) != TP_OK)
		return fail(argv[1]);
	io_writer_close(w);
	return 0;
}

/* Open up to three images with the same size; rows are read in step. */
static int open3(char **paths, int n, struct io_reader **r)
{
	for (int i = 0; i < n; i++)
		if (io_reader_open(paths[i], &r[i]) != TP_OK)
			return fail(paths[i]);
	for (int i = 1; i < n; i++) {
		const struct io_info *a = io_reader_info(r[0]), *b = io_reader_info(r[i]);
		if (a->width != b->width || a->height != b->height) {
			fprintf(stderr, "tptool: %s is %ux%u but %s is %ux%u\n", paths[0], a->width,
				a->height, paths[i], b->width, b->height);
			return 1;
		}
	}
	return 0;
}

static size_t row_bytes(const struct io_info *i)
{
	return (size_t)i->width * i->channels * (i->bits / 8);
}

static int cmp(int argc, char **argv, int region)
{
	struct io_reader *r[2] = { 0 };
	const struct io_info *a, *b;
	uint8_t *ra, *rb;
	uint64_t diff = 0;
	long x0 = 0, y0 = 0, w = 0, h = 0;
	int e;
	if (argc < (region ? 8 : 4))
		return 2;
	if ((e = open3(argv + 2, 2, r)) != 0)
		return e;
	a = io_reader_info(r[0]);
	b = io_reader_info(r[1]);
	if (a->channels != b->channels || a->bits != b->bits) {
		fprintf(stderr, "tptool: layouts differ (%u ch %u bit vs %u ch %u bit)\n", a->channels,
			a->bits, b->channels, b->bits);
		return 1;
	}
	if (region) {
		x0 = atol(argv[4]); y0 = atol(argv[5]); w = atol(argv[6]); h = atol(argv[7]);
	} else {
		w = a->width; h = a->height;
	}
	ra = malloc(row_bytes(a));
	rb = malloc(row_bytes(a));
	for (uint32_t y = 0; y < a->height; y++) {
		size_t px = (size_t)a->channels * (a->bits / 8);
		if (io_reader_read_rows(r[0], ra, row_bytes(a), 1) != TP_OK || io_reader_read_rows(r[1], rb, row_bytes(a), 1) != TP_OK)
			return fail("read");
		if ((long)y < y0 || (long)y >= y0 + h)
			continue;
		for (long x = x0; x < x0 + w && x < (long)a->width; x++)
			if (memcmp(ra + x * px, rb + x * px, px) != 0)
				diff++;
	}
	printf("%llu pixels differ\n", (unsigned long long)diff);
	free(ra);
	free(rb);
	io_reader_close(r[0]);
	io_reader_close(r[1]);
	return diff ? 1 : 0;
}

static int unmasked(int argc, char **argv)
{
	struct io_reader *r[3] = { 0 };
	const struct io_info *a, *m;
	uint8_t *ra, *rb, *rm, *bin;
	uint64_t bad = 0, changed = 0, masked = 0;
	int e;
	if (argc < 5)
		return 2;
	if ((e = open3(argv + 2, 3, r)) != 0)
		return e;
	a = io_reader_info(r[0]);
	m = io_reader_info(r[2]);
	ra = malloc(row_bytes(a));
	rb = malloc(row_bytes(a));
	rm = malloc(row_bytes(m));
	bin = malloc(a->width);
	for (uint32_t y = 0; y < a->height; y++) {
		size_t px = (size_t)a->channels * (a->bits / 8);
		if (io_reader_read_rows(r[0], ra, row_bytes(a), 1) != TP_OK || io_reader_read_rows(r[1], rb, row_bytes(a), 1) != TP_OK ||
		    io_reader_read_rows(r[2], rm, row_bytes(m), 1) != TP_OK)
			return fail("read");
		io_row_to_binary(m, rm, bin);
		for (uint32_t x = 0; x < a->width; x++) {
			int same = memcmp(ra + x * px, rb + x * px, px) == 0;
			if (!bin[x] && !same)
				bad++;
			masked += bin[x];
			changed += bin[x] && !same;
		}
	}
	printf("%llu unmasked pixels differ; %llu of %llu masked pixels changed\n",
	       (unsigned long long)bad, (unsigned long long)changed, (unsigned long long)masked);
	free(ra);
	free(rb);
	free(rm);
	free(bin);
	for (int i = 0; i < 3; i++)
		io_reader_close(r[i]);
	return bad || (masked && !changed) ? 1 : 0;
}

static int maskcheck(int argc, char **argv)
{
	struct io_reader *r = NULL;
	const struct io_info *m;
	uint8_t *rm, *bin;
	uint32_t *prefix;   /* per row: masked count; rows kept whole (test-sized masks) */
	long x, y, w, h;
	char state[32];
	int bad = 0, n = 0;
	if (argc < 3)
		return 2;
	if (io_reader_open(argv[2], &r) != TP_OK)
		return fail(argv[2]);
	m = io_reader_info(r);
	rm = malloc(row_bytes(m));
	bin = malloc((size_t)m->width * m->height);
	prefix = NULL;
	for (uint32_t yy = 0; yy < m->height; yy++) {
		if (io_reader_read_rows(r, rm, row_bytes(m), 1) != TP_OK)
			return fail(argv[2]);
		io_row_to_binary(m, rm, bin + (size_t)yy * m->width);
	}
	while (scanf("%ld %ld %ld %ld %31s", &x, &y, &w, &h, state) == 5) {
		uint64_t c = 0;
		for (long yy = y; yy < y + h; yy++)
			for (long xx = x; xx < x + w; xx++)
				c += bin[(size_t)yy * m->width + (size_t)xx];
		if ((c == 0) != (strcmp(state, "skipped") == 0 || strcmp(state, "2") == 0)) {
			fprintf(stderr, "tile %ld,%ld %ldx%ld: %llu masked pixels but state %s\n", x, y, w, h,
				(unsigned long long)c, state);
			bad++;
		}
		n++;
	}
	printf("%d tiles checked, %d wrong\n", n, bad);
	free(prefix);
	free(rm);
	free(bin);
	io_reader_close(r);
	return bad || !n ? 1 : 0;
}

static int info(int argc, char **argv)
{
	struct io_reader *r = NULL;
	const struct io_info *i;
	if (argc < 3)
		return 2;
	if (io_reader_open(argv[2], &r) != TP_OK)
		return fail(argv[2]);
	i = io_reader_info(r);
	printf("%u %u %u %u %s\n", i->width, i->height, i->channels, i->bits, io_format_name(i->format));
	io_reader_close(r);
	return 0;
}

static int corrupt(int argc, char **argv)
{
	FILE *in, *out;
	long keep;
	int c;
	if (argc < 5)
		return 2;
	keep = atol(argv[4]);
	in = fopen(argv[2], "rb");
	out = fopen(argv[3], "wb");
	if (!in || !out)
		return 2;
	while (keep-- > 0 && (c = fgetc(in)) != EOF)
		fputc(c, out);
	fclose(in);
	return fclose(out) ? 2 : 0;
}

static int fromraw(int argc, char **argv)
{
	struct io_info info;
	struct io_writer *w = NULL;
	FILE *in;
	uint32_t W, H, C;
	uint8_t *row;
	if (argc < 7)
		return 2;
	W = (uint32_t)atoi(argv[3]); H = (uint32_t)atoi(argv[4]); C = (uint32_t)atoi(argv[5]);
	info = (struct io_info){ W, H, C, 8, C == 2 || C == 4, io_format_from_name(argv[6]), 0, IO_SAMPLE_UINT };
	in = fopen(argv[2], "rb");
	if (!in || io_writer_open(argv[6], &info, NULL, NULL, &w) != TP_OK)
		return fail(argv[6]);
	row = malloc((size_t)W * C);
	for (uint32_t y = 0; y < H; y++) {
		if (fread(row, 1, (size_t)W * C, in) != (size_t)W * C) {
			fprintf(stderr, "tptool: %s is short\n", argv[2]);
			return 2;
		}
		if (io_writer_write_rows(w, row, (size_t)W * C, 1) != TP_OK)
			return fail(argv[6]);
	}
	fclose(in);
	free(row);
	if (io_writer_finish(w) != TP_OK)
		return fail(argv[6]);
	io_writer_close(w);
	return 0;
}

static int threshold(int argc, char **argv)
{
	struct io_reader *r = NULL;
	struct io_writer *w = NULL;
	struct io_info info;
	const struct io_info *m;
	uint8_t *rm, *bin;
	if (argc < 5)
		return 2;
	if (io_reader_open(argv[2], &r) != TP_OK)
		return fail(argv[2]);
	m = io_reader_info(r);
	info = (struct io_info){ m->width, m->height, 1, 8, 0, io_format_from_name(argv[3]), 0,
				 IO_SAMPLE_UINT };
	if (io_writer_open(argv[3], &info, NULL, NULL, &w) != TP_OK)
		return fail(argv[3]);
	rm = malloc(row_bytes(m));
	bin = malloc(m->width);
	for (uint32_t y = 0; y < m->height; y++) {
		if (io_reader_read_rows(r, rm, row_bytes(m), 1) != TP_OK)
			return fail(argv[2]);
		io_row_to_mask(m, rm, bin, (uint32_t)atoi(argv[4]), argc > 5 && !strcmp(argv[5], "invert"));
		for (uint32_t x = 0; x < m->width; x++)
			bin[x] = bin[x] ? 255 : 0;
		if (io_writer_write_rows(w, bin, m->width, 1) != TP_OK)
			return fail(argv[3]);
	}
	if (io_writer_finish(w) != TP_OK)
		return fail(argv[3]);
	io_writer_close(w);
	io_reader_close(r);
	free(rm);
	free(bin);
	return 0;
}

static int near(int argc, char **argv)
{
	struct io_reader *r[2] = { 0 };
	const struct io_info *a;
	uint8_t *ra, *rb;
	uint64_t n = 0, differ = 0;
	long maxd, worst = 0;
	double maxfrac;
	int e;
	if (argc < 6)
		return 2;
	maxd = atol(argv[4]);
	maxfrac = atof(argv[5]);
	if ((e = open3(argv + 2, 2, r)) != 0)
		return e;
	a = io_reader_info(r[0]);
	if (a->bits != 8 || io_reader_info(r[1])->bits != 8 || a->channels != io_reader_info(r[1])->channels)
		return 1;
	ra = malloc(row_bytes(a));
	rb = malloc(row_bytes(a));
	for (uint32_t y = 0; y < a->height; y++) {
		if (io_reader_read_rows(r[0], ra, row_bytes(a), 1) != TP_OK ||
		    io_reader_read_rows(r[1], rb, row_bytes(a), 1) != TP_OK)
			return fail("read");
		for (size_t i = 0; i < row_bytes(a); i++, n++) {
			long d = labs((long)ra[i] - (long)rb[i]);
			differ += d != 0;
			if (d > worst)
				worst = d;
		}
	}
	printf("%llu of %llu samples differ, by at most %ld\n", (unsigned long long)differ,
	       (unsigned long long)n, worst);
	free(ra);
	free(rb);
	io_reader_close(r[0]);
	io_reader_close(r[1]);
	return worst > maxd || (double)differ > maxfrac * (double)n ? 1 : 0;
}

static int stats(int argc, char **argv)
{
	struct io_reader *r = NULL;
	const struct io_info *a;
	uint8_t *row;
	double sum[4] = {0, 0, 0, 0}, sq[4] = {0, 0, 0, 0}, n = 0, maxv;
	long x0, y0, w, h;
	uint32_t color;
	if (argc < 7)
		return 2;
	if (io_reader_open(argv[2], &r) != TP_OK)
		return fail(argv[2]);
	a = io_reader_info(r);
	x0 = atol(argv[3]); y0 = atol(argv[4]); w = atol(argv[5]); h = atol(argv[6]);
	if (x0 < 0 || y0 < 0 || w <= 0 || h <= 0 || x0 + w > (long)a->width || y0 + h > (long)a->height)
		return 2;
	color = a->channels - (uint32_t)(a->alpha != 0);
	maxv = a->bits == 8 ? 255.0 : 65535.0;
	row = malloc(row_bytes(a));
	for (long y = 0; y < y0 + h; y++) {
		if (io_reader_read_rows(r, row, row_bytes(a), 1) != TP_OK)
			return fail("read");
		if (y < y0)
			continue;
		for (long x = x0; x < x0 + w; x++, n++)
			for (uint32_t c = 0; c < color; c++) {
				size_t i = (size_t)x * a->channels + c;
				double v = (a->bits == 8 ? row[i] : ((uint16_t *)row)[i]) / maxv;
				sum[c] += v;
				sq[c] += v * v;
			}
	}
	printf("mean");
	for (uint32_t c = 0; c < color; c++)
		printf(" %.4f", sum[c] / n);
	printf(" sd");
	for (uint32_t c = 0; c < color; c++) {
		double m = sum[c] / n, var = sq[c] / n - m * m;
		printf(" %.4f", var > 0 ? sqrt(var) : 0.0);
	}
	printf("\n");
	free(row);
	io_reader_close(r);
	return 0;
}

static int mutate(int argc, char **argv)
{
	FILE *in, *out;
	unsigned char *buf;
	long n = 0, cap = 1 << 20;
	uint64_t st;
	int c;
	if (argc < 6)
		return 2;
	in = fopen(argv[2], "rb");
	if (!in)
		return 2;
	buf = malloc((size_t)cap);
	while ((c = fgetc(in)) != EOF) {
		if (n == cap)
			buf = realloc(buf, (size_t)(cap *= 2));
		buf[n++] = (unsigned char)c;
	}
	fclose(in);
	st = strtoull(argv[4], NULL, 10);
	for (long k = atol(argv[5]); k > 0 && n > 0; k--) {
		st = mix(st);
		buf[st % (uint64_t)n] = (unsigned char)(st >> 32);
	}
	out = fopen(argv[3], "wb");
	if (!out || fwrite(buf, 1, (size_t)n, out) != (size_t)n)
		return 2;
	free(buf);
	return fclose(out) ? 2 : 0;
}

/* mksock PATH: leave a Unix socket bound at PATH (a special file to refuse) */
static int mksock(int argc, char **argv)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd;
	if (argc != 3 || strlen(argv[2]) >= sizeof a.sun_path)
		return 2;
	strcpy(a.sun_path, argv[2]);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0)
		return 2;
	return close(fd) ? 2 : 0;
}

static int rawtiles(int argc, char **argv)
{
	TIFF *a, *b;
	uint32_t n, same = 0;
	char *list;
	size_t len = 0;
	if (argc != 4)
		return 2;
	TIFFSetWarningHandler(NULL);
	a = TIFFOpen(argv[2], "rm");
	b = TIFFOpen(argv[3], "rm");
	if (!a || !b || !TIFFIsTiled(a) || !TIFFIsTiled(b) ||
	    TIFFNumberOfTiles(a) != TIFFNumberOfTiles(b))
		return fail("rawtiles: not two TIFFs tiled alike");
	n = TIFFNumberOfTiles(a);
	list = malloc((size_t)n * 12 + 1);
	if (!list)
		return fail("rawtiles: out of memory");
	list[0] = 0;
	for (uint32_t t = 0; t < n; t++) {
		uint64_t na = TIFFGetStrileByteCount(a, t), nb = TIFFGetStrileByteCount(b, t);
		uint8_t *ba, *bb;
		if (na != nb || !na)
			continue;
		ba = malloc(na);
		bb = malloc(nb);
		if (!ba || !bb || TIFFReadRawTile(a, t, ba, (tmsize_t)na) != (tmsize_t)na ||
		    TIFFReadRawTile(b, t, bb, (tmsize_t)nb) != (tmsize_t)nb)
			return fail("rawtiles: cannot read a tile");
		if (!memcmp(ba, bb, na)) {
			same++;
			len += (size_t)sprintf(list + len, " %u", t);
		}
		free(ba);
		free(bb);
	}
	printf("%u tiles, %u same raw\nsame:%s\n", n, same, list);
	free(list);
	TIFFClose(a);
	TIFFClose(b);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		goto usage;
	if (!strcmp(argv[1], "gen")) return gen(argc - 1, argv + 1);
	if (!strcmp(argv[1], "mask")) return mask(argc - 1, argv + 1);
	if (!strcmp(argv[1], "cmp")) return cmp(argc, argv, 0);
	if (!strcmp(argv[1], "region")) return cmp(argc, argv, 1);
	if (!strcmp(argv[1], "unmasked")) return unmasked(argc, argv);
	if (!strcmp(argv[1], "maskcheck")) return maskcheck(argc, argv);
	if (!strcmp(argv[1], "info")) return info(argc, argv);
	if (!strcmp(argv[1], "corrupt")) return corrupt(argc, argv);
	if (!strcmp(argv[1], "mutate")) return mutate(argc, argv);
	if (!strcmp(argv[1], "fromraw")) return fromraw(argc, argv);
	if (!strcmp(argv[1], "near")) return near(argc, argv);
	if (!strcmp(argv[1], "stats")) return stats(argc, argv);
	if (!strcmp(argv[1], "mksock")) return mksock(argc, argv);
	if (!strcmp(argv[1], "threshold")) return threshold(argc, argv);
	if (!strcmp(argv[1], "rawtiles")) return rawtiles(argc, argv);
usage:
	fprintf(stderr, "usage: see the comment at the top of tests/tools/tptool.c\n");
	return 2;
}
