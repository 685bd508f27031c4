/*
 * pipeline.h — the one setup pipeline every request goes through,
 * whatever carries it (explicit CONNECT, a transparent flow, each HTTP
 * request of the forwarder):
 *
 *   decide -> [verify the name] -> authenticate -> resolve -> connect
 *          -> handshake (the carrier's ops->connected) -> relay
 *
 * The decision is computed once from the facts known when the request is
 * complete, and again only when a fact it still needs arrives (the policy
 * engine reports which: dec.need) or a name the client claims fails its
 * check (it then grants nothing, and what it names still holds).  An address that arrives when the decision did
 * not need it only meets the guard rails.  Each step may refuse the
 * request through ops->refuse; a step that waits (DNS, connect, later a
 * password check) holds the request's one pending slot.
 *
 * Authenticate is a step that passes until proxy authentication exists;
 * handshake is the carrier's (the CONNECT tunnel's first bytes; TLS with
 * inspection).
 */
#ifndef SL_PIPELINE_H
#define SL_PIPELINE_H

#include "../lib/attr.h"

struct sl_req;

/* What differs between carriers. */
struct sl_req_ops {
	/*
	 * Refuse the request in the carrier's language (an HTTP response,
	 * a TCP reset) and log it.  blocked: by policy, else an error.
	 */
	void	(*refuse)(struct sl_req *req, unsigned status,
		    const char *reason, int blocked);
	/*
	 * Once the decision is final, before connecting: the carrier's own
	 * conditions (ports a client may ask for, content modifiers).  0 to
	 * go on, -1 if it refused the request.  May be NULL.
	 */
	int	(*admit)(struct sl_req *req);
	/*
	 * 1 if a server connection the carrier already holds serves this
	 * request (it is then handed over with fd -1), 0 to connect, -1 if
	 * the carrier refused the request (its only connection is gone).
	 * May be NULL.
	 */
	int	(*reuse)(struct sl_req *req);
	/* The server connection is there (HANDSHAKING); fd is now owned
	 * by the callee, or -1 when reused. */
	void	(*connected)(struct sl_req *req, int fd);
	/*
	 * The destination address is the client's own choice (transparent):
	 * a name that decided must resolve to it (sni-check), else the
	 * request is decided without the name.
	 */
	unsigned verify_name:1;
};

/*
 * Start the pipeline on a request whose facts are set (name, port, the
 * address if the client chose it, the URL if final).  The request ends in
 * ops->connected or ops->refuse, now or later.
 */
void	sl_pl_start(struct sl_req *req) SL_NONNULL(1);

/*
 * A name the client claims for the destination the request already goes
 * to (the SNI inside a CONNECT tunnel, when it differs from the authority
 * or the authority is an address).  A claimed name never escapes what
 * it names: if a deny rule names it, that holds at once.  If the rule
 * the request was decided by waives the check (no-sni-check), the
 * request's decision holds.  Otherwise the name's decision holds only if
 * the name resolves to the destination address; if not, the most
 * restrictive of the decisions in play does (no name, the request's, the
 * name's) and the reason says sni_mismatch.  then(req) runs once the
 * decision is made, now or after the lookup (the request's pending step);
 * applying it is the caller's.  The flow's setup must be alive.
 */
void	sl_pl_claim(struct sl_req *req, const char *name,
	    void (*then)(struct sl_req *)) SL_NONNULL(1, 2, 3);

#endif /* SL_PIPELINE_H */
