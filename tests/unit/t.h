/*
 * t.h — a tiny unit-test harness printing TAP ("ok 3 - name").
 *
 *   T_TEST(peek_sni_split_across_records) {
 *           T_EQ(parse(...), SL_PARSE_OK);
 *           T_STREQ(h.sni, "a.test");
 *   }
 *
 * Tests register themselves; t.c's main runs them in file order, a failed
 * check ends that test (not the binary) and the exit code says whether all
 * passed.  `./x_test name` runs only tests whose name contains `name`.
 */
#ifndef SL_T_H
#define SL_T_H

#include <stdio.h>
#include <string.h>

typedef void (*t_fn)(void);
void	t_register(const char *name, t_fn fn);
void	t_fail(const char *file, int line, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
extern int t_failed_now;

#define T_TEST(name)							\
	static void t_##name(void);					\
	__attribute__((constructor)) static void t_reg_##name(void)	\
	{ t_register(#name, t_##name); }				\
	static void t_##name(void)

#define T_CHECK(cond, ...) do {						\
	if (!(cond)) {							\
		t_fail(__FILE__, __LINE__, __VA_ARGS__);		\
		return;							\
	}								\
} while (0)

#define T_ASSERT(cond)	T_CHECK((cond), "assertion failed: %s", #cond)
#define T_EQ(a, b) do {							\
	long long t_a_ = (long long)(a), t_b_ = (long long)(b);		\
	T_CHECK(t_a_ == t_b_, "%s == %s: got %lld, want %lld",		\
	    #a, #b, t_a_, t_b_);					\
} while (0)
#define T_STREQ(a, b) do {						\
	const char *t_a_ = (a), *t_b_ = (b);				\
	T_CHECK(t_a_ != NULL && t_b_ != NULL && strcmp(t_a_, t_b_) == 0,\
	    "%s == %s: got \"%s\", want \"%s\"", #a, #b,		\
	    t_a_ ? t_a_ : "(null)", t_b_ ? t_b_ : "(null)");		\
} while (0)

/* Read a whole file relative to the repo (tests run from its top). */
char	*t_slurp(const char *path, size_t *len);

#endif /* SL_T_H */
