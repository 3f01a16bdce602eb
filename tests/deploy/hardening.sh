#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The agent on this kernel under the systemd unit's capability bounding set
# (the DaemonSet's set too: tests/deploy/systemd_check.sh keeps them equal):
#   - a wrapper of another uid (nobody) is tracked and fenced: connect to
#     loopback EPERM, exec from /dev/shm and /tmp refused (126);
# and the reasons the unit and the DaemonSet give still hold:
#   - without CAP_KILL the wrapper of another uid still works;
#   - without CAP_SYS_PTRACE the start-up scan misses another uid's server;
#   - in a mount namespace of its own (what ProtectSystem=, PrivateTmp= ...
#     give a service) the /dev/shm mount mark is blind (the exec is only
#     killed after the fact), and with a private /tmp the host's /tmp is not
#     fenced at all.
# Root only; socket hooks on a cgroup of its own, pins in their own
# directory. "N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
BIN=$PWD/${MCPWARDEN:-build/mcpwarden}
. tests/deploy/lib.sh
CG2=$(awk '$3=="cgroup2"{print $2; exit}' /proc/self/mounts)
T=$(mktemp -d /run/mwdeploy.XXXXXX)
chmod 755 "$T"
CG=$CG2/mwdeploy-$$
mkdir "$CG"
SHM=/dev/shm/mwdeploy-true-$$
TMPX=/tmp/mwdeploy-true-$$
cp /bin/true "$SHM"; cp /bin/true "$TMPX"; chmod 755 "$SHM" "$TMPX"
SLEEPER=$T/mcp-server-mwdeploy-$$
cp /bin/sleep "$SLEEPER"
AP=
cleanup() {
	stop_agent
	[ -n "${SP:-}" ] && kill "$SP" 2>/dev/null
	sleep 0.2
	rmdir "$CG" 2>/dev/null
	rm -rf "$T" "$SHM" "$TMPX"
}
trap cleanup EXIT

UNIT_CAPS=$(sed -n 's/^CapabilityBoundingSet=//p' deploy/systemd/mcpwarden.service)
bset() {	# capability names (CAP_X ...) -> setpriv --bounding-set spec
	local s=-all c
	for c in "$@"; do s="$s,+$(echo "${c#CAP_}" | tr 'A-Z' 'a-z')"; done
	echo "$s"
}
without() {	# $1 = capability to leave out of the unit's set
	local c out=()
	for c in $UNIT_CAPS; do [ "$c" = "$1" ] || out+=("$c"); done
	echo "${out[@]}"
}
start_agent() {	# $1 = bounding-set spec, rest = prefix command
	local b=$1
	shift
	rm -f "$T/ev.json" "$T/sock"
	"$@" setpriv --bounding-set "$b" --inh-caps -all -- "$BIN" run --cgroup "$CG" \
		--socket "$T/sock" --pin-dir "/sys/fs/bpf/mwdeploy-$$" --state-dir "$T/state" --output "$T/ev.json" \
		2>"$T/err" &
	AP=$!
	for _ in $(seq 100); do
		[ -S "$T/sock" ] && grep -q agent_start "$T/ev.json" 2>/dev/null && return 0
		kill -0 "$AP" 2>/dev/null || break
		sleep 0.1
	done
	return 1
}
# A clean stop within 10 s, else SIGKILL and the pins removed by hand: an
# agent stuck in a fanotify permission wait (two agents marking the same
# files can deadlock each other, e.g. with tests running at the same time)
# must not hang the test or the other agent.
stop_agent() {
	local i
	[ -n "$AP" ] || return 0
	kill -TERM "$AP" 2>/dev/null
	for i in $(seq 100); do kill -0 "$AP" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$AP" 2>/dev/null; then
		echo "note: the agent did not stop in 10 s (stuck: $(cat /proc/$AP/wchan 2>/dev/null)); killed"
		kill -KILL "$AP" 2>/dev/null
	fi
	wait "$AP" 2>/dev/null
	AP=
	# A stop leaves the fence for the next agent: each start here is a new
	# install, so take it down (the guard too).
	"$BIN" uninstall --pin-dir "/sys/fs/bpf/mwdeploy-$$" --state-dir "$T/state" ||
		rm -rf "/sys/fs/bpf/mwdeploy-$$"
}
as_nobody() {	# run "$@" as nobody inside the test cgroup, through the wrapper
	sh -c 'echo $$ > "$1/cgroup.procs"; shift; exec "$@"' sh "$CG" \
		setpriv --reuid 65534 --regid 65534 --clear-groups -- \
		"$BIN" exec --socket "$T/sock" -- "$@" 2>&1
}
CONNECT='import socket
try:
    socket.create_connection(("127.0.0.1", 9), 2); print("connected")
except OSError as e: print("errno", e.errno)'

# 1. The unit's capability set is enough.
if start_agent "$(bset $UNIT_CAPS)"; then
	out=$(as_nobody python3 -c "$CONNECT")
	[ "$out" = "errno 1" ] && ok "unit capabilities: nobody's wrapped server is tracked, loopback connect EPERM" ||
		fail "unit capabilities: connect" "$out"
	( as_nobody "$SHM" >/dev/null ) 2>/dev/null; rc=$?
	[ $rc = 126 ] && ok "unit capabilities: exec from /dev/shm refused (126)" ||
		fail "unit capabilities: exec from /dev/shm" "exit $rc (126 expected)"
	( as_nobody "$TMPX" >/dev/null ) 2>/dev/null; rc=$?
	[ $rc = 126 ] && ok "unit capabilities: exec from /tmp refused (126)" ||
		fail "unit capabilities: exec from /tmp" "exit $rc (126 expected)"
	stop_agent
else
	fail "unit capabilities" "the agent did not start: $(head -c 300 "$T/err")"
	stop_agent
fi

# 1b. The DaemonSet's probes: GET /healthz on --metrics answers 200.
if "$BIN" run --help | grep -q -- --metrics; then
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	rm -f "$T/ev.json" "$T/sock"
	setpriv --bounding-set "$(bset $UNIT_CAPS)" --inh-caps -all -- "$BIN" run --cgroup "$CG" \
		--socket "$T/sock" --pin-dir "/sys/fs/bpf/mwdeploy-$$" --state-dir "$T/state" --output "$T/ev.json" \
		--metrics "127.0.0.1:$port" 2>"$T/err" &
	AP=$!
	code=none
	for _ in $(seq 50); do
		code=$(python3 -c "import urllib.request as u; print(u.urlopen('http://127.0.0.1:$port/healthz', timeout=2).status)" 2>/dev/null) && break
		sleep 0.1
	done
	m=$(python3 -c "import urllib.request as u; print(u.urlopen('http://127.0.0.1:$port/metrics', timeout=2).status)" 2>/dev/null)
	[ "$code" = 200 ] && [ "$m" = 200 ] &&
		ok "probes: /healthz and /metrics answer 200 on --metrics (unit capabilities)" ||
		fail "probes" "/healthz: $code, /metrics: $m $(head -c 200 "$T/err")"
	stop_agent
else
	fail "probes" "this agent has no --metrics: the DaemonSet's httpGet probes need it (use overlays/exec-probes)"
fi

# 2. No CAP_KILL: the wrapper's liveness check (pidfd_send_signal 0) takes
# EPERM as "alive", so another uid's wrapper still works without it.
if start_agent "$(bset $(without CAP_KILL))"; then
	out=$(as_nobody /bin/true)
	case "$out" in
	*"the peer exited"*) fail "without CAP_KILL" "nobody's wrapper is refused ($out): the unit and the DaemonSet need CAP_KILL" ;;
	*) ok "CAP_KILL is not needed: nobody's wrapper works without it" ;;
	esac
	stop_agent
else
	fail "without CAP_KILL" "the agent did not start: $(head -c 300 "$T/err")"
	stop_agent
fi

# 3. CAP_SYS_PTRACE: the start-up scan of another uid's server.
setpriv --reuid 65534 --regid 65534 --clear-groups -- "$SLEEPER" 60 &
SP=$!
sleep 0.3
for caps in "$UNIT_CAPS" "$(without CAP_SYS_PTRACE)"; do
	if start_agent "$(bset $caps)"; then
		n=$(grep agent_start "$T/ev.json" | grep -o '"found_by_scan":[0-9]*' | cut -d: -f2)
		stop_agent
	else
		n=error
		stop_agent
	fi
	case "$caps" in *CAP_SYS_PTRACE*) with=$n ;; *) without_n=$n ;; esac
done
kill "$SP" 2>/dev/null; wait "$SP" 2>/dev/null; SP=
# Other tests may run servers too: compare, do not count.
if [ "$with" -ge 1 ] 2>/dev/null && [ "$without_n" -lt "$with" ] 2>/dev/null; then
	ok "reason for CAP_SYS_PTRACE holds: the scan finds nobody's running server with it ($with found), not without ($without_n)"
else
	fail "reason for CAP_SYS_PTRACE" "found_by_scan with: $with, without: $without_n (fewer without expected)"
fi

# 4. A mount namespace of its own (systemd sandboxing options).
if start_agent "$(bset $UNIT_CAPS)" unshare -m --propagation slave; then
	( as_nobody "$SHM" >/dev/null ) 2>/dev/null; rc=$?
	[ $rc = 137 ] && ok "reason against ProtectSystem=/ProtectHome=/...: in its own mount namespace the /dev/shm exec is only killed after the fact (137), not refused" ||
		fail "own mount namespace" "exec from /dev/shm exited $rc (137 expected): are mount marks namespace-proof now?"
	stop_agent
else
	fail "own mount namespace" "the agent did not start: $(head -c 300 "$T/err")"
	stop_agent
fi
# The checkout may itself live under /tmp (CI's clone): run a copy from $T.
cp "$BIN" "$T/mcpwarden"
if BIN=$T/mcpwarden start_agent "$(bset $UNIT_CAPS)" unshare -m --propagation slave sh -c \
	'mount -t tmpfs tmpfs /tmp && mount -t tmpfs tmpfs /var/tmp && exec "$@"' sh; then
	( as_nobody "$TMPX" >/dev/null ) 2>/dev/null; rc=$?
	[ $rc = 0 ] && ok "reason against PrivateTmp=: with a private /tmp the host's /tmp is not fenced (exec ran)" ||
		fail "PrivateTmp" "exec from the host's /tmp exited $rc (0 expected)"
	stop_agent
else
	fail "private /tmp" "the agent did not start: $(head -c 300 "$T/err")"
	stop_agent
fi
finish
