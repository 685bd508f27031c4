/*
 * rt.c — the runtime snapshot: a configuration plus what sluiced learns
 * about itself (its listening ports, and the set of its own addresses
 * that addrwatch.c keeps current, for the loop guard), immutable and
 * shared by every worker.
 */
#include <limits.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../lib/alloc.h"
#include "../lib/log.h"
#include "../policy/config.h"
#include "../tls/tls.h"
#include "addrwatch.h"
#include "inspect.h"
#include "worker.h"

/* Does the file exist (relative paths in dir, as sl_tls_ca_load)? */
static int
rt_file_exists(const char *dir, const char *path)
{
	char full[PATH_MAX];

	if (path[0] != '/' && dir != NULL && dir[0] != '\0') {
		if (snprintf(full, sizeof(full), "%s/%s", dir, path) >=
		    (int)sizeof(full))
			return 1;	/* let the loader say what is wrong */
		path = full;
	}
	return access(path, F_OK) == 0;
}

/*
 * The inspection CA and contexts.  No CA is an appliance that does not
 * inspect (inspect-fallback then applies), said once at start: `set
 * ca-cert ""`, or the default files absent from state-dir.  A CA that is
 * there must load: a bad one is an error, so a reload keeps the old.
 */
static int
rt_tls(struct sl_rt *rt)
{
	const struct sl_settings *set = rt->set;
	struct sl_tls_ca_info ci;
	char err[512];

	if (set->ca_cert[0] == '\0' ||
	    (!rt_file_exists(set->state_dir, set->ca_cert) &&
	    !rt_file_exists(set->state_dir, set->ca_key) &&
	    strcmp(set->ca_cert, SL_TLS_CA_CERT) == 0 &&
	    strcmp(set->ca_key, SL_TLS_CA_KEY) == 0)) {
		sl_log(SL_LOG_WARN, "inspection: no CA (%s): TLS flows decided "
		    "inspect are %s (inspect-fallback); `sluicectl ca init "
		    "--dir %s` creates one", set->ca_cert[0] == '\0' ?
		    "ca-cert is \"\"" : "none in state-dir",
		    set->inspect_fallback == SL_FALLBACK_DENY ? "refused" :
		    "spliced and logged", set->state_dir);
		return 0;
	}
	if ((rt->ca = sl_tls_ca_load(set->state_dir, set->ca_cert,
	    set->ca_key, err, sizeof(err))) == NULL ||
	    (rt->certcache = sl_tls_certcache_new(rt->ca,
	    set->cert_cache_size)) == NULL ||
	    (rt->tls_cli = sl_tls_client_ctx_new(err, sizeof(err))) == NULL ||
	    (rt->tls_up = sl_tls_upstream_ctx_new(set->state_dir,
	    set->upstream_ca_bundle, rt->ca, err, sizeof(err))) == NULL ||
	    (rt->vcache = sl_tls_vcache_new(set->verify_cache_size,
	    set->verify_cache_ttl / 1000)) == NULL) {
		sl_log(SL_LOG_ERR, "inspection: %s", rt->ca == NULL ||
		    rt->tls_cli == NULL || rt->tls_up == NULL ? err :
		    "out of memory");
		return -1;
	}
	sl_tls_vcache_attach(rt->vcache, rt->tls_up);
	sl_inspect_ctx_init(rt->tls_cli);
	sl_tls_ca_info(rt->ca, &ci);
	sl_log(SL_LOG_INFO, "inspection: CA %s, %s, SHA-256 %s, valid until %s",
	    ci.subject, ci.key, ci.sha256, ci.not_after);
	return 0;
}

/* addrs: a reference that becomes the snapshot's (dropped on failure). */
static struct sl_rt *
rt_new(struct sl_config *cfg, struct sl_addrs *addrs)
{
	struct sl_rt *rt;
	const struct sl_listen *ls;
	size_t n;

	if ((rt = sl_calloc(1, sizeof(*rt))) == NULL) {
		sl_addrs_unref(addrs);
		return NULL;
	}
	rt->refs = 1;
	rt->cfg = sl_config_ref(cfg);
	rt->set = sl_config_settings(cfg);
	rt->pol = sl_config_policy(cfg);
	rt->addrs = addrs;
	ls = sl_config_listeners(cfg, &n);
	if ((rt->lports = sl_calloc(n ? n : 1, sizeof(*rt->lports))) == NULL)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		struct sl_ip ip;

		sl_ip_from_sa(&ip, &rt->lports[i],
		    (const struct sockaddr *)&ls[i].addr);
	}
	rt->nlports = n;
	if (rt_tls(rt) == -1)
		goto fail;
	return rt;
fail:
	sl_rt_unref(rt);
	return NULL;
}

struct sl_rt *
sl_rt_new_tracked(struct sl_config *cfg, struct sl_addrs *addrs)
{
	return rt_new(cfg, sl_addrs_ref(addrs));
}

struct sl_rt *
sl_rt_new(struct sl_config *cfg)
{
	struct sl_addrs *now = sl_addrs_snapshot();

	return now != NULL ? rt_new(cfg, now) : NULL;
}

struct sl_rt *
sl_rt_ref(struct sl_rt *rt)
{
	__atomic_add_fetch(&rt->refs, 1, __ATOMIC_RELAXED);
	return rt;
}

void
sl_rt_unref(struct sl_rt *rt)
{
	if (rt == NULL || __atomic_sub_fetch(&rt->refs, 1, __ATOMIC_ACQ_REL))
		return;
	SSL_CTX_free(rt->tls_up);
	sl_tls_vcache_free(rt->vcache);	/* after the context it serves */
	SSL_CTX_free(rt->tls_cli);
	sl_tls_certcache_unref(rt->certcache);
	sl_tls_ca_unref(rt->ca);
	sl_config_unref(rt->cfg);
	sl_addrs_unref(rt->addrs);
	sl_free(rt->lports);
	sl_free(rt);
}

int
sl_rt_is_local(const struct sl_rt *rt, const struct sl_ip *ip)
{
	/* The set as it is now, not as it was when rt was made. */
	return sl_addrs_has(rt->addrs, ip);
}
