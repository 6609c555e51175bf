//! Results with a rich display in notebooks: pymilvus's plain shapes, wrapped in the `dict` and `list`
//! subclasses of `milvus_rbac.display` (they compare equal to the plain values and add `_repr_html_`).

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

const DISPLAY_MODULE: &str = "milvus_rbac.display";

static USER_DESCRIPTION: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static ROLE_DESCRIPTION: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static PRIVILEGE_GROUPS: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// The kinds of result that have a rich display.
#[derive(Clone, Copy)]
pub enum Rich {
    /// `describe_user`'s dict.
    UserDescription,
    /// `describe_role`'s dict.
    RoleDescription,
    /// `list_privilege_groups`'s list.
    PrivilegeGroups,
}

/// `value` (a plain dict or list) as the display class of `kind`.
pub fn rich<'py>(kind: Rich, value: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = value.py();
    let (cell, name) = match kind {
        Rich::UserDescription => (&USER_DESCRIPTION, "UserDescription"),
        Rich::RoleDescription => (&ROLE_DESCRIPTION, "RoleDescription"),
        Rich::PrivilegeGroups => (&PRIVILEGE_GROUPS, "PrivilegeGroups"),
    };
    cell.import(py, DISPLAY_MODULE, name)?.call1((value,))
}

/// The HTML overview of a client (its users, their roles, the roles' grants), drawn by
/// `milvus_rbac.display.client_html`.
pub fn client_html(client: &Bound<'_, PyAny>) -> PyResult<String> {
    client
        .py()
        .import(DISPLAY_MODULE)?
        .getattr("client_html")?
        .call1((client,))?
        .extract()
}
