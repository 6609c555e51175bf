"""The examples in the docstrings run (doctest), and every public name of the Python modules has a docstring."""

from __future__ import annotations

import doctest
import importlib
import inspect
import io
from pathlib import Path

import pytest

# Every module of the package (its entry point __main__ aside), so that a new one cannot be left out.
PACKAGE = Path(__file__).resolve().parent.parent / "python" / "milvus_rbac"
MODULES = ["milvus_rbac", "milvus_rbac._core"] + [
    f"milvus_rbac.{path.stem}" for path in sorted(PACKAGE.glob("*.py")) if not path.stem.startswith("__")
]
WITHOUT_DOCTESTS = {"milvus_rbac.pytest_plugin"}  # its examples are pytest tests, shown as code blocks


@pytest.mark.parametrize("name", MODULES)
def test_the_examples_run(name):
    module = importlib.import_module(name)
    tests = doctest.DocTestFinder(exclude_empty=True).find(module, name)
    output = io.StringIO()
    runner = doctest.DocTestRunner(verbose=False)
    for test in tests:
        runner.run(test, out=output.write)
    results = runner.summarize(verbose=False)
    assert results.failed == 0, output.getvalue()
    if name in WITHOUT_DOCTESTS:
        assert "def test_" in (module.__doc__ or "")
    else:
        assert results.attempted > 0, f"{name} has no examples"


@pytest.mark.parametrize("name", MODULES)
def test_public_names_have_docstrings(name):
    module = importlib.import_module(name)
    assert (module.__doc__ or "").strip(), name
    for attribute in getattr(module, "__all__", []):
        value = getattr(module, attribute)
        if not (inspect.isclass(value) or inspect.isroutine(value)):
            continue
        assert (inspect.getdoc(value) or "").strip(), f"{name}.{attribute}"
        if inspect.isclass(value) and value.__module__ == name:
            for member, member_value in vars(value).items():
                if member.startswith("_") and member != "_repr_html_":
                    continue
                if inspect.isroutine(member_value) or isinstance(member_value, property):
                    assert (inspect.getdoc(member_value) or "").strip(), f"{name}.{attribute}.{member}"


def test_every_client_method_has_an_example():
    from milvus_rbac import MilvusClient

    for name, value in vars(MilvusClient).items():
        if name.startswith("_") or not inspect.isroutine(value):
            continue
        assert ">>> " in (value.__doc__ or ""), name
