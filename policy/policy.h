/*
 * policy.h — the policy engine: deciding.  No libevent, no sockets here.
 *
 * Deciding a flow (sl_policy_decide) takes the facts known so far and
 * answers with the decision plus the facts that could still change it, so
 * the proxy gathers exactly what it needs (resolve, peek SNI, inspect).
 *
 * The module has three headers, one per kind of caller, so that none sees
 * what it has no business with:
 *   policy.h  deciding and explaining (the proxy's hot path, explain);
 *   config.h  loading a configuration file: the compiled policy beside
 *             the settings, listeners, resolvers and sinks it carries;
 *   edit.h    the admin's tools: line-preserving edits, vendor profiles,
 *             IP-list import (sluicectl only).
 * The language is specified in docs/policy.md.
 */
#ifndef SL_POLICY_H
#define SL_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "../lib/addr.h"
#include "../lib/attr.h"
#include "../lib/diag.h"

/* ---------------------------------------------------------------------
 * Decisions
 */

enum sl_action {
	SL_ACT_DENY = 0,
	SL_ACT_SPLICE,		/* bytes pass untouched ("bypass inspection") */
	SL_ACT_INSPECT,		/* terminate TLS / parse HTTP, URL rules apply */
};

/* Rule modifiers (bit mask). */
#define SL_MOD_NOAUTH		0x0001	/* no proxy authentication */
#define SL_MOD_LOG		0x0002	/* log allowed flows (flow.end) too */
#define SL_MOD_SNI_CHECK	0x0004	/* name must resolve to the dst IP */
#define SL_MOD_DENY_OPAQUE	0x0008	/* refuse non-TLS non-HTTP bytes */
#define SL_MOD_DENY_ECH		0x0010	/* refuse ClientHellos offering ECH */
#define SL_MOD_STUN_ONLY	0x0020	/* UDP: STUN first, then STUN or
					   ChannelData from the client */

/* Facts that may be unknown when a flow is first decided (bit mask). */
#define SL_FACT_NAME		0x0001	/* destination name */
#define SL_FACT_DST_IP		0x0002	/* destination address */
#define SL_FACT_URL		0x0004	/* request host + path (HTTP/inspect) */
#define SL_FACT_USER		0x0008	/* authenticated user */
#define SL_FACT_GEO		0x0010	/* GeoIP country / ASN of dst */
#define SL_FACT_ALL		0x001f

/*
 * What is known about a flow.  Protocol, port and client address are always
 * known.  A bit in `known` says the fact is final: its value is set, or it
 * is final that there is none (NULL / af == 0), and matchers on it then
 * simply do not match.  A fact whose bit is clear is "not yet known".
 *
 * The path has two readings (lib/urlpath.h): as nginx reads it, and with
 * ';' parameters removed, as Tomcat does.  A url matcher of a deny rule
 * matches when either reading does, one of a splice or inspect rule only
 * when both do (docs/policy.md).
 */
struct sl_facts {
	unsigned	 known;		/* SL_FACT_* */
	uint8_t		 proto;		/* IPPROTO_TCP or IPPROTO_UDP */
	uint16_t	 port;		/* destination port */
	struct sl_ip	 src;		/* client address */
	struct sl_ip	 dst;		/* destination address, af 0 if none */
	const char	*name;		/* lowercase ASCII, no trailing dot */
	const char	*url_host;	/* lowercase, no port */
	const char	*url_path;	/* sl_urlpath_normalise() of path + query */
	const char	*url_path_noparam; /* sl_urlpath_normalise_noparam()
					   of the same, or NULL (one
					   reading: url_path) */
	const char	*user;
	const char	*country;	/* ISO 3166-1 alpha-2, upper case */
	uint32_t	 asn;
	unsigned	 dst_local:1;	/* dst is one of the appliance's own */
};

/* Decision flags. */
#define SL_DEC_BY_NAME		0x0001	/* the rule matched on a domain */
#define SL_DEC_PORT_EXPLICIT	0x0002	/* the rule has a port matcher */
#define SL_DEC_GUARD		0x0004	/* a built-in guard rail refused it */
#define SL_DEC_DEFAULT		0x0008	/* no rule matched: the default */

struct sl_rule;				/* compiled rule, owned by the policy */

struct sl_decision {
	enum sl_action	 action;
	unsigned	 mods;		/* SL_MOD_* */
	unsigned	 flags;		/* SL_DEC_* */
	/*
	 * Facts not yet known that could change this decision: an earlier
	 * rule might still match once they are.  0 means final.  When it
	 * holds SL_FACT_URL the flow must be parsed (plain HTTP) or inspected
	 * (TLS) to be decided; the proxy then decides again per request.
	 */
	unsigned	 need;
	const struct sl_rule *rule;	/* borrowed; NULL for default/guard */
	const char	*rule_name;	/* borrowed: rule name, "default",
					   or "guard:<what>" */
	const char	*reason;	/* borrowed, static: why a guard or the
					   default refused ("loopback", ...) */
	uint32_t	 rule_index;	/* file order; UINT32_MAX for none */
};

struct sl_policy;			/* compiled, immutable */

/*
 * Decide a flow from the facts so far.  Never fails; never allocates.
 * Applies the built-in guard rails first (loopback, link-local,
 * unspecified, multicast, dst_local) unless the matching rule names the
 * address with an `ip` matcher inside the guarded range.  Counts a hit on
 * the rule only when the decision is final (need == 0).
 */
void	sl_policy_decide(const struct sl_policy *pol, const struct sl_facts *f,
	    struct sl_decision *out) SL_NONNULL(1, 2, 3);

/*
 * A decision made while the destination address was unknown, and that did
 * not need it (SL_FACT_DST_IP not in its `need`), holds for any address
 * but for the built-in guard rails: apply them for f->dst.  The decision
 * becomes a guard refusal unless its rule names the address.  Cheaper
 * than deciding again, and counts no second hit.
 */
void	sl_policy_guard(const struct sl_policy *pol, const struct sl_facts *f,
	    struct sl_decision *dec) SL_NONNULL(1, 2, 3);

/* Rule accessors (rule borrowed from a live policy). */
const char	*sl_rule_name(const struct sl_rule *r);
const char	*sl_rule_cite(const struct sl_rule *r);	/* or NULL */
const char	*sl_rule_level(const struct sl_rule *r);	/* "must"/"should"/NULL */
const struct sl_loc *sl_rule_loc(const struct sl_rule *r);

const char	*sl_action_name(enum sl_action a);	/* "splice", ... */

/*
 * Human-readable account of a decision for `sluicectl explain`: which rule
 * matched, which earlier rules were skipped and why, what is still needed.
 * Allocated; the caller frees it.  NULL on OOM.
 */
char	*sl_policy_explain(const struct sl_policy *pol,
	    const struct sl_facts *f) SL_NONNULL(1, 2);

/*
 * The steps behind a decision, for `sluicectl explain`: every rule before
 * the winning one (and the winner), in file order.  Additive to the
 * original contract.
 */
enum sl_trace_state {
	SL_TRACE_NOMATCH = 0,	/* a known fact rules it out */
	SL_TRACE_UNDETERMINED,	/* waits for facts in `need` */
	SL_TRACE_DISABLED,	/* `disabled` in the file */
	SL_TRACE_MATCH,		/* the winner */
};

struct sl_trace_step {
	const struct sl_rule *rule;	/* borrowed */
	enum sl_trace_state state;
	unsigned	 need;		/* undetermined: SL_FACT_* */
	char		 why[160];	/* no match: which matcher and fact */
};

/*
 * Decide like sl_policy_decide (without counting a hit) and record up to
 * cap steps; *total gets how many there were.  Returns the steps stored.
 */
size_t	sl_policy_trace(const struct sl_policy *pol, const struct sl_facts *f,
	    struct sl_decision *out, struct sl_trace_step *steps, size_t cap,
	    size_t *total) SL_NONNULL(1, 2, 3, 6);

/* Extra rule accessors (additive). */
int	sl_rule_disabled(const struct sl_rule *r);
enum sl_action sl_rule_action(const struct sl_rule *r);
unsigned sl_rule_mods(const struct sl_rule *r);	/* effective SL_MOD_* */
/* Modifier names ("noauth sni-check") into buf; returns buf. */
const char *sl_mods_fmt(unsigned mods, char *buf, size_t cap);
/* Fact names ("ip,url") into buf; returns buf ("" for none). */
const char *sl_facts_fmt(unsigned facts, char *buf, size_t cap);
/* Named lists in the policy. */
size_t	sl_policy_nlists(const struct sl_policy *pol);
/* The default decision's hits (decisions with no rule). */
uint64_t sl_policy_default_hits(const struct sl_policy *pol);

/* Per-rule hit counters; copy by rule name from an older policy. */
uint64_t sl_rule_hits(const struct sl_rule *r);
void	 sl_policy_inherit_hits(struct sl_policy *newp,
	    const struct sl_policy *oldp) SL_NONNULL(1, 2);
size_t	 sl_policy_nrules(const struct sl_policy *pol);
const struct sl_rule *sl_policy_rule(const struct sl_policy *pol, size_t i);

/*
 * Normalise a destination name for matching: lowercase, strip one trailing
 * dot, check it is a plausible DNS name (LDH labels, punycode "xn--" kept
 * as is, 1..63 per label, <= 253 total; '_' tolerated).  Writes into out
 * (cap >= 256).  Returns 0, or -1 for a name that cannot be a host.
 */
int	sl_name_normalise(const char *in, size_t len, char *out, size_t cap)
	    SL_NONNULL(1, 3);

#endif /* SL_POLICY_H */
