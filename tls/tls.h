/*
 * tls.h — TLS for sluice: ClientHello peeking now; the inspection engine
 * (CA, leaf minting, upstream verification, HTTP/2) comes later and joins
 * this header.
 */
#ifndef SL_TLS_H
#define SL_TLS_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/attr.h"
#include "../lib/parse.h"

#define SL_TLS_SNI_MAX		255
#define SL_TLS_ALPN_MAX		8	/* protocols kept */
#define SL_TLS_ALPN_LEN_MAX	32	/* bytes kept per protocol */

/*
 * What a ClientHello tells us.  Strings are NUL-terminated copies (no
 * allocation: fixed arrays) so the result outlives the peek buffer.
 */
struct sl_tls_hello {
	size_t		consumed;	/* bytes of records holding the hello */
	uint16_t	record_version;	/* first record's legacy version */
	uint16_t	legacy_version;	/* ClientHello.legacy_version */
	uint16_t	max_version;	/* highest of supported_versions, or
					   legacy_version without it */
	char		sni[SL_TLS_SNI_MAX + 1];	/* "" if none */
	unsigned	has_sni:1;
	unsigned	has_ech:1;	/* encrypted_client_hello (0xfe0d) */
	unsigned	has_alpn:1;
	unsigned	nalpn;
	char		alpn[SL_TLS_ALPN_MAX][SL_TLS_ALPN_LEN_MAX + 1];
	const char	*err;		/* SL_PARSE_BAD: static reason */
};

/*
 * Parse a TLS ClientHello from the first bytes a client sent (RFC 8446
 * sections 4.1.2 and 5.1, RFC 6066 section 3, RFC 7301).  The handshake
 * message may span several TLS records and the records any number of TCP
 * segments: buf holds everything peeked so far.  Returns SL_PARSE_MORE
 * until the whole ClientHello is there; SL_PARSE_NOT_MINE if the bytes
 * cannot be a TLS handshake record; SL_PARSE_BAD with out->err if they are
 * one but malformed, or if the hello would exceed cap bytes.
 */
enum sl_parse_rc sl_tls_peek_parse(const uint8_t *buf, size_t len, size_t cap,
	    struct sl_tls_hello *out) SL_NONNULL(1, 4);

#endif /* SL_TLS_H */
