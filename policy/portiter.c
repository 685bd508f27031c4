/*
 * portiter.c — walk a compiled port set (for `sluicectl nft`).
 */
#include "policy_int.h"

int
sl_portset_range(const struct sl_portset *ps, size_t i, uint8_t *proto,
    uint16_t *lo, uint16_t *hi)
{
	if (ps == NULL || i >= ps->n)
		return -1;
	/* A merged range never spans two protocols: tcp and udp keys are
	 * 2^16 apart and a port range stays within 0..65535. */
	*proto = (uint8_t)(ps->r[i][0] >> 16);
	*lo = (uint16_t)(ps->r[i][0] & 0xffff);
	*hi = (uint16_t)(ps->r[i][1] & 0xffff);
	return 0;
}
