"""Codes, setting names and profile names have one source each, in Rust (issue 12, point 5): the native module
exports them (`_core.LEGACY_CODES`, `_core.SETTINGS`, `_core.PROFILES`), the Python code reads them, and what must
stay written out (the pyo3 signatures, the stubs, the command's flags, the tests' parametrizations) is checked
against them here, so that a drift fails a test.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import os

import pytest
import rbac_testing
from rbac_testing import PW

import milvus_rbac
from milvus_rbac import LegacyErrorCode, MilvusClient, ParamError, _core, cli, serve, testing

STUBS = os.path.join(os.path.dirname(milvus_rbac.__file__), "_core.pyi")


def keyword_only(signature: inspect.Signature):
    return [p.name for p in signature.parameters.values() if p.kind == inspect.Parameter.KEYWORD_ONLY]


def stub_keyword_only(path: str):
    """The keyword-only parameters of `MilvusClient.__new__` and `serve` as the stubs declare them."""
    with open(path, encoding="utf-8") as file:
        tree = ast.parse(file.read())
    found = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "serve":
            found["serve"] = [arg.arg for arg in node.args.kwonlyargs]
        if isinstance(node, ast.ClassDef) and node.name == "MilvusClient":
            for member in node.body:
                if isinstance(member, ast.FunctionDef) and member.name == "__new__":
                    found["MilvusClient"] = [arg.arg for arg in member.args.kwonlyargs]
    return found


def test_the_lists_are_tuples_of_distinct_names():
    for names in (_core.SETTINGS, _core.PROFILES, tuple(name for name, _ in _core.LEGACY_CODES)):
        assert isinstance(names, tuple) and names
        assert all(isinstance(name, str) for name in names)
        assert len(set(names)) == len(names)
    assert all(isinstance(value, int) for _, value in _core.LEGACY_CODES)


# --- legacy codes -----------------------------------------------------------------------------------------


def test_legacy_error_code_is_made_from_rusts_list():
    assert [(member.name, member.value) for member in LegacyErrorCode] == list(_core.LEGACY_CODES)
    assert issubclass(LegacyErrorCode, int)
    assert LegacyErrorCode.__module__ == "milvus_rbac.exceptions"


def test_every_reported_legacy_code_is_a_member():
    """Codes the Python enum once lacked (it listed 10 of Rust's 19) come back as members, not bare ints."""
    client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast", profile="milvus-2.5")
    with pytest.raises(milvus_rbac.MilvusException) as grant:
        client.grant_privilege("no_such_role", "Global", "CreateCollection", "*")
    assert grant.value.compatible_code is LegacyErrorCode.OperatePrivilegeFailure
    with pytest.raises(milvus_rbac.MilvusException) as describe:
        client.describe_role("no_such_role")
    assert describe.value.compatible_code is LegacyErrorCode.SelectGrantFailure


# --- settings -----------------------------------------------------------------------------------------------

#: serve's own keyword-only arguments before the registry settings: bounds on its connections, TLS files.
SERVE_BOUNDS = ["max_connections", "idle_timeout", "header_timeout", "server_pem_path", "server_key_path",
                "ca_pem_path", "max_failed_logins", "max_failed_logins_per_address"]


def test_the_signatures_keyword_only_names_are_the_settings():
    assert keyword_only(inspect.signature(MilvusClient)) == list(_core.SETTINGS)
    assert keyword_only(inspect.signature(serve)) == ["log_level", *SERVE_BOUNDS, *_core.SETTINGS]


def test_the_stubs_keyword_only_names_are_the_settings():
    stubs = stub_keyword_only(STUBS)
    assert stubs["MilvusClient"] == list(_core.SETTINGS)
    assert stubs["serve"] == ["log_level", *SERVE_BOUNDS, *_core.SETTINGS]


@pytest.mark.parametrize("setting", _core.SETTINGS)
def test_the_bindings_read_every_setting(setting):
    """The shown signatures are text; the real ones read each setting (not `**kwargs`, which ignores unknown
    names): a wrong value is refused, naming the setting."""
    with pytest.raises(ParamError, match=f"`{setting}`"):
        MilvusClient(":memory:", token="root:Milvus", **{setting: 1.5})
    with pytest.raises(ParamError, match=f"`{setting}`"):
        serve(":memory:", port=0, **{setting: 1.5})  # refused before serving


def test_testing_takes_the_settings_from_rust():
    assert testing.SETTINGS == _core.SETTINGS


def serve_parser() -> argparse.ArgumentParser:
    parser = cli._parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return commands.choices["serve"]


def test_the_serve_command_takes_every_setting():
    flags = {action.dest for action in serve_parser()._actions}
    for setting in _core.SETTINGS:
        assert (setting in flags) != (setting in cli.SERVE_SETTINGS_FROM_ENV), setting
    assert set(cli.SERVE_SETTINGS_FROM_ENV) <= set(_core.SETTINGS)


def test_the_serve_flags_reach_serve_by_their_setting_names(monkeypatch):
    calls = []
    monkeypatch.setattr(cli, "serve", lambda *args, **kwargs: calls.append(kwargs))
    monkeypatch.delenv(cli.ROOT_PASSWORD_ENV, raising=False)
    assert cli.main(["serve", "--db", ":memory:"]) == 0
    given = {name: value for name, value in calls.pop().items() if value is not None}
    # None leaves a setting out; the limits are left out unless given; the connection bounds have defaults
    assert given == {"log_level": "info", "idle_timeout": 60.0, "header_timeout": 10.0, "max_failed_logins": 30,
                     "max_failed_logins_per_address": 0}  # no TLS files

    monkeypatch.setenv(cli.ROOT_PASSWORD_ENV, PW)
    flags = ["--profile", "milvus-2.5", "--super-user", "boss", "--max-users", "none", "--max-roles", "5",
             "--no-authorization", "--root-should-bind-role", "--password-hash", "fast",
             "--max-connections", "7", "--idle-timeout", "2.5", "--header-timeout", "1", "--audit-retention", "7"]
    assert cli.main(["serve", "--db", ":memory:", *flags]) == 0
    assert calls.pop() == {
        "log_level": "info",
        "max_connections": 7,
        "idle_timeout": 2.5,
        "header_timeout": 1.0,
        "server_pem_path": None,
        "server_key_path": None,
        "ca_pem_path": None,
        "max_failed_logins": 30,
        "max_failed_logins_per_address": 0,
        "profile": "milvus-2.5",
        "root_password": PW,
        "super_users": ["boss"],
        "max_users": None,
        "max_roles": 5,
        "authorization_enabled": False,
        "root_should_bind_role": True,
        "password_hash": "fast",
        "audit_retention": 7,
    }


# --- profiles -----------------------------------------------------------------------------------------------


def test_the_cli_offers_rusts_profiles():
    assert cli.PROFILES == list(_core.PROFILES)
    profile = next(action for action in serve_parser()._actions if action.dest == "profile")
    assert list(profile.choices) == list(_core.PROFILES)


@pytest.mark.parametrize("profile", _core.PROFILES)
def test_every_profile_opens_a_registry(profile):
    with MilvusClient(":memory:", token="root:Milvus", password_hash="fast", profile=profile) as client:
        assert f'profile="{profile}"' in repr(client)


def test_an_unknown_profile_names_the_known_ones():
    with pytest.raises(ParamError, match="known profiles: " + ", ".join(_core.PROFILES).replace(".", r"\.")):
        MilvusClient(":memory:", token="root:Milvus", password_hash="fast", profile="milvus-9")


def test_the_tests_cover_every_profile():
    """The tests' parametrizations run every profile."""
    assert tuple(rbac_testing.PROFILES) == _core.PROFILES
