//! `MilvusClient`'s methods, one per operation of the table (`crate::ops`), with pymilvus's signatures and
//! the table's docstrings: each converts its arguments by their kinds into the operation's request and runs
//! it. Nothing here is written per operation.

use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::args::{argument, from_kwargs, Given};
use super::client::MilvusClient;
use crate::ops::{args, for_each_operation, ArgKind, Request};

/// Expands the operation table into `#[pymethods]`.
macro_rules! python_methods {
    ($(
        $(#[doc = $doc:literal])*
        $name:ident => $Op:ident {
            rpc: $rpc:ident,
            available: $available:ident,
            needs: $object_type:ident $privilege:literal on $object:ident,
            rest: $rest:tt,
            python: [$($required:ident),*] [$($optional:ident),*] [$($from_kwargs:ident),*] $signature:literal,
            args: { $($arg:ident: $kind:ident $(= $default:literal)?),* $(,)? },
            returns: $returns:ident,
        }
    )*) => {
        #[pymethods]
        impl MilvusClient {
            $(
                $(#[doc = $doc])*
                #[pyo3(signature = ($($required,)* $($optional = None,)* **kwargs))]
                #[pyo3(text_signature = $signature)]
                #[allow(clippy::too_many_arguments)]
                fn $name<'py>(
                    &self,
                    py: Python<'py>,
                    $($required: &Bound<'py, PyAny>,)*
                    $($optional: Option<&Bound<'py, PyAny>>,)*
                    kwargs: Option<&Bound<'py, PyDict>>,
                ) -> PyResult<Bound<'py, PyAny>> {
                    // pymilvus takes and ignores other keywords.
                    let _ = kwargs;
                    $(let $from_kwargs = from_kwargs(kwargs, stringify!($from_kwargs))?;)*
                    let request = Request::$Op(args::$Op {
                        $($arg: argument(
                            py,
                            ArgKind::$kind,
                            stringify!($arg),
                            python_methods!(@default $($default)?),
                            Given::given(&$arg),
                        )?,)*
                    });
                    self.run(py, request)
                }
            )*
        }
    };
    (@default) => { None };
    (@default $default:literal) => { Some($default) };
}

for_each_operation!(python_methods);
