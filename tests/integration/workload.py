#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""Workloads the integration tests run as tracked or untracked processes.

Each prints one result line on stdout; a marker argument makes the process
easy to find in the event stream.
"""
import errno
import os
import socket
import sys
import threading
import time


def result(err):
    print("ok" if err == 0 else f"errno {errno.errorcode.get(err, err)}",
          flush=True)


def try_connect(host, port, proto="tcp", family=None, send=False):
    fam = family or (socket.AF_INET6 if ":" in host else socket.AF_INET)
    typ = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    s = socket.socket(fam, typ)
    s.settimeout(3)
    try:
        if send:
            s.sendto(b"x", (host, port))
        else:
            s.connect((host, port))
        return 0
    except OSError as e:
        return e.errno or -1
    finally:
        s.close()


def main(argv):
    cmd = argv[1]
    if cmd == "sleep":                  # sleep SECS MARK
        time.sleep(float(argv[2]))
    elif cmd == "exit":                 # exit CODE MARK
        sys.exit(int(argv[2]))
    elif cmd == "chain":                # chain MARK: child, grandchild execs
        pid = os.fork()
        if pid == 0:
            gpid = os.fork()
            if gpid == 0:
                os.execv("/bin/echo", ["/bin/echo", argv[2] + "-grandchild"])
            os.waitpid(gpid, 0)
            os._exit(0)
        os.waitpid(pid, 0)
    elif cmd == "double-fork":          # double-fork MARK
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            middle = os.getpid()
            if os.fork() == 0:
                os.close(r)
                while os.getppid() == middle:   # until it is reparented
                    time.sleep(0.01)
                os.write(w, b"%d\n" % os.getppid())
                os.execv("/bin/echo", ["/bin/echo", argv[2] + "-daemon"])
            os._exit(0)
        os.waitpid(pid, 0)
        os.close(w)
        print("reparented to", os.read(r, 64).decode().strip(), flush=True)
    elif cmd == "connect":              # connect HOST PORT tcp|udp [v6]
        fam = socket.AF_INET6 if len(argv) > 5 and argv[5] == "v6" else None
        result(try_connect(argv[2], int(argv[3]), argv[4], fam))
    elif cmd == "sendto":               # sendto HOST PORT [v6]
        fam = socket.AF_INET6 if len(argv) > 4 and argv[4] == "v6" else None
        result(try_connect(argv[2], int(argv[3]), "udp", fam, send=True))
    elif cmd == "thread-connect":       # thread-connect HOST PORT MARK
        out = {}
        t = threading.Thread(target=lambda: out.update(
            err=try_connect(argv[2], int(argv[3])), tid=threading.get_native_id()))
        t.start()
        t.join()
        print(f"tid {out['tid']}", flush=True)
        result(out["err"])
    elif cmd == "listen":               # listen PORT...: TCP and UDP, dual-stack
        socks = []
        for port in argv[2:]:
            for typ in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                s = socket.socket(socket.AF_INET6, typ)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
                s.bind(("::", int(port)))
                if typ == socket.SOCK_STREAM:
                    s.listen(128)
                socks.append(s)
        print("listening", flush=True)
        import select
        while True:
            r, _, _ = select.select(socks, [], [])
            for s in r:
                if s.type == socket.SOCK_STREAM:
                    s.accept()[0].close()
                else:
                    s.recv(2048)
    elif cmd == "chain-connect":        # chain-connect HOST PORT: grandchild connects
        pid = os.fork()
        if pid == 0:
            if os.fork() == 0:
                result(try_connect(argv[2], int(argv[3])))
                os._exit(0)
            os.wait()
            os._exit(0)
        os.waitpid(pid, 0)
    elif cmd == "connect-loop":         # connect-loop HOST PORT N
        n = int(argv[4])
        errs = sum(1 for _ in range(n)
                   if try_connect(argv[2], int(argv[3])) == errno.EPERM)
        print(f"done {n} eperm {errs}", flush=True)
    elif cmd == "fexecve":              # fexecve PATH ARGS...: execveat(fd, "")
        fd = os.open(argv[2], os.O_PATH)     # no open of the file itself
        try:
            os.execve(fd, argv[2:], dict(os.environ))
        except OSError as e:
            result(e.errno)
    elif cmd == "memfd-exec":           # memfd-exec SRC ARGS...: fileless exec
        fd = os.memfd_create("payload", 0)
        with open(argv[2], "rb") as f:
            os.write(fd, f.read())
        try:
            os.execve(fd, [argv[2]] + argv[3:], dict(os.environ))
        except OSError as e:
            result(e.errno)
    elif cmd == "unix-listen":          # unix-listen PATH: accept and close
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(argv[2])
        s.listen(16)
        print("listening", flush=True)
        while True:
            s.accept()[0].close()
    elif cmd == "unix-connect":         # unix-connect PATH
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(argv[2])
            result(0)
        except OSError as e:
            result(e.errno)
    elif cmd == "sys":                  # sys NAME: try an escape primitive
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        nr = {"unshare": 272, "clone-newuser": 56, "mount": 165,
              "ptrace": 101, "setns": 308}[argv[2]]
        if argv[2] == "unshare":
            r = libc.syscall(nr, 0x10000000)            # CLONE_NEWUSER
        elif argv[2] == "clone-newuser":
            r = libc.syscall(nr, 0x10000000 | 17, 0, 0, 0, 0)
            if r == 0:
                os._exit(0)
        elif argv[2] == "mount":
            r = libc.syscall(nr, b"none", b"/mnt", b"tmpfs", 0, None)
        elif argv[2] == "setns":
            r = libc.syscall(nr, -1, 0)
        else:
            r = libc.syscall(nr, 16, os.getppid(), 0, 0)  # PTRACE_ATTACH
        result(0 if r >= 0 else ctypes.get_errno())
    elif cmd == "ping":                 # ping ADDR [v6]: an echo, ping socket
        six = len(argv) > 3
        fam, proto, typ = ((socket.AF_INET6, socket.IPPROTO_ICMPV6, 128) if six
                           else (socket.AF_INET, socket.IPPROTO_ICMP, 8))
        try:
            s = socket.socket(fam, socket.SOCK_DGRAM, proto)
        except OSError as e:
            result(e.errno)
            return
        try:
            s.settimeout(5)
            s.sendto(bytes([typ, 0, 0, 0, 0, 0, 0, 1]) + b"mcpwarden", (argv[2], 0))
            s.recv(64)                  # the reply: it got there
            result(0)
        except OSError as e:
            result(e.errno if e.errno is not None else 110)
        finally:
            s.close()
    elif cmd == "raw":                  # raw: a raw ICMP socket
        try:
            socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP).close()
            result(0)
        except OSError as e:
            result(e.errno)
    else:
        print("unknown workload", cmd, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv)
