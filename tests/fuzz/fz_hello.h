/*
 * fz_hello.h — what every parsed ClientHello must look like, whichever
 * way it came (fuzz_tls_peek over TCP records, fuzz_quic in Initials).
 */
#ifndef SL_FZ_HELLO_H
#define SL_FZ_HELLO_H

#include <string.h>

#include "tls/tls.h"
#include "fz.h"

/* Bounded lowercase SNI, bounded ALPN names, TLS versions, no reason. */
static inline void
fz_check_hello(const struct sl_tls_hello *h)
{
	size_t n = strnlen(h->sni, sizeof(h->sni));

	FZ_CHECK(h->err == NULL);
	FZ_CHECK(n <= SL_TLS_SNI_MAX && h->has_sni == (n > 0));
	for (size_t i = 0; i < n; i++)
		FZ_CHECK(!(h->sni[i] >= 'A' && h->sni[i] <= 'Z'));
	FZ_CHECK(h->nalpn <= SL_TLS_ALPN_MAX);
	FZ_CHECK(h->nalpn == 0 || h->has_alpn);
	for (unsigned i = 0; i < h->nalpn; i++) {
		size_t k = strnlen(h->alpn[i], sizeof(h->alpn[i]));

		FZ_CHECK(k >= 1 && k <= SL_TLS_ALPN_LEN_MAX);
	}
	FZ_CHECK(h->legacy_version >> 8 == 3 && h->max_version != 0);
}

#endif /* SL_FZ_HELLO_H */
