#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# deploy/siem: rsyslogd -N1 on both rsyslog configurations; then a real
# rsyslogd (foreground, its own pid file and port, never the system's) with
# mcpwarden-receive.conf receives a real agent's stream
# (--output syslog+tcp:127.0.0.1:PORT) and its file holds the agent's own
# JSON lines, byte for byte; yamllint on the Fluent Bit and Vector configs
# (no Fluent Bit or Vector in Debian 12 to validate them with) and their
# event field names checked against docs/events.md; the Sigma rules
# (sigma_check.py). Root for the agent. "N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
BIN=$PWD/${MCPWARDEN:-build/mcpwarden}
. tests/deploy/lib.sh
T=$(mktemp -d /run/mwsiem.XXXXXX)
RP= AP=
cleanup() {
	[ -n "$AP" ] && kill -KILL "$AP" 2>/dev/null && wait "$AP" 2>/dev/null
	"$BIN" uninstall --pin-dir "/sys/fs/bpf/mwsiem-$$" --state-dir "$T/state" 2>/dev/null ||
		rm -rf "/sys/fs/bpf/mwsiem-$$"
	[ -n "$RP" ] && kill "$RP" 2>/dev/null && wait "$RP" 2>/dev/null
	rmdir "${CG:-/nonexistent}" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

if ! command -v rsyslogd >/dev/null; then
	# Installing must not start a system rsyslog: policy-rc.d says no.
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >"$T/policy-rc.d"; chmod 755 "$T/policy-rc.d"
		cp "$T/policy-rc.d" /usr/sbin/policy-rc.d; made_prc=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends rsyslog >/dev/null 2>&1
	[ -n "${made_prc:-}" ] && rm -f /usr/sbin/policy-rc.d
fi
if command -v rsyslogd >/dev/null; then
	for c in deploy/siem/rsyslog/*.conf; do
		if out=$(rsyslogd -N1 -f "$c" 2>&1); then
			ok "rsyslogd -N1 -f $c"
		else
			fail "rsyslogd -N1 -f $c" "$(echo "$out" | grep -v '^rsyslogd: version' | head -n 3 | tr '\n' ' ')"
		fi
	done

	# A real rsyslogd on a free port, the shipped config with port and path changed.
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	sed -e "s|port=\"10514\"|port=\"$port\" address=\"127.0.0.1\"|" \
	    -e "s|/var/log/mcpwarden/events.json|$T/out/events.json|" \
	    deploy/siem/rsyslog/mcpwarden-receive.conf >"$T/rsyslog.conf"
	echo "global(workDirectory=\"$T\")" >>"$T/rsyslog.conf"
	rsyslogd -n -f "$T/rsyslog.conf" -i "$T/rsyslogd.pid" >"$T/rsyslogd.log" 2>&1 &
	RP=$!
	for _ in $(seq 50); do
		python3 -c "import socket; socket.create_connection(('127.0.0.1',$port),1)" 2>/dev/null && break
		sleep 0.1
	done
	# The agent, streaming to it and to a file; a tracked workload makes events.
	CG=$(awk '$3=="cgroup2"{print $2; exit}' /proc/self/mounts)/mwsiem-$$
	mkdir "$CG"
	"$BIN" run --cgroup "$CG" --socket "$T/sock" --pin-dir "/sys/fs/bpf/mwsiem-$$" --state-dir "$T/state" \
		--output "$T/direct.json" --output "syslog+tcp:127.0.0.1:$port" 2>"$T/agent.err" &
	AP=$!
	for _ in $(seq 100); do [ -S "$T/sock" ] && break; sleep 0.1; done
	sh -c 'echo $$ > "$1/cgroup.procs"; shift; exec "$@"' sh "$CG" "$BIN" exec --socket "$T/sock" -- \
		python3 -c 'import socket
for p in (9, 10, 11):
    try: socket.create_connection(("127.0.0.1", p), 1)
    except OSError: pass' >/dev/null 2>&1
	sleep 0.5
	kill -TERM "$AP"
	for _ in $(seq 100); do kill -0 "$AP" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$AP" 2>/dev/null && { echo "note: the agent did not stop in 10 s; killed"; kill -KILL "$AP"; }
	wait "$AP"; AP=
	sleep 1
	n=$(grep -c . "$T/direct.json" 2>/dev/null || echo 0)
	if [ "$n" -ge 5 ] && cmp -s "$T/direct.json" "$T/out/events.json"; then
		ok "rsyslogd with mcpwarden-receive.conf received all $n events of a real agent, byte for byte as its file output"
	else
		fail "rsyslog receive" "agent wrote $n lines; rsyslog file: $(wc -l <"$T/out/events.json" 2>/dev/null || echo none); $(diff "$T/direct.json" "$T/out/events.json" 2>&1 | head -n 4 | tr '\n' ' ') $(head -c 300 "$T/rsyslogd.log")"
	fi
	if python3 -c 'import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
sys.exit(0 if any(e["type"] == "network_connect" and e.get("action") == "deny" for e in ev) else 1)' \
		"$T/out/events.json" 2>/dev/null; then
		ok "rsyslog's file: one JSON event a line, the denied connects among them"
	else
		fail "rsyslog's file" "not one JSON object a line, or no denied connect"
	fi
	kill "$RP"; wait "$RP" 2>/dev/null; RP=
else
	fail "rsyslog" "rsyslogd is not installed and could not be"
fi

# Fluent Bit, Vector: lint, and the event fields they use.
for f in deploy/siem/fluent-bit/*.yaml deploy/siem/vector/*.yaml; do
	if out=$(yamllint -f parsable -c tests/deploy/yamllint.yaml "$f" 2>&1) && [ -z "$out" ]; then
		ok "yamllint $f"
	else
		fail "yamllint $f" "$(echo "$out" | head -n 3 | tr '\n' ' ')"
	fi
done
for f in $(grep -ohE '(time_key: [a-z_]+|\.time\b|parse_timestamp!\(\.[a-z_]+)' deploy/siem/fluent-bit/*.yaml deploy/siem/vector/*.yaml | grep -oE '[a-z_]+$' | sort -u); do
	grep -q "^| \`$f\`" docs/events.md && ok "siem configs: event field \`$f\` is in docs/events.md" ||
		fail "siem configs" "event field $f is not in docs/events.md"
done
for tool in fluent-bit vector; do
	command -v $tool >/dev/null || echo "note: $tool is not packaged in Debian 12: its configuration was linted, not validated by $tool"
done

out=$(python3 tests/deploy/sigma_check.py 2>&1)
echo "$out" | grep -E '^(ok|FAIL) '
line=$(echo "$out" | tail -n 1)
passed=$((passed + ${line%% passed*}))
f=${line#*, }; failed=$((failed + ${f%% failed*}))
finish
