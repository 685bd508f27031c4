/*
 * worker.h — sluiced's process model: one worker thread per core, each
 * with its own event loop, SO_REUSEPORT listening sockets, c-ares channel,
 * pipe pool and event source (its rings into the flow log's sinks).  A flow lives and dies on one worker, so the
 * data path takes no locks.  docs/design/process-model.md has the picture.
 *
 * What workers share is immutable and reference counted: the runtime
 * snapshot (struct sl_rt: configuration, compiled policy, listening
 * ports).  A reload builds a new snapshot and hands it to every worker
 * through its mailbox; flows keep the snapshot they started with.  The
 * appliance's own addresses are the exception: one set, kept current by
 * the main thread (addrwatch.h), that every snapshot refers to.
 */
#ifndef SL_WORKER_H
#define SL_WORKER_H

#include <pthread.h>
#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

#include "../lib/addr.h"
#include "../lib/attr.h"
#include "pipes.h"
#include "sink/sink.h"

struct event;
struct event_base;
struct sl_config;
struct sl_policy;
struct sl_settings;
struct sl_listen;
struct sl_dns;
struct sl_flow;
struct sl_tls_ca;
struct sl_tls_certcache;
struct sl_tls_vcache;
struct sl_tls_minter;
struct ssl_ctx_st;
struct sl_addrs;
struct sl_learn;
struct sl_udp;

/* Runtime snapshot: everything a flow needs to be decided. */
struct sl_rt {
	int			 refs;		/* atomic */
	struct sl_config	*cfg;		/* one reference */
	const struct sl_settings *set;		/* borrowed from cfg */
	struct sl_policy	*pol;		/* borrowed from cfg */
	struct sl_addrs		*addrs;		/* one reference: the
						   appliance's addresses,
						   kept current (addrwatch.h) */
	uint16_t		*lports;	/* our listening ports */
	size_t			 nlports;
	/* TLS inspection: NULL without an appliance CA */
	struct sl_tls_ca	*ca;		/* one reference */
	struct sl_tls_certcache	*certcache;	/* one reference */
	struct ssl_ctx_st	*tls_cli;	/* client-facing (sluice serves) */
	struct ssl_ctx_st	*tls_up;	/* towards origins, verifying */
	struct sl_tls_vcache	*vcache;	/* tls_up's verified chains */
};

/*
 * A snapshot of cfg (a reference is taken) whose own-address guard reads
 * addrs (a reference is taken), the set the main thread keeps current.
 */
struct sl_rt	*sl_rt_new_tracked(struct sl_config *cfg, struct sl_addrs *addrs)
		    SL_NONNULL(1, 2) SL_WUR;
/* The same with the addresses as they are now, never updated (tests). */
struct sl_rt	*sl_rt_new(struct sl_config *cfg) SL_NONNULL(1) SL_WUR;
struct sl_rt	*sl_rt_ref(struct sl_rt *rt) SL_NONNULL(1);
void		 sl_rt_unref(struct sl_rt *rt);
/* Is ip one of the appliance's own addresses now (not: when rt was made)? */
int		 sl_rt_is_local(const struct sl_rt *rt, const struct sl_ip *ip)
		    SL_NONNULL(1, 2);

/* A listening socket of one worker. */
struct sl_wk_listener {
	int			 fd;
	struct event		*ev;
	int			 kind;		/* enum sl_listen_kind */
	int			 udp;		/* its UDP socket (udp.h) */
	struct sl_worker	*wk;		/* borrowed */
	const struct sl_listen	*conf;		/* borrowed from wk->rt, or
						   NULL if a reload removed it */
	struct sockaddr_storage	 addr;
	char			 name[SL_ADDR_STRLEN];
};

enum sl_wk_cmd {
	SL_WK_RUN = 0,
	SL_WK_DRAIN,			/* stop accepting, finish flows */
	SL_WK_STOP,			/* close everything now */
};

struct sl_worker_stats {
	uint64_t	accepted;
	uint64_t	refused;		/* max-connections, allow-from, EMFILE */
};

struct sl_worker {
	unsigned		 id;
	unsigned		 nworkers;
	pthread_t		 thr;
	int			 started;
	int			 done;		/* atomic: loop has ended */
	struct event_base	*base;
	struct sl_rt		*rt;		/* worker's ref to the current */
	struct sl_dns		*dns;
	struct sl_evsrc		*evsrc;		/* owned by the sinks; NULL:
						   no flow log */

	/* mailbox from the main thread */
	int			 notify_fd;	/* eventfd */
	struct event		*notify_ev;
	struct sl_rt		*pending_rt;	/* atomic exchange */
	int			 cmd;		/* atomic: enum sl_wk_cmd */

	struct sl_wk_listener	*lst;
	size_t			 nlst;

	struct sl_flow		*flows;		/* all live flows */
	size_t			 nflows;
	uint64_t		 next_id;
	struct event		*sweep_ev;	/* idle timeouts, drain */
	struct event		*resume_ev;	/* accept again after EMFILE */
	uint64_t		 accept_err_logged; /* mono ms, rate limit */
	uint64_t		 drain_deadline; /* mono ms; 0 = not draining */

	struct sl_pipe_pool	 pipes;
	struct sl_tls_minter	*minter;	/* for rt's CA, or NULL */
	const struct sl_rt	*minter_rt;	/* the rt it mints for */
	struct sl_learn		*learn;		/* borrowed: the daemon's
						   learn-mode table, or NULL */
	struct sl_udp		*udp;		/* UDP sessions, or NULL
						   without a UDP listener */

	struct sl_worker_stats	 st;
};

/*
 * Create a worker: its loop, DNS channel, event source (when sinks is not
 * NULL) and the listening sockets given (fds owned by the worker from now
 * on; kinds[i] is the listener's kind, with SL_LISTEN_UDP_BIT for the UDP
 * socket of a transparent listener).  Not started yet.
 */
struct sl_worker *sl_worker_new(unsigned id, unsigned nworkers,
	    struct sl_rt *rt, struct sl_sinks *sinks, struct sl_pipes *pipes,
	    const int *fds, const int *kinds, size_t nfds) SL_WUR;
int	sl_worker_start(struct sl_worker *wk) SL_NONNULL(1);
/* From the main thread: hand over a new snapshot (takes a reference). */
void	sl_worker_post_rt(struct sl_worker *wk, struct sl_rt *rt)
	    SL_NONNULL(1, 2);
void	sl_worker_post_cmd(struct sl_worker *wk, enum sl_wk_cmd cmd)
	    SL_NONNULL(1);
/* Wait for the thread to end and free it.  NULL-safe. */
void	sl_worker_join_free(struct sl_worker *wk);

/* Queue an event from this worker for every sink (sink.h: never blocks). */
void	sl_worker_event(struct sl_worker *wk, const struct sl_event *ev)
	    SL_NONNULL(1, 2);

#endif /* SL_WORKER_H */
