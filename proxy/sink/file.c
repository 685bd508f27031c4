/*
 * file.c — the file transport: a file opened for appending (reopened on
 * log rotation), stdout or stderr.
 *
 * Writes block: a sink has its own thread so that only that sink waits.
 * write() is the one place that thread may be cancelled (sl_sinks_close()
 * abandons a sink that takes no more lines); everywhere else
 * cancellation is off, so the thread is never cancelled holding a lock
 * (the daemon log's, the allocator's).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "../../lib/alloc.h"
#include "../../lib/log.h"
#include "sink_int.h"

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/asan_interface.h>
#endif

static int
file_open_path(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

int
sl_sinkfile_open(struct sl_sinkfile *f, const char *path)
{
	memset(f, 0, sizeof(*f));
	if (strcmp(path, "stdout") == 0 || strcmp(path, "stderr") == 0) {
		f->fd = strcmp(path, "stdout") == 0 ? STDOUT_FILENO :
		    STDERR_FILENO;
		f->name = f->fd == STDOUT_FILENO ? "stdout" : "stderr";
		return 0;
	}
	/* The configuration resolved it against log-dir already. */
	if ((f->path = sl_strdup(path)) == NULL)
		return -1;
	if ((f->fd = file_open_path(path)) == -1) {
		sl_log(SL_LOG_ERR, "flowlog: cannot open %s: %s", path,
		    strerror(errno));
		sl_free(f->path);
		f->path = NULL;
		return -1;
	}
	f->name = f->path;
	f->owned = 1;
	return 0;
}

/*
 * Cancelled in write(): the frames above are unwound without returning.
 * AddressSanitizer would keep their stack redzones poisoned and then
 * report its own thread teardown touching them (google/sanitizers#1399);
 * what it does for longjmp() it is told to do here.
 */
static void
file_cancelled(void *arg)
{
	(void)arg;
#ifdef __SANITIZE_ADDRESS__
	__asan_handle_no_return();
#endif
}

/* write(2) with cancellation on for its duration only. */
static ssize_t
file_write_cancellable(int fd, const char *p, size_t n)
{
	int old, err;
	ssize_t w;

	pthread_cleanup_push(file_cancelled, NULL);
	pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, &old);
	w = write(fd, p, n);
	err = errno;
	pthread_setcancelstate(old, NULL);
	pthread_cleanup_pop(0);
	errno = err;
	return w;
}

void
sl_sinkfile_write(struct sl_sinkfile *f, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = file_write_cancellable(f->fd, p, n);

		if (w == -1) {
			if (errno == EINTR)
				continue;
			sl_log(SL_LOG_ERR, "flowlog: write to %s: %s",
			    f->name, strerror(errno));
			return;
		}
		p += w;
		n -= (size_t)w;
	}
}

void
sl_sinkfile_reopen(struct sl_sinkfile *f)
{
	int fd;

	if (!f->owned)
		return;
	if ((fd = file_open_path(f->path)) == -1) {
		sl_log(SL_LOG_ERR, "flowlog: cannot reopen %s: %s", f->path,
		    strerror(errno));
		return;			/* keep writing the old file */
	}
	close(f->fd);
	f->fd = fd;
}

void
sl_sinkfile_close(struct sl_sinkfile *f)
{
	if (f->owned)
		close(f->fd);
	sl_free(f->path);
	f->path = NULL;
	f->owned = 0;
	f->fd = -1;
}
