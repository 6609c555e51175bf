//! Persistence: one SQLite database per registry, reached only through transactions.
//!
//! Every operation runs in one transaction: reads in a deferred one (a consistent snapshot), writes in an
//! `IMMEDIATE` one, so that concurrent writers in other processes queue on the busy timeout instead of failing
//! half-way. A file this process cannot write opens read-only: reads work, writes fail with a clear error.

mod schema;
mod sqlite;
mod tx;

use std::path::PathBuf;
use std::sync::Mutex;

use rusqlite::{Connection, TransactionBehavior};

use crate::error::{RbacError, Result};
use sqlite::Access;
pub use tx::{Grant, StoredUser, Tx};

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
    connection: Mutex<Connection>,
    location: Location,
    access: Access,
}

impl Store {
    /// Open (creating if needed) the database at `location` and bring its schema up to date.
    pub fn open(location: Location) -> Result<Store> {
        let (mut connection, access) = sqlite::connect(&location)?;
        schema::migrate(&mut connection, &location, access)?;
        Ok(Store {
            connection: Mutex::new(connection),
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
        self.transact(TransactionBehavior::Deferred, work)
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
        self.transact(TransactionBehavior::Immediate, work)
    }

    fn transact<T>(
        &self,
        behavior: TransactionBehavior,
        work: impl FnOnce(&Tx<'_>) -> Result<T>,
    ) -> Result<T> {
        // A panic while the lock was held cannot have left a transaction open: rusqlite rolls back on drop.
        let mut connection = self
            .connection
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let transaction = connection
            .transaction_with_behavior(behavior)
            .map_err(|err| self.failure(err))?;
        let tx = Tx::new(transaction);
        let value = work(&tx)?;
        tx.commit().map_err(|err| self.failure(err))?;
        Ok(value)
    }

    fn failure(&self, err: rusqlite::Error) -> RbacError {
        storage_error(&self.location, err)
    }
}

/// A storage failure, naming the registry.
fn storage_error(location: &Location, err: impl std::fmt::Display) -> RbacError {
    RbacError::storage(
        &format!("registry {} cannot be used", location.describe()),
        err,
    )
}
