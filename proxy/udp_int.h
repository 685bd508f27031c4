/*
 * udp_int.h — what the UDP forwarder's files share (udp.c: reading and
 * the forwarder's life; udpsess.c: sessions, refusals and their events;
 * udpdecide.c: the first datagram's decision and QUIC's Initial).  Not
 * an API: udp.h is the worker's.
 */
#ifndef SL_PROXY_UDP_INT_H
#define SL_PROXY_UDP_INT_H

#include <event2/event.h>
#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>

#include "../policy/policy.h"
#include "../tls/tls.h"
#include "dns.h"
#include "sink/sink.h"
#include "udp.h"
#include "udptab.h"

#define UDP_BATCH	32		/* datagrams per recvmmsg */
#define UDP_ROUNDS	4		/* recvmmsg calls per wakeup */
#define UDP_DGRAM_MAX	9216		/* larger ones: truncated, dropped */
#define UDP_CTL_LEN	128		/* room for IP(V6)_ORIGDSTADDR */
#define UDP_HELD_MAX	SL_TLS_QUIC_DGRAMS_MAX	/* QUIC datagrams held */
#define UDP_HELD_BYTES	(24 * 1024)	/* and their bytes, per session */
#define UDP_PENDING_MAX	256		/* QUIC sessions reading a hello,
					   per worker: at most 6 MiB held */
#define UDP_QUIC_PORT	443
#define UDP_GSO_SEGS	64		/* the kernel's UDP_MAX_SEGMENTS */
#define UDP_GSO_BYTES	60000		/* payload per GSO send, under
					   IPv4's and IPv6's 64 KiB */
#define UDP_GSO_CTL_LEN	32		/* CMSG_SPACE(sizeof(uint16_t)) */
#define UDP_GSO_SEG_MAX	1232		/* IPv6's minimum MTU, headers off */

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
	int			 no_gso;	/* its path refused UDP_SEGMENT */
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
	struct sl_udptab_ent	 ent;		/* key: cport = udp_blk_tag */
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
	/* The same datagrams regrouped for sending (udp.c, udp_gso_group):
	 * a run of equal sizes is one message with UDP_SEGMENT. */
	struct mmsghdr		 out[UDP_BATCH];
	struct iovec		 oiov[UDP_BATCH];
	uint8_t			 octl[UDP_BATCH][UDP_GSO_CTL_LEN];
	int			 ocount[UDP_BATCH];	/* datagrams per out[] */
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
	int			 no_gso;	/* UDP_SEGMENT refused once */
	struct sl_udptab	 tab;		/* struct udp_sess */
	struct sl_udptab	 blk;		/* struct udp_blk */
	struct udp_sess		*pending;
	size_t			 npending;
	struct udp_batch	*b;
	struct udp_stats	 st, st_logged;
	uint64_t		 err_logged;	/* mono ms, rate limit */
};

/* Why a datagram is refused: dec is borrowed from rt's policy. */
/* Why a datagram is refused: dec is borrowed from rt's policy. */
struct udp_why {
	struct sl_rt			*rt;
	const struct sl_decision	*dec;
	enum sl_ev_proto		 proto;
	const char			*reason;	/* static */
	const char			*sni;		/* QUIC, or NULL */
};

/* --- udpsess.c --------------------------------------------------------- */

/*
 * One refused datagram: counted into its (client address, destination)
 * aggregate, reported when the interval ends (sl_udp_sweep).
 */
void	udp_refuse(struct sl_udp *u, const struct sl_udp_key *k, size_t len,
	    const struct udp_why *w);
/* Report an aggregate of refusals and free it. */
void	udp_blk_end(struct sl_udp *u, struct udp_blk *b, uint64_t now);
/* A new session for k (UDP_PENDING), or NULL (limits: refused). */
struct udp_sess *udp_sess_new(struct sl_udp *u, const struct sl_udp_key *k,
	    uint64_t now);
/* End s: its event if it forwarded, then every resource.  who: term. */
void	udp_sess_end(struct udp_sess *s, char who);
/* Open the two sockets of a spliced session, send what was held. */
int	udp_sess_splice(struct udp_sess *s);
/* Count and send one datagram from the client upstream. */
void	udp_send_up(struct udp_sess *s, const uint8_t *buf, size_t len);
/* Off the pending list (a QUIC session decided or ended). */
void	udp_pending_unlink(struct udp_sess *s);
/* Does a datagram from the client pass a stun-only rule? */
int	udp_stun_ok(const uint8_t *buf, size_t len, int first);

/* --- udpdecide.c ------------------------------------------------------- */

/* The first datagram of a 5-tuple: decide, and forward or refuse it. */
void	udp_first(struct sl_udp *u, const struct sl_udp_key *k,
	    const uint8_t *buf, size_t len, uint64_t now);
/* Feed one datagram of a pending QUIC session; it may be decided. */
void	udp_quic_feed(struct udp_sess *s, const uint8_t *buf, size_t len);
/* The hello will not be read whole: refused, or decided by address. */
void	udp_quic_unread(struct udp_sess *s);

/* --- udp.c ------------------------------------------------------------- */

/* A session's socket is readable. */
void	udp_sess_cb(evutil_socket_t fd, short what, void *arg);

#endif
