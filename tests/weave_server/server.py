#!/usr/bin/env python3
"""Serve Weave's real trace-server logic (weave==0.52.42 SqliteTraceServer) over HTTP.

Run with the *server* venv's python (see setup.py):

    python server.py --port 0 --db /tmp/trace.db

Binds 127.0.0.1 only and prints exactly one line, ``LISTENING <port>``, on stdout once it
accepts connections. Everything else goes to stderr. It never opens an outgoing
connection.

The wrapper does what the closed-source FastAPI service does around the same logic:
  * routes -> ``tsi.*Req`` pydantic models -> ``ExternalTraceServer(SqliteTraceServer)``
    with an ``IdConverter`` (external ``entity/project`` <-> internal id without ``/``);
  * fills ``wb_user_id`` from the (fixed) authenticated user;
  * answers the three W&B GraphQL queries ``weave.init`` sends (``project``,
    ``upsertModel``, ``viewer``);
  * FastAPI-style errors: 401 without ``Authorization: Basic``, 404 for unknown routes,
    422 for request validation errors, the server's own error registry otherwise.

Version-skew shims (0.54 client -> 0.52.42 server models), see README.md:
  * unknown fields are dropped before validating the strict request models
    (counted in ``GET /__stats`` under ``dropped_fields``);
  * ``/call/upsert_batch`` is applied item by item (the external adapter does not
    wrap ``call_start_batch``).

Harness extras (idempotent ingest): a call id (or feedback id) that is already stored is
not inserted again, so a retried request is harmless, as with the real service; each such
duplicate is listed in ``GET /__stats`` so tests can tell "arrived once" from "arrived".

Test control routes (no auth): ``POST/DELETE/GET /__faults``, ``GET/DELETE /__requests``,
``GET /__stats``, ``POST /__shutdown``. See README.md.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import email.parser
import email.policy
import gzip
import json
import os
import re
import signal
import socket
import sys
import threading
import time
import traceback
import typing
import zlib
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

# Keep the server logic quiet and local: no Datadog tracer, no telemetry, no network.
os.environ.setdefault("DD_TRACE_ENABLED", "false")
os.environ.setdefault("DD_INSTRUMENTATION_TELEMETRY_ENABLED", "false")
os.environ.setdefault("DD_REMOTE_CONFIGURATION_ENABLED", "false")
os.environ.setdefault("WANDB_ERROR_REPORTING", "false")
os.environ.setdefault("WEAVE_DISABLED", "true")  # never trace the server itself

import pydantic  # noqa: E402

from weave.trace_server import errors as ts_errors  # noqa: E402
from weave.trace_server import trace_server_interface as tsi  # noqa: E402
from weave.trace_server.external_to_internal_trace_server_adapter import (  # noqa: E402
    ExternalTraceServer,
    IdConverter,
)
from weave.trace_server.sqlite_trace_server import (  # noqa: E402
    SqliteTraceServer,
    get_conn_cursor,
)

SERVER_VERSION = "0.52.42"
MAX_BODY_BYTES = 32 * 1024 * 1024  # the service's request limit

# The one user every valid API key maps to.
USER_ID = "VXNlcjox"  # base64("User:1"), shaped like a W&B user id
USERNAME = "test-user"
DEFAULT_ENTITY = "test-entity"


def log(msg: str) -> None:
    print(f"[weave-server] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------
# id converter
# --------------------------------------------------------------------------------------

class HarnessIdConverter(IdConverter):
    """``entity/project`` <-> unpadded urlsafe base64 of it (never contains ``/``)."""

    def ext_to_int_project_id(self, project_id: str) -> str:
        parts = project_id.split("/")
        if len(parts) != 2 or not parts[0] or not parts[1]:
            raise ts_errors.InvalidRequest(
                f"Invalid project_id {project_id!r}: expected 'entity/project'")
        return base64.urlsafe_b64encode(project_id.encode()).decode().rstrip("=")

    def int_to_ext_project_id(self, project_id: str) -> str | None:
        try:
            raw = base64.urlsafe_b64decode(project_id + "=" * (-len(project_id) % 4))
            ext = raw.decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None
        parts = ext.split("/")
        return ext if len(parts) == 2 and all(parts) else None

    def ext_to_int_run_id(self, run_id: str) -> str:
        return run_id

    def int_to_ext_run_id(self, run_id: str) -> str:
        return run_id

    def ext_to_int_user_id(self, user_id: str) -> str:
        return user_id

    def int_to_ext_user_id(self, user_id: str) -> str:
        return user_id


# --------------------------------------------------------------------------------------
# request model plumbing
# --------------------------------------------------------------------------------------

class RequestValidationError(Exception):
    def __init__(self, errors: list[dict]):
        super().__init__("request validation failed")
        self.errors = errors


def _req_model(method_name: str) -> type[pydantic.BaseModel]:
    for owner in (tsi.FullTraceServerInterface, tsi.TraceServerInterface,
                  ExternalTraceServer, SqliteTraceServer):
        fn = owner.__dict__.get(method_name) or getattr(owner, method_name, None)
        if fn is not None:
            break
    else:
        raise AttributeError(method_name)
    hints = typing.get_type_hints(fn, globalns=vars(tsi))
    return hints["req"]


def _delete_loc(data: Any, loc: tuple) -> str | None:
    """Delete the key at a pydantic error ``loc`` (skipping union tags). Returns the
    dotted path that was removed, or None."""
    cur = data
    path: list[str] = []
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(cur, dict) and isinstance(part, str) and part in cur:
            if last:
                del cur[part]
                path.append(part)
                return ".".join(path)
            cur = cur[part]
            path.append(part)
        elif isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur):
            if last:
                return None
            cur = cur[part]
            if path:
                path[-1] += "[]"
            else:
                path.append("[]")
        else:
            continue  # e.g. the name of a union member: not part of the data
    return None


def validate(model: type[pydantic.BaseModel], data: Any, dropped: list[str],
             loc_prefix: tuple = ("body",)) -> pydantic.BaseModel:
    """Validate ``data`` against a (strict) 0.52.42 request model, dropping unknown
    fields first (version skew: newer clients send fields the old models forbid)."""
    for _ in range(200):
        try:
            return model.model_validate(data)
        except pydantic.ValidationError as e:
            errs = e.errors(include_url=False, include_input=False)
            extra = [x for x in errs if x["type"] == "extra_forbidden"]
            removed = False
            for x in extra:
                p = _delete_loc(data, tuple(x["loc"]))
                if p is not None:
                    dropped.append(p)
                    removed = True
            if extra and removed:
                continue
            raise RequestValidationError([
                {"type": x["type"], "loc": list(loc_prefix) + list(x["loc"]),
                 "msg": x["msg"]}
                for x in errs
            ]) from None
    raise RequestValidationError([{"type": "too_many_extra_fields", "loc": list(loc_prefix),
                                   "msg": "too many unknown fields"}])


def set_user(obj: Any) -> None:
    """Fill every ``wb_user_id`` field in a request model tree (the service derives it
    from auth; clients send null)."""
    if isinstance(obj, pydantic.BaseModel):
        fields = type(obj).model_fields
        if "wb_user_id" in fields:
            object.__setattr__(obj, "wb_user_id", USER_ID)
        for name in fields:
            if name == "wb_user_id":
                continue
            val = obj.__dict__.get(name)
            if isinstance(val, (pydantic.BaseModel, list)):
                set_user(val)
    elif isinstance(obj, list):
        for v in obj:
            if isinstance(v, (pydantic.BaseModel, list)):
                set_user(v)


def to_jsonable(res: Any) -> Any:
    if isinstance(res, pydantic.BaseModel):
        return res.model_dump(mode="json")
    if isinstance(res, list):
        return [to_jsonable(r) for r in res]
    if isinstance(res, dict):
        return {k: to_jsonable(v) for k, v in res.items()}
    return res


# --------------------------------------------------------------------------------------
# state: faults, request log, stats
# --------------------------------------------------------------------------------------

class FaultRule:
    def __init__(self, spec: dict):
        if not isinstance(spec, dict) or "path_regex" not in spec:
            raise ValueError("each fault rule needs at least 'path_regex'")
        self.spec = dict(spec)
        self.regex = re.compile(spec["path_regex"])
        self.method = spec.get("method")
        self.status = spec.get("status")
        self.times = spec.get("times", 1)  # None / negative: forever
        self.retry_after = spec.get("retry_after")
        self.delay_s = float(spec.get("delay_s") or 0)
        self.drop = bool(spec.get("drop_connection", False))
        self.process = bool(spec.get("process", False))
        self.body = spec.get("body")
        self.hits = 0

    def active(self) -> bool:
        return self.times is None or self.times < 0 or self.hits < self.times

    def describe(self) -> dict:
        d = dict(self.spec)
        d["hits"] = self.hits
        d["remaining"] = None if (self.times is None or self.times < 0) else max(
            0, self.times - self.hits)
        return d


class State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.faults: list[FaultRule] = []
        self.requests: list[dict] = []
        self.seq = 0
        self.route_counts: dict[str, int] = {}
        self.status_counts: dict[str, dict[str, int]] = {}
        self.dropped_fields: dict[str, dict[str, int]] = {}
        self.duplicate_calls: list[str] = []
        self.duplicate_feedback: list[str] = []
        self.faults_injected = 0
        self.projects: set[tuple[str, str]] = set()

    def take_fault(self, method: str, path: str) -> FaultRule | None:
        with self.lock:
            for rule in self.faults:
                if not rule.active():
                    continue
                if rule.method and rule.method.upper() != method:
                    continue
                if rule.regex.search(path):
                    rule.hits += 1
                    self.faults_injected += 1
                    return rule
        return None

    def record(self, entry: dict) -> None:
        with self.lock:
            self.seq += 1
            entry["seq"] = self.seq
            if len(self.requests) < 200_000:
                self.requests.append(entry)
            key = f"{entry['method']} {entry['route'] or entry['path']}"
            self.route_counts[key] = self.route_counts.get(key, 0) + 1
            sc = self.status_counts.setdefault(key, {})
            status = str(entry["status"])
            sc[status] = sc.get(status, 0) + 1

    def note_dropped(self, route: str, fields: list[str]) -> None:
        if not fields:
            return
        with self.lock:
            d = self.dropped_fields.setdefault(route, {})
            for f in fields:
                d[f] = d.get(f, 0) + 1


STATE = State()
TS: ExternalTraceServer  # set in main()
DB_PATH: str = ""
# One lock around the server logic: sqlite writes from many threads are then safe, and
# delays injected by faults happen outside it.
TS_LOCK = threading.RLock()


def _rollback() -> None:
    try:
        conn, _ = get_conn_cursor(DB_PATH)
        conn.rollback()
    except Exception:  # noqa: BLE001
        pass


def _existing_ids(table: str, ids: list[str]) -> set[str]:
    ids = [i for i in ids if i]
    if not ids:
        return set()
    _, cursor = get_conn_cursor(DB_PATH)
    found: set[str] = set()
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        q = f"SELECT id FROM {table} WHERE id IN ({','.join('?' * len(chunk))})"
        found.update(r[0] for r in cursor.execute(q, chunk).fetchall())
    return found


def call_ts(method_name: str, req: Any) -> Any:
    with TS_LOCK:
        try:
            res = getattr(TS, method_name)(req)
            if hasattr(res, "__next__"):
                res = list(res)
            return res
        except BaseException:
            _rollback()
            raise


# An end whose start has not arrived yet: the sqlite server would UPDATE nothing and
# lose it (the real service merges call parts in any order). Park it in a side table
# and apply it when the start arrives.
END_MODELS = {"call_end": tsi.CallEndReq, "call_end_v2": tsi.CallEndV2Req}


def setup_harness_tables() -> None:
    conn, cur = get_conn_cursor(DB_PATH)
    cur.execute("CREATE TABLE IF NOT EXISTS harness_pending_ends ("
                "id TEXT PRIMARY KEY, method TEXT NOT NULL, req TEXT NOT NULL)")
    conn.commit()


def end_or_park(method_name: str, req: Any) -> Any:
    with TS_LOCK:
        if _existing_ids("calls", [req.end.id]):
            return call_ts(method_name, req)
        conn, cur = get_conn_cursor(DB_PATH)
        cur.execute("INSERT OR REPLACE INTO harness_pending_ends (id, method, req) "
                    "VALUES (?, ?, ?)", (req.end.id, method_name, req.model_dump_json()))
        conn.commit()
        return {}


def apply_parked_end(call_id: str | None) -> None:
    if not call_id:
        return
    conn, cur = get_conn_cursor(DB_PATH)
    row = cur.execute("SELECT method, req FROM harness_pending_ends WHERE id = ?",
                      (call_id,)).fetchone()
    if row is None:
        return
    method_name, raw = row
    call_ts(method_name, END_MODELS[method_name].model_validate_json(raw))
    cur.execute("DELETE FROM harness_pending_ends WHERE id = ?", (call_id,))
    conn.commit()


def forget_parked_ends(call_ids: list[str]) -> None:
    conn, cur = get_conn_cursor(DB_PATH)
    for i in range(0, len(call_ids), 500):
        chunk = call_ids[i:i + 500]
        cur.execute(f"DELETE FROM harness_pending_ends WHERE id IN ({','.join('?' * len(chunk))})",
                    chunk)
    conn.commit()


# --------------------------------------------------------------------------------------
# route handlers: each takes (ctx) and returns (status, body, content_type)
# --------------------------------------------------------------------------------------

class Ctx:
    def __init__(self, handler: "Handler", body: bytes, params: dict):
        self.handler = handler
        self.body = body
        self.params = params
        self.dropped: list[str] = []
        self.call_ids: list[str] | None = None
        self.route = ""

    def json(self) -> Any:
        if not self.body:
            raise RequestValidationError([{"type": "missing", "loc": ["body"],
                                           "msg": "Field required"}])
        try:
            return json.loads(self.body)
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise RequestValidationError([{"type": "json_invalid", "loc": ["body", 0],
                                           "msg": f"JSON decode error: {e}"}]) from None

    def header(self, name: str) -> str | None:
        return self.handler.headers.get(name)


JSON = "application/json"


def generic(method_name: str, stream: bool = False) -> Callable[[Ctx], tuple]:
    model = _req_model(method_name)

    def handle(ctx: Ctx) -> tuple:
        req = validate(model, ctx.json(), ctx.dropped)
        set_user(req)
        res = call_ts(method_name, req)
        if stream:
            lines = "".join(json.dumps(to_jsonable(r)) + "\n" for r in res)
            return 200, lines.encode(), "application/jsonl"
        return 200, to_jsonable(res), JSON

    return handle


def _collect_ids(items: list, key: str) -> list[str]:
    return [i.get(key) for i in items if isinstance(i, dict) and isinstance(i.get(key), str)]


def h_call_start(ctx: Ctx, v2: bool = False) -> tuple:
    data = ctx.json()
    if isinstance(data, dict) and isinstance(data.get("start"), dict):
        ctx.call_ids = _collect_ids([data["start"]], "id")
    model = tsi.CallStartV2Req if v2 else tsi.CallStartReq
    req = validate(model, data, ctx.dropped)
    if v2:
        _check_path_project(ctx, [req.start.project_id])
    set_user(req)
    with TS_LOCK:
        if req.start.id and _existing_ids("calls", [req.start.id]):
            with STATE.lock:
                STATE.duplicate_calls.append(req.start.id)
            return 200, {"id": req.start.id, "trace_id": req.start.trace_id}, JSON
        res = call_ts("call_start_v2" if v2 else "call_start", req)
        apply_parked_end(res.id)
    return 200, to_jsonable(res), JSON


def h_call_end(ctx: Ctx, v2: bool = False) -> tuple:
    data = ctx.json()
    if isinstance(data, dict) and isinstance(data.get("end"), dict):
        ctx.call_ids = _collect_ids([data["end"]], "id")
    model = tsi.CallEndV2Req if v2 else tsi.CallEndReq
    req = validate(model, data, ctx.dropped)
    if v2:
        _check_path_project(ctx, [req.end.project_id])
    set_user(req)
    res = end_or_park("call_end_v2" if v2 else "call_end", req)
    return 200, to_jsonable(res), JSON


def _check_path_project(ctx: Ctx, project_ids: list[str]) -> None:
    path_pid = f"{ctx.params['entity']}/{ctx.params['project']}"
    bad = sorted({p for p in project_ids if p != path_pid})
    if bad:
        raise ts_errors.InvalidRequest(
            f"project_id {bad} does not match the path project {path_pid!r}")


def h_calls_complete(ctx: Ctx) -> tuple:
    data = ctx.json()
    if isinstance(data, dict) and isinstance(data.get("batch"), list):
        ctx.call_ids = _collect_ids(data["batch"], "id")
    req = validate(tsi.CallsUpsertCompleteReq, data, ctx.dropped)
    _check_path_project(ctx, [c.project_id for c in req.batch])
    set_user(req)
    with TS_LOCK:
        existing = _existing_ids("calls", [c.id for c in req.batch])
        seen: set[str] = set()
        keep = []
        dups = []
        for c in req.batch:
            if c.id in existing or c.id in seen:
                dups.append(c.id)
                continue
            seen.add(c.id)
            keep.append(c)
        if dups:
            with STATE.lock:
                STATE.duplicate_calls.extend(dups)
        if keep:
            req.batch = keep
            call_ts("calls_complete", req)
            forget_parked_ends([c.id for c in keep])
    return 200, {}, JSON


def h_upsert_batch(ctx: Ctx) -> tuple:
    data = ctx.json()
    if not isinstance(data, dict) or not isinstance(data.get("batch"), list):
        raise RequestValidationError([{"type": "missing", "loc": ["body", "batch"],
                                       "msg": "Field required"}])
    ctx.call_ids = []
    items: list[tuple[str, pydantic.BaseModel]] = []
    errors: list[dict] = []
    for i, item in enumerate(data["batch"]):
        mode = item.get("mode") if isinstance(item, dict) else None
        if mode not in ("start", "end") or not isinstance(item.get("req"), dict):
            errors.append({"type": "value_error", "loc": ["body", "batch", i],
                           "msg": "item must be {mode: 'start'|'end', req: {...}}"})
            continue
        inner = item["req"].get(mode)
        if isinstance(inner, dict) and isinstance(inner.get("id"), str):
            ctx.call_ids.append(inner["id"])
        for k in list(item):
            if k not in ("mode", "req"):
                del item[k]
                ctx.dropped.append(f"batch[].{k}")
        model = tsi.CallStartReq if mode == "start" else tsi.CallEndReq
        try:
            dropped: list[str] = []
            req = validate(model, item["req"], dropped, ("body", "batch", i, "req"))
            ctx.dropped.extend(f"batch[].req.{d}" for d in dropped)
            set_user(req)
            items.append((mode, req))
        except RequestValidationError as e:
            errors.extend(e.errors)
    if errors:
        raise RequestValidationError(errors)
    res = []
    with TS_LOCK:
        for mode, req in items:
            if mode == "start":
                if req.start.id and _existing_ids("calls", [req.start.id]):
                    with STATE.lock:
                        STATE.duplicate_calls.append(req.start.id)
                    res.append({"id": req.start.id, "trace_id": req.start.trace_id})
                    continue
                started = call_ts("call_start", req)
                apply_parked_end(started.id)
                res.append(to_jsonable(started))
            else:
                res.append(to_jsonable(end_or_park("call_end", req)))
    return 200, {"res": res}, JSON


def _dedupe_feedback(reqs: list) -> tuple[list, list]:
    existing = _existing_ids("feedback", [r.id for r in reqs if r.id])
    keep, dups, seen = [], [], set()
    for r in reqs:
        if r.id and (r.id in existing or r.id in seen):
            dups.append(r)
            continue
        if r.id:
            seen.add(r.id)
        keep.append(r)
    if dups:
        with STATE.lock:
            STATE.duplicate_feedback.extend(r.id for r in dups)
    return keep, dups


def _feedback_echo(r: Any) -> dict:
    return {"id": r.id, "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "wb_user_id": USER_ID, "payload": r.payload}


def h_feedback_create(ctx: Ctx) -> tuple:
    req = validate(tsi.FeedbackCreateReq, ctx.json(), ctx.dropped)
    set_user(req)
    with TS_LOCK:
        keep, dups = _dedupe_feedback([req])
        if dups:
            return 200, _feedback_echo(req), JSON
        return 200, to_jsonable(call_ts("feedback_create", req)), JSON


def h_feedback_batch(ctx: Ctx) -> tuple:
    req = validate(tsi.FeedbackCreateBatchReq, ctx.json(), ctx.dropped)
    set_user(req)
    with TS_LOCK:
        order = list(req.batch)
        keep, dups = _dedupe_feedback(order)
        results: dict[int, Any] = {}
        if keep:
            req.batch = keep
            res = call_ts("feedback_create_batch", req)
            for r, out in zip(keep, res.res):
                results[id(r)] = to_jsonable(out)
        for r in dups:
            results[id(r)] = _feedback_echo(r)
    return 200, {"res": [results[id(r)] for r in order]}, JSON


def _parse_multipart(ctx: Ctx) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]]:
    ctype = ctx.header("Content-Type") or ""
    if not ctype.lower().startswith("multipart/form-data"):
        raise RequestValidationError([{"type": "value_error", "loc": ["body"],
                                       "msg": "expected multipart/form-data"}])
    raw = b"Content-Type: " + ctype.encode("latin-1") + b"\r\nMIME-Version: 1.0\r\n\r\n"
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw + ctx.body)
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, bytes]] = {}
    if not msg.is_multipart():
        raise RequestValidationError([{"type": "value_error", "loc": ["body"],
                                       "msg": "malformed multipart body"}])
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name is None:
            continue
        payload = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is not None:
            files[name] = (filename, payload)
        else:
            charset = part.get_content_charset() or "utf-8"
            fields[name] = payload.decode(charset, errors="replace")
    return fields, files


def h_file_create(ctx: Ctx) -> tuple:
    fields, files = _parse_multipart(ctx)
    errors = []
    if "project_id" not in fields:
        errors.append({"type": "missing", "loc": ["body", "project_id"], "msg": "Field required"})
    if "file" not in files:
        errors.append({"type": "missing", "loc": ["body", "file"], "msg": "Field required"})
    if errors:
        raise RequestValidationError(errors)
    filename, content = files["file"]
    expected = fields.get("expected_digest") or None
    req = validate(tsi.FileCreateReq, {"project_id": fields["project_id"], "name": filename,
                                       "content": content, "expected_digest": expected},
                   ctx.dropped)
    res = call_ts("file_create", req)
    return 200, to_jsonable(res), JSON


def h_file_content(ctx: Ctx) -> tuple:
    req = validate(tsi.FileContentReadReq, ctx.json(), ctx.dropped)
    res = call_ts("file_content_read", req)
    return 200, bytes(res.content), "application/octet-stream"


def h_server_info(ctx: Ctx) -> tuple:
    return 200, {"min_required_weave_python_version": "0.0.1",
                 "trace_server_version": SERVER_VERSION}, JSON


def h_health(ctx: Ctx) -> tuple:
    return 200, {"status": "ok"}, JSON


def h_otel_drop(ctx: Ctx) -> tuple:
    # The GenAI/"agents" OTel route is ClickHouse-only upstream: accept and drop.
    return 200, b"", "application/x-protobuf"


# --- W&B GraphQL (weave.init only) ----------------------------------------------------

def h_graphql(ctx: Ctx) -> tuple:
    data = ctx.json()
    if not isinstance(data, dict) or not isinstance(data.get("query"), str):
        return 400, {"errors": [{"message": "expected {query, variables}"}]}, JSON
    q = data["query"]
    v = data.get("variables") or {}
    op = re.search(r"\b(query|mutation)\b\s*(\w*)", q)
    body = re.sub(r"\s+", " ", q)
    if re.search(r"\bupsertModel\s*\(", body):
        entity = v.get("entity") or v.get("entityName") or DEFAULT_ENTITY
        name = v.get("name")
        if not name:
            return 200, {"data": None, "errors": [{"message": "name required"}]}, JSON
        with STATE.lock:
            STATE.projects.add((entity, name))
        return 200, {"data": {"upsertModel": {"model": {
            "name": name, "description": v.get("description"),
            "id": _b64(f"Project:{entity}/{name}"), "entityName": entity}, "inserted": True}}}, JSON
    if re.search(r"\bproject\s*\(", body):
        entity, name = v.get("entityName"), v.get("name")
        with STATE.lock:
            known = (entity, name) in STATE.projects
        proj = {"name": name, "id": _b64(f"Project:{entity}/{name}"),
                "entityName": entity} if known else None
        return 200, {"data": {"project": proj}}, JSON
    if re.search(r"\bviewer\b", body):
        return 200, {"data": {"viewer": {
            "id": USER_ID, "username": USERNAME, "name": USERNAME,
            "entity": DEFAULT_ENTITY,
            "defaultEntity": {"id": _b64(f"Entity:{DEFAULT_ENTITY}"), "name": DEFAULT_ENTITY},
            "teams": {"edges": [{"node": {"name": DEFAULT_ENTITY}}]},
        }}}, JSON
    if re.search(r"\bserverInfo\b", body):
        return 200, {"data": {"serverInfo": {"frontendHost": ""}}}, JSON
    name = op.group(2) if op else "?"
    return 200, {"data": None, "errors": [
        {"message": f"harness GraphQL does not implement operation {name!r}"}]}, JSON


def _b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


# --- routing --------------------------------------------------------------------------

POST_ROUTES: dict[str, Callable[[Ctx], tuple]] = {
    "/call/start": h_call_start,
    "/call/end": h_call_end,
    "/call/upsert_batch": h_upsert_batch,
    "/call/read": generic("call_read"),
    "/call/update": generic("call_update"),
    "/calls/query": generic("calls_query"),
    "/calls/stream_query": generic("calls_query_stream", stream=True),
    "/calls/query_stats": generic("calls_query_stats"),
    "/calls/delete": generic("calls_delete"),
    "/calls/usage": generic("calls_usage"),
    "/calls/stats": generic("call_stats"),
    "/trace/usage": generic("trace_usage"),
    "/threads/stream_query": generic("threads_query_stream", stream=True),
    "/obj/create": generic("obj_create"),
    "/obj/read": generic("obj_read"),
    "/objs/query": generic("objs_query"),
    "/obj/delete": generic("obj_delete"),
    "/table/create": generic("table_create"),
    "/table/update": generic("table_update"),
    "/table/query": generic("table_query"),
    "/table/query_stats": generic("table_query_stats"),
    "/table/query_stats_batch": generic("table_query_stats_batch"),
    "/table/create_from_digests": generic("table_create_from_digests"),
    "/refs/read_batch": generic("refs_read_batch"),
    "/file/create": h_file_create,
    "/file/content": h_file_content,
    "/files/query_stats": generic("files_stats"),
    "/feedback/create": h_feedback_create,
    "/feedback/batch/create": h_feedback_batch,
    "/feedback/query": generic("feedback_query"),
    "/feedback/purge": generic("feedback_purge"),
    "/feedback/replace": generic("feedback_replace"),
    "/feedback/stats": generic("feedback_stats"),
    "/cost/create": generic("cost_create"),
    "/cost/query": generic("cost_query"),
    "/cost/purge": generic("cost_purge"),
    "/project/stats": generic("project_stats"),
    "/project/ttl_settings/read": generic("project_ttl_settings_read"),
    "/project/ttl_settings/update": generic("project_ttl_settings_update"),
    "/service/projects_info": generic("projects_info"),
    "/agents/otel/v1/traces": h_otel_drop,
    "/graphql": h_graphql,
}
GET_ROUTES: dict[str, Callable[[Ctx], tuple]] = {
    "/server_info": h_server_info,
    "/health": h_health,
}
V2_RE = re.compile(r"^/v2/(?P<entity>[^/]+)/(?P<project>[^/]+)/(?P<rest>calls/complete|call/start|call/end)$")
V2_ROUTES = {
    "calls/complete": h_calls_complete,
    "call/start": lambda ctx: h_call_start(ctx, v2=True),
    "call/end": lambda ctx: h_call_end(ctx, v2=True),
}
NO_AUTH = {"/server_info", "/health"}


def resolve(method: str, path: str) -> tuple[str | None, Callable[[Ctx], tuple] | None, dict]:
    if method == "GET" and path in GET_ROUTES:
        return path, GET_ROUTES[path], {}
    if method == "POST":
        if path in POST_ROUTES:
            return path, POST_ROUTES[path], {}
        m = V2_RE.match(path)
        if m:
            return ("/v2/{entity}/{project}/" + m["rest"], V2_ROUTES[m["rest"]],
                    {"entity": m["entity"], "project": m["project"]})
    known = path in GET_ROUTES or path in POST_ROUTES or V2_RE.match(path)
    return (path if known else None), None, {}


def auth_state(value: str | None) -> str:
    """Classify the Authorization header without ever keeping its value."""
    if not value:
        return "missing"
    scheme, _, cred = value.partition(" ")
    if scheme.lower() != "basic" or not cred.strip():
        return "not-basic"
    try:
        user, sep, key = base64.b64decode(cred.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return "malformed"
    if not sep or not key:
        return "malformed"
    return "api" if user == "api" else "basic-other-user"


# --------------------------------------------------------------------------------------
# HTTP handler
# --------------------------------------------------------------------------------------

class BodyTooLarge(Exception):
    pass


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "weave-harness/" + SERVER_VERSION
    sys_version = ""
    log_requests = False

    # silence the default per-request stderr line (it would be noise; see --log-requests)
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    # -- body -------------------------------------------------------------------------
    def _read_body(self) -> bytes:
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks, total = [], 0
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > MAX_BODY_BYTES:
                    raise BodyTooLarge()
                chunks.append(self.rfile.read(size))
                self.rfile.readline(3)
            body = b"".join(chunks)
        else:
            n = int(self.headers.get("Content-Length") or 0)
            if n > MAX_BODY_BYTES:
                # drain (bounded) so the client sees the response, then close
                left = n
                while left > 0:
                    got = self.rfile.read(min(left, 1 << 20))
                    if not got:
                        break
                    left -= len(got)
                raise BodyTooLarge()
            body = self.rfile.read(n) if n else b""
        enc = (self.headers.get("Content-Encoding") or "").lower()
        if enc == "gzip":
            body = gzip.decompress(body)
        elif enc == "deflate":
            body = zlib.decompress(body)
        return body

    # -- responses --------------------------------------------------------------------
    def _send(self, status: int, body: Any, ctype: str = JSON,
              extra_headers: dict[str, str] | None = None) -> None:
        if isinstance(body, (bytes, bytearray)):
            raw = bytes(body)
        else:
            raw = json.dumps(body).encode()
        self._commit_entry(status)
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(raw)))
        for k, v in (extra_headers or {}).items():
            self.send_header(k, v)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(raw)
        self.wfile.flush()

    def _commit_entry(self, status: Any) -> None:
        """Log the request before the client can see the answer (so a test that reads
        /__requests right after its response always finds it)."""
        pending = getattr(self, "_pending", None)
        if pending is None:
            return
        self._pending = None
        entry, t0 = pending
        if entry["status"] is None:
            entry["status"] = status
        entry["duration_ms"] = round((time.monotonic() - t0) * 1000, 3)
        STATE.record(entry)
        if self.log_requests:
            log(f"{entry['method']} {entry['path']} -> {entry['status']} "
                f"({entry['duration_ms']} ms)" + (f" fault={entry['fault']}" if entry["fault"] else ""))

    def _drop(self) -> None:
        self._commit_entry("dropped")
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # -- dispatch ---------------------------------------------------------------------
    def _dispatch(self, method: str) -> None:
        t0 = time.monotonic()
        path = self.path.split("?", 1)[0]
        if path.startswith("/__"):
            self._control(method, path)
            return
        entry: dict[str, Any] = {
            "time": time.time(), "method": method, "path": path, "route": None,
            "headers": list(self.headers.keys()),
            "content_type": (self.headers.get("Content-Type") or "").split(";")[0] or None,
            "body_size": 0, "status": None, "fault": None,
            "auth": auth_state(self.headers.get("Authorization")),
        }
        self._pending = (entry, t0)
        try:
            self._handle(method, path, entry)
        except (BrokenPipeError, ConnectionResetError):
            # answered (or not) but the client was gone: the entry may already be logged
            entry["status"] = "client-disconnected"
            self.close_connection = True
        finally:
            self._commit_entry(entry["status"] or "client-disconnected")

    def _handle(self, method: str, path: str, entry: dict) -> None:
        try:
            body = self._read_body()
        except BodyTooLarge:
            entry["status"] = 413
            self.close_connection = True
            self._send(413, {"reason": "Request too large", "detail": "Request too large"})
            return
        except (ValueError, OSError, EOFError, zlib.error) as e:
            entry["status"] = 400
            self.close_connection = True
            self._send(400, {"detail": f"could not read request body: {type(e).__name__}"})
            return
        entry["body_size"] = len(body)

        route, fn, params = resolve(method, path)
        entry["route"] = route

        rule = STATE.take_fault(method, path)
        if rule is not None:
            entry["fault"] = {k: v for k, v in rule.spec.items() if k != "path_regex"}
            if rule.delay_s:
                time.sleep(rule.delay_s)
            if not rule.process:
                if self._apply_fault(rule, entry):
                    return

        if fn is None:
            entry["status"] = 404 if route is None else 405
            self._send(entry["status"], {"detail": "Not Found" if route is None
                                         else "Method Not Allowed"})
            return
        if route not in NO_AUTH and entry["auth"] not in ("api", "basic-other-user"):
            entry["status"] = 401
            self._send(401, {"detail": "Not authenticated"},
                       extra_headers={"WWW-Authenticate": 'Basic realm="weave"'})
            return

        ctx = Ctx(self, body, params)
        ctx.route = route or path
        try:
            status, out, ctype = fn(ctx)
        except RequestValidationError as e:
            status, out, ctype = 422, {"detail": e.errors}, JSON
        except Exception as e:  # noqa: BLE001
            status, out = self._error(e, route or path)
            ctype = JSON
        STATE.note_dropped(route or path, ctx.dropped)
        if ctx.call_ids is not None:
            entry["call_ids"] = ctx.call_ids
        if ctx.dropped:
            entry["dropped_fields"] = sorted(set(ctx.dropped))

        if rule is not None and rule.process:
            if self._apply_fault(rule, entry):
                return
        entry["status"] = status
        self._send(status, out, ctype)

    def _apply_fault(self, rule: FaultRule, entry: dict) -> bool:
        """Answer with the injected fault. Returns True when the request is finished."""
        if rule.drop:
            entry["status"] = "dropped"
            self._drop()
            return True
        if rule.status:
            headers = {}
            if rule.retry_after is not None:
                ra = rule.retry_after
                headers["Retry-After"] = str(int(ra)) if float(ra).is_integer() else str(ra)
            entry["status"] = int(rule.status)
            body = rule.body if rule.body is not None else {
                "detail": f"injected fault {rule.status}",
                "reason": f"injected fault {rule.status}"}
            self._send(int(rule.status), body, extra_headers=headers)
            return True
        return False  # delay only

    def _error(self, e: Exception, route: str) -> tuple[int, dict]:
        ews = ts_errors.handle_server_exception(e)
        out = dict(ews.message)
        status = ews.status_code
        if status >= 500 or isinstance(e, (NotImplementedError, AttributeError, TypeError)):
            log(f"error on {route}: {type(e).__name__}: {e}")
            traceback.print_exc(file=sys.stderr)
            # Keep the type and message: tests need to see what went wrong.
            out["reason"] = f"{type(e).__name__}: {e}"
            if isinstance(e, NotImplementedError):
                status = 501
        out.setdefault("detail", out.get("reason", "error"))
        return status, out

    # -- test control -----------------------------------------------------------------
    def _control(self, method: str, path: str) -> None:
        try:
            body = self._read_body()
        except (BodyTooLarge, ValueError, OSError, zlib.error):
            self.close_connection = True
            self._send(400, {"detail": "bad body"})
            return
        try:
            data = json.loads(body) if body.strip() else None
        except json.JSONDecodeError:
            self._send(422, {"detail": "invalid JSON"})
            return
        if path == "/__faults":
            if method == "POST":
                specs = data if isinstance(data, list) else [data]
                try:
                    rules = [FaultRule(s) for s in specs]
                except (ValueError, TypeError, re.error) as e:
                    self._send(422, {"detail": str(e)})
                    return
                with STATE.lock:
                    STATE.faults.extend(rules)
                self._send(200, {"added": len(rules)})
            elif method == "DELETE":
                with STATE.lock:
                    n = len(STATE.faults)
                    STATE.faults.clear()
                self._send(200, {"cleared": n})
            elif method == "GET":
                with STATE.lock:
                    self._send(200, {"faults": [r.describe() for r in STATE.faults]})
            else:
                self._send(405, {"detail": "Method Not Allowed"})
        elif path == "/__requests":
            if method == "GET":
                with STATE.lock:
                    reqs = list(STATE.requests)
                self._send(200, {"requests": reqs})
            elif method == "DELETE":
                with STATE.lock:
                    n = len(STATE.requests)
                    STATE.requests.clear()
                self._send(200, {"cleared": n})
            else:
                self._send(405, {"detail": "Method Not Allowed"})
        elif path == "/__stats" and method == "GET":
            with STATE.lock:
                stats = {
                    "routes": dict(STATE.route_counts),
                    "statuses": {k: dict(v) for k, v in STATE.status_counts.items()},
                    "requests_total": STATE.seq,
                    "faults_injected": STATE.faults_injected,
                    "dropped_fields": {k: dict(v) for k, v in STATE.dropped_fields.items()},
                    "duplicate_call_ids": list(STATE.duplicate_calls),
                    "duplicate_feedback_ids": list(STATE.duplicate_feedback),
                }
            with TS_LOCK:
                _, cur = get_conn_cursor(DB_PATH)
                stats["calls_stored"] = cur.execute("SELECT COUNT(*) FROM calls").fetchone()[0]
                stats["calls_ended"] = cur.execute(
                    "SELECT COUNT(*) FROM calls WHERE ended_at IS NOT NULL").fetchone()[0]
                stats["pending_end_ids"] = [r[0] for r in cur.execute(
                    "SELECT id FROM harness_pending_ends ORDER BY id").fetchall()]
            self._send(200, stats)
        elif path == "/__shutdown" and method == "POST":
            self.close_connection = True
            self._send(200, {"shutting_down": True})
            threading.Thread(target=self.server.shutdown, daemon=True).start()
        else:
            self._send(404, {"detail": "Not Found"})


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gives up (timeout, reset) is normal in fault tests: no traceback.
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


def main() -> None:
    global TS, DB_PATH, MAX_BODY_BYTES
    ap = argparse.ArgumentParser(description="Weave 0.52.42 SqliteTraceServer over HTTP")
    ap.add_argument("--port", type=int, default=0, help="0 = pick a free port")
    ap.add_argument("--db", required=True, help="sqlite file (created if missing)")
    ap.add_argument("--log-requests", action="store_true", help="one stderr line per request")
    ap.add_argument("--max-body-bytes", type=int, default=MAX_BODY_BYTES)
    args = ap.parse_args()
    MAX_BODY_BYTES = args.max_body_bytes

    DB_PATH = os.path.abspath(args.db)
    os.makedirs(os.path.dirname(DB_PATH), exist_ok=True)
    sqlite_server = SqliteTraceServer(DB_PATH)
    sqlite_server.setup_tables()
    setup_harness_tables()
    TS = ExternalTraceServer(
        sqlite_server, HarnessIdConverter(),
        username_resolver=lambda uid: USERNAME if uid == USER_ID else None)
    Handler.log_requests = args.log_requests

    httpd = Server(("127.0.0.1", args.port), Handler)
    port = httpd.server_address[1]

    def on_signal(signum: int, frame: Any) -> None:
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    log(f"serving weave {SERVER_VERSION} SqliteTraceServer on 127.0.0.1:{port}, db {DB_PATH}")
    sys.stdout.write(f"LISTENING {port}\n")
    sys.stdout.flush()
    # That was the only stdout line: the server logic print()s debug text (e.g. on
    # calls/delete), so from now on fd 1 and sys.stdout both go to stderr.
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    try:
        httpd.serve_forever(poll_interval=0.2)
    finally:
        httpd.server_close()
        log("stopped")


if __name__ == "__main__":
    main()
