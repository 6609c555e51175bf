"""Milvus's own RBAC backup, both ways (issue 17, point 2): `RBACMeta` as `BackupRBAC` answers it (protobuf bytes)
and as milvus-backup writes it (JSON) restores into a registry; users keep their passwords, whose bcrypt hashes
(made as Milvus makes them) are verified at login and replaced by argon2id hashes in that login's upgrade;
`backup_rbac(format="milvus")` and `export --format milvus` write it back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict

import bcrypt
import pytest
from pymilvus.grpc_gen import milvus_pb2

from milvus_rbac import AuthenticationError, MilvusClient, MilvusException
from milvus_rbac.cli import main

#: Milvus hashes passwords with Go's bcrypt.MinCost (milvus:pkg/util/crypto/crypto.go `PasswordEncrypt`).
MILVUS_BCRYPT_COST = 4
PASSWORDS = {"alice": "Al1ce-pass", "bob": "B0b-pass!"}


def milvus_hash(password: str) -> str:
    """A password hash as Milvus stores it: Go's bcrypt writes the $2a$ prefix."""
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(MILVUS_BCRYPT_COST, prefix=b"2a")).decode()


def rbac_meta() -> milvus_pb2.RBACMeta:
    """An RBACMeta as a 2.6 or 3.0 server's BackupRBAC answers it: users but root, roles but admin and public."""
    def grant(role: str, object_type: str, name: str, privilege: str, db: str = "default") -> Any:
        return milvus_pb2.GrantEntity(
            role=milvus_pb2.RoleEntity(name=role), object=milvus_pb2.ObjectEntity(name=object_type), object_name=name,
            db_name=db, grantor=milvus_pb2.GrantorEntity(user=milvus_pb2.UserEntity(name="root"),
                                                        privilege=milvus_pb2.PrivilegeEntity(name=privilege)))

    return milvus_pb2.RBACMeta(
        users=[
            milvus_pb2.UserInfo(user="alice", password=milvus_hash(PASSWORDS["alice"]),
                                roles=[milvus_pb2.RoleEntity(name="reader")]),
            milvus_pb2.UserInfo(user="bob", password=milvus_hash(PASSWORDS["bob"]),
                                roles=[milvus_pb2.RoleEntity(name="reader"), milvus_pb2.RoleEntity(name="writer")]),
        ],
        roles=[milvus_pb2.RoleEntity(name="reader"), milvus_pb2.RoleEntity(name="writer")],
        grants=[
            grant("reader", "Collection", "books", "Search"),
            grant("reader", "Global", "*", "readers"),
            grant("writer", "Collection", "*", "Insert", db="db1"),
        ],
        privilege_groups=[milvus_pb2.PrivilegeGroupInfo(
            group_name="readers", privileges=[milvus_pb2.PrivilegeEntity(name="Query"),
                                              milvus_pb2.PrivilegeEntity(name="Search")])],
    )


def go_json(meta: milvus_pb2.RBACMeta) -> Dict[str, Any]:
    """RBACMeta as milvus-backup's Go code writes it into backup_meta.json (snake_case, empty fields left out)."""
    def entity(name: str) -> Dict[str, str]:
        return {"name": name}

    return {
        "users": [{"user": u.user, "password": u.password, "roles": [entity(r.name) for r in u.roles]}
                  for u in meta.users],
        "roles": [entity(r.name) for r in meta.roles],
        "grants": [{"role": entity(g.role.name), "object": entity(g.object.name), "object_name": g.object_name,
                    "grantor": {"user": entity(g.grantor.user.name), "privilege": entity(g.grantor.privilege.name)},
                    "db_name": g.db_name} for g in meta.grants],
        "privilege_groups": [{"group_name": p.group_name, "privileges": [entity(x.name) for x in p.privileges]}
                             for p in meta.privilege_groups],
    }


def stored_hash(client: MilvusClient, user: str) -> str:
    return next(u["password_hash"] for u in client.backup_rbac()["users"] if u["user_name"] == user)


def check_restored(db: Path) -> None:
    """What every form of the backup must give: Milvus's grants and memberships, its users' own passwords."""
    root = MilvusClient(str(db), token="root:Milvus")
    assert root.list_users() == ["alice", "bob", "root"]
    assert root.describe_user("bob")["roles"] == ("reader", "writer")
    assert root.check_privilege("alice", "Query", "Collection", "anything")  # through the custom group
    assert root.check_privilege("alice", "Search", "Collection", "books")
    assert not root.check_privilege("alice", "Insert", "Collection", "books")
    assert root.check_privilege("bob", "Insert", "Collection", "books", db_name="db1")
    assert stored_hash(root, "alice").startswith("$2a$04$")

    # The original passwords log in; the login replaces Milvus's bcrypt hash with an argon2id one.
    with MilvusClient(str(db), token=f"alice:{PASSWORDS['alice']}"):
        pass
    assert stored_hash(root, "alice").startswith("$argon2id$")
    assert stored_hash(root, "bob").startswith("$2a$04$"), "bob has not logged in yet"
    with pytest.raises(AuthenticationError):
        MilvusClient(str(db), token="bob:wrong-pass")
    assert stored_hash(root, "bob").startswith("$2a$04$"), "a wrong password upgrades nothing"
    with MilvusClient(str(db), token=f"alice:{PASSWORDS['alice']}"):  # and still logs in after the upgrade
        pass
    assert [r["operation"] for r in root.audit() if r["operation"] == "rehash_password"] == ["rehash_password"]


def test_a_milvus_backup_as_protobuf_restores_and_its_passwords_log_in(tmp_path: Path) -> None:
    db = tmp_path / "rbac.db"
    with MilvusClient(str(db), token="root:Milvus", profile="milvus-2.6", password_hash="fast") as root:
        root.restore_rbac(rbac_meta().SerializeToString())
    check_restored(db)


@pytest.mark.parametrize("wrapped", [False, True])
def test_a_milvus_backup_json_restores_from_python_and_the_command(tmp_path: Path, wrapped: bool,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    meta = go_json(rbac_meta())
    document = {"id": "backup-1", "name": "nightly", "rbac_meta": meta} if wrapped else meta
    db = tmp_path / "rbac.db"
    MilvusClient(str(db), token="root:Milvus", profile="milvus-2.6", password_hash="fast").close()
    path = tmp_path / "backup_meta.json"
    path.write_text(json.dumps(document))
    monkeypatch.setenv("MILVUS_RBAC_TOKEN", "root:Milvus")
    assert main(["--db", str(db), "import", str(path)]) == 0
    check_restored(db)


def test_the_command_imports_protobuf_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "rbac.db"
    MilvusClient(str(db), token="root:Milvus", profile="milvus-2.6", password_hash="fast").close()
    path = tmp_path / "rbac.pb"
    path.write_bytes(rbac_meta().SerializeToString())
    monkeypatch.setenv("MILVUS_RBAC_TOKEN", "root:Milvus")
    assert main(["--db", str(db), "import", str(path)]) == 0
    assert "imported Milvus's RBACMeta" in capsys.readouterr().out
    check_restored(db)


def test_protobuf_that_looks_like_json_after_white_space_is_read_as_protobuf(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first field 123 bytes long begins the bytes with "\\n{": white space, then a brace. Only JSON begins with
    white space other than a newline, or with the brace itself."""
    roles = ["reader_with_a_long_name", "writer_with_a_long_name"]
    meta = milvus_pb2.RBACMeta(
        users=[milvus_pb2.UserInfo(user="alice", password=milvus_hash(PASSWORDS["alice"]),
                                   roles=[milvus_pb2.RoleEntity(name=name) for name in roles])],
        roles=[milvus_pb2.RoleEntity(name=name) for name in roles])
    data = meta.SerializeToString()
    assert data[:2] == b"\n{"
    db = tmp_path / "rbac.db"
    MilvusClient(str(db), token="root:Milvus", profile="milvus-2.6", password_hash="fast").close()
    (tmp_path / "rbac.pb").write_bytes(data)
    monkeypatch.setenv("MILVUS_RBAC_TOKEN", "root:Milvus")
    assert main(["--db", str(db), "import", str(tmp_path / "rbac.pb")]) == 0
    assert MilvusClient(str(db), token="root:Milvus").describe_user("alice")["roles"] == tuple(roles)


def test_milvus_conflict_rules_hold_and_nothing_is_half_restored(tmp_path: Path) -> None:
    root = MilvusClient(str(tmp_path / "rbac.db"), token="root:Milvus", profile="milvus-2.6", password_hash="fast")
    root.create_role("writer")
    with pytest.raises(MilvusException, match=r"role \[writer\] already exists"):
        root.restore_rbac(rbac_meta().SerializeToString())
    assert root.list_users() == ["root"] and "reader" not in root.list_roles()


@pytest.mark.parametrize(
    "meta,words",
    [
        (b"\xff\xff\xff", "not an RBACMeta message"),
        ("{", "invalid RBAC backup: not JSON"),
        ({"users": [{"user": "u", "password": "$2a$13$" + "a" * 53}]}, "cost 13 beyond the accepted 12"),
        ({"users": [{"user": "u", "password": "plain text"}]}, "neither an argon2id PHC string nor a bcrypt hash"),
        ({"users": [{"user": "u"}]}, "neither an argon2id PHC string nor a bcrypt hash"),
        # JSON text holding JSON text again is read one level deep only.
        (json.dumps(json.dumps({"users": []})), "a JSON string, not a JSON object"),
    ],
)
def test_malformed_milvus_backups_are_refused_with_the_reason(client: Any, meta: Any, words: str) -> None:
    registry = client(profile="milvus-2.6")
    with pytest.raises(MilvusException) as refused:
        registry.restore_rbac(meta)
    assert words in refused.value.message, refused.value.message
    assert registry.list_users() == ["root"]


def test_backups_write_back_in_milvus_form(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`format="milvus"` gives milvus-backup's JSON: it restores here again, Milvus's bcrypt hashes kept as they
    came (users who have not logged in here keep passwords Milvus can check)."""
    meta = rbac_meta()
    source = MilvusClient(str(tmp_path / "a.db"), token="root:Milvus", profile="milvus-2.6", password_hash="fast")
    source.restore_rbac(meta.SerializeToString())
    written = source.backup_rbac(format="milvus")
    expected = go_json(meta)
    # The same document as milvus-backup's, the hashes as they came; grants in the registry's order.
    assert {key: value for key, value in written.items() if key != "grants"} == {
        key: value for key, value in expected.items() if key != "grants"}
    assert sorted(json.dumps(g, sort_keys=True) for g in written["grants"]) == sorted(
        json.dumps(g, sort_keys=True) for g in expected["grants"])
    with pytest.raises(MilvusException, match="`format` value yaml is illegal"):
        source.backup_rbac(format="yaml")

    monkeypatch.setenv("MILVUS_RBAC_TOKEN", "root:Milvus")
    exported = tmp_path / "milvus.json"
    assert main(["--db", str(tmp_path / "a.db"), "export", "--format", "milvus", str(exported)]) == 0
    assert json.loads(exported.read_text()) == written
    MilvusClient(str(tmp_path / "b.db"), token="root:Milvus", profile="milvus-2.6", password_hash="fast").close()
    assert main(["--db", str(tmp_path / "b.db"), "import", str(exported)]) == 0
    check_restored(tmp_path / "b.db")


# --- copy from a live cluster without BackupRBAC: the real Milvus 2.3.5 --------------------------------------

COPY_USERS = ("cfcopy_user_a", "cfcopy_user_b")
COPY_ROLES = ("cfcopy_reader", "cfcopy_writer")
COPY_DB = "cfcopy_db"


def live_state(pymilvus_client: Any) -> Dict[str, Any]:
    """What a server holds, read through pymilvus: roles but admin and public, memberships, and every grant of
    those roles in every database and in `*`."""
    databases = [*pymilvus_client.list_databases(), "*"]
    roles = sorted(r for r in pymilvus_client.list_roles() if r not in ("admin", "public"))
    grants = set()
    for role in roles:
        for db in databases:
            for grant in pymilvus_client.describe_role(role, db_name=db)["privileges"]:
                grants.add((role, grant["object_type"], grant["db_name"], grant["object_name"], grant["privilege"],
                            grant["grantor_name"]))
    members = {(user, role) for user in pymilvus_client.list_users() if user != "root"
               for role in pymilvus_client.describe_user(user)["roles"]}
    return {"roles": roles, "grants": sorted(grants), "members": sorted(members),
            "users": sorted(u for u in pymilvus_client.list_users() if u != "root")}


@pytest.fixture
def cluster_with_access(milvus_uri: str, quiet_pymilvus: None) -> Any:
    pymilvus = pytest.importorskip("pymilvus")
    cluster = pymilvus.MilvusClient(uri=milvus_uri, token="root:Milvus")

    def clean() -> None:
        for user in COPY_USERS:
            if user in cluster.list_users():
                for role in cluster.describe_user(user)["roles"]:
                    cluster.revoke_role(user, role)
                cluster.drop_user(user)
        for role in COPY_ROLES:
            if role in cluster.list_roles():
                for db in [*cluster.list_databases(), "*"]:
                    for grant in cluster.describe_role(role, db_name=db)["privileges"]:
                        cluster.revoke_privilege(role, grant["object_type"], grant["privilege"],
                                                 grant["object_name"], db_name=grant["db_name"])
                cluster.drop_role(role)
        if COPY_DB in cluster.list_databases():
            cluster.drop_database(COPY_DB)

    clean()
    cluster.create_database(COPY_DB)
    for user in COPY_USERS:
        cluster.create_user(user, "P@ssw0rd1")
    for role in COPY_ROLES:
        cluster.create_role(role)
    cluster.grant_role(COPY_USERS[0], COPY_ROLES[0])
    cluster.grant_role(COPY_USERS[1], COPY_ROLES[0])
    cluster.grant_role(COPY_USERS[1], COPY_ROLES[1])
    cluster.grant_privilege(COPY_ROLES[0], "Collection", "Search", "books")
    cluster.grant_privilege(COPY_ROLES[0], "Global", "DescribeCollection", "*")
    cluster.grant_privilege(COPY_ROLES[1], "Collection", "Insert", "*", db_name=COPY_DB)
    cluster.grant_privilege(COPY_ROLES[1], "Collection", "Load", "books")  # brings GetLoadState, ...
    yield cluster
    clean()


def test_copy_from_a_real_milvus_2_3_5_reproduces_roles_grants_and_memberships(
    cluster_with_access: Any, milvus_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Milvus 2.3.5 has no BackupRBAC: the copy reads it with ListCredUsers, SelectUser, SelectRole, ListDatabases
    and SelectGrant, and its users arrive without passwords."""
    monkeypatch.setenv("MILVUS_RBAC_TOKEN", "root:Milvus")
    db = tmp_path / "copy.db"
    assert main(["copy", milvus_uri, str(db), "--profile", "milvus-2.4"]) == 0
    out = capsys.readouterr().out
    assert "came without a password" in out and "users passwd NAME --reset" in out
    expected = live_state(cluster_with_access)
    assert {"cfcopy_reader", "cfcopy_writer"} <= set(expected["roles"])
    assert any(grant[2] == COPY_DB for grant in expected["grants"])
    # The registry holds exactly what the cluster holds, read through pymilvus on our side too.
    copied = MilvusClient(str(db), token="root:Milvus")
    ours = {
        "roles": sorted(r for r in copied.list_roles() if r not in ("admin", "public")),
        "grants": sorted({(role, g["object_type"], g["db_name"], g["object_name"], g["privilege"], g["grantor_name"])
                          for role in copied.list_roles() if role not in ("admin", "public")
                          for db_name in [*cluster_with_access.list_databases(), "*"]
                          for g in copied.describe_role(role, db_name=db_name)["privileges"]}),
        "members": sorted({(u, r) for u in copied.list_users() if u != "root"
                           for r in copied.describe_user(u)["roles"]}),
        "users": sorted(u for u in copied.list_users() if u != "root"),
    }
    assert ours == expected
    with pytest.raises(AuthenticationError):
        MilvusClient(str(db), token=f"{COPY_USERS[0]}:P@ssw0rd1")
