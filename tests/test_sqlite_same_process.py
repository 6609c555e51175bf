"""Python's `sqlite3` and milvus_rbac on one registry file in one process (issue 14).

The package carries its own SQLite, so such a process holds two copies of SQLite. SQLite's POSIX locks belong
to the process, and closing any descriptor of a file drops all of them: each copy's closes used to drop the
other copy's locks, and a reader in one copy read pages the other copy's checkpoint was rewriting ("database
disk image is malformed"), corrupted the file, or lost writes the process had acknowledged. milvus_rbac's copy
now locks with open file description locks and never closes a descriptor of a locked file
(src/store/sqlite/fd_locks.rs); these tests fail without that.

A child process runs Python `sqlite3` readers beside a milvus_rbac writer, and is killed at the end; another
process writes through milvus_rbac meanwhile. `RBAC_SAME_PROCESS_SECONDS` sets how long (default 20).
"""

from __future__ import annotations

import json
import signal
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import List, Set

from stress_support import env_int, popen_child, run_child

from milvus_rbac import MilvusClient

SECONDS = env_int("RBAC_SAME_PROCESS_SECONDS", 20)

# Grants, not roles or users: Milvus's limits (10 roles, 100 users) would stop the writers within a second.
WRITE_LOOP = """
    import time
    from milvus_rbac import MilvusClient
    path, role, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    client = MilvusClient(path, token="root:Milvus")
    deadline = time.monotonic() + seconds
    {start_readers}
    n = 0
    while time.monotonic() < deadline:
        client.grant_privilege(role, "Collection", "Search", f"c{{n}}")
        print(f"ack c{{n}}", flush=True)
        n += 1
    {finish}
    """

WRITER = WRITE_LOOP.format(start_readers="", finish="")

# Readers in both of Python's ways (read-only URI, and a plain connection that could write) beside the
# milvus_rbac writer; SIGKILL at the end, so that nothing is flushed or closed on the way out.
READERS = """
import json, os, signal, sqlite3, threading
errors, reads = [], [0]

def read(uri):
    while time.monotonic() < deadline:
        try:
            if uri:
                conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
            else:
                conn = sqlite3.connect(path, timeout=30)
            try:
                conn.execute("SELECT count(*) FROM grants").fetchone()
                conn.execute("SELECT * FROM grants ORDER BY object_name DESC").fetchall()
                conn.execute("SELECT * FROM users").fetchall()
                reads[0] += 1
            finally:
                conn.close()
        except sqlite3.Error as err:
            errors.append(f"{type(err).__name__}: {err}")

readers = [threading.Thread(target=read, args=(uri,)) for uri in (True, False)]
for reader in readers:
    reader.start()
"""
FINISH = """
for reader in readers:
    reader.join()
print("summary " + json.dumps({"errors": errors, "reads": reads[0]}), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""
SAME_PROCESS = WRITE_LOOP.format(
    start_readers=READERS.replace("\n", "\n    ").strip(), finish=FINISH.replace("\n", "\n    ").strip()
)


def acknowledged(output: str) -> Set[str]:
    return {line.split()[1] for line in output.splitlines() if line.startswith("ack ")}


def test_python_sqlite3_beside_milvus_rbac_in_one_process(tmp_path: Path) -> None:
    db = tmp_path / "rbac.db"
    client = MilvusClient(str(db), token="root:Milvus")
    client.create_role("same")
    client.create_role("other")
    client.close()

    same = popen_child(SAME_PROCESS, str(db), "same", str(SECONDS), stdout=-1, stderr=-1)
    other = popen_child(WRITER, str(db), "other", str(SECONDS), stdout=-1, stderr=-1)
    same_out, same_err = same.communicate(timeout=SECONDS + 120)
    other_out, other_err = other.communicate(timeout=SECONDS + 120)

    assert same.returncode == -signal.SIGKILL, same_err
    assert other.returncode == 0, other_err
    summary = json.loads(next(line for line in same_out.splitlines() if line.startswith("summary "))[8:])
    assert summary["errors"] == [], f"{len(summary['errors'])} failed reads, first: {summary['errors'][:3]}"
    assert summary["reads"] > 100, summary
    print(f"{summary['reads']} reads by Python's sqlite3 beside {len(acknowledged(same_out))} writes")

    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    # Read back through milvus_rbac in a fresh process: what another process sees.
    held = json.loads(
        run_child(
            """
            import json
            from milvus_rbac import MilvusClient
            client = MilvusClient(sys.argv[1], token="root:Milvus")
            print(json.dumps({role: [g["object_name"] for g in client.describe_role(role)["privileges"]]
                              for role in ("same", "other")}))
            """,
            str(db),
        )
    )
    for role, output in (("same", same_out), ("other", other_out)):
        acks = acknowledged(output)
        lost: List[str] = sorted(acks - set(held[role]))
        assert acks and not lost, f"{role}: {len(lost)} acknowledged grants lost, e.g. {lost[:5]}"


def test_a_milvus_rbac_close_keeps_python_sqlite3_snapshot(tmp_path: Path) -> None:
    """Opening and closing a client used to drop the locks of a Python `sqlite3` transaction: a checkpoint then
    overwrote the pages of its snapshot, and its next read within the same transaction failed as malformed."""
    db = str(tmp_path / "rbac.db")
    client = MilvusClient(db, token="root:Milvus")
    client.create_role("reader")
    for n in range(2000):
        client.grant_privilege("reader", "Collection", "Search", f"c{n}")
    with closing(sqlite3.connect(db, isolation_level=None)) as conn:
        # A cache smaller than the table, so that the second read goes to the file again.
        conn.execute("PRAGMA cache_size = 1")
        conn.execute("BEGIN")
        snapshot = conn.execute("SELECT count(*), group_concat(object_name) FROM grants").fetchone()
        MilvusClient(db, token="root:Milvus").close()
        # Enough to checkpoint the WAL and start writing it from its beginning again.
        for n in range(2000, 6000):
            client.grant_privilege("reader", "Collection", "Search", f"c{n}")
        assert conn.execute("SELECT count(*), group_concat(object_name) FROM grants").fetchone() == snapshot
        conn.execute("COMMIT")
    assert len(client.describe_role("reader")["privileges"]) == 6000


# `struct flock` on Linux's 64-bit ABIs: l_type, l_whence, l_start, l_len, l_pid.
FLOCK = "hhqqi4x"
# SQLite's "dead man switch" byte in the `-shm` file: every connection holds a read lock on it while it is open;
# a connection that finds nobody holding it takes itself for the first and rebuilds the shared memory.
SHM_DMS_BYTE = 128

HOLDER_OF_DMS = f"""
    import fcntl, os, struct
    if not os.path.exists(sys.argv[1]):  # removed by the last connection's close
        print("free")
        sys.exit()
    with open(sys.argv[1], "rb") as shm:
        probe = struct.pack("{FLOCK}", fcntl.F_WRLCK, 0, {SHM_DMS_BYTE}, 1, 0)
        held = struct.unpack("{FLOCK}", fcntl.fcntl(shm.fileno(), fcntl.F_GETLK, probe))[0]
    print("held" if held != fcntl.F_UNLCK else "free")
    """


def test_a_python_sqlite3_close_keeps_milvus_rbac_locks(tmp_path: Path) -> None:
    """Closing a Python `sqlite3` connection used to drop milvus_rbac's lock on the shared memory: the next
    process to open the registry then took itself for the only one and rebuilt the WAL index under it."""
    db = str(tmp_path / "rbac.db")
    client = MilvusClient(db, token="root:Milvus")
    client.create_role("reader")
    assert run_child(HOLDER_OF_DMS, db + "-shm").strip() == "held"
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("SELECT count(*) FROM roles").fetchone() == (3,)
    assert run_child(HOLDER_OF_DMS, db + "-shm").strip() == "held"
    client.close()
    assert run_child(HOLDER_OF_DMS, db + "-shm").strip() == "free"


def test_closed_clients_leave_no_descriptors_behind(tmp_path: Path) -> None:
    """Descriptors of a registry file are kept only while a client has it open or another SQLite holds a lock
    on it (closing one would drop that SQLite's locks): a process that opens many registries in turn, as a
    test suite does, does not run out of descriptors."""

    def descriptors() -> int:
        return len(list(Path("/proc/self/fd").iterdir()))

    MilvusClient(str(tmp_path / "warm.db"), token="root:Milvus").close()
    first = descriptors()
    for n in range(300):
        for _ in range(2):
            with MilvusClient(str(tmp_path / f"r{n}.db"), token="root:Milvus") as client:
                client.list_roles()
    assert descriptors() <= first + 2

    db = str(tmp_path / "held.db")
    MilvusClient(db, token="root:Milvus").close()
    with closing(sqlite3.connect(db, isolation_level=None)) as conn:
        conn.execute("BEGIN")
        conn.execute("SELECT count(*) FROM roles").fetchone()
        MilvusClient(db, token="root:Milvus").close()
        held = descriptors()
        for _ in range(50):
            MilvusClient(db, token="root:Milvus").close()
        assert descriptors() == held, "kept descriptors are handed back, not opened anew"
        conn.execute("COMMIT")
    MilvusClient(str(tmp_path / "next.db"), token="root:Milvus").close()
    assert descriptors() <= first + 2, "closed at a later open once Python's sqlite3 let go"
