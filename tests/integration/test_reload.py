# SPDX-License-Identifier: GPL-2.0-only
"""Atomic policy reload on the real kernel (issue 6).

reload/flip_100: a tracked process connects (TCP) and sends (UDP) in a loop
to two loopback ports of listeners this test runs, while the policy file
flips 100 times between two versions that judge the two ports in opposite
ways. Each version names its destination through a set of its own ("lo-a",
"lo-b"), so the `rule` of every event says which version decided, and the
rule ids of the two versions coincide (deny[0] is id 0, allow[0] id 1 in
both), so an event named with the wrong version's names shows. For every
call the test checks, exactly:

  - the call's result (errno) is the event's action (EPERM = deny, 0 = allow);
  - the rule is one of the four explicit rules, never the profile's default
    (set to "audit", which neither version's explicit rules use) nor any
    other name: no call is judged by a missing or half-filled policy;
  - the rule is the one that covers this port in the version it names, and
    its list (deny/allow) is the action;
  - that version was in force while the call ran: the call's [start, end]
    overlaps [the write of that version, the policy_load of the next one];
  - every call has its event, in order, and nothing was lost.

reload/invalid_*: a policy that is valid JSON but semantically wrong leaves
enforcement exactly as it was, and the policy_error event names the file,
the line and the JSON path.
"""
import errno
import hashlib
import json
import os
import socket
import subprocess
import threading
import time

from lib import BIN, PY, Env, Fail, case, check

FLIPS = 100

WORKER = r'''
import errno, os, socket, sys, time
out, stop, p1, p2 = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
ops = [("tcp", p1), ("tcp", p2), ("udp", p1), ("udp", p2)]
rec = []
print("ready", flush=True)
i = 0
while not os.path.exists(stop):
    proto, port = ops[i % 4]
    i += 1
    s = socket.socket(socket.AF_INET,
                      socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
    s.settimeout(3)
    t0 = time.time_ns()
    try:
        if proto == "tcp":
            s.connect(("127.0.0.1", port))
        else:
            s.sendto(b"x", ("127.0.0.1", port))
        err = 0
    except OSError as e:
        err = e.errno or -1
    t1 = time.time_ns()
    s.close()
    rec.append(f"{proto} {port} {err} {t0} {t1}")
    time.sleep(0.0003)
with open(out, "w") as f:
    f.write("\n".join(rec) + "\n")
print("done", len(rec), flush=True)
'''


class Listeners:
    """TCP and UDP on two free loopback ports, accepting until closed."""

    def __init__(self):
        self.socks = []
        self.ports = []
        for _ in range(2):
            t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            t.bind(("127.0.0.1", 0))
            port = t.getsockname()[1]
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.bind(("127.0.0.1", port))
            t.listen(4096)
            t.settimeout(0.2)
            self.socks += [t, u]
            self.ports.append(port)
        self.stop = False
        self.threads = [threading.Thread(target=self.accept, args=(s,),
                                         daemon=True)
                        for s in self.socks if s.type == socket.SOCK_STREAM]
        for th in self.threads:
            th.start()

    def accept(self, s):
        while not self.stop:
            try:
                s.accept()[0].close()
            except (socket.timeout, OSError):
                pass

    def close(self):
        self.stop = True
        for th in self.threads:
            th.join()
        for s in self.socks:
            s.close()


def version(tag, deny_port, allow_port):
    """One policy version: its own set name, the two ports judged."""
    return {
        "version": 1,
        "sets": {f"lo-{tag}": ["127.0.0.1"]},
        "profiles": {"default": {"network": {
            "default": "audit",
            "deny": [{"to": f"lo-{tag}", "ports": [deny_port]}],
            "allow": [{"to": f"lo-{tag}", "ports": [allow_port]}],
        }}},
    }


def text_of(pol):
    return json.dumps(pol, indent="\t") + "\n"


def write_atomic(path, text):
    """The agent must never see a half-written file: write, then rename."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, path)


def wait_load(agent, n_before, digest, timeout=10):
    """Wait for the (n_before+1)-th policy_load; poll fast for a tight time."""
    deadline = time.time() + timeout
    n_err = len([e for e in agent.events if e["type"] == "policy_error"])
    while True:
        agent.read()
        loads = [e for e in agent.events if e["type"] == "policy_load"]
        errs = [e for e in agent.events if e["type"] == "policy_error"]
        if len(errs) > n_err:
            raise Fail(f"unexpected policy_error: {errs[n_err]['error']}")
        if len(loads) > n_before:
            t = time.time_ns()
            got = loads[n_before]["policy"]["digest"]
            check(got == digest, f"policy_load digest {got}, wrote {digest}")
            check(len(loads) == n_before + 1,
                  f"{len(loads) - n_before} policy_load events for one write")
            return t
        if agent.proc.poll() is not None:
            raise Fail(f"agent exited: {agent.stderr()[-800:]}")
        if time.time() > deadline:
            raise Fail(f"no policy_load within {timeout}s")
        time.sleep(0.001)


def status(agent):
    p = subprocess.run([BIN, "status", "--socket", agent.sock],
                       capture_output=True, text=True, timeout=10)
    return json.loads(p.stdout)


RULES = {}
for _tag in "ab":
    for _lst in ("deny", "allow"):
        RULES[f"profiles.default.network.{_lst}[0] (lo-{_tag})"] = (_tag, _lst)
FLIP = {}       # the experiment's data, shared by the two reload/flip cases


def flip_experiment():
    """Run the 100 flips once; both flip cases check its record."""
    if FLIP:
        return FLIP
    lis = Listeners()
    p1, p2 = lis.ports
    # A denies p1 and allows p2; B the reverse.
    vers = {"a": version("a", p1, p2), "b": version("b", p2, p1)}
    texts = {k: text_of(v) for k, v in vers.items()}
    digests = {k: hashlib.sha256(t.encode()).hexdigest()
               for k, t in texts.items()}
    try:
        # One event per call, to pair each with its verdict: no aggregation.
        with Env(texts["a"], extra=["--ring-buffer", "16M",
                                    "--aggregate-window", "0"]) as env:
            a = env.agent
            t_start = time.time_ns()
            worker = env.script("reload-worker.py", WORKER)
            out = os.path.join(env.tmp, "calls.txt")
            stop = os.path.join(env.tmp, "stop")
            w = env.spawn([BIN, "exec", "--socket", a.sock, "--", PY, worker,
                           out, stop, str(p1), str(p2)])
            line = w.stdout.readline()
            check(line.strip() == "ready", f"worker: {line!r}")
            wpid = a.server_of(w.pid)
            time.sleep(0.2)     # some calls under the first version
            # flips[k] = (version, written at, its policy_load seen at)
            flips = [("a", 0, t_start)]
            cur = "a"
            for _ in range(FLIPS):
                cur = "b" if cur == "a" else "a"
                n = len(a.find(lambda e: e["type"] == "policy_load"))
                t_w = time.time_ns()
                write_atomic(a.policy, texts[cur])
                t_l = wait_load(a, n, digests[cur])
                flips.append((cur, t_w, t_l))
                time.sleep(0.01)    # calls under this version alone
            time.sleep(0.2)
            with open(stop, "w"):
                pass
            try:
                wout, werr = w.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                raise Fail("worker did not stop")
            check(w.returncode == 0 and wout.startswith("done"),
                  f"worker rc {w.returncode}: {wout} {werr}")
            with open(out) as f:
                calls = [ln.split() for ln in f.read().split("\n") if ln]
            a.barrier()
            lost = a.find(lambda e: e["type"] == "events_lost")
            check(not lost, f"events lost: {lost[:2]}")
            evs = a.find(lambda e: e["type"] in ("network_connect",
                                                 "network_send") and
                         e["process"]["pid"] == wpid)
            check(len(evs) == len(calls),
                  f"{len(calls)} calls, {len(evs)} events: a call without "
                  "its verdict event")
            check(all(e["mcp_server"]["pid"] == wpid for e in evs),
                  "tracking kept across reloads")
    finally:
        lis.close()
    expect = {("a", p1): "deny", ("a", p2): "allow",
              ("b", p1): "allow", ("b", p2): "deny"}
    FLIP.update(calls=[(c[0], int(c[1]), int(c[2]), int(c[3]), int(c[4]))
                       for c in calls],
                evs=evs, flips=flips, expect=expect)
    return FLIP


def in_force(d, t0, t1):
    """The versions in force at some moment of [t0, t1], and whether the
    call overlapped a switch (write .. policy_load)."""
    flips, out, switching = d["flips"], set(), False
    for k, (v, t_w, t_l) in enumerate(flips):
        # The last version stays in force until the end.
        t_next = flips[k + 1][2] if k + 1 < len(flips) else float("inf")
        if t0 <= t_next and t1 >= t_w:
            out.add(v)
            switching |= k > 0 and t0 <= t_l
    return out, switching


@case("reload/flip_100_verdicts")
def flip_verdicts():
    """The kernel's verdicts: every call decided by an explicit rule of a
    version in force during the call, and the errno is that verdict."""
    d = flip_experiment()
    bad, seen, switching = [], {}, 0
    for i, ((proto, port, err, t0, t1), e) in enumerate(zip(d["calls"], d["evs"])):
        etype = "network_connect" if proto == "tcp" else "network_send"
        versions, sw = in_force(d, t0, t1)
        switching += sw
        verdicts = {d["expect"][(v, port)] for v in versions}
        why = None
        if e["type"] != etype or e["network"]["dport"] != port:
            why = f"event {e['type']}:{e['network']['dport']}"
        elif e["action"] not in ("deny", "allow"):
            why = (f"action {e['action']} ({e.get('rule')}): judged by the "
                   "profile's default, i.e. by a missing or half policy")
        elif err != (errno.EPERM if e["action"] == "deny" else 0):
            why = f"errno {errno.errorcode.get(err, err)}, action {e['action']}"
        elif e["action"] not in verdicts:
            why = (f"{e['action']}, but the versions in force during the "
                   f"call ({sorted(versions)}) say {sorted(verdicts)}")
        if why:
            bad.append(f"call {i} ({proto} {port}): {why}")
            continue
        for v in versions:
            if d["expect"][(v, port)] == e["action"]:
                seen[(v, port, proto)] = seen.get((v, port, proto), 0) + 1
    check(not bad, f"{len(bad)} of {len(d['calls'])} calls misjudged: " +
          "; ".join(bad[:5]))
    check(len(seen) == 8, f"not every (version, port, protocol) exercised: {seen}")
    # Each verdict names its version exactly (A denies p1 and allows p2, B
    # the reverse). In call order the versions must switch exactly once per
    # flip: A..A B..B A..A, 101 runs. A call judged by the old version after
    # one judged by the new (a switch in several steps) adds runs.
    seq = []
    for (proto, port, err, t0, t1), e in zip(d["calls"], d["evs"]):
        seq.append(next(v for v in "ab" if d["expect"][(v, port)] == e["action"]))
    runs = 1 + sum(1 for i in range(1, len(seq)) if seq[i] != seq[i - 1])
    check(seq[0] == "a" and runs == FLIPS + 1,
          f"{runs} runs of one version in call order, want {FLIPS + 1}: "
          "a switch was not one step (or a flip saw no call)")
    check(len(d["calls"]) > 4 * FLIPS,
          f"only {len(d['calls'])} calls for {FLIPS} flips")
    print(f"    {len(d['calls'])} calls over {FLIPS} flips, {switching} "
          "during a switch", flush=True)


@case("reload/flip_100_rule_names")
def flip_rule_names():
    """The events' rule names: each names the rule of the version that
    decided, never one of the other version (ids coincide) or a default."""
    d = flip_experiment()
    bad = []
    for i, ((proto, port, err, t0, t1), e) in enumerate(zip(d["calls"], d["evs"])):
        rule = e.get("rule")
        versions, sw = in_force(d, t0, t1)
        if rule not in RULES:
            bad.append(f"call {i}: rule {rule!r} is from neither version")
            continue
        tag, lst = RULES[rule]
        if e["action"] != lst:
            why = f"action {e['action']} but rule {rule}"
        elif d["expect"][(tag, port)] != lst:
            other = "b" if tag == "a" else "a"
            why = (f"{rule} does not cover port {port} in version {tag}; "
                   f"{lst}[0] of version {other} does"
                   f"{' (call overlapped a switch)' if sw else ''}: the "
                   "kernel judged by one version, the agent named the rule "
                   "from the other")
        elif tag not in versions:
            why = f"version {tag} was not in force during the call"
        else:
            continue
        bad.append(f"call {i} ({proto} {port}): {why}")
    check(not bad, f"{len(bad)} of {len(d['calls'])} events name the wrong "
          "rule: " + "; ".join(bad[:3]))


def one_call(env, proto, port):
    """A fresh tracked process: one TCP connect or UDP send; errno name."""
    code = ("import socket,sys\n"
            "s=socket.socket(socket.AF_INET,socket.SOCK_STREAM if sys.argv[1]=='tcp' else socket.SOCK_DGRAM)\n"
            "s.settimeout(3)\n"
            "try:\n"
            " (s.connect if sys.argv[1]=='tcp' else (lambda a: s.sendto(b'x',a)))(('127.0.0.1',int(sys.argv[2])))\n"
            " print('ok')\n"
            "except OSError as e:\n"
            " import errno; print('errno', errno.errorcode.get(e.errno, e.errno))\n")
    pid, rc, out, err = env.tracked([PY, "-c", code, proto, str(port)])
    check(rc == 0, f"one_call {proto} {port}: rc {rc} {err}")
    return pid, out.strip()


def enforcement(env, p1, p2):
    """What the running policy does to p1 and p2, with the deciding rules."""
    got = []
    for proto in ("tcp", "udp"):
        for port in (p1, p2):
            pid, res = one_call(env, proto, port)
            et = "network_connect" if proto == "tcp" else "network_send"
            e = env.agent.wait(lambda e: e["type"] == et and
                               e["process"]["pid"] == pid,
                               what=f"{et} of {pid}")
            got.append((proto, port, res, e["action"], e["rule"]))
    return got


# Valid JSON, invalid policy: each with the line and path the error must name.
INVALID = [
    ("port_70000", lambda p1, p2: {
        "version": 1, "sets": {"lo-c": ["127.0.0.1"]},
        "profiles": {"default": {"network": {
            "default": "allow",
            "deny": [{"to": "lo-c", "ports": [p2, 70000]}]}}}},
     "profiles.default.network.deny[0].ports[1]: 70000 is not a port (1..65535)",
     "70000"),
    ("too_many_port_rules", lambda p1, p2: {
        "version": 1,
        "profiles": {"default": {"network": {
            "deny": [{"to": "127.0.0.1", "ports": [p2]}] +
                    [{"to": "127.0.0.1", "ports": [1000 + i]} for i in range(8)]}}}},
     "profiles.default.network.deny[8]: more than 8 port rules for 127.0.0.1/32 in one profile",
     lambda text: line_of(text, "1007") - 3),   # the "{" of deny[8]
    ("unknown_syscall", lambda p1, p2: {
        "version": 1,
        "profiles": {"default": {
            "network": {"deny": ["loopback"]},
            "syscalls": {"deny": ["ptrace", "no_such_call"]}}}},
     'profiles.default.syscalls.deny[1]: "no_such_call" is not a system call name',
     '"no_such_call"'),
    ("relative_file_path", lambda p1, p2: {
        "version": 1,
        "profiles": {"default": {
            "network": {"deny": ["loopback"]},
            "files": {"deny": ["etc/shadow"]}}}},
     'profiles.default.files.deny[0]: "etc/shadow" is not an absolute path, a ~/path or the path set "secrets"',
     '"etc/shadow"'),
]


def line_of(text, needle):
    return text.count("\n", 0, text.index(needle)) + 1


@case("reload/invalid_semantic_error_changes_nothing")
def invalid_reload():
    lis = Listeners()
    p1, p2 = lis.ports
    good = text_of(version("a", p1, p2))
    digest = hashlib.sha256(good.encode()).hexdigest()
    try:
        with Env(good) as env:
            a = env.agent
            sleeper = env.spawn([BIN, "exec", "--socket", a.sock, "--", PY,
                                 "-c", "import time; time.sleep(60)"])
            a.wait(lambda e: e["type"] == "process_exec" and
                   e["process"]["ppid"] == sleeper.pid, what="sleeper exec")
            before = enforcement(env, p1, p2)
            want = [("tcp", p1, "errno EPERM", "deny",
                     "profiles.default.network.deny[0] (lo-a)"),
                    ("tcp", p2, "ok", "allow",
                     "profiles.default.network.allow[0] (lo-a)"),
                    ("udp", p1, "errno EPERM", "deny",
                     "profiles.default.network.deny[0] (lo-a)"),
                    ("udp", p2, "ok", "allow",
                     "profiles.default.network.allow[0] (lo-a)")]
            check(before == want, f"before: {before}")
            st0 = status(a)
            for name, make, msg, needle in INVALID:
                text = text_of(make(p1, p2))
                line = needle(text) if callable(needle) else line_of(text, needle)
                n = len(a.find(lambda e: e["type"] == "policy_error"))
                nl = len(a.find(lambda e: e["type"] == "policy_load"))
                write_atomic(a.policy, text)
                e = a.wait(lambda e: e["type"] == "policy_error" and
                           len(a.find(lambda x: x["type"] == "policy_error")) > n,
                           what=f"policy_error for {name}")
                e = a.find(lambda e: e["type"] == "policy_error")[n]
                check(e["error"] == f"{a.policy}:{line}: {msg}",
                      f"{name}: error {e['error']!r}, want "
                      f"{a.policy}:{line}: {msg}")
                check(e["policy"]["digest"] == digest,
                      f"{name}: policy_error names the policy in force: {e['policy']}")
                a.barrier()
                check(len(a.find(lambda e: e["type"] == "policy_load")) == nl,
                      f"{name}: a policy_load after an invalid policy")
                after = enforcement(env, p1, p2)
                check(after == want, f"{name}: enforcement changed: {after}")
                st = status(a)
                check(st.get("generation") == st0.get("generation"),
                      f"{name}: generation {st.get('generation')} != {st0.get('generation')}")
                check(st.get("tracked", 0) >= 1, f"{name}: tracking lost: {st}")
                pstat = st.get("policy") or {}
                if isinstance(pstat, dict) and "digest" in pstat:
                    check(pstat["digest"] == digest, f"{name}: status policy {pstat}")
            # A valid reload after all that still works.
            n = len(a.find(lambda e: e["type"] == "policy_load"))
            b = text_of(version("b", p2, p1))
            write_atomic(a.policy, b)
            wait_load(a, n, hashlib.sha256(b.encode()).hexdigest())
            after = enforcement(env, p1, p2)
            check([x[2] for x in after] == ["ok", "errno EPERM"] * 2,
                  f"valid reload after the invalid ones: {after}")
            sleeper.kill()
    finally:
        lis.close()
