"""Mutation testing of the Python package (issue 18): plant one bug at a time in python/milvus_rbac and run the
tests that ran the changed code; a mutant is caught when a test fails or the run times out.

How:
1. The package is copied, each module written as `ast.unparse` writes it (as its mutants will be), and the test
   suite runs once on that copy with line tracing (mutation/tracing): every Python process of the run, the
   command's subprocesses included, records which lines each test ran. The run must pass: it is the baseline.
2. Each mutant is written into the copy and the tests that ran its lines run, fastest first, stopping at the
   first failure. If none fails, the tests that ran any line of its function run (those of the whole module for
   code that runs at import). A mutant no test runs is missed without a run. With --quick (CI's sample), which
   traces only QUICK_TESTS, a survivor then meets the whole suite before it is called missed.

Why not mutmut: mutmut 3 chooses each mutant's tests from the functions it saw called in the pytest process, and
most of the command's tests run `milvus-rbac` in subprocesses (as users do), so it would call them untested.

Mutations: comparisons (== and !=, < and <=, in and not in, is and is not), and/or, `not` removed, arithmetic
operators, True/False, integers + 1, `return x` to `return None`, a call statement removed, a keyword argument
dropped; with --strings, string literals too. Docstrings, annotations and help texts are left alone.

Usage (from the repository; mutation/python runs it with the project's virtual environment):
    mutation/python                          every module, the whole suite traced
    mutation/python cli.py patching.py       some modules
    mutation/python --shard 3/8              one eighth of the mutants, taken evenly across the modules
    mutation/python --quick                  trace only QUICK_TESTS, the Python layer's own test files (CI)
    mutation/python --list                   the mutants, without running them
Results: mutation/out/python/outcomes.json and missed.txt; exit 0 only if every viable mutant was caught (the
mutants EQUIVALENT lists, explained in mutation/REPORT.md, are reported and not run).
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import copy
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Set, Tuple

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "python" / "milvus_rbac"
OUT = ROOT / "mutation" / "out" / "python"
TRACING = ROOT / "mutation" / "tracing"

# The test files --quick traces: those written for the Python layer (the command, policies, patching, errors,
# display, the pytest plugin, the trail and backups the command reads and writes, TLS and hostile input through
# the command, the serve command's flags).
QUICK_TESTS = [
    "test_cli.py", "test_policy.py", "test_errors.py", "test_patch_pymilvus.py", "test_display.py",
    "test_plugin.py", "test_doctests.py", "test_stubs.py", "test_audit.py", "test_milvus_backup.py",
    "test_security.py", "test_tls.py", "test_sources.py",
]

# How long (in traced test time) each stage may take: the tests that ran the mutant's lines, then those that ran
# its function. A survivor pays both in full, and the command's main is run by hundreds of slow tests.
NARROW_SECONDS = 120.0
WIDE_SECONDS = 60.0

# Mutants that change no behaviour (module, the mutation, the line's text): why each is equivalent is in
# mutation/REPORT.md.
EQUIVALENT: Set[Tuple[str, str, str]] = {
    # The temporary file's name is seen only if the command dies between writing and linking it.
    ("cli.py", "drop the argument prefix=",
     'descriptor, temporary = tempfile.mkstemp(prefix=".milvus-rbac-export-", dir=directory)  # mode 0600'),
    # CPython finds the module of an enum made by a call from the calling frame; `module=` says it for
    # interpreters that cannot, where the enum would not pickle.
    # A test registry's temporary directory: its name, and whether an error removing it (never seen: it is
    # removed once, by its owner) is ignored, change nothing a test sees.
    ("testing.py", "drop the argument prefix=", 'self._directory = tempfile.mkdtemp(prefix="milvus-rbac-")'),
    ("testing.py", "drop the argument ignore_errors=", "shutil.rmtree(self._directory, ignore_errors=True)"),
    ("testing.py", "replace True with False", "shutil.rmtree(self._directory, ignore_errors=True)"),
    # The chosen action's name is read only for `policy` (whose `test` needs no registry); argparse names a
    # missing one by its metavar whatever its dest.
    *(("cli.py", "drop the argument dest=",
       f'{name} = {parent}.add_subparsers(dest="{dest}", required=True, metavar="{metavar}")')
      for name, parent, dest, metavar in [("users_commands", "users", "subcommand", "ACTION"),
                                          ("roles_commands", "roles", "subcommand", "ACTION"),
                                          ("groups_commands", "groups", "subcommand", "ACTION"),
                                          ("kinds", "verb", "kind", "WHAT")]),
    # create_role takes an empty description as none, in every profile and over the wire alike.
    ("cli.py", "drop the argument default=", 'create.add_argument("--description", default="")'),
    # explain_privilege (and the live explanation for a real Milvus) takes an object type of None as Global.
    ("cli.py", "drop the argument default=",
     'check.add_argument("--object-type", default="Global", choices=["Global", "Collection", "User"])'),
    ("cli.py", "drop the argument default=", 'check.add_argument("--object", default="*", metavar="NAME")'),
    ("cli.py", "drop the argument default=", 'check.add_argument("--database", default="default", metavar="DB")'),
    # backup_rbac takes a format of None as its default, milvus-rbac.
    ("cli.py", "drop the argument default=",
     'export.add_argument("--format", choices=["milvus-rbac", "milvus"], default="milvus-rbac",'),
    # The in-memory registries policy.py builds hash passwords fast: strong hashing would only cost time. The one
    # that checks a policy creates no users, so its limit of users is never reached either.
    *(("policy.py", "drop the argument password_hash=", line) for line in (
        'scratch = MilvusClient(":memory:", token="root:Milvus", password_hash="fast", profile=profile,',
        'with MilvusClient(":memory:", token="root:Milvus", password_hash="fast", profile=policy.profile,',
        'with MilvusClient(":memory:", token="root:Milvus", password_hash="fast", profile=profile,')),
    ("policy.py", "drop the argument max_users=",
     'scratch = MilvusClient(":memory:", token="root:Milvus", password_hash="fast", profile=profile,'),
    # Pruning a registry just built removes nothing: it holds only root, admin and public (never pruned) and
    # public's starting grants, which every loaded policy's public holds too (they come from a registry of the
    # same profile).
    *(("policy.py", "replace False with True", f"apply(built, _plan(built, {name}, False, lambda name, spec: "
       "_CHECK_PASSWORD))") for name in ("policy", "live")),
    # Only `policy test` and `serve` report errors with the default, and neither authenticates a caller: no
    # AuthenticationError reaches the hint there.
    ("cli.py", "replace False with True",
     "def _error(error: MilvusException, as_json: bool, anonymous: bool = False) -> None:"),
    # The export's sync before it is linked in: only a power failure between the two would show it.
    ("cli.py", "remove the call os.fsync(...)", "os.fsync(file.fileno())"),
    # `printable` escapes only characters below 0x100 or above it (\u2028, \u2029), never 0x100 or 0x101.
    *(("cli.py", mutation,
       'return _CONTROLS.sub(lambda match: f"\\\\x{ord(match.group()):02x}" if ord(match.group()) < 0x100')
      for mutation in ("replace Lt with LtE", "replace 256 with 257")),
    # After a closed pipe, CPython's failed write leaves nothing buffered (checked with `users list`, `roles list`
    # and a 300-role `export -`), so the flush at exit has nothing to write; redirecting stdout to /dev/null, as
    # Python's documentation on SIGPIPE advises, guards interpreters and streams that keep unwritten data.
    ("cli.py", "remove the call os.dup2(...)", "os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())"),
    # The command's client is closed by its own drop as main returns (CPython frees it then); closing it
    # explicitly only makes that prompt where objects outlive their last reference.
    ("cli.py", "remove the call session.client.close(...)", "session.client.close()"),
    # The policy schema is ASCII: any encoding reads it alike.
    ("policy.py", "drop the argument encoding=",
     'with open(os.path.join(os.path.dirname(__file__), "policy.schema.json"), encoding="utf-8") as file:'),
    # Closed clients forgotten at close: a second close closes them again, which does nothing.
    ("testing.py", "remove the call self._clients.clear(...)", "self._clients.clear()"),
    ("exceptions.py", "drop the argument module=",
     'LegacyErrorCode = IntEnum("LegacyErrorCode", LEGACY_CODES, module=__name__)'),
}

# Text no test should pin: the command's help, given to argparse by these keywords of these calls. Changing it
# changes no behaviour. (Elsewhere `description=` is data: a user's or a role's.)
HELP_KEYWORDS = {"help", "description", "epilog", "metavar", "usage"}
ARGPARSE_CALLS = {"ArgumentParser", "add_argument", "add_parser", "add_subparsers", "add_argument_group",
                  "add_mutually_exclusive_group"}


def help_keywords(call: ast.Call) -> List[ast.keyword]:
    """The keywords of `call` that give argparse help text (none if it is not an argparse call)."""
    name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
    return [keyword for keyword in call.keywords if keyword.arg in HELP_KEYWORDS] if name in ARGPARSE_CALLS else []

SWAPPED_COMPARISONS = {
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
    ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is,
}
SWAPPED_ARITHMETIC = {
    ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.FloorDiv, ast.FloorDiv: ast.Mult, ast.Div: ast.Mult,
    ast.Mod: ast.FloorDiv, ast.BitOr: ast.BitAnd, ast.BitAnd: ast.BitOr,
}


@dataclass
class Site:
    """One place to plant a bug: what it does, and how (applied to the node's copy in a fresh tree)."""

    line: int
    description: str
    apply: Callable[[ast.AST], Optional[ast.AST]]  # the replacement node (None: delete the statement)


def mutation_sites(tree: ast.Module, strings: bool) -> Iterator[tuple[ast.AST, Site]]:
    """Every (node, site) of a module, in a fixed order, skipping docstrings, annotations and help texts; string
    literals only if `strings`."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body:
            first = body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                skipped.update(id(child) for child in ast.walk(first))
        annotations: List[Optional[ast.AST]] = []
        if isinstance(node, ast.arg):
            annotations.append(node.annotation)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            annotations.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            annotations.append(node.annotation)
        elif isinstance(node, ast.Call):
            annotations.extend(keyword.value for keyword in help_keywords(node))
        elif isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            annotations.extend(node.body)
        for annotation in annotations:
            if annotation is not None:
                skipped.update(id(child) for child in ast.walk(annotation))
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        yield from ((node, site) for site in node_sites(node, strings))


def node_sites(node: ast.AST, strings: bool) -> Iterator[Site]:
    line = getattr(node, "lineno", 0)
    if isinstance(node, ast.Compare):
        for index, op in enumerate(node.ops):
            swapped = SWAPPED_COMPARISONS[type(op)]
            yield Site(line, f"replace {type(op).__name__} with {swapped.__name__}", replace_op(index, swapped))
    elif isinstance(node, ast.BoolOp):
        other: type = ast.Or if isinstance(node.op, ast.And) else ast.And
        yield Site(line, f"replace {type(node.op).__name__} with {other.__name__}", set_field("op", other()))
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        yield Site(line, "remove not", lambda n: getattr(n, "operand"))
    elif isinstance(node, (ast.BinOp, ast.AugAssign)) and type(node.op) in SWAPPED_ARITHMETIC:
        arithmetic = SWAPPED_ARITHMETIC[type(node.op)]
        yield Site(line, f"replace {type(node.op).__name__} with {arithmetic.__name__}", set_field("op", arithmetic()))
    elif isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool):
            yield Site(line, f"replace {value} with {not value}", set_field("value", not value))
        elif isinstance(value, int):
            yield Site(line, f"replace {value} with {value + 1}", set_field("value", value + 1))
        elif isinstance(value, str) and strings:
            yield Site(line, f"replace {value[:30]!r} with 'XX'+...+'XX'", set_field("value", f"XX{value}XX"))
    elif isinstance(node, ast.Return) and node.value is not None:
        if not (isinstance(node.value, ast.Constant) and node.value.value is None):
            yield Site(line, "return None", set_field("value", None))
    elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        yield Site(line, f"remove the call {ast.unparse(node.value.func)}(...)", lambda n: None)
    elif isinstance(node, ast.Call):
        help_text = help_keywords(node)
        for index, keyword in enumerate(node.keywords):
            if keyword.arg is not None and keyword not in help_text:
                yield Site(line, f"drop the argument {keyword.arg}=", drop_keyword(index))


def replace_op(index: int, op: type) -> Callable[[ast.AST], ast.AST]:
    def apply(node: ast.AST) -> ast.AST:
        node.ops[index] = op()  # type: ignore[attr-defined]
        return node

    return apply


def set_field(name: str, value: object) -> Callable[[ast.AST], ast.AST]:
    def apply(node: ast.AST) -> ast.AST:
        setattr(node, name, value)
        return node

    return apply


def drop_keyword(index: int) -> Callable[[ast.AST], ast.AST]:
    def apply(node: ast.AST) -> ast.AST:
        del node.keywords[index]  # type: ignore[attr-defined]
        return node

    return apply


# The package's sources as the run found them (edits made while it runs do not reach its mutants), and as
# ast.unparse writes them: mutants are written that way, and the tests run on that text throughout.
ORIGINALS: Dict[str, str] = {}
UNPARSED: Dict[str, str] = {}


def original(module: str) -> str:
    if module not in ORIGINALS:
        ORIGINALS[module] = (PACKAGE / module).read_text()
    return ORIGINALS[module]


def unparsed(module: str) -> str:
    if module not in UNPARSED:
        UNPARSED[module] = ast.unparse(ast.parse(original(module)))
    return UNPARSED[module]


@dataclass
class Mutant:
    module: str
    number: int  # the site's position in mutation_sites
    strings: bool  # whether string literals were mutation sites when it was numbered
    line: int  # in the module as written
    description: str
    source_line: str
    # The rest in the unparsed text's lines, which the tests run and the traces name:
    lines: List[int]  # its statement's, up to the node's end: tests that ran them are tried first
    scope: Optional[Tuple[int, int]]  # its function's; None for code that runs at import (the whole module)
    # How many mutants before it in the module have its description and source line: with them, its name in
    # recorded outcomes, which edits elsewhere in the module (or to the mutation rules) do not change.
    occurrence: int
    # A digest of the code it lives in (its function, or the module for code run at import): a recorded outcome
    # stands while that code is unchanged.
    code_digest: str

    @property
    def equivalent(self) -> bool:
        return (self.module, self.description, self.source_line) in EQUIVALENT

    @property
    def key(self) -> Tuple[str, bool, str, str, int]:
        return (self.module, self.strings, self.description, self.source_line, self.occurrence)


def mutants_of(module: str, strings: bool) -> List[Mutant]:
    as_written = [site for _, site in mutation_sites(ast.parse(original(module)), strings)]
    tree = ast.parse(unparsed(module))
    as_run = list(mutation_sites(tree, strings))
    assert [site.description for site in as_written] == [site.description for _, site in as_run], module
    parents = {id(child): parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}

    def statement_and_function(node: ast.AST) -> Tuple[ast.stmt, Optional[ast.stmt]]:
        while not isinstance(node, ast.stmt):
            node = parents[id(node)]
        statement: ast.stmt = node
        function: Optional[ast.stmt] = None
        while id(node) in parents:
            node = parents[id(node)]
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and function is None:
                function = node
        return statement, function

    written_lines = original(module).splitlines()
    mutants = []
    seen: Dict[Tuple[str, str], int] = {}
    for number, (written, (node, site)) in enumerate(zip(as_written, as_run)):
        statement, function = statement_and_function(node)
        first = min(statement.lineno, site.line)
        scope = (function.lineno, function.end_lineno or function.lineno) if function is not None else None
        code = unparsed(module) if function is None else ast.unparse(function)
        source_line = written_lines[written.line - 1].strip()
        occurrence = seen.get((site.description, source_line), 0)
        seen[(site.description, source_line)] = occurrence + 1
        mutants.append(Mutant(module, number, strings, written.line, site.description, source_line,
                              list(range(first, getattr(node, "end_lineno") + 1)), scope, occurrence,
                              hashlib.blake2b(code.encode(), digest_size=16).hexdigest()))
    return mutants


def record_key(record: dict) -> Tuple[str, bool, str, str, int]:
    return (record["module"], record["strings"], record["description"], record["source_line"],
            record["occurrence"])


def mutated_source(mutant: Mutant) -> Optional[str]:
    """The module with the mutant planted (in the unparsed text), or None when it does not compile."""
    tree = ast.parse(unparsed(mutant.module))
    target, site = list(mutation_sites(tree, mutant.strings))[mutant.number]
    replacement = site.apply(copy.deepcopy(target))
    for parent in ast.walk(tree):
        for field, value in ast.iter_fields(parent):
            if value is target and replacement is not None:
                setattr(parent, field, replacement)
            elif isinstance(value, list) and any(item is target for item in value):
                index = next(i for i, item in enumerate(value) if item is target)
                if replacement is None:
                    del value[index]
                    if not value:
                        value.append(ast.Pass())
                else:
                    value[index] = replacement
    text = ast.unparse(ast.fix_missing_locations(tree))
    try:
        compile(text, mutant.module, "exec")
    except SyntaxError:
        return None
    return text


def pytest_command(basetemp: Path, paths: Iterable[str]) -> List[str]:
    return [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-p", "mutation_tracing",
            f"--basetemp={basetemp}", *sorted(set(paths))]


class Workspace:
    """A copy of the package (the built extension included), its modules as unparsed, that one job plants its
    mutants in."""

    def __init__(self, root: Path) -> None:
        self.root = root
        shutil.copytree(PACKAGE, root / "milvus_rbac", ignore=shutil.ignore_patterns("__pycache__"))
        for module in (path.name for path in PACKAGE.glob("*.py")):
            (root / "milvus_rbac" / module).write_text(unparsed(module))

    def environment(self, **extra: str) -> Dict[str, str]:
        return dict(os.environ, PYTHONPATH=f"{self.root}{os.pathsep}{TRACING}", PYTHONDONTWRITEBYTECODE="1",
                    **extra)

    def run(self, module: str, text: str, tests: Sequence[str], timeout: float) -> Tuple[str, float]:
        """Run `tests` (test ids; a path alone runs all its tests) with `text` in `module`'s place: "caught",
        "missed" or "timeout", and the seconds it took."""
        (self.root / "milvus_rbac" / module).write_text(text)
        env = self.environment()
        if any("::" in test for test in tests):
            selection = self.root / "selection.json"
            selection.write_text(json.dumps(list(tests)))
            env["MUTATION_SELECT"] = str(selection)
        files = [test.split("::")[0] for test in tests]
        started = time.monotonic()
        # In a session of its own, so that a timeout ends the tests' subprocesses too: a mutant that makes a
        # test's `serve` listen (on Milvus's default port, say) must not leave it running.
        run = subprocess.Popen(pytest_command(self.root / "tmp", files), cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            returncode = run.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return "timeout", time.monotonic() - started
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(run.pid, signal.SIGKILL)
            run.wait()
            (self.root / "milvus_rbac" / module).write_text(unparsed(module))
        return ("missed" if returncode == 0 else "caught"), time.monotonic() - started


@dataclass
class Traces:
    """Which tests ran each line of each module (unparsed), and how long each test took."""

    tests_by_line: Dict[Tuple[str, int], Set[str]]
    seconds: Dict[str, float]

    @staticmethod
    def collect(workspace: Workspace, paths: List[str], scratch: Path) -> "Traces":
        """Run the tests under `paths` once on `workspace`'s package, tracing it; they must pass."""
        out = scratch / "traces"
        out.mkdir()
        started = time.monotonic()
        done = subprocess.run(pytest_command(scratch / "tmp-traces", paths), cwd=ROOT,
                              env=workspace.environment(MUTATION_TRACE_OUT=str(out)), capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"the traced test run (the baseline) failed; fix the tests first:\n{done.stdout[-3000:]}")
        print(f"traced run: {time.monotonic() - started:.0f} s", flush=True)
        return Traces.read(out)

    @staticmethod
    def read(out: Path) -> "Traces":
        """The traces the processes of a traced run wrote to `out`."""
        tests_by_line: Dict[Tuple[str, int], Set[str]] = {}
        seconds: Dict[str, float] = {}
        for trace in out.glob("*.jsonl"):
            for record in map(json.loads, trace.read_text().splitlines()):
                if trace.name == "durations.jsonl":
                    seconds[record["test"]] = record["seconds"]
                    continue
                if record["test"] == "import":
                    continue  # imports during collection belong to no test
                for module, lines in record["lines"].items():
                    for line in lines:
                        tests_by_line.setdefault((module, line), set()).add(record["test"])
        return Traces(tests_by_line, seconds)

    def save(self, path: Path, digest: str) -> None:
        lines = [[module, line, sorted(tests)] for (module, line), tests in self.tests_by_line.items()]
        path.write_text(json.dumps({"digest": digest, "lines": lines, "seconds": self.seconds}))

    @staticmethod
    def load(path: Path, digest: str) -> Optional["Traces"]:
        """The traces saved at `path`, if they were taken of the package as it is (`digest`)."""
        if not path.is_file():
            return None
        saved = json.loads(path.read_text())
        if saved["digest"] != digest:
            return None
        by_line = {(module, line): set(tests) for module, line, tests in saved["lines"]}
        return Traces(by_line, saved["seconds"])

    def tests_of(self, module: str, lines: Iterable[int]) -> List[str]:
        """The tests that ran any of `lines` of `module`, fastest first."""
        found: Set[str] = set()
        for line in lines:
            found |= self.tests_by_line.get((module, line), set())
        return sorted(found, key=lambda test: (self.seconds.get(test, 0.0), test))

    def module_tests(self, module: str) -> List[str]:
        return self.tests_of(module, {line for name, line in self.tests_by_line if name == module})

    def timeout(self, tests: Sequence[str]) -> float:
        return max(60.0, 3 * sum(self.seconds.get(test, 0.0) for test in tests) + 30)

    def within(self, tests: List[str], budget: float) -> List[str]:
        """The fastest of `tests` (sorted fastest first) that together took at most `budget` seconds when traced,
        and at least one: code that hundreds of slow tests run (the command's main) meets the quickest of them."""
        taken: List[str] = []
        total = 0.0
        for test in tests:
            total += self.seconds.get(test, 0.0)
            if taken and total > budget:
                break
            taken.append(test)
        return taken


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Mutation testing of python/milvus_rbac.")
    parser.add_argument("modules", nargs="*", help="modules of python/milvus_rbac (default: all)")
    parser.add_argument("--shard", help="K/N: the mutants whose number modulo N is K")
    parser.add_argument("--jobs", type=int, default=2, help="mutants run at once (default 2)")
    parser.add_argument("--quick", action="store_true", help="trace only QUICK_TESTS, not the whole suite")
    parser.add_argument("--list", action="store_true", help="list the mutants and stop")
    parser.add_argument("--strings", action="store_true",
                        help="also replace string literals (messages, keys): about 1,100 more mutants")
    parser.add_argument("--recheck", nargs="+", metavar="TESTS",
                        help="run the mutants the last run missed (OUT/outcomes.jsonl; of MODULES, if given) "
                             "against these test paths or ids, as tests written since; their outcomes there are "
                             "updated")
    options = parser.parse_args(argv)
    if options.recheck:
        return recheck(options.recheck, options.modules)

    modules = options.modules or sorted(path.name for path in PACKAGE.glob("*.py"))
    unknown = [module for module in modules if not (PACKAGE / module).is_file()]
    if unknown:
        parser.error(f"no such module in python/milvus_rbac: {', '.join(unknown)}")
    mutants = [mutant for module in modules for mutant in mutants_of(module, options.strings)]
    if options.shard:
        shard, shards = (int(part) for part in options.shard.split("/"))
        mutants = [mutant for index, mutant in enumerate(mutants) if index % shards == shard]
    if options.list:
        for mutant in mutants:
            print(f"{mutant.module}:{mutant.line}: {mutant.description}    {mutant.source_line}")
        print(f"{len(mutants)} mutants")
        return 0

    OUT.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="milvus-rbac-mutants-"))
    paths = [f"tests/{name}" for name in QUICK_TESTS] if options.quick else ["tests"]
    try:
        results = run_mutants(mutants, paths, options.jobs, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return report(results)


def package_digest(paths: List[str]) -> str:
    """What the traces and outcomes of a run hold for: the package's unparsed sources, the tests, and which of
    them were traced."""
    digest = hashlib.blake2b(json.dumps(paths).encode(), digest_size=16)
    for path in sorted(PACKAGE.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + unparsed(path.name).encode() + b"\0")
    for path in sorted((ROOT / "tests").rglob("*.py")):
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def run_mutants(mutants: List[Mutant], paths: List[str], jobs: int, scratch: Path) -> List[dict]:
    """Run `mutants`, reusing what earlier runs recorded (OUT/outcomes.jsonl) of each mutant whose code (its
    function; its module for code run at import) is unchanged: a catch stands (tests are added, not weakened:
    after weakening one, delete the file), a miss only while the traces are those it was decided with, so that
    tests written since meet it. The traces (OUT/traces.json) are reused while the package and the tests are
    unchanged."""
    digest = package_digest(paths)
    workspaces = [Workspace(scratch / f"job{job}") for job in range(jobs)]
    traces = Traces.load(OUT / "traces.json", digest)
    if traces is None:
        traces = Traces.collect(workspaces[0], paths, scratch)
        traces.save(OUT / "traces.json", digest)
    else:
        print("traces of the same sources and tests reused", flush=True)
    earlier = recorded_outcomes()
    sources = TestSources()
    free = list(workspaces)

    def reusable(mutant: Mutant) -> Optional[dict]:
        known = earlier.get(mutant.key)
        if known is None or known.get("code_digest") != mutant.code_digest:
            return None
        if known["outcome"] == "missed" and known.get("traces") != digest:
            return None
        return dict(known, number=mutant.number, line=mutant.line)

    def run(mutant: Mutant) -> dict:
        result = dict(asdict(mutant), outcome="equivalent", seconds=0.0, tests=0, traces=digest)
        if mutant.equivalent:
            return result
        text = mutated_source(mutant)
        if text is None:
            result["outcome"] = "unviable"
            return result
        narrow = [] if mutant.scope is None else traces.tests_of(mutant.module, mutant.lines)
        wide = traces.module_tests(mutant.module) if mutant.scope is None \
            else traces.tests_of(mutant.module, range(mutant.scope[0], mutant.scope[1] + 1))
        narrow = traces.within(sources.naming_first(narrow, words_of(mutant)), NARROW_SECONDS)
        wide = traces.within([test for test in wide if test not in narrow], WIDE_SECONDS)
        # Traced only a part of the suite (--quick): the rest of it has the last word on a survivor.
        rest = [["tests"]] if paths != ["tests"] else []
        outcome, seconds, tried = "missed", 0.0, 0
        for tests in (narrow, wide, *rest):
            if not tests:
                continue
            workspace = free.pop()
            try:
                timeout = traces.timeout(tests) if tests != ["tests"] else 3600.0
                outcome, taken = workspace.run(mutant.module, text, tests, timeout)
            finally:
                free.append(workspace)
            seconds, tried = seconds + taken, tried + len(tests)
            if outcome != "missed":
                break
        result.update(outcome=outcome, seconds=round(seconds, 1), tests=tried)
        return result

    results = []
    to_run = []
    for mutant in mutants:
        known = reusable(mutant)
        if known is None:
            to_run.append(mutant)
        else:
            results.append(known)
    if results:
        print(f"{len(results)} outcomes reused from earlier runs, {len(to_run)} mutants to run", flush=True)
    with ThreadPoolExecutor(jobs) as pool:
        for done, future in enumerate(as_completed([pool.submit(run, mutant) for mutant in to_run]), 1):
            result = future.result()
            results.append(result)
            with open(OUT / "outcomes.jsonl", "a") as outcomes:
                outcomes.write(json.dumps(result) + "\n")
            if result["outcome"] == "missed":
                print(f"MISSED {result['module']}:{result['line']}: {result['description']}"
                      f"    {result['source_line']}" + ("" if result["tests"] else "    (no test runs it)"),
                      flush=True)
            if done % 50 == 0:
                print(f"{done}/{len(to_run)} mutants run", flush=True)
    return sorted(results, key=lambda result: (result["module"], result["number"]))


def recorded_outcomes() -> Dict[Tuple[str, bool, str, str, int], dict]:
    """The last outcome OUT/outcomes.jsonl records for each mutant."""
    path = OUT / "outcomes.jsonl"
    lines = path.read_text().splitlines() if path.is_file() else []
    return {record_key(record): record for record in map(json.loads, lines)}


def words_of(mutant: Mutant) -> Set[str]:
    """The string literals of the mutant's lines (an option's name, a command's, a key): tests that name one of
    them are likelier to see it, so they run first."""
    text = "\n".join(unparsed(mutant.module).splitlines()[mutant.lines[0] - 1:mutant.lines[-1]])
    return {single or double for single, double in re.findall(r"'([^'\\\n]{3,})'|\"([^\"\\\n]{3,})\"", text)}


class TestSources:
    """Each test function's source text, read once per test file, to find the tests that name a word."""

    def __init__(self) -> None:
        self.functions: Dict[str, Dict[str, str]] = {}

    def source(self, test: str) -> str:
        path, _, name = test.partition("::")
        if path not in self.functions:
            text = (ROOT / path).read_text() if (ROOT / path).is_file() else ""
            tree = ast.parse(text)
            self.functions[path] = {
                node.name: ast.get_source_segment(text, node) or "" for node in ast.walk(tree)
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            }
        function = name.split("::")[-1].split("[")[0]
        return self.functions[path].get(function, "")

    def naming_first(self, tests: List[str], words: Set[str]) -> List[str]:
        """`tests` (fastest first) with those naming the most of `words` first, in that order otherwise."""
        if not words:
            return tests
        return sorted(tests, key=lambda test: -sum(word in self.source(test) for word in words))


def recheck(tests: List[str], modules: List[str]) -> int:
    """Run each mutant OUT/outcomes.jsonl last records as missed (in `modules`, or all) against `tests` (tests
    written since); record the new outcomes there and report the outcomes of the code as it is now. A mutant whose
    code changed since is skipped, and its record left out of the figures: a run, not a recheck, decides it."""
    records = recorded_outcomes()
    by_module: Dict[Tuple[str, bool], Dict[Tuple[str, bool, str, str, int], Mutant]] = {}
    current = []
    scratch = Path(tempfile.mkdtemp(prefix="milvus-rbac-recheck-"))
    try:
        workspace = Workspace(scratch / "job")
        for key, record in records.items():
            if (record["module"], record["strings"]) not in by_module:
                by_module[record["module"], record["strings"]] = {
                    mutant.key: mutant for mutant in mutants_of(record["module"], record["strings"])}
            mutant = by_module[record["module"], record["strings"]].get(key)
            wanted = record["outcome"] == "missed" and (not modules or record["module"] in modules)
            text = mutated_source(mutant) if mutant is not None and wanted else None
            if mutant is None or record.get("code_digest") != mutant.code_digest or (wanted and text is None):
                if wanted:
                    print(f"changed since the run, skipped: {record['module']}:{record['line']}: "
                          f"{record['description']}", flush=True)
                continue
            current.append(record)
            if text is None:  # not wanted: kept as recorded
                continue
            outcome = "equivalent" if mutant.equivalent else workspace.run(mutant.module, text, tests, 3600.0)[0]
            print(f"{outcome}: {mutant.module}:{mutant.line}: {mutant.description}", flush=True)
            if outcome != "missed":
                record.update(outcome=outcome, rechecked_with=tests)
                with open(OUT / "outcomes.jsonl", "a") as outcomes:
                    outcomes.write(json.dumps(record) + "\n")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    undecided = sum(len(mutants) for mutants in by_module.values()) - len(current)
    if undecided:
        print(f"{undecided} mutants of the code as it is now have no outcome yet: a run decides them")
    return report(sorted(current, key=lambda record: (record["module"], record["number"])))


def report(results: List[dict]) -> int:
    """Write outcomes.json and missed.txt, print the figures; 0 only if every viable mutant was caught."""
    (OUT / "outcomes.json").write_text(json.dumps(results, indent=1))
    missed = [r for r in results if r["outcome"] == "missed"]
    (OUT / "missed.txt").write_text(
        "".join(f"{r['module']}:{r['line']}: {r['description']}    {r['source_line']}\n" for r in missed)
    )
    outcomes = ("caught", "timeout", "missed", "unviable", "equivalent")
    print("| module | mutants | " + " | ".join(outcomes) + " |")
    print("|---|---|" + "---|" * len(outcomes))
    for module in sorted({r["module"] for r in results}):
        mine = [r for r in results if r["module"] == module]
        print(f"| `{module}` | {len(mine)} | "
              + " | ".join(str(sum(r["outcome"] == outcome for r in mine)) for outcome in outcomes) + " |")
    counts = {outcome: sum(r["outcome"] == outcome for r in results) for outcome in outcomes}
    viable = len(results) - counts["unviable"] - counts["equivalent"]
    rate = 100 * (viable - counts["missed"]) / viable if viable else 100.0
    print(f"{len(results)} mutants: {counts['caught']} caught, {counts['timeout']} timeouts, "
          f"{counts['missed']} missed, {counts['unviable']} unviable, {counts['equivalent']} equivalent; "
          f"{rate:.1f}% of viable non-equivalent mutants caught")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
