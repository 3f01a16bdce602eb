# SPDX-License-Identifier: GPL-2.0-only
"""The event pipeline: identical decisions aggregated in the kernel and
counted exactly, verdicts never lost to a flood of routine events, a full
aggregation map degrading to an event per decision. Real connects and
sends of a tracked process to loopback (the policy denies 127.0.0.0/8)."""
import json
import os
import signal
import subprocess

from lib import BIN, Env, check, case, helper, open_policy

FLOOD = None


def flood():
    global FLOOD
    if FLOOD is None:
        FLOOD = helper("flood")
    return FLOOD


def counts(out):
    """'done N ok O eperm P other X' -> dict."""
    w = out.split()
    return {w[i]: int(w[i + 1]) for i in range(0, len(w) - 1, 2)}


def decisions(events, pid, typ="network_connect", action=None):
    """The decisions @pid's events of @typ stand for: the sum of counts."""
    return sum(e.get("count", 1) for e in events
               if e["type"] == typ and e["process"]["pid"] == pid and
               (action is None or e.get("action") == action))


def lost(events, reason=None):
    return sum(e["lost"]["count"] for e in events
               if e["type"] == "events_lost" and
               (reason is None or e["lost"]["reason"] == reason))


def run_flood(env, name, *args, timeout=120):
    # Tracked by the wrapper, under a name no detection pattern matches:
    # another test's agent (a shared fixture) may still run, with the
    # built-in policy that refuses an exec under /tmp to what it detects.
    pid, rc, out, err = env.tracked([flood()] + list(args), timeout=timeout)
    check(rc == 0 and out.startswith("done"), f"flood {name} {args}: {rc} {out} {err}")
    return pid, counts(out)


def summaries(events, pid):
    return [e for e in events if e["process"]["pid"] == pid and
            "first_time" in e]


@case("pipeline/identical_denies_counted_exactly")
def identical():
    n = 50000
    with Env(open_policy(deny=["loopback"]),
             extra=["--aggregate-window", "1s"]) as env:
        pid, c = run_flood(env, "same", "connect", "127.0.0.1", "9", str(n))
        check(c["eperm"] == n, f"every connect refused: {c}")
        a = env.agent
        # The window closes a second after the first; the sweep writes it.
        a.until(lambda: decisions(a.events, pid) >= n, timeout=15,
                what=f"counts summing to {n}")
        a.barrier()
        got = decisions(a.events, pid)
        evs = [e for e in a.events if e["type"] == "network_connect" and
               e["process"]["pid"] == pid]
        check(got == n, f"counts sum to {got}, not {n}")
        check(lost(a.events) == 0, f"events lost: {lost(a.events)}")
        check(len(evs) < 200, f"{len(evs)} events for one repeated decision")
        first = evs[0]
        check(first["count"] == 1 and "first_time" not in first,
              f"the first is written at once, alone: {first}")
        s = summaries(evs, pid)
        check(s, "a summary")
        for e in s:
            check(e["first_time"] <= e["last_time"] == e["time"] and
                  e["count"] >= 1, f"summary times and count: {e}")
            check(e["network"]["daddr"] == "127.0.0.1" and
                  e["network"]["dport"] == 9 and e["action"] == "deny" and
                  e["rule"] == first["rule"] and
                  e["mcp_server"] == first["mcp_server"],
                  f"a summary names the decision: {e}")
        st = a.barrier()
        check(st["aggregation"]["window_ms"] == 1000, f"{st['aggregation']}")


@case("pipeline/stop_drains_the_counts")
def stop_drains():
    # The default window (10 s) is still open when the agent stops: the
    # stop writes what it counted, nothing waits for the window.
    n = 20000
    env = Env(open_policy(deny=["loopback"]))
    try:
        pid, c = run_flood(env, "drain", "connect", "127.0.0.1", "9", str(n))
        check(c["eperm"] == n, f"{c}")
        env.agent.stop()
        got = decisions(env.agent.events, pid)
        check(got == n, f"after the stop, counts sum to {got}, not {n}")
        check(lost(env.agent.events) == 0, "nothing lost")
    finally:
        env.close()


@case("pipeline/verdict_survives_a_routine_flood")
def verdict_first():
    # A stalled agent, a small ring and 100 000 allowed sends to distinct
    # ports: routine events fill three quarters of the ring and the rest is
    # dropped, counted; the one deny among them is delivered.
    n = 100000
    with Env(open_policy(deny=["127.0.0.2/32"]),
             extra=["--ring-buffer", "1M"]) as env:
        a = env.agent
        # Tracked while the agent runs; the flood starts once it is stopped.
        p = env.spawn([BIN, "exec", "--socket", a.sock, "--", "/bin/sh", "-c",
                       f"read go && exec {flood()} send-deny 127.0.0.1 1 {n} "
                       "127.0.0.2 9"], stdin=subprocess.PIPE)
        pid = a.server_of(p.pid)
        a.wait(lambda e: e["type"] == "process_exec" and
               e["process"]["pid"] == pid, what="the tracked shell")
        os.kill(a.proc.pid, signal.SIGSTOP)
        try:
            p.stdin.write("go\n")
            p.stdin.close()
            p.wait(timeout=120)
        finally:
            # The agent holds a copy of the server's stderr until it sees
            # the exit (notice.c): its output ends only once it runs.
            os.kill(a.proc.pid, signal.SIGCONT)
        out, err = p.stdout.read(), p.stderr.read()
        check(p.returncode == 0 and out.startswith("done"),
              f"flood: {p.returncode} {out} {err}")
        c = counts(out)
        check(c["ok"] == n and c["deny"] == 1, f"sends and the deny: {c}")  # EPERM
        d = a.wait(lambda e: e["type"] == "network_connect" and
                   e["process"]["pid"] == pid and e["action"] == "deny",
                   timeout=10, what="the deny")
        check(d["network"]["daddr"] == "127.0.0.2", f"{d}")
        a.wait(lambda e: e["type"] == "events_lost" and
               e["lost"]["reason"] == "ring_buffer_routine", timeout=5,
               what="routine losses reported")
        # Ports wrap past 65535: repeats, counted; the stop writes them.
        a.stop()
        sent = decisions(a.events, pid, "network_send")
        dropped = lost(a.events, "ring_buffer_routine")
        check(lost(a.events, "ring_buffer_full") == 0,
              "no verdict lost (ring_buffer_full)")
        check(sent < n, f"{sent} sends delivered: the ring did not fill")
        # Every send delivered or counted; exec and exit are routine too.
        check(n <= sent + dropped <= n + 3,
              f"delivered {sent} + dropped {dropped} for {n} sends")


@case("pipeline/full_map_degrades_to_events")
def full_map():
    n = 20000
    with Env(open_policy(deny=["loopback"])) as env:
        a = env.agent
        pid, c = run_flood(env, "distinct", "connect-distinct", "127.0.0.1",
                           str(n))
        check(c["eperm"] == n, f"{c}")
        st = a.barrier()
        agg = st["aggregation"]
        check(agg["max_entries"] < n, f"the map is smaller than {n}: {agg}")
        # Past the map's capacity each decision is an event, counted so.
        check(agg["full"] >= n - agg["max_entries"], f"{agg}")
        # Another server, while the map is full of the first's decisions:
        # each of its decisions is an event too.
        pid2, c = run_flood(env, "distinct2", "connect-distinct",
                            "127.0.0.1", str(n))
        st = a.barrier()
        a.stop()
        ev = a.events
        check(decisions(ev, pid) == n, f"first run: {decisions(ev, pid)}")
        check(decisions(ev, pid2) == n, f"second run: {decisions(ev, pid2)}")
        check(lost(ev) == 0, f"lost {lost(ev)}")
        singles = [e for e in ev if e["type"] == "network_connect" and
                   e["process"]["pid"] == pid and e["count"] == 1]
        check(len(singles) == n, f"{len(singles)} events for {n} distinct")


# enum mw_bell: who may ring the agent awake (mw_consumer).
BELL_NONE, BELL_VERDICT, BELL_ANY = 0, 1, 2


def consumer_bell(agent):
    """mw_consumer's word: which record rings the agent (enum mw_bell)."""
    p = subprocess.run(["bpftool", "-j", "map", "lookup", "pinned",
                        agent.pin + "/mw_consumer", "key", "0", "0", "0", "0"],
                       capture_output=True, text=True)
    check(p.returncode == 0, f"bpftool: {p.stderr}")
    v = json.loads(p.stdout)
    f = v.get("formatted", v)["value"]
    return f["bell"] if isinstance(f, dict) else int(f[0], 16)


def set_consumer_bell(agent, bell):
    p = subprocess.run(["bpftool", "map", "update", "pinned",
                        agent.pin + "/mw_consumer", "key", "0", "0", "0", "0",
                        "value", str(bell)] + ["0"] * 7,
                       capture_output=True, text=True)
    check(p.returncode == 0, f"bpftool: {p.stderr}")


def consumer_asleep(agent):
    """The agent sleeps on an empty ring (no tick): any record rings it."""
    return consumer_bell(agent) == BELL_ANY


@case("pipeline/idle_agent_sleeps_and_a_routine_record_wakes_it")
def idle_sleeps():
    """A tick that finds the ring empty puts the agent to sleep (said in
    mw_consumer, no 100 ms tick); a routine record (an exec, an exit: no
    verdict, no wake-up of its own) rings it awake and is written; then it
    sleeps again. status, meanwhile, neither loses nor wakes anything."""
    with Env(open_policy(deny=["loopback"])) as env:
        a = env.agent
        a.until(lambda: consumer_asleep(a), what="the agent asleep")
        a.barrier()
        check(consumer_asleep(a), "status woke the agent for good")
        mark = a.mark()
        pid, rc, out, err = env.tracked(["/bin/true"])
        check(rc == 0, f"true: {rc} {err}")
        a.wait(lambda e: e["type"] == "process_exit" and
               e["process"]["pid"] == pid, after=mark,
               what="the exit of a tracked process, routine")
        a.until(lambda: consumer_asleep(a), what="the agent asleep again")


@case("pipeline/a_verdict_rings_the_ticking_agent_a_routine_record_does_not")
def verdict_bell():
    """On its tick the agent reads routine records every 100 ms, and the
    kernel wakes a reader only for the record that finds it caught up: a
    verdict behind unread routine records (an exec, then its denied
    connect) rings the bell instead. The agent is stopped meanwhile, so
    that the bell the test sets stays as the hooks leave it."""
    with Env(open_policy(deny=["loopback"])) as env:
        a = env.agent
        go, done = (os.path.join(env.tmp, f) for f in ("go", "done"))
        for f in (go, done):
            os.mkfifo(f)
        # No exec after the agent stops but /bin/true's: the denied
        # connect is bash's own (/dev/tcp). Named so that no detection
        # pattern matches.
        srv = env.script("bell-workload", f"""#!/bin/bash
read x < {go}
/bin/true
echo exec > {done}
read x < {go}
(exec 3<>/dev/tcp/127.0.0.1/9) 2>/dev/null
echo "connect $?"
""")
        mark = a.mark()
        w = env.spawn([BIN, "exec", "--socket", a.sock, "--", srv])
        a.server_of(w.pid, after=mark)
        os.kill(a.proc.pid, signal.SIGSTOP)
        try:
            set_consumer_bell(a, BELL_VERDICT)
            with open(go, "w") as f:
                f.write("1\n")
            with open(done) as f:
                check(f.read().strip() == "exec", "the exec ran")
            check(consumer_bell(a) == BELL_VERDICT,
                  "a routine record (exec, exit) took the tick's bell")
            with open(go, "w") as f:
                f.write("2\n")
            # Not communicate(): the stopped agent holds the wrapper's
            # stderr, to tell the client of a refusal (daemon/notice.c).
            w.wait(timeout=20)
            out = w.stdout.read()
            check(w.returncode == 0 and out.strip() == "connect 1",
                  f"the connect: rc {w.returncode}, {out!r}")
            check(consumer_bell(a) == BELL_NONE,
                  "the denied connect did not ring the bell")
        finally:
            os.kill(a.proc.pid, signal.SIGCONT)
        a.wait(lambda e: e["type"] == "network_connect" and
               e.get("action") == "deny" and e["network"]["dport"] == 9,
               after=mark, what="the deny")


@case("pipeline/a_routine_trickle_rings_only_a_sleeping_agent")
def routine_trickle():
    """Execs one after another, no verdict: their records never wake the
    agent on its tick; only a sleeping agent (an empty ring for a whole
    tick) is rung, once per sleep. A count, whatever the machine's speed:
    a loop woken at each record it finds (the ring level-triggered) wakes
    about once per exec."""
    n = 300
    with Env(open_policy(deny=["loopback"])) as env:
        a = env.agent
        # Asleep: the first record rings it, then it ticks.
        a.until(lambda: consumer_asleep(a), what="the agent asleep")
        st0 = a.barrier()["loop"]
        pid, c = run_flood(env, "exec", "exec", str(n))
        check(c["ok"] == n, f"{c}")
        a.until(lambda: len([e for e in a.events
                             if e["type"] == "process_exit" and
                             e["process"]["ppid"] == pid]) >= n,
                timeout=30, what=f"{n} exits")
        st1 = a.barrier()["loop"]
        wakes = st1["ring_wakeups"] - st0["ring_wakeups"]
        sleeps = st1["sleeps"] - st0["sleeps"]
        verdicts = len([e for e in a.events if e.get("action") not in
                        (None, "allow")])
        check(wakes <= sleeps + verdicts + 1,
              f"{wakes} ring wake-ups for {sleeps} sleeps and {verdicts} verdicts ({n} execs)")
