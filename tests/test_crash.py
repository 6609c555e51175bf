"""Crash durability (issue 5, point 1): a writer process is killed with SIGKILL at random moments while it
performs a stream of acknowledged operations on a file registry. After each kill the file is reopened and must
hold exactly the acknowledged operations, plus at most the one that was in flight (entirely or not at all),
with `PRAGMA integrity_check` ok, and its audit trail exactly their records (issue 16: a change and its record
commit together).

The stream and its model are in crash_workload.py. Each operation is acknowledged on the writer's stdout after
the call returned, so an acknowledged operation is one a user was told had happened.

`RBAC_CRASH_KILLS` sets the number of kills (default 24).
"""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import time
from contextlib import closing
from pathlib import Path
from typing import Any, List, Tuple

import crash_workload as work
from stress_support import env_int, popen_child

from milvus_rbac import AuthenticationError, MilvusClient

WRITER = """
    sys.path.insert(0, sys.argv[3])
    import crash_workload
    crash_workload.write(sys.argv[1], int(sys.argv[2]))
    """


def read_tables(db: Path) -> Tuple[Any, ...]:
    """The registry's content as crash_workload.State.tables() shows it, read with SQLite directly, after the
    checks that hold whatever the stream did: integrity, foreign keys, counters, related privileges."""
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        users = [r[0] for r in conn.execute("SELECT name FROM users ORDER BY name")]
        roles = [r[0] for r in conn.execute("SELECT name FROM roles ORDER BY name")]
        members = conn.execute("SELECT user_name, role_name FROM user_roles ORDER BY 1, 2").fetchall()
        grants = conn.execute(
            "SELECT role_name, object_type, db_name, object_name, privilege, grantor FROM grants ORDER BY 1, 2, 3, 4, 5"
        ).fetchall()
        groups = {name: frozenset() for (name,) in conn.execute("SELECT name FROM privilege_groups")}
        for group, privilege in conn.execute("SELECT group_name, privilege FROM privilege_group_members"):
            groups[group] = groups[group] | {privilege}
        counters = dict(conn.execute("SELECT name, value FROM counters WHERE name IN ('users', 'roles')"))
    # Invariants a half-applied operation would break, checked on their own so that a failure says which.
    assert counters == {"users": len(users), "roles": len(roles)}, "a counter trigger ran without its row change"
    assert {m[0] for m in members} <= set(users) and {m[1] for m in members} <= set(roles), "dangling membership"
    held = {(g[0], g[1], g[2], g[3], g[4]) for g in grants}
    for role, object_type, db_name, obj, privilege in held:
        for related in work.RELATED.get(privilege, ()):
            assert (role, object_type, db_name, obj, related) in held, f"{privilege} without {related}"
    assert {"root"} <= set(users) and {"admin", "public"} <= set(roles)
    return (users, roles, [tuple(m) for m in members], [tuple(g) for g in grants], sorted(groups.items()))


def logs_in(db: Path, user: str, password: str) -> bool:
    try:
        MilvusClient(str(db), token=f"{user}:{password}").close()
        return True
    except AuthenticationError:
        return False


def matches(db: Path, actual: Tuple[Any, ...], expected: work.State) -> bool:
    if actual != expected.tables():
        return False
    return all(logs_in(db, user, password) for user, password in expected.users.items())


def initial_state(tmp: Path) -> work.State:
    """A new registry: root, admin, public and public's default grants."""
    db = tmp / "reference.db"
    MilvusClient(str(db), token="root:Milvus", **work.SETTINGS).close()
    _, roles, members, grants, _ = read_tables(db)
    return work.State(users={"root": work.ROOT_PW}, roles=set(roles), members=set(members), grants=set(grants))


#: The stream's operations that change the registry (the others are reads, which leave no record).
CHANGES = {work.operation(i)[0] for i in range(3 * work.STEPS)} - {"list_users", "list_roles"}


def recorded_changes(db: Path) -> List[str]:
    """The operations of the trail's successful changes, oldest first, after checking the trail is intact."""
    with MilvusClient(str(db), token="root:Milvus") as reader:
        assert reader.verify_audit()["problem"] is None
        return [r["operation"] for r in reader.audit() if r["result"] == "ok" and r["operation"] in CHANGES]


def test_acknowledged_operations_survive_sigkill(tmp_path):
    kills = env_int("RBAC_CRASH_KILLS", 24)
    rng = random.Random(env_int("RBAC_CRASH_SEED", 20260))
    db = tmp_path / "rbac.db"
    initial = initial_state(tmp_path)
    tests_dir = str(Path(__file__).parent)
    done = 0  # operations the file holds
    in_flight_landed = 0
    for kill in range(kills):
        writer = popen_child(WRITER, str(db), str(done), tests_dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert writer.stdout is not None
        acked: List[int] = []
        if rng.random() < 0.25:
            time.sleep(rng.uniform(0.0, 0.12))
        else:
            for _ in range(rng.randint(1, 2 * work.STEPS)):
                line = writer.stdout.readline()
                if not line:
                    break
                acked.append(int(line))
            time.sleep(rng.uniform(0.0, 0.004))
        writer.send_signal(signal.SIGKILL)
        # Through the same reader as readline(): communicate() reads the pipe beneath it, and would lose the
        # lines readline() had already buffered.
        rest, err = writer.stdout.read(), writer.stderr.read()  # type: ignore[union-attr]
        writer.wait(timeout=30)
        assert writer.returncode == -signal.SIGKILL, f"the writer did not die of the kill: {err}"
        acked += [int(line) for line in rest.split()]
        assert acked == list(range(done, done + len(acked))), "acknowledgements out of order"
        acknowledged = done + len(acked)

        # Reopening works (recovering the WAL), and the file holds every acknowledged operation, plus the one
        # in flight either entirely or not at all.
        MilvusClient(str(db), token="root:Milvus", **work.SETTINGS).close()
        actual = read_tables(db)
        without = work.state_after(acknowledged, initial)
        with_next = work.state_after(acknowledged + 1, initial)
        if matches(db, actual, without):
            done = acknowledged
        elif matches(db, actual, with_next):
            done = acknowledged + 1
            in_flight_landed += 1
        else:
            raise AssertionError(
                f"kill {kill}: after {acknowledged} acknowledged operations (next: {work.operation(acknowledged)[:2]}) "
                f"the registry holds neither state:\nactual   {actual}\nexpected {without.tables()}\n"
                f"or       {with_next.tables()}"
            )
        # The audit trail holds one record per change the file holds, in order: the in-flight change and its record
        # landed together or not at all.
        assert recorded_changes(db) == [work.operation(i)[0] for i in range(done) if work.operation(i)[0] in CHANGES]
    # The stream went somewhere: through several blocks, including their drops.
    assert done >= 3 * work.STEPS, done
    # Last, a clean run to the end of the next block finishes normally on the same file.
    final = popen_child(WRITER.replace("int(sys.argv[2]))", "int(sys.argv[2]), int(sys.argv[4]))"), str(db), str(done),
                        tests_dir, str(done + work.STEPS), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = final.communicate(timeout=60)
    assert final.returncode == 0, err
    assert matches(db, read_tables(db), work.state_after(done + work.STEPS, initial))
