/*
 * parse.c — the statements of the configuration language.
 *
 * Every problem becomes a diagnostic and parsing goes on with the next
 * statement, so one run reports all errors.  Values are normalised here
 * (domains lowercased, mangled wildcards rewritten, CIDRs checked for
 * host bits) so everything after the parser sees one canonical form.
 */
#include <ctype.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/urlpath.h"
#include "parse.h"
#include "settings.h"

struct cur {
	struct parser	*p;
	const struct lex_stmt *st;
	size_t		 i;
};

static struct sl_loc
tloc(const struct parser *p, const struct lex_token *t)
{
	struct sl_loc l = { p->fr->path, t->line, t->col };

	return l;
}

/* Just past the last token: where a missing word was expected. */
static struct sl_loc
eloc(const struct parser *p, const struct lex_stmt *st)
{
	const struct lex_token *t = &st->t[st->n - 1];
	struct sl_loc l = { p->fr->path, t->line, t->col + t->rawlen };

	return l;
}

static const struct lex_token *
cur_peek(const struct cur *c)
{
	return c->i < c->st->n ? &c->st->t[c->i] : NULL;
}

static const struct lex_token *
cur_take(struct cur *c)
{
	return c->i < c->st->n ? &c->st->t[c->i++] : NULL;
}

static struct sl_loc
cur_loc(const struct cur *c)
{
	const struct lex_token *t = cur_peek(c);

	return t != NULL ? tloc(c->p, t) : eloc(c->p, c->st);
}

static int
is_word(const struct lex_token *t, const char *w)
{
	return t != NULL && t->kind == LT_WORD && strcmp(t->s, w) == 0;
}

static int
name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > POL_NAME_MAX || !isalnum((unsigned char)s[0]))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && strchr("._:-", s[i]) == NULL)
			return 0;
	return 1;
}

int
vals_push(struct pol_arena *a, struct pol_vals *vv, const union pol_val *v,
    const struct sl_loc *loc)
{
	if (vv->n == vv->cap) {
		size_t ncap = vv->cap ? vv->cap * 2 : 2;
		union pol_val *nv = pa_alloc(a, ncap * sizeof(*nv));
		struct sl_loc *nl = pa_alloc(a, ncap * sizeof(*nl));

		if (nv == NULL || nl == NULL)
			return -1;
		if (vv->n) {
			memcpy(nv, vv->v, vv->n * sizeof(*nv));
			memcpy(nl, vv->loc, vv->n * sizeof(*nl));
		}
		vv->v = nv;
		vv->loc = nl;
		vv->cap = ncap;
	}
	vv->v[vv->n] = *v;
	vv->loc[vv->n] = *loc;
	vv->n++;
	return 0;
}

/* ---------------------------------------------------------------------
 * Values
 */

/* Does a name look like an IPv4 address (every label numeric)? */
static int
name_looks_ip(const char *s)
{
	for (; *s != '\0'; s++)
		if (!isdigit((unsigned char)*s) && *s != '.')
			return 0;
	return 1;
}

/* Warnings about names that are valid but probably not what was meant. */
static void
dom_suspicious(struct parser *p, const struct sl_loc *loc, const char *what,
    const char *orig, const struct pol_dom *d)
{
	if (name_looks_ip(d->name)) {
		pwarn(p, loc, "%s '%s' looks like an IP address: names are "
		    "matched as text, addresses need 'ip %s'", what, orig,
		    d->name);
	} else if (strchr(d->name, '.') == NULL) {
		if (d->wild)
			pwarn(p, loc, "%s '%s' matches a whole top-level "
			    "domain", what, orig);
		else
			pwarn(p, loc, "%s '%s' is a single label (expected a "
			    "fully qualified name such as 'host.example.test')",
			    what, orig);
	}
}

static int
val_domain(struct parser *p, const struct lex_token *t, const char *what,
    struct pol_dom *d)
{
	struct sl_loc loc = tloc(p, t);
	char out[256], err[256];
	int wild, mangled;

	if (pol_domain_parse(t->s, t->len, out, sizeof(out), &wild, &mangled,
	    err, sizeof(err)) == -1)
		return perr(p, &loc, "%s", err);
	if ((d->name = pa_strdup(p->a, out)) == NULL) {
		p->oom = 1;
		return -1;
	}
	d->len = (uint16_t)strlen(out);
	d->wild = (uint8_t)wild;
	if (mangled)
		pwarn(p, &loc, "mangled wildcard '%s' normalised to '*.%s' "
		    "(subdomains at any depth)", t->s, out);
	dom_suspicious(p, &loc, what, t->s, d);
	return 0;
}

/*
 * Store path[0..plen) in the form requests are compared in
 * (lib/urlpath.h), so "/%68ello/./" and "/hello/" are one rule and a
 * pattern means what the origin will serve.
 */
static int
url_path_set(struct parser *p, const struct sl_loc *loc, const char *url,
    const char *path, size_t plen, struct pol_url *u)
{
	char *buf = pa_alloc(p->a, plen + 2);	/* what normalise may need */
	ssize_t n;

	if (buf == NULL) {
		p->oom = 1;
		return -1;
	}
	if ((n = sl_urlpath_normalise(path, plen, buf, plen + 2)) == -1)
		return perr(p, loc, "invalid escape in url '%s' ('%%' must "
		    "start two hex digits; %%00 is not allowed)", url);
	u->path = buf;
	u->pathlen = (size_t)n;
	return 0;
}

static int
val_url(struct parser *p, const struct lex_token *t, struct pol_url *u)
{
	struct sl_loc loc = tloc(p, t);
	const char *s = t->s, *slash, *star;
	struct lex_token host;
	char hbuf[256];
	size_t plen;

	if (strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0) {
		const char *rest = strstr(s, "//") + 2;

		pwarn(p, &loc, "scheme ignored in url '%s' (a url matcher is "
		    "host/path-prefix)", s);
		s = rest;
	}
	slash = strchr(s, '/');
	plen = slash ? (size_t)(slash - s) : strlen(s);
	if (plen == 0 || plen >= sizeof(hbuf))
		return perr(p, &loc, "invalid url '%s' (expected "
		    "HOST/PATH-PREFIX, e.g. www.example.test/path/)", t->s);
	memcpy(hbuf, s, plen);
	hbuf[plen] = '\0';
	if (strchr(hbuf, ':') != NULL)
		return perr(p, &loc, "port in url '%s' is not supported (a url "
		    "matcher is host/path-prefix; use 'port' for ports)", t->s);
	host = *t;
	host.s = hbuf;
	host.len = plen;
	if (val_domain(p, &host, "url host", &u->host) == -1)
		return -1;
	if (slash == NULL)
		slash = "/";
	plen = strlen(slash);
	/* A trailing star ("libs/jquery/" + "*") in the documents means
	 * "this prefix", which a url matcher is anyway. */
	if (plen > 1 && slash[plen - 1] == '*')
		plen--;
	star = memchr(slash, '*', plen);
	if (star != NULL)
		return perr(p, &loc, "'*' is only allowed at the end of a url "
		    "path in '%s' (paths match by prefix)", t->s);
	return url_path_set(p, &loc, t->s, slash, plen, u);
}

/* Parse one value of kind k from token t.  0, or -1 after a diagnostic. */
static int
parse_value(struct parser *p, enum pol_key k, const struct lex_token *t,
    union pol_val *v)
{
	struct sl_loc loc = tloc(p, t);
	char err[256];

	memset(v, 0, sizeof(*v));
	switch (k) {
	case PK_DOMAIN:
		return val_domain(p, t, "domain", &v->dom);
	case PK_IP:
	case PK_SRC:
		if (pol_cidr_parse(t->s, &v->cidr, err, sizeof(err)) == -1)
			return perr(p, &loc, "%s", err);
		return 0;
	case PK_PORT:
		if (pol_port_parse(t->s, &v->port, err, sizeof(err)) == -1)
			return perr(p, &loc, "%s", err);
		return 0;
	case PK_URL:
		return val_url(p, t, &v->url);
	case PK_USER:
		if (t->len == 0)
			return perr(p, &loc, "empty user name");
		if ((v->str = pa_strdup(p->a, t->s)) == NULL) {
			p->oom = 1;
			return -1;
		}
		return 0;
	case PK_COUNTRY: {
		char cc[3];

		if (t->len != 2 || !isalpha((unsigned char)t->s[0]) ||
		    !isalpha((unsigned char)t->s[1]))
			return perr(p, &loc, "invalid country '%s' (expected a "
			    "two-letter ISO 3166 code such as DE)", t->s);
		cc[0] = (char)toupper((unsigned char)t->s[0]);
		cc[1] = (char)toupper((unsigned char)t->s[1]);
		cc[2] = '\0';
		if ((v->str = pa_strdup(p->a, cc)) == NULL) {
			p->oom = 1;
			return -1;
		}
		return 0;
	}
	case PK_ASN: {
		const char *s = t->s;
		unsigned long long n = 0;

		if (strncasecmp(s, "as", 2) == 0)
			s += 2;
		if (*s == '\0')
			goto bad_asn;
		for (; *s != '\0'; s++) {
			if (!isdigit((unsigned char)*s))
				goto bad_asn;
			n = n * 10 + (unsigned)(*s - '0');
			if (n > UINT32_MAX)
				goto bad_asn;
		}
		if (n == 0)
			goto bad_asn;
		v->asn = (uint32_t)n;
		return 0;
bad_asn:
		return perr(p, &loc, "invalid AS number '%s' (expected e.g. "
		    "64496 or AS64496)", t->s);
	}
	case PK_NKEYS:
		break;
	}
	return -1;
}

/* The list type values of key k may come from; -1 if none. */
static int
key_ltype(enum pol_key k)
{
	switch (k) {
	case PK_DOMAIN:
		return PL_DOMAIN;
	case PK_IP:
	case PK_SRC:
		return PL_IP;
	case PK_PORT:
		return PL_PORT;
	case PK_URL:
		return PL_URL;
	case PK_USER:
		return PL_USER;
	case PK_COUNTRY:
	case PK_ASN:
	case PK_NKEYS:
		break;
	}
	return -1;
}

static enum pol_key
ltype_key(enum pol_ltype t)
{
	static const enum pol_key map[PL_NTYPES] = {
		PK_DOMAIN, PK_IP, PK_PORT, PK_USER, PK_URL,
	};

	return map[t];
}

static int
add_ref(struct parser *p, struct pol_match *m, const struct lex_token *t,
    enum pol_key k)
{
	struct sl_loc loc = tloc(p, t);
	struct pol_ref *r;

	if (key_ltype(k) == -1)
		return perr(p, &loc, "'%s' cannot take a list (lists hold "
		    "domain, ip, port, user or url values)", pol_key_name(k));
	if (!name_valid(t->s + 1))
		return perr(p, &loc, "invalid list reference '%s' (expected "
		    "@NAME)", t->s);
	if (pa_grow(p->a, &m->refs, &m->capref, m->nrefs, sizeof(*m->refs))
	    == -1) {
		p->oom = 1;
		return -1;
	}
	r = &m->refs[m->nrefs++];
	memset(r, 0, sizeof(*r));
	if ((r->name = pa_strdup(p->a, t->s + 1)) == NULL) {
		p->oom = 1;
		return -1;
	}
	r->loc = loc;
	return 0;
}

/*
 * VALUE [, VALUE]... of kind k, at the cursor.  `after` names what the
 * values follow, for messages.  m != NULL allows @list references.
 * Returns 0, or -1 if a value was bad (the cursor is past the list).
 */
static int
parse_values(struct cur *c, enum pol_key k, const char *after,
    struct pol_vals *vals, struct pol_match *m)
{
	struct parser *p = c->p;
	int rc = 0;

	for (;;) {
		const struct lex_token *t = cur_peek(c);
		struct sl_loc loc = cur_loc(c);
		union pol_val v;

		if (t == NULL || t->kind == LT_COMMA)
			return perr(p, &loc, "expected a value after '%s'",
			    after);
		c->i++;
		if (t->kind == LT_WORD && t->s[0] == '@') {
			if (m == NULL)
				rc = perr(p, &loc, "a list cannot refer to "
				    "another list ('%s')", t->s);
			else if (add_ref(p, m, t, k) == -1)
				rc = -1;
		} else if (parse_value(p, k, t, &v) == -1) {
			rc = -1;
		} else if (vals_push(p->a, vals, &v, &loc) == -1) {
			p->oom = 1;
			return -1;
		}
		if (!(cur_peek(c) != NULL && cur_peek(c)->kind == LT_COMMA))
			return rc;
		c->i++;
		after = ",";
	}
}

/* ---------------------------------------------------------------------
 * rule and default
 */

struct modname {
	const char	*name;
	unsigned	 bit;
};

static const struct modname mod_names[] = {
	{ "noauth", RM_NOAUTH },
	{ "log", RM_LOG },
	{ "sni-check", RM_SNI_CHECK },
	{ "no-sni-check", RM_NO_SNI_CHECK },
	{ "deny-opaque", RM_DENY_OPAQUE },
	{ "deny-ech", RM_DENY_ECH },
	{ "stun-only", RM_STUN_ONLY },
	{ "disabled", RM_DISABLED },
};

static unsigned
mod_find(const char *s)
{
	for (size_t i = 0; i < SL_NELEM(mod_names); i++)
		if (strcmp(mod_names[i].name, s) == 0)
			return mod_names[i].bit;
	return 0;
}

static int
key_find(const char *s)
{
	for (unsigned k = 0; k < PK_NKEYS; k++)
		if (strcmp(pol_key_name((enum pol_key)k), s) == 0)
			return (int)k;
	return -1;
}

static const char *
rule_suggest(const char *w)
{
	static const char *const words[] = {
		"noauth", "log", "sni-check", "no-sni-check", "deny-opaque",
		"deny-ech", "stun-only", "disabled", "domain", "ip", "port", "url", "src",
		"user", "country", "asn", "level", "cite",
	};

	return pol_closest(w, words, SL_NELEM(words));
}

static int
add_mod(struct parser *p, const struct lex_token *t, unsigned *mods,
    unsigned bit, int on_default)
{
	struct sl_loc loc = tloc(p, t);

	if (on_default && (bit & (RM_DISABLED | RM_SNI_CHECK |
	    RM_NO_SNI_CHECK)))
		return perr(p, &loc, "modifier '%s' is not allowed on "
		    "default", t->s);
	if (*mods & bit)
		pwarn(p, &loc, "modifier '%s' given twice", t->s);
	if (((bit | *mods) & (RM_SNI_CHECK | RM_NO_SNI_CHECK)) ==
	    (RM_SNI_CHECK | RM_NO_SNI_CHECK))
		return perr(p, &loc, "'sni-check' and 'no-sni-check' "
		    "contradict each other");
	*mods |= bit;
	return 0;
}

static int
rule_level(struct cur *c, struct sl_rule *r)
{
	const struct lex_token *t = cur_take(c), *v;
	struct sl_loc loc = tloc(c->p, t);

	if (r->level != PLV_NONE)
		return perr(c->p, &loc, "'level' given twice in rule '%s'",
		    r->name);
	v = cur_take(c);
	if (is_word(v, "must"))
		r->level = PLV_MUST;
	else if (is_word(v, "should"))
		r->level = PLV_SHOULD;
	else if (v != NULL) {
		loc = tloc(c->p, v);
		return perr(c->p, &loc, "unknown level '%s' (expected must or "
		    "should)", v->s);
	} else {
		loc = eloc(c->p, c->st);
		return perr(c->p, &loc, "expected must or should after "
		    "'level'");
	}
	return 0;
}

static int
rule_cite(struct cur *c, struct sl_rule *r)
{
	const struct lex_token *t = cur_take(c), *v;
	struct sl_loc loc = tloc(c->p, t);

	if (r->cite != NULL)
		return perr(c->p, &loc, "'cite' given twice in rule '%s'",
		    r->name);
	v = cur_take(c);
	if (v == NULL || v->kind == LT_COMMA) {
		loc = v ? tloc(c->p, v) : eloc(c->p, c->st);
		return perr(c->p, &loc, "expected a quoted text after 'cite'");
	}
	if ((r->cite = pa_strdup(c->p->a, v->s)) == NULL) {
		c->p->oom = 1;
		return -1;
	}
	return 0;
}

/* Modifiers, matchers, level and cite, in any order. */
static int
rule_items(struct cur *c, struct sl_rule *r)
{
	struct parser *p = c->p;
	const struct lex_token *t;
	int rc = 0, after_vals = 0;

	while ((t = cur_peek(c)) != NULL) {
		struct sl_loc loc = tloc(p, t);
		unsigned bit;
		int k;

		if (t->kind != LT_WORD) {
			return perr(p, &loc, "unexpected %s in rule '%s'",
			    t->kind == LT_COMMA ? "','" : "quoted text",
			    r->name);
		}
		if ((bit = mod_find(t->s)) != 0) {
			c->i++;
			if (add_mod(p, t, &r->rmods, bit, 0) == -1)
				rc = -1;
			after_vals = 0;
		} else if ((k = key_find(t->s)) >= 0) {
			struct pol_match *m = r->m[k];

			c->i++;
			if (m == NULL) {
				if ((m = pa_alloc(p->a, sizeof(*m))) == NULL) {
					p->oom = 1;
					return -1;
				}
				r->m[k] = m;
				m->loc = loc;
			}
			r->keys |= 1u << k;
			if (parse_values(c, (enum pol_key)k, t->s, &m->vals, m)
			    == -1)
				rc = -1;
			after_vals = 1;
		} else if (strcmp(t->s, "level") == 0) {
			if (rule_level(c, r) == -1)
				return -1;
			after_vals = 0;
		} else if (strcmp(t->s, "cite") == 0) {
			if (rule_cite(c, r) == -1)
				return -1;
			after_vals = 0;
		} else {
			const char *s = rule_suggest(t->s);

			if (s != NULL)
				return perr(p, &loc, "unknown keyword '%s' in "
				    "rule '%s' (did you mean '%s'?)", t->s,
				    r->name, s);
			if (after_vals)
				return perr(p, &loc, "unexpected '%s' in rule "
				    "'%s' (expected ',' between values, or a "
				    "modifier, matcher, level or cite)", t->s,
				    r->name);
			return perr(p, &loc, "unknown keyword '%s' in rule "
			    "'%s' (expected a modifier, matcher, level or "
			    "cite)", t->s, r->name);
		}
	}
	return rc;
}

static int
parse_action(struct parser *p, const struct lex_stmt *st, size_t i,
    const char *after, enum sl_action *a)
{
	static const char *const acts[] = { "splice", "inspect", "deny" };
	const struct lex_token *t = i < st->n ? &st->t[i] : NULL;
	struct sl_loc loc;
	const char *s;

	if (t == NULL) {
		loc = eloc(p, st);
		return perr(p, &loc, "missing action after %s (expected "
		    "splice, inspect, deny)", after);
	}
	loc = tloc(p, t);
	if (t->kind == LT_WORD && pol_action_parse(t->s, a) == 0)
		return 0;
	if ((s = pol_closest(t->s, acts, SL_NELEM(acts))) != NULL)
		return perr(p, &loc, "unknown action '%s' (did you mean "
		    "'%s'?)", t->s, s);
	return perr(p, &loc, "unknown action '%s' (expected splice, inspect, "
	    "deny)", t->s);
}

static void
st_rule(struct parser *p, const struct lex_stmt *st)
{
	struct cur c = { p, st, 1 };
	const struct lex_token *t = cur_take(&c);
	struct sl_rule *r, *dup;
	struct sl_loc loc;
	int bad = 0;

	if (t == NULL || t->kind != LT_WORD) {
		loc = t ? tloc(p, t) : eloc(p, st);
		perr(p, &loc, "expected a rule name after 'rule'");
		return;
	}
	loc = tloc(p, t);
	if (!name_valid(t->s)) {
		perr(p, &loc, "invalid rule name '%s' (expected letters, "
		    "digits, '.', '_', ':', '-', starting with a letter or "
		    "digit)", t->s);
		return;
	}
	if ((r = pa_alloc(p->a, sizeof(*r))) == NULL ||
	    (r->name = pa_strdup(p->a, t->s)) == NULL) {
		p->oom = 1;
		return;
	}
	r->loc = tloc(p, &st->t[0]);
	r->last_line = st->last_line;
	r->seq = p->seq;
	if (parse_action(p, st, 2, "the rule name", &r->action) == -1)
		return;
	c.i = 3;
	if (rule_items(&c, r) == -1)
		bad = 1;
	if (p->fr->must_only && r->level == PLV_SHOULD)
		return;		/* `include ... level must` drops it */
	if ((dup = pol_map_get(&p->pol->byname, r->name)) != NULL) {
		perr(p, &loc, "duplicate rule name '%s' (first defined at "
		    "%s:%u)", r->name, dup->loc.file, dup->loc.line);
		return;
	}
	(void)bad;	/* reported; the rule still reserves its name */
	if (pa_grow(p->a, &p->pol->rules, &p->caprules, p->pol->nrules,
	    sizeof(*p->pol->rules)) == -1 ||
	    pol_map_put(&p->pol->byname, r->name, r) == -1) {
		p->oom = 1;
		return;
	}
	r->index = (uint32_t)p->pol->nrules;
	p->pol->rules[p->pol->nrules++] = r;
}

static void
st_default(struct parser *p, const struct lex_stmt *st)
{
	struct pol_default *d = &p->pol->def;
	struct sl_loc loc = tloc(p, &st->t[0]);
	enum sl_action a;
	unsigned mods = 0;

	if (d->present) {
		perr(p, &loc, "duplicate default (first at %s:%u)",
		    d->loc.file, d->loc.line);
		return;
	}
	if (parse_action(p, st, 1, "'default'", &a) == -1)
		return;
	for (size_t i = 2; i < st->n; i++) {
		const struct lex_token *t = &st->t[i];
		unsigned bit = t->kind == LT_WORD ? mod_find(t->s) : 0;

		loc = tloc(p, t);
		if (bit == 0) {
			perr(p, &loc, "unexpected '%s' after default (expected "
			    "modifiers: noauth, log, deny-opaque, deny-ech)",
			    t->s);
			return;
		}
		if (add_mod(p, t, &mods, bit, 1) == -1)
			return;
	}
	d->present = 1;
	d->action = a;
	d->mods = mods & (SL_MOD_NOAUTH | SL_MOD_LOG | SL_MOD_DENY_OPAQUE |
	    SL_MOD_DENY_ECH | SL_MOD_STUN_ONLY);
	d->loc = tloc(p, &st->t[0]);
	d->seq = p->seq;
}

/* ---------------------------------------------------------------------
 * list
 */

static const char *const ltype_words[PL_NTYPES] = {
	"domain", "ip", "port", "user", "url",
};

static void
st_list(struct parser *p, const struct lex_stmt *st)
{
	struct cur c = { p, st, 1 };
	const struct lex_token *t = cur_take(&c), *ty;
	struct pol_list *l;
	struct sl_loc loc;
	int type = -1;

	if (t == NULL || t->kind != LT_WORD || !name_valid(t->s)) {
		loc = t ? tloc(p, t) : eloc(p, st);
		perr(p, &loc, "expected a list name after 'list' (letters, "
		    "digits, '.', '_', ':', '-')");
		return;
	}
	ty = cur_take(&c);
	for (int i = 0; ty != NULL && ty->kind == LT_WORD && i < PL_NTYPES;
	    i++)
		if (strcmp(ty->s, ltype_words[i]) == 0)
			type = i;
	if (type == -1) {
		loc = ty ? tloc(p, ty) : eloc(p, st);
		perr(p, &loc, "%s list type%s%s%s (expected domain, ip, port, "
		    "user, url)", ty ? "unknown" : "expected a",
		    ty ? " '" : "", ty ? ty->s : "", ty ? "'" : "");
		return;
	}
	loc = tloc(p, t);
	if ((l = pol_map_get(&p->pol->lists_byname, t->s)) != NULL) {
		if (l->type != (enum pol_ltype)type) {
			perr(p, &loc, "list '%s' holds %s values (defined at "
			    "%s:%u), not %s", t->s, pol_ltype_name(l->type),
			    l->loc.file, l->loc.line, ty->s);
			return;
		}
	} else {
		if ((l = pa_alloc(p->a, sizeof(*l))) == NULL ||
		    (l->name = pa_strdup(p->a, t->s)) == NULL ||
		    pa_grow(p->a, &p->pol->lists, &p->caplists,
		    p->pol->nlists, sizeof(*p->pol->lists)) == -1 ||
		    pol_map_put(&p->pol->lists_byname, l->name, l) == -1) {
			p->oom = 1;
			return;
		}
		l->type = (enum pol_ltype)type;
		l->loc = loc;
		l->seq = p->seq;
		l->filtered = p->fr->must_only;
		p->pol->lists[p->pol->nlists++] = l;
	}
	if (is_word(cur_peek(&c), "file") && c.i + 2 == st->n &&
	    st->t[c.i + 1].kind != LT_COMMA) {
		const struct lex_token *f = &st->t[c.i + 1];
		struct sl_loc floc = tloc(p, f);
		char *path = load_relpath(p, f->s);

		if (path == NULL) {
			p->oom = 1;
			return;
		}
		(void)load_buf(p, path, NULL, 0, &floc, 0, 1, l);
		return;
	}
	(void)parse_values(&c, ltype_key(l->type), ty->s, &l->vals, NULL);
	if (c.i < st->n) {
		loc = tloc(p, &st->t[c.i]);
		perr(p, &loc, "unexpected '%s' after the list values "
		    "(expected ',' between values)", st->t[c.i].s);
	}
}

void
parse_list_stmt(struct parser *p, struct pol_list *l,
    const struct lex_stmt *st)
{
	struct cur c = { p, st, 0 };

	/* load_buf passes the list whenever it reads a list file (cppcheck's
	 * cross-function check cannot pair the two arguments). */
	// cppcheck-suppress ctunullpointer
	if (parse_values(&c, ltype_key(l->type), "the line start", &l->vals,
	    NULL) == -1)
		return;
	if (c.i < st->n) {
		struct sl_loc loc = tloc(p, &st->t[c.i]);

		perr(p, &loc, "unexpected '%s' (expected one value per line)",
		    st->t[c.i].s);
	}
}

/* ---------------------------------------------------------------------
 * include
 */

static void
st_include(struct parser *p, const struct lex_stmt *st)
{
	const struct lex_token *t = st->n > 1 ? &st->t[1] : NULL;
	struct sl_loc loc;
	int must_only = p->fr->must_only;
	char *path;

	if (t == NULL || t->kind == LT_COMMA) {
		loc = t ? tloc(p, t) : eloc(p, st);
		perr(p, &loc, "expected a file name or pattern after "
		    "'include'");
		return;
	}
	if (st->n > 2) {
		loc = tloc(p, &st->t[2]);
		if (!is_word(&st->t[2], "level")) {
			perr(p, &loc, "unexpected '%s' after the include path "
			    "(expected 'level must' or 'level should')",
			    st->t[2].s);
			return;
		}
		if (st->n < 4) {
			loc = eloc(p, st);
			perr(p, &loc, "expected must or should after 'level'");
			return;
		}
		if (!is_word(&st->t[3], "must") &&
		    !is_word(&st->t[3], "should")) {
			loc = tloc(p, &st->t[3]);
			perr(p, &loc, "unknown level '%s' (expected must or "
			    "should)", st->t[3].s);
			return;
		}
		if (st->n > 4) {
			loc = tloc(p, &st->t[4]);
			perr(p, &loc, "unexpected '%s' at the end of include",
			    st->t[4].s);
			return;
		}
		if (strcmp(st->t[3].s, "must") == 0)
			must_only = 1;
	}
	loc = tloc(p, &st->t[0]);
	if ((path = load_relpath(p, t->s)) == NULL) {
		p->oom = 1;
		return;
	}
	(void)load_file(p, path, &loc, must_only);
}

/* ---------------------------------------------------------------------
 * set, listen, resolver, log
 */

/* Join VALUE[,VALUE...] tokens from i into one string "a,b". */
static char *
join_values(struct parser *p, const struct lex_stmt *st, size_t i,
    const char *what)
{
	size_t len = 0, off = 0;
	char *s;

	for (size_t j = i; j < st->n; j++)
		len += st->t[j].len;
	if ((s = pa_alloc(p->a, len + 1)) == NULL) {
		p->oom = 1;
		return NULL;
	}
	for (size_t j = i; j < st->n; j++) {
		const struct lex_token *t = &st->t[j];
		int want_comma = (j - i) % 2 == 1;
		struct sl_loc loc = tloc(p, t);

		if (want_comma != (t->kind == LT_COMMA)) {
			perr(p, &loc, want_comma ? "expected ',' between "
			    "values of '%s'" : "expected a value after ',' "
			    "in '%s'", what);
			return NULL;
		}
		memcpy(s + off, t->s, t->len);
		off += t->len;
	}
	if (st->t[st->n - 1].kind == LT_COMMA) {
		struct sl_loc loc = eloc(p, st);

		perr(p, &loc, "expected a value after ',' in '%s'", what);
		return NULL;
	}
	s[off] = '\0';
	return s;
}

static void
st_set(struct parser *p, const struct lex_stmt *st)
{
	const struct lex_token *t = st->n > 1 ? &st->t[1] : NULL;
	struct sl_loc loc;
	char err[256];
	char *val;
	int i;

	if (t == NULL || t->kind != LT_WORD) {
		loc = t ? tloc(p, t) : eloc(p, st);
		perr(p, &loc, "expected a setting name after 'set'");
		return;
	}
	loc = tloc(p, t);
	if ((i = pol_setting_find(t->s)) == -1) {
		const char *s = pol_setting_suggest(t->s);

		if (s != NULL)
			perr(p, &loc, "unknown setting '%s' (did you mean "
			    "'%s'?)", t->s, s);
		else
			perr(p, &loc, "unknown setting '%s'", t->s);
		return;
	}
	if (st->n < 3) {
		loc = eloc(p, st);
		perr(p, &loc, "expected a value for '%s'", t->s);
		return;
	}
	if ((val = join_values(p, st, 2, t->s)) == NULL)
		return;
	loc = tloc(p, &st->t[2]);
	if (p->setloc[i].file != NULL)
		pwarn(p, &loc, "'%s' set again (previously at %s:%u)", t->s,
		    p->setloc[i].file, p->setloc[i].line);
	if (pol_setting_apply(p->a, p->set, (size_t)i, val, err, sizeof(err))
	    == -1) {
		perr(p, &loc, "%s", err);
		return;
	}
	p->setloc[i] = loc;
	p->setseq[i] = p->seq;
}

static const char *const allow_default[] = {
	"127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12",
	"192.168.0.0/16", "100.64.0.0/10", "fc00::/7", "fe80::/10",
};

static int
listen_defaults(struct parser *p, struct pend_listen *pl)
{
	for (size_t i = 0; i < SL_NELEM(allow_default); i++) {
		union pol_val v;
		char err[128];

		memset(&v, 0, sizeof(v));
		if (pol_cidr_parse(allow_default[i], &v.cidr, err,
		    sizeof(err)) == -1 ||
		    vals_push(p->a, &pl->allow.vals, &v, &pl->l.loc) == -1)
			return -1;
	}
	return 0;
}

static void
st_listen(struct parser *p, const struct lex_stmt *st)
{
	static const char *const kinds[] = { "explicit", "transparent",
		"tproxy" };
	struct pend_listen *pl;
	const struct lex_token *t;
	struct sl_loc loc;
	int kind = -1;

	t = st->n > 1 ? &st->t[1] : NULL;
	for (int i = 0; t != NULL && i < 3; i++)
		if (t->kind == LT_WORD && strcmp(t->s, kinds[i]) == 0)
			kind = i;
	if (kind == -1) {
		loc = t ? tloc(p, t) : eloc(p, st);
		perr(p, &loc, "%s listener kind%s%s%s (expected explicit, "
		    "transparent, tproxy)", t ? "unknown" : "expected a",
		    t ? " '" : "", t ? t->s : "", t ? "'" : "");
		return;
	}
	if (pa_grow(p->a, &p->ls, &p->capls, p->nls, sizeof(*p->ls)) == -1) {
		p->oom = 1;
		return;
	}
	pl = &p->ls[p->nls];
	memset(pl, 0, sizeof(*pl));
	pl->l.kind = (enum sl_listen_kind)kind;
	pl->l.loc = tloc(p, &st->t[0]);
	pl->seq = p->seq;
	t = st->n > 2 ? &st->t[2] : NULL;
	if (t == NULL || t->kind == LT_COMMA ||
	    sl_endpoint_parse(t->s, &pl->l.addr, &pl->l.addrlen) == -1) {
		loc = t ? tloc(p, t) : eloc(p, st);
		perr(p, &loc, "%s listen address%s%s%s (expected ADDR:PORT, "
		    "e.g. 127.0.0.1:3128, [::1]:3128, *:3128)",
		    t ? "invalid" : "expected a", t ? " '" : "", t ? t->s : "",
		    t ? "'" : "");
		return;
	}
	for (size_t i = 0; i < p->nls; i++) {
		if (p->ls[i].l.addrlen == pl->l.addrlen &&
		    memcmp(&p->ls[i].l.addr, &pl->l.addr, pl->l.addrlen) == 0) {
			loc = tloc(p, t);
			perr(p, &loc, "duplicate listen address '%s' (first at "
			    "%s:%u)", t->s, p->ls[i].l.loc.file,
			    p->ls[i].l.loc.line);
			return;
		}
	}
	if (st->n > 3) {
		struct cur c = { p, st, 3 };

		if (!is_word(&st->t[3], "allow-from")) {
			loc = tloc(p, &st->t[3]);
			perr(p, &loc, "unexpected '%s' in listen (expected "
			    "allow-from)", st->t[3].s);
			return;
		}
		c.i = 4;
		pl->has_allow = 1;
		if (parse_values(&c, PK_SRC, "allow-from", &pl->allow.vals,
		    &pl->allow) == -1)
			return;
		if (c.i < st->n) {
			loc = tloc(p, &st->t[c.i]);
			perr(p, &loc, "unexpected '%s' in listen (expected ',' "
			    "between values)", st->t[c.i].s);
			return;
		}
	} else if (listen_defaults(p, pl) == -1) {
		p->oom = 1;
		return;
	}
	p->nls++;
}

/* "1.2.3.4", "1.2.3.4:53", "[2001:db8::1]:53", "2001:db8::1". */
static int
resolver_parse(const char *s, struct sl_resolver *r)
{
	char buf[SL_ADDR_STRLEN + 8];
	const char *colon = strchr(s, ':');
	size_t n = strlen(s);

	if (n > SL_ADDR_STRLEN)
		return -1;
	if (s[0] == '[') {
		if (strchr(s, ']') != NULL && strchr(s, ']')[1] == '\0')
			snprintf(buf, sizeof(buf), "%s:53", s);
		else
			snprintf(buf, sizeof(buf), "%s", s);
	} else if (colon != NULL && strchr(colon + 1, ':') != NULL) {
		snprintf(buf, sizeof(buf), "[%.*s]:53", (int)n, s);
	} else if (colon == NULL) {
		snprintf(buf, sizeof(buf), "%s:53", s);
	} else {
		snprintf(buf, sizeof(buf), "%s", s);
	}
	if (strncmp(buf, "*:", 2) == 0)
		return -1;
	return sl_endpoint_parse(buf, &r->addr, &r->addrlen);
}

static void
st_resolver(struct parser *p, const struct lex_stmt *st)
{
	for (size_t i = 1; i < st->n; i++) {
		const struct lex_token *t = &st->t[i];
		struct sl_loc loc = tloc(p, t);
		int want_comma = (i - 1) % 2 == 1;

		if (want_comma != (t->kind == LT_COMMA)) {
			perr(p, &loc, want_comma ? "expected ',' between "
			    "resolvers" : "expected a resolver address");
			return;
		}
		if (want_comma)
			continue;
		if (pa_grow(p->a, &p->rs, &p->caprs, p->nrs, sizeof(*p->rs))
		    == -1) {
			p->oom = 1;
			return;
		}
		if (resolver_parse(t->s, &p->rs[p->nrs]) == -1) {
			perr(p, &loc, "invalid resolver '%s' (expected ADDR or "
			    "ADDR:PORT, e.g. 192.0.2.53, [2001:db8::53]:53)",
			    t->s);
			return;
		}
		p->nrs++;
	}
	if (st->n < 2 || st->t[st->n - 1].kind == LT_COMMA) {
		struct sl_loc loc = eloc(p, st);

		perr(p, &loc, "expected a resolver address");
	}
}

static void
st_log(struct parser *p, const struct lex_stmt *st)
{
	struct pend_sink *ps;
	struct sl_loc loc;

	if (st->n < 2 || !is_word(&st->t[1], "json")) {
		loc = st->n < 2 ? eloc(p, st) : tloc(p, &st->t[1]);
		perr(p, &loc, "%s log format%s%s%s (expected json)",
		    st->n < 2 ? "expected a" : "unknown",
		    st->n < 2 ? "" : " '", st->n < 2 ? "" : st->t[1].s,
		    st->n < 2 ? "" : "'");
		return;
	}
	if (st->n < 3 || st->t[2].kind == LT_COMMA || st->t[2].len == 0) {
		loc = st->n < 3 ? eloc(p, st) : tloc(p, &st->t[2]);
		perr(p, &loc, "expected a path, stdout or stderr after "
		    "'log json'");
		return;
	}
	if (st->n > 3) {
		loc = tloc(p, &st->t[3]);
		perr(p, &loc, "unexpected '%s' after the log target",
		    st->t[3].s);
		return;
	}
	if (pa_grow(p->a, &p->sinks, &p->capsinks, p->nsinks,
	    sizeof(*p->sinks)) == -1) {
		p->oom = 1;
		return;
	}
	ps = &p->sinks[p->nsinks];
	memset(ps, 0, sizeof(*ps));
	ps->s.kind = SL_SINK_JSON;
	if ((ps->s.path = pa_strdup(p->a, st->t[2].s)) == NULL) {
		p->oom = 1;
		return;
	}
	ps->loc = tloc(p, &st->t[2]);
	ps->seq = p->seq;
	p->nsinks++;
}

/* ---------------------------------------------------------------------
 * Dispatch
 */

static const struct {
	const char	*kw;
	void		(*fn)(struct parser *, const struct lex_stmt *);
} stmts[] = {
	{ "include", st_include },
	{ "set", st_set },
	{ "listen", st_listen },
	{ "resolver", st_resolver },
	{ "log", st_log },
	{ "list", st_list },
	{ "rule", st_rule },
	{ "default", st_default },
};

void
parse_stmt(struct parser *p, const struct lex_stmt *st)
{
	static const char *const kws[] = { "include", "set", "listen",
		"resolver", "log", "list", "rule", "default" };
	const struct lex_token *t = &st->t[0];
	struct sl_loc loc = tloc(p, t);
	const char *s;

	if (t->kind == LT_WORD) {
		for (size_t i = 0; i < SL_NELEM(stmts); i++) {
			if (strcmp(t->s, stmts[i].kw) == 0) {
				stmts[i].fn(p, st);
				return;
			}
		}
	}
	if (t->kind == LT_WORD &&
	    (s = pol_closest(t->s, kws, SL_NELEM(kws))) != NULL)
		perr(p, &loc, "unknown statement '%s' (did you mean '%s'?)",
		    t->s, s);
	else
		perr(p, &loc, "unknown statement '%s' (expected include, set, "
		    "listen, resolver, log, list, rule, default)", t->s);
}
