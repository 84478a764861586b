/*
 * job_mask.c - a job's mask as a stream of effective rows in the image's
 * stored order: read from the mask file one row at a time (or, when the
 * image's EXIF orientation means the mask must be turned, read whole once),
 * binarised, dilated (--dilate) with the rows the dilation needs held back;
 * and the mask pass that counts masked pixels per tile before any image row
 * is read. The first pass keeps the effective mask as runs (while they stay
 * under JOB_MASK_RUNS_BUDGET): later passes rebuild rows from them, without
 * the mask file. With --mask nodata the mask file is the image itself, a pixel a
 * hole where its sample is the file's GDAL_NODATA value (or any NaN, for
 * float samples). Signed and float images are read once more during the
 * mask pass for the range of their known samples (tp_pixfmt).
 */
#include "job_int.h"

#include <math.h>
#include <string.h>

/* The most the effective mask's runs may take (a sixteenth of --mem-limit
 * when that is less): 8 bytes a row and 8 a run, so a sparse mask of a
 * 100k-row image fits many times over, and a dense or noisy one, which is
 * cheap to stream anyway, falls back to reading the file each pass. */
#define JOB_MASK_RUNS_BUDGET ((size_t)64 << 20)

/* Bytes of one row of the mask file. */
static size_t row_bytes(const struct io_info *mi)
{
	return (size_t)mi->width * mi->channels * (mi->bits / 8);
}

/*
 * How the mask's pixels lie on the image's stored ones. Images keep their
 * stored pixel order and EXIF orientation; a mask of the stored size is used
 * as it is; one of the displayed size (orientations 5-8, width and height
 * swapped) is turned to fit. A square image with an orientation cannot tell
 * by size: a mask with an orientation of its own is taken as stored that way,
 * one without as displayed. *o_mask (display the mask's pixels under it) and
 * *o_image (store them under it) are 0 when nothing needs turning.
 */
TP_MUST_USE static tp_status mask_orientation(struct job *j, const struct io_info *mi,
					      int *o_mask, int *o_image)
{
	const struct io_info *ii = io_reader_info(j->in);
	int o = io_reader_orientation(j->in), mo = io_reader_orientation(j->mk);
	int swap = o >= 5;
	*o_mask = *o_image = 0;
	if (o <= 1) {
		if (mi->width == ii->width && mi->height == ii->height)
			return TP_OK;
		return tp_err(TP_EFORMAT, "%s: the mask %s is %ux%u but the image is %ux%u",
			      j->io->input, j->io->mask, mi->width, mi->height, ii->width, ii->height);
	}
	if (ii->width == ii->height && mi->width == ii->width && mi->height == ii->height) {
		if (mo == o)
			return TP_OK;
		*o_mask = mo > 1 ? mo : 0;   /* tagged otherwise: displayed first */
		*o_image = o;
		return TP_OK;
	}
	if (mi->width == ii->width && mi->height == ii->height)
		return TP_OK;
	if (swap && mi->width == ii->height && mi->height == ii->width) {
		*o_image = o;
		return TP_OK;
	}
	return tp_err(TP_EFORMAT, "%s: the mask %s is %ux%u but the image is %ux%u as stored "
		      "(%ux%u as displayed, EXIF orientation %d)", j->io->input, j->io->mask,
		      mi->width, mi->height, ii->width, ii->height,
		      swap ? ii->height : ii->width, swap ? ii->width : ii->height, o);
}

/* --mask nodata: the image's no-data value, from its GDAL_NODATA tag. */
TP_MUST_USE static tp_status nodata_value(struct job *j, const struct io_info *mi)
{
	const char *text = io_reader_nodata(j->mk);
	if (!j->o->mask_nodata)
		return TP_OK;
	if (!text)
		return tp_err(TP_EFORMAT, "%s: --mask nodata: the file has no no-data value (no "
			      "GDAL_NODATA tag)", j->io->input);
	if (io_nodata_parse(mi, text, &j->nodata) != 0)
		return tp_err(TP_EFORMAT, "%s: --mask nodata: the no-data value '%s' is not a "
			      "sample of this image", j->io->input, text);
	return TP_OK;
}

/* The finite samples of a signed or float row that `holes` (one byte a
 * pixel) leaves known, into [j->lo, j->hi]. */
static void widen_range(struct job *j, const struct io_info *ii, const void *row,
			const uint8_t *holes)
{
	for (uint32_t x = 0; x < ii->width; x++) {
		double v = ii->sample == IO_SAMPLE_FLOAT ? (double)((const float *)row)[x]
			   : (double)((const int16_t *)row)[x];
		if (holes[x] || !(v - v == 0.0))
			continue;
		if (v < j->lo)
			j->lo = v;
		if (v > j->hi)
			j->hi = v;
	}
}

/* The next binarised mask row (--mask nodata, else --mask-threshold and
 * --mask-invert), in the image's stored order, into dst (one byte per
 * pixel): from the turned mask when there is one, else read. */
TP_MUST_USE static tp_status next_binary_row(struct job *j, uint8_t *dst)
{
	const struct io_info *mi;
	tp_status rc;
	if (j->mask_turned) {
		uint32_t w = io_reader_info(j->in)->width;
		memcpy(dst, j->mask_turned + (size_t)j->mask_rows_pushed * w, w);
		return TP_OK;
	}
	mi = io_reader_info(j->mk);
	/* reading the mask file is decoding, like the image's (timed
	 * apart from the mask stage around this call) */
	TP_TIMED(j->t, TP_STAGE_DECODE)
		rc = io_reader_read_rows(j->mk, j->mask_src, row_bytes(mi), 1);
	if (rc == TP_OK && j->o->mask_nodata) {
		io_row_nodata(mi, j->mask_src, j->nodata, dst);
		if (j->ranging)
			widen_range(j, mi, j->mask_src, dst);
	} else if (rc == TP_OK) {
		io_row_to_mask(mi, j->mask_src, dst, j->o->mask_threshold, j->o->mask_invert);
	}
	return rc;
}

/* Read the whole mask, binarised, and turn it into the image's stored order. */
TP_MUST_USE static tp_status turn_mask(struct job *j, const struct io_info *mi, int o_mask,
				       int o_image)
{
	const struct io_info *ii = io_reader_info(j->in);
	size_t n = (size_t)mi->width * mi->height;
	uint8_t *a = tp_malloc(n), *b = tp_malloc(n);
	tp_status rc = TP_OK;
	if (!a || !b) {
		tp_free(a);
		tp_free(b);
		return tp_err(TP_ENOMEM, "%s: out of memory turning the mask", j->io->mask);
	}
	for (uint32_t y = 0; y < mi->height && rc == TP_OK; y++)
		rc = next_binary_row(j, a + (size_t)y * mi->width);
	if (rc == TP_OK && o_mask) {
		/* the mask's own orientation: its pixels as displayed (the image's size) */
		io_orient_plane(o_mask, 0, a, b, mi->width, mi->height);
		memcpy(a, b, n);
	}
	if (rc == TP_OK)
		io_orient_plane(o_image, 1, a, b, ii->width, ii->height);
	tp_free(a);
	if (rc != TP_OK) {
		tp_free(b);
		return rc;
	}
	j->mask_turned = b;
	return TP_OK;
}

tp_status job_mask_open(struct job *j)
{
	const struct io_info *ii = io_reader_info(j->in), *mi;
	int o_mask, o_image;
	tp_status rc;
	io_reader_close(j->mk);
	j->mk = NULL;
	tiler_dilate_free(j->dil);
	j->dil = NULL;
	j->mask_rows_pushed = 0;
	if (!j->mask_eff) {
		j->mask_bin = tp_malloc(ii->width);
		j->mask_eff = tp_malloc(ii->width);
		if (!j->mask_bin || !j->mask_eff)
			return tp_err(TP_ENOMEM, "%s: out of memory", j->io->mask);
	}
	if (tiler_runs_complete(j->mask_runs))
		return TP_OK;   /* job_mask_next_row rebuilds the rows from the runs */
	if (!j->mask_turned) {
		if ((rc = io_reader_open(j->io->mask, &j->mk)) != TP_OK)
			return rc;
		mi = io_reader_info(j->mk);
		if ((rc = mask_orientation(j, mi, &o_mask, &o_image)) != TP_OK ||
		    (rc = nodata_value(j, mi)) != TP_OK)
			return rc;
		tp_free(j->mask_src);
		if (!(j->mask_src = tp_malloc(row_bytes(mi))))
			return tp_err(TP_ENOMEM, "%s: out of memory", j->io->mask);
		if (o_image && (rc = turn_mask(j, mi, o_mask, o_image)) != TP_OK)
			return rc;
	}
	if (!j->o->dilate)
		return TP_OK;   /* job_mask_next_row uses the binarised rows as they are */
	return tiler_dilate_new(ii->width, ii->height, j->o->dilate, &j->dil);
}

tp_status job_mask_next_row(struct job *j)
{
	uint32_t height = io_reader_info(j->in)->height;
	if (tiler_runs_complete(j->mask_runs)) {
		if (j->mask_rows_pushed >= height)
			return tp_err(TP_EINTERNAL, "%s: mask rows exhausted", j->io->mask);
		(void)tiler_runs_row(j->mask_runs, j->mask_rows_pushed++, j->mask_eff);
		return TP_OK;
	}
	for (;;) {
		tp_status rc;
		if (j->o->dilate && tiler_dilate_pop(j->dil, j->mask_eff))
			return TP_OK;
		if (j->mask_rows_pushed >= height)
			return tp_err(TP_EINTERNAL, "%s: mask rows exhausted", j->io->mask);
		rc = next_binary_row(j, j->o->dilate ? j->mask_bin : j->mask_eff);
		if (rc != TP_OK)
			return rc;
		j->mask_rows_pushed++;
		if (!j->o->dilate)
			return TP_OK;   /* no dilation: the binarised row is the effective one */
		if ((rc = tiler_dilate_push(j->dil, j->mask_bin)) != TP_OK)
			return rc;
	}
}

tp_status job_next_rows(struct job *j, void *row)
{
	tp_status rc;
	TP_TIMED(j->t, TP_STAGE_DECODE)
		rc = io_reader_read_rows(j->in, row, j->row_bytes, 1);
	if (rc != TP_OK)
		return rc;
	if (j->o->mask_nodata && !j->o->dilate && !j->mask_turned) {
		/* the image is its own mask, row for row: no second decode */
		TP_TIMED(j->t, TP_STAGE_MASK)
			io_row_nodata(io_reader_info(j->in), row, j->nodata, j->mask_eff);
		j->mask_rows_pushed++;
		return TP_OK;
	}
	TP_TIMED(j->t, TP_STAGE_MASK)
		rc = job_mask_next_row(j);
	return rc;
}

/* The known (unmasked, finite) samples of the row that j->mask_eff masks,
 * read from rd (a second reader of a signed or float image), into the range. */
TP_MUST_USE static tp_status range_row(struct job *j, struct io_reader *rd, void *row)
{
	tp_status rc;
	TP_TIMED(j->t, TP_STAGE_DECODE)
		rc = io_reader_read_rows(rd, row, j->row_bytes, 1);
	if (rc == TP_OK)
		widen_range(j, io_reader_info(rd), row, j->mask_eff);
	return rc;
}

/* The map of a signed or float image's samples to [0, 1] (tp_pixfmt): its
 * known samples' range, widened when it is one value ([0, 1] when nothing
 * is known). */
static void set_range(struct job *j)
{
	double lo = j->lo, hi = j->hi;
	if (lo > hi) {
		lo = 0.0;
		hi = 1.0;
	} else if (!(hi - lo >= fabs(lo) * 1e-6 + 1e-30)) {
		hi = lo + fabs(lo) * 1e-6 + 1.0;
	}
	j->fmt.lo = lo;
	j->fmt.hi = hi;
	if (j->coarse)
		tiler_coarse_set_range(j->coarse, lo, hi);
}

tp_status job_mask_pass(struct job *j)
{
	struct io_reader *rd = NULL;
	void *row = NULL;
	uint32_t height, width;
	/* a pass again (job_mem_fit's replan) reads the runs; the range stays */
	int again = tiler_runs_complete(j->mask_runs);
	tp_status rc;
	job_test_freeze("mask", 0);
	if ((rc = job_mask_open(j)) != TP_OK)
		return rc;
	height = io_reader_info(j->in)->height;
	width = io_reader_info(j->in)->width;
	if (!j->mask_runs && !j->mask_turned) {
		size_t budget = JOB_MASK_RUNS_BUDGET;
		if (j->o->mem_limit && j->o->mem_limit / 16 < budget)
			budget = (size_t)(j->o->mem_limit / 16);
		budget = job_test_runs_budget(budget);
		if ((rc = tiler_runs_new(width, height, budget, &j->mask_runs)) != TP_OK)
			return rc;
	}
	j->lo = HUGE_VAL;
	j->hi = -HUGE_VAL;
	/* with --mask nodata the mask rows are the image's: they give the range */
	j->ranging = !again && j->fmt.sample != TP_SAMPLE_UINT && j->o->mask_nodata;
	if (!again && j->fmt.sample != TP_SAMPLE_UINT && !j->ranging) {
		TP_TIMED(j->t, TP_STAGE_DECODE)
			rc = io_reader_open(j->io->input, &rd);
		if (rc == TP_OK && !(row = tp_malloc(j->row_bytes)))
			rc = tp_err(TP_ENOMEM, "%s: out of memory", j->io->input);
	}
	j->res->masked = 0;
	for (uint32_t y = 0; y < height && rc == TP_OK; y++) {
		if ((rc = job_mask_next_row(j)) != TP_OK)
			break;
		if (!again && j->mask_runs)
			(void)tiler_runs_add(j->mask_runs, j->mask_eff);
		tiler_plan_count_row(j->plan, y, j->mask_eff);
		j->res->masked += tp_count_nonzero(j->mask_eff, width);
		if (j->coarse)
			tiler_coarse_mask_row(j->coarse, y, j->mask_eff);
		if (rd)
			rc = range_row(j, rd, row);
		if (rc == TP_OK)
			rc = job_checkpoint_row(j, y);
	}
	if (rc == TP_OK && !again && j->fmt.sample != TP_SAMPLE_UINT)
		set_range(j);
	else if (rc == TP_OK && j->coarse && j->fmt.sample != TP_SAMPLE_UINT)
		tiler_coarse_set_range(j->coarse, j->fmt.lo, j->fmt.hi);
	j->ranging = 0;
	io_reader_close(rd);
	tp_free(row);
	return rc;
}
