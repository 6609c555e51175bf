//! TLS files of a client: of a server's client (`https://`), and of the etcd store's client of its members.

use std::path::PathBuf;

#[cfg(feature = "client")]
use tonic::transport::{Certificate, ClientTlsConfig, Identity};

#[cfg(feature = "client")]
use crate::error::{RbacError, Result};

/// TLS for a client of an `https://` server, by pymilvus's names: the CA that signed the server's certificate
/// (`ca_pem_path`, or `server_pem_path` for one-way TLS; by default the public web's roots), the client's own
/// certificate and key for mutual TLS, and the name the server's certificate must carry (`server_name`; by
/// default the URI's host).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientTls {
    pub ca_pem: Option<PathBuf>,
    pub client_pem: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    pub server_name: Option<String>,
}

/// The TLS of a connection to an https:// server, from its files (read now: a missing file is the caller's
/// error, reported as pymilvus reports a bad argument).
#[cfg(feature = "client")]
pub(crate) fn tonic_config(tls: &ClientTls) -> Result<ClientTlsConfig> {
    let read = |path: &std::path::PathBuf, what: &str| {
        std::fs::read(path).map_err(|err| RbacError::Param {
            message: format!("cannot read the {what} {}: {err}", path.display()),
        })
    };
    let mut config = ClientTlsConfig::new();
    config = match &tls.ca_pem {
        Some(path) => config.ca_certificate(Certificate::from_pem(read(path, "CA certificate")?)),
        None => config.with_webpki_roots(),
    };
    match (&tls.client_pem, &tls.client_key) {
        (Some(pem), Some(key)) => {
            config = config.identity(Identity::from_pem(
                read(pem, "client certificate")?,
                read(key, "client key")?,
            ));
        }
        (None, None) => {}
        _ => {
            return Err(RbacError::Param {
                message: "mutual TLS needs both `client_pem_path` and `client_key_path`".into(),
            })
        }
    }
    if let Some(name) = &tls.server_name {
        config = config.domain_name(name.clone());
    }
    Ok(config)
}
