/*
 * sink.h — the event log: typed events from the threads that produce them
 * to the sinks that write them (docs/logs.md, docs/design/events.md).
 *
 *   producer --sl_event_put()--> one SPSC ring per (producer, sink)
 *            --> the sink's own thread: decode, format, write
 *
 * A producer (a worker, the main thread) fills a struct sl_event with
 * borrowed pointers and puts it: the record, strings included, is copied
 * into each sink's ring for that producer, so the producer may free its
 * memory right after.  Putting never blocks, takes no lock and allocates
 * nothing; a full ring drops the record for that sink only and counts it
 * there.  Each sink formats records with its own format and reports its
 * own drops as a log.dropped event in its own output, so a sink that
 * blocks (a FIFO nobody reads) stalls no worker and no other sink.  A
 * sink whose output refuses lines (a full disk, a reader gone) writes no
 * partial record, counts what it loses, and reports it in a log.dropped
 * event once its output takes lines again.
 */
#ifndef SL_SINK_H
#define SL_SINK_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "../../lib/addr.h"
#include "../../lib/attr.h"

struct sl_sink;			/* config.h: a configured `log` statement */
struct sl_sinks;
struct sl_evsrc;

/*
 * What happened.  Values are not stored anywhere outside the process, so
 * a new kind may go anywhere before SL_EV_NKINDS; a per-sink filter is a
 * bit mask over kinds (1 << kind), hence at most 64 kinds.
 */
enum sl_event_kind {
	SL_EV_FLOW_END = 0,
	SL_EV_FLOW_BLOCKED,
	SL_EV_FLOW_ERROR,
	SL_EV_LOG_DROPPED,	/* written by a sink itself, never put */
	SL_EV_FLOW_REQUEST,	/* one HTTP request of a connection, done */
	SL_EV_NKINDS
};

/* Closed sets are numbers in the record; 0 always means "absent". */
enum sl_ev_mode {
	SL_EV_MODE_UNSET = 0,
	SL_EV_MODE_EXPLICIT,
	SL_EV_MODE_TRANSPARENT,
};

enum sl_ev_proto {
	SL_EV_PROTO_UNSET = 0,
	SL_EV_PROTO_TLS,
	SL_EV_PROTO_HTTP,
	SL_EV_PROTO_STUN,
	SL_EV_PROTO_OPAQUE,
	SL_EV_PROTO_NONE,	/* the client sent nothing before the timeout */
	SL_EV_PROTO_UDP,	/* UDP datagrams, neither STUN nor QUIC */
	SL_EV_PROTO_QUIC,	/* UDP: a QUIC Initial first */
};

enum sl_ev_action {
	SL_EV_ACT_UNSET = 0,
	SL_EV_ACT_SPLICE,
	SL_EV_ACT_INSPECT,
	SL_EV_ACT_DENY,
};

/*
 * Strings are cut to this many bytes (at a UTF-8 character boundary) when
 * they are queued.  The JSON line is 4 KiB at most, so the cut never
 * shows in it; a line that does not fit still ends with "trunc":true.
 */
#define SL_EV_STR_MAX	4096

/*
 * One event.  Which fields a kind carries, and when each is absent, is
 * docs/logs.md; a format writes what is set.  Strings are borrowed from
 * the producer until sl_event_put() returns (NULL: absent; "" is a
 * present empty string).  Zero a struct before filling it.
 */
struct sl_event {
	enum sl_event_kind	 kind;
	struct timespec		 ts;	/* CLOCK_REALTIME; {0, 0}: set by put */
	/* flow.* */
	uint64_t		 flow;	/* flow id */
	uint32_t		 req;	/* its request's number; 0: none */
	uint32_t		 requests; /* requests the flow carried; 0: none */
	enum sl_ev_mode		 mode;
	enum sl_ev_proto	 proto;
	enum sl_ev_action	 action;	/* as applied */
	struct sl_ip		 cli_ip;
	uint16_t		 cli_port;
	uint16_t		 dst_port;	/* 0: unknown */
	struct sl_ip		 dst_ip;	/* af 0: unknown (then dst_port) */
	unsigned		 status;	/* HTTP status answered; 0: none */
	const char		*method;
	const char		*host;	/* as named, or the IP literal asked */
	const char		*path;	/* HTTP request path, no query */
	const char		*sni;
	const char		*rule;
	const char		*level;
	const char		*reason;
	const char		*detail;	/* what reason was about */
	char			 term[3];	/* "" : absent */
	uint64_t		 up, down, ms;
	/* UDP: datagrams each way (flow.end), and datagrams refused in
	   one interval (flow.blocked); 0: absent */
	uint64_t		 pkts_up, pkts_down, count;
	/* log.dropped (and reason: NULL for a full queue) */
	uint64_t		 dropped;	/* since this sink's last report */
	uint64_t		 dropped_total;	/* by this sink since start */
	struct timespec		 since;	/* {0, 0}, or when writes began to fail */
};

/* Names as logged ("flow.end", "tls", "splice"...); NULL for UNSET. */
const char *sl_event_kind_name(enum sl_event_kind k);
const char *sl_ev_mode_name(enum sl_ev_mode m);
const char *sl_ev_proto_name(enum sl_ev_proto p);
const char *sl_ev_action_name(enum sl_ev_action a);
/* The reverse (a sink's event filter names kinds): -1 if unknown. */
int	sl_event_kind_parse(const char *name) SL_NONNULL(1);

/*
 * A format: renders one event into buf (cap >= 32 bytes, line_max as the
 * format declares) and returns the bytes to write, the line end included;
 * 0 writes nothing.  Runs on the sink's thread, one event at a time.
 */
typedef size_t (*sl_evfmt_fn)(const struct sl_event *ev, char *buf,
    size_t cap);

struct sl_evfmt {
	const char	*name;
	size_t		 line_max;	/* the buffer a sink gives fn */
	sl_evfmt_fn	 fn;
};

/* JSON lines, schema v1 (docs/logs.md), 4 KiB a line. */
extern const struct sl_evfmt sl_evfmt_json1;

/*
 * An empty set of sinks; add sinks, then sources.  NULL when out of
 * memory.  The caller owns it: sl_sinks_close().
 */
struct sl_sinks *sl_sinks_new(void) SL_WUR;
/*
 * Open a sink: path is a file (opened for appending, before privileges
 * are dropped), "stdout" or "stderr"; fmt is borrowed for the set's life.
 * Only before the first sl_sinks_source().  0, or -1 (logged).
 */
int	sl_sinks_add(struct sl_sinks *s, const char *path,
	    const struct sl_evfmt *fmt) SL_NONNULL(1, 2, 3) SL_WUR;
/* sl_sinks_new() plus each configured sink.  NULL on error (logged). */
struct sl_sinks *sl_sinks_open(const struct sl_sink *conf, size_t n) SL_WUR;
/*
 * Start one writer thread per sink: after any fork(), which keeps only
 * the calling thread.  Events queue up until then.  -1 on error (logged;
 * sl_sinks_close() still stops what started).
 */
int	sl_sinks_start(struct sl_sinks *s) SL_NONNULL(1) SL_WUR;
/* Re-open the file sinks (log rotation); any thread, returns at once. */
void	sl_sinks_reopen(struct sl_sinks *s) SL_NONNULL(1);
/*
 * Stop: every sink writes what is queued and its drops, then its thread
 * ends; a sink that has taken no line for 5 s is abandoned (its thread
 * cancelled, its queue lost, and the daemon log says so).  Never started:
 * the queues are written from the calling thread.  Then frees the set,
 * its sources included.  Producers must have stopped.  NULL-safe.
 */
void	sl_sinks_close(struct sl_sinks *s);

/*
 * Events sink i (in the order added) has lost so far, to a full queue or
 * to its output refusing them; any thread.
 */
uint64_t sl_sinks_dropped(const struct sl_sinks *s, size_t i) SL_NONNULL(1);

/*
 * A producer's handle: one ring of ring_bytes (rounded up to a power of
 * two, at least 64 KiB) per sink.  Owned by s; one per producing thread,
 * used by that thread only.  NULL when out of memory or sources.
 */
struct sl_evsrc *sl_sinks_source(struct sl_sinks *s, size_t ring_bytes)
	    SL_NONNULL(1) SL_WUR;
/*
 * Queue ev for every sink (see above); stamps ts when it is zero.  A
 * NULL src (no flow log) drops it silently.
 */
void	sl_event_put(struct sl_evsrc *src, const struct sl_event *ev)
	    SL_NONNULL(2);

#endif /* SL_SINK_H */
