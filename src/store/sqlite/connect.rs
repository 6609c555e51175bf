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
