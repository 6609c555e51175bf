"""Data-driven conformance suite: the cases in cases/*.json run against milvus_rbac and,
against a real Milvus server through pymilvus: the one MILVUS_URI names, or the Milvus 2.3.5 the session starts
with MILVUS_RBAC_TEST_MILVUS=start (tests/real_milvus.py).

The case format is documented in README.md beside this file. Every expectation in the
cases is what a real Milvus 2.3.5 server (authorization on) answered.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

CASES_DIR = Path(__file__).parent / "cases"

# Tags a backend cannot run: cases carrying any of them are skipped on that backend.
#   client_artifact  behaviour that pymilvus produces on the client side against 2.3.5
UNSUPPORTED_TAGS: dict[str, set[str]] = {
    "milvus_rbac": {"client_artifact"},
    "milvus_rbac_etcd": {"client_artifact"},
    "milvus": set(),
}

# How milvus_rbac clients are opened. A case that opens more than one client (an "as",
# "connect" or "client" step) needs them all on one registry, so it gets a per-case SQLite
# file; every other case runs on ":memory:". The milvus_rbac_etcd backend runs every case on a
# registry of its own in etcd (tests/conftest.py's `etcd_uri`).
RBAC_OPTIONS: dict[str, Any] = {"profile": "milvus-2.4", "password_hash": "fast"}

ROOT_PASSWORD = "Milvus"
BUILTIN_USERS = {"root"}
BUILTIN_ROLES = {"admin", "public"}
# (object_type, object_name, db_name, privilege) that public holds on a fresh 2.3.5 server.
PUBLIC_DEFAULT_GRANTS = {
    ("Collection", "*", "*", "IndexDetail"),
    ("Global", "*", "*", "DescribeCollection"),
    ("Global", "*", "*", "ShowCollections"),
}

# Databases a case may name in `db_name`. The server cleanup looks for grants in each of them
# (a grant in any other database would be invisible to it and outlive the case).
CASE_DATABASES = ("", "default", "*", "cf_db")
CLEANUP_DATABASES = ("", "cf_db")

# A real server refreshes its proxies' privilege and credential caches asynchronously after
# a change; a call by a non-root client right after one waits this long (milvus backend only).
SETTLE_SECONDS = 0.05

# Methods that return None on success; a step on them without "result" must return None.
MUTATORS = {
    "create_user", "drop_user", "update_password",
    "create_role", "drop_role", "grant_role", "revoke_role",
    "grant_privilege", "revoke_privilege",
}
KNOWN_CALLS = MUTATORS | {"list_users", "describe_user", "list_roles", "describe_role"}
KNOWN_TAGS = {"enforcement", "client_artifact"}
STEP_KEYS = {"call", "args", "as", "client", "connect", "error", "result", "repeat", "note"}
CASE_KEYS = {"name", "description", "tags", "steps"}
# Every user/role a case creates starts with "cf" (any case, after surrounding whitespace and
# an optional leading "_"), except these, which test that look-alikes of the built-in names
# are ordinary names. Cleanup removes them like any other.
UNPREFIXED_OK = {"Root", "ROOT", "admin", "public", "Admin", "ADMIN", "PUBLIC", "root"}



def _silence_pymilvus() -> None:
    """pymilvus logs every failed RPC with a traceback at ERROR level; the suite expects failures."""
    for name in ["pymilvus", *logging.root.manager.loggerDict]:
        if name == "pymilvus" or name.startswith("pymilvus."):
            logging.getLogger(name).setLevel(logging.CRITICAL + 1)


# ---------------------------------------------------------------------------------------
# Loading and expanding case data


def _load_cases() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in sorted(CASES_DIR.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        for case in data["cases"]:
            out.append((path.stem, case))
    return out


ALL_CASES = _load_cases()


def expand(value: Any, i: int | None = None) -> Any:
    """Expand {"$str": [...]} string builders and, inside repeated steps, {i} placeholders."""
    if isinstance(value, dict):
        if set(value) == {"$str"}:
            parts = []
            for part in value["$str"]:
                if isinstance(part, str):
                    parts.append(part)
                else:
                    text, count = part
                    parts.append(text * count)
            return _subst("".join(parts), i)
        return {k: expand(v, i) for k, v in value.items()}
    if isinstance(value, list):
        return [expand(v, i) for v in value]
    if isinstance(value, str):
        return _subst(value, i)
    return value


_PLACEHOLDER = re.compile(r"\{i(?::([^}]*))?\}")


def _subst(text: str, i: int | None) -> str:
    if i is None:
        return text
    return _PLACEHOLDER.sub(lambda m: format(i, m.group(1) or ""), text)


# ---------------------------------------------------------------------------------------
# Normalisation of results


def normalise_result(call: str, value: Any) -> Any:
    if call in ("list_users", "list_roles"):
        return list(value)
    if call == "describe_user":
        if value == {}:
            return {}
        return {"user_name": value["user_name"], "roles": list(value["roles"])}
    if call == "describe_role":
        # pymilvus 3.0 adds "description", which 2.3.5 does not keep; everything else is compared
        # (and the key order of each grant too, see Runner.check).
        return {
            "role": value["role"],
            "privileges": [_plain(dict(p)) for p in value["privileges"]],
        }
    return _plain(value)


_OBJECT_TYPES_LIST = re.compile(r"(supported the object types: \[)([^\]]*)(\])")


def normalise_message(message: str) -> str:
    """Milvus 2.4 and older list the object types from a Go map, in random order: sort them."""
    return _OBJECT_TYPES_LIST.sub(
        lambda m: m.group(1) + " ".join(sorted(m.group(2).split())) + m.group(3), message)


def _plain(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


class Failure(Exception):
    """A normalised error: (code, message)."""

    def __init__(self, code: Any, message: str):
        message = normalise_message(message)
        super().__init__(code, message)
        self.code = code
        self.message = message


# ---------------------------------------------------------------------------------------
# Backends


class Backend:
    name = ""

    def connect(self, token: str | None, extra: dict[str, Any] | None = None) -> Any:
        """Open a client; raise Failure for a normalised construction error."""
        raise NotImplementedError

    def call(self, client: Any, method: str, args: dict[str, Any]) -> Any:
        """Run one method; raise Failure for a normalised error."""
        raise NotImplementedError

    def settle(self) -> None:
        """Wait until a change made by one client is seen by the others' privilege checks."""

    def close(self, client: Any) -> None:
        close = getattr(client, "close", None)
        if close is not None:
            try:
                close()
            except Exception:
                pass


class RbacBackend(Backend):
    name = "milvus_rbac"

    def __init__(self, module: Any, uri: str):
        self.m = module
        self.uri = uri

    def connect(self, token, extra=None):
        kwargs = dict(RBAC_OPTIONS)
        kwargs.update(extra or {})
        if token is not None:
            kwargs["token"] = token
        try:
            return self.m.MilvusClient(self.uri, **kwargs)
        except self.m.MilvusException as e:
            raise Failure(e.code, e.message) from e

    def call(self, client, method, args):
        try:
            return getattr(client, method)(**args)
        except self.m.MilvusException as e:
            raise Failure(e.code, e.message) from e


class MilvusBackend(Backend):
    name = "milvus"

    def __init__(self, pymilvus: Any, grpc: Any, uri: str):
        self.pymilvus = pymilvus
        self.grpc = grpc
        self.uri = uri

    def _grpc_failure(self, err: Any) -> Failure:
        code = err.code()
        if code == self.grpc.StatusCode.PERMISSION_DENIED:
            return Failure(65535, err.details())
        if code == self.grpc.StatusCode.UNAUTHENTICATED:
            return Failure(2, err.details())
        return Failure(f"grpc:{code.name}", err.details())

    def settle(self) -> None:
        time.sleep(SETTLE_SECONDS)

    def connect(self, token, extra=None):
        # pymilvus 3 shares one gRPC connection per (uri, token) and skips the Connect RPC
        # on reuse; a dedicated connection makes every client authenticate afresh.
        kwargs: dict[str, Any] = {"dedicated": True, **(extra or {})}
        if token is not None:
            kwargs["token"] = token
        try:
            return self.pymilvus.MilvusClient(self.uri, **kwargs)
        except self.pymilvus.MilvusException as e:
            cause = e.__cause__
            if e.code == 2 and cause is not e and isinstance(cause, self.grpc.RpcError):
                raise Failure(2, cause.details()) from e
            raise Failure(e.code, e.message) from e

    def call(self, client, method, args):
        try:
            return getattr(client, method)(**args)
        except self.pymilvus.MilvusException as e:
            raise Failure(e.code, e.message) from e
        except self.grpc.RpcError as e:
            raise self._grpc_failure(e) from e

    # -- server cleanup ---------------------------------------------------------------

    def clean(self, root_password: str) -> None:
        """Leave only root (password Milvus, no roles) and admin/public (default grants)."""
        if root_password != ROOT_PASSWORD:
            c = self.pymilvus.MilvusClient(self.uri, token=f"root:{root_password}",
                                           dedicated=True)
            c.update_password("root", root_password, ROOT_PASSWORD)
            c.close()
        c = self.pymilvus.MilvusClient(self.uri, token=f"root:{ROOT_PASSWORD}", dedicated=True)
        try:
            for user in list(c.list_users()):
                for role in c.describe_user(user).get("roles", ()):
                    c.revoke_role(user, role)
                if user not in BUILTIN_USERS:
                    c.drop_user(user)
            for role in c.list_roles():
                for db_name in CLEANUP_DATABASES:
                    for p in c.describe_role(role, db_name=db_name)["privileges"]:
                        key = (p["object_type"], p["object_name"], p["db_name"], p["privilege"])
                        if role == "public" and key in PUBLIC_DEFAULT_GRANTS:
                            continue
                        c.revoke_privilege(role, p["object_type"], p["privilege"],
                                           p["object_name"], db_name=p["db_name"])
                if role not in BUILTIN_ROLES:
                    c.drop_role(role)
            users, roles = list(c.list_users()), list(c.list_roles())
            assert users == ["root"], f"server not clean: users {users}"
            assert roles == ["admin", "public"], f"server not clean: roles {roles}"
        finally:
            c.close()


# ---------------------------------------------------------------------------------------
# Running one case


def _case_opens_clients(case: dict[str, Any]) -> bool:
    return any("as" in s or "connect" in s or "client" in s for s in case["steps"])


def _describe(step: dict[str, Any]) -> str:
    return json.dumps({k: step[k] for k in ("call", "connect", "as", "args") if k in step},
                      ensure_ascii=True)


class Runner:
    def __init__(self, backend: Backend):
        self.backend = backend
        self.root_password = ROOT_PASSWORD
        self._root: Any = None
        self._root_token: str | None = None
        self._opened: list[Any] = []
        # Clients opened by `connect` steps with a `client` name, kept open for later steps.
        self._named: dict[str, Any] = {}
        # Whether a change succeeded since the last call by a non-root client.
        self._changed = False

    def root_client(self) -> Any:
        token = f"root:{self.root_password}"
        if self._root is None or self._root_token != token:
            try:
                self._root = self.backend.connect(token)
            except Failure as f:
                raise AssertionError(f"cannot connect as root: {f.code} {f.message}") from f
            self._root_token = token
            self._opened.append(self._root)
        return self._root

    def close_all(self) -> None:
        for c in self._opened:
            self.backend.close(c)
        self._opened.clear()
        self._named.clear()
        self._root = None

    def run_case(self, case: dict[str, Any]) -> None:
        for n, step in enumerate(case["steps"]):
            repeat = step.get("repeat")
            indices: Iterator[int | None] = iter(range(repeat)) if repeat else iter([None])
            for i in indices:
                where = f"step {n} {_describe(step)}" + (f" (i={i})" if i is not None else "")
                self.run_step(expand(step, i), where)

    def _outcome(self, fn: Callable[[], Any]) -> tuple[bool, Any]:
        try:
            return True, fn()
        except Failure as f:
            return False, (f.code, f.message)

    def run_step(self, step: dict[str, Any], where: str) -> None:
        if "connect" in step:
            spec = dict(step["connect"])
            token = spec.pop("token", None)
            ok, got = self._outcome(lambda: self.backend.connect(token, spec))
            if ok:
                self._opened.append(got)
                if "client" in step:
                    self._named[step["client"]] = got
                got = None
            self.check(step, "connect", ok, got, where)
            return

        call = step["call"]
        args = step.get("args", {})
        if "as" in step or "client" in step:
            if self._changed:
                self.backend.settle()
                self._changed = False
        if "client" in step:
            if step["client"] not in self._named:
                raise AssertionError(f"{where}: no open client named {step['client']!r}")
            named = self._named[step["client"]]

            def run() -> Any:
                return self.backend.call(named, call, args)
        elif "as" in step:
            token = step["as"]["token"]

            def run() -> Any:
                client = self.backend.connect(token)
                self._opened.append(client)
                return self.backend.call(client, call, args)
        else:
            client = self.root_client()

            def run() -> Any:
                return self.backend.call(client, call, args)

        ok, got = self._outcome(run)
        if ok:
            got = normalise_result(call, got)
            if call == "update_password" and args.get("user_name") == "root":
                self.root_password = args["new_password"]
            if call in MUTATORS:
                self._changed = True
        self.check(step, call, ok, got, where)

    def check(self, step: dict[str, Any], call: str, ok: bool, got: Any, where: str) -> None:
        if "error" in step:
            want = step["error"]
            assert not ok, f"{where}: expected error {want}, got success {got!r}"
            assert got == (want["code"], want["message"]), (
                f"{where}: expected error ({want['code']}, {want['message']!r}), got {got!r}")
            return
        assert ok, f"{where}: expected success, got error {got!r}"
        if "result" in step:
            assert got == step["result"], f"{where}: expected {step['result']!r}, got {got!r}"
            if call == "describe_role":
                order = [list(p) for p in got["privileges"]]
                want = [list(p) for p in step["result"]["privileges"]]
                assert order == want, f"{where}: expected key order {want}, got {order}"
        elif call in MUTATORS or call == "connect":
            assert got is None, f"{where}: expected None, got {got!r}"


# ---------------------------------------------------------------------------------------
# pytest wiring


@pytest.fixture(scope="session")
def milvus_backend(request: pytest.FixtureRequest) -> MilvusBackend:
    # tests/conftest.py's `milvus_uri`: MILVUS_URI, or the Milvus the session started; MILVUS_URI alone when this
    # directory runs without that conftest (--confcutdir).
    try:
        uri = request.getfixturevalue("milvus_uri")
    except pytest.FixtureLookupError:
        uri = os.environ.get("MILVUS_URI", "")
        if not uri:
            pytest.skip("MILVUS_URI is not set")
    pymilvus = pytest.importorskip("pymilvus")
    grpc = pytest.importorskip("grpc")
    _silence_pymilvus()
    backend = MilvusBackend(pymilvus, grpc, uri)
    backend.clean(ROOT_PASSWORD)
    return backend


@pytest.fixture(scope="session")
def rbac_module() -> Any:
    return pytest.importorskip("milvus_rbac")


def _params() -> list[Any]:
    params = []
    for topic, case in ALL_CASES:
        for backend in ("milvus_rbac", "milvus_rbac_etcd", "milvus"):
            marks = []
            if set(case.get("tags", ())) & UNSUPPORTED_TAGS[backend]:
                marks.append(pytest.mark.skip(
                    reason=f"tags {sorted(set(case['tags']) & UNSUPPORTED_TAGS[backend])} "
                           f"unsupported on {backend}"))
            params.append(pytest.param(backend, case, id=f"{backend}:{topic}:{case['name']}",
                                       marks=marks))
    return params


@pytest.mark.parametrize("backend_name,case", _params())
def test_case(backend_name: str, case: dict[str, Any], request: pytest.FixtureRequest,
              tmp_path: Path) -> None:
    if backend_name == "milvus":
        backend: Backend = request.getfixturevalue("milvus_backend")
    else:
        module = request.getfixturevalue("rbac_module")
        if backend_name == "milvus_rbac_etcd":
            uri = request.getfixturevalue("etcd_uri")
        elif _case_opens_clients(case):
            uri = str(tmp_path / "registry.db")
        else:
            uri = ":memory:"
        backend = RbacBackend(module, uri)
    runner = Runner(backend)
    try:
        runner.run_case(case)
    finally:
        runner.close_all()
        if isinstance(backend, MilvusBackend):
            backend.clean(runner.root_password)


# ---------------------------------------------------------------------------------------
# The case data itself


def _created_names(case: dict[str, Any]) -> Iterator[str]:
    for step in case["steps"]:
        if step.get("call") in ("create_user", "create_role") and "error" not in step:
            key = "user_name" if step["call"] == "create_user" else "role_name"
            for i in range(step.get("repeat") or 1):
                yield expand(step["args"][key], i if step.get("repeat") else None)


@pytest.mark.parametrize("topic,case", [pytest.param(t, c, id=f"{t}:{c['name']}")
                                        for t, c in ALL_CASES])
def test_case_is_well_formed(topic: str, case: dict[str, Any]) -> None:
    assert set(case) <= CASE_KEYS, set(case) - CASE_KEYS
    assert re.fullmatch(r"[a-z0-9_]+", case["name"]), case["name"]
    assert set(case.get("tags", ())) <= KNOWN_TAGS
    assert case["steps"], "a case needs steps"
    for step in case["steps"]:
        assert set(step) <= STEP_KEYS, set(step) - STEP_KEYS
        assert ("call" in step) != ("connect" in step), step
        assert not ("error" in step and "result" in step), step
        assert not ("as" in step and "client" in step), step
        if "call" in step:
            assert step["call"] in KNOWN_CALLS, step["call"]
            if "db_name" in step.get("args", {}):
                assert step["args"]["db_name"] in CASE_DATABASES, step["args"]["db_name"]
        if "error" in step:
            assert set(step["error"]) == {"code", "message"}, step["error"]
    for name in _created_names(case):
        assert re.match(r"_?cf", name.strip(), re.IGNORECASE) or name.strip() in UNPREFIXED_OK, name


def test_case_names_are_unique() -> None:
    names = [c["name"] for _, c in ALL_CASES]
    dupes = sorted({n for n in names if names.count(n) > 1})
    assert not dupes, dupes


def test_topics_present() -> None:
    topics = {t for t, _ in ALL_CASES}
    assert topics == {"users", "passwords", "roles", "user_roles", "auth", "limits", "privileges",
                      "enforcement"}, topics
