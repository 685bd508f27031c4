/*
 * setup.c — the steps between accept and relay that both modes share:
 * reading the first bytes, deciding, resolving, connecting, refusing.
 */
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../lib/alloc.h"
#include "../lib/clock.h"
#include "../lib/log.h"
#include "../policy/config.h"
#include "../lib/http/http.h"
#include "setup.h"
#include "upstream.h"
#include "worker.h"

#define SETUP_BUF_INIT	2048
#define LINGER_MS	2000	/* discard client bytes after a refusal */

static void	flow_linger_close(struct sl_flow *flow, char who);

static void
setup_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sl_flow *flow = arg;

	(void)fd;
	(void)what;
	flow->setup->timer_set = 0;
	flow->setup->on_timeout(flow);
}

int
flow_setup_new(struct sl_flow *flow)
{
	struct flow_setup *s;

	if ((s = sl_calloc(1, sizeof(*s))) == NULL)
		return -1;
	evtimer_assign(&s->timer, flow->wk->base, setup_timer_cb, flow);
	flow->setup = s;
	return 0;
}

void
flow_setup_free(struct sl_flow *flow)
{
	struct flow_setup *s = flow->setup;

	if (s == NULL)
		return;
	if (s->timer_set)
		evtimer_del(&s->timer);
	sl_dns_cancel(s->dns);
	sl_upstream_cancel(s->up);
	sl_free(s->buf);
	sl_free(s);
	flow->setup = NULL;
}

void
flow_setup_timer(struct sl_flow *flow, unsigned ms, flow_timeout_fn fn)
{
	struct flow_setup *s = flow->setup;
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	s->on_timeout = fn;
	evtimer_add(&s->timer, &tv);
	s->timer_set = 1;
}

ssize_t
flow_setup_read(struct sl_flow *flow, size_t max)
{
	struct flow_setup *s = flow->setup;
	ssize_t n;

	if (s->len >= max)
		return -3;
	if (s->cap - s->len < 512 && s->cap < max) {
		size_t ncap = s->cap ? s->cap * 2 : SETUP_BUF_INIT;
		char *nb;

		if (ncap > max)
			ncap = max;
		if ((nb = sl_realloc(s->buf, ncap)) == NULL) {
			errno = ENOMEM;
			return -2;
		}
		s->buf = nb;
		s->cap = ncap;
	}
	n = recv(flow->cfd, s->buf + s->len, SL_MIN(s->cap, max) - s->len, 0);
	if (n == -1)
		return (errno == EAGAIN || errno == EINTR) ? -1 : -2;
	s->len += (size_t)n;
	flow->last = sl_mono_ms();
	return n;
}

static void
decide_facts(struct sl_flow *flow, struct sl_facts *f, unsigned known_extra)
{
	memset(f, 0, sizeof(*f));
	f->proto = IPPROTO_TCP;
	f->port = flow->dst_port;
	f->src = flow->cli_ip;
	/*
	 * A name is final once we have it (CONNECT authority, Host, SNI) or
	 * know there will be none.  No user before authentication exists;
	 * no GeoIP before the SIEM issue: both are final-and-absent.
	 */
	f->known = SL_FACT_NAME | SL_FACT_USER | SL_FACT_GEO | known_extra;
	f->name = flow->name_untrusted ? NULL : flow->host;
	if (flow->dst_ip.af != 0) {
		f->dst = flow->dst_ip;
		f->known |= SL_FACT_DST_IP;
		f->dst_local = sl_rt_is_local(flow->rt, &flow->dst_ip);
	}
}

static void
decide_run(struct sl_flow *flow, const struct sl_facts *f)
{
	sl_flow_set_state(flow, SL_FLOW_DECIDING);
	sl_policy_decide(flow->rt->pol, f, &flow->dec);
	sl_debug(SL_CAT_POLICY, "flow=%llu decide name=%s -> %s rule=%s need=%#x",
	    (unsigned long long)flow->id, f->name ? f->name : "-",
	    sl_action_name(flow->dec.action), flow->dec.rule_name,
	    flow->dec.need);
}

int
flow_setup_read_classify(struct sl_flow *flow, int *eof, int *full)
{
	ssize_t n = flow_setup_read(flow, flow->rt->set->peek_max);

	if (n == -1)
		return -1;
	if (n == -2) {
		sl_flow_close(flow, 'C', errno == ECONNRESET ? "client_reset" :
		    "client_error");
		return -2;
	}
	*eof = n == 0;
	*full = n == -3;
	return 0;
}

static void
setup_hold_read(struct sl_flow *flow)
{
	struct flow_setup *s = flow->setup;
	ssize_t n = flow_setup_read(flow, s->head_len + flow->rt->set->peek_max);

	if (n > 0 || n == -1)
		return;
	if (n == -3 || n == 0) {
		/*
		 * Full, or the client half-closed after sending what it had:
		 * stop watching until relaying starts (the relay then sees
		 * the FIN again and passes it on).
		 */
		sl_flow_unwatch_cli(flow);
		return;
	}
	sl_flow_close(flow, 'C', "client_error");
}

int
flow_setup_hold(struct sl_flow *flow)
{
	return sl_flow_watch_cli(flow, setup_hold_read);
}

void
flow_decide(struct sl_flow *flow, unsigned known_extra)
{
	struct sl_facts f;

	decide_facts(flow, &f, known_extra);
	decide_run(flow, &f);
}

void
flow_decide_url(struct sl_flow *flow, const char *url_host,
    const char *url_path)
{
	struct sl_facts f;

	decide_facts(flow, &f, SL_FACT_URL);
	f.url_host = url_host;
	f.url_path = url_path;
	/* Kept (borrowed) for the per-address checks of flow_connect(). */
	flow->setup->url_host = url_host;
	flow->setup->url_path = url_path;
	decide_run(flow, &f);
}

/* ------------------------------------------------------------------ */

static void
setup_resolved_cb(void *arg, const struct sl_dns_result *res)
{
	struct sl_flow *flow = arg;
	struct flow_setup *s = flow->setup;

	s->dns = NULL;
	s->res = *res;
	s->on_resolved(flow, &s->res);
}

int
flow_resolve(struct sl_flow *flow, flow_resolved_fn fn)
{
	struct flow_setup *s = flow->setup;
	int done;

	sl_flow_set_state(flow, SL_FLOW_RESOLVING);
	s->on_resolved = fn;
	s->dns = sl_dns_lookup(flow->wk->dns, flow->host, setup_resolved_cb,
	    flow, &s->res, &done);
	if (done) {
		fn(flow, &s->res);
		return 0;
	}
	if (s->dns == NULL) {
		sl_flow_close(flow, 'R', "dns_oom");
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */

static void
setup_connected_cb(void *arg, int fd, enum sl_upstream_err err,
    const struct sl_ip *addr)
{
	struct sl_flow *flow = arg;
	struct flow_setup *s = flow->setup;

	s->up = NULL;
	if (fd == -1) {
		s->on_connected(flow, -1, sl_upstream_err_str(err),
		    err == SL_UP_TIMEOUT ? 504 : 502);
		return;
	}
	flow->dst_ip = *addr;
	s->on_connected(flow, fd, NULL, 0);
}

/* Does addr get the same decision as the one the flow was given? */
static int
setup_same_decision(struct sl_flow *flow, const struct sl_ip *addr)
{
	struct flow_setup *s = flow->setup;
	struct sl_decision d;
	struct sl_facts f;

	decide_facts(flow, &f, s->url_path != NULL ? SL_FACT_URL : 0);
	f.url_host = s->url_host;
	f.url_path = s->url_path;
	f.dst = *addr;
	f.known |= SL_FACT_DST_IP;
	f.dst_local = sl_rt_is_local(flow->rt, addr);
	sl_policy_decide(flow->rt->pol, &f, &d);
	return d.rule_index == flow->dec.rule_index &&
	    d.action == flow->dec.action && !(d.flags & SL_DEC_GUARD);
}

int
flow_connect(struct sl_flow *flow, const struct sl_ip *addrs, unsigned naddr,
    flow_connected_fn fn)
{
	struct flow_setup *s = flow->setup;
	const struct sl_settings *set = flow->rt->set;
	struct sl_upstream_params p = {
		.timeout_ms = set->connect_timeout,
		.delay_ms = set->happy_eyeballs_delay,
		.so_mark = set->so_mark,
	};
	struct sl_ip ok[SL_UPSTREAM_MAX_ADDRS];
	unsigned nok = 0;

	/*
	 * The decision was made with the first address; a name may also
	 * resolve into a range another rule (or a guard rail) treats
	 * differently.  Only addresses with the same decision are tried.
	 */
	for (unsigned i = 0; i < naddr && nok < SL_UPSTREAM_MAX_ADDRS; i++)
		if (i == 0 || setup_same_decision(flow, &addrs[i]))
			ok[nok++] = addrs[i];
	sl_flow_set_state(flow, SL_FLOW_CONNECTING);
	s->on_connected = fn;
	s->up = sl_upstream_connect(flow->wk->base, ok, nok, flow->dst_port,
	    &p, setup_connected_cb, flow);
	if (s->up == NULL) {
		sl_flow_close(flow, 'R', "connect_oom");
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* refusals                                                             */

static void
linger_end(struct sl_flow *flow)
{
	sl_flow_close(flow, flow->term[0] ? flow->term[0] : 'P', NULL);
}

static void
linger_read(struct sl_flow *flow)
{
	char sink[4096];
	ssize_t n;

	n = recv(flow->cfd, sink, sizeof(sink), 0);
	if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR))
		linger_end(flow);
}

/* Body text: printable ASCII only, as it quotes what the client sent. */
static void
refuse_clean(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			*s = '?';
}

int
flow_http_error_text(struct sl_flow *flow, unsigned status,
    const char *reason, int blocked, char *resp, size_t cap)
{
	char body[512], dest[300], a[SL_ADDR_STRLEN];
	int nb, nr;

	if (flow->host != NULL)
		snprintf(dest, sizeof(dest), "%s:%u", flow->host,
		    flow->dst_port);
	else if (flow->dst_ip.af != 0)
		snprintf(dest, sizeof(dest), "%s", sl_ipport_fmt(&flow->dst_ip,
		    flow->dst_port, a, sizeof(a)));
	else
		snprintf(dest, sizeof(dest), "the destination");
	refuse_clean(dest);
	if (blocked && flow->dec.rule_name != NULL)
		nb = snprintf(body, sizeof(body),
		    "sluice: access to %s denied by rule '%s' (%s)\n", dest,
		    flow->dec.rule_name, reason);
	else
		nb = snprintf(body, sizeof(body), "sluice: %u %s (%s)\n",
		    status, sl_http_reason(status), reason);
	nr = snprintf(resp, cap,
	    "HTTP/1.1 %u %s\r\n"
	    "Content-Type: text/plain; charset=us-ascii\r\n"
	    "Content-Length: %d\r\n"
	    "Cache-Control: no-store\r\n"
	    "Connection: close\r\n"
	    "\r\n%s",
	    status, sl_http_reason(status), nb, body);
	return nr < 0 || (size_t)nr >= cap ? -1 : nr;
}

/*
 * By status: a timeout (408, 504), a resource limit (503), the client's
 * request (4xx, and 501/505: what it asked for is not supported), the
 * server side (other 5xx).
 */
char
flow_refuse_culprit(struct sl_flow *flow, unsigned status, int blocked)
{
	if (flow->term[0] == '\0')
		flow->term[0] = blocked ? 'P' :
		    status == 408 || status == 504 ? 'T' :
		    status == 503 ? 'R' :
		    status >= 500 && status != 501 && status != 505 ? 'S' :
		    'C';
	return flow->term[0];
}

void
flow_http_refuse(struct sl_flow *flow, unsigned status, const char *reason,
    int blocked)
{
	char resp[1024];
	char who = flow_refuse_culprit(flow, status, blocked);
	int nr;

	flow->status = status;
	flow->reason = reason;
	flow->blocked = blocked ? 1 : 0;
	nr = flow_http_error_text(flow, status, reason, blocked, resp,
	    sizeof(resp));
	sl_flow_log_event(flow, blocked ? "flow.blocked" : "flow.error");

	/* Small response on a socket we have not written to: it fits. */
	if (nr < 0 || send(flow->cfd, resp, (size_t)nr, MSG_NOSIGNAL) != nr ||
	    flow->setup == NULL) {
		sl_flow_close(flow, who, NULL);
		return;
	}
	if (flow->sfd != -1) {
		close(flow->sfd);
		flow->sfd = -1;
	}
	sl_relay_release(flow);
	flow_linger_close(flow, who);
}

static void
flow_linger_close(struct sl_flow *flow, char who)
{
	/*
	 * Closing now with unread request bytes in our receive buffer would
	 * send a RST that can destroy the response before the client reads
	 * it.  Shut down our side, then read and discard until the client
	 * closes, for a moment.
	 */
	flow->term[0] = who;
	if (shutdown(flow->cfd, SHUT_WR) == -1) {
		linger_end(flow);
		return;
	}
	if (sl_flow_watch_cli(flow, linger_read) == -1)
		return;
	flow_setup_timer(flow, LINGER_MS, linger_end);
}

void
flow_tcp_refuse(struct sl_flow *flow, const char *reason, int blocked,
    int reset)
{
	char who = flow_refuse_culprit(flow, 0, blocked);

	flow->reason = reason;
	flow->blocked = blocked ? 1 : 0;
	sl_flow_log_event(flow, blocked ? "flow.blocked" : "flow.error");
	if (reset) {
		struct linger lg = { 1, 0 };

		(void)setsockopt(flow->cfd, SOL_SOCKET, SO_LINGER, &lg,
		    sizeof(lg));
	}
	sl_flow_close(flow, who, NULL);
}

const char *
flow_deny_reason(const struct sl_flow *flow)
{
	/* Guard rails say which one; rules and the default are "policy". */
	if ((flow->dec.flags & SL_DEC_GUARD) && flow->dec.reason != NULL)
		return flow->dec.reason;
	return "policy";
}
