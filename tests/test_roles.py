"""Roles and memberships: role-name validation per profile, built-ins, duplicates, limits, drop, grant, revoke.

References are to /work/shared/milvus-facts.md ("P1 §x" = Part 1 section, "P2" = Part 2, the real 2.3.5 server).
"""

from __future__ import annotations

import pytest
from rbac_testing import (
    CREATE_ROLE_FAILURE,
    DROP_ROLE_FAILURE,
    ILLEGAL_ARGUMENT,
    OPERATE_USER_ROLE_FAILURE,
    PROFILES,
    PW,
    SERVER_PROFILES,
    expect_error,
)

from milvus_rbac import MilvusException, ParamError

R255 = "r" * 255
R256 = "r" * 256

EMPTY = "role name should be not empty: invalid parameter[expected=not empty][actual=]"


def too_long(length: int) -> str:
    return (
        "the length of role name must be not greater than limit: "
        f"invalid parameter[{length} out of range 0 <= value <= 255]"
    )


def server_first(byte: int) -> str:
    return (
        "the first character of role name must be an underscore or letter: "
        f"invalid parameter[expected=95][actual={byte}]"
    )


def dollars(found: str, at: int) -> str:
    return f"role name can only contain numbers, letters, dollars and underscores, found {found} at {at}: invalid parameter"


def allowed_chars(found: str, at: int) -> str:
    return (
        "role name can only contain numbers, letters, underscores, and allowed characters ($), "
        f"found {found} at {at}: invalid parameter"
    )


def docs_first(actual: str) -> str:
    return f"the first character of role name must be a letter: invalid parameter[expected=letter][actual={actual}]"


def docs_chars(found: str, at: int) -> str:
    return f"role name can only contain numbers, letters and underscores, found {found} at {at}: invalid parameter"


# P1 §2.3 and P2 "Role names": trimmed for validation, 1-255 bytes, `^[A-Za-z_][A-Za-z0-9_$]*$`,
# length then first character then the rest; the offending byte printed as Latin-1, at its byte offset.
SERVER_ROLE_NAMES = [
    ("   ", EMPTY),
    ("\t", EMPTY),
    ("a", None),
    ("_x", None),
    ("x$b", None),
    ("role_a", None),
    ("Admin", None),
    ("ADMIN", None),
    ("PUBLIC", None),
    ("root", None),
    ("user_1", None),
    ("r" * 33, None),
    (R255, None),
    (R255 + " ", None),
    (R256, too_long(256)),
    ("ü" * 128, too_long(256)),
    ("1" + R255, too_long(256)),  # len256_digit_start: the length error first
    ("r-" * 128, too_long(256)),  # len256_with_hyphen
    ("1abc", server_first(49)),
    ("1-x", server_first(49)),  # digit_start_with_hyphen: the first-character error
    ("$x", server_first(36)),
    ("-x", server_first(45)),
    (" 1x ", server_first(49)),
    ("üx", server_first(195)),
]

ROLE_NAMES = {
    "milvus-2.4": SERVER_ROLE_NAMES
    + [
        ("a-b", dollars("-", 1)),
        ("ab\tc", dollars("\t", 2)),
        ("ab\x00c", dollars("\x00", 2)),
        # Not in the facts; seen on the project's real Milvus 2.3.5 server (/work/milvus-server-howto.txt):
        # a space or newline vanishes from the message, "found  at 2" (two spaces); a tab or NUL is printed.
        ("ab c", dollars("", 2)),
        ("ab\nc", dollars("", 2)),
        ("xd47314_üser", dollars("Ã", 8)),  # P2: a non-ASCII byte is printed as Latin-1
        ("a.b", dollars(".", 1)),
        ("ab@", dollars("@", 2)),
    ],
    "milvus-2.5": SERVER_ROLE_NAMES
    + [
        ("a-b", dollars("-", 1)),
        ("xd47314_üser", dollars("Ã", 8)),
    ],
    # P1 §2.3 step 5: 2.6.2+ words the rule with the configurable allowed characters (default `$`).
    "milvus-2.6": SERVER_ROLE_NAMES
    + [
        ("a-b", allowed_chars("-", 1)),
        ("ab c", allowed_chars(" ", 2)),
        ("xd47314_üser", allowed_chars("ü", 8)),
    ],
    # Issue 2 point 7: 1-255 characters, an ASCII letter first, then letters, digits, underscores. No trimming.
    "docs": [
        ("a", None),
        ("role_a", None),
        ("Role_1", None),
        (R255, None),
        (R256, too_long(256)),
        ("é" * 256, too_long(256)),
        ("a" + "é" * 254, docs_chars("é", 1)),  # 255 characters: the length passes; index in characters
        ("   ", docs_first(" ")),
        (" role", docs_first(" ")),
        ("_x", docs_first("_")),
        ("1abc", docs_first("1")),
        ("$x", docs_first("$")),
        ("éx", docs_first("é")),
        ("ab$c", docs_chars("$", 2)),
        ("a-b", docs_chars("-", 1)),
        ("role ", docs_chars(" ", 4)),
        ("abcé", docs_chars("é", 3)),
        ("aé$", docs_chars("é", 1)),
    ],
}
ROLE_NAMES["milvus-3.0"] = ROLE_NAMES["milvus-2.6"]  # 3.0 changed no validator


def _role_cases():
    for profile, cases in ROLE_NAMES.items():
        for name, message in cases:
            label = name if len(name) < 20 else f"{name[:6]}..{len(name)}"
            yield pytest.param(profile, name, message, id=f"{profile}-{label!r}")


@pytest.mark.parametrize("profile,name,message", list(_role_cases()))
def test_create_role_validates_the_name(client, profile, name, message):
    c = client(profile)
    if message is None:
        assert c.create_role(name) is None
        assert name in c.list_roles()  # untrimmed names are stored as given (P2 "Role names")
    else:
        expect_error(c.create_role, name, code=1100, message=message, compatible_code=ILLEGAL_ARGUMENT)
        assert c.list_roles() == ["admin", "public"]


@pytest.mark.parametrize("profile,name,message", [p for p in _role_cases() if p.values[2] is not None])
def test_drop_grant_and_revoke_validate_the_role_name(client, profile, name, message):
    """P1 §2.7: DropRole and OperateUserRole run ValidateRoleName too."""
    c = client(profile)
    c.create_user("user_1", PW)
    for call, args in (
        (c.drop_role, (name,)),
        (c.grant_role, ("user_1", name)),
        (c.revoke_role, ("user_1", name)),
    ):
        expect_error(call, *args, code=1100, message=message, compatible_code=ILLEGAL_ARGUMENT)


@pytest.mark.parametrize(
    "call", ["create_role", "drop_role", "grant_role", "revoke_role", "alter_role"]
)
def test_an_empty_role_name_is_a_client_param_error(client, profile, call):
    """P2 "Error shapes": pymilvus refuses an empty `role_name` itself: ParamError code 1, two spaces."""
    c = client(profile)
    args = {
        "create_role": ("",),
        "drop_role": ("",),
        "grant_role": ("root", ""),
        "revoke_role": ("root", ""),
        "alter_role": ("", "desc"),
    }[call]
    err = expect_error(
        getattr(c, call), *args, code=1, message="`role_name` value  is illegal", exc_type=ParamError
    )
    assert isinstance(err, MilvusException)


def test_user_name_is_checked_before_role_name(client, profile):
    """P1 §2.7 OperateUserRole: ValidateUsername, then ValidateRoleName."""
    c = client(profile)
    with pytest.raises(MilvusException) as info:
        c.grant_role("1bad", "2bad")
    assert info.value.message.startswith("invalid user name 1bad")


# --- built-in roles ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "public"])
@pytest.mark.parametrize("force_drop", [False, True])
def test_default_roles_cannot_be_dropped(client, profile, role, force_drop):
    """P1 §2.7 DropRole, P2: 1401 with or without force_drop."""
    c = client(profile)
    expect_error(
        c.drop_role,
        role,
        force_drop,
        code=1401,
        message=f"the role[{role}] is a default role, which can't be dropped: privilege not permitted",
    )
    assert c.list_roles() == ["admin", "public"]


@pytest.mark.parametrize("role", ["admin", "public"])
def test_default_roles_are_duplicates(client, profile, role):
    """P2 "Role names": creating admin or public gives 65535 `role [name:"admin"] already exists`."""
    c = client(profile)
    expect_error(
        c.create_role,
        role,
        code=65535,
        message=f'role [name:"{role}"] already exists',
        compatible_code=CREATE_ROLE_FAILURE,
    )


@pytest.mark.parametrize("role", ["admin", "public"])
def test_default_roles_can_be_granted_and_revoked(client, profile, role):
    """P1 §6.8, P2: any user, root included, can be added to admin/public and removed again."""
    c = client(profile)
    c.create_user("user_1", PW)
    for user in ("root", "user_1"):
        assert c.grant_role(user, role) is None
        assert c.describe_user(user)["roles"] == (role,)
        assert c.revoke_role(user, role) is None
        assert c.describe_user(user)["roles"] == ()


def test_revoking_admin_from_root_that_never_had_it(client, profile):
    """P2 "Reserved names": admin can be revoked from root even when root never had it (no-op ok)."""
    c = client(profile)
    assert c.revoke_role("root", "admin") is None
    assert c.describe_user("root")["roles"] == ()


@pytest.mark.parametrize("profile", ["docs", "milvus-2.6"])
def test_default_roles_cannot_be_altered(client, profile):
    """P1 §2.7 AlterRole (2.6-tip): `the role[%s] is a default role, which can't be altered` (1401)."""
    c = client(profile)
    for role in ("admin", "public"):
        expect_error(
            c.alter_role,
            role,
            "desc",
            code=1401,
            message=f"the role[{role}] is a default role, which can't be altered: privilege not permitted",
        )


@pytest.mark.parametrize("profile", ["docs", "milvus-2.6"])
def test_alter_role(client, profile):
    c = client(profile)
    c.create_role("role_a", description="first")
    assert c.alter_role("role_a", "second") is None
    assert c.alter_role(role_name="role_a", description="d" * 1024) is None
    expect_error(
        c.alter_role,
        "role_a",
        "d" * 1025,
        code=1100,
        message="invalid role description with length 1025, the length of role description must be less than or "
        "equal to 1024: invalid parameter",
    )
    # 2.6's rootcoord CheckIfAlterRole returns errRoleNotExists ("role not exists", rbac_checker.go), wrapped
    # like 2.6's other coordinator pre-checks (P1 §6 "2.6: prefixed"); "docs" keeps the classic text.
    missing = (
        "failed to check if alter role: role not exists"
        if profile in ("milvus-2.6", "milvus-3.0")
        else "not found the role, maybe the role isn't existed or internal system error"
    )
    expect_error(c.alter_role, "no_role", "d", code=65535, message=missing)


@pytest.mark.parametrize("profile", ["milvus-2.4", "milvus-2.5"])
def test_alter_role_does_not_exist_before_26(client, profile):
    """P1 §0: AlterRole arrived in 2.6.19; P2: older servers answer `unknown method AlterRole ...`."""
    c = client(profile)
    c.create_role("role_a")
    with pytest.raises(MilvusException) as info:
        c.alter_role("role_a", "desc")
    assert "AlterRole" in info.value.message


# --- duplicates and limits ---------------------------------------------------------------------------------

ROLE_LIMIT = "unable to create role because the number of roles has reached the limit"


def test_duplicate_role(client, profile):
    """P1 §6.6: `role [name:"r1"] already exists` (65535, CreateRoleFailure)."""
    c = client(profile)
    assert c.create_role("r1") is None
    expect_error(
        c.create_role,
        "r1",
        code=65535,
        message='role [name:"r1"] already exists',
        compatible_code=CREATE_ROLE_FAILURE,
    )
    assert c.list_roles() == ["admin", "public", "r1"]


def test_max_roles_counts_admin_and_public(client, profile):
    """P1 §3: maxRoleNum counts every role including admin and public; P1 §6.6: 2.6 prefixes the error."""
    c = client(profile, max_roles=4)
    c.create_role("r1")
    c.create_role("r2")
    message = ("failed to check if create role: " if profile in ("milvus-2.6", "milvus-3.0") else "") + ROLE_LIMIT
    expect_error(c.create_role, "r3", code=65535, message=message, compatible_code=CREATE_ROLE_FAILURE)
    # Duplicates come before the limit (P1 §6.6, P2 "Role names"), in every profile.
    for role in ("r1", "admin"):
        expect_error(
            c.create_role,
            role,
            code=65535,
            message=f'role [name:"{role}"] already exists',
            compatible_code=CREATE_ROLE_FAILURE,
        )
    # Validation comes first (P2 "Limits").
    with pytest.raises(MilvusException) as info:
        c.create_role("1x")
    assert info.value.code == 1100
    # Dropping a role frees a slot.
    c.drop_role("r1")
    c.create_role("r3")
    assert c.list_roles() == ["admin", "public", "r2", "r3"]


def test_default_limit_is_10_roles(client, profile):
    """P2 "Limits": 10 roles in total; from admin, public and role_a, 7 creations succeed."""
    c = client(profile)
    c.create_role("role_a")
    for i in range(7):
        c.create_role(f"r{i}")
    message = ("failed to check if create role: " if profile in ("milvus-2.6", "milvus-3.0") else "") + ROLE_LIMIT
    expect_error(c.create_role, "r7", code=65535, message=message)
    assert len(c.list_roles()) == 10


def test_max_roles_none_is_unlimited(client):
    c = client("milvus-2.4", max_roles=None)
    for i in range(30):
        c.create_role(f"r{i:02d}")
    assert len(c.list_roles()) == 32


# --- drop_role ---------------------------------------------------------------------------------------------


def test_dropping_a_missing_role_fails(client, profile):
    """P1 §6.7, P2: 65535 `not found the role, ...` (DropRoleFailure)."""
    c = client(profile)
    c.create_role("role_a")
    for name in ("no_role", "Role_a", "ROLE_A"):
        expect_error(
            c.drop_role,
            name,
            code=65535,
            message="not found the role, maybe the role isn't existed or internal system error",
            compatible_code=DROP_ROLE_FAILURE,
        )
    c.drop_role("role_a")
    expect_error(
        c.drop_role,
        "role_a",
        code=65535,
        message="not found the role, maybe the role isn't existed or internal system error",
        compatible_code=DROP_ROLE_FAILURE,
    )


def test_drop_role_removes_its_memberships(client, profile):
    """P1 §6.7, P2: users lose the role, even after the role is re-created."""
    c = client(profile)
    c.create_user("user_1", PW)
    c.create_user("user_2", PW)
    c.create_role("role_a")
    c.create_role("role_b")
    for user in ("user_1", "user_2"):
        c.grant_role(user, "role_a")
        c.grant_role(user, "role_b")
    assert c.drop_role("role_a") is None
    assert c.list_roles() == ["admin", "public", "role_b"]
    assert c.describe_user("user_1")["roles"] == ("role_b",)
    c.create_role("role_a")
    assert c.describe_user("user_1")["roles"] == ("role_b",)
    assert c.describe_user("user_2")["roles"] == ("role_b",)
    assert c.drop_role("role_b", force_drop=True) is None
    assert c.describe_user("user_2")["roles"] == ()


def test_list_roles_is_sorted_by_byte_order(client, profile):
    """P2 "describe_* and list_* output"."""
    c = client(profile)
    c.create_role("role_a")
    for name in ("zed_r", "alpha_r", "Mike_r", "bravo_r", "Zulu_r"):
        assert c.create_role(name) is None
    got = c.list_roles()
    assert got == ["Mike_r", "Zulu_r", "admin", "alpha_r", "bravo_r", "public", "role_a", "zed_r"]
    assert type(got) is list and all(type(n) is str for n in got)


@pytest.mark.parametrize("profile", ["milvus-2.4", "milvus-2.5"])
def test_role_names_are_stored_untrimmed(client, profile):
    """P2 "Role names": the check runs on the trimmed name; the untrimmed name is stored."""
    c = client(profile)
    c.create_role(" r_lead")
    c.create_role("r_lead")
    assert c.list_roles() == [" r_lead", "admin", "public", "r_lead"]
    c.drop_role(" r_lead")
    assert c.list_roles() == ["admin", "public", "r_lead"]


# --- grant_role / revoke_role ------------------------------------------------------------------------------

ROLE_NOT_FOUND = "not found the role, maybe the role isn't existed or internal system error"
USER_NOT_FOUND = "not found the user, maybe the user isn't existed or internal system error"


def test_grant_role_is_idempotent(client, profile):
    """P1 §6.8, P2: a duplicate grant is ok."""
    c = client(profile)
    c.create_user("user_1", PW)
    c.create_role("role_a")
    assert c.grant_role("user_1", "role_a") is None
    assert c.grant_role(user_name="user_1", role_name="role_a") is None
    assert c.describe_user("user_1")["roles"] == ("role_a",)


def test_grant_role_to_a_missing_user(client, profile):
    """P1 §6.8: the user must exist for add; 2.6 prefixes `failed to check if operate user role: `."""
    c = client(profile)
    c.create_role("role_a")
    message = ("failed to check if operate user role: " if profile in ("milvus-2.6", "milvus-3.0") else "") + USER_NOT_FOUND
    for name in ("nobody", "ROOT"):
        expect_error(
            c.grant_role, name, "role_a", code=65535, message=message, compatible_code=OPERATE_USER_ROLE_FAILURE
        )


def test_grant_role_to_a_trailing_space_variant(client):
    """P2 "grant_role": a trailing-space variant of a user gives "not found the user"."""
    c = client("milvus-2.4")
    c.create_user("user_1", "abcdef")
    c.create_role("role_a")
    expect_error(
        c.grant_role,
        "user_1 ",
        "role_a",
        code=65535,
        message=USER_NOT_FOUND,
        compatible_code=OPERATE_USER_ROLE_FAILURE,
    )


@pytest.mark.parametrize("call", ["grant_role", "revoke_role"])
def test_missing_role_on_grant_and_revoke(client, profile, call):
    """P1 §6.8, P2: the role must exist for both; it is checked before the user."""
    c = client(profile)
    c.create_user("user_1", PW)
    for user in ("user_1", "nobody"):
        expect_error(
            getattr(c, call),
            user,
            "no_role",
            code=65535,
            message=ROLE_NOT_FOUND,
            compatible_code=OPERATE_USER_ROLE_FAILURE,
        )
    assert c.describe_user("user_1")["roles"] == ()


def test_revoke_role_is_idempotent(client, profile):
    """P1 §6.8, P2: revoking a role not granted, twice, or from a nonexistent user is ok."""
    c = client(profile)
    c.create_user("user_1", PW)
    c.create_role("role_a")
    c.create_role("role_b")
    assert c.revoke_role("user_1", "role_a") is None
    c.grant_role("user_1", "role_a")
    c.grant_role("user_1", "role_b")
    assert c.revoke_role("user_1", "role_a") is None
    assert c.revoke_role("user_1", "role_a") is None
    assert c.revoke_role("nobody", "role_a") is None
    assert c.describe_user("user_1")["roles"] == ("role_b",)


@pytest.mark.parametrize("profile", SERVER_PROFILES)
def test_grant_role_with_an_empty_user_name(client, profile):
    """P2 "grant_role": empty user name gives 1100 `username must be not empty: invalid parameter`."""
    c = client(profile)
    c.create_role("role_a")
    for call in (c.grant_role, c.revoke_role):
        expect_error(call, "", "role_a", code=1100, message="username must be not empty: invalid parameter")


@pytest.mark.parametrize("profile", PROFILES)
def test_memberships_are_per_user(client, profile):
    c = client(profile)
    for user in ("user_1", "user_2"):
        c.create_user(user, PW)
    c.create_role("role_a")
    c.grant_role("user_1", "role_a")
    assert c.describe_user("user_1")["roles"] == ("role_a",)
    assert c.describe_user("user_2")["roles"] == ()
