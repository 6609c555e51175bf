//! The in-memory store: the registry in plain Rust collections, for `:memory:`. No SQLite, no I/O. Writes
//! and their undo log are in [`writing`].
//!
//! Ordered maps give byte order for free (`str` orders by bytes). A write transaction changes the state in
//! place and records how to undo each change, so a failed transaction is rolled back without copying the
//! state first.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

#[cfg(feature = "etcd")]
mod records;
mod writing;

use super::{Location, ReadTx, Store, Version, WriteTx};
use crate::audit::{AuditEntry, AuditLog, Chain};
use crate::error::Result;
use crate::model::{Grant, Group, Names, UserRecord};
use crate::store::record::RecordKey;
#[cfg(feature = "etcd")]
use crate::store::record::RecordValue;
use writing::Writing;

/// A grant's key within its role: object type, database, object name, privilege (the order grants are
/// listed in).
type GrantKey = (String, String, String, String);

#[derive(Debug, Default)]
struct State {
    version: Version,
    settings: BTreeMap<String, String>,
    super_users: BTreeSet<String>,
    /// Name -> (password hash, description).
    users: BTreeMap<String, (String, String)>,
    /// Name -> description.
    roles: BTreeMap<String, String>,
    roles_of_user: BTreeMap<String, BTreeSet<String>>,
    users_of_role: BTreeMap<String, BTreeSet<String>>,
    /// Role -> grant key -> grantor.
    grants: BTreeMap<String, BTreeMap<GrantKey, String>>,
    groups: BTreeMap<String, BTreeSet<String>>,
    /// The audit trail's bounds and records (for `:memory:`; a cache of etcd keeps neither).
    audit: Chain,
    audit_lines: VecDeque<(u64, String)>,
}

/// How to take back one change.
type Undo = Box<dyn FnOnce(&mut State) + Send>;

/// The store of one `:memory:` registry.
#[derive(Debug)]
pub struct MemoryStore {
    state: RwLock<State>,
    /// The committed counts, readable without the lock: `credentials` is stored before `changes`, and read
    /// after it.
    changes: AtomicU64,
    credentials: AtomicU64,
    location: Location,
    /// Whether this store keeps its audit trail itself: not when it caches a registry kept elsewhere (etcd),
    /// whose store writes the trail there.
    keeps_audit: bool,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore {
            state: RwLock::new(State::default()),
            changes: AtomicU64::new(0),
            credentials: AtomicU64::new(0),
            location: Location::Memory,
            keeps_audit: true,
        }
    }

    fn read_state(&self) -> RwLockReadGuard<'_, State> {
        // A panic inside a transaction leaves the state as the undo log left it: see `write_with`.
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write_state(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }
}

impl Store for MemoryStore {
    fn location(&self) -> &Location {
        &self.location
    }

    fn is_read_only(&self) -> bool {
        false
    }

    fn version(&self) -> Result<Version> {
        let changes = self.changes.load(Ordering::Acquire);
        Ok(Version {
            changes,
            credentials: self.credentials.load(Ordering::Acquire),
        })
    }

    fn read_with(&self, work: &mut dyn FnMut(&dyn ReadTx) -> Result<()>) -> Result<()> {
        let state = self.read_state();
        work(&Reading(&state))
    }

    fn write_with(&self, work: &mut dyn FnMut(&mut dyn WriteTx) -> Result<()>) -> Result<()> {
        self.write_committing(work, &mut |_| Ok(()))
    }

    fn audit_log(&self) -> Result<AuditLog> {
        let state = self.read_state();
        Ok(AuditLog {
            chain: state.audit.clone(),
            lines: state.audit_lines.iter().cloned().collect(),
        })
    }
}

/// A transaction about to be kept: what it changed, for a store that writes it elsewhere first (etcd; without
/// it, nothing reads these).
#[cfg_attr(not(feature = "etcd"), allow(dead_code))]
pub struct Committing<'s> {
    state: &'s State,
    touched: Vec<RecordKey>,
    /// The audit entries the transaction appends, each with its retention bound.
    pub audit: &'s [(AuditEntry, u64)],
    /// The version the transaction makes.
    pub version: Version,
}

#[cfg(feature = "etcd")]
impl Committing<'_> {
    /// Each record the transaction changed, once, as it now is (`None`: removed).
    pub fn changed(&self) -> Vec<(RecordKey, Option<RecordValue>)> {
        self.touched
            .iter()
            .map(|key| (key.clone(), self.state.record(key)))
            .collect()
    }

    /// Every record of the state the transaction leaves.
    pub fn records(&self) -> Vec<(RecordKey, RecordValue)> {
        self.state.records()
    }
}

impl MemoryStore {
    #[cfg(feature = "etcd")]
    /// A store holding `records` (in any order), at `version`: a registry read from elsewhere.
    pub fn loaded(
        version: Version,
        mut records: Vec<(RecordKey, RecordValue)>,
    ) -> Result<MemoryStore> {
        // Users, roles and groups before what refers to them: `RecordKey`'s order.
        records.sort_by(|a, b| a.0.cmp(&b.0));
        let mut state = State {
            version,
            ..State::default()
        };
        for (key, value) in records {
            state.put_record(key, value)?;
        }
        let mut store = MemoryStore::new();
        store.keeps_audit = false;
        store.changes.store(version.changes, Ordering::Release);
        store
            .credentials
            .store(version.credentials, Ordering::Release);
        *store.write_state() = state;
        Ok(store)
    }

    /// A write transaction that, if it changed anything, is kept only once `commit` accepted its changes;
    /// if `work` or `commit` fails, it is undone.
    pub fn write_committing(
        &self,
        work: &mut dyn FnMut(&mut dyn WriteTx) -> Result<()>,
        commit: &mut dyn FnMut(&Committing<'_>) -> Result<()>,
    ) -> Result<()> {
        let mut state = self.write_state();
        let mut tx = Writing {
            state: &mut state,
            undo: Vec::new(),
            credentials_changed: false,
            touched: Vec::new(),
            audit: Vec::new(),
        };
        let outcome = work(&mut tx);
        let Writing {
            state,
            undo,
            credentials_changed,
            mut touched,
            audit,
        } = tx;
        let mut version = state.version;
        if credentials_changed {
            version.credentials += 1;
        }
        if !undo.is_empty() {
            version.changes += 1;
        }
        let outcome = outcome.and_then(|()| {
            if undo.is_empty() && audit.is_empty() {
                return Ok(());
            }
            touched.sort();
            touched.dedup();
            commit(&Committing {
                state,
                touched,
                audit: &audit,
                version,
            })
        });
        match outcome {
            Ok(()) => {
                if self.keeps_audit {
                    for (entry, keep) in audit {
                        let (record, dropped) = state.audit.append(entry, keep);
                        while state
                            .audit_lines
                            .front()
                            .is_some_and(|(seq, _)| dropped.contains(seq))
                        {
                            state.audit_lines.pop_front();
                        }
                        state.audit_lines.push_back((record.seq, record.encode()));
                    }
                }
                state.version = version;
                self.credentials
                    .store(version.credentials, Ordering::Release);
                self.changes.store(version.changes, Ordering::Release);
                Ok(())
            }
            Err(err) => {
                for step in undo.into_iter().rev() {
                    step(state);
                }
                Err(err)
            }
        }
    }
}

/// A read transaction: the state under the read lock.
struct Reading<'s>(&'s State);

fn names<'a>(keys: impl Iterator<Item = &'a String>) -> Names {
    keys.collect()
}

fn grants_of<'a>(
    role: &str,
    held: &'a BTreeMap<GrantKey, String>,
) -> impl Iterator<Item = Grant> + 'a {
    let role = role.to_string();
    held.iter().map(
        move |((object_type, db_name, object_name, privilege), grantor)| Grant {
            role_name: role.clone(),
            object_type: object_type.clone(),
            db_name: db_name.clone(),
            object_name: object_name.clone(),
            privilege: privilege.clone(),
            grantor: grantor.clone(),
        },
    )
}

impl ReadTx for State {
    fn version(&self) -> Result<Version> {
        Ok(self.version)
    }

    fn setting(&self, key: &str) -> Result<Option<String>> {
        Ok(self.settings.get(key).cloned())
    }

    fn super_users(&self) -> Result<Vec<String>> {
        Ok(self.super_users.iter().cloned().collect())
    }

    fn user(&self, name: &str) -> Result<Option<UserRecord>> {
        Ok(self
            .users
            .get(name)
            .map(|(password_hash, description)| UserRecord {
                name: name.to_string(),
                password_hash: password_hash.clone(),
                description: description.clone(),
            }))
    }

    fn user_count(&self) -> Result<u64> {
        Ok(self.users.len() as u64)
    }

    fn user_names(&self) -> Result<Names> {
        Ok(names(self.users.keys()))
    }

    fn users(&self) -> Result<Vec<UserRecord>> {
        Ok(self
            .users
            .iter()
            .map(|(name, (password_hash, description))| UserRecord {
                name: name.clone(),
                password_hash: password_hash.clone(),
                description: description.clone(),
            })
            .collect())
    }

    fn roles_of_user(&self, name: &str) -> Result<Vec<String>> {
        Ok(self
            .roles_of_user
            .get(name)
            .map(|roles| roles.iter().cloned().collect())
            .unwrap_or_default())
    }

    fn role(&self, name: &str) -> Result<Option<String>> {
        Ok(self.roles.get(name).cloned())
    }

    fn role_count(&self) -> Result<u64> {
        Ok(self.roles.len() as u64)
    }

    fn role_names(&self) -> Result<Names> {
        Ok(names(self.roles.keys()))
    }

    fn grants_of_role(&self, role: &str) -> Result<Vec<Grant>> {
        Ok(self
            .grants
            .get(role)
            .map(|held| grants_of(role, held).collect())
            .unwrap_or_default())
    }

    fn grants(&self) -> Result<Vec<Grant>> {
        Ok(self
            .grants
            .iter()
            .flat_map(|(role, held)| grants_of(role, held))
            .collect())
    }

    fn role_holding(&self, privilege: &str) -> Result<Option<String>> {
        Ok(self
            .grants
            .iter()
            .find(|(_, held)| held.keys().any(|key| key.3 == privilege))
            .map(|(role, _)| role.clone()))
    }

    fn group_exists(&self, name: &str) -> Result<bool> {
        Ok(self.groups.contains_key(name))
    }

    fn group_members(&self, name: &str) -> Result<Vec<String>> {
        Ok(self
            .groups
            .get(name)
            .map(|members| members.iter().cloned().collect())
            .unwrap_or_default())
    }

    fn groups(&self) -> Result<Vec<Group>> {
        Ok(self
            .groups
            .iter()
            .map(|(name, members)| Group {
                name: name.clone(),
                privileges: members.iter().cloned().collect(),
            })
            .collect())
    }
}

/// Both transactions read the state through [`State`]'s reads.
macro_rules! reads_through_state {
    ($tx:ty, $state:tt) => {
        impl ReadTx for $tx {
            fn version(&self) -> Result<Version> {
                self.$state.version()
            }
            fn setting(&self, key: &str) -> Result<Option<String>> {
                self.$state.setting(key)
            }
            fn super_users(&self) -> Result<Vec<String>> {
                self.$state.super_users()
            }
            fn user(&self, name: &str) -> Result<Option<UserRecord>> {
                self.$state.user(name)
            }
            fn user_count(&self) -> Result<u64> {
                self.$state.user_count()
            }
            fn user_names(&self) -> Result<Names> {
                self.$state.user_names()
            }
            fn users(&self) -> Result<Vec<UserRecord>> {
                self.$state.users()
            }
            fn roles_of_user(&self, name: &str) -> Result<Vec<String>> {
                self.$state.roles_of_user(name)
            }
            fn role(&self, name: &str) -> Result<Option<String>> {
                self.$state.role(name)
            }
            fn role_count(&self) -> Result<u64> {
                self.$state.role_count()
            }
            fn role_names(&self) -> Result<Names> {
                self.$state.role_names()
            }
            fn grants_of_role(&self, role: &str) -> Result<Vec<Grant>> {
                self.$state.grants_of_role(role)
            }
            fn grants(&self) -> Result<Vec<Grant>> {
                self.$state.grants()
            }
            fn role_holding(&self, privilege: &str) -> Result<Option<String>> {
                self.$state.role_holding(privilege)
            }
            fn group_exists(&self, name: &str) -> Result<bool> {
                self.$state.group_exists(name)
            }
            fn group_members(&self, name: &str) -> Result<Vec<String>> {
                self.$state.group_members(name)
            }
            fn groups(&self) -> Result<Vec<Group>> {
                self.$state.groups()
            }
        }
    };
}

reads_through_state!(Reading<'_>, 0);
reads_through_state!(Writing<'_>, state);
