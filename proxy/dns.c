/*
 * dns.c — c-ares on a worker's libevent loop, with a TTL cache.
 *
 * c-ares tells us which sockets to watch through ARES_OPT_SOCK_STATE_CB; we
 * mirror them as libevent events and drive ares_process_fd() from those and
 * from one timer armed with ares_timeout().  No c-ares thread, no blocking.
 *
 * The cache maps a name to its answer until the smallest record TTL
 * (clamped to dns-ttl-min..dns-ttl-max) passes; NXDOMAIN is cached for
 * dns-negative-ttl; timeouts and failures are not cached.  Concurrent
 * lookups of one name share one query: later callers wait on the entry.
 * Entries are evicted least-recently-used beyond dns-cache-size.
 *
 * A name is resolved exactly as given: no search list, ndots or alias
 * file (sl_dns_new says how c-ares is kept from them).
 */
#include <ares.h>
#include <arpa/inet.h>
#include <event2/event.h>
#include <netdb.h>
#include <string.h>

#include "../lib/alloc.h"
#include "../lib/clock.h"
#include "../lib/log.h"
#include "../policy/config.h"
#include "dns.h"

struct dns_entry;

struct sl_dns_req {
	struct sl_dns_req	*next;		/* waiter list of the entry */
	sl_dns_cb		 cb;		/* NULL once cancelled */
	void			*arg;
};

struct dns_entry {
	struct sl_dns		*dns;		/* borrowed owner */
	char			*name;
	uint32_t		 hash;
	struct dns_entry	*hnext;		/* hash chain */
	struct dns_entry	*lprev, *lnext;	/* LRU, head = most recent */
	uint64_t		 expires;	/* mono ms; 0 = not cached */
	unsigned		 pending:1;	/* query in flight */
	unsigned		 deferred:1;	/* answered, waiters not yet told */
	unsigned		 notifying:1;	/* dns_notify() runs its waiters */
	struct dns_entry	*dnext;		/* deferred list */
	struct sl_dns_req	*waiters;
	struct sl_dns_result	 res;
};

struct dns_sock {
	struct dns_sock		*next;
	ares_socket_t		 fd;
	struct event		*ev;
};

struct sl_dns {
	struct event_base	*base;		/* borrowed */
	ares_channel		 ch;
	struct event		*timer;
	struct event		*defer_ev;	/* tells deferred waiters */
	struct dns_entry	*deferred;
	struct dns_sock		*socks;
	struct dns_entry	**tab;
	size_t			 tabsz;		/* power of two */
	size_t			 nent;
	size_t			 maxent;
	struct dns_entry	*lru_head, *lru_tail;
	uint64_t		 ttl_min, ttl_max, neg_ttl;
	int			 prefer_v6;
	unsigned		 destroying:1;
	unsigned		 in_lookup:1;	/* inside ares_getaddrinfo() */
};

static void	dns_rearm_timer(struct sl_dns *dns);

/* ------------------------------------------------------------------ */
/* c-ares <-> libevent glue                                             */

static void
dns_io_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sl_dns *dns = arg;

	ares_process_fd(dns->ch, (what & EV_READ) ? fd : ARES_SOCKET_BAD,
	    (what & EV_WRITE) ? fd : ARES_SOCKET_BAD);
	dns_rearm_timer(dns);
}

static void
dns_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sl_dns *dns = arg;

	(void)fd;
	(void)what;
	ares_process_fd(dns->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	dns_rearm_timer(dns);
}

static void
dns_rearm_timer(struct sl_dns *dns)
{
	struct timeval tv, *tvp;

	if (dns->destroying)
		return;
	tvp = ares_timeout(dns->ch, NULL, &tv);
	if (tvp == NULL)
		evtimer_del(dns->timer);
	else
		evtimer_add(dns->timer, tvp);
}

static void
dns_sock_state_cb(void *arg, ares_socket_t fd, int readable, int writable)
{
	struct sl_dns *dns = arg;
	struct dns_sock **pp, *ds;
	short what = (readable ? EV_READ : 0) | (writable ? EV_WRITE : 0);

	for (pp = &dns->socks; (ds = *pp) != NULL; pp = &ds->next)
		if (ds->fd == fd)
			break;
	if (ds != NULL && ds->ev != NULL) {
		event_free(ds->ev);		/* also removes it */
		ds->ev = NULL;
	}
	if (what == 0) {			/* c-ares is done with fd */
		if (ds != NULL) {
			*pp = ds->next;
			sl_free(ds);
		}
		return;
	}
	if (ds == NULL) {
		if ((ds = sl_calloc(1, sizeof(*ds))) == NULL) {
			sl_log(SL_LOG_ERR, "dns: out of memory watching fd %d",
			    (int)fd);
			return;			/* the query will time out */
		}
		ds->fd = fd;
		ds->next = dns->socks;
		dns->socks = ds;
	}
	ds->ev = event_new(dns->base, fd, what | EV_PERSIST, dns_io_cb, dns);
	if (ds->ev == NULL || event_add(ds->ev, NULL) == -1)
		sl_log(SL_LOG_ERR, "dns: cannot watch fd %d", (int)fd);
}

/* ------------------------------------------------------------------ */
/* cache                                                                */

static uint32_t
dns_hash(const char *s)
{
	uint32_t h = 2166136261u;		/* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

static void
lru_unlink(struct sl_dns *dns, struct dns_entry *e)
{
	if (e->lprev)
		e->lprev->lnext = e->lnext;
	else
		dns->lru_head = e->lnext;
	if (e->lnext)
		e->lnext->lprev = e->lprev;
	else
		dns->lru_tail = e->lprev;
	e->lprev = e->lnext = NULL;
}

static void
lru_push_front(struct sl_dns *dns, struct dns_entry *e)
{
	e->lprev = NULL;
	e->lnext = dns->lru_head;
	if (dns->lru_head)
		dns->lru_head->lprev = e;
	dns->lru_head = e;
	if (dns->lru_tail == NULL)
		dns->lru_tail = e;
}

static struct dns_entry *
cache_find(struct sl_dns *dns, const char *name, uint32_t h)
{
	struct dns_entry *e;

	for (e = dns->tab[h & (dns->tabsz - 1)]; e != NULL; e = e->hnext)
		if (e->hash == h && strcmp(e->name, name) == 0)
			return e;
	return NULL;
}

static void
cache_remove(struct sl_dns *dns, struct dns_entry *e)
{
	struct dns_entry **pp = &dns->tab[e->hash & (dns->tabsz - 1)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	lru_unlink(dns, e);
	dns->nent--;
	sl_free(e->name);
	sl_free(e);
}

/* Drop least-recently-used idle entries until there is room for one. */
static void
cache_evict(struct sl_dns *dns)
{
	struct dns_entry *e = dns->lru_tail, *prev;

	while (dns->nent >= dns->maxent && e != NULL) {
		prev = e->lprev;
		/* Never an entry someone is about to tell or is telling. */
		if (!e->pending && !e->deferred && !e->notifying &&
		    e->waiters == NULL)
			cache_remove(dns, e);
		e = prev;
	}
}

static struct dns_entry *
cache_add(struct sl_dns *dns, const char *name, uint32_t h)
{
	struct dns_entry *e;
	size_t b = h & (dns->tabsz - 1);

	cache_evict(dns);
	if ((e = sl_calloc(1, sizeof(*e))) == NULL)
		return NULL;
	if ((e->name = sl_strdup(name)) == NULL) {
		sl_free(e);
		return NULL;
	}
	e->dns = dns;
	e->hash = h;
	e->hnext = dns->tab[b];
	dns->tab[b] = e;
	lru_push_front(dns, e);
	dns->nent++;
	return e;
}

/* ------------------------------------------------------------------ */
/* answers                                                              */

/*
 * Order addresses for happy eyeballs (RFC 8305 section 4): alternate
 * families, starting with the preferred one, keeping each family's order.
 */
static void
dns_interleave(struct sl_dns_result *r, int prefer_v6)
{
	struct sl_ip v6[SL_DNS_MAX_ADDRS], v4[SL_DNS_MAX_ADDRS];
	unsigned n6 = 0, n4 = 0, i6 = 0, i4 = 0, n = 0;
	int want6 = prefer_v6;

	for (unsigned i = 0; i < r->naddr; i++) {
		if (r->addr[i].af == AF_INET6)
			v6[n6++] = r->addr[i];
		else
			v4[n4++] = r->addr[i];
	}
	while (i6 < n6 || i4 < n4) {
		if ((want6 && i6 < n6) || i4 == n4)
			r->addr[n++] = v6[i6++];
		else
			r->addr[n++] = v4[i4++];
		want6 = !want6;
	}
}

static int
dns_have(const struct sl_dns_result *r, const struct sl_ip *ip)
{
	for (unsigned i = 0; i < r->naddr; i++)
		if (sl_ip_equal(&r->addr[i], ip))
			return 1;
	return 0;
}

/* Turn a c-ares answer into a result; returns the TTL to cache (ms). */
static uint64_t
dns_collect(struct sl_dns *dns, int status, struct ares_addrinfo *ai,
    struct sl_dns_result *r)
{
	int minttl = -1;

	memset(r, 0, sizeof(*r));
	switch (status) {
	case ARES_SUCCESS:
		r->status = SL_DNS_OK;
		break;
	case ARES_ENOTFOUND:
	case ARES_ENODATA:
		r->status = SL_DNS_NXDOMAIN;
		return dns->neg_ttl;
	case ARES_ETIMEOUT:
		r->status = SL_DNS_TIMEOUT;
		return 0;
	default:
		r->status = SL_DNS_FAIL;
		return 0;
	}
	for (struct ares_addrinfo_node *n = ai ? ai->nodes : NULL; n != NULL;
	    n = n->ai_next) {
		struct sl_ip ip;

		if (n->ai_addr == NULL || r->naddr == SL_DNS_MAX_ADDRS)
			continue;
		if (n->ai_family != AF_INET && n->ai_family != AF_INET6)
			continue;
		sl_ip_from_sa(&ip, NULL, n->ai_addr);
		if (dns_have(r, &ip))
			continue;
		r->addr[r->naddr++] = ip;
		if (minttl < 0 || n->ai_ttl < minttl)
			minttl = n->ai_ttl;
	}
	if (r->naddr == 0) {
		r->status = SL_DNS_NXDOMAIN;
		return dns->neg_ttl;
	}
	dns_interleave(r, dns->prefer_v6);
	{
		/* Answers from /etc/hosts carry no TTL: use the minimum. */
		uint64_t ttl = minttl > 0 ? (uint64_t)minttl * 1000 : 0;

		if (ttl < dns->ttl_min)
			ttl = dns->ttl_min;
		if (ttl > dns->ttl_max)
			ttl = dns->ttl_max;
		return ttl;
	}
}

/* Tell an answered entry's waiters; drop it if the answer is not cached. */
static void
dns_notify(struct sl_dns *dns, struct dns_entry *e)
{
	struct sl_dns_req *w, *next;

	/*
	 * Callbacks may start new lookups, of this name or of others that
	 * make the cache evict: detach the waiters first, and keep the entry
	 * from being evicted while its result is being handed out.
	 */
	w = e->waiters;
	e->waiters = NULL;
	e->notifying = 1;
	for (; w != NULL; w = next) {
		next = w->next;
		if (w->cb != NULL)
			w->cb(w->arg, &e->res);
		sl_free(w);
	}
	e->notifying = 0;
	if (e->expires == 0 && !e->pending && !e->deferred &&
	    e->waiters == NULL)
		cache_remove(dns, e);	/* failures are not cached */
}

static void
dns_defer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sl_dns *dns = arg;

	(void)fd;
	(void)what;
	while (dns->deferred != NULL) {
		struct dns_entry *e = dns->deferred;

		dns->deferred = e->dnext;
		e->deferred = 0;
		dns_notify(dns, e);
	}
}

static void
dns_answer_cb(void *arg, int status, int timeouts, struct ares_addrinfo *ai)
{
	struct dns_entry *e = arg;
	struct sl_dns *dns = e->dns;
	uint64_t ttl;

	(void)timeouts;
	if (dns->destroying) {
		if (ai != NULL)
			ares_freeaddrinfo(ai);
		return;			/* sl_dns_free releases entries */
	}
	ttl = dns_collect(dns, status, ai, &e->res);
	if (ai != NULL)
		ares_freeaddrinfo(ai);
	e->pending = 0;
	e->expires = ttl ? sl_mono_ms() + ttl : 0;
	sl_debug(SL_CAT_DNS, "dns: %s -> %s, %u address(es), ttl %llums",
	    e->name, sl_dns_status_str(e->res.status), e->res.naddr,
	    (unsigned long long)ttl);
	if (dns->in_lookup) {
		/*
		 * Answered from inside ares_getaddrinfo() (/etc/hosts, or an
		 * immediate failure): the caller does not hold its request
		 * handle yet, so tell the waiters from the loop instead.  An
		 * entry is on the deferred list at most once (lookups of a
		 * deferred entry wait on it rather than query again).
		 */
		if (!e->deferred) {
			e->deferred = 1;
			e->dnext = dns->deferred;
			dns->deferred = e;
		}
		event_active(dns->defer_ev, EV_TIMEOUT, 0);
		return;
	}
	dns_notify(dns, e);
}

/* ------------------------------------------------------------------ */
/* API                                                                  */

static int
dns_set_servers(struct sl_dns *dns, const struct sl_resolver *res,
    size_t nres)
{
	char csv[1024] = "", one[SL_ADDR_STRLEN + 1];
	size_t off = 0;
	int rc;

	if (nres == 0)
		return 0;		/* keep /etc/resolv.conf's servers */
	for (size_t i = 0; i < nres; i++) {
		sl_sa_fmt((const struct sockaddr *)&res[i].addr, one,
		    sizeof(one));
		rc = snprintf(csv + off, sizeof(csv) - off, "%s%s",
		    i ? "," : "", one);
		if (rc < 0 || (size_t)rc >= sizeof(csv) - off)
			break;
		off += (size_t)rc;
	}
	if ((rc = ares_set_servers_ports_csv(dns->ch, csv)) != ARES_SUCCESS) {
		sl_log(SL_LOG_ERR, "dns: cannot use resolvers '%s': %s", csv,
		    ares_strerror(rc));
		return -1;
	}
	return 0;
}

static void
dns_apply_settings(struct sl_dns *dns, const struct sl_settings *set)
{
	dns->ttl_min = set->dns_ttl_min;
	dns->ttl_max = set->dns_ttl_max;
	dns->neg_ttl = set->dns_negative_ttl;
	dns->prefer_v6 = set->dns_prefer_ipv6;
	dns->maxent = set->dns_cache_size ? set->dns_cache_size : 1;
}

struct sl_dns *
sl_dns_new(struct event_base *base, const struct sl_settings *set,
    const struct sl_resolver *res, size_t nres)
{
	struct ares_options opt;
	struct sl_dns *dns;
	int rc;

	if ((dns = sl_calloc(1, sizeof(*dns))) == NULL)
		return NULL;
	dns->base = base;
	dns_apply_settings(dns, set);
	dns->tabsz = 1024;
	while (dns->tabsz < dns->maxent && dns->tabsz < (1u << 20))
		dns->tabsz <<= 1;
	if ((dns->tab = sl_calloc(dns->tabsz, sizeof(*dns->tab))) == NULL)
		goto fail;
	if ((dns->timer = evtimer_new(base, dns_timer_cb, dns)) == NULL)
		goto fail;
	if ((dns->defer_ev = evtimer_new(base, dns_defer_cb, dns)) == NULL)
		goto fail;

	memset(&opt, 0, sizeof(opt));
	opt.sock_state_cb = dns_sock_state_cb;
	opt.sock_state_cb_data = dns;
	opt.timeout = (int)set->dns_timeout;
	opt.tries = (int)set->dns_tries;
	/*
	 * The name decided is the name resolved (docs/policy.md): no search
	 * list, no ndots, no HOSTALIASES.  c-ares 1.18's ares_getaddrinfo()
	 * ignores ARES_FLAG_NOSEARCH and appends every search domain it
	 * knows (resolv.conf `search`/`domain`, LOCALDOMAIN, the host name's
	 * domain); an explicitly empty list (ARES_OPT_DOMAINS, ndomains 0)
	 * is the one thing that keeps all of those out.  The flag still
	 * covers ares_search(); NOALIASES the alias file.
	 */
	opt.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES;
	opt.domains = NULL;
	opt.ndomains = 0;
	rc = ares_init_options(&dns->ch, &opt,
	    ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
	    ARES_OPT_FLAGS | ARES_OPT_DOMAINS);
	if (rc != ARES_SUCCESS) {
		sl_log(SL_LOG_ERR, "dns: cannot initialise c-ares: %s",
		    ares_strerror(rc));
		dns->ch = NULL;
		goto fail;
	}
	if (dns_set_servers(dns, res, nres) == -1)
		goto fail;
	return dns;
fail:
	sl_dns_free(dns);
	return NULL;
}

void
sl_dns_free(struct sl_dns *dns)
{
	if (dns == NULL)
		return;
	dns->destroying = 1;
	if (dns->ch != NULL)
		ares_destroy(dns->ch);	/* fires callbacks: destroying */
	while (dns->socks != NULL) {
		struct dns_sock *ds = dns->socks;

		dns->socks = ds->next;
		if (ds->ev)
			event_free(ds->ev);
		sl_free(ds);
	}
	while (dns->lru_head != NULL) {
		struct dns_entry *e = dns->lru_head;
		struct sl_dns_req *w, *next;

		for (w = e->waiters; w != NULL; w = next) {
			next = w->next;
			sl_free(w);
		}
		lru_unlink(dns, e);
		sl_free(e->name);
		sl_free(e);
	}
	if (dns->timer)
		event_free(dns->timer);
	if (dns->defer_ev)
		event_free(dns->defer_ev);
	sl_free(dns->tab);
	sl_free(dns);
}

int
sl_dns_reconfigure(struct sl_dns *dns, const struct sl_settings *set,
    const struct sl_resolver *res, size_t nres)
{
	/*
	 * c-ares 1.18 cannot change timeouts on a live channel and tearing
	 * it down would fail the lookups in flight, so only the cache
	 * settings and the servers follow a reload; docs/policy.md says so.
	 */
	dns_apply_settings(dns, set);
	return dns_set_servers(dns, res, nres);
}

struct sl_dns_req *
sl_dns_lookup(struct sl_dns *dns, const char *name, sl_dns_cb cb, void *arg,
    struct sl_dns_result *res, int *done)
{
	struct ares_addrinfo_hints hints;
	struct sl_dns_req *req;
	struct dns_entry *e;
	uint32_t h = dns_hash(name);

	*done = 0;
	/*
	 * An address is its own answer.  c-ares 1.18 would still send A and
	 * AAAA queries for an IPv4 literal when asked for both families.
	 */
	memset(res, 0, sizeof(*res));
	if (sl_ip_parse(&res->addr[0], name) == 0) {
		res->status = SL_DNS_OK;
		res->naddr = 1;
		res->cached = 1;
		*done = 1;
		return NULL;
	}
	e = cache_find(dns, name, h);
	if (e != NULL && !e->pending && e->expires > sl_mono_ms()) {
		lru_unlink(dns, e);
		lru_push_front(dns, e);
		*res = e->res;
		res->cached = 1;
		*done = 1;
		return NULL;
	}
	if ((req = sl_calloc(1, sizeof(*req))) == NULL)
		return NULL;
	req->cb = cb;
	req->arg = arg;
	if (e == NULL && (e = cache_add(dns, name, h)) == NULL) {
		sl_free(req);
		return NULL;
	}
	req->next = e->waiters;
	e->waiters = req;
	if (e->pending || e->deferred)
		return req;		/* coalesced with the answer on its way */

	e->pending = 1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	/* We order addresses ourselves; c-ares' RFC 6724 sort would open
	 * and connect a UDP socket per address. */
	hints.ai_flags = ARES_AI_NOSORT;
	dns->in_lookup = 1;
	ares_getaddrinfo(dns->ch, name, NULL, &hints, dns_answer_cb, e);
	dns->in_lookup = 0;
	dns_rearm_timer(dns);
	return req;
}

void
sl_dns_cancel(struct sl_dns_req *req)
{
	if (req != NULL)
		req->cb = NULL;	/* freed when the query completes */
}

const char *
sl_dns_status_str(enum sl_dns_status st)
{
	switch (st) {
	case SL_DNS_OK:
		return "ok";
	case SL_DNS_NXDOMAIN:
		return "nxdomain";
	case SL_DNS_TIMEOUT:
		return "timeout";
	case SL_DNS_FAIL:
		return "servfail";
	}
	return "?";
}

int
sl_dns_has(const struct sl_dns_result *res, const struct sl_ip *ip)
{
	for (unsigned i = 0; res->status == SL_DNS_OK && i < res->naddr; i++)
		if (sl_ip_equal(&res->addr[i], ip))
			return 1;
	return 0;
}
