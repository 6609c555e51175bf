//! Typed queries inside one transaction. Names sort with SQLite's BINARY collation: byte order, as Milvus lists.

use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::audit::{AuditEntry, AuditLog, Chain};
use crate::error::{RbacError, Result};
use crate::model::{Grant, Group, Names, UserRecord};
use crate::store::{ReadTx, Version, WriteTx};

/// The counts every committed change moves (schema version 4 on).
const VERSION_QUERY: &str = "SELECT (SELECT value FROM counters WHERE name = 'changes'), \
     (SELECT value FROM counters WHERE name = 'credentials')";

const GRANT_COLUMNS: &str = "role_name, object_type, db_name, object_name, privilege, grantor";

fn grant_of(row: &Row<'_>) -> rusqlite::Result<Grant> {
    Ok(Grant {
        role_name: row.get(0)?,
        object_type: row.get(1)?,
        db_name: row.get(2)?,
        object_name: row.get(3)?,
        privilege: row.get(4)?,
        grantor: row.get(5)?,
    })
}

fn user_of(row: &Row<'_>) -> rusqlite::Result<UserRecord> {
    Ok(UserRecord {
        name: row.get(0)?,
        password_hash: row.get(1)?,
        description: row.get(2)?,
    })
}

/// The counts, read on `connection` (in its transaction, or on their own outside any).
pub(super) fn version(connection: &Connection) -> rusqlite::Result<Version> {
    let (changes, credentials): (i64, i64) = connection
        .prepare_cached(VERSION_QUERY)?
        .query_row([], |row| Ok((row.get(0)?, row.get(1)?)))?;
    // They only ever count up from 0.
    Ok(Version {
        changes: changes.max(0).unsigned_abs(),
        credentials: credentials.max(0).unsigned_abs(),
    })
}

/// One open transaction, rolled back when dropped uncommitted.
///
/// `BEGIN` and `COMMIT` run as cached prepared statements: rusqlite's own transactions parse them anew each
/// time, which was a tenth of a short read's cost.
pub(super) struct SqliteTx<'c> {
    connection: &'c Connection,
    committed: bool,
    /// Whether a user was added, removed or re-hashed.
    credentials_changed: bool,
    /// Rows the audit trail's appends changed: those alone do not move the change count.
    audit_rows: u64,
}

/// How a transaction takes its locks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Behavior {
    /// Reads: a snapshot from the first read on.
    Deferred,
    /// Writes: the write lock at once, so that concurrent writers queue on the busy timeout.
    Immediate,
}

impl Drop for SqliteTx<'_> {
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

impl<'c> SqliteTx<'c> {
    pub(super) fn begin(
        connection: &'c Connection,
        behavior: Behavior,
    ) -> rusqlite::Result<SqliteTx<'c>> {
        let begin = match behavior {
            Behavior::Deferred => "BEGIN DEFERRED",
            Behavior::Immediate => "BEGIN IMMEDIATE",
        };
        if !connection.is_autocommit() {
            rollback(connection)?;
        }
        connection.prepare_cached(begin)?.execute([])?;
        Ok(SqliteTx {
            connection,
            committed: false,
            credentials_changed: false,
            audit_rows: 0,
        })
    }

    /// A failed `COMMIT` (SQLITE_BUSY) leaves the transaction open; dropping it then rolls back.
    pub(super) fn commit(mut self) -> rusqlite::Result<()> {
        self.connection.prepare_cached("COMMIT")?.execute([])?;
        self.committed = true;
        Ok(())
    }

    /// Move the counts: this transaction changed something (and maybe credentials).
    pub(super) fn count_change(&self) -> Result<()> {
        if self.credentials_changed {
            self.execute(
                "UPDATE counters SET value = value + 1 WHERE name = 'credentials'",
                [],
            )?;
        }
        self.execute(
            "UPDATE counters SET value = value + 1 WHERE name = 'changes'",
            [],
        )
        .map(drop)
    }

    /// Whether anything but the audit trail changed since `total_changes` was `before`.
    pub(super) fn changed_registry_since(&self, before: u64) -> bool {
        self.connection.total_changes() - before > self.audit_rows
    }

    /// Note that `rows` rows of users were added, removed or re-hashed.
    fn credentials_touched(&mut self, rows: usize) -> Result<bool> {
        self.credentials_changed |= rows > 0;
        Ok(rows > 0)
    }

    fn execute(&self, sql: &str, params: impl rusqlite::Params) -> Result<usize> {
        self.connection
            .prepare_cached(sql)
            .and_then(|mut statement| statement.execute(params))
            .map_err(failed)
    }

    fn optional<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        read: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Option<T>> {
        self.connection
            .prepare_cached(sql)
            .and_then(|mut statement| statement.query_row(params, read).optional())
            .map_err(failed)
    }

    fn rows<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        read: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>> {
        self.connection
            .prepare_cached(sql)
            .and_then(|mut statement| {
                statement
                    .query_map(params, read)?
                    .collect::<rusqlite::Result<Vec<T>>>()
            })
            .map_err(failed)
    }

    fn texts(&self, sql: &str, params: impl rusqlite::Params) -> Result<Vec<String>> {
        self.rows(sql, params, |row| row.get(0))
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

    fn exists(&self, sql: &str, params: impl rusqlite::Params) -> Result<bool> {
        self.connection
            .prepare_cached(sql)
            .and_then(|mut statement| statement.exists(params))
            .map_err(failed)
    }

    fn counter(&self, name: &str) -> Result<u64> {
        let value: i64 = self
            .connection
            .prepare_cached("SELECT value FROM counters WHERE name = ?1")
            .and_then(|mut statement| statement.query_row([name], |row| row.get(0)))
            .map_err(failed)?;
        // Triggers keep the row counts: never negative.
        Ok(value.max(0).unsigned_abs())
    }
}

/// The audit trail's bounds.
fn audit_chain(connection: &Connection) -> Result<Chain> {
    connection
        .prepare_cached("SELECT first, last, head FROM audit_chain WHERE id = 0")
        .and_then(|mut statement| {
            statement.query_row([], |row| {
                Ok(Chain {
                    first: row.get::<_, i64>(0)?.max(0).unsigned_abs(),
                    last: row.get::<_, i64>(1)?.max(0).unsigned_abs(),
                    head: row.get(2)?,
                })
            })
        })
        .map_err(failed)
}

impl SqliteTx<'_> {
    /// The audit trail as this transaction sees it.
    pub(super) fn audit_log(&self) -> Result<AuditLog> {
        let chain = audit_chain(self.connection)?;
        let lines = self
            .connection
            .prepare_cached("SELECT seq, record FROM audit ORDER BY seq")
            .and_then(|mut statement| {
                statement
                    .query_map([], |row| {
                        Ok((row.get::<_, i64>(0)?.max(0).unsigned_abs(), row.get(1)?))
                    })?
                    .collect::<rusqlite::Result<Vec<(u64, String)>>>()
            })
            .map_err(failed)?;
        Ok(AuditLog { chain, lines })
    }
}

impl ReadTx for SqliteTx<'_> {
    fn version(&self) -> Result<Version> {
        version(self.connection).map_err(failed)
    }

    fn setting(&self, key: &str) -> Result<Option<String>> {
        self.optional("SELECT value FROM settings WHERE key = ?1", [key], |row| {
            row.get(0)
        })
    }

    fn super_users(&self) -> Result<Vec<String>> {
        self.texts("SELECT name FROM super_users ORDER BY name", [])
    }

    fn user(&self, name: &str) -> Result<Option<UserRecord>> {
        self.optional(
            "SELECT name, password_hash, description FROM users WHERE name = ?1",
            [name],
            user_of,
        )
    }

    fn user_count(&self) -> Result<u64> {
        self.counter("users")
    }

    fn user_names(&self) -> Result<Names> {
        self.names("SELECT name FROM users ORDER BY name")
    }

    fn users(&self) -> Result<Vec<UserRecord>> {
        self.rows(
            "SELECT name, password_hash, description FROM users ORDER BY name",
            [],
            user_of,
        )
    }

    fn roles_of_user(&self, name: &str) -> Result<Vec<String>> {
        self.texts(
            "SELECT role_name FROM user_roles WHERE user_name = ?1 ORDER BY role_name",
            [name],
        )
    }

    fn role(&self, name: &str) -> Result<Option<String>> {
        self.optional(
            "SELECT description FROM roles WHERE name = ?1",
            [name],
            |row| row.get(0),
        )
    }

    fn role_count(&self) -> Result<u64> {
        self.counter("roles")
    }

    fn role_names(&self) -> Result<Names> {
        self.names("SELECT name FROM roles ORDER BY name")
    }

    fn grants_of_role(&self, role: &str) -> Result<Vec<Grant>> {
        self.rows(
            &format!(
                "SELECT {GRANT_COLUMNS} FROM grants WHERE role_name = ?1 \
                 ORDER BY object_type, db_name, object_name, privilege"
            ),
            [role],
            grant_of,
        )
    }

    fn grants(&self) -> Result<Vec<Grant>> {
        self.rows(
            &format!(
                "SELECT {GRANT_COLUMNS} FROM grants \
                 ORDER BY role_name, object_type, db_name, object_name, privilege"
            ),
            [],
            grant_of,
        )
    }

    fn role_holding(&self, privilege: &str) -> Result<Option<String>> {
        self.optional(
            "SELECT role_name FROM grants WHERE privilege = ?1 ORDER BY role_name LIMIT 1",
            [privilege],
            |row| row.get(0),
        )
    }

    fn group_exists(&self, name: &str) -> Result<bool> {
        self.exists("SELECT 1 FROM privilege_groups WHERE name = ?1", [name])
    }

    fn group_members(&self, name: &str) -> Result<Vec<String>> {
        self.texts(
            "SELECT privilege FROM privilege_group_members WHERE group_name = ?1 ORDER BY privilege",
            [name],
        )
    }

    fn groups(&self) -> Result<Vec<Group>> {
        // Two queries, whatever the number of groups (empty groups count).
        let mut groups: Vec<Group> = self
            .texts("SELECT name FROM privilege_groups ORDER BY name", [])?
            .into_iter()
            .map(|name| Group {
                name,
                privileges: Vec::new(),
            })
            .collect();
        let members: Vec<(String, String)> = self.rows(
            "SELECT group_name, privilege FROM privilege_group_members ORDER BY group_name, privilege",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?;
        for (group, privilege) in members {
            if let Ok(at) = groups.binary_search_by(|known| known.name.as_str().cmp(&group)) {
                groups[at].privileges.push(privilege);
            }
        }
        Ok(groups)
    }
}

impl WriteTx for SqliteTx<'_> {
    fn set_setting(&mut self, key: &str, value: &str) -> Result<()> {
        self.execute(
            "INSERT OR REPLACE INTO settings (key, value) VALUES (?1, ?2)",
            [key, value],
        )
        .map(drop)
    }

    fn add_super_user(&mut self, name: &str) -> Result<()> {
        self.execute(
            "INSERT OR IGNORE INTO super_users (name) VALUES (?1)",
            [name],
        )
        .map(drop)
    }

    fn insert_user(&mut self, name: &str, password_hash: &str, description: &str) -> Result<()> {
        let rows = self.execute(
            "INSERT INTO users (name, password_hash, description) VALUES (?1, ?2, ?3)",
            [name, password_hash, description],
        )?;
        self.credentials_touched(rows).map(drop)
    }

    fn set_password_hash(&mut self, name: &str, password_hash: &str) -> Result<bool> {
        let rows = self.execute(
            "UPDATE users SET password_hash = ?2 WHERE name = ?1",
            [name, password_hash],
        )?;
        self.credentials_touched(rows)
    }

    fn set_user_description(&mut self, name: &str, description: &str) -> Result<bool> {
        self.execute(
            "UPDATE users SET description = ?2 WHERE name = ?1",
            [name, description],
        )
        .map(|rows| rows > 0)
    }

    fn delete_user(&mut self, name: &str) -> Result<bool> {
        // Memberships go by the foreign key's cascade.
        let rows = self.execute("DELETE FROM users WHERE name = ?1", [name])?;
        self.credentials_touched(rows)
    }

    fn insert_role(&mut self, name: &str, description: &str) -> Result<()> {
        self.execute(
            "INSERT INTO roles (name, description) VALUES (?1, ?2)",
            [name, description],
        )
        .map(drop)
    }

    fn set_role_description(&mut self, name: &str, description: &str) -> Result<bool> {
        self.execute(
            "UPDATE roles SET description = ?2 WHERE name = ?1",
            [name, description],
        )
        .map(|rows| rows > 0)
    }

    fn delete_role(&mut self, name: &str) -> Result<bool> {
        // Memberships and grants go by the foreign keys' cascade.
        self.execute("DELETE FROM roles WHERE name = ?1", [name])
            .map(|rows| rows > 0)
    }

    fn add_user_role(&mut self, user: &str, role: &str) -> Result<()> {
        self.execute(
            "INSERT OR IGNORE INTO user_roles (user_name, role_name) VALUES (?1, ?2)",
            params![user, role],
        )
        .map(drop)
    }

    fn remove_user_role(&mut self, user: &str, role: &str) -> Result<()> {
        self.execute(
            "DELETE FROM user_roles WHERE user_name = ?1 AND role_name = ?2",
            params![user, role],
        )
        .map(drop)
    }

    fn insert_grant(&mut self, grant: &Grant) -> Result<()> {
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

    fn delete_grant(&mut self, grant: &Grant) -> Result<()> {
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

    fn insert_group(&mut self, name: &str) -> Result<()> {
        self.execute("INSERT INTO privilege_groups (name) VALUES (?1)", [name])
            .map(drop)
    }

    fn delete_group(&mut self, name: &str) -> Result<()> {
        self.execute("DELETE FROM privilege_groups WHERE name = ?1", [name])
            .map(drop)
    }

    fn add_group_member(&mut self, group: &str, privilege: &str) -> Result<()> {
        self.execute(
            "INSERT OR IGNORE INTO privilege_group_members (group_name, privilege) VALUES (?1, ?2)",
            [group, privilege],
        )
        .map(drop)
    }

    fn remove_group_member(&mut self, group: &str, privilege: &str) -> Result<()> {
        self.execute(
            "DELETE FROM privilege_group_members WHERE group_name = ?1 AND privilege = ?2",
            [group, privilege],
        )
        .map(drop)
    }

    fn append_audit(&mut self, entry: &AuditEntry, keep: u64) -> Result<()> {
        let before = self.connection.total_changes();
        let mut chain = audit_chain(self.connection)?;
        let (record, dropped) = chain.append(entry.clone(), keep);
        let number = |seq: u64| i64::try_from(seq).unwrap_or(i64::MAX);
        self.execute(
            "INSERT INTO audit (seq, record) VALUES (?1, ?2)",
            params![number(record.seq), record.encode()],
        )?;
        if !dropped.is_empty() {
            self.execute(
                "DELETE FROM audit WHERE seq >= ?1 AND seq < ?2",
                params![number(dropped.start), number(dropped.end)],
            )?;
        }
        self.execute(
            "UPDATE audit_chain SET first = ?1, last = ?2, head = ?3 WHERE id = 0",
            params![number(chain.first), number(chain.last), chain.head],
        )?;
        self.audit_rows += self.connection.total_changes() - before;
        Ok(())
    }
}
