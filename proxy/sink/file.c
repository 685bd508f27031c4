/*
 * file.c — the file transport: a file opened for appending (reopened on
 * log rotation), stdout or stderr.
 *
 * Writes block: a sink has its own thread so that only that sink waits.
 * write() is the one place that thread may be cancelled (sl_sinks_close()
 * abandons a sink that takes no more lines); everywhere else
 * cancellation is off, so the thread is never cancelled holding a lock
 * (the daemon log's, the allocator's).
 *
 * A record is written whole or not at all (issue 12 item 6: on a full
 * disk a half-written record ran into the next one).  A write that stops
 * part way (ENOSPC, EFBIG, EIO...) is taken back in a regular file we
 * opened: the file ends with the bytes that went out, so ftruncate()
 * cuts them off.  Elsewhere (a pipe or FIFO, stdout, stderr) they cannot
 * be taken back, and the next write starts with a newline instead.  A
 * pipe takes a record of up to PIPE_BUF (4 KiB, a JSON line) in one
 * piece, so there this is for longer records only.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
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

/* Can a record left half written in fd be cut off?  Our regular files. */
static int
file_cuttable(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
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
	f->cuttable = file_cuttable(f->fd);
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

/* Write p whole: 0, or -1 (errno set) with *done bytes written. */
static int
file_put(int fd, const char *p, size_t n, size_t *done)
{
	*done = 0;
	while (*done < n) {
		ssize_t w = file_write_cancellable(fd, p + *done, n - *done);

		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1)
			return -1;
		if (w == 0) {			/* no progress: never loop */
			errno = EIO;
			return -1;
		}
		*done += (size_t)w;
	}
	return 0;
}

/*
 * Cut off the done bytes a failed write left at the end of the file.  With
 * O_APPEND the offset is just past them; a size equal to it says nobody
 * appended since, so they are the file's last bytes.  0 when cut.
 */
static int
file_cut(const struct sl_sinkfile *f, size_t done)
{
	struct stat st;
	off_t end;

	if (!f->cuttable)
		return -1;
	if ((end = lseek(f->fd, 0, SEEK_CUR)) == -1 ||
	    fstat(f->fd, &st) == -1 || st.st_size != end ||
	    end < (off_t)done)
		return -1;
	return ftruncate(f->fd, end - (off_t)done);
}

int
sl_sinkfile_write(struct sl_sinkfile *f, const char *p, size_t n)
{
	size_t done;
	int err;

	/* What an earlier record left could not be cut off: end its line
	 * first, or this record would run into it. */
	if (f->torn) {
		if (file_put(f->fd, "\n", 1, &done) == -1)
			return -1;
		f->torn = 0;
	}
	if (file_put(f->fd, p, n, &done) == 0)
		return 0;
	err = errno;
	if (done > 0 && file_cut(f, done) == -1)
		f->torn = 1;
	errno = err;
	return -1;
}

void
sl_sinkfile_reopen(struct sl_sinkfile *f)
{
	size_t done;
	int fd;

	if (!f->owned)
		return;
	if ((fd = file_open_path(f->path)) == -1) {
		sl_log(SL_LOG_ERR, "flowlog: cannot reopen %s: %s", f->path,
		    strerror(errno));
		return;			/* keep writing the old file */
	}
	/* A fragment left in the old file ends its last line if it can;
	 * the new file starts clean either way. */
	if (f->torn)
		(void)file_put(f->fd, "\n", 1, &done);
	close(f->fd);
	f->fd = fd;
	f->cuttable = file_cuttable(fd);
	f->torn = 0;
}

void
sl_sinkfile_close(struct sl_sinkfile *f)
{
	if (f->owned)
		close(f->fd);
	sl_free(f->path);
	f->path = NULL;
	f->owned = 0;
	f->cuttable = 0;
	f->torn = 0;
	f->fd = -1;
}
