"""pytest plugin of mutation/python_mutants.py (loaded with `-p mutation_tracing`).

While tracing (MUTATION_TRACE_OUT set), it files the lines each test ran under the test's id and records each
test's duration. While running a mutant (MUTATION_SELECT naming a file of test ids), it keeps only those tests, in
the file's order (fastest first, so that a caught mutant is caught soon).
"""

import json
import os
import time

import pytest

started: dict = {}


def pytest_collection_modifyitems(config, items):
    selection = os.environ.get("MUTATION_SELECT")
    if not selection:
        return
    with open(selection) as chosen:
        order = {test_id: index for index, test_id in enumerate(json.load(chosen))}
    kept = sorted((item for item in items if item.nodeid in order), key=lambda item: order[item.nodeid])
    config.hook.pytest_deselected(items=[item for item in items if item.nodeid not in order])
    items[:] = kept


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    if os.environ.get("MUTATION_TRACE_OUT"):
        import sitecustomize

        sitecustomize.flush("import")
        sitecustomize.arm()
        os.environ["MUTATION_TEST_ID"] = item.nodeid
        started[item.nodeid] = time.monotonic()


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item, nextitem):
    if os.environ.get("MUTATION_TRACE_OUT"):
        import sitecustomize

        sitecustomize.flush(item.nodeid)
        os.environ.pop("MUTATION_TEST_ID", None)
        with open(os.path.join(os.environ["MUTATION_TRACE_OUT"], "durations.jsonl"), "a") as durations:
            durations.write(json.dumps({"test": item.nodeid, "seconds": time.monotonic() - started[item.nodeid]}) + "\n")
