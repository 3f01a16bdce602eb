// SPDX-License-Identifier: GPL-2.0-only
// Validate Kubernetes manifests against the upstream OpenAPI schemas with the
// npm package kubernetes-models (installed by tests/deploy/validate.sh into
// build/deploy-validate, never into the repository).
//
//   node validate.mjs LABEL=FILE...      one result line per FILE
//   node validate.mjs LABEL=-            read the documents from stdin
//
// Prints "ok LABEL" or "FAIL LABEL: why" per input; exit 1 if any failed.
// Besides the schema (types, enums, required fields) it checks what the
// schemas do not:
//   - every key is a field some Kubernetes schema knows (the schemas allow
//     unknown keys, so `mountPropogation:` would pass them and be dropped by
//     the API server); free-form maps (labels, data, ...) are exempt;
//   - Bidirectional mount propagation only in privileged containers (the API
//     server refuses it otherwise);
//   - every YAML document parses without warnings.
import { readFileSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { parseAllDocuments } from "yaml";

const require = createRequire(import.meta.url);
const modelsDir = path.dirname(require.resolve("kubernetes-models/package.json"));

// apiVersion/kind -> module under kubernetes-models
const MODELS = {
	"v1/Namespace": "v1/Namespace",
	"v1/ServiceAccount": "v1/ServiceAccount",
	"v1/ConfigMap": "v1/ConfigMap",
	"v1/Service": "v1/Service",
	"apps/v1/DaemonSet": "apps/v1/DaemonSet",
	"apps/v1/Deployment": "apps/v1/Deployment",
	"rbac.authorization.k8s.io/v1/ClusterRole": "rbac.authorization.k8s.io/v1/ClusterRole",
	"rbac.authorization.k8s.io/v1/ClusterRoleBinding": "rbac.authorization.k8s.io/v1/ClusterRoleBinding",
	"scheduling.k8s.io/v1/PriorityClass": "scheduling.k8s.io/v1/PriorityClass",
};

// Every property name any schema of this Kubernetes version checks.
const known = new Set();
const schemaDirs = [path.join(modelsDir, "_schemas"),
	path.join(modelsDir, "..", "@kubernetes-models", "apimachinery", "_schemas")];
for (const f of schemaDirs.flatMap((d) => readdirSync(d).map((x) => path.join(d, x)))) {
	if (!f.endsWith(".mjs"))
		continue;
	const src = readFileSync(f, "utf8");
	for (const m of src.matchAll(/data\.([A-Za-z_$][A-Za-z0-9_$]*)/g))
		known.add(m[1]);
	for (const m of src.matchAll(/data\["([^"]+)"\]/g))
		known.add(m[1]);
	for (const m of src.matchAll(/missingProperty:"([^"]+)"/g))
		known.add(m[1]);
}
// Maps whose keys are the user's, not the schema's.
const FREEFORM = new Set(["labels", "annotations", "data", "binaryData",
	"stringData", "matchLabels", "nodeSelector", "limits", "requests",
	"capacity", "allocatable"]);

function unknownKeys(v, where, out) {
	if (Array.isArray(v)) {
		v.forEach((x, i) => unknownKeys(x, `${where}[${i}]`, out));
		return;
	}
	if (!v || typeof v !== "object")
		return;
	for (const [k, x] of Object.entries(v)) {
		if (!known.has(k))
			out.push(`${where}.${k}: not a field of any Kubernetes schema`);
		else if (!FREEFORM.has(k))
			unknownKeys(x, `${where}.${k}`, out);
	}
}

function podSpecOf(obj) {
	return obj?.spec?.template?.spec ?? (obj?.kind === "Pod" ? obj.spec : null);
}

function semantic(obj, out) {
	const ps = podSpecOf(obj);
	if (!ps)
		return;
	for (const c of [...(ps.initContainers ?? []), ...(ps.containers ?? [])]) {
		const priv = c.securityContext?.privileged === true;
		for (const m of c.volumeMounts ?? [])
			if (m.mountPropagation === "Bidirectional" && !priv)
				out.push(`container ${c.name}: mount ${m.name}: Bidirectional propagation is only allowed in privileged containers`);
	}
}

async function check(label, text) {
	const errs = [];
	const docs = parseAllDocuments(text, { prettyErrors: true });
	let n = 0;
	for (const doc of docs) {
		for (const e of [...doc.errors, ...doc.warnings])
			errs.push(`yaml: ${e.message.split("\n")[0]}`);
		const obj = doc.toJS();
		if (obj === null || obj === undefined)
			continue;
		n++;
		const key = `${obj.apiVersion}/${obj.kind}`;
		const name = `${obj.kind}/${obj.metadata?.name ?? "?"}`;
		const mod = MODELS[key];
		if (!mod) {
			errs.push(`${name}: no schema for ${key} in this validator`);
			continue;
		}
		const Model = Object.values(await import(`kubernetes-models/${mod}`))[0];
		try {
			new Model(obj).validate();
		} catch (e) {
			errs.push(`${name}: ${e.message.replace(/\s+/g, " ")}`);
		}
		const extra = [];
		unknownKeys(obj, name, extra);
		semantic(obj, extra);
		errs.push(...extra.map((m) => `${name}: ${m}`.replace(`${name}: ${name}`, name)));
	}
	if (n === 0)
		errs.push("no Kubernetes object in it");
	if (errs.length)
		console.log(`FAIL ${label}: ${errs.join("; ")}`);
	else
		console.log(`ok ${label} (${n} object${n === 1 ? "" : "s"})`);
	return errs.length === 0;
}

let ok = true;
for (const arg of process.argv.slice(2)) {
	const i = arg.indexOf("=");
	const label = arg.slice(0, i), file = arg.slice(i + 1);
	const text = file === "-" ? readFileSync(0, "utf8") : readFileSync(file, "utf8");
	ok = (await check(label, text)) && ok;
}
process.exit(ok ? 0 : 1);
