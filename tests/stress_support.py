"""Helpers for the tests that run milvus-rbac in child processes (crash, concurrency, files, secrets).

Children block the optional pymilvus import: importing it costs about two seconds per process (gRPC), and
the exceptions work the same without it. Every child runs with `sys.executable`, so it sees the same
milvus-rbac build as the test.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import textwrap
from typing import Any, Optional

# Put before a child's code: milvus_rbac then falls back to its own exception bases.
CHILD_PRELUDE = "import sys\nsys.modules['pymilvus'] = None\n"


def child_argv(code: str, *args: str) -> list[str]:
    return [sys.executable, "-c", CHILD_PRELUDE + textwrap.dedent(code), *args]


def run_child(code: str, *args: str, unprivileged: bool = False, timeout: float = 60) -> str:
    """Run `code` in a fresh Python process; return its stdout (the test fails if the child does)."""
    done = subprocess.run(
        child_argv(code, *args),
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=without_root_overrides if unprivileged and os.geteuid() == 0 else None,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def popen_child(code: str, *args: str, **kwargs: Any) -> "subprocess.Popen[str]":
    return subprocess.Popen(child_argv(code, *args), text=True, **kwargs)


CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER = 1, 2, 3
PR_CAPBSET_DROP = 24


def without_root_overrides() -> None:
    """In a child before exec: drop the capabilities that let root read and write any file, so that file modes
    mean to root what they mean to anybody else (CI runs as root). After exec, root's capabilities are bounded
    by this set."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def env_int(name: str, default: int) -> int:
    """A test size from the environment (to run longer on demand), else `default`."""
    value: Optional[str] = os.environ.get(name)
    return int(value) if value else default
