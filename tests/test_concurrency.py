"""Concurrency (issue 5, point 2): processes and threads share one registry file. Every acknowledged operation
is in the final state and nothing else is; no error, and in particular no "database is locked", reaches a caller.

The workers are in concurrency_workload.py. `RBAC_CONCURRENCY_SECONDS` sets how long they run (default 3).
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
from contextlib import closing
from pathlib import Path
from typing import Any, Dict, List

import concurrency_workload as work
import pytest
from stress_support import env_int, popen_child

from milvus_rbac import MilvusClient

SECONDS = env_int("RBAC_CONCURRENCY_SECONDS", 3)

WORKER = """
    sys.path.insert(0, sys.argv[5])
    import concurrency_workload
    concurrency_workload.main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]))
    """

PUBLIC_DEFAULTS = {"IndexDetail", "DescribeCollection", "ListAliases"}


def check_final_state(db: Path, models: List[Dict[str, Any]]) -> None:
    errors = [e for m in models for e in m["errors"]]
    locked = [e for e in errors if "locked" in e or "busy" in e.lower()]
    assert not locked, f"SQLite's lock errors reached callers: {locked[:5]}"
    assert not errors, f"operations failed: {errors[:5]}"
    done = sum(m["acknowledged"] for m in models)
    print(f"{done} acknowledged operations from {len(models)} threads")
    assert done > 50, "the workers hardly ran"
    users = {"root"}
    roles = {"admin", "public", work.SHARED_ROLE}
    members, grants = set(), set()
    passwords: Dict[str, str] = {}
    for m in models:
        users |= set(m["users"])
        passwords.update(m["users"])
        roles |= set(m["roles"])
        members |= {tuple(x) for x in m["members"]}
        grants |= {tuple(x) for x in m["grants"]}
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert {r[0] for r in conn.execute("SELECT name FROM users")} == users
        assert {r[0] for r in conn.execute("SELECT name FROM roles")} == roles
        assert set(conn.execute("SELECT user_name, role_name FROM user_roles")) == members
        stored = set(conn.execute("SELECT role_name, object_type, db_name, object_name, privilege FROM grants"))
        assert {g for g in stored if not (g[0] == "public" and g[4] in PUBLIC_DEFAULTS)} == grants
        assert dict(conn.execute("SELECT name, value FROM counters WHERE name IN ('users', 'roles')")) == {"users": len(users), "roles": len(roles)}
    # The last password each thread set is the one that works (a sample: logins cost a hash each).
    for user in sorted(passwords)[:: max(1, len(passwords) // 12)]:
        MilvusClient(str(db), token=f"{user}:{passwords[user]}").close()


def test_processes_and_threads_share_one_file(tmp_path):
    """4 processes x 4 threads, all starting at once on a file that does not exist yet (so they also race to
    create and set it up)."""
    db = tmp_path / "rbac.db"
    tests_dir = str(Path(__file__).parent)
    deadline = time.time() + 0.5 + SECONDS
    procs = [
        popen_child(WORKER, str(db), str(p), "4", str(deadline), tests_dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for p in range(4)
    ]
    models: List[Dict[str, Any]] = []
    for p in procs:
        out, err = p.communicate(timeout=SECONDS + 120)
        assert p.returncode == 0, err
        models += json.loads(out)
    check_final_state(db, models)


@pytest.mark.parametrize("clients", [1, 2])
def test_threads_in_one_process(tmp_path, clients):
    """One client shared by 4 threads; two clients of one file in one process, 2 threads each."""
    db = tmp_path / "rbac.db"
    opened = [MilvusClient(str(db), token="root:Milvus", **work.SETTINGS) for _ in range(clients)]
    work.ensure_shared_role(opened[0])
    models = work.run(opened, process=0, threads=4, deadline=time.time() + max(1, SECONDS // 2))
    for c in opened:
        c.close()
    check_final_state(db, models)


def test_many_clients_open_a_new_file_at_once(tmp_path):
    """Twelve processes create the same registry at the same moment: one sets it up, all can use it."""
    db = tmp_path / "rbac.db"
    code = """
        import time
        from milvus_rbac import MilvusClient
        time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
        c = MilvusClient(sys.argv[1], token="root:Milvus", profile="milvus-2.5", password_hash="fast", max_roles=None)
        c.create_role("r_" + sys.argv[3])
        print(len(c.list_users()))
        """
    start = time.time() + 0.4
    procs = [popen_child(code, str(db), str(start), str(i), stdout=subprocess.PIPE, stderr=subprocess.PIPE) for i in range(12)]
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
        assert out == "1\n"
    roles = MilvusClient(str(db), token="root:Milvus").list_roles()
    assert roles == sorted(["admin", "public"] + [f"r_{i}" for i in range(12)])
