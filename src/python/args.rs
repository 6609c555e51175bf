//! Argument conversion with pymilvus's client-side checks: a wrong type is a `ParamError` worded as pymilvus
//! words it (`` `user` value 1 is illegal ``), never a bare `TypeError`. Each kind of argument (see
//! [`ArgKind`]) has one conversion, whatever the operation.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString};

use super::errors::{param_error, to_py};
use super::replies::BACKUP_FORMAT;
use crate::error::RbacError;
use crate::model::{BackupRole, BackupUser, Grant, Group, RbacBackup};
use crate::ops::{ArgKind, FromValue, Secret, Value};
use crate::wire::milvus_backup;

/// A Python argument as given: `None` when it was left out or given as `None` (the operation's default then
/// applies).
pub trait Given<'py> {
    fn given(&self) -> Option<&Bound<'py, PyAny>>;
}

impl<'py> Given<'py> for &Bound<'py, PyAny> {
    fn given(&self) -> Option<&Bound<'py, PyAny>> {
        Some(self)
    }
}

impl<'py> Given<'py> for Option<&Bound<'py, PyAny>> {
    fn given(&self) -> Option<&Bound<'py, PyAny>> {
        *self
    }
}

impl<'py> Given<'py> for Option<Bound<'py, PyAny>> {
    fn given(&self) -> Option<&Bound<'py, PyAny>> {
        self.as_ref()
    }
}

/// The argument `name` of `**kwargs`, for the operations that take one from there (as pymilvus does).
pub fn from_kwargs<'py>(
    kwargs: Option<&Bound<'py, PyDict>>,
    name: &str,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    Ok(kwargs.map(|kw| kw.get_item(name)).transpose()?.flatten())
}

/// The argument `name` of kind `kind`, converted with pymilvus's checks for it; `default` (the operation's)
/// when it was not given.
pub fn argument<T: FromValue>(
    py: Python<'_>,
    kind: ArgKind,
    name: &str,
    default: Option<&str>,
    given: Option<&Bound<'_, PyAny>>,
) -> PyResult<T> {
    let value = match given {
        None => kind.default_value(default),
        Some(value) => given_value(kind, name, default, value)?,
    };
    T::from_value(value).ok_or_else(|| {
        to_py(
            py,
            RbacError::Param {
                message: format!("internal error: `{name}` converted to another kind"),
            },
        )
    })
}

fn given_value(
    kind: ArgKind,
    name: &str,
    default: Option<&str>,
    value: &Bound<'_, PyAny>,
) -> PyResult<Value> {
    Ok(match kind {
        ArgKind::UserName => Value::Text(text(value, "user")?),
        ArgKind::DroppedUser => Value::Text(user_to_drop(value)?),
        ArgKind::Password | ArgKind::NewPassword => {
            Value::Secret(Secret::new(secret(value, "password")?))
        }
        ArgKind::Description => Value::OptionalText(optional_text(value, "description")?),
        ArgKind::NewDescription => Value::Text(text(value, "description")?),
        ArgKind::RoleName => Value::Text(non_empty_text(value, "role_name")?),
        ArgKind::ObjectType => Value::Text(non_empty_text(value, "object")?),
        ArgKind::ObjectName => Value::Text(non_empty_text(value, "object_name")?),
        ArgKind::Privilege => Value::Text(non_empty_text(value, "privilege")?),
        ArgKind::CollectionName => Value::Text(non_empty_text(value, "collection_name")?),
        ArgKind::Database | ArgKind::GrantDatabase => Value::Text(
            optional_text(value, "db_name")?
                .unwrap_or_else(|| default.unwrap_or_default().to_string()),
        ),
        ArgKind::GroupName => Value::Text(non_empty_text(value, "privilege_group")?),
        ArgKind::Privileges => Value::Texts(privileges_list(value)?),
        ArgKind::Flag | ArgKind::Reconnect => Value::Flag(flag(value, name)?),
        ArgKind::Timeout => Value::Seconds(timeout(value)?),
        ArgKind::Backup => Value::Backup(Box::new(read_backup(value)?)),
        ArgKind::BackupFormat => Value::Text(text(value, "format")?),
        ArgKind::UserFilter => Value::OptionalText(optional_text(value, "user_name")?),
        ArgKind::Since => Value::Seconds(moment(value, name)?),
    })
}

/// A moment as seconds since the epoch: a `datetime` (naive ones are local time, as Python reads them), an
/// ISO 8601 text, or a number of seconds; `None` for none.
fn moment(value: &Bound<'_, PyAny>, param: &str) -> PyResult<Option<f64>> {
    let py = value.py();
    if value.is_none() {
        return Ok(None);
    }
    if value.is_instance_of::<PyBool>() {
        return Err(illegal(value, param));
    }
    if value.is_instance_of::<PyInt>() || value.is_instance_of::<PyFloat>() {
        return value
            .extract::<f64>()
            .map(Some)
            .map_err(|_| illegal(value, param));
    }
    let datetime = py.import("datetime")?.getattr("datetime")?;
    let moment = if value.is_instance_of::<PyString>() {
        // Python before 3.11 reads no `Z`; it means UTC.
        let text = value.extract::<String>()?;
        let text = match text.strip_suffix('Z') {
            Some(utc) => format!("{utc}+00:00"),
            None => text,
        };
        datetime
            .call_method1("fromisoformat", (text,))
            .map_err(|_| illegal(value, param))?
    } else if value.is_instance(&datetime)? {
        value.clone()
    } else {
        return Err(illegal(value, param));
    };
    moment
        .call_method0("timestamp")?
        .extract::<f64>()
        .map(Some)
        .map_err(|_| illegal(value, param))
}

/// `drop_user`'s argument, refused in pymilvus's own words for it.
fn user_to_drop(value: &Bound<'_, PyAny>) -> PyResult<String> {
    text(value, "user").map_err(|_| {
        let value_text = shown(value).unwrap_or_default();
        param_error(value.py(), format!("invalid user {value_text}"))
    })
}

/// The privileges list of a group change: a non-empty list of non-empty `str`, as pymilvus requires.
fn privileges_list(value: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    let refused = || {
        let value_text = shown(value).unwrap_or_default();
        param_error(
            value.py(),
            format!("`privileges` value {value_text} is illegal"),
        )
    };
    if !value.is_instance_of::<PyList>() {
        return Err(refused());
    }
    let privileges = texts(value, "privileges")?;
    if privileges.is_empty() || privileges.iter().any(String::is_empty) {
        return Err(refused());
    }
    Ok(privileges)
}

/// A value as pymilvus's messages show it, `str(value)`; `None` if that raises.
pub fn shown(value: &Bound<'_, PyAny>) -> Option<String> {
    value
        .str()
        .ok()
        .map(|text| text.to_string_lossy().into_owned())
}

/// pymilvus's `ParamError` for a wrong argument: `` `<param>` value <value> is illegal ``.
pub fn illegal(value: &Bound<'_, PyAny>, param: &str) -> PyErr {
    let value_text = shown(value).unwrap_or_else(|| "<unprintable>".to_string());
    param_error(
        value.py(),
        format!("`{param}` value {value_text} is illegal"),
    )
}

/// A `str` argument. Strings that are not valid Unicode (lone surrogates) are refused, never altered.
pub fn text(value: &Bound<'_, PyAny>, param: &str) -> PyResult<String> {
    match value.cast::<PyString>() {
        Ok(string) => match string.to_cow() {
            Ok(text) => Ok(text.into_owned()),
            Err(_) => Err(param_error(
                value.py(),
                format!("`{param}` value is illegal: it is not valid Unicode"),
            )),
        },
        Err(_) => Err(illegal(value, param)),
    }
}

/// A non-empty `str`, as pymilvus requires of role names.
pub fn non_empty_text(value: &Bound<'_, PyAny>, param: &str) -> PyResult<String> {
    let text = text(value, param)?;
    if text.is_empty() {
        return Err(illegal(value, param));
    }
    Ok(text)
}

/// A password: like `text`, but its value never appears in a message.
pub fn secret(value: &Bound<'_, PyAny>, param: &str) -> PyResult<String> {
    match value.cast::<PyString>().map(|string| string.to_cow()) {
        Ok(Ok(text)) => Ok(text.into_owned()),
        _ => {
            let type_name = value
                .get_type()
                .name()
                .map(|name| name.to_string())
                .unwrap_or_default();
            Err(param_error(
                value.py(),
                format!("`{param}` value of type {type_name} is illegal: expected a valid str"),
            ))
        }
    }
}

/// `None` or a `str`.
pub fn optional_text(value: &Bound<'_, PyAny>, param: &str) -> PyResult<Option<String>> {
    if value.is_none() {
        Ok(None)
    } else {
        text(value, param).map(Some)
    }
}

/// A `bool`, or an `int` read as one (pymilvus hands flags to protobuf, which takes both).
pub fn flag(value: &Bound<'_, PyAny>, param: &str) -> PyResult<bool> {
    if value.is_instance_of::<PyBool>() || value.is_instance_of::<PyInt>() {
        value.is_truthy()
    } else {
        Err(illegal(value, param))
    }
}

/// pymilvus accepts `None`, an `int` or a `float` as a timeout, in seconds.
pub fn timeout(value: &Bound<'_, PyAny>) -> PyResult<Option<f64>> {
    if value.is_none() {
        Ok(None)
    } else if value.is_instance_of::<PyInt>() || value.is_instance_of::<PyFloat>() {
        value
            .extract::<f64>()
            .map(Some)
            .map_err(|_| illegal(value, "timeout"))
    } else {
        Err(illegal(value, "timeout"))
    }
}

/// A keyword-only setting: distinguishes "not given" from an explicit `None`.
pub struct Setting(Option<Py<PyAny>>);

impl Setting {
    pub const UNSET: Setting = Setting(None);

    /// The given value, if any.
    pub fn given<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyAny>> {
        self.0.as_ref().map(|value| value.bind(py).clone())
    }
}

impl<'a, 'py> FromPyObject<'a, 'py> for Setting {
    type Error = PyErr;

    fn extract(value: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        Ok(Setting(Some(value.to_owned().unbind())))
    }
}

/// A limit setting: a positive `int`, or `None` for unlimited.
pub fn limit(value: &Bound<'_, PyAny>, param: &str) -> PyResult<Option<u64>> {
    if value.is_none() {
        return Ok(None);
    }
    if value.is_instance_of::<PyBool>() || !value.is_instance_of::<PyInt>() {
        return Err(illegal(value, param));
    }
    value
        .extract::<u64>()
        .map(Some)
        .map_err(|_| illegal(value, param))
}

/// A sequence of `str` (not a lone `str`, which is also a sequence).
pub fn texts(value: &Bound<'_, PyAny>, param: &str) -> PyResult<Vec<String>> {
    if value.is_instance_of::<PyString>() {
        return Err(illegal(value, param));
    }
    let items = value.try_iter().map_err(|_| illegal(value, param))?;
    items
        .map(|item| {
            item.map_err(|_| illegal(value, param))
                .and_then(|item| text(&item, param))
        })
        .collect()
}

// Backups, as `backup_rbac` returns them and `restore_rbac` takes them.

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
/// Whether a dict without this project's `version` is Milvus's `RBACMeta` in JSON: wrapped in `rbac_meta`, or
/// with an entry in Milvus's shape (a user's `user`, a role's `name`, a grant's `role`, a group's `group_name`).
/// Lists left empty tell nothing: such a dict is read as this project's, and refused for its missing version.
fn is_milvus_form(backup: &Bound<'_, PyDict>) -> PyResult<bool> {
    for wrapper in ["rbac_meta", "rbacMeta", "privilegeGroups"] {
        if backup.contains(wrapper)? {
            return Ok(true);
        }
    }
    let shaped = [
        ("users", "user"),
        ("roles", "name"),
        ("grants", "role"),
        ("privilege_groups", "group_name"),
    ];
    for (list, key) in shaped {
        let Some(items) = backup.get_item(list)? else {
            continue;
        };
        let Ok(items) = items.cast::<PyList>() else {
            continue;
        };
        for item in items.iter() {
            if item
                .cast::<PyDict>()
                .is_ok_and(|entry| entry.contains(key).unwrap_or(false))
            {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// A backup as `restore_rbac` takes it: the dict `backup_rbac()` returns, or Milvus's RBAC backup: `RBACMeta`
/// as protobuf `bytes` (what `BackupRBAC` answers), or as milvus-backup's JSON (a dict, or its text; the whole
/// `backup_meta.json` too).
pub fn read_backup(backup: &Bound<'_, PyAny>) -> PyResult<RbacBackup> {
    let py = backup.py();
    let from_milvus =
        |result: crate::error::Result<RbacBackup>| result.map_err(|err| to_py(py, err));
    if let Ok(bytes) = backup.cast::<pyo3::types::PyBytes>() {
        return from_milvus(milvus_backup::from_protobuf(bytes.as_bytes()));
    }
    if backup.is_instance_of::<PyString>() {
        let parsed = py
            .import("json")?
            .call_method1("loads", (backup,))
            .map_err(|err| param_error(py, format!("invalid RBAC backup: not JSON ({err})")))?;
        // One level of text only: a JSON string holding JSON again would make each level a call deeper.
        if parsed.is_instance_of::<PyString>() {
            return Err(param_error(
                py,
                "invalid RBAC backup: a JSON string, not a JSON object".into(),
            ));
        }
        return read_backup(&parsed);
    }
    let backup = backup.cast::<PyDict>().map_err(|_| {
        param_error(
            py,
            "`meta` value is illegal: expected the dict backup_rbac() returns, or Milvus's RBACMeta (bytes, \
             or milvus-backup's JSON)"
                .into(),
        )
    })?;
    if backup.get_item("version")?.is_none() && is_milvus_form(backup)? {
        let text: String = py
            .import("json")?
            .call_method1("dumps", (backup,))?
            .extract()?;
        return from_milvus(milvus_backup::from_json(&text));
    }
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
