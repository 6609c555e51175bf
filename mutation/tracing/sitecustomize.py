"""Line tracing of python/milvus_rbac for mutation/python_mutants.py, in every Python process of a test run.

Python imports `sitecustomize` at start-up from its path; the runner puts this directory on PYTHONPATH only for
its tracing run, with MUTATION_TRACE_OUT naming the directory the traces go to. Each process writes the lines of
milvus_rbac's modules it ran, keyed by MUTATION_TEST_ID (the pytest test it runs for; the plugin in
mutation_tracing.py sets it per test in the pytest process, and subprocesses inherit it).
"""

import atexit
import json
import os
import sys
import threading

OUT = os.environ.get("MUTATION_TRACE_OUT", "")
PACKAGE_PART = os.sep + "milvus_rbac" + os.sep

# (module, line) pairs run since the last flush.
hits: set = set()


def _local(frame, event, arg):
    if event == "line":
        hits.add((os.path.basename(frame.f_code.co_filename), frame.f_lineno))
    return _local


def _global(frame, event, arg):
    filename = frame.f_code.co_filename
    if PACKAGE_PART in filename and filename.endswith(".py"):
        hits.add((os.path.basename(filename), frame.f_lineno))
        return _local
    return None


def flush(test_id: str) -> None:
    """Append the lines run since the last flush to this process's trace, under `test_id`."""
    if not hits:
        return
    taken = list(hits)
    hits.clear()
    by_module: dict = {}
    for module, line in taken:
        by_module.setdefault(module, []).append(line)
    with open(os.path.join(OUT, f"{os.getpid()}.jsonl"), "a") as trace:
        trace.write(json.dumps({"test": test_id, "lines": by_module}) + "\n")


def arm() -> None:
    """Trace this thread (and threads started from now on). Called again before each test: a test may have
    removed the trace function (Hypothesis's explain phase sets its own and leaves none), which would leave
    every later test of the process untraced, and so never chosen for a mutant."""
    if sys.gettrace() is not _global:
        sys.settrace(_global)
    threading.settrace(_global)


if OUT:
    arm()
    atexit.register(lambda: flush(os.environ.get("MUTATION_TEST_ID", "import")))
