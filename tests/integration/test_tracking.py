# SPDX-License-Identifier: GPL-2.0-only
"""Process tracking: wrapper, auto-detection, cgroups, /proc scan,
inheritance, threads, exit, pid reuse; checked from the JSON stream."""
import json
import os
import shutil
import subprocess
import tempfile

from lib import (BIN, PY, WORKLOAD, Cgroup, Env, Netns, case, check, has_arg,
                 helper, marker, open_policy)


def execs(agent, m):
    return agent.find(lambda e: e["type"] == "process_exec" and has_arg(e, m))


@case("tracking/wrapper")
def wrapper():
    with Env(open_policy()) as env:
        m = marker()
        # The wrapper needs no privilege: run it as nobody.
        pid, rc, out, err = env.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
             BIN, "exec", "--socket", env.agent.sock, "--profile", "default",
             "--", "/bin/sh", "-c", f"echo {m}; exit 3"])
        check(rc == 3, f"wrapped command exit {rc}: {err}")
        check(m in out, "the wrapped command did not run")
        e = env.agent.wait(lambda e: e["type"] == "process_exec" and has_arg(e, m),
                           what="exec of the wrapped server")
        p, s = e["process"], e["mcp_server"]
        # The client's child is the interposer; the server, its child.
        check(p["ppid"] == pid, f"ppid {p['ppid']} != {pid}")
        pid = p["pid"]
        check(p["args"] == ["/bin/sh", "-c", f"echo {m}; exit 3"],
              f"args {p['args']}")
        check(p["uid"] == 65534, f"uid {p['uid']}")
        check(p["exe"] in ("/usr/bin/dash", "/bin/dash"), f"exe {p['exe']}")
        check(s == {**s, "profile": "default", "pid": pid, "source": "wrapper"},
              f"mcp_server {s}")
        x = env.agent.wait(lambda e: e["type"] == "process_exit" and
                           e["process"]["pid"] == pid, what="exit event")
        check(x["exit"] == {"code": 3}, f"exit {x['exit']}")
        check(x["mcp_server"]["pid"] == pid, "exit carries the identity")


@case("tracking/wrapper_refusals")
def wrapper_refusals():
    with Env(open_policy_two()) as env:
        m = marker()
        pid, rc, out, err = env.run([BIN, "exec", "--socket", env.agent.sock,
                                     "--profile", "nosuch", "--", "/bin/echo", m])
        check(rc == 125 and m not in out, f"unknown profile: rc {rc}, out {out!r}")
        check('no profile "nosuch"' in err, f"message: {err!r}")
        # Opting out is never allowed: a tracked process cannot re-profile.
        pid, rc, out, err = env.run(
            [BIN, "exec", "--socket", env.agent.sock, "--", BIN, "exec",
             "--socket", env.agent.sock, "--profile", "other", "--",
             "/bin/echo", m])
        check(rc == 125 and m not in out, f"re-profile: rc {rc} out {out!r}")
        check('already tracked under profile "default"' in err, f"message: {err!r}")
        # No agent: the server does not start untracked.
        pid, rc, out, err = env.run([BIN, "exec", "--socket",
                                     env.tmp + "/none.sock", "--", "/bin/echo", m])
        check(rc == 125 and m not in out, f"no agent: rc {rc} out {out!r}")
        check("cannot reach the agent" in err, f"message: {err!r}")


def open_policy_two():
    return open_policy({"other": {"network": {"default": "allow"}}})


@case("tracking/wrapper_and_launchers")
def wrapper_launchers():
    """A wrapped server whose argv names a detection pattern gets the
    profile the wrapper asked for, through the launchers clients and users
    put in front (docs/clients.md); a launcher without the wrapper passes
    detection on to the server it execs; "launchers": [] turns that off."""
    ns = Netns()
    try:
        with Env(open_policy_two()) as env:
            m = marker()
            wrap = [BIN, "exec", "--socket", env.agent.sock, "--profile",
                    "other", "--"]
            server = ["/bin/sh", "-c", "echo $0", "mcp-server-demo"]
            for name, pre in (("plain", []),
                              ("env", ["env", "A=1"]),
                              ("timeout", ["timeout", "20"]),
                              ("nice", ["nice", "-n", "1"]),
                              ("setpriv", ["setpriv", "--reuid=65534",
                                           "--regid=65534", "--clear-groups"]),
                              ("netns", ns.exec([]))):
                argv = pre + wrap + [a.replace("$0", f"{m}-{name}")
                                     for a in server]
                pid, rc, out, err = env.run(argv)
                check(rc == 0 and f"{m}-{name}" in out,
                      f"{name}: rc {rc} out {out!r} err {err!r}")
                e = env.agent.wait(lambda e: e["type"] == "process_exec" and
                                   has_arg(e, f"{m}-{name}"),
                                   what=f"{name}: the server's exec")
                s = e["mcp_server"]
                check(s["profile"] == "other" and s["source"] == "wrapper",
                      f"{name}: mcp_server {s}")
                check(not env.agent.find(
                    lambda e: e["type"] == "process_exec" and
                    e["mcp_server"]["source"] == "detect" and
                    e["process"]["pid"] == pid),
                    f"{name}: the launcher was detected")
            # No wrapper: the launcher execs the server, which is detected.
            srv = env.script("mcp-server-demo", f"#!/bin/sh\necho {m}-direct\n")
            pid, rc, out, err = env.run(["env", "A=1", srv])
            e = env.agent.wait(lambda e: e["type"] == "process_exec" and
                               e["mcp_server"]["pid"] == pid and
                               e["process"]["args"][-1:] == [srv],
                               what="the server env ran")
            check(e["mcp_server"]["source"] == "detect" and
                  e["process"]["exe"] in ("/usr/bin/dash", "/bin/dash"),
                  f"env's server: {e['mcp_server']} {e['process']}")
            check(not env.agent.find(
                lambda e: e["type"] == "process_exec" and
                e["process"]["pid"] == pid and
                e["process"].get("exe") == "/usr/bin/env"), "env was tracked")
        pol = open_policy_two()
        pol["launchers"] = []
        with Env(pol) as env:
            pid, rc, out, err = env.run(["env", "A=1", "/bin/echo",
                                         "mcp-server-demo"])
            e = env.agent.wait(lambda e: e["type"] == "process_exec" and
                               e["process"]["pid"] == pid,
                               what="env, detected without launchers")
            check(e["process"]["exe"] == "/usr/bin/env",
                  f"exe {e['process'].get('exe')}")
    finally:
        ns.remove()


@case("tracking/launchers_root_owned_only")
def launchers_root_owned():
    """A launcher a user could write over (keeping its inode) is no
    launcher: a copy of env owned by nobody, listed, is detected as the
    server; a listed interpreter is warned about at start."""
    d = tempfile.mkdtemp(prefix="mwlaunch-")
    try:
        os.chmod(d, 0o755)
        cp = os.path.join(d, "env")
        shutil.copy2("/usr/bin/env", cp)
        os.chown(cp, 65534, 65534)
        pol = open_policy()
        pol["launchers"] = [cp, "/usr/bin/python3"]
        with Env(pol) as env:
            check('launchers[1]: "/usr/bin/python3" runs programs of its own'
                  in env.agent.stderr(), f"no warning: {env.agent.stderr()!r}")
            pid, rc, out, err = env.run([cp, "A=1", "/bin/echo",
                                         "mcp-server-demo"])
            e = env.agent.wait(lambda e: e["type"] == "process_exec" and
                               e["process"]["pid"] == pid,
                               what="the user's env, detected")
            check(e["process"]["exe"] == cp and
                  e["mcp_server"]["source"] == "detect", f"{e}")
    finally:
        shutil.rmtree(d, ignore_errors=True)


@case("tracking/detect_script")
def detect_script():
    with Env(open_policy()) as env:
        m = marker()
        srv = env.script("mcp-server-demo",
                         f"#!/bin/sh\n/bin/echo {m}-child\nexec {PY} {WORKLOAD} chain {m}\n")
        pid, rc, out, err = env.run([srv, m])
        check(rc == 0, f"server failed: {err}")
        root = env.agent.wait(lambda e: e["type"] == "process_exec" and
                              e["process"]["pid"] == pid, what="server exec")
        s = root["mcp_server"]
        check(s["source"] == "detect" and s["pid"] == pid and
              s["profile"] == "default", f"mcp_server {s}")
        check(root["process"]["args"][:2] == ["/bin/sh", srv],
              f"args {root['process']['args']}")
        child = env.agent.wait(lambda e: e["type"] == "process_exec" and
                               has_arg(e, m + "-child"), what="child exec")
        check(child["mcp_server"]["pid"] == pid, "child identity")
        check(child["process"]["ppid"] == pid, "child ppid")
        gc = env.agent.wait(lambda e: e["type"] == "process_exec" and
                            has_arg(e, m + "-grandchild"), what="grandchild exec")
        check(gc["mcp_server"]["pid"] == pid, "grandchild identity")
        check(gc["process"]["args"] == ["/bin/echo", m + "-grandchild"],
              f"grandchild args {gc['process']['args']}")
        check(gc["process"]["exe"] == "/usr/bin/echo", f"exe {gc['process']['exe']}")
        # python re-exec of the server (exec keeps the identity)
        py = env.agent.wait(lambda e: e["type"] == "process_exec" and
                            e["process"]["pid"] == pid and
                            e["process"]["exe"].startswith("/usr/bin/python3"),
                            what="server re-exec")
        check(py["mcp_server"]["pid"] == pid, "re-exec identity")


@case("tracking/detect_patterns")
def detect_patterns():
    with Env(open_policy()) as env:
        m = marker()
        cases = {
            "npx-style": ["/bin/sh", "-c", f"echo {m}", "@modelcontextprotocol/server-filesystem"],
            "python-m": ["/bin/sh", "-c", f"echo {m}", "-m", "mcp_server_fetch"],
            "suffix": ["/bin/sh", "-c", f"echo {m}", "/opt/x/github-mcp-server"],
            "exact": ["/bin/sh", "-c", f"echo {m}", "fastmcp"],
        }
        pids = {}
        for k, argv in cases.items():
            argv = [a.replace(m, f"{m}-{k}") for a in argv]
            pid, rc, out, err = env.run(argv)
            pids[k] = pid
        for k, pid in pids.items():
            e = env.agent.wait(lambda e: e["type"] == "process_exec" and
                               e["process"]["pid"] == pid, what=f"{k} exec")
            check(e["mcp_server"]["source"] == "detect", f"{k}: {e['mcp_server']}")
        # Near misses stay untracked.
        for argv in (["/bin/sh", "-c", f"echo {m}-miss", "mcp-serverX"],
                     ["/bin/sh", "-c", f"echo {m}-miss", "fastmcp2"],
                     ["/bin/sh", "-c", f"echo {m}-miss", "my-mcp-server.txt"]):
            env.run(argv)
        env.agent.barrier()
        check(not execs(env.agent, f"{m}-miss"), "a near miss was tracked")


@case("tracking/thread")
def thread():
    with Env(open_policy()) as env:
        m = marker()
        srv = env.script("mcp-server-threads",
                         f"#!/bin/sh\nexec {PY} {WORKLOAD} thread-connect 127.0.0.1 9 {m}\n")
        pid, rc, out, err = env.run([srv])
        check("tid " in out, f"workload: {out} {err}")
        tid = int(out.split("tid ")[1].split()[0])
        e = env.agent.wait(lambda e: e["type"] == "network_connect" and
                           e["process"]["pid"] == pid, what="thread's connect")
        check(e["process"]["tid"] == tid and tid != pid,
              f"tid {e['process']['tid']} vs thread {tid}, pid {pid}")
        check(e["mcp_server"]["pid"] == pid, "thread carries the identity")
        check(e["network"]["daddr"] == "127.0.0.1" and e["network"]["dport"] == 9,
              f"network {e['network']}")


@case("tracking/double_fork")
def double_fork():
    with Env(open_policy()) as env:
        m = marker()
        srv = env.script("mcp-server-daemon",
                         f"#!/bin/sh\nexec {PY} {WORKLOAD} double-fork {m}\n")
        pid, rc, out, err = env.run([srv])
        check("reparented to" in out, f"workload: {out} {err}")
        e = env.agent.wait(lambda e: e["type"] == "process_exec" and
                           has_arg(e, m + "-daemon"), what="daemon's exec")
        check(e["mcp_server"]["pid"] == pid, f"identity {e['mcp_server']}")
        check(e["process"]["ppid"] != pid, "the daemon was reparented")


@case("tracking/untracked_invisible")
def untracked():
    with Env(open_policy()) as env:
        m = marker()
        env.run(["/bin/sh", "-c", f"/bin/echo {m}; /bin/true {m}"])
        env.run([PY, WORKLOAD, "connect", "127.0.0.1", "9", "tcp", m])
        env.agent.barrier()
        seen = env.agent.find(lambda e: has_arg(e, m) or
                              (e.get("network", {}).get("dport") == 9))
        check(not seen, f"untracked process appeared: {seen[:1]}")


@case("tracking/exit_and_pid_reuse")
def pid_reuse():
    with Env(open_policy()) as env:
        m = marker()
        srv = env.script("mcp-server-short", "#!/bin/sh\nexit 0\n")
        for attempt in range(20):
            pid, rc, out, err = env.run([srv])
            env.agent.wait(lambda e: e["type"] == "process_exit" and
                           e["process"]["pid"] == pid, what="server exit")
            # Make the next pid the dead server's pid; run an untracked
            # process there. Another fork on the machine may take it: retry.
            with open("/proc/sys/kernel/ns_last_pid", "w") as f:
                f.write(str(pid - 1))
            p = subprocess.Popen(["/bin/sh", "-c", f"exec /bin/echo {m}"],
                                 stdout=subprocess.PIPE)
            p.communicate()
            if p.pid == pid:
                break
        else:
            check(False, "could not reuse a pid in 20 attempts")
        env.agent.barrier()
        check(not execs(env.agent, m), "a reused pid inherited tracking")


@case("tracking/signal_exit")
def signal_exit():
    with Env(open_policy()) as env:
        srv = env.script("mcp-server-killed", "#!/bin/sh\nkill -9 $$\n")
        pid, rc, out, err = env.run([srv])
        x = env.agent.wait(lambda e: e["type"] == "process_exit" and
                           e["process"]["pid"] == pid, what="exit")
        check(x["exit"].get("signal") == 9, f"exit {x['exit']}")


@case("tracking/cgroup")
def cgroup_select():
    pod = {}

    def policy(env):
        pod["cg"] = Cgroup(parent=env.cg, name="pod")
        inner = Cgroup(parent=pod["cg"], name="container")
        pod["inner"] = inner
        return open_policy({"pod": {"select": {"cgroups": [pod["cg"].path]},
                                    "network": {"default": "allow"}}})
    with Env(policy) as env:
        m = marker()
        # A process started in a sub-cgroup of the selected one.
        pid, rc, out, err = env.run(["/bin/sh", "-c", f"/bin/echo {m}"],
                                    cgroup=pod["inner"])
        e = env.agent.wait(lambda e: e["type"] == "process_exec" and
                           e["process"]["pid"] == pid, what="cgroup exec")
        check(e["mcp_server"]["profile"] == "pod" and
              e["mcp_server"]["source"] == "cgroup", f"{e['mcp_server']}")
        c = env.agent.wait(lambda e: e["type"] == "process_exec" and
                           has_arg(e, m) and e["process"]["pid"] != pid,
                           what="child exec")
        check(c["mcp_server"]["pid"] == pid, "child identity")
        # Outside the selected cgroup: not tracked.
        env.run(["/bin/sh", "-c", f"/bin/echo {m}-outside"])
        env.agent.barrier()
        check(not execs(env.agent, f"{m}-outside"), "outside process tracked")


@case("tracking/startup_scan")
def startup_scan():
    """A server running before the agent is found by the /proc scan, and
    its next child inherits the tracking. The server waits on a FIFO the
    test opens only after agent_start, so the child cannot run early."""
    cg = Cgroup()
    tmp = None
    procs = []
    agent = None
    try:
        import tempfile
        from lib import Agent, in_cgroup
        tmp = tempfile.mkdtemp(prefix="mwtest-")
        m = marker()
        go = os.path.join(tmp, "go")
        os.mkfifo(go)
        srv = os.path.join(tmp, "mcp-server-early")
        with open(srv, "w") as f:
            f.write(f"#!/bin/sh\nread x < {go}\n/bin/echo {m}\nexec sleep 30\n")
        os.chmod(srv, 0o755)
        # Popen returns once the exec succeeded: the server runs, with its
        # argv, before the agent starts.
        p = subprocess.Popen([srv], preexec_fn=in_cgroup(cg),
                             stdout=subprocess.DEVNULL)
        procs.append(p)
        agent = Agent(policy=open_policy(), cgroup=cg)
        start = agent.wait(lambda e: e["type"] == "agent_start")
        check(start["agent"]["found_by_scan"] >= 1,
              f"found_by_scan {start['agent']['found_by_scan']} (the server)")
        with open(go, "w") as f:
            f.write("go\n")
        e = agent.wait(lambda e: e["type"] == "process_exec" and has_arg(e, m),
                       what="exec of the early server's child")
        check(e["mcp_server"]["pid"] == p.pid and
              e["mcp_server"]["source"] == "scan", f"{e['mcp_server']}")
    finally:
        for p in procs:
            p.kill()
            p.wait()
        if agent:
            agent.stop()
        if tmp:
            import shutil
            shutil.rmtree(tmp, ignore_errors=True)
        cg.remove()


@case("tracking/cgroup_pattern")
def cgroup_pattern():
    pat = {}

    def policy(env):
        pat["glob"] = os.path.join(env.cg.path, "svc-*")
        return open_policy({"units": {"select": {"cgroups": [pat["glob"]]},
                                      "network": {"default": "allow"}}})
    with Env(policy) as env:
        m = marker()
        n = len(env.agent.find(lambda e: e["type"] == "policy_load"))
        # Made after start: the pattern selects it within a timer tick.
        late = Cgroup(parent=env.cg, name="svc-late")
        other = Cgroup(parent=env.cg, name="web-late")
        env.agent.wait(lambda e: len(env.agent.find(
            lambda x: x["type"] == "policy_load")) > n, what="reload", timeout=5)
        pid, rc, out, err = env.run(["/bin/sh", "-c", f"/bin/echo {m}"],
                                    cgroup=late)
        e = env.agent.wait(lambda e: e["type"] == "process_exec" and
                           e["process"]["pid"] == pid, what="exec in svc-late")
        check(e["mcp_server"]["profile"] == "units" and
              e["mcp_server"]["source"] == "cgroup", f"{e['mcp_server']}")
        env.run(["/bin/sh", "-c", f"/bin/echo {m}-web"], cgroup=other)
        env.agent.barrier()
        check(not execs(env.agent, f"{m}-web"), "web-late is not selected")


def kernel_process_limit():
    """min(pid_max, threads-max): no more processes can live at once."""
    vals = []
    for name in ("pid_max", "threads-max"):
        with open("/proc/sys/kernel/" + name) as f:
            vals.append(int(f.read()))
    return min(vals)


@case("tracking/map_cannot_fill")
def map_cannot_fill():
    """Issue 12 item 5: the tracked map has room for every process the
    kernel can have at once, allocated per entry, and an exit gives the
    entry back. A server that forks thousands of live children gets every
    one tracked and fenced, and the count returns to where it was."""
    n = 3000
    loops = helper("loops")
    # Not the built-in policy: it refuses execs from /tmp (a CI clone).
    with Env(open_policy(deny=["loopback"])) as env:
        start = env.agent.find(lambda e: e["type"] == "agent_start")[0]
        cap = start["agent"]["tracked_capacity"]
        limit = kernel_process_limit()
        check(cap >= limit, f"tracked_capacity {cap} < min(pid_max, threads-max) {limit}")
        p = subprocess.run(["bpftool", "-j", "map", "show", "pinned",
                            env.agent.pin + "/mw_tracked"],
                           capture_output=True, text=True)
        info = json.loads(p.stdout)
        check(info["max_entries"] == cap and info["flags"] & 1,
              f"mw_tracked: {info} (BPF_F_NO_PREALLOC and {cap} entries expected)")
        base = env.agent.barrier()["tracked"]
        srv = env.spawn([BIN, "exec", "--socket", env.agent.sock, "--",
                         loops, "fork-hold", str(n), "127.0.0.1", "9"],
                        stdin=subprocess.PIPE)
        line = srv.stdout.readline()
        check(line == f"forked {n} forkerr 0\n", f"server: {line!r}")
        st = env.agent.barrier()
        check(st["tracked"] == base + n + 1,
              f"tracked {st['tracked']} with {n} children alive ({base + n + 1} expected)")
        srv.stdin.write("go\n")
        srv.stdin.flush()
        out, err = srv.communicate(timeout=60)
        check(out == f"connected 0 denied {n} other 0\n", f"children: {out!r} {err!r}")
        st = env.agent.barrier()
        check(st["tracked"] == base, f"tracked {st['tracked']} after the exits ({base} before)")
        check(st["counters"]["tracked_map_full"] == 0,
              f"tracked_map_full {st['counters']['tracked_map_full']}")
