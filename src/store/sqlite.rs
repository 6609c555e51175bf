//! Opening a SQLite connection with the settings every registry relies on.

use std::fs::OpenOptions;
use std::io::ErrorKind;
use std::os::unix::fs::OpenOptionsExt;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::{storage_error, Location};
use crate::error::Result;

/// How long a writer waits for another process's write transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Open the database. A new file is created with mode 0600 before SQLite touches it; SQLite gives its WAL and
/// shared-memory files the same mode.
pub fn connect(location: &Location) -> Result<Connection> {
    let connection = match location {
        Location::Memory => Connection::open_in_memory(),
        Location::File(path) => {
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
            {
                Ok(_) => {}
                Err(err) if err.kind() == ErrorKind::AlreadyExists => {}
                Err(err) => return Err(storage_error(location, err)),
            }
            Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
        }
    }
    .map_err(|err| storage_error(location, err))?;
    connection
        .busy_timeout(BUSY_TIMEOUT)
        .map_err(|err| storage_error(location, err))?;
    Ok(connection)
}

/// Durability and integrity settings, applied once the file is known to be a registry (so that a foreign or
/// corrupt file is never written to).
pub fn configure(connection: &Connection, location: &Location) -> Result<()> {
    let pragmas = match location {
        // WAL needs a file; an in-memory database keeps its own journal.
        Location::Memory => "PRAGMA foreign_keys = ON;",
        Location::File(_) => {
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;"
        }
    };
    connection
        .execute_batch(pragmas)
        .map_err(|err| storage_error(location, err))
}
