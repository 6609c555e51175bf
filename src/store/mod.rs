//! Persistence: one SQLite database per registry, reached only through transactions.
//!
//! Every operation runs in one transaction: reads in a deferred one (a consistent snapshot), writes in an
//! `IMMEDIATE` one, so that concurrent writers in other processes queue on the busy timeout instead of failing
//! half-way. A file this process cannot write opens read-only: reads work, writes fail with a clear error.
//!
//! A read runs on the writer's connection when it is free, and otherwise, in a file registry, on a pool of
//! connections of its own: threads (a server's requests) read side by side, and never wait behind a write (WAL
//! lets readers see the last commit while a writer works). An in-memory database has one connection only.

mod names;
mod schema;
mod sqlite;
mod tx;

use std::path::PathBuf;
use std::sync::{Mutex, TryLockError};

use rusqlite::Connection;

use crate::error::{RbacError, Result};
pub use names::Names;
use sqlite::Access;
use tx::Behavior;
pub use tx::{Grant, StoredUser, Tx};

/// Read connections kept open between reads; more open while more threads read at once, and close after.
const IDLE_READERS: usize = 4;

/// Where a registry lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A private in-memory database, gone when the last client of it closes.
    Memory,
    /// A SQLite file, shared by every client and process that opens it.
    File(PathBuf),
}

impl Location {
    /// What to call the registry in messages.
    pub fn describe(&self) -> String {
        match self {
            Location::Memory => ":memory:".to_string(),
            Location::File(path) => path.display().to_string(),
        }
    }
}

/// A registry's database connection.
#[derive(Debug)]
pub struct Store {
    /// Every write, and the reads that find it free.
    writer: Mutex<Connection>,
    /// Idle read connections of a file registry, for reads while the writer's connection is busy.
    readers: Mutex<Vec<Connection>>,
    location: Location,
    access: Access,
}

impl Store {
    /// Open (creating if needed) the database at `location` and bring its schema up to date.
    pub fn open(location: Location) -> Result<Store> {
        let (mut connection, access) = sqlite::connect(&location)?;
        schema::migrate(&mut connection, &location, access)?;
        Ok(Store {
            writer: Mutex::new(connection),
            readers: Mutex::new(Vec::new()),
            location,
            access,
        })
    }

    /// Whether this process cannot write the registry's file.
    pub fn is_read_only(&self) -> bool {
        self.access == Access::ReadOnly
    }

    pub fn location(&self) -> &Location {
        &self.location
    }

    /// Run `work` in a read transaction.
    pub fn read<T>(&self, work: impl FnOnce(&Tx<'_>) -> Result<T>) -> Result<T> {
        // The writer's connection when it is free (one connection is all a single-threaded client needs); a
        // reader of the pool when it is busy.
        match self.writer.try_lock() {
            Ok(writer) => return self.transact(&writer, Behavior::Deferred, work),
            Err(TryLockError::Poisoned(poisoned)) => {
                return self.transact(&poisoned.into_inner(), Behavior::Deferred, work)
            }
            Err(TryLockError::WouldBlock) => {}
        }
        let path = match &self.location {
            Location::Memory => {
                return self.transact(&lock(&self.writer), Behavior::Deferred, work)
            }
            Location::File(path) => path,
        };
        let idle = lock(&self.readers).pop();
        let reader = match idle {
            Some(reader) => reader,
            None => sqlite::connect_reader(path, self.access).map_err(|err| self.failure(err))?,
        };
        let value = self.transact(&reader, Behavior::Deferred, work);
        let mut idle = lock(&self.readers);
        if idle.len() < IDLE_READERS {
            idle.push(reader);
        }
        value
    }

    /// Run `work` in a write transaction, committed only if `work` succeeds.
    pub fn write<T>(&self, work: impl FnOnce(&Tx<'_>) -> Result<T>) -> Result<T> {
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
        self.transact(&lock(&self.writer), Behavior::Immediate, work)
    }

    fn transact<T>(
        &self,
        connection: &Connection,
        behavior: Behavior,
        work: impl FnOnce(&Tx<'_>) -> Result<T>,
    ) -> Result<T> {
        let tx = Tx::begin(connection, behavior).map_err(|err| self.failure(err))?;
        let value = work(&tx)?;
        tx.commit().map_err(|err| self.failure(err))?;
        Ok(value)
    }

    fn failure(&self, err: rusqlite::Error) -> RbacError {
        storage_error(&self.location, err)
    }
}

/// A panic while a lock was held cannot have left a transaction open: `Tx` rolls back when dropped.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
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
