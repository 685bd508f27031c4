/*
 * util.c — small helpers of the policy language: value syntax (domain
 * patterns, ports, CIDRs), names of keys and modifiers, suggestions.
 */
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_int.h"

/* Edit distance, capped: long words are never "close" anyway. */
static unsigned
edit_distance(const char *a, const char *b)
{
	unsigned row[65], la = (unsigned)strlen(a), lb = (unsigned)strlen(b);

	if (la > 64 || lb > 64)
		return 99;
	for (unsigned j = 0; j <= lb; j++)
		row[j] = j;
	for (unsigned i = 1; i <= la; i++) {
		unsigned diag = row[0];

		row[0] = i;
		for (unsigned j = 1; j <= lb; j++) {
			unsigned up = row[j];
			unsigned cost = tolower((unsigned char)a[i - 1]) ==
			    tolower((unsigned char)b[j - 1]) ? 0 : 1;
			unsigned v = diag + cost;

			if (row[j - 1] + 1 < v)
				v = row[j - 1] + 1;
			if (up + 1 < v)
				v = up + 1;
			row[j] = v;
			diag = up;
		}
	}
	return row[lb];
}

const char *
pol_closest(const char *word, const char *const *cands, size_t n)
{
	const char *best = NULL;
	unsigned bestd = 99, len = (unsigned)strlen(word);
	/* Allow one edit per three characters, at least one, at most 3. */
	unsigned maxd = len / 3 < 1 ? 1 : len / 3 > 3 ? 3 : len / 3;

	for (size_t i = 0; i < n; i++) {
		unsigned d = edit_distance(word, cands[i]);

		/* A prefix ("worker" for "workers") is a likely typo too. */
		if (d > maxd && strncmp(cands[i], word, len) == 0 && len >= 3)
			d = maxd;
		if (d <= maxd && d < bestd) {
			best = cands[i];
			bestd = d;
		}
	}
	return best;
}

int
pol_action_parse(const char *s, enum sl_action *a)
{
	if (strcmp(s, "splice") == 0)
		*a = SL_ACT_SPLICE;
	else if (strcmp(s, "inspect") == 0)
		*a = SL_ACT_INSPECT;
	else if (strcmp(s, "deny") == 0)
		*a = SL_ACT_DENY;
	else
		return -1;
	return 0;
}

const char *
sl_action_name(enum sl_action a)
{
	switch (a) {
	case SL_ACT_SPLICE:
		return "splice";
	case SL_ACT_INSPECT:
		return "inspect";
	case SL_ACT_DENY:
		return "deny";
	}
	return "?";
}

/*
 * Check a name (no "*." prefix, no trailing dot) and lowercase it into
 * out.  Labels: letters, digits, '-' and '_' (seen in real host names),
 * 1..63 bytes; the whole name at most 253.  0, or -1 with err.
 */
static int
name_check(const char *s, size_t len, char *out, size_t cap, char *err,
    size_t errcap)
{
	size_t lab = 0;

	if (len == 0) {
		snprintf(err, errcap, "empty name");
		return -1;
	}
	if (len > 253 || len >= cap) {
		snprintf(err, errcap, "name longer than 253 characters");
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			if (lab == 0) {
				snprintf(err, errcap, "empty label");
				return -1;
			}
			lab = 0;
			out[i] = '.';
			continue;
		}
		if (c >= 0x80) {
			snprintf(err, errcap, "non-ASCII character (write "
			    "internationalised names as punycode, xn--...)");
			return -1;
		}
		if (c == '*') {
			snprintf(err, errcap, "'*' is only allowed as a whole "
			    "first label ('*.example.test')");
			return -1;
		}
		if (!isalnum(c) && c != '-' && c != '_') {
			snprintf(err, errcap, "invalid character '%c'", c);
			return -1;
		}
		if (++lab > 63) {
			snprintf(err, errcap, "label longer than 63 characters");
			return -1;
		}
		out[i] = (char)tolower(c);
	}
	if (lab == 0) {
		snprintf(err, errcap, "empty label");
		return -1;
	}
	out[len] = '\0';
	return 0;
}

int
sl_name_normalise(const char *in, size_t len, char *out, size_t cap)
{
	char err[128];

	if (len > 0 && in[len - 1] == '.')
		len--;
	return name_check(in, len, out, cap, err, sizeof(err));
}

int
pol_domain_parse(const char *s, size_t len, char *out, size_t cap,
    int *wild, int *mangled, char *err, size_t errcap)
{
	const char *orig = s;
	size_t olen = len;
	char why[128];

	*wild = 0;
	*mangled = 0;
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)s[i] >= 0x80) {
			snprintf(err, errcap, "non-ASCII domain '%.*s': write "
			    "internationalised names as punycode (xn--...)",
			    (int)len, s);
			return -1;
		}
	}
	if (len == 1 && s[0] == '*') {
		snprintf(err, errcap, "'*' alone is not a domain (leave out "
		    "the domain matcher to match every name)");
		return -1;
	}
	/* The requirement documents lost their asterisks to Markdown:
	 * "..x" and "..*.x" were "*.*.x" and "*.*.*.x". */
	if (len > 4 && strncmp(s, "..*.", 4) == 0) {
		*wild = *mangled = 1;
		s += 4;
		len -= 4;
	} else if (len > 2 && strncmp(s, "..", 2) == 0) {
		*wild = *mangled = 1;
		s += 2;
		len -= 2;
	} else if (len > 2 && strncmp(s, "*.", 2) == 0) {
		*wild = 1;
		s += 2;
		len -= 2;
	}
	if (len > 0 && s[len - 1] == '.')
		len--;
	if (*wild && len >= 2 && strncmp(s, "*.", 2) == 0) {
		snprintf(err, errcap, "only one leading '*.' is allowed in "
		    "'%.*s' ('*.example.test' already matches subdomains at "
		    "any depth)", (int)olen, orig);
		return -1;
	}
	if (name_check(s, len, out, cap, why, sizeof(why)) == -1) {
		snprintf(err, errcap, "invalid domain '%.*s': %s", (int)len, s,
		    why);
		return -1;
	}
	return 0;
}

static int
port_num(const char *s, size_t len, unsigned *v)
{
	unsigned long n = 0;

	if (len == 0 || len > 5)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		n = n * 10 + (unsigned)(s[i] - '0');
	}
	if (n > 65535)
		return -1;
	*v = (unsigned)n;
	return 0;
}

int
pol_port_parse(const char *s, struct pol_port *p, char *err, size_t errcap)
{
	const char *q = s, *dash;
	unsigned lo, hi;

	p->proto = IPPROTO_TCP;
	if (strncmp(q, "tcp/", 4) == 0) {
		q += 4;
	} else if (strncmp(q, "udp/", 4) == 0) {
		p->proto = IPPROTO_UDP;
		q += 4;
	}
	dash = strchr(q, '-');
	if (dash == NULL) {
		if (port_num(q, strlen(q), &lo) == -1)
			goto bad;
		hi = lo;
	} else {
		if (port_num(q, (size_t)(dash - q), &lo) == -1 ||
		    port_num(dash + 1, strlen(dash + 1), &hi) == -1)
			goto bad;
		if (lo > hi) {
			snprintf(err, errcap, "port range '%s' is reversed", s);
			return -1;
		}
	}
	if (lo == 0) {
		snprintf(err, errcap, "invalid port '%s' (ports are 1 to "
		    "65535)", s);
		return -1;
	}
	p->lo = (uint16_t)lo;
	p->hi = (uint16_t)hi;
	return 0;
bad:
	snprintf(err, errcap, "invalid port '%s' (expected e.g. 443, "
	    "12000-12002, tcp/3478, udp/5349-5350)", s);
	return -1;
}

pol_u128
pol_ip_key(const struct sl_ip *ip)
{
	pol_u128 k = 0;
	size_t n = ip->af == AF_INET ? 4 : 16;

	for (size_t i = 0; i < n; i++)
		k = k << 8 | ip->b[i];
	return ip->af == AF_INET ? k << 96 : k;
}

void
pol_cidr_range(const struct pol_cidr *c, pol_u128 *lo, pol_u128 *hi)
{
	*lo = pol_ip_key(&c->net);
	if (c->plen == 0)
		*hi = ~(pol_u128)0;
	else
		*hi = *lo | ((((pol_u128)1) << (128 - c->plen)) - 1);
}

int
pol_cidr_parse(const char *s, struct pol_cidr *c, char *err, size_t errcap)
{
	struct sl_ip net;
	unsigned plen;
	char buf[SL_IP_STRLEN];
	unsigned full, rem, n;
	int hostbits = 0;

	if (sl_cidr_parse(s, &net, &plen) == -1) {
		snprintf(err, errcap, "invalid address or CIDR '%s'", s);
		return -1;
	}
	n = net.af == AF_INET ? 4 : 16;
	full = plen / 8;
	rem = plen % 8;
	for (unsigned i = full; i < n; i++) {
		uint8_t keep = i == full && rem ? (uint8_t)(0xff << (8 - rem))
		    : 0;

		if (net.b[i] & (uint8_t)~keep)
			hostbits = 1;
		net.b[i] &= keep;
	}
	if (hostbits) {
		snprintf(err, errcap, "host bits set in '%s' (did you mean "
		    "%s/%u?)", s, sl_ip_fmt(&net, buf, sizeof(buf)), plen);
		return -1;
	}
	c->net = net;
	c->plen = (uint8_t)plen;
	return 0;
}

static const char *const key_names[PK_NKEYS] = {
	"domain", "ip", "port", "url", "src", "user", "country", "asn",
};

const char *
pol_key_name(enum pol_key k)
{
	return (unsigned)k < PK_NKEYS ? key_names[k] : "?";
}

static const char *const ltype_names[PL_NTYPES] = {
	"domain", "ip", "port", "user", "url",
};

const char *
pol_ltype_name(enum pol_ltype t)
{
	return (unsigned)t < PL_NTYPES ? ltype_names[t] : "?";
}

unsigned
pol_key_fact(enum pol_key k)
{
	switch (k) {
	case PK_DOMAIN:
		return SL_FACT_NAME;
	case PK_IP:
		return SL_FACT_DST_IP;
	case PK_URL:
		return SL_FACT_URL;
	case PK_USER:
		return SL_FACT_USER;
	case PK_COUNTRY:
	case PK_ASN:
		return SL_FACT_GEO;
	case PK_PORT:
	case PK_SRC:
	case PK_NKEYS:
		break;
	}
	return 0;
}

const char *
pol_fact_name(unsigned fact)
{
	switch (fact) {
	case SL_FACT_NAME:
		return "name";
	case SL_FACT_DST_IP:
		return "ip";
	case SL_FACT_URL:
		return "url";
	case SL_FACT_USER:
		return "user";
	case SL_FACT_GEO:
		return "geo";
	}
	return "?";
}

const char *
pol_facts_fmt(unsigned facts, char *buf, size_t cap)
{
	size_t off = 0;

	buf[0] = '\0';
	for (unsigned b = 1; b <= SL_FACT_GEO; b <<= 1) {
		if ((facts & b) == 0)
			continue;
		off += (size_t)snprintf(buf + off, off < cap ? cap - off : 0,
		    "%s%s", off ? "," : "", pol_fact_name(b));
	}
	return buf;
}

const char *
pol_mods_fmt(unsigned mods, char *buf, size_t cap)
{
	static const struct {
		unsigned bit;
		const char *name;
	} tab[] = {
		{ SL_MOD_NOAUTH, "noauth" },
		{ SL_MOD_LOG, "log" },
		{ SL_MOD_SNI_CHECK, "sni-check" },
		{ SL_MOD_DENY_OPAQUE, "deny-opaque" },
		{ SL_MOD_DENY_ECH, "deny-ech" },
		{ SL_MOD_STUN_ONLY, "stun-only" },
		{ RM_NO_SNI_CHECK, "no-sni-check" },
		{ RM_DISABLED, "disabled" },
	};
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < SL_NELEM(tab); i++) {
		if ((mods & tab[i].bit) == 0)
			continue;
		off += (size_t)snprintf(buf + off, off < cap ? cap - off : 0,
		    "%s%s", off ? " " : "", tab[i].name);
	}
	return buf;
}
