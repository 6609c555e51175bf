//! The Python binding: the `milvus_rbac._core` extension module.

mod args;
mod client;
mod display;
mod errors;
mod methods;
mod remove;
mod replies;
mod serve;

use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::error::LegacyCode;
use crate::profile::ProfileName;
use crate::settings::SettingName;

/// The native core of milvus_rbac: `MilvusClient` and `serve`, re-exported by the `milvus_rbac` package, and
/// the lists the Python code reads rather than repeats: `LEGACY_CODES` (Milvus's legacy error codes, as
/// `(name, value)` pairs; `milvus_rbac.LegacyErrorCode` is made from them), `SETTINGS` (the names of the
/// keyword-only settings of `MilvusClient` and `serve`), `PROFILES` (the profile names),
/// `PROFILES_WITH_DESCRIPTIONS` (those whose users and roles carry descriptions) and `NO_PASSWORD` (the
/// stored hash of a user whose password is not known here, such as a user copied from a server without
/// BackupRBAC: it matches no password).
///
/// >>> from milvus_rbac import MilvusClient, _core
/// >>> MilvusClient is _core.MilvusClient
/// True
/// >>> _core.PROFILES
/// ('docs', 'milvus-2.4', 'milvus-2.5', 'milvus-2.6', 'milvus-3.0')
/// >>> _core.PROFILES_WITH_DESCRIPTIONS
/// ('docs', 'milvus-2.6', 'milvus-3.0')
/// >>> _core.SETTINGS[:3]
/// ('profile', 'root_password', 'super_users')
/// >>> _core.LEGACY_CODES[:2]
/// (('UnexpectedError', 1), ('ConnectFailed', 2))
#[pymodule]
fn _core(module: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = module.py();
    module.add_class::<client::MilvusClient>()?;
    module.add_function(wrap_pyfunction!(serve::serve, module)?)?;
    module.add_function(wrap_pyfunction!(remove::remove_registry, module)?)?;
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    module.add("LEGACY_CODES", PyTuple::new(py, LegacyCode::ALL)?)?;
    module.add(
        "SETTINGS",
        PyTuple::new(py, SettingName::ALL.map(SettingName::as_str))?,
    )?;
    module.add(
        "PROFILES",
        PyTuple::new(py, ProfileName::ALL.map(ProfileName::as_str))?,
    )?;
    module.add("NO_PASSWORD", crate::password::NO_PASSWORD)?;
    let described = ProfileName::ALL
        .into_iter()
        .filter(|name| name.profile().descriptions)
        .map(ProfileName::as_str)
        .collect::<Vec<_>>();
    module.add("PROFILES_WITH_DESCRIPTIONS", PyTuple::new(py, described)?)?;
    Ok(())
}
