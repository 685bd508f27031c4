/*
 * req.h — one request on a flow: what the client asked for, what policy
 * decided, what came of it.  A CONNECT tunnel and a transparent flow carry
 * one; an HTTP/1.1 connection one per request, in turn; HTTP/2 (with
 * inspection) several at once.  Refusing a request is an answer to that
 * request: whether the connection goes on is its carrier's choice.
 *
 * Every request goes through the one setup pipeline (pipeline.h); its
 * state is the flow's while the flow carries only it (a tunnel), its own
 * when a forwarder carries several (the flow is then RELAYING).
 *
 * Ownership: the flow owns its current request (flow->req); a request
 * owns its strings and its pending asynchronous step, which is cancelled
 * (detached: its callback never runs) when the request is freed.
 */
#ifndef SL_REQ_H
#define SL_REQ_H

#include <stdint.h>

#include "../lib/addr.h"
#include "../lib/attr.h"
#include "../policy/policy.h"
#include "flow.h"

struct sl_req;
struct sl_req_ops;

/*
 * The one asynchronous step a request may have in flight: a DNS lookup or
 * a connect today, a password check or a certificate mint later.  One rule
 * when the request ends first: cancel() detaches it, so its callback never
 * runs; whatever it was computing is discarded when it completes.
 */
struct sl_pending {
	void	(*cancel)(void *handle);
	void	*handle;
};

struct sl_req {
	struct sl_flow		*flow;		/* borrowed back pointer */
	const struct sl_req_ops	*ops;		/* borrowed, static */
	enum sl_flow_state	 state;		/* see above */
	const char		*method;	/* static: "CONNECT", "GET"... */
	char			*host;		/* the name asked for, or NULL */
	char			*url_host;	/* HTTP: URL facts for policy */
	char			*url_path;
	char			*url_path_noparam; /* without ';' params */
	char			*log_path;	/* HTTP: the path as logged (no
						   query) */
	uint32_t		 index;		/* HTTP: 1 for a connection's
						   first request, ... */
	struct sl_ip		 dst_ip;	/* af 0 until known */
	uint16_t		 dst_port;
	struct sl_decision	 dec;		/* borrowed strings from rt */
	unsigned		 need0;		/* dec.need before the address
						   was known */
	const char		*reason;	/* static, for the log */
	const char		*detail;	/* static: what the reason was
						   about (an alert, a check) */
	const char		*mismatch;	/* static: a claimed name failed
						   its check (sni_mismatch,
						   host_mismatch) */
	char			 term[3];	/* refused: who, and the state
						   it struck in */
	unsigned		 status;	/* HTTP status answered */
	uint64_t		 t0;		/* mono ms when it began */
	uint64_t		 up0, down0;	/* the halves' `sent` then */
	struct sl_pending	 pending;
	unsigned		 decided:1;	/* dec holds a decision */
	unsigned		 admitted:1;	/* ops->admit was asked */
	unsigned		 url_final:1;	/* the URL fact is final (its
						   value, or none) */
	unsigned		 host_literal:1; /* asked for dst_ip by literal */
	unsigned		 blocked:1;	/* refused by policy */
	unsigned		 refused:1;	/* refused: its event is the
						   refusal's, written once */
	unsigned		 inspect_fallback:1; /* inspect -> splice */
	unsigned		 inspecting:1;	/* TLS terminated both ways */
	unsigned		 alert_sent:1;	/* inspect: sluice refused the
						   client's handshake */
};

/* A new request on flow, in state CLASSIFYING.  NULL on OOM. */
struct sl_req *sl_req_new(struct sl_flow *flow, const struct sl_req_ops *ops)
	    SL_NONNULL(1) SL_WUR;
/* Cancel its pending step, free it.  NULL-safe. */
void	sl_req_free(struct sl_req *req);

/* Move to st (checked against the flow's state table). */
void	sl_req_set_state(struct sl_req *req, enum sl_flow_state st)
	    SL_NONNULL(1);

/* The pending step: set it, mark it done (from its callback), cancel. */
void	sl_req_pending_set(struct sl_req *req, void (*cancel)(void *),
	    void *handle) SL_NONNULL(1, 2);
void	sl_req_pending_done(struct sl_req *req) SL_NONNULL(1);
void	sl_req_pending_cancel(struct sl_req *req) SL_NONNULL(1);

/*
 * Bytes up and down forwarded (written or queued) since the request
 * began: the request is over when its response is queued whole.
 */
void	sl_req_bytes(const struct sl_req *req, uint64_t *up, uint64_t *down)
	    SL_NONNULL(1, 2, 3);

/* Replace the requested name (a copy); 0 or -1 (no memory). */
int	sl_req_set_host(struct sl_req *req, const char *name) SL_NONNULL(1)
	    SL_WUR;

/*
 * Parse an authority as HTTP carries it (Host, :authority): its port, if
 * any, left out; 1 an address (into ip), 0 a name (normalised into
 * name), -1 neither.
 */
int	sl_req_authority(const char *h, size_t len, struct sl_ip *ip,
	    char name[256]) SL_NONNULL(1, 3, 4);

/*
 * Record what sl_req_authority() found as the request's name (or its
 * address, asked for by literal) and URL host.  0, or -1 on OOM.
 */
int	sl_req_set_authority(struct sl_req *req, int lit,
	    const struct sl_ip *ip, const char *name) SL_NONNULL(1, 3, 4)
	    SL_WUR;

/*
 * Record the request's path (and query) as URL facts: the two normalised
 * forms policy matches (lib/urlpath.h) and the path as logged.  0, -1 if
 * the path has no single decoding (refuse it: 400 bad_path), -2 on OOM.
 */
int	sl_req_set_path(struct sl_req *req, const char *p, size_t len)
	    SL_NONNULL(1, 2) SL_WUR;

/* The reason logged for a deny decision: "policy" or the guard rail. */
const char *sl_req_deny_reason(const struct sl_req *req) SL_NONNULL(1);

#endif /* SL_REQ_H */
