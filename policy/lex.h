/*
 * lex.h — the line-oriented tokenizer of the configuration language
 * (internal to policy/; also used by edit.c to find statement spans).
 *
 * One statement per logical line; a physical line whose last character,
 * ignoring trailing blanks and a comment, is a backslash continues on the
 * next line.  `#` outside quotes starts a comment.  Tokens: words, quoted
 * strings ("\"" and "\\" escapes) and commas.
 */
#ifndef SL_POLICY_LEX_H
#define SL_POLICY_LEX_H

#include <stddef.h>

enum lex_kind {
	LT_WORD = 0,
	LT_STRING,
	LT_COMMA,
};

struct lex_token {
	enum lex_kind	 kind;
	const char	*s;		/* NUL-terminated, unescaped */
	size_t		 len;
	size_t		 off;		/* of s in the statement's buffer */
	unsigned	 line, col;	/* 1-based */
	unsigned	 rawlen;	/* bytes in the source, quotes included */
};

struct lex_stmt {
	struct lex_token *t;
	size_t		 n, cap;
	char		*buf;		/* token text */
	size_t		 blen, bcap;
	unsigned	 first_line, last_line;
	size_t		 raw_off, raw_end; /* byte span of its physical lines */
	int		 bad;		/* a lexical error was reported */
};

typedef void (*lex_err_fn)(void *arg, unsigned line, unsigned col,
    const char *msg);

struct lexer {
	const char	*buf;
	size_t		 len, off;
	unsigned	 line;		/* of the next physical line */
	lex_err_fn	 err;
	void		*arg;
};

void	lex_init(struct lexer *lx, const char *buf, size_t len, lex_err_fn err,
	    void *arg);
/*
 * The next statement with at least one token (or with a lexical error;
 * st->bad).  Blank and comment-only lines are skipped.  Returns 1, 0 at
 * the end of the input, -1 when out of memory.
 */
int	lex_next(struct lexer *lx, struct lex_stmt *st);
void	lex_stmt_free(struct lex_stmt *st);

#endif /* SL_POLICY_LEX_H */
