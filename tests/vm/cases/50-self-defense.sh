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

# Unpinning: the pins are what keeps the fence across the agent's
# restarts; a tracked process may not remove or move them (the bpf class,
# as the built-in policy's syscalls.deny names it). Untracked, root may.
case_self_defense_unpin_refused() {
	agent_start p --backend lsm || fail "agent did not start"
	pin=/sys/fs/bpf/p/link_connect4
	[ -e "$pin" ] || fail "no $pin"
	run_tracked p /bin/sys unlink "$pin"
	grep -q '^errno 1 ' /tmp/p.cmd.out || fail "tracked unlink of $pin: $(cat /tmp/p.cmd.out)"
	run_tracked p /bin/sys rename "$pin" /sys/fs/bpf/p/moved
	grep -q '^errno 1 ' /tmp/p.cmd.out || fail "tracked rename of $pin: $(cat /tmp/p.cmd.out)"
	[ -e "$pin" ] || fail "$pin is gone"
	ev=$(wait_for_event "$AGENT_OUT" 10 '"type":"process_syscall"' '"class":"bpf"' '"action":"deny"') ||
		fail "no process_syscall deny of class bpf"
	echo "# $ev"
	/bin/sys rename "$pin" /sys/fs/bpf/p/moved >/tmp/p.u.out || fail "untracked rename: $(cat /tmp/p.u.out)"
	/bin/sys rename /sys/fs/bpf/p/moved "$pin" >/tmp/p.u.out || fail "untracked rename back: $(cat /tmp/p.u.out)"
	agent_stop || fail "agent did not stop cleanly"
}
