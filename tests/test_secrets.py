"""Secrets (issue 5, point 6): a password exists only as an argon2id PHC string. It is never in the database
or its WAL, an exception, a repr or a log line, in any encoding; the files are private (0600); unknown users
cost what wrong passwords cost; oversize and wrong-type input is refused before any hashing.

The exact proof that unknown users and wrong passwords each run one argon2 verification, and that oversize
input runs none, is counted in Rust (src/password.rs, tests `unknown_users_and_wrong_passwords_cost_one_...`,
`oversize_input_is_refused_without_hashing`): timing is only a coarse check here, on the calling thread's CPU
time, with generous bounds.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import sqlite3
import stat
import time
import traceback
from contextlib import closing
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import pytest

from milvus_rbac import AuthenticationError, MilvusClient, MilvusException, ParamError

ROOT_SECRET = "Zx7!rootSecret#01"
USER_SECRET = "Qm4$userSecret#02"
NEW_SECRET = "Wn8%newSecret#03!"
WRONG_GUESS = "Tk2&wrongGuess#04"
OTHER_SECRET = "Pv5*otherSecret#5"
SECRETS = {"root": ROOT_SECRET, "user_1": USER_SECRET, "user_2": OTHER_SECRET}
ALL_SECRETS = [ROOT_SECRET, USER_SECRET, NEW_SECRET, WRONG_GUESS, OTHER_SECRET]


def b64_cores(raw: bytes) -> List[bytes]:
    """What any base64 text containing `raw` must contain, whatever its alignment: the encoding of the whole
    3-byte groups of `raw` at each of the three offsets (standard and URL-safe alphabets)."""
    cores = []
    for start in range(3):
        whole = raw[start:]
        whole = whole[: len(whole) // 3 * 3]
        if len(whole) >= 9:
            cores += [base64.b64encode(whole), base64.urlsafe_b64encode(whole)]
    return cores


def forms(secret: str) -> Dict[str, bytes]:
    """Every form a password might leak in: itself, UTF-16, hex, base64 (as gRPC sends it), and the digests
    Milvus keeps in its proxy cache (SHA-256 of password + user name)."""
    raw = secret.encode()
    found = {
        "utf-8": raw,
        "utf-16-le": secret.encode("utf-16-le"),
        "hex": raw.hex().encode(),
        "HEX": raw.hex().upper().encode(),
        "sha256": hashlib.sha256(raw).hexdigest().encode(),
    }
    for user in SECRETS:
        found[f"sha256+{user}"] = hashlib.sha256(raw + user.encode()).hexdigest().encode()
    for i, core in enumerate(b64_cores(raw)):
        found[f"base64#{i}"] = core
    return found


def assert_no_secret(data: bytes | str, where: str) -> None:
    blob = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    for secret in ALL_SECRETS:
        for form, needle in forms(secret).items():
            assert needle not in blob, f"{secret!r} ({form}) found in {where}"


def db_files(db: Path) -> Dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(db.parent.glob(db.name + "*"))}


def workload(db: Path) -> MilvusClient:
    """Every way a password enters: root's at creation, create_user, update_password (by the user, and by
    root), logins, restore_rbac, and failed attempts of each."""
    root = MilvusClient(str(db), token=f"root:{ROOT_SECRET}", root_password=ROOT_SECRET, password_hash="fast",
                        profile="milvus-2.5", super_users=["root"])
    root.create_user("user_1", USER_SECRET)
    root.create_user("user_2", WRONG_GUESS)
    user = MilvusClient(str(db), token=f"user_1:{USER_SECRET}")
    user.update_password("user_1", USER_SECRET, NEW_SECRET, reset_connection=True)
    user.update_password("user_1", NEW_SECRET, USER_SECRET, reset_connection=True)
    root.update_password("user_2", "", OTHER_SECRET)  # a super user needs no old password
    backup = root.backup_rbac()
    root.drop_user("user_1")
    root.drop_user("user_2")
    root.restore_rbac(backup)
    user = MilvusClient(str(db), token=f"user_1:{USER_SECRET}")
    for attempt in (lambda: MilvusClient(str(db), token=f"user_1:{WRONG_GUESS}"),
                    lambda: user.update_password("user_1", WRONG_GUESS, NEW_SECRET),
                    lambda: MilvusClient(str(db), user="nobody", password=USER_SECRET)):
        with pytest.raises(MilvusException):
            attempt()
    user.close()
    return root


def test_no_password_in_the_database_or_its_wal(tmp_path):
    db = tmp_path / "rbac.db"
    client = workload(db)
    # Read everything while the client is open: the last writes are still in the WAL, not yet checkpointed.
    files = db_files(db)
    assert set(files) == {"rbac.db", "rbac.db-wal", "rbac.db-shm"}
    assert b"$argon2id$v=19$" in files["rbac.db-wal"], "the WAL holds the recent writes (so it was read)"
    for name, data in files.items():
        assert_no_secret(data, name)
    client.close()
    for name, data in db_files(db).items():
        assert_no_secret(data, f"{name} after checkpoint")
    with closing(sqlite3.connect(db)) as conn:
        hashes = [h for (h,) in conn.execute("SELECT password_hash FROM users")]
        values = [str(v) for table, in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
                  if table != "audit_chain" for row in conn.execute(f'SELECT * FROM "{table}"') for v in row]
        # The one stored digest: the audit trail's newest hash, which is its newest record's (checked by
        # assert_no_secret above to hold no password).
        (head,) = conn.execute("SELECT head FROM audit_chain").fetchone()
        (newest,) = conn.execute("SELECT record FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    assert newest.endswith("\t" + head)
    assert len(hashes) == 3 and all(h.startswith("$argon2id$v=19$m=64,t=1,p=1$") for h in hashes), hashes
    # Nothing else stored looks like a password hash of another kind (bcrypt, a hex digest, ...).
    for value in values:
        assert not value.startswith("$2"), value
        assert not (len(value) in (32, 40, 64) and all(c in "0123456789abcdef" for c in value)), value


def failures(db: Path) -> List[BaseException]:
    """Errors of calls that carry passwords: wrong ones, invalid ones, wrong types, bad backups."""
    root = MilvusClient(str(db), token=f"root:{ROOT_SECRET}", root_password=ROOT_SECRET, password_hash="fast",
                        profile="docs")
    root.create_user("user_1", USER_SECRET)
    calls: List[Callable[[], Any]] = [
        lambda: MilvusClient(str(db), token=f"user_1:{WRONG_GUESS}"),
        lambda: MilvusClient(str(db), token=f"nobody:{USER_SECRET}"),
        lambda: MilvusClient(str(db), user="user_1", password=WRONG_GUESS),
        lambda: MilvusClient(str(db), token=WRONG_GUESS),  # no colon: an API key
        lambda: MilvusClient(str(db), token=WRONG_GUESS.encode()),
        lambda: MilvusClient(str(db), token=f"root:{ROOT_SECRET}", root_password=NEW_SECRET, profile="milvus-2.6"),
        lambda: MilvusClient(str(db), user="root", password=[ROOT_SECRET]),
        lambda: root.create_user("user_1", NEW_SECRET),  # exists
        lambda: root.create_user("1bad", NEW_SECRET),
        lambda: root.create_user("user_2", NEW_SECRET.lower()[:7]),  # too short, too simple
        lambda: root.create_user("user_2", NEW_SECRET + "\x01"),  # a control character
        lambda: root.create_user("user_2", NEW_SECRET * 10),  # too long
        lambda: root.create_user("user_2", NEW_SECRET.encode()),
        lambda: root.create_user("user_2", {"password": NEW_SECRET}),
        lambda: root.update_password("user_1", WRONG_GUESS, NEW_SECRET),
        lambda: root.update_password("nobody", USER_SECRET, NEW_SECRET),
        lambda: root.update_password("user_1", USER_SECRET, NEW_SECRET[:5]),
        lambda: root.update_password("user_1", USER_SECRET.encode(), NEW_SECRET),
        lambda: root.update_password("user_1", USER_SECRET, bytearray(NEW_SECRET.encode())),
        lambda: root.restore_rbac({"version": 1, "users": [{"user_name": "u9", "password_hash": NEW_SECRET,
                                                            "description": "", "roles": []}],
                                   "roles": [], "grants": [], "privilege_groups": []}),
        lambda: root.restore_rbac({"version": 1, "users": [{"user_name": "u9", "password": NEW_SECRET}]}),
    ]
    caught = []
    for call in calls:
        with pytest.raises(MilvusException) as info:
            call()
        caught.append(info.value)
    assert any(isinstance(e, ParamError) for e in caught) and any(isinstance(e, AuthenticationError) for e in caught)
    return caught


def test_no_password_in_exceptions_or_reprs(tmp_path):
    for err in failures(tmp_path / "rbac.db"):
        shown = [str(err), repr(err), repr(err.args), err.message, "".join(traceback.format_exception(err))]
        for text in shown:
            assert_no_secret(text, f"{type(err).__name__}: {err.message[:200]}")
    c = MilvusClient(str(tmp_path / "other.db"), token=f"root:{ROOT_SECRET}", root_password=ROOT_SECRET,
                     password_hash="fast")
    assert_no_secret(repr(c), "MilvusClient repr")
    assert_no_secret(str(c), "MilvusClient str")
    assert_no_secret(repr(c.backup_rbac()), "a backup")
    c.close()
    assert_no_secret(repr(c), "a closed MilvusClient's repr")


def test_no_password_in_log_lines_or_output(tmp_path, caplog, capfd):
    root_logger = logging.getLogger()
    old_level = root_logger.level
    root_logger.setLevel(logging.DEBUG)
    try:
        with caplog.at_level(logging.DEBUG):
            workload(tmp_path / "rbac.db").close()
            failures(tmp_path / "other.db")
    finally:
        root_logger.setLevel(old_level)
    out, err = capfd.readouterr()
    assert_no_secret(caplog.text, "log records")
    for record in caplog.records:
        assert_no_secret(record.getMessage() + repr(record.args), f"log record {record.name}")
    assert_no_secret(out, "stdout")
    assert_no_secret(err, "stderr")


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o077])
def test_the_file_and_its_wal_and_shm_are_private(tmp_path, umask):
    db = tmp_path / "rbac.db"
    old = os.umask(umask)
    try:
        c = MilvusClient(str(db), token="root:Milvus", password_hash="fast")
        c.create_user("user_1", "P@ssw0rd")
        reader = MilvusClient(str(db), token="root:Milvus")
        assert reader.list_users() == ["root", "user_1"]
        names = sorted(p.name for p in tmp_path.iterdir())
        assert names == ["rbac.db", "rbac.db-shm", "rbac.db-wal"], names
        for path in tmp_path.iterdir():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, (path.name, oct(path.stat().st_mode))
        reader.close()
        c.close()
    finally:
        os.umask(old)
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


# Timing, coarse: CPU time of this thread (argon2 runs on it), so other processes' load does not count.


def cpu_time(call: Callable[[], Any]) -> float:
    start = time.thread_time()
    try:
        call()
    except MilvusException:
        pass
    return time.thread_time() - start


def registry_with(tmp: Path, strength: str) -> Tuple[Path, MilvusClient]:
    db = tmp / "rbac.db"
    c = MilvusClient(str(db), token="root:Milvus", profile="milvus-2.5", password_hash=strength)
    c.create_user("user_1", "abcdef")
    c.update_password("user_1", "abcdef", "abcdef")  # verified once: root's and user_1's checks are cached
    return db, c


@pytest.fixture(scope="module")
def strong(tmp_path_factory):
    """A registry with the real (strong) hash parameters, and the CPU time of one strong argon2 run."""
    db, c = registry_with(tmp_path_factory.mktemp("strong"), "strong")
    one_run = min(cpu_time(lambda: c.update_password("user_1", "abcdeX", "abcdef")) for _ in range(3))
    yield db, c, one_run
    c.close()


@pytest.fixture(scope="module")
def fast(tmp_path_factory):
    db, c = registry_with(tmp_path_factory.mktemp("fast"), "fast")
    yield db, c
    c.close()


def test_unknown_users_cost_what_wrong_passwords_cost(strong):
    """The same check failing for a missing user and for a wrong password spends one argon2 verification
    either way (bounds of a factor 3: this tells one verification from none, not microseconds)."""
    _, c, one_run = strong
    unknown = min(cpu_time(lambda: c.update_password("nobody_1", "abcdef", "ghijkl")) for _ in range(3))
    wrong = min(cpu_time(lambda: c.update_password("user_1", "abcdeX", "ghijkl")) for _ in range(3))
    assert unknown > one_run / 3 and wrong > one_run / 3, (unknown, wrong, one_run)
    assert unknown < 3 * wrong and wrong < 3 * unknown, (unknown, wrong)


HUGE = "a" * (10 << 20)

OVERSIZE: Dict[str, Callable[[Path, Any], Any]] = {
    "name": lambda db, c: c.create_user(HUGE, "abcdef"),
    "password": lambda db, c: c.create_user("user_2", HUGE),
    "old password": lambda db, c: c.update_password("user_1", HUGE, "abcdef"),
    "new password": lambda db, c: c.update_password("user_1", "abcdef", HUGE),
    "token password": lambda db, c: MilvusClient(str(db), token="user_1:" + HUGE),
    "describe": lambda db, c: c.describe_user(HUGE),
    "drop": lambda db, c: c.drop_user(HUGE),
    "grant": lambda db, c: c.grant_role(HUGE, HUGE),
}


def extra_cost_of_strong_hashing(call: Callable[[Path, Any], Any], strong: Any, fast: Any) -> float:
    """How much more CPU `call` takes on a registry with strong hashing than on one with fast hashing. Copying
    and checking 10 MB costs the same on both; only an argon2 run costs more on the strong one (about
    `one_run` more, against well under a millisecond). A difference, so that the cost of 10 MB cancels out."""
    strong_db, strong_client, _ = strong
    fast_db, fast_client = fast
    on_strong = min(cpu_time(lambda: call(strong_db, strong_client)) for _ in range(3))
    on_fast = min(cpu_time(lambda: call(fast_db, fast_client)) for _ in range(3))
    return on_strong - on_fast


@pytest.mark.parametrize("what", list(OVERSIZE))
def test_oversize_input_is_refused_before_hashing(strong, fast, what):
    db, c, one_run = strong
    if what != "drop":  # dropping a missing user is a success, as in Milvus
        with pytest.raises(MilvusException):
            OVERSIZE[what](db, c)
    extra = extra_cost_of_strong_hashing(OVERSIZE[what], strong, fast)
    assert extra < one_run / 2, f"a 10 MB {what} cost {extra:.4f} s more with strong hashing; one run: {one_run:.4f} s"


def test_a_token_with_a_huge_user_name_is_refused_before_hashing(strong, fast):
    extra = extra_cost_of_strong_hashing(lambda db, c: MilvusClient(str(db), token=HUGE + ":abcdef"), strong, fast)
    assert extra < strong[2] / 2, (extra, strong[2])


@pytest.mark.parametrize("value", [None, 12345678, 3.5, b"abcdef", ["abcdef"], {"p": 1}, object()])
def test_wrong_types_are_param_errors(strong, value):
    db, c, _ = strong
    for call in (
        lambda: c.create_user("user_3", value),
        lambda: c.create_user(value, "abcdef"),
        lambda: c.update_password("user_1", value, "abcdef"),
        lambda: c.update_password("user_1", "abcdef", value),
        lambda: MilvusClient(str(db), token=value) if value is not None else MilvusClient(str(db), token=1),
    ):
        with pytest.raises(ParamError):
            call()
