/*
 * event.c — names of the event log's closed sets, and one event as one
 * contiguous record.
 *
 * A record is
 *
 *   struct sl_event (string pointers NULL) | u16 length x 8 | strings
 *
 * each string followed by a NUL, so that a decoded event points into the
 * ring instead of copying.  The struct goes in as a whole: a numeric
 * field added to struct sl_event is carried without touching this file;
 * only a new string field must be named in ev_str below.
 */
#include <stddef.h>
#include <string.h>

#include "sink_int.h"

#define EV_NULL	0xffffu		/* length of a NULL string */

static const char *const kind_names[SL_EV_NKINDS] = {
	[SL_EV_FLOW_END] = "flow.end",
	[SL_EV_FLOW_BLOCKED] = "flow.blocked",
	[SL_EV_FLOW_ERROR] = "flow.error",
	[SL_EV_LOG_DROPPED] = "log.dropped",
	[SL_EV_FLOW_REQUEST] = "flow.request",
};

static const char *const mode_names[] = {
	NULL, "explicit", "transparent",
};

static const char *const proto_names[] = {
	NULL, "tls", "http", "stun", "opaque", "none", "udp", "quic",
};

static const char *const action_names[] = {
	NULL, "splice", "inspect", "deny",
};

/* The string fields, in record order. */
static const size_t ev_str[SL_EV_NSTR] = {
	offsetof(struct sl_event, method),
	offsetof(struct sl_event, host),
	offsetof(struct sl_event, sni),
	offsetof(struct sl_event, rule),
	offsetof(struct sl_event, level),
	offsetof(struct sl_event, reason),
	offsetof(struct sl_event, path),
	offsetof(struct sl_event, detail),
};

_Static_assert(SL_EV_STR_MAX < EV_NULL, "a string length fits 16 bits");

static const char *
name_of(const char *const *names, size_t n, unsigned i)
{
	return i < n ? names[i] : NULL;
}

/* Index of name in names, or -1. */
static int
name_find(const char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; name != NULL && i < n; i++)
		if (names[i] != NULL && strcmp(names[i], name) == 0)
			return (int)i;
	return -1;
}

const char *
sl_event_kind_name(enum sl_event_kind k)
{
	return name_of(kind_names, SL_NELEM(kind_names), k);
}

const char *
sl_ev_mode_name(enum sl_ev_mode m)
{
	return name_of(mode_names, SL_NELEM(mode_names), m);
}

const char *
sl_ev_proto_name(enum sl_ev_proto p)
{
	return name_of(proto_names, SL_NELEM(proto_names), p);
}

const char *
sl_ev_action_name(enum sl_ev_action a)
{
	return name_of(action_names, SL_NELEM(action_names), a);
}

int
sl_event_kind_parse(const char *name)
{
	return name_find(kind_names, SL_NELEM(kind_names), name);
}

static const char *
ev_get_str(const struct sl_event *ev, size_t i)
{
	const char *p;

	memcpy(&p, (const char *)ev + ev_str[i], sizeof(p));
	return p;
}

static void
ev_set_str(struct sl_event *ev, size_t i, const char *p)
{
	memcpy((char *)ev + ev_str[i], &p, sizeof(p));
}

/* strlen, cut to SL_EV_STR_MAX without splitting a UTF-8 sequence. */
static size_t
ev_str_len(const char *s)
{
	size_t n = strnlen(s, SL_EV_STR_MAX + 1);

	if (n <= SL_EV_STR_MAX)
		return n;
	n = SL_EV_STR_MAX;
	/* s[n] is the first byte left out: a continuation byte there means
	 * the kept part ends inside a character. */
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

size_t
sl_event_encoded_len(const struct sl_event *ev, size_t slen[SL_EV_NSTR])
{
	size_t len = sizeof(*ev) + SL_EV_NSTR * sizeof(uint16_t);

	for (size_t i = 0; i < SL_EV_NSTR; i++) {
		const char *s = ev_get_str(ev, i);

		slen[i] = s == NULL ? SIZE_MAX : ev_str_len(s);
		if (s != NULL)
			len += slen[i] + 1;
	}
	return len;
}

void
sl_event_encode(void *dst, const struct sl_event *ev,
    const size_t slen[SL_EV_NSTR])
{
	char *p = dst;
	struct sl_event fixed = *ev;

	/* No pointer into the producer's memory reaches the ring. */
	for (size_t i = 0; i < SL_EV_NSTR; i++)
		ev_set_str(&fixed, i, NULL);
	memcpy(p, &fixed, sizeof(fixed));
	p += sizeof(fixed);
	for (size_t i = 0; i < SL_EV_NSTR; i++) {
		uint16_t l = slen[i] == SIZE_MAX ? EV_NULL : (uint16_t)slen[i];

		memcpy(p, &l, sizeof(l));
		p += sizeof(l);
	}
	for (size_t i = 0; i < SL_EV_NSTR; i++) {
		if (slen[i] == SIZE_MAX)
			continue;
		memcpy(p, ev_get_str(ev, i), slen[i]);
		p[slen[i]] = '\0';
		p += slen[i] + 1;
	}
}

void
sl_event_decode(struct sl_event *ev, const void *rec)
{
	const char *p = rec;
	uint16_t l[SL_EV_NSTR];

	/* The ring only guarantees 4-byte alignment: copy, do not cast. */
	memcpy(ev, p, sizeof(*ev));
	p += sizeof(*ev);
	memcpy(l, p, sizeof(l));
	p += sizeof(l);
	for (size_t i = 0; i < SL_EV_NSTR; i++) {
		if (l[i] == EV_NULL) {
			ev_set_str(ev, i, NULL);
			continue;
		}
		ev_set_str(ev, i, p);
		p += (size_t)l[i] + 1;
	}
}
