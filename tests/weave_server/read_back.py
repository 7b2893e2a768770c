#!/usr/bin/env python3
"""Read a project back with the real Python client (weave==0.54.0) and print it as JSON.

Run with the *client* venv's python:

    python read_back.py --url http://127.0.0.1:PORT --project entity/project \
        [--op NAME]... [--call-id ID]... [--object REF]... [--include-costs] [--no-load-ops]

Output (one JSON document on stdout)::

    {
      "project": "entity/project",
      "calls": [ {id, trace_id, parent_id, op_name, display_name, inputs, output,
                  inputs_resolved, output_resolved, exception, summary, attributes,
                  started_at, ended_at, thread_id, turn_id, wb_run_id, wb_run_step,
                  wb_run_step_end, wb_user_id, deleted_at, feedback: [...]}, ... ],
      "op_refs": { "<op ref>": {"resolved": bool, "object_id", "digest", "kind", "val",
                                "source": "<obj.py content>", "loaded": bool,
                                "loaded_name", "load_error"} },
      "objects": { "<REF>": {"value": ..., "type": "..."} | {"error": "..."} },
      "feedback_unattached": [...],
      "blocked_connections": []
    }

* ``calls`` come from ``client.get_calls()`` (or ``client.get_call(id)`` for each
  ``--call-id``), sorted by ``started_at``. ``inputs``/``output`` are the values as stored
  (a ref is shown as its ``weave:///`` URI); ``*_resolved`` are the same values read
  through the client, refs dereferenced (``{"_ref": uri, "value": ...}``).
* ``op_refs``: for each distinct ``op_name`` ref: ``resolved`` means the ref names a
  stored Op object (``obj/read``) whose ``obj.py`` could be read (``source``, via
  ``client.server.file_content_read``); ``loaded`` means ``weave.ref(op_name).get()``
  returned an op (the Python client imports ``obj.py`` as Python to do that, so
  non-Python source gives ``loaded: false`` with ``load_error``).
* ``--op NAME`` filters calls by op name (``NAME`` or a full ``weave:///`` ref; a bare
  name matches every version).

On failure prints ``{"error": "..."}`` and exits with code 1.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _client_env  # noqa: E402
from _client_env import json_key, jsonable  # noqa: E402

MAX_DEPTH = 12
MAX_TABLE_ROWS = 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--project", required=True, help="entity/project")
    ap.add_argument("--op", action="append", default=[], help="filter by op name or ref")
    ap.add_argument("--call-id", action="append", default=[], help="read these calls only")
    ap.add_argument("--object", action="append", default=[], help="weave:/// ref to .get()")
    ap.add_argument("--include-costs", action="store_true")
    ap.add_argument("--no-load-ops", action="store_true",
                    help="do not import obj.py through weave.ref(op).get()")
    args = ap.parse_args()
    _client_env.configure(args.url)
    try:
        doc = read(args)
    except BaseException as e:  # noqa: BLE001
        _client_env.fail(e)
        return
    _client_env.emit(doc)


# --------------------------------------------------------------------------------------

def stored(v: Any, depth: int = 0) -> Any:
    """The value as stored: no ref resolution; refs become their URI."""
    from weave.trace.refs import Ref

    if depth > MAX_DEPTH:
        return {"_truncated": True}
    if isinstance(v, Ref):
        return v.uri()
    ref = getattr(v, "ref", None)
    if depth > 0 and isinstance(ref, Ref):
        return ref.uri()
    if isinstance(v, dict):
        return {json_key(k): stored(x, depth + 1) for k, x in dict.items(v)}
    if isinstance(v, list):
        return [stored(x, depth + 1) for x in list.__iter__(v)]
    if isinstance(v, tuple):
        return [stored(x, depth + 1) for x in v]
    return jsonable(v)


def resolved(v: Any, depth: int = 0) -> Any:
    """The value read through the client: refs dereferenced."""
    from weave.trace.op_protocol import Op
    from weave.trace.refs import Ref
    from weave.trace.vals import WeaveDict, WeaveList, WeaveObject, WeaveTable

    if depth > MAX_DEPTH:
        return {"_truncated": True}
    try:
        if isinstance(v, Ref):
            uri = v.uri()
            try:
                return {"_ref": uri, "value": resolved(v.get(), depth + 1)}
            except Exception as e:  # noqa: BLE001
                return {"_ref": uri, "error": f"{type(e).__name__}: {e}"}
        if isinstance(v, Op):
            ref = getattr(v, "ref", None)
            return {"_op": getattr(v, "name", None), "_ref": ref.uri() if ref else None}
        if isinstance(v, WeaveTable):
            rows = []
            for i, row in enumerate(v):
                if i >= MAX_TABLE_ROWS:
                    break
                rows.append(resolved(row, depth + 1))
            return {"_table": v.table_ref.uri() if v.table_ref else None, "rows": rows}
        if isinstance(v, WeaveObject):
            out: dict[str, Any] = {}
            ref = getattr(v, "ref", None)
            if ref is not None:
                out["_ref"] = ref.uri()
            val = v._val
            out["_class"] = type(val).__name__
            for k in list(getattr(val, "__dict__", {}).keys()):
                if k.startswith("__"):
                    continue
                out[k] = resolved(getattr(v, k), depth + 1)
            return out
        if isinstance(v, WeaveDict):
            return {json_key(k): resolved(v[k], depth + 1) for k in v.keys()}
        if isinstance(v, WeaveList):
            return [resolved(v[i], depth + 1) for i in range(len(v))]
        if isinstance(v, dict):
            return {json_key(k): resolved(x, depth + 1) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [resolved(x, depth + 1) for x in v]
        return jsonable(v)
    except Exception as e:  # noqa: BLE001
        return {"_error": f"{type(e).__name__}: {e}"}


def call_entry(c: Any) -> dict:
    display_name = c.display_name
    if callable(display_name):
        display_name = None
    raw_inputs = object.__getattribute__(c, "_val").inputs if hasattr(c, "_val") else c.inputs
    raw_output = object.__getattribute__(c, "_val").output if hasattr(c, "_val") else c.output
    return {
        "id": c.id,
        "trace_id": c.trace_id,
        "parent_id": c.parent_id,
        "op_name": c.op_name,
        "display_name": display_name,
        "inputs": stored(raw_inputs),
        "output": stored(raw_output),
        "inputs_resolved": resolved(c.inputs),
        "output_resolved": resolved(c.output),
        "exception": c.exception,
        "summary": jsonable(c.summary),
        "attributes": jsonable(c.attributes),
        "started_at": jsonable(c.started_at),
        "ended_at": jsonable(c.ended_at),
        "thread_id": c.thread_id,
        "turn_id": c.turn_id,
        "wb_run_id": c.wb_run_id,
        "wb_run_step": c.wb_run_step,
        "wb_run_step_end": c.wb_run_step_end,
        "wb_user_id": c.wb_user_id,
        "deleted_at": jsonable(c.deleted_at),
        "feedback": [],
    }


def op_ref_entry(client: Any, uri: str, load: bool) -> dict:
    import weave
    from weave.trace.refs import Ref

    out: dict[str, Any] = {"resolved": False, "source": None, "loaded": False}
    try:
        ref = Ref.parse_uri(uri)
    except Exception as e:  # noqa: BLE001
        out["error"] = f"not a ref: {type(e).__name__}: {e}"
        return out
    project_id = f"{ref.entity}/{ref.project}"
    out.update({"object_id": ref.name, "digest": ref.digest})
    try:
        res = client.server.obj_read({"project_id": project_id, "object_id": ref.name,
                                      "digest": ref.digest})
        obj = res.obj
        val = obj.val
        out["kind"] = getattr(obj, "kind", None)
        out["val"] = jsonable(val)
        files = (val or {}).get("files") or {}
        is_op = isinstance(val, dict) and (val.get("weave_type") or {}).get("type") == "Op"
        if "obj.py" in files:
            content = client.server.file_content_read(
                {"project_id": project_id, "digest": files["obj.py"]}).content
            out["source"] = content.decode("utf-8", errors="replace")
        out["resolved"] = bool(is_op and out["source"] is not None)
    except Exception as e:  # noqa: BLE001
        out["error"] = f"{type(e).__name__}: {e}"
    if load:
        try:
            op = weave.ref(uri).get()
            out["loaded"] = op is not None and callable(op)
            out["loaded_name"] = getattr(op, "name", None)
            if op is None:
                out["load_error"] = "weave.ref(op).get() returned None (obj.py did not import)"
        except Exception as e:  # noqa: BLE001
            out["load_error"] = f"{type(e).__name__}: {e}"
    return out


def read(args: argparse.Namespace) -> dict:
    import weave

    client = _client_env.init(args.project)

    if args.call_id:
        calls = [client.get_call(cid, include_costs=args.include_costs) for cid in args.call_id]
    else:
        flt = None
        if args.op:
            names = [o if o.startswith("weave:///") else f"weave:///{args.project}/op/{o}:*"
                     for o in args.op]
            flt = {"op_names": names}
        calls = list(client.get_calls(filter=flt, include_costs=args.include_costs))
    entries = [call_entry(c) for c in calls]
    entries.sort(key=lambda e: (e["started_at"] or "", e["id"] or ""))

    # Feedback: one query for the project, attached to calls by their call ref.
    by_ref: dict[str, list] = {}
    for f in client.get_feedback(limit=10000):
        by_ref.setdefault(f.weave_ref, []).append(jsonable(f))
    unattached = dict(by_ref)
    for e in entries:
        ref = f"weave:///{args.project}/call/{e['id']}"
        e["feedback"] = unattached.pop(ref, [])

    op_refs: dict[str, Any] = {}
    for e in entries:
        name = e["op_name"]
        if isinstance(name, str) and name.startswith("weave:///") and name not in op_refs:
            op_refs[name] = op_ref_entry(client, name, load=not args.no_load_ops)

    objects: dict[str, Any] = {}
    for ref in args.object:
        try:
            val = weave.ref(ref).get()
            objects[ref] = {"value": resolved(val), "type": type(val).__name__}
        except Exception as e:  # noqa: BLE001
            objects[ref] = {"error": f"{type(e).__name__}: {e}"}

    return {
        "project": args.project,
        "calls": entries,
        "op_refs": op_refs,
        "objects": objects,
        "feedback_unattached": [f for fs in unattached.values() for f in fs],
        "blocked_connections": _client_env.blocked_connections(),
    }


if __name__ == "__main__":
    main()
