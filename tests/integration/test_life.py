# SPDX-License-Identifier: GPL-2.0-only
"""The fence outlives the agent (docs/deploy.md, "What a restart leaves in
force"): across a clean restart and a crash every fence holds for servers
tracked each way, the gap's verdicts are delivered, a stopped agent or a
stopped guard stalls no untracked process, and every verdict is an event
or a counted loss. On this kernel (no BPF-LSM) the file and exec fences are
fanotify's, held by the guard process."""
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from datetime import datetime

from lib import (BIN, PY, ROOT, WORKLOAD, Agent, Cgroup, DirEnv, Fail, Netns,
                 case, check, helper, marker)

LOOPS = os.path.join(ROOT, "build", "tests", "loops")
METADATA = "169.254.169.254"


def build_loops():
    helper("loops")


def event_time(e, key="time"):
    """An event's RFC 3339 time as seconds since the epoch."""
    t = e[key]
    base, frac = t[:19], t[20:-1]
    return (datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").timestamp() -
            time.timezone + float("0." + frac))


class LifeEnv(DirEnv):
    """A secret, a denied binary, and a profile for each way of tracking:
    the wrapper and detection (default) and a selected cgroup (units)."""

    def __init__(self, **kw):
        build_loops()
        self.fixtures("mwlife-")
        self.secret = os.path.join(self.d, "secret")
        self.m = marker()
        with open(self.secret, "w") as f:
            f.write(self.m + "\n")
        self.tool = os.path.join(self.d, "tool")
        shutil.copy2("/bin/true", self.tool)
        self.sel = None
        rules = {"network": {"default": "allow", "deny": ["metadata"]},
                 "files": {"deny": [self.secret]},
                 "exec": {"deny": [self.tool]}}

        def policy(env):
            env.sel = Cgroup(parent=env.cg, name="sel")
            return {"version": 1, "profiles": {
                "default": dict(select={"detect": ["mcp-server-*"]}, **rules),
                "units": dict(select={"cgroups": [env.sel.path]}, **rules)}}
        super().__init__(policy, **kw)

    def status(self, agent=None):
        return (agent or self.agent).barrier()


class Prober:
    """A tracked loop of connect, open, exec; its lines with their time."""

    def __init__(self, env, ns, how):
        self.stop = os.path.join(env.tmp, f"stop-{how}")
        probe = [LOOPS, "probe", self.stop, METADATA, "80", env.secret,
                 env.tool]
        cgroup = None
        if how == "wrapper":
            argv = [BIN, "exec", "--socket", env.agent.sock, "--"] + probe
        elif how == "detect":
            argv = [env.script("mcp-server-probe",
                               "#!/bin/sh\nexec " + " ".join(probe) + "\n")]
        else:
            argv, cgroup = probe, env.sel
        self.how = how
        self.p = env.spawn(ns.exec(argv), cgroup=cgroup)
        self.lines = []
        self.cv = threading.Condition()
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for line in self.p.stdout:
            with self.cv:
                self.lines.append((time.time(), line.strip()))
                self.cv.notify_all()
        with self.cv:
            self.lines.append((time.time(), None))
            self.cv.notify_all()

    def progress(self, n=1, timeout=20):
        """Wait for @n more progress lines than there are now."""
        with self.cv:
            want = len(self.lines) + n
            if not self.cv.wait_for(lambda: len(self.lines) >= want or
                                    (self.lines and self.lines[-1][1] is None),
                                    timeout):
                raise Fail(f"{self.how} prober: no progress in {timeout}s")
            if self.lines[-1][1] is None:
                raise Fail(f"{self.how} prober exited: {self.p.stderr.read()}")

    def finish(self):
        with open(self.stop, "w"):
            pass
        self.t.join(20)
        last = [ln for _, ln in self.lines if ln and ln.startswith("rounds")]
        check(last, f"{self.how} prober: no result: {self.lines[-3:]}")
        w = last[0].split()
        return dict(zip(w[0::2], map(int, w[1::2])))


def probers(env, ns):
    ps = [Prober(env, ns, how) for how in ("wrapper", "detect", "cgroup")]
    for p in ps:
        p.progress()
    return ps


def held(ps, what):
    for p in ps:
        r = p.finish()
        check(r["rounds"] > 0, f"{p.how}: no rounds")
        check(r["connect"] == 0 and r["open"] == 0 and r["exec"] == 0,
              f"{p.how} prober got through {what}: {r}")


def crash_and_restart(env, ps):
    """kill -9 the agent, let the probers run a while with none, start the
    next on the same pins and state; the times of the kill and the start."""
    old = env.agent
    t_kill = time.time()
    old.proc.kill()
    old.proc.wait()
    for p in ps:
        p.progress(2)
    t_start = time.time()
    env.agent = Agent(policy=json.load(open(old.policy)), cgroup=env.cg,
                      pin=old.pin, state=old.state)
    old.stop(uninstall=False)
    return t_kill, t_start


def listen(env, ns):
    lst = env.spawn(ns.exec([PY, WORKLOAD, "listen", "80"]))
    line = lst.stdout.readline()
    if "listening" not in line:
        raise Fail(f"listener: {line} {lst.stderr.read()}")


@case("life/restart_keeps_every_fence")
def restart():
    """SIGTERM, then a new agent on the same pins: the wrapped, detected
    and cgroup-selected probers never connect, read or exec, neither while
    no agent runs nor while the new one takes over."""
    ns = Netns([METADATA])
    try:
        with LifeEnv() as env:
            listen(env, ns)
            ps = probers(env, ns)
            old = env.agent
            policy = json.load(open(old.policy))
            old.stop(uninstall=False)
            check(old.events[-1]["type"] == "agent_stop" and
                  old.events[-1]["agent"]["left_in_force"], "agent_stop")
            for p in ps:
                p.progress(2)    # rounds with no agent at all
            env.agent = Agent(policy=policy, cgroup=env.cg, pin=old.pin,
                              state=old.state)
            start = env.agent.wait(lambda e: e["type"] == "agent_start")
            check(start["agent"]["adopted"] == "all", f"{start['agent']}")
            for p in ps:
                p.progress(2)    # rounds under the new agent
            st = env.status()
            check(st["tracked"] >= 3, f"tracked {st['tracked']}")
            check(st["fanotify"]["guard_restarts"] == 0, f"{st['fanotify']}")
            held(ps, "the restart")
    finally:
        ns.remove()


@case("life/crash_keeps_every_fence_and_its_events")
def crash():
    """kill -9: the probers stay fenced while no agent runs, and the next
    agent delivers the verdicts of the gap (connect, open and exec denies
    with their kernel times) or reports them lost."""
    ns = Netns([METADATA])
    try:
        with LifeEnv() as env:
            listen(env, ns)
            ps = probers(env, ns)
            t_kill, t_start = crash_and_restart(env, ps)
            env.agent.wait(lambda e: e["type"] == "agent_start")
            held(ps, "the crash")
            env.agent.barrier()
            # A decision of the gap is an event of its own, or among the
            # repeats a summary counts (first_time .. last_time).
            gap = [e for e in env.agent.events
                   if e.get("action") == "deny" and
                   event_time(e, "first_time" if "first_time" in e else
                              "time") <= t_start and
                   t_kill <= event_time(e)]
            lost = sum(e["lost"]["count"] for e in env.agent.events
                       if e["type"] == "events_lost")
            kinds = {e["type"] for e in gap}
            check({"network_connect", "file_open", "process_exec"} <= kinds or
                  lost, f"the gap's denies: {sorted(kinds)}, lost {lost}")
            check(gap and gap[0]["type"] != "agent_start", "gap events")
    finally:
        ns.remove()


@case("life/unpinned_while_running_is_pinned_again")
def unpinned():
    """Issue 12 item 6 without BPF-LSM, where nothing refuses it: a root
    process removes the agent's pins (links, a map) while it runs. The
    agent pins each again and reports it (agent_tamper); then it is killed
    with -9, and the probers stay fenced: the pins it restored hold."""
    ns = Netns([METADATA])
    try:
        with LifeEnv() as env:
            listen(env, ns)
            ps = probers(env, ns)
            old = env.agent
            mark = old.mark()
            names = ("link_connect4", "link_exec", "link_fork", "mw_tracked")
            for n in names:
                os.unlink(os.path.join(old.pin, n))
            for n in names:
                e = old.wait(lambda e: e["type"] == "agent_tamper" and
                             e["tamper"]["object"] == n, after=mark,
                             what=f"agent_tamper for {n}")
                check(e["tamper"] == {"what": "unpin", "object": n,
                                      "repaired": True}, f"{e}")
                check(os.path.exists(os.path.join(old.pin, n)), f"{n} not back")
            crash_and_restart(env, ps)
            held(ps, "the unpinning and the crash")
    finally:
        ns.remove()


def quick(argv, limit=1.0):
    """@argv untracked: it must finish within @limit seconds."""
    t0 = time.time()
    p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    dt = time.time() - t0
    check(dt < limit, f"{argv[0]} took {dt:.2f}s")
    return p


@case("life/a_stopped_agent_or_guard_stalls_nobody")
def freeze():
    """SIGSTOP the agent, then the guard: untracked opens of the protected
    file and execs of the denied binary each finish within a second (also
    while a loop of untracked opens hammers the marks), and tracked ones
    are still refused."""
    with LifeEnv() as env:
        guard = env.status()["fanotify"]["guard_pid"]
        # Tracked by detection in the kernel: no agent needed to start it.
        reader = env.script("mcp-server-reader", f"#!/bin/sh\nexec cat {env.secret}\n")
        for who, pid in (("agent", env.agent.proc.pid), ("guard", guard)):
            hammer = env.spawn([LOOPS, "open", env.secret, "200000"])
            os.kill(pid, signal.SIGSTOP)
            try:
                t_stop = time.time()
                for _ in range(10):
                    p = quick(["cat", env.secret])
                    check(env.m in p.stdout, f"untracked cat, {who} stopped")
                    p = quick([env.tool])
                    check(p.returncode == 0, f"untracked exec, {who} stopped")
                    _, rc, out, err = env.run([reader])
                    check(env.m not in out and "not permitted" in err,
                          f"tracked cat with the {who} stopped: {rc} {out!r} {err!r}")
                # The request the stopped one held is answered by the other.
                while time.time() - t_stop < 10:
                    quick(["cat", env.secret])
            finally:
                os.kill(pid, signal.SIGCONT)
            out, _ = hammer.communicate(timeout=120)
            check(out.startswith("ok 200000 "), f"untracked hammer: {out}")
        st = env.status()
        check(st["fanotify"]["guard_pid"] == guard, "the guard lives")


@case("life/every_verdict_counted")
def counted():
    """100 000 denied opens and 20 000 denied execs: the deny events plus
    the losses reported equal the attempts, exactly."""
    with LifeEnv() as env:
        for what, n, typ in (("open", 100000, "file_open"),
                             ("exec", 20000, "process_exec")):
            target = env.secret if what == "open" else env.tool
            pid, rc, out, err = env.tracked([LOOPS, what, target, str(n)],
                                            timeout=300)
            check(out.strip() == f"ok 0 denied {n} other 0",
                  f"{what} loop: {out!r} {err!r}")
            # Identical denies are counted in the kernel: the events' counts
            # sum to the attempts once the window's summary is written.
            def decisions():
                return sum(e.get("count", 1) for e in env.agent.events
                           if e["type"] == typ and e.get("action") == "deny" and
                           e["mcp_server"]["pid"] == pid)

            def lost_now():
                return sum(e["lost"]["count"] for e in env.agent.events
                           if e["type"] == "events_lost")
            env.agent.until(lambda: decisions() + lost_now() >= n,
                            timeout=30, what=f"{what}: counts summing to {n}")
            env.agent.barrier()
            events, lost = decisions(), lost_now()
            check(events + lost == n,
                  f"{what}: {events} decisions in events + {lost} lost != {n} attempts")
            check(lost == 0, f"{what}: {lost} lost at the default ring size")
