"""Hypothesis feeds arbitrary text and non-text to every argument of every method and of the constructor: only
`MilvusException`s (ParamError included) come out; never TypeError, ValueError, OverflowError or a pyo3
PanicException (which is a BaseException, so it would escape the `except MilvusException` below)."""

from __future__ import annotations

import os
import re
import unicodedata
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rbac_testing import PROFILES, PW

from milvus_rbac import MilvusClient, MilvusException

FUZZ = settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)

# Text: any Unicode but lone surrogates (hypothesis's default alphabet), NUL and control characters included,
# plus names close to the rules' edges and very long strings.
text = st.one_of(
    st.text(),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=80),
    st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x9F), max_size=40),
    st.text(alphabet="abcXYZ_019 .-$@:\t\n\x00", max_size=300),
    st.sampled_from(["", " ", "root", "admin", "public", "user_1", "role_a", "Milvus", PW, ":memory:"]),
    st.builds(lambda c, n: c * n, st.sampled_from(["a", "é", "用", "\x00", " "]), st.integers(0, 5000)),
)
non_text = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**63, max_value=2**200),
    st.floats(allow_nan=True, allow_infinity=True),
    st.binary(max_size=40),
    st.lists(st.text(max_size=5), max_size=3),
    st.tuples(st.integers()),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.just(object()),
    st.just(1j),
    st.just(bytearray(b"x")),
)
anything = st.one_of(text, non_text)

METHOD_FUZZ = settings(FUZZ, max_examples=200)

# method -> its parameters (pymilvus's names, positional order)
METHODS = {
    "create_user": ["user_name", "password", "timeout", "description"],
    "update_password": ["user_name", "old_password", "new_password", "reset_connection", "timeout", "description"],
    "list_users": ["timeout"],
    "drop_user": ["user_name", "timeout"],
    "describe_user": ["user_name", "timeout"],
    "update_user": ["user_name", "description", "timeout"],
    "create_role": ["role_name", "timeout", "description"],
    "list_roles": ["timeout"],
    "drop_role": ["role_name", "force_drop", "timeout"],
    "alter_role": ["role_name", "description", "timeout"],
    "grant_role": ["user_name", "role_name", "timeout"],
    "revoke_role": ["user_name", "role_name", "timeout"],
}


@pytest.fixture(scope="module")
def clients():
    """One in-memory client per profile, shared by all examples (in-memory: nothing touches the disk)."""
    made = {
        p: MilvusClient(":memory:", token="root:Milvus", profile=p, password_hash="fast", max_users=None,
                        max_roles=None, super_users=["root"])
        for p in PROFILES
    }
    for c in made.values():
        c.create_user("user_1", PW)
        c.create_role("role_a")
    yield made
    for c in made.values():
        c.close()


def call_quietly(fn, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except MilvusException as err:
        assert isinstance(err.code, int) and isinstance(err.message, str)
        assert isinstance(str(err), str) and isinstance(repr(err), str)
        return err


# How many leading parameters of each method are required.
REQUIRED = {
    "create_user": 2, "update_password": 3, "drop_user": 1, "describe_user": 1, "update_user": 2,
    "create_role": 1, "drop_role": 1, "alter_role": 2, "grant_role": 2, "revoke_role": 2,
}


@pytest.mark.parametrize("method", sorted(METHODS))
@METHOD_FUZZ
@given(data=st.data())
def test_every_argument_of_every_method(clients, method, data):
    params = METHODS[method]
    optional = params[REQUIRED.get(method, 0):]
    c = clients[data.draw(st.sampled_from(PROFILES), label="profile")]
    # Each parameter gets arbitrary text or non-text; optional ones may be left out; the leading ones may be
    # passed by position; unknown keywords go to **kwargs.
    values = {name: data.draw(anything, label=name) for name in params}
    omit = data.draw(st.sets(st.sampled_from(optional)) if optional else st.just(set()), label="omit")
    upto = data.draw(st.integers(0, len(params)), label="positional")
    args = [values[name] for name in params[:upto]]
    kwargs = {name: values[name] for name in params[upto:] if name not in omit}
    kwargs.update(data.draw(st.dictionaries(st.sampled_from(["db_name", "x", "context"]), anything, max_size=2)))
    result = call_quietly(getattr(c, method), *args, **kwargs)
    if not isinstance(result, MilvusException):
        if method in ("list_users", "list_roles"):
            assert isinstance(result, list) and all(isinstance(n, str) for n in result)
            assert result == sorted(result, key=lambda n: n.encode())
        elif method == "describe_user":
            assert result == {} or (
                list(result) == ["user_name", "roles", "description"] and isinstance(result["roles"], tuple)
            )
        else:
            assert result is None
    # The registry is still usable.
    assert "root" in c.list_users()


@FUZZ
@given(
    user=anything,
    password=anything,
    db_name=anything,
    token=anything,
    timeout=anything,
    profile=st.one_of(st.sampled_from(PROFILES), anything),
    root_password=anything,
    super_users=st.one_of(st.lists(text, max_size=3), anything),
    max_users=st.one_of(st.integers(-3, 200), anything),
    max_roles=st.one_of(st.integers(-3, 20), anything),
    authorization_enabled=st.one_of(st.booleans(), anything),
    omit=st.sets(st.sampled_from(["user", "password", "db_name", "token", "timeout", "profile", "root_password",
                                  "super_users", "max_users", "max_roles", "authorization_enabled"])),
)
def test_every_argument_of_the_constructor(omit, **kwargs):
    kwargs = {k: v for k, v in kwargs.items() if k not in omit}
    client = call_quietly(MilvusClient, ":memory:", password_hash="fast", **kwargs)
    if isinstance(client, MilvusClient):
        assert isinstance(client.list_users(), list)
        client.close()


# URIs: arbitrary text without a path separator (relative names land in a scratch directory), and non-text.
uri_text = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="/"), max_size=60)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz-uris")
    old = os.getcwd()
    os.chdir(path)
    yield path
    os.chdir(old)


@FUZZ
@given(uri=st.one_of(uri_text, st.sampled_from(["", ".", "..", ":memory:", "http://", "https://x", "HTTP://x"]),
                     non_text))
def test_every_uri(scratch, uri):
    client = call_quietly(MilvusClient, uri, token="root:Milvus", password_hash="fast")
    if isinstance(client, MilvusClient):
        assert "root" in client.list_users()
        client.close()
    # Nothing escapes the scratch directory.
    assert os.getcwd() == str(scratch)


# --- the validators against the rules written down independently ---------------------------------------------

# Go's strings.TrimSpace and Rust's trim strip Unicode White_Space; Python's str.strip also strips \x1c-\x1f.
WHITE_SPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"


def go_trim(s: str) -> str:
    return s.strip(WHITE_SPACE)


def username_ok(profile: str, name: str) -> bool:
    if profile == "docs":
        return re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,31}", name) is not None
    extra = r"_.\-" if profile in ("milvus-2.6", "milvus-3.0") else "_"
    return re.fullmatch(rf"[A-Za-z][A-Za-z0-9{extra}]{{0,31}}", go_trim(name)) is not None


def role_name_ok(profile: str, name: str) -> bool:
    if profile == "docs":
        return re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,254}", name) is not None
    return re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$]{0,254}", go_trim(name)) is not None


def password_ok(profile: str, password: str) -> bool:
    if profile == "docs":
        if not 8 <= len(password) <= 64 or any(unicodedata.category(ch) == "Cc" for ch in password):
            return False
        classes = {
            "upper" if "A" <= ch <= "Z" else "lower" if "a" <= ch <= "z" else "digit" if "0" <= ch <= "9" else "other"
            for ch in password
        }
        return len(classes) >= 3
    high = 256 if profile == "milvus-2.4" else 72
    return 6 <= len(password.encode()) <= high


names = st.one_of(
    st.text(alphabet="aZ_09.-$ \t\x1c\xa0\u3000é", max_size=40),
    st.text(max_size=40),
    st.builds(lambda a, n, b: a + "x" * n + b, st.sampled_from(["", " ", "_", "1"]), st.integers(0, 300),
              st.sampled_from(["", " ", "$", "-"])),
)
passwords = st.one_of(
    st.text(max_size=80),
    st.text(alphabet="aA1!é \x00\t", max_size=80),
    st.builds(lambda c, n: c * n, st.sampled_from(["a", "A1!", "é", "用"]), st.integers(0, 100)),
)


@FUZZ
@given(profile=st.sampled_from(PROFILES), name=names)
def test_usernames_follow_the_rule(clients, profile, name):
    c = clients[profile]
    result = call_quietly(c.describe_user, name)
    rejected = isinstance(result, MilvusException) and result.code == 1100
    assert rejected != username_ok(profile, name), result


@FUZZ
@given(profile=st.sampled_from(PROFILES), name=names.filter(bool))
def test_role_names_follow_the_rule(clients, profile, name):
    c = clients[profile]
    result = call_quietly(c.drop_role, name)
    if role_name_ok(profile, name):
        # Valid: dropped (a role an earlier example created), or no such role, or a default role.
        assert result is None or (isinstance(result, MilvusException) and result.code in (65535, 1401)), result
    else:
        assert isinstance(result, MilvusException) and result.code == 1100, result


@FUZZ
@given(profile=st.sampled_from(PROFILES), password=passwords)
def test_passwords_follow_the_rule(profile, password):
    # A fresh registry without super users: a valid new password fails only on the wrong old password (1400).
    c = MilvusClient(":memory:", token="root:Milvus", profile=profile, password_hash="fast")
    result = call_quietly(c.update_password, "root", "not the old one", password)
    assert isinstance(result, MilvusException)
    assert result.code == (1400 if password_ok(profile, password) else 1100), result
