//! `milvus_rbac.serve`: Milvus's REST API v2 for a registry, blocking until SIGINT or SIGTERM.

use std::io::Write;

use pyo3::exceptions::PyKeyboardInterrupt;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyInt};
use std::path::PathBuf;
use std::time::Duration;

use super::args::{text, Setting};
use super::client::SettingArgs;
use super::errors::{param_error, to_py};
use crate::connect::{
    serve as serve_registry, ConnectionLimits, LogLevel, LoginLimits, ServeConfig, TlsFiles,
};

/// Serve the registry at `db` (a file path, or ":memory:") over Milvus's gRPC protocol and RESTful API v2 on
/// `host`:`port` (port 0 picks a free one). Announces `milvus-rbac serving <db> on http://<host>:<port>` on
/// stdout once it accepts connections, and returns after SIGINT or SIGTERM. At most `max_connections`
/// connections are open at once (default: the process's descriptor limit less 32); one that moves no byte for
/// `idle_timeout` seconds is closed, and an HTTP/1 request whose headers take longer than `header_timeout`
/// seconds is refused. With `server_pem_path` and `server_key_path` it serves over TLS (announcing https://),
/// and with `ca_pem_path` too, clients must present a certificate that CA signed (Milvus's tlsMode 1 and 2).
/// A user name with `max_failed_logins` failed logins in a minute, or a client address with
/// `max_failed_logins_per_address` (0: no limit), has further guesses refused without an argon2 run
/// (credentials already verified still pass). The other keyword settings are `MilvusClient`'s.
#[pyfunction]
#[pyo3(signature = (
    db = None, host = None, port = None, *, log_level = None,
    max_connections = None, idle_timeout = None, header_timeout = None,
    server_pem_path = None, server_key_path = None, ca_pem_path = None,
    max_failed_logins = None, max_failed_logins_per_address = None,
    profile = Setting::UNSET, root_password = Setting::UNSET, super_users = Setting::UNSET,
    max_users = Setting::UNSET, max_roles = Setting::UNSET, authorization_enabled = Setting::UNSET,
    root_should_bind_role = Setting::UNSET, password_hash = Setting::UNSET,
    audit_retention = Setting::UNSET
))]
#[pyo3(
    text_signature = "(db='./rbac.db', host='127.0.0.1', port=19530, *, log_level='info', \
    max_connections=None, idle_timeout=60.0, header_timeout=10.0, server_pem_path=None, \
    server_key_path=None, ca_pem_path=None, max_failed_logins=30, max_failed_logins_per_address=0, \
    profile=None, \
    root_password=None, super_users=None, max_users=100, max_roles=10, authorization_enabled=None, \
    root_should_bind_role=None, password_hash=None, audit_retention=100000)"
)]
#[allow(clippy::too_many_arguments)]
pub fn serve(
    py: Python<'_>,
    db: Option<&Bound<'_, PyAny>>,
    host: Option<&Bound<'_, PyAny>>,
    port: Option<&Bound<'_, PyAny>>,
    log_level: Option<&Bound<'_, PyAny>>,
    max_connections: Option<&Bound<'_, PyAny>>,
    idle_timeout: Option<&Bound<'_, PyAny>>,
    header_timeout: Option<&Bound<'_, PyAny>>,
    server_pem_path: Option<&Bound<'_, PyAny>>,
    server_key_path: Option<&Bound<'_, PyAny>>,
    ca_pem_path: Option<&Bound<'_, PyAny>>,
    max_failed_logins: Option<&Bound<'_, PyAny>>,
    max_failed_logins_per_address: Option<&Bound<'_, PyAny>>,
    profile: Setting,
    root_password: Setting,
    super_users: Setting,
    max_users: Setting,
    max_roles: Setting,
    authorization_enabled: Setting,
    root_should_bind_role: Setting,
    password_hash: Setting,
    audit_retention: Setting,
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
    let defaults = ConnectionLimits::default();
    let limits = ConnectionLimits {
        max_connections: match max_connections {
            Some(value) if !value.is_none() => Some(positive_count(py, value, "max_connections")?),
            _ => None,
        },
        idle_timeout: seconds(py, idle_timeout, "idle_timeout", defaults.idle_timeout)?,
        header_timeout: seconds(
            py,
            header_timeout,
            "header_timeout",
            defaults.header_timeout,
        )?,
    };
    let path = |value: Option<&Bound<'_, PyAny>>, name: &str| -> PyResult<Option<PathBuf>> {
        match value {
            Some(value) if !value.is_none() => Ok(Some(PathBuf::from(text(value, name)?))),
            _ => Ok(None),
        }
    };
    let tls = match (
        path(server_pem_path, "server_pem_path")?,
        path(server_key_path, "server_key_path")?,
        path(ca_pem_path, "ca_pem_path")?,
    ) {
        (None, None, None) => None,
        (Some(server_pem), Some(server_key), client_ca_pem) => Some(TlsFiles {
            server_pem,
            server_key,
            client_ca_pem,
        }),
        _ => {
            return Err(param_error(
                py,
                "TLS needs both `server_pem_path` and `server_key_path` (and `ca_pem_path` for mutual TLS)".into(),
            ))
        }
    };
    let login_defaults = LoginLimits::default();
    let logins = LoginLimits {
        per_user: failure_limit(
            py,
            max_failed_logins,
            "max_failed_logins",
            login_defaults.per_user,
        )?,
        per_address: failure_limit(
            py,
            max_failed_logins_per_address,
            "max_failed_logins_per_address",
            login_defaults.per_address,
        )?,
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
        audit_retention,
    }
    .options(py)?;
    let config = ServeConfig {
        host,
        port,
        log_level,
        limits,
        logins,
        tls,
    };
    let scheme = config.scheme();
    py.detach(|| {
        serve_registry(&db, &options, &config, |address| {
            let mut stdout = std::io::stdout();
            let _ = writeln!(stdout, "milvus-rbac serving {db} on {scheme}://{address}");
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

/// A count of at least 1 (an int, not a bool).
fn positive_count(py: Python<'_>, value: &Bound<'_, PyAny>, name: &str) -> PyResult<usize> {
    match value.extract::<usize>() {
        Ok(count)
            if count >= 1
                && value.is_instance_of::<PyInt>()
                && !value.is_instance_of::<PyBool>() =>
        {
            Ok(count)
        }
        _ => Err(param_error(
            py,
            format!("`{name}` value {value} is illegal: expected a whole number of at least 1"),
        )),
    }
}

/// Seconds between 0.01 and a day, `default` when not given.
fn seconds(
    py: Python<'_>,
    value: Option<&Bound<'_, PyAny>>,
    name: &str,
    default: Duration,
) -> PyResult<Duration> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(default);
    };
    match value.extract::<f64>() {
        Ok(secs) if !value.is_instance_of::<PyBool>() && (0.01..=86_400.0).contains(&secs) => {
            Ok(Duration::from_secs_f64(secs))
        }
        _ => Err(param_error(
            py,
            format!("`{name}` value {value} is illegal: expected seconds from 0.01 to 86400"),
        )),
    }
}

/// A number of failed logins (0: no limit), `default` when not given.
fn failure_limit(
    py: Python<'_>,
    value: Option<&Bound<'_, PyAny>>,
    name: &str,
    default: u32,
) -> PyResult<u32> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(default);
    };
    match value.extract::<u32>() {
        Ok(limit) if value.is_instance_of::<PyInt>() && !value.is_instance_of::<PyBool>() => {
            Ok(limit)
        }
        _ => Err(param_error(
            py,
            format!("`{name}` value {value} is illegal: expected a whole number, 0 for no limit"),
        )),
    }
}
