#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# In-VM test runner (busybox sh, run by /init). Sources every
# /tests/cases/*.sh, then runs each function named case_NAME in file order
# as "vm/NAME", each in its own subshell with a time limit. Prints
# "ok vm/NAME (Ts)" or "FAIL vm/NAME: why" (plus the case's output,
# indented), and last "N passed, N failed". tests/vm/run reads these lines
# from the serial console.
#
# Writing a case (see tests/vm/README.md):
#   case_my_thing() {
#       agent_start a --backend lsm || fail "agent did not start"
#       run_tracked a /bin/hello-static m1 || fail "wrapper failed"
#       wait_for_event "$AGENT_OUT" 10 process_exec m1 >/dev/null ||
#           fail "no process_exec for m1"
#       agent_stop || fail "agent did not stop cleanly"
#   }
#   timeout_my_thing=200     # optional, seconds; default $MW_CASE_TIMEOUT
# No "set -e": every check ends in "|| fail WHY". Agents started with
# agent_start are stopped, and /sys/fs/bpf emptied, after every case.

MW=/bin/mcpwarden
MW_CASE_TIMEOUT=${MW_CASE_TIMEOUT:-120}
MW_START_TIMEOUT=${MW_START_TIMEOUT:-60}	# BPF load under TCG is slow
MW_CASE_FAIL=/tmp/.case-fail
MW_CASE_PIDS=/tmp/.case-pids

# ---- helpers for cases ----

# fail WHY: end the current case, failed, with WHY as the reason.
fail() {
	echo "$*" >"$MW_CASE_FAIL"
	exit 1
}

# Centiseconds since boot.
now_cs() {
	sed 's/^\([0-9]*\)\.\([0-9][0-9]\).*/\1\2/' /proc/uptime
}

# _filter PAT...: stdin lines that match every PAT (grep basic regex).
_filter() {
	if [ $# -eq 0 ]; then
		cat
	else
		_p=$1
		shift
		grep -- "$_p" | _filter "$@"
	fi
}

# lines_matching FILE PAT...: the lines of FILE that match every PAT.
lines_matching() {
	_f=$1
	shift
	[ -f "$_f" ] || return 1
	_filter "$@" <"$_f"
}

# wait_for_line FILE PATTERN [TIMEOUT]: wait (default 10 s) until a line of
# FILE matches PATTERN (grep basic regex; use "[.]" for a literal dot);
# prints it. Non-zero on timeout.
wait_for_line() {
	wait_for_event "$1" "${3:-10}" "$2"
}

# wait_for_event FILE TIMEOUT PAT...: wait until one line of FILE matches
# every PAT (e.g. '"type":"process_exec"' "$mark" '"source":"wrapper"');
# prints the first such line.
wait_for_event() {
	_wf=$1
	_wn=$(($2 * 10))
	shift 2
	while :; do
		_wl=$(lines_matching "$_wf" "$@" 2>/dev/null | head -n 1)
		if [ -n "$_wl" ]; then
			echo "$_wl"
			return 0
		fi
		[ "$_wn" -le 0 ] && return 1
		sleep 0.1
		_wn=$((_wn - 1))
	done
}

# server_of WRAPPER-PID [STATUS]: the pid of the server "mcpwarden exec"
# (WRAPPER-PID, the interposer) forked, from its first event in AGENT_OUT
# (10 s); WRAPPER-PID itself if the wrapper failed (STATUS 125), or none
# came.
server_of() {
	if [ "${2:-0}" != 125 ] &&
		_sl=$(wait_for_event "$AGENT_OUT" 10 "\"ppid\":$1,"); then
		echo "$_sl" | sed -n "s/.*\"process\":{\"pid\":\([0-9]*\),\"tid\":[0-9]*,\"ppid\":$1,.*/\1/p" | head -n 1
	else
		echo "$1"
	fi
}

# agent_start NAME [RUN-ARGS...]: start "mcpwarden run" in the background
# with output /tmp/NAME.jsonl, socket /run/NAME.sock, pins /sys/fs/bpf/NAME
# and state /run/NAME.state (an agent of the same NAME adopts them),
# stderr /tmp/NAME.err, and wait for its agent_start line. Sets AGENT_PID,
# AGENT_OUT, AGENT_SOCK, AGENT_ERR. On failure prints the agent's stderr
# (the verifier log, if loading failed) and returns non-zero.
agent_start() {
	_an=$1
	shift
	AGENT_OUT=/tmp/$_an.jsonl
	AGENT_SOCK=/run/$_an.sock
	AGENT_ERR=/tmp/$_an.err
	rm -f "$AGENT_OUT" "$AGENT_ERR"
	# Each case installs afresh; MW_KEEP=1: a stop leaves the fence (the
	# agent's default), for the cases of a restart.
	_ak=--cleanup-on-exit
	[ -n "${MW_KEEP:-}" ] && _ak=
	$MW run --output "$AGENT_OUT" --socket "$AGENT_SOCK" \
		--pin-dir "/sys/fs/bpf/$_an" --state-dir "/run/$_an.state" \
		$_ak "$@" 2>"$AGENT_ERR" &
	AGENT_PID=$!
	echo "$AGENT_PID" >>"$MW_CASE_PIDS"
	_n=$((MW_START_TIMEOUT * 10))
	while [ "$_n" -gt 0 ]; do
		if grep -q '"type":"agent_start"' "$AGENT_OUT" 2>/dev/null; then
			echo "# agent $_an (pid $AGENT_PID) started: $(($(now_cs) - _t0))0 ms into the case"
			return 0
		fi
		if ! kill -0 "$AGENT_PID" 2>/dev/null; then
			wait "$AGENT_PID"
			echo "# agent $_an exited with status $? before agent_start; stderr:"
			cat "$AGENT_ERR"
			return 1
		fi
		sleep 0.1
		_n=$((_n - 1))
	done
	echo "# agent $_an: no agent_start within ${MW_START_TIMEOUT}s; stderr:"
	cat "$AGENT_ERR"
	return 1
}

# agent_stop [TIMEOUT]: SIGTERM the agent of the last agent_start, wait for
# it to exit 0 and for its agent_stop line.
agent_stop() {
	kill -TERM "$AGENT_PID" 2>/dev/null || return 1
	_n=$((${1:-20} * 10))
	while kill -0 "$AGENT_PID" 2>/dev/null; do
		[ "$_n" -le 0 ] && { echo "# agent still running after SIGTERM"; return 1; }
		sleep 0.1
		_n=$((_n - 1))
	done
	wait "$AGENT_PID"
	_rc=$?
	if [ -s "$AGENT_ERR" ]; then
		echo "# agent stderr:"
		cat "$AGENT_ERR"
	fi
	[ "$_rc" = 0 ] || { echo "# agent exited with status $_rc"; return 1; }
	grep -q '"type":"agent_stop"' "$AGENT_OUT" || { echo "# no agent_stop line"; return 1; }
}

# run_tracked NAME CMD [ARGS...]: "mcpwarden exec" through agent NAME's
# socket; CMD's stdout+stderr go to /tmp/NAME.cmd.out; returns CMD's status.
run_tracked() {
	_rn=$1
	shift
	$MW exec --socket "/run/$_rn.sock" -- "$@" >"/tmp/$_rn.cmd.out" 2>&1
}

# ---- the runner ----

_cleanup_case() {
	if [ -f "$MW_CASE_PIDS" ]; then
		for _p in $(cat "$MW_CASE_PIDS"); do
			kill -TERM "$_p" 2>/dev/null || continue
			_n=50
			while kill -0 "$_p" 2>/dev/null && [ "$_n" -gt 0 ]; do
				sleep 0.1
				_n=$((_n - 1))
			done
			kill -KILL "$_p" 2>/dev/null
		done
	fi
	rm -rf /sys/fs/bpf/* 2>/dev/null
	rm -f "$MW_CASE_PIDS" "$MW_CASE_FAIL"
}

_run_case() {
	_name=$1
	_limit=$(eval echo "\${timeout_$_name:-$MW_CASE_TIMEOUT}")
	_cleanup_case
	_t0=$(now_cs)
	(_t0=$_t0; "case_$_name") >/tmp/.case-log 2>&1 </dev/null &
	_cpid=$!
	(sleep "$_limit"; kill -KILL "$_cpid" 2>/dev/null) >/dev/null 2>&1 &
	_wd=$!
	wait "$_cpid"
	_rc=$?
	kill -KILL "$_wd" 2>/dev/null
	_t=$(($(now_cs) - _t0))
	_secs="$((_t / 100)).$(((_t % 100) / 10))"
	if [ "$_rc" = 0 ]; then
		echo "ok vm/$_name (${_secs}s)"
		[ "$verbose" = 1 ] && sed 's/^/    | /' /tmp/.case-log
		passed=$((passed + 1))
	else
		if [ -s "$MW_CASE_FAIL" ]; then
			_why=$(head -n 1 "$MW_CASE_FAIL")
		elif [ "$_rc" = 137 ]; then
			_why="timed out after ${_limit}s"
		else
			_why="exit status $_rc"
		fi
		echo "FAIL vm/$_name: $_why (${_secs}s)"
		tail -n 60 /tmp/.case-log | sed 's/^/    | /'
		failed=$((failed + 1))
	fi
	_cleanup_case
}

passed=0
failed=0
verbose=0
grep -q 'mw\.verbose=1' /proc/cmdline && verbose=1
only=$(sed -n 's/.*mw\.cases=\([^ ]*\).*/\1/p' /proc/cmdline | tr , ' ')
for f in /tests/cases/*.sh; do
	. "$f"
done
for name in $(sed -n 's/^case_\([A-Za-z0-9_]*\)[ 	]*()[ 	]*{*[ 	]*$/\1/p' /tests/cases/*.sh); do
	if [ -n "$only" ]; then
		sel=0
		for o in $only; do
			case "$name" in "$o"*) sel=1 ;; esac
		done
		[ "$sel" = 1 ] || continue
	fi
	_run_case "$name"
done
echo "$passed passed, $failed failed"
