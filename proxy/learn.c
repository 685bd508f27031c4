/*
 * learn.c — learn mode in the daemon: the worker-side hook on
 * client_rejected_mitm, and the main thread's keeping of the list file.
 *
 * Workers record into one shared table (policy/learn.c: a mutex held for
 * memory only).  Only the main thread touches the file: every
 * learn-save-interval when the table changed, at SIGHUP and at exit.
 * Each save first reads the file back and reconciles (sl_learn_sync):
 * sluicectl edits the same file offline, and an entry it accepted or
 * forgot must not come back from the daemon's memory.  Both sides hold
 * an flock on "<file>.lock" across their read-modify-write.
 */
#include <errno.h>
#include <event2/event.h>
#include <limits.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../lib/alloc.h"
#include "../lib/log.h"
#include "../policy/config.h"
#include "../policy/learn.h"
#include "flow.h"
#include "learn.h"
#include "req.h"
#include "worker.h"

struct sl_learnd {
	struct sl_learn	*lt;
	char		 path[PATH_MAX];	/* "" = no usable path */
	unsigned	 interval;		/* ms */
	int		 unreadable;		/* the file could not be read:
						   never overwrite it */
	int		 loaded;		/* read once: the table holds
						   the file's entries */
	uint64_t	 refused_said;		/* stats already logged */
	struct event	*timer;
};

static void
learnd_settings(struct sl_learnd *ld, const struct sl_settings *set)
{
	if (sl_learn_path(set->state_dir, set->learn_file, ld->path,
	    sizeof(ld->path)) == -1) {
		sl_log(SL_LOG_ERR, "learn: learn-file path too long: the "
		    "learned list is kept in memory only");
		ld->path[0] = '\0';
	}
	ld->interval = set->learn_save_interval;
}

/* Read the file into the table (reconciling); 0 or -1 (said). */
static int
learnd_read(struct sl_learnd *ld)
{
	struct sl_learn_entry *v;
	size_t n, skipped;
	char err[256];

	if (sl_learn_read(ld->path, &v, &n, &skipped, err,
	    sizeof(err)) == -1) {
		if (!ld->unreadable)
			sl_log(SL_LOG_ERR, "learn: %s: %s: not written until "
			    "it can be read (fix or remove it)", ld->path, err);
		ld->unreadable = 1;
		return -1;
	}
	ld->unreadable = 0;
	if (skipped > 0)
		sl_log(SL_LOG_WARN, "learn: %s: %zu invalid entr%s dropped",
		    ld->path, skipped, skipped == 1 ? "y" : "ies");
	/* Entries only the file holds are added on the first good read
	 * alone: after that they are ones the table evicted. */
	if (sl_learn_sync(ld->lt, v, n, !ld->loaded) == -1)
		sl_log(SL_LOG_WARN, "learn: out of memory reading %s",
		    ld->path);
	ld->loaded = 1;
	sl_free(v);
	return 0;
}

/* Reconcile with the file and write it.  force: even if unchanged. */
static void
learnd_save(struct sl_learnd *ld, int force)
{
	struct sl_learn_entry *v = NULL;
	uint64_t gen;
	size_t n;
	char err[PATH_MAX + 64];
	int lk;

	if (ld->path[0] == '\0' || (!force && !sl_learn_dirty(ld->lt)))
		return;
	if ((lk = sl_learn_lock(ld->path, err, sizeof(err))) == -1) {
		sl_log(SL_LOG_WARN, "learn: %s", err);
		return;
	}
	if (learnd_read(ld) == 0 &&
	    sl_learn_snapshot(ld->lt, &v, &n, &gen) == 0) {
		if (sl_learn_write(ld->path, v, n) == -1)
			sl_log(SL_LOG_WARN, "learn: cannot write %s: %s",
			    ld->path, strerror(errno));
		else
			sl_learn_saved(ld->lt, gen);
		sl_free(v);
	}
	close(lk);
}

/* A refusal changes nothing to save: said from the timer. */
static void
learnd_say_refused(struct sl_learnd *ld)
{
	struct sl_learn_stats st;

	sl_learn_stats(ld->lt, &st);
	if (st.refused > ld->refused_said) {
		sl_log(SL_LOG_WARN, "learn: table full (learn-max, %zu "
		    "proposals): %llu new destination(s) not recorded; review "
		    "with `sluicectl learn list`", st.n,
		    (unsigned long long)(st.refused - ld->refused_said));
		ld->refused_said = st.refused;
	}
}

static void
learnd_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sl_learnd *ld = arg;
	struct timeval tv;

	(void)fd;
	(void)what;
	learnd_save(ld, 0);
	learnd_say_refused(ld);
	tv.tv_sec = ld->interval / 1000;
	tv.tv_usec = (ld->interval % 1000) * 1000;
	evtimer_add(ld->timer, &tv);
}

struct sl_learnd *
sl_learnd_new(const struct sl_settings *set)
{
	struct sl_learnd *ld = sl_calloc(1, sizeof(*ld));

	if (ld == NULL || (ld->lt = sl_learn_new()) == NULL) {
		sl_free(ld);
		return NULL;
	}
	learnd_settings(ld, set);
	if (ld->path[0] != '\0')
		(void)learnd_read(ld);
	return ld;
}

int
sl_learnd_start(struct sl_learnd *ld, struct event_base *base)
{
	if ((ld->timer = evtimer_new(base, learnd_timer_cb, ld)) == NULL)
		return -1;
	learnd_timer_cb(-1, 0, ld);
	return 0;
}

void
sl_learnd_reload(struct sl_learnd *ld, const struct sl_settings *set)
{
	learnd_settings(ld, set);
	learnd_save(ld, 1);
}

void
sl_learnd_free(struct sl_learnd *ld)
{
	if (ld == NULL)
		return;
	learnd_save(ld, 0);
	if (ld->timer != NULL)
		event_free(ld->timer);
	sl_learn_free(ld->lt);
	sl_free(ld);
}

struct sl_learn *
sl_learnd_table(struct sl_learnd *ld)
{
	return ld->lt;
}

/* ------------------------------------------------------------------ */
/* worker side                                                          */

/* The guard rails that need the flow and the policy; 1 if it may learn. */
static int
learn_allowed(const struct sl_flow *flow, const char *name)
{
	const struct sl_rt *rt = flow->wk->rt;	/* the current policy */
	struct sl_learn_place pl;

	/* Only what policy itself sent to inspection: a guard rail's or a
	 * fallback's decision is not the admin's to splice. */
	if (flow->req == NULL || !flow->req->decided ||
	    flow->req->dec.action != SL_ACT_INSPECT ||
	    (flow->req->dec.flags & SL_DEC_GUARD))
		return 0;
	sl_learn_place(rt->pol, name, &pl);
	if (pl.deny != NULL) {
		sl_debug(SL_CAT_POLICY, "learn: '%s' not recorded: rule "
		    "'%s' denies it", name, pl.deny);
		return 0;
	}
	return 1;
}

void
sl_learn_flow_rejected(struct sl_flow *flow, const char *name)
{
	const struct sl_settings *set = flow->wk->rt->set;
	struct sl_learn_limits lim;
	char norm[256], ip[SL_IP_STRLEN];
	const struct sl_ip *dst;

	if (flow->wk->learn == NULL || !set->learn_pinned)
		return;
	if (name == NULL) {
		dst = flow->req != NULL && flow->req->dst_ip.af != 0 ?
		    &flow->req->dst_ip : &flow->dst_ip;
		if (dst->af == 0 || sl_ip_fmt(dst, ip, sizeof(ip)) == NULL)
			return;
		name = ip;
	}
	if (sl_learn_name(name, norm) == -1 || !learn_allowed(flow, norm))
		return;
	lim.min_clients = set->learn_min_clients;
	lim.max = set->learn_max;
	if (sl_learn_record(flow->wk->learn, norm, &flow->cli_ip,
	    flow->req->detail, (int64_t)time(NULL), &lim) == SL_LEARN_PROPOSED)
		sl_log(SL_LOG_INFO, "learn: '%s' proposed for a splice rule: "
		    "%u distinct clients refused the minted certificate (last "
		    "alert: %s); review with `sluicectl learn list`", norm,
		    lim.min_clients, flow->req->detail != NULL ?
		    flow->req->detail : "-");
}
