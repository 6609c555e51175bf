//! The in-memory store: the registry in plain Rust collections, for `:memory:`. No SQLite, no I/O.
//!
//! Ordered maps give byte order for free (`str` orders by bytes). A write transaction changes the state in
//! place and records how to undo each change, so a failed transaction is rolled back without copying the
//! state first.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::{inconsistent, Location, ReadTx, Store, Version, WriteTx};
use crate::error::Result;
use crate::model::{Grant, Group, Names, UserRecord};

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
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore {
            state: RwLock::new(State::default()),
            changes: AtomicU64::new(0),
            credentials: AtomicU64::new(0),
            location: Location::Memory,
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
        let mut state = self.write_state();
        let mut tx = Writing {
            state: &mut state,
            undo: Vec::new(),
            credentials_changed: false,
        };
        let outcome = work(&mut tx);
        let Writing {
            state,
            undo,
            credentials_changed,
        } = tx;
        match outcome {
            Ok(()) => {
                if credentials_changed {
                    state.version.credentials += 1;
                    self.credentials
                        .store(state.version.credentials, Ordering::Release);
                }
                if !undo.is_empty() {
                    state.version.changes += 1;
                    self.changes.store(state.version.changes, Ordering::Release);
                }
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

/// A write transaction: the state under the write lock, and how to undo what was done so far.
struct Writing<'s> {
    state: &'s mut State,
    undo: Vec<Undo>,
    /// Whether a user was added, removed or re-hashed.
    credentials_changed: bool,
}

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

fn key_of(grant: &Grant) -> GrantKey {
    (
        grant.object_type.clone(),
        grant.db_name.clone(),
        grant.object_name.clone(),
        grant.privilege.clone(),
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

    fn group_names(&self) -> Result<Vec<String>> {
        Ok(self.groups.keys().cloned().collect())
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
            fn group_names(&self) -> Result<Vec<String>> {
                self.$state.group_names()
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

impl Writing<'_> {
    fn record(&mut self, undo: impl FnOnce(&mut State) + Send + 'static) {
        self.undo.push(Box::new(undo));
    }

    /// Set `users[name]` to `value` (or remove it), recording how to restore what was there.
    fn replace_user(&mut self, name: &str, value: Option<(String, String)>) {
        let old_hash = self.state.users.get(name).map(|(hash, _)| hash.as_str());
        if old_hash != value.as_ref().map(|(hash, _)| hash.as_str()) {
            self.credentials_changed = true;
        }
        let before = match value {
            Some(value) => self.state.users.insert(name.to_string(), value),
            None => self.state.users.remove(name),
        };
        let name = name.to_string();
        self.record(move |state| match before {
            Some(before) => {
                state.users.insert(name, before);
            }
            None => {
                state.users.remove(&name);
            }
        });
    }

    fn replace_role(&mut self, name: &str, value: Option<String>) {
        let before = match value {
            Some(value) => self.state.roles.insert(name.to_string(), value),
            None => self.state.roles.remove(name),
        };
        let name = name.to_string();
        self.record(move |state| match before {
            Some(before) => {
                state.roles.insert(name, before);
            }
            None => {
                state.roles.remove(&name);
            }
        });
    }

    /// Add or remove one membership, keeping both indexes, and record the opposite.
    fn set_membership(&mut self, user: &str, role: &str, member: bool) {
        let changed = set_membership(self.state, user, role, member);
        if changed {
            let (user, role) = (user.to_string(), role.to_string());
            self.record(move |state| {
                set_membership(state, &user, &role, !member);
            });
        }
    }
}

/// Returns whether anything changed.
fn set_membership(state: &mut State, user: &str, role: &str, member: bool) -> bool {
    if member {
        let added = state
            .roles_of_user
            .entry(user.to_string())
            .or_default()
            .insert(role.to_string());
        state
            .users_of_role
            .entry(role.to_string())
            .or_default()
            .insert(user.to_string());
        added
    } else {
        let removed = remove_from(&mut state.roles_of_user, user, role);
        remove_from(&mut state.users_of_role, role, user);
        removed
    }
}

/// Remove `item` from the set at `key`, and the set once empty. Returns whether it was there.
fn remove_from(index: &mut BTreeMap<String, BTreeSet<String>>, key: &str, item: &str) -> bool {
    let Some(set) = index.get_mut(key) else {
        return false;
    };
    let removed = set.remove(item);
    if set.is_empty() {
        index.remove(key);
    }
    removed
}

impl WriteTx for Writing<'_> {
    fn set_setting(&mut self, key: &str, value: &str) -> Result<()> {
        let before = self
            .state
            .settings
            .insert(key.to_string(), value.to_string());
        let key = key.to_string();
        self.record(move |state| match before {
            Some(before) => {
                state.settings.insert(key, before);
            }
            None => {
                state.settings.remove(&key);
            }
        });
        Ok(())
    }

    fn add_super_user(&mut self, name: &str) -> Result<()> {
        if self.state.super_users.insert(name.to_string()) {
            let name = name.to_string();
            self.record(move |state| {
                state.super_users.remove(&name);
            });
        }
        Ok(())
    }

    fn insert_user(&mut self, name: &str, password_hash: &str, description: &str) -> Result<()> {
        if self.state.users.contains_key(name) {
            return Err(inconsistent(format!("user {name:?} exists already")));
        }
        self.replace_user(
            name,
            Some((password_hash.to_string(), description.to_string())),
        );
        Ok(())
    }

    fn set_password_hash(&mut self, name: &str, password_hash: &str) -> Result<bool> {
        let Some((_, description)) = self.state.users.get(name).cloned() else {
            return Ok(false);
        };
        self.replace_user(name, Some((password_hash.to_string(), description)));
        Ok(true)
    }

    fn set_user_description(&mut self, name: &str, description: &str) -> Result<bool> {
        let Some((password_hash, _)) = self.state.users.get(name).cloned() else {
            return Ok(false);
        };
        self.replace_user(name, Some((password_hash, description.to_string())));
        Ok(true)
    }

    fn delete_user(&mut self, name: &str) -> Result<bool> {
        if !self.state.users.contains_key(name) {
            return Ok(false);
        }
        for role in self.state.roles_of_user(name)? {
            self.set_membership(name, &role, false);
        }
        self.replace_user(name, None);
        Ok(true)
    }

    fn insert_role(&mut self, name: &str, description: &str) -> Result<()> {
        if self.state.roles.contains_key(name) {
            return Err(inconsistent(format!("role {name:?} exists already")));
        }
        self.replace_role(name, Some(description.to_string()));
        Ok(())
    }

    fn set_role_description(&mut self, name: &str, description: &str) -> Result<bool> {
        if !self.state.roles.contains_key(name) {
            return Ok(false);
        }
        self.replace_role(name, Some(description.to_string()));
        Ok(true)
    }

    fn delete_role(&mut self, name: &str) -> Result<bool> {
        if !self.state.roles.contains_key(name) {
            return Ok(false);
        }
        let members: Vec<String> = self
            .state
            .users_of_role
            .get(name)
            .map(|users| users.iter().cloned().collect())
            .unwrap_or_default();
        for user in members {
            self.set_membership(&user, name, false);
        }
        if let Some(held) = self.state.grants.remove(name) {
            let role = name.to_string();
            self.record(move |state| {
                state.grants.insert(role, held);
            });
        }
        self.replace_role(name, None);
        Ok(true)
    }

    fn add_user_role(&mut self, user: &str, role: &str) -> Result<()> {
        if !self.state.users.contains_key(user) || !self.state.roles.contains_key(role) {
            return Err(inconsistent(format!(
                "membership of user {user:?} in role {role:?}, one of which does not exist"
            )));
        }
        self.set_membership(user, role, true);
        Ok(())
    }

    fn remove_user_role(&mut self, user: &str, role: &str) -> Result<()> {
        self.set_membership(user, role, false);
        Ok(())
    }

    fn insert_grant(&mut self, grant: &Grant) -> Result<()> {
        if !self.state.roles.contains_key(&grant.role_name) {
            return Err(inconsistent(format!(
                "a grant to role {:?}, which does not exist",
                grant.role_name
            )));
        }
        let held = self
            .state
            .grants
            .entry(grant.role_name.clone())
            .or_default();
        let key = key_of(grant);
        if held.contains_key(&key) {
            return Ok(());
        }
        held.insert(key.clone(), grant.grantor.clone());
        let role = grant.role_name.clone();
        self.record(move |state| {
            if let Some(held) = state.grants.get_mut(&role) {
                held.remove(&key);
                if held.is_empty() {
                    state.grants.remove(&role);
                }
            }
        });
        Ok(())
    }

    fn delete_grant(&mut self, grant: &Grant) -> Result<()> {
        let key = key_of(grant);
        let Some(held) = self.state.grants.get_mut(&grant.role_name) else {
            return Ok(());
        };
        let Some(grantor) = held.remove(&key) else {
            return Ok(());
        };
        if held.is_empty() {
            self.state.grants.remove(&grant.role_name);
        }
        let role = grant.role_name.clone();
        self.record(move |state| {
            state.grants.entry(role).or_default().insert(key, grantor);
        });
        Ok(())
    }

    fn insert_group(&mut self, name: &str) -> Result<()> {
        if self.state.groups.contains_key(name) {
            return Err(inconsistent(format!(
                "privilege group {name:?} exists already"
            )));
        }
        self.state.groups.insert(name.to_string(), BTreeSet::new());
        let name = name.to_string();
        self.record(move |state| {
            state.groups.remove(&name);
        });
        Ok(())
    }

    fn delete_group(&mut self, name: &str) -> Result<()> {
        if let Some(members) = self.state.groups.remove(name) {
            let name = name.to_string();
            self.record(move |state| {
                state.groups.insert(name, members);
            });
        }
        Ok(())
    }

    fn add_group_member(&mut self, group: &str, privilege: &str) -> Result<()> {
        let Some(members) = self.state.groups.get_mut(group) else {
            return Err(inconsistent(format!(
                "a member of privilege group {group:?}, which does not exist"
            )));
        };
        if members.insert(privilege.to_string()) {
            let (group, privilege) = (group.to_string(), privilege.to_string());
            self.record(move |state| {
                if let Some(members) = state.groups.get_mut(&group) {
                    members.remove(&privilege);
                }
            });
        }
        Ok(())
    }

    fn remove_group_member(&mut self, group: &str, privilege: &str) -> Result<()> {
        let removed = self
            .state
            .groups
            .get_mut(group)
            .is_some_and(|members| members.remove(privilege));
        if removed {
            let (group, privilege) = (group.to_string(), privilege.to_string());
            self.record(move |state| {
                if let Some(members) = state.groups.get_mut(&group) {
                    members.insert(privilege);
                }
            });
        }
        Ok(())
    }
}
