/*
 * progress.c - the batch line on a terminal's stderr: images reached of the
 * batch, masked tiles done of the batch's, megapixels written per second,
 * the ETA of the whole batch, the current stage with its rows (mask pass,
 * guide pass, rows written by the band loop), and the current image's name,
 * fitted to the terminal's width (read at every redraw, so a resized window
 * is followed; the name is cut from the left) and redrawn at most ten times
 * a second. The line itself is drawn by tp_log_status, so log lines erase
 * it first and it comes back below them. Nothing at all when stderr is not
 * a terminal (cron, pipes: the run's summary line is all), with -q or
 * --no-progress.
 *
 * The ETA is status's (tp_progress_eta_s): tiles left of the images
 * planned, plus a guess at the mean for the images not planned yet, over the
 * wall throughput this run measures (tiles computed per second since its
 * first plan, decode and encode included, at the real worker count); until
 * a few tiles are done, the store's (or this run's) mean engine time per
 * tile over the workers.
 */
#define _POSIX_C_SOURCE 200809L
#include "progress.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define REDRAW_MS 100.0   /* at most ten redraws a second */
#define LINE_MAX_BYTES 1000
#define NAME_MIN 8        /* columns: a name cut shorter than this is left out */
#define NAME_WANT 20      /* columns the name gets before MP/s is given up for it */

struct tp_progress {
	uint64_t images, reached;   /* in the batch; begun (the current one included) */
	uint64_t planned, planned_active;   /* images planned, their masked tiles */
	uint64_t dropped;           /* masked tiles of images that ended unfinished */
	uint64_t tiles_done, computed;
	uint64_t pixels;            /* of images finished */
	double sum_ms, mean_ms;     /* engine time of the tiles computed; the mean used */
	uint32_t threads;
	double t_first;             /* tp_now_ms() of the first begin, 0: none yet */
	double t_plan;              /* of the first plan, 0: none yet */
	double last_draw;
	double redraw_ms;           /* REDRAW_MS; TILEPAINT_TEST_REDRAW_MS for the tests */
	/* the current image */
	int cur, cur_planned;
	uint32_t cur_width;
	uint64_t cur_active, cur_done;
	uint64_t cur_written;       /* rows of it written (the band loop's rows) */
	const char *stage;          /* a string literal */
	uint64_t rows, row;
	char name[512];
};

struct tp_progress *tp_progress_new(enum tp_progress_mode mode, int quiet, uint64_t images,
				    double tile_ms_estimate, uint32_t threads)
{
	struct tp_progress *p;
	const char *term = getenv("TERM"), *every = getenv("TILEPAINT_TEST_REDRAW_MS");
	if (mode == TP_PROGRESS_OFF || (mode == TP_PROGRESS_AUTO &&
	    (quiet || !isatty(STDERR_FILENO) || (term && !strcmp(term, "dumb")))))
		return NULL;
	if (!(p = tp_calloc(1, sizeof *p)))
		return NULL;
	p->images = images;
	p->mean_ms = tile_ms_estimate;
	p->threads = threads ? threads : 1;
	p->stage = "";
	/* the end-to-end tests see every update, so their content does not
	 * depend on the machine's speed */
	p->redraw_ms = every && *every ? atof(every) : REDRAW_MS;
	return p;
}

double tp_progress_guess(double unplanned, double planned_active, double planned)
{
	return planned > 0 ? unplanned * planned_active / planned : 0;
}

double tp_progress_eta_s(double tiles_left, double unplanned, double planned_active,
			 double planned, double tiles_per_s)
{
	if (tiles_per_s <= 0 || (unplanned > 0 && planned <= 0))
		return -1;
	return (tiles_left + tp_progress_guess(unplanned, planned_active, planned)) / tiles_per_s;
}

/* Columns of the terminal stderr is (COLUMNS, else 80, when it cannot say). */
static unsigned term_width(void)
{
	struct winsize ws;
	const char *c = getenv("COLUMNS");
	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	if (c && atoi(c) > 0)
		return (unsigned)atoi(c);
	return 80;
}

/* Images not planned yet: those not reached, and the current one before its plan. */
static uint64_t unplanned(const struct tp_progress *p)
{
	uint64_t n = p->images > p->reached ? p->images - p->reached : 0;
	return n + (uint64_t)(p->cur && !p->cur_planned);
}

/* Tiles per second: measured once a few are done, else from engine time. */
static double tiles_per_s(const struct tp_progress *p, double now)
{
	if (p->computed >= 4 && now > p->t_plan)
		return (double)p->computed * 1e3 / (now - p->t_plan);
	return p->mean_ms > 0 ? (double)p->threads * 1e3 / p->mean_ms : 0;
}

/* "tiles 12/340", "tiles 12/~900" (part guessed), "tiles 0/?" (nothing planned yet). */
static void fmt_tiles(const struct tp_progress *p, char *buf, size_t n)
{
	uint64_t known = p->planned_active - p->dropped, un = unplanned(p);
	double guess = tp_progress_guess((double)un, (double)p->planned_active, (double)p->planned);
	if (un > 0 && p->planned == 0)
		snprintf(buf, n, "tiles %llu/?", (unsigned long long)p->tiles_done);
	else
		snprintf(buf, n, "tiles %llu/%s%llu", (unsigned long long)p->tiles_done,
			 un > 0 ? "~" : "", (unsigned long long)(known + (uint64_t)(guess + 0.5)));
}

/* The fixed fields: images, tiles, MP/s (unless `no_rate`), ETA, stage and rows. */
static void fmt_fields(const struct tp_progress *p, double now, int no_rate, char *buf, size_t n)
{
	char img[48] = "", tiles[64], rate[24] = "-- MP/s", eta[32] = "--", stage[64] = "";
	double secs = (now - p->t_first) / 1e3;
	double px = (double)p->pixels;
	uint64_t known = p->planned_active - p->dropped;
	double left = known > p->tiles_done ? (double)(known - p->tiles_done) : 0;
	double e = tp_progress_eta_s(left, (double)unplanned(p), (double)p->planned_active,
				     (double)p->planned, tiles_per_s(p, now));
	if (p->images)
		snprintf(img, sizeof img, "%llu/%llu img  ", (unsigned long long)p->reached,
			 (unsigned long long)p->images);
	fmt_tiles(p, tiles, sizeof tiles);
	if (p->cur)
		px += (double)p->cur_written * p->cur_width;
	if (p->t_first > 0 && secs >= 0.5 && px > 0)
		snprintf(rate, sizeof rate, "%.1f MP/s", px / 1e6 / secs);
	if (e >= 0)
		tp_format_duration(eta, sizeof eta, e * 1e3);
	if (p->rows)
		snprintf(stage, sizeof stage, "  %s %llu/%llu", p->stage, (unsigned long long)p->row,
			 (unsigned long long)p->rows);
	else if (p->stage[0])
		snprintf(stage, sizeof stage, "  %s", p->stage);
	snprintf(buf, n, "%s%s%s%s  ETA %s%s", img, tiles, no_rate ? "" : "  ",
		 no_rate ? "" : rate, eta, stage);
}

/* Columns `s` takes: one per character (UTF-8 continuation bytes take none). */
static size_t columns(const char *s)
{
	size_t c = 0;
	for (; *s; s++)
		c += ((unsigned char)*s & 0xC0) != 0x80;
	return c;
}

/* Append the name to `line` (holding `used` columns) within `width`
 * columns, cut from the left behind "..." when it does not fit; left out
 * when fewer than NAME_MIN columns are free. */
static void add_name(char *line, size_t used, size_t width, const char *name)
{
	size_t room = width > used + 2 ? width - used - 2 : 0, len = strlen(line);
	const char *s = name;
	if (!name[0] || room < NAME_MIN)
		return;
	if (columns(name) > room) {
		size_t keep = room - 3, have = columns(name);
		while (have > keep || ((unsigned char)*s & 0xC0) == 0x80)
			have -= ((unsigned char)*s++ & 0xC0) != 0x80;
		snprintf(line + len, LINE_MAX_BYTES - len, "  ...%s", s);
	} else {
		snprintf(line + len, LINE_MAX_BYTES - len, "  %s", s);
	}
}

static void draw(struct tp_progress *p, int force)
{
	double now = tp_now_ms();
	char line[LINE_MAX_BYTES];
	size_t width, want;
	if (!force && now - p->last_draw < p->redraw_ms)
		return;
	p->last_draw = now;
	/* one column short of the edge: a line that reaches the last column
	 * leaves some terminals about to wrap */
	width = term_width() - 1;
	fmt_fields(p, now, 0, line, sizeof line);
	want = columns(p->name) < NAME_WANT ? columns(p->name) : NAME_WANT;
	if (want && strlen(line) + 2 + want > width)
		fmt_fields(p, now, 1, line, sizeof line);   /* a narrow window: the name first */
	if (strlen(line) > width)
		line[width] = '\0';   /* the fields are ASCII */
	add_name(line, strlen(line), width, p->name);
	tp_log_status(line);
}

void tp_progress_begin(struct tp_progress *p, const char *name)
{
	char *d;
	if (!p)
		return;
	if (p->t_first == 0)
		p->t_first = tp_now_ms();
	p->reached++;
	p->cur = 1;
	p->cur_planned = 0;
	p->cur_active = p->cur_done = 0;
	p->cur_width = 0;
	p->cur_written = 0;
	p->stage = "";
	p->rows = p->row = 0;
	snprintf(p->name, sizeof p->name, "%s", name);
	for (d = p->name; *d; d++)   /* a control character in a name would move the cursor */
		if ((unsigned char)*d < 0x20 || *d == 0x7f)
			*d = '?';
	draw(p, 0);
}

void tp_progress_stage(struct tp_progress *p, const char *stage, uint64_t rows)
{
	if (!p)
		return;
	p->stage = stage;
	p->rows = rows;
	p->row = 0;
	draw(p, 1);
}

void tp_progress_row(struct tp_progress *p, uint64_t row)
{
	if (!p)
		return;
	p->row = row < p->rows ? row : p->rows;
	if (!strcmp(p->stage, "rows"))
		p->cur_written = p->row;
	draw(p, 0);
}

void tp_progress_plan(struct tp_progress *p, uint32_t width, uint64_t active)
{
	if (!p || p->cur_planned)
		return;
	if (p->t_plan == 0)
		p->t_plan = tp_now_ms();
	p->cur_planned = 1;
	p->cur_width = width;
	p->cur_active = active;
	p->planned++;
	p->planned_active += active;
	draw(p, 0);
}

void tp_progress_workers(struct tp_progress *p, uint32_t threads)
{
	if (p && threads)
		p->threads = threads;
}

void tp_progress_tiles(struct tp_progress *p, uint64_t done_delta, double tile_ms)
{
	if (!p)
		return;
	p->tiles_done += done_delta;
	p->cur_done += done_delta;
	if (tile_ms > 0) {
		p->computed++;
		p->sum_ms += tile_ms;
		p->mean_ms = p->sum_ms / (double)p->computed;
	}
	draw(p, 0);
}

void tp_progress_end(struct tp_progress *p, uint64_t pixels)
{
	if (!p || !p->cur)
		return;
	p->pixels += pixels;
	if (p->cur_active > p->cur_done)   /* failed or stopped: its tiles are no longer due */
		p->dropped += p->cur_active - p->cur_done;
	p->cur = 0;
	p->stage = "";
	p->rows = p->row = 0;
	/* the last image's end is the final state: always shown */
	draw(p, p->reached >= p->images);
}

void tp_progress_clear(struct tp_progress *p)
{
	if (p)
		tp_log_status(NULL);
}

void tp_progress_free(struct tp_progress *p)
{
	tp_progress_clear(p);
	tp_free(p);
}
