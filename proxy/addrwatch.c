/*
 * addrwatch.c — the appliance's own addresses, kept current.
 *
 * Why a shared, updated set rather than the address list in each runtime
 * snapshot (struct sl_rt): a flow keeps the snapshot it was accepted with
 * for its whole life, and a kept-alive client connection decides request
 * after request with it; a connection opened before `ip addr add` would
 * go on reaching the new address.  So every decision reads this one set
 * (sl_rt_is_local), under a read lock.
 *
 * rtnetlink notifications are only a trigger.  Any datagram from the
 * kernel on our RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR subscription, or
 * an overflow (ENOBUFS: some were lost), makes us read every address
 * again with getifaddrs() (a full RTM_GETADDR dump) and swap the set in;
 * the difference is logged.  Nothing is built from the messages, so a
 * lost one costs a resync and nothing else.
 *
 * Why the reader catches up itself: the kernel queues the notification
 * on our socket while it adds the address, before the address can
 * receive a connection.  Were only the main thread to read it, a request
 * decided in the microseconds before the main thread ran would still see
 * the old set (measured with integ 041's addrrace.py: 31 of 100 requests
 * sent right after adding their address reached it; none do now).  So
 * sl_addrs_has() first peeks at the socket (one non-blocking recv); if a
 * notification waits, the reader drains it and refreshes the set before
 * answering.  One refresher at a time (wlock); `refreshing` makes a
 * reader that finds the socket already drained wait for the refresh in
 * progress instead of using the old set.  The main thread's event does
 * the same when no flow asks, and logs.
 *
 * A tentative IPv6 address (duplicate address detection running) is in
 * the dump, and so in the set, from the moment it is assigned.
 */
#include <errno.h>
#include <event2/event.h>
#include <ifaddrs.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../lib/alloc.h"
#include "../lib/clock.h"
#include "../lib/log.h"
#include "addrwatch.h"

#define AW_RCVBUF	(1 << 20)	/* queued notifications before ENOBUFS */
#define AW_LOG_MAX	64		/* address lines per change and kind */
#define AW_LOST_LOG_MS	60000		/* overflow warnings at most this often */

struct addr_ent {
	struct sl_ip	 ip;
	char		 ifname[IF_NAMESIZE];	/* for the log */
};

struct sl_addrs {
	int			 refs;		/* atomic */
	int			 fd;		/* rtnetlink; -1: none */
	int			 broken;	/* atomic: fd gave up, ignore it */
	int			 refreshing;	/* atomic: between drain and swap */
	pthread_mutex_t		 wlock;		/* one refresher at a time */
	uint64_t		 lost_logged;	/* mono ms; under wlock */
	pthread_rwlock_t	 lock;		/* ent and n */
	struct addr_ent		*ent;		/* written under wlock + lock */
	size_t			 n;
};

struct sl_addrwatch {
	struct event		*ev;		/* main thread: fd readable */
	struct sl_addrs		*addrs;		/* one reference */
};

/* ------------------------------------------------------------------ */
/* reading the addresses                                                */

static const struct addr_ent *
ent_find(const struct addr_ent *e, size_t n, const struct sl_ip *ip)
{
	for (size_t i = 0; i < n; i++)
		if (sl_ip_equal(&e[i].ip, ip))
			return &e[i];
	return NULL;
}

/* Loopback and IPv6 link-local have guard rails of their own. */
static int
addr_wanted(const struct sl_ip *ip)
{
	return !sl_ip_is_loopback(ip) && !(ip->af == AF_INET6 &&
	    ip->b[0] == 0xfe && (ip->b[1] & 0xc0) == 0x80);
}

static int
ifa_inet(const struct ifaddrs *i)
{
	return i->ifa_addr != NULL && (i->ifa_addr->sa_family == AF_INET ||
	    i->ifa_addr->sa_family == AF_INET6);
}

/* The interfaces' addresses now, each once.  0, or -1 (logged). */
static int
addrs_read(struct addr_ent **out, size_t *nout)
{
	struct ifaddrs *ifa, *i;
	struct addr_ent *e;
	size_t n = 0, cap = 0;

	if (getifaddrs(&ifa) == -1) {
		sl_log(SL_LOG_WARN, "cannot list the appliance's addresses: %s",
		    strerror(errno));
		return -1;
	}
	for (i = ifa; i != NULL; i = i->ifa_next)
		if (ifa_inet(i))
			cap++;
	if ((e = sl_calloc(cap ? cap : 1, sizeof(*e))) == NULL) {
		sl_log(SL_LOG_WARN, "cannot list the appliance's addresses: "
		    "out of memory");
		freeifaddrs(ifa);
		return -1;
	}
	for (i = ifa; i != NULL; i = i->ifa_next) {
		struct sl_ip ip;

		if (!ifa_inet(i))
			continue;
		sl_ip_from_sa(&ip, NULL, i->ifa_addr);
		if (!addr_wanted(&ip) || ent_find(e, n, &ip) != NULL)
			continue;
		e[n].ip = ip;
		snprintf(e[n].ifname, sizeof(e[n].ifname), "%s",
		    i->ifa_name != NULL ? i->ifa_name : "?");
		n++;
	}
	freeifaddrs(ifa);
	*out = e;
	*nout = n;
	return 0;
}

/* Log the entries of a that b lacks (at most AW_LOG_MAX lines). */
static void
addrs_log_diff(const struct addr_ent *a, size_t na, const struct addr_ent *b,
    size_t nb, const char *what)
{
	char s[SL_IP_STRLEN];
	size_t shown = 0, more = 0;

	for (size_t i = 0; i < na; i++) {
		if (ent_find(b, nb, &a[i].ip) != NULL)
			continue;
		if (shown == AW_LOG_MAX) {
			more++;
			continue;
		}
		shown++;
		sl_log(SL_LOG_INFO, "own address %s: %s (%s)", what,
		    sl_ip_fmt(&a[i].ip, s, sizeof(s)), a[i].ifname);
	}
	if (more > 0)
		sl_log(SL_LOG_INFO, "own addresses %s: %zu more", what, more);
}

/* Read the addresses again and swap them in; log the change.  Under
 * wlock: the entries are then ours to read without the rwlock. */
static void
addrs_refresh(struct sl_addrs *a)
{
	struct addr_ent *e, *old;
	size_t n, nold;

	if (addrs_read(&e, &n) == -1)
		return;			/* logged; the set stays as it was */
	pthread_rwlock_wrlock(&a->lock);
	old = a->ent;
	nold = a->n;
	a->ent = e;
	a->n = n;
	pthread_rwlock_unlock(&a->lock);
	addrs_log_diff(e, n, old, nold, "added");
	addrs_log_diff(old, nold, e, n, "removed");
	sl_free(old);
}

/* ------------------------------------------------------------------ */
/* following the notifications                                          */

/*
 * Does a notification wait (1), or was one lost (2: ENOBUFS, which this
 * call has now taken off the socket), or neither (0)?
 */
static int
addrs_pending(struct sl_addrs *a)
{
	char c;

	if (a->fd == -1 || __atomic_load_n(&a->broken, __ATOMIC_RELAXED))
		return 0;
	if (recv(a->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) != -1)
		return 1;
	return errno == ENOBUFS ? 2 : 0;
}

static void
addrs_lost(struct sl_addrs *a)
{
	uint64_t now = sl_mono_ms();

	if (a->lost_logged != 0 && now - a->lost_logged < AW_LOST_LOG_MS)
		return;
	a->lost_logged = now;
	sl_log(SL_LOG_WARN, "address notifications were lost (rtnetlink "
	    "overflow): reading every address again");
}

/* Empty the socket (under wlock).  1 if the set must be read again. */
static int
addrs_drain(struct sl_addrs *a)
{
	char buf[8192];
	int changed = 0;

	while (a->fd != -1 && !__atomic_load_n(&a->broken, __ATOMIC_RELAXED)) {
		struct sockaddr_nl from;
		socklen_t flen = sizeof(from);
		ssize_t n = recvfrom(a->fd, buf, sizeof(buf), MSG_DONTWAIT,
		    (struct sockaddr *)&from, &flen);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				addrs_lost(a);
				changed = 1;
				continue;
			}
			if (errno == EAGAIN)
				break;
			/* Nothing else is expected; do not spin on it. */
			sl_log(SL_LOG_ERR, "address notifications: %s: no "
			    "longer watching (reload reads the addresses)",
			    strerror(errno));
			__atomic_store_n(&a->broken, 1, __ATOMIC_RELAXED);
			break;
		}
		/* Only the kernel (port 0) speaks for its addresses. */
		if (flen >= sizeof(from) && from.nl_pid == 0)
			changed = 1;
	}
	return changed;
}

/*
 * Bring the set up to date with what the kernel reported: drain the
 * socket and, if it held anything (or force), read every address again.
 * lost: the caller's peek found an overflow (and took it off the socket).
 * Others wait here meanwhile (see the top of the file).
 */
static void
addrs_catch_up(struct sl_addrs *a, int force, int lost)
{
	pthread_mutex_lock(&a->wlock);
	__atomic_store_n(&a->refreshing, 1, __ATOMIC_SEQ_CST);
	if (lost)
		addrs_lost(a);
	if (addrs_drain(a) || force || lost)
		addrs_refresh(a);
	__atomic_store_n(&a->refreshing, 0, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&a->wlock);
}

/* ------------------------------------------------------------------ */
/* the set                                                              */

static int
addrs_subscribe(void)
{
	struct sockaddr_nl sa;
	int fd, sz = AW_RCVBUF;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    NETLINK_ROUTE);
	if (fd == -1)
		goto fail;
	/*
	 * Room for a burst (an interface going down with all its
	 * addresses).  FORCE passes the rmem_max limit with CAP_NET_ADMIN,
	 * which sluiced may still have now; an overflow is survived anyway.
	 */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) == -1)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	memset(&sa, 0, sizeof(sa));
	sa.nl_family = AF_NETLINK;
	sa.nl_groups = RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1)
		goto fail;
	return fd;
fail:
	sl_log(SL_LOG_WARN, "cannot watch the appliance's addresses "
	    "(rtnetlink): %s: they are read at start and on reload only",
	    strerror(errno));
	if (fd != -1)
		close(fd);
	return -1;
}

/* watch: subscribe first, so that a change while the addresses are
 * being read waits in the socket instead of being missed. */
static struct sl_addrs *
addrs_new(int watch)
{
	struct sl_addrs *a;

	if ((a = sl_calloc(1, sizeof(*a))) == NULL)
		return NULL;
	a->refs = 1;
	a->fd = -1;
	if (pthread_mutex_init(&a->wlock, NULL) != 0) {
		sl_free(a);
		return NULL;
	}
	if (pthread_rwlock_init(&a->lock, NULL) != 0) {
		pthread_mutex_destroy(&a->wlock);
		sl_free(a);
		return NULL;
	}
	if (watch)
		a->fd = addrs_subscribe();
	/* Unreadable now: empty (the guard knows the listeners), logged. */
	if (addrs_read(&a->ent, &a->n) == -1) {
		a->ent = NULL;
		a->n = 0;
	}
	return a;
}

struct sl_addrs *
sl_addrs_snapshot(void)
{
	return addrs_new(0);
}

struct sl_addrs *
sl_addrs_ref(struct sl_addrs *a)
{
	__atomic_add_fetch(&a->refs, 1, __ATOMIC_RELAXED);
	return a;
}

void
sl_addrs_unref(struct sl_addrs *a)
{
	if (a == NULL || __atomic_sub_fetch(&a->refs, 1, __ATOMIC_ACQ_REL))
		return;
	if (a->fd != -1)
		close(a->fd);
	pthread_rwlock_destroy(&a->lock);
	pthread_mutex_destroy(&a->wlock);
	sl_free(a->ent);
	sl_free(a);
}

int
sl_addrs_has(struct sl_addrs *a, const struct sl_ip *ip)
{
	int found, pending = addrs_pending(a);

	if (pending != 0 || __atomic_load_n(&a->refreshing, __ATOMIC_ACQUIRE))
		addrs_catch_up(a, 0, pending == 2);
	pthread_rwlock_rdlock(&a->lock);
	found = ent_find(a->ent, a->n, ip) != NULL;
	pthread_rwlock_unlock(&a->lock);
	return found;
}

/* ------------------------------------------------------------------ */
/* the main thread's watch                                              */

static void
aw_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sl_addrwatch *w = arg;

	(void)fd;
	(void)what;
	addrs_catch_up(w->addrs, 0, 0);
	if (__atomic_load_n(&w->addrs->broken, __ATOMIC_RELAXED))
		event_del(w->ev);
}

struct sl_addrwatch *
sl_addrwatch_new(void)
{
	struct sl_addrwatch *w;

	if ((w = sl_calloc(1, sizeof(*w))) == NULL)
		return NULL;
	if ((w->addrs = addrs_new(1)) == NULL) {
		sl_free(w);
		return NULL;
	}
	return w;
}

struct sl_addrs *
sl_addrwatch_addrs(struct sl_addrwatch *w)
{
	return w->addrs;
}

int
sl_addrwatch_start(struct sl_addrwatch *w, struct event_base *base)
{
	if (w->addrs->fd == -1)
		return 0;		/* logged when subscribing */
	w->ev = event_new(base, w->addrs->fd, EV_READ | EV_PERSIST,
	    aw_read_cb, w);
	if (w->ev == NULL || event_add(w->ev, NULL) == -1) {
		sl_log(SL_LOG_ERR, "cannot watch the appliance's addresses: "
		    "no event");
		return -1;
	}
	return 0;
}

void
sl_addrwatch_refresh(struct sl_addrwatch *w)
{
	addrs_catch_up(w->addrs, 1, 0);
}

void
sl_addrwatch_free(struct sl_addrwatch *w)
{
	if (w == NULL)
		return;
	if (w->ev != NULL)
		event_free(w->ev);
	sl_addrs_unref(w->addrs);
	sl_free(w);
}
