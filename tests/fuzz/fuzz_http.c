/*
 * fuzz_http.c — libFuzzer target for lib/http/http.c.
 *
 * Runs the request parser, the response parser and the chunked tracker
 * over the input and checks properties rather than just "no crash":
 *   - a prefix of the input is MORE, or fails exactly like the input;
 *   - an accepted head is accepted again when cut at head_len;
 *   - a rewritten head parses again, with the same framing and method;
 *   - the chunked tracker gives the same answer fed whole or in pieces;
 *   - parsing a head fed byte by byte only when sl_http_need_parse says so
 *     agrees with parsing it whole.
 * The split point and the request method for the response come from a
 * hash of the input, so corpus files are plain HTTP.  A broken property
 * aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/http/http.h"
#include "tests/fuzz/fz.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct sl_http_limits fz_lim = { 1024, 8192, 64 };
/* Room for what a rewrite adds (Host, Via) to a head at the limits. */
static const struct sl_http_limits fz_big = { 1 << 16, 1 << 16, 256 };

static struct sl_http_msg fz_msg, fz_msg2;

/* Parse a request or a response (meth >= 0) from an exact-size copy. */
static enum sl_http_rc
fz_parse(const char *buf, size_t n, int meth,
    const struct sl_http_limits *lim, struct sl_http_msg *m)
{
	char *b = malloc(n ? n : 1);
	enum sl_http_rc rc;

	FZ_CHECK(b != NULL);
	memcpy(b, buf, n);
	if (meth < 0)
		rc = sl_http_parse_request(b, n, lim, m);
	else
		rc = sl_http_parse_response(b, n, lim,
		    (enum sl_http_method)meth, m);
	free(b);
	return rc;
}

static void
fz_head(const char *buf, size_t n, int meth, size_t cut)
{
	enum sl_http_rc rc = fz_parse(buf, n, meth, &fz_lim, &fz_msg);
	enum sl_http_rc rc2;
	size_t head_len = fz_msg.head_len;
	unsigned st = fz_msg.err_status;
	const char *why = fz_msg.err_reason;

	if (rc == SL_HTTP_BAD) {
		FZ_CHECK(why != NULL && st >= 400 && st <= 505);
		FZ_CHECK(meth < 0 || st == 502);
	}
	if (rc == SL_HTTP_OK)
		FZ_CHECK(head_len > 0 && head_len <= n);
	/* a prefix: never OK before the end of the head, never a new error */
	if (cut < n) {
		rc2 = fz_parse(buf, cut, meth, &fz_lim, &fz_msg2);
		if (rc == SL_HTTP_OK && cut < head_len)
			FZ_CHECK(rc2 == SL_HTTP_MORE);
		if (rc == SL_HTTP_MORE)
			FZ_CHECK(rc2 == SL_HTTP_MORE);
		if (rc == SL_HTTP_BAD)
			FZ_CHECK(rc2 == SL_HTTP_MORE || (rc2 == SL_HTTP_BAD &&
			    fz_msg2.err_status == st &&
			    strcmp(fz_msg2.err_reason, why) == 0));
	}
	if (rc == SL_HTTP_OK) {
		rc2 = fz_parse(buf, head_len, meth, &fz_lim, &fz_msg2);
		FZ_CHECK(rc2 == SL_HTTP_OK && fz_msg2.head_len == head_len);
	}
}

/* A rewritten head must parse again with the same meaning. */
static void
fz_rewrite(const char *buf, size_t n, int meth)
{
	size_t cap = n * 2 + 256;
	char *out = malloc(cap);
	ssize_t w;

	FZ_CHECK(out != NULL);
	if (fz_parse(buf, n, meth, &fz_lim, &fz_msg) != SL_HTTP_OK) {
		free(out);
		return;
	}
	if (meth < 0)
		w = sl_http_rewrite_request(buf, &fz_msg, 1, out, cap);
	else
		w = sl_http_rewrite_response(buf, &fz_msg, 1, 1, out, cap);
	FZ_CHECK(w > 0 && (size_t)w <= cap);
	/* one byte less room must fail, not truncate */
	if (meth < 0)
		FZ_CHECK(sl_http_rewrite_request(buf, &fz_msg, 1, out,
		    (size_t)w - 1) == -1);
	FZ_CHECK(fz_parse(out, (size_t)w, meth, &fz_big, &fz_msg2) ==
	    SL_HTTP_OK);
	FZ_CHECK(fz_msg2.head_len == (size_t)w);
	FZ_CHECK(fz_msg2.body == fz_msg.body);
	FZ_CHECK(fz_msg2.content_length == fz_msg.content_length);
	FZ_CHECK(fz_msg2.version == fz_msg.version);
	if (meth < 0) {
		FZ_CHECK(fz_msg2.method == fz_msg.method);
		FZ_CHECK(fz_msg2.form != SL_HTTP_FORM_ABSOLUTE);
		FZ_CHECK((fz_msg2.flags & SL_HTTP_F_UPGRADE_WS) ==
		    (fz_msg.flags & SL_HTTP_F_UPGRADE_WS));
	} else {
		FZ_CHECK(fz_msg2.status == fz_msg.status);
	}
	free(out);
}

/* Byte by byte, parsing only when needed, against the whole input. */
static void
fz_lazy(const char *buf, size_t n, int meth)
{
	enum sl_http_rc whole = fz_parse(buf, n, meth, &fz_lim, &fz_msg);
	enum sl_http_rc rc = SL_HTTP_MORE;
	size_t k, last = 0, at = 0;

	for (k = 1; k <= n && rc == SL_HTTP_MORE; k++) {
		if (!sl_http_need_parse(buf, last, k, &fz_lim))
			continue;
		last = at = k;
		rc = fz_parse(buf, k, meth, &fz_lim, &fz_msg2);
	}
	if (rc == SL_HTTP_OK)
		FZ_CHECK(whole == SL_HTTP_OK && fz_msg.head_len == at &&
		    fz_msg2.head_len == at);
	if (rc == SL_HTTP_BAD)
		FZ_CHECK(whole == SL_HTTP_BAD &&
		    fz_msg.err_status == fz_msg2.err_status &&
		    strcmp(fz_msg.err_reason, fz_msg2.err_reason) == 0);
	if (rc == SL_HTTP_MORE)
		FZ_CHECK(whole != SL_HTTP_OK);
}

/* Whole versus two pieces: the same bytes consumed, the same end. */
static void
fz_chunked(const char *buf, size_t n, size_t cut)
{
	struct sl_http_chunked a, b;
	ssize_t whole, r1, r2 = 0;
	int done_a, done_b;

	sl_http_chunked_init(&a);
	whole = sl_http_chunked_feed(&a, buf, n, &done_a);
	FZ_CHECK(whole >= -1 && whole <= (ssize_t)n);
	FZ_CHECK(whole == (ssize_t)n || whole == -1 || done_a);

	sl_http_chunked_init(&b);
	r1 = sl_http_chunked_feed(&b, buf, cut, &done_b);
	if (r1 >= 0 && !done_b) {
		FZ_CHECK(r1 == (ssize_t)cut);
		r2 = sl_http_chunked_feed(&b, buf + cut, n - cut, &done_b);
	}
	if (whole == -1) {
		FZ_CHECK(r1 == -1 || r2 == -1);
		return;
	}
	FZ_CHECK(r1 >= 0 && r2 >= 0);
	FZ_CHECK(r1 + r2 == whole && done_a == done_b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	uint32_t h = fz_hash(data, size);
	size_t cut = size ? h % (size + 1) : 0;
	int meth = (int)(h >> 16) % (SL_HTTP_M_OPTIONS + 1);

	fz_head(buf, size, -1, cut);
	fz_rewrite(buf, size, -1);
	fz_head(buf, size, meth, cut);
	fz_rewrite(buf, size, meth);
	fz_lazy(buf, size, (h & 1) ? -1 : meth);
	fz_chunked(buf, size, cut);
	return 0;
}
