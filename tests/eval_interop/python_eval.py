#!/usr/bin/env python3
"""Run Weave's own evaluation (weave==0.54.0, the harness client venv) over the data that
`tests/evaluation_interop.rs` evaluates from Rust, so both can be read back and compared.

    python python_eval.py --url http://127.0.0.1:PORT --project test-entity/py-eval [--logger]

Evaluation: dataset ``qa`` (two rows), model ``MyModel(prefix="Pa")``, scorers ``exact``
(an op returning {"match", "len"}) and ``LenScorer(divisor=3)`` (a Scorer class), trials 2.
With ``--logger``: an EvaluationLogger (model "my-model", dataset "my-dataset") with one
prediction scored ``correct=True`` and ``quality=0.5``, and the summary {"note": "done"}.
Prints ``{"summary": ..., "blocked_connections": [...]}``; ``{"error": ...}`` and exit
code 1 on failure.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "weave_server"))
import _client_env  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--url", required=True)
ap.add_argument("--project", required=True)
ap.add_argument("--logger", action="store_true")
ARGS = ap.parse_args()
_client_env.configure(ARGS.url, {"WEAVE_PARALLELISM": "1"})

import weave  # noqa: E402

ROWS = [
    {"question": "ris!", "expected": "Paris!"},
    {"question": "ndon!", "expected": "Rome"},
]


class MyModel(weave.Model):
    prefix: str

    @weave.op
    def predict(self, question: str) -> str:
        return self.prefix + question


@weave.op
def exact(expected: str, output: str) -> dict:
    return {"match": output == expected, "len": len(output)}


class LenScorer(weave.Scorer):
    divisor: int

    @weave.op
    def score(self, output: str) -> int:
        return len(output) // self.divisor


def run_logger() -> dict:
    client = _client_env.init(ARGS.project)
    ev = weave.EvaluationLogger(model="my-model", dataset="my-dataset")
    pred = ev.log_prediction(inputs={"q": "2+2?"}, output="4")
    pred.log_score("correct", True)
    pred.log_score("quality", 0.5)
    pred.finish()
    ev.log_summary({"note": "done"})
    client.flush()
    return {"blocked_connections": _client_env.blocked_connections()}


def run() -> dict:
    if ARGS.logger:
        return run_logger()
    client = _client_env.init(ARGS.project)
    dataset = weave.Dataset(name="qa", rows=ROWS)
    evaluation = weave.Evaluation(dataset=dataset, scorers=[exact, LenScorer(divisor=3)], trials=2)
    summary = asyncio.run(evaluation.evaluate(MyModel(prefix="Pa")))
    client.flush()
    return {"summary": summary, "blocked_connections": _client_env.blocked_connections()}


if __name__ == "__main__":
    _client_env.run_and_emit(run)
