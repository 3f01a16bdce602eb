# SPDX-License-Identifier: GPL-2.0-only
# VM lane, basic cases: the second kernel is what we think it is, and the
# CO-RE object built on the host loads and runs there. Sourced by lib.sh.

# Debian's 6.1 cloud kernel, with "bpf" among the active LSMs.
case_kernel() {
	r=$(uname -r)
	echo "# $(cat /proc/version)"
	echo "# uname -r: $r"
	case "$r" in 6.1.*) ;; *) fail "kernel $r, expected 6.1.x" ;; esac
	lsm=$(cat /sys/kernel/security/lsm) || fail "no /sys/kernel/security/lsm"
	echo "# lsm: $lsm"
	echo ",$lsm," | grep -q ',bpf,' || fail "bpf not in the active LSMs: $lsm"
	[ -f /sys/kernel/btf/vmlinux ] || fail "no /sys/kernel/btf/vmlinux"
}

# The agent's own probe sees BPF-LSM.
case_features() {
	$MW features >/tmp/features.json 2>/tmp/features.err ||
		fail "mcpwarden features: exit $?: $(cat /tmp/features.err)"
	cat /tmp/features.json
	flat=$(tr -d ' \n\t' </tmp/features.json)
	echo "$flat" | grep -q '"bpf_lsm":{"available":true' ||
		fail "bpf_lsm not available: $(echo "$flat" | sed -n 's/.*\("bpf_lsm":{[^}]*}\).*/\1/p')"
	echo "$flat" | grep -q '"btf":true' || fail "no BTF"
}

# The CO-RE object loads on 6.1; the wrapper marks a process; SIGTERM stops
# the agent cleanly.
case_agent_starts() {
	mark=vmmark$$
	agent_start a || fail "agent did not start on $(uname -r)"
	run_tracked a /bin/hello-static "$mark" ||
		fail "mcpwarden exec: status $?: $(cat /tmp/a.cmd.out)"
	grep -q "^hello-static $mark\$" /tmp/a.cmd.out ||
		fail "hello-static output: $(cat /tmp/a.cmd.out)"
	ev=$(wait_for_event "$AGENT_OUT" 10 '"type":"process_exec"' "$mark" \
		'"source":"wrapper"') || {
		cat "$AGENT_OUT"
		fail "no process_exec event with $mark and source wrapper"
	}
	echo "# $ev"
	agent_stop || fail "agent did not stop cleanly on SIGTERM"
}

# mcp.arguments "full" on 6.1: the session page's map is bigger than the
# template (BPF_F_INNER_MAP), the interposer writes a call's arguments
# into its slot, the agent redacts them into the start event.
case_tool_call_arguments_on_6_1() {
	pol=/tmp/args-policy.json
	echo '{"version":1,"profiles":{"default":{"mcp":{"arguments":"full"}}}}' >"$pol"
	agent_start a --policy "$pol" || fail "agent did not start"
	printf '%s\n' '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"vmtool","arguments":{"api_token":"vmsecret","n":1}}}' |
		run_tracked a /bin/cat || fail "mcpwarden exec: status $?: $(cat /tmp/a.cmd.out)"
	ev=$(wait_for_event "$AGENT_OUT" 10 '"phase":"start"' '"tool":"vmtool"' \
		'"arguments":{"api_token":"[[]redacted[]]","n":1}') || {
		cat "$AGENT_OUT" "$AGENT_ERR"
		fail "no start event with the redacted arguments"
	}
	echo "# $ev"
	! grep -q vmsecret "$AGENT_OUT" || fail "the redacted value is in the output"
	agent_stop || fail "agent did not stop cleanly"
}

# --backend lsm refuses on a kernel without BPF-LSM (the host); here it runs.
case_backend_lsm_accepted() {
	agent_start l --backend lsm || fail "agent --backend lsm did not start"
	st=$(grep '"type":"agent_start"' "$AGENT_OUT")
	echo "# backend: $(echo "$st" | sed -n 's/.*"backend":\(.*\),"cgroup":.*/\1/p')"
	echo "$st" | grep -q '"requested":"lsm"' || fail "agent_start: requested is not lsm"
	echo "$st" | grep -q '"lsm_available":true' || fail "agent_start: lsm_available is not true"
	echo "$st" | grep -q '"file_change":{"mechanism":"lsm/inode_rename' ||
		fail "agent_start: file_change is not lsm/inode_rename..."
	agent_stop || fail "agent did not stop cleanly"
}
