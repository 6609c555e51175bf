//! The Python binding: the `milvus_rbac._core` extension module.

mod args;
mod backup;
mod client;
mod display;
mod errors;
mod methods;
mod replies;
mod serve;

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
