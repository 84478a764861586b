/*
 * tiff_int.h - private to tiff.c and tiff_tags.c (tiff.c calls tiff_tags.c,
 * never the other way): what a TIFF reader keeps of its file's tags so that
 * a TIFF writer can put every one of them back.
 *
 * A reader captures, when it opens the file, every tag of the first page
 * that does not describe the pixel layout (which the writer rewrites):
 * libtiff's own fields (resolution, orientation, ...), every custom and
 * unknown tag (libtiff reads unknown tags as anonymous fields), the GeoTIFF
 * and GDAL tags (registered with libtiff by tiff_tags_init, as libgeotiff
 * does), and the EXIF, GPS and EXIF Interoperability sub-IFDs. It also reads
 * the raw IFD entries itself: an entry of no TIFF type, or whose value lies
 * past the end of the file, or an IFD (first page, later pages, sub-IFDs)
 * that is not inside the file, is a corrupt file (TP_EFORMAT); a tag that is
 * in the file but cannot be copied becomes a note, which the writer turns
 * into a warning naming the tag.
 */
#ifndef IO_TIFF_INT_H
#define IO_TIFF_INT_H

#include "io_int.h"

#include <tiffio.h>

/* libtiff's messages on one handle, kept by its handlers (tiff.c). */
struct tiff_msgs {
	char msg[256];      /* first error since nerr was last reset */
	int nerr;
	int err_errno;      /* errno when that error was reported */
	char warn[2048];    /* warnings, one a line, while a reader opens */
	size_t nwarn;       /* bytes used in warn */
};

/* One tag's value as TIFFGetField hands it out, for TIFFSetField on another
 * handle; kind says which calling convention (tiff_tags.c). */
struct tiff_tag {
	uint32_t tag;
	uint16_t type;      /* TIFFDataType of the field (how a scalar is passed) */
	uint8_t kind;
	uint8_t anon;       /* unknown to libtiff: the writer registers it */
	uint8_t parts;      /* TransferFunction: 1 or 3 curves of count / parts */
	uint32_t count;     /* elements; ASCII: bytes with the NUL */
	uint32_t elsize;    /* bytes per element as libtiff stores it */
	uint8_t *data;      /* count * elsize bytes */
	char name[48];
};

struct tiff_ifd {
	struct tiff_tag *tag;
	size_t n;
};

/* A tag the writer will not copy, and why ("TIFF tag 330 (SubIFD) not
 * copied: ..."), warned about each time a TIFF is written from the file. */
struct tiff_note {
	char text[240];
};

struct tiff_tags {
	struct tiff_ifd main, exif, gps, interop;
	struct tiff_note *note;
	size_t nnotes;
	uint32_t more_pages;    /* pages after the first */
	uint32_t reduced_pages; /* of which NewSubfileType says reduced resolution */
	uint64_t bytes;         /* every value together */
};

/* Register the GeoTIFF and GDAL tags with libtiff (a tag extender, chained
 * to any earlier one). Once per process; call before opening a handle. */
void tiff_tags_init(void);

/* Capture the tags of tif's current (first) directory and its sub-IFDs. r
 * gives the path, the file size and the messages' owner; m is the handle's
 * message buffer (its warnings say why libtiff dropped a tag). TP_EFORMAT
 * for a corrupt tag or IFD, TP_ENOMEM; *out is freed with tiff_tags_free. */
TP_MUST_USE tp_status tiff_tags_capture(const struct io_reader *r, TIFF *tif, TIFFOpenOptions *opts,
					struct tiff_msgs *m, struct tiff_tags **out);
void tiff_tags_free(struct tiff_tags *t);

/* Writer, before any other directory is set up on `out`: write the
 * captured EXIF (with its Interoperability IFD) and GPS IFDs as custom
 * directories, then start the image directory afresh (TIFFCreateDirectory).
 * *exif_off / *gps_off are where they went (0: none). A tag libtiff will not
 * set is warned about (src names the file it came from); TP_EIO naming dst
 * when a directory cannot be written. */
TP_MUST_USE tp_status tiff_tags_write_subifds(TIFF *out, const struct tiff_tags *t,
					      struct tiff_msgs *m, const char *src, const char *dst,
					      uint64_t *exif_off, uint64_t *gps_off);
/* Set every captured tag of the first page on out's image directory, and
 * the EXIF/GPS IFD pointers; a tag that cannot be set is a warning. Then
 * warn about the notes and the pages not copied. Call after the layout
 * fields (samples per pixel first). */
void tiff_tags_set_main(TIFF *out, const struct tiff_tags *t, struct tiff_msgs *m, const char *src,
			uint64_t exif_off, uint64_t gps_off);

#endif
