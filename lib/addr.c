/*
 * addr.c — canonical IP addresses and socket address formatting.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

static const uint8_t v4mapped_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

void
sl_ip_canon(struct sl_ip *ip)
{
	if (ip->af == AF_INET6 &&
	    memcmp(ip->b, v4mapped_prefix, sizeof(v4mapped_prefix)) == 0) {
		memmove(ip->b, ip->b + 12, 4);
		memset(ip->b + 4, 0, 12);
		ip->af = AF_INET;
	}
}

void
sl_ip_from_sa(struct sl_ip *ip, uint16_t *port, const struct sockaddr *sa)
{
	memset(ip, 0, sizeof(*ip));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		ip->af = AF_INET;
		memcpy(ip->b, &s4->sin_addr, 4);
		if (port)
			*port = ntohs(s4->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		ip->af = AF_INET6;
		memcpy(ip->b, &s6->sin6_addr, 16);
		if (port)
			*port = ntohs(s6->sin6_port);
		sl_ip_canon(ip);
	} else if (port) {
		*port = 0;
	}
}

socklen_t
sl_ip_to_sa(const struct sl_ip *ip, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (ip->af == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, ip->b, 4);
		return sizeof(*s4);
	}
	if (ip->af == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, ip->b, 16);
		return sizeof(*s6);
	}
	return 0;
}

int
sl_ip_parse(struct sl_ip *ip, const char *s)
{
	memset(ip, 0, sizeof(*ip));
	/* inet_pton(AF_INET) is strict: four decimal octets, nothing else. */
	if (inet_pton(AF_INET, s, ip->b) == 1) {
		ip->af = AF_INET;
		return 0;
	}
	if (strchr(s, '%') == NULL && inet_pton(AF_INET6, s, ip->b) == 1) {
		ip->af = AF_INET6;
		sl_ip_canon(ip);
		return 0;
	}
	memset(ip, 0, sizeof(*ip));
	return -1;
}

int
sl_ip_parse_host(struct sl_ip *ip, const char *host, size_t len)
{
	char buf[SL_IP_STRLEN + 2];
	struct in_addr a4;

	memset(ip, 0, sizeof(*ip));
	if (len > 0 && host[0] == '[') {
		if (len < 3 || host[len - 1] != ']' || len - 2 >= sizeof(buf))
			return -1;
		memcpy(buf, host + 1, len - 2);
		buf[len - 2] = '\0';
		if (strchr(buf, '%') != NULL ||
		    inet_pton(AF_INET6, buf, ip->b) != 1)
			return -1;
		ip->af = AF_INET6;
		sl_ip_canon(ip);
		return 1;
	}
	if (len == 0 || len >= sizeof(buf))
		return 0;
	memcpy(buf, host, len);
	buf[len] = '\0';
	if (strchr(buf, ':') != NULL) {
		/* A bare IPv6 literal (allowed in a Host-less SNI-less fact). */
		if (sl_ip_parse(ip, buf) == 0)
			return 1;
		return 0;
	}
	/*
	 * inet_aton accepts "127.1", "0x7f000001", "017700000001": the forms
	 * browsers and curl also turn into addresses.  A DNS name never looks
	 * like that (a TLD is never all digits), so treat them as literals.
	 */
	if (inet_aton(buf, &a4) != 0) {
		ip->af = AF_INET;
		memcpy(ip->b, &a4, 4);
		return 1;
	}
	return 0;
}

const char *
sl_ip_fmt(const struct sl_ip *ip, char *buf, size_t cap)
{
	if (ip->af == AF_INET || ip->af == AF_INET6) {
		if (inet_ntop(ip->af, ip->b, buf, (socklen_t)cap) != NULL)
			return buf;
	}
	snprintf(buf, cap, "-");
	return buf;
}

const char *
sl_ipport_fmt(const struct sl_ip *ip, uint16_t port, char *buf, size_t cap)
{
	char a[SL_IP_STRLEN];

	sl_ip_fmt(ip, a, sizeof(a));
	if (ip->af == AF_INET6)
		snprintf(buf, cap, "[%s]:%u", a, port);
	else if (ip->af == AF_INET)
		snprintf(buf, cap, "%s:%u", a, port);
	else
		snprintf(buf, cap, "-");
	return buf;
}

const char *
sl_sa_fmt(const struct sockaddr *sa, char *buf, size_t cap)
{
	struct sl_ip ip;
	uint16_t port;

	sl_ip_from_sa(&ip, &port, sa);
	return sl_ipport_fmt(&ip, port, buf, cap);
}

int
sl_ip_equal(const struct sl_ip *a, const struct sl_ip *b)
{
	size_t n = a->af == AF_INET ? 4 : 16;

	return a->af == b->af && memcmp(a->b, b->b, n) == 0;
}

int
sl_ip_is_loopback(const struct sl_ip *ip)
{
	static const unsigned char v6[16] = { [15] = 1 };

	return ip->af == AF_INET ? ip->b[0] == 127 :
	    memcmp(ip->b, v6, sizeof(v6)) == 0;
}

int
sl_ip_in_prefix(const struct sl_ip *ip, const struct sl_ip *net, unsigned plen)
{
	unsigned full = plen / 8, rem = plen % 8;

	if (ip->af != net->af || plen > (ip->af == AF_INET ? 32u : 128u))
		return 0;
	if (memcmp(ip->b, net->b, full) != 0)
		return 0;
	if (rem == 0)
		return 1;
	return ((ip->b[full] ^ net->b[full]) & (uint8_t)(0xff << (8 - rem)))
	    == 0;
}

int
sl_cidr_parse(const char *s, struct sl_ip *net, unsigned *plen)
{
	char buf[SL_IP_STRLEN + 5];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned maxlen;

	if (alen == 0 || alen >= SL_IP_STRLEN)
		return -1;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	if (sl_ip_parse(net, buf) == -1)
		return -1;
	/* A v4-mapped prefix was canonicalised to v4: adjust its length. */
	maxlen = net->af == AF_INET ? 32 : 128;
	if (slash == NULL) {
		*plen = maxlen;
		return 0;
	}
	{
		const char *p = slash + 1;
		unsigned long v;
		char *end;

		if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] != '\0'))
			return -1;
		v = strtoul(p, &end, 10);
		if (*end != '\0')
			return -1;
		if (net->af == AF_INET && strchr(buf, ':') != NULL) {
			if (v < 96 || v > 128)
				return -1;
			v -= 96;
		}
		if (v > maxlen)
			return -1;
		*plen = (unsigned)v;
	}
	return 0;
}

int
sl_endpoint_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[SL_IP_STRLEN + 2];
	const char *colon = strrchr(s, ':');
	struct sl_ip ip;
	unsigned long port;
	size_t hlen;
	char *end;

	if (colon == NULL || colon[1] == '\0')
		return -1;
	port = strtoul(colon + 1, &end, 10);
	/* Port 0 would be one the kernel picks at bind time: no client,
	 * nftables rule or resolver could name it. */
	if (*end != '\0' || port == 0 || port > 65535)
		return -1;
	hlen = (size_t)(colon - s);
	if (hlen == 0 || hlen >= sizeof(host))
		return -1;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (strcmp(host, "*") == 0) {
		memset(&ip, 0, sizeof(ip));
		ip.af = AF_INET6;	/* [::] with v6only off: both families */
	} else if (host[0] == '[') {
		if (host[hlen - 1] != ']')
			return -1;
		host[hlen - 1] = '\0';
		if (sl_ip_parse(&ip, host + 1) == -1)
			return -1;
		if (ip.af != AF_INET6)
			return -1;	/* [::ffff:1.2.3.4] is not a v6 listener */
	} else if (sl_ip_parse(&ip, host) == -1 || ip.af != AF_INET) {
		return -1;
	}
	*len = sl_ip_to_sa(&ip, (uint16_t)port, ss);
	return 0;
}
