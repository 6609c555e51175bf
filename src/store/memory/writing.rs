//! Write transactions of the in-memory store: changes made in place, each recording how to undo it.

use std::collections::{BTreeMap, BTreeSet};

use super::{GrantKey, State, Undo};
use crate::audit::AuditEntry;
use crate::error::Result;
use crate::model::Grant;
use crate::store::record::RecordKey;
use crate::store::{inconsistent, ReadTx, WriteTx};

/// A write transaction: the state under the write lock, and how to undo what was done so far.
pub(super) struct Writing<'s> {
    pub(super) state: &'s mut State,
    pub(super) undo: Vec<Undo>,
    /// Whether a user was added, removed or re-hashed.
    pub(super) credentials_changed: bool,
    /// The records changed so far (some perhaps more than once), for a store that writes records.
    pub(super) touched: Vec<RecordKey>,
    /// The audit entries to append when the transaction commits, each with its retention bound.
    pub(super) audit: Vec<(AuditEntry, u64)>,
}

fn grant_record(role: &str, key: &GrantKey) -> RecordKey {
    let (object_type, db_name, object_name, privilege) = key.clone();
    RecordKey::Grant {
        role: role.to_string(),
        object_type,
        db_name,
        object_name,
        privilege,
    }
}

fn key_of(grant: &Grant) -> GrantKey {
    (
        grant.object_type.clone(),
        grant.db_name.clone(),
        grant.object_name.clone(),
        grant.privilege.clone(),
    )
}

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
        self.touched.push(RecordKey::User(name.to_string()));
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
        self.touched.push(RecordKey::Role(name.to_string()));
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
            self.touched.push(RecordKey::Membership {
                user: user.to_string(),
                role: role.to_string(),
            });
            let (user, role) = (user.to_string(), role.to_string());
            self.record(move |state| {
                set_membership(state, &user, &role, !member);
            });
        }
    }
}

/// Returns whether anything changed.
pub(super) fn set_membership(state: &mut State, user: &str, role: &str, member: bool) -> bool {
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
        self.touched.push(RecordKey::Setting(key.to_string()));
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
            self.touched.push(RecordKey::SuperUser(name.to_string()));
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
            self.touched
                .extend(held.keys().map(|key| grant_record(name, key)));
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
        self.touched.push(grant_record(&grant.role_name, &key));
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
        self.touched.push(grant_record(&grant.role_name, &key));
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
        self.touched.push(RecordKey::Group(name.to_string()));
        let name = name.to_string();
        self.record(move |state| {
            state.groups.remove(&name);
        });
        Ok(())
    }

    fn delete_group(&mut self, name: &str) -> Result<()> {
        if let Some(members) = self.state.groups.remove(name) {
            self.touched.push(RecordKey::Group(name.to_string()));
            self.touched
                .extend(members.iter().map(|privilege| RecordKey::GroupMember {
                    group: name.to_string(),
                    privilege: privilege.clone(),
                }));
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
            self.touched.push(RecordKey::GroupMember {
                group: group.to_string(),
                privilege: privilege.to_string(),
            });
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
            self.touched.push(RecordKey::GroupMember {
                group: group.to_string(),
                privilege: privilege.to_string(),
            });
            let (group, privilege) = (group.to_string(), privilege.to_string());
            self.record(move |state| {
                if let Some(members) = state.groups.get_mut(&group) {
                    members.insert(privilege);
                }
            });
        }
        Ok(())
    }

    fn append_audit(&mut self, entry: &AuditEntry, keep: u64) -> Result<()> {
        self.audit.push((entry.clone(), keep));
        Ok(())
    }
}
