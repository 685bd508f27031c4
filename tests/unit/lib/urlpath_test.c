/*
 * urlpath_test.c — the request path as policy url rules compare it.
 */
#include <string.h>

#include "lib/urlpath.h"
#include "tests/unit/t.h"

typedef ssize_t (*norm_fn)(const char *, size_t, char *, size_t);

/* fn of s into out (256 bytes); "(refused)" for -1. */
static const char *
norm_with(norm_fn fn, const char *s, char *out)
{
	ssize_t n = fn(s, strlen(s), out, 256);

	if (n == -1)
		return "(refused)";
	if ((size_t)n != strlen(out))
		return "(length mismatch)";
	return out;
}

/* Normalise s into a static buffer. */
static const char *
norm(const char *s)
{
	static char out[256];

	return norm_with(sl_urlpath_normalise, s, out);
}

/* The same with path parameters removed (Tomcat's reading). */
static const char *
noparam(const char *s)
{
	static char out[256];

	return norm_with(sl_urlpath_normalise_noparam, s, out);
}

/* The red team's bypasses of "deny url www.example.test/hello" (H5). */
T_TEST(urlpath_redteam_bypasses_become_hello)
{
	T_STREQ(norm("/%68ello"), "/hello");
	T_STREQ(norm("//hello"), "/hello");
	T_STREQ(norm("/./hello"), "/hello");
	T_STREQ(norm("/x/../hello"), "/hello");
	T_STREQ(norm("/%2fhello"), "/hello");
	T_STREQ(norm("/%2Fhello"), "/hello");
}

T_TEST(urlpath_escaped_dot_segments_are_removed)
{
	T_STREQ(norm("/x/%2e%2e/hello"), "/hello");
	T_STREQ(norm("/x/%2E./hello"), "/hello");
	T_STREQ(norm("/x%2f..%2fhello"), "/hello");
	T_STREQ(norm("/%2e/hello"), "/hello");
	T_STREQ(norm("/x/.%2e/%2e/hello"), "/hello");
}

T_TEST(urlpath_rfc3986_5_2_4_examples)
{
	T_STREQ(norm("/a/b/c/./../../g"), "/a/g");
	T_STREQ(norm("/mid/content=5/../6"), "/mid/6");
	T_STREQ(norm("/a/b/.."), "/a/");
	T_STREQ(norm("/a/b/."), "/a/b/");
	T_STREQ(norm("/a/..b/.c/c."), "/a/..b/.c/c.");
}

T_TEST(urlpath_dotdot_beyond_root_stays_at_root)
{
	T_STREQ(norm("/.."), "/");
	T_STREQ(norm("/../hello"), "/hello");
	T_STREQ(norm("/../../../hello"), "/hello");
	T_STREQ(norm("/a/../../hello/.."), "/");
}

T_TEST(urlpath_slashes_merge_trailing_slash_kept)
{
	T_STREQ(norm("/a//b///c"), "/a/b/c");
	T_STREQ(norm("/hello/"), "/hello/");
	T_STREQ(norm("/hello//"), "/hello/");
	T_STREQ(norm("///"), "/");
	T_STREQ(norm("/hello"), "/hello");
}

T_TEST(urlpath_empty_and_query_only_get_a_root)
{
	T_STREQ(norm(""), "/");
	T_STREQ(norm("/"), "/");
	T_STREQ(norm("?q=1"), "/?q=1");
	T_STREQ(norm("hello"), "/hello");
}

T_TEST(urlpath_query_is_kept_as_sent)
{
	T_STREQ(norm("/a/../b?x=%2e%2e/..//y&z=%zz"), "/b?x=%2e%2e/..//y&z=%zz");
	T_STREQ(norm("//app/?"), "/app/?");
	T_STREQ(norm("/a?b?c"), "/a?b?c");
}

T_TEST(urlpath_escaped_question_mark_stays_in_the_path)
{
	T_STREQ(norm("/a%3fb"), "/a%3Fb");
	T_STREQ(norm("/a%3Fb?c"), "/a%3Fb?c");
	T_STREQ(norm("/%3f/../x"), "/x");
}

T_TEST(urlpath_case_is_kept)
{
	T_STREQ(norm("/Hello/%4A"), "/Hello/J");
	T_STREQ(norm("/HELLO"), "/HELLO");
}

T_TEST(urlpath_decodes_while_escapes_are_left)
{
	/* As an origin that decodes twice (or more) reads them. */
	T_STREQ(norm("/%2568ello"), "/hello");
	T_STREQ(norm("/%25252568ello"), "/hello");
	T_STREQ(norm("/x/%252e%252e/hello"), "/hello");
	T_STREQ(norm("/x%252F..%252Fhello"), "/hello");
	T_STREQ(norm("/a%20b"), "/a b");
	T_STREQ(norm("/a%2520b"), "/a b");
}

T_TEST(urlpath_deep_nesting_is_decoded_to_the_end)
{
	/* "/%" + "25" x 4000 + "68ello": 4001 decodings, "/hello". */
	static char in[2 + 2 * 4000 + 6 + 1];
	char out[sizeof(in) + 2];
	size_t w = 0;

	in[w++] = '/';
	in[w++] = '%';
	for (int i = 0; i < 4000; i++) {
		in[w++] = '2';
		in[w++] = '5';
	}
	memcpy(in + w, "68ello", 6);
	w += 6;
	T_EQ(sl_urlpath_normalise(in, w, out, sizeof(out)), 6);
	T_STREQ(out, "/hello");
}

T_TEST(urlpath_percent_that_is_no_escape_stays_literal)
{
	/* "%25" once decoded is a literal '%' unless an escape follows. */
	T_STREQ(norm("/100%25"), "/100%");
	T_STREQ(norm("/100%25zz"), "/100%zz");
	T_STREQ(norm("/%25%25"), "/%%");
	T_STREQ(norm("/a%254"), "/a%4");
}

T_TEST(urlpath_escaped_question_mark_survives_every_pass)
{
	T_STREQ(norm("/a%253Fb"), "/a%3Fb");
	T_STREQ(norm("/a%25253Fb?q"), "/a%3Fb?q");
}

/* A '?' decoded twice was kept as "%3f", so "deny url h/a%3Fb" missed
 * "/a%253fb" (found by tests/fuzz/fuzz_urlpath.c). */
T_TEST(urlpath_escaped_question_mark_is_upper_case_after_any_pass)
{
	T_STREQ(norm("/a%253fb"), "/a%3Fb");
	T_STREQ(norm("/a%25253fb?q"), "/a%3Fb?q");
	T_STREQ(norm("/a%25%33fb"), "/a%3Fb");
	T_STREQ(norm("/a%3fb"), norm("/a%253fb"));
}

T_TEST(urlpath_backslash_is_a_separator)
{
	/* IIS reads '\' and "%5C" as '/'. */
	T_STREQ(norm("/x\\..\\hello"), "/hello");
	T_STREQ(norm("\\hello"), "/hello");
	T_STREQ(norm("/x%5C..%5Chello"), "/hello");
	T_STREQ(norm("/x%5c..%255chello"), "/hello");
	T_STREQ(norm("/a\\b?c\\d"), "/a/b?c\\d");
}

T_TEST(urlpath_malformed_escape_is_refused)
{
	T_STREQ(norm("/%zz"), "(refused)");
	T_STREQ(norm("/%"), "(refused)");
	T_STREQ(norm("/%4"), "(refused)");
	T_STREQ(norm("/a%4g"), "(refused)");
	T_STREQ(norm("/%u0068ello"), "(refused)");
	T_STREQ(norm("/%%68ello"), "(refused)");
}

T_TEST(urlpath_nul_is_refused)
{
	char out[32];

	T_STREQ(norm("/hello%00"), "(refused)");
	T_STREQ(norm("/%00/hello"), "(refused)");
	T_STREQ(norm("/%2500/hello"), "(refused)");
	T_STREQ(norm("/%252500"), "(refused)");
	T_EQ(sl_urlpath_normalise("/he\0llo", 7, out, sizeof(out)), -1);
	T_EQ(sl_urlpath_normalise("/h?q\0", 5, out, sizeof(out)), -1);
}

T_TEST(urlpath_len_bounds_the_input)
{
	char out[32];

	T_EQ(sl_urlpath_normalise("/hello/../x", 6, out, sizeof(out)), 6);
	T_STREQ(out, "/hello");
	T_EQ(sl_urlpath_normalise(NULL, 0, out, sizeof(out)), 1);
	T_STREQ(out, "/");
}

T_TEST(urlpath_capacity_is_checked)
{
	char out[16];

	/* len + 2 suffices, including an added leading slash. */
	T_EQ(sl_urlpath_normalise("?abc", 4, out, 6), 5);
	T_STREQ(out, "/?abc");
	T_EQ(sl_urlpath_normalise("/abc", 4, out, 5), 4);
	T_EQ(sl_urlpath_normalise("/abc", 4, out, 4), -1);
	T_EQ(sl_urlpath_normalise("/a?bc", 5, out, 5), -1);
	T_EQ(sl_urlpath_normalise("/%3f", 4, out, 4), -1);
	T_EQ(sl_urlpath_normalise("", 0, out, 1), -1);
	T_EQ(sl_urlpath_normalise("", 0, out, 0), -1);
}

/* Every prefix of an awkward input: never a crash, never past out. */
T_TEST(urlpath_every_truncation_is_bounded)
{
	static const char s[] = "//a/%2e%2E/./b%2f..//%3f?q=%zz/../";
	char out[sizeof(s) + 1];

	for (size_t n = 0; n < sizeof(s) - 1; n++) {
		ssize_t r = sl_urlpath_normalise(s, n, out, n + 2);

		T_ASSERT(r == -1 || (r >= 1 && (size_t)r < n + 2 &&
		    out[0] == '/' && strlen(out) == (size_t)r));
	}
}

/* Issue 12 item 9: "url www.example.test/secret" did not match these,
 * which Tomcat serves as /secret. */
T_TEST(urlpath_noparam_tomcat_bypasses_become_secret)
{
	T_STREQ(noparam("/x/..;/secret"), "/secret");
	T_STREQ(noparam("/;/secret"), "/secret");
	T_STREQ(noparam("/.;/secret"), "/secret");
	T_STREQ(noparam("/secret;jsessionid=1"), "/secret");
	T_STREQ(noparam("/x/..;a=b/secret"), "/secret");
	T_STREQ(noparam("/secret;a;b/x"), "/secret/x");
	/* The first reading keeps them: ';' is no separator for nginx. */
	T_STREQ(norm("/x/..;/secret"), "/x/..;/secret");
	T_STREQ(norm("/;/secret"), "/;/secret");
	T_STREQ(norm("/.;/secret"), "/.;/secret");
}

T_TEST(urlpath_noparam_parameters_go_before_dot_segments)
{
	/* ";" is an empty segment that ".." cannot spend: "/c", where the
	 * first reading, which takes ";" for a name, says "/a/c". */
	T_STREQ(noparam("/a/;/../c"), "/c");
	T_STREQ(norm("/a/;/../c"), "/a/c");
	T_STREQ(noparam("/a;x/../c"), "/c");
	T_STREQ(noparam("/a/b;x/.."), "/a/");
	T_STREQ(noparam("/a/;x"), "/a/");
	T_STREQ(noparam("/a;x"), "/a");
	T_STREQ(noparam(";x"), "/");
	T_STREQ(noparam("/;"), "/");
	T_STREQ(noparam(""), "/");
}

T_TEST(urlpath_noparam_parameter_runs_to_the_slash_sent)
{
	/* Tomcat cuts before decoding: an escaped '/' or a '\' in the
	 * parameter does not end it. */
	T_STREQ(noparam("/a;x%2F..%2Fb"), "/a");
	T_STREQ(noparam("/a;x\\..\\b"), "/a");
	T_STREQ(noparam("/a;x%2F..%2Fb/c"), "/a/c");
	/* An escaped ';' is cut after decoding, to the decoded '/'. */
	T_STREQ(noparam("/a%3Bx%2F..%2Fb"), "/b");
	T_STREQ(noparam("/%3B/secret"), "/secret");
	T_STREQ(noparam("/%3b/secret"), "/secret");
	T_STREQ(noparam("/%253B/secret"), "/secret");
	T_STREQ(noparam("/x/..%3B/secret"), "/secret");
	T_STREQ(noparam("/secret%3Bjsessionid=1"), "/secret");
}

T_TEST(urlpath_noparam_escapes_never_join_across_a_parameter)
{
	/* "%25" is '%'; the parameter ";41" never makes it "%41". */
	T_STREQ(noparam("/%25;41"), "/%");
	T_STREQ(noparam("/%25;41/x"), "/%/x");
	T_STREQ(norm("/%25;41"), "/%;41");
}

T_TEST(urlpath_noparam_query_is_kept_as_sent)
{
	T_STREQ(noparam("/a;b?c;d"), "/a?c;d");
	T_STREQ(noparam("/a;b/..;/c?x=/..;/y"), "/c?x=/..;/y");
	T_STREQ(noparam("?q;x"), "/?q;x");
}

T_TEST(urlpath_noparam_without_parameters_is_the_first_reading)
{
	static const char *const paths[] = {
		"/hello", "//a/./b/../c/", "/%2568ello", "/x\\..\\y",
		"/a%3fb?c", "/100%25zz", "/a/b/..", "?q", "",
	};

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		T_STREQ(noparam(paths[i]), norm(paths[i]));
}

T_TEST(urlpath_noparam_refuses_what_the_first_reading_refuses)
{
	/* Also inside a parameter that is then dropped. */
	T_STREQ(noparam("/a;%zz/b"), "(refused)");
	T_STREQ(noparam("/a;x%4"), "(refused)");
	T_STREQ(noparam("/a;%00/b"), "(refused)");
	T_STREQ(noparam("/a;%2500/b"), "(refused)");
	T_STREQ(noparam("/a;%25%30%30/b"), "(refused)");
	T_STREQ(norm("/a;%25%30%30/b"), "(refused)");
	T_STREQ(noparam("/a%00;b"), "(refused)");
}

T_TEST(urlpath_noparam_capacity_and_truncation_are_bounded)
{
	static const char s[] = "/a;%2e%2E/./b%3b..;x//%3f;?q=;%zz/../";
	char out[sizeof(s) + 1];

	T_EQ(sl_urlpath_normalise_noparam(";x", 2, out, 4), 1);
	T_STREQ(out, "/");
	T_EQ(sl_urlpath_normalise_noparam("/ab;c", 5, out, 3), -1);
	for (size_t n = 0; n < sizeof(s) - 1; n++) {
		ssize_t r = sl_urlpath_normalise_noparam(s, n, out, n + 2);

		T_ASSERT(r == -1 || (r >= 1 && (size_t)r < n + 2 &&
		    out[0] == '/' && strlen(out) == (size_t)r));
	}
}
