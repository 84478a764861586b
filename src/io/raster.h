/*
 * raster.h - streaming image readers and writers for PNG, JPEG and TIFF
 * behind one interface.
 *
 * Pixels travel as interleaved samples, top row first: 8-bit samples as
 * uint8_t, 16-bit samples as native-endian uint16_t (int16_t when
 * io_info.sample is IO_SAMPLE_INT), 32-bit ones as native float
 * (IO_SAMPLE_FLOAT: one-band TIFFs, elevation models). Channels are 1 (gray),
 * 2 (gray + alpha), 3 (RGB) or 4 (RGBA); alpha, when present, is the last
 * channel. A reader hands out rows strictly in order, so memory stays bounded
 * by what the caller holds, except where a format forces a whole-image decode
 * (interlaced PNG): io_reader_info().buffered says so. Rows come in the order
 * the file stores them, whatever its EXIF orientation (io_reader_orientation),
 * and writers keep the EXIF block as it is, so an output has its input's
 * orientation.
 *
 * What is read: PNG of any kind (palette and gray below 8 bits expanded, tRNS
 * becomes alpha); baseline/progressive JPEG, gray or YCbCr/RGB (CMYK is
 * TP_EFORMAT); TIFF, first directory, 1-4 samples of 8/16 bits (1/2/4-bit
 * gray and palette expanded to 8), one-band gray signed 16-bit integers and
 * 32-bit IEEE floats as they are (other sample formats are TP_EFORMAT naming
 * the format), min-is-white inverted, palette expanded
 * to RGB, strips or tiles, contiguous or separate planes, any codec libtiff
 * has (JPEG YCbCr decoded as RGB). TIFF memory: one row of tiles or one strip
 * per plane (at most 2 GiB, else TP_EFORMAT); JPEG decoding at most 2 GiB.
 * Limits: width and height 1..1,048,576, else TP_EFORMAT. Every size a file
 * declares is checked before anything is allocated for it: width x height x
 * channels x bytes per sample (addressable), TIFF tile sides (<= 65536) and
 * strip/tile sizes (one band <= 2 GiB, and at most 4096 times the file
 * size), TIFF strip/tile byte counts (inside the file), PNG pixel data (at
 * most 1032 times the file, the deflate limit), Huffman JPEG pixels (at most
 * 512 per byte of file, one bit per 8x8 block), ICC/EXIF/XMP blobs (16 MiB
 * each, uncompressed ones inside the file), text pairs (1024, 16 MiB in
 * all). A file breaking one is TP_EFORMAT naming it and what is wrong.
 *
 * Errors: every function returns a tp_status and sets tp_err() with a message
 * that names the file. Library errors (libpng/libjpeg longjmp, libtiff
 * handlers) never escape this module and never print to stderr.
 * Allocation: libpng allocates through tp_malloc; libtiff and libjpeg use
 * malloc, so tp_alloc_fail_at() reaches them only through our own buffers.
 * Threads: one reader or writer is used by one thread at a time; different
 * objects may be used from different threads.
 */
#ifndef IO_RASTER_H
#define IO_RASTER_H

#include "../util/tp.h"

enum io_format {
	IO_FORMAT_UNKNOWN = 0,
	IO_FORMAT_PNG,
	IO_FORMAT_JPEG,
	IO_FORMAT_TIFF
};

/* How a sample's bits are read (TIFF SampleFormat). */
enum io_sample {
	IO_SAMPLE_UINT = 0,       /* unsigned integer: 8 or 16 bits */
	IO_SAMPLE_INT,            /* two's complement integer: 16 bits, one channel */
	IO_SAMPLE_FLOAT           /* IEEE 754 binary32: 32 bits, one channel */
};

/* What a reader delivers and a writer accepts. */
struct io_info {
	uint32_t width, height;   /* pixels; both >= 1 */
	uint32_t channels;        /* 1..4, alpha included (1 for INT and FLOAT) */
	uint32_t bits;            /* 8 or 16 bits per sample (32 for FLOAT) */
	int alpha;                /* 1 when the last channel is alpha */
	enum io_format format;    /* the file's format (reader) or the one to write */
	int buffered;             /* reader: 1 when the whole image is decoded in memory */
	enum io_sample sample;    /* UINT (0) unless the file says otherwise; only TIFF
				   * holds INT and FLOAT: other writers refuse them */
};

/*
 * Metadata carried from input to output, as opaque blobs that each writer
 * re-emits where its format allows: ICC profile, EXIF (as it is, orientation
 * included), XMP, resolution, and text.
 * Owned by the reader that produced it; borrowed by the writer.
 * Where it lives: PNG iCCP, eXIf, pHYs, tEXt/iTXt/zTXt before IDAT (XMP is the
 * iTXt "XML:com.adobe.xmp"); JPEG APP2 ICC_PROFILE (split over markers), APP1
 * Exif, APP1 XMP, JFIF density, COM as the text key "Comment"; TIFF
 * ICCProfile, XMLPacket, X/YResolution, and the string tags ImageDescription,
 * Software, Artist, Copyright, DateTime, DocumentName as the keys
 * "Description", "Software", "Author", "Copyright", "Creation Time", "Title"
 * (DateTime written only in its "YYYY:MM:DD HH:MM:SS" form). A TIFF written
 * from a TIFF reader's metadata carries every tag of its first page instead
 * (GeoTIFF, GDAL, private tags, EXIF/GPS/Interoperability IFDs): tiff_source.
 */
struct tiff_mirror;
struct io_meta {
	const uint8_t *icc;  size_t icc_len;   /* ICC profile, or NULL */
	const uint8_t *exif; size_t exif_len;  /* EXIF TIFF block (no "Exif\0\0" header), or NULL */
	const uint8_t *xmp;  size_t xmp_len;   /* XMP packet, or NULL */
	double xres, yres;                     /* resolution, 0 when unknown */
	int res_unit;                          /* 0 none/unknown, 1 per inch, 2 per centimetre */
	/* PNG text chunks / TIFF string tags, as key,value pairs */
	size_t ntext;
	const char *const *text_keys;
	const char *const *text_values;
	/* A TIFF reader's file as a TIFF writer given this metadata mirrors it
	 * (layout, codec, every tag); NULL for other readers. Valid while the
	 * reader is open. */
	const struct tiff_mirror *tiff_source;
};

/*
 * Options for writers (NULL = all defaults).
 * JPEG: baseline, 4:4:4 chroma for quality >= 90 and 4:2:0 below (unless
 * jpeg_keep keeps the source's layout).
 * TIFF, given a TIFF reader's metadata (io_meta.tiff_source) whose file has
 * the same size and samples: that file's tiling or rows per strip, codec,
 * predictor, photometric, planar layout, bits, sample format, byte order,
 * BigTIFF and tags; tiff_compression and jpeg_quality still apply when set.
 * Otherwise: strips of about 256 KiB (one row when a row is larger), horizontal
 * predictor for LZW/deflate/ZSTD/LZMA, BigTIFF when the uncompressed image
 * exceeds 2 GiB. A codec the writer cannot use for this layout (JPEG with
 * 16 bits or alpha, CCITT, unknown, not built into libtiff) becomes deflate.
 */
struct io_write_opts {
	int jpeg_quality;   /* 1..100; 0 means the default, IO_JPEG_QUALITY_DEFAULT
			     * (JPEG files and JPEG-compressed TIFF) */
	int tiff_compression; /* libtiff COMPRESSION_* to use; 0 = deflate. Pass
			       * io_reader_compression() to keep the input's. */
	int png_level;      /* zlib level 0..9, -1: the default (IO_PNG_STRATEGY_DEFAULT); note 0 in a
			     * zero-initialised struct means "no compression" */
	const char *name;   /* the file as error messages name it (the final output,
			     * when writing to a temporary), or NULL: the path */
	const char *jpeg_keep; /* JPEG output: the JPEG input the rows come from. Every
			     * MCU in which io_writer_write_rows_changed reports no
			     * changed pixel keeps that file's DCT coefficients as
			     * they are (so it decodes as before); the others are
			     * encoded from the rows with the file's own quantisation
			     * tables and subsampling; its markers are copied byte for
			     * byte, Huffman tables optimised, progressive and restart
			     * intervals kept. Ignored (a whole encode at jpeg_quality)
			     * when the file is not a JPEG of this size and layout, or
			     * needs more than 2 GiB of coefficients. NULL: a whole
			     * encode. */
	struct io_reader *jpeg_keep_reader; /* optional: the open reader of jpeg_keep
			     * that the rows are read from, before any row is read.
			     * The writer then borrows its coefficients (the reader
			     * decodes through them), so the file is not decoded
			     * twice; the reader must stay open until the writer is
			     * finished, and each row be read from it before it is
			     * written. Ignored when that reader cannot lend them. */
	int png_strategy;   /* zlib strategy + 1 (1 default, 2 filtered, 3 Huffman
			     * only, 4 RLE); 0: IO_PNG_STRATEGY_DEFAULT */
	uint32_t threads;   /* threads that may encode (PNG deflate, TIFF strips and
			     * tiles) while rows keep coming; 0 or 1: the caller's
			     * thread only. The bytes written do not depend on it. */
};
#define IO_JPEG_QUALITY_DEFAULT 95
/* PNG deflate, chosen by measurement (README, Performance): no level given,
 * zlib's Z_RLE (3) on the filtered rows (any level but 0 is the same with
 * it); a level given, that level with Z_FILTERED (1), as libpng does. */
#define IO_PNG_LEVEL_DEFAULT 6
#define IO_PNG_STRATEGY_DEFAULT 3
#define IO_PNG_STRATEGY_LEVEL 1

struct io_reader;
struct io_writer;

/* Format from the file's first bytes (not its name). */
enum io_format io_sniff(const uint8_t *head, size_t n);
/* Format from a file name's extension (for outputs); IO_FORMAT_UNKNOWN if none. */
enum io_format io_format_from_name(const char *path);
/* "png", "jpeg", "tiff" or "unknown". */
const char *io_format_name(enum io_format f);

/*
 * Open `path` and read its header. The format is sniffed from the content.
 * On success *out is a reader positioned before row 0; free with
 * io_reader_close(). Errors: TP_ENOENT (missing), TP_EIO (unreadable),
 * TP_EFORMAT (not an image, corrupt header, unsupported kind, or width x
 * height x channels too large to address).
 */
TP_MUST_USE tp_status io_reader_open(const char *path, struct io_reader **out);
/*
 * Cap the bytes any one reader may allocate for pixels sized by the file
 * (whole-image decodes, TIFF bands and tiles, libtiff's single allocations,
 * libjpeg's coefficient memory); 0 (the default) leaves only the limits
 * above. An image needing more is TP_EFORMAT. For fuzzing harnesses and
 * memory-tight hosts; process-wide, set it before opening readers.
 */
void io_reader_set_max_memory(size_t bytes);
/*
 * Refuse images of more than `pixels` pixels (width x height; 0, the
 * default: no limit beyond the above), from the header, before anything is
 * allocated or decoded for them: TP_EFORMAT naming the file, its size and the
 * limit. For --max-pixels (untrusted drop folders); process-wide, set it
 * before opening readers.
 */
void io_reader_set_max_pixels(uint64_t pixels);
/* Borrowed; valid until close. */
const struct io_info *io_reader_info(const struct io_reader *r);
/* The EXIF orientation the file declares (1..8), 0 when it declares none.
 * Rows are always delivered as stored: the orientation is not applied. */
int io_reader_orientation(const struct io_reader *r);
/* A one-byte-per-pixel plane between the layouts of EXIF orientation o
 * (1..8): to_stored, src is as displayed (sh x sw for 5..8, else sw x sh) and
 * dst as stored (sw x sh); else the other way. */
void io_orient_plane(int o, int to_stored, const uint8_t *src, uint8_t *dst, uint32_t sw,
		     uint32_t sh);
const struct io_meta *io_reader_meta(const struct io_reader *r);
/* The file's no-data value: the GDAL_NODATA tag's text (TIFF tag 42113, as
 * GDAL writes it: "-9999", "nan", "-3.4028234663852886e+38"), or NULL when
 * it has none. Borrowed; valid until close. */
const char *io_reader_nodata(const struct io_reader *r);
/*
 * The no-data value as a sample of `info`: 0 and *v set when `text` reads as
 * one (strtod on the whole text but for spaces, as GDAL does; "nan" for
 * float; integers must be whole and in range), -1 otherwise.
 */
int io_nodata_parse(const struct io_info *info, const char *text, double *v);
/*
 * Convenience for --mask nodata: one byte per pixel, 1 where the row's
 * (first) sample equals the no-data value v (for floats: compared as
 * float; every NaN matches, whatever v, and -0.0 equals 0.0), else 0.
 */
void io_row_nodata(const struct io_info *info, const void *row, double v, uint8_t *out);

/* The TIFF/PNG/JPEG compression or variant of the input, for writers that copy it
 * (TIFF: COMPRESSION_* value; JPEG: 1 when progressive or otherwise
 * multi-scan, whose decoder holds the whole image's coefficients; PNG 0). */
int io_reader_compression(const struct io_reader *r);
/* What reading rows will still allocate: a back end that decodes rows on a
 * thread of its own ahead of the caller (PNG) makes its two blocks of rows
 * and the thread at the first read. 0 when it will not, or already did. */
size_t io_reader_ahead_bytes(const struct io_reader *r);
/*
 * Read the next `nrows` rows into `buf`; row i starts at buf + i * stride
 * bytes; stride >= width * channels * bits / 8. Reading past the last row is
 * TP_EUSAGE. A truncated or corrupt file gives TP_EFORMAT naming the row
 * (for a whole-image decode the failure may surface in io_reader_open);
 * after a failure every later read fails too.
 */
TP_MUST_USE tp_status io_reader_read_rows(struct io_reader *r, void *buf, size_t stride, uint32_t nrows);
/* Next row index to be read. */
uint32_t io_reader_row(const struct io_reader *r);
/* Frees everything; accepts NULL. */
void io_reader_close(struct io_reader *r);

/*
 * Create `path` (which must not be the final output name: callers write to a
 * temporary name and rename) for an image described by `info` (format taken
 * from info->format). `meta` (may be NULL) is copied as the format allows.
 * Errors: TP_ECREATE (cannot create), TP_EUSAGE (format cannot hold info:
 * e.g. JPEG with alpha or 16 bits, PNG or JPEG with signed or float samples,
 * which would have to be truncated), TP_ENOMEM.
 */
TP_MUST_USE tp_status io_writer_open(const char *path, const struct io_info *info,
			 const struct io_meta *meta, const struct io_write_opts *opts,
			 struct io_writer **out);
/* The most memory a writer opened with these arguments will hold (its
 * buffers and its library's), in bytes, so that a job can plan under
 * --mem-limit before opening it. An upper bound, not an exact figure; the
 * stacks and arenas of its opts->threads encoding threads are not in it. */
size_t io_writer_mem_need(const struct io_info *info, const struct io_meta *meta,
			  const struct io_write_opts *opts);
/* Append `nrows` rows from `buf` (same layout as io_reader_read_rows). TP_EIO on
 * failure: "writing NAME: REASON", with the system's reason (e.g. "No space
 * left on device") when the failure came from the file system. */
TP_MUST_USE tp_status io_writer_write_rows(struct io_writer *w, const void *buf, size_t stride, uint32_t nrows);
/* The same, saying which pixels may differ from the source the rows came
 * from (one byte per pixel per row, nonzero: changed; rows cstride apart):
 * what the JPEG writer keeping a source's coefficients needs (jpeg_keep). */
TP_MUST_USE tp_status io_writer_write_rows_changed(struct io_writer *w, const void *buf,
						   size_t stride, uint32_t nrows,
						   const uint8_t *changed, size_t cstride);
/* After the last row: flush, fsync and close the file. TP_EIO on failure.
 * All rows must have been written (TP_EUSAGE otherwise). */
TP_MUST_USE tp_status io_writer_finish(struct io_writer *w);
/* Free the writer. If io_writer_finish() did not succeed, the file is closed
 * and unlinked. Accepts NULL. */
void io_writer_close(struct io_writer *w);
/* Free the writer and unlink its file even if finished (a finished
 * temporary that was not put in place). Accepts NULL. */
void io_writer_discard(struct io_writer *w);

/*
 * Convenience for masks and tests: convert one row of samples (any of the
 * layouts above) to one byte per pixel: 1 where the gray value (alpha ignored;
 * colour converted with the ITU-R 601 luma weights, integer arithmetic) is
 * nonzero, else 0. Gray = (R*19595 + G*38470 + B*7471 + 32768) >> 16, as
 * PIL's convert('L'), on 8- or 16-bit values alike. Signed and float
 * samples: nonzero (NaN included) is 1.
 */
void io_row_to_binary(const struct io_info *info, const void *row, uint8_t *out);

/*
 * A mask row as holes: out[x] = 1 where the pixel's mask value is above
 * `threshold` (0..254, on the 8-bit scale), 0 elsewhere; `invert` swaps the
 * two. The value is the gray value as above; with alpha, gray * alpha / max
 * (rounded), so a transparent pixel is never a hole unless inverted; 16-bit
 * values are compared on the 8-bit scale, v / 257 rounded (a 16-bit value v
 * is above threshold t when v > 257 t + 128). Threshold 0 without alpha and
 * 8 bits is io_row_to_binary.
 */
void io_row_to_mask(const struct io_info *info, const void *row, uint8_t *out,
		    uint32_t threshold, int invert);

#endif
