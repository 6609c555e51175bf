"""Registry files under stress (issue 5, point 5): a damaged or foreign file is refused with a clear
`MilvusException` and never written to; a file this process cannot write opens read-only; a file from a newer
schema is refused naming both versions; an older schema is migrated on open, keeping what it holds."""

from __future__ import annotations

from contextlib import closing
import hashlib
import random
import sqlite3
import subprocess
from pathlib import Path
import pytest
from stress_support import popen_child, run_child

from milvus_rbac import MilvusClient, MilvusException

PW = "P@ssw0rd"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_registry(db: Path, users: int = 3) -> None:
    """A registry with a few users, roles and grants, closed cleanly (its WAL checkpointed into the file)."""
    c = MilvusClient(str(db), token="root:Milvus", password_hash="fast", profile="milvus-2.5")
    for i in range(users):
        c.create_user(f"user_{i}", PW, description="x" * 200)
    c.create_role("role_a")
    c.grant_role("user_0", "role_a")
    c.grant_privilege("role_a", "Collection", "Load", "books")
    c.close()


def schema_version(db: Path) -> int:
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn, conn:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])


@pytest.fixture(scope="module")
def current_version(tmp_path_factory: pytest.TempPathFactory) -> int:
    db = tmp_path_factory.mktemp("version") / "rbac.db"
    MilvusClient(str(db), token="root:Milvus", password_hash="fast").close()
    return schema_version(db)


def refused(db: Path) -> MilvusException:
    """Opening `db` raises a MilvusException naming the file, and leaves its bytes alone."""
    before = digest(db)
    with pytest.raises(MilvusException) as info:
        MilvusClient(str(db), token="root:Milvus", password_hash="fast")
    err = info.value
    assert type(err) is MilvusException
    assert str(db) in err.message, err.message
    assert "left untouched" in err.message, err.message
    assert digest(db) == before, "a refused file was written to"
    # Asking again changes nothing either (no repair, no re-initialisation).
    with pytest.raises(MilvusException):
        MilvusClient(str(db), token="root:Milvus")
    assert digest(db) == before
    return err


# Damaged files


@pytest.mark.parametrize("size", [1, 100, 4096, 50_000])
def test_random_bytes_are_refused_and_left_alone(tmp_path, size):
    db = tmp_path / "rbac.db"
    db.write_bytes(random.Random(size).randbytes(size))
    err = refused(db)
    assert "not a readable milvus-rbac registry" in err.message


def test_random_bytes_behind_a_sqlite_header_are_refused(tmp_path):
    db = tmp_path / "rbac.db"
    db.write_bytes(b"SQLite format 3\x00" + random.Random(1).randbytes(8192))
    refused(db)


@pytest.mark.parametrize("cut", ["one page less", "90%", "half", 200, 50])
def test_a_truncated_registry_is_refused_and_left_alone(tmp_path, cut):
    db = tmp_path / "rbac.db"
    make_registry(db, users=40)
    data = db.read_bytes()
    assert len(data) >= 5 * 4096
    keep = {"one page less": len(data) - 4096, "90%": len(data) * 9 // 10, "half": len(data) // 2}.get(cut, cut)
    db.write_bytes(data[: int(keep)])
    err = refused(db)
    assert "damaged" in err.message or "not a readable" in err.message, err.message


def test_a_registry_with_an_overwritten_page_is_refused(tmp_path):
    db = tmp_path / "rbac.db"
    make_registry(db, users=40)
    data = bytearray(db.read_bytes())
    data[3 * 4096 : 4 * 4096] = random.Random(7).randbytes(4096)
    db.write_bytes(bytes(data))
    err = refused(db)
    assert "is damaged (SQLite reports:" in err.message, err.message


# Foreign SQLite files


@pytest.mark.parametrize("version", [0, 1, 2, -1])
def test_a_sqlite_file_of_another_schema_is_refused(tmp_path, version):
    """Whatever its `user_version`, a database without the registry's tables is not migrated into one."""
    db = tmp_path / "other.db"
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
        conn.execute("INSERT INTO notes (text) VALUES ('keep me')")
        conn.execute(f"PRAGMA user_version = {version}")
    err = refused(db)
    assert "is a SQLite database but not a milvus-rbac registry" in err.message
    with closing(sqlite3.connect(db)) as conn, conn:
        assert conn.execute("SELECT text FROM notes").fetchall() == [("keep me",)]
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == ["notes"]


def test_a_look_alike_missing_a_table_is_refused(tmp_path, current_version):
    db = tmp_path / "rbac.db"
    make_registry(db)
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute("DROP TABLE privilege_group_members")
    err = refused(db)
    assert "no table `privilege_group_members`" in err.message


# Schema versions


@pytest.mark.parametrize("ahead", [1, 997])
def test_a_newer_schema_is_refused_naming_both_versions(tmp_path, current_version, ahead):
    db = tmp_path / "rbac.db"
    make_registry(db)
    newer = current_version + ahead
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute(f"PRAGMA user_version = {newer}")
    before = digest(db)
    with pytest.raises(MilvusException) as info:
        MilvusClient(str(db), token="root:Milvus")
    message = info.value.message
    assert f"schema version {newer}" in message, message
    assert f"version {current_version} this milvus-rbac understands" in message, message
    assert "upgrade milvus-rbac" in message
    assert digest(db) == before
    assert schema_version(db) == newer


# The first schema, as src/store/schema.rs migration 1 creates it.
V1_DDL = """
CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE super_users (name TEXT PRIMARY KEY) STRICT;
CREATE TABLE users (
    name TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE TABLE roles (name TEXT PRIMARY KEY, description TEXT NOT NULL DEFAULT '') STRICT;
CREATE TABLE user_roles (
    user_name TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    role_name TEXT NOT NULL REFERENCES roles(name) ON DELETE CASCADE,
    PRIMARY KEY (user_name, role_name)
) STRICT, WITHOUT ROWID;
CREATE INDEX user_roles_by_role ON user_roles(role_name, user_name);
CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) STRICT;
INSERT INTO counters VALUES ('users', 0), ('roles', 0);
CREATE TRIGGER users_counted_in AFTER INSERT ON users
    BEGIN UPDATE counters SET value = value + 1 WHERE name = 'users'; END;
CREATE TRIGGER users_counted_out AFTER DELETE ON users
    BEGIN UPDATE counters SET value = value - 1 WHERE name = 'users'; END;
CREATE TRIGGER roles_counted_in AFTER INSERT ON roles
    BEGIN UPDATE counters SET value = value + 1 WHERE name = 'roles'; END;
CREATE TRIGGER roles_counted_out AFTER DELETE ON roles
    BEGIN UPDATE counters SET value = value - 1 WHERE name = 'roles'; END;
"""


def fast_hash_of(password: str, tmp: Path) -> str:
    """An argon2id PHC string for `password`, made by milvus-rbac itself (as root's hash of a new registry)."""
    db = tmp / f"hash-{abs(hash(password))}.db"
    MilvusClient(str(db), token=f"root:{password}", root_password=password, password_hash="fast").close()
    with closing(sqlite3.connect(db)) as conn, conn:
        return str(conn.execute("SELECT password_hash FROM users WHERE name = 'root'").fetchone()[0])


def make_v1_registry(db: Path, tmp: Path) -> None:
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.executescript(V1_DDL)
        conn.executemany(
            "INSERT INTO settings VALUES (?, ?)",
            [
                ("profile", "milvus-2.5"),
                ("max_users", "100"),
                ("max_roles", "10"),
                ("authorization_enabled", "true"),
                ("password_hash", "fast"),
            ],
        )
        conn.execute("INSERT INTO super_users VALUES ('root')")
        conn.executemany(
            "INSERT INTO users (name, password_hash) VALUES (?, ?)",
            [("root", fast_hash_of("Milvus", tmp)), ("user_1", fast_hash_of("abcdef", tmp)), ("user_2", fast_hash_of("ghijkl", tmp))],
        )
        conn.executemany("INSERT INTO roles (name) VALUES (?)", [("admin",), ("public",), ("role_a",)])
        conn.executemany("INSERT INTO user_roles VALUES (?, ?)", [("user_1", "role_a"), ("user_2", "admin")])
        conn.execute("PRAGMA user_version = 1")


def test_a_version_1_registry_is_migrated_keeping_its_users_and_roles(tmp_path, current_version):
    db = tmp_path / "rbac.db"
    make_v1_registry(db, tmp_path)
    assert schema_version(db) == 1
    c = MilvusClient(str(db), token="root:Milvus")
    assert schema_version(db) == current_version
    assert c.list_users() == ["root", "user_1", "user_2"]
    assert c.list_roles() == ["admin", "public", "role_a"]
    assert c.describe_user("user_1")["roles"] == ("role_a",)
    assert c.describe_user("user_2")["roles"] == ("admin",)
    # The stored settings came along; the passwords still verify; what version 2 added works.
    MilvusClient(str(db), token="user_1:abcdef").close()
    admin = MilvusClient(str(db), token="user_2:ghijkl")
    admin.grant_privilege("role_a", "Collection", "Load", "books")
    admin.create_privilege_group("readers")
    admin.add_privileges_to_group("readers", ["Query", "Search"])
    assert {p["privilege"] for p in c.describe_role("role_a")["privileges"]} == {
        "Load",
        "GetLoadState",
        "GetLoadingProgress",
    }
    # The settings read from the old file are the stored ones: naming them again is no mismatch.
    MilvusClient(str(db), token="root:Milvus", max_roles=10, profile="milvus-2.5", password_hash="fast").close()
    for client in (c, admin):
        client.close()
    with closing(sqlite3.connect(db)) as conn, conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        counters = dict(conn.execute("SELECT name, value FROM counters WHERE name IN ('users', 'roles')"))
        assert counters == {"users": 3, "roles": 3}


def test_two_processes_migrating_at_once_migrate_once(tmp_path, current_version):
    """Several processes open an old file together: one migrates, the others wait and find it done."""
    db = tmp_path / "rbac.db"
    make_v1_registry(db, tmp_path)
    code = """
        from milvus_rbac import MilvusClient
        c = MilvusClient(sys.argv[1], token="root:Milvus")
        print(",".join(c.list_users()))
        """
    procs = [popen_child(code, str(db), stdout=subprocess.PIPE) for _ in range(4)]
    outputs = [p.communicate(timeout=60)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0]
    assert outputs == ["root,user_1,user_2\n"] * 4
    assert schema_version(db) == current_version


# Read-only files

READ_ONLY_SESSION = """
    import json, sys
    from milvus_rbac import MilvusClient, MilvusException
    db = sys.argv[1]
    try:
        open(db, "r+b")
    except PermissionError:
        pass
    else:
        raise SystemExit("the test is void: this process can write " + db)
    c = MilvusClient(db, token="user_1:abcdef")   # logging in needs no write
    out = {
        "users": c.list_users(),
        "roles": c.list_roles(),
        "user_0": list(c.describe_user("user_0")["roles"]),
        "grants": sorted(p["privilege"] for p in c.describe_role("role_a")["privileges"]),
        "backup": bool(c.backup_rbac()),
        "errors": {},
    }
    writes = {
        "create_user": lambda: c.create_user("user_9", "abcdef"),
        "drop_user": lambda: c.drop_user("user_2"),
        "update_password": lambda: c.update_password("user_1", "abcdef", "ghijkl"),
        "create_role": lambda: c.create_role("role_b"),
        "drop_role": lambda: c.drop_role("role_a", force_drop=True),
        "grant_role": lambda: c.grant_role("user_2", "role_a"),
        "revoke_role": lambda: c.revoke_role("user_0", "role_a"),
        "grant_privilege": lambda: c.grant_privilege("role_a", "Global", "CreateOwnership", "*"),
        "revoke_privilege_v2": lambda: c.revoke_privilege_v2("role_a", "Load", "books", "default"),
        "create_privilege_group": lambda: c.create_privilege_group("g1"),
    }
    for name, write in writes.items():
        try:
            write()
            out["errors"][name] = None
        except MilvusException as err:
            out["errors"][name] = [type(err).__name__, err.code, err.message]
    print(json.dumps(out))
    """


def make_read_only_fixture(db: Path) -> None:
    c = MilvusClient(str(db), token="root:Milvus", password_hash="fast", profile="milvus-2.5")
    c.create_user("user_0", PW)
    c.create_user("user_1", "abcdef")
    c.create_user("user_2", "abcdef")
    c.create_role("role_a")
    c.grant_role("user_0", "role_a")
    c.grant_role("user_1", "admin")
    c.grant_privilege("role_a", "Collection", "Load", "books")
    c.close()


def check_read_only_session(db: Path) -> None:
    import json

    before = digest(db)
    out = json.loads(run_child(READ_ONLY_SESSION, str(db), unprivileged=True))
    assert out["users"] == ["root", "user_0", "user_1", "user_2"]
    assert out["roles"] == ["admin", "public", "role_a"]
    assert out["user_0"] == ["role_a"]
    assert out["grants"] == ["GetLoadState", "GetLoadingProgress", "Load"]
    assert out["backup"]
    expected = f"registry {db} is read-only: this process cannot write the file, so it can be read but not changed"
    for name, error in out["errors"].items():
        assert error == ["MilvusException", 65535, expected], name
    assert digest(db) == before


@pytest.fixture
def restore_modes(tmp_path):
    yield
    for path in [tmp_path, *tmp_path.iterdir()]:
        path.chmod(0o700 if path.is_dir() else 0o600)


def test_a_read_only_file_allows_reads_and_refuses_writes(tmp_path, restore_modes):
    db = tmp_path / "rbac.db"
    make_read_only_fixture(db)
    db.chmod(0o400)
    check_read_only_session(db)
    # Once writable again, it is an ordinary registry.
    db.chmod(0o600)
    for leftover in tmp_path.glob("rbac.db-*"):
        leftover.chmod(0o600)
    c = MilvusClient(str(db), token="root:Milvus")
    c.create_user("user_9", PW)
    assert "user_9" in c.list_users()


def test_a_read_only_file_in_a_read_only_directory(tmp_path, restore_modes):
    """No -wal or -shm can be created beside it: it is read as an immutable database."""
    db = tmp_path / "rbac.db"
    make_read_only_fixture(db)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rbac.db"]
    db.chmod(0o400)
    tmp_path.chmod(0o500)
    check_read_only_session(db)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rbac.db"]


def test_an_old_read_only_registry_is_refused_naming_both_versions(tmp_path, restore_modes, current_version):
    db = tmp_path / "rbac.db"
    make_v1_registry(db, tmp_path)
    db.chmod(0o400)
    out = run_child(
        """
        import sys
        from milvus_rbac import MilvusClient, MilvusException
        try:
            MilvusClient(sys.argv[1], token="root:Milvus")
        except MilvusException as err:
            print(err.message)
        """,
        str(db),
        unprivileged=True,
    )
    assert f"has schema version 1 and needs migrating to version {current_version}" in out, out
    assert "cannot write the file" in out
    assert schema_version(db) == 1


def test_a_file_that_cannot_be_read_is_a_clear_error(tmp_path, restore_modes):
    db = tmp_path / "rbac.db"
    make_registry(db)
    db.chmod(0o000)
    out = run_child(
        """
        import sys
        from milvus_rbac import MilvusClient, MilvusException
        try:
            MilvusClient(sys.argv[1], token="root:Milvus")
        except MilvusException as err:
            print(type(err).__name__, err.message)
        """,
        str(db),
        unprivileged=True,
    )
    assert out.startswith("MilvusException registry"), out
    assert "Permission denied" in out


def test_the_file_is_not_created_in_a_directory_that_cannot_be_written(tmp_path, restore_modes):
    tmp_path.chmod(0o500)
    out = run_child(
        """
        import sys
        from milvus_rbac import MilvusClient, MilvusException
        try:
            MilvusClient(sys.argv[1], token="root:Milvus")
        except MilvusException as err:
            print(type(err).__name__, err.message)
        """,
        str(tmp_path / "rbac.db"),
        unprivileged=True,
    )
    assert out.startswith("MilvusException registry"), out
    assert list(tmp_path.iterdir()) == []
