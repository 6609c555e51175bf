//! The schema and its forward migrations, versioned by `PRAGMA user_version`.

use rusqlite::{Connection, TransactionBehavior};

use super::connect::{self, Access};
use super::storage_error;
use crate::error::{RbacError, Result};
use crate::store::Location;

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
    // 3: change counts of the user and role lists, so that a process can tell, with one lookup, that a list
    // it read is still current (whoever changed it: this process or another).
    "INSERT INTO counters VALUES ('user_changes', 0), ('role_changes', 0);
     CREATE TRIGGER users_changed_in AFTER INSERT ON users
         BEGIN UPDATE counters SET value = value + 1 WHERE name = 'user_changes'; END;
     CREATE TRIGGER users_changed_out AFTER DELETE ON users
         BEGIN UPDATE counters SET value = value + 1 WHERE name = 'user_changes'; END;
     CREATE TRIGGER roles_changed_in AFTER INSERT ON roles
         BEGIN UPDATE counters SET value = value + 1 WHERE name = 'role_changes'; END;
     CREATE TRIGGER roles_changed_out AFTER DELETE ON roles
         BEGIN UPDATE counters SET value = value + 1 WHERE name = 'role_changes'; END;",
    // 4: one change count for the whole registry, which the store bumps once in every transaction that
    // changes anything: with one lookup, a process tells that anything it read (not only the lists) is
    // still current, whoever changed the file. It replaces the list counts of version 3. And a credential
    // count, bumped by transactions that add, remove or re-hash users: a password checked against a stored
    // hash still matches it while the count stands.
    "INSERT INTO counters VALUES ('changes', 0), ('credentials', 0);
     DROP TRIGGER users_changed_in;
     DROP TRIGGER users_changed_out;
     DROP TRIGGER roles_changed_in;
     DROP TRIGGER roles_changed_out;
     DELETE FROM counters WHERE name IN ('user_changes', 'role_changes');",
    // 5: the audit trail: each record as its line (see `audit`), by number, and the trail's bounds in one
    // row, changed in the same transaction as the records.
    "CREATE TABLE audit (seq INTEGER PRIMARY KEY, record TEXT NOT NULL) STRICT;
     CREATE TABLE audit_chain (
         id INTEGER PRIMARY KEY CHECK (id = 0),
         first INTEGER NOT NULL,
         last INTEGER NOT NULL,
         head TEXT NOT NULL
     ) STRICT;
     INSERT INTO audit_chain VALUES (0, 1, 0, printf('%064d', 0));",
];

/// The tables each schema version has (cumulative). A database that claims a version but lacks one of them is
/// not a registry, and is left alone rather than migrated.
const TABLES: &[&[&str]] = &[
    &[
        "settings",
        "super_users",
        "users",
        "roles",
        "user_roles",
        "counters",
    ],
    &["grants", "privilege_groups", "privilege_group_members"],
    &[],
    &[],
    &["audit", "audit_chain"],
];

/// The schema version this build writes.
pub const CURRENT_VERSION: i64 = MIGRATIONS.len() as i64;

/// Check that the database is a sound registry this build can use, and bring it up to `CURRENT_VERSION`.
/// Nothing is written to a file that fails a check.
pub fn migrate(connection: &mut Connection, location: &Location, access: Access) -> Result<()> {
    let (version, tables) = snapshot(connection).map_err(|err| unreadable(location, err))?;
    check_version(location, version, &tables)?;
    check_integrity(connection, location)?;
    connect::configure(connection, location, access)?;
    if version == CURRENT_VERSION {
        return Ok(());
    }
    if access == Access::ReadOnly {
        return Err(RbacError::Storage {
            message: format!(
                "registry {} has schema version {version} and needs migrating to version {CURRENT_VERSION}, \
                 but this process cannot write the file; open it once with write access",
                location.describe()
            ),
        });
    }
    let fail = |err: rusqlite::Error| storage_error(location, err);
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

/// The first read of a file that is not a SQLite database (random bytes, a damaged header) fails here.
fn unreadable(location: &Location, err: rusqlite::Error) -> RbacError {
    RbacError::Storage {
        message: format!(
            "{} is not a readable milvus-rbac registry ({err}); it was left untouched",
            location.describe()
        ),
    }
}

/// The schema version and the tables, read in one transaction: another process may be creating the registry
/// meanwhile, and a version from before its commit with tables from after it would look like a foreign file.
fn snapshot(connection: &mut Connection) -> rusqlite::Result<(i64, Vec<String>)> {
    let tx = connection.transaction()?;
    let version = schema_version(&tx)?;
    let tables = tx
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")?
        .query_map([], |row| row.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok((version, tables))
}

fn check_version(location: &Location, version: i64, tables: &[String]) -> Result<()> {
    if version > CURRENT_VERSION {
        return Err(RbacError::Storage {
            message: format!(
                "registry {} has schema version {version}, newer than the version {CURRENT_VERSION} this \
                 milvus-rbac understands; upgrade milvus-rbac to open it",
                location.describe()
            ),
        });
    }
    let foreign = |what: String| {
        RbacError::Storage {
        message: format!(
            "{} is a SQLite database but not a milvus-rbac registry ({what}); it was left untouched",
            location.describe()
        ),
    }
    };
    if version < 0 {
        return Err(foreign(format!("schema version {version}")));
    }
    if version == 0 && !tables.is_empty() {
        return Err(foreign("it has tables but no schema version".into()));
    }
    for table in TABLES.iter().take(version as usize).flat_map(|t| t.iter()) {
        if !tables.iter().any(|name| name == table) {
            return Err(foreign(format!(
                "schema version {version} but no table `{table}`"
            )));
        }
    }
    Ok(())
}

/// Files up to this many pages (16 MiB at SQLite's 4 KiB pages, some 100k users) get the full consistency
/// check at every open; larger ones get the O(1) check only, so that opening stays fast at any size.
const FULL_CHECK_MAX_PAGES: i64 = 4096;

/// SQLite's own consistency check, so that a damaged file (truncated, overwritten in part) is refused when it
/// is opened, before anything is written to it. A big file is checked for its length only (a truncated file
/// is caught at once); damage inside it surfaces as an error when its pages are read.
fn check_integrity(connection: &Connection, location: &Location) -> Result<()> {
    let pages: i64 = connection
        .query_row("PRAGMA page_count", [], |row| row.get(0))
        .map_err(|err| damaged(location, &err.to_string()))?;
    if pages > FULL_CHECK_MAX_PAGES {
        return check_length(connection, location, pages);
    }
    let report: String = connection
        .query_row("PRAGMA quick_check(1)", [], |row| row.get(0))
        .map_err(|err| damaged(location, &err.to_string()))?;
    if report == "ok" {
        Ok(())
    } else {
        Err(damaged(location, &report))
    }
}

/// The file must hold every page its header counts.
fn check_length(connection: &Connection, location: &Location, pages: i64) -> Result<()> {
    let Location::File(path) = location else {
        return Ok(());
    };
    let page_size: i64 = connection
        .query_row("PRAGMA page_size", [], |row| row.get(0))
        .map_err(|err| damaged(location, &err.to_string()))?;
    let length = std::fs::metadata(path)
        .map_err(|err| damaged(location, &err.to_string()))?
        .len();
    // The WAL may hold pages the main file does not have yet; SQLite counts those in page_count.
    let mut wal_path = path.as_os_str().to_owned();
    wal_path.push("-wal");
    let wal = std::fs::metadata(&wal_path).map(|m| m.len()).unwrap_or(0);
    let expected = u64::try_from(pages.saturating_mul(page_size)).unwrap_or(u64::MAX);
    if length < expected && wal == 0 {
        return Err(damaged(
            location,
            &format!("the file holds {length} bytes, its header counts {expected}"),
        ));
    }
    Ok(())
}

fn damaged(location: &Location, report: &str) -> RbacError {
    RbacError::Storage {
        message: format!(
            "registry {} is damaged (SQLite reports: {report}); it was left untouched: restore it from a copy \
             or a backup_rbac() dump",
            location.describe()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::store::sqlite::SqliteStore;
    use crate::store::tests::TempFile;

    /// Open `file` as a registry: the refusal's words, and whether the file was left as it was.
    fn refusal(file: &TempFile) -> (String, bool) {
        let before = std::fs::read(&file.0).unwrap();
        let refused = SqliteStore::open(file.0.clone()).unwrap_err().to_string();
        (refused, std::fs::read(&file.0).unwrap() == before)
    }

    /// A SQLite file of another schema, or a registry of a later version, is refused and left untouched.
    #[test]
    fn foreign_and_newer_files_are_refused_untouched() {
        for (setup, says) in [
            (
                "CREATE TABLE notes (text);",
                "it has tables but no schema version",
            ),
            (
                "PRAGMA user_version = 99;",
                "has schema version 99, newer than",
            ),
            ("PRAGMA user_version = -1;", "(schema version -1)"),
            (
                "PRAGMA user_version = 1; CREATE TABLE notes (text);",
                "schema version 1 but no table",
            ),
        ] {
            let file = TempFile::new();
            Connection::open(&file.0)
                .unwrap()
                .execute_batch(setup)
                .unwrap();
            let (refused, untouched) = refusal(&file);
            assert!(refused.contains(says), "{setup}: {refused}");
            assert!(untouched, "{setup}");
        }
    }

    /// A registry with a page overwritten is refused when opened, before anything is written to it.
    #[test]
    fn a_damaged_registry_is_refused_untouched() {
        let file = TempFile::new();
        let store = SqliteStore::open(file.0.clone()).unwrap();
        let writer: &dyn crate::store::Store = &store;
        writer
            .write(|tx| {
                (0..200).try_for_each(|n| tx.insert_role(&format!("role_{n}"), "a description"))
            })
            .unwrap();
        store.close_into_one_file();
        let mut bytes = std::fs::read(&file.0).unwrap();
        let page = 4096;
        assert!(bytes.len() >= 5 * page, "{} bytes", bytes.len());
        let last = bytes.len() - page;
        bytes[last..].fill(0x5a);
        std::fs::write(&file.0, &bytes).unwrap();
        let (refused, untouched) = refusal(&file);
        assert!(refused.contains("is damaged (SQLite reports:"), "{refused}");
        assert!(untouched);
    }

    /// A registry over 4,096 pages gets the length check instead of the full one: whole, it opens; cut short
    /// by a byte (which SQLite, counting pages rounded up, does not see) it is refused as damaged, untouched.
    #[test]
    fn a_big_registry_cut_short_is_refused_untouched() {
        let file = TempFile::new();
        SqliteStore::open(file.0.clone())
            .unwrap()
            .close_into_one_file();
        // Free pages count in the file's length as used ones do: 17 MiB of them make the file big.
        Connection::open(&file.0)
            .unwrap()
            .execute_batch(
                "CREATE TABLE filler (x); INSERT INTO filler VALUES (zeroblob(17825792)); \
                 DROP TABLE filler;",
            )
            .unwrap();
        let length = std::fs::metadata(&file.0).unwrap().len();
        assert!(
            length > 4096 * 4096,
            "{length} bytes: not over the full check's bound"
        );
        SqliteStore::open(file.0.clone())
            .unwrap()
            .close_into_one_file();
        assert_eq!(std::fs::metadata(&file.0).unwrap().len(), length);
        std::fs::File::options()
            .write(true)
            .open(&file.0)
            .unwrap()
            .set_len(length - 1)
            .unwrap();
        let (refused, untouched) = refusal(&file);
        assert!(
            refused.contains(&format!(
                "the file holds {} bytes, its header counts {length}",
                length - 1
            )),
            "{refused}"
        );
        assert!(untouched);
    }

    /// `TABLES` must name what the migrations create, version by version.
    #[test]
    fn the_table_list_matches_the_migrations() {
        let connection = Connection::open_in_memory().unwrap();
        let mut expected: Vec<&str> = Vec::new();
        for (sql, tables) in MIGRATIONS.iter().zip(TABLES) {
            connection.execute_batch(sql).unwrap();
            expected.extend(tables.iter());
            let mut created: Vec<String> = connection
                .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
                .unwrap()
                .query_map([], |row| row.get(0))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            created.sort();
            let mut want: Vec<String> = expected.iter().map(|t| t.to_string()).collect();
            want.sort();
            assert_eq!(created, want);
        }
        assert_eq!(TABLES.len(), MIGRATIONS.len());
    }
}
