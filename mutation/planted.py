"""The bugs issue 18 found the suite letting through, planted again one at a time: each must fail a test.

Each bug is a one-line change to a copy of the project (never to the checkout itself): the Python ones in a copy
of the package that the named pytest files run against, the Rust ones in a copy of the sources built by
`cargo test --lib` without default features (the rules alone, as mutation/rust runs them).

    .venv/bin/python mutation/planted.py          every bug; exit 0 only if each one failed a test
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import List

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Bug:
    what: str
    path: str  # relative to the repository
    correct: str  # the text as it is (exactly once in the file)
    planted: str  # the text with the bug
    tests: List[str]  # pytest files, or ["cargo"] for the Rust rules' own tests


BUGS = [
    Bug("--password-stdin strips spaces from passwords", "python/milvus_rbac/cli.py",
        'return line.rstrip("\\n").rstrip("\\r") if line.endswith("\\n") else line',
        "return line.strip()",
        ["tests/test_cli.py"]),
    Bug("patch_pymilvus ignores pymilvus's db_name=", "python/milvus_rbac/patching.py",
        "patch.connect(uri, token, user=user, password=password, db_name=db_name)",
        "patch.connect(uri, token, user=user, password=password)",
        ["tests/test_patch_pymilvus.py"]),
    Bug("pickling drops compatible_code", "python/milvus_rbac/exceptions.py",
        "return (type(self), (self.code, self.message, int(self.compatible_code)))",
        "return (type(self), (self.code, self.message))",
        ["tests/test_errors.py"]),
    Bug("self-service ignores the object type", "src/registry/access.rs",
        "} else if object_type == ObjectType::User && object_name == user {",
        "} else if object_name == user {",
        ["cargo"]),
    Bug("the docs password rule accepts two character classes", "src/validate.rs",
        "if found < classes {",
        "if found + 1 < classes {",
        ["cargo"]),
]


def copy_of_project(into: Path) -> Path:
    """The tracked files of the checkout as they are now (uncommitted changes included), built extension too."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, into / name)
    for built in (ROOT / "python" / "milvus_rbac").glob("_core*.so"):
        shutil.copy2(built, into / "python" / "milvus_rbac" / built.name)
    return into


def tests_pass(tests: List[str], project: Path) -> bool:
    """Whether `tests` pass on `project` as it is now."""
    if tests == ["cargo"]:
        command = ["cargo", "test", "--quiet", "--no-default-features", "--lib"]
        env = dict(os.environ, CARGO_TARGET_DIR=str(ROOT / "target" / "planted"))
    else:
        command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
                   f"--basetemp={project / 'tmp'}", *tests]
        env = dict(os.environ, PYTHONPATH=str(project / "python"), PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run(command, cwd=project, env=env, capture_output=True).returncode == 0


def fails_a_test(bug: Bug, project: Path) -> bool:
    file = project / bug.path
    correct = file.read_text()
    if correct.count(bug.correct) != 1:
        raise SystemExit(f"{bug.path}: the correct text of '{bug.what}' is not there exactly once; update BUGS")
    file.write_text(correct.replace(bug.correct, bug.planted))
    try:
        return not tests_pass(bug.tests, project)
    finally:
        file.write_text(correct)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="milvus-rbac-planted-") as scratch:
        project = copy_of_project(Path(scratch))
        # The control: without a bug, the same tests pass (so that a failure below is the bug's).
        for tests in {tuple(bug.tests) for bug in BUGS}:
            if not tests_pass(list(tests), project):
                raise SystemExit(f"{' '.join(tests)} fail without any planted bug; fix them first")
        uncaught = []
        for bug in BUGS:
            caught = fails_a_test(bug, project)
            print(f"{'caught' if caught else 'MISSED'}: {bug.what} ({bug.path})", flush=True)
            if not caught:
                uncaught.append(bug)
    print(f"{len(BUGS) - len(uncaught)} of {len(BUGS)} planted bugs fail a test")
    return 1 if uncaught else 0


if __name__ == "__main__":
    sys.exit(main())
