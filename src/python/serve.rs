//! `milvus_rbac.serve`: Milvus's REST API v2 for a registry, blocking until SIGINT or SIGTERM.

use std::io::Write;

use pyo3::exceptions::PyKeyboardInterrupt;
use pyo3::prelude::*;
use pyo3::types::PyInt;

use super::args::{text, Setting};
use super::client::SettingArgs;
use super::errors::{param_error, to_py};
use crate::connect::{serve as serve_registry, LogLevel, ServeConfig};

/// Serve the registry at `db` (a file path, or ":memory:") over Milvus's RESTful API v2 on `host`:`port`
/// (port 0 picks a free one). Announces `milvus-rbac serving <db> on http://<host>:<port>` on stdout once it
/// accepts connections, and returns after SIGINT or SIGTERM. The keyword settings are `MilvusClient`'s.
#[pyfunction]
#[pyo3(signature = (
    db = None, host = None, port = None, *, log_level = None,
    profile = Setting::UNSET, root_password = Setting::UNSET, super_users = Setting::UNSET,
    max_users = Setting::UNSET, max_roles = Setting::UNSET, authorization_enabled = Setting::UNSET,
    root_should_bind_role = Setting::UNSET, password_hash = Setting::UNSET
))]
#[pyo3(
    text_signature = "(db='./rbac.db', host='127.0.0.1', port=19530, *, log_level='info', profile=None, \
    root_password=None, super_users=None, max_users=100, max_roles=10, authorization_enabled=None, \
    root_should_bind_role=None, password_hash=None)"
)]
#[allow(clippy::too_many_arguments)]
pub fn serve(
    py: Python<'_>,
    db: Option<&Bound<'_, PyAny>>,
    host: Option<&Bound<'_, PyAny>>,
    port: Option<&Bound<'_, PyAny>>,
    log_level: Option<&Bound<'_, PyAny>>,
    profile: Setting,
    root_password: Setting,
    super_users: Setting,
    max_users: Setting,
    max_roles: Setting,
    authorization_enabled: Setting,
    root_should_bind_role: Setting,
    password_hash: Setting,
) -> PyResult<()> {
    let db = db.map_or_else(|| Ok("./rbac.db".to_string()), |v| text(v, "db"))?;
    let host = host.map_or_else(|| Ok("127.0.0.1".to_string()), |v| text(v, "host"))?;
    let port = match port {
        None => 19530,
        Some(value) if value.is_instance_of::<PyInt>() => value
            .extract::<u16>()
            .map_err(|_| param_error(py, format!("`port` value {value} is illegal")))?,
        Some(value) => return Err(param_error(py, format!("`port` value {value} is illegal"))),
    };
    let log_level = match log_level {
        None => LogLevel::Info,
        Some(value) => text(value, "log_level")?
            .parse()
            .map_err(|message: String| param_error(py, format!("`log_level`: {message}")))?,
    };
    let options = SettingArgs {
        profile,
        root_password,
        super_users,
        max_users,
        max_roles,
        authorization_enabled,
        root_should_bind_role,
        password_hash,
    }
    .options(py)?;
    let config = ServeConfig {
        host,
        port,
        log_level,
    };
    py.detach(|| {
        serve_registry(&db, &options, &config, |address| {
            let mut stdout = std::io::stdout();
            let _ = writeln!(stdout, "milvus-rbac serving {db} on http://{address}");
            let _ = stdout.flush();
        })
    })
    .map_err(|err| to_py(py, err))?;
    // The SIGINT that stopped the server is Python's too: it asked to stop, which is done.
    match py.check_signals() {
        Err(err) if err.is_instance_of::<PyKeyboardInterrupt>(py) => Ok(()),
        other => other,
    }
}
