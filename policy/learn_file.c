/*
 * learn_file.c — learned.json: the learn-mode table on disk.
 *
 *   {"version": 1, "entries": [
 *     {"name": "pinned.example.test", "count": 7,
 *      "first": 1718000000, "last": 1718000420,
 *      "alert": "unknown ca", "clients": ["10.1.0.2", "10.1.0.3"]}]}
 *
 * JSON through jansson (already linked for `sluicectl import`): the
 * escaping of whatever a name or an alert holds is the library's, not
 * ours.  Still, a name is what a client claimed: on reading, one that is
 * not a host name or an address is dropped, never carried into a rule.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/alloc.h"
#include "learn.h"

#define LF_VERSION	1
#define LF_MAX		(64 * 1024 * 1024)

static json_t *
lf_entry(const struct sl_learn_entry *e)
{
	json_t *o = json_object(), *cl = json_array();
	char ip[SL_IP_STRLEN];

	if (o == NULL || cl == NULL)
		goto fail;
	for (unsigned i = 0; i < e->nclients; i++)
		if (sl_ip_fmt(&e->clients[i], ip, sizeof(ip)) == NULL ||
		    json_array_append_new(cl, json_string(ip)) == -1)
			goto fail;
	if (json_object_set_new(o, "name", json_string(e->name)) == -1 ||
	    json_object_set_new(o, "count",
	    json_integer((json_int_t)e->count)) == -1 ||
	    json_object_set_new(o, "first", json_integer(e->first)) == -1 ||
	    json_object_set_new(o, "last", json_integer(e->last)) == -1 ||
	    json_object_set_new(o, "alert", json_string(e->alert)) == -1 ||
	    json_object_set_new(o, "clients", cl) == -1)
		goto fail_o;
	return o;
fail:
	json_decref(cl);
fail_o:
	json_decref(o);
	return NULL;
}

char *
sl_learn_dump(const struct sl_learn_entry *v, size_t n)
{
	json_t *root = json_object(), *arr = json_array();
	char *txt = NULL, *out = NULL;

	if (root == NULL || arr == NULL) {
		json_decref(arr);
		goto done;
	}
	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(arr, lf_entry(&v[i])) == -1) {
			json_decref(arr);
			goto done;
		}
	if (json_object_set_new(root, "version",
	    json_integer(LF_VERSION)) == -1 ||
	    json_object_set_new(root, "entries", arr) == -1)
		goto done;
	/* ASCII only: the file is read by people too. */
	txt = json_dumps(root, JSON_INDENT(1) | JSON_ENSURE_ASCII);
	if (txt != NULL && (out = sl_alloc(strlen(txt) + 2)) != NULL) {
		/* Ours, so that callers free with sl_free like the rest. */
		memcpy(out, txt, strlen(txt));
		memcpy(out + strlen(txt), "\n", 2);
	}
	free(txt);
done:
	json_decref(root);
	return out;
}

/* One entry; 0 or -1 (not usable: skipped by the caller). */
static int
lf_parse_entry(json_t *o, struct sl_learn_entry *e)
{
	json_t *name = json_object_get(o, "name"), *cl;
	json_t *count = json_object_get(o, "count");
	json_t *first = json_object_get(o, "first");
	json_t *last = json_object_get(o, "last");
	json_t *alert = json_object_get(o, "alert");
	size_t i;
	json_t *c;

	memset(e, 0, sizeof(*e));
	if (!json_is_string(name) || !json_is_integer(count) ||
	    !json_is_integer(first) || !json_is_integer(last) ||
	    json_integer_value(count) < 0)
		return -1;
	/* A NUL inside the JSON string would hide the rest of the name. */
	if (strlen(json_string_value(name)) != json_string_length(name) ||
	    sl_learn_name(json_string_value(name), e->name) == -1)
		return -1;
	e->count = (uint64_t)json_integer_value(count);
	e->first = json_integer_value(first);
	e->last = json_integer_value(last);
	if (json_is_string(alert)) {
		const char *a = json_string_value(alert);
		size_t k = 0;

		for (; a[k] != '\0' && k < SL_LEARN_ALERT_MAX - 1; k++)
			e->alert[k] = a[k] >= 0x20 && a[k] < 0x7f ? a[k] : '?';
		e->alert[k] = '\0';
	}
	cl = json_object_get(o, "clients");
	json_array_foreach(cl, i, c) {
		struct sl_ip ip;
		int dup = 0;

		if (!json_is_string(c) ||
		    sl_ip_parse(&ip, json_string_value(c)) == -1)
			continue;
		for (unsigned k = 0; k < e->nclients; k++)
			dup |= sl_ip_equal(&e->clients[k], &ip);
		if (!dup && e->nclients < SL_LEARN_CLIENTS_MAX)
			e->clients[e->nclients++] = ip;
	}
	return 0;
}

int
sl_learn_parse(const char *buf, size_t len, struct sl_learn_entry **out,
    size_t *n, size_t *skipped, char *err, size_t errcap)
{
	json_error_t je;
	json_t *root, *arr, *o;
	struct sl_learn_entry *v = NULL;
	size_t i, k = 0;

	*out = NULL;
	*n = *skipped = 0;
	if ((root = json_loadb(buf, len,
	    JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je)) == NULL) {
		snprintf(err, errcap, "line %d: %s", je.line, je.text);
		return -1;
	}
	arr = json_object_get(root, "entries");
	if (!json_is_object(root) || !json_is_array(arr) ||
	    json_integer_value(json_object_get(root, "version")) !=
	    LF_VERSION) {
		snprintf(err, errcap, "not a learned list (expected "
		    "{\"version\": %d, \"entries\": [...]})", LF_VERSION);
		json_decref(root);
		return -1;
	}
	if (json_array_size(arr) > 0 &&
	    (v = sl_calloc(json_array_size(arr), sizeof(*v))) == NULL) {
		snprintf(err, errcap, "out of memory");
		json_decref(root);
		return -1;
	}
	json_array_foreach(arr, i, o) {
		if (!json_is_object(o) || lf_parse_entry(o, &v[k]) == -1 ||
		    sl_learn_find(v, k, v[k].name) != -1)
			(*skipped)++;
		else
			k++;
	}
	json_decref(root);
	*out = v;
	*n = k;
	return 0;
}

int
sl_learn_read(const char *path, struct sl_learn_entry **out, size_t *n,
    size_t *skipped, char *err, size_t errcap)
{
	FILE *fp = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, got;
	struct stat sb;
	int rc;

	*out = NULL;
	*n = *skipped = 0;
	if (fp == NULL && errno == ENOENT)
		return 0;
	if (fp == NULL) {
		snprintf(err, errcap, "%s", strerror(errno));
		return -1;
	}
	/* Bounded: a learned list of learn-max entries is far below this. */
	if ((rc = fstat(fileno(fp), &sb)) == -1 || sb.st_size > LF_MAX) {
		snprintf(err, errcap, "%s", rc == -1 ? strerror(errno) :
		    "larger than 64 MiB");
		fclose(fp);
		return -1;
	}
	if ((buf = sl_alloc((size_t)sb.st_size + 1)) == NULL) {
		fclose(fp);
		snprintf(err, errcap, "out of memory");
		return -1;
	}
	while (len < (size_t)sb.st_size && (got = fread(buf + len, 1,
	    (size_t)sb.st_size - len, fp)) > 0)
		len += got;
	rc = ferror(fp) ? -1 : 0;
	fclose(fp);
	if (rc == -1)
		snprintf(err, errcap, "cannot read: %s", strerror(errno));
	else
		rc = sl_learn_parse(buf, len, out, n, skipped, err, errcap);
	sl_free(buf);
	return rc;
}

/* fsync the directory holding path, so the rename itself is durable. */
static void
lf_sync_dir(const char *path)
{
	char dir[PATH_MAX];
	int fd;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return;
	if ((fd = open(dirname(dir), O_RDONLY | O_DIRECTORY)) != -1) {
		(void)fsync(fd);
		close(fd);
	}
}

int
sl_learn_write(const char *path, const struct sl_learn_entry *v, size_t n)
{
	char tmp[PATH_MAX], *txt;
	struct stat sb;
	size_t len, off = 0;
	int fd, e;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((txt = sl_learn_dump(v, n)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	len = strlen(txt);
	if ((fd = mkstemp(tmp)) == -1) {
		e = errno;
		sl_free(txt);
		errno = e;
		return -1;
	}
	/* Client addresses: not for everyone.  Keep the owner an admin's
	 * root-run sluicectl found, so that the daemon's user can still
	 * replace it (best effort: only root may chown). */
	(void)fchmod(fd, 0640);
	if (stat(path, &sb) == 0 && geteuid() == 0)
		(void)fchown(fd, sb.st_uid, sb.st_gid);
	while (off < len) {
		ssize_t w = write(fd, txt + off, len - off);

		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1)
			goto fail;
		off += (size_t)w;
	}
	if (fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	sl_free(txt);
	if (rename(tmp, path) == -1) {
		e = errno;
		unlink(tmp);
		errno = e;
		return -1;
	}
	lf_sync_dir(path);
	return 0;
fail:
	e = errno;
	if (fd != -1)
		close(fd);
	unlink(tmp);
	sl_free(txt);
	errno = e;
	return -1;
}

int
sl_learn_lock(const char *path, char *err, size_t errcap)
{
	char lp[PATH_MAX + 8];
	int fd;

	if (snprintf(lp, sizeof(lp), "%s.lock", path) >= (int)sizeof(lp)) {
		snprintf(err, errcap, "path too long");
		return -1;
	}
	/* Read-only is enough for flock, and lets sluiced's user lock a
	 * file a root-run sluicectl created. */
	fd = open(lp, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd != -1 && flock(fd, LOCK_EX) == -1) {
		close(fd);
		fd = -1;
	}
	if (fd == -1)
		snprintf(err, errcap, "cannot lock %s: %s", lp,
		    strerror(errno));
	return fd;
}

int
sl_learn_path(const char *state_dir, const char *file, char *out, size_t cap)
{
	int w;

	if (file[0] == '/' || state_dir[0] == '\0')
		w = snprintf(out, cap, "%s", file);
	else
		w = snprintf(out, cap, "%s/%s", state_dir, file);
	return w < 0 || (size_t)w >= cap ? -1 : 0;
}
