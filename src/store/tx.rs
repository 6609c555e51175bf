//! Typed queries inside one transaction. Names sort with SQLite's BINARY collation: byte order, as Milvus lists.

use rusqlite::{params, OptionalExtension, Transaction};

use crate::error::{RbacError, Result};

/// One open transaction.
pub struct Tx<'c> {
    transaction: Transaction<'c>,
}

fn failed(err: rusqlite::Error) -> RbacError {
    RbacError::storage("registry storage failed", err)
}

impl<'c> Tx<'c> {
    pub(super) fn new(transaction: Transaction<'c>) -> Tx<'c> {
        Tx { transaction }
    }

    pub(super) fn commit(self) -> rusqlite::Result<()> {
        self.transaction.commit()
    }

    fn execute(&self, sql: &str, params: impl rusqlite::Params) -> Result<usize> {
        self.transaction
            .prepare_cached(sql)
            .and_then(|mut statement| statement.execute(params))
            .map_err(failed)
    }

    fn optional_text(&self, sql: &str, params: impl rusqlite::Params) -> Result<Option<String>> {
        self.transaction
            .prepare_cached(sql)
            .and_then(|mut statement| statement.query_row(params, |row| row.get(0)).optional())
            .map_err(failed)
    }

    fn texts(&self, sql: &str, params: impl rusqlite::Params) -> Result<Vec<String>> {
        self.transaction
            .prepare_cached(sql)
            .and_then(|mut statement| {
                statement
                    .query_map(params, |row| row.get(0))?
                    .collect::<rusqlite::Result<Vec<String>>>()
            })
            .map_err(failed)
    }

    fn exists(&self, sql: &str, params: impl rusqlite::Params) -> Result<bool> {
        self.transaction
            .prepare_cached(sql)
            .and_then(|mut statement| statement.exists(params))
            .map_err(failed)
    }

    // Settings

    pub fn setting(&self, key: &str) -> Result<Option<String>> {
        self.optional_text("SELECT value FROM settings WHERE key = ?1", [key])
    }

    pub fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        self.execute(
            "INSERT OR REPLACE INTO settings (key, value) VALUES (?1, ?2)",
            [key, value],
        )
        .map(drop)
    }

    pub fn super_users(&self) -> Result<Vec<String>> {
        self.texts("SELECT name FROM super_users ORDER BY name", [])
    }

    pub fn add_super_user(&self, name: &str) -> Result<()> {
        self.execute(
            "INSERT OR IGNORE INTO super_users (name) VALUES (?1)",
            [name],
        )
        .map(drop)
    }

    fn counter(&self, name: &str) -> Result<u64> {
        let value: i64 = self
            .transaction
            .prepare_cached("SELECT value FROM counters WHERE name = ?1")
            .and_then(|mut statement| statement.query_row([name], |row| row.get(0)))
            .map_err(failed)?;
        // The triggers keep counters at the row count, which is never negative.
        Ok(value.max(0).unsigned_abs())
    }

    // Users

    pub fn user_count(&self) -> Result<u64> {
        self.counter("users")
    }

    pub fn user_exists(&self, name: &str) -> Result<bool> {
        self.exists("SELECT 1 FROM users WHERE name = ?1", [name])
    }

    pub fn password_hash(&self, name: &str) -> Result<Option<String>> {
        self.optional_text("SELECT password_hash FROM users WHERE name = ?1", [name])
    }

    pub fn user_description(&self, name: &str) -> Result<Option<String>> {
        self.optional_text("SELECT description FROM users WHERE name = ?1", [name])
    }

    pub fn insert_user(&self, name: &str, password_hash: &str, description: &str) -> Result<()> {
        self.execute(
            "INSERT INTO users (name, password_hash, description) VALUES (?1, ?2, ?3)",
            [name, password_hash, description],
        )
        .map(drop)
    }

    /// Returns whether the user existed.
    pub fn set_password_hash(&self, name: &str, password_hash: &str) -> Result<bool> {
        self.execute(
            "UPDATE users SET password_hash = ?2 WHERE name = ?1",
            [name, password_hash],
        )
        .map(|rows| rows > 0)
    }

    /// Returns whether the user existed.
    pub fn set_user_description(&self, name: &str, description: &str) -> Result<bool> {
        self.execute(
            "UPDATE users SET description = ?2 WHERE name = ?1",
            [name, description],
        )
        .map(|rows| rows > 0)
    }

    /// Deletes the user and its memberships. Returns whether it existed.
    pub fn delete_user(&self, name: &str) -> Result<bool> {
        self.execute("DELETE FROM users WHERE name = ?1", [name])
            .map(|rows| rows > 0)
    }

    pub fn user_names(&self) -> Result<Vec<String>> {
        self.texts("SELECT name FROM users ORDER BY name", [])
    }

    pub fn roles_of_user(&self, name: &str) -> Result<Vec<String>> {
        self.texts(
            "SELECT role_name FROM user_roles WHERE user_name = ?1 ORDER BY role_name",
            [name],
        )
    }

    // Roles

    pub fn role_count(&self) -> Result<u64> {
        self.counter("roles")
    }

    pub fn role_exists(&self, name: &str) -> Result<bool> {
        self.exists("SELECT 1 FROM roles WHERE name = ?1", [name])
    }

    pub fn insert_role(&self, name: &str, description: &str) -> Result<()> {
        self.execute(
            "INSERT INTO roles (name, description) VALUES (?1, ?2)",
            [name, description],
        )
        .map(drop)
    }

    /// Returns whether the role existed.
    pub fn set_role_description(&self, name: &str, description: &str) -> Result<bool> {
        self.execute(
            "UPDATE roles SET description = ?2 WHERE name = ?1",
            [name, description],
        )
        .map(|rows| rows > 0)
    }

    /// Deletes the role and its memberships. Returns whether it existed.
    pub fn delete_role(&self, name: &str) -> Result<bool> {
        self.execute("DELETE FROM roles WHERE name = ?1", [name])
            .map(|rows| rows > 0)
    }

    pub fn role_names(&self) -> Result<Vec<String>> {
        self.texts("SELECT name FROM roles ORDER BY name", [])
    }

    // Memberships

    /// Adding an existing membership is a no-op, as in Milvus.
    pub fn add_user_role(&self, user: &str, role: &str) -> Result<()> {
        self.execute(
            "INSERT OR IGNORE INTO user_roles (user_name, role_name) VALUES (?1, ?2)",
            params![user, role],
        )
        .map(drop)
    }

    pub fn remove_user_role(&self, user: &str, role: &str) -> Result<()> {
        self.execute(
            "DELETE FROM user_roles WHERE user_name = ?1 AND role_name = ?2",
            params![user, role],
        )
        .map(drop)
    }
}
