"""Enforcement (issue 4): every RBAC call is checked as Milvus's privilege interceptor checks it.

References are to /work/shared/milvus-facts.md: "P1 §3" (built-in users and roles, root bypass, self-service
exemptions), "P1 §5" (operation -> privilege table and how the check works), "P2" (a real 2.3.5 server:
"Enforcement", "Authentication"). Denials are `PermissionDeniedError` (65535) with
``Privilege<Name>: permission deny to <user> in the `<db>` database`` (P1 §5.1 step 8; 2.3.5 prints no db suffix).

Most tests need a second client on the same registry, so they use a file registry. Opening one costs ~50 ms of
SQLite set-up and fsyncs, so each profile's base registry is built once per module and copied for every test.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rbac_testing import PW, PW2, expect_error

from milvus_rbac import AuthenticationError, MilvusClient, MilvusException, PermissionDeniedError

SUBJECT = "u"  # the user whose client is checked
TARGET = "v"  # the user other-user operations act on
OTHER = "w"  # another user: a grant on w must not help with v
BAD = "auth check failure, please check username and password are correct"

# Roles and groups of the base registry: the subject holds r_subject; v holds r_held; r_target is free.
# r_held holds grants for the revoke operations to remove; g_held holds Query for remove_privileges_from_group.
BACKUP = {
    "version": 1,
    "users": [],
    "roles": [{"role_name": "r_restored", "description": ""}],
    "grants": [],
    "privilege_groups": [],
}


def denied(privilege: str, user: str = SUBJECT, db: Optional[str] = "default") -> str:
    """P1 §5.1 step 8; `db=None` for milvus-2.4 (P2 "Enforcement": no db suffix on 2.3.5)."""
    suffix = f" in the `{db}` database" if db is not None else ""
    return f"Privilege{privilege}: permission deny to {user}{suffix}"


# --- base registries -----------------------------------------------------------------------------------------


def build_base(path: str, profile: str, **settings_: Any) -> None:
    root = MilvusClient(path, token="root:Milvus", profile=profile, password_hash="fast", **settings_)
    for name in (SUBJECT, TARGET, OTHER):
        root.create_user(name, PW)
    for role in ("r_subject", "r_target", "r_held"):
        root.create_role(role)
    root.grant_role(SUBJECT, "r_subject")
    root.grant_role(TARGET, "r_held")
    root.grant_privilege("r_held", "Collection", "Query", "books")
    if profile != "milvus-2.4":
        root.grant_privilege_v2("r_held", "Insert", "books", "default")
        root.create_privilege_group("g_target")
        root.create_privilege_group("g_held")
        root.add_privileges_to_group("g_held", ["Query"])
    root.close()


@pytest.fixture(scope="module")
def scratch_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Where this module's registries live. They are written with `synchronous=FULL`; on tmpfs (/dev/shm) the
    fsyncs of their few thousand small transactions cost nothing. Durability is tested in test_persistence."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        directory = Path(tempfile.mkdtemp(prefix="milvus-rbac-tests-", dir=shm))
        yield directory
        shutil.rmtree(directory, ignore_errors=True)
    else:
        yield tmp_path_factory.mktemp("registries")


class Bases:
    """Base registries, built on first use and copied for each test."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.built: dict[tuple[str, tuple[tuple[str, Any], ...]], str] = {}
        self.copies = itertools.count()

    def new_path(self) -> str:
        return str(self.directory / f"registry-{next(self.copies)}.db")

    def copy(self, profile: str = "docs", **settings_: Any) -> str:
        """A new registry like the base one of `profile` (and settings)."""
        key = (profile, tuple(sorted(settings_.items())))
        if key not in self.built:
            path = str(self.directory / f"base-{len(self.built)}.db")
            build_base(path, profile, **settings_)
            self.built[key] = path
        source = self.built[key]
        target = self.new_path()
        for file in glob.glob(source + "*"):  # the database, and its WAL if one was left
            shutil.copyfile(file, target + file[len(source):])
        return target


@pytest.fixture(scope="module")
def bases(scratch_dir: Path) -> Bases:
    return Bases(scratch_dir)


@pytest.fixture
def clients() -> Iterator[Callable[..., MilvusClient]]:
    opened: list[MilvusClient] = []

    def connect(path: str, user: str = "root", password: str = "Milvus", **kwargs: Any) -> MilvusClient:
        c = MilvusClient(path, token=f"{user}:{password}", **kwargs)
        opened.append(c)
        return c

    yield connect
    for c in opened:
        c.close()


@pytest.fixture
def db(bases: Bases) -> str:
    """A copy of the docs base registry."""
    return bases.copy()


# --- the operations ------------------------------------------------------------------------------------------

Grant = tuple[str, str, str, str]  # object_type, privilege, object_name, db_name (grant_privilege v1)


def roles_of(root: MilvusClient, user: str) -> tuple[str, ...]:
    return tuple(root.describe_user(user).get("roles", ()))


def group(root: MilvusClient, name: str) -> Optional[tuple[str, ...]]:
    for g in root.list_privilege_groups():
        if g["privilege_group"] == name:
            return tuple(g["privileges"])
    return None


def grants_of(root: MilvusClient, role: str) -> set[tuple[str, str, str]]:
    return {(g["object_type"], g["object_name"], g["privilege"]) for g in root.describe_role(role)["privileges"]}


def logs_in(path: str, user: str, password: str) -> bool:
    try:
        MilvusClient(path, token=f"{user}:{password}").close()
    except AuthenticationError:
        return False
    return True


@dataclass(frozen=True)
class Op:
    """An RBAC operation: what it requires (P1 §5.2), a call, and the visible effect of that call."""

    name: str
    object_type: str
    privilege: str
    call: Callable[[MilvusClient], Any]
    # Privileges that are close to the requirement but must not satisfy it (granted through grant v1).
    near_misses: tuple[Grant, ...]
    # effect(root, path) -> whether the call's change is visible; None for reads.
    effect: Optional[Callable[[MilvusClient, str], bool]] = None
    # The same operation on the subject itself (object type User only: self-service, P1 §3).
    self_call: Optional[Callable[[MilvusClient], Any]] = None
    groups: bool = False  # needs Milvus 2.5+ (grant v2, privilege groups)

    @property
    def object_name(self) -> str:
        return TARGET if self.object_type == "User" else "*"

    @property
    def exact(self) -> Grant:
        return (self.object_type, self.privilege, self.object_name, "default")

    @property
    def in_other_db(self) -> Grant:
        """The exact privilege in a database the client is not in (P2 "Enforcement": `no_such_db` does not
        apply)."""
        return (self.object_type, self.privilege, self.object_name, "no_such_db")


def global_op(name, privilege, call, sibling, effect=None, groups=False) -> Op:
    """A Global requirement on `*`; `sibling` is a near miss: another Global privilege, or a whole grant."""
    near_miss = ("Global", sibling, "*", "default") if isinstance(sibling, str) else sibling
    return Op(name, "Global", privilege, call, (near_miss,), effect, groups=groups)


SELECT_USER_ON_ALL = ("User", "SelectUser", "*", "default")  # "select", but of users, not of roles


OPS = [
    global_op(
        "create_user", "CreateOwnership", lambda c: c.create_user("u_new", PW), "DropOwnership",
        lambda root, _: "u_new" in root.list_users(),
    ),
    Op(
        "update_password", "User", "UpdateUser", lambda c: c.update_password(TARGET, PW, PW2),
        (("User", "UpdateUser", OTHER, "default"), ("User", "SelectUser", TARGET, "default")),
        lambda _, path: logs_in(path, TARGET, PW2),
        # reset_connection=True: the client goes on with the new password (see the freshness tests).
        self_call=lambda c: c.update_password(SUBJECT, PW, PW2, reset_connection=True),
    ),
    Op(
        "update_user", "User", "UpdateUser", lambda c: c.update_user(TARGET, "changed"),
        (("User", "UpdateUser", OTHER, "default"), ("User", "SelectUser", TARGET, "default")),
        lambda root, _: root.describe_user(TARGET)["description"] == "changed",
        self_call=lambda c: c.update_user(SUBJECT, "changed"),
    ),
    global_op(
        "drop_user", "DropOwnership", lambda c: c.drop_user(TARGET), "CreateOwnership",
        lambda root, _: TARGET not in root.list_users(),
    ),
    global_op("list_users", "SelectOwnership", lambda c: c.list_users(), SELECT_USER_ON_ALL),
    Op(
        "describe_user", "User", "SelectUser", lambda c: c.describe_user(TARGET),
        (("User", "SelectUser", OTHER, "default"), ("User", "UpdateUser", TARGET, "default")),
        self_call=lambda c: c.describe_user(SUBJECT),
    ),
    global_op(
        "create_role", "CreateOwnership", lambda c: c.create_role("r_new"), "DropOwnership",
        lambda root, _: "r_new" in root.list_roles(),
    ),
    global_op(
        "alter_role", "CreateOwnership", lambda c: c.alter_role("r_target", "changed"), "ManageOwnership",
        lambda root, _: root.describe_role("r_target")["description"] == "changed",
    ),
    global_op(
        "drop_role", "DropOwnership", lambda c: c.drop_role("r_target"), "CreateOwnership",
        lambda root, _: "r_target" not in root.list_roles(),
    ),
    global_op("list_roles", "SelectOwnership", lambda c: c.list_roles(), "ListPrivilegeGroups"),
    global_op(
        "grant_role", "ManageOwnership", lambda c: c.grant_role(TARGET, "r_target"), "CreateOwnership",
        lambda root, _: "r_target" in roles_of(root, TARGET),
    ),
    global_op(
        "revoke_role", "ManageOwnership", lambda c: c.revoke_role(TARGET, "r_held"), "DropOwnership",
        lambda root, _: "r_held" not in roles_of(root, TARGET),
    ),
    global_op(
        "grant_privilege", "ManageOwnership",
        lambda c: c.grant_privilege("r_target", "Collection", "Search", "books"), "OperatePrivilegeGroup",
        lambda root, _: ("Collection", "books", "Search") in grants_of(root, "r_target"),
    ),
    global_op(
        "revoke_privilege", "ManageOwnership",
        lambda c: c.revoke_privilege("r_held", "Collection", "Query", "books"), "OperatePrivilegeGroup",
        lambda root, _: ("Collection", "books", "Query") not in grants_of(root, "r_held"),
    ),
    global_op(
        "grant_privilege_v2", "ManageOwnership",
        lambda c: c.grant_privilege_v2("r_target", "Search", "books", "default"), "CreatePrivilegeGroup",
        lambda root, _: ("Collection", "books", "Search") in grants_of(root, "r_target"), groups=True,
    ),
    global_op(
        "revoke_privilege_v2", "ManageOwnership",
        lambda c: c.revoke_privilege_v2("r_held", "Insert", "books", "default"), "DropPrivilegeGroup",
        lambda root, _: ("Collection", "books", "Insert") not in grants_of(root, "r_held"), groups=True,
    ),
    # describe_role needs SelectOwnership even for one's own role: pymilvus 3.0 asks SelectRole first (README
    # "Where milvus-rbac differs"; P2 "Enforcement": SelectRole for describe_role "even for ... own role").
    global_op("describe_role", "SelectOwnership", lambda c: c.describe_role("r_held"), SELECT_USER_ON_ALL),
    global_op(
        "create_privilege_group", "CreatePrivilegeGroup", lambda c: c.create_privilege_group("g_new"),
        "OperatePrivilegeGroup", lambda root, _: group(root, "g_new") == (), groups=True,
    ),
    global_op(
        "drop_privilege_group", "DropPrivilegeGroup", lambda c: c.drop_privilege_group("g_target"),
        "CreatePrivilegeGroup", lambda root, _: group(root, "g_target") is None, groups=True,
    ),
    global_op(
        "list_privilege_groups", "ListPrivilegeGroups", lambda c: c.list_privilege_groups(), "SelectOwnership",
        groups=True,
    ),
    global_op(
        "add_privileges_to_group", "OperatePrivilegeGroup",
        lambda c: c.add_privileges_to_group("g_target", ["Search"]), "CreatePrivilegeGroup",
        lambda root, _: group(root, "g_target") == ("Search",), groups=True,
    ),
    global_op(
        "remove_privileges_from_group", "OperatePrivilegeGroup",
        lambda c: c.remove_privileges_from_group("g_held", ["Query"]), "DropPrivilegeGroup",
        lambda root, _: group(root, "g_held") == (), groups=True,
    ),
    global_op("backup_rbac", "BackupRBAC", lambda c: c.backup_rbac(), "RestoreRBAC"),
    # Reading the audit trail takes the backup's privilege (our choice: Milvus has no audit trail).
    global_op("audit", "BackupRBAC", lambda c: c.audit(), "RestoreRBAC"),
    global_op("verify_audit", "BackupRBAC", lambda c: c.verify_audit(), "RestoreRBAC"),
    global_op(
        "restore_rbac", "RestoreRBAC", lambda c: c.restore_rbac(BACKUP), "BackupRBAC",
        lambda root, _: "r_restored" in root.list_roles(),
    ),
    Op(
        "check_privilege", "User", "SelectUser", lambda c: c.check_privilege(TARGET, "Search", "Collection", "b"),
        (("User", "SelectUser", OTHER, "default"), ("User", "UpdateUser", TARGET, "default")),
        self_call=lambda c: c.check_privilege(SUBJECT, "Search", "Collection", "b"),
    ),
    Op(
        "explain_privilege", "User", "SelectUser", lambda c: c.explain_privilege(TARGET, "CreateOwnership"),
        (("User", "SelectUser", OTHER, "default"), ("User", "UpdateUser", TARGET, "default")),
        self_call=lambda c: c.explain_privilege(SUBJECT, "CreateOwnership"),
    ),
]
OPS_BY_NAME = {op.name: op for op in OPS}


def is_allowed(call: Callable[[], Any]) -> bool:
    """Whether `call` got past authorization: it succeeded, or failed for another reason than a denial."""
    try:
        call()
    except PermissionDeniedError:
        return False
    except MilvusException as err:
        assert not isinstance(err, AuthenticationError), err
    return True


def test_the_table_covers_every_rbac_method():
    """Every public method but close is in the table (issue 4 acceptance: "every RBAC operation")."""
    methods = {
        name for name in dir(MilvusClient) if not name.startswith("_") and callable(getattr(MilvusClient, name))
    }
    assert methods - {"close"} == set(OPS_BY_NAME)


# --- 1. the table: every operation x every kind of caller ----------------------------------------------------

ALLOWED_SUBJECTS = ("root", "admin", "exact", "global_all", "self")


def _table_cases() -> Iterator[Any]:
    for op in OPS:
        subjects: list[tuple[str, Optional[Grant]]] = [
            ("root", None),
            ("admin", None),
            ("no_role", None),
            ("exact", op.exact),
            ("global_all", ("Global", "All", "*", "default")),
            ("near_miss_db", op.in_other_db),
            ("exact_on_a_role_not_held", op.exact),
        ]
        subjects += [(f"near_miss_{i}", grant) for i, grant in enumerate(op.near_misses)]
        if op.self_call is not None:
            subjects.append(("self", None))
        for subject, grant in subjects:
            yield pytest.param(op, subject, grant, id=f"{op.name}-{subject}")


TABLE = list(_table_cases())


@pytest.mark.parametrize(
    "profile,op,subject,grant",
    [pytest.param("docs", *case.values, id=f"docs-{case.id}") for case in TABLE]
    # milvus-2.5 (the server line with grant v2 and groups): the same requirements, fewer callers.
    + [
        pytest.param("milvus-2.5", *case.values, id=f"milvus-2.5-{case.id}")
        for case in TABLE
        if case.values[1] in ("no_role", "exact", "near_miss_0", "self") and case.values[0].name != "alter_role"
    ],
)
def test_enforcement_table(bases, clients, profile, op, subject, grant):
    """P1 §5.2 (requirements), §3 (root, admin, public, self-service), P2 "Enforcement" (Global All grants
    everything, including User-object operations). In "docs" every operation exists, so an allowed call
    succeeds and its effect shows; in "milvus-2.5" an allowed call gets past authorization (alter_role and
    update_user then fail as a 2.5 server does)."""
    path = bases.copy(profile)
    root = clients(path)
    if subject == "root":
        c = root
    else:
        if subject == "admin":
            root.grant_role(SUBJECT, "admin")
        elif subject == "exact_on_a_role_not_held":
            root.grant_privilege("r_target", *grant)
        elif grant is not None:
            root.grant_privilege("r_subject", *grant)
        c = clients(path, SUBJECT, PW)
    call = op.self_call if subject == "self" else op.call
    if subject not in ALLOWED_SUBJECTS:
        expect_error(call, c, code=65535, message=denied(op.privilege), exc_type=PermissionDeniedError)
        if op.effect is not None:
            assert not op.effect(root, path), "a denied call changed something"
        return
    if profile == "docs":
        call(c)
        if op.effect is not None and subject != "self":
            assert op.effect(root, path)
    else:
        try:
            call(c)
        except (PermissionDeniedError, AuthenticationError) as err:
            pytest.fail(f"not allowed: {err!r}")
        except MilvusException:
            assert op.name in ("alter_role", "update_user")  # past authorization, then 2.5's own answer


@pytest.mark.parametrize("op", [op for op in OPS if op.object_type == "User"], ids=lambda op: op.name)
def test_self_service_needs_no_privilege_but_others_do(db, clients, op):
    """P1 §3 isCurUserObject: User-object operations on one's own name need nothing; on another user they
    need the privilege (here the subject holds no role but the implicit public)."""
    root = clients(db)
    root.revoke_role(SUBJECT, "r_subject")
    c = clients(db, SUBJECT, PW)
    op.self_call(c)
    expect_error(op.call, c, code=65535, message=denied(op.privilege), exc_type=PermissionDeniedError)


@pytest.mark.parametrize("profile,db_suffix", [("milvus-2.4", None), ("milvus-2.5", "default"),
                                               ("milvus-2.6", "default"), ("docs", "default")])
def test_denial_message_per_profile(bases, clients, profile, db_suffix):
    """P1 §5.1 step 8 (2.5+: `... in the `default` database`); P2 "Enforcement" (2.3.5: no db suffix)."""
    path = bases.copy(profile)
    c = clients(path, SUBJECT, PW)
    for name in ("create_user", "update_password", "drop_user", "list_users", "describe_user", "create_role",
                 "drop_role", "list_roles", "grant_role", "revoke_role", "grant_privilege", "revoke_privilege",
                 "describe_role", "backup_rbac", "restore_rbac", "check_privilege", "explain_privilege"):
        op = OPS_BY_NAME[name]
        err = expect_error(
            op.call, c, code=65535, message=denied(op.privilege, db=db_suffix), exc_type=PermissionDeniedError
        )
        assert isinstance(err, MilvusException)


@pytest.mark.parametrize(
    "profile,name",
    [("milvus-2.4", op.name) for op in OPS if op.groups]
    + [("milvus-2.4", "alter_role"), ("milvus-2.5", "alter_role")],
)
def test_methods_a_server_lacks_are_unsupported_for_everyone(bases, clients, profile, name):
    path = bases.copy(profile)
    c = clients(path, SUBJECT, PW)
    with pytest.raises(MilvusException) as info:
        OPS_BY_NAME[name].call(c)
    assert not isinstance(info.value, PermissionDeniedError)
    assert "is not available in profile" in info.value.message


def test_describe_role_of_ones_own_role_needs_select_ownership(db, clients):
    """README "Where milvus-rbac differs": pymilvus 3.0's describe_role asks SelectRole first, so even the
    subject's own role and public need Global SelectOwnership (P2 "Enforcement")."""
    root = clients(db)
    c = clients(db, SUBJECT, PW)
    for role in ("r_subject", "public"):
        expect_error(c.describe_role, role, code=65535, message=denied("SelectOwnership"),
                     exc_type=PermissionDeniedError)
    root.grant_privilege("r_subject", "Global", "SelectOwnership", "*")
    assert c.describe_role("r_subject")["role"] == "r_subject"
    assert c.describe_role("public")["role"] == "public"


def test_granting_admin_to_oneself_needs_manage_ownership(db, clients):
    """P2 "Enforcement": ManageOwnership "includes granting admin to oneself"."""
    root = clients(db)
    c = clients(db, SUBJECT, PW)
    expect_error(c.grant_role, SUBJECT, "admin", code=65535, message=denied("ManageOwnership"),
                 exc_type=PermissionDeniedError)
    root.grant_privilege("r_subject", "Global", "ManageOwnership", "*")
    c.grant_role(SUBJECT, "admin")
    assert c.list_users() == ["root", SUBJECT, TARGET, OTHER]  # admin passes everything from now on


def test_permission_errors_come_before_validation(db, clients):
    """P1 §5.1: the interceptor runs before the handler, so an invalid argument from an unprivileged caller
    is still a denial."""
    c = clients(db, SUBJECT, PW)
    for call, args, privilege in (
        (c.create_user, ("1bad", "x"), "CreateOwnership"),
        (c.create_role, ("1bad",), "CreateOwnership"),
        (c.drop_user, ("root",), "DropOwnership"),
        (c.drop_role, ("admin",), "DropOwnership"),
        (c.grant_role, ("nobody", "no_role"), "ManageOwnership"),
        (c.grant_privilege, ("r_target", "Global", "NoSuchPrivilege", "*"), "ManageOwnership"),
        (c.update_password, (TARGET, "wrong", "x"), "UpdateUser"),
        (c.describe_user, ("nobody",), "SelectUser"),
    ):
        expect_error(call, *args, code=65535, message=denied(privilege), exc_type=PermissionDeniedError)


# --- root_should_bind_role, authorization_enabled=False ------------------------------------------------------


def test_root_should_bind_role_makes_root_subject_to_checks(bases, clients):
    """P1 §3 "root bypasses RBAC": 2.5.4+ with rootShouldBindRole=true, root is checked like any user (needs
    e.g. the admin role). Like Milvus's configuration knob, the setting belongs to each client, not the file."""
    path = bases.copy()
    setup = clients(path)
    setup.grant_role("root", "admin")
    setup.grant_role(SUBJECT, "admin")
    setup.close()
    root = clients(path, root_should_bind_role=True)
    assert root.list_users() == ["root", SUBJECT, TARGET, OTHER]  # through admin
    assert root.explain_privilege("root", "CreateOwnership")["reason"] == "admin"
    # Like any user, root holds public: a grant to public applies to it.
    root.grant_privilege("public", "Global", "SelectOwnership", "*")
    root.revoke_role("root", "admin")  # applies at once
    assert root.list_users() == ["root", SUBJECT, TARGET, OTHER]
    assert root.explain_privilege("root", "SelectOwnership")["role"] == "public"
    clients(path, SUBJECT, PW).revoke_privilege("public", "Global", "SelectOwnership", "*")
    for op in OPS:
        expect_error(op.call, root, code=65535, message=denied(op.privilege, user="root"),
                     exc_type=PermissionDeniedError)
    # Self-service still applies to root: it may read itself and ask about itself.
    assert root.describe_user("root") == {"user_name": "root", "roles": (), "description": ""}
    assert root.check_privilege("root", "CreateOwnership") is False
    assert root.explain_privilege("root", "CreateOwnership")["reason"] == "denied"


def test_root_bypasses_checks_by_default(db, clients):
    root = clients(db)
    assert root.explain_privilege("root", "RestoreRBAC")["reason"] == "root"
    assert root.explain_privilege("root", "UpdateUser", "User", TARGET)["reason"] == "root"
    assert root.describe_user("root")["roles"] == ()  # root is not stored as a member of admin (P1 §3)


def test_a_registry_created_with_root_should_bind_role_can_be_bootstrapped(tmp_path):
    path = str(tmp_path / "rbac.db")
    MilvusClient(path, token="root:Milvus", password_hash="fast", root_should_bind_role=True).close()
    # The Milvus way: restart with the knob off, bind root to admin, restart with it on.
    bound = MilvusClient(path, token="root:Milvus", root_should_bind_role=True)
    with pytest.raises(PermissionDeniedError):  # before: root holds no role, and is checked like any user
        bound.create_user("user_0", PW)
    MilvusClient(path, token="root:Milvus", root_should_bind_role=False).grant_role("root", "admin")
    root = MilvusClient(path, token="root:Milvus", root_should_bind_role=True)
    root.create_user("user_1", PW)
    assert root.list_users() == ["root", "user_1"]
    assert root.explain_privilege("root", "CreateOwnership")["reason"] == "admin"


@pytest.mark.parametrize("credentials", [{}, {"token": f"{SUBJECT}:wrong"}, {"token": "ghost:x"}])
def test_authorization_disabled_checks_nothing(bases, credentials):
    """P1 §5.1 step 1: nothing is checked unless authorization is enabled, whoever connects."""
    path = bases.copy("docs", authorization_enabled=False)
    c = MilvusClient(path, **credentials)
    # The refusals a call may meet past authorization, by operation: the rules' own (a grantor that must exist,
    # P1 §6.9; a role or user an earlier call dropped). Any other error fails the test.
    rule_refusals = (
        "not found the user", "not found the role", "role not exists", "user not found", "already exists",
        "not found the privilege", "there is no privilege group", "privilege group", "grantor", "rbac meta",
        "old password not correct",
    )
    reached = 0
    for op in OPS:
        for call in filter(None, (op.call, op.self_call)):
            try:
                call(c)
            except (PermissionDeniedError, AuthenticationError) as err:
                pytest.fail(f"{op.name}: {err!r}")
            except MilvusException as err:
                assert any(words in err.message for words in rule_refusals), f"{op.name}: {err!r}"
            reached += 1
    assert reached >= len(OPS)
    explanation = c.explain_privilege(SUBJECT, "CreateOwnership")
    assert (explanation["allowed"], explanation["reason"]) == (True, "authorization_disabled")
    c.close()


# --- named User objects, databases, groups -------------------------------------------------------------------


@pytest.mark.parametrize("how", ["v1", "v2"])
def test_named_user_objects(db, clients, how):
    """P2 "Enforcement": `User/UpdateUser` on `v` allows `v` and denies `w`; the same for SelectUser."""
    root = clients(db)
    if how == "v1":
        root.grant_privilege("r_subject", "User", "UpdateUser", TARGET)
        root.grant_privilege("r_subject", "User", "SelectUser", TARGET)
    else:  # grant v2 of a User privilege names the user in collection_name (object type from the catalog)
        root.grant_privilege_v2("r_subject", "UpdateUser", TARGET, "default")
        root.grant_privilege_v2("r_subject", "SelectUser", TARGET, "default")
    c = clients(db, SUBJECT, PW)
    c.update_password(TARGET, PW, PW2)
    c.update_user(TARGET, "d")
    assert c.describe_user(TARGET)["user_name"] == TARGET
    assert c.check_privilege(TARGET, "UpdateUser", "User", TARGET) is True
    for call, args, privilege in (
        (c.update_password, (OTHER, PW, PW2), "UpdateUser"),
        (c.update_user, (OTHER, "d"), "UpdateUser"),
        (c.describe_user, (OTHER,), "SelectUser"),
        (c.check_privilege, (OTHER, "UpdateUser"), "SelectUser"),
        (c.explain_privilege, (OTHER, "UpdateUser"), "SelectUser"),
    ):
        expect_error(call, *args, code=65535, message=denied(privilege), exc_type=PermissionDeniedError)
    assert root.check_privilege(SUBJECT, "UpdateUser", "User", TARGET) is True
    assert root.check_privilege(SUBJECT, "UpdateUser", "User", OTHER) is False


def test_user_privileges_on_star_cover_every_user(db, clients):
    root = clients(db)
    root.grant_privilege("r_subject", "User", "SelectUser", "*")
    c = clients(db, SUBJECT, PW)
    assert c.describe_user(TARGET)["user_name"] == TARGET
    assert c.describe_user(OTHER)["user_name"] == OTHER
    assert c.describe_user("root")["user_name"] == "root"
    expect_error(c.update_user, TARGET, "d", code=65535, message=denied("UpdateUser"),
                 exc_type=PermissionDeniedError)


def test_global_update_user_is_not_grantable(db, clients):
    """P2 "Enforcement": `Global/UpdateUser` cannot be granted at all (it is a User privilege)."""
    root = clients(db)
    with pytest.raises(MilvusException) as info:
        root.grant_privilege("r_subject", "Global", "UpdateUser", "*")
    assert not isinstance(info.value, PermissionDeniedError)
    assert root.check_privilege(SUBJECT, "UpdateUser", "User", TARGET) is False


def test_grants_in_another_database_do_not_apply(db, clients):
    """P2 "Enforcement": a grant under db_name="no_such_db" does not apply (the client is in `default`)."""
    root = clients(db)
    root.grant_privilege("r_subject", "Global", "CreateOwnership", "*", "no_such_db")
    root.grant_privilege("r_subject", "User", "SelectUser", TARGET, "no_such_db")
    c = clients(db, SUBJECT, PW)
    expect_error(c.create_user, "u_new", PW, code=65535, message=denied("CreateOwnership"),
                 exc_type=PermissionDeniedError)
    expect_error(c.describe_user, TARGET, code=65535, message=denied("SelectUser"),
                 exc_type=PermissionDeniedError)
    assert root.check_privilege(SUBJECT, "CreateOwnership", db_name="no_such_db") is True
    assert root.check_privilege(SUBJECT, "CreateOwnership") is False


def test_the_clients_db_name_selects_the_database(db, clients):
    """P1 §5.1 step 7: the request's database is the client's `dbName` (`default` when empty); the denial
    names it."""
    root = clients(db)
    root.grant_privilege("r_subject", "Global", "SelectOwnership", "*", "db1")
    in_default = clients(db, SUBJECT, PW)
    in_empty = clients(db, SUBJECT, PW, db_name="")
    in_db1 = clients(db, SUBJECT, PW, db_name="db1")
    in_db2 = clients(db, SUBJECT, PW, db_name="db2")
    assert in_db1.list_users() == ["root", SUBJECT, TARGET, OTHER]
    expect_error(in_default.list_users, code=65535, message=denied("SelectOwnership"),
                 exc_type=PermissionDeniedError)
    expect_error(in_empty.list_users, code=65535, message=denied("SelectOwnership"),
                 exc_type=PermissionDeniedError)
    expect_error(in_db2.list_users, code=65535, message=denied("SelectOwnership", db="db2"),
                 exc_type=PermissionDeniedError)
    # Self-service does not depend on the database.
    assert in_db2.describe_user(SUBJECT)["user_name"] == SUBJECT
    # A grant in `default` does not reach a client in db1.
    root.grant_privilege("r_subject", "Global", "CreateOwnership", "*")
    in_default.create_user("u_new", PW)
    expect_error(in_db1.create_user, "u_new2", PW, code=65535, message=denied("CreateOwnership", db="db1"),
                 exc_type=PermissionDeniedError)


def test_star_database_grants_apply_everywhere(db, clients):
    """P1 §5.1 step 7: policies glob-match the object `<Type>-<db>.<name>`, so a single privilege granted in
    db `*` applies in every database (public's own grants are stored that way, P1 §3)."""
    root = clients(db)
    root.grant_privilege("r_subject", "Global", "SelectOwnership", "*", "*")
    root.grant_privilege("r_subject", "User", "SelectUser", TARGET, "*")
    for db_name in ("", "default", "db1", "no_such_db"):
        c = clients(db, SUBJECT, PW, db_name=db_name)
        assert c.list_roles() == ["admin", "public", "r_held", "r_subject", "r_target"]
        assert c.describe_user(TARGET)["user_name"] == TARGET
        assert root.check_privilege(SUBJECT, "SelectOwnership", db_name=db_name or "default") is True


def test_global_all_applies_only_in_its_own_database(db, clients):
    """P1 §5.1 step 7: `All` matches through `dbMatch(...) && privilegeGroupContains(...)`, and dbMatch has no
    wildcard: Global All granted in db `*` applies nowhere, granted in db1 only in db1."""
    root = clients(db)
    root.grant_privilege("r_subject", "Global", "All", "*", "*")
    in_default = clients(db, SUBJECT, PW)
    in_db1 = clients(db, SUBJECT, PW, db_name="db1")
    expect_error(in_default.list_users, code=65535, message=denied("SelectOwnership"),
                 exc_type=PermissionDeniedError)
    expect_error(in_db1.list_users, code=65535, message=denied("SelectOwnership", db="db1"),
                 exc_type=PermissionDeniedError)
    root.grant_privilege("r_subject", "Global", "All", "*", "db1")
    assert in_db1.list_users() == ["root", SUBJECT, TARGET, OTHER]
    assert in_db1.describe_user(TARGET)["user_name"] == TARGET  # All covers User objects too (P2)
    expect_error(in_default.list_users, code=65535, message=denied("SelectOwnership"),
                 exc_type=PermissionDeniedError)
    assert root.check_privilege(SUBJECT, "SelectOwnership", db_name="db1") is True
    assert root.check_privilege(SUBJECT, "SelectOwnership", db_name="default") is False


def test_star_privilege_matches_every_action(db, clients):
    """P1 §4.2: `*` is accepted as a privilege name and matches every action (globMatch on the action)."""
    root = clients(db)
    root.grant_privilege("r_subject", "Global", "*", "*")
    c = clients(db, SUBJECT, PW)
    c.create_user("u_new", PW)
    assert c.list_privilege_groups()
    # ...of its object type only: a Global `*` is not a User grant.
    expect_error(c.describe_user, TARGET, code=65535, message=denied("SelectUser"),
                 exc_type=PermissionDeniedError)
    root.grant_privilege("r_subject", "User", "*", TARGET)
    assert c.describe_user(TARGET)["user_name"] == TARGET


def test_grants_to_public_apply_to_everyone(db, clients):
    """P1 §3: every authenticated user is implicitly in `public` for checks."""
    root = clients(db)
    c = clients(db, TARGET, PW)  # v holds only r_held, whose grants are Collection ones
    expect_error(c.list_roles, code=65535, message=denied("SelectOwnership", user=TARGET),
                 exc_type=PermissionDeniedError)
    root.grant_privilege("public", "Global", "SelectOwnership", "*")
    assert c.list_roles() == ["admin", "public", "r_held", "r_subject", "r_target"]
    assert clients(db, OTHER, PW).list_users() == ["root", SUBJECT, TARGET, OTHER]
    assert root.explain_privilege(OTHER, "SelectOwnership")["role"] == "public"


def test_public_default_grants_give_nothing_rbac(db, clients):
    """P1 §3: public holds DescribeCollection, ListAliases (Global) and IndexDetail (Collection) by default;
    none of them is an RBAC requirement."""
    root = clients(db)
    assert root.check_privilege(SUBJECT, "DescribeCollection") is True
    assert root.check_privilege(SUBJECT, "IndexDetail", "Collection", "books") is True
    for op in OPS:
        assert root.check_privilege(SUBJECT, op.privilege, op.object_type, op.object_name) is False, op.name


def test_custom_groups(db, clients):
    """P1 §4.7, §6.12: a custom group granted through grant v2 is expanded into its members; changing the
    group's members changes what its holders may do at once."""
    root = clients(db)
    root.create_privilege_group("rbac_ops")
    root.add_privileges_to_group("rbac_ops", ["CreateOwnership", "SelectOwnership"])
    root.grant_privilege_v2("r_subject", "rbac_ops", "*", "*")  # cluster-level members: db and collection `*`
    c = clients(db, SUBJECT, PW)
    c.create_user("u_new", PW)
    assert "u_new" in c.list_users()
    expect_error(c.drop_user, "u_new", code=65535, message=denied("DropOwnership"), exc_type=PermissionDeniedError)
    root.add_privileges_to_group("rbac_ops", ["DropOwnership"])
    c.drop_user("u_new")
    root.remove_privileges_from_group("rbac_ops", ["SelectOwnership"])
    expect_error(c.list_users, code=65535, message=denied("SelectOwnership"), exc_type=PermissionDeniedError)
    explanation = root.explain_privilege(SUBJECT, "CreateOwnership")
    assert (explanation["reason"], explanation["role"], explanation["group"]) == ("grant", "r_subject", "rbac_ops")
    assert explanation["grant"]["privilege"] == "rbac_ops"
    # A collection-level custom group, on one collection.
    root.create_privilege_group("readers")
    root.add_privileges_to_group("readers", ["Search", "Query"])
    root.grant_privilege_v2("r_subject", "readers", "books", "default")
    assert root.check_privilege(SUBJECT, "Search", "Collection", "books") is True
    assert root.check_privilege(SUBJECT, "Query", "Collection", "books") is True
    assert root.check_privilege(SUBJECT, "Insert", "Collection", "books") is False
    assert root.check_privilege(SUBJECT, "Search", "Collection", "films") is False
    assert root.check_privilege(SUBJECT, "Search", "Collection", "books", "db1") is False


@pytest.mark.parametrize(
    "group,allowed,denied_privileges",
    [
        # P1 §4.6: ClusterAdmin holds CreateOwnership, DropOwnership, ManageOwnership, BackupRBAC, RestoreRBAC,
        # UpdateUser and the group privileges; ClusterReadOnly holds SelectOwnership, SelectUser and
        # ListPrivilegeGroups (and ClusterAdmin includes it).
        ("ClusterAdmin", [op.name for op in OPS], []),
        ("ClusterReadWrite", ["list_users", "list_roles", "describe_role", "describe_user", "list_privilege_groups",
                              "check_privilege", "explain_privilege"],
         ["CreateOwnership", "DropOwnership", "ManageOwnership", "UpdateUser", "BackupRBAC"]),
        ("ClusterReadOnly", ["list_users", "list_roles", "describe_role", "describe_user", "list_privilege_groups",
                             "check_privilege", "explain_privilege"],
         ["CreateOwnership", "DropOwnership", "ManageOwnership", "UpdateUser", "RestoreRBAC",
          "CreatePrivilegeGroup", "OperatePrivilegeGroup"]),
        ("DatabaseAdmin", [], ["CreateOwnership", "SelectOwnership", "SelectUser"]),
        ("CollectionAdmin", [], ["CreateOwnership", "SelectOwnership", "SelectUser"]),
    ],
)
def test_built_in_groups(bases, clients, group, allowed, denied_privileges):
    """P1 §4.6: built-in groups are expanded into their members (levels do not cascade)."""
    path = bases.copy()
    root = clients(path)
    collection, db_name = {"DatabaseAdmin": ("*", "default"), "CollectionAdmin": ("books", "default")}.get(
        group, ("*", "*")
    )
    root.grant_privilege_v2("r_subject", group, collection, db_name)
    c = clients(path, SUBJECT, PW)
    for op in OPS:  # in order: earlier operations may drop what later ones name, so only authorization counts
        assert is_allowed(lambda: op.call(c)) == (op.name in allowed), op.name
    for privilege in denied_privileges:
        object_type = "User" if privilege in ("UpdateUser", "SelectUser") else "Global"
        name = TARGET if object_type == "User" else "*"
        assert root.check_privilege(SUBJECT, privilege, object_type, name) is False, privilege
    if allowed:
        explanation = root.explain_privilege(SUBJECT, OPS_BY_NAME[allowed[0]].privilege)
        assert (explanation["reason"], explanation["group"]) == ("grant", group)


@pytest.mark.parametrize(
    "grant,yes,no",
    [
        # P1 §4.5: ReadOnly/ReadWrite (Collection) hold their members on the matching collection only; Admin
        # (Global) holds its members everywhere in its database, RBAC privileges included.
        (
            ("Collection", "ReadOnly", "books"),
            [("Search", "books"), ("Query", "books"), ("GetStatistics", "books"), ("GetLoadState", "books")],
            [("Search", "films"), ("Insert", "books"), ("Load", "books")],
        ),
        (
            ("Collection", "ReadWrite", "books"),
            [("Search", "books"), ("Insert", "books"), ("Load", "books"), ("DropIndex", "books")],
            [("Insert", "films"), ("CreateCollection", "books"), ("DropCollection", "books")],
        ),
        (
            ("Collection", "ReadOnly", "*"),
            [("Search", "books"), ("Search", "films")],
            [("Insert", "books")],
        ),
        (
            ("Global", "Admin", "*"),
            [("Search", "books"), ("Insert", "films"), ("CreateCollection", "*")],
            [("ListPrivilegeGroups", "*"), ("CreatePrivilegeGroup", "*")],  # not among Admin's entries (P1 §4.5)
        ),
    ],
)
def test_legacy_groups_are_evaluated_per_collection(db, clients, grant, yes, no):
    root = clients(db)
    object_type, group_name, collection = grant
    root.grant_privilege("r_subject", object_type, group_name, collection)
    for privilege, name in yes:
        kind = "Global" if name == "*" else "Collection"
        assert root.check_privilege(SUBJECT, privilege, kind, name) is True, (privilege, name)
    for privilege, name in no:
        kind = "Global" if name == "*" else "Collection"
        assert root.check_privilege(SUBJECT, privilege, kind, name) is False, (privilege, name)
    # In another database they hold nothing.
    assert root.check_privilege(SUBJECT, yes[0][0], "Collection", yes[0][1], "db1") is False


def test_legacy_admin_group_allows_rbac_operations(db, clients):
    """P1 §4.5: Admin holds CreateOwnership, DropOwnership, SelectOwnership, ManageOwnership, SelectUser,
    UpdateUser, BackupRBAC and RestoreRBAC, but none of the privilege-group privileges."""
    root = clients(db)
    root.grant_privilege("r_subject", "Global", "Admin", "*")
    c = clients(db, SUBJECT, PW)
    for op in OPS:
        group_privilege = op.privilege.endswith("PrivilegeGroup") or op.privilege == "ListPrivilegeGroups"
        assert is_allowed(lambda: op.call(c)) != group_privilege, op.name


# --- 2. freshness --------------------------------------------------------------------------------------------


def test_grants_revokes_and_role_changes_apply_to_open_clients_at_once(db, clients):
    """Issue 4 point 3 (a deliberate improvement over Milvus's asynchronous cache refresh, P2 "Enforcement")."""
    root = clients(db)
    c = clients(db, SUBJECT, PW)
    deny = dict(code=65535, message=denied("SelectOwnership"), exc_type=PermissionDeniedError)
    expect_error(c.list_users, **deny)
    root.grant_privilege("r_subject", "Global", "SelectOwnership", "*")
    assert c.list_users() == ["root", SUBJECT, TARGET, OTHER]
    root.revoke_privilege("r_subject", "Global", "SelectOwnership", "*")
    expect_error(c.list_users, **deny)
    root.grant_privilege_v2("r_target", "ClusterReadOnly", "*", "*")
    expect_error(c.list_users, **deny)  # a role the subject does not hold
    root.grant_role(SUBJECT, "r_target")
    assert c.list_users()
    root.revoke_role(SUBJECT, "r_target")
    expect_error(c.list_users, **deny)
    root.grant_role(SUBJECT, "admin")
    assert c.list_users()
    root.revoke_role(SUBJECT, "admin")
    expect_error(c.list_users, **deny)
    root.grant_role(SUBJECT, "r_target")
    assert c.list_users()
    root.drop_role("r_target", force_drop=True)  # memberships and grants go with the role
    expect_error(c.list_users, **deny)
    # Group membership changes too.
    root.grant_privilege_v2("r_subject", "g_target", "*", "*")
    expect_error(c.list_users, **deny)
    root.add_privileges_to_group("g_target", ["SelectOwnership"])
    assert c.list_users()
    root.remove_privileges_from_group("g_target", ["SelectOwnership"])
    expect_error(c.list_users, **deny)
    # A restore brings its grants into force at once.
    root.restore_rbac({
        "version": 1,
        "users": [],
        "roles": [{"role_name": "r_restored", "description": ""}],
        "grants": [{"object_type": "Global", "object_name": "*", "db_name": "default", "role_name": "public",
                    "privilege": "SelectOwnership", "grantor_name": "root"}],
        "privilege_groups": [],
    })
    assert c.list_users()


def test_changes_made_by_another_process_apply_too(db, clients):
    """Two registries on one file (as two processes would have) see each other's grants at once."""
    c = clients(db, SUBJECT, PW)
    with MilvusClient(db, token="root:Milvus") as elsewhere:
        elsewhere.grant_privilege("r_subject", "Global", "SelectOwnership", "*")
    assert c.list_users()


def test_a_dropped_users_open_clients_fail_at_their_next_call(db, clients):
    """Issue 4 point 3; P2 "Authentication": every RPC checks the credentials."""
    root = clients(db)
    root.grant_role(SUBJECT, "admin")
    c = clients(db, SUBJECT, PW)
    in_db1 = clients(db, SUBJECT, PW, db_name="db1")
    assert c.list_users()
    root.drop_user(SUBJECT)
    for client in (c, in_db1):
        for call in (client.list_users, lambda: client.describe_user(SUBJECT)):
            expect_error(call, code=2, message=BAD, exc_type=AuthenticationError)
    expect_error(MilvusClient, db, token=f"{SUBJECT}:{PW}", code=2, message=BAD, exc_type=AuthenticationError)


def test_a_password_change_stops_open_clients_of_that_user(db, clients):
    root = clients(db)
    c = clients(db, SUBJECT, PW)
    assert c.describe_user(SUBJECT)["user_name"] == SUBJECT
    root.update_password(SUBJECT, PW, PW2)
    expect_error(c.describe_user, SUBJECT, code=2, message=BAD, exc_type=AuthenticationError)
    # Other users' clients are not affected; a new client with the new password works.
    assert clients(db, TARGET, PW).describe_user(TARGET)["user_name"] == TARGET
    assert clients(db, SUBJECT, PW2).describe_user(SUBJECT)["user_name"] == SUBJECT
    # Changing it back makes the old client's credential right again: every call checks it afresh (P2
    # "Authentication": every RPC checks the credentials).
    root.update_password(SUBJECT, PW2, PW)
    assert c.describe_user(SUBJECT)["user_name"] == SUBJECT


def test_changing_ones_own_password_without_reset_connection_stops_the_client(db, clients):
    """pymilvus's update_password only switches the connection's credentials with reset_connection=True
    (P1 §11.1); otherwise the client still sends the old password, which no longer verifies."""
    c = clients(db, SUBJECT, PW)
    c.update_password(SUBJECT, PW, PW2)
    expect_error(c.describe_user, SUBJECT, code=2, message=BAD, exc_type=AuthenticationError)


def test_reset_connection_keeps_the_changing_client_working(db, clients):
    """Issue 4 point 3: the client that changed its own password with reset_connection=True goes on; every
    other client of that user, and the old password, stop working."""
    root = clients(db)
    root.grant_privilege("r_subject", "Global", "SelectOwnership", "*")
    c = clients(db, SUBJECT, PW)
    twin = clients(db, SUBJECT, PW)
    c.update_password(SUBJECT, PW, PW2, reset_connection=True)
    assert c.describe_user(SUBJECT)["user_name"] == SUBJECT
    assert c.list_users()  # still the subject, with its privileges
    expect_error(twin.describe_user, SUBJECT, code=2, message=BAD, exc_type=AuthenticationError)
    expect_error(MilvusClient, db, token=f"{SUBJECT}:{PW}", code=2, message=BAD, exc_type=AuthenticationError)
    assert clients(db, SUBJECT, PW2).list_users()
    # And again, from the new password.
    c.update_password(SUBJECT, PW2, PW, reset_connection=True)
    assert c.list_users()


def test_reset_connection_after_changing_another_users_password(db, clients):
    """pymilvus's reset_connection reconnects as `user_name` with the new password, even for another user."""
    root = clients(db)
    root.update_password(TARGET, PW, PW2, reset_connection=True)
    assert root.describe_user(TARGET)["user_name"] == TARGET
    expect_error(root.list_users, code=65535, message=denied("SelectOwnership", user=TARGET),
                 exc_type=PermissionDeniedError)


# --- 3. check_privilege agrees with enforcement (property test) ----------------------------------------------

# Global privileges and groups for grant v1 (with a database), User privileges on a named user or `*`.
V1_GLOBAL = ["CreateOwnership", "DropOwnership", "SelectOwnership", "ManageOwnership", "CreatePrivilegeGroup",
             "DropPrivilegeGroup", "ListPrivilegeGroups", "OperatePrivilegeGroup", "BackupRBAC", "RestoreRBAC",
             "All", "Admin", "*", "DescribeCollection"]
V1_USER = ["UpdateUser", "SelectUser", "*"]
V1_COLLECTION = ["ReadOnly", "ReadWrite", "Search", "*"]
V2_PRIVILEGES = ["ClusterAdmin", "ClusterReadWrite", "ClusterReadOnly", "DatabaseAdmin", "CollectionAdmin", "gc",
                 "CreateOwnership", "SelectOwnership", "ManageOwnership", "UpdateUser", "SelectUser", "BackupRBAC",
                 "*"]
CLUSTER_MEMBERS = ["CreateOwnership", "DropOwnership", "SelectOwnership", "ManageOwnership", "UpdateUser",
                   "SelectUser", "BackupRBAC", "RestoreRBAC", "ListPrivilegeGroups", "OperatePrivilegeGroup"]
DATABASES = ["default", "*", "db1", ""]
ROLES = ["ra", "rb", "public"]

v1_grants = st.one_of(
    st.tuples(st.just("Global"), st.sampled_from(V1_GLOBAL), st.just("*"), st.sampled_from(DATABASES)),
    st.tuples(st.just("User"), st.sampled_from(V1_USER), st.sampled_from([TARGET, OTHER, SUBJECT, "*"]),
              st.sampled_from(DATABASES)),
    st.tuples(st.just("Collection"), st.sampled_from(V1_COLLECTION), st.sampled_from(["books", "*"]),
              st.sampled_from(DATABASES)),
)
v2_grants = st.tuples(
    st.sampled_from(V2_PRIVILEGES), st.sampled_from(["*", "books", TARGET]), st.sampled_from(DATABASES)
)
grant_sets = st.fixed_dictionaries({
    "roles": st.sets(st.sampled_from(["ra", "rb", "admin"])).filter(lambda r: "admin" not in r or len(r) == 1),
    "v1": st.lists(st.tuples(st.sampled_from(ROLES), v1_grants), max_size=5),
    "v2": st.lists(st.tuples(st.sampled_from(ROLES), v2_grants), max_size=4),
    "gc": st.sets(st.sampled_from(CLUSTER_MEMBERS), max_size=4),
    "db_name": st.sampled_from(["", "default", "db1"]),
})


def build_property_base(path: str) -> None:
    build_base(path, "docs")
    root = MilvusClient(path, token="root:Milvus")
    root.create_role("ra")
    root.create_role("rb")
    root.create_privilege_group("gc")
    root.close()


@pytest.fixture(scope="module")
def property_base(bases: Bases) -> str:
    path = bases.new_path()
    build_property_base(path)
    return path


@settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(grant_sets)
def test_check_privilege_agrees_with_enforcement(bases, property_base, case):
    """Issue 4 acceptance: for random grant sets (v1 and v2 grants, built-in and custom groups, roles held or
    not, public, databases), `check_privilege` of every operation's requirement equals whether the subject's
    client is allowed to do the operation."""
    path = bases.new_path()
    shutil.copyfile(property_base, path)
    root = MilvusClient(path, token="root:Milvus")
    if case["gc"]:
        root.add_privileges_to_group("gc", sorted(case["gc"]))
    for role in case["roles"]:
        root.grant_role(SUBJECT, role)
    for role, grant in case["v1"]:
        try:
            root.grant_privilege(role, *grant)
        except MilvusException:
            pass  # not grantable that way (e.g. Global UpdateUser); the case goes on without it
    for role, (privilege, collection, db_name) in case["v2"]:
        try:
            root.grant_privilege_v2(role, privilege, collection, db_name)
        except MilvusException:
            pass  # a group outside its level's scopes
    db_name = case["db_name"]
    c = MilvusClient(path, token=f"{SUBJECT}:{PW}", db_name=db_name)
    answers: dict[tuple[str, str, str], bool] = {}
    try:
        for op in OPS:
            requirement = (op.privilege, op.object_type, op.object_name)
            if requirement not in answers:
                answers[requirement] = root.check_privilege(SUBJECT, *requirement, db_name or "default")
                explanation = root.explain_privilege(SUBJECT, *requirement, db_name or "default")
                assert explanation["allowed"] == answers[requirement]
            expected = answers[requirement]
            assert is_allowed(lambda: op.call(c)) == expected, (op.name, root.describe_user(SUBJECT))
            if op.self_call is not None and op.name != "update_password":
                assert is_allowed(lambda: op.self_call(c)), op.name
        assert root.check_privilege(SUBJECT, "UpdateUser", "User", SUBJECT, db_name or "default")
    finally:
        c.close()
        root.close()


# --- 4. explain_privilege ------------------------------------------------------------------------------------

EXPLANATION_KEYS = {"allowed", "user_name", "privilege", "object_type", "object_name", "db_name", "reason", "role",
                    "grant", "group"}
GRANT_KEYS = {"object_type", "object_name", "db_name", "role_name", "privilege", "grantor_name"}


def check_shape(explanation: dict) -> None:
    """The dict documented in src/python/privileges.rs (`explain_privilege`'s docstring)."""
    assert set(explanation) == EXPLANATION_KEYS
    assert isinstance(explanation["allowed"], bool)
    for key in ("user_name", "privilege", "object_type", "object_name", "db_name", "reason"):
        assert type(explanation[key]) is str
    assert explanation["reason"] in {"root", "admin", "self", "grant", "authorization_disabled", "denied"}
    assert explanation["allowed"] == (explanation["reason"] != "denied")
    if explanation["reason"] == "grant":
        assert type(explanation["role"]) is str
        assert set(explanation["grant"]) == GRANT_KEYS
        assert explanation["grant"]["role_name"] == explanation["role"]
        assert explanation["group"] is None or type(explanation["group"]) is str
    else:
        assert (explanation["role"], explanation["grant"], explanation["group"]) == (None, None, None)


def test_explain_privilege_defaults_and_shape(db, clients):
    root = clients(db)
    explanation = root.explain_privilege(SUBJECT, "CreateOwnership")
    check_shape(explanation)
    assert explanation == {
        "allowed": False, "user_name": SUBJECT, "privilege": "CreateOwnership", "object_type": "Global",
        "object_name": "*", "db_name": "default", "reason": "denied", "role": None, "grant": None, "group": None,
    }
    # Keyword arguments, and an empty db_name read as `default`.
    explanation = root.explain_privilege(
        user_name=SUBJECT, privilege="Search", object_type="Collection", object_name="books", db_name=""
    )
    check_shape(explanation)
    assert (explanation["object_type"], explanation["object_name"], explanation["db_name"]) == (
        "Collection", "books", "default"
    )
    assert root.check_privilege(user_name=SUBJECT, privilege="Search", object_type="Collection",
                                object_name="books", db_name="db1", timeout=None) is False


def test_explain_names_root_admin_and_self(db, clients):
    root = clients(db)
    root.grant_role(TARGET, "admin")
    cases = [
        (("root", "RestoreRBAC"), "root"),
        (("root", "Search", "Collection", "books", "db9"), "root"),
        ((TARGET, "CreateOwnership"), "admin"),
        ((TARGET, "Search", "Collection", "films", "db1"), "admin"),
        ((SUBJECT, "UpdateUser", "User", SUBJECT), "self"),
        ((SUBJECT, "SelectUser", "User", SUBJECT, "db1"), "self"),
        ((SUBJECT, "UpdateUser", "User", TARGET), "denied"),
        ((SUBJECT, "CreateOwnership", "User", SUBJECT), "self"),  # any privilege on the User object oneself
    ]
    for args, reason in cases:
        explanation = root.explain_privilege(*args)
        check_shape(explanation)
        assert explanation["reason"] == reason, args
        assert explanation["user_name"] == args[0]
    # A user asks about itself without any privilege (self-service), and gets a truthful answer.
    c = clients(db, SUBJECT, PW)
    assert c.explain_privilege(SUBJECT, "CreateOwnership")["reason"] == "denied"
    assert c.check_privilege(SUBJECT, "CreateOwnership") is False


def test_explain_names_the_role_grant_and_group(db, clients):
    root = clients(db)
    root.create_role("ra")
    root.grant_role(SUBJECT, "ra")
    root.grant_privilege("ra", "User", "SelectUser", TARGET)
    explanation = root.explain_privilege(SUBJECT, "SelectUser", "User", TARGET)
    check_shape(explanation)
    assert explanation["reason"] == "grant"
    assert explanation["role"] == "ra"
    assert explanation["grant"] == {"object_type": "User", "object_name": TARGET, "db_name": "default",
                                    "role_name": "ra", "privilege": "SelectUser", "grantor_name": "root"}
    assert explanation["group"] is None
    # Through a built-in group granted with v2 (by a grantor other than root).
    root.grant_role(OTHER, "admin")
    w = clients(db, OTHER, PW)
    w.grant_privilege_v2("r_subject", "ClusterReadOnly", "*", "*")
    explanation = root.explain_privilege(SUBJECT, "ListPrivilegeGroups")
    check_shape(explanation)
    assert (explanation["reason"], explanation["role"], explanation["group"]) == ("grant", "r_subject",
                                                                                  "ClusterReadOnly")
    assert explanation["grant"] == {"object_type": "Global", "object_name": "*", "db_name": "*",
                                    "role_name": "r_subject", "privilege": "ClusterReadOnly", "grantor_name": OTHER}
    # Through public (held by everyone).
    explanation = root.explain_privilege(SUBJECT, "DescribeCollection")
    check_shape(explanation)
    assert (explanation["role"], explanation["grant"]["db_name"], explanation["grant"]["object_name"]) == (
        "public", "*", "*"
    )
    # Denied: nothing names what is missing.
    explanation = root.explain_privilege(SUBJECT, "UpdateUser", "User", TARGET)
    check_shape(explanation)
    assert explanation["reason"] == "denied"
    # Through Global All.
    root.grant_privilege("ra", "Global", "All", "*")
    explanation = root.explain_privilege(SUBJECT, "BackupRBAC")
    assert (explanation["reason"], explanation["role"], explanation["grant"]["privilege"]) == ("grant", "ra", "All")


def test_explain_names_legacy_groups(db, clients):
    root = clients(db)
    root.grant_privilege("r_subject", "Collection", "ReadOnly", "books")
    explanation = root.explain_privilege(SUBJECT, "Search", "Collection", "books")
    assert (explanation["reason"], explanation["grant"]["privilege"]) == ("grant", "ReadOnly")
    assert explanation["group"] == "ReadOnly"


def test_explain_of_a_missing_user_and_bad_arguments(db, clients):
    root = clients(db)
    expect_error(root.explain_privilege, "nobody", "Search", code=65535,
                 message="not found the user, maybe the user isn't existed or internal system error")
    with pytest.raises(MilvusException) as info:
        root.check_privilege(SUBJECT, "Search", "Table", "books")
    assert "Table" in info.value.message
    expect_error(root.check_privilege, "1bad", "Search", code=1100,
                 message="invalid user name 1bad, the first character must be a letter, but got 1: invalid "
                 "parameter")
