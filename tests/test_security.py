"""Hostile input against `milvus-rbac serve` and the embedded client (issue 14): each finding of the hostile review as
a test that failed on the code it was found in.

- A REST body of 30,000 (or 1,000,000) `[` crashed the server (the code that words JSON errors as Go does recursed
  without limit): now it answers Milvus's 1801 with Go's "exceeded max depth" and keeps serving.
"""

from __future__ import annotations

import pytest
from server_fixtures import Server, module_server, ok, rest

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
