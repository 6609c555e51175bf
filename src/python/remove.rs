//! `milvus_rbac._core.remove_registry`: the test helpers' clean-up of registries they made in etcd.

use pyo3::prelude::*;

use super::errors::to_py;
use crate::connect;

/// Remove the registry at `uri`, an `etcd://host:port[,...]/prefix` one: every key under its prefix.
/// Anything else is a `ParamError` (a file is removed as any file is).
#[pyfunction]
pub fn remove_registry(py: Python<'_>, uri: &str) -> PyResult<()> {
    py.detach(|| connect::remove_registry(uri))
        .map_err(|err| to_py(py, err))
}
