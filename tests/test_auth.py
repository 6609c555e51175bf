"""Authentication at construction (issue 2 point 4; milvus-facts.md P1 §7.3, P2 "Authentication")."""

from __future__ import annotations

import socket

import pymilvus
import pytest
from rbac_testing import PW, expect_error

from milvus_rbac import AuthenticationError, MilvusClient, MilvusException, ParamError, PermissionDeniedError

BAD = "auth check failure, please check username and password are correct"
MISSING = "missing authorization in header"
API_KEY = "auth check failure, please check api key is correct"


@pytest.fixture
def db(tmp_path, client):
    """A file registry (profile docs) with root/Milvus and user_1 whose password contains colons."""
    path = str(tmp_path / "rbac.db")
    c = client("docs", uri=path)
    c.create_user("user_1", "P@ss:w0rd:x")
    return path


def connect(db, **kwargs):
    return MilvusClient(db, **kwargs)


def logged_in_as(c, user):
    """Prove a login works with a call every user may make: describe_user on oneself (P1 §3
    self-service exemptions; P2 "Enforcement", "Always allowed")."""
    return c.describe_user(user)["user_name"] == user


@pytest.mark.parametrize(
    "kwargs,user",
    [
        ({"token": "root:Milvus"}, "root"),
        ({"user": "root", "password": "Milvus"}, "root"),
        ({"token": "user_1:P@ss:w0rd:x"}, "user_1"),  # split at the first colon
        ({"user": "user_1", "password": "P@ss:w0rd:x"}, "user_1"),
    ],
)
def test_good_credentials(db, kwargs, user):
    c = connect(db, **kwargs)
    assert logged_in_as(c, user)
    c.close()


def test_root_may_list_users_and_user_1_may_not(db):
    """Issue 4: a non-root user without privileges is refused list_users (Global SelectOwnership)."""
    assert connect(db, token="root:Milvus").list_users() == ["root", "user_1"]
    expect_error(
        connect(db, token="user_1:P@ss:w0rd:x").list_users,
        code=65535,
        message="PrivilegeSelectOwnership: permission deny to user_1 in the `default` database",
        exc_type=PermissionDeniedError,
    )


def test_positional_credentials(db):
    """pymilvus's order: uri, user, password, db_name, token."""
    assert MilvusClient(db, "root", "Milvus").list_users() == ["root", "user_1"]
    assert logged_in_as(MilvusClient(db, "", "", "", "user_1:P@ss:w0rd:x"), "user_1")


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"token": ""},
        {"user": "root"},  # user= only: the client sends no header
        {"password": "Milvus"},  # password= only
        {"user": "", "password": "", "token": ""},
    ],
)
def test_missing_credentials(db, kwargs):
    """P2 "Authentication": no header -> `missing authorization in header`; code 2 as pymilvus reports it."""
    err = expect_error(connect, db, code=2, message=MISSING, exc_type=AuthenticationError, **kwargs)
    assert isinstance(err, MilvusException)
    assert isinstance(err, pymilvus.MilvusException)


@pytest.mark.parametrize(
    "token",
    [
        "root:milvus",
        "ROOT:Milvus",
        "root :Milvus",
        "root:Milvus ",
        " root:Milvus",
        "root:",
        ":Milvus",
        ":",
        "root:Milvus:extra",
        "nobody:Milvus",
        "user_1:P@ss",
        "user_1:P@ss:w0rd",
        "root:" + "M" * 500,
        "root:Mil\x00vus",
    ],
)
def test_wrong_credentials(db, token):
    """P2 "Authentication": wrong password, unknown user, case and whitespace variants, `root:`, `:`, ..."""
    expect_error(connect, db, token=token, code=2, message=BAD, exc_type=AuthenticationError)


@pytest.mark.parametrize(
    "user,password", [("root", "milvus"), ("Root", "Milvus"), ("nobody", "x"), ("root", "Milvus ")]
)
def test_wrong_user_and_password(db, user, password):
    expect_error(connect, db, user=user, password=password, code=2, message=BAD, exc_type=AuthenticationError)


@pytest.mark.parametrize("token", ["rootMilvus", "root", "some-api-key"])
def test_token_without_colon_is_an_api_key(db, token):
    """P2 "Authentication": a token without a colon -> `... please check api key is correct`."""
    expect_error(connect, db, token=token, code=2, message=API_KEY, exc_type=AuthenticationError)


def test_wrong_credentials_on_a_new_in_memory_registry():
    expect_error(MilvusClient, ":memory:", token="root:nope", password_hash="fast", code=2, message=BAD)
    expect_error(MilvusClient, password_hash="fast", code=2, message=MISSING, exc_type=AuthenticationError)


def test_token_wins_over_user_and_password(db):
    """pymilvus 3.0.2 MilvusClient.__init__ (milvus_client.py, "Build token from user/password if not
    provided"): `final_token = token`; user/password are used only when the token is empty."""
    c = connect(db, user="root", password="wrong", token="root:Milvus")
    assert c.list_users() == ["root", "user_1"]


def test_a_wrong_token_is_not_rescued_by_user_and_password(db):
    expect_error(
        connect, db, user="root", password="Milvus", token="root:wrong", code=2, message=BAD,
        exc_type=AuthenticationError,
    )


def test_a_dropped_user_can_no_longer_connect(db):
    root = connect(db, token="root:Milvus")
    assert logged_in_as(connect(db, token="user_1:P@ss:w0rd:x"), "user_1")
    root.drop_user("user_1")
    expect_error(connect, db, token="user_1:P@ss:w0rd:x", code=2, message=BAD, exc_type=AuthenticationError)


def test_the_old_password_stops_working(db):
    root = connect(db, token="root:Milvus")
    root.update_password("user_1", "P@ss:w0rd:x", PW)
    expect_error(connect, db, token="user_1:P@ss:w0rd:x", code=2, message=BAD, exc_type=AuthenticationError)
    assert logged_in_as(connect(db, token=f"user_1:{PW}"), "user_1")


def test_root_password_sets_roots_password_at_creation(tmp_path):
    db = str(tmp_path / "rbac.db")
    c = MilvusClient(db, token="root:S3cret!pw", root_password="S3cret!pw", password_hash="fast")
    assert c.list_users() == ["root"]
    expect_error(connect, db, token="root:Milvus", code=2, message=BAD, exc_type=AuthenticationError)
    assert connect(db, token="root:S3cret!pw").list_users() == ["root"]


@pytest.mark.parametrize("kwargs", [{}, {"token": "root:wrong"}, {"token": "nobody:x"}, {"token": "apikey"}])
def test_authorization_disabled_needs_no_credentials(tmp_path, kwargs):
    """P1 §1: with authorization disabled no authentication runs, but every RBAC API still works."""
    db = str(tmp_path / "rbac.db")
    c = MilvusClient(db, authorization_enabled=False, password_hash="fast", **kwargs)
    c.create_user("user_1", PW)
    c.create_role("role_a")
    c.grant_role("user_1", "role_a")
    assert c.list_users() == ["root", "user_1"]
    assert c.describe_user("user_1")["roles"] == ("role_a",)
    # The stored setting applies to later clients without it.
    assert MilvusClient(db, **kwargs).list_roles() == ["admin", "public", "role_a"]


def unused_port() -> int:
    """A loopback port nothing listens on (19530 may be a real Milvus on a developer's machine)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_remote_uri_names_a_server(scheme):
    """Issue 7 point 3 (superseding issue 2's "remote registries are not supported yet"): an http(s) URI is a
    client of a REST server. It takes no registry settings, and an unreachable server fails at construction
    with code 2, as pymilvus's `Fail connecting to server on ...` (P2 "Authentication")."""
    uri = f"{scheme}://127.0.0.1:{unused_port()}"
    expect_error(
        MilvusClient, uri, token="root:Milvus", password_hash="fast", code=1,
        message="registry settings belong to the server; a client of a server takes none", exc_type=ParamError,
    )
    with pytest.raises(MilvusException) as info:
        MilvusClient(uri, token="root:Milvus")
    assert info.value.code == 2
    assert info.value.message.startswith("Fail connecting to server on ")
    assert "illegal connection params or server unavailable" in info.value.message


def test_remote_uri_error_never_shows_the_password_in_the_uri():
    with pytest.raises(MilvusException) as info:
        MilvusClient(f"http://root:S3cretPw@127.0.0.1:{unused_port()}")
    assert info.value.code == 2
    assert "S3cretPw" not in info.value.message
    assert "S3cretPw" not in repr(info.value)


def test_no_file_is_created_for_a_remote_uri(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(MilvusException):
        MilvusClient(f"http://127.0.0.1:{unused_port()}", token="root:Milvus")
    assert list(tmp_path.iterdir()) == []


def test_authentication_failure_does_not_create_users(db):
    with pytest.raises(AuthenticationError):
        connect(db, token="ghost:whatever")
    assert connect(db, token="root:Milvus").list_users() == ["root", "user_1"]
