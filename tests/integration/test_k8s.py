# SPDX-License-Identifier: GPL-2.0-only
"""Pod awareness and select.k8s, with the node faked where it must be: the
kubelet's container links in a directory given as --host-root, and cgroups
named as containerd's systemd driver names them, under a test cgroup."""
import os
import shutil
import tempfile
import uuid

from lib import Cgroup, Env, case, check, marker, open_policy


def container(env, root, ns, pod, name):
    """A cgroup and a kubelet log link for a fake container."""
    cid = uuid.uuid4().hex + uuid.uuid4().hex
    puid = str(uuid.uuid4())
    pod_cg = Cgroup(parent=env.cg, name=f"kubepods-besteffort-pod{puid.replace('-', '_')}.slice")
    ctr_cg = Cgroup(parent=pod_cg, name=f"cri-containerd-{cid}.scope")
    links = os.path.join(root, "var", "log", "containers")
    os.symlink("/dev/null", os.path.join(links, f"{pod}_{ns}_{name}-{cid}.log"))
    return cid, puid, ctr_cg


@case("k8s/select_and_enrich")
def select_and_enrich():
    root = tempfile.mkdtemp(prefix="mwnode-")
    os.makedirs(os.path.join(root, "var", "log", "containers"))
    pol = open_policy({"mcp-pods": {
        "select": {"k8s": {"namespace": "mcp", "pod": "fetch-*"}},
        "network": {"default": "allow"}}})
    pre = {}

    def policy(e):
        pre["c"] = container(e, root, "mcp", "fetch-7d9f", "server")
        pre["other"] = container(e, root, "default", "web-1", "nginx")
        return pol
    try:
        with Env(policy, extra=["--host-root", root]) as env:
            cid, puid, cg = pre["c"]
            m = marker()
            pid, rc, out, err = env.run(["/bin/sh", "-c", f"/bin/echo {m}"],
                                        cgroup=cg)
            e = env.agent.wait(lambda e: e["type"] == "process_exec" and
                               e["process"]["pid"] == pid, what="pod exec")
            check(e["mcp_server"]["profile"] == "mcp-pods" and
                  e["mcp_server"]["source"] == "cgroup", f"{e['mcp_server']}")
            check(e.get("container", {}).get("id") == cid, f"container {e.get('container')}")
            k = e.get("k8s", {})
            check(k.get("namespace") == "mcp" and k.get("pod") == "fetch-7d9f" and
                  k.get("container") == "server" and k.get("pod_uid") == puid,
                  f"k8s {k}")
            # Another namespace: not selected, not tracked.
            _, _, _, _ = env.run(["/bin/sh", "-c", f"/bin/echo {m}-web"],
                                 cgroup=pre["other"][2])
            # A pod that appears later is selected on the fly.
            n = len(env.agent.find(lambda e: e["type"] == "policy_load"))
            cid2, _, cg2 = container(env, root, "mcp", "fetch-new", "server")
            env.agent.wait(lambda e: len(env.agent.find(
                lambda x: x["type"] == "policy_load")) > n, what="reload")
            pid2, _, _, _ = env.run(["/bin/sh", "-c", f"/bin/echo {m}-late"],
                                    cgroup=cg2)
            e2 = env.agent.wait(lambda e: e["type"] == "process_exec" and
                                e["process"]["pid"] == pid2, what="late pod exec")
            check(e2["k8s"]["pod"] == "fetch-new" and
                  e2["container"]["id"] == cid2, f"{e2.get('k8s')}")
            env.agent.barrier()
            check(not env.agent.find(lambda e: any(f"{m}-web" in a for a in
                                                   e.get("process", {}).get("args", []))),
                  "a pod of another namespace was tracked")
    finally:
        shutil.rmtree(root, ignore_errors=True)
