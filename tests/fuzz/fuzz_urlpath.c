/*
 * fuzz_urlpath.c — libFuzzer target for lib/urlpath.c.
 *
 * Normalises the input as a request path (and query), in both readings,
 * and checks what lib/urlpath.h promises rather than just "no crash":
 *   - a NUL or a malformed escape in the path is refused;
 *   - with cap = len + 2 nothing else is refused ("len + 2 always
 *     suffices"); the result is NUL-terminated, shorter than cap and
 *     starts with '/';
 *   - its path has no '\\', no "//", no "." or ".." segment, and no
 *     escape left but "%3F" (escapes are decoded while well-formed ones
 *     are left; a decoded '?' is written "%3F");
 *   - the query, from the input's first '?', is copied as sent;
 *   - the result is a fixed point: normalising it again gives it back,
 *     unless its path holds a literal '%' that starts no escape (such a
 *     path is refused as input, by the same rule that keeps it literal);
 *   - a smaller cap (picked from a hash of the input) gives the same
 *     result or -1, never a different or truncated one;
 *   - sl_urlpath_normalise_noparam() (';' parameters removed) refuses
 *     exactly the same inputs; its result has all the properties above
 *     (fixed point and smaller cap with itself), no ';' in its path, the
 *     same query, and equals the first reading when the input's path
 *     has no ';' and no '%'.
 * Output buffers are exactly cap bytes, so ASan sees a write past cap.
 * A broken property aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/urlpath.h"
#include "tests/fuzz/fz.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
fz_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

/* Does p[0..n) hold a '%' that does not start two hex digits? */
static int
fz_has_bad_escape(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] == '%' && (n - i < 3 ||
		    !fz_hex((unsigned char)p[i + 1]) ||
		    !fz_hex((unsigned char)p[i + 2])))
			return 1;
	return 0;
}

typedef ssize_t (*fz_norm_fn)(const char *, size_t, char *, size_t);

/* Normalise into an exactly sized heap buffer; the caller frees *out. */
static ssize_t
fz_norm_with(fz_norm_fn fn, const char *in, size_t len, size_t cap,
    char **out)
{
	ssize_t r;

	*out = malloc(cap > 0 ? cap : 1);
	FZ_CHECK(*out != NULL);
	r = fn(in, len, *out, cap);
	FZ_CHECK(r >= -1);
	return r;
}

static ssize_t
fz_norm(const char *in, size_t len, size_t cap, char **out)
{
	return fz_norm_with(sl_urlpath_normalise, in, len, cap, out);
}

/* The path part of a result out[0..plen): the promised canonical form. */
static void
fz_check_path(const char *out, size_t plen)
{
	FZ_CHECK(plen >= 1 && out[0] == '/');
	FZ_CHECK(memchr(out, '\\', plen) == NULL);
	for (size_t i = 0; i < plen; i++) {
		size_t s, e;

		if (out[i] == '%' && plen - i >= 3 &&
		    fz_hex((unsigned char)out[i + 1]) &&
		    fz_hex((unsigned char)out[i + 2]))
			FZ_CHECK(out[i + 1] == '3' && out[i + 2] == 'F');
		if (out[i] != '/')
			continue;
		/* a segment starts at i + 1 and ends at the next '/' or plen */
		for (s = e = i + 1; e < plen && out[e] != '/'; e++)
			continue;
		FZ_CHECK(!(e == s && e < plen));		/* "//" */
		FZ_CHECK(!(e - s == 1 && out[s] == '.'));
		FZ_CHECK(!(e - s == 2 && out[s] == '.' && out[s + 1] == '.'));
	}
}

/*
 * The reading without parameters of in[0..size), against the first
 * reading out[0..r) (r == -1: refused) whose query starts at q.
 */
static void
fz_check_noparam(const uint8_t *data, size_t size, const char *out,
    ssize_t r, const char *q)
{
	const char *in = (const char *)data;
	const char *iq = size > 0 ? memchr(in, '?', size) : NULL;
	size_t ipl = iq != NULL ? (size_t)(iq - in) : size, plen;
	char *np, *np2, *again;
	const char *nq;
	ssize_t n, n2;

	n = fz_norm_with(sl_urlpath_normalise_noparam, in, size, size + 2,
	    &np);
	FZ_CHECK((n == -1) == (r == -1));
	n2 = fz_norm_with(sl_urlpath_normalise_noparam, in, size,
	    fz_hash(data, size) % (size + 2), &np2);
	FZ_CHECK(n2 == -1 || (n2 == n && memcmp(np, np2, (size_t)n + 1) ==
	    0));
	free(np2);
	if (n == -1) {
		free(np);
		return;
	}
	FZ_CHECK((size_t)n < size + 2 && np[n] == '\0' &&
	    strlen(np) == (size_t)n);
	nq = memchr(np, '?', (size_t)n);
	plen = nq != NULL ? (size_t)(nq - np) : (size_t)n;
	fz_check_path(np, plen);
	FZ_CHECK(memchr(np, ';', plen) == NULL);
	/* The same query as the first reading's, byte for byte. */
	FZ_CHECK((nq == NULL) == (q == NULL));
	if (q != NULL)
		FZ_CHECK(strcmp(nq, q) == 0);
	if (memchr(in, ';', ipl) == NULL && memchr(in, '%', ipl) == NULL)
		FZ_CHECK(n == r && memcmp(np, out, (size_t)r) == 0);
	n2 = fz_norm_with(sl_urlpath_normalise_noparam, np, (size_t)n,
	    (size_t)n + 2, &again);
	if (n2 == -1)
		FZ_CHECK(fz_has_bad_escape(np, plen));
	else
		FZ_CHECK(n2 == n && memcmp(again, np, (size_t)n) == 0);
	free(again);
	free(np);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	const char *iq = size > 0 ? memchr(in, '?', size) : NULL;
	size_t ipl = iq != NULL ? (size_t)(iq - in) : size;
	size_t cap = size + 2, cap2;
	char *out, *out2, *again;
	const char *q;
	ssize_t r, r2;
	size_t plen;

	r = fz_norm(in, size, cap, &out);
	if (memchr(in, '\0', size) != NULL || fz_has_bad_escape(in, ipl)) {
		FZ_CHECK(r == -1);
	} else if (r == -1) {
		/* Only a NUL reached by decoding may be refused now. */
		FZ_CHECK(memchr(in, '%', ipl) != NULL);
	}

	/* A smaller cap: the same answer, or -1. */
	cap2 = fz_hash(data, size) % cap;
	r2 = fz_norm(in, size, cap2, &out2);
	FZ_CHECK(r2 == -1 || (r2 == r && memcmp(out, out2, (size_t)r + 1)
	    == 0));
	free(out2);
	if (r == -1) {
		fz_check_noparam(data, size, NULL, -1, NULL);
		free(out);
		return 0;
	}

	FZ_CHECK((size_t)r < cap && out[r] == '\0' && strlen(out) ==
	    (size_t)r);
	q = memchr(out, '?', (size_t)r);
	plen = q != NULL ? (size_t)(q - out) : (size_t)r;
	fz_check_path(out, plen);
	/* The query is the input's, byte for byte. */
	FZ_CHECK((iq == NULL) == (q == NULL));
	if (iq != NULL)
		FZ_CHECK((size_t)r - plen == size - ipl &&
		    memcmp(q, iq, size - ipl) == 0);

	/* A fixed point, unless a literal '%' makes it unreadable. */
	r2 = fz_norm(out, (size_t)r, (size_t)r + 2, &again);
	if (r2 == -1)
		FZ_CHECK(fz_has_bad_escape(out, plen));
	else
		FZ_CHECK(r2 == r && memcmp(again, out, (size_t)r) == 0);
	free(again);
	fz_check_noparam(data, size, out, r, q);
	free(out);
	return 0;
}
