/*
 * learn.h — learn mode: destinations whose clients refuse the minted
 * certificate (pinning, no appliance CA), proposed to the admin as splice
 * rules once enough distinct clients did.  docs/design/learn.md.
 *
 * Three parts, one header (the daemon records, sluicectl reviews):
 *   the table   bounded, thread-safe (one mutex, never held across I/O);
 *   the file    learned.json in state-dir: load, dump, atomic write;
 *   the guard   what the policy says about a name: a deny rule that names
 *               it (then it is never learned), and where a splice rule
 *               for it must go so that no deny rule is jumped.
 * No libevent, no sockets.
 */
#ifndef SL_LEARN_H
#define SL_LEARN_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "../lib/addr.h"
#include "../lib/attr.h"
#include "policy.h"

/*
 * Distinct client addresses kept per destination, verbatim.  learn-min-
 * clients is at most SL_LEARN_MIN_CLIENTS_MAX, so the set always holds 4x
 * the threshold: the admin sees which machines failed, and a later
 * increase of the threshold (up to the maximum) still has the evidence.
 */
#define SL_LEARN_MIN_CLIENTS_MAX	16
#define SL_LEARN_CLIENTS_MAX		(4 * SL_LEARN_MIN_CLIENTS_MAX)
#define SL_LEARN_ALERT_MAX		64	/* bytes with the NUL */

/* One destination, as copied out of the table or read from the file. */
struct sl_learn_entry {
	char		 name[256];	/* host name, lowercase; or an IP */
	uint64_t	 count;		/* rejections seen */
	int64_t		 first, last;	/* unix seconds */
	char		 alert[SL_LEARN_ALERT_MAX]; /* the last one */
	unsigned	 nclients;
	struct sl_ip	 clients[SL_LEARN_CLIENTS_MAX];
};

struct sl_learn_limits {
	unsigned	 min_clients;	/* proposed from this many clients */
	unsigned	 max;		/* destinations kept */
};

enum sl_learn_rc {
	SL_LEARN_RECORDED = 0,		/* counted */
	SL_LEARN_PROPOSED,		/* counted, and proposed just now */
	SL_LEARN_FULL,			/* new name refused: only proposals */
	SL_LEARN_BADNAME,		/* not a host name nor an address */
	SL_LEARN_NOMEM,
};

struct sl_learn_stats {
	size_t		 n;		/* destinations in the table */
	uint64_t	 evicted;	/* unproposed entries dropped for new */
	uint64_t	 refused;	/* new names refused (SL_LEARN_FULL) */
};

struct sl_learn;

struct sl_learn *sl_learn_new(void) SL_WUR;
void	sl_learn_free(struct sl_learn *lt);

/*
 * Count one rejection of name by client cli at time now.  A new name in
 * a full table evicts the unproposed entry seen least recently; when
 * every entry is a proposal the new name is refused and counted (a burst
 * of junk names never pushes out what many clients agreed on).  alert is
 * copied (printable ASCII only).  Thread-safe.
 */
enum sl_learn_rc sl_learn_record(struct sl_learn *lt, const char *name,
	    const struct sl_ip *cli, const char *alert, int64_t now,
	    const struct sl_learn_limits *lim) SL_NONNULL(1, 2, 3, 6);

/*
 * Copy every entry out, sorted by name (allocated array, caller frees;
 * NULL with *n == 0 for an empty table).  *gen (if not NULL) gets the
 * table's generation: pass it to sl_learn_saved() once the copy is on
 * disk.  Returns 0 or -1 (out of memory).
 */
int	sl_learn_snapshot(struct sl_learn *lt, struct sl_learn_entry **out,
	    size_t *n, uint64_t *gen) SL_NONNULL(1, 2, 3);

/*
 * Reconcile with the file's entries (v, n): an entry the table had
 * already written or read (synced) but the file no longer holds was
 * accepted or forgotten by the admin and goes; an entry in both keeps
 * the table's counts (newer) and adds the file's clients; entries
 * recorded since the last save stay.  An entry only the file holds is
 * added when add is set (the first read): later it is one this table
 * evicted since it wrote the file (sluicectl only ever removes).
 */
int	sl_learn_sync(struct sl_learn *lt, const struct sl_learn_entry *v,
	    size_t n, int add) SL_NONNULL(1);
/* Everything up to generation gen is on disk now. */
void	sl_learn_saved(struct sl_learn *lt, uint64_t gen) SL_NONNULL(1);
/* Changed since the last sl_learn_saved()? */
int	sl_learn_dirty(struct sl_learn *lt) SL_NONNULL(1);
void	sl_learn_stats(struct sl_learn *lt, struct sl_learn_stats *st)
	    SL_NONNULL(1, 2);
/* Remove one name (0) or report it absent (-1). */
int	sl_learn_forget(struct sl_learn *lt, const char *name)
	    SL_NONNULL(1, 2);

/* Index of name in v[0..n), or -1. */
long	sl_learn_find(const struct sl_learn_entry *v, size_t n,
	    const char *name) SL_NONNULL(3);
/* Is the entry past the distinct-clients threshold? */
int	sl_learn_proposed(const struct sl_learn_entry *e, unsigned min_clients)
	    SL_NONNULL(1);
/*
 * Normalise a destination for the table: a host name (sl_name_normalise)
 * or an IP literal in canonical form.  out has 256 bytes.  0 or -1.
 */
int	sl_learn_name(const char *in, char *out) SL_NONNULL(1, 2);

/* ---------------------------------------------------------------------
 * The file (policy/learn_file.c): JSON, {"version":1,"entries":[...]}.
 */

/* The entries as JSON text (allocated, caller frees), or NULL. */
char	*sl_learn_dump(const struct sl_learn_entry *v, size_t n);
/*
 * Parse a file's text.  Entries that are not valid (a name that is not a
 * host or an address, wrong types) are skipped and counted in *skipped.
 * *out is allocated (caller frees).  0, or -1 with err filled (not JSON,
 * not this format).
 */
int	sl_learn_parse(const char *buf, size_t len, struct sl_learn_entry **out,
	    size_t *n, size_t *skipped, char *err, size_t errcap)
	    SL_NONNULL(1, 3, 4, 5, 6);
/* Read path: a missing file is an empty list.  0 or -1 (err filled). */
int	sl_learn_read(const char *path, struct sl_learn_entry **out,
	    size_t *n, size_t *skipped, char *err, size_t errcap)
	    SL_NONNULL(1, 2, 3, 4, 5);
/*
 * Write path atomically: a temporary file beside it (mode 0640), fsync,
 * rename, fsync of the directory.  0 or -1 (errno).
 */
int	sl_learn_write(const char *path, const struct sl_learn_entry *v,
	    size_t n) SL_NONNULL(1);
/*
 * Take the list's exclusive lock ("<path>.lock", flock, waiting): held
 * by sluiced and sluicectl across a read-modify-write of the list.  The
 * fd to close, or -1 with err filled.
 */
int	sl_learn_lock(const char *path, char *err, size_t errcap)
	    SL_NONNULL(1, 2);
/* state_dir + "/" + file (file absolute: itself) into out.  0 or -1. */
int	sl_learn_path(const char *state_dir, const char *file, char *out,
	    size_t cap) SL_NONNULL(1, 2, 3);

/* ---------------------------------------------------------------------
 * The guard (policy/learn_guard.c).
 */
struct sl_learn_place {
	const char	*deny;		/* a deny rule naming the destination
					   (domain, url host, ip): never
					   learned, never accepted; or NULL */
	const char	*anchor;	/* a splice rule goes before this
					   rule; NULL: after the last rule */
	const char	*conflict;	/* an inspect rule that applies to it
					   before a deny rule that may: no
					   safe place; or NULL */
	const char	*conflict_deny;	/* that deny rule */
};

/*
 * What pol says about a splice rule for destination name (normalised by
 * sl_learn_name).  A rule "may apply" unless a matcher on the name (or,
 * for an address, on the ip) rules it out: port, client, user, GeoIP are
 * taken as possibly matching.  The learned rule goes after every deny rule
 * that may apply and before the first inspect rule that may, so it takes
 * a flow from inspection and never from a deny.  Strings are borrowed
 * from pol.
 */
void	sl_learn_place(const struct sl_policy *pol, const char *name,
	    struct sl_learn_place *out) SL_NONNULL(1, 2, 3);

#endif /* SL_LEARN_H */
