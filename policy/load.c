/*
 * load.c — reading configuration files: frames, includes (paths and
 * globs, relative to the including file), cycle and depth limits, list
 * files, and the diagnostics collector.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/alloc.h"
#include "parse.h"

int
pdiag(struct parser *p, enum sl_diag_sev sev, unsigned seq,
    const struct sl_loc *loc, const char *fmt, ...)
{
	struct pdiag *d;
	char msg[1024];
	va_list ap;
	int rc = sev == SL_DIAG_ERROR ? -1 : 0;

	if (pa_grow(p->a, &p->dv, &p->capd, p->nd, sizeof(*p->dv)) == -1) {
		p->oom = 1;
		return rc;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	d = &p->dv[p->nd];
	memset(d, 0, sizeof(*d));
	d->sev = sev;
	d->seq = seq;
	d->order = p->nd;
	if (loc != NULL) {
		d->loc = *loc;
		/* The include chain of the file the location is in. */
		for (struct pframe *f = p->frames; f != NULL; f = f->next_all) {
			if (f->path == loc->file) {
				d->chain = f->chain;
				break;
			}
		}
	}
	if ((d->msg = pa_strdup(p->a, msg)) == NULL) {
		p->oom = 1;
		return rc;
	}
	p->nd++;
	return rc;
}

char *
load_relpath(struct parser *p, const char *path)
{
	const char *dir = p->fr != NULL ? p->fr->dir : ".";
	size_t dl = strlen(dir), pl = strlen(path);
	char *s;

	/* Keep paths as the admin wrote them when they are relative to
	 * the working directory, so diagnostics read naturally. */
	if (path[0] == '/' || strcmp(dir, ".") == 0)
		return pa_strdup(p->a, path);
	if ((s = pa_alloc(p->a, dl + pl + 2)) == NULL)
		return NULL;
	memcpy(s, dir, dl);
	s[dl] = '/';
	memcpy(s + dl + 1, path, pl + 1);
	return s;
}

static const char *
dir_of(struct parser *p, const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return ".";
	if (slash == path)
		return "/";
	return pa_strndup(p->a, path, (size_t)(slash - path));
}

static struct pframe *
frame_new(struct parser *p, const char *path, const struct sl_loc *inc,
    int must_only)
{
	struct pframe *f = pa_alloc(p->a, sizeof(*f));

	if (f == NULL)
		return NULL;
	f->path = path;
	f->dir = dir_of(p, path);
	f->parent = p->fr;
	f->depth = p->fr != NULL ? p->fr->depth + 1 : 0;
	f->must_only = must_only;
	if (inc != NULL && p->fr != NULL) {
		const char *pc = p->fr->chain;
		size_t need = strlen(inc->file) + 64 + (pc ? strlen(pc) : 0);
		char *c = pa_alloc(p->a, need);

		if (c == NULL)
			return NULL;
		snprintf(c, need, "  in file included from %s:%u%s%s",
		    inc->file, inc->line, pc ? "\n" : "", pc ? pc : "");
		f->chain = c;
	}
	if (f->dir == NULL)
		return NULL;
	f->next_all = p->frames;
	p->frames = f;
	return f;
}

static void
lex_err_cb(void *arg, unsigned line, unsigned col, const char *msg)
{
	struct parser *p = arg;
	struct sl_loc loc = { p->fr->path, line, col };

	perr(p, &loc, "%s", msg);
}

/*
 * Parse a buffer (or, if buf is NULL, the file at path) as a new frame.
 * listfile: each statement is one value line of list.
 */
int
load_buf(struct parser *p, const char *path, const char *buf, size_t len,
    const struct sl_loc *inc, int must_only, int listfile,
    struct pol_list *list)
{
	struct pframe *saved = p->fr, *f;
	struct sl_loc top = { path, 0, 0 };
	struct lex_stmt st;
	struct lexer lx;
	struct stat sb;
	char *owned = NULL;
	int rc = 0, r;

	memset(&sb, 0, sizeof(sb));
	if (inc == NULL)
		inc = &top;
	if (buf == NULL) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t got;
		size_t off = 0;

		if (fd == -1 || fstat(fd, &sb) == -1) {
			int e = errno;

			if (fd != -1)
				close(fd);
			return perr(p, inc, "cannot open '%s': %s", path,
			    strerror(e));
		}
		if (!S_ISREG(sb.st_mode) || sb.st_size > POL_FILE_MAX) {
			close(fd);
			return perr(p, inc, "cannot read '%s': %s", path,
			    S_ISREG(sb.st_mode) ? "larger than 64 MiB" :
			    "not a regular file");
		}
		if ((owned = sl_alloc((size_t)sb.st_size + 1)) == NULL) {
			close(fd);
			p->oom = 1;
			return -1;
		}
		while (off < (size_t)sb.st_size &&
		    ((got = read(fd, owned + off, (size_t)sb.st_size - off))
		    > 0 || (got == -1 && errno == EINTR)))
			off += got > 0 ? (size_t)got : 0;
		close(fd);
		buf = owned;
		len = off;
	}
	if ((f = frame_new(p, path, inc == &top ? NULL : inc, must_only))
	    == NULL) {
		sl_free(owned);
		p->oom = 1;
		return -1;
	}
	if (owned != NULL) {
		f->dev = sb.st_dev;
		f->ino = sb.st_ino;
		f->has_id = 1;
	}
	p->fr = f;
	memset(&st, 0, sizeof(st));
	lex_init(&lx, buf, len, lex_err_cb, p);
	while ((r = lex_next(&lx, &st)) == 1 && !p->oom) {
		if (st.bad)
			continue;
		if (listfile) {
			parse_list_stmt(p, list, &st);
			continue;
		}
		p->seq++;
		parse_stmt(p, &st);
	}
	if (r == -1)
		p->oom = 1;
	lex_stmt_free(&st);
	sl_free(owned);
	p->fr = saved;
	return rc;
}

static int
has_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

/* Is this file (by device and inode) already being read? */
static int
in_cycle(const struct parser *p, const struct stat *sb)
{
	for (const struct pframe *f = p->fr; f != NULL; f = f->parent)
		if (f->has_id && f->dev == sb->st_dev && f->ino == sb->st_ino)
			return 1;
	return 0;
}

static int
load_one(struct parser *p, const char *path, const struct sl_loc *inc,
    int must_only)
{
	struct stat sb;

	if (stat(path, &sb) == -1)
		return perr(p, inc, "cannot open '%s': %s", path,
		    strerror(errno));
	if (S_ISDIR(sb.st_mode))
		return perr(p, inc, "cannot include '%s': is a directory (use "
		    "a pattern such as '%s/*.conf')", path, path);
	if (p->fr != NULL && p->fr->depth + 1 > POL_INCLUDE_DEPTH)
		return perr(p, inc, "cannot include '%s': includes nested "
		    "deeper than %d levels", path, POL_INCLUDE_DEPTH);
	if (in_cycle(p, &sb))
		return perr(p, inc, "include cycle: '%s' is already being "
		    "read", path);
	return load_buf(p, path, NULL, 0, inc, must_only, 0, NULL);
}

int
load_file(struct parser *p, const char *path, const struct sl_loc *inc,
    int must_only)
{
	glob_t g;
	int rc = 0, gr;

	if (!has_glob(path))
		return load_one(p, path, inc, must_only);
	memset(&g, 0, sizeof(g));
	gr = glob(path, 0, NULL, &g);
	if (gr == GLOB_NOMATCH) {
		pwarn(p, inc, "include pattern '%s' matches no file", path);
	} else if (gr != 0) {
		rc = perr(p, inc, "cannot expand '%s'", path);
	} else {
		/* glob(3) sorts, so the order of included rules is stable. */
		for (size_t i = 0; i < g.gl_pathc; i++) {
			char *one = pa_strdup(p->a, g.gl_pathv[i]);

			if (one == NULL) {
				p->oom = 1;
				rc = -1;
				break;
			}
			if (load_one(p, one, inc, must_only) == -1)
				rc = -1;
		}
	}
	globfree(&g);
	return rc;
}
