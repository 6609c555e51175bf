"""Settings: stored when a registry is created, checked when it is reopened (issue 2 point 3)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rbac_testing import PW, expect_error

from milvus_rbac import AuthenticationError, MilvusClient, MilvusException, ParamError


@pytest.fixture
def db(tmp_path):
    return str(tmp_path / "rbac.db")


def open_(db, **kwargs):
    kwargs.setdefault("token", "root:Milvus")
    return MilvusClient(db, **kwargs)


CREATED = dict(
    profile="milvus-2.4",
    super_users=["root", "boss"],
    max_users=5,
    max_roles=6,
    authorization_enabled=True,
    password_hash="fast",
)


@pytest.fixture
def created(db):
    open_(db, **CREATED).close()
    return db


def test_profile_is_stored(created):
    """Leaving `profile` out uses the stored one: milvus-2.4 accepts a 6-byte password that docs refuses."""
    c = open_(created)
    c.create_user("user_1", "abcdef")
    with pytest.raises(MilvusException) as info:
        c.create_user("user_2", "a" * 73)
    assert info.value.message == "encrypt password failed: bcrypt: password length exceeds 72 bytes"
    assert "milvus-2.4" in repr(c)


def test_limits_are_stored(created):
    c = open_(created)
    for i in range(4):
        c.create_user(f"u{i}", "abcdef")
    expect_error(
        c.create_user,
        "u4",
        "abcdef",
        code=65535,
        message="unable to add user because the number of users has reached the limit",
    )
    for i in range(4):
        c.create_role(f"r{i}")
    expect_error(
        c.create_role,
        "r4",
        code=65535,
        message="unable to create role because the number of roles has reached the limit",
    )


def test_super_users_are_stored(created):
    c = open_(created)
    c.create_user("user_1", "abcdef")
    assert c.update_password("user_1", "not the old one", "ghijkl") is None


def test_authorization_enabled_false_is_stored(db):
    open_(db, authorization_enabled=False, password_hash="fast").close()
    c = MilvusClient(db)
    assert c.list_users() == ["root"]


def test_password_hash_is_stored(db):
    open_(db, password_hash="fast").close()
    c = open_(db)
    c.create_user("user_1", PW)
    c.close()
    # WAL content may not be checkpointed yet: read every file of the database.
    data = b"".join(p.read_bytes() for p in Path(db).parent.glob(Path(db).name + "*"))
    assert b"$argon2id$v=19$m=19456" not in data
    assert b"$argon2id$v=19$" in data


def test_the_same_values_may_be_given_again(created):
    c = open_(created, **dict(CREATED, super_users=["boss", "root", "boss"]))
    assert c.list_users() == ["root"]


@pytest.mark.parametrize(
    "setting,value,stored",
    [
        ("profile", "docs", '"milvus-2.4"'),
        ("profile", "milvus-2.6", '"milvus-2.4"'),
        ("max_users", 6, "5"),
        ("max_users", None, "5"),
        ("max_users", 100, "5"),
        ("max_roles", 10, "6"),
        ("max_roles", None, "6"),
        ("authorization_enabled", False, "True"),
        ("authorization_enabled", 0, "True"),  # an int flag is read as its truth value
        ("password_hash", "strong", '"fast"'),
        ("super_users", [], '["boss", "root"]'),
        ("super_users", ["root"], '["boss", "root"]'),
    ],
)
def test_a_different_value_on_reopening_names_the_stored_one(created, setting, value, stored):
    with pytest.raises(ParamError) as info:
        open_(created, **{setting: value})
    err = info.value
    assert err.code == 1
    assert f"`{setting}`" in err.message
    assert f" is {stored} " in err.message
    assert "leave" in err.message and "out" in err.message


def test_root_should_bind_role_belongs_to_each_client(db):
    """Like Milvus's configuration knob (rootShouldBindRole, read by each proxy), it is not stored: root can be
    given a role by a client without it, then work through that role in a client with it."""
    open_(db, password_hash="fast", root_should_bind_role=True).close()
    open_(db, root_should_bind_role=False).grant_role("root", "admin")
    bound = open_(db, root_should_bind_role=True)
    assert bound.explain_privilege("root", "CreateOwnership")["reason"] == "admin"
    bound.revoke_role("root", "admin")
    with pytest.raises(MilvusException) as info:
        bound.create_role("r")
    assert info.value.code == 65535
    assert open_(db).explain_privilege("root", "CreateOwnership")["reason"] == "root"


def test_unlimited_is_stored_too(db):
    open_(db, max_users=None, max_roles=None, password_hash="fast").close()
    open_(db, max_users=None, max_roles=None).close()
    with pytest.raises(ParamError) as info:
        open_(db, max_users=100)
    assert " is None " in info.value.message
    c = open_(db)
    for i in range(12):
        c.create_role(f"r{i}")
    assert len(c.list_roles()) == 14


def test_defaults(db):
    """Defaults: profile docs, max_users 100, max_roles 10, authorization on, no super users."""
    open_(db, password_hash="fast").close()
    for setting, value in (
        ("profile", "docs"),
        ("max_users", 100),
        ("max_roles", 10),
        ("authorization_enabled", True),
        ("root_should_bind_role", False),
        ("super_users", []),
    ):
        open_(db, **{setting: value}).close()
    c = open_(db)
    expect_error(
        c.create_user, "user_1", "abcdef", code=1100,
        message="invalid password length: invalid parameter[6 out of range 8 <= value <= 64]",
    )
    c.create_user("user_1", PW)
    with pytest.raises(MilvusException) as info:
        c.update_password("user_1", "wrong old", "An0ther!pw")
    assert info.value.code == 1400


def test_default_password_hash_is_strong(db):
    """Issue 2 point 3: password_hash="strong" is argon2id m=19456 KiB, t=2, p=1, the default."""
    open_(db).close()
    open_(db, password_hash="strong").close()
    with open(db, "rb") as f:
        assert b"$argon2id$v=19$m=19456,t=2,p=1$" in f.read()


def test_explicit_none_means_not_given(created):
    """`profile=None` etc. use the stored value (the stub's defaults are None)."""
    c = open_(created, profile=None, root_password=None, super_users=None, authorization_enabled=None,
              root_should_bind_role=None, password_hash=None, audit_retention=None)
    c.create_user("user_1", "abcdef")
    assert c.list_users() == ["root", "user_1"]
    stored = open_(created)
    assert repr(stored) == repr(c)  # the stored profile, shown in the repr
    assert stored.describe_user("user_1")["user_name"] == "user_1"


def test_root_password_is_used_only_at_creation(db):
    open_(db, token="root:Fir5t!pw", root_password="Fir5t!pw", password_hash="fast").close()
    # A different root_password on reopening is ignored, not an error...
    c = open_(db, token="root:Fir5t!pw", root_password="Sec0nd!pw")
    assert c.list_users() == ["root"]
    # ...and does not change root's password.
    with pytest.raises(AuthenticationError):
        open_(db, token="root:Sec0nd!pw", root_password="Sec0nd!pw")
    with pytest.raises(AuthenticationError):
        open_(db, token="root:Milvus")


def test_root_password_changes_stick(db):
    c = open_(db, password_hash="fast")
    c.update_password("root", "Milvus", "Chang3d!pw")
    c.close()
    assert open_(db, token="root:Chang3d!pw", root_password="Milvus").list_users() == ["root"]


def test_each_in_memory_registry_is_private():
    a = MilvusClient(":memory:", token="root:Milvus", password_hash="fast", profile="milvus-2.4")
    b = MilvusClient(":memory:", token="root:Milvus", password_hash="fast", profile="docs")
    a.create_user("user_1", "abcdef")
    assert b.list_users() == ["root"]
    # And nothing is stored between them: a new one starts afresh with its own settings.
    c = MilvusClient(token="root:Milvus", password_hash="fast")
    assert c.list_users() == ["root"]


@pytest.mark.parametrize(
    "setting,value",
    [
        ("profile", "milvus-9.9"),
        ("profile", "Docs"),
        ("profile", ""),
        ("profile", 24),
        ("profile", b"docs"),
        ("max_users", 0),
        ("max_users", -1),
        ("max_users", "5"),
        ("max_users", 5.0),
        ("max_users", True),
        ("max_users", 2**70),
        ("max_roles", 0),
        ("max_roles", 1),  # admin and public count as roles
        ("max_roles", -3),
        ("max_roles", [10]),
        # Flags are bools or ints (as pymilvus's own flags, issue 2 fixes); nothing else.
        ("authorization_enabled", 1.0),
        ("authorization_enabled", "yes"),
        ("root_should_bind_role", "yes"),
        ("root_should_bind_role", 1.5),
        ("root_should_bind_role", [True]),
        ("password_hash", "weak"),
        ("password_hash", "STRONG"),
        ("password_hash", 1),
        ("super_users", "root"),  # a lone str is not a sequence of names
        ("super_users", [1]),
        ("super_users", 5),
        ("super_users", [None]),
        ("root_password", ""),
        ("root_password", "x" * 73),  # Milvus caps the default root password at bcrypt's 72 bytes
        ("root_password", 1234),
        ("root_password", b"Milvus"),
    ],
)
def test_invalid_settings_are_param_errors(db, setting, value):
    kwargs = {"password_hash": "fast", setting: value}
    for uri in (":memory:", db):
        with pytest.raises(ParamError) as info:
            MilvusClient(uri, token="root:Milvus", **kwargs)
        assert info.value.code == 1
        assert f"`{setting}`" in info.value.message
        if setting == "root_password" and isinstance(value, str) and value:
            assert value not in info.value.message
    # A failed creation leaves nothing that stops a later one.
    c = MilvusClient(db, token="root:Milvus", password_hash="fast", profile="milvus-2.5")
    assert c.list_users() == ["root"]


def test_limits_at_their_minimum(client):
    c = client("docs", max_users=1, max_roles=2)
    expect_error(
        c.create_user, "user_1", PW, code=65535,
        message="unable to add user because the number of users has reached the limit",
    )
    expect_error(
        c.create_role, "role_a", code=65535,
        message="unable to create role because the number of roles has reached the limit",
    )


def test_unknown_keyword_arguments_are_accepted(db):
    """pymilvus's constructor takes **kwargs; so does ours."""
    c = MilvusClient(db, token="root:Milvus", password_hash="fast", secure=False, some_option=1)
    assert c.list_users() == ["root"]
