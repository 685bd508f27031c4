/*
 * fuzz_quic.c — sl_tls_quic_parse on arbitrary datagrams.  The input is
 * a mode byte, then a sequence of chunks, each a 2-byte big-endian length
 * and its bytes (a length past the end takes what is left).  Mode 0: the
 * chunks are datagrams.  Mode 1 (2: the same as QUIC v2): each chunk is
 * the plaintext frames of one Initial (up to 4 KiB), which the target
 * protects itself (tests/common/quic_enc.h), so the frame walker and the
 * reassembly see arbitrary frames behind valid packet protection — which
 * a fuzzer could never forge.  The datagrams are fed to one reader until
 * it gives a verdict.  Beyond memory safety (ASan, exactly-sized copies)
 * it checks what the UDP path relies on, aborting if not:
 *
 *   - MORE only while datagrams remain welcome (at most
 *     SL_TLS_QUIC_DGRAMS_MAX); NOT_MINE only on the first datagram; a
 *     reason with every BAD and NOT_MINE, none otherwise; vn only with
 *     NOT_MINE for an unknown version in a datagram of 1200 bytes or more;
 *   - a verdict is final: another datagram changes nothing;
 *   - OK: the hello is sane (bounded lowercase SNI, ALPN names, TLS
 *     versions), and the same datagrams in reverse order give the same
 *     hello (reassembly does not depend on arrival order);
 *   - a datagram fed twice (a retransmission) is harmless;
 *   - mode 1 and 2: packets the encoder protected always open, so every
 *     verdict is about the frames or the hello.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/common/exact.h"
#include "tests/common/quic_enc.h"
#include "tls/tls.h"
#include "fz.h"
#include "fz_hello.h"

#define FUZZ_DGRAMS	32
#define FUZZ_FRAMES_MAX	4096	/* plaintext per packet, modes 1 and 2 */

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct dgram {
	const uint8_t	*p;
	size_t		 n;
};

/* Feed an exactly-sized copy. */
static enum sl_parse_rc
feed(struct sl_tls_quic *q, const struct dgram *d)
{
	uint8_t *copy = exact_copy(d->p, d->n);
	enum sl_parse_rc rc = sl_tls_quic_parse(q, copy, d->n);

	free(copy);
	return rc;
}

/* Modes 1 and 2: chunk d sealed into out as Initial number pn; d then
   points there. */
static void
protect(struct dgram *d, uint32_t pn, int v2, struct qe_buf *out)
{
	static struct qe_buf f;
	struct qe_pkt p = { .version = v2 ? SL_TLS_QUIC_V2 : SL_TLS_QUIC_V1,
	    .pn = pn, .pad_to = 1200 };

	f.n = 0;
	qe_put(&f, d->p, SL_MIN(d->n, FUZZ_FRAMES_MAX));
	out->n = 0;
	qe_initial(out, &p, &f);
	d->p = out->b;
	d->n = out->n;
}

static size_t
split(const uint8_t *data, size_t size, struct dgram *d)
{
	size_t n = 0, off = 0;

	while (off + 2 <= size && n < FUZZ_DGRAMS) {
		size_t len = (size_t)data[off] << 8 | data[off + 1];

		off += 2;
		d[n].p = data + off;
		d[n].n = SL_MIN(len, size - off);
		off += d[n].n;
		n++;
	}
	return n;
}

static void
check_hello(const struct sl_tls_quic *q)
{
	const struct sl_tls_hello *h = &q->hello;

	fz_check_hello(h);
	FZ_CHECK(q->err == NULL);
	FZ_CHECK(q->version == SL_TLS_QUIC_V1 || q->version == SL_TLS_QUIC_V2);
	FZ_CHECK(h->consumed >= 4 && h->consumed <= SL_TLS_QUIC_CRYPTO_MAX);
	FZ_CHECK(h->record_version == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Static: a reader is 18 KiB. */
	static struct sl_tls_quic q, r;
	static struct qe_buf sealed[FUZZ_DGRAMS];
	struct dgram d[FUZZ_DGRAMS];
	struct sl_tls_hello h;
	enum sl_parse_rc rc = SL_PARSE_MORE, rc2;
	size_t n, used = 0;
	const char *err;
	int mode;

	if (size < 1 || (mode = data[0]) > 2 ||
	    (n = split(data + 1, size - 1, d)) == 0)
		return 0;
	for (size_t i = 0; mode > 0 && i < n; i++)
		protect(&d[i], (uint32_t)i, mode == 2, &sealed[i]);
	sl_tls_quic_init(&q);
	while (rc == SL_PARSE_MORE && used < n)
		rc = feed(&q, &d[used++]);
	switch (rc) {
	case SL_PARSE_OK:
		check_hello(&q);
		break;
	case SL_PARSE_MORE:
		FZ_CHECK(used == n && used <= SL_TLS_QUIC_DGRAMS_MAX);
		FZ_CHECK(q.err == NULL && !q.hello.has_sni);
		break;
	case SL_PARSE_NOT_MINE:
		FZ_CHECK(used == 1);
		/* fall through */
	case SL_PARSE_BAD:
		FZ_CHECK(q.err != NULL && q.err[0] != '\0');
		FZ_CHECK(!q.hello.has_sni && q.hello.consumed == 0);
		break;
	default:
		abort();
	}
	if (mode > 0 && q.err != NULL)
		FZ_CHECK(rc == SL_PARSE_BAD &&
		    strcmp(q.err, "decrypt_failed") != 0 &&
		    strcmp(q.err, "crypto_failed") != 0 &&
		    strcmp(q.err, "packet_length") != 0);
	if (q.vn)
		FZ_CHECK(rc == SL_PARSE_NOT_MINE && d[0].n >= 1200 &&
		    q.version != 0 && q.version != SL_TLS_QUIC_V1 &&
		    q.version != SL_TLS_QUIC_V2);

	/* Final verdicts stay. */
	if (rc != SL_PARSE_MORE) {
		h = q.hello;
		err = q.err;
		FZ_CHECK(feed(&q, &d[0]) == rc && q.err == err &&
		    memcmp(&h, &q.hello, sizeof(h)) == 0);
	}

	/* Arrival order does not matter for a hello. */
	if (rc == SL_PARSE_OK) {
		sl_tls_quic_init(&r);
		rc2 = SL_PARSE_MORE;
		for (size_t i = used; i-- > 0 && rc2 == SL_PARSE_MORE;)
			rc2 = feed(&r, &d[i]);
		FZ_CHECK(rc2 == SL_PARSE_OK &&
		    memcmp(&r.hello, &q.hello, sizeof(h)) == 0);
	}

	/* A retransmitted first datagram is harmless. */
	sl_tls_quic_init(&r);
	if (feed(&r, &d[0]) == SL_PARSE_MORE)
		FZ_CHECK(feed(&r, &d[0]) == SL_PARSE_MORE);
	return 0;
}
