/*
 * addrwatch_test.c — the appliance's own addresses (proxy/addrwatch.c).
 *
 * The tracking tests run in a network namespace of their own (unshare,
 * root only; otherwise they say so and pass): they add and remove
 * addresses on its loopback device with rtnetlink requests of their own
 * and never turn an event loop, so whatever the set knows it learnt on
 * the reader's path, at the moment it was asked.
 */
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/addr.h"
#include "lib/log.h"
#include "proxy/addrwatch.h"
#include "tests/unit/t.h"

static int t_netns = -1;	/* 1: in a private namespace, 0: cannot be */

/*
 * Move this process into a private network namespace, its loopback
 * device up (IPv6 reports an address on a device that is down only once
 * the device comes up).  0 or -1.
 */
static int
private_netns(void)
{
	struct ifreq ifr;
	int fd;

	if (t_netns != -1)
		return t_netns ? 0 : -1;
	t_netns = 0;
	if (unshare(CLONE_NEWNET) == -1) {
		printf("# no private network namespace (%s): address tracking "
		    "not tested here (integration test 041 does)\n",
		    strerror(errno));
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == -1 ||
	    (ifr.ifr_flags |= IFF_UP, ioctl(fd, SIOCSIFFLAGS, &ifr) == -1)) {
		close(fd);
		return -1;
	}
	close(fd);
	t_netns = 1;
	return 0;
}

/*
 * Add (RTM_NEWADDR) or remove (RTM_DELADDR) addr/plen on lo, as `ip addr`
 * does (rtnetlink(7)), and wait for the kernel's answer.  0 or -1.
 */
static int
nl_addr(int fd, uint16_t type, const char *addr, unsigned plen)
{
	struct {
		struct nlmsghdr		nh;
		struct ifaddrmsg	ifa;
		char			attrs[64];
	} req;
	struct {
		struct nlmsghdr		nh;
		struct nlmsgerr		err;
	} ack;
	struct sl_ip ip;
	struct rtattr *rta;
	size_t alen;

	if (sl_ip_parse(&ip, addr) == -1)
		return -1;
	alen = ip.af == AF_INET ? 4 : 16;
	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.ifa));
	req.nh.nlmsg_type = type;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK |
	    (type == RTM_NEWADDR ? NLM_F_CREATE | NLM_F_EXCL : 0);
	req.ifa.ifa_family = ip.af;
	req.ifa.ifa_prefixlen = (unsigned char)plen;
	/*
	 * Not IFA_F_NODAD: with it Linux reports a new IPv6 address (and
	 * routes to it) from a work queue, after this request is answered;
	 * without it, at once, as tentative (lo's "DAD" then ends at once).
	 */
	req.ifa.ifa_flags = 0;
	req.ifa.ifa_index = if_nametoindex("lo");
	rta = (struct rtattr *)((char *)&req + NLMSG_ALIGN(req.nh.nlmsg_len));
	rta->rta_type = IFA_LOCAL;
	rta->rta_len = (unsigned short)RTA_LENGTH(alen);
	memcpy(RTA_DATA(rta), ip.b, alen);
	req.nh.nlmsg_len = NLMSG_ALIGN(req.nh.nlmsg_len) + RTA_ALIGN(rta->rta_len);
	if (send(fd, &req, req.nh.nlmsg_len, 0) == -1 ||
	    recv(fd, &ack, sizeof(ack), 0) < (ssize_t)sizeof(ack))
		return -1;
	if (ack.nh.nlmsg_type != NLMSG_ERROR || ack.err.error != 0) {
		printf("# %s %s/%u: %s\n", type == RTM_NEWADDR ? "add" : "del",
		    addr, plen, strerror(-ack.err.error));
		return -1;
	}
	return 0;
}

static int
nl_open(void)
{
	return socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
}

/*
 * The watcher's socket: the one rtnetlink socket of this process that
 * listens to multicast groups.  Found so that a test can shrink its
 * buffer; -1 if there is none.
 */
static int
watch_fd(void)
{
	for (int fd = 3; fd < 1024; fd++) {
		struct sockaddr_nl sa;
		socklen_t len = sizeof(sa);
		int proto;
		socklen_t plen = sizeof(proto);

		if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &plen) == -1 ||
		    proto != NETLINK_ROUTE ||
		    getsockname(fd, (struct sockaddr *)&sa, &len) == -1 ||
		    sa.nl_family != AF_NETLINK || sa.nl_groups == 0)
			continue;
		return fd;
	}
	return -1;
}

/* Datagrams the kernel dropped for socket fd (/proc/net/netlink), or -1. */
static long
netlink_drops(int fd)
{
	char line[256];
	struct stat st;
	FILE *fp;
	long drops = -1;

	if (fstat(fd, &st) == -1 ||
	    (fp = fopen("/proc/net/netlink", "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL) {
		unsigned long ino;
		long d;

		if (sscanf(line, "%*s %*s %*s %*s %*s %*s %*s %*s %ld %lu",
		    &d, &ino) == 2 && ino == (unsigned long)st.st_ino)
			drops = d;
	}
	fclose(fp);
	return drops;
}

static int
has(struct sl_addrs *a, const char *addr)
{
	struct sl_ip ip;

	if (sl_ip_parse(&ip, addr) == -1)
		return -1;
	return sl_addrs_has(a, &ip);
}

/* ------------------------------------------------------------------ */

/* Loopback and IPv6 link-local have guard rails of their own. */
T_TEST(addrs_leave_out_loopback_and_link_local)
{
	struct sl_addrs *a = sl_addrs_snapshot();

	T_ASSERT(a != NULL);
	T_EQ(has(a, "127.0.0.1"), 0);
	T_EQ(has(a, "::1"), 0);
	T_EQ(has(a, "192.0.2.254"), 0);
	T_ASSERT(sl_addrs_ref(a) == a);
	sl_addrs_unref(a);
	sl_addrs_unref(a);
	sl_addrs_unref(NULL);
	sl_addrwatch_free(NULL);
}

/*
 * Issue 12 item 5: an address added while sluiced runs is the
 * appliance's as soon as the kernel has it, and no longer once it is
 * gone; IPv4 and IPv6; no event loop involved.
 */
T_TEST(addrwatch_sees_change_at_once)
{
	static const char *const addrs[] = { "192.0.2.7", "2001:db8::7" };
	struct sl_addrwatch *w;
	struct sl_addrs *a;
	int fd;

	if (private_netns() == -1)
		return;
	T_ASSERT((fd = nl_open()) != -1);
	T_ASSERT((w = sl_addrwatch_new()) != NULL);
	a = sl_addrwatch_addrs(w);
	for (size_t i = 0; i < 2; i++) {
		unsigned plen = strchr(addrs[i], ':') ? 128 : 32;

		T_EQ(has(a, addrs[i]), 0);
		T_EQ(nl_addr(fd, RTM_NEWADDR, addrs[i], plen), 0);
		T_EQ(has(a, addrs[i]), 1);
		T_EQ(has(a, addrs[i]), 1);
		T_EQ(nl_addr(fd, RTM_DELADDR, addrs[i], plen), 0);
		T_EQ(has(a, addrs[i]), 0);
	}
	sl_addrwatch_free(w);
	close(fd);
}

/* A set made for a snapshot (tests, tools) does not follow changes. */
T_TEST(addrs_snapshot_stays_as_it_was)
{
	struct sl_addrs *a;
	int fd;

	if (private_netns() == -1)
		return;
	T_ASSERT((fd = nl_open()) != -1);
	T_ASSERT((a = sl_addrs_snapshot()) != NULL);
	T_EQ(nl_addr(fd, RTM_NEWADDR, "192.0.2.8", 32), 0);
	T_EQ(has(a, "192.0.2.8"), 0);
	sl_addrs_unref(a);
	T_ASSERT((a = sl_addrs_snapshot()) != NULL);
	T_EQ(has(a, "192.0.2.8"), 1);
	T_EQ(nl_addr(fd, RTM_DELADDR, "192.0.2.8", 32), 0);
	sl_addrs_unref(a);
	close(fd);
}

/*
 * Far more notifications than the socket holds (ENOBUFS, its buffer made
 * as small as the kernel allows): the set is read again, so it is right
 * after the overflow too.
 */
T_TEST(addrwatch_resyncs_after_overflow)
{
	enum { N = 600 };
	struct sl_addrwatch *w;
	struct sl_addrs *a;
	char s[SL_IP_STRLEN];
	int fd, wfd, small = 1;

	if (private_netns() == -1)
		return;
	/* Hundreds of "own address" lines would hide the one warning. */
	sl_log_set_level(SL_LOG_WARN);
	T_ASSERT((fd = nl_open()) != -1);
	T_ASSERT((w = sl_addrwatch_new()) != NULL);
	a = sl_addrwatch_addrs(w);
	T_ASSERT((wfd = watch_fd()) != -1);
	T_ASSERT(setsockopt(wfd, SOL_SOCKET, SO_RCVBUFFORCE, &small,
	    sizeof(small)) == 0);
	for (unsigned i = 0; i < N; i++) {
		snprintf(s, sizeof(s), "10.77.%u.%u", i / 250, i % 250 + 1);
		T_EQ(nl_addr(fd, RTM_NEWADDR, s, 32), 0);
	}
	/* Remove the first half again: only the second is ours. */
	for (unsigned i = 0; i < N / 2; i++) {
		snprintf(s, sizeof(s), "10.77.%u.%u", i / 250, i % 250 + 1);
		T_EQ(nl_addr(fd, RTM_DELADDR, s, 32), 0);
	}
	T_CHECK(netlink_drops(wfd) > 0, "no overflow: %ld drops",
	    netlink_drops(wfd));
	T_EQ(has(a, "10.77.0.1"), 0);
	T_EQ(has(a, "10.77.1.50"), 0);		/* N / 2 - 1 */
	T_EQ(has(a, "10.77.1.51"), 1);		/* N / 2 */
	T_EQ(has(a, "10.77.2.100"), 1);		/* N - 1 */
	sl_addrwatch_free(w);
	close(fd);
	sl_log_set_level(SL_LOG_INFO);
}
