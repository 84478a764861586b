/*
 * progress.c - progress on stderr: a one-line bar redrawn in place when
 * stderr is a terminal, a plain log line every 10 s otherwise, nothing with
 * -q. The ETA is the remaining tiles times the measured mean tile time
 * (seeded from the store's history), divided by the worker count.
 */
#include "core.h"

#include <string.h>
#include <unistd.h>

struct tp_progress {
	int quiet, tty, drawn;
	uint64_t total, done;
	uint64_t img_total, img_done;
	double mean_ms, sum_ms;
	uint64_t timed;
	uint32_t threads;
	double last_draw;
	char name[256];
};

struct tp_progress *tp_progress_new(int quiet, uint64_t total_tiles, double tile_ms_estimate,
				    uint32_t threads)
{
	struct tp_progress *p = tp_calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->quiet = quiet;
	p->tty = isatty(STDERR_FILENO);
	p->total = total_tiles;
	p->mean_ms = tile_ms_estimate;
	p->threads = threads ? threads : 1;
	p->last_draw = tp_now_ms();
	return p;
}

static void fmt_eta(char *buf, size_t n, double ms)
{
	long s = (long)(ms / 1000 + 0.5);
	if (ms <= 0)
		snprintf(buf, n, "--");
	else if (s >= 3600)
		snprintf(buf, n, "%ldh%02ldm", s / 3600, s / 60 % 60);
	else if (s >= 60)
		snprintf(buf, n, "%ldm%02lds", s / 60, s % 60);
	else
		snprintf(buf, n, "%lds", s);
}

static void draw(struct tp_progress *p, int force)
{
	double now = tp_now_ms();
	char eta[32];
	uint64_t left = p->total > p->done ? p->total - p->done : 0;
	if (p->quiet || (!force && now - p->last_draw < (p->tty ? 200 : 10000)))
		return;
	p->last_draw = now;
	fmt_eta(eta, sizeof eta, p->mean_ms * (double)left / p->threads);
	if (p->tty) {
		char bar[31];
		size_t fill = p->total ? (size_t)(30 * p->done / p->total) : 30;
		memset(bar, '#', fill);
		memset(bar + fill, '.', 30 - fill);
		bar[30] = '\0';
		fprintf(stderr, "\r\033[K[%s] %llu/%llu tiles  %s (%llu/%llu)  ETA %s", bar,
			(unsigned long long)p->done, (unsigned long long)p->total, p->name,
			(unsigned long long)p->img_done, (unsigned long long)p->img_total, eta);
		p->drawn = 1;
	} else {
		fprintf(stderr, "tilepaint: %s: %llu/%llu tiles; all images %llu/%llu tiles, ETA %s\n",
			p->name, (unsigned long long)p->img_done, (unsigned long long)p->img_total,
			(unsigned long long)p->done, (unsigned long long)p->total, eta);
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
	if (p->tty)
		draw(p, 1);
}

void tp_progress_tiles(struct tp_progress *p, uint64_t done_delta, double tile_ms)
{
	if (!p)
		return;
	p->done += done_delta;
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
