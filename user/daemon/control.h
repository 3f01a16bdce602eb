/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The daemon's control socket: a unix stream socket carrying one JSON request
 * line and one JSON response line per connection. Peers are identified by
 * the kernel (SO_PEERCRED, SO_PEERPIDFD), never by what they claim.
 *
 *   {"op":"track","profile":"NAME"}  track the calling process (opt-in)
 *   {"op":"status"}                  agent state and counters
 */
#ifndef MW_CONTROL_H
#define MW_CONTROL_H

#include <stdbool.h>
#include <sys/types.h>
#include <json-c/json.h>
#include "daemon/loop.h"

#define CONTROL_SOCKET_DEFAULT	"/run/mcpwarden/control.sock"
#define CONTROL_REQ_MAX		4096
#define CONTROL_CLIENTS_MAX	64
#define CONTROL_IDLE_MS		2000	/* a peer must finish its request */

struct control_peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	int pidfd;		/* -1 where SO_PEERPIDFD is missing */
};

/*
 * Handles one request; returns the response object (owned by the caller).
 * An fd it sets in *@fd goes with the response (SCM_RIGHTS), then is
 * closed.
 */
typedef json_object *(*control_handler)(const struct control_peer *peer,
					json_object *req, void *arg, int *fd);

struct control_client {
	struct ep_src src;	/* EP_CONTROL_CLIENT */
	int fd;
	unsigned long long since_ms;	/* CLOCK_MONOTONIC at accept */
	size_t len;
	char buf[CONTROL_REQ_MAX];
};

struct control {
	struct ep_src src;	/* EP_CONTROL_LISTEN */
	bool inited;		/* control_listen() ran: the fds are ours */
	int fd;
	char *path;
	int epfd;
	control_handler handler;
	void *arg;
	struct control_client *clients[CONTROL_CLIENTS_MAX];
};

int control_listen(struct control *c, const char *path, int epfd,
		   control_handler handler, void *arg);
/* Called from the loop: the listening socket or a client is readable. */
void control_on_listen(struct control *c);
void control_on_client(struct control *c, struct control_client *cl);
/* Drop peers that have not finished a request in CONTROL_IDLE_MS. */
void control_expire(struct control *c);
/* Close the socket and its clients; a zeroed control is a no-op. */
void control_close(struct control *c);

/* Client side: send @req, wait up to @timeout_ms for the response. */
int control_request(const char *path, json_object *req, json_object **resp,
		    int timeout_ms);
/* The same, and the fd that came with it into *@fd (-1: none). */
int control_request_fd(const char *path, json_object *req, json_object **resp,
		       int timeout_ms, int *fd);

#endif /* MW_CONTROL_H */
