"""File registries: durable, shared between clients and processes, private (0600), and holding only argon2id
hashes (issue 2 points 3 and 8; design.md "Thread and process safety", "Secrets")."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from rbac_testing import PW, expect_error

from milvus_rbac import MilvusClient, MilvusException

SECRET = "Zk9!UniqueSecretPw"


def run(code: str, *args: str) -> str:
    """Run `code` in a fresh Python process; return its stdout."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def db_files(db: Path) -> list[Path]:
    return sorted(db.parent.glob(db.name + "*"))


def test_a_file_registry_survives_process_exit(tmp_path):
    db = tmp_path / "rbac.db"
    run(
        """
        import sys
        from milvus_rbac import MilvusClient
        c = MilvusClient(sys.argv[1], token="root:Milvus", password_hash="fast", profile="milvus-2.5")
        c.create_user("user_1", "abcdef")
        c.create_role("role_a")
        c.grant_role("user_1", "role_a")
        # exit without close()
        """,
        str(db),
    )
    # user_1's password survived (describe_user on oneself needs no privilege; list_users would).
    u = MilvusClient(str(db), token="user_1:abcdef")
    assert u.describe_user("user_1")["roles"] == ("role_a",)
    u.close()
    c = MilvusClient(str(db), token="root:Milvus")
    assert c.list_users() == ["root", "user_1"]
    assert c.list_roles() == ["admin", "public", "role_a"]
    # The stored profile came along: 6-byte passwords are fine in milvus-2.5.
    c.create_user("user_2", "ghijkl")


def test_a_second_process_sees_writes_at_once(tmp_path):
    db = str(tmp_path / "rbac.db")
    c = MilvusClient(db, token="root:Milvus", password_hash="fast")
    c.create_user("user_1", PW)
    c.create_role("role_a")
    listing = """
        import sys
        from milvus_rbac import MilvusClient
        c = MilvusClient(sys.argv[1], token="root:Milvus")
        print(c.list_users(), c.list_roles())
        """
    assert run(listing, db) == "['root', 'user_1'] ['admin', 'public', 'role_a']\n"
    # ... and this process sees the other one's writes, with its client still open.
    run(
        """
        import sys
        from milvus_rbac import MilvusClient
        c = MilvusClient(sys.argv[1], token="root:Milvus")
        c.create_user("user_2", "P@ssw0rd")
        c.grant_role("user_2", "role_a")
        c.drop_user("user_1")
        """,
        db,
    )
    assert c.list_users() == ["root", "user_2"]
    assert c.describe_user("user_2")["roles"] == ("role_a",)
    c.drop_role("role_a")
    assert run(listing, db) == "['root', 'user_2'] ['admin', 'public']\n"


def test_processes_interleave_on_one_file(tmp_path):
    """A long-lived child process and this one take turns; each sees the other's last write."""
    db = str(tmp_path / "rbac.db")
    c = MilvusClient(db, token="root:Milvus", password_hash="fast")
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                """
                import sys
                from milvus_rbac import MilvusClient
                c = MilvusClient(sys.argv[1], token="root:Milvus")
                for line in sys.stdin:
                    name = line.strip()
                    c.create_role(name)
                    print(",".join(c.list_users()), flush=True)
                """
            ),
            db,
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdin and child.stdout
        for i in range(3):
            c.create_user(f"u{i}", PW)
            child.stdin.write(f"r{i}\n")
            child.stdin.flush()
            line = child.stdout.readline().strip()
            assert line == ",".join(["root"] + [f"u{j}" for j in range(i + 1)])
            assert c.list_roles() == ["admin", "public"] + [f"r{j}" for j in range(i + 1)]
    finally:
        if child.stdin:
            child.stdin.close()
        child.wait(timeout=30)
    assert child.returncode == 0


def test_two_clients_in_one_process_share_a_file(tmp_path):
    db = str(tmp_path / "rbac.db")
    a = MilvusClient(db, token="root:Milvus", password_hash="fast", profile="milvus-2.6")
    b = MilvusClient(db, token="root:Milvus")
    a.create_user("user_1", "abcdef")
    assert b.list_users() == ["root", "user_1"]
    b.create_role("role_a")
    a.grant_role("user_1", "role_a")
    assert b.describe_user("user_1")["roles"] == ("role_a",)
    b.drop_user("user_1")
    assert a.describe_user("user_1") == {}
    expect_error(a.create_role, "role_a", code=65535, message='role [name:"role_a"] already exists')
    a.close()
    assert b.list_roles() == ["admin", "public", "role_a"]


def test_concurrent_writers_from_threads_and_clients(tmp_path):
    """One client shared by threads and a second client: every write lands once, none is lost."""
    db = str(tmp_path / "rbac.db")
    a = MilvusClient(db, token="root:Milvus", password_hash="fast", max_users=None)
    b = MilvusClient(db, token="root:Milvus")
    errors: list[BaseException] = []

    def work(c, prefix):
        try:
            for i in range(15):
                c.create_user(f"{prefix}{i:02d}", PW)
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=work, args=(c, p)) for c, p in ((a, "a"), (a, "b"), (b, "c"), (b, "d"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(a.list_users()) == 61
    assert a.list_users() == b.list_users() == sorted(a.list_users())


def test_concurrent_processes_respect_the_limit(tmp_path):
    """Writers in several processes never push the user count past max_users."""
    db = str(tmp_path / "rbac.db")
    MilvusClient(db, token="root:Milvus", password_hash="fast", max_users=10, profile="milvus-2.4").close()
    code = textwrap.dedent(
        """
        import sys
        from milvus_rbac import MilvusClient, MilvusException
        c = MilvusClient(sys.argv[1], token="root:Milvus")
        made = 0
        for i in range(8):
            try:
                c.create_user(f"{sys.argv[2]}{i}", "abcdef")
                made += 1
            except MilvusException as err:
                assert err.message == "unable to add user because the number of users has reached the limit", err
        print(made)
        """
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, db, p], stdout=subprocess.PIPE, text=True)
        for p in ("p", "q", "r")
    ]
    made = 0
    for p in procs:
        out, _ = p.communicate(timeout=60)
        assert p.returncode == 0
        made += int(out)
    assert made == 9
    assert len(MilvusClient(db, token="root:Milvus").list_users()) == 10


def test_the_file_has_mode_0600(tmp_path):
    db = tmp_path / "rbac.db"
    old = os.umask(0o022)
    try:
        c = MilvusClient(str(db), token="root:Milvus", password_hash="fast")
        c.create_user("user_1", PW)
        for path in db_files(db):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        c.close()
    finally:
        os.umask(old)
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


def test_sqlite_settings(tmp_path):
    """design.md: WAL, a schema version in PRAGMA user_version."""
    db = tmp_path / "rbac.db"
    c = MilvusClient(str(db), token="root:Milvus", password_hash="fast")
    c.create_user("user_1", PW)
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] >= 1


@pytest.mark.parametrize("profile", ["docs", "milvus-2.4"])
def test_only_argon2id_phc_strings_are_stored(tmp_path, profile):
    db = tmp_path / "rbac.db"
    root_secret = "R00t!Secret.pw"
    c = MilvusClient(str(db), token=f"root:{root_secret}", root_password=root_secret, password_hash="fast",
                     profile=profile)
    c.create_user("user_1", SECRET)
    c.create_user("user_2", "Second!Pw2")
    c.update_password("user_2", "Second!Pw2", "Th1rd!Pw33")
    c.update_password("root", root_secret, "R00t!Changed")
    everything = b"".join(p.read_bytes() for p in db_files(db))
    for secret in (SECRET, "Second!Pw2", "Th1rd!Pw33", root_secret, "R00t!Changed", "Milvus"):
        assert secret.encode() not in everything
    assert b"$argon2id$v=19$" in everything
    c.close()
    # Every stored value that looks like a hash is an argon2id PHC string (with its parameters).
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        hashes = []
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                for value in row:
                    text = value.decode(errors="replace") if isinstance(value, bytes) else str(value)
                    assert SECRET not in text and "Th1rd!Pw33" not in text
                    if text.startswith("$"):
                        hashes.append(text)
    assert len(hashes) == 3  # root, user_1, user_2
    for h in hashes:
        assert h.startswith("$argon2id$v=19$m=64,t=1,p=1$"), h


def test_a_directory_that_does_not_exist_is_a_milvus_exception(tmp_path):
    with pytest.raises(MilvusException):
        MilvusClient(str(tmp_path / "missing" / "rbac.db"), token="root:Milvus", password_hash="fast")


def test_a_foreign_file_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"not a database, just some text\n" * 100)
    before = path.read_bytes()
    with pytest.raises(MilvusException):
        MilvusClient(str(path), token="root:Milvus", password_hash="fast")
    assert path.read_bytes() == before


def test_a_foreign_sqlite_database_is_refused(tmp_path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (x)")
        conn.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(MilvusException):
        MilvusClient(str(path), token="root:Milvus", password_hash="fast")
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT x FROM t").fetchall() == [(1,)]


def test_a_relative_path_is_relative_to_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    MilvusClient("./rbac.db", token="root:Milvus", password_hash="fast").create_user("user_1", PW)
    assert (tmp_path / "rbac.db").exists()
    assert MilvusClient(str(tmp_path / "rbac.db"), token="root:Milvus").list_users() == ["root", "user_1"]


def test_in_memory_registries_leave_no_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    c = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
    c.create_user("user_1", PW)
    c.close()
    assert list(Path(tmp_path).iterdir()) == []


def test_a_weaker_hash_is_upgraded_on_the_next_login(tmp_path):
    """design.md "Secrets": a stored hash weaker than the configured parameters is re-hashed on the next
    successful login (here the registry's setting is switched to "strong" behind its back)."""
    db = tmp_path / "rbac.db"
    c = MilvusClient(str(db), token="root:Milvus", password_hash="fast")
    c.create_user("user_1", PW)
    c.close()
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE settings SET value = 'strong' WHERE key = 'password_hash'")

    def stored(user):
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            return conn.execute("SELECT password_hash FROM users WHERE name = ?", (user,)).fetchone()[0]

    assert stored("user_1").startswith("$argon2id$v=19$m=64,t=1,p=1$")
    with pytest.raises(MilvusException):
        MilvusClient(str(db), token="user_1:wrong")
    assert stored("user_1").startswith("$argon2id$v=19$m=64,t=1,p=1$")  # not on a failed login
    MilvusClient(str(db), token=f"user_1:{PW}").close()
    assert stored("user_1").startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert stored("root").startswith("$argon2id$v=19$m=64,t=1,p=1$")
    # The upgraded hash still verifies.
    assert MilvusClient(str(db), token=f"user_1:{PW}").describe_user("user_1")["user_name"] == "user_1"


def test_a_newer_schema_is_refused(tmp_path):
    db = tmp_path / "rbac.db"
    MilvusClient(str(db), token="root:Milvus", password_hash="fast").close()
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA user_version = 999")
    with pytest.raises(MilvusException) as info:
        MilvusClient(str(db), token="root:Milvus")
    assert "999" in info.value.message


def test_lists_follow_changes_by_other_clients_and_processes(tmp_path):
    """A client reuses the list it read while nothing changed: any change, by another client or another process,
    shows at its next call, even one that keeps the count (a drop and a create)."""
    db = str(tmp_path / "rbac.db")
    reader = MilvusClient(db, token="root:Milvus", password_hash="fast")
    writer = MilvusClient(db, token="root:Milvus", password_hash="fast")
    assert reader.list_users() == ["root"] and reader.list_roles() == ["admin", "public"]
    writer.create_user("alice", PW)
    writer.create_role("r1")
    assert reader.list_users() == ["alice", "root"]
    assert reader.list_roles() == ["admin", "public", "r1"]
    writer.drop_user("alice")
    writer.create_user("bob", PW)
    writer.drop_role("r1")
    writer.create_role("r2")
    assert reader.list_users() == ["bob", "root"]
    assert reader.list_roles() == ["admin", "public", "r2"]
    run(
        """
        import sys
        from milvus_rbac import MilvusClient
        c = MilvusClient(sys.argv[1], token="root:Milvus")
        c.drop_user("bob"); c.create_user("carol", sys.argv[2])
        c.drop_role("r2"); c.create_role("r3")
        """,
        db,
        PW,
    )
    assert reader.list_users() == ["carol", "root"]
    assert reader.list_roles() == ["admin", "public", "r3"]
    reader.create_user("dave", PW)
    assert reader.list_users() == ["carol", "dave", "root"]
    backup = reader.backup_rbac()
    fresh = MilvusClient(str(tmp_path / "other.db"), token="root:Milvus", password_hash="fast")
    assert fresh.list_users() == ["root"]
    fresh.restore_rbac(backup)
    assert fresh.list_users() == ["carol", "dave", "root"]
