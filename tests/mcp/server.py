# SPDX-License-Identifier: GPL-2.0-only
"""A stdio MCP server in Python with the standard library only (PyPI is out
of reach here, so no `mcp` SDK): newline-delimited JSON-RPC 2.0, the
initialize handshake and tools/list and tools/call, as the SDKs speak it.
Its tools do what a prompt-injected server would: run a program through
subprocess, read a file, connect to an address. Every OSError becomes a
tool error naming its errno, which the test checks against the policy's
documented errno for each hook."""
import errno
import json
import socket
import subprocess
import sys

TOOLS = {
    "run": {"type": "object", "properties": {
        "argv": {"type": "array", "items": {"type": "string"}}},
        "required": ["argv"]},
    "read_file": {"type": "object", "properties": {
        "path": {"type": "string"}}, "required": ["path"]},
    "connect": {"type": "object", "properties": {
        "host": {"type": "string"}, "port": {"type": "integer"}},
        "required": ["host", "port"]},
}


def oserror(what, e):
    name = errno.errorcode.get(e.errno, str(e.errno))
    return f"{what}: {type(e).__name__} {name}: {e.strerror}"


def call(name, args):
    """(text, is_error) of tool @name."""
    try:
        if name == "run":
            p = subprocess.run(args["argv"], capture_output=True, text=True,
                               timeout=20)
            if p.returncode < 0:
                return f"{args['argv'][0]}: killed by signal {-p.returncode}", True
            return p.stdout, p.returncode != 0
        if name == "read_file":
            with open(args["path"]) as f:
                return f.read(), False
        if name == "connect":
            with socket.create_connection((args["host"], args["port"]),
                                          timeout=10):
                return "connected", False
    except OSError as e:
        return oserror(name, e), True
    raise KeyError(name)


def reply(msg_id, result=None, error=None):
    out = {"jsonrpc": "2.0", "id": msg_id}
    if error:
        out["error"] = error
    else:
        out["result"] = result
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()


def handle(msg):
    method, msg_id = msg.get("method"), msg.get("id")
    if msg_id is None:
        return  # a notification: notifications/initialized, cancelled
    if method == "initialize":
        reply(msg_id, {"protocolVersion": msg["params"]["protocolVersion"],
                       "capabilities": {"tools": {}},
                       "serverInfo": {"name": "stdlib-py", "version": "1.0.0"}})
    elif method == "ping":
        reply(msg_id, {})
    elif method == "tools/list":
        reply(msg_id, {"tools": [{"name": n, "inputSchema": s}
                                 for n, s in TOOLS.items()]})
    elif method == "tools/call":
        name = msg["params"]["name"]
        if name not in TOOLS:
            reply(msg_id, error={"code": -32602, "message": f"no tool {name}"})
            return
        text, bad = call(name, msg["params"].get("arguments", {}))
        reply(msg_id, {"content": [{"type": "text", "text": text}],
                       "isError": bad})
    else:
        reply(msg_id, error={"code": -32601, "message": f"no method {method}"})


def main():
    for line in sys.stdin:
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        handle(msg)


if __name__ == "__main__":
    main()
