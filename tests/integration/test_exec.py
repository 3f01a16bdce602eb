# SPDX-License-Identifier: GPL-2.0-only
"""Exec fence on this kernel (no BPF-LSM): fanotify permission marks refuse
named binaries and directories synchronously (EPERM); fileless execs and
allow-lists are stopped by SIGKILL at sched_process_exec, before the image
runs; the wrapper adds Landlock for allow-lists. A denied binary is proven
not to have run by its output, never by an errno guess."""
import os
import shutil
import signal
import subprocess
import tempfile

from lib import (BIN, PY, WORKLOAD, DirEnv, Env, TestUser, case, check, marker,
                 open_policy)


class ExecEnv(DirEnv):
    """An agent whose policy denies fixture binaries the test creates."""

    def __init__(self, monitor=False, extra_profiles=None):
        self.fixtures("mwexec-")
        b = os.path.join(self.d, "bin")
        os.mkdir(b)
        self.denied = os.path.join(b, "denied")         # a copy of echo
        self.allowed = os.path.join(b, "allowed")       # another copy
        self.shell = os.path.join(b, "mysh")            # a denied interpreter
        self.denydir = os.path.join(self.d, "denydir")
        os.mkdir(self.denydir)
        os.mkdir(os.path.join(self.denydir, "sub"))
        for dst, src in ((self.denied, "/usr/bin/echo"),
                         (self.allowed, "/usr/bin/echo"),
                         (self.shell, "/usr/bin/dash")):
            shutil.copy2(src, dst)
        pol = open_policy(extra_profiles)
        pol["profiles"]["default"]["exec"] = {
            "deny": [self.denied, self.shell, self.denydir]}
        if monitor:
            pol["profiles"]["default"]["mode"] = "monitor"
        super().__init__(pol)

    def exec_event(self, pred, what):
        return self.agent.wait(lambda e: e["type"] in ("process_exec", "file_open")
                               and e.get("action") in ("deny", "kill", "audit")
                               and pred(e), what=what)


def refused(env, argv, m, path=None, via="fanotify/FAN_OPEN_EXEC_PERM",
            rule=None, **kw):
    """Run @argv tracked and untracked: only the untracked one prints @m."""
    pid, rc, out, err = env.tracked(argv, **kw)
    check(m not in out, f"tracked {argv}: the denied binary ran: {out!r}")
    e = env.exec_event(lambda e: e["mcp_server"]["pid"] == pid,
                       f"the refusal of {argv}")
    x = e.get("exec") or e.get("file")
    check(x["hook"] == via, f"hook {x['hook']}, wanted {via}")
    if via.startswith("fanotify"):
        check(e["action"] == "deny", f"action {e['action']}")
        check("Operation not permitted" in err or "Permission denied" in err or
              "errno EPERM" in out, f"no EPERM reported: {err!r} {out!r}")
    if path:
        check(x.get("path") == path, f"path {x.get('path')}, wanted {path}")
    if rule:
        check(rule in e["rule"], f"rule {e['rule']}, wanted {rule}")
    _, rc, out, err = env.run(argv, **kw)
    check(m in out, f"untracked {argv} must run: rc {rc} {out!r} {err!r}")
    return e


@case("exec/deny_by_path")
def by_path():
    with ExecEnv() as env:
        m = marker()
        refused(env, [env.denied, m], m, path=env.denied, rule="exec.deny[0]")


@case("exec/symlink_hardlink_relative")
def links():
    with ExecEnv() as env:
        m = marker()
        sym = os.path.join(env.d, "sym")
        hard = os.path.join(env.d, "hard")
        os.symlink(env.denied, sym)
        os.link(env.denied, hard)
        refused(env, [sym, m], m, path=env.denied)
        refused(env, [hard, m], m)
        refused(env, ["./denied", m], m, cwd=os.path.dirname(env.denied))


@case("exec/execveat_fd")
def execveat():
    with ExecEnv() as env:
        m = marker()
        refused(env, [PY, WORKLOAD, "fexecve", env.denied, m], m)


@case("exec/script_interpreter_denied")
def script():
    with ExecEnv() as env:
        m = marker()
        s = os.path.join(env.d, "script")
        with open(s, "w") as f:
            f.write(f"#!{env.shell}\necho {m}\n")
        os.chmod(s, 0o755)
        refused(env, [s], m, path=env.shell)


@case("exec/copy_under_denied_directory")
def copy_dir():
    """An entry of a denied directory is refused by its mark (EPERM); one
    deeper down, where the fence does not mark, is killed by the exec
    tracepoint before its first instruction (docs/policy.md)."""
    with ExecEnv() as env:
        m = marker()
        dst = os.path.join(env.denydir, "echo")
        shutil.copy2("/usr/bin/echo", dst)
        refused(env, [dst, m], m, path=dst, rule="exec.deny[2]")
        dst = os.path.join(env.denydir, "sub", "echo")
        shutil.copy2("/usr/bin/echo", dst)
        e = refused(env, [dst, m], m, via="raw_tp/sched_process_exec",
                    rule="exec.deny[2]")
        check(e["action"] == "kill", f"action {e['action']}")


@case("exec/new_subdirectory_refused")
def new_subdir():
    with ExecEnv() as env:
        m = marker()
        # A subdirectory, made after start: the exec tracepoint kills.
        d = os.path.join(env.denydir, "late")
        os.mkdir(d)
        dst = os.path.join(d, "echo")
        shutil.copy2("/usr/bin/echo", dst)
        pid, rc, out, err = env.tracked([dst, m])
        check(m not in out and rc in (126, -signal.SIGKILL), f"rc {rc}, out {out!r}")
        e = env.exec_event(lambda e: e["mcp_server"]["pid"] == pid, "refusal")
        check(e["action"] in ("deny", "kill") and "exec.deny[2]" in e["rule"],
              f"{e['action']} {e['rule']}")
        _, rc, out, _ = env.run([dst, m])
        check(m in out, "untracked")


@case("exec/new_tree_marked_whole")
def new_tree():
    """A tree made at once under a denied directory (cp -r, mkdir -p, an
    unpacked archive) is marked whole when the agent sees its top: a
    script deep in it is refused by its mark (a script is otherwise judged
    by its interpreter, which runs), every time."""
    with ExecEnv() as env:
        m = marker()
        for i in range(3):
            top = os.path.join(env.denydir, f"tree{i}")
            deep = os.path.join(top, "a", "b", "c", "d")
            os.makedirs(deep)
            s = os.path.join(deep, "run.sh")
            with open(s, "w") as f:
                f.write(f"#!/bin/sh\necho {m}\n")
            os.chmod(s, 0o755)
            env.agent.barrier()	# the agent has seen the new top
            pid, rc, out, err = env.tracked([s])
            check(m not in out and rc == 126, f"round {i}: rc {rc}, out {out!r}")
            e = env.exec_event(lambda e: e["mcp_server"]["pid"] == pid, "refusal")
            check(e["action"] == "deny" and "exec.deny[2]" in e["rule"] and
                  e["exec"]["hook"] == "fanotify/FAN_OPEN_EXEC_PERM",
                  f"round {i}: {e['action']} {e['rule']} {e['exec']}")


@case("exec/loader_trick")
def loader():
    with ExecEnv() as env:
        m = marker()
        e = refused(env, ["/lib64/ld-linux-x86-64.so.2", env.denied, m], m,
                    via="fanotify/FAN_OPEN_PERM")
        check(e["type"] == "file_open", f"type {e['type']}")


@case("exec/fileless_memfd")
def fileless():
    with ExecEnv() as env:
        m = marker()
        pid, rc, out, err = env.tracked([PY, WORKLOAD, "memfd-exec",
                                         "/usr/bin/echo", m])
        check(m not in out, f"the fileless payload ran: {out!r}")
        check(rc == -signal.SIGKILL, f"rc {rc}: {err}")
        e = env.exec_event(lambda e: e["mcp_server"]["pid"] == pid, "fileless kill")
        check(e["action"] == "kill" and e["exec"].get("fileless") is True and
              e["rule"].endswith("exec.fileless"), f"{e}")
        _, rc, out, _ = env.run([PY, WORKLOAD, "memfd-exec", "/usr/bin/echo", m])
        check(m in out, "untracked fileless exec runs")


@case("exec/children_of_the_server")
def children():
    with ExecEnv() as env:
        m = marker()
        refused(env, ["/bin/sh", "-c", f"/bin/sh -c '{env.denied} {m}'"], m)


@case("exec/allowlist_wrapper_landlock")
def allowlist_wrapper():
    strict = {"strict": {"network": {"default": "allow"}}}
    with ExecEnv(extra_profiles=strict) as env:
        env.agent.stop()
        pol = open_policy(strict)
        pol["profiles"]["strict"]["exec"] = {
            "allow": ["/usr/bin/dash", env.allowed]}
        from lib import Agent
        env.agent = Agent(policy=pol, cgroup=env.cg)
        m = marker()
        pid, rc, out, err = env.tracked(
            ["/bin/sh", "-c", f"{env.allowed} {m}-ok; /usr/bin/echo {m}-no"],
            profile="strict")
        check(f"{m}-ok" in out, f"allowed binary: {out!r} {err!r}")
        check(f"{m}-no" not in out and "Permission denied" in err,
              f"Landlock: {out!r} {err!r}")


@case("exec/allowlist_detected_killed")
def allowlist_detected():
    strict = {"strict": {"select": {"detect": ["strict-mcp-*"]},
                         "network": {"default": "allow"},
                         "exec": {"allow": ["/usr/bin/dash"]}}}
    with Env(open_policy(strict)) as env:
        m = marker()
        srv = env.script("strict-mcp-demo",
                         f"#!/bin/sh\n/usr/bin/echo {m}\necho done\n")
        pid, rc, out, err = env.run([srv])
        check(m not in out and "done" in out, f"{out!r} {err!r}")
        e = env.agent.wait(lambda e: e["type"] == "process_exec" and
                           e.get("action") == "kill" and
                           e["mcp_server"]["pid"] == pid, what="kill")
        check(e["rule"] == "profiles.strict.exec.allow (not listed)", e["rule"])


@case("exec/replaced_binary_refenced")
def replaced():
    with ExecEnv() as env:
        m = marker()
        n = len(env.agent.find(lambda e: e["type"] == "policy_load"))
        tmp = env.denied + ".new"
        shutil.copy2("/usr/bin/echo", tmp)
        os.rename(tmp, env.denied)          # as dpkg does: a new inode
        env.agent.wait(lambda e: len(env.agent.find(
            lambda x: x["type"] == "policy_load")) > n, what="reload")
        refused(env, [env.denied, m], m)


@case("exec/monitor_mode_audits")
def monitor():
    with ExecEnv(monitor=True) as env:
        m = marker()
        pid, rc, out, err = env.tracked([env.denied, m])
        check(m in out, f"monitor mode must not block: {out!r} {err!r}")
        e = env.exec_event(lambda e: e["mcp_server"]["pid"] == pid, "audit")
        check(e["action"] == "audit", e["action"])


@case("exec/busybox_applets")
def busybox_applets():
    """Issue 12 item 9: an exec rule on a busybox applet (/x/bin/nc, a
    symlink to Debian's busybox-static) denies that applet, by every route
    to it: the symlink, a hard link of busybox by that name, "busybox nc",
    "busybox busybox nc", "busybox /a/path/nc", argv[0] "nc" or "-nc" with
    busybox's own path, and the shell applet running it. The kill comes at
    sched_process_exec, before the applet runs: its usage text never
    appears, while untracked the same commands print it. The other applets
    (sh, cat, ls) still run for the tracked server."""
    bb = "/bin/busybox"
    d = tempfile.mkdtemp(prefix="mwbb-")
    try:
        b = os.path.join(d, "bin")
        hard = os.path.join(d, "hard")
        os.mkdir(b)
        os.mkdir(hard)
        for a in ("nc", "wget", "sh", "cat", "ls"):
            os.symlink(bb, os.path.join(b, a))
        os.link(bb, os.path.join(hard, "nc"))
        nc, wget = os.path.join(b, "nc"), os.path.join(b, "wget")
        pol = open_policy()
        pol["profiles"]["default"]["exec"] = {"deny": [nc, wget]}
        as_nc = "import os, sys; os.execv(%r, [sys.argv[1], '--help'])" % bb
        routes = [
            ([nc, "--help"], "nc", nc),
            ([wget, "--help"], "wget", wget),
            ([os.path.join(hard, "nc"), "--help"], "nc", nc),
            ([bb, "nc", "--help"], "nc", nc),
            ([bb, "busybox", "nc", "--help"], "nc", nc),
            ([bb, "/no/such/dir/nc", "--help"], "nc", nc),
            ([PY, "-c", as_nc, "nc"], "nc", nc),
            ([PY, "-c", as_nc, "-nc"], "nc", nc),
            ([os.path.join(b, "sh"), "-c", f"{nc} --help; echo rc=$?"], "nc", nc),
            ([bb, "sh", "-c", "nc --help; echo rc=$?"], "nc", nc),
            ([bb, "sh", "-c", "wget --help; echo rc=$?"], "wget", wget),
        ]
        with Env(pol) as env:
            for argv, applet, rule_path in routes:
                usage = f"Usage: {applet} "
                mark = env.agent.mark()
                pid, rc, out, err = env.tracked(argv)
                check(usage not in out + err,
                      f"tracked {argv}: the applet ran: {out!r} {err!r}")
                e = env.agent.wait(
                    lambda e: e["type"] == "process_exec" and
                    e["action"] == "kill" and e["mcp_server"]["pid"] == pid,
                    after=mark, what=f"the kill of {argv}")
                check(e["exec"]["hook"] == "raw_tp/sched_process_exec" and
                      f"({rule_path})" in e["rule"] and
                      e["exec"]["inode"] == os.stat(bb).st_ino,
                      f"{argv}: {e}")
                _, rc, out, err = env.run(argv)
                check(usage in out + err,
                      f"untracked {argv} must run: rc {rc} {out!r} {err!r}")
            m = marker()
            f = os.path.join(env.tmp, "m")
            with open(f, "w") as fh:
                fh.write(m + "\n")
            for argv in ([os.path.join(b, "sh"), "-c", f"echo {m}"],
                         [os.path.join(b, "cat"), f],
                         [bb, "cat", f]):
                _, rc, out, err = env.tracked(argv)
                check(rc == 0 and m in out, f"tracked {argv}: rc {rc} {out!r} {err!r}")
            _, rc, out, err = env.tracked([os.path.join(b, "ls"), env.tmp])
            check(rc == 0 and "m" in out.split(), f"tracked ls: rc {rc} {out!r} {err!r}")
    finally:
        shutil.rmtree(d, ignore_errors=True)


def as_user(uid, gid, argv):
    return ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups",
            "--"] + argv


@case("exec/writable_binaries")
def writable_binaries():
    """Issue 12 item 7, exec.writable "deny", for a server run by an
    unprivileged user. What the server's user may write and was made or
    changed since the server started is killed before it runs: a copy the
    server makes of a tool, a world-writable binary it rewrites, a binary
    it chmods, and such a copy run through the dynamic loader. What was
    there before runs: the server's own native binary in the home (also run
    again by itself and through env), a tool the user installed before,
    root's binaries, a node script (what npx runs), a python3 -m venv
    server. exec.allow exempts a listed binary. Proven by each binary's
    output; untracked, the same user runs them all."""
    with TestUser() as u:
        uid, gid, home, base = u.uid, u.gid, u.home, u.base
        hb = os.path.join(home, "bin")
        os.mkdir(hb)
        copies = {"server": "/usr/bin/dash", "tool": "/usr/bin/echo",
                  "allowed": "/usr/bin/echo", "later": "/usr/bin/echo"}
        for n, src in copies.items():
            shutil.copy2(src, os.path.join(hb, n))
        for p in [hb] + [os.path.join(hb, n) for n in copies]:
            os.chown(p, uid, gid)
        ww = os.path.join(base, "ww")       # root's, but anyone may write it
        shutil.copy2("/usr/bin/echo", ww)
        os.chmod(ww, 0o777)
        js = os.path.join(home, "server.js")
        with open(js, "w") as f:
            f.write("console.log(process.argv[2]);\n")
        venv = os.path.join(home, "venv")
        subprocess.run(as_user(uid, gid, ["/usr/bin/python3", "-m", "venv",
                                          "--without-pip", venv]),
                       check=True, capture_output=True, timeout=120)
        srv_py = os.path.join(venv, "bin", "mcp-server-demo")
        with open(srv_py, "w") as f:
            f.write(f"#!{venv}/bin/python\nimport sys\nprint(sys.argv[1])\n")
        os.chown(srv_py, uid, gid)
        os.chmod(srv_py, 0o755)
        pol = open_policy()
        pol["profiles"]["default"]["exec"] = {"writable": "deny"}
        pol["profiles"]["listed"] = {
            "network": {"default": "allow"},
            "exec": {"writable": "deny",
                     "allow": ["/usr", "/bin", "/lib", "/lib64",
                               os.path.join(hb, "allowed")]}}
        srv, tool, later = (os.path.join(hb, n) for n in ("server", "tool", "later"))
        ld = "/lib64/ld-linux-x86-64.so.2"
        with Env(pol) as env:
            def tracked(argv, profile="default"):
                mark = env.agent.mark()
                pid, rc, out, err = env.run(as_user(uid, gid, [
                    BIN, "exec", "--socket", env.agent.sock, "--profile",
                    profile, "--"] + argv))
                return env.agent.server_of(pid, after=mark), rc, out, err
            m = marker()
            copy = os.path.join(hb, "copy")
            killed = {
                "copy": f"cp /usr/bin/echo {copy}; {copy} {m}-copy",
                "ww": f"cat /usr/bin/echo > {ww}; {ww} {m}-ww",
                "chmod": f"chmod 0700 {later}; {later} {m}-chmod",
                "loader": f"{ld} {copy} {m}-loader",
            }
            runs = {
                "tool": f"{tool} {m}-tool",
                "again": f"{srv} -c 'echo {m}-again'",
                "root": f"/usr/bin/echo {m}-root",
            }
            script = "; ".join(list(killed.values()) + list(runs.values()) +
                               ["echo rc=$?"])
            pid, rc, out, err = tracked([srv, "-c", script])
            for what in killed:
                check(f"{m}-{what}" not in out,
                      f"tracked: the {what} binary ran: {out!r} {err!r}")
            for what in runs:
                check(f"{m}-{what}" in out,
                      f"tracked: {what} did not run: {out!r} {err!r}")
            e = env.agent.wait(lambda e: e["type"] == "process_exec" and
                               e["action"] == "kill" and
                               e["mcp_server"]["pid"] == pid and
                               e["process"].get("exe") == copy,
                               what="the kill of the copy")
            check(e["rule"] == "profiles.default.exec.writable", f"{e}")
            e = env.agent.wait(lambda e: e["type"] == "process_exec" and
                               e["action"] == "kill" and
                               e["mcp_server"]["pid"] == pid and
                               e["process"].get("exe") == os.path.realpath(ld),
                               what="the kill of the loader")
            check(e["rule"] == "profiles.default.exec.writable", f"{e}")
            _, rc, out, err = env.run(as_user(uid, gid, ["/bin/sh", "-c", script]))
            for what in list(killed) + list(runs):
                check(f"{m}-{what}" in out, f"untracked {what}: {out!r} {err!r}")
            for argv, what in (([ "/usr/bin/node", js, f"{m}-node"], "node"),
                               ([srv_py, f"{m}-venv"], "venv"),
                               (["/usr/bin/env", srv, "-c", f"echo {m}-env"], "env")):
                _, rc, out, err = tracked(argv)
                check(rc == 0 and f"{m}-{what}" in out,
                      f"tracked {what}: rc {rc} {out!r} {err!r}")
            allowed = os.path.join(hb, "allowed")
            _, rc, out, err = tracked(["/bin/sh", "-c",
                                       f"chmod 0755 {allowed}; {allowed} {m}-listed"],
                                      "listed")
            check(f"{m}-listed" in out, f"exec.allow: {out!r} {err!r}")


@case("exec/wrapper_says_refused")
def wrapper_says():
    """A server the policy will not let start says so on the wrapper's
    stderr (what an MCP client shows), with the rule: refused by errno, or
    killed at its exec where the kernel cannot refuse (a deep entry of a
    denied directory), or by its interpreter. The kernel still judges and
    reports; an allowed server prints nothing of the kind."""
    with ExecEnv() as env:
        m = marker()
        deep = os.path.join(env.denydir, "sub", "echo")
        shutil.copy2("/usr/bin/echo", deep)
        s = os.path.join(env.d, "script")
        with open(s, "w") as f:
            f.write(f"#!{env.shell}\necho {m}\n")
        os.chmod(s, 0o755)
        for argv, path, rule, how in (
                ([env.denied, m], env.denied, "exec.deny[0]", "deny"),
                ([deep, m], deep, "exec.deny[2]", "kill"),
                ([s], env.shell, "exec.deny[1]", "deny")):
            pid, rc, out, err = env.tracked(argv)
            check(m not in out, f"{argv}: ran: {out!r}")
            check(f'refuses the exec of "{path}": profiles.default.{rule}' in err,
                  f"{argv}: stderr {err!r}")
            e = env.exec_event(lambda e: e["mcp_server"]["pid"] == pid,
                               f"the kernel's refusal of {argv}")
            check(e["action"] == how and rule in e["rule"],
                  f"{argv}: {e['action']} {e['rule']}")
            if how == "kill":
                check(rc == -signal.SIGKILL, f"{argv}: rc {rc}")
            else:
                check(rc == 126, f"{argv}: rc {rc}")
        # By PATH, as clients give commands.
        pid, rc, out, err = env.tracked(["denied", m],
                                        env={"PATH": os.path.dirname(env.denied)})
        check(rc == 126 and "refuses the exec of" in err, f"by PATH: {rc} {err!r}")
        pid, rc, out, err = env.tracked([env.allowed, m])
        check(rc == 0 and m in out and "refuses" not in err,
              f"allowed: {rc} {out!r} {err!r}")
        # A command too deep for the request to name its directories: the
        # wrapper asks without them (no message), the server starts.
        deepdir = os.path.join(env.d, *(["d"] * 300))
        os.makedirs(deepdir)
        shutil.copy2("/usr/bin/echo", os.path.join(deepdir, "echo"))
        pid, rc, out, err = env.tracked([os.path.join(deepdir, "echo"), m])
        check(rc == 0 and m in out, f"deep: {rc} {out!r} {err!r}")
