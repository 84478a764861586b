/*
 * exif.c - the one EXIF field tilepaint interprets: IFD0 Orientation (0x0112).
 * The block is the TIFF structure that follows "Exif\0\0" in a JPEG APP1
 * segment, in either byte order. Every offset is bounds-checked: a malformed
 * block reads as having no orientation. Blocks are never modified.
 */
#include "io_int.h"

static uint32_t get16(const uint8_t *p, int le)
{
	return le ? (uint32_t)p[0] | (uint32_t)p[1] << 8 : (uint32_t)p[0] << 8 | p[1];
}

static uint32_t get32(const uint8_t *p, int le)
{
	return le ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24
		  : (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Offset of the 2-byte value of the orientation entry, or 0 when absent. */
static size_t orientation_offset(const uint8_t *p, size_t n, int *le)
{
	uint32_t ifd, count;
	if (n < 8)
		return 0;
	if (p[0] == 'I' && p[1] == 'I')
		*le = 1;
	else if (p[0] == 'M' && p[1] == 'M')
		*le = 0;
	else
		return 0;
	if (get16(p + 2, *le) != 42)
		return 0;
	ifd = get32(p + 4, *le);
	if (ifd < 8 || ifd > n - 2)
		return 0;
	count = get16(p + ifd, *le);
	for (uint32_t i = 0; i < count; i++) {
		size_t e = (size_t)ifd + 2 + (size_t)i * 12;
		if (e + 12 > n)
			return 0;
		/* type 3 = SHORT, count 1: the value sits in the entry itself */
		if (get16(p + e, *le) == 0x0112 && get16(p + e + 2, *le) == 3 &&
		    get32(p + e + 4, *le) == 1)
			return e + 8;
	}
	return 0;
}

int io_exif_orientation(const uint8_t *p, size_t n)
{
	int le = 0;
	size_t off = p ? orientation_offset(p, n, &le) : 0;
	uint32_t v;
	if (!off)
		return 0;
	v = get16(p + off, le);
	return v >= 1 && v <= 8 ? (int)v : 0;
}
