# SPDX-License-Identifier: GPL-2.0-only
"""Which tool call did it (issue 15): the official SDK's client drives a
server of the SDK that misbehaves inside its tools (tests/mcp/
injected-server.mjs) through the wrapper; every deny the kernel makes
names, in the event, the call in flight at the time of the decision: its
id as the client sent it, the tool, the client's name and the sha256 of
the arguments as sent. Two calls in flight are said to be ambiguous; a
connect from the server's own timer between calls is idle."""
import hashlib
import json
import os
import threading

from lib import Agent, case, check, open_policy
from test_mcp import MCP, NODE, McpEnv, iso_ns

SERVER = os.path.join(MCP, "injected-server.mjs")
# A python that connects to argv[1] port 9 and prints why it could not.
CONNECT = ("import socket, sys\n"
           "s = socket.socket()\n"
           "try:\n"
           "    s.connect((sys.argv[1], 9))\n"
           "except OSError as e:\n"
           "    print(e.strerror)\n")


def policy(env):
    p = open_policy(deny=["loopback"])
    p["profiles"]["default"]["files"] = {"deny": [env.key]}
    return p


def args_sha(arguments):
    """The digest of the arguments as the SDK sends them (JSON.stringify)."""
    text = json.dumps(arguments, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def denies(env, mark, typ):
    env.agent.barrier()
    return [e for e in env.agent.events[mark:]
            if e["type"] == typ and e.get("action") == "deny" and "mcp" in e]


def session(menv, calls, **kw):
    """The SDK client's session with the server wrapped, making @calls:
    the agent's mark from before it and what the client saw (every call
    answered, unless @kw waits for something else)."""
    mark = menv.agent.mark()
    cmd = menv.as_user(menv.wrapped("default", [NODE, SERVER]))
    seen, _, _ = menv.client(cmd[0], cmd[1:], calls, cwd=MCP, **kw)
    if calls:
        check(seen["connected"] and len(seen["results"]) == len(calls),
              f"the session: {seen}")
    return mark, seen


@case("calls/each_deny_names_its_tool_call")
def each_deny_names_its_call():
    """Sequential calls: a denied fetch (connect to loopback), a denied
    read of a protected file, another fetch. Each deny event carries
    mcp.call with the tool, a numeric id that differs per call (the SDK's
    ids), the client's name, and the digest of that call's arguments;
    attribution is exact. A harmless call between them causes nothing."""
    with McpEnv(policy) as env:
        calls = [
            {"tool": "fetch", "arguments": {"url": "http://127.0.0.1:9/a"}},
            {"tool": "read_file", "arguments": {"path": env.key}},
            {"tool": "release", "arguments": {}},
            {"tool": "fetch", "arguments": {"url": "http://127.0.0.1:9/b"}},
        ]
        mark, seen = session(env, calls)
        net = denies(env, mark, "network_connect")
        files = denies(env, mark, "file_open")
        check(len(net) >= 2 and files, f"denies: {len(net)} connects, {len(files)} opens")
        ids = []
        for e, call in ((net[0], calls[0]), (files[0], calls[1]), (net[-1], calls[3])):
            m = e["mcp"]
            check(m.get("attribution") == "exact" and "call" in m,
                  f"{e['type']}: not an exact attribution: {m}")
            c = m["call"]
            check(c["tool"] == call["tool"], f"{e['type']}: tool {c}")
            check(c["client"] == "mcpwarden-test-client", f"client {c}")
            check(isinstance(c["id"], int), f"id as the client sent it: {c}")
            check(c["arguments_sha256"] == args_sha(call["arguments"]),
                  f"{e['type']}: arguments digest {c['arguments_sha256']} for {call['arguments']}")
            ids.append(c["id"])
        check(ids[0] != ids[2] and ids[0] < ids[1] < ids[2],
              f"the calls' ids, in order: {ids}")
        # mcp_tool_call: a start before the call's denies, an end after.
        evs = env.agent.events[mark:]
        tc = [e for e in evs if e["type"] == "mcp_tool_call"]
        starts = [e for e in tc if e["phase"] == "start"]
        ends = {e["mcp"]["call"]["number"]: e for e in tc if e["phase"] == "end"}
        check([e["mcp"]["call"]["tool"] for e in starts] ==
              [c["tool"] for c in calls], f"starts: {starts}")
        for st, call in zip(starts, calls):
            c = st["mcp"]["call"]
            check(c["arguments_sha256"] == args_sha(call["arguments"]) and
                  c["client_version"] == "1.0.0", f"start {c}")
            check(c["number"] in ends, f"no end of {c}")
        first = starts[0]["mcp"]["call"]["number"]
        check(evs.index(starts[0]) < evs.index(net[0]) < evs.index(ends[first]),
              "start, deny, end: not in that order")
        want = [("tool_error", 1), ("tool_error", 1), ("ok", 0), ("tool_error", 1)]
        got = [(ends[st["mcp"]["call"]["number"]]["outcome"],
                ends[st["mcp"]["call"]["number"]]["denies"]) for st in starts]
        check([o for o, _ in got] == [o for o, _ in want] and
              all((d >= 1) == (w >= 1) for (_, d), (_, w) in zip(got, want)),
              f"ends (outcome, denies): {got}")
        check(all(e["duration_ns"] > 0 for e in ends.values()), f"{ends}")


@case("calls/two_in_flight_are_ambiguous")
def two_in_flight():
    """A call that holds (hold, not awaited) while another fetches: the
    fetch's deny names both calls and says the attribution is ambiguous;
    once hold is released and done, a last fetch is exact again."""
    with McpEnv(policy) as env:
        calls = [
            {"tool": "hold", "arguments": {}, "async": True},
            {"tool": "fetch", "arguments": {"url": "http://127.0.0.1:9/x"}},
            {"tool": "release", "arguments": {}},
        ]
        mark, seen = session(env, calls)
        check(seen["results"][2]["text"] == "held", f"the session: {seen}")
        net = denies(env, mark, "network_connect")
        check(net, "no deny of the fetch")
        m = net[0]["mcp"]
        check(m.get("attribution") == "ambiguous" and m.get("calls_running") == 2,
              f"not ambiguous: {m}")
        tools = sorted(c["tool"] for c in m["calls"])
        check(tools == ["fetch", "hold"], f"the calls named: {m['calls']}")


def serial_policy(env):
    p = policy(env)
    p["profiles"]["default"]["mcp"] = {"serialize_calls": True}
    return p


# A call that runs a while (a python starting) and connects: denied.
SPAWN_CONNECT = {"tool": "spawn", "async": True,
                 "arguments": {"command": "/usr/bin/python3",
                               "args": ["-c", CONNECT, "127.0.0.1"]}}


@case("calls/serialize_calls_makes_each_event_exact")
def serialized():
    """With mcp.serialize_calls, two calls the client sends at once run
    one after the other: the second (fetch) is held in the interposer
    until the first (spawn, a python that connects) has ended, so its
    start is after the first's end and each deny names its own call
    alone. Without the option they overlap (two_in_flight above)."""
    with McpEnv(serial_policy) as env:
        calls = [SPAWN_CONNECT,
                 {"tool": "fetch", "arguments": {"url": "http://127.0.0.1:9/s"},
                  "async": True}]
        mark, seen = session(env, calls)
        r = seen["results"]
        check("Operation not permitted" in r[0]["text"], f"spawn's connect: {r[0]}")
        check("EPERM" in r[1]["text"] or "EACCES" in r[1]["text"], f"fetch: {r[1]}")
        net = denies(env, mark, "network_connect")
        by = sorted((e["mcp"].get("attribution"), e["mcp"].get("call", {}).get("tool"))
                    for e in net)
        check(by == [("exact", "fetch"), ("exact", "spawn")],
              f"the denies: {[e['mcp'] for e in net]}")
        tc = [e for e in env.agent.events[mark:] if e["type"] == "mcp_tool_call"]
        t = {(e["mcp"]["call"]["tool"], e["phase"]): iso_ns(e["time"]) for e in tc}
        check(("spawn", "end") in t and ("fetch", "start") in t and
              t[("fetch", "start")] >= t[("spawn", "end")],
              f"fetch began before spawn ended: {tc}")


def args_policy(env):
    p = serial_policy(env)
    p["profiles"]["default"]["mcp"]["arguments"] = "full"
    return p


@case("calls/full_arguments_are_redacted_and_cut")
def full_arguments():
    """mcp.arguments "full" (with serialize_calls, so that a call waits
    in the interposer with its arguments): each start event carries the
    arguments as sent, but a key of the default redact list shows
    "[redacted]" and its value is nowhere in the agent's output; a 10 kB
    string is cut short (at a character: the rest is a prefix); arguments
    past the slot are left out, with why; the digest is always of the
    arguments as sent, and deny events carry the digest only."""
    secret = "s3cr3t-" + os.urandom(6).hex()
    big = "\u00e9" * 5000
    with McpEnv(args_policy) as env:
        calls = [SPAWN_CONNECT,
                 {"tool": "fetch", "async": True,
                  "arguments": {"url": "http://127.0.0.1:9/t", "api_token": secret}},
                 {"tool": "write_file",
                  "arguments": {"path": "/nonexistent/mw-args", "content": big}},
                 {"tool": "read_file",
                  "arguments": {"path": env.key, "pad": ["x" * 100] * 200}}]
        mark, seen = session(env, calls)
        env.agent.barrier()
        evs = env.agent.events[mark:]
        starts = {e["mcp"]["call"]["tool"]: e["mcp"]["call"] for e in evs
                  if e["type"] == "mcp_tool_call" and e["phase"] == "start"}
        check(sorted(starts) == sorted(c["tool"] for c in calls), f"starts: {starts}")
        for call in calls:
            c = starts[call["tool"]]
            check(c["arguments_sha256"] == args_sha(call["arguments"]),
                  f"{call['tool']}: the digest is not of the arguments as sent")
        f = starts["fetch"]
        check(f.get("arguments") == {"url": "http://127.0.0.1:9/t",
                                     "api_token": "[redacted]"} and
              f.get("arguments_redacted") == 1, f"fetch: {f}")
        check(starts["spawn"].get("arguments") == SPAWN_CONNECT["arguments"] and
              "arguments_truncated" not in starts["spawn"], f"spawn: {starts['spawn']}")
        w = starts["write_file"]
        content = w.get("arguments", {}).get("content", "")
        check(w.get("arguments_truncated") is True and content and
              big.startswith(content) and len(content.encode()) <= 256 and
              w["arguments"]["path"] == "/nonexistent/mw-args", f"write_file: {w}")
        r = starts["read_file"]
        check("arguments" not in r and r.get("arguments_omitted") == "too_large",
              f"read_file: {r}")
        check(secret not in json.dumps(evs), "the redacted value is in the output")
        net = denies(env, mark, "network_connect")
        check(net and not any("arguments" in e["mcp"].get("call", {}) for e in net),
              f"deny events: {[e['mcp'] for e in net]}")


@case("calls/a_held_call_the_client_cancels_never_runs")
def serialized_cancel():
    """Serialised, a fetch sent while a spawn runs waits in the
    interposer; the client cancels it at once: it is dropped, so the
    server never runs it (no start, no connect), and the spawn's deny is
    its own, exact."""
    with McpEnv(serial_policy) as env:
        calls = [SPAWN_CONNECT,
                 {"tool": "fetch", "arguments": {"url": "http://127.0.0.1:9/c"},
                  "async": True, "cancel": True}]
        mark, seen = session(env, calls)
        r = seen["results"]
        check("Operation not permitted" in r[0]["text"], f"spawn's connect: {r[0]}")
        check("error" in r[1], f"the cancelled fetch: {r[1]}")
        net = denies(env, mark, "network_connect")
        check([e["mcp"].get("call", {}).get("tool") for e in net] == ["spawn"] and
              net[0]["mcp"].get("attribution") == "exact",
              f"the denies: {[e['mcp'] for e in net]}")
        tc = [e["mcp"]["call"]["tool"] for e in env.agent.events[mark:]
              if e["type"] == "mcp_tool_call" and e["phase"] == "start"]
        check(tc == ["spawn"], f"calls begun: {tc}")


@case("calls/an_agent_restart_mid_call_follows_it_to_its_end")
def restart_mid_call():
    """A call (hold) runs when the agent is stopped and the next starts on
    the same pins: the new agent adopts the session page, names the held
    call in a deny made after the restart, and writes its end (not a
    second start) when it is released."""
    with McpEnv(policy) as env:
        go = os.path.join(env.env.tmp, f"go-{os.getpid()}")
        calls = [{"tool": "hold", "arguments": {}, "async": True},
                 {"await_file": go},
                 {"tool": "fetch", "arguments": {"url": "http://127.0.0.1:9/r"}},
                 {"tool": "release", "arguments": {}}]
        cmd = env.as_user(env.wrapped("default", [NODE, SERVER]))
        out = {}

        def run():
            try:
                out["seen"] = env.client(cmd[0], cmd[1:], calls, cwd=MCP)[0]
            except BaseException as e:     # reported by the main thread
                out["error"] = e
        t = threading.Thread(target=run)
        t.start()
        try:
            env.agent.wait(lambda e: e["type"] == "mcp_tool_call" and
                           e["phase"] == "start" and e["mcp"]["call"]["tool"] == "hold",
                           timeout=60, what="hold's start")
            old = env.agent
            pol = json.load(open(old.policy))
            old.stop(uninstall=False)
            env.agent = env.env.agent = Agent(policy=pol, cgroup=env.env.cg,
                                              pin=old.pin, state=old.state)
            start = env.agent.wait(lambda e: e["type"] == "agent_start")
            check(start["agent"]["adopted"] == "all", f"{start['agent']}")
        finally:
            open(go, "w").close()
            t.join(150)
        if "error" in out:
            raise out["error"]
        seen = out.get("seen") or {}
        check(seen.get("connected") and len(seen.get("results", [])) == 3,
              f"the session: {seen}")
        evs = env.agent.events
        net = [e for e in evs if e["type"] == "network_connect" and
               e.get("action") == "deny" and "mcp" in e]
        check(net and sorted(c["tool"] for c in net[0]["mcp"].get("calls", [])) ==
              ["fetch", "hold"], f"the deny after the restart: {[e['mcp'] for e in net]}")
        tc = [(e["mcp"]["call"]["tool"], e["phase"], e.get("outcome"))
              for e in evs if e["type"] == "mcp_tool_call"]
        check(("hold", "end", "ok") in tc and ("hold", "start", None) not in tc and
              ("fetch", "start", None) in tc, f"the new agent's calls: {tc}")


@case("calls/a_timer_between_calls_is_idle")
def idle_timer():
    """The server connects from a timer of its own once initialized, with
    no call in flight (the client makes none, and waits for the server's
    log message that it is done): the deny says mcp.idle."""
    with McpEnv(policy) as env:
        mark, seen = session(env, [], env={"MW_IDLE_FETCH": "http://127.0.0.1:9/idle"},
                             await_log="idle-done")
        check(seen.get("log", "") and "EPERM" in seen["log"],
              f"the server's timer: {seen}")
        net = denies(env, mark, "network_connect")
        check(net and net[0]["mcp"] == {"idle": True},
              f"the timer's deny: {[e['mcp'] for e in net]}")


# Per-tool fences (issue 15, part 4): loopback is allowed by the profile;
# fetch may reach 127.0.0.1 only, anything spawned by spawn nothing at all,
# hold nothing (a fence of a call running narrows every connect of the
# tree then), and nothing connects while idle.
def fenced_policy(env):
    p = open_policy()
    p["profiles"]["default"]["tools"] = {
        "fetch": {"network": {"default": "deny", "allow": ["127.0.0.1"]}},
        "sp*": {"network": {"default": "deny"}},
        "hold": {"network": {"deny": ["loopback"]}},
    }
    p["profiles"]["default"]["idle"] = {"network": {"default": "deny"}}
    return p


def rule_of(e):
    return e.get("rule", "")


@case("calls/per_tool_fences_narrow_while_the_tool_runs")
def per_tool_fences():
    """fetch reaches 127.0.0.1 (refused by nobody listening: allowed) but
    not 127.0.0.2, which the profile allows (its fence's default); a
    process spawn starts gets no network at all (the "sp*" fence); while
    hold runs, a fetch is denied by hold's fence (the strictest of the
    calls running). Each deny names the fence's rule and the call."""
    with McpEnv(fenced_policy) as env:
        py = "/usr/bin/python3"
        calls = [
            {"tool": "fetch", "arguments": {"url": "http://127.0.0.1:9/a"}},
            {"tool": "fetch", "arguments": {"url": "http://127.0.0.2:9/b"}},
            {"tool": "spawn", "arguments": {"command": py,
                                            "args": ["-c", CONNECT, "127.0.0.1"]}},
            {"tool": "hold", "arguments": {}, "async": True},
            {"tool": "fetch", "arguments": {"url": "http://127.0.0.1:9/c"}},
            {"tool": "release", "arguments": {}},
        ]
        mark, seen = session(env, calls)
        r = seen["results"]
        check("ECONNREFUSED" in r[0]["text"], f"fetch of 127.0.0.1 not let through: {r[0]}")
        check("EPERM" in r[1]["text"] or "EACCES" in r[1]["text"],
              f"fetch of 127.0.0.2: {r[1]}")
        check("Operation not permitted" in r[2]["text"], f"spawn's connect: {r[2]}")
        check("EPERM" in r[3]["text"] or "EACCES" in r[3]["text"],
              f"fetch while hold runs: {r[3]}")
        net = denies(env, mark, "network_connect")
        by = [(e["mcp"].get("call", {}).get("tool"), rule_of(e)) for e in net]
        want = [("fetch", "profiles.default.tools.fetch.network.default (deny)"),
                ("spawn", "profiles.default.tools.sp*.network.default (deny)")]
        for tool, rule in want:
            check(any(t == tool and ru == rule for t, ru in by),
                  f"no deny of {tool} by {rule}: {by}")
        amb = [e for e in net if e["mcp"].get("attribution") == "ambiguous"]
        check(amb and rule_of(amb[0]).startswith("profiles.default.tools.hold.network.deny[0]"),
              f"the fetch while hold runs: {[(e['mcp'], rule_of(e)) for e in net]}")
        check(all(rule_of(e) != "profiles.default.idle.network.default (deny)"
                  for e in net), f"an idle deny during calls: {by}")


@case("calls/a_tool_name_past_63_bytes_fails_closed")
def long_tool_name():
    """A call whose tool name is longer than the kernel compares (70
    bytes, cut in the session page) could match the wrong fence: while it
    runs, a connect the profile allows is denied as unreadable."""
    with McpEnv(fenced_policy) as env:
        long = "fetch_" + "x" * 64
        calls = [{"tool": long, "arguments": {"url": "http://127.0.0.1:9/l"}},
                 {"tool": "fetch", "arguments": {"url": "http://127.0.0.1:9/s"}}]
        mark, seen = session(env, calls)
        r = seen["results"]
        check("EPERM" in r[0]["text"] or "EACCES" in r[0]["text"],
              f"the long-named fetch: {r[0]}")
        check("ECONNREFUSED" in r[1]["text"], f"the short-named fetch: {r[1]}")
        net = denies(env, mark, "network_connect")
        call = net[0]["mcp"].get("call", {}) if net else {}
        check(len(net) == 1 and
              rule_of(net[0]) == "profiles.default.tools (calls unreadable)" and
              call.get("tool") == long[:63] and call.get("tool_truncated") is True,
              f"the deny: {[(e['mcp'], rule_of(e)) for e in net]}")


def port_policy(env):
    p = open_policy(deny=["loopback"], allow=[{"to": "127.0.0.1", "ports": [9]}])
    # Valid: the profile's port-9 allow shares 127.0.0.1 with it.
    p["profiles"]["default"]["tools"] = {"fetch": {"network": {"allow": ["127.0.0.1"]}}}
    return p


@case("calls/a_fence_allow_never_widens_the_profile")
def fence_never_widens():
    """The profile denies loopback but port 9 of 127.0.0.1; fetch's fence
    allows all of 127.0.0.1, which validation lets pass (a laxer profile
    rule shares it). While fetch runs, port 9 is let through and port 10
    is still denied by the profile: the kernel takes the stricter."""
    with McpEnv(port_policy) as env:
        calls = [{"tool": "fetch", "arguments": {"url": "http://127.0.0.1:9/p"}},
                 {"tool": "fetch", "arguments": {"url": "http://127.0.0.1:10/q"}}]
        mark, seen = session(env, calls)
        r = seen["results"]
        check("ECONNREFUSED" in r[0]["text"], f"port 9: {r[0]}")
        check("EPERM" in r[1]["text"] or "EACCES" in r[1]["text"], f"port 10: {r[1]}")
        net = denies(env, mark, "network_connect")
        check(len(net) == 1 and net[0]["network"]["dport"] == 10 and
              rule_of(net[0]) == "profiles.default.network.deny[0] (loopback)",
              f"the deny: {[(e['network'], rule_of(e)) for e in net]}")


@case("calls/idle_fence_denies_a_timer_between_calls")
def idle_fence():
    """The profile allows loopback; its idle fence denies everything: the
    server's own timer's connect, with no call running, is denied by the
    idle rule (the calls' fences are the other case's)."""
    with McpEnv(fenced_policy) as env:
        mark, seen = session(env, [], env={"MW_IDLE_FETCH": "http://127.0.0.1:9/idle"},
                             await_log="idle-done")
        check("EPERM" in (seen.get("log") or ""), f"the server's timer: {seen}")
        net = denies(env, mark, "network_connect")
        check(net and net[0]["mcp"] == {"idle": True} and
              rule_of(net[0]) == "profiles.default.idle.network.default (deny)",
              f"the timer's deny: {[(e['mcp'], rule_of(e)) for e in net]}")
