# SPDX-License-Identifier: GPL-2.0-only
# Sourced by the tests/deploy checks, from the repository root: the
# counters, one line per check, and the "N passed, N failed" result.
passed=0
failed=0
ok() { echo "ok $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }
# The result line, and the exit status of the script that ends with it.
finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" = 0 ]
}
