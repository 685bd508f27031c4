/*
 * edit_test.c — line-preserving edits: every line not belonging to the
 * edited rule stays byte-identical, and the result still loads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/alloc.h"
#include "lib/diag.h"
#include "policy/config.h"
#include "policy/edit.h"
#include "tests/unit/t.h"

static const char *const sample =
    "# sluice policy\n"
    "set workers 2   # keep two\n"
    "\n"
    "rule web splice noauth \\\n"
    "    domain a.test, \\\n"
    "           b.test   # two names\n"
    "\n"
    "# the mail rule\n"
    "rule mail\tdeny port 25   # tab inside\n"
    "rule off inspect disabled domain c.test\n"
    "default deny\n"
    "# trailing comment\n";

static struct sl_edit *
load_sample(void)
{
	return sl_edit_load_buf(sample, strlen(sample));
}

/* Does the edit's line i equal the sample's line j byte for byte? */
static int
same_line(const struct sl_edit *e, size_t i, size_t j)
{
	const char *p = sample;
	size_t len;
	const char *l = sl_edit_line(e, i, &len);

	for (size_t k = 0; k < j; k++)
		p = strchr(p, '\n') + 1;
	return l != NULL && strncmp(l, p, len) == 0 &&
	    (p[len - 1] == '\n') && len == (size_t)(strchr(p, '\n') - p + 1);
}

/* The rule names in file order, as the loader sees them. */
static char *
rule_order(const struct sl_edit *e)
{
	static char buf[256];
	struct sl_diags d;
	struct sl_config *cfg;
	size_t len, off = 0;
	char *text = sl_edit_text(e, &len);

	buf[0] = '\0';
	if (text == NULL)
		return strcpy(buf, "(out of memory)");
	sl_diags_init(&d);
	cfg = sl_config_load_buf("e.conf", text, len, NULL, 0, &d);
	if (cfg == NULL) {
		sl_diags_print(&d, stdout);
		snprintf(buf, sizeof(buf), "(load failed)");
	} else {
		const struct sl_policy *pol = sl_config_policy(cfg);

		for (size_t i = 0; i < sl_policy_nrules(pol); i++) {
			const struct sl_rule *r = sl_policy_rule(pol, i);

			off += (size_t)snprintf(buf + off, sizeof(buf) - off,
			    "%s%s%s", i ? " " : "", sl_rule_name(r),
			    sl_rule_disabled(r) ? "(off)" : "");
		}
	}
	sl_config_unref(cfg);
	sl_diags_free(&d);
	sl_free(text);
	return buf;
}

T_TEST(edit_roundtrip_is_byte_identical)
{
	struct sl_edit *e = load_sample();

	T_ASSERT(e != NULL);
	size_t len;
	char *text;

	T_ASSERT(e != NULL);
	T_EQ(sl_edit_nlines(e), 12);
	text = sl_edit_text(e, &len);
	T_STREQ(text, sample);
	sl_free(text);
	sl_edit_free(e);
}

T_TEST(edit_find_spans_continued_rule)
{
	struct sl_edit *e = load_sample();

	T_ASSERT(e != NULL);
	unsigned first, last;

	T_EQ(sl_edit_find(e, "web", &first, &last), 0);
	T_EQ(first, 4);
	T_EQ(last, 6);
	T_EQ(sl_edit_find(e, "mail", &first, &last), 0);
	T_EQ(first, 9);
	T_EQ(last, 9);
	T_EQ(sl_edit_find(e, "nope", &first, &last), -1);
	sl_edit_free(e);
}

T_TEST(edit_delete_multiline_rule_keeps_other_lines)
{
	struct sl_edit *e = load_sample();

	T_ASSERT(e != NULL);

	T_EQ(sl_edit_delete(e, "web"), 0);
	T_EQ(sl_edit_nlines(e), 9);
	for (size_t i = 0; i < 3; i++)
		T_ASSERT(same_line(e, i, i));
	for (size_t i = 3; i < 9; i++)
		T_ASSERT(same_line(e, i, i + 3));
	T_STREQ(rule_order(e), "mail off(off)");
	T_EQ(sl_edit_delete(e, "web"), -1);
	T_STREQ(sl_edit_error(e), "no rule 'web' in the file");
	sl_edit_free(e);
}

T_TEST(edit_insert_at_end_goes_before_default)
{
	struct sl_edit *e = load_sample();

	T_ASSERT(e != NULL);
	size_t len;
	const char *l;

	T_EQ(sl_edit_insert(e, "rule new splice domain n.test", NULL, 0), 0);
	T_EQ(sl_edit_nlines(e), 13);
	l = sl_edit_line(e, 10, &len);
	T_STREQ(l, "rule new splice domain n.test\n");
	for (size_t i = 0; i < 10; i++)
		T_ASSERT(same_line(e, i, i));
	T_ASSERT(same_line(e, 11, 10));		/* default */
	T_ASSERT(same_line(e, 12, 11));
	T_STREQ(rule_order(e), "web mail off(off) new");
	sl_edit_free(e);
}

T_TEST(edit_insert_before_and_after_anchor)
{
	struct sl_edit *e = load_sample();

	T_ASSERT(e != NULL);

	T_EQ(sl_edit_insert(e, "rule first deny port 1", "web", 0), 0);
	T_EQ(sl_edit_insert(e, "rule after-web deny port 2", "web", 1), 0);
	T_STREQ(rule_order(e), "first web after-web mail off(off)");
	/* web's three lines are untouched and still together. */
	T_ASSERT(same_line(e, 4, 3));
	T_ASSERT(same_line(e, 5, 4));
	T_ASSERT(same_line(e, 6, 5));
	T_EQ(sl_edit_insert(e, "rule web deny port 3", NULL, 0), -1);
	T_STREQ(sl_edit_error(e), "rule 'web' already exists");
	T_EQ(sl_edit_insert(e, "set workers 3", NULL, 0), -1);
	T_EQ(sl_edit_insert(e, "rule x deny", "nope", 0), -1);
	sl_edit_free(e);
}

T_TEST(edit_move_block_with_continuations)
{
	struct sl_edit *e = load_sample();

	T_ASSERT(e != NULL);
	size_t len;

	T_EQ(sl_edit_move(e, "web", "off", 1), 0);
	T_STREQ(rule_order(e), "mail off(off) web");
	T_EQ(sl_edit_nlines(e), 12);
	/* The block now follows `off` (line 10 of the original). */
	T_ASSERT(same_line(e, 6, 9));
	T_ASSERT(same_line(e, 7, 3));
	T_ASSERT(same_line(e, 8, 4));
	T_ASSERT(same_line(e, 9, 5));
	T_ASSERT(same_line(e, 10, 10));
	T_EQ(sl_edit_move(e, "web", NULL, 0), 0);
	T_STREQ(rule_order(e), "mail off(off) web");
	/* Before mail means above mail's comment. */
	T_EQ(sl_edit_move(e, "web", "mail", 0), 0);
	T_STREQ(rule_order(e), "web mail off(off)");
	T_STREQ(sl_edit_line(e, 4, &len), "rule web splice noauth \\\n");
	T_STREQ(sl_edit_line(e, 5, &len), "    domain a.test, \\\n");
	T_STREQ(sl_edit_line(e, 7, &len), "# the mail rule\n");
	T_EQ(sl_edit_move(e, "web", "web", 0), -1);
	sl_edit_free(e);
}

T_TEST(edit_comment_above_rule_goes_with_it)
{
	struct sl_edit *e = load_sample();

	T_ASSERT(e != NULL);
	size_t len;

	/* mail's comment moves with it; the blank line stays. */
	T_EQ(sl_edit_move(e, "mail", NULL, 0), 0);
	T_STREQ(rule_order(e), "web off(off) mail");
	T_STREQ(sl_edit_line(e, 7, &len), "rule off inspect disabled domain "
	    "c.test\n");
	T_STREQ(sl_edit_line(e, 8, &len), "# the mail rule\n");
	T_STREQ(sl_edit_line(e, 9, &len), "rule mail\tdeny port 25   # tab "
	    "inside\n");
	T_ASSERT(same_line(e, 6, 6));
	T_EQ(sl_edit_delete(e, "mail"), 0);
	T_EQ(sl_edit_nlines(e), 10);
	T_STREQ(sl_edit_line(e, 8, &len), "default deny\n");
	sl_edit_free(e);
}

T_TEST(edit_file_header_comment_stays_on_top)
{
	const char *text = "# header\nrule a deny port 1\nrule b deny port 2\n";
	struct sl_edit *e = sl_edit_load_buf(text, strlen(text));
	size_t len;
	char *out;

	T_ASSERT(e != NULL);
	T_EQ(sl_edit_move(e, "a", NULL, 0), 0);
	out = sl_edit_text(e, &len);
	T_STREQ(out, "# header\nrule b deny port 2\nrule a deny port 1\n");
	sl_free(out);
	sl_edit_free(e);
}

T_TEST(edit_enable_disable_touch_one_line)
{
	struct sl_edit *e = load_sample();

	T_ASSERT(e != NULL);
	size_t len;

	T_EQ(sl_edit_enable(e, "off"), 0);
	T_STREQ(sl_edit_line(e, 9, &len),
	    "rule off inspect domain c.test\n");
	T_EQ(sl_edit_disable(e, "mail"), 0);
	T_STREQ(sl_edit_line(e, 8, &len),
	    "rule mail\tdeny disabled port 25   # tab inside\n");
	T_EQ(sl_edit_disable(e, "web"), 0);
	T_STREQ(sl_edit_line(e, 3, &len), "rule web splice disabled noauth \\\n");
	for (size_t i = 0; i < 12; i++)
		if (i != 3 && i != 8 && i != 9)
			T_ASSERT(same_line(e, i, i));
	T_STREQ(rule_order(e), "web(off) mail(off) off");
	/* Idempotent. */
	T_EQ(sl_edit_disable(e, "web"), 0);
	T_EQ(sl_edit_enable(e, "off"), 0);
	T_STREQ(rule_order(e), "web(off) mail(off) off");
	sl_edit_free(e);
}

T_TEST(edit_crlf_and_missing_final_newline)
{
	const char *text = "rule a deny port 1\r\nrule b deny port 2";
	struct sl_edit *e = sl_edit_load_buf(text, strlen(text));
	size_t len;
	char *out;

	T_ASSERT(e != NULL);
	T_ASSERT(e != NULL);
	T_EQ(sl_edit_insert(e, "rule c deny port 3", NULL, 0), 0);
	out = sl_edit_text(e, &len);
	T_STREQ(out, "rule a deny port 1\r\nrule b deny port 2\r\n"
	    "rule c deny port 3\r\n");
	sl_free(out);
	T_EQ(sl_edit_move(e, "a", NULL, 0), 0);
	out = sl_edit_text(e, &len);
	T_STREQ(out, "rule b deny port 2\r\nrule c deny port 3\r\n"
	    "rule a deny port 1\r\n");
	sl_free(out);
	sl_edit_free(e);
}

/* The checks of the test below, on a file it removes whatever happens. */
static void
edit_write_check(const char *path)
{
	struct sl_edit *e, *back;
	const char *err = NULL;
	struct stat sb;
	size_t len;
	char *text;

	T_EQ(chmod(path, 0640), 0);
	e = sl_edit_load(path, &err);
	T_ASSERT(e != NULL);
	T_EQ(sl_edit_disable(e, "web"), 0);
	T_EQ(sl_edit_write(e, path), 0);
	sl_edit_free(e);
	T_EQ(stat(path, &sb), 0);
	T_EQ(sb.st_mode & 0777, 0640);
	back = sl_edit_load(path, &err);
	T_ASSERT(back != NULL);
	text = sl_edit_text(back, &len);
	sl_edit_free(back);
	T_ASSERT(text != NULL);
	T_ASSERT(strstr(text, "rule web splice disabled noauth") != NULL &&
	    strstr(text, "# trailing comment\n") != NULL);
	sl_free(text);
}

T_TEST(edit_write_is_atomic_and_keeps_mode)
{
	char path[] = "/tmp/sluice-edit-XXXXXX";
	const char *err = NULL;
	int fd = mkstemp(path);

	T_ASSERT(fd != -1);
	if (write(fd, sample, strlen(sample)) == (ssize_t)strlen(sample))
		edit_write_check(path);
	else
		t_fail(__FILE__, __LINE__, "cannot write %s", path);
	close(fd);
	unlink(path);
	T_ASSERT(sl_edit_load("/nonexistent/x.conf", &err) == NULL);
	T_STREQ(err, "No such file or directory");
}
