/*
 * urlpath.c — the canonical forms of a request path, for policy matching.
 *
 * Decode the path (refusing what cannot be decoded one way only) to the
 * form in which no escape is left, then merge slashes and remove dot
 * segments in place, in linear time: the path is the client's to choose.
 * The second reading (urlpath.h) removes ';' path parameters on the way.
 */
#include <string.h>

#include "hex.h"
#include "urlpath.h"

/*
 * out[0..*w) may end with a well-formed escape the decoding produced
 * ("/%25" then "68" is "/%68"): decode it in place, and again while that
 * completes another.  Some origins (IIS, applications that unescape a
 * path their server already unescaped) decode twice or more, and then
 * "/%2568ello" is "/hello"; matching the fully decoded form makes a deny
 * rule hold against any of these readings, and widens an allow rule only
 * to paths whose literal names are escapes.  Decoding at the end of the
 * output as it grows reaches that form in one pass (each step shortens
 * it by two), where decoding the whole path again and again would take
 * time quadratic in its length.  An escaped '?' stays escaped, written
 * "%3F" whatever its case: it is how a '?' in the path is written
 * (urlpath_decode()).  Returns -1 for a NUL.
 */
static int
urlpath_reduce(char *out, size_t *w)
{
	while (*w >= 3 && out[*w - 3] == '%') {
		int hi = sl_hex_val((unsigned char)out[*w - 2]);
		int lo = sl_hex_val((unsigned char)out[*w - 1]);
		unsigned char c;

		if (hi < 0 || lo < 0)
			break;
		c = (unsigned char)(hi << 4 | lo);
		if (c == '?') {
			/* Stays escaped, spelt as urlpath_decode() writes
			 * it: "%253f" and "%3f" must compare equal. */
			out[*w - 1] = 'F';
			break;
		}
		if (c == '\0')
			return -1;
		*w -= 3;
		out[(*w)++] = c == '\\' ? '/' : (char)c;
	}
	return 0;
}

/*
 * Decode in[0..len) (the path, no query) after a '/' into out, to the
 * fully decoded form (urlpath_reduce()).  Returns the decoded length, or
 * -1.
 *
 * With params, a ';' sent as such starts a path parameter that runs to
 * the next '/' sent as such, and is removed: Tomcat (and Spring) cut
 * parameters from the raw path before decoding, so in "/a;x%2F..%2Fb"
 * the parameter is ";x%2F..%2Fb".  It is decoded all the same, behind its
 * ';', and then dropped: a malformed escape or a NUL in it is refused as
 * without params, and the ';', neither '%' nor a hex digit, keeps its
 * escapes from joining what came before (urlpath_reduce() never reaches
 * back past it).
 *
 * A malformed escape in the request is refused rather than kept
 * literally: RFC 3986 section 2.1 makes '%' always start two hex digits,
 * so such a target is invalid (RFC 9112 section 3.2; nginx, Apache and Go
 * answer 400), and a lenient origin may read it in a way we cannot know
 * (IIS decodes "%u0068" to 'h').  Any literal reading chosen here could
 * then differ from the origin's, which is the bypass this module exists
 * to close.  (A '%' that decoding produced and that starts no escape is
 * a literal: "%25zz" is "%zz".)  A NUL is refused because the result is
 * a C string: a "%00" would end the comparison early, and origins refuse
 * it (nginx: 400) anyway.
 */
static ssize_t
urlpath_decode(const char *in, size_t len, char *out, size_t cap, int params)
{
	size_t w = 0, mark = 0;
	int inparam = 0;

	if (cap < 1)
		return -1;
	out[w++] = '/';
	for (size_t i = (len > 0 && in[0] == '/') ? 1 : 0; i < len; i++) {
		size_t n = 1;

		/* An escape is copied whole and decoded by urlpath_reduce(),
		 * as one that decoding produces is. */
		if (in[i] == '%' && (len - i < 3 ||
		    sl_hex_val((unsigned char)in[i + 1]) < 0 ||
		    sl_hex_val((unsigned char)in[i + 2]) < 0))
			return -1;
		if (in[i] == '%')
			n = 3;
		if (in[i] == '\0' || cap - w < n)
			return -1;
		if (params && !inparam && in[i] == ';') {
			inparam = 1;
			mark = w;
		} else if (inparam && in[i] == '/') {
			inparam = 0;
			w = mark;	/* the parameter ends here: drop it */
		}
		memcpy(out + w, in + i, n);
		if (in[i] == '\\')
			out[w] = '/';	/* IIS: "\\" and "%5C" are separators */
		w += n;
		i += n - 1;
		if (urlpath_reduce(out, &w) == -1)
			return -1;
	}
	return (ssize_t)(inparam ? mark : w);
}

/*
 * Merge slashes and remove "." and ".." segments of the decoded path
 * out[0..n) (which starts with '/'), in place; returns the new length.
 * The result is "/" followed by segments each ended by '/', except a
 * last real segment, so "/a/b/.." is "/a/" and "/a//" is "/a/" (RFC 3986
 * section 5.2.4 keeps the trailing slash these leave).  With params,
 * each segment is first cut at its first ';': one that decoding produced
 * ("%3B") starts a parameter too, as a server that decodes before it
 * removes parameters reads it; "..;x" is then "..", ";x" empty.
 */
static size_t
urlpath_segments(char *out, size_t n, int params)
{
	size_t w = 1, r = 1;

	while (r <= n) {
		const char *s = out + r;
		const char *e = memchr(s, '/', n - r);
		size_t sl = e != NULL ? (size_t)(e - s) : n - r, seg = sl;
		const char *semi = params ? memchr(s, ';', sl) : NULL;
		int last = e == NULL;

		if (semi != NULL)
			sl = (size_t)(semi - s);
		if (sl == 2 && s[0] == '.' && s[1] == '.') {
			/* out[w - 1] is '/': back to the one before it. */
			if (w > 1) {
				w--;
				while (out[w - 1] != '/')
					w--;
			}
		} else if (sl != 0 && !(sl == 1 && s[0] == '.')) {
			memmove(out + w, s, sl);
			w += sl;
			if (!last)
				out[w++] = '/';
		}
		r += seg + 1;
	}
	return w;
}

/* Both readings: without or with params (urlpath_decode()). */
static ssize_t
urlpath_normalise(const char *in, size_t len, char *out, size_t cap,
    int params)
{
	const char *q = len > 0 ? memchr(in, '?', len) : NULL;
	size_t plen = q != NULL ? (size_t)(q - in) : len, qlen = len - plen;
	ssize_t n;
	size_t w;

	if (len > 0 && memchr(in, '\0', len) != NULL)
		return -1;
	if ((n = urlpath_decode(in, plen, out, cap, params)) == -1)
		return -1;
	w = urlpath_segments(out, (size_t)n, params);
	/* The query is not part of the path: compared as sent. */
	if (cap - w < qlen + 1)
		return -1;
	if (qlen > 0)
		memcpy(out + w, q, qlen);
	w += qlen;
	out[w] = '\0';
	return (ssize_t)w;
}

ssize_t
sl_urlpath_normalise(const char *in, size_t len, char *out, size_t cap)
{
	return urlpath_normalise(in, len, out, cap, 0);
}

ssize_t
sl_urlpath_normalise_noparam(const char *in, size_t len, char *out,
    size_t cap)
{
	return urlpath_normalise(in, len, out, cap, 1);
}
