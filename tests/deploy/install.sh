#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# `make install DESTDIR=D PREFIX=/usr` (and PREFIX=/usr/local) lays out
# exactly the expected files, the unit's paths follow PREFIX, the policy is
# the built-in one and is not overwritten by a second install, and
# `make uninstall` removes every file (an edited policy stays).
set -u
cd "$(dirname "$0")/../.."
. tests/deploy/lib.sh
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
DOCS="LICENSE README.md clients.md deploy.md events.md network-sets.md policy.md"

for prefix in /usr /usr/local; do
	d=$D$prefix
	mkdir -p "$d"
	if [ "$prefix" = /usr ]; then unit=/lib/systemd/system; else unit=$prefix/lib/systemd/system; fi
	want=$( {
		echo "/etc/mcpwarden/policy.json"
		echo "$unit/mcpwarden.service"
		echo "$prefix/bin/mcpwarden"
		for f in $DOCS; do echo "$prefix/share/doc/mcpwarden/$f"; done
		echo "$prefix/share/man/man8/mcpwarden.8"
	} | sort)
	if ! out=$(make -s install DESTDIR="$d" PREFIX="$prefix" 2>&1); then
		fail "make install PREFIX=$prefix" "$(echo "$out" | tail -n 3 | tr '\n' ' ')"
		continue
	fi
	got=$(cd "$d" && find . -type f | sed 's|^\.||' | sort)
	if [ "$got" = "$want" ]; then
		ok "make install DESTDIR=D PREFIX=$prefix: exactly $(echo "$want" | wc -l) files"
	else
		fail "make install PREFIX=$prefix" "unexpected layout: $(diff <(echo "$want") <(echo "$got") | grep '^[<>]' | tr '\n' ' ')"
	fi
	[ -x "$d$prefix/bin/mcpwarden" ] && [ "$(stat -c %a "$d$prefix/bin/mcpwarden")" = 755 ] &&
		[ "$(stat -c %a "$d$unit/mcpwarden.service")" = 644 ] &&
		ok "PREFIX=$prefix: modes 0755 binary, 0644 unit" || fail "PREFIX=$prefix" "file modes"
	u=$d$unit/mcpwarden.service
	if grep -qx "ExecStart=$prefix/bin/mcpwarden run --policy /etc/mcpwarden/policy.json" "$u" &&
		grep -q "file://$prefix/share/doc/mcpwarden/deploy.md" "$u" &&
		{ [ "$prefix" = /usr/local ] || ! grep -q /usr/local "$u"; }; then
		ok "PREFIX=$prefix: the unit runs $prefix/bin/mcpwarden"
	else
		fail "PREFIX=$prefix: unit" "$(grep ExecStart "$u")"
	fi
	if build/mcpwarden policy default | cmp -s - "$d/etc/mcpwarden/policy.json"; then
		ok "PREFIX=$prefix: /etc/mcpwarden/policy.json is the built-in policy"
	else
		fail "PREFIX=$prefix: policy.json" "differs from \`mcpwarden policy default\`"
	fi
	# A second install keeps an edited policy.
	echo '{"edited": true}' >"$d/etc/mcpwarden/policy.json"
	make -s install DESTDIR="$d" PREFIX="$prefix" >/dev/null 2>&1
	if grep -q edited "$d/etc/mcpwarden/policy.json"; then
		ok "PREFIX=$prefix: install keeps an existing policy.json"
	else
		fail "PREFIX=$prefix" "install overwrote an existing policy.json"
	fi
	make -s uninstall DESTDIR="$d" PREFIX="$prefix" >/dev/null 2>&1
	left=$(cd "$d" && find . -type f | sed 's|^\.||')
	if [ "$left" = /etc/mcpwarden/policy.json ]; then
		ok "PREFIX=$prefix: uninstall removes every file but the edited policy"
	else
		fail "PREFIX=$prefix: uninstall" "left: $(echo "$left" | tr '\n' ' ')"
	fi
	# An unchanged policy goes with the rest.
	make -s install DESTDIR="$d" PREFIX="$prefix" >/dev/null 2>&1
	rm "$d/etc/mcpwarden/policy.json"
	make -s install DESTDIR="$d" PREFIX="$prefix" >/dev/null 2>&1
	make -s uninstall DESTDIR="$d" PREFIX="$prefix" >/dev/null 2>&1
	left=$(cd "$d" && find . -type f)
	if [ -z "$left" ]; then
		ok "PREFIX=$prefix: uninstall removes an unchanged policy too"
	else
		fail "PREFIX=$prefix: uninstall" "left: $(echo "$left" | tr '\n' ' ')"
	fi
done
finish
