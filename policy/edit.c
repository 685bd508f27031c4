/*
 * edit.c — change one rule of a configuration file without touching any
 * other line.  The file is kept as its lines, terminators included; the
 * lexer (lex.c) finds each statement's line span, so a rule written over
 * several continued lines moves as one block.  Comment lines directly
 * above a rule (no blank line between) belong to it: they move and go
 * with it, and a rule inserted "before" it lands above them (except a
 * comment block that opens the file: that is the file's header).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/alloc.h"
#include "lex.h"
#include "policy_int.h"

#define POL_EDIT_MAX	(64u * 1024 * 1024)

struct sl_edit {
	char		**line;		/* each with its terminator */
	size_t		 n, cap;
	const char	*eol;		/* "\n" or "\r\n", the file's own */
	char		 err[160];
};

static int
edit_push(struct sl_edit *e, size_t at, const char *s, size_t len)
{
	char *copy;

	if (e->n == e->cap) {
		size_t ncap = e->cap ? e->cap * 2 : 64;
		char **nl = sl_realloc(e->line, ncap * sizeof(*nl));

		if (nl == NULL)
			return -1;
		e->line = nl;
		e->cap = ncap;
	}
	if ((copy = sl_strndup(s, len)) == NULL)
		return -1;
	memmove(&e->line[at + 1], &e->line[at], (e->n - at) * sizeof(char *));
	e->line[at] = copy;
	e->n++;
	return 0;
}

static void
edit_remove(struct sl_edit *e, size_t at, size_t count)
{
	for (size_t i = at; i < at + count; i++)
		sl_free(e->line[i]);
	memmove(&e->line[at], &e->line[at + count],
	    (e->n - at - count) * sizeof(char *));
	e->n -= count;
}

struct sl_edit *
sl_edit_load_buf(const char *buf, size_t len)
{
	struct sl_edit *e = sl_calloc(1, sizeof(*e));
	size_t off = 0;

	if (e == NULL)
		return NULL;
	e->eol = "\n";
	while (off < len) {
		const char *nl = memchr(buf + off, '\n', len - off);
		size_t l = nl ? (size_t)(nl - (buf + off)) + 1 : len - off;

		if (e->n == 0 && nl != NULL && l >= 2 && buf[off + l - 2] == '\r')
			e->eol = "\r\n";
		if (edit_push(e, e->n, buf + off, l) == -1) {
			sl_edit_free(e);
			return NULL;
		}
		off += l;
	}
	return e;
}

struct sl_edit *
sl_edit_load(const char *path, const char **err)
{
	FILE *fp = fopen(path, "rb");
	struct sl_edit *e;
	char *buf = NULL;
	size_t len = 0, cap = 0, got;

	if (fp == NULL) {
		*err = strerror(errno);
		return NULL;
	}
	do {
		if (len == cap) {
			char *nb;

			cap = cap ? cap * 2 : 65536;
			if (cap > POL_EDIT_MAX ||
			    (nb = sl_realloc(buf, cap)) == NULL) {
				fclose(fp);
				sl_free(buf);
				*err = "file too large or out of memory";
				return NULL;
			}
			buf = nb;
		}
		got = fread(buf + len, 1, cap - len, fp);
		len += got;
	} while (got > 0);
	if (ferror(fp)) {
		*err = strerror(errno);
		fclose(fp);
		sl_free(buf);
		return NULL;
	}
	fclose(fp);
	e = sl_edit_load_buf(buf ? buf : "", len);
	sl_free(buf);
	if (e == NULL)
		*err = "out of memory";
	return e;
}

void
sl_edit_free(struct sl_edit *e)
{
	if (e == NULL)
		return;
	for (size_t i = 0; i < e->n; i++)
		sl_free(e->line[i]);
	sl_free(e->line);
	sl_free(e);
}

const char *
sl_edit_error(const struct sl_edit *e)
{
	return e->err;
}

size_t
sl_edit_nlines(const struct sl_edit *e)
{
	return e->n;
}

const char *
sl_edit_line(const struct sl_edit *e, size_t i, size_t *len)
{
	if (i >= e->n) {
		*len = 0;
		return NULL;
	}
	*len = strlen(e->line[i]);
	return e->line[i];
}

char *
sl_edit_text(const struct sl_edit *e, size_t *len)
{
	size_t n = 0, off = 0;
	char *s;

	for (size_t i = 0; i < e->n; i++)
		n += strlen(e->line[i]);
	if ((s = sl_alloc(n + 1)) == NULL)
		return NULL;
	for (size_t i = 0; i < e->n; i++) {
		size_t l = strlen(e->line[i]);

		memcpy(s + off, e->line[i], l);
		off += l;
	}
	s[off] = '\0';
	*len = n;
	return s;
}

/* ---------------------------------------------------------------------
 * Statements
 */

struct span {
	unsigned	 first, last;	/* 1-based lines */
	int		 found;
	/* rule statements only */
	unsigned	 act_line, act_end;	/* the action token's line, col
						   just past it */
	unsigned	 dis_line, dis_col, dis_len;	/* `disabled` */
};

/*
 * Walk the statements: find rule `name` (and its tokens of interest), the
 * last rule, and the last default.  Returns -1 when out of memory.
 */
static int
edit_scan(const struct sl_edit *e, const char *name, struct span *rule,
    struct span *last_rule, struct span *def)
{
	struct lex_stmt st;
	struct lexer lx;
	size_t len;
	char *text = sl_edit_text(e, &len);
	int r;

	memset(rule, 0, sizeof(*rule));
	memset(last_rule, 0, sizeof(*last_rule));
	memset(def, 0, sizeof(*def));
	if (text == NULL)
		return -1;
	memset(&st, 0, sizeof(st));
	lex_init(&lx, text, len, NULL, NULL);
	while ((r = lex_next(&lx, &st)) == 1) {
		const struct lex_token *t = st.t;

		if (st.n == 0 || t[0].kind != LT_WORD)
			continue;
		if (strcmp(t[0].s, "default") == 0) {
			def->first = st.first_line;
			def->last = st.last_line;
			def->found = 1;
			continue;
		}
		if (strcmp(t[0].s, "rule") != 0 || st.n < 2)
			continue;
		last_rule->first = st.first_line;
		last_rule->last = st.last_line;
		last_rule->found = 1;
		if (name == NULL || strcmp(t[1].s, name) != 0 || rule->found)
			continue;
		rule->first = st.first_line;
		rule->last = st.last_line;
		rule->found = 1;
		if (st.n > 2) {
			rule->act_line = t[2].line;
			rule->act_end = t[2].col + t[2].rawlen;
		}
		for (size_t i = 3; i < st.n; i++) {
			if (t[i].kind == LT_WORD &&
			    strcmp(t[i].s, "disabled") == 0) {
				rule->dis_line = t[i].line;
				rule->dis_col = t[i].col;
				rule->dis_len = t[i].rawlen;
				break;
			}
		}
	}
	lex_stmt_free(&st);
	sl_free(text);
	return r == -1 ? -1 : 0;
}

/* Is line i (0-based) a comment-only line? */
static int
edit_comment_line(const struct sl_edit *e, size_t i)
{
	const char *p = e->line[i];

	while (*p == ' ' || *p == '\t')
		p++;
	return *p == '#';
}

/*
 * The first line of a rule's block: comment lines directly above its
 * statement (no blank line between) describe it and go with it.
 */
static unsigned
edit_block_first(const struct sl_edit *e, unsigned first)
{
	unsigned f = first;

	while (f > 1 && edit_comment_line(e, f - 2))
		f--;
	/* A comment block that opens the file is the file's header. */
	return f == 1 ? first : f;
}

int
sl_edit_find(const struct sl_edit *e, const char *name, unsigned *first,
    unsigned *last)
{
	struct span r, lr, d;

	if (edit_scan(e, name, &r, &lr, &d) == -1 || !r.found)
		return -1;
	*first = r.first;
	*last = r.last;
	return 0;
}

static int SL_PRINTF(2, 3)
edit_fail(struct sl_edit *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->err, sizeof(e->err), fmt, ap);
	va_end(ap);
	return -1;
}

/* The 0-based line index where a block goes for anchor/after. */
static int
edit_where(struct sl_edit *e, const char *anchor, int after, size_t *at)
{
	struct span r, lr, d;

	if (edit_scan(e, anchor, &r, &lr, &d) == -1)
		return edit_fail(e, "%s", "out of memory");
	if (anchor != NULL) {
		if (!r.found)
			return edit_fail(e, "no rule '%.100s' in the file", anchor);
		*at = after ? r.last : edit_block_first(e, r.first) - 1;
		return 0;
	}
	/* The end of the rules: after the last rule, and before a default
	 * that comes after it. */
	if (lr.found)
		*at = lr.last;
	else if (d.found)
		*at = d.first - 1;
	else
		*at = e->n;
	if (d.found && d.first - 1 < *at)
		*at = d.first - 1;
	return 0;
}

/* The last line must end with a newline before anything follows it. */
static int
edit_terminate(struct sl_edit *e, size_t at)
{
	size_t l;
	char *nl;

	if (at == 0 || at != e->n)
		return 0;
	l = strlen(e->line[at - 1]);
	if (l > 0 && e->line[at - 1][l - 1] == '\n')
		return 0;
	if ((nl = sl_alloc(l + 3)) == NULL)
		return -1;
	memcpy(nl, e->line[at - 1], l);
	strcpy(nl + l, e->eol);
	sl_free(e->line[at - 1]);
	e->line[at - 1] = nl;
	return 0;
}

int
sl_edit_insert(struct sl_edit *e, const char *rule_text, const char *anchor,
    int after)
{
	struct lex_stmt st;
	struct lexer lx;
	unsigned first, last;
	char buf[4096];
	size_t at;
	int r;

	/* Exactly one `rule NAME ...` statement on one line. */
	if (strchr(rule_text, '\n') != NULL || strlen(rule_text) + 3 >
	    sizeof(buf))
		return edit_fail(e, "%s", "the rule must be one line");
	memset(&st, 0, sizeof(st));
	lex_init(&lx, rule_text, strlen(rule_text), NULL, NULL);
	r = lex_next(&lx, &st);
	if (r != 1 || st.bad || st.n < 3 || st.t[0].kind != LT_WORD ||
	    strcmp(st.t[0].s, "rule") != 0) {
		lex_stmt_free(&st);
		return edit_fail(e, "%s", "expected 'rule NAME ACTION ...'");
	}
	snprintf(buf, sizeof(buf), "%s", st.t[1].s);
	lex_stmt_free(&st);
	if (sl_edit_find(e, buf, &first, &last) == 0)
		return edit_fail(e, "rule '%.100s' already exists", buf);
	if (edit_where(e, anchor, after, &at) == -1)
		return -1;
	snprintf(buf, sizeof(buf), "%s%s", rule_text, e->eol);
	if (edit_terminate(e, at) == -1 ||
	    edit_push(e, at, buf, strlen(buf)) == -1)
		return edit_fail(e, "%s", "out of memory");
	return 0;
}

int
sl_edit_delete(struct sl_edit *e, const char *name)
{
	unsigned first, last;

	if (sl_edit_find(e, name, &first, &last) == -1)
		return edit_fail(e, "no rule '%.100s' in the file", name);
	first = edit_block_first(e, first);
	edit_remove(e, first - 1, last - first + 1);
	return 0;
}

int
sl_edit_move(struct sl_edit *e, const char *name, const char *anchor,
    int after)
{
	unsigned first, last;
	char **block;
	size_t n, at;

	if (sl_edit_find(e, name, &first, &last) == -1)
		return edit_fail(e, "no rule '%.100s' in the file", name);
	if (anchor != NULL && strcmp(anchor, name) == 0)
		return edit_fail(e, "cannot move rule '%.100s' next to itself",
		    name);
	first = edit_block_first(e, first);
	n = last - first + 1;
	if ((block = sl_alloc(n * sizeof(*block))) == NULL)
		return edit_fail(e, "%s", "out of memory");
	/* Take the lines out (ownership moves to block), then put them
	 * back where the anchor now is. */
	memcpy(block, &e->line[first - 1], n * sizeof(*block));
	memmove(&e->line[first - 1], &e->line[last],
	    (e->n - last) * sizeof(char *));
	e->n -= n;
	if (edit_where(e, anchor, after, &at) == -1) {
		memmove(&e->line[first - 1 + n], &e->line[first - 1],
		    (e->n - (first - 1)) * sizeof(char *));
		memcpy(&e->line[first - 1], block, n * sizeof(*block));
		e->n += n;
		sl_free(block);
		return -1;
	}
	if (edit_terminate(e, at) == -1) {
		for (size_t i = 0; i < n; i++)
			sl_free(block[i]);
		sl_free(block);
		return edit_fail(e, "%s", "out of memory");
	}
	/* There is room: the array held these lines a moment ago. */
	memmove(&e->line[at + n], &e->line[at], (e->n - at) * sizeof(char *));
	memcpy(&e->line[at], block, n * sizeof(*block));
	e->n += n;
	sl_free(block);
	/* A block that was the unterminated last line may now be inside. */
	if (at + n < e->n) {
		size_t l = strlen(e->line[at + n - 1]);

		if (l == 0 || e->line[at + n - 1][l - 1] != '\n') {
			char *nl = sl_alloc(l + 3);

			if (nl == NULL)
				return edit_fail(e, "%s", "out of memory");
			memcpy(nl, e->line[at + n - 1], l);
			strcpy(nl + l, e->eol);
			sl_free(e->line[at + n - 1]);
			e->line[at + n - 1] = nl;
		}
	}
	return 0;
}

/* Replace bytes [col0, col0 + cut) of line li with ins. */
static int
edit_splice_line(struct sl_edit *e, size_t li, size_t col0, size_t cut,
    const char *ins)
{
	const char *old = e->line[li];
	size_t l = strlen(old), il = strlen(ins);
	char *nl;

	if (col0 + cut > l)
		return -1;
	if ((nl = sl_alloc(l - cut + il + 1)) == NULL)
		return -1;
	memcpy(nl, old, col0);
	memcpy(nl + col0, ins, il);
	memcpy(nl + col0 + il, old + col0 + cut, l - col0 - cut + 1);
	sl_free(e->line[li]);
	e->line[li] = nl;
	return 0;
}

int
sl_edit_enable(struct sl_edit *e, const char *name)
{
	struct span r, lr, d;
	size_t col0, cut;
	const char *l;

	if (edit_scan(e, name, &r, &lr, &d) == -1)
		return edit_fail(e, "%s", "out of memory");
	if (!r.found)
		return edit_fail(e, "no rule '%.100s' in the file", name);
	if (r.dis_line == 0)
		return 0;
	l = e->line[r.dis_line - 1];
	col0 = r.dis_col - 1;
	cut = r.dis_len;
	/* Take one blank before the word with it: "a disabled b" -> "a b". */
	if (col0 > 0 && (l[col0 - 1] == ' ' || l[col0 - 1] == '\t')) {
		col0--;
		cut++;
	}
	if (edit_splice_line(e, r.dis_line - 1, col0, cut, "") == -1)
		return edit_fail(e, "%s", "out of memory");
	return 0;
}

int
sl_edit_disable(struct sl_edit *e, const char *name)
{
	struct span r, lr, d;

	if (edit_scan(e, name, &r, &lr, &d) == -1)
		return edit_fail(e, "%s", "out of memory");
	if (!r.found)
		return edit_fail(e, "no rule '%.100s' in the file", name);
	if (r.dis_line != 0)
		return 0;
	if (r.act_line == 0)
		return edit_fail(e, "rule '%.100s' has no action", name);
	if (edit_splice_line(e, r.act_line - 1, r.act_end - 1, 0,
	    " disabled") == -1)
		return edit_fail(e, "%s", "out of memory");
	return 0;
}

int
sl_edit_write(const struct sl_edit *e, const char *path)
{
	size_t len, off = 0, plen = strlen(path);
	char *text = sl_edit_text(e, &len);
	char *tmp = sl_alloc(plen + 16);
	struct stat sb;
	int fd = -1, saved;

	if (text == NULL || tmp == NULL) {
		errno = ENOMEM;
		goto fail;
	}
	snprintf(tmp, plen + 16, "%s.tmpXXXXXX", path);
	if ((fd = mkstemp(tmp)) == -1)
		goto fail;
	/* Keep the file's mode: mkstemp creates 0600. */
	if (stat(path, &sb) == 0 && fchmod(fd, sb.st_mode & 07777) == -1)
		goto fail_unlink;
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);

		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			goto fail_unlink;
		off += (size_t)w;
	}
	if (fsync(fd) == -1 || close(fd) == -1) {
		fd = -1;
		goto fail_unlink;
	}
	fd = -1;
	if (rename(tmp, path) == -1)
		goto fail_unlink;
	sl_free(text);
	sl_free(tmp);
	return 0;
fail_unlink:
	saved = errno;
	if (fd != -1)
		close(fd);
	fd = -1;
	unlink(tmp);
	errno = saved;
fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	sl_free(text);
	sl_free(tmp);
	errno = saved;
	return -1;
}
