# SPDX-License-Identifier: GPL-2.0-only
"""Outputs (docs/outputs.md): RFC 5424 syslog received by a real rsyslogd,
the metrics endpoint scraped while known events happen, OCSF output checked
against the OCSF 1.1 class definitions, and a sink whose peer never reads
that must not stall the agent. Network traffic on loopback only."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

from lib import BIN, PY, WORKLOAD, Env, Fail, case, check, open_policy

RSYSLOGD = "/usr/sbin/rsyslogd"


def ensure_rsyslog():
    """Debian's rsyslog, installed if missing, without starting the
    system's (policy-rc.d says no while apt runs)."""
    if os.access(RSYSLOGD, os.X_OK):
        return
    prc = "/usr/sbin/policy-rc.d"
    made = not os.path.exists(prc)
    if made:
        with open(prc, "w") as f:
            f.write("#!/bin/sh\nexit 101\n")
        os.chmod(prc, 0o755)
    try:
        subprocess.run(["apt-get", "install", "-y", "-qq",
                        "--no-install-recommends", "rsyslog"],
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"),
                       capture_output=True, timeout=300)
    finally:
        if made:
            os.unlink(prc)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, proc, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise Fail(f"exited ({proc.returncode}) before listening on {port}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise Fail(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


class Rsyslog:
    """Debian's rsyslogd with its own configuration: imtcp on a loopback
    port, every message written as APP-NAME|MSGID|PROCID|MSG."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="mwtest-rsyslog-")
        self.port = free_port()
        self.out = os.path.join(self.dir, "received.log")
        self.conf = os.path.join(self.dir, "rsyslog.conf")
        self.pidfile = os.path.join(self.dir, "rsyslogd.pid")
        with open(self.conf, "w") as f:
            f.write(f'''global(workDirectory="{self.dir}" maxMessageSize="64k")
module(load="imtcp")
template(name="mw" type="string" string="%app-name%|%msgid%|%procid%|%msg%\\n")
ruleset(name="mw") {{
  action(type="omfile" file="{self.out}" template="mw")
}}
input(type="imtcp" address="127.0.0.1" port="{self.port}" ruleset="mw")
''')
        ensure_rsyslog()
        if not os.access(RSYSLOGD, os.X_OK):
            raise Fail(f"{RSYSLOGD} missing and apt-get install rsyslog failed")
        self.log = open(os.path.join(self.dir, "stderr"), "w")
        self.proc = subprocess.Popen([RSYSLOGD, "-n", "-f", self.conf, "-i",
                                      self.pidfile],
                                     stdout=self.log, stderr=self.log)
        try:
            wait_port(self.port, self.proc)
        except Exception:
            self.close()
            raise

    def messages(self):
        try:
            with open(self.out) as f:
                data = f.read()
        except FileNotFoundError:
            return []
        out = []
        for line in data.splitlines():
            app, msgid, procid, msg = line.split("|", 3)
            out.append((app, msgid, procid, msg.lstrip(" ")))
        return out

    def close(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def canon(e):
    return json.dumps(e, sort_keys=True)


def server_script(env, name, body):
    """A wrapped MCP server: `mcpwarden exec` makes it tracked."""
    path = env.script(name, "#!/bin/sh\n" + body)
    return [BIN, "exec", "--socket", env.agent.sock, "--", path]


@case("outputs/syslog_rsyslog_receives_every_event")
def syslog_rsyslog():
    rs = Rsyslog()
    try:
        with Env(open_policy(deny=["loopback"]),
                 extra=["--output", f"syslog+tcp:127.0.0.1:{rs.port}"]) as env:
            argv = server_script(env, "srv-syslog", f"""/bin/echo hello >/dev/null
/bin/true
ls / >/dev/null
{PY} {WORKLOAD} connect 127.0.0.1 9 tcp
{PY} {WORKLOAD} sendto 127.0.0.1 9
exit 3
""")
            mark = env.agent.mark()
            pid, rc, out, err = env.run(argv)
            check(rc == 3, f"server rc {rc}: {out} {err}")
            pid = env.agent.server_of(pid, after=mark)
            env.agent.wait(lambda e: e["type"] == "process_exit" and
                           e["process"]["pid"] == pid, what="server exit")
            a = env.agent
            apid = a.proc.pid
            a.stop()    # agent_stop is the last line, drained to rsyslog
            native = a.events
            check(native[-1]["type"] == "agent_stop", "clean stop")
            check(len([e for e in native if e["type"] == "process_exec"]) >= 5,
                  f"workload events: {[e['type'] for e in native]}")
            check(any(e["type"] == "network_connect" and e.get("action") == "deny"
                      for e in native), "a denied connect in the workload")
            deadline = time.time() + 10
            while len(rs.messages()) < len(native) and time.time() < deadline:
                time.sleep(0.1)
            msgs = rs.messages()
            got = {}
            for app, msgid, procid, msg in msgs:
                check(app == "mcpwarden", f"APP-NAME {app!r}")
                check(procid == str(apid), f"PROCID {procid!r} (agent {apid})")
                try:
                    e = json.loads(msg)
                except ValueError:
                    raise Fail(f"MSG is not the JSON line: {msg[:200]!r}")
                check(msgid == e["type"], f"MSGID {msgid!r} for {e['type']}")
                got[canon(e)] = got.get(canon(e), 0) + 1
            want = {}
            for e in native:
                want[canon(e)] = want.get(canon(e), 0) + 1
            missing = [k for k in want if got.get(k, 0) < want[k]]
            extra = [k for k in got if want.get(k, 0) < got[k]]
            check(not missing, f"{len(missing)} of {len(native)} events not received by rsyslog, e.g. {missing[:1]}")
            check(not extra, f"rsyslog received events the file has not: {extra[:1]}")
    finally:
        rs.close()


def scrape(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}",
                                    timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def metric(text, name, **labels):
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pat = re.escape(name) + (r"\{" + re.escape(want) + r"\}" if labels else "") + r" (\S+)$"
    for line in text.splitlines():
        m = re.match(pat, line)
        if m:
            return float(m.group(1))
    return None


@case("outputs/metrics_counters_match_events")
def metrics_match():
    port = free_port()
    n = 7
    with Env(open_policy(deny=["loopback"]),
             extra=["--metrics", f"127.0.0.1:{port}",
                    "--aggregate-window", "1s"]) as env:
        st, body = scrape(port, "/healthz")
        check(st == 200 and body.strip() == "ok", f"/healthz {st} {body!r}")
        st, before = scrape(port, "/metrics")
        check(st == 200, f"/metrics {st}")
        b = metric(before, "mcpwarden_events_total", type="network_connect",
                   action="deny") or 0
        bd = metric(before, "mcpwarden_decisions_total",
                    type="network_connect", action="deny") or 0
        check(metric(before, "mcpwarden_events_total", type="agent_start",
                     action="none") == 1, "agent_start counted")
        check(metric(before, "mcpwarden_bpf_attached") == 1, "links attached")
        check(metric(before, "mcpwarden_policy_loads_total") == 1, "one policy load")
        check(metric(before, "mcpwarden_policy_generation") is not None, "generation")
        check(metric(before, "mcpwarden_tracked_map_max_entries") > 0, "map size")
        check(metric(before, "mcpwarden_events_lost_total",
                     reason="ring_buffer_full") == 0, "no drops")
        argv = server_script(env, "srv-metrics",
                             f"exec {PY} {WORKLOAD} connect-loop 127.0.0.1 9 {n}\n")
        mark = env.agent.mark()
        pid, rc, out, err = env.run(argv)
        check(out.strip() == f"done {n} eperm {n}", f"workload {out} {err}")
        pid = env.agent.server_of(pid, after=mark)
        env.agent.wait(lambda e: e["type"] == "process_exit" and
                       e["process"]["pid"] == pid, what="server exit")
        # Identical denies: the first at once, the repeats in a summary.
        def denied():
            return env.agent.find(lambda e: e["type"] == "network_connect" and
                                  e["process"]["pid"] == pid and
                                  e["action"] == "deny")
        env.agent.until(lambda: sum(x["count"] for x in denied()) == n,
                        timeout=10, what=f"counts summing to {n}")
        env.agent.barrier()
        evs = denied()
        check(sum(x["count"] for x in evs) == n and len(evs) < n,
              f"{len(evs)} deny events in the file, counts {[x['count'] for x in evs]}")
        st, after = scrape(port, "/metrics")
        a = metric(after, "mcpwarden_events_total", type="network_connect",
                   action="deny")
        check(a == b + len(evs),
              f"network_connect deny events {b} -> {a}, want +{len(evs)}")
        ad = metric(after, "mcpwarden_decisions_total", type="network_connect",
                    action="deny")
        check(ad == bd + n, f"network_connect deny decisions {bd} -> {ad}, want +{n}")
        check(metric(after, "mcpwarden_aggregation_window_seconds") == 1,
              "the window")
        check(metric(after, "mcpwarden_aggregation_max_entries") > 0, "map size")
        check(metric(after, "mcpwarden_events_lost_total",
                     reason="ring_buffer_routine") == 0, "no routine drops")
        ex = metric(after, "mcpwarden_events_total", type="process_exit",
                    action="none")
        check(ex is not None and ex >= 1, "process_exit counted")
        check(metric(after, "mcpwarden_tracked_processes") is not None, "tracked gauge")
        st, _ = scrape(port, "/nope")
        check(st == 404, f"unknown path {st}")
        check(env.agent.proc.poll() is None, "agent alive after scrapes")


@case("outputs/metrics_bad_address")
def metrics_bad_addr():
    p = subprocess.run([BIN, "run", "--metrics", "localhost"],
                       capture_output=True, text=True)
    check(p.returncode == 2, f"exit {p.returncode}")
    lines = p.stderr.strip().splitlines()
    check(len(lines) == 1 and "--metrics \"localhost\"" in lines[0], f"{p.stderr!r}")
    p = subprocess.run([BIN, "run", "--format", "cef"], capture_output=True,
                       text=True)
    check(p.returncode == 2 and "--format" in p.stderr, f"{p.stderr!r}")


# OCSF 1.1: what each class requires (attributes with requirement
# "required", the base event's included) and the enum values it allows.
# Written from the OCSF 1.1.0 class definitions (events/*.json of the
# ocsf-schema repository); no package ships that schema (docs/outputs.md).
OCSF_BASE_REQUIRED = ["activity_id", "category_uid", "class_uid", "metadata",
                      "severity_id", "time", "type_uid"]
OCSF_CLASSES = {
    # class_uid: (category_uid, required attributes, activity_id values)
    0: (0, [], {0, 99}),
    1001: (1, ["actor", "device", "file"], set(range(0, 15)) | {99}),
    1007: (1, ["actor", "device", "process"], {0, 1, 2, 3, 4, 99}),
    4001: (4, [], {0, 1, 2, 3, 4, 5, 6, 7, 99}),
    6002: (6, ["app"], set(range(0, 9)) | {99}),
    6003: (6, ["actor", "api", "src_endpoint"], {0, 1, 2, 3, 4, 99}),
}
OCSF_ENUMS = {
    "severity_id": {0, 1, 2, 3, 4, 5, 6, 99},
    "action_id": {0, 1, 2, 99},
    "disposition_id": set(range(0, 19)) | {99},
    "status_id": {0, 1, 2, 99},
}
# Objects: required attributes and enums (OCSF 1.1 objects/*.json).
OCSF_OBJECTS = {
    "metadata": (["product", "version"], {}),
    "metadata.product": (["vendor_name"], {}),
    "app": (["vendor_name"], {}),
    "api": (["operation"], {}),
    "device": (["type_id"], {"type_id": {0, 1, 2, 3, 4, 5, 6, 7, 99}}),
    "file": (["name", "type_id"], {"type_id": {0, 1, 2, 3, 4, 5, 6, 7, 99}}),
    "process.file": (["name", "type_id"], {}),
    "actor.process.file": (["name", "type_id"], {}),
    "connection_info": (["direction_id"],
                        {"direction_id": {0, 1, 2, 3, 99},
                         "protocol_ver_id": {0, 4, 6, 99}}),
}
OCSF_AT_LEAST_ONE = {4001: ["dst_endpoint", "src_endpoint"],
                     1007: [], 1001: [], 6002: [], 6003: [], 0: []}


def get_path(e, path):
    for k in path.split("."):
        if not isinstance(e, dict) or k not in e:
            return None
        e = e[k]
    return e


def ocsf_errors(e):
    errs = []
    for k in OCSF_BASE_REQUIRED:
        if k not in e:
            errs.append(f"missing {k}")
    cu = e.get("class_uid")
    if cu not in OCSF_CLASSES:
        return errs + [f"class_uid {cu} not a mapped OCSF class"]
    cat, req, acts = OCSF_CLASSES[cu]
    if e.get("category_uid") != cat:
        errs.append(f"category_uid {e.get('category_uid')} for class {cu}")
    for k in req:
        if k not in e:
            errs.append(f"class {cu} requires {k}")
    alo = OCSF_AT_LEAST_ONE[cu]
    if alo and not any(k in e for k in alo):
        errs.append(f"class {cu} needs one of {alo}")
    if e.get("activity_id") not in acts:
        errs.append(f"activity_id {e.get('activity_id')} not in class {cu}")
    if e.get("type_uid") != cu * 100 + (e.get("activity_id") or 0):
        errs.append(f"type_uid {e.get('type_uid')}")
    for k, vals in OCSF_ENUMS.items():
        if k in e and e[k] not in vals:
            errs.append(f"{k} {e[k]} not in the enum")
    for path, (oreq, oenums) in OCSF_OBJECTS.items():
        o = get_path(e, path)
        if o is None:
            continue
        for k in oreq:
            if k not in o:
                errs.append(f"{path} requires {k}")
        for k, vals in oenums.items():
            if k in o and o[k] not in vals:
                errs.append(f"{path}.{k} {o[k]} not in the enum")
    if not re.match(r"^1\.\d+\.\d+$", str(get_path(e, "metadata.version"))):
        errs.append("metadata.version is not 1.x")
    t = e.get("time")
    if not isinstance(t, int) or abs(t / 1000 - time.time()) > 3600:
        errs.append(f"time {t} is not epoch milliseconds of now")
    return errs


@case("outputs/ocsf_matches_class_definitions")
def ocsf_output():
    with Env(open_policy(deny=["loopback"]), extra=["--format", "ocsf"],
             expect_start=False) as env:
        a = env.agent
        a.wait(lambda e: e.get("class_uid") == 6002 and e.get("activity_id") == 3,
               timeout=20, what="OCSF agent start (6002/3)")
        argv = server_script(env, "srv-ocsf", f"""/bin/true
{PY} {WORKLOAD} connect 127.0.0.1 9 tcp
{PY} {WORKLOAD} raw
exit 4
""")
        pid, rc, out, err = env.run(argv)
        check(rc == 4, f"server rc {rc} {err}")
        # The server is the interposer's (pid's) child.
        a.wait(lambda e: e.get("class_uid") == 1007 and e.get("activity_id") == 2
               and get_path(e, "process.parent_process.pid") == pid,
               what="OCSF terminate")
        os.kill(a.proc.pid, signal.SIGHUP)      # a policy_load (6002/8)
        a.wait(lambda e: e.get("class_uid") == 6002 and e.get("activity_id") == 8,
               what="OCSF policy load")
        a.stop()
        evs = a.events
        check(evs and all("type" not in e for e in evs), "no native lines")
        bad = [(e.get("class_uid"), ocsf_errors(e)) for e in evs if ocsf_errors(e)]
        check(not bad, f"{len(bad)} events fail the class definitions: {bad[:3]}")
        seen = {(e["class_uid"], e["activity_id"]) for e in evs}
        for want in [(6002, 3), (6002, 4), (6002, 8), (1007, 1), (1007, 2),
                     (4001, 5), (4001, 99)]:
            check(want in seen, f"no event of class/activity {want}: {sorted(seen)}")
        deny = [e for e in evs if e["class_uid"] == 4001 and e["activity_id"] == 5
                and get_path(e, "actor.process.pid") is not None]
        d = deny[0]
        check(get_path(d, "dst_endpoint.ip") == "127.0.0.1" and
              get_path(d, "dst_endpoint.port") == 9, f"endpoint {d.get('dst_endpoint')}")
        check(d["action_id"] == 2 and d["disposition_id"] == 2, "denied, blocked")
        check(get_path(d, "connection_info.protocol_name") == "tcp", "protocol")
        check(get_path(d, "unmapped.mcp_server.profile") == "default", "mcp_server kept")
        ex = [e for e in evs if e["class_uid"] == 1007 and e["activity_id"] == 2
              and get_path(e, "process.parent_process.pid") == pid][0]
        check(ex.get("exit_code") == 4, f"exit_code {ex.get('exit_code')}")
        launch = [e for e in evs if e["class_uid"] == 1007 and e["activity_id"] == 1
                  and get_path(e, "process.file.path") in ("/bin/true",
                                                            "/usr/bin/true")]
        check(launch and "true" in get_path(launch[0], "actor.process.cmd_line"),
              "launch of /bin/true with its command line")


@case("outputs/slow_sink_does_not_stall_the_agent")
def slow_sink():
    d = tempfile.mkdtemp(prefix="mwtest-slow-")
    path = os.path.join(d, "never-reads.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(4)       # connections complete; nobody ever reads
    n = 1500
    try:
        # A line per connect (no aggregation): volume for the queue.
        with Env(open_policy(), extra=["--output", f"unix:{path}",
                                       "--output-queue", "64K",
                                       "--aggregate-window", "0"]) as env:
            argv = server_script(env, "srv-burst",
                                 f"exec {PY} {WORKLOAD} connect-loop 127.0.0.1 9 {n}\n")
            t0 = time.time()
            mark = env.agent.mark()
            pid, rc, out, err = env.run(argv, timeout=60)
            check(out.startswith(f"done {n}"), f"workload {out} {err}")
            a = env.agent
            pid = a.server_of(pid, after=mark, timeout=20)
            a.wait(lambda e: e["type"] == "process_exit" and
                   e["process"]["pid"] == pid, timeout=20, what="burst exit")
            lost = a.wait(lambda e: e["type"] == "events_lost" and
                          e["lost"]["reason"] == "sink_full", timeout=5,
                          what="events_lost sink_full")
            check(lost["lost"]["sink"] == f"unix:{path}", f"{lost}")
            a.barrier()
            seen = len(a.find(lambda e: e["type"] == "network_connect" and
                              e["process"]["pid"] == pid))
            rb = sum(e["lost"]["count"] for e in a.find(
                lambda e: e["type"] == "events_lost" and
                e["lost"]["reason"] == "ring_buffer_full"))
            check(seen + rb >= n and seen > 0,
                  f"file sink got {seen} of {n} connects (+{rb} ring-buffer drops)")
            sfull = sum(e["lost"]["count"] for e in a.find(
                lambda e: e["type"] == "events_lost" and
                e["lost"]["reason"] == "sink_full"))
            check(sfull > 0, "sink_full count")
            # The loop still answers at once.
            t1 = time.time()
            p = subprocess.run([BIN, "status", "--socket", a.sock],
                               capture_output=True, text=True, timeout=5)
            check(p.returncode == 0 and time.time() - t1 < 2,
                  f"status while the sink is stuck: {p.returncode} {p.stderr}")
            check(time.time() - t0 < 60, "burst took too long")
    finally:
        srv.close()
        shutil.rmtree(d, ignore_errors=True)


@case("outputs/file_rotation_and_bad_spec")
def rotation():
    # A line per connect (no aggregation): volume for the rotation.
    with Env(open_policy(), extra=["--output-rotate-size", "4K",
                                   "--aggregate-window", "0"]) as env:
        argv = server_script(env, "srv-rot",
                             f"exec {PY} {WORKLOAD} connect-loop 127.0.0.1 9 40\n")
        pid, rc, out, err = env.run(argv)
        a = env.agent
        # The Agent helper follows its file by offset, which a rotation
        # resets: read the rotated files here instead.
        a.read = lambda: None
        deadline = time.time() + 10
        while time.time() < deadline and not os.path.exists(a.out + ".2"):
            time.sleep(0.1)
        files = sorted(f for f in os.listdir(a.dir) if f.startswith("events.jsonl"))
        check("events.jsonl.1" in files and "events.jsonl.2" in files, f"{files}")
        check("events.jsonl.6" not in files, f"at most 5 kept: {files}")
        for f in files:
            size = os.path.getsize(os.path.join(a.dir, f))
            check(size <= 4096, f"{f}: {size} bytes")
            with open(os.path.join(a.dir, f)) as fh:
                for line in fh:
                    json.loads(line)
    p = subprocess.run([BIN, "run", "--output", "udp:127.0.0.1:9", "--socket",
                        "/tmp/mwtest-none.sock", "--pin-dir", "/sys/fs/bpf/mwtest-none"],
                       capture_output=True, text=True, timeout=20)
    check(p.returncode != 0 and "--output \"udp:127.0.0.1:9\"" in p.stderr,
          f"{p.returncode} {p.stderr!r}")


@case("outputs/full_disk_keeps_whole_lines_and_says_what_rotated")
def full_disk():
    """The output on a 1 MiB tmpfs, rotating at 200 KiB (6 files do not
    fit): a burst fills it. Every line on it parses, the lines the disk
    refused are counted (sink_error), and the rotations that deleted
    events say how many (events_lost, reason rotated)."""
    d = tempfile.mkdtemp(prefix="mwfull-")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", d],
                   check=True)
    try:
        out = os.path.join(d, "ev.jsonl")
        with Env(open_policy(deny=["loopback"]),
                 extra=["--output", out, "--output-rotate-size", "200K",
                        "--aggregate-window", "0"]) as env:
            # Its own output rotates too; only the tmpfs one is read here.
            env.agent.read = lambda: None
            argv = server_script(env, "srv-full",
                                 f"exec {PY} {WORKLOAD} connect-loop 127.0.0.1 9 20000\n")
            pid, rc, out_, err = env.run(argv, timeout=120)
            check(out_.startswith("done 20000"), f"workload {out_} {err}")
            st = env.agent.barrier()
            o = [x for x in st["outputs"] if x["name"] == out][0]
            check(o["lost_rotated"] > 0, f"nothing said rotated: {o}")
            env.agent.barrier()     # its events_lost are written now
            lines, rotated = 0, 0
            for f in sorted(os.listdir(d)):
                with open(os.path.join(d, f)) as fh:
                    data = fh.read()
                check(not data or data.endswith("\n"), f"{f}: a partial last line")
                for line in data.splitlines():
                    e = json.loads(line)
                    lines += 1
                    if (e["type"] == "events_lost" and
                            e["lost"]["reason"] == "rotated" and
                            e["lost"]["sink"] == out):
                        rotated += e["lost"]["count"]
            check(lines > 0 and rotated > 0,
                  f"{lines} lines, {rotated} said rotated on the disk")
    finally:
        # Lazily: a process of the test's agent (its guard, which outlives
        # it until uninstall has it stop) may still be on its way out.
        subprocess.run(["umount", "-l", d])
        os.rmdir(d)
