/*
 * lease.c - lease owner names and dead-holder detection (see lease.h).
 */
#include "lease.h"
#include "util/tp.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

void tp_lease_owner(char *owner, size_t n, char *host, size_t hn)
{
	if (gethostname(host, hn) != 0)
		snprintf(host, hn, "localhost");
	host[hn - 1] = '\0';
	snprintf(owner, n, "%s:%ld:%lld", host, (long)getpid(), (long long)tp_wall_s());
}

/* Boot time, wall seconds (btime in /proc/stat); 0 when unknown. */
static long long boot_time(void)
{
	char line[256];
	long long bt = 0;
	FILE *f = fopen("/proc/stat", "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "btime %lld", &bt) == 1)
			break;
	fclose(f);
	return bt;
}

/* State letter and start time (wall seconds, 0 if unknown) of process pid
 * from /proc/PID/stat; 0 when it cannot be read. */
static char proc_state(long pid, long long *start)
{
	char path[64], buf[1024], *p;
	size_t len;
	unsigned long long ticks = 0;
	FILE *f;
	*start = 0;
	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	if (!(f = fopen(path, "re")))
		return 0;
	len = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[len] = '\0';
	/* "pid (comm) S ppid ...": comm may hold spaces and ')' , so the last ')' */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return 0;
	{
		char st = p[2];
		/* q: the space before field 4 (ppid); field 22 (starttime) is 18 on */
		char *q = p + 3;
		for (int i = 0; i < 18 && q; i++)
			q = strchr(q + 1, ' ');
		if (q && sscanf(q, " %llu", &ticks) == 1) {
			long hz = sysconf(_SC_CLK_TCK);
			long long bt = boot_time();
			if (hz > 0 && bt > 0)
				*start = bt + (long long)(ticks / (unsigned long long)hz);
		}
		return st;
	}
}

int tp_holder_is_dead(const char *holder, const char *host)
{
	char h[256];
	long pid;
	long long named = 0, started = 0;
	char *end;
	const char *c1 = strchr(holder, ':'), *c2;
	char st;
	if (!c1 || (size_t)(c1 - holder) >= sizeof h)
		return 0;
	snprintf(h, sizeof h, "%.*s", (int)(c1 - holder), holder);
	if (strcmp(h, host) != 0)
		return 0;
	pid = strtol(c1 + 1, &end, 10);
	if (pid <= 0 || pid == (long)getpid())
		return 0;
	c2 = strchr(c1 + 1, ':');
	if (c2)
		named = strtoll(c2 + 1, NULL, 10);
	if (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
		return 1;
	st = proc_state(pid, &started);
	if (st == 'Z' || st == 'X')
		return 1;   /* exited; its parent has not reaped it yet */
	/* the pid was reused by a process younger than the holder's name
	 * (2 s of slack: the two clocks are read differently) */
	if (named > 0 && started > 0 && started > named + 2)
		return 1;
	return 0;
}
