"""Hostile input against `milvus-rbac serve` and the embedded client (issue 14): each finding of the hostile review as
a test that failed on the code it was found in.

- A REST body of 30,000 (or 1,000,000) `[` crashed the server (the code that words JSON errors as Go does recursed
  without limit): now it answers Milvus's 1801 with Go's "exceeded max depth" and keeps serving.
- 256 clients sending wrong passwords drove a server to 4.6 GiB (an argon2 run of 19 MiB each, all at once): runs
  now take turns, and a valid client is answered throughout.
- Idle or stalled connections were held for ever (300 idle sockets stopped a 256-descriptor server): they are now
  closed after an idle timeout, HTTP/1 headers must arrive in time, and connections beyond a limit wait.
- Files: registry files are made 0600; links, FIFOs and directories are refused at once; `file:` URIs are refused;
  `export` writes a new 0600 file atomically and replaces one only with --force, never through a link.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Dict

import pytest
from milvus_rbac import MilvusClient, MilvusException, ParamError
from server_fixtures import FAST, Server, ServerFactory, module_server, ok, rest, server_factory, spawn  # noqa: F401

FORMAT_ERROR = 1801


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    yield from module_server(tmp_path_factory, "security", "--profile", "milvus-2.4", "--password-hash", "fast")


@pytest.fixture(scope="module")
def open_server(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    yield from module_server(tmp_path_factory, "security-open", "--profile", "milvus-2.4", "--no-authorization")


@pytest.mark.parametrize("depth", [30_000, 1_000_000])
@pytest.mark.parametrize("which", ["root", "no-authorization"])
def test_deeply_nested_json_is_refused_and_the_server_keeps_serving(
    request: pytest.FixtureRequest, depth: int, which: str
) -> None:
    target: Server = request.getfixturevalue("server" if which == "root" else "open_server")
    token = "root:Milvus" if which == "root" else None
    reply = rest(target, "/users/create", raw=b"[" * depth, token=token)
    assert (reply.status, reply.json()) == (200, {
        "code": FORMAT_ERROR,
        "message": "can only accept json format request, error: invalid character '[' exceeded max depth",
    })
    assert target.proc.poll() is None, target.stderr()[-2000:]
    assert ok(target, "/users/list", token=token) == ["root"]


def test_deep_json_without_credentials_is_refused_before_it_is_read(server: Server) -> None:
    reply = rest(server, "/users/create", raw=b"[" * 1_000_000, token=None)
    assert (reply.status, reply.json()["code"]) == (401, 1800)
    assert server.proc.poll() is None


def test_json_at_gos_depth_limit_is_read_as_a_value(server: Server) -> None:
    """10,000 levels is within Go's limit: the body decodes, and its type is what Milvus then refuses."""
    body = b"[" * 10_000 + b"]" * 10_000
    reply = rest(server, "/users/create", raw=body)
    assert reply.json()["code"] == FORMAT_ERROR
    assert "exceeded max depth" not in reply.json()["message"]
    assert server.proc.poll() is None


# ---------------------------------------------------------------------------------------------------------------
# Failed logins: each wrong password costs an argon2 run of 19 MiB (the strong setting). Runs take turns (one per
# CPU), a bounded number wait, and the rest are refused at once with Milvus's rate-limit code 8, so a crowd of
# wrong passwords can neither exhaust memory nor keep a logged-in client waiting.

CROWD = 256
CROWD_SECONDS = 20.0  # as the acceptance states it
RSS_LIMIT_KIB = 512 * 1024


def _memory_kib(pid: int) -> Dict[str, int]:
    fields = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                fields[name] = int(value.split()[0])
    return fields


def test_a_crowd_of_wrong_passwords_neither_exhausts_memory_nor_stalls_a_valid_client(
    server_factory: ServerFactory,  # noqa: F811
) -> None:
    srv = server_factory("--profile", "milvus-2.4", "--password-hash", "strong")
    ok(srv, "/users/create", {"userName": "victim", "password": "P@ssw0rd"})
    stop = threading.Event()
    answers: Dict[Any, int] = {}
    lock = threading.Lock()

    def attacker(n: int) -> None:
        conn = http.client.HTTPConnection(srv.host, srv.port, timeout=30)
        user = "victim" if n % 2 else f"ghost{n}"
        headers = {"Authorization": f"Bearer {user}:wrong{n}", "Content-Type": "application/json"}
        while not stop.is_set():
            try:
                conn.request("POST", "/v2/vectordb/users/list", body=b"{}", headers=headers)
                reply = conn.getresponse()
                code = json.loads(reply.read()).get("code")
            except (OSError, http.client.HTTPException, ValueError) as err:
                code = type(err).__name__
                conn.close()
                conn = http.client.HTTPConnection(srv.host, srv.port, timeout=30)
            with lock:
                answers[code] = answers.get(code, 0) + 1
        conn.close()

    crowd = [threading.Thread(target=attacker, args=(n,), daemon=True) for n in range(CROWD)]
    # The valid client logs in before the crowd arrives: its later calls are checked against a keyed hash of
    # its verified credential, not argon2.
    assert ok(srv, "/users/list") == ["root", "victim"]
    for thread in crowd:
        thread.start()
    slowest = 0.0
    deadline = time.monotonic() + CROWD_SECONDS
    try:
        while time.monotonic() < deadline:
            started = time.monotonic()
            assert ok(srv, "/users/list", timeout=10) == ["root", "victim"]
            slowest = max(slowest, time.monotonic() - started)
            time.sleep(0.1)
    finally:
        stop.set()
        for thread in crowd:
            thread.join(35)
    memory = _memory_kib(srv.pid)
    assert srv.proc.poll() is None
    assert answers.get(1800, 0) > 0, answers  # wrong passwords were checked and refused ...
    assert set(answers) <= {1800, 8}, answers  # ... or refused for the crowd (rate limit), nothing else
    assert memory["VmHWM"] < RSS_LIMIT_KIB, (memory, answers)
    assert slowest < 2.0, (slowest, answers)


# ---------------------------------------------------------------------------------------------------------------
# Idle and stalled connections were held for ever: on a server with 256 descriptors, 300 idle sockets stopped it
# answering anyone. Connections now close after --idle-timeout without a byte either way (HTTP/1 headers must
# arrive within --header-timeout), and at most --max-connections are open: the rest wait in the listen backlog.

IDLE_S = 2.0


def test_stalled_connections_lock_real_clients_out_only_until_the_idle_timeout(
    server_factory: ServerFactory,  # noqa: F811
) -> None:
    srv = server_factory("--idle-timeout", str(IDLE_S), "--header-timeout", "1",
                         launcher=["prlimit", "--nofile=128:128", *FAST])
    stalled = []
    try:
        for n in range(150):
            sock = socket.create_connection((srv.host, srv.port), timeout=5)
            if n % 3 == 1:  # headers started, never finished
                sock.sendall(b"POST /v2/vectordb/users/list HTTP/1.1\r\nHost: x\r\n")
            elif n % 3 == 2:  # the HTTP/2 preface, then nothing
                sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
            stalled.append(sock)
        started = time.monotonic()
        assert ok(srv, "/users/list", timeout=IDLE_S * 4 + 10) == ["root"]
        waited = time.monotonic() - started
        assert waited < IDLE_S + 4, waited
        # The stalled sockets were closed by the server.
        closed = 0
        for sock in stalled:
            sock.settimeout(IDLE_S * 2 + 5)
            try:
                while sock.recv(4096):
                    pass
                closed += 1
            except ConnectionResetError:
                closed += 1
            except socket.timeout:
                pass
        assert closed == len(stalled)
        assert srv.proc.poll() is None
    finally:
        for sock in stalled:
            sock.close()


def test_connections_beyond_the_limit_wait_in_the_backlog(server_factory: ServerFactory) -> None:  # noqa: F811
    srv = server_factory("--max-connections", "4", "--idle-timeout", str(IDLE_S))
    held = [socket.create_connection((srv.host, srv.port), timeout=5) for _ in range(4)]
    try:
        started = time.monotonic()
        assert ok(srv, "/users/list", timeout=IDLE_S * 4 + 10) == ["root"]
        waited = time.monotonic() - started
        assert IDLE_S * 0.8 < waited < IDLE_S + 4, waited  # it waited for a slot, then was served
    finally:
        for sock in held:
            sock.close()


@pytest.mark.parametrize("flag,value", [("--max-connections", "0"), ("--idle-timeout", "0"),
                                        ("--header-timeout", "-1"), ("--idle-timeout", "nan")])
def test_connection_bounds_are_checked(flag: str, value: str, tmp_path: Any) -> None:
    proc, stderr = spawn(str(tmp_path / "bad.db"), flag, value, cwd=tmp_path)
    assert proc.wait(30) != 0
    assert flag.lstrip("-").replace("-", "_") in stderr.read_text(), stderr.read_text()


# ---------------------------------------------------------------------------------------------------------------
# Registry files hold password hashes. A pre-existing empty file (or a link to one) kept its 0644/0666 mode; a
# FIFO at the path hung MilvusClient() for ever; `file::memory:` silently made an in-memory registry; `export`
# overwrote an existing file, kept its mode and followed links.


def _client(path: Any) -> MilvusClient:
    return MilvusClient(str(path), token="root:Milvus", password_hash="fast")


@pytest.mark.parametrize("mode", [0o644, 0o666])
def test_a_pre_existing_registry_file_is_made_private(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "rbac.db"
    path.touch()
    path.chmod(mode)
    _client(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_links_and_special_files_are_refused_at_once(tmp_path: Path) -> None:
    target = tmp_path / "real.db"
    _client(target).close()
    target.chmod(0o644)
    (tmp_path / "link.db").symlink_to(target)
    os.mkfifo(tmp_path / "fifo.db")
    (tmp_path / "dir.db").mkdir()
    for name, words in [("link.db", "a symbolic link"), ("fifo.db", "not a regular file"),
                        ("dir.db", "a directory")]:
        started = time.monotonic()
        with pytest.raises(MilvusException) as refused:
            _client(tmp_path / name)
        assert words in refused.value.message, refused.value.message
        assert time.monotonic() - started < 5, name  # the FIFO hung before
    assert stat.S_IMODE(target.stat().st_mode) == 0o644, "a link's target is left alone"


@pytest.mark.parametrize("uri", ["file::memory:", "file:rbac.db", "file:rbac.db?mode=ro"])
def test_sqlite_uris_are_refused(uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ParamError) as refused:
        _client(uri)
    assert "SQLite URIs (file:...) are not accepted" in refused.value.message
    assert list(tmp_path.iterdir()) == []


def _cli(*args: str, cwd: Path) -> "subprocess.CompletedProcess[str]":
    env = {**os.environ, "MILVUS_RBAC_TOKEN": "root:Milvus"}
    return subprocess.run([sys.executable, "-m", "milvus_rbac", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=60)


def test_export_refuses_to_overwrite_and_never_follows_links(tmp_path: Path) -> None:
    _client(tmp_path / "rbac.db").close()
    existing = tmp_path / "backup.json"
    existing.write_text("keep me")
    existing.chmod(0o644)
    done = _cli("--db", "rbac.db", "export", "backup.json", cwd=tmp_path)
    assert done.returncode == 2 and "exists; give --force" in done.stderr, done.stderr
    assert existing.read_text() == "keep me"

    victim = tmp_path / "victim.txt"
    victim.write_text("not a backup")
    (tmp_path / "planted.json").symlink_to(victim)
    done = _cli("--db", "rbac.db", "export", "planted.json", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    done = _cli("--db", "rbac.db", "export", "--force", "planted.json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert victim.read_text() == "not a backup", "the link's target was written"
    planted = tmp_path / "planted.json"
    assert not planted.is_symlink() and json.loads(planted.read_text())["users"] == []
    assert stat.S_IMODE(planted.stat().st_mode) == 0o600

    done = _cli("--db", "rbac.db", "export", "--force", "backup.json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(existing.stat().st_mode) == 0o600 and "users" in json.loads(existing.read_text())
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".milvus-rbac-export-")) == []


# ---------------------------------------------------------------------------------------------------------------
# `Request-Timeout: 0` answered 408 although the write went through: a timeout now only ever means "not done".


def test_a_timeout_is_never_reported_for_a_committed_change(server: Server) -> None:
    outcomes = set()
    for n in range(40):
        role = f"timed_{n}"
        reply = rest(server, "/roles/create", {"roleName": role}, headers={"Request-Timeout": "0"})
        created = role in ok(server, "/roles/list")
        if reply.status == 408:
            assert reply.json()["code"] == 10001 and not created, (n, reply)
        else:
            assert reply.json() == {"code": 0, "data": {}} and created, (n, reply)
            ok(server, "/roles/drop", {"roleName": role})
        outcomes.add(reply.status)
    assert outcomes <= {200, 408}


# ---------------------------------------------------------------------------------------------------------------
# Output: the CLI printed descriptions raw (terminal escape sequences could be planted by anyone allowed to set
# one), and the server log did not quote user names (which, without authorization, are whatever clients send).

ESCAPE = "\x1b]0;owned\x07\x1b[2J"


def test_the_cli_escapes_what_it_prints(tmp_path: Path) -> None:
    with _client(tmp_path / "rbac.db") as client:
        client.create_role("planted", description=f"looks fine{ESCAPE}\nROLE  admin")
    done = _cli("--db", "rbac.db", "roles", "describe", "planted", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout and "\x07" not in done.stdout
    assert "looks fine\\x1b]0;owned\\x07\\x1b[2J\\nROLE  admin" in done.stdout
    as_json = _cli("--db", "rbac.db", "--json", "roles", "describe", "planted", cwd=tmp_path)
    assert json.loads(as_json.stdout)["description"] == f"looks fine{ESCAPE}\nROLE  admin"  # JSON keeps the data


def test_the_server_log_quotes_names(server_factory: ServerFactory) -> None:  # noqa: F811
    srv = server_factory("--log-level", "info", "--no-authorization")
    # HTTP Basic carries any bytes in base64 (a header itself cannot hold control characters).
    basic = base64.b64encode(f"intruder{ESCAPE}:x".encode()).decode()
    assert rest(srv, "/users/list", token=None, headers={"Authorization": f"Basic {basic}"}).json()["code"] == 0
    log = srv.stderr()
    assert "\x1b" not in log and "\x07" not in log, log
    assert 'user="intruder\\u{1b}]0;owned\\u{7}\\u{1b}[2J"' in log, log


# ---------------------------------------------------------------------------------------------------------------
# MILVUS_RBAC_ROOT_PASSWORD is visible to others (`ps eww`): root's password may come from a file or standard input.


@pytest.mark.parametrize("source", ["file", "stdin"])
def test_the_root_password_from_a_file_or_standard_input(tmp_path: Path, source: str) -> None:
    secret = "S3cret root pw"  # inner spaces are the password's
    (tmp_path / "root.pw").write_text(secret + "\n")
    flag = ["--root-password-file", "root.pw" if source == "file" else "-"]
    env = {k: v for k, v in os.environ.items() if k != "MILVUS_RBAC_ROOT_PASSWORD"}
    server = subprocess.Popen(
        [*FAST, "serve", "--db", str(tmp_path / "fresh.db"), "--port", "0", *flag, "--password-hash", "fast",
         "--log-level", "error"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path, env=env, text=True)
    try:
        assert server.stdin is not None and server.stdout is not None
        if source == "stdin":
            server.stdin.write(secret + "\n")
            server.stdin.flush()
        announced = server.stdout.readline()
        url = announced.split(" on ")[-1].strip()
        assert ok(url, "/users/list", token=f"root:{secret}") == ["root"]
        assert "S3cret" not in open(f"/proc/{server.pid}/environ", "rb").read().decode(errors="replace")
    finally:
        server.terminate()
        server.wait(10)


def test_the_root_password_comes_from_one_place(tmp_path: Path) -> None:
    (tmp_path / "root.pw").write_text("S3cret\n")
    env = {**os.environ, "MILVUS_RBAC_ROOT_PASSWORD": "Other1"}
    # --port 0: were the refusal broken, the server would not take Milvus's port.
    done = subprocess.run([*FAST, "serve", "--db", "x.db", "--port", "0", "--root-password-file", "root.pw"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "not both" in done.stderr, done.stderr


# ---------------------------------------------------------------------------------------------------------------
# Limits on failed logins (Milvus has none): per user name (default 30 a minute) and per client address (default
# none). Past a limit, guesses are refused without an argon2 run; credentials the server already verified pass.


def _registry_with_users(path: Path, *users: str) -> None:
    with _client(path) as client:
        for user in users:
            client.create_user(user, "P@ssw0rd1")


def _status(srv: Server, user: str, password: str) -> int:
    return rest(srv, "/users/describe", {"userName": user}, token=f"{user}:{password}").status


def test_a_user_is_locked_after_its_failed_logins_but_its_sessions_go_on(
    server_factory: ServerFactory, tmp_path: Path  # noqa: F811
) -> None:
    db = tmp_path / "users.db"
    _registry_with_users(db, "victim", "session")
    srv = server_factory("--max-failed-logins", "3", db=str(db))
    assert _status(srv, "session", "P@ssw0rd1") == 200  # verified by this server: a known credential
    for user in ("victim", "session"):
        for _ in range(3):
            assert _status(srv, user, "wrong") == 401
    assert _status(srv, "victim", "P@ssw0rd1") == 401, "locked: even the right password is not tried"
    assert _status(srv, "session", "P@ssw0rd1") == 200, "a known credential passes the lock"
    assert _status(srv, "root", "Milvus") == 200, "other users are not locked"
    # The same over gRPC: pymilvus's Connect as the locked user fails as a wrong password does.
    from milvus_rbac import AuthenticationError

    with pytest.raises(AuthenticationError):
        MilvusClient(srv.url, token="victim:P@ssw0rd1")
    with MilvusClient(srv.url, token="session:P@ssw0rd1") as session:
        assert session.describe_user("session")["user_name"] == "session"


def test_an_address_is_locked_after_its_failed_logins(server_factory: ServerFactory, tmp_path: Path) -> None:  # noqa: F811
    db = tmp_path / "users.db"
    _registry_with_users(db, "fresh")
    srv = server_factory("--max-failed-logins", "0", "--max-failed-logins-per-address", "3", db=str(db))
    assert _status(srv, "root", "Milvus") == 200
    for n in range(3):
        assert _status(srv, f"ghost{n}", "wrong") == 401
    assert _status(srv, "fresh", "P@ssw0rd1") == 401, "this address is locked"
    assert _status(srv, "root", "Milvus") == 200, "a known credential passes the lock"


def test_without_limits_every_guess_is_checked(server_factory: ServerFactory, tmp_path: Path) -> None:  # noqa: F811
    db = tmp_path / "users.db"
    _registry_with_users(db, "patient")
    srv = server_factory("--max-failed-logins", "0", db=str(db))
    for _ in range(40):
        assert _status(srv, "patient", "wrong") == 401
    assert _status(srv, "patient", "P@ssw0rd1") == 200
