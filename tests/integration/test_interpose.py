# SPDX-License-Identifier: GPL-2.0-only
"""The stdio interposer of `mcpwarden exec` (user/wrapper/interpose.c):
every byte passes unchanged both ways, whatever it is and however it is
chunked; end of input, the exit status and signals reach the server as
without it, and all of the server's output is out before the exit; its
memory stays bounded under a 100 MB line; the server's user cannot
ptrace it; --no-interpose leaves stdio to the server. Real processes
through a real agent."""
import os
import random
import signal
import subprocess
import threading

from lib import BIN, PY, Env, Fail, TestUser, case, check, gone, open_policy


def wrapper(env, argv, *flags):
    return [BIN, "exec", "--socket", env.agent.sock, *flags, "--"] + argv


def interposers(sid):
    """Pids of the interposers in session @sid."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
        except OSError:
            continue
        comm = st[st.index("(") + 1:st.rindex(")")]
        fields = st[st.rindex(")") + 2:].split()
        if comm == "mw-interpose" and int(fields[3]) == sid:
            out.append(int(d))
    return out


def finish(p, timeout=60):
    """After we closed @p's stdin: its output, once it exits."""
    out = p.stdout.read()
    err = p.stderr.read()
    p.wait(timeout=timeout)
    return out, err


def session_bytes():
    """A session as a client and a server would send it, and worse."""
    rnd = random.Random(14)
    parts = [
        b'{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"clientInfo":{"name":"c","version":"1"}}}\n',
        b'{"jsonrpc":"2.0","method":"notifications/initialized"}\r\n',
        b'{"jsonrpc":"2.0","id":"a","method":"tools/call","params":{"name":"t","arguments":{"x":"\\u00e9\\n"}}}\n',
        b"not json\n", b"\n", b"\x00\xff\xfe binary \x01\n",
        b'{"jsonrpc":"2.0","id":"b","method":"tools/call","params":{"name":"big","arguments":{"d":"'
        + b"x" * (3 << 20) + b'"}}}\n',
        b"[" * 10000 + b"\n",
    ]
    for _ in range(200):
        parts.append(bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 300))))
    parts.append(b'{"jsonrpc":"2.0","id":9,"method":"ping"}')   # no newline
    return b"".join(parts)


def pump(p, data, rnd):
    """Write @data to @p's stdin in random chunks from a thread; read all
    of its stdout here. Returns what came out."""
    def feed():
        off = 0
        while off < len(data):
            k = rnd.choice((1, 7, 512, 4096, 65536, 1 << 20))
            p.stdin.write(data[off:off + k])
            p.stdin.flush()
            off += k
        p.stdin.close()
    t = threading.Thread(target=feed, daemon=True)
    t.start()
    out = p.stdout.read()
    t.join(timeout=60)
    return out


@case("interpose/every_byte_passes_unchanged")
def bytes_unchanged():
    """A recorded session with JSON-RPC, CRLF, non-JSON, binary bytes, a
    3 MB message, deep nesting and a last line with no newline, written
    in random chunks into `exec -- cat`: what comes back is the same bytes,
    in order; cat sees the end of input and exits 0."""
    data = session_bytes()
    with Env(open_policy()) as env:
        for seed in (1, 2):
            p = env.spawn(wrapper(env, ["cat"]), stdin=subprocess.PIPE,
                          text=False)
            out = pump(p, data, random.Random(seed))
            rc = p.wait(timeout=30)
            check(rc == 0, f"cat exited {rc}: {p.stderr.read()}")
            if out != data:
                i = next((k for k in range(min(len(out), len(data)))
                          if out[k] != data[k]), min(len(out), len(data)))
                raise Fail(f"seed {seed}: {len(out)} bytes back for {len(data)}, first difference at {i}")


def children(pid):
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(x) for x in f.read().split()]


@case("interpose/status_and_signals_are_the_servers")
def status_and_signals():
    """The client's child is the interposer; the server is its child, the
    tracked one. The server's exit status comes back (7); a SIGTERM the
    client sends the interposer ends the server and comes back as the
    status (-15); a SIGINT is passed on (the server traps it and answers
    once more); kill -9 of the interposer takes the server with it."""
    with Env(open_policy()) as env:
        p = env.spawn(wrapper(env, ["sh", "-c", "exit 7"]))
        p.communicate(timeout=20)
        check(p.returncode == 7, f"exit status {p.returncode}")

        p = env.spawn(wrapper(env, ["sh", "-c", "echo up; exec sleep 100"]),
                      start_new_session=True)
        check(p.stdout.readline() == "up\n", "the server started")
        check(interposers(p.pid) == [p.pid], "the client's child interposes")
        srv = children(p.pid)
        check(len(srv) == 1, f"the interposer's children: {srv}")
        env.agent.wait(lambda e: e.get("process", {}).get("pid") == srv[0] and
                       e["process"]["ppid"] == p.pid and
                       e["mcp_server"]["pid"] == srv[0],
                       what="an event of the server, the tracked root")
        p.send_signal(signal.SIGTERM)
        p.communicate(timeout=20)
        check(p.returncode == -signal.SIGTERM, f"status {p.returncode}")
        check(gone(srv[0]), "the server outlived SIGTERM")

        # Python, not sh: a shell cannot trap a signal ignored when it
        # started (a CI runner's background job has SIGINT ignored).
        script = ("import signal, sys, time\n"
                  "def on(*a):\n"
                  "    print('trapped', flush=True)\n"
                  "    sys.exit(3)\n"
                  "signal.signal(signal.SIGINT, on)\n"
                  "print('up', flush=True)\n"
                  "time.sleep(60)\n")
        p = env.spawn(wrapper(env, [PY, "-c", script]))
        check(p.stdout.readline() == "up\n", "the server started")
        p.send_signal(signal.SIGINT)
        out, _ = p.communicate(timeout=20)
        check(out == "trapped\n" and p.returncode == 3,
              f"after SIGINT: {out!r} {p.returncode}")

        p = env.spawn(wrapper(env, ["sh", "-c", "echo up; exec sleep 100"]))
        check(p.stdout.readline() == "up\n", "the server started")
        srv = children(p.pid)
        p.kill()
        p.wait(timeout=20)
        check(gone(srv[0]), "the server outlived its interposer")


@case("interpose/all_output_out_before_the_exit")
def output_before_exit():
    """A server writes 3 MB and exits at once; its stdout is a file: when
    the client's wait returns, the file holds every byte (the interposer
    exits after writing what the server wrote)."""
    with Env(open_policy()) as env:
        out = os.path.join(env.tmp, "out")
        for _ in range(3):
            with open(out, "wb") as f:
                p = env.spawn(wrapper(env, ["sh", "-c",
                                            "head -c 3000000 /dev/zero; exit 4"]),
                              stdout=f)
                p.wait(timeout=30)
            check(p.returncode == 4, f"status {p.returncode}")
            n = os.path.getsize(out)
            check(n == 3000000, f"{n} bytes in the file at the exit")


@case("interpose/bounded_memory_under_a_100mb_line")
def bounded_memory():
    """100 MB with no newline, then a line: the interposer's peak memory
    stays under 8 MiB (its buffers are 2 x 64 KiB), and the server reads
    every byte."""
    n = 100 << 20
    with Env(open_policy()) as env:
        p = env.spawn(wrapper(env, ["sh", "-c", "echo up; wc -c"]),
                      stdin=subprocess.PIPE, start_new_session=True)
        check(p.stdout.readline() == "up\n", "the server started")
        ip = interposers(p.pid)
        check(ip == [p.pid], f"interposers: {ip}")
        chunk = "y" * (1 << 20)
        for _ in range(100):
            p.stdin.write(chunk)
        p.stdin.write("\n")
        with open(f"/proc/{ip[0]}/status") as f:
            hwm = [int(x.split()[1]) for x in f if x.startswith("VmHWM:")][0]
        p.stdin.close()
        out, err = finish(p)
        check(out.strip() == str(n + 1), f"wc -c: {out!r} {err}")
        check(hwm < 8 << 10, f"interposer peak {hwm} KiB")


@case("interpose/the_servers_user_cannot_ptrace_it")
def not_ptraceable():
    """A server run by an unprivileged user tries PTRACE_ATTACH on its
    interposer (same user): EPERM, it is not dumpable. Without the
    interposer (--no-interpose) there is none in the session."""
    prog = ("import ctypes,sys\n"
            "libc=ctypes.CDLL(None,use_errno=True)\n"
            "r=libc.ptrace(16,int(sys.argv[1]),0,0)\n"
            "print('attached' if r==0 else 'errno %d' % ctypes.get_errno())\n")
    with TestUser() as u, Env(open_policy()) as env:
        def as_user(argv):
            return ["setpriv", f"--reuid={u.uid}", f"--regid={u.gid}",
                    "--clear-groups", "--"] + argv
        p = env.spawn(as_user(wrapper(env, ["sh", "-c", "echo up; read x"])),
                      stdin=subprocess.PIPE, start_new_session=True)
        check(p.stdout.readline() == "up\n", f"the server started: {p.stderr.read() if p.poll() is not None else ''}")
        ip = interposers(p.pid)
        check(ip == [p.pid], f"interposers: {ip}")
        r = subprocess.run(as_user([PY, "-c", prog, str(ip[0])]),
                           capture_output=True, text=True, timeout=20)
        check(r.stdout.strip() == "errno 1", f"ptrace by its user: {r.stdout} {r.stderr}")
        p.stdin.write("x\n")
        p.stdin.close()
        finish(p)

        p = env.spawn(wrapper(env, ["sh", "-c", "echo up; read x"],
                              "--no-interpose"),
                      stdin=subprocess.PIPE, start_new_session=True)
        check(p.stdout.readline() == "up\n", "the server started")
        check(interposers(p.pid) == [], "an interposer with --no-interpose")
        p.stdin.write("x\n")
        p.stdin.close()
        finish(p)
        check(p.returncode == 0, f"status {p.returncode}")
