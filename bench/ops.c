// SPDX-License-Identifier: GPL-2.0-only
/*
 * Micro-benchmark of the syscalls mcpwarden's cgroup socket hooks sit on.
 *
 *   ops [-m tcp|udp|exec|open|openp] [-f FILE] [-n ITERATIONS] [-w WARMUP]
 *
 * tcp: each iteration is socket(AF_INET, SOCK_STREAM) + connect() to a
 *      listener on 127.0.0.1 + setsockopt(SO_LINGER 0) + close(). A thread of
 *      this program accepts and closes. The linger makes the close an RST,
 *      so no TIME_WAIT piles up on either side and the ephemeral ports never
 *      run out (it costs one cheap syscall per iteration in every
 *      configuration alike). Hooks on the path: cgroup/sock_create and
 *      cgroup/connect4.
 * udp: each iteration is one sendto() of 1 byte from an unconnected socket
 *      to a UDP socket on 127.0.0.1 that nobody reads (once its receive
 *      buffer is full the kernel drops the datagrams). Hook on the path:
 *      cgroup/sendmsg4.
 *
 * Prints one line "MODE ITERATIONS NS_PER_ITERATION" on stdout; exits 1 on
 * any failed syscall (a denied connect included), so a wrong policy cannot
 * produce a fast, meaningless number.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

static int listen_fd = -1;

static void die(const char *what)
{
	fprintf(stderr, "bench/connect: %s: %s\n", what, strerror(errno));
	exit(1);
}

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void *acceptor(void *arg)
{
	(void)arg;
	for (;;) {
		int fd = accept(listen_fd, NULL, NULL);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			die("accept");
		}
		close(fd);
	}
	return NULL;
}

static int bound_socket(int type, struct sockaddr_in *sa)
{
	socklen_t len = sizeof(*sa);
	int fd = socket(AF_INET, type, 0);

	if (fd < 0)
		die("socket (server)");
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)sa, sizeof(*sa)))
		die("bind");
	if (getsockname(fd, (struct sockaddr *)sa, &len))
		die("getsockname");
	return fd;
}

static void tcp_loop(const struct sockaddr_in *sa, long n)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	long i;

	for (i = 0; i < n; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		if (fd < 0)
			die("socket");
		if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)))
			die("connect");
		if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)))
			die("setsockopt SO_LINGER");
		close(fd);
	}
}

/* fork + execve of /bin/true + wait: what a server spawning tools pays. */
static void exec_loop(long n)
{
	char *const argv[] = { "/bin/true", NULL };
	char *const envp[] = { NULL };
	long i;
	int st;

	for (i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0)
			die("fork");
		if (pid == 0) {
			execve(argv[0], argv, envp);
			_exit(127);
		}
		if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0)
			die("exec of /bin/true");
	}
}

/*
 * open + close of a file: an unrelated one (the hottest path on any
 * machine), or with @refusable a protected one, which a tracked process is
 * refused (EPERM or EACCES): the cost of a refusal.
 */
static void open_loop(const char *path, long n, int refusable)
{
	long i;
	int fd;

	for (i = 0; i < n; i++) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			close(fd);
		else if (!refusable || (errno != EPERM && errno != EACCES))
			die("open");
	}
}

static void udp_loop(int fd, const struct sockaddr_in *sa, long n)
{
	char byte = 'x';
	long i;

	for (i = 0; i < n; i++)
		if (sendto(fd, &byte, 1, 0, (const struct sockaddr *)sa,
			   sizeof(*sa)) != 1)
			die("sendto");
}

int main(int argc, char **argv)
{
	const char *mode = "tcp", *file = NULL;
	long n = 20000, warmup = 1000;
	struct sockaddr_in sa;
	unsigned long long t0, t1;
	int c, udp_fd = -1, rx_fd;

	while ((c = getopt(argc, argv, "m:n:w:f:")) != -1) {
		switch (c) {
		case 'f':
			file = optarg;
			break;
		case 'm':
			mode = optarg;
			break;
		case 'n':
			n = atol(optarg);
			break;
		case 'w':
			warmup = atol(optarg);
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc || n <= 0 || warmup < 0)
		goto usage;

	if (!strcmp(mode, "tcp")) {
		pthread_t th;

		listen_fd = bound_socket(SOCK_STREAM, &sa);
		if (listen(listen_fd, 4096))
			die("listen");
		if ((errno = pthread_create(&th, NULL, acceptor, NULL)))
			die("pthread_create");
		tcp_loop(&sa, warmup);
		t0 = now_ns();
		tcp_loop(&sa, n);
		t1 = now_ns();
	} else if (!strcmp(mode, "udp")) {
		int small = 4096;

		rx_fd = bound_socket(SOCK_DGRAM, &sa);
		setsockopt(rx_fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
		udp_fd = socket(AF_INET, SOCK_DGRAM, 0);
		if (udp_fd < 0)
			die("socket");
		udp_loop(udp_fd, &sa, warmup);
		t0 = now_ns();
		udp_loop(udp_fd, &sa, n);
		t1 = now_ns();
	} else if (!strcmp(mode, "exec")) {
		exec_loop(warmup / 10 + 1);
		t0 = now_ns();
		exec_loop(n);
		t1 = now_ns();
	} else if (!strcmp(mode, "open")) {
		open_loop("/etc/hostname", warmup, 0);
		t0 = now_ns();
		open_loop("/etc/hostname", n, 0);
		t1 = now_ns();
	} else if (!strcmp(mode, "openp")) {
		if (!file)
			goto usage;
		open_loop(file, warmup, 1);
		t0 = now_ns();
		open_loop(file, n, 1);
		t1 = now_ns();
	} else {
		goto usage;
	}
	printf("%s %ld %.1f\n", mode, n, (double)(t1 - t0) / (double)n);
	fflush(stdout);
	/* exit() ends the accept thread too. */
	return 0;
usage:
	fprintf(stderr, "usage: ops [-m tcp|udp|exec|open|openp -f FILE] [-n ITERATIONS] [-w WARMUP]\n");
	return 2;
}
