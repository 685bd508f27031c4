/*
 * worker.c — a worker thread: its loop, its listening sockets, its flows.
 *
 * Why SO_REUSEPORT sockets per worker rather than one accept loop handing
 * out fds: the kernel spreads new connections across the workers' sockets
 * with no cross-thread handoff, so a flow is born, lives and dies on one
 * thread and the data path needs no lock or queue.  The price (a listener
 * closed while draining drops its backlog) only matters at shutdown, when
 * every worker closes its listeners anyway.  docs/design/process-model.md.
 */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../lib/alloc.h"
#include "../lib/clock.h"
#include "../lib/log.h"
#include "../policy/config.h"
#include "../tls/tls.h"
#include "dns.h"
#include "explicit.h"
#include "flow.h"
#include "setup.h"
#include "listen.h"
#include "transparent.h"
#include "udp.h"
#include "worker.h"

#define WK_ACCEPT_BURST	64	/* accepts per readiness event */
#define WK_SWEEP_MS	1000
#define WK_DRAIN_MS	100
#define WK_ACCEPT_PAUSE_MS 100	/* after EMFILE/ENFILE */
#define WK_EVRING_BYTES	(1 << 20) /* per sink: thousands of events */

/* ------------------------------------------------------------------ */
/* accepting                                                            */

/* Find this socket's listener in the current configuration. */
static void
wk_listen_bind_conf(struct sl_wk_listener *l)
{
	const struct sl_listen *ls;
	struct sl_ip a, b;
	uint16_t pa, pb;
	size_t n;

	l->conf = NULL;
	sl_ip_from_sa(&b, &pb, (const struct sockaddr *)&l->addr);
	ls = sl_config_listeners(l->wk->rt->cfg, &n);
	for (size_t i = 0; i < n; i++) {
		if ((int)ls[i].kind != l->kind)
			continue;
		sl_ip_from_sa(&a, &pa, (const struct sockaddr *)&ls[i].addr);
		if (pa == pb && sl_ip_equal(&a, &b)) {
			l->conf = &ls[i];
			return;
		}
	}
}

/* Refuse a connection we cannot or may not serve. */
static void
wk_refuse(struct sl_flow *flow, const char *reason)
{
	int blocked = strcmp(reason, "client_not_allowed") == 0;

	if (flow->mode == SL_MODE_EXPLICIT) {
		/* An HTTP client deserves an answer it can show. */
		if (flow_setup_new(flow) == -1) {
			sl_flow_close(flow, 'R', "oom");
			return;
		}
		flow_http_refuse(flow, blocked ? 403 : 503, reason, blocked);
		return;
	}
	if (!blocked)
		flow->term[0] = 'R';	/* no room, or no listener any more */
	flow_tcp_refuse(flow, reason, blocked, 1);
}

static void
wk_accept_one(struct sl_wk_listener *l, int fd, struct sockaddr_storage *ss)
{
	struct sl_worker *wk = l->wk;
	const struct sl_listen *conf;
	enum sl_flow_mode mode = l->kind == SL_LISTEN_EXPLICIT ?
	    SL_MODE_EXPLICIT : SL_MODE_TRANSPARENT;
	struct sl_flow *flow;
	struct sl_ip cli;

	wk->st.accepted++;
	if ((flow = sl_flow_new(wk, fd, (struct sockaddr *)ss, mode)) == NULL) {
		sl_log(SL_LOG_ERR, "worker %u: out of memory accepting",
		    wk->id);
		return;
	}
	if (wk->nflows > wk->rt->set->max_connections) {
		wk->st.refused++;
		wk_refuse(flow, "max_connections");
		return;
	}
	if ((conf = l->conf) == NULL) {
		wk->st.refused++;
		wk_refuse(flow, "listener_removed");
		return;
	}
	sl_ip_from_sa(&cli, NULL, (struct sockaddr *)ss);
	if (!sl_cidrset_has(conf->allow_from, &cli)) {
		wk->st.refused++;
		wk_refuse(flow, "client_not_allowed");
		return;
	}
	if (mode == SL_MODE_EXPLICIT)
		sl_explicit_start(flow);
	else
		sl_transparent_start(flow, l->kind);
}

static void
wk_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sl_worker *wk = arg;

	(void)fd;
	(void)what;
	for (size_t i = 0; i < wk->nlst; i++)
		if (wk->lst[i].ev != NULL && wk->drain_deadline == 0)
			event_add(wk->lst[i].ev, NULL);
}

/*
 * Out of descriptors (EMFILE/ENFILE) or memory: the connection stays in
 * the kernel's backlog and the listener stays readable, so accepting again
 * at once would spin.  Stop accepting on this worker for a moment, and say
 * so at most once a second.
 */
static void
wk_accept_pause(struct sl_worker *wk, struct sl_wk_listener *l, int err)
{
	struct timeval tv = { 0, WK_ACCEPT_PAUSE_MS * 1000 };
	uint64_t now = sl_mono_ms();

	wk->st.refused++;
	if (now - wk->accept_err_logged >= 1000) {
		wk->accept_err_logged = now;
		sl_log(SL_LOG_ERR, "worker %u: accept on %s: %s: pausing "
		    "accepts for %dms (%zu flows open)", wk->id, l->name,
		    strerror(err), WK_ACCEPT_PAUSE_MS, wk->nflows);
	}
	for (size_t i = 0; i < wk->nlst; i++)
		if (wk->lst[i].ev != NULL)
			event_del(wk->lst[i].ev);
	evtimer_add(wk->resume_ev, &tv);
}

static void
wk_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct sl_wk_listener *l = arg;

	(void)what;
	for (int i = 0; i < WK_ACCEPT_BURST; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int fd = accept4((int)lfd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd == -1) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			if (errno == ECONNABORTED)
				continue;
			wk_accept_pause(l->wk, l, errno);
			return;
		}
		wk_accept_one(l, fd, &ss);
	}
}

/* ------------------------------------------------------------------ */
/* runtime snapshot                                                     */

static void
wk_close_listeners(struct sl_worker *wk)
{
	for (size_t i = 0; i < wk->nlst; i++) {
		if (wk->lst[i].ev != NULL) {
			event_free(wk->lst[i].ev);
			wk->lst[i].ev = NULL;
		}
		if (wk->lst[i].fd != -1) {
			close(wk->lst[i].fd);
			wk->lst[i].fd = -1;
		}
	}
}

/* The worker's minter signs with its snapshot's CA (a leaf key each). */
static void
wk_minter(struct sl_worker *wk)
{
	sl_tls_minter_free(wk->minter);
	wk->minter = wk->rt->certcache != NULL ?
	    sl_tls_minter_new(wk->rt->certcache) : NULL;
	wk->minter_rt = wk->rt;
}

static void
wk_adopt_rt(struct sl_worker *wk, struct sl_rt *rt)
{
	size_t nres;
	const struct sl_resolver *res = sl_config_resolvers(rt->cfg, &nres);

	sl_rt_unref(wk->rt);
	wk->rt = rt;		/* the mailbox's reference becomes ours */
	for (size_t i = 0; i < wk->nlst; i++)
		wk_listen_bind_conf(&wk->lst[i]);
	/* New pipes get the new size; pooled ones keep theirs. */
	wk->pipes.size = rt->set->pipe_size;
	wk_minter(wk);
	if (wk->dns != NULL && sl_dns_reconfigure(wk->dns, rt->set, res,
	    nres) == -1)
		sl_log(SL_LOG_ERR, "worker %u: keeping the old resolvers",
		    wk->id);
	sl_debug(SL_CAT_POLICY, "worker %u: new configuration in force",
	    wk->id);
}

static void
wk_notify_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sl_worker *wk = arg;
	struct sl_rt *rt;
	uint64_t v;
	int cmd;

	(void)what;
	if (read((int)fd, &v, sizeof(v)) == -1 && errno != EAGAIN)
		sl_log(SL_LOG_ERR, "worker %u: mailbox: %s", wk->id,
		    strerror(errno));
	rt = __atomic_exchange_n(&wk->pending_rt, NULL, __ATOMIC_ACQ_REL);
	if (rt != NULL)
		wk_adopt_rt(wk, rt);
	cmd = __atomic_load_n(&wk->cmd, __ATOMIC_ACQUIRE);
	if (cmd == SL_WK_DRAIN && wk->drain_deadline == 0) {
		wk_close_listeners(wk);
		wk->drain_deadline = sl_mono_ms() + wk->rt->set->drain_timeout;
		sl_log(SL_LOG_INFO, "worker %u: draining %zu flow(s), up to "
		    "%ums", wk->id, wk->nflows, wk->rt->set->drain_timeout);
	} else if (cmd == SL_WK_STOP) {
		wk_close_listeners(wk);
		sl_flow_close_all(wk, 'A', "shutdown");
		event_base_loopbreak(wk->base);
	}
}

static void
wk_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sl_worker *wk = arg;
	uint64_t now = sl_mono_ms();
	struct timeval tv = { 0, WK_DRAIN_MS * 1000 };

	(void)fd;
	(void)what;
	sl_flow_sweep(wk, now);
	if (wk->udp != NULL)
		sl_udp_sweep(wk->udp, now);
	if (wk->drain_deadline != 0) {
		if (wk->nflows == 0) {
			event_base_loopbreak(wk->base);
			return;
		}
		if (now >= wk->drain_deadline) {
			sl_log(SL_LOG_WARN, "worker %u: drain deadline passed, "
			    "closing %zu flow(s)", wk->id, wk->nflows);
			sl_flow_close_all(wk, 'A', "shutdown");
			event_base_loopbreak(wk->base);
			return;
		}
		evtimer_add(wk->sweep_ev, &tv);
		return;
	}
	tv.tv_sec = WK_SWEEP_MS / 1000;
	tv.tv_usec = 0;
	evtimer_add(wk->sweep_ev, &tv);
}

/* ------------------------------------------------------------------ */
/* logging                                                              */

void
sl_worker_event(struct sl_worker *wk, const struct sl_event *ev)
{
	sl_event_put(wk->evsrc, ev);
}

/* ------------------------------------------------------------------ */
/* lifecycle                                                            */

struct sl_worker *
sl_worker_new(unsigned id, unsigned nworkers, struct sl_rt *rt,
    struct sl_sinks *sinks, struct sl_pipes *pipes, const int *fds,
    const int *kinds, size_t nfds)
{
	struct sl_worker *wk;
	size_t nres;
	const struct sl_resolver *res;
	struct event_config *ec;

	if ((wk = sl_calloc(1, sizeof(*wk))) == NULL)
		return NULL;
	wk->id = id;
	wk->nworkers = nworkers;
	wk->rt = sl_rt_ref(rt);
	wk->notify_fd = -1;
	sl_pipe_pool_init(&wk->pipes, id, rt->set->pipe_size, pipes);
	wk_minter(wk);
	if (rt->certcache != NULL && wk->minter == NULL)
		goto fail;
	/*
	 * One thread per loop: libevent's own locking is not needed.  The
	 * epoll changelist folds the add/del pairs of one loop iteration
	 * into one epoll_ctl (a connect's EPOLLOUT becoming the relay's
	 * EPOLLIN is one MOD).  Its documented hazard is dup()ed fds, which
	 * sluiced never creates; a closed and reused fd number is handled by
	 * libevent's MOD-then-ADD retry.
	 */
	if ((ec = event_config_new()) == NULL)
		goto fail;
	event_config_set_flag(ec, EVENT_BASE_FLAG_NOLOCK |
	    EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	wk->base = event_base_new_with_config(ec);
	event_config_free(ec);
	if (wk->base == NULL)
		goto fail;
	res = sl_config_resolvers(rt->cfg, &nres);
	if ((wk->dns = sl_dns_new(wk->base, rt->set, res, nres)) == NULL)
		goto fail;
	if (sinks != NULL &&
	    (wk->evsrc = sl_sinks_source(sinks, WK_EVRING_BYTES)) == NULL)
		goto fail;
	wk->notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (wk->notify_fd == -1)
		goto fail;
	wk->notify_ev = event_new(wk->base, wk->notify_fd, EV_READ | EV_PERSIST,
	    wk_notify_cb, wk);
	wk->sweep_ev = evtimer_new(wk->base, wk_sweep_cb, wk);
	wk->resume_ev = evtimer_new(wk->base, wk_resume_cb, wk);
	if (wk->notify_ev == NULL || wk->sweep_ev == NULL ||
	    wk->resume_ev == NULL ||
	    event_add(wk->notify_ev, NULL) == -1)
		goto fail;

	if ((wk->lst = sl_calloc(nfds ? nfds : 1, sizeof(*wk->lst))) == NULL)
		goto fail;
	for (size_t i = 0; i < nfds; i++) {
		struct sl_wk_listener *l = &wk->lst[i];
		socklen_t len = sizeof(l->addr);

		l->fd = fds[i];
		l->kind = kinds[i] & ~SL_LISTEN_UDP_BIT;
		l->udp = (kinds[i] & SL_LISTEN_UDP_BIT) != 0;
		l->wk = wk;
		wk->nlst++;
		if (getsockname(l->fd, (struct sockaddr *)&l->addr, &len) == 0)
			sl_sa_fmt((struct sockaddr *)&l->addr, l->name,
			    sizeof(l->name));
		wk_listen_bind_conf(l);
		if (l->udp && wk->udp == NULL &&
		    (wk->udp = sl_udp_new(wk)) == NULL)
			goto fail;
		l->ev = event_new(wk->base, l->fd, EV_READ | EV_PERSIST,
		    l->udp ? sl_udp_listen_cb : wk_accept_cb, l);
		if (l->ev == NULL || event_add(l->ev, NULL) == -1)
			goto fail;
	}
	return wk;
fail:
	sl_log(SL_LOG_ERR, "worker %u: cannot initialise: %s", id,
	    strerror(errno));
	sl_worker_join_free(wk);
	return NULL;
}

static void *
wk_main(void *arg)
{
	struct sl_worker *wk = arg;
	struct timeval tv = { WK_SWEEP_MS / 1000, 0 };

	evtimer_add(wk->sweep_ev, &tv);
	event_base_dispatch(wk->base);
	/* Leaving: flows first (they hold DNS requests), then the rest. */
	sl_flow_close_all(wk, 'A', "shutdown");
	sl_udp_free(wk->udp);
	wk->udp = NULL;
	__atomic_store_n(&wk->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

int
sl_worker_start(struct sl_worker *wk)
{
	if (pthread_create(&wk->thr, NULL, wk_main, wk) != 0) {
		sl_log(SL_LOG_ERR, "worker %u: cannot start its thread",
		    wk->id);
		return -1;
	}
	wk->started = 1;
	return 0;
}

static void
wk_poke(struct sl_worker *wk)
{
	uint64_t one = 1;

	if (write(wk->notify_fd, &one, sizeof(one)) == -1 && errno != EAGAIN)
		sl_log(SL_LOG_ERR, "worker %u: cannot notify: %s", wk->id,
		    strerror(errno));
}

void
sl_worker_post_rt(struct sl_worker *wk, struct sl_rt *rt)
{
	struct sl_rt *old;

	old = __atomic_exchange_n(&wk->pending_rt, sl_rt_ref(rt),
	    __ATOMIC_ACQ_REL);
	sl_rt_unref(old);	/* never adopted: superseded */
	wk_poke(wk);
}

void
sl_worker_post_cmd(struct sl_worker *wk, enum sl_wk_cmd cmd)
{
	__atomic_store_n(&wk->cmd, (int)cmd, __ATOMIC_RELEASE);
	wk_poke(wk);
}

void
sl_worker_join_free(struct sl_worker *wk)
{
	if (wk == NULL)
		return;
	if (wk->started)
		pthread_join(wk->thr, NULL);
	sl_flow_close_all(wk, 'A', "shutdown");
	sl_udp_free(wk->udp);
	wk->udp = NULL;
	wk_close_listeners(wk);
	sl_free(wk->lst);
	sl_dns_free(wk->dns);
	if (wk->notify_ev)
		event_free(wk->notify_ev);
	if (wk->sweep_ev)
		event_free(wk->sweep_ev);
	if (wk->resume_ev)
		event_free(wk->resume_ev);
	if (wk->notify_fd != -1)
		close(wk->notify_fd);
	sl_pipe_pool_clear(&wk->pipes);
	sl_tls_minter_free(wk->minter);
	if (wk->base)
		event_base_free(wk->base);
	sl_rt_unref(__atomic_exchange_n(&wk->pending_rt, NULL,
	    __ATOMIC_ACQ_REL));
	sl_rt_unref(wk->rt);
	sl_free(wk);
}
