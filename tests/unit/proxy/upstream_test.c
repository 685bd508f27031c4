/*
 * upstream_test.c — connecting upstream (proxy/upstream.c), RFC 8305
 * style, on 127.0.0.0/8 only.
 *
 * Addresses that refuse are loopback addresses where nothing listens on
 * the port.  An address that never answers is a loopback listener whose
 * accept queue is full (backlog 0 plus one connection nobody accepts):
 * Linux then drops further SYNs, so the connect hangs in SYN-SENT without
 * a packet leaving the machine.
 */
#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/addr.h"
#include "lib/clock.h"
#include "proxy/upstream.h"
#include "tests/common/fds.h"
#include "tests/unit/t.h"

#define WAIT_MS		3000

struct got {
	int		 returned;	/* sl_upstream_connect has returned */
	int		 early;		/* calls before it had */
	int		 calls;
	int		 fd;
	enum sl_upstream_err err;
	struct sl_ip	 addr;
	int		 have_addr;
	uint64_t	 at;		/* mono ms of the call */
};

static void
got_cb(void *arg, int fd, enum sl_upstream_err err, const struct sl_ip *addr)
{
	struct got *g = arg;

	if (!g->returned)
		g->early++;
	g->calls++;
	g->fd = fd;
	g->err = err;
	g->have_addr = addr != NULL;
	if (addr != NULL)
		g->addr = *addr;
	g->at = sl_mono_ms();
}

static void
sin_of(struct sockaddr_in *sin, const char *ip, uint16_t port)
{
	struct sl_ip a;

	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	if (sl_ip_parse(&a, ip) == 0)
		memcpy(&sin->sin_addr, a.b, 4);
}

/*
 * A TCP socket bound to ip:*port (0: any port, written back).  backlog
 * >= 0 listens; -1 only binds, so connections to it are refused while
 * the port stays ours.
 */
static int
tcp_bound(const char *ip, uint16_t *port, int backlog)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd == -1)
		return -1;
	sin_of(&sin, ip, *port);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    (backlog >= 0 && listen(fd, backlog) == -1) ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1) {
		close(fd);
		return -1;
	}
	*port = ntohs(sin.sin_port);
	return fd;
}

/*
 * A listener on ip:port that never completes another handshake: its
 * accept queue (backlog 0) is filled by *filler, which nobody accepts.
 */
static int
tcp_blackhole(const char *ip, uint16_t *port, int *filler)
{
	struct sockaddr_in sin;
	int l = tcp_bound(ip, port, 0);
	int fd;

	*filler = -1;
	if (l == -1)
		return -1;
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		close(l);
		return -1;
	}
	sin_of(&sin, ip, *port);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		close(fd);
		close(l);
		return -1;
	}
	*filler = fd;
	return l;
}

static void
ips(struct sl_ip *out, const char *const *in, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		(void)sl_ip_parse(&out[i], in[i]);
}

static struct sl_upstream *
go(struct event_base *base, const struct sl_ip *a, unsigned n, uint16_t port,
    unsigned timeout_ms, unsigned delay_ms, struct got *g)
{
	struct sl_upstream_params p = { timeout_ms, delay_ms, 0 };
	struct sl_upstream *up;

	memset(g, 0, sizeof(*g));
	g->fd = -1;
	up = sl_upstream_connect(base, a, n, port, &p, got_cb, g);
	g->returned = 1;
	return up;
}

/* Turn the loop until g has been called or ms pass. */
static int
wait_called(struct event_base *base, const struct got *g, unsigned ms)
{
	uint64_t end = sl_mono_ms() + ms;

	for (int i = 0; i < 1000000 && sl_mono_ms() < end && g->calls == 0;
	    i++) {
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		usleep(200);
	}
	return g->calls > 0 ? 0 : -1;
}

static int
ip_is(const struct sl_ip *ip, const char *s)
{
	struct sl_ip b;

	return sl_ip_parse(&b, s) == 0 && sl_ip_equal(ip, &b);
}

T_TEST(upstream_connects_to_listening_port)
{
	static const char *const a[] = { "127.0.0.1" };
	struct event_base *base = event_base_new();
	struct sl_ip addrs[1];
	struct got g;
	uint16_t port = 0;
	int l = tcp_bound("127.0.0.1", &port, 8), one = 0, acc;
	socklen_t len = sizeof(one);

	T_ASSERT(base != NULL && l != -1);
	ips(addrs, a, 1);
	T_ASSERT(go(base, addrs, 1, port, 2000, 250, &g) != NULL);
	/* Never from inside the call, even when it could finish at once. */
	T_EQ(g.calls, 0);
	T_EQ(wait_called(base, &g, WAIT_MS), 0);
	T_EQ(g.early, 0);
	T_EQ(g.calls, 1);
	T_EQ(g.err, SL_UP_OK);
	T_ASSERT(g.fd != -1);
	T_ASSERT(g.have_addr && ip_is(&g.addr, "127.0.0.1"));
	/* The socket handed over is non-blocking, without Nagle. */
	T_ASSERT(fcntl(g.fd, F_GETFL) & O_NONBLOCK);
	T_EQ(getsockopt(g.fd, IPPROTO_TCP, TCP_NODELAY, &one, &len), 0);
	T_ASSERT(one != 0);
	/* And connected to the listener. */
	T_ASSERT((acc = accept(l, NULL, NULL)) != -1);
	T_EQ(send(g.fd, "hi", 2, MSG_NOSIGNAL), 2);
	close(acc);
	close(g.fd);
	close(l);
	event_base_free(base);
}

T_TEST(upstream_closed_port_is_refused)
{
	static const char *const a[] = { "127.0.0.1", "127.0.0.3" };
	struct event_base *base = event_base_new();
	struct sl_ip addrs[2];
	struct got g;
	uint16_t port = 0;
	/* Bound, not listening: connections to it are refused. */
	int b = tcp_bound("127.0.0.1", &port, -1);
	int fds;
	uint64_t t0;

	T_ASSERT(base != NULL && b != -1);
	fds = count_fds();
	ips(addrs, a, 2);
	t0 = sl_mono_ms();
	T_ASSERT(go(base, addrs, 2, port, 2000, 1000, &g) != NULL);
	T_EQ(wait_called(base, &g, WAIT_MS), 0);
	T_EQ(g.calls, 1);
	T_EQ(g.early, 0);
	T_EQ(g.fd, -1);
	T_EQ(g.err, SL_UP_REFUSED);
	T_ASSERT(!g.have_addr);
	/* Both refused long before the 1 s delay: failures move on at once. */
	T_CHECK(g.at - t0 < 900, "refused after %llums",
	    (unsigned long long)(g.at - t0));
	T_EQ(count_fds(), fds);
	close(b);
	event_base_free(base);
}

/* A refused first address starts the next at once, not after the delay. */
T_TEST(upstream_refused_first_address_moves_on_at_once)
{
	static const char *const a[] = { "127.0.0.3", "127.0.0.1" };
	struct event_base *base = event_base_new();
	struct sl_ip addrs[2];
	struct got g;
	uint16_t port = 0;
	int l = tcp_bound("127.0.0.1", &port, 8);
	uint64_t t0;

	T_ASSERT(base != NULL && l != -1);
	ips(addrs, a, 2);
	t0 = sl_mono_ms();
	T_ASSERT(go(base, addrs, 2, port, 5000, 2000, &g) != NULL);
	T_EQ(wait_called(base, &g, WAIT_MS), 0);
	T_EQ(g.err, SL_UP_OK);
	T_ASSERT(ip_is(&g.addr, "127.0.0.1"));
	T_CHECK(g.at - t0 < 1000, "connected after %llums, the delay is 2000",
	    (unsigned long long)(g.at - t0));
	close(g.fd);
	close(l);
	event_base_free(base);
}

/*
 * The first address never answers: after happy-eyeballs-delay the second
 * is tried in parallel and wins; the hanging attempt is closed.
 */
T_TEST(upstream_falls_back_to_next_address_after_delay)
{
	static const char *const a[] = { "127.0.0.2", "127.0.0.1" };
	struct event_base *base = event_base_new();
	struct sl_ip addrs[2];
	struct got g;
	uint16_t port = 0;
	int l = tcp_bound("127.0.0.1", &port, 8), filler, hole, fds;
	uint64_t t0;

	T_ASSERT(base != NULL && l != -1);
	T_ASSERT((hole = tcp_blackhole("127.0.0.2", &port, &filler)) != -1);
	fds = count_fds();
	ips(addrs, a, 2);
	t0 = sl_mono_ms();
	T_ASSERT(go(base, addrs, 2, port, 5000, 150, &g) != NULL);
	T_EQ(wait_called(base, &g, WAIT_MS), 0);
	T_EQ(g.err, SL_UP_OK);
	T_ASSERT(ip_is(&g.addr, "127.0.0.1"));
	T_CHECK(g.at - t0 >= 140 && g.at - t0 < 1000,
	    "connected after %llums with a 150ms delay",
	    (unsigned long long)(g.at - t0));
	/* Only the winner is left open. */
	T_EQ(count_fds(), fds + 1);
	close(g.fd);
	close(filler);
	close(hole);
	close(l);
	event_base_free(base);
}

T_TEST(upstream_times_out_when_nothing_answers)
{
	static const char *const a[] = { "127.0.0.2" };
	struct event_base *base = event_base_new();
	struct sl_ip addrs[1];
	struct got g;
	uint16_t port = 0;
	int filler, hole, fds;
	uint64_t t0;

	T_ASSERT(base != NULL);
	T_ASSERT((hole = tcp_blackhole("127.0.0.2", &port, &filler)) != -1);
	fds = count_fds();
	ips(addrs, a, 1);
	t0 = sl_mono_ms();
	T_ASSERT(go(base, addrs, 1, port, 200, 50, &g) != NULL);
	T_EQ(wait_called(base, &g, WAIT_MS), 0);
	T_EQ(g.calls, 1);
	T_EQ(g.fd, -1);
	T_EQ(g.err, SL_UP_TIMEOUT);
	T_CHECK(g.at - t0 >= 190 && g.at - t0 < 1000,
	    "timed out after %llums, connect-timeout 200ms",
	    (unsigned long long)(g.at - t0));
	T_EQ(count_fds(), fds);
	close(filler);
	close(hole);
	event_base_free(base);
}

T_TEST(upstream_cancel_closes_and_never_calls)
{
	static const char *const a[] = { "127.0.0.2", "127.0.0.2" };
	struct event_base *base = event_base_new();
	struct sl_ip addrs[2];
	struct sl_upstream *up;
	struct got g;
	uint16_t port = 0;
	int filler, hole, fds;

	T_ASSERT(base != NULL);
	T_ASSERT((hole = tcp_blackhole("127.0.0.2", &port, &filler)) != -1);
	fds = count_fds();
	ips(addrs, a, 2);
	T_ASSERT((up = go(base, addrs, 2, port, 300, 20, &g)) != NULL);
	/* Both attempts under way, then cancelled. */
	for (int i = 0; i < 100; i++) {
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		usleep(1000);
	}
	T_EQ(count_fds(), fds + 2);
	sl_upstream_cancel(up);
	T_EQ(count_fds(), fds);
	/* Past the connect timeout: still no call. */
	for (int i = 0; i < 400; i++) {
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		usleep(1000);
	}
	T_EQ(g.calls, 0);
	sl_upstream_cancel(NULL);
	close(filler);
	close(hole);
	event_base_free(base);
}

/*
 * With no descriptor left, socket() fails inside the first attempt: the
 * failure is still reported from the loop, never from inside
 * sl_upstream_connect, and as a resource problem.
 */
T_TEST(upstream_out_of_fds_reported_from_loop_as_resource)
{
	static const char *const a[] = { "127.0.0.1" };
	struct event_base *base = event_base_new();
	struct sl_ip addrs[1];
	struct rlimit old, lim;
	struct got g;
	uint16_t port = 0;
	int l = tcp_bound("127.0.0.1", &port, 8), lowest, rc;

	T_ASSERT(base != NULL && l != -1);
	T_EQ(getrlimit(RLIMIT_NOFILE, &old), 0);
	/* Every descriptor below the lowest free one is taken: a limit
	 * there makes the next socket() fail with EMFILE. */
	T_ASSERT((lowest = dup(0)) != -1);
	close(lowest);
	lim = old;
	lim.rlim_cur = (rlim_t)lowest;
	T_EQ(setrlimit(RLIMIT_NOFILE, &lim), 0);
	ips(addrs, a, 1);
	if (go(base, addrs, 1, port, 1000, 100, &g) == NULL) {
		(void)setrlimit(RLIMIT_NOFILE, &old);
		T_ASSERT(!"sl_upstream_connect failed");
	}
	rc = wait_called(base, &g, WAIT_MS);
	T_EQ(setrlimit(RLIMIT_NOFILE, &old), 0);
	T_EQ(rc, 0);
	T_EQ(g.early, 0);
	T_EQ(g.fd, -1);
	T_EQ(g.err, SL_UP_RESOURCE);
	close(l);
	event_base_free(base);
}

T_TEST(upstream_no_address_starts_nothing)
{
	struct event_base *base = event_base_new();
	struct sl_ip one;
	struct got g;

	T_ASSERT(base != NULL);
	T_EQ(sl_ip_parse(&one, "127.0.0.1"), 0);
	T_ASSERT(go(base, &one, 0, 80, 1000, 100, &g) == NULL);
	event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	T_EQ(g.calls, 0);
	event_base_free(base);
}

T_TEST(upstream_error_strings_match_log_reasons)
{
	/* docs/logs.md lists these as flow-log reasons. */
	T_STREQ(sl_upstream_err_str(SL_UP_OK), "ok");
	T_STREQ(sl_upstream_err_str(SL_UP_REFUSED), "connect_refused");
	T_STREQ(sl_upstream_err_str(SL_UP_UNREACHABLE), "unreachable");
	T_STREQ(sl_upstream_err_str(SL_UP_TIMEOUT), "connect_timeout");
	T_STREQ(sl_upstream_err_str(SL_UP_RESOURCE), "resource");
}

/*
 * Regression: four addresses that never answer used to hold every
 * connect slot, so a fifth, working address was never tried and the
 * result was connect_timeout.  The oldest silent attempt now yields.
 */
T_TEST(upstream_good_address_after_four_dead_ones)
{
	static const char *const a[] = { "127.0.0.2", "127.0.0.2", "127.0.0.2",
	    "127.0.0.2", "127.0.0.1" };
	struct event_base *base = event_base_new();
	struct sl_ip addrs[5];
	struct got g;
	uint16_t port = 0;
	int l = tcp_bound("127.0.0.1", &port, 8), filler, hole;

	T_ASSERT((hole = tcp_blackhole("127.0.0.2", &port, &filler)) != -1);
	ips(addrs, a, 5);
	T_ASSERT(go(base, addrs, 5, port, 1500, 50, &g) != NULL);
	T_EQ(wait_called(base, &g, WAIT_MS), 0);
	T_EQ(g.err, SL_UP_OK);
	T_EQ(g.fd != -1, 1);
	close(g.fd);
	close(l);
	close(hole);
	close(filler);
	event_base_free(base);
}
