"""Grants v1 (grant_privilege / revoke_privilege), describe_role, drop_role with grants, per profile.

References are to /work/shared/milvus-facts.md ("P1 §x" = Part 1 section, "P2" = Part 2, the real 2.3.5 server).
Grant v2 and privilege groups are in test_groups.py; describe_role against recorded server output in
test_describe_role.py; the same v1 rules as data, checked against a real server, in tests/conformance/.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from rbac_testing import PW, expect_error

from milvus_rbac import MilvusException, ParamError

# Legacy error codes (P1 §7.2).
ILLEGAL_ARGUMENT = 5
DROP_ROLE_FAILURE = 36
OPERATE_PRIVILEGE_FAILURE = 41
SELECT_GRANT_FAILURE = 42

NOT_FOUND_ROLE = "not found the role, maybe the role isn't existed or internal system error"
HAS_GRANTS = "fail to drop the role that it has privileges. Use REVOKE API to revoke privileges"
GROUP_PROFILES = ["docs", "milvus-2.5", "milvus-2.6", "milvus-3.0"]


# ------------------------------------------------------------------------------------------------
# Messages per profile


def common_check(profile: str, message: str) -> str:
    """P1 §6.9: 2.6 prefixes the failures of OperatePrivilege's common checks."""
    return f"failed to operate privilege common check: {message}" if profile in ("milvus-2.6", "milvus-3.0") else message


def object_type_error(profile: str, name: str) -> str:
    """P1 §6.9 step 3 (2.4 lists the types, P2 observed the list in random order; 2.5+ does not list them)."""
    if profile == "milvus-2.4":
        return f"not found the object type[name: {name}], supported the object types: [Collection Global User]"
    return common_check(profile, "the object entity in the request is nil or invalid")


def privilege_error(profile: str, privilege: str, object_type: str) -> str:
    """P1 §6.9 step 6: 2.4 (and P2) `not found the privilege name[p]`; 2.5+ name the object type."""
    if profile == "milvus-2.4":
        return f"not found the privilege name[{privilege}]"
    return common_check(profile, f"not found the privilege name[{privilege}] in object[{object_type}]")


def role_error(profile: str) -> str:
    return common_check(profile, NOT_FOUND_ROLE)


def chars_error(profile: str, label: str, found: str, at: int) -> str:
    """P1 §2.3 step 5: 2.4/2.5 (and P2) name dollars; 2.6.2+ (and docs, which follows 2.6) the allowed characters."""
    if profile in ("milvus-2.4", "milvus-2.5"):
        allowed = "numbers, letters, dollars and underscores"
    else:
        allowed = "numbers, letters, underscores, and allowed characters ($)"
    return f"{label} can only contain {allowed}, found {found} at {at}: invalid parameter"


def first_char_error(label: str, byte: int) -> str:
    return (
        f"the first character of {label} must be an underscore or letter: "
        f"invalid parameter[expected=95][actual={byte}]"
    )


def empty_error(label: str) -> str:
    return f"{label} should be not empty: invalid parameter[expected=not empty][actual=]"


def object_label(profile: str) -> str:
    """P1 §2.3: the 2.4 object-name validator calls itself `role name` (P2: `role name should be not empty`)."""
    return "role name" if profile == "milvus-2.4" else "object name"


def role_first_char_error(profile: str, char: str) -> str:
    if profile == "docs":  # the documented role-name rule (profile docs): a letter first
        return f"the first character of role name must be a letter: invalid parameter[expected=letter][actual={char}]"
    return first_char_error("role name", ord(char))


def blank_role_error(profile: str) -> str:
    """Servers validate the trimmed name (P1 §2.3 step 1); the documented rule (profile docs) does not trim."""
    return role_first_char_error(profile, " ") if profile == "docs" else empty_error("role name")


def sorted_types(message: str) -> str:
    """P2: the object-type list comes from a Go map; compare it as a set."""
    return re.sub(
        r"(supported the object types: \[)([^\]]*)(\])",
        lambda m: m.group(1) + " ".join(sorted(m.group(2).split())) + m.group(3),
        message,
    )


def expect(call: Any, *args: Any, code: int, message: str, compatible_code: int, **kwargs: Any) -> None:
    with pytest.raises(MilvusException) as info:
        call(*args, **kwargs)
    err = info.value
    assert not isinstance(err, ParamError)
    assert (err.code, sorted_types(err.message)) == (code, sorted_types(message))
    assert int(err.compatible_code) == compatible_code


def grant(object_type: str, object_name: str, db_name: str, role: str, privilege: str, grantor: str = "root"):
    """A describe_role entry, keys in pymilvus's GrantItem order (P1 §11.1)."""
    return {
        "object_type": object_type,
        "object_name": object_name,
        "db_name": db_name,
        "role_name": role,
        "privilege": privilege,
        "grantor_name": grantor,
    }


def grants_of(c: Any, role: str, **kwargs: Any) -> list[dict[str, str]]:
    return list(c.describe_role(role, **kwargs)["privileges"])


def public_defaults(profile: str) -> list[dict[str, str]]:
    """P2 "Reserved names and built-ins" (2.3.5 = milvus-2.4) and P1 §3 `initPublicRolePrivilege` (2.5+)."""
    listing = "ShowCollections" if profile == "milvus-2.4" else "ListAliases"
    return [
        grant("Collection", "*", "*", "public", "IndexDetail"),
        grant("Global", "*", "*", "public", "DescribeCollection"),
        grant("Global", "*", "*", "public", listing),
    ]


@pytest.fixture
def c(client, profile):
    """A root client with role `r` created."""
    root = client(profile=profile)
    root.create_role("r")
    return root


# ------------------------------------------------------------------------------------------------
# Object type and privilege validation, and their order


@pytest.mark.parametrize("object_type", ["Bogus", "collection", "GLOBAL", "Users"])
@pytest.mark.parametrize("method", ["grant_privilege", "revoke_privilege"])
def test_unknown_object_type(c, profile, method, object_type):
    """P1 §4.1, §6.9 step 3; P2: types are exactly Global, Collection, User (case-sensitive)."""
    expect(getattr(c, method), "r", object_type, "Insert", "col", code=65535,
           message=object_type_error(profile, object_type), compatible_code=OPERATE_PRIVILEGE_FAILURE)
    assert grants_of(c, "r") == []


@pytest.mark.parametrize(
    "object_type,privilege",
    [
        ("Collection", "All"),
        ("Collection", "CreateCollection"),
        ("Collection", "CreateOwnership"),
        ("Collection", "UpdateUser"),
        ("Collection", "insert"),
        ("Collection", "Bogus"),
        ("Global", "UpdateUser"),
        ("Global", "SelectUser"),
        ("Global", "Insert"),
        ("Global", "Search"),
        ("Global", "all"),
        ("User", "All"),
        ("User", "Insert"),
        ("User", "SelectOwnership"),
    ],
)
@pytest.mark.parametrize("method", ["grant_privilege", "revoke_privilege"])
def test_privilege_must_be_of_the_object_type(c, profile, method, object_type, privilege):
    """P1 §4.3 (util.ObjectPrivileges), §6.9 step 6; P2 table of accepted and rejected names."""
    expect(getattr(c, method), "r", object_type, privilege, "x", code=65535,
           message=privilege_error(profile, privilege, object_type), compatible_code=OPERATE_PRIVILEGE_FAILURE)
    assert grants_of(c, "r") == []


def test_check_order_object_type_then_role_then_privilege(client, profile):
    """P1 §6.9 steps 3, 4, 6; P2 "Order of checks: object type, then role existence, then privilege name"."""
    c = client(profile=profile)
    for method in (c.grant_privilege, c.revoke_privilege):
        expect(method, "nope", "Bogus", "Bogus", "col", code=65535,
               message=object_type_error(profile, "Bogus"), compatible_code=OPERATE_PRIVILEGE_FAILURE)
        expect(method, "nope", "Collection", "Bogus", "col", code=65535,
               message=role_error(profile), compatible_code=OPERATE_PRIVILEGE_FAILURE)
        expect(method, "nope", "Collection", "Insert", "col", code=65535,
               message=role_error(profile), compatible_code=OPERATE_PRIVILEGE_FAILURE)
    c.create_role("r")
    expect(c.grant_privilege, "r", "Collection", "Bogus", "col", code=65535,
           message=privilege_error(profile, "Bogus", "Collection"), compatible_code=OPERATE_PRIVILEGE_FAILURE)


def test_names_are_validated_first_privilege_type_object_role(client, profile):
    """P1 §2.7 OperatePrivilege: ValidatePrivilege, ValidateObjectType, ValidateObjectName, ValidateRoleName, all
    before the coordinator's checks (P2: the same order on 2.3.5)."""
    c = client(profile=profile)
    cases = [
        (("1cf", " ", "Bad-P", " "), chars_error(profile, "Privilege", "-", 3)),
        (("1cf", "Bad-T", "Insert", "bad-o"), chars_error(profile, "ObjectType", "-", 3)),
        (("1cf", "Bogus", "Insert", "bad-o"), chars_error(profile, object_label(profile), "-", 3)),
        (("1cf", "Bogus", "Insert", "col"), role_first_char_error(profile, "1")),
        (("r", " ", "Insert", "col"), empty_error("ObjectType")),
        (("r", "Collection", " ", "col"), empty_error("Privilege")),
        (("r", "Collection", "Insert", "  "), empty_error(object_label(profile))),
        (("r", "Collection", "Insert", "1col"), first_char_error(object_label(profile), 49)),
        (("r", "Collection", "1nsert", "col"), first_char_error("Privilege", 49)),
        (("r", "9Collection", "Insert", "col"), first_char_error("ObjectType", 57)),
        ((" ", "Collection", "Insert", "col"), blank_role_error(profile)),
    ]
    for method in (c.grant_privilege, c.revoke_privilege):
        for args, message in cases:
            expect(method, *args, code=1100, message=message, compatible_code=ILLEGAL_ARGUMENT)


@pytest.mark.parametrize(
    "kwargs,param",
    [
        ({"role_name": ""}, "role_name"),
        ({"object_type": ""}, "object"),
        ({"privilege": ""}, "privilege"),
        ({"object_name": ""}, "object_name"),
    ],
)
def test_empty_arguments_are_client_param_errors(c, kwargs, param):
    """P1 §11.2 and P2 "Error shapes": pymilvus refuses empty strings before sending: `` `p` value  is illegal``."""
    args = {"role_name": "r", "object_type": "Collection", "privilege": "Insert", "object_name": "col", **kwargs}
    for method in (c.grant_privilege, c.revoke_privilege):
        expect_error(method, **args, code=1, message=f"`{param}` value  is illegal", exc_type=ParamError)


def test_every_listed_privilege_is_grantable_on_its_type(c, profile):
    """P1 §4.3: the v1 lists per line (2.4: 24 Collection + 30 Global + 2 User; 2.5 adds 13 Global; 2.6 adds 3
    Collection and 1 Global). Granting each one and revoking it leaves nothing behind."""
    collection = [
        "Load", "Release", "Compaction", "Insert", "Delete", "Upsert", "GetStatistics", "CreateIndex", "IndexDetail",
        "DropIndex", "Search", "Flush", "Query", "LoadBalance", "Import", "GetLoadingProgress", "GetLoadState",
        "CreatePartition", "DropPartition", "ShowPartitions", "HasPartition", "GetFlushState", "ReadOnly",
        "ReadWrite",
    ]
    global_ = [
        "All", "CreateCollection", "DropCollection", "DescribeCollection", "ShowCollections", "RenameCollection",
        "CreateOwnership", "DropOwnership", "SelectOwnership", "ManageOwnership", "BackupRBAC", "RestoreRBAC",
        "CreateResourceGroup", "UpdateResourceGroups", "DropResourceGroup", "DescribeResourceGroup",
        "ListResourceGroups", "TransferReplica", "TransferNode", "FlushAll", "CreateDatabase", "DropDatabase",
        "ListDatabases", "AlterDatabase", "DescribeDatabase", "CreateAlias", "DropAlias", "DescribeAlias",
        "ListAliases", "Admin",
    ]
    if profile != "milvus-2.4":
        global_ += ["CreatePrivilegeGroup", "DropPrivilegeGroup", "ListPrivilegeGroups", "OperatePrivilegeGroup"]
    if profile in ("milvus-2.6", "milvus-3.0", "docs"):
        collection += ["GetImportProgress", "ListImport", "AddCollectionField"]
        global_ += ["UpdateReplicateConfiguration"]
    if profile == "milvus-3.0":  # tests/test_profile_3_0.py checks these further
        collection += ["AlterCollectionSchema", "RefreshExternalCollection", "CreateSnapshot", "DropSnapshot",
                       "DescribeSnapshot", "RestoreSnapshot", "ListSnapshots"]
        global_ += ["PinSnapshotData", "UnpinSnapshotData", "RestoreExternalSnapshot", "ExportSnapshot", "Expr"]
    lists = {"Collection": collection, "Global": global_, "User": ["UpdateUser", "SelectUser"]}
    for object_type, names in lists.items():
        for name in names:
            c.grant_privilege("r", object_type, name, "x")
    assert {(g["object_type"], g["privilege"]) for g in grants_of(c, "r")} == {
        (t, name) for t, names in lists.items() for name in names
    }
    for object_type, names in lists.items():
        for name in names:
            c.revoke_privilege("r", object_type, name, "x")
    assert grants_of(c, "r") == []


@pytest.mark.parametrize(
    "profile,privilege",
    [
        ("milvus-2.4", "CreatePrivilegeGroup"),
        ("milvus-2.4", "ClusterReadOnly"),
        ("milvus-2.5", "UpdateReplicateConfiguration"),
    ],
)
def test_privileges_of_later_lines_are_unknown(client, profile, privilege):
    """P1 §4.3: a line knows only its own names (2.4.13 has no group privileges; 2.6.6 added
    UpdateReplicateConfiguration)."""
    c = client(profile=profile)
    c.create_role("r")
    expect(c.grant_privilege, "r", "Global", privilege, "*", code=65535,
           message=privilege_error(profile, privilege, "Global"), compatible_code=OPERATE_PRIVILEGE_FAILURE)


@pytest.mark.parametrize("profile", GROUP_PROFILES)
def test_groups_cannot_be_granted_with_v1(client, profile):
    """P1 §6.9 step 6 (2.5+): built-in and custom group names are refused by grant v1."""
    c = client(profile=profile)
    c.create_role("r")
    c.create_privilege_group("ops")
    for name in ("ClusterAdmin", "CollectionReadOnly"):
        expect(c.grant_privilege, "r", "Global", name, "*", code=65535,
               message=common_check(profile, f"can not operate the built-in privilege group [{name}]"),
               compatible_code=OPERATE_PRIVILEGE_FAILURE)
    expect(c.grant_privilege, "r", "Collection", "ops", "col", code=65535,
           message=common_check(profile, "can not operate the custom privilege group [ops]"),
           compatible_code=OPERATE_PRIVILEGE_FAILURE)
    assert grants_of(c, "r") == []


def test_star_privilege_on_every_object_type(c, profile):
    """P1 §4.2: `*` is accepted as privilege name (stored as `*`); P2 observed it on 2.3.5."""
    c.grant_privilege("r", "Collection", "*", "col")
    c.grant_privilege("r", "Global", "*", "col")
    c.grant_privilege("r", "User", "*", "u1")
    assert grants_of(c, "r") == [
        grant("Collection", "col", "default", "r", "*"),
        grant("Global", "*", "default", "r", "*"),
        grant("User", "u1", "default", "r", "*"),
    ]


def test_global_update_user_is_not_grantable(c, profile):
    """P2 "Enforcement": `Global/UpdateUser cannot be granted at all`."""
    expect(c.grant_privilege, "r", "Global", "UpdateUser", "*", code=65535,
           message=privilege_error(profile, "UpdateUser", "Global"), compatible_code=OPERATE_PRIVILEGE_FAILURE)


# ------------------------------------------------------------------------------------------------
# What is stored


def test_global_grants_are_stored_on_star(c, profile):
    """P1 §6.9 step 7; P2: `Global grants are stored with object_name "*" whatever name is given. revoke ... "col_b"
    removes a Global grant made with "col_a"`."""
    c.grant_privilege("r", "Global", "CreateCollection", "col_a")
    c.grant_privilege("r", "Global", "DropCollection", "*")
    assert grants_of(c, "r") == [
        grant("Global", "*", "default", "r", "CreateCollection"),
        grant("Global", "*", "default", "r", "DropCollection"),
    ]
    c.revoke_privilege("r", "Global", "CreateCollection", "col_b")
    c.revoke_privilege("r", "Global", "DropCollection", "anything")
    assert grants_of(c, "r") == []


@pytest.mark.parametrize("profile", GROUP_PROFILES)
def test_legacy_admin_group_keeps_its_object_name_in_25(client, profile):
    """P1 §6.9 step 7: 2.5+ does not force `*` for a legacy built-in group (Admin is the Global one)."""
    c = client(profile=profile)
    c.create_role("r")
    c.grant_privilege("r", "Global", "Admin", "col_a")
    assert grants_of(c, "r") == [grant("Global", "col_a", "default", "r", "Admin")]


def test_non_global_object_names_are_kept_and_not_checked(c, profile):
    """P2: `Collection names are not checked for existence`; User objects are names too."""
    c.grant_privilege("r", "Collection", "Query", "no_such_col")
    c.grant_privilege("r", "Collection", "Query", "c$x")
    c.grant_privilege("r", "User", "SelectUser", "no_such_user")
    assert grants_of(c, "r") == [
        grant("Collection", "c$x", "default", "r", "Query"),
        grant("Collection", "no_such_col", "default", "r", "Query"),
        grant("User", "no_such_user", "default", "r", "SelectUser"),
    ]


def test_database_names(c, profile):
    """P1 §6.9 step 8 and P2 "Database names": `""` is stored as default, `*` is kept, any other string is accepted
    and hidden from a plain describe_role; v1 does not validate the database name (P2: `no_such_db` accepted)."""
    c.grant_privilege("r", "Collection", "Query", "a")
    c.grant_privilege("r", "Collection", "Search", "a", db_name="")
    c.grant_privilege("r", "Collection", "Delete", "a", db_name="default")
    c.grant_privilege("r", "Collection", "Insert", "a", db_name="*")
    c.grant_privilege("r", "Collection", "Upsert", "a", db_name="other")
    c.grant_privilege("r", "Collection", "Upsert", "a", db_name="bad-db name")
    in_default = [
        grant("Collection", "a", "*", "r", "Insert"),
        grant("Collection", "a", "default", "r", "Delete"),
        grant("Collection", "a", "default", "r", "Query"),
        grant("Collection", "a", "default", "r", "Search"),
    ]
    assert grants_of(c, "r") == in_default
    assert grants_of(c, "r", db_name="") == in_default
    assert grants_of(c, "r", db_name="default") == in_default
    assert grants_of(c, "r", db_name="other") == [
        grant("Collection", "a", "*", "r", "Insert"),
        grant("Collection", "a", "other", "r", "Upsert"),
    ]
    assert grants_of(c, "r", db_name="bad-db name") == [
        grant("Collection", "a", "*", "r", "Insert"),
        grant("Collection", "a", "bad-db name", "r", "Upsert"),
    ]
    assert grants_of(c, "r", db_name="nowhere") == [grant("Collection", "a", "*", "r", "Insert")]
    # a grant in `*` is its own grant: revoking in default leaves it
    c.revoke_privilege("r", "Collection", "Insert", "a")
    assert grant("Collection", "a", "*", "r", "Insert") in grants_of(c, "r")
    c.revoke_privilege("r", "Collection", "Insert", "a", db_name="*")
    c.revoke_privilege("r", "Collection", "Upsert", "a", db_name="other")
    assert grants_of(c, "r", db_name="other") == []


def test_grant_and_revoke_are_idempotent(c, profile):
    """P1 §6.9: granting an existing privilege and revoking a missing one succeed (P2 likewise)."""
    for _ in range(2):
        assert c.grant_privilege("r", "Collection", "Query", "a") is None
    assert c.grant_privilege("r", "Collection", "Query", "a", db_name="default") is None
    assert grants_of(c, "r") == [grant("Collection", "a", "default", "r", "Query")]
    for _ in range(2):
        assert c.revoke_privilege("r", "Collection", "Query", "a") is None
    assert c.revoke_privilege("r", "Collection", "Search", "never") is None
    assert c.revoke_privilege("r", "Global", "All", "*") is None
    assert grants_of(c, "r") == []


def test_grants_to_admin_and_public(client, profile):
    """P2: `Granting to admin or public is allowed; it shows in describe_role and can be revoked`."""
    c = client(profile=profile)
    c.grant_privilege("admin", "Collection", "Query", "col")
    c.grant_privilege("public", "Global", "CreateCollection", "x")
    assert grants_of(c, "admin") == [grant("Collection", "col", "default", "admin", "Query")]
    assert grants_of(c, "public") == public_defaults(profile) + [
        grant("Global", "*", "default", "public", "CreateCollection")
    ]
    c.revoke_privilege("admin", "Collection", "Query", "col")
    c.revoke_privilege("public", "Global", "CreateCollection", "*")
    assert grants_of(c, "admin") == []
    assert grants_of(c, "public") == public_defaults(profile)


def test_default_grants_of_public(client, profile):
    """P2 (2.3.5, profile milvus-2.4): IndexDetail, DescribeCollection, ShowCollections; P1 §3 (2.5+, and docs):
    DescribeCollection, ListAliases, IndexDetail. All on `*` in database `*`, granted by root; admin has none."""
    c = client(profile=profile)
    assert c.describe_role("public")["privileges"] == public_defaults(profile)
    assert grants_of(c, "public", db_name="other") == public_defaults(profile)
    assert grants_of(c, "public", db_name="*") == public_defaults(profile)
    assert grants_of(c, "admin") == []
    # they can be revoked like any grant (in database `*`)
    c.revoke_privilege("public", "Collection", "IndexDetail", "*")
    assert grants_of(c, "public") == public_defaults(profile)
    c.revoke_privilege("public", "Collection", "IndexDetail", "*", db_name="*")
    assert grants_of(c, "public") == public_defaults(profile)[1:]


@pytest.mark.parametrize(
    "privilege,related",
    [("Load", ["GetLoadState", "GetLoadingProgress"]), ("Flush", ["GetFlushState"])],
)
def test_related_privileges_come_and_go_together(c, profile, privilege, related):
    """P1 §4.4 (`util.RelatedPrivileges`): granting Load also grants GetLoadState and GetLoadingProgress, Flush also
    GetFlushState, on the same role, object and database; revoking revokes them too. (The 2.3.5 server does not do
    this: tests/conformance/README.md.)"""
    c.grant_privilege("r", "Collection", privilege, "col", db_name="db1")
    assert grants_of(c, "r", db_name="db1") == [
        grant("Collection", "col", "db1", "r", name) for name in sorted([privilege, *related])
    ]
    assert grants_of(c, "r") == []
    c.revoke_privilege("r", "Collection", privilege, "col", db_name="db1")
    assert grants_of(c, "r", db_name="db1") == []
    # a related privilege granted on its own goes with the revoke too (the proxy revokes it explicitly)
    c.grant_privilege("r", "Collection", related[0], "col")
    c.revoke_privilege("r", "Collection", privilege, "col")
    assert grants_of(c, "r") == []
    # revoking the related privilege alone leaves the main one
    c.grant_privilege("r", "Collection", privilege, "col")
    c.revoke_privilege("r", "Collection", related[0], "col")
    assert [g["privilege"] for g in grants_of(c, "r")] == sorted([privilege, *related[1:]])


# ------------------------------------------------------------------------------------------------
# describe_role


def test_describe_role_sort_order(c, profile):
    """P2 "describe_* and list_* output": by object type, then `<db>.<object name>`, then privilege name; `*` sorts
    first (Milvus lists etcd keys, P1 §10)."""
    for args in [
        ("User", "UpdateUser", "u"),
        ("Global", "DropCollection", "*"),
        ("Collection", "Query", "b"),
        ("User", "SelectUser", "*"),
        ("Collection", "Search", "a"),
        ("Global", "CreateCollection", "*"),
        ("Collection", "Insert", "*"),
        ("Collection", "*", "a"),
        ("Collection", "Compaction", "b"),
    ]:
        c.grant_privilege("r", *args)
    c.grant_privilege("r", "Collection", "Delete", "a", db_name="*")
    assert grants_of(c, "r") == [
        grant("Collection", "a", "*", "r", "Delete"),
        grant("Collection", "*", "default", "r", "Insert"),
        grant("Collection", "a", "default", "r", "*"),
        grant("Collection", "a", "default", "r", "Search"),
        grant("Collection", "b", "default", "r", "Compaction"),
        grant("Collection", "b", "default", "r", "Query"),
        grant("Global", "*", "default", "r", "CreateCollection"),
        grant("Global", "*", "default", "r", "DropCollection"),
        grant("User", "*", "default", "r", "SelectUser"),
        grant("User", "u", "default", "r", "UpdateUser"),
    ]


def test_describe_role_sorts_groups_by_their_stored_name(c, profile):
    """P1 §4.2/§10: grants are stored under `Privilege<Name>`, groups under `PrivilegeGroup<Name>`, and listed in that
    order: the legacy group ReadOnly sorts between GetLoadingProgress and HasPartition."""
    for name in ("HasPartition", "ReadOnly", "GetLoadingProgress", "Insert"):
        c.grant_privilege("r", "Collection", name, "col")
    assert [g["privilege"] for g in grants_of(c, "r")] == ["GetLoadingProgress", "ReadOnly", "HasPartition", "Insert"]


def test_describe_role_shape(c, profile):
    """P1 §11.1: `{"role", "privileges": [...]}` with `description` in between (pymilvus 3.0 shows it for every
    server, P2); each grant in GrantItem key order."""
    c.grant_privilege("r", "Collection", "Query", "col")
    described = c.describe_role("r")
    assert list(described) == ["role", "description", "privileges"]
    assert described["role"] == "r" and described["description"] == ""
    assert isinstance(described["privileges"], list)
    assert [list(g) for g in described["privileges"]] == [
        ["object_type", "object_name", "db_name", "role_name", "privilege", "grantor_name"]
    ]


@pytest.mark.parametrize("db_name", [None, "", "default", "other", "*"])
def test_describe_role_of_a_missing_role(client, profile, db_name):
    """P1 §6.11, P2: 65535 `not found the role, ...` with SelectGrantFailure (42), whatever the database."""
    c = client(profile=profile)
    kwargs = {} if db_name is None else {"db_name": db_name}
    expect(c.describe_role, "nope", code=65535, message=NOT_FOUND_ROLE, compatible_code=SELECT_GRANT_FAILURE,
           **kwargs)
    expect(c.describe_role, "Admin", code=65535, message=NOT_FOUND_ROLE, compatible_code=SELECT_GRANT_FAILURE)


def test_describe_role_validates_the_role_name(client, profile):
    """P1 §2.7 SelectGrant: ValidateRoleName (1100); an empty name is pymilvus's ParamError (P2)."""
    c = client(profile=profile)
    expect(c.describe_role, "1cf", code=1100, message=role_first_char_error(profile, "1"),
           compatible_code=ILLEGAL_ARGUMENT)
    expect(c.describe_role, " ", code=1100, message=blank_role_error(profile), compatible_code=ILLEGAL_ARGUMENT)
    expect_error(c.describe_role, "", code=1, message="`role_name` value  is illegal", exc_type=ParamError)


def test_roles_whose_names_are_prefixes_keep_their_own_grants(client, profile):
    """Roles `r` and `r1`: Milvus keys grants by `<role>/...`; a prefix role must not see the other's (checked on
    2.3.5, conformance case describe_role_of_a_prefix_role)."""
    c = client(profile=profile)
    c.create_role("r")
    c.create_role("r1")
    c.grant_privilege("r1", "Collection", "Query", "col")
    assert grants_of(c, "r") == []
    c.drop_role("r")
    assert grants_of(c, "r1") == [grant("Collection", "col", "default", "r1", "Query")]


# ------------------------------------------------------------------------------------------------
# The grantor


def _second_client(client, profile, tmp_path, grantee_privileges):
    """A root client and a client of user `g`, on one registry file; `g` holds a role with the given grants."""
    uri = str(tmp_path / "registry.db")
    root = client(profile=profile, uri=uri)
    root.create_user("g", PW)
    root.create_role("granting")
    # Milvus 3.0 checks cluster-level privileges (ManageOwnership, All) in `*` only.
    db_name = "*" if profile == "milvus-3.0" else ""
    for object_type, privilege in grantee_privileges:
        root.grant_privilege("granting", object_type, privilege, "*", db_name=db_name)
    root.grant_role("g", "granting")
    root.create_role("r")
    return root, client(profile=profile, uri=uri, token=f"g:{PW}")


@pytest.mark.parametrize("privileges", [[("Global", "ManageOwnership")], [("Global", "All")]])
def test_grantor_is_the_calling_user(client, profile, tmp_path, privileges):
    """P1 §2.7: `current user from context becomes grantor`; P2 observed it (grantor `root` for root's grants).
    The grantor stays when the user is dropped (P1 §6.3: grants whose grantor was that user are untouched)."""
    root, g = _second_client(client, profile, tmp_path, privileges)
    g.grant_privilege("r", "Collection", "Query", "col")
    root.grant_privilege("r", "Collection", "Search", "col")
    expected = [
        grant("Collection", "col", "default", "r", "Query", "g"),
        grant("Collection", "col", "default", "r", "Search", "root"),
    ]
    assert grants_of(root, "r") == expected
    # granting again does not change the recorded grantor (the grant exists: an ignorable error, P1 §6.9)
    root.grant_privilege("r", "Collection", "Query", "col")
    assert grants_of(root, "r") == expected
    root.drop_user("g")
    assert grants_of(root, "r") == expected


def test_grantor_through_the_admin_role(client, profile, tmp_path):
    """A holder of admin passes every check (P1 §3) and is recorded as grantor."""
    uri = str(tmp_path / "registry.db")
    root = client(profile=profile, uri=uri)
    root.create_user("a", PW)
    root.grant_role("a", "admin")
    root.create_role("r")
    a = client(profile=profile, uri=uri, token=f"a:{PW}")
    a.grant_privilege("r", "User", "SelectUser", "a")
    a.grant_privilege("r", "Collection", "Load", "col")
    assert grants_of(root, "r") == [
        grant("Collection", "col", "default", "r", name, "a")
        for name in ("GetLoadState", "GetLoadingProgress", "Load")
    ] + [grant("User", "a", "default", "r", "SelectUser", "a")]


# ------------------------------------------------------------------------------------------------
# drop_role with grants


def _drop_error(profile: str) -> str:
    """P1 §6.7 (2.6 prefixed `failed to check if drop role: `)."""
    return f"failed to check if drop role: {HAS_GRANTS}" if profile in ("milvus-2.6", "milvus-3.0") else HAS_GRANTS


@pytest.mark.parametrize("db_name", ["", "*", "default"])
def test_drop_role_with_grants_fails_without_force(c, profile, db_name):
    """P1 §6.7, P2: 65535 with DropRoleFailure (36); after revoking, the drop succeeds."""
    c.grant_privilege("r", "Collection", "Query", "col", db_name=db_name)
    expect(c.drop_role, "r", code=65535, message=_drop_error(profile), compatible_code=DROP_ROLE_FAILURE)
    expect(c.drop_role, "r", force_drop=False, code=65535, message=_drop_error(profile),
           compatible_code=DROP_ROLE_FAILURE)
    assert "r" in c.list_roles()
    c.revoke_privilege("r", "Collection", "Query", "col", db_name=db_name)
    c.drop_role("r")
    assert c.list_roles() == ["admin", "public"]


def test_force_drop_is_ignored_in_milvus_24(client):
    """P2 "drop_user / drop_role": `force_drop=True is silently ignored (same error)`."""
    c = client(profile="milvus-2.4")
    c.create_role("r")
    c.grant_privilege("r", "Global", "All", "*")
    expect(c.drop_role, "r", force_drop=True, code=65535, message=HAS_GRANTS, compatible_code=DROP_ROLE_FAILURE)
    assert grants_of(c, "r") == [grant("Global", "*", "default", "r", "All")]


@pytest.mark.parametrize("profile", GROUP_PROFILES)
def test_force_drop_drops_the_grants_in_25(client, profile):
    """P1 §6.7: with force_drop=true the grants are deleted too (2.5+); a re-created role starts empty."""
    c = client(profile=profile)
    c.create_user("u", PW)
    c.create_role("r")
    c.grant_role("u", "r")
    c.grant_privilege("r", "Global", "All", "*")
    c.grant_privilege("r", "Collection", "Query", "col", db_name="other")
    assert c.drop_role("r", force_drop=True) is None
    assert c.list_roles() == ["admin", "public"]
    assert c.describe_user("u")["roles"] == ()
    c.create_role("r")
    assert grants_of(c, "r", db_name="*") == []


def test_which_databases_drop_role_looks_in(client, profile):
    """P1 §6.7: 2.4 looks for grants visible from default (+`*`) only, so grants in other databases do not block the
    drop (P2/conformance README observed this on 2.3.5); 2.5+ look in every database."""
    c = client(profile=profile)
    c.create_role("r")
    c.grant_privilege("r", "Collection", "Query", "col", db_name="other")
    if profile == "milvus-2.4":
        assert c.drop_role("r") is None
        assert c.list_roles() == ["admin", "public"]
    else:
        expect(c.drop_role, "r", code=65535, message=_drop_error(profile), compatible_code=DROP_ROLE_FAILURE)


def test_users_do_not_block_a_drop_but_grants_do(c, profile):
    """P1 §6.7: users bound to the role do not block the drop and lose it; grants block it."""
    c.create_user("u", PW)
    c.grant_role("u", "r")
    c.grant_privilege("r", "User", "SelectUser", "u")
    expect(c.drop_role, "r", code=65535, message=_drop_error(profile), compatible_code=DROP_ROLE_FAILURE)
    assert c.describe_user("u")["roles"] == ("r",)
    c.revoke_privilege("r", "User", "SelectUser", "u")
    c.drop_role("r")
    assert c.describe_user("u")["roles"] == ()


def test_grant_to_a_dropped_role(c, profile):
    c.drop_role("r")
    for method in (c.grant_privilege, c.revoke_privilege):
        expect(method, "r", "Collection", "Query", "col", code=65535, message=role_error(profile),
               compatible_code=OPERATE_PRIVILEGE_FAILURE)
