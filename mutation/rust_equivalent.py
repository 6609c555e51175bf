"""The Rust mutants that change no behaviour, or none a test on this machine can see, and the check that a
cargo-mutants run missed no other (issue 18).

`mutation/rust` runs this after a run that missed mutants: it exits 0 if every missed mutant is named in
`EQUIVALENT`, else it names the others and exits 1. A mutant is named by its file, its mutation as cargo-mutants
words it (without line and column, which move with every edit above it) and the text of its line, as the Python
runner names its own; why each is here is in mutation/REPORT.md.

    python3 mutation/rust_equivalent.py [OUTPUT]     OUTPUT: cargo-mutants' output (mutation/out/mutants.out)
"""

import json
import sys
from pathlib import Path
from typing import Any, Dict, List, Set, Tuple

ROOT = Path(__file__).resolve().parent.parent

CONNECT = "src/store/sqlite/connect.rs"
FD_LOCKS = "src/store/sqlite/fd_locks.rs"
WAL_INDEX = "src/store/sqlite/wal_index.rs"
ETCD = "src/store/etcd/mod.rs"
ETCD_CLIENT = "src/store/etcd/client.rs"

# (file, mutation, the line's text, stripped).
EQUIVALENT: Set[Tuple[str, str, str]] = {
    # `|` to `^` on open flags, which are distinct bits: the same flags.
    (CONNECT, "replace | with ^ in open_file",
     "let connection = Connection::open_with_flags(path, mode | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;"),
    (CONNECT, "replace | with ^", "const SAFE_OPEN: i32 = libc::O_NOFOLLOW | libc::O_NONBLOCK;"),
    (CONNECT, "replace | with ^ in file_access", "libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | SAFE_OPEN,"),
    (CONNECT, "replace | with ^ in open_safely", "fd_locks::open(path, access | SAFE_OPEN, 0)"),
    (CONNECT, "replace | with ^ in open_immutable", "| OpenFlags::SQLITE_OPEN_URI"),
    (CONNECT, "replace | with ^ in open_immutable", "| OpenFlags::SQLITE_OPEN_NO_MUTEX,"),
    *((FD_LOCKS, "replace | with ^ in imp::reusable", f"| libc::{flag}")
      for flag in ("O_CREAT", "O_NOFOLLOW", "O_NONBLOCK", "O_CLOEXEC", "O_LARGEFILE;")),
    # Without SQLITE_OPEN_URI the immutable open's `file:` name is still read as a URI: this crate's SQLite is
    # built with URI names on.
    (CONNECT, "replace | with & in open_immutable", "| OpenFlags::SQLITE_OPEN_NO_MUTEX,"),
    # A mode with group or other bits is made 0600 either way; `|` or `^` makes every file "shared", which is
    # then given the mode 0600 it already has.
    (CONNECT, "replace & with | in private", "if mode & 0o077 == 0 {"),
    (CONNECT, "replace & with ^ in private", "if mode & 0o077 == 0 {"),
    # Percent-encoding every byte of an immutable open's path: SQLite decodes it alike.
    (CONNECT, "delete match arm b'A'..= b'Z' | b'a'..= b'z' | b'0'..= b'9' | b'-' | b'.' | b'_' | b'~' | b'/' "
     "in open_immutable", "b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {"),
    # Read-only opens this machine cannot tell apart: Linux answers EEXIST before EACCES for a file that exists
    # in a directory that cannot be written; a read-only file in a writable directory opened as immutable reads
    # the same (only another writer's later changes would be missed); a read-only open tried after any failed
    # read-write open ends in the same error a step later.
    (CONNECT, "replace && with || in open_file", "if access == Access::ReadOnly && needs_wal_files(&connection) {"),
    (CONNECT, "replace match guard cannot_write(&err) && path.is_file() with false in file_access",
     "Err(err) if cannot_write(&err) && path.is_file() => {}"),
    (CONNECT, "replace match guard cannot_write(&err) with true in file_access", "Err(err) if cannot_write(&err) => {"),
    (CONNECT, "replace needs_wal_files -> bool with true",
     'let probe = connection.query_row("SELECT count(*) FROM sqlite_master", [], |row| {'),
    (CONNECT, "replace cannot_write -> bool with true", "matches!("),
    # Descriptor 0 is standard input, never what an open here returns.
    (FD_LOCKS, "replace < with <= in open", "if fd < 0 {"),
    # Only kernels without OFD locks (before Linux 3.15) reach the branch that reads it.
    (FD_LOCKS, "replace imp::io_errno -> c_int with Default::default()",
     "std::io::Error::last_os_error().raw_os_error().unwrap_or(0)"),
    # Only regular files are recorded, so a kept descriptor is found only for one, whatever `stat` said.
    (FD_LOCKS, "replace && with || in imp::open", "if found == 0 && regular(&stat) {"),
    # Keeping an empty entry (no descriptor in use, none kept) changes nothing but the table's size.
    (FD_LOCKS, "replace > with >= in imp::sweep", "known.in_use > 0 || !known.idle.is_empty()"),
    # The fallback for systems other than Linux, not compiled here.
    (FD_LOCKS, "replace imp::open -> RawFd with Default::default()",
     "unsafe { libc::open(path.as_ptr(), flags, mode as libc::c_uint) }"),
    (FD_LOCKS, "replace imp::close -> c_int with Default::default()", "unsafe { libc::close(fd) }"),
    # Whether a file of exactly 4,096 pages gets the full check or the length check: both refuse a damaged one.
    ("src/store/sqlite/schema.rs", "replace > with >= in check_integrity", "if pages > FULL_CHECK_MAX_PAGES {"),
    # A transaction already committed is not in a transaction: the rollback is never tried either way.
    ("src/store/sqlite/tx.rs", "replace && with || in <impl Drop for SqliteTx<'_>>::drop",
     "if !self.committed && !self.connection.is_autocommit() {"),
    # The WAL index is asked for only once SQLite mapped it: the unix VFS then returns its mapping of region 0
    # whatever size is asked, and never fails, nor is it a VFS older than version 2 (it is version 3).
    (WAL_INDEX, "replace * with +", "const REGION_BYTES: i32 = 32 * 1024;"),
    (WAL_INDEX, "replace * with /", "const REGION_BYTES: i32 = 32 * 1024;"),
    (WAL_INDEX, "replace || with && in WalIndex::of", "if rc != ffi::SQLITE_OK || file.is_null() {"),
    (WAL_INDEX, "replace || with && in WalIndex::of", "if rc != ffi::SQLITE_OK || region.is_null() {"),
    (WAL_INDEX, "replace < with == in WalIndex::of", "if (*methods).iVersion < 2 {"),
    (WAL_INDEX, "replace < with <= in WalIndex::of", "if (*methods).iVersion < 2 {"),
    # etcd's protocol: a field left out is its zero, and the zero of a comparison's result is EQUAL; a missing
    # key has version 0 and create revision 0, whichever of the two (and whichever union) is compared.
    (ETCD, "delete field result from struct Compare expression in absent", "result: CompareResult::Equal as i32,"),
    (ETCD, "delete field target from struct Compare expression in absent", "target: CompareTarget::Create as i32,"),
    (ETCD, "delete field target_union from struct Compare expression in absent",
     "target_union: Some(TargetUnion::CreateRevision(0)),"),
    (ETCD, "delete field result from struct Compare expression in EtcdStore::switch_head",
     "result: CompareResult::Equal as i32,"),
    # etcd raises a lease's TTL below its minimum (1.5 s at its default election timeout) to that minimum, about
    # as long as a turn's 2 s.
    (ETCD, "delete field ttl from struct LeaseGrantRequest expression in EtcdStore::take_turn", "ttl: TURN_SECONDS,"),
    # A transaction's deletes never reach its byte bound: at most MAX_TXN_OPS of them, each a key of a few
    # validated names (some 300 KiB in all, at the longest names) against 1 MiB.
    *((ETCD, mutation, "Some(Op::RequestDeleteRange(delete)) => delete.key.len() + delete.range_end.len() + 16,")
      for mutation in ("delete match arm Some(Op::RequestDeleteRange(delete)) in size_of",
                       "replace + with * in size_of")),
    # The same records, written in more or smaller requests, or read with one more (empty) page.
    (ETCD, "replace == with != in EtcdStore::write_generation", "if batch.len() == PAGE.min(MAX_TXN_OPS)"),
    (ETCD, "replace > with >= in EtcdStore::write_generation", "|| bytes > MAX_TXN_BYTES / 2"),
    (ETCD, "replace match guard page.more with true in EtcdStore::range_paged", "Some(last) if page.more => {"),
    # A read starts again after etcd compacted away the revision it read at between its two requests: no test
    # can compact at that moment (`CompactionRetries` itself is tested).
    (ETCD, "replace match guard retries.again(&err) with false in EtcdStore::refresh_now",
     "Err(err) if retries.again(&err) => {}"),
    (ETCD, "replace match guard retries.again(&err) with false in <impl Store for EtcdStore>::audit_log",
     "Err(err) if retries.again(&err) => {}"),
    # How long a writer keeps trying (4 timeouts and two turns): shortened to 5 s, it still outlasts the
    # contention any test makes; a test would have to hold writers off longer than any real turn lasts.
    (ETCD, "replace * with / in <impl Store for EtcdStore>::write_with",
     "Instant::now() + self.client.timeout * 4 + Duration::from_secs(TURN_SECONDS as u64 * 2);"),
    # Starting from the older of two states costs one lost race, then the newer is read: the same commit.
    (ETCD, "replace > with < in <impl Store for EtcdStore>::write_with",
     "if current.head_revision > pinned.head_revision {"),
    # Reached only when a turn's holder loses a race, which needs `head` moved by a commit whose answer was lost
    # while the turn was held: two faults at chosen moments.
    (ETCD, "delete ! in <impl Store for EtcdStore>::write_with", "if !self.holds_turn(id)? {"),
    # Timing only: how long a loser waits (1-4 ms, or up to 64), whether the one member of a cluster gets its
    # attempts whole or halved, and where the pauses between rounds of members fall.
    (ETCD, "replace % with / in <impl Store for EtcdStore>::write_with", "1 + u64::from(random_bytes::<1>()?[0] % 4),"),
    (ETCD_CLIENT, "replace > with >= in EtcdClient::call", "let attempt_budget = if self.channels.len() > 1 {"),
    (ETCD_CLIENT, "replace == with != in EtcdClient::pause", "if attempt % members == 0 {"),
    # Logging in again on any refusal, not only the first: differs only if etcd refused a token it had just
    # issued as invalid.
    (ETCD_CLIENT, "replace && with || in EtcdClient::call", '&& message.contains("invalid auth token") =>'),
}


def key(mutant: Dict[str, Any]) -> Tuple[str, str, str]:
    """A mutant as `EQUIVALENT` names it, from its record in cargo-mutants' outcomes.json."""
    file = mutant["file"]
    line = mutant["span"]["start"]["line"]
    mutation = mutant["name"].split(": ", 1)[1]
    text = (ROOT / file).read_text(encoding="utf-8").splitlines()[line - 1].strip()
    return (file, mutation, text)


def unexplained(outcomes: Dict[str, Any]) -> Tuple[List[str], int]:
    """The missed mutants `EQUIVALENT` does not name (by their full names), and how many were missed in all."""
    missed = [outcome["scenario"]["Mutant"] for outcome in outcomes["outcomes"]
              if outcome["summary"] == "MissedMutant"]
    return [mutant["name"] for mutant in missed if key(mutant) not in EQUIVALENT], len(missed)


def main(argv: List[str]) -> int:
    output = Path(argv[1]) if len(argv) > 1 else ROOT / "mutation/out/mutants.out"
    outcomes = json.loads((output / "outcomes.json").read_text(encoding="utf-8"))
    others, missed = unexplained(outcomes)
    print(f"{missed} missed, {missed - len(others)} of them named equivalent in mutation/rust_equivalent.py")
    for name in others:
        print(f"MISSED, not named equivalent: {name}")
    return 1 if others else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
