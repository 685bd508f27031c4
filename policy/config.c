/*
 * config.c — loading a configuration: parse every file, apply command-line
 * overrides, resolve list references and relative paths, finish the rules,
 * compile, check, and hand out an immutable, reference-counted result.
 */
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/alloc.h"
#include "parse.h"
#include "settings.h"

struct sl_config {
	_Atomic unsigned refs;
	struct pol_arena arena;
	const char	*path;
	struct sl_settings set;
	struct sl_listen *ls;
	size_t		 nls;
	struct sl_resolver *rs;
	size_t		 nrs;
	struct sl_sink	*sinks;
	size_t		 nsinks;
	struct sl_policy *pol;
};

/* ---------------------------------------------------------------------
 * Finishing
 */

static void
apply_overrides(struct parser *p, const struct sl_override *ov, size_t nov)
{
	struct sl_loc loc = { "<command line>", 0, 0 };

	for (size_t i = 0; i < nov; i++) {
		char err[256];
		int k;

		if (ov[i].name == NULL || ov[i].value == NULL)
			continue;
		if ((k = pol_setting_find(ov[i].name)) == -1) {
			const char *s = pol_setting_suggest(ov[i].name);

			if (s != NULL)
				pdiag(p, SL_DIAG_ERROR, SEQ_OVERRIDE, &loc,
				    "unknown setting '%s' (did you mean "
				    "'%s'?)", ov[i].name, s);
			else
				pdiag(p, SL_DIAG_ERROR, SEQ_OVERRIDE, &loc,
				    "unknown setting '%s'", ov[i].name);
			continue;
		}
		if (pol_setting_apply(p->a, p->set, (size_t)k, ov[i].value,
		    err, sizeof(err)) == -1) {
			pdiag(p, SL_DIAG_ERROR, SEQ_OVERRIDE, &loc, "%s", err);
			continue;
		}
		p->setloc[k] = loc;
		p->setseq[k] = SEQ_OVERRIDE;
	}
}

static void
check_settings(struct parser *p)
{
	char err[256];
	int which[2] = { -1, -1 };

	if (pol_settings_cross(p->set, which, err, sizeof(err)) == -1) {
		struct sl_loc whole = { p->cfg->path, 0, 0 };
		const struct sl_loc *loc = &whole;
		unsigned seq = SEQ_END;

		/* Blame the line that set it, or else the line that set the
		 * other one: a value left at its default caused nothing. */
		for (int i = 0; i < 2; i++) {
			if (which[i] >= 0 && p->setloc[which[i]].file != NULL) {
				loc = &p->setloc[which[i]];
				seq = p->setseq[which[i]];
				break;
			}
		}
		pdiag(p, SL_DIAG_ERROR, seq, loc, "%s", err);
	}
}

static int
resolve_refs(struct parser *p, struct pol_match *m, enum pol_ltype want,
    unsigned seq)
{
	int rc = 0;

	for (size_t i = 0; i < m->nrefs; i++) {
		struct pol_ref *r = &m->refs[i];
		struct pol_list *l = pol_map_get(&p->pol->lists_byname,
		    r->name);

		if (l == NULL) {
			const char *names[64];
			size_t n = 0;
			const char *s;

			for (size_t j = 0; j < p->pol->nlists && n < 64; j++)
				names[n++] = p->pol->lists[j]->name;
			s = pol_closest(r->name, names, n);
			if (s != NULL)
				rc = pdiag(p, SL_DIAG_ERROR, seq, &r->loc,
				    "unknown list '@%s' (did you mean '@%s'?)",
				    r->name, s);
			else
				rc = pdiag(p, SL_DIAG_ERROR, seq, &r->loc,
				    "unknown list '@%s'", r->name);
			continue;
		}
		if (l->type != want) {
			rc = pdiag(p, SL_DIAG_ERROR, seq, &r->loc, "list '@%s' "
			    "holds %s values, not %s (defined at %s:%u)",
			    r->name, pol_ltype_name(l->type),
			    pol_ltype_name(want), l->loc.file, l->loc.line);
			continue;
		}
		r->list = l;
		l->used = 1;
	}
	return rc;
}

static enum pol_ltype
key_list_type(enum pol_key k)
{
	switch (k) {
	case PK_DOMAIN:
		return PL_DOMAIN;
	case PK_PORT:
		return PL_PORT;
	case PK_URL:
		return PL_URL;
	case PK_USER:
		return PL_USER;
	default:
		return PL_IP;
	}
}

/* Effective modifiers, fact dependencies and guard-naming CIDRs. */
static int
finish_rule(struct parser *p, struct sl_rule *r)
{
	static const struct pol_match none;
	const struct pol_match *ip = r->m[PK_IP] ? r->m[PK_IP] : &none;
	size_t n = 0;

	for (unsigned k = 0; k < PK_NKEYS; k++) {
		if (r->m[k] == NULL)
			continue;
		r->facts |= pol_key_fact((enum pol_key)k);
		/* An unknown list is reported; the load then fails. */
		(void)resolve_refs(p, r->m[k],
		    key_list_type((enum pol_key)k), r->seq);
	}
	r->mods = r->rmods & (SL_MOD_NOAUTH | SL_MOD_LOG | SL_MOD_DENY_OPAQUE |
	    SL_MOD_DENY_ECH | SL_MOD_STUN_ONLY);
	if ((r->keys & (1u << PK_DOMAIN)) &&
	    (((p->set->sni_check && !(r->rmods & RM_NO_SNI_CHECK))) ||
	    (r->rmods & RM_SNI_CHECK)))
		r->mods |= SL_MOD_SNI_CHECK;
	if (r->keys & (1u << PK_DOMAIN))
		r->decflags |= SL_DEC_BY_NAME;
	if (r->keys & (1u << PK_PORT))
		r->decflags |= SL_DEC_PORT_EXPLICIT;

	/*
	 * The guard rails let a rule through to a guarded address only if
	 * it names it: keep the CIDRs that could (host routes, or inside a
	 * guarded range), so the check at decision time is short even for
	 * a rule whose ip list is long.
	 */
	for (int pass = 0; pass < 2; pass++) {
		size_t m = 0;

		for (size_t i = 0; i < ip->vals.n + ip->nrefs; i++) {
			const struct pol_vals *vv = i < ip->vals.n ? NULL :
			    ip->refs[i - ip->vals.n].list ?
			    &ip->refs[i - ip->vals.n].list->vals : NULL;
			size_t cnt = vv ? vv->n : i < ip->vals.n ? 1 : 0;

			for (size_t j = 0; j < cnt; j++) {
				const struct pol_cidr *c = vv ?
				    &vv->v[j].cidr : &ip->vals.v[i].cidr;
				struct pol_cidr range;
				unsigned full = c->net.af == AF_INET ? 32 : 128;

				if (c->plen != full &&
				    (pol_guard_range(&c->net, &range) == NULL ||
				    c->plen < range.plen))
					continue;
				if (pass == 1)
					r->guard[m] = *c;
				m++;
			}
		}
		if (pass == 0) {
			n = m;
			if (n > 0 && (r->guard = pa_alloc(p->a,
			    n * sizeof(*r->guard))) == NULL) {
				p->oom = 1;
				return -1;
			}
		}
	}
	r->nguard = n;
	return 0;
}

static int
finish_listeners(struct parser *p, struct sl_config *cfg)
{
	if (p->nls == 0)
		return 0;
	if ((cfg->ls = pa_alloc(p->a, p->nls * sizeof(*cfg->ls))) == NULL)
		return -1;
	for (size_t i = 0; i < p->nls; i++) {
		struct pend_listen *pl = &p->ls[i];
		struct pol_cidr *v;
		size_t n = pl->allow.vals.n, k = 0;

		resolve_refs(p, &pl->allow, PL_IP, pl->seq);
		for (size_t j = 0; j < pl->allow.nrefs; j++)
			if (pl->allow.refs[j].list != NULL)
				n += pl->allow.refs[j].list->vals.n;
		if ((v = pa_alloc(p->a, (n ? n : 1) * sizeof(*v))) == NULL)
			return -1;
		for (size_t j = 0; j < pl->allow.vals.n; j++)
			v[k++] = pl->allow.vals.v[j].cidr;
		for (size_t j = 0; j < pl->allow.nrefs; j++) {
			const struct pol_list *l = pl->allow.refs[j].list;

			for (size_t x = 0; l != NULL && x < l->vals.n; x++)
				v[k++] = l->vals.v[x].cidr;
		}
		cfg->ls[i] = pl->l;
		if ((cfg->ls[i].allow_from = pol_cidrset_build(p->a, v, k))
		    == NULL)
			return -1;
	}
	cfg->nls = p->nls;
	return 0;
}

static int
finish_sinks(struct parser *p, struct sl_config *cfg)
{
	if (p->nsinks == 0)
		return 0;
	if ((cfg->sinks = pa_alloc(p->a, p->nsinks * sizeof(*cfg->sinks)))
	    == NULL)
		return -1;
	for (size_t i = 0; i < p->nsinks; i++) {
		struct sl_sink *s = &cfg->sinks[i];
		const char *path = p->sinks[i].s.path;

		*s = p->sinks[i].s;
		/* The log directory may come later in the file or from the
		 * command line, so relative paths resolve only now. */
		if (path[0] != '/' && strcmp(path, "stdout") != 0 &&
		    strcmp(path, "stderr") != 0) {
			size_t n = strlen(p->set->log_dir) + strlen(path) + 2;
			char *full = pa_alloc(p->a, n);

			if (full == NULL)
				return -1;
			snprintf(full, n, "%s/%s", p->set->log_dir, path);
			s->path = full;
		}
		for (size_t j = 0; j < i; j++) {
			if (strcmp(cfg->sinks[j].path, s->path) == 0)
				pdiag(p, SL_DIAG_ERROR, p->sinks[i].seq,
				    &p->sinks[i].loc, "duplicate log target "
				    "'%s' (first at %s:%u)", s->path,
				    p->sinks[j].loc.file, p->sinks[j].loc.line);
		}
	}
	cfg->nsinks = p->nsinks;
	return 0;
}

static void
warn_unused_lists(struct parser *p)
{
	for (size_t i = 0; i < p->pol->nlists; i++) {
		const struct pol_list *l = p->pol->lists[i];

		if (!l->used && !l->filtered)
			pdiag(p, SL_DIAG_WARNING, l->seq, &l->loc, "list '%s' is "
			    "never used", l->name);
	}
}

static int
pol_has_errors(const struct parser *p)
{
	for (size_t i = 0; i < p->nd; i++)
		if (p->dv[i].sev == SL_DIAG_ERROR)
			return 1;
	return 0;
}

static int
pdiag_cmp(const void *a, const void *b)
{
	const struct pdiag *x = a, *y = b;

	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static void
flush_diags(struct parser *p, struct sl_diags *diags)
{
	if (p->nd > 1)
		qsort(p->dv, p->nd, sizeof(*p->dv), pdiag_cmp);
	for (size_t i = 0; i < p->nd; i++) {
		const struct pdiag *d = &p->dv[i];

		sl_diag_add(diags, d->sev, &d->loc, d->chain, "%s", d->msg);
	}
}

static int pol_has_errors(const struct parser *p);

static int
finish(struct parser *p, struct sl_config *cfg, const struct sl_override *ov,
    size_t nov)
{
	struct sl_policy *pol = p->pol;

	apply_overrides(p, ov, nov);
	check_settings(p);
	for (size_t i = 0; i < pol->nrules; i++)
		if (finish_rule(p, pol->rules[i]) == -1)
			return -1;
	if (!pol->def.present)
		pol->def.action = SL_ACT_DENY;
	if (finish_listeners(p, cfg) == -1 || finish_sinks(p, cfg) == -1)
		return -1;
	/* The checker's warnings would only add noise to errors (an
	 * unknown '@ofice' also leaves 'office' unused). */
	if (!pol_has_errors(p)) {
		warn_unused_lists(p);
		pol_check(p);
	}
	cfg->rs = p->rs;
	cfg->nrs = p->nrs;
	return 0;
}

/* ---------------------------------------------------------------------
 * API
 */

static struct sl_config *
config_load(const char *path, const char *buf, size_t len,
    const struct sl_override *ov, size_t nov, struct sl_diags *diags)
{
	struct sl_config *cfg = sl_calloc(1, sizeof(*cfg));
	struct parser p;
	unsigned nerr = diags->nerr;
	int failed = 0;

	if (cfg == NULL)
		return NULL;
	memset(&p, 0, sizeof(p));
	atomic_init(&cfg->refs, 1);
	p.cfg = cfg;
	p.a = &cfg->arena;
	p.set = &cfg->set;
	if ((cfg->path = pa_strdup(p.a, path)) == NULL ||
	    (p.pol = pa_alloc(p.a, sizeof(*p.pol))) == NULL ||
	    (p.pol->def_hits = pa_alloc(p.a, sizeof(*p.pol->def_hits)))
	    == NULL ||
	    pol_settings_defaults(p.a, &cfg->set) == -1) {
		failed = 1;
		goto out;
	}
	p.pol->arena = p.a;
	p.pol->byname.a = p.a;
	p.pol->lists_byname.a = p.a;
	cfg->pol = p.pol;
	if (buf != NULL)
		(void)load_buf(&p, cfg->path, buf, len, NULL, 0, 0, NULL);
	else
		(void)load_buf(&p, cfg->path, NULL, 0, NULL, 0, 0, NULL);
	if (!p.oom && finish(&p, cfg, ov, nov) == -1)
		p.oom = 1;
	/* Compile only what will be used: a configuration with errors is
	 * thrown away anyway. */
	if (!p.oom && diags->nerr == nerr && !pol_has_errors(&p) &&
	    pol_compile(p.pol, NULL) == -1)
		p.oom = 1;
out:
	flush_diags(&p, diags);
	if (failed || p.oom || p.a->failed) {
		struct sl_loc loc = { path, 0, 0 };

		sl_diag_add(diags, SL_DIAG_ERROR, &loc, NULL,
		    "out of memory while loading the configuration");
	}
	if (diags->nerr > nerr) {
		sl_config_unref(cfg);
		return NULL;
	}
	return cfg;
}

struct sl_config *
sl_config_load(const char *path, const struct sl_override *ov, size_t nov,
    struct sl_diags *diags)
{
	return config_load(path, NULL, 0, ov, nov, diags);
}

struct sl_config *
sl_config_load_buf(const char *name, const char *buf, size_t len,
    const struct sl_override *ov, size_t nov, struct sl_diags *diags)
{
	return config_load(name, buf, len, ov, nov, diags);
}

struct sl_config *
sl_config_ref(struct sl_config *cfg)
{
	atomic_fetch_add_explicit(&cfg->refs, 1, memory_order_relaxed);
	return cfg;
}

void
sl_config_unref(struct sl_config *cfg)
{
	if (cfg == NULL)
		return;
	/* acq_rel: the last owner must see every other owner's writes
	 * (hit counters) before the memory goes. */
	if (atomic_fetch_sub_explicit(&cfg->refs, 1, memory_order_acq_rel)
	    != 1)
		return;
	pa_free(&cfg->arena);
	sl_free(cfg);
}

const struct sl_settings *
sl_config_settings(const struct sl_config *cfg)
{
	return &cfg->set;
}

const struct sl_listen *
sl_config_listeners(const struct sl_config *cfg, size_t *n)
{
	*n = cfg->nls;
	return cfg->ls;
}

const struct sl_resolver *
sl_config_resolvers(const struct sl_config *cfg, size_t *n)
{
	*n = cfg->nrs;
	return cfg->rs;
}

const struct sl_sink *
sl_config_sinks(const struct sl_config *cfg, size_t *n)
{
	*n = cfg->nsinks;
	return cfg->sinks;
}

struct sl_policy *
sl_config_policy(const struct sl_config *cfg)
{
	return cfg->pol;
}

const char *
sl_config_path(const struct sl_config *cfg)
{
	return cfg->path;
}
