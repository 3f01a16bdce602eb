#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# docs/mcpwarden.8: renders with groff and man without a warning, and names
# every subcommand and flag `mcpwarden --help` prints. "N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
BIN=${MCPWARDEN:-build/mcpwarden}
MAN=docs/mcpwarden.8
. tests/deploy/lib.sh
command -v groff >/dev/null || DEBIAN_FRONTEND=noninteractive \
	apt-get install -y -qq --no-install-recommends groff-base man-db >/dev/null 2>&1

if out=$(groff -man -Tutf8 -ww -z "$MAN" 2>&1) && [ -z "$out" ]; then
	ok "groff -man -Tutf8 -ww $MAN: no warnings"
else
	fail "groff -man -ww $MAN" "$(echo "$out" | head -n 3 | tr '\n' ' ')"
fi
if command -v man >/dev/null; then
	if out=$(MANWIDTH=80 man --warnings -l "$MAN" 2>&1 >/dev/null) && [ -z "$out" ]; then
		ok "man --warnings -l $MAN: no warnings"
	else
		fail "man -l $MAN" "$(echo "$out" | head -n 3 | tr '\n' ' ')"
	fi
fi
text=$(MANWIDTH=200 groff -man -Tutf8 -P-c -P-b -P-u "$MAN" 2>/dev/null | col -b 2>/dev/null || groff -man -Tascii "$MAN")
help=$("$BIN" --help)
missing=""
for w in $(echo "$help" | grep -oE -- '--[a-z][a-z-]*' | sort -u) -v; do
	echo "$text" | grep -qF -- "$w" || missing="$missing $w"
done
for c in run exec "policy check" "policy default" status features version; do
	echo "$text" | grep -qE "mcpwarden +${c// / +}" || missing="$missing [$c]"
done
if [ -z "$missing" ]; then
	ok "$MAN: names every subcommand and flag of \`mcpwarden --help\`"
else
	fail "$MAN" "not in the man page:$missing"
fi
finish
