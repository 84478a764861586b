/*
 * progress.c - progress on stderr: a one-line bar redrawn in place when
 * stderr is a terminal, a plain log line every 10 s otherwise, nothing with
 * -q. It shows the current image (its tiles done of those to inpaint, and
 * its place in the batch); the ETA is that image's remaining tiles at the
 * wall-clock rate measured so far (at first: the mean engine time per tile
 * from the store's history, over the workers).
 */
#include "progress.h"

#include <string.h>
#include <unistd.h>

struct tp_progress {
	int quiet, tty, drawn;
	uint64_t total, done;     /* images in the run, images started */
	uint64_t img_total, img_done;
	double mean_ms, sum_ms;
	uint64_t timed;
	uint32_t threads;
	double last_draw;
	double img_start;         /* tp_now_ms() when the current image started */
	char name[256];
};

struct tp_progress *tp_progress_new(int quiet, uint64_t images, double tile_ms_estimate,
				    uint32_t threads)
{
	struct tp_progress *p = tp_calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->quiet = quiet;
	p->tty = isatty(STDERR_FILENO);
	p->total = images;
	p->mean_ms = tile_ms_estimate;
	p->threads = threads ? threads : 1;
	p->last_draw = tp_now_ms();
	return p;
}

/* The ETA, or "--" while there is nothing to base it on. */
static void fmt_eta(char *buf, size_t n, double ms)
{
	if (ms <= 0)
		snprintf(buf, n, "--");
	else
		tp_format_duration(buf, n, ms);
}

static void draw(struct tp_progress *p, int force)
{
	double now = tp_now_ms();
	char eta[32];
	uint64_t left = p->img_total > p->img_done ? p->img_total - p->img_done : 0;
	if (p->quiet || (!force && now - p->last_draw < (p->tty ? 200 : 10000)))
		return;
	p->last_draw = now;
	if (p->img_done >= 4)   /* measured wall-clock rate: decode and encode included */
		fmt_eta(eta, sizeof eta, (now - p->img_start) / (double)p->img_done * (double)left);
	else
		fmt_eta(eta, sizeof eta, p->mean_ms * (double)left / p->threads);
	if (p->tty) {
		char bar[31];
		size_t fill = p->img_total ? (size_t)(30 * p->img_done / p->img_total) : 30;
		memset(bar, '#', fill);
		memset(bar + fill, '.', 30 - fill);
		bar[30] = '\0';
		fprintf(stderr, "\r\033[K[%s] %llu/%llu tiles  image %llu/%llu %s  ETA %s", bar,
			(unsigned long long)p->img_done, (unsigned long long)p->img_total,
			(unsigned long long)p->done, (unsigned long long)p->total, p->name, eta);
		p->drawn = 1;
	} else {
		fprintf(stderr, "tilepaint: image %llu/%llu %s: %llu/%llu tiles, ETA %s\n",
			(unsigned long long)p->done, (unsigned long long)p->total, p->name,
			(unsigned long long)p->img_done, (unsigned long long)p->img_total, eta);
	}
	fflush(stderr);
}

void tp_progress_image(struct tp_progress *p, const char *name, uint64_t image_tiles)
{
	if (!p)
		return;
	snprintf(p->name, sizeof p->name, "%s", name);
	p->img_total = image_tiles;
	p->img_done = 0;
	p->img_start = tp_now_ms();
	p->done++;
	if (p->tty)
		draw(p, 1);
}

void tp_progress_tiles(struct tp_progress *p, uint64_t done_delta, double tile_ms)
{
	if (!p)
		return;
	p->img_done += done_delta;
	if (tile_ms > 0) {
		p->sum_ms += tile_ms;
		p->timed++;
		p->mean_ms = p->sum_ms / (double)p->timed;
	}
	draw(p, 0);
}

void tp_progress_clear(struct tp_progress *p)
{
	if (p && p->tty && p->drawn) {
		fputs("\r\033[K", stderr);
		p->drawn = 0;
	}
}

void tp_progress_free(struct tp_progress *p)
{
	tp_progress_clear(p);
	tp_free(p);
}
