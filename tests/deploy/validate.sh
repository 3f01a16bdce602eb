#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Validate deploy/: every YAML file with yamllint (tests/deploy/yamllint.yaml),
# every Kubernetes manifest and every kustomize build against the Kubernetes
# OpenAPI schemas (npm kubernetes-models, tests/deploy/validate.mjs), and the
# ConfigMap's policy against the built-in one. Ends with "N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
BIN=${MCPWARDEN:-build/mcpwarden}
NM=build/deploy-validate
. tests/deploy/lib.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The validator and its schemas, from the npm registry, outside the repository.
if [ ! -d "$NM/node_modules/kubernetes-models" ] || [ ! -d "$NM/node_modules/yaml" ]; then
	mkdir -p "$NM"
	if ! npm install --prefix "$NM" --no-audit --no-fund --loglevel=error \
		kubernetes-models@4 yaml@2 >"$tmp/npm.log" 2>&1; then
		fail "npm install kubernetes-models yaml" "$(tail -n 3 "$tmp/npm.log" | tr '\n' ' ')"
	fi
fi
if ! command -v yamllint >/dev/null; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends yamllint >/dev/null 2>&1 ||
		fail "apt-get install yamllint" "not installable"
fi

# 1. yamllint, every YAML file under deploy/.
while IFS= read -r f; do
	if out=$(yamllint -f parsable -c tests/deploy/yamllint.yaml "$f" 2>&1) && [ -z "$out" ]; then
		ok "yamllint $f"
	else
		fail "yamllint $f" "$(echo "$out" | head -n 3 | tr '\n' ' ')"
	fi
done < <(find deploy -name '*.yaml' -o -name '*.yml' | sort)

# 2. Schema: each manifest file on its own (kustomization files and patches
#    are not API objects: they are checked through the builds below).
cp tests/deploy/validate.mjs "$NM/validate.mjs"
args=()
while IFS= read -r f; do
	args+=("$f=$PWD/$f")
done < <(find deploy/kubernetes/base -name '*.yaml' ! -name kustomization.yaml | sort)
node "$NM/validate.mjs" "${args[@]}" >"$tmp/v.out" 2>&1
grep -E '^(ok|FAIL) ' "$tmp/v.out" | while IFS= read -r l; do echo "$l"; done
passed=$((passed + $(grep -c '^ok ' "$tmp/v.out")))
failed=$((failed + $(grep -c '^FAIL ' "$tmp/v.out")))
grep -qE '^(ok|FAIL) ' "$tmp/v.out" || fail "validate.mjs" "$(head -n 5 "$tmp/v.out" | tr '\n' ' ')"

# The validator must catch what it claims to: broken copies of the DaemonSet.
ds=deploy/kubernetes/base/daemonset.yaml
while IFS='|' read -r what from to; do
	sed "s/$from/$to/" "$ds" >"$tmp/broken.yaml"
	if cmp -s "$ds" "$tmp/broken.yaml"; then
		fail "validator self-test ($what)" "the mutation did not apply"
	elif node "$NM/validate.mjs" "x=$tmp/broken.yaml" >/dev/null 2>&1; then
		fail "validator self-test" "accepted a DaemonSet with $what"
	else
		ok "validator self-test: rejects $what"
	fi
done <<'MUT'
a misspelt field|mountPropagation: HostToContainer|mountPropogation: HostToContainer
a bad enum value|mountPropagation: HostToContainer|mountPropagation: Both
Bidirectional without privileged|mountPropagation: HostToContainer|mountPropagation: Bidirectional
a wrong type|hostPID: true|hostPID: "yes"
a missing required field|        - name: mcpwarden|        - nome: mcpwarden
MUT

# 3. Each kustomization, built, then validated as a whole.
if command -v kubectl >/dev/null; then
	for k in $(find deploy/kubernetes -name kustomization.yaml | sort); do
		d=$(dirname "$k")
		if ! kubectl kustomize "$d" >"$tmp/build.yaml" 2>"$tmp/build.err"; then
			fail "kustomize $d" "$(head -n 2 "$tmp/build.err" | tr '\n' ' ')"
			continue
		fi
		if out=$(node "$NM/validate.mjs" "kustomize $d=-" <"$tmp/build.yaml" 2>&1); then
			ok "${out#ok }"
		else
			fail "kustomize $d" "${out#FAIL kustomize $d: }"
		fi
	done
elif [ "${CI:-}" = true ]; then
	# CI must not pass a check it did not run.
	fail "kustomize" "kubectl is not installed: the kustomize builds cannot be checked"
else
	echo "note: kubectl not installed: the kustomize builds were not checked (Debian 12's kubernetes-client has no kustomize v5)"
fi

# 4. The ConfigMap carries exactly the built-in policy, and it passes check.
cm=deploy/kubernetes/base/configmap.yaml
node -e '
const { parse } = require(process.argv[1] + "/node_modules/yaml");
process.stdout.write(parse(require("fs").readFileSync(process.argv[2], "utf8")).data["policy.json"]);
' "$PWD/$NM" "$cm" >"$tmp/cm-policy.json" 2>"$tmp/cm.err"
"$BIN" policy default >"$tmp/default.json"
if cmp -s "$tmp/cm-policy.json" "$tmp/default.json"; then
	ok "$cm: policy.json is exactly \`mcpwarden policy default\`"
else
	fail "$cm" "policy.json differs from \`mcpwarden policy default\` (regenerate: deploy/kubernetes/base/gen-configmap.sh > $cm) $(head -c 200 "$tmp/cm.err")"
fi
if out=$("$BIN" policy check "$tmp/cm-policy.json" 2>&1); then
	ok "$cm: mcpwarden policy check: ${out#*: ok: }"
else
	fail "$cm: mcpwarden policy check" "$(echo "$out" | head -n 2 | tr '\n' ' ')"
fi

finish
