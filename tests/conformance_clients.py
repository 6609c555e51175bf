"""The conformance suite (tests/conformance/) loaded for other test modules, and a backend for it that runs the
cases through a `milvus_rbac.MilvusClient` of a server: ours, or a real Milvus.

Loading fails loudly: a suite that cannot be loaded must not turn into zero tests.
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path
from typing import Any, Dict, Optional


def load_conformance() -> Any:
    """tests/conformance/test_conformance.py as a module (cases, runner, backends)."""
    path = Path(__file__).parent / "conformance" / "test_conformance.py"
    spec = importlib.util.spec_from_file_location("_conformance_suite", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CONFORMANCE = load_conformance()


class ClientOfServer(CONFORMANCE.RbacBackend):  # type: ignore[misc, name-defined]
    """Cases through `milvus_rbac.MilvusClient(uri, protocol=...)`: a client of a server takes no registry
    settings (the server has its own)."""

    name = "milvus_rbac_client"

    def __init__(self, module: Any, uri: str, protocol: str, settle_seconds: float = 0.0):
        super().__init__(module, uri)
        self.protocol = protocol
        self.settle_seconds = settle_seconds

    def settle(self) -> None:
        # A real Milvus's proxies may check privileges against a cache for a moment after a change; our server
        # checks the registry itself (settle_seconds 0).
        if self.settle_seconds:
            time.sleep(self.settle_seconds)

    def connect(self, token: Optional[str], extra: Optional[Dict[str, Any]] = None) -> Any:
        kwargs: Dict[str, Any] = {"protocol": self.protocol, **(extra or {})}
        if token is not None:
            kwargs["token"] = token
        try:
            return self.m.MilvusClient(self.uri, **kwargs)
        except self.m.MilvusException as e:
            raise CONFORMANCE.Failure(e.code, e.message) from e
