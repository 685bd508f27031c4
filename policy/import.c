/*
 * import.c — CIDRs from a JSON document into a list file (jansson).
 *
 * Accepted shapes (documented in docs/policy.md):
 *  - an array of CIDR strings:            ["192.0.2.0/24", "2001:db8::/32"]
 *  - an array of objects with a field     [{"prefix": "192.0.2.0/24"}, ...]
 *  - an object with such arrays under any key, at most three levels deep:
 *      {"prefixes": [...], "ipv6_prefixes": [...]}   (the AWS shape)
 *      {"prefixes": [{"ipv4Prefix": ...}]}            (the Google shape)
 * Fields tried on an object: prefix, ip_prefix, ipv6_prefix, ipv4Prefix,
 * ipv6Prefix, cidr, ip, subnet.  Values that are not arrays or objects
 * (tokens, dates) are ignored.  A bare address is a host route.
 * Invalid entries are reported with their JSON path and skipped.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "../lib/alloc.h"
#include "policy_int.h"

static const char *const prefix_fields[] = {
	"prefix", "ip_prefix", "ipv6_prefix", "ipv4Prefix", "ipv6Prefix",
	"cidr", "ip", "subnet",
};

#define IMPORT_DEPTH	3

struct imp {
	struct sl_diags	*diags;
	struct sl_loc	 loc;		/* the source, for diagnostics */
	struct pol_arena a;
	struct pol_map	 seen;		/* CIDR text -> first path */
	char		*out;
	size_t		 len, cap;
	size_t		 count, bad;
	int		 oom;
};

static void SL_PRINTF(2, 3)
imp_add(struct imp *m, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(m->out ? m->out + m->len : NULL, m->cap - m->len,
		    fmt, ap);
		va_end(ap);
		if (n < 0) {
			m->oom = 1;
			return;
		}
		if ((size_t)n < m->cap - m->len) {
			m->len += (size_t)n;
			return;
		}
		{
			size_t ncap = m->cap * 2 + (size_t)n + 256;
			char *no = sl_realloc(m->out, ncap);

			if (no == NULL) {
				m->oom = 1;
				return;
			}
			m->out = no;
			m->cap = ncap;
		}
	}
}

static void
imp_cidr(struct imp *m, const char *s, const char *path)
{
	struct pol_cidr c;
	char err[256], text[SL_IP_STRLEN + 8], a[SL_IP_STRLEN];
	const char *first;

	if (pol_cidr_parse(s, &c, err, sizeof(err)) == -1) {
		sl_diag_add(m->diags, SL_DIAG_ERROR, &m->loc, NULL, "%s: %s",
		    path, err);
		m->bad++;
		return;
	}
	snprintf(text, sizeof(text), "%s/%u", sl_ip_fmt(&c.net, a, sizeof(a)),
	    c.plen);
	if ((first = pol_map_get(&m->seen, text)) != NULL) {
		sl_diag_add(m->diags, SL_DIAG_WARNING, &m->loc, NULL, "%s: "
		    "duplicate '%s' (first at %s)", path, text, first);
		return;
	}
	{
		const char *k = pa_strdup(&m->a, text);
		char *p = pa_strdup(&m->a, path);

		if (k == NULL || p == NULL || pol_map_put(&m->seen, k, p) == -1) {
			m->oom = 1;
			return;
		}
	}
	imp_add(m, "%s\n", text);
	m->count++;
}

/* One element of an array: a CIDR string or an object with a field. */
static void
imp_elem(struct imp *m, json_t *v, const char *path)
{
	char sub[512];

	if (json_is_string(v)) {
		imp_cidr(m, json_string_value(v), path);
		return;
	}
	if (json_is_object(v)) {
		for (size_t i = 0; i < SL_NELEM(prefix_fields); i++) {
			json_t *f = json_object_get(v, prefix_fields[i]);

			if (f == NULL)
				continue;
			snprintf(sub, sizeof(sub), "%.480s.%s", path,
			    prefix_fields[i]);
			if (json_is_string(f))
				imp_cidr(m, json_string_value(f), sub);
			else {
				sl_diag_add(m->diags, SL_DIAG_ERROR, &m->loc,
				    NULL, "%s: expected a string", sub);
				m->bad++;
			}
			return;
		}
	}
	sl_diag_add(m->diags, SL_DIAG_ERROR, &m->loc, NULL, "%s: expected a "
	    "CIDR string or an object with a prefix field (prefix, ip_prefix, "
	    "ipv6_prefix, ipv4Prefix, ipv6Prefix, cidr, ip, subnet)", path);
	m->bad++;
}

/* Arrays anywhere in v (objects walked up to IMPORT_DEPTH); returns how
 * many arrays were found. */
static size_t
imp_walk(struct imp *m, json_t *v, const char *path, unsigned depth)
{
	char sub[512];
	size_t found = 0;

	if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v); i++) {
			snprintf(sub, sizeof(sub), "%.480s[%zu]", path, i);
			imp_elem(m, json_array_get(v, i), sub);
		}
		return 1;
	}
	if (!json_is_object(v) || depth >= IMPORT_DEPTH)
		return 0;
	{
		/* Keys in document order (jansson keeps insertion order). */
		const char *key;
		json_t *val;

		json_object_foreach(v, key, val) {
			if (!json_is_array(val) && !json_is_object(val))
				continue;
			snprintf(sub, sizeof(sub), "%.400s.%.100s", path, key);
			found += imp_walk(m, val, sub, depth + 1);
		}
	}
	return found;
}

char *
sl_import_json(const char *json, size_t len, const char *source,
    const char *date, size_t *count, struct sl_diags *diags)
{
	struct imp m;
	json_error_t je;
	json_t *root;
	char *body;

	*count = 0;
	memset(&m, 0, sizeof(m));
	m.diags = diags;
	m.loc.file = source;
	m.seen.a = &m.a;
	root = json_loadb(json, len, 0, &je);
	if (root == NULL) {
		struct sl_loc loc = { source, (unsigned)(je.line > 0 ?
		    je.line : 0), (unsigned)(je.column > 0 ? je.column : 0) };

		sl_diag_add(diags, SL_DIAG_ERROR, &loc, NULL, "invalid JSON: %s",
		    je.text);
		return NULL;
	}
	if (imp_walk(&m, root, "$", 0) == 0) {
		sl_diag_add(diags, SL_DIAG_ERROR, &m.loc, NULL, "no array of "
		    "CIDRs found (expected an array, or an object with arrays "
		    "such as \"prefixes\")");
		json_decref(root);
		pa_free(&m.a);
		sl_free(m.out);
		return NULL;
	}
	json_decref(root);
	body = m.out;
	m.out = NULL;
	m.len = m.cap = 0;
	imp_add(&m, "# Imported by `sluicectl import json` from %s on %s.\n"
	    "# %zu CIDRs; %zu invalid entries skipped (reported at import).\n"
	    "# One CIDR per line; re-import to refresh, do not edit.\n",
	    source, date, m.count, m.bad);
	imp_add(&m, "%s", body ? body : "");
	sl_free(body);
	pa_free(&m.a);
	if (m.oom) {
		sl_free(m.out);
		return NULL;
	}
	*count = m.count;
	return m.out;
}
