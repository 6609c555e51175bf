"""`milvus-rbac serve`: Milvus's RESTful API v2 over a registry (issue 7).

Servers run as subprocesses on free ports (tests/server_fixtures.py) and are always stopped. Expectations come from
../shared/milvus-facts.md Part 1 section 8 (REST v2) and Milvus's own sources where the facts quote them
(`wrapperPost`, `authenticate`, request_v2.go). Tests marked xfail(strict=True, reason="BUG: ...") record a gap
between the server and Milvus (or the issue) that was found when this file was written.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import platform
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest
from server_fixtures import (
    MODULE,
    SCRIPT,
    Server,
    ServerFactory,
    module_server,
    ok,
    rest,
    server_factory,  # noqa: F401  (fixture)
    spawn,
    start_server,
)

from milvus_rbac import MilvusClient, PermissionDeniedError

PW = "P@ssw0rd"
AUTH_FAILED = {"code": 1800, "message": "user hasn't authenticated"}
DENIED_PREFIX = "rpc error: code = PermissionDenied desc = "
EMPTY_BODY = "can only accept json format request, the request body should be nil, however {} is valid"
MIB = 1 << 20

# Every RBAC path of Milvus's REST API v2 (facts Part 1 §8.3; /roles/alter is 2.6-tip).
RBAC_PATHS = {
    "/users/list", "/users/describe", "/users/create", "/users/update_password", "/users/drop",
    "/users/grant_role", "/users/revoke_role",
    "/roles/list", "/roles/describe", "/roles/create", "/roles/alter", "/roles/drop",
    "/roles/grant_privilege", "/roles/revoke_privilege", "/roles/grant_privilege_v2", "/roles/revoke_privilege_v2",
    "/privilege_groups/create", "/privilege_groups/drop", "/privilege_groups/list",
    "/privilege_groups/add_privileges_to_group", "/privilege_groups/remove_privileges_from_group",
}

# `binding:"required"` fields per path, in Go struct order, with the Go struct Milvus binds the body to
# (milvus internal/distributed/proxy/httpserver/request_v2.go).
REQUIRED: Dict[str, Tuple[str, List[str]]] = {
    "/users/describe": ("UserReq", ["userName"]),
    "/users/create": ("PasswordReq", ["userName", "password"]),
    "/users/update_password": ("NewPasswordReq", ["userName", "password", "newPassword"]),
    "/users/drop": ("UserReq", ["userName"]),
    "/users/grant_role": ("UserRoleReq", ["userName", "roleName"]),
    "/users/revoke_role": ("UserRoleReq", ["userName", "roleName"]),
    "/roles/describe": ("RoleReq", ["roleName"]),
    "/roles/create": ("RoleReq", ["roleName"]),
    "/roles/drop": ("RoleReq", ["roleName"]),
    "/roles/grant_privilege": ("GrantReq", ["roleName", "objectType", "objectName", "privilege"]),
    "/roles/revoke_privilege": ("GrantReq", ["roleName", "objectType", "objectName", "privilege"]),
    "/roles/grant_privilege_v2": ("GrantV2Req", ["roleName", "privilege"]),
    "/roles/revoke_privilege_v2": ("GrantV2Req", ["roleName", "privilege"]),
    "/privilege_groups/create": ("PrivilegeGroupReq", ["privilegeGroupName"]),
    "/privilege_groups/drop": ("PrivilegeGroupReq", ["privilegeGroupName"]),
    "/privilege_groups/add_privileges_to_group": ("PrivilegeGroupReq", ["privilegeGroupName"]),
    "/privilege_groups/remove_privileges_from_group": ("PrivilegeGroupReq", ["privilegeGroupName"]),
}


def missing_message(kind: str, json_field: str) -> str:
    field = json_field[0].upper() + json_field[1:]
    return (f"Key: '{kind}.{field}' Error:Field validation for '{field}' failed on the 'required' tag")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server (docs profile, fast hashing, file registry) for the envelope tests; names are unique per test."""
    yield from module_server(tmp_path_factory, "rest", "--max-users", "none", "--max-roles", "none")


def registry_of(server: Server) -> str:
    return server.db


# ---------------------------------------------------------------------------------------------------------------
# The seed: the curl commands, verbatim, with the real curl binary.

SEED_SCRIPT = r"""
export CLUSTER_ENDPOINT="http://localhost:{port}" TOKEN="root:Milvus"
curl --request POST --url "${{CLUSTER_ENDPOINT}}/v2/vectordb/users/create" \
  --header "Authorization: Bearer ${{TOKEN}}" --header "Content-Type: application/json" \
  -d '{{"userName": "user_1", "password": "P@ssw0rd"}}'
echo
curl --request POST \
--url "${{CLUSTER_ENDPOINT}}/v2/vectordb/users/update_password" \
--header "Authorization: Bearer ${{TOKEN}}" \
--header "Content-Type: application/json" \
-d '{{
    "newPassword": "P@ssw0rd!",
    "userName": "user_1",
    "password": "P@ssw0rd"
}}'
echo
curl --request POST \
--url "${{CLUSTER_ENDPOINT}}/v2/vectordb/users/list" \
--header "Authorization: Bearer ${{TOKEN}}" \
--header "Content-Type: application/json" \
-d '{{}}'
echo
curl --request POST \
--url "${{CLUSTER_ENDPOINT}}/v2/vectordb/roles/create" \
--header "Authorization: Bearer ${{TOKEN}}" \
--header "Content-Type: application/json" \
-d '{{
    "roleName": "my_role"
}}'
echo
curl --request POST \
--url "${{CLUSTER_ENDPOINT}}/v2/vectordb/roles/list" \
--header "Authorization: Bearer ${{TOKEN}}" \
--header "Content-Type: application/json" \
-d '{{}}'
echo
curl --request POST \
--url "${{CLUSTER_ENDPOINT}}/v2/vectordb/users/describe" \
--header "Authorization: Bearer user_1:P@ssw0rd!" \
--header "Content-Type: application/json" \
-d '{{"userName": "user_1"}}'
echo
curl --request POST \
--url "${{CLUSTER_ENDPOINT}}/v2/vectordb/users/describe" \
--header "Authorization: Bearer user_1:P@ssw0rd" \
--header "Content-Type: application/json" \
-d '{{"userName": "user_1"}}'
echo
"""


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_seed_curl_commands_verbatim(tmp_path: Path) -> None:
    # The command line, with --port 0 for a free port; default settings (strong hashing).
    srv = start_server("./rbac.db", launcher=SCRIPT, cwd=tmp_path)
    rc = None
    try:
        assert srv.line == f"milvus-rbac serving ./rbac.db on http://127.0.0.1:{srv.port}"
        done = subprocess.run(["bash", "-c", SEED_SCRIPT.format(port=srv.port)], capture_output=True,
                              timeout=60, text=True)
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines() == [
            '{"code":0,"data":{}}',                                  # users/create
            '{"code":0,"data":{}}',                                  # users/update_password
            '{"code":0,"data":["root","user_1"]}',                   # users/list
            '{"code":0,"data":{}}',                                  # roles/create
            '{"code":0,"data":["admin","my_role","public"]}',        # roles/list
            '{"code":0,"data":[],"description":""}',                 # the new password works
            '{"code":1800,"message":"user hasn\'t authenticated"}',  # the old one does not
        ]
        assert (tmp_path / "rbac.db").is_file()
    finally:
        rc = srv.stop()
    assert rc == 0, srv.stderr()


# ---------------------------------------------------------------------------------------------------------------
# Envelopes


def test_success_envelopes(server: Server) -> None:
    reply = rest(server, "/roles/create", {"roleName": "env_role"})
    assert (reply.status, reply.body) == (200, b'{"code":0,"data":{}}')
    assert reply.headers["content-type"] == "application/json"
    reply = rest(server, "/roles/list", {})
    assert reply.status == 200
    envelope = reply.json()
    assert set(envelope) == {"code", "data"} and envelope["code"] == 0
    assert envelope["data"] == sorted(envelope["data"]) and {"admin", "public", "env_role"} <= set(envelope["data"])
    assert "root" in ok(server, "/users/list", {"dbName": "ignored"})


def test_error_envelopes_are_http_200(server: Server) -> None:
    ok(server, "/roles/create", {"roleName": "env_dup"})
    reply = rest(server, "/roles/create", {"roleName": "env_dup"})
    assert reply.status == 200
    assert reply.json() == {"code": 65535, "message": 'role [name:"env_dup"] already exists'}
    reply = rest(server, "/users/create", {"userName": "1ab", "password": PW})
    assert (reply.status, reply.json()) == (200, {
        "code": 1100,
        "message": "invalid user name 1ab, the first character must be a letter, but got 1: invalid parameter"})
    reply = rest(server, "/users/drop", {"userName": "root"})
    assert (reply.status, reply.json()) == (200, {
        "code": 1401, "message": "root user cannot be deleted: privilege not permitted"})


def test_result_shapes(server: Server) -> None:
    ok(server, "/users/create", {"userName": "shape_u", "password": PW})
    ok(server, "/roles/create", {"roleName": "shape_r"})
    ok(server, "/users/grant_role", {"userName": "shape_u", "roleName": "shape_r"})
    assert ok(server, "/users/describe", {"userName": "shape_u"}) == ["shape_r"]
    assert ok(server, "/users/describe", {"userName": "shape_nobody"}) == []
    ok(server, "/roles/grant_privilege",
       {"roleName": "shape_r", "objectType": "Collection", "objectName": "books", "privilege": "Search"})
    assert ok(server, "/roles/describe", {"roleName": "shape_r"}) == [
        {"objectType": "Collection", "objectName": "books", "privilege": "Search", "dbName": "default",
         "grantor": "root"}]
    ok(server, "/privilege_groups/create", {"privilegeGroupName": "shape_g"})
    ok(server, "/privilege_groups/add_privileges_to_group",
       {"privilegeGroupName": "shape_g", "privileges": ["Search", "Query"]})
    groups = ok(server, "/privilege_groups/list", {})
    assert set(groups) == {"privilegeGroups"}
    mine = [g for g in groups["privilegeGroups"] if g["privilegeGroupName"] == "shape_g"]
    assert mine == [{"privilegeGroupName": "shape_g", "privileges": "Query,Search"}]
    builtin = {g["privilegeGroupName"] for g in groups["privilegeGroups"]}
    assert {"ClusterReadOnly", "DatabaseAdmin", "CollectionReadWrite"} <= builtin


def test_describe_carries_description(server: Server) -> None:
    ok(server, "/users/create", {"userName": "desc_u", "password": PW, "description": "a user"})
    ok(server, "/roles/create", {"roleName": "desc_r", "description": "a role"})
    assert rest(server, "/users/describe", {"userName": "desc_u"}).json() == {
        "code": 0, "data": [], "description": "a user"}
    assert rest(server, "/roles/describe", {"roleName": "desc_r"}).json() == {
        "code": 0, "data": [], "description": "a role"}


# ---------------------------------------------------------------------------------------------------------------
# Binding errors (1801, 1802)


@pytest.mark.parametrize("path", sorted(RBAC_PATHS))
def test_empty_body_is_1801(server: Server, path: str) -> None:
    for raw in (b"", b"  \n"):
        reply = rest(server, path, raw=raw)
        assert (reply.status, reply.json()) == (200, {"code": 1801, "message": EMPTY_BODY}), raw


def test_bad_json_and_wrong_types_are_1801(server: Server) -> None:
    prefix = "can only accept json format request, error: "
    for raw in (b"{oops", b'{"roleName": "x",}', b"nul", b'{"roleName": "x"'):
        envelope = rest(server, "/roles/create", raw=raw).json()
        assert envelope["code"] == 1801 and envelope["message"].startswith(prefix), (raw, envelope)
    cases = [
        ("/roles/create", [], "json: cannot unmarshal array into Go value of type httpserver.RoleReq"),
        ("/users/list", "x", "json: cannot unmarshal string into Go value of type httpserver.DatabaseReq"),
        ("/users/create", {"userName": "u", "password": 5},
         "json: cannot unmarshal number into Go struct field PasswordReq.password of type string"),
        ("/users/grant_role", {"userName": True, "roleName": "r"},
         "json: cannot unmarshal bool into Go struct field UserRoleReq.userName of type string"),
        ("/privilege_groups/add_privileges_to_group", {"privilegeGroupName": "g", "privileges": "Search"},
         "json: cannot unmarshal string into Go struct field PrivilegeGroupReq.privileges of type []string"),
        ("/privilege_groups/add_privileges_to_group", {"privilegeGroupName": "g", "privileges": [1]},
         "json: cannot unmarshal number into Go struct field PrivilegeGroupReq.privileges of type string"),
    ]
    for path, body, detail in cases:
        assert rest(server, path, body).json() == {"code": 1801, "message": prefix + detail}, (path, body)


@pytest.mark.parametrize("raw, detail", [
    # Milvus's own handler test (httpserver/handler_v2_test.go).
    (b'{"roleName": "book", "dbName"}', "invalid character '}' after object key"),
    (b"{oops", "invalid character 'o' looking for beginning of object key string"),
    (b'{"roleName": "x",}', "invalid character '}' looking for beginning of object key string"),
    (b'{"roleName": "x" "y"}', "invalid character '\"' after object key:value pair"),
    (b'{"roleName": x}', "invalid character 'x' looking for beginning of value"),
    (b'{"roleName": tru}', "invalid character '}' in literal true (expecting 'e')"),
    (b'{"roleName": "\\q"}', "invalid character 'q' in string escape code"),
    (b'{"roleName": "a\x01"}', "invalid character '\\x01' in string literal"),
    (b'{"roleName": 1.}', "invalid character '}' after decimal point in numeric literal"),
    (b"\xff", "invalid character '\u00ff' looking for beginning of value"),
    (b"nul", "unexpected EOF"),
    (b'{"roleName": "x"', "unexpected EOF"),
])
def test_bad_json_message_is_go_wording(server: Server, raw: bytes, detail: str) -> None:
    """Milvus passes on Go's encoding/json decoder error (gin binds with json.NewDecoder)."""
    envelope = rest(server, "/roles/create", raw=raw).json()
    assert envelope == {"code": 1801, "message": "can only accept json format request, error: " + detail}


def test_null_body_binds_as_empty(server: Server) -> None:
    """Go decodes `null` into the request struct as nothing: the binding then reports the missing fields."""
    assert rest(server, "/roles/create", raw=b"null").json() == {
        "code": 1802, "message": "missing required parameters, error: " + missing_message("RoleReq", "roleName")}
    assert rest(server, "/roles/list", raw=b"null").json()["code"] == 0


def test_trailing_data_after_body_is_ignored(server: Server) -> None:
    reply = rest(server, "/roles/create", raw=b'{"roleName": "trail_r"} trailing')
    assert reply.json() == {"code": 0, "data": {}}


@pytest.mark.parametrize("path", sorted(REQUIRED))
def test_missing_required_field_is_1802(server: Server, path: str) -> None:
    kind, fields = REQUIRED[path]
    filler = {"userName": "req_u", "password": PW, "newPassword": PW + "1", "roleName": "req_r",
              "objectType": "Collection", "objectName": "books", "privilege": "Search",
              "privilegeGroupName": "req_g"}
    # Drop the last required field; then send it as "" (an empty string counts as missing).
    body = {name: filler[name] for name in fields[:-1]}
    want = {"code": 1802, "message": "missing required parameters, error: " + missing_message(kind, fields[-1])}
    assert rest(server, path, body).json() == want
    assert rest(server, path, {**body, fields[-1]: ""}).json() == want


def test_missing_required_field_message_from_facts(server: Server) -> None:
    assert rest(server, "/users/grant_role", {"userName": "u"}).json() == {
        "code": 1802,
        "message": "missing required parameters, error: Key: 'UserRoleReq.RoleName' Error:Field validation for "
                   "'RoleName' failed on the 'required' tag"}


def test_every_missing_field_is_listed(server: Server) -> None:
    assert rest(server, "/users/grant_role", {}).json() == {
        "code": 1802,
        "message": "missing required parameters, error: " + missing_message("UserRoleReq", "userName") + "\n"
                   + missing_message("UserRoleReq", "roleName")}


def test_type_error_wins_over_missing_field(server: Server) -> None:
    assert rest(server, "/users/create", {"password": 5}).json() == {
        "code": 1801,
        "message": "can only accept json format request, error: json: cannot unmarshal number into Go struct "
                   "field PasswordReq.password of type string"}


# ---------------------------------------------------------------------------------------------------------------
# Authentication and denial


def test_bearer_and_basic_authentication(server: Server) -> None:
    assert "root" in ok(server, "/users/list", {})
    basic = base64.b64encode(b"root:Milvus").decode()
    assert "root" in ok(server, "/users/list", {}, token=None, headers={"Authorization": f"Basic {basic}"})


@pytest.mark.parametrize("authorization", [
    None, "Bearer root:wrong", "Bearer nobody:Milvus", "Bearer root", "Bearer ", "Token root:Milvus",
    "Basic " + base64.b64encode(b"root:wrong").decode(), "Basic !!notbase64",
])
def test_failed_authentication_is_401_1800(server: Server, authorization: Any) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    reply = rest(server, "/users/list", {}, token=None, headers=headers)
    assert (reply.status, reply.json()) == (401, AUTH_FAILED)
    if authorization is not None and authorization.startswith("Basic"):
        assert reply.headers["www-authenticate"] == 'Basic realm="restricted", charset="UTF-8"'


def test_authentication_comes_before_binding(server: Server) -> None:
    for raw in (b"", b"{oops", b"{}"):
        reply = rest(server, "/users/grant_role", raw=raw, token=None)
        assert (reply.status, reply.json()) == (401, AUTH_FAILED), raw


def test_bearer_token_is_not_trimmed(server: Server) -> None:
    reply = rest(server, "/users/list", {}, token=None, headers={"Authorization": "Bearer  root:Milvus"})
    assert (reply.status, reply.json()) == (401, AUTH_FAILED)


def _user(server: Server, name: str) -> str:
    ok(server, "/users/create", {"userName": name, "password": PW})
    return f"{name}:{PW}"


def test_denial_is_403_65535_with_milvus_message(server: Server) -> None:
    token = _user(server, "deny_u")
    reply = rest(server, "/users/list", {}, token=token)
    assert (reply.status, reply.json()) == (403, {
        "code": 65535,
        "message": "rpc error: code = PermissionDenied desc = PrivilegeSelectOwnership: permission deny to deny_u "
                   "in the `default` database"})
    # Every denial carries the embedded registry's message for the same call.
    embedded = MilvusClient(registry_of(server), token=token)
    try:
        calls = [
            ("/roles/create", {"roleName": "deny_r"}, lambda: embedded.create_role("deny_r")),
            ("/users/drop", {"userName": "root"}, lambda: embedded.drop_user("root")),
            ("/users/grant_role", {"userName": "deny_u", "roleName": "admin"},
             lambda: embedded.grant_role("deny_u", "admin")),
            ("/roles/grant_privilege_v2", {"roleName": "public", "privilege": "Search", "collectionName": "*"},
             lambda: embedded.grant_privilege_v2("public", "Search", "*")),
            ("/privilege_groups/create", {"privilegeGroupName": "deny_g"},
             lambda: embedded.create_privilege_group("deny_g")),
            ("/privilege_groups/list", {}, lambda: embedded.list_privilege_groups()),
        ]
        for path, body, call in calls:
            with pytest.raises(PermissionDeniedError) as info:
                call()
            reply = rest(server, path, body, token=token)
            assert (reply.status, reply.json()) == (403, {"code": 65535,
                                                          "message": DENIED_PREFIX + info.value.message}), path
    finally:
        embedded.close()
    # A user may see itself.
    assert ok(server, "/users/describe", {"userName": "deny_u"}, token=token) == []


def test_db_name_header_and_body(server: Server) -> None:
    token = _user(server, "db_u")
    denial = "rpc error: code = PermissionDenied desc = PrivilegeSelectOwnership: permission deny to db_u in the `{}` database"
    assert rest(server, "/users/list", {}, token=token, headers={"DB-Name": "db1"}).json()["message"] \
        == denial.format("db1")
    # The body's dbName wins over the header.
    assert rest(server, "/users/list", {"dbName": "db2"}, token=token, headers={"DB-Name": "db1"}).json()["message"] \
        == denial.format("db2")
    # v1 grants and describe_role use body dbName, else the header, else default.
    ok(server, "/roles/create", {"roleName": "db_r"})
    grant = {"roleName": "db_r", "objectType": "Collection", "objectName": "c1", "privilege": "Query"}
    ok(server, "/roles/grant_privilege", grant, headers={"DB-Name": "db1"})
    ok(server, "/roles/grant_privilege", {**grant, "dbName": "db2"}, headers={"DB-Name": "db1"})
    ok(server, "/roles/grant_privilege", {**grant, "objectName": "c0"})
    described = {(g["dbName"], g["objectName"])
                 for db in ("db1", "db2", "default")
                 for g in ok(server, "/roles/describe", {"roleName": "db_r"}, headers={"DB-Name": db})}
    assert described == {("db1", "c1"), ("db2", "c1"), ("default", "c0")}
    assert [g["dbName"] for g in ok(server, "/roles/describe", {"roleName": "db_r", "dbName": "db2"},
                                    headers={"DB-Name": "db1"})] == ["db2"]
    # Grant v2 takes its database from the body only (facts §8.3).
    ok(server, "/roles/grant_privilege_v2", {"roleName": "db_r", "privilege": "Search", "collectionName": "c9"},
       headers={"DB-Name": "db1"})
    assert ("default", "c9") in {(g["dbName"], g["objectName"])
                                 for g in ok(server, "/roles/describe", {"roleName": "db_r"})}
    assert "c9" not in {g["objectName"] for g in ok(server, "/roles/describe", {"roleName": "db_r", "dbName": "db1"})}


def test_request_timeout_header_is_accepted(server: Server) -> None:
    for value in ("30", "5", " 10 ", "abc", ""):
        assert ok(server, "/roles/list", {}, headers={"Request-Timeout": value})[0] == "admin", value
    ok(server, "/roles/create", {"roleName": "timeout_r"}, headers={"Request-Timeout": "10"})


# ---------------------------------------------------------------------------------------------------------------
# OpenAPI


def test_openapi_document(server: Server) -> None:
    reply = rest(server, "/openapi.json", method="GET", token=None)
    assert reply.status == 200 and reply.headers["content-type"] == "application/json"
    document = reply.json()
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] and document["info"]["version"]
    paths = {path[len("/v2/vectordb"):] for path in document["paths"]}
    assert all(path.startswith("/v2/vectordb/") for path in document["paths"])
    assert paths == RBAC_PATHS
    operation_ids = set()
    for path, item in document["paths"].items():
        assert set(item) == {"post"}, path
        post = item["post"]
        operation_ids.add(post["operationId"])
        schema = post["requestBody"]["content"]["application/json"]["schema"]
        assert schema["type"] == "object"
        short = path[len("/v2/vectordb"):]
        want_required = REQUIRED.get(short, (None, []))[1]
        if short in ("/roles/alter",):
            want_required = ["roleName"]
        assert sorted(schema.get("required", [])) == sorted(want_required), path
        assert set(schema.get("required", [])) <= set(schema["properties"]), path
        assert "200" in post["responses"]
    assert len(operation_ids) == len(document["paths"])
    try:
        from openapi_spec_validator import validate
    except ImportError:
        return
    validate(document)


def test_every_documented_path_is_served(server: Server) -> None:
    document = rest(server, "/openapi.json", method="GET", token=None).json()
    for path in document["paths"]:
        reply = rest(server, path, raw=b"")
        assert reply.status == 200 and reply.json()["code"] == 1801, path


# ---------------------------------------------------------------------------------------------------------------
# Request size


def test_bodies_over_one_mib_are_refused_with_413(server: Server) -> None:
    padding = b" " * (MIB + 1)
    reply = rest(server, "/users/list", raw=b"{}" + padding)
    assert reply.status == 413
    assert {k.lower(): v for k, v in reply.headers.items()}.get("milvus-rbac-profile") == "docs", reply.headers
    # Just under the limit is read and answered as usual.
    reply = rest(server, "/users/list", raw=b"{}" + b" " * (MIB - 100))
    assert reply.status == 200 and reply.json()["code"] == 0
    # The server stays healthy.
    assert "root" in ok(server, "/users/list", {})


def test_large_declared_body_is_refused_before_it_is_sent_whole(server: Server) -> None:
    """A client announcing 64 MiB gets 413 after at most a few MiB (the rest is never read)."""
    declared = 64 * MIB
    sock = socket.create_connection((server.host, server.port), timeout=10)
    sent = 0
    answer = b""
    try:
        sock.sendall((f"POST /v2/vectordb/users/list HTTP/1.1\r\nHost: {server.host}\r\n"
                      f"Authorization: Bearer root:Milvus\r\nContent-Type: application/json\r\n"
                      f"Content-Length: {declared}\r\n\r\n").encode())
        chunk = b" " * 65536
        deadline = time.monotonic() + 20
        sock.setblocking(False)
        while sent < declared and time.monotonic() < deadline:
            readable, writable, _ = select.select([sock], [sock], [], 1.0)
            if readable:
                break
            if writable:
                try:
                    sent += sock.send(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    break
                except BlockingIOError:
                    continue
        sock.setblocking(True)
        sock.settimeout(10)
        try:
            while b"\r\n\r\n" not in answer:
                data = sock.recv(4096)
                if not data:
                    break
                answer += data
        except (ConnectionResetError, socket.timeout):
            pass
    finally:
        sock.close()
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent < 16 * MIB, sent
    assert "root" in ok(server, "/users/list", {})


def test_413_answer_is_an_envelope(server: Server) -> None:
    reply = rest(server, "/users/list", raw=b"{}" + b" " * (2 * MIB))
    assert reply.status == 413
    assert reply.headers["content-type"] == "application/json"
    envelope = reply.json()
    assert isinstance(envelope["code"], int) and envelope["code"] != 0 and envelope["message"]


# ---------------------------------------------------------------------------------------------------------------
# Fuzzing every endpoint from the OpenAPI document (hypothesis + http.client)


def test_fuzz_every_endpoint_from_openapi(server_factory: ServerFactory) -> None:
    hypothesis = pytest.importorskip("hypothesis")
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    srv = server_factory()
    ok(srv, "/users/create", {"userName": "fuzz_u", "password": PW})
    document = rest(srv, "/openapi.json", method="GET", token=None).json()
    paths = sorted(document["paths"])
    words = st.sampled_from(["", "root", "admin", "public", "fuzz_u", "fuzz_r", "Search", "Query", "Collection",
                             "Global", "User", "*", "default", "db1", "CollectionReadOnly", "ClusterAdmin", PW,
                             " x ", "1abc", "a" * 300])
    scalar = st.one_of(words, st.text(max_size=12), st.integers(), st.booleans(), st.none(), st.floats(allow_nan=False))
    value = st.one_of(scalar, st.lists(st.one_of(words, st.integers()), max_size=3),
                      st.dictionaries(st.text(max_size=5), st.integers(), max_size=2))

    def body_for(path: str) -> Any:
        schema = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
        fields = {}
        for name, prop in schema["properties"].items():
            good = st.lists(words, max_size=3) if prop["type"] == "array" else words
            fields[name] = st.one_of(good, good, value)
        return st.fixed_dictionaries({}, optional=fields)

    bodies = st.sampled_from(paths).flatmap(lambda p: st.tuples(st.just(p), st.one_of(
        body_for(p).map(lambda b: json.dumps(b).encode()),
        body_for(p).map(lambda b: json.dumps(b).encode()),
        st.binary(max_size=40),
        value.map(lambda v: json.dumps(v).encode()),
    )))
    tokens = st.sampled_from(["root:Milvus", "root:Milvus", f"fuzz_u:{PW}", "root:bad", None, "root"])
    seen: Dict[Tuple[int, int], int] = {}

    @settings(max_examples=150, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(request=bodies, token=tokens)
    def fuzz(request: Tuple[str, bytes], token: Any) -> None:
        path, raw = request
        reply = rest(srv, path, raw=raw, token=token)
        assert reply.status in (200, 401, 403), (path, raw, reply)
        assert reply.headers["content-type"] == "application/json", (path, raw, reply)
        envelope = reply.json()
        assert isinstance(envelope, dict) and isinstance(envelope.get("code"), int), (path, raw, envelope)
        if envelope["code"] == 0:
            assert reply.status == 200 and set(envelope) == {"code", "data"}, (path, raw, envelope)
        else:
            assert set(envelope) == {"code", "message"} and envelope["message"], (path, raw, envelope)
        if reply.status == 401:
            assert envelope == AUTH_FAILED
        if reply.status == 403:
            assert envelope["code"] == 65535 and envelope["message"].startswith(DENIED_PREFIX)
        key = (reply.status, envelope["code"])
        seen[key] = seen.get(key, 0) + 1

    fuzz()
    assert srv.proc.poll() is None, "the server died"
    assert "root" in ok(srv, "/users/list", {})
    # The fuzzer reached successes, binding errors, registry errors, 401 and 403.
    codes = {code for _, code in seen}
    assert {0, 1801, 1800, 65535} <= codes and (1802 in codes or 1100 in codes), seen


# ---------------------------------------------------------------------------------------------------------------
# Starting, settings, logs and stopping


def test_python_m_serve_and_sigterm_with_request_in_flight(tmp_path: Path) -> None:
    """SIGTERM while a request is in flight (its body is still arriving): the request completes, the process exits 0
    promptly, and what it wrote is in the file."""
    srv = start_server(str(tmp_path / "flight.db"), "--log-level", "error", "--password-hash", "fast",
                       launcher=MODULE, cwd=tmp_path)
    try:
        assert "root" in ok(srv, "/users/list", {})
        body = json.dumps({"userName": "flight_u", "password": PW}).encode()
        sock = socket.create_connection((srv.host, srv.port), timeout=10)
        try:
            sock.sendall((f"POST /v2/vectordb/users/create HTTP/1.1\r\nHost: {srv.host}\r\n"
                          f"Authorization: Bearer root:Milvus\r\nContent-Type: application/json\r\n"
                          f"Content-Length: {len(body)}\r\n\r\n").encode() + body[:10])
            time.sleep(0.3)
            signalled = time.monotonic()
            srv.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            assert srv.proc.poll() is None, "the server quit with a request in flight"
            # A new connection is no longer served.
            with pytest.raises(OSError):
                refused = rest(srv, "/users/list", {}, timeout=2)
                raise AssertionError(f"served after SIGTERM: {refused}")
            sock.sendall(body[10:])
            answer = b""
            while b"\r\n\r\n" not in answer or not answer.endswith(b"}"):
                data = sock.recv(4096)
                if not data:
                    break
                answer += data
        finally:
            sock.close()
        assert answer.startswith(b"HTTP/1.1 200"), answer
        assert answer.endswith(b'{"code":0,"data":{}}'), answer
        rc = srv.wait(10)
        exited = time.monotonic()
        assert rc == 0, srv.stderr()
        assert exited - signalled < 5, exited - signalled
    finally:
        srv.stop()
    with MilvusClient(str(tmp_path / "flight.db"), token="root:Milvus") as client:
        assert "flight_u" in client.list_users()


def _serve_function_server(tmp_path: Path, name: str) -> Server:
    """A server run by ``milvus_rbac.serve(...)`` itself (not the command line), in a subprocess."""
    code = ("import sys; sys.modules['pymilvus'] = None; import milvus_rbac; "
            f"milvus_rbac.serve({str(tmp_path / name)!r}, '127.0.0.1', 0, log_level='error', password_hash='fast'); "
            "print('serve returned', flush=True)")
    return start_server("unused", launcher=[sys.executable, "-c", code, "--"], cwd=tmp_path)


def test_serve_function_returns_on_sigterm(tmp_path: Path) -> None:
    srv = _serve_function_server(tmp_path, "fn.db")
    try:
        assert ok(srv, "/roles/list", {}) == ["admin", "public"]
        srv.send_signal(signal.SIGTERM)
        assert srv.wait(10) == 0, srv.stderr()
        assert srv.proc.stdout is not None and srv.proc.stdout.read() == b"serve returned\n"
    finally:
        srv.stop()
    with pytest.raises(OSError):
        socket.create_connection((srv.host, srv.port), timeout=2).close()


def test_serve_function_returns_on_sigint(tmp_path: Path) -> None:
    srv = _serve_function_server(tmp_path, "fn.db")
    try:
        assert ok(srv, "/roles/list", {}) == ["admin", "public"]
        srv.send_signal(signal.SIGINT)
        rc = srv.wait(10)
        assert "KeyboardInterrupt" not in srv.stderr()
        assert rc == 0
    finally:
        srv.stop()


def test_signal_right_after_announcement_is_graceful(tmp_path: Path) -> None:
    codes: List[Any] = []

    def one(i: int) -> None:
        proc, _ = spawn(str(tmp_path / f"race{i}.db"), "--password-hash", "fast", "--log-level", "error",
                        cwd=tmp_path, stderr_path=tmp_path / f"race{i}.stderr")
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if line.startswith(b"milvus-rbac serving"):
                proc.send_signal(signal.SIGTERM)
            codes.append(proc.wait(20))
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
            if proc.stdout is not None:
                proc.stdout.close()

    # Up to 3 batches of 8 servers signalled as soon as they announce; stop at the first batch that shows the race
    # (on a 2-core machine most of the first 8 are killed).
    for batch in range(3):
        threads = [threading.Thread(target=one, args=(batch * 8 + i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        if any(code != 0 for code in codes):
            break
    assert codes == [0] * 24, codes


def test_port_in_use_is_a_clean_error(server_factory: ServerFactory, tmp_path: Path) -> None:
    first = server_factory()
    proc, stderr_path = spawn(":memory:", "--log-level", "error", cwd=tmp_path, port=first.port)
    try:
        rc = proc.wait(20)
        out = proc.stdout.read() if proc.stdout else b""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()
    assert rc == 1 and out == b""
    assert stderr_path.read_text().startswith(f"milvus-rbac: cannot serve on 127.0.0.1:{first.port}: cannot bind")
    assert "root" in ok(first, "/users/list", {})


def test_cli_settings_match_the_embedded_registry(server_factory: ServerFactory, tmp_path: Path) -> None:
    flags = ["--profile", "milvus-2.5", "--max-roles", "3", "--max-users", "3", "--super-user", "boss"]
    srv = server_factory(*flags, env={"MILVUS_RBAC_ROOT_PASSWORD": "S3cret-pw"})
    assert rest(srv, "/users/list", {}).status == 401  # root:Milvus is not root's password
    token = "root:S3cret-pw"
    embedded = MilvusClient(str(tmp_path / "embedded.db"), token=token, profile="milvus-2.5", max_roles=3,
                            max_users=3, super_users=["boss"], root_password="S3cret-pw", password_hash="fast")
    try:
        steps = [
            ("/roles/create", {"roleName": "r1"}, lambda: embedded.create_role("r1")),
            ("/roles/create", {"roleName": "r2"}, lambda: embedded.create_role("r2")),
            ("/users/create", {"userName": "boss", "password": "abcdef"}, lambda: embedded.create_user("boss", "abcdef")),
            ("/users/create", {"userName": "u2", "password": "abcdef"}, lambda: embedded.create_user("u2", "abcdef")),
            ("/users/create", {"userName": "u3", "password": "abcdef"}, lambda: embedded.create_user("u3", "abcdef")),
            ("/users/create", {"userName": "u4", "password": "a"}, lambda: embedded.create_user("u4", "a")),
        ]
        for path, body, call in steps:
            try:
                call()
                want: Dict[str, Any] = {"code": 0, "data": {}}
            except Exception as err:  # noqa: BLE001
                want = {"code": err.code, "message": err.message}  # type: ignore[attr-defined]
            assert rest(srv, path, body, token=token).json() == want, path
        # A super user (with the privilege to change passwords) changes another user's without the old one.
        ok(srv, "/users/grant_role", {"userName": "boss", "roleName": "admin"}, token=token)
        ok(srv, "/users/update_password", {"userName": "u2", "password": "whatever", "newPassword": "ghijkl"},
           token="boss:abcdef")
        assert ok(srv, "/users/describe", {"userName": "u2"}, token="u2:ghijkl") == []
    finally:
        embedded.close()


def test_no_authorization_flag(server_factory: ServerFactory) -> None:
    srv = server_factory("--no-authorization")
    assert ok(srv, "/roles/create", {"roleName": "anon_r"}, token=None) == {}
    assert ok(srv, "/users/list", {}, token=None) == ["root"]
    assert ok(srv, "/users/list", {}, token="anyone:anything") == ["root"]


def test_request_log_holds_no_secrets(server_factory: ServerFactory) -> None:
    srv = server_factory("--log-level", "info")
    secret = "Zz9!secret-pw"
    ok(srv, "/users/create", {"userName": "log_u", "password": secret})
    ok(srv, "/users/update_password", {"userName": "log_u", "password": secret, "newPassword": secret + "2"})
    rest(srv, "/users/list", {}, token=f"log_u:{secret}2")
    rest(srv, "/users/list", {}, token="root:wrong-Milvus")
    log = srv.stderr()
    assert "/v2/vectordb/users/create 200" in log
    assert secret not in log and "Milvus" not in log


#: x86_64's nanosleep and clock_nanosleep: SQLite's busy handler sleeps between its tries for a lock.
SLEEP_SYSCALLS = {35, 230}


def sleeping_threads(pid: int) -> List[int]:
    """The threads of process `pid` asleep in a timed sleep right now (Linux's /proc/PID/task/TID/syscall)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            call = (task / "syscall").read_text().split()
        except OSError:  # the thread ended meanwhile
            continue
        if call and call[0].isdigit() and int(call[0]) in SLEEP_SYSCALLS:
            found.append(int(task.name))
    return found


def wait_until_asleep(pid: int, thread: Optional[int] = None, timeout: float = 20.0) -> None:
    """Wait until a thread of `pid` (`thread`, if given) sleeps: a write waiting for another process's lock does,
    in SQLite's busy handler. Explicit, where a fixed pause would let a slow writer go unproven."""
    if platform.machine() != "x86_64":
        pytest.skip("the sleeping thread is recognised by x86_64 system call numbers")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        asleep = sleeping_threads(pid)
        if (thread in asleep) if thread is not None else asleep:
            return
        time.sleep(0.005)
    pytest.fail(f"no thread of {pid} waited for the lock within {timeout} s")


@contextlib.contextmanager
def write_lock_held_by_another_process(db: Path) -> Iterator[None]:
    """Hold `db`'s write lock (BEGIN IMMEDIATE) in another process for the duration. Another process, always:
    two SQLite libraries in one process (Python's and ours) do not see each other's locks."""
    blocker = subprocess.Popen(
        [sys.executable, "-c", "import sqlite3, sys; c = sqlite3.connect(sys.argv[1], isolation_level=None); "
         "c.execute('BEGIN IMMEDIATE'); print('locked', flush=True); sys.stdin.readline(); c.execute('ROLLBACK')",
         str(db)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert blocker.stdout is not None and blocker.stdin is not None
    try:
        assert blocker.stdout.readline() == "locked\n"
        yield
    finally:
        blocker.stdin.write("\n")
        blocker.stdin.close()
        blocker.wait(timeout=30)


def test_reads_do_not_wait_behind_a_blocked_write(server_factory: ServerFactory, tmp_path: Path) -> None:
    """Another process holds the registry's write lock: a write request waits for it (busy timeout), and reads
    sent meanwhile are answered at once, from the last commit."""
    db = tmp_path / "locked.db"
    srv = server_factory(db=str(db))
    ok(srv, "/users/create", {"userName": "before", "password": "P@ssw0rd1"})
    write: Dict[str, Any] = {}
    with write_lock_held_by_another_process(db):
        assert sleeping_threads(srv.pid) == [], "the proof below needs a server with no thread asleep"
        writer = threading.Thread(target=lambda: write.update(
            reply=rest(srv, "/users/create", {"userName": "during", "password": "P@ssw0rd1"})))
        writer.start()
        wait_until_asleep(srv.pid)  # the write request is now waiting for the lock
        started = time.monotonic()
        for _ in range(20):
            assert sorted(ok(srv, "/users/list")) == ["before", "root"]
            assert ok(srv, "/users/describe", {"userName": "before"}) == []
        reads_took = time.monotonic() - started
        assert "reply" not in write, "the write went through while another process held the lock"
        assert reads_took < 5.0, f"40 reads took {reads_took:.1f} s beside a blocked write"
    writer.join(timeout=30)
    assert write["reply"].json() == {"code": 0, "data": {}}
    assert sorted(ok(srv, "/users/list")) == ["before", "during", "root"]


def test_embedded_reads_do_not_wait_behind_a_blocked_write(tmp_path: Path) -> None:
    """The same in one process: a thread's write waits for another process's lock, other threads read on."""
    db = tmp_path / "locked.db"
    client = MilvusClient(str(db), token="root:Milvus", password_hash="fast")
    with write_lock_held_by_another_process(db):
        native: Dict[str, int] = {}

        def write() -> None:
            native["id"] = threading.get_native_id()
            client.create_role("during")

        writer = threading.Thread(target=write)
        writer.start()
        while "id" not in native:
            time.sleep(0.001)
        wait_until_asleep(os.getpid(), native["id"])  # the write is now waiting for the lock
        started = time.monotonic()
        for _ in range(20):
            assert client.list_roles() == ["admin", "public"]
            assert client.describe_user("root")["roles"] == ()
        assert writer.is_alive(), "the write went through while another process held the lock"
        assert time.monotonic() - started < 5.0
    writer.join(timeout=30)
    assert client.list_roles() == ["admin", "during", "public"]
