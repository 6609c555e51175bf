"""Stubs and docstrings (design.md: every public name has a docstring and a stub checked by mypy.stubtest)."""

from __future__ import annotations

import inspect
import subprocess
import sys
import types
from pathlib import Path

import pytest
from rbac_testing import ROOT

import milvus_rbac
import milvus_rbac._core
import milvus_rbac.exceptions

PACKAGE = Path(milvus_rbac.__file__).parent


def test_stubtest_passes(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "milvus_rbac._core", "--mypy-config-file", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Success" in done.stdout


def test_stub_and_marker_files_ship_with_the_package():
    assert (PACKAGE / "_core.pyi").is_file()
    assert (PACKAGE / "py.typed").is_file()


def test_mypy_accepts_typical_use(tmp_path):
    """The stubs describe the API as used in the README."""
    script = tmp_path / "use.py"
    script.write_text(
        "from milvus_rbac import LegacyErrorCode, MilvusClient, MilvusException, ParamError\n"
        "client = MilvusClient('./rbac.db', token='root:Milvus', profile='milvus-2.4', max_users=None)\n"
        "client.create_user(user_name='user_1', password='P@ssw0rd')\n"
        "users: list[str] = client.list_users()\n"
        "info = client.describe_user('user_1')\n"
        "client.drop_role('r', force_drop=True)\n"
        "try:\n"
        "    client.drop_user('root')\n"
        "except MilvusException as err:\n"
        "    code: int = err.code\n"
        "    message: str = err.message\n"
        "    unexpected: bool = err.compatible_code == LegacyErrorCode.UnexpectedError\n"
        "legacy: LegacyErrorCode = LegacyErrorCode(41)\n"
        "legacy_value: int = LegacyErrorCode.OperatePrivilegeFailure\n"
        "with MilvusClient() as c:\n"
        "    c.close()\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir", str(tmp_path / "cache"),
         str(script)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _public_names():
    for name in milvus_rbac.__all__:
        if name == "__version__":
            continue
        yield name


def test_all_is_complete():
    # Public names, less submodules (exceptions, display, testing, ...) and whatever is not an identifier
    # (pytest's assertion rewriting adds `@py_builtins` to a plugin package's namespace).
    public = {
        n for n in dir(milvus_rbac)
        if n.isidentifier() and not n.startswith("_")
        and not isinstance(getattr(milvus_rbac, n), types.ModuleType)
    }
    assert public <= set(milvus_rbac.__all__)
    for name in milvus_rbac.__all__:
        assert hasattr(milvus_rbac, name)
    assert isinstance(milvus_rbac.__version__, str) and milvus_rbac.__version__


def test_modules_have_docstrings():
    for module in (milvus_rbac, milvus_rbac.exceptions):
        assert (module.__doc__ or "").strip(), module


@pytest.mark.parametrize("name", list(_public_names()))
def test_public_names_have_docstrings(name):
    obj = getattr(milvus_rbac, name)
    assert (inspect.getdoc(obj) or "").strip(), name
    if inspect.isclass(obj):
        for attr, value in vars(obj).items():
            if attr.startswith("_") or not (callable(value) or isinstance(value, property)):
                continue
            assert (getattr(value, "__doc__", None) or "").strip(), f"{name}.{attr}"


@pytest.mark.parametrize(
    "method",
    ["create_user", "update_password", "list_users", "drop_user", "describe_user", "update_user", "create_role",
     "list_roles", "drop_role", "alter_role", "grant_role", "revoke_role", "close"],
)
def test_client_methods_have_docstrings(method):
    assert (inspect.getdoc(getattr(milvus_rbac.MilvusClient, method)) or "").strip()


def test_the_version_matches_the_package_metadata():
    from importlib.metadata import version

    assert milvus_rbac.__version__ == version("milvus-rbac")


def test_readme_and_example_exist():
    assert (ROOT / "README.md").is_file()
    assert (ROOT / "examples" / "quickstart.py").is_file()
