//! Argument conversion with pymilvus's client-side checks: a wrong type is a `ParamError` worded as pymilvus
//! words it (`` `user` value 1 is illegal ``), never a bare `TypeError`.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyFloat, PyInt, PyString};

use super::errors::param_error;

/// A value as pymilvus's messages show it, `str(value)`; `None` if that raises.
pub fn shown(value: &Bound<'_, PyAny>) -> Option<String> {
    value
        .str()
        .ok()
        .map(|text| text.to_string_lossy().into_owned())
}

/// pymilvus's `ParamError` for a wrong argument: `` `<param>` value <value> is illegal ``.
pub fn illegal(value: &Bound<'_, PyAny>, param: &str) -> PyErr {
    let value_text = shown(value).unwrap_or_else(|| "<unprintable>".to_string());
    param_error(
        value.py(),
        format!("`{param}` value {value_text} is illegal"),
    )
}

/// A `str` argument. Strings that are not valid Unicode (lone surrogates) are refused, never altered.
pub fn text(value: &Bound<'_, PyAny>, param: &str) -> PyResult<String> {
    match value.cast::<PyString>() {
        Ok(string) => match string.to_cow() {
            Ok(text) => Ok(text.into_owned()),
            Err(_) => Err(param_error(
                value.py(),
                format!("`{param}` value is illegal: it is not valid Unicode"),
            )),
        },
        Err(_) => Err(illegal(value, param)),
    }
}

/// A non-empty `str`, as pymilvus requires of role names.
pub fn non_empty_text(value: &Bound<'_, PyAny>, param: &str) -> PyResult<String> {
    let text = text(value, param)?;
    if text.is_empty() {
        return Err(illegal(value, param));
    }
    Ok(text)
}

/// A password: like `text`, but its value never appears in a message.
pub fn secret(value: &Bound<'_, PyAny>, param: &str) -> PyResult<String> {
    match value.cast::<PyString>().map(|string| string.to_cow()) {
        Ok(Ok(text)) => Ok(text.into_owned()),
        _ => {
            let type_name = value
                .get_type()
                .name()
                .map(|name| name.to_string())
                .unwrap_or_default();
            Err(param_error(
                value.py(),
                format!("`{param}` value of type {type_name} is illegal: expected a valid str"),
            ))
        }
    }
}

/// `None` or a `str`.
pub fn optional_text(value: &Bound<'_, PyAny>, param: &str) -> PyResult<Option<String>> {
    if value.is_none() {
        Ok(None)
    } else {
        text(value, param).map(Some)
    }
}

/// A `bool`, or an `int` read as one (pymilvus hands flags to protobuf, which takes both).
pub fn flag(value: &Bound<'_, PyAny>, param: &str) -> PyResult<bool> {
    if value.is_instance_of::<PyBool>() || value.is_instance_of::<PyInt>() {
        value.is_truthy()
    } else {
        Err(illegal(value, param))
    }
}

/// pymilvus accepts `None`, an `int` or a `float` as a timeout; there is nothing to wait for here.
pub fn check_timeout(value: &Bound<'_, PyAny>) -> PyResult<()> {
    if value.is_none() || value.is_instance_of::<PyInt>() || value.is_instance_of::<PyFloat>() {
        Ok(())
    } else {
        Err(illegal(value, "timeout"))
    }
}

/// A keyword-only setting: distinguishes "not given" from an explicit `None`.
pub struct Setting(Option<Py<PyAny>>);

impl Setting {
    pub const UNSET: Setting = Setting(None);

    /// The given value, if any.
    pub fn given<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyAny>> {
        self.0.as_ref().map(|value| value.bind(py).clone())
    }
}

impl<'a, 'py> FromPyObject<'a, 'py> for Setting {
    type Error = PyErr;

    fn extract(value: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        Ok(Setting(Some(value.to_owned().unbind())))
    }
}

/// A limit setting: a positive `int`, or `None` for unlimited.
pub fn limit(value: &Bound<'_, PyAny>, param: &str) -> PyResult<Option<u64>> {
    if value.is_none() {
        return Ok(None);
    }
    if value.is_instance_of::<PyBool>() || !value.is_instance_of::<PyInt>() {
        return Err(illegal(value, param));
    }
    value
        .extract::<u64>()
        .map(Some)
        .map_err(|_| illegal(value, param))
}

/// A sequence of `str` (not a lone `str`, which is also a sequence).
pub fn texts(value: &Bound<'_, PyAny>, param: &str) -> PyResult<Vec<String>> {
    if value.is_instance_of::<PyString>() {
        return Err(illegal(value, param));
    }
    let items = value.try_iter().map_err(|_| illegal(value, param))?;
    items
        .map(|item| {
            item.map_err(|_| illegal(value, param))
                .and_then(|item| text(&item, param))
        })
        .collect()
}
