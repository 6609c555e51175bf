"""The pytest plugin (milvus_rbac.pytest_plugin), run in pytest's own `pytester` as a user's suite would run it."""

from __future__ import annotations

import textwrap

pytest_plugins = ["pytester"]


def run(pytester, source, *args):
    pytester.makepyfile(test_user_suite=textwrap.dedent(source))
    return pytester.runpytest("-p", "no:cacheprovider", "-p", "no:hypothesispytest", *args)


def test_milvus_client_is_root_on_a_fresh_in_memory_registry_per_test(pytester):
    result = run(
        pytester,
        """
        def test_first(milvus_client):
            assert milvus_client.list_users() == ["root"]
            milvus_client.create_user("user_1", "P@ssw0rd")
            assert 'uri=":memory:", user="root", profile="docs"' in repr(milvus_client)

        def test_second_starts_afresh(milvus_client):
            assert milvus_client.list_users() == ["root"]

        def test_hashes_are_fast(milvus_client):
            milvus_client.create_user("user_1", "P@ssw0rd")
            [user] = milvus_client.backup_rbac()["users"]
            assert user["password_hash"].startswith("$argon2id$v=19$m=64,t=1,p=1$")
        """,
    )
    result.assert_outcomes(passed=3)


def test_the_marker_sets_settings_nearest_first(pytester):
    result = run(
        pytester,
        """
        import pytest

        pytestmark = pytest.mark.milvus_rbac(profile="milvus-2.5", max_roles=3)

        def test_module_marker(milvus_client):
            assert 'profile="milvus-2.5"' in repr(milvus_client)
            milvus_client.create_role("r1")
            with pytest.raises(Exception, match="the number of roles has reached the limit"):
                milvus_client.create_role("r2")

        @pytest.mark.milvus_rbac(profile="milvus-2.4", root_password="An0ther!pw")
        class TestClass:
            def test_class_marker(self, milvus_client):
                assert 'profile="milvus-2.4"' in repr(milvus_client)

            @pytest.mark.milvus_rbac(profile="milvus-2.6", password_hash="strong")
            def test_function_marker_wins(self, milvus_client, milvus_registry):
                assert 'profile="milvus-2.6"' in repr(milvus_client)
                assert milvus_registry.settings == {
                    "profile": "milvus-2.6", "max_roles": 3, "root_password": "An0ther!pw", "password_hash": "strong"
                }
        """,
        "--strict-markers",
    )
    result.assert_outcomes(passed=3)


def test_bad_markers_fail_the_test_at_setup(pytester):
    result = run(
        pytester,
        """
        import pytest

        @pytest.mark.milvus_rbac(profil="milvus-2.5")
        def test_misspelt(milvus_client):
            pass

        @pytest.mark.milvus_rbac("milvus-2.5")
        def test_positional(milvus_registry):
            pass

        @pytest.mark.milvus_rbac(profile="milvus-9")
        def test_unknown_profile(patch_pymilvus):
            patch_pymilvus.connect()
        """,
    )
    result.assert_outcomes(errors=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*ParamError*@pytest.mark.milvus_rbac: unknown setting `profil`*",
            "*ParamError*@pytest.mark.milvus_rbac takes settings by name*",
            "*ParamError*`profile`*milvus-9*",
        ]
    )


def test_milvus_registry_connects_other_users_to_the_same_registry(pytester):
    result = run(
        pytester,
        """
        import os
        import pytest
        from milvus_rbac import AuthenticationError, PermissionDeniedError

        PATHS = []

        def test_users_share_the_registry(milvus_client, milvus_registry):
            milvus_client.create_user("user_1", "P@ssw0rd")
            milvus_client.create_role("creator")
            milvus_client.grant_privilege("creator", "Global", "CreateOwnership", "*")
            user_1 = milvus_registry.connect(token="user_1:P@ssw0rd")
            with pytest.raises(PermissionDeniedError, match="PrivilegeCreateOwnership: permission deny to user_1"):
                user_1.create_role("r")
            milvus_client.grant_role("user_1", "creator")
            user_1.create_role("r")
            assert milvus_registry.connect().list_roles() == ["admin", "creator", "public", "r"]
            with pytest.raises(AuthenticationError):
                milvus_registry.connect(user="user_1", password="wrong")
            assert os.path.exists(milvus_registry.uri)
            PATHS.append(milvus_registry.uri)

        def test_the_file_is_gone_and_the_next_registry_is_fresh(milvus_registry):
            assert not os.path.exists(PATHS[0])
            assert milvus_registry.connect().list_users() == ["root"]
        """,
    )
    result.assert_outcomes(passed=2)


def test_patch_pymilvus_fixture_serves_pymilvus_for_the_test_only(pytester):
    result = run(
        pytester,
        """
        import pymilvus
        import pytest
        from pymilvus import MilvusClient

        REAL = pymilvus.MilvusClient

        @pytest.mark.milvus_rbac(profile="milvus-2.5")
        def test_served(patch_pymilvus):
            client = MilvusClient("http://localhost:19530", token="root:Milvus")
            client.create_role("reader")
            assert pymilvus.MilvusClient is not REAL
            assert 'profile="milvus-2.5"' in repr(patch_pymilvus.connect())
            assert patch_pymilvus.connect().list_roles() == ["admin", "public", "reader"]

        def test_restored_after():
            assert pymilvus.MilvusClient is REAL
            assert type(REAL.__new__(REAL, "http://localhost:19530", token="root:Milvus")) is REAL
        """,
    )
    result.assert_outcomes(passed=2)


def test_the_marker_is_registered_and_the_plugin_can_be_turned_off(pytester):
    assert any("@pytest.mark.milvus_rbac(**settings)" in line for line in pytester.runpytest("--markers").outlines)
    result = run(pytester, "def test_x(milvus_client):\n    pass\n", "-p", "no:milvus_rbac")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'milvus_client' not found*"])


def test_a_shared_registry_shows_its_uri_and_settings_but_no_password():
    from milvus_rbac.testing import SharedRegistry

    with SharedRegistry(profile="milvus-2.6", root_password="S3cret-root", password_hash="fast") as registry:
        shown = repr(registry)
        assert shown == (f"SharedRegistry(uri={registry.uri!r}, "
                         "settings={'profile': 'milvus-2.6', 'password_hash': 'fast'})")
        assert "S3cret" not in shown


def test_a_shared_registry_that_cannot_be_made_leaves_no_directory(tmp_path, monkeypatch):
    import tempfile

    import pytest

    from milvus_rbac import MilvusException, ParamError
    from milvus_rbac.testing import SharedRegistry

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with pytest.raises(ParamError, match="store must be an etcd://") as refused:
        SharedRegistry(store="/somewhere/else.db")
    assert refused.value.code == 1
    with pytest.raises(MilvusException, match="root_password"):
        SharedRegistry(root_password="x" * 73)
    assert list(tmp_path.iterdir()) == []


def test_a_shared_registry_connects_a_user_named_without_a_password_as_that_user():
    import pytest

    from milvus_rbac import AuthenticationError
    from milvus_rbac.testing import SharedRegistry

    with SharedRegistry(password_hash="fast") as registry:
        registry.connect().create_user("user_1", "P@ssw0rd")
        with pytest.raises(AuthenticationError):
            registry.connect(user="user_1")
        with pytest.raises(AuthenticationError):
            registry.connect(password="P@ssw0rd")
        assert registry.connect(user="user_1", password="P@ssw0rd").describe_user("user_1")["user_name"] == "user_1"


def test_a_closed_shared_registry_connects_no_more():
    import pytest

    from milvus_rbac import ParamError
    from milvus_rbac.testing import SharedRegistry

    registry = SharedRegistry(password_hash="fast")
    registry.close()
    with pytest.raises(ParamError) as refused:
        registry.connect()
    assert (refused.value.code, refused.value.message) == (1, "this SharedRegistry is closed; create a new one")
