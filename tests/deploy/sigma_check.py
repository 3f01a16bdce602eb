#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""Check deploy/siem/sigma/*.yml: each is a Sigma rule with the required
keys (title, id as a UUID, logsource, detection with a condition, level from
Sigma's list), every selection the condition names exists, and every field
in detection and fields is one docs/events.md documents (a top-level field,
or a `parent.child` of a documented object). Prints ok/FAIL per rule and
"N passed, N failed"."""
import glob, os, re, sys, uuid
import yaml

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
events = open(os.path.join(root, "docs", "events.md")).read()

# Field names in backticks in docs/events.md; a table row under "### `obj`"
# documents obj.field; `a.b` names are taken as they are.
documented = set()
section = None
for line in events.splitlines():
    m = re.match(r"^###\s+`([a-z_]+)`", line)
    if m:
        section = m.group(1)
    elif line.startswith("#"):
        section = None
    if line.startswith("|"):
        first = line.split("|")[1]
        for name in re.findall(r"`([a-z_][a-z0-9_.]*)`", first):
            documented.add(name)
            if section and "." not in name:
                documented.add(f"{section}.{name}")
for name in re.findall(r"`([a-z_]+\.[a-z_.]+)`", events):
    documented.add(name)
for m in re.finditer(r'"([a-z_]+)":\{"([a-z_]+)"', events):	# JSON examples
    documented.add(f"{m.group(1)}.{m.group(2)}")
for m in re.finditer(r'"([a-z_]+)":\{[^{}]*\}', events):
    obj = m.group(1)
    for k in re.findall(r'"([a-z_]+)":', m.group(0)[len(obj) + 3:]):
        documented.add(f"{obj}.{k}")
documented |= {"time", "type", "action", "rule", "error", "message", "generation"}

LEVELS = {"informational", "low", "medium", "high", "critical"}
passed = failed = 0
for path in sorted(glob.glob(os.path.join(root, "deploy", "siem", "sigma", "*.yml"))):
    rel = os.path.relpath(path, root)
    errs = []
    try:
        r = yaml.safe_load(open(path))
    except yaml.YAMLError as e:
        r, errs = {}, [f"yaml: {e}"]
    for k in ("title", "id", "logsource", "detection", "level"):
        if k not in r:
            errs.append(f"no {k}")
    try:
        uuid.UUID(str(r.get("id")))
    except ValueError:
        errs.append("id is not a UUID")
    if r.get("level") not in LEVELS:
        errs.append(f"level {r.get('level')!r}")
    if r.get("logsource", {}).get("product") != "mcpwarden":
        errs.append("logsource.product is not mcpwarden")
    det = r.get("detection", {})
    cond = det.get("condition", "")
    if not cond:
        errs.append("no condition")
    for word in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", cond):
        if word not in ("and", "or", "not", "of", "them", "all") and word not in det:
            errs.append(f"condition names {word}, no such selection")
    fields = set(r.get("fields", []))
    for name, sel in det.items():
        if name == "condition":
            continue
        for item in sel if isinstance(sel, list) else [sel]:
            if isinstance(item, dict):
                fields |= {k.split("|")[0] for k in item}
    for f in sorted(fields):
        if f not in documented:
            errs.append(f"field {f} is not in docs/events.md")
    if errs:
        failed += 1
        print(f"FAIL {rel}: {'; '.join(errs)}")
    else:
        passed += 1
        print(f"ok {rel}: {r['title']} ({len(fields)} fields, all in docs/events.md)")
ids = [yaml.safe_load(open(p)).get("id") for p in glob.glob(os.path.join(root, "deploy", "siem", "sigma", "*.yml"))]
if len(ids) != len(set(ids)):
    failed += 1
    print("FAIL deploy/siem/sigma: duplicate rule ids")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
