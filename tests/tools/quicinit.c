/*
 * quicinit.c — write a QUIC v1 client Initial datagram (1200 bytes) whose
 * ClientHello names SNI, for the UDP forwarding test (integ 160): the
 * reader's own test encoder (tests/common/quic_enc.h), a minimal TLS 1.3
 * ClientHello (qe_hello) with server_name, ALPN h3 and an X25519 share.
 *
 *   quicinit SNI > FILE
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tests/common/quic_enc.h"

int
main(int argc, char **argv)
{
	static struct qe_buf h, f, d;
	struct qe_pkt p;

	if (argc != 2 || strlen(argv[1]) > 200) {
		fprintf(stderr, "usage: quicinit SNI > FILE\n");
		return 2;
	}
	qe_hello(&h, argv[1], "h3", 0);
	qe_crypto_frame(&f, 0, h.b, h.n);
	memset(&p, 0, sizeof(p));
	p.pad_to = 1200;
	qe_initial(&d, &p, &f);
	if (fwrite(d.b, 1, d.n, stdout) != d.n || fflush(stdout) != 0)
		return 1;
	return 0;
}
