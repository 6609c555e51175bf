"""milvus-rbac: Milvus's users, roles and privileges in an embedded ``MilvusClient``.

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

__all__ = [
    "MilvusClient",
    "MilvusException",
    "ParamError",
    "AuthenticationError",
    "PermissionDeniedError",
    "LegacyErrorCode",
    "serve",
    "__version__",
]
