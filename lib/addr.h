/*
 * addr.h — IP addresses in one canonical form, and socket address helpers.
 *
 * Every address that reaches policy is canonicalised once, here: an
 * IPv4-mapped IPv6 address (::ffff:a.b.c.d) becomes IPv4, and the odd IPv4
 * spellings inet_aton(3) accepts in host names ("127.1", "0x7f.0.0.1",
 * "2130706433") become the dotted quad they mean, so a rule written for one
 * spelling cannot be dodged with another.
 */
#ifndef SL_ADDR_H
#define SL_ADDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "attr.h"

struct sl_ip {
	uint8_t	af;		/* 0 (none), AF_INET or AF_INET6 */
	uint8_t	b[16];		/* network order; IPv4 uses b[0..3] */
};

#define SL_IP_STRLEN	46	/* INET6_ADDRSTRLEN */
#define SL_ADDR_STRLEN	(SL_IP_STRLEN + 8)	/* "[v6]:65535" */

/* Make an IPv4-mapped IPv6 address (::ffff:a.b.c.d) IPv4. */
void	sl_ip_canon(struct sl_ip *ip) SL_NONNULL(1);
/* From a socket address (canonicalising v4-mapped); port may be NULL. */
void	sl_ip_from_sa(struct sl_ip *ip, uint16_t *port,
	    const struct sockaddr *sa) SL_NONNULL(1, 3);
/* To a socket address; returns its length. */
socklen_t sl_ip_to_sa(const struct sl_ip *ip, uint16_t port,
	    struct sockaddr_storage *ss) SL_NONNULL(1, 3);

/*
 * Parse a strict literal: dotted-quad IPv4 or RFC 4291 IPv6 (no brackets,
 * no zone).  Canonicalises v4-mapped.  Returns 0 or -1.
 */
int	sl_ip_parse(struct sl_ip *ip, const char *s) SL_NONNULL(1, 2);

/*
 * Parse a host taken from a request (CONNECT authority, Host header, URL):
 * accepts "[v6]" with brackets, strict IPv4/IPv6, and the legacy IPv4 forms
 * of inet_aton(3).  Returns 1 if host is an IP literal (ip filled in),
 * 0 if it is not (a name), -1 if it is a malformed bracketed literal.
 */
int	sl_ip_parse_host(struct sl_ip *ip, const char *host, size_t len)
	    SL_NONNULL(1, 2);

/* "a.b.c.d" or "v6"; buf must hold SL_IP_STRLEN.  Returns buf. */
const char *sl_ip_fmt(const struct sl_ip *ip, char *buf, size_t cap)
	    SL_NONNULL(1, 2);
/* "a.b.c.d:port" or "[v6]:port"; buf must hold SL_ADDR_STRLEN. */
const char *sl_ipport_fmt(const struct sl_ip *ip, uint16_t port, char *buf,
	    size_t cap) SL_NONNULL(1, 3);
const char *sl_sa_fmt(const struct sockaddr *sa, char *buf, size_t cap)
	    SL_NONNULL(1, 2);

int	sl_ip_equal(const struct sl_ip *a, const struct sl_ip *b);
/* 127.0.0.0/8 or ::1. */
int	sl_ip_is_loopback(const struct sl_ip *ip);
/* Is ip inside net/plen (same family)?  plen is 0..32 or 0..128. */
int	sl_ip_in_prefix(const struct sl_ip *ip, const struct sl_ip *net,
	    unsigned plen);
/* Parse "addr/len" or a bare address (full length).  0 or -1. */
int	sl_cidr_parse(const char *s, struct sl_ip *net, unsigned *plen)
	    SL_NONNULL(1, 2, 3);

/*
 * Parse a listening or upstream endpoint: "1.2.3.4:80", "[::1]:80",
 * "*:80" (all IPv4 and IPv6, as [::] with v6only off); the port is
 * 1..65535.  0 or -1.
 */
int	sl_endpoint_parse(const char *s, struct sockaddr_storage *ss,
	    socklen_t *len) SL_NONNULL(1, 2, 3);

#endif /* SL_ADDR_H */
