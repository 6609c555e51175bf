//! `MilvusClient`'s privilege methods: grants v1 and v2, `describe_role`, privilege groups, RBAC backups.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

use super::client::MilvusClient;
use super::convert::{check_timeout, non_empty_text, optional_text, shown, text, texts};
use super::display::{rich, Rich};
use super::errors::param_error;
use crate::authz::Reason;
use crate::catalog::Group;
use crate::registry::{BackupRole, BackupUser, Explanation, GroupChange, Operation, RbacBackup};
use crate::store::Grant;

/// The defaults of `check_privilege`'s optional arguments.
struct Defaults<'py> {
    object_type: Bound<'py, PyAny>,
    object_name: Bound<'py, PyAny>,
    db_name: Bound<'py, PyAny>,
}

impl<'py> Defaults<'py> {
    fn new(py: Python<'py>) -> Defaults<'py> {
        Defaults {
            object_type: PyString::new(py, "Global").into_any(),
            object_name: PyString::new(py, "*").into_any(),
            db_name: PyString::new(py, "default").into_any(),
        }
    }
}

/// The version of the `backup_rbac` dictionary format.
const BACKUP_FORMAT: u32 = 1;

fn group_dict<'py>(py: Python<'py>, group: Group) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("privilege_group", group.name)?;
    dict.set_item("privileges", PyTuple::new(py, group.privileges)?)?;
    Ok(dict)
}

/// A grant as pymilvus's `GrantItem` shows it.
fn grant_dict<'py>(py: Python<'py>, grant: &Grant) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("object_type", &grant.object_type)?;
    dict.set_item("object_name", &grant.object_name)?;
    dict.set_item("db_name", &grant.db_name)?;
    dict.set_item("role_name", &grant.role_name)?;
    dict.set_item("privilege", &grant.privilege)?;
    dict.set_item("grantor_name", &grant.grantor)?;
    Ok(dict)
}

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

fn read_backup(backup: &Bound<'_, PyAny>) -> PyResult<RbacBackup> {
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

fn write_backup<'py>(py: Python<'py>, backup: RbacBackup) -> PyResult<Bound<'py, PyDict>> {
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

/// `None` or a `str`, `None` read as `""`.
fn db(value: Option<&Bound<'_, PyAny>>) -> PyResult<String> {
    Ok(value
        .map(|v| optional_text(v, "db_name"))
        .transpose()?
        .flatten()
        .unwrap_or_default())
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

impl MilvusClient {
    #[allow(clippy::too_many_arguments)]
    fn explain(
        &self,
        py: Python<'_>,
        user_name: &Bound<'_, PyAny>,
        privilege: &Bound<'_, PyAny>,
        object_type: &Bound<'_, PyAny>,
        object_name: &Bound<'_, PyAny>,
        db_name: &Bound<'_, PyAny>,
        timeout: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Explanation> {
        let user_name = text(user_name, "user")?;
        let privilege = non_empty_text(privilege, "privilege")?;
        let object_type = non_empty_text(object_type, "object")?;
        let object_name = non_empty_text(object_name, "object_name")?;
        let db_name = text(db_name, "db_name")?;
        timeout.map(check_timeout).transpose()?;
        self.call(py, |registry, caller| {
            registry.explain_privilege(
                caller,
                &user_name,
                &privilege,
                &object_type,
                &object_name,
                &db_name,
            )
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn privilege_v1(
        &self,
        py: Python<'_>,
        operation: Operation,
        role_name: &Bound<'_, PyAny>,
        object_type: &Bound<'_, PyAny>,
        privilege: &Bound<'_, PyAny>,
        object_name: &Bound<'_, PyAny>,
        db_name: Option<&Bound<'_, PyAny>>,
        timeout: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let role_name = non_empty_text(role_name, "role_name")?;
        let object_type = non_empty_text(object_type, "object")?;
        let object_name = non_empty_text(object_name, "object_name")?;
        let privilege = non_empty_text(privilege, "privilege")?;
        let db_name = db(db_name)?;
        timeout.map(check_timeout).transpose()?;
        self.call(py, |registry, caller| {
            registry.operate_privilege(
                caller,
                operation,
                &role_name,
                &object_type,
                &privilege,
                &object_name,
                &db_name,
            )
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn privilege_v2(
        &self,
        py: Python<'_>,
        operation: Operation,
        role_name: &Bound<'_, PyAny>,
        privilege: &Bound<'_, PyAny>,
        collection_name: &Bound<'_, PyAny>,
        db_name: Option<&Bound<'_, PyAny>>,
        timeout: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let role_name = non_empty_text(role_name, "role_name")?;
        let privilege = non_empty_text(privilege, "privilege")?;
        let collection_name = non_empty_text(collection_name, "collection_name")?;
        let db_name = db(db_name)?;
        timeout.map(check_timeout).transpose()?;
        self.call(py, |registry, caller| {
            registry.operate_privilege_v2(
                caller,
                operation,
                &role_name,
                &privilege,
                &collection_name,
                &db_name,
            )
        })
    }

    fn change_group(
        &self,
        py: Python<'_>,
        change: GroupChange,
        group_name: &Bound<'_, PyAny>,
        privileges: &Bound<'_, PyAny>,
        timeout: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let group_name = non_empty_text(group_name, "privilege_group")?;
        let privileges = privileges_list(privileges)?;
        timeout.map(check_timeout).transpose()?;
        self.call(py, |registry, caller| {
            registry.change_privilege_group(caller, change, &group_name, &privileges)
        })
    }
}

#[pymethods]
impl MilvusClient {
    /// Grant `privilege` on `object_name` of `object_type` (`Global`, `Collection`, `User`) to a role, in
    /// database `db_name` (`""` is `default`). Granting twice is a no-op.
    ///
    /// >>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
    /// >>> client.create_role("reader")
    /// >>> client.grant_privilege("reader", "Collection", "Search", "books")
    /// >>> [(g["object_name"], g["privilege"]) for g in client.describe_role("reader")["privileges"]]
    /// [('books', 'Search')]
    #[pyo3(signature = (role_name, object_type, privilege, object_name, db_name = None, timeout = None, **kwargs))]
    #[pyo3(
        text_signature = "($self, role_name, object_type, privilege, object_name, db_name='', timeout=None, **kwargs)"
    )]
    #[allow(clippy::too_many_arguments)]
    fn grant_privilege(
        &self,
        py: Python<'_>,
        role_name: &Bound<'_, PyAny>,
        object_type: &Bound<'_, PyAny>,
        privilege: &Bound<'_, PyAny>,
        object_name: &Bound<'_, PyAny>,
        db_name: Option<&Bound<'_, PyAny>>,
        timeout: Option<&Bound<'_, PyAny>>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        let _ = kwargs;
        self.privilege_v1(
            py,
            Operation::Grant,
            role_name,
            object_type,
            privilege,
            object_name,
            db_name,
            timeout,
        )
    }

    /// Revoke what `grant_privilege` granted. Revoking what is not granted is a no-op.
    ///
    /// >>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
    /// >>> client.create_role("reader")
    /// >>> client.grant_privilege("reader", "Collection", "Search", "books")
    /// >>> client.revoke_privilege("reader", "Collection", "Search", "books")
    /// >>> client.describe_role("reader")["privileges"]
    /// []
    #[pyo3(signature = (role_name, object_type, privilege, object_name, db_name = None, timeout = None, **kwargs))]
    #[pyo3(
        text_signature = "($self, role_name, object_type, privilege, object_name, db_name='', timeout=None, **kwargs)"
    )]
    #[allow(clippy::too_many_arguments)]
    fn revoke_privilege(
        &self,
        py: Python<'_>,
        role_name: &Bound<'_, PyAny>,
        object_type: &Bound<'_, PyAny>,
        privilege: &Bound<'_, PyAny>,
        object_name: &Bound<'_, PyAny>,
        db_name: Option<&Bound<'_, PyAny>>,
        timeout: Option<&Bound<'_, PyAny>>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        let _ = kwargs;
        self.privilege_v1(
            py,
            Operation::Revoke,
            role_name,
            object_type,
            privilege,
            object_name,
            db_name,
            timeout,
        )
    }

    /// Grant a privilege or privilege group on `collection_name` in `db_name` (Milvus 2.5+; `*` for all).
    ///
    /// >>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
    /// >>> client.create_role("reader")
    /// >>> client.grant_privilege_v2("reader", "CollectionReadOnly", "books", db_name="default")
    /// >>> client.describe_role("reader")["privileges"][0]["privilege"]
    /// 'CollectionReadOnly'
    #[pyo3(signature = (role_name, privilege, collection_name, db_name = None, timeout = None, **kwargs))]
    #[allow(clippy::too_many_arguments)]
    fn grant_privilege_v2(
        &self,
        py: Python<'_>,
        role_name: &Bound<'_, PyAny>,
        privilege: &Bound<'_, PyAny>,
        collection_name: &Bound<'_, PyAny>,
        db_name: Option<&Bound<'_, PyAny>>,
        timeout: Option<&Bound<'_, PyAny>>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        let _ = kwargs;
        self.privilege_v2(
            py,
            Operation::Grant,
            role_name,
            privilege,
            collection_name,
            db_name,
            timeout,
        )
    }

    /// Revoke what `grant_privilege_v2` granted.
    ///
    /// >>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
    /// >>> client.create_role("reader")
    /// >>> client.grant_privilege_v2("reader", "CollectionReadOnly", "books")
    /// >>> client.revoke_privilege_v2("reader", "CollectionReadOnly", "books")
    /// >>> client.describe_role("reader")["privileges"]
    /// []
    #[pyo3(signature = (role_name, privilege, collection_name, db_name = None, timeout = None, **kwargs))]
    #[allow(clippy::too_many_arguments)]
    fn revoke_privilege_v2(
        &self,
        py: Python<'_>,
        role_name: &Bound<'_, PyAny>,
        privilege: &Bound<'_, PyAny>,
        collection_name: &Bound<'_, PyAny>,
        db_name: Option<&Bound<'_, PyAny>>,
        timeout: Option<&Bound<'_, PyAny>>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        let _ = kwargs;
        self.privilege_v2(
            py,
            Operation::Revoke,
            role_name,
            privilege,
            collection_name,
            db_name,
            timeout,
        )
    }

    /// `{"role": ..., "description": ..., "privileges": [{...}, ...]}`: the role's grants in database
    /// `db_name` (keyword; `""` is `default`, `*` is all) and in `*`, in Milvus's order.
    ///
    /// >>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
    /// >>> client.create_role("reader")
    /// >>> client.grant_privilege("reader", "Collection", "Search", "books", db_name="db1")
    /// >>> client.describe_role("reader")["privileges"]
    /// []
    /// >>> client.describe_role("reader", db_name="db1")["privileges"]
    /// [{'object_type': 'Collection', 'object_name': 'books', 'db_name': 'db1', 'role_name': 'reader', 'privilege': 'Search', 'grantor_name': 'root'}]
    #[pyo3(signature = (role_name, timeout = None, **kwargs))]
    fn describe_role<'py>(
        &self,
        py: Python<'py>,
        role_name: &Bound<'py, PyAny>,
        timeout: Option<&Bound<'py, PyAny>>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let role_name = non_empty_text(role_name, "role_name")?;
        let db_name = match kwargs
            .map(|kw| kw.get_item("db_name"))
            .transpose()?
            .flatten()
        {
            Some(value) => db(Some(&value))?,
            None => String::new(),
        };
        timeout.map(check_timeout).transpose()?;
        let role = self.call(py, |registry, caller| {
            registry.describe_role(caller, &role_name, &db_name)
        })?;
        let result = PyDict::new(py);
        result.set_item("role", role.name)?;
        result.set_item("description", role.description)?;
        let privileges = PyList::empty(py);
        for grant in &role.grants {
            privileges.append(grant_dict(py, grant)?)?;
        }
        result.set_item("privileges", privileges)?;
        rich(Rich::RoleDescription, result.into_any())
    }

    /// Create an empty custom privilege group (Milvus 2.5+).
    ///
    /// >>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
    /// >>> client.create_privilege_group("readers")
    /// >>> client.list_privilege_groups()[0]
    /// {'privilege_group': 'readers', 'privileges': ()}
    #[pyo3(signature = (group_name, timeout = None, **kwargs))]
    fn create_privilege_group(
        &self,
        py: Python<'_>,
        group_name: &Bound<'_, PyAny>,
        timeout: Option<&Bound<'_, PyAny>>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        let _ = kwargs;
        let group_name = non_empty_text(group_name, "privilege_group")?;
        timeout.map(check_timeout).transpose()?;
        self.call(py, |registry, caller| {
            registry.create_privilege_group(caller, &group_name)
        })
    }

    /// Drop a custom privilege group; refused while a role holds it, a no-op for any other name.
    ///
    /// >>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
    /// >>> client.create_privilege_group("readers")
    /// >>> client.drop_privilege_group("readers")
    /// >>> "readers" in [g["privilege_group"] for g in client.list_privilege_groups()]
    /// False
    #[pyo3(signature = (group_name, timeout = None, **kwargs))]
    fn drop_privilege_group(
        &self,
        py: Python<'_>,
        group_name: &Bound<'_, PyAny>,
        timeout: Option<&Bound<'_, PyAny>>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        let _ = kwargs;
        let group_name = non_empty_text(group_name, "privilege_group")?;
        timeout.map(check_timeout).transpose()?;
        self.call(py, |registry, caller| {
            registry.drop_privilege_group(caller, &group_name)
        })
    }

    /// `[{"privilege_group": ..., "privileges": (...)}, ...]`: custom groups by name, then the built-in ones.
    ///
    /// >>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
    /// >>> [g["privilege_group"] for g in client.list_privilege_groups()][:3]
    /// ['ClusterReadOnly', 'ClusterReadWrite', 'ClusterAdmin']
    #[pyo3(signature = (timeout = None, **kwargs))]
    fn list_privilege_groups<'py>(
        &self,
        py: Python<'py>,
        timeout: Option<&Bound<'py, PyAny>>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let _ = kwargs;
        timeout.map(check_timeout).transpose()?;
        let groups = self.call(py, |registry, caller| {
            registry.list_privilege_groups(caller)
        })?;
        let result = PyList::empty(py);
        for group in groups {
            result.append(group_dict(py, group)?)?;
        }
        rich(Rich::PrivilegeGroups, result.into_any())
    }

    /// Add privileges (or the members of groups) to a custom group; they must share one privilege level.
    ///
    /// >>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
    /// >>> client.create_privilege_group("readers")
    /// >>> client.add_privileges_to_group("readers", ["Search", "Query"])
    /// >>> client.list_privilege_groups()[0]
    /// {'privilege_group': 'readers', 'privileges': ('Query', 'Search')}
    #[pyo3(signature = (group_name, privileges, timeout = None, **kwargs))]
    fn add_privileges_to_group(
        &self,
        py: Python<'_>,
        group_name: &Bound<'_, PyAny>,
        privileges: &Bound<'_, PyAny>,
        timeout: Option<&Bound<'_, PyAny>>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        let _ = kwargs;
        self.change_group(py, GroupChange::Add, group_name, privileges, timeout)
    }

    /// Remove privileges from a custom group (absent ones are ignored).
    ///
    /// >>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
    /// >>> client.create_privilege_group("readers")
    /// >>> client.add_privileges_to_group("readers", ["Search", "Query"])
    /// >>> client.remove_privileges_from_group("readers", ["Query"])
    /// >>> client.list_privilege_groups()[0]["privileges"]
    /// ('Search',)
    #[pyo3(signature = (group_name, privileges, timeout = None, **kwargs))]
    fn remove_privileges_from_group(
        &self,
        py: Python<'_>,
        group_name: &Bound<'_, PyAny>,
        privileges: &Bound<'_, PyAny>,
        timeout: Option<&Bound<'_, PyAny>>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        let _ = kwargs;
        self.change_group(py, GroupChange::Remove, group_name, privileges, timeout)
    }

    /// Extension (not in pymilvus): whether `user_name` may have `privilege` on `object_name` of
    /// `object_type` in `db_name`, decided as every operation is. Needs `User/SelectUser` on that user (or
    /// is one's own question).
    ///
    /// >>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
    /// >>> client.create_user("user_1", "P@ssw0rd")
    /// >>> client.check_privilege("user_1", "Search", "Collection", "books")
    /// False
    /// >>> client.grant_role("user_1", "admin")
    /// >>> client.check_privilege("user_1", "Search", "Collection", "books")
    /// True
    #[pyo3(signature = (
        user_name, privilege, object_type = None, object_name = None, db_name = None, timeout = None, **kwargs
    ))]
    #[pyo3(
        text_signature = "($self, user_name, privilege, object_type='Global', object_name='*', \
        db_name='default', timeout=None, **kwargs)"
    )]
    #[allow(clippy::too_many_arguments)]
    fn check_privilege(
        &self,
        py: Python<'_>,
        user_name: &Bound<'_, PyAny>,
        privilege: &Bound<'_, PyAny>,
        object_type: Option<&Bound<'_, PyAny>>,
        object_name: Option<&Bound<'_, PyAny>>,
        db_name: Option<&Bound<'_, PyAny>>,
        timeout: Option<&Bound<'_, PyAny>>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<bool> {
        let _ = kwargs;
        let defaults = Defaults::new(py);
        let explanation = self.explain(
            py,
            user_name,
            privilege,
            object_type.unwrap_or(&defaults.object_type),
            object_name.unwrap_or(&defaults.object_name),
            db_name.unwrap_or(&defaults.db_name),
            timeout,
        )?;
        Ok(explanation.reason.allows())
    }

    /// Extension (not in pymilvus): `check_privilege`'s answer with its reason: `{"allowed", "user_name",
    /// "privilege", "object_type", "object_name", "db_name", "reason", "role", "grant", "group"}`, where
    /// `reason` is `root`, `admin`, `self`, `grant`, `authorization_disabled` or `denied`, and `role`,
    /// `grant` and `group` name what granted it.
    ///
    /// >>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
    /// >>> client.create_user("user_1", "P@ssw0rd")
    /// >>> client.create_role("reader")
    /// >>> client.grant_privilege_v2("reader", "CollectionReadOnly", "books")
    /// >>> client.grant_role("user_1", "reader")
    /// >>> answer = client.explain_privilege("user_1", "Search", "Collection", "books")
    /// >>> answer["allowed"], answer["reason"], answer["role"], answer["group"]
    /// (True, 'grant', 'reader', 'CollectionReadOnly')
    #[pyo3(signature = (
        user_name, privilege, object_type = None, object_name = None, db_name = None, timeout = None, **kwargs
    ))]
    #[pyo3(
        text_signature = "($self, user_name, privilege, object_type='Global', object_name='*', \
        db_name='default', timeout=None, **kwargs)"
    )]
    #[allow(clippy::too_many_arguments)]
    fn explain_privilege<'py>(
        &self,
        py: Python<'py>,
        user_name: &Bound<'py, PyAny>,
        privilege: &Bound<'py, PyAny>,
        object_type: Option<&Bound<'py, PyAny>>,
        object_name: Option<&Bound<'py, PyAny>>,
        db_name: Option<&Bound<'py, PyAny>>,
        timeout: Option<&Bound<'py, PyAny>>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let _ = kwargs;
        let defaults = Defaults::new(py);
        let explanation = self.explain(
            py,
            user_name,
            privilege,
            object_type.unwrap_or(&defaults.object_type),
            object_name.unwrap_or(&defaults.object_name),
            db_name.unwrap_or(&defaults.db_name),
            timeout,
        )?;
        explanation_dict(py, &explanation)
    }

    /// Extension (not in pymilvus): the registry's users (with password hashes), roles, grants and custom
    /// groups, without root, admin and public, as a JSON-serialisable dict.
    ///
    /// >>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
    /// >>> client.create_user("user_1", "P@ssw0rd")
    /// >>> backup = client.backup_rbac()
    /// >>> backup["version"], [u["user_name"] for u in backup["users"]]
    /// (1, ['user_1'])
    /// >>> backup["users"][0]["password_hash"].startswith("$argon2id$")
    /// True
    #[pyo3(signature = (timeout = None, **kwargs))]
    fn backup_rbac<'py>(
        &self,
        py: Python<'py>,
        timeout: Option<&Bound<'py, PyAny>>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let _ = kwargs;
        timeout.map(check_timeout).transpose()?;
        let backup = self.call(py, |registry, caller| registry.backup_rbac(caller))?;
        write_backup(py, backup)
    }

    /// Extension (not in pymilvus): restore what `backup_rbac` returned; all or nothing, refused if any
    /// user, role or group of the backup exists already.
    ///
    /// >>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
    /// >>> client.create_user("user_1", "P@ssw0rd")
    /// >>> backup = client.backup_rbac()
    /// >>> other = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
    /// >>> other.restore_rbac(backup)
    /// >>> other.list_users()
    /// ['root', 'user_1']
    /// >>> other.restore_rbac(backup)  # all or nothing: user_1 exists now
    /// Traceback (most recent call last):
    ///   ...
    /// milvus_rbac.exceptions.MilvusException: <MilvusException: (code=65535, message=user [user_1] already exists)>
    #[pyo3(signature = (meta, timeout = None, **kwargs))]
    fn restore_rbac(
        &self,
        py: Python<'_>,
        meta: &Bound<'_, PyAny>,
        timeout: Option<&Bound<'_, PyAny>>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        let _ = kwargs;
        timeout.map(check_timeout).transpose()?;
        let backup = read_backup(meta)?;
        self.call(py, |registry, caller| {
            registry.restore_rbac(caller, &backup)
        })
    }
}
