//! The file store: one SQLite database per registry, shared by every process that opens it.
//!
//! Every operation runs in one transaction: reads in a deferred one (a consistent snapshot), writes in an
//! `IMMEDIATE` one, so that concurrent writers in other processes queue on the busy timeout instead of failing
//! half-way. A write that changed anything bumps the registry's change count in the same transaction. A file
//! this process cannot write opens read-only: reads work, writes fail with a clear error.
//!
//! A read runs on the writer's connection when it is free, and otherwise on a pool of connections of its own:
//! threads (a server's requests) read side by side, and never wait behind a write (WAL lets readers see the
//! last commit while a writer works).

mod connect;
mod fd_locks;
mod schema;
mod tx;
mod wal_index;

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, TryLockError};

use rusqlite::Connection;

use super::{Location, ReadTx, Store, Version, WriteTx};
use crate::audit::AuditLog;
use crate::error::{RbacError, Result};
use connect::Access;
use tx::{Behavior, SqliteTx};
use wal_index::{Header, WalIndex};

/// Read connections kept open between reads; more open while more threads read at once, and close after.
const IDLE_READERS: usize = 4;

/// A registry's SQLite file and its connections.
#[derive(Debug)]
pub struct SqliteStore {
    /// Every write, and the reads that find it free.
    writer: Mutex<Connection>,
    /// Idle read connections, for reads while the writer's connection is busy.
    readers: Mutex<Vec<Connection>>,
    path: PathBuf,
    location: Location,
    access: Access,
    /// The WAL index the writer's connection maps, if it has one (see `wal_index`).
    wal_index: Option<WalIndex>,
    /// The WAL-index header read before the last version check's transaction, and what it answered.
    last_check: Mutex<Option<(Header, Version)>>,
}

impl SqliteStore {
    /// Open (creating if needed) the database at `path` and bring its schema up to date.
    pub fn open(path: PathBuf) -> Result<SqliteStore> {
        let location = Location::File(path.clone());
        let (mut connection, access) = connect::connect(&location, &path)?;
        schema::migrate(&mut connection, &location, access)?;
        // Only a file this process writes: a read-only one may be open without shared memory (immutable).
        let wal_index = match access {
            Access::ReadWrite => WalIndex::of(&connection),
            Access::ReadOnly => None,
        };
        Ok(SqliteStore {
            writer: Mutex::new(connection),
            readers: Mutex::new(Vec::new()),
            path,
            location,
            access,
            wal_index,
            last_check: Mutex::new(None),
        })
    }

    /// Run `run` on a connection for reading: the writer's when it is free (one connection is all a
    /// single-threaded client needs), else one of the pool.
    fn with_reader<T>(&self, run: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        match self.writer.try_lock() {
            Ok(writer) => return run(&writer),
            Err(TryLockError::Poisoned(poisoned)) => return run(&poisoned.into_inner()),
            Err(TryLockError::WouldBlock) => {}
        }
        let idle = lock(&self.readers).pop();
        let reader = match idle {
            Some(reader) => reader,
            None => {
                connect::connect_reader(&self.path, self.access).map_err(|err| self.failure(err))?
            }
        };
        let value = run(&reader);
        let mut idle = lock(&self.readers);
        if idle.len() < IDLE_READERS {
            idle.push(reader);
        }
        value
    }

    fn failure(&self, err: rusqlite::Error) -> RbacError {
        storage_error(&self.location, err)
    }
}

impl Store for SqliteStore {
    fn location(&self) -> &Location {
        &self.location
    }

    fn is_read_only(&self) -> bool {
        self.access == Access::ReadOnly
    }

    fn version(&self) -> Result<Version> {
        // Read before the transaction: a commit after it changes the header, so the pair never answers for
        // a later state than it saw.
        let header = self.wal_index.as_ref().and_then(WalIndex::header);
        if let (Some(header), Some((seen, version))) = (header, *lock(&self.last_check)) {
            if header == seen {
                return Ok(version);
            }
        }
        // One statement outside any transaction: SQLite reads the latest commit for it.
        let version = self
            .with_reader(|connection| tx::version(connection).map_err(|err| self.failure(err)))?;
        if let Some(header) = header {
            *lock(&self.last_check) = Some((header, version));
        }
        Ok(version)
    }

    fn read_with(&self, work: &mut dyn FnMut(&dyn ReadTx) -> Result<()>) -> Result<()> {
        self.with_reader(|connection| {
            let tx =
                SqliteTx::begin(connection, Behavior::Deferred).map_err(|err| self.failure(err))?;
            work(&tx)?;
            tx.commit().map_err(|err| self.failure(err))
        })
    }

    fn write_with(&self, work: &mut dyn FnMut(&mut dyn WriteTx) -> Result<()>) -> Result<()> {
        if self.is_read_only() {
            // Said before SQLite's "attempt to write a readonly database", which does not say why.
            return Err(RbacError::Storage {
                message: format!(
                    "registry {} is read-only: this process cannot write the file, so it can be read but \
                     not changed",
                    self.location.describe()
                ),
            });
        }
        let connection = lock(&self.writer);
        let mut tx =
            SqliteTx::begin(&connection, Behavior::Immediate).map_err(|err| self.failure(err))?;
        let before = connection.total_changes();
        work(&mut tx)?;
        if tx.changed_registry_since(before) {
            tx.count_change()?;
        }
        tx.commit().map_err(|err| self.failure(err))
    }

    fn audit_log(&self) -> Result<AuditLog> {
        self.with_reader(|connection| {
            let tx =
                SqliteTx::begin(connection, Behavior::Deferred).map_err(|err| self.failure(err))?;
            let log = tx.audit_log()?;
            tx.commit().map_err(|err| self.failure(err))?;
            Ok(log)
        })
    }
}

/// A panic while a lock was held cannot have left a transaction open: `SqliteTx` rolls back when dropped.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A storage failure, naming the registry.
fn storage_error(location: &Location, err: impl std::fmt::Display) -> RbacError {
    RbacError::storage(
        &format!("registry {} cannot be used", location.describe()),
        err,
    )
}

/// For tests that copy, damage or lock down a registry file.
#[cfg(test)]
impl SqliteStore {
    /// Close the store with every commit in the main file and no `-wal` or `-shm` file beside it, as a
    /// registry copied elsewhere is.
    fn close_into_one_file(self) {
        lock(&self.writer)
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .unwrap();
        let path = self.path.clone();
        drop(self);
        for suffix in ["-wal", "-shm"] {
            let mut file = path.clone().into_os_string();
            file.push(suffix);
            let _ = std::fs::remove_file(file);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A write that fails is rolled back at once: its write lock is not kept until this store's next
    /// transaction, blocking every other writer of the file.
    #[test]
    fn a_failed_write_releases_the_file_at_once() {
        let file = crate::store::tests::TempFile::new();
        let ours = SqliteStore::open(file.0.clone()).unwrap();
        let theirs = SqliteStore::open(file.0.clone()).unwrap();
        // Refused at once rather than after the 30 s busy timeout, should the lock still be held.
        lock(&theirs.writer)
            .busy_timeout(std::time::Duration::ZERO)
            .unwrap();
        let failed: Result<()> = (&ours as &dyn Store).write(|tx| {
            tx.insert_role("r", "")?;
            Err(crate::store::inconsistent("the operation failed".into()))
        });
        assert!(failed.is_err());
        (&theirs as &dyn Store)
            .write(|tx| tx.insert_role("s", ""))
            .unwrap();
    }

    /// Reads while the writer's connection is busy take pooled connections, opened as needed; at most
    /// `IDLE_READERS` stay open after.
    #[test]
    fn idle_readers_are_pooled_up_to_their_bound() {
        fn nested_reads(store: &SqliteStore, depth: usize) -> Result<()> {
            match depth {
                0 => Ok(()),
                _ => store.with_reader(|_| nested_reads(store, depth - 1)),
            }
        }
        let file = crate::store::tests::TempFile::new();
        let store = SqliteStore::open(file.0.clone()).unwrap();
        let busy = lock(&store.writer);
        nested_reads(&store, 1).unwrap();
        assert_eq!(lock(&store.readers).len(), 1);
        nested_reads(&store, IDLE_READERS + 2).unwrap();
        assert_eq!(lock(&store.readers).len(), IDLE_READERS);
        drop(busy);
    }

    /// While the WAL-index header is the one seen at the last check, that check answers without SQLite; a
    /// commit through another connection moves the header, and SQLite is asked again.
    #[test]
    fn the_wal_index_answers_until_a_commit() {
        let file = crate::store::tests::TempFile::new();
        let store = SqliteStore::open(file.0.clone()).unwrap();
        let other = SqliteStore::open(file.0.clone()).unwrap();
        assert!(
            store.wal_index.is_some(),
            "a file this process writes has its WAL index mapped"
        );
        let version = store.version().unwrap();
        let (header, _) = lock(&store.last_check).unwrap();
        // An answer SQLite would never give: only the header can have given it back.
        let made_up = Version {
            changes: 999_999,
            credentials: 0,
        };
        *lock(&store.last_check) = Some((header, made_up));
        assert_eq!(store.version().unwrap(), made_up);
        let writer: &dyn Store = &other;
        writer.write(|tx| tx.insert_role("r", "")).unwrap();
        assert_eq!(store.version().unwrap().changes, version.changes + 1);
    }
}
