//! Where clients connect and registries are served: the one module that knows every kind of registry (in
//! memory, in a file, on a server) and every server, so that the fronts know none of them. A front asks
//! for an [`Executor`] by URI, or to serve a registry, and deals only in requests and replies.

use std::path::PathBuf;
use std::sync::Arc;

use crate::caller::{Caller, Credentials};
pub use crate::client_tls::ClientTls;
use crate::error::{RbacError, Result};
use crate::ops::Executor;
use crate::registry::Registry;
use crate::settings::RegistryOptions;
use crate::store::{EtcdLocation, Location};

#[cfg(feature = "server")]
pub use crate::server::{ConnectionLimits, LogLevel, LoginLimits, ServeConfig, TlsFiles};

/// Where a URI points.
enum Target {
    Local(Location),
    Remote(String),
}

fn target_of(uri: &str) -> Result<Target> {
    if uri.starts_with("http://") || uri.starts_with("https://") {
        return Ok(Target::Remote(uri.to_string()));
    }
    if uri.is_empty() {
        return Err(RbacError::Param {
            message: "`uri` value  is illegal".into(),
        });
    }
    // SQLite would read `file:...` as a URI (`file::memory:` an in-memory database, `?mode=` options), not as
    // the path it looks like: refused rather than half honoured. `./file:x` names such a file.
    if uri.starts_with("file:") {
        return Err(RbacError::Param {
            message: format!(
                "`uri` value {uri} is illegal: SQLite URIs (file:...) are not accepted; give a file path \
                 (./{uri} for a file of that name) or :memory:"
            ),
        });
    }
    if uri.starts_with("etcd://") {
        return Ok(Target::Local(Location::Etcd(EtcdLocation::parse(uri)?)));
    }
    Ok(Target::Local(if uri == ":memory:" {
        Location::Memory
    } else {
        Location::File(PathBuf::from(uri))
    }))
}

/// Remove the registry at `uri` (an `etcd://` one: its keys), as a test suite does with the registries it made.
pub fn remove_registry(uri: &str) -> Result<()> {
    match target_of(uri)? {
        Target::Local(location) => crate::store::remove(&location),
        Target::Remote(_) => Err(RbacError::Param {
            message: format!("{uri} is a server; only a registry in etcd is removed this way"),
        }),
    }
}

/// How a client reaches a server: its protocol (`None`: gRPC) and TLS.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reach {
    pub protocol: Option<Protocol>,
    pub tls: ClientTls,
}

/// How a client reaches a server: Milvus's gRPC protocol (as pymilvus and the SDKs do; the default) or its REST
/// API v2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    #[default]
    Grpc,
    Rest,
}

impl std::str::FromStr for Protocol {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Protocol, String> {
        match text {
            "grpc" => Ok(Protocol::Grpc),
            "rest" => Ok(Protocol::Rest),
            _ => Err(format!(
                "unknown protocol {text:?}; expected \"grpc\" or \"rest\""
            )),
        }
    }
}

/// Connect to the registry at `uri` (`:memory:`, a file path, or `http(s)://host:port`) with `credentials`,
/// checked as pymilvus's connect checks them; `db_name` is the client's database. `options` are the
/// registry's settings, which a client of a server may not give; `reach` (for a server only) is how to reach it.
pub fn connect(
    uri: &str,
    credentials: &Credentials,
    db_name: &str,
    options: &RegistryOptions,
    reach: &Reach,
) -> Result<(Arc<dyn Executor>, Caller)> {
    match target_of(uri)? {
        Target::Local(_) if reach != &Reach::default() => Err(RbacError::Param {
            message: "`protocol` and the TLS files apply to a server (http(s)://host:port), not to a registry file"
                .into(),
        }),
        Target::Local(location) => {
            let registry = Registry::open(location, options)?;
            let caller = registry.authenticate(credentials, db_name)?;
            Ok((Arc::new(registry), caller))
        }
        Target::Remote(uri) => {
            if options != &RegistryOptions::default() {
                return Err(RbacError::Param {
                    message:
                        "registry settings belong to the server; a client of a server takes none"
                            .into(),
                });
            }
            connect_remote(&uri, credentials, db_name, reach)
        }
    }
}

#[cfg(feature = "client")]
fn connect_remote(
    uri: &str,
    credentials: &Credentials,
    db_name: &str,
    reach: &Reach,
) -> Result<(Arc<dyn Executor>, Caller)> {
    Ok(match reach.protocol.unwrap_or_default() {
        Protocol::Grpc => {
            let (remote, caller) =
                crate::grpc_client::GrpcRegistry::connect(uri, credentials, db_name, &reach.tls)?;
            (Arc::new(remote), caller)
        }
        Protocol::Rest => {
            let (remote, caller) =
                crate::remote::RemoteRegistry::connect(uri, credentials, db_name, &reach.tls)?;
            (Arc::new(remote), caller)
        }
    })
}

#[cfg(not(feature = "client"))]
fn connect_remote(
    uri: &str,
    _credentials: &Credentials,
    _db_name: &str,
    _reach: &Reach,
) -> Result<(Arc<dyn Executor>, Caller)> {
    Err(RbacError::Unsupported {
        message: format!(
            "cannot connect to {}: this build of milvus-rbac has no client of servers (feature `client`)",
            crate::wire::without_userinfo(uri)
        ),
    })
}

/// Serve the registry at `db` (a file path, or `:memory:`) over Milvus's REST API v2 until SIGINT or
/// SIGTERM; `ready` is told the bound address once it accepts connections.
#[cfg(feature = "server")]
pub fn serve(
    db: &str,
    options: &RegistryOptions,
    config: &ServeConfig,
    ready: impl FnOnce(std::net::SocketAddr),
) -> Result<()> {
    let location = match target_of(db)? {
        Target::Local(location) => location,
        Target::Remote(_) => {
            return Err(RbacError::Param {
                message: "`db` must be a file path or \":memory:\", not a server address".into(),
            })
        }
    };
    crate::server::serve(Registry::open(location, options)?, config, ready)
}
