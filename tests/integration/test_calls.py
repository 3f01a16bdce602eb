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

from lib import case, check, open_policy
from test_mcp import MCP, NODE, McpEnv

SERVER = os.path.join(MCP, "injected-server.mjs")


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
        mark = env.agent.mark()
        cmd = env.as_user(env.wrapped("default", [NODE, SERVER]))
        seen, _, _ = env.client(cmd[0], cmd[1:], calls, cwd=MCP)
        check(seen["connected"] and len(seen["results"]) == 4,
              f"the session: {seen}")
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
        mark = env.agent.mark()
        cmd = env.as_user(env.wrapped("default", [NODE, SERVER]))
        seen, _, _ = env.client(cmd[0], cmd[1:], calls, cwd=MCP)
        check(seen["connected"] and len(seen["results"]) == 3 and
              seen["results"][2]["text"] == "held", f"the session: {seen}")
        net = denies(env, mark, "network_connect")
        check(net, "no deny of the fetch")
        m = net[0]["mcp"]
        check(m.get("attribution") == "ambiguous" and m.get("calls_running") == 2,
              f"not ambiguous: {m}")
        tools = sorted(c["tool"] for c in m["calls"])
        check(tools == ["fetch", "hold"], f"the calls named: {m['calls']}")


@case("calls/a_timer_between_calls_is_idle")
def idle_timer():
    """The server connects from a timer of its own once initialized, with
    no call in flight (the client makes none, and waits for the server's
    log message that it is done): the deny says mcp.idle."""
    with McpEnv(policy) as env:
        mark = env.agent.mark()
        cmd = env.as_user(env.wrapped("default", [NODE, SERVER]))
        script_env = {"MW_IDLE_FETCH": "http://127.0.0.1:9/idle"}
        seen, _, _ = env.client(cmd[0], cmd[1:], [], cwd=MCP, env=script_env,
                                await_log="idle-done")
        check(seen.get("log", "") and "EPERM" in seen["log"],
              f"the server's timer: {seen}")
        net = denies(env, mark, "network_connect")
        check(net and net[0]["mcp"] == {"idle": True},
              f"the timer's deny: {[e['mcp'] for e in net]}")
