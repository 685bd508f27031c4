/*
 * ctl_explain.c — `sluicectl explain`: decide one flow and say why.
 */
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../lib/addr.h"
#include "../lib/alloc.h"
#include "../lib/urlpath.h"
#include "sluicectl.h"

struct xopts {
	const char	*path;
	struct sl_facts	 f;
	char		 name[256];
	char		 sni[256];
	char		 host[256];
	char		*path_q;	/* url path, owned; then the
					   reading without parameters */
	int		 json;
	int		 have_name, have_sni;
};

static int
facts_parse_unknown(const char *s, unsigned *mask)
{
	char buf[128], *save = NULL;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	for (char *w = strtok_r(buf, ",", &save); w != NULL;
	    w = strtok_r(NULL, ",", &save)) {
		if (strcmp(w, "name") == 0 || strcmp(w, "domain") == 0)
			*mask |= SL_FACT_NAME;
		else if (strcmp(w, "ip") == 0 || strcmp(w, "dst") == 0)
			*mask |= SL_FACT_DST_IP;
		else if (strcmp(w, "url") == 0)
			*mask |= SL_FACT_URL;
		else if (strcmp(w, "user") == 0)
			*mask |= SL_FACT_USER;
		else if (strcmp(w, "geo") == 0)
			*mask |= SL_FACT_GEO;
		else
			return -1;
	}
	return 0;
}

static int
x_name(const char *arg, char *out, struct sl_facts *f, const char *opt)
{
	struct sl_ip ip;

	/* A literal address is what a CONNECT to an IP gives: no name,
	 * the destination address is known. */
	if (sl_ip_parse_host(&ip, arg, strlen(arg)) == 1) {
		f->dst = ip;
		return 1;
	}
	if (sl_name_normalise(arg, strlen(arg), out, 256) == -1) {
		fprintf(stderr, "sluicectl explain: invalid %s '%s'\n", opt,
		    arg);
		return -1;
	}
	return 0;
}

static int
x_url(struct xopts *o, const char *arg)
{
	const char *s = arg, *slash;
	size_t hl, cap;

	if (strncmp(s, "http://", 7) == 0)
		s += 7;
	else if (strncmp(s, "https://", 8) == 0)
		s += 8;
	slash = strchr(s, '/');
	hl = slash ? (size_t)(slash - s) : strlen(s);
	if (hl == 0 || hl >= sizeof(o->host) ||
	    sl_name_normalise(s, hl, o->host, sizeof(o->host)) == -1) {
		fprintf(stderr, "sluicectl explain: invalid --url '%s' "
		    "(expected HOST/PATH)\n", arg);
		return -1;
	}
	/* The daemon's forms (lib/urlpath.h), both readings: what the
	 * checker decides for "/x/../hello" or "/x/..;/hello" must be what
	 * sluiced decides.  One buffer holds both. */
	if (slash == NULL)
		slash = "/";
	cap = strlen(slash) + 2;
	if ((o->path_q = sl_alloc(2 * cap)) == NULL)
		return -1;
	if (sl_urlpath_normalise(slash, strlen(slash), o->path_q, cap) == -1 ||
	    sl_urlpath_normalise_noparam(slash, strlen(slash),
	    o->path_q + cap, cap) == -1) {
		fprintf(stderr, "sluicectl explain: invalid escape in --url "
		    "'%s' (sluiced refuses such a request with 400 bad_path)\n",
		    arg);
		return -1;
	}
	o->f.url_host = o->host;
	o->f.url_path = o->path_q;
	o->f.url_path_noparam = o->path_q + cap;
	return 0;
}

static int
x_parse(struct xopts *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "src", required_argument, NULL, 's' },
		{ "ip", required_argument, NULL, 'i' },
		{ "name", required_argument, NULL, 'n' },
		{ "sni", required_argument, NULL, 'S' },
		{ "port", required_argument, NULL, 'p' },
		{ "udp", no_argument, NULL, 'U' },
		{ "url", required_argument, NULL, 'u' },
		{ "user", required_argument, NULL, 'a' },
		{ "country", required_argument, NULL, 'C' },
		{ "asn", required_argument, NULL, 'A' },
		{ "local", no_argument, NULL, 'L' },
		{ "unknown", required_argument, NULL, 'k' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned unknown = 0;
	char *end;
	long v;
	int c, r;

	o->f.proto = IPPROTO_TCP;
	o->f.port = 443;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->path = optarg;
			break;
		case 's':
			if (sl_ip_parse(&o->f.src, optarg) == -1)
				goto bad;
			break;
		case 'i':
			if (sl_ip_parse_host(&o->f.dst, optarg,
			    strlen(optarg)) != 1)
				goto bad;
			break;
		case 'n':
			if ((r = x_name(optarg, o->name, &o->f, "--name")) == -1)
				return -1;
			o->have_name = r == 0;
			break;
		case 'S':
			if ((r = x_name(optarg, o->sni, &o->f, "--sni")) == -1)
				return -1;
			o->have_sni = r == 0;
			break;
		case 'p':
			v = strtol(optarg, &end, 10);
			if (*end != '\0' || v < 1 || v > 65535)
				goto bad;
			o->f.port = (uint16_t)v;
			break;
		case 'U':
			o->f.proto = IPPROTO_UDP;
			break;
		case 'u':
			if (x_url(o, optarg) == -1)
				return -1;
			break;
		case 'a':
			o->f.user = optarg;
			break;
		case 'C':
			o->f.country = optarg;
			break;
		case 'A':
			v = strtol(strncasecmp(optarg, "as", 2) == 0 ?
			    optarg + 2 : optarg, &end, 10);
			if (*end != '\0' || v < 1 || v > 0xffffffffL)
				goto bad;
			o->f.asn = (uint32_t)v;
			break;
		case 'L':
			o->f.dst_local = 1;
			break;
		case 'k':
			if (facts_parse_unknown(optarg, &unknown) == -1) {
				fprintf(stderr, "sluicectl explain: invalid "
				    "--unknown '%s' (expected name, ip, url, "
				    "user, geo)\n", optarg);
				return -1;
			}
			break;
		case 'j':
			o->json = 1;
			break;
		default:
			return -1;
		}
	}
	if (o->path == NULL && optind < argc)
		o->path = argv[optind++];
	if (o->path == NULL || optind != argc)
		return -1;
	o->f.known = SL_FACT_ALL & ~unknown;
	if (o->have_name)
		o->f.name = o->name;
	else if (o->have_sni)
		o->f.name = o->sni;
	return 0;
bad:
	fprintf(stderr, "sluicectl explain: invalid value '%s'\n", optarg);
	return -1;
}

static json_t *
x_strs(unsigned bits, const char *(*fmt)(unsigned, char *, size_t),
    char sep)
{
	json_t *a = json_array();
	char buf[160], *save = NULL;
	char seps[2] = { sep, '\0' };

	fmt(bits, buf, sizeof(buf));
	for (char *w = strtok_r(buf, seps, &save); w != NULL;
	    w = strtok_r(NULL, seps, &save))
		json_array_append_new(a, json_string(w));
	return a;
}

static const char *
x_flags_fmt(unsigned flags, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s%s%s%s",
	    flags & SL_DEC_BY_NAME ? "by-name " : "",
	    flags & SL_DEC_PORT_EXPLICIT ? "port-explicit " : "",
	    flags & SL_DEC_GUARD ? "guard " : "",
	    flags & SL_DEC_DEFAULT ? "default " : "");
	return buf;
}

static const char *const trace_states[] = {
	"nomatch", "undetermined", "disabled", "match",
};

/*
 * What a decision means for a UDP flow (--udp), or NULL for TCP: into
 * *effect "forward" or "drop", and the reason a drop is logged with.
 */
static const char *
x_udp_effect(const struct sl_decision *d, const struct xopts *o,
    const struct sl_settings *set, const char **reason)
{
	*reason = NULL;
	if (o->f.proto != IPPROTO_UDP)
		return NULL;
	if (d->action == SL_ACT_DENY) {
		*reason = d->reason != NULL ? d->reason : "policy";
		return "drop";
	}
	if (d->action == SL_ACT_INSPECT &&
	    set->udp_inspect == SL_FALLBACK_DENY) {
		*reason = "udp_not_inspectable";
		return "drop";
	}
	return "forward";
}

/* The text form's last line for --udp: what sluiced does with it. */
static void
x_udp_note(const struct sl_policy *pol, const struct xopts *o,
    const struct sl_settings *set)
{
	struct sl_decision d;
	size_t total;
	const char *effect, *reason;

	(void)sl_policy_trace(pol, &o->f, &d, NULL, 0, &total);
	if ((effect = x_udp_effect(&d, o, set, &reason)) == NULL)
		return;
	if (strcmp(effect, "forward") == 0)
		printf("udp: forwarded: one session per client address and "
		    "port and destination, ended after udp-idle-timeout "
		    "(%us) without a datagram%s\n", set->udp_idle_timeout / 1000,
		    d.action == SL_ACT_INSPECT ? " (inspect cannot apply to "
		    "UDP; `udp-inspect splice` forwards it untouched)" : "");
	else if (strcmp(reason, "udp_not_inspectable") == 0)
		printf("udp: dropped: inspect cannot apply to UDP "
		    "(udp_not_inspectable; `set udp-inspect splice` would "
		    "forward it); one flow.blocked per client address, "
		    "destination and udp-blocked-interval\n");
	else
		printf("udp: dropped (%s): one flow.blocked per client "
		    "address, destination and udp-blocked-interval\n", reason);
}

static int
x_json(const struct sl_policy *pol, const struct xopts *o,
    const struct sl_settings *set)
{
	const char *effect, *ureason;
	struct sl_trace_step *steps;
	struct sl_decision d;
	size_t n, total, cap = 1000;
	json_t *root, *sk;
	char facts[64];
	char *out;

	if ((steps = sl_calloc(cap, sizeof(*steps))) == NULL)
		return CTL_PROBLEM;
	n = sl_policy_trace(pol, &o->f, &d, steps, cap, &total);
	root = json_object();
	json_object_set_new(root, "action",
	    json_string(sl_action_name(d.action)));
	json_object_set_new(root, "mods", x_strs(d.mods, sl_mods_fmt, ' '));
	json_object_set_new(root, "flags", x_strs(d.flags, x_flags_fmt, ' '));
	json_object_set_new(root, "rule", json_string(d.rule_name));
	json_object_set_new(root, "rule_index", d.rule_index == UINT32_MAX ?
	    json_null() : json_integer(d.rule_index));
	json_object_set_new(root, "final", json_boolean(d.need == 0));
	json_object_set_new(root, "need", x_strs(d.need, sl_facts_fmt, ','));
	json_object_set_new(root, "reason", d.reason ?
	    json_string(d.reason) : json_null());
	if (d.rule != NULL) {
		const struct sl_loc *loc = sl_rule_loc(d.rule);

		json_object_set_new(root, "level", sl_rule_level(d.rule) ?
		    json_string(sl_rule_level(d.rule)) : json_null());
		json_object_set_new(root, "cite", sl_rule_cite(d.rule) ?
		    json_string(sl_rule_cite(d.rule)) : json_null());
		json_object_set_new(root, "file", json_string(loc->file));
		json_object_set_new(root, "line", json_integer(loc->line));
	}
	sk = json_array();
	for (size_t i = 0; i < n; i++) {
		const struct sl_trace_step *st = &steps[i];
		json_t *e;

		if (st->state == SL_TRACE_MATCH)
			continue;
		e = json_object();
		json_object_set_new(e, "rule",
		    json_string(sl_rule_name(st->rule)));
		json_object_set_new(e, "line",
		    json_integer(sl_rule_loc(st->rule)->line));
		json_object_set_new(e, "state",
		    json_string(trace_states[st->state]));
		if (st->state == SL_TRACE_NOMATCH)
			json_object_set_new(e, "why", json_string(st->why));
		if (st->state == SL_TRACE_UNDETERMINED)
			json_object_set_new(e, "need", json_string(
			    sl_facts_fmt(st->need, facts, sizeof(facts))));
		json_array_append_new(sk, e);
	}
	if ((effect = x_udp_effect(&d, o, set, &ureason)) != NULL) {
		json_object_set_new(root, "udp", json_string(effect));
		json_object_set_new(root, "udp_reason", ureason ?
		    json_string(ureason) : json_null());
	}
	json_object_set_new(root, "skipped", sk);
	json_object_set_new(root, "skipped_more",
	    json_integer((json_int_t)(total - n)));
	if (o->have_name && o->have_sni && strcmp(o->name, o->sni) != 0)
		json_object_set_new(root, "sni_mismatch", json_boolean(
		    (d.mods & SL_MOD_SNI_CHECK) != 0));
	out = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (out != NULL)
		printf("%s\n", out);
	free(out);
	json_decref(root);
	sl_free(steps);
	return out != NULL ? CTL_OK : CTL_PROBLEM;
}

int
ctl_explain(int argc, char **argv)
{
	struct sl_config *cfg;
	struct xopts o;
	int rc = CTL_OK;

	memset(&o, 0, sizeof(o));
	if (x_parse(&o, argc, argv) == -1) {
		ctl_usage("explain", stderr);
		sl_free(o.path_q);
		return CTL_USAGE;
	}
	if ((cfg = ctl_load(o.path, 1)) == NULL) {
		sl_free(o.path_q);
		return CTL_PROBLEM;
	}
	if (o.json) {
		rc = x_json(sl_config_policy(cfg), &o, sl_config_settings(cfg));
	} else {
		char *s = sl_policy_explain(sl_config_policy(cfg), &o.f);

		if (s == NULL) {
			rc = CTL_PROBLEM;
		} else {
			fputs(s, stdout);
			sl_free(s);
		}
		if (o.have_name && o.have_sni && strcmp(o.name, o.sni) != 0)
			printf("note: SNI '%s' differs from the name '%s': "
			    "rules with sni-check refuse such a flow "
			    "(sni_mismatch); the decision above is for the "
			    "name\n", o.sni, o.name);
		x_udp_note(sl_config_policy(cfg), &o, sl_config_settings(cfg));
	}
	sl_config_unref(cfg);
	sl_free(o.path_q);
	return rc;
}
