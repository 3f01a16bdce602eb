# SPDX-License-Identifier: GPL-2.0-only
# VM lane, network under BPF-LSM ("mcpwarden run --backend lsm", built-in
# policy): the routes past the connect hooks the host's network cases also
# close. The addresses are on this VM's own loopback (it has no other
# network). Each tracked attempt is paired with the same attempt untracked,
# which must reach the address (a reply, or ECONNREFUSED: nobody listens).
# Sourced by lib.sh.

_net_addrs() {	# $1 = add | del
	ip addr "$1" 169.254.169.254/32 dev lo
	ip -6 addr "$1" fd00:ec2::254/128 dev lo
	ip -6 addr "$1" ::169.254.169.254/128 dev lo
	ip -6 addr "$1" ::ffff:0:a9fe:a9fe/128 dev lo
}

# tracked: errno 1 (EPERM); untracked: $2
_net_pair() {	# $1 = what, $2 = untracked result, rest = netprobe args
	_what=$1 _want=$2
	shift 2
	run_tracked n /bin/netprobe "$@"
	grep -q '^errno 1 ' /tmp/n.cmd.out || fail "tracked $_what: $(cat /tmp/n.cmd.out)"
	_u=$(/bin/netprobe "$@")
	case "$_u" in "$_want"*) ;; *) fail "untracked $_what: $_u, wanted $_want" ;; esac
	echo "# $_what: tracked $(cat /tmp/n.cmd.out), untracked $_u"
}

# Ping sockets (what unprivileged ping uses) carry any payload to any
# address and cgroup/sendmsg never sees them: refused as raw sockets.
# IPv4-compatible and SIIT forms are judged as the IPv4 they carry.
case_network_ping_sockets_and_address_forms() {
	_net_addrs add || fail "ip addr add"
	echo "0 2147483647" >/proc/sys/net/ipv4/ping_group_range
	agent_start n --backend lsm || { _net_addrs del; fail "agent did not start"; }
	_net_pair "ping 169.254.169.254" ok ping 169.254.169.254
	_net_pair "ping fd00:ec2::254" ok ping fd00:ec2::254
	_net_pair "connect ::169.254.169.254" "errno 111" connect ::169.254.169.254 80
	_net_pair "connect ::ffff:0:a9fe:a9fe" "errno 111" connect ::ffff:0:a9fe:a9fe 80
	ev=$(wait_for_event "$AGENT_OUT" 10 '"type":"network_socket"' '"socket_type":"dgram"' \
		'"protocol":1}' '"action":"deny"') || fail "no network_socket deny for the ping socket"
	echo "# $ev"
	wait_for_event "$AGENT_OUT" 10 '"form":"ipv4-compatible"' '"checked":"169.254.169.254"' >/dev/null ||
		fail "no connect event judged in the ipv4-compatible form"
	wait_for_event "$AGENT_OUT" 10 '"form":"siit"' '"checked":"169.254.169.254"' >/dev/null ||
		fail "no connect event judged in the siit form"
	agent_stop || fail "agent did not stop cleanly"
	_net_addrs del
}
