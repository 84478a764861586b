/*
 * lease.c - who holds a job: owner names, dead holders, claiming and keeping
 * a lease (see lease.h).
 */
#include "lease.h"

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

tp_status tp_lease_claim(struct store *s, int64_t job_id, const char *owner, const char *host,
			 double lease_s, const char *input, struct store_lease *lease, int *got)
{
	char holder[512] = "";
	int64_t secs = (int64_t)(lease_s + 0.5);
	tp_status rc = store_job_claim(s, job_id, owner, tp_wall_s(), secs, NULL, lease, got,
				       holder, sizeof holder);
	if (rc == TP_OK && !*got && holder[0] && tp_holder_is_dead(holder, host)) {
		char dead[512];
		snprintf(dead, sizeof dead, "%s", holder);
		tp_info("%s: taking over from %s, which is no longer running", input, dead);
		rc = store_job_claim(s, job_id, owner, tp_wall_s(), secs, dead, lease, got, holder,
				     sizeof holder);
	}
	if (rc == TP_OK && !*got && holder[0])
		tp_info("%s: being processed by %s; leaving it", input, holder);
	return rc;
}

void tp_lease_keeper_init(struct tp_lease_keeper *k, struct store *s,
			  const struct store_lease *l, double lease_s, struct tp_timings *t)
{
	*k = (struct tp_lease_keeper){ s, l, lease_s, tp_now_ms(), t };
}

tp_status tp_lease_keep(struct tp_lease_keeper *k)
{
	tp_status rc = TP_OK;
	if (!k->store || tp_now_ms() - k->last_renew <= k->lease_s * 1e3 / 3)
		return TP_OK;
	TP_TIMED(k->t, TP_STAGE_STORE)
		rc = store_job_renew(k->store, k->lease, tp_wall_s(), (int64_t)(k->lease_s + 0.5));
	k->last_renew = tp_now_ms();
	return rc;
}

int tp_lease_lost(struct tp_lease_keeper *k)
{
	return k->store && store_job_renew(k->store, k->lease, tp_wall_s(),
					   (int64_t)(k->lease_s + 0.5)) == TP_ELEASE;
}
