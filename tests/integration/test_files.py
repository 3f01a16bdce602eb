# SPDX-License-Identifier: GPL-2.0-only
"""File fence, unix sockets and escape syscalls on this kernel (no BPF-LSM):
fanotify FAN_OPEN_PERM marks on protected inodes and directory trees,
cgroup/connect_unix, the wrapper's Landlock and seccomp. Fixtures live in
temporary directories and a temporary user; real credentials are never
touched. A protected file is proven unread by its content."""
import hashlib
import json
import os
import shutil
import subprocess
import tempfile

from lib import (BIN, PY, ROOT, WORKLOAD, Agent, DirEnv, Env, TestUser, case,
                 check, helper, marker, open_policy)
from test_reload import write_atomic

OPENERS = os.path.join(ROOT, "build", "tests", "openers")


def build_openers():
    helper("openers", ["-luring"])


class FileEnv(DirEnv):
    """A directory of fake secrets and an agent protecting them."""

    def __init__(self, files=None, mode=None, extra_profiles=None,
                 before=None, **kw):
        build_openers()
        self.fixtures("mwfiles-")
        self.secret = os.path.join(self.d, "secret.txt")
        self.sdir = os.path.join(self.d, "secretdir")
        self.key = os.path.join(self.sdir, "sub", "key")
        os.makedirs(os.path.dirname(self.key))
        self.m1, self.m2 = marker(), marker()
        with open(self.secret, "w") as f:
            f.write(self.m1 + "\n")
        with open(self.key, "w") as f:
            f.write(self.m2 + "\n")
        pol = open_policy(extra_profiles)
        pol["profiles"]["default"]["files"] = files or {
            "deny": [self.secret, self.sdir]}
        if mode:
            pol["profiles"]["default"]["mode"] = mode
        if before:
            before(self)        # fixtures made before the agent starts
        super().__init__(pol, **kw)


def unread(env, argv, m, rule=None, **kw):
    """@argv tracked must not show @m; untracked it must."""
    pid, rc, out, err = env.tracked(argv, **kw)
    check(m not in out, f"tracked {argv} read the secret: {out!r}")
    e = env.agent.wait(lambda e: e["type"] == "file_open" and
                       e["mcp_server"]["pid"] == pid and
                       e.get("action") == "deny", what=f"file_open deny for {argv}")
    check(e["file"]["hook"] == "fanotify/FAN_OPEN_PERM", f"{e['file']}")
    if rule:
        check(rule in e["rule"], f"rule {e['rule']}, wanted {rule}")
    _, rc, out, err = env.run(argv, **kw)
    check(m in out, f"untracked {argv} must read it: {out!r} {err!r}")
    return e


@case("files/path_symlink_hardlink_relative")
def tricks():
    with FileEnv() as env:
        link = os.path.join(env.d, "link")
        hard = os.path.join(env.d, "hard")
        os.symlink(env.secret, link)
        os.link(env.secret, hard)
        e = unread(env, ["cat", env.secret], env.m1, rule="files.deny[0]")
        check(e["file"]["path"] == env.secret, e["file"]["path"])
        unread(env, ["cat", link], env.m1)
        unread(env, ["cat", hard], env.m1)
        unread(env, ["cat", "./secret.txt"], env.m1, cwd=env.d)
        unread(env, ["cat", "../secret.txt"], env.m1, cwd=env.sdir)


@case("files/hard_link_made_before_the_agent")
def early_link():
    """Issue 12 item 2: a hard link of a file in a protected directory, made
    elsewhere before the agent started (ln ~/.ssh/id_ed25519 ~/k), is
    refused by the file's inode: the agent looks for files with more than
    one name beneath each protected directory and marks them."""
    def link(env):
        env.early = os.path.join(env.d, "k")
        os.link(env.key, env.early)
    with FileEnv(before=link) as env:
        unread(env, ["cat", env.early], env.m2, rule="files.deny[1]")


@case("files/proc_root_procfd_openat2_io_uring")
def kernel_routes():
    with FileEnv() as env:
        unread(env, ["cat", "/proc/self/root" + env.secret], env.m1)
        unread(env, [OPENERS, "procfd", env.secret], env.m1)
        unread(env, [OPENERS, "openat2", env.secret], env.m1)
        unread(env, [OPENERS, "uring", env.secret], env.m1)


@case("files/directory_tree_and_listing")
def tree():
    with FileEnv() as env:
        unread(env, ["cat", env.key], env.m2, rule="files.deny[1]")
        pid, rc, out, err = env.tracked(["ls", env.sdir])
        check("sub" not in out and rc != 0, f"listing a protected dir: {out!r}")
        # A subdirectory made after start, and a file in it.
        new = os.path.join(env.sdir, "late")
        os.mkdir(new)
        m = marker()
        with open(os.path.join(new, "f"), "w") as f:
            f.write(m + "\n")
        env.agent.barrier()
        unread(env, ["cat", os.path.join(new, "f")], m)


@case("files/bind_mount")
def bind_mount():
    with FileEnv() as env:
        bp = os.path.join(env.d, "bindpoint")
        os.mkdir(bp)
        script = (f"mount --bind {env.sdir} {bp} && "
                  f"cat {bp}/sub/key")
        unread(env, ["unshare", "-m", "sh", "-c", script], env.m2)


@case("files/children")
def children():
    with FileEnv() as env:
        unread(env, ["sh", "-c", f"sh -c 'cat {env.secret}'"], env.m1)


@case("files/audit_mode")
def audit():
    with FileEnv(mode="monitor") as env:
        pid, rc, out, err = env.tracked(["cat", env.secret])
        check(env.m1 in out, f"monitor mode must not block: {out!r}")
        e = env.agent.wait(lambda e: e["type"] == "file_open" and
                           e["mcp_server"]["pid"] == pid, what="audit")
        check(e["action"] == "audit", e["action"])


@case("files/confinement_landlock")
def confinement():
    def files(env):
        return None
    with FileEnv() as env:
        data = os.path.join(env.d, "data")
        other = os.path.join(env.d, "other")
        os.mkdir(data)
        os.mkdir(other)
        m_in, m_out = marker(), marker()
        with open(os.path.join(data, "ok"), "w") as f:
            f.write(m_in + "\n")
        with open(os.path.join(other, "no"), "w") as f:
            f.write(m_out + "\n")
        env.agent.stop()
        pol = open_policy({"confined": {"network": {"default": "allow"},
                                        "files": {"allow": [data]}}})
        env.agent = Agent(policy=pol, cgroup=env.cg)
        pid, rc, out, err = env.tracked(
            ["sh", "-c", f"cat {data}/ok; cat {other}/no; echo done"],
            profile="confined")
        check(m_in in out and "done" in out, f"inside the confinement: {out!r} {err!r}")
        check(m_out not in out and "Permission denied" in err,
              f"outside the confinement: {out!r} {err!r}")


@case("files/secrets_of_every_user")
def secrets():
    with TestUser() as u:
        name, home = u.name, u.home
        m_ssh, m_aws, m_kube = marker(), marker(), marker()
        for rel, m in ((".ssh/id_ed25519", m_ssh), (".aws/credentials", m_aws)):
            os.makedirs(os.path.join(home, os.path.dirname(rel)), exist_ok=True)
            with open(os.path.join(home, rel), "w") as f:
                f.write(m + "\n")
        with Env(None) as env:  # the built-in policy: files.deny ["secrets"]
            for rel, m in ((".ssh/id_ed25519", m_ssh), (".aws/credentials", m_aws)):
                _, rc, out, err = env.tracked(["cat", os.path.join(home, rel)])
                check(m not in out, f"~{name}/{rel} was read: {out!r}")
                _, rc, out, err = env.run(["cat", os.path.join(home, rel)])
                check(m in out, f"untracked cat of ~{name}/{rel}: {out!r}")
            e = env.agent.wait(lambda e: e["type"] == "file_open" and
                               e.get("action") == "deny" and
                               e["file"]["path"].endswith(".aws/credentials"),
                               what="deny of ~/.aws/credentials")
            check("(secrets)" in e["rule"], e["rule"])
            # A secret that appears after the agent started is protected too.
            n = len(env.agent.find(lambda e: e["type"] == "policy_load"))
            os.makedirs(os.path.join(home, ".kube"))
            env.agent.wait(lambda e: len(env.agent.find(
                lambda x: x["type"] == "policy_load")) > n, what="reload")
            with open(os.path.join(home, ".kube", "config"), "w") as f:
                f.write(m_kube + "\n")
            _, rc, out, err = env.tracked(["cat", os.path.join(home, ".kube", "config")])
            check(m_kube not in out, f"~/.kube/config created later was read: {out!r}")


@case("unix/container_runtime_socket")
def runtime_socket():
    d = tempfile.mkdtemp(prefix="mwunix-")
    sock = os.path.join(d, "docker.sock")
    pol = open_policy()
    pol["profiles"]["default"]["unix"] = {"deny": [sock]}
    lst = None
    try:
        with Env(pol) as env:
            lst = env.spawn([PY, WORKLOAD, "unix-listen", sock])
            check("listening" in lst.stdout.readline(), "listener")
            env.agent.stop()            # the socket exists now: re-resolve
            env.agent = Agent(policy=pol, cgroup=env.cg)
            pid, rc, out, err = env.tracked([PY, WORKLOAD, "unix-connect", sock])
            check(out.strip() == "errno EPERM", f"tracked connect: {out!r} {err!r}")
            e = env.agent.wait(lambda e: e["type"] == "network_connect" and
                               e["process"]["pid"] == pid, what="unix deny")
            check(e["action"] == "deny" and e["network"]["family"] == "unix" and
                  e["network"]["path"] == sock, f"{e}")
            _, rc, out, err = env.run([PY, WORKLOAD, "unix-connect", sock])
            check(out.strip() == "ok", f"untracked connect: {out!r}")
    finally:
        shutil.rmtree(d, ignore_errors=True)


@case("syscalls/seccomp_from_the_wrapper")
def syscalls():
    pol = open_policy()
    pol["profiles"]["default"]["syscalls"] = {
        "deny": ["unshare", "setns", "mount", "ptrace"]}
    with Env(pol) as env:
        for what in ("unshare", "clone-newuser", "mount", "ptrace", "setns"):
            pid, rc, out, err = env.tracked([PY, WORKLOAD, "sys", what])
            check(out.strip() == "errno EPERM", f"tracked {what}: {out!r} {err!r}")
        # Inherited by children; untracked processes are untouched.
        pid, rc, out, err = env.tracked(["sh", "-c", "unshare -U true; echo rc=$?"])
        check("rc=1" in out, f"child: {out!r} {err!r}")
        _, rc, out, err = env.run([PY, WORKLOAD, "sys", "unshare"])
        check(out.strip() == "ok", f"untracked unshare: {out!r}")


@case("syscalls/ptrace_class_outside_the_tree")
def ptrace_class():
    """Issue 12 item 4: under syscalls.deny ["ptrace"], a wrapped server can
    neither read another process's memory (/proc/PID/mem,
    process_vm_readv) nor take its descriptors (pidfd_getfd), though both
    run as root: the wrapper's Landlock domain (which ptrace scoping comes
    with) and seccomp filter. Untracked, the same reads work."""
    peek = helper("peek")
    pol = open_policy()
    pol["profiles"]["default"]["syscalls"] = {"deny": ["ptrace"]}
    with Env(pol) as env:
        m1 = marker()
        secret = os.path.join(env.tmp, "held")
        with open(secret, "w") as f:
            f.write(m1 + "\n")
        holder = env.spawn([peek, "hold", secret], stdin=subprocess.PIPE)
        w = holder.stdout.readline().split()
        check(len(w) == 8 and w[0] == "pid", f"holder: {w}")
        pid, addr, n, fd = w[1], w[3], w[5], w[7]
        for argv in ([peek, "mem", pid, addr, n], [peek, "vm", pid, addr, n],
                     [peek, "getfd", pid, fd]):
            _, rc, out, err = env.tracked(argv)
            check(m1 not in out and rc == 1 and
                  ("errno 1 " in out or "errno 13 " in out),
                  f"tracked {argv[1]}: rc {rc} {out!r} {err!r}")
            _, rc, out, err = env.run(argv)
            check(m1 in out, f"untracked {argv[1]}: rc {rc} {out!r} {err!r}")
        holder.stdin.close()
        holder.wait(timeout=10)


@case("files/host_root")
def host_root():
    """--host-root: the policy names host paths, the agent resolves them
    beneath another root (in a pod: /proc/1/root)."""
    build_openers()
    root = tempfile.mkdtemp(prefix="mwroot-")
    os.chmod(root, 0o755)
    os.makedirs(os.path.join(root, "srv"))
    m = marker()
    secret = os.path.join(root, "srv", "secret")
    with open(secret, "w") as f:
        f.write(m + "\n")
    pol = open_policy()
    pol["profiles"]["default"]["files"] = {"deny": ["/srv/secret"]}
    try:
        with Env(pol, extra=["--host-root", root]) as env:
            pid, rc, out, err = env.tracked(["cat", secret])
            check(m not in out, f"the file under the root was read: {out!r}")
            _, rc, out, _ = env.run(["cat", secret])
            check(m in out, "untracked")
    finally:
        shutil.rmtree(root, ignore_errors=True)


@case("unix/command_runners")
def command_runners():
    """Issue 12 item 4: a tracked server cannot act through a command-running
    daemon of the same user: a real tmux server the user runs (untracked)
    refuses nothing, so its socket is refused to the server by the
    command_runners set (a directory, /tmp/tmux-{uid}, covers every socket
    in it). The proof is the command's own output: run-shell from the
    tracked client leaves no file, from an untracked one it does. A "{uid}"
    path of the policy's own is refused alike."""
    name = f"mwtest-{os.getpid()}"
    tmux = ["tmux", "-L", name]
    env_vars = {k: v for k, v in os.environ.items()
                if k not in ("TMUX", "TMUX_TMPDIR")}
    d = tempfile.mkdtemp(prefix="mwunix-")
    os.mkdir(os.path.join(d, str(os.getuid())))
    bus = os.path.join(d, "{uid}", "bus")
    bus_real = bus.replace("{uid}", str(os.getuid()))
    pol = open_policy()
    pol["profiles"]["default"]["unix"] = {"deny": ["command_runners", bus]}
    started = False
    try:
        with Env(pol) as env:
            # Started after the agent: the directory rule needs no reload.
            r = subprocess.run(tmux + ["new-session", "-d", "-s", "w",
                                       "sleep 600"], env=env_vars,
                               capture_output=True, text=True, timeout=20)
            check(r.returncode == 0, f"tmux new-session: {r.stderr!r}")
            started = True
            sock = f"/tmp/tmux-{os.getuid()}/{name}"
            check(os.path.exists(sock), f"no socket at {sock}")
            out_file = os.path.join(env.tmp, "pwned")
            cmd = tmux + ["run-shell", f"echo ran > {out_file}"]
            pid, rc, out, err = env.tracked(cmd, env=env_vars)
            check(rc != 0 and "Operation not permitted" in err and
                  not os.path.exists(out_file),
                  f"tracked tmux run-shell: rc {rc} {out!r} {err!r}")
            e = env.agent.wait(lambda e: e["type"] == "network_connect" and
                               e["process"]["pid"] != 0 and
                               e["network"]["family"] == "unix" and
                               e["network"].get("path") == sock,
                               what="tmux socket deny")
            check(e["action"] == "deny" and
                  e["rule"] == "profiles.default.unix.deny[0] (command_runners)",
                  f"{e}")
            _, rc, out, err = env.run(cmd, env=env_vars)
            check(rc == 0 and os.path.exists(out_file),
                  f"untracked tmux run-shell: rc {rc} {err!r}")
            # The policy's own "{uid}" path: the bus socket of this user.
            lst = env.spawn([PY, WORKLOAD, "unix-listen", bus_real])
            check("listening" in lst.stdout.readline(), "listener")
            pid, rc, out, err = env.tracked([PY, WORKLOAD, "unix-connect",
                                             bus_real])
            check(out.strip() == "errno EPERM", f"tracked {bus_real}: {out!r} {err!r}")
            _, rc, out, err = env.run([PY, WORKLOAD, "unix-connect", bus_real])
            check(out.strip() == "ok", f"untracked {bus_real}: {out!r}")
    finally:
        if started:
            subprocess.run(tmux + ["kill-server"], env=env_vars,
                           capture_output=True, timeout=20)
        shutil.rmtree(d, ignore_errors=True)


DEEP = """
import os, sys
root, n, name, make = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4] == "make"
fd = os.open(root, os.O_PATH | os.O_DIRECTORY)
for _ in range(n):
    if make:
        os.mkdir(name, dir_fd=fd)
    nfd = os.open(name, os.O_PATH | os.O_DIRECTORY, dir_fd=fd)
    os.close(fd)
    fd = nfd
try:
    if make:
        f = os.open("secret", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(f, b"deep-%d" % n)
    else:
        f = os.open("secret", os.O_RDONLY, dir_fd=fd)
        print(os.read(f, 64).decode())
except OSError as e:
    print("errno", e.errno)
"""


@case("files/deep_and_long_paths_fail_closed")
def deep_and_long():
    """200 levels below a protected directory, and 30 names of 250 bytes
    (7.5 KB: no path string reaches the file, and /proc/self/fd/N cannot
    be read back): a tracked open is refused, never allowed for want of a
    walk; untracked reads it. Opened relative to the parent's fd."""
    d = tempfile.mkdtemp(prefix="mwdeep-")
    prot = os.path.join(d, "prot")
    os.mkdir(prot)
    long = "l" * 250
    try:
        for n, name in ((200, "d"), (30, long)):
            subprocess.run([PY, "-c", DEEP, prot, str(n), name, "make"],
                           check=True, timeout=60)
        pol = {"version": 1, "profiles": {"default": {
            "select": {"detect": ["mcp-server-*"]},
            "files": {"deny": [prot]}}}}
        with Env(pol) as env:
            for n, name in ((200, "d"), (30, long)):
                argv = [PY, "-c", DEEP, prot, str(n), name, "read"]
                _, rc, out, err = env.tracked(argv)
                check(out.strip() in ("errno 1", "errno 13"),
                      f"tracked, {n} levels of {len(name)}-byte names: {out!r} {err[-300:]!r}")
                p = subprocess.run(argv, capture_output=True, text=True,
                                   timeout=60)
                check(p.stdout.strip() == f"deep-{n}",
                      f"untracked, {n} levels: {p.stdout!r}")
    finally:
        shutil.rmtree(d, ignore_errors=True)


def tracked_then_reload(env, argv):
    """Run @argv tracked, then wait for the reload it triggers."""
    mark = env.agent.mark()
    pid, rc, out, err = env.tracked(argv)
    check(rc == 0, f"tracked {argv}: {err}")
    env.agent.wait(lambda e: e["type"] == "policy_load", after=mark,
                   what=f"the reload after {argv}")


def held_paths(pid):
    """What process @pid holds open, by path. An fd the agent closes while
    we list (a fanotify request's, a /proc file it reads for a verdict) is
    not one it holds."""
    fd_dir = f"/proc/{pid}/fd"
    held = set()
    for fd in os.listdir(fd_dir):
        try:
            held.add(os.readlink(os.path.join(fd_dir, fd)))
        except FileNotFoundError:
            pass
    return held


@case("files/renamed_away")
def renamed_away():
    """Issue 12 item 1: a tracked server renames a protected directory and
    a protected file away and waits for the reload the rename triggers:
    the objects stay protected under their new names, and what is made at
    the old paths is protected too."""
    with FileEnv() as env:
        moved_dir, moved_file = env.sdir + "-moved", env.secret + "-moved"
        for src, dst in ((env.sdir, moved_dir), (env.secret, moved_file)):
            tracked_then_reload(env, ["mv", src, dst])
        unread(env, ["cat", os.path.join(moved_dir, "sub", "key")], env.m2,
               rule="files.deny[1]")
        unread(env, ["cat", moved_file], env.m1, rule="files.deny[0]")
        # A new directory and file at the old paths: the rules' paths.
        m3 = marker()
        mark = env.agent.mark()
        os.makedirs(os.path.join(env.sdir, "sub"))
        env.agent.wait(lambda e: e["type"] == "policy_load", after=mark,
                       what="the reload after mkdir")
        with open(os.path.join(env.sdir, "sub", "key"), "w") as f:
            f.write(m3 + "\n")
        unread(env, ["cat", os.path.join(env.sdir, "sub", "key")], m3)
        unread(env, ["cat", os.path.join(moved_dir, "sub", "key")], env.m2)
        # Decoys: directories made at the path and renamed away, 40 times.
        # The first objects keep the rule (the real one among them); the
        # agent holds no more than 32 moved ones for the rule.
        for k in range(40):
            if k:
                tracked_then_reload(env, ["mkdir", env.sdir])
            tracked_then_reload(env, ["mv", env.sdir, f"{env.sdir}-decoy{k}"])
        held = held_paths(env.agent.proc.pid)
        decoys = [p for p in held if "-decoy" in os.path.basename(p)]
        check(len(decoys) < 32, f"the agent holds {len(decoys)} decoy directories: {sorted(decoys)}")
        unread(env, ["cat", os.path.join(moved_dir, "sub", "key")], env.m2)
        # Back at its path and away again: still the first one, kept.
        tracked_then_reload(env, ["mv", moved_dir, env.sdir])
        tracked_then_reload(env, ["mv", env.sdir, moved_dir])
        unread(env, ["cat", os.path.join(moved_dir, "sub", "key")], env.m2)
        mark = env.agent.mark()
        os.makedirs(os.path.join(env.sdir, "sub"))
        env.agent.wait(lambda e: e["type"] == "policy_load", after=mark,
                       what="the reload after the second mkdir")
        # The rule goes: so does the hold on what it covered.
        mark = env.agent.mark()
        pol = json.load(open(env.agent.policy))
        pol["profiles"]["default"]["files"] = {"deny": [env.secret]}
        text = json.dumps(pol)
        digest = hashlib.sha256(text.encode()).hexdigest()
        write_atomic(env.agent.policy, text)
        env.agent.wait(lambda e: e["type"] == "policy_load" and
                       e["policy"]["digest"] == digest, after=mark,
                       what="the reload without the directory rule")
        held = held_paths(env.agent.proc.pid)
        check(not [p for p in held if "secretdir" in p],
              f"the agent holds what no rule covers: {sorted(held)}")


@case("files/renamed_away_while_no_agent")
def renamed_away_while_no_agent():
    """Issue 12 item 1 across a restart: the next agent keeps the objects
    the last one protected (state.json holds them by file handle), both one
    moved while that agent ran and one moved while no agent ran."""
    with FileEnv() as env:
        moved_file = env.secret + "-moved"
        tracked_then_reload(env, ["mv", env.secret, moved_file])
        old = env.agent
        policy = json.load(open(old.policy))
        old.stop(uninstall=False)
        moved_dir = env.sdir + "-moved"
        os.rename(env.sdir, moved_dir)       # no agent now; the guard answers
        env.agent = Agent(policy=policy, cgroup=env.cg, pin=old.pin,
                          state=old.state)
        start = env.agent.find(lambda e: e["type"] == "agent_start")[0]
        check(start["agent"]["adopted"] == "all", f"{start['agent']}")
        unread(env, ["cat", moved_file], env.m1, rule="files.deny[0]")
        unread(env, ["cat", os.path.join(moved_dir, "sub", "key")], env.m2,
               rule="files.deny[1]")


@case("files/replaced_by_rename")
def replaced_by_rename():
    """Issue 12 item 1: an untracked writer replaces the protected file by
    rename 300 times, as editors and MCP clients rewrite their configs,
    while a tracked loop opens it as fast as it can: not one open of any
    version succeeds (its name in its directory is protected, not only
    the inode a reload last saw)."""
    loops = helper("loops")
    with FileEnv() as env:
        stop = os.path.join(env.tmp, "stop-opens")
        loop = env.spawn([BIN, "exec", "--socket", env.agent.sock, "--",
                          loops, "open-until", stop, env.secret])
        srv = env.agent.server_of(loop.pid)
        env.agent.wait(lambda e: e["type"] == "file_open" and
                       e["mcp_server"]["pid"] == srv, what="the first deny")
        tmp = env.secret + ".tmp"
        for k in range(300):
            with open(tmp, "w") as f:
                f.write(f"{env.m1}-{k}\n")
            os.rename(tmp, env.secret)
        with open(stop, "w"):
            pass
        out, err = loop.communicate(timeout=60)
        w = out.split()
        check(len(w) == 6 and w[1] == "0" and int(w[3]) > 0 and w[5] == "0",
              f"tracked open loop across 300 replacements: {out!r} {err!r}")
        unread(env, ["cat", env.secret], env.m1 + "-299")


class LongNameEnv(DirEnv):
    """One protected file whose name (70 bytes) has no name rule: only its
    inode is marked (its directory is not, as in /etc)."""

    def __init__(self):
        build_openers()
        self.fixtures("mwfiles-")
        self.secret = os.path.join(self.d, "s" * 70)
        self.m1 = marker()
        with open(self.secret, "w") as f:
            f.write(self.m1 + "\n")
        pol = open_policy()
        pol["profiles"]["default"]["files"] = {"deny": [self.secret]}
        super().__init__(pol)


@case("files/held_descriptor_of_a_replaced_version")
def held_descriptor():
    """Issue 12 item 1: a tracked server holds an O_PATH descriptor of the
    protected file (no open, no event), waits for an editor to replace it
    by rename, and reopens the old version through /proc/self/fd: the
    deleted version keeps its rule (and mark)."""
    with LongNameEnv() as env:
        p = env.spawn([BIN, "exec", "--socket", env.agent.sock, "--",
                       OPENERS, "procfd-later", env.secret],
                      stdin=subprocess.PIPE)
        check(p.stdout.readline() == "held\n", "the holder did not start")
        mark = env.agent.mark()
        tmp = os.path.join(env.d, "new.tmp")
        with open(tmp, "w") as f:
            f.write(marker() + "\n")
        os.rename(tmp, env.secret)
        env.agent.wait(lambda e: e["type"] == "policy_load", after=mark,
                       what="the reload after the replacement")
        out, err = p.communicate("go\n", timeout=20)
        check(env.m1 not in out and out.strip() in ("errno EPERM", "errno EACCES"),
              f"the reopen of the replaced version: {out!r} {err!r}")
