"""Registries for test suites: one registry in a temporary file, shared by as many clients as a test needs.

A ``":memory:"`` registry belongs to the one client that opened it. To test access control across users, a
test needs several clients (root, ``user_1``, ...) on the same registry: :class:`SharedRegistry` keeps it in a
temporary SQLite file (or, given ``store="etcd://host:port,..."``, under a prefix of its own in that etcd), opens
clients on it, and removes it when closed. The pytest plugin's ``milvus_registry`` fixture and
:func:`milvus_rbac.patch_pymilvus` are built on it.

>>> from milvus_rbac.testing import SharedRegistry
>>> with SharedRegistry(profile="milvus-2.5") as registry:
...     root = registry.connect()                      # root, with the registry's root password
...     root.create_user("user_1", "P@ssw0rd")
...     user_1 = registry.connect(token="user_1:P@ssw0rd")
...     user_1.list_users()
Traceback (most recent call last):
  ...
milvus_rbac.exceptions.PermissionDeniedError: <PermissionDeniedError: (code=65535, message=PrivilegeSelectOwnership: permission deny to user_1 in the `default` database)>
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import uuid
from types import TracebackType
from typing import Any, Dict, List, Optional, Tuple, Type

from milvus_rbac import _core
from milvus_rbac._core import MilvusClient
from milvus_rbac.exceptions import ParamError

__all__ = ["SETTINGS", "SharedRegistry", "checked_settings"]

#: The names of ``MilvusClient``'s keyword-only settings (see the README's table), from the Rust core.
SETTINGS: Tuple[str, ...] = _core.SETTINGS


def checked_settings(settings: Dict[str, Any], where: str) -> Dict[str, Any]:
    """A copy of ``settings`` with ``password_hash="fast"`` unless given; an unknown name is a ``ParamError``.

    ``MilvusClient`` accepts (and ignores) unknown keywords, as pymilvus does; a test helper refuses them, so a
    misspelt setting fails the test instead of being silently ignored. ``where`` names the caller in the message.

    >>> checked_settings({"profile": "milvus-2.5"}, "SharedRegistry")
    {'profile': 'milvus-2.5', 'password_hash': 'fast'}
    >>> checked_settings({"profil": "milvus-2.5"}, "SharedRegistry")
    Traceback (most recent call last):
      ...
    milvus_rbac.exceptions.ParamError: <ParamError: (code=1, message=SharedRegistry: unknown setting `profil`; the settings are profile, root_password, super_users, max_users, max_roles, authorization_enabled, root_should_bind_role, password_hash, audit_retention)>
    """
    for name in settings:
        if name not in SETTINGS:
            raise ParamError(1, f"{where}: unknown setting `{name}`; the settings are {', '.join(SETTINGS)}")
    checked = dict(settings)
    checked.setdefault("password_hash", "fast")
    return checked


class SharedRegistry:
    """A registry in a temporary SQLite file, shared by every client that :meth:`connect` opens.

    ``settings`` are ``MilvusClient``'s keyword-only settings (``profile``, ``root_password``, ...), applied when
    the registry is created; ``password_hash`` defaults to ``"fast"``, as test suites want. :meth:`close` (or the
    end of a ``with`` block) closes every client it opened and deletes the file.

    >>> registry = SharedRegistry(root_password="S3cret!pw")
    >>> registry.connect().list_roles()
    ['admin', 'public']
    >>> os.path.exists(registry.uri)
    True
    >>> registry.close()
    >>> os.path.exists(registry.uri)
    False
    """

    def __init__(self, *, store: Optional[str] = None, **settings: Any) -> None:
        self._settings = checked_settings(settings, "SharedRegistry")
        self._directory = tempfile.mkdtemp(prefix="milvus-rbac-")
        if store is None:
            self._uri = os.path.join(self._directory, "rbac.db")
        elif store.startswith("etcd://"):
            # A prefix of its own under the store's: registries of tests running side by side never meet.
            self._uri = f"{store.rstrip('/')}/milvus-rbac-test-{uuid.uuid4().hex}"
        else:
            shutil.rmtree(self._directory, ignore_errors=True)
            raise ParamError(1, f"SharedRegistry: store must be an etcd://host:port[,...][/prefix] URI, not {store!r}")
        self._lock = threading.Lock()
        self._clients: List[MilvusClient] = []
        try:
            # The first client creates the registry with the settings; later ones find them stored.
            self._clients.append(MilvusClient(self._uri, token=self.root_token, **self._settings))
        except BaseException:
            self._remove()
            raise

    @property
    def uri(self) -> str:
        """The registry's file path (or ``etcd://`` URI): what ``MilvusClient(uri)`` and the CLI's ``--db`` take."""
        return self._uri

    @property
    def settings(self) -> Dict[str, Any]:
        """The settings the registry was created with (a copy)."""
        return dict(self._settings)

    @property
    def root_token(self) -> str:
        """``"root:<root password>"``: the token :meth:`connect` uses when given no credentials."""
        return f"root:{self._settings.get('root_password') or 'Milvus'}"

    def connect(
        self, token: Optional[str] = None, *, user: str = "", password: str = "", db_name: str = ""
    ) -> MilvusClient:
        """A new client of this registry, connected with ``token`` (``"user:password"``) or ``user`` and
        ``password``; as root when given none of them (``token=""`` connects with no credentials). Credentials
        are checked as ``MilvusClient`` checks them, so a wrong password raises ``AuthenticationError``.

        >>> with SharedRegistry() as registry:
        ...     registry.connect().create_user("user_1", "P@ssw0rd")
        ...     registry.connect(token="user_1:P@ssw0rd")  # doctest: +ELLIPSIS
        MilvusClient(uri="...rbac.db", user="user_1", profile="docs")
        """
        if token is None:
            token = "" if user or password else self.root_token
        with self._lock:
            if not os.path.exists(self._directory):
                raise ParamError(1, "this SharedRegistry is closed; create a new one")
            client = MilvusClient(self._uri, user=user, password=password, db_name=db_name, token=token)
            self._clients.append(client)
        return client

    def close(self) -> None:
        """Close every client this registry opened and delete its file (or its keys in etcd). Closing twice is
        harmless."""
        with self._lock:
            for client in self._clients:
                client.close()
            self._clients.clear()
            if os.path.exists(self._directory):
                self._remove()

    def _remove(self) -> None:
        shutil.rmtree(self._directory, ignore_errors=True)
        if self._uri.startswith("etcd://"):
            _core.remove_registry(self._uri)

    def __enter__(self) -> SharedRegistry:
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc_value: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        shown = {name: value for name, value in self._settings.items() if name != "root_password"}
        return f"SharedRegistry(uri={self._uri!r}, settings={shown!r})"
