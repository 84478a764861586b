/*
 * stop.c - stopping on purpose: the signal handler the commands install
 * (tp_stop_signal, polled through tp_cancelled()), and the durations people
 * give --max-time and --lease in, and read in progress lines.
 */
#include "tp.h"

#include <ctype.h>
#include <errno.h>

volatile sig_atomic_t tp_stop_signal;

static void on_signal(int sig)
{
	tp_stop_signal = sig;
	/* a second signal ends the process at once: the store and outputs are
	 * safe at any instant, this only skips waiting for tiles in flight */
	signal(sig, SIG_DFL);
}

void tp_signals_install(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

void tp_format_duration(char *buf, size_t n, double ms)
{
	long s = (long)(ms / 1000 + 0.5);
	if (s >= 3600)
		snprintf(buf, n, "%ldh%02ldm", s / 3600, s / 60 % 60);
	else if (s >= 60)
		snprintf(buf, n, "%ldm%02lds", s / 60, s % 60);
	else
		snprintf(buf, n, "%lds", s);
}

double tp_parse_duration(const char *s)
{
	double total = 0;
	int any = 0;
	if (!s || !*s)
		return -1;
	while (*s) {
		char *e;
		double v;
		if (!isdigit((unsigned char)*s) && *s != '.')
			return -1;
		errno = 0;
		v = strtod(s, &e);
		if (errno || e == s || v < 0)
			return -1;
		switch (*e) {
		case '\0': total += v; s = e; break;
		case 's': total += v; s = e + 1; break;
		case 'm': total += v * 60; s = e + 1; break;
		case 'h': total += v * 3600; s = e + 1; break;
		case 'd': total += v * 86400; s = e + 1; break;
		default: return -1;
		}
		any = 1;
	}
	return any ? total : -1;
}
