//! RBAC backups as Python dicts: what `backup_rbac` returns and `restore_rbac` takes (a JSON-serialisable
//! format of this project's, versioned).

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use super::args::{text, texts};
use super::errors::param_error;
use super::replies::grant_dict;
use crate::model::{BackupRole, BackupUser, Grant, Group, RbacBackup};

/// The version of the `backup_rbac` dictionary format.
const BACKUP_FORMAT: u32 = 1;

/// The value of `key` in a backup dictionary, as text.
fn field(dict: &Bound<'_, PyDict>, key: &str, what: &str) -> PyResult<String> {
    match dict.get_item(key)? {
        Some(value) => text(&value, &format!("{what}.{key}")),
        None => Err(param_error(
            dict.py(),
            format!("invalid RBAC backup: {what} has no `{key}`"),
        )),
    }
}

/// The dictionaries under `key` of a backup.
fn entries<'py>(backup: &Bound<'py, PyDict>, key: &str) -> PyResult<Vec<Bound<'py, PyDict>>> {
    let py = backup.py();
    let Some(value) = backup.get_item(key)? else {
        return Err(param_error(
            py,
            format!("invalid RBAC backup: no `{key}` list"),
        ));
    };
    let list = value
        .cast::<PyList>()
        .map_err(|_| param_error(py, format!("invalid RBAC backup: `{key}` is not a list")))?;
    list.iter()
        .map(|item| {
            item.cast_into::<PyDict>().map_err(|_| {
                param_error(
                    py,
                    format!("invalid RBAC backup: an entry of `{key}` is not a dict"),
                )
            })
        })
        .collect()
}

/// Each dict under `key` of a backup, read by `read`.
fn read_each<T>(
    backup: &Bound<'_, PyDict>,
    key: &str,
    read: impl Fn(&Bound<'_, PyDict>) -> PyResult<T>,
) -> PyResult<Vec<T>> {
    entries(backup, key)?.iter().map(read).collect()
}

fn list_field(dict: &Bound<'_, PyDict>, key: &str, what: &str) -> PyResult<Vec<String>> {
    match dict.get_item(key)? {
        Some(value) => texts(&value, &format!("{what}.{key}")),
        None => Err(param_error(
            dict.py(),
            format!("invalid RBAC backup: {what} has no `{key}`"),
        )),
    }
}

/// The backup in `backup`, a dict as `backup_rbac` returns it.
pub fn read_backup(backup: &Bound<'_, PyAny>) -> PyResult<RbacBackup> {
    let py = backup.py();
    let backup = backup.cast::<PyDict>().map_err(|_| {
        param_error(
            py,
            "`meta` value is illegal: expected the dict backup_rbac() returns".into(),
        )
    })?;
    let version = backup.get_item("version")?;
    let version_ok = version
        .as_ref()
        .filter(|v| !v.is_instance_of::<pyo3::types::PyBool>())
        .and_then(|v| v.extract::<u32>().ok())
        .is_some_and(|v| v == BACKUP_FORMAT);
    if !version_ok {
        return Err(param_error(
            py,
            format!("invalid RBAC backup: expected \"version\": {BACKUP_FORMAT}"),
        ));
    }
    Ok(RbacBackup {
        users: read_each(backup, "users", |user| {
            Ok(BackupUser {
                name: field(user, "user_name", "user")?,
                password_hash: field(user, "password_hash", "user")?,
                description: field(user, "description", "user")?,
                roles: list_field(user, "roles", "user")?,
            })
        })?,
        roles: read_each(backup, "roles", |role| {
            Ok(BackupRole {
                name: field(role, "role_name", "role")?,
                description: field(role, "description", "role")?,
            })
        })?,
        grants: read_each(backup, "grants", |grant| {
            let text = |key| field(grant, key, "grant");
            Ok(Grant {
                role_name: text("role_name")?,
                object_type: text("object_type")?,
                db_name: text("db_name")?,
                object_name: text("object_name")?,
                privilege: text("privilege")?,
                grantor: text("grantor_name")?,
            })
        })?,
        groups: read_each(backup, "privilege_groups", |group| {
            Ok(Group {
                name: field(group, "privilege_group", "privilege group")?,
                privileges: list_field(group, "privileges", "privilege group")?,
            })
        })?,
    })
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
