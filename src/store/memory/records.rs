//! The in-memory state as separate records (`store::record`): built from them, read one at a time, listed.

use super::writing::set_membership;
use super::State;
use crate::error::Result;
use crate::store::inconsistent;
use crate::store::record::{RecordKey, RecordValue};

impl State {
    /// Add one record to a state being built; its user, role or group comes before it (records are applied
    /// in key order by kind: see `RecordKey`'s order).
    pub(super) fn put_record(&mut self, key: RecordKey, value: RecordValue) -> Result<()> {
        let text = |value: RecordValue| match value {
            RecordValue::Text(text) => Ok(text),
            other => Err(inconsistent(format!("a record of text holds {other:?}"))),
        };
        match key {
            RecordKey::Setting(name) => {
                self.settings.insert(name, text(value)?);
            }
            RecordKey::SuperUser(name) => {
                self.super_users.insert(name);
            }
            RecordKey::User(name) => {
                let RecordValue::User {
                    password_hash,
                    description,
                } = value
                else {
                    return Err(inconsistent(format!("user {name:?} holds {value:?}")));
                };
                self.users.insert(name, (password_hash, description));
            }
            RecordKey::Role(name) => {
                self.roles.insert(name, text(value)?);
            }
            RecordKey::Membership { user, role } => {
                if !self.users.contains_key(&user) || !self.roles.contains_key(&role) {
                    return Err(inconsistent(format!(
                        "membership of user {user:?} in role {role:?}, one of which does not exist"
                    )));
                }
                set_membership(self, &user, &role, true);
            }
            RecordKey::Grant {
                role,
                object_type,
                db_name,
                object_name,
                privilege,
            } => {
                if !self.roles.contains_key(&role) {
                    return Err(inconsistent(format!(
                        "a grant to role {role:?}, which does not exist"
                    )));
                }
                self.grants
                    .entry(role)
                    .or_default()
                    .insert((object_type, db_name, object_name, privilege), text(value)?);
            }
            RecordKey::Group(name) => {
                self.groups.entry(name).or_default();
            }
            RecordKey::GroupMember { group, privilege } => {
                let Some(members) = self.groups.get_mut(&group) else {
                    return Err(inconsistent(format!(
                        "a member of privilege group {group:?}, which does not exist"
                    )));
                };
                members.insert(privilege);
            }
        }
        Ok(())
    }

    /// The record at `key`, if the state holds it.
    pub(super) fn record(&self, key: &RecordKey) -> Option<RecordValue> {
        let text = |text: &String| RecordValue::Text(text.clone());
        match key {
            RecordKey::Setting(name) => self.settings.get(name).map(text),
            RecordKey::SuperUser(name) => self
                .super_users
                .contains(name)
                .then_some(RecordValue::Present),
            RecordKey::User(name) => {
                self.users
                    .get(name)
                    .map(|(hash, description)| RecordValue::User {
                        password_hash: hash.clone(),
                        description: description.clone(),
                    })
            }
            RecordKey::Role(name) => self.roles.get(name).map(text),
            RecordKey::Membership { user, role } => self
                .roles_of_user
                .get(user)
                .is_some_and(|roles| roles.contains(role))
                .then_some(RecordValue::Present),
            RecordKey::Grant {
                role,
                object_type,
                db_name,
                object_name,
                privilege,
            } => self.grants.get(role).and_then(|held| {
                held.get(&(
                    object_type.clone(),
                    db_name.clone(),
                    object_name.clone(),
                    privilege.clone(),
                ))
                .map(text)
            }),
            RecordKey::Group(name) => self
                .groups
                .contains_key(name)
                .then_some(RecordValue::Present),
            RecordKey::GroupMember { group, privilege } => self
                .groups
                .get(group)
                .is_some_and(|members| members.contains(privilege))
                .then_some(RecordValue::Present),
        }
    }

    /// Every record, each user, role and group before the records that refer to it.
    pub(super) fn records(&self) -> Vec<(RecordKey, RecordValue)> {
        let text = |text: &String| RecordValue::Text(text.clone());
        let mut all = Vec::new();
        for (name, value) in &self.settings {
            all.push((RecordKey::Setting(name.clone()), text(value)));
        }
        for name in &self.super_users {
            all.push((RecordKey::SuperUser(name.clone()), RecordValue::Present));
        }
        for (name, (hash, description)) in &self.users {
            let value = RecordValue::User {
                password_hash: hash.clone(),
                description: description.clone(),
            };
            all.push((RecordKey::User(name.clone()), value));
        }
        for (name, description) in &self.roles {
            all.push((RecordKey::Role(name.clone()), text(description)));
        }
        for (user, roles) in &self.roles_of_user {
            for role in roles {
                let key = RecordKey::Membership {
                    user: user.clone(),
                    role: role.clone(),
                };
                all.push((key, RecordValue::Present));
            }
        }
        for (role, held) in &self.grants {
            for ((object_type, db_name, object_name, privilege), grantor) in held {
                let key = RecordKey::Grant {
                    role: role.clone(),
                    object_type: object_type.clone(),
                    db_name: db_name.clone(),
                    object_name: object_name.clone(),
                    privilege: privilege.clone(),
                };
                all.push((key, text(grantor)));
            }
        }
        for (group, members) in &self.groups {
            all.push((RecordKey::Group(group.clone()), RecordValue::Present));
            for privilege in members {
                let key = RecordKey::GroupMember {
                    group: group.clone(),
                    privilege: privilege.clone(),
                };
                all.push((key, RecordValue::Present));
            }
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A membership read from elsewhere names a user and a role the state holds already; either missing makes
    /// the records inconsistent.
    #[test]
    fn a_membership_needs_both_its_user_and_its_role() {
        let mut state = State::default();
        let user = RecordValue::User {
            password_hash: String::new(),
            description: String::new(),
        };
        state.put_record(RecordKey::User("u".into()), user).unwrap();
        let role = RecordValue::Text(String::new());
        state.put_record(RecordKey::Role("r".into()), role).unwrap();
        let membership = |user: &str, role: &str| RecordKey::Membership {
            user: user.into(),
            role: role.into(),
        };
        for (user, role) in [("u", "ghost"), ("ghost", "r")] {
            let put = state.put_record(membership(user, role), RecordValue::Present);
            assert!(put.is_err(), "{user} in {role}");
        }
        state
            .put_record(membership("u", "r"), RecordValue::Present)
            .unwrap();
        assert_eq!(
            state.record(&membership("u", "r")),
            Some(RecordValue::Present)
        );
    }
}
