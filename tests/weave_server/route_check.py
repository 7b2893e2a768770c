#!/usr/bin/env python3
"""Raw-HTTP checks of every harness route (standard library only, any python3).

    python3 route_check.py --url http://127.0.0.1:PORT

Exercises the routes a Rust client uses with hand-written bodies (so it also documents
the request shapes), the test control routes and each kind of injected fault. Prints
``route_check: OK (<n> checks)`` or raises with the first failure. Used by
``setup.py --self-test``.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import http.client
import json
import time
import uuid
from typing import Any
from urllib.parse import urlparse

AUTH = "Basic " + base64.b64encode(b"api:route-check-key").decode()
PROJECT = "test-entity/route-check"
CHECKS = 0


def uuid7() -> str:
    ms = int(time.time() * 1000)
    rand = uuid.uuid4().int
    val = (ms << 80) | (0x7 << 76) | ((rand >> 64) & 0xFFF) << 64 | (0b10 << 62) | (
        rand & ((1 << 62) - 1))
    return str(uuid.UUID(int=val))


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + ".%06dZ" % (
        int(time.time() * 1e6) % 1_000_000)


class Client:
    def __init__(self, url: str):
        u = urlparse(url)
        assert u.hostname in ("127.0.0.1", "localhost"), url
        self.host, self.port = u.hostname, u.port

    def request(self, method: str, path: str, body: Any = None, *, auth: bool = True,
                headers: dict | None = None, raw: bytes | None = None,
                timeout: float = 30) -> tuple[int, dict, bytes]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        h = dict(headers or {})
        if auth:
            h["Authorization"] = AUTH
        data = raw
        if data is None and body is not None:
            data = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        try:
            conn.request(method, path, body=data, headers=h)
            r = conn.getresponse()
            return r.status, dict(r.getheaders()), r.read()
        finally:
            conn.close()

    def json(self, method: str, path: str, body: Any = None, expect: int = 200,
             **kw: Any) -> Any:
        global CHECKS
        st, _, raw = self.request(method, path, body, **kw)
        CHECKS += 1
        if st != expect:
            raise AssertionError(f"{method} {path}: expected {expect}, got {st}: {raw[:500]!r}")
        if not raw:
            return None
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw


def check(cond: bool, msg: str) -> None:
    global CHECKS
    CHECKS += 1
    if not cond:
        raise AssertionError(msg)


def multipart(fields: dict[str, str], file_name: str, content: bytes) -> tuple[bytes, str]:
    boundary = "----harness" + uuid.uuid4().hex
    out = b""
    for k, v in fields.items():
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n"
                f"{v}\r\n").encode()
    out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            ).encode() + content + b"\r\n" + f"--{boundary}--\r\n".encode()
    return out, f"multipart/form-data; boundary={boundary}"


def call_item(call_id: str, trace_id: str, op: str, parent: str | None = None,
              **extra: Any) -> dict:
    item = {
        "project_id": PROJECT, "id": call_id, "trace_id": trace_id, "op_name": op,
        "display_name": None, "parent_id": parent, "thread_id": None, "turn_id": None,
        "started_at": now(), "ended_at": now(), "attributes": {"weave": {"source": "rust"}},
        "inputs": {"x": 1}, "output": {"y": 2},
        "summary": {"status_counts": {"success": 1, "error": 0}},
        "otel_dump": None, "exception": None, "wb_user_id": None, "wb_run_id": None,
        "wb_run_step": None, "wb_run_step_end": None,
    }
    item.update(extra)
    return item


def run(url: str) -> None:
    c = Client(url)
    e, p = PROJECT.split("/")
    c.json("DELETE", "/__faults", auth=False)

    # --- service, auth, errors ----------------------------------------------------------
    info = c.json("GET", "/server_info", auth=False)
    check(info["trace_server_version"] == "0.52.42", f"server_info {info}")
    c.json("GET", "/health", auth=False)
    body = c.json("POST", "/calls/query_stats", {"project_id": PROJECT}, auth=False, expect=401)
    check(body == {"detail": "Not authenticated"}, f"401 body {body}")
    c.json("POST", "/calls/query_stats", {"project_id": PROJECT}, expect=401,
           auth=False, headers={"Authorization": "Bearer abc"})
    c.json("POST", "/nowhere", {}, expect=404)
    c.json("GET", "/calls/query_stats", expect=405)
    body = c.json("POST", "/calls/query_stats", {"project_id": PROJECT, "limit": "x"},
                  expect=422)
    check(body["detail"][0]["loc"] == ["body", "limit"], f"422 loc {body}")
    c.json("POST", "/calls/query_stats", raw=b"{not json", expect=422)
    body = c.json("POST", "/calls/query_stats", {"project_id": "no-slash"}, expect=400)
    check("detail" in body and "reason" in body, f"400 body {body}")

    # --- op: file + object ----------------------------------------------------------------
    src = b"// Rust source of my_op\nfn my_op(x: i64) -> i64 { x * 2 }\n"
    data, ctype = multipart({"project_id": PROJECT, "expected_digest": ""}, "obj.py", src)
    fres = c.json("POST", "/file/create", raw=data, headers={"Content-Type": ctype})
    file_digest = fres["digest"]
    check(len(file_digest) == 43, f"file digest {file_digest}")
    got = c.request("POST", "/file/content", {"project_id": PROJECT, "digest": file_digest})
    check(got[0] == 200 and got[2] == src, f"file content {got[:1]}")
    op_val = {"_type": "CustomWeaveType", "weave_type": {"type": "Op"},
              "files": {"obj.py": file_digest}}
    ores = c.json("POST", "/obj/create", {"obj": {
        "project_id": PROJECT, "object_id": "my_op", "val": op_val,
        "builtin_object_class": None, "expected_digest": None, "wb_user_id": None}})
    op_ref = f"weave:///{PROJECT}/op/my_op:{ores['digest']}"
    read = c.json("POST", "/obj/read", {"project_id": PROJECT, "object_id": "my_op",
                                        "digest": ores["digest"]})
    check(read["obj"]["kind"] == "op" and read["obj"]["val"] == op_val, f"obj/read {read}")
    objs = c.json("POST", "/objs/query", {"project_id": PROJECT,
                                          "filter": {"is_op": True, "latest_only": True}})
    check([o["object_id"] for o in objs["objs"]] == ["my_op"], f"objs/query {objs}")
    obj = c.json("POST", "/obj/create", {"obj": {
        "project_id": PROJECT, "object_id": "cfg", "val": {"temperature": 0.5}}})
    obj_ref = f"weave:///{PROJECT}/object/cfg:{obj['digest']}"
    vals = c.json("POST", "/refs/read_batch", {"refs": [obj_ref, op_ref]})
    check(vals["vals"][0] == {"temperature": 0.5}, f"refs/read_batch {vals}")

    # --- tables -------------------------------------------------------------------------
    t = c.json("POST", "/table/create", {"table": {"project_id": PROJECT,
                                                   "rows": [{"a": 1}, {"a": 2}]}})
    check(len(t["digest"]) == 64 and len(t["row_digests"]) == 2, f"table/create {t}")
    rows = c.json("POST", "/table/query", {"project_id": PROJECT, "digest": t["digest"]})
    check([r["val"] for r in rows["rows"]] == [{"a": 1}, {"a": 2}], f"table/query {rows}")
    upd = c.json("POST", "/table/update", {"project_id": PROJECT, "base_digest": t["digest"],
                                           "updates": [{"append": {"row": {"a": 3}}}]})
    fd = c.json("POST", "/table/create_from_digests", {
        "project_id": PROJECT, "row_digests": t["row_digests"] + upd["updated_row_digests"]})
    check(fd["digest"] == upd["digest"], f"create_from_digests {fd} vs {upd}")

    # --- calls: complete, v2 start/end, legacy upsert_batch, v1 start/end ---------------
    trace = uuid7()
    root, kid = uuid7(), uuid7()
    c.json("POST", f"/v2/{e}/{p}/calls/complete", {"batch": [
        call_item(kid, trace, op_ref, parent=root, future_field=1),
        call_item(root, trace, op_ref, display_name="root", inputs={"cfg": obj_ref})]})
    c.json("POST", "/v2/other/proj/calls/complete", {"batch": [call_item(uuid7(), trace, op_ref)]},
           expect=400)
    # the same batch again: stored once, reported as duplicates
    c.json("POST", f"/v2/{e}/{p}/calls/complete", {"batch": [call_item(root, trace, op_ref)]})

    eager = uuid7()
    start = {k: v for k, v in call_item(eager, trace, op_ref, parent=root).items()
             if k not in ("ended_at", "output", "summary", "exception", "wb_run_step_end")}
    end = {"project_id": PROJECT, "id": eager, "trace_id": trace, "is_eval": False,
           "ended_at": now(), "started_at": start["started_at"], "exception": None,
           "output": "done", "summary": {"status_counts": {"success": 1, "error": 0}},
           "wb_run_step_end": None}
    # end before start: parked, applied when the start arrives
    c.json("POST", f"/v2/{e}/{p}/call/end", {"end": end}, headers={"X-Weave-Trace-Id": trace})
    stats = c.json("GET", "/__stats", auth=False)
    check(eager in stats["pending_end_ids"], f"parked end {stats['pending_end_ids']}")
    res = c.json("POST", f"/v2/{e}/{p}/call/start", {"start": start},
                 headers={"X-Weave-Trace-Id": trace})
    check(res == {"id": eager, "trace_id": trace}, f"v2 start {res}")
    stats = c.json("GET", "/__stats", auth=False)
    check(eager not in stats["pending_end_ids"], "parked end not applied")

    legacy = uuid7()
    lstart = dict(start, id=legacy)
    lend = dict(end, id=legacy, output={"legacy": True})
    res = c.json("POST", "/call/upsert_batch", {"batch": [
        {"mode": "start", "req": {"start": lstart}}, {"mode": "end", "req": {"end": lend}}]})
    check(res["res"][0] == {"id": legacy, "trace_id": trace} and res["res"][1] == {},
          f"upsert_batch {res}")
    body = c.json("POST", "/call/upsert_batch", {"batch": [
        {"mode": "start", "req": {"start": dict(lstart, id=uuid7(), started_at="nope")}}]},
        expect=422)
    check(body["detail"][0]["loc"][:4] == ["body", "batch", 0, "req"], f"upsert 422 {body}")
    v1 = uuid7()
    c.json("POST", "/call/start", {"start": dict(lstart, id=v1)})
    c.json("POST", "/call/end", {"end": dict(lend, id=v1)})

    # --- reads ----------------------------------------------------------------------------
    st, hdrs, raw = c.request("POST", "/calls/stream_query", {
        "project_id": PROJECT, "sort_by": [{"field": "started_at", "direction": "asc"}],
        "latest_only": True}, headers={"Accept": "application/jsonl"})
    calls = [json.loads(line) for line in raw.decode().splitlines()]
    check(st == 200 and hdrs.get("Content-Type") == "application/jsonl", f"stream {st} {hdrs}")
    ids = [x["id"] for x in calls]
    check(sorted(ids) == sorted({kid, root, eager, legacy, v1}), f"stored calls {ids}")
    by_id = {x["id"]: x for x in calls}
    check(by_id[eager]["output"] == "done" and by_id[eager]["ended_at"], "eager end applied")
    check(by_id[root]["summary"]["weave"]["status"] == "success", f"{by_id[root]['summary']}")
    check(by_id[root]["inputs"]["cfg"] == obj_ref, "ref input converted back to weave:///")
    qs = c.json("POST", "/calls/query_stats", {"project_id": PROJECT,
                                               "filter": {"trace_roots_only": True}})
    check(qs["count"] == 1, f"query_stats {qs}")
    q = c.json("POST", "/calls/query", {"project_id": PROJECT,
                                        "filter": {"op_names": [f"weave:///{PROJECT}/op/my_op:*"]}})
    check(len(q["calls"]) == 5, f"calls/query op wildcard {len(q['calls'])}")
    one = c.json("POST", "/call/read", {"project_id": PROJECT, "id": root})
    check(one["call"]["display_name"] == "root", f"call/read {one}")
    c.json("POST", "/call/update", {"project_id": PROJECT, "call_id": root,
                                    "display_name": "renamed", "wb_user_id": None})
    one = c.json("POST", "/call/read", {"project_id": PROJECT, "id": root})
    check(one["call"]["display_name"] == "renamed", "call/update")

    # --- feedback, costs, projects_info ------------------------------------------------
    fid = uuid7()
    fb = {"id": fid, "project_id": PROJECT, "weave_ref": f"weave:///{PROJECT}/call/{root}",
          "feedback_type": "wandb.reaction.1", "payload": {"emoji": "👍"},
          "creator": None, "span_agent_name": ""}
    res = c.json("POST", "/feedback/batch/create", {"batch": [fb, dict(fb, id=uuid7(),
                  feedback_type="wandb.note.1", payload={"note": "hi"})]})
    check(res["res"][0]["payload"]["alias"] == ":thumbs_up:", f"reaction {res}")
    c.json("POST", "/feedback/batch/create", {"batch": [fb]})  # duplicate id: kept once
    c.json("POST", "/feedback/create", dict(fb, id=None, feedback_type="wandb.note.1",
                                            payload={"note": "single"}))
    fq = c.json("POST", "/feedback/query", {"project_id": PROJECT})
    check(len(fq["result"]) == 3, f"feedback/query {len(fq['result'])}")
    cost = c.json("POST", "/cost/create", {"project_id": PROJECT, "costs": {
        "my-model": {"prompt_token_cost": 0.001, "completion_token_cost": 0.002}},
        "wb_user_id": None})
    check(cost["ids"][0][1] == "my-model", f"cost/create {cost}")
    cq = c.json("POST", "/cost/query", {"project_id": PROJECT})
    check(any(r.get("llm_id") == "my-model" for r in cq["results"]), f"cost/query {cq}")
    pi = c.json("POST", "/service/projects_info", {"project_ids": [PROJECT]})
    check(pi[0]["external_project_id"] == PROJECT and "/" not in pi[0]["internal_project_id"],
          f"projects_info {pi}")
    dl = c.json("POST", "/calls/delete", {"project_id": PROJECT, "call_ids": [v1],
                                          "wb_user_id": None})
    check(dl.get("num_deleted") == 1, f"calls/delete {dl}")

    # --- graphql --------------------------------------------------------------------------
    g = c.json("POST", "/graphql", {"query": "query Project($name: String!, $entityName: String!)"
               " { project(name: $name, entityName: $entityName) { name } }",
               "variables": {"name": "fresh", "entityName": "e1"}})
    check(g == {"data": {"project": None}}, f"graphql project {g}")
    g = c.json("POST", "/graphql", {"query": "mutation UpsertModel($name: String!, $entity: "
               "String!) { upsertModel(input: {name: $name, entityName: $entity}) { model "
               "{ name } } }", "variables": {"name": "fresh", "entity": "e1"}})
    check(g["data"]["upsertModel"]["model"]["name"] == "fresh", f"graphql upsert {g}")
    g = c.json("POST", "/graphql", {"query": "query DefaultEntity { viewer { username "
               "defaultEntity { name } } }"})
    check(g["data"]["viewer"]["defaultEntity"]["name"] == "test-entity", f"viewer {g}")

    # --- transport variants -------------------------------------------------------------
    gz = gzip.compress(json.dumps({"project_id": PROJECT}).encode())
    c.json("POST", "/calls/query_stats", raw=gz, headers={"Content-Encoding": "gzip",
                                                          "Content-Type": "application/json"})
    conn = http.client.HTTPConnection(c.host, c.port, timeout=10)
    conn.putrequest("POST", "/calls/query_stats")
    conn.putheader("Authorization", AUTH)
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    payload = json.dumps({"project_id": PROJECT}).encode()
    for part in (payload[:5], payload[5:]):
        conn.send(b"%x\r\n%s\r\n" % (len(part), part))
    conn.send(b"0\r\n\r\n")
    check(conn.getresponse().status == 200, "chunked body")
    conn.close()

    # --- faults -----------------------------------------------------------------------------
    c.json("DELETE", "/__requests", auth=False)
    c.json("POST", "/__faults", [
        {"path_regex": "^/calls/query_stats$", "status": 429, "times": 2, "retry_after": 1},
        {"path_regex": "^/calls/query_stats$", "status": 413, "times": 1},
        {"path_regex": "^/calls/query_stats$", "delay_s": 0.3, "times": 1},
    ], auth=False)
    st, hdrs, _ = c.request("POST", "/calls/query_stats", {"project_id": PROJECT})
    check(st == 429 and hdrs.get("Retry-After") == "1", f"429 {st} {hdrs}")
    st, _, _ = c.request("POST", "/calls/query_stats", {"project_id": PROJECT})
    check(st == 429, f"second 429 {st}")
    st, _, _ = c.request("POST", "/calls/query_stats", {"project_id": PROJECT})
    check(st == 413, f"413 {st}")
    t0 = time.monotonic()
    st, _, _ = c.request("POST", "/calls/query_stats", {"project_id": PROJECT})
    check(st == 200 and time.monotonic() - t0 >= 0.3, "delay then pass")
    faults = c.json("GET", "/__faults", auth=False)["faults"]
    check(all(f["remaining"] == 0 for f in faults), f"faults used up {faults}")
    c.json("POST", "/__faults", {"path_regex": "query_stats", "drop_connection": True},
           auth=False)
    try:
        st, _, _ = c.request("POST", "/calls/query_stats", {"project_id": PROJECT})
        dropped = False
    except (http.client.HTTPException, ConnectionError):
        dropped = True
    check(dropped, "drop_connection")
    c.json("POST", "/__faults", {"path_regex": "query_stats", "delay_s": 2, "times": 1},
           auth=False)
    try:
        c.request("POST", "/calls/query_stats", {"project_id": PROJECT}, timeout=0.5)
        timed_out = False
    except TimeoutError:
        timed_out = True
    check(timed_out, "delay_s makes a client timeout")
    c.json("DELETE", "/__faults", auth=False)
    c.json("POST", "/__faults", {"path_regex": "query_stats", "status": 500, "times": None,
                                 "method": "POST", "body": {"detail": "down"}}, auth=False)
    for _ in range(3):
        body = c.json("POST", "/calls/query_stats", {"project_id": PROJECT}, expect=500)
        check(body == {"detail": "down"}, f"custom fault body {body}")
    c.json("DELETE", "/__faults", auth=False)
    c.json("POST", "/calls/query_stats", {"project_id": PROJECT})
    time.sleep(2.2)  # let the timed-out request finish on the server before reading the log

    log = c.json("GET", "/__requests", auth=False)["requests"]
    statuses = [r["status"] for r in log]
    check(statuses[:5] == [429, 429, 413, 200, "dropped"], f"request log statuses {statuses}")
    for r in log:
        check(all(isinstance(h, str) for h in r["headers"]), "header names only")
        check("route-check-key" not in json.dumps(r) and AUTH not in json.dumps(r),
              "no secret in the request log")
    stats = c.json("GET", "/__stats", auth=False)
    check(root in stats["duplicate_call_ids"], f"duplicate recorded {stats['duplicate_call_ids']}")
    check(fid in stats["duplicate_feedback_ids"], "duplicate feedback recorded")
    check(stats["dropped_fields"].get("/calls/stream_query", {}).get("latest_only") == 1,
          f"dropped fields {stats['dropped_fields']}")
    print(f"route_check: OK ({CHECKS} checks)", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    run(ap.parse_args().url)


if __name__ == "__main__":
    main()
