"""`milvus-rbac serve` speaks Milvus's gRPC protocol on its REST port (issue 13): pymilvus, unmodified, works
against it as against a Milvus server.

- the walk-through of Milvus's "Create Users & Roles" page, through `pymilvus.MilvusClient`;
- errors as Milvus sends them: a `Status` with code, legacy `error_code` and reason; `UNAUTHENTICATED` for bad
  credentials; `PERMISSION_DENIED` for a missing privilege;
- every conformance case through pymilvus against the server, with the answers the real Milvus 2.3.5 gave;
- the RPCs pymilvus does not call (SelectRole with users, BackupRBAC, RestoreRBAC, undecodable passwords),
  through raw calls with pymilvus's own generated messages;
- RPCs that are not served answer at once with a Milvus status saying so; unknown methods with UNIMPLEMENTED.
"""

from __future__ import annotations

import base64
import time
from typing import Any, Dict, Iterator, List

import pytest
from conformance_clients import CONFORMANCE, ClientOfServer
from server_fixtures import (
    Server,
    ServerFactory,
    module_server,
    ok,
    server_factory,  # noqa: F401  (fixture)
)

pymilvus = pytest.importorskip("pymilvus")
grpc = pytest.importorskip("grpc")
from pymilvus.grpc_gen import common_pb2, milvus_pb2  # noqa: E402

ROOT = "root:Milvus"
SERVICE = "/milvus.proto.milvus.MilvusService/"


pytestmark = pytest.mark.usefixtures("quiet_pymilvus")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from module_server(tmp_path_factory, "grpc", "--profile", "milvus-2.4", "--password-hash", "fast")


def client(server: Server, token: str = ROOT) -> Any:
    return pymilvus.MilvusClient(uri=server.url, token=token, dedicated=True)


def raw_call(server: Server, rpc: str, request: Any, response_type: Any, token: str = ROOT) -> Any:
    """One call with pymilvus's generated messages, outside pymilvus's client."""
    with grpc.insecure_channel(f"{server.host}:{server.port}") as channel:
        call = channel.unary_unary(
            SERVICE + rpc,
            request_serializer=lambda message: message.SerializeToString(),
            response_deserializer=response_type.FromString,
        )
        metadata = [("authorization", base64.b64encode(token.encode()).decode())]
        return call(request, metadata=metadata, timeout=10)


def test_walk_through_of_the_milvus_page(server_factory: ServerFactory) -> None:  # noqa: F811
    srv = server_factory("--password-hash", "fast")
    c = client(srv)
    try:
        c.create_user(user_name="user_1", password="P@ssw0rd")
        c.update_password(user_name="user_1", old_password="P@ssw0rd", new_password="NewP@ssw0rd")
        assert c.list_users() == ["root", "user_1"]
        c.create_role(role_name="role_a")
        assert c.list_roles() == ["admin", "public", "role_a"]
        c.grant_role("user_1", "role_a")
        assert c.describe_user("user_1") == {"user_name": "user_1", "roles": ("role_a",), "description": ""}
        c.grant_privilege("role_a", "Collection", "Search", "books")
        assert c.describe_role("role_a")["privileges"] == [{
            "object_type": "Collection", "object_name": "books", "db_name": "default", "role_name": "role_a",
            "privilege": "Search", "grantor_name": "root"}]
        # The new password works, the old one no longer does.
        client(srv, "user_1:NewP@ssw0rd").close()
        with pytest.raises(pymilvus.MilvusException):
            client(srv, "user_1:P@ssw0rd")
    finally:
        c.close()
    # What pymilvus did is what the registry holds.
    assert ok(srv, "/v2/vectordb/users/list", {}, token=ROOT) == ["root", "user_1"]


def test_errors_carry_milvus_code_legacy_code_and_reason(server: Server) -> None:
    c = client(server)
    try:
        with pytest.raises(pymilvus.MilvusException) as info:
            c.create_user("1bad", "P@ssw0rd")
        assert info.value.code == 1100
        assert info.value.compatible_code == common_pb2.IllegalArgument
        assert info.value.message.startswith("invalid user name 1bad, the first character must be a letter")
        c.create_role("dup_role")
        with pytest.raises(pymilvus.MilvusException) as info:
            c.create_role("dup_role")
        assert (info.value.code, info.value.message) == (65535, 'role [name:"dup_role"] already exists')
        assert info.value.compatible_code == common_pb2.CreateRoleFailure
    finally:
        c.drop_role("dup_role")
        c.close()


def test_bad_credentials_are_unauthenticated(server: Server) -> None:
    with pytest.raises(grpc.RpcError) as info:
        raw_call(server, "ListCredUsers", milvus_pb2.ListCredUsersRequest(), milvus_pb2.ListCredUsersResponse,
                 token="root:wrong")
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert info.value.details() == "auth check failure, please check username and password are correct"
    # pymilvus refuses to construct the client, as against Milvus.
    with pytest.raises(pymilvus.MilvusException) as refused:
        client(server, "root:wrong")
    assert refused.value.code == 2


def test_a_missing_privilege_is_permission_denied(server: Server) -> None:
    root = client(server)
    root.create_user("plain_user", "P@ssw0rd")
    try:
        plain = client(server, "plain_user:P@ssw0rd")
        with pytest.raises(grpc.RpcError) as info:
            plain.list_users()
        assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert info.value.details() == "PrivilegeSelectOwnership: permission deny to plain_user"
        # Self-service stays allowed.
        assert plain.describe_user("plain_user")["user_name"] == "plain_user"
        plain.close()
    finally:
        root.drop_user("plain_user")
        root.close()


def test_select_role_with_users_as_the_node_sdk_asks(server: Server) -> None:
    root = client(server)
    root.create_user("member", "P@ssw0rd")
    root.create_role("club")
    root.grant_role("member", "club")
    try:
        answer = raw_call(server, "SelectRole", milvus_pb2.SelectRoleRequest(include_user_info=True),
                          milvus_pb2.SelectRoleResponse)
        assert answer.status.code == 0 and answer.status.error_code == 0
        users = {result.role.name: [u.name for u in result.users] for result in answer.results}
        assert users == {"admin": [], "public": [], "club": ["member"]}
        unknown = raw_call(server, "SelectRole",
                           milvus_pb2.SelectRoleRequest(role=milvus_pb2.RoleEntity(name="nope")),
                           milvus_pb2.SelectRoleResponse)
        assert unknown.status.code == 0 and list(unknown.results) == []
    finally:
        root.revoke_role("member", "club")
        root.drop_role("club")
        root.drop_user("member")
        root.close()


def test_undecodable_password_is_a_status_not_a_crash(server: Server) -> None:
    answer = raw_call(server, "CreateCredential",
                      milvus_pb2.CreateCredentialRequest(username="u_b64", password="not base64!"),
                      common_pb2.Status)
    assert answer.code == 65535 and answer.error_code == common_pb2.CreateCredentialFailure
    assert "base64" in answer.reason
    assert "u_b64" not in client(server).list_users()


def test_backup_and_restore_rbac_over_grpc(server_factory: ServerFactory) -> None:  # noqa: F811
    source = server_factory("--password-hash", "fast")
    c = client(source)
    c.create_user("kept", "P@ssw0rd")
    c.create_role("keeper")
    c.grant_role("kept", "keeper")
    c.grant_privilege("keeper", "Collection", "Query", "books")
    c.close()
    backup = raw_call(source, "BackupRBAC", milvus_pb2.BackupRBACMetaRequest(), milvus_pb2.BackupRBACMetaResponse)
    assert backup.status.code == 0
    meta = backup.RBAC_meta
    assert [u.user for u in meta.users] == ["kept"] and meta.users[0].password.startswith("$argon2id$")
    assert [g.grantor.privilege.name for g in meta.grants] == ["Query"]

    target = server_factory("--password-hash", "fast")
    restored = raw_call(target, "RestoreRBAC", milvus_pb2.RestoreRBACMetaRequest(RBAC_meta=meta), common_pb2.Status)
    assert restored.code == 0, restored.reason
    # The user keeps its password, its role and the role's grant.
    kept = client(target, "kept:P@ssw0rd")
    assert kept.describe_user("kept")["roles"] == ("keeper",)
    kept.close()
    again = raw_call(target, "RestoreRBAC", milvus_pb2.RestoreRBACMetaRequest(RBAC_meta=meta), common_pb2.Status)
    assert again.code != 0 and again.reason, "a second restore conflicts, all or nothing"


def test_privilege_groups_follow_the_profile(server: Server, server_factory: ServerFactory) -> None:  # noqa: F811
    # Milvus 2.4 has no privilege groups: the call fails with a status at once.
    c = client(server)
    with pytest.raises(pymilvus.MilvusException) as info:
        c.create_privilege_group("readers")
    assert "2.5" in info.value.message
    c.close()
    newer = server_factory("--profile", "milvus-2.5", "--password-hash", "fast")
    c = client(newer)
    try:
        c.create_privilege_group("readers")
        c.add_privileges_to_group("readers", ["Search", "Query"])
        groups = {g["privilege_group"]: list(g["privileges"]) for g in c.list_privilege_groups()}
        assert sorted(groups["readers"]) == ["Query", "Search"]
        c.grant_privilege_v2("public", "readers", "books", db_name="default")
        assert any(p["privilege"] == "readers" for p in c.describe_role("public")["privileges"])
    finally:
        c.close()


def test_rpcs_not_served_answer_at_once_with_a_status(server: Server) -> None:
    c = client(server)
    try:
        started = time.monotonic()
        with pytest.raises(pymilvus.MilvusException) as info:
            c.describe_collection("books")
        assert info.value.code == 10 and "not DescribeCollection" in info.value.message
        with pytest.raises(pymilvus.MilvusException) as info:
            c.drop_collection("books")  # an RPC whose answer is a bare Status
        assert info.value.code == 10
        assert time.monotonic() - started < 10
        assert c.list_users() == ["root"]
    finally:
        c.close()
    with pytest.raises(grpc.RpcError) as unknown:
        raw_call(server, "NoSuchMethod", milvus_pb2.GetVersionRequest(), milvus_pb2.GetVersionResponse)
    assert unknown.value.code() == grpc.StatusCode.UNIMPLEMENTED
    # Another service (the Node.js SDK 3.0's telemetry): UNIMPLEMENTED naming the service, as Milvus answers.
    with grpc.insecure_channel(f"{server.host}:{server.port}") as channel:
        heartbeat = channel.unary_unary("/milvus.proto.milvus.ClientTelemetryService/ClientHeartbeat",
                                        request_serializer=lambda message: message.SerializeToString(),
                                        response_deserializer=common_pb2.Status.FromString)
        with pytest.raises(grpc.RpcError) as other:
            heartbeat(common_pb2.Status(), timeout=10)
    assert other.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert other.value.details() == "unknown service milvus.proto.milvus.ClientTelemetryService"


def test_connect_time_rpcs(server: Server) -> None:
    connected = raw_call(server, "Connect", milvus_pb2.ConnectRequest(), milvus_pb2.ConnectResponse)
    assert connected.status.code == 0 and connected.identifier != 0
    assert connected.server_info.build_tags.startswith("v2.4")
    again = raw_call(server, "Connect", milvus_pb2.ConnectRequest(), milvus_pb2.ConnectResponse)
    assert again.identifier != connected.identifier
    health = raw_call(server, "CheckHealth", milvus_pb2.CheckHealthRequest(), milvus_pb2.CheckHealthResponse)
    assert health.isHealthy
    databases = raw_call(server, "ListDatabases", milvus_pb2.ListDatabasesRequest(),
                         milvus_pb2.ListDatabasesResponse)
    assert list(databases.db_names) == ["default"]
    c = client(server)
    assert c.get_server_version().startswith("v2.4")
    c.close()


# ---------------------------------------------------------------------------------------------------------------
# Every conformance case, through pymilvus against the server


def _conformance_params() -> List[Any]:
    return [pytest.param(case, id=f"served:{topic}:{case['name']}") for topic, case in CONFORMANCE.ALL_CASES]


@pytest.fixture(scope="module")
def conformance_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    profile = CONFORMANCE.RBAC_OPTIONS["profile"]
    yield from module_server(tmp_path_factory, "grpc-conformance", "--profile", profile, "--password-hash", "fast")


@pytest.mark.parametrize("case", _conformance_params())
def test_conformance_case_through_pymilvus(conformance_server: Server, case: Dict[str, Any]) -> None:
    """The real server's answers, given by ours to the same pymilvus (client artifacts included)."""
    backend = CONFORMANCE.MilvusBackend(pymilvus, grpc, conformance_server.url)
    runner = CONFORMANCE.Runner(backend)
    try:
        runner.run_case(case)
    finally:
        runner.close_all()
        backend.clean(runner.root_password)


# ---------------------------------------------------------------------------------------------------------------
# Our client against a real Milvus (`milvus_uri`: MILVUS_URI or the session's own 2.3.5): the conformance cases
# through `milvus_rbac.MilvusClient(uri)` (gRPC), with the answers pymilvus gets from the same server.


def _real_cases() -> List[Any]:
    unsupported = CONFORMANCE.UNSUPPORTED_TAGS["milvus_rbac"]
    return [pytest.param(case, id=f"ours-to-milvus:{topic}:{case['name']}",
                         marks=[pytest.mark.skip(reason="a pymilvus artifact")]
                         if set(case.get("tags", ())) & unsupported else [])
            for topic, case in CONFORMANCE.ALL_CASES]


@pytest.mark.parametrize("case", _real_cases())
def test_conformance_case_through_our_client_to_milvus(case: Dict[str, Any], milvus_uri: str) -> None:
    uri = milvus_uri
    import milvus_rbac

    backend = ClientOfServer(milvus_rbac, uri, "grpc", settle_seconds=CONFORMANCE.SETTLE_SECONDS)
    cleaner = CONFORMANCE.MilvusBackend(pymilvus, grpc, uri)
    runner = CONFORMANCE.Runner(backend)
    try:
        runner.run_case(case)
    finally:
        runner.close_all()
        cleaner.clean(runner.root_password)
