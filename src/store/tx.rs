//! Typed queries inside one transaction. Names sort with SQLite's BINARY collation: byte order, as Milvus lists.

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::Names;
use crate::error::{RbacError, Result};

/// One stored grant: `privilege` on `object_type`/`db_name`.`object_name`, held by `role_name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub role_name: String,
    pub object_type: String,
    pub db_name: String,
    pub object_name: String,
    pub privilege: String,
    pub grantor: String,
}

impl Grant {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<Grant> {
        Ok(Grant {
            role_name: row.get(0)?,
            object_type: row.get(1)?,
            db_name: row.get(2)?,
            object_name: row.get(3)?,
            privilege: row.get(4)?,
            grantor: row.get(5)?,
        })
    }
}

/// A stored user, for backups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredUser {
    pub name: String,
    pub password_hash: String,
    pub description: String,
}

const GRANT_COLUMNS: &str = "role_name, object_type, db_name, object_name, privilege, grantor";

/// One open transaction, rolled back when dropped uncommitted.
///
/// `BEGIN` and `COMMIT` run as cached prepared statements: rusqlite's own transactions parse them anew each
/// time, which was a tenth of a short read's cost.
pub struct Tx<'c> {
    connection: &'c Connection,
    committed: bool,
}

/// How a transaction takes its locks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behavior {
    /// Reads: a snapshot from the first read on.
    Deferred,
    /// Writes: the write lock at once, so that concurrent writers queue on the busy timeout.
    Immediate,
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if !self.committed && !self.connection.is_autocommit() {
            // Nothing to report to: the operation already failed. Should this fail too, the next `begin` on
            // the connection rolls back first.
            let _ = rollback(self.connection);
        }
    }
}

fn rollback(connection: &Connection) -> rusqlite::Result<()> {
    connection
        .prepare_cached("ROLLBACK")
        .and_then(|mut statement| statement.execute([]))
        .map(drop)
}

fn failed(err: rusqlite::Error) -> RbacError {
    RbacError::storage("registry storage failed", err)
}

impl<'c> Tx<'c> {
    pub(super) fn begin(
        connection: &'c Connection,
        behavior: Behavior,
    ) -> rusqlite::Result<Tx<'c>> {
        let begin = match behavior {
            Behavior::Deferred => "BEGIN DEFERRED",
            Behavior::Immediate => "BEGIN IMMEDIATE",
        };
        if !connection.is_autocommit() {
            rollback(connection)?;
        }
        connection.prepare_cached(begin)?.execute([])?;
        Ok(Tx {
            connection,
            committed: false,
        })
    }

    /// A failed `COMMIT` (SQLITE_BUSY) leaves the transaction open; dropping it then rolls back.
    pub(super) fn commit(mut self) -> rusqlite::Result<()> {
        self.connection.prepare_cached("COMMIT")?.execute([])?;
        self.committed = true;
        Ok(())
    }

    fn execute(&self, sql: &str, params: impl rusqlite::Params) -> Result<usize> {
        self.connection
            .prepare_cached(sql)
            .and_then(|mut statement| statement.execute(params))
            .map_err(failed)
    }

    fn optional_text(&self, sql: &str, params: impl rusqlite::Params) -> Result<Option<String>> {
        self.connection
            .prepare_cached(sql)
            .and_then(|mut statement| statement.query_row(params, |row| row.get(0)).optional())
            .map_err(failed)
    }

    fn texts(&self, sql: &str, params: impl rusqlite::Params) -> Result<Vec<String>> {
        self.connection
            .prepare_cached(sql)
            .and_then(|mut statement| {
                statement
                    .query_map(params, |row| row.get(0))?
                    .collect::<rusqlite::Result<Vec<String>>>()
            })
            .map_err(failed)
    }

    fn names(&self, sql: &str) -> Result<Names> {
        self.connection
            .prepare_cached(sql)
            .and_then(|mut statement| {
                let mut names = Names::default();
                let mut rows = statement.query([])?;
                while let Some(row) = rows.next()? {
                    names.push(row.get_ref(0)?.as_str()?);
                }
                Ok(names)
            })
            .map_err(failed)
    }

    fn grants(&self, sql: &str, params: impl rusqlite::Params) -> Result<Vec<Grant>> {
        self.connection
            .prepare_cached(sql)
            .and_then(|mut statement| {
                statement
                    .query_map(params, Grant::from_row)?
                    .collect::<rusqlite::Result<Vec<Grant>>>()
            })
            .map_err(failed)
    }

    fn exists(&self, sql: &str, params: impl rusqlite::Params) -> Result<bool> {
        self.connection
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
            .connection
            .prepare_cached("SELECT value FROM counters WHERE name = ?1")
            .and_then(|mut statement| statement.query_row([name], |row| row.get(0)))
            .map_err(failed)?;
        // Triggers keep the counters: row counts and change counts, never negative.
        Ok(value.max(0).unsigned_abs())
    }

    // Users

    pub fn user_count(&self) -> Result<u64> {
        self.counter("users")
    }

    /// A number that changes whenever a user is added or removed.
    pub fn user_list_version(&self) -> Result<u64> {
        self.counter("user_changes")
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

    pub fn user_names(&self) -> Result<Names> {
        self.names("SELECT name FROM users ORDER BY name")
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

    /// A number that changes whenever a role is added or removed.
    pub fn role_list_version(&self) -> Result<u64> {
        self.counter("role_changes")
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

    pub fn role_names(&self) -> Result<Names> {
        self.names("SELECT name FROM roles ORDER BY name")
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

    // Grants

    /// Granting what is granted already is a no-op that keeps the first grantor, as in Milvus.
    pub fn insert_grant(&self, grant: &Grant) -> Result<()> {
        self.execute(
            &format!(
                "INSERT OR IGNORE INTO grants ({GRANT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
            ),
            params![
                grant.role_name,
                grant.object_type,
                grant.db_name,
                grant.object_name,
                grant.privilege,
                grant.grantor
            ],
        )
        .map(drop)
    }

    /// Revoking what is not granted is a no-op.
    pub fn delete_grant(&self, grant: &Grant) -> Result<()> {
        self.execute(
            "DELETE FROM grants WHERE role_name = ?1 AND object_type = ?2 AND db_name = ?3 \
             AND object_name = ?4 AND privilege = ?5",
            params![
                grant.role_name,
                grant.object_type,
                grant.db_name,
                grant.object_name,
                grant.privilege
            ],
        )
        .map(drop)
    }

    /// Every grant of a role, in every database.
    pub fn grants_of_role(&self, role: &str) -> Result<Vec<Grant>> {
        self.grants(
            &format!("SELECT {GRANT_COLUMNS} FROM grants WHERE role_name = ?1"),
            [role],
        )
    }

    /// Every grant of every role.
    pub fn all_grants(&self) -> Result<Vec<Grant>> {
        self.grants(
            &format!("SELECT {GRANT_COLUMNS} FROM grants ORDER BY role_name"),
            [],
        )
    }

    pub fn delete_grants_of_role(&self, role: &str) -> Result<()> {
        self.execute("DELETE FROM grants WHERE role_name = ?1", [role])
            .map(drop)
    }

    /// The first role (by name) holding a grant of `privilege`.
    pub fn role_granted(&self, privilege: &str) -> Result<Option<String>> {
        self.optional_text(
            "SELECT role_name FROM grants WHERE privilege = ?1 ORDER BY role_name LIMIT 1",
            [privilege],
        )
    }

    // Custom privilege groups

    pub fn group_exists(&self, name: &str) -> Result<bool> {
        self.exists("SELECT 1 FROM privilege_groups WHERE name = ?1", [name])
    }

    pub fn insert_group(&self, name: &str) -> Result<()> {
        self.execute("INSERT INTO privilege_groups (name) VALUES (?1)", [name])
            .map(drop)
    }

    /// Deletes the group and its members.
    pub fn delete_group(&self, name: &str) -> Result<()> {
        self.execute("DELETE FROM privilege_groups WHERE name = ?1", [name])
            .map(drop)
    }

    pub fn group_names(&self) -> Result<Vec<String>> {
        self.texts("SELECT name FROM privilege_groups ORDER BY name", [])
    }

    /// A group's privileges in byte order.
    pub fn group_members(&self, name: &str) -> Result<Vec<String>> {
        self.texts(
            "SELECT privilege FROM privilege_group_members WHERE group_name = ?1 ORDER BY privilege",
            [name],
        )
    }

    /// Every (group, privilege) pair, each group's privileges in byte order.
    pub fn all_group_members(&self) -> Result<Vec<(String, String)>> {
        self.connection
            .prepare_cached(
                "SELECT group_name, privilege FROM privilege_group_members ORDER BY group_name, privilege",
            )
            .and_then(|mut statement| {
                statement
                    .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
                    .collect()
            })
            .map_err(failed)
    }

    pub fn add_group_member(&self, group: &str, privilege: &str) -> Result<()> {
        self.execute(
            "INSERT OR IGNORE INTO privilege_group_members (group_name, privilege) VALUES (?1, ?2)",
            [group, privilege],
        )
        .map(drop)
    }

    pub fn remove_group_member(&self, group: &str, privilege: &str) -> Result<()> {
        self.execute(
            "DELETE FROM privilege_group_members WHERE group_name = ?1 AND privilege = ?2",
            [group, privilege],
        )
        .map(drop)
    }

    // Backups

    /// Every user with its password hash, in byte order.
    pub fn stored_users(&self) -> Result<Vec<StoredUser>> {
        self.connection
            .prepare_cached("SELECT name, password_hash, description FROM users ORDER BY name")
            .and_then(|mut statement| {
                statement
                    .query_map([], |row| {
                        Ok(StoredUser {
                            name: row.get(0)?,
                            password_hash: row.get(1)?,
                            description: row.get(2)?,
                        })
                    })?
                    .collect()
            })
            .map_err(failed)
    }

    pub fn role_description(&self, name: &str) -> Result<Option<String>> {
        self.optional_text("SELECT description FROM roles WHERE name = ?1", [name])
    }
}
