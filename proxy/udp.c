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
#include <netinet/udp.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "../lib/alloc.h"
#include "../lib/clock.h"
#include "../lib/log.h"
#include "../policy/config.h"
#include "../policy/policy.h"
#include "udp_int.h"
#include "udptab.h"
#include "worker.h"

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
 * Regroup the m datagrams of b for sending: consecutive datagrams of one
 * size (the last of a run may be shorter) become one message with
 * UDP_SEGMENT, which the kernel sends as those datagrams after one trip
 * down the stack instead of one trip each.  That is the shape of a
 * video frame over RTP (full packets, then the rest) and of a bulk QUIC
 * flight.  Datagrams i..m-1 go to b->out from g on; with gso 0 each is
 * a message of its own.  Returns the end of b->out.
 */
static int
udp_gso_group(struct udp_batch *b, int i, int m, int g, int gso)
{
	while (i < m) {
		struct msghdr *h = &b->out[g].msg_hdr;
		size_t seg = b->msg[i].msg_len, total = 0;
		/* Empty datagrams and ones over the smallest IPv6 path
		 * (1280 - 48) are never grouped: a segment must fit the
		 * route's MTU, as it is not fragmented. */
		int run = gso && seg > 0 && seg <= UDP_GSO_SEG_MAX, k = 0;

		memset(h, 0, sizeof(*h));
		h->msg_iov = &b->oiov[i];
		while (i < m && k < UDP_GSO_SEGS &&
		    total + b->msg[i].msg_len <= UDP_GSO_BYTES &&
		    (k == 0 || (run && b->msg[i].msg_len <= seg))) {
			size_t len = b->msg[i].msg_len;

			b->oiov[i] = *b->msg[i].msg_hdr.msg_iov;
			total += len;
			k++;
			i++;
			if (len < seg)
				break;		/* a shorter one ends a run */
		}
		h->msg_iovlen = (size_t)k;
		b->ocount[g] = k;
		if (k > 1) {
			struct cmsghdr *c = (struct cmsghdr *)(void *)b->octl[g];
			uint16_t sz = (uint16_t)seg;

			h->msg_control = b->octl[g];
			h->msg_controllen = CMSG_SPACE(sizeof(sz));
			c->cmsg_level = SOL_UDP;
			c->cmsg_type = UDP_SEGMENT;
			c->cmsg_len = CMSG_LEN(sizeof(sz));
			memcpy(CMSG_DATA(c), &sz, sizeof(sz));
		}
		g++;
	}
	return g;
}

/*
 * UDP_SEGMENT refused with err: EINVAL when a segment does not fit the
 * route's MTU (this session's path: it sends singly from now on), EIO
 * when the device cannot checksum GSO packets (every session of the
 * worker, said once).
 */
static void
udp_gso_refused(struct udp_sess *s, int err)
{
	struct sl_udp *u = s->u;

	if (err == EINVAL) {
		s->no_gso = 1;
		sl_debug(SL_CAT_FLOW, "flow=%llu udp: UDP_SEGMENT refused (%s): "
		    "sent one by one", (unsigned long long)s->id,
		    strerror(err));
		return;
	}
	u->no_gso = 1;
	sl_log(SL_LOG_WARN, "worker %u: udp: the device refuses UDP_SEGMENT "
	    "(%s): datagrams are sent one by one", u->wk->id, strerror(err));
}

/*
 * A session's socket is readable: what the client (cfd) or the server
 * (ufd) sent goes to the other side, a batch at a time with one
 * sendmmsg, runs of equal sizes as one GSO message each (udp_gso_group).
 * A kernel or device that refuses UDP_SEGMENT (EIO, EINVAL) turns it off
 * for the worker, and the batch goes again datagram by datagram.  An
 * error queued on a connected UDP socket (ICMP port unreachable) is read
 * and forgotten: the session stays until idle.
 */
void
udp_sess_cb(evutil_socket_t fd, short what, void *arg)
{
	struct udp_sess *s = arg;
	struct sl_udp *u = s->u;
	struct udp_batch *b = u->b;
	int up = fd == s->cfd;
	int to = up ? s->ufd : s->cfd;
	uint64_t bytes = 0;
	int n, m, g, sent, first, got = 0;

	(void)what;
	for (int r = 0; r < UDP_ROUNDS; r++) {
		udp_batch_prep(b, 0);
		n = recvmmsg(fd, b->msg, UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			break;
		/* Only the client is held to a stun-only rule. */
		m = udp_batch_compact(u, b, n, up &&
		    (s->dec.mods & SL_MOD_STUN_ONLY));
		g = udp_gso_group(b, 0, m, 0, !u->no_gso && !s->no_gso);
		sent = first = 0;
		for (int done = 0; done < g;) {
			int k = sendmmsg(to, b->out + done, (unsigned)(g - done),
			    MSG_DONTWAIT);

			if (k <= 0 && (errno == EIO || errno == EINVAL) &&
			    b->ocount[done] > 1) {
				udp_gso_refused(s, errno);
				/* The rest again, one datagram a message. */
				for (int i = 0; i < done; i++)
					first += b->ocount[i];
				g = udp_gso_group(b, first, m, done, 0);
				continue;
			}
			if (k <= 0) {
				/* A full buffer or an error: drop the rest,
				 * as a router would. */
				u->st.send_drop += (uint64_t)(m - sent);
				break;
			}
			for (int i = done; i < done + k; i++) {
				for (size_t j = 0; j < b->out[i].msg_hdr.msg_iovlen;
				    j++)
					bytes += b->out[i].msg_hdr.msg_iov[j].iov_len;
				sent += b->ocount[i];
			}
			done += k;
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
