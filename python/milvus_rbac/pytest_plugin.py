"""The pytest plugin of milvus-rbac, registered through the ``pytest11`` entry point: installed, it is active.

Fixtures:

``milvus_client``
    A ``milvus_rbac.MilvusClient`` on a fresh registry, connected as root, closed after the test. The registry
    is in memory, unless the test also uses ``milvus_registry``: then it is that registry's root client.
``milvus_registry``
    A :class:`milvus_rbac.testing.SharedRegistry`: a registry in a temporary file, whose ``connect(token=...)``
    opens more clients on it, as other users (``milvus_registry.connect(token="user_1:P@ssw0rd")``). With the
    ini option ``milvus_rbac_store = etcd://host:port,...`` (or the environment variable ``MILVUS_RBAC_STORE``,
    which wins), each test's registry is in that etcd instead, under a prefix of its own, removed after it.
``patch_pymilvus``
    For the test, ``pymilvus.MilvusClient(uri, token=...)`` is served in-process, one registry per URI (see
    :func:`milvus_rbac.patch_pymilvus`); the fixture's value is the :class:`milvus_rbac.PymilvusPatch`.

Settings: registries are created with ``password_hash="fast"``, and with the settings of the ``milvus_rbac``
marker, on the test, its class or its module (the nearest wins, setting by setting)::

    import pytest
    from milvus_rbac import PermissionDeniedError

    @pytest.mark.milvus_rbac(profile="milvus-2.5", max_users=3)
    def test_readers_cannot_create_users(milvus_client, milvus_registry):
        milvus_client.create_user("user_1", "P@ssw0rd")
        user_1 = milvus_registry.connect(token="user_1:P@ssw0rd")
        with pytest.raises(PermissionDeniedError):
            user_1.create_user("user_2", "P@ssw0rd")

``pytest -p no:milvus_rbac`` turns the plugin off.
"""

from __future__ import annotations

import os
from typing import Any, Dict, Iterator

import pytest

from milvus_rbac._core import MilvusClient
from milvus_rbac.exceptions import ParamError
from milvus_rbac.patching import PymilvusPatch, patch_pymilvus
from milvus_rbac.testing import SharedRegistry, checked_settings

__all__ = ["milvus_client", "milvus_registry", "patch_pymilvus_fixture", "marker_settings"]

MARKER = "milvus_rbac"


STORE_ENV = "MILVUS_RBAC_STORE"


def pytest_addoption(parser: pytest.Parser) -> None:
    """The ``milvus_rbac_store`` ini option: where ``milvus_registry`` keeps its registries."""
    parser.addini("milvus_rbac_store", "etcd://host:port,... for milvus_registry's registries (default: temporary files)")


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``milvus_rbac`` marker (so ``--strict-markers`` accepts it)."""
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**settings): MilvusClient settings (profile=..., root_password=..., max_users=..., ...) for the "
        "registries of the milvus_client, milvus_registry and patch_pymilvus fixtures",
    )


def marker_settings(node: pytest.Item) -> Dict[str, Any]:
    """The settings of the ``milvus_rbac`` markers on ``node`` and its parents, the nearest winning, with
    ``password_hash="fast"`` unless given.

    A marker takes settings by name; a positional argument or an unknown name is a ``ParamError``.
    """
    settings: Dict[str, Any] = {}
    for marker in reversed(list(node.iter_markers(MARKER))):  # farthest first, so nearer ones override
        if marker.args:
            raise ParamError(1, f"@pytest.mark.{MARKER} takes settings by name, e.g. profile='milvus-2.5'")
        settings.update(marker.kwargs)
    return checked_settings(settings, f"@pytest.mark.{MARKER}")


@pytest.fixture
def milvus_registry(request: pytest.FixtureRequest) -> Iterator[SharedRegistry]:
    """A registry in a temporary file shared by the clients that ``connect`` opens; deleted after the test."""
    store = os.environ.get(STORE_ENV) or request.config.getini("milvus_rbac_store") or None
    with SharedRegistry(store=store, **marker_settings(request.node)) as registry:
        yield registry


@pytest.fixture
def milvus_client(request: pytest.FixtureRequest) -> Iterator[MilvusClient]:
    """A client connected as root to a fresh registry (``milvus_registry``'s, if the test uses it)."""
    if "milvus_registry" in request.fixturenames:
        registry: SharedRegistry = request.getfixturevalue("milvus_registry")
        yield registry.connect()
        return
    settings = marker_settings(request.node)
    token = f"root:{settings.get('root_password') or 'Milvus'}"
    with MilvusClient(":memory:", token=token, **settings) as client:
        yield client


@pytest.fixture(name="patch_pymilvus")
def patch_pymilvus_fixture(request: pytest.FixtureRequest) -> Iterator[PymilvusPatch]:
    """``pymilvus.MilvusClient`` served in-process for the test (see :func:`milvus_rbac.patch_pymilvus`)."""
    with patch_pymilvus(**marker_settings(request.node)) as patch:
        yield patch
