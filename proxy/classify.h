/*
 * classify.h — what are the first bytes a client sent?  TLS ClientHello
 * (SNI, ALPN, ECH), an HTTP request (Host), STUN, or something else.
 * Pure: (buf, len) in, verdict out; the flow code does the reading.
 */
#ifndef SL_CLASSIFY_H
#define SL_CLASSIFY_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/attr.h"
#include "../tls/tls.h"
#include "flow.h"
#include "../lib/http/http.h"

struct sl_classify {
	enum sl_parse_rc	 rc;	/* OK: proto known; MORE; BAD */
	enum sl_flow_proto	 proto;
	const char		*err;	/* BAD: static reason */
	struct sl_tls_hello	 hello;	/* proto TLS */
	struct sl_http_span	 host;	/* proto HTTP: Host value, if any */
	size_t			 head_len; /* proto HTTP: request head bytes */
};

/*
 * Classify buf[0..len) (buf may be NULL when len is 0).  cap bounds how
 * many bytes may be needed (a ClientHello or HTTP head larger than cap is
 * BAD "too_large").  HTTP is only recognised with want_http_head: then the
 * whole request head must arrive (for its Host); otherwise the request
 * line's start suffices.  http_lim may be NULL when want_http_head is 0.
 * MORE says which protocol the bytes so far can only begin: TLS (a
 * ClientHello under way), HTTP (a method token, perhaps more of a request
 * line), STUN, or UNKNOWN (nothing yet).
 */
void	sl_classify(const uint8_t *buf, size_t len, size_t cap,
	    int want_http_head, const struct sl_http_limits *http_lim,
	    struct sl_classify *out) SL_NONNULL(6);

/*
 * No more bytes will come in time (the client closed, or peek-timeout
 * passed: timeout): a ClientHello cut short is BAD ("truncated_eof",
 * "truncated_timeout"), as no SNI check can be done on it and a pause must
 * not buy a flow past one.  Other verdicts are left as they are.
 */
void	sl_classify_cut_short(struct sl_classify *c, int timeout)
	    SL_NONNULL(1);

#endif /* SL_CLASSIFY_H */
