/*
 * ref.c — the linear reference decision: every rule in file order.
 *
 * It is the executable definition of first-match with staged facts: the
 * first rule that definitely matches, with every earlier rule definitely
 * not matching, is final; an earlier undetermined rule makes the answer
 * tentative and names the facts it waits for.  The compiled index must
 * give identical answers (tests/unit/policy/diff_test.c checks that).
 */
#include "policy_int.h"

uint32_t
pol_ref_first(const struct sl_policy *pol, const struct pol_q *q,
    unsigned *need)
{
	*need = 0;
	for (size_t i = 0; i < pol->nrules; i++) {
		if (pol_rule_eval(pol->rules[i], q, need, NULL) == 1)
			return (uint32_t)i;
	}
	return UINT32_MAX;
}
