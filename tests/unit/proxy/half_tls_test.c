/*
 * half_tls_test.c — sl_half_tls_accept (proxy/half.c): TLS accepted on a
 * RAW half's own socket, the client's first bytes (read by the peek
 * before) fed to the handshake first.
 *
 * A flow with nothing but a worker's event base around its two halves; the
 * client is an OpenSSL client on the other end of a socketpair, driven
 * non-blocking between non-blocking turns of the loop.  Every loop is
 * bounded.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy/flow.h"
#include "proxy/half.h"
#include "proxy/worker.h"
#include "tests/unit/t.h"
#include "tests/unit/tls/pki.h"

#define HT_TURNS	20000

struct ht {
	struct event_base	*base;
	struct sl_worker	 wk;
	struct sl_flow		 flow;
	SSL_CTX			*sctx, *cctx;
	SSL			*cli;		/* the client's end */
	int			 cfd;
	short			 events;	/* seen by the half */
	char			 got[64];	/* read by the half */
	size_t			 ngot;
};

static void
ht_event(struct sl_half *h, short what)
{
	struct ht *t = (struct ht *)(void *)((char *)h->flow -
	    offsetof(struct ht, flow));

	t->events |= what;
}

static void
ht_read(struct sl_half *h)
{
	struct ht *t = (struct ht *)(void *)((char *)h->flow -
	    offsetof(struct ht, flow));
	struct evbuffer *in = sl_half_input(h);
	size_t n = SL_MIN(evbuffer_get_length(in), sizeof(t->got) - 1 -
	    t->ngot);

	t->ngot += (size_t)evbuffer_remove(in, t->got + t->ngot, n);
	t->got[t->ngot] = '\0';
}

/*
 * A client on one end of a socketpair has sent its ClientHello; peek
 * bytes of it (all of it if 0) are read off the other end, as the
 * classifier does, and handed to sl_half_tls_accept with the socket.
 */
static int
ht_begin(struct ht *t, size_t peek)
{
	EVP_PKEY *ck = pki_ec("P-256"), *lk = pki_ec("P-256");
	X509 *ca = pki_root("half test CA", ck);
	X509 *leaf = pki_leaf("a.test", "DNS:a.test", lk, ca, ck);
	unsigned char hello[4096];
	ssize_t n = -1;
	int sv[2], rc = -1;
	SSL *ssl;

	memset(t, 0, sizeof(*t));
	t->cfd = -1;
	if ((t->base = event_base_new()) == NULL || leaf == NULL ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == -1)
		goto out;
	t->wk.base = t->base;
	t->flow.wk = &t->wk;
	sl_half_init_pair(&t->flow, &t->flow.cli, &t->flow.srv);
	t->cfd = sv[0];
	t->sctx = pki_origin_ctx(leaf, lk, NULL, TLS1_2_VERSION, 0);
	t->cctx = SSL_CTX_new(TLS_client_method());
	if (t->sctx == NULL || t->cctx == NULL ||
	    X509_STORE_add_cert(SSL_CTX_get_cert_store(t->cctx), ca) != 1)
		goto out;
	SSL_CTX_set_verify(t->cctx, SSL_VERIFY_PEER, NULL);
	t->cli = SSL_new(t->cctx);
	SSL_set_fd(t->cli, sv[0]);
	SSL_set_tlsext_host_name(t->cli, "a.test");
	SSL_set1_host(t->cli, "a.test");
	SSL_set_connect_state(t->cli);
	(void)SSL_do_handshake(t->cli);		/* the ClientHello, sent */
	for (int i = 0; i < 1000 && n <= 0; i++)
		n = recv(sv[1], hello, peek > 0 ? peek : sizeof(hello), 0);
	sl_half_set_raw(&t->flow.cli, sv[1]);
	if (n <= 0 || (ssl = SSL_new(t->sctx)) == NULL ||
	    sl_half_tls_accept(&t->flow.cli, ssl, hello, (size_t)n) == -1)
		goto out;
	sl_half_setcb(&t->flow.cli, ht_read, NULL, ht_event);
	bufferevent_enable(t->flow.cli.bev, EV_READ | EV_WRITE);
	rc = 0;
out:
	ERR_clear_error();
	X509_free(ca);
	X509_free(leaf);
	EVP_PKEY_free(ck);
	EVP_PKEY_free(lk);
	return rc;
}

static void
ht_end(struct ht *t)
{
	sl_half_close(&t->flow.cli);
	SSL_free(t->cli);		/* closes nothing: SSL_set_fd's BIO */
	if (t->cfd != -1)
		close(t->cfd);
	SSL_CTX_free(t->sctx);
	SSL_CTX_free(t->cctx);
	if (t->base != NULL)
		event_base_free(t->base);
	ERR_clear_error();
}

/* Turn the loop and the client until both handshakes are done. */
static int
ht_handshake(struct ht *t)
{
	for (int i = 0; i < HT_TURNS; i++) {
		int r = SSL_do_handshake(t->cli);

		if (r != 1 && SSL_get_error(t->cli, r) != SSL_ERROR_WANT_READ &&
		    SSL_get_error(t->cli, r) != SSL_ERROR_WANT_WRITE)
			return -1;
		event_base_loop(t->base, EVLOOP_NONBLOCK);
		if (t->events & (BEV_EVENT_ERROR | BEV_EVENT_EOF))
			return -1;
		if (r == 1 && (t->events & BEV_EVENT_CONNECTED))
			return 0;
	}
	return -1;
}

/* Bytes both ways, then our close_notify reaches the client. */
static void
ht_exchange(struct ht *t)
{
	char buf[64];
	int r = -1;

	T_EQ(SSL_write(t->cli, "ping", 4), 4);
	for (int i = 0; i < HT_TURNS && t->ngot < 4; i++)
		event_base_loop(t->base, EVLOOP_NONBLOCK);
	T_STREQ(t->got, "ping");
	T_EQ(sl_half_write(&t->flow.cli, "pong", 4), 0);
	for (int i = 0; i < HT_TURNS && r <= 0; i++) {
		event_base_loop(t->base, EVLOOP_NONBLOCK);
		r = SSL_read(t->cli, buf, sizeof(buf));
	}
	T_EQ(r, 4);
	T_ASSERT(memcmp(buf, "pong", 4) == 0);
	T_ASSERT(sl_half_drained(&t->flow.cli));
	sl_half_shutdown(&t->flow.cli);
	for (int i = 0; i < HT_TURNS && r > 0; i++) {
		event_base_loop(t->base, EVLOOP_NONBLOCK);
		r = SSL_read(t->cli, buf, sizeof(buf));
		if (r <= 0 && SSL_get_error(t->cli, r) == SSL_ERROR_WANT_READ)
			r = 1;
	}
	T_EQ(SSL_get_error(t->cli, r), SSL_ERROR_ZERO_RETURN);
}

T_TEST(tls_accept_reads_the_peeked_hello_first)
{
	struct ht t;

	T_ASSERT(ht_begin(&t, 0) == 0);
	/* On the socket itself: no filter, no socket bufferevent below. */
	T_ASSERT(bufferevent_get_underlying(t.flow.cli.bev) == NULL);
	T_EQ(t.flow.cli.kind, SL_HALF_TLS);
	T_ASSERT(ht_handshake(&t) == 0);
	ht_exchange(&t);
	ht_end(&t);
}

T_TEST(tls_accept_hello_split_between_peek_and_socket)
{
	struct ht t;

	/* 7 bytes read before (a record header and a little), the rest of
	 * the ClientHello still in the socket. */
	T_ASSERT(ht_begin(&t, 7) == 0);
	T_ASSERT(ht_handshake(&t) == 0);
	ht_exchange(&t);
	ht_end(&t);
}

T_TEST(tls_accept_client_gone_in_handshake_is_an_event)
{
	struct ht t;

	signal(SIGPIPE, SIG_IGN);	/* as sluiced: our flight meets EPIPE */
	T_ASSERT(ht_begin(&t, 0) == 0);
	/* The client walks away after its hello: an EOF in the handshake. */
	shutdown(t.cfd, SHUT_RDWR);
	for (int i = 0; i < HT_TURNS && t.events == 0; i++)
		event_base_loop(t.base, EVLOOP_NONBLOCK);
	T_ASSERT(t.events & (BEV_EVENT_ERROR | BEV_EVENT_EOF));
	ht_end(&t);
}
