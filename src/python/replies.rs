//! Replies as pymilvus's shapes: lists of names, dicts with tuples, grant dicts, and the display classes of
//! `milvus_rbac.display`.
//!
//! A reply read from a snapshot arrives as the same `Arc` for as long as the registry does not change. What
//! was made of it once is kept, and handed out again as fresh containers over the same immutable objects: a
//! new list over the kept `str`s, a copy of the kept dict. A caller may change what it got; the kept objects
//! stay as they were.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

use super::display::{rich, Rich};
use crate::audit::{self, AuditRecord};
use crate::authz::{Explanation, Reason};
use crate::model::{
    BackupFormat, Grant, Group, Names, RbacBackup, RoleDescription, UserDescription,
};
use crate::ops::Reply;
use crate::wire::milvus_backup;

/// The version of the `backup_rbac` dictionary format.
pub const BACKUP_FORMAT: u32 = 1;

/// Lists kept: a client lists users and roles, and a few snapshots' worth of each.
const KEPT_LISTS: usize = 4;
/// Descriptions kept per kind; when full, the oldest half goes.
const KEPT_DESCRIPTIONS: usize = 1024;

/// A grant as pymilvus's `GrantItem` shows it.
pub fn grant_dict<'py>(py: Python<'py>, grant: &Grant) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("object_type", &grant.object_type)?;
    dict.set_item("object_name", &grant.object_name)?;
    dict.set_item("db_name", &grant.db_name)?;
    dict.set_item("role_name", &grant.role_name)?;
    dict.set_item("privilege", &grant.privilege)?;
    dict.set_item("grantor_name", &grant.grantor)?;
    Ok(dict)
}

fn user_dict<'py>(py: Python<'py>, user: &UserDescription) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("user_name", &user.name)?;
    dict.set_item("roles", PyTuple::new(py, &user.roles)?)?;
    dict.set_item("description", &user.description)?;
    Ok(dict)
}

fn role_dict<'py>(py: Python<'py>, role: &RoleDescription) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("role", &role.name)?;
    dict.set_item("description", &role.description)?;
    let privileges = PyList::empty(py);
    for grant in &role.grants {
        privileges.append(grant_dict(py, grant)?)?;
    }
    dict.set_item("privileges", privileges)?;
    Ok(dict)
}

fn groups_list<'py>(py: Python<'py>, groups: &[Group]) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for group in groups {
        let dict = PyDict::new(py);
        dict.set_item("privilege_group", &group.name)?;
        dict.set_item("privileges", PyTuple::new(py, &group.privileges)?)?;
        list.append(dict)?;
    }
    Ok(list)
}

/// `explain_privilege`'s answer as a dict.
fn explanation_dict<'py>(
    py: Python<'py>,
    explanation: &Explanation,
) -> PyResult<Bound<'py, PyDict>> {
    let requirement = &explanation.requirement;
    let dict = PyDict::new(py);
    dict.set_item("allowed", explanation.reason.allows())?;
    dict.set_item("user_name", &explanation.user)?;
    dict.set_item("privilege", &requirement.privilege)?;
    dict.set_item("object_type", requirement.object_type.as_str())?;
    dict.set_item("object_name", &requirement.object_name)?;
    dict.set_item("db_name", &requirement.db_name)?;
    let (reason, grant, group) = match &explanation.reason {
        Reason::AuthorizationDisabled => ("authorization_disabled", None, None),
        Reason::Root => ("root", None, None),
        Reason::SelfService => ("self", None, None),
        Reason::Admin => ("admin", None, None),
        Reason::Grant { grant, group } => ("grant", Some(grant), group.as_deref()),
        Reason::Denied => ("denied", None, None),
    };
    dict.set_item("reason", reason)?;
    dict.set_item("role", grant.map(|g| g.role_name.as_str()))?;
    dict.set_item("grant", grant.map(|g| grant_dict(py, g)).transpose()?)?;
    dict.set_item("group", group)?;
    Ok(dict)
}

/// `backup` as the dict `backup_rbac` returns.
pub fn write_backup<'py>(py: Python<'py>, backup: RbacBackup) -> PyResult<Bound<'py, PyDict>> {
    let result = PyDict::new(py);
    result.set_item("version", BACKUP_FORMAT)?;
    let users = PyList::empty(py);
    for user in backup.users {
        let dict = PyDict::new(py);
        dict.set_item("user_name", user.name)?;
        dict.set_item("password_hash", user.password_hash)?;
        dict.set_item("description", user.description)?;
        dict.set_item("roles", PyList::new(py, user.roles)?)?;
        users.append(dict)?;
    }
    result.set_item("users", users)?;
    let roles = PyList::empty(py);
    for role in backup.roles {
        let dict = PyDict::new(py);
        dict.set_item("role_name", role.name)?;
        dict.set_item("description", role.description)?;
        roles.append(dict)?;
    }
    result.set_item("roles", roles)?;
    let grants = PyList::empty(py);
    for grant in &backup.grants {
        grants.append(grant_dict(py, grant)?)?;
    }
    result.set_item("grants", grants)?;
    let groups = PyList::empty(py);
    for group in backup.groups {
        let dict = PyDict::new(py);
        dict.set_item("privilege_group", group.name)?;
        dict.set_item("privileges", PyList::new(py, group.privileges)?)?;
        groups.append(dict)?;
    }
    result.set_item("privilege_groups", groups)?;
    Ok(result)
}

/// A copy of `list` whose items (dicts) are copies too.
fn copy_of_dicts<'py>(list: &Bound<'py, PyList>) -> PyResult<Bound<'py, PyList>> {
    let copy = PyList::empty(list.py());
    for item in list.iter() {
        copy.append(item.cast_into::<PyDict>()?.copy()?)?;
    }
    Ok(copy)
}

/// Python objects made of values shared through `Arc`s, by the `Arc`'s address. The `Arc` is held, so the
/// address stays its own.
struct Kept<T, O> {
    entries: HashMap<usize, (Arc<T>, Py<O>, u64)>,
    clock: u64,
    capacity: usize,
}

impl<T, O> Kept<T, O> {
    fn new(capacity: usize) -> Self {
        Kept {
            entries: HashMap::new(),
            clock: 0,
            capacity,
        }
    }

    fn get(&mut self, py: Python<'_>, value: &Arc<T>) -> Option<Py<O>> {
        self.clock += 1;
        let (_, kept, used) = self.entries.get_mut(&(Arc::as_ptr(value) as usize))?;
        *used = self.clock;
        Some(kept.clone_ref(py))
    }

    /// Keep `made` for `value`. Returns what no longer fits (the half used longest ago), to be dropped once
    /// the lock is released: dropping a Python object may run Python code.
    fn keep(&mut self, value: Arc<T>, made: Py<O>) -> Vec<(Arc<T>, Py<O>, u64)> {
        self.clock += 1;
        let mut evicted = Vec::new();
        if self.entries.len() >= self.capacity {
            let mut uses: Vec<u64> = self.entries.values().map(|(_, _, used)| *used).collect();
            let middle = uses.len() / 2;
            let cutoff = *uses.select_nth_unstable(middle).1;
            let keys: Vec<usize> = self
                .entries
                .iter()
                .filter(|(_, (_, _, used))| *used <= cutoff)
                .map(|(key, _)| *key)
                .collect();
            evicted.extend(keys.iter().filter_map(|key| self.entries.remove(key)));
        }
        let key = Arc::as_ptr(&value) as usize;
        if let Some(replaced) = self.entries.insert(key, (value, made, self.clock)) {
            evicted.push(replaced);
        }
        evicted
    }
}

struct Cache {
    names: Kept<Names, PyList>,
    users: Kept<UserDescription, PyDict>,
    roles: Kept<RoleDescription, PyDict>,
    groups: Kept<Vec<Group>, PyList>,
}

/// What one client made of its replies.
///
/// The lock is only ever tried, and held for lookups and insertions alone, never while Python code may run
/// (making or dropping a Python object can: a collection may call finalizers, which may let another thread
/// take the GIL and then wait for this lock). A busy cache is a miss.
pub struct Replies {
    cache: Mutex<Cache>,
}

impl Default for Replies {
    fn default() -> Self {
        Replies {
            cache: Mutex::new(Cache {
                names: Kept::new(KEPT_LISTS),
                users: Kept::new(KEPT_DESCRIPTIONS),
                roles: Kept::new(KEPT_DESCRIPTIONS),
                groups: Kept::new(KEPT_LISTS),
            }),
        }
    }
}

impl Replies {
    /// What was made of `value` before, from the `Kept` that `pick` chooses; else `make`'s, kept.
    fn made<'py, T, O>(
        &self,
        py: Python<'py>,
        value: Arc<T>,
        pick: impl Fn(&mut Cache) -> &mut Kept<T, O>,
        make: impl FnOnce(Python<'py>, &T) -> PyResult<Bound<'py, O>>,
    ) -> PyResult<Bound<'py, O>> {
        if let Ok(mut cache) = self.cache.try_lock() {
            if let Some(kept) = pick(&mut cache).get(py, &value) {
                drop(cache);
                return Ok(kept.into_bound(py));
            }
        }
        let made = make(py, &value)?;
        let evicted = match self.cache.try_lock() {
            Ok(mut cache) => pick(&mut cache).keep(value, made.clone().unbind()),
            Err(_) => Vec::new(),
        };
        drop(evicted);
        Ok(made)
    }

    /// `reply` as the Python value pymilvus returns for it.
    pub fn to_python<'py>(&self, py: Python<'py>, reply: Reply) -> PyResult<Bound<'py, PyAny>> {
        Ok(match reply {
            Reply::Done => py.None().into_bound(py),
            Reply::Allowed(allowed) => allowed.into_pyobject(py)?.to_owned().into_any(),
            Reply::Names(names) => {
                let kept = self.made(
                    py,
                    names,
                    |cache| &mut cache.names,
                    |py, names| PyList::new(py, names.iter()),
                )?;
                kept.get_slice(0, kept.len()).into_any()
            }
            Reply::User(None) => rich(Rich::UserDescription, PyDict::new(py).into_any())?,
            Reply::User(Some(user)) => {
                let kept = self.made(py, user, |cache| &mut cache.users, user_dict)?;
                // The roles are a tuple: a copy of the dict is all a caller can change.
                rich(Rich::UserDescription, kept.into_any())?
            }
            Reply::Role(role) => {
                let kept = self.made(py, role, |cache| &mut cache.roles, role_dict)?;
                let copy = kept.copy()?;
                let privileges = kept
                    .get_item("privileges")?
                    .map(|list| list.cast_into::<PyList>())
                    .transpose()?;
                if let Some(privileges) = privileges {
                    copy.set_item("privileges", copy_of_dicts(&privileges)?)?;
                }
                rich(Rich::RoleDescription, copy.into_any())?
            }
            Reply::Groups(groups) => {
                let kept = self.made(
                    py,
                    groups,
                    |cache| &mut cache.groups,
                    |py, groups| groups_list(py, groups),
                )?;
                rich(Rich::PrivilegeGroups, copy_of_dicts(&kept)?.into_any())?
            }
            Reply::Explanation(explanation) => explanation_dict(py, &explanation)?.into_any(),
            Reply::Backup(backup, BackupFormat::MilvusRbac) => {
                write_backup(py, *backup)?.into_any()
            }
            Reply::Backup(backup, BackupFormat::Milvus) => {
                let text = milvus_backup::to_json(&backup).to_string();
                py.import("json")?.call_method1("loads", (text,))?
            }
            Reply::AuditRecords(records) => {
                let list = PyList::empty(py);
                for record in records.iter() {
                    list.append(audit_record_dict(py, record)?)?;
                }
                list.into_any()
            }
            Reply::AuditCheck(check) => {
                let dict = PyDict::new(py);
                dict.set_item("intact", check.problem.is_none())?;
                dict.set_item("records", check.records)?;
                dict.set_item("first", check.first)?;
                dict.set_item("last", check.last)?;
                dict.set_item("head", &check.head)?;
                dict.set_item("problem", check.problem.as_deref())?;
                dict.into_any()
            }
        })
    }
}

/// One audit record as `audit()` lists it.
fn audit_record_dict<'py>(py: Python<'py>, record: &AuditRecord) -> PyResult<Bound<'py, PyDict>> {
    let entry = &record.entry;
    let dict = PyDict::new(py);
    dict.set_item("seq", record.seq)?;
    dict.set_item("time", audit::iso_time(entry.at_ms))?;
    dict.set_item("user", &entry.user)?;
    dict.set_item("db_name", &entry.db_name)?;
    dict.set_item("operation", &entry.operation)?;
    let target = PyDict::new(py);
    for (name, value) in &entry.target {
        target.set_item(name, value)?;
    }
    dict.set_item("target", target)?;
    dict.set_item("result", entry.outcome.as_str())?;
    dict.set_item("code", entry.code)?;
    dict.set_item("message", &entry.message)?;
    dict.set_item("hash", &record.hash)?;
    Ok(dict)
}
