"""Method signatures equal pymilvus 3.0.2's `MilvusClient` (issue 2 point 5, design.md "Python API conventions").

Compared: parameter names, order, kinds and defaults; annotations and `self` are ignored. The constructor's `uri`
default differs on purpose (":memory:"), and it adds keyword-only settings before **kwargs.
"""

from __future__ import annotations

import inspect

import pymilvus
import pytest
from rbac_testing import PW

from milvus_rbac import MilvusClient

METHODS = [
    "create_user",
    "update_password",
    "list_users",
    "drop_user",
    "describe_user",
    "update_user",
    "create_role",
    "list_roles",
    "drop_role",
    "alter_role",
    "grant_role",
    "revoke_role",
    "close",
]

SETTINGS = [
    "profile",
    "root_password",
    "super_users",
    "max_users",
    "max_roles",
    "authorization_enabled",
    "root_should_bind_role",
    "password_hash",
    "audit_retention",
]


def shape(signature: inspect.Signature, drop_self: bool = True):
    params = list(signature.parameters.values())
    if drop_self and params and params[0].name == "self":
        params = params[1:]
    return [(p.name, p.kind, p.default) for p in params]


def test_pymilvus_is_the_pinned_version():
    assert pymilvus.__version__.startswith("3.0.2")


@pytest.mark.parametrize("method", METHODS)
def test_method_signature_equals_pymilvus(method):
    ours = inspect.signature(getattr(MilvusClient, method))
    theirs = inspect.signature(getattr(pymilvus.MilvusClient, method))
    assert shape(ours) == shape(theirs)


@pytest.mark.parametrize("method", METHODS)
def test_bound_method_signature_equals_pymilvus(method):
    c = MilvusClient(token="root:Milvus", password_hash="fast")
    ours = inspect.signature(getattr(c, method))
    theirs = inspect.signature(getattr(pymilvus.MilvusClient, method))
    assert shape(ours, drop_self=False) == shape(theirs)


def test_constructor_signature():
    ours = shape(inspect.signature(MilvusClient), drop_self=False)
    theirs = shape(inspect.signature(pymilvus.MilvusClient.__init__))
    assert theirs[0] == ("uri", inspect.Parameter.POSITIONAL_OR_KEYWORD, "http://localhost:19530")
    # pymilvus's parameters, in order, with the same kinds and defaults (but uri's default).
    pymilvus_names = [name for name, _, _ in theirs]
    assert pymilvus_names == ["uri", "user", "password", "db_name", "token", "timeout", "kwargs"]
    assert [p for p in ours if p[1] != inspect.Parameter.KEYWORD_ONLY] == [
        ("uri", inspect.Parameter.POSITIONAL_OR_KEYWORD, ":memory:")
    ] + theirs[1:]
    # Then keyword-only settings, just before **kwargs.
    keyword_only = [p for p in ours if p[1] == inspect.Parameter.KEYWORD_ONLY]
    assert [name for name, _, _ in keyword_only] == SETTINGS
    assert ours[-1] == ("kwargs", inspect.Parameter.VAR_KEYWORD, inspect.Parameter.empty)
    assert [name for name, _, _ in ours[6:-1]] == SETTINGS


def test_the_signatures_are_true():
    """The declared signatures are what the methods accept: positionally, by keyword, with defaults."""
    c = MilvusClient(":memory:", "", "", "", "root:Milvus", None, password_hash="fast")
    assert c.create_user("user_1", PW, None, None) is None
    assert c.create_user(user_name="user_2", password=PW, timeout=1, description="d", extra=1) is None
    assert c.update_password("user_1", PW, "NewP@ssw0rd", False, None, None) is None
    assert c.update_password(
        user_name="user_1", old_password="NewP@ssw0rd", new_password=PW, reset_connection=False, timeout=None,
        description=None, extra=1,
    ) is None
    assert c.list_users(None) == ["root", "user_1", "user_2"]
    assert c.list_users(timeout=None, extra=1) == ["root", "user_1", "user_2"]
    assert c.describe_user("user_1", None)["user_name"] == "user_1"
    assert c.describe_user(user_name="user_1", timeout=None, extra=1)["user_name"] == "user_1"
    assert c.update_user("user_1", "desc", None) is None
    assert c.update_user(user_name="user_1", description="desc", timeout=None, extra=1) is None
    assert c.create_role("role_a", None, "") is None
    assert c.create_role(role_name="role_b", timeout=None, description="", extra=1) is None
    assert c.alter_role("role_a", "d", None) is None
    assert c.alter_role(role_name="role_a", description="d", timeout=None, extra=1) is None
    assert c.grant_role("user_1", "role_a", None) is None
    assert c.grant_role(user_name="user_1", role_name="role_b", timeout=None, extra=1) is None
    assert c.revoke_role("user_1", "role_a", None) is None
    assert c.revoke_role(user_name="user_1", role_name="role_b", timeout=None, extra=1) is None
    assert c.list_roles(None) == ["admin", "public", "role_a", "role_b"]
    assert c.list_roles(timeout=None, extra=1) == ["admin", "public", "role_a", "role_b"]
    assert c.drop_role("role_a", False, None) is None
    assert c.drop_role(role_name="role_b", force_drop=True, timeout=None, extra=1) is None
    assert c.drop_user("user_2", None) is None
    assert c.drop_user(user_name="user_1", timeout=None, extra=1) is None
    assert c.list_users() == ["root"]
    assert c.close() is None


@pytest.mark.parametrize("method", METHODS)
def test_methods_reject_unknown_positional_arguments_like_pymilvus(method):
    """Too many positional arguments is a TypeError in pymilvus too (Python's own argument binding)."""
    ours = inspect.signature(getattr(MilvusClient, method))
    positional = [
        p for p in ours.parameters.values()
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        and p.name != "self"
    ]
    c = MilvusClient(token="root:Milvus", password_hash="fast")
    with pytest.raises(TypeError):
        getattr(c, method)(*(["x"] * (len(positional) + 1)))


def test_context_manager_protocol():
    with MilvusClient(token="root:Milvus", password_hash="fast") as c:
        assert c.list_users() == ["root"]
    with pytest.raises(Exception):
        c.list_users()
