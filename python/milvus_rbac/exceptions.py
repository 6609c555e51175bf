"""Exceptions raised by milvus-rbac, shaped like pymilvus's.

Every error is a :class:`MilvusException` with ``.code`` (Milvus's numeric code, e.g. ``1100`` for an invalid
parameter or ``65535`` for a failed coordinator check), ``.message`` (Milvus's exact text) and
``.compatible_code`` (Milvus's legacy ``error_code``, a :class:`LegacyErrorCode`).

When pymilvus is importable, :class:`MilvusException` subclasses ``pymilvus.exceptions.MilvusException`` (and
:class:`ParamError` subclasses ``pymilvus.exceptions.ParamError``), so code written as
``except pymilvus.MilvusException`` keeps working. pymilvus is never required.

>>> from milvus_rbac import MilvusClient, MilvusException
>>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
>>> try:
...     client.drop_user("root")
... except MilvusException as error:
...     print(error.code, error.message)
1401 root user cannot be deleted: privilege not permitted
"""

from __future__ import annotations

from enum import EnumMeta, IntEnum
from typing import TYPE_CHECKING, Any, Tuple

from milvus_rbac._core import LEGACY_CODES

__all__ = [
    "LegacyErrorCode",
    "MilvusException",
    "ParamError",
    "AuthenticationError",
    "PermissionDeniedError",
]

_LEGACY_ERROR_CODE_DOC = """Milvus's deprecated ``commonpb.ErrorCode`` values that milvus-rbac reports as ``compatible_code``.

An ``IntEnum`` made from the Rust core's list (``milvus_rbac._core.LEGACY_CODES``): its members are the codes the
registry reports, and they compare equal to their values.

>>> LegacyErrorCode.IllegalArgument
<LegacyErrorCode.IllegalArgument: 5>
>>> LegacyErrorCode(41).name
'OperatePrivilegeFailure'
"""

# The members come from Rust, so the enum is made functionally. mypy cannot see the members of an enum made
# from a value known only at run time, so type checkers are shown a class instead, whose metaclass answers any
# attribute with a member: ``LegacyErrorCode.UnexpectedError`` is typed as a ``LegacyErrorCode`` (an ``int``),
# with the values and the names kept in one place. A misspelt name is an ``AttributeError`` at run time only;
# writing the members out again for type checkers would bring back the hand-kept copy this replaces.
if TYPE_CHECKING:

    class _LegacyErrorCodeMeta(EnumMeta):
        def __getattr__(cls, name: str) -> LegacyErrorCode: ...

    class LegacyErrorCode(IntEnum, metaclass=_LegacyErrorCodeMeta):
        """Milvus's deprecated ``commonpb.ErrorCode`` values that milvus-rbac reports as ``compatible_code``."""

else:
    LegacyErrorCode = IntEnum("LegacyErrorCode", LEGACY_CODES, module=__name__)
    LegacyErrorCode.__doc__ = _LEGACY_ERROR_CODE_DOC


def _legacy(code: int) -> int:
    try:
        return LegacyErrorCode(code)
    except ValueError:
        return code


try:
    from pymilvus.exceptions import MilvusException as _PymilvusException  # type: ignore[import-untyped]
    from pymilvus.exceptions import ParamError as _PymilvusParamError

    _BASES: Tuple[type, ...] = (_PymilvusException,)
    _PARAM_BASES: Tuple[type, ...] = (_PymilvusParamError,)
except ImportError:  # pymilvus is optional
    _BASES = (Exception,)
    _PARAM_BASES = ()


class MilvusException(*_BASES):  # type: ignore[misc]
    """An error with Milvus's ``code``, ``message`` and legacy ``compatible_code``."""

    def __init__(
        self,
        code: int = 1,
        message: str = "",
        compatible_code: int = LegacyErrorCode.UnexpectedError,
        **kwargs: Any,
    ) -> None:
        Exception.__init__(self, message)
        self._code = code
        self._message = message
        self._compatible_code = _legacy(compatible_code)
        # pymilvus 3.0 attributes, for code that reads them.
        self._is_input_error = bool(kwargs.get("is_input_error", False))
        self._retriable = bool(kwargs.get("retriable", False))

    @property
    def code(self) -> int:
        """Milvus's numeric error code."""
        return self._code

    @property
    def message(self) -> str:
        """Milvus's error text."""
        return self._message

    @property
    def compatible_code(self) -> int:
        """Milvus's legacy ``error_code`` (a :class:`LegacyErrorCode` where known)."""
        return self._compatible_code

    def __str__(self) -> str:
        return f"<{type(self).__name__}: (code={self.code}, message={self.message})>"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"

    def __reduce__(self) -> Any:
        return (type(self), (self.code, self.message, int(self.compatible_code)))


class ParamError(MilvusException, *_PARAM_BASES):  # type: ignore[misc]
    """A wrong argument, refused before the registry is asked (code 1, pymilvus's wording)."""


class AuthenticationError(MilvusException):
    """Missing or wrong credentials (code 2, as pymilvus reports a failed connection)."""


class PermissionDeniedError(MilvusException):
    """The caller lacks the privilege an operation needs (code 65535, as Milvus's REST API reports)."""
