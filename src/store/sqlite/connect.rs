//! Opening a SQLite connection with the settings every registry relies on.

use std::fs::{File, Permissions};
use std::io::{ErrorKind, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags};

use super::fd_locks::{self, KeptFile};
use super::storage_error;
use crate::error::{RbacError, Result};
use crate::store::Location;

/// How long a writer waits for another process's write transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// More than the number of distinct statements in `tx.rs`.
const STATEMENT_CACHE_CAPACITY: usize = 128;

/// Whether this process may change the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    ReadWrite,
    /// The file exists but this process cannot write it (permissions, a read-only file system): reads work,
    /// writes are refused with a clear error instead of SQLite's.
    ReadOnly,
}

/// Open the database file, creating it if it is missing. A new file is created with mode 0600 before SQLite
/// touches it; SQLite gives its WAL and shared-memory files the same mode.
pub fn connect(location: &Location, path: &Path) -> Result<(Connection, Access)> {
    let fail = |err: rusqlite::Error| storage_error(location, err);
    let access = file_access(path).map_err(|err| storage_error(location, err))?;
    if !has_sqlite_header(path).map_err(|err| storage_error(location, err))? {
        return Err(RbacError::Storage {
            message: format!(
                "{} is not a readable milvus-rbac registry (not a SQLite database); it was left untouched",
                location.describe()
            ),
        });
    }
    let connection = open_file(path, access).map_err(fail)?;
    tune(&connection).map_err(fail)?;
    Ok((connection, access))
}

/// Open an existing file, with `access`. Never creates it.
fn open_file(path: &Path, access: Access) -> rusqlite::Result<Connection> {
    let mode = match access {
        Access::ReadWrite => OpenFlags::SQLITE_OPEN_READ_WRITE,
        Access::ReadOnly => OpenFlags::SQLITE_OPEN_READ_ONLY,
    };
    fd_locks::install();
    let connection = Connection::open_with_flags(path, mode | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    if access == Access::ReadOnly && needs_wal_files(&connection) {
        open_immutable(path)
    } else {
        Ok(connection)
    }
}

fn tune(connection: &Connection) -> rusqlite::Result<()> {
    connection.busy_timeout(BUSY_TIMEOUT)?;
    // Room for every statement the registry runs: with rusqlite's default of 16 they evicted each other and
    // were parsed again.
    connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
    // Keep query plans: without this SQLite re-prepares bound queries (a user's roles, a group's members) on
    // every run, which was a third of describe_user's cost.
    connection.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    Ok(())
}

/// Pages of a large registry kept in memory: SQLite's default of 2 MiB made a bulk load into a 1M-user file
/// (139 MiB, names in random order) re-read index pages for every insert. Taken only as pages are read. Set
/// once the file is known to be a registry: the pragma reads the schema, and a damaged file must fail in the
/// checks that say so.
fn cache_pages(connection: &Connection) -> rusqlite::Result<()> {
    connection.execute_batch("PRAGMA cache_size = -65536;")
}

/// Another connection to the open registry at `path`, for reads only: `query_only` makes a stray write an
/// error. Opened as the first connection was, and without creating anything: a file removed since is an error,
/// not a new empty registry.
pub fn connect_reader(path: &Path, access: Access) -> rusqlite::Result<Connection> {
    let connection = open_file(path, access)?;
    tune(&connection)?;
    cache_pages(&connection)?;
    connection.execute_batch("PRAGMA query_only = ON;")?;
    Ok(connection)
}

/// Flags for every open of a registry file: a symbolic link is not followed (`ELOOP`), and a FIFO put at the
/// path never blocks the open.
const SAFE_OPEN: i32 = libc::O_NOFOLLOW | libc::O_NONBLOCK;

/// Create the file (mode 0600) if it is missing, and find out whether this process may write it. Asking the
/// file system, rather than reading mode bits, gets root, ACLs and read-only mounts right. A symbolic link or
/// anything but a regular file at `path` is refused; a file this process may write is made private (0600) if
/// others may read it, as the registry holds password hashes.
fn file_access(path: &Path) -> std::io::Result<Access> {
    let created = fd_locks::open(
        path,
        libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | SAFE_OPEN,
        0o600,
    );
    match created {
        Ok(_) => return Ok(Access::ReadWrite),
        Err(err) if err.kind() == ErrorKind::AlreadyExists => {}
        // A directory we cannot write may still hold a file we can read.
        Err(err) if cannot_write(&err) && path.is_file() => {}
        Err(err) => return Err(err),
    }
    refuse_special(path)?;
    match open_safely(path, true) {
        Ok(file) => {
            regular(&file)?;
            private(&file)?;
            Ok(Access::ReadWrite)
        }
        Err(err) if cannot_write(&err) => {
            // Readable at least? Otherwise report the plain permission error.
            regular(&*open_safely(path, false)?)?;
            Ok(Access::ReadOnly)
        }
        Err(err) => Err(err),
    }
}

/// Opened through `fd_locks`, as SQLite's opens are: closing it must not drop another SQLite's locks.
fn open_safely(path: &Path, write: bool) -> std::io::Result<KeptFile> {
    let access = if write { libc::O_RDWR } else { libc::O_RDONLY };
    fd_locks::open(path, access | SAFE_OPEN, 0)
}

/// A symbolic link (which SQLite would follow, and whose target's mode a chmod would change) or a special file
/// at the registry's path is refused, with words that say which.
fn refuse_special(path: &Path) -> std::io::Result<()> {
    let kind = std::fs::symlink_metadata(path)?.file_type();
    let what = if kind.is_symlink() {
        "a symbolic link; give the path of the file it points to"
    } else if kind.is_file() {
        return Ok(());
    } else if kind.is_dir() {
        "a directory, not a registry file"
    } else {
        "not a regular file (a FIFO, socket or device)"
    };
    Err(std::io::Error::new(ErrorKind::InvalidInput, what))
}

/// The opened file is a regular file (the path may have been swapped since `refuse_special` looked).
fn regular(file: &File) -> std::io::Result<()> {
    if file.metadata()?.file_type().is_file() {
        Ok(())
    } else {
        Err(std::io::Error::new(
            ErrorKind::InvalidInput,
            "not a regular file (a FIFO, socket or device)",
        ))
    }
}

/// Group and others lose their access to a file this process may write (a file created empty by someone else,
/// or copied with 0644): the registry holds password hashes.
fn private(file: &File) -> std::io::Result<()> {
    let mode = file.metadata()?.permissions().mode();
    if mode & 0o077 == 0 {
        return Ok(());
    }
    file.set_permissions(Permissions::from_mode(mode & 0o700))
        .map_err(|err| {
            std::io::Error::new(
                err.kind(),
                format!(
                    "it is readable by others (mode {:o}) and cannot be made private: {err}",
                    mode & 0o777
                ),
            )
        })
}

/// A reader of a WAL database needs its `-shm` file. When it is missing and this process cannot create it (a
/// read-only directory), the first read fails with SQLITE_READONLY or SQLITE_CANTOPEN.
fn needs_wal_files(connection: &Connection) -> bool {
    let probe = connection.query_row("SELECT count(*) FROM sqlite_master", [], |row| {
        row.get::<_, i64>(0)
    });
    matches!(
        probe,
        Err(rusqlite::Error::SqliteFailure(err, _))
            if matches!(err.code, rusqlite::ErrorCode::ReadOnly | rusqlite::ErrorCode::CannotOpen)
    )
}

/// Open the file as SQLite's `immutable` database: no locks, no `-shm`. Only for a file nobody here can
/// write, in a directory nobody here can write (so that no WAL can appear beside it).
fn open_immutable(path: &Path) -> rusqlite::Result<Connection> {
    let mut uri = String::from("file:");
    for byte in path.as_os_str().as_encoded_bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                uri.push(char::from(*byte))
            }
            _ => uri.push_str(&format!("%{byte:02X}")),
        }
    }
    uri.push_str("?immutable=1");
    fd_locks::install();
    Connection::open_with_flags(
        uri,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
}

/// SQLite writes its header with the first page, so a non-empty file without it is not a database. (SQLite
/// itself takes some short files for empty databases, and would initialise them.)
fn has_sqlite_header(path: &Path) -> std::io::Result<bool> {
    const MAGIC: &[u8; 16] = b"SQLite format 3\0";
    let mut head = Vec::with_capacity(MAGIC.len());
    let file = open_safely(path, false)?;
    (&*file).take(MAGIC.len() as u64).read_to_end(&mut head)?;
    Ok(head.is_empty() || head == MAGIC)
}

fn cannot_write(err: &std::io::Error) -> bool {
    matches!(
        err.kind(),
        ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem
    )
}

/// Durability and integrity settings, applied once the file is known to be a registry (so that a foreign or
/// corrupt file is never written to).
pub fn configure(connection: &Connection, location: &Location, access: Access) -> Result<()> {
    let fail = |err| storage_error(location, err);
    cache_pages(connection).map_err(fail)?;
    // Switching the journal mode writes the header, which a read-only connection cannot do; it reads the file
    // in whatever mode its writers left it.
    if access == Access::ReadWrite {
        switch_to_wal(connection).map_err(fail)?;
        connection
            .execute_batch("PRAGMA synchronous = FULL;")
            .map_err(fail)?;
    }
    connection
        .execute_batch("PRAGMA foreign_keys = ON;")
        .map_err(fail)
}

/// Put the file in WAL mode (a no-op once it is). Leaving rollback mode needs every other connection's lock
/// released, and SQLite answers "database is locked" at once rather than wait: while processes create a
/// registry together, retry until the busy timeout.
fn switch_to_wal(connection: &Connection) -> rusqlite::Result<()> {
    let deadline = Instant::now() + BUSY_TIMEOUT;
    loop {
        match connection.query_row("PRAGMA journal_mode = WAL", [], |row| {
            row.get::<_, String>(0)
        }) {
            Err(rusqlite::Error::SqliteFailure(err, _))
                if err.code == rusqlite::ErrorCode::DatabaseBusy && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            outcome => return outcome.map(drop),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::process::CommandExt;
    use std::path::PathBuf;

    use super::*;
    use crate::store::sqlite::SqliteStore;
    use crate::store::tests::TempDir;
    use crate::store::Store;

    /// What these tests put in a directory.
    impl TempDir {
        /// An empty file in the directory, and a symbolic link to it.
        fn link_to_an_empty_file(&self) -> (PathBuf, PathBuf) {
            let (target, link) = (self.0.join("target.db"), self.0.join("link.db"));
            std::fs::write(&target, b"").unwrap();
            std::os::unix::fs::symlink(&target, &link).unwrap();
            (target, link)
        }

        /// A FIFO named `name` in the directory.
        fn fifo(&self, name: &str) -> PathBuf {
            let path = self.0.join(name);
            let text = CString::new(path.as_os_str().as_bytes()).unwrap();
            // SAFETY: `text` is a NUL-terminated path.
            assert_eq!(unsafe { libc::mkfifo(text.as_ptr(), 0o600) }, 0);
            path
        }
    }

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    fn refusal(path: &Path) -> String {
        let location = Location::File(path.to_path_buf());
        connect(&location, path).unwrap_err().to_string()
    }

    /// Whether this process is the unprivileged child of `unprivileged`.
    const CHILD: &str = "MILVUS_RBAC_TEST_UNPRIVILEGED";

    /// Run the test `name` of this binary again in a child process whose root (CI runs as root) has lost the
    /// capabilities that let it read and write any file, so that file modes mean what they mean to anybody.
    /// True in that child (and for a process that is not root): run the test's body.
    fn unprivileged(name: &str) -> bool {
        // SAFETY: geteuid has no preconditions.
        if std::env::var_os(CHILD).is_some() || unsafe { libc::geteuid() } != 0 {
            return true;
        }
        let mut child = std::process::Command::new(std::env::current_exe().unwrap());
        child
            .args([name, "--exact", "--test-threads=1"])
            .env(CHILD, "1");
        // SAFETY: between fork and exec the closure only calls prctl, which is async-signal-safe.
        unsafe {
            child.pre_exec(|| {
                // CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER: gone from the bounding set, so gone
                // after exec.
                for capability in [1, 2, 3] {
                    if libc::prctl(libc::PR_CAPBSET_DROP, capability, 0, 0, 0) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
        let done = child.output().unwrap();
        let out = String::from_utf8_lossy(&done.stdout);
        assert!(
            done.status.success() && out.contains("1 passed"),
            "{out}{}",
            String::from_utf8_lossy(&done.stderr)
        );
        false
    }

    /// A new registry file is created with mode 0600; one others may read is made private, as it holds
    /// password hashes.
    #[test]
    fn registry_files_are_kept_private() {
        let dir = TempDir::new();
        let new = dir.0.join("new.db");
        let (_, access) = connect(&Location::File(new.clone()), &new).unwrap();
        assert_eq!((access, mode(&new)), (Access::ReadWrite, 0o600));
        let shared = dir.0.join("shared.db");
        std::fs::write(&shared, b"").unwrap();
        std::fs::set_permissions(&shared, Permissions::from_mode(0o644)).unwrap();
        connect(&Location::File(shared.clone()), &shared).unwrap();
        assert_eq!(mode(&shared), 0o600);
    }

    /// A symbolic link, a directory, a FIFO or a foreign file at the path is refused, saying which, and left
    /// as it was.
    #[test]
    fn what_is_not_a_registry_file_is_refused_and_left_alone() {
        let dir = TempDir::new();
        let (target, link) = dir.link_to_an_empty_file();
        assert!(
            refusal(&link).contains("a symbolic link"),
            "{}",
            refusal(&link)
        );
        assert!(refusal(&dir.0).contains("a directory, not a registry file"));
        let fifo = dir.fifo("fifo.db");
        assert!(refusal(&fifo).contains("not a regular file (a FIFO, socket or device)"));
        let foreign = dir.0.join("notes.txt");
        std::fs::write(&foreign, b"not a database, but somebody's notes").unwrap();
        assert!(refusal(&foreign).contains("is not a readable milvus-rbac registry"));
        assert_eq!(
            std::fs::read(&foreign).unwrap(),
            b"not a database, but somebody's notes"
        );
        assert_eq!(std::fs::read(&target).unwrap(), b"");
    }

    /// Every open of a registry file refuses a symbolic link, and a FIFO never blocks it (the path may be
    /// swapped between the look and the open).
    #[test]
    fn safe_opens_follow_no_link_and_never_block() {
        let dir = TempDir::new();
        let (_, link) = dir.link_to_an_empty_file();
        for write in [false, true] {
            let refused = open_safely(&link, write).map(drop).unwrap_err();
            assert_eq!(refused.raw_os_error(), Some(libc::ELOOP));
        }
        let fifo = dir.fifo("fifo");
        // Without O_NONBLOCK this waits for a writer forever.
        let opened = open_safely(&fifo, false).unwrap();
        assert!(regular(&opened).is_err());
    }

    /// Connections wait for another process's write (up to 30 s) and keep their query plans; readers keep
    /// 64 MiB of pages and refuse writes.
    #[test]
    fn connections_are_tuned() {
        let dir = TempDir::new();
        let path = dir.0.join("rbac.db");
        let (writer, _) = connect(&Location::File(path.clone()), &path).unwrap();
        let pragma = |connection: &Connection, name: &str| -> i64 {
            connection
                .query_row(&format!("PRAGMA {name}"), [], |row| row.get(0))
                .unwrap()
        };
        assert_eq!(pragma(&writer, "busy_timeout"), 30_000);
        assert!(writer
            .db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG)
            .unwrap());
        configure(&writer, &Location::File(path.clone()), Access::ReadWrite).unwrap();
        let reader = connect_reader(&path, Access::ReadWrite).unwrap();
        assert_eq!(pragma(&reader, "busy_timeout"), 30_000);
        assert_eq!(pragma(&reader, "cache_size"), -65536);
        assert_eq!(pragma(&reader, "query_only"), 1);
    }

    /// Leaving rollback mode needs every other connection's lock released, which SQLite does not wait for:
    /// the switch to WAL retries while another connection reads.
    #[test]
    fn the_switch_to_wal_waits_for_a_reader() {
        let dir = TempDir::new();
        let path = dir.0.join("rbac.db");
        let (switching, _) = connect(&Location::File(path.clone()), &path).unwrap();
        // As when SQLite answers busy at once (two connections that each hold a lock): only the retry waits.
        switching.busy_timeout(Duration::ZERO).unwrap();
        let reader = Connection::open(&path).unwrap();
        reader
            .execute_batch("CREATE TABLE t (x); BEGIN; SELECT * FROM t;")
            .unwrap();
        let busy = switching.query_row("PRAGMA journal_mode = WAL", [], |row| {
            row.get::<_, String>(0)
        });
        assert!(
            busy.is_err(),
            "SQLite refuses the switch while a reader holds its lock"
        );
        let switched = std::thread::spawn(move || switch_to_wal(&switching).map(|()| switching));
        std::thread::sleep(Duration::from_millis(100));
        reader.execute_batch("COMMIT;").unwrap();
        let switching = switched.join().unwrap().unwrap();
        let mode: String = switching
            .query_row("PRAGMA journal_mode", [], |row| row.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    /// Only "busy" is worth waiting for: any other refusal (here a connection that may not write) comes back
    /// at once, not after the busy timeout's half minute of retries.
    #[test]
    fn the_switch_to_wal_does_not_retry_other_errors() {
        let dir = TempDir::new();
        let path = dir.0.join("rbac.db");
        Connection::open(&path)
            .unwrap()
            .execute_batch("CREATE TABLE t (x);")
            .unwrap();
        let read_only =
            Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        let started = Instant::now();
        let refused = switch_to_wal(&read_only).unwrap_err();
        assert_eq!(
            refused.sqlite_error_code(),
            Some(rusqlite::ErrorCode::ReadOnly)
        );
        // The refusal takes microseconds; a retry would last until BUSY_TIMEOUT (30 s).
        assert!(started.elapsed() < BUSY_TIMEOUT / 3);
    }

    /// A registry this process cannot write is read, and its store says it is read-only; in a directory it
    /// cannot write either (no `-shm` can be made), it is read as an immutable database.
    #[test]
    fn a_file_this_process_cannot_write_is_read_only() {
        if !unprivileged(
            "store::sqlite::connect::tests::a_file_this_process_cannot_write_is_read_only",
        ) {
            return;
        }
        let dir = TempDir::new();
        let path = dir.0.join("rbac.db");
        SqliteStore::open(path.clone())
            .unwrap()
            .close_into_one_file();
        std::fs::set_permissions(&path, Permissions::from_mode(0o400)).unwrap();
        let (_, access) = connect(&Location::File(path.clone()), &path).unwrap();
        assert_eq!(access, Access::ReadOnly);
        let store = SqliteStore::open(path.clone()).unwrap();
        assert!(store.is_read_only());
        let version = store.version().unwrap();
        drop(store);
        let _ = std::fs::remove_file(dir.0.join("rbac.db-shm"));
        std::fs::set_permissions(&dir.0, Permissions::from_mode(0o500)).unwrap();
        let store = SqliteStore::open(path.clone()).unwrap();
        assert_eq!(store.version().unwrap(), version);
        assert!(!dir.0.join("rbac.db-shm").exists());
        // A missing file in that directory: the permission error, not a missing file's.
        let missing = dir.0.join("missing.db");
        assert!(
            refusal(&missing).contains("Permission denied"),
            "{}",
            refusal(&missing)
        );
    }
}
