/*
 * parse.h — the result every wire parser returns (STYLE.md section 5):
 * the ClientHello reader in tls/, the STUN codec in stun/, the HTTP/1
 * codec in lib/http/.  Here, in lib/, so that no parser module has to
 * include another's header for one enum.
 */
#ifndef SL_PARSE_H
#define SL_PARSE_H

enum sl_parse_rc {
	SL_PARSE_OK = 0,	/* complete and valid */
	SL_PARSE_MORE,		/* valid so far, need more bytes */
	SL_PARSE_NOT_MINE,	/* not this protocol at all */
	SL_PARSE_BAD,		/* this protocol, but malformed */
};

#endif /* SL_PARSE_H */
