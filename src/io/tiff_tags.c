/*
 * tiff_tags.c - every tag of a TIFF's first page carried to the TIFF written
 * from it (tiff_int.h says what is captured and when). Below tiff.c: it
 * calls io_common.c and libtiff only.
 *
 * libtiff hands tags out through TIFFGetField, whose calling convention
 * depends on the field's definition (a count passed or not, 16 or 32 bits,
 * an array or a scalar); a captured tag records which one, so that
 * TIFFSetField gets it back the same way on the writer's handle. Unknown
 * tags are anonymous fields on the reader; the writer registers them with
 * the same type (TIFFMergeFieldInfo) before setting them. The EXIF, GPS and
 * Interoperability IFDs are read on a second handle on the same file (so
 * the reader's directory never changes) and written as custom directories
 * before the image, their offsets then set in the image's directory.
 */
#include "tiff_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

/* ---- the GeoTIFF and GDAL tags (as libgeotiff and GDAL define them) ---- */

static const TIFFFieldInfo geo_fields[] = {
	{ 33550, -1, -1, TIFF_DOUBLE, FIELD_CUSTOM, 1, 1, "ModelPixelScale" },
	{ 33922, -1, -1, TIFF_DOUBLE, FIELD_CUSTOM, 1, 1, "ModelTiepoint" },
	{ 34264, -1, -1, TIFF_DOUBLE, FIELD_CUSTOM, 1, 1, "ModelTransformation" },
	{ 34735, -1, -1, TIFF_SHORT, FIELD_CUSTOM, 1, 1, "GeoKeyDirectory" },
	{ 34736, -1, -1, TIFF_DOUBLE, FIELD_CUSTOM, 1, 1, "GeoDoubleParams" },
	{ 34737, -1, -1, TIFF_ASCII, FIELD_CUSTOM, 1, 0, "GeoAsciiParams" },
	{ 42112, -1, -1, TIFF_ASCII, FIELD_CUSTOM, 1, 0, "GDAL_METADATA" },
	{ 42113, -1, -1, TIFF_ASCII, FIELD_CUSTOM, 1, 0, "GDAL_NODATA" },
};

static TIFFExtendProc parent_extender;
static pthread_once_t extender_once = PTHREAD_ONCE_INIT;

static void geo_extender(TIFF *tif)
{
	TIFFMergeFieldInfo(tif, geo_fields, sizeof geo_fields / sizeof geo_fields[0]);
	if (parent_extender)
		parent_extender(tif);
}

static void install_extender(void)
{
	parent_extender = TIFFSetTagExtender(geo_extender);
}

void tiff_tags_init(void)
{
	pthread_once(&extender_once, install_extender);
}

/* ---- which tags are whose ---- */

#define TAG_INTEROP_IFD 40965u
#define TAG_LERC_PARAMS 50674u
#define TAG_DOTRANGE 336u

/* Tags that describe the pixel layout or its coding: the writer sets them
 * from the pixels it writes, so they are not copied (and not warned about). */
static int is_layout(uint32_t tag)
{
	switch (tag) {
	case 256: case 257: case 258: case 259: case 262: case 266: case 273: case 277:
	case 278: case 279: case 284: case 292: case 293: case 317: case 320: case 322:
	case 323: case 324: case 325: case 326: case 327: case 328: case 338: case 339:
	case 347: case 512: case 513: case 514: case 515: case 517: case 518: case 519:
	case 520: case 521: case 530: case 32995: case 32996: case 32997: case 32998:
	case TAG_LERC_PARAMS:
		return 1;
	default:
		return 0;
	}
}

/* Why a tag that is in the file but was not captured is not copied. */
static const char *known_reason(uint32_t tag)
{
	switch (tag) {
	case 330:
		return "its sub-images (SubIFDs, often reduced-resolution copies) are not written";
	case 255: case 288: case 289: case 290: case 291: case 300:
		return "libtiff does not carry this tag";
	case 333: case 334:
		return "libtiff cannot copy ink names";
	case TAG_INTEROP_IFD:
		return "an Interoperability IFD outside the EXIF IFD is not rewritten";
	default:
		return NULL;
	}
}

/* How TIFFGetField / TIFFSetField pass a tag's value. */
enum tag_kind {
	K_SCALAR,   /* one value, by pointer / by (promoted) value */
	K_ARRAY,    /* a pointer to count values, no count passed */
	K_ASCII,    /* a NUL-terminated string */
	K_COUNT16,  /* a uint16 count (int when setting), then a pointer */
	K_COUNT32,  /* a uint32 count, then a pointer */
	K_PAIR16,   /* two uint16 values (PageNumber, HalftoneHints, DotRange) */
	K_TRANSFER  /* TransferFunction: 1 or 3 pointers to 1 << bits values */
};

/* libtiff's own fields of the image directory that are copied (everything
 * else it keeps is either layout or a custom field, found by its list). */
static const struct {
	uint32_t tag;
	uint16_t type;
	uint8_t kind, count;
} core_tags[] = {
	{ TIFFTAG_SUBFILETYPE, TIFF_LONG, K_SCALAR, 1 },
	{ TIFFTAG_THRESHHOLDING, TIFF_SHORT, K_SCALAR, 1 },
	{ TIFFTAG_ORIENTATION, TIFF_SHORT, K_SCALAR, 1 },
	{ TIFFTAG_MINSAMPLEVALUE, TIFF_SHORT, K_SCALAR, 1 },
	{ TIFFTAG_MAXSAMPLEVALUE, TIFF_SHORT, K_SCALAR, 1 },
	{ TIFFTAG_XRESOLUTION, TIFF_FLOAT, K_SCALAR, 1 },
	{ TIFFTAG_YRESOLUTION, TIFF_FLOAT, K_SCALAR, 1 },
	{ TIFFTAG_XPOSITION, TIFF_FLOAT, K_SCALAR, 1 },
	{ TIFFTAG_YPOSITION, TIFF_FLOAT, K_SCALAR, 1 },
	{ TIFFTAG_RESOLUTIONUNIT, TIFF_SHORT, K_SCALAR, 1 },
	{ TIFFTAG_PAGENUMBER, TIFF_SHORT, K_PAIR16, 2 },
	{ TIFFTAG_TRANSFERFUNCTION, TIFF_SHORT, K_TRANSFER, 0 },
	{ TIFFTAG_HALFTONEHINTS, TIFF_SHORT, K_PAIR16, 2 },
	{ TIFFTAG_SMINSAMPLEVALUE, TIFF_DOUBLE, K_SCALAR, 1 },
	{ TIFFTAG_SMAXSAMPLEVALUE, TIFF_DOUBLE, K_SCALAR, 1 },
	{ TIFFTAG_YCBCRPOSITIONING, TIFF_SHORT, K_SCALAR, 1 },
	{ TIFFTAG_REFERENCEBLACKWHITE, TIFF_FLOAT, K_ARRAY, 6 },
};
#define NCORE (sizeof core_tags / sizeof core_tags[0])

/* All captured values together may take this much (each at most IO_MAX_META). */
#define TIFF_MAX_TAG_BYTES (4 * IO_MAX_META)

union scalar {
	uint8_t u8;
	int8_t i8;
	uint16_t u16;
	int16_t i16;
	uint32_t u32;
	int32_t i32;
	uint64_t u64;
	int64_t i64;
	float f;
	double d;
};

/* ---- notes: tags that will not be copied ---- */

__attribute__((format(printf, 2, 3)))
TP_MUST_USE static tp_status add_note(struct tiff_tags *t, const char *fmt, ...)
{
	struct tiff_note *n;
	va_list ap;
	if (t->nnotes >= 1024)
		return TP_OK; /* a file with more is past caring about each */
	n = tp_realloc(t->note, (t->nnotes + 1) * sizeof *n);
	if (!n)
		return tp_err(TP_ENOMEM, "out of memory for TIFF tag notes");
	t->note = n;
	va_start(ap, fmt);
	vsnprintf(n[t->nnotes].text, sizeof n[t->nnotes].text, fmt, ap);
	va_end(ap);
	t->nnotes++;
	return TP_OK;
}

/* A tag's name for messages. */
static const char *tag_name(TIFF *tif, uint32_t tag)
{
	const TIFFField *fip = TIFFFindField(tif, tag, TIFF_ANY);
	if (!fip || TIFFFieldIsAnonymous(fip))
		return "unknown to libtiff";
	return TIFFFieldName(fip);
}

/* ---- the raw IFD: what the file holds, checked against the file ---- */

struct raw_file {
	int fd;
	uint64_t size;
	int msb, big;       /* big-endian ("MM") file; BigTIFF */
	const char *path;
};

struct raw_entry {
	uint16_t tag, type;
	uint64_t count;
	uint8_t value[8];   /* the value or offset field as stored */
};

struct raw_ifd {
	struct raw_entry *e;
	uint32_t n;
	uint64_t next;
};

static int raw_read(const struct raw_file *f, uint64_t off, void *buf, size_t n)
{
	uint8_t *p = buf;
	if (off > f->size || n > f->size - off)
		return -1;
	while (n) {
		ssize_t got = pread(f->fd, p, n, (off_t)off);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return -1;
		p += got;
		off += (uint64_t)got;
		n -= (size_t)got;
	}
	return 0;
}

static uint64_t raw_get(const struct raw_file *f, const uint8_t *p, int bytes)
{
	uint64_t v = 0;
	for (int i = 0; i < bytes; i++)
		v |= (uint64_t)p[f->msb ? bytes - 1 - i : i] << (8 * i);
	return v;
}

static int raw_type_size(uint16_t type)
{
	switch (type) {
	case TIFF_BYTE: case TIFF_ASCII: case TIFF_SBYTE: case TIFF_UNDEFINED:
		return 1;
	case TIFF_SHORT: case TIFF_SSHORT:
		return 2;
	case TIFF_LONG: case TIFF_SLONG: case TIFF_FLOAT: case TIFF_IFD:
		return 4;
	case TIFF_RATIONAL: case TIFF_SRATIONAL: case TIFF_DOUBLE: case TIFF_LONG8:
	case TIFF_SLONG8: case TIFF_IFD8:
		return 8;
	default:
		return 0;
	}
}

/* Read and check the IFD at `off` (`what` names it: "first page", "EXIF"). */
TP_MUST_USE static tp_status raw_ifd_read(const struct raw_file *f, uint64_t off, const char *what,
					  struct raw_ifd *ifd)
{
	uint8_t head[8], *buf;
	size_t esz = f->big ? 20 : 12, inl = f->big ? 8 : 4;
	uint64_t n;
	ifd->e = NULL;
	ifd->n = 0;
	ifd->next = 0;
	if (off < 8 || raw_read(f, off, head, f->big ? 8 : 2))
		return tp_err(TP_EFORMAT, "%s: corrupt TIFF: the %s IFD at offset %llu is not inside "
			      "the file (%llu bytes)", f->path, what, (unsigned long long)off,
			      (unsigned long long)f->size);
	n = raw_get(f, head, f->big ? 8 : 2);
	if (n == 0 || n > 65535)
		return tp_err(TP_EFORMAT, "%s: corrupt TIFF: the %s IFD at offset %llu declares %llu "
			      "entries", f->path, what, (unsigned long long)off, (unsigned long long)n);
	buf = tp_malloc((size_t)n * esz + 8);
	ifd->e = tp_calloc((size_t)n, sizeof *ifd->e);
	if (!buf || !ifd->e) {
		tp_free(buf);
		return tp_err(TP_ENOMEM, "%s: out of memory reading a TIFF IFD", f->path);
	}
	if (raw_read(f, off + (f->big ? 8 : 2), buf, (size_t)n * esz + inl)) {
		tp_free(buf);
		return tp_err(TP_EFORMAT, "%s: corrupt TIFF: the %s IFD at offset %llu (%llu entries) "
			      "runs past the end of the file", f->path, what, (unsigned long long)off,
			      (unsigned long long)n);
	}
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *p = buf + (size_t)i * esz;
		struct raw_entry *e = &ifd->e[i];
		int ts;
		uint64_t bytes, at;
		e->tag = (uint16_t)raw_get(f, p, 2);
		e->type = (uint16_t)raw_get(f, p + 2, 2);
		e->count = raw_get(f, p + 4, f->big ? 8 : 4);
		memcpy(e->value, p + (f->big ? 12 : 8), inl);
		ts = raw_type_size(e->type);
		if (!ts) {
			tp_free(buf);
			return tp_err(TP_EFORMAT, "%s: corrupt TIFF tag %u in the %s IFD: type %u is no "
				      "TIFF type", f->path, e->tag, what, e->type);
		}
		bytes = e->count * (uint64_t)ts;
		if (e->count > UINT64_MAX / 8)
			bytes = UINT64_MAX;
		if (bytes <= inl)
			continue;
		at = raw_get(f, e->value, (int)inl);
		if (at > f->size || bytes > f->size - at) {
			tp_free(buf);
			return tp_err(TP_EFORMAT, "%s: corrupt TIFF tag %u in the %s IFD: its %llu bytes "
				      "at offset %llu lie past the end of the file (%llu bytes)", f->path,
				      e->tag, what, (unsigned long long)bytes, (unsigned long long)at,
				      (unsigned long long)f->size);
		}
	}
	ifd->n = (uint32_t)n;
	ifd->next = raw_get(f, buf + (size_t)n * esz, (int)inl);
	tp_free(buf);
	return TP_OK;
}

/* The SubfileType (254) of a raw IFD, 0 when absent. */
static uint32_t raw_subfiletype(const struct raw_file *f, const struct raw_ifd *ifd)
{
	for (uint32_t i = 0; i < ifd->n; i++)
		if (ifd->e[i].tag == TIFFTAG_SUBFILETYPE && ifd->e[i].count == 1)
			return (uint32_t)raw_get(f, ifd->e[i].value, ifd->e[i].type == TIFF_SHORT ? 2 : 4);
	return 0;
}

/* ---- capturing values ---- */

static void tag_set_name(struct tiff_tag *t, const TIFFField *fip)
{
	const char *n = fip && !TIFFFieldIsAnonymous(fip) ? TIFFFieldName(fip) : "unknown to libtiff";
	snprintf(t->name, sizeof t->name, "%s", n ? n : "?");
}

/*
 * Get tag's value from tif into *t (data copied). Returns 0 captured, 1 not
 * copyable (why says so), -1 out of memory (tp_err set).
 */
static int capture_custom(TIFF *tif, const TIFFField *fip, uint16_t spp, struct tiff_tag *t,
			  char *why, size_t nwhy)
{
	uint32_t tag = TIFFFieldTag(fip);
	int rc = TIFFFieldReadCount(fip), esz = TIFFFieldSetGetSize(fip);
	TIFFDataType type = TIFFFieldDataType(fip);
	const void *p = NULL;
	union scalar v;
	uint16_t pair[2];
	uint64_t bytes;
	int got = 0;

	memset(t, 0, sizeof *t);
	t->tag = tag;
	t->type = (uint16_t)type;
	t->anon = (uint8_t)TIFFFieldIsAnonymous(fip);
	tag_set_name(t, fip);
	if (type == TIFF_IFD || type == TIFF_IFD8) {
		snprintf(why, nwhy, "it points to a sub-IFD, which is not rewritten");
		return 1;
	}
	if (esz <= 0 && type != TIFF_ASCII) {
		snprintf(why, nwhy, "libtiff cannot write it");
		return 1;
	}
	if (tag == TAG_DOTRANGE && !strcmp(TIFFFieldName(fip), "DotRange")) {
		t->kind = K_PAIR16;
		got = TIFFGetField(tif, tag, &pair[0], &pair[1]);
		p = pair;
		t->count = 2;
		esz = 2;
	} else if (TIFFFieldPassCount(fip)) {
		if (rc == TIFF_VARIABLE2) {
			uint32_t n = 0;
			t->kind = K_COUNT32;
			got = TIFFGetField(tif, tag, &n, &p);
			t->count = n;
		} else {
			uint16_t n = 0;
			t->kind = K_COUNT16;
			got = TIFFGetField(tif, tag, &n, &p);
			t->count = n;
		}
		if (type == TIFF_ASCII)
			esz = 1;
	} else if (type == TIFF_ASCII) {
		char *s = NULL;
		t->kind = K_ASCII;
		got = TIFFGetField(tif, tag, &s) && s;
		p = s;
		t->count = got ? (uint32_t)strnlen(s, IO_MAX_META) + 1 : 0;
		esz = 1;
	} else if (rc == 1) {
		t->kind = K_SCALAR;
		memset(&v, 0, sizeof v);
		got = TIFFGetField(tif, tag, &v);
		p = &v;
		t->count = 1;
	} else if (rc == TIFF_VARIABLE || rc == TIFF_VARIABLE2 || rc == TIFF_SPP || rc > 1) {
		t->kind = K_ARRAY;
		got = TIFFGetField(tif, tag, &p);
		t->count = rc == TIFF_SPP ? spp : rc > 1 ? (uint32_t)rc : 1;
	} else {
		snprintf(why, nwhy, "libtiff gives no count for it");
		return 1;
	}
	if (!got || !p || !t->count) {
		snprintf(why, nwhy, "libtiff did not read a value for it");
		return 1;
	}
	bytes = (uint64_t)t->count * (uint64_t)esz;
	if (bytes > IO_MAX_META) {
		snprintf(why, nwhy, "its %llu bytes are over the %zu-byte limit for one tag",
			 (unsigned long long)bytes, IO_MAX_META);
		return 1;
	}
	t->elsize = (uint32_t)esz;
	t->data = tp_malloc((size_t)bytes + 1);
	if (!t->data) {
		tp_err(TP_ENOMEM, "out of memory copying TIFF tag %u", tag);
		return -1;
	}
	memcpy(t->data, p, (size_t)bytes);
	t->data[bytes] = 0;
	if (t->kind == K_ASCII)
		t->data[bytes - 1] = 0;
	return 0;
}

/* libtiff's own field core_tags[i], if the directory has it. */
static int capture_core(TIFF *tif, size_t i, struct tiff_tag *t)
{
	uint32_t tag = core_tags[i].tag;
	union scalar v;
	uint16_t pair[2], bps = 8, spp = 1, nextra = 0, *extra = NULL;
	const uint16_t *fn[3] = { NULL, NULL, NULL };
	const float *fa = NULL;
	const void *p = NULL;
	int esz = core_tags[i].type == TIFF_DOUBLE ? 8 : core_tags[i].type == TIFF_SHORT ? 2 : 4;

	memset(t, 0, sizeof *t);
	t->tag = tag;
	t->type = core_tags[i].type;
	t->kind = core_tags[i].kind;
	t->count = core_tags[i].count;
	tag_set_name(t, TIFFFindField(tif, tag, TIFF_ANY));
	switch (t->kind) {
	case K_SCALAR:
		memset(&v, 0, sizeof v);
		if (!TIFFGetField(tif, tag, &v))
			return 1;
		p = &v;
		break;
	case K_PAIR16:
		if (!TIFFGetField(tif, tag, &pair[0], &pair[1]))
			return 1;
		p = pair;
		break;
	case K_ARRAY:
		if (!TIFFGetField(tif, tag, &fa) || !fa)
			return 1;
		p = fa;
		break;
	case K_TRANSFER:
		TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &bps);
		TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &spp);
		TIFFGetFieldDefaulted(tif, TIFFTAG_EXTRASAMPLES, &nextra, &extra);
		if (bps > 16 || !TIFFGetField(tif, tag, &fn[0], &fn[1], &fn[2]) || !fn[0])
			return 1;
		t->parts = spp - nextra > 1 ? 3 : 1;
		t->count = (uint32_t)t->parts << bps;
		break;
	default:
		return 1;
	}
	t->elsize = (uint32_t)esz;
	t->data = tp_malloc((size_t)t->count * esz);
	if (!t->data) {
		tp_err(TP_ENOMEM, "out of memory copying TIFF tag %u", tag);
		return -1;
	}
	if (t->kind == K_TRANSFER) {
		size_t per = (size_t)1 << bps;
		for (int k = 0; k < t->parts; k++) {
			if (!fn[k])
				return 1; /* caller frees data */
			memcpy(t->data + (size_t)k * per * 2, fn[k], per * 2);
		}
	} else {
		memcpy(t->data, p, (size_t)t->count * esz);
	}
	return 0;
}

static void ifd_free(struct tiff_ifd *ifd)
{
	for (size_t i = 0; i < ifd->n; i++)
		tp_free(ifd->tag[i].data);
	tp_free(ifd->tag);
	ifd->tag = NULL;
	ifd->n = 0;
}

void tiff_tags_free(struct tiff_tags *t)
{
	if (!t)
		return;
	ifd_free(&t->main);
	ifd_free(&t->exif);
	ifd_free(&t->gps);
	ifd_free(&t->interop);
	tp_free(t->note);
	tp_free(t);
}

/* Append *tag to ifd (taking its data), within the bytes limit. */
TP_MUST_USE static tp_status ifd_push(struct tiff_tags *t, struct tiff_ifd *ifd, struct tiff_tag *tag,
				      const char *what, const char *path)
{
	struct tiff_tag *n;
	uint64_t bytes = (uint64_t)tag->count * tag->elsize;
	if (bytes > TIFF_MAX_TAG_BYTES - t->bytes) {
		tp_free(tag->data);
		return add_note(t, "TIFF tag %u (%s)%s not copied: the tags together are over %zu bytes",
				tag->tag, tag->name, what, (size_t)TIFF_MAX_TAG_BYTES);
	}
	n = tp_realloc(ifd->tag, (ifd->n + 1) * sizeof *n);
	if (!n) {
		tp_free(tag->data);
		return tp_err(TP_ENOMEM, "%s: out of memory copying TIFF tags", path);
	}
	ifd->tag = n;
	n[ifd->n++] = *tag;
	t->bytes += bytes;
	return TP_OK;
}

/* The libtiff warning that names field `name` ("...\"name\"..."), or NULL. */
static const char *warning_about(const struct tiff_msgs *m, const char *name, char *buf, size_t n)
{
	char quoted[64];
	const char *hit, *start, *end;
	snprintf(quoted, sizeof quoted, "\"%s\"", name);
	hit = strstr(m->warn, quoted);
	if (!hit)
		return NULL;
	for (start = hit; start > m->warn && start[-1] != '\n'; start--)
		;
	end = strchr(hit, '\n');
	snprintf(buf, n, "libtiff: %.*s", (int)(end ? end - start : (ptrdiff_t)strlen(start)), start);
	return buf;
}

/*
 * Every tag of the raw IFD that is neither layout, nor handled (`handled`,
 * a 65536-bit set), gets a note saying why it is not copied. `what` is ""
 * for the first page, else " of the EXIF IFD" and the like.
 */
TP_MUST_USE static tp_status note_missing(struct tiff_tags *t, TIFF *tif, const struct tiff_msgs *m,
					  const struct raw_ifd *raw, const uint8_t *handled,
					  const char *what, int main_ifd)
{
	uint8_t *noted = tp_calloc(8192, 1);
	tp_status s = TP_OK;
	if (!noted)
		return tp_err(TP_ENOMEM, "out of memory checking TIFF tags");
	for (uint32_t i = 0; i < raw->n && !s; i++) {
		uint16_t tag = raw->e[i].tag;
		const char *why = main_ifd ? known_reason(tag) : NULL;
		const char *name = tag_name(tif, tag);
		char buf[200];
		if ((handled[tag >> 3] >> (tag & 7) & 1) || (noted[tag >> 3] >> (tag & 7) & 1))
			continue;
		if (main_ifd && is_layout(tag))
			continue;
		noted[tag >> 3] |= (uint8_t)(1u << (tag & 7));
		if (!why && strcmp(name, "unknown to libtiff"))
			why = warning_about(m, name, buf, sizeof buf);
		if (!why)
			why = "libtiff did not read it";
		s = add_note(t, "TIFF tag %u (%s)%s not copied: %s", tag, name, what, why);
	}
	tp_free(noted);
	return s;
}

static void mark(uint8_t *set, uint32_t tag)
{
	if (tag < 65536)
		set[tag >> 3] |= (uint8_t)(1u << (tag & 7));
}

/*
 * Capture the custom tags of tif's current directory into ifd, except the
 * pointer tags (`ptr`, set in *ptr_off), then note what the raw IFD has
 * that was not captured.
 */
TP_MUST_USE static tp_status capture_list(const struct io_reader *r, struct tiff_tags *t, TIFF *tif,
					  const struct tiff_msgs *m, struct tiff_ifd *ifd,
					  const struct raw_ifd *raw, uint8_t *handled,
					  const char *what, int main_ifd, uint16_t spp)
{
	int n = TIFFGetTagListCount(tif);
	tp_status s = TP_OK;
	for (int i = 0; i < n && !s; i++) {
		uint32_t tag = TIFFGetTagListEntry(tif, i);
		const TIFFField *fip = TIFFFindField(tif, tag, TIFF_ANY);
		struct tiff_tag one;
		char why[160];
		int rc;
		if (!fip || (main_ifd && (tag == TIFFTAG_EXIFIFD || tag == TIFFTAG_GPSIFD)) ||
		    (!main_ifd && tag == TAG_INTEROP_IFD && ifd != &t->interop) ||
		    (main_ifd && is_layout(tag)))
			continue; /* sub-IFD pointers are rewritten; layout is the writer's */
		if (main_ifd && known_reason(tag)) {
			s = add_note(t, "TIFF tag %u (%s)%s not copied: %s", tag, tag_name(tif, tag), what,
				     known_reason(tag));
			mark(handled, tag);
			continue;
		}
		rc = capture_custom(tif, fip, spp, &one, why, sizeof why);
		if (rc < 0)
			return TP_ENOMEM;
		mark(handled, tag);
		if (rc > 0)
			s = add_note(t, "TIFF tag %u (%s)%s not copied: %s", tag, one.name, what, why);
		else
			s = ifd_push(t, ifd, &one, what, r->path);
	}
	if (!s)
		s = note_missing(t, tif, m, raw, handled, what, main_ifd);
	return s;
}

/* A sub-IFD pointer's value, from the custom list of the directory read. */
static uint64_t pointer_value(TIFF *tif, uint32_t tag)
{
	const TIFFField *fip = TIFFFindField(tif, tag, TIFF_ANY);
	uint64_t v = 0;
	if (!fip)
		return 0;
	if (TIFFFieldPassCount(fip)) {
		uint32_t n32 = 0;
		uint16_t n16 = 0;
		const void *p = NULL;
		int ok = TIFFFieldReadCount(fip) == TIFF_VARIABLE2 ? TIFFGetField(tif, tag, &n32, &p)
								   : TIFFGetField(tif, tag, &n16, &p);
		if (!ok || !p || (n32 | n16) != 1)
			return 0;
		switch (TIFFFieldDataType(fip)) {
		case TIFF_LONG: case TIFF_IFD: return *(const uint32_t *)p;
		case TIFF_LONG8: case TIFF_IFD8: return *(const uint64_t *)p;
		default: return 0;
		}
	}
	if (TIFFFieldSetGetSize(fip) == 8) {
		uint64_t u = 0;
		if (TIFFGetField(tif, tag, &u))
			v = u;
	} else {
		uint32_t u = 0;
		if (TIFFGetField(tif, tag, &u))
			v = u;
	}
	return v;
}

/* One custom directory (EXIF, its Interoperability IFD, GPS) into ifd. */
TP_MUST_USE static tp_status capture_subifd(const struct io_reader *r, struct tiff_tags *t, TIFF *h,
					    const struct raw_file *f, struct tiff_msgs *m,
					    uint64_t off, int gps, struct tiff_ifd *ifd,
					    const char *name, uint64_t *interop_off)
{
	struct raw_ifd raw;
	char what[32];
	uint8_t *handled;
	tp_status s = raw_ifd_read(f, off, name, &raw);
	if (s) {
		tp_free(raw.e);
		return s;
	}
	m->nerr = 0;
	if (!(gps ? TIFFReadGPSDirectory(h, off) : TIFFReadEXIFDirectory(h, off))) {
		tp_free(raw.e);
		return tp_err(TP_EFORMAT, "%s: corrupt TIFF %s IFD at offset %llu (%s)", r->path, name,
			      (unsigned long long)off, m->nerr ? m->msg : "unreadable");
	}
	handled = tp_calloc(8192, 1);
	if (!handled) {
		tp_free(raw.e);
		return tp_err(TP_ENOMEM, "%s: out of memory", r->path);
	}
	snprintf(what, sizeof what, " of the %s IFD", name);
	if (interop_off) {
		*interop_off = pointer_value(h, TAG_INTEROP_IFD);
		mark(handled, TAG_INTEROP_IFD);
	}
	s = capture_list(r, t, h, m, ifd, &raw, handled, what, 0, 1);
	tp_free(handled);
	tp_free(raw.e);
	return s;
}

/* The EXIF (and Interoperability) and GPS IFDs, on a second handle. */
TP_MUST_USE static tp_status capture_subifds(const struct io_reader *r, struct tiff_tags *t, TIFF *tif,
					     TIFFOpenOptions *opts, struct tiff_msgs *m,
					     const struct raw_file *f, uint64_t exif_off,
					     uint64_t gps_off)
{
	int fd = dup(TIFFFileno(tif));
	uint64_t interop_off = 0;
	TIFF *h;
	tp_status s = TP_OK;
	if (fd < 0)
		return tp_err(TP_EIO, "%s: %s", r->path, strerror(errno));
	/* the descriptors share one offset: libtiff reads its header from where
	 * it is, and seeks before every other read (the reader's handle too) */
	if (lseek(fd, 0, SEEK_SET) != 0) {
		tp_status s2 = tp_err(TP_EIO, "%s: %s", r->path, strerror(errno));
		close(fd);
		return s2;
	}
	h = TIFFFdOpenExt(fd, r->path, "rm", opts);
	if (!h) {
		close(fd);
		return tp_err(TP_EFORMAT, "%s: not a readable TIFF (%s)", r->path,
			      m->nerr ? m->msg : "unknown libtiff error");
	}
	if (exif_off)
		s = capture_subifd(r, t, h, f, m, exif_off, 0, &t->exif, "EXIF", &interop_off);
	if (!s && interop_off && interop_off != exif_off)
		s = capture_subifd(r, t, h, f, m, interop_off, 0, &t->interop, "Interoperability", NULL);
	if (!s && gps_off)
		s = capture_subifd(r, t, h, f, m, gps_off, 1, &t->gps, "GPS", NULL);
	TIFFClose(h);
	return s;
}

/* Count the pages after the first (raw, every IFD checked to lie in the file). */
TP_MUST_USE static tp_status count_pages(struct tiff_tags *t, const struct raw_file *f, uint64_t next)
{
	uint64_t seen[256];
	size_t nseen = 0;
	while (next && t->more_pages < 65535) {
		struct raw_ifd raw;
		char what[32];
		tp_status s;
		for (size_t i = 0; i < nseen; i++)
			if (seen[i] == next)
				return TP_OK; /* a loop: libtiff stops there too */
		if (nseen < sizeof seen / sizeof seen[0])
			seen[nseen++] = next;
		snprintf(what, sizeof what, "page %u", t->more_pages + 2);
		s = raw_ifd_read(f, next, what, &raw);
		if (!s && (raw_subfiletype(f, &raw) & FILETYPE_REDUCEDIMAGE))
			t->reduced_pages++;
		tp_free(raw.e);
		if (s)
			return s;
		t->more_pages++;
		next = raw.next;
	}
	return TP_OK;
}

TP_MUST_USE static tp_status capture_main(const struct io_reader *r, struct tiff_tags *t, TIFF *tif,
					  const struct tiff_msgs *m, const struct raw_ifd *raw,
					  uint64_t exif_off, uint64_t gps_off)
{
	uint8_t *handled = tp_calloc(8192, 1);
	uint16_t spp = 1;
	tp_status s = TP_OK;
	if (!handled)
		return tp_err(TP_ENOMEM, "%s: out of memory", r->path);
	TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &spp);
	if (exif_off)
		mark(handled, TIFFTAG_EXIFIFD);
	if (gps_off)
		mark(handled, TIFFTAG_GPSIFD);
	for (size_t i = 0; i < NCORE && !s; i++) {
		struct tiff_tag one;
		int rc = capture_core(tif, i, &one);
		if (rc < 0) {
			tp_free(one.data);
			s = TP_ENOMEM;
		} else if (rc == 0) {
			mark(handled, one.tag);
			s = ifd_push(t, &t->main, &one, "", r->path);
		} else {
			tp_free(one.data);
		}
	}
	if (!s)
		s = capture_list(r, t, tif, m, &t->main, raw, handled, "", 1, spp);
	tp_free(handled);
	return s;
}

tp_status tiff_tags_capture(const struct io_reader *r, TIFF *tif, TIFFOpenOptions *opts,
			    struct tiff_msgs *m, struct tiff_tags **out)
{
	struct tiff_tags *t = tp_calloc(1, sizeof *t);
	struct raw_file f = { TIFFFileno(tif), r->file_size, TIFFIsBigEndian(tif) ? 1 : 0,
			      TIFFIsBigTIFF(tif) ? 1 : 0, r->path };
	struct raw_ifd raw = { NULL, 0, 0 };
	uint64_t exif_off = 0, gps_off = 0;
	tp_status s;

	*out = NULL;
	if (!t)
		return tp_err(TP_ENOMEM, "%s: out of memory", r->path);
	s = raw_ifd_read(&f, TIFFCurrentDirOffset(tif), "first page", &raw);
	if (!s)
		s = count_pages(t, &f, raw.next);
	if (!s) {
		exif_off = pointer_value(tif, TIFFTAG_EXIFIFD);
		gps_off = pointer_value(tif, TIFFTAG_GPSIFD);
		s = capture_main(r, t, tif, m, &raw, exif_off, gps_off);
	}
	if (!s && (exif_off || gps_off))
		s = capture_subifds(r, t, tif, opts, m, &f, exif_off, gps_off);
	tp_free(raw.e);
	if (s) {
		tiff_tags_free(t);
		return s;
	}
	*out = t;
	return TP_OK;
}

/* ---- writing them ---- */

/* The writer's definition of t, registering an unknown tag as the reader
 * saw it; NULL when the two definitions do not agree. */
static const TIFFField *writer_field(TIFF *out, const struct tiff_tag *t)
{
	const TIFFField *fo = TIFFFindField(out, t->tag, TIFF_ANY);
	if (!fo && t->anon && t->kind == K_COUNT32) {
		TIFFFieldInfo fi = { t->tag, TIFF_VARIABLE2, TIFF_VARIABLE2, (TIFFDataType)t->type,
				     FIELD_CUSTOM, 1, 1, "unknown tag (copied)" };
		if (TIFFMergeFieldInfo(out, &fi, 1) == 0)
			fo = TIFFFindField(out, t->tag, TIFF_ANY);
	}
	if (!fo)
		return NULL;
	switch (t->kind) {
	case K_COUNT16:
	case K_COUNT32:
		if (!TIFFFieldPassCount(fo) ||
		    (TIFFFieldWriteCount(fo) == TIFF_VARIABLE2) != (t->kind == K_COUNT32))
			return NULL;
		break;
	case K_SCALAR:
		if (TIFFFieldPassCount(fo) || (TIFFFieldDataType(fo) != t->type &&
					       TIFFFieldDataType(fo) != TIFF_ANY &&
					       t->type != TIFF_FLOAT && t->type != TIFF_DOUBLE))
			return NULL;
		break;
	default:
		if (TIFFFieldPassCount(fo))
			return NULL;
		break;
	}
	if (t->kind != K_ASCII && t->type != TIFF_ASCII && t->kind != K_PAIR16 &&
	    t->kind != K_TRANSFER && TIFFFieldSetGetSize(fo) != (int)t->elsize &&
	    TIFFFieldSetGetSize(fo) != 0)
		return NULL;
	return fo;
}

static int set_scalar(TIFF *out, const struct tiff_tag *t)
{
	union scalar v;
	memset(&v, 0, sizeof v);
	memcpy(&v, t->data, t->elsize <= sizeof v ? t->elsize : sizeof v);
	switch (t->type) {
	case TIFF_BYTE: case TIFF_UNDEFINED: return TIFFSetField(out, t->tag, (int)v.u8);
	case TIFF_SBYTE: return TIFFSetField(out, t->tag, (int)v.i8);
	case TIFF_SHORT: return TIFFSetField(out, t->tag, (int)v.u16);
	case TIFF_SSHORT: return TIFFSetField(out, t->tag, (int)v.i16);
	case TIFF_LONG: case TIFF_IFD: return TIFFSetField(out, t->tag, v.u32);
	case TIFF_SLONG: return TIFFSetField(out, t->tag, v.i32);
	case TIFF_LONG8: case TIFF_IFD8: return TIFFSetField(out, t->tag, v.u64);
	case TIFF_SLONG8: return TIFFSetField(out, t->tag, v.i64);
	case TIFF_RATIONAL: case TIFF_SRATIONAL: case TIFF_FLOAT: case TIFF_DOUBLE:
		return TIFFSetField(out, t->tag, t->elsize == 8 ? v.d : (double)v.f);
	default: return 0;
	}
}

static int set_tag(TIFF *out, const struct tiff_tag *t)
{
	const uint16_t *u = (const uint16_t *)(const void *)t->data;
	switch (t->kind) {
	case K_SCALAR: return set_scalar(out, t);
	case K_ARRAY: return TIFFSetField(out, t->tag, t->data);
	case K_ASCII: return TIFFSetField(out, t->tag, (const char *)t->data);
	case K_COUNT16: return TIFFSetField(out, t->tag, (int)t->count, t->data);
	case K_COUNT32: return TIFFSetField(out, t->tag, t->count, t->data);
	case K_PAIR16: return TIFFSetField(out, t->tag, (int)u[0], (int)u[1]);
	case K_TRANSFER: {
		size_t per = t->count / t->parts;
		if (t->parts == 1)
			return TIFFSetField(out, t->tag, u);
		return TIFFSetField(out, t->tag, u, u + per, u + 2 * per);
	}
	default: return 0;
	}
}

/* Set every tag of ifd on out's current directory; warn about refusals. */
static void set_ifd(TIFF *out, const struct tiff_ifd *ifd, struct tiff_msgs *m, const char *src,
		    const char *what)
{
	for (size_t i = 0; i < ifd->n; i++) {
		const struct tiff_tag *t = &ifd->tag[i];
		m->nerr = 0;
		if (!writer_field(out, t))
			tp_warn("%s: TIFF tag %u (%s)%s not copied: libtiff defines it differently for "
				"writing", src, t->tag, t->name, what);
		else if (!set_tag(out, t))
			tp_warn("%s: TIFF tag %u (%s)%s not copied: %s", src, t->tag, t->name, what,
				m->nerr ? m->msg : "libtiff refused its value");
	}
	m->nerr = 0;
}

/* Write one custom directory (gps: the GPS field set, else EXIF's). */
TP_MUST_USE static tp_status write_custom(TIFF *out, int gps, const struct tiff_ifd *ifd,
					  uint64_t interop_off, struct tiff_msgs *m, const char *src,
					  const char *dst, const char *name, uint64_t *off)
{
	char what[32];
	snprintf(what, sizeof what, " of the %s IFD", name);
	if (gps)
		TIFFCreateGPSDirectory(out);
	else
		TIFFCreateEXIFDirectory(out);
	set_ifd(out, ifd, m, src, what);
	if (interop_off) {
		struct tiff_tag p = { TAG_INTEROP_IFD, TIFF_LONG, K_COUNT32, 1, 0, 1, 4, NULL, "" };
		uint32_t v = (uint32_t)interop_off;
		p.data = (uint8_t *)&v;
		if (!writer_field(out, &p) || !set_tag(out, &p))
			tp_warn("%s: TIFF tag %u (InteroperabilityIFD) of the EXIF IFD not copied: %s", src,
				TAG_INTEROP_IFD, m->nerr ? m->msg : "libtiff refused it");
		m->nerr = 0;
	}
	if (!TIFFWriteCustomDirectory(out, off)) {
		tp_status s = tp_err(TP_EIO, "%s: writing the TIFF %s IFD: %s", dst, name,
				     m->nerr ? m->msg : "libtiff failed");
		TIFFFreeDirectory(out);
		return s;
	}
	TIFFFreeDirectory(out);
	return TP_OK;
}

tp_status tiff_tags_write_subifds(TIFF *out, const struct tiff_tags *t, struct tiff_msgs *m,
				  const char *src, const char *dst, uint64_t *exif_off,
				  uint64_t *gps_off)
{
	uint64_t interop_off = 0;
	tp_status s = TP_OK;
	*exif_off = *gps_off = 0;
	if (!t->exif.n && !t->gps.n)
		return TP_OK;
	if (t->exif.n && t->interop.n)
		s = write_custom(out, 0, &t->interop, 0, m, src, dst, "Interoperability",
				 &interop_off);
	if (!s && t->exif.n)
		s = write_custom(out, 0, &t->exif, interop_off, m, src, dst, "EXIF", exif_off);
	if (!s && t->gps.n)
		s = write_custom(out, 1, &t->gps, 0, m, src, dst, "GPS", gps_off);
	TIFFCreateDirectory(out);
	return s;
}

void tiff_tags_set_main(TIFF *out, const struct tiff_tags *t, struct tiff_msgs *m, const char *src,
			uint64_t exif_off, uint64_t gps_off)
{
	set_ifd(out, &t->main, m, src, "");
	if (exif_off && !TIFFSetField(out, TIFFTAG_EXIFIFD, exif_off))
		tp_warn("%s: TIFF tag %u (EXIFIFD) not copied: %s", src, TIFFTAG_EXIFIFD,
			m->nerr ? m->msg : "libtiff refused it");
	if (gps_off && !TIFFSetField(out, TIFFTAG_GPSIFD, gps_off))
		tp_warn("%s: TIFF tag %u (GPSIFD) not copied: %s", src, TIFFTAG_GPSIFD,
			m->nerr ? m->msg : "libtiff refused it");
	m->nerr = 0;
	for (size_t i = 0; i < t->nnotes; i++)
		tp_warn("%s: %s", src, t->note[i].text);
	if (t->more_pages)
		tp_warn("%s: %u more TIFF page%s not copied (%u of them reduced-resolution "
			"overviews): only the first page is written", src, t->more_pages,
			t->more_pages == 1 ? "" : "s", t->reduced_pages);
}
