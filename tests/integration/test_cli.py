# SPDX-License-Identifier: GPL-2.0-only
"""The command line: every bad flag gets one clear line and a non-zero exit;
the subcommands that need no agent work."""
import json
import os
import subprocess
import tempfile

from lib import BIN, Cgroup, case, check


def mw(*args, timeout=30):
    return subprocess.run([BIN] + list(args), capture_output=True, text=True,
                          timeout=timeout)


def one_line_error(p, rc, *needles):
    lines = p.stderr.strip().splitlines()
    check(p.returncode == rc, f"{p.args}: exit {p.returncode}, wanted {rc}: {p.stderr}")
    check(len(lines) == 1, f"{p.args}: {len(lines)} lines of error: {p.stderr}")
    for n in needles:
        check(n in lines[0], f"{p.args}: {n!r} not in {lines[0]!r}")
    check(p.stdout == "", f"{p.args}: stdout carries JSON only: {p.stdout!r}")


@case("cli/bad_flags")
def bad_flags():
    one_line_error(mw("run", "--backend", "foo"), 2, '--backend "foo"', "auto, lsm, fallback")
    one_line_error(mw("run", "--bogus"), 2, "unknown option '--bogus'")
    one_line_error(mw("run", "--policy"), 2, "'--policy' needs a value")
    one_line_error(mw("run", "extra"), 2, 'unexpected argument "extra"')
    one_line_error(mw("run", "--ring-buffer", "1000"), 2, "--ring-buffer")
    for bad in ("10", "5x", "-1s", "61m", "s", ""):
        one_line_error(mw("run", "--aggregate-window", bad), 2,
                       f'--aggregate-window "{bad}"', "0 (off)")
    one_line_error(mw("run", "--pin-dir", "rel"), 2, "absolute")
    one_line_error(mw("exec"), 125, "no command given")
    one_line_error(mw("exec", "--profile"), 125, "needs a value")
    one_line_error(mw("status", "--nope"), 2, "unknown option")
    one_line_error(mw("policy"), 2, "missing subcommand")
    one_line_error(mw("policy", "check"), 2, "missing FILE")
    one_line_error(mw("frobnicate"), 2, 'unknown command "frobnicate"')
    p = mw()
    check(p.returncode == 2 and "usage:" in p.stderr, "no command: usage")


@case("cli/run_refuses_bad_setup")
def run_refuses():
    with tempfile.TemporaryDirectory() as d:
        bad = os.path.join(d, "bad.json")
        with open(bad, "w") as f:
            f.write('{"version": 1, "profiles": {"x": {"mode": "enforcing"}}}')
        p = mw("run", "--policy", bad, "--socket", d + "/s", "--pin-dir", "/sys/fs/bpf/mwtest-x")
        one_line_error(p, 1, bad, "profiles.x.mode", "enforcing")
        one_line_error(mw("run", "--cgroup", d, "--socket", d + "/s"), 1,
                       f'--cgroup "{d}"', "not a cgroup v2 directory")
        cg = Cgroup()
        try:
            one_line_error(mw("run", "--cgroup", cg.path, "--socket", d + "/s",
                              "--output", "/nonexistent/dir/x.jsonl"), 1,
                           '--output "/nonexistent/dir/x.jsonl"', "No such file")
        finally:
            cg.remove()


@case("cli/backend_lsm")
def backend_lsm():
    feats = json.loads(mw("features").stdout)
    cg = Cgroup()
    try:
        with tempfile.TemporaryDirectory() as d:
            if not feats["probes"]["bpf_lsm"]["available"]:
                p = mw("run", "--backend", "lsm", "--cgroup", cg.path,
                       "--socket", d + "/s", "--pin-dir", "/sys/fs/bpf/mwtest-l")
                one_line_error(p, 1, "--backend lsm", "CONFIG_BPF_LSM", "lsm=")
            else:
                check(False, "this kernel has BPF-LSM: the exec fence must use it")
    finally:
        cg.remove()


@case("cli/features")
def features():
    p = mw("features")
    check(p.returncode == 0, p.stderr)
    f = json.loads(p.stdout)
    pr = f["probes"]
    check(f["kernel"] == os.uname().release, "kernel")
    for k in ("raw_tracepoint", "cgroup_sock_addr", "cgroup_sock_create",
              "ringbuf", "bpf_loop", "fanotify_permission"):
        check(pr[k]["available"], f"{k} must be available on this kernel: {pr[k]}")
    # ENVIRONMENT.md: BPF-LSM programs fail to load here with EPERM.
    check(pr["bpf_lsm"]["available"] is False and "error" in pr["bpf_lsm"],
          f"bpf_lsm {pr['bpf_lsm']}")
    check(pr["landlock_abi"] >= 1, "landlock")
    check(f["hooks"]["network_connect"]["mechanism"] == "cgroup/connect4+connect6",
          f"{f['hooks']['network_connect']}")


@case("cli/policy_default_and_check")
def policy_cmds():
    p = mw("policy", "default")
    check(p.returncode == 0, p.stderr)
    pol = json.loads(p.stdout)
    check(pol["version"] == 1 and "default" in pol["profiles"], "default policy")
    with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
        f.write(p.stdout)
        f.flush()
        c = mw("policy", "check", f.name)
        check(c.returncode == 0 and ": ok:" in c.stdout, f"{c.stdout} {c.stderr}")
    with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
        f.write('{"version": 1, "profiles": {"a": {"network": {"deny": ["10.0.0.0/33"]}}}}')
        f.flush()
        one_line_error(mw("policy", "check", f.name), 1,
                       "profiles.a.network.deny[0]", "10.0.0.0/33")


@case("cli/status_without_agent")
def status_no_agent():
    one_line_error(mw("status", "--socket", "/nonexistent/x.sock"), 1,
                   "cannot reach the agent")
