/*
 * learn.h — learn mode in the daemon (docs/design/learn.md): workers
 * record the destinations whose clients refuse the minted certificate;
 * the main thread keeps the list file (state-dir/learned.json) in step.
 * The table itself and its file format are policy/learn.h.
 */
#ifndef SL_PROXY_LEARN_H
#define SL_PROXY_LEARN_H

#include "../lib/attr.h"

struct event_base;
struct sl_flow;
struct sl_learn;
struct sl_settings;
struct sl_learnd;

/*
 * The daemon's learn mode: an empty table filled from the list file of
 * set (a file that cannot be read is said and left alone: it is not
 * overwritten until it can be).  NULL only when out of memory.
 */
struct sl_learnd *sl_learnd_new(const struct sl_settings *set) SL_WUR;
/* Save every learn-save-interval from base (the main thread's). 0/-1. */
int	sl_learnd_start(struct sl_learnd *ld, struct event_base *base)
	    SL_NONNULL(1, 2);
/*
 * SIGHUP: take the new settings (copied: the file's path, the interval),
 * read the file again (the admin's accept/forget take effect) and save.
 */
void	sl_learnd_reload(struct sl_learnd *ld, const struct sl_settings *set)
	    SL_NONNULL(1, 2);
/* Save once more and free.  NULL-safe. */
void	sl_learnd_free(struct sl_learnd *ld);
/* The table workers record into (borrowed, lives as long as ld). */
struct sl_learn *sl_learnd_table(struct sl_learnd *ld) SL_NONNULL(1);

/*
 * Worker side, from insp_client_failed(): the client of flow refused the
 * certificate minted for name (NULL: the destination address is the
 * name).  Records it if learn-pinned is on and the guard rails allow it
 * (decided inspect by policy, no deny rule names it in the worker's
 * current policy), and says so in the daemon log the first time the
 * destination is proposed.
 */
void	sl_learn_flow_rejected(struct sl_flow *flow, const char *name)
	    SL_NONNULL(1);

#endif /* SL_PROXY_LEARN_H */
