#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Issue 7: the image's entrypoint runs the way the DaemonSet runs it, without
# a container engine, and enforces. Everything is read from the manifests
# (deploy/kubernetes/base/daemonset.yaml, its ConfigMap, the Dockerfile's
# ENTRYPOINT), nothing about the pod is hard-coded here:
#   - the container's command (the ENTRYPOINT, /usr/local/bin/mcpwarden being
#     build/mcpwarden) with exactly the container's args;
#   - a mount namespace of its own (a network, UTS and IPC namespace too when
#     hostNetwork is false; the host PID namespace when hostPID is true;
#     a cgroup namespace rooted at a "pod" cgroup), where every volumeMount
#     is bound from its source: hostPath volumes from the host, the
#     ConfigMap's keys as files, readOnly mounts read-only, and the root file
#     system read-only with readOnlyRootFilesystem;
#   - the container's capabilities as the bounding set, no_new_privs when
#     allowPrivilegeEscalation is false, an empty environment;
#   - readiness and liveness by the probes' httpGet (port by name);
#   - a workload on the host, through `mcpwarden exec` on the control socket
#     the pod shares with the host: loopback connect EPERM, exec from /tmp
#     refused (126), the deny events on the agent's stdout; untracked, both
#     work;
#   - SIGTERM within terminationGracePeriodSeconds: exit 0, the fence left
#     in force (pins, the fanotify guard outside the pod's cgroup) after the
#     pod's cgroup is killed; the next pod adopts it; uninstall removes it.
# Safety (tests/ENVIRONMENT rules): the hostPath volumes that would touch the
# node's own agent state are bound from directories this test creates:
#   the cgroup v2 hierarchy  -> a child cgroup of this host's cgroup2 mount,
#                               so the socket programs attach there only
#                               (checked: nothing new on the real root);
#   bpffs                    -> a directory of the host's bpffs;
#   the --socket directory   -> a temporary directory.
# All removed at the end, also on failure. Root only. "N passed, N failed".
set -u
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
BIN=$ROOT/${MCPWARDEN:-build/mcpwarden}
BASE=deploy/kubernetes/base
DS=$BASE/daemonset.yaml
DOCKERFILE=deploy/docker/Dockerfile
N=deploy/daemonset_run
passed=0
failed=0
ok() { echo "ok $N: $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $N: $1"; failed=$((failed + 1)); }
result() { echo "$passed passed, $failed failed"; [ "$failed" = 0 ]; exit; }

[ "$(id -u)" = 0 ] || { fail "needs root"; result; }
if ! python3 -c 'import yaml' 2>/dev/null; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		python3-yaml >/dev/null 2>&1
	python3 -c 'import yaml' 2>/dev/null || { fail "python3-yaml is missing and not installable"; result; }
fi

CG2=$(awk '$3=="cgroup2"{print $2; exit}' /proc/self/mounts)
[ -n "$CG2" ] || { fail "no cgroup v2 mount on this machine"; result; }
BPFFS=$(awk '$3=="bpf"{print $2; exit}' /proc/self/mounts)
[ -n "$BPFFS" ] || { fail "no bpffs mounted on this machine"; result; }

T=$(mktemp -d /run/mwds.XXXXXX)
chmod 755 "$T"
CG=$CG2/mwds-$$		# the node's cgroup v2 root, as the pod sees it
BPFD=$BPFFS/mwds-$$	# the node's bpffs, as the pod sees it
TMPX=/tmp/mwds-true-$$
SHMX=/dev/shm/mwds-true-$$
AP=
INIT=
LP=
CREATED=()		# mount points this test had to create on the host
AGENT_RC=

cleanup() {
	local d
	if [ -n "$AP" ]; then
		kill -KILL "$AP" 2>/dev/null
		wait "$AP" 2>/dev/null
		AP=
	fi
	[ -n "$LP" ] && { kill "$LP" 2>/dev/null; wait "$LP" 2>/dev/null; LP=; }
	[ -n "$INIT" ] && { kill "$INIT" 2>/dev/null; wait "$INIT" 2>/dev/null; INIT=; }
	if [ -d "$CG" ]; then
		# Whatever is left in the test's cgroup was started by the test.
		[ -e "$CG/cgroup.kill" ] && echo 1 >"$CG/cgroup.kill" 2>/dev/null
		for _ in $(seq 50); do
			find "$CG" -depth -type d -exec rmdir {} + 2>/dev/null
			[ -d "$CG" ] || break
			sleep 0.1
		done
	fi
	if [ -d "$BPFD" ]; then
		rm -rf "$BPFD"
	fi
	for d in "${CREATED[@]}"; do rmdir "$d" 2>/dev/null; done
	CREATED=()
	rm -rf "$T" "$TMPX" "$SHMX"
}
trap 'cleanup; trap - EXIT' EXIT
trap 'exit 130' INT TERM

# 1. The pod, from the manifests.
if ! python3 - "$DS" "$BASE" "$DOCKERFILE" "$T" >"$T/pod.sh" 2>"$T/pod.err" <<'EOF'
import glob, json, os, re, shlex, sys
import yaml

ds_path, base, dockerfile, tmp = sys.argv[1:]
def q(v): return shlex.quote(str(v))
def arr(name, vals): print("%s=(%s)" % (name, " ".join(q(v) for v in vals)))

ds = yaml.safe_load(open(ds_path))
assert ds["kind"] == "DaemonSet", "not a DaemonSet"
spec = ds["spec"]["template"]["spec"]
c = spec["containers"][0]
sc = c.get("securityContext", {})

# ENTRYPOINT (exec form) unless the container sets command.
ep = None
for line in open(dockerfile):
    m = re.match(r"\s*ENTRYPOINT\s+(\[.*\])\s*$", line)
    if m:
        ep = json.loads(m.group(1))
cmd = c.get("command") or ep
assert cmd, "no ENTRYPOINT in %s and no command in the container" % dockerfile
arr("POD_CMD", cmd)
arr("POD_ARGS", c.get("args", []))

# The ConfigMaps of the base (kustomization resources).
kust = yaml.safe_load(open(os.path.join(base, "kustomization.yaml")))
cms = {}
for r in kust.get("resources", []):
    for doc in yaml.safe_load_all(open(os.path.join(base, r))):
        if doc and doc.get("kind") == "ConfigMap":
            cms[doc["metadata"]["name"]] = doc

vols = {v["name"]: v for v in spec.get("volumes", [])}
mounts = []
for i, vm in enumerate(c.get("volumeMounts", [])):
    v = vols[vm["name"]]
    ro = "1" if vm.get("readOnly") else "0"
    if "hostPath" in v:
        mounts.append(("hostPath", vm["mountPath"], v["hostPath"]["path"],
                       v["hostPath"].get("type", ""), ro, vm["name"]))
    elif "configMap" in v:
        name = v["configMap"]["name"]
        assert name in cms, "ConfigMap %s is not in %s" % (name, base)
        d = os.path.join(tmp, "configmap-" + vm["name"])
        os.mkdir(d)
        data = cms[name].get("data", {})
        items = v["configMap"].get("items") or [{"key": k, "path": k} for k in data]
        mode = v["configMap"].get("defaultMode", 0o644)
        for it in items:
            p = os.path.join(d, it["path"])
            with open(p, "w") as f:
                f.write(data[it["key"]])
            os.chmod(p, it.get("mode", mode))
        os.chmod(d, 0o755)
        mounts.append(("configMap", vm["mountPath"], d, name, "1", vm["name"]))
    else:
        raise SystemExit("volume %s: type not emulated: %s" % (vm["name"], list(v)))
print("POD_MOUNTS=%d" % len(mounts))
for i, m in enumerate(mounts):
    arr("POD_MOUNT_%d" % i, m)

caps = sc.get("capabilities", {})
arr("POD_CAPS_ADD", caps.get("add", []))
arr("POD_CAPS_DROP", caps.get("drop", []))
print("POD_NNP=%d" % (sc.get("allowPrivilegeEscalation", True) is False))
print("POD_RO_ROOT=%d" % bool(sc.get("readOnlyRootFilesystem")))
print("POD_PRIVILEGED=%d" % bool(sc.get("privileged")))
print("POD_UID=%s" % q(sc.get("runAsUser", 0)))
print("POD_GID=%s" % q(sc.get("runAsGroup", 0)))
print("POD_HOSTPID=%d" % bool(spec.get("hostPID")))
print("POD_HOSTNET=%d" % bool(spec.get("hostNetwork")))
print("POD_GRACE=%s" % q(spec.get("terminationGracePeriodSeconds", 30)))
ports = {p["name"]: p["containerPort"] for p in c.get("ports", []) if "name" in p}
probes = []
for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
    p = c.get(kind)
    if not p:
        continue
    h = p.get("httpGet")
    assert h, "%s: only httpGet probes are emulated" % kind
    port = h["port"]
    port = ports[port] if isinstance(port, str) and not port.isdigit() else int(port)
    probes.append((kind, h.get("scheme", "HTTP").lower(), port, h.get("path", "/"),
                   p.get("timeoutSeconds", 1)))
print("POD_PROBES=%d" % len(probes))
for i, p in enumerate(probes):
    arr("POD_PROBE_%d" % i, p)
EOF
then
	fail "reading the manifests: $(tail -n 3 "$T/pod.err" | tr '\n' ' ')"
	result
fi
. "$T/pod.sh"
ok "manifests read: command ${POD_CMD[*]}, args ${POD_ARGS[*]}, $POD_MOUNTS volume mounts, $POD_PROBES probes"

[ "${POD_CMD[0]}" = /usr/local/bin/mcpwarden ] ||
	{ fail "the entrypoint is ${POD_CMD[0]}, not the binary the Dockerfile installs (/usr/local/bin/mcpwarden)"; result; }
[ "$POD_HOSTPID" = 1 ] || { fail "hostPID is false: the agent needs the host PID namespace (not emulated)"; result; }
[ "$POD_UID:$POD_GID" = 0:0 ] || { fail "runAsUser/runAsGroup $POD_UID:$POD_GID, the agent needs 0:0"; result; }

argval() {	# the value of --$1 in the container's args
	local i
	for ((i = 0; i < ${#POD_ARGS[@]}; i++)); do
		[ "${POD_ARGS[$i]}" = "--$1" ] && { echo "${POD_ARGS[$((i + 1))]}"; return; }
		case "${POD_ARGS[$i]}" in --$1=*) echo "${POD_ARGS[$i]#--$1=}"; return ;; esac
	done
}
copy() { local -n _s=$1 _d=$2; _d=("${_s[@]}"); }	# array $1 -> array $2
m=() p=()
under() { [ "$1" = "$2" ] || case "$1" in "${2%/}"/*) true ;; *) false ;; esac; }
A_CGROUP=$(argval cgroup)
A_SOCKET=$(argval socket)
A_PINDIR=$(argval pin-dir)
A_METRICS=$(argval metrics)
A_POLICY=$(argval policy)
A_HOSTROOT=$(argval host-root)
A_STATEDIR=$(argval state-dir)
[ -n "$A_SOCKET" ] || A_SOCKET=/run/mcpwarden/control.sock
[ -n "$A_PINDIR" ] || A_PINDIR=/sys/fs/bpf/mcpwarden
[ -n "$A_STATEDIR" ] || A_STATEDIR=/run/mcpwarden-state
[ -n "$A_CGROUP" ] || { fail "the args have no --cgroup: the agent would attach to the pod's own cgroup v2 root"; result; }
# --output FILE / unix: / tcp: would need their own checks; stdout is the default.
grep -q -- '--output' <<<"${POD_ARGS[*]}" && { fail "the args set --output: this check reads the events on stdout"; result; }

# The ConfigMap's policy is the built-in one (gen-configmap.sh).
if [ -n "$A_POLICY" ]; then
	pol=
	for ((i = 0; i < POD_MOUNTS; i++)); do
		copy POD_MOUNT_$i m
		[ "${m[0]}" = configMap ] && under "$A_POLICY" "${m[1]}" && pol=${m[2]}${A_POLICY#"${m[1]%/}"}
	done
	if [ -z "$pol" ] || [ ! -f "$pol" ]; then
		fail "--policy $A_POLICY is not in a ConfigMap volume of the pod"
	elif cmp -s "$pol" <("$BIN" policy default); then
		ok "ConfigMap policy at $A_POLICY equals \`mcpwarden policy default\`"
	else
		fail "ConfigMap policy at $A_POLICY differs from \`mcpwarden policy default\` (run $BASE/gen-configmap.sh)"
	fi
fi

# 2. What each mount point is bound from. Paths of the node's own agent are
# replaced by directories of this test; everything else is the host's path.
mkdir "$CG" "$BPFD"
mkdir -p "$CG/kubepods/pod-mcpwarden" "$CG/system.slice/mcp-test.service" "$T/run" "$T/state"
chmod 755 "$T/run"
chmod 700 "$T/state"
POD_CG=$CG/kubepods/pod-mcpwarden
WL_CG=$CG/system.slice/mcp-test.service
HOST_SOCKET=
CG_BOUND=0
STATE_BOUND=0
: >"$T/binds"
for ((i = 0; i < POD_MOUNTS; i++)); do
	copy POD_MOUNT_$i m
	kind=${m[0]} mp=${m[1]} src=${m[2]} type=${m[3]} ro=${m[4]} name=${m[5]}
	if [ "$kind" = hostPath ]; then
		if [ "$type" = Directory ] && [ ! -d "$src" ]; then
			fail "hostPath $src (volume $name, type Directory) does not exist on this node: the pod would not start"
			result
		fi
		fstype=$(stat -f -c %T "$src" 2>/dev/null)
		if under "$A_CGROUP" "$mp" || under "$src" /sys/fs/cgroup || under "$src" "$CG2" ||
			[ "$fstype" = cgroup2fs ]; then
			src=$CG
			[ "$A_CGROUP" != "$mp" ] && under "$A_CGROUP" "$mp" && mkdir -p "$CG${A_CGROUP#"$mp"}"
			CG_BOUND=1
		elif under "$A_PINDIR" "$mp" || [ "$fstype" = bpf_fs ]; then
			src=$BPFD
		elif under "$A_SOCKET" "$mp"; then
			src=$T/run
			HOST_SOCKET=$T/run${A_SOCKET#"$mp"}
		elif under "$A_STATEDIR" "$mp"; then
			src=$T/state
			STATE_BOUND=1
		elif [ ! -e "$src" ]; then	# DirectoryOrCreate and the like
			src=$T/hostpath-$name
			mkdir -p "$src"
		fi
	fi
	if [ ! -e "$mp" ]; then	# the mount point must exist (the pod's image has it)
		mkdir -p "$mp" && CREATED=("$mp" "${CREATED[@]}")
	fi
	mkdir "$T/stage-$i"
	printf '%s\t%s\t%s\n' "$src" "$mp" "$ro" >>"$T/binds"
	echo "  bind $src -> $mp$([ "$ro" = 1 ] && echo ' (read-only)')"
done
[ "$CG_BOUND" = 1 ] || { fail "no volume mounts the --cgroup $A_CGROUP of the args: refusing to attach to this host's cgroup"; result; }
[ "$STATE_BOUND" = 1 ] || { fail "no volume keeps --state-dir $A_STATEDIR on the host: the next pod's agent cannot find the guard"; result; }
[ -n "$HOST_SOCKET" ] || { fail "no volume shares --socket $A_SOCKET with the host: \`mcpwarden exec\` on the node cannot reach the agent"; result; }
under "$A_PINDIR" /sys/fs/bpf || { fail "--pin-dir $A_PINDIR is not under a bpffs volume"; result; }
HOST_PINDIR=$BPFD${A_PINDIR#/sys/fs/bpf}

# The metrics port (probes): in the pod's own network namespace it is free;
# with hostNetwork it must be free on this host.
port=${A_METRICS##*:}
if [ "$POD_HOSTNET" = 1 ] && [ -n "$A_METRICS" ] && [ -n "$(ss -ltnH "sport = :$port")" ]; then
	fail "--metrics port $port is in use on this host (hostNetwork): free it, the args are not changed"
	result
fi
for ((i = 0; i < POD_PROBES; i++)); do
	copy POD_PROBE_$i p
	[ "${p[2]}" = "$port" ] || fail "${p[0]} probes port ${p[2]}, --metrics listens on $port"
done

# /proc/1 is the node's init (hostPID): --host-root /proc/1/root is the
# node's root. Where this sandbox cannot follow its own pid 1's root, a
# process of the test in the host's mount namespace stands in for pid 1,
# inside the pod's mount namespace only.
sleep 3600 &
INIT=$!
STANDIN=0
if [ -n "$A_HOSTROOT" ] && under "$A_HOSTROOT" /proc/1 && ! ls "$A_HOSTROOT/" >/dev/null 2>&1; then
	STANDIN=1
	echo "  note: $A_HOSTROOT is not accessible here ($(ls "$A_HOSTROOT/" 2>&1 | head -n 1)); /proc/$INIT (host mount namespace) stands in for /proc/1 in the pod"
fi

# The pod's mount namespace, then the container's process.
bset=-all
for c in "${POD_CAPS_ADD[@]}"; do bset="$bset,+$(echo "$c" | tr 'A-Z' 'a-z')"; done
grep -qx ALL <<<"$(printf '%s\n' "${POD_CAPS_DROP[@]}")" || bset=
cat >"$T/pod-init.sh" <<'EOF'
# In the pod's namespaces, as root with all capabilities.
set -e
T=$1 STANDIN=$2 INIT=$3 RO_ROOT=$4 PRIV=$5 HOSTNET=$6 BSET=$7 NNP=$8
shift 8
[ "$HOSTNET" = 1 ] || ip link set lo up
# The sources first: binding the targets hides some of them.
i=0
while IFS=$'\t' read -r src mp ro; do
	mount --rbind "$src" "$T/stage-$i"
	i=$((i + 1))
done <"$T/binds"
[ "$STANDIN" = 1 ] && mount --bind "/proc/$INIT" /proc/1
[ "$RO_ROOT" = 1 ] && mount -o remount,bind,ro /
[ "$PRIV" = 1 ] || mount -o remount,bind,ro /sys	# sysfs is read-only in an unprivileged container
i=0
while IFS=$'\t' read -r src mp ro; do
	mountpoint -q "$mp" && umount -R "$mp"
	mount --rbind "$T/stage-$i" "$mp"
	[ "$ro" = 1 ] && mount -o remount,bind,ro "$mp"
	i=$((i + 1))
done <"$T/binds"
cd /
set --  env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	HOSTNAME=mcpwarden-daemonset-run "$@"
[ -n "$BSET" ] && set -- setpriv --bounding-set "$BSET" --inh-caps -all \
	$([ "$NNP" = 1 ] && echo --no-new-privs) -- "$@"
exec "$@"
EOF
ns=(-m --propagation private -C)
[ "$POD_HOSTNET" = 1 ] || ns+=(-n -u -i)
ROOT_ATTACH_BEFORE=$(bpftool cgroup show "$CG2" 2>/dev/null | wc -l)
probe() {	# scheme port path timeout -> HTTP code
	local pre=()
	[ "$POD_HOSTNET" = 1 ] || pre=(nsenter "--net=/proc/$AP/ns/net")
	"${pre[@]}" curl -sk -o /dev/null -m "$4" -w '%{http_code}' "$1://127.0.0.1:$2$3" 2>/dev/null
}
# start_pod: the pod's cgroup (and cgroup namespace), inside the test's
# "node root"; then ready: the probes answer (from the node, into the pod's
# network).
start_pod() {
	sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh "$POD_CG" \
		unshare "${ns[@]}" bash "$T/pod-init.sh" "$T" "$STANDIN" "$INIT" "$POD_RO_ROOT" \
		"$POD_PRIVILEGED" "$POD_HOSTNET" "$bset" "$POD_NNP" \
		"$BIN" "${POD_CMD[@]:1}" "${POD_ARGS[@]}" >"$T/stdout" 2>"$T/stderr" &
	AP=$!
	ready=0
	for _ in $(seq 150); do
		kill -0 "$AP" 2>/dev/null || break
		if [ -S "$HOST_SOCKET" ] && [ "$POD_PROBES" -gt 0 ]; then
			copy POD_PROBE_0 p
			code=$(probe "${p[1]}" "${p[2]}" "${p[3]}" "${p[4]}")
			[ "${code:-0}" -ge 200 ] && [ "${code:-0}" -lt 400 ] && { ready=1; break; }
		fi
		sleep 0.1
	done
	if [ "$ready" != 1 ]; then
		kill -0 "$AP" 2>/dev/null || { wait "$AP"; AGENT_RC=$?; AP=; }
		fail "the agent did not become ready (exit ${AGENT_RC:-none}): $(tail -c 400 "$T/stderr" | tr '\n' ' ')"
		result
	fi
}

# 3. The pod starts and becomes ready.
start_pod
for ((i = 0; i < POD_PROBES; i++)); do
	copy POD_PROBE_$i p
	code=$(probe "${p[1]}" "${p[2]}" "${p[3]}" "${p[4]}")
	[ "${code:-0}" -ge 200 ] && [ "${code:-0}" -lt 400 ] &&
		ok "${p[0]}: GET ${p[1]}://:${p[2]}${p[3]} answers $code" ||
		fail "${p[0]}: GET ${p[1]}://:${p[2]}${p[3]} answers ${code:-nothing}"
done

# The process is the container's: its bounding set (the manifest's
# capabilities, less what this host does not grant), no_new_privs, a
# read-only root, the pod's network namespace.
have=$(capsh --decode="$(awk '/^CapBnd/{print $2}' /proc/self/status)" | sed 's/.*=//')
got=$(capsh --decode="$(awk '/^CapBnd/{print $2}' "/proc/$AP/status")" | sed 's/.*=//')
want=
for c in "${POD_CAPS_ADD[@]}"; do
	c=cap_$(echo "$c" | tr 'A-Z' 'a-z')
	grep -qw "$c" <<<"${have//,/ }" && want="$want,$c"
done
want=$(tr ',' '\n' <<<"${want#,}" | sort | paste -sd,)
got=$(tr ',' '\n' <<<"$got" | sort | paste -sd,)
nnp=$(awk '/^NoNewPrivs/{print $2}' "/proc/$AP/status")
rootro=$(awk '$5=="/"{print $6}' "/proc/$AP/mountinfo" | tail -n 1)
netns=same
[ "$(readlink /proc/$AP/ns/net)" = "$(readlink /proc/self/ns/net)" ] || netns=own
if [ -z "$bset" ] || [ "$got" = "$want" ]; then
	[ "$nnp" = "$POD_NNP" ] && { [ "$POD_RO_ROOT" = 0 ] || [[ "$rootro" == ro* ]]; } &&
		{ [ "$POD_HOSTNET" = 1 ] || [ "$netns" = own ]; } &&
		ok "the agent runs as the container: bounding set $got, NoNewPrivs $nnp, root $rootro, $netns network namespace" ||
		fail "the container's process: NoNewPrivs $nnp, root $rootro, $netns network namespace"
else
	fail "the agent's bounding set is $got, the manifest's (on this host) $want"
fi

# Safety and placement: the socket programs are on the test's cgroup only.
mine=$(bpftool cgroup show "$CG" 2>/dev/null | grep -c -E 'connect4|sendmsg4')
root_after=$(bpftool cgroup show "$CG2" 2>/dev/null | wc -l)
if [ "$mine" -ge 1 ] && [ "$root_after" = "$ROOT_ATTACH_BEFORE" ]; then
	ok "the agent's --cgroup $A_CGROUP is the bound cgroup: programs attached to $CG, none added to $CG2"
else
	fail "attachments: $mine on $CG, $CG2 had $ROOT_ATTACH_BEFORE lines, now $root_after"
	result
fi
[ -d "$HOST_PINDIR" ] && ok "pins in the host's bpffs through the volume ($HOST_PINDIR)" ||
	fail "no pins at $HOST_PINDIR: --pin-dir $A_PINDIR is not on the host's bpffs"

# 4. Enforcement, for a workload on the node.
in_wl() { sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh "$WL_CG" "$@"; }
tracked() { in_wl "$BIN" exec --socket "$HOST_SOCKET" -- "$@"; }
python3 -c '
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
print(s.getsockname()[1], flush=True)
while True:
    c, _ = s.accept(); c.close()' >"$T/lport" &
LP=$!
for _ in $(seq 50); do [ -s "$T/lport" ] && break; sleep 0.1; done
LPORT=$(cat "$T/lport")
CONNECT="import socket
try:
    socket.create_connection(('127.0.0.1', $LPORT), 2); print('connected')
except OSError as e: print('errno', e.errno)"
u=$(in_wl python3 -c "$CONNECT" 2>&1)
t=$(tracked python3 -c "$CONNECT" 2>&1)
[ "$u" = connected ] && [ "$t" = "errno 1" ] &&
	ok "loopback connect to a listener (127.0.0.1:$LPORT): tracked EPERM, untracked connects" ||
	fail "loopback connect: tracked \"$t\" (errno 1 expected), untracked \"$u\" (connected expected)"
# /tmp, and /dev/shm: a mount mark made from a mount namespace of its own
# is blind to the host's mounts (tests/deploy/hardening.sh); --host-root
# must make the pod's marks on the node's mounts.
for x in "$TMPX" "$SHMX"; do
	cp /bin/true "$x"
	chmod 755 "$x"
	in_wl "$x"; urc=$?
	err=$(tracked "$x" 2>&1); trc=$?
	if [ "$urc" = 0 ] && [ "$trc" = 126 ] && grep -q "Operation not permitted" <<<"$err"; then
		ok "exec of a copy of /bin/true in ${x%/*}: tracked refused (126, Operation not permitted), untracked runs"
	else
		fail "exec from ${x%/*}: tracked exit $trc ($err) (126 expected), untracked exit $urc (0 expected)"
	fi
done
sleep 0.5	# the events are written as they come; give the output a moment
if grep '"type":"network_connect"' "$T/stdout" | grep '"action":"deny"' | grep -q "\"dport\":${LPORT}[,}]"; then
	ok "the agent's stdout has the network_connect deny event (port $LPORT)"
else
	fail "no network_connect deny event for port $LPORT on the agent's stdout: $(grep -c . "$T/stdout") lines"
fi
for x in "$TMPX" "$SHMX"; do
	if grep '"type":"process_exec"' "$T/stdout" | grep '"action":"deny"' | grep -q "\"$x\""; then
		ok "the agent's stdout has the process_exec deny event ($x)"
	else
		fail "no process_exec deny event for $x on the agent's stdout"
	fi
done
kill "$LP" 2>/dev/null; wait "$LP" 2>/dev/null; LP=

# 5. A rolling update: the kubelet stops the pod (SIGTERM, then SIGKILL
# after the grace period) and kills what is left in its cgroup. The fence
# stays: the pins, and the fanotify guard, which left the pod's cgroup.
kill -TERM "$AP"
for _ in $(seq $((POD_GRACE * 10))); do kill -0 "$AP" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$AP" 2>/dev/null; then
	fail "the agent did not stop within terminationGracePeriodSeconds ($POD_GRACE s): SIGKILL"
	kill -KILL "$AP"
fi
wait "$AP"; AGENT_RC=$?; AP=
grep -q '"type":"agent_stop"' "$T/stdout" && grep '"type":"agent_stop"' "$T/stdout" |
	grep -q '"left_in_force":true' && ok "agent_stop event on stdout, the fence left in force" ||
	fail "no agent_stop event with left_in_force on stdout"
[ -e "$POD_CG/cgroup.kill" ] && echo 1 >"$POD_CG/cgroup.kill"
GUARD=$(pgrep -f "^mcpwarden guard --pin-dir $A_PINDIR" | head -n 1)
if [ "$AGENT_RC" = 0 ] && [ -e "$HOST_PINDIR/link_connect4" ]; then
	ok "SIGTERM: exit 0 within $POD_GRACE s, the links stay pinned"
else
	fail "SIGTERM: exit $AGENT_RC, $HOST_PINDIR: $(ls "$HOST_PINDIR" 2>&1 | head -n 3 | tr '\n' ' ')"
fi
# No agent to ask: a server found by name, in the kernel.
printf '#!/bin/sh\n%s\necho rc=$?\n' "$TMPX" >"$T/mcp-server-probe"
chmod 755 "$T/mcp-server-probe"
out=$(in_wl "$T/mcp-server-probe" 2>&1)
if [ -n "$GUARD" ] && ! grep -qx "$GUARD" "$POD_CG/cgroup.procs" && grep -q "rc=126" <<<"$out"; then
	ok "the pod's cgroup killed: its guard $GUARD lives on outside it, and a detected server's exec from ${TMPX%/*} is refused (126)"
else
	fail "after the pod: guard '${GUARD:-none}', a detected server's exec from ${TMPX%/*}: $out"
fi
# The next pod adopts it all.
start_pod
if grep '"type":"agent_start"' "$T/stdout" | grep -q '"adopted":"all"'; then
	ok "the next pod's agent adopts the pinned state (adopted: all)"
else
	fail "the next pod's agent_start: $(grep '"type":"agent_start"' "$T/stdout" | head -c 300)"
fi
kill -TERM "$AP"; wait "$AP"; AP=
[ -e "$POD_CG/cgroup.kill" ] && echo 1 >"$POD_CG/cgroup.kill"
# Node removal: the uninstall DaemonSet's command, on the node.
gone() { [ ! -e "/proc/$1" ] || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
# With the capabilities the uninstall DaemonSet's container has, no more.
UN_CAPS=$(python3 -c '
import yaml
d = yaml.safe_load(open("deploy/kubernetes/uninstall/uninstall.yaml"))
c = d["spec"]["template"]["spec"]["initContainers"][0]["securityContext"]["capabilities"]
print(",".join("+" + x.lower() for x in c["add"]))')
if setpriv --bounding-set "-all,$UN_CAPS" --inh-caps -all -- \
	"$BIN" uninstall --pin-dir "$HOST_PINDIR" --state-dir "$T/state" &&
	[ ! -e "$HOST_PINDIR" ] && gone "$GUARD"; then
	ok "mcpwarden uninstall with the uninstall pod's capabilities ($UN_CAPS): the pins are gone and the guard has exited"
else
	fail "mcpwarden uninstall left $(ls "$HOST_PINDIR" 2>&1 | head -n 3 | tr '\n' ' '), guard ${GUARD:-none}"
fi

cleanup
left=
[ -e "$CG" ] && left="$left $CG"
[ -e "$BPFD" ] && left="$left $BPFD"
[ -e "$T" ] && left="$left $T"
for d in $(awk '{print $2}' /proc/self/mounts); do case "$d" in *mwds*) left="$left mount:$d" ;; esac; done
[ -z "$left" ] && ok "cleaned up: test cgroup, bpffs directory, temporary files, mounts" ||
	fail "left behind:$left"
result
