#!/usr/bin/env python3
"""Run the requests of ``cases.json`` through the OpenAI Python SDK patched by Weave's own
OpenAI integration (weave==0.54.0, the harness client venv), against an OpenAI-compatible
endpoint, so that ``tests/openai_interop.rs`` can compare them with the same requests made
by weave-rs's async-openai wrapper.

    python python_openai.py --url http://127.0.0.1:PORT --project test-entity/py-openai \
        --openai-base http://127.0.0.1:PORT2/v1 --cases cases.json

Streams are read to their end. A case with a ``reply`` (scripted on the fake by the
test) may fail: its error is caught, as the caller of a failing request would. Prints ``{"blocked_connections": [...]}``; ``{"error": ...}``
and exit code 1 on failure.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "weave_server"))
import _client_env  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--url", required=True)
ap.add_argument("--project", required=True)
ap.add_argument("--openai-base", required=True)
ap.add_argument("--cases", required=True)
ARGS = ap.parse_args()
_client_env.configure(ARGS.url)

import weave  # noqa: E402


def run() -> dict:
    client = _client_env.init(ARGS.project)
    weave.integrations.patch_openai()
    import openai

    api = openai.OpenAI(base_url=ARGS.openai_base, api_key="sk-interop-python", max_retries=0)
    with open(ARGS.cases) as f:
        cases = json.load(f)
    for case in cases:
        try:
            run_case(api, case)
        except Exception:  # a broken stream raises httpx's error, not openai's
            if "reply" not in case:
                raise
    client.flush()
    return {"blocked_connections": _client_env.blocked_connections()}


def run_case(api, case: dict) -> None:
    request = case["request"]
    kind = case["api"]
    if kind == "chat":
        api.chat.completions.create(**request)
    elif kind == "chat_stream":
        for _chunk in api.chat.completions.create(**request):
            pass
    elif kind == "embeddings":
        api.embeddings.create(**request)
    elif kind == "responses":
        api.responses.create(**request)
    elif kind == "responses_stream":
        for _event in api.responses.create(**request):
            pass
    else:
        raise SystemExit(f"unknown api {kind!r}")


if __name__ == "__main__":
    _client_env.run_and_emit(run)
