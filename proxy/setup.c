/*
 * setup.c — the setup state both modes share until a flow relays: the
 * bytes read from the client, the phase timer; and refusing.
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
#include "../lib/http/http.h"
#include "../lib/log.h"
#include "../policy/config.h"
#include "req.h"
#include "setup.h"
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

void
flow_setup_timer_stop(struct sl_flow *flow)
{
	struct flow_setup *s = flow->setup;

	if (s != NULL && s->timer_set) {
		evtimer_del(&s->timer);
		s->timer_set = 0;
	}
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
	n = recv(flow->cli.fd, s->buf + s->len, SL_MIN(s->cap, max) - s->len,
	    0);
	if (n == -1)
		return (errno == EAGAIN || errno == EINTR) ? -1 : -2;
	s->len += (size_t)n;
	flow->last = sl_mono_ms();
	return n;
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
setup_hold_read(struct sl_half *cli)
{
	struct sl_flow *flow = cli->flow;
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
		sl_half_unwatch(cli);
		return;
	}
	sl_flow_close(flow, 'C', "client_error");
}

int
flow_setup_hold(struct sl_flow *flow)
{
	return sl_half_watch(&flow->cli, setup_hold_read);
}

/* ------------------------------------------------------------------ */
/* refusals                                                             */

static void
linger_end(struct sl_flow *flow)
{
	sl_flow_close(flow, flow->term[0] ? flow->term[0] : 'P', NULL);
}

static void
linger_read(struct sl_half *cli)
{
	char sink[4096];
	ssize_t n;

	n = recv(cli->fd, sink, sizeof(sink), 0);
	if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR))
		linger_end(cli->flow);
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
	const struct sl_req *req = flow->req;
	char body[512], dest[300], a[SL_ADDR_STRLEN];
	int nb, nr;

	if (req->host != NULL)
		snprintf(dest, sizeof(dest), "%s:%u", req->host,
		    req->dst_port);
	else if (req->dst_ip.af != 0)
		snprintf(dest, sizeof(dest), "%s", sl_ipport_fmt(&req->dst_ip,
		    req->dst_port, a, sizeof(a)));
	else
		snprintf(dest, sizeof(dest), "the destination");
	refuse_clean(dest);
	if (blocked && req->decided)
		nb = snprintf(body, sizeof(body),
		    "sluice: access to %s denied by rule '%s' (%s)\n", dest,
		    req->dec.rule_name, reason);
	else
		nb = snprintf(body, sizeof(body), "sluice: %u %s (%s%s%s)\n",
		    status, sl_http_reason(status), reason,
		    req->detail != NULL ? ": " : "",
		    req->detail != NULL ? req->detail : "");
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
 * The culprit by status: a timeout (408, 504), a resource limit (503),
 * the client's request (4xx, and 501/505: what it asked for is not
 * supported), the server side (other 5xx).
 */
char
flow_refusal(struct sl_flow *flow, unsigned status, const char *reason,
    int blocked)
{
	struct sl_req *req = flow->req;

	if (flow->term[0] == '\0')
		flow->term[0] = blocked ? 'P' :
		    status == 408 || status == 504 ? 'T' :
		    status == 503 ? 'R' :
		    status >= 500 && status != 501 && status != 505 ? 'S' :
		    'C';
	/* The state it struck in, unless the caller named it. */
	if (flow->term[1] == '\0')
		flow->term[1] = sl_flow_letter(flow);
	memcpy(req->term, flow->term, sizeof(req->term));
	if (status != 0)		/* a tunnel keeps its "200" */
		req->status = status;
	req->reason = reason;
	req->blocked = blocked ? 1 : 0;
	req->refused = 1;
	return flow->term[0];
}

void
flow_http_refuse(struct sl_flow *flow, unsigned status, const char *reason,
    int blocked)
{
	char resp[1024];
	char who = flow_refusal(flow, status, reason, blocked);
	int nr;

	nr = flow_http_error_text(flow, status, reason, blocked, resp,
	    sizeof(resp));
	sl_flow_log_refusal(flow);

	/* Small response on a socket we have not written to: it fits. */
	if (nr < 0 || send(flow->cli.fd, resp, (size_t)nr, MSG_NOSIGNAL) !=
	    nr || flow->setup == NULL) {
		sl_flow_close(flow, who, NULL);
		return;
	}
	sl_req_pending_cancel(flow->req);
	sl_half_close(&flow->srv);
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
	sl_half_unwatch(&flow->cli);
	event_del(&flow->cli.ev_wr);
	if (shutdown(flow->cli.fd, SHUT_WR) == -1) {
		linger_end(flow);
		return;
	}
	if (sl_half_watch(&flow->cli, linger_read) == -1)
		return;
	flow_setup_timer(flow, LINGER_MS, linger_end);
}

void
flow_tcp_refuse(struct sl_flow *flow, const char *reason, int blocked,
    int reset)
{
	char who = flow_refusal(flow, 0, reason, blocked);

	sl_flow_log_refusal(flow);
	if (reset) {
		struct linger lg = { 1, 0 };

		(void)setsockopt(flow->cli.fd, SOL_SOCKET, SO_LINGER, &lg,
		    sizeof(lg));
	}
	sl_flow_close(flow, who, NULL);
}
