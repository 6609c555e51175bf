//! The Python binding: the `milvus_rbac._core` extension module.

mod client;
mod convert;
mod errors;
mod privileges;
mod serve;
mod users;

use pyo3::prelude::*;

#[pymodule]
fn _core(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<client::MilvusClient>()?;
    module.add_function(wrap_pyfunction!(serve::serve, module)?)?;
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
