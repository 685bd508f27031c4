/*
 * tls_load.c — the client of the inspection benchmark (issue 13), and the
 * certificates and floor it needs.
 *
 *   tls_load certs -o DIR -n N
 *       an origin PKI in DIR: ca.pem (EC P-256 root), nNNNN.bench.test.pem
 *       for NNNN in [0, N) (a certificate of its own per name, with the
 *       key, one EC P-256 key shared by all), ref.pem (one static
 *       certificate for *.bench.test, with its key: the nginx reference's)
 *   tls_load hs|bulk|alpn [-x PROXY] -d ADDR:PORT -A CAFILE [options]
 *   tls_load floor [-n COUNT] [-k ec|rsa] [-b MIB]
 *   tls_load cpu -p PID [-C CORE]
 *
 * A connection: TCP to the proxy (-x: "CONNECT ADDR:PORT", 200 expected)
 * or straight to -d (a reverse proxy such as the nginx reference), then a
 * full TLS handshake (no ticket, no session offered: nothing to resume)
 * with SNI nNNNN.bench.test, the certificate verified against -A for that
 * name, then "GET PATH" (-u, default /small), the answer read to the end
 * of its Content-Length (status 200 required), close_notify, close.  The
 * client closes, as a browser done with a connection does: no
 * "Connection: close", because sluiced loses a response whose origin
 * closes after it on an inspected flow (the close does not wait for the
 * client's TLS output to drain; docs/bench.md, session 7).
 *
 *   hs    -c threads (default 4) make connections until -n are done or -T
 *         seconds pass; name number i is -f + i, or -f + i % W with -W W
 *         (a warm set: the same few names); -w connections first, not
 *         measured (to warm a cache).  Figures: done, wall, proxy CPU.
 *   bulk  -t connections at once, each reading -u's body (a large file)
 *         to its end or until -T; figures: bytes, wall, proxy CPU.
 *   alpn  one connection offering -a (default h2,http/1.1): prints the
 *         protocol the proxy chose ("none" if it chose none).
 *   floor no network: -n handshakes between an in-memory client and
 *         server with the keys an inspecting proxy uses (EC P-256 or RSA
 *         2048 leaf, TLS 1.3, X25519), the thread CPU of each side apart;
 *         then -b MiB of 16 KiB records written on one side and read on
 *         the other.  A proxy does one server side and one client side
 *         per flow, and one encryption and one decryption per byte: the
 *         sum is its floor.
 *
 *   cpu   the CPU so far of PID and its descendants (and -C's busy
 *         time), for a measurement another tool (h2load) makes.
 *
 * -p PID and -C CORE as loadgen (procstat.h).  The result is one JSON
 * object on stdout (-l LABEL copied in); exit 0 if nothing failed.
 */
#include <sys/socket.h>
#include <sys/time.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "lib/addr.h"
#include "lib/jw.h"
#include "tests/tools/procstat.h"
#include "tests/tools/tools.h"
#include "tests/unit/tls/pki.h"

#define TL_NAME_FMT	"n%04u.bench.test"
#define TL_IO_TIMEOUT	5		/* seconds per send or receive */
#define TL_MAXTHREADS	64

struct tl {
	const char	*mode;
	const char	*proxy, *dest, *cafile, *path, *alpn, *label;
	struct sockaddr_storage conn_ss;
	socklen_t	 conn_len;
	unsigned	 first, warm, conc, tunnels;
	uint64_t	 count, warmup, limit_us;
	pid_t		 pid;
	int		 core;
	SSL_CTX		*ctx;

	atomic_uint_fast64_t next, done, failed, bytes, cut;
	uint64_t	 deadline;
	pthread_mutex_t	 lock;
	char		 why[200];	/* first failure */
	char		 proto[64];	/* alpn: what was chosen */
	char		 host_port[8];	/* ":PORT" of -d, empty for 443 */
};

static void
tl_fail(struct tl *t, const char *fmt, ...) SL_PRINTF(2, 3);

static void
tl_fail(struct tl *t, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&t->lock);
	if (t->why[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(t->why, sizeof(t->why), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&t->lock);
}

static uint64_t
tl_now_us(void)
{
	return tools_now_ns() / 1000;
}

/* ------------------------------------------------------------------ */
/* one connection                                                       */

static int
tl_tcp(struct tl *t)
{
	struct timeval tv = { .tv_sec = TL_IO_TIMEOUT };
	int fd, one = 1;

	if ((fd = socket(t->conn_ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC,
	    0)) == -1)
		return -1;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&t->conn_ss, t->conn_len) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* CONNECT through the proxy; 0 when it answered 200. */
static int
tl_connect_req(struct tl *t, int fd)
{
	char buf[1024];
	size_t got = 0;
	int n;

	n = snprintf(buf, sizeof(buf), "CONNECT %s HTTP/1.1\r\nHost: %s\r\n"
	    "\r\n", t->dest, t->dest);
	if (send(fd, buf, (size_t)n, MSG_NOSIGNAL) != n)
		return -1;
	/* Nothing follows the answer before our ClientHello. */
	while (got < sizeof(buf) - 1) {
		ssize_t r = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);

		if (r <= 0)
			return -1;
		got += (size_t)r;
		buf[got] = '\0';
		if (strstr(buf, "\r\n\r\n") != NULL)
			return strncmp(buf + 8, " 200", 4) == 0 ? 0 : -1;
	}
	return -1;
}

/* Read the answer to our GET: status 200, then the body to its end. */
static int
tl_read_answer(struct tl *t, SSL *ssl, char *buf, size_t cap, int bulk)
{
	size_t hl = 0;
	uint64_t body = 0, want = UINT64_MAX;
	char *eoh = NULL, *cl;
	int n;

	while (eoh == NULL) {
		if (hl >= cap - 1 || (n = SSL_read(ssl, buf + hl,
		    (int)(cap - 1 - hl))) <= 0)
			return -1;
		hl += (size_t)n;
		buf[hl] = '\0';
		eoh = strstr(buf, "\r\n\r\n");
	}
	if (strncmp(buf, "HTTP/1.1 200", 12) != 0)
		return -1;
	if ((cl = strcasestr(buf, "\r\ncontent-length:")) != NULL && cl < eoh)
		want = strtoull(cl + 17, NULL, 10);
	body = hl - (size_t)(eoh + 4 - buf);
	if (bulk)
		atomic_fetch_add(&t->bytes, body);
	while (body < want) {
		if (bulk && tl_now_us() >= t->deadline) {
			atomic_fetch_add(&t->cut, 1);
			break;
		}
		if ((n = SSL_read(ssl, buf, (int)cap)) <= 0)
			return want == UINT64_MAX ? 0 : -1;
		body += (uint64_t)n;
		if (bulk)
			atomic_fetch_add(&t->bytes, (uint64_t)n);
	}
	return 0;
}

/* One connection for name number i; 0 or -1 (noted in t->why). */
static int
tl_one(struct tl *t, uint64_t i, char *buf, size_t cap, int bulk)
{
	char name[64], req[512];
	SSL *ssl = NULL;
	int fd, n, rc = -1;
	const char *what = "connect";

	snprintf(name, sizeof(name), TL_NAME_FMT, t->first + (unsigned)(
	    t->warm > 0 ? i % t->warm : i));
	if ((fd = tl_tcp(t)) == -1)
		goto out;
	what = "CONNECT";
	if (t->proxy != NULL && tl_connect_req(t, fd) == -1)
		goto out;
	what = "handshake";
	if ((ssl = SSL_new(t->ctx)) == NULL ||
	    SSL_set_tlsext_host_name(ssl, name) != 1 ||
	    SSL_set1_host(ssl, name) != 1 || SSL_set_fd(ssl, fd) != 1 ||
	    SSL_connect(ssl) != 1)
		goto out;
	if (strcmp(t->mode, "alpn") == 0) {
		const unsigned char *p;
		unsigned plen;

		SSL_get0_alpn_selected(ssl, &p, &plen);
		snprintf(t->proto, sizeof(t->proto), "%.*s", (int)plen,
		    (const char *)p);
		rc = 0;
		goto out;
	}
	what = "request";
	/* The port in Host, as a browser writes it (Squid forwards a
	 * bumped request only to the host and port it connected to). */
	n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s%s\r\n"
	    "\r\n", t->path, name, t->host_port);
	if (SSL_write(ssl, req, n) != n)
		goto out;
	what = "answer";
	if (tl_read_answer(t, ssl, buf, cap, bulk) == -1)
		goto out;
	(void)SSL_shutdown(ssl);
	rc = 0;
out:
	if (rc == -1) {
		unsigned long e = ERR_peek_last_error();

		tl_fail(t, "%s (%s): %s%s%s", name, what, errno ?
		    strerror(errno) : "", e ? " " : "", e ?
		    ERR_reason_error_string(e) : "");
	}
	ERR_clear_error();
	SSL_free(ssl);
	if (fd != -1)
		close(fd);
	return rc;
}

static void *
tl_worker(void *arg)
{
	struct tl *t = arg;
	int bulk = strcmp(t->mode, "bulk") == 0;
	size_t cap = bulk ? 256u << 10 : 16u << 10;
	char *buf = malloc(cap);

	while (buf != NULL) {
		uint64_t i = atomic_fetch_add(&t->next, 1);

		if (i >= t->count || tl_now_us() >= t->deadline)
			break;
		if (tl_one(t, i, buf, cap, bulk) == 0)
			atomic_fetch_add(&t->done, 1);
		else
			atomic_fetch_add(&t->failed, 1);
	}
	free(buf);
	return NULL;
}

/* n threads until count or the deadline. */
static void
tl_run(struct tl *t, unsigned n, uint64_t count, uint64_t limit_us)
{
	pthread_t th[TL_MAXTHREADS];
	unsigned k = 0;

	atomic_store(&t->next, 0);
	t->count = count;
	t->deadline = tl_now_us() + limit_us;
	for (; k < n && k < TL_MAXTHREADS; k++)
		if (pthread_create(&th[k], NULL, tl_worker, t) != 0)
			break;
	while (k > 0)
		pthread_join(th[--k], NULL);
}

static SSL_CTX *
tl_ctx(const struct tl *t)
{
	const char *a = t->alpn != NULL ? t->alpn : "http/1.1";
	unsigned char wire[256];
	size_t len = 0;
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	/* "h2,http/1.1" in wire format */
	while (*a != '\0' && len < sizeof(wire) - 1) {
		size_t n = strcspn(a, ",");

		if (n == 0 || n > 255 || len + 1 + n > sizeof(wire))
			break;
		wire[len++] = (unsigned char)n;
		memcpy(wire + len, a, n);
		len += n;
		a += n + (a[n] == ',');
	}
	if (ctx == NULL ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_load_verify_file(ctx, t->cafile) != 1 ||
	    SSL_CTX_set_alpn_protos(ctx, wire, (unsigned)len) != 0) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	/* A full handshake every time: nothing kept, nothing offered. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	return ctx;
}

static void
tl_sample(const struct tl *t, uint64_t *cpu, uint64_t *core)
{
	pid_t tree[256], pp;
	uint64_t ticks, sum = 0;
	long hz = sysconf(_SC_CLK_TCK);
	size_t n = t->pid > 0 ? proc_tree(t->pid, tree, SL_NELEM(tree)) : 0;

	if (hz <= 0)
		hz = 100;
	for (size_t i = 0; i < n; i++)
		if (proc_stat(tree[i], &pp, &ticks) == 0)
			sum += ticks;
	*cpu = sum * 1000000 / (uint64_t)hz;
	*core = proc_core_ticks(t->core) * 1000000 / (uint64_t)hz;
}

static int
tl_load(struct tl *t)
{
	char out[2048];
	struct sl_jw w;
	uint64_t c0, c1, k0, k1, t0, t1;
	int bulk = strcmp(t->mode, "bulk") == 0;

	if ((t->ctx = tl_ctx(t)) == NULL) {
		fprintf(stderr, "tls_load: cannot make the TLS context (%s)\n",
		    t->cafile);
		return 2;
	}
	if (strcmp(t->mode, "alpn") == 0) {
		tl_run(t, 1, 1, t->limit_us);
		printf("%s\n", atomic_load(&t->done) == 1 ? (t->proto[0] ?
		    t->proto : "none") : "failed");
		if (t->why[0] != '\0')
			fprintf(stderr, "tls_load: %s\n", t->why);
		return atomic_load(&t->done) == 1 ? 0 : 1;
	}
	if (t->warmup > 0) {
		uint64_t count = t->count;

		tl_run(t, t->conc, t->warmup, t->limit_us);
		t->count = count;
		if (atomic_load(&t->failed) > 0)
			fprintf(stderr, "tls_load: warm-up: %s\n", t->why);
		atomic_store(&t->done, 0);
		atomic_store(&t->failed, 0);
		t->why[0] = '\0';
	}
	tl_sample(t, &c0, &k0);
	t0 = tl_now_us();
	tl_run(t, bulk ? t->tunnels : t->conc, bulk ? t->tunnels : t->count,
	    t->limit_us);
	t1 = tl_now_us();
	usleep(100 * 1000);	/* the proxy finishes its closes */
	tl_sample(t, &c1, &k1);

	sl_jw_begin(&w, out, sizeof(out));
	if (t->label != NULL)
		sl_jw_str(&w, "label", t->label);
	sl_jw_str(&w, "mode", t->mode);
	sl_jw_str(&w, "via", t->proxy != NULL ? "connect" : "direct");
	sl_jw_u64(&w, "concurrency", bulk ? t->tunnels : t->conc);
	sl_jw_u64(&w, "done", atomic_load(&t->done));
	sl_jw_u64(&w, "failed", atomic_load(&t->failed));
	sl_jw_u64(&w, "unfinished", atomic_load(&t->cut));
	if (bulk)
		sl_jw_u64(&w, "bytes", atomic_load(&t->bytes));
	sl_jw_u64(&w, "wall_us", t1 - t0);
	if (t->pid > 0)
		sl_jw_u64(&w, "cpu_us", c1 - c0);
	if (t->core >= 0)
		sl_jw_u64(&w, "core_busy_us", k1 - k0);
	if (t->why[0] != '\0')
		sl_jw_str(&w, "first_error", t->why);
	sl_jw_end(&w);
	fputs(out, stdout);
	return atomic_load(&t->failed) > 0 ? 1 : 0;
}

/* ------------------------------------------------------------------ */
/* certificates                                                         */

static int
tl_write_pem(const char *path, X509 *cert, EVP_PKEY *key)
{
	FILE *f = fopen(path, "w");
	int ok;

	if (f == NULL)
		return -1;
	ok = PEM_write_X509(f, cert) == 1 && (key == NULL ||
	    PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) == 1);
	return fclose(f) == 0 && ok ? 0 : -1;
}

static int
tl_certs(const char *dir, unsigned n)
{
	EVP_PKEY *cakey = pki_ec("P-256"), *key = pki_ec("P-256");
	X509 *ca = cakey != NULL ? pki_root("sluice bench origin CA", cakey) :
	    NULL, *x;
	char path[4096], name[64], san[96];
	int rc = -1;

	if (ca == NULL || key == NULL)
		goto out;
	snprintf(path, sizeof(path), "%s/ca.pem", dir);
	if (tl_write_pem(path, ca, NULL) == -1)
		goto out;
	x = pki_leaf("*.bench.test", "DNS:*.bench.test", key, ca, cakey);
	snprintf(path, sizeof(path), "%s/ref.pem", dir);
	if (x == NULL || tl_write_pem(path, x, key) == -1) {
		X509_free(x);
		goto out;
	}
	X509_free(x);
	for (unsigned i = 0; i < n; i++) {
		snprintf(name, sizeof(name), TL_NAME_FMT, i);
		snprintf(san, sizeof(san), "DNS:%s", name);
		snprintf(path, sizeof(path), "%s/%s.pem", dir, name);
		x = pki_leaf(name, san, key, ca, cakey);
		if (x == NULL || tl_write_pem(path, x, key) == -1) {
			X509_free(x);
			goto out;
		}
		X509_free(x);
	}
	rc = 0;
out:
	if (rc == -1)
		fprintf(stderr, "tls_load: cannot write the certificates in "
		    "%s\n", dir);
	X509_free(ca);
	EVP_PKEY_free(cakey);
	EVP_PKEY_free(key);
	return rc == 0 ? 0 : 1;
}

/* ------------------------------------------------------------------ */
/* the floor                                                            */

static uint64_t
tl_thread_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

/* Step both sides until done; CPU of each side added to ns[0], ns[1]. */
static int
tl_pair(SSL *cli, SSL *srv, uint64_t ns[2])
{
	for (int i = 0; i < 100; i++) {
		uint64_t a = tl_thread_ns(), b, c;
		int rc = SSL_do_handshake(cli), rs;

		b = tl_thread_ns();
		rs = SSL_do_handshake(srv);
		c = tl_thread_ns();
		ns[0] += b - a;
		ns[1] += c - b;
		if (rc == 1 && rs == 1)
			return 0;
		if ((rc != 1 && SSL_get_error(cli, rc) != SSL_ERROR_WANT_READ) ||
		    (rs != 1 && SSL_get_error(srv, rs) != SSL_ERROR_WANT_READ))
			return -1;
	}
	return -1;
}

/* -b MiB in 16 KiB records from srv to cli: ns[0] reading, ns[1] writing. */
static int
tl_records(SSL *cli, SSL *srv, unsigned mib, uint64_t ns[2])
{
	static char rec[16384], in[16384];
	uint64_t left = (uint64_t)mib << 20;

	while (left > 0) {
		uint64_t a = tl_thread_ns(), b;

		if (SSL_write(srv, rec, sizeof(rec)) != (int)sizeof(rec))
			return -1;
		b = tl_thread_ns();
		if (SSL_read(cli, in, sizeof(in)) != (int)sizeof(in))
			return -1;
		ns[1] += b - a;
		ns[0] += tl_thread_ns() - b;
		left -= sizeof(rec) < left ? sizeof(rec) : left;
	}
	return 0;
}

static int
tl_floor(unsigned n, const char *kind, unsigned mib, const char *label)
{
	EVP_PKEY *cakey = pki_ec("P-256"), *key = strcmp(kind, "rsa") == 0 ?
	    pki_rsa(2048) : pki_ec("P-256");
	X509 *ca = cakey ? pki_root("floor CA", cakey) : NULL;
	X509 *leaf = ca && key ? pki_leaf("n0000.bench.test",
	    "DNS:n0000.bench.test", key, ca, cakey) : NULL;
	SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX *sctx = SSL_CTX_new(TLS_server_method());
	uint64_t hs[2] = { 0, 0 }, rec[2] = { 0, 0 };
	unsigned done = 0;
	char out[1024];
	struct sl_jw w;

	if (leaf == NULL || cctx == NULL || sctx == NULL ||
	    SSL_CTX_use_certificate(sctx, leaf) != 1 ||
	    SSL_CTX_use_PrivateKey(sctx, key) != 1 ||
	    X509_STORE_add_cert(SSL_CTX_get_cert_store(cctx), ca) != 1) {
		fprintf(stderr, "tls_load: floor: cannot set up\n");
		return 1;
	}
	SSL_CTX_set_verify(cctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_options(cctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_options(sctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_num_tickets(sctx, 0);
	SSL_CTX_set_session_cache_mode(sctx, SSL_SESS_CACHE_OFF);
	for (unsigned i = 0; i <= n; i++) {
		SSL *c = SSL_new(cctx), *s = SSL_new(sctx);
		uint64_t ns[2] = { 0, 0 }, r[2] = { 0, 0 };
		BIO *a, *b;

		if (c == NULL || s == NULL || BIO_new_bio_pair(&a, 0, &b, 0)
		    != 1 || SSL_set1_host(c, "n0000.bench.test") != 1) {
			SSL_free(c);
			SSL_free(s);
			break;
		}
		SSL_set_bio(c, a, a);
		SSL_set_bio(s, b, b);
		SSL_set_connect_state(c);
		SSL_set_accept_state(s);
		SSL_set_tlsext_host_name(c, "n0000.bench.test");
		if (tl_pair(c, s, ns) == 0 && (i != 1 || mib == 0 ||
		    tl_records(c, s, mib, r) == 0)) {
			if (i > 0) {	/* the first one warms up */
				hs[0] += ns[0];
				hs[1] += ns[1];
				done++;
			}
			rec[0] += r[0];
			rec[1] += r[1];
		}
		SSL_free(c);
		SSL_free(s);
	}
	sl_jw_begin(&w, out, sizeof(out));
	sl_jw_str(&w, "label", label != NULL ? label : "floor");
	sl_jw_str(&w, "mode", "floor");
	sl_jw_str(&w, "leaf_key", kind);
	sl_jw_u64(&w, "done", done);
	sl_jw_u64(&w, "failed", n - done);
	sl_jw_u64(&w, "client_side_ns", done ? hs[0] / done : 0);
	sl_jw_u64(&w, "server_side_ns", done ? hs[1] / done : 0);
	sl_jw_u64(&w, "record_bytes", (uint64_t)mib << 20);
	sl_jw_u64(&w, "decrypt_ns", rec[0]);
	sl_jw_u64(&w, "encrypt_ns", rec[1]);
	sl_jw_end(&w);
	fputs(out, stdout);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
	X509_free(leaf);
	X509_free(ca);
	EVP_PKEY_free(key);
	EVP_PKEY_free(cakey);
	return done == n ? 0 : 1;
}

/* ------------------------------------------------------------------ */

static void
usage(void)
{
	fprintf(stderr, "usage: tls_load certs -o DIR -n N\n"
	    "       tls_load hs|bulk|alpn [-x PROXY] -d ADDR:PORT -A CAFILE "
	    "[-f FIRST] [-W WARM]\n"
	    "                [-w WARMUP] [-n COUNT] [-c CONC] [-t TUNNELS] "
	    "[-u PATH] [-a ALPN]\n"
	    "                [-T SECS] [-p PID] [-C CORE] [-l LABEL]\n"
	    "       tls_load floor [-n COUNT] [-k ec|rsa] [-b MIB] "
	    "[-l LABEL]\n"
	    "       tls_load cpu -p PID [-C CORE]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct tl t = { .path = "/small", .conc = 4, .tunnels = 1,
		.count = 1000, .limit_us = 8000000, .core = -1 };
	const char *dir = NULL, *kind = "ec";
	unsigned mib = 64;
	int ch;

	if (argc < 2)
		usage();
	t.mode = argv[1];
	pthread_mutex_init(&t.lock, NULL);
	optind = 2;
	while ((ch = getopt(argc, argv, "x:d:A:f:W:w:n:c:t:u:a:T:p:C:l:o:k:b:"))
	    != -1) {
		switch (ch) {
		case 'x': t.proxy = optarg; break;
		case 'd': t.dest = optarg; break;
		case 'A': t.cafile = optarg; break;
		case 'f': t.first = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'W': t.warm = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'w': t.warmup = strtoull(optarg, NULL, 10); break;
		case 'n': t.count = strtoull(optarg, NULL, 10); break;
		case 'c': t.conc = (unsigned)strtoul(optarg, NULL, 10); break;
		case 't': t.tunnels = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'u': t.path = optarg; break;
		case 'a': t.alpn = optarg; break;
		case 'T': t.limit_us = strtoull(optarg, NULL, 10) * 1000000;
			break;
		case 'p': t.pid = (pid_t)atoi(optarg); break;
		case 'C': t.core = atoi(optarg); break;
		case 'l': t.label = optarg; break;
		case 'o': dir = optarg; break;
		case 'k': kind = optarg; break;
		case 'b': mib = (unsigned)strtoul(optarg, NULL, 10); break;
		default: usage();
		}
	}
	if (strcmp(t.mode, "certs") == 0) {
		if (dir == NULL || t.count == 0)
			usage();
		return tl_certs(dir, (unsigned)t.count);
	}
	if (strcmp(t.mode, "floor") == 0)
		return tl_floor((unsigned)t.count, kind, mib, t.label);
	if (strcmp(t.mode, "cpu") == 0) {
		uint64_t cpu, core;

		tl_sample(&t, &cpu, &core);
		printf("{\"cpu_us\":%llu,\"core_busy_us\":%llu}\n",
		    (unsigned long long)cpu, (unsigned long long)core);
		return t.pid > 0 ? 0 : 2;
	}
	if ((strcmp(t.mode, "hs") != 0 && strcmp(t.mode, "bulk") != 0 &&
	    strcmp(t.mode, "alpn") != 0) || t.dest == NULL ||
	    t.cafile == NULL || t.conc == 0 || t.conc > TL_MAXTHREADS ||
	    t.tunnels == 0 || t.tunnels > TL_MAXTHREADS || t.limit_us == 0)
		usage();
	if (strrchr(t.dest, ':') != NULL &&
	    strcmp(strrchr(t.dest, ':'), ":443") != 0)
		snprintf(t.host_port, sizeof(t.host_port), "%s",
		    strrchr(t.dest, ':'));
	if (tools_endpoint(t.proxy != NULL ? t.proxy : t.dest, &t.conn_ss,
	    &t.conn_len) == -1) {
		fprintf(stderr, "tls_load: bad address '%s'\n",
		    t.proxy != NULL ? t.proxy : t.dest);
		return 2;
	}
	return tl_load(&t);
}
