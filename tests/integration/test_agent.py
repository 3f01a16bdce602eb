# SPDX-License-Identifier: GPL-2.0-only
"""The agent's life: the start event, lost events reported (never silent),
reload, crash and restart with tracking kept, clean stop, control socket
robustness."""
import json
import os
import signal
import socket
import subprocess
import time

from lib import (uninstall_pins, BIN, PY, WORKLOAD, Agent, Cgroup, Env, case, check, marker,
                 open_policy)


def track_sleeper(env, secs="30"):
    """A wrapped server that sleeps: tracked, alive for the test."""
    p = env.spawn([BIN, "exec", "--socket", env.agent.sock, "--", PY, WORKLOAD,
                   "sleep", secs, marker()])
    env.agent.wait(lambda e: e["type"] == "process_exec" and
                   e["process"]["ppid"] == p.pid, what="sleeper exec")
    return p


@case("agent/start_event")
def start_event():
    with Env(open_policy()) as env:
        e = env.agent.find(lambda e: e["type"] == "agent_start")[0]
        a = e["agent"]
        check(a["pid"] == env.agent.proc.pid, "agent pid")
        check(a["kernel"] == os.uname().release, f"kernel {a['kernel']}")
        b = a["backend"]
        check(b["network_connect"]["covered"] and b["tracking"]["covered"], f"{b}")
        check(b["exec"]["covered"] and "fanotify" in b["exec"]["mechanism"] and
              "SIGKILL" in b["exec"]["mechanism"], f"exec {b['exec']}")
        check(b["file_open"]["covered"] and "note" in b["file_open"],
              f"file_open {b['file_open']}: what is not covered is said")
        check(not b["file_change"]["covered"] and "BPF-LSM" in b["file_change"]["note"],
              f"file_change {b['file_change']}: not covered here, and said so")
        check(b["syscalls"]["covered"] and "auto-detected" in b["syscalls"]["note"],
              f"syscalls {b['syscalls']}")
        check(len(e["policy"]["digest"]) == 64, "policy digest")
        check(e["time"].endswith("Z") and len(e["time"]) == 30, f"time {e['time']}")


@case("agent/events_lost_are_reported")
def events_lost():
    # One event per connect (no aggregation) into a ring of one page.
    with Env(open_policy(), extra=["--ring-buffer", "4096",
                                   "--aggregate-window", "0"]) as env:
        srv = env.script("mcp-server-burst",
                         f"#!/bin/sh\nexec {PY} {WORKLOAD} connect-loop 127.0.0.1 9 200\n")
        os.kill(env.agent.proc.pid, signal.SIGSTOP)   # a stalled reader
        try:
            pid, rc, out, err = env.run([srv])
        finally:
            os.kill(env.agent.proc.pid, signal.SIGCONT)
        check(out.startswith("done 200"), f"workload {out} {err}")
        lost = env.agent.wait(lambda e: e["type"] == "events_lost", timeout=5,
                              what="events_lost")
        env.agent.barrier()
        seen = len(env.agent.find(lambda e: e["type"] == "network_connect" and
                                  e["process"]["pid"] == pid))
        total = sum(e["lost"]["count"] for e in env.agent.find(
            lambda e: e["type"] == "events_lost"))
        # Allowed connects are routine events: the ring's last quarter is
        # kept for verdicts, and they are reported as routine losses.
        check(lost["lost"]["reason"] == "ring_buffer_routine", f"{lost}")
        check(seen < 200, f"{seen} connect events: the ring buffer did not fill")
        # Every connect is either delivered or counted (+ exec/exit events).
        check(200 <= seen + total <= 203, f"delivered {seen} + lost {total}")


@case("agent/reload_on_sighup_and_file_change")
def reload():
    with Env(open_policy()) as env:
        a = env.agent
        pol = open_policy(deny=["loopback"])
        with open(a.policy, "w") as f:
            json.dump(pol, f)
        a.wait(lambda e: e["type"] == "policy_load", what="reload on change")
        p = track_sleeper(env)
        srv = env.script("mcp-server-lo",
                         f"#!/bin/sh\nexec {PY} {WORKLOAD} connect 127.0.0.1 9 tcp\n")
        _, _, out, _ = env.run([srv])
        check(out.strip() == "errno EPERM", f"new rule in force: {out!r}")
        # An invalid policy changes nothing and says why.
        with open(a.policy, "w") as f:
            f.write('{"version": 1, "profiles": {"default": {"mode": "enforcing"}}}')
        err = a.wait(lambda e: e["type"] == "policy_error", what="policy_error")
        check("mode" in err["error"], f"error {err['error']}")
        _, _, out, _ = env.run([srv])
        check(out.strip() == "errno EPERM", f"old policy still in force: {out!r}")
        # SIGHUP reloads too; tracking survives reloads.
        with open(a.policy, "w") as f:
            json.dump(open_policy(), f)
        n = len(a.find(lambda e: e["type"] == "policy_load"))
        os.kill(a.proc.pid, signal.SIGHUP)
        a.wait(lambda e: len(a.find(lambda x: x["type"] == "policy_load")) > n,
               what="reload on SIGHUP")
        _, _, out, _ = env.run([srv])
        check(out.strip() == "errno ECONNREFUSED", f"loopback allowed again: {out!r}")
        st = json.loads(subprocess.run([BIN, "status", "--socket", a.sock],
                                       capture_output=True, text=True).stdout)
        check(st["tracked"] >= 1, f"tracked after reloads: {st['tracked']}")
        p.kill()


@case("agent/crash_keeps_fence_restart_keeps_tracking")
def crash_restart():
    pol = open_policy(deny=["loopback"])
    with Env(pol) as env:
        p = track_sleeper(env, "60")
        # The agent dies without cleaning up (SIGKILL).
        env.agent.proc.kill()
        env.agent.proc.wait()
        # Pinned links keep the network fence without the agent.
        child = env.script("mcp-server-lo2",
                           f"#!/bin/sh\nexec {PY} {WORKLOAD} connect 127.0.0.1 9 tcp\n")
        _, _, out, _ = env.run([child])
        check(out.strip() == "errno EPERM", f"fence while the agent is down: {out!r}")
        # A new agent on the same pins knows the tracked server.
        old = env.agent
        env.agent = Agent(policy=pol, cgroup=env.cg, pin=old.pin,
                          state=old.state)
        try:
            start = env.agent.wait(lambda e: e["type"] == "agent_start")
            check(start["agent"]["tracked_at_start"] >= 1,
                  f"tracked_at_start {start['agent']['tracked_at_start']}")
            check(start["agent"]["adopted"] == "all",
                  f"adopted {start['agent']['adopted']}")
            st = subprocess.run([BIN, "status", "--socket", env.agent.sock],
                                capture_output=True, text=True)
            check(json.loads(st.stdout)["tracked"] >= 1, "tracked after restart")
        finally:
            old.stop(uninstall=False)   # dead already: its files go
        p.kill()
        # A clean stop leaves the fence; uninstall takes it down.
        pin = env.agent.pin
        env.agent.stop(uninstall=False)
        stop = env.agent.events[-1]
        check(stop["type"] == "agent_stop" and stop["agent"]["left_in_force"],
              f"last event {stop}")
        check(os.path.exists(os.path.join(pin, "link_connect4")),
              "a clean stop leaves the links pinned")
        uninstall_pins(pin, env.agent.state)
        check(not os.path.exists(pin), "uninstall removes the pins")
        env.agent = None


@case("agent/control_socket_robustness")
def control_robust():
    with Env(open_policy()) as env:
        sock = env.agent.sock

        def ask(data):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(5)
            s.connect(sock)
            s.sendall(data)
            try:
                return json.loads(s.makefile().readline() or "null")
            finally:
                s.close()
        for bad, why in ((b"garbage\n", "not a JSON object"),
                         (b'{"op": 1}\n', "not a string"),
                         (b'{"op": "nope"}\n', 'unknown op "nope"'),
                         (b'{"op": "track", "profile": 7}\n', "must be a string"),
                         (b'{"op": "track", "extra": 1}\n', 'unknown key "extra"'),
                         (b"x" * 5000, "longer than 4096")):
            r = ask(bad)
            check(r and r["ok"] is False and why in r["error"], f"{bad[:20]}: {r}")
        # A malformed "exec" (what the wrapper names for its message) is
        # ignored: the peer, a process of its own, is tracked all the same.
        asker = ("import json, socket, sys\n"
                 "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
                 "s.connect(sys.argv[1]); s.sendall(sys.argv[2].encode() + b'\\n')\n"
                 "print(s.makefile().readline())\n")
        for ex in ('5', '[{"path": 1, "chain": "x"}]',
                   '[{"path": "/x", "chain": [[1, 2, 3], "y"]}]',
                   '[{"path": "/x", "chain": [' + ",".join(["[1,2]"] * 600) + ']}]'):
            _, rc, out, err = env.run([PY, "-c", asker, sock,
                                       '{"op": "track", "exec": ' + ex + '}'])
            r = json.loads(out or "null")
            check(r and r["ok"] is True and "exec_refused" not in r,
                  f"exec {ex[:30]}: {r} {err}")
        # Peers that connect and say nothing do not stall the agent, and
        # filling every slot only delays the wrapper until they time out.
        idle = [socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) for _ in range(70)]
        for s in idle:
            s.connect(sock)
        env.agent.barrier()     # answered after the agent took all 70
        p = subprocess.run([BIN, "exec", "--socket", sock, "--", "/bin/true"],
                           capture_output=True, text=True, timeout=20)
        check(p.returncode == 0, f"wrapper after idle peers: {p.stderr}")
        for s in idle:
            s.close()
        check(env.agent.proc.poll() is None, "the agent survived")


@case("agent/second_agent_refused")
def second_agent():
    with Env(open_policy()) as env:
        p = subprocess.run([BIN, "run", "--socket", env.agent.sock, "--cgroup",
                            env.cg.path, "--pin-dir", "/sys/fs/bpf/mwtest-second",
                            "--output", "/dev/null"],
                           capture_output=True, text=True, timeout=30)
        check(p.returncode == 1 and "another agent is running" in p.stderr,
              f"rc {p.returncode}: {p.stderr}")
        check(env.agent.proc.poll() is None, "the first agent is unharmed")


@case("agent/hybrid_cgroup_node")
def hybrid_cgroup():
    """--cgroup DIR where DIR is v1 (a tmpfs) with v2 at DIR/unified, as
    /sys/fs/cgroup on a hybrid node: the agent takes the v2 part. Here DIR
    is a tmpfs of the test's own with a test cgroup bound at unified/."""
    import tempfile
    cg = Cgroup()
    d = tempfile.mkdtemp(prefix="mwhybrid-")
    err = os.path.join(d, "err")
    script = (f"mount -t tmpfs tmpfs {d}/v1 && mkdir {d}/v1/unified && "
              f"mount --bind {cg.path} {d}/v1/unified && "
              f"exec {BIN} run --cgroup {d}/v1 --socket {d}/s "
              f"--pin-dir /sys/fs/bpf/mwhybrid-{os.getpid()} --output {d}/ev "
              f"--state-dir {d}/state")
    os.mkdir(os.path.join(d, "v1"))
    p = subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh",
                          "-c", script], stderr=open(err, "w"))
    try:
        deadline, line = time.time() + 20, ""
        while time.time() < deadline and not line.endswith("\n"):
            time.sleep(0.1)
            if os.path.exists(os.path.join(d, "ev")):
                with open(os.path.join(d, "ev")) as f:
                    line = f.readline()
        check(line, f"no agent_start: {open(err).read()[-300:]}")
        start = json.loads(line)
        check(start["agent"]["cgroup"] == f"{d}/v1/unified",
              f"cgroup {start['agent']['cgroup']}")
        with open(err) as f:
            check("using that" in f.read(), "the fallback is said on stderr")
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=10)
        uninstall_pins(f"/sys/fs/bpf/mwhybrid-{os.getpid()}", f"{d}/state")
        subprocess.run(["rm", "-rf", d])
        cg.remove()
