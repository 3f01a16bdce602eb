# SPDX-License-Identifier: GPL-2.0-only
# VM lane, the fence outlives the agent under BPF-LSM (the host's
# tests/integration/test_life.py, here with "--backend lsm"): every fence is
# a pinned link, so a clean restart, a kill -9 and a stopped agent each
# leave it in force, and the next agent delivers the gap's events. A
# detected server (found by name in the kernel: no agent needed) loops
# reading a secret and running a denied binary. Sourced by lib.sh.
# Uses the fixtures of 20-file-fence.sh (ff_setup).

LF_TOOL=/tmp/ff/tool
LF_STOP=/tmp/lf.stop
LF_ROUNDS=/tmp/lf.rounds
LF_OUT=/tmp/lf.out

lf_setup() {
	ff_setup "\"select\": { \"detect\": [\"mcp-server-*\"] },
			\"exec\": { \"deny\": [\"$LF_TOOL\"] },"
	cp /bin/hello-static "$LF_TOOL" || fail "cp $LF_TOOL"
	rm -f "$LF_STOP" "$LF_ROUNDS" "$LF_OUT"
	cat >/tmp/mcp-server-probe <<EOF2
#!/bin/sh
n=0 r=0 x=0
while [ ! -e $LF_STOP ]; do
	cat $FF_SECRET 2>/dev/null | grep -q $FF_M1 && r=\$((r + 1))
	$LF_TOOL x 2>/dev/null | grep -q hello && x=\$((x + 1))
	n=\$((n + 1))
	echo \$n >$LF_ROUNDS.tmp && mv $LF_ROUNDS.tmp $LF_ROUNDS
done
echo "rounds \$n read \$r exec \$x" >$LF_OUT
EOF2
	chmod 755 /tmp/mcp-server-probe
}

# lf_rounds N: wait until the probe has done N more rounds.
lf_rounds() {
	_want=$(($(cat "$LF_ROUNDS" 2>/dev/null || echo 0) + $1))
	_n=600
	while [ "$(cat "$LF_ROUNDS" 2>/dev/null || echo 0)" -lt "$_want" ]; do
		[ "$_n" -le 0 ] && fail "the probe stopped at $(cat "$LF_ROUNDS" 2>/dev/null) rounds"
		sleep 0.1
		_n=$((_n - 1))
	done
}

lf_held() {
	touch "$LF_STOP"
	wait_for_line "$LF_OUT" rounds 30 >/dev/null || fail "no probe result"
	echo "# probe: $(cat "$LF_OUT")"
	grep -q '^rounds [1-9][0-9]* read 0 exec 0$' "$LF_OUT" ||
		fail "the probe got through $1: $(cat "$LF_OUT")"
}

case_life_restart_keeps_lsm_fences() {
	lf_setup
	MW_KEEP=1 ff_agent lr
	/tmp/mcp-server-probe &
	echo $! >>"$MW_CASE_PIDS"
	lf_rounds 3
	agent_stop || fail "agent did not stop cleanly"
	grep '"type":"agent_stop"' "$AGENT_OUT" | grep -q '"left_in_force":true' ||
		fail "agent_stop: not left in force"
	lf_rounds 5	# no agent at all
	MW_KEEP=1 ff_agent lr
	grep '"type":"agent_start"' "$AGENT_OUT" | grep -q '"adopted":"all"' ||
		fail "agent_start: $(grep '"type":"agent_start"' "$AGENT_OUT" | head -c 300)"
	lf_rounds 3
	lf_held "the restart"
	agent_stop || fail "agent did not stop cleanly"
}

case_life_crash_keeps_lsm_fences_and_events() {
	lf_setup
	MW_KEEP=1 ff_agent lc
	/tmp/mcp-server-probe &
	echo $! >>"$MW_CASE_PIDS"
	lf_rounds 3
	kill -KILL "$AGENT_PID"
	wait "$AGENT_PID" 2>/dev/null
	lf_rounds 5
	MW_KEEP=1 ff_agent lc
	lf_held "the crash"
	# The gap's denies were in the pinned ring buffer: they come first.
	first=$(grep -n '"type":"agent_start"' "$AGENT_OUT" | head -n 1 | cut -d: -f1)
	gap=$(head -n "$((first - 1))" "$AGENT_OUT" | grep '"action":"deny"' |
	      grep -c '"type":"file_open"\|"type":"process_exec"')
	echo "# $gap denies of the gap before agent_start (line $first)"
	[ "$gap" -ge 5 ] || fail "the gap's denies were not delivered: $gap"
	agent_stop || fail "agent did not stop cleanly"
}

case_life_stopped_agent_stalls_nobody_lsm() {
	lf_setup
	ff_agent ls
	kill -STOP "$AGENT_PID"
	t0=$(now_cs)
	out=$(cat "$FF_SECRET")
	t=$(($(now_cs) - t0))
	echo "$out" | grep -q "$FF_M1" || fail "untracked cat with the agent stopped: $out"
	[ "$t" -lt 100 ] || fail "untracked cat took ${t}0 ms with the agent stopped"
	/tmp/mcp-server-probe &
	echo $! >>"$MW_CASE_PIDS"
	lf_rounds 5
	kill -CONT "$AGENT_PID"
	lf_held "a stopped agent"
	agent_stop || fail "agent did not stop cleanly"
}
