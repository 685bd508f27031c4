/*
 * vec.h — the RFC 5769 test vectors, read from the repo's copy
 * tests/data/stun/rfc5769-vectors.txt (sections 2.1-2.4: a request and
 * two responses with short-term credentials, a request with long-term
 * credentials), so the bytes and the expected values come from the file
 * and not from the tests.  Header-only: each test binary links only its
 * own file and t.o.
 */
#ifndef SL_TEST_STUN_VEC_H
#define SL_TEST_STUN_VEC_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/attr.h"
#include "tests/unit/t.h"

#define VEC_FILE	"tests/data/stun/rfc5769-vectors.txt"
#define VEC_MAX		8
#define VEC_ATTRS	8

/* An "attr:" line: the attribute as the RFC prints it. */
struct vec_attr {
	unsigned	type;
	size_t		len;
	size_t		off;
	uint8_t		val[64];
};

struct vec {
	char		name[64];
	uint8_t		b[256];
	size_t		n;
	unsigned	type;		/* expect.message-type */
	unsigned	length;		/* expect.header-length-field */
	uint8_t		txid[12];	/* expect.transaction-id */
	size_t		total;		/* length-total */
	uint8_t		key[32];	/* key-hex */
	size_t		keylen;
	char		password[64];	/* short-term password, or the
					 * long-term one after SASLprep */
	uint8_t		user[64];	/* long-term: username-utf8-hex */
	size_t		ulen;
	char		realm[64];
	struct vec_attr	attr[VEC_ATTRS];
	size_t		nattr;
};

static int
vec_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* "b7 e7 a7 01" or "b7e7a701": hex pairs, spaces allowed between;
 * stops at anything else (a '#' comment, a field such as "pad=-"). */
static size_t
vec_unhex(const char *s, uint8_t *out, size_t max)
{
	size_t n = 0;

	for (;;) {
		while (*s == ' ')
			s++;
		if (vec_hexval(s[0]) < 0)
			return n;
		if (vec_hexval(s[1]) < 0 || n == max)
			return SIZE_MAX;
		out[n++] = (uint8_t)(vec_hexval(s[0]) << 4 | vec_hexval(s[1]));
		s += 2;
	}
}

/* The text of "key: value" up to a comment, trailing blanks dropped. */
static void
vec_text(const char *s, char *out, size_t cap)
{
	size_t n = strcspn(s, "#");

	while (n > 0 && s[n - 1] == ' ')
		n--;
	snprintf(out, cap, "%.*s", (int)n, s);
}

/* "attr: 0x8022 SOFTWARE len=16 off=20 value=5354... pad=-" */
static int
vec_attr_line(struct vec *v, const char *s)
{
	struct vec_attr *a;
	const char *len = strstr(s, " len="), *off = strstr(s, " off="),
	    *val = strstr(s, " value=");

	if (v->nattr == VEC_ATTRS || len == NULL || off == NULL || val == NULL)
		return -1;
	a = &v->attr[v->nattr++];
	a->type = (unsigned)strtoul(s, NULL, 16);
	a->len = strtoul(len + 5, NULL, 10);
	a->off = strtoul(off + 5, NULL, 10);
	return vec_unhex(val + 7, a->val, sizeof(a->val)) == a->len ? 0 : -1;
}

/* One "key: value" line of the block being read; -1 if malformed. */
static int
vec_line(struct vec *v, const char *line)
{
	static const char *const k[] = { "hex: ", "expect.message-type: ",
	    "expect.header-length-field: ", "expect.transaction-id: ",
	    "length-total: ", "key-hex: ", "password: ",
	    "password-after-saslprep: ", "username-utf8-hex: ", "realm: ",
	    "attr: " };
	size_t i, kl;

	for (i = 0; i < SL_NELEM(k); i++)
		if (strncmp(line, k[i], strlen(k[i])) == 0)
			break;
	if (i == SL_NELEM(k))
		return 0;
	kl = strlen(k[i]);
	line += kl;
	switch (i) {
	case 0:
		v->n = vec_unhex(line, v->b, sizeof(v->b));
		return v->n == SIZE_MAX ? -1 : 0;
	case 1:
		v->type = (unsigned)strtoul(line, NULL, 16);
		return 0;
	case 2:
		v->length = (unsigned)strtoul(line, NULL, 16);
		return 0;
	case 3:
		return vec_unhex(line, v->txid, 12) == 12 ? 0 : -1;
	case 4:
		v->total = strtoul(line, NULL, 10);
		return 0;
	case 5:
		v->keylen = vec_unhex(line, v->key, sizeof(v->key));
		return v->keylen == SIZE_MAX ? -1 : 0;
	case 6:
	case 7:
		vec_text(line, v->password, sizeof(v->password));
		return 0;
	case 8:
		v->ulen = vec_unhex(line, v->user, sizeof(v->user));
		return v->ulen == SIZE_MAX ? -1 : 0;
	case 9:
		vec_text(line, v->realm, sizeof(v->realm));
		return 0;
	default:
		return vec_attr_line(v, line);
	}
}

/* Read every block of the vectors file; returns how many, -1 on error. */
static SL_UNUSED int
load_vectors(struct vec *v, size_t max)
{
	char *text = t_slurp(VEC_FILE, NULL), *line, *save = NULL;
	int n = -1, bad = 0;		/* n: the block being read */

	if (text == NULL)
		return -1;
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "name: ", 6) == 0) {
			if ((size_t)++n == max)
				break;
			memset(&v[n], 0, sizeof(v[n]));
			snprintf(v[n].name, sizeof(v[n].name), "%s", line + 6);
		} else if (n >= 0 && vec_line(&v[n], line) == -1) {
			bad = 1;
		}
	}
	free(text);
	for (int i = 0; i <= n && i < (int)max; i++)
		if (v[i].n != v[i].total || v[i].n == 0)
			bad = 1;
	return bad ? -1 : n + 1;
}

/* An exactly sized heap copy of b[0, n), so ASan sees any over-read. */
static SL_UNUSED uint8_t *
vec_copy(const uint8_t *b, size_t n)
{
	uint8_t *c = malloc(n > 0 ? n : 1);

	if (c != NULL)
		memcpy(c, b, n);
	return c;
}

#endif /* SL_TEST_STUN_VEC_H */
