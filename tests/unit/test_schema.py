#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""docs/policy.schema.json (JSON Schema draft 2020-12) against the parser.

  - the schema is a valid draft 2020-12 schema;
  - policy/default.json and every complete JSON policy in docs/policy.md
    validate (and, if build/mcpwarden exists, `mcpwarden policy check`
    accepts the document examples too);
  - every policy of tests/unit/bad_policies, which the C parser rejects, is
    rejected by the schema, except those listed in NOT_EXPRESSIBLE (errors a
    schema cannot see: cross-references, duplicates across lists, policy-wide
    limits...), which the schema must accept (so the list stays true), and
    those listed in NOT_JSON (the C parser refuses them before there is a
    JSON value: syntax, duplicate keys, invalid UTF-8).

Runs with Debian's python3-jsonschema: /usr/bin/python3 tests/unit/test_schema.py
Prints "ok schema/..." or "FAIL schema/...: why", then "N passed, N failed".
"""
import json
import os
import re
import subprocess
import sys

import jsonschema

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCHEMA = os.path.join(ROOT, "docs", "policy.schema.json")
CORPUS = os.path.join(ROOT, "tests", "unit", "bad_policies")
BIN = os.path.join(ROOT, "build", "mcpwarden")

# The C parser refuses these for reasons a JSON Schema cannot express.
NOT_EXPRESSIBLE = {
    "10-version-float": "1.0 and 1 are the same JSON Schema value (the "
                        "parser insists on the integer token)",
    "33-detect-duplicate": "a pattern used by two profiles: uniqueness "
                           "across profiles",
    "37-cgroup-duplicate": "a cgroup used by two profiles (after joining "
                           "the relative path to the cgroup root)",
    "44-address-junk": "\"10.0.0.256\" is not an address, so it could be "
                       "the name of a set (the parser allows such a set)",
    "46-unknown-set": "a destination naming a set that is not defined: "
                      "cross-reference to the top-level \"sets\"",
    "47-hostname": "a host name is spelled like a set name: only the "
                   "parser knows which sets exist",
    "51-port-range-reversed": "LO <= HI in \"LO-HI\" (a regex cannot "
                              "compare numbers)",
    "53-port-type": "53.0 and 53 are the same JSON Schema value",
    "72-too-many-port-rules": "more than 8 port rules for one prefix after "
                              "set expansion and dropping dead rules",
    "78-exec-twice": "the same path in two of a profile's exec lists",
    "86-syscalls-unknown-name": "system call names come from libseccomp "
                                "(per architecture)",
    "103-tools-widens-deny": "a tool fence rule against the profile's "
                             "rules: a comparison of two sections",
    "104-tools-widens-default": "a tool fence's default against the "
                                "profile's",
    "109-tools-widens-allowlist": "a tool fence rule against the profile's "
                                  "default",
    "87-syscalls-twice": None,   # expressible (uniqueItems): must be rejected
}
NOT_EXPRESSIBLE = {k: v for k, v in NOT_EXPRESSIBLE.items() if v}

# Refused by the C parser before there is a JSON value to validate.
NOT_JSON = {
    "01-syntax-trailing-comma", "02-syntax-unterminated",
    "03-syntax-trailing-data", "04-syntax-empty", "05-syntax-single-quotes",
    "71-duplicate-key", "75-invalid-utf8",
}

passed = failed = 0


def result(name, why=None):
    global passed, failed
    if why is None:
        passed += 1
        print(f"ok schema/{name}", flush=True)
    else:
        failed += 1
        print(f"FAIL schema/{name}: {why}", flush=True)


def strict_load(raw):
    """Strict JSON as the C parser reads it; ValueError otherwise."""
    def pairs(kv):
        keys = [k for k, _ in kv]
        if len(keys) != len(set(keys)):
            raise ValueError("duplicate key")
        return dict(kv)

    def bad_constant(c):
        raise ValueError(f"not JSON: {c}")
    text = raw.decode("utf-8")          # UnicodeDecodeError is a ValueError
    return json.loads(text, object_pairs_hook=pairs,
                      parse_constant=bad_constant)


def errors(v, doc):
    return sorted(v.iter_errors(doc), key=lambda e: list(e.absolute_path))


def where(e):
    return ".".join(str(p) for p in e.absolute_path) or "(root)"


def main():
    with open(SCHEMA) as f:
        schema = json.load(f)
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
        result("schema_is_draft_2020_12")
    except jsonschema.SchemaError as e:
        result("schema_is_draft_2020_12", str(e).split("\n")[0])
        return
    v = jsonschema.Draft202012Validator(schema)

    # The built-in policy.
    with open(os.path.join(ROOT, "policy", "default.json"), "rb") as f:
        errs = errors(v, strict_load(f.read()))
    result("good/policy/default.json",
           None if not errs else f"{where(errs[0])}: {errs[0].message}")

    # Every complete policy in docs/policy.md: a ```json block that is a JSON
    # object with "version" (fragments and "..." placeholders are not).
    with open(os.path.join(ROOT, "docs", "policy.md")) as f:
        md = f.read()
    blocks = re.findall(r"^```json\n(.*?)^```", md, re.S | re.M)
    n = 0
    for i, b in enumerate(blocks):
        line = md[:md.index(b)].count("\n") + 1
        try:
            doc = strict_load(b.encode())
        except ValueError:
            if '"version"' in b and "..." not in b:
                result(f"good/docs/policy.md:{line}",
                       "looks like a whole policy but is not strict JSON")
            continue
        if not isinstance(doc, dict) or "version" not in doc:
            continue
        n += 1
        name = f"good/docs/policy.md:{line}"
        errs = errors(v, doc)
        if errs:
            result(name, f"{where(errs[0])}: {errs[0].message[:200]}")
            continue
        if os.access(BIN, os.X_OK):
            tmp = f"/tmp/mw-schema-{os.getpid()}.json"
            with open(tmp, "w") as f:
                f.write(b)
            p = subprocess.run([BIN, "policy", "check", tmp],
                               capture_output=True, text=True)
            os.unlink(tmp)
            if p.returncode != 0:
                result(name, "the schema accepts it, mcpwarden policy check "
                       f"does not: {(p.stdout + p.stderr).strip()[:300]}")
                continue
        result(name)
    result("good/docs/policy.md_has_examples",
           None if n >= 6 else f"only {n} complete policies found in docs/policy.md")

    # "The built-in policy" shows policy/default.json as it is.
    sect = md[md.index("## The built-in policy"):]
    shown = re.search(r"^```json\n(.*?)^```", sect, re.S | re.M).group(1)
    with open(os.path.join(ROOT, "policy", "default.json")) as f:
        builtin = f.read()
    result("good/docs/policy.md_shows_the_built_in_policy",
           None if shown == builtin else
           "the block under \"The built-in policy\" is not policy/default.json")

    # The bad corpus.
    names = sorted(f[:-5] for f in os.listdir(CORPUS) if f.endswith(".json"))
    for name in names:
        with open(os.path.join(CORPUS, name + ".json"), "rb") as f:
            raw = f.read()
        tag = f"bad/{name}"
        try:
            doc = strict_load(raw)
        except (ValueError, RecursionError):
            result(tag, None if name in NOT_JSON else
                   "not strict JSON: add it to NOT_JSON")
            continue
        if name in NOT_JSON:
            result(tag, "parses as strict JSON: remove it from NOT_JSON")
            continue
        errs = errors(v, doc)
        if name in NOT_EXPRESSIBLE:
            result(tag, None if not errs else
                   f"listed as not expressible ({NOT_EXPRESSIBLE[name]}), "
                   f"but the schema rejects it now ({where(errs[0])}): "
                   "remove it from NOT_EXPRESSIBLE")
        else:
            result(tag, None if errs else
                   "the C parser rejects it, the schema accepts it")
    for name in sorted(set(NOT_EXPRESSIBLE) | NOT_JSON):
        if name not in names:
            result(f"list/{name}", "listed, but no such file in the corpus")


if __name__ == "__main__":
    main()
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
