//! Snapshots: what reads are answered from.
//!
//! A snapshot belongs to one change count of the registry and is shared by every client of the registry in
//! the process. It starts empty and is filled as reads ask (a user, a role, a list, a decision), each answer
//! read from the store in a transaction that sees the same change count; once in, an answer never changes. A
//! read at the same change count finds it built, as the same `Arc`, so that a front can keep what it made of
//! it (Python objects). When the change count moves (a write by any client or process), the next call starts
//! a new snapshot.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

use crate::authz::{CustomGroups, Reason};
use crate::error::Result;
use crate::model::{Grant, Group, Names, RoleDescription, UserDescription};
use crate::store::{ReadTx, Store};

/// Entries one memo holds at most: past it, answers are still given, but not kept. With the key limit, a
/// snapshot's memos hold a few megabytes whatever a client asks.
const MEMO_CAPACITY: usize = 16_384;
/// Keys longer than this (names no validator lets through, a decision about a long object name) are not
/// kept either.
const MAX_KEY_BYTES: usize = 256;

/// Answers by name, kept up to [`MEMO_CAPACITY`] names of up to [`MAX_KEY_BYTES`].
#[derive(Debug)]
pub(super) struct Memo<V> {
    entries: RwLock<HashMap<String, V>>,
}

impl<V> Default for Memo<V> {
    fn default() -> Self {
        Memo {
            entries: RwLock::new(HashMap::new()),
        }
    }
}

impl<V: Clone> Memo<V> {
    pub(super) fn get(&self, key: &str) -> Option<V> {
        self.entries
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .cloned()
    }

    pub(super) fn keep(&self, key: &str, value: V) {
        if key.len() > MAX_KEY_BYTES {
            return;
        }
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if entries.len() < MEMO_CAPACITY {
            entries.insert(key.to_string(), value);
        }
    }
}

/// A user as reads see it.
#[derive(Debug)]
pub(super) struct UserEntry {
    pub(super) password_hash: String,
    description: String,
    /// `describe_user`'s answer, read when first asked (checking a credential needs no roles).
    described: OnceLock<Arc<UserDescription>>,
}

/// A role as reads see it.
#[derive(Debug)]
pub(super) struct RoleEntry {
    pub(super) description: String,
    /// Every grant, in every database.
    pub(super) grants: Vec<Grant>,
    /// `describe_role`'s answers, by database asked.
    pub(super) described: Memo<Arc<RoleDescription>>,
}

/// The custom privilege groups.
#[derive(Debug)]
pub(super) struct GroupsEntry {
    /// By name.
    pub(super) list: Vec<Group>,
    pub(super) by_name: CustomGroups,
}

/// The registry's state at one change count, as far as reads have asked for it.
#[derive(Debug)]
pub(super) struct Snapshot {
    version: u64,
    user_names: OnceLock<Arc<Names>>,
    role_names: OnceLock<Arc<Names>>,
    users: Memo<Option<Arc<UserEntry>>>,
    roles: Memo<Option<Arc<RoleEntry>>>,
    groups: OnceLock<Arc<GroupsEntry>>,
    /// `list_privilege_groups`' answer: the custom groups, then the built-in ones.
    pub(super) group_list: OnceLock<Arc<Vec<Group>>>,
    /// Authorization decisions, by user and requirement.
    pub(super) decisions: Memo<Reason>,
    /// The lists of the snapshot before: a list read anew that equals one of them is that one, so that what
    /// a front made of it stays usable.
    earlier_lists: [Option<Arc<Names>>; 2],
}

/// Which list.
#[derive(Debug, Clone, Copy)]
pub(super) enum List {
    Users,
    Roles,
}

impl Snapshot {
    /// An empty snapshot at change count `version`.
    pub(super) fn new(version: u64) -> Snapshot {
        Snapshot {
            version,
            user_names: OnceLock::new(),
            role_names: OnceLock::new(),
            users: Memo::default(),
            roles: Memo::default(),
            groups: OnceLock::new(),
            group_list: OnceLock::new(),
            decisions: Memo::default(),
            earlier_lists: [None, None],
        }
    }

    /// An empty snapshot at `version`, which comes after `earlier`.
    pub(super) fn after(earlier: &Snapshot, version: u64) -> Snapshot {
        Snapshot {
            earlier_lists: [
                earlier.user_names.get().cloned(),
                earlier.role_names.get().cloned(),
            ],
            ..Snapshot::new(version)
        }
    }

    pub(super) fn version(&self) -> u64 {
        self.version
    }

    /// Read with `work` in a transaction of `store`; also says whether that transaction saw this snapshot's
    /// change count (what it read may be kept) or a later one (it may only be used).
    pub(super) fn read<T>(
        &self,
        store: &dyn Store,
        work: impl FnOnce(&dyn ReadTx) -> Result<T>,
    ) -> Result<(T, bool)> {
        store.read(|tx| {
            let current = tx.version()?.changes == self.version;
            Ok((work(tx)?, current))
        })
    }

    /// The value in `cell`, or `read`'s, kept if it was read at this snapshot's change count.
    pub(super) fn once<T>(
        &self,
        cell: &OnceLock<Arc<T>>,
        store: &dyn Store,
        read: impl FnOnce(&dyn ReadTx) -> Result<T>,
    ) -> Result<Arc<T>> {
        if let Some(value) = cell.get() {
            return Ok(Arc::clone(value));
        }
        let (value, current) = self.read(store, read)?;
        let value = Arc::new(value);
        Ok(if current {
            Arc::clone(cell.get_or_init(|| value))
        } else {
            value
        })
    }

    /// The value of `key` in `memo`, or `read`'s, kept if it was read at this snapshot's change count.
    pub(super) fn memo<V: Clone>(
        &self,
        memo: &Memo<V>,
        key: &str,
        store: &dyn Store,
        read: impl FnOnce(&dyn ReadTx) -> Result<V>,
    ) -> Result<V> {
        if let Some(value) = memo.get(key) {
            return Ok(value);
        }
        let (value, current) = self.read(store, read)?;
        if current {
            memo.keep(key, value.clone());
        }
        Ok(value)
    }

    /// A list of names, in byte order.
    pub(super) fn names(&self, list: List, store: &dyn Store) -> Result<Arc<Names>> {
        let (cell, earlier) = match list {
            List::Users => (&self.user_names, &self.earlier_lists[0]),
            List::Roles => (&self.role_names, &self.earlier_lists[1]),
        };
        let names = self.once(cell, store, |tx| match list {
            List::Users => tx.user_names(),
            List::Roles => tx.role_names(),
        })?;
        Ok(match earlier {
            Some(earlier) if **earlier == *names => Arc::clone(earlier),
            _ => names,
        })
    }

    /// A user, or `None` if there is no such user.
    pub(super) fn user(&self, store: &dyn Store, name: &str) -> Result<Option<Arc<UserEntry>>> {
        self.memo(&self.users, name, store, |tx| {
            Ok(tx.user(name)?.map(|record| {
                Arc::new(UserEntry {
                    password_hash: record.password_hash,
                    description: record.description,
                    described: OnceLock::new(),
                })
            }))
        })
    }

    /// What `describe_user` shows of a user (its roles and description), or `None` if there is no such user.
    pub(super) fn described_user(
        &self,
        store: &dyn Store,
        name: &str,
    ) -> Result<Option<Arc<UserDescription>>> {
        let Some(entry) = self.user(store, name)? else {
            return Ok(None);
        };
        let described = |roles| {
            Arc::new(UserDescription {
                name: name.to_string(),
                roles,
                description: entry.description.clone(),
            })
        };
        Ok(Some(match entry.described.get() {
            Some(described) => Arc::clone(described),
            None => match self.read(store, |tx| tx.roles_of_user(name))? {
                (roles, true) => Arc::clone(entry.described.get_or_init(|| described(roles))),
                (roles, false) => described(roles),
            },
        }))
    }

    /// A role, or `None` if there is no such role.
    pub(super) fn role(&self, store: &dyn Store, name: &str) -> Result<Option<Arc<RoleEntry>>> {
        self.memo(&self.roles, name, store, |tx| {
            let Some(description) = tx.role(name)? else {
                return Ok(None);
            };
            Ok(Some(Arc::new(RoleEntry {
                description,
                grants: tx.grants_of_role(name)?,
                described: Memo::default(),
            })))
        })
    }

    /// The custom privilege groups.
    pub(super) fn groups(&self, store: &dyn Store) -> Result<Arc<GroupsEntry>> {
        self.once(&self.groups, store, |tx| {
            let list = tx.groups()?;
            let by_name = list
                .iter()
                .map(|group| (group.name.clone(), group.privileges.clone()))
                .collect();
            Ok(GroupsEntry { list, by_name })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whatever names a client asks about, a memo keeps at most MEMO_CAPACITY short ones.
    #[test]
    fn memos_stay_bounded() {
        let memo: Memo<u32> = Memo::default();
        memo.keep(&"x".repeat(MAX_KEY_BYTES + 1), 1);
        assert_eq!(memo.get(&"x".repeat(MAX_KEY_BYTES + 1)), None);
        memo.keep(&"x".repeat(MAX_KEY_BYTES), 2);
        assert_eq!(memo.get(&"x".repeat(MAX_KEY_BYTES)), Some(2));
        for n in 0..MEMO_CAPACITY as u32 + 10 {
            memo.keep(&n.to_string(), n);
        }
        let kept = memo.entries.read().unwrap().len();
        assert_eq!(kept, MEMO_CAPACITY);
        assert_eq!(memo.get("7"), Some(7), "early names stay");
        assert_eq!(memo.get(&(MEMO_CAPACITY as u32 + 5).to_string()), None);
    }
}
