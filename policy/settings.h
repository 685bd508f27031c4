/*
 * settings.h — the table behind `set NAME VALUE` (internal to policy/).
 */
#ifndef SL_POLICY_SETTINGS_H
#define SL_POLICY_SETTINGS_H

#include "policy_int.h"

/* Settings there can be at most (the parser keeps a slot for each). */
#define POL_SETTINGS_MAX	128

size_t	 pol_setting_count(void);
const char *pol_setting_name(size_t i);
const char *pol_setting_default(size_t i);	/* as written in docs */
int	 pol_setting_find(const char *name);	/* index or -1 */
const char *pol_setting_suggest(const char *name); /* closest or NULL */
/* Parse val for setting i into s; 0, or -1 with a message in err. */
int	 pol_setting_apply(struct pol_arena *a, struct sl_settings *s,
	    size_t i, const char *val, char *err, size_t errcap);
int	 pol_settings_defaults(struct pol_arena *a, struct sl_settings *s);
/*
 * Checks between settings; -1 with err and the two settings in conflict:
 * which[0] to blame, which[1] the other (to blame if no line set
 * which[0], so the error still points at the line that caused it).
 */
int	 pol_settings_cross(const struct sl_settings *s, int which[2],
	    char *err, size_t errcap);

#endif /* SL_POLICY_SETTINGS_H */
