/*
 * transparent.c — transparent flows (issue #4; being written).
 */
#include "flow.h"
#include "setup.h"
#include "transparent.h"

void
sl_transparent_start(struct sl_flow *flow, int kind)
{
	(void)kind;
	flow_tcp_refuse(flow, "transparent_unavailable", 0, 1);
}
