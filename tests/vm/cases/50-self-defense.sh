# SPDX-License-Identifier: GPL-2.0-only
# VM lane, the agent defends itself under BPF-LSM: lsm/task_kill refuses a
# tracked process's signal to the agent (the host's fallback kills the
# sender instead: tests/integration/test_guard.py). Sourced by lib.sh.

case_self_defense_signal_refused() {
	agent_start s --backend lsm || fail "agent did not start"
	run_tracked s /bin/sendsig "$AGENT_PID" 15
	out=$(cat /tmp/s.cmd.out | tr '\n' ' ')
	echo "# tracked: $out"
	case "$out" in "alive errno 1 "*) ;; *) fail "tracked SIGTERM to the agent: $out" ;; esac
	kill -0 "$AGENT_PID" 2>/dev/null || fail "the agent is gone"
	ev=$(wait_for_event "$AGENT_OUT" 10 '"type":"process_signal"' '"action":"deny"' \
		'"name":"SIGTERM"' '"target":"agent"' '"hook":"lsm/task_kill"') ||
		fail "no process_signal deny event"
	echo "# $ev"
	# Untracked, the same signal goes through: the agent stops.
	agent_stop || fail "agent did not stop cleanly"
}
