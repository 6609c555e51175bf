"""backup_rbac / restore_rbac: an extension standing for Milvus's BackupRBAC / RestoreRBAC RPCs (not in pymilvus).

References are to /work/shared/milvus-facts.md ("P1 §x" = Part 1 section): §6.13 (what a backup holds, the restore
checks and their order), §3 (BackupRBAC excludes root, admin and public), §10 (what is stored).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from rbac_testing import PW, PW2

from milvus_rbac import AuthenticationError, MilvusException, ParamError

OPERATE_PRIVILEGE_FAILURE = 41  # P1 §6.13: the legacy code of restore failures (2.5)
GROUP_PROFILES = ("docs", "milvus-2.5", "milvus-2.6", "milvus-3.0")
DESCRIPTION_PROFILES = ("docs", "milvus-2.6", "milvus-3.0")


def snapshot(c: Any, profile: str) -> dict[str, Any]:
    """Everything a client can see of the registry (grants of every database)."""
    state: dict[str, Any] = {
        "users": {user: c.describe_user(user) for user in c.list_users()},
        # Every database the scenarios use ("*" alone lists only `*` grants in milvus-2.4, as on 2.3.5).
        "roles": {
            role: [c.describe_role(role, db_name=db) for db in ("", "*", "archive")] for role in c.list_roles()
        },
        "roles_default_db": {role: c.describe_role(role) for role in c.list_roles()},
    }
    if profile in GROUP_PROFILES:
        state["groups"] = c.list_privilege_groups()
    return state


def populate(c: Any, profile: str, granter: Any = None) -> None:
    """Users (with explicit memberships, admin and public included), roles, v1 grants in several databases, and in
    2.5+ custom groups and v2 grants; `granter` (a client of user `g`, holding admin) grants some of them."""
    for user in ("alice", "bob", "carol"):
        c.create_user(user, PW)
    for role in ("reader", "writer", "empty_role"):
        c.create_role(role)
    c.grant_role("alice", "reader")
    c.grant_role("alice", "writer")
    c.grant_role("bob", "admin")
    c.grant_role("bob", "public")
    c.grant_privilege("reader", "Collection", "Search", "books")
    c.grant_privilege("reader", "Collection", "Query", "*", db_name="*")
    c.grant_privilege("reader", "Collection", "Load", "books", db_name="archive")
    c.grant_privilege("reader", "Global", "DescribeCollection", "*")
    c.grant_privilege("reader", "User", "SelectUser", "alice")
    c.grant_privilege("writer", "Collection", "*", "books")
    c.grant_privilege("writer", "Global", "*", "*", db_name="archive")
    if granter is not None:
        granter.grant_privilege("writer", "Collection", "Insert", "books")
    if profile in GROUP_PROFILES:
        c.create_privilege_group("ops")
        c.add_privileges_to_group("ops", ["Load", "Release"])
        c.create_privilege_group("unused")
        c.grant_privilege_v2("writer", "ops", "*", db_name="*")
        c.grant_privilege_v2("writer", "CollectionReadOnly", "books", db_name="archive")
        c.grant_privilege_v2("reader", "ClusterReadOnly", "*", db_name="*")
    if profile in DESCRIPTION_PROFILES:
        c.update_user("carol", "a user with a description")
        c.alter_role("reader", "reads books")


# ------------------------------------------------------------------------------------------------
# What a backup holds


def test_backup_excludes_root_admin_public_and_keeps_explicit_memberships(client, profile):
    """P1 §3 and §6.13 (kv_catalog.go BackupRBAC): users but root (with their password hashes and roles), roles but
    admin and public, the grants of the other roles, the custom groups."""
    c = client(profile=profile)
    c.create_user("u1", PW)
    c.create_role("r1")
    c.grant_role("u1", "r1")
    c.grant_role("u1", "admin")
    c.grant_role("u1", "public")
    c.grant_role("root", "r1")
    c.grant_privilege("r1", "Collection", "Search", "col")
    c.grant_privilege("admin", "Collection", "Query", "col")
    c.grant_privilege("public", "Global", "CreateCollection", "*")
    backup = c.backup_rbac()
    assert list(backup) == ["version", "users", "roles", "grants", "privilege_groups"]
    assert backup["version"] == 1
    assert [u["user_name"] for u in backup["users"]] == ["u1"]
    (user,) = backup["users"]
    assert user["roles"] == ["admin", "public", "r1"]
    assert user["password_hash"].startswith("$argon2id$v=19$")
    assert PW not in json.dumps(backup)
    assert backup["roles"] == [{"role_name": "r1", "description": ""}]
    assert backup["grants"] == [
        {"object_type": "Collection", "object_name": "col", "db_name": "default", "role_name": "r1",
         "privilege": "Search", "grantor_name": "root"},
    ]
    assert backup["privilege_groups"] == []


def test_an_untouched_registry_backs_up_empty(client, profile):
    c = client(profile=profile)
    assert c.backup_rbac() == {"version": 1, "users": [], "roles": [], "grants": [], "privilege_groups": []}


def test_backup_is_json_serialisable(client, profile):
    c = client(profile=profile)
    populate(c, profile)
    backup = c.backup_rbac()
    text = json.dumps(backup)
    assert json.loads(text) == backup
    restored = client(profile=profile)
    assert restored.restore_rbac(json.loads(text)) is None
    assert snapshot(restored, profile) == snapshot(c, profile)


@pytest.mark.parametrize("profile", GROUP_PROFILES)
def test_backup_holds_groups_and_v2_grants_unexpanded(client, profile):
    c = client(profile=profile)
    c.create_role("r")
    c.create_privilege_group("ops")
    c.add_privileges_to_group("ops", ["Release", "Load"])
    c.grant_privilege_v2("r", "ops", "*", db_name="*")
    backup = c.backup_rbac()
    assert backup["privilege_groups"] == [{"privilege_group": "ops", "privileges": ["Load", "Release"]}]
    assert [(g["privilege"], g["object_type"], g["object_name"], g["db_name"]) for g in backup["grants"]] == [
        ("ops", "Global", "*", "*")
    ]


# ------------------------------------------------------------------------------------------------
# Round trips


def test_restore_into_an_empty_registry_reproduces_everything(client, profile, tmp_path):
    """Issue 3 point 4: describe_user, describe_role and list_privilege_groups are identical after a restore into an
    empty registry; the restored users log in with their passwords (hashes travel as they are); grantors are
    kept."""
    source_uri = str(tmp_path / "source.db")
    source = client(profile=profile, uri=source_uri)
    source.create_user("g", PW)
    source.grant_role("g", "admin")
    populate(source, profile, granter=client(profile=profile, uri=source_uri, token=f"g:{PW}"))
    backup = source.backup_rbac()
    assert any(grant["grantor_name"] == "g" for grant in backup["grants"])

    target_uri = str(tmp_path / "target.db")
    target = client(profile=profile, uri=target_uri)
    assert target.restore_rbac(backup) is None
    assert snapshot(target, profile) == snapshot(source, profile)
    assert target.backup_rbac() == backup
    alice = client(profile=profile, uri=target_uri, token=f"alice:{PW}")
    assert alice.describe_user("alice") == source.describe_user("alice")
    with pytest.raises(AuthenticationError):
        client(profile=profile, uri=target_uri, token=f"alice:{PW2}")


@pytest.mark.parametrize("profile", GROUP_PROFILES)
def test_backup_drop_everything_restore(client, profile):
    """The same registry: back up, drop every user, role (force_drop, 2.5+) and group, restore."""
    c = client(profile=profile)
    populate(c, profile)
    before = snapshot(c, profile)
    backup = c.backup_rbac()
    for user in c.list_users():
        if user != "root":
            c.drop_user(user)
    for role in c.list_roles():
        if role not in ("admin", "public"):
            c.drop_role(role, force_drop=True)
    for group in c.list_privilege_groups()[:-9]:
        c.drop_privilege_group(group["privilege_group"])
    assert c.list_users() == ["root"] and c.list_roles() == ["admin", "public"]
    c.restore_rbac(backup)
    assert snapshot(c, profile) == before


def test_backup_drop_everything_restore_in_milvus_24(client):
    """milvus-2.4 ignores force_drop (P2), so the grants are revoked before the roles are dropped."""
    c = client(profile="milvus-2.4")
    populate(c, "milvus-2.4")
    before = snapshot(c, "milvus-2.4")
    backup = c.backup_rbac()
    for user in ("alice", "bob", "carol"):
        c.drop_user(user)
    for role in ("reader", "writer", "empty_role"):
        for db in ("", "archive"):
            for g in c.describe_role(role, db_name=db)["privileges"]:
                c.revoke_privilege(role, g["object_type"], g["privilege"], g["object_name"], db_name=g["db_name"])
        c.drop_role(role)
    c.restore_rbac(backup)
    assert snapshot(c, "milvus-2.4") == before


def test_restoring_an_empty_backup_changes_nothing(client, profile):
    c = client(profile=profile)
    populate(c, profile)
    before = snapshot(c, profile)
    c.restore_rbac({"version": 1, "users": [], "roles": [], "grants": [], "privilege_groups": []})
    assert snapshot(c, profile) == before


# ------------------------------------------------------------------------------------------------
# Conflicts: Milvus's messages, all or nothing


def _conflict(profile: str, message: str) -> str:
    """P1 §6.13: 2.6 checks first (CheckIfRBACRestorable) and prefixes its check failures (P1 §6)."""
    return f"failed to check if rbac restorable: {message}" if profile in ("milvus-2.6", "milvus-3.0") else message


def _expect_refused(c: Any, profile: str, backup: dict[str, Any], message: str) -> None:
    before = snapshot(c, profile)
    with pytest.raises(MilvusException) as info:
        c.restore_rbac(backup)
    err = info.value
    assert not isinstance(err, ParamError)
    assert (err.code, err.message) == (65535, _conflict(profile, message))
    assert int(err.compatible_code) == OPERATE_PRIVILEGE_FAILURE
    assert snapshot(c, profile) == before  # all or nothing


@pytest.fixture
def backup_of(client):
    def make(profile: str) -> dict[str, Any]:
        source = client(profile=profile)
        populate(source, profile)
        return source.backup_rbac()

    return make


def test_restore_refused_when_a_role_exists(client, profile, backup_of):
    backup = backup_of(profile)
    c = client(profile=profile)
    c.create_role("writer")
    _expect_refused(c, profile, backup, "role [writer] already exists")


def test_restore_refused_when_a_user_exists(client, profile, backup_of):
    """Users are checked last (P1 §6.13 order: roles, groups, grants, users), so everything else was fine: a
    partial restore would show here."""
    backup = backup_of(profile)
    c = client(profile=profile)
    c.create_user("carol", PW)
    _expect_refused(c, profile, backup, "user [carol] already exists")
    assert c.list_roles() == ["admin", "public"]


@pytest.mark.parametrize("profile", GROUP_PROFILES)
def test_restore_refused_when_a_group_exists(client, profile, backup_of):
    backup = backup_of(profile)
    c = client(profile=profile)
    c.create_privilege_group("unused")
    _expect_refused(c, profile, backup, "privilege group [unused] already exists")


def test_restore_refused_for_an_unknown_privilege(client, profile, backup_of):
    """P1 §6.13: 2.5 words every unknown name as a group (`privilege group [p] does not exist`), 2.6 as a privilege."""
    backup = copy.deepcopy(backup_of(profile))
    backup["grants"][-1]["privilege"] = "Bogus"
    what = "privilege" if profile in ("milvus-2.6", "milvus-3.0") else "privilege group"
    _expect_refused(client(profile=profile), profile, backup, f"{what} [Bogus] does not exist")


@pytest.mark.parametrize("profile", GROUP_PROFILES)
def test_restore_refused_for_a_group_that_is_neither_in_the_backup_nor_in_the_registry(client, profile, backup_of):
    backup = copy.deepcopy(backup_of(profile))
    backup["privilege_groups"] = [g for g in backup["privilege_groups"] if g["privilege_group"] != "ops"]
    what = "privilege" if profile in ("milvus-2.6", "milvus-3.0") else "privilege group"
    _expect_refused(client(profile=profile), profile, backup, f"{what} [ops] does not exist")
    # the group existing in the registry is enough
    c = client(profile=profile)
    c.create_privilege_group("ops")
    c.restore_rbac(backup)
    assert any(g["privilege"] == "ops" for g in c.describe_role("writer", db_name="*")["privileges"])


def test_restore_refused_for_a_membership_of_a_missing_role(client, profile, backup_of):
    """P1 §6.13 (2.6): `role [r] does not exist` for a user's role that is neither in the backup nor in the
    registry."""
    backup = copy.deepcopy(backup_of(profile))
    backup["users"][0]["roles"].append("nope")
    _expect_refused(client(profile=profile), profile, backup, "role [nope] does not exist")


def test_restore_accepts_roles_that_exist_in_the_registry(client, profile):
    source = client(profile=profile)
    source.create_user("u", PW)
    source.create_role("shared")
    source.grant_role("u", "shared")
    backup = source.backup_rbac()
    backup["roles"] = []
    target = client(profile=profile)
    target.create_role("shared")
    target.restore_rbac(backup)
    assert target.describe_user("u")["roles"] == ("shared",)


def test_the_first_conflict_in_milvus_order_is_reported(client, profile, backup_of):
    """P1 §6.13: roles are checked before groups, grants and users."""
    backup = copy.deepcopy(backup_of(profile))
    backup["grants"][0]["privilege"] = "Bogus"
    c = client(profile=profile)
    c.create_user("alice", PW)
    c.create_role("reader")
    _expect_refused(c, profile, backup, "role [reader] already exists")


def test_a_refused_restore_can_be_retried_once_the_conflict_is_gone(client, profile, backup_of):
    backup = backup_of(profile)
    c = client(profile=profile)
    c.create_user("bob", PW)
    _expect_refused(c, profile, backup, "user [bob] already exists")
    c.drop_user("bob")
    c.restore_rbac(backup)
    assert c.backup_rbac() == backup


# ------------------------------------------------------------------------------------------------
# Malformed backups

# A well-formed argon2id PHC string asking for 4 GiB of memory.
GREEDY_HASH = "$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$" + "A" * 43


def _malformed() -> list[tuple[str, Any]]:
    good_user = {"user_name": "u", "password_hash": "", "description": "", "roles": []}
    base = {"version": 1, "users": [], "roles": [], "grants": [], "privilege_groups": []}

    def with_(**changes: Any) -> dict[str, Any]:
        return {**base, **changes}

    def without(key: str) -> dict[str, Any]:
        return {k: v for k, v in base.items() if k != key}

    grant = {"object_type": "Collection", "object_name": "c", "db_name": "default", "role_name": "admin",
             "privilege": "Search", "grantor_name": "root"}
    return [
        ("none", None),
        ("list", []),
        ("string", json.dumps(base)[:-1]),  # (a JSON text is read as the dict it holds)
        ("no version", without("version")),
        ("version 2", with_(version=2)),
        ("version as text", with_(version="1")),
        ("no users", without("users")),
        ("no roles", without("roles")),
        ("no grants", without("grants")),
        ("no groups", without("privilege_groups")),
        ("users not a list", with_(users="u")),
        ("user not a dict", with_(users=["u"])),
        ("user without hash", with_(users=[{"user_name": "u", "description": "", "roles": []}])),
        ("user with a plain password", with_(users=[{**good_user, "password_hash": PW}])),
        ("user with a plain bcrypt-looking text", with_(users=[{**good_user, "password_hash": "$2a$04$" + "x" * 5}])),
        # Milvus's bcrypt hashes are kept (test_milvus_backup.py), but not at costs a login could not afford
        ("user with a costly bcrypt hash", with_(users=[{**good_user, "password_hash": "$2a$13$" + "x" * 53}])),
        # argon2id costs beyond the bounds: the next login would allocate 4 GiB (or run 1,000 passes)
        ("user with a greedy hash", with_(users=[{**good_user, "password_hash": GREEDY_HASH}])),
        ("user with a slow hash", with_(users=[{**good_user, "password_hash": GREEDY_HASH.replace(
            "m=4194304,t=1", "m=64,t=1000")}])),
        ("user roles not a list", with_(users=[{**good_user, "roles": "admin"}])),
        ("user name not text", with_(users=[{**good_user, "user_name": 7}])),
        ("role without name", with_(roles=[{"description": ""}])),
        ("grant without privilege", with_(grants=[{k: v for k, v in grant.items() if k != "privilege"}])),
        ("grant field not text", with_(grants=[{**grant, "db_name": None}])),
        ("group without privileges", with_(privilege_groups=[{"privilege_group": "g"}])),
        ("group privileges not a list", with_(privilege_groups=[{"privilege_group": "g", "privileges": "Load"}])),
    ]


@pytest.mark.parametrize("name,meta", _malformed(), ids=[name for name, _ in _malformed()])
def test_malformed_backups_are_param_errors(client, profile, name, meta):
    """A dict that backup_rbac cannot have written is refused before anything changes, as a client-side check
    (ParamError, code 1)."""
    c = client(profile=profile)
    populate(c, profile)
    before = snapshot(c, profile)
    with pytest.raises(ParamError) as info:
        c.restore_rbac(meta)
    assert info.value.code == 1
    assert snapshot(c, profile) == before


@pytest.mark.parametrize("section", ["roles", "users"])
def test_duplicate_entries_are_param_errors(client, section):
    source = client(profile="milvus-2.5")
    source.create_user("u", PW)
    source.create_role("r")
    backup = source.backup_rbac()
    backup[section].append(backup[section][0])
    with pytest.raises(ParamError):
        client(profile="milvus-2.5").restore_rbac(backup)


def test_grant_with_an_unknown_object_type_is_refused(client):
    source = client(profile="milvus-2.5")
    source.create_role("r")
    backup = source.backup_rbac()
    backup["grants"].append({"object_type": "Bogus", "object_name": "c", "db_name": "default", "role_name": "r",
                             "privilege": "Search", "grantor_name": "root"})
    c = client(profile="milvus-2.5")
    with pytest.raises(MilvusException):
        c.restore_rbac(backup)
    assert c.list_roles() == ["admin", "public"]


def test_restoring_groups_into_milvus_24_is_refused(client):
    source = client(profile="milvus-2.5")
    source.create_role("r")
    source.create_privilege_group("ops")
    source.add_privileges_to_group("ops", ["Load"])
    source.grant_privilege_v2("r", "ops", "*", db_name="*")
    backup = source.backup_rbac()
    c = client(profile="milvus-2.4")
    with pytest.raises(MilvusException):
        c.restore_rbac(backup)
    assert c.list_roles() == ["admin", "public"]


# ------------------------------------------------------------------------------------------------
# Backups no registry of the profile could have written


def _empty_backup() -> dict[str, Any]:
    return {"version": 1, "users": [], "roles": [], "grants": [], "privilege_groups": []}


def test_a_boolean_version_is_not_version_1(client):
    c = client(profile="docs")
    backup = _empty_backup()
    backup["version"] = True
    with pytest.raises(ParamError):
        c.restore_rbac(backup)


def test_group_members_must_be_privileges_or_groups_of_the_backup(client):
    c = client(profile="milvus-2.5")
    backup = _empty_backup()
    backup["privilege_groups"] = [{"privilege_group": "ops", "privileges": ["Load", "NoSuchPrivilege"]}]
    with pytest.raises(ParamError) as info:
        c.restore_rbac(backup)
    assert "NoSuchPrivilege" in info.value.message
    assert c.list_privilege_groups()[0]["privilege_group"] == "ClusterReadOnly"


def test_invalid_group_names_are_refused(client):
    c = client(profile="milvus-2.5")
    backup = _empty_backup()
    backup["privilege_groups"] = [{"privilege_group": "1ops", "privileges": []}]
    with pytest.raises(MilvusException) as info:
        c.restore_rbac(backup)
    assert info.value.code == 1402


def test_descriptions_over_1024_bytes_are_refused(client):
    c = client(profile="milvus-2.6")
    backup = _empty_backup()
    backup["roles"] = [{"role_name": "r", "description": "d" * 1025}]
    with pytest.raises(MilvusException) as info:
        c.restore_rbac(backup)
    assert info.value.code == 1100
    assert c.list_roles() == ["admin", "public"]


def test_descriptions_are_dropped_where_the_profile_has_none(client):
    source = client(profile="milvus-2.6")
    source.create_role("r", description="readers")
    target = client(profile="milvus-2.4")
    target.restore_rbac(source.backup_rbac())
    assert target.describe_role("r")["description"] == ""
