/*
 * profile.c — turn a vendor requirement document into a profile: one
 * rule per whitelist entry, with the entry's level (must/should) and a
 * citation of the document line it comes from.
 *
 * What the generator reads (see policy/requirements/README.md):
 *  - whitelist tables: a heading line with **must** or **should**, a
 *    header "IP<TAB>Description" or "Domain<TAB>Description", then rows
 *    "VALUE<TAB>DESCRIPTION" up to a blank line;
 *  - ports in prose ("TCP ports 80/443", "TCP/UDP port 3478") and in a
 *    vertical "Port Number" table (one number per line);
 *  - whitelist sentences in prose ("any request to the vistime.com domain
 *    should be white listed");
 *  - addresses in bullet lists outside the tables, which it reports as not
 *    used, with the reason the surrounding text gives.
 * Domains and IPs become `splice noauth` on the document's ports; path
 * entries become `inspect noauth url`; an IP list published as a JSON URL
 * becomes a rule on a named list loaded from a file the importer fills.
 * The output depends only on the document: regenerating is reproducible.
 */
#include <ctype.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/alloc.h"
#include "../lib/sbuf.h"
#include "policy_int.h"

enum ent_kind {
	E_IP = 0,
	E_DOMAIN,
	E_URL,
	E_LIST,			/* an external IP list (JSON URL) */
};

struct ent {
	enum ent_kind	 kind;
	enum pol_level	 level;
	unsigned	 line;
	char		 value[300];	/* normalised */
	char		 desc[200];
	unsigned	 also[8];	/* lines of duplicates */
	unsigned	 nalso;
};

struct gen {
	const char	*vendor;
	const char	*doc;
	struct ent	*e;
	size_t		 n, cap;
	unsigned char	 tcp[65536 / 8], udp[65536 / 8];
	struct sl_sbuf	 understood, normalised, dups, unused;
	int		 oom;
};

static void
port_set(unsigned char *bits, unsigned p)
{
	bits[p / 8] |= (unsigned char)(1u << (p % 8));
}

static int
port_has(const unsigned char *bits, unsigned p)
{
	return (bits[p / 8] >> (p % 8)) & 1;
}

/* "80,443,12000-12002" for the ports set in bits. */
static void
ports_fmt(const unsigned char *bits, const char *prefix, struct sl_sbuf *b,
    int *first)
{
	for (unsigned p = 1; p < 65536; p++) {
		unsigned q = p;

		if (!port_has(bits, p))
			continue;
		while (q + 1 < 65536 && port_has(bits, q + 1))
			q++;
		if (q == p)
			sl_sbuf_printf(b, "%s%s%u", *first ? "" : ",", prefix, p);
		else
			sl_sbuf_printf(b, "%s%s%u-%u", *first ? "" : ",", prefix, p,
			    q);
		*first = 0;
		p = q;
	}
}

static struct ent *
gen_add(struct gen *g, enum ent_kind kind, enum pol_level level,
    unsigned line, const char *value, const char *desc)
{
	struct ent *e;

	/* The same entry twice (after normalising): keep the first. */
	for (size_t i = 0; i < g->n; i++) {
		e = &g->e[i];
		if (e->kind != kind || strcmp(e->value, value) != 0)
			continue;
		if (e->nalso < SL_NELEM(e->also))
			e->also[e->nalso++] = line;
		sl_sbuf_printf(&g->dups, "  line %u: '%s' repeats line %u: kept "
		    "once%s\n", line, value, e->line, level != e->level ?
		    " (at the first entry's level)" : "");
		return NULL;
	}
	if (g->n == g->cap) {
		size_t ncap = g->cap ? g->cap * 2 : 32;
		struct ent *ne = sl_realloc(g->e, ncap * sizeof(*ne));

		if (ne == NULL) {
			g->oom = 1;
			return NULL;
		}
		g->e = ne;
		g->cap = ncap;
	}
	e = &g->e[g->n++];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->level = level;
	e->line = line;
	snprintf(e->value, sizeof(e->value), "%s", value);
	snprintf(e->desc, sizeof(e->desc), "%s", desc);
	return e;
}

static const char *
level_name(enum pol_level l)
{
	return l == PLV_MUST ? "must" : "should";
}

/* ---------------------------------------------------------------------
 * Reading the document
 */

/* Trim trailing blanks and CR in place; returns the length. */
static size_t
rtrim(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\r' ||
	    s[n - 1] == '\t'))
		s[--n] = '\0';
	return n;
}

static int
is_number(const char *s, unsigned *v)
{
	unsigned long n = 0;

	if (*s == '\0')
		return 0;
	for (const char *p = s; *p; p++) {
		if (!isdigit((unsigned char)*p))
			return 0;
		n = n * 10 + (unsigned)(*p - '0');
		if (n > 65535)
			return 0;
	}
	*v = (unsigned)n;
	return n > 0;
}

/* Words of a line, punctuation around them cut. */
static size_t
words(char *s, char **w, size_t cap)
{
	size_t n = 0;

	for (char *tok = strtok(s, " \t"); tok != NULL && n < cap;
	    tok = strtok(NULL, " \t")) {
		size_t l = strlen(tok);

		while (l > 0 && strchr(",.;:()\"'", tok[l - 1]) != NULL)
			tok[--l] = '\0';
		while (*tok != '\0' && strchr("(\"'", *tok) != NULL)
			tok++;
		if (*tok != '\0')
			w[n++] = tok;
	}
	return n;
}

static int
proto_word(const char *w, int *tcp, int *udp)
{
	*tcp = strcmp(w, "TCP") == 0 || strcmp(w, "TCP/UDP") == 0;
	*udp = strcmp(w, "UDP") == 0 || strcmp(w, "TCP/UDP") == 0;
	return *tcp || *udp;
}

/* "80/443" -> ports; 0 if w is not such a list. */
static int
port_list(struct gen *g, const char *w, int tcp, int udp)
{
	char buf[64], *save = NULL;
	unsigned v, n = 0;

	if (strlen(w) >= sizeof(buf))
		return 0;
	strcpy(buf, w);
	for (char *t = strtok_r(buf, "/", &save); t != NULL;
	    t = strtok_r(NULL, "/", &save)) {
		if (!is_number(t, &v))
			return 0;
		n++;
	}
	strcpy(buf, w);
	save = NULL;
	for (char *t = strtok_r(buf, "/", &save); t != NULL;
	    t = strtok_r(NULL, "/", &save)) {
		is_number(t, &v);
		if (tcp)
			port_set(g->tcp, v);
		if (udp)
			port_set(g->udp, v);
	}
	return n > 0;
}

/* "TCP ports 80/443", "TCP/UDP port 3478", "port TCP/UDP 3478". */
static void
prose_ports(struct gen *g, const char *line, unsigned ln)
{
	char buf[2048], *w[256];
	size_t n;
	int tcp, udp;

	snprintf(buf, sizeof(buf), "%s", line);
	n = words(buf, w, SL_NELEM(w));
	for (size_t i = 0; i + 1 < n; i++) {
		size_t k = i + 1;

		if (proto_word(w[i], &tcp, &udp)) {
			if (strcasecmp(w[k], "port") == 0 ||
			    strcasecmp(w[k], "ports") == 0)
				k++;
		} else if ((strcasecmp(w[i], "port") == 0 ||
		    strcasecmp(w[i], "ports") == 0) &&
		    proto_word(w[k], &tcp, &udp)) {
			k++;
		} else {
			continue;
		}
		if (k < n && port_list(g, w[k], tcp, udp)) {
			sl_sbuf_printf(&g->understood, "  line %u: ports %s %s\n",
			    ln, tcp && udp ? "tcp+udp" : tcp ? "tcp" : "udp",
			    w[k]);
			i = k;	/* "port TCP/UDP 3478" once, not twice */
		}
	}
}

/* A token that names a host: letters, digits, dots, dashes; two labels,
 * an alphabetic TLD; no e-mail address, no URL. */
static int
host_token(const char *w)
{
	const char *dot = strrchr(w, '.');

	if (dot == NULL || strchr(w, '@') != NULL || strchr(w, '/') != NULL ||
	    strlen(dot + 1) < 2)
		return 0;
	for (const char *p = dot + 1; *p; p++)
		if (!isalpha((unsigned char)*p))
			return 0;
	for (const char *p = w; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-')
			return 0;
	return 1;
}

/* "... the vistime.com domain should be white listed ..." */
static void
prose_whitelist(struct gen *g, const char *line, unsigned ln)
{
	char low[2048], buf[2048], clause[200], *w[256];
	enum pol_level lvl;
	size_t n;

	snprintf(low, sizeof(low), "%s", line);
	for (char *p = low; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (strstr(low, "white listed") == NULL &&
	    strstr(low, "whitelisted") == NULL)
		return;
	if (strstr(low, " must ") != NULL)
		lvl = PLV_MUST;
	else if (strstr(low, " should ") != NULL)
		lvl = PLV_SHOULD;
	else
		return;
	/* Cite the clause that says it, up to the first comma. */
	snprintf(clause, sizeof(clause), "%.*s", (int)strcspn(line, ","),
	    line);
	snprintf(buf, sizeof(buf), "%s", line);
	n = words(buf, w, SL_NELEM(w));
	for (size_t i = 0; i < n; i++) {
		char norm[256], err[256], wild[300];
		int iswild, mangled;

		if (!host_token(w[i]) || pol_domain_parse(w[i], strlen(w[i]),
		    norm, sizeof(norm), &iswild, &mangled, err,
		    sizeof(err)) == -1)
			continue;
		/* "the X domain": the domain and everything under it. */
		gen_add(g, E_DOMAIN, lvl, ln, norm, clause);
		snprintf(wild, sizeof(wild), "*.%s", norm);
		gen_add(g, E_DOMAIN, lvl, ln, wild, clause);
		sl_sbuf_printf(&g->normalised, "  line %u: 'the %s domain' (%s) "
		    "taken as %s and *.%s: the domain and its subdomains\n",
		    ln, norm, level_name(lvl), norm, norm);
	}
	if (strstr(low, "list of ip") != NULL)
		sl_sbuf_printf(&g->unused, "  line %u: the list of IP addresses "
		    "the vendor gives out on request is not in the document; "
		    "once received, add it as a list (sluicectl import json "
		    "or a list file)\n", ln);
}

static void
table_row(struct gen *g, int table, enum pol_level lvl, const char *value,
    const char *desc, unsigned ln)
{
	char norm[300], err[256];
	int wild, mangled;

	if (table == E_IP) {
		struct pol_cidr c;
		char a[SL_IP_STRLEN];

		if (strstr(value, "http") != NULL && strstr(value, ".json")) {
			const char *url = strstr(value, "http");

			gen_add(g, E_LIST, lvl, ln, url, desc);
			sl_sbuf_printf(&g->normalised, "  line %u: '%s' -> a named IP "
			    "list loaded from a file; fill it with `sluicectl "
			    "import json` (nothing is downloaded)\n", ln,
			    value);
			return;
		}
		if (pol_cidr_parse(value, &c, err, sizeof(err)) == -1) {
			sl_sbuf_printf(&g->unused, "  line %u: '%s': %s\n", ln,
			    value, err);
			return;
		}
		snprintf(norm, sizeof(norm), "%s/%u", sl_ip_fmt(&c.net, a,
		    sizeof(a)), c.plen);
		gen_add(g, E_IP, lvl, ln, norm, desc);
		return;
	}
	if (strchr(value, '/') != NULL) {
		const char *slash = strchr(value, '/');
		size_t plen = strlen(slash);

		if (pol_domain_parse(value, (size_t)(slash - value), norm,
		    sizeof(norm), &wild, &mangled, err, sizeof(err)) == -1) {
			sl_sbuf_printf(&g->unused, "  line %u: '%s': %s\n", ln,
			    value, err);
			return;
		}
		if (plen > 1 && slash[plen - 1] == '*')
			plen--;
		snprintf(norm + strlen(norm), sizeof(norm) - strlen(norm),
		    "%.*s", (int)plen, slash);
		gen_add(g, E_URL, lvl, ln, norm, desc);
		sl_sbuf_printf(&g->normalised, "  line %u: '%s' -> inspect noauth url "
		    "%s (a path is only seen inside TLS: a spliced flow cannot "
		    "be decided by path)\n", ln, value, norm);
		return;
	}
	if (pol_domain_parse(value, strlen(value), norm + 2,
	    sizeof(norm) - 2, &wild, &mangled, err, sizeof(err)) == -1) {
		sl_sbuf_printf(&g->unused, "  line %u: '%s': %s\n", ln, value, err);
		return;
	}
	if (wild)
		memcpy(norm, "*.", 2);
	if (mangled)
		sl_sbuf_printf(&g->normalised, "  line %u: '%s' -> '%s' (a wildcard "
		    "whose asterisks were lost in Markdown: subdomains at any "
		    "depth)\n", ln, value, norm);
	gen_add(g, E_DOMAIN, lvl, ln, wild ? norm : norm + 2, desc);
}

/* Bullet-listed addresses outside the tables, e.g. calendar sources. */
static void
bullet_address(struct gen *g, const char *line, unsigned ln,
    const char *context, unsigned ctx_line)
{
	struct sl_ip ip;

	if (strncmp(line, "- ", 2) != 0 || sl_ip_parse(&ip, line + 2) == -1)
		return;
	if (context != NULL && strstr(context, "Exchange") != NULL)
		sl_sbuf_printf(&g->unused, "  line %u: %s: a source the vendor's "
		    "calendar partner connects from to the customer's Exchange "
		    "server (line %u): inbound traffic, not a destination of "
		    "clients behind sluice\n", ln, line + 2, ctx_line);
	else
		sl_sbuf_printf(&g->unused, "  line %u: %s: an address outside the "
		    "whitelist tables, with no rule attached\n", ln, line + 2);
}

/* Requirements sluice meets by construction, noted in the report. */
static void
prose_notes(struct gen *g, const char *line, unsigned ln)
{
	if (strstr(line, "Basic Authentication") != NULL)
		sl_sbuf_printf(&g->understood, "  line %u: no proxy authentication "
		    "towards whitelisted entries -> noauth on every rule\n", ln);
	if (strstr(line, "SSL inspection") != NULL)
		sl_sbuf_printf(&g->understood, "  line %u: no SSL inspection towards "
		    "listed IPs and domains -> splice\n", ln);
	if (strstr(line, "non-web traffic") != NULL)
		sl_sbuf_printf(&g->understood, "  line %u: non-web traffic and WSS "
		    "on 443 -> passed untouched by splice\n", ln);
	if (strstr(line, "prevent caching") != NULL ||
	    strstr(line, "transformed") != NULL)
		sl_sbuf_printf(&g->understood, "  line %u: HTTP must not be cached "
		    "or transformed -> sluice never caches or rewrites bodies; "
		    "spliced flows pass byte for byte\n", ln);
	if (strcmp(line, "Network Address Translation") == 0)
		sl_sbuf_printf(&g->unused, "  line %u: Network Address Translation: "
		    "a property of the network, not of the proxy policy\n",
		    ln);
}

static int
gen_read(struct gen *g, const char *text, size_t len)
{
	enum pol_level lvl = PLV_NONE;
	int table = -1, vports = 0;
	const char *p = text, *end = text + len;
	char ctx[2048] = "";
	unsigned ln = 0, ctx_line = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char line[2048];
		const char *tab;
		unsigned v;

		ln++;
		snprintf(line, sizeof(line), "%.*s", (int)l, p);
		p += l + (nl ? 1 : 0);
		if (rtrim(line) == 0) {
			table = -1;
			continue;
		}
		if (strstr(line, "**must**") != NULL) {
			lvl = PLV_MUST;
			table = -1;
			continue;
		}
		if (strstr(line, "**should**") != NULL) {
			lvl = PLV_SHOULD;
			table = -1;
			continue;
		}
		if (strcmp(line, "IP\tDescription") == 0 ||
		    strcmp(line, "Domain\tDescription") == 0) {
			table = line[0] == 'I' ? E_IP : E_DOMAIN;
			if (lvl == PLV_NONE)
				sl_sbuf_printf(&g->unused, "  line %u: a table with "
				    "no must/should heading above it\n", ln);
			continue;
		}
		if (table >= 0 && lvl != PLV_NONE &&
		    (tab = strchr(line, '\t')) != NULL) {
			char value[512];

			snprintf(value, sizeof(value), "%.*s",
			    (int)(tab - line), line);
			table_row(g, table, lvl, value, tab + 1, ln);
			continue;
		}
		/* A vertical "Port Number" table: numbers, one per line. */
		if (strcmp(line, "Port Number") == 0) {
			vports = 1;
			continue;
		}
		if (vports && is_number(line, &v)) {
			port_set(g->tcp, v);
			sl_sbuf_printf(&g->understood, "  line %u: port tcp %u (port "
			    "table)\n", ln, v);
			continue;
		}
		if (vports && strlen(line) > 60)
			vports = 0;
		prose_ports(g, line, ln);
		prose_whitelist(g, line, ln);
		prose_notes(g, line, ln);
		bullet_address(g, line, ln, ctx[0] ? ctx : NULL, ctx_line);
		if (strncmp(line, "- ", 2) != 0) {
			snprintf(ctx, sizeof(ctx), "%s", line);
			ctx_line = ln;
		}
	}
	return g->oom || g->understood.oom || g->normalised.oom ||
	    g->dups.oom || g->unused.oom ? -1 : 0;
}

/* ---------------------------------------------------------------------
 * Writing the profile
 */

/* A rule name from a value: "*.x.test" -> "any.x.test", '/' -> '_'. */
static void
rule_slug(const struct ent *e, char *out, size_t cap)
{
	const char *v = e->value;
	size_t o = 0;

	if (strncmp(v, "*.", 2) == 0) {
		o = (size_t)snprintf(out, cap, "any.");
		v += 2;
	}
	for (; *v != '\0' && o + 1 < cap; v++)
		out[o++] = isalnum((unsigned char)*v) || *v == '.' ||
		    *v == '-' || *v == ':' ? *v : '_';
	while (o > 0 && out[o - 1] == '_')
		o--;
	out[o] = '\0';
}

static void
quoted(struct sl_sbuf *b, const char *s)
{
	sl_sbuf_printf(b, "\"");
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			sl_sbuf_printf(b, "\\%c", *s);
		else
			sl_sbuf_printf(b, "%c", *s);
	}
	sl_sbuf_printf(b, "\"");
}

static void
cite(struct sl_sbuf *b, const struct gen *g, const struct ent *e)
{
	char c[512];
	size_t o;

	o = (size_t)snprintf(c, sizeof(c), "%s:%u", g->doc, e->line);
	if (e->nalso > 0) {
		o += (size_t)snprintf(c + o, sizeof(c) - o, " (also line%s",
		    e->nalso > 1 ? "s" : "");
		for (unsigned i = 0; i < e->nalso && o < sizeof(c); i++)
			o += (size_t)snprintf(c + o, sizeof(c) - o, "%s %u",
			    i ? "," : "", e->also[i]);
		o += (size_t)snprintf(c + o, sizeof(c) - o, ")");
	}
	if (o < sizeof(c))
		snprintf(c + o, sizeof(c) - o, " %s", e->desc);
	sl_sbuf_printf(b, " level %s cite ", level_name(e->level));
	quoted(b, c);
	sl_sbuf_printf(b, "\n");
}

static void
emit(struct gen *g, struct sl_sbuf *b, enum ent_kind kind, enum pol_level lvl,
    const char *ports, const char *list_name, const char *title)
{
	int any = 0;

	for (size_t i = 0; i < g->n; i++)
		any |= g->e[i].kind == kind && g->e[i].level == lvl;
	if (any && title != NULL)
		sl_sbuf_printf(b, "\n# --- %s: %s ---\n", level_name(lvl), title);
	for (size_t i = 0; i < g->n; i++) {
		const struct ent *e = &g->e[i];
		char slug[300];

		if (e->kind != kind || e->level != lvl)
			continue;
		rule_slug(e, slug, sizeof(slug));
		switch (kind) {
		case E_IP:
			sl_sbuf_printf(b, "rule %s-ip-%s splice noauth ip %s port %s",
			    g->vendor, slug, e->value, ports);
			break;
		case E_DOMAIN:
			sl_sbuf_printf(b, "rule %s-%s splice noauth domain %s port %s",
			    g->vendor, slug, e->value, ports);
			break;
		case E_URL:
			sl_sbuf_printf(b, "rule %s-url-%s inspect noauth url %s",
			    g->vendor, slug, e->value);
			break;
		case E_LIST:
			sl_sbuf_printf(b, "list %s ip file \"%s.list\"\n", list_name,
			    list_name);
			sl_sbuf_printf(b, "rule %s splice noauth ip @%s port %s",
			    list_name, list_name, ports);
			break;
		}
		cite(b, g, e);
	}
}

static int
gen_write(struct gen *g, struct sl_profile_out *out)
{
	struct sl_sbuf b = { NULL, 0, 0, 0 }, ports = { NULL, 0, 0, 0 };
	struct sl_sbuf lst = { NULL, 0, 0, 0 };
	char list_name[128] = "";
	const char *pl;
	size_t nurl = 0;
	int first = 1;

	ports_fmt(g->tcp, "", &ports, &first);
	ports_fmt(g->udp, "udp/", &ports, &first);
	if (first)
		sl_sbuf_printf(&ports, "80,443");
	pl = ports.s ? ports.s : "";
	for (size_t i = 0; i < g->n; i++) {
		if (g->e[i].kind != E_LIST || list_name[0] != '\0')
			continue;
		{
			/* "https://whitelist.tokbox.com/whitelist.json" ->
			 * "<vendor>-tokbox-whitelist". */
			const char *h = strstr(g->e[i].value, "//");
			char host[128], *dot;

			snprintf(host, sizeof(host), "%s", h ? h + 2 : "list");
			if ((dot = strchr(host, '/')) != NULL)
				*dot = '\0';
			/* whitelist.tokbox.com -> tokbox-whitelist */
			if ((dot = strchr(host, '.')) != NULL) {
				char *d2 = strchr(dot + 1, '.');

				*dot = '\0';
				if (d2 != NULL)
					*d2 = '\0';
				snprintf(list_name, sizeof(list_name),
				    "%.40s-%.40s-%.40s", g->vendor, dot + 1,
				    host);
			} else {
				snprintf(list_name, sizeof(list_name),
				    "%.40s-%.40s", g->vendor, host);
			}
		}
	}
	sl_sbuf_printf(&b, "# %s profile, generated from %s by\n"
	    "#     sluicectl profile generate %s policy/requirements/%s\n"
	    "# Do not edit: change the document or the generator and "
	    "regenerate\n# (tests check that regenerating gives this file "
	    "byte for byte).\n#\n", g->vendor, g->doc, g->vendor, g->doc);
	sl_sbuf_printf(&b, "# Enable all entries:    include \"profiles/%s.conf\"\n"
	    "# Only the must entries: include \"profiles/%s.conf\" level must"
	    "\n#\n", g->vendor, g->vendor);
	sl_sbuf_printf(&b, "# Every entry: splice (no TLS inspection) and noauth (no "
	    "proxy\n# authentication) on the ports the document lists: %s.\n"
	    "# Path entries cannot be decided on a spliced TLS flow: they "
	    "are\n# `inspect noauth url HOST/PATH`.\n", pl);
	for (size_t i = 0; i < g->n; i++)
		nurl += g->e[i].kind == E_URL;
	if (nurl > 0)
		sl_sbuf_printf(&b, "#\n# Order: IPs and domains first, path entries "
		    "after them.  When a\n# host-wide entry also covers a path "
		    "entry (a should *.example.com\n# over a must "
		    "www.example.com/path/), that host is spliced, which\n# "
		    "satisfies both, and `sluicectl check` notes that the path "
		    "is never\n# checked on HTTPS.  With `level must` only the "
		    "path rules apply:\n# those hosts are then inspected to "
		    "decide by path.\n");
	for (int lv = PLV_MUST; lv <= PLV_SHOULD; lv++) {
		emit(g, &b, E_IP, lv, pl, list_name, "IPs");
		emit(g, &b, E_LIST, lv, pl, list_name, "IP lists");
		emit(g, &b, E_DOMAIN, lv, pl, list_name, "domains");
	}
	for (int lv = PLV_MUST; lv <= PLV_SHOULD; lv++)
		emit(g, &b, E_URL, lv, pl, list_name, "paths");
	if (g->unused.len > 0) {
		const char *p = g->unused.s;

		sl_sbuf_printf(&b, "\n# Not used (see the generator's report):\n");
		while (*p != '\0') {
			size_t l = strcspn(p, "\n");

			sl_sbuf_printf(&b, "#%.*s\n", (int)l, p);
			p += l + (p[l] == '\n');
		}
	}
	if (list_name[0] != '\0') {
		const struct ent *le = NULL;

		for (size_t i = 0; i < g->n; i++)
			if (g->e[i].kind == E_LIST)
				le = &g->e[i];
		sl_sbuf_printf(&lst, "# %s: IP list for rule %s, from\n#     %s\n"
		    "# (%s line %u).  sluice downloads nothing.  Fill this file "
		    "with\n#     sluicectl import json whitelist.json %s.list\n"
		    "# after fetching the JSON yourself; one CIDR per line.  "
		    "Until then\n# the list is empty and the rule matches "
		    "nothing.\n", list_name, list_name, le ? le->value : "",
		    g->doc, le ? le->line : 0, list_name);
	}
	if (b.oom || ports.oom || lst.oom) {
		sl_free(b.s);
		sl_free(ports.s);
		sl_free(lst.s);
		return -1;
	}
	out->profile = b.s;
	out->list_name = list_name[0] ? sl_strdup(list_name) : NULL;
	out->list_text = lst.s;
	sl_free(ports.s);
	return list_name[0] && out->list_name == NULL ? -1 : 0;
}

static int
gen_report(struct gen *g, struct sl_profile_out *out)
{
	struct sl_sbuf r = { NULL, 0, 0, 0 };
	size_t counts[4] = { 0 };

	for (size_t i = 0; i < g->n; i++)
		counts[g->e[i].kind]++;
	sl_sbuf_printf(&r, "%s: %s: %zu IP, %zu domain, %zu path, %zu list "
	    "entries\n", g->vendor, g->doc, counts[E_IP], counts[E_DOMAIN],
	    counts[E_URL], counts[E_LIST]);
	sl_sbuf_printf(&r, "understood:\n%s", g->understood.s ?
	    g->understood.s : "");
	for (size_t i = 0; i < g->n; i++)
		sl_sbuf_printf(&r, "  line %u: %s %s (%s)\n", g->e[i].line,
		    (const char *[]){ "ip", "domain", "url", "ip list" }
		    [g->e[i].kind], g->e[i].value, level_name(g->e[i].level));
	sl_sbuf_printf(&r, "normalised:\n%s", g->normalised.s ?
	    g->normalised.s : "  (nothing)\n");
	sl_sbuf_printf(&r, "duplicates:\n%s", g->dups.s ? g->dups.s :
	    "  (none)\n");
	sl_sbuf_printf(&r, "not used:\n%s", g->unused.s ? g->unused.s :
	    "  (nothing)\n");
	if (r.oom) {
		sl_free(r.s);
		return -1;
	}
	out->report = r.s;
	return 0;
}

int
sl_profile_generate(const char *vendor, const char *doc, const char *text,
    size_t len, struct sl_profile_out *out)
{
	struct gen *g;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	for (const char *p = vendor; *p; p++)
		if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p))
			return -1;
	if (*vendor == '\0' || (g = sl_calloc(1, sizeof(*g))) == NULL)
		return -1;
	g->vendor = vendor;
	g->doc = doc;
	if (gen_read(g, text, len) == 0 && gen_write(g, out) == 0 &&
	    gen_report(g, out) == 0)
		rc = 0;
	sl_free(g->e);
	sl_free(g->understood.s);
	sl_free(g->normalised.s);
	sl_free(g->dups.s);
	sl_free(g->unused.s);
	sl_free(g);
	if (rc == -1)
		sl_profile_out_free(out);
	return rc;
}

void
sl_profile_out_free(struct sl_profile_out *out)
{
	if (out == NULL)
		return;
	sl_free(out->profile);
	sl_free(out->report);
	sl_free(out->list_name);
	sl_free(out->list_text);
	memset(out, 0, sizeof(*out));
}
