/*
 * tools.h — small helpers shared by the benchmark tools (echod, loadgen).
 *
 * Every .c file in tests/tools/ is built into its own program, so what two
 * tools share lives here as static inline functions rather than in a .c.
 */
#ifndef SL_TOOLS_H
#define SL_TOOLS_H

#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/addr.h"
#include "lib/clock.h"

/* Payload bytes come from a memfd of this size, sent with sendfile(2). */
#define TOOLS_MEMFD_SIZE	(4u << 20)
/* Largest sendfile(2) / discarding recv(2) per call. */
#define TOOLS_CHUNK		(1u << 20)

static inline uint64_t
tools_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

/*
 * Raise the soft RLIMIT_NOFILE to the hard limit (5,000 tunnels need more
 * than the usual 1,024).  Returns the new soft limit.
 */
static inline rlim_t
tools_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return 0;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur;
}

/*
 * A memfd filled with a byte pattern: payload sent from it with sendfile(2)
 * travels as page references, so the tools copy no payload bytes and stay
 * cheap next to the proxy under test.  Returns the fd or -1.
 */
static inline int
tools_payload_memfd(void)
{
	static const char pat[] = "sluice-bench-payload-0123456789\n";
	char blk[4096];
	size_t i;
	int fd;

	if ((fd = memfd_create("bench-payload", MFD_CLOEXEC)) == -1)
		return -1;
	for (i = 0; i < sizeof(blk); i++)
		blk[i] = pat[i % (sizeof(pat) - 1)];
	for (i = 0; i < TOOLS_MEMFD_SIZE; i += sizeof(blk)) {
		if (write(fd, blk, sizeof(blk)) != (ssize_t)sizeof(blk)) {
			close(fd);
			return -1;
		}
	}
	return fd;
}

/* "127.0.0.1:80" or "[::1]:80" into a socket address; 0 or -1. */
static inline int
tools_endpoint(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	if (strncmp(s, "*:", 2) == 0)
		return -1;	/* a peer, not a wildcard listener */
	return sl_endpoint_parse(s, ss, len);
}

/*
 * Receive and drop up to len bytes without copying them: on TCP, MSG_TRUNC
 * discards (tcp(7)).  A raw syscall, because sanitizer interceptors of
 * recv(2) take its return value as bytes written into the buffer, which
 * MSG_TRUNC never writes.
 */
static inline ssize_t
tools_discard(int fd, size_t len)
{
	return (ssize_t)syscall(SYS_recvfrom, fd, NULL, len, MSG_TRUNC, NULL,
	    NULL);
}

static inline void
tools_be64_put(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static inline uint64_t
tools_be64_get(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

#endif /* SL_TOOLS_H */
