"""A small pure-Python model of Milvus's RBAC rules, written from ../shared/milvus-facts.md (Part 1), for the
model-based test (tests/test_model.py). It covers the server lines 2.5 and 2.6 (2.6.19, with descriptions).

Each operation returns an `Expect`: a value, or an error with its code and, where the facts give it, its exact
message or a pattern of it. The model changes its state only when the operation succeeds.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any, Dict, FrozenSet, List, Optional, Set, Tuple

# §4.3: grantable privileges per object type.
COLLECTION_25 = [
    "Load", "Release", "Compaction", "Insert", "Delete", "Upsert", "GetStatistics", "CreateIndex", "IndexDetail",
    "DropIndex", "Search", "Flush", "Query", "LoadBalance", "Import", "GetLoadingProgress", "GetLoadState",
    "CreatePartition", "DropPartition", "ShowPartitions", "HasPartition", "GetFlushState", "ReadOnly", "ReadWrite",
]
BUILTIN_GROUPS = [
    "ClusterReadOnly", "ClusterReadWrite", "ClusterAdmin", "DatabaseReadOnly", "DatabaseReadWrite", "DatabaseAdmin",
    "CollectionReadOnly", "CollectionReadWrite", "CollectionAdmin",
]
GLOBAL_25 = [
    "All", "CreateCollection", "DropCollection", "DescribeCollection", "ShowCollections", "RenameCollection",
    "CreateOwnership", "DropOwnership", "SelectOwnership", "ManageOwnership", "BackupRBAC", "RestoreRBAC",
    "CreateResourceGroup", "UpdateResourceGroups", "DropResourceGroup", "DescribeResourceGroup",
    "ListResourceGroups", "TransferReplica", "TransferNode", "FlushAll", "CreateDatabase", "DropDatabase",
    "ListDatabases", "AlterDatabase", "DescribeDatabase", "CreateAlias", "DropAlias", "DescribeAlias", "ListAliases",
    "Admin", "CreatePrivilegeGroup", "DropPrivilegeGroup", "ListPrivilegeGroups", "OperatePrivilegeGroup",
] + BUILTIN_GROUPS
USER_TYPE = ["UpdateUser", "SelectUser"]
LEGACY_GROUPS = ["ReadOnly", "ReadWrite", "Admin"]

# §4.5: the legacy groups, evaluated at check time.
LEGACY_READ_ONLY = [
    "Query", "Search", "IndexDetail", "GetFlushState", "GetLoadState", "GetLoadingProgress", "HasPartition",
    "ShowPartitions", "ShowCollections", "ListAliases", "ListDatabases", "DescribeCollection", "DescribeDatabase",
    "DescribeAlias", "GetStatistics",
]
LEGACY_READ_WRITE = LEGACY_READ_ONLY + [
    "CreateIndex", "DropIndex", "CreatePartition", "DropPartition", "Load", "Release", "Insert", "Delete", "Upsert",
    "Import", "Flush", "Compaction", "LoadBalance", "RenameCollection", "CreateAlias", "DropAlias",
]
LEGACY_ADMIN = ["CreateCollection", "DropCollection"] + LEGACY_READ_WRITE + [
    "CreateOwnership", "DropOwnership", "SelectOwnership", "ManageOwnership", "SelectUser", "UpdateUser",
    "BackupRBAC", "RestoreRBAC", "CreateResourceGroup", "UpdateResourceGroups", "DropResourceGroup",
    "DescribeResourceGroup", "ListResourceGroups", "TransferReplica", "TransferNode", "CreateDatabase",
    "DropDatabase", "AlterDatabase", "Flush",
]

# §4.6: the nine built-in groups (2.5 members; 2.6 additions applied in `Catalog`).
COLL_RO = [
    "Query", "Search", "IndexDetail", "GetFlushState", "GetLoadState", "GetLoadingProgress", "HasPartition",
    "ShowPartitions", "DescribeCollection", "DescribeAlias", "GetStatistics", "ListAliases",
]
COLL_RW_EXTRA = [
    "Load", "Release", "Insert", "Delete", "Upsert", "Import", "Flush", "Compaction", "LoadBalance", "CreateIndex",
    "DropIndex", "CreatePartition", "DropPartition",
]
DB_RO = ["ShowCollections", "DescribeDatabase"]
CLUSTER_RO = ["ListDatabases", "SelectOwnership", "SelectUser", "DescribeResourceGroup", "ListResourceGroups",
              "ListPrivilegeGroups"]
CLUSTER_RW_EXTRA = ["FlushAll", "TransferNode", "TransferReplica", "UpdateResourceGroups"]
CLUSTER_ADMIN_EXTRA = [
    "BackupRBAC", "RestoreRBAC", "CreateDatabase", "DropDatabase", "CreateOwnership", "DropOwnership",
    "ManageOwnership", "CreateResourceGroup", "DropResourceGroup", "UpdateUser", "RenameCollection",
    "CreatePrivilegeGroup", "DropPrivilegeGroup", "OperatePrivilegeGroup",
]

RELATED = {"Load": ["GetLoadState", "GetLoadingProgress"], "Flush": ["GetFlushState"]}
ANY = "*"
DEFAULT_DB = "default"
# Where milvus-rbac is known to differ from the facts (reported; flip when fixed):
# §6.13: Milvus 2.6 refuses to restore an empty backup ("rbac meta is empty"); milvus-rbac restores nothing.
EMPTY_RESTORE_REFUSED_26 = False

NOT_FOUND_ROLE = "not found the role, maybe the role isn't existed or internal system error"
NOT_FOUND_USER = "not found the user, maybe the user isn't existed or internal system error"


class Catalog:
    def __init__(self, line: str) -> None:
        six = line == "2.6"
        self.collection = COLLECTION_25 + (["GetImportProgress", "ListImport", "AddCollectionField"] if six else [])
        self.global_ = GLOBAL_25 + (["UpdateReplicateConfiguration"] if six else [])
        self.user = USER_TYPE
        # Defined but in no list (grant v2 only): 2.6's file resources and replicate configuration.
        self.extra = ["AddFileResource", "RemoveFileResource", "ListFileResources", "GetReplicateConfiguration"] if six else []
        coll_ro = COLL_RO + (["GetImportProgress", "ListImport"] if six else [])
        coll_rw = coll_ro + COLL_RW_EXTRA + (["AddCollectionField"] if six else [])
        cluster_ro = CLUSTER_RO + (["GetReplicateConfiguration"] if six else [])
        cluster_rw = cluster_ro + CLUSTER_RW_EXTRA
        self.groups: Dict[str, List[str]] = {
            "ClusterReadOnly": cluster_ro,
            "ClusterReadWrite": cluster_rw,
            "ClusterAdmin": cluster_rw + CLUSTER_ADMIN_EXTRA + (["UpdateReplicateConfiguration"] if six else []),
            "DatabaseReadOnly": DB_RO,
            "DatabaseReadWrite": DB_RO + ["AlterDatabase"],
            "DatabaseAdmin": DB_RO + ["AlterDatabase", "CreateCollection", "DropCollection"],
            "CollectionReadOnly": coll_ro,
            "CollectionReadWrite": coll_rw,
            "CollectionAdmin": coll_rw + ["CreateAlias", "DropAlias"],
        }
        self.legacy = {"ReadOnly": LEGACY_READ_ONLY, "ReadWrite": LEGACY_READ_WRITE, "Admin": LEGACY_ADMIN}

    def is_defined(self, name: str) -> bool:
        return name in self.collection or name in self.global_ or name in self.user or name in self.extra

    def object_type_of(self, name: str) -> str:
        """§4.3 GetObjectType: the first list holding the name, else Global."""
        if name in self.collection:
            return "Collection"
        if name in self.user:
            return "User"
        return "Global"

    def grantable(self, object_type: str, name: str) -> bool:
        return name in {"Collection": self.collection, "Global": self.global_, "User": self.user}[object_type]

    def level(self, name: str) -> str:
        """§4.6 GetPrivilegeLevel."""
        if name in self.groups["ClusterAdmin"]:
            return "Cluster"
        if name in self.groups["DatabaseAdmin"]:
            return "Database"
        if name in self.groups["CollectionAdmin"]:
            return "Collection"
        return ""


@dataclass
class Expect:
    """What an operation should do: return `value`, or raise with `code` (and `message` exactly, or matching
    `pattern`). `kind` names the exception class when it matters ("any": some MilvusException)."""

    value: Any = None
    code: Optional[int] = None
    message: Optional[str] = None
    pattern: Optional[str] = None
    kind: Optional[str] = None

    @property
    def ok(self) -> bool:
        return self.code is None and self.kind is None


def err(code: Optional[int], message: Optional[str] = None, pattern: Optional[str] = None,
        kind: Optional[str] = None) -> Expect:
    return Expect(code=code, message=message, pattern=pattern, kind=kind)


def invalid(message: str) -> Expect:
    return err(1100, message)


class Failure(Exception):
    def __init__(self, expect: Expect) -> None:
        super().__init__(expect)
        self.expect = expect


# (role, object type, db, object, privilege, grantor)
Grant = Tuple[str, str, str, str, str, str]


@dataclass
class State:
    users: Dict[str, str] = field(default_factory=dict)  # name -> password
    user_descriptions: Dict[str, str] = field(default_factory=dict)
    roles: Dict[str, str] = field(default_factory=dict)  # name -> description
    members: Set[Tuple[str, str]] = field(default_factory=set)
    grants: Set[Grant] = field(default_factory=set)
    groups: Dict[str, FrozenSet[str]] = field(default_factory=dict)


def go_trim(text: str) -> str:
    return text.strip()


class Model:
    def __init__(self, line: str, max_users: Optional[int], max_roles: Optional[int],
                 super_users: List[str]) -> None:
        assert line in ("2.5", "2.6")
        self.line = line
        self.six = line == "2.6"
        self.catalog = Catalog(line)
        self.max_users = max_users
        self.max_roles = max_roles
        self.super_users = super_users
        self.s = State(users={"root": "Milvus"}, roles={"admin": "", "public": ""})
        for object_type, privilege in (("Global", "DescribeCollection"), ("Global", "ListAliases"),
                                       ("Collection", "IndexDetail")):
            self.s.grants.add(("public", object_type, ANY, ANY, privilege, "root"))

    def snapshot(self) -> State:
        return copy.deepcopy(self.s)

    # Messages that 2.6 prefixes (§6: "(2.6: prefixed)").

    def prefixed(self, context: str, message: str) -> str:
        return f"{context}: {message}" if self.six else message

    # Validators (§2)

    def check_username(self, name: str) -> None:
        name = go_trim(name)
        if not name:
            raise Failure(invalid("username must be not empty: invalid parameter"))
        if len(name.encode()) > 32:
            limit = "32" if self.six else "%!d(string=32)"
            raise Failure(invalid(f"invalid username {name} with length {len(name.encode())}, the length of "
                                  f"username must be less than {limit}: invalid parameter"))
        first = name.encode()[0]
        if not (65 <= first <= 90 or 97 <= first <= 122):
            raise Failure(err(1100, pattern=re.escape(f"invalid user name {name}, the first character must be a "
                                                      "letter, but got ") + ".*: invalid parameter"))
        extra = "_.-" if self.six else "_"
        for b in name.encode()[1:]:
            if not (chr(b).isascii() and (chr(b).isalnum() or chr(b) in extra)):
                wording = ("numbers, letters, underscores, dots, and hyphens" if self.six
                           else "numbers, letters and underscores")
                raise Failure(err(1100, pattern=re.escape(f"invalid user name {name}, username must contain only "
                                                          f"{wording}, but got ") + ".*: invalid parameter"))

    def check_password(self, password: str) -> None:
        n = len(password.encode())
        if n < 6 or n > 72:
            raise Failure(invalid(f"invalid password length: invalid parameter[{n} out of range 6 <= value <= 72]"))

    def check_name(self, entity: str, name_type: str) -> None:
        entity = go_trim(entity)
        if not entity:
            raise Failure(invalid(f"{name_type} should be not empty: invalid parameter[expected=not empty][actual=]"))
        data = entity.encode()
        if len(data) > 255:
            raise Failure(invalid(f"the length of {name_type} must be not greater than limit: invalid "
                                  f"parameter[{len(data)} out of range 0 <= value <= 255]"))
        if not (data[0] == 95 or chr(data[0]).isascii() and chr(data[0]).isalpha()):
            raise Failure(invalid(f"the first character of {name_type} must be an underscore or letter: invalid "
                                  f"parameter[expected=95][actual={data[0]}]"))
        for i, b in enumerate(data[1:], start=1):
            if not (chr(b).isascii() and (chr(b).isalnum() or chr(b) in "_$")):
                raise Failure(err(1100, pattern=re.escape(f"{name_type} can only contain ") + ".*, found .* at "
                                  + (str(i) if b < 128 else r"\d+") + ": invalid parameter"))

    def check_role_name(self, role: str) -> None:
        self.check_name(role, "role name")

    def check_privilege_name(self, privilege: str) -> None:
        if privilege != ANY:
            self.check_name(privilege, "Privilege")

    def check_group_name(self, group: str) -> None:
        """§2.4: no trimming; codes 1402 and 1100."""
        data = group.encode()
        if not data:
            raise Failure(err(1402))
        if len(data) > 255:
            raise Failure(err(1402))
        if not (data[0] == 95 or chr(data[0]).isascii() and chr(data[0]).isalpha()):
            raise Failure(err(1402, f"{group}: invalid privilege group name[privilegeGroup=the first character of a "
                                    "privilege group name %s must be an underscore or letter]"))
        if any(not (chr(b).isascii() and (chr(b).isalnum() or chr(b) == "_")) for b in data[1:]):
            raise Failure(invalid(f"privilege group name {group} can only contain numbers, letters and underscores: "
                                  "invalid parameter"))

    def check_description(self, kind: str, text: str) -> None:
        """§2.6 (2.6.19)."""
        n = len(text.encode())
        if n > 1024:
            raise Failure(invalid(f"invalid {kind} description with length {n}, the length of {kind} description must "
                                  "be less than or equal to 1024: invalid parameter"))

    def check_database_name(self, db: str) -> None:
        data = db.encode()
        if not data or len(data) > 255 or not (data[0] == 95 or chr(data[0]).isascii() and chr(data[0]).isalpha()):
            raise Failure(err(802))
        if any(not (chr(b).isascii() and (chr(b).isalnum() or chr(b) == "_")) for b in data[1:]):
            raise Failure(err(802))

    # Authorization (§5)

    def session_ok(self, user: str, password: str) -> bool:
        return self.s.users.get(user) == password

    def roles_of(self, user: str) -> Set[str]:
        return {r for (u, r) in self.s.members if u == user} | {"public"}

    def allows(self, user: str, privilege: str, object_type: str, object_name: str, db: str) -> bool:
        """§5.1: root; admin; self-service on User objects; then the grants of the user's roles (and public)."""
        if user == "root":
            return True
        roles = self.roles_of(user)
        if "admin" in roles:
            return True
        if object_type == "User" and object_name == user:  # isCurUserObject: any User-object request on oneself
            return True
        for (role, g_type, g_db, g_obj, g_priv, _) in self.s.grants:
            if role not in roles or g_db not in (db, ANY):
                continue
            # All and the legacy groups go through the matcher's third clause, `dbMatch(...) &&
            # privilegeGroupContains(...)` (§5.1). The facts do not define dbMatch; read as database equality
            # (no wildcard), as milvus-rbac reads it.
            if g_priv == "All":
                if g_db == db:
                    return True
                continue
            if g_priv in self.catalog.legacy:
                if g_db == db and privilege in self.catalog.legacy[g_priv] and (
                        g_priv == "Admin" or ANY in (g_obj, object_name) or g_obj == object_name):
                    return True
                continue
            if g_priv in self.s.groups or g_priv in self.catalog.groups:
                members = self.s.groups.get(g_priv) or self.catalog.groups.get(g_priv, [])
                for member in members:
                    m_type = self.catalog.object_type_of(member)
                    if member == privilege and m_type == object_type and (
                            m_type == "Global" or g_obj in (ANY, object_name)):
                        return True
                continue
            if g_type != object_type:
                continue
            if g_priv in (privilege, ANY) and (g_type == "Global" or g_obj in (ANY, object_name)):
                return True
        return False

    def authorize(self, caller: str, privilege: str, object_type: str = "Global", object_name: str = ANY) -> None:
        if not self.allows(caller, privilege, object_type, object_name, DEFAULT_DB):
            raise Failure(err(65535, f"Privilege{privilege}: permission deny to {caller} in the `default` database",
                              kind="PermissionDeniedError"))

    # Users (§6.1-6.5)

    def create_user(self, caller: str, name: str, password: str, description: Optional[str]) -> Expect:
        self.authorize(caller, "CreateOwnership")
        self.check_username(name)
        self.check_password(password)
        if description is not None and self.six:
            self.check_description("user", description)
        stored = go_trim(name) if self.six else name
        at_limit = self.max_users is not None and len(self.s.users) >= self.max_users
        limit = err(65535, self.prefixed("failed to check if add credential",
                                         "unable to add user because the number of users has reached the limit"))
        if at_limit and not self.six:
            raise Failure(limit)
        if stored in self.s.users:
            raise Failure(err(65535, f"user already exists: {stored}"))
        if at_limit:
            raise Failure(limit)
        self.s.users[stored] = password
        self.s.user_descriptions[stored] = (description or "") if self.six else ""
        return Expect(None)

    def drop_user(self, caller: str, name: str) -> Expect:
        self.authorize(caller, "DropOwnership")
        if name == "root":
            raise Failure(err(1401, "root user cannot be deleted: privilege not permitted"))
        if not name.strip():
            raise Failure(err(65535))  # a real 2.3.5 server: `fail to execute task when deleting the user`
        self.s.users.pop(name, None)
        self.s.user_descriptions.pop(name, None)
        self.s.members = {m for m in self.s.members if m[0] != name}
        return Expect(None)

    def update_password(self, caller: str, name: str, old: str, new: str) -> Expect:
        self.authorize(caller, "UpdateUser", "User", name)
        self.check_password(new)
        super_user = caller in self.super_users
        if not super_user and self.s.users.get(name) != old:
            raise Failure(err(1400, pattern=r"old password not correct for .*: not authenticated"))
        if name not in self.s.users:
            if self.six:
                raise Failure(err(65535, "failed to check if update credential: user not found"))
            self.s.user_descriptions[name] = ""  # 2.4/2.5 create it (§6.2)
        self.s.users[name] = new
        return Expect(None)

    def update_user(self, caller: str, name: str, description: str) -> Expect:
        self.authorize(caller, "UpdateUser", "User", name)
        if not self.six:
            # pymilvus sends empty passwords, which 2.5 validates (§11.1).
            raise Failure(invalid("invalid password length: invalid parameter[0 out of range 6 <= value <= 72]"))
        if not name.strip():
            raise Failure(err(None, kind="any"))  # the facts do not say which check refuses it first
        self.check_description("user", description)
        if name not in self.s.users:
            raise Failure(err(65535))
        self.s.user_descriptions[name] = description
        return Expect(None)

    def list_users(self, caller: str) -> Expect:
        self.authorize(caller, "SelectOwnership")
        return Expect(sorted(self.s.users))

    def describe_user(self, caller: str, name: str) -> Expect:
        self.authorize(caller, "SelectUser", "User", name)
        self.check_username(name)
        if name not in self.s.users:
            return Expect({})
        roles = tuple(sorted(r for (u, r) in self.s.members if u == name))
        return Expect({"user_name": name, "roles": roles, "description": self.s.user_descriptions.get(name, "")})

    # Roles (§6.6-6.8)

    def create_role(self, caller: str, role: str, description: str) -> Expect:
        self.authorize(caller, "CreateOwnership")
        self.check_role_name(role)
        if self.six:
            self.check_description("role", description)  # the proxy's check, before the coordinator's
        if role in self.s.roles:
            raise Failure(err(65535, f'role [name:"{role}"] already exists'))
        if self.max_roles is not None and len(self.s.roles) >= self.max_roles:
            raise Failure(err(65535, self.prefixed(
                "failed to check if create role", "unable to create role because the number of roles has reached the limit")))
        self.s.roles[role] = description if self.six else ""
        return Expect(None)

    def alter_role(self, caller: str, role: str, description: str) -> Expect:
        if not self.six:
            # No AlterRole before 2.6.19: a server answers "unknown method" whoever asks.
            raise Failure(err(None, kind="MilvusException"))
        self.authorize(caller, "CreateOwnership")
        self.check_role_name(role)
        self.check_description("role", description)
        if role in ("admin", "public"):
            raise Failure(err(1401, f"the role[{role}] is a default role, which can't be altered: privilege not permitted"))
        if role not in self.s.roles:
            raise Failure(err(65535))
        self.s.roles[role] = description
        return Expect(None)

    def drop_role(self, caller: str, role: str, force: bool) -> Expect:
        self.authorize(caller, "DropOwnership")
        self.check_role_name(role)
        if role in ("admin", "public"):
            raise Failure(err(1401, f"the role[{role}] is a default role, which can't be dropped: privilege not permitted"))
        if role not in self.s.roles:
            raise Failure(err(65535, NOT_FOUND_ROLE))
        if any(g[0] == role for g in self.s.grants) and not force:
            raise Failure(err(65535, self.prefixed(
                "failed to check if drop role",
                "fail to drop the role that it has privileges. Use REVOKE API to revoke privileges")))
        del self.s.roles[role]
        self.s.members = {m for m in self.s.members if m[1] != role}
        self.s.grants = {g for g in self.s.grants if g[0] != role}
        return Expect(None)

    def list_roles(self, caller: str) -> Expect:
        self.authorize(caller, "SelectOwnership")
        return Expect(sorted(self.s.roles))

    def grant_role(self, caller: str, user: str, role: str) -> Expect:
        self.authorize(caller, "ManageOwnership")
        self.check_username(user)
        self.check_role_name(role)
        if role not in self.s.roles:
            raise Failure(err(65535, NOT_FOUND_ROLE))
        if user not in self.s.users:
            raise Failure(err(65535, self.prefixed("failed to check if operate user role", NOT_FOUND_USER)))
        self.s.members.add((user, role))
        return Expect(None)

    def revoke_role(self, caller: str, user: str, role: str) -> Expect:
        self.authorize(caller, "ManageOwnership")
        self.check_username(user)
        self.check_role_name(role)
        if role not in self.s.roles:
            raise Failure(err(65535, NOT_FOUND_ROLE))
        self.s.members.discard((user, role))
        return Expect(None)

    # Grants (§6.9-6.11)

    def _apply(self, grant: bool, row: Grant) -> None:
        rows = [row] + [row[:4] + (p,) + row[5:] for p in RELATED.get(row[4], [])]
        for r in rows:
            if grant:
                if not any(g[:5] == r[:5] for g in self.s.grants):  # the first grantor stays
                    self.s.grants.add(r)
            else:
                self.s.grants = {g for g in self.s.grants if g[:5] != r[:5]}

    def _common_check(self, message: str) -> Expect:
        return err(65535, self.prefixed("failed to operate privilege common check", message))

    def operate_privilege(self, caller: str, grant: bool, role: str, object_type: str, privilege: str,
                          object_name: str, db: str) -> Expect:
        self.authorize(caller, "ManageOwnership")
        self.check_privilege_name(privilege)
        self.check_name(object_type, "ObjectType")
        if object_name != ANY:
            self.check_name(object_name, "object name")
        self.check_role_name(role)
        if object_type not in ("Global", "Collection", "User"):
            raise Failure(self._common_check("the object entity in the request is nil or invalid"))
        if role not in self.s.roles:
            raise Failure(self._common_check(NOT_FOUND_ROLE))
        if privilege != ANY:
            if privilege in self.s.groups:
                raise Failure(self._common_check(f"can not operate the custom privilege group [{privilege}]"))
            if privilege in self.catalog.groups:
                raise Failure(self._common_check(f"can not operate the built-in privilege group [{privilege}]"))
            if not self.catalog.grantable(object_type, privilege):
                raise Failure(self._common_check(f"not found the privilege name[{privilege}] in object[{object_type}]"))
        if object_type == "Global" and privilege not in LEGACY_GROUPS:
            object_name = ANY
        self._apply(grant, (role, object_type, db or DEFAULT_DB, object_name, privilege, caller))
        return Expect(None)

    def operate_privilege_v2(self, caller: str, grant: bool, role: str, privilege: str, collection: str,
                             db: Optional[str]) -> Expect:
        self.authorize(caller, "ManageOwnership")
        db = db or ""
        self.check_role_name(role)
        self.check_privilege_name(privilege)
        if db not in ("", ANY):
            self.check_database_name(db)
        if collection != ANY:
            self.check_name(collection, "collection name")
        if role not in self.s.roles:
            raise Failure(self._common_check(NOT_FOUND_ROLE))
        custom = privilege in self.s.groups
        if privilege != ANY and not custom and not self.catalog.is_defined(privilege):
            raise Failure(err(65535, pattern=r"(failed to operate privilege common check: )?"
                                             + re.escape(f"not found the privilege name[{privilege}]")))
        level = ""
        if custom and self.s.groups[privilege]:
            level = self.catalog.level(sorted(self.s.groups[privilege])[0])
            if not level:
                raise Failure(err(65535, "not found the privilege level"))
        elif privilege in self.catalog.groups:
            level = privilege.replace("ReadOnly", "").replace("ReadWrite", "").replace("Admin", "")
        problem = None
        if level == "Cluster" and (db != ANY or collection != ANY):
            problem = "dbName and collectionName should be * for the cluster level privilege"
        elif level == "Database" and collection not in ("", ANY):
            problem = "collectionName should be * for the database level privilege"
        elif level == "Collection" and db == ANY and collection != ANY:
            problem = "please specify database name for the collection level privilege"
        if problem:
            raise Failure(invalid(f"{problem}: {privilege}: invalid parameter"))
        object_type = "Global" if custom else self.catalog.object_type_of(privilege)
        self._apply(grant, (role, object_type, db or DEFAULT_DB, collection, privilege, caller))
        return Expect(None)

    def stored_privilege_name(self, privilege: str) -> str:
        if privilege == ANY:
            return ANY
        if privilege in self.catalog.groups or privilege in LEGACY_GROUPS or privilege in self.s.groups:
            return "PrivilegeGroup" + privilege
        return "Privilege" + privilege

    def describe_role(self, caller: str, role: str, db: str) -> Expect:
        self.authorize(caller, "SelectOwnership")
        self.check_role_name(role)
        if role not in self.s.roles:
            raise Failure(err(65535, NOT_FOUND_ROLE))
        db = db or DEFAULT_DB
        rows = [g for g in self.s.grants if g[0] == role and (db == ANY or g[2] in (db, ANY))]
        rows.sort(key=lambda g: (g[1], f"{g[2]}.{g[3]}", self.stored_privilege_name(g[4])))
        privileges = [{"object_type": g[1], "object_name": g[3], "db_name": g[2], "role_name": g[0],
                       "privilege": g[4], "grantor_name": g[5]} for g in rows]
        return Expect({"role": role, "description": self.s.roles[role], "privileges": privileges})

    def check_privilege(self, user: str, privilege: str, object_type: str, object_name: str, db: str) -> Expect:
        return Expect(self.allows(user, privilege, object_type, object_name, db or DEFAULT_DB))

    # Privilege groups (§6.12)

    def _group_check(self, message: str) -> Expect:
        return invalid(self.prefixed("failed to check if privilege group creatable", message))

    def create_privilege_group(self, caller: str, group: str) -> Expect:
        self.authorize(caller, "CreatePrivilegeGroup")
        self.check_group_name(group)
        if group in self.s.groups:
            raise Failure(self._group_check(f"privilege group name [{group}] is defined by users: invalid parameter"))
        if self.catalog.is_defined(group) or group in self.catalog.groups or group in LEGACY_GROUPS:
            raise Failure(self._group_check(f"privilege group name [{group}] is defined by built in privileges or "
                                            "privilege groups in system: invalid parameter"))
        self.s.groups[group] = frozenset()
        return Expect(None)

    def drop_privilege_group(self, caller: str, group: str) -> Expect:
        self.authorize(caller, "DropPrivilegeGroup")
        self.check_group_name(group)
        if group not in self.s.groups:
            return Expect(None)
        users = sorted(g[0] for g in self.s.grants if g[4] == group)
        if users:
            raise Failure(err(65535, pattern=r"(.*: )?" + re.escape(
                f"privilege group [{group}] is used by role [{users[0]}], Use REVOKE API to revoke it first")))
        del self.s.groups[group]
        return Expect(None)

    def list_privilege_groups(self, caller: str) -> Expect:
        self.authorize(caller, "ListPrivilegeGroups")
        custom = [{"privilege_group": g, "privileges": tuple(sorted(self.s.groups[g]))} for g in sorted(self.s.groups)]
        builtin = [{"privilege_group": g, "privileges": frozenset(self.catalog.groups[g])} for g in BUILTIN_GROUPS]
        return Expect(custom + builtin)

    def change_privilege_group(self, caller: str, add: bool, group: str, privileges: List[str]) -> Expect:
        self.authorize(caller, "OperatePrivilegeGroup")
        self.check_group_name(group)
        for p in privileges:
            self.check_privilege_name(p)
        alter = "failed to check if privilege group alterable"
        if group in self.catalog.groups or group not in self.s.groups:
            raise Failure(err(1100) if not self.six else invalid(
                f"{alter}: there is no privilege group name [{group}] defined in system to operate: invalid parameter"))
        for p in privileges:
            if not (self.catalog.is_defined(p) or p in self.s.groups):
                message = f"there is no privilege name or privilege group name [{p}] defined in system to operate: invalid parameter"
                raise Failure(invalid(f"{alter}: {message}" if self.six else message))
        if add:
            levels = {self.catalog.level(p) for p in set(privileges) | self.s.groups[group]}
            if len(levels) > 1:
                raise Failure(invalid(f"{alter}: privileges are not the same privilege level: invalid parameter")
                              if self.six else err(65535, "privileges are not the same privilege level"))
            self.s.groups[group] = self.s.groups[group] | set(privileges)
        else:
            self.s.groups[group] = self.s.groups[group] - set(privileges)
        return Expect(None)

    # Backup and restore (§6.13)

    def backup(self, caller: str) -> Expect:
        self.authorize(caller, "BackupRBAC")
        return Expect(self.snapshot())

    def restore(self, caller: str, saved: State) -> Expect:
        self.authorize(caller, "RestoreRBAC")
        users = {u: p for u, p in saved.users.items() if u != "root"}
        roles = {r: d for r, d in saved.roles.items() if r not in ("admin", "public")}
        grants = {g for g in saved.grants if g[0] in roles}
        for user in users:
            # Not in the facts: milvus-rbac validates the names in a backup, so a user that 2.5's
            # update_password created under an invalid name (a super user's quirk, §6.2) does not restore.
            try:
                self.check_username(user)
            except Failure:
                raise Failure(err(1100))
        if not users and not roles and not grants and not saved.groups:
            if self.six and EMPTY_RESTORE_REFUSED_26:
                raise Failure(err(65535, pattern=".*rbac meta is empty"))
            return Expect(None)
        conflicts = [r for r in roles if r in self.s.roles] + [g for g in saved.groups if g in self.s.groups] \
            + [u for u in users if u in self.s.users]
        if conflicts:
            raise Failure(err(65535, pattern=r".*already exists.*"))
        self.s.users.update(users)
        for u in users:
            self.s.user_descriptions[u] = saved.user_descriptions.get(u, "")
        self.s.roles.update(roles)
        self.s.members |= {m for m in saved.members if m[0] in users}
        self.s.grants |= grants
        self.s.groups.update(saved.groups)
        return Expect(None)
