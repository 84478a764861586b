/*
 * lease.h - who holds a job, in one place: owner names, telling a dead
 * holder from a live one, claiming (taking over at once from a dead holder
 * on this host), keeping a lease alive during the work, and telling a lost
 * one. The lease itself (owner, generation, expiry) lives in the store,
 * which fences every write by it.
 */
#ifndef LEASE_H
#define LEASE_H

#include "timing.h"
#include "../store/store.h"

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

/*
 * Claim job `job_id` for `owner` for lease_s seconds. *got = 0 (TP_OK) when a
 * live process holds it (said in an info line naming `input`); a holder on
 * this host that is gone is taken over at once. Store errors as the store
 * gives them.
 */
TP_MUST_USE tp_status tp_lease_claim(struct store *s, int64_t job_id, const char *owner,
				     const char *host, double lease_s, const char *input,
				     struct store_lease *lease, int *got);

/* Keeps a held lease alive: renewed every third of its length. */
struct tp_lease_keeper {
	struct store *store;              /* NULL: no store, nothing to keep */
	const struct store_lease *lease;
	double lease_s;
	double last_renew;                /* tp_now_ms() */
	struct tp_timings *t;             /* renewals are store time */
};
void tp_lease_keeper_init(struct tp_lease_keeper *k, struct store *s,
			  const struct store_lease *l, double lease_s, struct tp_timings *t);
/* Renew when a third of the lease has passed. TP_ELEASE once it is lost. */
TP_MUST_USE tp_status tp_lease_keep(struct tp_lease_keeper *k);
/* After a failure: 1 when the lease turns out lost (renewing it now says
 * so), which then is the failure to report. */
int tp_lease_lost(struct tp_lease_keeper *k);

#endif
