"""milvus_rbac.patch_pymilvus: pymilvus's MilvusClient served in-process, and everything restored after."""

from __future__ import annotations

import inspect
import threading

import pymilvus
import pymilvus.milvus_client
import pymilvus.milvus_client.milvus_client as implementation
import pytest
from pymilvus import MilvusClient as EarlyReference  # taken before any patch, as test modules do

import milvus_rbac
from milvus_rbac import AuthenticationError, MilvusException, ParamError, PermissionDeniedError

REAL = implementation.MilvusClient
URI = "http://localhost:19530"


def assert_restored():
    assert pymilvus.MilvusClient is REAL
    assert pymilvus.milvus_client.MilvusClient is REAL
    assert implementation.MilvusClient is REAL
    # pymilvus's class builds its own instances again, with the constructor's arguments (a `__new__` that was set
    # cannot be deleted without breaking them; see test_pymilvus_constructs_as_before_after_a_patch).
    assert type(REAL.__new__(REAL)) is REAL
    assert type(REAL.__new__(REAL, "http://localhost:19530", token="root:Milvus")) is REAL


def test_the_three_names_are_served_and_restored():
    with milvus_rbac.patch_pymilvus() as patch:
        served = pymilvus.MilvusClient
        assert served is not REAL
        assert pymilvus.milvus_client.MilvusClient is served
        assert implementation.MilvusClient is served
        assert issubclass(served, REAL)
        assert patch.uris == []
    assert_restored()


def test_a_reference_taken_before_the_patch_is_served_too():
    with milvus_rbac.patch_pymilvus():
        client = EarlyReference(URI, token="root:Milvus")
        assert isinstance(client, REAL)
        assert isinstance(client, pymilvus.MilvusClient)
        client.create_role("reader")
        assert pymilvus.MilvusClient(URI, user="root", password="Milvus").list_roles() == ["admin", "public", "reader"]
    assert_restored()


def test_subclasses_written_by_the_code_under_test_are_left_to_pymilvus():
    class Mine(REAL):
        pass

    with milvus_rbac.patch_pymilvus():
        assert type(REAL.__new__(Mine)) is Mine


def test_one_registry_per_uri():
    with milvus_rbac.patch_pymilvus() as patch:
        a = pymilvus.MilvusClient("http://a:19530", token="root:Milvus")
        a.create_user("user_1", "P@ssw0rd")
        assert pymilvus.MilvusClient("http://a:19530/", token="root:Milvus").list_users() == ["root", "user_1"]
        assert pymilvus.MilvusClient("http://b:19530", token="root:Milvus").list_users() == ["root"]
        assert pymilvus.MilvusClient(token="root:Milvus").list_users() == ["root"]  # pymilvus's default URI
        assert patch.uris == ["http://a:19530", "http://b:19530", URI]
        assert patch.registry("http://a:19530").connect().list_users() == ["root", "user_1"]


def test_credentials_are_checked_as_milvus_checks_them():
    with milvus_rbac.patch_pymilvus():
        root = pymilvus.MilvusClient(URI, token="root:Milvus")
        root.create_user("user_1", "P@ssw0rd")
        with pytest.raises(pymilvus.MilvusException) as caught:
            pymilvus.MilvusClient(URI, token="user_1:wrong")
        assert isinstance(caught.value, AuthenticationError)
        with pytest.raises(AuthenticationError, match="missing authorization"):
            pymilvus.MilvusClient(URI)
        user_1 = pymilvus.MilvusClient(URI, user="user_1", password="P@ssw0rd")
        with pytest.raises(PermissionDeniedError, match="PrivilegeCreateOwnership: permission deny to user_1"):
            user_1.create_role("r")
        assert "P@ssw0rd" not in repr(user_1)
        assert repr(user_1).startswith('<pymilvus.MilvusClient served by milvus_rbac: MilvusClient(uri="')


def test_settings_apply_to_every_registry_of_the_patch():
    with milvus_rbac.patch_pymilvus(profile="milvus-2.4", root_password="An0ther!pw", max_users=2) as patch:
        client = pymilvus.MilvusClient("http://x", token="root:An0ther!pw")
        client.create_user("user_1", "secret")  # 2.4's rule: 6 bytes or more
        with pytest.raises(MilvusException, match="number of users has reached the limit"):
            client.create_user("user_2", "secret")
        assert 'profile="milvus-2.4"' in repr(patch.connect("http://y"))
    with pytest.raises(ParamError, match="unknown setting `max_user`"):
        milvus_rbac.patch_pymilvus(max_user=2)


def test_methods_other_than_rbac_raise_naming_the_method():
    with milvus_rbac.patch_pymilvus():
        client = pymilvus.MilvusClient(URI, token="root:Milvus")
        for call in (
            lambda: client.search("books", [[0.1]]),
            lambda: client.create_collection("books", dimension=4),
            lambda: client.use_database("db1"),
            lambda: client.get_server_version(),
        ):
            with pytest.raises(MilvusException, match=r"MilvusClient\.\w+ is not served by milvus_rbac") as caught:
                call()
            assert caught.value.code == 65535
        with pytest.raises(MilvusException, match="MilvusClient.insert is not served"):
            client.insert("books", [{"id": 1}])
        # Class methods that build values locally are pymilvus's own.
        schema = pymilvus.MilvusClient.create_schema(auto_id=True)
        assert isinstance(schema, pymilvus.CollectionSchema)


def test_served_methods_keep_pymilvus_signatures_and_docs():
    with milvus_rbac.patch_pymilvus():
        served = pymilvus.MilvusClient
        for name in ("create_user", "grant_privilege_v2", "describe_role", "list_privilege_groups", "__init__"):
            assert inspect.signature(getattr(served, name)) == inspect.signature(getattr(REAL, name)), name
        assert served.create_user.__doc__ == REAL.create_user.__doc__
        assert not hasattr(served, "check_privilege")  # extensions stay on milvus_rbac's client


def test_results_have_pymilvus_shapes_and_notebook_display():
    with milvus_rbac.patch_pymilvus():
        client = pymilvus.MilvusClient(URI, token="root:Milvus")
        client.create_user("user_1", "P@ssw0rd")
        assert client.describe_user("user_1") == {"user_name": "user_1", "roles": (), "description": ""}
        assert "<td>user_1</td>" in client._repr_html_()


def test_clients_are_closed_and_registries_discarded_at_exit():
    with milvus_rbac.patch_pymilvus() as patch:
        client = pymilvus.MilvusClient(URI, token="root:Milvus")
        path = patch.registry().uri
        client.close()
        client.close()
        with pytest.raises(MilvusException, match="closed"):
            client.list_users()
        client = pymilvus.MilvusClient(URI, token="root:Milvus")
    with pytest.raises(MilvusException, match="closed"):
        client.list_users()
    import os

    assert not os.path.exists(path)
    with pytest.raises(ParamError, match="not active"):
        patch.connect()


def test_a_patch_used_outside_its_block_is_a_param_error_as_pymilvus_reports_them():
    patch = milvus_rbac.patch_pymilvus()
    with pytest.raises(ParamError, match="not active") as outside:
        patch.registry()
    assert outside.value.code == 1
    with patch:
        with pytest.raises(ParamError, match="already active") as twice:
            patch.__enter__()
        assert twice.value.code == 1


def test_a_patch_entered_again_starts_from_fresh_registries():
    patch = milvus_rbac.patch_pymilvus()
    with patch:
        pymilvus.MilvusClient(URI, token="root:Milvus").create_role("reader")
        assert patch.uris == [URI]
    assert patch.uris == []
    with patch:
        assert "reader" not in pymilvus.MilvusClient(URI, token="root:Milvus").list_roles()


def test_the_served_class_keeps_pymilvus_s_documentation():
    with milvus_rbac.patch_pymilvus():
        doc = pymilvus.MilvusClient.__doc__
    assert doc.startswith("pymilvus's MilvusClient, served by milvus_rbac.patch_pymilvus.")
    assert REAL.__doc__ and doc.endswith(REAL.__doc__)


def test_a_new_put_back_calls_the_inherited_one_with_the_arguments():
    from milvus_rbac.patching import _inherited_new

    class Base:
        def __new__(cls, *args, **kwargs):
            instance = super().__new__(cls)
            instance.made_with = (args, kwargs)
            return instance

    class Child(Base):
        pass

    made = _inherited_new(Child)(Child, 1, key=2)
    assert type(made) is Child and made.made_with == ((1,), {"key": 2})
    assert type(_inherited_new(Base)(Base, 1, key=2)) is Base  # object's __new__ gets no arguments


def test_an_error_in_the_block_still_restores():
    with pytest.raises(ZeroDivisionError):
        with milvus_rbac.patch_pymilvus():
            1 / 0
    assert_restored()


def test_nested_patches_have_their_own_registries_and_unwind_in_order():
    with milvus_rbac.patch_pymilvus() as outer:
        pymilvus.MilvusClient(URI, token="root:Milvus").create_role("outer_role")
        outer_class = pymilvus.MilvusClient
        with milvus_rbac.patch_pymilvus() as inner:
            assert pymilvus.MilvusClient is not outer_class
            assert issubclass(pymilvus.MilvusClient, REAL)
            assert EarlyReference(URI, token="root:Milvus").list_roles() == ["admin", "public"]
            with pytest.raises(ParamError, match="already active"):
                inner.__enter__()
        assert pymilvus.MilvusClient is outer_class
        assert EarlyReference(URI, token="root:Milvus").list_roles() == ["admin", "outer_role", "public"]
    assert_restored()


def test_threads_share_the_registry_of_a_uri():
    with milvus_rbac.patch_pymilvus():
        errors = []

        def work(index):
            try:
                pymilvus.MilvusClient(URI, token="root:Milvus").create_role(f"role_{index}")
            except Exception as error:  # reported below
                errors.append(error)

        threads = [threading.Thread(target=work, args=(index,)) for index in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        roles = pymilvus.MilvusClient(URI, token="root:Milvus").list_roles()
    assert roles == ["admin", "public"] + [f"role_{index}" for index in range(6)]


def test_pymilvus_constructs_as_before_after_a_patch(tmp_path):
    """Leaving the patch restores construction: a real pymilvus client (of an unreachable server) fails to
    connect as it did before, rather than with a TypeError from object.__new__."""
    import socket

    with milvus_rbac.patch_pymilvus():
        pymilvus.MilvusClient(token="root:Milvus").close()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(pymilvus.MilvusException) as info:
        pymilvus.MilvusClient(uri=f"http://127.0.0.1:{port}", token="root:Milvus", timeout=0.5)
    assert info.value.code == 2


def test_the_database_a_client_names_is_the_one_its_calls_run_in():
    """pymilvus's ``db_name=`` reaches the registry: a role granted in db1 lets its holder act there only."""
    with milvus_rbac.patch_pymilvus() as patch:
        root = pymilvus.MilvusClient(URI, token="root:Milvus")
        root.create_user("maker", "P@ssw0rd")
        root.create_role("makers")
        root.grant_role("maker", "makers")
        root.grant_privilege("makers", "Global", "CreateOwnership", "*", db_name="db1")
        in_db1 = pymilvus.MilvusClient(URI, token="maker:P@ssw0rd", db_name="db1")
        in_db1.create_role("made_in_db1")
        in_default = pymilvus.MilvusClient(URI, token="maker:P@ssw0rd")
        with pytest.raises(PermissionDeniedError) as denied:
            in_default.create_role("made_in_default")
        assert "in the `default` database" in denied.value.message
        assert patch.uris == [URI]
    assert_restored()
