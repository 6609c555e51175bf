"""Fixtures for the Python test suite (tests/conformance/ has its own machinery).

`client` is a factory: ``client(profile="docs", uri=":memory:", token="root:Milvus", **settings)`` returns an open
`MilvusClient` with ``password_hash="fast"`` (unless given), closed at the end of the test. ``profile=None`` leaves
the setting out.

`milvus_uri` is a real Milvus server's URI (see `real_milvus`): `MILVUS_URI`, or the server the session started when
`MILVUS_RBAC_TEST_MILVUS=start`; the test is skipped when there is neither. `milvus_2_3_5_address` is that server's
``host:port`` when it is a Milvus 2.3.5 (the version whose answers the SDK tests expect), else the test is skipped.

`etcd_cluster` is a 3-member etcd cluster on loopback shared by the session (see `etcd_cluster.py`); `etcd_uri` an
`etcd://` registry on a prefix of it that no other test uses. Tests that stop members start a cluster of their own.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Callable, Iterator, Optional

import pytest
import real_milvus
from etcd_cluster import Cluster
from rbac_testing import PROFILES, SERVER_PROFILES

from milvus_rbac import MilvusClient

ClientFactory = Callable[..., MilvusClient]

# The real Milvus this session started (MILVUS_RBAC_TEST_MILVUS=start); started when pytest starts so that its
# minute of start-up overlaps the tests that do not need it.
_started_milvus: Optional[real_milvus.StartedMilvus] = None


def pytest_configure(config: pytest.Config) -> None:
    global _started_milvus
    try:
        _started_milvus = real_milvus.start_if_asked()
    except real_milvus.RealMilvusError as err:
        raise pytest.UsageError(str(err)) from err


def pytest_unconfigure(config: pytest.Config) -> None:
    global _started_milvus
    if _started_milvus is not None:
        _started_milvus.stop()
        _started_milvus = None


@pytest.fixture
def quiet_pymilvus() -> Iterator[None]:
    """pymilvus logs every failed RPC with a traceback; tests that expect failures silence it."""
    logger = logging.getLogger("pymilvus")
    level = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    yield
    logger.setLevel(level)


@pytest.fixture(scope="session")
def milvus_uri() -> str:
    uri = os.environ.get("MILVUS_URI")
    if uri:
        return uri
    if _started_milvus is None:
        pytest.skip(f"MILVUS_URI is not set and {real_milvus.START_FLAG} is not 'start'")
    try:
        return _started_milvus.wait_ready()
    except real_milvus.RealMilvusError as err:
        pytest.fail(str(err), pytrace=False)


@pytest.fixture(scope="session")
def milvus_2_3_5_address(milvus_uri: str) -> str:
    pymilvus = pytest.importorskip("pymilvus")
    token = os.environ.get("MILVUS_TOKEN", real_milvus.ROOT_TOKEN)
    probe = pymilvus.MilvusClient(milvus_uri, token=token, dedicated=True)
    try:
        version = probe.get_server_version()
    finally:
        probe.close()
    if not version.startswith("v2.3.5"):
        pytest.skip(f"the server at {milvus_uri} is Milvus {version}; these answers were observed on 2.3.5")
    return milvus_uri.split("://", 1)[-1].rstrip("/")


@pytest.fixture(scope="session")
def etcd_cluster() -> Iterator[Cluster]:
    cluster = Cluster(3)
    yield cluster
    cluster.stop()


@pytest.fixture
def etcd_uri(etcd_cluster: Cluster) -> str:
    return etcd_cluster.uri()


@pytest.fixture
def client() -> Iterator[ClientFactory]:
    opened: list[MilvusClient] = []

    def make(
        profile: Optional[str] = "docs",
        uri: Any = ":memory:",
        token: Any = "root:Milvus",
        **settings: Any,
    ) -> MilvusClient:
        settings.setdefault("password_hash", "fast")
        if profile is not None:
            settings["profile"] = profile
        c = MilvusClient(uri, token=token, **settings)
        opened.append(c)
        return c

    yield make
    for c in opened:
        c.close()


@pytest.fixture(params=PROFILES)
def profile(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=SERVER_PROFILES)
def server_profile(request: pytest.FixtureRequest) -> str:
    return str(request.param)
