/*
 * lease.h - who holds a job: owner names and telling a dead holder from a
 * live one. The lease itself (owner, generation, expiry) lives in the store.
 */
#ifndef LEASE_H
#define LEASE_H

#include <stddef.h>

#define TP_LEASE_DEFAULT_S 600.0   /* --lease default: 10 minutes */

/* Our owner name, "host:pid:start" (start: wall seconds at the call), and
 * this host's name into host. */
void tp_lease_owner(char *owner, size_t n, char *host, size_t hn);
/*
 * 1 when `holder` ("host:pid:start") is a process on this host that is gone:
 * no such pid, a zombie, or a pid now used by a process that started after
 * the holder named itself. Holders on other hosts are never judged dead
 * (their lease expires instead).
 */
int tp_holder_is_dead(const char *holder, const char *host);

#endif
