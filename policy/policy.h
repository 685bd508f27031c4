/*
 * policy.h — sluice's configuration file and policy engine: the one API the
 * rest of sluice uses.  No libevent, no sockets here: parse, compile, decide.
 *
 * One configuration file (with includes) holds global settings, listeners,
 * resolvers, log sinks, named lists and the ordered, named rules.  Loading
 * it yields an immutable, reference-counted struct sl_config; a reload
 * builds a new one beside the running one and the proxy swaps a pointer.
 * The language is specified in docs/policy.md.
 *
 * Deciding a flow (sl_policy_decide) takes the facts known so far and
 * answers with the decision plus the facts that could still change it, so
 * the proxy gathers exactly what it needs (resolve, peek SNI, inspect).
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

/* ---------------------------------------------------------------------
 * Settings, listeners, resolvers, log sinks: the non-policy statements.
 *
 * Durations are milliseconds, sizes bytes.  Every field has a default
 * (docs/policy.md lists them); `set NAME VALUE` overrides one.
 */

struct sl_portset;			/* compiled port/proto interval set */

/* Does the set contain this port?  proto is IPPROTO_TCP/UDP. */
int	sl_portset_has(const struct sl_portset *ps, uint8_t proto,
	    uint16_t port);
/* The i-th merged range (proto, lo..hi), in order; -1 past the end. */
int	sl_portset_range(const struct sl_portset *ps, size_t i, uint8_t *proto,
	    uint16_t *lo, uint16_t *hi) SL_NONNULL(3, 4, 5);

struct sl_cidrset;			/* compiled CIDR set */
int	sl_cidrset_has(const struct sl_cidrset *cs, const struct sl_ip *ip);

enum sl_fallback {
	SL_FALLBACK_SPLICE = 0,
	SL_FALLBACK_DENY,
};

struct sl_settings {
	/* process */
	unsigned	 workers;		/* 0 = one per core */
	char		*user;			/* "" = do not drop privileges */
	char		*group;			/* "" = user's primary group */
	char		*state_dir;
	char		*log_dir;		/* relative log paths resolve here */
	char		*pid_file;		/* "" = none */
	char		*log_level;		/* err|warn|info|debug */
	unsigned	 max_connections;	/* per worker; beyond: refuse */
	unsigned	 drain_timeout;		/* ms, SIGTERM grace */

	/* explicit proxy HTTP limits */
	unsigned	 request_line_max;	/* bytes -> 414 */
	unsigned	 header_max;		/* bytes of the head -> 431 */
	unsigned	 header_count_max;	/* fields -> 431 */
	unsigned	 client_header_timeout;	/* ms for a whole head -> 408 */
	unsigned	 http_idle_timeout;	/* ms between kept-alive requests */
	int		 via;			/* add "Via: 1.1 sluice" */
	struct sl_portset *connect_ports;	/* CONNECT allowed ports */
	struct sl_portset *http_ports;		/* absolute-URI allowed ports */

	/* upstream and relay */
	unsigned	 connect_timeout;	/* ms -> 504 */
	unsigned	 happy_eyeballs_delay;	/* ms, RFC 8305 */
	unsigned	 idle_timeout;		/* ms without bytes on a tunnel */
	unsigned	 relay_buffer;		/* bytes in flight per direction */
	unsigned	 pipe_size;		/* splice pipe capacity */
	unsigned	 so_mark;		/* SO_MARK on upstream sockets */

	/* DNS */
	unsigned	 dns_timeout;		/* ms per try */
	unsigned	 dns_tries;
	unsigned	 dns_cache_size;	/* entries per worker */
	unsigned	 dns_ttl_min;		/* ms */
	unsigned	 dns_ttl_max;		/* ms */
	unsigned	 dns_negative_ttl;	/* ms */
	int		 dns_prefer_ipv6;	/* order of happy eyeballs */

	/* transparent mode and classification */
	unsigned	 peek_timeout;		/* ms before deciding on IP/port */
	unsigned	 peek_max;		/* ClientHello reassembly cap */
	int		 sni_check;		/* default for domain rules */
	enum sl_fallback inspect_fallback;	/* until inspection exists */
	char		*nft_clients;		/* for `sluicectl nft`: CIDRs */
	char		*nft_interfaces;	/* client-side interfaces */
	struct sl_portset *transparent_tcp_ports; /* redirected to sluiced */
	struct sl_portset *transparent_udp_ports; /* TPROXYed */

	/* flow log */
	int		 log_allowed;		/* flow.end for every allowed flow */
	int		 log_silent;		/* flow.error for silent clients */
};

enum sl_listen_kind {
	SL_LISTEN_EXPLICIT = 0,		/* HTTP proxy: CONNECT + absolute URI */
	SL_LISTEN_TRANSPARENT,		/* nft redirect: SO_ORIGINAL_DST */
	SL_LISTEN_TPROXY,		/* nft tproxy: IP_TRANSPARENT, getsockname */
};

struct sl_listen {
	enum sl_listen_kind	 kind;
	struct sockaddr_storage	 addr;
	socklen_t		 addrlen;
	struct sl_cidrset	*allow_from;	/* clients allowed; never NULL */
	struct sl_loc		 loc;
};

struct sl_resolver {
	struct sockaddr_storage	 addr;
	socklen_t		 addrlen;
};

enum sl_sink_kind {
	SL_SINK_JSON = 0,	/* one JSON object per line */
};

struct sl_sink {
	enum sl_sink_kind	 kind;
	char			*path;	/* absolute, or "stdout"/"stderr" */
};

struct sl_config;

/*
 * Overrides given on the command line (`sluiced -o name=value`): applied
 * after the file's own `set` lines, with the same validation.
 */
struct sl_override {
	const char	*name;
	const char	*value;
};

/*
 * Load, parse and compile a configuration file and everything it includes.
 * Returns a new config with one reference, or NULL if there were errors.
 * Diagnostics (errors and warnings) are added to diags in file order.
 */
struct sl_config *sl_config_load(const char *path,
	    const struct sl_override *ov, size_t nov, struct sl_diags *diags)
	    SL_NONNULL(1, 4) SL_WUR;

/* The same from memory; `name` is used in diagnostics and for includes. */
struct sl_config *sl_config_load_buf(const char *name, const char *buf,
	    size_t len, const struct sl_override *ov, size_t nov,
	    struct sl_diags *diags) SL_NONNULL(1, 2, 6) SL_WUR;

/* Reference counting, safe across threads.  unref(NULL) is a no-op. */
struct sl_config *sl_config_ref(struct sl_config *cfg) SL_NONNULL(1);
void	sl_config_unref(struct sl_config *cfg);

const struct sl_settings *sl_config_settings(const struct sl_config *cfg)
	    SL_NONNULL(1);
const struct sl_listen *sl_config_listeners(const struct sl_config *cfg,
	    size_t *n) SL_NONNULL(1, 2);
const struct sl_resolver *sl_config_resolvers(const struct sl_config *cfg,
	    size_t *n) SL_NONNULL(1, 2);
const struct sl_sink *sl_config_sinks(const struct sl_config *cfg, size_t *n)
	    SL_NONNULL(1, 2);
struct sl_policy *sl_config_policy(const struct sl_config *cfg) SL_NONNULL(1);
const char *sl_config_path(const struct sl_config *cfg) SL_NONNULL(1);

/* ---------------------------------------------------------------------
 * Editing a configuration file by lines (policy/edit.c), for the admin
 * CLI: every change rewrites only the lines of the rule concerned; all
 * other lines, comments and blank lines stay byte-identical.  Additive to
 * the original contract.
 */
struct sl_edit;

/* Load a file (or a buffer) as lines.  NULL on error (*err, static). */
struct sl_edit *sl_edit_load(const char *path, const char **err)
	    SL_NONNULL(1, 2);
struct sl_edit *sl_edit_load_buf(const char *buf, size_t len)
	    SL_NONNULL(1);
void	sl_edit_free(struct sl_edit *e);

/* Lines first..last (1-based) of rule NAME's statement; 0 or -1. */
int	sl_edit_find(const struct sl_edit *e, const char *name,
	    unsigned *first, unsigned *last) SL_NONNULL(1, 2, 3, 4);
/*
 * Insert one rule statement (text without a newline, e.g. "rule web
 * splice domain a.test") before or after rule `anchor`, or, with anchor
 * NULL, after the last rule (before a `default` if the file has one).
 */
int	sl_edit_insert(struct sl_edit *e, const char *rule_text,
	    const char *anchor, int after) SL_NONNULL(1, 2);
int	sl_edit_delete(struct sl_edit *e, const char *name) SL_NONNULL(1, 2);
/* Move rule `name` before/after `anchor` (NULL: to the end). */
int	sl_edit_move(struct sl_edit *e, const char *name, const char *anchor,
	    int after) SL_NONNULL(1, 2);
/* Remove / add the `disabled` modifier.  Already so: no change, 0. */
int	sl_edit_enable(struct sl_edit *e, const char *name) SL_NONNULL(1, 2);
int	sl_edit_disable(struct sl_edit *e, const char *name) SL_NONNULL(1, 2);
/* Why the last call failed (static or owned by e). */
const char *sl_edit_error(const struct sl_edit *e) SL_NONNULL(1);
size_t	sl_edit_nlines(const struct sl_edit *e) SL_NONNULL(1);
/* Line i (0-based) with its line terminator, exactly as stored. */
const char *sl_edit_line(const struct sl_edit *e, size_t i, size_t *len)
	    SL_NONNULL(1, 3);
/* The whole text (allocated; caller frees). */
char	*sl_edit_text(const struct sl_edit *e, size_t *len) SL_NONNULL(1, 2);
/*
 * Write atomically: a temporary file in the same directory, fsync, the
 * original's permissions, rename over path.  0 or -1 (errno set).
 */
int	sl_edit_write(const struct sl_edit *e, const char *path)
	    SL_NONNULL(1, 2);

/* ---------------------------------------------------------------------
 * Vendor profiles (policy/profile.c) and IP-list import (policy/import.c).
 * Additive to the original contract.
 */
struct sl_profile_out {
	char	*profile;	/* the profile (.conf) text */
	char	*report;	/* understood / normalised / duplicates /
				   not used, for a human */
	char	*list_name;	/* an external list the profile loads from
				   "<list_name>.list", or NULL */
	char	*list_text;	/* that file's initial (empty) content */
};

/*
 * Generate a profile for `vendor` (lower-case letters and digits: rule
 * and list names start with it) from a requirement document's text;
 * `doc` is the document's file name, cited by every rule.  0 or -1.
 */
int	sl_profile_generate(const char *vendor, const char *doc,
	    const char *text, size_t len, struct sl_profile_out *out)
	    SL_NONNULL(1, 2, 3, 5);
void	sl_profile_out_free(struct sl_profile_out *out);

/*
 * Read CIDRs from a JSON document (see docs/policy.md for the shapes)
 * and produce a list file: a header naming `source` and `date`, then one
 * CIDR per line.  Invalid entries go to diags with their JSON path, as
 * errors; valid ones are kept.  Returns the text (caller frees) or NULL
 * if the document is not usable at all; *count gets the CIDRs written.
 */
char	*sl_import_json(const char *json, size_t len, const char *source,
	    const char *date, size_t *count, struct sl_diags *diags)
	    SL_NONNULL(1, 3, 4, 5, 6);

/*
 * Normalise a destination name for matching: lowercase, strip one trailing
 * dot, check it is a plausible DNS name (LDH labels, punycode "xn--" kept
 * as is, 1..63 per label, <= 253 total; '_' tolerated).  Writes into out
 * (cap >= 256).  Returns 0, or -1 for a name that cannot be a host.
 */
int	sl_name_normalise(const char *in, size_t len, char *out, size_t cap)
	    SL_NONNULL(1, 3);

#endif /* SL_POLICY_H */
