"""Starting and stopping `milvus-rbac serve` processes for the server and remote-client tests.

`start_server(db, *flags, launcher=..., env=..., cwd=...)` runs ``milvus-rbac serve --db <db> --port 0 <flags>`` in a
subprocess, waits for its ``milvus-rbac serving <db> on http://<host>:<port>`` line and returns a `Server`. The
`server_factory` fixture does the same and stops every server it started when the test ends (SIGTERM, then SIGKILL).

Launchers: `SCRIPT` is the installed console script, `MODULE` is ``python -m milvus_rbac``, and `FAST` runs the same
command line through ``milvus_rbac.cli.main`` with pymilvus hidden (importing pymilvus costs ~0.5 s per process,
which tests that start many servers cannot afford). `rest()` sends one request with the standard library.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import pytest

BIN = Path(sys.executable).parent
SCRIPT: List[str] = [str(BIN / "milvus-rbac")]
MODULE: List[str] = [sys.executable, "-m", "milvus_rbac"]
FAST: List[str] = [
    sys.executable,
    "-c",
    "import sys; sys.modules['pymilvus'] = None; from milvus_rbac.cli import main; sys.exit(main())",
]

ANNOUNCEMENT = re.compile(r"^milvus-rbac serving (?P<db>.+) on (?P<url>http://(?P<host>[^\s:]+):(?P<port>\d+))$")
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
ROOT_TOKEN = "root:Milvus"


class ServerError(RuntimeError):
    pass


class Server:
    """One running `milvus-rbac serve` process."""

    def __init__(self, proc: "subprocess.Popen[bytes]", line: str, stderr_path: Path):
        match = ANNOUNCEMENT.match(line)
        if not match:
            raise ServerError(f"unexpected announcement {line!r}")
        self.proc = proc
        self.line = line
        self.db = match.group("db")
        self.url = match.group("url")
        self.host = match.group("host")
        self.port = int(match.group("port"))
        self.stderr_path = stderr_path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stderr(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def send_signal(self, signum: int) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signum)

    def wait(self, timeout: float = STOP_TIMEOUT) -> int:
        return self.proc.wait(timeout)

    def stop(self, signum: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT) -> Optional[int]:
        """Stop the server with `signum`; kill it if it has not exited after `timeout` seconds. Returns its exit
        code (None when it had to be killed)."""
        try:
            if self.proc.poll() is not None:
                return self.proc.returncode
            self.proc.send_signal(signum)
            try:
                return self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
                return None
        finally:
            if self.proc.stdout is not None and not self.proc.stdout.closed:
                self.proc.stdout.close()

    def __repr__(self) -> str:
        return f"Server(pid={self.pid}, url={self.url!r}, db={self.db!r})"


def _read_line(proc: "subprocess.Popen[bytes]", timeout: float) -> str:
    """The first stdout line of `proc`, or a ServerError after `timeout` seconds or at EOF."""
    assert proc.stdout is not None
    box: Dict[str, bytes] = {}

    def read() -> None:
        assert proc.stdout is not None
        box["line"] = proc.stdout.readline()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    if reader.is_alive():
        raise ServerError(f"no announcement within {timeout} s")
    return box.get("line", b"").decode("utf-8", "replace").rstrip("\r\n")


def spawn(
    db: str,
    *flags: str,
    launcher: Sequence[str] = FAST,
    env: Optional[Mapping[str, str]] = None,
    cwd: Optional[Union[str, Path]] = None,
    stderr_path: Optional[Path] = None,
    port: Union[int, str] = 0,
) -> Tuple["subprocess.Popen[bytes]", Path]:
    """Start ``serve`` without waiting for it (for tests of how it starts)."""
    cwd = Path(cwd) if cwd is not None else Path.cwd()
    if stderr_path is None:
        stderr_path = cwd / f"server-{time.monotonic_ns()}.stderr"
    full_env = dict(os.environ)
    full_env.pop("MILVUS_RBAC_ROOT_PASSWORD", None)
    if env:
        full_env.update(env)
    with open(stderr_path, "wb") as stderr:
        proc = subprocess.Popen(
            [*launcher, "serve", "--db", db, "--port", str(port), *flags],
            stdout=subprocess.PIPE,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
            env=full_env,
            cwd=str(cwd),
        )
    return proc, stderr_path


def start_server(
    db: str,
    *flags: str,
    launcher: Sequence[str] = FAST,
    env: Optional[Mapping[str, str]] = None,
    cwd: Optional[Union[str, Path]] = None,
    timeout: float = START_TIMEOUT,
) -> Server:
    """Start ``serve --db <db> --port 0 <flags>`` and wait until it announces its address."""
    proc, stderr_path = spawn(db, *flags, launcher=launcher, env=env, cwd=cwd)
    try:
        line = _read_line(proc, timeout)
        if not line:
            proc.wait(STOP_TIMEOUT)
            raise ServerError(
                f"server exited with {proc.returncode} before announcing: "
                f"{stderr_path.read_text(errors='replace')}"
            )
        return Server(proc, line, stderr_path)
    except BaseException:
        if proc.poll() is None:
            proc.kill()
            proc.wait(STOP_TIMEOUT)
        raise


class ServerFactory:
    """Starts servers in a directory and stops them all at the end."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.servers: List[Server] = []

    def __call__(
        self,
        *flags: str,
        db: Optional[str] = None,
        launcher: Sequence[str] = FAST,
        env: Optional[Mapping[str, str]] = None,
        fast_hash: bool = True,
    ) -> Server:
        if db is None:
            db = str(self.directory / f"registry-{len(self.servers)}.db")
        all_flags = list(flags)
        if fast_hash and "--password-hash" not in all_flags:
            all_flags += ["--password-hash", "fast"]
        if "--log-level" not in all_flags:
            all_flags += ["--log-level", "error"]
        server = start_server(db, *all_flags, launcher=launcher, env=env, cwd=self.directory)
        self.servers.append(server)
        return server

    def stop_all(self) -> None:
        for server in self.servers:
            server.stop()
        self.servers.clear()


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[ServerFactory]:
    factory = ServerFactory(tmp_path)
    try:
        yield factory
    finally:
        factory.stop_all()


def module_server(tmp_path_factory: pytest.TempPathFactory, name: str, *flags: str) -> Iterator[Server]:
    """Body of a module-scoped server fixture: one server for the whole module, stopped at its end."""
    factory = ServerFactory(tmp_path_factory.mktemp(name))
    try:
        yield factory(*flags)
    finally:
        factory.stop_all()


# ---------------------------------------------------------------------------------------------------------------
# HTTP


class Reply:
    def __init__(self, status: int, headers: Dict[str, str], body: bytes):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"Reply({self.status}, {self.body[:300]!r})"


_UNSET: Any = object()


def rest(
    server: Union[Server, str],
    path: str,
    body: Any = _UNSET,
    *,
    raw: Optional[bytes] = None,
    token: Optional[str] = ROOT_TOKEN,
    headers: Optional[Mapping[str, str]] = None,
    method: str = "POST",
    timeout: float = 30.0,
) -> Reply:
    """Send one request to ``/v2/vectordb<path>`` (or `path` as given when it starts with ``/openapi``).

    `body` is sent as JSON (default ``{}``); `raw` sends bytes as they are. `token` goes in
    ``Authorization: Bearer``; None sends no Authorization header."""
    url = server.url if isinstance(server, Server) else server
    match = re.match(r"http://([^:/]+):(\d+)", url)
    assert match, url
    host, port = match.group(1), int(match.group(2))
    if raw is not None:
        data: Optional[bytes] = raw
    elif body is _UNSET:
        data = b"{}" if method == "POST" else None
    else:
        data = json.dumps(body).encode()
    all_headers = {"Content-Type": "application/json"}
    if token is not None:
        all_headers["Authorization"] = f"Bearer {token}"
    all_headers.update(headers or {})
    full_path = path if path.startswith("/openapi") or path.startswith("/v2/") else f"/v2/vectordb{path}"
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        try:
            conn.request(method, full_path, body=data, headers=all_headers)
        except (BrokenPipeError, ConnectionResetError):
            # The server answered (a body too large: 413) and closed before the body was sent whole; its
            # answer is there to read.
            if not data or len(data) < 65536:
                raise
        response = conn.getresponse()
        payload = response.read()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, payload)
    finally:
        conn.close()


def ok(server: Union[Server, str], path: str, body: Any = _UNSET, **kwargs: Any) -> Any:
    """`rest()` that must succeed (HTTP 200, code 0); returns `data`."""
    reply = rest(server, path, body, **kwargs)
    assert reply.status == 200, reply
    envelope = reply.json()
    assert envelope.get("code") == 0, envelope
    return envelope["data"]
