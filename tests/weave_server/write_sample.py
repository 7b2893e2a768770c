#!/usr/bin/env python3
"""Write a small reference trace with the real Python client (weave==0.54.0).

Run with the *client* venv's python:

    python write_sample.py --url http://127.0.0.1:PORT --project test-entity/sample \
        [--legacy] [--eager-root]

Trace written:

    sample_parent(x, config)          display_name "sample-root", attributes {"harness": ...}
      sample_child_ok(x)              returns x * 2
      sample_child_fail(msg)          raises ValueError(msg)
      sample_llm(prompt, config)      returns {"model": "gpt-4o", "usage": {...}, "text": ...}
                                      (config is the published object -> stored as its ref)

plus a published object ``sample-config`` and, on the root call, a reaction (thumbs up)
and a note. ``--legacy`` sets WEAVE_USE_CALLS_COMPLETE=false (``/call/upsert_batch``);
``--eager-root`` makes the root op ``eager_call_start=True`` (``/v2/{e}/{p}/call/start``
and ``/call/end``).

Prints one JSON document: ``{"project", "call_ids": {parent, child_ok, child_fail, llm},
"trace_id", "object_ref", "blocked_connections"}``; ``{"error": ...}`` and exit code 1 on
failure.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _client_env  # noqa: E402


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--project", required=True, help="entity/project")
    ap.add_argument("--legacy", action="store_true", help="WEAVE_USE_CALLS_COMPLETE=false")
    ap.add_argument("--eager-root", action="store_true", help="eager_call_start on the root op")
    return ap.parse_args()


# The client reads its settings from the environment: configure before importing weave.
ARGS = parse_args()
_client_env.configure(ARGS.url, {"WEAVE_USE_CALLS_COMPLETE": "false"} if ARGS.legacy else {})

import weave  # noqa: E402

# Ops live at module level so that the source the client captures (obj.py) imports
# cleanly when read back with weave.ref(op).get(), and holds no run-specific state (the
# op digests are the same on every run).


@weave.op
def sample_child_ok(x: int) -> int:
    return x * 2


@weave.op
def sample_child_fail(msg: str) -> None:
    raise ValueError(msg)


@weave.op
def sample_llm(prompt: str, config: dict) -> dict:
    return {
        "model": "gpt-4o",
        "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
        "text": f"echo: {prompt} (t={config['temperature']})",
    }


def parent_body(x: int, config: dict) -> dict:
    doubled = sample_child_ok(x)
    try:
        sample_child_fail("kaboom")
    except ValueError:
        pass
    answer = sample_llm("hello", config)
    return {"doubled": doubled, "text": answer["text"]}


@weave.op(call_display_name="sample-root")
def sample_parent(x: int, config: dict) -> dict:
    return parent_body(x, config)


@weave.op(call_display_name="sample-root", eager_call_start=True)
def sample_parent_eager(x: int, config: dict) -> dict:
    return parent_body(x, config)


def write() -> dict:
    client = _client_env.init(ARGS.project)

    obj_ref = weave.publish({"temperature": 0.5, "model": "gpt-4o", "tags": ["a", "b"]},
                            name="sample-config")
    config = obj_ref.get()  # carries its ref: stored as the ref URI in inputs

    root_op = sample_parent_eager if ARGS.eager_root else sample_parent
    with weave.attributes({"harness": "self-test", "run": {"n": 1}}):
        _, root = root_op.call(21, config)

    children = list(root._children)  # the live Call objects, in call order
    assert len(children) == 3, children
    ids = {"parent": root.id, "child_ok": children[0].id, "child_fail": children[1].id,
           "llm": children[2].id}

    root.feedback.add_reaction("\U0001f44d")
    root.feedback.add_note("written by write_sample.py")
    client.flush()

    return {
        "project": ARGS.project,
        "call_ids": ids,
        "trace_id": root.trace_id,
        "object_ref": obj_ref.uri(),
        "blocked_connections": _client_env.blocked_connections(),
    }


def main() -> None:
    try:
        doc = write()
    except BaseException as e:  # noqa: BLE001
        _client_env.fail(e)
        return
    _client_env.emit(doc)


if __name__ == "__main__":
    main()
