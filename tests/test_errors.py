"""Errors: the exception classes, their attributes and text, ParamError for wrong types, and secrecy.

pymilvus facts: milvus-facts.md P1 §11.2-§11.3 and pymilvus 3.0.2's own source (check.py, exceptions.py).
"""

from __future__ import annotations

import pickle
from typing import Any

import pymilvus
import pymilvus.exceptions
import pytest
from rbac_testing import PW, expect_error

import milvus_rbac
from milvus_rbac import (
    AuthenticationError,
    LegacyErrorCode,
    MilvusClient,
    MilvusException,
    ParamError,
    PermissionDeniedError,
)


@pytest.fixture
def c(client):
    c = client("docs")
    c.create_user("user_1", PW)
    c.create_role("role_a")
    return c


# --- classes -----------------------------------------------------------------------------------------------


def test_exception_hierarchy():
    assert issubclass(MilvusException, pymilvus.MilvusException)
    assert issubclass(MilvusException, pymilvus.exceptions.MilvusException)
    for cls in (ParamError, AuthenticationError, PermissionDeniedError):
        assert issubclass(cls, MilvusException)
        assert issubclass(cls, pymilvus.MilvusException)
    assert issubclass(ParamError, pymilvus.exceptions.ParamError)
    assert milvus_rbac.exceptions.MilvusException is MilvusException


def test_pymilvus_handlers_catch_our_errors(c):
    try:
        c.drop_user("root")
    except pymilvus.MilvusException as err:
        assert err.code == 1401
    else:
        pytest.fail("no exception")
    try:
        c.create_user(1, PW)
    except pymilvus.exceptions.ParamError as err:
        assert err.code == 1
    else:
        pytest.fail("no exception")


def test_attributes_and_text(c):
    err = expect_error(
        c.drop_user, "root", code=1401, message="root user cannot be deleted: privilege not permitted"
    )
    assert type(err) is MilvusException
    assert isinstance(err.code, int) and isinstance(err.message, str)
    assert str(err) == "<MilvusException: (code=1401, message=root user cannot be deleted: privilege not permitted)>"
    assert repr(err) == "MilvusException(code=1401, message='root user cannot be deleted: privilege not permitted')"
    assert err.args == ("root user cannot be deleted: privilege not permitted",)


def test_compatible_code(c):
    """P1 §7.1-§7.2: 1100 -> IllegalArgument (5); rootcoord failures carry the RPC's legacy code."""
    err = expect_error(c.create_user, "1x", PW, code=1100,
                       message="invalid user name 1x, the first character must be a letter, but got 1: invalid parameter")
    assert err.compatible_code == LegacyErrorCode.IllegalArgument == 5
    err = expect_error(c.create_role, "role_a", code=65535, message='role [name:"role_a"] already exists')
    assert err.compatible_code == LegacyErrorCode.CreateRoleFailure == 35
    err = expect_error(c.create_user, "user_1", PW, code=65535, message="user already exists: user_1")
    assert err.compatible_code == LegacyErrorCode.CreateCredentialFailure == 29
    err = expect_error(
        c.drop_role, "nope", code=65535,
        message="not found the role, maybe the role isn't existed or internal system error",
    )
    assert err.compatible_code == LegacyErrorCode.DropRoleFailure == 36
    err = expect_error(
        c.grant_role, "nobody", "role_a", code=65535,
        message="not found the user, maybe the user isn't existed or internal system error",
    )
    assert err.compatible_code == LegacyErrorCode.OperateUserRoleFailure == 37


def test_param_error_text(c):
    err = expect_error(c.create_user, 1, PW, code=1, message="`user` value 1 is illegal", exc_type=ParamError)
    assert str(err) == "<ParamError: (code=1, message=`user` value 1 is illegal)>"
    assert int(err.compatible_code) == 1  # pymilvus: compatible_code=UnexpectedError


def test_authentication_error_text():
    with pytest.raises(AuthenticationError) as info:
        MilvusClient(token="root:wrong", password_hash="fast")
    err = info.value
    assert err.code == 2
    assert str(err) == (
        "<AuthenticationError: (code=2, message=auth check failure, please check username and password are "
        "correct)>"
    )


def test_exceptions_pickle(c):
    with pytest.raises(MilvusException) as info:
        c.drop_role("admin")
    again = pickle.loads(pickle.dumps(info.value))
    assert type(again) is MilvusException
    assert (again.code, again.message, int(again.compatible_code)) == (
        info.value.code, info.value.message, int(info.value.compatible_code)
    )


def test_exceptions_can_be_built_like_pymilvus_ones():
    err = MilvusException(1100, "bad", 5)
    assert (err.code, err.message, err.compatible_code) == (1100, "bad", 5)
    err = MilvusException(code=65535, message="x", compatible_code=LegacyErrorCode.DropRoleFailure)
    assert err.compatible_code == 36
    assert ParamError(message="m").code == 1
    # A legacy code Milvus may add later stays the number it is.
    assert MilvusException(65535, "x", 4242).compatible_code == 4242
    # pymilvus 3.0's attributes: off unless given.
    assert (err.is_input_error, err.retriable) == (False, False)
    flagged = MilvusException(1100, "bad", is_input_error=True, retriable=True)
    assert (flagged.is_input_error, flagged.retriable) == (True, True)


def test_legacy_error_codes_are_a_picklable_enum_of_this_module():
    assert LegacyErrorCode.__module__ == "milvus_rbac.exceptions"
    assert LegacyErrorCode.__qualname__ == "LegacyErrorCode"
    assert pickle.loads(pickle.dumps(LegacyErrorCode.DropRoleFailure)) is LegacyErrorCode.DropRoleFailure


# --- wrong argument types: ParamError, never TypeError -------------------------------------------------------


class Weird:
    def __str__(self) -> str:
        raise RuntimeError("unprintable")


class StrSub(str):
    pass


BAD_TEXT = [1, 1.5, True, None, b"user_1", bytearray(b"x"), ["user_1"], ("a",), {"a": 1}, object(), Weird(), 10**40]
BAD_OPTIONAL_TEXT = [v for v in BAD_TEXT if v is not None]
# Not bools. pymilvus itself takes any truthy value for reset_connection and lets protobuf judge force_drop;
# here they must be a ParamError or be accepted, never a TypeError.
BAD_FLAG = ["yes", "", 1.0, [], b"", object(), 2]
BAD_TIMEOUT = ["1", b"1", [], {}, object(), 1j]

# method -> (valid arguments, {argument: (pymilvus's parameter name or None for secrets/extensions, bad values)})
METHODS: dict[str, tuple[dict[str, Any], dict[str, tuple[Any, list[Any]]]]] = {
    "create_user": (
        {"user_name": "user_2", "password": PW, "timeout": None, "description": None},
        {"user_name": ("user", BAD_TEXT), "password": (None, BAD_TEXT), "timeout": ("timeout", BAD_TIMEOUT),
         "description": (None, BAD_OPTIONAL_TEXT)},
    ),
    "update_password": (
        {"user_name": "user_1", "old_password": PW, "new_password": PW, "reset_connection": False,
         "timeout": None, "description": None},
        {"user_name": ("user", BAD_TEXT), "old_password": (None, BAD_TEXT), "new_password": (None, BAD_TEXT),
         "reset_connection": (None, BAD_FLAG), "timeout": ("timeout", BAD_TIMEOUT),
         "description": (None, BAD_OPTIONAL_TEXT)},
    ),
    "list_users": ({"timeout": None}, {"timeout": ("timeout", BAD_TIMEOUT)}),
    "drop_user": (
        {"user_name": "nobody", "timeout": None},
        {"user_name": (None, BAD_TEXT), "timeout": ("timeout", BAD_TIMEOUT)},
    ),
    "describe_user": (
        {"user_name": "user_1", "timeout": None},
        {"user_name": (None, BAD_TEXT), "timeout": ("timeout", BAD_TIMEOUT)},
    ),
    "update_user": (
        {"user_name": "user_1", "description": "d", "timeout": None},
        {"user_name": ("user", BAD_TEXT), "description": (None, BAD_TEXT), "timeout": ("timeout", BAD_TIMEOUT)},
    ),
    "create_role": (
        {"role_name": "role_b", "timeout": None, "description": ""},
        {"role_name": ("role_name", BAD_TEXT), "timeout": ("timeout", BAD_TIMEOUT),
         "description": (None, BAD_OPTIONAL_TEXT)},
    ),
    "list_roles": ({"timeout": None}, {"timeout": ("timeout", BAD_TIMEOUT)}),
    "drop_role": (
        {"role_name": "role_a", "force_drop": False, "timeout": None},
        {"role_name": ("role_name", BAD_TEXT), "force_drop": (None, BAD_FLAG), "timeout": ("timeout", BAD_TIMEOUT)},
    ),
    "alter_role": (
        {"role_name": "role_a", "description": "d", "timeout": None},
        {"role_name": ("role_name", BAD_TEXT), "description": (None, BAD_TEXT), "timeout": ("timeout", BAD_TIMEOUT)},
    ),
    "grant_role": (
        {"user_name": "user_1", "role_name": "role_a", "timeout": None},
        {"user_name": ("user", BAD_TEXT), "role_name": ("role_name", BAD_TEXT), "timeout": ("timeout", BAD_TIMEOUT)},
    ),
    "revoke_role": (
        {"user_name": "user_1", "role_name": "role_a", "timeout": None},
        {"user_name": ("user", BAD_TEXT), "role_name": ("role_name", BAD_TEXT), "timeout": ("timeout", BAD_TIMEOUT)},
    ),
}


def _wrong_type_cases():
    for method, (_, arguments) in METHODS.items():
        for argument, (pymilvus_name, bad_values) in arguments.items():
            for value in bad_values:
                yield pytest.param(method, argument, pymilvus_name, value,
                                   id=f"{method}-{argument}-{type(value).__name__}-{value!r:.12}")


@pytest.mark.parametrize("method,argument,pymilvus_name,value", list(_wrong_type_cases()))
@pytest.mark.parametrize("how", ["keyword", "positional"])
def test_wrong_types_are_param_errors(c, method, argument, pymilvus_name, value, how):
    valid, _ = METHODS[method]
    args = dict(valid, **{argument: value})
    call = getattr(c, method)
    try:
        if how == "keyword":
            call(**args)
        else:
            call(*args.values())
    except ParamError as caught:
        err = caught
    else:
        assert argument in ("force_drop", "reset_connection"), "accepted a wrong type"
        return
    assert err.code == 1
    assert isinstance(err, pymilvus.exceptions.ParamError)
    if method == "drop_user" and argument == "user_name":
        # pymilvus 3.0.2 prepare.py delete_user_request: ParamError(message=f"invalid user {user}").
        assert err.message == ("invalid user " if isinstance(value, Weird) else f"invalid user {value}")
    elif pymilvus_name is not None and not isinstance(value, Weird):
        # pymilvus check.py `_raise_param_error`: "`<param>` value <value> is illegal".
        assert err.message == f"`{pymilvus_name}` value {value} is illegal"
    else:
        assert err.message.startswith(f"`{pymilvus_name or ''}") or "illegal" in err.message


@pytest.mark.parametrize("value", [1, 2.5, b"u", ["u"]])
def test_describe_user_wrong_type_message(c, value):
    """pymilvus select_user_request: `check_pass_param(user=username)` for a truthy name."""
    expect_error(c.describe_user, value, code=1, message=f"`user` value {value} is illegal", exc_type=ParamError)


@pytest.mark.parametrize("value", [1, None, b"u"])
def test_drop_user_wrong_type_message(c, value):
    """pymilvus 3.0.2 prepare.py delete_user_request (milvus-facts.md P1 §11.2): `invalid user <value>`."""
    expect_error(c.drop_user, value, code=1, message=f"invalid user {value}", exc_type=ParamError)


@pytest.mark.parametrize("value", [0, 1])
def test_int_flags_are_accepted_like_pymilvus(c, value):
    """pymilvus 3.0.2 accepts int flags: drop_role's force_drop goes to protobuf (an int is fine), and
    update_password tests `if reset_connection:`."""
    c.create_role("role_b")
    assert c.drop_role("role_b", force_drop=value) is None
    assert c.update_password("user_1", PW, PW, reset_connection=value) is None
    # The int is read as a truth value: 1 makes this client go on as user_1, 0 leaves it root.
    if value:
        assert c.describe_user("user_1")["user_name"] == "user_1"
        with pytest.raises(PermissionDeniedError):
            c.list_users()
    else:
        assert c.list_users() == ["root", "user_1"]


@pytest.mark.parametrize("value", [True, False, 0, 7, 2.5, None])
def test_valid_timeouts(c, value):
    """pymilvus check.py is_legal_timeout: None, int or float (bool is an int)."""
    assert c.list_users(timeout=value) == ["root", "user_1"]
    assert c.create_role("role_t", timeout=value) is None
    c.drop_role("role_t", timeout=value)


def test_str_subclasses_are_text(c):
    c.create_user(StrSub("user_2"), StrSub(PW))
    assert c.list_users() == ["root", "user_1", "user_2"]
    assert all(type(n) is str for n in c.list_users())


@pytest.mark.parametrize("value", ["\ud800", "a\udfff"])
def test_lone_surrogates_are_param_errors(c, value):
    for call, args in (
        (c.create_user, (value, PW)),
        (c.create_user, ("user_2", value)),
        (c.create_role, (value,)),
        (c.describe_user, (value,)),
        (c.grant_role, ("user_1", value)),
        (c.update_password, ("user_1", PW, value)),
    ):
        with pytest.raises(ParamError):
            call(*args)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"uri": 1}, {"uri": None}, {"uri": b"x.db"}, {"uri": ""}, {"user": 1}, {"password": 1},
        {"token": 1}, {"token": b"root:Milvus"}, {"timeout": "1"}, {"user": ["root"], "password": "Milvus"},
    ],
)
def test_constructor_wrong_types_are_param_errors(tmp_path, monkeypatch, kwargs):
    monkeypatch.chdir(tmp_path)
    kwargs = dict({"token": "root:Milvus", "password_hash": "fast"}, **kwargs)
    try:
        MilvusClient(**kwargs).close()
    except ParamError as err:
        assert err.code == 1
    # uri=None takes the default (":memory:"), as an omitted uri does; every other case must fail.
    else:
        assert kwargs.get("uri", ":memory:") is None


def test_db_name_is_accepted_and_ignored():
    c = MilvusClient(":memory:", db_name="default", token="root:Milvus", password_hash="fast")
    assert c.list_users() == ["root"]


# --- closed clients --------------------------------------------------------------------------------------------


def test_a_closed_client_raises_milvus_exception(client):
    c = client("docs")
    assert c.close() is None
    assert c.close() is None  # closing twice is harmless
    for method in ("list_users", "list_roles"):
        with pytest.raises(MilvusException):
            getattr(c, method)()
    with pytest.raises(MilvusException):
        c.create_user("user_1", PW)
    assert "closed" in repr(c)


def test_context_manager_closes(tmp_path):
    db = str(tmp_path / "rbac.db")
    with MilvusClient(db, token="root:Milvus", password_hash="fast") as c:
        assert isinstance(c, MilvusClient)
        c.create_user("user_1", PW)
    with pytest.raises(MilvusException):
        c.list_users()
    with pytest.raises(ZeroDivisionError):
        with MilvusClient(db, token="root:Milvus") as c2:
            1 / 0
    with pytest.raises(MilvusException):
        c2.list_users()
    assert MilvusClient(db, token="root:Milvus").list_users() == ["root", "user_1"]


# --- secrecy -------------------------------------------------------------------------------------------------

SECRET = "Xq7#Secr3tPw"  # valid in every profile


@pytest.mark.parametrize("profile", ["docs", "milvus-2.4", "milvus-2.5", "milvus-2.6"])
def test_passwords_never_appear_in_messages(client, tmp_path, profile):
    db = str(tmp_path / "rbac.db")
    c = client(profile, uri=db)
    c.create_user("user_1", SECRET)
    errors: list[BaseException] = []

    def collect(call, *args, **kwargs):
        try:
            call(*args, **kwargs)
        except MilvusException as err:
            errors.append(err)
        else:
            pytest.fail(f"{call} did not fail")

    collect(c.create_user, "1bad", SECRET)
    collect(c.create_user, "user_1", SECRET)
    collect(c.create_user, "user_2", SECRET * 8)  # too long everywhere
    collect(c.create_user, "user_2", SECRET[:5])  # too short everywhere
    collect(c.update_password, "user_1", SECRET + "x", "Other!pw1")
    collect(c.update_password, "user_1", SECRET, SECRET[:5])
    collect(c.update_password, "user_1", SECRET, 12345)
    collect(c.create_user, "user_2", [SECRET])
    collect(c.update_password, "user_1", [SECRET], "Other!pw1")
    collect(MilvusClient, db, token=f"user_1:{SECRET}x")
    collect(MilvusClient, db, user="user_1", password=SECRET + "x")
    collect(MilvusClient, db, token=SECRET)
    collect(MilvusClient, db, token=f"root:{SECRET}", profile="docs" if profile != "docs" else "milvus-2.4")
    collect(MilvusClient, ":memory:", root_password=SECRET * 8)
    collect(MilvusClient, ":memory:", root_password=[SECRET])
    assert len(errors) == 15
    for err in errors:
        for text in (str(err), repr(err), err.message, str(err.args)):
            assert SECRET not in text and SECRET[:5] not in text
    # Nor in the client's repr.
    u = MilvusClient(db, token=f"user_1:{SECRET}")
    assert SECRET not in repr(u) and SECRET not in repr(c)


@pytest.mark.parametrize("privileges", [("Load",), {"Load": 1}, "Load", iter(["Load"])])
def test_privileges_must_be_a_list_as_pymilvus_requires(client, privileges):
    """pymilvus's is_legal_privileges: a non-empty list of non-empty strings (P1 §11.2)."""
    c = client(profile="milvus-2.5")
    c.create_privilege_group("ops")
    with pytest.raises(ParamError) as info:
        c.add_privileges_to_group("ops", privileges)
    assert info.value.message.startswith("`privileges` value ")
    assert c.list_privilege_groups()[0] == {"privilege_group": "ops", "privileges": ()}


@pytest.mark.parametrize("kind", ["MilvusException", "ParamError", "AuthenticationError", "PermissionDeniedError"])
def test_every_exception_pickles_with_its_legacy_code(kind):
    """The legacy code survives pickling, also when it is not the default (UnexpectedError)."""
    cls = getattr(milvus_rbac, kind)
    err = cls(code=1100, message="bad name", compatible_code=LegacyErrorCode.IllegalArgument)
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        again = pickle.loads(pickle.dumps(err, protocol))
        assert type(again) is cls
        assert (again.code, again.message, again.compatible_code) == (1100, "bad name", LegacyErrorCode.IllegalArgument)
        assert again.compatible_code != LegacyErrorCode.UnexpectedError
