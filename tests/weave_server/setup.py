#!/usr/bin/env python3
"""Install (idempotently) the two virtualenvs the Weave server harness needs.

    python3 tests/weave_server/setup.py [--venv-root DIR] [--self-test] [--quiet]

* ``server`` venv: weave==0.52.42 (the last release shipping the trace server logic)
  plus the imports it needs, from ``requirements-server.txt``.
* ``client`` venv: the real Python SDK weave==0.54.0 and ``openai`` (for its OpenAI
  integration), from ``requirements-client.txt``.

Each requirements file may have a ``constraints-<name>.txt`` next to it (the full,
tested ``pip freeze``), applied with ``pip -c``. A marker file in each venv holds the hash
of the requirement and constraint files plus the Python version; when it matches, the
install is skipped, so running this again is cheap (well under a second).

On success the last two lines on stdout are::

    SERVER_PYTHON=/abs/path/to/server/bin/python
    CLIENT_PYTHON=/abs/path/to/client/bin/python

``--self-test`` then starts server.py on a free port, runs write_sample.py and
read_back.py against it, checks what came back and stops the server.

Only the Python standard library is used here; it needs python3 (3.9+; 3.11 tested) with
the ``venv`` module and a reachable package index for pip.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
VENVS = ("server", "client")
MARKER = ".weave-harness-marker"


def log(msg: str) -> None:
    print(f"[weave-harness] {msg}", file=sys.stderr, flush=True)


def venv_python(venv: Path) -> Path:
    if os.name == "nt":
        return venv / "Scripts" / "python.exe"
    return venv / "bin" / "python"


def requirement_files(name: str) -> list[Path]:
    files = [HERE / f"requirements-{name}.txt"]
    constraints = HERE / f"constraints-{name}.txt"
    if constraints.exists():
        files.append(constraints)
    return files


def wanted_hash(name: str, base_python: str) -> str:
    h = hashlib.sha256()
    h.update(f"python={base_python}\n".encode())
    for f in requirement_files(name):
        h.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


def base_python_version() -> str:
    return "%d.%d.%d" % sys.version_info[:3]


def is_installed(venv: Path, digest: str) -> bool:
    marker = venv / MARKER
    try:
        return marker.read_text().strip() == digest and venv_python(venv).exists()
    except OSError:
        return False


def run(cmd: list[str], env: dict | None = None, quiet: bool = False) -> None:
    out = subprocess.DEVNULL if quiet else sys.stderr
    subprocess.run(cmd, check=True, stdout=out, stderr=sys.stderr, env=env)


def install_venv(root: Path, name: str, quiet: bool) -> float:
    """Create/refresh one venv. Returns seconds spent (0 when already up to date)."""
    venv = root / name
    digest = wanted_hash(name, base_python_version())
    if is_installed(venv, digest):
        return 0.0
    t0 = time.monotonic()
    if venv.exists():
        log(f"{name}: requirements changed or install incomplete, recreating {venv}")
        shutil.rmtree(venv)
    log(f"{name}: creating virtualenv {venv}")
    run([sys.executable, "-m", "venv", str(venv)], quiet=quiet)
    py = str(venv_python(venv))
    env = dict(os.environ)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env.setdefault("PIP_NO_INPUT", "1")
    env.pop("PYTHONPATH", None)
    env.pop("PYTHONHOME", None)
    # --no-compile: pip would byte-compile every installed module (ddtrace alone has
    # thousands), which costs more than the download. warm_up() compiles what we use.
    cmd = [py, "-m", "pip", "install", "--disable-pip-version-check", "--no-input",
           "--progress-bar", "off", "--no-compile"]
    if quiet:
        cmd.append("-q")
    files = requirement_files(name)
    cmd += ["-r", str(files[0])]
    for c in files[1:]:
        cmd += ["-c", str(c)]
    log(f"{name}: pip install -r {files[0].name}" + "".join(f" -c {c.name}" for c in files[1:]))
    run(cmd, env=env, quiet=quiet)
    t1 = time.monotonic()
    warm_up(py, name, env)
    log(f"{name}: byte-compiled and import-checked in {time.monotonic() - t1:.1f}s")
    (venv / MARKER).write_text(digest + "\n")
    dt = time.monotonic() - t0
    log(f"{name}: installed in {dt:.1f}s")
    return dt


# Modules the harness scripts import. Importing them once with bytecode writing on
# leaves .pyc files behind (even if PYTHONDONTWRITEBYTECODE is set later), so each
# server/client start does not recompile them. Also a check that the install works.
WARM_UP = {
    "server": {
        "compile": ["weave/trace_server", "weave/trace", "weave/shared", "weave/utils"],
        "imports": ["weave.trace_server.sqlite_trace_server",
                    "weave.trace_server.external_to_internal_trace_server_adapter",
                    "weave.trace_server.errors", "weave.trace_server.trace_server_interface",
                    "http.server", "email.parser"],
    },
    "client": {
        "compile": ["weave", "openai"],
        "imports": ["weave", "weave.trace.weave_client", "weave.trace.vals", "weave.trace.refs",
                    "weave.trace.op_protocol", "weave.trace.serialization.op_type",
                    "weave.trace.init_message", "weave.utils.pypi_version_check",
                    "weave.trace_server_bindings.remote_http_trace_server",
                    "weave.compat.wandb.wandb_thin.internal_api",
                    "weave.wandb_interface.project_creator", "gql.transport.httpx",
                    "sentry_sdk", "httpx", "pydantic", "openai",
                    "weave.integrations.openai.openai_sdk"],
    },
}


def warm_up(py: str, name: str, env: dict) -> None:
    spec = WARM_UP[name]
    purelib = subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True, env=env).stdout.strip()
    dirs = [str(Path(purelib) / d) for d in spec["compile"] if (Path(purelib) / d).exists()]
    subprocess.run([py, "-m", "compileall", "-q", "-j", "0", *dirs], check=True,
                   stdout=subprocess.DEVNULL, env=env)
    env_imp = dict(env)
    env_imp.pop("PYTHONDONTWRITEBYTECODE", None)
    env_imp.update({"WEAVE_DISABLED": "true", "WANDB_ERROR_REPORTING": "false",
                    "DD_TRACE_ENABLED": "false"})
    code = "import importlib\nfor m in %r:\n    importlib.import_module(m)\n" % (spec["imports"],)
    subprocess.run([py, "-c", code], check=True, env=env_imp, stdout=subprocess.DEVNULL)


@contextlib.contextmanager
def file_lock(path: Path):
    """Serialise concurrent setup runs (e.g. parallel cargo tests)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - windows
            yield
            return
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def ensure(root: Path, quiet: bool = False, parallel: bool = True) -> dict[str, Path]:
    root = root.resolve()
    with file_lock(root / ".setup.lock"):
        errors: dict[str, BaseException] = {}

        def job(name: str) -> None:
            try:
                install_venv(root, name, quiet)
            except BaseException as e:  # noqa: BLE001
                errors[name] = e

        if parallel:
            threads = [threading.Thread(target=job, args=(n,)) for n in VENVS]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        else:
            for n in VENVS:
                job(n)
        if errors:
            for n, e in errors.items():
                log(f"{n}: install failed: {e}")
            raise SystemExit(1)
    return {n: venv_python(root / n) for n in VENVS}


# --------------------------------------------------------------------------------------
# self test
# --------------------------------------------------------------------------------------

def start_server(server_py: Path, db: Path, log_file: Path):
    proc = subprocess.Popen(
        [str(server_py), str(HERE / "server.py"), "--port", "0", "--db", str(db)],
        stdout=subprocess.PIPE, stderr=open(log_file, "wb"), text=True,
    )
    line = proc.stdout.readline()
    if not line.startswith("LISTENING "):
        proc.kill()
        raise SystemExit(f"server did not start (got {line!r}); see {log_file}")
    return proc, int(line.split()[1])


def http(method: str, url: str, body=None, headers=None):
    """Tiny urllib helper: returns (status, parsed JSON or None)."""
    import urllib.error
    import urllib.request
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status, raw = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    try:
        return status, (json.loads(raw) if raw else None)
    except json.JSONDecodeError:
        return status, raw


def run_client(py: Path, script: str, args: list[str], tmp: Path, tag: str) -> dict:
    t0 = time.monotonic()
    p = subprocess.run([str(py), str(HERE / script), *args],
                       capture_output=True, text=True, timeout=600)
    (tmp / f"{tag}.stderr").write_text(p.stderr)
    log(f"self-test: {tag}: {script} took {time.monotonic() - t0:.1f}s")
    if p.returncode != 0:
        raise SystemExit(f"{script} ({tag}) failed (rc={p.returncode}):\n{p.stdout}\n"
                         f"{p.stderr[-4000:]}")
    doc = json.loads(p.stdout)
    (tmp / f"{tag}.json").write_text(json.dumps(doc, indent=1))
    if doc.get("blocked_connections"):
        raise SystemExit(f"{tag}: client tried to reach the network: "
                         f"{doc['blocked_connections']}")
    return doc


def self_test(pys: dict[str, Path], work: Path) -> None:
    import tempfile
    work.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="selftest-", dir=work))
    t_start = time.monotonic()
    proc, port = start_server(pys["server"], tmp / "trace.db", tmp / "server.log")
    url = f"http://127.0.0.1:{port}"
    log(f"self-test: server on {url} after {time.monotonic() - t_start:.1f}s "
        f"(artefacts in {tmp})")
    try:
        # Every route with hand-written bodies, the control routes and each fault kind.
        t0 = time.monotonic()
        rc = subprocess.run([sys.executable, str(HERE / "route_check.py"), "--url", url],
                            capture_output=True, text=True, timeout=300)
        if rc.returncode != 0:
            raise SystemExit(f"route_check.py failed:\n{rc.stdout}\n{rc.stderr[-4000:]}")
        log(f"self-test: {rc.stdout.strip()} in {time.monotonic() - t0:.1f}s")
        http("DELETE", url + "/__faults")

        # The real client on each write path, read back by the real client.
        cases = [("complete", []), ("legacy", ["--legacy"]), ("eager", ["--eager-root"])]
        for tag, extra in cases:
            project = f"test-entity/selftest-{tag}"
            http("DELETE", url + "/__requests")
            written = run_client(pys["client"], "write_sample.py",
                                 ["--url", url, "--project", project, *extra], tmp,
                                 f"write-{tag}")
            _, reqs = http("GET", url + "/__requests")
            (tmp / f"requests-{tag}.json").write_text(json.dumps(reqs, indent=1))
            for entry in reqs["requests"]:
                assert all(isinstance(h, str) for h in entry["headers"]), entry
                assert entry["auth"] == "api", entry
            doc = run_client(pys["client"], "read_back.py",
                             ["--url", url, "--project", project,
                              "--object", written["object_ref"]], tmp, f"read-{tag}")
            check_sample(doc, written)
            routes = sorted({f"{r['method']} {r['route']}" for r in reqs["requests"]})
            log(f"self-test: {tag}: OK ({len(doc['calls'])} calls; routes {routes})")

        # Fault injection: a 503 with Retry-After, then a request that is processed but
        # whose response is lost (the client retries; the server keeps one copy).
        project = "test-entity/selftest-faults"
        http("DELETE", url + "/__requests")
        _, stats0 = http("GET", url + "/__stats")
        st, _ = http("POST", url + "/__faults", [
            {"path_regex": r"/calls/complete$", "status": 503, "times": 1, "retry_after": 0},
            {"path_regex": r"/calls/complete$", "drop_connection": True, "times": 1,
             "process": True},
        ])
        assert st == 200
        written = run_client(pys["client"], "write_sample.py",
                             ["--url", url, "--project", project], tmp, "write-faults")
        doc = run_client(pys["client"], "read_back.py",
                         ["--url", url, "--project", project,
                          "--object", written["object_ref"]], tmp, "read-faults")
        check_sample(doc, written)
        _, reqs = http("GET", url + "/__requests")
        (tmp / "requests-faults.json").write_text(json.dumps(reqs, indent=1))
        complete = [r["status"] for r in reqs["requests"]
                    if r["route"] == "/v2/{entity}/{project}/calls/complete"]
        assert complete[:3] == [503, "dropped", 200], complete
        _, stats = http("GET", url + "/__stats")
        (tmp / "stats.json").write_text(json.dumps(stats, indent=1))
        dups = set(stats["duplicate_call_ids"]) - set(stats0["duplicate_call_ids"])
        # The retried batch (whatever the client had queued then) is stored once.
        assert dups and dups <= set(written["call_ids"].values()), stats["duplicate_call_ids"]
        ids = [c["id"] for c in doc["calls"]]
        assert len(ids) == len(set(ids)) == 4, ids
        log(f"self-test: faults: OK (calls/complete statuses {complete}; "
            f"{len(dups)} duplicate ids absorbed)")
        http("DELETE", url + "/__faults")
        log(f"self-test: OK in {time.monotonic() - t_start:.1f}s (artefacts in {tmp})")
    finally:
        with contextlib.suppress(Exception):
            http("POST", url + "/__shutdown", {})
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def check_sample(doc: dict, written: dict) -> None:
    calls = {c["id"]: c for c in doc["calls"]}
    def expect(cond, msg):
        if not cond:
            raise SystemExit(f"self-test FAILED: {msg}\n{json.dumps(doc, indent=1)[:4000]}")
    expect(set(written["call_ids"].values()) <= set(calls),
           f"missing calls: {set(written['call_ids'].values()) - set(calls)}")
    ids = written["call_ids"]
    parent, ok, bad, llm = (calls[ids[k]] for k in ("parent", "child_ok", "child_fail", "llm"))
    expect(parent["parent_id"] is None, "parent is not a root")
    for c in (ok, bad, llm):
        expect(c["parent_id"] == parent["id"], f"{c['id']} not a child of parent")
        expect(c["trace_id"] == parent["trace_id"], "trace id differs")
    expect(bad["exception"] and "ValueError" in bad["exception"], "exception missing")
    expect(bad["summary"]["weave"]["status"] == "error", "child status is not error")
    expect(ok["summary"]["weave"]["status"] == "success", "ok child status")
    expect(parent["summary"]["weave"]["status"] == "descendant_error",
           f"parent status {parent['summary']['weave']['status']}")
    expect(parent["summary"]["status_counts"] == {"success": 3, "error": 1},
           f"status_counts {parent['summary'].get('status_counts')}")
    expect(llm["summary"]["usage"]["gpt-4o"]["prompt_tokens"] == 11, "usage missing")
    expect(parent["summary"]["usage"]["gpt-4o"]["total_tokens"] == 18, "usage not rolled up")
    expect(parent["display_name"] == "sample-root", "display_name")
    expect(parent["attributes"].get("harness") == "self-test", "attributes")
    for ref, info in doc["op_refs"].items():
        expect(info["resolved"], f"op ref {ref} did not resolve")
        expect("def " in (info.get("source") or ""), f"no source for {ref}")
    fb = parent.get("feedback") or []
    expect(any(f["feedback_type"] == "wandb.reaction.1" for f in fb), "reaction missing")
    obj = doc["objects"][written["object_ref"]]
    expect(obj.get("value", {}).get("temperature") == 0.5, f"object {obj}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--venv-root", default=str(REPO_ROOT / "target" / "weave-venvs"),
                    help="where the venvs live (default: <repo>/target/weave-venvs)")
    ap.add_argument("--self-test", action="store_true",
                    help="after installing, run server + write_sample + read_back")
    ap.add_argument("--quiet", action="store_true", help="pass -q to pip")
    ap.add_argument("--sequential", action="store_true",
                    help="install the two venvs one after the other")
    args = ap.parse_args()
    root = Path(args.venv_root)
    if not root.is_absolute():
        root = REPO_ROOT / root
    t0 = time.monotonic()
    pys = ensure(root, quiet=args.quiet, parallel=not args.sequential)
    log(f"venvs ready in {time.monotonic() - t0:.1f}s")
    if args.self_test:
        self_test(pys, root / "selftest")
    print(f"SERVER_PYTHON={pys['server']}")
    print(f"CLIENT_PYTHON={pys['client']}", flush=True)


if __name__ == "__main__":
    main()
