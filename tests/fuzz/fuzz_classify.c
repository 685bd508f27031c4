/*
 * fuzz_classify.c — libFuzzer target for proxy/classify.c, differential
 * against models of two lenient HTTP servers (issue 12, item 2).
 *
 * Properties (a broken one aborts):
 *   - lenient: when nginx 1.22 or Python 3.11's http.server would act on
 *     the input's first line as a request (the models below), the
 *     classifier never says opaque: the flow is HTTP (OK, BAD, or MORE
 *     while incomplete), so Host and URL rules decide it or it is refused;
 *   - stable: a verdict other than MORE on a prefix is the verdict on the
 *     whole input (a flow acts on the first verdict it gets);
 *   - with and without want_http_head the protocol is the same;
 *   - a complete HTTP head lies inside the input, its Host inside the
 *     head; BAD always carries a reason.
 * The prefix cut comes from a hash of the input, so corpus files are the
 * plain first bytes of a flow.
 *
 * Verdict mode: with FZ_CLASSIFY_VERDICT set in the environment, every
 * input prints one line "verdict nginx=N python_parse=N python=N proto=P
 * rc=R err=E" (python_parse: parse_request alone, whatever the command),
 * and no property is checked: tests/integ/121-lenient-request-lines.sh
 * checks the models against the real servers with it.
 *
 * classify.c is compiled into this file: fuzz targets link the pure
 * modules only (the Makefile's fuzz rule, tests/fuzz/run.sh), and it is as
 * pure as they are.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/classify.c"
#include "tests/fuzz/fz.h"

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_CAP		32768		/* the default peek-max */

static const struct sl_http_limits fz_lim = { 8192, 32768, 100 };
static int fz_verdict_mode;	/* set once, before the first input */

/* ---- nginx 1.22.1 -------------------------------------------------------
 * ngx_http_parse_request_line() (src/http/ngx_http_parse.c), reduced to
 * whether it returns NGX_OK: the request line is then processed (served,
 * proxied, or answered 405 for an unknown method).  State names are
 * nginx's.  Its three URI states (after_slash_in_uri, check_uri, uri)
 * differ in flags only, not in what they accept, so they are one here
 * (outside Win32 a backslash is an ordinary byte).  Then, as in its done:
 * label, HTTP/0.9 (no version) is only for GET.  nginx's own buffer limit
 * (large_client_header_buffers, 414) is not modelled: a longer line is
 * accepted here, which only makes the property stronger.
 */
enum ngx_state {
	NGX_START = 0, NGX_METHOD, NGX_SPACES_BEFORE_URI, NGX_SCHEMA,
	NGX_SCHEMA_SLASH, NGX_SCHEMA_SLASH_SLASH, NGX_HOST_START, NGX_HOST,
	NGX_HOST_END, NGX_HOST_IP_LITERAL, NGX_PORT, NGX_URI, NGX_HTTP_09,
	NGX_HTTP_H, NGX_HTTP_HT, NGX_HTTP_HTT, NGX_HTTP_HTTP,
	NGX_FIRST_MAJOR_DIGIT, NGX_MAJOR_DIGIT, NGX_FIRST_MINOR_DIGIT,
	NGX_MINOR_DIGIT, NGX_SPACES_AFTER_DIGIT, NGX_ALMOST_DONE,
};

struct ngx_model {
	enum ngx_state	 st;
	size_t		 method_start;
	unsigned	 major, minor;
	int		 get;	/* the method is GET */
	int		 v09;	/* the line ended without a version */
};

#define NGX_AGAIN	0
#define NGX_DONE	1
#define NGX_INVALID	(-1)

static int
ngx_letter(uint8_t ch)
{
	uint8_t c = ch | 0x20;

	return c >= 'a' && c <= 'z';
}

static int
ngx_digit(uint8_t ch)
{
	return ch >= '0' && ch <= '9';
}

/* sw_host_end, and sw_port past its digits: where the authority ends. */
static int
ngx_host_end(struct ngx_model *m, uint8_t ch)
{
	if (ch == ':' && m->st != NGX_PORT)
		m->st = NGX_PORT;
	else if (ch == '/' || ch == '?')
		m->st = NGX_URI;
	else if (ch == ' ')
		m->st = NGX_HTTP_09;
	else
		return NGX_INVALID;
	return NGX_AGAIN;
}

/* sw_host_start, sw_host, sw_host_end, sw_host_ip_literal, sw_port. */
static int
ngx_authority(struct ngx_model *m, uint8_t ch)
{
	switch (m->st) {
	case NGX_HOST_START:
		if (ch == '[') {
			m->st = NGX_HOST_IP_LITERAL;
			return NGX_AGAIN;
		}
		m->st = NGX_HOST;
		/* fall through */
	case NGX_HOST:
		if (ngx_letter(ch) || ngx_digit(ch) || ch == '.' || ch == '-')
			return NGX_AGAIN;
		/* fall through */
	case NGX_HOST_END:
		m->st = NGX_HOST_END;
		return ngx_host_end(m, ch);
	case NGX_HOST_IP_LITERAL:
		if (ngx_digit(ch) || ngx_letter(ch) || ch == ':' ||
		    (ch != 0 && strchr("-._~!$&'()*+,;=", ch) != NULL))
			return NGX_AGAIN;
		if (ch != ']')
			return NGX_INVALID;
		m->st = NGX_HOST_END;
		return NGX_AGAIN;
	default:	/* NGX_PORT */
		return ngx_digit(ch) ? NGX_AGAIN : ngx_host_end(m, ch);
	}
}

/* sw_start to sw_schema_slash_slash: the method and the target's start. */
static int
ngx_method(struct ngx_model *m, const uint8_t *buf, size_t at)
{
	uint8_t ch = buf[at];
	int mch = (ch >= 'A' && ch <= 'Z') || ch == '_' || ch == '-';

	switch (m->st) {
	case NGX_START:
		if (ch == '\r' || ch == '\n')
			return NGX_AGAIN;
		if (!mch)
			return NGX_INVALID;
		m->method_start = at;
		m->st = NGX_METHOD;
		return NGX_AGAIN;
	case NGX_METHOD:
		if (ch == ' ') {
			m->get = at - m->method_start == 3 &&
			    memcmp(buf + m->method_start, "GET", 3) == 0;
			m->st = NGX_SPACES_BEFORE_URI;
			return NGX_AGAIN;
		}
		return mch ? NGX_AGAIN : NGX_INVALID;
	case NGX_SPACES_BEFORE_URI:
		if (ch == '/')
			m->st = NGX_URI;
		else if (ngx_letter(ch))
			m->st = NGX_SCHEMA;
		else if (ch != ' ')
			return NGX_INVALID;
		return NGX_AGAIN;
	case NGX_SCHEMA:
		if (ngx_letter(ch) || ngx_digit(ch) || ch == '+' || ch == '-' ||
		    ch == '.')
			return NGX_AGAIN;
		if (ch != ':')
			return NGX_INVALID;
		m->st = NGX_SCHEMA_SLASH;
		return NGX_AGAIN;
	case NGX_SCHEMA_SLASH:
		if (ch != '/')
			return NGX_INVALID;
		m->st = NGX_SCHEMA_SLASH_SLASH;
		return NGX_AGAIN;
	default:	/* NGX_SCHEMA_SLASH_SLASH */
		if (ch != '/')
			return NGX_INVALID;
		m->st = NGX_HOST_START;
		return NGX_AGAIN;
	}
}

/* sw_uri (all three) and sw_http_09: where HTTP/0.9 may end the line. */
static int
ngx_uri(struct ngx_model *m, uint8_t ch)
{
	if (ch == '\r' || ch == '\n') {
		m->v09 = 1;
		m->st = NGX_ALMOST_DONE;
		return ch == '\n' ? NGX_DONE : NGX_AGAIN;
	}
	if (m->st == NGX_URI) {
		if (ch == ' ')
			m->st = NGX_HTTP_09;
		else if (ch < 0x20 || ch == 0x7f)
			return NGX_INVALID;
		return NGX_AGAIN;
	}
	if (ch == 'H')
		m->st = NGX_HTTP_H;
	else if (ch != ' ')
		return NGX_INVALID;
	return NGX_AGAIN;
}

/* sw_http_H to sw_almost_done: "HTTP/" major "." minor SP* CR? LF. */
static int
ngx_version(struct ngx_model *m, uint8_t ch)
{
	static const char http[] = "TTP/";

	switch (m->st) {
	case NGX_HTTP_H:
	case NGX_HTTP_HT:
	case NGX_HTTP_HTT:
	case NGX_HTTP_HTTP:
		if (ch != (uint8_t)http[m->st - NGX_HTTP_H])
			return NGX_INVALID;
		m->st++;
		return NGX_AGAIN;
	case NGX_FIRST_MAJOR_DIGIT:
	case NGX_MAJOR_DIGIT:
		if (m->st == NGX_MAJOR_DIGIT && ch == '.') {
			m->st = NGX_FIRST_MINOR_DIGIT;
			return NGX_AGAIN;
		}
		if (!ngx_digit(ch) || (m->st == NGX_FIRST_MAJOR_DIGIT &&
		    ch == '0'))
			return NGX_INVALID;
		m->major = m->major * 10 + (unsigned)(ch - '0');
		m->st = NGX_MAJOR_DIGIT;
		return m->major > 1 ? NGX_INVALID : NGX_AGAIN;
	case NGX_FIRST_MINOR_DIGIT:
		if (!ngx_digit(ch))
			return NGX_INVALID;
		m->minor = (unsigned)(ch - '0');
		m->st = NGX_MINOR_DIGIT;
		return NGX_AGAIN;
	case NGX_MINOR_DIGIT:
		if (ngx_digit(ch)) {
			if (m->minor > 99)
				return NGX_INVALID;
			m->minor = m->minor * 10 + (unsigned)(ch - '0');
			return NGX_AGAIN;
		}
		/* fall through */
	case NGX_SPACES_AFTER_DIGIT:
		if (ch == ' ')
			m->st = NGX_SPACES_AFTER_DIGIT;
		else if (ch == '\r')
			m->st = NGX_ALMOST_DONE;
		else
			return ch == '\n' ? NGX_DONE : NGX_INVALID;
		return NGX_AGAIN;
	default:	/* NGX_ALMOST_DONE */
		return ch == '\n' ? NGX_DONE : NGX_INVALID;
	}
}

/* Would nginx process buf[0..len) as a request (its line, at least)? */
static int
fz_nginx_accepts(const uint8_t *buf, size_t len)
{
	struct ngx_model m;
	int rc = NGX_AGAIN;

	memset(&m, 0, sizeof(m));
	for (size_t i = 0; i < len && rc == NGX_AGAIN; i++) {
		if (m.st <= NGX_SCHEMA_SLASH_SLASH)
			rc = ngx_method(&m, buf, i);
		else if (m.st <= NGX_PORT)
			rc = ngx_authority(&m, buf[i]);
		else if (m.st <= NGX_HTTP_09)
			rc = ngx_uri(&m, buf[i]);
		else
			rc = ngx_version(&m, buf[i]);
	}
	return rc == NGX_DONE && (!m.v09 || m.get);
}

/* ---- Python 3.11 http.server --------------------------------------------
 * BaseHTTPRequestHandler.handle_one_request() and parse_request()
 * (Lib/http/server.py; Debian 12's /usr/lib/python3.11/http/server.py):
 * the line is rfile.readline(65537), refused (414) when longer than 65536
 * bytes; decoded as Latin-1, stripped of trailing CR and LF
 * (rstrip('\r\n')) and split() at whitespace.  Three words: the last must
 * start with "HTTP/", its rest split at '.' into exactly two int()s, the
 * version below (2, 0) (a tuple compare: "HTTP/2.-1" passes).  Two words:
 * only "GET" (HTTP/0.9): fz_python_parses(), checked against the real
 * server.  The request is then acted on only through a do_<command>
 * method, and fz_python_accepts() takes a command of [A-Z_-] only, the
 * methods handlers are written for: any other word ("get") gets 501 from
 * every handler in the standard library.  Header parsing after the line
 * is not modelled (it only refuses more).
 */
#define PY_LINE_MAX	65536

/* str.split() / int() whitespace, for a Latin-1 decoded string. */
static int
py_space(uint8_t c)
{
	return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) ||
	    c == 0x85 || c == 0xa0;
}

/*
 * int() of s[0..n): [+-]? DIGIT (_? DIGIT)* (no whitespace can be left
 * after split()).  0 if it raises ValueError; else *v is the value,
 * clamped to +-1000 (only its order against 2 and 0 matters).
 */
static int
py_int(const uint8_t *s, size_t n, long *v)
{
	size_t i = 0;
	long sign = 1, mag = 0;

	if (i < n && (s[i] == '+' || s[i] == '-'))
		sign = s[i++] == '-' ? -1 : 1;
	if (i == n || !ngx_digit(s[i]))
		return 0;
	for (; i < n; i++) {
		if (s[i] == '_' && i + 1 < n && ngx_digit(s[i + 1]))
			continue;
		if (!ngx_digit(s[i]))
			return 0;
		mag = SL_MIN(mag * 10 + (s[i] - '0'), 1000);
	}
	*v = sign * mag;
	return 1;
}

/* parse_request's version check: "HTTP/" INT "." INT, below (2, 0). */
static int
py_version(const uint8_t *w, size_t n)
{
	const uint8_t *dot;
	long major, minor;

	if (n < 5 || memcmp(w, "HTTP/", 5) != 0)
		return 0;
	w += 5;
	n -= 5;
	if ((dot = memchr(w, '.', n)) == NULL ||
	    memchr(dot + 1, '.', n - (size_t)(dot - w) - 1) != NULL)
		return 0;
	if (!py_int(w, (size_t)(dot - w), &major) ||
	    !py_int(dot + 1, n - (size_t)(dot - w) - 1, &minor))
		return 0;
	return major < 2 || (major == 2 && minor < 0);
}

/*
 * Would parse_request() take buf[0..len) as a request line (return True,
 * headers aside)?  *cmd and *cmd_len are then its command.
 */
static int
fz_python_parses(const uint8_t *buf, size_t len, const uint8_t **cmd,
    size_t *cmd_len)
{
	const uint8_t *lf = memchr(buf, '\n', SL_MIN(len, PY_LINE_MAX));
	const uint8_t *w[4];
	size_t wl[4], n = 0, i = 0, end;

	if (lf == NULL)
		return 0;	/* it waits for the line, or says 414 */
	end = (size_t)(lf - buf);
	while (end > 0 && (buf[end - 1] == '\r' || buf[end - 1] == '\n'))
		end--;
	for (;;) {
		while (i < end && py_space(buf[i]))
			i++;
		if (i == end)
			break;
		if (n == 4)
			return 0;	/* more than three words */
		w[n] = buf + i;
		while (i < end && !py_space(buf[i]))
			i++;
		wl[n] = (size_t)(buf + i - w[n]);
		n++;
	}
	if (n == 3 && !py_version(w[2], wl[2]))
		return 0;
	if (n < 2 || n > 3 ||
	    (n == 2 && (wl[0] != 3 || memcmp(w[0], "GET", 3) != 0)))
		return 0;
	*cmd = w[0];
	*cmd_len = wl[0];
	return 1;
}

/* ... and act on it: a command of [A-Z_-], the name of a handler. */
static int
fz_python_accepts(const uint8_t *buf, size_t len, int *parses)
{
	const uint8_t *cmd;
	size_t n;

	*parses = fz_python_parses(buf, len, &cmd, &n);
	if (!*parses)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((cmd[i] >= 'A' && cmd[i] <= 'Z') || cmd[i] == '_' ||
		    cmd[i] == '-'))
			return 0;
	return 1;
}

/* ---- properties ------------------------------------------------------- */

static void
fz_classify(const uint8_t *buf, size_t n, int head, struct sl_classify *c)
{
	uint8_t *b = malloc(n ? n : 1);		/* exact size for ASan */

	FZ_CHECK(b != NULL);
	memcpy(b, buf, n);
	sl_classify(n ? b : NULL, n, FZ_CAP, head, &fz_lim, c);
	free(b);
}

static void
fz_print_verdict(int ngx, int py_parse, int py, const struct sl_classify *c)
{
	static const char *const proto[] = {
		"unknown", "tls", "http", "stun", "opaque", "none",
	};
	static const char *const rc[] = { "ok", "more", "not_mine", "bad" };

	printf("verdict nginx=%d python_parse=%d python=%d proto=%s rc=%s "
	    "err=%s\n", ngx, py_parse, py,
	    (size_t)c->proto < SL_NELEM(proto) ? proto[c->proto] : "?",
	    (size_t)c->rc < SL_NELEM(rc) ? rc[c->rc] : "?",
	    c->err != NULL ? c->err : "-");
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_verdict_mode = getenv("FZ_CLASSIFY_VERDICT") != NULL;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sl_classify c, c0, cp;
	int ngx = fz_nginx_accepts(data, size);
	int py_parse;
	int py = fz_python_accepts(data, size, &py_parse);
	size_t cut = size ? fz_hash(data, size) % size : 0;

	fz_classify(data, size, 1, &c);
	if (fz_verdict_mode) {
		fz_print_verdict(ngx, py_parse, py, &c);
		return 0;
	}
	/* lenient: what a lenient server acts on is never opaque */
	if (ngx || py)
		FZ_CHECK(c.proto == SL_PROTO_HTTP);
	/* stable: a verdict on a prefix holds for the whole */
	fz_classify(data, cut, 1, &cp);
	if (cp.rc != SL_PARSE_MORE)
		FZ_CHECK(cp.rc == c.rc && cp.proto == c.proto);
	/* the head is wanted or not: the same protocol */
	fz_classify(data, size, 0, &c0);
	FZ_CHECK(c0.proto == c.proto);
	if (c.rc == SL_PARSE_BAD)
		FZ_CHECK(c.err != NULL);
	if (c.rc == SL_PARSE_OK && c.proto == SL_PROTO_HTTP) {
		FZ_CHECK(c.head_len > 0 && c.head_len <= size);
		FZ_CHECK((size_t)c.host.off + c.host.len <= c.head_len);
	}
	return 0;
}
