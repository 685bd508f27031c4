/*
 * tls.h — TLS for sluice: ClientHello peeking (over TCP, and in QUIC
 * Initial packets), and the pieces of the inspection engine that need no
 * socket: the appliance CA, leaf minting with its shared cache, and the
 * two kinds of SSL_CTX (client-facing and upstream) with upstream
 * verification.  HTTP/2 joins later.
 *
 * Threads: a struct sl_tls_ca is immutable once loaded and shared by every
 * worker; the certificate cache is the one shared mutable structure (one
 * mutex, never held while signing); a minter belongs to one worker.
 * docs/design/tls.md draws the pieces.
 */
#ifndef SL_TLS_H
#define SL_TLS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <openssl/types.h>

#include "../lib/addr.h"
#include "../lib/attr.h"
#include "../lib/log.h"
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

/*
 * The same on a bare handshake message (type, 24-bit length, body) with
 * no TLS record around it, as QUIC carries it (RFC 9001 section 4).
 * SL_PARSE_MORE while msg holds less than the whole message; BAD if it is
 * not a ClientHello, is malformed, or bytes follow it ("trailing_data").
 * On OK out->consumed is the message length and out->record_version 0.
 */
enum sl_parse_rc sl_tls_peek_hello(const uint8_t *msg, size_t len,
	    struct sl_tls_hello *out) SL_NONNULL(1, 3);

/* ---------------------------------------------------------------------
 * The QUIC Initial reader (quic.c): the ClientHello in a client's first
 * datagrams to UDP 443, for a decision by SNI.  docs/design/quic.md.
 */

#define SL_TLS_QUIC_V1		0x00000001u	/* RFC 9000 */
#define SL_TLS_QUIC_V2		0x6b3343cfu	/* RFC 9369 */
#define SL_TLS_QUIC_CRYPTO_MAX	(16 * 1024)	/* ClientHello bytes kept */
#define SL_TLS_QUIC_DGRAM_MIN	1200	/* RFC 9000 14.1: smaller Initial
					   datagrams are dropped */
#define SL_TLS_QUIC_DGRAMS_MAX	16	/* datagrams read for one hello */
#define SL_TLS_QUIC_CID_MAX	20	/* v1 and v2 (RFC 9000 17.2) */

/*
 * One client's first flight, read datagram by datagram.  The caller owns
 * it (on the stack, in a session, anywhere): no allocation, no pointers
 * into the datagrams, so they may be freed or forwarded between calls.
 * That is why the struct is here and not in quic.c (STYLE section 1).
 * Fields under "results" are the API; the rest is the reader's.
 */
struct sl_tls_quic {
	/* results */
	uint32_t	 version;	/* of the first long header; 0: none */
	unsigned	 vn:1;		/* NOT_MINE for an unknown version in
					   a datagram a server answers with
					   Version Negotiation (RFC 9000 6) */
	const char	*err;		/* BAD, NOT_MINE: static reason */
	struct sl_tls_hello hello;	/* OK: the ClientHello */
	/* the reader's */
	enum sl_parse_rc rc;		/* MORE until a verdict, then kept */
	unsigned	 ndgrams;	/* datagrams read */
	uint8_t		 dcid[SL_TLS_QUIC_CID_MAX];
	uint8_t		 dcid_len;
	unsigned	 have_keys:1;
	uint8_t		 key[16], iv[12], hp[16];
	size_t		 need;		/* hello length; 0 until known */
	size_t		 contig;	/* bytes there from offset 0 */
	size_t		 end;		/* highest offset + length seen */
	uint8_t		 seen[SL_TLS_QUIC_CRYPTO_MAX / 8];	/* bitmap */
	uint8_t		 crypto[SL_TLS_QUIC_CRYPTO_MAX];
};

/* Ready q for a new client: everything reset but the reassembly buffer,
   which is written before it is read. */
void	sl_tls_quic_init(struct sl_tls_quic *q) SL_NONNULL(1);

/*
 * Read one UDP datagram the client sent (RFC 9000 sections 12.2, 17.2;
 * RFC 9001 section 5; RFC 9369): Initial packets of QUIC v1 or v2, their
 * header protection removed and payload decrypted with the keys derived
 * from the Destination Connection ID, CRYPTO frames reassembled by
 * offset across coalesced packets and datagrams in any order, the
 * ClientHello parsed by sl_tls_peek_hello().  Returns
 *   SL_PARSE_OK        q->hello is filled
 *   SL_PARSE_MORE      part of the hello is missing: feed the next datagram
 *                      (a later datagram that holds no Initial of this
 *                      connection is passed over, and says MORE too)
 *   SL_PARSE_NOT_MINE  not a QUIC v1/v2 Initial (q->err says why; q->vn
 *                      and q->version for an unknown version)
 *   SL_PARSE_BAD       q->err: decryption failed, malformed, over a limit
 * A verdict other than MORE is final: later calls return it unchanged.
 */
enum sl_parse_rc sl_tls_quic_parse(struct sl_tls_quic *q, const uint8_t *dgram,
	    size_t len) SL_NONNULL(1, 2);

/*
 * Log fmt at lvl followed by the reasons in this thread's OpenSSL error
 * queue, which it empties (STYLE section 6: sl_log_ossl).
 */
void	sl_tls_log_ossl(enum sl_log_level lvl, const char *fmt, ...)
	    SL_PRINTF(2, 3);

/* ---------------------------------------------------------------------
 * The appliance CA (ca.c, ca_make.c).
 */

struct sl_tls_ca;

/*
 * Load the CA that signs minted leaves: cert is a PEM file whose first
 * certificate is the CA (certificates after it are its chain, sent to
 * clients when the CA is not self-signed), key an unencrypted PEM private
 * key.  Relative paths resolve against dir (the state-dir; NULL or "":
 * as given).  Refused, with a message in err naming the file and the
 * reason: a file missing or unreadable; a key file accessible by group or
 * others (mode & 077); an encrypted key; a key that is not EC P-256/P-384
 * or RSA of at least 2048 bits; a key that does not belong to the
 * certificate; a certificate that is not a CA (basicConstraints CA:TRUE
 * and keyUsage keyCertSign required); one expired or not yet valid; one
 * signed with SHA-1 or MD5 by its issuer.  Logs a warning when the CA
 * expires within 30 days.  Returns a new reference (sl_tls_ca_unref), or
 * NULL.  The CA is immutable: share it between threads freely.
 */
struct sl_tls_ca *sl_tls_ca_load(const char *dir, const char *cert,
	    const char *key, char *err, size_t cap) SL_NONNULL(2, 3, 4) SL_WUR;
/* Reference counting, safe across threads.  unref(NULL) is a no-op. */
struct sl_tls_ca *sl_tls_ca_ref(struct sl_tls_ca *ca) SL_NONNULL(1);
void	sl_tls_ca_unref(struct sl_tls_ca *ca);
/* Same certificate and key (a reload that changed nothing)? */
int	sl_tls_ca_same(const struct sl_tls_ca *a, const struct sl_tls_ca *b)
	    SL_NONNULL(1, 2);
/* The CA certificate, borrowed: valid while the caller holds a ref. */
X509	*sl_tls_ca_cert(const struct sl_tls_ca *ca) SL_NONNULL(1);

/* What `sluicectl ca show` and the start-up log print. */
struct sl_tls_ca_info {
	char	subject[256];		/* RFC 2253: "O=sluice,CN=..." */
	char	sha256[96];		/* "AB:CD:..." of the DER */
	char	sha1[64];		/* the "thumbprint" Windows shows */
	char	not_before[32];		/* "2026-01-31 12:00:00 UTC" */
	char	not_after[32];
	char	key[32];		/* "EC P-256", "RSA 2048" */
	time_t	not_after_t;
};
void	sl_tls_ca_info(const struct sl_tls_ca *ca, struct sl_tls_ca_info *out)
	    SL_NONNULL(1, 2);

enum sl_tls_keytype {
	SL_TLS_KEY_EC = 0,		/* ECDSA P-256 (default) */
	SL_TLS_KEY_RSA,			/* RSA 2048 */
};

struct sl_tls_ca_params {
	const char		*cn;	/* subject CN; NULL: a default */
	unsigned		 days;	/* validity, 1..36500 */
	enum sl_tls_keytype	 key;
	int			 force;	/* replace existing files */
	int			 chown;	/* give the files to uid:gid */
	uid_t			 uid;
	gid_t			 gid;
};

/*
 * Create a new CA in dir (created, mode 0750, if missing): ca.key (PEM
 * PKCS#8, mode 0600: written to a file created O_EXCL with mode 0600, so
 * it is never readable by others, then renamed into place), ca.pem and
 * ca.der (the certificate, mode 0644, for client deployment), owned by
 * p->uid:p->gid if p->chown.  Refuses when one of the three exists unless
 * p->force.  The old files stay untouched if anything fails before the
 * new ones are put in place.  Returns 0, or -1 with err.
 */
int	sl_tls_ca_create(const char *dir, const struct sl_tls_ca_params *p,
	    char *err, size_t cap) SL_NONNULL(1, 2, 3) SL_WUR;

#define SL_TLS_CA_CERT	"ca.pem"	/* file names in the state-dir */
#define SL_TLS_CA_DER	"ca.der"
#define SL_TLS_CA_KEY	"ca.key"

/* ---------------------------------------------------------------------
 * Minted leaves and their cache (certcache.c, mint.c).
 */

struct sl_tls_certcache;
struct sl_tls_minter;

/*
 * The cache of minted leaves shared by all workers, bound to one CA (it
 * takes a reference: a new CA needs a new cache).  LRU with at most size
 * entries (0: nothing is cached), keyed by (SNI or IP literal, SHA-256 of
 * the upstream certificate's DER); an entry holds the (X509, EVP_PKEY)
 * pair.  Thread-safe: one mutex, held for a lookup or an insert only.
 * Returns a new reference, or NULL (out of memory).
 */
struct sl_tls_certcache *sl_tls_certcache_new(struct sl_tls_ca *ca,
	    size_t size) SL_NONNULL(1) SL_WUR;
struct sl_tls_certcache *sl_tls_certcache_ref(struct sl_tls_certcache *c)
	    SL_NONNULL(1);
void	sl_tls_certcache_unref(struct sl_tls_certcache *c);

struct sl_tls_certcache_stats {
	uint64_t	hits;
	uint64_t	misses;		/* lookups that led to a mint */
	uint64_t	evictions;	/* LRU entries dropped for room */
	uint64_t	expired;	/* entries dropped for age */
	uint64_t	raced;		/* inserts that found another worker's */
	size_t		entries;
	size_t		size;
};
void	sl_tls_certcache_stats(struct sl_tls_certcache *c,
	    struct sl_tls_certcache_stats *out) SL_NONNULL(1, 2);

/* ---------------------------------------------------------------------
 * The upstream verification cache (vcache.c): a chain that verified for
 * a target is not verified again for it until min(ttl, the chain's
 * earliest notAfter).  Keyed by SHA-256 over the verify target and every
 * presented certificate; only successes are kept.  Shared by all workers
 * (one mutex, a lookup or an insert).  One per upstream context: attach
 * it to the SSL_CTX it serves, free it after that context.
 */

struct sl_tls_vcache;

/* size entries at most (0: off), kept ttl_s seconds (0: off); NULL: OOM. */
struct sl_tls_vcache *sl_tls_vcache_new(size_t size, unsigned ttl_s) SL_WUR;
void	sl_tls_vcache_free(struct sl_tls_vcache *c);
/* Verify ctx's peers through c (nothing when c is off). */
void	sl_tls_vcache_attach(struct sl_tls_vcache *c, SSL_CTX *ctx)
	    SL_NONNULL(1, 2);

struct sl_tls_vcache_stats {
	uint64_t	hits;		/* chains not verified again */
	uint64_t	misses;		/* verified (and kept if they passed) */
	uint64_t	evictions;
	uint64_t	expired;
	size_t		entries;
	size_t		size;
};
void	sl_tls_vcache_stats(struct sl_tls_vcache *c,
	    struct sl_tls_vcache_stats *out) SL_NONNULL(1, 2);

/*
 * A worker's minter: generates its leaf key (EC P-256) once and signs
 * with the cache's CA.  Takes a reference on the cache.  Not thread-safe:
 * one per worker.  Returns NULL on failure (logged).
 */
struct sl_tls_minter *sl_tls_minter_new(struct sl_tls_certcache *cache)
	    SL_NONNULL(1) SL_WUR;
void	sl_tls_minter_free(struct sl_tls_minter *m);

/*
 * A leaf for a client connection, from the cache or minted now.
 *
 * Precondition: upstream is the origin's certificate and the caller has
 * verified its chain for this name (sl_tls_verify_reason() returned NULL
 * on an SSL prepared by sl_tls_upstream_prepare() with the same sni/ip).
 * Never pass an unverified certificate: the leaf would vouch for it.  As
 * a safeguard the name is checked against upstream again: a mismatch is
 * refused.
 *
 * sni: the name verified (the client's SNI, else the CONNECT host), or
 * NULL; ip: the IP-literal destination when there is no name, or NULL;
 * one of them is required.  The leaf carries upstream's subjectAltName
 * (DNS and IP entries; without a DNS entry, its CN as one if that is a
 * host name), CN = the name, a 128-bit random serial, the validity of
 * upstream and CA intersected with [now - 1h, now + 7 days].
 *
 * Returns 0 with new references in *cert and *key (the caller frees them,
 * e.g. after sl_tls_client_use_leaf()), or -1 (logged).  A cached pair may
 * have been minted by another worker with its key: use the two together.
 */
int	sl_tls_mint(struct sl_tls_minter *m, X509 *upstream, const char *sni,
	    const struct sl_ip *ip, X509 **cert, EVP_PKEY **key)
	    SL_NONNULL(1, 2, 5, 6) SL_WUR;

/*
 * A leaf for sluice's own error page only (an explicit CONNECT whose
 * origin failed verification: the browser shows why instead of a bare
 * handshake failure).  It names name alone (a host name, or an IP
 * literal as an IP entry), is valid for an hour, is never cached, and
 * carries nothing of any upstream certificate: it vouches for sluice's
 * page, never for the origin, whose bytes never follow on that session.
 * 0 with new references in *cert and *key, or -1 (logged).
 */
int	sl_tls_mint_page(struct sl_tls_minter *m, const char *name, X509 **cert,
	    EVP_PKEY **key) SL_NONNULL(1, 2, 3, 4) SL_WUR;

/* ---------------------------------------------------------------------
 * TLS contexts and upstream verification (ctx.c, verify.c).  No sockets.
 */

/*
 * The client-facing context (sluice is the server): TLS 1.2 and 1.3,
 * ECDHE with AEAD ciphers only, server preference, no compression, no
 * renegotiation, no session tickets and no session cache (every handshake
 * is full: a cached leaf makes that cheap, and no long-lived ticket key
 * sits in memory), security level 2.  No certificate: each SSL gets its
 * leaf with sl_tls_client_use_leaf().  Returns a new SSL_CTX (SSL_CTX_free)
 * or NULL with err.
 */
SSL_CTX	*sl_tls_client_ctx_new(char *err, size_t cap) SL_NONNULL(1) SL_WUR;

/*
 * Give a client-facing SSL its minted leaf, and the CA's chain when the
 * CA is not self-signed.  The arguments stay the caller's (the SSL takes
 * its own references).  0 or -1 (logged).
 */
int	sl_tls_client_use_leaf(SSL *ssl, const struct sl_tls_ca *ca, X509 *cert,
	    EVP_PKEY *key) SL_NONNULL(1, 2, 3, 4) SL_WUR;

/*
 * Never weaker towards the client than the origin was towards sluice:
 * raise cli's minimum version to the one up negotiated (an origin on TLS
 * 1.3 means TLS 1.3 only towards the client).  The ciphers need no such
 * step: the client-facing list is ECDHE + AEAD only, never weaker than
 * any suite the upstream context accepts.  Call before the client
 * handshake.  0, or -1 if up has not negotiated a version sluice accepts.
 */
int	sl_tls_client_match_version(SSL *cli, const SSL *up)
	    SL_NONNULL(1, 2) SL_WUR;

/*
 * The upstream context (sluice is the client): TLS 1.2 minimum, modern
 * ciphers, security level 2, peer verification against bundle (a PEM file
 * or a hashed directory; NULL or "": the system trust store), relative to
 * dir like sl_tls_ca_load().  Verification also refuses what a browser
 * would: RSA/DSA keys under 2048 bits, EC keys under 256 bits, SHA-1 or
 * MD5 signatures anywhere but on a self-signed trust anchor.  If ca is
 * given and the trust store contains it (same public key), that is an
 * error: the appliance must never trust its own CA upstream.  Returns a
 * new SSL_CTX or NULL with err.
 */
SSL_CTX	*sl_tls_upstream_ctx_new(const char *dir, const char *bundle,
	    const struct sl_tls_ca *ca, char *err, size_t cap)
	    SL_NONNULL(4) SL_WUR;

/*
 * Prepare an upstream SSL (from that context) for one connection: SNI and
 * the name to verify (sni; an IP literal given as sni is treated as ip
 * and sent no SNI, RFC 6066 section 3), or the address to verify (ip,
 * when sni is NULL); no partial wildcards ("f*.example.com").  alpn: wire
 * format (sl_tls_alpn_wire), the protocols the client offered; NULL or 0
 * length: none.  0, or -1 (logged) when neither sni nor ip is given.
 */
int	sl_tls_upstream_prepare(SSL *ssl, const char *sni, const struct sl_ip *ip,
	    const unsigned char *alpn, size_t alpn_len) SL_NONNULL(1) SL_WUR;

/*
 * Why the upstream certificate was refused, after the handshake (done or
 * failed): NULL when it verified; otherwise one of
 *   expired          the leaf or a chain certificate is past notAfter
 *   not_yet_valid    ... before notBefore
 *   self_signed      the leaf is self-signed and not trusted
 *   wrong_name       valid chain, but not for the SNI / IP verified
 *   untrusted_chain  no path to a trusted root, a bad signature, an
 *                    invalid CA, a wrong purpose, anything else
 *   weak_key         RSA/DSA < 2048 bits, EC < 256 bits in the chain
 *   weak_signature   SHA-1 or MD5 signature in the chain
 *   handshake_failed the handshake ended before a certificate was verified
 *                    (version, cipher or connection failure)
 * Strings are static and stable: the flow log prints them.
 */
const char *sl_tls_verify_reason(const SSL *ssl) SL_NONNULL(1);

/*
 * The ALPN list of a parsed hello in wire format (RFC 7301 section 3.1:
 * length-prefixed names), for sl_tls_upstream_prepare().  Returns the
 * length written, 0 if the hello offered none or buf is too small.
 */
size_t	sl_tls_alpn_wire(const struct sl_tls_hello *h, unsigned char *buf,
	    size_t cap) SL_NONNULL(1, 2);

#endif /* SL_TLS_H */
