//! The schema and its forward migrations, versioned by `PRAGMA user_version`.

use rusqlite::{Connection, TransactionBehavior};

use super::{sqlite, storage_error, Location};
use crate::error::{RbacError, Result};

/// Each entry takes the schema from version `index` to `index + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: users, roles, memberships, settings; counters kept by triggers so that limits cost O(1).
    "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
     CREATE TABLE super_users (name TEXT PRIMARY KEY) STRICT;
     CREATE TABLE users (
         name TEXT PRIMARY KEY,
         password_hash TEXT NOT NULL,
         description TEXT NOT NULL DEFAULT ''
     ) STRICT;
     CREATE TABLE roles (name TEXT PRIMARY KEY, description TEXT NOT NULL DEFAULT '') STRICT;
     CREATE TABLE user_roles (
         user_name TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
         role_name TEXT NOT NULL REFERENCES roles(name) ON DELETE CASCADE,
         PRIMARY KEY (user_name, role_name)
     ) STRICT, WITHOUT ROWID;
     CREATE INDEX user_roles_by_role ON user_roles(role_name, user_name);
     CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) STRICT;
     INSERT INTO counters VALUES ('users', 0), ('roles', 0);
     CREATE TRIGGER users_counted_in AFTER INSERT ON users
         BEGIN UPDATE counters SET value = value + 1 WHERE name = 'users'; END;
     CREATE TRIGGER users_counted_out AFTER DELETE ON users
         BEGIN UPDATE counters SET value = value - 1 WHERE name = 'users'; END;
     CREATE TRIGGER roles_counted_in AFTER INSERT ON roles
         BEGIN UPDATE counters SET value = value + 1 WHERE name = 'roles'; END;
     CREATE TRIGGER roles_counted_out AFTER DELETE ON roles
         BEGIN UPDATE counters SET value = value - 1 WHERE name = 'roles'; END;",
    // 2: grants and custom privilege groups. A role's grants go with it.
    "CREATE TABLE grants (
         role_name TEXT NOT NULL REFERENCES roles(name) ON DELETE CASCADE,
         object_type TEXT NOT NULL,
         db_name TEXT NOT NULL,
         object_name TEXT NOT NULL,
         privilege TEXT NOT NULL,
         grantor TEXT NOT NULL,
         PRIMARY KEY (role_name, object_type, db_name, object_name, privilege)
     ) STRICT, WITHOUT ROWID;
     CREATE INDEX grants_by_privilege ON grants(privilege, role_name);
     CREATE TABLE privilege_groups (name TEXT PRIMARY KEY) STRICT;
     CREATE TABLE privilege_group_members (
         group_name TEXT NOT NULL REFERENCES privilege_groups(name) ON DELETE CASCADE,
         privilege TEXT NOT NULL,
         PRIMARY KEY (group_name, privilege)
     ) STRICT, WITHOUT ROWID;",
];

/// The schema version this build writes.
pub const CURRENT_VERSION: i64 = MIGRATIONS.len() as i64;

/// Check that the database is a registry this build can use, and bring it up to `CURRENT_VERSION`.
pub fn migrate(connection: &mut Connection, location: &Location) -> Result<()> {
    let fail = |err: rusqlite::Error| storage_error(location, err);
    let version = schema_version(connection).map_err(fail)?;
    check_version(connection, location, version)?;
    sqlite::configure(connection, location)?;
    if version == CURRENT_VERSION {
        return Ok(());
    }
    let tx = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(fail)?;
    // Another process may have migrated while this one waited for the lock.
    let version = schema_version(&tx).map_err(fail)?;
    for (from, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        tx.execute_batch(sql).map_err(fail)?;
        tx.pragma_update(None, "user_version", from as i64 + 1)
            .map_err(fail)?;
    }
    tx.commit().map_err(fail)
}

fn schema_version(connection: &Connection) -> rusqlite::Result<i64> {
    connection.query_row("PRAGMA user_version", [], |row| row.get(0))
}

fn check_version(connection: &Connection, location: &Location, version: i64) -> Result<()> {
    if version > CURRENT_VERSION {
        return Err(RbacError::Storage {
            message: format!(
                "registry {} has schema version {version}, newer than the version {CURRENT_VERSION} this \
                 milvus-rbac understands; upgrade milvus-rbac to open it",
                location.describe()
            ),
        });
    }
    if version == 0 {
        let tables: i64 = connection
            .query_row("SELECT count(*) FROM sqlite_master", [], |row| row.get(0))
            .map_err(|err| storage_error(location, err))?;
        if tables > 0 {
            return Err(RbacError::Storage {
                message: format!(
                    "{} is a SQLite database but not a milvus-rbac registry; it was left untouched",
                    location.describe()
                ),
            });
        }
    }
    Ok(())
}
