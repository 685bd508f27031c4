/*
 * udpsess.c — UDP sessions (docs/design/udp.md): made, spliced (an
 * upstream socket and a client-facing one bound to the original
 * destination), ended with their flow.end; and refusals, aggregated per
 * client address, destination and interval into one flow.blocked.
 */
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../lib/alloc.h"
#include "../lib/clock.h"
#include "../lib/log.h"
#include "../policy/config.h"
#include "../policy/policy.h"
#include "../stun/stun.h"
#include "dns.h"
#include "udp_int.h"
#include "udptab.h"
#include "worker.h"

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


/*
 * The aggregate's port slot (a refusal has no use for the client's port):
 * 0, or for a refused QUIC Initial a tag of its name, so that each name a
 * client is refused at one destination is its own flow.blocked (the
 * issue: once per client and name per interval).  Two names with one
 * tag share an event under the first name: a cost only to the log.
 */
static uint16_t
udp_blk_tag(const char *sni)
{
	uint32_t h = 2166136261u;		/* FNV-1a */

	if (sni == NULL)
		return 0;
	for (const char *p = sni; *p != '\0'; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	return (uint16_t)(1 + h % 65535);
}

/*
 * One refused datagram: counted into its (client address, destination)
 * aggregate, reported when the interval ends (sl_udp_sweep), so a flood
 * is one line per interval, not one per datagram.  The aggregate keeps
 * the first datagram's reason, rule and name.
 */
void
udp_refuse(struct sl_udp *u, const struct sl_udp_key *k, size_t len,
    const struct udp_why *w)
{
	const struct sl_settings *set = u->wk->rt->set;
	struct sl_udp_key bk = *k;
	struct sl_udptab_ent *e;
	struct udp_blk *b;

	bk.cport = udp_blk_tag(w->sni);
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

void
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

void
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
void
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

struct udp_sess *
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
int
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
void
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
int
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
