"""Fixtures for the Python test suite (tests/conformance/ has its own machinery).

`client` is a factory: ``client(profile="docs", uri=":memory:", token="root:Milvus", **settings)`` returns an open
`MilvusClient` with ``password_hash="fast"`` (unless given), closed at the end of the test. ``profile=None`` leaves
the setting out.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, Optional

import pytest
from rbac_testing import PROFILES, SERVER_PROFILES

from milvus_rbac import MilvusClient

ClientFactory = Callable[..., MilvusClient]


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
