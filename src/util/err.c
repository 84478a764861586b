/*
 * err.c - status names, the thread-local error message and the assert hook.
 */
#include "tp.h"

#include <stdarg.h>
#include <string.h>

static _Thread_local char tp_msg[1024];

const char *tp_status_name(tp_status s)
{
	static const char *const names[] = {
		[TP_OK] = "OK", [TP_ENOMEM] = "ENOMEM", [TP_EIO] = "EIO",
		[TP_EFORMAT] = "EFORMAT", [TP_EUSAGE] = "EUSAGE",
		[TP_EMODEL] = "EMODEL", [TP_EBUSY] = "EBUSY",
		[TP_ECANCELED] = "ECANCELED", [TP_ENOENT] = "ENOENT",
		[TP_ECREATE] = "ECREATE", [TP_ELEASE] = "ELEASE",
		[TP_EINTERNAL] = "EINTERNAL",
	};
	if ((unsigned)s < sizeof names / sizeof names[0] && names[s])
		return names[s];
	return "EUNKNOWN";
}

tp_status tp_err(tp_status code, const char *fmt, ...)
{
	/* formatted aside first: an argument may be tp_errmsg() itself */
	char msg[sizeof tp_msg];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	memcpy(tp_msg, msg, sizeof tp_msg);
	return code;
}

void tp_err_prefix(const char *fmt, ...)
{
	char pre[512], old[sizeof tp_msg];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof pre, fmt, ap);
	va_end(ap);
	size_t n;
	memcpy(old, tp_msg, sizeof old);
	n = strlen(pre);
	if (n > sizeof tp_msg - 3)
		n = sizeof tp_msg - 3;
	memcpy(tp_msg, pre, n);
	memcpy(tp_msg + n, ": ", 2);
	memcpy(tp_msg + n + 2, old, sizeof tp_msg - n - 3);
	tp_msg[sizeof tp_msg - 1] = '\0';
}

const char *tp_errmsg(void)
{
	return tp_msg;
}

void tp_err_clear(void)
{
	tp_msg[0] = '\0';
}

void tp_assert_fail(const char *expr, const char *file, int line)
{
	tp_log_status(NULL);   /* not after half a progress bar */
	fprintf(stderr, "tilepaint: internal error: assertion '%s' failed at %s:%d\n",
		expr, file, line);
	abort();
}
