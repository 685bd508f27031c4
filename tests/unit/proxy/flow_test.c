/*
 * flow_test.c — the flow state table (proxy/flow.c, docs/design/flow.md):
 * forward only, every step, the forwarder's shortcut, any state closes.
 */
#include "proxy/flow.h"
#include "tests/unit/t.h"

T_TEST(flow_states_move_forward_through_every_step)
{
	for (int st = SL_FLOW_ACCEPTED; st < SL_FLOW_DRAINING; st++)
		T_ASSERT(sl_flow_state_allowed((enum sl_flow_state)st,
		    (enum sl_flow_state)(st + 1)));
	T_ASSERT(sl_flow_state_allowed(SL_FLOW_DRAINING, SL_FLOW_CLOSED));
}

T_TEST(flow_states_never_go_back)
{
	for (int from = SL_FLOW_CLASSIFYING; from <= SL_FLOW_DRAINING; from++)
		for (int to = SL_FLOW_ACCEPTED; to < from; to++)
			T_ASSERT(!sl_flow_state_allowed(
			    (enum sl_flow_state)from, (enum sl_flow_state)to));
}

T_TEST(flow_states_skip_no_step_but_to_the_forwarder)
{
	/* A step with nothing to do is still entered. */
	T_ASSERT(!sl_flow_state_allowed(SL_FLOW_DECIDING,
	    SL_FLOW_RESOLVING));
	T_ASSERT(!sl_flow_state_allowed(SL_FLOW_AUTHENTICATING,
	    SL_FLOW_CONNECTING));
	T_ASSERT(!sl_flow_state_allowed(SL_FLOW_CONNECTING,
	    SL_FLOW_RELAYING));
	T_ASSERT(!sl_flow_state_allowed(SL_FLOW_ACCEPTED, SL_FLOW_RELAYING));
	/* The HTTP forwarder takes a connection over from its first head
	 * (explicit or transparent); nothing else skips to RELAYING. */
	T_ASSERT(sl_flow_state_allowed(SL_FLOW_CLASSIFYING, SL_FLOW_RELAYING));
	T_ASSERT(!sl_flow_state_allowed(SL_FLOW_DECIDING, SL_FLOW_RELAYING));
	T_ASSERT(!sl_flow_state_allowed(SL_FLOW_RESOLVING, SL_FLOW_RELAYING));
}

T_TEST(flow_states_any_state_closes_and_closed_is_final)
{
	for (int st = SL_FLOW_ACCEPTED; st < SL_FLOW_CLOSED; st++)
		T_ASSERT(sl_flow_state_allowed((enum sl_flow_state)st,
		    SL_FLOW_CLOSED));
	for (int st = SL_FLOW_ACCEPTED; st <= SL_FLOW_CLOSED; st++)
		T_ASSERT(!sl_flow_state_allowed(SL_FLOW_CLOSED,
		    (enum sl_flow_state)st));
}

T_TEST(flow_state_letters_are_the_documented_ones)
{
	const char *want = "AHPUNCHRD-";

	for (int st = SL_FLOW_ACCEPTED; st <= SL_FLOW_CLOSED; st++)
		T_EQ(sl_flow_state_letter((enum sl_flow_state)st), want[st]);
}
