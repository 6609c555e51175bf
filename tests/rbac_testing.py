"""Constants and helpers shared by the test modules (imported as a plain module: tests/ is on sys.path)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Optional

import pytest

from milvus_rbac import MilvusException

ROOT = Path(__file__).resolve().parent.parent

PROFILES = ["docs", "milvus-2.4", "milvus-2.5", "milvus-2.6", "milvus-3.0"]
SERVER_PROFILES = ["milvus-2.4", "milvus-2.5", "milvus-2.6", "milvus-3.0"]

# A password every profile accepts (docs: 8-64 chars, 3 classes; servers: 6-72 bytes).
PW = "P@ssw0rd"
PW2 = "NewP@ssw0rd"

# Legacy error codes (milvus-proto common.proto ErrorCode; milvus-facts.md Part 1 §7.2).
UNEXPECTED_ERROR = 1
CONNECT_FAILED = 2
ILLEGAL_ARGUMENT = 5
CREATE_CREDENTIAL_FAILURE = 29
UPDATE_CREDENTIAL_FAILURE = 30
DELETE_CREDENTIAL_FAILURE = 31
CREATE_ROLE_FAILURE = 35
DROP_ROLE_FAILURE = 36
OPERATE_USER_ROLE_FAILURE = 37


def expect_error(
    call: Callable[..., Any],
    *args: Any,
    code: int,
    message: str,
    compatible_code: Optional[int] = None,
    exc_type: type = MilvusException,
    **kwargs: Any,
) -> MilvusException:
    """Run ``call(*args, **kwargs)``; check it raises `exc_type` with exactly this code and message."""
    with pytest.raises(exc_type) as info:
        call(*args, **kwargs)
    err = info.value
    assert (err.code, err.message) == (code, message)
    if compatible_code is not None:
        assert int(err.compatible_code) == compatible_code
    return err
