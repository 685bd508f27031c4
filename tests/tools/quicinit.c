/*
 * quicinit.c — write a QUIC v1 client Initial datagram (1200 bytes) whose
 * ClientHello names SNI, for the UDP forwarding tests (integ 160, 162):
 * the reader's own test encoder (tests/common/quic_enc.h), a minimal TLS
 * 1.3 ClientHello (qe_hello) with server_name, ALPN h3 and an X25519
 * share.
 *
 *   quicinit [-g] [-p] [-s OFFSET] SNI > FILE
 *
 * -p adds an X25519MLKEM768 share (1216 bytes) like Chrome's: the hello
 * no longer fits one Initial.  -s OFFSET splits the hello's CRYPTO data
 * the way a client with a large hello does: bytes [0, OFFSET) in an
 * Initial of packet number 0, the rest in one of packet number 1, each in
 * a 1200-byte datagram of its own; the two datagrams are written one
 * after the other (2400 bytes).  The server_name extension comes first,
 * so a small OFFSET puts the SNI in the second datagram (Chrome shuffles
 * its extensions: it may be anywhere).  -g clears the fixed bit of each
 * Initial and gives it a token, as RFC 9287 3.1 lets a client with a
 * NEW_TOKEN token of a server that sent grease_quic_bit do.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/common/quic_enc.h"

#define QI_DGRAM	1200
/* CRYPTO bytes that fit one 1200-byte Initial with quic_enc.h's header
   (8-byte DCID, 4-byte packet number, a QI_TOKEN-byte token), frame
   header and AEAD tag. */
#define QI_TOKEN	32
#define QI_CRYPTO_MAX	1110

static int
usage(void)
{
	fprintf(stderr, "usage: quicinit [-g] [-p] [-s OFFSET] SNI > FILE\n");
	return 2;
}

/*
 * Append to d one Initial of packet number pn with hello bytes [off, end),
 * greased (the fixed bit clear, a token) or not.
 */
static void
qi_initial(struct qe_buf *d, const struct qe_buf *h, uint32_t pn,
    size_t off, size_t end, int grease)
{
	static struct qe_buf f;
	struct qe_pkt p;

	f.n = 0;
	qe_crypto_frame(&f, off, h->b + off, end - off);
	memset(&p, 0, sizeof(p));
	p.pn = pn;
	p.pad_to = d->n + QI_DGRAM;
	if (grease) {
		p.fixed_clear = 1;
		p.token_len = QI_TOKEN;
	}
	qe_initial(d, &p, &f);
}

int
main(int argc, char **argv)
{
	static struct qe_buf h, d;
	size_t split = 0;
	char *end;
	int c, pq = 0, grease = 0;

	while ((c = getopt(argc, argv, "gps:")) != -1) {
		switch (c) {
		case 'g':
			grease = 1;
			break;
		case 'p':
			pq = 1;
			break;
		case 's':
			split = strtoul(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || split == 0)
				return usage();
			break;
		default:
			return usage();
		}
	}
	if (argc - optind != 1 || strlen(argv[optind]) > 200)
		return usage();
	qe_hello(&h, argv[optind], "h3", pq);
	if (split == 0)
		split = h.n;
	if (split > h.n || split > QI_CRYPTO_MAX ||
	    h.n - split > QI_CRYPTO_MAX) {
		fprintf(stderr, "quicinit: a hello of %zu bytes cannot be "
		    "split at %zu into two Initials of %d bytes\n", h.n, split,
		    QI_DGRAM);
		return 2;
	}
	qi_initial(&d, &h, 0, 0, split, grease);
	if (split < h.n)
		qi_initial(&d, &h, 1, split, h.n, grease);
	if (fwrite(d.b, 1, d.n, stdout) != d.n || fflush(stdout) != 0)
		return 1;
	return 0;
}
