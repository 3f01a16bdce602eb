/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Where the event lines go (docs/outputs.md): stdout, files with size-based
 * rotation, unix and TCP stream sockets, RFC 5424 syslog over TCP. No sink
 * may stall the loop: sockets and pipes are non-blocking behind a bounded
 * queue, and what does not fit is dropped and counted.
 */
#ifndef MW_SINK_H
#define MW_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <linux/types.h>
#include "daemon/loop.h"

#define SINK_MAX		8
#define SINK_QUEUE_DEFAULT	(4U << 20)	/* per non-blocking sink */
#define SINK_ROTATE_DEFAULT	(100ULL << 20)
#define SINK_KEEP		5		/* FILE.1 .. FILE.5 */
#define SINK_BACKOFF_MIN_MS	100
#define SINK_BACKOFF_MAX_MS	5000
#define SINK_DRAIN_MS		1000		/* at stop, for socket sinks */
#define SINK_SYSLOG_FACILITY	16		/* local0 */

enum sink_kind {
	SINK_STDOUT,
	SINK_FILE,
	SINK_UNIX,
	SINK_TCP,
	SINK_SYSLOG,			/* RFC 5424 over TCP, RFC 6587 framing */
};

struct sink {
	struct ep_src src;		/* EP_SINK */
	enum sink_kind kind;
	char *name;			/* the spec as given: "unix:/run/x.sock" */
	char *path;			/* FILE, or the unix socket */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	int fd;
	int epfd;
	__u32 ep_events;		/* registered interest; 0: not registered */
	bool registered;
	bool blocking;			/* a regular file or a terminal */
	bool connecting;
	bool warned;			/* a connect failure was logged */
	char *q;			/* queue: [head, tail) waits to be written */
	size_t qcap, head, tail;
	size_t fstart;			/* start of the frame holding head */
	size_t nframes;			/* frames from fstart to tail */
	__u64 size, rotate_size;	/* files */
	bool rotatable;			/* a regular file: never a device */
	bool need_newline;		/* a partial line is left: start anew */
	/* Lines in FILE (0) and FILE.1 .. FILE.KEEP; known: we counted. */
	__u64 lines[SINK_KEEP + 1];
	bool lines_known[SINK_KEEP + 1];
	__u64 retry_ms;
	unsigned int backoff_ms;
	__u64 lost_full, lost_error;	/* lines dropped, since start */
	__u64 lost_rotated;		/* lines in files rotation deleted */
	__u64 seen_full, seen_error, seen_rotated; /* already reported */
	char hostname[256];		/* syslog HOSTNAME */
	int pid;			/* syslog PROCID */
};

struct sinks {
	struct sink v[SINK_MAX];
	size_t n;
};

/* Parse @spec (docs/outputs.md); names are resolved here, once. */
int sink_parse(struct sink *s, const char *spec, __u64 rotate_size,
	       size_t queue, char *err, size_t errlen);
/* Open files and stdout, start connecting sockets; registers with @epfd. */
int sink_open(struct sink *s, int epfd, char *err, size_t errlen);
/*
 * Queue one event line (without its newline). @type and @time (RFC 3339)
 * feed the syslog header; @warning raises its severity.
 */
void sink_write(struct sink *s, const char *line, size_t len,
		const char *type, const char *time, bool warning);
/* Write what the peer takes now; re-arm EPOLLOUT if some is left. */
void sink_flush(struct sink *s);
/* The loop saw @events on the sink's fd. */
void sink_on_event(struct sink *s, __u32 events);
/* Reconnect a socket sink whose backoff has run out. */
void sink_tick(struct sink *s, __u64 now_ms);
/* Bytes waiting. */
size_t sink_queued(const struct sink *s);
/* Nothing queued, no socket waiting to reconnect: no tick is needed. */
bool sinks_idle(const struct sinks *ss);
void sink_close(struct sink *s);

/*
 * One RFC 6587 octet-counted RFC 5424 frame:
 * "LEN <PRI>1 TIMESTAMP HOSTNAME mcpwarden PROCID MSGID - MSG".
 * Returns its length, or -ENOSPC if @buflen is too small.
 */
int sink_syslog_frame(char *buf, size_t buflen, int pri, const char *time,
		      const char *host, int pid, const char *msgid,
		      const char *msg, size_t msglen);


int sinks_add(struct sinks *ss, const char *spec, __u64 rotate_size,
	      size_t queue, char *err, size_t errlen);
int sinks_open(struct sinks *ss, int epfd, char *err, size_t errlen);
void sinks_write(struct sinks *ss, const char *line, size_t len,
		 const char *type, const char *time, bool warning);
void sinks_flush(struct sinks *ss);
void sinks_tick(struct sinks *ss);
/* At stop: write what is queued, waiting at most SINK_DRAIN_MS for sockets. */
void sinks_drain(struct sinks *ss);
void sinks_close(struct sinks *ss);

#endif /* MW_SINK_H */
