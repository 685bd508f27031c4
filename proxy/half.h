/*
 * half.h — one side of a flow: a socket and the transport that carries
 * its bytes.  A flow has two halves of this one type, client-facing and
 * server-facing, so that one set of relay callbacks serves both
 * directions (after sslsplit's src/dst).
 *
 * Transports:
 *   RAW  a plain socket with two events inside the half.  Setup phases
 *        read it with recv(); two RAW halves relay with splice(2), the
 *        bytes never entering user space.
 *   BUF  a socket bufferevent (user-space buffers, watermarks, timeouts):
 *        the HTTP forwarder, and a relay where either side is buffered.
 *   TLS  an OpenSSL bufferevent (inspection) over the socket itself
 *        (a peeked ClientHello goes in through a BIO in front of the
 *        socket's: sl_half_tls_accept), or as a filter over a BUF half
 *        whose input already holds bytes.
 *   UDP  a datagram session (the UDP forwarding issue).
 * A RAW half can become BUF in place (sl_half_buffer): same fd, same
 * owner, the bytes it already holds kept.  The half always owns its fd;
 * no fd ever changes owner.
 *
 * Byte counting: `sent` counts the bytes written towards this half's
 * socket (RAW), or queued in its output (BUF: sl_half_sent() subtracts
 * what is still queued).  A flow's `up` is what its server half was sent,
 * `down` what its client half was sent (docs/logs.md).
 */
#ifndef SL_HALF_H
#define SL_HALF_H

#include <event2/event_struct.h>
#include <stddef.h>
#include <stdint.h>

#include "../lib/attr.h"

struct bufferevent;
struct evbuffer;
struct ssl_st;
struct sl_flow;
struct sl_half;

enum sl_half_kind {
	SL_HALF_NONE = 0,	/* no socket (yet, or any more) */
	SL_HALF_RAW,
	SL_HALF_BUF,
	SL_HALF_TLS,		/* TLS inspection (half.c: sl_half_tls) */
	SL_HALF_UDP,		/* reserved: UDP forwarding */
};

/* Phase handlers: what this half's readiness means right now. */
typedef void (*sl_half_fn)(struct sl_half *h);
typedef void (*sl_half_event_fn)(struct sl_half *h, short what);

struct sl_half {
	struct sl_flow		*flow;		/* back pointer */
	struct sl_half		*peer;		/* the other half; never NULL */
	int			 fd;		/* -1 when none */
	uint8_t			 kind;		/* enum sl_half_kind */
	uint8_t			 is_srv;	/* server-facing */
	unsigned		 eof:1;		/* its peer sent FIN: no more
						   bytes to read from it */
	unsigned		 shut:1;	/* we shut its write side */
	struct event		 ev_rd, ev_wr;	/* RAW; assigned while fd != -1 */
	struct bufferevent	*bev;		/* BUF: owns fd (CLOSE_ON_FREE) */
	sl_half_fn		 on_read;	/* readable (RAW), input (BUF) */
	sl_half_fn		 on_write;	/* writable (RAW), output at or
						   below its low watermark (BUF) */
	sl_half_event_fn	 on_event;	/* BUF: EOF, error, timeout */

	/* bytes towards this half */
	uint64_t		 sent;		/* see above */
	size_t			 own;		/* BUF: our own bytes at the tail
						   of the output, not counted */
	char			*pre;		/* RAW: to send before any splice */
	uint32_t		 pre_len, pre_off;

	/* bytes from this half, read and not yet written to the peer */
	int			 pipe[2];	/* RAW relay; -1 when not held */
	uint32_t		 inpipe;
};

/* Both halves of a new flow: no sockets, peers linked. */
void	sl_half_init_pair(struct sl_flow *flow, struct sl_half *cli,
	    struct sl_half *srv) SL_NONNULL(1, 2, 3);

/*
 * Give an empty half a socket, RAW; the half owns fd from now on.  Its
 * read event calls on_read (set by sl_half_watch).
 */
void	sl_half_set_raw(struct sl_half *h, int fd) SL_NONNULL(1);

/*
 * Give an empty half a socket, BUF (a bufferevent that owns fd; on
 * failure fd is closed).  0, or -1 (no memory).
 */
int	sl_half_set_buffered(struct sl_half *h, int fd) SL_NONNULL(1) SL_WUR;

/*
 * The half speaks TLS from now on, on its socket: as the server towards
 * the client (accepting), or as the client towards the origin.  ssl is
 * the half's from now on, even on failure.  A RAW half's socket carries
 * the TLS bufferevent directly; a BUF half gets a filter over its
 * bufferevent, whose input (bytes put back with sl_half_unread) the TLS
 * layer reads first.  Handlers as for BUF; reading starts off.  0, or -1
 * (no memory; the half keeps its socket).
 */
int	sl_half_tls(struct sl_half *h, struct ssl_st *ssl, int accepting)
	    SL_NONNULL(1, 2) SL_WUR;
/*
 * The half answers TLS as the server from now on; pre[0..len) are the
 * client's first bytes, read from the socket already (the ClientHello),
 * and the handshake reads them first.  A RAW half gets the TLS
 * bufferevent on its socket directly (the bytes go in through a BIO in
 * front of the socket's); a half that is buffered already, or still has
 * a prefix of its own to send, gets the filter of sl_half_tls().  ssl is
 * the half's from now on, even on failure.  The handshake starts when the
 * bufferevent is enabled.  0, or -1 (no memory).
 */
int	sl_half_tls_accept(struct sl_half *h, struct ssl_st *ssl,
	    const void *pre, size_t len) SL_NONNULL(1, 2) SL_WUR;
/* The half's SSL object (borrowed), or NULL. */
struct ssl_st *sl_half_ssl(const struct sl_half *h) SL_NONNULL(1);

/*
 * A RAW half becomes BUF on the same fd: its events are removed, a
 * prefix not yet sent goes first in the output.  Nothing may be in its
 * pipe.  Nothing to do on a BUF or TLS half.  0, or -1 (no memory; the
 * half is unchanged).
 */
int	sl_half_buffer(struct sl_half *h) SL_NONNULL(1) SL_WUR;

/*
 * Close the socket and everything the half holds (events, bufferevent,
 * pipe, prefix); handlers are cleared first so no late callback reaches
 * a freed flow.  `sent` keeps what really left (bytes still queued are
 * taken off).  The half can be given a new socket.  Idempotent.
 */
void	sl_half_close(struct sl_half *h) SL_NONNULL(1);

/* Bytes that left towards this half's socket (see above). */
uint64_t sl_half_sent(const struct sl_half *h) SL_NONNULL(1);

/* Bytes waiting in a BUF half's output (0 otherwise). */
size_t	sl_half_unsent(const struct sl_half *h) SL_NONNULL(1);

/*
 * RAW: call fn whenever the socket is readable, from now on (the event
 * is added once; a later call only changes the handler).  0, or -1 after
 * closing the flow.
 */
int	sl_half_watch(struct sl_half *h, sl_half_fn fn) SL_NONNULL(1, 2);
/* RAW: stop watching (the handler stays).  Idempotent. */
void	sl_half_unwatch(struct sl_half *h) SL_NONNULL(1);

/* BUF: the handlers, and reading on or off. */
void	sl_half_setcb(struct sl_half *h, sl_half_fn rd, sl_half_fn wr,
	    sl_half_event_fn ev) SL_NONNULL(1);
void	sl_half_read_on(struct sl_half *h, int on) SL_NONNULL(1);

/* BUF: the input and output buffers. */
struct evbuffer *sl_half_input(const struct sl_half *h) SL_NONNULL(1);
struct evbuffer *sl_half_output(const struct sl_half *h) SL_NONNULL(1);

/*
 * BUF: queue bytes towards this half, counted in `sent` (own: our own
 * text, not counted and kept last).  0, or -1 (no memory).
 */
int	sl_half_write(struct sl_half *h, const void *buf, size_t len)
	    SL_NONNULL(1, 2) SL_WUR;
int	sl_half_write_own(struct sl_half *h, const void *buf, size_t len)
	    SL_NONNULL(1, 2) SL_WUR;
/* BUF: move everything in `from` to this half's output, counted. */
int	sl_half_write_buffer(struct sl_half *h, struct evbuffer *from)
	    SL_NONNULL(1, 2) SL_WUR;
/* BUF: move the first n bytes of `from` there, counted. */
int	sl_half_move(struct sl_half *h, struct evbuffer *from, size_t n)
	    SL_NONNULL(1, 2) SL_WUR;

/*
 * BUF: put bytes already read from this half's socket (while it was RAW)
 * in front of what it reads next.  0, or -1 (no memory).
 */
int	sl_half_unread(struct sl_half *h, const void *buf, size_t len)
	    SL_NONNULL(1) SL_WUR;

/* Shut down the write side (FIN towards this half's peer).  Once. */
void	sl_half_shutdown(struct sl_half *h) SL_NONNULL(1);
/* End the direction with a FIN alone; for TLS without close_notify (its
 * source ended so: a truncation must stay visible); call once drained.
 * sl_half_shutdown() is this for RAW and BUF halves. */
void	sl_half_fin(struct sl_half *h) SL_NONNULL(1);
/* BUF, TLS: has everything queued gone to the socket (a TLS filter's
 * records included)?  on_write is called again when it has. */
int	sl_half_drained(const struct sl_half *h) SL_NONNULL(1);

#endif /* SL_HALF_H */
