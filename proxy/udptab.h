/*
 * udptab.h — a worker's UDP session table: sessions keyed by their
 * 5-tuple (the protocol is always UDP: client address and port, original
 * destination address and port), bounded in total and per client, kept
 * in order of last activity so that expiry looks only at what expires.
 *
 * Pure: no sockets, no libevent, no clock of its own (the caller passes
 * "now").  The entry is intrusive: the caller embeds struct sl_udptab_ent
 * in its session and owns the memory; the table only links it.
 * docs/design/udp.md.
 */
#ifndef SL_UDPTAB_H
#define SL_UDPTAB_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/addr.h"
#include "../lib/attr.h"

struct sl_udp_key {
	struct sl_ip	 cli;
	struct sl_ip	 dst;
	uint16_t	 cport;
	uint16_t	 dport;
};

struct sl_udptab_ent {
	struct sl_udp_key	 key;
	uint64_t		 last;		/* mono ms of the last datagram */
	struct sl_udptab_ent	*hnext;		/* hash chain */
	struct sl_udptab_ent	*older, *newer;	/* activity order */
	struct udptab_client	*client;	/* its client's count */
};

struct udptab_client;

struct sl_udptab {
	struct sl_udptab_ent	**bucket;
	size_t			 nbucket;	/* a power of two */
	struct udptab_client	**cbucket;	/* per-client counts */
	size_t			 n;		/* entries linked */
	uint64_t		 seed;
	struct sl_udptab_ent	*oldest, *newest;
};

enum sl_udptab_rc {
	SL_UDPTAB_OK = 0,
	SL_UDPTAB_FULL,		/* max entries in total */
	SL_UDPTAB_CLIENT_FULL,	/* max entries for this client address */
	SL_UDPTAB_NOMEM,
};

/*
 * Ready t for about `expect` entries (buckets; the limits are given per
 * add, so a reload may change them).  seed randomises the hash (clients
 * choose their ports: chains must not be theirs to choose).  0 or -1
 * (out of memory).
 */
int	sl_udptab_init(struct sl_udptab *t, size_t expect, uint64_t seed)
	    SL_NONNULL(1) SL_WUR;
/* Free the buckets; the entries are the caller's (unlink them first). */
void	sl_udptab_fini(struct sl_udptab *t) SL_NONNULL(1);

/* The entry with this key, or NULL. */
struct sl_udptab_ent *sl_udptab_find(const struct sl_udptab *t,
	    const struct sl_udp_key *key) SL_NONNULL(1, 2);

/*
 * Link e (e->key set, not in the table) as the newest entry, at now,
 * unless the table holds max entries, or max_client entries of e's
 * client address.  e is untouched unless OK.
 */
enum sl_udptab_rc sl_udptab_add(struct sl_udptab *t, struct sl_udptab_ent *e,
	    uint64_t now, size_t max, size_t max_client) SL_NONNULL(1, 2);

/* Unlink e (it must be in t). */
void	sl_udptab_del(struct sl_udptab *t, struct sl_udptab_ent *e)
	    SL_NONNULL(1, 2);

/* A datagram at now: e becomes the newest. */
void	sl_udptab_touch(struct sl_udptab *t, struct sl_udptab_ent *e,
	    uint64_t now) SL_NONNULL(1, 2);

/*
 * The least recently active entry if it has been idle for idle_ms at now,
 * else NULL.  Still linked: the caller ends it and sl_udptab_del()s it,
 * then asks again.
 */
struct sl_udptab_ent *sl_udptab_expired(const struct sl_udptab *t,
	    uint64_t now, uint64_t idle_ms) SL_NONNULL(1);

/* Entries of the client address ip. */
size_t	sl_udptab_client_count(const struct sl_udptab *t,
	    const struct sl_ip *ip) SL_NONNULL(1, 2);

#endif /* SL_UDPTAB_H */
