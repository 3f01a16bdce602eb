# SPDX-License-Identifier: GPL-2.0-only
"""Harness for mcpwarden's kernel integration tests.

Every test runs the real agent (build/mcpwarden) on this kernel and drives
real processes against it. Socket programs attach to a cgroup the test
creates; workloads are moved into it. Network traffic stays on loopback or
inside network namespaces the test creates. Everything is cleaned up, also
on failure.
"""
import json
import pwd
import select
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import uuid

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.join(ROOT, "build", "mcpwarden")
WORKLOAD = os.path.join(ROOT, "tests", "integration", "workload.py")
PY = "/usr/bin/python3"
CASES = []
CLEANUPS = []   # run after the last case, also after failures


class Fail(Exception):
    pass


def case(name):
    def deco(fn):
        CASES.append((name, fn))
        return fn
    return deco


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def marker():
    return "mwtest-" + uuid.uuid4().hex[:12]


def cgroup2_root():
    with open("/proc/self/mounts") as f:
        for line in f:
            parts = line.split()
            if parts[2] == "cgroup2":
                return parts[1]
    raise Fail("no cgroup v2 mount on this machine")


class Cgroup:
    """A cgroup v2 directory the test owns; removed with its processes gone."""

    def __init__(self, parent=None, name=None):
        base = parent.path if parent else cgroup2_root()
        self.path = os.path.join(base, name or "mwtest-" + uuid.uuid4().hex[:8])
        os.mkdir(self.path)

    def procs_file(self):
        return os.path.join(self.path, "cgroup.procs")

    def pids(self):
        out = []
        for d, _, _ in os.walk(self.path):
            with open(os.path.join(d, "cgroup.procs")) as f:
                out += [int(x) for x in f.read().split()]
        return out

    def remove(self):
        # Whatever is left in the test's cgroup was started by the test.
        deadline = time.time() + 5
        while True:
            for pid in self.pids():
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                for d, _, _ in os.walk(self.path, topdown=False):
                    os.rmdir(d)
                return
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.05)


class Netns:
    """A network namespace holding test addresses on its own loopback."""

    def __init__(self, addrs=()):
        self.name = "mwtest-" + uuid.uuid4().hex[:8]
        run(["ip", "netns", "add", self.name])
        run(["ip", "-n", self.name, "link", "set", "lo", "up"])
        for a in addrs:
            six = ":" in a
            argv = ["ip", "-n", self.name, "addr", "add",
                    f"{a}/{128 if six else 32}", "dev", "lo"]
            run(argv + (["nodad"] if six else []))

    def exec(self, argv):
        return ["ip", "netns", "exec", self.name] + argv

    def remove(self):
        subprocess.run(["ip", "netns", "del", self.name], check=False)


def run(argv, **kw):
    p = subprocess.run(argv, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        raise Fail(f"{' '.join(argv)}: exit {p.returncode}: {p.stderr.strip()}")
    return p


def in_cgroup(cg):
    """preexec_fn: move the child into @cg before it execs."""
    procs = cg.procs_file()

    def move():
        with open(procs, "w") as f:
            f.write(str(os.getpid()))
    return move


class Agent:
    """A running `mcpwarden run` with its own socket, pins, state and output.

    A stop leaves the fence pinned (the agent's default): stop() then runs
    `mcpwarden uninstall` unless told to keep it for a next agent, which
    takes the same `pin` and `state` (a restart)."""

    def __init__(self, policy=None, cgroup=None, extra=(), resolv=None,
                 expect_start=True, pin=None, state=None):
        self.dir = tempfile.mkdtemp(prefix="mwtest-agent-")
        os.chmod(self.dir, 0o755)
        self.out = os.path.join(self.dir, "events.jsonl")
        self.err = os.path.join(self.dir, "stderr")
        self.sock = os.path.join(self.dir, "control.sock")
        self.pin = pin or "/sys/fs/bpf/mwtest-" + uuid.uuid4().hex[:8]
        self.state = state or tempfile.mkdtemp(prefix="mwtest-state-")
        self.cgroup = cgroup
        argv = [BIN, "run", "--output", self.out, "--socket", self.sock,
                "--pin-dir", self.pin, "--state-dir", self.state]
        if policy is not None:
            self.policy = os.path.join(self.dir, "policy.json")
            with open(self.policy, "w") as f:
                f.write(policy if isinstance(policy, str) else json.dumps(policy))
            argv += ["--policy", self.policy]
        if cgroup:
            argv += ["--cgroup", cgroup.path]
        if resolv:
            argv += ["--resolv-conf", resolv]
        argv += list(extra)
        self.errf = open(self.err, "w")
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                                     stderr=self.errf)
        self.pos = 0
        self.events = []
        if expect_start:
            try:
                self.wait(lambda e: e["type"] == "agent_start", timeout=20,
                          what="agent_start")
            except Exception:
                self.stop()
                raise

    def stderr(self):
        with open(self.err) as f:
            return f.read()

    def read(self):
        try:
            with open(self.out) as f:
                f.seek(self.pos)
                data = f.read()
        except FileNotFoundError:
            return
        # Only whole lines: the agent may be mid-write.
        end = data.rfind("\n")
        if end < 0:
            return
        for line in data[:end].split("\n"):
            try:
                self.events.append(json.loads(line))
            except ValueError:
                raise Fail(f"output line is not JSON: {line[:200]!r}")
        self.pos += len(data[:end + 1].encode())

    def mark(self):
        """A position in the stream: wait(after=mark()) sees only later
        events."""
        self.read()
        return len(self.events)

    def wait(self, pred, timeout=10, what="event", after=0):
        deadline = time.time() + timeout
        while True:
            self.read()
            for e in self.events[after:]:
                if pred(e):
                    return e
            if self.proc.poll() is not None:
                raise Fail(f"agent exited ({self.proc.returncode}) waiting for {what}: {self.stderr()[-800:]}")
            if time.time() > deadline:
                raise Fail(f"no {what} within {timeout}s")
            time.sleep(0.05)

    def until(self, cond, timeout=10, what="condition"):
        """Wait until cond() (over self.events, read anew) holds."""
        deadline = time.time() + timeout
        while True:
            self.read()
            if cond():
                return
            if self.proc.poll() is not None:
                raise Fail(f"agent exited ({self.proc.returncode}) waiting for {what}: {self.stderr()[-800:]}")
            if time.time() > deadline:
                raise Fail(f"no {what} within {timeout}s")
            time.sleep(0.1)

    def server_of(self, wrapper, after=0, timeout=10):
        """The server `mcpwarden exec` (pid @wrapper, the interposer)
        forked: the tracked root whose parent it is, from its first
        event."""
        e = self.wait(lambda e: e.get("process", {}).get("ppid") == wrapper and
                      e.get("mcp_server", {}).get("pid") == e["process"]["pid"],
                      timeout=timeout, after=after,
                      what=f"an event of the server wrapper {wrapper} forked")
        return e["process"]["pid"]

    def find(self, pred):
        self.read()
        return [e for e in self.events if pred(e)]

    def barrier(self):
        """Everything the agent had to write before now is in the output:
        a status request first drains the ring buffer and the fence's
        reports, reports losses and flushes the sinks (daemon loop_sync)."""
        p = subprocess.run([BIN, "status", "--socket", self.sock],
                           capture_output=True, text=True, timeout=10)
        if p.returncode != 0:
            raise Fail(f"status (barrier): {p.stderr.strip()}")
        self.read()
        return json.loads(p.stdout)

    def stop(self, uninstall=True):
        """SIGTERM, then (by default) uninstall what the stop left pinned."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not self.errf.closed:
            self.errf.close()
        try:
            self.read()
        finally:    # a bad line must not leave the fence behind
            if uninstall:
                uninstall_pins(self.pin, self.state)
            shutil.rmtree(self.dir, ignore_errors=True)
        return self.proc.returncode


def uninstall_pins(pin, state):
    """`mcpwarden uninstall`, checked: nothing of the agent stays behind."""
    p = subprocess.run([BIN, "uninstall", "--pin-dir", pin, "--state-dir",
                        state], capture_output=True, text=True, timeout=30)
    shutil.rmtree(state, ignore_errors=True)
    if p.returncode != 0 or os.path.exists(pin):
        shutil.rmtree(pin, ignore_errors=True)
        raise Fail(f"uninstall left {pin}: {p.stderr.strip()}")


class TestUser:
    """A user of its own, with a home under /tmp: removed with its home."""

    def __enter__(self):
        self.name = "mwt" + uuid.uuid4().hex[:8]
        self.base = tempfile.mkdtemp(prefix="mwhome-")
        os.chmod(self.base, 0o755)
        self.home = os.path.join(self.base, self.name)
        subprocess.run(["useradd", "-m", "-d", self.home, "-s", "/bin/sh",
                        self.name], check=True, capture_output=True)
        pw = pwd.getpwnam(self.name)
        self.uid, self.gid = pw.pw_uid, pw.pw_gid
        return self

    def __exit__(self, *exc):
        subprocess.run(["userdel", "-r", self.name], capture_output=True)
        shutil.rmtree(self.base, ignore_errors=True)


def helper(name, libs=()):
    """build/tests/NAME from tests/integration/helpers/NAME.c, rebuilt when
    the source is newer."""
    out = os.path.join(ROOT, "build", "tests", name)
    src = os.path.join(ROOT, "tests", "integration", "helpers", name + ".c")
    if not os.access(out, os.X_OK) or os.path.getmtime(out) < os.path.getmtime(src):
        os.makedirs(os.path.dirname(out), exist_ok=True)
        p = subprocess.run(["cc", "-O2", "-Wall", "-Wextra", "-Werror", "-o",
                            out, src] + list(libs), capture_output=True,
                           text=True)
        if p.returncode:
            raise Fail(f"building {name}: {p.stderr}")
    return out


def has_arg(e, m):
    return any(m in a for a in e.get("process", {}).get("args", []))


def stopped(signo, frame):
    """SIGTERM (a cancelled CI job, a timeout): unwind, so that each
    case's cleanup (agents, pins, cgroups, users) runs."""
    raise KeyboardInterrupt(f"signal {signo}")


def main():
    only = sys.argv[1:]
    passed = failed = 0
    signal.signal(signal.SIGTERM, stopped)
    if os.geteuid() != 0:
        print("FAIL integration: the kernel tests need root (they load BPF programs)")
        print("0 passed, 1 failed")
        return 1
    if not os.access(BIN, os.X_OK):
        print(f"FAIL integration: {BIN} is not built")
        print("0 passed, 1 failed")
        return 1
    for name, fn in CASES:
        if only and not any(name.startswith(o) for o in only):
            continue
        t0 = time.time()
        try:
            fn()
            passed += 1
            print(f"ok {name} ({time.time() - t0:.1f}s)", flush=True)
        except Exception as ex:  # a failed case never stops the suite
            failed += 1
            print(f"FAIL {name}: {ex}", flush=True)
            if not isinstance(ex, Fail):
                traceback.print_exc(file=sys.stdout)
    for fn in reversed(CLEANUPS):
        try:
            fn()
        except Exception as ex:
            failed += 1
            print(f"FAIL cleanup: {ex}", flush=True)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


def gone(pid, timeout=20):
    """Wait on a pidfd until @pid exits: True if it did within @timeout."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([fd], [], [], timeout)[0])
    finally:
        os.close(fd)


class Env:
    """An agent with the given policy and a test cgroup for its socket hooks.

    `policy` may be a callable taking the cgroup (to name it in selectors).
    """

    def __init__(self, policy=None, **kw):
        self.cg = Cgroup()
        self.agent = None
        self.procs = []
        self.tmp = tempfile.mkdtemp(prefix="mwtest-")
        os.chmod(self.tmp, 0o755)
        try:
            if callable(policy):
                policy = policy(self)
            self.agent = Agent(policy=policy, cgroup=self.cg, **kw)
        except Exception:
            self.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def spawn(self, argv, cgroup=None, **kw):
        """Start a workload inside the test cgroup."""
        p = subprocess.Popen(argv, preexec_fn=in_cgroup(cgroup or self.cg),
                             **{"text": True, "stdout": subprocess.PIPE,
                                "stderr": subprocess.PIPE, **kw})
        self.procs.append(p)
        return p

    def run(self, argv, timeout=20, **kw):
        p = self.spawn(argv, **kw)
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            raise Fail(f"{argv}: timed out")
        return p.pid, p.returncode, out, err

    def tracked(self, argv, profile="default", **kw):
        """Run @argv as a server tracked through the wrapper: the server's
        pid (the interposer's child), its status and output."""
        mark = self.agent.mark()
        pid, rc, out, err = self.run([BIN, "exec", "--socket", self.agent.sock,
                                      "--profile", profile, "--"] + list(argv),
                                     **kw)
        if rc == 125:
            return pid, rc, out, err    # the wrapper failed: no server
        return self.agent.server_of(pid, after=mark), rc, out, err

    def script(self, name, body):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(body)
        os.chmod(path, 0o755)
        return path

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        try:
            if self.agent:
                self.agent.stop()
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.cg.remove()


class DirEnv(Env):
    """An Env with a directory of fixtures, self.d, made by fixtures() before
    the policy that names them and removed with the Env (also when the
    agent fails to start)."""

    def fixtures(self, prefix):
        self.d = tempfile.mkdtemp(prefix=prefix)
        os.chmod(self.d, 0o755)
        return self.d

    def __init__(self, policy=None, **kw):
        try:
            super().__init__(policy, **kw)
        except Exception:
            shutil.rmtree(self.d, ignore_errors=True)
            raise

    def close(self):
        super().close()
        shutil.rmtree(self.d, ignore_errors=True)


def open_policy(extra_profiles=None, **network):
    """A policy that tracks with the default patterns and allows traffic."""
    net = {"default": "allow"}
    net.update(network)
    prof = {"default": {
        "select": {"detect": ["@modelcontextprotocol/server-*", "mcp-server-*",
                              "mcp_server_*", "*-mcp-server", "fastmcp"]},
        "network": net}}
    prof.update(extra_profiles or {})
    return {"version": 1, "profiles": prof}
