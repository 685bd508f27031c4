/*
 * inspect.c — TLS inspection's handshake step (inspect.h).
 *
 * Order matters for safety: the origin is verified before the client
 * gets anything.  A leaf is minted only for a certificate that verified
 * for the name (tls.h: sl_tls_mint's precondition), and nothing the
 * origin sends reaches the client before both handshakes are done.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>

#include "../lib/alloc.h"
#include "../lib/clock.h"
#include "../lib/log.h"
#include "../policy/config.h"
#include "../tls/tls.h"
#include "classify.h"
#include "flow.h"
#include "h2/h2.h"
#include "httpfwd.h"
#include "inspect.h"
#include "learn.h"
#include "relay.h"
#include "req.h"
#include "setup.h"
#include "worker.h"

/* ALPN protocols sluice cannot inspect: not offered to the origin
 * (h2c is HTTP/2 without TLS: never right inside TLS). */
static const char *const insp_alpn_drop[] = { "h2c" };

/* The flow of a client-facing SSL, for the ALPN callback. */
static int insp_ex_idx = -1;
static pthread_once_t insp_ex_once = PTHREAD_ONCE_INIT;

static void
insp_ex_init(void)
{
	insp_ex_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

int
sl_inspect_able(const struct sl_rt *rt)
{
	return rt->ca != NULL;
}

/* The name the origin's certificate is verified for (NULL: the IP). */
static const char *
insp_name(const struct sl_flow *flow)
{
	return flow->sni != NULL ? flow->sni : flow->req->host;
}

/* ------------------------------------------------------------------ */
/* refusing                                                             */

/* The log's reason for what sl_tls_verify_reason() said (or "timeout"). */
static const char *
insp_reason(const char *why)
{
	return strcmp(why, "handshake_failed") == 0 ||
	    strcmp(why, "timeout") == 0 ? "upstream_tls_failed" :
	    "upstream_cert_invalid";
}

/*
 * Refuse before the client has a TLS session: a fatal alert, then the
 * close.  reason is the log's; detail says why (sl_tls_verify_reason).
 */
static void
insp_refuse(struct sl_flow *flow, const char *reason, const char *detail)
{
	/* TLS 1.2 record, alert, fatal handshake_failure (RFC 8446 6.2):
	 * what an origin that cannot agree on a handshake would send. */
	static const unsigned char alert[] = { 0x15, 0x03, 0x03, 0x00, 0x02,
	    0x02, 0x28 };
	char who;

	flow->req->detail = detail;
	who = flow_refusal(flow, 0, reason, 0);
	sl_flow_log_refusal(flow);
	if (flow->cli.kind == SL_HALF_RAW)
		(void)send(flow->cli.fd, alert, sizeof(alert), MSG_NOSIGNAL);
	sl_flow_close(flow, who, NULL);
}

/* The client's side is written out (an alert): the close can come. */
static void
insp_close_drained(struct sl_half *cli)
{
	if (sl_half_drained(cli))
		sl_flow_close(cli->flow, 'C', NULL);
}

static void
insp_close_late(struct sl_flow *flow)
{
	sl_flow_close(flow, 'C', NULL);
}

/*
 * The client's handshake failed.  Either the client gave up on the leaf
 * (its fatal alert: "unknown CA" for a CA it does not trust, "bad
 * certificate" for a pinned key; or it just closed): client_rejected_mitm,
 * what learn mode may record.  Or sluice refused the client's hello (no
 * TLS 1.2+, no AEAD suite in common: insp_info saw our alert): that is
 * client_tls_refused, the client's weakness, not a pin; the alert is
 * sent before the close, as an origin would.
 */
static void
insp_client_failed(struct sl_flow *flow)
{
	struct sl_half *cli = &flow->cli;
	unsigned long e, last = 0;
	const char *why, *reason;

	while ((e = bufferevent_get_openssl_error(cli->bev)) != 0)
		last = e;
	why = last != 0 ? ERR_reason_error_string(last) : NULL;
	if (flow->req->detail == NULL)
		flow->req->detail = why != NULL ? why : "closed";
	ERR_clear_error();
	reason = flow->req->alert_sent ? "client_tls_refused" :
	    "client_rejected_mitm";
	sl_flow_log(flow, SL_LOG_INFO, "%s for '%s': %s",
	    flow->req->alert_sent ? "client's TLS refused" :
	    "client refused the minted certificate",
	    insp_name(flow) ? insp_name(flow) : "-", flow->req->detail);
	if (!flow->req->alert_sent)
		sl_learn_flow_rejected(flow, insp_name(flow));
	flow->reason = reason;
	flow->term[0] = 'C';
	if (sl_half_drained(cli)) {
		sl_flow_close(flow, 'C', NULL);
		return;
	}
	sl_half_setcb(cli, NULL, insp_close_drained, NULL);
	flow_setup_timer(flow, 1000, insp_close_late);
}

/* ------------------------------------------------------------------ */
/* after both handshakes                                                */

/* What the client sends first decides: HTTP, or bytes to relay. */
static void
insp_carry(struct sl_flow *flow, int timeout)
{
	struct evbuffer *in = sl_half_input(&flow->cli);
	size_t len = evbuffer_get_length(in);
	const uint8_t *p = len > 0 ? evbuffer_pullup(in, -1) : NULL;
	char ipbuf[SL_IP_STRLEN];
	struct sl_classify c;

	sl_classify(p, len, flow->rt->set->peek_max, 0, NULL, &c);
	if (c.rc == SL_PARSE_MORE && !timeout && !flow->cli.eof)
		return;			/* a request line still under way */
	flow_setup_timer_stop(flow);
	if (c.proto == SL_PROTO_HTTP) {
		/* No name: the origin was verified for its address. */
		sl_httpfwd_start_inspected(flow, insp_name(flow) != NULL ?
		    insp_name(flow) : sl_ip_fmt(&flow->req->dst_ip, ipbuf,
		    sizeof(ipbuf)));
		return;
	}
	/* TLS but no HTTP (TURN over TLS...): bytes inside the sessions. */
	if (sl_relay_start(flow, NULL, 0, NULL, 0) == 0)
		flow_setup_free(flow);
}

static void
insp_first_read(struct sl_half *cli)
{
	insp_carry(cli->flow, 0);
}

static void
insp_first_timeout(struct sl_flow *flow)
{
	insp_carry(flow, 1);
}

static void
insp_cli_event(struct sl_half *cli, short what)
{
	struct sl_flow *flow = cli->flow;

	if (what & BEV_EVENT_CONNECTED) {
		const unsigned char *alpn;
		unsigned nalpn;

		flow->sni_verified = flow->sni != NULL;
		sl_flow_log(flow, SL_LOG_DEBUG, "inspecting '%s'",
		    insp_name(flow) ? insp_name(flow) : "-");
		/* HTTP/2: the client speaks first only after our SETTINGS
		 * may go; nothing to classify. */
		SSL_get0_alpn_selected(sl_half_ssl(cli), &alpn, &nalpn);
		if (sl_h2_alpn_is_h2(alpn, nalpn)) {
			sl_h2_start(flow, insp_name(flow));
			return;
		}
		sl_half_setcb(cli, insp_first_read, NULL, insp_cli_event);
		flow_setup_timer(flow, flow->rt->set->peek_timeout,
		    insp_first_timeout);
		if (evbuffer_get_length(sl_half_input(cli)) > 0) {
			insp_carry(flow, 0);
			return;
		}
		sl_half_read_on(cli, 1);
		return;
	}
	if (!SSL_is_init_finished(sl_half_ssl(cli))) {
		insp_client_failed(flow);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		cli->eof = 1;
		insp_carry(flow, 1);		/* a request, then its FIN */
		return;
	}
	sl_flow_close(flow, 'C', errno == ECONNRESET ? "client_reset" :
	    "client_error");
}

/* The origin, verified, while the client's side is set up: it waits
 * (not read), so only a failure can come from it. */
static void
insp_srv_waiting(struct sl_half *srv, short what)
{
	sl_flow_close(srv->flow, 'S', (what & BEV_EVENT_ERROR) ?
	    "server_error" : "server_closed");
}

/* ------------------------------------------------------------------ */
/* the client's handshake                                               */

/*
 * ALPN towards the client: what the origin chose, if the client offered
 * it (it did: the origin chose from the client's own list), or h2 for a
 * client that speaks only h2 to an HTTP/1.1 origin (h2.h).
 */
static int
insp_alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	struct sl_flow *flow = SSL_get_ex_data(ssl, insp_ex_idx);
	const unsigned char *up;
	unsigned int uplen;

	(void)arg;
	if (flow == NULL || flow->srv.kind != SL_HALF_TLS)
		return SSL_TLSEXT_ERR_NOACK;
	SSL_get0_alpn_selected(sl_half_ssl(&flow->srv), &up, &uplen);
	return sl_h2_alpn_select(up, uplen, in, inlen, out, outlen) ?
	    SSL_TLSEXT_ERR_OK : SSL_TLSEXT_ERR_NOACK;
}

/*
 * The first fatal alert either way: from the client, why it gave up
 * ("unknown CA": it does not trust the appliance CA; "bad certificate": a
 * pinned key); from sluice, why it refused the client's hello.
 */
static void
insp_info(const SSL *ssl, int where, int ret)
{
	struct sl_flow *flow;

	if (!(where & SSL_CB_ALERT) || (ret >> 8) != SSL3_AL_FATAL ||
	    (flow = SSL_get_ex_data(ssl, insp_ex_idx)) == NULL ||
	    flow->req->detail != NULL)
		return;
	flow->req->detail = SSL_alert_desc_string_long(ret);
	flow->req->alert_sent = (where & SSL_CB_WRITE) != 0;
}

void
sl_inspect_ctx_init(SSL_CTX *cli_ctx)
{
	pthread_once(&insp_ex_once, insp_ex_init);
	SSL_CTX_set_alpn_select_cb(cli_ctx, insp_alpn_select, NULL);
	SSL_CTX_set_info_callback(cli_ctx, insp_info);
}

static void
insp_client_timeout(struct sl_flow *flow)
{
	flow->req->detail = "timeout";
	sl_flow_close(flow, 'T', "client_tls_timeout");
}

/*
 * The minter for this flow: the worker's, or for a flow older than a
 * reload a temporary one with the flow's own snapshot (its CA).  *own is
 * what to free.  NULL on failure.
 */
static struct sl_tls_minter *
insp_minter(struct sl_flow *flow, struct sl_tls_minter **own)
{
	*own = NULL;
	if (flow->wk->minter_rt == flow->rt)
		return flow->wk->minter;
	*own = sl_tls_minter_new(flow->rt->certcache);
	return *own;
}

/*
 * TLS towards the client with (leaf, key), no weaker than up (if any);
 * the ClientHello and what followed it are read first (on the socket
 * itself: half.h, sl_half_tls_accept).  The arguments
 * stay the caller's.  0, or -1 with the flow closed.
 */
static int
insp_client_tls(struct sl_flow *flow, X509 *leaf, EVP_PKEY *key, SSL *up,
    sl_half_event_fn event)
{
	struct sl_rt *rt = flow->rt;
	struct flow_setup *s = flow->setup;
	SSL *cli;

	if ((cli = SSL_new(rt->tls_cli)) == NULL ||
	    sl_tls_client_use_leaf(cli, rt->ca, leaf, key) == -1 ||
	    (up != NULL && sl_tls_client_match_version(cli, up) == -1) ||
	    !SSL_set_ex_data(cli, insp_ex_idx, flow)) {
		SSL_free(cli);
		sl_tls_log_ossl(SL_LOG_ERR, "flow=%llu: no client session",
		    (unsigned long long)flow->id);
		sl_flow_close(flow, 'R', "mint_failed");
		return -1;
	}
	sl_half_unwatch(&flow->cli);
	if (sl_half_tls_accept(&flow->cli, cli, s->buf, s->len) == -1) {
		sl_flow_close(flow, 'R', "oom");
		return -1;
	}
	s->len = 0;
	sl_half_setcb(&flow->cli, NULL, NULL, event);
	flow_setup_timer(flow, rt->set->connect_timeout, insp_client_timeout);
	/* Last: the handshake may run, fail and close the flow in here. */
	bufferevent_enable(flow->cli.bev, EV_READ | EV_WRITE);
	return 0;
}

/* The origin is verified: mint, and give the client its session. */
static void
insp_client_start(struct sl_flow *flow)
{
	SSL *up = sl_half_ssl(&flow->srv);
	X509 *peer = SSL_get1_peer_certificate(up), *leaf = NULL;
	struct sl_tls_minter *own, *m = insp_minter(flow, &own);
	EVP_PKEY *key = NULL;
	const char *name = insp_name(flow);
	int rc;

	rc = m == NULL || peer == NULL || sl_tls_mint(m, peer, name,
	    name == NULL ? &flow->req->dst_ip : NULL, &leaf, &key) == -1 ?
	    -1 : 0;
	sl_tls_minter_free(own);
	X509_free(peer);
	if (rc == -1) {
		sl_flow_log(flow, SL_LOG_ERR, "cannot mint for '%s'",
		    name ? name : "-");
		insp_refuse(flow, "mint_failed", "internal");
		return;
	}
	/* The origin waits (nothing of it before the client's session). */
	sl_half_read_on(&flow->srv, 0);
	sl_half_setcb(&flow->srv, NULL, NULL, insp_srv_waiting);
	(void)insp_client_tls(flow, leaf, key, up, insp_cli_event);
	X509_free(leaf);
	EVP_PKEY_free(key);
}

/*
 * The page session is up: sluice's answer, the tunnel's refusal.  Or the
 * client gave up on it (no trust in the CA): the refusal all the same.
 */
static void
insp_page_event(struct sl_half *cli, short what)
{
	struct sl_flow *flow = cli->flow;
	const char *why = flow->req->detail;

	flow_setup_timer_stop(flow);
	if (what & BEV_EVENT_CONNECTED) {
		sl_httpfwd_refuse_inspected(flow, 502, insp_reason(why));
		return;
	}
	ERR_clear_error();
	sl_flow_log(flow, SL_LOG_INFO, "the client refused the error page's "
	    "session too");
	insp_refuse(flow, insp_reason(why), why);
}

/*
 * An explicit client asked for this origin with CONNECT and got 200: a
 * bare TLS failure would tell the user nothing.  A leaf for the name
 * alone (nothing of the origin's certificate; tls.h) carries sluice's
 * 502 page saying why; the origin's session is gone before it.
 * Transparent clients asked the origin itself: they get the alert.
 */
static void
insp_fail(struct sl_flow *flow, const char *why)
{
	const char *name = insp_name(flow);
	struct sl_tls_minter *own, *m;
	char ipbuf[SL_IP_STRLEN];
	X509 *leaf = NULL;
	EVP_PKEY *key = NULL;
	int rc;

	sl_flow_log(flow, SL_LOG_INFO, "inspection of '%s' refused: %s (%s)",
	    name ? name : "-", insp_reason(why), why);
	if (flow->mode != SL_MODE_EXPLICIT) {
		insp_refuse(flow, insp_reason(why), why);
		return;
	}
	flow->req->detail = why;
	sl_half_close(&flow->srv);
	if (name == NULL)
		name = sl_ip_fmt(&flow->req->dst_ip, ipbuf, sizeof(ipbuf));
	m = insp_minter(flow, &own);
	rc = m == NULL ? -1 : sl_tls_mint_page(m, name, &leaf, &key);
	sl_tls_minter_free(own);
	if (rc == -1) {
		insp_refuse(flow, insp_reason(why), why);
		return;
	}
	(void)insp_client_tls(flow, leaf, key, NULL, insp_page_event);
	X509_free(leaf);
	EVP_PKEY_free(key);
}

/* ------------------------------------------------------------------ */
/* the origin's handshake                                               */

static void
insp_up_event(struct sl_half *srv, short what)
{
	struct sl_flow *flow = srv->flow;
	const char *why = sl_tls_verify_reason(sl_half_ssl(srv));

	ERR_clear_error();
	flow_setup_timer_stop(flow);
	if ((what & BEV_EVENT_CONNECTED) && why == NULL) {
		insp_client_start(flow);
		return;
	}
	insp_fail(flow, why != NULL ? why : "handshake_failed");
}

static void
insp_up_timeout(struct sl_flow *flow)
{
	insp_fail(flow, "timeout");
}

/* The client's ALPN list, less what cannot be inspected. */
static size_t
insp_alpn(const struct sl_tls_hello *h, unsigned char *out, size_t cap)
{
	unsigned char all[SL_TLS_ALPN_MAX * (SL_TLS_ALPN_LEN_MAX + 1)];
	size_t n = sl_tls_alpn_wire(h, all, sizeof(all)), o = 0;

	for (size_t i = 0; i < n && i + 1 + all[i] <= n; i += 1 + all[i]) {
		int drop = 0;

		for (size_t d = 0; d < SL_NELEM(insp_alpn_drop); d++)
			drop |= strlen(insp_alpn_drop[d]) == all[i] &&
			    memcmp(insp_alpn_drop[d], all + i + 1, all[i]) == 0;
		if (drop || o + 1 + all[i] > cap)
			continue;
		memcpy(out + o, all + i, 1 + (size_t)all[i]);
		o += 1 + (size_t)all[i];
	}
	/* An h2-only client's streams can go over HTTP/1.1 too. */
	return sl_h2_alpn_upstream(out, o, cap);
}

void
sl_inspect_start(struct sl_flow *flow)
{
	struct sl_rt *rt = flow->rt;
	const char *name = insp_name(flow);
	unsigned char alpn[SL_TLS_ALPN_MAX * (SL_TLS_ALPN_LEN_MAX + 1)];
	size_t nalpn = insp_alpn(&flow->setup->hello, alpn, sizeof(alpn));
	SSL *up;

	if (flow->setup->hello.max_version < TLS1_2_VERSION) {
		/* The client side is TLS 1.2+: nothing to ask the origin. */
		insp_refuse(flow, "client_tls_refused", "old_version");
		return;
	}
	if ((up = SSL_new(rt->tls_up)) == NULL) {
		insp_refuse(flow, "upstream_tls_failed", "internal");
		return;
	}
	/* Never weaker towards the client than the origin was: so a TLS 1.2
	 * client gets a TLS 1.2 origin session, as going direct would. */
	if (flow->setup->hello.max_version == TLS1_2_VERSION)
		(void)SSL_set_max_proto_version(up, TLS1_2_VERSION);
	if (sl_tls_upstream_prepare(up, name, name == NULL ?
	    &flow->req->dst_ip : NULL, alpn, nalpn) == -1) {
		SSL_free(up);
		insp_refuse(flow, "upstream_tls_failed", "prepare");
		return;
	}
	/* The client waits: its next bytes are TLS records for later. */
	sl_half_unwatch(&flow->cli);
	sl_half_unwatch(&flow->srv);
	if (sl_half_tls(&flow->srv, up, 0) == -1) {
		sl_flow_close(flow, 'R', "oom");
		return;
	}
	sl_half_setcb(&flow->srv, NULL, NULL, insp_up_event);
	flow_setup_timer(flow, rt->set->connect_timeout, insp_up_timeout);
	/* Last: the flow may be closed in here. */
	bufferevent_enable(flow->srv.bev, EV_READ | EV_WRITE);
}
