"""Privilege groups (built-in and custom) and grant v2 (Milvus 2.5+), per profile.

References are to /work/shared/milvus-facts.md ("P1 §x" = Part 1 section, "P2" = Part 2, the real 2.3.5 server,
which has neither: every such call answers UNIMPLEMENTED there).
"""

from __future__ import annotations

from typing import Any

import pytest
from rbac_testing import expect_error

from milvus_rbac import MilvusException, ParamError

# Legacy error codes (P1 §7.2).
UNEXPECTED_ERROR = 1
ILLEGAL_ARGUMENT = 5
OPERATE_PRIVILEGE_FAILURE = 41
CREATE_PRIVILEGE_GROUP_FAILURE = 58
DROP_PRIVILEGE_GROUP_FAILURE = 59
OPERATE_PRIVILEGE_GROUP_FAILURE = 61

NOT_FOUND_ROLE = "not found the role, maybe the role isn't existed or internal system error"
GROUP_PROFILES = ["docs", "milvus-2.5", "milvus-2.6", "milvus-3.0"]

# P1 §4.6: the nine built-in groups in list order, each level's ReadWrite extending ReadOnly and Admin extending
# ReadWrite, for 2.5; then the 2.6 additions.
_CLUSTER_RO = ["ListDatabases", "SelectOwnership", "SelectUser", "DescribeResourceGroup", "ListResourceGroups",
               "ListPrivilegeGroups"]
_CLUSTER_RW = ["FlushAll", "TransferNode", "TransferReplica", "UpdateResourceGroups"]
_CLUSTER_ADMIN = ["BackupRBAC", "RestoreRBAC", "CreateDatabase", "DropDatabase", "CreateOwnership", "DropOwnership",
                  "ManageOwnership", "CreateResourceGroup", "DropResourceGroup", "UpdateUser", "RenameCollection",
                  "CreatePrivilegeGroup", "DropPrivilegeGroup", "OperatePrivilegeGroup"]
_DATABASE_RO = ["ShowCollections", "DescribeDatabase"]
_DATABASE_RW = ["AlterDatabase"]
_DATABASE_ADMIN = ["CreateCollection", "DropCollection"]
_COLLECTION_RO = ["Query", "Search", "IndexDetail", "GetFlushState", "GetLoadState", "GetLoadingProgress",
                  "HasPartition", "ShowPartitions", "DescribeCollection", "DescribeAlias", "GetStatistics",
                  "ListAliases"]
_COLLECTION_RW = ["Load", "Release", "Insert", "Delete", "Upsert", "Import", "Flush", "Compaction", "LoadBalance",
                  "CreateIndex", "DropIndex", "CreatePartition", "DropPartition"]
_COLLECTION_ADMIN = ["CreateAlias", "DropAlias"]


def _levels(ro: list[str], rw: list[str], admin: list[str]) -> list[list[str]]:
    return [ro, ro + rw, ro + rw + admin]


BUILTIN_25 = dict(zip(
    ["ClusterReadOnly", "ClusterReadWrite", "ClusterAdmin", "DatabaseReadOnly", "DatabaseReadWrite", "DatabaseAdmin",
     "CollectionReadOnly", "CollectionReadWrite", "CollectionAdmin"],
    _levels(_CLUSTER_RO, _CLUSTER_RW, _CLUSTER_ADMIN)
    + _levels(_DATABASE_RO, _DATABASE_RW, _DATABASE_ADMIN)
    + _levels(_COLLECTION_RO, _COLLECTION_RW, _COLLECTION_ADMIN),
))
BUILTIN_26 = dict(zip(
    BUILTIN_25,
    _levels(_CLUSTER_RO + ["GetReplicateConfiguration"], _CLUSTER_RW, _CLUSTER_ADMIN + ["UpdateReplicateConfiguration"])
    + _levels(_DATABASE_RO, _DATABASE_RW, _DATABASE_ADMIN)
    + _levels(_COLLECTION_RO + ["GetImportProgress", "ListImport"], _COLLECTION_RW + ["AddCollectionField"],
              _COLLECTION_ADMIN),
))


# Milvus 3.0 (docs/milvus-3.0-rbac.md): snapshots, external collections, file resources and Expr at each group's end;
# RenameCollection moved from ClusterAdmin to DatabaseAdmin.
BUILTIN_30 = dict(zip(
    BUILTIN_25,
    _levels(_CLUSTER_RO + ["GetReplicateConfiguration", "ListFileResources"],
            _CLUSTER_RW + ["AddFileResource", "RemoveFileResource", "PinSnapshotData", "UnpinSnapshotData"],
            [p for p in _CLUSTER_ADMIN if p != "RenameCollection"]
            + ["UpdateReplicateConfiguration", "Expr", "RestoreExternalSnapshot", "ExportSnapshot"])
    + _levels(_DATABASE_RO, _DATABASE_RW, _DATABASE_ADMIN + ["RenameCollection"])
    + _levels(_COLLECTION_RO + ["GetImportProgress", "ListImport", "DescribeSnapshot", "ListSnapshots"],
              _COLLECTION_RW + ["AddCollectionField", "AlterCollectionSchema", "RefreshExternalCollection",
                                "CreateSnapshot", "DropSnapshot"],
              _COLLECTION_ADMIN + ["RestoreSnapshot"]),
))


def builtin_groups(profile: str) -> list[dict[str, Any]]:
    # docs follows the 2.6 catalog
    members = {"milvus-2.5": BUILTIN_25, "milvus-3.0": BUILTIN_30}.get(profile, BUILTIN_26)
    return [{"privilege_group": name, "privileges": tuple(privileges)} for name, privileges in members.items()]


def prefixed(profile: str, context: str, message: str) -> str:
    """P1 §6: 2.6 wraps its coordinator's check failures as `failed to check if <op>: <msg>`."""
    return f"{context}: {message}" if profile in ("milvus-2.6", "milvus-3.0") else message


def common_check(profile: str, message: str) -> str:
    return prefixed(profile, "failed to operate privilege common check", message)


def expect(call: Any, *args: Any, code: int, message: str, compatible_code: int | None = None, **kwargs: Any):
    with pytest.raises(MilvusException) as info:
        call(*args, **kwargs)
    err = info.value
    assert not isinstance(err, ParamError)
    assert (err.code, err.message) == (code, message)
    if compatible_code is not None:
        assert int(err.compatible_code) == compatible_code
    return err


def grant(object_type: str, object_name: str, db_name: str, role: str, privilege: str, grantor: str = "root"):
    return {"object_type": object_type, "object_name": object_name, "db_name": db_name, "role_name": role,
            "privilege": privilege, "grantor_name": grantor}


def grants_of(c: Any, role: str, db_name: str = "*") -> list[dict[str, str]]:
    return list(c.describe_role(role, db_name=db_name)["privileges"])


def custom_groups(c: Any) -> list[tuple[str, tuple[str, ...]]]:
    return [(g["privilege_group"], g["privileges"]) for g in c.list_privilege_groups()[:-9]]


@pytest.fixture(params=GROUP_PROFILES)
def gprofile(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def c(client, gprofile):
    return client(profile=gprofile)


# ------------------------------------------------------------------------------------------------
# Not in milvus-2.4


def _calls_missing_in_24(c: Any) -> list[tuple[str, Any]]:
    return [
        ("create_privilege_group", lambda: c.create_privilege_group("g")),
        ("drop_privilege_group", lambda: c.drop_privilege_group("g")),
        ("list_privilege_groups", lambda: c.list_privilege_groups()),
        ("add_privileges_to_group", lambda: c.add_privileges_to_group("g", ["Load"])),
        ("remove_privileges_from_group", lambda: c.remove_privileges_from_group("g", ["Load"])),
        ("grant_privilege_v2", lambda: c.grant_privilege_v2("r", "Search", "col", db_name="default")),
        ("revoke_privilege_v2", lambda: c.revoke_privilege_v2("r", "Search", "col", db_name="default")),
    ]


def test_groups_and_grant_v2_are_not_in_milvus_24(client):
    """Issue 3 point 2, P2 ("Not available on 2.3.5 ... UNIMPLEMENTED"): a MilvusException that says so."""
    c = client(profile="milvus-2.4")
    c.create_role("r")
    for method, call in _calls_missing_in_24(c):
        with pytest.raises(MilvusException) as info:
            call()
        err = info.value
        assert not isinstance(err, ParamError)
        assert f"{method} is not available in profile milvus-2.4" in err.message
        assert "unknown method" in err.message
    assert c.describe_role("r")["privileges"] == []


def test_milvus_24_refuses_even_invalid_arguments_as_unavailable(client):
    """The call does not exist, so its arguments are never looked at (only pymilvus's own type checks run)."""
    c = client(profile="milvus-2.4")
    with pytest.raises(MilvusException, match="not available in profile milvus-2.4"):
        c.create_privilege_group("1-bad")
    with pytest.raises(MilvusException, match="not available in profile milvus-2.4"):
        c.grant_privilege_v2("nope", "Bogus", "col", db_name="bad-db")


# ------------------------------------------------------------------------------------------------
# Group names


def test_group_name_validation(c, gprofile):
    """P1 §2.4 ValidatePrivilegeGroupName (no TrimSpace): empty, too long and a bad first character are 1402 with
    Milvus's misused wrapper; other bad characters 1100. Applies to create, drop, add and remove."""
    long_name = "g" * 256
    cases = [
        (" ", 1402, " : invalid privilege group name[privilegeGroup=the first character of a privilege group name "
                    "%s must be an underscore or letter]"),
        ("1g", 1402, "1g: invalid privilege group name[privilegeGroup=the first character of a privilege group "
                     "name %s must be an underscore or letter]"),
        (" g", 1402, " g: invalid privilege group name[privilegeGroup=the first character of a privilege group "
                     "name %s must be an underscore or letter]"),
        (long_name, 1402, f"{long_name}->255: invalid privilege group name[privilegeGroup=the length of a "
                          "privilege group name %s must be less than %s characters]"),
        ("g-1", 1100, "privilege group name g-1 can only contain numbers, letters and underscores: invalid parameter"),
        ("g$", 1100, "privilege group name g$ can only contain numbers, letters and underscores: invalid parameter"),
        ("g ", 1100, "privilege group name g  can only contain numbers, letters and underscores: invalid parameter"),
    ]
    calls = [
        c.create_privilege_group,
        c.drop_privilege_group,
        lambda name: c.add_privileges_to_group(name, ["Bo-gus"]),
        lambda name: c.remove_privileges_from_group(name, ["Load"]),
    ]
    for call in calls:
        for name, code, message in cases:
            legacy = UNEXPECTED_ERROR if code == 1402 else ILLEGAL_ARGUMENT
            expect(call, name, code=code, message=message, compatible_code=legacy)
    assert custom_groups(c) == []


def test_group_name_limits_and_characters_accepted(c, gprofile):
    """P1 §2.4: `^[A-Za-z_][A-Za-z0-9_]{0,254}$`."""
    for name in ("_a", "g" * 255, "G1_x", "a"):
        c.create_privilege_group(name)
    assert [name for name, _ in custom_groups(c)] == ["G1_x", "_a", "a", "g" * 255]


def test_empty_group_name_is_a_client_param_error(c, gprofile):
    """P1 §11.2: pymilvus requires a non-empty `privilege_group` string."""
    for call in (c.create_privilege_group, c.drop_privilege_group):
        expect_error(call, "", code=1, message="`privilege_group` value  is illegal", exc_type=ParamError)
    expect_error(c.add_privileges_to_group, "", ["Load"], code=1, message="`privilege_group` value  is illegal",
                 exc_type=ParamError)


@pytest.mark.parametrize("privileges", [[], [""], "Load"])
def test_privileges_must_be_a_non_empty_list_of_names(c, gprofile, privileges):
    """P1 §11.2: `privileges` must be a non-empty list of non-empty strings (ParamError, code 1)."""
    c.create_privilege_group("g")
    for call in (c.add_privileges_to_group, c.remove_privileges_from_group):
        with pytest.raises(ParamError) as info:
            call("g", privileges)
        assert info.value.code == 1


@pytest.mark.parametrize(
    "name",
    ["Search", "All", "CreateCollection", "UpdateUser", "ReadOnly", "ReadWrite", "Admin", "ClusterAdmin",
     "CollectionReadOnly", "DatabaseReadWrite", "ListPrivilegeGroups"],
)
def test_group_names_clash_with_builtin_names(c, gprofile, name):
    """P1 §6.12 CreatePrivilegeGroup: any built-in privilege or group name (legacy ones included): 1100,
    CreatePrivilegeGroupFailure (58); 2.6 prefixed."""
    message = prefixed(gprofile, "failed to check if privilege group creatable",
                       f"privilege group name [{name}] is defined by built in privileges or privilege groups in "
                       "system: invalid parameter")
    expect(c.create_privilege_group, name, code=1100, message=message,
           compatible_code=CREATE_PRIVILEGE_GROUP_FAILURE)


def test_names_of_later_lines_are_free_in_25(client):
    """P1 §4.3: AddCollectionField is a 2.6 privilege; in 2.5 it is no built-in name."""
    c = client(profile="milvus-2.5")
    c.create_privilege_group("AddCollectionField")
    assert custom_groups(c) == [("AddCollectionField", ())]


def test_duplicate_custom_group(c, gprofile):
    """P1 §6.12: `privilege group name [g] is defined by users: invalid parameter` (1100, 58)."""
    c.create_privilege_group("ops")
    message = prefixed(gprofile, "failed to check if privilege group creatable",
                       "privilege group name [ops] is defined by users: invalid parameter")
    expect(c.create_privilege_group, "ops", code=1100, message=message,
           compatible_code=CREATE_PRIVILEGE_GROUP_FAILURE)
    c.create_privilege_group("Ops")  # names are case-sensitive
    assert custom_groups(c) == [("Ops", ()), ("ops", ())]


# ------------------------------------------------------------------------------------------------
# Members


def test_add_and_remove_privileges(c, gprofile):
    """P1 §6.12: members are stored as a set (listed in byte order here); adding an existing member or removing an
    absent one is a no-op."""
    c.create_privilege_group("ops")
    assert c.add_privileges_to_group("ops", ["Release", "Load", "Search"]) is None
    c.add_privileges_to_group("ops", ["Load", "Query"])
    assert custom_groups(c) == [("ops", ("Load", "Query", "Release", "Search"))]
    assert c.remove_privileges_from_group("ops", ["Load", "Insert"]) is None
    assert custom_groups(c) == [("ops", ("Query", "Release", "Search"))]
    c.remove_privileges_from_group("ops", ["Query", "Release", "Search"])
    assert custom_groups(c) == [("ops", ())]


def test_operate_on_a_missing_or_builtin_group(c, gprofile):
    """P1 §6.12 OperatePrivilegeGroup: 2.5 words a built-in target and a missing group differently; 2.6 says
    `there is no privilege group name [g] defined in system to operate` for both (1100, 61)."""
    context = "failed to check if privilege group alterable"
    if gprofile in ("milvus-2.6", "milvus-3.0"):
        missing = f"{context}: there is no privilege group name [nope] defined in system to operate: invalid parameter"
        builtin = (f"{context}: there is no privilege group name [ClusterAdmin] defined in system to operate: "
                   "invalid parameter")
    else:
        missing = "there is no privilege group name [nope] to operate: invalid parameter"
        builtin = ("the privilege group name [ClusterAdmin] is defined by built in privilege groups in system: "
                   "invalid parameter")
    for call in (c.add_privileges_to_group, c.remove_privileges_from_group):
        expect(call, "nope", ["Load"], code=1100, message=missing, compatible_code=OPERATE_PRIVILEGE_GROUP_FAILURE)
        expect(call, "ClusterAdmin", ["Load"], code=1100, message=builtin,
               compatible_code=OPERATE_PRIVILEGE_GROUP_FAILURE)
    assert c.list_privilege_groups() == builtin_groups(gprofile)


def test_unknown_privileges_are_refused(c, gprofile):
    """P1 §6.12: `there is no privilege name or privilege group name [p] defined in system to operate` (1100, 61); a
    malformed name fails ValidatePrivilege first (1100, IllegalArgument)."""
    c.create_privilege_group("ops")
    message = prefixed(gprofile, "failed to check if privilege group alterable",
                       "there is no privilege name or privilege group name [Bogus] defined in system to operate: "
                       "invalid parameter")
    for call in (c.add_privileges_to_group, c.remove_privileges_from_group):
        expect(call, "ops", ["Load", "Bogus"], code=1100, message=message,
               compatible_code=OPERATE_PRIVILEGE_GROUP_FAILURE)
    chars = ("numbers, letters, dollars and underscores" if gprofile == "milvus-2.5"
             else "numbers, letters, underscores, and allowed characters ($)")
    expect(c.add_privileges_to_group, "ops", ["Load", "Bo-gus"], code=1100,
           message=f"Privilege can only contain {chars}, found - at 2: invalid parameter",
           compatible_code=ILLEGAL_ARGUMENT)
    assert custom_groups(c) == [("ops", ())]


def _mixed_levels(profile: str) -> tuple[int, str, int]:
    """P1 §6.12: 2.5 `privileges are not the same privilege level` (65535); 2.6 a prefixed parameter error (1100)."""
    if profile in ("milvus-2.6", "milvus-3.0"):
        return (1100, "failed to check if privilege group alterable: privileges are not the same privilege level: "
                      "invalid parameter", OPERATE_PRIVILEGE_GROUP_FAILURE)
    return 65535, "privileges are not the same privilege level", OPERATE_PRIVILEGE_GROUP_FAILURE


@pytest.mark.parametrize(
    "privileges",
    [["Load", "CreateCollection"], ["Search", "CreateDatabase"], ["ShowCollections", "UpdateUser"],
     ["All", "Load"]],
)
def test_one_add_cannot_mix_levels(c, gprofile, privileges):
    """P1 §4.6 GetPrivilegeLevel, §6.12: added privileges must share a level (a name without level, such as All,
    has level "")."""
    c.create_privilege_group("ops")
    code, message, legacy = _mixed_levels(gprofile)
    expect(c.add_privileges_to_group, "ops", privileges, code=code, message=message, compatible_code=legacy)
    assert custom_groups(c) == [("ops", ())]


def test_add_cannot_mix_with_the_groups_level_in_26(client):
    """P1 §6.12 (2.6 CheckIfPrivilegeGroupAlterable): the union with the current members must share a level."""
    c = client(profile="milvus-2.6")
    c.create_privilege_group("ops")
    c.add_privileges_to_group("ops", ["Load"])
    code, message, legacy = _mixed_levels("milvus-2.6")
    expect(c.add_privileges_to_group, "ops", ["CreateDatabase"], code=code, message=message, compatible_code=legacy)
    assert custom_groups(c) == [("ops", ("Load",))]
    c.add_privileges_to_group("ops", ["Search", "CreateAlias"])
    assert custom_groups(c) == [("ops", ("CreateAlias", "Load", "Search"))]


def test_one_level_per_group(c, gprofile):
    """Each level's privileges go together: cluster, database, collection."""
    for name, privileges in [("c1", ["UpdateUser", "ListDatabases", "CreateDatabase"]),
                             ("d1", ["ShowCollections", "CreateCollection", "AlterDatabase"]),
                             ("k1", ["Search", "Load", "CreateAlias"])]:
        c.create_privilege_group(name)
        c.add_privileges_to_group(name, privileges)
    assert custom_groups(c) == [
        ("c1", ("CreateDatabase", "ListDatabases", "UpdateUser")),
        ("d1", ("AlterDatabase", "CreateCollection", "ShowCollections")),
        ("k1", ("CreateAlias", "Load", "Search")),
    ]


# ------------------------------------------------------------------------------------------------
# Dropping groups


def test_drop_a_missing_or_builtin_group_is_a_noop(c, gprofile):
    """P1 §6.12 DropPrivilegeGroup: not a custom group (missing, or a built-in name) -> success."""
    for name in ("nope", "ClusterAdmin", "CollectionReadOnly", "ReadOnly", "Search"):
        assert c.drop_privilege_group(name) is None
    assert c.list_privilege_groups() == builtin_groups(gprofile)


def test_drop_a_group_in_use(c, gprofile):
    """P1 §6.12: `privilege group [g] is used by role [r], Use REVOKE API to revoke it first` (65535, 59; 2.6
    prefixed); after the revoke the drop succeeds."""
    c.create_privilege_group("ops")
    c.add_privileges_to_group("ops", ["Load"])
    c.create_role("r")
    c.grant_privilege_v2("r", "ops", "col", db_name="db1")
    message = prefixed(gprofile, "failed to check if privilege group dropable",
                       "privilege group [ops] is used by role [r], Use REVOKE API to revoke it first")
    expect(c.drop_privilege_group, "ops", code=65535, message=message, compatible_code=DROP_PRIVILEGE_GROUP_FAILURE)
    assert [name for name, _ in custom_groups(c)] == ["ops"]
    c.revoke_privilege_v2("r", "ops", "col", db_name="db1")
    assert c.drop_privilege_group("ops") is None
    assert custom_groups(c) == []


def test_drop_a_group_used_by_a_force_dropped_role(c, gprofile):
    """force_drop deletes the role's grants (P1 §6.7), so the group is free again."""
    c.create_privilege_group("ops")
    c.create_role("r")
    c.grant_privilege_v2("r", "ops", "*", db_name="*")
    c.drop_role("r", force_drop=True)
    c.drop_privilege_group("ops")
    assert custom_groups(c) == []


# ------------------------------------------------------------------------------------------------
# Listing


def test_list_privilege_groups_builtins_exactly(c, gprofile):
    """P1 §4.6 and §6.12: the nine built-ins in Milvus's order with their exact members (2.5: sizes
    6/10/24, 2/3/5, 12/25/27; 2.6: 7/11/26, 2/3/5, 14/28/30); legacy ReadOnly/ReadWrite/Admin not listed."""
    listed = c.list_privilege_groups()
    assert listed == builtin_groups(gprofile)
    sizes = [len(g["privileges"]) for g in listed]
    if gprofile == "milvus-2.5":
        assert sizes == [6, 10, 24, 2, 3, 5, 12, 25, 27]
    elif gprofile == "milvus-3.0":
        assert sizes == [8, 16, 33, 2, 3, 6, 16, 34, 37]
    else:
        assert sizes == [7, 11, 26, 2, 3, 5, 14, 28, 30]
    assert all(isinstance(g["privileges"], tuple) for g in listed)
    assert all(list(g) == ["privilege_group", "privileges"] for g in listed)


def test_custom_groups_come_first_by_name(c, gprofile):
    """P1 §6.12: custom groups first in etcd key order (byte order), then the built-ins."""
    for name in ("zz", "ab", "Ab", "_x", "a1"):
        c.create_privilege_group(name)
    listed = c.list_privilege_groups()
    assert [g["privilege_group"] for g in listed[:5]] == ["Ab", "_x", "a1", "ab", "zz"]
    assert listed[5:] == builtin_groups(gprofile)
    c.drop_privilege_group("ab")
    assert [g["privilege_group"] for g in c.list_privilege_groups()[:4]] == ["Ab", "_x", "a1", "zz"]


# ------------------------------------------------------------------------------------------------
# Grant v2


def _scope(level: str, group: str) -> str:
    """P1 §6.10 validatePrivilegeGroupParams (1100)."""
    text = {
        "cluster": "dbName and collectionName should be * for the cluster level privilege",
        "database": "collectionName should be * for the database level privilege",
        "collection": "please specify database name for the collection level privilege",
    }[level]
    return f"{text}: {group}: invalid parameter"


@pytest.mark.parametrize(
    "group,collection,db_name,refusal",
    [
        ("ClusterReadOnly", "*", "*", None),
        ("ClusterAdmin", "col", "*", "cluster"),
        ("ClusterAdmin", "*", "default", "cluster"),
        ("ClusterReadWrite", "*", "", "cluster"),
        ("DatabaseAdmin", "*", "db1", None),
        ("DatabaseReadOnly", "*", "*", None),
        ("DatabaseReadWrite", "col", "db1", "database"),
        ("CollectionReadOnly", "col", "db1", None),
        ("CollectionAdmin", "*", "*", None),
        ("CollectionReadWrite", "*", "db1", None),
        ("CollectionReadOnly", "col", "*", "collection"),
    ],
)
def test_v2_scope_checks_for_builtin_groups(c, gprofile, group, collection, db_name, refusal):
    """P1 §6.10: cluster-level groups only on `*`/`*`; database-level ones with collection `*`; collection-level ones
    need a database when a collection is named."""
    c.create_role("r")
    for call in (c.grant_privilege_v2, c.revoke_privilege_v2):
        if refusal is None:
            assert call("r", group, collection, db_name=db_name) is None
        else:
            expect(call, "r", group, collection, db_name=db_name, code=1100, message=_scope(refusal, group))
    assert grants_of(c, "r") == []


def test_v2_scope_checks_for_custom_groups(c, gprofile):
    """P1 §6.10: a custom group's level is its first member's; an empty group has no scope rule; a group whose
    first member has no level cannot be granted: `not found the privilege level`."""
    c.create_role("r")
    for name, members in [("cl", ["UpdateUser"]), ("db", ["ShowCollections"]), ("co", ["Search"]), ("none", ["All"]),
                          ("empty", [])]:
        c.create_privilege_group(name)
        if members:
            c.add_privileges_to_group(name, members)
    expect(c.grant_privilege_v2, "r", "cl", "*", db_name="db1", code=1100, message=_scope("cluster", "cl"))
    expect(c.grant_privilege_v2, "r", "db", "col", db_name="db1", code=1100, message=_scope("database", "db"))
    expect(c.grant_privilege_v2, "r", "co", "col", db_name="*", code=1100, message=_scope("collection", "co"))
    with pytest.raises(MilvusException) as info:
        c.grant_privilege_v2("r", "none", "*", db_name="*")
    assert info.value.code == 65535 and info.value.message.endswith("not found the privilege level")
    c.grant_privilege_v2("r", "cl", "*", db_name="*")
    c.grant_privilege_v2("r", "db", "*", db_name="db1")
    c.grant_privilege_v2("r", "co", "col", db_name="db1")
    c.grant_privilege_v2("r", "empty", "anything", db_name="db2")
    assert grants_of(c, "r") == [
        grant("Global", "*", "*", "r", "cl"),
        grant("Global", "*", "db1", "r", "db"),
        grant("Global", "col", "db1", "r", "co"),
        grant("Global", "anything", "db2", "r", "empty"),
    ]


def test_v2_stores_groups_unexpanded_and_privileges_by_their_type(c, gprofile):
    """P1 §6.10: object type = GetObjectType(privilege) (groups are Global), object name kept as given (not forced
    to `*`), db `""` -> default; P1 §6.11: groups are returned unexpanded; related privileges come along (§4.4)."""
    c.create_role("r")
    c.grant_privilege_v2("r", "CollectionReadOnly", "col", db_name="db1")
    c.grant_privilege_v2("r", "Search", "col", db_name="")
    c.grant_privilege_v2("r", "CreateCollection", "col", db_name="db1")
    c.grant_privilege_v2("r", "UpdateUser", "*", db_name="*")
    c.grant_privilege_v2("r", "Load", "col2")
    c.grant_privilege_v2("r", "*", "col3", db_name="db1")
    assert grants_of(c, "r") == [
        grant("Collection", "col", "default", "r", "Search"),
        grant("Collection", "col2", "default", "r", "GetLoadState"),
        grant("Collection", "col2", "default", "r", "GetLoadingProgress"),
        grant("Collection", "col2", "default", "r", "Load"),
        # stored as PrivilegeCreateCollection and PrivilegeGroupCollectionReadOnly (P1 §4.2), listed in that order
        grant("Global", "col", "db1", "r", "CreateCollection"),
        grant("Global", "col", "db1", "r", "CollectionReadOnly"),
        grant("Global", "col3", "db1", "r", "*"),
        grant("User", "*", "*", "r", "UpdateUser"),
    ]
    # what v1 shows for the default database
    assert grants_of(c, "r", db_name="") == [
        grant("Collection", "col", "default", "r", "Search"),
        grant("Collection", "col2", "default", "r", "GetLoadState"),
        grant("Collection", "col2", "default", "r", "GetLoadingProgress"),
        grant("Collection", "col2", "default", "r", "Load"),
        grant("User", "*", "*", "r", "UpdateUser"),
    ]
    c.revoke_privilege_v2("r", "Load", "col2", db_name="default")
    c.revoke_privilege_v2("r", "CollectionReadOnly", "col", db_name="db1")
    c.revoke_privilege_v2("r", "CollectionReadOnly", "col", db_name="db1")  # idempotent
    assert [g["privilege"] for g in grants_of(c, "r")] == ["Search", "CreateCollection", "*", "UpdateUser"]


def test_v2_grant_and_revoke_of_a_custom_group(c, gprofile):
    c.create_role("r")
    c.create_privilege_group("ops")
    c.add_privileges_to_group("ops", ["Load", "Release"])
    c.grant_privilege_v2("r", "ops", "*", db_name="*")
    c.grant_privilege_v2("r", "ops", "*", db_name="*")
    assert grants_of(c, "r") == [grant("Global", "*", "*", "r", "ops")]
    c.revoke_privilege_v2("r", "ops", "*", db_name="*")
    assert grants_of(c, "r") == []


def test_v2_refusals(c, gprofile):
    """P1 §6.10 isValidPrivilegeV2 and §6.9's common checks: a missing role, then an unknown name (65535, 41)."""
    expect(c.grant_privilege_v2, "nope", "Bogus", "col", db_name="db1", code=65535,
           message=common_check(gprofile, NOT_FOUND_ROLE), compatible_code=OPERATE_PRIVILEGE_FAILURE)
    c.create_role("r")
    for call in (c.grant_privilege_v2, c.revoke_privilege_v2):
        expect(call, "r", "Bogus", "col", db_name="db1", code=65535,
               message=common_check(gprofile, "not found the privilege name[Bogus]"),
               compatible_code=OPERATE_PRIVILEGE_FAILURE)
    assert grants_of(c, "r") == []


def test_v2_validates_names_role_privilege_database_collection(c, gprofile):
    """P1 §2.7 OperatePrivilegeV2: ValidateRoleName, ValidatePrivilege, ValidateDatabaseName (802, unless `""` or
    `*`; P1 §2.5), ValidateCollectionName (`collection name`, unless `*`)."""
    chars = ("numbers, letters, dollars and underscores" if gprofile == "milvus-2.5"
             else "numbers, letters, underscores, and allowed characters ($)")
    role_first = ("the first character of role name must be a letter: invalid parameter[expected=letter][actual=1]"
                  if gprofile == "docs" else
                  "the first character of role name must be an underscore or letter: "
                  "invalid parameter[expected=95][actual=49]")
    expect(c.grant_privilege_v2, "1r", "Bo-gus", "bad-col", db_name="bad-db", code=1100, message=role_first,
           compatible_code=ILLEGAL_ARGUMENT)
    expect(c.grant_privilege_v2, "r", "Bo-gus", "bad-col", db_name="bad-db", code=1100,
           message=f"Privilege can only contain {chars}, found - at 2: invalid parameter",
           compatible_code=ILLEGAL_ARGUMENT)
    for db_name in ("bad-db", "1db", " "):
        # P1 §2.5 gives the code (802, ErrDatabaseInvalidName) and the first words of the reason
        with pytest.raises(MilvusException) as info:
            c.grant_privilege_v2("r", "Search", "bad-col", db_name=db_name)
        err = info.value
        assert (err.code, int(err.compatible_code)) == (802, UNEXPECTED_ERROR)
        assert "invalid database name" in err.message
        if db_name == "bad-db":
            assert err.message.startswith("database name can only contain numbers, letters and underscores")
    expect(c.grant_privilege_v2, "r", "Search", "bad-col", db_name="db1", code=1100,
           message=f"collection name can only contain {chars}, found - at 3: invalid parameter",
           compatible_code=ILLEGAL_ARGUMENT)
    expect_error(c.grant_privilege_v2, "r", "Search", "", db_name="db1", code=1,
                 message="`collection_name` value  is illegal", exc_type=ParamError)

