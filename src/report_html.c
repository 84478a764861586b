/*
 * report_html.c - `report --format html`: one self-contained page, inline
 * CSS and SVG, thumbnails as PNG data URIs; nothing is fetched and no script
 * runs. Sections: runs (a table), stage time as bars (all runs, then each),
 * images (wall and worker time), a tile map per image (its thumbnail, the
 * tile grid coloured by tile state, the mask outline), a histogram of tile
 * inference times, and the failed images with their errors. Everything
 * taken from file names, options and errors is HTML-escaped.
 */
#include "options.h"
#include "report_html.h"
#include "report_text.h"
#include "thumb.h"

#include <string.h>
#include <unistd.h>

#define THUMB_SIDE 240       /* thumbnail size, pixels a side */
#define MAX_MAPS 500         /* tile maps drawn at most (the rest are listed) */
#define HIST_BINS 20

/* Tile states' colours (pending, done, skipped, failed: enum store_tile_state
 * order), solid in the legend and translucent on the map; the mask outline. */
static const char *const tile_colour[STORE_TILE_NSTATES] = {
	"#ff8c00", "#1f9e3a", "#a0a0a0", "#e0102f"
};
static const uint8_t outline_rgb[3] = { 255, 0, 255 };
static const char *const stage_colour[] = {
	"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948",
	"#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"
};

static void esc(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: fputc(*s, f);
		}
	}
}

static void head(FILE *f)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	      "<title>tilepaint report</title>\n<style>\n"
	      "body{font:14px/1.4 sans-serif;margin:24px;color:#222;background:#fff}\n"
	      "h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ccc}\n"
	      "table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 7px;"
	      "text-align:left;vertical-align:top}th{background:#f0f0f0}td.n{text-align:right}\n"
	      ".maps{display:flex;flex-wrap:wrap;gap:16px}.map{width:260px}.map svg{border:1px solid #888}\n"
	      ".sw{display:inline-block;width:14px;height:14px;margin:0 4px 0 12px;vertical-align:middle}\n"
	      ".err{color:#a00010}.opt{font-family:monospace;font-size:12px}\n"
	      "</style></head><body>\n<h1>tilepaint report</h1>\n", f);
}

/* A number of milliseconds as text (ms, s, min). */
static void ms_str(char *buf, size_t n, double ms)
{
	if (ms < 1000)
		snprintf(buf, n, "%.1f ms", ms);
	else if (ms < 120000)
		snprintf(buf, n, "%.2f s", ms / 1e3);
	else
		snprintf(buf, n, "%.1f min", ms / 6e4);
}

static void summary(FILE *f, const struct tp_report *rep)
{
	fputs("<p id=\"summary\">Stores: ", f);
	for (size_t k = 0; k < rep->nstores; k++) {
		fputs(k ? ", " : "", f);
		esc(f, rep->paths[k]);
	}
	if (rep->run)
		fprintf(f, "; run %lld only", (long long)rep->run);
	fprintf(f, ". Images: <span id=\"n-images\">%zu</span> (%lld done, %lld failed, %lld queued, "
		"%lld running, %lld interrupted). Tiles: %lld done, %lld skipped, %lld pending, "
		"%lld failed.</p>\n", rep->njobs, (long long)rep->by_state[STORE_JOB_DONE],
		(long long)rep->by_state[STORE_JOB_FAILED], (long long)rep->by_state[STORE_JOB_QUEUED],
		(long long)(rep->by_state[STORE_JOB_RUNNING] - rep->interrupted),
		(long long)rep->interrupted, (long long)rep->tiles[STORE_TILE_DONE],
		(long long)rep->tiles[STORE_TILE_SKIPPED], (long long)rep->tiles[STORE_TILE_PENDING],
		(long long)rep->tiles[STORE_TILE_FAILED]);
}

static void runs_table(FILE *f, const struct tp_report *rep)
{
	fputs("<h2>Runs</h2>\n<table id=\"runs\"><tr><th>store</th><th>run</th><th>start</th>"
	      "<th>end</th><th>wall</th><th>state</th><th>host:pid</th><th>engine and options</th>"
	      "<th>-j</th><th>images</th><th>done</th><th>failed</th><th>skipped</th><th>tiles "
	      "inpainted</th><th>MP</th><th>MP/s</th></tr>\n", f);
	for (size_t i = 0; i < rep->nruns; i++) {
		const struct rep_run *u = &rep->runs[i];
		const struct store_run_row *w = &u->row;
		char t0[32], t1[32], wall[32];
		rep_time_str(t0, sizeof t0, w->started);
		rep_time_str(t1, sizeof t1, w->finished);
		ms_str(wall, sizeof wall, u->wall_s * 1e3);
		fputs("<tr class=\"run\"><td>", f);
		esc(f, rep->paths[u->store]);
		fprintf(f, "</td><td class=\"n\">%lld</td><td>%s</td><td>%s</td><td class=\"n\">%s</td>"
			"<td>%s</td><td>", (long long)w->id, t0, t1, wall, rep_run_state_name(u->state));
		esc(f, w->host);
		fprintf(f, ":%lld</td><td class=\"opt\">", (long long)w->pid);
		esc(f, w->options[0] ? w->options : w->argv);
		fprintf(f, "</td><td class=\"n\">%lld</td><td class=\"n\">%lld</td><td class=\"n\">%lld"
			"</td><td class=\"n\">%lld</td><td class=\"n\">%lld</td><td class=\"n\">%lld</td>"
			"<td class=\"n\">%.2f</td><td class=\"n\">%.3f</td></tr>\n", (long long)w->threads,
			(long long)w->n.images, (long long)w->n.done, (long long)w->n.failed,
			(long long)w->n.skipped, (long long)w->n.inpainted, w->n.megapixels, u->mp_per_s);
	}
	fputs("</table>\n", f);
}

/* One stacked bar of stage times (SVG), with a legend table when `table`. */
static void stage_bar(FILE *f, const char *id, const char *title, const struct rep_stages *a,
		      int table)
{
	double x = 0, W = 800;
	char t[32];
	fprintf(f, "<h3>%s</h3>\n<svg class=\"stages\" id=\"%s\" width=\"%.0f\" height=\"28\" "
		"viewBox=\"0 0 %.0f 28\" xmlns=\"http://www.w3.org/2000/svg\">", title, id, W, W);
	for (int i = 0; i < a->n && a->total > 0; i++) {
		double w = W * a->ms[i] / a->total;
		fprintf(f, "<rect x=\"%.2f\" y=\"2\" width=\"%.2f\" height=\"24\" fill=\"%s\">"
			"<title>%s %.1f ms</title></rect>", x, w, stage_colour[i % 10], a->name[i], a->ms[i]);
		x += w;
	}
	ms_str(t, sizeof t, a->total);
	if (!table) {
		fprintf(f, "</svg> %s\n", t);
		return;
	}
	fputs("</svg>\n<table class=\"stage-table\"><tr><th>stage</th><th>calls</th><th>total</th>"
	      "<th>share</th></tr>", f);
	for (int i = 0; i < a->n; i++) {
		ms_str(t, sizeof t, a->ms[i]);
		fprintf(f, "<tr><td><span class=\"sw\" style=\"background:%s\"></span>%s</td><td class=\"n\">"
			"%lld</td><td class=\"n\">%s</td><td class=\"n\">%.1f%%</td></tr>",
			stage_colour[i % 10], a->name[i], (long long)a->count[i], t,
			a->total > 0 ? 100 * a->ms[i] / a->total : 0);
	}
	ms_str(t, sizeof t, a->total);
	fprintf(f, "<tr><th>total (worker time)</th><td></td><td class=\"n\">%s</td><td></td></tr>"
		"</table>\n", t);
}

static void stages_section(FILE *f, const struct tp_report *rep)
{
	fputs("<h2>Stage times</h2>\n<p>Worker time: each stage's time, inference summed over the "
	      "workers.</p>\n", f);
	stage_bar(f, "stages-all", "All runs", &rep->all, 1);
	for (size_t i = 0; i < rep->nruns; i++) {
		char id[32], title[64];
		snprintf(id, sizeof id, "stages-run-%zu", i);
		snprintf(title, sizeof title, "Run %lld%s", (long long)rep->runs[i].row.id,
			 rep->nstores > 1 ? " (its store: see the runs table)" : "");
		stage_bar(f, id, title, &rep->runs[i].st, 0);
	}
}

static void images_table(FILE *f, const struct tp_report *rep)
{
	fputs("<h2>Images</h2>\n<p>Wall time: from the claim to the end of each attempt, summed "
	      "over attempts. Worker time: the sum of its stage times.</p>\n<table id=\"images\"><tr>"
	      "<th>store</th><th>input</th><th>state</th><th>tiles</th><th>skipped</th><th>done</th>"
	      "<th>pending</th><th>wall ms</th><th>worker ms</th></tr>\n", f);
	for (size_t i = 0; i < rep->njobs; i++) {
		const struct rep_job *j = &rep->jobs[i];
		fputs("<tr class=\"image\"><td>", f);
		esc(f, rep->paths[j->store]);
		fputs("</td><td>", f);
		esc(f, j->row.input);
		fprintf(f, "</td><td>%s</td><td class=\"n\">%lld</td><td class=\"n\">%lld</td>"
			"<td class=\"n\">%lld</td><td class=\"n\">%lld</td><td class=\"n wall\">%.1f</td>"
			"<td class=\"n worker\">%.1f</td></tr>\n", rep_job_state_name(j),
			(long long)j->row.tiles_total, (long long)j->row.tiles_skipped,
			(long long)j->row.tiles_done, (long long)j->tiles_pending, j->row.wall_ms,
			j->row.worker_ms);
	}
	fputs("</table>\n", f);
}

/* How the runs of store `k` took a mask's holes: the mask_threshold and
 * mask_invert of its last run's options (a job done under other options
 * was redone by that run, or was not reached by it), else the defaults. */
static void mask_rule(const struct tp_report *rep, size_t k, uint32_t *threshold, int *invert)
{
	*threshold = OPTS_MASK_THRESHOLD;
	*invert = 0;
	for (size_t i = rep->nruns; i-- > 0;) {
		const char *o = rep->runs[i].row.options, *p;
		unsigned v;
		if (rep->runs[i].store != k || !o)
			continue;
		if ((p = strstr(o, "mask_threshold=")) && sscanf(p, "mask_threshold=%u", &v) == 1 &&
		    v <= 255)
			*threshold = v;
		for (p = strstr(o, "mask_invert"); p; p = strstr(p + 1, "mask_invert"))
			if ((p == o || p[-1] == ' ') && (p[11] == ' ' || p[11] == '\0'))
				*invert = 1;
		return;
	}
}

/* The picture under a tile map: the output when done and readable, else the
 * input; with the mask's outline. NULL when neither can be read. */
static char *map_picture(const struct tp_report *rep, const struct rep_job *j, uint32_t *w,
			 uint32_t *h)
{
	uint32_t threshold;
	int invert;
	struct tp_thumb t;
	char *b64 = NULL;
	const char *src = j->row.state == STORE_JOB_DONE && access(j->row.output, R_OK) == 0
		? j->row.output : j->row.input;
	if (tp_thumb_make(src, THUMB_SIDE, &t) != TP_OK)
		return NULL;
	mask_rule(rep, j->store, &threshold, &invert);
	if (j->row.mask[0] && tp_thumb_outline(&t, j->row.mask, threshold, invert, outline_rgb) != TP_OK)
		tp_debug("%s", tp_errmsg());
	if (tp_thumb_png_base64(&t, &b64) != TP_OK)
		b64 = NULL;
	*w = t.src_w;
	*h = t.src_h;
	tp_thumb_free(&t);
	return b64;
}

/* f NULL: only the tile times are collected (an image past MAX_MAPS). */
struct map_ctx { FILE *f; double stroke; double *times; size_t nt, cap; };

static int map_tile(void *ctx, const struct store_tile_row *t)
{
	struct map_ctx *m = ctx;
	unsigned s = (unsigned)t->state < STORE_TILE_NSTATES ? t->state : 0;
	if (m->f)
		fprintf(m->f, "<rect class=\"tile %s\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\" "
			"fill-opacity=\"%s\" stroke=\"%s\" stroke-width=\"%.1f\"/>", store_tile_state_name(s),
		t->x, t->y, t->w, t->h, tile_colour[s], s == STORE_TILE_SKIPPED ? "0" : "0.3",
		tile_colour[s], m->stroke);
	if (t->state == STORE_TILE_DONE && t->engine_ms >= 0) {
		double *v = tp_grow_array(m->times, &m->cap, m->nt, sizeof *v, 1024);
		if (!v)
			return 0;   /* the histogram misses some tiles; the map is whole */
		m->times = v;
		m->times[m->nt++] = t->engine_ms;
	}
	return 0;
}

TP_MUST_USE static tp_status tile_map(FILE *f, const struct tp_report *rep, const struct rep_job *j,
				      struct map_ctx *m, int draw)
{
	uint32_t w = (uint32_t)j->row.width, h = (uint32_t)j->row.height;
	char *pic;
	if (!w || !h)    /* never planned: a square placeholder */
		w = h = 100;
	pic = draw ? map_picture(rep, j, &w, &h) : NULL;
	tp_status rc;
	if (draw) {
		fprintf(f, "<div class=\"map\"><svg class=\"tilemap\" width=\"%u\" height=\"%u\" "
			"viewBox=\"0 0 %u %u\" xmlns=\"http://www.w3.org/2000/svg\">", THUMB_SIDE,
			w >= h ? (unsigned)((uint64_t)THUMB_SIDE * h / (w ? w : 1)) : THUMB_SIDE,
			w ? w : 1, h ? h : 1);
		if (pic)
			fprintf(f, "<image width=\"%u\" height=\"%u\" preserveAspectRatio=\"none\" "
				"href=\"data:image/png;base64,%s\"/>", w, h, pic);
		else
			fprintf(f, "<rect width=\"%u\" height=\"%u\" fill=\"#eeeeee\"/>", w, h);
	}
	m->f = draw ? f : NULL;
	m->stroke = (w > h ? w : h) / 200.0 + 0.5;
	rc = store_tiles_each(rep->st[j->store], j->row.id, map_tile, m);
	tp_free(pic);
	if (draw) {
		fputs("</svg><br>", f);
		esc(f, j->row.input);
		fprintf(f, " (%s)</div>\n", rep_job_state_name(j));
	}
	return rc;
}

static void histogram(FILE *f, const double *v, size_t n)
{
	double max = 0, W = 800, H = 200;
	int64_t bins[HIST_BINS] = { 0 }, top = 0;
	fputs("<h2>Tile inference times</h2>\n", f);
	for (size_t i = 0; i < n; i++)
		max = v[i] > max ? v[i] : max;
	if (!n || max <= 0) {
		fputs("<p>No tile has been timed.</p>\n", f);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		int b = (int)(v[i] / max * HIST_BINS);
		bins[b >= HIST_BINS ? HIST_BINS - 1 : b]++;
	}
	for (int b = 0; b < HIST_BINS; b++)
		top = bins[b] > top ? bins[b] : top;
	fprintf(f, "<svg id=\"histogram\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
		"xmlns=\"http://www.w3.org/2000/svg\">", W, H + 30, W, H + 30);
	for (int b = 0; b < HIST_BINS; b++) {
		double bh = H * (double)bins[b] / (double)top;
		fprintf(f, "<rect class=\"bin\" data-count=\"%lld\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
			"height=\"%.1f\" fill=\"#4e79a7\"><title>%.1f-%.1f ms: %lld tiles</title></rect>",
			(long long)bins[b], W * b / HIST_BINS + 1, H - bh, W / HIST_BINS - 2, bh,
			max * b / HIST_BINS, max * (b + 1) / HIST_BINS, (long long)bins[b]);
	}
	fprintf(f, "<text x=\"0\" y=\"%.0f\" font-size=\"12\">0 ms</text><text x=\"%.0f\" y=\"%.0f\" "
		"font-size=\"12\" text-anchor=\"end\">%.1f ms</text></svg>\n<p>%zu tiles, %d bins, "
		"tallest %lld.</p>\n", H + 20, W, H + 20, max, n, HIST_BINS, (long long)top);
}

static void legend(FILE *f)
{
	fputs("<p id=\"legend\">", f);
	for (int s = 0; s < STORE_TILE_NSTATES; s++)
		fprintf(f, "<span class=\"sw\" style=\"background:%s\"></span>%s", tile_colour[s],
			store_tile_state_name(s));
	fputs("<span class=\"sw\" style=\"background:#ff00ff\"></span>mask outline</p>\n", f);
}

static void failed_section(FILE *f, const struct tp_report *rep)
{
	int n = 0;
	fputs("<h2>Failed images</h2>\n", f);
	for (size_t i = 0; i < rep->njobs; i++) {
		const struct rep_job *j = &rep->jobs[i];
		if (j->row.state != STORE_JOB_FAILED)
			continue;
		fputs(n++ ? "<tr class=\"failed\"><td>" : "<table id=\"failed\"><tr><th>input</th>"
		      "<th>error</th></tr>\n<tr class=\"failed\"><td>", f);
		esc(f, j->row.input);
		fputs("</td><td class=\"err\">", f);
		esc(f, j->row.error);
		fputs("</td></tr>\n", f);
	}
	fputs(n ? "</table>\n" : "<p>None.</p>\n", f);
}

tp_status rep_print_html(FILE *f, const struct tp_report *rep)
{
	struct map_ctx m;
	tp_status rc = TP_OK;
	memset(&m, 0, sizeof m);
	head(f);
	summary(f, rep);
	runs_table(f, rep);
	fputs("<h2>Tile maps</h2>\n", f);
	legend(f);
	fputs("<div class=\"maps\">\n", f);
	for (size_t i = 0; i < rep->njobs && rc == TP_OK; i++)
		rc = tile_map(f, rep, &rep->jobs[i], &m, i < MAX_MAPS);
	fputs("</div>\n", f);
	if (rep->njobs > MAX_MAPS)
		fprintf(f, "<p>Tile maps of the first %d images only.</p>\n", MAX_MAPS);
	images_table(f, rep);
	stages_section(f, rep);
	histogram(f, m.times, m.nt);
	failed_section(f, rep);
	fputs("</body></html>\n", f);
	tp_free(m.times);
	return rc;
}
