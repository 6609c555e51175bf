//! `MilvusClient`'s user and role methods.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

use super::client::MilvusClient;
use super::convert::{check_timeout, flag, non_empty_text, optional_text, secret, shown, text};
use super::display::{rich, Rich};
use super::errors::param_error;

/// `drop_user`'s argument, refused in pymilvus's own words for it.
fn user_to_drop(value: &Bound<'_, PyAny>) -> PyResult<String> {
    text(value, "user").map_err(|_| {
        let value_text = shown(value).unwrap_or_default();
        param_error(value.py(), format!("invalid user {value_text}"))
    })
}

#[pymethods]
impl MilvusClient {
    /// Create a user. `description` is kept in profiles with descriptions (Milvus 2.6.19 and "docs").
    ///
    /// >>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
    /// >>> client.create_user("user_1", "P@ssw0rd")
    /// >>> client.create_user("user_1", "P@ssw0rd")
    /// Traceback (most recent call last):
    ///   ...
    /// milvus_rbac.exceptions.MilvusException: <MilvusException: (code=65535, message=user already exists: user_1)>
    #[pyo3(signature = (user_name, password, timeout = None, description = None, **kwargs))]
    fn create_user(
        &self,
        py: Python<'_>,
        user_name: &Bound<'_, PyAny>,
        password: &Bound<'_, PyAny>,
        timeout: Option<&Bound<'_, PyAny>>,
        description: Option<&Bound<'_, PyAny>>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        let _ = kwargs;
        let user_name = text(user_name, "user")?;
        let password = secret(password, "password")?;
        let description = description
            .map(|d| optional_text(d, "description"))
            .transpose()?
            .flatten();
        timeout.map(check_timeout).transpose()?;
        self.call(py, |registry, caller| {
            registry.create_user(caller, &user_name, &password, description.as_deref())
        })
    }

    /// Change a user's password. The old password is required unless this client's user is a super user.
    /// With `reset_connection=True`, this client goes on as `user_name` with the new password.
    ///
    /// >>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
    /// >>> client.create_user("user_1", "P@ssw0rd")
    /// >>> client.update_password("user_1", "P@ssw0rd", "N3w-P@ssw0rd")
    /// >>> client.update_password("user_1", "P@ssw0rd", "N3w-P@ssw0rd")
    /// Traceback (most recent call last):
    ///   ...
    /// milvus_rbac.exceptions.MilvusException: <MilvusException: (code=1400, message=old password not correct for user_1: not authenticated)>
    #[pyo3(signature = (
        user_name, old_password, new_password, reset_connection = None, timeout = None, description = None,
        **kwargs
    ))]
    #[pyo3(
        text_signature = "($self, user_name, old_password, new_password, reset_connection=False, \
        timeout=None, description=None, **kwargs)"
    )]
    #[allow(clippy::too_many_arguments)]
    fn update_password(
        &self,
        py: Python<'_>,
        user_name: &Bound<'_, PyAny>,
        old_password: &Bound<'_, PyAny>,
        new_password: &Bound<'_, PyAny>,
        reset_connection: Option<&Bound<'_, PyAny>>,
        timeout: Option<&Bound<'_, PyAny>>,
        description: Option<&Bound<'_, PyAny>>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        let _ = kwargs;
        let user_name = text(user_name, "user")?;
        let old_password = secret(old_password, "password")?;
        let new_password = secret(new_password, "password")?;
        let reset_connection = reset_connection
            .map(|value| flag(value, "reset_connection"))
            .transpose()?
            .unwrap_or(false);
        let description = description
            .map(|d| optional_text(d, "description"))
            .transpose()?
            .flatten();
        timeout.map(check_timeout).transpose()?;
        self.call(py, |registry, caller| {
            registry.update_password(
                caller,
                &user_name,
                &old_password,
                &new_password,
                description.as_deref(),
            )
        })?;
        if reset_connection {
            self.reconnect_as(&user_name, &new_password);
        }
        Ok(())
    }

    /// Set a user's description (Milvus 2.6.19). Older profiles answer as older servers do.
    ///
    /// >>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
    /// >>> client.create_user("user_1", "P@ssw0rd")
    /// >>> client.update_user("user_1", "reads books")
    /// >>> client.describe_user("user_1")["description"]
    /// 'reads books'
    #[pyo3(signature = (user_name, description, timeout = None, **kwargs))]
    fn update_user(
        &self,
        py: Python<'_>,
        user_name: &Bound<'_, PyAny>,
        description: &Bound<'_, PyAny>,
        timeout: Option<&Bound<'_, PyAny>>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        let _ = kwargs;
        let user_name = text(user_name, "user")?;
        let description = text(description, "description")?;
        timeout.map(check_timeout).transpose()?;
        self.call(py, |registry, caller| {
            registry.update_user(caller, &user_name, &description)
        })
    }

    /// Names of all users, root included, in byte order.
    ///
    /// >>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
    /// >>> client.create_user("user_1", "P@ssw0rd")
    /// >>> client.list_users()
    /// ['root', 'user_1']
    #[pyo3(signature = (timeout = None, **kwargs))]
    fn list_users<'py>(
        &self,
        py: Python<'py>,
        timeout: Option<&Bound<'_, PyAny>>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Bound<'py, PyList>> {
        let _ = kwargs;
        timeout.map(check_timeout).transpose()?;
        let names = self.call(py, |registry, caller| registry.list_users(caller))?;
        PyList::new(py, names.iter())
    }

    /// Drop a user and its role memberships. Dropping a missing user succeeds; root cannot be dropped.
    ///
    /// >>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
    /// >>> client.create_user("user_1", "P@ssw0rd")
    /// >>> client.drop_user("user_1")
    /// >>> client.drop_user("user_1")  # already gone: still a success
    /// >>> client.list_users()
    /// ['root']
    #[pyo3(signature = (user_name, timeout = None, **kwargs))]
    fn drop_user(
        &self,
        py: Python<'_>,
        user_name: &Bound<'_, PyAny>,
        timeout: Option<&Bound<'_, PyAny>>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        let _ = kwargs;
        let user_name = user_to_drop(user_name)?;
        timeout.map(check_timeout).transpose()?;
        self.call(py, |registry, caller| {
            registry.drop_user(caller, &user_name)
        })
    }

    /// `{"user_name": ..., "roles": (...), "description": ...}`, or `{}` if there is no such user.
    ///
    /// >>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
    /// >>> client.create_user("user_1", "P@ssw0rd")
    /// >>> client.grant_role("user_1", "admin")
    /// >>> client.describe_user("user_1")
    /// {'user_name': 'user_1', 'roles': ('admin',), 'description': ''}
    /// >>> client.describe_user("nobody")
    /// {}
    #[pyo3(signature = (user_name, timeout = None, **kwargs))]
    fn describe_user<'py>(
        &self,
        py: Python<'py>,
        user_name: &Bound<'py, PyAny>,
        timeout: Option<&Bound<'py, PyAny>>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let _ = kwargs;
        let user_name = text(user_name, "user")?;
        timeout.map(check_timeout).transpose()?;
        let found = self.call(py, |registry, caller| {
            registry.describe_user(caller, &user_name)
        })?;
        let result = PyDict::new(py);
        if let Some(user) = found {
            result.set_item("user_name", user.name)?;
            result.set_item("roles", PyTuple::new(py, user.roles)?)?;
            result.set_item("description", user.description)?;
        }
        rich(Rich::UserDescription, result.into_any())
    }

    /// Create a role. `description` is kept in profiles with descriptions.
    ///
    /// >>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
    /// >>> client.create_role("reader", description="reads books")
    /// >>> client.list_roles()
    /// ['admin', 'public', 'reader']
    #[pyo3(signature = (role_name, timeout = None, description = None, **kwargs))]
    #[pyo3(text_signature = "($self, role_name, timeout=None, description='', **kwargs)")]
    fn create_role(
        &self,
        py: Python<'_>,
        role_name: &Bound<'_, PyAny>,
        timeout: Option<&Bound<'_, PyAny>>,
        description: Option<&Bound<'_, PyAny>>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        let _ = kwargs;
        let role_name = non_empty_text(role_name, "role_name")?;
        let description = description
            .map(|d| optional_text(d, "description"))
            .transpose()?
            .flatten();
        timeout.map(check_timeout).transpose()?;
        self.call(py, |registry, caller| {
            registry.create_role(caller, &role_name, description.as_deref())
        })
    }

    /// Set a role's description (Milvus 2.6.19; not available in older profiles).
    ///
    /// >>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
    /// >>> client.create_role("reader")
    /// >>> client.alter_role("reader", "reads books")
    /// >>> client.describe_role("reader")["description"]
    /// 'reads books'
    #[pyo3(signature = (role_name, description, timeout = None, **kwargs))]
    fn alter_role(
        &self,
        py: Python<'_>,
        role_name: &Bound<'_, PyAny>,
        description: &Bound<'_, PyAny>,
        timeout: Option<&Bound<'_, PyAny>>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        let _ = kwargs;
        let role_name = non_empty_text(role_name, "role_name")?;
        let description = text(description, "description")?;
        timeout.map(check_timeout).transpose()?;
        self.call(py, |registry, caller| {
            registry.alter_role(caller, &role_name, &description)
        })
    }

    /// Drop a role; its users lose it. admin and public cannot be dropped.
    ///
    /// >>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
    /// >>> client.create_role("reader")
    /// >>> client.grant_privilege_v2("reader", "Search", "books")
    /// >>> client.drop_role("reader")
    /// Traceback (most recent call last):
    ///   ...
    /// milvus_rbac.exceptions.MilvusException: <MilvusException: (code=65535, message=fail to drop the role that it has privileges. Use REVOKE API to revoke privileges)>
    /// >>> client.drop_role("reader", force_drop=True)
    #[pyo3(signature = (role_name, force_drop = None, timeout = None, **kwargs))]
    #[pyo3(text_signature = "($self, role_name, force_drop=False, timeout=None, **kwargs)")]
    fn drop_role(
        &self,
        py: Python<'_>,
        role_name: &Bound<'_, PyAny>,
        force_drop: Option<&Bound<'_, PyAny>>,
        timeout: Option<&Bound<'_, PyAny>>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        let _ = kwargs;
        let role_name = non_empty_text(role_name, "role_name")?;
        let force_drop = force_drop
            .map(|value| flag(value, "force_drop"))
            .transpose()?
            .unwrap_or(false);
        timeout.map(check_timeout).transpose()?;
        self.call(py, |registry, caller| {
            registry.drop_role(caller, &role_name, force_drop)
        })
    }

    /// Names of all roles, admin and public included, in byte order.
    ///
    /// >>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
    /// >>> client.list_roles()
    /// ['admin', 'public']
    #[pyo3(signature = (timeout = None, **kwargs))]
    fn list_roles<'py>(
        &self,
        py: Python<'py>,
        timeout: Option<&Bound<'_, PyAny>>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Bound<'py, PyList>> {
        let _ = kwargs;
        timeout.map(check_timeout).transpose()?;
        let names = self.call(py, |registry, caller| registry.list_roles(caller))?;
        PyList::new(py, names.iter())
    }

    /// Give `user_name` the role `role_name` (a no-op if it has it).
    ///
    /// >>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
    /// >>> client.create_user("user_1", "P@ssw0rd")
    /// >>> client.grant_role("user_1", "admin")
    /// >>> client.describe_user("user_1")["roles"]
    /// ('admin',)
    #[pyo3(signature = (user_name, role_name, timeout = None, **kwargs))]
    fn grant_role(
        &self,
        py: Python<'_>,
        user_name: &Bound<'_, PyAny>,
        role_name: &Bound<'_, PyAny>,
        timeout: Option<&Bound<'_, PyAny>>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        let _ = kwargs;
        let user_name = text(user_name, "user")?;
        let role_name = non_empty_text(role_name, "role_name")?;
        timeout.map(check_timeout).transpose()?;
        self.call(py, |registry, caller| {
            registry.grant_role(caller, &user_name, &role_name)
        })
    }

    /// Take the role `role_name` from `user_name` (a no-op if it does not have it).
    ///
    /// >>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
    /// >>> client.create_user("user_1", "P@ssw0rd")
    /// >>> client.grant_role("user_1", "admin")
    /// >>> client.revoke_role("user_1", "admin")
    /// >>> client.describe_user("user_1")["roles"]
    /// ()
    #[pyo3(signature = (user_name, role_name, timeout = None, **kwargs))]
    fn revoke_role(
        &self,
        py: Python<'_>,
        user_name: &Bound<'_, PyAny>,
        role_name: &Bound<'_, PyAny>,
        timeout: Option<&Bound<'_, PyAny>>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        let _ = kwargs;
        let user_name = text(user_name, "user")?;
        let role_name = non_empty_text(role_name, "role_name")?;
        timeout.map(check_timeout).transpose()?;
        self.call(py, |registry, caller| {
            registry.revoke_role(caller, &user_name, &role_name)
        })
    }
}
