#!/usr/bin/env python3
"""Write infra-gen/tests/data/handler-permissions.json: for each CloudFormation resource type the feature
templates use, the IAM permissions its resource handlers (create, read, update, delete) declare in the
type's provider schema, as the pinned cfn-lint ships them. infra-gen's service role table
(infra-gen/src/emit/service_role.rs) is checked against this file by infra-gen/tests/ci_role.rs.

Usage: .venv/bin/python scripts/handler-permissions.py [--check] TEMPLATE.json...
  (`make handler-permissions` passes the synthesized feature templates; --check exits 1 when stale.)
"""
import glob
import json
import os
import sys

import cfnlint

OUT = os.path.join(os.path.dirname(__file__), "..", "infra-gen", "tests", "data", "handler-permissions.json")


def main(argv):
    check = "--check" in argv
    templates = [a for a in argv if not a.startswith("--")]
    if not templates:
        sys.exit("usage: handler-permissions.py [--check] TEMPLATE.json...")
    types = set()
    for path in templates:
        with open(path) as f:
            types.update(r["Type"] for r in json.load(f)["Resources"].values())
    types = sorted(types)
    schemas = os.path.join(os.path.dirname(cfnlint.__file__), "data", "schemas", "resources")
    found = {}
    for path in glob.glob(os.path.join(schemas, "*.json")):
        with open(path) as f:
            doc = json.load(f)
        name = doc.get("typeName")
        if name in types and "handlers" in doc:
            found[name] = {
                h: sorted(set(doc["handlers"][h].get("permissions", [])))
                for h in ("create", "read", "update", "delete")
                if h in doc["handlers"]
            }
    missing = [t for t in types if t not in found]
    if missing:
        sys.exit(f"no provider schema with handlers for: {', '.join(missing)}")
    version = getattr(cfnlint, "__version__", None)
    if version is None:
        from cfnlint.version import __version__ as version
    text = json.dumps({"source": f"cfn-lint {version} provider schemas (handlers.*.permissions)",
                       "types": {t: found[t] for t in types}}, indent=1) + "\n"
    if check:
        with open(OUT) as f:
            if f.read() != text:
                sys.exit(f"{OUT} is stale; run `make handler-permissions`")
        print(f"{OUT} is up to date")
        return
    with open(OUT, "w") as f:
        f.write(text)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main(sys.argv[1:])
