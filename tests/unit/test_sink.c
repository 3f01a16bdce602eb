// SPDX-License-Identifier: GPL-2.0-only
/*
 * Output sinks (sink.c): the RFC 5424 header and RFC 6587 octet counting,
 * file rotation, bounded queues that drop with a count instead of blocking,
 * reconnects; and the Prometheus page (metrics.c). Loopback and a temp dir
 * only, no root.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include "lib/time.h"
#include "output/metrics.h"
#include "output/sink.h"
#include "unit.h"

static char err[512];

/* Run the sink's side of the loop for @ms. */
static void pump(int epfd, struct sink *s, int ms)
{
	struct epoll_event evs[4];
	__u64 end = time_mono_ms() + ms;
	int n, i;

	while (time_mono_ms() < end) {
		n = epoll_wait(epfd, evs, 4, 10);
		for (i = 0; i < n; i++)
			sink_on_event(evs[i].data.ptr, evs[i].events);
		sink_tick(s, time_mono_ms());
		sink_flush(s);
		if (!sink_queued(s) && s->fd >= 0 && !s->connecting)
			break;
	}
}

static int tcp_listener(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(fd, 8) || getsockname(fd, (struct sockaddr *)&a, &l))
		return -1;
	*port = ntohs(a.sin_port);
	return fd;
}

/* Everything the peer sent until it is quiet for 200 ms. */
static size_t read_all(int fd, char *buf, size_t len)
{
	struct timeval tv = { .tv_usec = 200000 };
	size_t got = 0;
	ssize_t n;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (got < len - 1 && (n = read(fd, buf + got, len - 1 - got)) > 0)
		got += n;
	buf[got] = '\0';
	return got;
}

UNIT_TEST(syslog_header_format)
{
	const char *msg = "{\"type\":\"process_exec\"}";
	const char *want = "<133>1 2026-11-26T10:09:57.591141Z host1 mcpwarden 42 process_exec - {\"type\":\"process_exec\"}";
	char buf[512], pre[16];
	int n;

	n = sink_syslog_frame(buf, sizeof(buf), 133,
			      "2026-11-26T10:09:57.591141683Z", "host1", 42,
			      "process_exec", msg, strlen(msg));
	snprintf(pre, sizeof(pre), "%zu ", strlen(want));
	CHECK(n == (int)(strlen(pre) + strlen(want)));
	CHECK(!strncmp(buf, pre, strlen(pre)));
	CHECK(n > 0 && !strncmp(buf + strlen(pre), want, strlen(want)));
	CHECK(sink_syslog_frame(buf, 20, 133, NULL, "h", 1, "x", msg,
				strlen(msg)) == -ENOSPC);
}

UNIT_TEST(syslog_header_nil_and_bounds)
{
	char buf[512];
	int n;

	/* No time, no host, a MSGID with a space and longer than 32. */
	n = sink_syslog_frame(buf, sizeof(buf), 132, NULL, "", 7,
			      "a b0123456789012345678901234567890123456789",
			      "m", 1);
	CHECK(n > 0);
	buf[n > 0 ? n : 0] = '\0';
	CHECK_STR(buf, "59 <132>1 - - mcpwarden 7 ab012345678901234567890123456789 - m");
	/* Whole seconds: no fraction. */
	n = sink_syslog_frame(buf, sizeof(buf), 134, "2026-01-02T03:04:05Z",
			      "h", 1, "t", "m", 1);
	buf[n > 0 ? n : 0] = '\0';
	CHECK_STR(buf, "47 <134>1 2026-01-02T03:04:05Z h mcpwarden 1 t - m");
}

UNIT_TEST(parse_specs)
{
	struct sink s;

	CHECK(!sink_parse(&s, "-", 0, 0, err, sizeof(err)) && s.kind == SINK_STDOUT);
	sink_close(&s);
	CHECK(!sink_parse(&s, "/tmp/x.jsonl", 0, 0, err, sizeof(err)) &&
	      s.kind == SINK_FILE);
	sink_close(&s);
	CHECK(!sink_parse(&s, "file:ev", 0, 0, err, sizeof(err)) &&
	      s.kind == SINK_FILE && !strcmp(s.path, "ev"));
	sink_close(&s);
	CHECK(!sink_parse(&s, "./udp:x", 0, 0, err, sizeof(err)) &&
	      s.kind == SINK_FILE);
	sink_close(&s);
	CHECK(!sink_parse(&s, "unix:/run/x.sock", 0, 0, err, sizeof(err)) &&
	      s.kind == SINK_UNIX);
	sink_close(&s);
	CHECK(!sink_parse(&s, "tcp:[::1]:80", 0, 0, err, sizeof(err)) &&
	      s.kind == SINK_TCP && s.addr.ss_family == AF_INET6);
	sink_close(&s);
	CHECK(!sink_parse(&s, "syslog+tcp:127.0.0.1:514", 0, 0, err,
			  sizeof(err)) && s.kind == SINK_SYSLOG);
	sink_close(&s);
	CHECK(sink_parse(&s, "udp:1.2.3.4:5", 0, 0, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "--output \"udp:1.2.3.4:5\": unknown kind") == err);
	sink_close(&s);
	CHECK(sink_parse(&s, "tcp:127.0.0.1", 0, 0, err, sizeof(err)) == -EINVAL);
	sink_close(&s);
	CHECK(sink_parse(&s, "tcp:127.0.0.1:0", 0, 0, err, sizeof(err)) == -EINVAL);
	sink_close(&s);
	CHECK(sink_parse(&s, "tcp:127.0.0.1:65536", 0, 0, err, sizeof(err)) == -EINVAL);
	sink_close(&s);
	CHECK(sink_parse(&s, "unix:", 0, 0, err, sizeof(err)) == -EINVAL);
	sink_close(&s);
}

UNIT_TEST(syslog_octet_counting_over_tcp)
{
	const char *lines[] = { "{\"type\":\"agent_start\"}",
				"{\"type\":\"process_exec\",\"action\":\"deny\",\"x\":\"a b\\n\"}",
				"{}" };
	char spec[64], buf[4096], *p, *end;
	int port, lfd, cfd, epfd, i;
	struct sink s;
	size_t got, len;

	lfd = tcp_listener(&port);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	CHECK(lfd >= 0 && epfd >= 0);
	snprintf(spec, sizeof(spec), "syslog+tcp:127.0.0.1:%d", port);
	CHECK(!sink_parse(&s, spec, 0, 0, err, sizeof(err)));
	CHECK(!sink_open(&s, epfd, err, sizeof(err)));
	for (i = 0; i < 3; i++)
		sink_write(&s, lines[i], strlen(lines[i]), "process_exec",
			   "2026-11-26T10:09:57.5Z", i == 1);
	pump(epfd, &s, 2000);
	CHECK(!sink_queued(&s));
	cfd = accept(lfd, NULL, NULL);
	got = read_all(cfd, buf, sizeof(buf));
	/* Frames: "LEN SP MSG", LEN the octets of MSG, back to back. */
	for (p = buf, i = 0; p < buf + got; i++) {
		len = strtoul(p, &end, 10);
		CHECK(*end == ' ');
		p = end + 1;
		CHECK(p + len <= buf + got);
		CHECK(i < 3);
		if (i >= 3 || p + len > buf + got)
			break;
		CHECK(!strncmp(p, i == 1 ? "<132>1 " : "<134>1 ", 7));
		CHECK(len > strlen(lines[i]) &&
		      !memcmp(p + len - strlen(lines[i]), lines[i],
			      strlen(lines[i])));
		CHECK(!!strstr(p, " mcpwarden "));
		p += len;
	}
	CHECK(i == 3);
	sink_close(&s);
	close(cfd);
	close(lfd);
	close(epfd);
}

UNIT_TEST(file_rotation)
{
	char dir[] = "/tmp/mwunit-rot-XXXXXX", spec[128], path[160], line[128];
	char buf[2048];
	int i, fd, k, prev = -1, first;
	struct sink s;
	struct stat st;
	ssize_t n;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(spec, sizeof(spec), "file:%s/ev.jsonl", dir);
	CHECK(!sink_parse(&s, spec, 1000, 0, err, sizeof(err)));
	CHECK(!sink_open(&s, -1, err, sizeof(err)));
	/* 300 lines of 100 bytes: 30 files' worth, 6 kept. */
	for (i = 0; i < 300; i++) {
		snprintf(line, sizeof(line), "{\"n\":%05d,\"pad\":\"%0*d\"}", i,
			 100 - 1 - 20, 0);
		if (strlen(line) != 99) {
			CHECK(strlen(line) == 99);
			break;
		}
		sink_write(&s, line, strlen(line), "t", NULL, false);
		if (i % 7 == 0)
			sink_flush(&s);
	}
	sink_flush(&s);
	/* 6 files of 10 lines kept: the other 240 lines are said lost. */
	CHECK(s.lost_rotated == 240);
	sink_close(&s);
	/* Oldest first: ev.jsonl.5 .. ev.jsonl.1, ev.jsonl; contiguous. */
	for (k = SINK_KEEP; k >= 0; k--) {
		if (k)
			snprintf(path, sizeof(path), "%s/ev.jsonl.%d", dir, k);
		else
			snprintf(path, sizeof(path), "%s/ev.jsonl", dir);
		fd = open(path, O_RDONLY);
		CHECK(fd >= 0);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		CHECK(n > 0 && n <= 1000 && n % 100 == 0);
		buf[n > 0 ? n : 0] = '\0';
		first = atoi(buf + 5);
		CHECK(prev < 0 || first == prev + 1);
		prev = first + (int)(n / 100) - 1;
		unlink(path);
	}
	CHECK(prev == 299);
	snprintf(path, sizeof(path), "%s/ev.jsonl.%d", dir, SINK_KEEP + 1);
	CHECK(stat(path, &st) && errno == ENOENT);
	CHECK(!rmdir(dir));
}

/* 100-byte lines numbered from @first. */
static void write_lines(struct sink *s, int first, int n, bool flush_each)
{
	char line[128];
	int i;

	for (i = first; i < first + n; i++) {
		snprintf(line, sizeof(line), "{\"n\":%05d,\"pad\":\"%0*d\"}", i,
			 100 - 1 - 20, 0);
		sink_write(s, line, strlen(line), "t", NULL, false);
		if (flush_each)
			sink_flush(s);
	}
	sink_flush(s);
}

UNIT_TEST(rotation_leaves_a_fifo_alone)
{
	char dir[] = "/tmp/mwunit-fifo-XXXXXX", path[160], spec[192], buf[65536];
	struct stat st;
	struct sink s;
	int rfd;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/ev.fifo", dir);
	CHECK(!mkfifo(path, 0600));
	rfd = open(path, O_RDONLY | O_NONBLOCK);	/* so that the open below returns */
	CHECK(rfd >= 0);
	snprintf(spec, sizeof(spec), "file:%s", path);
	CHECK(!sink_parse(&s, spec, 1000, 0, err, sizeof(err)));
	CHECK(!sink_open(&s, -1, err, sizeof(err)));
	CHECK(!s.rotatable);
	write_lines(&s, 0, 300, false);
	CHECK(read(rfd, buf, sizeof(buf)) == 300 * 100);
	CHECK(!stat(path, &st) && S_ISFIFO(st.st_mode));
	snprintf(spec, sizeof(spec), "%s.1", path);
	CHECK(stat(spec, &st) && errno == ENOENT);
	CHECK(s.lost_rotated == 0 && s.lost_error == 0);
	sink_close(&s);
	close(rfd);
	unlink(path);
	CHECK(!rmdir(dir));
}

UNIT_TEST(write_error_leaves_whole_lines)
{
	char dir[] = "/tmp/mwunit-full-XXXXXX", path[160], spec[192], buf[4096];
	struct rlimit old, lim = { .rlim_cur = 1050, .rlim_max = RLIM_INFINITY };
	struct sink s;
	ssize_t n;
	int fd;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/ev.jsonl", dir);
	snprintf(spec, sizeof(spec), "file:%s", path);
	CHECK(!sink_parse(&s, spec, 0, 0, err, sizeof(err)));
	CHECK(!sink_open(&s, -1, err, sizeof(err)));
	/* The file may grow to 1050 bytes: line 11 is cut after 50. */
	signal(SIGXFSZ, SIG_IGN);
	CHECK(!getrlimit(RLIMIT_FSIZE, &old));
	lim.rlim_max = old.rlim_max;
	CHECK(!setrlimit(RLIMIT_FSIZE, &lim));
	write_lines(&s, 0, 20, true);
	CHECK(!setrlimit(RLIMIT_FSIZE, &old));
	CHECK(s.lost_error == 10);
	/* The disk has room again: the next line starts a line of its own. */
	write_lines(&s, 20, 1, true);
	sink_close(&s);
	fd = open(path, O_RDONLY);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	CHECK(n == 11 * 100);
	CHECK(n > 0 && buf[n - 1] == '\n');
	for (int i = 0; i < n; i += 100)
		CHECK(buf[i] == '{' && buf[i + 99] == '\n');
	CHECK(n == 1100 && !strncmp(buf + 1000, "{\"n\":00020", 10));
	unlink(path);
	CHECK(!rmdir(dir));
}

UNIT_TEST(queue_full_drops_with_exact_count)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(a);
	char spec[64], line[1023];
	int hold, epfd, i;
	struct sink s;

	/* A port that is bound but not listening: connects are refused. */
	hold = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(!bind(hold, (struct sockaddr *)&a, sizeof(a)));
	getsockname(hold, (struct sockaddr *)&a, &l);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	snprintf(spec, sizeof(spec), "tcp:127.0.0.1:%d", ntohs(a.sin_port));
	CHECK(!sink_parse(&s, spec, 0, 64 << 10, err, sizeof(err)));
	CHECK(!sink_open(&s, epfd, err, sizeof(err)));
	memset(line, 'x', sizeof(line));
	/* 1024 bytes a frame: 64 fit in 64 KiB, 36 are dropped. */
	for (i = 0; i < 100; i++) {
		sink_write(&s, line, sizeof(line), "t", NULL, false);
		pump(epfd, &s, 1);
	}
	CHECK(s.lost_full == 36);
	CHECK(sink_queued(&s) == 64 << 10);
	CHECK(s.fd < 0 || s.connecting);
	sink_close(&s);
	close(hold);
	close(epfd);
}

UNIT_TEST(peer_that_never_reads_does_not_block)
{
	char dir[] = "/tmp/mwunit-sock-XXXXXX", spec[128], line[1000];
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int lfd, epfd, i;
	struct sink s;
	__u64 t0;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/s", dir);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(!bind(lfd, (struct sockaddr *)&a, sizeof(a)) && !listen(lfd, 4));
	epfd = epoll_create1(EPOLL_CLOEXEC);
	snprintf(spec, sizeof(spec), "unix:%s", a.sun_path);
	CHECK(!sink_parse(&s, spec, 0, 64 << 10, err, sizeof(err)));
	CHECK(!sink_open(&s, epfd, err, sizeof(err)));
	memset(line, 'y', sizeof(line));
	t0 = time_mono_ms();
	for (i = 0; i < 20000; i++) {	/* 20 MB against a peer that sleeps */
		sink_write(&s, line, sizeof(line), "t", NULL, false);
		sink_flush(&s);
	}
	CHECK(time_mono_ms() - t0 < 5000);
	CHECK(s.lost_full > 0 && s.lost_full < 20000);
	CHECK(sink_queued(&s) <= 64 << 10);
	CHECK(s.lost_error == 0);
	sink_close(&s);
	close(lfd);
	unlink(a.sun_path);
	rmdir(dir);
	close(epfd);
}

UNIT_TEST(reconnects_after_peer_closes)
{
	char spec[64], buf[512];
	int port, lfd, cfd, epfd;
	struct sink s;

	lfd = tcp_listener(&port);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	snprintf(spec, sizeof(spec), "tcp:127.0.0.1:%d", port);
	CHECK(!sink_parse(&s, spec, 0, 0, err, sizeof(err)));
	CHECK(!sink_open(&s, epfd, err, sizeof(err)));
	sink_write(&s, "one", 3, "t", NULL, false);
	pump(epfd, &s, 1000);
	cfd = accept(lfd, NULL, NULL);
	read_all(cfd, buf, sizeof(buf));
	CHECK_STR(buf, "one\n");
	close(cfd);			/* the collector restarts */
	pump(epfd, &s, 300);		/* sees it go, backs off, reconnects */
	sink_write(&s, "two", 3, "t", NULL, false);
	pump(epfd, &s, 2000);
	cfd = accept(lfd, NULL, NULL);
	read_all(cfd, buf, sizeof(buf));
	CHECK_STR(buf, "two\n");
	sink_close(&s);
	close(cfd);
	close(lfd);
	close(epfd);
}

static void gauges(void *arg, struct metrics_gauges *g)
{
	g->tracked = 3;
	g->tracked_max = 12;
	g->generation = 2;
	g->attached = true;
}

UNIT_TEST(metrics_page)
{
	json_object *o = json_tokener_parse(
		"{\"type\":\"network_connect\",\"action\":\"deny\"}");
	json_object *l = json_tokener_parse(
		"{\"type\":\"events_lost\",\"lost\":{\"count\":7,\"total\":7,\"reason\":\"sink_full\",\"sink\":\"unix:/x\"}}");
	json_object *st = json_tokener_parse("{\"type\":\"agent_start\"}");
	struct metrics m;
	char *page = NULL;
	size_t len = 0;
	struct sockaddr_storage ss;
	socklen_t sl;

	metrics_init(&m, gauges, NULL);
	metrics_observe(&m, st);
	metrics_observe(&m, o);
	metrics_observe(&m, o);
	metrics_observe(&m, l);
	CHECK(!metrics_render(&m, &page, &len));
	CHECK(page && strstr(page, "mcpwarden_events_total{type=\"network_connect\",action=\"deny\"} 2\n"));
	CHECK(page && strstr(page, "mcpwarden_events_total{type=\"agent_start\",action=\"none\"} 1\n"));
	CHECK(page && strstr(page, "mcpwarden_events_lost_total{reason=\"sink_full\"} 7\n"));
	CHECK(page && strstr(page, "mcpwarden_events_lost_total{reason=\"ring_buffer_full\"} 0\n"));
	CHECK(page && strstr(page, "mcpwarden_tracked_processes 3\n"));
	CHECK(page && strstr(page, "mcpwarden_tracked_map_fill_ratio 0.250000\n"));
	CHECK(page && strstr(page, "mcpwarden_policy_generation 2\n"));
	CHECK(page && strstr(page, "mcpwarden_policy_loads_total 1\n"));
	CHECK(page && strstr(page, "# TYPE mcpwarden_events_total counter\n"));
	CHECK(metrics_healthy(&m));
	free(page);
	CHECK(!metrics_parse_addr("127.0.0.1:9464", &ss, &sl) &&
	      ss.ss_family == AF_INET);
	CHECK(!metrics_parse_addr("[::1]:9464", &ss, &sl) &&
	      ss.ss_family == AF_INET6);
	CHECK(metrics_parse_addr("localhost:9464", &ss, &sl) == -EINVAL);
	CHECK(metrics_parse_addr("127.0.0.1", &ss, &sl) == -EINVAL);
	CHECK(metrics_parse_addr("127.0.0.1:99999", &ss, &sl) == -EINVAL);
	json_object_put(o);
	json_object_put(l);
	json_object_put(st);
}

UNIT_MAIN("sink")
