/*
 * main.c — sluiced: load the configuration, bind, drop privileges, run
 * the workers, and handle signals (SIGTERM/SIGINT drain and exit, SIGHUP
 * reload, SIGUSR1 reopen the flow log files).
 */
#include <ares.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../lib/addr.h"
#include "../lib/alloc.h"
#include "../lib/diag.h"
#include "../lib/log.h"
#include "../policy/config.h"
#include "addrwatch.h"
#include "learn.h"
#include "listen.h"
#include "pipes.h"
#include "sink/sink.h"
#include "worker.h"

#define SLUICED_VERSION		"0.1.0"
#define DEFAULT_CONF		"/etc/sluice/sluice.conf"
#define MAX_OVERRIDES		64
#define LOCK_NAME		"sluiced.lock"	/* in state-dir */

struct daemon {
	const char		*conf_path;
	struct sl_override	 ov[MAX_OVERRIDES];
	size_t			 nov;
	int			 foreground;
	int			 ready_fd;	/* daemon: tells the parent */
	int			 lock_fd;	/* state-dir lock, held */
	int			 pid_fd;	/* daemon: pid file, held */
	struct event_base	*base;
	struct sl_rt		*rt;		/* current; main's reference */
	struct sl_addrwatch	*aw;		/* own addresses, kept current */
	struct sl_sinks		*sinks;		/* the flow log */
	struct sl_pipes		*pipes;		/* budget shared by workers */
	struct sl_learnd	*learnd;	/* learn mode: survives reloads */
	struct sl_worker	**wk;
	unsigned		 nwk;
	int			 draining;
	struct event		*sig[5];
	struct event		*wait_ev;	/* polls for drained workers */
};

static void
usage(FILE *fp)
{
	fprintf(fp,
"usage: sluiced [-f] [-t] [-c FILE] [-o NAME=VALUE]... [-d CATS]\n"
"\n"
"sluice gateway daemon: explicit and transparent forwarding proxy with\n"
"per-destination TLS bypass, driven by one policy file.\n"
"\n"
"  -c FILE        configuration file (default " DEFAULT_CONF ")\n"
"  -t             check the configuration, print every diagnostic, and exit\n"
"                 (0: valid, 1: errors)\n"
"  -f             stay in the foreground, log to stderr (else: daemon, syslog)\n"
"  -o NAME=VALUE  override a `set` setting after the file (repeatable),\n"
"                 e.g. -o user= -o log-dir=run\n"
"  -d CATS        debug categories: flow,tls,dns,policy,stun,ctl,http or all\n"
"  -V, --version  print the version\n"
"  -h, --help     this help\n"
"\n"
"Signals: SIGTERM/SIGINT stop accepting and drain flows (drain-timeout),\n"
"SIGHUP reloads the configuration (a bad file keeps the running one),\n"
"SIGUSR1 reopens the flow log files.  See docs/deploy.md.\n");
}

static struct sl_config *
load_config(struct daemon *d, int quiet_ok)
{
	struct sl_diags diags;
	struct sl_config *cfg;

	sl_diags_init(&diags);
	cfg = sl_config_load(d->conf_path, d->ov, d->nov, &diags);
	if (diags.n > 0 && (cfg == NULL || !quiet_ok)) {
		char *txt = sl_diags_text(&diags);

		if (txt != NULL) {
			/* One log line per diagnostic line. */
			for (char *save = NULL, *l = strtok_r(txt, "\n", &save);
			    l != NULL; l = strtok_r(NULL, "\n", &save))
				sl_log(cfg ? SL_LOG_WARN : SL_LOG_ERR, "%s", l);
			sl_free(txt);
		}
	}
	sl_diags_free(&diags);
	return cfg;
}

static void
apply_log_settings(const struct sl_settings *set)
{
	enum sl_log_level lvl;

	if (sl_log_level_parse(set->log_level, &lvl) == 0)
		sl_log_set_level(lvl);
}

static void
raise_nofile(void)
{
	struct rlimit rl;

	/* Every tunnel is two fds, plus pipes while bytes are in flight. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/*
 * After setuid(): keep CAP_NET_RAW and CAP_NET_BIND_SERVICE alone,
 * effective and permitted, for the calling thread (the threads started
 * later inherit them).  UDP forwarding sets IP_TRANSPARENT on a socket per
 * session and binds it to the original destination, port 443 for QUIC
 * (docs/design/udp.md); CAP_NET_RAW is the lesser of the two capabilities
 * the kernel accepts for IP_TRANSPARENT, CAP_NET_BIND_SERVICE the one for
 * a port below 1024.  No libcap: one syscall.
 */
static int
caps_keep_udp(void)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
		.pid = 0,
	};
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	memset(d, 0, sizeof(d));
	_Static_assert(CAP_TO_INDEX(CAP_NET_RAW) ==
	    CAP_TO_INDEX(CAP_NET_BIND_SERVICE), "one word of capabilities");
	d[CAP_TO_INDEX(CAP_NET_RAW)].effective = CAP_TO_MASK(CAP_NET_RAW) |
	    CAP_TO_MASK(CAP_NET_BIND_SERVICE);
	d[CAP_TO_INDEX(CAP_NET_RAW)].permitted =
	    d[CAP_TO_INDEX(CAP_NET_RAW)].effective;
	return (int)syscall(SYS_capset, &h, d);
}

/*
 * Become the configured user for good.  With keep_raw (the daemon
 * forwards UDP) CAP_NET_RAW and CAP_NET_BIND_SERVICE stay, nothing else.
 */
static int
drop_privileges(const struct sl_settings *set, int keep_raw)
{
	struct passwd *pw;
	gid_t gid;

	if (set->user[0] == '\0')
		return 0;
	if ((pw = getpwnam(set->user)) == NULL) {
		sl_log(SL_LOG_ERR, "unknown user '%s' (setting user)",
		    set->user);
		return -1;
	}
	gid = pw->pw_gid;
	if (set->group[0] != '\0') {
		struct group *gr = getgrnam(set->group);

		if (gr == NULL) {
			sl_log(SL_LOG_ERR, "unknown group '%s' (setting group)",
			    set->group);
			return -1;
		}
		gid = gr->gr_gid;
	}
	if (keep_raw && prctl(PR_SET_KEEPCAPS, 1L, 0L, 0L, 0L) == -1) {
		sl_log(SL_LOG_ERR, "cannot keep capabilities: %s",
		    strerror(errno));
		return -1;
	}
	if (setgroups(0, NULL) == -1 || setgid(gid) == -1 ||
	    setuid(pw->pw_uid) == -1) {
		sl_log(SL_LOG_ERR, "cannot drop privileges to %s: %s",
		    set->user, strerror(errno));
		return -1;
	}
	if (keep_raw && (caps_keep_udp() == -1 ||
	    prctl(PR_SET_KEEPCAPS, 0L, 0L, 0L, 0L) == -1)) {
		sl_log(SL_LOG_ERR, "cannot keep CAP_NET_RAW and "
		    "CAP_NET_BIND_SERVICE for UDP forwarding: %s; set "
		    "udp-forward off, or run as root", strerror(errno));
		return -1;
	}
	/* Make sure it cannot be undone. */
	if (pw->pw_uid != 0 && setuid(0) != -1) {
		sl_log(SL_LOG_ERR, "privileges could be regained: refusing to "
		    "run");
		return -1;
	}
	sl_log(SL_LOG_INFO, "running as %s (uid %d, gid %d)%s", set->user,
	    (int)pw->pw_uid, (int)gid, keep_raw ? ", with CAP_NET_RAW and "
	    "CAP_NET_BIND_SERVICE only (UDP forwarding)" : "");
	return 0;
}

/*
 * Become a daemon.  The process that was started waits until the daemon
 * reports that it serves, or dies first, and exits 0 or 1 accordingly: a
 * failure after the fork (privileges, a worker) still reaches the shell,
 * an init script or systemd's Type=forking.  *ready_fd is the pipe the
 * daemon writes one byte to when it serves.  The instance locks, taken
 * before, stay held: flock() locks belong to the open file, which the
 * daemon inherits.
 */
static int
daemonize(int *ready_fd)
{
	pid_t pid;
	int fd, p[2];
	char c;

	if (pipe2(p, O_CLOEXEC) == -1 || (pid = fork()) == -1)
		return -1;
	if (pid > 0) {
		ssize_t n;

		close(p[1]);
		while ((n = read(p[0], &c, 1)) == -1 && errno == EINTR)
			continue;
		if (n == 1)
			_exit(0);
		fprintf(stderr, "sluiced: the daemon did not start; its "
		    "reason is in syslog\n");
		_exit(1);
	}
	close(p[0]);
	if (setsid() == -1)
		return -1;
	if ((pid = fork()) == -1)
		return -1;
	if (pid > 0)
		_exit(0);
	*ready_fd = p[1];
	if (chdir("/") == -1)
		return -1;
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* one instance (issue 12 item 9)                                       */

/*
 * A refusal to start: logged, and also on stderr while a daemon-to-be
 * still has its caller's terminal (its log goes to syslog).
 */
static void SL_PRINTF(2, 3)
start_refused(const struct daemon *d, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sl_log(SL_LOG_ERR, "%s", msg);
	if (!d->foreground)
		fprintf(stderr, "sluiced: %s\n", msg);
}

/* The pid written in a locked file, or "unknown" (it may not be yet). */
static const char *
lock_holder(int fd, char *buf, size_t cap)
{
	ssize_t n = pread(fd, buf, cap - 1, 0);
	size_t i = 0;

	while (n > 0 && i < (size_t)n && buf[i] >= '0' && buf[i] <= '9')
		i++;
	if (n <= 0 || i == 0)
		return "unknown";
	buf[i] = '\0';
	return buf;
}

/*
 * Open path and take its exclusive lock, without waiting: the fd, or -1
 * with the refusal said (what: "the state directory lock", ...).  flock()
 * rather than fcntl(): its lock belongs to the open file, so it survives
 * the daemon's fork and is released only when the last process holding
 * the file exits, however it exits; a stale file from a crash is no lock.
 */
static int
instance_lock(const struct daemon *d, const char *path, const char *what)
{
	char pid[32];
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd == -1) {
		start_refused(d, "cannot open %s %s: %s: not starting", what,
		    path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK)
			start_refused(d, "another sluiced (pid %s) holds %s "
			    "%s: not starting", lock_holder(fd, pid,
			    sizeof(pid)), what, path);
		else
			start_refused(d, "cannot lock %s %s: %s: not starting",
			    what, path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Write our pid into a locked file (it may hold a previous one). */
static int
instance_write_pid(int fd, const char *path)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());

	if (ftruncate(fd, 0) == -1 || pwrite(fd, buf, (size_t)n, 0) != n) {
		sl_log(SL_LOG_ERR, "cannot write %s: %s", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* state-dir/sluiced.lock into buf; -1 if it does not fit. */
static int
instance_lock_path(const struct sl_settings *set, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "%s/%s", set->state_dir, LOCK_NAME);

	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* Is the pid file the lock file itself (then it is locked already)? */
static int
instance_same_file(int fd, const char *path)
{
	struct stat a, b;

	return fd != -1 && fstat(fd, &a) != -1 && stat(path, &b) != -1 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/*
 * Before anything is opened or bound: one instance per state directory
 * (an exclusive lock on state-dir/sluiced.lock, created with the
 * directory if need be) and per pid file (daemon mode), and no other
 * process listening on our addresses.  Linux lets a second sluiced bind
 * the same listeners through SO_REUSEPORT (same user), and it then takes
 * part of the connections (issue 12 item 9: 3 of 10 requests); the lock
 * catches one with the same state-dir or pid file even when both start
 * at once, the listener probe one with another state-dir.  -1 when
 * refused (said).
 */
static int
instance_claim(struct daemon *d, const struct sl_settings *set)
{
	char path[PATH_MAX], name[SL_ADDR_STRLEN];
	const struct sl_listen *ls;
	size_t nl;

	if (set->state_dir[0] == '\0') {
		sl_log(SL_LOG_WARN, "state-dir is empty: no instance lock");
	} else if (instance_lock_path(set, path, sizeof(path)) == -1) {
		start_refused(d, "state-dir %s is too long: not starting",
		    set->state_dir);
		return -1;
	} else {
		if (mkdir(set->state_dir, 0750) == -1 && errno != EEXIST) {
			start_refused(d, "cannot create state-dir %s: %s: not "
			    "starting", set->state_dir, strerror(errno));
			return -1;
		}
		d->lock_fd = instance_lock(d, path, "the state directory lock");
		if (d->lock_fd == -1 ||
		    instance_write_pid(d->lock_fd, path) == -1)
			return -1;
	}
	if (!d->foreground && set->pid_file[0] != '\0' &&
	    !instance_same_file(d->lock_fd, set->pid_file) &&
	    (d->pid_fd = instance_lock(d, set->pid_file,
	    "the pid file")) == -1)
		return -1;
	ls = sl_config_listeners(d->rt->cfg, &nl);
	for (size_t i = 0; i < nl; i++) {
		if (sl_listen_probe(&ls[i]) != 1)
			continue;	/* free, or sl_listen_open() reports */
		sl_sa_fmt((const struct sockaddr *)&ls[i].addr, name,
		    sizeof(name));
		start_refused(d, "listen %s: another process listens on this "
		    "address (another sluiced? it would share the port "
		    "through SO_REUSEPORT and take part of its connections; "
		    "ss -ltnp names it): not starting", name);
		return -1;
	}
	return 0;
}

/* After the fork: the daemon's pid in the lock and the pid file. */
static int
instance_mark(const struct daemon *d, const struct sl_settings *set)
{
	char path[PATH_MAX];

	if (d->lock_fd != -1 && (instance_lock_path(set, path,
	    sizeof(path)) == -1 || instance_write_pid(d->lock_fd, path) == -1))
		return -1;
	/* A pid file that is the lock file has just been written. */
	if (d->pid_fd != -1)
		return instance_write_pid(d->pid_fd, set->pid_file);
	return 0;
}

/*
 * Does transparent listener l also take the UDP nftables TPROXYs to its
 * address and port (docs/design/udp.md)?  Not with udp-forward off or no
 * transparent-udp-ports: then nothing is bound and tproxy diverts nothing.
 */
static int
udp_listens(const struct sl_settings *set, const struct sl_listen *l)
{
	uint8_t proto;
	uint16_t lo, hi;

	return l->kind != SL_LISTEN_EXPLICIT && set->udp_forward &&
	    set->transparent_udp_ports != NULL &&
	    sl_portset_range(set->transparent_udp_ports, 0, &proto, &lo,
	    &hi) == 0;
}

/* Does this configuration bind any UDP socket? */
static int
udp_forwarding(const struct daemon *d)
{
	const struct sl_listen *ls;
	size_t nl;

	ls = sl_config_listeners(d->rt->cfg, &nl);
	for (size_t i = 0; i < nl; i++)
		if (udp_listens(d->rt->set, &ls[i]))
			return 1;
	return 0;
}

/* One worker's sockets: every listener's, and its UDP one if it has one;
 * *n of them.  -1 (logged, none left open). */
static int
open_listeners(struct daemon *d, int *fds, int *kinds, size_t *n)
{
	const struct sl_settings *set = d->rt->set;
	const struct sl_listen *ls;
	size_t nl, k = 0;

	ls = sl_config_listeners(d->rt->cfg, &nl);
	for (size_t i = 0; i < nl; i++) {
		kinds[k] = (int)ls[i].kind;
		if ((fds[k] = sl_listen_open(&ls[i])) == -1)
			goto fail;
		k++;
		if (!udp_listens(set, &ls[i]))
			continue;
		kinds[k] = (int)ls[i].kind | SL_LISTEN_UDP_BIT;
		if ((fds[k] = sl_listen_open_udp(&ls[i])) == -1)
			goto fail;
		k++;
	}
	*n = k;
	return 0;
fail:
	while (k-- > 0)
		close(fds[k]);
	return -1;
}

/* Open every listener once per worker (SO_REUSEPORT) and start them. */
static int
start_workers(struct daemon *d)
{
	size_t nl, nfd;
	int *fds = NULL, *kinds = NULL;
	int rc = -1;

	(void)sl_config_listeners(d->rt->cfg, &nl);
	if (nl == 0) {
		sl_log(SL_LOG_ERR, "no listen statement: nothing to serve");
		return -1;
	}
	d->wk = sl_calloc(d->nwk, sizeof(*d->wk));
	fds = sl_calloc(2 * nl, sizeof(*fds));
	kinds = sl_calloc(2 * nl, sizeof(*kinds));
	if (d->wk == NULL || fds == NULL || kinds == NULL)
		goto out;
	for (unsigned w = 0; w < d->nwk; w++) {
		if (open_listeners(d, fds, kinds, &nfd) == -1)
			goto out;
		d->wk[w] = sl_worker_new(w, d->nwk, d->rt, d->sinks,
		    d->pipes, fds, kinds, nfd);
		if (d->wk[w] == NULL)
			goto out;
		/* Set before the thread starts: read by it only. */
		d->wk[w]->learn = sl_learnd_table(d->learnd);
	}
	rc = 0;
out:
	sl_free(fds);
	sl_free(kinds);
	return rc;
}

static int
same_listeners(const struct sl_config *a, const struct sl_config *b)
{
	const struct sl_listen *la, *lb;
	size_t na, nb;

	la = sl_config_listeners(a, &na);
	lb = sl_config_listeners(b, &nb);
	if (na != nb)
		return 0;
	for (size_t i = 0; i < na; i++)
		if (la[i].kind != lb[i].kind || la[i].addrlen != lb[i].addrlen ||
		    memcmp(&la[i].addr, &lb[i].addr, la[i].addrlen) != 0)
			return 0;
	return 1;
}

static int
same_sinks(const struct sl_config *a, const struct sl_config *b)
{
	const struct sl_sink *sa, *sb;
	size_t na, nb;

	sa = sl_config_sinks(a, &na);
	sb = sl_config_sinks(b, &nb);
	if (na != nb)
		return 0;
	for (size_t i = 0; i < na; i++)
		if (sa[i].kind != sb[i].kind ||
		    strcmp(sa[i].path, sb[i].path) != 0)
			return 0;
	return 1;
}

static void
reload(struct daemon *d)
{
	struct sl_config *cfg;
	struct sl_rt *rt;

	sl_log(SL_LOG_INFO, "reloading %s", d->conf_path);
	if ((cfg = load_config(d, 0)) == NULL) {
		sl_log(SL_LOG_ERR, "reload failed: keeping the running "
		    "configuration");
		return;
	}
	/* Also a resync for a system that sends no address notifications. */
	sl_addrwatch_refresh(d->aw);
	rt = sl_rt_new_tracked(cfg, sl_addrwatch_addrs(d->aw));
	sl_config_unref(cfg);
	if (rt == NULL) {
		/* The inspection CA (said above) or memory. */
		sl_log(SL_LOG_ERR, "reload failed: keeping the running "
		    "configuration");
		return;
	}
	if (!same_listeners(rt->cfg, d->rt->cfg))
		sl_log(SL_LOG_WARN, "listen statements changed: they take "
		    "effect at the next restart; removed listeners refuse new "
		    "connections");
	if (!same_sinks(rt->cfg, d->rt->cfg))
		sl_log(SL_LOG_WARN, "log statements changed: the flow log keeps "
		    "its current sinks until the next restart");
	sl_policy_inherit_hits(rt->pol, d->rt->pol);
	apply_log_settings(rt->set);
	sl_learnd_reload(d->learnd, rt->set);
	for (unsigned w = 0; w < d->nwk; w++)
		sl_worker_post_rt(d->wk[w], rt);
	sl_rt_unref(d->rt);
	d->rt = rt;
	sl_log(SL_LOG_INFO, "configuration reloaded: %zu rule(s)",
	    sl_policy_nrules(rt->pol));
}

static void
drain_wait_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	struct timeval tv = { 0, 100 * 1000 };

	(void)fd;
	(void)what;
	for (unsigned w = 0; w < d->nwk; w++) {
		if (!__atomic_load_n(&d->wk[w]->done, __ATOMIC_ACQUIRE)) {
			evtimer_add(d->wait_ev, &tv);
			return;
		}
	}
	event_base_loopbreak(d->base);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	(void)what;
	switch (sig) {
	case SIGHUP:
		reload(d);
		break;
	case SIGUSR1:
		sl_log(SL_LOG_INFO, "reopening flow log files");
		sl_sinks_reopen(d->sinks);
		break;
	case SIGTERM:
	case SIGINT:
		if (d->draining) {
			sl_log(SL_LOG_WARN, "second signal: closing every flow");
			for (unsigned w = 0; w < d->nwk; w++)
				sl_worker_post_cmd(d->wk[w], SL_WK_STOP);
			break;
		}
		d->draining = 1;
		sl_log(SL_LOG_INFO, "%s: no new connections, draining (up to "
		    "%ums)", sig == SIGTERM ? "SIGTERM" : "SIGINT",
		    d->rt->set->drain_timeout);
		for (unsigned w = 0; w < d->nwk; w++)
			sl_worker_post_cmd(d->wk[w], SL_WK_DRAIN);
		/* Main keeps handling signals until every worker is done. */
		drain_wait_cb(-1, 0, d);
		break;
	}
}

static int
parse_args(struct daemon *d, int argc, char **argv, int *check,
    unsigned *dbg)
{
	static const struct option longs[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "c:d:fho:tV", longs, NULL)) != -1) {
		switch (ch) {
		case 'c':
			d->conf_path = optarg;
			break;
		case 'd':
			if (sl_log_cats_parse(optarg, dbg) == -1) {
				fprintf(stderr, "sluiced: unknown debug category "
				    "in '%s'\n", optarg);
				return -1;
			}
			break;
		case 'f':
			d->foreground = 1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'o': {
			char *eq = strchr(optarg, '=');

			if (eq == NULL || d->nov == MAX_OVERRIDES) {
				fprintf(stderr, "sluiced: -o wants NAME=VALUE "
				    "(at most %d)\n", MAX_OVERRIDES);
				return -1;
			}
			*eq = '\0';
			d->ov[d->nov].name = optarg;
			d->ov[d->nov].value = eq + 1;
			d->nov++;
			break;
		}
		case 't':
			*check = 1;
			break;
		case 'V':
			printf("sluiced %s\n", SLUICED_VERSION);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return -1;
	}
	return 0;
}

static int
run(struct daemon *d)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1 };
	const struct sl_settings *set = d->rt->set;
	size_t nsinks;
	const struct sl_sink *sinks = sl_config_sinks(d->rt->cfg, &nsinks);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	d->nwk = set->workers ? set->workers : (ncpu > 0 ? (unsigned)ncpu : 1);
	if (instance_claim(d, set) == -1)
		return 1;
	d->sinks = sl_sinks_open(sinks, nsinks);
	if (d->sinks == NULL)
		return 1;
	/* A configured user drops every capability; without a user the
	 * process keeps what it has now (root in a container may lack the
	 * ones that lift the kernel's pipe limit). */
	d->pipes = sl_pipes_new((set->user[0] != '\0' &&
	    strcmp(set->user, "root") != 0) || !sl_pipes_exempt());
	if (d->pipes == NULL)
		return 1;
	/* Read before privileges go, like the CA; written as the user. */
	if ((d->learnd = sl_learnd_new(set)) == NULL)
		return 1;
	if (sl_pipes_limit(d->pipes) != 0)
		sl_log(SL_LOG_INFO, "pipe budget: %llu pages "
		    "(fs.pipe-user-pages-soft/-hard); pipes grow to pipe-size "
		    "while a quarter of it is left",
		    (unsigned long long)sl_pipes_limit(d->pipes));
	if (start_workers(d) == -1)
		return 1;
	if (!d->foreground && daemonize(&d->ready_fd) == -1) {
		sl_log(SL_LOG_ERR, "cannot become a daemon: %s",
		    strerror(errno));
		return 1;
	}
	if (!d->foreground && instance_mark(d, set) == -1)
		return 1;
	if (drop_privileges(set, udp_forwarding(d)) == -1)
		return 1;
	/* Only now: fork() keeps the calling thread alone. */
	if (sl_sinks_start(d->sinks) == -1)
		return 1;
	if ((d->base = event_base_new()) == NULL)
		return 1;
	if ((d->wait_ev = evtimer_new(d->base, drain_wait_cb, d)) == NULL)
		return 1;
	if (sl_addrwatch_start(d->aw, d->base) == -1)
		return 1;
	if (sl_learnd_start(d->learnd, d->base) == -1)
		return 1;
	for (size_t i = 0; i < SL_NELEM(sigs); i++) {
		d->sig[i] = evsignal_new(d->base, sigs[i], signal_cb, d);
		if (d->sig[i] == NULL || event_add(d->sig[i], NULL) == -1)
			return 1;
	}
	for (unsigned w = 0; w < d->nwk; w++)
		if (sl_worker_start(d->wk[w]) == -1)
			return 1;
	sl_log(SL_LOG_INFO, "sluiced %s: %u worker(s), %zu rule(s), ready",
	    SLUICED_VERSION, d->nwk, sl_policy_nrules(d->rt->pol));
	if (d->ready_fd != -1) {
		if (write(d->ready_fd, "1", 1) != 1)
			sl_log(SL_LOG_WARN, "cannot tell the parent process "
			    "that the daemon is ready: %s", strerror(errno));
		close(d->ready_fd);
		d->ready_fd = -1;
	}
	event_base_dispatch(d->base);
	return 0;
}

static void
shutdown_all(struct daemon *d)
{
	if (d->wk != NULL)
		for (unsigned w = 0; w < d->nwk; w++)
			sl_worker_join_free(d->wk[w]);
	sl_free(d->wk);
	/* After the workers: their last records are saved too. */
	sl_learnd_free(d->learnd);
	sl_sinks_close(d->sinks);
	sl_pipes_free(d->pipes);
	for (size_t i = 0; i < SL_NELEM(d->sig); i++)
		if (d->sig[i] != NULL)
			event_free(d->sig[i]);
	if (d->wait_ev != NULL)
		event_free(d->wait_ev);
	sl_addrwatch_free(d->aw);	/* the set lives on in d->rt */
	if (d->base != NULL)
		event_base_free(d->base);
	sl_rt_unref(d->rt);
	/* Last: the locks say an instance runs until it is gone. */
	if (d->pid_fd != -1)
		close(d->pid_fd);
	if (d->lock_fd != -1)
		close(d->lock_fd);
}

int
main(int argc, char **argv)
{
	struct daemon d;
	struct sl_config *cfg;
	unsigned dbg = 0;
	int check = 0, rc;

	memset(&d, 0, sizeof(d));
	d.conf_path = DEFAULT_CONF;
	d.ready_fd = -1;
	d.lock_fd = -1;
	d.pid_fd = -1;
	if (parse_args(&d, argc, argv, &check, &dbg) == -1)
		return 2;
	sl_log_setup("sluiced", d.foreground || check ? SL_LOGDEST_STDERR :
	    SL_LOGDEST_SYSLOG);
	sl_log_set_debug(dbg);
	signal(SIGPIPE, SIG_IGN);
	/* A flow-log file past a size limit (ulimit -f, LimitFSIZE=): the
	 * write fails with EFBIG and its sink reports the loss, instead of
	 * the signal ending the daemon. */
	signal(SIGXFSZ, SIG_IGN);

	if (check) {
		struct sl_diags diags;

		sl_diags_init(&diags);
		cfg = sl_config_load(d.conf_path, d.ov, d.nov, &diags);
		sl_diags_print(&diags, stderr);
		sl_diags_free(&diags);
		if (cfg == NULL) {
			fprintf(stderr, "%s: configuration has errors\n",
			    d.conf_path);
			return 1;
		}
		/* What start-up loads besides the file: the inspection CA. */
		if ((d.rt = sl_rt_new(cfg)) == NULL) {
			fprintf(stderr, "%s: sluiced would not start (above)\n",
			    d.conf_path);
			sl_config_unref(cfg);
			return 1;
		}
		sl_rt_unref(d.rt);
		printf("%s: configuration ok (%zu rules)\n", d.conf_path,
		    sl_policy_nrules(sl_config_policy(cfg)));
		sl_config_unref(cfg);
		return 0;
	}

	if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS) {
		sl_log(SL_LOG_ERR, "cannot initialise c-ares");
		return 1;
	}
	if ((cfg = load_config(&d, 0)) == NULL) {
		sl_log(SL_LOG_ERR, "%s: configuration has errors, not starting",
		    d.conf_path);
		return 1;
	}
	apply_log_settings(sl_config_settings(cfg));
	/* Subscribed here, before run() drops privileges. */
	if ((d.aw = sl_addrwatch_new()) != NULL)
		d.rt = sl_rt_new_tracked(cfg, sl_addrwatch_addrs(d.aw));
	sl_config_unref(cfg);
	if (d.rt == NULL) {
		sl_log(SL_LOG_ERR, "%s: not starting", d.conf_path);
		sl_addrwatch_free(d.aw);
		return 1;
	}
	raise_nofile();
	rc = run(&d);
	if (d.draining)
		sl_log(SL_LOG_INFO, "waiting for the workers to drain");
	shutdown_all(&d);
	ares_library_cleanup();
	if (rc == 0)
		sl_log(SL_LOG_INFO, "exiting");
	return rc;
}
