"""Shared set-up for the scripts that run the real Python client (client venv).

* Points weave==0.54.0 at the harness server (``WANDB_BASE_URL`` and
  ``WF_TRACE_SERVER_URL``), with any API key, no server cache, no call links, no
  telemetry, no integration patching, no disk fallback file in the working directory.
* Installs a network guard: only loopback connections are allowed, so nothing (PyPI
  version check, Sentry, ...) can ever leave the machine. Blocked attempts are reported
  on stderr and in ``blocked_connections()``.
* Keeps stdout clean: everything the client prints goes to stderr; ``emit()`` writes
  the one JSON document to the real stdout.
"""

from __future__ import annotations

import base64
import datetime
import enum
import json
import os
import socket
import sys
import tempfile
import traceback
from typing import Any

_REAL_STDOUT = sys.stdout
_BLOCKED: list[str] = []
_LOOPBACK = {"127.0.0.1", "localhost", "::1", "ip6-localhost"}


def _is_loopback(host: Any) -> bool:
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    host = str(host).strip("[]")
    return host in _LOOPBACK or host.startswith("127.")


def install_network_guard() -> None:
    orig_getaddrinfo = socket.getaddrinfo
    orig_connect = socket.socket.connect
    orig_connect_ex = socket.socket.connect_ex

    def getaddrinfo(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not _is_loopback(host):
            _BLOCKED.append(f"lookup {host}")
            raise socket.gaierror(socket.EAI_NONAME, f"harness: blocked lookup of {host}")
        return orig_getaddrinfo(host, *args, **kwargs)

    def _check(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0] if isinstance(address, tuple) else address
            if not _is_loopback(host):
                _BLOCKED.append(f"connect {host}")
                raise ConnectionRefusedError(f"harness: blocked connection to {host}")

    def connect(self, address):  # type: ignore[no-untyped-def]
        _check(self, address)
        return orig_connect(self, address)

    def connect_ex(self, address):  # type: ignore[no-untyped-def]
        _check(self, address)
        return orig_connect_ex(self, address)

    socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]
    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]


def blocked_connections() -> list[str]:
    return list(_BLOCKED)


def configure(url: str, extra_env: dict[str, str] | None = None) -> None:
    url = url.rstrip("/")
    host = url.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0]
    if not _is_loopback(host):
        raise SystemExit(f"refusing non-loopback server URL {url!r}")
    tmp = tempfile.mkdtemp(prefix="weave-harness-client-")
    env = {
        "WANDB_BASE_URL": url,
        "WF_TRACE_SERVER_URL": url,
        "WEAVE_USE_SERVER_CACHE": "false",
        "WEAVE_SERVER_CACHE_DIR": os.path.join(tmp, "cache"),
        "WEAVE_PRINT_CALL_LINK": "false",
        "WEAVE_IMPLICITLY_PATCH_INTEGRATIONS": "false",
        "WEAVE_ENABLE_DISK_FALLBACK": "false",
        "WEAVE_ENABLE_WAL": "false",
        "WANDB_ERROR_REPORTING": "false",
        "WANDB_CONFIG_DIR": os.path.join(tmp, "wandb-config"),
        "WANDB_SILENT": "true",
        "DD_TRACE_ENABLED": "false",
    }
    os.environ.update(env)
    os.environ.pop("WANDB_PUBLIC_BASE_URL", None)
    os.environ.pop("WANDB_IDENTITY_TOKEN_FILE", None)
    os.environ.setdefault("WANDB_API_KEY", "harness-local-key")
    if extra_env:
        os.environ.update(extra_env)
    install_network_guard()
    sys.stdout = sys.stderr  # the client's own prints must not pollute our JSON


def init(project: str):  # type: ignore[no-untyped-def]
    import weave
    # weave.init asks PyPI for newer versions; the guard would block it anyway.
    try:
        import weave.trace.init_message as init_message
        import weave.utils.pypi_version_check as pvc
        pvc.check_available = lambda *a, **k: None  # type: ignore[assignment]
        init_message.check_available = lambda *a, **k: None  # type: ignore[assignment]
        init_message._print_version_check = lambda: None  # type: ignore[assignment]
    except Exception:  # noqa: BLE001
        pass
    return weave.init(project)


def json_key(k: Any) -> str:
    if isinstance(k, enum.Enum):
        return str(k.value)
    return str(k)


def format_datetime(v: datetime.datetime) -> str:
    """ISO-8601; UTC as ``...Z`` with microseconds, like the wire format."""
    off = v.utcoffset()
    if off is not None and off == datetime.timedelta(0):
        return v.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"
    return v.isoformat()


def jsonable(v: Any) -> Any:
    """Best-effort conversion of client values to JSON."""
    if isinstance(v, enum.Enum):
        return jsonable(v.value)
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, dict):
        return {json_key(k): jsonable(x) for k, x in dict.items(v)}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in list.__iter__(v)] if isinstance(v, list) else [
            jsonable(x) for x in v]
    if isinstance(v, datetime.datetime):
        return format_datetime(v)
    if isinstance(v, datetime.date):
        return v.isoformat()
    if isinstance(v, (bytes, bytearray)):
        return {"_bytes_b64": base64.b64encode(bytes(v)).decode()}
    if hasattr(v, "uri") and callable(v.uri):
        return v.uri()
    if hasattr(v, "model_dump"):
        try:
            return jsonable(v.model_dump(mode="json"))
        except Exception:  # noqa: BLE001
            pass
    if isinstance(v, (set, frozenset)):
        return [jsonable(x) for x in v]
    return {"_repr": repr(v)[:1000]}


def emit(doc: dict, code: int = 0) -> None:
    if _BLOCKED:
        print(f"[weave-harness] blocked non-loopback network use: {_BLOCKED}", file=sys.stderr)
    _REAL_STDOUT.write(json.dumps(doc, indent=None, sort_keys=False, default=repr) + "\n")
    _REAL_STDOUT.flush()
    sys.stderr.flush()
    # Skip interpreter teardown (client background threads, atexit flushes of an
    # already flushed client) so the scripts return promptly.
    os._exit(code)


def fail(e: BaseException) -> None:
    traceback.print_exc(file=sys.stderr)
    emit({"error": f"{type(e).__name__}: {e}"}, 1)


def run_and_emit(run) -> None:  # type: ignore[no-untyped-def]
    """Runs a script's `run()` and prints its document, or its failure, as one JSON line."""
    try:
        doc = run()
    except BaseException as e:  # noqa: BLE001
        fail(e)
    else:
        emit(doc)
