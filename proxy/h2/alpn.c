/*
 * alpn.c — which application protocol each side of an inspected session
 * speaks (h2.h).  The client is offered what the origin accepted; the one
 * exception is a client that speaks only h2 to an origin that chose
 * http/1.1 or nothing: sluice carries its streams over HTTP/1.1 rather
 * than fail a handshake the client would have completed going direct
 * (an origin without ALPN speaks HTTP/1.1 to it).
 */
#include <string.h>

#include "h2.h"

static const unsigned char alpn_h1[] = "http/1.1";

/* Does the wire-format list offer proto (n bytes)?  Its offset, or -1. */
static long
alpn_find(const unsigned char *in, size_t inlen, const unsigned char *proto,
    size_t n)
{
	for (size_t i = 0; i < inlen && i + 1 + in[i] <= inlen;
	    i += 1 + (size_t)in[i])
		if (in[i] == n && memcmp(in + i + 1, proto, n) == 0)
			return (long)i;
	return -1;
}

int
sl_h2_alpn_is_h2(const unsigned char *p, unsigned len)
{
	return p != NULL && len == 2 && memcmp(p, "h2", 2) == 0;
}

size_t
sl_h2_alpn_upstream(unsigned char *list, size_t len, size_t cap)
{
	size_t n = sizeof(alpn_h1) - 1;

	if (alpn_find(list, len, (const unsigned char *)"h2", 2) < 0 ||
	    alpn_find(list, len, alpn_h1, n) >= 0 || len + 1 + n > cap)
		return len;
	list[len] = (unsigned char)n;
	memcpy(list + len + 1, alpn_h1, n);
	return len + 1 + n;
}

int
sl_h2_alpn_select(const unsigned char *up, unsigned uplen,
    const unsigned char *in, unsigned inlen, const unsigned char **out,
    unsigned char *outlen)
{
	long at;

	if (up != NULL && uplen > 0 && (at = alpn_find(in, inlen, up,
	    uplen)) >= 0) {
		*out = in + at + 1;
		*outlen = in[at];
		return 1;
	}
	/* The origin speaks HTTP/1.1 (chose it, or chose nothing); a
	 * client that offered http/1.1 speaks it too, unchanged. */
	if (alpn_find(in, inlen, alpn_h1, sizeof(alpn_h1) - 1) >= 0 ||
	    (at = alpn_find(in, inlen, (const unsigned char *)"h2", 2)) < 0)
		return 0;
	if (up != NULL && uplen > 0 && !(uplen == sizeof(alpn_h1) - 1 &&
	    memcmp(up, alpn_h1, uplen) == 0))
		return 0;	/* another protocol: nothing we can carry */
	*out = in + at + 1;
	*outlen = in[at];
	return 1;
}
