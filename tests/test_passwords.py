"""Passwords: validation per profile, the 2.4 bcrypt limit, update_password's rules and super users.

References are to /work/shared/milvus-facts.md ("P1 §x" = Part 1 section, "P2" = Part 2, the real 2.3.5 server).
"""

from __future__ import annotations

import pytest
from rbac_testing import (
    ILLEGAL_ARGUMENT,
    PW,
    PW2,
    SERVER_PROFILES,
    UNEXPECTED_ERROR,
    UPDATE_CREDENTIAL_FAILURE,
    expect_error,
)

from milvus_rbac import AuthenticationError, MilvusClient, MilvusException

BCRYPT = "encrypt password failed: bcrypt: password length exceeds 72 bytes"


def length(n: int, low: int, high: int) -> str:
    return f"invalid password length: invalid parameter[{n} out of range {low} <= value <= {high}]"


def classes(found: int) -> str:
    return (
        "invalid password, it must contain at least 3 of: uppercase letters, lowercase letters, numbers and "
        f"special characters: invalid parameter[expected=3][actual={found}]"
    )


CONTROL = "invalid password, control characters are not allowed: invalid parameter"

# input -> None (accepted) or (code, message)
PASSWORDS = {
    # P2 "Passwords": bytes, 6..256 validated, then bcrypt refuses more than 72 bytes (65535, UnexpectedError).
    "milvus-2.4": [
        ("abcdef", None),
        ("123456", None),
        ("      ", None),
        ("abcDEF12", None),
        ("ü" * 3, None),  # 6 bytes
        ("a" * 72, None),
        ("ü" * 36, None),  # 72 bytes
        ("ab\x00cdef", None),
        ("  abcdef  ", None),
        ("ab:cd:ef", None),
        ("line\nbreak", None),
        ("", (1100, length(0, 6, 256))),
        ("abcde", (1100, length(5, 6, 256))),
        ("üü", (1100, length(4, 6, 256))),
        ("a" * 73, (65535, BCRYPT)),
        ("a" * 100, (65535, BCRYPT)),
        ("a" * 255, (65535, BCRYPT)),
        ("a" * 256, (65535, BCRYPT)),
        ("ü" * 37, (65535, BCRYPT)),  # 74 bytes
        ("a" * 257, (1100, length(257, 6, 256))),
        ("ü" * 129, (1100, length(258, 6, 256))),
        ("a" * 1000, (1100, length(1000, 6, 256))),
    ],
    # P1 §2.2: 2.5 and 2.6 cap at 72 bytes (bcrypt's limit) in validation; no complexity rule.
    "milvus-2.5": [
        ("abcdef", None),
        ("      ", None),
        ("ü" * 3, None),
        ("a" * 72, None),
        ("ü" * 36, None),
        ("abcde", (1100, length(5, 6, 72))),
        ("a" * 73, (1100, length(73, 6, 72))),
        ("ü" * 37, (1100, length(74, 6, 72))),
        ("a" * 300, (1100, length(300, 6, 72))),
    ],
    "milvus-2.6": [
        ("abcdef", None),
        ("a" * 72, None),
        ("abcde", (1100, length(5, 6, 72))),
        ("a" * 73, (1100, length(73, 6, 72))),
    ],
    # Issue 2 point 7: 8-64 characters, 3 of 4 classes (ASCII upper, ASCII lower, digits, any other printable
    # character), control characters refused. Length is checked first, then control characters, then classes.
    "docs": [
        ("P@ssw0rd", None),
        ("Passw0rd", None),  # upper, lower, digit
        ("P@ssword", None),  # upper, lower, special
        ("p@ssw0rd", None),  # lower, special, digit
        ("P@SSW0RD", None),  # upper, special, digit
        ("pass w0rd", None),  # a space is a printable special character
        ("üüüüüü1a", None),  # non-ASCII letters count as special characters
        ("Aa1" + "x" * 61, None),  # 64 characters
        ("Üü1a" * 16, None),  # 64 characters, 128 bytes
        ("Pass0rd", (1100, length(7, 8, 64))),
        ("", (1100, length(0, 8, 64))),
        ("Aa1" + "x" * 62, (1100, length(65, 8, 64))),
        ("Üü1a" * 16 + "x", (1100, length(65, 8, 64))),
        ("a" * 65, (1100, length(65, 8, 64))),  # length before classes
        ("Pa\x00", (1100, length(3, 8, 64))),  # length before control characters
        ("password", (1100, classes(1))),
        ("12345678", (1100, classes(1))),
        ("Password", (1100, classes(2))),
        ("passw0rd", (1100, classes(2))),
        ("passwörd", (1100, classes(2))),
        ("!@#$%^&*", (1100, classes(1))),
        ("Pass\x00w0rd", (1100, CONTROL)),
        ("Pass\tw0rd", (1100, CONTROL)),
        ("Pass\nw0rd", (1100, CONTROL)),
        ("Pass\x7fw0rd", (1100, CONTROL)),
        ("Pass\x9fw0rd", (1100, CONTROL)),
        ("pass\x00word", (1100, CONTROL)),  # control characters before classes
    ],
}
PASSWORDS["milvus-3.0"] = PASSWORDS["milvus-2.6"]  # 3.0 changed no validator


def logs_in(db: str, user: str, password: str, *, as_token: bool = True) -> bool:
    """Connect as `user` (with `token=`, or `user=`/`password=`) and make a call every user may make:
    describe_user on oneself (P1 §3 self-service exemptions; P2 "Enforcement", "Always allowed").
    `list_users` would need Global SelectOwnership (issue 4)."""
    if as_token:
        c = MilvusClient(db, token=f"{user}:{password}")
    else:
        c = MilvusClient(db, user=user, password=password)
    try:
        return c.describe_user(user)["user_name"] == user
    finally:
        c.close()


def _cases():
    for profile, cases in PASSWORDS.items():
        for password, expected in cases:
            label = password if len(password) < 16 else f"{password[:4]}..{len(password)}"
            yield pytest.param(profile, password, expected, id=f"{profile}-{label!r}")


@pytest.mark.parametrize("profile,password,expected", list(_cases()))
def test_create_user_validates_the_password(client, profile, password, expected):
    c = client(profile)
    if expected is None:
        assert c.create_user("user_1", password) is None
        assert c.list_users() == ["root", "user_1"]
    else:
        code, message = expected
        expect_error(
            c.create_user,
            "user_1",
            password,
            code=code,
            message=message,
            compatible_code=ILLEGAL_ARGUMENT if code == 1100 else UNEXPECTED_ERROR,
        )
        assert c.list_users() == ["root"]


@pytest.mark.parametrize("profile,password,expected", list(_cases()))
def test_update_password_validates_the_new_password(client, profile, password, expected):
    """P1 §2.7 UpdateCredential: ValidatePassword(new); P2: then the old password, then bcrypt."""
    c = client(profile)
    c.create_user("user_1", PW)
    if expected is None:
        assert c.update_password("user_1", PW, password) is None
    else:
        code, message = expected
        expect_error(c.update_password, "user_1", PW, password, code=code, message=message)


@pytest.mark.parametrize("profile,password,expected", [p for p in _cases() if p.values[2] is None])
def test_accepted_passwords_log_in_exactly(client, tmp_path, profile, password, expected):
    """P2 "Passwords": any bytes are used as-is (no trimming); the token is split at the first colon."""
    db = str(tmp_path / "rbac.db")
    c = client(profile, uri=db)
    c.create_user("user_1", password)
    assert logs_in(db, "user_1", password)
    assert logs_in(db, "user_1", password, as_token=False)
    if password.strip() != password and password.strip():
        with pytest.raises(AuthenticationError):
            MilvusClient(db, token=f"user_1:{password.strip()}")


# --- update_password ---------------------------------------------------------------------------------------


def not_correct(user: str) -> str:
    return f"old password not correct for {user}: not authenticated"


def test_update_password_changes_the_password(client, tmp_path, profile):
    db = str(tmp_path / "rbac.db")
    c = client(profile, uri=db)
    c.create_user("user_1", PW)
    assert c.update_password(user_name="user_1", old_password=PW, new_password=PW2) is None
    assert logs_in(db, "user_1", PW2)
    with pytest.raises(AuthenticationError) as info:
        MilvusClient(db, token=f"user_1:{PW}")
    assert info.value.message == "auth check failure, please check username and password are correct"
    # New == old is accepted (P1 §6.2).
    assert c.update_password("user_1", PW2, PW2) is None


@pytest.mark.parametrize("user", ["user_1", "root", "nobody", "", "1x_invalid"])
def test_wrong_old_password(client, profile, user):
    """P1 §6.2, P2: 1400 `old password not correct for <user>: not authenticated` (UnexpectedError), even for
    root, an unknown user, `""` or an invalid name."""
    c = client(profile)
    c.create_user("user_1", PW)
    expect_error(
        c.update_password,
        user,
        "Wr0ng!Old",
        PW2,
        code=1400,
        message=not_correct(user),
        compatible_code=UNEXPECTED_ERROR,
    )


def test_old_password_of_another_user_does_not_count(client, profile):
    c = client(profile)
    c.create_user("user_1", PW)
    c.create_user("user_2", "Other!Pw1")
    expect_error(c.update_password, "user_1", "Other!Pw1", PW2, code=1400, message=not_correct("user_1"))
    expect_error(c.update_password, "user_2", "Milvus", PW2, code=1400, message=not_correct("user_2"))


def test_root_needs_its_old_password(client, tmp_path, profile):
    """P2 "update_password": no super users configured, so root too must give the old password."""
    db = str(tmp_path / "rbac.db")
    c = client(profile, uri=db)
    expect_error(c.update_password, "root", "WrongOld1", PW2, code=1400, message=not_correct("root"))
    assert c.update_password("root", "Milvus", PW2) is None
    assert MilvusClient(db, token=f"root:{PW2}").list_users() == ["root"]


@pytest.mark.parametrize("profile", SERVER_PROFILES)
def test_update_password_order_of_checks(client, profile):
    """P2 "update_password": new-password length (1100), then old password (1400), then bcrypt (65535)."""
    c = client(profile)
    c.create_user("user_1", "abcdef")
    high = 256 if profile == "milvus-2.4" else 72
    # wrong_old_and_invalid_new, nonexistent_and_invalid_new
    expect_error(c.update_password, "user_1", "wrong_old", "abc", code=1100, message=length(3, 6, high))
    expect_error(c.update_password, "nobody", "wrong_old", "abc", code=1100, message=length(3, 6, high))
    if profile == "milvus-2.4":
        # wrong_old_and_73byte_new, new_len73
        expect_error(c.update_password, "user_1", "wrong_old", "a" * 73, code=1400, message=not_correct("user_1"))
        expect_error(
            c.update_password,
            "user_1",
            "abcdef",
            "a" * 73,
            code=65535,
            message=BCRYPT,
            compatible_code=UNEXPECTED_ERROR,
        )


def test_the_old_password_is_not_validated(client):
    """P1 §2.2: UpdateCredential does not validate the old password's length."""
    c = client("milvus-2.5")
    c.create_user("user_1", "abcdef")
    expect_error(c.update_password, "user_1", "a", "abcdefg", code=1400, message=not_correct("user_1"))
    expect_error(c.update_password, "user_1", "a" * 500, "abcdefg", code=1400, message=not_correct("user_1"))


LIVE = "the project's real Milvus 2.3.5 server (/work/milvus-server-howto.txt), checked with pymilvus 3.0.2"


def test_update_password_message_drops_trailing_spaces(client):
    """P2 "update_password" oddity: for `"x_u "` the 1400 message prints `x_u`."""
    c = client("milvus-2.4")
    c.create_user("x_u ", "abcdef")
    expect_error(c.update_password, "x_u ", "wrong_old", "ghijkl", code=1400, message=not_correct("x_u"))
    expect_error(c.update_password, "x_u \n", "wrong_old", "ghijkl", code=1400, message=not_correct("x_u"))


def test_update_password_looks_the_user_up_by_its_exact_name(client, tmp_path):
    """On the project's real Milvus 2.3.5 server (see LIVE), update_password('x_u ', <right old>, new)
    succeeds and the new password logs in (the only trimming is in the 1400 message; P2's 'the call fails'
    is with a wrong old password)."""
    db = str(tmp_path / "rbac.db")
    c = client("milvus-2.4", uri=db)
    for name in ("x_u ", " x_lead"):
        c.create_user(name, "abcdef")
        assert c.update_password(name, "abcdef", "ghijkl") is None
        assert logs_in(db, name, "ghijkl")
        with pytest.raises(AuthenticationError):
            MilvusClient(db, token=f"{name}:abcdef")
    # The trimmed name is another (missing) user.
    expect_error(c.update_password, "x_u", "ghijkl", "mnopqr", code=1400, message=not_correct("x_u"))


@pytest.mark.parametrize(
    "name,shown",
    [(" x_lead ", " x_lead"), ("x_tab\t", "x_tab\t"), ("\tx_tab", "\tx_tab"), ("x_mix \n \n", "x_mix")],
)
@pytest.mark.parametrize("profile", SERVER_PROFILES)
def test_update_password_message_keeps_leading_whitespace_and_tabs(client, profile, name, shown):
    """On the project's real Milvus 2.3.5 server (see LIVE) only trailing spaces and newlines are dropped
    from the 1400 message: ' t2h_x ' -> ' t2h_x', 't2h_x\\t' -> 't2h_x\\t', '\\tt2h_x' -> '\\tt2h_x'
    (the server profiles share the rule)."""
    c = client(profile)
    expect_error(c.update_password, name, "wrong_old", "ghijkl", code=1400, message=not_correct(shown))


# --- super users -------------------------------------------------------------------------------------------


def test_super_users_skip_the_old_password(client, tmp_path, profile):
    """P1 §2.7/§3: callers in superUsers may change any user's password without the old one."""
    db = str(tmp_path / "rbac.db")
    c = client(profile, uri=db, super_users=["root"])
    c.create_user("user_1", PW)
    assert c.update_password("user_1", "anything at all", PW2) is None
    assert c.update_password("user_1", "", PW) is None
    assert logs_in(db, "user_1", PW)
    # The new password is still validated.
    with pytest.raises(MilvusException) as info:
        c.update_password("user_1", "", "abc")
    assert info.value.code == 1100
    # A user who is not a super user still needs the old password, even for its own password.
    u = client(None, uri=db, token=f"user_1:{PW}")
    expect_error(u.update_password, "user_1", "Wr0ng!Old", PW2, code=1400, message=not_correct("user_1"))
    assert u.update_password("user_1", PW, PW2) is None


@pytest.mark.parametrize("profile", ["milvus-2.4", "milvus-2.5"])
def test_super_user_update_creates_a_missing_user_in_24_and_25(client, tmp_path, profile):
    """P1 §6.2: 2.4/2.5 AlterCredential does no existence check: a super user "updating" a missing user creates
    it (bypassing maxUserNum)."""
    db = str(tmp_path / "rbac.db")
    c = client(profile, uri=db, super_users=["root"], max_users=1)
    assert c.update_password("ghost", "", "abcdef") is None
    assert c.list_users() == ["ghost", "root"]
    assert logs_in(db, "ghost", "abcdef")


def test_super_user_update_of_a_missing_user_in_26(client):
    """P1 §6.2: 2.6 `failed to check if update credential: user not found` (65535, UpdateCredentialFailure)."""
    c = client("milvus-2.6", super_users=["root"])
    expect_error(
        c.update_password,
        "ghost",
        "",
        "abcdef",
        code=65535,
        message="failed to check if update credential: user not found",
        compatible_code=UPDATE_CREDENTIAL_FAILURE,
    )
    assert c.list_users() == ["root"]


def test_super_users_can_name_users_created_later(client, tmp_path):
    db = str(tmp_path / "rbac.db")
    c = client("milvus-2.5", uri=db, super_users=("boss",))
    c.create_user("boss", "bosspw")
    c.create_user("user_1", "userpw")
    boss = client(None, uri=db, token="boss:bosspw")
    # Being a super user skips only the old-password check, not the privilege check (P1 §3 "superusers":
    # "Nothing else"; §5.2 UpdateCredential needs User/UpdateUser on the target).
    expect_error(
        boss.update_password, "user_1", "", "newpw1", code=65535,
        message="PrivilegeUpdateUser: permission deny to boss in the `default` database",
    )
    c.create_role("pw_admin")
    c.grant_privilege("pw_admin", "User", "UpdateUser", "user_1")
    c.grant_role("boss", "pw_admin")
    assert boss.update_password("user_1", "", "newpw1") is None
    assert logs_in(db, "user_1", "newpw1")
    # root is not a super user here.
    expect_error(c.update_password, "user_1", "", "newpw2", code=1400, message=not_correct("user_1"))


def test_reset_connection_switches_the_client_to_the_user(client, tmp_path):
    """pymilvus's reset_connection=True goes on as user_name with the new password (P1 §11.1)."""
    db = str(tmp_path / "rbac.db")
    c = client("docs", uri=db)
    c.create_user("user_1", PW)
    assert c.update_password("user_1", PW, PW2, reset_connection=True) is None
    assert 'user="user_1"' in repr(c)
