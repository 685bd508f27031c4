/*
 * config.h — a sluice configuration file, loaded and compiled.
 *
 * One configuration file (with includes) holds global settings, listeners,
 * resolvers, log sinks, named lists and the ordered, named rules.  Loading
 * it yields an immutable, reference-counted struct sl_config; a reload
 * builds a new one beside the running one and the proxy swaps a pointer.
 * The settings are those of the proxy (limits, timeouts, buffers, DNS) and
 * of sluicectl (nftables); the policy module only parses and checks them.
 * The language is specified in docs/policy.md.
 */
#ifndef SL_CONFIG_H
#define SL_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "../lib/addr.h"
#include "../lib/attr.h"
#include "../lib/diag.h"
#include "policy.h"

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
	unsigned	 response_header_max;	/* response head -> 502 */
	unsigned	 response_header_count_max; /* its fields -> 502 */
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

	/* HTTP/2 on the inspected path (docs/design/h2.md) */
	unsigned	 h2_max_streams;	/* concurrent, per client conn */
	unsigned	 h2_header_list_max;	/* decoded bytes -> 431 */
	unsigned	 h2_max_continuations;	/* per header block -> GOAWAY */
	unsigned	 h2_reset_max;		/* client RST_STREAM per window */
	unsigned	 h2_control_max;	/* PING+SETTINGS per window */
	unsigned	 h2_flood_window;	/* ms, for the two above */
	unsigned	 h2_stall_timeout;	/* ms with data and no window */

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

	/* UDP forwarding (docs/design/udp.md) */
	int		 udp_forward;		/* bind the TPROXY UDP sockets */
	unsigned	 udp_max_sessions;	/* per worker */
	unsigned	 udp_max_sessions_per_client; /* per worker */
	unsigned	 udp_idle_timeout;	/* ms without a datagram */
	unsigned	 udp_blocked_interval;	/* ms: one flow.blocked per
						   client, dst, interval */
	enum sl_fallback udp_inspect;		/* an inspect decision on
						   UDP: deny (default) or
						   splice */

	/* TLS inspection (docs/deploy.md "The inspection CA") */
	char		*ca_cert;		/* PEM; relative: in state_dir */
	char		*ca_key;		/* PEM, mode 0600; ditto */
	char		*upstream_ca_bundle;	/* "" = system trust store */
	unsigned	 cert_cache_size;	/* minted leaves, all workers */
	unsigned	 verify_cache_size;	/* verified upstream chains */
	unsigned	 verify_cache_ttl;	/* ms */

	/* learn mode (docs/design/learn.md): clients refusing the minted
	 * certificate propose splice rules */
	int		 learn_pinned;		/* record client_rejected_mitm */
	unsigned	 learn_min_clients;	/* distinct clients to propose */
	unsigned	 learn_max;		/* destinations kept */
	char		*learn_file;		/* relative: in state_dir */
	unsigned	 learn_save_interval;	/* ms between saves */

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

#endif /* SL_CONFIG_H */
