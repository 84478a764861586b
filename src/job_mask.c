/*
 * job_mask.c - a job's mask as a stream of effective rows: read from the
 * mask file one row at a time, binarised, dilated (--dilate) with the rows
 * the dilation needs held back; and the mask pass that counts masked pixels
 * per tile before any image row is read.
 */
#include "job_int.h"

tp_status job_mask_open(struct job *j)
{
	const struct io_info *ii = io_reader_info(j->in), *mi;
	size_t src_bytes;
	tp_status rc;
	io_reader_close(j->mk);
	j->mk = NULL;
	tiler_dilate_free(j->dil);
	j->dil = NULL;
	j->mask_rows_pushed = 0;
	if ((rc = io_reader_open(j->io->mask, &j->mk)) != TP_OK)
		return rc;
	mi = io_reader_info(j->mk);
	if (mi->width != ii->width || mi->height != ii->height)
		return tp_err(TP_EFORMAT, "%s: the mask %s is %ux%u but the image is %ux%u",
			      j->io->input, j->io->mask, mi->width, mi->height, ii->width, ii->height);
	src_bytes = (size_t)mi->width * mi->channels * (mi->bits / 8);
	if (!j->mask_src) {
		j->mask_src = tp_malloc(src_bytes);
		j->mask_bin = tp_malloc(mi->width);
		j->mask_eff = tp_malloc(mi->width);
		if (!j->mask_src || !j->mask_bin || !j->mask_eff)
			return tp_err(TP_ENOMEM, "%s: out of memory", j->io->mask);
	}
	if (!j->o->dilate)
		return TP_OK;   /* job_mask_next_row uses the binarised rows as they are */
	return tiler_dilate_new(mi->width, mi->height, j->o->dilate, &j->dil);
}

tp_status job_mask_next_row(struct job *j)
{
	const struct io_info *mi = io_reader_info(j->mk);
	size_t src_bytes = (size_t)mi->width * mi->channels * (mi->bits / 8);
	for (;;) {
		tp_status rc;
		if (j->o->dilate && tiler_dilate_pop(j->dil, j->mask_eff))
			return TP_OK;
		if (j->mask_rows_pushed >= mi->height)
			return tp_err(TP_EINTERNAL, "%s: mask rows exhausted", j->io->mask);
		/* reading the mask file is decoding, like the image's (timed
		 * apart from the mask stage around this call) */
		TP_TIMED(j->t, TP_STAGE_DECODE)
			rc = io_reader_read_rows(j->mk, j->mask_src, src_bytes, 1);
		if (rc != TP_OK)
			return rc;
		j->mask_rows_pushed++;
		if (!j->o->dilate) {
			/* no dilation: the binarised row is the effective one */
			io_row_to_binary(mi, j->mask_src, j->mask_eff);
			return TP_OK;
		}
		io_row_to_binary(mi, j->mask_src, j->mask_bin);
		if ((rc = tiler_dilate_push(j->dil, j->mask_bin)) != TP_OK)
			return rc;
	}
}

tp_status job_next_rows(struct job *j)
{
	tp_status rc;
	TP_TIMED(j->t, TP_STAGE_DECODE)
		rc = io_reader_read_rows(j->in, j->row_buf, j->row_bytes, 1);
	if (rc != TP_OK)
		return rc;
	TP_TIMED(j->t, TP_STAGE_MASK)
		rc = job_mask_next_row(j);
	return rc;
}

tp_status job_mask_pass(struct job *j)
{
	uint32_t height;
	tp_status rc;
	job_test_freeze("mask", 0);
	if ((rc = job_mask_open(j)) != TP_OK)
		return rc;
	height = io_reader_info(j->mk)->height;
	for (uint32_t y = 0; y < height; y++) {
		if ((rc = job_mask_next_row(j)) != TP_OK)
			return rc;
		tiler_plan_count_row(j->plan, y, j->mask_eff);
		if (j->coarse)
			tiler_coarse_mask_row(j->coarse, y, j->mask_eff);
		if ((rc = job_checkpoint_row(j, y)) != TP_OK)
			return rc;
	}
	return TP_OK;
}
