/*
 * udp.c — forwarding TPROXYed UDP (udp.h, docs/design/udp.md).
 *
 *   listener (IP_TRANSPARENT, IP_RECVORIGDSTADDR, recvmmsg)
 *     -> 5-tuple known?  forward on its upstream socket
 *     -> new: decide (dst IP, port, proto UDP, client; on udp/443 the
 *        QUIC Initial's SNI, held until read) ->
 *          splice: a session = an upstream socket connected to the
 *                  original destination from our own address, and a
 *                  client-facing socket bound (IP_TRANSPARENT) to the
 *                  original destination and connected to the client, so
 *                  replies leave from the address the client sent to;
 *                  later datagrams of the client land on that socket
 *                  (nft_tproxy prefers an established socket)
 *          deny (and inspect, which UDP cannot have): dropped, counted,
 *                  one flow.blocked per client, destination, interval
 *
 * sluiced never writes a datagram of its own towards a client: what a
 * client gets is what its upstream sent, datagram for datagram, so no
 * spoofed source can make us amplify.
 */
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../lib/alloc.h"
#include "../lib/clock.h"
#include "../lib/log.h"
#include "../policy/config.h"
#include "../policy/policy.h"
#include "../stun/stun.h"
#include "../tls/tls.h"
#include "dns.h"
#include "udp.h"
#include "udptab.h"
#include "worker.h"

#define UDP_BATCH	32		/* datagrams per recvmmsg */
#define UDP_ROUNDS	4		/* recvmmsg calls per wakeup */
#define UDP_DGRAM_MAX	9216		/* larger ones: truncated, dropped */
#define UDP_CTL_LEN	128		/* room for IP(V6)_ORIGDSTADDR */
#define UDP_HELD_MAX	SL_TLS_QUIC_DGRAMS_MAX	/* QUIC datagrams held */
#define UDP_HELD_BYTES	(24 * 1024)	/* and their bytes, per session */
#define UDP_PENDING_MAX	256		/* QUIC sessions reading a hello,
					   per worker: at most 6 MiB held */
#define UDP_QUIC_PORT	443

enum udp_state {
	UDP_PENDING = 0,	/* QUIC: reading the Initial, or its name
				   being checked against the destination */
	UDP_FORWARDING,
};

struct udp_held {
	uint8_t		*buf;
	size_t		 len;
};

struct udp_sess {
	struct sl_udptab_ent	 ent;		/* key: the 5-tuple */
	struct sl_udp		*u;		/* borrowed */
	enum udp_state		 state;
	uint64_t		 id;
	uint64_t		 t0;		/* mono ms of its first datagram */
	struct sl_rt		*rt;		/* one reference */
	struct sl_decision	 dec;		/* rule borrowed from rt */
	enum sl_ev_proto	 proto;
	char			*sni;
	const char		*reason;	/* static */
	int			 cfd, ufd;	/* client-facing, upstream */
	struct event		*cev, *uev;
	uint64_t		 up, down, pkts_up, pkts_down;
	/* pending */
	struct sl_tls_quic	*quic;
	struct udp_held		 held[UDP_HELD_MAX];
	size_t			 nheld, held_bytes;
	uint64_t		 deadline;	/* mono ms */
	struct sl_dns_req	*dns;
	struct sl_decision	 ipdec;		/* decided by address alone */
	struct udp_sess		*pnext, **pprev; /* pending list */
};

/* Refused datagrams of one client address to one destination. */
struct udp_blk {
	struct sl_udptab_ent	 ent;		/* key: cport 0 */
	uint64_t		 id;
	uint64_t		 t0;
	uint16_t		 cport;		/* the first one seen */
	struct sl_rt		*rt;		/* one reference */
	struct sl_decision	 dec;
	enum sl_ev_proto	 proto;
	const char		*reason;	/* static */
	char			*sni;		/* QUIC: the name, or NULL */
	uint64_t		 count, bytes;
};

struct udp_batch {
	struct mmsghdr		 msg[UDP_BATCH];
	struct iovec		 iov[UDP_BATCH];
	struct sockaddr_storage	 name[UDP_BATCH];
	uint8_t			 ctl[UDP_BATCH][UDP_CTL_LEN];
	uint8_t			 buf[UDP_BATCH][UDP_DGRAM_MAX];
};

struct udp_stats {
	uint64_t	truncated;	/* larger than UDP_DGRAM_MAX */
	uint64_t	no_origdst;	/* no IP(V6)_ORIGDSTADDR */
	uint64_t	full;		/* udp-max-sessions */
	uint64_t	client_full;	/* udp-max-sessions-per-client */
	uint64_t	blk_full;	/* refusals not aggregated: no room */
	uint64_t	send_drop;	/* a socket buffer full, an error */
	uint64_t	not_stun;	/* stun-only: neither STUN nor
					   ChannelData from the client */
	uint64_t	pending_full;	/* QUIC decided by address alone:
					   UDP_PENDING_MAX hellos in reading */
	uint64_t	errors;		/* sockets we could not make */
};

struct sl_udp {
	struct sl_worker	*wk;		/* borrowed */
	struct sl_udptab	 tab;		/* struct udp_sess */
	struct sl_udptab	 blk;		/* struct udp_blk */
	struct udp_sess		*pending;
	size_t			 npending;
	struct udp_batch	*b;
	struct udp_stats	 st, st_logged;
	uint64_t		 err_logged;	/* mono ms, rate limit */
};

static void udp_sess_cb(evutil_socket_t fd, short what, void *arg);

/* ------------------------------------------------------------------ */
/* events                                                               */

static uint64_t
udp_next_id(struct sl_worker *wk)
{
	return ++wk->next_id * wk->nworkers + wk->id;
}

/* The fields every UDP event has: k with the client's port cport. */
static void
udp_ev_init(struct sl_event *ev, enum sl_event_kind kind, uint64_t id,
    const struct sl_udp_key *k, uint16_t cport, enum sl_ev_proto proto,
    const struct sl_decision *dec)
{
	memset(ev, 0, sizeof(*ev));
	ev->kind = kind;
	ev->flow = id;
	ev->mode = SL_EV_MODE_TRANSPARENT;
	ev->cli_ip = k->cli;
	ev->cli_port = cport;
	ev->dst_ip = k->dst;
	ev->dst_port = k->dport;
	ev->proto = proto;
	ev->action = kind == SL_EV_FLOW_BLOCKED ? SL_EV_ACT_DENY :
	    SL_EV_ACT_SPLICE;
	ev->rule = dec->rule_name;
	if (dec->rule != NULL)
		ev->level = sl_rule_level(dec->rule);
}

static void
udp_blk_report(struct sl_udp *u, struct udp_blk *b, uint64_t now)
{
	struct sl_event ev;

	udp_ev_init(&ev, SL_EV_FLOW_BLOCKED, b->id, &b->ent.key, b->cport,
	    b->proto, &b->dec);
	ev.reason = b->reason;
	ev.host = b->sni;
	ev.sni = b->sni;
	ev.up = b->bytes;
	ev.count = b->count;
	ev.ms = now - b->t0;
	memcpy(ev.term, "PP", 2);
	sl_worker_event(u->wk, &ev);
}

static void
udp_sess_report(struct udp_sess *s, char who)
{
	const struct sl_settings *set = s->rt->set;
	struct sl_event ev;

	if (!set->log_allowed && !(s->dec.mods & SL_MOD_LOG) &&
	    s->reason == NULL)
		return;
	udp_ev_init(&ev, SL_EV_FLOW_END, s->id, &s->ent.key, s->ent.key.cport,
	    s->proto, &s->dec);
	ev.host = s->sni;
	ev.sni = s->sni;
	ev.reason = s->reason;
	ev.up = s->up;
	ev.down = s->down;
	ev.pkts_up = s->pkts_up;
	ev.pkts_down = s->pkts_down;
	ev.ms = sl_mono_ms() - s->t0;
	ev.term[0] = who;
	ev.term[1] = 'R';
	sl_worker_event(s->u->wk, &ev);
}

/* ------------------------------------------------------------------ */
/* refusals                                                             */

/* Why a datagram is refused: dec is borrowed from rt's policy. */
struct udp_why {
	struct sl_rt			*rt;
	const struct sl_decision	*dec;
	enum sl_ev_proto		 proto;
	const char			*reason;	/* static */
	const char			*sni;		/* QUIC, or NULL */
};

/*
 * One refused datagram: counted into its (client address, destination)
 * aggregate, reported when the interval ends (sl_udp_sweep), so a flood
 * is one line per interval, not one per datagram.  The aggregate keeps
 * the first datagram's reason, rule and name.
 */
static void
udp_refuse(struct sl_udp *u, const struct sl_udp_key *k, size_t len,
    const struct udp_why *w)
{
	const struct sl_settings *set = u->wk->rt->set;
	struct sl_udp_key bk = *k;
	struct sl_udptab_ent *e;
	struct udp_blk *b;

	bk.cport = 0;
	if ((e = sl_udptab_find(&u->blk, &bk)) != NULL) {
		b = (struct udp_blk *)e;
		b->count++;
		b->bytes += len;
		return;
	}
	if ((b = sl_calloc(1, sizeof(*b))) == NULL) {
		u->st.blk_full++;
		return;
	}
	b->ent.key = bk;
	if (sl_udptab_add(&u->blk, &b->ent, sl_mono_ms(),
	    set->udp_max_sessions, set->udp_max_sessions_per_client) !=
	    SL_UDPTAB_OK) {
		sl_free(b);
		u->st.blk_full++;
		return;
	}
	b->id = udp_next_id(u->wk);
	b->t0 = b->ent.last;
	b->cport = k->cport;
	b->rt = sl_rt_ref(w->rt);	/* holds the policy dec points into */
	b->dec = *w->dec;
	b->proto = w->proto;
	b->reason = w->reason;
	b->sni = w->sni != NULL ? sl_strdup(w->sni) : NULL;	/* NULL: none */
	b->count = 1;
	b->bytes = len;
	if (sl_debug_on(SL_CAT_FLOW)) {
		char c[SL_ADDR_STRLEN], d[SL_ADDR_STRLEN];

		sl_debug(SL_CAT_FLOW, "flow=%llu udp %s -> %s refused: %s "
		    "rule=%s", (unsigned long long)b->id,
		    sl_ipport_fmt(&k->cli, k->cport, c, sizeof(c)),
		    sl_ipport_fmt(&k->dst, k->dport, d, sizeof(d)), w->reason,
		    w->dec->rule_name);
	}
}

static void
udp_blk_end(struct sl_udp *u, struct udp_blk *b, uint64_t now)
{
	udp_blk_report(u, b, now);
	sl_udptab_del(&u->blk, &b->ent);
	sl_rt_unref(b->rt);
	sl_free(b->sni);
	sl_free(b);
}

/* ------------------------------------------------------------------ */
/* sessions                                                             */

static void
udp_held_clear(struct udp_sess *s)
{
	for (size_t i = 0; i < s->nheld; i++)
		sl_free(s->held[i].buf);
	s->nheld = 0;
	s->held_bytes = 0;
}

static void
udp_pending_unlink(struct udp_sess *s)
{
	if (s->pprev == NULL)
		return;
	s->u->npending--;
	*s->pprev = s->pnext;
	if (s->pnext != NULL)
		s->pnext->pprev = s->pprev;
	s->pnext = NULL;
	s->pprev = NULL;
}

/* End s: its event if it forwarded, then every resource.  who: term. */
static void
udp_sess_end(struct udp_sess *s, char who)
{
	struct sl_udp *u = s->u;

	if (s->state == UDP_FORWARDING)
		udp_sess_report(s, who);
	sl_udptab_del(&u->tab, &s->ent);
	udp_pending_unlink(s);
	sl_dns_cancel(s->dns);
	udp_held_clear(s);
	sl_free(s->quic);
	if (s->cev != NULL)
		event_free(s->cev);
	if (s->uev != NULL)
		event_free(s->uev);
	if (s->cfd != -1)
		close(s->cfd);
	if (s->ufd != -1)
		close(s->ufd);
	sl_rt_unref(s->rt);
	sl_free(s->sni);
	sl_free(s);
}

static struct udp_sess *
udp_sess_new(struct sl_udp *u, const struct sl_udp_key *k, uint64_t now)
{
	const struct sl_settings *set = u->wk->rt->set;
	struct udp_sess *s;
	enum sl_udptab_rc rc;

	if ((s = sl_calloc(1, sizeof(*s))) == NULL) {
		u->st.errors++;
		return NULL;
	}
	s->ent.key = *k;
	s->cfd = s->ufd = -1;
	rc = sl_udptab_add(&u->tab, &s->ent, now, set->udp_max_sessions,
	    set->udp_max_sessions_per_client);
	if (rc != SL_UDPTAB_OK) {
		if (rc == SL_UDPTAB_FULL)
			u->st.full++;
		else if (rc == SL_UDPTAB_CLIENT_FULL)
			u->st.client_full++;
		else
			u->st.errors++;
		sl_free(s);
		return NULL;
	}
	s->u = u;
	s->id = udp_next_id(u->wk);
	s->t0 = now;
	s->rt = sl_rt_ref(u->wk->rt);
	return s;
}

/*
 * Does a datagram from the client pass a stun-only rule?  The first must
 * be a whole, well-formed STUN message (RFC 8489; a Binding or Allocate
 * request); later ones STUN or TURN ChannelData (RFC 8656 12.4).
 *
 * Channels 0x5000-0x7fff too (SL_STUN_CHAN_RFC5766): RFC 8656 reserves
 * them, but coturn (4.6) still binds them and its own client picks its
 * channel numbers from the whole range, so three sessions in four of
 * turnutils_uclient had every datagram dropped here (integ 161).  Which
 * channels exist is the server's to say (it drops data on a channel it
 * did not bind); the rule holds the client to TURN's framing.
 */
static int
udp_stun_ok(const uint8_t *buf, size_t len, int first)
{
	struct sl_stun_msg m;
	struct sl_stun_chan c;

	if (sl_stun_msg_parse(buf, len, &m) == SL_PARSE_OK)
		return 1;
	return !first && sl_stun_chan_parse(buf, len, SL_STUN_CHAN_RFC5766,
	    &c) == SL_PARSE_OK;
}

/* Close fd keeping errno; returns -1. */
static int
udp_close_fail(int fd)
{
	int e = errno;

	close(fd);
	errno = e;
	return -1;
}

/*
 * A UDP socket connected to addr:port; before connecting it binds to
 * local:lport with IP_TRANSPARENT (local not one of ours) and
 * SO_REUSEADDR, when local is not NULL.  -1 with errno.
 */
static int
udp_sock(const struct sl_ip *local, uint16_t lport, const struct sl_ip *addr,
    uint16_t port)
{
	struct sockaddr_storage ss;
	int fd, one = 1, v6 = addr->af == AF_INET6;

	fd = socket(addr->af, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    IPPROTO_UDP);
	if (fd == -1)
		return -1;
	if (local != NULL && (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
	    sizeof(one)) == -1 || setsockopt(fd, v6 ? SOL_IPV6 : SOL_IP,
	    v6 ? IPV6_TRANSPARENT : IP_TRANSPARENT, &one, sizeof(one)) == -1 ||
	    bind(fd, (struct sockaddr *)&ss, sl_ip_to_sa(local, lport,
	    &ss)) == -1))
		return udp_close_fail(fd);
	if (connect(fd, (struct sockaddr *)&ss, sl_ip_to_sa(addr, port,
	    &ss)) == -1)
		return udp_close_fail(fd);
	return fd;
}

/* Count and send one datagram from the client upstream. */
static void
udp_send_up(struct udp_sess *s, const uint8_t *buf, size_t len)
{
	if ((s->dec.mods & SL_MOD_STUN_ONLY) && !udp_stun_ok(buf, len, 0)) {
		s->u->st.not_stun++;
		return;
	}
	if (send(s->ufd, buf, len, 0) == -1) {
		s->u->st.send_drop++;
		return;
	}
	s->up += len;
	s->pkts_up++;
}

/* Open the two sockets of a spliced session, send what was held. */
static int
udp_sess_splice(struct udp_sess *s)
{
	struct sl_udp *u = s->u;
	struct event_base *base = u->wk->base;
	const struct sl_udp_key *k = &s->ent.key;
	unsigned mark = s->rt->set->so_mark;
	char c[SL_ADDR_STRLEN], d[SL_ADDR_STRLEN];
	const char *what;

	/*
	 * Upstream: from the gateway's own address, as the TCP transparent
	 * path connects (and with its so-mark).  Towards the client: bound
	 * to the original destination, so replies leave from the address
	 * the client sent to (SO_REUSEADDR: every client of one server has
	 * one), connected to the client.
	 */
	what = "upstream socket";
	if ((s->ufd = udp_sock(NULL, 0, &k->dst, k->dport)) == -1)
		goto fail;
	/* As on the TCP path, a mark that cannot be set (SO_MARK needs
	 * CAP_NET_ADMIN, gone with the user) does not stop the flow. */
	if (mark != 0 && setsockopt(s->ufd, SOL_SOCKET, SO_MARK, &mark,
	    sizeof(mark)) == -1)
		u->st.errors++;
	what = "transparent socket towards the client";
	if ((s->cfd = udp_sock(&k->dst, k->dport, &k->cli, k->cport)) == -1)
		goto fail;
	what = "event";
	s->cev = event_new(base, s->cfd, EV_READ | EV_PERSIST, udp_sess_cb, s);
	s->uev = event_new(base, s->ufd, EV_READ | EV_PERSIST, udp_sess_cb, s);
	if (s->cev == NULL || s->uev == NULL || event_add(s->cev, NULL) == -1 ||
	    event_add(s->uev, NULL) == -1)
		goto fail;
	s->state = UDP_FORWARDING;
	for (size_t i = 0; i < s->nheld; i++)
		udp_send_up(s, s->held[i].buf, s->held[i].len);
	udp_held_clear(s);
	sl_debug(SL_CAT_FLOW, "flow=%llu udp %s -> %s splice rule=%s",
	    (unsigned long long)s->id,
	    sl_ipport_fmt(&s->ent.key.cli, s->ent.key.cport, c, sizeof(c)),
	    sl_ipport_fmt(&s->ent.key.dst, s->ent.key.dport, d, sizeof(d)),
	    s->dec.rule_name);
	return 0;
fail:
	u->st.errors++;
	/* Out of descriptors, every new 5-tuple fails: once a second. */
	if (sl_mono_ms() - u->err_logged < 1000)
		return -1;
	u->err_logged = sl_mono_ms();
	sl_log(SL_LOG_WARN, "flow=%llu udp %s -> %s: %s: %s (more such "
	    "errors are counted)",
	    (unsigned long long)s->id,
	    sl_ipport_fmt(&s->ent.key.cli, s->ent.key.cport, c, sizeof(c)),
	    sl_ipport_fmt(&s->ent.key.dst, s->ent.key.dport, d, sizeof(d)),
	    what, strerror(errno));
	return -1;
}

/* ------------------------------------------------------------------ */
/* deciding                                                             */

static void
udp_facts(const struct sl_udp *u, const struct sl_udp_key *k,
    const char *name, unsigned known, struct sl_facts *f)
{
	memset(f, 0, sizeof(*f));
	f->proto = IPPROTO_UDP;
	f->port = k->dport;
	f->src = k->cli;
	f->dst = k->dst;
	f->dst_local = sl_rt_is_local(u->wk->rt, &k->dst);
	f->name = name;
	/* No URL, user or GeoIP for a datagram: final and absent. */
	f->known = known | SL_FACT_DST_IP | SL_FACT_URL | SL_FACT_USER |
	    SL_FACT_GEO;
}

static int
udp_rank(const struct sl_decision *d)
{
	return d->action == SL_ACT_DENY ? 2 : d->action == SL_ACT_INSPECT;
}

/*
 * What a decision means for UDP: splice forwards; deny drops; inspect
 * cannot apply to datagrams and drops too (reason udp_not_inspectable)
 * unless the admin set udp-inspect splice.  Returns the reason to refuse
 * with, or NULL to forward.
 */
static const char *
udp_refusal(const struct sl_udp *u, const struct sl_decision *d)
{
	if (d->action == SL_ACT_DENY)
		return d->reason != NULL ? d->reason : "policy";
	if (d->action == SL_ACT_INSPECT &&
	    u->wk->rt->set->udp_inspect == SL_FALLBACK_DENY)
		return "udp_not_inspectable";
	return NULL;
}

/* What the first datagram is, for the log. */
static enum sl_ev_proto
udp_proto_of(const uint8_t *buf, size_t len, uint16_t dport)
{
	struct sl_stun_hdr h;
	uint32_t v;

	if (sl_stun_peek(buf, len, &h) == SL_PARSE_OK)
		return SL_EV_PROTO_STUN;
	/*
	 * A long header (RFC 9000 17.2) to 443: with the fixed bit, or
	 * without it and a version whose Initial we read (RFC 9287 3.1: a
	 * client with a NEW_TOKEN token of a server that sent
	 * grease_quic_bit may clear it in its Initials; decided by address,
	 * such a client would not meet a rule that names its host).
	 */
	if (dport != UDP_QUIC_PORT || len == 0 || !(buf[0] & 0x80))
		return SL_EV_PROTO_UDP;
	if (buf[0] & 0x40)
		return SL_EV_PROTO_QUIC;
	if (len < 5)
		return SL_EV_PROTO_UDP;
	v = (uint32_t)buf[1] << 24 | (uint32_t)buf[2] << 16 |
	    (uint32_t)buf[3] << 8 | buf[4];
	return v == SL_TLS_QUIC_V1 || v == SL_TLS_QUIC_V2 ?
	    SL_EV_PROTO_QUIC : SL_EV_PROTO_UDP;
}

/*
 * s (pending) is decided as dec: refuse its held datagrams, or forward
 * them.  The session ends unless it now forwards.
 */
static void
udp_sess_decided(struct udp_sess *s, const struct sl_decision *dec,
    const char *why)
{
	struct sl_udp *u = s->u;
	const char *reason;

	udp_pending_unlink(s);
	sl_free(s->quic);
	s->quic = NULL;
	s->dec = *dec;
	/* A refusal that a failed name check led to says so. */
	if ((reason = udp_refusal(u, dec)) != NULL && why != NULL)
		reason = why;
	if (reason != NULL) {
		struct udp_why w = { s->rt, dec, s->proto, reason, s->sni };

		for (size_t i = 0; i < s->nheld; i++)
			udp_refuse(u, &s->ent.key, s->held[i].len, &w);
		udp_sess_end(s, 'P');
		return;
	}
	if (why != NULL)
		s->reason = why;
	if (udp_sess_splice(s) == -1)
		udp_sess_end(s, 'R');
}

static void
udp_dns_cb(void *arg, const struct sl_dns_result *res)
{
	struct udp_sess *s = arg;
	struct sl_decision named = s->dec;

	s->dns = NULL;
	if (sl_dns_has(res, &s->ent.key.dst)) {
		udp_sess_decided(s, &named, NULL);
		return;
	}
	/* The name granted more than the address: it must not buy it. */
	udp_sess_decided(s, &s->ipdec, "sni_mismatch");
}

/*
 * The QUIC Initial is read (name: its SNI, normalised) or will not be
 * (name NULL).  A name can restrict (a deny rule that names it holds
 * wherever it is sent); it grants more than the address alone only if it
 * resolves to the destination (docs/policy.md, "Names the client claims").
 */
static void
udp_quic_decide(struct udp_sess *s, const char *name)
{
	struct sl_udp *u = s->u;
	struct sl_decision dec;
	struct sl_facts f;
	struct sl_dns_result res;
	int done = 0;

	udp_facts(u, &s->ent.key, NULL, SL_FACT_NAME, &f);
	sl_policy_decide(s->rt->pol, &f, &s->ipdec);
	if (name == NULL) {
		udp_sess_decided(s, &s->ipdec, NULL);
		return;
	}
	if ((s->sni = sl_strdup(name)) == NULL) {
		u->st.errors++;
		udp_sess_end(s, 'R');
		return;
	}
	f.name = s->sni;
	sl_policy_decide(s->rt->pol, &f, &dec);
	if (udp_rank(&dec) >= udp_rank(&s->ipdec) ||
	    !(dec.mods & SL_MOD_SNI_CHECK)) {
		udp_sess_decided(s, &dec, NULL);
		return;
	}
	s->dec = dec;
	s->dns = sl_dns_lookup(u->wk->dns, s->sni, udp_dns_cb, s, &res, &done);
	if (done) {
		udp_dns_cb(s, &res);
		return;
	}
	if (s->dns == NULL) {
		u->st.errors++;
		udp_sess_end(s, 'R');
		return;
	}
	/* Pending until the answer; held datagrams wait with it. */
}

/*
 * The hello will not be read whole (peek-timeout, no room to hold more,
 * or the reader refused a datagram).  If part of a ClientHello came, the
 * session is refused, as an incomplete ClientHello is on TCP, and not
 * decided by address alone: a client whose hello spans two datagrams and
 * gets no answer retransmits them one PTO apart (1, 2, 4, 8 s), so the
 * first half of a denied name's hello comes alone, and the address's
 * decision (a splice of that server) would take the second half, and the
 * handshake, with it.  No hello byte at all (a hello without SNI is
 * whole): decided by address.
 */
static void
udp_quic_unread(struct udp_sess *s)
{
	struct sl_decision dec;

	if (s->quic->end == 0 || s->quic->rc == SL_PARSE_OK) {
		udp_quic_decide(s, NULL);
		return;
	}
	memset(&dec, 0, sizeof(dec));
	dec.action = SL_ACT_DENY;
	dec.reason = "quic_hello_incomplete";
	udp_sess_decided(s, &dec, NULL);
}

/* Feed one datagram of a pending QUIC session; it may be decided. */
static void
udp_quic_feed(struct udp_sess *s, const uint8_t *buf, size_t len)
{
	char name[256];
	enum sl_parse_rc rc;

	if (s->nheld == UDP_HELD_MAX || s->held_bytes + len > UDP_HELD_BYTES ||
	    (s->held[s->nheld].buf = sl_alloc(len ? len : 1)) == NULL) {
		s->u->st.send_drop++;
		/* No room to read further. */
		if (s->quic != NULL && s->dns == NULL)
			udp_quic_unread(s);
		return;
	}
	memcpy(s->held[s->nheld].buf, buf, len);
	s->held_bytes += len;
	s->held[s->nheld++].len = len;
	if (s->quic == NULL || s->dns != NULL)
		return;		/* read, the name being checked */
	rc = sl_tls_quic_parse(s->quic, buf, len);
	if (rc == SL_PARSE_MORE && s->nheld < UDP_HELD_MAX)
		return;
	if (rc == SL_PARSE_OK && s->quic->hello.has_sni &&
	    sl_name_normalise(s->quic->hello.sni, strlen(s->quic->hello.sni),
	    name, sizeof(name)) == 0) {
		udp_quic_decide(s, name);
		return;
	}
	sl_debug(SL_CAT_FLOW, "flow=%llu quic: no name (%s)",
	    (unsigned long long)s->id, s->quic->err ? s->quic->err : "-");
	udp_quic_unread(s);
}

/* The first datagram of a 5-tuple: decide, and forward or refuse it. */
static void
udp_first(struct sl_udp *u, const struct sl_udp_key *k, const uint8_t *buf,
    size_t len, uint64_t now)
{
	struct sl_decision dec;
	struct sl_facts f;
	enum sl_ev_proto proto = udp_proto_of(buf, len, k->dport);
	const char *reason = NULL;
	struct udp_sess *s;
	int quic = proto == SL_EV_PROTO_QUIC;

	udp_facts(u, k, NULL, quic ? 0 : SL_FACT_NAME, &f);
	sl_policy_decide(u->wk->rt->pol, &f, &dec);
	if (quic && !(dec.need & SL_FACT_NAME))
		quic = 0;	/* no rule before the decision names hosts */
	if (quic && u->npending >= UDP_PENDING_MAX) {
		u->st.pending_full++;
		quic = 0;	/* decided by address, as if unreadable */
		udp_facts(u, k, NULL, SL_FACT_NAME, &f);
		sl_policy_decide(u->wk->rt->pol, &f, &dec);
	}
	if (!quic && (reason = udp_refusal(u, &dec)) == NULL &&
	    (dec.mods & SL_MOD_STUN_ONLY) && !udp_stun_ok(buf, len, 1)) {
		u->st.not_stun++;
		reason = "not_stun";
	}
	if (reason != NULL || (s = udp_sess_new(u, k, now)) == NULL) {
		struct udp_why w = { u->wk->rt, &dec, proto,
		    reason != NULL ? reason : "udp_no_session", NULL };

		udp_refuse(u, k, len, &w);
		return;
	}
	s->proto = proto;
	s->dec = dec;
	if (!quic) {
		if (udp_sess_splice(s) == -1) {
			udp_sess_end(s, 'R');
			return;
		}
		udp_send_up(s, buf, len);
		return;
	}
	if ((s->quic = sl_alloc(sizeof(*s->quic))) == NULL) {
		u->st.errors++;
		udp_sess_end(s, 'R');
		return;
	}
	sl_tls_quic_init(s->quic);
	s->deadline = now + s->rt->set->peek_timeout;
	s->pnext = u->pending;
	if (u->pending != NULL)
		u->pending->pprev = &s->pnext;
	u->pending = s;
	s->pprev = &u->pending;
	u->npending++;
	udp_quic_feed(s, buf, len);
}

/* ------------------------------------------------------------------ */
/* reading                                                              */

/* Ready b for recvmmsg (names and control data when listening). */
static void
udp_batch_prep(struct udp_batch *b, int listening)
{
	for (int i = 0; i < UDP_BATCH; i++) {
		struct msghdr *h = &b->msg[i].msg_hdr;

		b->iov[i].iov_base = b->buf[i];
		b->iov[i].iov_len = UDP_DGRAM_MAX;
		memset(h, 0, sizeof(*h));
		h->msg_iov = &b->iov[i];
		h->msg_iovlen = 1;
		if (listening) {
			h->msg_name = &b->name[i];
			h->msg_namelen = sizeof(b->name[i]);
			h->msg_control = b->ctl[i];
			h->msg_controllen = UDP_CTL_LEN;
		}
	}
}

/* The original destination in h's control data: 0, or -1 if absent. */
static int
udp_origdst(struct msghdr *h, struct sl_ip *ip, uint16_t *port)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c != NULL;
	    c = CMSG_NXTHDR(h, c)) {
		if ((c->cmsg_level == SOL_IP &&
		    c->cmsg_type == IP_ORIGDSTADDR) ||
		    (c->cmsg_level == SOL_IPV6 &&
		    c->cmsg_type == IPV6_ORIGDSTADDR)) {
			struct sockaddr_storage ss;
			size_t n = c->cmsg_len - CMSG_LEN(0);

			memset(&ss, 0, sizeof(ss));
			memcpy(&ss, CMSG_DATA(c), n < sizeof(ss) ? n :
			    sizeof(ss));
			sl_ip_from_sa(ip, port, (struct sockaddr *)&ss);
			return ip->af != 0 ? 0 : -1;
		}
	}
	return -1;
}

/* One datagram on a listener. */
static void
udp_listen_one(struct sl_udp *u, const struct sl_wk_listener *l,
    struct mmsghdr *m, const uint8_t *buf, uint64_t now)
{
	struct msghdr *h = &m->msg_hdr;
	struct sl_udptab_ent *e;
	struct sl_decision none;
	struct sl_udp_key k;

	if (h->msg_flags & MSG_TRUNC) {
		u->st.truncated++;
		return;
	}
	memset(&k, 0, sizeof(k));
	sl_ip_from_sa(&k.cli, &k.cport, (struct sockaddr *)h->msg_name);
	if (k.cli.af == 0 || udp_origdst(h, &k.dst, &k.dport) == -1) {
		u->st.no_origdst++;
		return;
	}
	if ((e = sl_udptab_find(&u->tab, &k)) != NULL) {
		struct udp_sess *s = (struct udp_sess *)e;

		sl_udptab_touch(&u->tab, e, now);
		if (s->state == UDP_FORWARDING)
			udp_send_up(s, buf, m->msg_len);
		else
			udp_quic_feed(s, buf, m->msg_len);
		return;
	}
	if (l->conf == NULL || !sl_cidrset_has(l->conf->allow_from, &k.cli)) {
		struct udp_why w = { u->wk->rt, &none, SL_EV_PROTO_UDP,
		    l->conf == NULL ? "listener_removed" :
		    "client_not_allowed", NULL };

		memset(&none, 0, sizeof(none));
		none.action = SL_ACT_DENY;
		udp_refuse(u, &k, m->msg_len, &w);
		return;
	}
	udp_first(u, &k, buf, m->msg_len, now);
}

void
sl_udp_listen_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sl_wk_listener *l = arg;
	struct sl_udp *u = l->wk->udp;
	struct udp_batch *b = u->b;
	uint64_t now = sl_mono_ms();

	(void)what;
	for (int r = 0; r < UDP_ROUNDS; r++) {
		int n;

		udp_batch_prep(b, 1);
		n = recvmmsg(fd, b->msg, UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		for (int i = 0; i < n; i++)
			udp_listen_one(u, l, &b->msg[i], b->buf[i], now);
		if (n < UDP_BATCH)
			return;
	}
}

/*
 * Make the n datagrams received in b ready to send: each iovec as long as
 * its datagram, truncated ones dropped, and with stun set those that are
 * neither STUN nor ChannelData (counted).  Returns how many are left,
 * first in b->msg.
 */
static int
udp_batch_compact(struct sl_udp *u, struct udp_batch *b, int n, int stun)
{
	int j = 0;

	for (int i = 0; i < n; i++) {
		if (b->msg[i].msg_hdr.msg_flags & MSG_TRUNC) {
			u->st.truncated++;
			continue;
		}
		if (stun && !udp_stun_ok(b->buf[i], b->msg[i].msg_len, 0)) {
			u->st.not_stun++;
			continue;
		}
		b->iov[i].iov_len = b->msg[i].msg_len;
		if (j != i)
			b->msg[j] = b->msg[i];	/* still points at iov[i] */
		j++;
	}
	return j;
}

/*
 * A session's socket is readable: what the client (cfd) or the server
 * (ufd) sent goes to the other side, a batch at a time with one
 * sendmmsg.  An error queued on a connected UDP socket (ICMP port
 * unreachable) is read and forgotten: the session stays until idle.
 */
static void
udp_sess_cb(evutil_socket_t fd, short what, void *arg)
{
	struct udp_sess *s = arg;
	struct sl_udp *u = s->u;
	struct udp_batch *b = u->b;
	int up = fd == s->cfd;
	int to = up ? s->ufd : s->cfd;
	uint64_t bytes = 0;
	int n, m, sent, got = 0;

	(void)what;
	for (int r = 0; r < UDP_ROUNDS; r++) {
		udp_batch_prep(b, 0);
		n = recvmmsg(fd, b->msg, UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			break;
		/* Only the client is held to a stun-only rule. */
		m = udp_batch_compact(u, b, n, up &&
		    (s->dec.mods & SL_MOD_STUN_ONLY));
		sent = 0;
		while (sent < m) {
			int k = sendmmsg(to, b->msg + sent, (unsigned)(m - sent),
			    MSG_DONTWAIT);

			if (k <= 0) {
				/* A full buffer or an error: drop the rest,
				 * as a router would. */
				u->st.send_drop += (uint64_t)(m - sent);
				break;
			}
			for (int i = sent; i < sent + k; i++)
				bytes += b->msg[i].msg_len;
			sent += k;
		}
		got += sent;
		if (n < UDP_BATCH)
			break;
	}
	if (got == 0)
		return;
	if (up) {
		s->up += bytes;
		s->pkts_up += (uint64_t)got;
	} else {
		s->down += bytes;
		s->pkts_down += (uint64_t)got;
	}
	sl_udptab_touch(&u->tab, &s->ent, sl_mono_ms());
}

/* ------------------------------------------------------------------ */
/* lifecycle                                                            */

struct sl_udp *
sl_udp_new(struct sl_worker *wk)
{
	const struct sl_settings *set = wk->rt->set;
	struct sl_udp *u;
	uint64_t seed;

	if ((u = sl_calloc(1, sizeof(*u))) == NULL)
		goto fail;
	u->wk = wk;
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
		seed = (uint64_t)(uintptr_t)u ^ sl_mono_ms();
	if ((u->b = sl_alloc(sizeof(*u->b))) == NULL ||
	    sl_udptab_init(&u->tab, set->udp_max_sessions, seed) == -1 ||
	    sl_udptab_init(&u->blk, set->udp_max_sessions / 4, ~seed) == -1)
		goto fail;
	return u;
fail:
	sl_log(SL_LOG_ERR, "worker %u: udp: out of memory", wk->id);
	sl_udp_free(u);
	return NULL;
}

/* Counters that moved since the last sweep, in one line. */
static void
udp_log_counters(struct sl_udp *u)
{
	struct udp_stats *a = &u->st, *o = &u->st_logged;

	if (memcmp(a, o, sizeof(*a)) == 0)
		return;
	if (a->full != o->full || a->client_full != o->client_full ||
	    a->blk_full != o->blk_full || a->pending_full != o->pending_full)
		sl_log(SL_LOG_WARN, "worker %u: udp: session table full: "
		    "%llu datagram(s) refused at udp-max-sessions (%u), "
		    "%llu at udp-max-sessions-per-client (%u), %llu refusal(s) "
		    "not aggregated, %llu QUIC hello(s) decided by address "
		    "(%d being read)", u->wk->id,
		    (unsigned long long)(a->full - o->full),
		    u->wk->rt->set->udp_max_sessions,
		    (unsigned long long)(a->client_full - o->client_full),
		    u->wk->rt->set->udp_max_sessions_per_client,
		    (unsigned long long)(a->blk_full - o->blk_full),
		    (unsigned long long)(a->pending_full - o->pending_full),
		    UDP_PENDING_MAX);
	if (a->truncated != o->truncated || a->no_origdst != o->no_origdst ||
	    a->send_drop != o->send_drop || a->errors != o->errors ||
	    a->not_stun != o->not_stun)
		sl_log(SL_LOG_INFO, "worker %u: udp: dropped %llu truncated "
		    "(over %d bytes), %llu not STUN on a stun-only rule, %llu "
		    "without original destination, %llu not sent (buffer "
		    "full, error, held too long); %llu error(s) (sockets, "
		    "memory)",
		    u->wk->id,
		    (unsigned long long)(a->truncated - o->truncated),
		    UDP_DGRAM_MAX,
		    (unsigned long long)(a->not_stun - o->not_stun),
		    (unsigned long long)(a->no_origdst - o->no_origdst),
		    (unsigned long long)(a->send_drop - o->send_drop),
		    (unsigned long long)(a->errors - o->errors));
	*o = *a;
}

void
sl_udp_sweep(struct sl_udp *u, uint64_t now)
{
	const struct sl_settings *set = u->wk->rt->set;
	struct sl_udptab_ent *e;
	struct udp_sess *s, *next;

	/* QUIC hellos not read in time: refused, or decided by address. */
	for (s = u->pending; s != NULL; s = next) {
		next = s->pnext;
		if (s->dns == NULL && now >= s->deadline)
			udp_quic_unread(s);
	}
	while ((e = sl_udptab_expired(&u->tab, now, set->udp_idle_timeout)))
		udp_sess_end((struct udp_sess *)e, 'T');
	/* Aggregates are never touched: their order is their age. */
	while ((e = sl_udptab_expired(&u->blk, now,
	    set->udp_blocked_interval)))
		udp_blk_end(u, (struct udp_blk *)e, now);
	udp_log_counters(u);
}

void
sl_udp_free(struct sl_udp *u)
{
	uint64_t now = sl_mono_ms();

	if (u == NULL)
		return;
	if (u->tab.bucket != NULL)
		while (u->tab.oldest != NULL)
			udp_sess_end((struct udp_sess *)u->tab.oldest, 'A');
	if (u->blk.bucket != NULL)
		while (u->blk.oldest != NULL)
			udp_blk_end(u, (struct udp_blk *)u->blk.oldest, now);
	udp_log_counters(u);
	sl_udptab_fini(&u->tab);
	sl_udptab_fini(&u->blk);
	sl_free(u->b);
	sl_free(u);
}
