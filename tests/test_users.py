"""Users: username validation per profile, built-in root, duplicates, limits, drop, describe, list.

References are to /work/shared/milvus-facts.md ("P1 §x" = Part 1 section, "P2" = Part 2, the real 2.3.5 server).
"""

from __future__ import annotations

import json

import pytest
from rbac_testing import (
    CREATE_CREDENTIAL_FAILURE,
    DELETE_CREDENTIAL_FAILURE,
    ILLEGAL_ARGUMENT,
    PROFILES,
    PW,
    SERVER_PROFILES,
    expect_error,
)

from milvus_rbac import MilvusException

A32 = "a" * 32
A33 = "a" * 33

# Messages of Milvus's ValidateUsername (P1 §2.1; P2 "Usernames").
EMPTY = "username must be not empty: invalid parameter"


def too_long(name: str, length: int, limit: str) -> str:
    return (
        f"invalid username {name} with length {length}, the length of username must be {limit}: invalid parameter"
    )


def first_char(name: str, got: str) -> str:
    return f"invalid user name {name}, the first character must be a letter, but got {got}: invalid parameter"


SERVER_CHARS = "username must contain only numbers, letters and underscores"
MILVUS_26_CHARS = "username must contain only numbers, letters, underscores, dots, and hyphens"


def bad_char(name: str, got: str, allowed: str = SERVER_CHARS) -> str:
    return f"invalid user name {name}, {allowed}, but got {got}: invalid parameter"


GO_32 = "less than %!d(string=32)"

# input -> expected message, or None for accepted.
USERNAMES = {
    # P2: a real 2.3.5 server (the milvus-2.4 profile reproduces it): bytes, trimmed for validation,
    # every offending byte printed as %!s(uint8=N).
    "milvus-2.4": [
        ("", EMPTY),
        ("   ", EMPTY),
        ("\t\n", EMPTY),
        ("a", None),
        ("user_1", None),
        ("User1_x", None),
        ("Root", None),
        ("ROOT", None),
        ("admin", None),
        ("public", None),
        (A32, None),
        (A32 + " ", None),  # 33 bytes, but 32 after trimming
        (" x_lead", None),
        ("x_trail ", None),
        ("\tx_tab", None),
        ("x_nl\n", None),
        ("\u3000x_ideo", None),  # Go's TrimSpace strips Unicode white space...
        ("\xa0x_nbsp", None),
        ("\x1cx_fs", first_char("\x1cx_fs", "%!s(uint8=28)")),  # ...but not the file separator U+001C
        (A33, too_long(A33, 33, GO_32)),
        ("ü" * 17, too_long("ü" * 17, 34, GO_32)),  # 17 characters, 34 bytes
        ("a" + "é" * 16, too_long("a" + "é" * 16, 33, GO_32)),
        ("1" + A32, too_long("1" + A32, 33, GO_32)),  # length before first character (len33_digit_start)
        ("1abc", first_char("1abc", "%!s(uint8=49)")),
        ("_abc", first_char("_abc", "%!s(uint8=95)")),
        ("$abc", first_char("$abc", "%!s(uint8=36)")),
        ("üser", first_char("üser", "%!s(uint8=195)")),
        ("用户", first_char("用户", "%!s(uint8=231)")),
        (" 1abc ", first_char("1abc", "%!s(uint8=49)")),  # the message names the trimmed name
        ("n@me", bad_char("n@me", "%!s(uint8=64)")),
        ("a-b", bad_char("a-b", "%!s(uint8=45)")),
        ("a.b", bad_char("a.b", "%!s(uint8=46)")),
        ("a$b", bad_char("a$b", "%!s(uint8=36)")),
        ("a:b", bad_char("a:b", "%!s(uint8=58)")),
        ("a b", bad_char("a b", "%!s(uint8=32)")),
        ("a\x00b", bad_char("a\x00b", "%!s(uint8=0)")),
        ("aü", bad_char("aü", "%!s(uint8=195)")),
    ],
    # P1 §2.1: 2.5 prints the first byte as a character (Go string(byte): Latin-1), the others as %!s(uint8=N).
    "milvus-2.5": [
        ("", EMPTY),
        ("   ", EMPTY),
        ("user_1", None),
        (A32, None),
        (A32 + " ", None),
        (" x_lead", None),
        (A33, too_long(A33, 33, GO_32)),
        ("ü" * 17, too_long("ü" * 17, 34, GO_32)),
        ("1abc", first_char("1abc", "1")),
        ("_abc", first_char("_abc", "_")),
        ("üser", first_char("üser", "Ã")),
        ("n@me", bad_char("n@me", "%!s(uint8=64)")),
        ("a.b", bad_char("a.b", "%!s(uint8=46)")),
        ("a-b", bad_char("a-b", "%!s(uint8=45)")),
        ("a b", bad_char("a b", "%!s(uint8=32)")),
    ],
    # P1 §2.1: 2.6 also allows `.` and `-` after the first character; 2.6.19 prints the limit as "less than 32".
    "milvus-2.6": [
        ("", EMPTY),
        ("   ", EMPTY),
        ("user_1", None),
        ("a.b-c", None),
        ("a-", None),
        (A32, None),
        (A32 + " ", None),
        (A33, too_long(A33, 33, "less than 32")),
        ("1abc", first_char("1abc", "1")),
        (".ab", first_char(".ab", ".")),
        ("-ab", first_char("-ab", "-")),
        ("üser", first_char("üser", "Ã")),
        ("n@me", bad_char("n@me", "%!s(uint8=64)", MILVUS_26_CHARS)),
        ("a$b", bad_char("a$b", "%!s(uint8=36)", MILVUS_26_CHARS)),
        ("a b", bad_char("a b", "%!s(uint8=32)", MILVUS_26_CHARS)),
    ],
    # Issue 2 point 7 (the documented rule): 1-32 characters, an ASCII letter first, then ASCII letters,
    # digits, underscores. No trimming; characters, not bytes; the offending character itself is printed.
    "docs": [
        ("", EMPTY),
        ("a", None),
        ("user_1", None),
        ("User_1_2", None),
        (A32, None),
        (A33, too_long(A33, 33, "less than or equal to 32")),
        (A32 + " ", too_long(A32 + " ", 33, "less than or equal to 32")),
        ("a" + "é" * 31, bad_char("a" + "é" * 31, "é")),  # 32 characters (63 bytes): length passes
        ("a" + "é" * 32, too_long("a" + "é" * 32, 33, "less than or equal to 32")),
        ("   ", first_char("   ", " ")),
        (" user", first_char(" user", " ")),
        ("1abc", first_char("1abc", "1")),
        ("_abc", first_char("_abc", "_")),
        ("üser", first_char("üser", "ü")),
        ("用户", first_char("用户", "用")),
        ("user ", bad_char("user ", " ")),
        ("usér", bad_char("usér", "é")),
        ("n@me", bad_char("n@me", "@")),
        ("a.b", bad_char("a.b", ".")),
        ("a-b", bad_char("a-b", "-")),
        ("a$b", bad_char("a$b", "$")),
        ("a\x00b", bad_char("a\x00b", "\x00")),
    ],
}
USERNAMES["milvus-3.0"] = USERNAMES["milvus-2.6"]  # 3.0 changed no validator


def _username_cases():
    for profile, cases in USERNAMES.items():
        for name, message in cases:
            yield pytest.param(profile, name, message, id=f"{profile}-{name!r}")


@pytest.mark.parametrize("profile,name,message", list(_username_cases()))
def test_create_user_validates_the_username(client, profile, name, message):
    c = client(profile)
    password = "abcdef" if profile != "docs" else PW
    if message is None:
        assert c.create_user(name, password) is None
        stored = name.strip() if profile in ("milvus-2.6", "milvus-3.0") else name
        assert stored in c.list_users()
    else:
        expect_error(
            c.create_user, name, password, code=1100, message=message, compatible_code=ILLEGAL_ARGUMENT
        )
        assert c.list_users() == ["root"]


@pytest.mark.parametrize("profile,name,message", [p for p in _username_cases() if p.values[2] is not None])
def test_describe_grant_and_revoke_validate_the_username(client, profile, name, message):
    """The same check runs in describe_user, grant_role and revoke_role (P1 §2.7, P2 "Usernames")."""
    c = client(profile)
    c.create_role("role_a")
    for call, args in (
        (c.describe_user, (name,)),
        (c.grant_role, (name, "role_a")),
        (c.revoke_role, (name, "role_a")),
    ):
        expect_error(call, *args, code=1100, message=message, compatible_code=ILLEGAL_ARGUMENT)


USERNAMES_BY_NAME = {profile: dict(cases) for profile, cases in USERNAMES.items()}


def test_username_is_checked_before_the_password(client, profile):
    """P2 "Order of checks in create_user": username, then password."""
    c = client(profile)
    expect_error(c.create_user, "1abc", "x", code=1100, message=USERNAMES_BY_NAME[profile]["1abc"])


# --- stored names ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("profile", ["milvus-2.4", "milvus-2.5"])
def test_untrimmed_names_are_stored_as_given(client, profile):
    """P1 §2.1 step 1, P2: trimming is for validation only; surrounding whitespace is kept and sorts first."""
    c = client(profile)
    for name in (" x_lead", "x_trail ", "\tx_tab", "x_nl\n", "abc", "abc "):
        c.create_user(name, "abcdef")
    assert c.list_users() == ["\tx_tab", " x_lead", "abc", "abc ", "root", "x_nl\n", "x_trail "]
    assert c.describe_user(" x_lead") == {"user_name": " x_lead", "roles": (), "description": ""}
    assert c.describe_user("x_lead") == {}
    c.drop_user("abc ")
    assert "abc" in c.list_users() and "abc " not in c.list_users()


def test_milvus_26_stores_the_trimmed_name(client):
    """P1 §2.1 step 1: 2.6 rootcoord trims the username before storing it."""
    c = client("milvus-2.6")
    c.create_user(" x_lead ", "abcdef")
    assert c.list_users() == ["root", "x_lead"]
    expect_error(
        c.create_user,
        "x_lead\t",
        "abcdef",
        code=65535,
        message="user already exists: x_lead",
        compatible_code=CREATE_CREDENTIAL_FAILURE,
    )


def test_names_are_case_sensitive(client, profile):
    """P2: `User1_x` and `user1_x` are separate users; `Root`/`ROOT` are ordinary usernames."""
    c = client(profile)
    c.create_user("User1_x", PW)
    c.create_user("user1_x", PW)
    c.create_user("ROOT", PW)
    assert c.list_users() == ["ROOT", "User1_x", "root", "user1_x"]
    c.drop_user("ROOT")
    assert c.list_users() == ["User1_x", "root", "user1_x"]


# --- built-in root -----------------------------------------------------------------------------------------


def test_a_new_registry_has_root_without_roles(client, profile):
    """P1 §3, P2 "Reserved names": root exists and holds no role; admin and public exist."""
    c = client(profile)
    assert c.list_users() == ["root"]
    assert c.list_roles() == ["admin", "public"]
    assert c.describe_user("root") == {"user_name": "root", "roles": (), "description": ""}


def test_root_cannot_be_dropped(client, profile):
    """P1 §2.7/§3, P2: 1401 `root user cannot be deleted: privilege not permitted`."""
    c = client(profile)
    expect_error(c.drop_user, "root", code=1401, message="root user cannot be deleted: privilege not permitted")
    expect_error(
        c.drop_user, user_name="root", code=1401, message="root user cannot be deleted: privilege not permitted"
    )
    assert c.list_users() == ["root"]


def test_creating_root_again_is_a_duplicate(client, profile):
    c = client(profile)
    expect_error(
        c.create_user,
        "root",
        PW,
        code=65535,
        message="user already exists: root",
        compatible_code=CREATE_CREDENTIAL_FAILURE,
    )


# --- duplicates --------------------------------------------------------------------------------------------


def test_duplicate_user(client, profile):
    """P1 §6.1, P2: 65535 `user already exists: <name>` (CreateCredentialFailure)."""
    c = client(profile)
    assert c.create_user("user_1", PW) is None
    expect_error(
        c.create_user,
        "user_1",
        "An0therPw",
        code=65535,
        message="user already exists: user_1",
        compatible_code=CREATE_CREDENTIAL_FAILURE,
    )
    assert c.list_users() == ["root", "user_1"]


@pytest.mark.parametrize("profile", SERVER_PROFILES)
def test_duplicate_with_a_short_password_gets_the_length_error(client, profile):
    """P2: "a duplicate user with a short password gets the 1100 length error"."""
    c = client(profile)
    c.create_user("user_1", "abcdef")
    high = 256 if profile == "milvus-2.4" else 72
    expect_error(
        c.create_user,
        "user_1",
        "abc",
        code=1100,
        message=f"invalid password length: invalid parameter[3 out of range 6 <= value <= {high}]",
    )


# --- limits ------------------------------------------------------------------------------------------------

LIMIT = "unable to add user because the number of users has reached the limit"
LIMIT_26 = "failed to check if add credential: " + LIMIT


@pytest.mark.parametrize("profile", PROFILES)
def test_max_users_counts_root(client, profile):
    """P1 §3: maxUserNum counts every user, root included."""
    c = client(profile, max_users=3)
    c.create_user("u1", PW)
    c.create_user("u2", PW)
    message = LIMIT_26 if profile in ("milvus-2.6", "milvus-3.0") else LIMIT
    expect_error(
        c.create_user, "u3", PW, code=65535, message=message, compatible_code=CREATE_CREDENTIAL_FAILURE
    )
    assert c.list_users() == ["root", "u1", "u2"]
    # Dropping one user frees one slot (P2 "Limits").
    c.drop_user("u1")
    c.create_user("u3", PW)
    assert c.list_users() == ["root", "u2", "u3"]


@pytest.mark.parametrize("profile", ["milvus-2.4", "milvus-2.5"])
def test_user_limit_comes_before_duplicate_in_24_and_25(client, profile):
    """P1 §6.1 (2.4/2.5 AddCredential), P2: at the limit, re-creating an existing user gives the limit error."""
    c = client(profile, max_users=2)
    c.create_user("u1", PW)
    for name in ("u1", "root", "u2"):
        expect_error(
            c.create_user, name, PW, code=65535, message=LIMIT, compatible_code=CREATE_CREDENTIAL_FAILURE
        )


def test_duplicate_comes_before_limit_in_26(client):
    """P1 §6.1 (2.6 CheckIfAddCredential): duplicate first, then the prefixed limit error."""
    c = client("milvus-2.6", max_users=2)
    c.create_user("u1", PW)
    expect_error(
        c.create_user,
        "u1",
        PW,
        code=65535,
        message="user already exists: u1",
        compatible_code=CREATE_CREDENTIAL_FAILURE,
    )
    expect_error(
        c.create_user, "u2", PW, code=65535, message=LIMIT_26, compatible_code=CREATE_CREDENTIAL_FAILURE
    )


def test_docs_profile_reports_duplicates_before_the_limit(client):
    c = client("docs", max_users=2)
    c.create_user("u1", PW)
    expect_error(c.create_user, "u1", PW, code=65535, message="user already exists: u1")
    expect_error(c.create_user, "u2", PW, code=65535, message=LIMIT)


def test_validation_comes_before_the_limit(client, profile):
    """P2 "Limits": at the limit, name and password validation errors still come first."""
    c = client(profile, max_users=1)
    with pytest.raises(MilvusException) as info:
        c.create_user("1abc", PW)
    assert info.value.code == 1100
    with pytest.raises(MilvusException) as info:
        c.create_user("u1", "abc")
    assert info.value.code == 1100
    assert info.value.message.startswith("invalid password length")


@pytest.mark.parametrize("profile", ["milvus-2.4", "milvus-2.6"])
def test_default_limit_is_100_users(client, profile):
    """P2 "Limits": 100 users in total; from root alone, 99 creations succeed and the 100th fails."""
    c = client(profile)
    for i in range(99):
        c.create_user(f"u{i:02d}", "abcdef")
    message = LIMIT_26 if profile in ("milvus-2.6", "milvus-3.0") else LIMIT
    expect_error(c.create_user, "one_too_many", "abcdef", code=65535, message=message)
    assert len(c.list_users()) == 100


def test_max_users_none_is_unlimited(client):
    c = client("milvus-2.5", max_users=None)
    for i in range(120):
        c.create_user(f"u{i:03d}", "abcdef")
    assert len(c.list_users()) == 121


# --- drop_user ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["nobody", "1x_invalid", "user_1 ", "USER_1", "a" * 40, "n@me"])
def test_dropping_a_missing_user_is_a_no_op(client, profile, name):
    """P1 §6.3, P2 "drop_user": a nonexistent user, an invalid name, a trailing-space or case variant: ok."""
    c = client(profile)
    c.create_user("user_1", PW)
    assert c.drop_user(name) is None
    assert c.drop_user(name) is None
    assert c.list_users() == ["root", "user_1"]


def test_drop_user_with_an_empty_name(client):
    """P2 "drop_user": `""` gives 65535 `fail to execute task when deleting the user` (DeleteCredentialFailure)."""
    c = client("milvus-2.4")
    expect_error(
        c.drop_user,
        "",
        code=65535,
        message="fail to execute task when deleting the user",
        compatible_code=DELETE_CREDENTIAL_FAILURE,
    )


def test_drop_user_removes_it_and_its_memberships(client, profile):
    """P1 §6.3, P2: a dropped user's memberships go too; a re-created user has no roles."""
    c = client(profile)
    c.create_user("user_1", PW)
    c.create_role("role_a")
    c.grant_role("user_1", "role_a")
    c.grant_role("user_1", "admin")
    assert c.describe_user("user_1")["roles"] == ("admin", "role_a")
    assert c.drop_user("user_1") is None
    assert c.list_users() == ["root"]
    assert c.describe_user("user_1") == {}
    c.create_user("user_1", PW)
    assert c.describe_user("user_1") == {"user_name": "user_1", "roles": (), "description": ""}
    # The role itself is untouched.
    assert c.list_roles() == ["admin", "public", "role_a"]


# --- describe_user and list_users --------------------------------------------------------------------------


def test_describe_user_shape(client, profile):
    """P1 §11.1, P2: `{"user_name", "roles": tuple sorted by byte order, "description"}`."""
    c = client(profile)
    c.create_user("user_1", PW)
    for role in ("zz_x", "mm_x", "bb_x", "aa_x"):
        c.create_role(role)
    c.grant_role("user_1", "zz_x")
    c.grant_role("user_1", "aa_x")
    got = c.describe_user("user_1")
    assert got == {"user_name": "user_1", "roles": ("aa_x", "zz_x"), "description": ""}
    # A dict (milvus_rbac.display.UserDescription, a dict subclass for Jupyter, is allowed) that converts,
    # prints and serialises as pymilvus's plain dict.
    assert isinstance(got, dict) and type(got["roles"]) is tuple
    assert type(dict(got)) is dict and repr(got) == repr(dict(got))
    assert json.loads(json.dumps(got)) == {"user_name": "user_1", "roles": ["aa_x", "zz_x"], "description": ""}
    assert list(got) == ["user_name", "roles", "description"]
    c.revoke_role("user_1", "aa_x")
    c.revoke_role("user_1", "zz_x")
    for role in ("mm_x", "admin", "bb_x"):
        c.grant_role("user_1", role)
    assert c.describe_user(user_name="user_1")["roles"] == ("admin", "bb_x", "mm_x")


@pytest.mark.parametrize("name", ["nobody", "ROOT", "Root", "user_1x"])
def test_describe_a_missing_user_gives_an_empty_dict(client, profile, name):
    """P1 §6.5, P2: a nonexistent user (or `ROOT`) gives `{}`, not an error."""
    c = client(profile)
    c.create_user("user_1", PW)
    got = c.describe_user(name)
    assert got == {} and isinstance(got, dict) and not got
    assert repr(got) == "{}"


def test_list_users_is_sorted_by_byte_order(client, profile):
    """P2 "describe_* and list_* output": creation order does not matter; raw byte order does."""
    c = client(profile)
    c.create_user("user_1", PW)
    for name in ("zed_x", "alpha_x", "Mike_x", "bravo_x", "Zulu_x"):
        assert c.create_user(name, PW) is None
    got = c.list_users()
    assert got == ["Mike_x", "Zulu_x", "alpha_x", "bravo_x", "root", "user_1", "zed_x"]
    assert type(got) is list and all(type(n) is str for n in got)
    # Drop and re-create does not change the order.
    c.drop_user("alpha_x")
    c.create_user("alpha_x", PW)
    assert c.list_users() == got


def test_byte_order_not_code_point_order(client):
    """Byte order of UTF-8 equals code-point order; `_` (0x5F) sorts between upper and lower case."""
    c = client("milvus-2.4")
    for name in ("a_b", "aB", "ab", "a1", "A_"):
        c.create_user(name, "abcdef")
    assert c.list_users() == sorted(["a_b", "aB", "ab", "a1", "A_", "root"], key=lambda s: s.encode())
    assert c.list_users() == ["A_", "a1", "aB", "a_b", "ab", "root"]


# --- descriptions ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("profile", ["milvus-2.4", "milvus-2.5"])
def test_description_is_ignored_before_26(client, profile):
    """P2 "Usernames": `description=` in create_user is accepted and silently ignored."""
    c = client(profile)
    assert c.create_user("user_1", "abcdef", description="hello") is None
    assert c.describe_user("user_1") == {"user_name": "user_1", "roles": (), "description": ""}


@pytest.mark.parametrize("profile", ["docs", "milvus-2.6"])
def test_description_is_kept_in_26_and_docs(client, profile):
    """P1 §0 (2.6.19 adds user descriptions), §11.1 (describe_user adds "description" in 2.6)."""
    c = client(profile)
    c.create_user("user_1", PW, description="hello")
    assert c.describe_user("user_1") == {"user_name": "user_1", "roles": (), "description": "hello"}
    assert c.update_user("user_1", "changed") is None
    assert c.describe_user("user_1")["description"] == "changed"
    assert c.update_user(user_name="user_1", description="d" * 1024) is None
    expect_error(
        c.update_user,
        "user_1",
        "d" * 1025,
        code=1100,
        message="invalid user description with length 1025, the length of user description must be less than or "
        "equal to 1024: invalid parameter",
    )
    expect_error(
        c.create_user,
        "user_2",
        PW,
        description="d" * 1025,
        code=1100,
        message="invalid user description with length 1025, the length of user description must be less than or "
        "equal to 1024: invalid parameter",
    )


@pytest.mark.parametrize("profile,high", [("milvus-2.4", 256), ("milvus-2.5", 72)])
def test_update_user_on_older_servers_fails_as_an_empty_password(client, profile, high):
    """P1 §11.1, P2: update_user sends empty passwords, so older servers answer with the length error."""
    c = client(profile)
    c.create_user("user_1", "abcdef")
    expect_error(
        c.update_user,
        "user_1",
        "desc",
        code=1100,
        message=f"invalid password length: invalid parameter[0 out of range 6 <= value <= {high}]",
        compatible_code=ILLEGAL_ARGUMENT,
    )


def test_update_user_on_a_missing_user_in_26(client):
    """P1 §6.2: 2.6 `failed to check if update credential: user not found`."""
    c = client("milvus-2.6")
    expect_error(
        c.update_user,
        "nobody",
        "desc",
        code=65535,
        message="failed to check if update credential: user not found",
    )


@pytest.mark.parametrize("profile", ["docs", "milvus-2.6"])
def test_update_password_can_set_the_description(client, profile):
    c = client(profile)
    c.create_user("user_1", PW)
    c.update_password("user_1", PW, PW, description="via update_password")
    assert c.describe_user("user_1")["description"] == "via update_password"
    c.update_password("user_1", PW, PW)  # description=None leaves it alone
    assert c.describe_user("user_1")["description"] == "via update_password"


LIVE = "the project's real Milvus 2.3.5 server (/work/milvus-server-howto.txt), checked with pymilvus 3.0.2"


def test_describe_user_with_an_empty_name_is_a_1100_error(client, profile):
    """A documented difference (README "Where milvus-rbac differs from Milvus, on purpose"): pymilvus sends no
    user filter for a falsy name and makes up {'user_name': '', 'roles': ..., 'description': ''} (P2 "describe_*
    and list_* output"; on the project's real 2.3.5 server, {'user_name': '', 'roles': (), 'description': ''});
    milvus-rbac refuses the empty name like the other user-name validators."""
    c = client(profile)
    c.create_user("user_1", PW)
    c.create_role("role_a")
    c.grant_role("user_1", "role_a")
    expect_error(
        c.describe_user,
        "",
        code=1100,
        message="username must be not empty: invalid parameter",
        compatible_code=ILLEGAL_ARGUMENT,
    )


def test_drop_user_with_a_whitespace_only_name_fails_like_an_empty_one(client):
    """On the project's real Milvus 2.3.5 server (LIVE), drop_user('   ') and drop_user('\\t\\n') fail like
    drop_user('') (conformance case users:drop_user_whitespace_only_name)."""
    c = client("milvus-2.4")
    c.create_user("user_1", "abcdef")
    for name in ("", "   ", "\t\n"):
        expect_error(
            c.drop_user,
            name,
            code=65535,
            message="fail to execute task when deleting the user",
            compatible_code=DELETE_CREDENTIAL_FAILURE,
        )
    assert c.list_users() == ["root", "user_1"]
