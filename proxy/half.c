/*
 * half.c — the two halves of a flow: sockets, transports, handlers and
 * byte counts (half.h).
 */
#include <errno.h>
#include <limits.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/bufferevent_struct.h>
#include <event2/event.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../lib/alloc.h"
#include "../lib/log.h"
#include "../policy/config.h"
#include "flow.h"
#include "half.h"
#include "worker.h"

static void
half_noop_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

static void
half_rd_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sl_half *h = arg;

	(void)fd;
	(void)what;
	h->on_read(h);
}

static void
half_wr_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sl_half *h = arg;

	(void)fd;
	(void)what;
	h->on_write(h);
}

/*
 * TLS reads ahead (tls/ctx.c): OpenSSL may hold whole records it has
 * read from the socket but not yet decrypted, which no epoll event will
 * announce.  libevent 2.1 drains only SSL_pending (the rest of the
 * current record), and re-enabling a socket TLS bufferevent (after
 * backpressure, after the handshake) only waits for the socket.  So
 * wherever that can leave records behind — a read callback, the end of
 * the handshake, the reader draining its input — the read event is made
 * active when OpenSSL holds bytes: libevent then reads them on the next
 * loop turn, as if the socket had said so (a partial record costs one
 * read that finds nothing more).  A filter needs none of this: libevent
 * tries it again whenever it is enabled.
 */
static void
half_tls_kick(struct bufferevent *bev)
{
	SSL *ssl = bufferevent_openssl_get_ssl(bev);

	if (ssl != NULL && bufferevent_get_underlying(bev) == NULL &&
	    SSL_has_pending(ssl))
		event_active(&bev->ev_read, EV_READ, 1);
}

/* Plaintext per TLS record at most (RFC 8446 5.1). */
#define HALF_TLS_RECORD	16384

/*
 * libevent reads a TLS record in two steps (4 KiB, then what
 * SSL_pending says) into whatever room the input's last chain has, so a
 * record lands across two chains, and the other half's writer had to
 * copy it together again (half_tls_out_cb) to send it as one record.
 * When the reader has just drained a record's worth, the next one gets a
 * fresh chain with room for it whole: records then cross over to the
 * other half as one contiguous piece each, and nothing is copied.  Only
 * after a large drain and with more records already read ahead, so that
 * a flow going idle keeps no empty chain.
 */
static void
half_tls_in_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	SSL *ssl;

	if (info->n_deleted == 0)
		return;
	if (info->n_deleted >= HALF_TLS_RECORD / 2 &&
	    evbuffer_get_length(buf) == 0 &&
	    (ssl = bufferevent_openssl_get_ssl(arg)) != NULL &&
	    SSL_has_pending(ssl))
		(void)evbuffer_expand(buf, HALF_TLS_RECORD);
	half_tls_kick(arg);
}

static void
half_bev_read_cb(struct bufferevent *bev, void *arg)
{
	struct sl_half *h = arg;

	if (h->kind == SL_HALF_TLS)
		half_tls_kick(bev);
	if (h->on_read != NULL)
		h->on_read(h);
}

static void
half_bev_write_cb(struct bufferevent *bev, void *arg)
{
	struct sl_half *h = arg;

	(void)bev;
	if (h->on_write != NULL)
		h->on_write(h);
}

/*
 * A filter's own output empties into the socket bufferevent's, not into
 * the socket: "written" is when that one is empty too.  Called by that
 * buffer as bytes leave it (libevent holds a reference on the bufferevent
 * meanwhile, so on_write may close the flow).
 */
static void
half_under_drained_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct sl_half *h = arg;

	if (info->n_deleted == 0 || evbuffer_get_length(buf) != 0 ||
	    evbuffer_get_length(bufferevent_get_output(h->bev)) != 0)
		return;
	if (h->on_write != NULL)
		h->on_write(h);
}

void
sl_half_fin(struct sl_half *h)
{
	if (h->shut || h->fd == -1)
		return;
	h->shut = 1;
	if (shutdown(h->fd, SHUT_WR) == -1 && errno != ENOTCONN)
		sl_flow_log(h->flow, SL_LOG_DEBUG, "%s: shutdown: %s",
		    h->is_srv ? "server" : "client", strerror(errno));
}

int
sl_half_drained(const struct sl_half *h)
{
	struct bufferevent *under;

	if (h->bev == NULL)
		return 1;
	if (evbuffer_get_length(bufferevent_get_output(h->bev)) != 0)
		return 0;
	under = h->kind == SL_HALF_TLS ? bufferevent_get_underlying(h->bev) :
	    NULL;
	return under == NULL ||
	    evbuffer_get_length(bufferevent_get_output(under)) == 0;
}

static void
half_bev_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct sl_half *h = arg;

	if ((what & BEV_EVENT_CONNECTED) && h->kind == SL_HALF_TLS)
		half_tls_kick(bev);
	if (h->on_event != NULL)
		h->on_event(h, what);
}

/* Events with no socket: event_del() on them is always safe. */
static void
half_events_clear(struct sl_half *h)
{
	struct event_base *base = h->flow->wk->base;

	event_assign(&h->ev_rd, base, -1, 0, half_noop_cb, h);
	event_assign(&h->ev_wr, base, -1, 0, half_noop_cb, h);
}

void
sl_half_init_pair(struct sl_flow *flow, struct sl_half *cli,
    struct sl_half *srv)
{
	struct sl_half *hs[2] = { cli, srv };

	for (int i = 0; i < 2; i++) {
		struct sl_half *h = hs[i];

		memset(h, 0, sizeof(*h));
		h->flow = flow;
		h->peer = hs[1 - i];
		h->is_srv = (uint8_t)i;
		h->fd = -1;
		h->pipe[0] = h->pipe[1] = -1;
		half_events_clear(h);
	}
}

void
sl_half_set_raw(struct sl_half *h, int fd)
{
	struct event_base *base = h->flow->wk->base;

	h->fd = fd;
	h->kind = SL_HALF_RAW;
	h->eof = h->shut = 0;
	/* One registration per socket for the flow's life: phases change the
	 * handler, not the event, so a tunnel costs one epoll ADD and one
	 * DEL per socket instead of a pair per phase. */
	event_assign(&h->ev_rd, base, fd, EV_READ | EV_PERSIST, half_rd_cb, h);
	event_assign(&h->ev_wr, base, fd, EV_WRITE | EV_PERSIST, half_wr_cb,
	    h);
}

static int
half_bev_new(struct sl_half *h, int fd)
{
	h->bev = bufferevent_socket_new(h->flow->wk->base, fd,
	    BEV_OPT_CLOSE_ON_FREE);
	if (h->bev == NULL)
		return -1;
	bufferevent_setcb(h->bev, half_bev_read_cb, half_bev_write_cb,
	    half_bev_event_cb, h);
	h->fd = fd;
	h->kind = SL_HALF_BUF;
	return 0;
}

int
sl_half_set_buffered(struct sl_half *h, int fd)
{
	h->eof = h->shut = 0;
	if (half_bev_new(h, fd) == -1) {
		close(fd);
		return -1;
	}
	return 0;
}

int
sl_half_buffer(struct sl_half *h)
{
	int fd = h->fd;

	if (h->kind == SL_HALF_BUF || h->kind == SL_HALF_TLS)
		return 0;
	if (SL_BUG_ON(h->kind != SL_HALF_RAW || h->inpipe > 0))
		return -1;
	event_del(&h->ev_rd);
	event_del(&h->ev_wr);
	if (half_bev_new(h, fd) == -1) {
		h->kind = SL_HALF_RAW;	/* unchanged: still the fd's owner */
		return -1;
	}
	half_events_clear(h);
	if (h->pipe[0] != -1)
		sl_pipe_pool_put(&h->flow->wk->pipes, h->pipe);
	if (h->pre != NULL) {
		/* Counted as it is queued, like every byte of a BUF half. */
		int rc = sl_half_write(h, h->pre + h->pre_off,
		    h->pre_len - h->pre_off);

		sl_free(h->pre);
		h->pre = NULL;
		if (rc == -1)
			return -1;
	}
	return 0;
}

/*
 * libevent's OpenSSL bufferevent hands each contiguous piece of its
 * output to its own SSL_write: bytes moved over from the other half come
 * in the read chunks of that half (4 KiB, 12 KiB, 8 KiB...), and each
 * became a record of its own and a write(2) of its own.  Keeping the
 * head of the output one full record long makes records 16 KiB again
 * (one memcpy of the head, against a record and a system call).
 */
static void
half_tls_out_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	size_t len = evbuffer_get_length(buf);
	struct evbuffer_iovec v;

	(void)arg;
	if ((info->n_added == 0 && info->n_deleted == 0) || len == 0)
		return;
	len = SL_MIN(len, (size_t)HALF_TLS_RECORD);
	if (evbuffer_peek(buf, -1, NULL, &v, 1) >= 1 && v.iov_len < len)
		(void)evbuffer_pullup(buf, (ev_ssize_t)len);
}

/* The half's bufferevent is bev, TLS, with the half's callbacks. */
static void
half_tls_setup(struct sl_half *h, struct bufferevent *bev)
{
	(void)evbuffer_add_cb(bufferevent_get_output(bev), half_tls_out_cb,
	    NULL);
	(void)evbuffer_add_cb(bufferevent_get_input(bev), half_tls_in_cb, bev);
	/* A peer that closes without close_notify is an EOF, not an error:
	 * as common as it is harmless once the HTTP framing says the
	 * message is whole (the forwarder checks that). */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	bufferevent_setcb(bev, half_bev_read_cb, half_bev_write_cb,
	    half_bev_event_cb, h);
	h->bev = bev;
	h->kind = SL_HALF_TLS;
}

int
sl_half_tls(struct sl_half *h, SSL *ssl, int accepting)
{
	struct event_base *base = h->flow->wk->base;
	enum bufferevent_ssl_state st = accepting ? BUFFEREVENT_SSL_ACCEPTING :
	    BUFFEREVENT_SSL_CONNECTING;
	struct bufferevent *bev;

	/* OpenSSL 3 makes a TCP close without close_notify an error; it is
	 * an EOF here (see below), its meaning left to the layer above. */
	SSL_set_options(ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
	if (h->kind == SL_HALF_RAW && h->pre == NULL) {
		event_del(&h->ev_rd);
		event_del(&h->ev_wr);
		/* With CLOSE_ON_FREE the constructor frees ssl on failure,
		 * and the fd with it once it owns both. */
		bev = bufferevent_openssl_socket_new(base, h->fd, ssl, st,
		    BEV_OPT_CLOSE_ON_FREE);
		if (bev == NULL)
			return -1;
		half_events_clear(h);
	} else {
		if (sl_half_buffer(h) == -1) {
			SSL_free(ssl);
			return -1;
		}
		/* The filter takes the socket bufferevent only on success. */
		bev = bufferevent_openssl_filter_new(base, h->bev, ssl, st,
		    BEV_OPT_CLOSE_ON_FREE);
		if (bev == NULL)
			return -1;
		/* The filter stops encrypting into the socket bufferevent
		 * past its write high-water mark (libevent's BIO retries):
		 * without one, backpressure would see an empty output while
		 * everything piled up below it. */
		bufferevent_setwatermark(h->bev, EV_WRITE,
		    h->flow->rt->set->relay_buffer / 2,
		    h->flow->rt->set->relay_buffer);
		if (evbuffer_add_cb(bufferevent_get_output(h->bev),
		    half_under_drained_cb, h) == NULL) {
			bufferevent_free(bev);
			h->bev = NULL;
			h->fd = -1;
			return -1;
		}
	}
	half_tls_setup(h, bev);
	return 0;
}

/* ------------------------------------------------------------------ */
/* TLS accepted over the socket, its first bytes already read           */

/*
 * The client's first bytes (the ClientHello the classifier peeked) are
 * out of the socket already.  Rather than put them back into a socket
 * bufferevent and run TLS as a filter over it -- every record then
 * copied once more through an evbuffer, and written in a later loop turn,
 * when it is no longer in the cache (the bulk benchmark: docs/bench.md,
 * session 7) -- the SSL reads them through this BIO: it serves `pre`
 * first, then reads straight from the socket BIO behind it, one call per
 * call, never ahead (bytes held here would be invisible to libevent,
 * which reads only when the socket is readable).  The handshake cannot
 * end before the prefix is consumed: the client's Finished follows our
 * ServerHello, so it is never among the bytes read before.  Writes do not
 * pass here (the SSL's write BIO is the socket BIO).
 */
struct half_pre {
	unsigned char	*buf;
	size_t		 len, off;
};

/* Made once; immutable afterwards, like a constant table (STYLE 1). */
static BIO_METHOD *half_pre_meth;
static pthread_once_t half_pre_once = PTHREAD_ONCE_INIT;

static int
half_pre_read(BIO *b, char *out, int outl)
{
	struct half_pre *p = BIO_get_data(b);
	BIO *next = BIO_next(b);
	int r;

	BIO_clear_retry_flags(b);
	if (out == NULL || outl <= 0)
		return 0;
	if (p != NULL && p->off < p->len) {
		size_t n = SL_MIN(p->len - p->off, (size_t)outl);

		memcpy(out, p->buf + p->off, n);
		p->off += n;
		if (p->off == p->len) {		/* nothing more to hold */
			sl_free(p->buf);
			p->buf = NULL;
			p->len = p->off = 0;
		}
		return (int)n;
	}
	if (next == NULL)
		return 0;
	r = BIO_read(next, out, outl);
	BIO_copy_next_retry(b);
	return r;
}

static int
half_pre_write(BIO *b, const char *in, int inl)
{
	BIO *next = BIO_next(b);
	int r;

	BIO_clear_retry_flags(b);
	if (next == NULL)
		return 0;
	r = BIO_write(next, in, inl);
	BIO_copy_next_retry(b);
	return r;
}

static long
half_pre_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	struct half_pre *p = BIO_get_data(b);
	BIO *next = BIO_next(b);
	long held = p != NULL ? (long)(p->len - p->off) : 0;

	if (cmd == BIO_CTRL_PENDING)
		return held + (next != NULL ? BIO_ctrl(next, cmd, num, ptr) : 0);
	if (cmd == BIO_CTRL_EOF && held > 0)
		return 0;
	return next != NULL ? BIO_ctrl(next, cmd, num, ptr) : 0;
}

static int
half_pre_create(BIO *b)
{
	BIO_set_data(b, NULL);
	BIO_set_init(b, 1);
	return 1;
}

static int
half_pre_destroy(BIO *b)
{
	struct half_pre *p = BIO_get_data(b);

	if (p != NULL) {
		sl_free(p->buf);
		sl_free(p);
	}
	BIO_set_data(b, NULL);
	return 1;
}

static void
half_pre_meth_init(void)
{
	BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_FILTER,
	    "sluice prefix");

	if (m == NULL || BIO_meth_set_read(m, half_pre_read) != 1 ||
	    BIO_meth_set_write(m, half_pre_write) != 1 ||
	    BIO_meth_set_ctrl(m, half_pre_ctrl) != 1 ||
	    BIO_meth_set_create(m, half_pre_create) != 1 ||
	    BIO_meth_set_destroy(m, half_pre_destroy) != 1) {
		BIO_meth_free(m);
		return;
	}
	half_pre_meth = m;
}

/*
 * ssl reads pre[0..len) first, then fd; writes go to fd.  0, or -1 (no
 * memory; ssl unchanged).
 */
static int
half_pre_bio(SSL *ssl, int fd, const void *pre, size_t len)
{
	struct half_pre *p = NULL;
	BIO *rb = NULL, *sock = NULL;

	pthread_once(&half_pre_once, half_pre_meth_init);
	if (half_pre_meth == NULL || len > INT_MAX ||
	    (p = sl_calloc(1, sizeof(*p))) == NULL ||
	    (p->buf = sl_alloc(len > 0 ? len : 1)) == NULL ||
	    (rb = BIO_new(half_pre_meth)) == NULL ||
	    (sock = BIO_new_socket(fd, BIO_NOCLOSE)) == NULL) {
		if (p != NULL)
			sl_free(p->buf);
		sl_free(p);
		BIO_free(rb);
		ERR_clear_error();
		return -1;
	}
	if (len > 0)
		memcpy(p->buf, pre, len);
	p->len = len;
	BIO_set_data(rb, p);
	/* The chain owns sock once; the SSL's write side takes a second
	 * reference (SSL_free frees both sides). */
	BIO_push(rb, sock);
	BIO_up_ref(sock);
	SSL_set_bio(ssl, rb, sock);
	return 0;
}

int
sl_half_tls_accept(struct sl_half *h, SSL *ssl, const void *pre, size_t len)
{
	struct event_base *base = h->flow->wk->base;
	struct bufferevent *bev;

	if (h->kind != SL_HALF_RAW || h->pre != NULL) {
		/* Already buffered (or our own bytes still to send first):
		 * TLS as a filter over that bufferevent. */
		if (sl_half_buffer(h) == -1 ||
		    sl_half_unread(h, pre, len) == -1) {
			SSL_free(ssl);
			return -1;
		}
		return sl_half_tls(h, ssl, 1);
	}
	if (half_pre_bio(ssl, h->fd, pre, len) == -1) {
		SSL_free(ssl);
		return -1;
	}
	event_del(&h->ev_rd);
	event_del(&h->ev_wr);
	/* libevent takes the fd from the SSL's write BIO (the same fd).
	 * The handshake starts on writability, at once: the prefix needs
	 * no readable socket. */
	bev = bufferevent_openssl_socket_new(base, h->fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		return -1;
	half_events_clear(h);
	half_tls_setup(h, bev);
	return 0;
}

SSL *
sl_half_ssl(const struct sl_half *h)
{
	return h->kind == SL_HALF_TLS ? bufferevent_openssl_get_ssl(h->bev) :
	    NULL;
}

size_t
sl_half_unsent(const struct sl_half *h)
{
	size_t n;

	if (h->bev == NULL)
		return 0;
	n = evbuffer_get_length(bufferevent_get_output(h->bev));
	return n > h->own ? n - h->own : 0;
}

uint64_t
sl_half_sent(const struct sl_half *h)
{
	return h->sent - SL_MIN((uint64_t)sl_half_unsent(h), h->sent);
}

void
sl_half_close(struct sl_half *h)
{
	if (h->bev != NULL) {
		struct bufferevent *under = h->kind == SL_HALF_TLS ?
		    bufferevent_get_underlying(h->bev) : NULL;

		/* What it had not written never will be. */
		h->sent = sl_half_sent(h);
		h->own = 0;
		if (under != NULL)
			evbuffer_remove_cb(bufferevent_get_output(under),
			    half_under_drained_cb, h);
		bufferevent_setcb(h->bev, NULL, NULL, NULL, NULL);
		bufferevent_disable(h->bev, EV_READ | EV_WRITE);
		bufferevent_free(h->bev);	/* closes fd */
		h->bev = NULL;
		h->fd = -1;
	}
	event_del(&h->ev_rd);
	event_del(&h->ev_wr);
	if (h->fd != -1) {
		close(h->fd);
		h->fd = -1;
		half_events_clear(h);
	}
	if (h->pipe[0] != -1) {
		/* A pipe still holding bytes cannot go back to the pool. */
		if (h->inpipe > 0)
			sl_pipe_pool_drop(&h->flow->wk->pipes, h->pipe);
		else
			sl_pipe_pool_put(&h->flow->wk->pipes, h->pipe);
		h->inpipe = 0;
	}
	sl_free(h->pre);
	h->pre = NULL;
	h->pre_len = h->pre_off = 0;
	h->kind = SL_HALF_NONE;
	h->on_read = h->on_write = NULL;
	h->on_event = NULL;
}

int
sl_half_watch(struct sl_half *h, sl_half_fn fn)
{
	h->on_read = fn;
	if (event_pending(&h->ev_rd, EV_READ, NULL))
		return 0;
	if (event_add(&h->ev_rd, NULL) == -1) {
		sl_flow_close(h->flow, 'R', "event_add");
		return -1;
	}
	return 0;
}

void
sl_half_unwatch(struct sl_half *h)
{
	event_del(&h->ev_rd);
}

void
sl_half_setcb(struct sl_half *h, sl_half_fn rd, sl_half_fn wr,
    sl_half_event_fn ev)
{
	h->on_read = rd;
	h->on_write = wr;
	h->on_event = ev;
}

void
sl_half_read_on(struct sl_half *h, int on)
{
	if (h->bev == NULL)
		return;
	if (on) {
		bufferevent_enable(h->bev, EV_READ);
		if (h->kind == SL_HALF_TLS)
			half_tls_kick(h->bev);
	} else
		bufferevent_disable(h->bev, EV_READ);
}

struct evbuffer *
sl_half_input(const struct sl_half *h)
{
	return bufferevent_get_input(h->bev);
}

struct evbuffer *
sl_half_output(const struct sl_half *h)
{
	return bufferevent_get_output(h->bev);
}

int
sl_half_write(struct sl_half *h, const void *buf, size_t len)
{
	if (h->own > 0 || bufferevent_write(h->bev, buf, len) == -1)
		return -1;	/* nothing may follow our own last words */
	h->sent += len;
	return 0;
}

int
sl_half_write_own(struct sl_half *h, const void *buf, size_t len)
{
	if (bufferevent_write(h->bev, buf, len) == -1)
		return -1;
	h->own += len;
	return 0;
}

int
sl_half_write_buffer(struct sl_half *h, struct evbuffer *from)
{
	size_t n = evbuffer_get_length(from);

	if (h->own > 0 || evbuffer_add_buffer(sl_half_output(h), from) == -1)
		return -1;
	h->sent += n;
	return 0;
}

int
sl_half_move(struct sl_half *h, struct evbuffer *from, size_t n)
{
	if (h->own > 0)
		return -1;
	if (evbuffer_remove_buffer(from, sl_half_output(h), n) != (int)n)
		return -1;
	h->sent += n;
	return 0;
}

int
sl_half_unread(struct sl_half *h, const void *buf, size_t len)
{
	struct evbuffer *in = bufferevent_get_input(h->bev);
	int rc;

	if (len == 0)
		return 0;
	/* A bufferevent keeps the end of its input frozen against outside
	 * writers; handing back bytes its socket already gave is the one
	 * legitimate exception. */
	evbuffer_unfreeze(in, 0);
	rc = evbuffer_add(in, buf, len);
	evbuffer_freeze(in, 0);
	return rc;
}

void
sl_half_shutdown(struct sl_half *h)
{
	if (h->kind != SL_HALF_TLS) {
		sl_half_fin(h);
		return;
	}
	if (h->shut || h->fd == -1)
		return;
	h->shut = 1;
	/* TLS ends a direction with close_notify, after what is queued (a
	 * filter's socket may still hold bytes: no FIN before them; the
	 * close sends it). */
	(void)SSL_shutdown(bufferevent_openssl_get_ssl(h->bev));
	ERR_clear_error();
}
