"""`MilvusClient("http://host:port")`: the same operations, results and exceptions as an embedded client, over
Milvus's RESTful API v2 served by `milvus-rbac serve` (issue 7).

The parity tests run one scenario on an embedded client and on a remote client (each on its own fresh file
registry with the same settings) and compare every outcome: the result, or the exception's class, code, message
and compatible_code. Every conformance case also runs through a remote client, but for what REST lacks by design
(REMOTE_BY_DESIGN, skipped).
"""

from __future__ import annotations

import functools
import json
import os
import socket
import statistics
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest
from conformance_clients import CONFORMANCE, ClientOfServer
from server_fixtures import (
    Server,
    ServerFactory,
    module_server,
    server_factory,  # noqa: F401  (fixture)
)

from milvus_rbac import AuthenticationError, MilvusClient, MilvusException, ParamError

PW = "P@ssw0rd"
NEW = "NewP@ssw0rd"
NEWER = "N3werP@ssw0rd"

Outcome = Tuple[Any, ...]
Opener = Callable[..., MilvusClient]


def outcome(call: Callable[[], Any], legacy: bool = False) -> Outcome:
    """("ok", result), or ("error", class name, code, message[, compatible_code when `legacy`])."""
    try:
        return ("ok", call())
    except MilvusException as err:
        found: Outcome = ("error", type(err).__name__, err.code, err.message)
        return found + (int(err.compatible_code),) if legacy else found


class Side:
    """One side of a parity run: how to open clients on its registry, and the clients it opened."""

    def __init__(self, uri: str, settings: Dict[str, Any]):
        self.uri = uri
        self.settings = settings
        self.opened: List[MilvusClient] = []

    def open(self, token: str = "root:Milvus", **kwargs: Any) -> MilvusClient:
        client = MilvusClient(self.uri, token=token, **self.settings, **kwargs)
        self.opened.append(client)
        return client

    def close(self) -> None:
        for client in self.opened:
            client.close()


@pytest.fixture(params=["rest", "grpc"])
def protocol(request: pytest.FixtureRequest) -> str:
    """How the remote side reaches the server: each parity test runs over both."""
    return str(request.param)


@pytest.fixture
def sides(server_factory: ServerFactory, tmp_path: Path, protocol: str) -> Iterator[Tuple[Side, Side]]:
    """(embedded, remote): an embedded file registry and a server on another file registry, same settings."""
    srv = server_factory()
    embedded = Side(str(tmp_path / "embedded.db"), {"password_hash": "fast"})
    remote = Side(srv.url, {"protocol": protocol})
    try:
        yield embedded, remote
    finally:
        embedded.close()
        remote.close()


def both(sides: Tuple[Side, Side], scenario: Callable[..., List[Tuple[str, Outcome]]], **kwargs: Any) -> None:
    embedded, remote = sides
    want = scenario(embedded, **kwargs)
    got = scenario(remote, **kwargs)
    assert [label for label, _ in got] == [label for label, _ in want]
    for (label, w), (_, g) in zip(want, got):
        assert g == w, f"{label}: embedded {w!r}, remote {g!r}"


# ---------------------------------------------------------------------------------------------------------------
# Parity


def main_scenario(side: Side, legacy: bool = False) -> List[Tuple[str, Outcome]]:
    out: List[Tuple[str, Outcome]] = []
    root = side.open()

    def step(label: str, call: Callable[[], Any]) -> None:
        out.append((label, outcome(call, legacy)))

    # Users
    step("create u1", lambda: root.create_user("u1", PW))
    step("create u2", lambda: root.create_user(user_name="u2", password=PW, timeout=5))
    step("create u1 again", lambda: root.create_user("u1", PW))
    step("bad name", lambda: root.create_user("1bad", PW))
    step("bad password", lambda: root.create_user("u3", "short"))
    step("param error", lambda: root.create_user(1, PW))  # type: ignore[arg-type]
    step("list users", lambda: root.list_users())
    step("describe u2", lambda: root.describe_user("u2"))
    step("describe ghost", lambda: root.describe_user("ghost"))
    step("drop root", lambda: root.drop_user("root"))
    step("drop ghost", lambda: root.drop_user("ghost"))
    # Roles
    step("create r1", lambda: root.create_role("r1"))
    step("create r2", lambda: root.create_role("r2"))
    step("create r1 again", lambda: root.create_role("r1"))
    step("create bad role", lambda: root.create_role("1r"))
    step("create empty role", lambda: root.create_role(""))
    step("list roles", lambda: root.list_roles())
    step("grant u1 r1", lambda: root.grant_role("u1", "r1"))
    step("grant u1 r1 twice", lambda: root.grant_role("u1", "r1"))
    step("grant missing role", lambda: root.grant_role("u1", "ghost_role"))
    step("grant to missing user", lambda: root.grant_role("ghost", "r1"))
    step("revoke not held", lambda: root.revoke_role("u1", "r2"))
    step("describe u1", lambda: root.describe_user("u1"))
    # Grants v1
    step("grant search", lambda: root.grant_privilege("r1", "Collection", "Search", "books"))
    step("grant load", lambda: root.grant_privilege("r1", "Collection", "Load", "books", db_name="default"))
    step("grant global db1", lambda: root.grant_privilege("r1", "Global", "CreateCollection", "*", db_name="db1"))
    step("grant bad privilege", lambda: root.grant_privilege("r1", "Collection", "Fly", "books"))
    step("grant bad object type", lambda: root.grant_privilege("r1", "Table", "Search", "books"))
    step("grant to missing role", lambda: root.grant_privilege("ghost_role", "Collection", "Search", "books"))
    step("describe r1", lambda: root.describe_role("r1"))
    step("describe r1 db1", lambda: root.describe_role("r1", db_name="db1"))
    step("describe missing role", lambda: root.describe_role("ghost_role"))
    # Grants v2 and privilege groups
    step("v2 group", lambda: root.grant_privilege_v2("r2", "CollectionReadOnly", "books", db_name="default"))
    step("v2 privilege", lambda: root.grant_privilege_v2("r2", "Query", "*", db_name="db1"))
    step("v2 bad scope", lambda: root.grant_privilege_v2("r2", "CreateCollection", "books"))
    step("v2 bad privilege", lambda: root.grant_privilege_v2("r2", "Fly", "books"))
    step("create group", lambda: root.create_privilege_group("pg1"))
    step("create group again", lambda: root.create_privilege_group("pg1"))
    step("create builtin group", lambda: root.create_privilege_group("CollectionReadOnly"))
    step("add to group", lambda: root.add_privileges_to_group("pg1", ["Query", "Search"]))
    step("add bad to group", lambda: root.add_privileges_to_group("pg1", ["Fly"]))
    step("add to missing group", lambda: root.add_privileges_to_group("ghost_g", ["Query"]))
    step("v2 custom group", lambda: root.grant_privilege_v2("r2", "pg1", "books"))
    step("drop group in use", lambda: root.drop_privilege_group("pg1"))
    step("remove from group", lambda: root.remove_privileges_from_group("pg1", ["Query"]))
    step("list groups", lambda: root.list_privilege_groups())
    step("describe r2", lambda: root.describe_role("r2"))
    step("describe r2 db1", lambda: root.describe_role("r2", db_name="db1"))
    # Dropping
    step("drop role with grants", lambda: root.drop_role("r1"))
    step("drop admin", lambda: root.drop_role("admin"))
    step("drop missing role", lambda: root.drop_role("ghost_role"))
    step("revoke search", lambda: root.revoke_privilege("r1", "Collection", "Search", "books"))
    step("revoke load", lambda: root.revoke_privilege("r1", "Collection", "Load", "books"))
    step("revoke global db1", lambda: root.revoke_privilege("r1", "Global", "CreateCollection", "*", db_name="db1"))
    step("revoke v2 custom", lambda: root.revoke_privilege_v2("r2", "pg1", "books"))
    step("drop group", lambda: root.drop_privilege_group("pg1"))
    step("drop missing group", lambda: root.drop_privilege_group("pg1"))
    step("describe r1 after", lambda: root.describe_role("r1"))
    # Passwords and other users
    step("wrong old password", lambda: root.update_password("u2", "wrong", NEW))
    step("update password", lambda: root.update_password("u2", PW, NEW))
    step("open with old password", lambda: side.open(f"u2:{PW}"))
    u2 = side.open(f"u2:{NEW}")
    step("u2 lists users", lambda: u2.list_users())
    step("u2 creates role", lambda: u2.create_role("x"))
    step("u2 grants", lambda: u2.grant_role("u2", "admin"))
    step("u2 describes u1", lambda: u2.describe_user("u1"))
    step("u2 describes role", lambda: u2.describe_role("r2"))
    step("u2 drops root", lambda: u2.drop_user("root"))
    step("u2 lists groups", lambda: u2.list_privilege_groups())
    u1 = side.open(f"u1:{PW}", db_name="db1")
    step("u1 in db1 lists users", lambda: u1.list_users())
    step("u1 describes itself", lambda: u1.describe_user("u1"))
    step("u1 changes own password", lambda: u1.update_password("u1", PW, NEW))
    step("u1 stale client", lambda: u1.list_roles())
    step("give u2 a role", lambda: root.grant_role("u2", "r2"))
    step("u2 reset connection", lambda: u2.update_password("u2", NEW, NEWER, reset_connection=True))
    step("u2 after reset", lambda: u2.describe_user("u2"))
    step("admin for u2", lambda: root.grant_role("u2", "admin"))
    step("u2 as admin lists users", lambda: u2.list_users())
    step("drop u1", lambda: root.drop_user("u1"))
    step("describe dropped", lambda: root.describe_user("u1"))
    step("list users at end", lambda: root.list_users())
    step("list roles at end", lambda: root.list_roles(timeout=3))
    return out


def test_same_scenario_same_outcomes(sides: Tuple[Side, Side]) -> None:
    both(sides, main_scenario)


def test_same_scenario_same_compatible_codes(sides: Tuple[Side, Side]) -> None:
    both(sides, main_scenario, legacy=True)


@pytest.mark.parametrize("profile", ["docs", "milvus-2.4", "milvus-2.6"])
def test_remote_errors_carry_the_embedded_legacy_codes(server_factory: ServerFactory, tmp_path: Path,
                                                       profile: str) -> None:
    """REST envelopes carry only `code`: the remote client derives compatible_code as the embedded registry does,
    the proxy's refusals (a validator's 1100, bcrypt's 65535) apart from the coordinator's (the RPC's failure)."""
    srv = server_factory("--profile", profile)
    embedded = Side(str(tmp_path / "embedded.db"), {"password_hash": "fast", "profile": profile})
    remote = Side(srv.url, {})

    def scenario(side: Side) -> List[Tuple[str, Outcome]]:
        root = side.open()
        root.create_user("lu", PW)
        root.create_role("lr")
        root.grant_privilege("lr", "Collection", "Search", "books")
        calls: Dict[str, Callable[[], Any]] = {
            "duplicate user": lambda: root.create_user("lu", PW),
            "bad user name": lambda: root.create_user("1lu", PW),
            "short password": lambda: root.create_user("lu2", "abc"),
            "long password": lambda: root.create_user("lu3", "p" * 73),
            "empty user name": lambda: root.create_user("", PW),
            "wrong old password": lambda: root.update_password("lu", "wrong!", NEW),
            "blank user dropped": lambda: root.drop_user("  "),
            "drop root": lambda: root.drop_user("root"),
            "duplicate role": lambda: root.create_role("lr"),
            "role with grants": lambda: root.drop_role("lr"),
            "missing role granted": lambda: root.grant_role("lu", "ghost"),
            "bad privilege": lambda: root.grant_privilege("lr", "Collection", "Fly", "books"),
            "bad role in grant": lambda: root.grant_privilege("1lr", "Collection", "Search", "books"),
            "missing role described": lambda: root.describe_role("ghost"),
            "builtin group created": lambda: root.create_privilege_group("CollectionReadOnly"),
            "bad group name": lambda: root.create_privilege_group("g-1"),
            "missing group altered": lambda: root.add_privileges_to_group("ghost_g", ["Query"]),
            "denied": lambda: side.open(f"lu:{PW}").list_users(),
        }
        return [(label, outcome(call, legacy=True)) for label, call in calls.items()]

    try:
        want, got = scenario(embedded), scenario(remote)
    finally:
        embedded.close()
        remote.close()
    assert got == want
    legacy = {label: o[-1] for label, o in want if o[0] == "error"}
    assert legacy["duplicate user"] == 29 and legacy["bad user name"] == 5 and legacy["duplicate role"] == 35
    assert legacy["role with grants"] == 36 and legacy["missing role described"] == 42
    assert legacy["wrong old password"] == 1 and legacy["denied"] == 3
    if profile != "milvus-2.4":  # 2.4 has no privilege groups
        assert legacy["builtin group created"] == 58 and legacy["missing group altered"] == 61


def test_parity_covers_what_it_claims(sides: Tuple[Side, Side]) -> None:
    """The scenario's outcomes include every kind of result and exception (so parity is not vacuous)."""
    outcomes = dict(main_scenario(sides[1]))
    kinds = {o[1] for o in outcomes.values() if o[0] == "error"}
    assert {"MilvusException", "ParamError", "AuthenticationError", "PermissionDeniedError"} <= kinds
    codes = {o[2] for o in outcomes.values() if o[0] == "error"}
    assert {1, 2, 1100, 1400, 1401, 65535} <= codes
    assert outcomes["describe u1"] == ("ok", {"user_name": "u1", "roles": ("r1",), "description": ""})
    assert outcomes["u2 lists users"][1:4] == (
        "PermissionDeniedError", 65535, "PrivilegeSelectOwnership: permission deny to u2 in the `default` database")
    assert outcomes["u1 in db1 lists users"][3] == (
        "PrivilegeSelectOwnership: permission deny to u1 in the `db1` database")


def test_describe_self_without_roles(sides: Tuple[Side, Side]) -> None:
    def scenario(side: Side) -> List[Tuple[str, Outcome]]:
        side.open().create_user("plain", PW)
        plain = side.open(f"plain:{PW}")
        return [("describe self", outcome(lambda: plain.describe_user("plain"))),
                ("describe other", outcome(lambda: plain.describe_user("root")))]

    both(sides, scenario)


@pytest.mark.parametrize("profile", ["docs", "milvus-2.6", "milvus-2.5", "milvus-2.4"])
def test_describe_user_needs_only_select_user(server_factory: ServerFactory, tmp_path: Path, profile: str) -> None:
    """A caller granted SelectUser on every user, but not SelectOwnership (so it cannot list users), describes a
    user without roles and a missing one. REST answers [] for both; our server says which exists in a header."""
    srv = server_factory("--profile", profile)
    embedded = Side(str(tmp_path / "embedded.db"), {"password_hash": "fast", "profile": profile})
    remote = Side(srv.url, {})

    def scenario(side: Side) -> List[Tuple[str, Outcome]]:
        root = side.open()
        root.create_user("watcher", PW)
        root.create_user("plain", PW)
        root.create_role("watch")
        root.grant_privilege("watch", "User", "SelectUser", "*")
        root.grant_role("watcher", "watch")
        watcher = side.open(f"watcher:{PW}")
        return [(name, outcome(functools.partial(watcher.describe_user, name))) for name in ("plain", "nobody")]

    try:
        want, got = scenario(embedded), scenario(remote)
    finally:
        embedded.close()
        remote.close()
    assert want[1] == ("nobody", ("ok", {}))
    assert got == want


def test_grants_without_a_grantor_fail_alike(server_factory: ServerFactory, tmp_path: Path) -> None:
    """Authorization off and no credentials: a grant has no grantor. Milvus's proxy refuses it, so its legacy code
    is the proxy's (1), not the coordinator's failure code."""
    srv = server_factory("--no-authorization")
    embedded = Side(str(tmp_path / "embedded.db"), {"password_hash": "fast", "authorization_enabled": False})
    remote = Side(srv.url, {})

    def scenario(side: Side) -> List[Tuple[str, Outcome]]:
        anonymous = side.open(token="")
        anonymous.create_role("nr")
        return [(name, outcome(call, legacy=True)) for name, call in (
            ("grant", lambda: anonymous.grant_privilege("nr", "Collection", "Search", "books")),
            ("revoke", lambda: anonymous.revoke_privilege("nr", "Collection", "Search", "books")),
        )]

    try:
        want, got = scenario(embedded), scenario(remote)
    finally:
        embedded.close()
        remote.close()
    assert want[0][1][0] != "ok", want
    assert got == want


def test_descriptions_survive_the_round_trip(sides: Tuple[Side, Side]) -> None:
    def scenario(side: Side) -> List[Tuple[str, Outcome]]:
        root = side.open()
        root.create_user("du", PW, description="a user")
        root.create_role("dr", description="a role")
        root.grant_role("du", "dr")
        out = [("describe user", outcome(lambda: root.describe_user("du"))),
               ("describe role", outcome(lambda: root.describe_role("dr")))]
        root.alter_role("dr", "changed")
        out.append(("after alter", outcome(lambda: root.describe_role("dr"))))
        return out

    both(sides, scenario)


def test_alter_role_parity(sides: Tuple[Side, Side]) -> None:
    def scenario(side: Side) -> List[Tuple[str, Outcome]]:
        root = side.open()
        root.create_role("ar")
        return [(f"alter {name}", outcome(functools.partial(root.alter_role, name, "d")))
                for name in ("ar", "admin", "public", "ghost")]

    both(sides, scenario)


def test_empty_strings_give_the_embedded_errors(sides: Tuple[Side, Side]) -> None:
    def scenario(side: Side) -> List[Tuple[str, Outcome]]:
        root = side.open()
        root.create_user("eu", PW)
        root.create_role("er")
        calls = {
            "create_user name": lambda: root.create_user("", PW),
            "create_user password": lambda: root.create_user("eu2", ""),
            "update_password old": lambda: root.update_password("eu", "", NEW),
            "update_password new": lambda: root.update_password("eu", PW, ""),
            "drop_user": lambda: root.drop_user(""),
            "grant_role user": lambda: root.grant_role("", "er"),
            "describe_user": lambda: root.describe_user(""),
        }
        return [(label, outcome(call)) for label, call in calls.items()]

    both(sides, scenario)


def test_passwords_of_any_characters_authenticate(sides: Tuple[Side, Side]) -> None:
    # Passwords the docs profile accepts (it refuses control characters such as NUL).
    passwords = ["Pässwörd1!", "  P@ssw0rd  ", "P@ssw0rd ", " P@ssw0rd", "Пароль-123Ab"]

    def scenario(side: Side) -> List[Tuple[str, Outcome]]:
        root = side.open()
        out = []

        def login(token: str) -> str:
            side.open(token)
            return "connected"

        for i, password in enumerate(passwords):
            out.append((f"create {password!r}", outcome(functools.partial(root.create_user, f"cu{i}", password))))
            out.append((f"login {password!r}", outcome(functools.partial(login, f"cu{i}:{password}"))))
        out.append(("leading space in user", outcome(functools.partial(login, " root:Milvus"))))
        out.append(("trailing space in password", outcome(functools.partial(login, "root:Milvus "))))
        return out

    both(sides, scenario)


# ---------------------------------------------------------------------------------------------------------------
# Construction


@pytest.mark.parametrize("credentials", [
    {"token": "root:wrong"}, {"token": "ghost:Milvus"}, {"token": "root"}, {"token": ""}, {},
    {"user": "root", "password": "nope"}, {"token": ":Milvus"},
])
def test_bad_credentials_at_construction(sides: Tuple[Side, Side], credentials: Dict[str, Any]) -> None:
    embedded, remote = sides
    errors = []
    for uri, settings in ((embedded.uri, embedded.settings), (remote.uri, remote.settings)):
        with pytest.raises(AuthenticationError) as info:
            MilvusClient(uri, **credentials, **settings)
        err = info.value
        errors.append((type(err), err.code, err.message, int(err.compatible_code)))
    assert errors[1] == errors[0]
    assert errors[1][1] == 2


def test_good_credentials_forms(sides: Tuple[Side, Side]) -> None:
    _, remote = sides
    forms: List[Dict[str, Any]] = [{"token": "root:Milvus"}, {"user": "root", "password": "Milvus"}]
    for kwargs in forms:
        with MilvusClient(remote.uri, **kwargs) as client:
            assert client.list_roles() == ["admin", "public"]


def test_remote_takes_no_registry_settings(sides: Tuple[Side, Side]) -> None:
    _, remote = sides
    for setting in ({"profile": "docs"}, {"password_hash": "fast"}, {"max_users": 5}):
        with pytest.raises(ParamError):
            MilvusClient(remote.uri, token="root:Milvus", **setting)


def test_unreachable_server_is_code_2() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(MilvusException) as info:
        MilvusClient(f"http://127.0.0.1:{port}", token="root:Milvus")
    assert info.value.code == 2
    assert "Fail connecting to server on" in info.value.message
    assert time.monotonic() - started < 10


@pytest.mark.parametrize("protocol", ["rest", "grpc"])
def test_server_gone_after_construction(server_factory: ServerFactory, protocol: str) -> None:
    srv = server_factory()
    client = MilvusClient(srv.url, token="root:Milvus", protocol=protocol)
    try:
        assert client.list_roles() == ["admin", "public"]
        assert srv.stop() == 0
        with pytest.raises(MilvusException) as info:
            client.list_roles()
        assert info.value.code == 2
    finally:
        client.close()


class StallingProxy:
    """A TCP proxy to a server that, once told to stall, keeps the server's answers from the client: a server
    that accepted a request and never answers."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.stalled = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, True), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, answers: bool) -> None:
        try:
            while data := source.recv(65536):
                if not (answers and self.stalled.is_set()):
                    sink.sendall(data)
        except OSError:
            pass

    def close(self) -> None:
        self.listener.close()


def test_a_call_timeout_bounds_the_wait_for_a_server_that_never_answers(server_factory: ServerFactory) -> None:
    srv = server_factory()
    proxy = StallingProxy(int(srv.url.rsplit(":", 1)[1]))
    client = MilvusClient(proxy.url, token="root:Milvus")
    try:
        assert client.list_roles() == ["admin", "public"]
        proxy.stalled.set()
        started = time.monotonic()
        with pytest.raises(MilvusException) as info:
            client.list_roles(timeout=0.5)
        # The default request timeout is 60 s: an answer within 10 s shows the call's own timeout was used.
        assert time.monotonic() - started < 10
        assert info.value.code == 2
        assert "timed out" in info.value.message.lower() or "timeout" in info.value.message.lower()
    finally:
        client.close()
        proxy.close()


# ---------------------------------------------------------------------------------------------------------------
# What REST cannot do


def test_operations_a_protocol_lacks_raise_a_clear_exception(sides: Tuple[Side, Side], protocol: str) -> None:
    """REST v2 has no force_drop, no backup, no update_user; neither protocol has this project's checks."""
    embedded, remote = sides
    backup = embedded.open().backup_rbac()
    client = remote.open()
    client.create_role("keep")
    client.grant_privilege("keep", "Collection", "Search", "books")
    calls = {
        "drop_role(force_drop=True)": lambda: client.drop_role("keep", force_drop=True),
        "backup_rbac": lambda: client.backup_rbac(),
        "restore_rbac": lambda: client.restore_rbac(backup),
        "update_user": lambda: client.update_user("root", "the root"),
        "check_privilege": lambda: client.check_privilege("root", "Search", "Collection", "books"),
        "explain_privilege": lambda: client.explain_privilege("root", "Search", "Collection", "books"),
    }
    if protocol == "grpc":
        calls = {name: call for name, call in calls.items() if name.endswith("_privilege")}
    word = {"rest": "REST", "grpc": "gRPC"}[protocol]
    for name, call in calls.items():
        with pytest.raises(MilvusException) as info:
            call()
        err = info.value
        assert not isinstance(err, ParamError), (name, err)
        assert name.split("(")[0] in err.message and word in err.message, (name, err.message)
    # Nothing was changed on the server.
    assert "keep" in client.list_roles()
    assert [p["privilege"] for p in client.describe_role("keep")["privileges"]] == ["Search"]


# ---------------------------------------------------------------------------------------------------------------
# The embedded conformance cases, through a remote client


CONFORMANCE_CASES = list(CONFORMANCE.ALL_CASES)

# Conformance cases that cannot pass through a remote client: what REST lacks by design (skipped).
REMOTE_BY_DESIGN: Dict[str, str] = {
    name: "drop_role(force_drop=True) is refused over REST by design (issue 7: REST has no force_drop)"
    for name in ("drop_role_with_grants_fails", "drop_role_missing", "drop_role_defaults")
}


def _conformance_params() -> List[Any]:
    params = []
    unsupported = CONFORMANCE.UNSUPPORTED_TAGS["milvus_rbac"]
    for protocol in ("rest", "grpc"):
        for topic, case in CONFORMANCE_CASES:
            marks = []
            skipped = set(case.get("tags", ())) & unsupported
            if skipped:
                marks.append(pytest.mark.skip(reason=f"tags {sorted(skipped)} unsupported on milvus_rbac"))
            elif protocol == "rest" and case["name"] in REMOTE_BY_DESIGN:
                marks.append(pytest.mark.skip(reason=REMOTE_BY_DESIGN[case["name"]]))
            params.append(pytest.param(protocol, case, id=f"{protocol}:{topic}:{case['name']}", marks=marks))
    return params


@pytest.fixture(scope="module")
def conformance_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server with the conformance suite's registry settings; the runner cleans it after every case."""
    profile = CONFORMANCE.RBAC_OPTIONS["profile"]
    yield from module_server(tmp_path_factory, "conformance", "--profile", profile)


@pytest.mark.parametrize("protocol,case", _conformance_params())
def test_conformance_case_through_remote_client(conformance_server: Server, protocol: str,
                                                case: Dict[str, Any]) -> None:
    import milvus_rbac

    conf = CONFORMANCE
    backend = ClientOfServer(milvus_rbac, conformance_server.url, protocol)
    # The cases run over the network; the clean-up between them runs embedded on the server's own file (same registry,
    # no HTTP round trips), with the suite's own clean-up code.
    cleaner = conf.MilvusBackend(milvus_rbac, None, conformance_server.db)
    runner = conf.Runner(backend)
    try:
        runner.run_case(case)
    finally:
        runner.close_all()
        cleaner.clean(runner.root_password)


# ---------------------------------------------------------------------------------------------------------------
# Under load


def _percentile(values: List[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def test_reads_keep_completing_while_a_strong_hash_runs(server_factory: ServerFactory) -> None:
    """6 remote readers while one remote writer creates 2 users with strong hashing (argon2id m=19456 KiB, t=2).

    Measured: for every write, the reads that were issued after it started and answered before it finished, and the
    read latency over the whole run. With the server hashing on its blocking pool, dozens of reads complete inside
    every write (a write is one hash; a read is a cached credential check and a SQLite read)."""
    srv = server_factory(fast_hash=False)
    writer = MilvusClient(srv.url, token="root:Milvus")
    readers = [MilvusClient(srv.url, token="root:Milvus") for _ in range(6)]
    stop = threading.Event()
    reads: List[Tuple[float, float]] = []
    writes: List[Tuple[float, float]] = []
    errors: List[BaseException] = []

    def read_loop(client: MilvusClient) -> None:
        try:
            while not stop.is_set():
                started = time.perf_counter()
                assert client.list_roles()[0] == "admin"
                assert client.describe_role("admin")["role"] == "admin"
                reads.append((started, time.perf_counter()))
        except BaseException as err:  # noqa: BLE001
            errors.append(err)

    def write_loop() -> None:
        try:
            for i in range(2):
                started = time.perf_counter()
                writer.create_user(f"load{i}", PW)
                writes.append((started, time.perf_counter()))
        except BaseException as err:  # noqa: BLE001
            errors.append(err)
        finally:
            stop.set()

    threads = [threading.Thread(target=read_loop, args=(c,)) for c in readers]
    threads.append(threading.Thread(target=write_loop))
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    finally:
        stop.set()
        for c in [writer, *readers]:
            c.close()
    assert not errors, errors
    inside = [sum(1 for s, e in reads if s >= ws and e <= we) for ws, we in writes]
    latencies = [e - s for s, e in reads]
    measured = (f"writes {[round(we - ws, 3) for ws, we in writes]} s; reads inside each write {inside}; "
                f"{len(reads)} reads, p50 {statistics.median(latencies) * 1000:.1f} ms, "
                f"p99 {_percentile(latencies, 0.99) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms")
    print(measured)
    assert len(writes) == 2, measured
    assert all(n >= 1 for n in inside), measured
    assert statistics.median(latencies) < 0.25, measured
    assert statistics.median(latencies) < statistics.median([we - ws for ws, we in writes]), measured
    assert sorted(u for u in MilvusClient(srv.url, token="root:Milvus").list_users() if u.startswith("load")) == [
        "load0", "load1"]


# The server issue's load test runs 20 s each way on demand (RBAC_LOAD_SECONDS=20); the suite and CI run 5 s, which
# checks the same (no error, nothing lost) at a quarter of the cost.
LOAD_SECONDS = float(os.environ.get("RBAC_LOAD_SECONDS", "5"))
LOAD_CLIENTS = 16


def _mixed_load(open_client: Callable[[], MilvusClient], seconds: float, threads: int) -> Dict[str, Any]:
    """`threads` clients, each alternating one write (create_user + grant_role) with four reads, for `seconds`.

    Returns the errors, the users whose write and reads all completed, and requests per second with p50/p99
    latency over every call."""
    setup = open_client()
    setup.create_role("load_r")
    setup.close()
    stop = threading.Event()
    latencies: List[float] = []
    created: List[str] = []
    errors: List[BaseException] = []
    lock = threading.Lock()

    def work(n: int) -> None:
        client = open_client()
        mine: List[float] = []
        made: List[str] = []
        try:
            i = 0
            while not stop.is_set():
                name = f"m{n}_{i}"
                for call in (lambda: client.create_user(name, PW), lambda: client.grant_role(name, "load_r"),
                             lambda: client.describe_user(name), lambda: client.list_roles(),
                             lambda: client.describe_role("load_r"), lambda: client.list_privilege_groups()):
                    started = time.perf_counter()
                    call()
                    mine.append(time.perf_counter() - started)
                made.append(name)
                i += 1
        except BaseException as err:  # noqa: BLE001
            errors.append(err)
        finally:
            client.close()
            with lock:
                latencies.extend(mine)
                created.extend(made)

    pool = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    started = time.perf_counter()
    for t in pool:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in pool:
        t.join(60)
    elapsed = time.perf_counter() - started
    return {"errors": errors, "created": created, "seconds": round(elapsed, 2), "requests": len(latencies),
            "rps": round(len(latencies) / elapsed), "p50_ms": round(statistics.median(latencies) * 1000, 2),
            "p99_ms": round(_percentile(latencies, 0.99) * 1000, 2)}


def _lost(db: str, created: List[str]) -> List[str]:
    """The users of `created` that the registry file `db` lacks, or holds without role load_r (read embedded: one
    describe per user over HTTP would take longer than the load itself)."""
    with MilvusClient(db, token="root:Milvus") as check:
        users = set(check.list_users())
        return [name for name in created
                if name not in users or check.describe_user(name)["roles"] != ("load_r",)]


def test_sixteen_clients_mixing_reads_and_writes(server_factory: ServerFactory, tmp_path: Path) -> None:
    """The issue's load test: 16 clients mixing reads and writes for LOAD_SECONDS (5 s; 20 on demand) through a
    server, then the same calls embedded on a file. No error, nothing lost; requests per second and p50/p99 latency
    for both are printed (pytest -rP) and written to load.json in the test's tmp directory."""
    srv = server_factory("--max-users", "none", "--max-roles", "none")
    remote = _mixed_load(lambda: MilvusClient(srv.url, token="root:Milvus"), LOAD_SECONDS, LOAD_CLIENTS)
    db = str(tmp_path / "embedded-load.db")
    embedded = _mixed_load(lambda: MilvusClient(db, token="root:Milvus", password_hash="fast", max_users=None,
                                                max_roles=None), LOAD_SECONDS, LOAD_CLIENTS)
    figures = {side: {k: v for k, v in result.items() if k not in ("errors", "created")}
               for side, result in (("remote", remote), ("embedded", embedded))}
    (tmp_path / "load.json").write_text(json.dumps(figures, indent=2))
    print(f"{LOAD_CLIENTS} clients, {LOAD_SECONDS:g} s each: " + " | ".join(
        f"{side}: {f['requests']} requests, {f['rps']}/s, p50 {f['p50_ms']} ms, p99 {f['p99_ms']} ms"
        for side, f in figures.items()))
    for result, registry in ((remote, srv.db), (embedded, db)):
        assert not result["errors"], result["errors"][:3]
        assert result["created"] and len(set(result["created"])) == len(result["created"])
        assert _lost(registry, result["created"]) == []
