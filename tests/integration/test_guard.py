# SPDX-License-Identifier: GPL-2.0-only
"""The fanotify fence against its own failures and against whoever reads
user/guard/ and user/kernel/answer.c (docs/deploy.md, "What a restart
leaves in force"): an answerer killed with a request in hand, a reload in
the middle of a verdict, a peer of guard.sock that is root but no admin, a
stopped guard at uninstall, a cgroup removed under pinned links, marks a
new policy no longer wants. On this kernel (no BPF-LSM) the file and exec
fences are fanotify's, held by the guard process."""
import fcntl
import json
import os
import re
import select
import signal
import socket
import subprocess
import time

from lib import (BIN, PY, Agent, Cgroup, Fail, case, check, gone, helper,
                 in_cgroup, uninstall_pins)
from test_life import LOOPS, LifeEnv, build_loops
from test_reload import write_atomic

F_GET_SEALS = 1034
SEALS = {"seal": 1, "shrink": 2, "grow": 4}
FAN_CLASS_CONTENT, FAN_UNLIMITED_QUEUE, FAN_UNLIMITED_MARKS = 0x4, 0x10, 0x20


def fds_of(pid, target):
    """The fd numbers of @pid whose link starts with @target."""
    out = []
    d = f"/proc/{pid}/fd"
    for n in os.listdir(d):
        try:
            if os.readlink(f"{d}/{n}").startswith(target):
                out.append(int(n))
        except OSError:
            pass
    return out


def fdinfo(pid, fd):
    with open(f"/proc/{pid}/fdinfo/{fd}") as f:
        return f.read()


def group_flags(pid):
    fds = fds_of(pid, "anon_inode:[fanotify]")
    check(len(fds) == 1, f"pid {pid}: fanotify fds {fds}")
    for line in fdinfo(pid, fds[0]).splitlines():
        if line.startswith("fanotify flags:"):
            return int(line.split()[1].split(":")[1], 16), fds[0]
    raise Fail(f"pid {pid}: no fanotify flags in fdinfo")


def expect_line(p, want):
    """The next line of @p's stdout, within 20 s, is @want; else @p's
    stderr says why."""
    line = (p.stdout.readline().strip()
            if select.select([p.stdout], [], [], 20)[0] else "(nothing in 20 s)")
    if line != want:
        p.kill()
        raise Fail(f"{p.args[0]}: {line!r}, wanted {want!r}: {p.stderr.read()}")


def hold_answerer(env, *how):
    """The hold helper (helpers/hold.c) on the agent's answering thread,
    attached: it holds the thread at its next response."""
    hold = subprocess.Popen([helper("hold"), str(env.agent.proc.pid),
                             "mw-answer", *how], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    env.procs.append(hold)
    expect_line(hold, "seized")
    return hold


def verdicts_right(env, reader, n):
    """@n untracked cats of the secret read it, @n tracked ones (@reader)
    are refused: alternately, so that request fds come and go."""
    for _ in range(n):
        p = subprocess.run(["cat", env.secret], capture_output=True,
                           text=True, timeout=20)
        check(env.m in p.stdout, f"untracked cat: {p.stderr}")
        _, rc, out, err = env.run([reader])
        check(env.m not in out and "not permitted" in err,
              f"tracked cat: {rc} {out!r} {err!r}")


def reader_of(env):
    return env.script("mcp-server-reader", f"#!/bin/sh\nexec cat {env.secret}\n")


def held_while_guard_stopped(env, guard, reader):
    """Stop the guard, so that the agent's thread reads a tracked open of
    the secret, and hold the thread at its response (ptrace). Returns the
    hold and the reader; the guard is still stopped: the caller goes on
    and continues it."""
    hold = hold_answerer(env)
    os.kill(guard, signal.SIGSTOP)
    try:
        r = env.spawn([reader])
        expect_line(hold, "held")
    except BaseException:
        os.kill(guard, signal.SIGCONT)
        raise
    return hold, r


def refused(r, env, what):
    try:
        out, err = r.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        raise Fail(f"{what} was never answered")
    check(env.m not in out and "not permitted" in err,
          f"{what}: rc {r.returncode} {out!r} {err!r}")


def kill_agent_and_restart(env, hold):
    """kill -9 the agent whose thread @hold holds; a new one on its pins."""
    old = env.agent
    old.proc.kill()
    old.proc.wait()
    check(gone(old.proc.pid), "the agent outlived SIGKILL")
    if hold.wait(timeout=20) != 0:
        raise Fail(f"hold: {hold.stderr.read()}")
    return old


def restart(env, old):
    env.agent = Agent(policy=json.load(open(old.policy)), cgroup=env.cg,
                      pin=old.pin, state=old.state)
    old.stop(uninstall=False)


@case("guard/answerer_killed_holding_a_request_fails_closed")
def killed_holding():
    """The agent's answering thread is held (ptrace) at its response to a
    tracked open it read while the guard is stopped; kill -9 the agent,
    continue the guard: the open fails with EPERM (not allowed, not hung),
    the guard counts a takeover. A new agent then answers with no fd
    clash: untracked opens succeed, tracked ones are refused."""
    with LifeEnv() as env:
        guard = env.status()["fanotify"]["guard_pid"]
        taken = env.status()["fanotify"]["taken_over"]
        reader = reader_of(env)
        hold, r = held_while_guard_stopped(env, guard, reader)
        try:
            old = kill_agent_and_restart(env, hold)
        finally:
            os.kill(guard, signal.SIGCONT)
        refused(r, env, "the request the dead agent held")
        restart(env, old)
        st = env.status()
        check(st["fanotify"]["guard_pid"] == guard, "the same guard")
        check(st["fanotify"]["taken_over"] > taken,
              f"no takeover counted: {st['fanotify']}")
        verdicts_right(env, reader, 20)
        st = env.status()["fanotify"]
        check(st["fd_clash"] == 0, f"fd clashes: {st}")


SLOTS_AT, SLOT_SIZE, BATCH, SIDE_AGENT = 32, 40, 8, 1     # answer.h


def agent_slots(guard):
    """The words of the agent's slots in the shared page, as the guard
    maps it."""
    mfds = fds_of(guard, "/memfd:mcpwarden-answer")
    check(len(mfds) == 1, f"guard memfds {mfds}")
    with open(f"/proc/{guard}/fd/{mfds[0]}", "rb") as f:
        page = f.read(SLOTS_AT + 2 * BATCH * SLOT_SIZE)
    base = SLOTS_AT + SIDE_AGENT * BATCH * SLOT_SIZE
    return [int.from_bytes(page[base + k * SLOT_SIZE:base + k * SLOT_SIZE + 8],
                           "little") for k in range(BATCH)]


ASLEEP_AT = SLOTS_AT + 2 * BATCH * SLOT_SIZE + 8 * 16     # answer.h


def asleep(guard):
    """Each side's asleep word in the shared page: (guard, agent)."""
    mfds = fds_of(guard, "/memfd:mcpwarden-answer")
    check(len(mfds) == 1, f"guard memfds {mfds}")
    with open(f"/proc/{guard}/fd/{mfds[0]}", "rb") as f:
        page = f.read(ASLEEP_AT + 8)
    return tuple(int.from_bytes(page[ASLEEP_AT + 4 * i:ASLEEP_AT + 4 * i + 4],
                                "little") for i in (0, 1))


def until(cond, what, timeout=20):
    deadline = time.time() + timeout
    while not cond():
        check(time.time() < deadline, what)
        time.sleep(0.01)


@case("guard/idle_answerers_sleep_and_a_held_request_rings")
def idle_answerers_sleep():
    """Nothing held: both answerers sleep (their words in the page say so),
    with no 50 ms watchdog tick. The agent's answering thread is then held
    (ptrace) at its response to a tracked open it read while the guard,
    asleep, was stopped: the agent's bell rang the guard, which, continued,
    looks, finds the request held and answers it (EPERM, a takeover
    counted) while the agent lives; with the agent gone the guard sleeps
    again."""
    with LifeEnv() as env:
        guard = env.status()["fanotify"]["guard_pid"]
        taken = env.status()["fanotify"]["taken_over"]
        until(lambda: asleep(guard) == (1, 1),
              f"the answerers never slept: {asleep(guard)}")
        reader = reader_of(env)
        # Stopped asleep, so that the agent reads the request; rung while
        # stopped, it looks once continued.
        hold, r = held_while_guard_stopped(env, guard, reader)
        try:
            rung = [fdinfo(guard, fd) for fd in
                    fds_of(guard, "anon_inode:[eventfd]")]
            check(len(rung) == 2 and any(
                re.search(r"eventfd-count:\s*[1-9]", i) for i in rung),
                f"the agent rang no bell: {rung}")
        finally:
            os.kill(guard, signal.SIGCONT)
        refused(r, env, "the held request, by the guard")
        check(env.status()["fanotify"]["taken_over"] > taken,
              "no takeover counted")
        restart(env, kill_agent_and_restart(env, hold))
        until(lambda: asleep(guard) == (1, 1),
              f"the answerers never slept again: {asleep(guard)}")
        verdicts_right(env, reader, 5)


@case("guard/taken_while_writing_answers_nothing_else")
def taken_while_writing():
    """The agent's answering thread is held just after its response was
    written, before it frees the slot; the guard takes the slot over (it
    has been held 200 ms) and writes a second response, which must find
    nothing. The agent, let go, finds its slot taken and carries on:
    afterwards every verdict is right, untracked and tracked alike. (That
    a taker's late write never meets a newer request of the same number is
    the parking in answer.c; this case runs it, it cannot time the race.)"""
    with LifeEnv() as env:
        guard = env.status()["fanotify"]["guard_pid"]
        reader = reader_of(env)
        hold = hold_answerer(env, "exit")
        os.kill(guard, signal.SIGSTOP)
        try:
            _, rc, out, err = env.run([reader])
            check(env.m not in out and "not permitted" in err,
                  f"tracked cat: {rc} {out!r} {err!r}")
            expect_line(hold, "held")
        finally:
            os.kill(guard, signal.SIGCONT)
        check(any(agent_slots(guard)), "the held slot is not in the page")
        # Event: the guard has taken the slot and written (the agent,
        # stopped, cannot free it itself).
        deadline = time.time() + 20
        while any(agent_slots(guard)):
            check(time.time() < deadline, "the guard never took the slot")
            time.sleep(0.01)
        hold.stdin.write("go\n")
        hold.stdin.flush()
        check(hold.wait(timeout=20) == 0, "hold did not let go")
        verdicts_right(env, reader, 50)
        st = env.status()["fanotify"]
        check(st["fd_clash"] == 0 and st["unjudged"] == 0, f"{st}")


@case("guard/reload_storm_never_opens_the_file")
def reload_storm():
    """A tracked loop opens the protected file while the policy is swapped
    40 times (each reload recompiles every map): not one open succeeds."""
    build_loops()
    # Tens of thousands of deny events: no rotation under the reader.
    with LifeEnv(extra=["--output-rotate-size", "0"]) as env:
        a = env.agent
        pol = json.load(open(a.policy))
        texts = []
        for extra in ([], ["198.51.100.0/24"]):
            p = json.loads(json.dumps(pol))
            for prof in p["profiles"].values():
                prof["network"]["deny"] = ["metadata"] + extra
            texts.append(json.dumps(p))
        stop = os.path.join(env.tmp, "stop-opens")
        loop = env.spawn([BIN, "exec", "--socket", a.sock, "--", LOOPS,
                          "open-until", stop, env.secret])
        a.wait(lambda e: e["type"] == "file_open" and
               e["mcp_server"]["pid"] == a.server_of(loop.pid),
               what="the first deny")
        seen = {"scanned": 0, "loads": 0}

        def loads():    # incremental: the deny events pile up meanwhile
            a.read()
            seen["loads"] += sum(1 for e in a.events[seen["scanned"]:]
                                 if e["type"] == "policy_load")
            seen["scanned"] = len(a.events)
            return seen["loads"]
        during = 0
        for k in range(40):
            before = loads()
            write_atomic(a.policy, texts[(k + 1) % 2])
            deadline = time.time() + 20
            while loads() == before:
                check(time.time() < deadline and a.proc.poll() is None,
                      f"no policy_load for reload {k + 1}")
                time.sleep(0.02)
            during += loop.poll() is None
        with open(stop, "w"):
            pass
        out, err = loop.communicate(timeout=120)
        w = out.split()
        check(len(w) == 6 and w[0] == "ok" and w[1] == "0" and w[5] == "0" and
              int(w[3]) > 0, f"open loop across reloads: {out!r} {err!r}")
        check(during == 40, f"only {during} reloads while the loop ran")
        check(env.status()["fanotify"]["unjudged"] == 0, "unjudged requests")


@case("guard/peer_without_cap_sys_admin_gets_nothing")
def peer_not_admin():
    """guard.sock hands out the group (remove every mark, answer every
    request) only to an administrator: uid 0 without CAP_SYS_ADMIN gets
    no fds; nobody else gets past the state directory (0700)."""
    with LifeEnv() as env:
        sock = os.path.join(env.agent.state, "guard.sock")
        st = os.stat(env.agent.state)
        check(st.st_mode & 0o777 == 0o700,
              f"state directory mode {oct(st.st_mode)}")
        probe = (
            "import array, socket, sys\n"
            "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
            "s.settimeout(10)\n"
            "s.connect(sys.argv[1])\n"
            "fds = array.array('i')\n"
            "msg, anc, flags, _ = s.recvmsg(256, socket.CMSG_SPACE(8))\n"
            "n = sum(len(d) // 4 for l, t, d in anc if t == socket.SCM_RIGHTS)\n"
            "print('fds', n, 'bytes', len(msg))\n")
        p = subprocess.run(["setpriv", "--bounding-set", "-sys_admin",
                            "--inh-caps", "-all", "--", PY, "-c", probe, sock],
                           capture_output=True, text=True, timeout=30)
        check(p.stdout.startswith("fds 0 ") or "reset" in p.stderr.lower(),
              f"root without CAP_SYS_ADMIN: {p.stdout!r} {p.stderr[-300:]!r}")
        p = subprocess.run(["setpriv", "--reuid", "65534", "--regid", "65534",
                            "--clear-groups", "--", PY, "-c", probe, sock],
                           capture_output=True, text=True, timeout=30)
        check("PermissionError" in p.stderr,
              f"nobody: {p.stdout!r} {p.stderr[-300:]!r}")
        # The real peer still gets them (the agent's own fds say so).
        p = subprocess.run([PY, "-c", probe, sock], capture_output=True,
                           text=True, timeout=30)
        check(p.stdout.startswith("fds 2 "), f"root: {p.stdout!r} {p.stderr!r}")


@case("guard/shared_page_sealed_group_unlimited")
def sealed():
    """The guard's page is a memfd sealed against resizing and further
    seals; its group is of the permission class with an unlimited queue
    and mark count (a full queue would have the kernel allow what
    overflows)."""
    with LifeEnv() as env:
        guard = env.status()["fanotify"]["guard_pid"]
        mfds = fds_of(guard, "/memfd:mcpwarden-answer")
        check(len(mfds) == 1, f"guard memfds {mfds}")
        fd = os.open(f"/proc/{guard}/fd/{mfds[0]}", os.O_RDONLY)
        try:
            seals = fcntl.fcntl(fd, F_GET_SEALS)
        finally:
            os.close(fd)
        want = SEALS["seal"] | SEALS["shrink"] | SEALS["grow"]
        check(seals & want == want, f"seals {seals:#x}")
        flags, _ = group_flags(guard)
        for bit, name in ((FAN_CLASS_CONTENT, "CLASS_CONTENT"),
                          (FAN_UNLIMITED_QUEUE, "UNLIMITED_QUEUE"),
                          (FAN_UNLIMITED_MARKS, "UNLIMITED_MARKS")):
            check(flags & bit, f"group flags {flags:#x}: no FAN_{name}")


@case("guard/uninstall_kills_a_stopped_guard")
def uninstall_stopped():
    """A stopped guard cannot say goodbye: uninstall kills it and leaves
    nothing (the pins, the socket)."""
    env = LifeEnv()
    try:
        guard = env.status()["fanotify"]["guard_pid"]
        a = env.agent
        a.stop(uninstall=False)
        env.agent = None
        os.kill(guard, signal.SIGSTOP)
        try:
            p = subprocess.run([BIN, "uninstall", "--pin-dir", a.pin,
                                "--state-dir", a.state], capture_output=True,
                               text=True, timeout=60)
        finally:
            if not gone(guard, 0):
                os.kill(guard, signal.SIGCONT)
        check(p.returncode == 0, f"uninstall: {p.stderr}")
        check(gone(guard), f"guard {guard} still there")
        check(not os.path.exists(a.pin), "pins left")
        check(not os.path.exists(os.path.join(a.state, "guard.sock")),
              "guard.sock left")
    finally:
        env.close()


@case("guard/cgroup_recreated_links_reattached")
def cgroup_recreated():
    """The cgroup the socket programs attach to is removed and made again
    between two agents: its links were detached with it, so the next
    agent attaches anew (not "adopted": "all") and the fence is back."""
    cg = Cgroup()
    pol = {"version": 1, "profiles": {"default": {
        "select": {"detect": ["mcp-server-*"]},
        "network": {"default": "allow", "deny": ["loopback"]}}}}
    a = b = None
    try:
        a = Agent(policy=pol, cgroup=cg)
        a.stop(uninstall=False)
        path = cg.path
        cg.remove()
        os.mkdir(path)
        b = Agent(policy=pol, cgroup=cg, pin=a.pin, state=a.state)
        start = b.wait(lambda e: e["type"] == "agent_start")
        check(start["agent"]["adopted"] != "all", f"{start['agent']}")
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        port = srv.getsockname()[1]
        try:
            p = subprocess.run(
                [BIN, "exec", "--socket", b.sock, "--", PY, "-c",
                 "import socket\n"
                 "try:\n"
                 f"    socket.create_connection(('127.0.0.1', {port}), 5)\n"
                 "    print('connected')\n"
                 "except OSError as e:\n"
                 "    print('refused', e.errno)\n"],
                preexec_fn=in_cgroup(cg), capture_output=True, text=True,
                timeout=30)
        finally:
            srv.close()
        out, err = p.stdout, p.stderr
        check(out.strip() == "refused 1",
              f"tracked loopback connect after the cgroup came back: {out!r} {err!r}")
    finally:
        if b:
            b.stop()
        elif a:
            uninstall_pins(a.pin, a.state)
        if os.path.isdir(cg.path):
            cg.remove()


def mount_id(path):
    """The id of the mount at @path: the last one, if mounts are stacked."""
    with open("/proc/self/mountinfo") as f:
        ids = [int(w[0]) for w in map(str.split, f) if w[4] == path]
    check(ids, f"{path} is no mount point here")
    return ids[-1]


@case("guard/mount_mark_dropped_with_its_rule")
def mount_mark_dropped():
    """An exec rule on a mount root is a mount mark; the next agent, on a
    policy without the rule, takes it off the guard's group (it learns
    inherited mount marks from the group's fdinfo)."""
    shm = mount_id("/dev/shm")

    def pol(deny):
        prof = {"select": {"detect": ["mcp-server-*"]}}
        if deny:
            prof["exec"] = {"deny": deny}
        return {"version": 1, "profiles": {"default": prof}}

    def marked(guard):
        flags, fd = group_flags(guard)
        return any(ln.startswith(f"fanotify mnt_id:{shm:x} ")
                   for ln in fdinfo(guard, fd).splitlines())

    cg = Cgroup()
    a = b = None
    try:
        a = Agent(policy=pol(["/dev/shm"]), cgroup=cg)
        guard = a.barrier()["fanotify"]["guard_pid"]
        check(marked(guard), "no mount mark on /dev/shm")
        a.stop(uninstall=False)
        b = Agent(policy=pol([]), cgroup=cg, pin=a.pin,
                  state=a.state)
        check(b.barrier()["fanotify"]["guard_pid"] == guard, "another guard")
        check(not marked(guard), "the /dev/shm mount mark stayed")
    finally:
        if b:
            b.stop()
        elif a:
            uninstall_pins(a.pin, a.state)
        cg.remove()


@case("guard/tracked_signal_to_agent_or_guard_kills_the_sender")
def signal_self_defense():
    """A tracked process that signals the agent (SIGHUP) or the guard
    (SIGTERM) is killed before its next instruction and reported
    (raw_tp/signal_generate: without BPF-LSM the signal cannot be refused;
    it arrives, and neither of these two harms: the agent reloads, the
    guard ignores SIGTERM). kill -0 (no signal) is left alone; untracked
    senders are not touched."""
    with LifeEnv() as env:
        agent = env.agent.proc.pid
        guard = env.status()["fanotify"]["guard_pid"]
        for who, pid, sig in (("agent", agent, "HUP"), ("guard", guard, "TERM")):
            script = f"kill -0 {pid} && echo alive; kill -{sig} {pid}; echo survived"
            p, rc, out, err = env.tracked(["/bin/sh", "-c", script])
            check("alive" in out and "survived" not in out,
                  f"tracked kill -{sig} {who}: rc {rc} {out!r} {err!r}")
            e = env.agent.wait(lambda e: e["type"] == "process_signal" and
                               e["signal"]["target_pid"] == pid,
                               what=f"process_signal to the {who}")
            check(e["action"] == "kill" and e["signal"]["target"] == who and
                  e["signal"]["name"] == f"SIG{sig}" and
                  e["signal"]["hook"] == "raw_tp/signal_generate" and
                  e["rule"] == "self_defense", f"{e}")
            u = subprocess.run(["/bin/sh", "-c", script], capture_output=True,
                               text=True, timeout=20)
            check("survived" in u.stdout, f"untracked kill -{sig} {who}: {u.stdout!r}")
        st = env.status()
        check(st["pid"] == agent and st["fanotify"]["guard_pid"] == guard,
              f"agent {st['pid']}, guard {st['fanotify']['guard_pid']}")

