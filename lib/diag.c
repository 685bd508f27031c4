/*
 * diag.c — collect and print configuration diagnostics.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "diag.h"

static const char *const sev_names[] = { "error", "warning", "note" };

void
sl_diags_init(struct sl_diags *d)
{
	memset(d, 0, sizeof(*d));
}

void
sl_diags_free(struct sl_diags *d)
{
	if (d == NULL)
		return;
	for (size_t i = 0; i < d->n; i++) {
		sl_free(d->v[i].file);
		sl_free(d->v[i].msg);
		sl_free(d->v[i].chain);
	}
	sl_free(d->v);
	memset(d, 0, sizeof(*d));
}

int
sl_diag_add(struct sl_diags *d, enum sl_diag_sev sev,
    const struct sl_loc *loc, const char *chain, const char *fmt, ...)
{
	struct sl_diag *g;
	char msg[1024];
	va_list ap;
	unsigned max = d->max ? d->max : 1000;
	int rc = sev == SL_DIAG_ERROR ? -1 : 0;

	if (sev == SL_DIAG_ERROR)
		d->nerr++;
	else if (sev == SL_DIAG_WARNING)
		d->nwarn++;
	if (d->n >= max)
		return rc;	/* counted, not stored */
	if (d->n == d->cap) {
		size_t ncap = d->cap ? d->cap * 2 : 16;
		struct sl_diag *nv = sl_realloc(d->v, ncap * sizeof(*nv));

		if (nv == NULL)
			return rc;
		d->v = nv;
		d->cap = ncap;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	g = &d->v[d->n];
	memset(g, 0, sizeof(*g));
	g->sev = sev;
	if (loc != NULL) {
		g->file = loc->file ? sl_strdup(loc->file) : NULL;
		g->line = loc->line;
		g->col = loc->col;
	}
	g->msg = sl_strdup(msg);
	g->chain = chain ? sl_strdup(chain) : NULL;
	if (g->msg == NULL) {
		sl_free(g->file);
		sl_free(g->chain);
		return rc;
	}
	d->n++;
	return rc;
}

/* Format one diagnostic into buf; returns the length it needs. */
static int
diag_fmt(const struct sl_diag *g, char *buf, size_t cap)
{
	char pos[64] = "";

	if (g->line > 0 && g->col > 0)
		snprintf(pos, sizeof(pos), ":%u:%u", g->line, g->col);
	else if (g->line > 0)
		snprintf(pos, sizeof(pos), ":%u", g->line);
	/* buf may be NULL with cap 0: C11 7.21.6.5 makes that a length query. */
	// cppcheck-suppress [nullPointer, ctunullpointer]
	return snprintf(buf, cap, "%s%s: %s: %s\n%s%s",
	    g->file ? g->file : "<config>", pos, sev_names[g->sev], g->msg,
	    g->chain ? g->chain : "", g->chain ? "\n" : "");
}

void
sl_diags_print(const struct sl_diags *d, FILE *fp)
{
	for (size_t i = 0; i < d->n; i++) {
		char buf[2048];

		diag_fmt(&d->v[i], buf, sizeof(buf));
		fputs(buf, fp);
	}
	if (d->nerr + d->nwarn > d->n)
		fprintf(fp, "(%u more diagnostics not shown)\n",
		    (unsigned)(d->nerr + d->nwarn - d->n));
}

char *
sl_diags_text(const struct sl_diags *d)
{
	size_t len = 0, off = 0;
	char *out;

	for (size_t i = 0; i < d->n; i++)
		len += (size_t)diag_fmt(&d->v[i], NULL, 0);
	if ((out = sl_alloc(len + 1)) == NULL)
		return NULL;
	out[0] = '\0';
	for (size_t i = 0; i < d->n; i++)
		off += (size_t)diag_fmt(&d->v[i], out + off, len + 1 - off);
	return out;
}
