# SPDX-License-Identifier: GPL-2.0-only
"""Network fence: real sockets inside a network namespace the test creates,
against the built-in policy (metadata, private, loopback denied; DNS to the
nameservers of resolv.conf allowed). Tracked processes are denied with EPERM
and an event; untracked ones in the same namespace are not touched."""
import os
import tempfile

from lib import (BIN, CLEANUPS, PY, WORKLOAD, Env, Fail, Netns, case, check,
                 open_policy, run)

ADDRS = ["169.254.169.254", "169.254.170.2", "10.20.0.5", "10.1.2.3",
         "100.100.100.200", "168.63.129.16", "fd00:ec2::254",
         "64:ff9b::a9fe:a9fe", "2002:a9fe:a9fe::1", "fd00:53::53",
         "::169.254.169.254", "::ffff:0:a9fe:a9fe",
         "64:ff9b::808:808", "8.8.8.8"]


class Fixture:
    """One agent (built-in policy) + one netns with listeners, shared."""
    inst = {}

    def __init__(self, policy=None):
        self.resolv = tempfile.NamedTemporaryFile("w", suffix=".conf",
                                                  delete=False)
        self.resolv.write("# test\nnameserver 10.1.2.3\nnameserver fd00:53::53\n")
        self.resolv.close()
        self.ns = Netns(ADDRS)
        try:
            self.env = Env(policy, resolv=self.resolv.name)
        except Exception:
            self.ns.remove()
            raise
        self.listener = self.env.spawn(self.ns.exec(
            [PY, WORKLOAD, "listen", "80", "53", "5432"]))
        line = self.listener.stdout.readline()
        if "listening" not in line:
            raise Fail(f"listener: {line} {self.listener.stderr.read()}")

    @classmethod
    def get(cls, name="default", policy=None):
        if name not in cls.inst:
            cls.inst[name] = Fixture(policy)
            CLEANUPS.append(cls.inst[name].close)
        return cls.inst[name]

    def close(self):
        self.env.close()
        self.ns.remove()
        os.unlink(self.resolv.name)

    def tracked(self, *args, profile="default"):
        # Into the namespace first: the built-in policy's seccomp filter
        # refuses setns() to a tracked process, as it should.
        argv = self.ns.exec([BIN, "exec", "--socket", self.env.agent.sock,
                             "--profile", profile, "--", PY, WORKLOAD] +
                            list(args))
        mark = self.env.agent.mark()
        pid, rc, out, err = self.env.run(argv)
        check(rc == 0, f"tracked {args}: rc {rc} {err}")
        return self.env.agent.server_of(pid, after=mark), out.strip()

    def untracked(self, *args):
        pid, rc, out, err = self.env.run(self.ns.exec([PY, WORKLOAD] + list(args)))
        check(rc == 0, f"untracked {args}: rc {rc} {err}")
        return pid, out.strip()

    def event(self, pid, typ="network_connect", **net):
        def match(e):
            if e["type"] != typ or e["process"]["pid"] != pid:
                return False
            return all(e["network"].get(k) == v for k, v in net.items())
        return self.env.agent.wait(match, what=f"{typ} of pid {pid} {net}")


def deny(f, addr, port, proto="tcp", send=False, v6=False, rule=None, **net):
    args = (["sendto", addr, str(port)] if send else
            ["connect", addr, str(port), proto])
    if v6:
        args.append("v6")
    pid, out = f.tracked(*args)
    check(out == "errno EPERM", f"tracked {args}: {out!r}, wanted EPERM")
    e = f.event(pid, "network_send" if send else "network_connect",
                dport=port, **net)
    check(e["action"] == "deny", f"action {e['action']}")
    check(e["mcp_server"]["pid"] == pid, f"identity {e['mcp_server']}")
    check(e["network"]["protocol"] == ("udp" if send else proto),
          f"protocol {e['network']}")
    if rule:
        check(rule in e.get("rule", ""), f"rule {e.get('rule')!r}, wanted {rule}")
    # The untracked control in the same namespace is not touched.
    _, out = f.untracked(*args)
    check(out == "ok", f"untracked {args}: {out!r}")
    return e


@case("network/metadata_tcp")
def metadata_tcp():
    f = Fixture.get()
    e = deny(f, "169.254.169.254", 80, daddr="169.254.169.254", rule="(metadata)")
    check(e["network"]["family"] == "ipv4", f"{e['network']}")


@case("network/metadata_udp_connect")
def metadata_udp():
    deny(Fixture.get(), "169.254.169.254", 80, "udp", daddr="169.254.169.254")


@case("network/metadata_udp_sendto")
def metadata_sendto():
    deny(Fixture.get(), "169.254.169.254", 80, send=True, daddr="169.254.169.254")


@case("network/mapped_tcp_dualstack")
def mapped_tcp():
    e = deny(Fixture.get(), "::ffff:169.254.169.254", 80, v6=True,
             daddr="169.254.169.254", rule="(metadata)")
    check(e["network"]["family"] == "ipv6", f"{e['network']}")


@case("network/mapped_udp_sendto_dualstack")
def mapped_udp():
    deny(Fixture.get(), "::ffff:169.254.169.254", 80, send=True, v6=True,
         daddr="169.254.169.254")


@case("network/nat64")
def nat64():
    e = deny(Fixture.get(), "64:ff9b::a9fe:a9fe", 80, daddr="64:ff9b::a9fe:a9fe")
    check(e["network"].get("form") == "nat64" and
          e["network"].get("checked") == "169.254.169.254", f"{e['network']}")
    deny(Fixture.get(), "64:ff9b::a9fe:a9fe", 80, send=True)


@case("network/6to4")
def six_to_four():
    e = deny(Fixture.get(), "2002:a9fe:a9fe::1", 80)
    check(e["network"].get("form") == "6to4", f"{e['network']}")


@case("network/ipv4_compatible")
def ipv4_compatible():
    """::a.b.c.d (RFC 4291's deprecated IPv4-compatible form) carries the
    IPv4 address: judged as it."""
    e = deny(Fixture.get(), "::169.254.169.254", 80)
    check(e["network"].get("form") == "ipv4-compatible" and
          e["network"].get("checked") == "169.254.169.254", f"{e['network']}")
    deny(Fixture.get(), "::169.254.169.254", 80, send=True)


@case("network/siit")
def siit():
    """::ffff:0:a.b.c.d (SIIT, RFC 2765) carries the IPv4 address too."""
    e = deny(Fixture.get(), "::ffff:0:a9fe:a9fe", 80)
    check(e["network"].get("form") == "siit" and
          e["network"].get("checked") == "169.254.169.254", f"{e['network']}")


@case("network/ping_socket")
def ping_socket():
    """A ping socket (SOCK_DGRAM + ICMP, what unprivileged ping uses) sends
    an echo with any payload to any address, and cgroup/sendmsg never sees
    it: it counts as a raw socket. Untracked, the same echo to the metadata
    address gets its reply."""
    f = Fixture.get()
    run(["ip", "netns", "exec", f.ns.name, "sysctl", "-qw",
         "net.ipv4.ping_group_range=0 2147483647"])
    for six, addr in ((False, "169.254.169.254"), (True, "fd00:ec2::254")):
        args = ["ping", addr] + (["v6"] if six else [])
        pid, out = f.tracked(*args)
        check(out == "errno EPERM", f"tracked {args}: {out!r}")
        e = f.env.agent.wait(lambda e: e["type"] == "network_socket" and
                             e["process"]["pid"] == pid, what="ping socket event")
        check(e["action"] == "deny" and e["network"]["socket_type"] == "dgram" and
              e["network"]["protocol"] == (58 if six else 1) and
              e["rule"].endswith(".network.raw_sockets"), f"{e}")
        _, out = f.untracked(*args)
        check(out == "ok", f"untracked {args}: {out!r}")


@case("network/metadata_ipv6")
def metadata_v6():
    deny(Fixture.get(), "fd00:ec2::254", 80, daddr="fd00:ec2::254",
         rule="(metadata)")


@case("network/other_clouds")
def other_clouds():
    f = Fixture.get()
    for a in ("169.254.170.2", "100.100.100.200", "168.63.129.16"):
        deny(f, a, 80, daddr=a, rule="(metadata)")


@case("network/private")
def private():
    deny(Fixture.get(), "10.20.0.5", 5432, daddr="10.20.0.5", rule="(private)")


@case("network/loopback_and_unspecified")
def loopback():
    f = Fixture.get()
    deny(f, "127.0.0.1", 80, rule="(loopback)")
    e = deny(f, "0.0.0.0", 80, rule="(loopback)")
    check(e["network"].get("form") == "unspecified", f"{e['network']}")
    deny(f, "::1", 80, rule="(loopback)")
    deny(f, "::", 80, rule="(loopback)")


@case("network/dns_exception_by_port")
def dns():
    f = Fixture.get()
    for proto in ("tcp", "udp"):
        pid, out = f.tracked("connect", "10.1.2.3", "53", proto)
        check(out == "ok", f"DNS over {proto} to the nameserver: {out!r}")
        e = f.event(pid, daddr="10.1.2.3", dport=53)
        check(e["action"] == "allow" and "(nameservers)" in e["rule"], f"{e}")
    pid, out = f.tracked("sendto", "fd00:53::53", "53")
    check(out == "ok", f"DNS to the IPv6 nameserver: {out!r}")
    deny(f, "10.1.2.3", 80, rule="(private)")


@case("network/public_allowed_and_reported")
def public_allowed():
    f = Fixture.get()
    pid, out = f.tracked("connect", "8.8.8.8", "80", "tcp")
    check(out == "ok", f"public address in the test namespace: {out!r}")
    e = f.event(pid, daddr="8.8.8.8", dport=80)
    check(e["action"] == "allow" and e["rule"].endswith("network.default"),
          f"{e['action']} {e.get('rule')}")
    # NAT64 of a public address is judged as that address: allowed.
    pid, out = f.tracked("connect", "64:ff9b::808:808", "80", "tcp")
    check(out == "ok", f"NAT64 of a public address: {out!r}")


@case("network/grandchild")
def grandchild():
    f = Fixture.get()
    pid, out = f.tracked("chain-connect", "169.254.169.254", "80")
    check(out == "errno EPERM", f"grandchild: {out!r}")
    e = f.env.agent.wait(lambda e: e["type"] == "network_connect" and
                         e["mcp_server"]["pid"] == pid and
                         e["process"]["pid"] != pid, what="grandchild's event")
    check(e["action"] == "deny" and e["process"]["ppid"] != pid, f"{e['process']}")
    _, out = f.untracked("chain-connect", "169.254.169.254", "80")
    check(out == "ok", f"untracked grandchild: {out!r}")


@case("network/thread")
def thread():
    f = Fixture.get()
    pid, out = f.tracked("thread-connect", "169.254.169.254", "80", "x")
    check(out.endswith("errno EPERM"), f"thread: {out!r}")
    tid = int(out.split()[1])
    e = f.event(pid, daddr="169.254.169.254")
    check(e["process"]["tid"] == tid and e["action"] == "deny", f"{e['process']}")
    _, out = f.untracked("thread-connect", "169.254.169.254", "80", "x")
    check(out.endswith("ok"), f"untracked thread: {out!r}")


@case("network/raw_socket")
def raw_socket():
    f = Fixture.get()
    pid, out = f.tracked("raw")
    check(out == "errno EPERM", f"tracked raw socket: {out!r}")
    e = f.env.agent.wait(lambda e: e["type"] == "network_socket" and
                         e["process"]["pid"] == pid, what="raw socket event")
    check(e["action"] == "deny" and e["network"]["socket_type"] == "raw", f"{e}")
    _, out = f.untracked("raw")
    check(out == "ok", f"untracked raw socket: {out!r}")


@case("network/most_specific_prefix_wins")
def most_specific():
    pol = open_policy(deny=["10.0.0.0/8"],
                      allow=[{"to": "10.20.0.5/32", "ports": [5432],
                              "protocol": "tcp"}])
    f = Fixture.get("specific", pol)
    pid, out = f.tracked("connect", "10.20.0.5", "5432", "tcp")
    check(out == "ok", f"allowed exception: {out!r}")
    e = f.event(pid, dport=5432)
    check(e["action"] == "allow" and "allow[0]" in e["rule"], f"{e.get('rule')}")
    deny(f, "10.20.0.5", 80, rule="deny[0]")            # other port: the /8
    deny(f, "10.20.0.5", 5432, "udp", rule="deny[0]")   # other protocol
    deny(f, "10.1.2.3", 53, rule="deny[0]")


@case("network/monitor_mode_audits")
def monitor():
    pol = open_policy(deny=["metadata"])
    pol["profiles"]["default"]["mode"] = "monitor"
    f = Fixture.get("monitor", pol)
    pid, out = f.tracked("connect", "169.254.169.254", "80", "tcp")
    check(out == "ok", f"monitor mode must not block: {out!r}")
    e = f.event(pid, daddr="169.254.169.254")
    check(e["action"] == "audit", f"action {e['action']}")


@case("network/nameservers_follow_resolv_conf")
def resolv_reread():
    f = Fixture.get("resolv")
    pid, out = f.tracked("connect", "10.1.2.3", "53", "udp")
    check(out == "ok", f"nameserver before the change: {out!r}")
    n = len(f.env.agent.find(lambda e: e["type"] == "policy_load"))
    # Replace the file by rename, as resolvconf and NetworkManager do.
    tmp = f.resolv.name + ".new"
    with open(tmp, "w") as w:
        w.write("nameserver 10.20.0.5\n")
    os.rename(tmp, f.resolv.name)
    f.env.agent.wait(lambda e: len(f.env.agent.find(
        lambda x: x["type"] == "policy_load")) > n, what="reload after the change")
    pid, out = f.tracked("connect", "10.20.0.5", "53", "udp")
    check(out == "ok", f"the new nameserver: {out!r}")
    e = f.event(pid, daddr="10.20.0.5")
    check(e["action"] == "allow" and "(nameservers)" in e["rule"], f"{e.get('rule')}")
    deny(f, "10.1.2.3", 53, "udp", rule="(private)")
