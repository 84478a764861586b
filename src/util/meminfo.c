/*
 * meminfo.c - what memory the machine has free and what this process has
 * mapped, for --mem-limit (see tp.h).
 */
#include "tp.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tp_parse_scaled(const char *s, uint64_t base, int bytes, uint64_t *out)
{
	char *e;
	unsigned long long v;
	uint64_t mul = 1;
	const char *p;
	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &e, 10);
	if (*e && (p = strchr("KMGT", *e & ~0x20)) != NULL) {
		for (const char *k = "KMGT"; k <= p; k++)
			mul *= base;
		e++;
	}
	if (bytes && mul > 1 && (!strcmp(e, "iB") || !strcmp(e, "B")))
		e += strlen(e);
	else if (bytes && mul == 1 && !strcmp(e, "B"))
		e++;
	if (errno || *e || v == 0 || v > UINT64_MAX / mul)
		return -1;
	*out = (uint64_t)v * mul;
	return 0;
}

int tp_parse_size(const char *s, uint64_t *out)
{
	return tp_parse_scaled(s, 1024, 1, out);
}

/* The first number after `key` in a "key: N kB" file such as /proc/meminfo;
 * in bytes, 0 when absent. */
static uint64_t kb_field(const char *path, const char *key)
{
	char line[256];
	size_t n = strlen(key);
	uint64_t v = 0;
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, key, n) && line[n] == ':') {
			v = strtoull(line + n + 1, NULL, 10) * 1024;
			break;
		}
	fclose(f);
	return v;
}

/* A cgroup v2 file holding one number (or "max": 0). */
static uint64_t cgroup_value(const char *name)
{
	char path[512], line[64];
	uint64_t v = 0;
	FILE *f = fopen("/proc/self/cgroup", "r");
	const char *rel = "";
	char buf[400] = "";
	if (f) {
		/* cgroup v2: one line "0::/path" */
		while (fgets(buf, sizeof buf, f))
			if (!strncmp(buf, "0::", 3)) {
				buf[strcspn(buf, "\n")] = 0;
				rel = buf + 3;
				break;
			}
		fclose(f);
	}
	snprintf(path, sizeof path, "/sys/fs/cgroup%s/%s", rel, name);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fgets(line, sizeof line, f) && isdigit((unsigned char)line[0]))
		v = strtoull(line, NULL, 10);
	fclose(f);
	return v;
}

uint64_t tp_mem_available(void)
{
	uint64_t avail = kb_field("/proc/meminfo", "MemAvailable");
	uint64_t max = cgroup_value("memory.max"), cur = cgroup_value("memory.current");
	if (max && max > cur && (!avail || max - cur < avail))
		avail = max - cur;
	return avail;
}

uint64_t tp_mem_mapped(void)
{
	return kb_field("/proc/self/status", "VmSize");
}
