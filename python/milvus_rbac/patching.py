"""``patch_pymilvus``: serve ``pymilvus.MilvusClient``'s user, role and privilege calls in-process.

Inside ``with milvus_rbac.patch_pymilvus():``, ``pymilvus.MilvusClient(uri, token=...)`` connects to an
in-process registry instead of a server: one registry per URI, created on first use (root's password is
``Milvus`` unless the ``root_password`` setting says otherwise), shared by every client of that URI and
discarded at the end. Code written for pymilvus runs its user, role and privilege calls unchanged, with
Milvus's checks, errors and result shapes. Every other method (``search``, ``insert``, ``create_collection``,
...) raises a ``MilvusException`` naming it: nothing is faked silently. The class methods that build values
locally (``create_schema``, ``prepare_index_params``, ...) are pymilvus's own.

Both ways of naming the class are served: ``pymilvus.MilvusClient`` (and ``pymilvus.milvus_client.MilvusClient``)
is replaced for the duration, and so is construction through a reference taken before the patch, such as a
test module's ``from pymilvus import MilvusClient``. Clients are instances of ``pymilvus.MilvusClient``, so
``isinstance`` checks keep passing. Everything is restored on exit and the clients opened inside are closed.

>>> import pymilvus
>>> import milvus_rbac
>>> with milvus_rbac.patch_pymilvus() as patch:
...     client = pymilvus.MilvusClient("http://localhost:19530", token="root:Milvus")
...     client.create_user(user_name="user_1", password="P@ssw0rd")
...     client.list_users()
...     patch.connect("http://localhost:19530").check_privilege("user_1", "Search", "Collection", "books")
['root', 'user_1']
False
>>> with milvus_rbac.patch_pymilvus():
...     pymilvus.MilvusClient(token="root:Milvus").search("books", [[0.1, 0.2]])
Traceback (most recent call last):
  ...
milvus_rbac.exceptions.MilvusException: <MilvusException: (code=65535, message=MilvusClient.search is not served by milvus_rbac.patch_pymilvus, which serves only the user, role and privilege methods; run this code against a Milvus server)>
"""

from __future__ import annotations

import functools
import inspect
import threading
from types import ModuleType, TracebackType
from typing import Any, Callable, Dict, List, Optional, Tuple, Type

from milvus_rbac._core import MilvusClient
from milvus_rbac.exceptions import LegacyErrorCode, MilvusException, ParamError
from milvus_rbac.testing import SharedRegistry, checked_settings

__all__ = ["DEFAULT_URI", "PymilvusPatch", "patch_pymilvus"]

#: pymilvus's default ``uri``.
DEFAULT_URI = "http://localhost:19530"

_CODE_UNEXPECTED = 65535
_MISSING = object()


def _inherited_new(owner: type) -> Callable[..., Any]:
    """A `__new__` for `owner` that does what its inherited one does (object's takes no arguments)."""

    def __new__(cls: type, *args: Any, **kwargs: Any) -> Any:
        parent_new = super(owner, cls).__new__
        if parent_new is object.__new__:
            return object.__new__(cls)
        return parent_new(cls, *args, **kwargs)

    return __new__


def _key(uri: str) -> str:
    """The registry key of a URI: the URI without trailing slashes."""
    return uri.rstrip("/") or uri


def _rbac_methods(real: type) -> List[str]:
    """pymilvus's methods that milvus_rbac's ``MilvusClient`` serves (its user, role and privilege methods)."""
    ours = {name for name in dir(MilvusClient) if not name.startswith("_")} - {"close"}
    return sorted(name for name in ours if callable(getattr(real, name, None)))


def _delegate(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    """A method that forwards to the same method of the milvus_rbac client, with pymilvus's signature."""

    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        return getattr(self._milvus_rbac_client, name)(*args, **kwargs)

    return functools.update_wrapper(method, original)


def _refuse(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    """A method that raises a ``MilvusException`` naming itself: milvus_rbac does not serve it."""

    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise MilvusException(
            _CODE_UNEXPECTED,
            f"MilvusClient.{name} is not served by milvus_rbac.patch_pymilvus, which serves only the user, role "
            "and privilege methods; run this code against a Milvus server",
            LegacyErrorCode.UnexpectedError,
        )

    return functools.update_wrapper(method, original)


def _served_class(real: type, patch: PymilvusPatch) -> type:
    """A subclass of pymilvus's ``MilvusClient`` whose instances are served by ``patch``'s registries."""

    def __new__(cls: type, *args: Any, **kwargs: Any) -> Any:
        return object.__new__(cls)

    def __init__(
        self: Any,
        uri: str = DEFAULT_URI,
        user: str = "",
        password: str = "",
        db_name: str = "",
        token: str = "",
        timeout: Optional[float] = None,
        **kwargs: Any,
    ) -> None:
        self._milvus_rbac_client = patch.connect(uri, token, user=user, password=password, db_name=db_name)

    def close(self: Any) -> None:
        """Close the client (its registry lives on until the patch ends)."""
        self._milvus_rbac_client.close()

    def __repr__(self: Any) -> str:
        return f"<pymilvus.MilvusClient served by milvus_rbac: {self._milvus_rbac_client!r}>"

    def _repr_html_(self: Any) -> str:
        return str(self._milvus_rbac_client._repr_html_())

    namespace: Dict[str, Any] = {
        "__module__": __name__,
        "__doc__": f"pymilvus's MilvusClient, served by milvus_rbac.patch_pymilvus.\n\n{real.__doc__ or ''}",
        "__new__": __new__,
        "__init__": functools.update_wrapper(__init__, getattr(real, "__init__")),
        "close": close,
        "__repr__": __repr__,
        "_repr_html_": _repr_html_,
        "_milvus_rbac_patch": patch,
    }
    served = set(_rbac_methods(real))
    for name in dir(real):
        original = getattr(real, name)
        if name.startswith("_") or name in namespace or not inspect.isfunction(inspect.getattr_static(real, name)):
            continue  # class methods (create_schema, prepare_index_params) build values locally: kept
        namespace[name] = _delegate(name, original) if name in served else _refuse(name, original)
    return type("MilvusClient", (real,), namespace)


class PymilvusPatch:
    """The patch :func:`patch_pymilvus` returns: a context manager, and the registries it serves by URI.

    ``settings`` are ``MilvusClient``'s keyword-only settings (``profile``, ``root_password``, ...) for every
    registry the patch creates; ``password_hash`` defaults to ``"fast"``.
    """

    def __init__(self, **settings: Any) -> None:
        self._settings = checked_settings(settings, "patch_pymilvus")
        self._registries: Dict[str, SharedRegistry] = {}
        self._lock = threading.Lock()
        self._restore: List[Tuple[Any, str, Any]] = []
        self._active = False

    def registry(self, uri: str = DEFAULT_URI) -> SharedRegistry:
        """The registry that serves ``uri`` (created on first use, empty but for root, admin and public).

        >>> with patch_pymilvus() as patch:
        ...     patch.registry("http://localhost:19530") is patch.registry("http://localhost:19530/")
        True
        """
        if not self._active:
            raise ParamError(1, "patch_pymilvus is not active: use it as `with patch_pymilvus() as patch:`")
        with self._lock:
            key = _key(uri)
            if key not in self._registries:
                self._registries[key] = SharedRegistry(**self._settings)
            return self._registries[key]

    def connect(
        self,
        uri: str = DEFAULT_URI,
        token: Optional[str] = None,
        *,
        user: str = "",
        password: str = "",
        db_name: str = "",
    ) -> MilvusClient:
        """A milvus_rbac client of the registry that serves ``uri``, for what pymilvus has no call for
        (``check_privilege``, ``explain_privilege``, ``backup_rbac``); as root when given no credentials
        (see :meth:`SharedRegistry.connect`).

        >>> with patch_pymilvus() as patch:
        ...     patch.connect().explain_privilege("root", "CreateOwnership")["reason"]
        'root'
        """
        return self.registry(uri).connect(token, user=user, password=password, db_name=db_name)

    @property
    def uris(self) -> List[str]:
        """The URIs served so far, in the order they were first used."""
        return list(self._registries)

    def __enter__(self) -> PymilvusPatch:
        if self._active:
            raise ParamError(1, "this patch_pymilvus is already active")
        try:
            import pymilvus  # type: ignore[import-untyped]
            import pymilvus.milvus_client  # type: ignore[import-untyped]
            import pymilvus.milvus_client.milvus_client as implementation  # type: ignore[import-untyped]
        except ImportError as error:
            raise ImportError("patch_pymilvus needs pymilvus: pip install pymilvus") from error
        real = implementation.MilvusClient
        while "_milvus_rbac_patch" in vars(real):  # a patch inside a patch: find pymilvus's own class
            real = real.__mro__[1]
        served = _served_class(real, self)
        modules: Tuple[ModuleType, ...] = (pymilvus, pymilvus.milvus_client, implementation)
        self._restore = [(module, "MilvusClient", vars(module)["MilvusClient"]) for module in modules]
        self._restore.append((real, "__new__", vars(real).get("__new__", _MISSING)))

        def redirected_new(cls: type, *args: Any, **kwargs: Any) -> Any:
            # pymilvus's class itself, named through a reference taken before the patch: serve it. Subclasses
            # defined by the code under test are left to pymilvus.
            return object.__new__(served if cls is real else cls)

        for module in modules:
            setattr(module, "MilvusClient", served)
        setattr(real, "__new__", redirected_new)
        self._active = True
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc_value: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        for owner, name, value in reversed(self._restore):
            if value is _MISSING:
                # Deleting a `__new__` once set leaves CPython calling object.__new__ with the constructor's
                # arguments, which it refuses: put back one that behaves as the inherited one did.
                setattr(owner, name, _inherited_new(owner))
            else:
                setattr(owner, name, value)
        self._restore = []
        self._active = False
        with self._lock:
            for registry in self._registries.values():
                registry.close()
            self._registries.clear()


def patch_pymilvus(**settings: Any) -> PymilvusPatch:
    """Serve ``pymilvus.MilvusClient``'s user, role and privilege calls in-process for a ``with`` block.

    ``settings`` are ``MilvusClient``'s keyword-only settings for the registries (``profile="milvus-2.5"``,
    ``root_password=...``, ``authorization_enabled=False``, ...); ``password_hash`` defaults to ``"fast"``.
    The ``with`` statement gives the :class:`PymilvusPatch`, whose ``connect(uri)`` opens a milvus_rbac
    client on a URI's registry. See the module's documentation.

    >>> import pymilvus
    >>> with patch_pymilvus(profile="milvus-2.5"):
    ...     client = pymilvus.MilvusClient(uri="http://milvus:19530", user="root", password="Milvus")
    ...     client.create_role(role_name="reader")
    ...     client.grant_privilege_v2("reader", "CollectionReadOnly", "books", db_name="default")
    ...     client.describe_role("reader")["privileges"][0]["privilege"]
    'CollectionReadOnly'
    """
    return PymilvusPatch(**settings)
