/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The guard: a small process that holds the fanotify group (and with it
 * the marks) and answers its permission requests from the pinned maps, so
 * that the file and exec fences of kernels without BPF-LSM outlive the
 * agent: a crash, a restart or a stopped agent leaves them in force. The
 * agent starts it, takes a copy of the group from it (guard.sock in the
 * state directory) and answers beside it (kernel/answer.h). Only an
 * uninstall ends it.
 */
#ifndef MW_GUARD_H
#define MW_GUARD_H

#include <stdbool.h>
#include <sys/types.h>

#define GUARD_SOCKET	"guard.sock"

/* What an agent gets from the guard. */
struct guard_conn {
	pid_t pid;		/* the guard's */
	int group;		/* the fanotify group */
	int shm;		/* memfd of struct answer_shared */
	int bell[2];		/* the answerers' bells (answer.h), or -1 */
	char object[65];	/* the guard's BPF object, sha256 hex */
};

struct guard_opts {
	const char *pin_dir;
	const char *state_dir;
	const char *cgroup;	/* move there (outside a pod's cgroup), or NULL */
	int group;		/* adopt this group (and shm), or -1: make one */
	int shm;
	int bell[2];		/* adopt these bells, or -1: make them */
	int ready;		/* write a byte here once listening, or -1 */
};

/* `mcpwarden guard`: the process itself; returns its exit status. */
int guard_main(const struct guard_opts *o);

/*
 * Agent side: connect to the guard of @state_dir and receive its fds.
 * -ENOENT or -ECONNREFUSED: there is none.
 */
int guard_connect(const char *state_dir, struct guard_conn *out);
/*
 * Start a guard for @pin_dir and @state_dir, handing it @group, @shm and
 * @bell (or -1: it makes them), and wait until it listens. Returns its pid.
 */
pid_t guard_spawn(const char *pin_dir, const char *state_dir,
		  const char *cgroup, int group, int shm, const int bell[2]);
/* Ask the guard of @state_dir to exit and wait for it (at most 5 s). */
int guard_stop(const char *state_dir);
void guard_conn_close(struct guard_conn *c);

#endif /* MW_GUARD_H */
