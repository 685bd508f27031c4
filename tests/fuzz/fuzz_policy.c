/*
 * fuzz_policy.c — libFuzzer target for the configuration parser and the
 * policy compiler (policy/), through sl_config_load_buf(), the entry
 * `sluiced -t` and `sluicectl check` reach.
 *
 * The input is a configuration file.  Besides "no crash, no leak":
 *   - a rejected file has at least one error, and every error in the file
 *     itself carries a line (a malformed line is never accepted silently
 *     nor reported without its place);
 *   - on an accepted file, flows made of the input's own values (names,
 *     addresses, ports, url hosts and paths, some paths with a second
 *     reading, users, countries, AS numbers, picked and staged from a
 *     hash of the input) are decided by the
 *     compiled index (sl_policy_decide) exactly as by the linear reference
 *     (sl_policy_trace); `need` names only facts not yet known; and a
 *     final answer (need == 0) stays the same once every fact is known
 *     (the url then with the host the name step knows: the name, or the
 *     address of a flow without one).
 *     One flow is also explained (sl_policy_explain).
 *   - issue 13: with the name known and the url not, a decision needs the
 *     url only if the host of some url value of the input (rules and url
 *     lists, read from the text here) can be the url's host: the name, or
 *     the address of a flow without a name.
 *   - everything is freed (libFuzzer's leak check).
 *
 * The file is named /nonexistent-sluice-fuzz/fuzz.conf, so a relative
 * include or list file resolves into a directory that does not exist and
 * only exercises the error paths.  An input whose include or list file
 * path has a '/' is skipped: it could name any file on the host.
 * A broken property aborts.
 */
#include <ctype.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/addr.h"
#include "lib/alloc.h"
#include "lib/diag.h"
#include "lib/urlpath.h"
#include "policy/lex.h"
#include "policy/config.h"
#include "tests/fuzz/fz.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_NAME		"/nonexistent-sluice-fuzz/fuzz.conf"
#define FZ_POOL		16	/* values of each kind taken from the input */
#define FZ_FLOWS	8	/* flows decided per accepted input */
#define FZ_STEPS	4	/* trace steps kept (the rest are counted) */
#define FZ_PATS		64	/* url hosts of the input, for issue 13 */

struct fz_host {
	char	 name[256];
};

struct fz_url {
	char	 host[256];
	char	 path[512];
};

/*
 * The host of a url value as written, lower case, one trailing dot, the
 * scheme and any leading '*' and '.' cut (wild: it matched "*.x" or the
 * mangled "..x").  fz_pat_may_match is a superset of what it matches.
 */
struct fz_pat {
	char	 host[256];
	int	 wild;
};

/* Values found in the input, to build flows that rules may match. */
struct fz_pool {
	struct fz_pat	 pats[FZ_PATS];	/* every url value's host */
	size_t		 npats;
	int		 pats_over;	/* more than FZ_PATS: not checked */
	struct fz_host	 names[FZ_POOL];
	size_t		 nnames;
	struct sl_ip	 ips[FZ_POOL];
	size_t		 nips;
	uint16_t	 ports[FZ_POOL];
	uint8_t		 protos[FZ_POOL];
	size_t		 nports;
	struct fz_url	 urls[FZ_POOL];
	size_t		 nurls;
	char		 users[FZ_POOL][64];
	size_t		 nusers;
	char		 countries[FZ_POOL][3];
	size_t		 ncountries;
	uint32_t	 asns[FZ_POOL];
	size_t		 nasns;
};

static uint32_t
fz_next(uint32_t *s)
{
	/* xorshift32; never 0 once seeded with a non-zero state */
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void
fz_lex_err_cb(void *arg, unsigned line, unsigned col, const char *msg)
{
	(void)arg;
	(void)line;
	(void)col;
	(void)msg;
}

/* A name for matching: "*.x" becomes "a.x" so wildcard rules can match. */
static void
fz_pool_name(struct fz_pool *pl, const char *s, size_t len)
{
	char tmp[256];

	if (pl->nnames == FZ_POOL || len == 0 || len >= sizeof(tmp))
		return;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	if (len > 2 && tmp[0] == '*' && tmp[1] == '.')
		tmp[0] = 'a';
	if (sl_name_normalise(tmp, len, pl->names[pl->nnames].name,
	    sizeof(pl->names[0].name)) == 0)
		pl->nnames++;
}

static void
fz_pool_url(struct fz_pool *pl, const char *s)
{
	const char *slash;
	struct fz_url *u;
	char host[256];
	size_t hl;

	if (strncmp(s, "https://", 8) == 0)
		s += 8;
	else if (strncmp(s, "http://", 7) == 0)
		s += 7;
	if (pl->nurls == FZ_POOL || (slash = strchr(s, '/')) == NULL)
		return;
	hl = (size_t)(slash - s);
	if (hl == 0 || hl >= sizeof(host))
		return;
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (hl > 2 && host[0] == '*' && host[1] == '.')
		host[0] = 'a';
	u = &pl->urls[pl->nurls];
	if (sl_name_normalise(host, hl, u->host, sizeof(u->host)) == -1 ||
	    sl_urlpath_normalise(slash, strlen(slash), u->path,
	    sizeof(u->path)) == -1)
		return;
	/* A url host written as an address: flows to that address without
	 * a name have it as their url host. */
	if (pl->nips < FZ_POOL && sl_ip_parse(&pl->ips[pl->nips], host) == 0)
		pl->nips++;
	pl->nurls++;
}

/* A url value of a rule or a url list: its host for issue 13's property. */
static void
fz_pool_pat(struct fz_pool *pl, const char *s)
{
	struct fz_pat *p;
	size_t hl;

	if (pl->npats == FZ_PATS) {
		pl->pats_over = 1;
		return;
	}
	if (strncmp(s, "https://", 8) == 0)
		s += 8;
	else if (strncmp(s, "http://", 7) == 0)
		s += 7;
	p = &pl->pats[pl->npats];
	p->wild = 0;
	for (; *s == '*' || *s == '.'; s++)
		p->wild = 1;
	hl = strcspn(s, "/");
	if (hl > 0 && s[hl - 1] == '.')
		hl--;
	if (hl >= sizeof(p->host)) {
		pl->pats_over = 1;
		return;
	}
	for (size_t i = 0; i < hl; i++)
		p->host[i] = (char)tolower((unsigned char)s[i]);
	p->host[hl] = '\0';
	pl->npats++;
}

static int
fz_pat_may_match(const struct fz_pat *p, const char *h)
{
	size_t hl = strlen(h), pl = strlen(p->host);

	if (strcmp(h, p->host) == 0)
		return 1;
	if (!p->wild)
		return 0;
	return pl == 0 || (hl > pl && h[hl - pl - 1] == '.' &&
	    strcmp(h + hl - pl, p->host) == 0);
}

/*
 * The url values of a statement: in a rule, the values after each `url`
 * key (a comma chains the next); in `list NAME url`, all of them.  A
 * word `url` that is something else (a user, a citation) only adds
 * hosts, which weakens the property, never breaks it.
 */
static void
fz_scan_pats(struct fz_pool *pl, const struct lex_token *t, size_t n)
{
	int is_list = strcmp(t[0].s, "list") == 0;

	if (is_list && n > 2 && strcmp(t[2].s, "url") == 0) {
		for (size_t i = 3; i < n; i++)
			if (t[i].kind != LT_COMMA)
				fz_pool_pat(pl, t[i].s);
		return;
	}
	if (strcmp(t[0].s, "rule") != 0)
		return;
	for (size_t i = 1; i + 1 < n; i++) {
		if (t[i].kind != LT_WORD || strcmp(t[i].s, "url") != 0)
			continue;
		for (size_t j = i + 1; j < n; j += 2) {
			fz_pool_pat(pl, t[j].s);
			if (j + 1 >= n || t[j + 1].kind != LT_COMMA)
				break;
		}
	}
}

static void
fz_pool_token(struct fz_pool *pl, const struct lex_token *t)
{
	const char *s = t->s, *num = s;
	struct sl_ip ip;
	unsigned plen;
	uint8_t proto = IPPROTO_TCP;
	char *end;
	unsigned long v;

	if (t->kind == LT_COMMA || t->len == 0 || strlen(s) != t->len)
		return;
	if (s[0] == '@')
		return;
	if (strchr(s, '/') != NULL && sl_cidr_parse(s, &ip, &plen) == -1)
		fz_pool_url(pl, s);
	if (sl_cidr_parse(s, &ip, &plen) == 0 && pl->nips < FZ_POOL)
		pl->ips[pl->nips++] = ip;
	fz_pool_name(pl, s, t->len);
	if (t->len == 2 && pl->ncountries < FZ_POOL) {
		pl->countries[pl->ncountries][0] = (char)(s[0] & ~0x20);
		pl->countries[pl->ncountries][1] = (char)(s[1] & ~0x20);
		pl->countries[pl->ncountries++][2] = '\0';
	}
	if (t->len < sizeof(pl->users[0]) && pl->nusers < FZ_POOL)
		memcpy(pl->users[pl->nusers++], s, t->len + 1);
	if (strncmp(s, "udp/", 4) == 0 || strncmp(s, "tcp/", 4) == 0) {
		proto = s[0] == 'u' ? IPPROTO_UDP : IPPROTO_TCP;
		num = s + 4;
	} else if (strncmp(s, "AS", 2) == 0 || strncmp(s, "as", 2) == 0) {
		num = s + 2;
	}
	if (*num < '0' || *num > '9')
		return;
	v = strtoul(num, &end, 10);
	if (v >= 1 && v <= 65535 && pl->nports < FZ_POOL) {
		pl->protos[pl->nports] = proto;
		pl->ports[pl->nports++] = (uint16_t)v;
	}
	if (v <= UINT32_MAX && pl->nasns < FZ_POOL)
		pl->asns[pl->nasns++] = (uint32_t)v;
}

/*
 * Lex the input as the parser will, collecting values; returns -1 if an
 * include or list file path could leave the nonexistent directory.
 */
static int
fz_scan(const char *buf, size_t len, struct fz_pool *pl)
{
	struct lex_stmt st;
	struct lexer lx;
	int r, rc = 0;

	memset(&st, 0, sizeof(st));
	lex_init(&lx, buf, len, fz_lex_err_cb, NULL);
	while (rc == 0 && (r = lex_next(&lx, &st)) == 1) {
		const struct lex_token *t = st.t;
		size_t n = st.n;

		if (st.bad || n == 0)
			continue;
		if (t[0].kind == LT_WORD && strcmp(t[0].s, "include") == 0 &&
		    n > 1 && memchr(t[1].s, '/', t[1].len) != NULL)
			rc = -1;
		if (t[0].kind == LT_WORD && strcmp(t[0].s, "list") == 0 &&
		    n > 2 && t[n - 2].kind == LT_WORD &&
		    strcmp(t[n - 2].s, "file") == 0 &&
		    memchr(t[n - 1].s, '/', t[n - 1].len) != NULL)
			rc = -1;
		for (size_t i = 1; i < n; i++)
			fz_pool_token(pl, &t[i]);
		if (t[0].kind == LT_WORD)
			fz_scan_pats(pl, t, n);
	}
	if (r == -1)
		rc = -1;
	lex_stmt_free(&st);
	return rc;
}

/* A flow from the pool: each fact present, absent or not yet known. */
static void
fz_facts(const struct fz_pool *pl, uint32_t *rs, struct sl_facts *f)
{
	uint32_t r = fz_next(rs);

	memset(f, 0, sizeof(*f));
	f->known = fz_next(rs) & SL_FACT_ALL;
	f->proto = IPPROTO_TCP;
	f->port = 443;
	if (pl->nports > 0 && (r & 1)) {
		size_t i = fz_next(rs) % pl->nports;

		f->proto = pl->protos[i];
		f->port = pl->ports[i];
	}
	(void)sl_ip_parse(&f->src, "10.0.0.5");
	if (pl->nips > 0 && (r & 2))
		f->src = pl->ips[fz_next(rs) % pl->nips];
	if (pl->nips > 0 && (r & 4)) {
		f->dst = pl->ips[fz_next(rs) % pl->nips];
		/* a neighbour too, inside or just outside a prefix */
		if (r & 8)
			f->dst.b[f->dst.af == AF_INET ? 3 : 15] ^= 1;
	}
	if (pl->nnames > 0 && (r & 16))
		f->name = pl->names[fz_next(rs) % pl->nnames].name;
	/* A url's host as the name: url rules for it wait for the url. */
	if (pl->nurls > 0 && (r & 1024))
		f->name = pl->urls[fz_next(rs) % pl->nurls].host;
	if (pl->nurls > 0 && (r & 32)) {
		const struct fz_url *u = &pl->urls[fz_next(rs) % pl->nurls];

		f->url_host = u->host;
		f->url_path = u->path;
		/* A second reading of the path, another url's: deny rules
		 * match either reading, others both, in both engines. */
		if (r & 512)
			f->url_path_noparam =
			    pl->urls[fz_next(rs) % pl->nurls].path;
	}
	if (pl->nusers > 0 && (r & 64))
		f->user = pl->users[fz_next(rs) % pl->nusers];
	if (pl->ncountries > 0 && (r & 128))
		f->country = pl->countries[fz_next(rs) % pl->ncountries];
	if (pl->nasns > 0 && (r & 256))
		f->asn = pl->asns[fz_next(rs) % pl->nasns];
}

static void
fz_same(const struct sl_decision *a, const struct sl_decision *b)
{
	FZ_CHECK(a->action == b->action && a->mods == b->mods &&
	    a->flags == b->flags && a->need == b->need &&
	    a->rule == b->rule && a->rule_index == b->rule_index);
	FZ_CHECK(strcmp(a->rule_name, b->rule_name) == 0);
}

/*
 * The host the url will have, as the name step knows it: 1 with *host
 * (NULL: no url host at all), or 0 while the name (or, without one, the
 * address) is not known.
 */
static int
fz_url_host_ahead(const struct sl_facts *f, char *buf, size_t cap,
    const char **host)
{
	if (!(f->known & SL_FACT_NAME))
		return 0;
	if (f->name != NULL) {
		*host = f->name;
		return 1;
	}
	if (!(f->known & SL_FACT_DST_IP))
		return 0;
	*host = f->dst.af != 0 ? sl_ip_fmt(&f->dst, buf, cap) : NULL;
	return 1;
}

/* Issue 13: no url value's host can be the url's, so no url is needed. */
static void
fz_check_url_pruned(const struct fz_pool *pl, const struct sl_facts *f,
    const struct sl_decision *d)
{
	char buf[SL_IP_STRLEN];
	const char *host;

	if ((f->known & SL_FACT_URL) || pl->pats_over ||
	    !fz_url_host_ahead(f, buf, sizeof(buf), &host))
		return;
	for (size_t i = 0; host != NULL && i < pl->npats; i++)
		if (fz_pat_may_match(&pl->pats[i], host))
			return;
	FZ_CHECK(!(d->need & SL_FACT_URL));
}

static void
fz_decide(const struct sl_policy *pol, const struct fz_pool *pl,
    const struct sl_facts *f)
{
	struct sl_trace_step steps[FZ_STEPS];
	struct sl_decision d, t, all;
	struct sl_facts full;
	size_t total = 0, n;
	char buf[SL_IP_STRLEN];

	sl_policy_decide(pol, f, &d);
	n = sl_policy_trace(pol, f, &t, steps, FZ_STEPS, &total);
	fz_same(&d, &t);
	FZ_CHECK(n <= FZ_STEPS && n <= total && total <= sl_policy_nrules(pol));
	FZ_CHECK((d.need & ~(~f->known & SL_FACT_ALL)) == 0);
	FZ_CHECK(d.rule_index == UINT32_MAX ||
	    (d.rule_index < sl_policy_nrules(pol) &&
	    sl_policy_rule(pol, d.rule_index) == d.rule));
	fz_check_url_pruned(pl, f, &d);
	if (d.need != 0)
		return;
	/* Final: knowing the rest (with these values) changes nothing.  A
	 * url learnt now has the host the name step knew (or knows now). */
	full = *f;
	full.known = SL_FACT_ALL;
	if (!(f->known & SL_FACT_URL))
		(void)fz_url_host_ahead(&full, buf, sizeof(buf),
		    &full.url_host);
	sl_policy_decide(pol, &full, &all);
	if (d.flags & SL_DEC_GUARD)
		FZ_CHECK(all.flags & SL_DEC_GUARD);
	else if (!(all.flags & SL_DEC_GUARD))
		FZ_CHECK(all.rule_index == d.rule_index &&
		    all.action == d.action && all.need == 0);
}

static void
fz_use(struct sl_config *cfg, const struct fz_pool *pl, uint32_t seed)
{
	struct sl_policy *pol = sl_config_policy(cfg);
	const struct sl_settings *set = sl_config_settings(cfg);
	uint32_t rs = seed != 0 ? seed : 1;
	struct sl_facts f;
	size_t n;
	char *s;

	FZ_CHECK(set != NULL && strcmp(sl_config_path(cfg), FZ_NAME) == 0);
	(void)sl_config_listeners(cfg, &n);
	(void)sl_config_resolvers(cfg, &n);
	(void)sl_config_sinks(cfg, &n);
	for (size_t i = 0; i < sl_policy_nrules(pol); i++) {
		const struct sl_rule *r = sl_policy_rule(pol, i);

		FZ_CHECK(r != NULL && sl_rule_name(r) != NULL &&
		    sl_rule_loc(r)->line >= 1);
	}
	for (int i = 0; i < FZ_FLOWS; i++) {
		fz_facts(pl, &rs, &f);
		fz_decide(pol, pl, &f);
	}
	s = sl_policy_explain(pol, &f);
	sl_free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct fz_pool *pl = calloc(1, sizeof(*pl));
	struct sl_config *cfg;
	struct sl_diags d;
	unsigned lines = 1;

	FZ_CHECK(pl != NULL);
	if (fz_scan(buf, size, pl) == -1) {
		free(pl);
		return 0;
	}
	for (size_t i = 0; i < size; i++)
		lines += buf[i] == '\n';
	sl_diags_init(&d);
	cfg = sl_config_load_buf(FZ_NAME, buf, size, NULL, 0, &d);
	FZ_CHECK(cfg != NULL || sl_diags_errors(&d) > 0);
	for (size_t i = 0; i < d.n; i++) {
		const struct sl_diag *g = &d.v[i];

		FZ_CHECK(g->file != NULL && g->msg != NULL);
		if (strcmp(g->file, FZ_NAME) != 0)
			continue;
		FZ_CHECK(g->line <= lines);
		if (g->sev == SL_DIAG_ERROR)
			FZ_CHECK(g->line >= 1);
	}
	if (cfg != NULL) {
		FZ_CHECK(sl_diags_errors(&d) == 0);
		fz_use(cfg, pl, fz_hash(data, size));
		sl_config_unref(cfg);
	}
	sl_diags_free(&d);
	free(pl);
	return 0;
}
