//! The one place where core errors become Python exceptions (defined in `milvus_rbac.exceptions`).

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

use crate::error::{ErrorKind, RbacError};

const EXCEPTIONS_MODULE: &str = "milvus_rbac.exceptions";

static MILVUS_EXCEPTION: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static PARAM_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static AUTHENTICATION_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static PERMISSION_DENIED_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();

fn exception_class<'py>(py: Python<'py>, kind: ErrorKind) -> PyResult<&'py Bound<'py, PyType>> {
    let (cell, name) = match kind {
        ErrorKind::Milvus => (&MILVUS_EXCEPTION, "MilvusException"),
        ErrorKind::Param => (&PARAM_ERROR, "ParamError"),
        ErrorKind::Authentication => (&AUTHENTICATION_ERROR, "AuthenticationError"),
        ErrorKind::PermissionDenied => (&PERMISSION_DENIED_ERROR, "PermissionDeniedError"),
    };
    cell.import(py, EXCEPTIONS_MODULE, name)
}

/// The Python exception for `err`: `.code`, `.message` and `.compatible_code` as pymilvus has them.
pub fn to_py(py: Python<'_>, err: RbacError) -> PyErr {
    let raised = exception_class(py, err.kind())
        .and_then(|class| class.call1((err.code(), err.to_string(), err.compatible_code() as i32)));
    match raised {
        Ok(instance) => PyErr::from_value(instance),
        Err(import_failure) => import_failure,
    }
}

/// A `ParamError` (code 1) for a wrong argument, found before the registry is asked.
pub fn param_error(py: Python<'_>, message: String) -> PyErr {
    to_py(py, RbacError::Param { message })
}
