//! The promises of the store interface (see the module's documentation), checked on every store.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use super::{open, Location, Store};
use crate::audit::{self, AuditEntry, AuditLog, AuditRecord};
use crate::error::{RbacError, Result};
use crate::model::{Grant, Group};

/// A file path no other test uses, removed (with its WAL files) when dropped.
pub(crate) struct TempFile(pub(crate) PathBuf);

/// A path in the temporary directory that no other test running now uses: `kind`, then unique, then `suffix`.
fn unique_temp_path(kind: &str, suffix: &str) -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "milvus-rbac-{kind}-{}-{}{suffix}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    std::env::temp_dir().join(name)
}

impl TempFile {
    pub(crate) fn new() -> TempFile {
        TempFile(unique_temp_path("store", ".db"))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut path = self.0.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(path);
        }
    }
}

/// A directory no other test uses, removed (its modes restored first) when dropped.
pub(crate) struct TempDir(pub(crate) PathBuf);

impl TempDir {
    pub(crate) fn new() -> TempDir {
        let path = unique_temp_path("dir", "");
        // Left by an earlier process of the same number, killed before it could remove it.
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir(&path).unwrap();
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&self.0, std::fs::Permissions::from_mode(0o700));
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Run `check` on a fresh store of each kind.
fn on_every_store(check: impl Fn(&dyn Store)) {
    check(open(Location::Memory).unwrap().as_ref());
    let file = TempFile::new();
    check(open(Location::File(file.0.clone())).unwrap().as_ref());
    #[cfg(feature = "etcd")]
    if let Some(location) = fresh_etcd() {
        check(open(location).unwrap().as_ref());
    }
}

/// A prefix no other test uses, on the test etcd (if there is one).
#[cfg(feature = "etcd")]
pub(super) fn fresh_etcd() -> Option<Location> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let endpoint = super::etcd::testing::endpoint()?;
    Some(Location::Etcd(super::EtcdLocation {
        endpoints: vec![endpoint],
        prefix: format!(
            "/test-{}-{}/",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ),
    }))
}

fn grant(role: &str, object_type: &str, db: &str, object: &str, privilege: &str) -> Grant {
    Grant {
        role_name: role.into(),
        object_type: object_type.into(),
        db_name: db.into(),
        object_name: object.into(),
        privilege: privilege.into(),
        grantor: "root".into(),
    }
}

fn names(store: &dyn Store) -> (Vec<String>, Vec<String>) {
    store
        .read(|tx| {
            Ok((
                tx.user_names()?.iter().map(str::to_string).collect(),
                tx.role_names()?.iter().map(str::to_string).collect(),
            ))
        })
        .unwrap()
}

fn failure() -> RbacError {
    RbacError::Param {
        message: "the work failed".into(),
    }
}

#[test]
fn names_come_back_in_byte_order() {
    on_every_store(|store| {
        store
            .write(|tx| {
                for name in ["b", "B", "a", "é", "_", "aa"] {
                    tx.insert_user(name, "$hash", "")?;
                    tx.insert_role(name, "")?;
                }
                Ok(())
            })
            .unwrap();
        let sorted: Vec<String> = ["B", "_", "a", "aa", "b", "é"].map(String::from).into();
        assert_eq!(names(store), (sorted.clone(), sorted));
        store
            .read(|tx| {
                assert_eq!(tx.user_count()?, 6);
                assert_eq!(tx.role_count()?, 6);
                let users: Vec<String> = tx.users()?.into_iter().map(|u| u.name).collect();
                assert_eq!(users, ["B", "_", "a", "aa", "b", "é"]);
                Ok(())
            })
            .unwrap();
    });
}

#[test]
fn a_failed_write_leaves_nothing_behind() {
    on_every_store(|store| {
        store
            .write(|tx| {
                tx.insert_user("kept", "$h1", "")?;
                tx.insert_role("r", "")?;
                Ok(())
            })
            .unwrap();
        let before = store.version().unwrap();
        let outcome: Result<()> = store.write(|tx| {
            tx.insert_user("gone", "$h", "")?;
            tx.set_password_hash("kept", "$h2")?;
            tx.set_user_description("kept", "changed")?;
            tx.add_user_role("kept", "r")?;
            tx.insert_role("r2", "")?;
            tx.insert_grant(&grant("r", "Global", "*", "*", "CreateOwnership"))?;
            tx.delete_role("r")?;
            tx.insert_group("g")?;
            tx.set_setting("k", "v")?;
            tx.add_super_user("s")?;
            Err(failure())
        });
        assert!(outcome.is_err());
        assert_eq!(store.version().unwrap(), before, "a rollback is no change");
        store
            .read(|tx| {
                assert!(tx.user("gone")?.is_none());
                let kept = tx.user("kept")?.unwrap();
                assert_eq!(
                    (kept.password_hash.as_str(), kept.description.as_str()),
                    ("$h1", "")
                );
                assert!(tx.roles_of_user("kept")?.is_empty());
                assert_eq!(tx.role("r")?, Some(String::new()));
                assert!(tx.role("r2")?.is_none());
                assert!(tx.grants()?.is_empty());
                assert!(!tx.group_exists("g")?);
                assert_eq!(tx.setting("k")?, None);
                assert!(tx.super_users()?.is_empty());
                Ok(())
            })
            .unwrap();
    });
}

#[test]
fn inconsistent_writes_are_refused() {
    on_every_store(|store| {
        store
            .write(|tx| {
                tx.insert_user("u", "$h", "")?;
                tx.insert_role("r", "")?;
                tx.insert_group("g")
            })
            .unwrap();
        type Change = fn(&mut dyn super::WriteTx) -> Result<()>;
        let refused: [(&str, Change); 6] = [
            ("a user twice", |tx| tx.insert_user("u", "$h", "")),
            ("a role twice", |tx| tx.insert_role("r", "")),
            ("a group twice", |tx| tx.insert_group("g")),
            ("a membership of a missing role", |tx| {
                tx.add_user_role("u", "nope")
            }),
            ("a grant to a missing role", |tx| {
                tx.insert_grant(&grant("nope", "Global", "*", "*", "All"))
            }),
            ("a member of a missing group", |tx| {
                tx.add_group_member("nope", "Query")
            }),
        ];
        for (what, change) in refused {
            assert!(store.write(change).is_err(), "{what} was accepted");
        }
        assert_eq!(names(store), (vec!["u".into()], vec!["r".into()]));
    });
}

#[test]
fn repeated_grants_keep_the_first_grantor_and_drops_cascade() {
    on_every_store(|store| {
        store
            .write(|tx| {
                tx.insert_user("u", "$h", "")?;
                tx.insert_role("r", "about r")?;
                tx.insert_role("s", "")?;
                tx.add_user_role("u", "r")?;
                tx.add_user_role("u", "r")?;
                tx.add_user_role("u", "s")?;
                tx.insert_grant(&grant("r", "Collection", "default", "books", "Search"))?;
                tx.insert_grant(&Grant {
                    grantor: "someone else".into(),
                    ..grant("r", "Collection", "default", "books", "Search")
                })?;
                tx.insert_grant(&grant("r", "Collection", "db1", "books", "Query"))?;
                tx.insert_grant(&grant("r", "Global", "*", "*", "ops"))?;
                tx.insert_grant(&grant("s", "Global", "*", "*", "ops"))?;
                tx.insert_group("ops")?;
                tx.add_group_member("ops", "Load")?;
                tx.add_group_member("ops", "Load")?;
                tx.add_group_member("ops", "Flush")
            })
            .unwrap();
        store
            .read(|tx| {
                assert_eq!(tx.roles_of_user("u")?, ["r", "s"]);
                let grants = tx.grants_of_role("r")?;
                let keys: Vec<(&str, &str, &str)> = grants
                    .iter()
                    .map(|g| {
                        (
                            g.object_type.as_str(),
                            g.db_name.as_str(),
                            g.privilege.as_str(),
                        )
                    })
                    .collect();
                assert_eq!(
                    keys,
                    [
                        ("Collection", "db1", "Query"),
                        ("Collection", "default", "Search"),
                        ("Global", "*", "ops")
                    ]
                );
                assert!(grants.iter().all(|g| g.grantor == "root"));
                assert_eq!(tx.grants()?.len(), 4);
                assert_eq!(tx.role_holding("ops")?.as_deref(), Some("r"));
                assert_eq!(
                    tx.groups()?,
                    [Group {
                        name: "ops".into(),
                        privileges: vec!["Flush".into(), "Load".into()]
                    }]
                );
                Ok(())
            })
            .unwrap();
        store
            .write(|tx| {
                assert!(tx.delete_role("r")?);
                assert!(!tx.delete_role("r")?);
                tx.delete_grant(&grant("s", "Global", "*", "*", "ops"))?;
                tx.delete_grant(&grant("s", "Global", "*", "*", "never granted"))?;
                tx.delete_group("ops")
            })
            .unwrap();
        store
            .read(|tx| {
                assert_eq!(tx.roles_of_user("u")?, ["s"]);
                assert!(tx.grants()?.is_empty());
                assert_eq!(tx.role_holding("ops")?, None);
                assert!(tx.groups()?.is_empty());
                assert!(tx.group_members("ops")?.is_empty());
                Ok(())
            })
            .unwrap();
        store.write(|tx| tx.delete_user("u").map(drop)).unwrap();
        store
            .read(|tx| {
                assert!(tx.roles_of_user("u")?.is_empty());
                assert_eq!(tx.user_count()?, 0);
                Ok(())
            })
            .unwrap();
    });
}

#[test]
fn the_version_moves_with_every_change_and_only_then() {
    on_every_store(|store| {
        let start = store.version().unwrap();
        store.read(|tx| tx.user_names().map(drop)).unwrap();
        store.write(|_| Ok(())).unwrap();
        store
            .write(|tx| tx.remove_user_role("nobody", "nothing"))
            .unwrap();
        store
            .write(|tx| tx.set_password_hash("nobody", "$h").map(drop))
            .unwrap();
        assert_eq!(store.version().unwrap(), start, "nothing changed yet");
        let mut last = start;
        type Change = fn(&mut dyn super::WriteTx) -> Result<()>;
        // Each change, and whether it changes credentials (adds, removes or re-hashes a user).
        let changes: [(Change, bool); 8] = [
            (|tx| tx.insert_user("u", "$h", ""), true),
            (|tx| tx.set_password_hash("u", "$h2").map(drop), true),
            (
                |tx| tx.set_user_description("u", "about u").map(drop),
                false,
            ),
            (|tx| tx.insert_role("r", ""), false),
            (|tx| tx.add_user_role("u", "r"), false),
            (
                |tx| tx.insert_grant(&grant("r", "Global", "*", "*", "All")),
                false,
            ),
            (|tx| tx.insert_group("g"), false),
            (|tx| tx.delete_user("u").map(drop), true),
        ];
        for (at, (change, credentials)) in changes.into_iter().enumerate() {
            store.write(change).unwrap();
            let now = store.version().unwrap();
            assert!(
                now.changes > last.changes,
                "change {at}: {last:?} then {now:?}"
            );
            assert!(now.credentials >= last.credentials, "change {at}");
            assert_eq!(
                now.credentials > last.credentials,
                credentials,
                "change {at}"
            );
            assert_eq!(store.read(|tx| tx.version()).unwrap(), now);
            last = now;
        }
    });
}

#[test]
fn settings_and_super_users_are_kept() {
    on_every_store(|store| {
        store
            .write(|tx| {
                tx.set_setting("profile", "docs")?;
                tx.set_setting("profile", "milvus-2.6")?;
                tx.add_super_user("b")?;
                tx.add_super_user("a")?;
                tx.add_super_user("a")
            })
            .unwrap();
        store
            .read(|tx| {
                assert_eq!(tx.setting("profile")?.as_deref(), Some("milvus-2.6"));
                assert_eq!(tx.setting("missing")?, None);
                assert_eq!(tx.super_users()?, ["a", "b"]);
                Ok(())
            })
            .unwrap();
    });
}

/// A file's version is told by its WAL index while nothing changes, and a commit through another
/// connection (as another process makes it) is seen at the next check.
#[test]
fn a_file_sees_changes_made_through_another_connection() {
    let file = TempFile::new();
    let mine = open(Location::File(file.0.clone())).unwrap();
    let theirs = open(Location::File(file.0.clone())).unwrap();
    let mut last = mine.version().unwrap();
    for round in 0..50 {
        assert_eq!(mine.version().unwrap(), last, "nothing changed");
        let writer = if round % 2 == 0 { &theirs } else { &mine };
        writer
            .write(|tx| tx.insert_user(&format!("u{round}"), "$h", ""))
            .unwrap();
        let now = mine.version().unwrap();
        assert!(
            now.changes > last.changes && now.credentials > last.credentials,
            "round {round}: {now:?} after {last:?}"
        );
        assert_eq!(theirs.version().unwrap(), now);
        last = now;
    }
}

fn entry(user: &str) -> AuditEntry {
    AuditEntry::now(user, "default", "create_role")
}

fn audited_users(store: &dyn Store) -> Vec<String> {
    let log = store.audit_log().unwrap();
    assert_eq!(audit::verify(&log).problem, None);
    log.lines
        .iter()
        .map(|(_, line)| AuditRecord::decode(line).unwrap().entry.user)
        .collect()
}

#[test]
fn audit_records_commit_with_their_change_or_not_at_all() {
    on_every_store(|store| {
        assert_eq!(store.audit_log().unwrap(), AuditLog::default());
        store
            .write(|tx| {
                tx.insert_role("r", "")?;
                tx.append_audit(&entry("kept"), 10)
            })
            .unwrap();
        let failed = store.write(|tx| {
            tx.insert_role("s", "")?;
            tx.append_audit(&entry("undone"), 10)?;
            Err::<(), _>(failure())
        });
        assert!(failed.is_err());
        assert_eq!(names(store).1, ["r"]);
        assert_eq!(audited_users(store), ["kept"]);
        // A record alone is no change: reads cached at this version stay current.
        let before = store.version().unwrap();
        store
            .write(|tx| tx.append_audit(&entry("denied"), 10))
            .unwrap();
        assert_eq!(store.version().unwrap(), before);
        assert_eq!(audited_users(store), ["kept", "denied"]);
    });
}

#[test]
fn the_audit_trail_keeps_the_newest_records_and_stays_verifiable() {
    on_every_store(|store| {
        for at in 0..7 {
            store
                .write(|tx| {
                    tx.append_audit(&entry(&format!("u{at}")), 3)?;
                    if at == 5 {
                        // Two in one transaction: chained in order.
                        tx.append_audit(&entry("u5b"), 3)?;
                    }
                    Ok(())
                })
                .unwrap();
        }
        assert_eq!(audited_users(store), ["u5", "u5b", "u6"]);
        let log = store.audit_log().unwrap();
        assert_eq!((log.chain.first, log.chain.last), (6, 8));
        assert_eq!(
            log.lines.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(),
            [6, 7, 8]
        );
    });
}

/// etcd URIs: hosts and ports, a prefix (the default one if none), never credentials; shown back as parsed.
#[test]
fn etcd_locations_are_parsed_and_described() {
    use super::{EtcdLocation, DEFAULT_ETCD_PREFIX};
    let location = EtcdLocation::parse("etcd://h:2379,k:1/reg").unwrap();
    assert_eq!(location.endpoints, ["h:2379", "k:1"]);
    assert_eq!(location.prefix, "/reg/");
    assert_eq!(location.describe(), "etcd://h:2379,k:1/reg/");
    assert_eq!(
        EtcdLocation::parse("etcd://h:1").unwrap().prefix,
        DEFAULT_ETCD_PREFIX
    );
    for (uri, why) in [
        ("etcd://:2379", "\":2379\" is not a host:port"),
        ("etcd://h:x", "\"h:x\" is not a host:port"),
        ("etcd://h", "\"h\" is not a host:port"),
        ("etcd://u:p@h:1", "etcd credentials do not go in the URI"),
        ("http://h:1", "an etcd registry's URI starts with etcd://"),
    ] {
        let refused = EtcdLocation::parse(uri).unwrap_err().to_string();
        assert!(
            refused.starts_with(&format!("`uri` value {uri} is illegal: {why}")),
            "{refused}"
        );
    }
    assert_eq!(Location::Memory.describe(), ":memory:");
    assert_eq!(Location::File("a/r.db".into()).describe(), "a/r.db");
    assert_eq!(
        Location::Etcd(location).describe(),
        "etcd://h:2379,k:1/reg/"
    );
}

/// A file reached by two paths is one registry; an in-memory one, or a file not there yet, has no identity.
#[test]
fn a_file_has_one_identity_whatever_the_path() {
    use super::identity;
    let file = TempFile::new();
    std::fs::write(&file.0, b"").unwrap();
    let link = file.0.with_extension("link");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&file.0, &link).unwrap();
    let direct = identity(&Location::File(file.0.clone()));
    assert!(direct.is_some());
    assert_eq!(identity(&Location::File(link.clone())), direct);
    std::fs::remove_file(&link).unwrap();
    assert_eq!(identity(&Location::File(link)), None);
    assert_eq!(identity(&Location::Memory), None);
}

/// Only a registry in etcd is removed through the store; a file or memory one is refused, naming it.
#[test]
fn only_etcd_registries_are_removed_through_the_store() {
    use super::remove;
    assert_eq!(
        remove(&Location::File("r.db".into()))
            .unwrap_err()
            .to_string(),
        "only a registry in etcd is removed this way, not r.db"
    );
    assert!(remove(&Location::Memory).is_err());
}

#[test]
fn groups_exist_from_their_insert_to_their_delete() {
    on_every_store(|store| {
        let exists = |name: &str| store.read(|tx| tx.group_exists(name)).unwrap();
        store.write(|tx| tx.insert_group("g")).unwrap();
        assert!(exists("g") && !exists("h"));
        store.write(|tx| tx.delete_group("g")).unwrap();
        assert!(!exists("g"));
    });
}

/// Changing or removing a user or role that does not exist changes nothing, says so, and moves no version.
#[test]
fn changes_to_what_is_missing_change_nothing() {
    on_every_store(|store| {
        let before = store.version().unwrap();
        store
            .write(|tx| {
                let changed = [
                    tx.set_password_hash("ghost", "hash")?,
                    tx.set_user_description("ghost", "d")?,
                    tx.delete_user("ghost")?,
                    tx.set_role_description("ghost", "d")?,
                    tx.delete_role("ghost")?,
                ];
                assert_eq!(changed, [false; 5]);
                Ok(())
            })
            .unwrap();
        assert_eq!(store.version().unwrap(), before);
        // Beside a change of something else, they still move no credentials.
        store
            .write(|tx| {
                tx.insert_role("r", "")?;
                tx.delete_user("ghost").map(drop)
            })
            .unwrap();
        let after = store.version().unwrap();
        assert_eq!(
            (after.changes, after.credentials),
            (before.changes + 1, before.credentials)
        );
    });
}

/// Descriptions and a group's members change on every store, and each change says that it happened.
#[test]
fn descriptions_and_group_members_change() {
    on_every_store(|store| {
        store
            .write(|tx| {
                tx.insert_user("u", "hash", "")?;
                tx.insert_role("r", "")?;
                tx.insert_group("g")?;
                tx.add_group_member("g", "Query")?;
                tx.add_group_member("g", "Search")
            })
            .unwrap();
        store
            .write(|tx| {
                assert!(tx.set_user_description("u", "a user")?);
                assert!(tx.set_role_description("r", "a role")?);
                tx.remove_group_member("g", "Query")
            })
            .unwrap();
        store
            .read(|tx| {
                let user = tx.user("u")?.expect("the user");
                assert_eq!(user.description, "a user");
                assert_eq!(tx.role("r")?.as_deref(), Some("a role"));
                assert_eq!(tx.group_members("g")?, ["Search"]);
                Ok(())
            })
            .unwrap();
    });
}
