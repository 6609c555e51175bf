"""Profile `milvus-3.0` (issue 17, point 1): each difference from `milvus-2.6` in the README's profile table, checked
on both profiles, embedded and through a server with the SDKs of the 3.0 line (pymilvus 3.0.2, the Node.js SDK
3.0.6).

The facts are those of Milvus's 3.0 branch right after its v3.0.0 version bump (milvus#52016; pkg/util/constant.go,
internal/proxy/privilege_interceptor.go) and milvus-proto v3.0.0."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any, Dict, List

import pytest
from server_fixtures import ServerFactory, server_factory  # noqa: F401 (a fixture)
from test_sdk_node import NODE_DIR, node_sdks  # noqa: F401 (a fixture)

from milvus_rbac import MilvusClient, MilvusException, PermissionDeniedError

PW = "P@ssw0rd1"
NEW_IN_3_0 = ["AlterCollectionSchema", "RefreshExternalCollection", "CreateSnapshot", "DropSnapshot",
              "DescribeSnapshot", "RestoreSnapshot", "ListSnapshots", "PinSnapshotData", "UnpinSnapshotData",
              "RestoreExternalSnapshot", "ExportSnapshot", "Expr"]


def groups(client: MilvusClient) -> Dict[str, List[str]]:
    return {group["privilege_group"]: list(group["privileges"]) for group in client.list_privilege_groups()}


def test_the_built_in_groups_of_3_0(client: Any) -> None:
    old, new = groups(client(profile="milvus-2.6")), groups(client(profile="milvus-3.0"))
    assert [len(new[name]) for name in new] == [8, 16, 33, 2, 3, 6, 16, 34, 37]
    # RenameCollection moved from ClusterAdmin to DatabaseAdmin.
    assert "RenameCollection" in old["ClusterAdmin"] and "RenameCollection" not in old["DatabaseAdmin"]
    assert "RenameCollection" not in new["ClusterAdmin"] and new["DatabaseAdmin"][-1] == "RenameCollection"
    # Snapshots, external collections, file resources and Expr joined, at the end of each group.
    assert new["CollectionReadOnly"][-2:] == ["DescribeSnapshot", "ListSnapshots"]
    assert new["CollectionAdmin"][-1] == "RestoreSnapshot"
    assert new["ClusterReadOnly"][-1] == "ListFileResources"
    assert new["ClusterReadWrite"][-4:] == ["AddFileResource", "RemoveFileResource", "PinSnapshotData",
                                            "UnpinSnapshotData"]
    assert new["ClusterAdmin"][-3:] == ["Expr", "RestoreExternalSnapshot", "ExportSnapshot"]


@pytest.mark.parametrize("privilege", NEW_IN_3_0)
def test_the_privileges_new_in_3_0_are_grantable_only_there(client: Any, privilege: str) -> None:
    object_type = "Global" if privilege in ("PinSnapshotData", "UnpinSnapshotData", "RestoreExternalSnapshot",
                                            "ExportSnapshot", "Expr") else "Collection"
    for profile, known in (("milvus-2.6", False), ("milvus-3.0", True)):
        registry = client(profile=profile)
        registry.create_role("r")
        if known:
            registry.grant_privilege("r", object_type, privilege, "*")
            assert registry.describe_role("r")["privileges"][0]["privilege"] == privilege
        else:
            with pytest.raises(MilvusException, match=rf"not found the privilege name\[{privilege}\]"):
                registry.grant_privilege("r", object_type, privilege, "*")


def test_master_only_privileges_stay_out_of_3_0(client: Any) -> None:
    registry = client(profile="milvus-3.0")
    registry.create_role("r")
    for privilege in ("ImportBinlog", "SkipRLS", "ViewRLS", "ManageRLS"):
        with pytest.raises(MilvusException, match="not found the privilege name"):
            registry.grant_privilege("r", "Global", privilege, "*")


def test_legacy_read_write_lost_rename_collection_in_3_0(client: Any) -> None:
    for profile, allowed in (("milvus-2.6", True), ("milvus-3.0", False)):
        registry = client(profile=profile)
        registry.create_user("u", PW)
        registry.create_role("r")
        registry.grant_role("u", "r")
        registry.grant_privilege("r", "Collection", "ReadWrite", "*")
        assert registry.check_privilege("u", "RenameCollection", "Global", "*") is allowed, profile
        assert registry.check_privilege("u", "CreateSnapshot", "Collection", "c") is (profile == "milvus-3.0")


def _user_with_grant(db: Path, profile: str, grant_db: str) -> MilvusClient:
    """A registry with user u, whose role may CreateOwnership through a v1 grant in database `grant_db`."""
    root = MilvusClient(str(db), token="root:Milvus", profile=profile, password_hash="fast")
    root.create_user("u", PW)
    root.create_role("maker")
    root.grant_role("u", "maker")
    root.grant_privilege("maker", "Global", "CreateOwnership", "*", db_name=grant_db)
    return root


@pytest.mark.parametrize("grant_db,allowed_26,allowed_30", [("", True, False), ("*", True, True)])
def test_3_0_checks_cluster_privileges_in_the_star_database(
    tmp_path: Path, grant_db: str, allowed_26: bool, allowed_30: bool
) -> None:
    """Milvus 3.0 authorizes cluster-level privileges (ClusterAdmin's: every RBAC call's own) against database `*`
    (milvus#50690): a grant in `default` no longer lets its holder create roles."""
    for profile, allowed in (("milvus-2.6", allowed_26), ("milvus-3.0", allowed_30)):
        db = tmp_path / f"{profile}-{grant_db or 'default'}.db"
        root = _user_with_grant(db, profile, grant_db)
        user = MilvusClient(str(db), token=f"u:{PW}")
        explained = root.explain_privilege("u", "CreateOwnership")
        assert explained["allowed"] is allowed, (profile, explained)
        if allowed:
            user.create_role(f"by_u_{profile[-3:].replace('.', '_')}")
        else:
            with pytest.raises(PermissionDeniedError) as denied:
                user.create_role("by_u")
            assert denied.value.message == "PrivilegeCreateOwnership: permission deny to u in the `*` database"
            assert explained["db_name"] == "*"
    # Database-level privileges are still checked in the caller's database.
    root = MilvusClient(str(tmp_path / "db.db"), token="root:Milvus", profile="milvus-3.0", password_hash="fast")
    root.create_user("v", PW)
    root.create_role("db_admin")
    root.grant_role("v", "db_admin")
    root.grant_privilege_v2("db_admin", "DatabaseAdmin", "*", db_name="db1")
    assert root.check_privilege("v", "RenameCollection", "Global", "*", db_name="db1")
    assert not root.check_privilege("v", "RenameCollection", "Global", "*", db_name="db2")


def test_a_3_0_backup_with_snapshot_grants_restores_only_on_3_0(client: Any) -> None:
    source = client(profile="milvus-3.0")
    source.create_role("snapshots")
    source.grant_privilege_v2("snapshots", "CreateSnapshot", "books", db_name="default")
    backup = source.backup_rbac()
    client(profile="milvus-3.0").restore_rbac(backup)
    with pytest.raises(MilvusException, match="CreateSnapshot"):
        client(profile="milvus-2.6").restore_rbac(backup)


# --- through a server, with the SDKs of the 3.0 line ---------------------------------------------------------


def test_pymilvus_3_0_against_a_3_0_server(server_factory: ServerFactory, quiet_pymilvus: None) -> None:  # noqa: F811
    pymilvus = pytest.importorskip("pymilvus")
    srv = server_factory("--profile", "milvus-3.0")
    root = pymilvus.MilvusClient(uri=srv.url, token="root:Milvus")
    assert root.get_server_version() == "v3.0.1"
    root.create_user("user_1", PW)
    root.create_role("role_a")
    root.grant_role("user_1", "role_a")
    root.grant_privilege("role_a", "Global", "CreateOwnership", "*")  # in `default`: not enough on 3.0
    assert root.list_users() == ["root", "user_1"]
    assert root.list_roles() == ["admin", "public", "role_a"]
    user = pymilvus.MilvusClient(uri=srv.url, token=f"user_1:{PW}")
    with pytest.raises(Exception) as denied:  # pymilvus lets gRPC's PERMISSION_DENIED through as it is
        user.create_role("role_b")
    assert "PrivilegeCreateOwnership: permission deny to user_1 in the `*` database" in str(denied.value)
    root.grant_privilege("role_a", "Global", "CreateOwnership", "*", db_name="*")
    user.create_role("role_b")
    assert "role_b" in root.list_roles()
    snapshot = [g for g in root.list_privilege_groups() if g["privilege_group"] == "CollectionAdmin"][0]
    assert snapshot["privileges"][-1] == "RestoreSnapshot"


NODE_SCRIPT = r"""
const { MilvusClient } = require('milvus30');
(async () => {
  const [address] = process.argv.slice(2);
  const root = new MilvusClient({ address, token: 'root:Milvus' });
  const out = {};
  out.create = (await root.createRole({ roleName: 'role_d', description: 'first words' })).error_code;
  out.alter = (await root.alterRole({ roleName: 'role_d', description: 'second words' })).error_code;
  const described = await root.describeRole({ roleName: 'role_d' });
  out.role_description = described.results && described.results[0] ? described.results[0].role.description : null;
  out.createUser = (await root.createUser({ username: 'user_d', password: 'P@ssw0rd1', description: 'a user' })).error_code;
  const user = await root.describeUser({ username: 'user_d' });
  out.user_description = user.results && user.results[0] ? user.results[0].description : null;
  out.grant = (await root.grantPrivilegeV2({ role: 'role_d', privilege: 'ExportSnapshot', db_name: '*',
                                              collection_name: '*' })).error_code;
  const grants = await root.listGrants({ roleName: 'role_d', dbName: '*' });
  out.grants = (grants.entities || []).map(e => e.grantor.privilege.name);
  console.log(JSON.stringify(out));
  process.exit(0);
})().catch(err => { console.log(JSON.stringify({ error: String(err) })); process.exit(1); });
"""


def test_the_node_sdk_3_0_against_a_3_0_server(
    server_factory: ServerFactory, node_sdks: Path, tmp_path: Path  # noqa: F811
) -> None:
    """Descriptions, alterRole and a 3.0-only privilege through the Node.js SDK 3.0.6."""
    srv = server_factory("--profile", "milvus-3.0")
    script = NODE_DIR / f".profile30-{tmp_path.name}.js"
    script.write_text(NODE_SCRIPT)
    try:
        done = subprocess.run(["node", str(script), f"{srv.host}:{srv.port}"], cwd=NODE_DIR, capture_output=True,
                              text=True, timeout=120)
    finally:
        script.unlink()
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {
        "create": "Success", "alter": "Success", "role_description": "second words", "createUser": "Success",
        "user_description": "a user", "grant": "Success", "grants": ["ExportSnapshot"],
    }
