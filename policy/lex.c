/*
 * lex.c — tokenizer of the configuration language.  See lex.h.
 */
#include <stdio.h>
#include <string.h>

#include "../lib/alloc.h"
#include "lex.h"

static int
lex_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static int
lex_ctl(unsigned char c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

void
lex_init(struct lexer *lx, const char *buf, size_t len, lex_err_fn err,
    void *arg)
{
	memset(lx, 0, sizeof(*lx));
	lx->buf = buf;
	lx->len = len;
	lx->line = 1;
	lx->err = err;
	lx->arg = arg;
	/* A UTF-8 byte order mark, as some editors write, is not content. */
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		lx->off = 3;
}

void
lex_stmt_free(struct lex_stmt *st)
{
	if (st == NULL)
		return;
	sl_free(st->t);
	sl_free(st->buf);
	memset(st, 0, sizeof(*st));
}

static void
lex_error(struct lexer *lx, struct lex_stmt *st, unsigned line, unsigned col,
    const char *msg)
{
	st->bad = 1;
	if (lx->err != NULL)
		lx->err(lx->arg, line, col, msg);
}

/* Append bytes to the statement's text buffer; returns the offset. */
static int
lex_text(struct lex_stmt *st, const char *s, size_t n, size_t *off)
{
	if (st->blen + n + 1 > st->bcap) {
		size_t ncap = st->bcap ? st->bcap : 256;
		char *nb;

		while (ncap < st->blen + n + 1)
			ncap *= 2;
		if ((nb = sl_realloc(st->buf, ncap)) == NULL)
			return -1;
		st->buf = nb;
		st->bcap = ncap;
	}
	*off = st->blen;
	memcpy(st->buf + st->blen, s, n);
	st->blen += n;
	st->buf[st->blen++] = '\0';
	return 0;
}

static int
lex_push(struct lex_stmt *st, enum lex_kind kind, size_t off, size_t len,
    unsigned line, unsigned col, unsigned rawlen)
{
	struct lex_token *t;

	if (st->n == st->cap) {
		size_t ncap = st->cap ? st->cap * 2 : 16;
		struct lex_token *nt = sl_realloc(st->t, ncap * sizeof(*nt));

		if (nt == NULL)
			return -1;
		st->t = nt;
		st->cap = ncap;
	}
	t = &st->t[st->n++];
	t->kind = kind;
	/* s is set when the statement ends: the buffer may still move. */
	t->s = NULL;
	t->off = off;
	t->len = len;
	t->line = line;
	t->col = col;
	t->rawlen = rawlen;
	return 0;
}

/* Only blanks, or a comment, from p to e? */
static int
lex_rest_empty(const char *p, const char *e)
{
	for (; p < e; p++) {
		if (*p == '#')
			return 1;
		if (!lex_blank(*p))
			return 0;
	}
	return 1;
}

/* A quoted string starting at s[i] == '"'.  Returns the index after it. */
static size_t
lex_string(struct lexer *lx, struct lex_stmt *st, const char *s, size_t i,
    size_t e, unsigned line, int *oom)
{
	char tmp[4096], *out = tmp;
	size_t start = i, n = 0, off;
	char msg[96];

	for (i++; i < e; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"')
			break;
		if (c == '\\') {
			if (i + 1 < e && (s[i + 1] == '"' || s[i + 1] == '\\')) {
				c = (unsigned char)s[++i];
			} else {
				snprintf(msg, sizeof(msg), "unknown escape "
				    "'\\%c' in string (expected \\\" or \\\\)",
				    i + 1 < e && !lex_ctl((unsigned char)s[i + 1])
				    ? s[i + 1] : ' ');
				lex_error(lx, st, line, (unsigned)(i + 1), msg);
				continue;
			}
		} else if (lex_ctl(c)) {
			lex_error(lx, st, line, (unsigned)(i + 1),
			    "control character in string");
			continue;
		}
		if (n == sizeof(tmp) - 1) {
			lex_error(lx, st, line, (unsigned)(start + 1),
			    "string longer than 4095 bytes");
			return e;
		}
		out[n++] = (char)c;
	}
	if (i >= e) {
		lex_error(lx, st, line, (unsigned)(start + 1),
		    "unterminated string (expected a closing '\"')");
		return e;
	}
	if (lex_text(st, out, n, &off) == -1 ||
	    lex_push(st, LT_STRING, off, n, line, (unsigned)(start + 1),
	    (unsigned)(i + 1 - start)) == -1)
		*oom = 1;
	return i + 1;
}

/*
 * Tokenize one physical line s[0..e).  Returns 1 if it continues on the
 * next line, 0 if not, -1 when out of memory.
 */
static int
lex_line(struct lexer *lx, struct lex_stmt *st, const char *s, size_t e,
    unsigned line)
{
	size_t i = 0, off;
	int oom = 0;

	while (i < e && !oom) {
		char c = s[i];
		size_t j;

		if (lex_blank(c)) {
			i++;
			continue;
		}
		if (c == '#')
			break;
		if (c == ',') {
			if (lex_text(st, ",", 1, &off) == -1 ||
			    lex_push(st, LT_COMMA, off, 1, line,
			    (unsigned)(i + 1), 1) == -1)
				return -1;
			i++;
			continue;
		}
		if (c == '"') {
			i = lex_string(lx, st, s, i, e, line, &oom);
			continue;
		}
		for (j = i; j < e; j++) {
			unsigned char d = (unsigned char)s[j];

			if (lex_blank((char)d) || d == ',' || d == '#')
				break;
			if (d == '\\' && lex_rest_empty(s + j + 1, s + e)) {
				if (j > i && (lex_text(st, s + i, j - i,
				    &off) == -1 || lex_push(st, LT_WORD, off,
				    j - i, line, (unsigned)(i + 1),
				    (unsigned)(j - i)) == -1))
					return -1;
				return 1;
			}
			if (d == '"') {
				lex_error(lx, st, line, (unsigned)(j + 1),
				    "unexpected '\"' inside a word (quote the "
				    "whole value)");
				break;
			}
			if (lex_ctl(d)) {
				char msg[64];

				snprintf(msg, sizeof(msg),
				    "invalid control character 0x%02x", d);
				lex_error(lx, st, line, (unsigned)(j + 1), msg);
				break;
			}
		}
		if (j > i && (lex_text(st, s + i, j - i, &off) == -1 ||
		    lex_push(st, LT_WORD, off, j - i, line, (unsigned)(i + 1),
		    (unsigned)(j - i)) == -1))
			return -1;
		if (j < e && (s[j] == '"' || lex_ctl((unsigned char)s[j]))) {
			/* Skip the rest of the broken word. */
			while (j < e && !lex_blank(s[j]) && s[j] != ',')
				j++;
		}
		i = j;
	}
	return oom ? -1 : 0;
}

int
lex_next(struct lexer *lx, struct lex_stmt *st)
{
	for (;;) {
		int cont = 1;

		st->n = 0;
		st->blen = 0;
		st->bad = 0;
		if (lx->off >= lx->len)
			return 0;
		st->first_line = lx->line;
		st->raw_off = lx->off;
		while (cont) {
			const char *s = lx->buf + lx->off;
			const char *nl = memchr(s, '\n', lx->len - lx->off);
			size_t e = nl ? (size_t)(nl - s) : lx->len - lx->off;
			unsigned line = lx->line;

			if (lx->off >= lx->len) {
				lex_error(lx, st, line - 1, 0, "backslash "
				    "continues a line at the end of the file");
				break;
			}
			cont = lex_line(lx, st, s, e, line);
			if (cont == -1)
				return -1;
			lx->off += e + (nl ? 1 : 0);
			st->last_line = line;
			lx->line++;
		}
		st->raw_end = lx->off;
		if (st->n == 0 && !st->bad)
			continue;
		for (size_t i = 0; i < st->n; i++)
			st->t[i].s = st->buf + st->t[i].off;
		return 1;
	}
}
