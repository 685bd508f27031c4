/*
 * golden_test.c — the parser table: every tests/data/policy/bad-*.conf
 * must be rejected and every ok-*.conf accepted, each with exactly the
 * diagnostics in the .err file next to it (text as `sluicectl check`
 * prints it, include chains and all).
 */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/alloc.h"
#include "lib/diag.h"
#include "policy/config.h"
#include "tests/unit/t.h"

/* Check every file matching pattern; returns how many were checked. */
static unsigned
golden_run(const char *pattern, int want_ok, unsigned *bad)
{
	glob_t g;
	unsigned n = 0;

	if (glob(pattern, 0, NULL, &g) != 0)
		return 0;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		const char *conf = g.gl_pathv[i];
		char errpath[512];
		struct sl_diags d;
		struct sl_config *cfg;
		char *want, *got;

		snprintf(errpath, sizeof(errpath), "%.*s.err",
		    (int)(strlen(conf) - 5), conf);
		if ((want = t_slurp(errpath, NULL)) == NULL) {
			printf("# %s: missing %s\n", conf, errpath);
			(*bad)++;
			continue;
		}
		sl_diags_init(&d);
		cfg = sl_config_load(conf, NULL, 0, &d);
		got = sl_diags_text(&d);
		if ((cfg != NULL) != want_ok || got == NULL ||
		    strcmp(got, want) != 0) {
			printf("# %s: %s\n# want:\n%s# got:\n%s", conf,
			    (cfg != NULL) != want_ok ? (want_ok ?
			    "rejected, should load" : "loaded, should be "
			    "rejected") : "diagnostics differ", want,
			    got ? got : "(null)\n");
			(*bad)++;
		}
		n++;
		free(want);
		sl_free(got);
		sl_config_unref(cfg);
		sl_diags_free(&d);
	}
	globfree(&g);
	return n;
}

T_TEST(golden_invalid_inputs_give_exact_diagnostics)
{
	unsigned bad = 0;
	unsigned n = golden_run("tests/data/policy/bad-*.conf", 0, &bad);

	printf("# %u invalid inputs\n", n);
	T_ASSERT(n >= 40);
	T_EQ(bad, 0);
}

T_TEST(golden_valid_inputs_give_exact_warnings)
{
	unsigned bad = 0;
	unsigned n = golden_run("tests/data/policy/ok-*.conf", 1, &bad);

	printf("# %u valid inputs\n", n);
	T_ASSERT(n >= 10);
	T_EQ(bad, 0);
}

T_TEST(golden_diagnostics_are_in_file_order)
{
	/* Errors found late (list references) sort back to their line. */
	const char *text =
	    "rule a splice ip @late\n"
	    "set wrokers 2\n"
	    "list late domain a.test\n";
	struct sl_diags d;
	struct sl_config *cfg;
	char *got;

	sl_diags_init(&d);
	cfg = sl_config_load_buf("o.conf", text, strlen(text), NULL, 0, &d);
	T_ASSERT(cfg == NULL);
	got = sl_diags_text(&d);
	T_STREQ(got, "o.conf:1:18: error: list '@late' holds domain values, "
	    "not ip (defined at o.conf:3)\n"
	    "o.conf:2:5: error: unknown setting 'wrokers' (did you mean "
	    "'workers'?)\n");
	sl_free(got);
	sl_diags_free(&d);
}
