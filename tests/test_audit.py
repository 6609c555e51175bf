"""The audit trail (issue 16, point 5): every change, refused change, denial and failed login, written in the
transaction of the change on every store; `MilvusClient.audit`/`verify_audit`, `milvus-rbac audit`, retention, the
hash chain (hand edits and removals detected), the privilege that reading it needs, and SIGKILL during writes
leaving a change and its record together or neither."""

from __future__ import annotations

import base64
import json
import random
import signal
import sqlite3
import subprocess
import time
import urllib.request
from contextlib import closing
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
from etcd_cluster import Cluster
from server_fixtures import ServerFactory, server_factory  # noqa: F401 (a fixture)
from stress_support import popen_child

from milvus_rbac import AuthenticationError, MilvusClient, MilvusException
from milvus_rbac.cli import main

FAST = dict(password_hash="fast", profile="milvus-2.5")
ALICE_PASSWORD = "Al1ce-secret-pw"
NEW_PASSWORD = "N3w-secret-pw!"
GUESS = "Gu3ss-wrong-pw?"


@pytest.fixture(params=["file", "etcd"])
def shared_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A registry several clients share: a file, or a prefix of the test etcd cluster."""
    if request.param == "file":
        return str(tmp_path / "rbac.db")
    cluster: Cluster = request.getfixturevalue("etcd_cluster")
    return cluster.uri()


def summary(records: List[Dict[str, Any]]) -> List[Tuple[str, str, Dict[str, str], str]]:
    return [(r["user"], r["operation"], r["target"], r["result"]) for r in records]


def test_every_change_refusal_denial_and_failed_login_is_recorded(shared_uri: str) -> None:
    root = MilvusClient(shared_uri, token="root:Milvus", **FAST)
    root.create_user("alice", ALICE_PASSWORD)
    root.create_role("reader")
    root.grant_role("alice", "reader")
    with pytest.raises(MilvusException):
        root.create_role("reader")
    alice = MilvusClient(shared_uri, token=f"alice:{ALICE_PASSWORD}")
    with pytest.raises(MilvusException, match="permission deny"):
        alice.create_role("mine")
    with pytest.raises(MilvusException, match="permission deny"):
        alice.audit()  # reading the trail needs BackupRBAC
    with pytest.raises(AuthenticationError):
        MilvusClient(shared_uri, token=f"alice:{GUESS}")
    records = root.audit()
    assert summary(records) == [
        ("", "create_registry", {"profile": "milvus-2.5"}, "ok"),
        ("root", "create_user", {"user_name": "alice"}, "ok"),
        ("root", "create_role", {"role_name": "reader"}, "ok"),
        ("root", "grant_role", {"user_name": "alice", "role_name": "reader"}, "ok"),
        ("root", "create_role", {"role_name": "reader"}, "error"),
        ("alice", "create_role", {"role_name": "mine"}, "denied"),
        ("alice", "audit", {}, "denied"),
        ("alice", "login", {}, "login_failed"),
    ]
    refused, denied, failed_login = records[4], records[5], records[7]
    assert (refused["code"], refused["message"]) == (65535, 'role [name:"reader"] already exists')
    assert denied["code"] == 65535 and "permission deny to alice" in denied["message"]
    assert failed_login["code"] == 2 and "auth check failure" in failed_login["message"]
    assert [r["seq"] for r in records] == list(range(1, 9))
    assert all(r["time"].endswith("Z") and r["db_name"] in ("", "default") for r in records)
    assert root.verify_audit() == {"intact": True, "records": 8, "first": 1, "last": 8, "head": records[-1]["hash"],
                                   "problem": None}

    # BackupRBAC (here through the ClusterAdmin group) lets a user read it.
    root.grant_privilege_v2("reader", "ClusterAdmin", "*", "*")
    assert alice.audit()[-1]["operation"] == "grant_privilege_v2"
    assert alice.verify_audit()["intact"]


def test_reads_are_not_recorded_and_a_denial_does_not_invalidate_reads(client: Any) -> None:
    registry = client(**FAST)
    registry.create_role("reader")
    before = len(registry.audit())
    registry.list_roles()
    registry.describe_role("reader")
    registry.check_privilege("root", "Search", "Collection", "books")
    assert len(registry.audit()) == before


def test_filters_by_user_and_time(tmp_path: Path) -> None:
    db = str(tmp_path / "rbac.db")
    root = MilvusClient(db, token="root:Milvus", **FAST)
    root.create_user("alice", ALICE_PASSWORD)
    root.grant_role("alice", "admin")
    alice = MilvusClient(db, token=f"alice:{ALICE_PASSWORD}")
    alice.create_role("by_alice")
    assert summary(root.audit(user_name="alice")) == [("alice", "create_role", {"role_name": "by_alice"}, "ok")]
    assert root.audit(user_name="nobody") == []
    everything = root.audit()
    newest = everything[-1]["time"]
    assert root.audit(since=newest)[-1] == everything[-1]
    assert root.audit(since=time.time() + 3600) == []
    import datetime

    assert root.audit(since=datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)) == everything
    assert root.audit(since=0) == everything
    for bad in ("yesterday", True, [1], float("nan")):
        with pytest.raises(MilvusException, match="since"):
            root.audit(since=bad)


def test_passwords_never_reach_the_trail(tmp_path: Path) -> None:
    db = tmp_path / "rbac.db"
    root = MilvusClient(str(db), token="root:Milvus", **FAST)
    root.create_user("alice", ALICE_PASSWORD)
    root.update_password("alice", ALICE_PASSWORD, NEW_PASSWORD)
    with pytest.raises(MilvusException):
        root.update_password("alice", GUESS, "An0ther-pw!")
    with pytest.raises(AuthenticationError):
        MilvusClient(str(db), token=f"alice:{GUESS}")
    backup = root.backup_rbac()
    root.drop_user("alice")
    root.restore_rbac(backup)
    trail = json.dumps(root.audit())
    assert "restore_rbac" in trail and "update_password" in trail
    with closing(sqlite3.connect(db)) as conn:
        stored = "\n".join(line for (line,) in conn.execute("SELECT record FROM audit"))
    for secret in (ALICE_PASSWORD, NEW_PASSWORD, GUESS, "An0ther-pw!", backup["users"][0]["password_hash"]):
        assert secret not in trail and secret not in stored, secret


def test_retention_keeps_the_newest_records(tmp_path: Path) -> None:
    db = str(tmp_path / "rbac.db")
    root = MilvusClient(db, token="root:Milvus", audit_retention=5, max_roles=None, **FAST)
    for n in range(12):
        root.create_role(f"r{n}")
    records = root.audit()
    assert [r["target"]["role_name"] for r in records] == [f"r{n}" for n in range(7, 12)]
    assert [r["seq"] for r in records] == list(range(9, 14))
    check = root.verify_audit()
    assert (check["intact"], check["records"], check["first"], check["last"]) == (True, 5, 9, 13)
    with pytest.raises(MilvusException, match="`audit_retention` of registry .* is 5"):
        MilvusClient(db, token="root:Milvus", audit_retention=6)
    with pytest.raises(MilvusException, match="audit_retention"):
        MilvusClient(":memory:", token="root:Milvus", audit_retention=0)


def test_huge_input_leaves_a_bounded_record(tmp_path: Path) -> None:
    """A hostile 10 MB name is refused, and its record keeps 1 KiB of it, saying it was cut."""
    db = tmp_path / "rbac.db"
    root = MilvusClient(str(db), token="root:Milvus", **FAST)
    huge = "n" * 10_000_000
    with pytest.raises(MilvusException):
        root.create_role(huge)
    with pytest.raises(AuthenticationError):
        MilvusClient(str(db), token=f"{huge}:guess")
    refused, login = root.audit()[-2:]
    assert refused["target"]["role_name"].endswith("... (cut: 10000000 bytes in all)")
    assert login["user"].endswith("... (cut: 10000000 bytes in all)")
    assert len(json.dumps([refused, login])) < 10_000
    assert root.verify_audit()["intact"]


# --- tampering ---------------------------------------------------------------------------------------------


def filled_file(tmp_path: Path) -> Path:
    db = tmp_path / "rbac.db"
    root = MilvusClient(str(db), token="root:Milvus", **FAST)
    for name in ("a", "b", "c", "d"):
        root.create_role(name)
    root.close()
    return db


def tamper(db: Path, sql: str) -> None:
    with closing(sqlite3.connect(db)) as conn:
        changed = conn.execute(sql).rowcount
        conn.commit()
    assert changed == 1, sql


def verify_by_cli(db: Path, capsys: pytest.CaptureFixture[str]) -> Tuple[int, str]:
    code = main(["--db", str(db), "audit", "--verify"])
    return code, capsys.readouterr().out


@pytest.mark.parametrize(
    "sql,problem",
    [
        ("UPDATE audit SET record = replace(record, 'role_name=b', 'role_name=x') WHERE seq = 3", "record 3 was edited"),
        ("UPDATE audit SET record = replace(record, 'root', 'alice') WHERE seq = 2", "record 2 was edited"),
        ("DELETE FROM audit WHERE seq = 3", "record 3 is missing"),
        ("DELETE FROM audit WHERE seq = 5", "records were removed"),
        ("DELETE FROM audit WHERE seq = 1", "record 1 is missing"),
        ("UPDATE audit_chain SET last = 4", "records were removed or added"),
    ],
)
def test_a_hand_edited_or_deleted_record_fails_verification(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, sql: str, problem: str
) -> None:
    db = filled_file(tmp_path)
    monkeypatch.setenv("MILVUS_RBAC_TOKEN", "root:Milvus")
    code, out = verify_by_cli(db, capsys)
    assert code == 0 and "intact: records 1 to 5" in out, out
    tamper(db, sql)
    code, out = verify_by_cli(db, capsys)
    assert code == 1 and "tampered with" in out and problem in out, out
    check = MilvusClient(str(db), token="root:Milvus").verify_audit()
    assert not check["intact"] and problem in check["problem"]


def test_a_record_rewritten_with_its_own_hash_still_breaks_the_chain(tmp_path: Path) -> None:
    """Someone who edits a record and recomputes its hash is caught by the next record's link to it."""
    db = filled_file(tmp_path)
    with closing(sqlite3.connect(db)) as conn:
        (line,) = conn.execute("SELECT record FROM audit WHERE seq = 3").fetchone()
    import hashlib

    fields = line.split("\t")
    fields[3] = "alice"  # the caller
    unhashed = "\t".join(fields[:-1])
    fields[-1] = hashlib.blake2b(unhashed.encode(), digest_size=32).hexdigest()
    assert fields[-1] != line.split("\t")[-1]
    tamper(db, "UPDATE audit SET record = '{}' WHERE seq = 3".format("\t".join(fields).replace("'", "''")))
    check = MilvusClient(str(db), token="root:Milvus").verify_audit()
    assert check["problem"] == "record 4 does not follow record 3: the chain is broken"


def etcd_call(cluster: Cluster, path: str, body: Dict[str, Any]) -> Dict[str, Any]:
    """etcd's JSON gateway (v3): keys and values in base64."""
    endpoint = cluster.endpoints.split(",")[0]
    request = urllib.request.Request(f"http://{endpoint}/v3/{path}", data=json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=10) as answer:
        return dict(json.load(answer))


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def audit_keys(cluster: Cluster, prefix: str) -> Dict[str, str]:
    start, end = f"/{prefix}/audit/", f"/{prefix}/audit0"
    found = etcd_call(cluster, "kv/range", {"key": b64(start), "range_end": b64(end)})
    return {base64.b64decode(kv["key"]).decode(): base64.b64decode(kv["value"]).decode() for kv in found.get("kvs", [])}


@pytest.mark.parametrize("change", ["edit", "delete"])
def test_tampering_in_etcd_fails_verification(etcd_cluster: Cluster, change: str) -> None:
    uri = etcd_cluster.uri()
    prefix = uri.rsplit("/", 1)[1]
    root = MilvusClient(uri, token="root:Milvus", **FAST)
    for name in ("a", "b", "c"):
        root.create_role(name)
    keys = audit_keys(etcd_cluster, prefix)
    assert len(keys) == 4 and root.verify_audit()["intact"]
    key = sorted(keys)[2]
    if change == "edit":
        etcd_call(etcd_cluster, "kv/put", {"key": b64(key), "value": b64(keys[key].replace("role_name=b", "role_name=z"))})
        expected = "record 3 was edited"
    else:
        etcd_call(etcd_cluster, "kv/deleterange", {"key": b64(key)})
        expected = "record 3 is missing"
    check = root.verify_audit()
    assert not check["intact"] and expected in check["problem"], check


# --- SIGKILL during writes -----------------------------------------------------------------------------------

WRITER = """
    from milvus_rbac import MilvusClient
    client = MilvusClient(sys.argv[1], token="root:Milvus", password_hash="fast", max_roles=None)
    n = int(sys.argv[2])
    while True:
        client.create_role(f"k{n}")
        print(n, flush=True)
        n += 1
    """


def test_sigkill_during_writes_keeps_each_change_with_its_record(shared_uri: str) -> None:
    rng = random.Random(1604)
    MilvusClient(shared_uri, token="root:Milvus", password_hash="fast", max_roles=None).close()
    acknowledged: List[int] = []
    next_role = 0
    for _ in range(6):
        writer = popen_child(WRITER, shared_uri, str(next_role), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert writer.stdout is not None
        for _ in range(rng.randint(3, 30)):
            line = writer.stdout.readline()
            if not line:
                break
            acknowledged.append(int(line))
        time.sleep(rng.uniform(0, 0.01))
        writer.send_signal(signal.SIGKILL)
        rest, err = writer.communicate(timeout=30)
        assert writer.returncode == -signal.SIGKILL, err
        acknowledged += [int(n) for n in rest.split()]
        with MilvusClient(shared_uri, token="root:Milvus") as reader:
            roles = {r for r in reader.list_roles() if r.startswith("k")}
            recorded = {r["target"]["role_name"] for r in reader.audit() if r["operation"] == "create_role"
                        and r["result"] == "ok"}
            assert reader.verify_audit()["intact"]
        # Every change has its record and every record its change; nothing acknowledged is lost.
        assert roles == recorded
        assert {f"k{n}" for n in acknowledged} <= roles
        next_role = max(int(r[1:]) for r in roles) + 1 if roles else 0
    assert len(acknowledged) >= 6


# --- the command and a server --------------------------------------------------------------------------------


def test_the_command_lists_filters_and_prints_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = str(tmp_path / "rbac.db")
    root = MilvusClient(db, token="root:Milvus", **FAST)
    root.create_user("alice", ALICE_PASSWORD)
    with pytest.raises(AuthenticationError):
        MilvusClient(db, token=f"alice:{GUESS}")
    monkeypatch.setenv("MILVUS_RBAC_TOKEN", "root:Milvus")
    assert main(["--db", db, "audit"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert listing[0].split() == ["SEQ", "TIME", "USER", "OPERATION", "TARGET", "RESULT"]
    assert "create_user" in listing[2] and "user_name=alice" in listing[2] and listing[2].rstrip().endswith("ok")
    assert "login_failed (2): auth check failure" in listing[3]
    assert main(["--db", db, "audit", "--user", "alice", "--since", "1h", "--json"]) == 0
    chosen = json.loads(capsys.readouterr().out)
    assert [(r["user"], r["operation"], r["result"]) for r in chosen] == [("alice", "login", "login_failed")]
    assert main(["--db", db, "audit", "--since", "2999-01-01T00:00:00Z", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    monkeypatch.delenv("MILVUS_RBAC_TOKEN")
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO(f"{ALICE_PASSWORD}\n"))
    # The caller goes before the command; alice lacks BackupRBAC.
    assert main(["--db", db, "--user", "alice", "--password-stdin", "audit"]) == 1
    assert "permission deny" in capsys.readouterr().err


def test_calls_through_a_server_are_recorded_in_its_registry(server_factory: ServerFactory) -> None:  # noqa: F811
    server = server_factory()
    remote = MilvusClient(server.url, token="root:Milvus")
    remote.create_user("alice", ALICE_PASSWORD)
    with pytest.raises(MilvusException, match="permission deny"):
        MilvusClient(server.url, token=f"alice:{ALICE_PASSWORD}").create_role("mine")
    with pytest.raises(MilvusException):
        MilvusClient(server.url, token=f"alice:{GUESS}").list_roles()
    with pytest.raises(MilvusException, match="not available"):
        remote.audit()  # read from the registry itself, not through Milvus's protocol
    records = MilvusClient(server.db, token="root:Milvus").audit()
    assert summary(records)[1:] == [
        ("root", "create_user", {"user_name": "alice"}, "ok"),
        ("alice", "create_role", {"role_name": "mine"}, "denied"),
        ("alice", "login", {}, "login_failed"),
    ]


def test_registries_opened_before_the_trail_start_one(tmp_path: Path) -> None:
    """A file of schema version 4 (no trail) is migrated: its trail starts empty and verifies."""
    db = tmp_path / "old.db"
    MilvusClient(str(db), token="root:Milvus", **FAST).create_role("before")
    with closing(sqlite3.connect(db)) as conn:
        conn.executescript("DROP TABLE audit; DROP TABLE audit_chain; PRAGMA user_version = 4;")
        conn.execute("DELETE FROM settings WHERE key = 'audit_retention'")
        conn.commit()
    reopened = MilvusClient(str(db), token="root:Milvus")
    assert reopened.audit() == [] and reopened.verify_audit()["intact"]
    reopened.create_role("after")
    assert summary(reopened.audit()) == [("root", "create_role", {"role_name": "after"}, "ok")]

