#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# deploy/systemd: `systemd-analyze verify` (offline, no running systemd
# needed) on the unit as `make install` writes it, with the drop-in example
# applied; the unit sets no option that gives the agent its own mount
# namespace or hides /proc (tests/deploy/hardening.sh shows why); the
# capability bounding set is the one the DaemonSet grants. "N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
. tests/deploy/lib.sh
U=deploy/systemd/mcpwarden.service
DROPIN=deploy/systemd/mcpwarden.service.d/custom-policy.conf
[ -f "$DROPIN" ] || { echo "fail $DROPIN is missing"; echo "0 passed, 1 failed"; exit 1; }
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT

if command -v systemd-analyze >/dev/null; then
	make -s install DESTDIR="$D/root" PREFIX=/usr/local >/dev/null 2>&1 ||
		fail "make install" "failed"
	mkdir -p "$D/units/mcpwarden.service.d"
	# verify looks for ExecStart's binary and man: pages on this machine:
	# point both at the DESTDIR copy.
	sed "s|/usr/local/bin/mcpwarden|$D/root/usr/local/bin/mcpwarden|" \
		"$D/root/usr/local/lib/systemd/system/mcpwarden.service" >"$D/units/mcpwarden.service"
	sed "s|/usr/local/bin/mcpwarden|$D/root/usr/local/bin/mcpwarden|" "$DROPIN" \
		>"$D/units/mcpwarden.service.d/custom-policy.conf"
	for what in unit drop-in; do
		[ $what = unit ] && mv "$D/units/mcpwarden.service.d" "$D/dropin.off"
		[ $what = drop-in ] && mv "$D/dropin.off" "$D/units/mcpwarden.service.d"
		if out=$(cd "$D/units" && MANPATH="$D/root/usr/local/share/man" \
			SYSTEMD_LOG_LEVEL=notice systemd-analyze verify ./mcpwarden.service 2>&1) && [ -z "$out" ]; then
			ok "systemd-analyze verify $U$([ $what = drop-in ] && echo " + $DROPIN"): clean"
		else
			fail "systemd-analyze verify ($what)" "$(echo "$out" | head -n 4 | tr '\n' ' ')"
		fi
	done
else
	echo "note: systemd-analyze not installed: the unit was not verified"
fi

bad=""
for o in ProtectSystem ProtectHome PrivateTmp PrivateDevices PrivateMounts \
	ProtectKernelTunables ProtectKernelModules ProtectKernelLogs \
	ProtectControlGroups ReadOnlyPaths InaccessiblePaths TemporaryFileSystem \
	BindPaths BindReadOnlyPaths RootDirectory RootImage ProtectProc ProcSubset \
	PrivatePIDs PrivateUsers PrivateNetwork DynamicUser User; do
	grep -qE "^$o=" "$U" "$DROPIN" && bad="$bad $o"
done
if [ -z "$bad" ]; then
	ok "$U: no mount-namespace, /proc-hiding or user-changing option"
else
	fail "$U" "sets$bad (breaks the fence: docs/deploy.md)"
fi

unit_caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$U" | tr ' ' '\n' | sed 's/^CAP_//' | sort | tr '\n' ' ')
ds_caps=$(python3 -c '
import yaml
d = yaml.safe_load(open("deploy/kubernetes/base/daemonset.yaml"))
c = d["spec"]["template"]["spec"]["containers"][0]["securityContext"]["capabilities"]
print("\n".join(sorted(c["add"])))' | tr '\n' ' ')
if [ "$unit_caps" = "$ds_caps" ]; then
	ok "$U: CapabilityBoundingSet is the DaemonSet's capability set ($unit_caps)"
else
	fail "$U" "CapabilityBoundingSet ($unit_caps) differs from the DaemonSet's ($ds_caps)"
fi

# A stop or a restart leaves the guard running (KillMode=process): the
# directories its socket and the state file live in must stay too.
BIN=${MCPWARDEN:-build/mcpwarden}
defaults=$("$BIN" --help 2>&1 | sed -n 's/^Defaults: //p')
sock_dir=$(sed -n 's|.*--socket /run/\([^/]*\)/.*|\1|p' <<<"$defaults")
state_dir=$(sed -n 's|.*--state-dir /run/\([^ ,.]*\).*|\1|p' <<<"$defaults")
rtd=" $(sed -n 's/^RuntimeDirectory=//p' "$U") "
if [ -n "$sock_dir" ] && [ -n "$state_dir" ] && [[ $rtd == *" $sock_dir "* ]] &&
	[[ $rtd == *" $state_dir "* ]] && grep -qx 'RuntimeDirectoryPreserve=yes' "$U" &&
	grep -qx 'KillMode=process' "$U"; then
	ok "$U: RuntimeDirectory=$rtd(the defaults' $sock_dir and $state_dir), preserved across stop and restart"
else
	fail "$U" "RuntimeDirectory=$rtd/Preserve does not keep /run/$sock_dir and /run/$state_dir (defaults: $defaults)"
fi
finish
