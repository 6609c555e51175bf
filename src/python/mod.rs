//! The Python binding: the `milvus_rbac._core` extension module.

mod client;
mod convert;
mod display;
mod errors;
mod privileges;
mod serve;
mod users;

use pyo3::prelude::*;

/// The native core of milvus_rbac: `MilvusClient` and `serve`, re-exported by the `milvus_rbac` package.
///
/// >>> from milvus_rbac import MilvusClient, _core
/// >>> MilvusClient is _core.MilvusClient
/// True
#[pymodule]
fn _core(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<client::MilvusClient>()?;
    module.add_function(wrap_pyfunction!(serve::serve, module)?)?;
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
