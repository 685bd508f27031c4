/*
 * quicinit.c — write a QUIC v1 client Initial datagram (1200 bytes) whose
 * ClientHello names SNI, for the UDP forwarding test (integ 160): the
 * reader's own test encoder (tests/common/quic_enc.h), a minimal TLS 1.3
 * ClientHello with server_name, ALPN h3 and supported_versions.
 *
 *   quicinit SNI > FILE
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tests/common/quic_enc.h"

static void
ext(struct qe_buf *e, unsigned type, const struct qe_buf *x)
{
	qe_be(e, type, 2);
	qe_be(e, x->n, 2);
	qe_put(e, x->b, x->n);
}

/* A ClientHello handshake message (RFC 8446 4.1.2) naming sni. */
static void
hello(struct qe_buf *h, const char *sni)
{
	static struct qe_buf e, x;
	size_t at;

	h->n = 0;
	qe_be(h, 1, 1);
	at = h->n;
	qe_be(h, 0, 3);
	qe_be(h, 0x0303, 2);
	for (unsigned i = 0; i < 32; i++)
		qe_be(h, 0x10 + i, 1);			/* random */
	qe_be(h, 0, 1);					/* session id */
	qe_be(h, 0x000413011302, 6);			/* 2 suites */
	qe_be(h, 0x0100, 2);				/* null compression */
	e.n = 0;
	x.n = 0;
	qe_be(&x, strlen(sni) + 3, 2);
	qe_be(&x, 0, 1);
	qe_be(&x, strlen(sni), 2);
	qe_put(&x, sni, strlen(sni));
	ext(&e, 0, &x);
	x.n = 0;
	qe_be(&x, 3, 2);
	qe_be(&x, 2, 1);
	qe_put(&x, "h3", 2);
	ext(&e, 16, &x);
	x.n = 0;
	qe_be(&x, 0x020304, 3);		/* supported_versions: 0x0304 */
	ext(&e, 43, &x);
	x.n = 0;
	qe_be(&x, 32 + 4, 2);
	qe_be(&x, 0x001d0020, 4);
	for (unsigned i = 0; i < 32; i++)
		qe_be(&x, 0x80 + i, 1);
	ext(&e, 51, &x);
	qe_be(h, e.n, 2);
	qe_put(h, e.b, e.n);
	h->b[at] = (uint8_t)((h->n - 4) >> 16);
	h->b[at + 1] = (uint8_t)((h->n - 4) >> 8);
	h->b[at + 2] = (uint8_t)(h->n - 4);
}

int
main(int argc, char **argv)
{
	static struct qe_buf h, f, d;
	struct qe_pkt p;

	if (argc != 2 || strlen(argv[1]) > 200) {
		fprintf(stderr, "usage: quicinit SNI > FILE\n");
		return 2;
	}
	hello(&h, argv[1]);
	qe_crypto_frame(&f, 0, h.b, h.n);
	memset(&p, 0, sizeof(p));
	p.pad_to = 1200;
	qe_initial(&d, &p, &f);
	if (fwrite(d.b, 1, d.n, stdout) != d.n || fflush(stdout) != 0)
		return 1;
	return 0;
}
