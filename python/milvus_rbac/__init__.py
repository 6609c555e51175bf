"""milvus-rbac: Milvus's users, roles and privileges in an embedded ``MilvusClient``.

``MilvusClient`` has pymilvus's user, role and privilege methods on a registry kept in memory (``":memory:"``),
in a SQLite file, in etcd (``"etcd://host:port,..."``), or on a server (``"http://..."``: ``milvus-rbac serve`` or a real Milvus, over gRPC or REST).
``patch_pymilvus()`` serves ``pymilvus.MilvusClient``'s own calls the same way; ``milvus_rbac.testing`` and the
pytest plugin (fixtures ``milvus_client``, ``milvus_registry``, ``patch_pymilvus``) are for test suites.

>>> from milvus_rbac import MilvusClient
>>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
>>> client.create_role("reader")
>>> client.list_roles()
['admin', 'public', 'reader']
"""

from milvus_rbac._core import MilvusClient, __version__, serve
from milvus_rbac.exceptions import (
    AuthenticationError,
    LegacyErrorCode,
    MilvusException,
    ParamError,
    PermissionDeniedError,
)
from milvus_rbac.patching import PymilvusPatch, patch_pymilvus

__all__ = [
    "MilvusClient",
    "MilvusException",
    "ParamError",
    "AuthenticationError",
    "PermissionDeniedError",
    "LegacyErrorCode",
    "serve",
    "patch_pymilvus",
    "PymilvusPatch",
    "__version__",
]
