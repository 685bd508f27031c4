/*
 * urlpath.h — the canonical forms of a request path, for matching only.
 *
 * Policy `url` rules compare a prefix of the path.  Origin servers do not
 * route on the bytes the client sent: nginx decodes percent-escapes
 * (including %2F), merges slashes and removes dot segments before it
 * picks a location, so "/%68ello", "//hello", "/./hello", "/x/../hello"
 * and "/%2fhello" all reach "/hello"; IIS also takes '\\' for '/', and
 * an origin that decodes twice reads "/%2568ello" as "/hello".  Rules and
 * requests are therefore both compared in this form.  Servers that take
 * ';' path parameters (Tomcat: "/x/..;/secret" is "/secret") read a path
 * another way again: sl_urlpath_normalise_noparam() gives that reading,
 * and policy matches url rules against both.  The proxy forwards the
 * bytes the client sent; nothing here is ever written to the wire.
 */
#ifndef SL_URLPATH_H
#define SL_URLPATH_H

#include <stddef.h>
#include <sys/types.h>

#include "attr.h"

/*
 * Normalise the path (and query) in[0..len) into out, NUL-terminated:
 *   - every %XX escape in the path is decoded, %2F included, and the
 *     result decoded again while well-formed escapes are left in it
 *     ("%2568" is 'h'); a decoded '?' is written "%3F" so that the first
 *     '?' of the result still starts the query;
 *   - '\\' (sent or decoded) is '/';
 *   - repeated slashes are merged; "." and ".." segments are removed as
 *     in RFC 3986 section 5.2.4 (after decoding, so "%2e%2e" is ".."),
 *     and ".." at the root stays at the root;
 *   - the result starts with '/' ("" and "?q" become "/" and "/?q");
 *   - the query, from the first '?' on, is copied as sent;
 *   - nothing is case-folded (paths are case-sensitive).
 * Returns the length of out (without the NUL), or -1 if the path has a
 * malformed escape ("%zz", "%4", "%" at the end), a NUL anywhere (raw,
 * "%00", or "%2500" decoded twice), or out (cap bytes) is too small;
 * len + 2 always suffices.
 */
ssize_t	sl_urlpath_normalise(const char *in, size_t len, char *out,
	    size_t cap) SL_NONNULL(3) SL_WUR;

/*
 * The same with path parameters removed, as Tomcat, Jetty and Spring
 * read a path before they route on it (RFC 3986 section 3.3 leaves ';'
 * to the application): "/x/..;/secret" is "/secret", "/.;/secret" and
 * "/;/secret" are "/secret", "/secret;jsessionid=1" is "/secret".
 *   - a ';' sent as such starts a parameter that runs up to the next '/'
 *     sent as such (escapes and '\\' in it included): it is removed
 *     before anything else, as those servers do before decoding;
 *   - then, after decoding, each segment is also cut at a ';' that
 *     decoding produced ("%3B", "%253B"), as a server that decodes
 *     before it removes parameters reads it;
 *   - then slashes are merged and dot segments removed as above, so
 *     "..;x" is "..", ".;x" is "." and ";x" an empty segment.
 * The path of the result has no ';'; the query is copied as sent.
 * Returns -1 for exactly the inputs sl_urlpath_normalise() refuses (a
 * malformed escape or a NUL inside a parameter included), given the same
 * cap; len + 2 always suffices.
 */
ssize_t	sl_urlpath_normalise_noparam(const char *in, size_t len,
	    char *out, size_t cap) SL_NONNULL(3) SL_WUR;

#endif /* SL_URLPATH_H */
