#!/usr/bin/env python3
"""Print what the trace server stores for a project, raw (refs unresolved): every call,
every object version and every table, through the server's own routes.

    python stored_form.py --url http://127.0.0.1:PORT --project test-entity/p

Prints ``{"calls": [CallSchema...], "objects": {"<object ref>": val}, "tables":
{"<digest>": [{"digest", "val"}...]}}``. Loopback only; any API key works with the harness.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import urllib.parse
import urllib.request

ap = argparse.ArgumentParser()
ap.add_argument("--url", required=True)
ap.add_argument("--project", required=True)
ARGS = ap.parse_args()
if urllib.parse.urlparse(ARGS.url).hostname not in ("127.0.0.1", "localhost", "::1"):
    sys.exit("stored_form.py talks to loopback servers only")
AUTH = "Basic " + base64.b64encode(b"api:stored-form").decode()


def post(path: str, body: dict) -> bytes:
    req = urllib.request.Request(
        ARGS.url + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": AUTH},
    )
    with urllib.request.urlopen(req, timeout=60) as resp:
        return resp.read()


def main() -> dict:
    project = ARGS.project
    lines = post("/calls/stream_query", {"project_id": project}).decode().splitlines()
    calls = [json.loads(line) for line in lines if line.strip()]
    objs = json.loads(post("/objs/query", {"project_id": project}))["objs"]
    objects = {
        f"weave:///{project}/{'op' if o['kind'] == 'op' else 'object'}/{o['object_id']}:{o['digest']}": o["val"]
        for o in objs
    }
    tables = {}
    for val in objects.values():
        for ref in table_refs(val):
            digest = ref.rsplit("/", 1)[1]
            rows = json.loads(post("/table/query", {"project_id": project, "digest": digest}))["rows"]
            tables[digest] = [{"digest": r["digest"], "val": r["val"]} for r in rows]
    return {"calls": calls, "objects": objects, "tables": tables}


def table_refs(val):
    if isinstance(val, str) and "/table/" in val and val.startswith("weave:///"):
        yield val
    elif isinstance(val, dict):
        for v in val.values():
            yield from table_refs(v)
    elif isinstance(val, list):
        for v in val:
            yield from table_refs(v)


if __name__ == "__main__":
    try:
        print(json.dumps(main()))
    except Exception as e:  # noqa: BLE001
        print(json.dumps({"error": repr(e)}))
        sys.exit(1)
